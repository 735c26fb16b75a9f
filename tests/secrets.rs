//! Secrets hygiene of a running gateway with debug logging: no token and no
//! private key material in its logs, error bodies or metrics; the private
//! keyring is 0600, and a world-readable one stops the gateway with a clear
//! error.

mod server;

use std::os::unix::fs::PermissionsExt;

use server::{client, issue, seed_registry, Server};

/// Every 24-character window of `secret` that appears in `haystack`.
fn leaks(haystack: &str, secret: &str) -> bool {
    let s = secret.trim();
    s.len() >= 24 && (0..=s.len() - 24).any(|i| haystack.contains(&s[i..i + 24]))
}

#[tokio::test]
async fn no_secret_reaches_logs_bodies_or_metrics_with_debug_logging() {
    let s = Server::start(&["--log", "debug", "--last-used-flush-secs", "1"]);
    seed_registry(&s).await;
    let admin = s.admin_token();
    let guest = issue(
        &s,
        serde_json::json!({"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"]}),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let forged = format!("tsr_{}", "Q2xpZW50U2VjcmV0VGV4dA".repeat(8));
    let c = client();
    let mut bodies = String::new();
    for token in [&guest, &admin, &forged] {
        for (method, uri) in [
            ("GET", "/api/v1/views/v_1/rows"),
            ("DELETE", "/api/v1/views/v_2/rows"),
        ] {
            let r = c
                .get(s.url("/auth"))
                .header("x-original-method", method)
                .header("x-original-uri", uri)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            bodies.push_str(&format!("{:?}", r.headers()));
            bodies.push_str(&r.text().await.unwrap());
        }
        // A valid share link hands its own token back as the session cookie
        // (by design); its body and other headers must not carry it.
        let r = c.get(s.url(&format!("/s/{token}"))).send().await.unwrap();
        let mut headers = r.headers().clone();
        headers.remove("set-cookie");
        bodies.push_str(&format!("{headers:?}"));
        bodies.push_str(&r.text().await.unwrap());
        let r = c
            .get(s.url("/admin/v1/tokens"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if token != &admin {
            bodies.push_str(&r.text().await.unwrap());
        }
    }
    let metrics = c
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let logs = s.logs();
    assert!(
        logs.contains("DEBUG") || logs.contains("debug"),
        "debug logging is on"
    );

    let keyring = std::fs::read_to_string(s.data.join("keys.toml")).unwrap();
    let private_key = keyring
        .lines()
        .find_map(|l| l.strip_prefix("private_key = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    for (what, text) in [("logs", &logs), ("bodies", &bodies), ("metrics", &metrics)] {
        for (name, secret) in [
            ("guest token", &guest),
            ("admin token", &admin),
            ("forged token", &forged),
            ("private key", &private_key),
        ] {
            assert!(!leaks(text, secret), "{name} found in {what}");
        }
    }
    let mode = std::fs::metadata(s.data.join("keys.toml"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let mode = std::fs::metadata(s.data.join("admin.token"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_world_readable_keyring_stops_the_gateway_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(Server::start_in(&data, &[], None));
    let keys = data.join("keys.toml");
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new(server::tessera_bin())
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("keys.toml") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains("private_key"), "{err}");
}
