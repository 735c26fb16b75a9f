//! The fleet scenarios: one signing gateway and followers started from
//! empty data directories, over one nats-server.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::nats::Nats;
use crate::server::{client, Server};

/// The staleness bound of these tests.
pub(crate) const STALENESS: &str = "1s";

pub(crate) fn fleet_args(nats: &Nats) -> Vec<String> {
    [
        "--fleet",
        &nats.url(),
        "--max-staleness",
        STALENESS,
        "--min-revision-wait",
        "5s",
        "--max-authorizer-ms",
        "250",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub(crate) fn start(data: &Path, nats: &Nats) -> Server {
    let args = fleet_args(nats);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_in(data, &args, None)
}

/// A data directory with a private keyring and an admin token: a single
/// node started once, then stopped.
pub(crate) fn signer_dir(root: &Path) -> PathBuf {
    let data = root.join("signer");
    let mut once = Server::start_in(&data, &[], None);
    once.terminate();
    data
}

pub(crate) async fn wait_ready(s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client().get(s.url("/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never ready: {}",
            s.base,
            s.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An admin write; returns (status, body).
pub(crate) async fn admin(
    s: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = client().request(method, s.url(path)).bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("admin request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Forward-auth of `GET uri` at revision `rev` or later; (status, error code).
pub(crate) async fn fwd(s: &Server, uri: &str, token: Option<&str>, rev: u64) -> (u16, String) {
    let mut rb = client()
        .get(s.url("/auth"))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", uri)
        .header("X-Tessera-Min-Revision", rev.to_string());
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let r = rb.send().await.expect("GET /auth");
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().unwrap_or("").to_owned())
}

pub(crate) fn revision(body: &Value) -> u64 {
    body["revision"]
        .as_u64()
        .unwrap_or_else(|| panic!("no revision in {body}"))
}

pub(crate) async fn digest(s: &Server, token: &str) -> (u64, String) {
    let (status, body) = admin(s, token, "GET", "/admin/v1/fleet", None).await;
    assert_eq!(status, 200, "{body}");
    (
        revision(&body),
        body["digest"].as_str().expect("digest").to_owned(),
    )
}

/// Waits until every gateway has applied `rev`, then returns their digests.
pub(crate) async fn digests(servers: &[&Server], token: &str, rev: u64) -> Vec<String> {
    let mut out = Vec::new();
    for s in servers {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (applied, d) = digest(s, token).await;
            if applied >= rev {
                out.push(d);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} stuck at {applied} < {rev}",
                s.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    out
}

/// Makes a view public through `s`; the write's revision.
async fn make_public(s: &Server, token: &str, path: &str) -> u64 {
    let body = json!({ "settings": { "public": true } });
    let (status, v) = admin(s, token, "PUT", path, Some(body)).await;
    assert_eq!(status, 200, "{v}");
    revision(&v)
}

/// The text `s` answers at `path`, with its status.
async fn text(s: &Server, path: &str) -> (u16, String) {
    let r = client().get(s.url(path)).send().await.expect(path);
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// A fleet on a new nats-server: the signer and `followers` gateways from
/// empty data directories, all ready; with the admin token.
pub(crate) async fn fleet_of(followers: usize) -> (Nats, tempfile::TempDir, Vec<Server>, String) {
    let nats = Nats::start();
    let root = tempfile::tempdir().expect("tempdir");
    let mut gateways = vec![start(&signer_dir(root.path()), &nats)];
    for i in 1..=followers {
        gateways.push(start(&root.path().join(format!("f{i}")), &nats));
    }
    for s in &gateways {
        wait_ready(s).await;
    }
    let token = gateways[0].admin_token();
    (nats, root, gateways, token)
}

pub(crate) async fn issue_guest(s: &Server, token: &str, view: &str) -> (String, String, u64) {
    let (status, v) = admin(
        s,
        token,
        "POST",
        "/admin/v1/tokens",
        Some(json!({ "kind": "guest", "workspace": "ws_1", "view": view, "allow": ["read"] })),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    (
        v["token"].as_str().expect("token").to_owned(),
        v["token_id"].as_str().expect("token_id").to_owned(),
        revision(&v),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_one_gateway_are_enforced_by_every_gateway_through_restarts_and_outages() {
    let mut nats = Nats::start();
    let root = tempfile::tempdir().expect("tempdir");
    let signer_data = signer_dir(root.path());
    let gw0 = start(&signer_data, &nats);
    let admin_token = gw0.admin_token();
    let gw1 = start(&root.path().join("f1"), &nats);
    let mut gw2 = start(&root.path().join("f2"), &nats);
    for s in [&gw0, &gw1, &gw2] {
        wait_ready(s).await;
    }

    // Registry through the signer; every answer carries its revision.
    let mut rev = 0;
    for (view, table) in [("v_1", "t_1"), ("v_2", "t_1")] {
        let (status, body) = admin(
            &gw0,
            &admin_token,
            "PUT",
            &format!("/admin/v1/views/{view}"),
            Some(json!({ "table": table, "workspace": "ws_1" })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], view, "the route's own fields stay: {body}");
        assert!(revision(&body) > rev);
        rev = revision(&body);
    }
    let (guest, guest_id, issued) = issue_guest(&gw0, &admin_token, "v_1").await;
    assert!(issued > rev);
    for s in [&gw0, &gw1, &gw2] {
        assert_eq!(
            fwd(s, "/api/v1/views/v_1/rows", Some(&guest), issued).await,
            (200, String::new())
        );
        assert_eq!(
            fwd(s, "/api/v1/views/v_2/rows", None, issued).await,
            (401, "missing_token".into())
        );
    }

    // A revocation through the signer, a view setting through a follower.
    let (status, body) = admin(
        &gw0,
        &admin_token,
        "DELETE",
        &format!("/admin/v1/tokens/{guest_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let revoked = revision(&body);
    let public = make_public(&gw1, &admin_token, "/admin/v1/views/v_2").await;
    assert!(public > revoked);
    for s in [&gw0, &gw1, &gw2] {
        assert_eq!(
            fwd(s, "/api/v1/views/v_1/rows", Some(&guest), revoked).await,
            (401, "revoked".into())
        );
        assert_eq!(
            fwd(s, "/api/v1/views/v_2/rows", None, public).await,
            (200, String::new())
        );
    }
    // Asking for a revision nobody wrote yet: 503 behind.
    let r = client()
        .get(gw1.url("/admin/v1/fleet"))
        .bearer_auth(&admin_token)
        .header("X-Tessera-Min-Revision", (public + 1000).to_string())
        .send()
        .await
        .expect("fleet");
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.expect("json")["error"], "behind");
    let d = digests(&[&gw0, &gw1, &gw2], &admin_token, public).await;
    assert!(d.windows(2).all(|w| w[0] == w[1]), "{d:?}");

    // SIGKILL a follower, change things, restart it: it catches up before ready.
    gw2.kill();
    let (second, second_id, _) = issue_guest(&gw0, &admin_token, "v_1").await;
    let (status, body) = admin(
        &gw0,
        &admin_token,
        "DELETE",
        &format!("/admin/v1/tokens/{second_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let while_down = revision(&body);
    let gw2 = start(&root.path().join("f2"), &nats);
    wait_ready(&gw2).await;
    let (applied, _) = digest(&gw2, &admin_token).await;
    assert!(
        applied >= while_down,
        "ready at {applied} before {while_down}"
    );
    assert_eq!(
        fwd(&gw2, "/api/v1/views/v_1/rows", Some(&second), 0).await,
        (401, "revoked".into())
    );

    // A gateway from an empty data directory catches up from nothing.
    let gw3 = start(&root.path().join("f3"), &nats);
    wait_ready(&gw3).await;
    assert_eq!(
        fwd(&gw3, "/api/v1/views/v_1/rows", Some(&guest), 0).await,
        (401, "revoked".into())
    );
    assert_eq!(
        fwd(&gw3, "/api/v1/views/v_2/rows", None, 0).await,
        (200, String::new())
    );

    // NATS down: writes fail with fleet_unavailable, past the bound every
    // gateway refuses as stale; health answers.
    nats.stop();
    let (status, body) = admin(
        &gw0,
        &admin_token,
        "PUT",
        "/admin/v1/views/v_1",
        Some(json!({ "settings": { "public": true } })),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("fleet_unavailable")),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    for s in [&gw0, &gw1, &gw2, &gw3] {
        assert_eq!(
            fwd(s, "/api/v1/views/v_2/rows", None, 0).await,
            (403, "stale".into())
        );
        assert_eq!(text(s, "/healthz").await.0, 200);
        assert_eq!(text(s, "/readyz").await.0, 503);
    }
    let (_, metrics) = text(&gw1, "/metrics").await;
    assert!(metrics.contains("tessera_fleet_stale 1"), "{metrics}");

    // NATS back on the same store: everything acknowledged is still there.
    nats.restart();
    for s in [&gw0, &gw1, &gw2, &gw3] {
        wait_ready(s).await;
    }
    let last = make_public(&gw2, &admin_token, "/admin/v1/views/v_1").await;
    assert!(last > while_down);
    let d = digests(&[&gw0, &gw1, &gw2, &gw3], &admin_token, last).await;
    assert!(d.windows(2).all(|w| w[0] == w[1]), "{d:?}");
    for s in [&gw0, &gw1, &gw2, &gw3] {
        assert_eq!(
            fwd(s, "/api/v1/views/v_1/rows", Some(&second), last).await,
            (401, "revoked".into())
        );
    }
}
