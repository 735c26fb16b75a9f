//! Who may change whom: roles, groups and a table's sharing.

use super::*;
use crate::model::access::manage::{check_group_change, check_role_change, check_sharing_change};

fn ws() -> Id {
    id("ws_1")
}

/// The global admin replacing `table`'s access.
fn operator_sets(
    dir: &Directory,
    table: &TableSharing,
    access: &TableAccess,
) -> Result<(), Refusal> {
    check_sharing_change_to(dir, table, &Manager::Operator, access)
}

/// The people of ws_1.
fn team(dir: &Directory) -> &Team {
    dir.team(&ws()).unwrap()
}

/// `manager` replacing `table`'s access (its author unchanged).
fn check_sharing_change_to(
    dir: &Directory,
    table: &TableSharing,
    manager: &Manager<'_>,
    access: &TableAccess,
) -> Result<(), Refusal> {
    let next = TableSharing {
        author: table.author.clone(),
        access: access.clone(),
    };
    check_sharing_change(team(dir), table, manager, &next)
}

#[test]
fn the_last_owner_stays() {
    let dir = directory();
    for manager in [Manager::Operator, Manager::User(&id("u_adm"))] {
        let err = check_role_change(team(&dir), &manager, &id("u_own"), None).unwrap_err();
        assert!(
            matches!(err, Refusal::LastOwner | Refusal::AboveOwnLevel),
            "{err:?}"
        );
    }
    assert_eq!(
        check_role_change(
            team(&dir),
            &Manager::Operator,
            &id("u_own"),
            Some(WorkspaceRole::Admin)
        ),
        Err(Refusal::LastOwner)
    );
    let mut two = dir.clone();
    two.teams
        .get_mut(&ws())
        .unwrap()
        .roles
        .insert(id("u_adm"), WorkspaceRole::Owner);
    assert_eq!(
        check_role_change(team(&two), &Manager::Operator, &id("u_own"), None),
        Ok(())
    );
}

#[test]
fn nobody_changes_their_own_role_or_above_their_level() {
    let dir = directory();
    let adm = id("u_adm");
    let me = Manager::User(&adm);
    assert_eq!(
        check_role_change(team(&dir), &me, &adm, Some(WorkspaceRole::Owner)),
        Err(Refusal::OwnRole)
    );
    assert_eq!(
        check_role_change(team(&dir), &me, &id("u_mem"), Some(WorkspaceRole::Owner)),
        Err(Refusal::AboveOwnLevel)
    );
    assert_eq!(
        check_role_change(team(&dir), &me, &id("u_mem"), Some(WorkspaceRole::Admin)),
        Ok(())
    );
    let mem = id("u_mem");
    assert_eq!(
        check_role_change(
            team(&dir),
            &Manager::User(&mem),
            &id("u_view"),
            Some(WorkspaceRole::Member)
        ),
        Err(Refusal::NotWorkspaceAdmin)
    );
}

#[test]
fn only_the_author_or_an_admin_changes_permissions() {
    let dir = directory();
    let table = shared("u_mem", TableAccess::default());
    let private = ShareSettings::from_mode(vocab::ShareMode::Private).to_access();
    for (who, ok) in [
        ("u_mem", true),
        ("u_adm", true),
        ("u_own", true),
        ("u_fin", false),
        ("u_view", false),
    ] {
        let user = id(who);
        let result = check_sharing_change_to(&dir, &table, &Manager::User(&user), &private);
        assert_eq!(result.is_ok(), ok, "{who}: {result:?}");
        if !ok {
            assert_eq!(result.unwrap_err().code(), "not_author_or_admin");
        }
    }
}

#[test]
fn an_author_demoted_to_viewer_cannot_grant_above_reading() {
    let mut dir = directory();
    dir.teams
        .get_mut(&ws())
        .unwrap()
        .roles
        .insert(id("u_mem"), WorkspaceRole::Viewer);
    let table = shared("u_mem", TableAccess::default());
    let editor = share(r#"{"mode":"specific","people":[{"user":"u_fin","level":"editor"}]}"#);
    let mem = id("u_mem");
    assert_eq!(
        check_sharing_change_to(&dir, &table, &Manager::User(&mem), &editor),
        Err(Refusal::AboveOwnLevel)
    );
    let viewer = share(r#"{"mode":"specific","people":[{"user":"u_fin","level":"viewer"}]}"#);
    assert_eq!(
        check_sharing_change_to(&dir, &table, &Manager::User(&mem), &viewer),
        Ok(())
    );
}

#[test]
fn entries_must_name_the_workspace_s_people() {
    let dir = directory();
    let table = shared("u_mem", TableAccess::default());
    let outsider = share(r#"{"mode":"specific","people":[{"user":"u_zed","level":"viewer"}]}"#);
    assert_eq!(
        operator_sets(&dir, &table, &outsider),
        Err(Refusal::NotInWorkspace(id("u_zed")))
    );
    let no_group = share(r#"{"mode":"specific","people":[{"group":"g_x","level":"viewer"}]}"#);
    assert_eq!(
        operator_sets(&dir, &table, &no_group),
        Err(Refusal::UnknownGroup(id("g_x")))
    );
    let ignored: SchemaPermissions = serde_json::from_str(
        r#"{"schema":{"mode":"public","users":[{"id":"u_fin","permissions":["read"]}]},"records":{"mode":"public"}}"#,
    )
    .unwrap();
    assert_eq!(
        operator_sets(&dir, &table, &ignored.to_access()),
        Err(Refusal::EntriesNeedRestricted)
    );
    assert_eq!(
        check_group_change(
            team(&dir),
            &Manager::Operator,
            Some(&[id("u_fin"), id("u_zed")].into())
        ),
        Err(Refusal::NotInWorkspace(id("u_zed")))
    );
}
