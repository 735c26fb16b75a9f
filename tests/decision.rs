//! The decision core through the public library API: issue, attenuate,
//! decode, verify, decide. Every denial asserts its exact reason; every
//! positive case has a negative twin. Time is a parameter (`now`), never
//! the clock; randomness comes from seeded RNGs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use biscuit_auth::builder::Algorithm;
use biscuit_auth::{BlockBuilder, KeyPair, UnverifiedBiscuit};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tessera::authorize::{Decision, Reason, RunLimits};
use tessera::model::{Grant, Operation, Restriction, RevocationSet, TokenKind};
use tessera::token;

use common::*;

use Operation::{Create, Delete, Export, Manage, Read, Share, Write};

#[track_caller]
fn assert_allowed(d: &Decision) {
    assert!(d.allowed, "expected allowed, got {:?}", d.reason);
    assert_eq!(d.reason, None);
}

#[track_caller]
fn assert_denied(d: &Decision, reason: Reason) {
    assert!(!d.allowed, "expected denied with {reason:?}, got allowed");
    assert_eq!(d.reason, Some(reason));
}

fn guest(view: &str, list: &str) -> Grant {
    Grant::guest(id("ws_1"), id(view), &ops(list))
}

fn table_key(table: &str, list: &str) -> Grant {
    Grant::api_key(id("ws_1"), Some(id(table)), &ops(list))
}

fn workspace_key(ws: &str, list: &str) -> Grant {
    Grant::api_key(id(ws), None, &ops(list))
}

const ALL_OPS: &str = "read,write,create,delete,export,manage,share";

// ---------------------------------------------------------------- scopes

#[test]
fn guest_reads_its_own_view_and_nothing_else() {
    let fx = Fixture::new(1);
    let tok = fx.issue(&guest("v_1", "read"), 10);
    let now = t0();

    assert_allowed(&fx.decide(Some(&tok), &req(Read, view("v_1")), now));

    // Its own view, an operation it was not given.
    assert_denied(
        &fx.decide(Some(&tok), &req(Write, view("v_1")), now),
        Reason::NoRight,
    );
    // Another view of the same table.
    assert_denied(
        &fx.decide(Some(&tok), &req(Read, view("v_2")), now),
        Reason::NoRight,
    );
    // The table and workspace that contain its view.
    assert_denied(
        &fx.decide(Some(&tok), &req(Read, table("t_1")), now),
        Reason::NoRight,
    );
    assert_denied(
        &fx.decide(Some(&tok), &req(Read, workspace("ws_1")), now),
        Reason::NoRight,
    );
    // A view in another workspace.
    assert_denied(
        &fx.decide(Some(&tok), &req(Read, view("v_3")), now),
        Reason::NoRight,
    );
}

#[test]
fn decision_carries_the_verified_claims() {
    let fx = Fixture::new(1);
    let tok = fx.issue(
        &guest("v_1", "read,export").label(Some("auditor".into())),
        10,
    );
    let d = fx.decide(Some(&tok), &req(Read, view("v_1")), t0());
    assert_allowed(&d);
    let claims = d.claims.expect("a verified token has claims");
    assert_eq!(claims.kind.as_deref(), Some("guest"));
    assert_eq!(claims.workspace.as_deref(), Some("ws_1"));
    assert_eq!(claims.rights.len(), 2);
    assert_eq!(claims.labels, vec!["auditor".to_string()]);
    // Denials keep the claims too (for logs), and anonymous decisions have none.
    let denied = fx.decide(Some(&tok), &req(Read, view("v_2")), t0());
    assert!(denied.claims.is_some());
    assert!(fx
        .decide(None, &req(Read, view("v_1")), t0())
        .claims
        .is_none());
}

#[test]
fn a_right_outside_the_tokens_workspace_gives_nothing() {
    let fx = Fixture::new(1);
    let now = t0();
    // Bound to ws_1, but the right names v_3, which lives in ws_2.
    let tok = fx.issue(&Grant::guest(id("ws_1"), id("v_3"), &ops("read")), 11);
    assert_denied(
        &fx.decide(Some(&tok), &req(Read, view("v_3")), now),
        Reason::NoRight,
    );
    // Twin: the same grant bound to the right workspace works.
    let ok = fx.issue(&Grant::guest(id("ws_2"), id("v_3"), &ops("read")), 12);
    assert_allowed(&fx.decide(Some(&ok), &req(Read, view("v_3")), now));

    // A table key for t_2 bound to ws_1.
    let key = fx.issue(
        &Grant::api_key(id("ws_1"), Some(id("t_2")), &ops("read")),
        13,
    );
    assert_denied(
        &fx.decide(Some(&key), &req(Read, table("t_2")), now),
        Reason::NoRight,
    );
    assert_denied(
        &fx.decide(Some(&key), &req(Read, view("v_3")), now),
        Reason::NoRight,
    );
}

#[test]
fn table_key_covers_the_views_of_its_table() {
    let fx = Fixture::new(2);
    let tok = fx.issue(&table_key("t_1", "read,write"), 20);
    let now = t0();
    for r in [table("t_1"), view("v_1"), view("v_2")] {
        assert_allowed(&fx.decide(Some(&tok), &req(Read, r.clone()), now));
        assert_allowed(&fx.decide(Some(&tok), &req(Write, r), now));
    }
    // Not its workspace, not another table or its views.
    for r in [
        workspace("ws_1"),
        workspace("ws_2"),
        table("t_2"),
        view("v_3"),
    ] {
        assert_denied(&fx.decide(Some(&tok), &req(Read, r), now), Reason::NoRight);
    }
    // Not an operation it was not given.
    assert_denied(
        &fx.decide(Some(&tok), &req(Delete, view("v_1")), now),
        Reason::NoRight,
    );
}

#[test]
fn workspace_key_covers_its_tables_and_views() {
    let fx = Fixture::new(3);
    let tok = fx.issue(&workspace_key("ws_1", "read,delete"), 30);
    let now = t0();
    for r in [workspace("ws_1"), table("t_1"), view("v_1"), view("v_2")] {
        assert_allowed(&fx.decide(Some(&tok), &req(Read, r.clone()), now));
        assert_allowed(&fx.decide(Some(&tok), &req(Delete, r), now));
    }
    for r in [workspace("ws_2"), table("t_2"), view("v_3")] {
        assert_denied(&fx.decide(Some(&tok), &req(Read, r), now), Reason::NoRight);
    }
}

#[test]
fn read_only_key_cannot_write() {
    let fx = Fixture::new(4);
    let now = t0();
    for grant in [workspace_key("ws_1", "read"), table_key("t_1", "read")] {
        let tok = fx.issue(&grant, 40);
        assert_allowed(&fx.decide(Some(&tok), &req(Read, view("v_1")), now));
        assert_allowed(&fx.decide(Some(&tok), &req(Read, table("t_1")), now));
        for op in [Write, Create, Delete, Export, Manage, Share] {
            assert_denied(
                &fx.decide(Some(&tok), &req(op, view("v_1")), now),
                Reason::NoRight,
            );
            assert_denied(
                &fx.decide(Some(&tok), &req(op, table("t_1")), now),
                Reason::NoRight,
            );
        }
    }
}

#[test]
fn admin_token_has_no_data_rights() {
    let fx = Fixture::new(5);
    let tok = fx.issue(&Grant::admin(), 50);
    for r in all_resources() {
        assert_denied(&fx.decide(Some(&tok), &req(Read, r), t0()), Reason::NoRight);
    }
}

// ---------------------------------------------------------- view settings

/// For each setting: (operation it governs, setting name, value that forbids).
const SETTING_RULES: [(Operation, &str, bool); 4] = [
    (Write, "editable", false),
    (Create, "addable", false),
    (Export, "exportable", false),
    (Manage, "locked", true),
];

#[test]
fn the_view_setting_wins_over_the_token() {
    let now = t0();
    for (op, setting, forbidding) in SETTING_RULES {
        let mut fx = Fixture::new(6);
        fx.explain = true;
        let tok = fx.issue(&workspace_key("ws_1", ALL_OPS), 60);
        // Twin: with the setting permissive, the token's right works.
        assert_allowed(&fx.decide(Some(&tok), &req(op, view("v_1")), now));

        fx.registry
            .views
            .get_mut(&id("v_1"))
            .unwrap()
            .settings
            .set(setting, forbidding)
            .unwrap();
        let d = fx.decide(Some(&tok), &req(op, view("v_1")), now);
        assert_denied(&d, Reason::ViewSetting);
        assert!(
            d.explanation
                .policy
                .as_deref()
                .unwrap_or("")
                .contains("deny if"),
            "{setting}: {:?}",
            d.explanation.policy
        );
        // Reading the same view is unaffected...
        assert_allowed(&fx.decide(Some(&tok), &req(Read, view("v_1")), now));
        // ...and so is the same operation on the sibling view and on the table.
        assert_allowed(&fx.decide(Some(&tok), &req(op, view("v_2")), now));
        assert_allowed(&fx.decide(Some(&tok), &req(op, table("t_1")), now));
    }
}

#[test]
fn the_view_setting_wins_for_a_guest_with_the_right_on_the_view() {
    let mut fx = Fixture::new(7);
    let tok = fx.issue(&guest("v_1", "read,write"), 70);
    assert_allowed(&fx.decide(Some(&tok), &req(Write, view("v_1")), t0()));
    fx.registry
        .views
        .get_mut(&id("v_1"))
        .unwrap()
        .settings
        .editable = false;
    assert_denied(
        &fx.decide(Some(&tok), &req(Write, view("v_1")), t0()),
        Reason::ViewSetting,
    );
    assert_allowed(&fx.decide(Some(&tok), &req(Read, view("v_1")), t0()));
}

#[test]
fn public_view_is_readable_without_a_token_and_never_writable() {
    let mut fx = Fixture::new(8);
    fx.registry
        .views
        .get_mut(&id("v_2"))
        .unwrap()
        .settings
        .public = true;
    let now = t0();

    assert_allowed(&fx.decide(None, &req(Read, view("v_2")), now));
    for op in [Write, Create, Delete, Export, Manage, Share] {
        assert_denied(
            &fx.decide(None, &req(op, view("v_2")), now),
            Reason::MissingToken,
        );
    }
    // A view that is not public, its table, its workspace, an unknown view.
    assert_denied(
        &fx.decide(None, &req(Read, view("v_1")), now),
        Reason::MissingToken,
    );
    assert_denied(
        &fx.decide(None, &req(Read, table("t_1")), now),
        Reason::MissingToken,
    );
    assert_denied(
        &fx.decide(None, &req(Read, workspace("ws_1")), now),
        Reason::MissingToken,
    );
    assert_denied(
        &fx.decide(None, &req(Read, view("v_9")), now),
        Reason::MissingToken,
    );

    // A token without rights there can still read the public view, and
    // still cannot write it.
    let other = fx.issue(&Grant::guest(id("ws_2"), id("v_3"), &ops(ALL_OPS)), 80);
    assert_allowed(&fx.decide(Some(&other), &req(Read, view("v_2")), now));
    assert_denied(
        &fx.decide(Some(&other), &req(Write, view("v_2")), now),
        Reason::NoRight,
    );

    // Making it private again takes effect at once.
    fx.registry
        .views
        .get_mut(&id("v_2"))
        .unwrap()
        .settings
        .public = false;
    assert_denied(
        &fx.decide(None, &req(Read, view("v_2")), now),
        Reason::MissingToken,
    );
}

#[test]
fn unknown_resources_fail_closed() {
    let fx = Fixture::new(9);
    let tok = fx.issue(&workspace_key("ws_1", ALL_OPS), 90);
    let now = t0();
    for r in [view("v_9"), table("t_9"), workspace("ws_9")] {
        assert_denied(
            &fx.decide(Some(&tok), &req(Read, r), now),
            Reason::UnknownResource,
        );
    }
    // A view whose table is not registered is unknown too.
    let mut orphan = Fixture::new(9);
    orphan.registry.tables.remove(&id("t_1"));
    assert_denied(
        &orphan.decide(Some(&tok), &req(Read, view("v_1")), now),
        Reason::UnknownResource,
    );
}

// ----------------------------------------------------------------- expiry

#[test]
fn expired_token_is_refused_and_works_until_its_expiry() {
    let fx = Fixture::new(10);
    let expiry = at(-60);
    let grant = guest("v_1", "read").expires_at(Some(expiry));
    let tok = fx.issue_at(&grant, at(-120), 100);
    let r = req(Read, view("v_1"));

    assert_denied(&fx.decide(Some(&tok), &r, t0()), Reason::Expired);
    assert_allowed(&fx.decide(Some(&tok), &r, at(-90)));
    // The expiry instant itself still works; one second later it does not.
    assert_allowed(&fx.decide(Some(&tok), &r, expiry));
    assert_denied(
        &fx.decide(Some(&tok), &r, expiry + chrono::Duration::seconds(1)),
        Reason::Expired,
    );
    // Expired wins over "no right here": the credential itself is dead.
    assert_denied(
        &fx.decide(Some(&tok), &req(Read, view("v_2")), t0()),
        Reason::Expired,
    );
    let d = fx.decide(Some(&tok), &r, t0());
    assert_eq!(d.explanation.failed_checks.len(), 1, "{:?}", d.explanation);
    assert!(Reason::Expired.is_credential_problem());
}

#[test]
fn attenuated_expiry_expires_the_child_only() {
    let fx = Fixture::new(11);
    let parent = fx.issue(&table_key("t_1", "read,write"), 110);
    let child = attenuate(
        &parent,
        &Restriction {
            expires_at: Some(at(60)),
            ..Restriction::default()
        },
        111,
    );
    let r = req(Write, view("v_2"));
    assert_allowed(&fx.decide(Some(&child), &r, at(30)));
    assert_allowed(&fx.decide(Some(&child), &r, at(60)));
    assert_denied(&fx.decide(Some(&child), &r, at(61)), Reason::Expired);
    assert_allowed(&fx.decide(Some(&parent), &r, at(61)));
    assert_allowed(&fx.decide(Some(&parent), &r, at(60 * 24 * 365)));
}

#[test]
fn attenuation_cannot_extend_an_expiry() {
    let fx = Fixture::new(12);
    let parent = fx.issue(&guest("v_1", "read").expires_at(Some(at(10))), 120);
    // A later expiry in the child is another check; the parent's still applies.
    let child = attenuate(
        &parent,
        &Restriction {
            expires_at: Some(at(1000)),
            ..Restriction::default()
        },
        121,
    );
    let r = req(Read, view("v_1"));
    assert_allowed(&fx.decide(Some(&child), &r, at(5)));
    assert_denied(&fx.decide(Some(&child), &r, at(11)), Reason::Expired);
}

// ------------------------------------------------------------- revocation

#[test]
fn revoking_the_parent_revokes_every_attenuation() {
    let mut fx = Fixture::new(13);
    let issued = token::issue_with_rng(
        &table_key("t_1", "read,write"),
        &fx.ring,
        t0(),
        &mut StdRng::seed_from_u64(130),
    )
    .unwrap();
    let parent = issued.token.expose().to_owned();
    let child = attenuate(
        &parent,
        &Restriction {
            operations: Some(ops("read")),
            ..Restriction::default()
        },
        131,
    );
    let grandchild = attenuate(
        &child,
        &Restriction {
            resource: Some(view("v_1")),
            ..Restriction::default()
        },
        132,
    );
    let r = req(Read, view("v_1"));
    for t in [&parent, &child, &grandchild] {
        assert_allowed(&fx.decide(Some(t), &r, t0()));
    }

    // The ledger's revocation id is the authority block's.
    let authority_id = fx.verify(&parent).revocation_ids()[0].clone();
    assert_eq!(
        issued.entry.revocation_ids,
        vec![hex::encode(&authority_id)]
    );
    assert_eq!(fx.verify(&child).revocation_ids()[0], authority_id);

    fx.revocations = RevocationSet::from_ids([authority_id]);
    for t in [&parent, &child, &grandchild] {
        assert_denied(&fx.decide(Some(t), &r, t0()), Reason::Revoked);
        // Revoked is decided before the resource is even looked at.
        assert_denied(
            &fx.decide(Some(t), &req(Read, view("v_9")), t0()),
            Reason::Revoked,
        );
    }
}

#[test]
fn revoking_a_child_leaves_the_parent_working() {
    let mut fx = Fixture::new(14);
    let parent = fx.issue(&table_key("t_1", "read,write"), 140);
    let child = attenuate(&parent, &Restriction::default(), 141);
    let grandchild = attenuate(&child, &Restriction::default(), 142);
    let sibling = attenuate(&parent, &Restriction::default(), 143);
    let child_ids = fx.verify(&child).revocation_ids();
    assert_eq!(child_ids.len(), 2);

    let mut revocations = RevocationSet::default();
    revocations.insert(child_ids.last().unwrap());
    fx.revocations = revocations;

    let r = req(Read, view("v_1"));
    assert_allowed(&fx.decide(Some(&parent), &r, t0()));
    assert_allowed(&fx.decide(Some(&sibling), &r, t0()));
    assert_denied(&fx.decide(Some(&child), &r, t0()), Reason::Revoked);
    assert_denied(&fx.decide(Some(&grandchild), &r, t0()), Reason::Revoked);
}

// ------------------------------------------------------------ attenuation

#[test]
fn attenuation_narrows_operations() {
    let fx = Fixture::new(15);
    let parent = fx.issue(&table_key("t_1", "read,write,export"), 150);
    let child = attenuate(
        &parent,
        &Restriction {
            operations: Some(ops("read")),
            ..Restriction::default()
        },
        151,
    );
    let write = req(Write, view("v_1"));
    let d = fx.decide(Some(&child), &write, t0());
    assert_denied(&d, Reason::CheckFailed);
    assert_eq!(d.explanation.failed_checks.len(), 1, "{:?}", d.explanation);
    assert!(!Reason::CheckFailed.is_credential_problem());
    assert_allowed(&fx.decide(Some(&parent), &write, t0()));
    assert_allowed(&fx.decide(Some(&child), &req(Read, view("v_1")), t0()));
    assert_denied(
        &fx.decide(Some(&child), &req(Export, view("v_1")), t0()),
        Reason::CheckFailed,
    );
}

#[test]
fn attenuation_narrows_resources() {
    let fx = Fixture::new(16);
    let parent = fx.issue(&workspace_key("ws_1", "read,write"), 160);

    let to_table = attenuate(
        &parent,
        &Restriction {
            resource: Some(table("t_1")),
            ..Restriction::default()
        },
        161,
    );
    for r in [table("t_1"), view("v_1"), view("v_2")] {
        assert_allowed(&fx.decide(Some(&to_table), &req(Write, r), t0()));
    }
    assert_denied(
        &fx.decide(Some(&to_table), &req(Read, workspace("ws_1")), t0()),
        Reason::CheckFailed,
    );
    assert_allowed(&fx.decide(Some(&parent), &req(Read, workspace("ws_1")), t0()));

    let to_view = attenuate(
        &to_table,
        &Restriction {
            resource: Some(view("v_2")),
            operations: Some(ops("read")),
            ..Restriction::default()
        },
        162,
    );
    assert_allowed(&fx.decide(Some(&to_view), &req(Read, view("v_2")), t0()));
    assert_denied(
        &fx.decide(Some(&to_view), &req(Read, view("v_1")), t0()),
        Reason::CheckFailed,
    );
    assert_denied(
        &fx.decide(Some(&to_view), &req(Read, table("t_1")), t0()),
        Reason::CheckFailed,
    );
    assert_denied(
        &fx.decide(Some(&to_view), &req(Write, view("v_2")), t0()),
        Reason::CheckFailed,
    );
}

#[test]
fn a_sealed_token_cannot_be_attenuated() {
    let fx = Fixture::new(17);
    let tok = fx.issue(&guest("v_1", "read"), 170);
    let sealed = token::decode(&tok, usize::MAX).unwrap().seal().unwrap();
    let sealed = encode(&sealed.to_vec().unwrap());
    assert_allowed(&fx.decide(Some(&sealed), &req(Read, view("v_1")), t0()));
    let err = token::attenuate_with_rng(
        &sealed,
        &Restriction::default(),
        t0(),
        usize::MAX,
        &mut StdRng::seed_from_u64(171),
    );
    assert!(err.is_err());
}

/// Pins the error variant the user sees for a sealed token.
#[test]
fn attenuating_a_sealed_token_says_sealed() {
    let fx = Fixture::new(17);
    let tok = fx.issue(&guest("v_1", "read"), 170);
    let sealed = token::decode(&tok, usize::MAX).unwrap().seal().unwrap();
    let sealed = encode(&sealed.to_vec().unwrap());
    let err = token::attenuate_with_rng(
        &sealed,
        &Restriction::default(),
        t0(),
        usize::MAX,
        &mut StdRng::seed_from_u64(171),
    )
    .unwrap_err();
    assert_eq!(err, token::TokenError::Sealed);
}

/// Facts an attacker might write into an appended block to widen a guest
/// token on v_1 (read only).
const WIDENING_FACTS: &str = r#"
    right("view", "v_2", "read");
    right("view", "v_1", "write");
    right("view", "v_3", "read");
    right("table", "t_1", "read");
    right("workspace", "ws_1", "write");
    right("workspace", "ws_2", "read");
    workspace("ws_2");
    kind("admin");
    view_setting("v_2", "public", true);
    operation("read");
    resource("view", "v_1");
    parent("view", "v_3", "table", "t_1");
    parent("table", "t_2", "workspace", "ws_1");
"#;

/// Requests the widening attempts aim at; all denied for the original token.
fn widened_requests() -> Vec<tessera::authorize::Request> {
    vec![
        req(Read, view("v_2")),
        req(Write, view("v_1")),
        req(Read, view("v_3")),
        req(Read, table("t_1")),
        req(Write, workspace("ws_1")),
        req(Write, table("t_1")),
        req(Read, workspace("ws_2")),
        req(Read, table("t_2")),
        req(Manage, view("v_1")),
    ]
}

#[test]
fn an_appended_block_cannot_widen_with_facts() {
    let fx = Fixture::new(18);
    let tok = fx.issue(&guest("v_1", "read"), 180);

    // Build the block by hand, as an attacker holding the token would.
    let bytes = token::decode_bytes(&tok, usize::MAX).unwrap();
    let unverified = UnverifiedBiscuit::from(&bytes).unwrap();
    let block = BlockBuilder::new().code(WIDENING_FACTS).unwrap();
    let keypair = KeyPair::new_with_rng(Algorithm::Ed25519, &mut StdRng::seed_from_u64(181));
    let widened = unverified.append_with_keypair(&keypair, block).unwrap();
    let widened = encode(&widened.to_vec().unwrap());
    // It is a validly signed token.
    assert_eq!(fx.verify(&widened).revocation_ids().len(), 2);

    assert_allowed(&fx.decide(Some(&widened), &req(Read, view("v_1")), t0()));
    for r in widened_requests() {
        assert_denied(&fx.decide(Some(&tok), &r, t0()), Reason::NoRight);
        assert_denied(&fx.decide(Some(&widened), &r, t0()), Reason::NoRight);
    }
}

#[test]
fn an_appended_block_cannot_widen_with_rules() {
    let fx = Fixture::new(19);
    let tok = fx.issue(&guest("v_1", "read"), 190);
    // Rules that derive every right (and every effective right) for
    // whatever is asked, claim the requested resource's workspace, and
    // try the policy's own intermediate predicates.
    let code = r#"
        right($k, $i, $o) <- resource($k, $i), operation($o);
        effective($k, $i, $o) <- resource($k, $i), operation($o);
        workspace($w) <- parent($a, $b, "workspace", $w);
        within("ws_1") <- resource($k, $i);
        denied("nothing") <- operation("never");
        check if true;
    "#;
    let widened = append_code(&tok, code, 191);
    assert_allowed(&fx.decide(Some(&widened), &req(Read, view("v_1")), t0()));
    for r in widened_requests() {
        assert_denied(&fx.decide(Some(&widened), &r, t0()), Reason::NoRight);
    }
    // Stacking a second such block changes nothing either.
    let twice = append_code(&widened, WIDENING_FACTS, 192);
    assert_allowed(&fx.decide(Some(&twice), &req(Read, view("v_1")), t0()));
    for r in widened_requests() {
        assert_denied(&fx.decide(Some(&twice), &r, t0()), Reason::NoRight);
    }
}

#[test]
fn widening_blocks_on_an_api_key_change_nothing() {
    let fx = Fixture::new(20);
    let tok = fx.issue(&table_key("t_1", "read"), 200);
    let widened = append_code(&tok, WIDENING_FACTS, 201);
    for r in all_resources() {
        for op in Operation::ALL {
            let request = req(op, r.clone());
            let before = fx.decide(Some(&tok), &request, t0());
            let after = fx.decide(Some(&widened), &request, t0());
            assert_eq!(
                (before.allowed, before.reason),
                (after.allowed, after.reason),
                "{op} on {r}"
            );
        }
    }
}

// ---------------------------------------------------------- datalog bombs

/// A fixture with the production default limits (including the 20 ms budget).
fn strict() -> Fixture {
    Fixture::with_limits(21, RunLimits::default())
}

#[track_caller]
fn assert_bomb_is_refused(fx: &Fixture, code: &str, seed: u64) {
    let tok = fx.issue(&guest("v_1", "read"), 210);
    assert_allowed(&fx.decide(Some(&tok), &req(Read, view("v_1")), t0()));
    let bomb = append_code(&tok, code, seed);
    let start = Instant::now();
    let d = fx.decide(Some(&bomb), &req(Read, view("v_1")), t0());
    let elapsed = start.elapsed();
    assert_denied(&d, Reason::Limits);
    assert!(!Reason::Limits.is_credential_problem());
    // Generous for a debug build on a loaded machine; a bomb that ran to
    // completion would take far longer (or never end).
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn a_fact_explosion_hits_the_limits() {
    // 40 facts, 1,600 pairs in the first round: over the 1,000-fact limit.
    let mut code: String = (0..40).map(|i| format!("a({i});\n")).collect();
    code.push_str("b($x, $y) <- a($x), a($y);\n");
    assert_bomb_is_refused(&strict(), &code, 211);
    assert_bomb_is_refused(&Fixture::new(21), &code, 211);
}

#[test]
fn a_cubic_fact_explosion_hits_the_limits() {
    // 30^3 = 27,000 facts if it ran to completion.
    let mut code: String = (0..30).map(|i| format!("a({i});\n")).collect();
    code.push_str("b($x, $y, $z) <- a($x), a($y), a($z);\n");
    assert_bomb_is_refused(&strict(), &code, 212);
}

#[test]
fn deep_recursion_hits_the_iteration_limit() {
    // n(0) and a successor chain of 300 steps: each round derives one more
    // n(i), so the run needs 300 rounds (limit 100) while staying well
    // under the fact limit.
    let mut code = String::from("n(0);\n");
    for i in 0..300 {
        code.push_str(&format!("succ({i}, {});\n", i + 1));
    }
    code.push_str("n($y) <- n($x), succ($x, $y);\n");
    code.push_str("check if n(0);\n");
    assert_bomb_is_refused(&strict(), &code, 213);
    assert_bomb_is_refused(&Fixture::new(21), &code, 213);
}

/// A block of checks only — the shape the design says attenuation blocks
/// have — whose one query joins `view_setting` (5 facts the gateway adds)
/// with itself 8 times: 5^8 = 390,625 combinations in a single query,
/// which biscuit evaluates to the end before it looks at the time limit.
/// About 10 s in a debug build, 0.9 s in release; each more predicate
/// multiplies by 5, and 8 KiB of token holds dozens.
#[test]
fn a_check_only_join_bomb_is_refused_promptly() {
    let fx = strict();
    let tok = fx.issue(&guest("v_1", "read"), 216);
    let body: Vec<String> = (0..8)
        .map(|i| format!("view_setting($v{i}, $n{i}, $b{i})"))
        .collect();
    let code = format!("check if {}, $b0 == 42;", body.join(", "));
    let bomb = append_code(&tok, &code, 217);
    assert!(bomb.len() < 1024, "a {}-byte token", bomb.len());
    let start = Instant::now();
    let d = fx.decide(Some(&bomb), &req(Read, view("v_1")), t0());
    let elapsed = start.elapsed();
    assert!(!d.allowed);
    assert_eq!(d.reason, Some(Reason::Limits));
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
}

/// The rule form of the same bomb: 30 facts in the block, one rule joining
/// them four ways (810,000 combinations per round). Refused before Datalog
/// runs, by the admission estimate.
#[test]
fn a_rule_join_bomb_is_refused_promptly() {
    let fx = strict();
    let tok = fx.issue(&guest("v_1", "read"), 218);
    let mut code = String::new();
    for i in 0..30 {
        code.push_str(&format!("a({i});\n"));
    }
    code.push_str("b($x0, $x1, $x2, $x3) <- a($x0), a($x1), a($x2), a($x3);\n");
    let bomb = append_code(&tok, &code, 219);
    let start = Instant::now();
    let d = fx.decide(Some(&bomb), &req(Read, view("v_1")), t0());
    assert_eq!(d.reason, Some(Reason::Limits));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
}

/// Expensive expressions in an attenuation block: a long string matched
/// against a backtracking-style pattern (linear in Rust's regex engine) is
/// evaluated promptly and fails as an ordinary check; a 600-operation
/// arithmetic chain is refused before evaluation (expressions are capped at
/// 128 operations: deep nesting costs stack in biscuit-auth's printer).
#[test]
fn expensive_expressions_are_evaluated_promptly() {
    let fx = strict();
    let tok = fx.issue(&guest("v_1", "read"), 222);
    let long = "a".repeat(3000);
    let sum: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    for (code, seed, reason) in [
        (
            format!("check if \"{long}\".matches(\"^(a|aa)*b$\");"),
            223,
            Reason::CheckFailed,
        ),
        (
            format!("check if {} == 1;", sum.join(" + ")),
            224,
            Reason::Limits,
        ),
    ] {
        let attacked = append_code(&tok, &code, seed);
        let start = Instant::now();
        let d = fx.decide(Some(&attacked), &req(Read, view("v_1")), t0());
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "took {:?}",
            start.elapsed()
        );
        assert_eq!(d.reason, Some(reason), "{code:.60}");
    }
}

#[test]
fn unbounded_term_generation_cannot_be_written() {
    // `n($x) <- n($y), $x == $y + 1` would count forever, but biscuit's
    // Datalog refuses a head variable no predicate binds, so new terms can
    // never be made up: a bomb is bounded by its block's own constants and
    // only the fact and iteration limits above matter.
    for code in [
        "n(0);\nn($x) <- n($y), $x == $y + 1;",
        "s([0]);\nitem(1);\ns($t) <- s($s), item($i), $t == $s.union([$i]);",
    ] {
        assert!(BlockBuilder::new().code(code).is_err(), "{code}");
    }
}

// ---------------------------------------------------------------- explain

#[test]
fn explanation_names_the_matching_policy_and_the_request_facts() {
    let mut fx = Fixture::new(22);
    let tok = fx.issue(&guest("v_1", "read"), 220);
    // Off (the hot path): no facts, no policy text.
    let quiet = fx.decide(Some(&tok), &req(Read, view("v_1")), t0());
    assert_allowed(&quiet);
    assert!(quiet.explanation.facts.is_empty());
    assert_eq!(quiet.explanation.policy, None);

    fx.explain = true;
    let d = fx.decide(Some(&tok), &req(Read, view("v_1")), t0());
    assert_allowed(&d);
    let policy = d.explanation.policy.as_deref().expect("a matched policy");
    assert!(policy.contains("allow if"), "{policy}");
    let facts = &d.explanation.facts;
    for expected in [
        r#"operation("read")"#,
        r#"resource("view", "v_1")"#,
        r#"parent("view", "v_1", "table", "t_1")"#,
        r#"parent("table", "t_1", "workspace", "ws_1")"#,
        r#"view_setting("v_1", "editable", true)"#,
        r#"view_setting("v_1", "public", false)"#,
        "time(2026-11-22T00:00:00Z)",
    ] {
        assert!(
            facts.iter().any(|f| f == expected),
            "{expected} not in {facts:?}"
        );
    }
    assert!(d.explanation.failed_checks.is_empty());

    // A denial by the catch-all names it.
    let denied = fx.decide(Some(&tok), &req(Read, view("v_2")), t0());
    assert_denied(&denied, Reason::NoRight);
    assert_eq!(denied.explanation.policy.as_deref(), Some("deny if true"));

    // The public-view policy is named when it is the one that allowed.
    let mut public = Fixture::new(22);
    public.explain = true;
    public
        .registry
        .views
        .get_mut(&id("v_2"))
        .unwrap()
        .settings
        .public = true;
    let anon = public.decide(None, &req(Read, view("v_2")), t0());
    assert_allowed(&anon);
    let policy = anon.explanation.policy.unwrap();
    assert!(
        policy.contains("allow if") && policy.contains("public"),
        "{policy}"
    );
}

#[test]
fn decide_and_authorize_agree() {
    let fx = Fixture::new(23);
    let tok = fx.issue(&table_key("t_1", "read,export"), 230);
    let verified = fx.verify(&tok);
    for r in all_resources() {
        for op in Operation::ALL {
            let request = req(op, r.clone());
            assert_eq!(
                fx.decide(Some(&tok), &request, t0()),
                fx.authorize(Some(&verified), &request, t0()),
                "{op} on {r}"
            );
        }
    }
    assert_eq!(
        fx.decide(None, &req(Read, view("v_1")), t0()),
        fx.authorize(None, &req(Read, view("v_1")), t0())
    );
}

#[test]
fn token_text_forms_are_accepted() {
    let fx = Fixture::new(24);
    let tok = fx.issue(&guest("v_1", "read"), 240);
    let bare = tok.strip_prefix(token::TOKEN_PREFIX).unwrap().to_owned();
    let padded = format!("{tok}{}", "=".repeat((4 - bare.len() % 4) % 4));
    let spaced = format!("  {tok}\n");
    for t in [&tok, &bare, &padded, &spaced] {
        assert_allowed(&fx.decide(Some(t), &req(Read, view("v_1")), t0()));
    }
    assert_eq!(
        token::describe(&token::decode(&tok, usize::MAX).unwrap())
            .unwrap()
            .claims
            .kind
            .as_deref(),
        Some(TokenKind::Guest.as_str())
    );
    // Same inputs, same token: seeded issuance is deterministic.
    assert_eq!(fx.issue(&guest("v_1", "read"), 240), tok);
}
