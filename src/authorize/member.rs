//! Member tokens at decision time: the token names only its user; what the
//! user may do on the requested resource (and only that resource) is read
//! from the registry's people and table settings (`model::access`, where
//! precedence is resolved in Rust because Datalog has no negation) and
//! handed to the policy as `member_right(user, kind, id, op)` facts, with
//! the grounds `--explain` names.

use std::collections::BTreeSet;

use biscuit_auth::builder::{fact, string, Fact};
use chrono::{DateTime, Utc};
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

/// What `user` may do on `resource`, which lives in `workspace`, at `now`
/// (an expired assignment counts as none): the role's
/// workspace operations for a workspace; for a table, its settings'
/// operations (with `drop` when the user may delete the table); for a view,
/// its table's operations but `drop` (the view's own settings are the policy's).
pub(super) fn grounds(
    registry: &Registry,
    user: &Id,
    resource: &Resource,
    workspace: &Id,
    now: DateTime<Utc>,
) -> MemberGrounds {
    let team = registry
        .people
        .team(workspace)
        .filter(|t| !t.is_expired(user, now));
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
    if resource.kind == ResourceKind::View {
        // Dropping is of the table itself, never through one of its views.
        grounds.operations.remove(&Operation::Drop);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{self, Change, Memory};

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    /// ws_1 ⊃ t_1 ⊃ v_1, t_1 open to the workspace (no sharing set);
    /// u_1 has `role`: built by the changes the admin API makes.
    fn registry(role: WorkspaceRole) -> Registry {
        let (ws, t, u) = (id("ws_1"), id("t_1"), id("u_1"));
        let changes = [
            Change::PutWorkspace {
                workspace: ws.clone(),
            },
            Change::PutTable {
                table: t.clone(),
                workspace: ws.clone(),
            },
            Change::PutView {
                view: id("v_1"),
                table: t,
                settings: Default::default(),
            },
            Change::PutUser {
                user: u.clone(),
                email: "u1@example.com".into(),
                name: "U".into(),
            },
            Change::PutMember {
                workspace: ws,
                user: u,
                role,
            },
        ];
        let mut memory = Memory::default();
        for c in &changes {
            change::apply(&mut memory, c, chrono::DateTime::UNIX_EPOCH).unwrap();
        }
        memory.registry
    }

    fn ops_on(role: WorkspaceRole, resource: Resource) -> BTreeSet<Operation> {
        let now = chrono::DateTime::UNIX_EPOCH;
        grounds(&registry(role), &id("u_1"), &resource, &id("ws_1"), now).operations
    }

    #[test]
    fn only_the_owner_drops_the_workspace_and_manages_billing() {
        use Operation::{Billing, Drop, Settings};
        let ws = || Resource::workspace(id("ws_1"));
        let owner = ops_on(WorkspaceRole::Owner, ws());
        assert!([Drop, Billing, Settings].iter().all(|o| owner.contains(o)));
        let admin = ops_on(WorkspaceRole::Admin, ws());
        assert!(admin.contains(&Settings));
        assert!(!admin.contains(&Drop) && !admin.contains(&Billing));
        for role in [WorkspaceRole::Member, WorkspaceRole::Viewer] {
            let ops = ops_on(role, ws());
            assert!(
                ops.iter().all(|o| !Operation::LIFECYCLE.contains(o)),
                "{role}: {ops:?}"
            );
        }
    }

    #[test]
    fn a_table_is_dropped_with_delete_on_its_structure_never_through_a_view() {
        let table = ops_on(WorkspaceRole::Admin, Resource::table(id("t_1")));
        assert!(table.contains(&Operation::Drop));
        let view = ops_on(WorkspaceRole::Admin, Resource::view(id("v_1")));
        assert!(!view.contains(&Operation::Drop));
        assert_eq!(view, &table - &[Operation::Drop].into());
        let member = ops_on(WorkspaceRole::Member, Resource::table(id("t_1")));
        assert!(!member.contains(&Operation::Drop), "{member:?}");
    }

    #[test]
    fn an_expired_assignment_gives_nothing_from_its_instant_on() {
        let mut reg = registry(WorkspaceRole::Viewer);
        let at = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(7);
        let team = reg.people.teams.get_mut(&id("ws_1")).unwrap();
        team.expires.insert(id("u_1"), at);
        let before = at - chrono::Duration::seconds(1);
        for resource in [Resource::workspace(id("ws_1")), Resource::view(id("v_1"))] {
            let g = grounds(&reg, &id("u_1"), &resource, &id("ws_1"), before);
            assert!(g.operations.contains(&Operation::Read), "{resource:?}");
            let g = grounds(&reg, &id("u_1"), &resource, &id("ws_1"), at);
            assert_eq!(g.role, None, "{resource:?}");
            assert!(g.operations.is_empty(), "{resource:?}");
        }
    }

    #[test]
    fn a_user_of_another_workspace_gets_nothing() {
        let reg = registry(WorkspaceRole::Owner);
        let now = chrono::DateTime::UNIX_EPOCH;
        let g = grounds(
            &reg,
            &id("u_2"),
            &Resource::table(id("t_1")),
            &id("ws_1"),
            now,
        );
        assert_eq!(g.role, None);
        assert!(g.operations.is_empty());
        assert_eq!(facts(&g, &Resource::table(id("t_1"))).count(), 0);
    }
}
