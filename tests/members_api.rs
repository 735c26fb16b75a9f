//! Managing members through the admin API over loopback HTTP against the
//! real binary, and through the CLI (local store and `--server`): users,
//! a workspace's members and groups, a table's author and access in
//! TinyTables' and Schema Builder's words, member tokens; who may make
//! which change with a member token (403 with the refusal's code), bad
//! input (400 with a code) — each refusal followed by a read-back proving
//! nothing changed.

mod members;
mod server;

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use members::{assert_expires_in, delete, get, put, refuse, roles, seeded, send};

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
    delete(&s, &admin, "/workspaces/ws_1/groups/g_ops").await;
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

    delete(&s, &admin, "/workspaces/ws_1/members/u_view").await;
    assert!(roles(&s, &admin).await.get("u_view").is_none());
    delete(&s, &admin, "/users/u_mem").await;
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
    assert_expires_in(&v, Duration::hours(12));
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
    assert_expires_in(&v, Duration::hours(1));
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
    assert_expires_in(&v, Duration::minutes(30));
}
