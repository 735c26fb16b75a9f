//! A view's guest links made on the admin API: `POST /views/{view}/shares`
//! (SchemaStack's "Share with Guest"), `POST /views/{view}/embeds`
//! (TinyTables' embeds), the lists of a view's active links, and revoking
//! one ("disable public link" and "revoke access instantly" are the same
//! ledger revocation). The admin token may make any link; a member token
//! may when its user holds `share` on the view now, and only for
//! operations it holds there (asking for more is a 403 naming the
//! operation). A member's link records the member (`shared_by`) and stops
//! working when the member stops holding it (`authorize::share`).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};

use crate::api::shares::{expiry_and_label, made_by};
use crate::api::{
    EmbedBody, Missing, RevokedAnswer, ShareBody, ShareList, ShareRefusal, ShareRow, SharedLink,
};
use crate::authorize::member_operations;
use crate::change::{Actor, RevokeTarget};
use crate::model::{first_missing, EmbedMode, Grant, Id, Operation, Registry, Resource};

use super::super::error::ApiError;
use super::super::state::Gateway;
use super::common::{blocking, parse, Caller, Ids};
use super::openapi::ErrorBody;
use super::tokens::revoke;

/// The workspace of `view` when `caller` may make or see its links: the
/// admin token for any registered view; a member holding `share` on it now
/// (an unknown view is, for a member, a view it holds nothing on), and
/// every operation of `asked`.
fn check_caller(
    registry: &Registry,
    caller: &Caller,
    view: &Id,
    asked: &BTreeSet<Operation>,
) -> Result<Id, ApiError> {
    let workspace = registry.workspace_of(&Resource::view(view.clone()));
    let Some(user) = caller.user() else {
        return workspace.ok_or_else(|| ApiError::Missing(Missing::View(view.clone())));
    };
    let held = member_operations(registry, user, &Resource::view(view.clone()), Utc::now());
    let workspace = workspace
        .filter(|_| held.contains(&Operation::Share))
        .ok_or_else(|| ApiError::Share(ShareRefusal::NotSharer(view.clone())))?;
    match first_missing(asked, &held) {
        Some(operation) => Err(ApiError::Share(ShareRefusal::Exceeds {
            operation,
            view: view.clone(),
        })),
        None => Ok(workspace),
    }
}

/// What a link is made of, checked.
pub(super) struct LinkRequest {
    view: Id,
    operations: BTreeSet<Operation>,
    expires_at: Option<DateTime<Utc>>,
    label: Option<String>,
    embed: Option<EmbedMode>,
}

/// Issues the guest token of `link` for `caller` (recording the member
/// who made it) and answers it once, 201.
async fn make_link(
    gw: Gateway,
    actor: Actor,
    caller: Caller,
    link: LinkRequest,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let workspace = check_caller(&gw.registry(), &caller, &link.view, &link.operations)?;
    let mut grant = Grant::guest(workspace, link.view, &link.operations)
        .expires_at(link.expires_at)
        .label(link.label);
    grant.shared_by = caller.user().cloned();
    grant.embed = link.embed;
    let worker = gw.clone();
    let (token, entry) = blocking(move || worker.issue(&grant, &actor, now)).await?;
    let url = crate::link::share_link(
        &gw.share_base(),
        token.expose(),
        gw.config().max_token_bytes,
    )
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let answer = SharedLink {
        token: token.expose().to_owned(),
        token_id: entry.token_id,
        link: url,
        permissions: entry.rights.iter().map(|r| r.operation).collect(),
        expires_at: entry.expires_at,
        created_by: made_by(entry.shared_by.as_ref()),
        mode: entry.embed,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// A body that asks for a link of a view.
pub(super) trait LinkBody: serde::de::DeserializeOwned {
    /// The link it asks for on `view`, checked at `now`.
    fn link(self, view: Id, now: DateTime<Utc>) -> Result<LinkRequest, ApiError>;
}

impl LinkBody for ShareBody {
    /// `{preset?, allow?, expires?, label?}`: the operations asked (default read-only).
    fn link(self, view: Id, now: DateTime<Utc>) -> Result<LinkRequest, ApiError> {
        Ok(LinkRequest {
            operations: self.operations()?,
            expires_at: expiry_and_label(self.expires.as_deref(), self.label.as_deref(), now)?,
            view,
            label: self.label,
            embed: None,
        })
    }
}

impl LinkBody for EmbedBody {
    /// `{mode, expires?, label?}`: read only, in the mode asked.
    fn link(self, view: Id, now: DateTime<Utc>) -> Result<LinkRequest, ApiError> {
        Ok(LinkRequest {
            embed: Some(self.mode()?),
            expires_at: expiry_and_label(self.expires.as_deref(), self.label.as_deref(), now)?,
            view,
            operations: [Operation::Read].into(),
            label: self.label,
        })
    }
}

/// A link from `body` read as `B`, made for `view`.
async fn create<B: LinkBody>(
    gw: Gateway,
    actor: Actor,
    caller: Caller,
    view: Id,
    body: &[u8],
) -> Result<Response, ApiError> {
    let link = parse::<B>(body)?.link(view, Utc::now())?;
    make_link(gw, actor, caller, link).await
}

/// `POST /views/{view}/shares` ([`ShareBody`]): a guest link with the
/// operations asked (SchemaStack's "Share with Guest").
#[utoipa::path(post, path = "/admin/v1/views/{id}/shares", tag = "shares", params(("id" = Id, Path, description = "the view")), request_body = ShareBody, responses((status = 201, description = "the link, once, with its permissions and maker", body = SharedLink), (status = 400, description = "the body is not valid", body = ErrorBody), (status = 404, description = "no such view (admin token)", body = ErrorBody)))]
pub(super) async fn create_share(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids(view): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    create::<ShareBody>(gw, actor, caller, view, &body).await
}

/// `POST /views/{view}/embeds` ([`EmbedBody`]): a read-only link for a
/// page, in the mode asked (TinyTables' embeds).
#[utoipa::path(post, path = "/admin/v1/views/{id}/embeds", tag = "shares", params(("id" = Id, Path, description = "the view")), request_body = EmbedBody, responses((status = 201, description = "the embed link, once, with its mode", body = SharedLink), (status = 400, description = "the body is not valid", body = ErrorBody), (status = 404, description = "no such view (admin token)", body = ErrorBody)))]
pub(super) async fn create_embed(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids(view): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    create::<EmbedBody>(gw, actor, caller, view, &body).await
}

/// The active links of `view` (only embeds, with `embeds_only`).
async fn links(
    gw: Gateway,
    caller: Caller,
    view: Id,
    embeds_only: bool,
) -> Result<Json<ShareList>, ApiError> {
    check_caller(&gw.registry(), &caller, &view, &BTreeSet::new())?;
    let now = Utc::now();
    let worker = gw.clone();
    let ledger = blocking(move || Ok(worker.store().ledger()?)).await?;
    let mut shares: Vec<ShareRow> = ledger
        .iter()
        .filter_map(|e| ShareRow::of(e, &view, now))
        .filter(|row| !embeds_only || row.mode.is_some())
        .collect();
    shares.sort_by(|a, b| (a.created_at, &a.token_id).cmp(&(b.created_at, &b.token_id)));
    Ok(Json(ShareList { view, shares }))
}

/// `GET /views/{view}/shares`: the view's active guest links (shares and
/// embeds): label, who made it, permissions, expiry, last use, state.
#[utoipa::path(get, path = "/admin/v1/views/{id}/shares", tag = "shares", params(("id" = Id, Path, description = "the view")), responses((status = 200, description = "the view's active links", body = ShareList), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such view (admin token)", body = ErrorBody)))]
pub(super) async fn list_shares(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids(view): Ids<Id>,
) -> Result<Json<ShareList>, ApiError> {
    links(gw, caller, view, false).await
}

/// `GET /views/{view}/embeds`: the view's active embeds, with their mode.
#[utoipa::path(get, path = "/admin/v1/views/{id}/embeds", tag = "shares", params(("id" = Id, Path, description = "the view")), responses((status = 200, description = "the view's active embeds", body = ShareList), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such view (admin token)", body = ErrorBody)))]
pub(super) async fn list_embeds(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids(view): Ids<Id>,
) -> Result<Json<ShareList>, ApiError> {
    links(gw, caller, view, true).await
}

/// `DELETE /views/{view}/shares/{token_id}`: revokes one of the view's
/// links at once — "disable public link" and "revoke access instantly"
/// are this one ledger revocation.
#[utoipa::path(delete, path = "/admin/v1/views/{id}/shares/{token_id}", tag = "shares", params(("id" = Id, Path, description = "the view"), ("token_id" = String, Path, description = "the link's ledger token")), responses((status = 200, description = "what was revoked", body = RevokedAnswer), (status = 400, description = "an id is not valid", body = ErrorBody), (status = 404, description = "no such token or view", body = ErrorBody)))]
pub(super) async fn revoke_share(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids((view, token_id)): Ids<(Id, String)>,
) -> Result<Json<RevokedAnswer>, ApiError> {
    revoke_link(gw, actor, caller, view, token_id).await
}

/// `DELETE /views/{view}/embeds/{token_id}`: the same revocation, for an
/// embed link.
#[utoipa::path(delete, path = "/admin/v1/views/{id}/embeds/{token_id}", tag = "shares", params(("id" = Id, Path, description = "the view"), ("token_id" = String, Path, description = "the embed's ledger token")), responses((status = 200, description = "what was revoked", body = RevokedAnswer), (status = 400, description = "an id is not valid", body = ErrorBody), (status = 404, description = "no such token or view", body = ErrorBody)))]
pub(super) async fn revoke_embed(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids((view, token_id)): Ids<(Id, String)>,
) -> Result<Json<RevokedAnswer>, ApiError> {
    revoke_link(gw, actor, caller, view, token_id).await
}

/// Revokes `token_id` when it is a guest link of `view` the caller may see.
async fn revoke_link(
    gw: Gateway,
    actor: Actor,
    caller: Caller,
    view: Id,
    token_id: String,
) -> Result<Json<RevokedAnswer>, ApiError> {
    check_caller(&gw.registry(), &caller, &view, &BTreeSet::new())?;
    let worker = gw.clone();
    let wanted = token_id.clone();
    let entry = blocking(move || Ok(worker.store().ledger_entry(&wanted)?)).await?;
    let entry = entry.ok_or_else(|| ApiError::Missing(Missing::Token(token_id.clone())))?;
    if entry.kind != crate::model::TokenKind::Guest || !entry.is_for_view(&view) {
        return Err(ApiError::Share(ShareRefusal::NotThisView {
            token: token_id,
            view,
        }));
    }
    let reason = Some(format!("link of view {view} disabled"));
    revoke(&gw, actor, RevokeTarget::TokenId(token_id), reason).await
}
