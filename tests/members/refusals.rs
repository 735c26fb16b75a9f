//! Who may make which change with a member token (403 with the refusal's
//! code), the last owner, and bad input (400 with a code), each refusal
//! followed by a read-back proving nothing changed.

use reqwest::Method;
use serde_json::{json, Value};

use super::{get, member_token, put, refuse, refused, roles, seeded, send};
use crate::server;

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
    let group = Some(json!({ "name": "Ops", "members": ["u_mem2"] }));
    let attempts = [
        (
            &member,
            Method::PUT,
            path,
            role("viewer"),
            "not_workspace_admin",
        ),
        (
            &viewer,
            Method::PUT,
            path,
            role("viewer"),
            "not_workspace_admin",
        ),
        (
            &adm,
            Method::PUT,
            "/workspaces/ws_1/members/u_adm",
            role("owner"),
            "own_role",
        ),
        (&adm, Method::PUT, path, role("owner"), "above_own_level"),
        (
            &adm,
            Method::DELETE,
            "/workspaces/ws_1/members/u_own",
            None,
            "above_own_level",
        ),
        (&member, Method::DELETE, path, None, "not_workspace_admin"),
        (
            &member,
            Method::PUT,
            "/workspaces/ws_1/groups/g_ops",
            group.clone(),
            "not_workspace_admin",
        ),
    ];
    for (token, method, path, body, code) in attempts {
        refuse(&s, method, token, path, body, 403, code).await;
    }
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
        get(&s, &member, "/tables/t_new/access").await["mode"],
        "workspace"
    );
    let read = [
        (&other, "not_author_or_admin"),
        (&viewer, "not_author_or_admin"),
    ];
    for (token, code) in read {
        refuse(
            &s,
            Method::GET,
            token,
            "/tables/t_new/permissions",
            None,
            403,
            code,
        )
        .await;
    }
    assert_eq!(
        get(&s, &adm, "/tables/t_new/permissions").await["author"],
        "u_mem"
    );
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
    // TinyTables' words: (mode, "user" or "group", id, level) → code.
    let people = [
        ("specific", "user", "u_mem", "god", "unknown_level"),
        ("specific", "user", "u_out", "viewer", "not_in_workspace"),
        ("specific", "group", "g_404", "viewer", "unknown_group"),
        (
            "workspace",
            "user",
            "u_mem",
            "viewer",
            "entries_need_restricted",
        ),
    ];
    let mut tables: Vec<(&str, Value, &str)> = people
        .into_iter()
        .map(|(mode, key, id, level, code)| {
            let body = json!({ "mode": mode, "people": [{ key: id, "level": level }] });
            ("/access", body, code)
        })
        .collect();
    tables.push(("/access", json!({ "mode": "everyone" }), "unknown_mode"));
    tables.extend([
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
    ]);
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
