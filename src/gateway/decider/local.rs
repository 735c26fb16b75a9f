//! Per-thread copies of decision-cache hits: a warm request on a worker
//! thread finds its decision without touching the shared cache (no lock,
//! no shared cache line that 64 connections contend on) and without
//! resolving its route again. Each copy is keyed by what the request said
//! (token hash, method, raw path: the route table is fixed for a decider,
//! so the same text always resolves to the same request) and is dropped as
//! soon as the decider's epoch moves: a revocation, a settings or registry
//! change or a key change bumps the epoch, and the next request on every
//! thread then sees an empty copy and goes to the shared cache, where the
//! stale decision is refused by its epoch too.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{CachedDecision, Outcome};

/// Copies one thread keeps at most (cleared, not evicted, past it).
const CAPACITY: usize = 512;

/// Tells deciders apart (tests run several in one process, on the same threads).
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// A new owner id for a decider.
pub(super) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

/// What a copy was asked with.
struct Entry {
    token: Option<[u8; 32]>,
    method: Box<str>,
    raw_path: Box<str>,
    decision: CachedDecision,
}

/// The map's keys are already hashes ([`Copies::key`]): each is its own
/// hash, not hashed again.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the keys are u64); any other input still
        // hashes, byte by byte.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Copies {
    owner: u64,
    epoch: u64,
    /// Keyed at random per thread: nobody can choose requests that collide.
    hasher: ahash::RandomState,
    entries: HashMap<u64, Entry, BuildHasherDefault<Prehashed>>,
}

impl Copies {
    /// Drops every copy unless they were made for `owner` at `epoch`;
    /// answers whether they were.
    fn align(&mut self, owner: u64, epoch: u64) -> bool {
        let current = self.owner == owner && self.epoch == epoch;
        if !current {
            self.entries.clear();
            self.owner = owner;
            self.epoch = epoch;
        }
        current
    }

    /// The asked request's hash, the map's key (a collision is a miss: the
    /// entry's fields are compared).
    fn key(&self, token: Option<&[u8; 32]>, method: &str, raw_path: &str) -> u64 {
        self.hasher.hash_one((token, method, raw_path))
    }
}

thread_local! {
    static COPIES: RefCell<Copies> = RefCell::new(Copies::default());
}

/// This thread's copy for `owner` at `epoch`, if `usable` says it still is
/// (time to live, token expiry). Copies of another epoch or decider are
/// dropped first.
pub(super) fn get(
    owner: u64,
    epoch: u64,
    token: Option<&[u8; 32]>,
    method: &str,
    raw_path: &str,
    usable: impl FnOnce(&CachedDecision) -> bool,
) -> Option<Outcome> {
    COPIES.with(|copies| {
        let mut copies = copies.borrow_mut();
        if !copies.align(owner, epoch) {
            return None;
        }
        let entry = copies.entries.get(&copies.key(token, method, raw_path))?;
        let same = entry.token.as_ref() == token
            && &*entry.method == method
            && &*entry.raw_path == raw_path;
        (same && usable(&entry.decision)).then(|| entry.decision.outcome.clone())
    })
}

/// Keeps a copy of a shared-cache hit made at `epoch` on this thread.
pub(super) fn put(
    owner: u64,
    epoch: u64,
    token: Option<&[u8; 32]>,
    method: &str,
    raw_path: &str,
    decision: CachedDecision,
) {
    COPIES.with(|copies| {
        let mut copies = copies.borrow_mut();
        copies.align(owner, epoch);
        if copies.entries.len() >= CAPACITY {
            copies.entries.clear();
        }
        let key = copies.key(token, method, raw_path);
        copies.entries.insert(
            key,
            Entry {
                token: token.copied(),
                method: method.into(),
                raw_path: raw_path.into(),
                decision,
            },
        );
    });
}
