//! What outlives a request or a process, over plain HTTP: the console's
//! forms across a gateway restart (the CSRF key file, 0600, never
//! logged), and the answers of dead share links, a page for browsers and
//! one JSON error for clients that prefer JSON, the same for expired,
//! revoked and unknown links.

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};

use super::server::{client, issue, Server};
use super::support::{admin_get, attenuate, seeded, signed_in};

#[tokio::test]
async fn a_form_rendered_before_a_restart_posts_after_it() {
    let mut s = seeded(&[]).await;
    let h = signed_in(&s, &s.admin_token()).await;
    let page = h.page(&s, "/console/views/v_1").await;
    assert!(page.contains(&h.csrf), "the view's forms carry the token");
    let key_file = s.data.join("console-csrf.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the CSRF key file is private");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 64);
    assert!(s.terminate().success());
    let again = Server::start_in(&s.data, &[], None);
    let r = h.toggle(&again, "v_1", "exportable", "false").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(
        admin_get(&again, "/views/v_1").await["settings"]["exportable"],
        false
    );
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key, "kept");
    for logs in [s.logs(), again.logs()] {
        assert!(!logs.contains(key.trim()), "the log holds the CSRF key");
    }
    // A token the key did not make still fails after the restart.
    let forged = "00".repeat(32);
    let r = h
        .post(
            &again,
            "/console/views/v_1/settings",
            &[
                ("csrf", &forged),
                ("setting", "exportable"),
                ("value", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains(">csrf_mismatch<"));
}

/// `GET /s/{token}` with `accept` (none: no header): status, content type, body.
async fn landing(s: &Server, token: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut r = client().get(s.url(&format!("/s/{token}")));
    if let Some(a) = accept {
        r = r.header("accept", a);
    }
    let r = r.send().await.unwrap();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    (r.status().as_u16(), ct, r.text().await.unwrap())
}

#[tokio::test]
async fn dead_links_answer_json_to_clients_preferring_it_the_same_for_all_three() {
    let s = seeded(&[]).await;
    let guest = |label: &str| json!({"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"], "label": label});
    let revoked = issue(&s, guest("revoked")).await;
    let r = client()
        .delete(s.url(&format!(
            "/admin/v1/tokens/{}",
            revoked["token_id"].as_str().unwrap()
        )))
        .bearer_auth(s.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let live = issue(&s, guest("live")).await;
    let live = live["token"].as_str().unwrap().to_owned();
    let (expiring, _) = attenuate(&live, &["--expires", "1s"]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let dead = [
        revoked["token"].as_str().unwrap().to_owned(),
        expiring,
        "tsr_AAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
    ];
    let mut answers = Vec::new();
    for token in &dead {
        let (status, ct, body) = landing(&s, token, Some("application/json")).await;
        assert_eq!(status, 404);
        assert!(ct.starts_with("application/json"), "{ct}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"], "not_found", "{v}");
        assert!(!body.contains(token.as_str()), "no token echoed");
        answers.push((v["error"].clone(), v["message"].clone()));
        // Browsers, and clients that say nothing, get the readable page.
        for accept in [
            None,
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Some("*/*"),
        ] {
            let (status, ct, body) = landing(&s, token, accept).await;
            assert_eq!(status, 404, "{accept:?}");
            assert!(ct.starts_with("text/html"), "{accept:?}: {ct}");
            assert!(body.contains("This link no longer works"), "{body}");
        }
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "indistinguishable: {answers:?}"
    );
    // A live link still lands, whatever it accepts.
    let r = client()
        .get(s.url(&format!("/s/{live}")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}
