//! ValidGraph's projects over loopback HTTP against the real binary: a
//! project is a workspace, and a workspace carries a display name
//! (`PUT /admin/v1/workspaces/{id}` `{"name": "Client A"}`), kept across a
//! restart; bad input is a 400 with a code and changes nothing.

mod server;

use reqwest::Method;
use serde_json::{json, Value};

use server::{client, Server};

/// `method /admin/v1{path}` with `token` and a raw `body` (none when
/// empty); the status and JSON answer.
async fn call(s: &Server, method: Method, token: &str, path: &str, body: &str) -> (u16, Value) {
    let mut request = client()
        .request(method, s.url(&format!("/admin/v1{path}")))
        .bearer_auth(token);
    if !body.is_empty() {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let answer = request.send().await.expect("send");
    let status = answer.status().as_u16();
    let text = answer.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `GET /admin/v1/workspaces/{ws}`, asserting 200.
async fn workspace(s: &Server, token: &str, ws: &str) -> Value {
    let (status, v) = call(s, Method::GET, token, &format!("/workspaces/{ws}"), "").await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test]
async fn a_project_gets_a_display_name_that_survives_a_bare_put_and_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut s = Server::start_in(&data, &[], None);
    let admin = s.admin_token();

    let (status, bare) = call(&s, Method::PUT, &admin, "/workspaces/proj_abc123", "").await;
    assert_eq!(status, 200, "{bare}");
    assert_eq!(bare, json!({ "id": "proj_abc123", "tables": [] }));

    let body = r#"{"name": "Client A"}"#;
    let (status, named) = call(&s, Method::PUT, &admin, "/workspaces/proj_abc123", body).await;
    assert_eq!(status, 200, "{named}");
    assert_eq!(named["name"], "Client A");
    assert_eq!(
        workspace(&s, &admin, "proj_abc123").await["name"],
        "Client A"
    );

    // Without a body (or without a name) the name stays.
    call(&s, Method::PUT, &admin, "/workspaces/proj_abc123", "").await;
    call(&s, Method::PUT, &admin, "/workspaces/proj_abc123", "{}").await;
    assert_eq!(
        workspace(&s, &admin, "proj_abc123").await["name"],
        "Client A"
    );

    // A new workspace can be registered and named in one request.
    let body = r#"{"name": "Client B"}"#;
    let (status, b) = call(&s, Method::PUT, &admin, "/workspaces/proj_def456", body).await;
    assert_eq!((status, b["name"].as_str()), (200, Some("Client B")), "{b}");

    s.terminate();
    let s = Server::start_in(&data, &[], None);
    let admin = s.admin_token();
    assert_eq!(
        workspace(&s, &admin, "proj_abc123").await["name"],
        "Client A"
    );
    assert_eq!(
        workspace(&s, &admin, "proj_def456").await["name"],
        "Client B"
    );
}

#[tokio::test]
async fn a_bad_workspace_name_is_a_400_with_a_code_and_changes_nothing() {
    let s = Server::start(&[]);
    let admin = s.admin_token();
    let body = r#"{"name": "Client A"}"#;
    call(&s, Method::PUT, &admin, "/workspaces/proj_abc123", body).await;

    for (body, code) in [
        (r#"{"name": ""}"#, "invalid_name"),
        (r#"{"name": "bad\u0007bell"}"#, "invalid_name"),
        (r#"{"name": 7}"#, "bad_request"),
        (r#"{"nmae": "Client Z"}"#, "bad_request"),
        (r#"{"name": "Client Z""#, "bad_request"),
    ] {
        let (status, v) = call(&s, Method::PUT, &admin, "/workspaces/proj_abc123", body).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some(code)),
            "{body}: {v}"
        );
    }
    assert_eq!(
        workspace(&s, &admin, "proj_abc123").await["name"],
        "Client A"
    );

    // A refused name on a new workspace does not register it either.
    let body = r#"{"name": ""}"#;
    let (status, _) = call(&s, Method::PUT, &admin, "/workspaces/proj_new", body).await;
    assert_eq!(status, 400);
    let (status, v) = call(&s, Method::GET, &admin, "/workspaces/proj_new", "").await;
    assert_eq!(status, 404, "{v}");
}
