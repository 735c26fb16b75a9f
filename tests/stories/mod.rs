//! The fixture the product-document stories share: a real `tessera serve`
//! whose registry is set up only through the admin API (users, workspace
//! roles, groups, tables with their author, access in either product's
//! words, views), member tokens minted with `POST /admin/v1/members/{user}/tokens`,
//! and every data request asked at the forward-auth front door (`/auth`
//! from a loopback, trusted peer) with the default route table.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::server::{client, tessera_bin, Server};

/// What a request should come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// 200 from `/auth`, with the member's identity headers.
    Allow,
    /// 403 with this `error` code.
    Deny(&'static str),
}

pub use Want::{Allow, Deny};

/// A data request as a user of the product makes it, mapped by the default
/// route table onto an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// `GET /api/v1/tables/{t}/rows` (read).
    Read,
    /// `PATCH /api/v1/tables/{t}/rows/r_1` (write: edit a row).
    Edit,
    /// `POST /api/v1/tables/{t}/rows` (create: add a row).
    Add,
    /// `DELETE /api/v1/tables/{t}/rows/r_1` (delete a row).
    Remove,
    /// `PATCH /api/v1/tables/{t}/columns` (manage: modify columns, the
    /// schema's structure).
    Columns,
    /// `DELETE /api/v1/tables/{t}` (drop the table itself).
    Drop,
}

impl Act {
    /// The method and path of this act on `table`.
    pub fn on(self, table: &str) -> (&'static str, String) {
        match self {
            Act::Read => ("GET", format!("/api/v1/tables/{table}/rows")),
            Act::Edit => ("PATCH", format!("/api/v1/tables/{table}/rows/r_1")),
            Act::Add => ("POST", format!("/api/v1/tables/{table}/rows")),
            Act::Remove => ("DELETE", format!("/api/v1/tables/{table}/rows/r_1")),
            Act::Columns => ("PATCH", format!("/api/v1/tables/{table}/columns")),
            Act::Drop => ("DELETE", format!("/api/v1/tables/{table}")),
        }
    }
}

/// What the front door answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status.
    pub status: u16,
    /// The deny body's `error` code (None on an allow).
    pub reason: Option<String>,
    /// `X-Tessera-User` on an allow.
    pub user: Option<String>,
    /// `X-Tessera-Kind` on an allow.
    pub kind: Option<String>,
}

/// A server, its admin token and the member tokens minted so far.
pub struct Story {
    /// The gateway.
    pub server: Server,
    admin: String,
    tokens: HashMap<String, String>,
    http: reqwest::Client,
}

impl Story {
    /// Starts a gateway (with an authorizer budget that tolerates a loaded
    /// machine) and registers `workspace`.
    pub async fn start(workspace: &str) -> Story {
        Story::start_with(workspace, &[]).await
    }

    /// [`Story::start`] with more `tessera serve` flags.
    pub async fn start_with(workspace: &str, flags: &[&str]) -> Story {
        let server = Server::start(&[&["--max-authorizer-ms", "250"][..], flags].concat());
        let admin = server.admin_token();
        let story = Story {
            server,
            admin,
            tokens: HashMap::new(),
            http: client(),
        };
        story
            .admin_ok("PUT", &format!("/workspaces/{workspace}"), None)
            .await;
        story
    }

    /// `method /admin/v1{path}` with `token` (the admin token when None).
    pub async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self
            .http
            .request(method, self.server.url(&format!("/admin/v1{path}")))
            .bearer_auth(token.unwrap_or(&self.admin))
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        let r = rb.send().await.expect("admin request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// An admin-token call that must succeed (2xx); returns its JSON.
    pub async fn admin_ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(None, method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} /admin/v1{path}: {status} {answer}"
        );
        answer
    }

    /// Registers `user` and gives it `role` in `workspace`.
    pub async fn member(&self, workspace: &str, user: &str, role: &str) {
        let body = json!({ "email": format!("{user}@example.com"), "name": user });
        self.admin_ok("PUT", &format!("/users/{user}"), Some(body))
            .await;
        self.role(workspace, user, role).await;
    }

    /// `PUT /workspaces/{ws}/members/{user}` `{"role"}`.
    pub async fn role(&self, workspace: &str, user: &str, role: &str) {
        let path = format!("/workspaces/{workspace}/members/{user}");
        self.admin_ok("PUT", &path, Some(json!({ "role": role })))
            .await;
    }

    /// `DELETE /workspaces/{ws}/members/{user}`.
    pub async fn remove(&self, workspace: &str, user: &str) {
        let path = format!("/workspaces/{workspace}/members/{user}");
        self.admin_ok("DELETE", &path, None).await;
    }

    /// `PUT /workspaces/{ws}/groups/{group}` `{"name", "members"}`.
    pub async fn group(&self, workspace: &str, group: &str, members: &[&str]) {
        let path = format!("/workspaces/{workspace}/groups/{group}");
        let body = json!({ "name": group, "members": members });
        self.admin_ok("PUT", &path, Some(body)).await;
    }

    /// `PUT /tables/{table}` `{"workspace", "author"}`.
    pub async fn table(&self, workspace: &str, table: &str, author: &str) {
        let body = json!({ "workspace": workspace, "author": author });
        self.admin_ok("PUT", &format!("/tables/{table}"), Some(body))
            .await;
    }

    /// `PUT /tables/{table}/access` (TinyTables' words) with the admin token.
    pub async fn access(&self, table: &str, body: Value) {
        self.admin_ok("PUT", &format!("/tables/{table}/access"), Some(body))
            .await;
    }

    /// `PUT /tables/{table}/permissions` (Schema Builder's words) with the
    /// admin token.
    pub async fn permissions(&self, table: &str, body: Value) {
        let path = format!("/tables/{table}/permissions");
        self.admin_ok("PUT", &path, Some(body)).await;
    }

    /// `PUT /views/{view}` placing it on `table` of `workspace` with `settings`.
    pub async fn view(&self, workspace: &str, table: &str, view: &str, settings: Value) {
        let body = json!({ "table": table, "workspace": workspace, "settings": settings });
        self.admin_ok("PUT", &format!("/views/{view}"), Some(body))
            .await;
    }

    /// Mints a member token for `user` (`POST /admin/v1/members/{user}/tokens`)
    /// and returns the whole answer.
    pub async fn mint(&self, user: &str) -> Value {
        let path = format!("/members/{user}/tokens");
        let (status, answer) = self.call(None, "POST", &path, Some(json!({}))).await;
        assert!(
            status == 200 || status == 201,
            "mint for {user}: {status} {answer}"
        );
        for field in ["token", "token_id", "expires_at"] {
            assert!(answer[field].is_string(), "no {field} in {answer}");
        }
        answer
    }

    /// `user`'s member token, minted once and reused: nothing is reissued
    /// when the registry changes.
    pub async fn token(&mut self, user: &str) -> String {
        if let Some(t) = self.tokens.get(user) {
            return t.clone();
        }
        let token = self.mint(user).await["token"]
            .as_str()
            .expect("token")
            .to_owned();
        self.tokens.insert(user.to_owned(), token.clone());
        token
    }

    /// Forward-auth (`/auth`, Traefik/Caddy style) for `method uri` with `token`.
    pub async fn ask_with(&self, token: &str, method: &str, uri: &str) -> Outcome {
        let r = self
            .http
            .get(self.server.url("/auth"))
            .header("X-Forwarded-Method", method)
            .header("X-Forwarded-Uri", uri)
            .header("X-Forwarded-Host", "app.example.com")
            .header("X-Forwarded-Proto", "https")
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("GET /auth");
        let status = r.status().as_u16();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (user, kind) = (header("x-tessera-user"), header("x-tessera-kind"));
        let reason = error_code(r).await;
        Outcome {
            status,
            reason,
            user,
            kind,
        }
    }

    /// `method uri` sent to the gateway itself (reverse-proxy mode) with
    /// `user`'s member token: the status and the body's `error` code.
    pub async fn send(&mut self, user: &str, method: &str, uri: &str) -> (u16, Option<String>) {
        let token = self.token(user).await;
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self
            .http
            .request(method, self.server.url(uri))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("request through the proxy");
        let status = r.status().as_u16();
        let reason = error_code(r).await;
        (status, reason)
    }

    /// `user`'s member token asking `method uri`.
    pub async fn ask(&mut self, user: &str, method: &str, uri: &str) -> Outcome {
        let token = self.token(user).await;
        self.ask_with(&token, method, uri).await
    }

    /// Why `got` is not `want` for `user` (None when it is).
    pub fn mismatch(user: &str, what: &str, got: &Outcome, want: Want) -> Option<String> {
        let ok = match want {
            Allow => {
                got.status == 200
                    && got.kind.as_deref() == Some("member")
                    && got.user.as_deref() == Some(user)
            }
            Deny(code) => got.status == 403 && got.reason.as_deref() == Some(code),
        };
        (!ok).then(|| format!("{user} {what}: wanted {want:?}, got {got:?}"))
    }

    /// Asks `user`'s member token for `method uri` and asserts `want`.
    pub async fn expect(&mut self, user: &str, method: &str, uri: &str, want: Want) {
        let got = self.ask(user, method, uri).await;
        if let Some(problem) = Self::mismatch(user, &format!("{method} {uri}"), &got, want) {
            panic!("{problem}");
        }
    }

    /// Why `act` on `table` with `token` (held by `user`) is not `want`.
    async fn check(
        &self,
        token: &str,
        user: &str,
        (act, table, want): (Act, &str, Want),
    ) -> Option<String> {
        let (method, uri) = act.on(table);
        let got = self.ask_with(token, method, &uri).await;
        Self::mismatch(
            user,
            &format!("{act:?} {table} ({method} {uri})"),
            &got,
            want,
        )
    }

    /// Every `(user, act, table, want)` case with `user`'s member token;
    /// all mismatches reported at once.
    pub async fn expect_all(&mut self, cases: &[(&str, Act, &str, Want)]) {
        let mut problems = Vec::new();
        for &(user, act, table, want) in cases {
            let token = self.token(user).await;
            problems.extend(self.check(&token, user, (act, table, want)).await);
        }
        assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    }

    /// Every `(act, table, want)` case with `token`, a token of `user`'s
    /// (e.g. an attenuated copy); all mismatches reported at once.
    pub async fn expect_with(&self, token: &str, user: &str, cases: &[(Act, &str, Want)]) {
        let mut problems = Vec::new();
        for &case in cases {
            problems.extend(self.check(token, user, case).await);
        }
        assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    }
}

/// The deny body's `error` code, if the answer has one.
async fn error_code(r: reqwest::Response) -> Option<String> {
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str::<Value>(&text).ok()?;
    body["error"].as_str().map(str::to_owned)
}

/// The product behind the reverse proxy: records, for each request that
/// reaches it, `METHOD PATH as X-Tessera-User`, and answers 200 `product`.
pub struct Product {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Product {
    /// Starts it on an ephemeral loopback port.
    pub async fn start() -> Product {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the product");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let user = request.headers().get("x-tessera-user").cloned();
            let user = user.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("-");
            let line = format!("{} {} as {user}", request.method(), request.uri().path());
            log.lock().expect("lock").push(line);
            async { "product" }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Product { url, seen }
    }

    /// What reached it so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

/// `tessera attenuate TOKEN ARGS…` through the CLI binary, offline: the
/// narrowed copy it prints.
pub fn attenuate(token: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(tessera_bin())
        .args([&["attenuate", token][..], args].concat())
        .output()
        .expect("run tessera attenuate");
    let copy = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fresh = copy.starts_with("tsr_") && copy != token;
    assert!(out.status.success() && fresh, "tessera attenuate: {stderr}");
    copy
}
