//! Conformance: biscuit's own sample tokens (`tests/biscuit-samples`, a
//! copy of those published with biscuit-auth) through Tessera's `decode` / `describe` /
//! `verify` and through a real `tessera inspect` process.
//!
//! Every sample has one row in [`SAMPLES`] stating what Tessera must do with
//! it; the table is cross-checked against `samples.json` (block counts,
//! revocation ids, which samples carry a bad signature) and against the
//! folder's `.bc` files, so a sample added or dropped upstream fails here.
//!
//! biscuit's samples carry no root key id, and Tessera's keyring picks keys
//! by root key id only, so as published every readable sample is refused as
//! `UnknownKey(None)` (Tessera tokens always name their key). To exercise the
//! signature checks themselves, the tests also re-wrap each sample with root
//! key id [`SAMPLE_KEY_ID`]: the id is an unsigned hint in the outer protobuf
//! container, so adding it leaves every signature as it was.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use base64::Engine;
use biscuit_auth::builder::Algorithm;
use biscuit_auth::error::{Format, Signature, Token};
use biscuit_auth::{Biscuit, PublicKey, UnverifiedBiscuit};
use chrono::{DateTime, Utc};
use prost::Message;
use serde_json::Value;
use tessera::keys::PublicKeyring;
use tessera::token::{self, TokenError, DEFAULT_MAX_TOKEN_BYTES, TOKEN_PREFIX};

/// The key id the tests give the samples' root key in a Tessera keyring.
const SAMPLE_KEY_ID: u32 = 1;

/// How Tessera reads a sample without any key (`decode`, then `describe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// `decode` and `describe` succeed; the token has this many blocks.
    Blocks(usize),
    /// `decode` refuses it: `Malformed("not a biscuit token")`.
    NotABiscuit,
}

/// What biscuit-auth itself says of the sample's signatures, given the
/// samples' root public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sig {
    /// `UnverifiedBiscuit::verify(root)` succeeds.
    Valid,
    /// `Format::Signature(InvalidSignature(_))`: the signature equation fails.
    EquationFails,
    /// `Format::BlockSignatureDeserializationError(_)`: a signature is not
    /// even a well-formed signature.
    UndecodableSignature,
    /// `UnverifiedBiscuit::from` cannot parse it at all
    /// (`Format::BlockDeserializationError`: a block is not a protobuf
    /// block); `Biscuit::from(bytes, root)`, which checks
    /// signatures before parsing blocks, reports `EquationFails` instead,
    /// as `samples.json` records.
    Unparseable,
}

/// What `tessera::token::verify` answers with a keyring that holds the
/// samples' root key under [`SAMPLE_KEY_ID`], once the sample names that id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Verified,
    BadSignature,
    Malformed(&'static str),
}

impl Verdict {
    fn as_result(self) -> Result<(), TokenError> {
        match self {
            Verdict::Verified => Ok(()),
            Verdict::BadSignature => Err(TokenError::BadSignature),
            Verdict::Malformed(why) => Err(TokenError::Malformed(why)),
        }
    }
}

/// One sample and everything Tessera must do with it.
struct Sample {
    file: &'static str,
    reads: Reads,
    signature: Sig,
    with_key_id: Verdict,
}

const NOT_A_BISCUIT: &str = "not a biscuit token";

const fn ok(file: &'static str, blocks: usize) -> Sample {
    Sample {
        file,
        reads: Reads::Blocks(blocks),
        signature: Sig::Valid,
        with_key_id: Verdict::Verified,
    }
}

/// The expected outcome of every sample.
const SAMPLES: &[Sample] = &[
    ok("test001_basic.bc", 2),
    // Signed by another root key: with no key id to go by, biscuit can only
    // see that the signature does not verify with the samples' key.
    Sample {
        file: "test002_different_root_key.bc",
        reads: Reads::Blocks(2),
        signature: Sig::EquationFails,
        with_key_id: Verdict::BadSignature,
    },
    // A block signature of the wrong length: readable, never verifiable.
    Sample {
        file: "test003_invalid_signature_format.bc",
        reads: Reads::Blocks(2),
        signature: Sig::UndecodableSignature,
        with_key_id: Verdict::BadSignature,
    },
    // Random bytes where block 1 should be: refused before any crypto.
    Sample {
        file: "test004_random_block.bc",
        reads: Reads::NotABiscuit,
        signature: Sig::Unparseable,
        with_key_id: Verdict::Malformed(NOT_A_BISCUIT),
    },
    // One flipped signature byte.
    Sample {
        file: "test005_invalid_signature.bc",
        reads: Reads::Blocks(2),
        signature: Sig::EquationFails,
        with_key_id: Verdict::BadSignature,
    },
    // Blocks 1 and 2 swapped: each block parses, the chain does not verify.
    Sample {
        file: "test006_reordered_blocks.bc",
        reads: Reads::Blocks(3),
        signature: Sig::EquationFails,
        with_key_id: Verdict::BadSignature,
    },
    ok("test007_scoped_rules.bc", 3),
    ok("test008_scoped_checks.bc", 3),
    ok("test009_expired_token.bc", 2),
    ok("test010_authorizer_scope.bc", 2),
    ok("test011_authorizer_authority_caveats.bc", 1),
    ok("test012_authority_caveats.bc", 1),
    ok("test013_block_rules.bc", 2),
    ok("test014_regex_constraint.bc", 1),
    ok("test015_multi_queries_caveats.bc", 1),
    ok("test016_caveat_head_name.bc", 2),
    ok("test017_expressions.bc", 1),
    // A rule head with an unbound variable: biscuit's own parser refuses
    // the printed text, yet the token is well-formed (it fails only at
    // authorization), so `describe` keeps that rule as text.
    ok("test018_unbound_variables_in_rule.bc", 2),
    ok("test019_generating_ambient_from_variables.bc", 2),
    ok("test020_sealed.bc", 2),
    ok("test021_parsing.bc", 1),
    ok("test022_default_symbols.bc", 1),
    ok("test023_execution_scope.bc", 3),
    ok("test024_third_party.bc", 2),
    ok("test025_check_all.bc", 1),
    ok("test026_public_keys_interning.bc", 5),
    ok("test027_integer_wraparound.bc", 1),
    ok("test028_expressions_v4.bc", 1),
    ok("test029_reject_if.bc", 1),
    ok("test030_null.bc", 1),
    ok("test031_heterogeneous_equal.bc", 1),
    ok("test032_laziness_closures.bc", 1),
    ok("test033_typeof.bc", 1),
    ok("test034_array_map.bc", 1),
    ok("test035_ffi.bc", 1),
    ok("test036_secp256r1.bc", 2),
    ok("test037_secp256r1_third_party.bc", 2),
];

/// The samples folder. Missing is a failure, never a skip.
fn samples_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/biscuit-samples");
    assert!(
        dir.join("samples.json").is_file(),
        "biscuit samples not found at {}: the conformance tests need them",
        dir.display()
    );
    dir
}

fn samples_json() -> Value {
    let path = samples_dir().join("samples.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The test case `samples.json` gives for `file`.
fn case<'a>(json: &'a Value, file: &str) -> &'a Value {
    json["testcases"]
        .as_array()
        .expect("samples.json has a testcases array")
        .iter()
        .find(|c| c["filename"] == file)
        .unwrap_or_else(|| panic!("{file} is not in samples.json"))
}

fn root_public_key_hex(json: &Value) -> String {
    json["root_public_key"]
        .as_str()
        .expect("samples.json has root_public_key")
        .to_owned()
}

fn root_public_key(json: &Value) -> PublicKey {
    PublicKey::from_bytes_hex(&root_public_key_hex(json), Algorithm::Ed25519)
        .expect("the samples' root key is an Ed25519 key")
}

/// Biscuit Web Keys JSON with the samples' root key under `key_id`.
fn bwk_json(json: &Value, key_id: u32) -> String {
    format!(
        r#"[{{"algorithm":"ed25519","key_bytes":"{}","key_id":{key_id},"issuer":null,"expires_at":null}}]"#,
        root_public_key_hex(json)
    )
}

fn keyring(json: &Value) -> PublicKeyring {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
        .expect("a valid date")
        .with_timezone(&Utc);
    PublicKeyring::from_bwk_json(&bwk_json(json, SAMPLE_KEY_ID), now)
        .expect("the samples' key makes a keyring")
}

/// The revocation ids `samples.json` records for `file`, where it gives any
/// (it records none for samples whose signature does not verify).
fn expected_revocation_ids(json: &Value, file: &str) -> Option<Vec<String>> {
    let validations = case(json, file)["validations"]
        .as_object()
        .expect("validations is an object");
    let mut lists = validations.values().map(|v| {
        v["revocation_ids"]
            .as_array()
            .expect("revocation_ids is an array")
            .iter()
            .map(|id| id.as_str().expect("revocation ids are strings").to_owned())
            .collect::<Vec<_>>()
    });
    let first = lists.next()?;
    assert!(
        lists.all(|other| other == first),
        "{file}: validations disagree on revocation ids"
    );
    (!first.is_empty()).then_some(first)
}

/// True when every validation of `file` fails at the format level, which in
/// these samples means a signature that does not verify.
fn signature_invalid_in_json(json: &Value, file: &str) -> bool {
    case(json, file)["validations"]
        .as_object()
        .expect("validations is an object")
        .values()
        .all(|v| !v["result"]["Err"]["Format"].is_null())
}

fn bytes_of(sample: &Sample) -> Vec<u8> {
    let path = samples_dir().join(sample.file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text form biscuit tools print: URL-safe base64 without padding.
fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The sample re-wrapped with root key id `key_id`. Only the outer,
/// unsigned container changes; every block and signature stays as it was.
fn with_root_key_id(bytes: &[u8], key_id: u32) -> Vec<u8> {
    let mut container = biscuit_auth::format::schema::Biscuit::decode(bytes)
        .expect("every sample's outer container is a protobuf Biscuit");
    assert_eq!(container.root_key_id, None, "samples carry no root key id");
    container.root_key_id = Some(key_id);
    container.encode_to_vec()
}

#[test]
fn the_table_covers_every_sample_exactly_once() {
    let json = samples_json();
    let mut in_json: Vec<&str> = json["testcases"]
        .as_array()
        .expect("samples.json has a testcases array")
        .iter()
        .map(|c| c["filename"].as_str().expect("filename is a string"))
        .collect();
    in_json.sort_unstable();
    let mut on_disk: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("the samples folder is readable")
        .map(|e| {
            e.expect("a readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".bc"))
        .collect();
    on_disk.sort_unstable();
    let mut in_table: Vec<&str> = SAMPLES.iter().map(|s| s.file).collect();
    in_table.sort_unstable();
    assert_eq!(
        in_table, in_json,
        "the table and samples.json list different samples"
    );
    assert_eq!(in_table, on_disk, "the table and the .bc files differ");
    assert_eq!(SAMPLES.len(), 37);
}

#[test]
fn the_table_agrees_with_samples_json() {
    let json = samples_json();
    for sample in SAMPLES {
        let case = case(&json, sample.file);
        let blocks_in_json = case["token"].as_array().expect("token is an array").len();
        match sample.reads {
            Reads::Blocks(n) => {
                assert_eq!(n, blocks_in_json, "{}: block count", sample.file);
            }
            Reads::NotABiscuit => {}
        }
        assert_eq!(
            sample.signature != Sig::Valid,
            signature_invalid_in_json(&json, sample.file),
            "{}: samples.json disagrees on whether the signature verifies",
            sample.file
        );
        assert_eq!(
            sample.signature == Sig::Valid,
            expected_revocation_ids(&json, sample.file).is_some(),
            "{}: samples.json gives revocation ids exactly for signature-valid samples",
            sample.file
        );
        let format_error = &case["validations"]
            .as_object()
            .expect("validations is an object")
            .values()
            .next()
            .expect("at least one validation")["result"]["Err"]["Format"];
        let recorded = match sample.signature {
            Sig::Valid => None,
            Sig::EquationFails | Sig::Unparseable => Some("Signature"),
            Sig::UndecodableSignature => Some("BlockSignatureDeserializationError"),
        };
        if let Some(kind) = recorded {
            assert!(
                !format_error[kind].is_null(),
                "{}: samples.json records {format_error}, the table says {:?}",
                sample.file,
                sample.signature
            );
        }
    }
}

#[test]
fn decode_and_describe_read_every_readable_sample() {
    let json = samples_json();
    for sample in SAMPLES {
        let text = base64_of(&bytes_of(sample));
        let decoded = token::decode(&text, DEFAULT_MAX_TOKEN_BYTES);
        match sample.reads {
            Reads::Blocks(n) => {
                let unverified =
                    decoded.unwrap_or_else(|e| panic!("{}: decode failed: {e}", sample.file));
                assert_eq!(unverified.block_count(), n, "{}", sample.file);
                assert_eq!(unverified.root_key_id(), None, "{}", sample.file);
                let description = token::describe(&unverified)
                    .unwrap_or_else(|e| panic!("{}: describe failed: {e}", sample.file));
                assert_eq!(description.blocks.len(), n, "{}: blocks", sample.file);
                assert_eq!(description.revocation_ids.len(), n, "{}", sample.file);
                assert_eq!(description.root_key_id, None, "{}", sample.file);
                for (index, block) in description.blocks.iter().enumerate() {
                    assert_eq!(block.index, index, "{}", sample.file);
                    assert_eq!(
                        block.revocation_id, description.revocation_ids[index],
                        "{}: block {index}",
                        sample.file
                    );
                }
                if let Some(ids) = expected_revocation_ids(&json, sample.file) {
                    assert_eq!(description.revocation_ids, ids, "{}", sample.file);
                }
                // Foreign biscuits carry none of Tessera's vocabulary.
                assert_eq!(description.claims.vocabulary, None, "{}", sample.file);
                assert_eq!(description.claims.token_id, None, "{}", sample.file);
            }
            Reads::NotABiscuit => {
                assert_eq!(
                    decoded.map(|_| ()),
                    Err(TokenError::Malformed(NOT_A_BISCUIT)),
                    "{}",
                    sample.file
                );
            }
        }
    }
}

#[test]
fn decode_accepts_the_prefixed_and_padded_forms_alike() {
    for sample in SAMPLES {
        let bytes = bytes_of(sample);
        let bare = base64_of(&bytes);
        let padded = base64::engine::general_purpose::URL_SAFE.encode(&bytes);
        for text in [format!("{TOKEN_PREFIX}{bare}"), padded] {
            assert_eq!(
                token::decode_bytes(&text, DEFAULT_MAX_TOKEN_BYTES),
                Ok(bytes.clone()),
                "{}",
                sample.file
            );
        }
    }
}

#[test]
fn describe_reads_the_expiry_of_a_foreign_token() {
    // test009 states `check if time($time), $time <= 2018-12-20T00:00:00Z`
    // in block 1: the form Tessera recognises as an expiry.
    let sample = SAMPLES
        .iter()
        .find(|s| s.file == "test009_expired_token.bc")
        .expect("test009 is in the table");
    let unverified =
        token::decode(&base64_of(&bytes_of(sample)), DEFAULT_MAX_TOKEN_BYTES).expect("decodes");
    let description = token::describe(&unverified).expect("describes");
    let expected = DateTime::parse_from_rfc3339("2018-12-20T00:00:00Z")
        .expect("a valid date")
        .with_timezone(&Utc);
    assert_eq!(description.claims.expires_at, Some(expected));
}

#[test]
fn biscuit_verifies_exactly_the_signature_valid_samples() {
    let json = samples_json();
    let root = root_public_key(&json);
    for sample in SAMPLES {
        let bytes = bytes_of(sample);
        let parsed = UnverifiedBiscuit::from(&bytes);
        if sample.signature == Sig::Unparseable {
            assert!(
                matches!(
                    parsed,
                    Err(Token::Format(Format::BlockDeserializationError(_)))
                ),
                "{}: {:?}",
                sample.file,
                parsed.map(|_| ())
            );
            // Checked against the key first, as samples.json records it.
            let checked = Biscuit::from(&bytes, root);
            assert!(
                matches!(
                    checked,
                    Err(Token::Format(Format::Signature(
                        Signature::InvalidSignature(_)
                    )))
                ),
                "{}: {:?}",
                sample.file,
                checked.map(|_| ())
            );
            continue;
        }
        let parsed =
            parsed.unwrap_or_else(|e| panic!("{}: biscuit cannot parse: {e}", sample.file));
        let verified = parsed.verify(root);
        match sample.signature {
            Sig::Valid => assert!(verified.is_ok(), "{}: {:?}", sample.file, verified.err()),
            Sig::EquationFails => assert!(
                matches!(
                    verified,
                    Err(Format::Signature(Signature::InvalidSignature(_)))
                ),
                "{}: {:?}",
                sample.file,
                verified.map(|_| ())
            ),
            Sig::UndecodableSignature => assert!(
                matches!(verified, Err(Format::BlockSignatureDeserializationError(_))),
                "{}: {:?}",
                sample.file,
                verified.map(|_| ())
            ),
            Sig::Unparseable => unreachable!("handled above"),
        }
    }
}

#[test]
fn tessera_refuses_every_sample_without_a_root_key_id() {
    // Tessera tokens always name their key; a token that names none is
    // refused as UnknownKey(None), whatever key signed it.
    let json = samples_json();
    let ring = keyring(&json);
    for sample in SAMPLES {
        let text = base64_of(&bytes_of(sample));
        let outcome = token::decode(&text, DEFAULT_MAX_TOKEN_BYTES)
            .and_then(|unverified| token::verify(unverified, &ring))
            .map(|_| ());
        let expected = match sample.reads {
            Reads::Blocks(_) => TokenError::UnknownKey(None),
            Reads::NotABiscuit => TokenError::Malformed(NOT_A_BISCUIT),
        };
        assert_eq!(outcome, Err(expected), "{}", sample.file);
    }
}

#[test]
fn tessera_verifies_samples_that_name_the_key() {
    let json = samples_json();
    let ring = keyring(&json);
    for sample in SAMPLES {
        let bytes = with_root_key_id(&bytes_of(sample), SAMPLE_KEY_ID);
        let outcome = token::decode(&base64_of(&bytes), DEFAULT_MAX_TOKEN_BYTES)
            .and_then(|unverified| token::verify(unverified, &ring));
        match (&outcome, sample.with_key_id) {
            (Ok(verified), Verdict::Verified) => {
                if let Some(ids) = expected_revocation_ids(&json, sample.file) {
                    let ids: Vec<Vec<u8>> = ids
                        .iter()
                        .map(|h| hex::decode(h).expect("revocation ids are hex"))
                        .collect();
                    assert_eq!(verified.revocation_ids(), ids, "{}", sample.file);
                }
            }
            (outcome, expected) => assert_eq!(
                outcome.as_ref().map(|_| ()).map_err(Clone::clone),
                expected.as_result(),
                "{}",
                sample.file
            ),
        }
    }
}

#[test]
fn a_key_id_the_keyring_does_not_hold_is_an_unknown_key() {
    let json = samples_json();
    let ring = keyring(&json);
    let other_id = SAMPLE_KEY_ID + 1;
    for sample in SAMPLES
        .iter()
        .filter(|s| matches!(s.reads, Reads::Blocks(_)))
    {
        let bytes = with_root_key_id(&bytes_of(sample), other_id);
        let outcome = token::decode(&base64_of(&bytes), DEFAULT_MAX_TOKEN_BYTES)
            .and_then(|unverified| token::verify(unverified, &ring))
            .map(|_| ());
        assert_eq!(
            outcome,
            Err(TokenError::UnknownKey(Some(other_id))),
            "{}",
            sample.file
        );
    }
}

// ---- the binary -------------------------------------------------------

/// Runs `tessera` with `args` in a fresh data directory, within 10 s.
fn tessera(data_dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env_remove("TESSERA_DATA_DIR")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .timeout(Duration::from_secs(10))
        .output()
        .expect("tessera runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "tessera panicked: {stderr}");
    assert!(
        output.status.code().is_some(),
        "tessera did not exit by itself within 10 s (killed: {:?})",
        output.status
    );
    output
}

fn stdout_json(output: &Output, file: &str) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{file}: stdout is not JSON ({e}): {output:?}"))
}

/// Asserts exit code 2 and, as `--json` asks, one JSON line on stderr: the reason
/// `malformed` and a message that names why, then the hint.
fn assert_malformed_json(output: &Output, why: &str, file: &str) {
    assert_eq!(output.status.code(), Some(2), "{file}: {output:?}");
    assert!(output.stdout.is_empty(), "{file}: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{file}: one line: {stderr}");
    let v: Value = serde_json::from_str(&stderr)
        .unwrap_or_else(|e| panic!("{file}: stderr is not JSON ({e}): {stderr}"));
    assert_eq!(v["reason"], "malformed", "{file}: {v}");
    let message = v["message"].as_str().expect("message is a string");
    assert!(
        message.starts_with(&format!("malformed token: {why}; ")),
        "{file}: {message}"
    );
}

#[test]
fn inspect_json_reads_every_readable_sample_and_refuses_the_rest() {
    let json = samples_json();
    let data = tempfile::tempdir().expect("a temporary directory");
    for sample in SAMPLES {
        let text = format!("{TOKEN_PREFIX}{}", base64_of(&bytes_of(sample)));
        let output = tessera(data.path(), &["inspect", &text, "--json"]);
        match sample.reads {
            Reads::Blocks(n) => {
                assert_eq!(output.status.code(), Some(0), "{}: {output:?}", sample.file);
                assert!(output.stderr.is_empty(), "{}: {output:?}", sample.file);
                let v = stdout_json(&output, sample.file);
                let blocks = v["blocks"].as_array().expect("blocks is an array");
                assert_eq!(blocks.len(), n, "{}: blocks", sample.file);
                assert_eq!(v["root_key_id"], Value::Null, "{}", sample.file);
                assert!(
                    v.get("signature").is_none(),
                    "{}: no key, no verdict",
                    sample.file
                );
                if let Some(ids) = expected_revocation_ids(&json, sample.file) {
                    assert_eq!(
                        v["revocation_ids"],
                        serde_json::json!(ids),
                        "{}",
                        sample.file
                    );
                }
            }
            Reads::NotABiscuit => assert_malformed_json(&output, NOT_A_BISCUIT, sample.file),
        }
    }
}

#[test]
fn inspect_with_public_keys_reports_each_samples_signature() {
    let json = samples_json();
    let data = tempfile::tempdir().expect("a temporary directory");
    let keys = data.path().join("samples-keys.json");
    std::fs::write(&keys, bwk_json(&json, SAMPLE_KEY_ID)).expect("write the keyring");
    let keys = keys.to_str().expect("a UTF-8 path");
    for sample in SAMPLES {
        let bytes = bytes_of(sample);

        // As published (no root key id): unknown key, exit 1.
        let text = format!("{TOKEN_PREFIX}{}", base64_of(&bytes));
        let output = tessera(
            data.path(),
            &["inspect", &text, "--json", "--public-keys", keys],
        );
        match sample.reads {
            Reads::Blocks(_) => {
                assert_eq!(output.status.code(), Some(1), "{}: {output:?}", sample.file);
                let v = stdout_json(&output, sample.file);
                assert_eq!(v["signature"], "unknown_key", "{}", sample.file);
                assert_eq!(v["revoked"], Value::Null, "{}: no store", sample.file);
            }
            Reads::NotABiscuit => assert_malformed_json(&output, NOT_A_BISCUIT, sample.file),
        }

        // Naming the samples' key: the signature verdict itself.
        let text = format!(
            "{TOKEN_PREFIX}{}",
            base64_of(&with_root_key_id(&bytes, SAMPLE_KEY_ID))
        );
        let output = tessera(
            data.path(),
            &["inspect", &text, "--json", "--public-keys", keys],
        );
        match sample.with_key_id {
            Verdict::Verified => {
                assert_eq!(output.status.code(), Some(0), "{}: {output:?}", sample.file);
                let v = stdout_json(&output, sample.file);
                assert_eq!(v["signature"], "valid", "{}", sample.file);
                assert_eq!(v["root_key_id"], SAMPLE_KEY_ID, "{}", sample.file);
            }
            Verdict::BadSignature => {
                assert_eq!(output.status.code(), Some(1), "{}: {output:?}", sample.file);
                let v = stdout_json(&output, sample.file);
                assert_eq!(v["signature"], "bad_signature", "{}", sample.file);
            }
            Verdict::Malformed(why) => assert_malformed_json(&output, why, sample.file),
        }
    }
}
