//! Workspace owners and admins in the console with their member tokens:
//! who signs in, sharing, listing and revoking through the view share
//! routes, the workspace's own share list, and what stays the admin
//! token's.

use serde_json::{json, Value};

use super::server::{client, Server};
use super::support::{
    add_members, admin_get, member_token, refused_sign_in, seeded, signed_in, Http,
};

#[tokio::test]
async fn owners_and_admins_sign_in_with_member_tokens_other_members_do_not() {
    let s = seeded(&[]).await;
    add_members(
        &s,
        "ws_1",
        &[
            ("u_own", "owner"),
            ("u_adm", "admin"),
            ("u_mem", "member"),
            ("u_view", "viewer"),
        ],
    )
    .await;
    for user in ["u_own", "u_adm"] {
        let h = signed_in(&s, &member_token(&s, user).await).await;
        let home = h.page(&s, "/console").await;
        assert!(home.contains("/console/workspaces/ws_1"), "{user}: {home}");
        assert!(
            !home.contains("/console/workspaces/ws_2"),
            "{user} sees only its workspaces"
        );
        let r = h.get(&s, "/console/workspaces/ws_2").await;
        assert_eq!(r.status(), 404, "{user}");
        // Sharing goes through the view's share route, which takes a member
        // holding share on the view: the link is made, by the member.
        let r = h.share(&s, "v_1", &[("preset", "read-only")]).await;
        assert_eq!(r.status(), 201, "{user}");
    }
    let shares = admin_get(&s, "/views/v_1/shares").await["shares"].clone();
    let by: Vec<&str> = shares
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["u_own", "u_adm"]);
    for user in ["u_mem", "u_view"] {
        let mut h = Http::open(&s).await;
        let token = member_token(&s, user).await;
        refused_sign_in(&s, &mut h, &token, "wrong_kind").await;
    }
}

/// Forward-auth of `GET /views/{view}` with `token`: the status and the
/// deny body's `error` (empty when allowed).
async fn forward_auth(s: &Server, view: &str, token: &str) -> (u16, String) {
    let r = client()
        .get(s.url("/auth"))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", format!("/views/{view}"))
        .header("X-Forwarded-Host", "app.example.com")
        .header("X-Forwarded-Proto", "https")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let code = body["error"].as_str().unwrap_or_default().to_owned();
    (status, code)
}

#[tokio::test]
async fn an_owner_member_token_shares_lists_and_revokes_through_the_view_share_routes() {
    let s = seeded(&[]).await;
    add_members(&s, "ws_1", &[("u_own", "owner"), ("u_view", "viewer")]).await;
    let h = signed_in(&s, &member_token(&s, "u_own").await).await;
    let evil = "<script>alert('x')</script>";
    let escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;";
    // Created through the console's form, with its CSRF token.
    let r = h
        .share(&s, "v_1", &[("preset", "editor"), ("label", evil)])
        .await;
    assert_eq!(r.status(), 201);
    let page = r.text().await.unwrap().replace("&#x2f;", "/");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains(escaped), "{page}");
    let start = page
        .find(&format!("value=\"{}/s/", s.base))
        .expect("the link, once");
    let link = &page[start + "value=\"".len()..];
    let link = &link[..link.find('"').unwrap()];
    let token = link.rsplit('/').next().unwrap().to_owned();
    // The admin API holds it, made by the member, with the editor's operations.
    let shares = admin_get(&s, "/views/v_1/shares").await["shares"].clone();
    assert_eq!(shares.as_array().unwrap().len(), 1, "{shares}");
    let row = &shares[0];
    let id = row["token_id"].as_str().unwrap().to_owned();
    assert_eq!(row["created_by"], "u_own");
    assert_eq!(row["label"], evil);
    let mut ops: Vec<&str> = row["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    ops.sort_unstable();
    assert_eq!(ops, ["create", "read", "write"]);
    assert!(page.contains(&format!("<code id=\"token-id\">{id}</code>")));
    // The view's active shares, in the console: the row, by the member, escaped.
    let view = h.page(&s, "/console/views/v_1").await;
    assert!(!view.contains("<script>alert"), "{view}");
    assert!(view.contains(escaped), "{view}");
    assert!(
        view.contains(&format!("data-token-id=\"{id}\" data-state=\"active\"")),
        "{view}"
    );
    assert!(
        view.contains("<td class=\"created-by\">u_own</td>"),
        "{view}"
    );
    assert!(!view.contains(&token), "the link is shown once");
    // The link's token works at the gateway.
    assert_eq!(forward_auth(&s, "v_1", &token).await.0, 200);
    // Revoked in the console: confirmation page, then the form.
    let r = h
        .get(&s, &format!("/console/shares/{id}/revoke?back=view:v_1"))
        .await;
    assert_eq!(r.status(), 200);
    let confirm = r.text().await.unwrap();
    assert!(
        confirm.contains(&id) && confirm.contains(escaped),
        "{confirm}"
    );
    let r = h.revoke(&s, &id, "view:v_1").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/views/v_1?done=revoked");
    assert_eq!(
        admin_get(&s, "/views/v_1/shares").await["shares"],
        json!([])
    );
    assert_eq!(
        forward_auth(&s, "v_1", &token).await,
        (401, "revoked".into())
    );
    let view = h.page(&s, "/console/views/v_1").await;
    assert!(view.contains("id=\"no-shares\""), "{view}");
    // Revoke all: each listed link of the view.
    for _ in 0..2 {
        let r = h.share(&s, "v_1", &[("preset", "read-only")]).await;
        assert_eq!(r.status(), 201);
    }
    let r = h
        .submit(&s, "/console/views/v_1/revoke-all", &[("back", "view:v_1")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        admin_get(&s, "/views/v_1/shares").await["shares"],
        json!([])
    );
    // The workspace-wide list is its owners' too (`/workspaces/{ws}/shares`);
    // the whole audit log stays the admin token's: said plainly.
    let ws = h.page(&s, "/console/workspaces/ws_1").await;
    assert!(!ws.contains("id=\"shares-refused\""), "{ws}");
    assert!(
        ws.contains(&format!("data-token-id=\"{id}\" data-state=\"revoked\"")),
        "{ws}"
    );
    let r = h.get(&s, "/console/audit").await;
    assert_eq!(r.status(), 403);
    let audit = r.text().await.unwrap();
    assert!(
        audit.contains("<code id=\"reason\">wrong_kind</code>") && audit.contains("admin token"),
        "{audit}"
    );
    // A viewer (no share on the view) does not sign in: the admin API's code.
    let mut viewer = Http::open(&s).await;
    let token = member_token(&s, "u_view").await;
    refused_sign_in(&s, &mut viewer, &token, "wrong_kind").await;
}
