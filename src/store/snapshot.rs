//! The fleet's snapshot format: the replicated state at one stream
//! revision (registry rows, revocations, the fleet's public keyring) as
//! bytes, and back. Pure: no redb, no NATS. The bytes are
//! `TESSERA-SNAPSHOT` (16 bytes), the format version (u16, big endian),
//! the SHA-256 of the body (32 bytes), then the body (JSON). Loading
//! checks all three and the digest the pointer names; anything else is
//! refused with the reason, never half-loaded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first bytes of every snapshot.
const MAGIC: &[u8; 16] = b"TESSERA-SNAPSHOT";
/// The format this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
const HEADER: usize = MAGIC.len() + 2 + 32;

/// The replicated state at one revision: what a gateway needs to apply
/// the stream from `revision + 1` on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotState {
    /// The last stream sequence this state includes.
    pub revision: u64,
    /// The stream it belongs to (its creation time), so a snapshot of a
    /// deleted stream is never applied to the stream that replaced it.
    pub stream: String,
    /// Registry rows, key → JSON, in key order.
    pub registry: Vec<(String, String)>,
    /// Revocations: id (hex) → record JSON, in id order.
    pub revocations: Vec<(String, String)>,
    /// The fleet's public keys: key id → `algorithm/hex` (no private key
    /// is ever in a snapshot).
    pub keyring: BTreeMap<u32, String>,
}

/// Why snapshot bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes do not start as a snapshot does.
    #[error("not a tessera snapshot (no TESSERA-SNAPSHOT header)")]
    NotASnapshot,
    /// Written by a format this build does not read.
    #[error(
        "snapshot format version {found} is not supported (this build reads {FORMAT_VERSION})"
    )]
    Version {
        /// The version the bytes carry.
        found: u16,
    },
    /// The body's SHA-256 is not the one the header or the pointer names:
    /// corrupted or tampered with.
    #[error("snapshot digest mismatch: the content is corrupted or was altered")]
    DigestMismatch,
    /// The body does not decode, or says another revision than the pointer.
    #[error("snapshot body is malformed: {0}")]
    Malformed(String),
}

/// The SHA-256 (hex) of encoded snapshot bytes' body, as a pointer names it.
pub fn digest_of(bytes: &[u8]) -> Option<String> {
    (bytes.len() >= HEADER).then(|| hex::encode(&bytes[MAGIC.len() + 2..HEADER]))
}

impl SnapshotState {
    /// The state as snapshot bytes.
    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        let body = serde_json::to_vec(self).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Snapshot bytes as the state, checked: the header, the version, the
    /// body's digest against the header's and against `expected` (the
    /// pointer's, hex), and the revision against `revision`.
    pub fn decode(bytes: &[u8], expected: &str, revision: u64) -> Result<Self, SnapshotError> {
        if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let found = u16::from_be_bytes([bytes[MAGIC.len()], bytes[MAGIC.len() + 1]]);
        if found != FORMAT_VERSION {
            return Err(SnapshotError::Version { found });
        }
        let body = &bytes[HEADER..];
        let actual = Sha256::digest(body);
        if actual[..] != bytes[MAGIC.len() + 2..HEADER] || hex::encode(actual) != expected {
            return Err(SnapshotError::DigestMismatch);
        }
        let state: SnapshotState =
            serde_json::from_slice(body).map_err(|e| SnapshotError::Malformed(e.to_string()))?;
        if state.revision != revision {
            return Err(SnapshotError::Malformed(format!(
                "it holds revision {}, the pointer says {revision}",
                state.revision
            )));
        }
        Ok(state)
    }
}

/// The `latest` pointer: which snapshot object holds which revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPointer {
    /// The revision the snapshot holds.
    pub revision: u64,
    /// The object's name in the snapshot bucket.
    pub object: String,
    /// The SHA-256 (hex) of the snapshot's body.
    pub digest: String,
    /// The stream it belongs to (its creation time).
    pub stream: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SnapshotState {
        SnapshotState {
            revision: 42,
            stream: "1700000000".into(),
            registry: vec![("workspace/ws_1".into(), "{}".into())],
            revocations: vec![(
                "00ff".into(),
                r#"{"revoked_at":"2026-01-01T00:00:00Z","reason":null,"token_id":null}"#.into(),
            )],
            keyring: BTreeMap::from([(1, "ed25519/00".into())]),
        }
    }

    #[test]
    fn a_snapshot_reads_back_as_written() {
        let bytes = state().encode().unwrap();
        let digest = digest_of(&bytes).unwrap();
        assert_eq!(SnapshotState::decode(&bytes, &digest, 42), Ok(state()));
    }

    #[test]
    fn corrupted_or_mismatching_snapshots_are_refused_with_the_reason() {
        let bytes = state().encode().unwrap();
        let digest = digest_of(&bytes).unwrap();
        let mut flipped = bytes.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 1;
        assert_eq!(
            SnapshotState::decode(&flipped, &digest, 42),
            Err(SnapshotError::DigestMismatch)
        );
        // A consistent snapshot, but not the one the pointer names.
        let mut other = state();
        other.revocations.clear();
        let other = other.encode().unwrap();
        assert_eq!(
            SnapshotState::decode(&other, &digest, 42),
            Err(SnapshotError::DigestMismatch)
        );
        assert!(matches!(
            SnapshotState::decode(&bytes, &digest, 41),
            Err(SnapshotError::Malformed(_))
        ));
        assert_eq!(
            SnapshotState::decode(b"garbage", &digest, 42),
            Err(SnapshotError::NotASnapshot)
        );
        let mut newer = bytes;
        newer[MAGIC.len() + 1] = 9;
        assert_eq!(
            SnapshotState::decode(&newer, &digest, 42),
            Err(SnapshotError::Version { found: 9 })
        );
    }
}
