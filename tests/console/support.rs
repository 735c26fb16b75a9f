//! What the console tests share: a seeded `tessera serve`, a console
//! session over plain HTTP (CSRF token and cookies read from the pages),
//! the upstream the share links land on, a second loopback origin that
//! records what reaches it, and chromedriver with headless Chromium.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::server::{client, seed_registry, tessera_bin, Server};

/// A gateway with ws_1/t_1/{v_1,v_2} and ws_2/t_2/v_3, with `args`.
pub async fn seeded(args: &[&str]) -> Server {
    let s = Server::start(args);
    seed_registry(&s).await;
    s
}

/// The `csrf` field's value in a console page.
pub fn csrf_field(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field in {page}"));
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end of csrf value")].to_owned()
}

/// The `name=value` of the `Set-Cookie` header naming `name`, with the
/// whole header.
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let pair = v.split(';').next().unwrap_or_default().to_owned();
            (pair, v.to_owned())
        })
}

/// A console browser over plain HTTP: its cookies and current CSRF token.
pub struct Http {
    /// `tessera_console_csrf=…`
    pub csrf_cookie: String,
    /// The forms' token.
    pub csrf: String,
    /// `tessera_console=…`, once signed in.
    pub session: Option<String>,
}

impl Http {
    /// Opens `/console` (the sign-in page): the CSRF cookie and token.
    pub async fn open(s: &Server) -> Http {
        let r = client().get(s.url("/console")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (csrf_cookie, _) = set_cookie(&r, "tessera_console_csrf").expect("csrf cookie");
        let page = r.text().await.unwrap();
        Http {
            csrf_cookie,
            csrf: csrf_field(&page),
            session: None,
        }
    }

    /// The `Cookie` header this browser sends under `/console`.
    pub fn cookies(&self) -> String {
        match &self.session {
            Some(s) => format!("{}; {s}", self.csrf_cookie),
            None => self.csrf_cookie.clone(),
        }
    }

    /// Posts `form` to `path` with this browser's cookies.
    pub async fn post(&self, s: &Server, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        client()
            .post(s.url(path))
            .header("cookie", self.cookies())
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Gets `path` with this browser's cookies.
    pub async fn get(&self, s: &Server, path: &str) -> reqwest::Response {
        client()
            .get(s.url(path))
            .header("cookie", self.cookies())
            .send()
            .await
            .unwrap()
    }

    /// Posts `fields` to `path` as a console form: this browser's CSRF
    /// token first, then `fields`.
    pub async fn submit(
        &self,
        s: &Server,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(s, path, &form).await
    }

    /// The setting toggle of `view`: `setting` turned `value` (`true`/`false`).
    pub async fn toggle(
        &self,
        s: &Server,
        view: &str,
        setting: &str,
        value: &str,
    ) -> reqwest::Response {
        let path = format!("/console/views/{view}/settings");
        self.submit(s, &path, &[("setting", setting), ("value", value)])
            .await
    }

    /// The share form of `view` posted with `fields` (preset, label, …).
    pub async fn share(
        &self,
        s: &Server,
        view: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.submit(s, &format!("/console/views/{view}/shares"), fields)
            .await
    }

    /// The revocation form of share `token_id`, returning to `back`
    /// (`view:{id}` or `workspace:{id}`).
    pub async fn revoke(&self, s: &Server, token_id: &str, back: &str) -> reqwest::Response {
        let path = format!("/console/shares/{token_id}/revoke");
        self.submit(s, &path, &[("back", back)]).await
    }

    /// The text of the page at `path`.
    pub async fn page(&self, s: &Server, path: &str) -> String {
        self.get(s, path).await.text().await.unwrap()
    }

    /// Signs in with `token`; the answer to the sign-in post.
    pub async fn sign_in(&mut self, s: &Server, token: &str) -> reqwest::Response {
        let csrf = self.csrf.clone();
        let r = self
            .post(s, "/console/sign-in", &[("csrf", &csrf), ("token", token)])
            .await;
        if let Some((pair, _)) = set_cookie(&r, "tessera_console") {
            self.session = Some(pair);
        }
        r
    }
}

/// Signing in with `token` is refused with `code`, and no session cookie.
pub async fn refused_sign_in(s: &Server, h: &mut Http, token: &str, code: &str) {
    let r = h.sign_in(s, token).await;
    assert_eq!(r.status(), 401, "{code}");
    assert!(set_cookie(&r, "tessera_console").is_none());
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!("<code id=\"reason\">{code}</code>")),
        "{page}"
    );
}

/// A signed-in console browser over plain HTTP.
pub async fn signed_in(s: &Server, token: &str) -> Http {
    let mut h = Http::open(s).await;
    let r = h.sign_in(s, token).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    h
}

/// `tessera attenuate TOKEN ARGS…` (offline): the weaker copy and the
/// revocation id of the block it appended.
pub fn attenuate(token: &str, args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(tessera_bin())
        .arg("attenuate")
        .arg(token)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = std::process::Command::new(tessera_bin())
        .args(["inspect", "--json", &copy])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = v["revocation_ids"].as_array().expect("revocation_ids");
    let last = ids.last().and_then(Value::as_str).unwrap().to_owned();
    (copy, last)
}

/// `GET /admin/v1{path}` with the admin token: 200, its JSON.
pub async fn admin_get(s: &Server, path: &str) -> Value {
    let r = client()
        .get(s.url(&format!("/admin/v1{path}")))
        .bearer_auth(s.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// `PUT /admin/v1{path}` with the admin token and `body`: 200.
pub async fn admin_put(s: &Server, path: &str, body: Value) {
    let r = client()
        .put(s.url(&format!("/admin/v1{path}")))
        .bearer_auth(s.admin_token())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

/// A new member token of `user` (admin token).
pub async fn member_token(s: &Server, user: &str) -> String {
    let r = client()
        .post(s.url(&format!("/admin/v1/members/{user}/tokens")))
        .bearer_auth(s.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_owned()
}

/// Registers each `(user, role)` and makes it a member of `ws` in that role.
pub async fn add_members(s: &Server, ws: &str, members: &[(&str, &str)]) {
    for (user, role) in members {
        admin_put(
            s,
            &format!("/users/{user}"),
            json!({ "email": format!("{user}@example.com"), "name": user }),
        )
        .await;
        admin_put(
            s,
            &format!("/workspaces/{ws}/members/{user}"),
            json!({ "role": role }),
        )
        .await;
    }
}

/// A loopback HTTP server answering every request with `page(path)` and
/// recording each request's path and headers.
pub struct Origin {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// `(path, lower-cased header lines)` of every request so far.
    pub seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Origin {
    /// Starts the server on the current runtime.
    pub async fn start(page: impl Fn(&str) -> String + Send + Sync + 'static) -> Origin {
        let page = Arc::new(page);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let log = log.clone();
                let page = page.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
                        match tokio::time::timeout(Duration::from_secs(5), conn.read(&mut chunk))
                            .await
                        {
                            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    log.lock()
                        .unwrap()
                        .push((path.clone(), head.to_ascii_lowercase()));
                    let body = page(&path);
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(answer.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Origin { url, seen }
    }

    /// The recorded requests whose path starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<(String, String)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// A program on PATH, or a failure naming the script that installs it.
fn program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: the console tests need Debian's chromium and \
                 chromium-driver (`bash .ci/apt-install chromedriver chromium chromium-driver`, \
                 as .ci/test does)"
            )
        })
}

/// chromedriver on a loopback port; killed on drop.
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    profiles: tempfile::TempDir,
}

impl Driver {
    /// Starts chromedriver and waits (at most 20 s) until it is ready.
    pub async fn start() -> Driver {
        let chromedriver = program("chromedriver");
        program("chromium");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = reqwest::get(format!("{url}/status"))
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver {
            child,
            url,
            profiles: tempfile::tempdir().unwrap(),
        }
    }

    /// A new headless Chromium with a fresh profile (its own cookies): a
    /// fresh browser context.
    pub async fn browser(&self, name: &str) -> fantoccini::Client {
        let profile = self.profiles.path().join(name);
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,1000".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": program("chromium"), "args": args }),
        );
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
