//! Snapshots and compaction: a gateway started from an empty data
//! directory after the stream was compacted loads the latest snapshot and
//! replays only what came after it; a corrupted snapshot is refused — the
//! gateway replays the whole stream when it still can, and fails closed
//! (not ready, `stale`) when compaction removed what the snapshot held.

use std::path::Path;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use tessera::fleet::message::STREAM;
use tessera::fleet::snapshot::{LATEST, OBJECTS, POINTER};

use crate::nats::Nats;
use crate::scenarios::{
    admin, digests, fleet_args, fwd, issue_guest, revision, signer_dir, wait_ready,
};
use crate::server::{client, Server};

fn start_with(data: &Path, nats: &Nats, extra: &[&str]) -> Server {
    let mut args = fleet_args(nats);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_in(data, &args, None)
}

async fn revoke(s: &Server, token: &str, token_id: &str) -> u64 {
    let path = format!("/admin/v1/tokens/{token_id}");
    let (status, body) = admin(s, token, "DELETE", &path, None).await;
    assert_eq!(status, 200, "{body}");
    revision(&body)
}

async fn snapshot_now(s: &Server, token: &str) -> Value {
    let (status, body) = admin(s, token, "POST", "/admin/v1/fleet/snapshot", None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn metrics(s: &Server) -> String {
    let r = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    r.text().await.unwrap_or_default()
}

async fn js(nats: &Nats) -> jetstream::Context {
    jetstream::new(async_nats::connect(nats.url()).await.expect("nats"))
}

/// A signer and one follower, a view, and two guests of it.
async fn world(nats: &Nats, root: &Path, extra: &[&str]) -> (Server, Server, String) {
    let gw0 = start_with(&signer_dir(root), nats, extra);
    let gw1 = start_with(&root.join("f1"), nats, extra);
    for s in [&gw0, &gw1] {
        wait_ready(s).await;
    }
    let token = gw0.admin_token();
    let placed = json!({ "table": "t_1", "workspace": "ws_1" });
    let (status, v) = admin(&gw0, &token, "PUT", "/admin/v1/views/v_1", Some(placed)).await;
    assert_eq!(status, 200, "{v}");
    (gw0, gw1, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_started_after_compaction_loads_the_snapshot_and_enforces_revocations_from_before_and_after_it(
) {
    let nats = Nats::start();
    let root = tempfile::tempdir().expect("tempdir");
    let (gw0, gw1, token) = world(&nats, root.path(), &["--fleet-compact"]).await;
    let (early, early_id, _) = issue_guest(&gw0, &token, "v_1").await;
    let (late, late_id, _) = issue_guest(&gw0, &token, "v_1").await;
    let revoked_early = revoke(&gw0, &token, &early_id).await;

    let written = snapshot_now(&gw0, &token).await;
    assert_eq!(written["written"], true, "{written}");
    let at = written["snapshot_revision"].as_u64().expect("revision");
    assert!(at >= revoked_early, "{written}");
    // Asked again at the same revision: nothing new to write.
    let again = snapshot_now(&gw1, &token).await;
    assert_eq!(again["written"], false, "{again}");
    assert_eq!(again["snapshot_revision"], at);
    let info = js(&nats)
        .await
        .get_stream(STREAM)
        .await
        .expect("stream")
        .cached_info()
        .clone();
    assert_eq!(
        info.state.first_sequence,
        at + 1,
        "compacted below the snapshot"
    );

    let revoked_late = revoke(&gw1, &token, &late_id).await;
    let gw2 = start_with(&root.path().join("f2"), &nats, &[]);
    wait_ready(&gw2).await;
    for (guest, rev) in [(&early, revoked_early), (&late, revoked_late)] {
        assert_eq!(
            fwd(&gw2, "/api/v1/views/v_1/rows", Some(guest), rev).await,
            (401, "revoked".into())
        );
    }
    // The snapshot carried the signer's public key and the registry.
    let (fresh, _, issued) = issue_guest(&gw0, &token, "v_1").await;
    assert_eq!(
        fwd(&gw2, "/api/v1/views/v_1/rows", Some(&fresh), issued).await,
        (200, String::new())
    );
    let all = digests(&[&gw0, &gw1, &gw2], &token, issued).await;
    assert!(all.iter().all(|d| d == &all[0]), "{all:?}");
    let m = metrics(&gw2).await;
    assert!(
        m.contains("tessera_fleet_bootstrap{source=\"snapshot\"} 1"),
        "{m}"
    );
    let (_, status) = admin(&gw2, &token, "GET", "/admin/v1/fleet", None).await;
    assert_eq!(status["snapshot_revision"], at, "{status}");
    assert!(metrics(&gw0)
        .await
        .contains("tessera_fleet_snapshots_written_total 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_snapshot_is_refused_replayed_around_while_the_stream_is_whole_and_fails_closed_once_compacted(
) {
    let nats = Nats::start();
    let root = tempfile::tempdir().expect("tempdir");
    let (gw0, gw1, token) = world(&nats, root.path(), &[]).await;
    let (guest, guest_id, _) = issue_guest(&gw0, &token, "v_1").await;
    let revoked = revoke(&gw0, &token, &guest_id).await;
    let at = snapshot_now(&gw1, &token).await["snapshot_revision"]
        .as_u64()
        .expect("revision");

    // Flip one byte of the object the pointer names; the pointer's digest stays.
    let js = js(&nats).await;
    let pointer: Value = serde_json::from_slice(
        &js.get_key_value(POINTER)
            .await
            .expect("pointer bucket")
            .get(LATEST)
            .await
            .expect("pointer")
            .expect("a pointer"),
    )
    .expect("pointer json");
    let name = pointer["object"].as_str().expect("object").to_owned();
    let objects = js.get_object_store(OBJECTS).await.expect("objects");
    let mut bytes = Vec::new();
    objects
        .get(&name)
        .await
        .expect("object")
        .read_to_end(&mut bytes)
        .await
        .expect("read");
    let last = bytes.len() - 3;
    bytes[last] ^= 0x20;
    objects
        .put(name.as_str(), &mut bytes.as_slice())
        .await
        .expect("overwrite");

    // The stream still holds everything: refused, then a full replay.
    let gw2 = start_with(&root.path().join("f2"), &nats, &[]);
    wait_ready(&gw2).await;
    assert_eq!(
        fwd(&gw2, "/api/v1/views/v_1/rows", Some(&guest), revoked).await,
        (401, "revoked".into())
    );
    let all = digests(&[&gw0, &gw1, &gw2], &token, at).await;
    assert!(all.iter().all(|d| d == &all[0]), "{all:?}");
    assert!(metrics(&gw2)
        .await
        .contains("tessera_fleet_bootstrap{source=\"replay\"} 1"));
    assert!(
        gw2.logs().contains("snapshot digest mismatch"),
        "{}",
        gw2.logs()
    );

    // Compacted below the snapshot: nothing can rebuild the early state, so
    // a new gateway stays not ready and refuses tokens as `stale`.
    js.get_stream(STREAM)
        .await
        .expect("stream")
        .purge()
        .sequence(at + 1)
        .await
        .expect("purge");
    let gw3 = start_with(&root.path().join("f3"), &nats, &[]);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let r = client().get(gw3.url("/readyz")).send().await;
        assert!(
            r.is_err() || r.is_ok_and(|r| r.status() == 503),
            "ready on a partial history"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        fwd(&gw3, "/api/v1/views/v_1/rows", Some(&guest), 0).await.1,
        "stale"
    );
    let logs = gw3.logs();
    assert!(logs.contains("snapshot digest mismatch"), "{logs}");
    assert!(
        logs.contains("not starting from a partial history"),
        "{logs}"
    );
}
