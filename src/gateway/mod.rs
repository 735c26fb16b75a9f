//! The axum gateway: every front door (forward-auth for nginx/Traefik/Caddy,
//! Envoy ext_authz, the reverse proxy, share links, public views, the admin
//! API) runs the one decision core in [`state::Gateway::decide`], with no
//! database round trip: signatures by key id, the in-memory revocation set,
//! the in-memory registry, the policy.

pub mod admin;
mod apply;
pub mod config;
pub mod error;
pub mod front;
pub mod metrics;
pub mod state;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::Router;
use std::net::SocketAddr;

pub use config::GatewayConfig;
pub use error::ApiError;
pub use state::{Gateway, GatewayError};

/// Largest admin API request body.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// Builds the application: every route, and the operational layer
/// ([`front::envelope`]: request id, header limit, timeout, access log) set
/// up in this one place.
pub fn app(gateway: Gateway) -> Router {
    Router::new()
        .route("/auth", any(front::forward_auth))
        .route("/auth/", any(front::envoy_auth_root))
        .route("/auth/{*path}", any(front::envoy_auth))
        .route("/s/{token}", get(front::share_link))
        .route("/.well-known/biscuit-web-keys", get(front::public_keys))
        .route("/healthz", get(front::healthz))
        .route("/readyz", get(front::readyz))
        .route("/metrics", get(front::metrics))
        .nest(
            "/admin/v1",
            admin::router(gateway.clone()).layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT)),
        )
        .fallback(front::proxy)
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            front::envelope,
        ))
        .with_state(gateway)
}

/// Runs the gateway until SIGTERM or Ctrl-C; in-flight requests finish.
/// Prints `listening on http://ADDR` on stdout once the socket is bound.
pub async fn serve(gateway: Gateway) -> Result<(), GatewayError> {
    let listener = tokio::net::TcpListener::bind(gateway.config().listen)
        .await
        .map_err(|e| GatewayError::Bind(gateway.config().listen, e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| GatewayError::Bind(gateway.config().listen, e.to_string()))?;
    gateway.set_bound(addr);
    println!("listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let background = gateway.spawn_background_tasks();
    let result = axum::serve(
        listener,
        app(gateway.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    background.abort();
    gateway.flush_last_used().await;
    tracing::info!("stopped");
    result.map_err(|e| GatewayError::Serve(e.to_string()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
