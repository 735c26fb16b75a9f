//! The axum gateway: every front door (forward-auth for nginx/Traefik/Caddy,
//! Envoy ext_authz, the reverse proxy, share links, public views, the admin
//! API) runs the one decision core in [`decider::Decider::decide`], with no
//! database round trip: signatures by key id, the in-memory revocation set,
//! the in-memory registry, the policy.

pub mod accept;
pub mod access_log;
pub mod admin;
mod apply;
pub mod background;
pub mod config;
mod console;
pub mod credential;
pub mod decider;
mod doors;
pub(crate) mod embed;
mod envelope;
pub mod error;
mod forwarding;
pub mod front;
pub mod identity;
pub mod keysource;
pub mod last_used;
pub mod listener;
pub mod log_time;
pub mod log_writer;
pub mod me;
pub mod metrics;
pub mod ops;
mod probes;
mod share;
mod shed;
pub mod startup;
pub mod state;
pub mod tls_client;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

use listener::{ConnectionLimits, Listener};

pub use config::GatewayConfig;
pub use envelope::Envelope;
pub use error::ApiError;
pub use state::{Gateway, GatewayError};

/// Builds the application: every route, and the operational envelope
/// ([`Envelope`]: request id, header limit, timeout, access log) around
/// all of them, set up in this one place; forward-auth and Envoy's doors are
/// answered before the router ([`doors`]). The decision front doors (forward-auth, Envoy,
/// share links, the reverse proxy as the fallback) share one in-flight
/// limit that sheds past `max_in_flight_decisions`; the admin API's bodies
/// are limited to `max_admin_body_bytes`. The operational endpoints
/// ([`ops::routes`]) are here, never shed, unless they have a listener of
/// their own ([`ops_app`]).
pub fn app(gateway: Gateway) -> Envelope {
    let router = router(&gateway);
    Envelope::new(
        gateway.clone(),
        doors::Doors::with_busy_doors(gateway, router),
    )
}

/// The main listener's router: every route of [`app`], the reverse proxy
/// as its fallback.
fn router(gateway: &Gateway) -> Router {
    let config = gateway.config();
    // The busiest doors take their in-flight permit as an extractor
    // (`shed::Admission`); the others through the shed layer, from the same
    // permits.
    let busy_doors = Router::new()
        .route("/auth", any(front::forward_auth_request))
        .route("/auth/", any(front::envoy_auth_request))
        .route("/auth/{*path}", any(front::envoy_auth_request))
        .fallback(front::proxy_request);
    let doors = Router::new().route("/v1/me", get(me::me)).route(
        "/s/{token}",
        get(front::share_link).post(front::switch_share),
    );
    let routes = Router::new()
        .route("/.well-known/biscuit-web-keys", get(front::public_keys))
        .nest(
            "/admin/v1",
            admin::router(gateway.clone())
                .layer(DefaultBodyLimit::max(config.max_admin_body_bytes)),
        )
        .merge(console::router(gateway.clone()))
        .merge(shed::shed_past(
            doors,
            gateway.decider().in_flight_permits(),
        ))
        .merge(busy_doors);
    let routes = match config.ops_listen {
        Some(_) => routes,
        None => routes.merge(ops::routes(gateway.clone())),
    };
    gated(routes, gateway)
}

/// The ops listener's application: the operational endpoints only.
pub fn ops_app(gateway: Gateway) -> Envelope {
    let router = gated(
        ops::routes(gateway.clone()).fallback(ops::not_found),
        &gateway,
    );
    Envelope::new(gateway.clone(), doors::Doors::routed(gateway, router))
}

/// The routes with their state, behind the fleet's gate in fleet mode.
fn gated(routes: Router<Gateway>, gateway: &Gateway) -> Router {
    // The fleet's gate only in fleet mode (attached before the app is
    // built): a single node's requests skip a middleware that would pass
    // them on untouched.
    let routes = match gateway.fleet() {
        Some(_) => routes.layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            crate::fleet::gate::gate,
        )),
        None => routes,
    };
    routes.with_state(gateway.clone())
}

/// Runs the gateway until SIGTERM or Ctrl-C; in-flight requests finish
/// (waited for at most `request_timeout_ms`). Prints `ops listening on
/// http://ADDR` (with `ops_listen`) and then `listening on http://ADDR` on
/// stdout once the sockets are bound.
pub async fn serve(gateway: Gateway) -> Result<(), GatewayError> {
    let config = gateway.config();
    let (main_limits, ops_limits) = ConnectionLimits::from_config(config)?;
    let ops = match config.ops_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let (main, addr) = bind(config.listen).await?;
    let fds_per_connection = if config.upstream.is_some() { 2 } else { 1 };
    let ops_connections = ops.as_ref().map_or(0, |_| ops_limits.max_connections);
    let main_limits = main_limits.fit_open_files(ops_connections, fds_per_connection);
    gateway.set_bound(addr);
    if let Some((_, ops_addr)) = &ops {
        println!("ops listening on http://{ops_addr}");
        tracing::info!(addr = %ops_addr, "ops listening");
    }
    println!("listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let background = gateway.spawn_background_tasks();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let drain = Duration::from_millis(config.request_timeout_ms);
    let mut listeners = vec![tokio::spawn(
        Listener::new(main, app(gateway.clone()), main_limits, gateway.clone())
            .run(stopped.clone(), drain),
    )];
    if let Some((tcp, _)) = ops {
        listeners.push(tokio::spawn(
            Listener::new(tcp, ops_app(gateway.clone()), ops_limits, gateway.clone())
                .run(stopped, drain),
        ));
    }
    shutdown_signal().await;
    let _ = stop.send(true);
    let mut result = Ok(());
    for listener in listeners {
        if let Err(e) = listener.await {
            result = Err(GatewayError::Serve(e.to_string()));
        }
    }
    background.abort();
    gateway.flush_last_used().await;
    tracing::info!("stopped");
    result
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), GatewayError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| GatewayError::Bind(addr, e.to_string()))?;
    let bound = listener
        .local_addr()
        .map_err(|e| GatewayError::Bind(addr, e.to_string()))?;
    Ok((listener, bound))
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
