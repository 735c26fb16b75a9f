//! Forged, altered, spliced, truncated and junk tokens: each is refused
//! with the exact reason, never allowed, and never panics. Every refusal has
//! a twin showing the untouched token is allowed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use biscuit_auth::builder::Algorithm;
use biscuit_auth::format::schema;
use biscuit_auth::{Biscuit, KeyPair};
use prost::Message;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tessera::authorize::{Decision, Reason, Request};
use tessera::keys::PrivateKeyring;
use tessera::model::{Grant, Operation, Restriction};
use tessera::token::{self, TokenError, DEFAULT_MAX_TOKEN_BYTES};

use common::*;

#[track_caller]
fn assert_allowed(d: &Decision) {
    assert!(d.allowed, "expected allowed, got {:?}", d.reason);
}

#[track_caller]
fn assert_denied(d: &Decision, reason: Reason) {
    assert!(!d.allowed, "expected denied with {reason:?}, got allowed");
    assert_eq!(d.reason, Some(reason));
}

/// The request every token below is allowed (before tampering).
fn read_v1() -> Request {
    req(Operation::Read, view("v_1"))
}

/// The error `token::verify` gives for a token's text.
fn verify_err(fx: &Fixture, tok: &str) -> TokenError {
    token::decode(tok, fx.max_token_bytes)
        .and_then(|u| token::verify(u, &fx.public))
        .unwrap_err()
}

fn container(tok: &str) -> schema::Biscuit {
    schema::Biscuit::decode(bytes_of(tok).as_slice()).unwrap()
}

fn reencode(c: &schema::Biscuit) -> String {
    encode(&c.encode_to_vec())
}

/// A table key on t_1 (read, write) and a child restricted to `read` with
/// a label: the 2-block token most tests tamper with.
fn parent_and_child(fx: &Fixture) -> (String, String) {
    let parent = fx.issue(
        &Grant::api_key(id("ws_1"), Some(id("t_1")), &ops("read,write")),
        1000,
    );
    let child = attenuate(
        &parent,
        &Restriction {
            operations: Some(ops("read")),
            label: Some("contractor".into()),
            ..Restriction::default()
        },
        1001,
    );
    (parent, child)
}

/// The signed block at `index` (0 = authority) of a container.
fn signed_block(c: &mut schema::Biscuit, index: usize) -> &mut schema::SignedBlock {
    if index == 0 {
        &mut c.authority
    } else {
        &mut c.blocks[index - 1]
    }
}

fn position_of(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

// ------------------------------------------------------------------- keys

#[test]
fn a_token_signed_by_another_keyring_is_unknown_key() {
    let fx = Fixture::new(1);
    let other = Fixture::new(2);
    assert_ne!(fx.ring.active().id(), other.ring.active().id());
    let grant = Grant::guest(id("ws_1"), id("v_1"), &ops("read"));
    let ours = fx.issue(&grant, 10);
    let theirs = other.issue(&grant, 10);

    assert_allowed(&fx.decide(Some(&ours), &read_v1(), t0()));
    assert_denied(
        &fx.decide(Some(&theirs), &read_v1(), t0()),
        Reason::UnknownKey,
    );
    assert_eq!(
        verify_err(&fx, &theirs),
        TokenError::UnknownKey(Some(other.ring.active().id()))
    );
    // Attenuating a foreign token does not make it ours.
    let child = attenuate(&theirs, &Restriction::default(), 11);
    assert_denied(
        &fx.decide(Some(&child), &read_v1(), t0()),
        Reason::UnknownKey,
    );
}

/// A biscuit with Tessera's authority facts, signed by an attacker's key.
fn forged(root_key_id: Option<u32>, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let attacker = KeyPair::new_with_rng(Algorithm::Ed25519, &mut rng);
    let mut builder = Biscuit::builder()
        .code(
            r#"tessera(1); token_id("tk_0000000000000000"); kind("api_key");
               workspace("ws_1"); right("workspace", "ws_1", "read");"#,
        )
        .unwrap();
    if let Some(id) = root_key_id {
        builder = builder.root_key_id(id);
    }
    let biscuit = builder
        .build_with_rng(
            &attacker,
            biscuit_auth::datalog::SymbolTable::new(),
            &mut rng,
        )
        .unwrap();
    encode(&biscuit.to_vec().unwrap())
}

#[test]
fn a_token_naming_our_key_id_but_signed_by_another_key_is_bad_signature() {
    let fx = Fixture::new(3);
    let tok = forged(Some(fx.ring.active().id()), 30);
    assert_denied(
        &fx.decide(Some(&tok), &read_v1(), t0()),
        Reason::BadSignature,
    );
    assert_eq!(verify_err(&fx, &tok), TokenError::BadSignature);
}

#[test]
fn a_token_without_a_root_key_id_is_unknown_key() {
    let fx = Fixture::new(4);
    let tok = forged(None, 40);
    assert_denied(&fx.decide(Some(&tok), &read_v1(), t0()), Reason::UnknownKey);
    assert_eq!(verify_err(&fx, &tok), TokenError::UnknownKey(None));
    // An id nobody has.
    let tok = forged(Some(7), 41);
    assert_denied(&fx.decide(Some(&tok), &read_v1(), t0()), Reason::UnknownKey);
    assert_eq!(verify_err(&fx, &tok), TokenError::UnknownKey(Some(7)));
}

#[test]
fn a_retired_key_verifies_nothing() {
    let mut fx = Fixture::new(5);
    let grant = Grant::guest(id("ws_1"), id("v_1"), &ops("read"));
    let old_id = fx.ring.active().id();
    let old = fx.issue(&grant, 50);
    let old_child = attenuate(&old, &Restriction::default(), 51);

    let new_id = fx
        .ring
        .rotate_with_rng(&mut StdRng::seed_from_u64(52), at(1));
    fx.public = fx.ring.public();
    let new = fx.issue(&grant, 53);
    assert_eq!(
        token::decode(&new, usize::MAX).unwrap().root_key_id(),
        Some(new_id)
    );
    // After rotation the old key still verifies.
    for t in [&old, &old_child, &new] {
        assert_allowed(&fx.decide(Some(t), &read_v1(), at(2)));
    }

    fx.ring.retire(old_id).unwrap();
    fx.public = fx.ring.public();
    assert_denied(
        &fx.decide(Some(&old), &read_v1(), at(3)),
        Reason::UnknownKey,
    );
    assert_denied(
        &fx.decide(Some(&old_child), &read_v1(), at(3)),
        Reason::UnknownKey,
    );
    assert_eq!(verify_err(&fx, &old), TokenError::UnknownKey(Some(old_id)));
    assert_allowed(&fx.decide(Some(&new), &read_v1(), at(3)));

    // The public keyring a gateway loads from Biscuit Web Keys agrees.
    let bwk = tessera::keys::PublicKeyring::from_bwk_json(&fx.public.to_bwk_json(), at(3)).unwrap();
    assert!(bwk.get(old_id).is_none());
    assert!(bwk.get(new_id).is_some());
}

#[test]
fn a_keyring_restored_from_its_file_verifies_the_same_tokens() {
    let fx = Fixture::new(6);
    let tok = fx.issue(&Grant::guest(id("ws_1"), id("v_1"), &ops("read")), 60);
    let restored = PrivateKeyring::from_toml(&fx.ring.to_toml()).unwrap();
    let mut again = Fixture::new(6);
    again.public = restored.public();
    assert_allowed(&again.decide(Some(&tok), &read_v1(), t0()));
}

// --------------------------------------------------- altered signatures

#[test]
fn a_flipped_signature_byte_is_bad_signature_in_every_block() {
    let fx = Fixture::new(7);
    let (_, child) = parent_and_child(&fx);
    assert_allowed(&fx.decide(Some(&child), &read_v1(), t0()));
    let original = container(&child);
    for index in 0..=original.blocks.len() {
        let len = signed_block(&mut original.clone(), index).signature.len();
        assert_eq!(len, 64);
        for byte in [0, 31, 32, 63] {
            for mask in [0x01u8, 0x80] {
                let mut c = original.clone();
                signed_block(&mut c, index).signature[byte] ^= mask;
                let tok = reencode(&c);
                assert_denied(
                    &fx.decide(Some(&tok), &read_v1(), t0()),
                    Reason::BadSignature,
                );
                assert_eq!(verify_err(&fx, &tok), TokenError::BadSignature);
            }
        }
        // A signature of the wrong length.
        let mut c = original.clone();
        signed_block(&mut c, index).signature.pop();
        let tok = reencode(&c);
        let d = fx.decide(Some(&tok), &read_v1(), t0());
        assert!(!d.allowed);
        assert!(
            matches!(d.reason, Some(Reason::BadSignature | Reason::Malformed)),
            "block {index}: {:?}",
            d.reason
        );
    }
}

#[test]
fn a_flipped_next_key_or_proof_is_bad_signature() {
    let fx = Fixture::new(8);
    let (_, child) = parent_and_child(&fx);
    let original = container(&child);
    for index in 0..=original.blocks.len() {
        let (mut bad_signature, mut malformed) = (0, 0);
        for byte in 0..32 {
            let mut c = original.clone();
            signed_block(&mut c, index).next_key.key[byte] ^= 0x01;
            let tok = reencode(&c);
            // Half of all 32-byte strings are not Ed25519 points: those fail
            // to parse; the rest parse and fail the signature.
            let expected = if token::decode(&tok, usize::MAX).is_ok() {
                bad_signature += 1;
                Reason::BadSignature
            } else {
                malformed += 1;
                Reason::Malformed
            };
            assert_denied(&fx.decide(Some(&tok), &read_v1(), t0()), expected);
        }
        assert!(bad_signature > 0 && malformed > 0, "block {index}");
    }
    let mut c = original.clone();
    match &mut c.proof.content {
        Some(schema::proof::Content::NextSecret(secret)) => secret[0] ^= 0x01,
        other => panic!("an unsealed token carries its next secret, got {other:?}"),
    }
    let tok = reencode(&c);
    assert_denied(
        &fx.decide(Some(&tok), &read_v1(), t0()),
        Reason::BadSignature,
    );
    assert_eq!(verify_err(&fx, &tok), TokenError::BadSignature);
}

// ------------------------------------------------------ altered payloads

#[test]
fn an_altered_but_readable_payload_is_bad_signature_in_every_block() {
    let fx = Fixture::new(9);
    let (_, child) = parent_and_child(&fx);
    let original = container(&child);
    // A byte inside a string the block declares: the block still parses,
    // only the signature can tell.
    for (index, needle) in [(0usize, &b"ws_1"[..]), (1, &b"contractor"[..])] {
        let mut c = original.clone();
        let block = &mut signed_block(&mut c, index).block;
        let at = position_of(block, needle);
        block[at] ^= 0x01; // 'w' -> 'v', 'c' -> 'b'
        let tok = reencode(&c);
        // It still reads as a token...
        assert!(token::decode(&tok, usize::MAX).is_ok(), "block {index}");
        // ...and is refused by its signature.
        assert_denied(
            &fx.decide(Some(&tok), &read_v1(), t0()),
            Reason::BadSignature,
        );
        assert_eq!(verify_err(&fx, &tok), TokenError::BadSignature);
    }
}

#[test]
fn an_unreadable_payload_is_malformed_in_every_block() {
    let fx = Fixture::new(10);
    let (_, child) = parent_and_child(&fx);
    let original = container(&child);
    for index in 0..=original.blocks.len() {
        let mut c = original.clone();
        // The first byte is a protobuf field tag (wire type 2); wire type 7
        // does not exist, so the block no longer decodes.
        let block = &mut signed_block(&mut c, index).block;
        assert_eq!(
            block[0] & 0x07,
            2,
            "block {index} starts with a length-delimited field"
        );
        block[0] |= 0x07;
        let tok = reencode(&c);
        assert!(matches!(
            token::decode(&tok, usize::MAX),
            Err(TokenError::Malformed(_))
        ));
        assert_denied(&fx.decide(Some(&tok), &read_v1(), t0()), Reason::Malformed);
    }
}

#[test]
fn every_single_byte_change_in_a_payload_is_refused() {
    let fx = Fixture::new(11);
    let (_, child) = parent_and_child(&fx);
    let original = container(&child);
    for index in 0..=original.blocks.len() {
        let len = signed_block(&mut original.clone(), index).block.len();
        let (mut bad_signature, mut malformed) = (0, 0);
        for byte in 0..len {
            let mut c = original.clone();
            signed_block(&mut c, index).block[byte] ^= 0x01;
            let tok = reencode(&c);
            let d = fx.decide(Some(&tok), &read_v1(), t0());
            assert!(!d.allowed, "block {index} byte {byte}");
            match d.reason {
                Some(Reason::BadSignature) => bad_signature += 1,
                Some(Reason::Malformed) => malformed += 1,
                other => panic!("block {index} byte {byte}: {other:?}"),
            }
        }
        assert!(bad_signature > 0 && malformed > 0, "block {index}");
    }
}

/// Every single-bit change anywhere in the serialized token is refused,
/// except where protobuf itself reads the changed bytes as the very same
/// token: bits above 32 in the `root_key_id` varint (prost truncates a
/// uint32), or a `PublicKey.algorithm` tag turned into an unknown field
/// (the enum defaults to Ed25519). Those are not forgeries: the decoded
/// token, its signatures and its revocation ids are unchanged.
#[test]
fn every_single_bit_flip_anywhere_in_the_token_is_refused_or_a_no_op() {
    let fx = Fixture::new(12);
    let (_, child) = parent_and_child(&fx);
    let bytes = bytes_of(&child);
    let mut no_ops = 0;
    for byte in 0..bytes.len() {
        for mask in [0x01u8, 0x40] {
            let mut altered = bytes.clone();
            altered[byte] ^= mask;
            let tok = encode(&altered);
            let d = fx.decide(Some(&tok), &read_v1(), t0());
            if d.allowed {
                let same = token::decode(&tok, usize::MAX).unwrap().to_vec().unwrap();
                assert_eq!(
                    same, bytes,
                    "byte {byte} mask {mask:#x} allowed a different token"
                );
                assert_eq!(
                    fx.verify(&tok).revocation_ids(),
                    fx.verify(&child).revocation_ids()
                );
                no_ops += 1;
                continue;
            }
            assert!(
                matches!(
                    d.reason,
                    Some(Reason::BadSignature | Reason::Malformed | Reason::UnknownKey)
                ),
                "byte {byte} mask {mask:#x}: {:?}",
                d.reason
            );
        }
    }
    // One root key id varint and one algorithm tag per public key, at most.
    assert!(no_ops <= 4, "{no_ops} single-bit changes were accepted");
}

// ------------------------------------------- removed, swapped, spliced

#[test]
fn removing_a_block_is_bad_signature() {
    let fx = Fixture::new(13);
    let (parent, child) = parent_and_child(&fx);
    let write = req(Operation::Write, view("v_1"));
    assert_allowed(&fx.decide(Some(&parent), &write, t0()));
    assert_denied(&fx.decide(Some(&child), &write, t0()), Reason::CheckFailed);

    // Drop the restricting block of the 2-block token.
    let mut c = container(&child);
    assert_eq!(c.blocks.len(), 1);
    c.blocks.clear();
    let stripped = reencode(&c);
    assert!(token::decode(&stripped, usize::MAX).is_ok());
    assert_denied(
        &fx.decide(Some(&stripped), &write, t0()),
        Reason::BadSignature,
    );
    assert_denied(
        &fx.decide(Some(&stripped), &read_v1(), t0()),
        Reason::BadSignature,
    );
    assert_eq!(verify_err(&fx, &stripped), TokenError::BadSignature);

    // A 3-block token: drop the middle block, or the last one.
    let grandchild = attenuate(
        &child,
        &Restriction {
            resource: Some(view("v_1")),
            ..Restriction::default()
        },
        1300,
    );
    assert_allowed(&fx.decide(Some(&grandchild), &read_v1(), t0()));
    for drop in [0, 1] {
        let mut c = container(&grandchild);
        c.blocks.remove(drop);
        let tok = reencode(&c);
        assert_denied(&fx.decide(Some(&tok), &write, t0()), Reason::BadSignature);
        assert_denied(
            &fx.decide(Some(&tok), &read_v1(), t0()),
            Reason::BadSignature,
        );
    }
}

#[test]
fn promoting_a_block_to_authority_is_bad_signature() {
    let fx = Fixture::new(14);
    let (_, child) = parent_and_child(&fx);
    let mut c = container(&child);
    c.authority = c.blocks.remove(0);
    let tok = reencode(&c);
    let d = fx.decide(Some(&tok), &read_v1(), t0());
    assert_denied(&d, Reason::BadSignature);
}

#[test]
fn a_block_spliced_from_another_token_is_bad_signature() {
    let fx = Fixture::new(15);
    let (parent, child) = parent_and_child(&fx);
    // Another token from the same issuer, with its own attenuation.
    let other_parent = fx.issue(
        &Grant::api_key(id("ws_1"), None, &ops("read,write,delete")),
        1500,
    );
    let other_child = attenuate(
        &other_parent,
        &Restriction {
            resource: Some(view("v_1")),
            ..Restriction::default()
        },
        1501,
    );
    let write = req(Operation::Write, view("v_1"));
    assert_allowed(&fx.decide(Some(&other_child), &write, t0()));

    let a = container(&child);
    let b = container(&other_child);

    // Our authority, their (weaker-looking) block, either proof.
    for proof in [a.proof.clone(), b.proof.clone()] {
        let mut c = a.clone();
        c.blocks = b.blocks.clone();
        c.proof = proof;
        let tok = reencode(&c);
        assert_denied(&fx.decide(Some(&tok), &write, t0()), Reason::BadSignature);
    }
    // Their authority (wider), our block and proof.
    let mut c = a.clone();
    c.authority = b.authority.clone();
    let tok = reencode(&c);
    assert_denied(&fx.decide(Some(&tok), &write, t0()), Reason::BadSignature);
    let d = fx.decide(Some(&tok), &req(Operation::Delete, view("v_2")), t0());
    assert_denied(&d, Reason::BadSignature);

    // Their block appended after ours, as a third block.
    let mut c = a.clone();
    c.blocks.push(b.blocks[0].clone());
    c.proof = b.proof.clone();
    let tok = reencode(&c);
    assert_denied(
        &fx.decide(Some(&tok), &read_v1(), t0()),
        Reason::BadSignature,
    );

    // Sanity: the parents are untouched.
    assert_allowed(&fx.decide(Some(&parent), &write, t0()));
}

#[test]
fn reordered_blocks_are_bad_signature() {
    let fx = Fixture::new(16);
    let (_, child) = parent_and_child(&fx);
    let grandchild = attenuate(
        &child,
        &Restriction {
            resource: Some(view("v_1")),
            ..Restriction::default()
        },
        1600,
    );
    let mut c = container(&grandchild);
    c.blocks.swap(0, 1);
    let tok = reencode(&c);
    assert_denied(
        &fx.decide(Some(&tok), &read_v1(), t0()),
        Reason::BadSignature,
    );
}

#[test]
fn a_duplicated_block_is_bad_signature() {
    let fx = Fixture::new(18);
    let (_, child) = parent_and_child(&fx);
    let mut c = container(&child);
    let copy = c.blocks[0].clone();
    c.blocks.push(copy);
    let tok = reencode(&c);
    assert_denied(
        &fx.decide(Some(&tok), &read_v1(), t0()),
        Reason::BadSignature,
    );
}

// ------------------------------------------------------- truncation, junk

#[test]
fn every_truncation_of_the_text_is_refused() {
    let fx = Fixture::new(17);
    let (_, child) = parent_and_child(&fx);
    assert_allowed(&fx.decide(Some(&child), &read_v1(), t0()));
    for len in 0..child.len() {
        let tok = &child[..len];
        let d = fx.decide(Some(tok), &read_v1(), t0());
        assert!(!d.allowed, "length {len}");
        assert!(
            matches!(d.reason, Some(Reason::Malformed | Reason::BadSignature)),
            "length {len}: {:?}",
            d.reason
        );
    }
}

#[test]
fn every_truncation_of_the_bytes_is_refused() {
    let fx = Fixture::new(18);
    let (_, child) = parent_and_child(&fx);
    let bytes = bytes_of(&child);
    for len in 0..bytes.len() {
        let tok = encode(&bytes[..len]);
        let d = fx.decide(Some(&tok), &read_v1(), t0());
        assert!(!d.allowed, "length {len}");
        assert!(
            matches!(d.reason, Some(Reason::Malformed | Reason::BadSignature)),
            "length {len}: {:?}",
            d.reason
        );
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let fx = Fixture::new(19);
    let (_, child) = parent_and_child(&fx);
    let mut bytes = bytes_of(&child);
    bytes.extend_from_slice(&[0xff, 0xff, 0xff]);
    let d = fx.decide(Some(&encode(&bytes)), &read_v1(), t0());
    assert!(!d.allowed);
    assert_eq!(d.reason, Some(Reason::Malformed));
}

#[test]
fn junk_is_malformed() {
    let fx = Fixture::new(20);
    let long_junk = "x".repeat(500);
    let junk: Vec<&str> = vec![
        "",
        " ",
        "\n",
        "tsr_",
        "tsr_=",
        "tsr_!!!!",
        "tsr_AAAA",
        "tsr_AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "tsr_A",
        "not a token",
        "Bearer tsr_AAAA",
        "tsr_ééééé",
        "tsr_+/+/",
        "tsr_\0\0\0\0",
        "tsr_tsr_AAAA",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        &long_junk,
    ];
    for j in junk {
        let d = fx.decide(Some(j), &read_v1(), t0());
        assert_denied(&d, Reason::Malformed);
        assert!(matches!(
            token::decode(j, DEFAULT_MAX_TOKEN_BYTES),
            Err(TokenError::Malformed(_))
        ));
    }
    // Random bytes in the right text form.
    let mut rng = StdRng::seed_from_u64(2000);
    for len in [1usize, 16, 64, 200, 1000] {
        let mut bytes = vec![0u8; len];
        rand::RngCore::fill_bytes(&mut rng, &mut bytes);
        assert_denied(
            &fx.decide(Some(&encode(&bytes)), &read_v1(), t0()),
            Reason::Malformed,
        );
    }
}

#[test]
fn oversize_tokens_are_malformed_before_any_parsing() {
    let mut fx = Fixture::new(21);
    let huge = format!("tsr_{}", "A".repeat(DEFAULT_MAX_TOKEN_BYTES + 1));
    assert_denied(&fx.decide(Some(&huge), &read_v1(), t0()), Reason::Malformed);
    assert_eq!(
        token::decode(&huge, DEFAULT_MAX_TOKEN_BYTES).unwrap_err(),
        TokenError::Malformed("token is larger than the limit")
    );
    let enormous = "A".repeat(4 << 20);
    assert_denied(
        &fx.decide(Some(&enormous), &read_v1(), t0()),
        Reason::Malformed,
    );

    // A real token just over and exactly at the configured limit.
    let (_, child) = parent_and_child(&fx);
    fx.max_token_bytes = child.len() - 1;
    assert_denied(
        &fx.decide(Some(&child), &read_v1(), t0()),
        Reason::Malformed,
    );
    fx.max_token_bytes = child.len();
    assert_allowed(&fx.decide(Some(&child), &read_v1(), t0()));

    // A validly signed token made huge by an attenuation block of filler.
    fx.max_token_bytes = DEFAULT_MAX_TOKEN_BYTES;
    let mut big = child.clone();
    let mut seed = 2100;
    let code = format!("filler(\"{}\");", "z".repeat(2000));
    while big.len() <= DEFAULT_MAX_TOKEN_BYTES {
        big = append_code(&big, &code, seed);
        seed += 1;
    }
    assert_denied(&fx.decide(Some(&big), &read_v1(), t0()), Reason::Malformed);
}
