//! What the people changes do (users, workspace roles, groups, a table's
//! sharing), over any [`Target`]: the checks that hold whoever asks run
//! here, so no path (admin API, CLI, replay) can break them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::model::access::manage::{check_group_change, check_role_change, check_sharing_change};
use crate::model::access::{Group, Manager, Refusal, TableSharing, Team, User, WorkspaceRole};
use crate::model::{check_label, Id};

use super::apply::{ChangeError, Target};

/// Longest email address accepted (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// An email address as Tessera stores it: `local@domain`, printable, no
/// spaces, at most [`MAX_EMAIL_CHARS`].
fn check_email(email: &str) -> Result<(), ChangeError> {
    let printable = !email
        .chars()
        .any(|c| c.is_whitespace() || crate::text::is_unsafe_char(c));
    let shaped = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if printable && shaped && email.chars().count() <= MAX_EMAIL_CHARS {
        Ok(())
    } else {
        Err(ChangeError::InvalidEmail)
    }
}

pub(super) fn put_user<T: Target>(
    target: &mut T,
    user: &Id,
    email: &str,
    name: &str,
) -> Result<bool, T::Error> {
    check_email(email)?;
    check_label(name).map_err(ChangeError::InvalidName)?;
    let record = User {
        email: email.to_owned(),
        name: name.to_owned(),
    };
    if target.user(user)?.as_ref() == Some(&record) {
        return Ok(false);
    }
    target.put_user(user, Some(&record))?;
    Ok(true)
}

/// Names a registered workspace (a printable, non-blank label).
pub(super) fn name_workspace<T: Target>(
    target: &mut T,
    workspace: &Id,
    name: &str,
) -> Result<bool, T::Error> {
    if !target.has_workspace(workspace)? {
        return Err(ChangeError::UnknownWorkspace(workspace.clone()).into());
    }
    check_label(name).map_err(ChangeError::InvalidName)?;
    if name.trim().is_empty() {
        return Err(ChangeError::InvalidName(crate::model::ModelError::InvalidLabel).into());
    }
    if target.workspace_name(workspace)?.as_deref() == Some(name) {
        return Ok(false);
    }
    target.put_workspace_name(workspace, name)?;
    Ok(true)
}

/// The team of a registered workspace (empty when it has no members yet).
fn team_of<T: Target>(target: &T, workspace: &Id) -> Result<Team, T::Error> {
    if !target.has_workspace(workspace)? {
        return Err(ChangeError::UnknownWorkspace(workspace.clone()).into());
    }
    Ok(target.team(workspace)?.unwrap_or_default())
}

pub(super) fn remove_user<T: Target>(target: &mut T, user: &Id) -> Result<bool, T::Error> {
    if target.user(user)?.is_none() {
        return Ok(false);
    }
    for (workspace, mut team) in target.teams()? {
        if team.role(user).is_none() {
            continue;
        }
        check_role_change(&team, &Manager::Operator, user, None).map_err(ChangeError::Refused)?;
        team.remove(user);
        target.put_team(&workspace, &team)?;
    }
    target.put_user(user, None)?;
    Ok(true)
}

pub(super) fn put_member<T: Target>(
    target: &mut T,
    workspace: &Id,
    user: &Id,
    role: Option<WorkspaceRole>,
) -> Result<bool, T::Error> {
    let mut team = team_of(target, workspace)?;
    if role.is_some() && target.user(user)?.is_none() {
        return Err(ChangeError::UnknownUser(user.clone()).into());
    }
    // A role given is a lasting one: it ends a pending expiry.
    if team.role(user) == role && (role.is_none() || team.expiry(user).is_none()) {
        return Ok(false);
    }
    check_role_change(&team, &Manager::Operator, user, role).map_err(ChangeError::Refused)?;
    match role {
        Some(role) => {
            team.roles.insert(user.clone(), role);
            team.expires.remove(user);
        }
        None => team.remove(user),
    }
    target.put_team(workspace, &team)?;
    Ok(true)
}

/// Sets (`Some`) or clears (`None`) when a member's assignment to
/// `workspace` ends; the user must hold a role there.
pub(super) fn expire_member<T: Target>(
    target: &mut T,
    workspace: &Id,
    user: &Id,
    expires_at: Option<DateTime<Utc>>,
) -> Result<bool, T::Error> {
    let mut team = team_of(target, workspace)?;
    if team.role(user).is_none() {
        return Err(ChangeError::Refused(Refusal::NotInWorkspace(user.clone())).into());
    }
    if team.expiry(user) == expires_at {
        return Ok(false);
    }
    match expires_at {
        Some(at) => team.expires.insert(user.clone(), at),
        None => team.expires.remove(user),
    };
    target.put_team(workspace, &team)?;
    Ok(true)
}

pub(super) fn put_group<T: Target>(
    target: &mut T,
    workspace: &Id,
    group: &Id,
    next: Option<(&str, &BTreeSet<Id>)>,
) -> Result<bool, T::Error> {
    let mut team = team_of(target, workspace)?;
    let members = next.map(|(_, m)| m);
    check_group_change(&team, &Manager::Operator, members).map_err(ChangeError::Refused)?;
    let record = match next {
        Some((name, members)) => {
            check_label(name).map_err(ChangeError::InvalidName)?;
            Some(Group {
                name: name.to_owned(),
                members: members.clone(),
            })
        }
        None => None,
    };
    if team.groups.get(group) == record.as_ref() {
        return Ok(false);
    }
    match record {
        Some(g) => team.groups.insert(group.clone(), g),
        None => team.groups.remove(group),
    };
    target.put_team(workspace, &team)?;
    Ok(true)
}

pub(super) fn put_sharing<T: Target>(
    target: &mut T,
    table: &Id,
    sharing: &TableSharing,
) -> Result<bool, T::Error> {
    let workspace = target
        .table_workspace(table)?
        .ok_or_else(|| ChangeError::UnknownTable(table.clone()))?;
    let team = team_of(target, &workspace)?;
    let current = target.sharing(table)?.unwrap_or_default();
    if &current == sharing {
        return Ok(false);
    }
    check_sharing_change(&team, &current, &Manager::Operator, sharing)
        .map_err(ChangeError::Refused)?;
    target.put_sharing(table, sharing)?;
    Ok(true)
}
