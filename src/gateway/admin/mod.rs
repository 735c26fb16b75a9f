//! The admin API (`/admin/v1`, JSON): issue and list tokens, revoke,
//! register workspaces, tables and views and change view settings, read
//! the audit log, and manage members (users, a workspace's members and
//! groups, a table's access, member tokens). Bodies are the typed
//! [`crate::api`] ones. Every change is committed to redb before the
//! answer and applied to the in-memory state ([`Gateway::commit`]), so the
//! very next request sees it; the audit log records it with the calling
//! token's id as the actor.
//!
//! Admin tokens reach every route. A member token reaches only the
//! management routes ([`crate::authorize::MEMBER_ROUTES`]) and there only
//! makes the changes its user may make (`model::access::manage`).

mod access;
mod attenuations;
pub(crate) mod common;
pub mod openapi;
mod people;
mod projects;
mod registry;
mod shares;
mod tokens;
mod workspace_lists;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use chrono::Utc;

use crate::authorize::{self, Policy, Reason, MEMBER_ADMIN_POLICY};
use crate::change::Actor;
use crate::model::{Id, Operation, TokenKind};

use super::error::ApiError;
use super::front::credential;
use super::state::Gateway;
use common::{blocking, Caller};

/// The admin routes, behind the guard.
pub fn router(gateway: Gateway) -> Router<Gateway> {
    Router::new()
        .route("/tokens", post(tokens::issue).get(tokens::list_tokens))
        .route("/tokens/{token_id}", delete(tokens::revoke_token))
        .route("/revocations", post(tokens::revoke_ids))
        .route("/views/{id}/tokens", delete(tokens::revoke_view))
        .route(
            "/views/{id}/shares",
            post(shares::create_share).get(shares::list_shares),
        )
        .route(
            "/views/{id}/embeds",
            post(shares::create_embed).get(shares::list_embeds),
        )
        .route(
            "/views/{id}/shares/{token_id}",
            delete(shares::revoke_share),
        )
        .route(
            "/views/{id}/embeds/{token_id}",
            delete(shares::revoke_embed),
        )
        .route(
            "/workspaces/{id}",
            get(registry::get_workspace).put(registry::put_workspace),
        )
        .route(
            "/tables/{id}",
            get(registry::get_table).put(registry::put_table),
        )
        .route(
            "/views/{id}",
            get(registry::get_view).put(registry::put_view),
        )
        .route("/audit", get(tokens::audit))
        .route("/decisions", post(tokens::decide))
        .route(
            "/users/{user}",
            get(people::get_user)
                .put(people::put_user)
                .delete(people::remove_user),
        )
        .route("/members/{user}/tokens", post(people::issue_member))
        .route("/members", post(projects::invite))
        .route("/members/{user}/projects", put(projects::put_projects))
        .route("/workspaces/{ws}/members", get(people::list_members))
        .route(
            "/workspaces/{ws}/members/{user}",
            get(people::get_member)
                .put(people::put_member)
                .delete(people::remove_member),
        )
        .route("/workspaces/{ws}/groups", get(people::list_groups))
        .route(
            "/workspaces/{ws}/shares",
            get(workspace_lists::list_workspace_shares),
        )
        .route(
            "/workspaces/{ws}/audit",
            get(workspace_lists::workspace_audit),
        )
        .route(
            "/workspaces/{ws}/groups/{group}",
            get(people::get_group)
                .put(people::put_group)
                .delete(people::remove_group),
        )
        .route(
            "/tables/{id}/access",
            get(access::get_access).put(access::put_access),
        )
        .route(
            "/tables/{id}/permissions",
            get(access::get_permissions).put(access::put_permissions),
        )
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/attenuations", post(attenuations::attenuate))
        .route("/fleet", get(crate::fleet::admin::status))
        .route(
            "/fleet/snapshot",
            post(crate::fleet::snapshot::snapshot_now),
        )
        .layer(axum::middleware::from_fn(crate::fleet::revision::annotate))
        .layer(axum::middleware::from_fn_with_state(gateway, guard))
}

/// An admin token passes everywhere: `read` for GET, `manage` for
/// changes. On the management routes a member token passes too (its own
/// checks applied the same way), as [`Caller::Member`]; elsewhere it is
/// refused as any other non-admin token is (`wrong_kind`). The token's id
/// becomes the [`Actor`] of the changes the request makes.
async fn guard(State(gw): State<Gateway>, mut request: Request, next: Next) -> Response {
    let operation = if request.method() == Method::GET || request.method() == Method::HEAD {
        Operation::Read
    } else {
        Operation::Manage
    };
    let credential = credential(request.headers());
    let member_route = authorize::member_may_call(request.method().as_str(), request.uri().path());
    match admit(&gw, credential, operation, member_route, Utc::now()).await {
        Ok((token, caller)) => {
            let actor = token
                .claims()
                .token_id
                .as_deref()
                .and_then(|id| Id::new(id).ok())
                .map_or(Actor::Unknown, Actor::Token);
            request.extensions_mut().insert(actor);
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(reason) => ApiError::Denied(reason).into_response(),
    }
}

/// The guard's decision on `credential` for `operation`: an admin token
/// as [`Caller::Admin`]; where `member_route`, a member token as
/// [`Caller::Member`]. The web console's session is decided by this same
/// function.
pub(crate) async fn admit(
    gw: &Gateway,
    credential: Option<String>,
    operation: Operation,
    member_route: bool,
    now: chrono::DateTime<Utc>,
) -> Result<(std::sync::Arc<crate::token::VerifiedToken>, Caller), Reason> {
    match gw
        .decider()
        .authorize_admin(credential.as_deref(), operation, now)
        .await
    {
        Ok(token) => Ok((token, Caller::Admin)),
        Err(reason) if reason.is_credential_problem() => Err(reason),
        Err(reason) => match credential {
            Some(text) if member_route => admit_member(gw, text, operation, now, reason).await,
            _ => Err(reason),
        },
    }
}

/// A member token on a management route: verified, unrevoked, within its
/// own checks, naming a user. Any other token keeps the admin decision's
/// `reason`.
async fn admit_member(
    gw: &Gateway,
    text: String,
    operation: Operation,
    now: chrono::DateTime<Utc>,
    reason: Reason,
) -> Result<(std::sync::Arc<crate::token::VerifiedToken>, Caller), Reason> {
    let token = gw.verify_token(&text).await.map_err(|_| reason)?;
    let claims = token.claims();
    let is_member = claims.kind.as_deref() == Some(TokenKind::Member.as_str());
    let Some(user) = claims.user.as_deref().and_then(|u| Id::new(u).ok()) else {
        return Err(reason);
    };
    if !is_member {
        return Err(reason);
    }
    let worker = gw.clone();
    let checked = token.clone();
    let decision = blocking(move || {
        let policy = Policy::from_source(MEMBER_ADMIN_POLICY, worker.config().run_limits())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let (revocations, _) = worker.memory();
        let revocations = revocations
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(authorize::authorize_member_admin(
            &policy,
            &revocations,
            &checked,
            operation,
            now,
        ))
    })
    .await
    .map_err(|_| reason)?;
    match decision.reason {
        None => Ok((token, Caller::Member(user))),
        Some(denied) => Err(denied),
    }
}
