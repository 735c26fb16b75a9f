//! Properties of attenuation over the fixed test registry, for random
//! grants, random view settings, random attenuation chains and random
//! decision times:
//!
//! - an attenuated token allows nothing its parent does not (for every
//!   operation on every resource);
//! - `right(…)` facts (and the rules and claims around them) in an appended
//!   block never turn a denial into an allow.
//!
//! The parent is verified and asked only where the child allows: Ed25519 in
//! a debug build of the crate (dependencies are optimised, see Cargo.toml)
//! costs well under a millisecond per block.
//! Failing seeds are kept in `tests/attenuation_props.proptest-regressions`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use biscuit_auth::BlockBuilder;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::FileFailurePersistence;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tessera::authorize::{authorize, Context, Reason};
use tessera::model::{Grant, Operation, Registry, Resource, Restriction};
use tessera::token::{self, VerifiedToken, DEFAULT_MAX_TOKEN_BYTES};

use common::*;

/// Cases for the subset property: each verifies a 2- to 4-block token and
/// runs ~50 decisions.
const CASES: u32 = 2000;

/// Cases for the appended-facts property.
const FACT_CASES: u32 = 1000;

const VIEWS: [&str; 3] = ["v_1", "v_2", "v_3"];
const TABLES: [&str; 2] = ["t_1", "t_2"];
const WORKSPACES: [&str; 2] = ["ws_1", "ws_2"];

fn op_set() -> impl Strategy<Value = BTreeSet<Operation>> {
    subsequence(Operation::ALL.to_vec(), 1..=Operation::ALL.len())
        .prop_map(|v| v.into_iter().collect())
}

/// Minutes after `t0`, sometimes: an expiry passed at `now` denies every
/// pair, so expiries are kept rare enough for allowed children to be common.
fn expiry() -> impl Strategy<Value = Option<i64>> {
    prop::option::weighted(0.25, 1i64..=600)
}

#[derive(Debug, Clone)]
enum GrantSpec {
    Guest {
        ws: &'static str,
        view: &'static str,
    },
    TableKey {
        ws: &'static str,
        table: &'static str,
    },
    WorkspaceKey {
        ws: &'static str,
    },
}

fn grant() -> impl Strategy<Value = Grant> {
    let spec = prop_oneof![
        (select(&WORKSPACES[..]), select(&VIEWS[..]))
            .prop_map(|(ws, view)| GrantSpec::Guest { ws, view }),
        (select(&WORKSPACES[..]), select(&TABLES[..]))
            .prop_map(|(ws, table)| GrantSpec::TableKey { ws, table }),
        select(&WORKSPACES[..]).prop_map(|ws| GrantSpec::WorkspaceKey { ws }),
    ];
    (spec, op_set(), expiry()).prop_map(|(spec, ops, exp)| {
        let g = match spec {
            GrantSpec::Guest { ws, view } => Grant::guest(id(ws), id(view), &ops),
            GrantSpec::TableKey { ws, table } => Grant::api_key(id(ws), Some(id(table)), &ops),
            GrantSpec::WorkspaceKey { ws } => Grant::api_key(id(ws), None, &ops),
        };
        g.expires_at(exp.map(at))
    })
}

fn restricted_resource() -> impl Strategy<Value = Option<Resource>> {
    prop::option::of(prop_oneof![
        select(&VIEWS[..]).prop_map(view),
        select(&TABLES[..]).prop_map(table),
    ])
}

fn restriction() -> impl Strategy<Value = Restriction> {
    (prop::option::of(op_set()), restricted_resource(), expiry()).prop_map(
        |(operations, resource, exp)| Restriction {
            operations,
            resource,
            expires_at: exp.map(at),
            label: None,
        },
    )
}

/// 1 to 3 restrictions; single blocks are half the cases (each block adds a
/// signature to verify).
fn chain() -> impl Strategy<Value = Vec<Restriction>> {
    prop_oneof![
        2 => prop::collection::vec(restriction(), 1),
        1 => prop::collection::vec(restriction(), 2),
        1 => prop::collection::vec(restriction(), 3),
    ]
}

/// Random settings for the three views (editable, addable, exportable,
/// public, locked each).
fn settings() -> impl Strategy<Value = [[bool; 5]; 3]> {
    any::<[[bool; 5]; 3]>()
}

fn registry_with(settings: &[[bool; 5]; 3]) -> Registry {
    let mut reg = registry();
    for (v, values) in VIEWS.iter().zip(settings) {
        let entry = reg.views.get_mut(&id(v)).unwrap();
        for (name, value) in tessera::model::ViewSettings::NAMES.iter().zip(values) {
            entry.settings.set(name, *value).unwrap();
        }
    }
    reg
}

/// Every (operation, resource) pair over the registry, plus an unknown view.
fn pairs() -> Vec<(Operation, Resource)> {
    let mut resources = all_resources();
    resources.push(view("v_9"));
    resources
        .into_iter()
        .flat_map(|r| Operation::ALL.map(|op| (op, r.clone())))
        .collect()
}

fn ctx<'a>(fx: &'a Fixture, registry: &'a Registry) -> Context<'a> {
    Context {
        registry,
        ..fx.ctx()
    }
}

/// A verified token computed on first use: verifying costs ~10 ms per
/// block in a debug build, and most cases never need the parent's.
struct Lazy<'a> {
    fx: &'a Fixture,
    text: &'a str,
    verified: Option<VerifiedToken>,
}

impl<'a> Lazy<'a> {
    fn new(fx: &'a Fixture, text: &'a str) -> Self {
        Lazy {
            fx,
            text,
            verified: None,
        }
    }

    fn get(&mut self) -> &VerifiedToken {
        self.verified
            .get_or_insert_with(|| self.fx.verify(self.text))
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Integration tests have no lib.rs beside them: keep failing seeds
        // next to this file (`attenuation_props.proptest-regressions`).
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(CASES))]

    /// For every pair the attenuated token allows, the parent allows it too.
    #[test]
    fn an_attenuated_token_allows_nothing_its_parent_does_not(
        grant in grant(),
        chain in chain(),
        settings in settings(),
        now_minutes in 0i64..=700,
        seed in any::<u64>(),
    ) {
        let fx = Fixture::new(1);
        let registry = registry_with(&settings);
        let ctx = ctx(&fx, &registry);
        let now: DateTime<Utc> = at(now_minutes);

        let parent = fx.issue(&grant, seed);
        let mut child = parent.clone();
        for (i, r) in chain.iter().enumerate() {
            child = attenuate(&child, r, seed.wrapping_add(1 + i as u64));
        }
        let child_v = fx.verify(&child);
        prop_assert_eq!(child_v.revocation_ids().len(), 1 + chain.len());
        let mut parent_v = Lazy::new(&fx, &parent);

        for (op, resource) in pairs() {
            let request = req(op, resource.clone());
            let c = authorize(&ctx, Some(&child_v), &request, now);
            prop_assert_eq!(c.allowed, c.reason.is_none());
            if c.reason == Some(Reason::Expired) {
                // An expiry check reads only `time`: the token is dead for
                // every request, so no later pair can be allowed.
                break;
            }
            if c.allowed {
                let p = authorize(&ctx, Some(parent_v.get()), &request, now);
                prop_assert!(
                    p.allowed,
                    "child allowed {} on {} but parent denied with {:?}", op, resource, p.reason
                );
            }
        }
    }

}

proptest! {
    #![proptest_config(config(FACT_CASES))]

    /// `right(…)` facts, workspace and kind claims and a rule deriving every
    /// right, in an appended block: whatever the block allows, the token
    /// without it allows too, with the same decision.
    #[test]
    fn right_facts_in_an_appended_block_never_turn_a_denial_into_an_allow(
        grant in grant(),
        rights in prop::collection::vec(
            (
                select(&["workspace", "table", "view", "admin", ""][..]),
                select(&["ws_1", "ws_2", "t_1", "t_2", "v_1", "v_2", "v_3", "v_9", "*"][..]),
                select(&["read", "write", "create", "delete", "export", "manage", "share", "all"][..]),
            ),
            1..=8,
        ),
        claim_workspace in prop::option::of(select(&WORKSPACES[..])),
        claim_admin in any::<bool>(),
        catch_all_rule in any::<bool>(),
        settings in settings(),
        now_minutes in 0i64..=700,
        seed in any::<u64>(),
    ) {
        let fx = Fixture::new(2);
        let registry = registry_with(&settings);
        let ctx = ctx(&fx, &registry);
        let now = at(now_minutes);

        let mut code: String = rights
            .iter()
            .map(|(k, i, o)| format!("right({k:?}, {i:?}, {o:?});\n"))
            .collect();
        if let Some(ws) = claim_workspace {
            code.push_str(&format!("workspace({ws:?});\n"));
        }
        if claim_admin {
            code.push_str("kind(\"admin\");\n");
        }
        if catch_all_rule {
            code.push_str("right($k, $i, $o) <- resource($k, $i), operation($o);\n");
        }
        let block = BlockBuilder::new().code(&code).unwrap();

        let parent = fx.issue(&grant, seed);
        let unverified = token::decode(&parent, DEFAULT_MAX_TOKEN_BYTES).unwrap();
        let keypair = biscuit_auth::KeyPair::new_with_rng(
            biscuit_auth::builder::Algorithm::Ed25519,
            &mut StdRng::seed_from_u64(seed ^ 0x5eed),
        );
        let widened = encode(&unverified.append_with_keypair(&keypair, block).unwrap().to_vec().unwrap());

        let widened_v = fx.verify(&widened);
        let mut parent_v = Lazy::new(&fx, &parent);
        for (op, resource) in pairs() {
            let request = req(op, resource.clone());
            let w = authorize(&ctx, Some(&widened_v), &request, now);
            if w.reason == Some(Reason::Expired) {
                // Dead for every request (see above).
                break;
            }
            if w.allowed {
                let p = authorize(&ctx, Some(parent_v.get()), &request, now);
                prop_assert!(
                    p.allowed,
                    "{} on {}: the block turned {:?} into allow:\n{}", op, resource, p.reason, code
                );
            }
        }
    }
}
