//! Tessera behind a real nginx: `auth_request` in front of a small upstream,
//! configured with `tests/nginx/tessera.conf` (the snippet the README shows),
//! driven by a real HTTP client. Allowed, 401 and 403 paths go through nginx
//! exactly as a deployment would, and the upstream's hit counter proves that
//! denied requests never reach it.
//!
//! nginx must be installed (`bash .ci/test` installs Debian's package); when
//! it is missing this test fails, it never skips.

mod server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::Json;
use serde_json::{json, Value};
use server::{client, issue, seed_registry, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The snippet users copy, with `@LISTEN@`, `@TESSERA@` and `@UPSTREAM@`.
const SNIPPET: &str = include_str!("nginx/tessera.conf");

/// The headers Tessera sets for the upstream.
const TESSERA_HEADERS: [&str; 6] = [
    "x-tessera-token-id",
    "x-tessera-kind",
    "x-tessera-workspace",
    "x-tessera-operation",
    "x-tessera-resource",
    "x-tessera-user",
];

// ---------------------------------------------------------------- upstream

/// What the upstream application saw.
#[derive(Clone, Default)]
struct Upstream {
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl Upstream {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn seen(&self) -> Vec<Value> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Starts the application: every request answers 200 with a JSON echo of
/// its method, raw path, X-Tessera-* headers, credential headers and body.
async fn start_upstream() -> (SocketAddr, Upstream) {
    let state = Upstream::default();
    let app = axum::Router::new()
        .fallback(
            |axum::extract::State(up): axum::extract::State<Upstream>,
             method: Method,
             uri: Uri,
             headers: HeaderMap,
             body: Bytes| async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                };
                let tessera: serde_json::Map<String, Value> = TESSERA_HEADERS
                    .iter()
                    .filter_map(|name| header(name).map(|v| ((*name).to_owned(), json!(v))))
                    .collect();
                let echo = json!({
                    "method": method.as_str(),
                    "path": uri.path_and_query().map_or("/", |pq| pq.as_str()),
                    "tessera": tessera,
                    "authorization": header("authorization"),
                    "cookie": header("cookie"),
                    "request_id": header("x-request-id"),
                    "body": String::from_utf8_lossy(&body),
                });
                up.hits.fetch_add(1, Ordering::SeqCst);
                up.seen.lock().expect("lock").push(echo.clone());
                Json(echo)
            },
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("upstream addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("upstream serve");
    });
    (addr, state)
}

// ------------------------------------------------------------------- nginx

/// The nginx binary: on PATH, else where Debian and source builds put it.
/// Missing nginx is a failure, never a skip.
fn nginx_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("nginx"));
    let known = [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ]
    .into_iter()
    .map(PathBuf::from);
    let Some(bin) = on_path.chain(known).find(|p| p.is_file()) else {
        panic!(
            "nginx is not installed, so the nginx forward-auth test cannot run. \
             Run `bash .ci/test` (it installs Debian's nginx package first), \
             or install nginx with the auth_request module yourself."
        );
    };
    let version = Command::new(&bin)
        .arg("-V")
        .output()
        .unwrap_or_else(|e| panic!("{} -V: {e}", bin.display()));
    let text = String::from_utf8_lossy(&version.stderr);
    assert!(
        text.contains("--with-http_auth_request_module"),
        "{} lacks the auth_request module (install Debian's nginx package with \
         `bash .ci/test`):\n{text}",
        bin.display()
    );
    bin
}

/// A free loopback port (bound, read and released; nginx binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The snippet with its placeholders filled in.
fn fill_snippet(listen: &str, tessera: &str, upstream: &str) -> String {
    for placeholder in ["@LISTEN@", "@TESSERA@", "@UPSTREAM@"] {
        assert!(SNIPPET.contains(placeholder), "snippet lacks {placeholder}");
    }
    SNIPPET
        .replace("@LISTEN@", listen)
        .replace("@TESSERA@", tessera)
        .replace("@UPSTREAM@", upstream)
}

/// A running nginx in its own prefix directory; dropping it stops nginx.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Writes a complete nginx.conf around the snippet and starts nginx in
    /// the foreground; waits until it accepts connections.
    fn start(tessera: &str, upstream: &str) -> Nginx {
        Nginx::start_server(|listen| fill_snippet(listen, tessera, upstream))
    }

    /// Starts nginx with the server block `server(listen address)`.
    fn start_server(server: impl Fn(&str) -> String) -> Nginx {
        let bin = nginx_bin();
        let mut last_error = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            // nginx's workers run as `nobody` when started as root: let them
            // reach the temp paths inside.
            std::fs::set_permissions(
                dir.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .expect("chmod");
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
            let p = dir.path().display();
            let conf = format!(
                "daemon off;\n\
                 worker_processes 1;\n\
                 pid {p}/nginx.pid;\n\
                 error_log {p}/error.log info;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n\
                 access_log {p}/access.log;\n\
                 client_body_temp_path {p}/client_body;\n\
                 proxy_temp_path {p}/proxy;\n\
                 fastcgi_temp_path {p}/fastcgi;\n\
                 uwsgi_temp_path {p}/uwsgi;\n\
                 scgi_temp_path {p}/scgi;\n\
                 {snippet}\n\
                 }}\n",
                snippet = server(&addr.to_string()),
            );
            let conf_path = dir.path().join("nginx.conf");
            std::fs::write(&conf_path, conf).expect("write nginx.conf");
            let child = Command::new(&bin)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
            let mut nginx = Nginx { child, addr, dir };
            match nginx.wait_ready() {
                Ok(()) => return nginx,
                Err(e) => last_error = e,
            }
            // Another process took the port between our probe and nginx's
            // bind: try another one.
            if !last_error.contains("Address already in use") {
                break;
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("nginx exited with {status}:\n{}", self.error_log()));
            }
            if Instant::now() > deadline {
                return Err(format!("nginx did not listen:\n{}", self.error_log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn error_log(&self) -> String {
        read_or_empty(&self.dir.path().join("error.log"))
    }

    fn access_log(&self) -> String {
        read_or_empty(&self.dir.path().join("access.log"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; SIGKILL if it lingers.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
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

fn read_or_empty(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// One request written byte for byte (no client-side path normalisation);
/// returns the status code and the whole response text.
async fn raw_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect nginx");
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read response");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

// ------------------------------------------------------------------- tests

/// Issues a guest token for one view; returns (token, token id).
async fn guest(gw: &Server, view: &str, allow: &[&str]) -> (String, String) {
    let ws = if view == "v_3" { "ws_2" } else { "ws_1" };
    let answer = issue(
        gw,
        json!({ "kind": "guest", "workspace": ws, "view": view, "allow": allow }),
    )
    .await;
    (
        answer["token"].as_str().expect("token").to_owned(),
        answer["token_id"].as_str().expect("token_id").to_owned(),
    )
}

/// Checks a denial as the client sees it: status, JSON body, and (for 401)
/// the WWW-Authenticate challenge Tessera sent.
async fn assert_denied(response: reqwest::Response, status: u16, what: &str) {
    assert_eq!(response.status().as_u16(), status, "{what}");
    let headers = response.headers().clone();
    assert_eq!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        "application/json",
        "{what}"
    );
    if status == 401 {
        assert_eq!(
            headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer error=\"invalid_token\""),
            "{what}: the 401 challenge reaches the client"
        );
    } else {
        assert!(headers.get("www-authenticate").is_none(), "{what}");
    }
    for name in TESSERA_HEADERS {
        assert!(
            headers.get(name).is_none(),
            "{what}: {name} leaked to the client"
        );
    }
    let body: Value = response.json().await.expect("JSON error body");
    let expected = if status == 401 {
        "unauthorized"
    } else {
        "forbidden"
    };
    assert_eq!(body["error"], expected, "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_in_front_of_an_upstream() {
    let started = Instant::now();
    let gw = Server::start(&[]);
    seed_registry(&gw).await;
    let (up_addr, upstream) = start_upstream().await;
    let tessera = gw.base.trim_start_matches("http://").to_owned();
    let nginx = Nginx::start(&tessera, &up_addr.to_string());
    let http = client();
    let (reader, reader_id) = guest(&gw, "v_1", &["read"]).await;
    let (editor, editor_id) = guest(&gw, "v_2", &["read", "write"]).await;
    let bearer = |t: &str| format!("Bearer {t}");

    // Allowed: the upstream answers, with the identity Tessera decided on
    // and not the copies the client tried to slip in.
    let r = http
        .get(nginx.url("/api/v1/views/v_1/rows?limit=5"))
        .header("authorization", bearer(&reader))
        .header("x-tessera-kind", "admin")
        .header("x-tessera-user", "mallory")
        .header("cookie", "theme=dark")
        .send()
        .await
        .expect("allowed");
    assert_eq!(r.status(), 200);
    let echo: Value = r.json().await.expect("echo");
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/api/v1/views/v_1/rows?limit=5");
    assert_eq!(
        echo["tessera"],
        json!({
            "x-tessera-token-id": reader_id,
            "x-tessera-kind": "guest",
            "x-tessera-workspace": "ws_1",
            "x-tessera-operation": "read",
            "x-tessera-resource": "view:v_1",
        })
    );
    assert_eq!(
        echo["authorization"],
        Value::Null,
        "the bearer token stays at nginx"
    );
    assert_eq!(echo["cookie"], "theme=dark", "other cookies pass");
    assert_eq!(
        echo["request_id"].as_str().map(str::len),
        Some(32),
        "nginx's $request_id"
    );
    assert_eq!(upstream.hits(), 1);

    // Exactly the headers the gateway's /auth answers for the same request.
    let direct = http
        .get(gw.url("/auth"))
        .header("x-original-method", "GET")
        .header("x-original-uri", "/api/v1/views/v_1/rows?limit=5")
        .header("authorization", bearer(&reader))
        .send()
        .await
        .expect("direct /auth");
    assert_eq!(direct.status(), 200);
    for name in TESSERA_HEADERS {
        assert_eq!(
            direct.headers().get(name).and_then(|v| v.to_str().ok()),
            echo["tessera"][name].as_str(),
            "{name}: nginx passed on what the gateway set"
        );
    }

    // A write that the token allows: method and body reach the upstream,
    // the auth subrequest carried neither body nor length.
    let r = http
        .patch(nginx.url("/api/v1/views/v_2/rows"))
        .header("authorization", bearer(&editor))
        .json(&json!({ "rows": [{ "id": "r_1", "name": "x" }] }))
        .send()
        .await
        .expect("write");
    assert_eq!(r.status(), 200);
    let echo: Value = r.json().await.expect("echo");
    assert_eq!(echo["method"], "PATCH");
    assert_eq!(echo["tessera"]["x-tessera-operation"], "write");
    assert_eq!(echo["tessera"]["x-tessera-resource"], "view:v_2");
    assert_eq!(echo["tessera"]["x-tessera-token-id"], editor_id.as_str());
    assert_eq!(echo["body"], r#"{"rows":[{"id":"r_1","name":"x"}]}"#);
    assert_eq!(upstream.hits(), 2);

    // No token: 401 with Tessera's challenge.
    let r = http
        .get(nginx.url("/api/v1/views/v_1/rows"))
        .send()
        .await
        .expect("missing");
    assert_denied(r, 401, "missing token").await;

    // Garbage token: 401.
    let r = http
        .get(nginx.url("/api/v1/views/v_1/rows"))
        .header("authorization", "Bearer tsr_not-a-token")
        .send()
        .await
        .expect("garbage");
    assert_denied(r, 401, "malformed token").await;

    // A write with a read-only guest token: 403.
    for method in [Method::PATCH, Method::POST, Method::DELETE] {
        let r = http
            .request(method.clone(), nginx.url("/api/v1/views/v_1/rows"))
            .header("authorization", bearer(&reader))
            .body("{}")
            .send()
            .await
            .expect("write with reader");
        assert_denied(r, 403, &format!("{method} with a read-only token")).await;
    }

    // Export is not read: 403.
    let r = http
        .get(nginx.url("/api/v1/views/v_1/export"))
        .header("authorization", bearer(&reader))
        .send()
        .await
        .expect("export");
    assert_denied(r, 403, "export with a read-only token").await;

    // A view the token does not cover: 403 (same workspace, other view, and
    // a view in another workspace).
    for path in [
        "/api/v1/views/v_2/rows",
        "/api/v1/views/v_3/rows",
        "/views/v_2",
    ] {
        let r = http
            .get(nginx.url(path))
            .header("authorization", bearer(&reader))
            .send()
            .await
            .expect("other view");
        assert_denied(r, 403, &format!("{path} with a v_1 token")).await;
    }

    // A client's own X-Forwarded-Method/-Uri must not steer the decision.
    let r = http
        .delete(nginx.url("/api/v1/views/v_1/rows"))
        .header("authorization", bearer(&reader))
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/api/v1/views/v_1/rows")
        .header("x-original-url", "http://x/api/v1/views/v_1/rows")
        .send()
        .await
        .expect("forged forwarded headers");
    assert_denied(r, 403, "DELETE dressed up as GET").await;
    assert_eq!(upstream.hits(), 2, "no denied request reached the upstream");

    // Path tricks, byte for byte (reqwest would normalise the dots): nginx
    // would route `v_1/../v_2` to v_2 while the token names v_1; Tessera
    // refuses dot segments and encoded separators outright.
    for target in [
        "/api/v1/views/v_1/../v_2/rows",
        "/api/v1/views/v_2/../v_1/rows",
        "/api/v1/views/v_1/%2e%2e/v_2/rows",
        "/api/v1/views/v_1/%2E%2E/v_2/rows",
        "/api/v1/views/v_1/./rows",
        "/api/v1/views/v_1%2F..%2Fv_2/rows",
        "/api/v1/views/v_1/rows/..%2F..%2Fv_2%2Frows",
        "/api/v1/views//v_1/rows",
    ] {
        let (status, text) = raw_request(
            nginx.addr,
            "GET",
            target,
            &[("Authorization", &bearer(&reader))],
        )
        .await;
        assert!(
            status == 403 || status == 400,
            "{target}: expected a refusal, got {status}:\n{text}"
        );
        assert_eq!(upstream.hits(), 2, "{target} reached the upstream:\n{text}");
    }
    assert!(
        upstream
            .seen()
            .iter()
            .all(
                |seen| seen["tessera"]["x-tessera-token-id"] != reader_id.as_str()
                    || seen["tessera"]["x-tessera-resource"] == "view:v_1"
            ),
        "a v_1 token was let through to another view: {:?}",
        upstream.seen()
    );

    // A share link through nginx: /s/{token} is answered by Tessera with
    // the session cookie and a redirect; the cookie then works like a bearer
    // token, and the upstream never sees it.
    let r = http
        .get(nginx.url(&format!("/s/{reader}")))
        .send()
        .await
        .expect("share link");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/views/v_1");
    let set_cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    let session = set_cookie
        .split(';')
        .next()
        .expect("cookie pair")
        .to_owned();
    assert_eq!(session, format!("tessera_session={reader}"));
    assert_eq!(
        upstream.hits(),
        2,
        "the share link is Tessera's, not the upstream's"
    );
    assert!(
        !nginx.access_log().contains(&reader),
        "nginx logged a token:\n{}",
        nginx.access_log()
    );
    let r = http
        .get(nginx.url("/views/v_1"))
        .header("cookie", format!("lang=en; {session}; theme=dark"))
        .send()
        .await
        .expect("view page with cookie");
    assert_eq!(r.status(), 200);
    let echo: Value = r.json().await.expect("echo");
    assert_eq!(echo["path"], "/views/v_1");
    assert_eq!(echo["tessera"]["x-tessera-token-id"], reader_id.as_str());
    assert_eq!(echo["tessera"]["x-tessera-kind"], "guest");
    assert_eq!(
        echo["cookie"], "lang=en; theme=dark",
        "the session cookie stays at nginx"
    );
    assert_eq!(upstream.hits(), 3);
    let r = http
        .get(nginx.url("/api/v1/views/v_1/rows"))
        .header("cookie", session.clone())
        .send()
        .await
        .expect("rows with cookie");
    assert_eq!(r.status(), 200);
    let echo: Value = r.json().await.expect("echo");
    assert_eq!(echo["cookie"], Value::Null);
    assert_eq!(upstream.hits(), 4);
    let r = http
        .patch(nginx.url("/api/v1/views/v_1/rows"))
        .header("cookie", session.clone())
        .send()
        .await
        .expect("write with cookie");
    assert_denied(r, 403, "write with a read-only share cookie").await;
    let r = http
        .get(nginx.url("/views/v_2"))
        .header("cookie", session.clone())
        .send()
        .await
        .expect("other view with cookie");
    assert_denied(r, 403, "other view with a v_1 share cookie").await;
    assert_eq!(upstream.hits(), 4);

    // Revocation on the gateway: the very next request through nginx is 401,
    // by bearer and by cookie alike; other tokens keep working.
    let r = http
        .delete(gw.url(&format!("/admin/v1/tokens/{reader_id}")))
        .bearer_auth(gw.admin_token())
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let r = http
        .get(nginx.url("/api/v1/views/v_1/rows"))
        .header("authorization", bearer(&reader))
        .send()
        .await
        .expect("revoked bearer");
    assert_denied(r, 401, "revoked bearer token").await;
    let r = http
        .get(nginx.url("/views/v_1"))
        .header("cookie", session)
        .send()
        .await
        .expect("revoked cookie");
    assert_denied(r, 401, "revoked share cookie").await;
    let r = http
        .get(nginx.url("/api/v1/views/v_2/rows"))
        .header("authorization", bearer(&editor))
        .send()
        .await
        .expect("other token");
    assert_eq!(r.status(), 200);
    assert_eq!(upstream.hits(), 5);

    // Tessera's internal location is not reachable from outside.
    let r = http
        .get(nginx.url("/_tessera_auth"))
        .header("authorization", bearer(&editor))
        .send()
        .await
        .expect("internal location");
    assert_ne!(r.status(), 200);

    // Tessera down: nginx fails closed (500), the upstream sees nothing.
    let mut gw = gw;
    gw.kill();
    let r = http
        .get(nginx.url("/api/v1/views/v_2/rows"))
        .header("authorization", bearer(&editor))
        .send()
        .await
        .expect("gateway down");
    assert_eq!(r.status(), 500);

    assert_eq!(
        upstream.hits(),
        5,
        "only the allowed requests reached the upstream: {:#?}",
        upstream.seen()
    );
    let log = nginx.error_log();
    assert!(
        !log.contains("[emerg]") && !log.contains("[alert]"),
        "nginx complained:\n{log}"
    );
    eprintln!("nginx test took {:?}", started.elapsed());
}

/// The README shows the very snippet this test runs.
#[test]
fn the_readme_shows_the_tested_nginx_snippet() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    assert!(
        readme.contains(SNIPPET),
        "README.md must contain tests/nginx/tessera.conf verbatim (the tested snippet)"
    );
}

// ------------------------------------------------------------ ingress-nginx

/// A server block written the way ingress-nginx writes an Ingress with the
/// `auth-url` and `auth-response-headers` annotations: its auth location
/// passes the client's headers on and sets `X-Original-URL` and
/// `X-Original-Method`. `@AUTH_SNIPPET@` is where the `auth-snippet`
/// annotation goes.
const INGRESS: &str = include_str!("nginx/ingress-auth.conf");

/// The README's `auth-snippet` for ingress-nginx.
const INGRESS_AUTH_SNIPPET: &str = include_str!("nginx/ingress-auth-snippet.conf");

/// The ingress-nginx server block with its placeholders filled in.
fn fill_ingress(listen: &str, tessera: &str, upstream: &str, auth_snippet: &str) -> String {
    for placeholder in ["@LISTEN@", "@TESSERA@", "@UPSTREAM@", "@AUTH_SNIPPET@"] {
        assert!(INGRESS.contains(placeholder), "ingress lacks {placeholder}");
    }
    INGRESS
        .replace("@LISTEN@", listen)
        .replace("@TESSERA@", tessera)
        .replace("@UPSTREAM@", upstream)
        .replace("@AUTH_SNIPPET@", auth_snippet)
}

/// Tessera's count of denials for `reason` (the reason nginx does not show).
async fn denials(gw: &Server, reason: &str) -> u64 {
    let text = client()
        .get(gw.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let series = format!("tessera_decisions_total{{result=\"deny\",reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series for {reason}:\n{text}"))
}

/// Tessera, an upstream, v_2 made public, and nginx in front with the
/// ingress-nginx server block and `auth_snippet`.
async fn behind_ingress(args: &[&str], auth_snippet: &str) -> (Server, Upstream, Nginx) {
    let gw = Server::start(args);
    seed_registry(&gw).await;
    let r = client()
        .put(gw.url("/admin/v1/views/v_2"))
        .bearer_auth(gw.admin_token())
        .json(&json!({ "public": true }))
        .send()
        .await
        .expect("make v_2 public");
    assert_eq!(r.status(), 200);
    let (up_addr, upstream) = start_upstream().await;
    let tessera = gw.base.trim_start_matches("http://").to_owned();
    let nginx = Nginx::start_server(|listen| {
        fill_ingress(listen, &tessera, &up_addr.to_string(), auth_snippet)
    });
    (gw, upstream, nginx)
}

/// GET through nginx with extra client headers; the status and the
/// upstream's echo (`Null` when nginx answered itself).
async fn through(
    nginx: &Nginx,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut rb = client().request(method, nginx.url(path));
    for (name, value) in headers {
        rb = rb.header(*name, *value);
    }
    let r = rb.send().await.expect("request through nginx");
    let status = r.status().as_u16();
    let echo = if status == 200 {
        r.json().await.expect("upstream echo")
    } else {
        Value::Null
    };
    (status, echo)
}

/// ingress-nginx as it ships (no auth-snippet) in front of Tessera's
/// defaults: a client's own `X-Original-URI` pointing at another resource
/// is refused `ambiguous_forward`, never preferred to the controller's
/// `X-Original-URL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_nginx_a_client_original_uri_is_refused_as_ambiguous() {
    let (gw, upstream, nginx) = behind_ingress(&["--max-authorizer-ms", "250"], "").await;
    let (exporter, _) = guest(&gw, "v_1", &["read", "export"]).await;
    let bearer = format!("Bearer {exporter}");
    let before = denials(&gw, "ambiguous_forward").await;

    // The requests on their own: the public view reads, the private one
    // needs a token, the guest exports its own view only.
    let (status, echo) = through(&nginx, Method::GET, "/api/v1/views/v_2/rows", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(echo["tessera"]["x-tessera-resource"], "view:v_2");
    assert_eq!(echo["tessera"]["x-tessera-kind"], "anonymous");
    let (status, _) = through(&nginx, Method::GET, "/api/v1/views/v_1/rows", &[]).await;
    assert_eq!(status, 401);
    let (status, echo) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_1/export",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(echo["tessera"]["x-tessera-operation"], "export");
    let (status, _) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_3/export",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(upstream.hits(), 2);

    // An anonymous read of the private view dressed as the public one.
    let (status, _) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_1/rows",
        &[("x-original-uri", "/api/v1/views/v_2/rows")],
    )
    .await;
    assert_eq!(status, 403);
    // A guest exporting another workspace's view dressed as its own.
    let (status, _) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_3/export",
        &[
            ("authorization", &bearer),
            ("x-original-uri", "/api/v1/views/v_1/export"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    // Traefik's headers, injected: refused the same way.
    let (status, _) = through(
        &nginx,
        Method::DELETE,
        "/api/v1/views/v_1/rows",
        &[
            ("authorization", &bearer),
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/api/v1/views/v_1/rows"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        denials(&gw, "ambiguous_forward").await,
        before + 3,
        "each injection was refused as ambiguous"
    );
    assert_eq!(
        upstream.hits(),
        2,
        "no injected request reached the upstream"
    );
    let log = nginx.error_log();
    assert!(!log.contains("[emerg]"), "nginx complained:\n{log}");
}

/// The README's ingress-nginx recipe: the auth-snippet blanks the headers a
/// client could add, and `--forwarded-uri-header x-original-url` makes the
/// controller's header the only one Tessera honours. An injected header
/// has no effect: the real method and path are decided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_nginx_with_the_readme_recipe_decides_the_real_path() {
    let (gw, upstream, nginx) = behind_ingress(
        &[
            "--max-authorizer-ms",
            "250",
            "--forwarded-uri-header",
            "x-original-url",
            "--allowed-origin",
            "https://app.example.com",
        ],
        INGRESS_AUTH_SNIPPET,
    )
    .await;
    let (exporter, exporter_id) = guest(&gw, "v_1", &["read", "export"]).await;
    let (editor, _) = guest(&gw, "v_1", &["read", "create"]).await;
    let bearer = format!("Bearer {exporter}");
    let count = |reason: &'static str| denials(&gw, reason);
    let (ambiguous, missing, no_right) = (
        count("ambiguous_forward").await,
        count("missing_token").await,
        count("no_right").await,
    );

    // The private view dressed as the public one: decided as the private one.
    let (status, _) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_1/rows",
        &[("x-original-uri", "/api/v1/views/v_2/rows")],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(count("missing_token").await, missing + 1);
    // The public view, with every forwarding header a client could add.
    let (status, echo) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_2/rows",
        &[
            ("x-original-uri", "/api/v1/views/v_1/rows"),
            ("x-original-url", "http://x/api/v1/views/v_1/rows"),
            ("x-original-method", "DELETE"),
            ("x-forwarded-uri", "/api/v1/views/v_1/rows"),
            ("x-forwarded-method", "DELETE"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(echo["path"], "/api/v1/views/v_2/rows");
    assert_eq!(echo["tessera"]["x-tessera-resource"], "view:v_2");
    assert_eq!(echo["tessera"]["x-tessera-operation"], "read");
    // Another workspace's export dressed as the guest's own: no right.
    let (status, _) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_3/export",
        &[
            ("authorization", &bearer),
            ("x-original-uri", "/api/v1/views/v_1/export"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(count("no_right").await, no_right + 1);
    // The guest's own export, with a decoy pointing elsewhere: allowed as itself.
    let (status, echo) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_1/export",
        &[
            ("authorization", &bearer),
            ("x-original-uri", "/api/v1/views/v_3/export"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(echo["path"], "/api/v1/views/v_1/export");
    assert_eq!(echo["tessera"]["x-tessera-resource"], "view:v_1");
    assert_eq!(echo["tessera"]["x-tessera-token-id"], exporter_id.as_str());
    // A DELETE claiming to be a GET: the controller's X-Original-Method wins.
    let (status, _) = through(
        &nginx,
        Method::DELETE,
        "/api/v1/views/v_1/rows",
        &[("authorization", &bearer), ("x-original-method", "GET")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(count("no_right").await, no_right + 2);
    assert_eq!(count("ambiguous_forward").await, ambiguous);
    assert_eq!(upstream.hits(), 2);

    // A method override next to an allowed read never reaches the upstream.
    let before = count("method_override").await;
    let (status, _) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_1/rows",
        &[
            ("authorization", &bearer),
            ("x-http-method-override", "DELETE"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = through(
        &nginx,
        Method::GET,
        "/api/v1/views/v_1/rows?_method=DELETE",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(count("method_override").await, before + 2);
    assert_eq!(upstream.hits(), 2);

    // A cross-site write with the share cookie: refused; from the page's
    // own origin, or the allowed app origin, it passes with its method.
    let session = format!("tessera_session={editor}");
    let before = count("cross_site").await;
    let (status, _) = through(
        &nginx,
        Method::POST,
        "/api/v1/views/v_1/rows",
        &[("cookie", &session), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(count("cross_site").await, before + 1);
    for origin in [
        ("sec-fetch-site", "same-origin"),
        ("origin", "https://app.example.com"),
    ] {
        let (status, echo) = through(
            &nginx,
            Method::POST,
            "/api/v1/views/v_1/rows",
            &[("cookie", &session), origin],
        )
        .await;
        assert_eq!(status, 200, "{origin:?}");
        assert_eq!(echo["method"], "POST");
        assert_eq!(echo["tessera"]["x-tessera-operation"], "create");
    }
    assert_eq!(upstream.hits(), 4);
    let log = nginx.error_log();
    assert!(!log.contains("[emerg]"), "nginx complained:\n{log}");
}

/// The README shows the ingress-nginx auth-snippet this test runs.
#[test]
fn the_readme_shows_the_tested_ingress_nginx_auth_snippet() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    assert!(
        readme.contains(INGRESS_AUTH_SNIPPET),
        "README.md must contain tests/nginx/ingress-auth-snippet.conf verbatim"
    );
    assert!(readme.contains("--forwarded-uri-header x-original-url"));
}
