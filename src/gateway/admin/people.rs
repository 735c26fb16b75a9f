//! The admin API's people routes: users (admin tokens only), a
//! workspace's members and their roles, its groups, and member tokens
//! (`POST /members/{user}/tokens`, admin tokens only). Members and groups
//! also take a member token of an owner or admin of the workspace; every
//! change is checked with `model::access::manage` against the registry
//! as it stands when the change commits.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;

use crate::api::{
    GroupBody, GroupInfo, GroupList, Invalid, MemberBody, MemberInfo, MemberList, MemberToken,
    MemberTokenBody, Missing, UserBody, UserInfo,
};
use crate::change::{Actor, Change, ChangeError};
use crate::model::access::manage::{check_group_change, check_role_change};
use crate::model::access::{Refusal, Team};
use crate::model::{parse_expiry, Id, IssueRequest, Registry, TokenKind};

use super::super::error::ApiError;
use super::super::state::Gateway;
use super::common::{blocking, commit_planned, parse, parse_optional, Caller, Ids};
use super::openapi::ErrorBody;

/// The user as the API shows it.
fn user_info(registry: &Registry, id: &Id) -> Result<UserInfo, ApiError> {
    UserInfo::of(registry, id).ok_or_else(|| ApiError::Missing(Missing::User(id.clone())))
}

/// `GET /users/{user}`: the user and its roles.
#[utoipa::path(get, path = "/admin/v1/users/{user}", tag = "people", params(("user" = Id, Path, description = "the user")), responses((status = 200, description = "the user and its roles", body = crate::api::UserInfo), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such user", body = ErrorBody)))]
pub(super) async fn get_user(
    State(gw): State<Gateway>,
    Ids(id): Ids<Id>,
) -> Result<Json<UserInfo>, ApiError> {
    user_info(&gw.registry(), &id).map(Json)
}

/// `PUT /users/{user}` `{email, name}`: registers or renames a user.
#[utoipa::path(put, path = "/admin/v1/users/{user}", tag = "people", params(("user" = Id, Path, description = "the user")), request_body = crate::api::UserBody, responses((status = 200, description = "the user and its roles", body = crate::api::UserInfo), (status = 400, description = "the id or body is not valid", body = ErrorBody)))]
pub(super) async fn put_user(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Ids(id): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Json<UserInfo>, ApiError> {
    let body: UserBody = parse(&body)?;
    let user = id.clone();
    commit_planned(&gw, actor, move |_| {
        Ok(vec![Change::PutUser {
            user,
            email: body.email,
            name: body.name,
        }])
    })
    .await?;
    get_user(State(gw), Ids(id)).await
}

/// `DELETE /users/{user}`: removes the user everywhere (not the last
/// owner of a workspace).
#[utoipa::path(delete, path = "/admin/v1/users/{user}", tag = "people", params(("user" = Id, Path, description = "the user")), responses((status = 204, description = "removed everywhere"), (status = 400, description = "the id is not valid, or the user is the last owner of a workspace", body = ErrorBody), (status = 404, description = "no such user", body = ErrorBody)))]
pub(super) async fn remove_user(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Ids(id): Ids<Id>,
) -> Result<StatusCode, ApiError> {
    let registry = gw.registry();
    user_info(&registry, &id)?;
    commit_planned(&gw, actor, move |_| {
        Ok(vec![Change::RemoveUser { user: id }])
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team of a registered workspace that `caller` may read: an admin
/// token, or a member of the workspace.
fn readable_team(registry: &Registry, caller: &Caller, ws: &Id) -> Result<Team, ApiError> {
    if !registry.workspaces.contains(ws) {
        return Err(ApiError::Missing(Missing::Workspace(ws.clone())));
    }
    let team = registry.people.team(ws).cloned().unwrap_or_default();
    match caller.user() {
        Some(user) if team.role(user).is_none() => {
            Err(ApiError::Refused(Refusal::NotWorkspaceAdmin))
        }
        _ => Ok(team),
    }
}

/// The team of `ws` for a change (a registered workspace).
fn team_for_change(registry: &Registry, ws: &Id) -> Result<Team, ChangeError> {
    if !registry.workspaces.contains(ws) {
        return Err(ChangeError::UnknownWorkspace(ws.clone()));
    }
    Ok(registry.people.team(ws).cloned().unwrap_or_default())
}

/// `GET /workspaces/{ws}/members`: every member and its role.
#[utoipa::path(get, path = "/admin/v1/workspaces/{ws}/members", tag = "people", params(("ws" = Id, Path, description = "the workspace")), responses((status = 200, description = "its members", body = crate::api::MemberList), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such workspace", body = ErrorBody)))]
pub(super) async fn list_members(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids(ws): Ids<Id>,
) -> Result<Json<MemberList>, ApiError> {
    let team = readable_team(&gw.registry(), &caller, &ws)?;
    Ok(Json(MemberList::of(&ws, &team)))
}

/// `GET /workspaces/{ws}/members/{user}`: one member's role.
#[utoipa::path(get, path = "/admin/v1/workspaces/{ws}/members/{user}", tag = "people", params(("ws" = Id, Path, description = "the workspace"), ("user" = Id, Path, description = "the user")), responses((status = 200, description = "the member and its role", body = crate::api::MemberInfo), (status = 400, description = "an id is not valid", body = ErrorBody), (status = 404, description = "no such workspace or member", body = ErrorBody)))]
pub(super) async fn get_member(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids((ws, user)): Ids<(Id, Id)>,
) -> Result<Json<MemberInfo>, ApiError> {
    let team = readable_team(&gw.registry(), &caller, &ws)?;
    let role = team.role(&user).ok_or_else(|| {
        ApiError::Missing(Missing::Member {
            workspace: ws.clone(),
            user: user.clone(),
        })
    })?;
    Ok(Json(MemberInfo {
        workspace: ws,
        user,
        role,
    }))
}

/// `PUT /workspaces/{ws}/members/{user}` `{role}`: gives a registered
/// user a role in the workspace.
#[utoipa::path(put, path = "/admin/v1/workspaces/{ws}/members/{user}", tag = "people", params(("ws" = Id, Path, description = "the workspace"), ("user" = Id, Path, description = "the user")), request_body = crate::api::MemberBody, responses((status = 200, description = "the member and its role", body = crate::api::MemberInfo), (status = 400, description = "an id, the body or the role is not valid", body = ErrorBody), (status = 404, description = "no such workspace", body = ErrorBody)))]
pub(super) async fn put_member(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids((ws, user)): Ids<(Id, Id)>,
    body: axum::body::Bytes,
) -> Result<Json<MemberInfo>, ApiError> {
    let role = parse::<MemberBody>(&body)?.role()?;
    let (workspace, member) = (ws.clone(), user.clone());
    commit_planned(&gw, actor, move |registry| {
        let team = team_for_change(registry, &workspace)?;
        check_role_change(&team, &caller.manager(), &member, Some(role))
            .map_err(ChangeError::Refused)?;
        if !registry.people.users.contains_key(&member) {
            return Err(ChangeError::UnknownUser(member));
        }
        Ok(vec![Change::PutMember {
            workspace,
            user: member,
            role,
        }])
    })
    .await?;
    get_member(State(gw), Extension(Caller::Admin), Ids((ws, user))).await
}

/// `DELETE /workspaces/{ws}/members/{user}`: the user leaves the
/// workspace and its groups there (not the last owner).
#[utoipa::path(delete, path = "/admin/v1/workspaces/{ws}/members/{user}", tag = "people", params(("ws" = Id, Path, description = "the workspace"), ("user" = Id, Path, description = "the user")), responses((status = 204, description = "the user left the workspace"), (status = 400, description = "an id is not valid, or the user is the last owner", body = ErrorBody), (status = 404, description = "no such workspace or member", body = ErrorBody)))]
pub(super) async fn remove_member(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids((ws, user)): Ids<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    commit_planned(&gw, actor, move |registry| {
        let team = team_for_change(registry, &ws)?;
        check_role_change(&team, &caller.manager(), &user, None).map_err(ChangeError::Refused)?;
        Ok(vec![Change::RemoveMember {
            workspace: ws,
            user,
        }])
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The group as the API shows it.
fn group_info(team: &Team, ws: &Id, id: &Id) -> Result<GroupInfo, ApiError> {
    GroupInfo::of(ws, team, id).ok_or_else(|| ApiError::Missing(Missing::Group(id.clone())))
}

/// `GET /workspaces/{ws}/groups`: every group and its members.
#[utoipa::path(get, path = "/admin/v1/workspaces/{ws}/groups", tag = "people", params(("ws" = Id, Path, description = "the workspace")), responses((status = 200, description = "its groups", body = crate::api::GroupList), (status = 400, description = "the id is not valid", body = ErrorBody), (status = 404, description = "no such workspace", body = ErrorBody)))]
pub(super) async fn list_groups(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids(ws): Ids<Id>,
) -> Result<Json<GroupList>, ApiError> {
    let team = readable_team(&gw.registry(), &caller, &ws)?;
    let groups = team
        .groups
        .keys()
        .map(|id| group_info(&team, &ws, id))
        .collect::<Result<_, _>>()?;
    Ok(Json(GroupList {
        workspace: ws,
        groups,
    }))
}

/// `GET /workspaces/{ws}/groups/{group}`: one group.
#[utoipa::path(get, path = "/admin/v1/workspaces/{ws}/groups/{group}", tag = "people", params(("ws" = Id, Path, description = "the workspace"), ("group" = Id, Path, description = "the group")), responses((status = 200, description = "the group", body = crate::api::GroupInfo), (status = 400, description = "an id is not valid", body = ErrorBody), (status = 404, description = "no such workspace or group", body = ErrorBody)))]
pub(super) async fn get_group(
    State(gw): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Ids((ws, group)): Ids<(Id, Id)>,
) -> Result<Json<GroupInfo>, ApiError> {
    let team = readable_team(&gw.registry(), &caller, &ws)?;
    group_info(&team, &ws, &group).map(Json)
}

/// `PUT /workspaces/{ws}/groups/{group}` `{name, members}`: sets a group
/// (its members are members of the workspace).
#[utoipa::path(put, path = "/admin/v1/workspaces/{ws}/groups/{group}", tag = "people", params(("ws" = Id, Path, description = "the workspace"), ("group" = Id, Path, description = "the group")), request_body = crate::api::GroupBody, responses((status = 200, description = "the group", body = crate::api::GroupInfo), (status = 400, description = "an id or the body is not valid", body = ErrorBody), (status = 404, description = "no such workspace", body = ErrorBody)))]
pub(super) async fn put_group(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids((ws, group)): Ids<(Id, Id)>,
    body: axum::body::Bytes,
) -> Result<Json<GroupInfo>, ApiError> {
    let body: GroupBody = parse(&body)?;
    let (workspace, id) = (ws.clone(), group.clone());
    commit_planned(&gw, actor, move |registry| {
        let team = team_for_change(registry, &workspace)?;
        check_group_change(&team, &caller.manager(), Some(&body.members))
            .map_err(ChangeError::Refused)?;
        Ok(vec![Change::PutGroup {
            workspace,
            group: id,
            name: body.name,
            members: body.members,
        }])
    })
    .await?;
    get_group(State(gw), Extension(Caller::Admin), Ids((ws, group))).await
}

/// `DELETE /workspaces/{ws}/groups/{group}`: removes a group.
#[utoipa::path(delete, path = "/admin/v1/workspaces/{ws}/groups/{group}", tag = "people", params(("ws" = Id, Path, description = "the workspace"), ("group" = Id, Path, description = "the group")), responses((status = 204, description = "removed"), (status = 400, description = "an id is not valid, or no such group", body = ErrorBody), (status = 404, description = "no such workspace", body = ErrorBody)))]
pub(super) async fn remove_group(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids((ws, group)): Ids<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    commit_planned(&gw, actor, move |registry| {
        let team = team_for_change(registry, &ws)?;
        check_group_change(&team, &caller.manager(), None).map_err(ChangeError::Refused)?;
        if !team.groups.contains_key(&group) {
            return Err(ChangeError::Refused(Refusal::UnknownGroup(group)));
        }
        Ok(vec![Change::RemoveGroup {
            workspace: ws,
            group,
        }])
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /members/{user}/tokens` `{expires?}`: a member token for a
/// registered user, expiring after `member_token_ttl` unless the body
/// says when; recorded in the ledger like every issued token.
#[utoipa::path(post, path = "/admin/v1/members/{user}/tokens", tag = "people", params(("user" = Id, Path, description = "the user")), request_body(content = Option<crate::api::MemberTokenBody>, description = "when it expires (the body may be empty)"), responses((status = 201, description = "the member token, once", body = crate::api::MemberToken), (status = 400, description = "the id or body is not valid, or the user is not registered", body = ErrorBody), (status = 409, description = "this gateway holds no private key", body = ErrorBody)))]
pub(super) async fn issue_member(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Ids(user): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let body: MemberTokenBody = parse_optional(&body)?;
    let registry = gw.registry();
    if !registry.people.users.contains_key(&user) {
        return Err(Invalid::UnknownUser(user).into());
    }
    let expires_at = match body.expires.as_deref() {
        Some(text) => parse_expiry(text, now).map_err(Invalid::Request)?,
        None => gw
            .config()
            .member_token_ttl
            .expiry(now)
            .ok_or_else(|| ApiError::Internal("member_token_ttl overflows".into()))?,
    };
    let request = IssueRequest {
        user: Some(user),
        expires_at: Some(expires_at),
        ..IssueRequest::new(TokenKind::Member, None)
    };
    let grant = request.grant(&registry).map_err(Invalid::from)?;
    let worker = gw.clone();
    let (token, entry) = blocking(move || worker.issue(&grant, &actor, now)).await?;
    let answer = MemberToken {
        token: token.expose().to_owned(),
        token_id: entry.token_id,
        expires_at: entry.expires_at,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
