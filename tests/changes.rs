//! Every state change is one structured, versioned record in the audit log:
//! the registry, the revocation set and the ledger rebuild from the log
//! alone (with the one pure `change::apply`) and equal what the store holds;
//! `tessera audit` reads each change as a sentence; old prose records still
//! read; and admin API errors carry the right reason, in the API's words.

mod server;

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{json, Value};

use tessera::api::{AuditLog, ErrorAnswer, IssuedToken, TokenList, ViewInfo};
use tessera::change::{
    Actor, AuditRecord, Change, ChangeError, Memory, PublicKeyPart, RevokeTarget, AUDIT_VERSION,
};
use tessera::keys::PrivateKeyring;
use tessera::model::{
    Grant, Id, LedgerEntry, ModelError, Operation, Resource, Right, TokenKind, ViewSettings,
};
use tessera::store::{Store, StoreError};
use tessera::token::{self, TokenError};

use server::{client, Server};

const AUDIT: TableDefinition<u64, &str> = TableDefinition::new("audit");

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn ops(list: &str) -> std::collections::BTreeSet<Operation> {
    Operation::parse_list(list).unwrap()
}

/// The store's state, in the shape the replay produces.
fn stored(store: &Store) -> Memory {
    Memory {
        registry: store.registry().unwrap(),
        revocations: store.revocation_records().unwrap(),
        ledger: store
            .ledger()
            .unwrap()
            .into_iter()
            .map(|e| (e.token_id.clone(), e))
            .collect(),
    }
}

/// Drives a store through every kind of change, at increasing times.
fn drive_every_change(store: &Store) -> PrivateKeyring {
    let mut rng = StdRng::seed_from_u64(11);
    let mut at = t0();
    let mut tick = || {
        at += Duration::minutes(1);
        at
    };
    let mut ring = PrivateKeyring::generate_with_rng(&mut rng, t0());
    let keys = Change::KeysInitialised {
        key: PublicKeyPart::of(ring.active()),
    };
    store.apply(&keys, &Actor::Cli, tick()).unwrap();

    store.set_workspace(&id("ws_0"), tick()).unwrap();
    store.set_table(&id("t_1"), &id("ws_1"), tick()).unwrap();
    store
        .set_view(&id("v_1"), Some((&id("t_1"), &id("ws_1"))), &[], tick())
        .unwrap();
    store
        .set_view(
            &id("v_2"),
            Some((&id("t_2"), &id("ws_1"))),
            &[("public", true)],
            tick(),
        )
        .unwrap();
    store
        .set_view(&id("v_1"), None, &[("exportable", false)], tick())
        .unwrap();

    let mut issue = |grant: Grant, now: DateTime<Utc>| -> LedgerEntry {
        let issued = token::issue_with_rng(&grant, &ring, now, &mut rng).unwrap();
        store.record_issued(&issued.entry).unwrap();
        issued.entry
    };
    let guest_1 = issue(Grant::guest(id("ws_1"), id("v_1"), &ops("read")), tick());
    let guest_2 = issue(
        Grant::guest(id("ws_1"), id("v_1"), &ops("read,write")),
        tick(),
    );
    let guest_3 = issue(Grant::guest(id("ws_1"), id("v_2"), &ops("read")), tick());
    let key = issue(
        Grant::api_key(id("ws_1"), None, &ops("read")).label(Some("etl".into())),
        tick(),
    );
    issue(Grant::admin(), tick());

    // Revoke by token id, by view, by revocation id (an owned one and a
    // stray one), through the actor-taking entry point too.
    store
        .revoke_token_id(key.token_id.as_str(), Some("rotated"), tick())
        .unwrap();
    let by_view = store
        .revoke_target(
            &RevokeTarget::View(id("v_1")),
            Some("link leaked"),
            &Actor::Token(id("tk_admin")),
            tick(),
        )
        .unwrap();
    let mut by_view_tokens = by_view.revoked().token_ids;
    by_view_tokens.sort();
    let mut expected = vec![guest_1.token_id.clone(), guest_2.token_id.clone()];
    expected.sort();
    assert_eq!(by_view_tokens, expected, "both tokens of v_1, not v_2's");
    let owned = hex::decode(&guest_3.revocation_ids[0]).unwrap();
    store.revoke(&[owned, vec![7u8; 64]], None, tick()).unwrap();

    let rotated = ring.rotate_with_rng(&mut StdRng::seed_from_u64(12), tick());
    let change = Change::KeyRotated {
        key: PublicKeyPart::of(ring.active()),
    };
    assert_eq!(ring.active().id(), rotated);
    store.apply(&change, &Actor::Cli, tick()).unwrap();
    let retired = ring.keys()[0].id();
    ring.retire(retired).unwrap();
    let change = Change::KeyRetired { key_id: retired };
    store.apply(&change, &Actor::Cli, tick()).unwrap();
    ring
}

#[test]
fn the_registry_revocations_and_ledger_rebuild_from_the_audit_log_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tessera.redb");
    let store = Store::create(&path).unwrap();
    drive_every_change(&store);

    let records = store.audit().unwrap();
    let kinds: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.change.event()).collect();
    assert_eq!(
        kinds,
        [
            "issued",
            "key_retired",
            "key_rotated",
            "keys_initialised",
            "revoked",
            "settings_changed"
        ]
        .into_iter()
        .collect(),
        "every kind of change is in the log"
    );
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1, "gapless");
        assert_eq!(r.version, AUDIT_VERSION);
    }

    let replayed = Memory::replay(&records).unwrap();
    let held = stored(&store);
    assert_eq!(replayed.registry, held.registry, "registry");
    assert_eq!(replayed.ledger, held.ledger, "ledger");
    assert_eq!(replayed.revocations, held.revocations, "revocations");
    assert_eq!(held.revocations.len(), 5, "key, 2 by view, guest_3, stray");
    let set = store.revocations().unwrap();
    let rebuilt = replayed.revocation_set();
    assert_eq!(rebuilt.len(), set.len());
    for hex_id in held.revocations.keys() {
        let bytes = hex::decode(hex_id).unwrap();
        assert!(set.contains(&bytes) && rebuilt.contains(&bytes), "{hex_id}");
    }
    assert_eq!(
        held.registry.views[&id("v_1")].settings,
        ViewSettings {
            exportable: false,
            ..ViewSettings::default()
        }
    );
    assert!(records
        .iter()
        .any(|r| r.actor == Actor::Token(id("tk_admin")) && r.change.event() == "revoked"));

    // The rows themselves are structured: each is a versioned record, not prose.
    drop(store);
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(AUDIT).unwrap();
    let mut rows = 0;
    for row in table.iter().unwrap() {
        let (_, v) = row.unwrap();
        let raw: Value = serde_json::from_str(v.value()).unwrap();
        assert_eq!(raw["version"], AUDIT_VERSION, "{raw}");
        assert!(raw["change"]["type"].is_string(), "{raw}");
        assert!(raw.get("detail").is_none(), "no prose in the row: {raw}");
        let record: AuditRecord = serde_json::from_value(raw).unwrap();
        assert_eq!(record, records[rows]);
        rows += 1;
    }
    assert_eq!(rows, records.len());
}

#[test]
fn a_rejected_change_writes_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("s.redb")).unwrap();
    store
        .set_view(&id("v_1"), Some((&id("t_1"), &id("ws_1"))), &[], t0())
        .unwrap();
    let before = store.audit().unwrap();

    // An unknown view setting is the request's fault, not the database's.
    match store.set_view(&id("v_1"), None, &[("public", true), ("shiny", true)], t0()) {
        Err(StoreError::Rejected(ChangeError::Setting(ModelError::UnknownSetting(name)))) => {
            assert_eq!(name, "shiny")
        }
        other => panic!("expected an unknown setting, got {other:?}"),
    }
    assert!(!store.registry().unwrap().views[&id("v_1")].settings.public);
    match store.set_table(&id("t_1"), &id("ws_2"), t0()) {
        Err(StoreError::Rejected(ChangeError::TableInOtherWorkspace { table, workspace })) => {
            assert_eq!((table, workspace), (id("t_1"), id("ws_1")))
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(
        !store.registry().unwrap().workspaces.contains(&id("ws_2")),
        "all or nothing: the workspace of a refused table is not registered"
    );
    match store.revoke_token_id("tk_nope", None, t0()) {
        Err(StoreError::Rejected(ChangeError::UnknownToken(t))) => assert_eq!(t, "tk_nope"),
        other => panic!("expected an unknown token, got {other:?}"),
    }
    assert_eq!(store.audit().unwrap(), before, "nothing was recorded");
}

#[test]
fn a_token_without_a_workspace_is_refused_for_its_workspace_not_its_operations() {
    let ring = PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(3), t0());
    let grant = Grant {
        kind: TokenKind::ApiKey,
        workspace: None,
        user: None,
        rights: vec![Right {
            resource: Resource::table(id("t_1")),
            operation: Operation::Read,
        }],
        expires_at: None,
        label: None,
        shared_by: None,
        embed: None,
    };
    let err = token::issue_with_rng(&grant, &ring, t0(), &mut StdRng::seed_from_u64(4))
        .expect_err("refused");
    assert!(
        matches!(
            &err,
            TokenError::Invalid(ModelError::MissingField {
                field: "a workspace",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "a api_key token needs a workspace");
}

fn tessera(data: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("tessera")
        .unwrap()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The id of the active root key, as `tessera keys list` shows it.
fn active_key(data: &Path) -> String {
    tessera(data, &["keys", "list"])
        .lines()
        .find_map(|l| {
            let mut cols = l.split_whitespace();
            let id = cols.next()?;
            (cols.next()? == "active").then(|| id.to_owned())
        })
        .expect("an active key")
}

#[test]
fn tessera_audit_prints_one_sentence_per_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    tessera(&data, &["init"]);
    tessera(
        &data,
        &[
            "view",
            "set",
            "v_1",
            "--table",
            "t_1",
            "--workspace",
            "ws_1",
        ],
    );
    tessera(&data, &["view", "set", "v_1", "--public", "true"]);
    let issued: Value = serde_json::from_str(&tessera(
        &data,
        &[
            "issue",
            "guest",
            "--workspace",
            "ws_1",
            "--view",
            "v_1",
            "--allow",
            "read",
            "--json",
        ],
    ))
    .unwrap();
    let token_id = issued["token_id"].as_str().unwrap().to_owned();
    let first_id = issued["revocation_ids"][0].as_str().unwrap().to_owned();
    tessera(&data, &["revoke", &token_id, "--reason", "leaked"]);
    let first_key = active_key(&data);
    tessera(&data, &["keys", "rotate"]);
    let second_key = active_key(&data);

    let expected = [
        ("keys_initialised", format!("active root key {first_key}")),
        ("settings_changed", "workspace ws_1 registered".to_owned()),
        (
            "settings_changed",
            "table t_1 registered in workspace ws_1".to_owned(),
        ),
        (
            "settings_changed",
            "view v_1 in table t_1: editable=true addable=true exportable=true public=false locked=false".to_owned(),
        ),
        (
            "settings_changed",
            "view v_1 in table t_1: editable=true addable=true exportable=true public=true locked=false".to_owned(),
        ),
        ("issued", "guest token for view:v_1".to_owned()),
        (
            "revoked",
            format!("revocation id {}… (leaked)", &first_id[..16]),
        ),
        ("key_rotated", format!("new active root key {second_key}")),
    ];
    let text = tessera(&data, &["audit"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len(), "one line per change:\n{text}");
    for (i, (line, (event, sentence))) in lines.iter().zip(&expected).enumerate() {
        assert!(
            line.trim_start().starts_with(&format!("{}  ", i + 1)),
            "{line}"
        );
        assert!(line.contains(event), "{line}");
        assert!(
            line.ends_with(sentence.as_str()),
            "{line:?} should end with {sentence:?}"
        );
    }
    assert!(lines[5].contains(&token_id) && lines[6].contains(&token_id));

    // `--json`: the same events, each with its structured, versioned change.
    let json = tessera(&data, &["audit", "--json"]);
    let events: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), expected.len());
    for e in &events {
        assert_eq!(e["version"], AUDIT_VERSION, "{e}");
        assert_eq!(e["actor"], "cli", "{e}");
    }
    assert_eq!(events[6]["change"]["type"], "revoke");
    assert_eq!(events[6]["change"]["revocation_id"], first_id.as_str());
    assert_eq!(events[6]["change"]["reason"], "leaked");
    assert!(events[7]["change"]["key"]["public_key"]
        .as_str()
        .is_some_and(|k| k.starts_with("ed25519/")));
}

#[test]
fn a_store_with_old_prose_records_still_reads_and_appends() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    tessera(&data, &["init"]);
    // Rewrite the log as a store written before records were structured.
    let path = data.join("tessera.redb");
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(AUDIT).unwrap();
            t.insert(
                1,
                r#"{"seq":1,"at":"2026-11-22T10:00:00Z","event":"keys_initialised","token_id":null,"detail":"active root key 1"}"#,
            )
            .unwrap();
            t.insert(
                2,
                r#"{"seq":2,"at":"2026-11-22T10:01:00Z","event":"revoked","token_id":"tk_old","detail":"revocation id 00ff00ff00ff00ff… (old)"}"#,
            )
            .unwrap();
        }
        txn.commit().unwrap();
    }
    tessera(&data, &["workspace", "set", "ws_1"]);
    let text = tessera(&data, &["audit"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].ends_with("active root key 1"), "{text}");
    assert!(
        lines[1].contains("tk_old") && lines[1].ends_with("revocation id 00ff00ff00ff00ff… (old)"),
        "{text}"
    );
    assert!(
        lines[2].trim_start().starts_with("3  ") && lines[2].ends_with("workspace ws_1 registered"),
        "{text}"
    );

    let store = Store::open(&path).unwrap();
    let records = store.audit().unwrap();
    assert_eq!(records[1].version, 0);
    assert_eq!(records[1].actor, Actor::Unknown);
    assert!(matches!(&records[1].change, Change::Legacy { event, .. } if event == "revoked"));
    assert_eq!(records[2].version, AUDIT_VERSION);
}

async fn admin(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = client()
        .request(method, s.url(&format!("/admin/v1{path}")))
        .bearer_auth(s.admin_token());
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

/// The error answer of `r`, which must have `status` and `code`.
async fn error(r: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(r.status().as_u16(), status);
    let e: ErrorAnswer = r.json().await.unwrap();
    assert_eq!(e.error, code, "{}", e.message);
    e.message
}

async fn audit_log(s: &Server) -> AuditLog {
    let r = admin(s, reqwest::Method::GET, "/audit", None).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn admin_api_changes_are_recorded_by_admin_token_and_replay_to_what_the_gateway_serves() {
    let s = Server::start(&[]);
    let put = reqwest::Method::PUT;
    let r = admin(
        &s,
        put.clone(),
        "/views/v_1",
        Some(json!({ "table": "t_1", "workspace": "ws_1" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = admin(
        &s,
        put.clone(),
        "/views/v_1",
        Some(json!({ "locked": true })),
    )
    .await;
    let view: ViewInfo = r.json().await.unwrap();
    assert!(view.settings.locked);
    let r = admin(
        &s,
        reqwest::Method::POST,
        "/tokens",
        Some(json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"] })),
    )
    .await;
    assert_eq!(r.status(), 201);
    let issued: IssuedToken = r.json().await.unwrap();
    assert!(issued.share_link.is_some());
    let r = admin(&s, reqwest::Method::DELETE, "/views/v_1/tokens", None).await;
    assert_eq!(r.status(), 200);

    let log = audit_log(&s).await;
    let bootstrap: Vec<&str> = log.events[..2].iter().map(|e| e.event.as_str()).collect();
    assert_eq!(bootstrap, ["keys_initialised", "issued"]);
    assert!(log.events[..2].iter().all(|e| e.actor == Actor::Gateway));
    let admin_id = log.events[1].token_id.clone().unwrap();
    assert!(
        log.events[2..]
            .iter()
            .all(|e| e.actor == Actor::Token(admin_id.clone())),
        "changes through the admin API name the admin token"
    );
    let revoked = log.events.last().unwrap();
    assert_eq!(revoked.event, "revoked");
    assert_eq!(revoked.token_id.as_ref(), Some(&issued.row.entry.token_id));

    // The log alone rebuilds what the gateway serves.
    let records: Vec<AuditRecord> = log
        .events
        .iter()
        .map(|e| AuditRecord {
            version: e.version,
            seq: e.seq,
            at: e.at,
            actor: e.actor.clone(),
            change: e.change.clone(),
        })
        .collect();
    let replayed = Memory::replay(&records).unwrap();
    assert_eq!(replayed.registry.views[&id("v_1")].settings, view.settings);
    let r = admin(&s, reqwest::Method::GET, "/tokens", None).await;
    let tokens: TokenList = r.json().await.unwrap();
    let served: BTreeMap<Id, LedgerEntry> = tokens
        .tokens
        .into_iter()
        .map(|row| (row.entry.token_id.clone(), row.entry))
        .collect();
    let replayed_ledger: BTreeMap<Id, LedgerEntry> = replayed
        .ledger
        .into_iter()
        .map(|(k, mut e)| {
            // "Last used" is telemetry the gateway writes, not a change.
            e.last_used_at = served.get(&k).and_then(|s| s.last_used_at);
            (k, e)
        })
        .collect();
    assert_eq!(replayed_ledger, served);
}

#[tokio::test]
async fn admin_api_errors_carry_the_right_reason_in_the_apis_words() {
    let s = Server::start(&[]);
    server::seed_registry(&s).await;
    let events = audit_log(&s).await.events.len();
    let (put, post) = (reqwest::Method::PUT, reqwest::Method::POST);

    // An unknown view setting is a 400 naming it, whether or not the view exists.
    for view in ["v_1", "v_404"] {
        let r = admin(
            &s,
            put.clone(),
            &format!("/views/{view}"),
            Some(json!({ "public": true, "settings": { "shiny": true } })),
        )
        .await;
        let message = error(r, 400, "bad_request").await;
        assert!(message.contains("shiny"), "{message}");
    }
    // An unknown view is a 404 without the CLI's advice.
    let r = admin(
        &s,
        put.clone(),
        "/views/v_404",
        Some(json!({ "public": true })),
    )
    .await;
    assert_eq!(
        error(r, 404, "not_found").await,
        "view v_404 is not registered"
    );
    let r = admin(&s, reqwest::Method::DELETE, "/tokens/tk_nope", None).await;
    assert_eq!(
        error(r, 404, "not_found").await,
        "no token tk_nope in the ledger"
    );
    let r = admin(
        &s,
        put.clone(),
        "/tables/t_1",
        Some(json!({ "workspace": "ws_2" })),
    )
    .await;
    assert_eq!(
        error(r, 409, "conflict").await,
        "table t_1 belongs to workspace ws_1"
    );

    // Request errors name fields, never CLI flags or commands.
    let cases = [
        (
            json!({ "kind": "api_key", "workspace": "ws_1", "read_only": true, "allow": ["read"] }),
            "read_only",
        ),
        (
            json!({ "kind": "guest", "workspace": "ws_1", "view": "v_404", "allow": ["read"] }),
            "v_404",
        ),
        (json!({ "kind": "admin", "workspace": "ws_1" }), "admin API"),
        // A token error (an invalid grant) is the client's 400, not a store error.
        (
            json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"], "label": "a\u{7}b" }),
            "label",
        ),
        (
            json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"], "expires": "2020-01-01T00:00:00Z" }),
            "not in the future",
        ),
    ];
    for (body, culprit) in cases {
        let r = admin(&s, post.clone(), "/tokens", Some(body.clone())).await;
        let message = error(r, 400, "bad_request").await;
        assert!(message.contains(culprit), "{body}: {message}");
        assert!(
            !message.contains("--") && !message.contains("tessera "),
            "{body}: the API's words, not the CLI's: {message}"
        );
    }
    assert_eq!(
        audit_log(&s).await.events.len(),
        events,
        "no refused request changed anything"
    );
}

/// Users, roles, groups and a table's sharing are changes like any other:
/// each is one audit record, the registry rebuilds from the log alone, and
/// a change the workspace's rules refuse writes nothing and says why.
#[test]
fn people_changes_rebuild_from_the_audit_log_and_refusals_write_nothing() {
    use tessera::model::access::{Mode, Refusal, Scope, TableAccess, TableSharing, WorkspaceRole};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("tessera.redb")).unwrap();
    let mut at = t0();
    let mut tick = || {
        at += Duration::seconds(1);
        at
    };
    store.set_workspace(&id("ws_1"), tick()).unwrap();
    store.set_table(&id("t_1"), &id("ws_1"), tick()).unwrap();
    let apply = |change: Change, now| store.apply(&change, &Actor::Cli, now);
    for u in ["u_1", "u_2", "u_3"] {
        let change = Change::PutUser {
            user: id(u),
            email: format!("{u}@example.com"),
            name: format!("User {u}"),
        };
        apply(change, tick()).unwrap();
    }
    let member = |user: &str, role| Change::PutMember {
        workspace: id("ws_1"),
        user: id(user),
        role,
    };
    apply(member("u_1", WorkspaceRole::Owner), tick()).unwrap();
    apply(member("u_2", WorkspaceRole::Member), tick()).unwrap();
    apply(member("u_3", WorkspaceRole::Viewer), tick()).unwrap();
    let group = Change::PutGroup {
        workspace: id("ws_1"),
        group: id("g_fin"),
        name: "Finance".into(),
        members: [id("u_2"), id("u_3")].into(),
    };
    apply(group, tick()).unwrap();
    let mut records = Scope::open(Mode::Restricted);
    records.groups.insert(
        id("g_fin"),
        tessera::model::access::Rights::of(&[tessera::model::access::Permission::Read]),
    );
    let sharing = TableSharing {
        author: Some(id("u_2")),
        access: TableAccess {
            structure: Scope::open(Mode::ReadOnly),
            records,
        },
    };
    let put_sharing = Change::PutTableSharing {
        table: id("t_1"),
        sharing: sharing.clone(),
    };
    apply(put_sharing.clone(), tick()).unwrap();
    let again = apply(put_sharing, tick()).unwrap();
    assert!(
        again.records.is_empty(),
        "the same sharing again changes nothing"
    );
    let leave = Change::RemoveMember {
        workspace: id("ws_1"),
        user: id("u_3"),
    };
    apply(leave, tick()).unwrap();

    // Refused, whoever asks: each writes nothing and names its reason.
    let before = store.audit().unwrap();
    let refusals = [
        (
            Change::RemoveMember {
                workspace: id("ws_1"),
                user: id("u_1"),
            },
            "the workspace's last owner cannot be removed or demoted",
        ),
        (member("u_1", WorkspaceRole::Admin), "last owner"),
        (
            member("u_zed", WorkspaceRole::Member),
            "user u_zed is not registered",
        ),
        (
            Change::PutGroup {
                workspace: id("ws_1"),
                group: id("g_x"),
                name: "X".into(),
                members: [id("u_3")].into(),
            },
            "user u_3 is not a member of this workspace",
        ),
        (
            Change::PutUser {
                user: id("u_4"),
                email: "not an address".into(),
                name: "Four".into(),
            },
            "invalid email",
        ),
    ];
    for (change, says) in refusals {
        match apply(change.clone(), tick()) {
            Err(StoreError::Rejected(e)) => {
                assert!(e.to_string().contains(says), "{change:?}: {e}");
            }
            other => panic!("{change:?} was not refused: {other:?}"),
        }
    }
    match apply(member("u_1", WorkspaceRole::Admin), tick()) {
        Err(StoreError::Rejected(ChangeError::Refused(r))) => {
            assert_eq!(r, Refusal::LastOwner);
            assert_eq!(r.code(), "last_owner");
        }
        other => panic!("demoting the last owner: {other:?}"),
    }
    assert_eq!(store.audit().unwrap(), before, "nothing was recorded");

    // Removing a user takes it out of every role and group.
    apply(Change::RemoveUser { user: id("u_2") }, tick()).unwrap();

    let records = store.audit().unwrap();
    let replayed = Memory::replay(&records).unwrap();
    let held = store.registry().unwrap();
    assert_eq!(
        replayed.registry, held,
        "the registry rebuilds from the log"
    );
    let team = &held.people.teams[&id("ws_1")];
    assert_eq!(
        team.roles.keys().cloned().collect::<Vec<_>>(),
        vec![id("u_1")]
    );
    assert!(team.groups[&id("g_fin")].members.is_empty());
    assert!(!held.people.users.contains_key(&id("u_2")));
    assert_eq!(held.sharing[&id("t_1")], sharing);
    let sentences: Vec<String> = records.iter().map(|r| r.change.to_string()).collect();
    for expected in [
        "user u_1 <u_1@example.com> registered",
        "user u_2 is member of workspace ws_1",
        "group g_fin of workspace ws_1: 2 member(s)",
        "table t_1 access: structure read-only, records restricted (author u_2)",
        "user u_3 removed from workspace ws_1",
        "user u_2 removed",
    ] {
        assert!(
            sentences.iter().any(|s| s == expected),
            "{expected}: {sentences:#?}"
        );
    }
}

#[test]
fn assignment_expiries_and_view_owners_rebuild_from_the_audit_log() {
    use tessera::model::access::WorkspaceRole;
    use tessera::model::ViewOwner;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("tessera.redb")).unwrap();
    let later = t0() + Duration::days(7);
    let put_view = Change::PutView {
        view: id("v_1"),
        table: id("t_1"),
        settings: ViewSettings {
            locked: true,
            ..ViewSettings::default()
        },
    };
    let expire = |user: &str| Change::ExpireMember {
        workspace: id("ws_1"),
        user: id(user),
        expires_at: Some(later),
    };
    let owner = |creator: &str| Change::PutViewOwner {
        view: id("v_1"),
        owner: ViewOwner {
            creator: Some(id(creator)),
            personal: false,
        },
    };
    let mut changes = tessera::change::plan_table(&id("t_1"), &id("ws_1"));
    changes.extend([
        put_view,
        Change::PutUser {
            user: id("u_1"),
            email: "u1@example.com".into(),
            name: "One".into(),
        },
        Change::PutMember {
            workspace: id("ws_1"),
            user: id("u_1"),
            role: WorkspaceRole::Viewer,
        },
        expire("u_1"),
        owner("u_1"),
    ]);
    store.apply_all(&changes, &Actor::Cli, t0()).unwrap();

    let before = store.audit().unwrap();
    for (change, says) in [
        (expire("u_2"), "user u_2 is not a member of this workspace"),
        (owner("u_ghost"), "user u_ghost is not registered"),
    ] {
        match store.apply(&change, &Actor::Cli, t0()) {
            Err(StoreError::Rejected(e)) => assert!(e.to_string().contains(says), "{e}"),
            other => panic!("{change:?} was not refused: {other:?}"),
        }
    }
    assert_eq!(store.audit().unwrap(), before, "nothing was recorded");

    let held = store.registry().unwrap();
    let replayed = Memory::replay(&before).unwrap();
    assert_eq!(
        replayed.registry, held,
        "the registry rebuilds from the log"
    );
    assert_eq!(
        held.people.teams[&id("ws_1")].expiry(&id("u_1")),
        Some(later)
    );
    assert_eq!(held.view_owners[&id("v_1")].creator, Some(id("u_1")));
    assert_eq!(
        held.visibility_of(&id("v_1")),
        Some(tessera::model::Visibility::Locked)
    );
    let sentences: Vec<String> = before.iter().map(|r| r.change.to_string()).collect();
    for expected in [
        "user u_1's assignment to workspace ws_1 expires at 2026-11-29T10:00:00+00:00",
        "view v_1: created by u_1",
    ] {
        assert!(
            sentences.iter().any(|s| s == expected),
            "{expected}: {sentences:#?}"
        );
    }
}
