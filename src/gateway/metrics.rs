//! Counters and a latency histogram, rendered in the Prometheus text format.
//! Lock-free: every request only adds to atomics, in a shard of its
//! thread's, so concurrent requests do not contend on one cache line.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::authorize::Reason;

use super::error::ApiError;
use super::keysource::Freshness;

/// Upper bounds of the decision latency buckets, in microseconds.
const BUCKETS_US: [u64; 12] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000,
];

/// The gateway's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// The per-request counters, spread over shards so that threads
    /// counting at once do not write the same cache line.
    shards: [Shard; SHARDS],
    keys: OnceLock<Arc<Freshness>>,
    connections: ConnectionMetrics,
}

/// How many shards the per-request counters have (more than the threads
/// that usually count at once).
const SHARDS: usize = 8;

/// One shard of the per-request counters, on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    allowed: AtomicU64,
    denied: [AtomicU64; Reason::ALL.len()],
    buckets: [AtomicU64; BUCKETS_US.len()],
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    decision_cache_hits: AtomicU64,
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard, handed out round-robin on first use.
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Relaxed) % SHARDS;
}

/// Client connections: how many are open, accepted, cut by a timeout, and
/// how often the accept loop waited at the connection cap.
#[derive(Debug, Default)]
pub struct ConnectionMetrics {
    open: AtomicU64,
    accepted: AtomicU64,
    header_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
    cap_waits: AtomicU64,
}

/// Why the gateway closed a connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionTimeout {
    /// The request line and headers did not arrive in time.
    HeaderRead,
    /// No byte moved while no request was being handled.
    Idle,
}

impl ConnectionMetrics {
    /// Counts an accepted connection, now open.
    pub fn opened(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.open.fetch_add(1, Relaxed);
    }

    /// Counts a connection closed (for whatever reason).
    pub fn closed(&self) {
        self.open.fetch_sub(1, Relaxed);
    }

    /// Counts a connection the gateway closed for a timeout.
    pub fn timed_out(&self, timeout: ConnectionTimeout) {
        match timeout {
            ConnectionTimeout::HeaderRead => self.header_timeouts.fetch_add(1, Relaxed),
            ConnectionTimeout::Idle => self.idle_timeouts.fetch_add(1, Relaxed),
        };
    }

    /// Counts one wait of the accept loop for a free connection slot.
    pub fn waited_at_cap(&self) {
        self.cap_waits.fetch_add(1, Relaxed);
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP tessera_connections_open Client connections open now."
        );
        let _ = writeln!(out, "# TYPE tessera_connections_open gauge");
        let _ = writeln!(out, "tessera_connections_open {}", self.open.load(Relaxed));
        for (name, help, value) in [
            (
                "tessera_connections_accepted_total",
                "Client connections accepted.",
                &self.accepted,
            ),
            (
                "tessera_connection_cap_waits_total",
                "Times the accept loop waited at the connection cap for a free slot.",
                &self.cap_waits,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Relaxed));
        }
        let name = "tessera_connection_timeouts_total";
        let _ = writeln!(
            out,
            "# HELP {name} Connections the gateway closed because a timeout passed."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        for (label, value) in [
            ("header_read", &self.header_timeouts),
            ("idle", &self.idle_timeouts),
        ] {
            let _ = writeln!(out, "{name}{{timeout=\"{label}\"}} {}", value.load(Relaxed));
        }
    }
}

impl Metrics {
    /// A refusal made at a front door rather than by the decision core:
    /// counted like a decision, and handed back.
    pub fn counted(&self, error: ApiError) -> ApiError {
        if let ApiError::Denied(reason) = &error {
            self.record(Some(*reason), Duration::ZERO);
        }
        error
    }

    /// Counts one decision and its latency.
    pub fn record(&self, reason: Option<Reason>, elapsed: Duration) {
        let shard = self.shard();
        match reason {
            None => shard.allowed.fetch_add(1, Relaxed),
            Some(r) => shard.denied[reason_index(r)].fetch_add(1, Relaxed),
        };
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BUCKETS_US.iter().position(|&b| us <= b) {
            shard.buckets[i].fetch_add(1, Relaxed);
        }
        shard.latency_sum_us.fetch_add(us, Relaxed);
        shard.latency_count.fetch_add(1, Relaxed);
    }

    /// Counts a verified-token cache lookup.
    pub fn token_cache(&self, hit: bool) {
        let shard = self.shard();
        if hit {
            shard.cache_hits.fetch_add(1, Relaxed);
        } else {
            shard.cache_misses.fetch_add(1, Relaxed);
        }
    }

    /// Counts a decision answered from the decision cache.
    pub fn decision_cache_hit(&self) {
        self.shard().decision_cache_hits.fetch_add(1, Relaxed);
    }

    /// The calling thread's shard.
    fn shard(&self) -> &Shard {
        &self.shards[SHARD.with(|i| *i)]
    }

    /// A counter summed over the shards.
    fn total(&self, counter: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards.iter().map(|s| counter(s).load(Relaxed)).sum()
    }

    /// Reports the key source's refresh state from now on (set once).
    pub fn watch_keys(&self, freshness: Arc<Freshness>) {
        let _ = self.keys.set(freshness);
    }

    /// The client-connection counters.
    pub fn connections(&self) -> &ConnectionMetrics {
        &self.connections
    }

    /// The Prometheus text exposition.
    pub fn render(&self, revoked_ids: usize) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP tessera_decisions_total Decisions by result and reason."
        );
        let _ = writeln!(out, "# TYPE tessera_decisions_total counter");
        let _ = writeln!(
            out,
            "tessera_decisions_total{{result=\"allow\",reason=\"none\"}} {}",
            self.total(|s| &s.allowed)
        );
        for r in Reason::ALL {
            let _ = writeln!(
                out,
                "tessera_decisions_total{{result=\"deny\",reason=\"{}\"}} {}",
                r.code(),
                self.total(|s| &s.denied[reason_index(r)])
            );
        }
        let _ = writeln!(
            out,
            "# HELP tessera_decision_duration_microseconds Time to decide one request."
        );
        let _ = writeln!(
            out,
            "# TYPE tessera_decision_duration_microseconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in BUCKETS_US.iter().enumerate() {
            cumulative += self.total(|s| &s.buckets[i]);
            let _ = writeln!(
                out,
                "tessera_decision_duration_microseconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.total(|s| &s.latency_count);
        let _ = writeln!(
            out,
            "tessera_decision_duration_microseconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "tessera_decision_duration_microseconds_sum {}",
            self.total(|s| &s.latency_sum_us)
        );
        let _ = writeln!(out, "tessera_decision_duration_microseconds_count {count}");
        for (name, help, value) in [
            (
                "tessera_token_cache_hits_total",
                "Verified-token cache hits.",
                self.total(|s| &s.cache_hits),
            ),
            (
                "tessera_token_cache_misses_total",
                "Verified-token cache misses (a full parse and signature check).",
                self.total(|s| &s.cache_misses),
            ),
            (
                "tessera_decision_cache_hits_total",
                "Decisions answered from the decision cache.",
                self.total(|s| &s.decision_cache_hits),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {value}");
        }
        let _ = writeln!(
            out,
            "# HELP tessera_revoked_ids Revocation ids in the in-memory set."
        );
        let _ = writeln!(out, "# TYPE tessera_revoked_ids gauge");
        let _ = writeln!(out, "tessera_revoked_ids {revoked_ids}");
        if let Some(keys) = self.keys.get() {
            render_key_freshness(&mut out, keys);
        }
        self.connections.render(&mut out);
        out
    }
}

/// The key source's series: failed refreshes, and for a file or URL source
/// the keys' age and whether it is past the staleness bound.
fn render_key_freshness(out: &mut String, keys: &Freshness) {
    let _ = writeln!(
        out,
        "# HELP tessera_key_refresh_failures_total Public-key refreshes (file or URL) that failed."
    );
    let _ = writeln!(out, "# TYPE tessera_key_refresh_failures_total counter");
    let _ = writeln!(
        out,
        "tessera_key_refresh_failures_total {}",
        keys.failures()
    );
    if let Some(age) = keys.age() {
        let _ = writeln!(
            out,
            "# HELP tessera_keys_age_seconds Seconds since the public keys were last loaded from their file or URL."
        );
        let _ = writeln!(out, "# TYPE tessera_keys_age_seconds gauge");
        let _ = writeln!(out, "tessera_keys_age_seconds {}", age.as_secs());
    }
    let _ = writeln!(
        out,
        "# HELP tessera_keys_stale 1 while the public keys are older than max_key_staleness_secs."
    );
    let _ = writeln!(out, "# TYPE tessera_keys_stale gauge");
    let _ = writeln!(out, "tessera_keys_stale {}", u8::from(keys.is_stale()));
}

fn reason_index(r: Reason) -> usize {
    Reason::ALL.iter().position(|&x| x == r).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::super::keysource::{KeyOrigin, KeySource};
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.record(None, Duration::from_micros(7));
        m.record(Some(Reason::Revoked), Duration::from_micros(300));
        m.record(Some(Reason::Revoked), Duration::from_secs(1));
        m.token_cache(true);
        let text = m.render(42);
        assert!(text.contains("tessera_decisions_total{result=\"allow\",reason=\"none\"} 1"));
        assert!(text.contains("tessera_decisions_total{result=\"deny\",reason=\"revoked\"} 2"));
        assert!(text.contains("tessera_decision_duration_microseconds_bucket{le=\"5\"} 0"));
        assert!(text.contains("tessera_decision_duration_microseconds_bucket{le=\"10\"} 1"));
        assert!(text.contains("tessera_decision_duration_microseconds_bucket{le=\"500\"} 2"));
        assert!(text.contains("tessera_decision_duration_microseconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("tessera_token_cache_hits_total 1"));
        assert!(text.contains("tessera_revoked_ids 42"));
        assert!(
            !text.contains("tessera_keys_stale"),
            "no key source watched"
        );
    }

    #[test]
    fn renders_the_key_sources_freshness() {
        let m = Metrics::default();
        let config = crate::gateway::GatewayConfig::default();
        let url = KeyOrigin::parse(Some("http://127.0.0.1:1/keys")).unwrap();
        let source = KeySource::new(url, &config, Default::default());
        m.watch_keys(source.freshness().clone());
        let text = m.render(0);
        assert!(text.contains("tessera_key_refresh_failures_total 0\n"));
        assert!(text.contains("tessera_keys_age_seconds 0\n"));
        assert!(text.contains("tessera_keys_stale 0\n"));

        let m = Metrics::default();
        let dir = KeySource::new(KeyOrigin::DataDir, &config, Default::default());
        m.watch_keys(dir.freshness().clone());
        let text = m.render(0);
        assert!(text.contains("tessera_keys_stale 0\n"));
        assert!(
            !text.contains("tessera_keys_age_seconds"),
            "the data directory's keys have no age"
        );
    }

    #[test]
    fn renders_open_connections_and_timeouts() {
        let m = Metrics::default();
        let c = m.connections();
        c.opened();
        c.opened();
        c.closed();
        c.timed_out(ConnectionTimeout::HeaderRead);
        c.timed_out(ConnectionTimeout::Idle);
        c.timed_out(ConnectionTimeout::Idle);
        c.waited_at_cap();
        let text = m.render(0);
        assert!(text.contains("tessera_connections_open 1\n"), "{text}");
        assert!(text.contains("tessera_connections_accepted_total 2\n"));
        assert!(text.contains("tessera_connection_timeouts_total{timeout=\"header_read\"} 1\n"));
        assert!(text.contains("tessera_connection_timeouts_total{timeout=\"idle\"} 2\n"));
        assert!(text.contains("tessera_connection_cap_waits_total 1\n"));
    }
}
