//! A workspace's own lists on the admin API, for the admin token and for
//! the workspace's owners and admins with their member tokens:
//! `GET /workspaces/{ws}/shares` (the guest links bound to it, every
//! state) and `GET /workspaces/{ws}/audit` (the audit events about it:
//! its registration, tables, views, members, groups, table access, and
//! the tokens bound to it with their revocations). A member token passes
//! the guard's member decision like on every management route; here its
//! user must be an owner or admin of `ws` (`403 not_workspace_admin`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::{Extension, Json};
use chrono::Utc;

use crate::api::{AuditEvent, AuditLog, Missing, TokenList, TokenRow};
use crate::change::Change;
use crate::model::access::Refusal;
use crate::model::{Id, Registry, TokenKind};

use super::super::error::ApiError;
use super::super::state::Gateway;
use super::common::{blocking, Caller, Ids};
use super::openapi::ErrorBody;

/// `ws` when it is registered and `caller` may read its lists: the admin
/// token, or a member token of an owner or admin of `ws`.
fn readable_workspace(registry: &Registry, caller: &Caller, ws: &Id) -> Result<(), ApiError> {
    if !registry.workspaces.contains(ws) {
        return Err(ApiError::Missing(Missing::Workspace(ws.clone())));
    }
    match caller.user() {
        Some(user)
            if !registry
                .people
                .role(ws, user)
                .is_some_and(|r| r.manages_members()) =>
        {
            Err(ApiError::Refused(Refusal::NotWorkspaceAdmin))
        }
        _ => Ok(()),
    }
}

/// `GET /workspaces/{ws}/shares`: the guest links bound to the workspace,
/// in every state, as `GET /tokens?workspace={ws}&kind=guest` lists them.
#[utoipa::path(get, path = "/admin/v1/workspaces/{ws}/shares", tag = "shares", params(("ws" = Id, Path, description = "the workspace")), responses((status = 200, description = "the workspace's guest links (ledger rows)", body = crate::api::TokenList), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 403, description = "a member token of someone not an owner or admin of the workspace (`not_workspace_admin`)", body = ErrorBody), (status = 404, description = "no such workspace", body = ErrorBody)))]
pub(super) async fn list_workspace_shares(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids(ws): Ids<Id>,
) -> Result<Json<TokenList>, ApiError> {
    readable_workspace(&gw.registry(), &caller, &ws)?;
    let now = Utc::now();
    let worker = gw.clone();
    let ledger = blocking(move || Ok(worker.store().ledger()?)).await?;
    let tokens = ledger
        .into_iter()
        .filter(|e| e.kind == TokenKind::Guest && e.workspace.as_ref() == Some(&ws))
        .map(|e| TokenRow::new(e, now))
        .collect();
    Ok(Json(TokenList { tokens }))
}

/// `GET /workspaces/{ws}/audit`: the audit events about the workspace,
/// oldest first (users' records and keys are no workspace's).
#[utoipa::path(get, path = "/admin/v1/workspaces/{ws}/audit", tag = "tokens", params(("ws" = Id, Path, description = "the workspace")), responses((status = 200, description = "the workspace's audit events, oldest first", body = crate::api::AuditLog), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 403, description = "a member token of someone not an owner or admin of the workspace (`not_workspace_admin`)", body = ErrorBody), (status = 404, description = "no such workspace", body = ErrorBody)))]
pub(super) async fn workspace_audit(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids(ws): Ids<Id>,
) -> Result<Json<AuditLog>, ApiError> {
    let registry = gw.registry();
    readable_workspace(&registry, &caller, &ws)?;
    let worker = gw.clone();
    let records = blocking(move || Ok(worker.store().audit()?)).await?;
    let events: Vec<AuditEvent> = records.into_iter().map(AuditEvent::from).collect();
    Ok(Json(AuditLog {
        events: about_workspace(&registry, &ws, events),
    }))
}

/// The events of `events` (oldest first) about `ws`: a token's revocation
/// follows its issue's workspace; a view's and a table's changes their
/// table's workspace in `registry`.
fn about_workspace(registry: &Registry, ws: &Id, events: Vec<AuditEvent>) -> Vec<AuditEvent> {
    let mut token_workspace: BTreeMap<Id, Option<Id>> = BTreeMap::new();
    let table_ws = |table: &Id| registry.tables.get(table).cloned();
    let view_ws = |view: &Id| {
        registry
            .views
            .get(view)
            .and_then(|entry| table_ws(&entry.table))
    };
    events
        .into_iter()
        .filter(|event| {
            let of = match &event.change {
                Change::PutWorkspace { workspace }
                | Change::NameWorkspace { workspace, .. }
                | Change::PutTable { workspace, .. }
                | Change::PutMember { workspace, .. }
                | Change::RemoveMember { workspace, .. }
                | Change::ExpireMember { workspace, .. }
                | Change::PutGroup { workspace, .. }
                | Change::RemoveGroup { workspace, .. } => Some(workspace.clone()),
                Change::PutView { table, .. } => table_ws(table),
                Change::HideColumns { view, .. } | Change::PutViewOwner { view, .. } => {
                    view_ws(view)
                }
                Change::PutTableSharing { table, .. } => table_ws(table),
                Change::TokenIssued { entry } => {
                    token_workspace.insert(entry.token_id.clone(), entry.workspace.clone());
                    entry.workspace.clone()
                }
                Change::Revoke { token_id, .. } => token_id
                    .as_ref()
                    .and_then(|t| token_workspace.get(t).cloned().flatten()),
                _ => None,
            };
            of.as_ref() == Some(ws)
        })
        .collect()
}
