//! The fleet's gate on the request path, called from one place (the
//! gateway's router, inside the envelope): `X-Tessera-Min-Revision: N`
//! waits (at most `min_revision_wait_ms`) until revision N is applied here,
//! else 503 `behind`; a gateway further behind than `max_staleness_ms`
//! refuses token requests and public reads with 403 `stale`. Health,
//! readiness and metrics always answer; the admin API is not refused for
//! staleness (its writes go through the stream and fail on their own).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::Invalid;
use crate::gateway::error::ApiError;
use crate::gateway::Gateway;

/// The header of read-your-writes.
pub const MIN_REVISION: &str = "x-tessera-min-revision";

/// Paths that answer whatever the fleet's state.
fn always_answers(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The gate (a no-op without fleet mode).
pub async fn gate(State(gw): State<Gateway>, request: Request, next: Next) -> Response {
    let Some(fleet) = gw.fleet() else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if always_answers(path) {
        return next.run(request).await;
    }
    if let Some(value) = request.headers().get(MIN_REVISION) {
        let Some(seq) = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        else {
            return ApiError::BadRequest(Invalid::Query(format!(
                "{MIN_REVISION} must be a revision number"
            )))
            .into_response();
        };
        let wait = Duration::from_millis(gw.config().min_revision_wait_ms);
        if !fleet.wait_applied(seq, wait).await {
            return ApiError::Behind.into_response();
        }
    }
    if !path.starts_with("/admin/") && fleet.is_stale() {
        fleet.refused_stale();
        return ApiError::Stale.into_response();
    }
    next.run(request).await
}
