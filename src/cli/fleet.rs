//! `tessera serve` flags for fleet mode: the NATS server whose JetStream
//! stream carries every change, how stale a gateway may be, how long a
//! read-your-writes request waits.

use std::time::Duration;

use clap::Args;

use crate::gateway::GatewayConfig;

/// Fleet flags (each overrides the config file's key).
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Fleet mode: keep in step with the other gateways through this NATS
    /// JetStream server (nats://HOST:PORT) [default: off, single node].
    #[arg(long, env = "TESSERA_FLEET")]
    pub fleet: Option<String>,
    /// Fleet mode: how far behind the stream a gateway may fall before it
    /// refuses token requests with `stale` (`5s`, `500ms`) [default: 5s].
    #[arg(long, env = "TESSERA_MAX_STALENESS", value_parser = parse_duration)]
    pub max_staleness: Option<Duration>,
    /// Fleet mode: longest wait for `X-Tessera-Min-Revision` before 503
    /// `behind` (`2s`, `500ms`) [default: 2s].
    #[arg(long, env = "TESSERA_MIN_REVISION_WAIT", value_parser = parse_duration)]
    pub min_revision_wait: Option<Duration>,
    /// Fleet mode: write a snapshot of the replicated state after this many
    /// applied changes (0: only through the admin API) [default: 10000].
    ///
    /// The snapshot goes to the JetStream Object Store bucket
    /// TESSERA_SNAPSHOTS and the pointer to it to the KV bucket
    /// TESSERA_SNAPSHOT; a gateway starting empty loads it and replays only
    /// what came after.
    #[arg(long, env = "TESSERA_FLEET_SNAPSHOT_EVERY")]
    pub fleet_snapshot_every: Option<u64>,
    /// Fleet mode: after a snapshot at revision R, purge the change stream
    /// below R + 1.
    ///
    /// Keeps the stream short however long the history; a gateway whose
    /// position was purged starts from the snapshot.
    #[arg(long, env = "TESSERA_FLEET_COMPACT")]
    pub fleet_compact: bool,
}

/// `500ms`, `5s`, `2m`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 5s or 2m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(format!(
            "{text:?} is not a duration such as 500ms, 5s or 2m"
        )),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl FleetArgs {
    /// Sets the flags given on `config`.
    pub fn apply(&self, config: &mut GatewayConfig) {
        if let Some(url) = &self.fleet {
            config.fleet = Some(url.clone());
        }
        if let Some(d) = self.max_staleness {
            config.max_staleness_ms = millis(d);
        }
        if let Some(d) = self.min_revision_wait {
            config.min_revision_wait_ms = millis(d);
        }
        if let Some(n) = self.fleet_snapshot_every {
            config.fleet_snapshot_every = n;
        }
        if self.fleet_compact {
            config.fleet_compact = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("fast").is_err());
    }
}
