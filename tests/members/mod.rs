//! What the members tests share: admin API calls over loopback HTTP,
//! refusals with their codes, a seeded workspace, member tokens.

mod cli;
mod refusals;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::server::{client, Server};

/// Sends `body` (if any) to `/admin/v1{path}` with `token`; the status and JSON answer.
pub(crate) async fn send(
    s: &Server,
    method: Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = client()
        .request(method, s.url(&format!("/admin/v1{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        r = r.json(&body);
    }
    let r = r.send().await.expect("send");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) async fn get(s: &Server, token: &str, path: &str) -> Value {
    let (status, v) = send(s, Method::GET, token, path, None).await;
    assert_eq!(status, 200, "GET {path}: {v}");
    v
}

pub(crate) async fn put(s: &Server, token: &str, path: &str, body: Value) -> Value {
    let (status, v) = send(s, Method::PUT, token, path, Some(body)).await;
    assert_eq!(status, 200, "PUT {path}: {v}");
    v
}

/// `DELETE /admin/v1{path}` answering `204 No Content`.
pub(crate) async fn delete(s: &Server, token: &str, path: &str) {
    let (status, v) = send(s, Method::DELETE, token, path, None).await;
    assert_eq!(status, 204, "DELETE {path}: {v}");
}

/// Asserts the answer is `status` with error code `code`.
pub(crate) fn refused((status, v): (u16, Value), want: u16, code: &str) {
    assert_eq!((status, v["error"].as_str()), (want, Some(code)), "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| !m.contains("--")),
        "{v}"
    );
}

/// ws_1 with table t_1, users u_own (owner), u_adm (admin), u_mem and
/// u_mem2 (member), u_view (viewer), u_out (registered, not a member);
/// group g_fin {u_mem}.
pub(crate) async fn seeded(args: &[&str]) -> (Server, String) {
    let s = Server::start(args);
    let admin = s.admin_token();
    put(&s, &admin, "/tables/t_1", json!({ "workspace": "ws_1" })).await;
    for (user, role) in [
        ("u_own", Some("owner")),
        ("u_adm", Some("admin")),
        ("u_mem", Some("member")),
        ("u_mem2", Some("member")),
        ("u_view", Some("viewer")),
        ("u_out", None),
    ] {
        let body = json!({ "email": format!("{user}@example.com"), "name": user });
        put(&s, &admin, &format!("/users/{user}"), body).await;
        if let Some(role) = role {
            put(
                &s,
                &admin,
                &format!("/workspaces/ws_1/members/{user}"),
                json!({ "role": role }),
            )
            .await;
        }
    }
    let group = json!({ "name": "Finance", "members": ["u_mem"] });
    put(&s, &admin, "/workspaces/ws_1/groups/g_fin", group).await;
    (s, admin)
}

/// Sends the request and asserts it is refused with `status` and `code`.
pub(crate) async fn refuse(
    s: &Server,
    method: Method,
    token: &str,
    path: &str,
    body: Option<Value>,
    status: u16,
    code: &str,
) {
    refused(send(s, method, token, path, body).await, status, code);
}

/// A member token for `user`, issued by the admin token.
pub(crate) async fn member_token(s: &Server, admin: &str, user: &str) -> String {
    let (status, v) = send(
        s,
        Method::POST,
        admin,
        &format!("/members/{user}/tokens"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

/// The role of every member of ws_1.
pub(crate) async fn roles(s: &Server, admin: &str) -> Value {
    let list = get(s, admin, "/workspaces/ws_1/members").await;
    let mut roles = serde_json::Map::new();
    for m in list["members"].as_array().unwrap() {
        roles.insert(m["user"].as_str().unwrap().to_owned(), m["role"].clone());
    }
    Value::Object(roles)
}

/// Asserts the answer's `expires_at` is `lifetime` from now (within a minute).
pub(crate) fn assert_expires_in(v: &Value, lifetime: chrono::Duration) {
    let off = expiry(v) - (Utc::now() + lifetime);
    assert!(
        off.num_seconds().abs() < 60,
        "expected {lifetime} from now: {v}"
    );
}

pub(crate) fn expiry(v: &Value) -> DateTime<Utc> {
    v["expires_at"].as_str().unwrap().parse().unwrap()
}
