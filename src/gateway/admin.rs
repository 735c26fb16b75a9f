//! The admin API (`/admin/v1`, JSON, admin tokens only): issue and list
//! tokens, revoke, register workspaces, tables and views and change view
//! settings, read the audit log. Bodies are the typed [`crate::api`] ones.
//! Every change is committed to redb before the answer and applied to the
//! in-memory state ([`Gateway::commit`]), so the very next request sees it;
//! the audit log records it with the admin token's id as the actor.

use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use serde::de::DeserializeOwned;

use crate::api::{
    AuditEvent, AuditLog, DecisionBody, Invalid, IssueBody, IssuedToken, Missing, Operations,
    ReasonBody, RevocationBody, RevokedAnswer, TableBody, TableInfo, TokenFilter, TokenList,
    TokenRow, ViewBody, ViewInfo, WorkspaceInfo,
};
use crate::change::{self, Actor, Change, RevokeTarget};
use crate::model::{parse_expiry, Id, IssueRequest, Operation, TokenKind};

use super::error::ApiError;
use super::front::credential;
use super::state::Gateway;

/// The admin routes, behind the admin-token guard.
pub fn router(gateway: Gateway) -> Router<Gateway> {
    Router::new()
        .route("/tokens", post(issue).get(list_tokens))
        .route("/tokens/{token_id}", delete(revoke_token))
        .route("/revocations", post(revoke_ids))
        .route("/views/{id}/tokens", delete(revoke_view))
        .route("/workspaces/{id}", get(get_workspace).put(put_workspace))
        .route("/tables/{id}", get(get_table).put(put_table))
        .route("/views/{id}", get(get_view).put(put_view))
        .route("/audit", get(audit))
        .route("/decisions", post(decide))
        .layer(axum::middleware::from_fn_with_state(gateway, guard))
}

/// Only an admin token passes: `read` for GET, `manage` for changes. The
/// token's id becomes the [`Actor`] of the changes the request makes.
async fn guard(State(gw): State<Gateway>, mut request: Request, next: Next) -> Response {
    let operation = if request.method() == Method::GET || request.method() == Method::HEAD {
        Operation::Read
    } else {
        Operation::Manage
    };
    match gw
        .decider()
        .authorize_admin(
            credential(request.headers()).as_deref(),
            operation,
            Utc::now(),
        )
        .await
    {
        Ok(token) => {
            let actor = token
                .claims()
                .token_id
                .as_deref()
                .and_then(|id| Id::new(id).ok())
                .map_or(Actor::Unknown, Actor::Token);
            request.extensions_mut().insert(actor);
            next.run(request).await
        }
        Err(reason) => ApiError::Denied(reason).into_response(),
    }
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("worker: {e}")))?
}

/// Commits a change off the async workers and applies it to memory.
async fn commit(
    gw: &Gateway,
    f: impl FnOnce(&crate::store::Store) -> Result<change::Applied, crate::store::StoreError>
        + Send
        + 'static,
) -> Result<change::Applied, ApiError> {
    let worker = gw.clone();
    blocking(move || worker.commit(f)).await
}

/// A JSON body of type `T`.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(Invalid::Body(e)))
}

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
async fn issue(
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
async fn list_tokens(
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
async fn revoke(
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
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(parse::<ReasonBody>(body)?.reason)
}

/// `DELETE /tokens/{token_id}`: revokes a ledger token and every copy attenuated from it.
async fn revoke_token(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Path(token_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<RevokedAnswer>, ApiError> {
    let reason = optional_reason(&body)?;
    revoke(&gw, actor, RevokeTarget::TokenId(token_id), reason).await
}

/// `POST /revocations`: revokes one revocation id (hex, as `inspect` shows it).
async fn revoke_ids(
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
async fn revoke_view(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Id>,
    body: axum::body::Bytes,
) -> Result<Json<RevokedAnswer>, ApiError> {
    let reason = optional_reason(&body)?;
    revoke(&gw, actor, RevokeTarget::View(id), reason).await
}

/// `GET /workspaces/{id}`: the workspace and its tables.
async fn get_workspace(
    State(gw): State<Gateway>,
    Path(id): Path<Id>,
) -> Result<Json<WorkspaceInfo>, ApiError> {
    let registry = gw.registry();
    if !registry.workspaces.contains(&id) {
        return Err(ApiError::Missing(Missing::Workspace(id)));
    }
    let tables = registry
        .tables
        .iter()
        .filter(|(_, ws)| **ws == id)
        .map(|(t, _)| t.clone())
        .collect();
    Ok(Json(WorkspaceInfo { id, tables }))
}

/// `PUT /workspaces/{id}`: registers a workspace.
async fn put_workspace(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Id>,
) -> Result<Json<WorkspaceInfo>, ApiError> {
    let change = Change::PutWorkspace {
        workspace: id.clone(),
    };
    commit(&gw, move |store| store.apply(&change, &actor, Utc::now())).await?;
    get_workspace(State(gw), Path(id)).await
}

/// `GET /tables/{id}`: the table, its workspace and its views.
async fn get_table(
    State(gw): State<Gateway>,
    Path(id): Path<Id>,
) -> Result<Json<TableInfo>, ApiError> {
    let registry = gw.registry();
    let workspace = registry
        .tables
        .get(&id)
        .ok_or_else(|| ApiError::Missing(Missing::Table(id.clone())))?
        .clone();
    let views = registry
        .views
        .iter()
        .filter(|(_, v)| v.table == id)
        .map(|(v, _)| v.clone())
        .collect();
    Ok(Json(TableInfo {
        id,
        workspace,
        views,
    }))
}

/// `PUT /tables/{id}` `{workspace}`: registers a table in a workspace.
async fn put_table(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Id>,
    body: axum::body::Bytes,
) -> Result<Json<TableInfo>, ApiError> {
    let body: TableBody = parse(&body)?;
    let changes = change::plan_table(&id, &body.workspace);
    commit(&gw, move |store| {
        store.apply_all(&changes, &actor, Utc::now())
    })
    .await?;
    get_table(State(gw), Path(id)).await
}

/// `GET /views/{id}`: the view, its table, workspace and settings.
async fn get_view(
    State(gw): State<Gateway>,
    Path(id): Path<Id>,
) -> Result<Json<ViewInfo>, ApiError> {
    let registry = gw.registry();
    let view = registry
        .views
        .get(&id)
        .ok_or_else(|| ApiError::Missing(Missing::View(id.clone())))?;
    Ok(Json(ViewInfo {
        table: view.table.clone(),
        workspace: registry.tables.get(&view.table).cloned(),
        settings: view.settings,
        id,
    }))
}

/// `PUT /views/{id}`: registers a view (`table` and `workspace`) and/or
/// changes its settings, given flat or under `settings`.
async fn put_view(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Id>,
    body: axum::body::Bytes,
) -> Result<Json<ViewInfo>, ApiError> {
    let body: ViewBody = parse(&body)?;
    let placement = body.placement()?;
    let changes = body.changes();
    let view = id.clone();
    commit(&gw, move |store| {
        let changes: Vec<(&str, bool)> = changes.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let placement = placement.as_ref().map(|(t, w)| (t, w));
        store.update_view(&view, placement, &changes, &actor, Utc::now())
    })
    .await?;
    get_view(State(gw), Path(id)).await
}

/// `GET /audit`: the audit log, oldest first, each change with its sentence.
async fn audit(State(gw): State<Gateway>) -> Result<Json<AuditLog>, ApiError> {
    let worker = gw.clone();
    let records = blocking(move || Ok(worker.store().audit()?)).await?;
    let events = records.into_iter().map(AuditEvent::from).collect();
    Ok(Json(AuditLog { events }))
}

/// `POST /decisions` `{token, operation, resource: {kind, id}, at, explain}`:
/// the gateway's decision for any request, as `tessera check --server` shows it.
async fn decide(
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
