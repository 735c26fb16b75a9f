//! The handlers of the keyring and operational endpoints:
//! `/.well-known/biscuit-web-keys`, `/healthz`, `/readyz`, `/metrics`
//! (routed by [`super::ops`]).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::state::Gateway;

/// `GET /.well-known/biscuit-web-keys`: the public keyring.
pub async fn public_keys(State(gw): State<Gateway>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        gw.keyring().to_bwk_json(),
    )
        .into_response()
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: keys, policy, routes and store are loaded, and keys from a
/// file or URL were refreshed within `max_key_staleness_secs` (503 with
/// `keys_stale: true` otherwise; the gateway still verifies with the last
/// good keys, so a load balancer can take it out while it keeps answering).
pub async fn readyz(State(gw): State<Gateway>) -> Response {
    let keys = gw.keyring().ids().count();
    let freshness = gw.key_freshness();
    let stale = freshness.is_stale();
    let ready = keys > 0 && !stale && crate::fleet::admin::ready(&gw);
    let body = serde_json::json!({
        "ready": ready,
        "keys": keys,
        "revoked_ids": gw.revoked_count(),
        "views": gw.registry().views.len(),
        "uptime_seconds": gw.uptime().as_secs(),
        "keys_stale": stale,
        "keys_age_seconds": freshness.age().map(|age| age.as_secs()),
        "key_refresh_failures": freshness.failures(),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(gw): State<Gateway>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        gw.metrics().render(gw.revoked_count()) + &crate::fleet::admin::metrics(&gw),
    )
        .into_response()
}
