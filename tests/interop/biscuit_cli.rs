//! biscuit-cli (crates.io `biscuit-cli`, binary `biscuit`) against Tessera:
//! `inspect` reads and verifies Tessera's tokens, `attenuate` appends blocks
//! that `tessera check` and the gateway honour and that widen nothing.

use serde_json::json;

use super::server::{self, Server};
use super::{assert_not_widened, biscuit_cli, run, Env, Ran, WIDENING_BLOCK};

/// `biscuit inspect [--public-key KEY] -` with the token on stdin.
fn inspect(token: &str, public_key: Option<&str>) -> Ran {
    let mut args = vec!["inspect"];
    if let Some(key) = public_key {
        args.extend(["--public-key", key]);
    }
    args.push("-");
    run(&biscuit_cli(), &args, token, &[])
}

/// `biscuit attenuate - --block CODE`: the attenuated token's base64.
fn attenuate(token: &str, block: &str) -> String {
    run(
        &biscuit_cli(),
        &["attenuate", "-", "--block", block],
        token,
        &[],
    )
    .ok()
    .trim()
    .to_owned()
}

#[test]
fn biscuit_inspect_reads_a_tessera_token_and_its_facts() {
    let env = Env::ready();
    let token = env.guest("v_1", "read,write");
    let shown = inspect(&env.plain(&token), None).ok();
    for fact in [
        r#"kind("guest")"#,
        r#"workspace("ws_1")"#,
        r#"right("view", "v_1", "read")"#,
        r#"right("view", "v_1", "write")"#,
    ] {
        assert!(shown.contains(fact), "{fact} not in:\n{shown}");
    }
    assert!(shown.contains("Public key check skipped"), "{shown}");
}

#[test]
fn biscuit_inspect_verifies_the_signature_with_tesseras_public_key() {
    let env = Env::ready();
    let plain = env.plain(&env.guest("v_1", "read"));
    let key = env.public_key();
    let ran = inspect(&plain, Some(&key));
    assert!(
        ran.stdout.contains("Public key check succeeded"),
        "{}\n{}",
        ran.stdout,
        ran.stderr
    );
    ran.ok();
    // Another issuer's key: the check fails, and biscuit says so.
    let other = Env::ready().public_key();
    let ran = inspect(&plain, Some(&other));
    assert_ne!(ran.code, Some(0), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("Public key check failed"),
        "{}\n{}",
        ran.stdout,
        ran.stderr
    );
}

#[test]
fn a_check_appended_by_biscuit_attenuate_is_honoured_by_tessera_check() {
    let env = Env::ready();
    let token = env.guest("v_1", "read,write");
    env.assert_allowed(&token, "write", "view", "v_1");
    let attenuated = attenuate(&env.plain(&token), r#"check if operation("read");"#);
    let shown = inspect(&attenuated, Some(&env.public_key())).ok();
    assert!(shown.contains(r#"check if operation("read")"#), "{shown}");
    env.assert_allowed(&attenuated, "read", "view", "v_1");
    env.assert_denied(&attenuated, "write", "view", "v_1", "check_failed");
    // `tessera inspect` shows the foreign block like its own.
    let described = env.tessera(&["inspect", "-"], &attenuated).ok();
    assert!(
        described.contains(r#"check if operation("read")"#),
        "{described}"
    );
}

#[test]
fn a_widening_block_from_biscuit_attenuate_changes_nothing() {
    let env = Env::ready();
    let token = env.guest("v_1", "read");
    assert_not_widened(&env, &token);
    let widened = attenuate(&env.plain(&token), WIDENING_BLOCK);
    let shown = inspect(&widened, Some(&env.public_key())).ok();
    assert!(shown.contains(r#"kind("admin")"#), "{shown}");
    assert_not_widened(&env, &widened);
    // What Tessera reads as the token's claims is the authority block only.
    let claims = env.tessera(&["inspect", "-", "--json"], &widened).ok();
    let claims: serde_json::Value = serde_json::from_str(&claims).expect("json");
    assert_eq!(claims["kind"], "guest", "{claims}");
    assert_eq!(
        claims["rights"],
        serde_json::json!([{ "kind": "view", "id": "v_1", "operation": "read" }])
    );
}

/// The gateway's Biscuit Web Keys verify in biscuit-cli, and `/auth`
/// honours a block biscuit-cli appended: read allowed, write refused with
/// 403 `check_failed`; a widening block still gets 403 `no_right`.
#[tokio::test]
async fn the_gateway_honours_blocks_appended_by_biscuit_cli() {
    let s = Server::start(&[]);
    server::seed_registry(&s).await;
    let issued = server::issue(
        &s,
        json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read", "write"] }),
    )
    .await;
    let token = issued["token"].as_str().expect("token").to_owned();
    let c = server::client();
    let bwk: serde_json::Value = c
        .get(s.url("/.well-known/biscuit-web-keys"))
        .send()
        .await
        .expect("GET biscuit-web-keys")
        .json()
        .await
        .expect("json");
    let key = format!(
        "ed25519/{}",
        bwk[0]["key_bytes"].as_str().expect("key_bytes")
    );
    assert_eq!(bwk[0]["algorithm"], "ed25519", "{bwk}");

    let plain = Env::ready().plain(&token);
    inspect(&plain, Some(&key)).ok();
    let read_only = attenuate(&plain, r#"check if operation("read");"#);
    let widened = attenuate(&plain, WIDENING_BLOCK);

    let auth = |method: &'static str, uri: &'static str, token: String| {
        let c = c.clone();
        let url = s.url("/auth");
        async move {
            let r = c
                .get(url)
                .header("X-Forwarded-Method", method)
                .header("X-Forwarded-Uri", uri)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET /auth");
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            (status, body["error"].as_str().map(str::to_owned))
        }
    };
    let rows = "/api/v1/views/v_1/rows";
    assert_eq!(auth("PATCH", rows, plain.clone()).await, (200, None));
    assert_eq!(auth("GET", rows, read_only.clone()).await, (200, None));
    assert_eq!(
        auth("PATCH", rows, read_only).await,
        (403, Some("check_failed".into()))
    );
    assert_eq!(auth("GET", rows, widened.clone()).await, (200, None));
    for uri in ["/api/v1/views/v_2/rows", "/api/v1/views/v_3/rows"] {
        assert_eq!(
            auth("GET", uri, widened.clone()).await,
            (403, Some("no_right".into())),
            "{uri}"
        );
    }
    // The admin API is not opened by kind("admin") in an appended block.
    let r = c
        .get(s.url("/admin/v1/tokens"))
        .bearer_auth(&widened)
        .send()
        .await
        .expect("GET /admin/v1/tokens");
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "wrong_kind", "{body}");
}
