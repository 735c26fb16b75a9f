//! A real `tessera serve` process on an ephemeral loopback port, for tests
//! that go over HTTP. Dropping the handle kills the process.
#![allow(dead_code, unreachable_pub)]

pub mod upstream;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running gateway.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Its data directory.
    pub data: PathBuf,
    /// Everything it wrote to stderr so far (logs).
    pub stderr: Arc<Mutex<String>>,
    _dir: Option<tempfile::TempDir>,
}

/// The `tessera` binary under test.
pub fn tessera_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tessera"))
}

impl Server {
    /// Starts `tessera serve --listen 127.0.0.1:0` on a fresh data directory
    /// with extra `args`.
    pub fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        Server::start_in(&data, args, Some(dir))
    }

    /// Starts `tessera serve` on an existing (or new) data directory.
    pub fn start_in(data: &Path, args: &[&str], dir: Option<tempfile::TempDir>) -> Server {
        let mut child = Command::new(tessera_bin())
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(if args.contains(&"--log") {
                &[][..]
            } else {
                &["--log", "info"][..]
            })
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tessera serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let sink = stderr.clone();
            let pipe = child.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut s = sink.lock().expect("stderr lock");
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let base = loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "tessera serve exited with {status}: {}",
                    stderr.lock().expect("lock")
                );
            }
            assert!(Instant::now() < deadline, "tessera serve did not start");
        };
        Server {
            child,
            base,
            data: data.to_owned(),
            stderr,
            _dir: dir,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The bootstrap admin token written on first start.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data.join("admin.token"))
            .expect("admin.token")
            .trim()
            .to_owned()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait")
    }

    /// Sends SIGKILL and waits.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the server logged so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one series of the server's Prometheus text, e.g.
/// `tessera_decision_cache_hits_total`.
pub async fn metric(server: &Server, series: &str) -> u64 {
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics text");
    metric_in(&text, series)
}

/// The value of one series in a Prometheus text.
pub fn metric_in(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

/// A reqwest client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Asks forward-auth at `path` whether `token` may `GET
/// /api/v1/views/v_1/rows` (Traefik's headers): the status and JSON body.
pub async fn ask_forward_auth(
    c: &reqwest::Client,
    server: &Server,
    path: &str,
    token: &str,
) -> (u16, serde_json::Value) {
    let r = c
        .get(server.url(path))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", "/api/v1/views/v_1/rows")
        .bearer_auth(token)
        .send()
        .await
        .expect("forward-auth answers");
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// A guest token that may read v_1 (ws_1) for a day, as the admin API
/// answers its issue (`token`, `token_id`, …).
pub async fn issue_guest_reader(server: &Server) -> serde_json::Value {
    issue(
        server,
        serde_json::json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": "read", "expires": "1d" }),
    )
    .await
}

/// Registers ws_1/t_1/{v_1,v_2} and ws_2/t_2/v_3 through the admin API.
pub async fn seed_registry(server: &Server) {
    let admin = server.admin_token();
    let c = client();
    for (view, table, ws) in [
        ("v_1", "t_1", "ws_1"),
        ("v_2", "t_1", "ws_1"),
        ("v_3", "t_2", "ws_2"),
    ] {
        let r = c
            .put(server.url(&format!("/admin/v1/views/{view}")))
            .bearer_auth(&admin)
            .json(&serde_json::json!({ "table": table, "workspace": ws }))
            .send()
            .await
            .expect("put view");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
}

/// `method /admin/v1{path}` with `token` and a raw JSON `body` (none when
/// empty): the status and the JSON answer (`null` when it is not JSON).
pub async fn admin_call(
    s: &Server,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut r = client()
        .request(method, s.url(&format!("/admin/v1{path}")))
        .bearer_auth(token);
    if !body.is_empty() {
        r = r
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let r = r.send().await.expect("send");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// The `token_id`s of a view's links, as `GET /admin/v1/views/{view}/shares`
/// (or `…/embeds`) lists them.
pub fn link_ids(list: &serde_json::Value) -> Vec<serde_json::Value> {
    let rows = list["shares"].as_array().expect("a list of links");
    rows.iter().map(|r| r["token_id"].clone()).collect()
}

/// A member token for `user`, issued by the `admin` token.
pub async fn member_token(s: &Server, admin: &str, user: &str) -> String {
    let path = format!("/members/{user}/tokens");
    let (status, v) = admin_call(s, reqwest::Method::POST, admin, &path, "").await;
    assert_eq!(status, 201, "{v}");
    v["token"].as_str().expect("token").to_owned()
}

/// Issues a token through the admin API and returns the JSON answer.
pub async fn issue(server: &Server, body: serde_json::Value) -> serde_json::Value {
    let r = client()
        .post(server.url("/admin/v1/tokens"))
        .bearer_auth(server.admin_token())
        .json(&body)
        .send()
        .await
        .expect("issue");
    assert_eq!(r.status(), 201);
    r.json().await.expect("json")
}
