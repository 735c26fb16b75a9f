//! SchemaStack's "Share with Guest", done by a member, over loopback HTTP
//! against the real binary: a member holding `share` on a view makes a
//! guest link with its member token (a preset or a list, an expiry, a
//! label); asking for more than it holds is a 403 naming the operation;
//! the link records its maker and dies at the next request once the maker
//! is demoted or removed (`sharer_lost_right`); the view's list shows
//! label, creator, permissions, expiry and last use; revoking it ends it.
//! Bad input answers 400/403 with a code and makes no link.

mod server;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use server::{admin_call as call, client, link_ids, member_token, Server};

/// Asserts `answer` is `status` with error `code`.
fn refused(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(
        (answer.0, answer.1["error"].as_str()),
        (status, Some(code)),
        "{}",
        answer.1
    );
}

/// ws_1 ⊃ t_1 ⊃ {v_1, v_2}, open to the workspace; u_mem and u_mem2
/// members, u_view a viewer. Answers the server, the admin token and
/// u_mem's member token.
async fn seeded(args: &[&str]) -> (Server, String, String) {
    let s = Server::start(args);
    let admin = s.admin_token();
    for view in ["v_1", "v_2"] {
        let body = r#"{"table": "t_1", "workspace": "ws_1"}"#;
        let (status, v) = call(&s, Method::PUT, &admin, &format!("/views/{view}"), body).await;
        assert_eq!(status, 200, "{v}");
    }
    for (user, role) in [
        ("u_mem", "member"),
        ("u_mem2", "member"),
        ("u_view", "viewer"),
    ] {
        let body = json!({ "email": format!("{user}@example.com"), "name": user }).to_string();
        let (status, v) = call(&s, Method::PUT, &admin, &format!("/users/{user}"), &body).await;
        assert_eq!(status, 200, "{v}");
        let body = json!({ "role": role }).to_string();
        let path = format!("/workspaces/ws_1/members/{user}");
        let (status, v) = call(&s, Method::PUT, &admin, &path, &body).await;
        assert_eq!(status, 200, "{v}");
    }
    let member = member_token(&s, &admin, "u_mem").await;
    (s, admin, member)
}

/// `POST /views/{view}/shares` by `token`, asserting 201.
async fn share(s: &Server, token: &str, view: &str, body: Value) -> Value {
    let path = format!("/views/{view}/shares");
    let (status, v) = call(s, Method::POST, token, &path, &body.to_string()).await;
    assert_eq!(status, 201, "{v}");
    v
}

/// A data request through Envoy's front door with the guest `token`:
/// the status and the reason code (none when allowed).
async fn data(s: &Server, method: &str, path: &str, token: &str) -> (u16, Option<String>) {
    let r = client()
        .request(method.parse().unwrap(), s.url(&format!("/auth{path}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().map(str::to_owned))
}

/// u_mem's role in ws_1 becomes `role`.
async fn set_role(s: &Server, admin: &str, role: &str) {
    let body = json!({ "role": role }).to_string();
    let path = "/workspaces/ws_1/members/u_mem";
    let (status, v) = call(s, Method::PUT, admin, path, &body).await;
    assert_eq!(status, 200, "{v}");
}

/// `GET /api/v1/views/v_1/rows` with the guest `token`.
async fn rows(s: &Server, token: &str) -> (u16, Option<String>) {
    data(s, "GET", "/api/v1/views/v_1/rows", token).await
}

/// The link's maker no longer holds it: `403 sharer_lost_right`.
async fn dead(s: &Server, token: &str) {
    assert_eq!(
        rows(s, token).await,
        (403, Some("sharer_lost_right".to_owned()))
    );
}

fn allowed(answer: (u16, Option<String>)) {
    assert_eq!(answer, (200, None));
}

fn denied(answer: (u16, Option<String>), status: u16, code: &str) {
    assert_eq!(answer, (status, Some(code.to_owned())));
}

#[tokio::test]
async fn a_contractor_link_made_by_a_member_dies_when_the_member_is_demoted() {
    let (s, admin, member) = seeded(&[]).await;
    let body = json!({ "preset": "editor", "expires": "7d", "label": "Contractor Q3" });
    let link = share(&s, &member, "v_1", body).await;
    assert_eq!(link["created_by"], "u_mem");
    assert_eq!(link["permissions"], json!(["read", "write", "create"]));
    let link_url = link["link"].as_str().unwrap();
    assert!(link_url.contains("/s/"), "{link}");
    let expires: chrono::DateTime<chrono::Utc> =
        link["expires_at"].as_str().unwrap().parse().unwrap();
    let off = expires - (chrono::Utc::now() + chrono::Duration::days(7));
    assert!(off.num_seconds().abs() < 60, "{link}");
    let guest = link["token"].as_str().unwrap();

    allowed(rows(&s, guest).await);
    allowed(data(&s, "PATCH", "/api/v1/views/v_1/rows/r_1", guest).await);
    allowed(data(&s, "POST", "/api/v1/views/v_1/rows", guest).await);
    denied(
        data(&s, "DELETE", "/api/v1/views/v_1/rows/r_1", guest).await,
        403,
        "no_right",
    );
    denied(
        data(&s, "GET", "/api/v1/views/v_2/rows", guest).await,
        403,
        "no_right",
    );

    // The member becomes a viewer: no `share` any more. The very next request fails.
    set_role(&s, &admin, "viewer").await;
    dead(&s, guest).await;
    // Promoted back, the same link works again: it was never reissued.
    set_role(&s, &admin, "member").await;
    allowed(rows(&s, guest).await);
    // Removed from the workspace: dead again.
    let (status, _) = call(
        &s,
        Method::DELETE,
        &admin,
        "/workspaces/ws_1/members/u_mem",
        "",
    )
    .await;
    assert_eq!(status, 204);
    dead(&s, guest).await;
}

#[tokio::test]
async fn a_table_mode_change_ends_the_links_of_members_it_excludes() {
    let (s, admin, member) = seeded(&[]).await;
    let link = share(&s, &member, "v_1", json!({})).await;
    assert_eq!(link["permissions"], json!(["read"]));
    let guest = link["token"].as_str().unwrap();
    allowed(rows(&s, guest).await);
    // TinyTables' "Private": only the creator (none recorded here) and admins.
    let body = json!({ "mode": "private" }).to_string();
    let (status, v) = call(&s, Method::PUT, &admin, "/tables/t_1/access", &body).await;
    assert_eq!(status, 200, "{v}");
    dead(&s, guest).await;
}

#[tokio::test]
async fn each_preset_gives_its_operations_and_asking_for_more_than_held_names_it() {
    let (s, admin, member) = seeded(&[]).await;
    let guest_ops = [
        ("read-only", json!(["read"])),
        ("editor", json!(["read", "write", "create"])),
        ("auditor", json!(["read", "export"])),
    ];
    for (preset, ops) in guest_ops {
        let link = share(&s, &member, "v_1", json!({ "preset": preset })).await;
        assert_eq!(link["permissions"], ops, "{preset}");
        let guest = link["token"].as_str().unwrap();
        allowed(rows(&s, guest).await);
        let export = data(&s, "GET", "/api/v1/views/v_1/export", guest).await;
        let write = data(&s, "PATCH", "/api/v1/views/v_1/rows/r_1", guest).await;
        match preset {
            "auditor" => {
                allowed(export);
                denied(write, 403, "no_right");
            }
            "editor" => {
                allowed(write);
                denied(export, 403, "no_right");
            }
            _ => {
                denied(export, 403, "no_right");
                denied(write, 403, "no_right");
            }
        }
    }
    // A member holds no `delete` on rows of a workspace-open table: a 403
    // naming it, and no link made.
    let before = call(&s, Method::GET, &admin, "/views/v_1/shares", "")
        .await
        .1;
    let body = json!({ "allow": ["read", "delete"] }).to_string();
    let answer = call(&s, Method::POST, &member, "/views/v_1/shares", &body).await;
    refused(&answer, 403, "share_exceeds_rights");
    assert!(
        answer.1["message"].as_str().unwrap().contains("delete"),
        "{}",
        answer.1
    );
    // A viewer holds no share at all.
    let viewer = member_token(&s, &admin, "u_view").await;
    let answer = call(&s, Method::POST, &viewer, "/views/v_1/shares", "{}").await;
    refused(&answer, 403, "share_not_held");
    let answer = call(&s, Method::GET, &viewer, "/views/v_1/shares", "").await;
    refused(&answer, 403, "share_not_held");
    let after = call(&s, Method::GET, &admin, "/views/v_1/shares", "")
        .await
        .1;
    assert_eq!(before, after, "nothing was made");
    // The admin token is not capped by anyone's rights.
    let link = share(&s, &admin, "v_1", json!({ "allow": ["read", "delete"] })).await;
    assert_eq!(link["created_by"], "admin");
    allowed(
        data(
            &s,
            "DELETE",
            "/api/v1/views/v_1/rows/r_1",
            link["token"].as_str().unwrap(),
        )
        .await,
    );
}

#[tokio::test]
async fn the_list_shows_each_link_and_revoking_one_ends_it_at_once() {
    let (s, admin, member) = seeded(&["--last-used-flush-secs", "1"]).await;
    let body = json!({ "preset": "auditor", "expires": "30d", "label": "Audit" });
    let a = share(&s, &member, "v_1", body).await;
    let b = share(&s, &member, "v_1", json!({ "label": "Client" })).await;
    share(&s, &member, "v_2", json!({ "label": "Elsewhere" })).await;
    let guest_a = a["token"].as_str().unwrap();
    allowed(data(&s, "GET", "/api/v1/views/v_1/rows", guest_a).await);

    let deadline = Instant::now() + Duration::from_secs(10);
    let list = loop {
        let (status, list) = call(&s, Method::GET, &member, "/views/v_1/shares", "").await;
        assert_eq!(status, 200, "{list}");
        let used = list["shares"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["token_id"] == a["token_id"] && !r["last_used"].is_null());
        if used {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "last_used never appeared: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rows = list["shares"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    let row_a = rows
        .iter()
        .find(|r| r["token_id"] == a["token_id"])
        .unwrap();
    assert_eq!(row_a["label"], "Audit");
    assert_eq!(row_a["created_by"], "u_mem");
    assert_eq!(row_a["permissions"], json!(["read", "export"]));
    assert_eq!(row_a["expires_at"], a["expires_at"]);
    assert_eq!(row_a["state"], "active");
    assert!(
        rows.iter().all(|r| r.get("token").is_none()),
        "no token text in a list"
    );
    let row_b = rows
        .iter()
        .find(|r| r["token_id"] == b["token_id"])
        .unwrap();
    assert_eq!(
        (row_b["label"].as_str(), row_b["expires_at"].is_null()),
        (Some("Client"), true)
    );

    // Disable the link: one ledger revocation, by the member who holds share.
    let path = format!("/views/v_1/shares/{}", a["token_id"].as_str().unwrap());
    let (status, revoked) = call(&s, Method::DELETE, &member, &path, "").await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["token_ids"], json!([a["token_id"]]));
    denied(
        data(&s, "GET", "/api/v1/views/v_1/rows", guest_a).await,
        401,
        "revoked",
    );
    let list = call(&s, Method::GET, &admin, "/views/v_1/shares", "")
        .await
        .1;
    assert_eq!(link_ids(&list), vec![b["token_id"].clone()], "{list}");
    // A link of another view is not revoked through this one.
    let other = format!("/views/v_2/shares/{}", b["token_id"].as_str().unwrap());
    refused(
        &call(&s, Method::DELETE, &member, &other, "").await,
        403,
        "not_a_link_of_this_view",
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_code_and_makes_no_link() {
    let (s, admin, member) = seeded(&[]).await;
    let cases = [
        (r#"{"preset": "owner"}"#, "unknown_preset"),
        (r#"{"allow": ["read", "fly"]}"#, "unknown_operation"),
        (r#"{"allow": []}"#, "unknown_operation"),
        (
            r#"{"preset": "editor", "allow": ["read"]}"#,
            "preset_with_allow",
        ),
        (r#"{"expires": "soon"}"#, "invalid_expiry"),
        (r#"{"expires": "2020-01-01T00:00:00Z"}"#, "invalid_expiry"),
        (r#"{"preset": "read-only""#, "bad_request"),
        (r#"{"owner": "me"}"#, "bad_request"),
    ];
    for (body, code) in cases {
        let answer = call(&s, Method::POST, &member, "/views/v_1/shares", body).await;
        refused(&answer, 400, code);
    }
    let unknown = call(&s, Method::POST, &member, "/views/v_9/shares", "{}").await;
    refused(&unknown, 403, "share_not_held");
    refused(
        &call(&s, Method::POST, &admin, "/views/v_9/shares", "{}").await,
        404,
        "not_found",
    );
    let (_, ledger) = call(&s, Method::GET, &admin, "/tokens?kind=guest", "").await;
    assert_eq!(ledger["tokens"], json!([]), "no link was made");
    // A guest token is no way in to the admin API.
    let link = share(&s, &member, "v_1", json!({})).await;
    let guest = link["token"].as_str().unwrap();
    refused(
        &call(&s, Method::POST, guest, "/views/v_1/shares", "{}").await,
        403,
        "wrong_kind",
    );
}

/// `tessera --data-dir DATA [--server URL] ARGS…` with `token` as the
/// `--server` token: success's stdout as JSON.
fn tessera(data: &std::path::Path, server: Option<(&str, &str)>, args: &[&str]) -> Value {
    let mut c = assert_cmd::Command::cargo_bin("tessera").unwrap();
    c.arg("--data-dir").arg(data);
    if let Some((url, token)) = server {
        c.args(["--server", url]).env("TESSERA_ADMIN_TOKEN", token);
    }
    let out = c.args(args).assert().success();
    serde_json::from_slice(&out.get_output().stdout).expect("JSON output")
}

#[tokio::test]
async fn tessera_share_makes_and_lists_links_through_the_gateway_and_locally() {
    let (s, _admin, member) = seeded(&[]).await;
    let dir = s.data.clone();
    let base = s.base.clone();
    let (made, listed) = tokio::task::spawn_blocking(move || {
        let server = Some((base.as_str(), member.as_str()));
        let args = [
            "share",
            "v_1",
            "--preset",
            "auditor",
            "--expires",
            "7d",
            "--label",
            "CLI",
            "--json",
        ];
        let made = tessera(&dir, server, &args);
        let listed = tessera(&dir, server, &["share", "v_1", "--list", "--json"]);
        (made, listed)
    })
    .await
    .unwrap();
    assert_eq!(made["created_by"], "u_mem");
    assert_eq!(made["permissions"], json!(["read", "export"]));
    allowed(
        data(
            &s,
            "GET",
            "/api/v1/views/v_1/export",
            made["token"].as_str().unwrap(),
        )
        .await,
    );
    let rows = listed["shares"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(
        (rows[0]["label"].as_str(), rows[0]["created_by"].as_str()),
        (Some("CLI"), Some("u_mem"))
    );

    // On a local store the operator makes the link.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("data");
    let run = |args: &[&str]| {
        let mut c = assert_cmd::Command::cargo_bin("tessera").unwrap();
        c.arg("--data-dir")
            .arg(&local)
            .args(args)
            .assert()
            .success();
    };
    run(&["init"]);
    run(&"view set v_1 --table t_1 --workspace ws_1"
        .split(' ')
        .collect::<Vec<_>>());
    let args = [
        "share",
        "v_1",
        "--allow",
        "read,write",
        "--base",
        "https://share.example.com",
        "--json",
    ];
    let made = tessera(&local, None, &args);
    assert_eq!(made["created_by"], "admin");
    assert_eq!(made["permissions"], json!(["read", "write"]));
    assert!(
        made["link"]
            .as_str()
            .unwrap()
            .starts_with("https://share.example.com/s/"),
        "{made}"
    );
    let listed = tessera(&local, None, &["share", "v_1", "--list", "--json"]);
    assert_eq!(listed["shares"][0]["token_id"], made["token_id"]);
    let mut c = assert_cmd::Command::cargo_bin("tessera").unwrap();
    let out = c
        .arg("--data-dir")
        .arg(&local)
        .args(["share", "v_1", "--preset", "owner"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("unknown preset"), "{stderr}");
}
