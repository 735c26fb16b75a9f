//! Fleet mode's answer on the admin API: where this gateway is in the
//! stream of changes, and a digest of what it holds, to compare gateways.

use serde::{Deserialize, Serialize};

/// `GET /admin/v1/fleet`: this gateway's place in the fleet's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FleetStatus {
    /// The last stream sequence applied here.
    pub revision: u64,
    /// SHA-256 (hex) of the registry and the revocation set held here:
    /// equal on every gateway that applied the same changes.
    pub digest: String,
    /// How many sequences the stream holds past `revision`.
    pub lag: u64,
    /// Seconds since this gateway last knew it was caught up (none before
    /// it first caught up).
    pub staleness_seconds: Option<f64>,
    /// The stream's last sequence, as last seen.
    pub stream_last: u64,
    /// The revision of the latest snapshot of the replicated state this
    /// gateway has seen (written or loaded; none: none seen yet).
    #[serde(default)]
    pub snapshot_revision: Option<u64>,
}

/// `POST /admin/v1/fleet/snapshot`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SnapshotWritten {
    /// The revision of the latest snapshot after this request.
    pub snapshot_revision: u64,
    /// True when this request wrote it (false: one at this revision or
    /// later was already there).
    pub written: bool,
}
