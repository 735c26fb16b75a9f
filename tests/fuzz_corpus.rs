//! Replays the fuzz corpus: every file under `tests/fuzz/corpus/<target>/`
//! goes through the same harness function the cargo-fuzz target calls
//! (`tests/fuzz/src/lib.rs`, compiled here as a module), and must not panic.
//!
//! This is how `cargo test` (and so `.ci/run`) replays what the fuzzers
//! found without any fuzzing toolchain. To fuzz, see README.md, "Fuzzing".

#[path = "fuzz/src/lib.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Every file of `tests/fuzz/corpus/<target>/`, sorted by name.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `run` on every corpus file of `target`; fails naming each file that
/// panicked (the panic message is printed above by the panic hook).
fn replay(target: &str, run: fn(&[u8])) {
    let files = corpus(target);
    assert!(!files.is_empty(), "the {target} corpus is empty");
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).expect("read corpus file");
            catch_unwind(AssertUnwindSafe(|| run(&data))).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} {target} corpus files panicked:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn token_decode_corpus_never_panics() {
    replay("token_decode", harness::token_decode);
}

#[test]
fn routes_corpus_never_panics() {
    replay("routes", harness::routes);
}

#[test]
fn forward_headers_corpus_never_panics() {
    replay("forward_headers", harness::forward_headers);
}

#[test]
fn loaders_corpus_never_panics() {
    replay("loaders", harness::loaders);
}

/// The harness is only worth its corpus if it gets past the front checks:
/// a signed token verifies in each form and with a fuzzed attenuation
/// block, and the gateway both allows and denies.
#[test]
fn the_harness_reaches_verification_and_both_decisions() {
    use tessera::model::{Grant, Id, Operation};
    use tessera::token;

    let ops = Operation::parse_list("read").unwrap();
    let grant = Grant::guest(Id::new("ws_1").unwrap(), Id::new("v_1").unwrap(), &ops);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(4);
    let issued =
        token::issue_with_rng(&grant, harness::keyring(), harness::t0(), &mut rng).unwrap();
    let text = issued.token.expose();
    let raw = token::decode_bytes(text, token::DEFAULT_MAX_TOKEN_BYTES).unwrap();

    let with_mode = |mode: u8, body: &[u8]| [&[mode][..], body].concat();
    assert!(harness::token_verifies(&with_mode(0, &raw)));
    assert!(harness::token_verifies(&with_mode(1, text.as_bytes())));
    assert!(harness::token_verifies(&with_mode(
        2,
        b"check if operation(\"read\");"
    )));
    assert!(!harness::token_verifies(&with_mode(1, b"tsr_AAAA")));

    let ask = |path: &str, auth: &str| {
        let input = format!("GET\nx-original-uri: {path}\n{auth}");
        harness::forward_statuses(input.as_bytes())
    };
    let bearer = format!("authorization: Bearer {text}");
    assert_eq!(ask("/api/v1/views/v_1/rows", &bearer), [200, 200]);
    assert_eq!(ask("/api/v1/views/v_3/rows", &bearer), [403, 403]);
    assert_eq!(
        ask("/api/v1/views/v_1/rows", "authorization: Bearer tsr_AAAA"),
        [401, 401]
    );
    assert_eq!(ask("/api/v1/views/v_2/rows", ""), [200, 200]);
    assert_eq!(ask("/api/v1/views/v_1/rows", ""), [401, 401]);
}

/// Inputs that crashed a fuzz target, kept under `tests/fuzz/crashes/<target>/`
/// (first byte: the target's mode; the rest: Datalog text).
fn known_crashes() -> Vec<(PathBuf, String)> {
    ["token_decode", "loaders"]
        .iter()
        .flat_map(|target| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fuzz/crashes")
                .join(target);
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .map(|entry| entry.expect("crash entry").path())
        })
        .map(|path| {
            let data = std::fs::read(&path).expect("read crash file");
            let text = String::from_utf8_lossy(&data[1..]).into_owned();
            (path, text)
        })
        .collect()
}

/// The harness steps around the known crashes (so fuzzing can go on past
/// them): each crash input goes through its target without failing.
#[test]
fn the_harness_steps_around_the_known_crashes() {
    let crashes = known_crashes();
    assert!(!crashes.is_empty());
    for (path, _) in &crashes {
        let data = std::fs::read(path).unwrap();
        let target = path.parent().and_then(|p| p.file_name()).unwrap();
        let run = if target == "loaders" {
            harness::loaders
        } else {
            harness::token_decode
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&data)));
        assert!(outcome.is_ok(), "{}", path.display());
    }
}

/// Found by the `token_decode` fuzzer: biscuit-auth 6.0.0 parses a
/// `trusting ed25519/<hex>` (or `secp256r1/<hex>`) scope whose bytes are no
/// valid public key, then panics converting it (`token/builder/scope.rs:74`,
/// `expect("invalid public key")`). Tessera reaches that panic through
/// `Policy::from_source` (an operator's policy file: `tessera serve`,
/// `tessera check --policy`) and the public `token::is_expiry_check`. Tokens
/// do not reach it: their keys are validated when the token is parsed.
#[test]
fn known_crashes_do_not_panic() {
    use tessera::authorize::{Policy, RunLimits};

    let mut failed = Vec::new();
    for (path, text) in known_crashes() {
        let policy = catch_unwind(|| Policy::from_source(&text, RunLimits::default()).is_ok());
        let expiry = catch_unwind(|| tessera::token::is_expiry_check(&text));
        let describe = catch_unwind(|| {
            tessera::token::decode(&text, 1 << 20).map(|t| tessera::token::describe(&t).is_ok())
        });
        if policy.is_err() || expiry.is_err() || describe.is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "still panicking:\n{}", failed.join("\n"));
}

/// The smallest token that makes `describe` (and so `tessera inspect`)
/// panic: a check whose expression is a lone `+`. The gateway's own path
/// (verify, authorize) refuses or denies it without panicking.
#[test]
fn describing_an_invalid_expression_does_not_panic() {
    use biscuit_auth::builder::{
        constrained_rule, pred, var, Binary, Check, CheckKind, Expression, Op,
    };
    let mut block = biscuit_auth::BlockBuilder::new();
    let query = constrained_rule(
        "query",
        &[] as &[biscuit_auth::builder::Term],
        &[pred("operation", &[var("x")])],
        &[Expression {
            ops: vec![Op::Binary(Binary::Add)],
        }],
    );
    block.checks.push(Check {
        queries: vec![query],
        kind: CheckKind::One,
    });
    let text = harness::append_to_fixture(block).unwrap();
    let token = tessera::token::decode(&text, 1 << 20).unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| tessera::token::describe(&token))).is_ok());
}

/// Found by the `loaders` fuzzer (`tests/fuzz/crashes/stack_overflow/`):
/// biscuit-auth's Datalog parser recurses once per nesting level with no
/// limit, and a stack overflow aborts the whole process. It reaches the
/// gateway: a check nested 500 deep (a 4.6 KB token, under the 8 KB
/// limit), appended to any token by whoever holds it, fails, and the
/// decision re-parses the failed check's text (`token::is_expiry_check`)
/// to tell `expired` from `check_failed` — on a tokio worker's 2 MiB stack.
/// One `/auth` request with such a token aborts `tessera serve` (SIGABRT,
/// "tokio-rt-worker has overflowed its stack"). A policy file nested a
/// few thousand deep does the same to `serve` and `check --policy`.
///
/// Fixed: failed checks are classified by position (no re-parsing), long
/// expressions are refused at admission, and text nested deeper than 64
/// levels never reaches biscuit's parser. Run on a 2 MiB thread like a
/// tokio worker: a regression aborts the test process.
#[test]
fn deep_nesting_does_not_overflow_a_worker_stack() {
    let on_worker_stack = |f: fn()| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .is_ok()
    };
    assert!(on_worker_stack(|| {
        // `check if operation($x), ((((…(false)…))))`, 500 deep.
        let ops: Vec<u8> = [0x45].into_iter().chain([0x61; 500]).collect();
        let text = harness::append_to_fixture(harness::raw_block(&ops)).unwrap();
        assert!(text.len() <= tessera::token::DEFAULT_MAX_TOKEN_BYTES);
        let d = harness::decide_read_v1(&text);
        assert!(!d.allowed);
    }));
    assert!(on_worker_stack(|| {
        use tessera::authorize::{Policy, RunLimits};
        let n = 1000;
        let source = format!("allow if {}true{};", "(".repeat(n), ")".repeat(n));
        let _ = Policy::from_source(&source, RunLimits::default());
    }));
}
