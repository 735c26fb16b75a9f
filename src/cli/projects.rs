//! `tessera member invite` and `tessera member projects`: ValidGraph's
//! project assignments on the local store (as the operator) or through a
//! running gateway's admin API (`--server`), answering the same member
//! object as `POST /admin/v1/members` and `PUT /admin/v1/members/{user}/projects`.

use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};

use crate::api::projects::{
    assignment_expiry, assignment_role, known_projects, plan_expiring_assignment, plan_invite,
    Assignment,
};
use crate::api::{invitee_id, InviteBody, ProjectMember, ProjectsBody};
use crate::change::{Actor, Change, ChangeError};
use crate::model::access::{Manager, WorkspaceRole};
use crate::model::Id;
use crate::store::Store;

use super::backend::Backend;
use super::hints;

/// Commits `changes` on the local store, as the CLI; the member object after.
fn commit(
    store: &Store,
    changes: &[Change],
    user: &Id,
    now: DateTime<Utc>,
) -> Result<ProjectMember> {
    store
        .apply_all(changes, &Actor::Cli, now)
        .map_err(hints::store)?;
    ProjectMember::of(&store.registry()?, user, now)
        .ok_or_else(|| anyhow::Error::from(ChangeError::UnknownUser(user.clone())))
}

impl Backend {
    /// Invites a user with a role on some projects.
    pub(crate) fn invite(&self, body: InviteBody, now: DateTime<Utc>) -> Result<ProjectMember> {
        match self {
            Backend::Local { store, .. } => {
                let registry = store.registry()?;
                let assignment = Assignment {
                    projects: known_projects(&registry, &body.projects)?,
                    role: body.role.parse::<WorkspaceRole>()?,
                    expires_at: assignment_expiry(body.expires.as_deref(), now)?,
                };
                let user = invitee_id(&registry, &body.email, body.id.as_ref())
                    .ok_or_else(|| anyhow!("no user id for {}", body.email))?;
                let name = body
                    .name
                    .clone()
                    .unwrap_or_else(|| body.email.split('@').next().unwrap_or_default().to_owned());
                let changes = plan_invite(
                    &registry.as_of(now),
                    &Manager::Operator,
                    &user,
                    body.email,
                    name,
                    &assignment,
                )?;
                commit(store, &changes, &user, now)
            }
            Backend::Remote(r) => r.call("POST", "/members", &body),
        }
    }

    /// Replaces a user's project assignment.
    pub(crate) fn assign_projects(
        &self,
        user: &Id,
        body: ProjectsBody,
        now: DateTime<Utc>,
    ) -> Result<ProjectMember> {
        match self {
            Backend::Local { store, .. } => {
                let registry = store.registry()?;
                if !registry.people.users.contains_key(user) {
                    return Err(anyhow::Error::from(ChangeError::UnknownUser(user.clone())));
                }
                let registry = registry.as_of(now);
                let assignment = Assignment {
                    projects: known_projects(&registry, &body.project_ids)?,
                    role: assignment_role(&registry, user, body.role.as_deref())?,
                    expires_at: assignment_expiry(body.expires.as_deref(), now)?,
                };
                let changes = plan_expiring_assignment(
                    &registry,
                    &Manager::Operator,
                    user,
                    &assignment,
                    true,
                )?;
                commit(store, &changes, user, now)
            }
            Backend::Remote(r) => r.call("PUT", &format!("/members/{user}/projects"), &body),
        }
    }
}

/// Prints the member object: JSON, or one line per assigned project.
pub(crate) fn print_member(member: &ProjectMember, json: bool) -> Result<()> {
    super::output::print(json, member, print_assignments).map(drop)
}

fn print_assignments(member: &ProjectMember) {
    println!("user {} <{}>", member.id, member.email);
    for p in &member.assigned_projects {
        let name = p.name.as_deref().unwrap_or("");
        let role = member.role.as_deref().unwrap_or("");
        let until = p
            .expires_at
            .map(|at| format!(" (until {})", at.to_rfc3339()))
            .unwrap_or_default();
        println!("{:<24} {:<10} {name}{until}", p.id, role);
    }
}
