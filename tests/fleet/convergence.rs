//! Convergence: random changes sent concurrently to random gateways end in
//! one state on every gateway (identical digests of registry + revocations).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::scenarios::{admin, digests, fleet_of, issue_guest, revision};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_changes_to_random_gateways_converge() {
    let (_nats, _root, gateways, token) = fleet_of(2).await;
    let gateways = std::sync::Arc::new(gateways);
    for view in 0..3 {
        let body = json!({ "table": "t_1", "workspace": "ws_1" });
        let (status, v) = admin(
            &gateways[0],
            &token,
            "PUT",
            &format!("/admin/v1/views/v_{view}"),
            Some(body),
        )
        .await;
        assert_eq!(status, 200, "{v}");
    }
    for seed in 0..3u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (at, view) = (rng.gen_range(0..3), rng.gen_range(0..3));
            let (setting, value) = (
                ["public", "editable", "locked"][rng.gen_range(0..3)],
                rng.gen_bool(0.5),
            );
            let revoke = rng.gen_bool(0.3);
            let (gws, token) = (gateways.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let s = &gws[at];
                let path = format!("/admin/v1/views/v_{view}");
                let body = json!({ "settings": { setting: value } });
                let (status, v) = admin(s, &token, "PUT", &path, Some(body)).await;
                assert_eq!(status, 200, "{path}: {v}");
                let mut rev = revision(&v);
                if revoke {
                    let (_, id, issued) = issue_guest(&gws[0], &token, "v_0").await;
                    let (status, v) =
                        admin(s, &token, "DELETE", &format!("/admin/v1/tokens/{id}"), None).await;
                    // 404: this gateway had not applied the issue yet.
                    assert!(status == 200 || status == 404, "{status} {v}");
                    rev = rev.max(issued).max(v["revision"].as_u64().unwrap_or(0));
                }
                rev
            }));
        }
        let mut last = 0;
        for t in tasks {
            last = last.max(t.await.expect("task"));
        }
        let refs: Vec<&crate::server::Server> = gateways.iter().collect();
        let d = digests(&refs, &token, last).await;
        assert!(d.windows(2).all(|w| w[0] == w[1]), "seed {seed}: {d:?}");
    }
}
