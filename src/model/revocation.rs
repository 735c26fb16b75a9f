//! The set of revoked revocation ids, kept as 128-bit keys.

use std::collections::HashSet;

/// The revocation ids currently revoked: checked on every request, before
/// and independent of any cache.
///
/// Kept as the first 16 bytes of each id (zero-padded when shorter): a
/// revocation id is a block signature, so 128 bits tell ids apart (a
/// collision could only deny a token, never allow one), and a million
/// revoked ids take about 35 MB instead of about 110.
#[derive(Debug, Clone, Default)]
pub struct RevocationSet {
    ids: HashSet<u128>,
}

/// The key the revocation set (and the store's index) keeps for an id.
pub fn revocation_key(id: &[u8]) -> u128 {
    let mut key = [0u8; 16];
    let n = id.len().min(16);
    key[..n].copy_from_slice(&id[..n]);
    u128::from_le_bytes(key)
}

impl RevocationSet {
    /// A set holding `ids`.
    pub fn from_ids<I: IntoIterator<Item = Vec<u8>>>(ids: I) -> Self {
        RevocationSet {
            ids: ids.into_iter().map(|id| revocation_key(&id)).collect(),
        }
    }

    /// A set holding these keys ([`revocation_key`] of each id).
    pub fn from_keys(keys: Vec<u128>) -> Self {
        let mut ids = HashSet::with_capacity(keys.len());
        ids.extend(keys);
        RevocationSet { ids }
    }

    /// Adds one id.
    pub fn insert(&mut self, id: &[u8]) {
        self.ids.insert(revocation_key(id));
    }

    /// True when `id` is revoked.
    pub fn contains(&self, id: &[u8]) -> bool {
        self.ids.contains(&revocation_key(id))
    }

    /// How many ids are revoked.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}
