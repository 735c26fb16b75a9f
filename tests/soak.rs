//! Soak: mixed valid, invalid, revoked and expired traffic against one
//! `tessera serve` for a while — no 5xx, no panic, the process never exits,
//! memory stays flat.
//!
//! The duration is `TESSERA_SOAK_SECS` (default 20 s, so every CI run does a
//! short soak). The "several minutes" figure quoted for the issue was
//! measured with `TESSERA_SOAK_SECS=300 cargo test --release --test soak --
//! --nocapture`.
//!
//! Four traffic clients pick, at random (seeded), among: valid guest tokens
//! (200), tokens for another view or another operation (403 `no_right`),
//! garbage, tampered and oversize tokens (401), revoked tokens (401
//! `revoked`), tokens issued with `"expires": "2s"` and used on past their
//! expiry (200, then 401 `expired`), Datalog bombs (403 `limits`, one
//! refused at admission and one cut off by the run limits), anonymous reads
//! of a public view (200), share links (303 for a live one, 404 for a dead
//! one), and now and then `/healthz` and `/metrics`. An admin client
//! interleaves writes: random revocation ids, fresh expiring tokens, tokens
//! issued then revoked. Every answer must be exactly the expected one.
//!
//! Once a second the server's `VmRSS` (from `/proc/PID/status`) is
//! sampled. After a warm-up (a tenth of the run, at least 5 s), the average
//! of the last third of the samples must be within 20 % + 10 MB of the first
//! third's. A report (requests by kind and status, RSS min/avg/max and by
//! third) is printed to stderr.
//!
//! The server's two caches are bounded, but their defaults are large: every
//! distinct token text seen (junk included) takes a decision-cache entry, up
//! to 100 000 of them (about 27 MB of RSS; measured: 9.7 MB → 37.1 MB after
//! 100 000 unique junk tokens, then flat), and every distinct verified token
//! a token-cache entry, up to 10 000. Filling those takes longer than a
//! soak, so it would read as growth. The soak's config file
//! (`--config`) makes them 1 000 decisions and 100 tokens, so they fill during
//! the warm-up and any growth after it is a leak.

mod server;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use server::{issue, seed_registry, Server};

const SEED: u64 = 0x50a4_0000_0000_0001;

/// The gateway's configuration file for the soak: the two caches are made
/// small so that they fill up during the warm-up.
const SOAK_CONFIG: &str = "decision_cache_capacity = 1000\ntoken_cache_capacity = 100\n";
const CLIENTS: usize = 4;
const ROWS: &str = "/api/v1/views/v_1/rows";

/// The soak's length: `TESSERA_SOAK_SECS`, default 20.
fn soak_secs() -> u64 {
    std::env::var("TESSERA_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(5)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Tokens the clients use; the admin client keeps the moving parts fresh.
#[derive(Default)]
struct Pools {
    valid: Vec<String>,
    other_view: Vec<String>,
    garbage: Vec<String>,
    bombs: Vec<String>,
    /// Bounded rings, newest last.
    revoked: Vec<String>,
    expiring: Vec<(String, DateTime<Utc>)>,
}

const RING: usize = 16;

fn push_ring<T>(ring: &mut Vec<T>, item: T) {
    ring.push(item);
    if ring.len() > RING {
        ring.remove(0);
    }
}

/// What happened, for the report and the verdict.
#[derive(Default)]
struct Record {
    /// (kind, status) → count.
    by_kind: BTreeMap<(&'static str, u16), u64>,
    /// Answers that were not the expected one (first few kept).
    wrong: Vec<String>,
    wrong_count: u64,
    /// Requests that got no answer at all.
    transport_errors: Vec<String>,
    fivexx: u64,
}

impl Record {
    fn note(&mut self, kind: &'static str, status: u16) {
        *self.by_kind.entry((kind, status)).or_default() += 1;
        if status >= 500 {
            self.fivexx += 1;
        }
    }

    fn wrong(&mut self, msg: String) {
        self.wrong_count += 1;
        if self.wrong.len() < 20 {
            self.wrong.push(msg);
        }
    }
}

fn encode_token(bytes: &[u8]) -> String {
    format!(
        "{}{}",
        tessera::token::TOKEN_PREFIX,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A validly signed copy of `token` whose appended block derives `n * n` facts.
fn datalog_bomb(token: &str, n: usize) -> String {
    let bytes = tessera::token::decode_bytes(token, 1 << 16).expect("decode");
    let unverified = biscuit_auth::UnverifiedBiscuit::from(&bytes).expect("parse");
    let mut code = String::new();
    for i in 0..n {
        code.push_str(&format!("n({i});\n"));
    }
    code.push_str("pair($a, $b) <- n($a), n($b);\n");
    code.push_str("check if pair(0, 0);\n");
    let block = biscuit_auth::BlockBuilder::new()
        .code(&code)
        .expect("block");
    encode_token(
        &unverified
            .append(block)
            .expect("append")
            .to_vec()
            .expect("bytes"),
    )
}

/// The `error` code of a JSON answer body ("" if none).
fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One request the traffic mix can make, and what it must get.
enum Expect {
    Exactly(u16, &'static str),
    /// 401 with one of these codes.
    Unauthorized(&'static [&'static str]),
    /// 200 if answered before the instant (minus a margin), 401 `expired`
    /// if sent after it (plus a margin), either in between: the decision
    /// was made between sending and answering, however slow the machine.
    ExpiresAt(DateTime<Utc>),
    /// A share link: 303, or 404 once the token has expired.
    LinkExpiresAt(DateTime<Utc>),
}

/// Whole seconds of the token's expiry check and the gateway's clock leave
/// a band around the ledger's `expires_at` where either answer is right.
const EXPIRY_BAND: chrono::TimeDelta = chrono::TimeDelta::milliseconds(1500);

fn check(
    kind: &'static str,
    status: u16,
    body: &str,
    sent: DateTime<Utc>,
    answered: DateTime<Utc>,
    expect: &Expect,
) -> Option<String> {
    let code = error_code(body);
    let ok = match expect {
        Expect::Exactly(s, c) => status == *s && (c.is_empty() || code == *c),
        Expect::Unauthorized(codes) => status == 401 && codes.contains(&code.as_str()),
        Expect::ExpiresAt(at) => {
            let allowed = status == 200;
            let expired = status == 401 && code == "expired";
            if answered < *at - EXPIRY_BAND {
                allowed
            } else if sent > *at + EXPIRY_BAND {
                expired
            } else {
                allowed || expired
            }
        }
        Expect::LinkExpiresAt(at) => {
            if answered < *at - EXPIRY_BAND {
                status == 303
            } else if sent > *at + EXPIRY_BAND {
                status == 404
            } else {
                status == 303 || status == 404
            }
        }
    };
    (!ok).then(|| {
        format!(
            "{kind}: got {status} {code:?} at {sent}: {}",
            body.chars().take(200).collect::<String>()
        )
    })
}

fn forward(
    c: &reqwest::Client,
    base: &str,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut rb = c
        .get(format!("{base}/auth"))
        .header("X-Original-Method", method)
        .header("X-Original-URI", uri);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    rb
}

fn pick<T: Clone>(rng: &mut StdRng, v: &[T]) -> Option<T> {
    (!v.is_empty()).then(|| v[rng.gen_range(0..v.len())].clone())
}

/// A traffic client: random requests from the mix until `stop`.
async fn traffic(
    task: usize,
    base: String,
    pools: Arc<Mutex<Pools>>,
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = StdRng::seed_from_u64(SEED ^ (task as u64 + 1));
    let new_client = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client")
    };
    let mut c = new_client();
    let mut sent_here = 0u64;
    while !stop.load(Ordering::Acquire) {
        // One client opens a new connection every 25 requests.
        sent_here += 1;
        if task == CLIENTS - 1 && sent_here % 25 == 0 {
            c = new_client();
        }
        let roll = rng.gen_range(0..100);
        let (kind, rb, expect): (&'static str, reqwest::RequestBuilder, Expect) = {
            let p = lock(&pools);
            match roll {
                0..=29 => {
                    let t = pick(&mut rng, &p.valid).expect("valid");
                    (
                        "valid",
                        forward(&c, &base, "GET", ROWS, Some(&t)),
                        Expect::Exactly(200, ""),
                    )
                }
                30..=37 => {
                    let t = pick(&mut rng, &p.other_view).expect("other view");
                    (
                        "other_view",
                        forward(&c, &base, "GET", ROWS, Some(&t)),
                        Expect::Exactly(403, "no_right"),
                    )
                }
                38..=41 => {
                    let t = pick(&mut rng, &p.valid).expect("valid");
                    (
                        "wrong_operation",
                        forward(&c, &base, "DELETE", ROWS, Some(&t)),
                        Expect::Exactly(403, "no_right"),
                    )
                }
                42..=47 => {
                    let t = pick(&mut rng, &p.garbage).expect("garbage");
                    (
                        "garbage",
                        forward(&c, &base, "GET", ROWS, Some(&t)),
                        Expect::Unauthorized(&["malformed", "bad_signature", "unknown_key"]),
                    )
                }
                48..=51 => {
                    // Fresh random bytes every time: nothing to cache.
                    let mut bytes = vec![0u8; rng.gen_range(1..600)];
                    rng.fill(&mut bytes[..]);
                    let t = encode_token(&bytes);
                    (
                        "random_garbage",
                        forward(&c, &base, "GET", ROWS, Some(&t)),
                        Expect::Unauthorized(&["malformed", "bad_signature", "unknown_key"]),
                    )
                }
                52..=53 => {
                    let t = format!("tsr_{}", "A".repeat(9 * 1024 + rng.gen_range(0..512)));
                    (
                        "oversize",
                        forward(&c, &base, "GET", ROWS, Some(&t)),
                        Expect::Exactly(401, "malformed"),
                    )
                }
                54..=61 => match pick(&mut rng, &p.revoked) {
                    Some(t) => (
                        "revoked",
                        forward(&c, &base, "GET", ROWS, Some(&t)),
                        Expect::Exactly(401, "revoked"),
                    ),
                    None => continue,
                },
                62..=71 => match pick(&mut rng, &p.expiring) {
                    Some((t, at)) => (
                        "expiring",
                        forward(&c, &base, "GET", ROWS, Some(&t)),
                        Expect::ExpiresAt(at),
                    ),
                    None => continue,
                },
                72..=75 => {
                    let t = pick(&mut rng, &p.bombs).expect("bomb");
                    (
                        "bomb",
                        forward(&c, &base, "GET", ROWS, Some(&t)),
                        Expect::Exactly(403, "limits"),
                    )
                }
                76..=83 => (
                    "public_anonymous",
                    forward(&c, &base, "GET", "/api/v1/views/v_2/rows", None),
                    Expect::Exactly(200, ""),
                ),
                84..=87 => {
                    let t = pick(&mut rng, &p.valid).expect("valid");
                    (
                        "share_link",
                        c.get(format!("{base}/s/{t}")),
                        Expect::Exactly(303, ""),
                    )
                }
                88..=91 => {
                    let t = match rng.gen_range(0..2) {
                        0 => pick(&mut rng, &p.revoked),
                        _ => pick(&mut rng, &p.garbage),
                    };
                    match t {
                        Some(t) => (
                            "dead_share_link",
                            c.get(format!("{base}/s/{t}")),
                            Expect::Exactly(404, ""),
                        ),
                        None => continue,
                    }
                }
                92..=95 => match pick(&mut rng, &p.expiring) {
                    Some((t, at)) => (
                        "expiring_share_link",
                        c.get(format!("{base}/s/{t}")),
                        Expect::LinkExpiresAt(at),
                    ),
                    None => continue,
                },
                96..=97 => (
                    "healthz",
                    c.get(format!("{base}/healthz")),
                    Expect::Exactly(200, ""),
                ),
                _ => (
                    "metrics",
                    c.get(format!("{base}/metrics")),
                    Expect::Exactly(200, ""),
                ),
            }
        };
        let sent = Utc::now();
        let answer = async {
            let r = rb.send().await?;
            let status = r.status().as_u16();
            let body = r.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let answered = Utc::now();
        let mut rec = lock(&record);
        match answer {
            Ok((status, body)) => {
                rec.note(kind, status);
                if let Some(msg) = check(kind, status, &body, sent, answered, &expect) {
                    rec.wrong(msg);
                }
            }
            Err(e) => {
                if rec.transport_errors.len() < 20 {
                    rec.transport_errors.push(format!("{kind}: {e}"));
                }
            }
        }
    }
}

/// The admin client: random revocation ids, expiring tokens, tokens issued
/// and then revoked, about ten writes a second.
async fn admin_writes(
    base: String,
    admin: String,
    pools: Arc<Mutex<Pools>>,
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
    writes: Arc<AtomicU64>,
) {
    let mut rng = StdRng::seed_from_u64(SEED ^ 0xad);
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let mut step = 0u64;
    while !stop.load(Ordering::Acquire) {
        step += 1;
        let (what, rb) = match step % 4 {
            0 | 2 => {
                let mut id = [0u8; 64];
                rng.fill(&mut id[..]);
                (
                    "admin_revocation",
                    c.post(format!("{base}/admin/v1/revocations"))
                        .json(&json!({ "revocation_id": hex::encode(id), "reason": "soak" })),
                )
            }
            1 => (
                "admin_issue_expiring",
                c.post(format!("{base}/admin/v1/tokens")).json(&json!({
                    "kind": "guest", "workspace": "ws_1", "view": "v_1",
                    "allow": ["read"], "expires": "2s", "label": "soak expiring"
                })),
            ),
            _ => (
                "admin_issue_then_revoke",
                c.post(format!("{base}/admin/v1/tokens")).json(&json!({
                    "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"]
                })),
            ),
        };
        let answer = async {
            let r = rb.bearer_auth(&admin).send().await?;
            let status = r.status().as_u16();
            let body = r.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let (status, body) = match answer {
            Ok(a) => a,
            Err(e) => {
                let mut rec = lock(&record);
                if rec.transport_errors.len() < 20 {
                    rec.transport_errors.push(format!("{what}: {e}"));
                }
                continue;
            }
        };
        lock(&record).note(what, status);
        writes.fetch_add(1, Ordering::Relaxed);
        let want = if what == "admin_revocation" { 200 } else { 201 };
        if status != want {
            lock(&record).wrong(format!("{what}: {status} {body}"));
            continue;
        }
        if what != "admin_revocation" {
            let v: Value = serde_json::from_str(&body).expect("issue JSON");
            let token = v["token"].as_str().expect("token").to_owned();
            if what == "admin_issue_expiring" {
                let at = v["expires_at"]
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .expect("expires_at")
                    .with_timezone(&Utc);
                push_ring(&mut lock(&pools).expiring, (token, at));
            } else {
                let id = v["token_id"].as_str().expect("token_id").to_owned();
                let r = c
                    .delete(format!("{base}/admin/v1/tokens/{id}"))
                    .bearer_auth(&admin)
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        lock(&record).note("admin_revoke_token", status);
                        writes.fetch_add(1, Ordering::Relaxed);
                        if status == 200 {
                            push_ring(&mut lock(&pools).revoked, token);
                        } else {
                            let body = r.text().await.unwrap_or_default();
                            lock(&record).wrong(format!("admin_revoke_token: {status} {body}"));
                        }
                    }
                    Err(e) => lock(&record)
                        .transport_errors
                        .push(format!("admin_revoke_token: {e}")),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..150))).await;
    }
}

/// The server's resident set size in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn mb(kb: f64) -> String {
    format!("{:.1} MB", kb / 1024.0)
}

fn avg(v: &[u64]) -> f64 {
    v.iter().sum::<u64>() as f64 / v.len().max(1) as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_traffic_for_a_while_no_5xx_no_exit_memory_flat() {
    let secs = soak_secs();
    // Small bounded caches (see the module doc), through the config file.
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("serve.toml");
    std::fs::write(&config, SOAK_CONFIG).expect("write config");
    // Timing is not what this test is about: widen the authorizer's budget.
    let mut s = Server::start(&[
        "--config",
        config.to_str().expect("utf8 path"),
        "--max-authorizer-ms",
        "250",
    ]);
    seed_registry(&s).await;
    let admin = s.admin_token();
    let r = server::client()
        .put(s.url("/admin/v1/views/v_2"))
        .bearer_auth(&admin)
        .json(&json!({ "public": true }))
        .send()
        .await
        .expect("make v_2 public");
    assert_eq!(r.status(), 200);

    let mut pools = Pools::default();
    let mut rng = StdRng::seed_from_u64(SEED);
    for _ in 0..8 {
        let v = issue(
            &s,
            json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"] }),
        )
        .await;
        pools
            .valid
            .push(v["token"].as_str().expect("token").to_owned());
    }
    for _ in 0..4 {
        let v = issue(&s, json!({ "kind": "guest", "workspace": "ws_2", "view": "v_3", "allow": ["read", "write"] })).await;
        pools
            .other_view
            .push(v["token"].as_str().expect("token").to_owned());
        let v = issue(
            &s,
            json!({ "kind": "guest", "workspace": "ws_1", "view": "v_2", "allow": ["read"] }),
        )
        .await;
        pools
            .other_view
            .push(v["token"].as_str().expect("token").to_owned());
    }
    let base_token = pools.valid[0].clone();
    // Garbage: not base64, random bytes, a tampered token, a truncated one.
    pools.garbage.push("tsr_not a token".into());
    pools.garbage.push("tsr_".into());
    pools.garbage.push("garbage".into());
    for _ in 0..8 {
        let mut bytes = vec![0u8; rng.gen_range(16..400)];
        rng.fill(&mut bytes[..]);
        pools.garbage.push(encode_token(&bytes));
    }
    let raw = tessera::token::decode_bytes(&base_token, 1 << 16).expect("decode");
    for i in [raw.len() / 3, raw.len() / 2, raw.len() - 5] {
        let mut t = raw.clone();
        t[i] ^= 0x01;
        pools.garbage.push(encode_token(&t));
    }
    pools.garbage.push(encode_token(&raw[..raw.len() / 2]));
    // Bombs: one refused at admission (100 facts in a block), one that
    // passes admission and hits the run's fact limit (40 × 40 pairs).
    pools.bombs.push(datalog_bomb(&base_token, 100));
    pools.bombs.push(datalog_bomb(&pools.valid[1], 40));

    let pools = Arc::new(Mutex::new(pools));
    let record = Arc::new(Mutex::new(Record::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let mut tasks: Vec<_> = (0..CLIENTS)
        .map(|k| {
            tokio::spawn(traffic(
                k,
                s.base.clone(),
                pools.clone(),
                record.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tasks.push(tokio::spawn(admin_writes(
        s.base.clone(),
        admin.clone(),
        pools.clone(),
        record.clone(),
        stop.clone(),
        writes.clone(),
    )));

    let pid = s.pid();
    let started = Instant::now();
    let mut rss: Vec<(u64, u64)> = Vec::new(); // (second, kB)
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    for second in 1..=secs {
        tick.tick().await;
        assert!(
            s.is_running(),
            "the server exited after {second} s: {}",
            s.logs()
        );
        rss.push((second, rss_kb(pid)));
        let rec = lock(&record);
        assert_eq!(rec.fivexx, 0, "5xx answers: {:?}", rec.by_kind);
    }
    stop.store(true, Ordering::Release);
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .expect("clients stop")
            .expect("client task");
    }
    let elapsed = started.elapsed();
    assert!(s.is_running(), "the server exited: {}", s.logs());
    let r = server::client()
        .get(s.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);

    // The report.
    let rec = lock(&record);
    let total: u64 = rec.by_kind.values().sum();
    eprintln!(
        "soak: {secs} s ({elapsed:.1?}) of mixed traffic, {CLIENTS} clients + 1 admin writer; {total} requests ({:.0}/s), {} admin writes",
        total as f64 / elapsed.as_secs_f64(),
        writes.load(Ordering::Relaxed)
    );
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    for ((_, status), n) in &rec.by_kind {
        *by_status.entry(*status).or_default() += n;
    }
    eprintln!("  by status: {by_status:?}");
    eprintln!("  by kind:");
    for ((kind, status), n) in &rec.by_kind {
        eprintln!("    {kind:<22} {status}  {n}");
    }
    eprintln!(
        "  5xx: {}, wrong answers: {}, requests with no answer: {}",
        rec.fivexx,
        rec.wrong_count,
        rec.transport_errors.len()
    );
    let kb: Vec<u64> = rss.iter().map(|(_, k)| *k).collect();
    let warmup = (secs / 10).max(5) as usize;
    let steady = &kb[warmup.min(kb.len() - 3)..];
    let third = (steady.len() / 3).max(1);
    let (first, last) = (&steady[..third], &steady[steady.len() - third..]);
    let (first_avg, last_avg) = (avg(first), avg(last));
    eprintln!(
        "  server RSS over {} samples: min {}, avg {}, max {}; after a {warmup} s warm-up: first third avg {}, last third avg {} ({:+.1} %)",
        kb.len(),
        mb(*kb.iter().min().expect("samples") as f64),
        mb(avg(&kb)),
        mb(*kb.iter().max().expect("samples") as f64),
        mb(first_avg),
        mb(last_avg),
        (last_avg / first_avg - 1.0) * 100.0
    );
    let every = (kb.len() / 20).max(1);
    let series: Vec<String> = rss
        .iter()
        .filter(|(sec, _)| sec % every as u64 == 0)
        .map(|(sec, k)| format!("{sec}s:{:.1}", *k as f64 / 1024.0))
        .collect();
    eprintln!("  RSS MB by time: {}", series.join(" "));

    assert!(
        rec.transport_errors.is_empty(),
        "requests with no answer: {:?}",
        rec.transport_errors
    );
    assert_eq!(rec.fivexx, 0, "no 5xx: {:?}", rec.by_kind);
    assert!(
        rec.wrong.is_empty(),
        "{} wrong answers, first: {:#?}",
        rec.wrong_count,
        rec.wrong
    );
    for kind in [
        "valid",
        "other_view",
        "garbage",
        "revoked",
        "expiring",
        "bomb",
        "public_anonymous",
        "share_link",
        "dead_share_link",
    ] {
        assert!(
            rec.by_kind.keys().any(|(k, _)| *k == kind),
            "the mix sent {kind} requests"
        );
    }
    assert!(
        rec.by_kind.get(&("expiring", 401)).copied().unwrap_or(0) > 0,
        "expired tokens were used past their expiry"
    );
    assert!(
        last_avg <= first_avg * 1.2 + 10.0 * 1024.0,
        "memory grew: first third avg {}, last third avg {}",
        mb(first_avg),
        mb(last_avg)
    );
    let logs = s.logs();
    assert!(!logs.contains("panicked"), "the server panicked: {logs}");
    assert_eq!(s.terminate().code(), Some(0), "{}", s.logs());
}
