//! Revocation at scale: a store holding 1,000,000 revoked ids. Measures how
//! long `tessera serve` takes to be ready from start, how much memory the
//! revocation set adds, and the decision latency against an empty list.
//!
//! Run with `cargo bench --bench startup` (`TESSERA_REVOKED` sets the count;
//! without `--bench`, e.g. under `cargo test --benches`, it does nothing).
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tessera::store::Store;

struct Served {
    child: Child,
    base: String,
    data: std::path::PathBuf,
    ready_after: Duration,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Served {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn"])
        .args(["--decision-cache-ms", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tessera serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("listening line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening on …")
        .to_owned();
    let rt = runtime();
    rt.block_on(async {
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
                if r.status() == 200 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    Served {
        child,
        base,
        data: data.to_owned(),
        ready_after: start.elapsed(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Registers v_1, issues a guest token, then times `n` sequential forward-auth
/// decisions (decision cache off): returns (p50, p99) in µs.
fn decision_latency(server: &Served, n: usize) -> (u64, u64) {
    let rt = runtime();
    rt.block_on(async {
        let data_admin =
            std::fs::read_to_string(server.data.join("admin.token")).expect("admin token");
        let admin = data_admin.trim();
        let c = reqwest::Client::new();
        c.put(format!("{}/admin/v1/views/v_1", server.base))
            .bearer_auth(admin)
            .json(&serde_json::json!({"table": "t_1", "workspace": "ws_1"}))
            .send()
            .await
            .expect("view");
        let issued: serde_json::Value = c
            .post(format!("{}/admin/v1/tokens", server.base))
            .bearer_auth(admin)
            .json(&serde_json::json!({"kind": "guest", "workspace": "ws_1", "view": "v_1", "allow": "read"}))
            .send()
            .await
            .expect("issue")
            .json()
            .await
            .expect("json");
        let token = issued["token"].as_str().expect("token").to_owned();
        let mut lat = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let r = c
                .get(format!("{}/auth", server.base))
                .header("x-original-method", "GET")
                .header("x-original-uri", "/api/v1/views/v_1/rows")
                .bearer_auth(&token)
                .send()
                .await
                .expect("auth");
            assert_eq!(r.status(), 200);
            lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
        lat.sort_unstable();
        (lat[n / 2], lat[n * 99 / 100])
    })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("startup: not run (use `cargo bench --bench startup`)");
        return;
    }
    let count: usize = std::env::var("TESSERA_REVOKED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty");
    let full = dir.path().join("full");

    // The full store: created by a first start, then filled directly.
    drop(serve(&full));
    let t = Instant::now();
    {
        let store = Store::open(&full.join("tessera.redb")).expect("store");
        let mut rng = StdRng::seed_from_u64(7);
        let now = Utc::now();
        for chunk in 0..count.div_ceil(50_000) {
            let n = (count - chunk * 50_000).min(50_000);
            let ids: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let mut id = vec![0u8; 64];
                    rng.fill_bytes(&mut id);
                    id
                })
                .collect();
            store.revoke(&ids, None, now).expect("revoke");
        }
    }
    eprintln!(
        "startup: {count} revocation ids written to redb in {:.1} s (50,000 per transaction)",
        t.elapsed().as_secs_f64()
    );

    let mut results = Vec::new();
    for (name, data) in [("empty list", &empty), ("1M revoked", &full)] {
        let server = serve(data);
        let ready = server.ready_after;
        let rss = rss_kib(server.child.id());
        let (p50, p99) = decision_latency(&server, 3000);
        results.push((name, ready, rss, p50, p99));
    }
    eprintln!(
        "startup: {:<12} {:>10} {:>12} {:>8} {:>8}",
        "store", "ready ms", "RSS MiB", "p50 µs", "p99 µs"
    );
    for (name, ready, rss, p50, p99) in &results {
        eprintln!(
            "startup: {:<12} {:>10} {:>12.1} {:>8} {:>8}",
            name,
            ready.as_millis(),
            *rss as f64 / 1024.0,
            p50,
            p99
        );
    }
    let (_, _, rss_empty, p50_empty, _) = results[0];
    let (_, ready_full, rss_full, p50_full, _) = results[1];
    eprintln!(
        "startup: 1M revoked: ready in {} ms (target <= 1000), set adds {:.1} MiB (target <= 100), p50 decision {:+.1}% vs empty (target within 5%)",
        ready_full.as_millis(),
        (rss_full.saturating_sub(rss_empty)) as f64 / 1024.0,
        (p50_full as f64 - p50_empty as f64) / p50_empty as f64 * 100.0
    );
}
