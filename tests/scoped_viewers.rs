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

/// Forward-auth (`/auth`) for `method uri` with `token`: the status and
/// the body's `error` code.
async fn ask(s: &Server, token: &str, method: &str, uri: &str) -> (u16, Option<String>) {
    let answer = client()
        .get(s.url("/auth"))
        .header("X-Forwarded-Method", method)
        .header("X-Forwarded-Uri", uri)
        .header("X-Forwarded-Host", "app.example.com")
        .header("X-Forwarded-Proto", "https")
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /auth");
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().map(str::to_owned))
}

/// Three named projects (proj_a "Client A", proj_b "Client B", proj_c
/// "Client C"), each with a table t_x and an exportable view v_x.
async fn projects() -> (Server, String) {
    let s = Server::start(&[]);
    let admin = s.admin_token();
    for (p, name) in [("a", "Client A"), ("b", "Client B"), ("c", "Client C")] {
        let body = json!({ "name": name }).to_string();
        let (status, v) = call(
            &s,
            Method::PUT,
            &admin,
            &format!("/workspaces/proj_{p}"),
            &body,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let body = json!({ "workspace": format!("proj_{p}") }).to_string();
        let (status, v) = call(&s, Method::PUT, &admin, &format!("/tables/t_{p}"), &body).await;
        assert_eq!(status, 200, "{v}");
        let body = json!({ "table": format!("t_{p}"), "workspace": format!("proj_{p}"), "exportable": true });
        let (status, v) = call(
            &s,
            Method::PUT,
            &admin,
            &format!("/views/v_{p}"),
            &body.to_string(),
        )
        .await;
        assert_eq!(status, 200, "{v}");
    }
    (s, admin)
}

/// A member token for `user`.
async fn member_token(s: &Server, admin: &str, user: &str) -> String {
    let (status, v) = call(
        s,
        Method::POST,
        admin,
        &format!("/members/{user}/tokens"),
        "",
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["token"].as_str().expect("token").to_owned()
}

/// `GET /v1/me` with `token` (none when empty): the status and answer.
async fn me(s: &Server, token: &str) -> (u16, Value) {
    let mut request = client().get(s.url("/v1/me"));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("GET /v1/me");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// The ids of `/v1/me`'s `projects`.
fn visible(me: &Value) -> Vec<&str> {
    me["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect()
}

/// The ids of the answer's `assigned_projects`.
fn assigned(member: &Value) -> Vec<&str> {
    member["assigned_projects"]
        .as_array()
        .expect("assigned_projects")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect()
}

#[tokio::test]
async fn validgraph_invite_a_viewer_on_two_projects_then_rescope_it_to_one() {
    let (s, admin) = projects().await;
    let body = json!({ "email": "vera@client.example", "role": "viewer", "projects": ["proj_a", "proj_b"] });
    let (status, vera) = call(&s, Method::POST, &admin, "/members", &body.to_string()).await;
    assert_eq!(status, 201, "{vera}");
    assert_eq!(vera["email"], "vera@client.example");
    assert_eq!(vera["role"], "viewer");
    assert_eq!(
        vera["assigned_projects"],
        json!([{ "id": "proj_a", "name": "Client A" }, { "id": "proj_b", "name": "Client B" }])
    );
    let user = vera["id"].as_str().expect("id").to_owned();
    assert!(user.starts_with("u_"), "{user}");
    // The same email invited again is the same user.
    let again = json!({ "email": "Vera@Client.example", "role": "viewer", "projects": ["proj_a"] });
    let (status, v) = call(&s, Method::POST, &admin, "/members", &again.to_string()).await;
    assert_eq!(
        (status, v["id"].as_str()),
        (201, Some(user.as_str())),
        "{v}"
    );

    let token = member_token(&s, &admin, &user).await;
    let (status, dashboard) = me(&s, &token).await;
    assert_eq!(status, 200, "{dashboard}");
    assert_eq!(visible(&dashboard), ["proj_a", "proj_b"]);
    assert_eq!(dashboard["total_projects_visible"], 2);
    assert_eq!(dashboard["kind"], "member");
    assert_eq!(dashboard["user"], user.as_str());
    assert_eq!(
        dashboard["can_access"],
        json!(["validation_history", "export", "reports"])
    );
    assert_eq!(dashboard["projects"][0]["name"], "Client A");
    assert_eq!(dashboard["projects"][0]["role"], "viewer");
    let ops = dashboard["projects"][0]["operations"]
        .as_array()
        .expect("operations");
    assert!(
        ops.contains(&json!("read")) && ops.contains(&json!("export")),
        "{dashboard}"
    );
    assert!(
        !ops.contains(&json!("write")) && !ops.contains(&json!("billing")),
        "{dashboard}"
    );
    for p in ["a", "b"] {
        let rows = format!("/api/v1/views/v_{p}/rows");
        assert_eq!(ask(&s, &token, "GET", &rows).await, (200, None), "{rows}");
        let export = format!("/api/v1/views/v_{p}/export");
        assert_eq!(
            ask(&s, &token, "GET", &export).await,
            (200, None),
            "{export}"
        );
        let (status, _) = ask(&s, &token, "POST", &rows).await;
        assert_eq!(status, 403, "a viewer never writes: {rows}");
    }
    let (status, reason) = ask(&s, &token, "GET", "/api/v1/views/v_c/rows").await;
    assert_eq!((status, reason.as_deref()), (403, Some("no_right")));

    let before: chrono::DateTime<chrono::Utc> = vera["updated_at"]
        .as_str()
        .expect("updated_at")
        .parse()
        .expect("time");
    let body = json!({ "project_ids": ["proj_a"] }).to_string();
    let path = format!("/members/{user}/projects");
    let (status, rescoped) = call(&s, Method::PUT, &admin, &path, &body).await;
    assert_eq!(status, 200, "{rescoped}");
    assert_eq!(assigned(&rescoped), ["proj_a"]);
    assert_eq!(rescoped["role"], "viewer");
    let after: chrono::DateTime<chrono::Utc> = rescoped["updated_at"]
        .as_str()
        .expect("updated_at")
        .parse()
        .expect("time");
    assert!(after > before, "{before} then {after}");
    // The very next request with the same token sees the new scope.
    let (status, reason) = ask(&s, &token, "GET", "/api/v1/views/v_b/rows").await;
    assert_eq!((status, reason.as_deref()), (403, Some("no_right")));
    assert_eq!(
        ask(&s, &token, "GET", "/api/v1/views/v_a/rows").await,
        (200, None)
    );
    let (status, dashboard) = me(&s, &token).await;
    assert_eq!(
        (status, visible(&dashboard)),
        (200, vec!["proj_a"]),
        "{dashboard}"
    );
    assert_eq!(dashboard["total_projects_visible"], 1);
}

#[tokio::test]
async fn v1_me_answers_every_token_kind_no_token_and_401_for_a_bad_token() {
    let (s, admin) = projects().await;
    let (status, v) = me(&s, &admin).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["kind"].as_str(), v["total_projects_visible"].as_u64()),
        (Some("admin"), Some(0))
    );

    let guest = json!({ "kind": "guest", "workspace": "proj_b", "view": "v_b", "allow": ["read"] });
    let (status, g) = call(&s, Method::POST, &admin, "/tokens", &guest.to_string()).await;
    assert_eq!(status, 201, "{g}");
    let (status, v) = me(&s, g["token"].as_str().expect("token")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["kind"], "guest");
    assert_eq!(v["scope"], "view:v_b");
    assert_eq!(v["operations"], json!(["read"]));
    assert_eq!(
        v["total_projects_visible"], 0,
        "a view's guest sees no whole project: {v}"
    );

    // No token: what anyone sees, with no kind and no project.
    let (status, v) = me(&s, "").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["kind"].is_null(), v["total_projects_visible"].as_u64()),
        (true, Some(0)),
        "{v}"
    );
    let (status, v) = me(&s, "not-a-token").await;
    assert_eq!(status, 401, "{v}");
}

#[tokio::test]
async fn an_owner_invites_into_its_own_projects_only_and_bad_input_changes_nothing() {
    let (s, admin) = projects().await;
    let body = json!({ "email": "olga@agency.example", "id": "u_olga", "role": "admin", "projects": ["proj_a"] });
    let (status, olga) = call(&s, Method::POST, &admin, "/members", &body.to_string()).await;
    assert_eq!(
        (status, olga["id"].as_str()),
        (201, Some("u_olga")),
        "{olga}"
    );
    let olga = member_token(&s, &admin, "u_olga").await;

    let invite = |projects: Value| {
        json!({ "email": "vic@client.example", "role": "viewer", "projects": projects }).to_string()
    };
    let (status, vic) = call(
        &s,
        Method::POST,
        &olga,
        "/members",
        &invite(json!(["proj_a"])),
    )
    .await;
    assert_eq!(status, 201, "{vic}");
    let vic_id = vic["id"].as_str().expect("id").to_owned();

    let cases: [(&str, String, u16, &str); 7] = [
        (
            "/members",
            invite(json!(["proj_b"])),
            403,
            "not_workspace_admin",
        ),
        (
            "/members",
            invite(json!(["proj_a", "proj_b"])),
            403,
            "not_workspace_admin",
        ),
        (
            "/members",
            invite(json!(["proj_nope"])),
            400,
            "unknown_project",
        ),
        ("/members", invite(json!([])), 400, "no_projects"),
        (
            "/members",
            r#"{"email": "vic@client.example", "role": "viewer""#.into(),
            400,
            "bad_request",
        ),
        (
            "/members",
            invite(json!(["proj_a"])).replace("viewer", "boss"),
            400,
            "unknown_role",
        ),
        (
            "/members",
            json!({ "email": "x@y.example", "role": "viewer", "projects": ["proj_a"], "extra": 1 })
                .to_string(),
            400,
            "bad_request",
        ),
    ];
    for (path, body, want, code) in &cases {
        let (status, v) = call(&s, Method::POST, &olga, path, body).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (*want, Some(*code)),
            "{body}: {v}"
        );
    }
    let projects_path = format!("/members/{vic_id}/projects");
    for (body, want, code) in [
        (
            json!({ "project_ids": ["proj_b"] }).to_string(),
            403,
            "not_workspace_admin",
        ),
        (json!({ "project_ids": [] }).to_string(), 400, "no_projects"),
        (
            json!({ "project_ids": ["proj_nope"] }).to_string(),
            400,
            "unknown_project",
        ),
        (r#"{"project_ids": "#.to_owned(), 400, "bad_request"),
    ] {
        let (status, v) = call(&s, Method::PUT, &olga, &projects_path, &body).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (want, Some(code)),
            "{body}: {v}"
        );
    }
    let (status, v) = call(
        &s,
        Method::PUT,
        &admin,
        "/members/u_ghost/projects",
        &json!({ "project_ids": ["proj_a"] }).to_string(),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("unknown_user")),
        "{v}"
    );

    // Read-backs: vic is on proj_a only, nobody new was registered, and
    // proj_b's members are as they were (none).
    let (status, user) = call(&s, Method::GET, &admin, &format!("/users/{vic_id}"), "").await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["workspaces"], json!({ "proj_a": "viewer" }));
    let (status, _) = call(&s, Method::GET, &admin, "/users/u_ghost", "").await;
    assert_eq!(status, 404);
    let (status, members) = call(&s, Method::GET, &admin, "/workspaces/proj_b/members", "").await;
    assert_eq!(
        (status, &members["members"]),
        (200, &json!([])),
        "{members}"
    );
}

/// `tessera --data-dir DATA [--server URL] ARGS…`: its exit, and its
/// stdout as JSON (null when it is not JSON).
fn tessera(data: &std::path::Path, server: Option<&str>, args: &[&str]) -> (bool, Value) {
    let mut c = std::process::Command::new(server::tessera_bin());
    c.arg("--data-dir").arg(data);
    if let Some(url) = server {
        c.args(["--server", url]);
    }
    let out = c.args(args).output().expect("run tessera");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// `member invite` then `member projects`, on the local store or a gateway.
fn assignments_through_the_cli(data: &std::path::Path, server: Option<&str>) {
    for p in ["proj_a", "proj_b"] {
        let t = p.replace("proj_", "t_");
        let (ok, _) = tessera(data, server, &["table", "set", &t, "--workspace", p]);
        assert!(ok, "table set {t}");
    }
    let invite = [
        "member",
        "invite",
        "--email",
        "vera@client.example",
        "--role",
        "viewer",
        "--projects",
        "proj_a,proj_b",
        "--json",
    ];
    let (ok, vera) = tessera(data, server, &invite);
    assert!(ok, "{vera}");
    assert_eq!(assigned(&vera), ["proj_a", "proj_b"]);
    assert_eq!(vera["role"], "viewer");
    let user = vera["id"].as_str().expect("id").to_owned();
    let (ok, v) = tessera(
        data,
        server,
        &["member", "projects", &user, "proj_b", "--json"],
    );
    assert!(ok, "{v}");
    assert_eq!(assigned(&v), ["proj_b"]);
    let (ok, _) = tessera(data, server, &["member", "projects", &user, "proj_nope"]);
    assert!(!ok, "an unknown project is refused");
    let (ok, v) = tessera(
        data,
        server,
        &["member", "projects", &user, "proj_b", "--json"],
    );
    assert!(ok && assigned(&v) == ["proj_b"], "unchanged: {v}");
    let (ok, v) = tessera(
        data,
        server,
        &[
            "member",
            "projects",
            &user,
            "proj_b",
            "--expires",
            "7d",
            "--json",
        ],
    );
    assert!(ok, "{v}");
    let expires = v["assigned_projects"][0]["expires_at"]
        .as_str()
        .unwrap_or("");
    assert!(
        expires.parse::<chrono::DateTime<chrono::Utc>>().is_ok(),
        "{v}"
    );
}

#[test]
fn the_assignment_commands_work_on_the_local_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    assert!(tessera(&data, None, &["init"]).0, "tessera init");
    assignments_through_the_cli(&data, None);
}

#[test]
fn the_assignment_commands_work_through_the_server() {
    let s = Server::start(&[]);
    assignments_through_the_cli(&s.data, Some(&s.base));
}

/// Waits (at most ten seconds) until the clock is past `at`.
async fn wait_past(at: chrono::DateTime<chrono::Utc>) {
    for _ in 0..100 {
        if chrono::Utc::now() > at {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the clock did not pass {at}");
}

#[tokio::test]
async fn validgraph_an_expired_assignment_is_as_if_removed() {
    let (s, admin) = projects().await;
    let until = chrono::Utc::now() + chrono::Duration::seconds(3);
    let at = until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = json!({ "email": "eve@client.example", "id": "u_eve", "role": "viewer",
                       "projects": ["proj_a"], "expires": at });
    let (status, eve) = call(&s, Method::POST, &admin, "/members", &body.to_string()).await;
    assert_eq!(status, 201, "{eve}");
    assert_eq!(
        eve["assigned_projects"][0]["expires_at"],
        at.as_str(),
        "{eve}"
    );
    // proj_b for good, proj_a until `at` (the re-scope keeps both; only
    // proj_a carries the expiry because only it is listed with one).
    let body = json!({ "email": "eve@client.example", "role": "viewer", "projects": ["proj_b"] });
    let (status, eve) = call(&s, Method::POST, &admin, "/members", &body.to_string()).await;
    assert_eq!(status, 201, "{eve}");
    assert_eq!(assigned(&eve), ["proj_a", "proj_b"]);
    assert_eq!(eve["assigned_projects"][1].get("expires_at"), None, "{eve}");

    let token = member_token(&s, &admin, "u_eve").await;
    let (_, dashboard) = me(&s, &token).await;
    assert_eq!(visible(&dashboard), ["proj_a", "proj_b"], "{dashboard}");
    let rows = "/api/v1/views/v_a/rows";
    assert_eq!(ask(&s, &token, "GET", rows).await, (200, None));

    wait_past(until).await;
    let (status, reason) = ask(&s, &token, "GET", rows).await;
    assert_eq!((status, reason.as_deref()), (403, Some("no_right")));
    assert_eq!(
        ask(&s, &token, "GET", "/api/v1/views/v_b/rows").await,
        (200, None)
    );
    let (_, dashboard) = me(&s, &token).await;
    assert_eq!(visible(&dashboard), ["proj_b"], "{dashboard}");
    let (status, user) = call(&s, Method::GET, &admin, "/users/u_eve", "").await;
    assert_eq!(status, 200, "{user}");

    // A re-scope without `expires` gives a lasting role back.
    let body = json!({ "project_ids": ["proj_a", "proj_b"] }).to_string();
    let (status, eve) = call(&s, Method::PUT, &admin, "/members/u_eve/projects", &body).await;
    assert_eq!(status, 200, "{eve}");
    assert_eq!(assigned(&eve), ["proj_a", "proj_b"]);
    assert_eq!(eve["assigned_projects"][0].get("expires_at"), None, "{eve}");
    assert_eq!(ask(&s, &token, "GET", rows).await, (200, None));

    // A relative expiry counts from now; one in the past or malformed is
    // a 400 that changes nothing.
    let body = json!({ "project_ids": ["proj_a"], "expires": "7d" }).to_string();
    let (status, eve) = call(&s, Method::PUT, &admin, "/members/u_eve/projects", &body).await;
    assert_eq!(status, 200, "{eve}");
    let expires: chrono::DateTime<chrono::Utc> = eve["assigned_projects"][0]["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .expect("time");
    let week = chrono::Utc::now() + chrono::Duration::days(7);
    assert!((week - expires).num_seconds().abs() < 60, "{eve}");
    for bad in ["2001-01-01T00:00:00Z", "soon", "7y"] {
        let body = json!({ "project_ids": ["proj_b"], "expires": bad }).to_string();
        let (status, v) = call(&s, Method::PUT, &admin, "/members/u_eve/projects", &body).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("bad_request")),
            "{bad}: {v}"
        );
    }
    let (_, dashboard) = me(&s, &token).await;
    assert_eq!(visible(&dashboard), ["proj_a"], "unchanged: {dashboard}");
}

#[tokio::test]
async fn v1_me_decides_on_at_most_the_configured_page_and_pages_on_with_its_cursor() {
    let s = Server::start(&["--me-page-size", "2"]);
    let admin = s.admin_token();
    for p in ["a", "b", "c"] {
        let body = json!({ "email": "pam@client.example", "id": "u_pam", "role": "viewer",
                           "projects": [format!("proj_{p}")] });
        call(
            &s,
            Method::PUT,
            &admin,
            &format!("/workspaces/proj_{p}"),
            "",
        )
        .await;
        let (status, v) = call(&s, Method::POST, &admin, "/members", &body.to_string()).await;
        assert_eq!(status, 201, "{v}");
    }
    let token = member_token(&s, &admin, "u_pam").await;
    let mut seen = Vec::new();
    let mut url = "/v1/me?limit=50".to_owned();
    for _ in 0..10 {
        let answer = client()
            .get(s.url(&url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET /v1/me");
        let v: Value = answer.json().await.expect("json");
        let page = visible(&v);
        assert!(page.len() <= 2, "a limit above the page size is cut: {v}");
        seen.extend(page.iter().map(|p| p.to_string()));
        match v["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/me?limit=50&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["proj_a", "proj_b", "proj_c"]);
    for bad in ["/v1/me?limit=x", "/v1/me?cursor=a/b/c"] {
        let answer = client().get(s.url(bad)).bearer_auth(&token).send().await;
        let answer = answer.expect("GET /v1/me");
        assert_eq!(answer.status(), 400, "{bad}");
    }
}

#[test]
fn tessera_view_set_takes_the_visibility_and_the_creator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    assert!(tessera(&data, None, &["init"]).0, "tessera init");
    let user: Vec<&str> = "user put u_ana --email ana@example.com --name Ana"
        .split(' ')
        .collect();
    assert!(tessera(&data, None, &user).0, "user put");
    let set: Vec<&str> =
        "view set v_1 --table t_1 --workspace proj_a --visibility locked --creator u_ana"
            .split(' ')
            .collect();
    assert!(tessera(&data, None, &set).0, "view set");
    let (ok, v) = tessera(&data, None, &["view", "show", "v_1", "--json"]);
    assert!(ok, "{v}");
    assert_eq!(
        (v["visibility"].as_str(), v["creator"].as_str()),
        (Some("locked"), Some("u_ana"))
    );
    assert_eq!(v["settings"]["locked"], true, "one notion with the setting");
    let hidden = ["view", "set", "v_1", "--visibility", "hidden"];
    assert!(!tessera(&data, None, &hidden).0, "an unknown word");
    let ghost = ["view", "set", "v_1", "--creator", "u_ghost"];
    assert!(!tessera(&data, None, &ghost).0, "an unregistered creator");
    let (_, after) = tessera(&data, None, &["view", "show", "v_1", "--json"]);
    assert_eq!(after, v, "unchanged");
}
