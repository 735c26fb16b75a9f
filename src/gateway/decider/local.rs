//! Per-thread copies of decision-cache hits: a warm request on a worker
//! thread finds its decision without touching the shared cache (no lock,
//! no shared cache line that 64 connections contend on) and without
//! resolving its route again, and without hashing the token with SHA-256
//! (the shared caches' key): each copy is keyed by what the request said,
//! compared in full (the credential's text, method, raw path: the route
//! table is fixed for a decider, so the same text always resolves to the
//! same request), found through one keyed hash, and is dropped as
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

/// Bytes of asked text (credentials, methods, paths) one thread's copies
/// hold at most: cleared, like [`CAPACITY`], past it.
const MAX_BYTES: usize = 1 << 20;

/// Tells deciders apart (tests run several in one process, on the same threads).
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// A new owner id for a decider.
pub(super) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

/// What a copy was asked with.
struct Entry {
    credential: Option<Box<str>>,
    method: Box<str>,
    raw_path: Box<str>,
    decision: CachedDecision,
}

/// Bytes of asked text a copy holds.
fn asked_bytes(credential: Option<&str>, method: &str, raw_path: &str) -> usize {
    credential.map_or(0, str::len) + method.len() + raw_path.len()
}

impl Entry {
    fn size(&self) -> usize {
        asked_bytes(self.credential.as_deref(), &self.method, &self.raw_path)
    }
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
    /// Bytes of asked text the entries hold.
    bytes: usize,
}

impl Copies {
    /// Drops every copy unless they were made for `owner` at `epoch`;
    /// answers whether they were.
    fn align(&mut self, owner: u64, epoch: u64) -> bool {
        let current = self.owner == owner && self.epoch == epoch;
        if !current {
            self.clear();
            self.owner = owner;
            self.epoch = epoch;
        }
        current
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// The asked request's hash, the map's key (a collision is a miss: the
    /// entry's fields are compared).
    fn key(&self, credential: Option<&str>, method: &str, raw_path: &str) -> u64 {
        self.hasher.hash_one((credential, method, raw_path))
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
    credential: Option<&str>,
    method: &str,
    raw_path: &str,
    usable: impl FnOnce(&CachedDecision) -> bool,
) -> Option<Outcome> {
    COPIES.with(|copies| {
        let mut copies = copies.borrow_mut();
        if !copies.align(owner, epoch) {
            return None;
        }
        let entry = copies
            .entries
            .get(&copies.key(credential, method, raw_path))?;
        let same = entry.credential.as_deref() == credential
            && &*entry.method == method
            && &*entry.raw_path == raw_path;
        (same && usable(&entry.decision)).then(|| entry.decision.outcome.clone())
    })
}

/// Keeps a copy of a shared-cache hit made at `epoch` on this thread.
pub(super) fn put(
    owner: u64,
    epoch: u64,
    credential: Option<&str>,
    method: &str,
    raw_path: &str,
    decision: CachedDecision,
) {
    let size = asked_bytes(credential, method, raw_path);
    COPIES.with(|copies| {
        let mut copies = copies.borrow_mut();
        copies.align(owner, epoch);
        if copies.entries.len() >= CAPACITY || copies.bytes + size > MAX_BYTES {
            copies.clear();
        }
        let key = copies.key(credential, method, raw_path);
        copies.bytes += size;
        let entry = Entry {
            credential: credential.map(Into::into),
            method: method.into(),
            raw_path: raw_path.into(),
            decision,
        };
        if let Some(replaced) = copies.entries.insert(key, entry) {
            copies.bytes -= replaced.size();
        }
    });
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::authorize::Reason;

    fn decision(epoch: u64, outcome: Reason) -> CachedDecision {
        CachedDecision {
            epoch,
            until: Instant::now() + Duration::from_secs(60),
            token_expires: None,
            outcome: Err(outcome),
        }
    }

    /// Keeps a copy of the refusal `outcome` for `GET /p` at epoch 1.
    fn keep(owner: u64, credential: &str, outcome: Reason) {
        put(
            owner,
            1,
            Some(credential),
            "GET",
            "/p",
            decision(1, outcome),
        );
    }

    /// The refusal a copy holds (the tests store refusals only).
    fn found(owner: u64, epoch: u64, credential: Option<&str>, path: &str) -> Option<Reason> {
        get(owner, epoch, credential, "GET", path, |_| true).and_then(Result::err)
    }

    #[test]
    fn a_copy_answers_only_the_exact_text_it_was_asked_with() {
        let owner = new_owner();
        keep(owner, "tok", Reason::Revoked);
        assert_eq!(found(owner, 1, Some("tok"), "/p"), Some(Reason::Revoked));
        for (credential, path) in [
            (Some("tok "), "/p"),
            (Some("to"), "/p"),
            (None, "/p"),
            (Some("tok"), "/q"),
        ] {
            assert_eq!(
                found(owner, 1, credential, path),
                None,
                "{credential:?} {path}"
            );
        }
        assert!(get(owner, 1, Some("tok"), "POST", "/p", |_| true).is_none());
        // Another epoch (a change landed) or another decider sees nothing.
        assert_eq!(found(new_owner(), 1, Some("tok"), "/p"), None);
        assert_eq!(found(owner, 2, Some("tok"), "/p"), None);
    }

    #[test]
    fn the_copies_stay_within_their_byte_budget() {
        let owner = new_owner();
        let big = |c: char| c.to_string().repeat(MAX_BYTES / 2);
        keep(owner, &big('a'), Reason::Expired);
        keep(owner, &big('b'), Reason::Revoked);
        // The second did not fit beside the first: the copies were cleared first.
        assert_eq!(found(owner, 1, Some(&big('a')), "/p"), None);
        assert_eq!(
            found(owner, 1, Some(&big('b')), "/p"),
            Some(Reason::Revoked)
        );
        COPIES.with(|c| assert!(c.borrow().bytes <= MAX_BYTES));
        // Asking the same again replaces the copy without counting it twice.
        keep(owner, &big('b'), Reason::Expired);
        COPIES.with(|c| assert_eq!(c.borrow().bytes, MAX_BYTES / 2 + 3 + 2));
        assert_eq!(
            found(owner, 1, Some(&big('b')), "/p"),
            Some(Reason::Expired)
        );
    }
}
