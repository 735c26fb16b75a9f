//! How far behind the stream this gateway is: a look at the stream's last
//! sequence a few times per `max_staleness_ms`. A gateway is fresh as of
//! the last look that found nothing it had not applied; when NATS cannot
//! be reached no look succeeds, and staleness grows until the gate closes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::message::STREAM;
use super::Fleet;

/// The interval between looks: a fifth of the bound, within 50 ms – 1 s.
fn interval(bound: Duration) -> Duration {
    (bound / 5).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Looks at the stream forever.
pub async fn run(fleet: Arc<Fleet>) {
    let every = interval(fleet.max_staleness);
    loop {
        let asked = Instant::now();
        let look = tokio::time::timeout(Duration::from_secs(1), fleet.js.get_stream(STREAM)).await;
        match look {
            Ok(Ok(stream)) => fleet.saw_stream(stream.cached_info().state.last_sequence, asked),
            Ok(Err(e)) => tracing::debug!(error = %e, "fleet: stream not reachable"),
            Err(_) => tracing::debug!("fleet: stream look timed out"),
        }
        fleet.log_transition();
        tokio::time::sleep(every.saturating_sub(asked.elapsed())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_come_a_few_times_per_bound() {
        assert_eq!(interval(Duration::from_secs(5)), Duration::from_secs(1));
        assert_eq!(
            interval(Duration::from_millis(500)),
            Duration::from_millis(100)
        );
        assert_eq!(
            interval(Duration::from_millis(10)),
            Duration::from_millis(50)
        );
    }
}
