//! TinyTables' view visibility as the document tells it, end to end over
//! loopback HTTP against the real binary: a personal view is its
//! creator's alone (403 `personal_view` for a colleague, listed nowhere);
//! a locked view is seen by everyone with table access, its configuration
//! changed by its creator only (`view_setting` for anyone else) while an
//! editor still edits its rows; the `locked` setting and the visibility
//! are one notion; `/v1/me` for every token kind; bad input is a 400 with
//! a code that changes nothing. (`tessera view set --visibility` is in
//! `tests/scoped_viewers.rs`, beside the other CLI runs.)

mod server;
mod stories;

use serde_json::{json, Value};

use stories::Story;
use stories::Want::{Allow, Deny};

const WS: &str = "ws_tt";

/// Ana (admin) and Carl (admin) configure; Bob (member) edits rows; the
/// table is open to the workspace.
async fn office() -> Story {
    let s = Story::start(WS).await;
    for (user, role) in [("u_ana", "admin"), ("u_carl", "admin"), ("u_bob", "member")] {
        s.member(WS, user, role).await;
    }
    s.table(WS, "t_1", "u_ana").await;
    s.access("t_1", json!({ "mode": "workspace" })).await;
    s
}

/// `PUT /admin/v1/views/{view}` with `body` as the admin: status and answer.
async fn put_view(s: &Story, view: &str, body: Value) -> (u16, Value) {
    s.call(None, "PUT", &format!("/views/{view}"), Some(body))
        .await
}

/// The ids of the views `/v1/me` lists for `token` (none: no token).
async fn my_views(s: &Story, token: Option<&str>) -> (u16, Vec<String>) {
    let mut r = server::client().get(s.server.url("/v1/me"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let answer = r.send().await.expect("GET /v1/me");
    let status = answer.status().as_u16();
    let v: Value = answer.json().await.expect("json");
    let ids = v["views"].as_array().into_iter().flatten();
    let ids = ids.filter_map(|x| x["id"].as_str().map(str::to_owned));
    (status, ids.collect())
}

#[tokio::test]
async fn a_personal_view_is_invisible_to_a_colleague() {
    let mut s = office().await;
    let body =
        json!({ "table": "t_1", "workspace": WS, "visibility": "personal", "creator": "u_ana" });
    let (status, v) = put_view(&s, "v_mine", body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["visibility"].as_str(), v["creator"].as_str()),
        (Some("personal"), Some("u_ana"))
    );
    s.view(WS, "t_1", "v_team", json!({})).await;

    let rows = "/api/v1/views/v_mine/rows";
    s.expect("u_ana", "GET", rows, Allow).await;
    s.expect("u_ana", "PATCH", "/api/v1/views/v_mine/config", Allow)
        .await;
    for user in ["u_bob", "u_carl"] {
        s.expect(user, "GET", rows, Deny("personal_view")).await;
        s.expect(user, "PATCH", rows, Deny("personal_view")).await;
        s.expect(user, "GET", "/api/v1/views/v_team/rows", Allow)
            .await;
    }
    let ana = s.token("u_ana").await;
    let bob = s.token("u_bob").await;
    assert_eq!(
        my_views(&s, Some(&ana)).await,
        (200, vec!["v_mine".into(), "v_team".into()])
    );
    assert_eq!(my_views(&s, Some(&bob)).await, (200, vec!["v_team".into()]));

    // Made shared, the colleague sees it at once, with the same token.
    let (status, v) = put_view(&s, "v_mine", json!({ "visibility": "shared" })).await;
    assert_eq!(
        (status, v["visibility"].as_str()),
        (200, Some("shared")),
        "{v}"
    );
    s.expect("u_bob", "GET", rows, Allow).await;
}

#[tokio::test]
async fn a_locked_view_is_configured_by_its_creator_only_and_rows_stay_editable() {
    let mut s = office().await;
    let body =
        json!({ "table": "t_1", "workspace": WS, "visibility": "locked", "creator": "u_ana" });
    let (status, v) = put_view(&s, "v_board", body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["visibility"], "locked");
    assert_eq!(
        v["settings"]["locked"], true,
        "one notion with the setting: {v}"
    );

    for config in ["/api/v1/views/v_board", "/api/v1/views/v_board/config"] {
        s.expect("u_ana", "PATCH", config, Allow).await;
        s.expect("u_carl", "PATCH", config, Deny("view_setting"))
            .await;
        s.expect("u_bob", "PATCH", config, Deny("view_setting"))
            .await;
    }
    // Locking does not freeze data.
    for user in ["u_ana", "u_carl", "u_bob"] {
        s.expect(user, "GET", "/api/v1/views/v_board/rows", Allow)
            .await;
        s.expect(user, "PATCH", "/api/v1/views/v_board/rows/r_1", Allow)
            .await;
        s.expect(user, "POST", "/api/v1/views/v_board/rows", Allow)
            .await;
    }
    // Rows follow the view's settings as before.
    put_view(&s, "v_board", json!({ "editable": false })).await;
    s.expect(
        "u_bob",
        "PATCH",
        "/api/v1/views/v_board/rows/r_1",
        Deny("view_setting"),
    )
    .await;

    // The `locked` setting alone is the locked visibility without a
    // creator: nobody configures it, as the setting always meant.
    let (_, v) = put_view(
        &s,
        "v_old",
        json!({ "table": "t_1", "workspace": WS, "locked": true }),
    )
    .await;
    assert_eq!(
        (v["visibility"].as_str(), v.get("creator")),
        (Some("locked"), None),
        "{v}"
    );
    s.expect(
        "u_ana",
        "PATCH",
        "/api/v1/views/v_old",
        Deny("view_setting"),
    )
    .await;
    let (_, v) = put_view(&s, "v_old", json!({ "locked": false })).await;
    assert_eq!(v["visibility"], "shared", "{v}");
    s.expect("u_ana", "PATCH", "/api/v1/views/v_old", Allow)
        .await;
}

#[tokio::test]
async fn bad_visibility_input_is_a_400_with_a_code_and_changes_nothing() {
    let s = office().await;
    s.view(WS, "t_1", "v_1", json!({})).await;
    let before = s.admin_ok("GET", "/views/v_1", None).await;
    for (body, code) in [
        (json!({ "visibility": "secret" }), "unknown_visibility"),
        (json!({ "visibility": "personal" }), "creator_required"),
        (
            json!({ "visibility": "locked", "creator": "u_ghost" }),
            "unknown_user",
        ),
        (json!({ "visibility": 3 }), "bad_request"),
        (
            json!({ "visibility": "locked", "owner": "u_ana" }),
            "bad_request",
        ),
    ] {
        let (status, v) = put_view(&s, "v_1", body.clone()).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some(code)),
            "{body}: {v}"
        );
    }
    assert_eq!(s.admin_ok("GET", "/views/v_1", None).await, before);
    // A new view refused for its creator is not registered either.
    let body =
        json!({ "table": "t_1", "workspace": WS, "visibility": "personal", "creator": "u_ghost" });
    assert_eq!(put_view(&s, "v_new", body).await.0, 400);
    assert_eq!(s.call(None, "GET", "/views/v_new", None).await.0, 404);
}

#[tokio::test]
async fn v1_me_for_every_token_kind_and_for_no_token() {
    let mut s = office().await;
    s.view(WS, "t_1", "v_public", json!({ "public": true }))
        .await;
    s.view(WS, "t_1", "v_inner", json!({})).await;
    s.view(WS, "t_1", "v_note", json!({})).await;
    let body = json!({ "visibility": "personal", "creator": "u_ana", "public": true });
    assert_eq!(put_view(&s, "v_note", body).await.0, 200);

    // No token: the public views only (not a personal one).
    assert_eq!(my_views(&s, None).await, (200, vec!["v_public".into()]));
    let admin = s.server.admin_token();
    assert_eq!(
        my_views(&s, Some(&admin)).await,
        (200, vec!["v_public".into()])
    );
    let guest = json!({ "kind": "guest", "workspace": WS, "view": "v_inner", "allow": ["read"] });
    let guest = s.admin_ok("POST", "/tokens", Some(guest)).await;
    let guest = guest["token"].as_str().expect("token").to_owned();
    assert_eq!(
        my_views(&s, Some(&guest)).await,
        (200, vec!["v_inner".into(), "v_public".into()])
    );
    let key = json!({ "kind": "api_key", "workspace": WS, "allow": ["read", "export"] });
    let key = s.admin_ok("POST", "/tokens", Some(key)).await;
    let key = key["token"].as_str().expect("token").to_owned();
    assert_eq!(
        my_views(&s, Some(&key)).await,
        (200, vec!["v_inner".into(), "v_public".into()])
    );
    let bob = s.token("u_bob").await;
    assert_eq!(
        my_views(&s, Some(&bob)).await,
        (200, vec!["v_inner".into(), "v_public".into()])
    );
    let ana = s.token("u_ana").await;
    let all: Vec<String> = ["v_inner", "v_note", "v_public"].map(String::from).into();
    assert_eq!(my_views(&s, Some(&ana)).await, (200, all));
    // A guest token on a personal view is refused like any non-creator.
    let on_note = json!({ "kind": "guest", "workspace": WS, "view": "v_note", "allow": ["read"] });
    let on_note = s.admin_ok("POST", "/tokens", Some(on_note)).await;
    let outcome = s
        .ask_with(
            on_note["token"].as_str().expect("token"),
            "GET",
            "/api/v1/views/v_note/rows",
        )
        .await;
    assert_eq!(
        (outcome.status, outcome.reason.as_deref()),
        (403, Some("personal_view"))
    );
}
