//! The periodic tasks behind a running gateway: the key refresh (for a file
//! or URL key source) and the last-used writer, each on its own so neither
//! can hold up the other.

use std::time::Duration;

use super::decider::Decider;
use super::last_used::LastUsed;

/// The running periodic tasks.
#[derive(Debug)]
pub struct BackgroundTasks(Vec<tokio::task::JoinHandle<()>>);

impl BackgroundTasks {
    /// Starts the last-used writer every `flush_secs` and, when the keys
    /// can be refreshed, the key refresh every `refresh_secs`.
    pub fn spawn(
        decider: &Decider,
        last_used: &LastUsed,
        flush_secs: u64,
        refresh_secs: u64,
    ) -> Self {
        let mut tasks = vec![spawn_last_used_writer(last_used.clone(), flush_secs)];
        if decider.keys().is_refreshable() {
            tasks.push(spawn_key_refresher(decider.clone(), refresh_secs));
        }
        BackgroundTasks(tasks)
    }

    /// Stops every task (at shutdown).
    pub fn abort(&self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

fn spawn_last_used_writer(last_used: LastUsed, secs: u64) -> tokio::task::JoinHandle<()> {
    every(secs, move || {
        let last_used = last_used.clone();
        async move { last_used.flush().await }
    })
}

fn spawn_key_refresher(decider: Decider, secs: u64) -> tokio::task::JoinHandle<()> {
    every(secs, move || {
        let decider = decider.clone();
        async move {
            if let Err(e) = decider.refresh_keys().await {
                tracing::warn!(error = %e, "periodic public key refresh failed");
            }
        }
    })
}

/// A task running `round` every `secs` seconds (at least one), the first
/// time one period from now.
fn every<F, R>(secs: u64, mut round: R) -> tokio::task::JoinHandle<()>
where
    R: FnMut() -> F + Send + 'static,
    F: std::future::Future<Output = ()> + Send,
{
    let period = Duration::from_secs(secs.max(1));
    tokio::spawn(async move {
        let mut ticks = interval_from_now(period).await;
        loop {
            ticks.tick().await;
            round().await;
        }
    })
}

/// An interval whose first tick has passed and that, after a slow round,
/// waits a whole period again instead of catching up in a burst.
async fn interval_from_now(period: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    ticks
}
