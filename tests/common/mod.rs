//! Shared fixtures for the library-level integration tests: a fixed clock,
//! a seeded keyring, a small registry and helpers to issue, attenuate and
//! hand-craft tokens.
//!
//! Registry used everywhere:
//! ```text
//! ws_1 ⊃ t_1 ⊃ { v_1, v_2 }
//! ws_2 ⊃ t_2 ⊃ { v_3 }
//! ```
// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine;
use biscuit_auth::builder::Algorithm;
use biscuit_auth::{BlockBuilder, KeyPair};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tessera::authorize::{authorize, decide, Context, Decision, Policy, Request, RunLimits};
use tessera::keys::{PrivateKeyring, PublicKeyring};
use tessera::model::{
    Grant, Id, Operation, Registry, Resource, Restriction, RevocationSet, ViewEntry, ViewSettings,
};
use tessera::token::{self, VerifiedToken, DEFAULT_MAX_TOKEN_BYTES, TOKEN_PREFIX};

/// The fixed "now" every test starts from.
pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `t0` plus `minutes`.
pub(crate) fn at(minutes: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::minutes(minutes)
}

pub(crate) fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

pub(crate) fn view(s: &str) -> Resource {
    Resource::view(id(s))
}

pub(crate) fn table(s: &str) -> Resource {
    Resource::table(id(s))
}

pub(crate) fn workspace(s: &str) -> Resource {
    Resource::workspace(id(s))
}

pub(crate) fn ops(list: &str) -> BTreeSet<Operation> {
    Operation::parse_list(list).unwrap()
}

pub(crate) fn req(operation: Operation, resource: Resource) -> Request {
    Request {
        operation,
        resource,
    }
}

/// Every registered resource, containers first.
pub(crate) fn all_resources() -> Vec<Resource> {
    vec![
        workspace("ws_1"),
        workspace("ws_2"),
        table("t_1"),
        table("t_2"),
        view("v_1"),
        view("v_2"),
        view("v_3"),
    ]
}

/// `ws_1 ⊃ t_1 ⊃ {v_1, v_2}`, `ws_2 ⊃ t_2 ⊃ {v_3}`, every view with default settings.
pub(crate) fn registry() -> Registry {
    let mut reg = Registry::default();
    reg.workspaces.insert(id("ws_1"));
    reg.workspaces.insert(id("ws_2"));
    reg.tables.insert(id("t_1"), id("ws_1"));
    reg.tables.insert(id("t_2"), id("ws_2"));
    for (v, t) in [("v_1", "t_1"), ("v_2", "t_1"), ("v_3", "t_2")] {
        reg.views.insert(
            id(v),
            ViewEntry {
                table: id(t),
                settings: ViewSettings::default(),
            },
        );
    }
    reg
}

/// Run limits for tests that are not about limits: the default facts and
/// iterations guard, with a time budget no loaded debug build trips.
pub(crate) fn relaxed_limits() -> RunLimits {
    RunLimits {
        max_time: Duration::from_secs(5),
        ..RunLimits::default()
    }
}

/// Everything a decision reads, owned.
pub(crate) struct Fixture {
    pub(crate) ring: PrivateKeyring,
    pub(crate) public: PublicKeyring,
    pub(crate) registry: Registry,
    pub(crate) revocations: RevocationSet,
    pub(crate) policy: Policy,
    pub(crate) max_token_bytes: usize,
    /// Record facts and the deciding policy (`--explain`).
    pub(crate) explain: bool,
}

impl Fixture {
    /// A keyring from `seed`, the test registry, no revocations, the
    /// default policy with relaxed time limits.
    pub(crate) fn new(seed: u64) -> Self {
        Fixture::with_limits(seed, relaxed_limits())
    }

    pub(crate) fn with_limits(seed: u64, limits: RunLimits) -> Self {
        let ring = PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(seed), t0());
        let public = ring.public();
        Fixture {
            ring,
            public,
            registry: registry(),
            revocations: RevocationSet::default(),
            policy: Policy::default_with_limits(limits).unwrap(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            explain: false,
        }
    }

    pub(crate) fn ctx(&self) -> Context<'_> {
        Context {
            keyring: &self.public,
            revocations: &self.revocations,
            registry: &self.registry,
            policy: &self.policy,
            max_token_bytes: self.max_token_bytes,
            token_limits: tessera::token::TokenLimits::default(),
            explain: self.explain,
        }
    }

    /// Issues `grant` at `now` with a seeded RNG; returns the token text.
    pub(crate) fn issue_at(&self, grant: &Grant, now: DateTime<Utc>, seed: u64) -> String {
        token::issue_with_rng(grant, &self.ring, now, &mut StdRng::seed_from_u64(seed))
            .unwrap()
            .token
            .expose()
            .to_owned()
    }

    pub(crate) fn issue(&self, grant: &Grant, seed: u64) -> String {
        self.issue_at(grant, t0(), seed)
    }

    pub(crate) fn decide(
        &self,
        token: Option<&str>,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Decision {
        decide(&self.ctx(), token, request, now)
    }

    pub(crate) fn verify(&self, token: &str) -> VerifiedToken {
        token::verify(
            token::decode(token, self.max_token_bytes).unwrap(),
            &self.public,
        )
        .unwrap()
    }

    pub(crate) fn authorize(
        &self,
        token: Option<&VerifiedToken>,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Decision {
        authorize(&self.ctx(), token, request, now)
    }
}

/// Attenuates `token` by `restriction` at `t0` with a seeded RNG.
pub(crate) fn attenuate(token: &str, restriction: &Restriction, seed: u64) -> String {
    token::attenuate_with_rng(
        token,
        restriction,
        t0(),
        DEFAULT_MAX_TOKEN_BYTES,
        &mut StdRng::seed_from_u64(seed),
    )
    .unwrap()
    .expose()
    .to_owned()
}

/// The text form Tessera reads: `tsr_` + URL-safe base64 without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The raw biscuit bytes of a token's text form.
pub(crate) fn bytes_of(token: &str) -> Vec<u8> {
    token::decode_bytes(token, usize::MAX).unwrap()
}

/// Appends a hand-written block (anything biscuit accepts, not only what
/// `attenuate` writes), as any holder of the token could, offline.
pub(crate) fn append_block(token: &str, block: BlockBuilder, seed: u64) -> String {
    let unverified = token::decode(token, usize::MAX).unwrap();
    let keypair = KeyPair::new_with_rng(Algorithm::Ed25519, &mut StdRng::seed_from_u64(seed));
    let appended = unverified.append_with_keypair(&keypair, block).unwrap();
    encode(&appended.to_vec().unwrap())
}

/// Appends a block written in Datalog source.
pub(crate) fn append_code(token: &str, code: &str, seed: u64) -> String {
    append_block(token, BlockBuilder::new().code(code).unwrap(), seed)
}

/// (exit code, stdout, stderr) of the real `tessera` binary run with
/// `args`, bounded at two minutes.
pub(crate) fn tessera_output(args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("tessera")
        .expect("binary")
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run");
    (
        out.status.code().expect("code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `text` to `dir/name`; its path as a string.
pub(crate) fn write_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_owned()
}
