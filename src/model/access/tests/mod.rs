use std::collections::BTreeSet;

use super::super::id::Id;
use super::super::resource::Operation;

use super::*;

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn ops(list: &[Operation]) -> BTreeSet<Operation> {
    list.iter().copied().collect()
}

/// ws_1 with an owner, an admin, two members (u_mem, u_fin), a viewer;
/// group g_fin = {u_fin}.
fn directory() -> Directory {
    let mut dir = Directory::default();
    let mut team = Team::default();
    for (u, role) in [
        ("u_own", WorkspaceRole::Owner),
        ("u_adm", WorkspaceRole::Admin),
        ("u_mem", WorkspaceRole::Member),
        ("u_fin", WorkspaceRole::Member),
        ("u_view", WorkspaceRole::Viewer),
    ] {
        dir.users.insert(
            id(u),
            User {
                email: format!("{u}@example.com"),
                name: u.into(),
            },
        );
        team.roles.insert(id(u), role);
    }
    team.groups.insert(
        id("g_fin"),
        Group {
            name: "Finance".into(),
            members: [id("u_fin")].into(),
        },
    );
    dir.teams.insert(id("ws_1"), team);
    dir
}

fn shared(author: &str, access: TableAccess) -> TableSharing {
    TableSharing {
        author: Some(id(author)),
        access,
    }
}

fn rights(dir: &Directory, sharing: &TableSharing, user: &str) -> TableRights {
    table_rights(dir, &id("ws_1"), sharing, &id(user))
}

const READ_ROWS: [Operation; 2] = [Operation::Read, Operation::Export];

/// Everything one can do to a table: the data operations and dropping it.
fn table_ops() -> BTreeSet<Operation> {
    Operation::ALL
        .into_iter()
        .chain([Operation::Drop])
        .collect()
}

#[test]
fn only_the_owner_manages_billing_or_drops_the_workspace() {
    let owner = workspace_operations(WorkspaceRole::Owner);
    let admin = workspace_operations(WorkspaceRole::Admin);
    for op in [Operation::Billing, Operation::Drop] {
        assert!(owner.contains(&op) && !admin.contains(&op), "{op}");
    }
    assert!(admin.contains(&Operation::Settings));
    assert!(workspace_operations(WorkspaceRole::Member).contains(&Operation::Create));
    assert!(!workspace_operations(WorkspaceRole::Viewer).contains(&Operation::Create));
}

#[test]
fn tinytables_workspace_table_by_role() {
    let dir = directory();
    let table = shared("u_mem", TableAccess::default());
    let member = rights(&dir, &table, "u_fin").operations();
    for op in [Operation::Read, Operation::Write, Operation::Create] {
        assert!(member.contains(&op), "member lacks {op}");
    }
    assert!(!member.contains(&Operation::Delete), "member deletes rows");
    assert_eq!(rights(&dir, &table, "u_view").operations(), ops(&READ_ROWS));
    for boss in ["u_own", "u_adm"] {
        assert_eq!(rights(&dir, &table, boss).operations(), table_ops());
        assert!(rights(&dir, &table, boss).may_delete_table());
    }
    assert!(!rights(&dir, &table, "u_fin").may_delete_table());
}

#[test]
fn tinytables_private_table_is_its_creator_s_alone() {
    let dir = directory();
    let table = shared(
        "u_mem",
        ShareSettings::from_mode(vocab::ShareMode::Private).to_access(),
    );
    assert_eq!(rights(&dir, &table, "u_mem").operations(), table_ops());
    assert!(rights(&dir, &table, "u_fin").operations().is_empty());
    assert!(rights(&dir, &table, "u_view").operations().is_empty());
    assert_eq!(rights(&dir, &table, "u_adm").operations(), table_ops());
    assert_eq!(
        rights(&dir, &table, "u_fin").records.basis,
        Basis::Mode {
            mode: Mode::Private
        }
    );
}

#[test]
fn tinytables_specific_people_levels() {
    let dir = directory();
    let settings: ShareSettings = serde_json::from_str(
        r#"{"mode":"specific","people":[{"user":"u_fin","level":"editor"},{"user":"u_view","level":"full"}]}"#,
    )
    .unwrap();
    let table = shared("u_mem", settings.to_access());
    let editor = rights(&dir, &table, "u_fin");
    assert_eq!(
        editor.operations(),
        ops(&[
            Operation::Read,
            Operation::Export,
            Operation::Write,
            Operation::Create
        ])
    );
    assert!(!editor.may_delete_table());
    // A viewer's role caps even a full entry: it only reads.
    let viewer = rights(&dir, &table, "u_view");
    assert_eq!(viewer.operations(), ops(&READ_ROWS));
    assert!(viewer.records.capped_by_role);
    // Not named: nothing.
    assert_eq!(rights(&dir, &table, "u_adm").operations(), table_ops());
    let mut other = dir.clone();
    other
        .teams
        .get_mut(&id("ws_1"))
        .unwrap()
        .roles
        .insert(id("u_new"), WorkspaceRole::Member);
    assert!(rights(&other, &table, "u_new").operations().is_empty());
    assert_eq!(
        rights(&other, &table, "u_new").records.basis,
        Basis::NoEntry
    );
}

#[test]
fn a_full_entry_deletes_the_table_an_editor_does_not() {
    let dir = directory();
    let settings = share(r#"{"mode":"specific","people":[{"user":"u_fin","level":"full"}]}"#);
    assert!(rights(&dir, &shared("u_mem", settings), "u_fin").may_delete_table());
}

#[test]
fn group_entry_applies_over_the_individual_one() {
    // Schema Builder: "the user group permissions are applicable then".
    // (Baserow does the opposite; this pins Tessera's rule.)
    let dir = directory();
    let perms: SchemaPermissions = serde_json::from_str(
        r#"{"schema":{"mode":"read-only"},
            "records":{"mode":"restricted",
              "users":[{"id":"u_fin","permissions":["read","edit","delete","execute"]}],
              "groups":[{"id":"g_fin","permissions":["read"]}]}}"#,
    )
    .unwrap();
    let table = shared("u_own", perms.to_access());
    let fin = rights(&dir, &table, "u_fin");
    assert_eq!(fin.operations(), ops(&READ_ROWS));
    assert_eq!(
        fin.records.basis,
        Basis::GroupEntries {
            groups: vec![id("g_fin")]
        }
    );
}

#[test]
fn the_individual_entry_applies_when_no_group_has_one() {
    let dir = directory();
    let perms: SchemaPermissions = serde_json::from_str(
        r#"{"schema":{"mode":"public"},
            "records":{"mode":"restricted","users":[{"id":"u_fin","permissions":["read","execute"]}]}}"#,
    )
    .unwrap();
    let fin = rights(&dir, &shared("u_own", perms.to_access()), "u_fin");
    assert_eq!(
        fin.operations(),
        ops(&[
            Operation::Read,
            Operation::Export,
            Operation::Create,
            Operation::Manage,
            Operation::Share
        ])
    );
    assert_eq!(fin.records.basis, Basis::UserEntry);
}

#[test]
fn schema_builder_modes() {
    let dir = directory();
    let case = |schema: Mode, records: Mode| {
        let access = TableAccess {
            structure: Scope::open(schema),
            records: Scope::open(records),
        };
        rights(&dir, &shared("u_own", access), "u_mem").operations()
    };
    // Public structure: view and edit the schema, add records.
    assert!(case(Mode::Public, Mode::Public).contains(&Operation::Manage));
    // Read-only structure: only the author edits it.
    assert!(!case(Mode::ReadOnly, Mode::Public).contains(&Operation::Manage));
    // Private records: hidden from everyone but the author.
    assert!(!case(Mode::Public, Mode::Private).contains(&Operation::Read));
    // Read-only records: read, never add.
    let ro = case(Mode::Public, Mode::ReadOnly);
    assert!(ro.contains(&Operation::Read) && !ro.contains(&Operation::Create));
    // Public records: add.
    assert!(case(Mode::ReadOnly, Mode::Public).contains(&Operation::Create));
}

#[test]
fn non_members_get_nothing_anywhere() {
    let mut dir = directory();
    dir.users.insert(
        id("u_out"),
        User {
            email: "o@example.com".into(),
            name: "O".into(),
        },
    );
    let table = shared("u_out", TableAccess::default());
    let out = rights(&dir, &table, "u_out");
    assert!(out.operations().is_empty());
    assert_eq!(out.records.basis, Basis::NotMember);
}

#[test]
fn both_vocabularies_write_the_one_model() {
    let workspace = ShareSettings::from_mode(vocab::ShareMode::Workspace).to_access();
    let public: SchemaPermissions =
        serde_json::from_str(r#"{"schema":{"mode":"public"},"records":{"mode":"public"}}"#)
            .unwrap();
    assert_eq!(workspace, public.to_access());
    assert_eq!(workspace, TableAccess::default());
    let read_back = ShareSettings::from_access(&public.to_access());
    assert_eq!(read_back.mode, vocab::ShareMode::Workspace);
    assert!(read_back.exact);
    let specific: ShareSettings = serde_json::from_str(
        r#"{"mode":"specific","people":[{"group":"g_fin","level":"editor"},{"user":"u_fin","level":"viewer"}]}"#,
    )
    .unwrap();
    let model = specific.to_access();
    assert_eq!(SchemaPermissions::from_access(&model).to_access(), model);
    let again = ShareSettings::from_access(&model);
    assert_eq!(again.to_access(), model);
    assert!(again.exact);
    let odd: SchemaPermissions =
        serde_json::from_str(r#"{"schema":{"mode":"read-only"},"records":{"mode":"public"}}"#)
            .unwrap();
    assert!(!ShareSettings::from_access(&odd.to_access()).exact);
}

#[test]
fn unknown_words_are_refused_with_their_code() {
    assert_eq!(
        "boss".parse::<WorkspaceRole>().unwrap_err().code(),
        "unknown_role"
    );
    assert_eq!("root".parse::<Level>().unwrap_err().code(), "unknown_level");
    assert_eq!("open".parse::<Mode>().unwrap_err().code(), "unknown_mode");
    assert_eq!(
        "fly".parse::<Permission>().unwrap_err().code(),
        "unknown_permission"
    );
    assert!(serde_json::from_str::<ShareSettings>(r#"{"mode":"everyone"}"#).is_err());
}

/// A TinyTables share setting from its JSON.
fn share(json: &str) -> TableAccess {
    serde_json::from_str::<ShareSettings>(json)
        .unwrap()
        .to_access()
}

mod manage;
mod properties;
