//! The access fixtures (`tests/access/*.toml`, format in its README): each
//! file's people and tables are written through the same changes the admin
//! API makes (`change::apply` over `change::Memory`), every user gets a real
//! member token, and every listed request is decided through
//! `authorize::decide` with the default policy. Also: the member rows of
//! SECURITY.md and `tessera check --explain` for a member token, through
//! the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Deserialize;
use tessera::authorize::{Decision, Reason, Request};
use tessera::change::{self, Actor, Change, Memory};
use tessera::fixtures::{RegistrySpec, TableSpec, UserSpec, ViewSpec, WorkspaceSpec};
use tessera::gateway::{ApiError, Gateway, GatewayConfig};
use tessera::model::access::WorkspaceRole;
use tessera::model::{Grant, Id, Resource, Restriction, ViewSettings};
use tessera::store::datadir::DataDir;
use tessera::token;

// ------------------------------------------------------------ the format

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    story: String,
    #[serde(default)]
    users: BTreeMap<Id, UserSpec>,
    #[serde(default)]
    workspaces: BTreeMap<Id, WorkspaceSpec>,
    #[serde(default)]
    tables: BTreeMap<Id, TableSpec>,
    #[serde(default)]
    views: BTreeMap<Id, ViewSpec>,
    #[serde(default)]
    expect: Vec<Expect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    user: Id,
    request: String,
    allow: bool,
    reason: Option<String>,
    attenuate: Option<String>,
}

// ------------------------------------------------------------ helpers

use common::{id, ops, t0 as now};

/// "write table t_1" → the request.
fn parse_request(text: &str) -> Result<Request, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [op, kind, rid] = words.as_slice() else {
        return Err(format!("request {text:?} is not `operation kind id`"));
    };
    Ok(Request {
        operation: op.parse().map_err(|e| format!("{e}"))?,
        resource: Resource {
            kind: kind.parse().map_err(|e| format!("{e}"))?,
            id: Id::new(rid).map_err(|e| format!("{e}"))?,
        },
    })
}

/// The fixture's registry facts, in the format `tessera policy test`'s
/// fixtures share (`tessera::fixtures::RegistrySpec`).
fn spec(f: &Fixture) -> RegistrySpec {
    RegistrySpec {
        users: f.users.clone(),
        workspaces: f.workspaces.clone(),
        tables: f.tables.clone(),
        views: f.views.clone(),
    }
}

/// The changes the admin API makes for the fixture's people and tables.
fn changes(f: &Fixture) -> Result<Vec<Change>, String> {
    spec(f).changes()
}

/// The fixture's registry, built by `change::apply` as the store and the
/// gateway's memory build it.
fn memory_of(f: &Fixture) -> Result<Memory, String> {
    spec(f).memory(now())
}

/// A seeded keyring, the default policy (relaxed time limit) and the
/// fixture's registry: issues member tokens and decides.
struct World(common::Fixture);

impl World {
    fn new(memory: Memory) -> World {
        let mut fx = common::Fixture::new(7);
        fx.revocations = memory.revocation_set();
        fx.registry = memory.registry;
        World(fx)
    }

    fn member_token(&self, user: &Id, seed: u64) -> String {
        let expiry = now() + chrono::Duration::hours(12);
        self.0
            .issue(&Grant::member(user.clone()).expires_at(Some(expiry)), seed)
    }

    fn decide(&self, token: &str, request: &Request) -> Decision {
        self.0.decide(Some(token), request, now())
    }

    /// Every request in `asked` decided with `token`, each as `reason` says.
    #[track_caller]
    fn assert_all(&self, token: &str, asked: &[&str], reason: Option<Reason>) {
        for text in asked {
            let d = self.decide(token, &request(text));
            assert_eq!(d.reason, reason, "{text}: {d:?}");
            assert_eq!(d.allowed, reason.is_none(), "{text}");
        }
    }
}

fn attenuated(token: &str, restriction: &Restriction) -> String {
    common::attenuate(token, restriction, 3)
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/access");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Runs one fixture file: every failure, each naming the file, the line of
/// its `[[expect]]`, the story and the request.
fn run_file(path: &Path) -> (usize, Vec<String>) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let fixture: Fixture = match toml::from_str(&text) {
        Ok(f) => f,
        Err(e) => return (0, vec![format!("{name}: not a fixture: {e}")]),
    };
    let world = match memory_of(&fixture) {
        Ok(m) => World::new(m),
        Err(e) => return (0, vec![format!("{name}: {e}")]),
    };
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[expect]]")
        .map(|(i, _)| i + 1)
        .collect();
    let mut tokens = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, e) in fixture.expect.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(0);
        let at = format!(
            "{name}:{line} ({}): {} as {}{}",
            fixture.story,
            e.request,
            e.user,
            e.attenuate
                .as_ref()
                .map_or(String::new(), |a| format!(" attenuated to {a}"))
        );
        let request = match parse_request(&e.request) {
            Ok(r) => r,
            Err(msg) => {
                failures.push(format!("{at}: {msg}"));
                continue;
            }
        };
        let seed = u64::try_from(tokens.len()).unwrap();
        let plain = tokens
            .entry(e.user.clone())
            .or_insert_with(|| world.member_token(&e.user, seed))
            .clone();
        let token = match &e.attenuate {
            Some(list) => attenuated(
                &plain,
                &Restriction {
                    operations: Some(ops(list)),
                    ..Restriction::default()
                },
            ),
            None => plain,
        };
        let d = world.decide(&token, &request);
        let got = d.reason.map(Reason::code);
        let want_reason = if e.allow { None } else { e.reason.as_deref() };
        if d.allowed != e.allow || (!e.allow && e.reason.is_some() && got != want_reason) {
            failures.push(format!(
                "{at}: expected {}{}, got {}{}",
                if e.allow { "allow" } else { "deny" },
                want_reason.map_or(String::new(), |r| format!(" ({r})")),
                if d.allowed { "allow" } else { "deny" },
                got.map_or(String::new(), |r| format!(" ({r})")),
            ));
        }
    }
    (fixture.expect.len(), failures)
}

// ------------------------------------------------------------ the fixtures

#[test]
fn every_access_fixture_decides_as_written() {
    let files = fixture_files();
    assert!(
        !files.is_empty(),
        "no fixtures in tests/access: the access model would go untested"
    );
    let mut failures = Vec::new();
    for path in &files {
        let (count, mut failed) = run_file(path);
        if count == 0 && failed.is_empty() {
            failed.push(format!("{}: no [[expect]] at all", path.display()));
        }
        failures.append(&mut failed);
    }
    assert!(
        failures.is_empty(),
        "{} expectation(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_wrong_expectation_is_reported_with_its_file_line_and_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.toml");
    std::fs::write(
        &path,
        r#"story = "a deliberately wrong expectation"
[users]
u_a = { email = "a@example.com", name = "A" }
[workspaces.ws_1]
roles = { u_a = "viewer" }
[tables.t_1]
workspace = "ws_1"

[[expect]]
user = "u_a"
request = "write table t_1"
allow = true
"#,
    )
    .unwrap();
    let (count, failures) = run_file(&path);
    assert_eq!(count, 1);
    assert_eq!(failures.len(), 1, "{failures:?}");
    let f = &failures[0];
    assert!(
        f.starts_with("wrong.toml:9 (a deliberately wrong expectation): write table t_1 as u_a"),
        "{f}"
    );
    assert!(f.ends_with("expected allow, got deny (no_right)"), "{f}");
}

// ------------------------------------------------------------ attacks (SECURITY.md 80–83)

/// ws_1 ⊃ t_1 ⊃ v_1, ws_2 ⊃ t_2: u_ed a member of ws_1 (t_1 open to the
/// workspace), u_vic a viewer of ws_1, u_own owner of both.
fn small_world() -> Vec<Change> {
    let mut out = Vec::new();
    for u in ["u_ed", "u_vic", "u_own"] {
        out.push(Change::PutUser {
            user: id(u),
            email: format!("{u}@example.com"),
            name: u.to_owned(),
        });
    }
    for (ws, t) in [("ws_1", "t_1"), ("ws_2", "t_2")] {
        out.push(Change::PutWorkspace { workspace: id(ws) });
        out.push(Change::PutMember {
            workspace: id(ws),
            user: id("u_own"),
            role: WorkspaceRole::Owner,
        });
        out.push(Change::PutTable {
            table: id(t),
            workspace: id(ws),
        });
    }
    for (u, role) in [
        ("u_ed", WorkspaceRole::Member),
        ("u_vic", WorkspaceRole::Viewer),
    ] {
        out.push(Change::PutMember {
            workspace: id("ws_1"),
            user: id(u),
            role,
        });
    }
    out.push(Change::PutView {
        view: id("v_1"),
        table: id("t_1"),
        settings: ViewSettings::default(),
    });
    out
}

fn small_memory() -> Memory {
    let mut memory = Memory::default();
    for c in small_world() {
        change::apply(&mut memory, &c, now()).unwrap();
    }
    memory
}

fn request(text: &str) -> Request {
    parse_request(text).unwrap()
}

#[test]
fn a_member_token_attenuated_to_read_cannot_write() {
    let world = World::new(small_memory());
    let plain = world.member_token(&id("u_ed"), 1);
    // The plain token writes t_1: the registry gives u_ed read, write, create.
    world.assert_all(&plain, &["write table t_1", "create workspace ws_1"], None);
    let read_only = attenuated(
        &plain,
        &Restriction {
            operations: Some(ops("read")),
            ..Restriction::default()
        },
    );
    world.assert_all(&read_only, &["read table t_1", "read view v_1"], None);
    let writes = [
        "write table t_1",
        "create table t_1",
        "write view v_1",
        "create workspace ws_1",
    ];
    world.assert_all(&read_only, &writes, Some(Reason::CheckFailed));
    // Attenuated to one table: the rest of the workspace is out of reach.
    let one_table = attenuated(
        &plain,
        &Restriction {
            resource: Some(Resource::table(id("t_1"))),
            ..Restriction::default()
        },
    );
    world.assert_all(&one_table, &["read view v_1", "write table t_1"], None);
    world.assert_all(
        &one_table,
        &["read workspace ws_1"],
        Some(Reason::CheckFailed),
    );
}

#[test]
fn facts_written_in_a_token_block_grant_no_member_right() {
    let world = World::new(small_memory());
    let vic = world.member_token(&id("u_vic"), 2);
    let forged = "member_right(\"u_vic\", \"table\", \"t_1\", \"write\");\n\
                  member_right(\"u_vic\", \"table\", \"t_2\", \"read\");\n\
                  member_may(\"table\", \"t_1\", \"write\");\n\
                  kind(\"member\");\nuser(\"u_own\");";
    let tampered = common::append_code(&vic, forged, 9);
    // The viewer's own rights are unchanged: read, never write.
    world.assert_all(&tampered, &["read table t_1"], None);
    let beyond = [
        "write table t_1",
        "read table t_2",
        "billing workspace ws_1",
    ];
    world.assert_all(&tampered, &beyond, Some(Reason::NoRight));
    // A guest token claiming, in a block, to be the owner reaches nothing more.
    let guest = world
        .0
        .issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read")), 4);
    let claimed = common::append_code(
        &guest,
        "kind(\"member\");\nuser(\"u_own\");\nmember_right(\"u_own\", \"table\", \"t_1\", \"drop\");",
        10,
    );
    world.assert_all(&claimed, &["read view v_1"], None);
    world.assert_all(&claimed, &["drop table t_1"], Some(Reason::NoRight));
}

/// A gateway on a fresh data directory holding [`small_world`];
/// `decision_cache_ms` as given (the default: `None`).
async fn small_gateway(dir: &tempfile::TempDir, decision_cache_ms: Option<u64>) -> Gateway {
    let defaults = GatewayConfig::default();
    let config = GatewayConfig {
        decision_cache_ms: decision_cache_ms.unwrap_or(defaults.decision_cache_ms),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..defaults
    };
    let gw = Gateway::open(config, DataDir::new(dir.path().join("data")))
        .await
        .unwrap();
    gw.commit(|store| store.apply_all(&small_world(), &Actor::Cli, now()))
        .unwrap();
    gw
}

#[tokio::test]
async fn a_member_removed_from_the_workspace_is_denied_on_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    // The default configuration: the decision cache is on.
    let gw = small_gateway(&dir, None).await;
    let t = now();
    let (token, _) = gw
        .issue(&Grant::member(id("u_ed")), &Actor::Cli, t)
        .unwrap();
    let rows = "/api/v1/tables/t_1/rows";
    for _ in 0..2 {
        assert!(gw
            .decide(Some(token.expose()), "GET", rows, t)
            .await
            .is_ok());
    }
    let leave = Change::RemoveMember {
        workspace: id("ws_1"),
        user: id("u_ed"),
    };
    gw.commit(|store| store.apply(&leave, &Actor::Cli, t))
        .unwrap();
    for _ in 0..2 {
        match gw.decide(Some(token.expose()), "GET", rows, t).await {
            Err(ApiError::Denied(reason)) => assert_eq!(reason, Reason::NoRight),
            other => panic!(
                "expected no_right, got {:?}",
                other.map(|a| a.request.clone())
            ),
        }
    }
    // Back in, as a viewer: reads again on the next request, never writes.
    let back = Change::PutMember {
        workspace: id("ws_1"),
        user: id("u_ed"),
        role: WorkspaceRole::Viewer,
    };
    gw.commit(|store| store.apply(&back, &Actor::Cli, t))
        .unwrap();
    assert!(gw
        .decide(Some(token.expose()), "GET", rows, t)
        .await
        .is_ok());
    match gw.decide(Some(token.expose()), "PATCH", rows, t).await {
        Err(ApiError::Denied(reason)) => assert_eq!(reason, Reason::NoRight),
        other => panic!(
            "expected no_right, got {:?}",
            other.map(|a| a.request.clone())
        ),
    }
}

#[tokio::test]
async fn the_new_routes_reach_the_lifecycle_operations() {
    let dir = tempfile::tempdir().unwrap();
    let gw = small_gateway(&dir, Some(0)).await;
    let t = now();
    let owner = gw
        .issue(&Grant::member(id("u_own")), &Actor::Cli, t)
        .unwrap()
        .0;
    let member = gw
        .issue(&Grant::member(id("u_ed")), &Actor::Cli, t)
        .unwrap()
        .0;
    let cases = [
        ("DELETE", "/api/v1/tables/t_1", "drop table t_1"),
        ("DELETE", "/api/v1/workspaces/ws_1", "drop workspace ws_1"),
        (
            "GET",
            "/api/v1/workspaces/ws_1/billing",
            "billing workspace ws_1",
        ),
        (
            "PATCH",
            "/api/v1/workspaces/ws_1/billing",
            "billing workspace ws_1",
        ),
        (
            "PUT",
            "/api/v1/workspaces/ws_1/settings",
            "settings workspace ws_1",
        ),
        (
            "POST",
            "/api/v1/workspaces/ws_1/tables",
            "create workspace ws_1",
        ),
    ];
    for (method, path, expected) in cases {
        let allowed = gw
            .decide(Some(owner.expose()), method, path, t)
            .await
            .unwrap();
        assert_eq!(allowed.request, request(expected), "{method} {path}");
        let by_member = gw.decide(Some(member.expose()), method, path, t).await;
        // A member creates tables; the rest is the owner's.
        if expected.starts_with("create") {
            assert!(by_member.is_ok(), "{method} {path}");
        } else {
            assert!(
                matches!(by_member, Err(ApiError::Denied(Reason::NoRight))),
                "{method} {path}"
            );
        }
    }
}

// ------------------------------------------------------------ tessera check --explain

#[test]
fn check_explain_names_the_role_mode_and_group_that_decided() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tessera = || {
        let mut c = assert_cmd::Command::cargo_bin("tessera").unwrap();
        c.env("TESSERA_DATA_DIR", &data);
        c
    };
    tessera().arg("init").assert().success();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/access/schema_builder.toml");
    let fixture: Fixture = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let dd = DataDir::new(&data);
    {
        let store = tessera::store::Store::open(&dd.store_path()).unwrap();
        store
            .apply_all(&changes(&fixture).unwrap(), &Actor::Cli, now())
            .unwrap();
    }
    let ring = dd.read_keyring().unwrap();
    let issue = |user: &str| {
        token::issue_with_rng(
            &Grant::member(id(user)),
            &ring,
            now(),
            &mut StdRng::seed_from_u64(5),
        )
        .unwrap()
        .token
        .expose()
        .to_owned()
    };
    let fin = issue("u_fin");
    let check = |token: &str, op: &str, table: &str| {
        let out = tessera()
            .args(["check", token, "--op", op, "--table", table, "--explain"])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };

    // Fin's own entry would allow writing; the finance group's applies.
    let (code, out) = check(&fin, "read", "t_ledger");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("allowed: read on table:t_ledger"), "{out}");
    assert!(out.contains("member u_fin: role member"), "{out}");
    assert!(
        out.contains("table t_ledger (author u_author): structure read-only, records restricted"),
        "{out}"
    );
    assert!(
        out.contains(
            "records: read (decided by the entry of group g_finance (applies over the user's own))"
        ),
        "{out}"
    );
    assert!(
        out.contains("structure: read (decided by mode read-only)"),
        "{out}"
    );
    assert!(out.contains("registry gives: read, export"), "{out}");
    assert!(
        out.contains("member_right(\"u_fin\", \"table\", \"t_ledger\", \"read\")"),
        "{out}"
    );
    let (code, out) = check(&fin, "write", "t_ledger");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("denied: no_right"), "{out}");
    assert!(out.contains("g_finance"), "{out}");

    // Bob has no group entry: his own decides.
    let (code, out) = check(&issue("u_bob"), "create", "t_ledger");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("records: execute, read (decided by the user's own entry)"),
        "{out}"
    );
    // The admin's role reaches every table.
    let (code, out) = check(&issue("u_admin"), "drop", "t_private_schema");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("member u_admin: role admin"), "{out}");
    assert!(
        out.contains("decided by role admin reaches every table"),
        "{out}"
    );

    // JSON carries the same grounds.
    let out = tessera()
        .args([
            "check",
            &fin,
            "--op",
            "read",
            "--table",
            "t_ledger",
            "--explain",
            "--json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let member = &v["explanation"]["member"];
    assert_eq!(member["role"], "member", "{v}");
    assert_eq!(
        member["table"]["rights"]["records"]["basis"]["by"],
        "group_entries"
    );
    assert_eq!(
        member["table"]["rights"]["records"]["basis"]["groups"][0],
        "g_finance"
    );
}
