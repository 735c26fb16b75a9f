//! The admin API's token routes: issue and list tokens, revoke (a ledger
//! token, a revocation id, a view's tokens), the audit log, and the
//! gateway's decision for any request (`POST /decisions`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;

use crate::api::{
    AuditEvent, AuditLog, DecisionBody, Invalid, IssueBody, IssuedToken, Operations, ReasonBody,
    RevocationBody, RevokedAnswer, TokenFilter, TokenList, TokenRow,
};
use crate::change::{Actor, RevokeTarget};
use crate::model::{parse_expiry, Id, IssueRequest, Operation, TokenKind};

use super::super::error::ApiError;
use super::super::state::Gateway;
use super::common::{blocking, commit, parse, parse_optional, Ids};
use super::openapi::ErrorBody;

/// What `POST /tokens` asks for, as the CLI would ask it.
fn issue_request(body: IssueBody, now: chrono::DateTime<Utc>) -> Result<IssueRequest, Invalid> {
    let allow = match body.allow {
        None => None,
        Some(Operations::List(ops)) => Some(ops),
        Some(Operations::Text(s)) => Some(Operation::parse_list(&s)?),
    };
    Ok(IssueRequest {
        kind: body.kind,
        user: body.user,
        workspace: body.workspace,
        view: body.view,
        table: body.table,
        allow,
        read_only: body.read_only,
        expires_at: body
            .expires
            .as_deref()
            .map(|s| parse_expiry(s, now))
            .transpose()?,
        label: body.label,
    })
}

/// `POST /tokens`: issues a guest token or API key (same validation as the
/// CLI). The token is in this answer once and never again.
#[utoipa::path(post, path = "/admin/v1/tokens", tag = "tokens", request_body = crate::api::IssueBody, responses((status = 201, description = "the token, once, with its ledger row", body = crate::api::IssuedToken), (status = 400, description = "the request is not valid", body = ErrorBody), (status = 409, description = "this gateway holds no private key", body = ErrorBody)))]
pub(super) async fn issue(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let request = issue_request(parse(&body)?, now)?;
    let grant = request.grant(&gw.registry()).map_err(Invalid::from)?;
    let worker = gw.clone();
    let (token, entry) = blocking(move || worker.issue(&grant, &actor, now)).await?;
    let share_link = match entry.kind {
        TokenKind::Guest => Some(
            crate::link::share_link(
                &gw.share_base(),
                token.expose(),
                gw.config().max_token_bytes,
            )
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        _ => None,
    };
    let answer = IssuedToken {
        row: TokenRow::new(entry, now),
        token: token.expose().to_owned(),
        share_link,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /tokens?workspace=&view=&kind=&state=`: the ledger.
#[utoipa::path(get, path = "/admin/v1/tokens", tag = "tokens", params(("workspace" = Option<Id>, Query, description = "bound to this workspace"), ("view" = Option<Id>, Query, description = "with rights on this view"), ("kind" = Option<crate::model::TokenKind>, Query, description = "of this kind"), ("state" = Option<crate::model::TokenState>, Query, description = "in this state")), responses((status = 200, description = "the ledger rows", body = crate::api::TokenList), (status = 400, description = "the query is not valid", body = ErrorBody)))]
pub(super) async fn list_tokens(
    State(gw): State<Gateway>,
    filter: Result<Query<TokenFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TokenList>, ApiError> {
    let Query(filter) = filter.map_err(|e| Invalid::Query(e.body_text()))?;
    let now = Utc::now();
    let worker = gw.clone();
    let ledger = blocking(move || Ok(worker.store().ledger()?)).await?;
    let tokens = ledger
        .into_iter()
        .map(|e| TokenRow::new(e, now))
        .filter(|row| filter.matches(row))
        .collect();
    Ok(Json(TokenList { tokens }))
}

/// Commits a revocation, applies it to the in-memory set (the very next
/// request sees it), and answers what was revoked.
pub(super) async fn revoke(
    gw: &Gateway,
    actor: Actor,
    target: RevokeTarget,
    reason: Option<String>,
) -> Result<Json<RevokedAnswer>, ApiError> {
    let applied = commit(gw, move |store| {
        store.revoke_target(&target, reason.as_deref(), &actor, Utc::now())
    })
    .await?;
    Ok(Json(applied.revoked().into()))
}

/// The reason of a body that may be empty.
fn optional_reason(body: &[u8]) -> Result<Option<String>, ApiError> {
    Ok(parse_optional::<ReasonBody>(body)?.reason)
}

/// `DELETE /tokens/{token_id}`: revokes a ledger token and every copy attenuated from it.
#[utoipa::path(delete, path = "/admin/v1/tokens/{token_id}", tag = "tokens", params(("token_id" = String, Path, description = "the ledger token")), request_body(content = Option<crate::api::ReasonBody>, description = "why (the body may be empty)"), responses((status = 200, description = "what was revoked", body = crate::api::RevokedAnswer), (status = 400, description = "the body is not valid", body = ErrorBody), (status = 404, description = "no such token", body = ErrorBody)))]
pub(super) async fn revoke_token(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Ids(token_id): Ids<String>,
    body: axum::body::Bytes,
) -> Result<Json<RevokedAnswer>, ApiError> {
    let reason = optional_reason(&body)?;
    revoke(&gw, actor, RevokeTarget::TokenId(token_id), reason).await
}

/// `POST /revocations`: revokes one revocation id (hex, as `inspect` shows it).
#[utoipa::path(post, path = "/admin/v1/revocations", tag = "tokens", request_body = crate::api::RevocationBody, responses((status = 200, description = "what was revoked", body = crate::api::RevokedAnswer), (status = 400, description = "the body is not valid", body = ErrorBody)))]
pub(super) async fn revoke_ids(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    body: axum::body::Bytes,
) -> Result<Json<RevokedAnswer>, ApiError> {
    let body: RevocationBody = parse(&body)?;
    let id = hex::decode(body.revocation_id.trim())
        .ok()
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .ok_or(Invalid::RevocationId)?;
    revoke(
        &gw,
        actor,
        RevokeTarget::RevocationIds(vec![id]),
        body.reason,
    )
    .await
}

/// `DELETE /views/{id}/tokens`: revokes every token issued for the view.
#[utoipa::path(delete, path = "/admin/v1/views/{id}/tokens", tag = "tokens", params(("id" = Id, Path, description = "the view")), request_body(content = Option<crate::api::ReasonBody>, description = "why (the body may be empty)"), responses((status = 200, description = "what was revoked", body = crate::api::RevokedAnswer), (status = 400, description = "the body or id is not valid", body = ErrorBody)))]
pub(super) async fn revoke_view(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Ids(id): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Json<RevokedAnswer>, ApiError> {
    let reason = optional_reason(&body)?;
    revoke(&gw, actor, RevokeTarget::View(id), reason).await
}

/// `GET /audit`: the audit log, oldest first, each change with its sentence.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "tokens", responses((status = 200, description = "the audit log, oldest first", body = crate::api::AuditLog)))]
pub(super) async fn audit(State(gw): State<Gateway>) -> Result<Json<AuditLog>, ApiError> {
    let worker = gw.clone();
    let records = blocking(move || Ok(worker.store().audit()?)).await?;
    let events = records.into_iter().map(AuditEvent::from).collect();
    Ok(Json(AuditLog { events }))
}

/// `POST /decisions` `{token, operation, resource: {kind, id}, at, explain}`:
/// the gateway's decision for any request, as `tessera check --server` shows it.
#[utoipa::path(post, path = "/admin/v1/decisions", tag = "tokens", request_body = crate::api::DecisionBody, responses((status = 200, description = "the decision", body = crate::authorize::Decision), (status = 400, description = "the body is not valid", body = ErrorBody)))]
pub(super) async fn decide(
    State(gw): State<Gateway>,
    body: axum::body::Bytes,
) -> Result<Json<crate::authorize::Decision>, ApiError> {
    let body: DecisionBody = parse(&body)?;
    let request = crate::authorize::Request {
        operation: body.operation,
        resource: body.resource,
    };
    Ok(Json(
        gw.decider()
            .check(
                body.token.as_deref(),
                &request,
                body.at.unwrap_or_else(Utc::now),
                body.explain,
            )
            .await,
    ))
}
