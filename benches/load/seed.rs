//! What the gateways are given before the load: the registry and a guest
//! token through the admin API, a pool of distinct tokens for the cold
//! scenario, and a check that the token is allowed.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use hyper::header::HeaderValue;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

use tessera::link::share_link;
use tessera::model::{Grant, Id, Operation, Restriction};
use tessera::store::datadir::DataDir;
use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use crate::servers::Server;
use crate::PATH;

/// Share links are measured on this base.
const SHARE_BASE: &str = "https://share.example.com";

/// Registers ws_1 ⊃ t_1 ⊃ v_1 and issues a guest token (read, export; one
/// day) through the admin API.
pub(crate) async fn seed(client: &reqwest::Client, server: &Server) -> String {
    let admin = server.admin_token();
    let r = client
        .put(server.url("/admin/v1/views/v_1"))
        .bearer_auth(&admin)
        .json(&json!({ "table": "t_1", "workspace": "ws_1" }))
        .send()
        .await
        .expect("put view");
    assert!(
        r.status().is_success(),
        "PUT view: {}",
        r.text().await.unwrap_or_default()
    );
    let r = client
        .post(server.url("/admin/v1/tokens"))
        .bearer_auth(&admin)
        .json(&json!({
            "kind": "guest", "workspace": "ws_1", "view": "v_1",
            "allow": "read,export", "expires": "1d",
        }))
        .send()
        .await
        .expect("issue");
    assert_eq!(r.status(), 201, "POST tokens");
    let body: serde_json::Value = r.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

/// `count` distinct 1-block guest tokens signed with the data directory's
/// active root key, made on every core.
pub(crate) fn token_pool(data: &Path, count: usize) -> Vec<HeaderValue> {
    let ring = Arc::new(DataDir::new(data).read_keyring().expect("read keyring"));
    let now = Utc::now();
    let ops = Operation::parse_list("read,export").expect("ops");
    let grant = Arc::new(
        Grant::guest(
            Id::new("ws_1").expect("id"),
            Id::new("v_1").expect("id"),
            &ops,
        )
        .expires_at(Some(now + chrono::Duration::days(1))),
    );
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = count.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (ring, grant) = (ring.clone(), grant.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(1000 + t as u64);
                (0..per)
                    .map(|_| {
                        let issued =
                            token::issue_with_rng(&grant, &ring, now, &mut rng).expect("issue");
                        HeaderValue::from_str(&format!("Bearer {}", issued.token.expose()))
                            .expect("header value")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut pool: Vec<HeaderValue> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("token thread"))
        .collect();
    pool.truncate(count);
    pool
}

pub(crate) async fn check_allowed(client: &reqwest::Client, server: &Server, token: &str) {
    let r = client
        .get(server.url("/auth"))
        .header("x-original-method", "GET")
        .header("x-original-uri", PATH)
        .bearer_auth(token)
        .send()
        .await
        .expect("auth");
    assert_eq!(r.status(), 200, "forward-auth must allow the seeded token");
}

/// The share-link lengths of the seeded token and of one attenuation.
pub(crate) fn print_share_links(token: &str) {
    let now = Utc::now();
    let restriction = Restriction {
        operations: Some([Operation::Read].into()),
        expires_at: Some(now + chrono::Duration::hours(12)),
        ..Restriction::default()
    };
    let child = token::attenuate_with_rng(
        token,
        &restriction,
        now,
        DEFAULT_MAX_TOKEN_BYTES,
        &mut StdRng::seed_from_u64(5),
    )
    .expect("attenuate");
    let link = |t: &str| share_link(SHARE_BASE, t, DEFAULT_MAX_TOKEN_BYTES).expect("link");
    eprintln!(
        "share link (admin API guest token: 1 view, read+export, 1d): {} chars (target <= 400); after one attenuation: {} chars (target <= 700)",
        link(token).len(),
        link(child.expose()).len()
    );
}
