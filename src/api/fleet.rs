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
}
