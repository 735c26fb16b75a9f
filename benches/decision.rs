//! What one authorization decision costs, and what it is made of.
//!
//! - `decision/cold/{1,2,4}_blocks`: Tessera's full decision from token text
//!   with no cache (`authorize::decide`: decode, parse, verify every
//!   signature, revocation, authorize).
//! - `decision/warm/{1,2,4}_blocks`: the gateway's decision
//!   (`Gateway::decide`: route table, verified-token cache, authorize) on a
//!   verified-token cache hit, with the decision cache off.
//! - `decision/warm_decision_cache/1_block`: the same with the gateway's
//!   default configuration (decision cache on).
//! - `decision/gateway_cold/1_block`: the gateway's decision for a token it
//!   has never seen (a fresh token every iteration, issued outside the timing).
//! - `decision/baseline_biscuit/{1,2,4}_blocks`: the same decision written
//!   directly against biscuit-auth (`Biscuit::from` + an `AuthorizerBuilder`
//!   with the same policy, facts and limits). The cold path's target is at
//!   most 1.05× this.
//! - `decision/parts/{tessera_verify,biscuit_from,tessera_authorize}/{1,2,4}_blocks`:
//!   the cold path's halves (decode + `token::verify`; `authorize::authorize`
//!   on a verified token) next to biscuit-auth's own parse + verify.
//! - `crypto/ed25519_verify`: one Ed25519 signature check.
//! - `revocation/lookup/{0,1_000_000}` and `revocation/decision/{0,1_000_000}`:
//!   the revocation set's lookup, and a cold decision, with 0 or 1,000,000
//!   revoked ids; the 1M set's build time and memory are printed.
//!
//! Every token comes from a seeded RNG and every decision runs at a fixed
//! `now`. At the end, the cold/baseline ratios are printed from criterion's
//! estimates, and again from a paired comparison (cold and baseline batches
//! timed back to back, median ratio over rounds), which a machine whose
//! speed drifts between criterion's groups cannot skew.
//! Run with `cargo bench --bench decision`. `benches/callgrind_decision.sh`
//! counts the cold decision and the baseline in instructions instead
//! (`TESSERA_DECISION_LOOP`), a ratio the host's load cannot move.
// criterion's macros and this file's helpers need no docs of their own.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use biscuit_auth::builder::{boolean, date, fact, string, Algorithm, Fact};
use biscuit_auth::{AuthorizerBuilder, AuthorizerLimits, Biscuit, KeyPair, PublicKey};
use chrono::{DateTime, Utc};
use criterion::{criterion_group, BatchSize, Criterion};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use tessera::authorize::{self, Context, Policy, Request, RunLimits, DEFAULT_POLICY};
use tessera::change::Actor;
use tessera::gateway::{Gateway, GatewayConfig};
use tessera::keys::{PrivateKeyring, PublicKeyring};
use tessera::model::{
    Operation, Registry, Resource, Restriction, RevocationSet, ViewEntry, ViewSettings,
};
use tessera::store::datadir::DataDir;
use tessera::token::{self, SecretToken, DEFAULT_MAX_TOKEN_BYTES};

use common::{guest_grant, id, now};

/// The request every decision asks: `GET /api/v1/views/v_1/rows`, i.e. read on view v_1.
const PATH: &str = "/api/v1/views/v_1/rows";
/// The token chain lengths measured.
const BLOCKS: [usize; 3] = [1, 2, 4];
/// The size of the large revocation set.
const MANY_REVOKED: usize = 1_000_000;

fn request() -> Request {
    Request {
        operation: Operation::Read,
        resource: Resource::view(id("v_1")),
    }
}

/// ws_1 ⊃ t_1 ⊃ v_1, default settings.
fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.workspaces.insert(id("ws_1"));
    registry.tables.insert(id("t_1"), id("ws_1"));
    registry.views.insert(
        id("v_1"),
        ViewEntry {
            table: id("t_1"),
            settings: ViewSettings::default(),
        },
    );
    registry
}

/// The 1-, 2- and 4-block forms of `first`: each added block narrows
/// (read only and 60 days; only view v_1; 30 days and a label) and still
/// allows reading v_1 at `now`.
fn chain(first: &SecretToken, now: DateTime<Utc>, rng: &mut StdRng) -> Vec<SecretToken> {
    let restrictions = [
        Restriction {
            operations: Some([Operation::Read].into()),
            expires_at: Some(now + chrono::Duration::days(60)),
            ..Restriction::default()
        },
        Restriction {
            resource: Some(Resource::view(id("v_1"))),
            ..Restriction::default()
        },
        Restriction {
            expires_at: Some(now + chrono::Duration::days(30)),
            label: Some("bench".into()),
            ..Restriction::default()
        },
    ];
    let mut all = vec![first.clone()];
    for r in &restrictions {
        let last = all.last().expect("non-empty chain");
        let next = token::attenuate_with_rng(last.expose(), r, now, DEFAULT_MAX_TOKEN_BYTES, rng)
            .expect("attenuate");
        all.push(next);
    }
    // 1, 2 and 4 blocks.
    vec![all[0].clone(), all[1].clone(), all[3].clone()]
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn quick(group: &mut Group<'_>) {
    group
        .warm_up_time(Duration::from_millis(1000))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60);
}

/// Longer for the two groups the 1.05× target compares: this machine is noisy.
fn compared(group: &mut Group<'_>) {
    group
        .warm_up_time(Duration::from_millis(1000))
        .measurement_time(Duration::from_secs(5))
        .sample_size(80);
}

/// The Datalog run's limits, the same on both sides: the defaults, but
/// with 10 s of time in `TESSERA_DECISION_LOOP`'s runs, which callgrind
/// slows some fifty times past the default's time limit.
fn run_limits() -> RunLimits {
    let mut limits = RunLimits::default();
    if std::env::var_os("TESSERA_DECISION_LOOP").is_some() {
        limits.max_time = Duration::from_secs(10);
    }
    limits
}

/// Everything the pure-library decisions need.
struct Fixture {
    now: DateTime<Utc>,
    public: PublicKeyring,
    registry: Registry,
    policy: Policy,
    tokens: Vec<SecretToken>,
}

impl Fixture {
    fn new() -> Fixture {
        let now = now();
        let mut rng = StdRng::seed_from_u64(11);
        let ring = PrivateKeyring::generate_with_rng(&mut rng, now);
        let first = token::issue_with_rng(&guest_grant(now), &ring, now, &mut rng)
            .expect("issue")
            .token;
        Fixture {
            now,
            public: ring.public(),
            registry: registry(),
            policy: Policy::default_with_limits(run_limits()).expect("default policy"),
            tokens: chain(&first, now, &mut rng),
        }
    }

    fn context<'a>(&'a self, revocations: &'a RevocationSet) -> Context<'a> {
        common::context(&self.public, revocations, &self.registry, &self.policy)
    }
}

fn bench_cold(c: &mut Criterion, fx: &Fixture) {
    let empty = RevocationSet::default();
    let ctx = fx.context(&empty);
    let request = request();
    let mut group = c.benchmark_group("decision/cold");
    compared(&mut group);
    for (blocks, text) in BLOCKS.iter().zip(&fx.tokens) {
        let d = authorize::decide(&ctx, Some(text.expose()), &request, fx.now);
        assert!(
            d.allowed,
            "{blocks}-block token must be allowed: {:?}",
            d.reason
        );
        group.bench_function(format!("{blocks}_blocks"), |b| {
            b.iter(|| authorize::decide(&ctx, Some(black_box(text.expose())), &request, fx.now))
        });
    }
    group.finish();
}

/// The same decision as Tessera's, written directly against biscuit-auth.
struct Baseline {
    template: AuthorizerBuilder,
    public: PublicKeyring,
    revocations: RevocationSet,
}

impl Baseline {
    fn new(public: PublicKeyring) -> Baseline {
        let limits = run_limits();
        let template = AuthorizerBuilder::new()
            .code(DEFAULT_POLICY)
            .expect("default policy parses")
            .set_limits(AuthorizerLimits {
                max_facts: limits.max_facts,
                max_iterations: limits.max_iterations,
                max_time: limits.max_time,
            });
        Baseline {
            template,
            public,
            revocations: RevocationSet::default(),
        }
    }

    /// Parse + verify, revocation, then authorize with the facts Tessera adds:
    /// time, operation, resource, parent ×2, view_setting ×5.
    fn decide(&self, bytes: &[u8], now: SystemTime) -> bool {
        let biscuit = Biscuit::from(bytes, |key_id: Option<u32>| {
            key_id
                .and_then(|id| self.public.get(id).copied())
                .ok_or(biscuit_auth::error::Format::UnknownPublicKey)
        })
        .expect("verifies");
        if biscuit
            .revocation_identifiers()
            .iter()
            .any(|id| self.revocations.contains(id))
        {
            return false;
        }
        let mut facts: Vec<Fact> = vec![
            fact("time", &[date(&now)]),
            fact("operation", &[string("read")]),
            fact("resource", &[string("view"), string("v_1")]),
            fact(
                "parent",
                &[
                    string("view"),
                    string("v_1"),
                    string("table"),
                    string("t_1"),
                ],
            ),
            fact(
                "parent",
                &[
                    string("table"),
                    string("t_1"),
                    string("workspace"),
                    string("ws_1"),
                ],
            ),
        ];
        for (name, value) in ViewSettings::default().entries() {
            facts.push(fact(
                "view_setting",
                &[string("v_1"), string(name), boolean(value)],
            ));
        }
        let mut builder = self.template.clone();
        for f in facts {
            builder = builder.fact(f).expect("fact");
        }
        let mut authorizer = builder.build(&biscuit).expect("build");
        authorizer.authorize().is_ok()
    }
}

fn bench_baseline(c: &mut Criterion, fx: &Fixture) {
    let baseline = Baseline::new(fx.public.clone());
    let now = SystemTime::from(fx.now);
    let mut group = c.benchmark_group("decision/baseline_biscuit");
    compared(&mut group);
    for (blocks, text) in BLOCKS.iter().zip(&fx.tokens) {
        let bytes = token::decode_bytes(text.expose(), DEFAULT_MAX_TOKEN_BYTES).expect("bytes");
        assert!(
            baseline.decide(&bytes, now),
            "{blocks}-block baseline must allow"
        );
        group.bench_function(format!("{blocks}_blocks"), |b| {
            b.iter(|| baseline.decide(black_box(&bytes), now))
        });
    }
    group.finish();
}

/// The cold path's two halves, and biscuit-auth's own parse + verify, to
/// show where the difference to the baseline goes.
fn bench_parts(c: &mut Criterion, fx: &Fixture) {
    let empty = RevocationSet::default();
    let ctx = fx.context(&empty);
    let request = request();
    let mut group = c.benchmark_group("decision/parts");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);
    for (blocks, text) in BLOCKS.iter().zip(&fx.tokens) {
        let bytes = token::decode_bytes(text.expose(), DEFAULT_MAX_TOKEN_BYTES).expect("bytes");
        group.bench_function(format!("tessera_verify/{blocks}_blocks"), |b| {
            b.iter(|| {
                token::verify(
                    token::decode(black_box(text.expose()), DEFAULT_MAX_TOKEN_BYTES)
                        .expect("decode"),
                    &fx.public,
                )
                .expect("verify")
            })
        });
        group.bench_function(format!("biscuit_from/{blocks}_blocks"), |b| {
            b.iter(|| {
                Biscuit::from(black_box(&bytes), |key_id: Option<u32>| {
                    key_id
                        .and_then(|id| fx.public.get(id).copied())
                        .ok_or(biscuit_auth::error::Format::UnknownPublicKey)
                })
                .expect("verify")
            })
        });
        let verified = token::verify(
            token::decode(text.expose(), DEFAULT_MAX_TOKEN_BYTES).expect("decode"),
            &fx.public,
        )
        .expect("verify");
        group.bench_function(format!("tessera_authorize/{blocks}_blocks"), |b| {
            b.iter(|| authorize::authorize(&ctx, Some(black_box(&verified)), &request, fx.now))
        });
    }
    group.finish();
}

/// A gateway on a fresh data directory with v_1 registered, and the
/// runtime its async calls run on.
struct GatewayFixture {
    rt: tokio::runtime::Runtime,
    gw: Gateway,
    _dir: tempfile::TempDir,
}

fn open_gateway(config: GatewayConfig, now: DateTime<Utc>) -> GatewayFixture {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = rt
        .block_on(Gateway::open(config, DataDir::new(dir.path().join("data"))))
        .expect("open gateway");
    gw.commit(|store| {
        let placement = Some((&id("t_1"), &id("ws_1")));
        store.update_view(&id("v_1"), placement, &[], &Actor::Cli, now)
    })
    .expect("set view");
    GatewayFixture { rt, gw, _dir: dir }
}

fn loopback_config() -> GatewayConfig {
    GatewayConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        ..GatewayConfig::default()
    }
}

fn bench_gateway(c: &mut Criterion, now: DateTime<Utc>) {
    let mut rng = StdRng::seed_from_u64(21);

    // Warm: verified-token cache hit; decision cache off so every call runs the authorizer.
    let warm = open_gateway(
        GatewayConfig {
            decision_cache_ms: 0,
            ..loopback_config()
        },
        now,
    );
    let (first, _) = warm
        .gw
        .issue(&guest_grant(now), &Actor::Cli, now)
        .expect("issue");
    let tokens = chain(&first, now, &mut rng);
    let mut group = c.benchmark_group("decision/warm");
    quick(&mut group);
    for (blocks, text) in BLOCKS.iter().zip(&tokens) {
        let decide = || {
            warm.rt
                .block_on(warm.gw.decide(Some(text.expose()), "GET", PATH, now))
                .is_ok()
        };
        assert!(
            decide(),
            "{blocks}-block token must be allowed by the gateway"
        );
        group.bench_function(format!("{blocks}_blocks"), |b| b.iter(decide));
    }
    group.finish();

    // Default configuration: the decision cache answers repeats.
    let default = open_gateway(loopback_config(), now);
    let (text, _) = default
        .gw
        .issue(&guest_grant(now), &Actor::Cli, now)
        .expect("issue");
    let decide = || {
        default
            .rt
            .block_on(default.gw.decide(Some(text.expose()), "GET", PATH, now))
            .is_ok()
    };
    assert!(decide(), "token must be allowed by the gateway");
    let mut group = c.benchmark_group("decision/warm_decision_cache");
    quick(&mut group);
    group.bench_function("1_block", |b| b.iter(decide));
    group.finish();

    // Cold through the gateway: a token it has never seen, every iteration
    // (issued with the gateway's own key, outside the timing).
    let ring = default.gw.data_dir().read_keyring().expect("keyring");
    let grant = guest_grant(now);
    let fresh = |rng: &mut StdRng| {
        token::issue_with_rng(&grant, &ring, now, rng)
            .expect("issue")
            .token
    };
    let probe = fresh(&mut rng);
    assert!(default
        .rt
        .block_on(default.gw.decide(Some(probe.expose()), "GET", PATH, now))
        .is_ok());
    let mut group = c.benchmark_group("decision/gateway_cold");
    quick(&mut group);
    group.bench_function("1_block", |b| {
        b.iter_batched(
            || fresh(&mut rng),
            |text| {
                default
                    .rt
                    .block_on(default.gw.decide(Some(text.expose()), "GET", PATH, now))
                    .is_ok()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn bench_crypto(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(31);
    let keypair = KeyPair::new_with_rng(Algorithm::Ed25519, &mut rng);
    let public: PublicKey = keypair.public();
    // About the size of what a block signature covers.
    let mut data = vec![0u8; 200];
    rng.fill_bytes(&mut data);
    let signature = keypair.sign(&data).expect("sign");
    public
        .verify_signature(&data, &signature)
        .expect("signature verifies");
    let mut group = c.benchmark_group("crypto");
    quick(&mut group);
    group.bench_function("ed25519_verify", |b| {
        b.iter(|| public.verify_signature(black_box(&data), &signature))
    });
    group.finish();
}

/// Resident memory of this process, from /proc/self/status, in KiB.
fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn random_id(rng: &mut StdRng) -> Vec<u8> {
    let mut id = vec![0u8; 64];
    rng.fill_bytes(&mut id);
    id
}

/// 1,000,000 random revoked ids, built before anything else so the RSS
/// difference is not hidden by memory earlier benchmarks freed.
fn many_revoked() -> RevocationSet {
    let mut rng = StdRng::seed_from_u64(41);
    let rss_before = vm_rss_kib();
    let ids: Vec<Vec<u8>> = (0..MANY_REVOKED).map(|_| random_id(&mut rng)).collect();
    let start = Instant::now();
    let many = RevocationSet::from_ids(ids);
    let built = start.elapsed();
    let rss_after = vm_rss_kib();
    // hashbrown: buckets = next power of two ≥ len·8/7, each a 16-byte
    // Box<[u8]> plus one control byte; each id a 64-byte heap block (+16 malloc).
    let buckets = (MANY_REVOKED * 8 / 7).next_power_of_two();
    let estimate = buckets * 17 + MANY_REVOKED * (64 + 16);
    eprintln!(
        "revocation set of {} random 64-byte ids: built in {:.1} ms (ids generated beforehand); \
         RSS +{} MiB (VmRSS {} -> {} KiB); estimate {} MiB",
        many.len(),
        built.as_secs_f64() * 1e3,
        match (rss_before, rss_after) {
            (Some(a), Some(b)) => format!("{:.0}", b.saturating_sub(a) as f64 / 1024.0),
            _ => "?".into(),
        },
        rss_before.map_or("?".into(), |v| v.to_string()),
        rss_after.map_or("?".into(), |v| v.to_string()),
        estimate / (1024 * 1024),
    );
    many
}

fn bench_revocation(c: &mut Criterion, fx: &Fixture, many: &RevocationSet) {
    let mut rng = StdRng::seed_from_u64(42);
    let empty = RevocationSet::default();
    let absent = random_id(&mut rng);

    let mut group = c.benchmark_group("revocation/lookup");
    quick(&mut group);
    for (name, set) in [("0", &empty), ("1_000_000", many)] {
        group.bench_function(name, |b| b.iter(|| set.contains(black_box(&absent))));
    }
    group.finish();

    let request = request();
    let text = &fx.tokens[0];
    let mut group = c.benchmark_group("revocation/decision");
    quick(&mut group);
    for (name, set) in [("0", &empty), ("1_000_000", many)] {
        let ctx = fx.context(set);
        assert!(authorize::decide(&ctx, Some(text.expose()), &request, fx.now).allowed);
        group.bench_function(name, |b| {
            b.iter(|| authorize::decide(&ctx, Some(black_box(text.expose())), &request, fx.now))
        });
    }
    group.finish();
}

fn benches_all(c: &mut Criterion) {
    let many = many_revoked();
    let fx = Fixture::new();
    bench_cold(c, &fx);
    bench_gateway(c, fx.now);
    bench_baseline(c, &fx);
    bench_parts(c, &fx);
    bench_crypto(c);
    bench_revocation(c, &fx, &many);
}

criterion_group!(benches, benches_all);

/// criterion's output directory, as criterion chooses it (without its
/// `cargo metadata` fallback; cargo runs benches from the package root).
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("criterion")
}

/// The median estimate (ns) of one benchmark, when this run measured it.
fn median_ns(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_home()
        .join(group.replace('/', "_"))
        .join(function.replace('/', "_"))
        .join("new")
        .join("estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn print_summary(since: SystemTime) {
    let fmt = |ns: Option<f64>| ns.map_or("      -".to_owned(), |v| format!("{:7.1}", v / 1e3));
    eprintln!();
    eprintln!("summary (medians, µs)      cold   baseline  cold/baseline (target <= 1.05)  warm  warm/cold");
    for blocks in BLOCKS {
        let name = format!("{blocks}_blocks");
        let cold = median_ns("decision/cold", &name, since);
        let base = median_ns("decision/baseline_biscuit", &name, since);
        let warm = median_ns("decision/warm", &name, since);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}x", a / b),
            _ => "-".to_owned(),
        };
        eprintln!(
            "  {blocks} block(s)            {}   {}   {:>10}                     {}  {:>8}",
            fmt(cold),
            fmt(base),
            ratio(cold, base),
            fmt(warm),
            ratio(warm, cold),
        );
    }
    eprintln!("parts (medians, µs)  tessera verify  biscuit from  tessera authorize");
    for blocks in BLOCKS {
        let part =
            |name: &str| median_ns("decision/parts", &format!("{name}/{blocks}_blocks"), since);
        eprintln!(
            "  {blocks} block(s)           {}       {}        {}",
            fmt(part("tessera_verify")),
            fmt(part("biscuit_from")),
            fmt(part("tessera_authorize")),
        );
    }
    let gateway_cold = median_ns("decision/gateway_cold", "1_block", since);
    let cached = median_ns("decision/warm_decision_cache", "1_block", since);
    let ed = median_ns("crypto", "ed25519_verify", since);
    eprintln!(
        "  gateway cold 1 block {} µs; warm with decision cache {} µs; ed25519 verify {} µs",
        fmt(gateway_cold).trim(),
        fmt(cached).trim(),
        fmt(ed).trim(),
    );
}

/// Rounds of the paired comparison, and decisions of each kind per round.
const PAIRED_ROUNDS: usize = 101;
const PAIRED_BATCH: u32 = 50;

/// cold/baseline measured in pairs: each round times a batch of Tessera's
/// cold decisions and a batch of the raw biscuit-auth baseline back to back
/// (alternating which goes first), and the median of the per-round ratios
/// is printed. On a shared machine whose speed drifts between criterion's
/// groups (measured minutes apart), pairing keeps both sides under the same
/// load.
fn print_paired_ratios() {
    let fx = Fixture::new();
    let empty = RevocationSet::default();
    let ctx = fx.context(&empty);
    let request = request();
    let baseline = Baseline::new(fx.public.clone());
    let now = SystemTime::from(fx.now);
    eprintln!(
        "paired cold/baseline (median of {PAIRED_ROUNDS} rounds of {PAIRED_BATCH}+{PAIRED_BATCH} decisions; min..max):"
    );
    for (blocks, text) in BLOCKS.iter().zip(&fx.tokens) {
        let bytes = token::decode_bytes(text.expose(), DEFAULT_MAX_TOKEN_BYTES).expect("bytes");
        let time_cold = || {
            let start = Instant::now();
            for _ in 0..PAIRED_BATCH {
                black_box(authorize::decide(
                    &ctx,
                    Some(black_box(text.expose())),
                    &request,
                    fx.now,
                ));
            }
            start.elapsed()
        };
        let time_baseline = || {
            let start = Instant::now();
            for _ in 0..PAIRED_BATCH {
                black_box(baseline.decide(black_box(&bytes), now));
            }
            start.elapsed()
        };
        let mut ratios: Vec<f64> = (0..PAIRED_ROUNDS)
            .map(|round| {
                let (cold, base) = if round % 2 == 0 {
                    let c = time_cold();
                    (c, time_baseline())
                } else {
                    let b = time_baseline();
                    (time_cold(), b)
                };
                cold.as_secs_f64() / base.as_secs_f64()
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        eprintln!(
            "  {blocks} block(s): {:.3}x  ({:.3}..{:.3})",
            ratios[PAIRED_ROUNDS / 2],
            ratios[0],
            ratios[PAIRED_ROUNDS - 1],
        );
    }
}

/// `TESSERA_DECISION_LOOP=cold|baseline` (with `TESSERA_DECISION_BLOCKS`
/// and `TESSERA_DECISION_N`): only N decisions of that side on that token,
/// no criterion, for `benches/callgrind_decision.sh` to count instructions.
fn decision_loop(side: &str) {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (blocks, n) = (
        var("TESSERA_DECISION_BLOCKS", 1),
        var("TESSERA_DECISION_N", 100),
    );
    let fx = Fixture::new();
    let empty = RevocationSet::default();
    let ctx = fx.context(&empty);
    let request = request();
    let baseline = Baseline::new(fx.public.clone());
    let now = SystemTime::from(fx.now);
    let at = BLOCKS
        .iter()
        .position(|b| *b == blocks)
        .expect("1, 2 or 4 blocks");
    let text = fx.tokens[at].expose();
    let bytes = token::decode_bytes(text, DEFAULT_MAX_TOKEN_BYTES).expect("bytes");
    for _ in 0..n {
        let allowed = match side {
            "cold" => authorize::decide(&ctx, Some(black_box(text)), &request, fx.now).allowed,
            "baseline" => baseline.decide(black_box(&bytes), now),
            other => panic!("TESSERA_DECISION_LOOP is cold or baseline, not {other}"),
        };
        assert!(allowed, "{side} {blocks} block(s) must allow");
    }
}

fn main() {
    if let Ok(side) = std::env::var("TESSERA_DECISION_LOOP") {
        decision_loop(&side);
        return;
    }
    let since = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary(since);
    // Only when measuring (`cargo bench`), not in `cargo test --benches`.
    if std::env::args().any(|a| a == "--bench") {
        print_paired_ratios();
    }
}
