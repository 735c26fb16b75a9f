//! The console's visibility and table access forms, and a workspace's
//! share list and audit log for its owners and admins, over plain HTTP:
//! each change lands in the admin API, refusals carry the admin API's
//! reason code, and an owner of another workspace is refused.

use serde_json::json;

use super::server::{client, issue, Server};
use super::support::{add_members, admin_get, admin_put, member_token, seeded, signed_in};

/// The `<code id="reason">` of an error page.
fn reason(page: &str) -> &str {
    let at = page
        .find("<code id=\"reason\">")
        .unwrap_or_else(|| panic!("no reason in {page}"));
    let rest = &page[at + "<code id=\"reason\">".len()..];
    &rest[..rest.find('<').unwrap()]
}

#[tokio::test]
async fn a_views_visibility_is_set_through_the_admin_api() {
    let s = seeded(&[]).await;
    let h = signed_in(&s, &s.admin_token()).await;
    let page = h.page(&s, "/console/views/v_1").await;
    assert!(page.contains("<b id=\"visibility\">shared</b>"), "{page}");
    assert!(page.contains("id=\"visibility-locked\""), "{page}");
    let path = "/console/views/v_1/visibility";
    let r = h.submit(&s, path, &[("visibility", "locked")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/console/views/v_1?done=visibility"
    );
    let view = admin_get(&s, "/views/v_1").await;
    assert_eq!(view["visibility"], "locked");
    assert_eq!(view["settings"]["locked"], true);
    let page = h.page(&s, "/console/views/v_1?done=visibility").await;
    assert!(page.contains("<b id=\"visibility\">locked</b>"), "{page}");
    assert!(page.contains("visibility was changed"), "{page}");
    // Personal needs a creator: the admin API's code, nothing changed.
    let r = h.submit(&s, path, &[("visibility", "personal")]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(reason(&r.text().await.unwrap()), "creator_required");
    // With a recorded creator it is taken.
    add_members(&s, "ws_1", &[("u_own", "owner")]).await;
    admin_put(&s, "/views/v_1", json!({ "creator": "u_own" })).await;
    let r = h.submit(&s, path, &[("visibility", "personal")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(admin_get(&s, "/views/v_1").await["visibility"], "personal");
    let r = h.submit(&s, path, &[("visibility", "public")]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(reason(&r.text().await.unwrap()), "unknown_visibility");
    // No CSRF token: refused before the admin API is asked.
    let r = h.post(&s, path, &[("visibility", "shared")]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(reason(&r.text().await.unwrap()), "csrf_missing");
    assert_eq!(admin_get(&s, "/views/v_1").await["visibility"], "personal");
}

#[tokio::test]
async fn a_tables_access_is_set_through_the_admin_api_keeping_its_people() {
    let s = seeded(&[]).await;
    add_members(&s, "ws_1", &[("u_own", "owner"), ("u_ed", "member")]).await;
    let h = signed_in(&s, &member_token(&s, "u_own").await).await;
    let before = admin_get(&s, "/tables/t_1/access").await["mode"].clone();
    assert_eq!(before, "workspace");
    let page = h.page(&s, "/console/workspaces/ws_1").await;
    assert!(
        page.contains("<b class=\"access-mode\">workspace</b>"),
        "{page}"
    );
    assert!(page.contains("id=\"access-t_1-private\""), "{page}");
    // An owner's member token changes it (a management route).
    let r = h
        .submit(&s, "/console/tables/t_1/access", &[("mode", "private")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/console/workspaces/ws_1?done=access"
    );
    assert_eq!(admin_get(&s, "/tables/t_1/access").await["mode"], "private");
    let page = h.page(&s, "/console/workspaces/ws_1?done=access").await;
    assert!(
        page.contains("<b class=\"access-mode\">private</b>"),
        "{page}"
    );
    // `specific` keeps the people the table names.
    let people = json!([{ "user": "u_ed", "level": "editor" }]);
    for (mode, kept) in [("workspace", json!([])), ("specific", people.clone())] {
        admin_put(
            &s,
            "/tables/t_1/access",
            json!({ "mode": "specific", "people": people }),
        )
        .await;
        let r = h
            .submit(&s, "/console/tables/t_1/access", &[("mode", mode)])
            .await;
        assert_eq!(r.status(), 303, "{mode}");
        let access = admin_get(&s, "/tables/t_1/access").await;
        assert_eq!((&access["mode"], &access["people"]), (&json!(mode), &kept));
    }
    // A table of a workspace the member does not manage: not found.
    let r = h
        .submit(&s, "/console/tables/t_2/access", &[("mode", "private")])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        admin_get(&s, "/tables/t_2/access").await["mode"],
        "workspace"
    );
    // A word the admin API does not know: its code.
    let r = h
        .submit(&s, "/console/tables/t_1/access", &[("mode", "public")])
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(reason(&r.text().await.unwrap()), "unknown_mode");
}

/// `GET /admin/v1{path}` with `token`: the status and the body's `error`.
async fn member_get(s: &Server, token: &str, path: &str) -> (u16, serde_json::Value) {
    let r = client()
        .get(s.url(&format!("/admin/v1{path}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_workspaces_owner_lists_its_shares_and_audit_an_owner_of_another_is_refused() {
    let s = seeded(&[]).await;
    add_members(&s, "ws_1", &[("u_own", "owner"), ("u_mem", "member")]).await;
    add_members(&s, "ws_2", &[("u_other", "owner")]).await;
    let mine = issue(
        &s,
        json!({"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"], "label": "mine"}),
    )
    .await;
    let theirs = issue(
        &s,
        json!({"kind": "guest", "workspace": "ws_2", "view": "v_3", "allow": ["read"], "label": "theirs"}),
    )
    .await;
    let (mine, theirs) = (
        mine["token_id"].as_str().unwrap().to_owned(),
        theirs["token_id"].as_str().unwrap().to_owned(),
    );
    let owner = member_token(&s, "u_own").await;
    // The admin API: the workspace's own links and events, none of ws_2's.
    let (status, list) = member_get(&s, &owner, "/workspaces/ws_1/shares").await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    let (status, log) = member_get(&s, &owner, "/workspaces/ws_1/audit").await;
    assert_eq!(status, 200, "{log}");
    let events = log["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["token_id"] == mine.as_str()));
    assert!(!events.iter().any(|e| e["token_id"] == theirs.as_str()));
    assert!(!log.to_string().contains("ws_2"), "{log}");
    // An owner of ws_2, a plain member of ws_1: refused with the reason.
    for (user, token) in [
        ("u_other", member_token(&s, "u_other").await),
        ("u_mem", member_token(&s, "u_mem").await),
    ] {
        for path in ["/workspaces/ws_1/shares", "/workspaces/ws_1/audit"] {
            let (status, body) = member_get(&s, &token, path).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (403, Some("not_workspace_admin")),
                "{user} {path}"
            );
        }
    }
    let (status, body) = member_get(&s, &owner, "/workspaces/ws_9/audit").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    // The console: the workspace page lists the share, its audit page the events.
    let h = signed_in(&s, &owner).await;
    let page = h.page(&s, "/console/workspaces/ws_1").await;
    assert!(
        page.contains(&format!("data-token-id=\"{mine}\" data-state=\"active\"")),
        "{page}"
    );
    assert!(
        page.contains("href=\"/console/audit?workspace=ws_1\""),
        "{page}"
    );
    let audit = h
        .page(&s, "/console/audit?workspace=ws_1&kind=issued")
        .await;
    assert!(audit.contains(&format!("<code>{mine}</code>")), "{audit}");
    assert!(!audit.contains(&theirs), "{audit}");
    // Revoked from the workspace's list (through the view's share route).
    let r = h
        .get(
            &s,
            &format!("/console/shares/{mine}/revoke?back=workspace:ws_1"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = h.revoke(&s, &mine, "workspace:ws_1").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/console/workspaces/ws_1?done=revoked"
    );
    let (_, list) = member_get(&s, &owner, "/workspaces/ws_1/shares").await;
    assert_eq!(list["tokens"][0]["state"], "revoked");
    // ws_2's owner in the console: its page of ws_1's audit is refused.
    let other = signed_in(&s, &member_token(&s, "u_other").await).await;
    let r = other.get(&s, "/console/audit?workspace=ws_1").await;
    assert_eq!(r.status(), 403);
    assert_eq!(reason(&r.text().await.unwrap()), "not_workspace_admin");
}
