//! Which blocks written by another tool Tessera's admission takes: all that
//! biscuit-cli writes — first-party and third-party blocks, `reject if`,
//! `check all`, closures, its TTL checks, sealed tokens — except blocks over
//! Tessera's configured [`TokenLimits`](tessera::token::TokenLimits), which
//! are refused as `limits` whoever wrote them.

use super::{assert_not_widened, biscuit_cli, run, Env, WIDENING_BLOCK};

/// `biscuit SUBCOMMAND - ARGS…` with `stdin`: its stdout, trimmed.
fn biscuit(subcommand: &str, args: &[&str], stdin: &str) -> String {
    let mut all = vec![subcommand, "-"];
    all.extend_from_slice(args);
    run(&biscuit_cli(), &all, stdin, &[]).ok().trim().to_owned()
}

/// Datalog features of biscuit 3.x in blocks biscuit-cli writes: each is
/// admitted and narrows `write` away (or not at all) exactly as it says.
#[test]
fn tessera_admits_every_datalog_form_biscuit_cli_writes() {
    let env = Env::ready();
    let plain = env.plain(&env.guest("v_1", "read,write"));
    // (block, is write still allowed)
    for (block, write_allowed) in [
        (r#"reject if operation("write");"#, false),
        (
            r#"check all operation($op), ["read"].contains($op);"#,
            false,
        ),
        (r#"check if operation($op), $op.matches("^re");"#, false),
        (r#"check if operation($o), [1, 2].any($x -> $x > 1);"#, true),
        (
            r#"check if resource($k, $id), {"v_1", "v_2"}.contains($id);"#,
            true,
        ),
        (r#"f(1); check if f($x), $x === 1;"#, true),
        (r#"check if operation($o) trusting authority;"#, true),
    ] {
        let token = biscuit("attenuate", &["--block", block], &plain);
        env.assert_allowed(&token, "read", "view", "v_1");
        if write_allowed {
            env.assert_allowed(&token, "write", "view", "v_1");
        } else {
            env.assert_denied(&token, "write", "view", "v_1", "check_failed");
        }
    }
}

/// biscuit-cli's `--add-ttl` writes the same `time($time) <= date` check
/// Tessera does: once past, Tessera says `expired`, not `check_failed`.
#[test]
fn a_biscuit_cli_ttl_is_read_as_tesseras_expiry() {
    let env = Env::ready();
    let plain = env.plain(&env.guest("v_1", "read"));
    let past = biscuit(
        "attenuate",
        &["--block", "", "--add-ttl", "2020-01-01T00:00:00Z"],
        &plain,
    );
    env.assert_denied(&past, "read", "view", "v_1", "expired");
    let future = biscuit(
        "attenuate",
        &["--block", "", "--add-ttl", "2099-01-01T00:00:00Z"],
        &plain,
    );
    env.assert_allowed(&future, "read", "view", "v_1");
}

/// `token` with a third-party block holding `block`, signed by a fresh key
/// Tessera does not know, made the way biscuit-cli makes one (request,
/// block, append).
fn third_party(token: &str, block: &str) -> String {
    let private = run(&biscuit_cli(), &["keypair", "--only-private-key"], "", &[]).ok();
    let request = biscuit("generate-third-party-block-request", &[], token);
    let contents = biscuit(
        "generate-third-party-block",
        &["--private-key", private.trim(), "--block", block],
        &request,
    );
    biscuit(
        "append-third-party-block",
        &["--block-contents", &contents],
        token,
    )
}

/// A third-party block is admitted: its checks bind, its facts widen
/// nothing — policies trust the authority block only.
#[test]
fn a_third_party_block_from_biscuit_cli_binds_and_widens_nothing() {
    let env = Env::ready();
    let read_write = env.plain(&env.guest("v_1", "read,write"));
    let read_only = third_party(&read_write, r#"check if operation("read");"#);
    env.assert_allowed(&read_only, "read", "view", "v_1");
    env.assert_denied(&read_only, "write", "view", "v_1", "check_failed");

    let widened = third_party(&env.plain(&env.guest("v_1", "read")), WIDENING_BLOCK);
    let shown = env.tessera(&["inspect", "-"], &widened).ok();
    assert!(shown.contains(r#"kind("admin")"#), "{shown}");
    assert_not_widened(&env, &widened);
}

/// A token sealed by biscuit-cli still verifies and decides; nobody can
/// append to it any more, Tessera included (`sealed`).
#[test]
fn a_token_sealed_by_biscuit_cli_decides_but_takes_no_more_blocks() {
    let env = Env::ready();
    let plain = env.plain(&env.guest("v_1", "read"));
    let sealed = biscuit("seal", &[], &plain);
    env.assert_allowed(&sealed, "read", "view", "v_1");
    env.assert_denied(&sealed, "write", "view", "v_1", "no_right");
    let ran = env.tessera(&["attenuate", "-", "--allow", "read"], &sealed);
    assert_eq!(ran.code, Some(2), "{}", ran.stdout);
    assert!(ran.stderr.contains("sealed"), "{}", ran.stderr);
}

/// The limit: blocks beyond Tessera's admission limits are refused before
/// any Datalog runs, as `limits`, whichever tool wrote them — 65 facts in
/// one block (the default allows 64), or a check joining a rule's facts
/// with themselves.
#[test]
fn blocks_over_tesseras_admission_limits_are_refused_as_limits() {
    let env = Env::ready();
    let plain = env.plain(&env.guest("v_1", "read"));
    let facts: String = (0..65).map(|i| format!("f({i});")).collect();
    let join = r#"g($x) <- operation($x); check if g($a), g($b), g($c);"#;
    for block in [facts.as_str(), join] {
        let token = biscuit("attenuate", &["--block", block], &plain);
        env.assert_denied(&token, "read", "view", "v_1", "limits");
    }
    // Just under the fact limit is fine.
    let facts: String = (0..64).map(|i| format!("f({i});")).collect();
    let token = biscuit("attenuate", &["--block", &facts], &plain);
    env.assert_allowed(&token, "read", "view", "v_1");
}
