//! Fleet propagation: the time from the admin API's answer to a revocation
//! on one gateway to the revoked token being refused by the last of N
//! gateways, p50/p99, for N = 1, 3, 5 (a real nats-server and real
//! `tessera serve --fleet` processes on loopback). `cargo bench --bench
//! fleet` runs 100 revocations per N; `cargo test --benches` a short smoke
//! run (N = 1, 3 revocations). Then the `bootstrap` group: a gateway from an
//! empty data directory with 10⁵ revocations in the stream (200 in the
//! smoke run; `TESSERA_BENCH_REVOCATIONS` sets the count), once replaying
//! the whole stream and once from a snapshot. `cargo bench --bench fleet --
//! bootstrap` runs only that group.

#[path = "../tests/server/mod.rs"]
mod server;

#[path = "../tests/fleet/nats.rs"]
mod nats;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use nats::Nats;
use server::{client, Server};

fn fleet(data: &std::path::Path, nats: &Nats) -> Server {
    let url = nats.url();
    Server::start_in(
        data,
        &[
            "--fleet",
            &url,
            "--max-authorizer-ms",
            "250",
            "--log",
            "warn",
            "--fleet-snapshot-every",
            "0",
        ],
        None,
    )
}

async fn ready(s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while client()
        .get(s.url("/readyz"))
        .send()
        .await
        .map_or(true, |r| r.status() != 200)
    {
        assert!(Instant::now() < deadline, "not ready: {}", s.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn status(s: &Server, token: &str, min_revision: u64) -> u16 {
    client()
        .get(s.url("/auth"))
        .header("X-Forwarded-Method", "GET")
        .header("X-Forwarded-Uri", "/api/v1/views/v_1/rows")
        .header("X-Tessera-Min-Revision", min_revision.to_string())
        .bearer_auth(token)
        .send()
        .await
        .expect("auth")
        .status()
        .as_u16()
}

async fn write(s: &Server, admin: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let mut rb = client().request(method, s.url(path)).bearer_auth(admin);
    if !body.is_null() {
        rb = rb.json(&body);
    }
    let r = rb.send().await.expect("admin");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("json")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run(n: usize, revocations: usize) {
    let nats = Nats::start();
    let root = tempfile::tempdir().expect("tempdir");
    let signer = root.path().join("signer");
    Server::start_in(&signer, &["--log", "warn"], None).terminate();
    let mut gateways = vec![fleet(&signer, &nats)];
    for i in 1..n {
        gateways.push(fleet(&root.path().join(format!("f{i}")), &nats));
    }
    for s in &gateways {
        ready(s).await;
    }
    let admin = gateways[0].admin_token();
    let put = reqwest::Method::PUT;
    write(
        &gateways[0],
        &admin,
        put,
        "/admin/v1/views/v_1",
        json!({ "table": "t_1", "workspace": "ws_1" }),
    )
    .await;
    let mut times = Vec::with_capacity(revocations);
    for _ in 0..revocations {
        let issued = write(
            &gateways[0],
            &admin,
            reqwest::Method::POST,
            "/admin/v1/tokens",
            json!({ "kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": ["read"] }),
        )
        .await;
        let token = issued["token"].as_str().expect("token").to_owned();
        let rev = issued["revision"].as_u64().expect("revision");
        for s in &gateways {
            assert_eq!(status(s, &token, rev).await, 200);
        }
        let id = issued["token_id"].as_str().expect("token_id");
        write(
            &gateways[0],
            &admin,
            reqwest::Method::DELETE,
            &format!("/admin/v1/tokens/{id}"),
            Value::Null,
        )
        .await;
        let answered = Instant::now();
        let mut last = Duration::ZERO;
        for s in &gateways {
            let deadline = answered + Duration::from_secs(10);
            while status(s, &token, 0).await != 401 {
                assert!(Instant::now() < deadline, "never refused");
            }
            last = last.max(answered.elapsed());
        }
        times.push(last);
    }
    times.sort();
    println!(
        "fleet/propagation N={n}: p50 {:.1} ms, p99 {:.1} ms over {revocations} revocations",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
    );
}

/// Bootstrap: `revocations` revocations in the stream (one message each,
/// the worst case), then a gateway from an empty data directory: the time
/// until it is ready.
async fn bootstrap(revocations: usize) {
    use tessera::change::{Actor, Change};
    use tessera::fleet::message::{FleetMessage, SUBJECT};

    let nats = Nats::start();
    let root = tempfile::tempdir().expect("tempdir");
    let signer = root.path().join("signer");
    Server::start_in(&signer, &["--log", "warn"], None).terminate();
    let gw0 = fleet(&signer, &nats);
    ready(&gw0).await;
    let client = async_nats::connect(nats.url()).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    let mut acks = Vec::with_capacity(1000);
    for i in 0..revocations {
        let message = FleetMessage {
            origin: "bench".into(),
            nonce: format!("bench-{i}"),
            actor: Actor::Cli,
            at: chrono::Utc::now(),
            changes: vec![Change::Revoke {
                revocation_id: hex::encode((i as u128).to_be_bytes()),
                token_id: None,
                reason: None,
            }],
        };
        acks.push(
            js.publish(SUBJECT, message.encode().into())
                .await
                .expect("publish"),
        );
        if acks.len() == 1000 {
            for ack in acks.drain(..) {
                ack.await.expect("ack");
            }
        }
    }
    for ack in acks {
        ack.await.expect("ack");
    }
    let start = Instant::now();
    let fresh = fleet(&root.path().join("replay"), &nats);
    ready(&fresh).await;
    println!(
        "fleet/bootstrap/replay {revocations} revocations (one message each): ready in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    drop(fresh);
    // The signer has applied everything the fresh gateway did: snapshot it.
    let admin = gw0.admin_token();
    let started = Instant::now();
    let written = write(
        &gw0,
        &admin,
        reqwest::Method::POST,
        "/admin/v1/fleet/snapshot",
        Value::Null,
    )
    .await;
    assert_eq!(written["written"], true, "{written}");
    let wrote = started.elapsed();
    let size = snapshot_size(&js).await;
    let start = Instant::now();
    let fresh = fleet(&root.path().join("snapshot"), &nats);
    ready(&fresh).await;
    println!(
        "fleet/bootstrap/snapshot {revocations} revocations: ready in {:.2} s (snapshot of {:.1} MB written in {:.2} s)",
        start.elapsed().as_secs_f64(),
        size as f64 / 1e6,
        wrote.as_secs_f64()
    );
}

/// The size in bytes of the snapshot the `latest` pointer names.
async fn snapshot_size(js: &async_nats::jetstream::Context) -> usize {
    use tessera::fleet::snapshot::{LATEST, OBJECTS, POINTER};
    let pointer = js
        .get_key_value(POINTER)
        .await
        .expect("pointer bucket")
        .get(LATEST)
        .await
        .expect("pointer")
        .expect("a pointer");
    let pointer: Value = serde_json::from_slice(&pointer).expect("pointer json");
    let name = pointer["object"].as_str().expect("object name");
    let objects = js.get_object_store(OBJECTS).await.expect("objects");
    objects.info(name).await.expect("object info").size
}

/// The bootstrap's revocation count: `TESSERA_BENCH_REVOCATIONS`, else `default`.
fn revocations(default: usize) -> usize {
    std::env::var("TESSERA_BENCH_REVOCATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let only_bootstrap = std::env::args().skip(1).any(|a| a == "bootstrap");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if full {
            if !only_bootstrap {
                for n in [1, 3, 5] {
                    run(n, 100).await;
                }
            }
            bootstrap(revocations(100_000)).await;
        } else {
            run(1, 3).await;
            bootstrap(revocations(200)).await;
        }
    });
}
