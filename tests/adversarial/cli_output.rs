//! The CLI facing attacker-controlled text, and keyring writes through
//! symbolic links.
//!
//! A token's labels and facts are written by whoever made it (an
//! attenuation block anyone can append, or a foreign biscuit), and revoke
//! reasons are free text. Printed raw, `ESC [` sequences, `\r` and
//! bidirectional overrides (U+202E) rewrite what an operator sees. Every
//! test runs the real `tessera` binary and looks at the bytes it printed:
//! nothing raw, the text still there as visible escapes, ordinary Unicode
//! unchanged. Labels with such characters are refused at every entry (CLI
//! `--label`, `attenuate --label`, the admin API) with nothing issued.
//!
//! `keys rotate|retire` and `init` follow a symlinked `keys.toml` (the link
//! stays a link, its target gets the new keyring, mode 0600) and refuse a
//! link to nowhere or to a directory, naming it, with nothing changed.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use biscuit_auth::builder::{fact, pred, rule, string, Check, CheckKind, Term};
use biscuit_auth::{Biscuit, BlockBuilder, KeyPair};
use chrono::Utc;
use serde_json::{json, Value};
use tessera::model::{Id, LedgerEntry, TokenKind};

use crate::common::{append_block, encode};
use crate::server::{client, seed_registry, Server};

/// ANSI colour and erase-screen sequences (ESC and the one-character C1
/// CSI), a carriage return, BEL, a right-to-left override, an isolate and a
/// zero-width space.
const HOSTILE: &str = "\u{1b}[31mRED\u{1b}[0m\rEVIL\u{7}\u{202e}exe.txt\u{2066}\u{9b}2J\u{200b}!";

/// How those characters must show: visible, in order.
const HOSTILE_SHOWN: &str =
    "\\x1b[31mRED\\x1b[0m\\rEVIL\\x07\\u{202e}exe.txt\\u{2066}\\u{9b}2J\\u{200b}!";

/// Ordinary Unicode a label may hold: accents, CJK, a right-to-left script,
/// an emoji with a zero-width joiner.
const ORDINARY: &str = "Zoë Müller – 日本語 ✓ עברית 👩\u{200d}💻";

/// Asserts `bytes` are UTF-8 holding no control character but newlines and
/// no bidirectional or invisible formatting character. The list is written
/// out here, not taken from the code under test.
fn assert_terminal_safe(bytes: &[u8], what: &str) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(
                    c,
                    '\u{061c}'
                        | '\u{200b}'
                        | '\u{200e}'
                        | '\u{200f}'
                        | '\u{2028}'..='\u{202e}'
                        | '\u{2066}'..='\u{2069}'
                        | '\u{feff}'
                )
        })
        .collect();
    assert!(raw.is_empty(), "{what}: raw {raw:?} in {text:?}");
    text
}

/// A fresh data directory and a way to run `tessera` against it.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// init, and ws_1 ⊃ t_1 ⊃ v_1.
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
        env
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn output(&self, args: &[&str]) -> Output {
        Command::cargo_bin("tessera")
            .expect("tessera binary")
            .current_dir(self.dir.path())
            .env("TESSERA_DATA_DIR", self.data())
            .args(args)
            .output()
            .expect("run tessera")
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "tessera {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    fn guest(&self, label: Option<&str>) -> String {
        let mut args = vec![
            "issue",
            "guest",
            "--workspace",
            "ws_1",
            "--view",
            "v_1",
            "--allow",
            "read",
        ];
        if let Some(l) = label {
            args.extend(["--label", l]);
        }
        self.run(&args).trim().to_owned()
    }

    fn ledger(&self) -> Vec<Value> {
        serde_json::from_str(&self.run(&["tokens", "list", "--json"])).expect("ledger JSON")
    }
}

/// A block anyone holding the token can append: a label, a fact and a
/// check, all carrying `HOSTILE`.
fn hostile_block() -> BlockBuilder {
    let check = Check {
        queries: vec![rule(
            "query",
            &[] as &[Term],
            &[pred("resource", &[string("view"), string(HOSTILE)])],
        )],
        kind: CheckKind::One,
    };
    BlockBuilder::new()
        .context(HOSTILE.to_owned())
        .fact(fact("note", &[string(HOSTILE)]))
        .and_then(|b| b.check(check))
        .expect("block")
}

/// A biscuit from some other issuer whose authority block says anything.
fn foreign_biscuit() -> String {
    let root = KeyPair::new();
    let token = Biscuit::builder()
        .fact(fact("token_id", &[string(HOSTILE)]))
        .and_then(|b| b.fact(fact("kind", &[string("guest\u{202e}nimda")])))
        .and_then(|b| b.fact(fact("workspace", &[string("ws\u{1b}]0;pwned\u{7}")])))
        .and_then(|b| {
            b.fact(fact(
                "right",
                &[string("view"), string("v_1\r\u{1b}[2K"), string("read")],
            ))
        })
        .expect("facts")
        .context(HOSTILE.to_owned())
        .build(&root)
        .expect("foreign biscuit");
    encode(&token.to_vec().expect("bytes"))
}

// ------------------------------------------------------------ inspect

#[test]
fn inspect_shows_an_attenuation_blocks_hostile_label_and_facts_escaped() {
    let env = Env::ready();
    let token = append_block(&env.guest(None), hostile_block(), 7);
    let out = env.output(&["inspect", &token]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = assert_terminal_safe(&out.stdout, "inspect");
    // The text is shown, as escapes, where it belongs.
    assert!(
        text.contains(&format!("labels        {HOSTILE_SHOWN}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("  // label: {HOSTILE_SHOWN}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("  note(\"{HOSTILE_SHOWN}\");\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("check if resource(\"view\", \"{HOSTILE_SHOWN}\")")),
        "{text}"
    );
}

#[test]
fn inspect_shows_a_foreign_biscuits_claims_escaped() {
    let env = Env::new();
    let out = env.output(&["inspect", &foreign_biscuit()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = assert_terminal_safe(&out.stdout, "inspect");
    for line in [
        format!("token_id      {HOSTILE_SHOWN}\n"),
        "kind          guest\\u{202e}nimda\n".to_owned(),
        "workspace     ws\\x1b]0;pwned\\x07\n".to_owned(),
        "rights        view:v_1\\r\\x1b[2K:read\n".to_owned(),
        format!("labels        {HOSTILE_SHOWN}\n"),
    ] {
        assert!(text.contains(&line), "{line:?} in {text}");
    }
}

#[test]
fn inspect_json_keeps_the_value_and_prints_nothing_raw() {
    let env = Env::ready();
    for token in [
        append_block(&env.guest(None), hostile_block(), 8),
        foreign_biscuit(),
    ] {
        let out = env.output(&["inspect", "--json", &token]);
        assert!(out.status.success());
        let text = assert_terminal_safe(&out.stdout, "inspect --json");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        // The value is exactly what the token says: a script sees the truth.
        assert_eq!(
            v["labels"].as_array().and_then(|l| l.last()),
            Some(&json!(HOSTILE))
        );
        assert_eq!(
            v["blocks"]
                .as_array()
                .and_then(|b| b.last())
                .map(|b| &b["context"]),
            Some(&json!(HOSTILE))
        );
    }
}

#[test]
fn ordinary_unicode_labels_print_as_they_are() {
    let env = Env::ready();
    let token = env.guest(Some(ORDINARY));
    let child = env.run(&["attenuate", &token, "--label", "résumé 東京"]);
    let text = env.run(&["inspect", child.trim()]);
    assert!(
        text.contains(&format!("labels        {ORDINARY} | résumé 東京\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("  // label: {ORDINARY}\n")),
        "{text}"
    );
    let list = env.run(&["tokens", "list"]);
    assert!(
        list.lines().nth(1).is_some_and(|l| l.ends_with(ORDINARY)),
        "{list}"
    );
    assert_eq!(env.ledger()[0]["label"], ORDINARY);
}

// ------------------------------------------------ check, tokens, audit

#[test]
fn check_explain_shows_a_hostile_failed_check_escaped() {
    let env = Env::ready();
    let token = append_block(&env.guest(None), hostile_block(), 9);
    let out = env.output(&[
        "check",
        &token,
        "--op",
        "read",
        "--view",
        "v_1",
        "--explain",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hostile check fails: denied"
    );
    let text = assert_terminal_safe(&out.stdout, "check --explain");
    assert!(text.starts_with("denied: check_failed"), "{text}");
    assert!(text.contains("failed checks:"), "{text}");
    assert!(
        text.contains(&format!("resource(\"view\", \"{HOSTILE_SHOWN}\")")),
        "{text}"
    );
    let json = env.output(&[
        "check",
        &token,
        "--op",
        "read",
        "--view",
        "v_1",
        "--explain",
        "--json",
    ]);
    let text = assert_terminal_safe(&json.stdout, "check --json");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    assert!(
        v["explanation"]["failed_checks"][0]
            .as_str()
            .is_some_and(|c| c.contains(HOSTILE)),
        "{v}"
    );
}

#[test]
fn audit_shows_a_hostile_revoke_reason_escaped() {
    let env = Env::ready();
    env.guest(None);
    let token_id = env.ledger()[0]["token_id"].as_str().expect("id").to_owned();
    env.run(&["revoke", &token_id, "--reason", HOSTILE]);

    let text = assert_terminal_safe(&env.output(&["audit"]).stdout, "audit");
    let line = text
        .lines()
        .find(|l| l.contains("revoked"))
        .expect("a revoked event");
    assert!(line.ends_with(&format!("({HOSTILE_SHOWN})")), "{line}");

    let text = assert_terminal_safe(&env.output(&["audit", "--json"]).stdout, "audit --json");
    let details: Vec<String> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            v["detail"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert!(
        details.iter().any(|d| d.ends_with(&format!("({HOSTILE})"))),
        "the reason itself, unchanged: {details:?}"
    );
}

/// A ledger written before labels were checked (or by another tool) can
/// still hold a hostile label: `tokens list` escapes it.
#[test]
fn tokens_list_shows_a_stored_hostile_label_escaped() {
    let env = Env::ready();
    let store = tessera::store::Store::open(&env.data().join("tessera.redb")).expect("store");
    store
        .record_issued(&LedgerEntry {
            token_id: Id::new("tk_0000000000000001").expect("id"),
            kind: TokenKind::Admin,
            workspace: None,
            user: None,
            scope: None,
            rights: Vec::new(),
            expires_at: None,
            label: Some(HOSTILE.to_owned()),
            created_at: Utc::now(),
            root_key_id: 1,
            revocation_ids: vec!["00".repeat(64)],
            revoked_at: None,
            revoke_reason: None,
            last_used_at: None,
            shared_by: None,
            embed: None,
        })
        .expect("record");
    drop(store);

    let text = assert_terminal_safe(&env.output(&["tokens", "list"]).stdout, "tokens list");
    let row = text.lines().nth(1).expect("a row");
    assert!(row.starts_with("tk_0000000000000001"), "{row}");
    assert!(row.ends_with(HOSTILE_SHOWN), "{row}");

    let text = assert_terminal_safe(
        &env.output(&["tokens", "list", "--json"]).stdout,
        "tokens list --json",
    );
    let rows: Vec<Value> = serde_json::from_str(&text).expect("JSON");
    assert_eq!(rows[0]["label"], HOSTILE);
}

// ------------------------------------------------------- label entries

/// Labels every entry refuses, with the escape the error names.
const BAD_LABELS: [(&str, &str); 6] = [
    ("\u{1b}[31mred", "character 1 is \\x1b"),
    ("ok\rEVIL", "character 3 is \\r"),
    ("invoice\u{202e}fdp.exe", "character 8 is \\u{202e}"),
    ("a\u{2066}b", "character 2 is \\u{2066}"),
    ("zero\u{200b}width", "character 5 is \\u{200b}"),
    ("\u{9b}2J", "character 1 is \\u{9b}"),
];

#[test]
fn issue_refuses_hostile_labels_naming_the_character_and_issues_nothing() {
    let env = Env::ready();
    let too_long = "a".repeat(129);
    let cases = BAD_LABELS
        .iter()
        .copied()
        .chain([(too_long.as_str(), "at most 128")]);
    for (label, message) in cases {
        for kind in [
            &[
                "guest",
                "--workspace",
                "ws_1",
                "--view",
                "v_1",
                "--allow",
                "read",
            ][..],
            &["admin"][..],
        ] {
            let mut args = vec!["issue"];
            args.extend_from_slice(kind);
            args.extend(["--label", label]);
            let out = env.output(&args);
            assert_eq!(out.status.code(), Some(2), "{label:?}: a usage error");
            assert!(out.stdout.is_empty(), "{label:?}: no token printed");
            let err = assert_terminal_safe(&out.stderr, "stderr");
            assert!(err.starts_with("tessera: invalid label: "), "{err}");
            assert!(err.contains(message), "{message:?} in {err}");
        }
    }
    assert!(env.ledger().is_empty(), "nothing issued");
    // Twin: 128 characters are a label.
    env.guest(Some(&"é".repeat(128)));
    assert_eq!(env.ledger().len(), 1);
}

#[test]
fn attenuate_refuses_hostile_labels_naming_the_character() {
    let env = Env::ready();
    let token = env.guest(None);
    for (label, message) in BAD_LABELS {
        let out = env.output(&["attenuate", &token, "--label", label]);
        assert_eq!(out.status.code(), Some(2), "{label:?}");
        assert!(out.stdout.is_empty(), "{label:?}: no token printed");
        let err = assert_terminal_safe(&out.stderr, "stderr");
        assert!(
            err.contains("invalid label: ") && err.contains(message),
            "{err}"
        );
    }
    // Twin.
    let child = env.run(&["attenuate", &token, "--label", ORDINARY]);
    assert!(child.starts_with("tsr_"), "{child}");
}

#[tokio::test]
async fn the_admin_api_refuses_hostile_labels_with_bad_request_and_issues_nothing() {
    let s = Server::start(&["--max-authorizer-ms", "250"]);
    seed_registry(&s).await;
    let admin = s.admin_token();
    let ledger_len = || async {
        let v: Value = client()
            .get(s.url("/admin/v1/tokens"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("GET /tokens")
            .json()
            .await
            .expect("JSON");
        v["tokens"].as_array().map_or(0, Vec::len)
    };
    let post = |label: &str| {
        client()
            .post(s.url("/admin/v1/tokens"))
            .bearer_auth(&admin)
            .json(&json!({
                "kind": "guest", "workspace": "ws_1", "view": "v_1",
                "allow": ["read"], "label": label,
            }))
            .send()
    };
    let before = ledger_len().await;
    for (label, message) in BAD_LABELS {
        let r = post(label).await.expect("POST /tokens");
        assert_eq!(r.status(), 400, "{label:?}");
        let body = r.bytes().await.expect("body");
        let text = assert_terminal_safe(&body, "admin API body");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(v["error"], "bad_request", "{v}");
        assert!(v.get("token").is_none(), "{v}");
        let m = v["message"].as_str().unwrap_or_default();
        assert!(
            m.starts_with("invalid label: ") && m.contains(message),
            "{m}"
        );
    }
    assert_eq!(ledger_len().await, before, "nothing issued");
    // Twin: an ordinary Unicode label is issued and kept as it is.
    let r = post(ORDINARY).await.expect("POST /tokens");
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.expect("JSON");
    assert_eq!(v["label"], ORDINARY);
    assert_eq!(ledger_len().await, before + 1);
}

// ------------------------------------------------ keyring symlinks

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// `(id, state)` of every key, as `keys list` prints them.
fn keys(env: &Env) -> Vec<(String, String)> {
    env.run(&["keys", "list"])
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut words = l.split_whitespace().map(str::to_owned);
            Some((words.next()?, words.next()?))
        })
        .collect()
}

fn states(keys: &[(String, String)]) -> Vec<&str> {
    keys.iter().map(|(_, state)| state.as_str()).collect()
}

/// Files in `dir` whose name marks them as a temporary write.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// An initialised data directory whose `keys.toml` is moved to
/// `secrets/keys.toml` and replaced by a relative link to it.
fn linked_keyring() -> (Env, PathBuf, PathBuf) {
    let env = Env::new();
    env.run(&["init"]);
    let secrets = env.dir.path().join("secrets");
    fs::create_dir(&secrets).expect("secrets dir");
    fs::set_permissions(&secrets, fs::Permissions::from_mode(0o700)).expect("chmod");
    let link = env.data().join("keys.toml");
    let target = secrets.join("keys.toml");
    fs::rename(&link, &target).expect("move keyring");
    symlink("../secrets/keys.toml", &link).expect("symlink");
    (env, link, target)
}

#[test]
fn keys_rotate_and_retire_follow_a_symlinked_keyring() {
    let (env, link, target) = linked_keyring();
    let before = fs::read(&target).expect("keyring");
    let first = keys(&env);
    assert_eq!(states(&first), ["active"]);
    let first = first[0].0.clone();

    env.run(&["keys", "rotate"]);
    assert!(fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_link(&link).expect("link"),
        Path::new("../secrets/keys.toml")
    );
    assert_ne!(
        fs::read(&target).expect("keyring"),
        before,
        "the target holds the new keyring"
    );
    assert_eq!(mode(&target), 0o600);
    let rotated = keys(&env);
    let new = rotated
        .iter()
        .find(|(_, state)| state == "active")
        .map(|(id, _)| id.clone())
        .expect("an active key");
    assert_ne!(new, first);
    assert!(
        rotated.contains(&(first.clone(), "verifying".to_owned())),
        "{rotated:?}"
    );

    env.run(&["keys", "retire", &first]);
    assert!(fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(mode(&target), 0o600);
    let retired = keys(&env);
    assert!(
        retired.contains(&(first, "retired".to_owned())),
        "{retired:?}"
    );
    assert!(
        retired.contains(&(new.clone(), "active".to_owned())),
        "{retired:?}"
    );
    // The public keyring followed; no temporary file is left anywhere.
    let public: Value = serde_json::from_str(
        &fs::read_to_string(env.data().join("public-keys.json")).expect("public keys"),
    )
    .expect("JSON");
    let public_ids: Vec<&Value> = public
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| &k["key_id"])
        .collect();
    assert_eq!(public_ids, [&json!(new.parse::<u32>().expect("a key id"))]);
    assert!(
        leftovers(&env.data()).is_empty() && leftovers(target.parent().expect("dir")).is_empty()
    );
    // A token issued now is signed by the new key and verifies.
    env.run(&[
        "view",
        "set",
        "v_1",
        "--table",
        "t_1",
        "--workspace",
        "ws_1",
    ]);
    let token = env.guest(None);
    let out = env.output(&["check", &token, "--op", "read", "--view", "v_1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_dangling_keyring_link_is_refused_by_name_and_nothing_changes() {
    let (env, link, target) = linked_keyring();
    fs::remove_file(&target).expect("remove target");
    let public = env.data().join("public-keys.json");
    let public_before = fs::read(&public).expect("public keys");
    for args in [
        &["keys", "rotate"][..],
        &["keys", "retire", "1"],
        &["init", "--force"],
        &["init"],
    ] {
        let out = env.output(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "{} is a symbolic link to ../secrets/keys.toml, which does not exist",
                link.display()
            )),
            "{args:?}: {err}"
        );
        assert!(err.contains("point the link at an existing file"), "{err}");
        assert!(fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink());
        assert!(
            !target.exists(),
            "{args:?}: nothing written through the link"
        );
        assert_eq!(fs::read(&public).expect("public keys"), public_before);
    }
}

#[test]
fn a_keyring_link_to_a_directory_is_refused_by_name_and_nothing_changes() {
    let (env, link, target) = linked_keyring();
    fs::remove_file(&target).expect("remove target");
    fs::remove_file(&link).expect("remove link");
    let dir = target.parent().expect("secrets").to_owned();
    symlink(&dir, &link).expect("symlink to a directory");
    let public = env.data().join("public-keys.json");
    let public_before = fs::read(&public).expect("public keys");
    for args in [&["keys", "rotate"][..], &["init", "--force"]] {
        let out = env.output(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "{} is not a regular file (it is a symbolic link to a directory {})",
                link.display(),
                fs::canonicalize(&dir).expect("dir").display()
            )),
            "{args:?}: {err}"
        );
        assert!(
            fs::read_dir(&dir).expect("dir").next().is_none(),
            "nothing written into it"
        );
        assert_eq!(fs::read(&public).expect("public keys"), public_before);
    }
}
