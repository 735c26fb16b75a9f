//! biscuit-wasm (npm `@biscuit-auth/biscuit-wasm`) under node against
//! Tessera: it parses and verifies Tessera's tokens with the public key and
//! appends blocks that `tessera check` honours.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{run, tool, Env};

/// The folder holding `@biscuit-auth/biscuit-wasm`.
fn node_modules() -> PathBuf {
    let modules = tool(
        "TESSERA_INTEROP_NODE_MODULES",
        "target/interop-node/node_modules",
        "biscuit-wasm (npm @biscuit-auth/biscuit-wasm)",
    );
    let package = modules.join("@biscuit-auth/biscuit-wasm/package.json");
    assert!(
        package.is_file(),
        "biscuit-wasm is not installed in {}: no {}; {}",
        modules.display(),
        package.display(),
        super::INSTALL_HINT
    );
    modules
}

/// `node tests/interop/biscuit_wasm.mjs NODE_MODULES` with `input` on stdin:
/// the JSON of its last line.
fn biscuit_wasm(input: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/biscuit_wasm.mjs");
    let modules = node_modules();
    let node = which_node();
    let out = run(
        &node,
        &[
            script.to_str().expect("utf-8 path"),
            modules.to_str().expect("utf-8 path"),
        ],
        &input.to_string(),
        &[],
    )
    .ok();
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// `node` from PATH (or `$TESSERA_INTEROP_NODE`).
fn which_node() -> PathBuf {
    if let Some(node) = std::env::var_os("TESSERA_INTEROP_NODE") {
        return PathBuf::from(node);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("node"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("node is not installed (not on PATH, no $TESSERA_INTEROP_NODE): biscuit-wasm runs under node")
        })
}

#[test]
fn biscuit_wasm_verifies_with_tesseras_key_and_only_with_it() {
    let env = Env::ready();
    let plain = env.plain(&env.guest("v_1", "read"));
    let ok = biscuit_wasm(&json!({ "token": plain, "public_key": env.public_key() }));
    assert_eq!(ok["verified"], true, "{ok}");
    assert_eq!(ok["blocks"], 1, "{ok}");
    let authority = ok["authority"].as_str().expect("source");
    for fact in [r#"kind("guest")"#, r#"right("view", "v_1", "read")"#] {
        assert!(authority.contains(fact), "{fact} not in {authority}");
    }
    let other = Env::ready().public_key();
    let bad = biscuit_wasm(&json!({ "token": plain, "public_key": other }));
    assert_eq!(bad["verified"], false, "{bad}");
}

/// A check and an expiry appended by biscuit-wasm: `tessera check` allows
/// what they allow, denies the rest `check_failed`, and an expiry in the
/// past `expired` — the same reasons as for Tessera's own blocks.
#[test]
fn blocks_appended_by_biscuit_wasm_are_honoured_by_tessera_check() {
    let env = Env::ready();
    let key = env.public_key();
    let plain = env.plain(&env.guest("v_1", "read,write"));
    let answer = biscuit_wasm(&json!({
        "token": plain,
        "public_key": key,
        "block": r#"check if operation("read");"#,
    }));
    assert_eq!(answer["blocks"], 2, "{answer}");
    let read_only = answer["token"].as_str().expect("token");
    env.assert_allowed(read_only, "read", "view", "v_1");
    env.assert_denied(read_only, "write", "view", "v_1", "check_failed");

    let answer = biscuit_wasm(&json!({
        "token": plain,
        "public_key": key,
        "block": "check if time($time), $time <= 2020-01-01T00:00:00Z;",
    }));
    let expired = answer["token"].as_str().expect("token");
    env.assert_denied(expired, "read", "view", "v_1", "expired");
}
