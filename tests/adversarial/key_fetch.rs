//! A `--public-keys` URL that stalls mid-body, answers too much, or recovers.
//!
//! The key server is a loopback HTTP server this module controls (its own
//! thread and runtime, so blocking test code cannot starve it): it answers
//! the whole key set, the same chunked, or the status, headers (with the
//! whole body's Content-Length) and half the body and then nothing. Every
//! test bounds the gateway in time: a hang is a failure, not a stuck run.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::{client, issue, seed_registry, tessera_bin, Server};

/// Where the key server answers.
const KEYS_PATH: &str = "/.well-known/biscuit-web-keys";

/// What a request that is not stuck must answer within (every key-fetch
/// deadline in these tests is longer).
const PROMPT: Duration = Duration::from_secs(1);

/// A route every token kind can be asked about.
const ROWS: &str = "/api/v1/views/v_1/rows";

// --------------------------------------------------------------- key server

/// How the key server answers.
#[derive(Clone)]
enum Answer {
    /// 200 with the body and its Content-Length.
    Whole(Vec<u8>),
    /// 200 with the body in chunks, no Content-Length.
    Chunked(Vec<u8>),
    /// 200 with the whole body's Content-Length, half the body, then
    /// nothing until the client goes away.
    StallMidBody(Vec<u8>),
}

/// The loopback key server.
struct KeyServer {
    addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<AtomicUsize>,
    stalled_now: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Counts a connection as stalled while it lives.
struct Stalled(Arc<AtomicUsize>);

impl Drop for Stalled {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl KeyServer {
    fn start(answer: Answer) -> KeyServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind key server");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let answer = Arc::new(Mutex::new(answer));
        let requests = Arc::new(AtomicUsize::new(0));
        let stalled_now = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (a, r, s) = (answer.clone(), requests.clone(), stalled_now.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("key server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::pin!(stopped);
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((conn, _)) = accepted else { continue };
                            let current = a.lock().expect("answer").clone();
                            tokio::spawn(answer_one(conn, current, r.clone(), s.clone()));
                        }
                    }
                }
            });
        });
        KeyServer {
            addr,
            answer,
            requests,
            stalled_now,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The URL to give `--public-keys`.
    fn url(&self) -> String {
        format!("http://{}{KEYS_PATH}", self.addr)
    }

    /// Answers every later request this way.
    fn set(&self, answer: Answer) {
        *self.answer.lock().expect("answer") = answer;
    }

    /// Requests read so far.
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Connections held in a stall right now.
    fn stalled_now(&self) -> usize {
        self.stalled_now.load(Ordering::SeqCst)
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request head (bounded in size and time) and answers it.
async fn answer_one(
    mut conn: tokio::net::TcpStream,
    answer: Answer,
    requests: Arc<AtomicUsize>,
    stalled_now: Arc<AtomicUsize>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read_head = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), read_head).await,
        Ok(true)
    ) {
        return;
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n";
    match answer {
        Answer::Whole(body) => {
            let head = format!("{ok}Content-Length: {}\r\n\r\n", body.len());
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(&body).await;
        }
        Answer::Chunked(body) => {
            let _ = conn
                .write_all(format!("{ok}Transfer-Encoding: chunked\r\n\r\n").as_bytes())
                .await;
            for chunk in body.chunks(1000) {
                let _ = conn
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await;
                let _ = conn.write_all(chunk).await;
                let _ = conn.write_all(b"\r\n").await;
            }
            let _ = conn.write_all(b"0\r\n\r\n").await;
        }
        Answer::StallMidBody(body) => {
            let head = format!("{ok}Content-Length: {}\r\n\r\n", body.len());
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(&body[..body.len() / 2]).await;
            let _ = conn.flush().await;
            stalled_now.fetch_add(1, Ordering::SeqCst);
            let _held = Stalled(stalled_now);
            // Hold the connection until the client gives up (bounded).
            let _ = tokio::time::timeout(Duration::from_secs(60), async {
                while !matches!(conn.read(&mut buf).await, Ok(0) | Err(_)) {}
            })
            .await;
        }
    }
    let _ = conn.shutdown().await;
}

// ------------------------------------------------------------------ helpers

/// Runs the CLI on `data`; asserts success and returns stdout.
fn tessera(data: &Path, args: &[&str]) -> String {
    let out = Command::new(tessera_bin())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run tessera");
    assert!(
        out.status.success(),
        "tessera {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A new issuer's public keyring (Biscuit Web Keys JSON); keep the
/// directory while it is used.
fn new_public_keyring() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    tessera(&data, &["init"]);
    let keys = tessera(&data, &["keys", "export-public"]);
    (dir, keys.trim().to_owned())
}

/// How a `tessera serve` that was expected to fail at start ended.
struct Exited {
    code: Option<i32>,
    stderr: String,
    after: Duration,
}

/// Starts `tessera serve` with `args` on a fresh data directory and waits
/// for it to exit; fails the test (and kills it) if it still runs after
/// `bound`.
fn serve_expecting_exit(args: &[&str], bound: Duration) -> Exited {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut child = Command::new(tessera_bin())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tessera serve");
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tessera serve {args:?} still running after {bound:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let after = started.elapsed();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    Exited {
        code: status.code(),
        stderr,
        after,
    }
}

/// Runs `f` and says how long it took.
async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

/// Forward-auth the Traefik/Caddy way, answered within `PROMPT`.
async fn fwd(s: &Server, token: &str) -> reqwest::Response {
    let (r, took) = timed(fwd_unbounded(s, token)).await;
    assert!(took < PROMPT, "a decision took {took:?}");
    r
}

async fn fwd_unbounded(s: &Server, token: &str) -> reqwest::Response {
    client()
        .get(s.url("/auth"))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", ROWS)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /auth")
}

/// Asserts an allowed read of view v_1.
fn expect_read_allowed(r: &reqwest::Response) {
    assert_eq!(r.status(), 200, "{:?}", r.headers());
    assert_eq!(r.headers()["x-tessera-operation"], "read");
    assert_eq!(r.headers()["x-tessera-resource"], "view:v_1");
}

/// Asserts a refusal with its exact status and reason code.
async fn expect_deny(r: reqwest::Response, status: u16, code: &str) {
    let got = r.status().as_u16();
    let body: Value = r.json().await.expect("json error body");
    assert_eq!(
        (got, body["error"].as_str()),
        (status, Some(code)),
        "{body}"
    );
}

/// `GET /readyz`, answered within `PROMPT`: status and body.
async fn readyz(s: &Server) -> (u16, Value) {
    let (r, took) = timed(client().get(s.url("/readyz")).send()).await;
    assert!(took < PROMPT, "/readyz took {took:?}");
    let r = r.expect("GET /readyz");
    let status = r.status().as_u16();
    (status, r.json().await.expect("readyz json"))
}

/// `GET /healthz` answers `ok` within `PROMPT`.
async fn expect_healthy(s: &Server) {
    let (r, took) = timed(client().get(s.url("/healthz")).send()).await;
    assert!(took < PROMPT, "/healthz took {took:?}");
    assert_eq!(r.expect("GET /healthz").status(), 200);
}

/// One sample from `/metrics`.
async fn metric(s: &Server, name: &str) -> Option<u64> {
    let text = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// The ledger row of `token_id`, through the admin API.
async fn ledger_row(s: &Server, token_id: &str) -> Value {
    let r = client()
        .get(s.url("/admin/v1/tokens"))
        .bearer_auth(s.admin_token())
        .send()
        .await
        .expect("GET /admin/v1/tokens");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    v["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|row| row["token_id"] == token_id)
        .cloned()
        .unwrap_or_else(|| panic!("{token_id} not in the ledger: {v}"))
}

/// Waits (polling, at most `bound`) until `done` holds; panics naming `what`.
async fn wait_for<F, Fut>(bound: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + bound;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// -------------------------------------------------------------------- tests

#[tokio::test]
async fn a_key_server_that_stalls_mid_body_fails_the_start_within_the_deadline() {
    let (_issuer, keys) = new_public_keyring();
    let key_server = KeyServer::start(Answer::StallMidBody(keys.into_bytes()));
    let url = key_server.url();
    let exited = serve_expecting_exit(
        &["--public-keys", &url, "--key-fetch-timeout-ms", "1000"],
        Duration::from_secs(20),
    );
    assert_eq!(exited.code, Some(2), "{}", exited.stderr);
    assert!(
        exited
            .stderr
            .contains(&format!("cannot load public keys from {url}: no complete answer within 1000 ms (key_fetch_timeout_ms)")),
        "{}",
        exited.stderr
    );
    assert_eq!(key_server.requests(), 1);
    // It gave up at the deadline, not on some earlier error.
    assert!(
        exited.after >= Duration::from_millis(1000) && exited.after < Duration::from_secs(6),
        "exited after {:?}",
        exited.after
    );
}

#[tokio::test]
async fn a_key_set_over_max_key_bytes_is_refused_at_start_and_one_at_the_limit_is_used() {
    let (_issuer, keys) = new_public_keyring();
    let body = keys.into_bytes();
    let at_limit = body.len().to_string();
    let past_limit = (body.len() - 1).to_string();
    let key_server = KeyServer::start(Answer::Whole(body.clone()));
    let url = key_server.url();
    let too_large = |limit: &str| {
        format!(
            "cannot load public keys from {url}: the answer is larger than {limit} bytes (max_key_bytes)"
        )
    };
    for answer in [Answer::Whole(body.clone()), Answer::Chunked(body.clone())] {
        key_server.set(answer);
        // Exactly at the limit: the gateway starts with the key.
        let s = Server::start(&["--public-keys", &url, "--max-key-bytes", &at_limit]);
        let (status, v) = readyz(&s).await;
        assert_eq!((status, &v["keys"]), (200, &json!(1)), "{v}");
        drop(s);
        // One byte past it (declared in Content-Length, or only counted while
        // reading the chunks): refused at start, naming the limit.
        let exited = serve_expecting_exit(
            &["--public-keys", &url, "--max-key-bytes", &past_limit],
            Duration::from_secs(20),
        );
        assert_eq!(exited.code, Some(2), "{}", exited.stderr);
        assert!(
            exited.stderr.contains(&too_large(&past_limit)),
            "{}",
            exited.stderr
        );
    }
    // The default limit is 1 MiB: valid JSON padded one byte past it.
    let mut padded = body;
    padded.resize((1 << 20) + 1, b' ');
    key_server.set(Answer::Chunked(padded));
    let exited = serve_expecting_exit(&["--public-keys", &url], Duration::from_secs(20));
    assert_eq!(exited.code, Some(2), "{}", exited.stderr);
    assert!(
        exited.stderr.contains(&too_large("1048576")),
        "{}",
        exited.stderr
    );
}

#[tokio::test]
async fn a_key_server_stalling_at_run_time_makes_the_gateway_unready_not_stuck_and_recovery_drops_a_retired_key(
) {
    // The issuer: the registry, a guest token under its first key, and that
    // keyring as the key server will first serve it.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut issuer = Server::start_in(&data, &[], None);
    seed_registry(&issuer).await;
    let t1 = issue(
        &issuer,
        json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"] }),
    )
    .await;
    let (t1, t1_id) = (
        t1["token"].as_str().expect("token"),
        t1["token_id"].as_str().expect("id"),
    );
    let k1 = client()
        .get(issuer.url(KEYS_PATH))
        .send()
        .await
        .expect("keys")
        .text()
        .await
        .expect("keys text");
    let k1_id = serde_json::from_str::<Value>(&k1).expect("bwk json")[0]["key_id"].to_string();
    assert_eq!(issuer.terminate().code(), Some(0));
    // Then the issuer rotates and retires that key: the new keyring holds
    // only the new key, which signs a second token.
    tessera(&data, &["keys", "rotate"]);
    tessera(&data, &["keys", "retire", &k1_id]);
    let k2 = tessera(&data, &["keys", "export-public"]);
    let t2: Value = serde_json::from_str(&tessera(
        &data,
        &[
            "issue",
            "guest",
            "--workspace",
            "ws_1",
            "--view",
            "v_1",
            "--allow",
            "read",
            "--json",
        ],
    ))
    .expect("issue json");
    let t2 = t2["token"].as_str().expect("token");

    // A verify-only gateway on the issuer's store (so it has the registry
    // and the ledger rows its last-used writer updates), keys from the URL.
    let key_server = KeyServer::start(Answer::Whole(k1.into_bytes()));
    let v = Server::start_in(
        &data,
        &[
            "--public-keys",
            &key_server.url(),
            "--key-refresh-secs",
            "1",
            "--max-key-staleness-secs",
            "3",
            "--key-fetch-timeout-ms",
            "6000",
            "--last-used-flush-secs",
            "1",
            "--key-refresh-min-secs",
            "600",
            "--max-authorizer-ms",
            "250",
        ],
        None,
    );
    let (status, ready) = readyz(&v).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(
        (
            &ready["ready"],
            &ready["keys"],
            &ready["keys_stale"],
            &ready["key_refresh_failures"]
        ),
        (&json!(true), &json!(1), &json!(false), &json!(0)),
        "{ready}"
    );
    assert!(ledger_row(&v, t1_id).await["last_used_at"].is_null());

    // The key server now sends headers and half a body, then stalls.
    key_server.set(Answer::StallMidBody(b"[{\"stalled\": true}]".to_vec()));
    wait_for(
        Duration::from_secs(5),
        "a refresh stuck in the stall",
        || async { key_server.stalled_now() > 0 },
    )
    .await;
    let stuck_requests = key_server.requests();

    // While that refresh is stuck, decisions and /healthz answer at once and
    // the last-used writer still reaches the ledger.
    expect_read_allowed(&fwd(&v, t1).await);
    expect_healthy(&v).await;
    wait_for(
        Duration::from_secs(4),
        "T1's last use in the ledger",
        || async { !ledger_row(&v, t1_id).await["last_used_at"].is_null() },
    )
    .await;
    assert!(
        key_server.stalled_now() > 0 && key_server.requests() == stuck_requests,
        "the last use was written while the one key refresh was still stuck"
    );

    // Past the staleness bound /readyz says so, while the gateway keeps
    // verifying with the last good keys.
    wait_for(Duration::from_secs(8), "/readyz 503 keys_stale", || async {
        expect_healthy(&v).await;
        readyz(&v).await.0 == 503
    })
    .await;
    let (_, stale) = readyz(&v).await;
    assert_eq!(
        (&stale["ready"], &stale["keys_stale"], &stale["keys"]),
        (&json!(false), &json!(true), &json!(1)),
        "{stale}"
    );
    assert!(
        stale["keys_age_seconds"].as_u64().expect("age") >= 3,
        "{stale}"
    );
    assert!(
        stale["uptime_seconds"].is_u64() && stale["views"].is_u64(),
        "{stale}"
    );
    expect_read_allowed(&fwd(&v, t1).await);

    // The stuck fetch ends at its deadline and counts as a failed refresh.
    wait_for(
        Duration::from_secs(12),
        "a failed refresh counted",
        || async { metric(&v, "tessera_key_refresh_failures_total").await >= Some(1) },
    )
    .await;
    assert_eq!(metric(&v, "tessera_keys_stale").await, Some(1));
    assert!(metric(&v, "tessera_keys_age_seconds").await >= Some(3));
    assert!(
        v.logs().contains(&format!(
            "cannot load public keys from {}: no complete answer within 6000 ms",
            key_server.url()
        )),
        "{}",
        v.logs()
    );
    expect_healthy(&v).await;

    // The key server recovers with the rotated keyring: ready again, the
    // retired key verifies nothing, the new one does.
    key_server.set(Answer::Whole(k2.into_bytes()));
    wait_for(Duration::from_secs(15), "/readyz 200 again", || async {
        readyz(&v).await.0 == 200
    })
    .await;
    let (_, fresh) = readyz(&v).await;
    assert_eq!(
        (&fresh["ready"], &fresh["keys_stale"], &fresh["keys"]),
        (&json!(true), &json!(false), &json!(1)),
        "{fresh}"
    );
    assert!(fresh["key_refresh_failures"].as_u64() >= Some(1), "{fresh}");
    assert_eq!(metric(&v, "tessera_keys_stale").await, Some(0));
    expect_deny(fwd(&v, t1).await, 401, "unknown_key").await;
    expect_read_allowed(&fwd(&v, t2).await);
}

#[tokio::test]
async fn an_unknown_key_id_during_a_stall_is_answered_within_the_deadline() {
    let (_issuer, keys) = new_public_keyring();
    // A token from another issuer: its key id is not in the served keyring.
    let other = Server::start(&[]);
    seed_registry(&other).await;
    let foreign = issue(
        &other,
        json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"] }),
    )
    .await;
    let foreign = foreign["token"].as_str().expect("token");
    let key_server = KeyServer::start(Answer::Whole(keys.clone().into_bytes()));
    // Only unknown key ids refresh here, each one (no rate limit).
    let v = Server::start(&[
        "--public-keys",
        &key_server.url(),
        "--key-refresh-secs",
        "3600",
        "--key-refresh-min-secs",
        "0",
        "--key-fetch-timeout-ms",
        "1500",
    ]);
    key_server.set(Answer::StallMidBody(keys.into_bytes()));
    let before = key_server.requests();

    // Two such requests at once, and a health check while they wait.
    let ((first, first_took), (second, second_took), ()) = tokio::join!(
        timed(fwd_unbounded(&v, foreign)),
        timed(fwd_unbounded(&v, foreign)),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            expect_healthy(&v).await;
        }
    );
    expect_deny(first, 401, "unknown_key").await;
    expect_deny(second, 401, "unknown_key").await;
    for took in [first_took, second_took] {
        // They waited for the refresh on the stalled server, and no longer
        // than its deadline.
        assert!(
            took >= Duration::from_millis(1200)
                && took < Duration::from_millis(1500) + Duration::from_secs(3),
            "answered after {took:?}"
        );
    }
    assert_eq!(
        key_server.requests(),
        before + 1,
        "the two refreshes shared one fetch"
    );
    assert_eq!(
        metric(&v, "tessera_key_refresh_failures_total").await,
        Some(1)
    );
}
