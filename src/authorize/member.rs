//! Member tokens at decision time: the token names only its user; what the
//! user may do on the requested resource (and only that resource) is read
//! from the registry's people and table settings (`model::access`, where
//! precedence is resolved in Rust because Datalog has no negation) and
//! handed to the policy as `member_right(user, kind, id, op)` facts, with
//! the grounds `--explain` names.

use std::collections::BTreeSet;

use biscuit_auth::builder::{fact, string, Fact};
use serde::{Deserialize, Serialize};

use crate::model::access::{
    team_table_rights, workspace_operations, Mode, TableRights, WorkspaceRole,
};
use crate::model::{Id, Operation, Registry, Resource, ResourceKind};

/// What the registry gave a member token's user on the requested resource:
/// the operations handed to the policy and why (`--explain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberGrounds {
    /// The token's user.
    pub user: Id,
    /// The user's role in the resource's workspace (none: not a member).
    #[serde(default)]
    pub role: Option<WorkspaceRole>,
    /// For a table or a view: the table's settings and what they gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableGrounds>,
    /// The operations the registry allows the user on the requested
    /// resource: the `member_right` facts the policy was given.
    #[serde(default)]
    pub operations: BTreeSet<Operation>,
}

/// A table's settings as they applied to one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableGrounds {
    /// The table (the view's table, for a view).
    pub table: Id,
    /// Its recorded author, if any.
    #[serde(default)]
    pub author: Option<Id>,
    /// The structure scope's mode.
    pub structure_mode: Mode,
    /// The records scope's mode.
    pub records_mode: Mode,
    /// What each scope gave and what decided it (mode, user entry, the
    /// groups whose entries applied, author, role), after the role's cap.
    pub rights: TableRights,
}

/// The operations a role allows on the workspace itself besides
/// [`workspace_operations`]: only the owner drops the workspace and manages
/// billing; owner and admin change its settings (TinyTables: an admin is
/// "the same as owner except billing and deleting the workspace").
fn workspace_lifecycle(role: WorkspaceRole) -> impl Iterator<Item = Operation> {
    [
        (role.manages_billing(), Operation::Drop),
        (role.manages_billing(), Operation::Billing),
        (role.reaches_every_table(), Operation::Settings),
    ]
    .into_iter()
    .filter_map(|(yes, op)| yes.then_some(op))
}

/// What `user` may do on `resource`, which lives in `workspace`: the role's
/// workspace operations for a workspace; for a table, its settings'
/// operations (plus `drop` when the user may delete the table); for a view,
/// its table's operations (the view's own settings are the policy's).
pub(super) fn grounds(
    registry: &Registry,
    user: &Id,
    resource: &Resource,
    workspace: &Id,
) -> MemberGrounds {
    let team = registry.people.team(workspace);
    let role = team.and_then(|t| t.role(user));
    let mut grounds = MemberGrounds {
        user: user.clone(),
        role,
        table: None,
        operations: BTreeSet::new(),
    };
    let table = match resource.kind {
        ResourceKind::Workspace => {
            if let Some(role) = role {
                grounds.operations = workspace_operations(role);
                grounds.operations.extend(workspace_lifecycle(role));
            }
            return grounds;
        }
        ResourceKind::Table => resource.id.clone(),
        ResourceKind::View => match registry.views.get(&resource.id) {
            Some(view) => view.table.clone(),
            None => return grounds,
        },
    };
    let sharing = registry.sharing_of(&table);
    let rights = team_table_rights(team, &sharing, user);
    grounds.operations = rights.operations();
    if resource.kind == ResourceKind::Table && rights.may_delete_table() {
        grounds.operations.insert(Operation::Drop);
    }
    grounds.table = Some(TableGrounds {
        table,
        author: sharing.author.clone(),
        structure_mode: sharing.access.structure.mode,
        records_mode: sharing.access.records.mode,
        rights,
    });
    grounds
}

/// The `member_right(user, kind, id, op)` facts for `grounds` on `resource`:
/// one per operation, from the registry only.
pub(super) fn facts<'a>(
    grounds: &'a MemberGrounds,
    resource: &Resource,
) -> impl Iterator<Item = Fact> + 'a {
    let kind = resource.kind.as_str();
    let id = resource.id.as_str().to_owned();
    grounds.operations.iter().map(move |op| {
        fact(
            "member_right",
            &[
                string(grounds.user.as_str()),
                string(kind),
                string(&id),
                string(op.as_str()),
            ],
        )
    })
}
