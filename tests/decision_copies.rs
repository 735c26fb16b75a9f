//! The per-thread copies of decision-cache hits never outlive a change: a
//! token whose allow is held in every worker thread's copy (a multi-threaded
//! `tessera serve`, many keep-alive connections, every one warm) is refused
//! with `revoked` on each connection's very next request after the
//! revocation's answer (SECURITY.md row 205).

mod server;

use serde_json::json;

use server::{ask_forward_auth, client, issue_guest_reader, seed_registry, Server};

const CONNECTIONS: usize = 32;

async fn decision_cache_hits(s: &Server) -> u64 {
    server::metric(s, "tessera_decision_cache_hits_total").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_applies_on_the_next_request_of_every_warm_connection() {
    let s = Server::start(&[]);
    seed_registry(&s).await;
    let issued = issue_guest_reader(&s).await;
    let token = issued["token"].as_str().expect("token").to_owned();
    let token_id = issued["token_id"].as_str().expect("token id").to_owned();

    // One client (one keep-alive connection) per task, each warmed until
    // its requests are answered from the caches of whichever worker runs it.
    let clients: Vec<reqwest::Client> = (0..CONNECTIONS).map(|_| client()).collect();
    let warm = clients.iter().map(|c| {
        let (s, token) = (&s, &token);
        async move {
            for _ in 0..40 {
                let (status, body) = ask_forward_auth(c, s, "/auth", token).await;
                assert_eq!(status, 200, "{body}");
            }
        }
    });
    futures_util::future::join_all(warm).await;
    let hits = decision_cache_hits(&s).await;
    assert!(hits >= (CONNECTIONS * 38) as u64, "only {hits} cache hits");

    let r = client()
        .delete(s.url(&format!("/admin/v1/tokens/{token_id}")))
        .bearer_auth(s.admin_token())
        .json(&json!({ "reason": "leaked" }))
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 200);

    // No pause: every connection's very next request.
    let next = clients
        .iter()
        .map(|c| ask_forward_auth(c, &s, "/auth", &token));
    for (status, body) in futures_util::future::join_all(next).await {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "revoked", "{body}");
    }
}
