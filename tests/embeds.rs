//! TinyTables' embeds over loopback HTTP against the real binary, in
//! reverse-proxy mode in front of a small echo upstream: each mode reads,
//! never writes (`embed_read_only`); public and filtered embeds refuse
//! sort and filter parameters (`embed_sort_filter`); an interactive embed
//! sorts and filters, never by a column the view hides
//! (`embed_hidden_column`); the upstream sees `X-Tessera-Embed: <mode>`
//! (a client's own copy never reaches it); embeds are listed with their
//! mode and revoked like share links. Bad input answers 400/403/404 with
//! a code and changes nothing.

mod server;

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{json, Value};

use server::{admin_call as call, client, link_ids, Server};

/// An upstream answering every request with the headers it received.
async fn upstream() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let log = log.clone();
        async move {
            let headers: serde_json::Map<String, Value> = request
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), json!(v.to_str().unwrap_or(""))))
                .collect();
            let record = json!({ "uri": request.uri().to_string(), "headers": headers });
            log.lock().unwrap().push(record.clone());
            axum::Json(record)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

/// A gateway in front of the echo upstream with ws_1 ⊃ t_1 ⊃ v_1 hiding
/// `salary`, and u_mem a member: the server, the admin token, u_mem's
/// member token, the upstream's log.
async fn seeded() -> (Server, String, String, Arc<Mutex<Vec<Value>>>) {
    let (url, seen) = upstream().await;
    let s = Server::start(&["--upstream", &url]);
    let admin = s.admin_token();
    let view = r#"{"table": "t_1", "workspace": "ws_1", "hidden_columns": ["salary"]}"#;
    let (status, v) = call(&s, Method::PUT, &admin, "/views/v_1", view).await;
    assert_eq!(
        (status, &v["hidden_columns"]),
        (200, &json!(["salary"])),
        "{v}"
    );
    let user = r#"{"email": "u_mem@example.com", "name": "Mem"}"#;
    assert_eq!(
        call(&s, Method::PUT, &admin, "/users/u_mem", user).await.0,
        200
    );
    let role = r#"{"role": "member"}"#;
    let path = "/workspaces/ws_1/members/u_mem";
    assert_eq!(call(&s, Method::PUT, &admin, path, role).await.0, 200);
    let (status, v) = call(&s, Method::POST, &admin, "/members/u_mem/tokens", "").await;
    assert_eq!(status, 201, "{v}");
    let member = v["token"].as_str().unwrap().to_owned();
    (s, admin, member, seen)
}

/// `POST /views/v_1/embeds` in `mode` by `token`, asserting 201.
async fn embed(s: &Server, token: &str, mode: &str) -> Value {
    let body = json!({ "mode": mode }).to_string();
    let (status, v) = call(s, Method::POST, token, "/views/v_1/embeds", &body).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["mode"], mode);
    assert_eq!(v["permissions"], json!(["read"]));
    assert!(v["link"].as_str().unwrap().contains("/s/"), "{v}");
    v
}

/// A proxied data request with `token`: the status and reason code.
async fn data(s: &Server, method: &str, path: &str, token: &str) -> (u16, Option<String>) {
    let r = client()
        .request(method.parse().unwrap(), s.url(path))
        .bearer_auth(token)
        .header("x-tessera-embed", "interactive")
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let code = (status != 200).then(|| body["error"].as_str().unwrap_or("").to_owned());
    (status, code)
}

/// The status of a proxied `GET path` with `token`.
async fn status(s: &Server, path: &str, token: &str) -> u16 {
    data(s, "GET", path, token).await.0
}

fn refused(answer: (u16, Option<String>), code: &str) {
    assert_eq!(answer, (403, Some(code.to_owned())));
}

const ROWS: &str = "/api/v1/views/v_1/rows";

#[tokio::test]
async fn each_embed_mode_reads_never_writes_and_tells_the_upstream() {
    let (s, admin, member, seen) = seeded().await;
    for mode in ["public", "filtered", "interactive"] {
        let link = embed(&s, &admin, mode).await;
        let token = link["token"].as_str().unwrap();
        assert_eq!(data(&s, "GET", ROWS, token).await, (200, None), "{mode}");
        assert_eq!(
            status(&s, &format!("{ROWS}?limit=5&page=2"), token).await,
            200
        );
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(last["headers"]["x-tessera-embed"], mode, "{last}");
        assert_eq!(last["headers"]["x-tessera-kind"], "guest");
        assert_eq!(last["uri"], format!("{ROWS}?limit=5&page=2"));
        for (method, path) in [
            ("POST", ROWS.to_owned()),
            ("PATCH", format!("{ROWS}/r_1")),
            ("DELETE", format!("{ROWS}/r_1")),
            ("GET", "/api/v1/views/v_1/export".to_owned()),
            ("PATCH", "/api/v1/views/v_1/config".to_owned()),
        ] {
            refused(data(&s, method, &path, token).await, "embed_read_only");
        }
        let sorted = data(&s, "GET", &format!("{ROWS}?sort=-name"), token).await;
        let filtered = data(&s, "GET", &format!("{ROWS}?filter%5Bstatus%5D=open"), token).await;
        let searched = data(&s, "GET", &format!("{ROWS}?Q=ana"), token).await;
        if mode == "interactive" {
            assert_eq!([sorted, filtered, searched].map(|a| a.0), [200; 3]);
            for hidden in ["filter[salary]=1", "filter=salary:1", "sort=name,-SALARY"] {
                let path = format!("{ROWS}?{hidden}");
                refused(data(&s, "GET", &path, token).await, "embed_hidden_column");
            }
        } else {
            for answer in [sorted, filtered, searched] {
                refused(answer, "embed_sort_filter");
            }
        }
    }
    // A client's own X-Tessera-Embed never reaches the upstream.
    let body = r#"{"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"]}"#;
    let (_, guest) = call(&s, Method::POST, &admin, "/tokens", body).await;
    let guest = guest["token"].as_str().unwrap();
    assert_eq!(status(&s, &format!("{ROWS}?sort=salary"), guest).await, 200);
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert!(last["headers"].get("x-tessera-embed").is_none(), "{last}");
    // A member with share makes embeds too; its embed is recorded as its own.
    let link = embed(&s, &member, "public").await;
    assert_eq!(link["created_by"], "u_mem");
}

#[tokio::test]
async fn embeds_are_listed_with_their_mode_and_revoked_like_share_links() {
    let (s, admin, member, _) = seeded().await;
    let public = embed(&s, &member, "public").await;
    let interactive = embed(&s, &admin, "interactive").await;
    let share = r#"{"preset": "editor", "label": "Contractor"}"#;
    let (status, _) = call(&s, Method::POST, &member, "/views/v_1/shares", share).await;
    assert_eq!(status, 201);

    let (status, list) = call(&s, Method::GET, &member, "/views/v_1/embeds", "").await;
    assert_eq!(status, 200, "{list}");
    let modes: Vec<(&str, &str)> = list["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["mode"].as_str().unwrap(),
                r["created_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(modes, vec![("public", "u_mem"), ("interactive", "admin")]);
    let (_, all) = call(&s, Method::GET, &admin, "/views/v_1/shares", "").await;
    assert_eq!(all["shares"].as_array().unwrap().len(), 3, "{all}");

    // "Disable public link": the one ledger revocation.
    let token = public["token"].as_str().unwrap();
    assert_eq!(data(&s, "GET", ROWS, token).await.0, 200);
    let path = format!("/views/v_1/embeds/{}", public["token_id"].as_str().unwrap());
    let (status, revoked) = call(&s, Method::DELETE, &member, &path, "").await;
    assert_eq!(
        (status, &revoked["token_ids"]),
        (200, &json!([public["token_id"]]))
    );
    assert_eq!(
        data(&s, "GET", ROWS, token).await,
        (401, Some("revoked".into()))
    );
    let (_, list) = call(&s, Method::GET, &admin, "/views/v_1/embeds", "").await;
    assert_eq!(link_ids(&list), vec![interactive["token_id"].clone()]);

    // Unhiding the column lets the interactive embed filter by it.
    let token = interactive["token"].as_str().unwrap();
    let by_salary = format!("{ROWS}?filter[salary]=1");
    refused(
        data(&s, "GET", &by_salary, token).await,
        "embed_hidden_column",
    );
    let (status, v) = call(
        &s,
        Method::PUT,
        &admin,
        "/views/v_1",
        r#"{"hidden_columns": []}"#,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v.get("hidden_columns").is_none(), "{v}");
    assert_eq!(data(&s, "GET", &by_salary, token).await.0, 200);
}

#[tokio::test]
async fn bad_embed_input_is_refused_with_a_code_and_changes_nothing() {
    let (s, admin, member, _) = seeded().await;
    let cases = [
        (r#"{"mode": "private"}"#, "unknown_mode"),
        (r#"{}"#, "bad_request"),
        (
            r#"{"mode": "public", "expires": "later"}"#,
            "invalid_expiry",
        ),
        (r#"{"mode": "public""#, "bad_request"),
        (r#"{"mode": "public", "allow": ["write"]}"#, "bad_request"),
    ];
    for (body, code) in cases {
        let (got, v) = call(&s, Method::POST, &admin, "/views/v_1/embeds", body).await;
        assert_eq!((got, v["error"].as_str()), (400, Some(code)), "{body}: {v}");
    }
    let unknown = r#"{"mode": "public"}"#;
    let (got, v) = call(&s, Method::POST, &admin, "/views/v_9/embeds", unknown).await;
    assert_eq!((got, v["error"].as_str()), (404, Some("not_found")), "{v}");
    // A viewer holds no share on the view.
    let user = r#"{"email": "u_view@example.com", "name": "View"}"#;
    call(&s, Method::PUT, &admin, "/users/u_view", user).await;
    let role = r#"{"role": "viewer"}"#;
    call(
        &s,
        Method::PUT,
        &admin,
        "/workspaces/ws_1/members/u_view",
        role,
    )
    .await;
    let (_, v) = call(&s, Method::POST, &admin, "/members/u_view/tokens", "").await;
    let viewer = v["token"].as_str().unwrap();
    let (got, v) = call(
        &s,
        Method::POST,
        viewer,
        "/views/v_1/embeds",
        r#"{"mode": "public"}"#,
    )
    .await;
    assert_eq!(
        (got, v["error"].as_str()),
        (403, Some("share_not_held")),
        "{v}"
    );
    let (_, ledger) = call(&s, Method::GET, &admin, "/tokens?kind=guest", "").await;
    assert_eq!(ledger["tokens"], json!([]), "no link was made");

    // Bad hidden columns: 400, the view as it was.
    for body in [
        r#"{"hidden_columns": [""]}"#,
        r#"{"hidden_columns": ["a\u0007b"]}"#,
    ] {
        let (got, v) = call(&s, Method::PUT, &admin, "/views/v_1", body).await;
        assert_eq!(
            (got, v["error"].as_str()),
            (400, Some("invalid_column")),
            "{v}"
        );
    }
    let (got, v) = call(
        &s,
        Method::PUT,
        &member,
        "/views/v_1",
        r#"{"hidden_columns": []}"#,
    )
    .await;
    assert_eq!((got, v["error"].as_str()), (403, Some("wrong_kind")), "{v}");
    let (_, v) = call(&s, Method::GET, &admin, "/views/v_1", "").await;
    assert_eq!(v["hidden_columns"], json!(["salary"]));
}
