//! Properties: a member's rights never exceed its role and the table's settings.

use super::*;
use proptest::prelude::*;

fn rights_strategy() -> impl Strategy<Value = Rights> {
    (0u8..16).prop_map(|bits| {
        Rights::of(
            &Permission::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, p)| *p)
                .collect::<Vec<_>>(),
        )
    })
}

fn mode_strategy() -> impl Strategy<Value = Mode> {
    prop::sample::select(Mode::ALL.to_vec())
}

fn scope_strategy() -> impl Strategy<Value = Scope> {
    (
        mode_strategy(),
        rights_strategy(),
        rights_strategy(),
        any::<bool>(),
    )
        .prop_map(|(mode, user, group, with_group)| {
            let mut scope = Scope::open(mode);
            scope.users.insert(id("u_x"), user);
            if with_group {
                scope.groups.insert(id("g_x"), group);
            }
            scope
        })
}

proptest! {
    /// A member's rights never exceed what the role and the table's
    /// settings allow: a viewer only reads; a non-author never exceeds
    /// the widest of the mode's and the entries' rights.
    #[test]
    fn rights_never_exceed_role_and_settings(
        role in prop::sample::select(WorkspaceRole::ALL.to_vec()),
        in_group in any::<bool>(),
        structure in scope_strategy(),
        records in scope_strategy(),
    ) {
        let mut dir = Directory::default();
        let mut team = Team::default();
        team.roles.insert(id("u_x"), role);
        let members = if in_group { [id("u_x")].into() } else { Default::default() };
        team.groups.insert(id("g_x"), Group { name: "X".into(), members });
        dir.teams.insert(id("ws_1"), team);
        let sharing = TableSharing { author: Some(id("u_author")), access: TableAccess { structure, records } };
        let got = table_rights(&dir, &id("ws_1"), &sharing, &id("u_x"));
        if role.is_read_only() {
            prop_assert!(got.operations().is_subset(&ops(&READ_ROWS)));
        }
        if !role.reaches_every_table() {
            for (scope, grounds) in [(&sharing.access.structure, &got.structure), (&sharing.access.records, &got.records)] {
                let ceiling = match scope.mode {
                    Mode::Restricted => scope.widest_entry(),
                    Mode::Public => Rights::of(&[Permission::Read, Permission::Edit, Permission::Execute]),
                    Mode::ReadOnly => Rights::of(&[Permission::Read]),
                    Mode::Private => Rights::NONE,
                };
                prop_assert!(grounds.rights.is_within(ceiling));
            }
        }
    }
}
