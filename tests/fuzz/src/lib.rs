//! The fuzz harness: one function per fuzz target, each taking the raw
//! input bytes and panicking only when Tessera breaks a promise.
//!
//! The same file is compiled twice: as the `tessera_fuzz` library the
//! cargo-fuzz targets in `fuzz_targets/` call, and as a module of the main
//! crate's `tests/fuzz_corpus.rs`, which replays every corpus file through
//! these functions in `cargo test`. It therefore uses only crates the main
//! crate already depends on, and no fuzzing crate.
//!
//! Every target must never panic. Where a property is cheap and precise,
//! the harness also asserts it (a resolved path has no dot segment, a
//! keyring that loads round-trips, a front door denies with 401/403 and
//! never answers 500...).
#![allow(unreachable_pub, dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine;
use biscuit_auth::{BlockBuilder, KeyPair, UnverifiedBiscuit};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;

use tessera::authorize::{self, Context, Policy, Reason, Request, RunLimits};
use tessera::gateway::front::{credential, envoy_auth, forward_auth};
use tessera::gateway::{ApiError, Gateway, GatewayConfig};
use tessera::keys::{PrivateKeyring, PublicKeyring};
use tessera::model::{
    Grant, Id, Operation, Registry, Resource, ResourceKind, RevocationSet, ViewEntry, ViewSettings,
};
use tessera::routes::{normalize_path, RouteTable};
use tessera::store::{DataDir, Store};
use tessera::token::{self, TokenLimits, DEFAULT_MAX_TOKEN_BYTES, TOKEN_PREFIX};

// ---------------------------------------------------------------------------
// Fixtures: a fixed clock, a seeded keyring, a small registry.
// ---------------------------------------------------------------------------

/// The fixed "now" of the harness (keys, tokens, expiry of BWK keys).
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_305_600, 0).unwrap_or_default() // 2026-11-22T00:00:00Z
}

/// The seed of the fixed keyring every target verifies against.
pub const KEYRING_SEED: u64 = 0x7e55_e4a0;

/// The fixed private keyring (seeded, so seeds signed by it stay valid).
pub fn keyring() -> &'static PrivateKeyring {
    static RING: OnceLock<PrivateKeyring> = OnceLock::new();
    RING.get_or_init(|| {
        PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(KEYRING_SEED), t0())
    })
}

fn public_keyring() -> &'static PublicKeyring {
    static RING: OnceLock<PublicKeyring> = OnceLock::new();
    RING.get_or_init(|| keyring().public())
}

fn id(s: &str) -> Id {
    Id::new(s).unwrap_or_else(|_| unreachable!("fixture ids are valid"))
}

/// `ws_1 ⊃ t_1 ⊃ {v_1, v_2 (public, read-only)}`, `ws_2 ⊃ t_2 ⊃ v_3`.
pub fn registry() -> Registry {
    let mut r = Registry::default();
    for (ws, t) in [("ws_1", "t_1"), ("ws_2", "t_2")] {
        r.workspaces.insert(id(ws));
        r.tables.insert(id(t), id(ws));
    }
    let read_only_public = ViewSettings {
        editable: false,
        addable: false,
        exportable: false,
        public: true,
        locked: true,
    };
    for (v, t, settings) in [
        ("v_1", "t_1", ViewSettings::default()),
        ("v_2", "t_1", read_only_public),
        ("v_3", "t_2", ViewSettings::default()),
    ] {
        r.views.insert(
            id(v),
            ViewEntry {
                table: id(t),
                settings,
            },
        );
    }
    r
}

/// A guest token on `v_1` (read, write, export) signed by the fixed keyring,
/// as bytes: the authority block that fuzzed attenuation blocks extend.
fn authority_token() -> &'static [u8] {
    static TOKEN: OnceLock<Vec<u8>> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let ops = Operation::parse_list("read,write,export").unwrap_or_default();
        let grant = Grant::guest(id("ws_1"), id("v_1"), &ops);
        let issued = token::issue_with_rng(&grant, keyring(), t0(), &mut StdRng::seed_from_u64(1))
            .unwrap_or_else(|e| unreachable!("fixture grant is valid: {e}"));
        token::decode_bytes(issued.token.expose(), DEFAULT_MAX_TOKEN_BYTES)
            .unwrap_or_else(|e| unreachable!("fixture token decodes: {e}"))
    })
}

fn block_keypair() -> &'static KeyPair {
    static PAIR: OnceLock<KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| {
        KeyPair::new_with_rng(
            biscuit_auth::builder::Algorithm::Ed25519,
            &mut StdRng::seed_from_u64(2),
        )
    })
}

fn text_of(bytes: &[u8]) -> String {
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Splits off the first byte: the mode of a multi-mode target.
fn mode(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(m, rest)| (*m, rest))
}

/// Panics found by fuzzing, by where they happen, both inside biscuit-auth
/// 6.0.0. Tessera now guards both (`token::guard_parser`, a `catch_unwind`
/// around biscuit-auth's parser and printer), so they no longer escape it;
/// the inputs stay under `tests/fuzz/crashes/`, pinned by
/// `tests/fuzz_corpus.rs`.
///
/// * biscuit-auth parses a `trusting ed25519/<hex>` (or `secp256r1/`)
///   scope whose bytes are no valid public key, then panics converting it
///   (`expect("invalid public key")`): reached through `Policy::from_source`,
///   `token::is_expiry_check` and `BlockBuilder::code`.
/// * biscuit-auth's `Display` for a builder `Expression` unwraps `print`,
///   which is `None` for an expression whose operations do not form a valid
///   stack (a token can carry one: only the parser refuses them): reached
///   through `token::describe`.
///
/// The panic hook stays quiet for these (Tessera catches them, over and
/// over, while fuzzing); the harness's own call to the parser steps around
/// the first with [`tolerating_known_panics`].
pub const KNOWN_PANICS: [(&str, u32); 2] = [
    ("biscuit-auth-6.0.0/src/token/builder/scope.rs", 74),
    ("biscuit-auth-6.0.0/src/token/builder/expression.rs", 95),
];

/// Installed by every target before it runs. libfuzzer-sys's panic hook
/// aborts at once, before any unwinding, which would turn a panic Tessera
/// itself catches (see [`KNOWN_PANICS`]) into a crash that cannot happen in
/// the real program. This hook prints like the default one (nothing for a
/// known panic) and lets the panic unwind: a panic that escapes the target
/// still aborts (libfuzzer-sys catches it at the boundary) and is a crash.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        drop(std::panic::take_hook());
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let known = info
                .location()
                .is_some_and(|l| is_known_panic(l.file(), l.line()));
            if !known {
                default(info);
            }
        }));
    });
}

thread_local! {
    static PANIC_AT: std::cell::RefCell<Option<(String, u32)>> =
        const { std::cell::RefCell::new(None) };
}

fn is_known_panic(file: &str, line: u32) -> bool {
    KNOWN_PANICS
        .iter()
        .any(|(suffix, l)| file.ends_with(suffix) && line == *l)
}

/// Runs `f`; a panic at one of the [`KNOWN_PANICS`] gives `None`, any other
/// panic goes on as usual (under libFuzzer: a crash with its message).
///
/// The panic hook is swapped for the call, under a lock since the hook is
/// global.
pub fn tolerating_known_panics<T>(f: impl FnOnce() -> T) -> Option<T> {
    static HOOK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    PANIC_AT.with(|p| p.borrow_mut().take());
    let previous = std::sync::Arc::new(std::panic::take_hook());
    let chained = previous.clone();
    std::panic::set_hook(Box::new(move |info| {
        let at = info.location().map(|l| (l.file().to_owned(), l.line()));
        match at {
            Some((file, line)) if is_known_panic(&file, line) => {
                PANIC_AT.with(|p| *p.borrow_mut() = Some((file, line)));
            }
            _ => chained(info),
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    drop(std::panic::take_hook());
    match std::sync::Arc::try_unwrap(previous) {
        Ok(hook) => std::panic::set_hook(hook),
        Err(_) => unreachable!("the temporary hook, the only other owner, was dropped"),
    }
    match result {
        Ok(value) => Some(value),
        Err(payload) => match PANIC_AT.with(|p| p.borrow_mut().take()) {
            Some(_) => None,
            None => std::panic::resume_unwind(payload),
        },
    }
}

/// biscuit-auth's Datalog parser recurses once per nesting level with no
/// limit, so deeply nested text (`((((…))))`, `!!!!…`) overflows the stack
/// and aborts the process: about 500 levels on a 2 MiB stack, a tokio
/// worker's. Found by fuzzing (`tests/fuzz/crashes/stack_overflow/`), and
/// reachable in the gateway: a check nested that deep, appended to any
/// token, fails, and Tessera re-parses the failed check's text
/// (`token::is_expiry_check`) to name the reason.
///
/// A stack overflow cannot be caught, so the harness runs whatever can
/// reach the parser on this much stack; fuzzing then goes on past the known
/// overflow (inputs are at most a few KB, far from this depth).
pub const BIG_STACK: usize = 256 << 20;

/// Runs `f` on a thread with [`BIG_STACK`]; a panic in it goes on in the
/// caller (the hook has already reported it).
pub fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .stack_size(BIG_STACK)
            .spawn_scoped(scope, f);
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
            Err(e) => panic!("cannot start a harness thread: {e}"),
        }
    })
}

// ---------------------------------------------------------------------------
// token_decode
// ---------------------------------------------------------------------------

/// `token_decode`: the first byte picks the input's form.
///
/// * `0`: the rest is a serialized biscuit (raw protobuf bytes);
/// * `1`: the rest is token text, as a client would send it;
/// * `2`: the rest is Datalog, appended as an attenuation block to a valid
///   guest token signed by the fixed keyring (so the signature verifies and
///   admission and the authorizer see the block);
/// * `3`: the rest drives a block built with biscuit's builder API rather
///   than its parser (see [`raw_block`]): expressions the parser would
///   refuse, such as an operator without operands, appended and signed as
///   any token holder can;
/// * anything else: as `1`.
///
/// Each form goes through `decode_bytes`/`decode`, `describe`, `verify`
/// (and, over the limits, unlimited) and `verify_text` against the fixed
/// keyring. A token that verifies must describe the same claims with and
/// without a key; one that passes admission is authorized against the
/// default policy, and decided from its text as the gateway does.
pub fn token_decode(data: &[u8]) {
    let _ = token_verifies(data);
}

/// [`token_decode`], telling whether the token verified (and so reached
/// admission and the authorizer): lets the corpus test prove that the
/// harness gets past the signature checks.
pub fn token_verifies(data: &[u8]) -> bool {
    install_panic_hook();
    on_big_stack(|| token_verifies_here(data))
}

fn token_verifies_here(data: &[u8]) -> bool {
    let Some((m, rest)) = mode(data) else {
        return false;
    };
    match m {
        0 => inspect_text(&text_of(rest), 1 << 20),
        2 => std::str::from_utf8(rest).is_ok_and(attenuated),
        3 => appended(raw_block(rest)),
        _ => std::str::from_utf8(rest).is_ok_and(|text| {
            let _ = token::is_expiry_check(text);
            inspect_text(text, DEFAULT_MAX_TOKEN_BYTES)
        }),
    }
}

fn inspect_text(text: &str, max: usize) -> bool {
    let bytes = token::decode_bytes(text, max);
    let Ok(unverified) = token::decode(text, max) else {
        return false;
    };
    assert!(bytes.is_ok(), "decode succeeded where decode_bytes failed");
    let from_text = token::verify_text(text, max, public_keyring(), &TokenLimits::default());
    let verified = inspect(unverified);
    assert_eq!(
        from_text.is_ok(),
        verified,
        "verify_text and decode + verify disagree: {:?}",
        from_text.err()
    );
    if verified {
        decide_all(text, max);
    }
    verified
}

fn inspect(unverified: UnverifiedBiscuit) -> bool {
    let description = token::describe(&unverified);
    if let Ok(d) = &description {
        assert_eq!(d.blocks.len(), unverified.block_count());
        assert_eq!(d.revocation_ids.len(), unverified.block_count());
    }
    let verified = token::verify(unverified.clone(), public_keyring());
    // Over the limits: verify again without them, for the claims.
    let unlimited = match &verified {
        Err(token::TokenError::TooExpensive(_)) => Some(token::verify_with_limits(
            unverified,
            public_keyring(),
            &TokenLimits::unlimited(),
        )),
        _ => None,
    };
    let claims = match (&verified, &unlimited) {
        (Ok(v), _) | (_, Some(Ok(v))) => Some(v.claims()),
        _ => None,
    };
    match (claims, &description, &verified) {
        (Some(claims), Ok(d), _) => assert_eq!(
            claims, &d.claims,
            "inspect and verify disagree on what the token claims"
        ),
        // Verification checks signatures and reads what Tessera needs;
        // biscuit's parse does not look inside every term. A block that is
        // not valid Datalog is refused by inspect, and by the authorizer
        // when it loads the token: every decision is `malformed`.
        (Some(_), Err(e), Ok(v)) => {
            let revocations = RevocationSet::default();
            let ctx = context(&revocations, false);
            for request in requests() {
                let d = authorize::authorize(&ctx, Some(v), &request, t0());
                assert_eq!(
                    d.reason,
                    Some(Reason::Malformed),
                    "describe fails ({e}) but a decision is not malformed: {d:?}"
                );
            }
        }
        _ => {}
    }
    match &verified {
        Ok(v) => {
            authorize_all(v);
            true
        }
        Err(_) => false,
    }
}

fn context<'a>(revocations: &'a RevocationSet, explain: bool) -> Context<'a> {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    let policy = POLICY.get_or_init(|| {
        Policy::default_with_limits(RunLimits::default())
            .unwrap_or_else(|e| unreachable!("the default policy loads: {e}"))
    });
    Context {
        keyring: public_keyring(),
        revocations,
        registry: REGISTRY.get_or_init(registry),
        policy,
        max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        token_limits: tessera::token::TokenLimits::default(),
        explain,
    }
}

/// The requests every verified token is asked about.
fn requests() -> [Request; 3] {
    [
        (Operation::Read, Resource::view(id("v_1"))),
        (Operation::Write, Resource::view(id("v_2"))),
        (Operation::Export, Resource::table(id("t_1"))),
    ]
    .map(|(operation, resource)| Request {
        operation,
        resource,
    })
}

/// The gateway's path from the text: `authorize::decide`, explained.
fn decide_all(text: &str, max: usize) {
    if text.trim().len() > max {
        return;
    }
    let d = decide_read_v1(text);
    assert_eq!(d.allowed, d.reason.is_none(), "{d:?}");
}

/// `authorize::decide` for `read` on `v_1` at [`t0`], with the default
/// policy, the fixture registry and the fixed keyring, explained.
pub fn decide_read_v1(text: &str) -> authorize::Decision {
    let revocations = RevocationSet::default();
    let ctx = context(&revocations, true);
    authorize::decide(&ctx, Some(text), &requests()[0], t0())
}

fn authorize_all(token: &token::VerifiedToken) {
    let revocations = RevocationSet::default();
    let ctx = context(&revocations, false);
    for request in requests() {
        let d = authorize::authorize(&ctx, Some(token), &request, t0());
        assert_eq!(d.allowed, d.reason.is_none(), "{d:?}");
    }
    // Revoking any block's id denies, whatever the token says.
    if let Some(last) = token.revocation_ids().last() {
        let revoked = RevocationSet::from_ids([last.clone()]);
        let ctx = context(&revoked, false);
        let d = authorize::authorize(&ctx, Some(token), &requests()[0], t0());
        assert_eq!(d.reason, Some(Reason::Revoked), "{d:?}");
    }
}

fn attenuated(source: &str) -> bool {
    match tolerating_known_panics(|| BlockBuilder::new().code(source)) {
        Some(Ok(block)) => appended(block),
        _ => false,
    }
}

/// Appends `block` to the fixture guest token, signs it as any holder can,
/// and inspects the result.
fn appended(block: BlockBuilder) -> bool {
    append_to_fixture(block).is_some_and(|text| inspect_text(&text, 1 << 20))
}

/// The text of the fixture guest token with `block` appended.
pub fn append_to_fixture(block: BlockBuilder) -> Option<String> {
    let Ok(base) = UnverifiedBiscuit::from(authority_token()) else {
        unreachable!("the fixture token parses");
    };
    let appended = base.append_with_keypair(block_keypair(), block).ok()?;
    Some(text_of(&appended.to_vec().ok()?))
}

/// A block built from bytes with biscuit's builder API: the input, split at
/// each `0xff`, gives up to 8 expressions, one operation per byte (see
/// [`op_of`]); even ones become checks `check if operation($x), <expr>`,
/// odd ones rules `derived($x) <- operation($x), <expr>` with a check on
/// `derived`. Nothing requires the operations to form a valid stack.
pub fn raw_block(data: &[u8]) -> BlockBuilder {
    use biscuit_auth::builder::{constrained_rule, pred, var, Check, CheckKind, Expression, Term};
    let mut block = BlockBuilder::new();
    let body = [pred("operation", &[var("x")])];
    for (i, chunk) in data.split(|&b| b == 0xff).take(8).enumerate() {
        let expression = Expression {
            ops: chunk.iter().map(|&b| op_of(b)).collect(),
        };
        if i % 2 == 0 {
            let query = constrained_rule("query", &[] as &[Term], &body, &[expression]);
            block.checks.push(Check {
                queries: vec![query],
                kind: if i % 4 == 0 {
                    CheckKind::One
                } else {
                    CheckKind::All
                },
            });
        } else {
            let head = [var("x")];
            block
                .rules
                .push(constrained_rule("derived", &head, &body, &[expression]));
            let query = biscuit_auth::builder::rule(
                "query",
                &[] as &[Term],
                &[pred("derived", &[var("x")])],
            );
            block.checks.push(Check {
                queries: vec![query],
                kind: CheckKind::One,
            });
        }
    }
    block
}

/// One builder operation per byte: the top three bits pick the class
/// (variable, small integer, other value, unary, binary, extreme integer,
/// closure), the rest the member.
fn op_of(b: u8) -> biscuit_auth::builder::Op {
    use biscuit_auth::builder::{
        boolean, bytes, int, string, var, Binary, MapKey, Op, Term as T, Unary,
    };
    const BINARY: [Binary; 28] = [
        Binary::LessThan,
        Binary::GreaterThan,
        Binary::LessOrEqual,
        Binary::GreaterOrEqual,
        Binary::Equal,
        Binary::Contains,
        Binary::Prefix,
        Binary::Suffix,
        Binary::Regex,
        Binary::Add,
        Binary::Sub,
        Binary::Mul,
        Binary::Div,
        Binary::And,
        Binary::Or,
        Binary::Intersection,
        Binary::Union,
        Binary::BitwiseAnd,
        Binary::BitwiseOr,
        Binary::BitwiseXor,
        Binary::NotEqual,
        Binary::HeterogeneousEqual,
        Binary::HeterogeneousNotEqual,
        Binary::LazyAnd,
        Binary::LazyOr,
        Binary::All,
        Binary::Any,
        Binary::Get,
    ];
    let low = b & 0x1f;
    match b >> 5 {
        0 => Op::Value(var(if low & 1 == 0 { "x" } else { "unbound" })),
        1 => Op::Value(int(i64::from(low) - 16)),
        2 => Op::Value(match low % 16 {
            0 => string("read"),
            1 => string(""),
            2 => string("(a+)+$"),
            3 => string("["),
            4 => boolean(true),
            5 => boolean(false),
            6 => T::Date(u64::from(low) << 40),
            7 => T::Null,
            8 => bytes(&[low, 0xff]),
            9 => T::Set([int(1), string("read")].into_iter().collect()),
            10 => T::Array(vec![int(1), string("read"), T::Null]),
            11 => T::Map(
                [
                    (MapKey::Str("read".into()), int(1)),
                    (MapKey::Integer(1), T::Null),
                ]
                .into_iter()
                .collect(),
            ),
            12 => T::Set(Default::default()),
            13 => T::Date(u64::MAX),
            14 => string("a{1000}{1000}"),
            _ => string("export"),
        }),
        3 => Op::Unary(match low % 5 {
            0 => Unary::Negate,
            1 => Unary::Parens,
            2 => Unary::Length,
            3 => Unary::TypeOf,
            _ => Unary::Ffi("f".into()),
        }),
        4 | 5 => Op::Binary(
            BINARY
                .get(usize::from(b & 0x3f) % 30)
                .cloned()
                .unwrap_or_else(|| {
                    if low & 1 == 0 {
                        Binary::TryOr
                    } else {
                        Binary::Ffi("f".into())
                    }
                }),
        ),
        6 => Op::Value(int(match low % 4 {
            0 => i64::MAX,
            1 => i64::MIN,
            2 => -1,
            _ => i64::from(low) << 58,
        })),
        _ => Op::Closure(
            vec![if low & 1 == 0 { "p" } else { "x" }.to_owned()],
            match low % 4 {
                0 => vec![
                    Op::Value(var("p")),
                    Op::Value(int(0)),
                    Op::Binary(Binary::GreaterThan),
                ],
                1 => vec![Op::Value(var("p"))],
                2 => vec![Op::Binary(Binary::Add)],
                _ => vec![],
            },
        ),
    }
}

// ---------------------------------------------------------------------------
// routes
// ---------------------------------------------------------------------------

/// `routes`: the first byte picks the input's form.
///
/// * `0`: the rest is a route table (TOML) for `RouteTable::from_toml`; a
///   table that loads must resolve an instance of each of its own routes to
///   that route (no route is unreachable: overlaps are refused);
/// * anything else: the rest is `METHOD path` (split at the first space),
///   resolved on the default table and normalised.
///
/// A resolved request's resource id is a valid `Id` and one of the path's
/// segments; a resolved path has no dot segment, encoded slash or
/// backslash, empty segment or control character; normalising is
/// idempotent; HEAD resolves as GET.
pub fn routes(data: &[u8]) {
    install_panic_hook();
    let Some((m, rest)) = mode(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if m == 0 {
        route_table(text);
    } else {
        let (method, path) = text.split_once(' ').unwrap_or(("GET", text));
        resolve_default(method, path);
    }
}

fn default_table() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        RouteTable::default_table()
            .unwrap_or_else(|e| unreachable!("the default route table loads: {e}"))
    })
}

/// Percent-decodes one raw segment (independently of the crate's own
/// decoder): `None` when it is not valid UTF-8 once decoded.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hostile_segment(decoded: &str) -> bool {
    decoded.is_empty()
        || decoded == "."
        || decoded == ".."
        || decoded
            .chars()
            .any(|c| c == '/' || c == '\\' || c == '%' || c.is_control())
}

fn resolve_default(method: &str, raw: &str) {
    let table = default_table();
    let normalized = normalize_path(raw);
    let resolved = table.resolve(method, raw);
    if let Ok(segments) = &normalized {
        for s in segments {
            assert!(!hostile_segment(s), "normalize_path kept segment {s:?}");
        }
        // Canonical: the segments, joined again, normalise to themselves.
        let rejoined: String = segments
            .iter()
            .map(|s| format!("/{}", s.replace('?', "%3F").replace('#', "%23")))
            .collect();
        let rejoined = if rejoined.is_empty() {
            "/".to_owned()
        } else {
            rejoined
        };
        if rejoined.len() <= 2048 {
            assert_eq!(
                normalize_path(&rejoined).as_ref(),
                Ok(segments),
                "normalising {rejoined:?} again changed it"
            );
        }
    }
    let Ok(request) = &resolved else {
        if method == "HEAD" {
            assert_eq!(resolved, table.resolve("GET", raw));
        }
        return;
    };
    let segments = normalized
        .as_ref()
        .unwrap_or_else(|e| panic!("resolved {raw:?} but normalize_path refused it: {e}"));
    let id = request.resource.id.as_str();
    assert!(
        Id::new(id).is_ok(),
        "resolved resource id {id:?} is not an Id"
    );
    assert!(
        segments.iter().any(|s| s == id),
        "resolved id {id:?} is not a segment of {raw:?}"
    );
    // Independently of normalize_path: the raw path resolved has no dot
    // segment, no encoded slash or backslash, no empty segment.
    let path = raw.split(['?', '#']).next().unwrap_or("");
    let body = path.strip_prefix('/').unwrap_or_else(|| {
        panic!("resolved a path that does not start with '/': {raw:?}");
    });
    let body = body.strip_suffix('/').unwrap_or(body);
    for segment in body.split('/') {
        let decoded = percent_decode(segment)
            .unwrap_or_else(|| panic!("resolved a path with invalid UTF-8: {raw:?}"));
        assert!(
            !hostile_segment(&decoded),
            "resolved {raw:?} with hostile segment {segment:?}"
        );
    }
    if method == "HEAD" || method == "GET" {
        let other = if method == "HEAD" { "GET" } else { "HEAD" };
        assert_eq!(resolved, table.resolve(other, raw), "HEAD differs from GET");
    }
}

fn route_table(text: &str) {
    let Ok(table) = RouteTable::from_toml(text) else {
        return;
    };
    assert!(!table.is_empty());
    let _ = table.to_string();
    // Every route is reachable: an instance of its template, with its first
    // method, resolves to it.
    let Ok(value) = text.parse::<toml::Table>() else {
        panic!("from_toml accepted text that is not TOML");
    };
    let Some(routes) = value.get("route").and_then(|r| r.as_array()) else {
        panic!("from_toml accepted a table without routes");
    };
    for (index, route) in routes.iter().enumerate() {
        let (Some(path), Some(method), Some(operation), Some(resource)) = (
            route.get("path").and_then(|p| p.as_str()),
            route
                .get("methods")
                .and_then(|m| m.as_array())
                .and_then(|m| m.first())
                .and_then(|m| m.as_str()),
            route.get("operation").and_then(|o| o.as_str()),
            route.get("resource").and_then(|r| r.as_str()),
        ) else {
            panic!("from_toml accepted route {index} without path, methods, operation or resource");
        };
        let mut resource_id = None;
        let instance: Vec<String> = path
            .split('/')
            .enumerate()
            .map(
                |(i, segment)| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => {
                        let value = format!("p{i}");
                        if name == resource {
                            resource_id = Some(value.clone());
                        }
                        value
                    }
                    None => segment.to_owned(),
                },
            )
            .collect();
        let instance = instance.join("/");
        if instance.len() > 2048 {
            continue;
        }
        let resource_id = resource_id
            .unwrap_or_else(|| panic!("route {index} ({path}) loaded without a {{{resource}}}"));
        let expected = Request {
            operation: operation
                .parse()
                .unwrap_or_else(|_| panic!("route {index} loaded with operation {operation:?}")),
            resource: Resource {
                kind: resource
                    .parse::<ResourceKind>()
                    .unwrap_or_else(|_| panic!("route {index} loaded with resource {resource:?}")),
                id: id(&resource_id),
            },
        };
        assert_eq!(
            table.resolve(method, &instance),
            Ok(expected),
            "route {index} ({method} {path}) is unreachable as {instance:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// forward_headers
// ---------------------------------------------------------------------------

fn data_dir_counter() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A gateway on a fresh data directory holding the fixed keyring and the
/// fixture registry, with the default policy and routes. The directory is
/// removed once the gateway is open (it keeps the store file open).
fn gateway() -> &'static Gateway {
    static GATEWAY: OnceLock<Gateway> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        let root: PathBuf = std::env::temp_dir().join(format!(
            "tessera-fuzz-{}-{}",
            std::process::id(),
            data_dir_counter()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let data = DataDir::new(&root);
        let setup = || -> Result<(), String> {
            data.create().map_err(|e| e.to_string())?;
            data.write_keyring(keyring(), false)
                .map_err(|e| e.to_string())?;
            let store = Store::create(&data.store_path()).map_err(|e| e.to_string())?;
            let r = registry();
            for (view, entry) in &r.views {
                let ws = &r.tables[&entry.table];
                let changes: Vec<(&str, bool)> = entry.settings.entries().to_vec();
                store
                    .set_view(view, Some((&entry.table, ws)), &changes, t0())
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        if let Err(e) = setup() {
            panic!("cannot set up the fuzz gateway in {}: {e}", root.display());
        }
        let config = GatewayConfig::default();
        let gw = runtime()
            .block_on(Gateway::open(config, data))
            .unwrap_or_else(|e| panic!("cannot open the fuzz gateway: {e}"));
        let _ = std::fs::remove_dir_all(&root);
        gw
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a tokio runtime: {e}"))
    })
}

/// Parses the `forward_headers` input: the first line is the method of the
/// request to `/auth`, every other line one header `name:value` (lines
/// that are not valid headers are skipped; repeated names are appended).
pub fn parse_header_input(data: &[u8]) -> (Method, HeaderMap) {
    let mut lines = data.split(|&b| b == b'\n');
    let method = lines
        .next()
        .and_then(|m| Method::from_bytes(m).ok())
        .unwrap_or(Method::GET);
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    (method, headers)
}

/// `forward_headers`: arbitrary request headers (see
/// [`parse_header_input`]) through `credential` and the `/auth` and Envoy
/// front doors of a real gateway (which parse the forwarding headers with
/// the private `forwarded_request`). A trusted peer's request is allowed
/// (200) or denied with a reason (401/403), never anything else; an
/// untrusted peer is always refused.
pub fn forward_headers(data: &[u8]) {
    let _ = forward_statuses(data);
}

/// [`forward_headers`], returning the status of each trusted answer (`/auth`,
/// then Envoy's `/auth/…` when the input names a valid original path): lets
/// the corpus test prove that the harness reaches both allow and deny.
pub fn forward_statuses(data: &[u8]) -> Vec<StatusCode> {
    install_panic_hook();
    let (method, headers) = parse_header_input(data);
    if let Some(c) = credential(&headers) {
        assert_eq!(c.trim(), c, "credential is not trimmed");
    }
    let gw = gateway();
    let trusted = ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000)));
    let untrusted = ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 40000)));
    runtime().block_on(async {
        let mut statuses = Vec::new();
        let answer =
            forward_auth(State(gw.clone()), trusted, method.clone(), headers.clone()).await;
        statuses.push(check_answer("/auth", answer));
        let answer = forward_auth(
            State(gw.clone()),
            untrusted,
            method.clone(),
            headers.clone(),
        )
        .await;
        assert!(
            matches!(answer, Err(ApiError::Denied(Reason::UntrustedPeer))),
            "an untrusted peer was not refused: {answer:?}"
        );
        // Envoy: the original path follows /auth. Take it from the
        // forwarding headers when they hold a valid one.
        let path = ["x-forwarded-uri", "x-original-uri"]
            .iter()
            .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()));
        if let Some(uri) = path.and_then(|p| format!("/auth{p}").parse::<Uri>().ok()) {
            let answer = envoy_auth(State(gw.clone()), trusted, method, uri, headers).await;
            statuses.push(check_answer("/auth/…", answer));
        }
        statuses
    })
}

fn check_answer(door: &str, answer: Result<axum::response::Response, ApiError>) -> StatusCode {
    match answer {
        Ok(response) => {
            assert_eq!(response.status(), StatusCode::OK, "{door}");
            StatusCode::OK
        }
        Err(ApiError::Denied(reason)) => {
            let status = ApiError::Denied(reason).into_response().status();
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
                "{door}: {reason:?} answered {status}"
            );
            status
        }
        Err(other) => panic!("{door} answered something other than a decision: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// loaders
// ---------------------------------------------------------------------------

/// `loaders`: the first byte picks the loader, the rest (UTF-8) is its text.
///
/// * `0`: `Policy::from_source`;
/// * `1`: `GatewayConfig::from_toml`;
/// * `2`: `PrivateKeyring::from_toml` (a keyring that loads round-trips
///   through `to_toml`; an error never quotes a private key);
/// * `3`: `PublicKeyring::from_bwk_json` (round-trips through `to_bwk_json`);
/// * `4`: `RouteTable::from_toml`;
/// * anything else: every loader.
pub fn loaders(data: &[u8]) {
    install_panic_hook();
    on_big_stack(|| loaders_here(data));
}

fn loaders_here(data: &[u8]) {
    let Some((m, rest)) = mode(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match m {
        0 => load_policy(text),
        1 => load_config(text),
        2 => load_private_keyring(text),
        3 => load_public_keyring(text),
        4 => load_routes(text),
        _ => {
            load_policy(text);
            load_config(text);
            load_private_keyring(text);
            load_public_keyring(text);
            load_routes(text);
        }
    }
}

fn load_policy(text: &str) {
    let _ = Policy::from_source(text, RunLimits::default());
}

fn load_config(text: &str) {
    if let Ok(config) = GatewayConfig::from_toml(text) {
        let _ = config.run_limits();
        let _ = config.share_base(SocketAddr::from(([127, 0, 0, 1], 8080)));
    }
}

fn load_private_keyring(text: &str) {
    match PrivateKeyring::from_toml(text) {
        Ok(ring) => {
            let again = PrivateKeyring::from_toml(&ring.to_toml())
                .unwrap_or_else(|e| panic!("a loaded keyring does not round-trip: {e}"));
            assert_eq!(again.active().id(), ring.active().id());
            assert_eq!(again.public(), ring.public());
            let _ = format!("{ring:?}");
        }
        Err(e) => {
            let message = e.to_string();
            for line in text.lines() {
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches(['"', '\'']);
                // A value that also appears elsewhere in the input (say, as
                // the algorithm) may be quoted for that other reason.
                if key.trim() == "private_key"
                    && value.len() >= 8
                    && text.matches(value).count() == 1
                {
                    assert!(
                        !message.contains(value),
                        "a keyring error quotes private key material: {message}"
                    );
                }
            }
        }
    }
}

fn load_public_keyring(text: &str) {
    if let Ok(ring) = PublicKeyring::from_bwk_json(text, t0()) {
        let again = PublicKeyring::from_bwk_json(&ring.to_bwk_json(), t0())
            .unwrap_or_else(|e| panic!("a loaded public keyring does not round-trip: {e}"));
        assert_eq!(again, ring);
    }
}

fn load_routes(text: &str) {
    if let Ok(table) = RouteTable::from_toml(text) {
        let _ = table.to_string();
    }
}
