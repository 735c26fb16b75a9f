//! The operational endpoints (`/healthz`, `/readyz`, `/metrics`) as a
//! router of their own: merged into the main router, or served alone on
//! the ops listener (`ops_listen`). `/readyz` and `/metrics` tell how the
//! gateway is doing (keys, revocations, decision counts), so they answer
//! only peers in `ops_peers`; anyone else gets the 404 of an unknown
//! endpoint, so they are not even discoverable. `/healthz` answers anyone:
//! load balancers probe it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::config::nets_contain;
use super::error::ApiError;
use super::{front, Gateway};

/// The three operational routes, `/readyz` and `/metrics` behind the
/// `ops_peers` allow-list.
pub fn routes(gateway: Gateway) -> Router<Gateway> {
    Router::new()
        .route("/readyz", get(front::readyz))
        .route("/metrics", get(front::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            gateway,
            ops_peers_only,
        ))
        .route("/healthz", get(front::healthz))
}

/// Lets only `ops_peers` through; the others get [`not_found`].
pub async fn ops_peers_only(
    State(gw): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if nets_contain(&gw.config().ops_peers, peer.ip()) {
        next.run(request).await
    } else {
        not_found().await.into_response()
    }
}

/// What an unknown endpoint answers when the gateway does not proxy.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}
