//! The people of the registry: users, their workspace roles, and groups.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::id::Id;
use super::role::WorkspaceRole;

/// A person the host product has logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's email address.
    pub email: String,
    /// The user's display name.
    pub name: String,
}

/// A named set of a workspace's members (Schema Builder's "user groups",
/// sourced from its roles settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The group's display name.
    pub name: String,
    /// The users in the group.
    pub members: BTreeSet<Id>,
}

/// One workspace's people: each member's role and the groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// User id → role.
    pub roles: BTreeMap<Id, WorkspaceRole>,
    /// Group id → group.
    pub groups: BTreeMap<Id, Group>,
    /// User id → when its assignment here ends (ValidGraph's expiring
    /// assignments); a member without an entry stays until removed. Once
    /// the instant has passed, the member is as if removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expires: BTreeMap<Id, DateTime<Utc>>,
}

impl Team {
    /// The user's role here, if a member.
    pub fn role(&self, user: &Id) -> Option<WorkspaceRole> {
        self.roles.get(user).copied()
    }

    /// The user's role here at `now`: none once its assignment has expired.
    pub fn role_at(&self, user: &Id, now: DateTime<Utc>) -> Option<WorkspaceRole> {
        self.role(user).filter(|_| !self.is_expired(user, now))
    }

    /// When the user's assignment here ends, if it does.
    pub fn expiry(&self, user: &Id) -> Option<DateTime<Utc>> {
        self.expires.get(user).copied()
    }

    /// True when the user's assignment here has an expiry at or before `now`.
    pub fn is_expired(&self, user: &Id, now: DateTime<Utc>) -> bool {
        self.expires.get(user).is_some_and(|at| *at <= now)
    }

    /// The team as of `now`: every member whose assignment has expired
    /// removed (with its groups), as if the removal had been made.
    pub fn as_of(&self, now: DateTime<Utc>) -> Team {
        let mut team = self.clone();
        let expired: Vec<Id> = self
            .expires
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(u, _)| u.clone())
            .collect();
        for user in &expired {
            team.remove(user);
        }
        team
    }

    /// The groups `user` belongs to.
    pub fn groups_of<'a>(&'a self, user: &'a Id) -> impl Iterator<Item = &'a Id> + 'a {
        self.groups
            .iter()
            .filter(move |(_, g)| g.members.contains(user))
            .map(|(id, _)| id)
    }

    /// True when `user` is in the group `group`.
    pub fn is_in_group(&self, user: &Id, group: &Id) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.members.contains(user))
    }

    /// How many owners the workspace has.
    pub fn owner_count(&self) -> usize {
        self.roles
            .values()
            .filter(|r| **r == WorkspaceRole::Owner)
            .count()
    }

    /// Removes `user` from the team and from every group.
    pub fn remove(&mut self, user: &Id) {
        self.roles.remove(user);
        self.expires.remove(user);
        for group in self.groups.values_mut() {
            group.members.remove(user);
        }
    }
}

/// Everyone: users by id and each workspace's team.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// User id → user.
    pub users: BTreeMap<Id, User>,
    /// Workspace id → its team.
    pub teams: BTreeMap<Id, Team>,
}

impl Directory {
    /// The team of `workspace` (empty when it has none).
    pub fn team(&self, workspace: &Id) -> Option<&Team> {
        self.teams.get(workspace)
    }

    /// The user's role in `workspace`, if a member of it.
    pub fn role(&self, workspace: &Id, user: &Id) -> Option<WorkspaceRole> {
        self.team(workspace).and_then(|t| t.role(user))
    }

    /// The user's role in `workspace` at `now` (none once its assignment
    /// there has expired).
    pub fn role_at(&self, workspace: &Id, user: &Id, now: DateTime<Utc>) -> Option<WorkspaceRole> {
        self.team(workspace).and_then(|t| t.role_at(user, now))
    }

    /// True when some assignment has an expiry at or before `now`.
    pub fn has_expired(&self, now: DateTime<Utc>) -> bool {
        self.teams
            .values()
            .any(|t| t.expires.values().any(|at| *at <= now))
    }

    /// The workspaces `user` belongs to, with the role in each.
    pub fn memberships<'a>(
        &'a self,
        user: &'a Id,
    ) -> impl Iterator<Item = (&'a Id, WorkspaceRole)> + 'a {
        self.teams
            .iter()
            .filter_map(move |(ws, team)| team.role(user).map(|r| (ws, r)))
    }

    /// Removes a user everywhere: its record, its roles, its groups.
    pub fn remove_user(&mut self, user: &Id) {
        self.users.remove(user);
        for team in self.teams.values_mut() {
            team.remove(user);
        }
    }
}
