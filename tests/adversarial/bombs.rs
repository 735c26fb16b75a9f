//! CPU bombs that admission must see before any Datalog runs.
//!
//! The finding: a 1 KB attenuation block with a fact `s({0, …, 41})` and
//! one check nesting `$s.all($x -> …)` five deep (42⁵ evaluations), which
//! any holder of any token can append, burnt 6–35 s of an async worker per
//! request through `/auth`, the reverse proxy and `/s/{token}`, and starved
//! honest requests. Now admission costs expressions recursively and refuses
//! the block with `limits`, and every authorizer run happens on the blocking
//! pool behind a semaphore, so expensive but admitted runs cannot delay the
//! async workers (health checks, decision-cache hits).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tessera::authorize::Reason;
use tessera::model::{Grant, Operation};
use tessera::token::{self, TokenError, TokenLimits, DEFAULT_MAX_EXPRESSION_COST};

use crate::common::{self, append_code, id, ops, req, t0, view, Fixture};
use crate::server::{client, issue, seed_registry, Server};

/// A denial must come back well before this.
const PROMPT: Duration = Duration::from_millis(100);

/// The authorizer's time budget for the honest requests of these tests (a
/// debug build on a loaded 2-core machine can overrun the shipped 20 ms);
/// a bomb refused in under [`PROMPT`] was refused by admission, not by it.
const AUTHORIZER_MS: [&str; 2] = ["--max-authorizer-ms", "250"];

/// The block from the finding: `s({0, …, n-1})` and a check nesting
/// `$s.all(…)` `depth` deep whose innermost body is always true.
fn closure_block(depth: usize, n: usize) -> String {
    let set: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let mut body = format!("$x{} >= 0", depth - 1);
    for level in (0..depth).rev() {
        body = format!("$s.all($x{level} -> {body})");
    }
    format!("s({{{}}});\ncheck if s($s), {body};", set.join(", "))
}

/// The exact bomb: 42 elements, five levels.
fn the_bomb(token: &str, seed: u64) -> String {
    let bomb = append_code(token, &closure_block(5, 42), seed);
    assert!(bomb.len() < 2048, "a small token: {} bytes", bomb.len());
    bomb
}

/// A guest token for `view`, issued by the server (read, optional expiry).
async fn guest(s: &Server, view: &str, expires: Option<&str>) -> String {
    let mut body = json!({ "kind": "guest", "workspace": "ws_1", "view": view, "allow": ["read"] });
    if let Some(e) = expires {
        body["expires"] = json!(e);
    }
    issue(s, body).await["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// One answer: status, headers, body, and how long it took.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
    took: Duration,
}

impl Answer {
    fn error(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// A `limits` refusal, promptly.
    #[track_caller]
    fn assert_limits_promptly(&self, what: &str) {
        assert_eq!(
            (self.status, self.error().as_str()),
            (403, "limits"),
            "{what}: {}",
            self.body
        );
        assert!(self.took < PROMPT, "{what} answered in {:?}", self.took);
    }
}

async fn send(rb: reqwest::RequestBuilder) -> Answer {
    let start = Instant::now();
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().await.expect("body");
    Answer {
        status,
        headers,
        body,
        took: start.elapsed(),
    }
}

/// Forward-auth of a read of `view`'s rows.
async fn auth(s: &Server, view: &str, token: &str) -> Answer {
    send(
        client()
            .get(s.url("/auth"))
            .header("X-Forwarded-Method", "GET")
            .header("X-Forwarded-Uri", format!("/api/v1/views/{view}/rows"))
            .bearer_auth(token),
    )
    .await
}

async fn healthz(s: &Server) -> Answer {
    send(client().get(s.url("/healthz"))).await
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// What "normal latency" allows under load: five times the baseline
/// median, and never less than 50 ms (the machine is shared).
fn normal(baseline: Duration) -> Duration {
    (baseline * 5).max(Duration::from_millis(50))
}

/// A tiny upstream that counts what reaches it.
async fn upstream() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "upstream"
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closure_bomb_is_limits_in_milliseconds_at_every_front_door() {
    let (up, hits) = upstream().await;
    let mut args = AUTHORIZER_MS.to_vec();
    args.extend(["--upstream", &up, "--insecure-cookies"]);
    let s = Server::start(&args);
    seed_registry(&s).await;
    let expiring = guest(&s, "v_1", Some("2s")).await;
    let issued = Instant::now();
    let live = guest(&s, "v_1", None).await;
    assert_eq!(auth(&s, "v_1", &live).await.status, 200);
    let bomb = the_bomb(&live, 1);

    // /auth, twice (nothing is cached that would make the second cheaper
    // to refuse than the first, nor more expensive).
    for round in 0..2 {
        let a = auth(&s, "v_1", &bomb).await;
        a.assert_limits_promptly(&format!("/auth, round {round}"));
        eprintln!("bomb via /auth: {} in {:?}", a.status, a.took);
    }
    // The reverse proxy: refused, nothing reaches the upstream.
    let a = send(
        client()
            .get(s.url("/api/v1/views/v_1/rows"))
            .bearer_auth(&bomb),
    )
    .await;
    a.assert_limits_promptly("the reverse proxy");
    eprintln!("bomb via the proxy: {} in {:?}", a.status, a.took);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    // The admin API runs Datalog too: an admin token with the bomb.
    let admin_bomb = the_bomb(&s.admin_token(), 2);
    let a = send(
        client()
            .get(s.url("/admin/v1/tokens"))
            .bearer_auth(&admin_bomb),
    )
    .await;
    a.assert_limits_promptly("the admin API");
    // A share link carrying the bomb is no link: the 404 page, no cookie.
    let share = |token: String| {
        let url = s.url(&format!("/s/{token}"));
        async move { send(client().get(url)).await }
    };
    let a = share(bomb.clone()).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.headers.get("set-cookie").is_none(), "{:?}", a.headers);
    assert!(a.body.contains("This link is not available"), "{}", a.body);
    assert!(a.took < PROMPT, "the share link answered in {:?}", a.took);
    eprintln!("bomb via /s/: {} in {:?}", a.status, a.took);

    // An expired token's copy is a bomb all the same (every block's checks
    // are evaluated): refused as such, as promptly.
    // Biscuit dates have whole seconds: a token issued at x.9 s with a 2 s
    // expiry is still valid at x+2.5 s, so wait past the next whole second.
    let wait = Duration::from_millis(3500).saturating_sub(issued.elapsed());
    tokio::time::sleep(wait).await;
    assert_eq!(auth(&s, "v_1", &expiring).await.error(), "expired");
    let expired_bomb = the_bomb(&expiring, 3);
    let a = auth(&s, "v_1", &expired_bomb).await;
    a.assert_limits_promptly("an expired token's copy via /auth");
    eprintln!("expired bomb via /auth: {} in {:?}", a.status, a.took);
    let a = share(expired_bomb).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.headers.get("set-cookie").is_none(), "{:?}", a.headers);
    assert!(a.took < PROMPT, "the share link answered in {:?}", a.took);

    // The server is as it was.
    assert_eq!(healthz(&s).await.status, 200);
    let a = send(
        client()
            .get(s.url("/api/v1/views/v_1/rows"))
            .bearer_auth(&live),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (200, "upstream"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_reads_keep_their_latency_while_bombs_are_in_flight() {
    // No decision cache: every honest read runs the policy.
    let mut args = AUTHORIZER_MS.to_vec();
    args.extend(["--decision-cache-ms", "0"]);
    let s = Arc::new(Server::start(&args));
    seed_registry(&s).await;
    let honest = guest(&s, "v_1", None).await;
    let bomb = the_bomb(&guest(&s, "v_2", None).await, 4);
    let read = |s: Arc<Server>, token: String| async move {
        let a = auth(&s, "v_1", &token).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.took
    };
    for _ in 0..3 {
        read(s.clone(), honest.clone()).await;
    }
    let mut baseline = Vec::new();
    for _ in 0..20 {
        baseline.push(read(s.clone(), honest.clone()).await);
    }
    let baseline = median(baseline);

    // Four senders, each with a bomb always in flight, for as long as the
    // honest reads take (and at most 60 bombs each).
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (s, bomb, done) = (s.clone(), bomb.clone(), done.clone());
        senders.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            while !done.load(Ordering::SeqCst) && answers.len() < 60 {
                let a = auth(&s, "v_2", &bomb).await;
                answers.push((a.status, a.error(), a.took));
            }
            answers
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut during = Vec::new();
    for _ in 0..20 {
        during.push(read(s.clone(), honest.clone()).await);
    }
    done.store(true, Ordering::SeqCst);
    let during = median(during);
    let mut bombs = Vec::new();
    for t in senders {
        bombs.extend(t.await.expect("sender"));
    }
    let slowest = bombs.iter().map(|b| b.2).max().unwrap_or_default();
    eprintln!(
        "honest median {baseline:?} alone, {during:?} with bombs in flight; {} bombs, slowest {slowest:?}",
        bombs.len()
    );
    assert!(bombs.len() >= 4, "the bombs were in flight");
    for (status, error, _) in &bombs {
        assert_eq!((*status, error.as_str()), (403, "limits"));
    }
    assert!(
        during <= normal(baseline),
        "honest median {during:?} with bombs, {baseline:?} without"
    );
}

/// The smallest `max_expression_cost` that admits `token`.
fn admission_cost(fx: &Fixture, token: &str) -> u64 {
    let admits = |max_expression_cost| {
        let limits = TokenLimits {
            max_expression_cost,
            ..TokenLimits::default()
        };
        token::verify_text(token, usize::MAX, &fx.public, &limits).is_ok()
    };
    let (mut low, mut high) = (0u64, u64::MAX);
    while low < high {
        let mid = low + (high - low) / 2;
        if admits(mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

#[test]
fn a_closure_just_under_the_default_bound_runs_promptly_and_one_just_over_is_limits() {
    let fx = Fixture::new(31);
    let guest = fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read")), 310);
    let read = req(Operation::Read, view("v_1"));
    let token_for = |n: usize| append_code(&guest, &closure_block(2, n), 311);
    let admitted = |token: &str| {
        token::verify_text(token, usize::MAX, &fx.public, &TokenLimits::default()).map(drop)
    };
    // The largest set the two-level closure may iterate under the default.
    let n = (2..=200)
        .take_while(|&n| admitted(&token_for(n)).is_ok())
        .last()
        .expect("a small set is admitted");
    assert!(n >= 20, "only {n} elements");
    let under = token_for(n);
    let cost = admission_cost(&fx, &under);
    let start = Instant::now();
    let d = fx.decide(Some(&under), &read, t0());
    let took = start.elapsed();
    eprintln!("{n} elements: cost {cost}, evaluated in {took:?}");
    assert!(d.allowed, "{d:?}");
    assert!(took < PROMPT, "took {took:?}");

    let over = token_for(n + 1);
    assert!(admission_cost(&fx, &over) > DEFAULT_MAX_EXPRESSION_COST);
    let start = Instant::now();
    let d = fx.decide(Some(&over), &read, t0());
    assert_eq!(d.reason, Some(Reason::Limits));
    assert!(start.elapsed() < PROMPT, "took {:?}", start.elapsed());
    assert_eq!(
        admitted(&over),
        Err(TokenError::TooExpensive(
            "an expression could take too long to evaluate"
        ))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_expression_cost_at_and_just_past_the_limit_over_http() {
    // The cost of a three-level closure over ten elements, as admission
    // reckons it with the default policy's facts.
    let fx = Fixture::new(32);
    let probe = append_code(
        &fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read")), 320),
        &closure_block(3, 10),
        321,
    );
    let cost = admission_cost(&fx, &probe);
    assert!(cost > 1000, "{cost}");
    for (limit, status, error) in [(cost, 200, ""), (cost - 1, 403, "limits")] {
        let limit = limit.to_string();
        let mut args = AUTHORIZER_MS.to_vec();
        args.extend(["--max-expression-cost", &limit]);
        let s = Server::start(&args);
        seed_registry(&s).await;
        let token = append_code(&guest(&s, "v_1", None).await, &closure_block(3, 10), 322);
        let a = auth(&s, "v_1", &token).await;
        assert_eq!(
            (a.status, a.error().as_str()),
            (status, error),
            "limit {limit}: {}",
            a.body
        );
    }
}

/// A block whose one rule derives 64² facts in its first round: admitted
/// (the most a block may hold, under both the join and the round bounds),
/// then stopped by the fact limit after tens of milliseconds of Datalog.
fn fact_explosion(token: &str, seed: u64) -> String {
    let mut code: String = (0..64).map(|i| format!("n({i});\n")).collect();
    code.push_str("t($a, $b) <- n($a), n($b);\n");
    code.push_str("check if t(0, 0);\n");
    append_code(token, &code, seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expensive_admitted_runs_wait_on_the_blocking_pool_not_the_workers() {
    let mut args = AUTHORIZER_MS.to_vec();
    args.extend([
        "--max-concurrent-authorizations",
        "2",
        "--decision-cache-ms",
        "60000",
    ]);
    let s = Arc::new(Server::start(&args));
    seed_registry(&s).await;
    let honest = guest(&s, "v_1", None).await;
    let bomb = fact_explosion(&guest(&s, "v_2", None).await, 5);
    assert_eq!(auth(&s, "v_2", &bomb).await.error(), "limits");
    // A warm decision for the honest token.
    assert_eq!(auth(&s, "v_1", &honest).await.status, 200);
    let mut baseline = Vec::new();
    let mut warm_baseline = Vec::new();
    for _ in 0..20 {
        baseline.push(healthz(&s).await.took);
        warm_baseline.push(auth(&s, "v_1", &honest).await.took);
    }
    let (baseline, warm_baseline) = (median(baseline), median(warm_baseline));

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for _ in 0..8 {
        let (s, bomb, done) = (s.clone(), bomb.clone(), done.clone());
        senders.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            while !done.load(Ordering::SeqCst) && errors.len() < 40 {
                errors.push(auth(&s, "v_2", &bomb).await.error());
            }
            errors
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut health = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..20 {
        let h = healthz(&s).await;
        assert_eq!((h.status, h.body.as_str()), (200, "ok\n"));
        health.push(h.took);
        let a = auth(&s, "v_1", &honest).await;
        assert_eq!(a.status, 200);
        warm.push(a.took);
    }
    done.store(true, Ordering::SeqCst);
    let (health, warm) = (median(health), median(warm));
    let mut errors = Vec::new();
    for t in senders {
        errors.extend(t.await.expect("sender"));
    }
    eprintln!(
        "/healthz median {baseline:?} alone, {health:?} during {} expensive runs; warm read {warm_baseline:?} / {warm:?}",
        errors.len()
    );
    assert!(errors.len() >= 8);
    assert!(errors.iter().all(|e| e == "limits"), "{errors:?}");
    assert!(
        health <= normal(baseline),
        "/healthz {health:?} vs {baseline:?}"
    );
    assert!(
        warm <= normal(warm_baseline),
        "warm read {warm:?} vs {warm_baseline:?}"
    );
}

#[test]
fn a_policy_with_large_sets_widens_what_closures_may_iterate() {
    // Admission bounds a variable by the largest term the policy's facts
    // could bind it to: a policy fact with 200 elements makes a closure
    // that iterates a check's variable too expensive, though the token
    // itself carries no large set.
    let set: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let source = format!(
        "{}\nbig({{{}}});",
        tessera::authorize::DEFAULT_POLICY,
        set.join(", ")
    );
    let mut fx = Fixture::new(33);
    fx.policy =
        tessera::authorize::Policy::from_source(&source, common::relaxed_limits()).expect("policy");
    let guest = fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read")), 330);
    let code = "check if big($s), $s.all($a -> $s.all($b -> $a >= 0));";
    let attacked = append_code(&guest, code, 331);
    let read = req(Operation::Read, view("v_1"));
    let start = Instant::now();
    let d = fx.decide(Some(&attacked), &read, t0());
    assert_eq!(d.reason, Some(Reason::Limits));
    assert!(start.elapsed() < PROMPT, "took {:?}", start.elapsed());
    // With the default policy there is no `big` fact to bind: it is cheap.
    let fx = Fixture::new(33);
    assert_eq!(
        fx.decide(Some(&attacked), &read, t0()).reason,
        Some(Reason::CheckFailed)
    );
}
