//! `POST /admin/v1/attenuations`: the admin API's option of `tessera
//! attenuate --preset`, over real loopback HTTP against the binary. The
//! token it answers is narrowed exactly as the preset says (the gateway's
//! own decision shows it), and the refusals name their code.

use serde_json::{json, Value};

mod server;
use server::{client, issue, seed_registry, Server};

/// POSTs `body` to `/admin/v1/attenuations` with the admin token.
async fn attenuate(server: &Server, body: Value) -> (u16, Value) {
    let r = client()
        .post(server.url("/admin/v1/attenuations"))
        .bearer_auth(server.admin_token())
        .json(&body)
        .send()
        .await
        .expect("attenuate");
    (r.status().as_u16(), r.json().await.expect("json"))
}

/// The gateway's decision for `token` doing `operation` on view v_1.
async fn allowed(server: &Server, token: &str, operation: &str) -> bool {
    let r = client()
        .post(server.url("/admin/v1/decisions"))
        .bearer_auth(server.admin_token())
        .json(&json!({"token": token, "operation": operation, "resource": {"kind": "view", "id": "v_1"}}))
        .send()
        .await
        .expect("decide");
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.expect("json")["allowed"]
        .as_bool()
        .expect("allowed")
}

#[tokio::test]
async fn a_preset_narrows_a_token_as_the_cli_does_and_refusals_name_their_code() {
    let server = Server::start(&[]);
    seed_registry(&server).await;
    let parent = issue(
        &server,
        json!({"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": "read,write,create,export"}),
    )
    .await["token"]
    .as_str()
    .expect("token")
    .to_owned();
    assert!(allowed(&server, &parent, "export").await);

    let (status, answer) = attenuate(
        &server,
        json!({"token": parent, "preset": "contractor", "days": 90}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["preset"], "contractor");
    assert_eq!(answer["operations"], json!(["read", "write", "create"]));
    let expires = answer["expires_at"].as_str().expect("an expiry");
    let expires = chrono::DateTime::parse_from_rfc3339(expires).expect("rfc 3339");
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
    assert!((89..=90).contains(&days), "{days} days");
    let child = answer["token"].as_str().expect("token");
    assert_ne!(child, parent);
    assert!(allowed(&server, child, "write").await);
    assert!(
        !allowed(&server, child, "export").await,
        "the contractor block drops export"
    );

    let (status, answer) = attenuate(
        &server,
        json!({"token": parent, "preset": "auditor", "until": "2099-01-31"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["expires_at"], "2099-01-31T23:59:59Z");
    let auditor = answer["token"].as_str().expect("token");
    assert!(allowed(&server, auditor, "export").await);
    assert!(!allowed(&server, auditor, "write").await);

    for (body, code) in [
        (
            json!({"token": parent, "preset": "auditor"}),
            "expiry_required",
        ),
        (
            json!({"token": parent, "preset": "owner", "days": 1}),
            "unknown_preset",
        ),
        (
            json!({"token": parent, "preset": "reviewer", "days": 0}),
            "invalid_expiry",
        ),
        (
            json!({"token": parent, "preset": "reviewer", "until": "soon"}),
            "invalid_expiry",
        ),
        (
            json!({"token": "tsr_not-a-token", "preset": "reviewer"}),
            "malformed",
        ),
    ] {
        let (status, answer) = attenuate(&server, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], code, "{body}: {answer}");
        assert!(
            !answer.to_string().contains(&parent),
            "the token is never echoed"
        );
    }
    let anonymous = client()
        .post(server.url("/admin/v1/attenuations"))
        .json(&json!({"token": parent, "preset": "reviewer"}))
        .send()
        .await
        .expect("post");
    assert_eq!(anonymous.status(), 401);
}
