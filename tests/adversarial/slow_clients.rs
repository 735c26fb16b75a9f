//! Slow clients and the operational endpoints (finding 3 and its weaker
//! spots). Connections that send part of a request and stall are closed at
//! the header-read timeout, idle kept-alive connections at the idle timeout,
//! and the connection cap keeps the process's descriptors bounded, while
//! `/healthz` and real decisions keep answering. `/metrics` and `/readyz`
//! answer only `--ops-peer`s (or only on `--ops-listen`), and a client's
//! `X-Request-Id` is kept only from a trusted peer. Everything goes over
//! real loopback TCP to a real `tessera serve`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::{client, issue, metric_in, seed_registry, tessera_bin, Server};

/// Headroom for a loaded machine on every "within the timeout" bound.
const MARGIN: Duration = Duration::from_secs(4);

/// The authorizer budget for honest tokens on a loaded test machine.
const AUTHORIZER_MS: [&str; 2] = ["--max-authorizer-ms", "250"];

const HEADER_TIMEOUT_SERIES: &str = "tessera_connection_timeouts_total{timeout=\"header_read\"}";
const IDLE_TIMEOUT_SERIES: &str = "tessera_connection_timeouts_total{timeout=\"idle\"}";

// ------------------------------------------------------------------ helpers

fn start(args: &[&str]) -> Server {
    let mut all = AUTHORIZER_MS.to_vec();
    all.extend_from_slice(args);
    Server::start(&all)
}

fn socket_addr(s: &Server) -> SocketAddr {
    s.base
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .expect("base is http://ADDR")
}

/// A seeded server and a guest token reading v_1.
async fn with_guest(args: &[&str]) -> (Server, String) {
    let s = start(args);
    seed_registry(&s).await;
    let v = issue(
        &s,
        json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"] }),
    )
    .await;
    let token = v["token"].as_str().expect("token").to_owned();
    (s, token)
}

/// How many slow connections this test may open: `wanted`, or fewer when
/// this process's open-file limit is low (every test of the binary runs at
/// once and each also holds the server's pipes and its own clients).
fn bounded(wanted: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    wanted.min(soft / 8).max(8)
}

/// Opens a connection and sends `partial` (part of a request), then stalls.
async fn stall(addr: SocketAddr, partial: &str) -> (TcpStream, Instant) {
    let opened = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    if !partial.is_empty() {
        stream.write_all(partial.as_bytes()).await.expect("write");
    }
    (stream, opened)
}

/// Waits (at most `limit`) for the gateway to close `stream`; returns when
/// that happened, since `since`, and the bytes it sent before closing.
async fn closed_by_gateway(
    mut stream: TcpStream,
    since: Instant,
    limit: Duration,
) -> Result<(Duration, Vec<u8>), String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = since + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => {
                return Err(format!(
                    "still open {:?} after it was opened",
                    since.elapsed()
                ))
            }
            Ok(Ok(0)) | Ok(Err(_)) => return Ok((since.elapsed(), got)),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` body; returns the
/// status, the head, and the body.
async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + MARGIN;
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                let status = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("status");
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
                return (status, head, body);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(n > 0, "closed before a full response: {data:?}");
        data.extend_from_slice(&buf[..n]);
    }
}

/// The raw request of a forward-auth decision for v_1's rows.
fn auth_request(token: &str) -> String {
    format!(
        "GET /auth HTTP/1.1\r\nHost: gw\r\nX-Forwarded-Method: GET\r\n\
         X-Forwarded-Uri: /api/v1/views/v_1/rows\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
}

/// `/healthz` answers `ok` within `limit` (on a fresh connection).
async fn healthz_within(base: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    let r = tokio::time::timeout(limit, client().get(format!("{base}/healthz")).send())
        .await
        .unwrap_or_else(|_| panic!("/healthz took more than {limit:?}"))
        .expect("/healthz");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.expect("body"), "ok\n");
    start.elapsed()
}

/// A guest's forward-auth decision is an allow within `limit`.
async fn decision_within(s: &Server, token: &str, limit: Duration) {
    let request = client()
        .get(s.url("/auth"))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", "/api/v1/views/v_1/rows")
        .bearer_auth(token)
        .send();
    let r = tokio::time::timeout(limit, request)
        .await
        .unwrap_or_else(|_| panic!("the decision took more than {limit:?}"))
        .expect("/auth");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-tessera-kind"], "guest");
    assert_eq!(r.headers()["x-tessera-resource"], "view:v_1");
}

async fn metrics_text(base: &str) -> String {
    let r = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    r.text().await.expect("metrics text")
}

/// Open file descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .expect("/proc/PID/fd")
}

/// Asserts the refusal every unknown endpoint gets: 404 `not_found`.
async fn expect_not_found(r: reqwest::Response) {
    assert_eq!(r.status(), 404);
    let id = r.headers()["x-request-id"].to_str().expect("id").to_owned();
    let body: Value = r.json().await.expect("json error body");
    assert_eq!(body["error"], "not_found", "{body}");
    assert_eq!(body["request_id"], id.as_str());
}

// ------------------------------------------------------- header read timeout

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_requests_are_closed_at_the_header_timeout_while_health_and_decisions_answer() {
    let timeout = Duration::from_millis(1000);
    let (s, token) = with_guest(&["--header-read-timeout-ms", "1000"]).await;
    let addr = socket_addr(&s);
    let before = metric_in(&metrics_text(&s.base).await, HEADER_TIMEOUT_SERIES);
    // Nothing, half a request line, a request line and half the headers.
    let partials = [
        "",
        "GET /auth HT",
        "GET /auth HTTP/1.1\r\nHost: gw\r\nX-Forwarded-Uri: /api/v1/vi",
    ];
    let n = bounded(300);
    let mut slow = Vec::with_capacity(n);
    for i in 0..n {
        slow.push(stall(addr, partials[i % partials.len()]).await);
    }

    // During the attack, health and decisions answer promptly.
    for _ in 0..3 {
        healthz_within(&s.base, Duration::from_secs(2)).await;
        decision_within(&s, &token, Duration::from_secs(2)).await;
    }

    let closings: Vec<_> = slow
        .into_iter()
        .map(|(stream, opened)| tokio::spawn(closed_by_gateway(stream, opened, timeout + MARGIN)))
        .collect();
    for (i, closing) in closings.into_iter().enumerate() {
        let (after, sent) = closing
            .await
            .expect("join")
            .unwrap_or_else(|e| panic!("slow connection {i}: {e}"));
        assert!(
            after >= timeout - Duration::from_millis(50),
            "connection {i} closed after {after:?}, before the header timeout"
        );
        assert!(sent.is_empty(), "connection {i} got an answer: {sent:?}");
    }
    let after = metric_in(&metrics_text(&s.base).await, HEADER_TIMEOUT_SERIES);
    assert!(
        after >= before + n as u64,
        "{n} header timeouts expected, counted {}",
        after - before
    );
    decision_within(&s, &token, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_that_arrive_slowly_but_in_time_are_served() {
    // The headers take ~1.8 s, within the 4 s header timeout; bytes keep
    // moving every 300 ms, so the 1 s idle timeout never passes either.
    let (s, token) = with_guest(&[
        "--header-read-timeout-ms",
        "4000",
        "--idle-timeout-ms",
        "1000",
    ])
    .await;
    let request = auth_request(&token);
    let mut stream = TcpStream::connect(socket_addr(&s)).await.expect("connect");
    let started = Instant::now();
    let chunk = request.len().div_ceil(6);
    for piece in request.as_bytes().chunks(chunk) {
        stream.write_all(piece).await.expect("write");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (status, head, _) = read_response(&mut stream).await;
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(status, 200, "{head}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("x-tessera-kind: guest"), "{head}");
    assert!(head.contains("x-tessera-resource: view:v_1"), "{head}");
}

// -------------------------------------------------------------- idle timeout

/// Sends one request on a fresh connection, reads the answer, and returns
/// the still-open connection and when the answer was read.
async fn kept_alive(addr: SocketAddr) -> (TcpStream, Instant) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .expect("write");
    let (status, head, body) = read_response(&mut stream).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("connection: close"));
    (stream, Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(1000);
    let s = start(&[
        "--idle-timeout-ms",
        "1000",
        "--header-read-timeout-ms",
        "30000",
    ]);
    let before = metric_in(&metrics_text(&s.base).await, IDLE_TIMEOUT_SERIES);
    let (stream, answered) = kept_alive(socket_addr(&s)).await;
    let (after, sent) = closed_by_gateway(stream, answered, idle + MARGIN)
        .await
        .expect("the idle connection is closed");
    assert!(
        after >= idle - Duration::from_millis(50),
        "closed after {after:?}"
    );
    assert!(sent.is_empty());
    assert_eq!(
        metric_in(&metrics_text(&s.base).await, IDLE_TIMEOUT_SERIES),
        before + 1
    );

    // A connection that sends nothing at all is idle too.
    let (stream, opened) = stall(socket_addr(&s), "").await;
    let (after, _) = closed_by_gateway(stream, opened, idle + MARGIN)
        .await
        .expect("the silent connection is closed");
    assert!(after >= idle - Duration::from_millis(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_timeout_also_bounds_the_wait_for_the_next_request() {
    // hyper starts the header timer as soon as it waits for a request head,
    // so a kept-alive connection waits at most the header timeout for the
    // next request even when the idle timeout is much longer.
    let timeout = Duration::from_millis(1000);
    let s = start(&[
        "--header-read-timeout-ms",
        "1000",
        "--idle-timeout-ms",
        "60000",
    ]);
    let (stream, answered) = kept_alive(socket_addr(&s)).await;
    let (after, sent) = closed_by_gateway(stream, answered, timeout + MARGIN)
        .await
        .expect("the kept-alive connection is closed");
    assert!(
        after >= timeout - Duration::from_millis(50),
        "closed after {after:?}"
    );
    assert!(sent.is_empty());
}

// ------------------------------------------------------------ connection cap

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_bounds_descriptors_and_honest_clients_are_served_when_slots_free() {
    const CAP: usize = 32;
    let timeout = Duration::from_millis(1500);
    let mut s = start(&[
        "--max-connections",
        "32",
        "--header-read-timeout-ms",
        "1500",
    ]);
    let addr = socket_addr(&s);
    healthz_within(&s.base, MARGIN).await;
    let pid = s.pid();
    let baseline = open_fds(pid);

    // Three times the cap in slow connections: the kernel queues the ones
    // the gateway does not accept.
    let n = bounded(3 * CAP);
    let mut slow = Vec::with_capacity(n);
    for i in 0..n {
        slow.push(stall(addr, &format!("GET /slow-{i} HTTP/1.1\r\nHost: gw\r\n")).await);
    }
    // An honest request queued behind them is answered once the header
    // timeout has freed enough slots: within a few rounds of it.
    let base = s.base.clone();
    let rounds = n.div_ceil(CAP) as u32 + 1;
    let honest =
        tokio::spawn(async move { healthz_within(&base, timeout * rounds + MARGIN).await });

    let mut most = 0;
    let watch_until = Instant::now() + timeout * rounds;
    while Instant::now() < watch_until && !honest.is_finished() {
        most = most.max(open_fds(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        most <= baseline + CAP + 2,
        "{most} descriptors open, baseline {baseline}, cap {CAP}"
    );
    // Without the cap the gateway would have accepted them all.
    assert!(
        most >= baseline + CAP / 2,
        "the attack never reached the gateway"
    );
    let waited = honest.await.expect("the honest request was answered");
    assert!(waited >= timeout - Duration::from_millis(50), "{waited:?}");

    for (i, (stream, opened)) in slow.into_iter().enumerate() {
        closed_by_gateway(stream, opened, timeout * rounds + MARGIN)
            .await
            .unwrap_or_else(|e| panic!("slow connection {i}: {e}"));
    }
    healthz_within(&s.base, Duration::from_secs(2)).await;
    let text = metrics_text(&s.base).await;
    assert!(metric_in(&text, "tessera_connection_cap_waits_total") >= 1);
    assert!(metric_in(&text, "tessera_connections_open") <= CAP as u64);
    assert!(s.is_running());
    assert_eq!(s.terminate().code(), Some(0), "{}", s.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_is_lowered_to_fit_the_open_file_limit() {
    // Hard limit 256, 64 descriptors reserved: 192 connections fit.
    let s = Spawned::start(Some(256), &["--max-connections", "4096"]);
    healthz_within(&s.main, MARGIN).await;
    let logs = s.stderr.lock().expect("lock").clone();
    let warning = logs
        .lines()
        .find(|l| l.contains("max_connections lowered"))
        .unwrap_or_else(|| panic!("no warning in:\n{logs}"));
    assert!(warning.contains("max_connections=192"), "{warning}");
    assert!(warning.contains("open_file_limit=256"), "{warning}");
    // With room to spare, the soft limit is raised only as far as the cap needs.
    let s = Spawned::start(None, &["--max-connections", "100"]);
    healthz_within(&s.main, MARGIN).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", s.child.id())).expect("limits");
    let soft: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .expect("soft limit");
    assert!(soft >= 164, "{limits}");
}

// ------------------------------------------------------ operational endpoints

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_readyz_are_not_found_for_peers_outside_the_ops_allow_list() {
    let s = start(&["--ops-peer", "10.255.255.0/24"]);
    for path in ["/metrics", "/readyz"] {
        expect_not_found(client().get(s.url(path)).send().await.expect(path)).await;
    }
    // The same answer as an endpoint that does not exist.
    expect_not_found(
        client()
            .get(s.url("/no-such-endpoint"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    healthz_within(&s.base, MARGIN).await;

    // Loopback is the default allow-list.
    let s = start(&[]);
    assert!(metric_in(&metrics_text(&s.base).await, "tessera_connections_open") >= 1);
    let r = client().get(s.url("/readyz")).send().await.expect("readyz");
    assert_eq!(r.status(), 200);
}

/// A `tessera serve` started here rather than by `Server`, to read every
/// address it prints and to run it under a given open-file limit.
struct Spawned {
    child: Child,
    /// `http://ADDR` of the main listener.
    main: String,
    /// `http://ADDR` of the ops listener, when it has one.
    ops: Option<String>,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Spawned {
    /// Starts `tessera serve --listen 127.0.0.1:0 ARGS`, under `ulimit -n
    /// NOFILE` (soft and hard) when given.
    fn start(nofile: Option<u64>, args: &[&str]) -> Spawned {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = match nofile {
            Some(n) => {
                let mut c = Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                    .arg(tessera_bin());
                c
            }
            None => Command::new(tessera_bin()),
        };
        let mut child = command
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log", "info"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tessera serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().expect("lock");
                s.push_str(&line);
                s.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut main, mut ops) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while main.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no address printed: {}", stderr.lock().expect("lock")));
            if let Some(a) = line.strip_prefix("ops listening on ") {
                ops = Some(a.to_owned());
            } else if let Some(a) = line.strip_prefix("listening on ") {
                main = Some(a.to_owned());
            }
        }
        Spawned {
            child,
            main: main.expect("main address"),
            ops,
            stderr,
            _dir: dir,
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_ops_listener_the_operational_endpoints_answer_only_there() {
    let s = Spawned::start(None, &["--ops-listen", "127.0.0.1:0"]);
    let ops = s
        .ops
        .clone()
        .expect("the ops address is printed before the main one");
    assert_ne!(s.main, ops);
    healthz_within(&ops, MARGIN).await;
    let r = client()
        .get(format!("{ops}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 200);
    let ready: Value = r.json().await.expect("json");
    assert_eq!(ready["ready"], true);
    assert!(metrics_text(&ops)
        .await
        .contains("tessera_connections_open"));

    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = client()
            .get(format!("{}{path}", s.main))
            .send()
            .await
            .expect(path);
        expect_not_found(r).await;
    }
    // The main port still serves everything else.
    let r = client()
        .get(format!("{}/.well-known/biscuit-web-keys", s.main))
        .send()
        .await
        .expect("keys");
    assert_eq!(r.status(), 200);
    // And the ops port nothing else.
    let r = client()
        .get(format!("{ops}/.well-known/biscuit-web-keys"))
        .send()
        .await
        .expect("keys");
    expect_not_found(r).await;
}

// ------------------------------------------------------------- request ids

/// Sends `/healthz` with `X-Request-Id: sent`; returns the id answered.
async fn answered_request_id(s: &Server, sent: &str) -> String {
    let r = client()
        .get(s.url("/healthz"))
        .header("X-Request-Id", sent)
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    r.headers()["x-request-id"].to_str().expect("id").to_owned()
}

/// Waits (bounded) for the access-log line of request `id`.
async fn logged(s: &Server, id: &str) -> String {
    let deadline = Instant::now() + MARGIN;
    loop {
        let logs = s.logs();
        if let Some(line) = logs.lines().find(|l| l.contains(id)) {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "no log line for {id}:\n{logs}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_is_kept_only_from_a_trusted_peer() {
    let untrusted = start(&["--trusted-peer", "10.9.9.9/32"]);
    let id = answered_request_id(&untrusted, "spoofed-id-7f3a").await;
    assert_ne!(id, "spoofed-id-7f3a");
    let line = logged(&untrusted, &id).await;
    assert!(line.contains("/healthz"), "{line}");
    assert!(
        !untrusted.logs().contains("spoofed-id-7f3a"),
        "{}",
        untrusted.logs()
    );

    let trusted = start(&[]);
    let id = answered_request_id(&trusted, "proxy-id-7f3a").await;
    assert_eq!(id, "proxy-id-7f3a");
    let line = logged(&trusted, "request_id=proxy-id-7f3a").await;
    assert!(line.contains("/healthz"), "{line}");
}
