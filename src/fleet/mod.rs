//! Fleet mode: many `tessera serve` processes kept in step through one
//! NATS JetStream stream. Verification stays local; every change an admin
//! write makes is published to the stream ([`publish`]), and every gateway,
//! the one that took it included, applies the stream in its order
//! ([`applier`]), writing the position with the change in one redb
//! transaction. Each gateway watches how far behind it is ([`staleness`]);
//! past `max_staleness_ms` the [`gate`] refuses token requests and public
//! reads with `stale`.
//!
//! [`Fleet`] is the shared state of this edge: the NATS connection, the
//! applied position, the stream's last sequence, the waiters of writes in
//! flight. It imports nothing from the gateway; the files that drive it do.

pub mod admin;
pub mod applier;
pub mod gate;
pub mod message;
pub mod publish;
pub mod revision;
pub mod snapshot;
pub mod staleness;
pub mod start;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::change::Applied;
use crate::gateway::error::ApiError;

pub use start::{attach, key_origin};

/// The outcome of a write, sent by the applier to the handler that published it.
pub type Outcome = Result<Applied, ApiError>;

/// The fleet edge's shared state.
pub struct Fleet {
    id: String,
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    applied: watch::Sender<u64>,
    stream_last: AtomicU64,
    fresh_at: Mutex<Option<Instant>>,
    max_staleness: Duration,
    waiters: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    by_kind: Mutex<BTreeMap<String, u64>>,
    follower: bool,
    behind_logged: AtomicBool,
    stale_refusals: AtomicU64,
    keys_published: AtomicBool,
    snapshots: SnapshotPolicy,
    since_snapshot: AtomicU64,
    snapshot_running: AtomicBool,
    snapshots_written: AtomicU64,
    snapshot_revision: AtomicU64,
    bootstrap: Mutex<Option<Bootstrap>>,
}

/// When this gateway writes snapshots, and whether it compacts after.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotPolicy {
    /// Applied changes between two snapshots (0: never on its own).
    pub every: u64,
    /// Purge the change stream below a snapshot once it is written.
    pub compact: bool,
}

/// Where this gateway's state came from when it last started afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bootstrap {
    /// A snapshot, then the stream after it.
    Snapshot,
    /// The whole stream.
    Replay,
}

impl Bootstrap {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Bootstrap::Snapshot => "snapshot",
            Bootstrap::Replay => "replay",
        }
    }
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Fleet {
    fn new(
        client: async_nats::Client,
        position: u64,
        max_staleness: Duration,
        follower: bool,
        snapshots: SnapshotPolicy,
    ) -> Fleet {
        Fleet {
            id: hex::encode(rand::random::<[u8; 8]>()),
            js: async_nats::jetstream::new(client.clone()),
            client,
            applied: watch::channel(position).0,
            stream_last: AtomicU64::new(0),
            fresh_at: Mutex::new(None),
            max_staleness,
            waiters: Mutex::new(HashMap::new()),
            by_kind: Mutex::new(BTreeMap::new()),
            follower,
            behind_logged: AtomicBool::new(false),
            stale_refusals: AtomicU64::new(0),
            keys_published: AtomicBool::new(follower),
            snapshots,
            since_snapshot: AtomicU64::new(0),
            snapshot_running: AtomicBool::new(false),
            snapshots_written: AtomicU64::new(0),
            snapshot_revision: AtomicU64::new(0),
            bootstrap: Mutex::new(None),
        }
    }

    /// The last stream sequence applied here.
    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// The stream's last sequence, as last seen.
    pub fn stream_last(&self) -> u64 {
        self.stream_last.load(Ordering::Relaxed)
    }

    /// How many stream messages are not applied here yet, as last seen.
    pub fn lag(&self) -> u64 {
        self.stream_last().saturating_sub(self.applied())
    }

    /// Time since this gateway was last known to hold everything the stream
    /// held (none: never yet).
    pub fn staleness(&self) -> Option<Duration> {
        lock(&self.fresh_at).map(|at| at.elapsed())
    }

    /// True when the gateway is further behind than the bound, or was
    /// never caught up: it refuses token requests.
    pub fn is_stale(&self) -> bool {
        self.staleness().is_none_or(|s| s > self.max_staleness)
    }

    /// True when keys come from the fleet's stream (no private keyring here).
    pub fn is_follower(&self) -> bool {
        self.follower
    }

    /// Waits until revision `seq` is applied here, at most `wait`.
    pub async fn wait_applied(&self, seq: u64, wait: Duration) -> bool {
        let mut rx = self.applied.subscribe();
        tokio::time::timeout(wait, rx.wait_for(|applied| *applied >= seq))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Changes applied since the start, by kind.
    pub fn applied_by_kind(&self) -> BTreeMap<String, u64> {
        lock(&self.by_kind).clone()
    }

    /// True once the fleet holds this gateway's public keys (always on a
    /// follower): until then tokens it signs would not verify elsewhere.
    pub fn keys_published(&self) -> bool {
        self.keys_published.load(Ordering::Relaxed)
    }

    /// Counts a request refused as `stale`.
    pub fn refused_stale(&self) {
        self.stale_refusals.fetch_add(1, Ordering::Relaxed);
    }

    /// The latest snapshot's revision, as last seen (none: none seen).
    pub fn snapshot_revision(&self) -> Option<u64> {
        Some(self.snapshot_revision.load(Ordering::Relaxed)).filter(|r| *r > 0)
    }

    /// Where the state came from at the last fresh start (none: resumed
    /// from the stored position).
    pub fn bootstrap_source(&self) -> Option<Bootstrap> {
        *lock(&self.bootstrap)
    }

    fn saw_snapshot(&self, revision: u64) {
        self.snapshot_revision
            .fetch_max(revision, Ordering::Relaxed);
    }

    fn set_applied(&self, seq: u64) {
        self.applied.send_replace(seq);
    }

    fn count(&self, kind: String) {
        *lock(&self.by_kind).entry(kind).or_default() += 1;
    }

    /// Notes what a look at the stream found: `last` its last sequence,
    /// seen at `asked`. Logs falling behind and catching up.
    fn saw_stream(&self, last: u64, asked: Instant) {
        self.stream_last.store(last, Ordering::Relaxed);
        if self.applied() >= last {
            *lock(&self.fresh_at) = Some(asked);
        }
        self.log_transition();
    }

    fn log_transition(&self) {
        let stale = self.is_stale();
        let was = self.behind_logged.swap(stale, Ordering::Relaxed);
        if stale && !was {
            tracing::warn!(
                applied = self.applied(),
                stream_last = self.stream_last(),
                "fleet: behind the stream past max_staleness; refusing token requests"
            );
        } else if !stale && was {
            tracing::info!(applied = self.applied(), "fleet: caught up");
        }
    }

    fn waiter(&self, nonce: &str) -> Option<oneshot::Sender<Outcome>> {
        lock(&self.waiters).remove(nonce)
    }
}
