use super::*;
use crate::model::{ModelError, Operation, Resource, Right, TokenKind};

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn entry(token: &str, view: &str, revocation_id: &str) -> LedgerEntry {
    LedgerEntry {
        token_id: id(token),
        kind: TokenKind::Guest,
        workspace: Some(id("ws_1")),
        user: None,
        scope: Some(Resource::view(id(view))),
        rights: vec![Right {
            resource: Resource::view(id(view)),
            operation: Operation::Read,
        }],
        expires_at: None,
        label: None,
        created_at: t0(),
        root_key_id: 1,
        revocation_ids: vec![revocation_id.to_owned()],
        revoked_at: None,
        revoke_reason: None,
        last_used_at: None,
        shared_by: None,
        embed: None,
    }
}

/// A registry with ws_1 ⊃ t_1 ⊃ v_1 and one guest token for v_1.
fn seeded() -> Memory {
    let mut m = Memory::default();
    let mut changes = plan_table(&id("t_1"), &id("ws_1"));
    changes.push(Change::PutView {
        view: id("v_1"),
        table: id("t_1"),
        settings: ViewSettings::default(),
    });
    changes.push(Change::TokenIssued {
        entry: entry("tk_1", "v_1", "aa01"),
    });
    for c in &changes {
        assert!(apply(&mut m, c, t0()).unwrap(), "{c:?}");
    }
    m
}

#[test]
fn every_change_reads_as_a_sentence() {
    let key = PublicKeyPart {
        key_id: 3,
        public_key: "ed25519/00".into(),
    };
    let cases = [
        (
            Change::PutWorkspace {
                workspace: id("ws_1"),
            },
            "settings_changed",
            "workspace ws_1 registered",
        ),
        (
            Change::PutTable {
                table: id("t_1"),
                workspace: id("ws_1"),
            },
            "settings_changed",
            "table t_1 registered in workspace ws_1",
        ),
        (
            Change::PutView {
                view: id("v_1"),
                table: id("t_1"),
                settings: ViewSettings {
                    public: true,
                    ..ViewSettings::default()
                },
            },
            "settings_changed",
            "view v_1 in table t_1: editable=true addable=true exportable=true public=true locked=false",
        ),
        (
            Change::TokenIssued {
                entry: entry("tk_1", "v_1", "aa01"),
            },
            "issued",
            "guest token for view:v_1",
        ),
        (
            Change::Revoke {
                revocation_id: "0123456789abcdef0123".into(),
                token_id: Some(id("tk_1")),
                reason: Some("leaked".into()),
            },
            "revoked",
            "revocation id 0123456789abcdef… (leaked)",
        ),
        (
            Change::KeysInitialised { key: key.clone() },
            "keys_initialised",
            "active root key 3",
        ),
        (
            Change::KeyRotated { key },
            "key_rotated",
            "new active root key 3",
        ),
        (Change::KeyRetired { key_id: 2 }, "key_retired", "root key 2"),
    ];
    for (change, event, sentence) in cases {
        assert_eq!(change.event(), event, "{change:?}");
        assert_eq!(change.to_string(), sentence, "{change:?}");
    }
}

#[test]
fn legacy_prose_rows_decode_as_legacy_changes() {
    let row = r#"{"seq":7,"at":"2026-11-22T10:00:00Z","event":"revoked","token_id":"tk_1","detail":"revocation id 00ff… (leaked)"}"#;
    let record = AuditRecord::decode(row).unwrap();
    assert_eq!(record.version, 0);
    assert_eq!(record.seq, 7);
    assert_eq!(record.at, t0());
    assert_eq!(record.actor, Actor::Unknown);
    assert_eq!(record.change.event(), "revoked");
    assert_eq!(record.change.token_id(), Some(&id("tk_1")));
    assert_eq!(record.change.to_string(), "revocation id 00ff… (leaked)");
    // A legacy event replays as nothing: its effect is only in the tables.
    let mut m = Memory::default();
    assert!(!apply(&mut m, &record.change, record.at).unwrap());
    assert_eq!(m, Memory::default());
    assert!(AuditRecord::decode(r#"{"seq":1}"#).is_err());
    assert!(AuditRecord::decode("not json").is_err());
}

#[test]
fn records_round_trip_and_newer_changes_decode_as_unknown() {
    let record = AuditRecord {
        version: AUDIT_VERSION,
        seq: 1,
        at: t0(),
        actor: Actor::Token(id("tk_admin")),
        change: Change::PutTable {
            table: id("t_1"),
            workspace: id("ws_1"),
        },
    };
    let json = serde_json::to_string(&record).unwrap();
    assert!(json.contains(r#""type":"put_table""#), "{json}");
    assert!(json.contains(r#""actor":{"token":"tk_admin"}"#), "{json}");
    assert_eq!(AuditRecord::decode(&json).unwrap(), record);

    let newer = r#"{"version":2,"seq":2,"at":"2026-11-22T10:00:00Z","actor":"cli","change":{"type":"member_added","member":"ann"}}"#;
    let record = AuditRecord::decode(newer).unwrap();
    assert_eq!(record.change, Change::Unknown);
    assert_eq!(
        apply(&mut Memory::default(), &record.change, t0()),
        Err(ChangeError::Unsupported)
    );
}

#[test]
fn registry_changes_are_checked_against_the_state() {
    let mut m = seeded();
    // Already so: nothing to record.
    for c in plan_table(&id("t_1"), &id("ws_1")) {
        assert!(!apply(&mut m, &c, t0()).unwrap());
    }
    assert_eq!(
        apply(
            &mut m,
            &Change::PutTable {
                table: id("t_1"),
                workspace: id("ws_2"),
            },
            t0()
        ),
        Err(ChangeError::TableInOtherWorkspace {
            table: id("t_1"),
            workspace: id("ws_1"),
        })
    );
    assert_eq!(
        apply(
            &mut m,
            &Change::PutTable {
                table: id("t_2"),
                workspace: id("ws_9"),
            },
            t0()
        ),
        Err(ChangeError::UnknownWorkspace(id("ws_9")))
    );
    assert_eq!(
        apply(
            &mut m,
            &Change::PutView {
                view: id("v_2"),
                table: id("t_9"),
                settings: ViewSettings::default(),
            },
            t0()
        ),
        Err(ChangeError::UnknownTable(id("t_9")))
    );
}

#[test]
fn view_plans_check_setting_names_before_anything_else() {
    let m = seeded();
    assert!(matches!(
        plan_view(&m, &id("v_404"), None, &[("shiny", true)]),
        Err(ChangeError::Setting(ModelError::UnknownSetting(name))) if name == "shiny"
    ));
    assert_eq!(
        plan_view(&m, &id("v_404"), None, &[("public", true)]),
        Err(ChangeError::UnknownView(id("v_404")))
    );
    let changes = plan_view(&m, &id("v_1"), None, &[("public", true)]).unwrap();
    assert_eq!(
        changes,
        vec![Change::PutView {
            view: id("v_1"),
            table: id("t_1"),
            settings: ViewSettings {
                public: true,
                ..ViewSettings::default()
            },
        }]
    );
}

#[test]
fn revocations_resolve_to_ids_and_mark_the_ledger_once() {
    let mut m = seeded();
    assert_eq!(
        plan_revoke(&m, &RevokeTarget::TokenId("tk_nope".into()), None),
        Err(ChangeError::UnknownToken("tk_nope".into()))
    );
    let by_view = plan_revoke(&m, &RevokeTarget::View(id("v_1")), Some("leaked")).unwrap();
    assert_eq!(
        by_view,
        vec![Change::Revoke {
            revocation_id: "aa01".into(),
            token_id: Some(id("tk_1")),
            reason: Some("leaked".into()),
        }]
    );
    let later = t0() + chrono::Duration::hours(1);
    assert!(apply(&mut m, &by_view[0], later).unwrap());
    let e = &m.ledger[&id("tk_1")];
    assert_eq!(e.revoked_at, Some(later));
    assert_eq!(e.revoke_reason.as_deref(), Some("leaked"));
    assert!(m.revocation_set().contains(&[0xaa, 0x01]));
    // Revoking again changes nothing and keeps the first record.
    let again = plan_revoke(
        &m,
        &RevokeTarget::RevocationIds(vec![vec![0xaa, 0x01]]),
        None,
    )
    .unwrap();
    assert!(!apply(&mut m, &again[0], later + chrono::Duration::hours(1)).unwrap());
    assert_eq!(m.revocations["aa01"].revoked_at, later);
    assert_eq!(
        apply(
            &mut m,
            &Change::Revoke {
                revocation_id: "zz".into(),
                token_id: None,
                reason: None,
            },
            t0()
        ),
        Err(ChangeError::BadRevocationId("zz".into()))
    );
}

#[test]
fn a_workspace_name_needs_the_workspace_and_a_printable_label_and_round_trips() {
    let mut m = seeded();
    let name = |ws: &str, name: &str| Change::NameWorkspace {
        workspace: id(ws),
        name: name.into(),
    };
    assert_eq!(
        apply(&mut m, &name("ws_9", "Client A"), t0()),
        Err(ChangeError::UnknownWorkspace(id("ws_9")))
    );
    assert_eq!(
        apply(&mut m, &name("ws_1", " "), t0()),
        Err(ChangeError::InvalidName(ModelError::InvalidLabel))
    );
    assert!(matches!(
        apply(&mut m, &name("ws_1", "bad\u{7}"), t0()),
        Err(ChangeError::InvalidName(ModelError::LabelCharacter { .. }))
    ));
    assert!(m.registry.workspace_names.is_empty());
    assert_eq!(apply(&mut m, &name("ws_1", "Client A"), t0()), Ok(true));
    assert_eq!(apply(&mut m, &name("ws_1", "Client A"), t0()), Ok(false));
    assert_eq!(m.registry.workspace_names[&id("ws_1")], "Client A");
    assert_eq!(
        name("ws_1", "Client A").to_string(),
        "workspace ws_1 named \"Client A\""
    );
    // An old audit record of a bare registration still reads.
    let old: Change =
        serde_json::from_str(r#"{"type":"put_workspace","workspace":"ws_1"}"#).unwrap();
    assert_eq!(
        old,
        Change::PutWorkspace {
            workspace: id("ws_1")
        }
    );
    let json = serde_json::to_string(&name("ws_1", "Client A")).unwrap();
    assert_eq!(
        serde_json::from_str::<Change>(&json).unwrap(),
        name("ws_1", "Client A")
    );
}

#[test]
fn an_assignment_expiry_needs_a_member_round_trips_and_a_new_role_ends_it() {
    use crate::model::access::{Refusal, WorkspaceRole};
    let mut m = seeded();
    let at = t0() + chrono::Duration::days(7);
    let expire = |expires_at| Change::ExpireMember {
        workspace: id("ws_1"),
        user: id("u_1"),
        expires_at,
    };
    assert_eq!(
        apply(&mut m, &expire(Some(at)), t0()),
        Err(ChangeError::Refused(Refusal::NotInWorkspace(id("u_1"))))
    );
    let user = Change::PutUser {
        user: id("u_1"),
        email: "u1@example.com".into(),
        name: "U".into(),
    };
    let member = Change::PutMember {
        workspace: id("ws_1"),
        user: id("u_1"),
        role: WorkspaceRole::Viewer,
    };
    for c in [&user, &member, &expire(Some(at))] {
        assert_eq!(apply(&mut m, c, t0()), Ok(true), "{c:?}");
    }
    assert_eq!(apply(&mut m, &expire(Some(at)), t0()), Ok(false));
    let people = &m.registry.people;
    assert_eq!(
        people.role_at(&id("ws_1"), &id("u_1"), t0()),
        Some(WorkspaceRole::Viewer)
    );
    assert_eq!(people.role_at(&id("ws_1"), &id("u_1"), at), None);
    assert_eq!(
        expire(Some(at)).to_string(),
        "user u_1's assignment to workspace ws_1 expires at 2026-11-29T10:00:00+00:00"
    );
    let json = serde_json::to_string(&expire(Some(at))).unwrap();
    assert_eq!(
        serde_json::from_str::<Change>(&json).unwrap(),
        expire(Some(at))
    );
    // The registry as of the expiry has no such member; a role given again
    // (the same one) is a lasting one.
    assert!(m.registry.as_of(at).people.teams[&id("ws_1")]
        .roles
        .is_empty());
    assert_eq!(apply(&mut m, &member, t0()), Ok(true));
    assert_eq!(
        m.registry.people.role_at(&id("ws_1"), &id("u_1"), at),
        Some(WorkspaceRole::Viewer)
    );
    assert_eq!(apply(&mut m, &member, t0()), Ok(false));
}
