//! What a member may do: the role, the table's author and access settings
//! and the groups, resolved in Rust (Datalog has no negation, so the
//! precedence rules live here) into the operations the policy is given for
//! the one requested resource.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::super::id::Id;
use super::super::resource::Operation;
use super::directory::{Directory, Team};
use super::rights::{Permission, Rights};
use super::role::WorkspaceRole;
use super::table::{Mode, Scope, TableSharing};

/// Why a scope gives what it gives: what `--explain` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Basis {
    /// The user is not a member of the workspace.
    NotMember,
    /// An owner or admin reaches every table.
    Role {
        /// The role.
        role: WorkspaceRole,
    },
    /// The table's author reaches all of it.
    Author,
    /// The scope's mode decided (private, public, read-only).
    Mode {
        /// The mode.
        mode: Mode,
    },
    /// The user's own entry on a restricted scope.
    UserEntry,
    /// The entries of these groups, which apply over the user's own.
    GroupEntries {
        /// The groups whose entries applied.
        groups: Vec<Id>,
    },
    /// A restricted scope with no entry for the user or its groups.
    NoEntry,
}

/// One scope's outcome: the rights and what gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grounds {
    /// The rights after the role's cap.
    pub rights: Rights,
    /// What decided them.
    pub basis: Basis,
    /// True when the role cut the rights down (a viewer only reads).
    pub capped_by_role: bool,
}

impl Grounds {
    fn of(rights: Rights, basis: Basis) -> Grounds {
        Grounds {
            rights,
            basis,
            capped_by_role: false,
        }
    }

    fn capped(mut self, cap: Rights) -> Grounds {
        let capped = self.rights.intersect(cap);
        self.capped_by_role = capped != self.rights;
        self.rights = capped;
        self
    }
}

/// A member's access to one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRights {
    /// The user's role in the table's workspace, if any.
    pub role: Option<WorkspaceRole>,
    /// What the structure scope gives.
    pub structure: Grounds,
    /// What the records scope gives.
    pub records: Grounds,
}

impl TableRights {
    /// The Tessera operations these rights allow on the table and its views:
    /// records read → read, export; records execute → create; records edit
    /// → write; records delete → delete; structure edit → manage;
    /// structure execute → share.
    pub fn operations(&self) -> BTreeSet<Operation> {
        let r = self.records.rights;
        let s = self.structure.rights;
        [
            (r.has(Permission::Read), Operation::Read),
            (r.has(Permission::Read), Operation::Export),
            (r.has(Permission::Execute), Operation::Create),
            (r.has(Permission::Edit), Operation::Write),
            (r.has(Permission::Delete), Operation::Delete),
            (s.has(Permission::Edit), Operation::Manage),
            (s.has(Permission::Execute), Operation::Share),
        ]
        .into_iter()
        .filter_map(|(yes, op)| yes.then_some(op))
        .collect()
    }

    /// Deleting the table itself: structure delete (TinyTables: full
    /// access, or the admin role).
    pub fn may_delete_table(&self) -> bool {
        self.structure.rights.has(Permission::Delete)
    }
}

/// The most a role lets a member do on any table, whatever it grants.
pub fn role_cap(role: WorkspaceRole) -> Rights {
    if role.is_read_only() {
        Rights::of(&[Permission::Read])
    } else {
        Rights::ALL
    }
}

/// What `mode` gives every member on a scope (entries aside).
fn mode_rights(mode: Mode) -> Rights {
    use Permission::*;
    match mode {
        Mode::Private | Mode::Restricted => Rights::NONE,
        Mode::Public => Rights::of(&[Read, Edit, Execute]),
        Mode::ReadOnly => Rights::of(&[Read]),
    }
}

/// A restricted scope's rights for `user`: the entries of its groups when
/// any of them has one (only the scope's entries are walked, never all the
/// workspace's groups) (the group's entry applies over the individual's),
/// else its own entry.
fn entry_rights(scope: &Scope, team: &Team, user: &Id) -> Grounds {
    let groups: Vec<(Id, Rights)> = scope
        .groups
        .iter()
        .filter(|(g, _)| team.is_in_group(user, g))
        .map(|(g, r)| (g.clone(), *r))
        .collect();
    if !groups.is_empty() {
        let rights = groups
            .iter()
            .fold(Rights::NONE, |acc, (_, r)| acc.union(*r));
        let groups = groups.into_iter().map(|(g, _)| g).collect();
        return Grounds::of(rights, Basis::GroupEntries { groups });
    }
    match scope.users.get(user) {
        Some(rights) => Grounds::of(*rights, Basis::UserEntry),
        None => Grounds::of(Rights::NONE, Basis::NoEntry),
    }
}

fn scope_rights(scope: &Scope, team: &Team, user: &Id) -> Grounds {
    match scope.mode {
        Mode::Restricted => entry_rights(scope, team, user),
        mode => Grounds::of(mode_rights(mode), Basis::Mode { mode }),
    }
}

/// What `user` may do on a table of `workspace` shared as `sharing`.
pub fn table_rights(
    directory: &Directory,
    workspace: &Id,
    sharing: &TableSharing,
    user: &Id,
) -> TableRights {
    team_table_rights(directory.team(workspace), sharing, user)
}

/// What `user` may do on a table of the workspace whose people are `team`.
pub fn team_table_rights(team: Option<&Team>, sharing: &TableSharing, user: &Id) -> TableRights {
    let Some((team, role)) = team.and_then(|t| t.role(user).map(|r| (t, r))) else {
        let none = Grounds::of(Rights::NONE, Basis::NotMember);
        return TableRights {
            role: None,
            structure: none.clone(),
            records: none,
        };
    };
    let both = |g: Grounds| TableRights {
        role: Some(role),
        structure: g.clone(),
        records: g,
    };
    if role.reaches_every_table() {
        return both(Grounds::of(Rights::ALL, Basis::Role { role }));
    }
    let cap = role_cap(role);
    if sharing.author.as_ref() == Some(user) {
        return both(Grounds::of(Rights::ALL, Basis::Author).capped(cap));
    }
    let access = &sharing.access;
    TableRights {
        role: Some(role),
        structure: scope_rights(&access.structure, team, user).capped(cap),
        records: scope_rights(&access.records, team, user).capped(cap),
    }
}

/// What a member's role allows on the workspace itself (not one table):
/// everyone reads and exports what they can see; members and above
/// create tables; owners and admins do everything.
pub fn workspace_operations(role: WorkspaceRole) -> BTreeSet<Operation> {
    let ops: &[Operation] = match role {
        WorkspaceRole::Viewer => &[Operation::Read, Operation::Export],
        WorkspaceRole::Member => &[Operation::Read, Operation::Export, Operation::Create],
        WorkspaceRole::Admin | WorkspaceRole::Owner => &Operation::ALL,
    };
    ops.iter().copied().collect()
}
