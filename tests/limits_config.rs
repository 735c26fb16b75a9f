//! The limits that are configuration, each at the limit and just past it:
//! the token limits `authorize::decide` honours from its context, and over
//! real HTTP against the `tessera` binary the admin API's body limit and
//! the in-flight cap that sheds decision requests with 503 `overloaded`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod server;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tessera::authorize::{decide, Context, Reason};
use tessera::gateway::GatewayConfig;
use tessera::model::{Grant, Operation};
use tessera::token::TokenLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, Semaphore};

use server::{client, issue, seed_registry, Server};

/// Bound on every wait in these tests.
const WAIT: Duration = Duration::from_secs(10);

/// `authorize::decide` with `limits` in its context, for a guest token of
/// v_1 reading v_1.
fn reason_with(fx: &Fixture, token: &str, limits: TokenLimits) -> Option<Reason> {
    let ctx = Context {
        token_limits: limits,
        ..fx.ctx()
    };
    decide(&ctx, Some(token), &req(Operation::Read, view("v_1")), t0()).reason
}

/// `token` is allowed with the limit `set` to `at`, and denied `limits`
/// with it one lower.
fn allowed_at_denied_past(fx: &Fixture, token: &str, set: fn(&mut TokenLimits, usize), at: usize) {
    let mut limits = TokenLimits::default();
    set(&mut limits, at);
    assert_eq!(
        reason_with(fx, token, limits),
        None,
        "at the limit: allowed"
    );
    set(&mut limits, at - 1);
    assert_eq!(reason_with(fx, token, limits), Some(Reason::Limits));
}

#[test]
fn authorize_decide_honours_the_configured_block_limit() {
    let fx = Fixture::new(1);
    let guest = fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read")), 10);
    // Authority plus two attenuation blocks: three blocks.
    let token = append_code(
        &append_code(&guest, "check if true;", 11),
        "check if true;",
        12,
    );
    allowed_at_denied_past(&fx, &token, |l, n| l.max_blocks = n, 3);
}

#[test]
fn authorize_decide_honours_the_configured_checks_per_block() {
    let fx = Fixture::new(2);
    let guest = fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read")), 20);
    let token = append_code(&guest, "check if true;\ncheck if time($t);", 21);
    allowed_at_denied_past(&fx, &token, |l, n| l.max_checks_per_block = n, 2);
}

#[test]
fn the_new_limits_have_safe_defaults_and_toml_keys() {
    let defaults = GatewayConfig::default();
    assert_eq!(defaults.max_admin_body_bytes, 65536);
    assert_eq!(defaults.max_in_flight_decisions, 1024);
    let c = GatewayConfig::from_toml("max_admin_body_bytes = 100\nmax_in_flight_decisions = 7\n")
        .unwrap();
    assert_eq!(
        (c.max_admin_body_bytes, c.max_in_flight_decisions),
        (100, 7)
    );
}

/// A `PUT /admin/v1/views/v_1` whose valid JSON body is padded with
/// whitespace to exactly `size` bytes.
async fn put_view_of_size(s: &Server, size: usize) -> reqwest::Response {
    let mut body = br#"{"table":"t_1","workspace":"ws_1"}"#.to_vec();
    assert!(body.len() <= size);
    body.resize(size, b' ');
    client()
        .put(s.url("/admin/v1/views/v_1"))
        .bearer_auth(s.admin_token())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_admin_body_limit_is_configurable_and_exact() {
    let s = Server::start(&["--max-admin-body-bytes", "1024"]);
    assert_eq!(put_view_of_size(&s, 1024).await.status(), 200);
    assert_eq!(put_view_of_size(&s, 1025).await.status(), 413);
    // The default, 64 KiB.
    let s = Server::start(&[]);
    assert_eq!(put_view_of_size(&s, 65536).await.status(), 200);
    assert_eq!(put_view_of_size(&s, 65537).await.status(), 413);
}

/// An upstream that answers only when released: a proxied request to it
/// stays in flight, deterministically, for as long as the test wants.
struct HeldUpstream {
    url: String,
    arrived: Arc<Semaphore>,
    release: Arc<Notify>,
}

impl HeldUpstream {
    async fn start() -> HeldUpstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let arrived = Arc::new(Semaphore::new(0));
        let release = Arc::new(Notify::new());
        let (a, r) = (arrived.clone(), release.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (a, r) = (a.clone(), r.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    a.add_permits(1);
                    let _ = tokio::time::timeout(WAIT, r.notified()).await;
                    let _ = conn
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        HeldUpstream {
            url,
            arrived,
            release,
        }
    }

    /// Waits (bounded) until a proxied request has reached the upstream.
    async fn wait_arrived(&self) {
        let permit = tokio::time::timeout(WAIT, self.arrived.acquire())
            .await
            .expect("the proxied request reaches the upstream")
            .unwrap();
        permit.forget();
    }
}

/// A gateway proxying to a held upstream with `max_in_flight` decisions,
/// and a guest token reading v_1.
async fn held_gateway(max_in_flight: &str) -> (Server, HeldUpstream, String) {
    let up = HeldUpstream::start().await;
    let s = Server::start(&[
        "--upstream",
        &up.url,
        "--max-in-flight-decisions",
        max_in_flight,
    ]);
    seed_registry(&s).await;
    let v = issue(
        &s,
        serde_json::json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"] }),
    )
    .await;
    let token = v["token"].as_str().expect("token").to_owned();
    (s, up, token)
}

/// Starts a proxied read that the upstream holds, and waits until it is there.
async fn hold_one(
    s: &Server,
    up: &HeldUpstream,
    token: &str,
) -> tokio::task::JoinHandle<reqwest::Response> {
    let held = tokio::spawn(
        client()
            .get(s.url("/api/v1/views/v_1/rows"))
            .bearer_auth(token)
            .timeout(WAIT)
            .send(),
    );
    up.wait_arrived().await;
    tokio::spawn(async move { held.await.unwrap().unwrap() })
}

/// A forward-auth decision for reading v_1.
async fn forward_auth(s: &Server, token: &str) -> reqwest::Response {
    client()
        .get(s.url("/auth"))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", "/api/v1/views/v_1/rows")
        .bearer_auth(token)
        .timeout(WAIT)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn past_the_in_flight_limit_decisions_are_shed_with_503() {
    let (s, up, token) = held_gateway("1").await;
    let held = hold_one(&s, &up, &token).await;

    let shed = forward_auth(&s, &token).await;
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    let body: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(body["error"], "overloaded");
    assert!(body["request_id"].is_string(), "{body}");
    // The other front doors share the one limit: Envoy's and the proxy's.
    let envoy = client()
        .get(s.url("/auth/api/v1/views/v_1/rows"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(envoy.status(), 503);
    // The operational endpoints are never shed.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = client().get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }

    up.release.notify_waiters();
    let r = tokio::time::timeout(WAIT, held).await.unwrap().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    // With the slot free again, the same decision is made.
    assert_eq!(forward_auth(&s, &token).await.status(), 200);
}

#[tokio::test]
async fn within_the_in_flight_limit_decisions_are_served() {
    let (s, up, token) = held_gateway("2").await;
    let held = hold_one(&s, &up, &token).await;

    let r = forward_auth(&s, &token).await;
    assert_eq!(r.status(), 200, "one in flight, limit two: served");
    assert_eq!(r.headers()["x-tessera-kind"], "guest");

    up.release.notify_waiters();
    let r = tokio::time::timeout(WAIT, held).await.unwrap().unwrap();
    assert_eq!(r.status(), 200);
}
