//! The admin API's registry routes: workspaces, tables (with their
//! author) and views with their settings.

use axum::extract::State;
use axum::{Extension, Json};
use chrono::Utc;

use crate::api::{Missing, TableBody, TableInfo, ViewBody, ViewInfo, WorkspaceBody, WorkspaceInfo};
use crate::change::{self, Actor, Change, ChangeError};
use crate::model::access::{Refusal, TableSharing};
use crate::model::Id;

use super::super::error::ApiError;
use super::super::state::Gateway;
use super::common::{commit, commit_planned, parse, parse_optional, Caller, Ids};
use super::openapi::ErrorBody;

/// `GET /workspaces/{id}`: the workspace and its tables.
#[utoipa::path(get, path = "/admin/v1/workspaces/{id}", tag = "registry", params(("id" = Id, Path, description = "the workspace")), responses((status = 200, description = "the workspace", body = crate::api::WorkspaceInfo), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such workspace", body = ErrorBody)))]
pub(super) async fn get_workspace(
    State(gw): State<Gateway>,
    Ids(id): Ids<Id>,
) -> Result<Json<WorkspaceInfo>, ApiError> {
    WorkspaceInfo::of(&gw.registry(), &id)
        .map(Json)
        .ok_or(ApiError::Missing(Missing::Workspace(id)))
}

/// `PUT /workspaces/{id}` (body optional: `{"name": "Client A"}`):
/// registers a workspace and, with `name`, sets its display name — both
/// or neither.
#[utoipa::path(put, path = "/admin/v1/workspaces/{id}", tag = "registry", params(("id" = Id, Path, description = "the workspace")), request_body(content = Option<crate::api::WorkspaceBody>, description = "its display name (the body may be empty)"), responses((status = 200, description = "the workspace", body = crate::api::WorkspaceInfo), (status = 400, description = "the id or body is not valid", body = ErrorBody)))]
pub(super) async fn put_workspace(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Ids(id): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Json<WorkspaceInfo>, ApiError> {
    let body: WorkspaceBody = parse_optional(&body)?;
    let mut changes = vec![Change::PutWorkspace {
        workspace: id.clone(),
    }];
    if let Some(name) = body.name {
        changes.push(Change::NameWorkspace {
            workspace: id.clone(),
            name,
        });
    }
    commit(&gw, move |store| {
        store.apply_all(&changes, &actor, Utc::now())
    })
    .await?;
    get_workspace(State(gw), Ids(id)).await
}

/// `GET /tables/{id}`: the table, its workspace and its views.
#[utoipa::path(get, path = "/admin/v1/tables/{id}", tag = "registry", params(("id" = Id, Path, description = "the table")), responses((status = 200, description = "the table", body = crate::api::TableInfo), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such table", body = ErrorBody)))]
pub(super) async fn get_table(
    State(gw): State<Gateway>,
    Ids(id): Ids<Id>,
) -> Result<Json<TableInfo>, ApiError> {
    TableInfo::of(&gw.registry(), &id)
        .map(Json)
        .ok_or(ApiError::Missing(Missing::Table(id)))
}

/// `PUT /tables/{id}` `{workspace, author?}`: registers a table in a
/// workspace and, with `author`, records its creator (keeping any access
/// already set). A member token may create a table in a workspace where
/// its user is a member or above (its author is then that user); changing
/// an existing table's author takes an owner or admin.
#[utoipa::path(put, path = "/admin/v1/tables/{id}", tag = "registry", params(("id" = Id, Path, description = "the table")), request_body = crate::api::TableBody, responses((status = 200, description = "the table", body = crate::api::TableInfo), (status = 400, description = "the id or body is not valid", body = ErrorBody), (status = 409, description = "the table is in another workspace", body = ErrorBody)))]
pub(super) async fn put_table(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids(id): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Json<TableInfo>, ApiError> {
    let body: TableBody = parse(&body)?;
    let table = id.clone();
    commit_planned(&gw, actor, move |registry| {
        plan_put_table(registry, &caller, &table, body)
    })
    .await?;
    get_table(State(gw), Ids(id)).await
}

/// The changes of `PUT /tables/{table}` by `caller`, checked.
fn plan_put_table(
    registry: &crate::model::Registry,
    caller: &Caller,
    table: &Id,
    body: TableBody,
) -> Result<Vec<Change>, ChangeError> {
    let exists = registry.tables.contains_key(table);
    let current = registry.sharing_of(table).into_owned();
    let author = match caller.user() {
        Some(user) if !exists => Some(body.author.unwrap_or_else(|| user.clone())),
        _ => body.author,
    };
    if let Some(user) = caller.user() {
        let role = registry.people.role(&body.workspace, user);
        if !role.is_some_and(|r| r.may_create_tables()) {
            return Err(ChangeError::Refused(Refusal::NotWorkspaceAdmin));
        }
        let admin = role.is_some_and(|r| r.reaches_every_table());
        let changes_author = author.is_some() && author != current.author;
        if changes_author && !admin && (exists || author.as_ref() != Some(user)) {
            return Err(ChangeError::Refused(Refusal::NotAuthorOrAdmin));
        }
    }
    let mut changes = change::plan_table(table, &body.workspace);
    if author.is_some() && author != current.author {
        changes.push(Change::PutTableSharing {
            table: table.clone(),
            sharing: TableSharing {
                author,
                access: current.access,
            },
        });
    }
    Ok(changes)
}

/// `GET /views/{id}`: the view, its table, workspace and settings.
#[utoipa::path(get, path = "/admin/v1/views/{id}", tag = "registry", params(("id" = Id, Path, description = "the view")), responses((status = 200, description = "the view", body = crate::api::ViewInfo), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such view", body = ErrorBody)))]
pub(super) async fn get_view(
    State(gw): State<Gateway>,
    Ids(id): Ids<Id>,
) -> Result<Json<ViewInfo>, ApiError> {
    ViewInfo::of(&gw.registry(), &id)
        .map(Json)
        .ok_or(ApiError::Missing(Missing::View(id)))
}

/// `PUT /views/{id}`: registers a view (`table` and `workspace`) and/or
/// changes its settings, given flat or under `settings`.
#[utoipa::path(put, path = "/admin/v1/views/{id}", tag = "registry", params(("id" = Id, Path, description = "the view")), request_body = crate::api::ViewBody, responses((status = 200, description = "the view", body = crate::api::ViewInfo), (status = 400, description = "the id or body is not valid", body = ErrorBody), (status = 404, description = "no such view, table or workspace", body = ErrorBody), (status = 409, description = "the table is in another workspace", body = ErrorBody)))]
pub(super) async fn put_view(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Ids(id): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Json<ViewInfo>, ApiError> {
    let body: ViewBody = parse(&body)?;
    let placement = body.placement()?;
    let visibility = body.checked_visibility(&gw.registry(), &id)?;
    let creator = body.creator.clone();
    let changes = body.changes();
    let hidden = body
        .hidden_columns
        .as_deref()
        .map(crate::api::hidden_columns)
        .transpose()?;
    let view = id.clone();
    commit(&gw, move |store| {
        let changes: Vec<(&str, bool)> = changes.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let placement = placement.as_ref().map(|(t, w)| (t, w));
        let owner = creator.as_ref();
        store.update_view_owned(
            &view,
            placement,
            &changes,
            owner,
            visibility,
            hidden,
            &actor,
            Utc::now(),
        )
    })
    .await?;
    get_view(State(gw), Ids(id)).await
}
