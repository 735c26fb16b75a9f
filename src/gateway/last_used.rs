//! The "last used" recorder: allowed token uses are noted in memory (at
//! most once per token per minute) and written to the ledger in one
//! transaction per flush, off the request path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::store::Store;

/// How often at most a token's "last used" time is written.
pub const LAST_USED_GRANULARITY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The recorder and its writer's store. Cheap to clone (one shared part).
#[derive(Clone)]
pub struct LastUsed(Arc<Inner>);

struct Inner {
    store: Arc<Store>,
    times: Mutex<Times>,
}

/// "Last used" times waiting to be written, and when each token was last written.
#[derive(Default)]
struct Times {
    pending: HashMap<String, DateTime<Utc>>,
    written: HashMap<String, DateTime<Utc>>,
}

impl LastUsed {
    /// A recorder writing to `store`.
    pub fn new(store: Arc<Store>) -> Self {
        LastUsed(Arc::new(Inner {
            store,
            times: Mutex::new(Times::default()),
        }))
    }

    /// Notes a use of `token_id` at `now`, unless one was written within
    /// the granularity or is already waiting.
    pub fn note_use(&self, token_id: String, now: DateTime<Utc>) {
        let mut lu = lock(&self.0.times);
        let due = lu
            .written
            .get(&token_id)
            .is_none_or(|&at| now - at >= LAST_USED_GRANULARITY);
        if due && !lu.pending.contains_key(&token_id) {
            lu.pending.insert(token_id, now);
        }
    }

    /// Writes pending "last used" times to the ledger in one transaction.
    pub async fn flush(&self) {
        let batch: Vec<(String, DateTime<Utc>)> = {
            let mut lu = lock(&self.0.times);
            let batch: Vec<_> = lu.pending.drain().collect();
            // Forget tokens whose last write is older than the granularity:
            // their next use is due anyway, and the map stays bounded.
            let now = Utc::now();
            lu.written.retain(|_, at| now - *at < LAST_USED_GRANULARITY);
            for (id, at) in &batch {
                lu.written.insert(id.clone(), *at);
            }
            batch
        };
        if batch.is_empty() {
            return;
        }
        let store = self.0.store.clone();
        let result = tokio::task::spawn_blocking(move || store.touch_last_used(&batch)).await;
        match result {
            Ok(Ok(n)) => tracing::debug!(updated = n, "last-used times written"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not write last-used times"),
            Err(e) => tracing::warn!(error = %e, "last-used writer failed"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
