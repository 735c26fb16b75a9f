//! ValidGraph's project assignments as the admin API reads and answers
//! them: `POST /members` (invite a user with a role on some projects —
//! a project is a workspace) and `PUT /members/{user}/projects` (replace
//! the assignment), both answering the member object.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::change::{Change, ChangeError};
use crate::model::access::manage::check_role_change;
use crate::model::access::{Manager, WorkspaceRole};
use crate::model::{parse_expiry, Id, ModelError, Registry};

use super::Invalid;

/// `POST /members`: who to invite, with which role, on which projects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// The user's email address.
    #[schema(format = Email)]
    pub email: String,
    /// Its role on every listed project (`viewer`, `member`, `admin`, `owner`).
    #[schema(value_type = crate::model::access::WorkspaceRole)]
    pub role: String,
    /// The projects (workspace ids), at least one.
    pub projects: Vec<Id>,
    /// The user's id when it is new (see [`invitee_id`]).
    #[serde(default)]
    pub id: Option<Id>,
    /// The new user's display name (its email's local part when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// When the assignment to the listed projects ends: RFC 3339 or
    /// `7d`-style, as every expiry (absent: it lasts until removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// `PUT /members/{user}/projects`: the projects after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectsBody {
    /// The projects (workspace ids), at least one.
    pub project_ids: Vec<Id>,
    /// The role on them; absent: the one role the user holds now (or
    /// `viewer` when it holds none).
    #[serde(default)]
    #[schema(value_type = Option<crate::model::access::WorkspaceRole>)]
    pub role: Option<String>,
    /// When the assignment ends: RFC 3339 or `7d`-style (absent: it lasts
    /// until removed; a pending expiry on a listed project ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One assigned project: its id and display name (`null` when unnamed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssignedProject {
    /// The workspace id.
    pub id: Id,
    /// Its display name.
    pub name: Option<String>,
    /// When the assignment ends, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The member object both routes answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectMember {
    /// The user.
    pub id: Id,
    /// Its email address.
    pub email: String,
    /// Its role on the assigned projects (the highest when they differ).
    pub role: Option<String>,
    /// Every workspace where it holds a role, with its name.
    pub assigned_projects: Vec<AssignedProject>,
    /// When this answer's change was committed.
    pub updated_at: DateTime<Utc>,
}

impl ProjectMember {
    /// The member object of a registered `user`, as of `updated_at`
    /// (assignments expired by then are left out: they are as if removed).
    pub fn of(registry: &Registry, user: &Id, updated_at: DateTime<Utc>) -> Option<Self> {
        let record = registry.people.users.get(user)?;
        let mut role = None;
        let mut assigned_projects = Vec::new();
        for (ws, team) in &registry.people.teams {
            if let Some(r) = team.role_at(user, updated_at) {
                role = role.max(Some(r));
                assigned_projects.push(AssignedProject {
                    id: ws.clone(),
                    name: registry.workspace_names.get(ws).cloned(),
                    expires_at: team.expiry(user),
                });
            }
        }
        Some(ProjectMember {
            id: user.clone(),
            email: record.email.clone(),
            role: role.map(|r| r.as_str().to_owned()),
            assigned_projects,
            updated_at,
        })
    }
}

/// The id of the user invited as `email`: the registered user with that
/// address (compared without case) if there is one, else `given`, else
/// `u_` and the first 16 hex digits of the SHA-256 of the lowercased
/// address — the same address always gives the same id.
pub fn invitee_id(registry: &Registry, email: &str, given: Option<&Id>) -> Option<Id> {
    let known = registry
        .people
        .users
        .iter()
        .find(|(_, u)| u.email.eq_ignore_ascii_case(email))
        .map(|(id, _)| id.clone());
    if known.is_some() {
        return known;
    }
    if let Some(id) = given {
        return Some(id.clone());
    }
    let digest = Sha256::digest(email.to_ascii_lowercase().as_bytes());
    Id::new(&format!("u_{}", &hex::encode(digest)[..16])).ok()
}

/// An assignment's `expires` as an instant after `now` (`7d`-style counts
/// from `now`).
pub fn assignment_expiry(
    expires: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Invalid> {
    let Some(text) = expires else {
        return Ok(None);
    };
    let at = parse_expiry(text, now)?;
    if at <= now {
        return Err(ModelError::ExpiryInPast(at).into());
    }
    Ok(Some(at))
}

/// The listed projects, each registered, at least one.
pub fn known_projects(registry: &Registry, projects: &[Id]) -> Result<BTreeSet<Id>, Invalid> {
    if projects.is_empty() {
        return Err(Invalid::NoProjects);
    }
    if let Some(unknown) = projects.iter().find(|p| !registry.workspaces.contains(*p)) {
        return Err(Invalid::UnknownProject(unknown.clone()));
    }
    Ok(projects.iter().cloned().collect())
}

/// What an assignment gives: a role on some projects, until an instant or
/// for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The projects (workspace ids).
    pub projects: BTreeSet<Id>,
    /// The role on each.
    pub role: WorkspaceRole,
    /// When it ends (`None`: until removed).
    pub expires_at: Option<DateTime<Utc>>,
}

/// The role changes giving `user` the role `role` on every one of
/// `projects` and, with `replace`, removing it from every other
/// workspace; each checked for `manager`.
pub fn plan_assignment(
    registry: &Registry,
    manager: &Manager<'_>,
    user: &Id,
    projects: &BTreeSet<Id>,
    role: WorkspaceRole,
    replace: bool,
) -> Result<Vec<Change>, ChangeError> {
    let assignment = Assignment {
        projects: projects.clone(),
        role,
        expires_at: None,
    };
    plan_expiring_assignment(registry, manager, user, &assignment, replace)
}

/// [`plan_assignment`] with an expiry: each project's role change is
/// followed by the change that sets when it ends.
pub fn plan_expiring_assignment(
    registry: &Registry,
    manager: &Manager<'_>,
    user: &Id,
    assignment: &Assignment,
    replace: bool,
) -> Result<Vec<Change>, ChangeError> {
    let (projects, role) = (&assignment.projects, assignment.role);
    let mut changes = Vec::new();
    for (ws, team) in &registry.people.teams {
        if replace && team.role(user).is_some() && !projects.contains(ws) {
            check_role_change(team, manager, user, None).map_err(ChangeError::Refused)?;
            changes.push(Change::RemoveMember {
                workspace: ws.clone(),
                user: user.clone(),
            });
        }
    }
    for ws in projects {
        if !registry.workspaces.contains(ws) {
            return Err(ChangeError::UnknownWorkspace(ws.clone()));
        }
        let team = registry.people.team(ws).cloned().unwrap_or_default();
        check_role_change(&team, manager, user, Some(role)).map_err(ChangeError::Refused)?;
        changes.push(Change::PutMember {
            workspace: ws.clone(),
            user: user.clone(),
            role,
        });
        if let Some(at) = assignment.expires_at {
            changes.push(Change::ExpireMember {
                workspace: ws.clone(),
                user: user.clone(),
                expires_at: Some(at),
            });
        }
    }
    Ok(changes)
}

/// The changes of an invitation: `user` registered (`email`, `name`) if
/// new, then the assignment's role on every one of its projects (until
/// its expiry), checked for `manager`.
pub fn plan_invite(
    registry: &Registry,
    manager: &Manager<'_>,
    user: &Id,
    email: String,
    name: String,
    assignment: &Assignment,
) -> Result<Vec<Change>, ChangeError> {
    let mut changes = Vec::new();
    if !registry.people.users.contains_key(user) {
        changes.push(Change::PutUser {
            user: user.clone(),
            email,
            name,
        });
    }
    changes.extend(plan_expiring_assignment(
        registry, manager, user, assignment, false,
    )?);
    Ok(changes)
}

/// The role of a re-scoped user: `asked`, else the one role it holds now,
/// else `viewer` (`role_required` when it holds several).
pub fn assignment_role(
    registry: &Registry,
    user: &Id,
    asked: Option<&str>,
) -> Result<WorkspaceRole, Invalid> {
    if let Some(word) = asked {
        return Ok(word.parse()?);
    }
    let held: BTreeSet<WorkspaceRole> = registry
        .people
        .teams
        .values()
        .filter_map(|t| t.role(user))
        .collect();
    match held.len() {
        0 => Ok(WorkspaceRole::Viewer),
        1 => Ok(held.into_iter().next().unwrap_or(WorkspaceRole::Viewer)),
        _ => Err(Invalid::RoleRequired(user.clone())),
    }
}
