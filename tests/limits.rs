//! Every configurable limit, at the limit and just past it: token bytes,
//! blocks, facts, rules and checks per attenuation block, the estimated join
//! cost of a query, the authorizer's facts, iterations and time, and (over
//! real HTTP) the request header bytes and the token bytes of the gateway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod server;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use tessera::authorize::{Reason, RunLimits};
use tessera::model::{Grant, Operation};
use tessera::token::{self, TokenError, TokenLimits};

fn guest(fx: &Fixture, seed: u64) -> String {
    fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read")), seed)
}

fn read_v1() -> tessera::authorize::Request {
    req(Operation::Read, view("v_1"))
}

fn verify(fx: &Fixture, token: &str, limits: &TokenLimits) -> Result<(), TokenError> {
    token::verify_text(token, usize::MAX, &fx.public, limits).map(drop)
}

#[test]
fn token_bytes() {
    let mut fx = Fixture::new(1);
    let tok = guest(&fx, 10);
    fx.max_token_bytes = tok.len();
    assert!(fx.decide(Some(&tok), &read_v1(), t0()).allowed);
    fx.max_token_bytes = tok.len() - 1;
    assert_eq!(
        fx.decide(Some(&tok), &read_v1(), t0()).reason,
        Some(Reason::Malformed)
    );
}

#[test]
fn blocks() {
    let fx = Fixture::new(2);
    let mut tok = guest(&fx, 20);
    for seed in 21..24 {
        tok = append_code(&tok, "check if operation(\"read\");", seed);
    }
    let at_limit = TokenLimits {
        max_blocks: 4,
        ..TokenLimits::default()
    };
    assert_eq!(verify(&fx, &tok, &at_limit), Ok(()));
    let past = TokenLimits {
        max_blocks: 3,
        ..TokenLimits::default()
    };
    assert_eq!(
        verify(&fx, &tok, &past),
        Err(TokenError::TooExpensive("too many blocks"))
    );
}

/// Appends a block of `n` copies of `statement(i)` and verifies it with the defaults.
fn block_of(fx: &Fixture, n: usize, statement: impl Fn(usize) -> String) -> Result<(), TokenError> {
    let code: String = (0..n).map(statement).collect();
    let tok = append_code(&guest(fx, 30), &code, 31);
    verify(fx, &tok, &TokenLimits::default())
}

#[test]
fn facts_rules_and_checks_per_block() {
    let fx = Fixture::new(3);
    let d = TokenLimits::default();
    let fact = |i: usize| format!("f({i});");
    assert_eq!(block_of(&fx, d.max_facts_per_block, fact), Ok(()));
    assert_eq!(
        block_of(&fx, d.max_facts_per_block + 1, fact),
        Err(TokenError::TooExpensive("too many facts in a block"))
    );
    let rule = |i: usize| format!("r{i}($x) <- operation($x);");
    assert_eq!(block_of(&fx, d.max_rules_per_block, rule), Ok(()));
    assert_eq!(
        block_of(&fx, d.max_rules_per_block + 1, rule),
        Err(TokenError::TooExpensive("too many rules in a block"))
    );
    let check = |i: usize| format!("check if operation($o), $o != \"x{i}\";");
    assert_eq!(block_of(&fx, d.max_checks_per_block, check), Ok(()));
    assert_eq!(
        block_of(&fx, d.max_checks_per_block + 1, check),
        Err(TokenError::TooExpensive("too many checks in a block"))
    );
}

#[test]
fn query_cost() {
    let fx = Fixture::new(4);
    // view_setting: 5 facts per request, joined twice: an estimated 25.
    let tok = append_code(
        &guest(&fx, 40),
        "check if view_setting($a, $b, $c), view_setting($d, $e, $f);",
        41,
    );
    let limits = |max_query_cost| TokenLimits {
        max_query_cost,
        ..TokenLimits::default()
    };
    assert_eq!(verify(&fx, &tok, &limits(25)), Ok(()));
    assert_eq!(
        verify(&fx, &tok, &limits(24)),
        Err(TokenError::TooExpensive(
            "a rule or check could match too many facts"
        ))
    );
}

/// The smallest value of one run limit that lets an honest decision through;
/// then that value allows and one less is `limits`.
fn at_and_past(set: impl Fn(u64) -> RunLimits, seed: u64) -> u64 {
    let decide = |n: u64| {
        let fx = Fixture::with_limits(seed, set(n));
        let tok = guest(&fx, seed * 10);
        fx.decide(Some(&tok), &read_v1(), t0())
    };
    let smallest = (1..=1000)
        .find(|&n| decide(n).allowed)
        .expect("some limit lets an honest token through");
    assert!(decide(smallest).allowed);
    assert_eq!(decide(smallest - 1).reason, Some(Reason::Limits));
    smallest
}

#[test]
fn authorizer_facts() {
    let needed = at_and_past(
        |max_facts| RunLimits {
            max_facts,
            ..relaxed_limits()
        },
        5,
    );
    // The default leaves ample room for honest tokens.
    assert!(needed * 10 < RunLimits::default().max_facts, "{needed}");
}

#[test]
fn authorizer_iterations() {
    let needed = at_and_past(
        |max_iterations| RunLimits {
            max_iterations,
            ..relaxed_limits()
        },
        6,
    );
    assert!(
        needed * 10 <= RunLimits::default().max_iterations,
        "{needed}"
    );
}

#[test]
fn authorizer_time() {
    let run = |max_time| {
        let fx = Fixture::with_limits(
            7,
            RunLimits {
                max_time,
                ..RunLimits::default()
            },
        );
        let tok = guest(&fx, 70);
        fx.decide(Some(&tok), &read_v1(), t0())
    };
    assert_eq!(run(Duration::ZERO).reason, Some(Reason::Limits));
    assert!(run(Duration::from_secs(5)).allowed);
}

/// Sends a raw GET /healthz whose headers (`host`, `x-pad`, `connection`)
/// add up to `total` as the gateway counts them (name + value + 4 each).
fn raw_get_with_header_bytes(base: &str, total: usize) -> u16 {
    let addr = base.strip_prefix("http://").unwrap();
    let fixed = ("host".len() + addr.len() + 4)
        + ("x-pad".len() + 4)
        + ("connection".len() + "close".len() + 4);
    let pad = "a".repeat(total - fixed);
    let request = format!(
        "GET /healthz HTTP/1.1\r\nhost: {addr}\r\nx-pad: {pad}\r\nconnection: close\r\n\r\n"
    );
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap()
}

#[test]
fn gateway_header_and_token_bytes() {
    let s = server::Server::start(&["--max-header-bytes", "2000", "--max-token-bytes", "600"]);
    assert_eq!(raw_get_with_header_bytes(&s.base, 2000), 200);
    assert_eq!(raw_get_with_header_bytes(&s.base, 2001), 431);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        server::seed_registry(&s).await;
        let issued = server::issue(
            &s,
            serde_json::json!({"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"]}),
        )
        .await;
        let tok = issued["token"].as_str().unwrap().to_owned();
        assert!(tok.len() <= 600, "{}", tok.len());
        let ask = |credential: String| {
            server::client()
                .get(s.url("/auth"))
                .header("x-original-method", "GET")
                .header("x-original-uri", "/api/v1/views/v_1/rows")
                .bearer_auth(credential)
                .send()
        };
        assert_eq!(ask(tok.clone()).await.unwrap().status(), 200);
        // One byte past the limit is refused before any crypto (the exact
        // boundary is pinned by `token_bytes` above).
        let past = format!("{tok}{}", "A".repeat(601 - tok.len()));
        let r = ask(past).await.unwrap();
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "malformed");
    });
}
