//! What fleet mode shows: `GET /admin/v1/fleet` (revision, digest of
//! registry + revocations, lag, staleness), its `/readyz` condition and its
//! Prometheus lines.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::Json;

use crate::api::fleet::FleetStatus;
use crate::gateway::error::ApiError;
use crate::gateway::Gateway;

use super::Fleet;

/// `GET /admin/v1/fleet`: `{"revision", "digest", "lag", "staleness_seconds"}`
/// (404 without fleet mode).
#[utoipa::path(get, path = "/admin/v1/fleet", tag = "fleet", responses((status = 200, description = "this gateway's place in the fleet's stream", body = FleetStatus), (status = 404, description = "fleet mode is off", body = crate::gateway::admin::openapi::ErrorBody)))]
pub async fn status(State(gw): State<Gateway>) -> Result<Json<FleetStatus>, ApiError> {
    let Some(fleet) = gw.fleet().cloned() else {
        return Err(ApiError::NotFound("fleet mode is off".into()));
    };
    let worker = gw.clone();
    let digest = tokio::task::spawn_blocking(move || worker.store().fleet_digest())
        .await
        .map_err(|e| ApiError::Internal(format!("worker: {e}")))??;
    Ok(Json(FleetStatus {
        revision: fleet.applied(),
        digest,
        lag: fleet.lag(),
        staleness_seconds: fleet.staleness().map(|s| s.as_secs_f64()),
        stream_last: fleet.stream_last(),
        snapshot_revision: fleet.snapshot_revision(),
    }))
}

/// True unless fleet mode is on and this gateway is stale (behind, or
/// never caught up) or has not yet published its public keys: `/readyz`'s
/// fleet condition.
pub fn ready(gw: &Gateway) -> bool {
    gw.fleet()
        .is_none_or(|f| !f.is_stale() && f.keys_published())
}

/// The fleet's Prometheus lines (empty without fleet mode).
pub fn metrics(gw: &Gateway) -> String {
    let Some(fleet) = gw.fleet() else {
        return String::new();
    };
    render(fleet)
}

fn render(fleet: &Fleet) -> String {
    let mut out = String::new();
    let staleness = fleet.staleness().map_or(-1.0, |s| s.as_secs_f64());
    let lines: [(&str, &str, &str, String); 6] = [
        (
            "tessera_fleet_applied_revision",
            "gauge",
            "Last stream sequence applied here.",
            fleet.applied().to_string(),
        ),
        (
            "tessera_fleet_lag",
            "gauge",
            "Stream messages not applied here yet, as last seen.",
            fleet.lag().to_string(),
        ),
        (
            "tessera_fleet_staleness_seconds",
            "gauge",
            "Seconds since this gateway last held all the stream held (-1: never).",
            format!("{staleness:.3}"),
        ),
        (
            "tessera_fleet_stale",
            "gauge",
            "1 while past max_staleness: token requests are refused.",
            u8::from(fleet.is_stale()).to_string(),
        ),
        (
            "tessera_fleet_stale_refusals_total",
            "counter",
            "Requests refused as stale.",
            fleet.stale_refusals.load(Ordering::Relaxed).to_string(),
        ),
        (
            "tessera_fleet_snapshots_written_total",
            "counter",
            "Snapshots of the replicated state this gateway wrote.",
            fleet.snapshots_written.load(Ordering::Relaxed).to_string(),
        ),
    ];
    for (name, kind, help, value) in lines {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    let _ = writeln!(out, "# HELP tessera_fleet_changes_applied_total Changes applied from the stream, by kind.\n# TYPE tessera_fleet_changes_applied_total counter");
    for (kind, count) in fleet.applied_by_kind() {
        let _ = writeln!(
            out,
            "tessera_fleet_changes_applied_total{{kind=\"{kind}\"}} {count}"
        );
    }
    if let Some(source) = fleet.bootstrap_source() {
        let _ = writeln!(out, "# HELP tessera_fleet_bootstrap Where the state came from at the last fresh start (1: this source).\n# TYPE tessera_fleet_bootstrap gauge\ntessera_fleet_bootstrap{{source=\"{}\"}} 1", source.as_str());
    }
    out
}
