//! The admin API's project assignment routes (ValidGraph: a project is a
//! workspace): `POST /members` invites a user with a role on some
//! projects, `PUT /members/{user}/projects` replaces its assignment. Both
//! take the admin token or a member token of an owner or admin of every
//! workspace the change touches; each role change is checked with
//! `model::access::manage` against the registry as the change commits.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;

use crate::api::projects::{
    assignment_expiry, assignment_role, known_projects, plan_expiring_assignment, plan_invite,
    Assignment,
};
use crate::api::{invitee_id, Invalid, InviteBody, ProjectMember, ProjectsBody};
use crate::change::Actor;
use crate::model::access::WorkspaceRole;
use crate::model::Id;

use super::super::error::ApiError;
use super::super::state::Gateway;
use super::common::{commit_planned, parse, Caller, Ids};
use super::openapi::ErrorBody;

/// The member object of `user` as the registry now holds it.
fn member_answer(gw: &Gateway, user: &Id) -> Result<ProjectMember, ApiError> {
    ProjectMember::of(&gw.registry(), user, Utc::now())
        .ok_or_else(|| ApiError::Internal(format!("user {user} vanished after its change")))
}

/// `POST /members` `{email, role, projects, id?, name?, expires?}`:
/// registers the user if new (id: [`invitee_id`]) and gives it `role` on
/// every listed project (until `expires`), leaving its other workspaces
/// as they are; 201 with the member object.
#[utoipa::path(post, path = "/admin/v1/members", tag = "people", request_body = crate::api::InviteBody, responses((status = 201, description = "the member object", body = crate::api::ProjectMember), (status = 400, description = "the body is not valid", body = ErrorBody)))]
pub(super) async fn invite(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: InviteBody = parse(&body)?;
    let now = Utc::now();
    let role: WorkspaceRole = body.role.parse().map_err(Invalid::from)?;
    let registry = gw.registry();
    let assignment = Assignment {
        projects: known_projects(&registry, &body.projects)?,
        role,
        expires_at: assignment_expiry(body.expires.as_deref(), now)?,
    };
    let user = invitee_id(&registry, &body.email, body.id.as_ref())
        .ok_or_else(|| ApiError::Internal("an invitee id is not an id".into()))?;
    let name = body.name.clone().unwrap_or_else(|| {
        let local = body.email.split('@').next().unwrap_or_default();
        local.to_owned()
    });
    let member = user.clone();
    commit_planned(&gw, actor, move |registry| {
        plan_invite(
            registry,
            &caller.manager(),
            &member,
            body.email,
            name,
            &assignment,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(member_answer(&gw, &user)?)).into_response())
}

/// `PUT /members/{user}/projects` `{project_ids, role?, expires?}`: the
/// user holds a role on exactly these projects afterwards (until
/// `expires`; left elsewhere); the role is `role`, else the one role it
/// holds now, else `viewer`. Expired assignments count as none.
#[utoipa::path(put, path = "/admin/v1/members/{user}/projects", tag = "people", params(("user" = Id, Path, description = "the user")), request_body = crate::api::ProjectsBody, responses((status = 200, description = "the member object", body = crate::api::ProjectMember), (status = 400, description = "the id or body is not valid, or the user is not registered", body = ErrorBody)))]
pub(super) async fn put_projects(
    State(gw): State<Gateway>,
    Extension(actor): Extension<Actor>,
    Extension(caller): Extension<Caller>,
    Ids(user): Ids<Id>,
    body: axum::body::Bytes,
) -> Result<Json<ProjectMember>, ApiError> {
    let body: ProjectsBody = parse(&body)?;
    let now = Utc::now();
    let registry = gw.registry();
    if !registry.people.users.contains_key(&user) {
        return Err(Invalid::UnknownUser(user).into());
    }
    let assignment = Assignment {
        projects: known_projects(&registry, &body.project_ids)?,
        role: assignment_role(&registry.as_of(now), &user, body.role.as_deref())?,
        expires_at: assignment_expiry(body.expires.as_deref(), now)?,
    };
    let member = user.clone();
    commit_planned(&gw, actor, move |registry| {
        plan_expiring_assignment(registry, &caller.manager(), &member, &assignment, true)
    })
    .await?;
    member_answer(&gw, &user).map(Json)
}
