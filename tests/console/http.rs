//! The console over plain HTTP (no browser): security headers, cookie
//! attributes, CSRF refusals with their reason codes, escaping, the
//! session ending with its token, changes going through the admin API,
//! and the audit log's paging.

use serde_json::json;

use super::server::{client, issue};
use super::support::{
    admin_get, admin_put, attenuate, refused_sign_in, seeded, set_cookie, signed_in, Http,
};

#[tokio::test]
async fn every_console_answer_carries_the_strict_headers() {
    let s = seeded(&[]).await;
    let h = signed_in(&s, &s.admin_token()).await;
    for path in [
        "/console",
        "/console/views/v_1",
        "/console/workspaces/ws_1",
        "/console/audit",
        "/console/nowhere",
        "/console/assets/console.css",
    ] {
        let r = h.get(&s, path).await;
        let header = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
    }
    let r = h.get(&s, "/console/nowhere").await;
    assert_eq!(r.status(), 404);
    // A signed-out browser gets the sign-in page with the same headers.
    let r = client()
        .get(s.url("/console/views/v_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.text().await.unwrap().contains("id=\"sign-in\""));
}

#[tokio::test]
async fn the_token_lives_only_in_a_strict_http_only_cookie_scoped_to_the_console() {
    let s = seeded(&[]).await;
    let admin = s.admin_token();
    let mut h = Http::open(&s).await;
    let r = h.sign_in(&s, &admin).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console");
    let (pair, header) = set_cookie(&r, "tessera_console").expect("session cookie");
    assert_eq!(pair, format!("tessera_console={admin}"));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure"] {
        assert!(
            header.split("; ").any(|a| a == attribute),
            "{attribute}: {header}"
        );
    }
    assert!(r.text().await.unwrap().is_empty());
    // No page shows it, no log holds it.
    for path in ["/console", "/console/views/v_1", "/console/audit"] {
        let page = h.page(&s, path).await;
        assert!(page.contains("Sign out"), "{path} is signed in");
        assert!(!page.contains(&admin), "{path} shows the token");
    }
    assert!(!s.logs().contains(&admin), "the log holds the token");
    // Sign out clears the cookie.
    let csrf = h.csrf.clone();
    let r = h.post(&s, "/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    let (pair, header) = set_cookie(&r, "tessera_console").expect("cleared cookie");
    assert_eq!(pair, "tessera_console=");
    assert!(header.contains("Max-Age=0"), "{header}");
    // A token the admin API refuses does not sign in.
    let mut other = Http::open(&s).await;
    let guest = issue(
        &s,
        json!({"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"]}),
    )
    .await;
    refused_sign_in(
        &s,
        &mut other,
        guest["token"].as_str().unwrap(),
        "wrong_kind",
    )
    .await;
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_with_a_reason_code() {
    let s = seeded(&[]).await;
    let h = signed_in(&s, &s.admin_token()).await;
    let before = admin_get(&s, "/views/v_1").await;
    let toggle = |csrf: &'static str| {
        [
            ("csrf", csrf),
            ("setting", "exportable"),
            ("value", "false"),
        ]
    };
    let cases: [(&[(&str, &str)], &str); 2] = [
        (&toggle("")[1..], "csrf_missing"),
        (&toggle("00ff"), "csrf_mismatch"),
    ];
    for (form, code) in cases {
        let r = h.post(&s, "/console/views/v_1/settings", form).await;
        assert_eq!(r.status(), 403, "{code}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains(&format!("<code id=\"reason\">{code}</code>")),
            "{page}"
        );
    }
    // The right token, from another site: refused too.
    let r = client()
        .post(s.url("/console/views/v_1/settings"))
        .header("cookie", h.cookies())
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("csrf", h.csrf.as_str()),
            ("setting", "exportable"),
            ("value", "false"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains(">cross_site<"));
    // The sign-in form too.
    let r = client()
        .post(s.url("/console/sign-in"))
        .header("cookie", h.cookies())
        .form(&[("token", s.admin_token())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r, "tessera_console").is_none());
    assert!(r.text().await.unwrap().contains(">csrf_missing<"));
    assert_eq!(admin_get(&s, "/views/v_1").await, before, "nothing changed");
    // With the token, the same form changes the view through the admin API.
    let r = h.toggle(&s, "v_1", "exportable", "false").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        admin_get(&s, "/views/v_1").await["settings"]["exportable"],
        false
    );
}

#[tokio::test]
async fn labels_and_names_with_script_render_as_text() {
    let s = seeded(&[]).await;
    let evil = "<script>alert('x')</script>";
    let r = client()
        .put(s.url("/admin/v1/workspaces/ws_1"))
        .bearer_auth(s.admin_token())
        .json(&json!({ "name": evil }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    issue(
        &s,
        json!({"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"], "label": evil}),
    )
    .await;
    let h = signed_in(&s, &s.admin_token()).await;
    let escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;";
    for path in [
        "/console",
        "/console/workspaces/ws_1",
        "/console/views/v_1",
        "/console/audit",
    ] {
        let page = h.page(&s, path).await;
        assert!(!page.contains("<script>alert"), "{path}: {page}");
        assert!(
            path == "/console/audit" || page.contains(escaped),
            "{path}: {page}"
        );
    }
    // An id no registry holds, `<script>` in the path: the not-found page, nothing echoed.
    let r = h.get(&s, "/console/views/%3Cscript%3E").await;
    assert_eq!(r.status(), 404);
    let page = r.text().await.unwrap();
    assert!(
        !page.contains("<script>") && page.contains(">not_found<"),
        "{page}"
    );
}

#[tokio::test]
async fn the_session_ends_when_its_token_is_revoked_or_expires() {
    let s = seeded(&[]).await;
    let (copy, block) = attenuate(&s.admin_token(), &["--label", "console"]);
    let h = signed_in(&s, &copy).await;
    assert!(h.page(&s, "/console").await.contains("Sign out"));
    let r = client()
        .post(s.url("/admin/v1/revocations"))
        .bearer_auth(s.admin_token())
        .json(&json!({ "revocation_id": block }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = h.get(&s, "/console/views/v_1").await;
    assert_eq!(r.status(), 401);
    let (pair, _) = set_cookie(&r, "tessera_console").expect("cleared");
    assert_eq!(pair, "tessera_console=");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("<code id=\"reason\">revoked</code>"));

    // A copy that expires in 2 s: signed in now, out after.
    let (short, _) = attenuate(&s.admin_token(), &["--expires", "2s"]);
    let mut h = Http::open(&s).await;
    let r = h.sign_in(&s, &short).await;
    assert_eq!(r.status(), 303);
    let (_, header) = set_cookie(&r, "tessera_console").unwrap();
    assert!(
        header.contains("Max-Age="),
        "the cookie ends with the token: {header}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    let r = h.get(&s, "/console").await;
    let status = r.status();
    let page = r.text().await.unwrap();
    assert_eq!(status, 401, "{page}");
    assert!(
        page.contains("<code id=\"reason\">expired</code>"),
        "{page}"
    );
}

#[tokio::test]
async fn a_read_only_admin_token_browses_but_the_admin_api_refuses_its_changes() {
    let s = seeded(&[]).await;
    let (reader, _) = attenuate(&s.admin_token(), &["--allow", "read"]);
    let h = signed_in(&s, &reader).await;
    let page = h.page(&s, "/console/views/v_1").await;
    assert!(page.contains("Share with guest"));
    let r = h.toggle(&s, "v_1", "exportable", "false").await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("<code id=\"reason\">"), "{page}");
    assert_eq!(
        admin_get(&s, "/views/v_1").await["settings"]["exportable"],
        true
    );
    let r = h.share(&s, "v_1", &[("preset", "editor")]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        admin_get(&s, "/tokens?kind=guest").await["tokens"],
        json!([])
    );
}

#[tokio::test]
async fn shares_made_and_revoked_in_the_console_are_the_admin_apis() {
    let s = seeded(&[]).await;
    let h = signed_in(&s, &s.admin_token()).await;
    let r = h
        .share(
            &s,
            "v_1",
            &[
                ("preset", "auditor"),
                ("expires", "2099-01-31"),
                ("label", "for the auditors"),
            ],
        )
        .await;
    assert_eq!(r.status(), 201);
    let page = r.text().await.unwrap();
    let page = page.replace("&#x2f;", "/");
    assert!(
        page.contains(&format!("value=\"{}/s/", s.base)),
        "the link, once: {page}"
    );
    let tokens = admin_get(&s, "/tokens?kind=guest").await["tokens"].clone();
    let row = &tokens[0];
    let id = row["token_id"].as_str().unwrap();
    assert!(page.contains(&format!("<code id=\"token-id\">{id}</code>")));
    assert_eq!(row["label"], "for the auditors");
    assert_eq!(row["expires_at"], "2099-01-31T23:59:59Z");
    let ops: Vec<&str> = row["rights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["read", "export"]);
    // Shown once: the view's page lists the share, never its link.
    let view = h.page(&s, "/console/views/v_1").await;
    assert!(view.contains(id) && !view.contains("/s/tsr_") && !view.contains("/s/tsz_"));
    let audit = admin_get(&s, "/audit").await;
    let issued = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "issued" && e["token_id"] == id)
        .unwrap()
        .clone();
    let by = issued["actor"]["token"]
        .as_str()
        .expect("issued by a token");
    assert!(
        view.contains(&format!("<td class=\"created-by\">{by}</td>")),
        "created by: {view}"
    );
    // Revoked through the confirmation form; the audit log names the admin token.
    let r = h.revoke(&s, id, "view:v_1").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/views/v_1?done=revoked");
    let tokens = admin_get(&s, "/tokens?kind=guest").await["tokens"].clone();
    assert_eq!(tokens[0]["state"], "revoked");
    let audit = admin_get(&s, "/audit").await;
    let last = audit["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "revoked");
    assert!(last["actor"]["token"].is_string(), "{last}");
    // The audit page filters by kind and view.
    let page = h.page(&s, "/console/audit?kind=revoked&view=v_1").await;
    assert_eq!(page.matches("class=\"kind\">revoked<").count(), 1, "{page}");
    assert!(!page.contains("class=\"kind\">issued<"));
    let page = h.page(&s, "/console/audit?view=v_3").await;
    assert!(
        page.contains("No events match") || !page.contains(id),
        "{page}"
    );
}

#[tokio::test]
async fn dead_share_links_get_one_readable_page() {
    let s = seeded(&[]).await;
    let r = client()
        .get(s.url("/s/tsr_AAAAAAAAAAAAAAAAAAAAAAAA"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = r.text().await.unwrap();
    assert!(page.contains("This link no longer works"), "{page}");
    assert!(!page.contains("tsr_"));
}

#[tokio::test]
async fn the_audit_log_pages_fifty_events_at_a_time_and_filters_by_date() {
    let s = seeded(&[]).await;
    for i in 0..52 {
        let on = i % 2 == 0;
        admin_put(&s, "/views/v_2", json!({ "exportable": on })).await;
    }
    let h = signed_in(&s, &s.admin_token()).await;
    let first = h
        .page(&s, "/console/audit?kind=settings_changed")
        .await
        .replace("&#x2f;", "/");
    let pages = |page: &str| {
        let at = page.find("Page ").unwrap();
        page[at..at + 12].to_owned()
    };
    assert!(
        pages(&first).starts_with("Page 1 of 2"),
        "{}",
        pages(&first)
    );
    assert_eq!(
        first.matches("class=\"kind\">settings_changed<").count(),
        50
    );
    assert!(
        first.contains("href=\"/console/audit?kind=settings_changed&amp;page=2\" rel=\"next\""),
        "{first}"
    );
    let second = h
        .page(&s, "/console/audit?kind=settings_changed&page=2")
        .await;
    let total = admin_get(&s, "/audit").await["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "settings_changed")
        .count();
    assert_eq!(
        second.matches("class=\"kind\">settings_changed<").count(),
        total - 50
    );
    assert!(second.contains("rel=\"prev\""));
    // A range that ended yesterday holds none of today's events.
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d");
    let none = h
        .get(&s, &format!("/console/audit?to={yesterday}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("No events match"), "{none}");
}
