//! The admin API (`/admin/v1`, JSON, admin tokens only): issue and list
//! tokens, revoke, register workspaces, tables and views and change view
//! settings, read the audit log. Every change is committed to redb before
//! the answer and applied to the in-memory state, so the very next request
//! sees it.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::{parse_expiry, Id, IssueRequest, LedgerEntry, Operation, TokenKind, TokenState};
use crate::store::Revoked;

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

/// Only an admin token passes: `read` for GET, `manage` for changes.
async fn guard(State(gw): State<Gateway>, request: Request, next: Next) -> Response {
    let operation = if request.method() == Method::GET || request.method() == Method::HEAD {
        Operation::Read
    } else {
        Operation::Manage
    };
    match gw
        .authorize_admin(
            credential(request.headers()).as_deref(),
            operation,
            Utc::now(),
        )
        .await
    {
        Ok(_) => next.run(request).await,
        Err(e) => e.into_response(),
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

fn bad_json(e: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("invalid request body: {e}"))
}

/// Operations as a JSON array or a comma-separated string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Operations {
    List(BTreeSet<Operation>),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    kind: TokenKind,
    workspace: Option<Id>,
    view: Option<Id>,
    table: Option<Id>,
    allow: Option<Operations>,
    #[serde(default)]
    read_only: bool,
    expires: Option<String>,
    label: Option<String>,
}

/// `POST /tokens`: issues a guest token or API key (same validation as the
/// CLI). The token is in this answer once and never again.
async fn issue(State(gw): State<Gateway>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let body: IssueBody = serde_json::from_slice(&body).map_err(bad_json)?;
    let now = Utc::now();
    let allow = match body.allow {
        None => None,
        Some(Operations::List(ops)) => Some(ops),
        Some(Operations::Text(s)) => {
            Some(Operation::parse_list(&s).map_err(|e| ApiError::BadRequest(e.to_string()))?)
        }
    };
    let request = IssueRequest {
        kind: body.kind,
        workspace: body.workspace,
        view: body.view,
        table: body.table,
        allow,
        read_only: body.read_only,
        expires_at: body
            .expires
            .as_deref()
            .map(|s| parse_expiry(s, now))
            .transpose()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        label: body.label,
    };
    let grant = request
        .grant(&gw.registry())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let worker = gw.clone();
    let (token, entry) = blocking(move || worker.issue(&grant, now)).await?;
    let mut out = ledger_json(&entry, now);
    out["token"] = json!(token.expose());
    if entry.kind == TokenKind::Guest {
        let link = crate::link::share_link(
            &gw.share_base(),
            token.expose(),
            gw.config().max_token_bytes,
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        out["share_link"] = json!(link);
    }
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

fn ledger_json(entry: &LedgerEntry, now: chrono::DateTime<Utc>) -> Value {
    let mut v = serde_json::to_value(entry).unwrap_or_default();
    v["state"] = json!(entry.state(now));
    v
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFilter {
    workspace: Option<Id>,
    view: Option<Id>,
    kind: Option<TokenKind>,
    state: Option<TokenState>,
}

/// `GET /tokens?workspace=&view=&kind=&state=`: the ledger.
async fn list_tokens(
    State(gw): State<Gateway>,
    filter: Result<Query<TokenFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let now = Utc::now();
    let worker = gw.clone();
    let ledger = blocking(move || Ok(worker.store().ledger()?)).await?;
    let rows: Vec<Value> = ledger
        .iter()
        .filter(|e| filter.workspace.is_none() || e.workspace == filter.workspace)
        .filter(|e| filter.view.as_ref().is_none_or(|v| e.is_for_view(v)))
        .filter(|e| filter.kind.is_none_or(|k| e.kind == k))
        .filter(|e| filter.state.is_none_or(|s| e.state(now) == s))
        .map(|e| ledger_json(e, now))
        .collect();
    Ok(Json(json!({ "tokens": rows })))
}

/// Commits a revocation, applies it to the in-memory set (the very next
/// request sees it), and answers what was revoked.
async fn revoke(
    gw: &Gateway,
    change: impl FnOnce(&crate::store::Store) -> Result<Revoked, crate::store::StoreError>
        + Send
        + 'static,
) -> Result<Json<Value>, ApiError> {
    let worker = gw.clone();
    let r = blocking(move || {
        let r = change(worker.store())?;
        worker.apply_revoked(&r);
        Ok(r)
    })
    .await?;
    Ok(Json(
        json!({ "revoked_ids": r.revocation_ids, "token_ids": r.token_ids }),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

fn optional_reason(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let b: ReasonBody = serde_json::from_slice(body).map_err(bad_json)?;
    Ok(b.reason)
}

/// `DELETE /tokens/{token_id}`: revokes a ledger token and every copy attenuated from it.
async fn revoke_token(
    State(gw): State<Gateway>,
    Path(token_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let reason = optional_reason(&body)?;
    revoke(&gw, move |store| {
        store.revoke_token_id(&token_id, reason.as_deref(), Utc::now())
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevocationBody {
    revocation_id: String,
    reason: Option<String>,
}

/// `POST /revocations`: revokes one revocation id (hex, as `inspect` shows it).
async fn revoke_ids(
    State(gw): State<Gateway>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: RevocationBody = serde_json::from_slice(&body).map_err(bad_json)?;
    let id = hex::decode(body.revocation_id.trim())
        .ok()
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .ok_or_else(|| ApiError::BadRequest("revocation_id must be hex".into()))?;
    revoke(&gw, move |store| {
        store.revoke(&[id], body.reason.as_deref(), Utc::now())
    })
    .await
}

/// `DELETE /views/{id}/tokens`: revokes every token issued for the view.
async fn revoke_view(
    State(gw): State<Gateway>,
    Path(id): Path<Id>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let reason = optional_reason(&body)?;
    revoke(&gw, move |store| {
        store.revoke_view(&id, reason.as_deref(), Utc::now())
    })
    .await
}

fn not_registered(kind: &str, id: &Id) -> ApiError {
    ApiError::NotFound(format!("{kind} {id} is not registered"))
}

/// `GET /workspaces/{id}`: the workspace and its tables.
async fn get_workspace(
    State(gw): State<Gateway>,
    Path(id): Path<Id>,
) -> Result<Json<Value>, ApiError> {
    let registry = gw.registry();
    if !registry.workspaces.contains(&id) {
        return Err(not_registered("workspace", &id));
    }
    let tables: Vec<&Id> = registry
        .tables
        .iter()
        .filter(|(_, ws)| **ws == id)
        .map(|(t, _)| t)
        .collect();
    Ok(Json(json!({ "id": id, "tables": tables })))
}

/// `PUT /workspaces/{id}`: registers a workspace.
async fn put_workspace(
    State(gw): State<Gateway>,
    Path(id): Path<Id>,
) -> Result<Json<Value>, ApiError> {
    let worker = gw.clone();
    let ws = id.clone();
    blocking(move || {
        worker.store().set_workspace(&ws, Utc::now())?;
        worker.reload_registry()
    })
    .await?;
    get_workspace(State(gw), Path(id)).await
}

/// `GET /tables/{id}`: the table, its workspace and its views.
async fn get_table(State(gw): State<Gateway>, Path(id): Path<Id>) -> Result<Json<Value>, ApiError> {
    let registry = gw.registry();
    let workspace = registry
        .tables
        .get(&id)
        .ok_or_else(|| not_registered("table", &id))?;
    let views: Vec<&Id> = registry
        .views
        .iter()
        .filter(|(_, v)| v.table == id)
        .map(|(v, _)| v)
        .collect();
    Ok(Json(
        json!({ "id": id, "workspace": workspace, "views": views }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableBody {
    workspace: Id,
}

/// `PUT /tables/{id}` `{workspace}`: registers a table in a workspace.
async fn put_table(
    State(gw): State<Gateway>,
    Path(id): Path<Id>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: TableBody = serde_json::from_slice(&body).map_err(bad_json)?;
    let worker = gw.clone();
    let table = id.clone();
    blocking(move || {
        worker
            .store()
            .set_table(&table, &body.workspace, Utc::now())?;
        worker.reload_registry()
    })
    .await?;
    get_table(State(gw), Path(id)).await
}

/// `GET /views/{id}`: the view, its table, workspace and settings.
async fn get_view(State(gw): State<Gateway>, Path(id): Path<Id>) -> Result<Json<Value>, ApiError> {
    let registry = gw.registry();
    let view = registry
        .views
        .get(&id)
        .ok_or_else(|| not_registered("view", &id))?;
    Ok(Json(json!({
        "id": id,
        "table": view.table,
        "workspace": registry.tables.get(&view.table),
        "settings": view.settings,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewBody {
    table: Option<Id>,
    workspace: Option<Id>,
    editable: Option<bool>,
    addable: Option<bool>,
    exportable: Option<bool>,
    public: Option<bool>,
    locked: Option<bool>,
    settings: Option<std::collections::BTreeMap<String, bool>>,
}

/// `PUT /views/{id}`: registers a view (`table` and `workspace`) and/or
/// changes its settings, given flat or under `settings`.
async fn put_view(
    State(gw): State<Gateway>,
    Path(id): Path<Id>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: ViewBody = serde_json::from_slice(&body).map_err(bad_json)?;
    let placement = match (body.table, body.workspace) {
        (Some(t), Some(w)) => Some((t, w)),
        (None, None) => None,
        _ => {
            return Err(ApiError::BadRequest(
                "give both table and workspace to place a view".into(),
            ))
        }
    };
    let mut changes: Vec<(String, bool)> = [
        ("editable", body.editable),
        ("addable", body.addable),
        ("exportable", body.exportable),
        ("public", body.public),
        ("locked", body.locked),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.map(|v| (n.to_owned(), v)))
    .collect();
    changes.extend(body.settings.unwrap_or_default());
    for (name, _) in &changes {
        if !crate::model::ViewSettings::NAMES.contains(&name.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown view setting {name:?}"
            )));
        }
    }
    let worker = gw.clone();
    let view = id.clone();
    blocking(move || {
        let changes: Vec<(&str, bool)> = changes.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        worker.store().set_view(
            &view,
            placement.as_ref().map(|(t, w)| (t, w)),
            &changes,
            Utc::now(),
        )?;
        worker.reload_registry()
    })
    .await?;
    get_view(State(gw), Path(id)).await
}

/// `GET /audit`: the audit log, oldest first.
async fn audit(State(gw): State<Gateway>) -> Result<Json<Value>, ApiError> {
    let worker = gw.clone();
    let events = blocking(move || Ok(worker.store().audit()?)).await?;
    Ok(Json(json!({ "events": events })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    token: Option<String>,
    operation: Operation,
    resource: crate::model::Resource,
    at: Option<chrono::DateTime<Utc>>,
    #[serde(default)]
    explain: bool,
}

/// `POST /decisions` `{token, operation, resource: {kind, id}, at, explain}`:
/// the gateway's decision for any request, as `tessera check --server` shows it.
async fn decide(
    State(gw): State<Gateway>,
    body: axum::body::Bytes,
) -> Result<Json<crate::authorize::Decision>, ApiError> {
    let body: DecisionBody = serde_json::from_slice(&body).map_err(bad_json)?;
    let request = crate::authorize::Request {
        operation: body.operation,
        resource: body.resource,
    };
    Ok(Json(
        gw.check(
            body.token.as_deref(),
            &request,
            body.at.unwrap_or_else(Utc::now),
            body.explain,
        )
        .await,
    ))
}
