//! The gateway's token and decision cache counters, read from `/metrics`
//! before and after a round.

use crate::servers::Server;

/// The gateway's cache counters.
#[derive(Clone, Copy, Default)]
pub(crate) struct CacheCounters {
    token_hits: u64,
    token_misses: u64,
    decision_hits: u64,
}

#[derive(Clone, Copy)]
pub(crate) struct CacheDelta {
    pub(crate) token_hits: u64,
    pub(crate) token_misses: u64,
    pub(crate) decision_hits: u64,
}

impl CacheDelta {
    /// Both deltas together (two rounds of one scenario).
    pub(crate) fn plus(self, other: CacheDelta) -> CacheDelta {
        CacheDelta {
            token_hits: self.token_hits + other.token_hits,
            token_misses: self.token_misses + other.token_misses,
            decision_hits: self.decision_hits + other.decision_hits,
        }
    }
}

pub(crate) async fn cache_counters(client: &reqwest::Client, server: &Server) -> CacheCounters {
    let text = match client.get(server.url("/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let read = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    CacheCounters {
        token_hits: read("tessera_token_cache_hits_total "),
        token_misses: read("tessera_token_cache_misses_total "),
        decision_hits: read("tessera_decision_cache_hits_total "),
    }
}

pub(crate) fn delta(before: CacheCounters, after: CacheCounters) -> CacheDelta {
    CacheDelta {
        token_hits: after.token_hits.saturating_sub(before.token_hits),
        token_misses: after.token_misses.saturating_sub(before.token_misses),
        decision_hits: after.decision_hits.saturating_sub(before.decision_hits),
    }
}
