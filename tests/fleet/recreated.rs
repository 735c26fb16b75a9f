//! A stream that no longer holds a gateway's position (deleted and
//! recreated): every gateway starts afresh from what the stream holds, the
//! signer publishes its keys again, and the fleet is one state again.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::scenarios::{admin, digests, fleet_of, revision, wait_ready};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_stream_means_a_fresh_start_on_every_gateway() {
    let (nats, _root, gateways, token) = fleet_of(1).await;
    let (gw0, gw1) = (&gateways[0], &gateways[1]);
    let placed = json!({ "table": "t_1", "workspace": "ws_1" });
    let (status, v) = admin(
        gw0,
        &token,
        "PUT",
        "/admin/v1/views/v_1",
        Some(placed.clone()),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let before = digests(&[gw0, gw1], &token, revision(&v)).await;
    assert_eq!(before[0], before[1]);

    let client = async_nats::connect(nats.url()).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    js.delete_stream(tessera::fleet::message::STREAM)
        .await
        .expect("delete the stream");

    // Both notice, start afresh (the view is gone) and are ready again
    // once the signer's keys are back in the new stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = admin(gw1, &token, "GET", "/admin/v1/views/v_1", None).await;
        if status == 404 {
            break;
        }
        assert!(Instant::now() < deadline, "gw1 kept the old state");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for s in [gw0, gw1] {
        wait_ready(s).await;
    }
    let (status, v) = admin(gw1, &token, "PUT", "/admin/v1/views/v_2", Some(placed)).await;
    assert_eq!(status, 200, "{v}");
    let after = digests(&[gw0, gw1], &token, revision(&v)).await;
    assert_eq!(after[0], after[1]);
    assert_ne!(after[0], before[0]);
    let (status, _) = admin(gw0, &token, "GET", "/admin/v1/views/v_1", None).await;
    assert_eq!(status, 404, "the signer started afresh too");
}
