//! Load harness: one Rust load generator drives, over loopback, a bare axum
//! server (answers 200 to everything, inside this process) and a release
//! `tessera serve` process, so the gateway's cost shows as the difference.
//!
//! Scenarios, each for a fixed duration (`TESSERA_LOAD_SECS`, default 10 s)
//! with 64 keep-alive HTTP/1.1 connections (`TESSERA_LOAD_CONNECTIONS`), one
//! task per connection, every latency recorded in microseconds:
//!
//! - (a) the bare server;
//! - (b) forward-auth `/auth` with one valid guest token (warm), gateway
//!   defaults (the decision cache answers repeats);
//! - (b') the same against a second gateway with the decision cache off
//!   (`decision_cache_ms = 0`): a verified-token cache hit plus the
//!   authorizer on every request;
//! - (b'') the same warm request as Envoy's ext_authz asks it
//!   (`/auth/api/v1/views/v_1/rows`);
//! - (c) forward-auth with a fresh token per request (cold): a pool of
//!   distinct 1-block guest tokens, signed with the gateway's own root key
//!   (as `tessera issue` on the same data directory would), large enough that
//!   no token repeats during the run, so the verified-token cache (10,000 by
//!   default) and the decision cache miss;
//! - (d) a bare axum reverse proxy (hyper-util's pooled client) in front of
//!   an upstream that answers 200 to everything, and (e) a third gateway in
//!   reverse-proxy mode (`--upstream`) in front of the same upstream, with
//!   one valid guest token (warm).
//!
//! Prints requests/s, p50/p99/p99.9, the token and decision cache counters
//! from `/metrics`, the ratios to (a), cache off / on and (e) / (d), and the
//! share-link lengths. The gateways log as they do by default, at `info`:
//! every request writes an access-log line (`TESSERA_LOAD_LOG` to change
//! it). Every process and server it starts is stopped before it returns,
//! also on a panic.
//!
//! `TESSERA_LOAD_BIN=PATH` runs that `tessera` binary instead of the one
//! cargo built (e.g. a copy, or an older build to compare with).
//! `TESSERA_LOAD_ONLY=b,e` runs only those scenarios besides (a) and the
//! baseline each one is compared with (e.g. to profile one of them).
//!
//! Run with `cargo bench --bench load` (cargo passes `--bench`; without it,
//! e.g. under `cargo test --benches`, the harness does nothing).
// This file's helpers need no docs of their own.
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, HOST};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

use tessera::link::share_link;
use tessera::model::{Grant, Id, Operation, Restriction};
use tessera::store::datadir::DataDir;
use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};

/// The protected path every forward-auth request asks about.
const PATH: &str = "/api/v1/views/v_1/rows";
/// The same request as Envoy's ext_authz asks it (`path_prefix: /auth`).
const ENVOY_PATH: &str = "/auth/api/v1/views/v_1/rows";
/// Share links are measured on this base.
const SHARE_BASE: &str = "https://share.example.com";

/// A `tessera serve` process on 127.0.0.1:0. Dropping it stops it
/// (SIGTERM, then SIGKILL after 10 s).
struct Server {
    child: Child,
    addr: SocketAddr,
    data: PathBuf,
}

impl Server {
    fn start(data: &Path, extra: &[&str], log: &str) -> Result<Server, String> {
        // TESSERA_LOAD_BIN: a copy of the release binary to measure (the
        // shared target dir's may be rebuilt by someone else meanwhile).
        let bin = std::env::var("TESSERA_LOAD_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_tessera").to_owned());
        // The log (access log on, as by default) goes to a file, as it
        // would to journald or a file in production: a reader in this
        // process would take CPU from the load generator on shared cores.
        DataDir::new(data)
            .create()
            .map_err(|e| format!("cannot create {data:?}: {e}"))?;
        let log_file = std::fs::File::create(data.join("serve.log"))
            .map_err(|e| format!("cannot create serve.log: {e}"))?;
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0", "--log", log])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start tessera serve: {e}"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            // Keeps draining stdout for the life of the process.
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("listening on http://") {
                        let _ = tx.send(addr.to_owned());
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: data.to_owned(),
        };
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                server.addr = addr
                    .parse()
                    .map_err(|e| format!("bad listen address {addr:?}: {e}"))?;
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "tessera serve exited with {status}: {}",
                    server.logs()
                ));
            }
            if Instant::now() > deadline {
                return Err("tessera serve did not start within 30 s".into());
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data.join("admin.token"))
            .expect("admin.token")
            .trim()
            .to_owned()
    }

    /// The last 64 KiB of the gateway's log.
    fn logs(&self) -> String {
        let text = std::fs::read_to_string(self.data.join("serve.log")).unwrap_or_default();
        let start = text.len().saturating_sub(64 * 1024);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text[start..].to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bare axum server: its own runtime (like a separate process), 200 to
/// everything. Dropping it shuts it down.
struct Bare {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Bare {
    /// The bare server: 200 to everything.
    fn start(workers: usize) -> Bare {
        Bare::serve(workers, axum::Router::new().fallback(|| async { "ok" }))
    }

    /// A bare axum reverse proxy to `upstream`: each request's path and
    /// query sent on with hyper-util's pooled client, the answer passed back.
    fn proxy(workers: usize, upstream: SocketAddr) -> Bare {
        use hyper_util::client::legacy::{connect::HttpConnector, Client};
        let client: Client<HttpConnector, axum::body::Body> =
            Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let client = client.clone();
            async move {
                let (mut parts, body) = request.into_parts();
                let pq = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
                parts.uri = format!("http://{upstream}{pq}").parse().expect("uri");
                match client
                    .request(hyper::Request::from_parts(parts, body))
                    .await
                {
                    Ok(r) => r.map(axum::body::Body::new),
                    Err(_) => {
                        let mut r = hyper::Response::new(axum::body::Body::empty());
                        *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
                        r
                    }
                }
            }
        });
        Bare::serve(workers, app)
    }

    fn serve(workers: usize, app: axum::Router) -> Bare {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("bare-server")
            .enable_all()
            .build()
            .expect("bare runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind bare server");
        let addr = listener.local_addr().expect("bare address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Bare {
            addr,
            stop: Some(stop),
            rt: Some(rt),
        }
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// What the generator sends: the target, the path, and per request the
/// `Authorization` value (none, one, or the next of a pool).
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    path: &'static str,
    forward_auth: bool,
    tokens: Arc<Vec<HeaderValue>>,
    next: Arc<AtomicUsize>,
}

impl Target {
    fn request(&self) -> hyper::Request<Empty<Bytes>> {
        let mut b = hyper::Request::builder()
            .method("GET")
            .uri(self.path)
            .header(HOST, self.addr.to_string());
        if self.forward_auth {
            b = b
                .header("x-original-method", "GET")
                .header("x-original-uri", PATH);
        }
        if !self.tokens.is_empty() {
            let i = if self.tokens.len() == 1 {
                0
            } else {
                self.next.fetch_add(1, Ordering::Relaxed) % self.tokens.len()
            };
            b = b.header(AUTHORIZATION, self.tokens[i].clone());
        }
        b.body(Empty::new()).expect("request")
    }
}

/// One scenario's outcome.
struct Outcome {
    name: String,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    non_200: u64,
    io_errors: u64,
    cache: Option<CacheDelta>,
}

impl Outcome {
    fn rps(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-quantile (0..1) of the sorted latencies, µs.
    fn quantile(&self, p: f64) -> u32 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        self.latencies_us[rank - 1]
    }
}

async fn connection(
    target: Target,
    start: Arc<tokio::sync::Barrier>,
    deadline: Arc<Mutex<Option<Instant>>>,
    duration: Duration,
) -> (Vec<u32>, u64, u64) {
    let mut latencies = Vec::with_capacity(1 << 16);
    let (mut non_200, mut io_errors) = (0u64, 0u64);
    let connect = async {
        let stream = tokio::net::TcpStream::connect(target.addr).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(conn);
        Some(sender)
    };
    let mut sender = connect.await;
    if start.wait().await.is_leader() {
        *deadline.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + duration);
    }
    // Every task waits at the barrier, so the leader has set the deadline.
    start.wait().await;
    let end = deadline
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or_else(Instant::now);
    let Some(sender) = sender.as_mut() else {
        return (latencies, 0, 1);
    };
    while Instant::now() < end {
        if sender.ready().await.is_err() {
            io_errors += 1;
            break;
        }
        let request = target.request();
        let t0 = Instant::now();
        match sender.send_request(request).await {
            Ok(response) => {
                let ok = response.status() == hyper::StatusCode::OK;
                if response.into_body().collect().await.is_err() {
                    io_errors += 1;
                    break;
                }
                latencies.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                if !ok {
                    non_200 += 1;
                }
            }
            Err(_) => {
                io_errors += 1;
                break;
            }
        }
    }
    (latencies, non_200, io_errors)
}

async fn drive(name: &str, target: Target, connections: usize, duration: Duration) -> Outcome {
    let start = Arc::new(tokio::sync::Barrier::new(connections));
    let deadline = Arc::new(Mutex::new(None));
    let began = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(connection(
                target.clone(),
                start.clone(),
                deadline.clone(),
                duration,
            ))
        })
        .collect();
    let mut outcome = Outcome {
        name: name.to_owned(),
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
        non_200: 0,
        io_errors: 0,
        cache: None,
    };
    for task in tasks {
        if let Ok((lat, non_200, io)) = task.await {
            outcome.latencies_us.extend(lat);
            outcome.non_200 += non_200;
            outcome.io_errors += io;
        } else {
            outcome.io_errors += 1;
        }
    }
    let measured_from = deadline
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .map(|end| end - duration)
        .unwrap_or(began);
    outcome.elapsed = measured_from.elapsed();
    outcome.latencies_us.sort_unstable();
    outcome
}

/// The gateway's cache counters.
#[derive(Clone, Copy, Default)]
struct CacheCounters {
    token_hits: u64,
    token_misses: u64,
    decision_hits: u64,
}

#[derive(Clone, Copy)]
struct CacheDelta {
    token_hits: u64,
    token_misses: u64,
    decision_hits: u64,
}

async fn cache_counters(client: &reqwest::Client, server: &Server) -> CacheCounters {
    let text = match client.get(server.url("/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let read = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    CacheCounters {
        token_hits: read("tessera_token_cache_hits_total "),
        token_misses: read("tessera_token_cache_misses_total "),
        decision_hits: read("tessera_decision_cache_hits_total "),
    }
}

fn delta(before: CacheCounters, after: CacheCounters) -> CacheDelta {
    CacheDelta {
        token_hits: after.token_hits.saturating_sub(before.token_hits),
        token_misses: after.token_misses.saturating_sub(before.token_misses),
        decision_hits: after.decision_hits.saturating_sub(before.decision_hits),
    }
}

/// Registers ws_1 ⊃ t_1 ⊃ v_1 and issues a guest token (read, export; one
/// day) through the admin API.
async fn seed(client: &reqwest::Client, server: &Server) -> String {
    let admin = server.admin_token();
    let r = client
        .put(server.url("/admin/v1/views/v_1"))
        .bearer_auth(&admin)
        .json(&json!({ "table": "t_1", "workspace": "ws_1" }))
        .send()
        .await
        .expect("put view");
    assert!(
        r.status().is_success(),
        "PUT view: {}",
        r.text().await.unwrap_or_default()
    );
    let r = client
        .post(server.url("/admin/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({
            "kind": "guest", "workspace": "ws_1", "view": "v_1",
            "allow": "read,export", "expires": "1d",
        }))
        .send()
        .await
        .expect("issue");
    assert_eq!(r.status(), 201, "POST tokens");
    let body: serde_json::Value = r.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

/// `count` distinct 1-block guest tokens signed with the data directory's
/// active root key, made on every core.
fn token_pool(data: &Path, count: usize) -> Vec<HeaderValue> {
    let ring = Arc::new(DataDir::new(data).read_keyring().expect("read keyring"));
    let now = Utc::now();
    let ops = Operation::parse_list("read,export").expect("ops");
    let grant = Arc::new(
        Grant::guest(
            Id::new("ws_1").expect("id"),
            Id::new("v_1").expect("id"),
            &ops,
        )
        .expires_at(Some(now + chrono::Duration::days(1))),
    );
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = count.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (ring, grant) = (ring.clone(), grant.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(1000 + t as u64);
                (0..per)
                    .map(|_| {
                        let issued =
                            token::issue_with_rng(&grant, &ring, now, &mut rng).expect("issue");
                        HeaderValue::from_str(&format!("Bearer {}", issued.token.expose()))
                            .expect("header value")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut pool: Vec<HeaderValue> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("token thread"))
        .collect();
    pool.truncate(count);
    pool
}

async fn check_allowed(client: &reqwest::Client, server: &Server, token: &str) {
    let r = client
        .get(server.url("/auth"))
        .header("x-original-method", "GET")
        .header("x-original-uri", PATH)
        .bearer_auth(token)
        .send()
        .await
        .expect("auth");
    assert_eq!(r.status(), 200, "forward-auth must allow the seeded token");
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn print_share_links(token: &str) {
    let now = Utc::now();
    let restriction = Restriction {
        operations: Some([Operation::Read].into()),
        expires_at: Some(now + chrono::Duration::hours(12)),
        ..Restriction::default()
    };
    let child = token::attenuate_with_rng(
        token,
        &restriction,
        now,
        DEFAULT_MAX_TOKEN_BYTES,
        &mut StdRng::seed_from_u64(5),
    )
    .expect("attenuate");
    let link = |t: &str| share_link(SHARE_BASE, t, DEFAULT_MAX_TOKEN_BYTES).expect("link");
    eprintln!(
        "share link (admin API guest token: 1 view, read+export, 1d): {} chars (target <= 400); after one attenuation: {} chars (target <= 700)",
        link(token).len(),
        link(child.expose()).len()
    );
}

fn print_table(outcomes: &[Outcome]) {
    eprintln!();
    eprintln!(
        "{:<44} {:>9} {:>11} {:>8} {:>8} {:>9} {:>8} {:>8}  token cache hit/miss, decision cache hits",
        "scenario", "requests", "req/s", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "errors"
    );
    for o in outcomes {
        let cache = o.cache.map_or(String::from("-"), |c| {
            format!("{}/{}, {}", c.token_hits, c.token_misses, c.decision_hits)
        });
        eprintln!(
            "{:<44} {:>9} {:>11.0} {:>8} {:>8} {:>9} {:>8} {:>8}  {}",
            o.name,
            o.latencies_us.len(),
            o.rps(),
            o.quantile(0.50),
            o.quantile(0.99),
            o.quantile(0.999),
            o.latencies_us.last().copied().unwrap_or(0),
            o.non_200 + o.io_errors,
            cache
        );
    }
}

/// The ratios the README quotes, each between scenarios of this run.
fn print_ratios(outcomes: &[Outcome]) {
    let find = |prefix: &str| outcomes.iter().find(|o| o.name.starts_with(prefix));
    let p99 = |o: &Outcome| f64::from(o.quantile(0.99).max(1));
    let Some(bare) = find("(a)") else { return };
    for o in outcomes.iter().filter(|o| o.name.contains("/auth")) {
        eprintln!(
            "{:<44} rps ratio vs (a) {:.2}, p99 ratio vs (a) {:.2}",
            o.name,
            o.rps() / bare.rps(),
            p99(o) / p99(bare),
        );
    }
    if let (Some(off), Some(warm)) = (find("(b')"), find("(b)")) {
        eprintln!(
            "decision cache off / on: rps ratio {:.3} ({:.0} vs {:.0} req/s)",
            off.rps() / warm.rps(),
            off.rps(),
            warm.rps()
        );
    }
    if let (Some(gw), Some(bare_proxy)) = (find("(e)"), find("(d)")) {
        eprintln!(
            "reverse proxy, gateway / bare axum proxy: rps ratio {:.2}, p99 ratio {:.2}",
            gw.rps() / bare_proxy.rps(),
            p99(gw) / p99(bare_proxy),
        );
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("load: not run (use `cargo bench --bench load`)");
        return;
    }
    let secs: u64 = env_or("TESSERA_LOAD_SECS", 10);
    let connections: usize = env_or("TESSERA_LOAD_CONNECTIONS", 64);
    // The gateway's own default: the access log on, one line per request.
    let log = std::env::var("TESSERA_LOAD_LOG").unwrap_or_else(|_| "info".to_owned());
    let duration = Duration::from_secs(secs.max(1));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    eprintln!(
        "load: {connections} connections, {}s per scenario, {cores} cores; generator, bare server and gateway share them",
        duration.as_secs()
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
    let bare = Bare::start(cores);
    // Proxy mode: one upstream (200 to everything) behind a bare axum
    // reverse proxy and behind the gateway's reverse proxy.
    let upstream = Bare::start(cores);
    let bare_proxy = Bare::proxy(cores, upstream.addr);
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
    let target = |addr, path, forward_auth, tokens| Target {
        addr,
        path,
        forward_auth,
        tokens,
        next: Arc::new(AtomicUsize::new(0)),
    };

    // Scenario letters to run (TESSERA_LOAD_ONLY), all by default; (a) and
    // the baselines always run.
    let only = std::env::var("TESSERA_LOAD_ONLY").ok();
    let wanted = |letter: &str| {
        only.as_deref()
            .is_none_or(|list| list.split(',').any(|l| l.trim() == letter))
    };
    let mut outcomes = Vec::new();
    outcomes.push(rt.block_on(drive(
        "(a) bare axum, 200 to everything",
        target(bare.addr, "/", false, Arc::new(Vec::new())),
        connections,
        duration,
    )));

    let run_gateway = |name: &str, server: &Server, t: Target| {
        rt.block_on(async {
            let before = cache_counters(&client, server).await;
            let mut o = drive(name, t, connections, duration).await;
            let after = cache_counters(&client, server).await;
            o.cache = Some(delta(before, after));
            o
        })
    };
    // (b) is the baseline of (b'); (d) of (e).
    if wanted("b") || wanted("b'") {
        outcomes.push(run_gateway(
            "(b) /auth warm (same token), defaults",
            &gateway,
            target(gateway.addr, "/auth", true, header(&warm_token)),
        ));
    }
    if let (true, Some(server), Some(token)) = (wanted("b'"), &no_decision_cache, &other_token) {
        outcomes.push(run_gateway(
            "(b') /auth warm, decision cache off",
            server,
            target(server.addr, "/auth", true, header(token)),
        ));
    }
    if wanted("b''") {
        outcomes.push(run_gateway(
            "(b'') Envoy /auth/<path> warm, defaults",
            &gateway,
            target(gateway.addr, ENVOY_PATH, false, header(&warm_token)),
        ));
    }
    if wanted("c") {
        let cold = run_gateway(
            "(c) /auth cold (fresh token each request)",
            &gateway,
            target(gateway.addr, "/auth", true, pool.clone()),
        );
        if cold.latencies_us.len() > pool.len() {
            eprintln!(
                "note: (c) sent {} requests with a pool of {}: tokens repeated (set TESSERA_LOAD_POOL higher)",
                cold.latencies_us.len(),
                pool.len()
            );
        }
        outcomes.push(cold);
    }
    if wanted("d") || wanted("e") {
        outcomes.push(rt.block_on(drive(
            "(d) bare axum reverse proxy -> upstream",
            target(bare_proxy.addr, PATH, false, Arc::new(Vec::new())),
            connections,
            duration,
        )));
    }
    if wanted("e") {
        outcomes.push(run_gateway(
            "(e) gateway reverse proxy -> upstream, warm",
            &proxy_gateway,
            target(proxy_gateway.addr, PATH, false, header(&proxy_token)),
        ));
    }

    print_table(&outcomes);
    print_ratios(&outcomes);

    drop(rt);
    drop(bare_proxy);
    drop(upstream);
    drop(proxy_gateway);
    drop(bare);
    drop(no_decision_cache);
    drop(gateway);
    eprintln!("load: all servers stopped");
}
