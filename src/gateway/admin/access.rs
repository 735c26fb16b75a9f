//! The admin API's table access routes, one model in two products'
//! words: `/tables/{t}/access` (TinyTables: private, workspace, specific
//! people with levels) and `/tables/{t}/permissions` (Schema Builder:
//! structure and record modes with entries). Both write the one
//! [`TableAccess`], keeping the table's author; `GET` answers in the
//! route's words. Besides an admin token, the table's author or an owner
//! or admin of its workspace may read and change it with a member token
//! (`check_sharing_change`, against the registry as the change commits).

use axum::extract::State;
use axum::{Extension, Json};

use crate::api::people::{parse_schema_permissions, parse_share_settings, share_access};
use crate::api::{AccessInfo, Missing, PermissionsInfo};
use crate::change::{Actor, Change, ChangeError};
use crate::model::access::manage::check_sharing_change;
use crate::model::access::{Refusal, TableAccess, TableSharing};
use crate::model::{Id, Registry};

use super::super::error::ApiError;
use super::super::state::Gateway;
use super::common::{commit_planned, Caller, Ids};
use super::openapi::ErrorBody;

/// The sharing of a registered table that `caller` may read: an admin
/// token, or a member token of the table's author or of an owner or admin
/// of its workspace (who may change it; others do not learn who a table
/// is shared with).
fn readable_sharing(
    registry: &Registry,
    caller: &Caller,
    table: &Id,
) -> Result<TableSharing, ApiError> {
    let workspace = registry
        .tables
        .get(table)
        .ok_or_else(|| ApiError::Missing(Missing::Table(table.clone())))?;
    let sharing = registry.sharing_of(table).into_owned();
    if let Some(user) = caller.user() {
        let admin = registry
            .people
            .role(workspace, user)
            .is_some_and(|r| r.reaches_every_table());
        if !admin && sharing.author.as_ref() != Some(user) {
            return Err(ApiError::Refused(Refusal::NotAuthorOrAdmin));
        }
    }
    Ok(sharing)
}

/// Commits `access` as the table's access (its author kept), checked for
/// `caller` against the registry as the change commits.
async fn put_table_access(
    gw: &Gateway,
    actor: Actor,
    caller: Caller,
    table: &Id,
    access: TableAccess,
) -> Result<(), ApiError> {
    let table = table.clone();
    commit_planned(gw, actor, move |registry| {
        let workspace = registry
            .tables
            .get(&table)
            .ok_or_else(|| ChangeError::UnknownTable(table.clone()))?;
        let team = registry.people.team(workspace).cloned().unwrap_or_default();
        let current = registry.sharing_of(&table).into_owned();
        let next = TableSharing {
            author: current.author.clone(),
            access,
        };
        check_sharing_change(&team, &current, &caller.manager(), &next)
            .map_err(ChangeError::Refused)?;
        Ok(vec![Change::PutTableSharing {
            table,
            sharing: next,
        }])
    })
    .await
    .map(drop)
}

/// `GET /tables/{t}/access`: the table's access in TinyTables' words.
#[utoipa::path(get, path = "/admin/v1/tables/{id}/access", tag = "access", params(("id" = Id, Path, description = "the table")), responses((status = 200, description = "the access in TinyTables' words", body = crate::api::AccessInfo), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such table", body = ErrorBody)))]
pub(super) async fn get_access(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids(table): Ids<Id>,
) -> Result<Json<AccessInfo>, ApiError> {
    let sharing = readable_sharing(&gw.registry(), &caller, &table)?;
    Ok(Json(AccessInfo::of(&table, &sharing)))
}

/// `PUT /tables/{t}/access` `{mode, people}`: sets the table's access in
/// TinyTables' words (people only with `specific`).
#[utoipa::path(put, path = "/admin/v1/tables/{id}/access", tag = "access", params(("id" = Id, Path, description = "the table")), request_body = crate::model::access::ShareSettings, responses((status = 200, description = "the access in TinyTables' words", body = crate::api::AccessInfo), (status = 400, description = "the id or body is not valid", body = ErrorBody), (status = 404, description = "no such table", body = ErrorBody)))]
pub(super) async fn put_access(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids(table): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Json<AccessInfo>, ApiError> {
    let access = share_access(&parse_share_settings(&body)?).map_err(ApiError::Refused)?;
    put_table_access(&gw, actor, caller, &table, access).await?;
    get_access(State(gw), Extension(Caller::Admin), Ids(table)).await
}

/// `GET /tables/{t}/permissions`: the table's access in Schema Builder's words.
#[utoipa::path(get, path = "/admin/v1/tables/{id}/permissions", tag = "access", params(("id" = Id, Path, description = "the table")), responses((status = 200, description = "the access in Schema Builder's words", body = crate::api::PermissionsInfo), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such table", body = ErrorBody)))]
pub(super) async fn get_permissions(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids(table): Ids<Id>,
) -> Result<Json<PermissionsInfo>, ApiError> {
    let sharing = readable_sharing(&gw.registry(), &caller, &table)?;
    Ok(Json(PermissionsInfo::of(&table, &sharing)))
}

/// `PUT /tables/{t}/permissions` `{schema, records}`: sets the table's
/// access in Schema Builder's words.
#[utoipa::path(put, path = "/admin/v1/tables/{id}/permissions", tag = "access", params(("id" = Id, Path, description = "the table")), request_body = crate::model::access::SchemaPermissions, responses((status = 200, description = "the access in Schema Builder's words", body = crate::api::PermissionsInfo), (status = 400, description = "the id or body is not valid", body = ErrorBody), (status = 404, description = "no such table", body = ErrorBody)))]
pub(super) async fn put_permissions(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids(table): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Json<PermissionsInfo>, ApiError> {
    let permissions = parse_schema_permissions(&body)?;
    put_table_access(&gw, actor, caller, &table, permissions.to_access()).await?;
    get_permissions(State(gw), Extension(Caller::Admin), Ids(table)).await
}
