//! Token costs, with seeded randomness and a fixed `now`: issue a guest
//! token (one view, two operations, an expiry), attenuate it (an operation
//! subset and an earlier expiry), and inspect it (decode + describe).
//!
//! Before measuring, prints the character length of a guest share link
//! `https://share.example.com/s/<token>` as issued and after one
//! attenuation, with the plain (`tsr_`) and the compact (`tsz_`, what links
//! carry) text forms; the targets are at most 400 and 700 characters. Also
//! measures making a link (deflate) and reading one (inflate).
//!
//! Run with `cargo bench --bench tokens`.
// criterion's macros and this file's helpers need no docs of their own.
#![allow(missing_docs)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use biscuit_auth::format::schema;
use chrono::{DateTime, Utc};
use criterion::{criterion_group, Criterion};
use prost::Message;
use rand::rngs::StdRng;
use rand::SeedableRng;

use tessera::keys::PrivateKeyring;
use tessera::link::share_link;
use tessera::model::{Operation, Restriction};
use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use common::{guest_grant, guest_grant_on, now};

/// The base URL share links are printed on in the length report.
const SHARE_BASE: &str = "https://share.example.com";
/// The issue's target for a fresh guest share link.
const LINK_TARGET: usize = 400;
/// The issue's target after one attenuation.
const ATTENUATED_LINK_TARGET: usize = 700;

/// A restriction to `read` only, expiring 30 days from `now`.
fn read_only_sooner(now: DateTime<Utc>) -> Restriction {
    Restriction {
        operations: Some([Operation::Read].into()),
        expires_at: Some(now + chrono::Duration::days(30)),
        ..Restriction::default()
    }
}

fn print_share_link_lengths() {
    let now = now();
    let mut rng = StdRng::seed_from_u64(7);
    let ring = PrivateKeyring::generate_with_rng(&mut rng, now);
    let verdict = |len: usize, target: usize| if len <= target { "ok" } else { "OVER" };
    eprintln!("share link length ({SHARE_BASE}/s/<token>):");
    // Short ids, and 17-character ids like a workspace product's (Airtable's app…/viw…).
    for (workspace, view) in [("ws_1", "v_1"), ("appX8k2Lm9Qr3Tz1V", "viwR4t6Y8u0I2o4P6")] {
        let grant = guest_grant_on(workspace, view, now);
        let issued = token::issue_with_rng(&grant, &ring, now, &mut rng).expect("issue");
        let attenuated = token::attenuate_with_rng(
            issued.token.expose(),
            &read_only_sooner(now),
            now,
            DEFAULT_MAX_TOKEN_BYTES,
            &mut rng,
        )
        .expect("attenuate");
        eprintln!("  ids {workspace} / {view}:");
        for (name, text, target) in [
            (
                "guest, 1 view, 2 operations, expiry",
                issued.token.expose(),
                LINK_TARGET,
            ),
            (
                "after one attenuation (ops, expiry)",
                attenuated.expose(),
                ATTENUATED_LINK_TARGET,
            ),
        ] {
            let plain = format!("{SHARE_BASE}/s/{text}").len();
            let link = share_link(SHARE_BASE, text, DEFAULT_MAX_TOKEN_BYTES).expect("link");
            eprintln!(
                "    {name}: {:>4} chars (plain tsr_ form {plain:>4}), target <= {target}: {}",
                link.len(),
                verdict(link.len(), target),
            );
        }
        if workspace == "ws_1" {
            print_breakdown("issued", issued.token.expose());
            print_breakdown("attenuated", attenuated.expose());
        }
    }
}

/// Where a token's bytes go: each block's payload (and the symbols it
/// adds), its signature and next key, and the proof.
fn print_breakdown(name: &str, text: &str) {
    let bytes = token::decode_bytes(text, DEFAULT_MAX_TOKEN_BYTES).expect("bytes");
    let container = schema::Biscuit::decode(bytes.as_slice()).expect("protobuf");
    eprintln!("  {name}: {} bytes of biscuit", bytes.len());
    for (i, signed) in std::iter::once(&container.authority)
        .chain(&container.blocks)
        .enumerate()
    {
        let block = schema::Block::decode(signed.block.as_slice()).expect("block");
        eprintln!(
            "    block {i}: payload {:>3} B (new symbols {:?}), signature {} B, next key {} B",
            signed.block.len(),
            block.symbols,
            signed.signature.len(),
            signed.next_key.key.len(),
        );
    }
    eprintln!(
        "    proof (next secret key or final signature): {} B",
        container.proof.encoded_len()
    );
}

fn bench_tokens(c: &mut Criterion) {
    let now = now();
    let mut rng = StdRng::seed_from_u64(1);
    let ring = PrivateKeyring::generate_with_rng(&mut rng, now);
    let grant = guest_grant(now);
    let restriction = read_only_sooner(now);
    let parent = token::issue_with_rng(&grant, &ring, now, &mut rng)
        .expect("issue")
        .token;
    let child = token::attenuate_with_rng(
        parent.expose(),
        &restriction,
        now,
        DEFAULT_MAX_TOKEN_BYTES,
        &mut rng,
    )
    .expect("attenuate");

    let mut group = c.benchmark_group("tokens");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let mut issue_rng = StdRng::seed_from_u64(2);
    group.bench_function("issue/guest", |b| {
        b.iter(|| {
            token::issue_with_rng(black_box(&grant), &ring, now, &mut issue_rng).expect("issue")
        })
    });

    let mut attenuate_rng = StdRng::seed_from_u64(3);
    group.bench_function("attenuate/ops_and_expiry", |b| {
        b.iter(|| {
            token::attenuate_with_rng(
                black_box(parent.expose()),
                &restriction,
                now,
                DEFAULT_MAX_TOKEN_BYTES,
                &mut attenuate_rng,
            )
            .expect("attenuate")
        })
    });

    group.bench_function("share_link/make", |b| {
        b.iter(|| {
            share_link(
                SHARE_BASE,
                black_box(parent.expose()),
                DEFAULT_MAX_TOKEN_BYTES,
            )
        })
    });
    let link = share_link(SHARE_BASE, parent.expose(), DEFAULT_MAX_TOKEN_BYTES).expect("link");
    let compact = link.rsplit_once("/s/").expect("a link").1.to_owned();
    group.bench_function("share_link/read_compact", |b| {
        b.iter(|| token::decode_bytes(black_box(&compact), DEFAULT_MAX_TOKEN_BYTES))
    });

    for (name, text) in [("inspect/1_block", &parent), ("inspect/2_blocks", &child)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let unverified = token::decode(black_box(text.expose()), DEFAULT_MAX_TOKEN_BYTES)
                    .expect("decode");
                token::describe(&unverified).expect("describe")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_tokens);

fn main() {
    print_share_link_lengths();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
