//! Black-box tests of the `tessera` binary: every command, run as a real
//! process against a real data directory, including the bad-input cases.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// A fresh data directory and a way to run `tessera` against it.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("tessera").unwrap();
        c.current_dir(self.dir.path())
            .env("TESSERA_DATA_DIR", self.data());
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    }

    /// init + ws_1/t_1/{v_1,v_2} + ws_2/t_2/v_3.
    fn ready() -> Self {
        let env = Env::new();
        env.run(&["init"]);
        env.run(&[
            "view",
            "set",
            "v_1",
            "--table",
            "t_1",
            "--workspace",
            "ws_1",
        ]);
        env.run(&[
            "view",
            "set",
            "v_2",
            "--table",
            "t_1",
            "--workspace",
            "ws_1",
        ]);
        env.run(&[
            "view",
            "set",
            "v_3",
            "--table",
            "t_2",
            "--workspace",
            "ws_2",
        ]);
        env
    }

    fn issue(&self, args: &[&str]) -> String {
        let mut all = vec!["issue"];
        all.extend_from_slice(args);
        self.run(&all).trim().to_owned()
    }

    fn guest(&self, ops: &str) -> String {
        self.issue(&[
            "guest",
            "--workspace",
            "ws_1",
            "--view",
            "v_1",
            "--allow",
            ops,
        ])
    }

    /// Runs `check` and returns (exit code, stdout).
    fn check(&self, token: Option<&str>, args: &[&str]) -> (i32, String) {
        let mut c = self.cmd();
        c.arg("check");
        if let Some(t) = token {
            c.arg(t);
        }
        let out = c.args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
        )
    }

    fn ledger(&self) -> Vec<Value> {
        serde_json::from_str(&self.run(&["tokens", "list", "--json"])).unwrap()
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_creates_private_keyring_and_refuses_to_overwrite() {
    let env = Env::new();
    env.cmd()
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("mode 0600"));
    let keys = env.data().join("keys.toml");
    assert_eq!(mode(&keys), 0o600);
    assert_eq!(mode(&env.data()), 0o700);
    assert!(env.data().join("tessera.redb").is_file());
    let before = fs::read(&keys).unwrap();
    env.cmd()
        .arg("init")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists; pass --force"));
    assert_eq!(
        fs::read(&keys).unwrap(),
        before,
        "keyring must be untouched"
    );
    env.run(&["init", "--force"]);
    assert_ne!(fs::read(&keys).unwrap(), before);
    assert_eq!(mode(&keys), 0o600);
}

#[test]
fn data_dir_flag_and_env_are_honoured() {
    let env = Env::new();
    let other = env.dir.path().join("elsewhere");
    env.cmd()
        .args(["--data-dir", other.to_str().unwrap(), "init"])
        .assert()
        .success();
    assert!(other.join("keys.toml").is_file());
    assert!(!env.data().exists());
}

#[test]
fn commands_without_init_say_how_to_start() {
    let env = Env::new();
    env.cmd().args(["tokens", "list"]).assert().code(2).stderr(
        predicate::str::contains("no store at").and(predicate::str::contains("tessera init")),
    );
    env.cmd()
        .args(["check", "tsr_x", "--op", "read", "--view", "v"])
        .assert()
        .code(2);
}

#[test]
fn corrupt_truncated_or_world_readable_keyrings_are_refused_and_untouched() {
    let env = Env::ready();
    let keys = env.data().join("keys.toml");
    let good = fs::read_to_string(&keys).unwrap();
    let ledger_before = env.ledger().len();

    fs::write(&keys, &good[..good.len() / 2]).unwrap();
    fs::set_permissions(&keys, fs::Permissions::from_mode(0o600)).unwrap();
    let out = env
        .cmd()
        .args(["issue", "admin"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("keys.toml"), "{err}");
    assert!(
        !err.contains("private_key"),
        "error must not quote key material: {err}"
    );
    assert_eq!(fs::read_to_string(&keys).unwrap(), &good[..good.len() / 2]);

    fs::write(&keys, "not toml at all [[[").unwrap();
    env.cmd()
        .args(["keys", "rotate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid private keyring"));

    fs::write(&keys, &good).unwrap();
    fs::set_permissions(&keys, fs::Permissions::from_mode(0o644)).unwrap();
    env.cmd()
        .args(["issue", "admin"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mode 644").and(predicate::str::contains("chmod 600")));
    assert_eq!(env.ledger().len(), ledger_before, "nothing issued");
}

#[test]
fn rotation_keeps_old_tokens_until_the_key_is_retired() {
    let env = Env::ready();
    let old_token = env.guest("read");
    let old_id = env.run(&["inspect", &old_token, "--json"]);
    let old_id = serde_json::from_str::<Value>(&old_id).unwrap()["root_key_id"]
        .as_u64()
        .unwrap();
    env.run(&["keys", "rotate"]);
    let new_token = env.guest("read");
    let new_desc: Value =
        serde_json::from_str(&env.run(&["inspect", &new_token, "--json"])).unwrap();
    assert_ne!(new_desc["root_key_id"].as_u64().unwrap(), old_id);

    assert_eq!(
        env.check(Some(&old_token), &["--op", "read", "--view", "v_1"])
            .0,
        0
    );
    env.cmd()
        .args(["keys", "retire", &old_id.to_string()])
        .assert()
        .success();
    let (code, out) = env.check(Some(&old_token), &["--op", "read", "--view", "v_1"]);
    assert_eq!(
        (code, out.trim()),
        (
            1,
            "denied: unknown_key (the token is signed by an unknown or retired key)"
        )
    );
    assert_eq!(
        env.check(Some(&new_token), &["--op", "read", "--view", "v_1"])
            .0,
        0
    );

    let list = env.run(&["keys", "list"]);
    assert!(
        list.contains("retired") && list.contains("active"),
        "{list}"
    );
    // The active key cannot be retired.
    let active = new_desc["root_key_id"].as_u64().unwrap().to_string();
    env.cmd()
        .args(["keys", "retire", &active])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("active signing key"));
}

#[test]
fn export_public_writes_biscuit_web_keys_without_private_material() {
    let env = Env::ready();
    let out_file = env.dir.path().join("pub.json");
    let stdout = env.run(&["keys", "export-public", "--out", out_file.to_str().unwrap()]);
    let from_file: Value = serde_json::from_str(&fs::read_to_string(&out_file).unwrap()).unwrap();
    let from_stdout: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(from_file, from_stdout);
    let keys = from_file.as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["algorithm"], "ed25519");
    assert_eq!(keys[0]["key_bytes"].as_str().unwrap().len(), 64);
    assert!(keys[0]["key_id"].as_u64().is_some());
    // biscuit-auth's own BWK reader accepts it.
    let parsed: Vec<biscuit_auth::BiscuitWebKey> =
        serde_json::from_value(from_file.clone()).unwrap();
    assert_eq!(parsed.len(), 1);
    let private = fs::read_to_string(env.data().join("keys.toml")).unwrap();
    let private_hex = private
        .lines()
        .find_map(|l| l.strip_prefix("private_key = "))
        .unwrap()
        .trim_matches('"');
    assert!(!stdout.contains(private_hex));
}

#[test]
fn issue_every_kind_records_ledger_and_audit() {
    let env = Env::ready();
    let guest = env.issue(&[
        "guest",
        "--workspace",
        "ws_1",
        "--view",
        "v_1",
        "--allow",
        "read,export",
        "--expires",
        "90d",
        "--label",
        "auditor",
    ]);
    assert!(guest.starts_with("tsr_"));
    let ws_key = env.issue(&["api-key", "--workspace", "ws_1"]);
    let table_key = env.issue(&[
        "api-key",
        "--workspace",
        "ws_1",
        "--table",
        "t_1",
        "--read-only",
    ]);
    let admin = env.issue(&["admin", "--expires", "1d"]);

    let ledger = env.ledger();
    assert_eq!(ledger.len(), 4);
    let kinds: Vec<&str> = ledger.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in ["guest", "api_key", "admin"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let text = serde_json::to_string(&ledger).unwrap();
    for t in [&guest, &ws_key, &table_key, &admin] {
        assert!(
            !text.contains(&t[4..40]),
            "the ledger must never hold a token"
        );
    }
    let g = ledger.iter().find(|e| e["kind"] == "guest").unwrap();
    assert_eq!(g["label"], "auditor");
    assert_eq!(g["state"], "active");
    assert_eq!(g["workspace"], "ws_1");
    assert_eq!(g["rights"].as_array().unwrap().len(), 2);
    assert_eq!(g["revocation_ids"].as_array().unwrap().len(), 1);

    let audit = env.run(&["audit", "--json"]);
    assert_eq!(
        audit.lines().filter(|l| l.contains("\"issued\"")).count(),
        4
    );

    // Read-only table key: reads views of its table, writes nothing.
    assert_eq!(
        env.check(Some(&table_key), &["--op", "read", "--view", "v_2"])
            .0,
        0
    );
    let (code, out) = env.check(Some(&table_key), &["--op", "write", "--view", "v_2"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("denied: no_right"), "{out}");
    // Workspace key: everything but share in its workspace, nothing elsewhere.
    assert_eq!(
        env.check(Some(&ws_key), &["--op", "delete", "--table", "t_1"])
            .0,
        0
    );
    assert!(env
        .check(Some(&ws_key), &["--op", "share", "--view", "v_1"])
        .1
        .starts_with("denied: no_right"));
    assert!(env
        .check(Some(&ws_key), &["--op", "read", "--view", "v_3"])
        .1
        .starts_with("denied: no_right"));
}

#[test]
fn issuing_bad_input_is_a_clear_error_and_issues_nothing() {
    let env = Env::ready();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "guest",
                "--workspace",
                "ws_1",
                "--view",
                "v_1",
                "--allow",
                "read,fly",
            ],
            "unknown operation \"fly\"",
        ),
        (
            &[
                "guest",
                "--workspace",
                "ws_1",
                "--view",
                "v_1",
                "--allow",
                "",
            ],
            "no operations given",
        ),
        (
            &[
                "guest",
                "--workspace",
                "ws_1",
                "--view",
                "v_1",
                "--allow",
                "read",
                "--expires",
                "2020-01-01T00:00:00Z",
            ],
            "is not in the future",
        ),
        (
            &[
                "guest",
                "--workspace",
                "ws_1",
                "--view",
                "v_1",
                "--allow",
                "read",
                "--expires",
                "soon",
            ],
            "invalid expiry",
        ),
        (
            &[
                "guest",
                "--workspace",
                "ws 1",
                "--view",
                "v_1",
                "--allow",
                "read",
            ],
            "invalid id",
        ),
        (
            &[
                "guest",
                "--workspace",
                "ws_1",
                "--view",
                "nope",
                "--allow",
                "read",
            ],
            "not registered",
        ),
        (
            &[
                "guest",
                "--workspace",
                "ws_2",
                "--view",
                "v_1",
                "--allow",
                "read",
            ],
            "not registered in workspace ws_2",
        ),
        (
            &["api-key", "--workspace", "ws_1", "--table", "t_2"],
            "not registered in workspace ws_1",
        ),
        (
            &[
                "api-key",
                "--workspace",
                "ws_1",
                "--read-only",
                "--allow",
                "write",
            ],
            "cannot be used with",
        ),
        (&["admin", "--label", "a\u{7}b"], "invalid label"),
    ];
    for (args, message) in cases {
        let mut all = vec!["issue"];
        all.extend_from_slice(args);
        env.cmd()
            .args(&all)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(*message));
    }
    assert!(env.ledger().is_empty(), "nothing issued");
}

#[test]
fn tokens_are_read_with_or_without_prefix_from_files_and_stdin() {
    let env = Env::ready();
    let token = env.guest("read");
    let file = env.dir.path().join("guest.tok");
    fs::write(&file, format!("{token}\n")).unwrap();
    let bare = token.strip_prefix("tsr_").unwrap();
    for arg in [
        token.as_str(),
        bare,
        file.to_str().unwrap(),
        &format!("@{}", file.display()),
    ] {
        assert_eq!(
            env.check(Some(arg), &["--op", "read", "--view", "v_1"]).0,
            0,
            "{arg}"
        );
    }
    env.cmd()
        .args(["check", "-", "--op", "read", "--view", "v_1"])
        .write_stdin(format!("  {token}\n"))
        .assert()
        .code(0)
        .stdout("allowed: read on view:v_1\n");
    env.cmd()
        .args(["inspect", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no token given"));
}

#[test]
fn attenuate_narrows_and_never_widens() {
    let env = Env::ready();
    let parent = env.guest("read,write,export");
    let child = env.run(&[
        "attenuate",
        &parent,
        "--allow",
        "read",
        "--expires",
        "7d",
        "--label",
        "contractor",
    ]);
    let child = child.trim();
    assert!(child.starts_with("tsr_"));
    assert_eq!(
        env.check(Some(child), &["--op", "read", "--view", "v_1"]).0,
        0
    );
    let (code, out) = env.check(Some(child), &["--op", "write", "--view", "v_1"]);
    assert_eq!(
        (code, out.trim()),
        (
            1,
            "denied: check_failed (a restriction in the token does not allow this request)"
        )
    );
    assert_eq!(
        env.check(Some(&parent), &["--op", "write", "--view", "v_1"])
            .0,
        0
    );

    let desc: Value = serde_json::from_str(&env.run(&["inspect", child, "--json"])).unwrap();
    let blocks = desc["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    assert!(blocks[1]["facts"].as_array().unwrap().is_empty());
    assert_eq!(blocks[1]["checks"].as_array().unwrap().len(), 2);
    assert_eq!(desc["labels"], serde_json::json!(["contractor"]));

    // Attenuating to another view: the parent's view is then refused too.
    let other = env.run(&["attenuate", &parent, "--view", "v_2"]);
    let (code, out) = env.check(Some(other.trim()), &["--op", "read", "--view", "v_1"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("denied: check_failed"), "{out}");
    assert!(env
        .check(Some(other.trim()), &["--op", "read", "--view", "v_2"])
        .1
        .starts_with("denied: no_right"));

    env.cmd()
        .args(["attenuate", &parent])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing to narrow"));
    env.cmd()
        .args(["attenuate", "tsr_garbage", "--allow", "read"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("malformed token"));
}

#[test]
fn inspect_shows_claims_and_verifies_with_public_keys() {
    let env = Env::ready();
    let token = env.issue(&[
        "guest",
        "--workspace",
        "ws_1",
        "--view",
        "v_1",
        "--allow",
        "read,export",
        "--expires",
        "2027-02-22T00:00:00Z",
        "--label",
        "client",
    ]);
    let text = env.run(&["inspect", &token]);
    for needle in [
        "kind          guest",
        "workspace     ws_1",
        "rights        view:v_1:read view:v_1:export",
        "expires       2027-02-22T00:00:00Z",
        "labels        client",
        "tessera(1);",
        "check if time($t), $t <= 2027-02-22T00:00:00Z;",
        "revocation id ",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let desc: Value = serde_json::from_str(&env.run(&["inspect", &token, "--json"])).unwrap();
    let id = desc["token_id"].as_str().unwrap();
    assert!(id.starts_with("tk_"));
    assert_eq!(env.ledger()[0]["token_id"], id);
    assert!(desc["root_key_id"].as_u64().is_some());
    assert_eq!(desc["revocation_ids"].as_array().unwrap().len(), 1);

    let public = env.data().join("public-keys.json");
    let verified: Value = serde_json::from_str(&env.run(&[
        "inspect",
        &token,
        "--json",
        "--public-keys",
        public.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(verified["signature"], "valid");
    assert_eq!(verified["revoked"], false);

    // Another issuer's keys: the signature does not verify (exit 1).
    let other = Env::new();
    other.run(&["init"]);
    let other_public = other.data().join("public-keys.json");
    env.cmd()
        .args([
            "inspect",
            &token,
            "--public-keys",
            other_public.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("INVALID (unknown_key"));

    env.run(&["revoke", id]);
    env.cmd()
        .args(["inspect", &token, "--public-keys", public.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("revoked       YES"));
}

#[test]
fn check_reports_every_reason_with_exit_codes() {
    let env = Env::ready();
    let token = env.issue(&[
        "guest",
        "--workspace",
        "ws_1",
        "--view",
        "v_1",
        "--allow",
        "read,write,create,export,manage",
        "--expires",
        "2027-01-01T00:00:00Z",
    ]);
    let v1 = ["--view", "v_1"];
    let reason = |token: Option<&str>, op: &str, extra: &[&str]| {
        let mut args = vec!["--op", op];
        args.extend_from_slice(extra);
        let (code, out) = env.check(token, &args);
        (code, out.split_whitespace().nth(1).unwrap_or("").to_owned())
    };
    assert_eq!(
        env.check(Some(&token), &["--op", "read", "--view", "v_1"]),
        (0, "allowed: read on view:v_1\n".into())
    );
    assert_eq!(reason(Some(&token), "delete", &v1), (1, "no_right".into()));
    assert_eq!(
        reason(Some(&token), "read", &["--view", "v_2"]),
        (1, "no_right".into())
    );
    assert_eq!(
        reason(Some(&token), "read", &["--table", "t_1"]),
        (1, "no_right".into())
    );
    assert_eq!(
        reason(Some(&token), "read", &["--workspace", "ws_1"]),
        (1, "no_right".into())
    );
    assert_eq!(
        reason(Some(&token), "read", &["--view", "v_404"]),
        (1, "unknown_resource".into())
    );
    assert_eq!(
        reason(
            Some(&token),
            "read",
            &["--view", "v_1", "--at", "2027-01-02T00:00:00Z"]
        ),
        (1, "expired".into())
    );
    assert_eq!(
        reason(Some("tsr_AAAA"), "read", &v1),
        (1, "malformed".into())
    );
    assert_eq!(reason(None, "read", &v1), (1, "missing_token".into()));

    // The view setting wins.
    env.run(&[
        "view",
        "set",
        "v_1",
        "--editable",
        "false",
        "--addable",
        "false",
        "--exportable",
        "false",
        "--locked",
        "true",
    ]);
    for op in ["write", "create", "export", "manage"] {
        assert_eq!(
            reason(Some(&token), op, &v1),
            (1, "view_setting".into()),
            "{op}"
        );
    }
    assert_eq!(reason(Some(&token), "read", &v1).0, 0);

    // A public view: readable with no token, never writable that way.
    env.run(&["view", "set", "v_2", "--public", "true"]);
    assert_eq!(reason(None, "read", &["--view", "v_2"]).0, 0);
    assert_eq!(
        reason(None, "write", &["--view", "v_2"]),
        (1, "missing_token".into())
    );

    // Usage errors exit 2.
    env.cmd()
        .args(["check", &token, "--op", "fly", "--view", "v_1"])
        .assert()
        .code(2);
    env.cmd()
        .args(["check", &token, "--op", "read"])
        .assert()
        .code(2);

    // --json
    let (code, out) = env.check(Some(&token), &["--op", "delete", "--view", "v_1", "--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["allowed"], false);
    assert_eq!(v["reason"], "no_right");
}

#[test]
fn explain_shows_facts_and_the_deciding_rule() {
    let env = Env::ready();
    let token = env.guest("read");
    let (code, out) = env.check(
        Some(&token),
        &["--op", "read", "--view", "v_1", "--explain"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("operation(\"read\");"), "{out}");
    assert!(
        out.contains("parent(\"view\", \"v_1\", \"table\", \"t_1\");"),
        "{out}"
    );
    assert!(
        out.contains("view_setting(\"v_1\", \"editable\", true);"),
        "{out}"
    );
    assert!(
        out.contains("decided by policy:\n  allow if operation($op)"),
        "{out}"
    );

    let child = env.run(&["attenuate", &token, "--view", "v_2"]);
    let (_, out) = env.check(
        Some(child.trim()),
        &["--op", "read", "--view", "v_1", "--explain"],
    );
    assert!(out.contains("failed checks:"), "{out}");
    assert!(out.contains("resource(\"view\", \"v_2\")"), "{out}");
}

#[test]
fn a_policy_file_replaces_the_default() {
    let env = Env::ready();
    let token = env.guest("read");
    let strict = env.dir.path().join("strict.datalog");
    fs::write(&strict, "deny if true;").unwrap();
    let (code, out) = env.check(
        Some(&token),
        &[
            "--op",
            "read",
            "--view",
            "v_1",
            "--policy",
            strict.to_str().unwrap(),
        ],
    );
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "denied: no_right (the token does not allow this operation on this resource)\n"
        )
    );
    fs::write(&strict, "this is not datalog").unwrap();
    env.cmd()
        .args([
            "check",
            &token,
            "--op",
            "read",
            "--view",
            "v_1",
            "--policy",
            strict.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("strict.datalog")
                .and(predicate::str::contains("not valid Datalog")),
        );
}

#[test]
fn view_table_and_workspace_registry_commands() {
    let env = Env::new();
    env.run(&["init"]);
    env.run(&["workspace", "set", "ws_9"]);
    env.run(&["table", "set", "t_9", "--workspace", "ws_9"]);
    env.cmd()
        .args(["table", "set", "t_9", "--workspace", "ws_8"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "table t_9 belongs to workspace ws_9",
        ));
    env.cmd()
        .args(["view", "set", "v_9", "--editable", "false"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("view v_9 is not registered"));
    env.run(&[
        "view",
        "set",
        "v_9",
        "--table",
        "t_9",
        "--workspace",
        "ws_9",
        "--exportable",
        "false",
    ]);
    env.run(&["view", "set", "v_9", "--public", "true"]);
    let shown: Value = serde_json::from_str(&env.run(&["view", "show", "v_9", "--json"])).unwrap();
    assert_eq!(shown["table"], "t_9");
    assert_eq!(shown["workspace"], "ws_9");
    assert_eq!(
        shown["settings"],
        serde_json::json!({"editable": true, "addable": true, "exportable": false, "public": true, "locked": false})
    );
    env.cmd()
        .args(["view", "set", "v_9", "--public", "maybe"])
        .assert()
        .code(2);
    env.cmd().args(["view", "show", "v_0"]).assert().code(2);
    let audit = env.run(&["audit"]);
    assert!(audit.contains("settings_changed"), "{audit}");
}

#[test]
fn revoking_a_parent_revokes_its_copies_and_not_the_reverse() {
    let env = Env::ready();
    let parent = env.guest("read,write");
    let child = env
        .run(&["attenuate", &parent, "--allow", "read"])
        .trim()
        .to_owned();
    let grandchild = env
        .run(&["attenuate", &child, "--label", "x"])
        .trim()
        .to_owned();
    let read_v1 = ["--op", "read", "--view", "v_1"];

    // Revoking the child leaves the parent working, kills the grandchild.
    env.cmd()
        .args(["revoke", "--token", &child, "--reason", "contract over"])
        .assert()
        .success();
    assert_eq!(env.check(Some(&parent), &read_v1).0, 0);
    assert!(env
        .check(Some(&child), &read_v1)
        .1
        .starts_with("denied: revoked"));
    assert!(env
        .check(Some(&grandchild), &read_v1)
        .1
        .starts_with("denied: revoked"));

    // Revoking the parent by ledger id kills everything from it.
    let id = env.ledger()[0]["token_id"].as_str().unwrap().to_owned();
    env.run(&["revoke", &id, "--reason", "leaked"]);
    assert!(env
        .check(Some(&parent), &read_v1)
        .1
        .starts_with("denied: revoked"));
    let entry = &env.ledger()[0];
    assert_eq!(entry["state"], "revoked");
    assert_eq!(entry["revoke_reason"], "leaked");

    env.cmd()
        .args(["revoke", "tk_doesnotexist"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no token tk_doesnotexist in the ledger",
        ));
    env.cmd().args(["revoke"]).assert().code(2);
}

#[test]
fn revoke_by_revocation_id_and_by_view() {
    let env = Env::ready();
    let a = env.guest("read");
    let b = env.guest("read");
    let other_view = env.issue(&[
        "guest",
        "--workspace",
        "ws_1",
        "--view",
        "v_2",
        "--allow",
        "read",
    ]);
    let desc: Value = serde_json::from_str(&env.run(&["inspect", &a, "--json"])).unwrap();
    let rid = desc["revocation_ids"][0].as_str().unwrap();
    env.run(&["revoke", "--revocation-id", rid]);
    let read_v1 = ["--op", "read", "--view", "v_1"];
    assert!(env
        .check(Some(&a), &read_v1)
        .1
        .starts_with("denied: revoked"));
    assert_eq!(env.check(Some(&b), &read_v1).0, 0);

    env.cmd()
        .args(["revoke", "--revocation-id", "zz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must be hex"));

    env.run(&["revoke", "--view", "v_1", "--reason", "kill all links"]);
    assert!(env
        .check(Some(&b), &read_v1)
        .1
        .starts_with("denied: revoked"));
    assert_eq!(
        env.check(Some(&other_view), &["--op", "read", "--view", "v_2"])
            .0,
        0
    );

    let listed: Vec<Value> =
        serde_json::from_str(&env.run(&["tokens", "list", "--view", "v_1", "--json"])).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|e| e["state"] == "revoked"));
    let ws2: Vec<Value> =
        serde_json::from_str(&env.run(&["tokens", "list", "--workspace", "ws_2", "--json"]))
            .unwrap();
    assert!(ws2.is_empty());
    let table = env.run(&["tokens", "list"]);
    assert_eq!(table.lines().count(), 4, "{table}");
}

#[test]
fn expired_tokens_show_as_expired_in_the_ledger() {
    let env = Env::ready();
    env.issue(&[
        "guest",
        "--workspace",
        "ws_1",
        "--view",
        "v_1",
        "--allow",
        "read",
        "--expires",
        "1s",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(env.ledger()[0]["state"], "expired");
}

#[test]
fn link_prints_a_share_link() {
    let env = Env::ready();
    let token = env.guest("read");
    let link = env.run(&["link", &token, "--base", "https://share.example.com/"]);
    // The link carries the compact form of the same token: shorter, and
    // every command reads it like the plain form.
    let carried = link
        .trim()
        .strip_prefix("https://share.example.com/s/")
        .unwrap();
    assert!(carried.starts_with("tsz_"), "{link}");
    assert!(carried.len() < token.len());
    let described =
        |t: &str| -> Value { serde_json::from_str(&env.run(&["inspect", t, "--json"])).unwrap() };
    assert_eq!(described(carried), described(&token));
    let read = ["--op", "read", "--view", "v_1"];
    assert_eq!(
        env.check(Some(carried), &read),
        (0, "allowed: read on view:v_1\n".into())
    );
    let write = ["--op", "write", "--view", "v_1"];
    assert_eq!(
        env.check(Some(carried), &write),
        env.check(Some(&token), &write)
    );
    // Attenuating the carried token keeps the compact form; its link is itself.
    let narrowed = env.run(&["attenuate", carried, "--allow", "read"]);
    assert!(narrowed.starts_with("tsz_"), "{narrowed}");
    assert_eq!(
        env.run(&["link", narrowed.trim(), "--base", "https://x"])
            .trim(),
        format!("https://x/s/{}", narrowed.trim())
    );
    env.cmd()
        .args(["link", "tsr_junk", "--base", "https://x"])
        .assert()
        .code(2);
}
