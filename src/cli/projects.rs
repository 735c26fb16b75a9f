//! `tessera member invite` and `tessera member projects`: ValidGraph's
//! project assignments on the local store (as the operator) or through a
//! running gateway's admin API (`--server`), answering the same member
//! object as `POST /admin/v1/members` and `PUT /admin/v1/members/{user}/projects`.

use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};

use crate::api::projects::{assignment_role, known_projects, plan_assignment, plan_invite};
use crate::api::{invitee_id, InviteBody, ProjectMember, ProjectsBody};
use crate::change::{Actor, Change};
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
        .ok_or_else(|| anyhow!("user {user} is not registered"))
}

impl Backend {
    /// Invites a user with a role on some projects.
    pub(crate) fn invite(&self, body: InviteBody, now: DateTime<Utc>) -> Result<ProjectMember> {
        match self {
            Backend::Local { store, .. } => {
                let registry = store.registry()?;
                let role: WorkspaceRole = body.role.parse()?;
                let projects = known_projects(&registry, &body.projects)?;
                let user = invitee_id(&registry, &body.email, body.id.as_ref())
                    .ok_or_else(|| anyhow!("no user id for {}", body.email))?;
                let name = body
                    .name
                    .clone()
                    .unwrap_or_else(|| body.email.split('@').next().unwrap_or_default().to_owned());
                let changes = plan_invite(
                    &registry,
                    &Manager::Operator,
                    &user,
                    body.email,
                    name,
                    &projects,
                    role,
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
                    return Err(anyhow!("user {user} is not registered"));
                }
                let projects = known_projects(&registry, &body.project_ids)?;
                let role = assignment_role(&registry, user, body.role.as_deref())?;
                let changes =
                    plan_assignment(&registry, &Manager::Operator, user, &projects, role, true)?;
                commit(store, &changes, user, now)
            }
            Backend::Remote(r) => r.call("PUT", &format!("/members/{user}/projects"), &body),
        }
    }
}

/// Prints the member object: JSON, or one line per assigned project.
pub(crate) fn print_member(member: &ProjectMember, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(member)?);
        return Ok(());
    }
    println!("user {} <{}>", member.id, member.email);
    for p in &member.assigned_projects {
        let name = p.name.as_deref().unwrap_or("");
        let role = member.role.as_deref().unwrap_or("");
        println!("{:<24} {:<10} {name}", p.id, role);
    }
    Ok(())
}
