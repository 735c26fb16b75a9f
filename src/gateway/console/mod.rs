//! The web console (`/console`): server-rendered pages for the operators
//! and workspace admins who do not script. Sign in with an admin token (or
//! a workspace owner's or admin's member token), browse workspaces, tables
//! and views, change a view's settings and visibility and a table's
//! access, share a view with a guest, list and revoke shares, read the
//! audit log (a workspace's, for its owners and admins).
//!
//! The console is a client of the admin API like any other: every change
//! (and every read but the workspace list) is an admin API request made
//! in-process ([`client`]) with the signed-in token, through the admin
//! API's own guard and handlers. It adds no second path to change state.
//! The token lives only in an HttpOnly, Secure, SameSite=Strict cookie
//! scoped to `/console` ([`session`]); every form carries a CSRF token
//! ([`csrf`]); every page is sent with a strict Content-Security-Policy,
//! `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer` ([`render`]).

mod access;
mod audit;
mod client;
mod csrf;
mod csrf_key;
mod render;
mod session;
mod share_list;
mod shares;
mod views;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::Router;

use super::state::Gateway;

/// What the console's handlers share: the gateway (for its configuration
/// and registry) and the admin API's router, built once, called in-process.
#[derive(Clone)]
pub(crate) struct Console {
    gw: Gateway,
    admin: Router,
    csrf_key: csrf::CsrfKey,
}

impl FromRef<Console> for Gateway {
    fn from_ref(console: &Console) -> Gateway {
        console.gw.clone()
    }
}

/// The console's routes, under `/console`, with their security headers.
pub(super) fn router<S>(gateway: Gateway) -> Router<S> {
    let console = Console {
        admin: super::admin::router(gateway.clone()).with_state(gateway.clone()),
        csrf_key: csrf::CsrfKey::of_data_dir(gateway.data_dir()),
        gw: gateway,
    };
    Router::new()
        .route("/console", get(views::home))
        .route("/console/sign-in", post(session::sign_in))
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/workspaces/{ws}", get(views::workspace))
        .route("/console/views/{view}", get(views::view))
        .route("/console/views/{view}/settings", post(views::toggle))
        .route("/console/views/{view}/shares", post(shares::create))
        .route(
            "/console/views/{view}/visibility",
            post(access::set_visibility),
        )
        .route("/console/tables/{table}/access", post(access::set_access))
        .route(
            "/console/views/{view}/revoke-all",
            get(shares::confirm_revoke_all).post(shares::revoke_all),
        )
        .route(
            "/console/shares/{token_id}/revoke",
            get(shares::confirm_revoke).post(shares::revoke),
        )
        .route("/console/audit", get(audit::audit))
        .route("/console/assets/{file}", get(render::asset))
        .route(
            "/console/{*rest}",
            get(render::not_found).post(render::not_found),
        )
        .layer(axum::middleware::from_fn(render::security_headers))
        .with_state(console)
}
