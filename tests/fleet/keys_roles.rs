//! A role change and a key rotation made through the fleet are enforced
//! by every gateway.

use serde_json::{json, Value};

use crate::nats::Nats;
use crate::scenarios::{admin, fwd, issue_guest, revision, signer_dir, start, wait_ready};
use crate::server::tessera_bin;

async fn put(s: &crate::server::Server, token: &str, path: &str, body: Value) -> u64 {
    let (status, v) = admin(s, token, "PUT", &format!("/admin/v1{path}"), Some(body)).await;
    assert_eq!(status, 200, "{path}: {v}");
    revision(&v)
}

/// u_mem's role in ws_1 set by `member`'s token at revision `rev` or later.
async fn set_role(s: &crate::server::Server, member: &str, rev: u64, role: &str) -> (u16, Value) {
    let r = crate::server::client()
        .put(s.url("/admin/v1/workspaces/ws_1/members/u_mem"))
        .bearer_auth(member)
        .header("X-Tessera-Min-Revision", rev.to_string())
        .json(&json!({ "role": role }))
        .send()
        .await
        .expect("put member");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_and_a_key_rotation_reach_every_gateway() {
    let nats = Nats::start();
    let root = tempfile::tempdir().expect("tempdir");
    let signer = signer_dir(root.path());
    let mut gw0 = start(&signer, &nats);
    let token = gw0.admin_token();
    let gw1 = start(&root.path().join("f1"), &nats);
    let gw2 = start(&root.path().join("f2"), &nats);
    for s in [&gw0, &gw1, &gw2] {
        wait_ready(s).await;
    }
    put(&gw0, &token, "/tables/t_1", json!({ "workspace": "ws_1" })).await;
    for (user, role) in [("u_own", "owner"), ("u_adm", "admin"), ("u_mem", "member")] {
        let body = json!({ "email": format!("{user}@example.com"), "name": user });
        put(&gw0, &token, &format!("/users/{user}"), body).await;
        put(
            &gw0,
            &token,
            &format!("/workspaces/ws_1/members/{user}"),
            json!({ "role": role }),
        )
        .await;
    }
    let (status, v) = admin(
        &gw0,
        &token,
        "POST",
        "/admin/v1/members/u_adm/tokens",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let member = v["token"].as_str().expect("member token").to_owned();
    let issued = revision(&v);

    // A follower holds no private key: it never signs.
    let (status, v) = admin(
        &gw1,
        &token,
        "POST",
        "/admin/v1/tokens",
        Some(json!({ "kind": "admin" })),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (409, Some("no_signing_key")),
        "{v}"
    );
    assert!(!root.path().join("f1").join("keys.toml").exists());

    // u_adm, an admin of ws_1, changes a role through a follower.
    let (status, v) = set_role(&gw1, &member, issued, "viewer").await;
    assert_eq!(status, 200, "{v}");
    // Demoted through the signer, refused on the other follower.
    let demoted = put(
        &gw0,
        &token,
        "/workspaces/ws_1/members/u_adm",
        json!({ "role": "member" }),
    )
    .await;
    for s in [&gw0, &gw1, &gw2] {
        let (status, v) = set_role(s, &member, demoted, "member").await;
        assert_eq!(
            (status, v["error"].as_str()),
            (403, Some("not_workspace_admin")),
            "{v}"
        );
    }

    // Key rotation on the signer: the new public key travels as a change.
    gw0.terminate();
    let out = std::process::Command::new(tessera_bin())
        .arg("--data-dir")
        .arg(&signer)
        .args(["keys", "rotate"])
        .output()
        .expect("keys rotate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gw0 = start(&signer, &nats);
    wait_ready(&gw0).await;
    put(
        &gw0,
        &token,
        "/views/v_1",
        json!({ "table": "t_1", "workspace": "ws_1" }),
    )
    .await;
    let (guest, _, rev) = issue_guest(&gw0, &token, "v_1").await;
    for s in [&gw0, &gw1, &gw2] {
        assert_eq!(
            fwd(s, "/api/v1/views/v_1/rows", Some(&guest), rev).await,
            (200, String::new())
        );
        let keys: Value = crate::server::client()
            .get(s.url("/.well-known/biscuit-web-keys"))
            .send()
            .await
            .expect("keys")
            .json()
            .await
            .expect("json");
        assert_eq!(keys.as_array().map(Vec::len), Some(2), "{keys}");
    }
}
