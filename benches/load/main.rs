//! Load harness: one Rust load generator drives, over loopback, a bare axum
//! server (answers 200 to everything) and a release `tessera serve`, each a
//! process of its own, so the gateway's cost shows as the difference.
//!
//! Scenarios, each for `TESSERA_LOAD_SECS` in all (default 10 s) with 64
//! keep-alive HTTP/1.1 connections (`TESSERA_LOAD_CONNECTIONS`), one task
//! per connection, every latency recorded in microseconds. Each gateway
//! scenario has a baseline asked exactly the same requests (path, headers,
//! tokens: the same bytes on the wire), so that only the server differs:
//!
//! - (b) forward-auth `/auth` with one valid guest token (warm), gateway
//!   defaults (the decision cache answers repeats); baseline (a), the bare
//!   axum server (200 to everything) asked (b)'s requests;
//! - (b') the same against a second gateway with the decision cache off
//!   (`decision_cache_ms = 0`): a verified-token cache hit plus the
//!   authorizer on every request; baseline (b);
//! - (b'') the same warm request as Envoy's ext_authz asks it
//!   (`/auth/api/v1/views/v_1/rows`); baseline (a''), the bare server
//!   asked it;
//! - (c) forward-auth with a fresh token per request (cold): a pool of
//!   distinct 1-block guest tokens, signed with the gateway's own root key
//!   (as `tessera issue` on the same data directory would), large enough that
//!   no token repeats during the run, so the verified-token cache (10,000 by
//!   default) and the decision cache miss; baseline (a-c), the bare server
//!   asked the same tokens;
//! - (e) a third gateway in reverse-proxy mode (`--upstream`) in front of an
//!   upstream that answers 200 to everything, with one valid guest token
//!   (warm); baseline (d), a bare axum reverse proxy (hyper-util's pooled
//!   client) in front of the same upstream, asked the same requests.
//!
//! The time is cut into `TESSERA_LOAD_ROUNDS` rounds (default 5): each
//! round runs every scenario once, in the order above, so a scenario and
//! its baseline run seconds apart. On a shared machine whose speed drifts
//! over a run, the round-by-round ratio is the steady one; the bench prints
//! its median and range, and the ratio of the totals.
//!
//! Prints requests/s, p50/p99/p99.9, the token and decision cache counters
//! from `/metrics`, each scenario's ratios to its baseline, and the
//! share-link lengths. The gateways log as they do by
//! default, at `info`: every request writes an access-log line
//! (`TESSERA_LOAD_LOG` to change it). Every process and server it starts is
//! stopped before it returns, also on a panic.
//!
//! `TESSERA_LOAD_BIN=PATH` runs that `tessera` binary instead of the one
//! cargo built (e.g. a copy, or an older build to compare with).
//! `TESSERA_LOAD_ONLY=b,e` runs only those scenarios and the baseline
//! each one is compared with (e.g. to profile one of them).
//!
//! Run with `cargo bench --bench load` (cargo passes `--bench`; without it,
//! e.g. under `cargo test --benches`, the harness does nothing).
// This file's helpers need no docs of their own.
#![allow(missing_docs)]

mod bare;
mod counters;
mod generator;
mod report;
mod seed;
mod servers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::HeaderValue;

use bare::Bare;
use counters::{cache_counters, delta};
use generator::{drive, Outcome, Target};
use report::{print_ratios, print_table, Measured};
use seed::{check_allowed, print_share_links, seed, token_pool};
use servers::Server;

/// The protected path every forward-auth request asks about.
const PATH: &str = "/api/v1/views/v_1/rows";
/// The same request as Envoy's ext_authz asks it (`path_prefix: /auth`).
const ENVOY_PATH: &str = "/auth/api/v1/views/v_1/rows";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One scenario: what it sends where, the gateway whose cache counters it
/// reads (none for the bare servers), and its baseline.
struct Scenario<'a> {
    letter: &'static str,
    name: String,
    target: Target,
    gateway: Option<&'a Server>,
    baseline: Option<&'static str>,
}

/// One round of `scenario`.
async fn round(
    scenario: &Scenario<'_>,
    client: &reqwest::Client,
    connections: usize,
    duration: Duration,
) -> Outcome {
    let target = scenario.target.clone();
    let Some(server) = scenario.gateway else {
        return drive(&scenario.name, target, connections, duration).await;
    };
    let before = cache_counters(client, server).await;
    let mut o = drive(&scenario.name, target, connections, duration).await;
    let after = cache_counters(client, server).await;
    o.cache = Some(delta(before, after));
    o
}

/// `subject` (a gateway scenario) added just after its baseline `twin`:
/// the bare server at `bare`, asked exactly the same requests.
fn with_bare_twin<'a>(
    scenarios: &mut Vec<Scenario<'a>>,
    bare: SocketAddr,
    twin: &'static str,
    subject: Scenario<'a>,
) {
    scenarios.push(Scenario {
        letter: twin,
        name: format!("({twin}) bare axum, asked ({})'s requests", subject.letter),
        target: subject.target.at(bare),
        gateway: None,
        baseline: None,
    });
    scenarios.push(subject);
}

fn main() {
    if bare::serve_if_asked() {
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("load: not run (use `cargo bench --bench load`)");
        return;
    }
    let secs: u64 = env_or("TESSERA_LOAD_SECS", 10);
    let rounds: u32 = env_or("TESSERA_LOAD_ROUNDS", 5).max(1);
    let connections: usize = env_or("TESSERA_LOAD_CONNECTIONS", 64);
    // The gateway's own default: the access log on, one line per request.
    let log = std::env::var("TESSERA_LOAD_LOG").unwrap_or_else(|_| "info".to_owned());
    let duration = Duration::from_secs(secs.max(1));
    let per_round = (duration / rounds).max(Duration::from_millis(500));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    eprintln!(
        "load: {connections} connections, {}s per scenario in {rounds} rounds of {} ms, {cores} cores; generator, bare server and gateway share them",
        duration.as_secs(),
        per_round.as_millis()
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let gateway =
        Server::start(&dir.path().join("default"), &[], &log).expect("start tessera serve");
    let no_decision_cache = {
        let config = dir.path().join("no-decision-cache.toml");
        std::fs::write(&config, "decision_cache_ms = 0\n").expect("write config");
        let config = config.to_string_lossy().into_owned();
        match Server::start(
            &dir.path().join("no-decision-cache"),
            &["--config", &config],
            &log,
        ) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("load: scenario (b') skipped: {e}");
                None
            }
        }
    };
    let bare = Bare::start();
    // Proxy mode: one upstream (200 to everything) behind a bare axum
    // reverse proxy and behind the gateway's reverse proxy.
    let upstream = Bare::start();
    let bare_proxy = Bare::proxy(upstream.addr);
    let upstream_url = format!("http://{}", upstream.addr);
    let proxy_gateway = Server::start(
        &dir.path().join("proxy"),
        &["--upstream", &upstream_url],
        &log,
    )
    .expect("start tessera serve --upstream");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("load")
        .build()
        .expect("load runtime");
    let client = reqwest::Client::new();

    let warm_token = rt.block_on(seed(&client, &gateway));
    rt.block_on(check_allowed(&client, &gateway, &warm_token));
    print_share_links(&warm_token);
    let other_token = no_decision_cache.as_ref().map(|s| {
        let t = rt.block_on(seed(&client, s));
        rt.block_on(check_allowed(&client, s, &t));
        t
    });

    let proxy_token = rt.block_on(seed(&client, &proxy_gateway));
    rt.block_on(check_allowed(&client, &proxy_gateway, &proxy_token));

    // Enough distinct tokens that none repeats within the run.
    let pool_size: usize = env_or(
        "TESSERA_LOAD_POOL",
        (secs.max(1) as usize * 8_000).max(20_000),
    );
    let made = Instant::now();
    let pool = Arc::new(token_pool(&gateway.data, pool_size));
    eprintln!(
        "cold pool: {} distinct 1-block guest tokens made in {:.1} s",
        pool.len(),
        made.elapsed().as_secs_f64()
    );
    rt.block_on(check_allowed(
        &client,
        &gateway,
        pool[0]
            .to_str()
            .expect("ascii")
            .trim_start_matches("Bearer "),
    ));

    let header = |t: &str| {
        Arc::new(vec![
            HeaderValue::from_str(&format!("Bearer {t}")).expect("header value")
        ])
    };

    // Scenario letters to run (TESSERA_LOAD_ONLY), all by default; the
    // baselines always run.
    let only = std::env::var("TESSERA_LOAD_ONLY").ok();
    let wanted = |letter: &str| {
        only.as_deref()
            .is_none_or(|list| list.split(',').any(|l| l.trim() == letter))
    };
    let mut scenarios = Vec::new();
    if wanted("b") || wanted("b'") {
        with_bare_twin(
            &mut scenarios,
            bare.addr,
            "a",
            Scenario {
                letter: "b",
                name: "(b) /auth warm (same token), defaults".into(),
                target: Target::new(gateway.addr, "/auth", true, header(&warm_token)),
                gateway: Some(&gateway),
                baseline: Some("a"),
            },
        );
    }
    if let (true, Some(server), Some(token)) = (wanted("b'"), &no_decision_cache, &other_token) {
        scenarios.push(Scenario {
            letter: "b'",
            name: "(b') /auth warm, decision cache off".into(),
            target: Target::new(server.addr, "/auth", true, header(token)),
            gateway: Some(server),
            baseline: Some("b"),
        });
    }
    if wanted("b''") {
        with_bare_twin(
            &mut scenarios,
            bare.addr,
            "a''",
            Scenario {
                letter: "b''",
                name: "(b'') Envoy /auth/<path> warm, defaults".into(),
                target: Target::new(gateway.addr, ENVOY_PATH, false, header(&warm_token)),
                gateway: Some(&gateway),
                baseline: Some("a''"),
            },
        );
    }
    if wanted("c") {
        with_bare_twin(
            &mut scenarios,
            bare.addr,
            "a-c",
            Scenario {
                letter: "c",
                name: "(c) /auth cold (fresh token each request)".into(),
                target: Target::new(gateway.addr, "/auth", true, pool.clone()),
                gateway: Some(&gateway),
                baseline: Some("a-c"),
            },
        );
    }
    if wanted("d") || wanted("e") {
        scenarios.push(Scenario {
            letter: "d",
            name: "(d) bare axum reverse proxy -> upstream".into(),
            target: Target::new(bare_proxy.addr, PATH, false, header(&proxy_token)),
            gateway: None,
            baseline: None,
        });
    }
    if wanted("e") {
        scenarios.push(Scenario {
            letter: "e",
            name: "(e) gateway reverse proxy -> upstream, warm".into(),
            target: Target::new(proxy_gateway.addr, PATH, false, header(&proxy_token)),
            gateway: Some(&proxy_gateway),
            baseline: Some("d"),
        });
    }

    let mut measured: Vec<Measured> = scenarios
        .iter()
        .map(|s| Measured::new(s.letter, &s.name, s.baseline))
        .collect();
    for _ in 0..rounds {
        for (scenario, m) in scenarios.iter().zip(&mut measured) {
            m.record(&rt.block_on(round(scenario, &client, connections, per_round)));
        }
    }
    if let Some(cold) = measured.iter().find(|m| m.letter == "c") {
        if cold.total.latencies_us.len() > pool.len() {
            eprintln!(
                "note: (c) sent {} requests with a pool of {}: tokens repeated (set TESSERA_LOAD_POOL higher)",
                cold.total.latencies_us.len(),
                pool.len()
            );
        }
    }

    print_table(&measured);
    print_ratios(&measured);

    drop(rt);
    drop(bare_proxy);
    drop(upstream);
    drop(proxy_gateway);
    drop(bare);
    drop(no_decision_cache);
    drop(gateway);
    eprintln!("load: all servers stopped");
}
