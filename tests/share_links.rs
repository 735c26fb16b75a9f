//! Share links and the compact token form (`tsz_`): the same biscuit,
//! deflated with a fixed dictionary, so a guest link fits where people paste
//! links. The compact form must decide exactly like the plain one, refuse
//! tampering for the same reasons, and never inflate past the token limit.
//!
//! Also the recipe of `src/token/compact.dict`: the test checks the committed
//! file is what the recipe makes (`TESSERA_WRITE_DICTIONARY=1` wrote it once;
//! the file is part of the format and must not change afterwards).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use base64::Engine;
use biscuit_auth::format::schema;
use chrono::{DateTime, Utc};
use prost::Message;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tessera::authorize::Reason;
use tessera::keys::PrivateKeyring;
use tessera::link::share_link;
use tessera::model::{Grant, Operation, Resource, Restriction};
use tessera::token::{self, COMPACT_PREFIX, DEFAULT_MAX_TOKEN_BYTES, TOKEN_PREFIX};

use common::*;

const DICTIONARY_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/token/compact.dict");

/// The base the size targets are measured on (as in `benches/tokens.rs`).
const BASE: &str = "https://share.example.com";

/// The recipe of the compact form's dictionary: tokens of every kind Tessera
/// issues, from a fixed seed and clock, with placeholder ids (none of the ids
/// tests or benches use); the most common shape, a guest token and its
/// attenuation, last, nearest to what deflate compresses.
fn dictionary_recipe() -> Vec<u8> {
    let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let later = Some(now + chrono::Duration::days(30));
    let mut rng = StdRng::seed_from_u64(0x7e55_e7a0);
    let ring = PrivateKeyring::generate_with_rng(&mut rng, now);
    let (ws, t, v) = (id("ws_example"), id("t_example"), id("v_example"));
    let every = ops("read,write,create,delete,export,manage,share");
    let grants = [
        Grant::admin().expires_at(later),
        Grant::api_key(ws.clone(), None, &every).expires_at(later),
        Grant::api_key(ws.clone(), Some(t.clone()), &ops("read")),
        Grant::guest(ws, v.clone(), &ops("read,write,create,delete,export")).expires_at(later),
    ];
    let mut dictionary = Vec::new();
    for grant in &grants {
        let issued = token::issue_with_rng(grant, &ring, now, &mut rng).unwrap();
        dictionary.extend(bytes_of(issued.token.expose()));
    }
    let labelled = grants[3].clone().label(Some("client".into()));
    let guest = token::issue_with_rng(&labelled, &ring, now, &mut rng).unwrap();
    let attenuated = token::attenuate_with_rng(
        guest.token.expose(),
        &Restriction {
            operations: Some(ops("read,export")),
            resource: Some(Resource::view(v)),
            expires_at: Some(now + chrono::Duration::days(7)),
            label: Some("contractor".into()),
        },
        now,
        DEFAULT_MAX_TOKEN_BYTES,
        &mut rng,
    )
    .unwrap();
    dictionary.extend(bytes_of(attenuated.expose()));
    dictionary
}

#[test]
fn the_committed_dictionary_is_what_the_recipe_makes() {
    let made = dictionary_recipe();
    if std::env::var_os("TESSERA_WRITE_DICTIONARY").is_some() {
        std::fs::File::create(DICTIONARY_FILE)
            .and_then(|mut f| f.write_all(&made))
            .unwrap();
    }
    let committed = std::fs::read(DICTIONARY_FILE).unwrap();
    assert!(committed.len() > 1000, "{} bytes", committed.len());
    assert!(
        committed == made,
        "src/token/compact.dict is no longer what the recipe makes (did biscuit-auth's \
         serialization change?). Links still inflate with the committed file; do not \
         overwrite it: a new dictionary needs a new prefix."
    );
}

/// A guest token on one view with two operations and an expiry (the issue's
/// share-link case), and a copy attenuated to `read` with an earlier expiry.
fn guest_and_copy(fx: &Fixture, ws: &str, view: &str) -> (String, String) {
    let grant = Grant::guest(id(ws), id(view), &ops("read,export"))
        .expires_at(Some(t0() + chrono::Duration::days(90)));
    let guest = fx.issue(&grant, 11);
    let copy = attenuate(
        &guest,
        &Restriction {
            operations: Some(ops("read")),
            expires_at: Some(t0() + chrono::Duration::days(30)),
            ..Restriction::default()
        },
        12,
    );
    (guest, copy)
}

fn link_token(link: &str) -> &str {
    link.rsplit_once("/s/").unwrap().1
}

#[test]
fn guest_links_meet_the_size_targets_with_short_and_long_ids() {
    let fx = Fixture::new(1);
    // The test registry's ids, and ids as long as a workspace product's
    // (17 characters, like Airtable's app…/viw…).
    for (ws, view) in [("ws_1", "v_1"), ("appX8k2Lm9Qr3Tz1V", "viwR4t6Y8u0I2o4P6")] {
        let (guest, copy) = guest_and_copy(&fx, ws, view);
        let link = share_link(BASE, &guest, DEFAULT_MAX_TOKEN_BYTES).unwrap();
        let copy_link = share_link(BASE, &copy, DEFAULT_MAX_TOKEN_BYTES).unwrap();
        assert!(link.len() <= 400, "{ws}/{view}: link {} chars", link.len());
        assert!(
            copy_link.len() <= 700,
            "{ws}/{view}: attenuated link {} chars",
            copy_link.len()
        );
        // Without the compact form the same links were over both targets.
        assert!(format!("{BASE}/s/{guest}").len() > 400);
        assert!(link_token(&link).starts_with(COMPACT_PREFIX));
        assert!(link_token(&copy_link).starts_with(COMPACT_PREFIX));
    }
}

#[test]
fn the_compact_form_is_the_same_token_and_decides_the_same() {
    let fx = Fixture::new(2);
    let (guest, copy) = guest_and_copy(&fx, "ws_1", "v_1");
    for plain in [guest, copy] {
        let link = share_link(BASE, &plain, DEFAULT_MAX_TOKEN_BYTES).unwrap();
        let compact = link_token(&link);
        assert_eq!(bytes_of(compact), bytes_of(&plain));
        assert_eq!(
            fx.verify(compact).revocation_ids(),
            fx.verify(&plain).revocation_ids()
        );
        for resource in all_resources() {
            for op in Operation::ALL {
                for now in [t0(), at(60 * 24 * 31), at(60 * 24 * 91)] {
                    let request = req(op, resource.clone());
                    let a = fx.decide(Some(&plain), &request, now);
                    let b = fx.decide(Some(compact), &request, now);
                    assert_eq!(
                        (a.allowed, a.reason),
                        (b.allowed, b.reason),
                        "{op:?} on {resource:?}"
                    );
                }
            }
        }
        // A plain token's link is compact; a compact link stays compact and
        // is its own shortest form.
        assert_eq!(
            share_link(BASE, compact, DEFAULT_MAX_TOKEN_BYTES).unwrap(),
            link
        );
    }
}

#[test]
fn attenuating_a_compact_token_keeps_it_compact_and_narrower() {
    let fx = Fixture::new(3);
    let (guest, _) = guest_and_copy(&fx, "ws_1", "v_1");
    let compact =
        link_token(&share_link(BASE, &guest, DEFAULT_MAX_TOKEN_BYTES).unwrap()).to_owned();
    let narrowed = attenuate(
        &compact,
        &Restriction {
            operations: Some(ops("read")),
            ..Restriction::default()
        },
        4,
    );
    assert!(narrowed.starts_with(COMPACT_PREFIX), "{narrowed}");
    let read = req(Operation::Read, view("v_1"));
    let export = req(Operation::Export, view("v_1"));
    assert!(fx.decide(Some(&narrowed), &read, t0()).allowed);
    assert_eq!(
        fx.decide(Some(&narrowed), &export, t0()).reason,
        Some(Reason::CheckFailed)
    );
    assert!(fx.decide(Some(&compact), &export, t0()).allowed);
}

fn compact_of_bytes(bytes: &[u8]) -> String {
    let plain = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let compact = token::shortest_text(&plain, usize::MAX).unwrap();
    assert!(compact.expose().starts_with(COMPACT_PREFIX));
    compact.expose().to_owned()
}

fn compact_of_raw_deflate(data: &[u8]) -> String {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    format!(
        "{COMPACT_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(e.finish().unwrap())
    )
}

#[test]
fn tampered_compact_tokens_fail_for_the_right_reason() {
    let fx = Fixture::new(5);
    let (guest, _) = guest_and_copy(&fx, "ws_1", "v_1");
    let read = req(Operation::Read, view("v_1"));
    let reason = |text: &str| fx.decide(Some(text), &read, t0()).reason;

    // A byte of the signed authority block changed, then compacted again:
    // the signature no longer verifies (or the protobuf no longer parses).
    let bytes = bytes_of(&guest);
    let payload = schema::Biscuit::decode(bytes.as_slice())
        .unwrap()
        .authority
        .block;
    let start = bytes
        .windows(payload.len())
        .position(|w| w == payload.as_slice())
        .unwrap();
    let mut bad_signature = 0;
    for i in start..start + payload.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x20;
        match reason(&compact_of_bytes(&flipped)) {
            Some(Reason::BadSignature) => bad_signature += 1,
            Some(Reason::Malformed | Reason::UnknownKey) => {}
            other => panic!("byte {i}: {other:?}"),
        }
    }
    assert!(bad_signature > payload.len() / 2, "{bad_signature}");

    // Damage to the compressed stream itself: never allowed, never a panic.
    let compact =
        link_token(&share_link(BASE, &guest, DEFAULT_MAX_TOKEN_BYTES).unwrap()).to_owned();
    let body = compact.strip_prefix(COMPACT_PREFIX).unwrap();
    assert_eq!(
        reason(&format!("{COMPACT_PREFIX}{}", &body[..body.len() - 8])),
        Some(Reason::Malformed),
        "truncated"
    );
    assert_eq!(
        reason(&format!("{compact}AAAA")),
        Some(Reason::Malformed),
        "trailing bytes"
    );
    assert_eq!(reason("tsz_"), Some(Reason::Malformed));
    assert_eq!(reason("tsz_!!!"), Some(Reason::Malformed));
    assert_eq!(reason("tsz_AAAAAAAA"), Some(Reason::Malformed));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    let original_ids = fx.verify(&guest).revocation_ids();
    for i in 0..raw.len() {
        let mut flipped = raw.clone();
        flipped[i] ^= 0x01;
        let text = format!(
            "{COMPACT_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&flipped)
        );
        let d = fx.decide(Some(&text), &read, t0());
        if d.allowed {
            // Neither deflate nor protobuf is canonical (a distance into an
            // identical stretch of the dictionary, an over-long varint for
            // the unsigned root key id hint): what is allowed must be the
            // very same signed token.
            assert_eq!(
                fx.verify(&text).revocation_ids(),
                original_ids,
                "compressed byte {i} was allowed as a different token"
            );
            continue;
        }
        assert!(
            matches!(
                d.reason,
                Some(Reason::Malformed | Reason::BadSignature | Reason::UnknownKey)
            ),
            "compressed byte {i}: {:?}",
            d.reason
        );
    }
}

#[test]
fn a_deflate_bomb_is_malformed_at_the_plain_forms_limit() {
    let fx = Fixture::new(6);
    let read = req(Operation::Read, view("v_1"));
    // 1 MiB of zeros is a few hundred characters of compact text.
    let bomb = compact_of_raw_deflate(&vec![0u8; 1 << 20]);
    assert!(bomb.len() < 2000, "{}", bomb.len());
    assert_eq!(
        token::decode_bytes(&bomb, DEFAULT_MAX_TOKEN_BYTES).unwrap_err(),
        token::TokenError::Malformed("token is larger than the limit")
    );
    assert_eq!(
        fx.decide(Some(&bomb), &read, t0()).reason,
        Some(Reason::Malformed)
    );
    // The limit is the plain form's: a token whose plain text fits is read
    // in compact form too, one that does not fit is refused in both forms.
    let limit = 1000;
    let fits = (limit - TOKEN_PREFIX.len()) / 4 * 3;
    for (len, ok) in [(fits, true), (fits + 1, false)] {
        let compact = compact_of_raw_deflate(&vec![7u8; len]);
        let plain = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vec![7u8; len])
        );
        assert_eq!(token::decode_bytes(&compact, limit).is_ok(), ok, "{len}");
        assert_eq!(token::decode_bytes(&plain, limit).is_ok(), ok, "{len}");
    }
}
