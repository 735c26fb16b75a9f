//! The access fixtures (`tests/access/*.toml`, format in its README): each
//! file's people and tables are written through the same changes the admin
//! API makes (`change::apply` over `change::Memory`), every user gets a real
//! member token, and every listed request is decided through
//! `authorize::decide` with the default policy. Also: the member rows of
//! SECURITY.md and `tessera check --explain` for a member token, through
//! the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Deserialize;
use tessera::authorize::{self, Context, Decision, Policy, Reason, Request, RunLimits};
use tessera::change::{self, Actor, Change, Memory};
use tessera::gateway::{Gateway, GatewayConfig};
use tessera::keys::PrivateKeyring;
use tessera::model::access::{SchemaPermissions, ShareSettings, TableSharing, WorkspaceRole};
use tessera::model::{Grant, Id, Operation, Resource, Restriction, ViewSettings};
use tessera::store::datadir::DataDir;
use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};

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
struct UserSpec {
    email: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspaceSpec {
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    roles: BTreeMap<Id, WorkspaceRole>,
    #[serde(default)]
    groups: BTreeMap<Id, GroupSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    name: String,
    #[serde(default)]
    members: BTreeSet<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSpec {
    workspace: Id,
    author: Option<Id>,
    access: Option<ShareSettings>,
    permissions: Option<SchemaPermissions>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewSpec {
    table: Id,
    #[serde(default)]
    settings: BTreeMap<String, bool>,
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

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn ops(list: &str) -> BTreeSet<Operation> {
    Operation::parse_list(list).unwrap()
}

/// Time limits no loaded debug build trips; facts and iterations as shipped.
fn policy() -> Policy {
    Policy::default_with_limits(RunLimits {
        max_time: Duration::from_secs(5),
        ..RunLimits::default()
    })
    .unwrap()
}

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

/// The changes the admin API makes for the fixture's people and tables.
fn changes(f: &Fixture) -> Result<Vec<Change>, String> {
    let mut out = Vec::new();
    for (user, u) in &f.users {
        out.push(Change::PutUser {
            user: user.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        });
    }
    for (ws, w) in &f.workspaces {
        out.push(Change::PutWorkspace {
            workspace: ws.clone(),
        });
        for (user, role) in &w.roles {
            out.push(Change::PutMember {
                workspace: ws.clone(),
                user: user.clone(),
                role: *role,
            });
        }
        for (group, g) in &w.groups {
            out.push(Change::PutGroup {
                workspace: ws.clone(),
                group: group.clone(),
                name: g.name.clone(),
                members: g.members.clone(),
            });
        }
    }
    for (table, t) in &f.tables {
        out.push(Change::PutTable {
            table: table.clone(),
            workspace: t.workspace.clone(),
        });
        let access = match (&t.access, &t.permissions) {
            (Some(a), None) => a.to_access(),
            (None, Some(p)) => p.to_access(),
            (None, None) => Default::default(),
            (Some(_), Some(_)) => {
                return Err(format!(
                    "table {table}: give access or permissions, not both"
                ))
            }
        };
        out.push(Change::PutTableSharing {
            table: table.clone(),
            sharing: TableSharing {
                author: t.author.clone(),
                access,
            },
        });
    }
    for (view, v) in &f.views {
        let mut settings = ViewSettings::default();
        for (name, value) in &v.settings {
            settings
                .set(name, *value)
                .map_err(|e| format!("view {view}: {e}"))?;
        }
        out.push(Change::PutView {
            view: view.clone(),
            table: v.table.clone(),
            settings,
        });
    }
    Ok(out)
}

/// The fixture's registry, built by `change::apply` as the store and the
/// gateway's memory build it.
fn memory_of(f: &Fixture) -> Result<Memory, String> {
    let mut memory = Memory::default();
    for c in changes(f)? {
        change::apply(&mut memory, &c, now()).map_err(|e| format!("change {c}: {e}"))?;
    }
    Ok(memory)
}

/// Keys, a registry and a way to issue member tokens and decide.
struct World {
    ring: PrivateKeyring,
    memory: Memory,
    policy: Policy,
}

impl World {
    fn new(memory: Memory) -> World {
        World {
            ring: PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(7), now()),
            memory,
            policy: policy(),
        }
    }

    fn member_token(&self, user: &Id, seed: u64) -> String {
        let grant =
            Grant::member(user.clone()).expires_at(Some(now() + chrono::Duration::hours(12)));
        token::issue_with_rng(&grant, &self.ring, now(), &mut StdRng::seed_from_u64(seed))
            .unwrap()
            .token
            .expose()
            .to_owned()
    }

    fn decide(&self, token: &str, request: &Request, explain: bool) -> Decision {
        let public = self.ring.public();
        let revocations = self.memory.revocation_set();
        let ctx = Context {
            keyring: &public,
            revocations: &revocations,
            registry: &self.memory.registry,
            policy: &self.policy,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            token_limits: token::TokenLimits::default(),
            explain,
        };
        authorize::decide(&ctx, Some(token), request, now())
    }
}

fn attenuated(token: &str, restriction: &Restriction) -> String {
    token::attenuate_with_rng(
        token,
        restriction,
        now(),
        DEFAULT_MAX_TOKEN_BYTES,
        &mut StdRng::seed_from_u64(3),
    )
    .unwrap()
    .expose()
    .to_owned()
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
        let d = world.decide(&token, &request, false);
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
