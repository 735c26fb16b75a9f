//! biscuit-python (PyPI `biscuit-python`, module `biscuit_auth`) against
//! Tessera: it verifies Tessera's tokens with the public key, reaches the
//! same allow/deny as `tessera check` with Tessera's own policy and request
//! facts, and appends blocks `tessera check` honours.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{assert_not_widened, run, tool, Env, WIDENING_BLOCK};

const OPS: [&str; 7] = [
    "read", "write", "create", "delete", "export", "manage", "share",
];
const RESOURCES: [(&str, &str); 5] = [
    ("view", "v_1"),
    ("view", "v_2"),
    ("table", "t_1"),
    ("workspace", "ws_1"),
    ("view", "v_3"),
];

/// The venv's python, with biscuit_auth installed.
fn python() -> PathBuf {
    tool(
        "TESSERA_INTEROP_PYTHON",
        "target/interop-venv/bin/python",
        "biscuit-python (PyPI biscuit-python, module biscuit_auth, in a venv)",
    )
}

/// `python tests/interop/biscuit_python.py ACTION` with `input` on stdin.
fn biscuit_python(action: &str, input: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/biscuit_python.py");
    let script = script.to_str().expect("utf-8 path");
    let out = run(&python(), &[script, action], &input.to_string(), &[]).ok();
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// `tessera check --explain --json`: the decision and the facts Tessera gave.
fn tessera_decision(env: &Env, token: &str, op: &str, kind: &str, id: &str) -> (bool, Value) {
    let flag = format!("--{kind}");
    let ran = env.tessera(
        &["check", "-", "--op", op, &flag, id, "--explain", "--json"],
        token,
    );
    let v: Value = serde_json::from_str(&ran.stdout).expect("check --json");
    (
        v["allowed"].as_bool().expect("allowed"),
        v["explanation"]["facts"].clone(),
    )
}

/// For each operation on each resource, biscuit-python running Tessera's
/// default policy over the request facts Tessera gives decides exactly as
/// `tessera check` does — for a guest token and an API key, with a view
/// whose settings deny — under the same run limits.
#[test]
fn biscuit_python_decides_like_tessera_check_with_tesseras_policy() {
    let env = Env::ready();
    env.view_set("v_2", "t_1", "ws_1", &["--editable", "false"]);
    let api_key = env
        .tessera(&["issue", "api-key", "--workspace", "ws_1"], "")
        .ok();
    let policy = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/default.datalog"),
    )
    .expect("policy");
    let key = env.public_key();
    let run_limits = tessera::authorize::RunLimits::default();
    let limits = json!({
        "max_facts": run_limits.max_facts,
        "max_iterations": run_limits.max_iterations,
        "max_time_ms": u64::try_from(run_limits.max_time.as_millis()).expect("ms"),
    });
    let mut tally = [0usize; 2];
    for token in [env.guest("v_1", "read,write"), api_key.trim().to_owned()] {
        let mut expected = Vec::new();
        let mut requests = Vec::new();
        for op in OPS {
            for (kind, id) in RESOURCES {
                let (allowed, facts) = tessera_decision(&env, &token, op, kind, id);
                assert!(facts.as_array().is_some_and(|f| !f.is_empty()), "{facts}");
                expected.push((op, kind, id, allowed));
                requests.push(facts);
                tally[usize::from(allowed)] += 1;
            }
        }
        let answer = biscuit_python(
            "authorize",
            &json!({
                "token": env.plain(&token),
                "public_key": key,
                "policy": policy,
                "limits": limits,
                "requests": requests,
            }),
        );
        let results = answer["results"].as_array().expect("results");
        assert_eq!(results.len(), expected.len());
        for ((op, kind, id, allowed), got) in expected.iter().zip(results) {
            assert_eq!(
                got["allowed"].as_bool(),
                Some(*allowed),
                "{op} on {kind}:{id}: tessera check says allowed={allowed}, biscuit-python {got}"
            );
        }
    }
    // The table holds both answers, and the view setting's denial among them.
    assert!(tally[0] > 10 && tally[1] > 10, "denied/allowed: {tally:?}");
    assert_eq!(
        env.check(&api_key, "write", "view", "v_2"),
        (false, Some("view_setting".to_owned()))
    );
}

#[test]
fn biscuit_python_verifies_with_tesseras_key_and_only_with_it() {
    let env = Env::ready();
    let plain = env.plain(&env.guest("v_1", "read"));
    let ok = biscuit_python(
        "verify",
        &json!({ "token": plain, "public_key": env.public_key() }),
    );
    assert_eq!(ok["verified"], true, "{ok}");
    let authority = ok["authority"].as_str().expect("source");
    assert!(
        authority.contains(r#"right("view", "v_1", "read")"#),
        "{authority}"
    );
    let other = Env::ready().public_key();
    let bad = biscuit_python("verify", &json!({ "token": plain, "public_key": other }));
    assert_eq!(bad["verified"], false, "{bad}");
}

/// A block appended by biscuit-python narrows what `tessera check` allows;
/// one that tries to widen changes nothing.
#[test]
fn blocks_appended_by_biscuit_python_are_honoured_and_widen_nothing() {
    let env = Env::ready();
    let key = env.public_key();
    let api_key = env
        .tessera(
            &["issue", "api-key", "--workspace", "ws_1", "--read-only"],
            "",
        )
        .ok();
    let api_key = api_key.trim();
    env.assert_allowed(api_key, "read", "view", "v_2");
    let answer = biscuit_python(
        "append",
        &json!({
            "token": env.plain(api_key),
            "public_key": key,
            "block": r#"check if resource("view", "v_1");"#,
        }),
    );
    assert_eq!(answer["blocks"], 2, "{answer}");
    let narrowed = answer["token"].as_str().expect("token");
    env.assert_allowed(narrowed, "read", "view", "v_1");
    env.assert_denied(narrowed, "read", "view", "v_2", "check_failed");
    env.assert_denied(narrowed, "read", "table", "t_1", "check_failed");
    env.assert_denied(narrowed, "write", "view", "v_1", "no_right");

    let guest = env.guest("v_1", "read");
    let answer = biscuit_python(
        "append",
        &json!({ "token": env.plain(&guest), "public_key": key, "block": WIDENING_BLOCK }),
    );
    assert_not_widened(&env, answer["token"].as_str().expect("token"));
}
