//! Managing members through the admin API over loopback HTTP against the
//! real binary, and through the CLI (local store and `--server`): users,
//! a workspace's members and groups, a table's author and access in
//! TinyTables' and Schema Builder's words, member tokens; who may make
//! which change with a member token (403 with the refusal's code), bad
//! input (400 with a code) — each refusal followed by a read-back proving
//! nothing changed.

mod server;

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use server::{client, Server};

/// Sends `body` (if any) to `/admin/v1{path}` with `token`; the status and JSON answer.
async fn send(
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

async fn get(s: &Server, token: &str, path: &str) -> Value {
    let (status, v) = send(s, Method::GET, token, path, None).await;
    assert_eq!(status, 200, "GET {path}: {v}");
    v
}

async fn put(s: &Server, token: &str, path: &str, body: Value) -> Value {
    let (status, v) = send(s, Method::PUT, token, path, Some(body)).await;
    assert_eq!(status, 200, "PUT {path}: {v}");
    v
}

/// Asserts the answer is `status` with error code `code`.
fn refused((status, v): (u16, Value), want: u16, code: &str) {
    assert_eq!((status, v["error"].as_str()), (want, Some(code)), "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| !m.contains("--")),
        "{v}"
    );
}

/// ws_1 with table t_1, users u_own (owner), u_adm (admin), u_mem and
/// u_mem2 (member), u_view (viewer), u_out (registered, not a member);
/// group g_fin {u_mem}.
async fn seeded(args: &[&str]) -> (Server, String) {
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
async fn refuse(
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
async fn member_token(s: &Server, admin: &str, user: &str) -> String {
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
async fn roles(s: &Server, admin: &str) -> Value {
    let list = get(s, admin, "/workspaces/ws_1/members").await;
    let mut roles = serde_json::Map::new();
    for m in list["members"].as_array().unwrap() {
        roles.insert(m["user"].as_str().unwrap().to_owned(), m["role"].clone());
    }
    Value::Object(roles)
}

#[tokio::test]
async fn users_members_and_groups_round_trip_with_the_admin_token() {
    let (s, admin) = seeded(&[]).await;
    let user = get(&s, &admin, "/users/u_mem").await;
    assert_eq!(user["email"], "u_mem@example.com");
    assert_eq!(user["workspaces"], json!({ "ws_1": "member" }));
    let renamed = put(
        &s,
        &admin,
        "/users/u_mem",
        json!({ "email": "m@example.com", "name": "Mia" }),
    )
    .await;
    assert_eq!(
        (renamed["email"].as_str(), renamed["name"].as_str()),
        (Some("m@example.com"), Some("Mia"))
    );
    assert_eq!(
        roles(&s, &admin).await,
        json!({ "u_own": "owner", "u_adm": "admin", "u_mem": "member", "u_mem2": "member", "u_view": "viewer" })
    );
    let member = put(
        &s,
        &admin,
        "/workspaces/ws_1/members/u_view",
        json!({ "role": "member" }),
    )
    .await;
    assert_eq!(
        member,
        json!({ "workspace": "ws_1", "user": "u_view", "role": "member" })
    );
    assert_eq!(
        get(&s, &admin, "/workspaces/ws_1/members/u_view").await["role"],
        "member"
    );

    let group = get(&s, &admin, "/workspaces/ws_1/groups/g_fin").await;
    assert_eq!(
        group,
        json!({ "workspace": "ws_1", "id": "g_fin", "name": "Finance", "members": ["u_mem"] })
    );
    put(
        &s,
        &admin,
        "/workspaces/ws_1/groups/g_ops",
        json!({ "name": "Ops", "members": ["u_mem", "u_view"] }),
    )
    .await;
    let groups = get(&s, &admin, "/workspaces/ws_1/groups").await;
    let ids: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["g_fin", "g_ops"]);
    assert_eq!(
        send(
            &s,
            Method::DELETE,
            &admin,
            "/workspaces/ws_1/groups/g_ops",
            None
        )
        .await
        .0,
        204
    );
    refuse(
        &s,
        Method::GET,
        &admin,
        "/workspaces/ws_1/groups/g_ops",
        None,
        404,
        "not_found",
    )
    .await;

    assert_eq!(
        send(
            &s,
            Method::DELETE,
            &admin,
            "/workspaces/ws_1/members/u_view",
            None
        )
        .await
        .0,
        204
    );
    assert!(roles(&s, &admin).await.get("u_view").is_none());
    assert_eq!(
        send(&s, Method::DELETE, &admin, "/users/u_mem", None)
            .await
            .0,
        204
    );
    refuse(
        &s,
        Method::GET,
        &admin,
        "/users/u_mem",
        None,
        404,
        "not_found",
    )
    .await;
    assert!(
        get(&s, &admin, "/workspaces/ws_1/groups/g_fin").await["members"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The audit actor is the admin token's id.
    let tokens = get(&s, &admin, "/tokens?kind=admin").await;
    let admin_id = tokens["tokens"][0]["token_id"].clone();
    let audit = get(&s, &admin, "/audit").await;
    let last = audit["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["event"].as_str(), &last["actor"]),
        (Some("user_changed"), &json!({ "token": admin_id }))
    );
}

#[tokio::test]
async fn table_access_reads_back_in_both_vocabularies() {
    let (s, admin) = seeded(&[]).await;
    let fresh = get(&s, &admin, "/tables/t_1/access").await;
    assert_eq!(
        (fresh["mode"].as_str(), &fresh["people"]),
        (Some("workspace"), &json!([]))
    );
    let schema = get(&s, &admin, "/tables/t_1/permissions").await;
    assert_eq!(
        (
            schema["schema"]["mode"].as_str(),
            schema["records"]["mode"].as_str()
        ),
        (Some("public"), Some("public"))
    );

    // The author is recorded, the access already set is kept.
    put(
        &s,
        &admin,
        "/tables/t_1/access",
        json!({ "mode": "private" }),
    )
    .await;
    let table = put(
        &s,
        &admin,
        "/tables/t_1",
        json!({ "workspace": "ws_1", "author": "u_mem" }),
    )
    .await;
    assert_eq!(table["workspace"], "ws_1");
    let access = get(&s, &admin, "/tables/t_1/access").await;
    assert_eq!(
        (access["mode"].as_str(), access["author"].as_str()),
        (Some("private"), Some("u_mem"))
    );

    let specific = json!({ "mode": "specific", "people": [
        { "user": "u_mem2", "level": "editor" }, { "group": "g_fin", "level": "viewer" } ] });
    let written = put(&s, &admin, "/tables/t_1/access", specific).await;
    assert_eq!(
        written["people"],
        json!([{ "user": "u_mem2", "level": "editor" }, { "group": "g_fin", "level": "viewer" }])
    );
    assert_eq!(written["author"], "u_mem", "the author is kept");
    let schema = get(&s, &admin, "/tables/t_1/permissions").await;
    assert_eq!(schema["records"]["mode"], "restricted");
    assert_eq!(schema["records"]["users"][0]["id"], "u_mem2");
    assert_eq!(schema["records"]["groups"][0]["id"], "g_fin");

    let permissions = json!({
        "schema": { "mode": "read-only" },
        "records": { "mode": "restricted", "users": [{ "id": "u_view", "permissions": ["read"] }],
                     "groups": [{ "id": "g_fin", "permissions": ["read", "edit"] }] } });
    let written = put(&s, &admin, "/tables/t_1/permissions", permissions).await;
    assert_eq!(written["schema"]["mode"], "read-only");
    assert_eq!(
        written["records"]["groups"][0]["permissions"],
        json!(["read", "edit"])
    );
    let access = get(&s, &admin, "/tables/t_1/access").await;
    assert_eq!(
        (access["mode"].as_str(), access["exact"].as_bool()),
        (Some("specific"), Some(false))
    );

    // A new table is open to the workspace.
    put(&s, &admin, "/tables/t_2", json!({ "workspace": "ws_1" })).await;
    assert_eq!(
        get(&s, &admin, "/tables/t_2/access").await["mode"],
        "workspace"
    );
    refuse(
        &s,
        Method::GET,
        &admin,
        "/tables/t_404/access",
        None,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn member_tokens_make_only_the_changes_their_user_may() {
    let (s, admin) = seeded(&[]).await;
    let owner = member_token(&s, &admin, "u_own").await;
    let adm = member_token(&s, &admin, "u_adm").await;
    let member = member_token(&s, &admin, "u_mem").await;
    let viewer = member_token(&s, &admin, "u_view").await;
    let before = roles(&s, &admin).await;

    let role = |r: &str| Some(json!({ "role": r }));
    let path = "/workspaces/ws_1/members/u_mem2";
    refuse(
        &s,
        Method::PUT,
        &member,
        path,
        role("viewer"),
        403,
        "not_workspace_admin",
    )
    .await;
    refuse(
        &s,
        Method::PUT,
        &viewer,
        path,
        role("viewer"),
        403,
        "not_workspace_admin",
    )
    .await;
    refuse(
        &s,
        Method::PUT,
        &adm,
        "/workspaces/ws_1/members/u_adm",
        role("owner"),
        403,
        "own_role",
    )
    .await;
    refuse(
        &s,
        Method::PUT,
        &adm,
        path,
        role("owner"),
        403,
        "above_own_level",
    )
    .await;
    refuse(
        &s,
        Method::DELETE,
        &adm,
        "/workspaces/ws_1/members/u_own",
        None,
        403,
        "above_own_level",
    )
    .await;
    refuse(
        &s,
        Method::DELETE,
        &member,
        path,
        None,
        403,
        "not_workspace_admin",
    )
    .await;
    let group = Some(json!({ "name": "Ops", "members": ["u_mem2"] }));
    refuse(
        &s,
        Method::PUT,
        &member,
        "/workspaces/ws_1/groups/g_ops",
        group.clone(),
        403,
        "not_workspace_admin",
    )
    .await;
    assert_eq!(roles(&s, &admin).await, before, "nothing changed");
    assert_eq!(
        get(&s, &admin, "/workspaces/ws_1/groups").await["groups"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    assert_eq!(
        send(&s, Method::PUT, &adm, path, role("viewer")).await.0,
        200
    );
    assert_eq!(
        send(&s, Method::PUT, &owner, path, role("admin")).await.0,
        200
    );
    assert_eq!(roles(&s, &admin).await["u_mem2"], "admin");
    assert_eq!(
        send(
            &s,
            Method::PUT,
            &adm,
            "/workspaces/ws_1/groups/g_ops",
            group
        )
        .await
        .0,
        200
    );
    // Any member reads the workspace's members; the audit actor is the member token's id.
    assert_eq!(
        get(&s, &viewer, "/workspaces/ws_1/members").await["members"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let audit = get(&s, &admin, "/audit").await;
    let last = audit["events"].as_array().unwrap().last().unwrap().clone();
    let ledger = get(&s, &admin, "/tokens?kind=member").await;
    let ids: Vec<&Value> = ledger["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["token_id"])
        .collect();
    assert!(ids.contains(&&last["actor"]["token"]), "{last}");

    // A member token attenuated to read only reads.
    let out = std::process::Command::new(server::tessera_bin())
        .args(["attenuate", "-", "--allow", "read"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(owner.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let read_only = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(
        get(&s, &read_only, "/workspaces/ws_1/members/u_mem2").await["role"],
        "admin"
    );
    refuse(
        &s,
        Method::PUT,
        &read_only,
        path,
        role("member"),
        403,
        "check_failed",
    )
    .await;
    assert_eq!(
        roles(&s, &admin).await["u_mem2"],
        "admin",
        "nothing changed"
    );

    // Everything else takes an admin token.
    for (method, path, body) in [
        (Method::GET, "/tokens", None),
        (Method::POST, "/tokens", Some(json!({ "kind": "admin" }))),
        (
            Method::PUT,
            "/users/u_mem",
            Some(json!({ "email": "x@example.com", "name": "X" })),
        ),
        (Method::POST, "/members/u_own/tokens", None),
        (Method::GET, "/tables/t_1", None),
        (Method::GET, "/audit", None),
    ] {
        refuse(&s, method, &owner, path, body, 403, "wrong_kind").await;
    }
    assert_eq!(
        get(&s, &admin, "/users/u_mem").await["email"],
        "u_mem@example.com"
    );
}

#[tokio::test]
async fn authors_and_admins_change_a_tables_access_and_members_create_tables() {
    let (s, admin) = seeded(&[]).await;
    let member = member_token(&s, &admin, "u_mem").await;
    let other = member_token(&s, &admin, "u_mem2").await;
    let viewer = member_token(&s, &admin, "u_view").await;
    let adm = member_token(&s, &admin, "u_adm").await;

    let created = put(&s, &member, "/tables/t_new", json!({ "workspace": "ws_1" })).await;
    assert_eq!(created["id"], "t_new");
    assert_eq!(
        get(&s, &admin, "/tables/t_new/access").await["author"],
        "u_mem"
    );
    let (status, v) = send(
        &s,
        Method::PUT,
        &viewer,
        "/tables/t_view",
        Some(json!({ "workspace": "ws_1" })),
    )
    .await;
    refused((status, v), 403, "not_workspace_admin");
    refuse(
        &s,
        Method::GET,
        &admin,
        "/tables/t_view",
        None,
        404,
        "not_found",
    )
    .await;

    let private = Some(json!({ "mode": "private" }));
    assert_eq!(
        send(
            &s,
            Method::PUT,
            &member,
            "/tables/t_new/access",
            private.clone()
        )
        .await
        .0,
        200
    );
    refuse(
        &s,
        Method::PUT,
        &other,
        "/tables/t_new/access",
        Some(json!({ "mode": "workspace" })),
        403,
        "not_author_or_admin",
    )
    .await;
    let schema = Some(json!({ "schema": { "mode": "public" }, "records": { "mode": "public" } }));
    refuse(
        &s,
        Method::PUT,
        &other,
        "/tables/t_new/permissions",
        schema.clone(),
        403,
        "not_author_or_admin",
    )
    .await;
    refuse(
        &s,
        Method::PUT,
        &other,
        "/tables/t_new",
        Some(json!({ "workspace": "ws_1", "author": "u_mem2" })),
        403,
        "not_author_or_admin",
    )
    .await;
    let access = get(&s, &admin, "/tables/t_new/access").await;
    assert_eq!(
        (access["mode"].as_str(), access["author"].as_str()),
        (Some("private"), Some("u_mem"))
    );

    assert_eq!(
        send(&s, Method::PUT, &adm, "/tables/t_new/permissions", schema)
            .await
            .0,
        200
    );
    assert_eq!(
        get(&s, &admin, "/tables/t_new/access").await["mode"],
        "workspace"
    );
}

#[tokio::test]
async fn the_last_owner_stays_and_bad_input_changes_nothing() {
    let (s, admin) = seeded(&[]).await;
    let before = roles(&s, &admin).await;
    let owner = "/workspaces/ws_1/members/u_own";
    refuse(&s, Method::DELETE, &admin, owner, None, 403, "last_owner").await;
    refuse(
        &s,
        Method::PUT,
        &admin,
        owner,
        Some(json!({ "role": "admin" })),
        403,
        "last_owner",
    )
    .await;
    refuse(
        &s,
        Method::DELETE,
        &admin,
        "/users/u_own",
        None,
        403,
        "last_owner",
    )
    .await;
    let cases = [
        (
            "/workspaces/ws_1/members/u_nobody",
            json!({ "role": "member" }),
            "unknown_user",
        ),
        (
            "/workspaces/ws_1/members/u_mem",
            json!({ "role": "emperor" }),
            "unknown_role",
        ),
        (
            "/workspaces/ws_1/groups/g_x",
            json!({ "name": "X", "members": ["u_out"] }),
            "not_in_workspace",
        ),
        (
            "/workspaces/ws_1/groups/g_x",
            json!({ "name": "X", "members": ["bad id!"] }),
            "bad_request",
        ),
        (
            "/users/u_new",
            json!({ "email": "not-an-address", "name": "N" }),
            "invalid_email",
        ),
    ];
    for (path, body, code) in cases {
        refuse(&s, Method::PUT, &admin, path, Some(body), 400, code).await;
    }
    assert_eq!(roles(&s, &admin).await, before, "nothing changed");
    assert_eq!(
        get(&s, &admin, "/workspaces/ws_1/groups").await["groups"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    refuse(
        &s,
        Method::GET,
        &admin,
        "/users/u_new",
        None,
        404,
        "not_found",
    )
    .await;

    put(
        &s,
        &admin,
        "/tables/t_1/access",
        json!({ "mode": "private" }),
    )
    .await;
    let tables = [
        ("/access", json!({ "mode": "everyone" }), "unknown_mode"),
        (
            "/access",
            json!({ "mode": "specific", "people": [{ "user": "u_mem", "level": "god" }] }),
            "unknown_level",
        ),
        (
            "/access",
            json!({ "mode": "specific", "people": [{ "user": "u_out", "level": "viewer" }] }),
            "not_in_workspace",
        ),
        (
            "/access",
            json!({ "mode": "specific", "people": [{ "group": "g_404", "level": "viewer" }] }),
            "unknown_group",
        ),
        (
            "/access",
            json!({ "mode": "workspace", "people": [{ "user": "u_mem", "level": "viewer" }] }),
            "entries_need_restricted",
        ),
        (
            "/permissions",
            json!({ "schema": { "mode": "open" }, "records": { "mode": "public" } }),
            "unknown_mode",
        ),
        (
            "/permissions",
            json!({ "schema": { "mode": "public" }, "records": { "mode": "restricted",
            "users": [{ "id": "u_mem", "permissions": ["fly"] }] } }),
            "unknown_permission",
        ),
        (
            "/permissions",
            json!({ "schema": { "mode": "public", "users": [{ "id": "u_mem", "permissions": ["read"] }] },
            "records": { "mode": "public" } }),
            "entries_need_restricted",
        ),
    ];
    for (route, body, code) in tables {
        refuse(
            &s,
            Method::PUT,
            &admin,
            &format!("/tables/t_1{route}"),
            Some(body),
            400,
            code,
        )
        .await;
    }
    refuse(
        &s,
        Method::PUT,
        &admin,
        "/tables/t_1",
        Some(json!({ "workspace": "ws_1", "author": "u_out" })),
        400,
        "not_in_workspace",
    )
    .await;
    let access = get(&s, &admin, "/tables/t_1/access").await;
    assert_eq!(
        (access["mode"].as_str(), &access["author"]),
        (Some("private"), &Value::Null),
        "nothing changed"
    );
    for path in ["/users/bad%20id", "/workspaces/ws_1/members/bad%20id"] {
        let body = json!({ "email": "a@b.c", "name": "A", "role": "member" });
        let (status, v) = send(&s, Method::PUT, &admin, path, Some(body)).await;
        assert_eq!(status, 400, "{path}: {v}");
        assert_eq!(v["error"], "bad_request", "{path}: {v}");
    }
    assert_eq!(roles(&s, &admin).await, before, "nothing changed");
}

fn expiry(v: &Value) -> DateTime<Utc> {
    v["expires_at"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn member_tokens_expire_after_the_configured_lifetime() {
    let (s, admin) = seeded(&[]).await;
    let (status, v) = send(
        &s,
        Method::POST,
        &admin,
        "/members/u_mem/tokens",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let twelve = expiry(&v) - (Utc::now() + Duration::hours(12));
    assert!(twelve.num_seconds().abs() < 60, "{v}");
    let ledger = get(&s, &admin, "/tokens?kind=member").await;
    assert_eq!(
        ledger["tokens"][0]["token_id"], v["token_id"],
        "recorded in the ledger"
    );

    let (_, v) = send(
        &s,
        Method::POST,
        &admin,
        "/members/u_mem/tokens",
        Some(json!({ "expires": "1h" })),
    )
    .await;
    assert!(
        (expiry(&v) - (Utc::now() + Duration::hours(1)))
            .num_seconds()
            .abs()
            < 60,
        "{v}"
    );
    refuse(
        &s,
        Method::POST,
        &admin,
        "/members/u_nobody/tokens",
        None,
        400,
        "unknown_user",
    )
    .await;
    refuse(
        &s,
        Method::POST,
        &admin,
        "/members/u_mem/tokens",
        Some(json!({ "expires": "soon" })),
        400,
        "bad_request",
    )
    .await;
    assert_eq!(
        get(&s, &admin, "/tokens?kind=member").await["tokens"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (s, admin) = seeded(&["--member-token-ttl", "30m"]).await;
    let (_, v) = send(&s, Method::POST, &admin, "/members/u_mem/tokens", None).await;
    assert!(
        (expiry(&v) - (Utc::now() + Duration::minutes(30)))
            .num_seconds()
            .abs()
            < 60,
        "{v}"
    );
}

/// `tessera --data-dir DATA [--server URL] ARGS…`: success's stdout as JSON
/// (or text when it is not JSON).
fn cli(data: &std::path::Path, server: Option<&str>, args: &[&str], stdin: &str) -> Value {
    let mut c = assert_cmd::Command::cargo_bin("tessera").unwrap();
    c.arg("--data-dir").arg(data);
    if let Some(url) = server {
        c.args(["--server", url]);
    }
    let out = c.args(args).write_stdin(stdin).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// `tessera … ARGS…` failing: its stderr.
fn cli_fails(data: &std::path::Path, server: Option<&str>, args: &[&str]) -> String {
    let mut c = assert_cmd::Command::cargo_bin("tessera").unwrap();
    c.arg("--data-dir").arg(data);
    if let Some(url) = server {
        c.args(["--server", url]);
    }
    let out = c.args(args).assert().failure();
    String::from_utf8(out.get_output().stderr.clone()).unwrap()
}

/// The members commands, end to end, on the local store or through a gateway.
fn members_through_the_cli(data: &std::path::Path, server: Option<&str>) {
    let run = |args: &[&str]| cli(data, server, args, "");
    run(&["table", "set", "t_1", "--workspace", "ws_1"]);
    for user in ["u_own", "u_mem", "u_out"] {
        let email = format!("{user}@example.com");
        let shown = run(&[
            "user", "put", user, "--email", &email, "--name", user, "--json",
        ]);
        assert_eq!(shown["email"], email.as_str());
    }
    run(&[
        "member",
        "set",
        "--workspace",
        "ws_1",
        "--user",
        "u_own",
        "--role",
        "owner",
    ]);
    let set = run(&[
        "member",
        "set",
        "--workspace",
        "ws_1",
        "--user",
        "u_mem",
        "--role",
        "member",
        "--json",
    ]);
    assert_eq!(set["role"], "member");
    let list = run(&["member", "list", "--workspace", "ws_1", "--json"]);
    assert_eq!(
        list["members"],
        json!([{ "workspace": "ws_1", "user": "u_mem", "role": "member" },
               { "workspace": "ws_1", "user": "u_own", "role": "owner" }])
    );
    let group = run(&[
        "group",
        "put",
        "g_fin",
        "--workspace",
        "ws_1",
        "--name",
        "Finance",
        "--members",
        "u_mem,u_own",
        "--json",
    ]);
    assert_eq!(group["members"], json!(["u_mem", "u_own"]));

    let access = run(&[
        "table",
        "access",
        "t_1",
        "--mode",
        "specific",
        "--person",
        "user:u_mem=editor",
        "--person",
        "group:g_fin=viewer",
        "--json",
    ]);
    assert_eq!(
        access["people"],
        json!([{ "user": "u_mem", "level": "editor" }, { "group": "g_fin", "level": "viewer" }])
    );
    let body = r#"{"schema": {"mode": "read-only"}, "records": {"mode": "private"}}"#;
    let permissions = cli(
        data,
        server,
        &["table", "permissions", "t_1", "--json", "-"],
        body,
    );
    assert_eq!(
        (
            permissions["schema"]["mode"].as_str(),
            permissions["records"]["mode"].as_str()
        ),
        (Some("read-only"), Some("private"))
    );
    let text = run(&["table", "access", "t_1", "--mode", "workspace"]);
    assert!(
        text.as_str()
            .unwrap()
            .contains("table t_1 access: workspace"),
        "{text}"
    );

    // Errors name the CLI's flags; refused changes change nothing.
    let stderr = cli_fails(
        data,
        server,
        &[
            "table",
            "access",
            "t_1",
            "--mode",
            "private",
            "--person",
            "user:u_mem=viewer",
        ],
    );
    assert!(stderr.contains("--person"), "{stderr}");
    let stderr = cli_fails(
        data,
        server,
        &[
            "member",
            "set",
            "--workspace",
            "ws_1",
            "--user",
            "u_mem",
            "--role",
            "emperor",
        ],
    );
    assert!(
        stderr.contains("--role") && stderr.contains("emperor"),
        "{stderr}"
    );
    let stderr = cli_fails(
        data,
        server,
        &["member", "remove", "--workspace", "ws_1", "--user", "u_own"],
    );
    assert!(stderr.contains("last owner"), "{stderr}");
    let stderr = cli_fails(
        data,
        server,
        &[
            "group",
            "put",
            "g_x",
            "--workspace",
            "ws_1",
            "--name",
            "X",
            "--members",
            "u_out",
        ],
    );
    assert!(stderr.contains("u_out"), "{stderr}");
    assert_eq!(
        run(&["member", "list", "--workspace", "ws_1", "--json"])["members"],
        list["members"]
    );

    let issued = run(&["issue", "member", "--user", "u_mem", "--json"]);
    let left = expiry(&issued) - (Utc::now() + Duration::hours(12));
    assert!(left.num_seconds().abs() < 60, "{issued}");
    let issued = run(&[
        "issue",
        "member",
        "--user",
        "u_mem",
        "--expires",
        "2h",
        "--json",
    ]);
    assert!(
        (expiry(&issued) - (Utc::now() + Duration::hours(2)))
            .num_seconds()
            .abs()
            < 60,
        "{issued}"
    );
    let stderr = cli_fails(data, server, &["issue", "member", "--user", "u_nobody"]);
    assert!(stderr.contains("u_nobody"), "{stderr}");

    run(&["group", "remove", "g_fin", "--workspace", "ws_1"]);
    run(&["member", "remove", "--workspace", "ws_1", "--user", "u_mem"]);
    run(&["user", "remove", "u_out"]);
    let list = run(&["member", "list", "--workspace", "ws_1", "--json"]);
    assert_eq!(list["members"].as_array().unwrap().len(), 1);
    let stderr = cli_fails(data, server, &["user", "remove", "u_out"]);
    assert!(stderr.contains("u_out"), "{stderr}");
}

#[test]
fn the_members_commands_work_on_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    cli(&data, None, &["init"], "");
    members_through_the_cli(&data, None);
}

#[test]
fn the_members_commands_work_through_the_server() {
    let s = Server::start(&[]);
    members_through_the_cli(&s.data, Some(&s.base));
    let s = Server::start(&["--member-token-ttl", "30m"]);
    cli(
        &s.data,
        Some(&s.base),
        &[
            "user",
            "put",
            "u_1",
            "--email",
            "a@example.com",
            "--name",
            "A",
        ],
        "",
    );
    let issued = cli(
        &s.data,
        Some(&s.base),
        &["issue", "member", "--user", "u_1", "--json"],
        "",
    );
    assert!(
        (expiry(&issued) - (Utc::now() + Duration::minutes(30)))
            .num_seconds()
            .abs()
            < 60,
        "{issued}"
    );
}
