//! The predicates a decision gives every policy, read from the decision
//! path itself rather than from a list: a sample world (a workspace ⊃
//! table ⊃ view, a member holding a role) decided by
//! [`authorize::decide`] for a token of every kind (and none) on every
//! kind of resource, keeping the predicates of the facts each decision's
//! explanation lists (the request's: time, operation, resource, parent,
//! view_setting, member_right, …) and of each token's authority block (as
//! `token::issue_with_rng` writes it). A fact the decision path starts
//! adding is known here without editing anything.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::authorize::{self, Context, Decision, Policy, Request, RunLimits};
use crate::fixtures::RegistrySpec;
use crate::keys::PrivateKeyring;
use crate::model::{EmbedMode, Grant, Id, Operation, Resource, RevocationSet};
use crate::token::{self, TokenLimits, DEFAULT_MAX_TOKEN_BYTES};

use super::datalog::statements;

/// A decision function: [`authorize::decide`]'s shape.
pub type DecideFn = fn(&Context<'_>, Option<&str>, &Request, DateTime<Utc>) -> Decision;

/// The sample world: every containment level, a member with a role.
const SAMPLE: &str = r#"
[users]
u_1 = { email = "u@example.com", name = "U" }
[workspaces.ws_1]
roles = { u_1 = "owner" }
[tables.t_1]
workspace = "ws_1"
[views.v_1]
table = "t_1"
"#;

/// The predicates [`authorize::decide`] gives the policy.
pub fn decision_predicates() -> BTreeSet<String> {
    predicates_given_by(authorize::decide)
}

/// The predicates `decide` gives the policy over the sample world: those
/// of the facts its explanations list and of the tokens' authority blocks.
pub fn predicates_given_by(decide: DecideFn) -> BTreeSet<String> {
    sampled(decide).unwrap_or_default()
}

fn sampled(decide: DecideFn) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000);
    let memory = toml::from_str::<RegistrySpec>(SAMPLE)
        .ok()?
        .memory(now)
        .ok()?;
    let policy = Policy::default_with_limits(RunLimits::default()).ok()?;
    let ring = PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(1), now);
    let keyring = ring.public();
    let revocations = RevocationSet::default();
    let ctx = Context {
        keyring: &keyring,
        revocations: &revocations,
        registry: &memory.registry,
        policy: &policy,
        max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        token_limits: TokenLimits::default(),
        explain: true,
    };
    let (user, ws, t, v) = (id("u_1")?, id("ws_1")?, id("t_1")?, id("v_1")?);
    let read = [Operation::Read].into_iter().collect();
    let mut guest = Grant::guest(ws.clone(), v.clone(), &read);
    guest.shared_by = Some(user.clone());
    guest.embed = Some(EmbedMode::Public);
    let grants = [
        guest,
        Grant::api_key(ws.clone(), None, &read),
        Grant::admin(),
        Grant::member(user),
    ];
    let mut tokens: Vec<Option<String>> = vec![None];
    for (seed, grant) in (2..).zip(&grants) {
        let issued =
            token::issue_with_rng(grant, &ring, now, &mut StdRng::seed_from_u64(seed)).ok()?;
        let text = issued.token.expose().to_owned();
        let authority = token::decode(&text, DEFAULT_MAX_TOKEN_BYTES).ok()?;
        let source = authority.print_block_source(0).ok()?;
        out.extend(statements(&source).into_iter().filter_map(|s| s.head));
        tokens.push(Some(text));
    }
    let resources = [
        Resource::workspace(ws),
        Resource::table(t),
        Resource::view(v),
    ];
    for token in &tokens {
        for resource in &resources {
            let request = Request {
                operation: Operation::Read,
                resource: resource.clone(),
            };
            let decision = decide(&ctx, token.as_deref(), &request, now);
            for fact in &decision.explanation.facts {
                if let Some((name, _)) = fact.split_once('(') {
                    out.insert(name.trim().to_owned());
                }
            }
        }
    }
    Some(out)
}

fn id(s: &str) -> Option<Id> {
    Id::new(s).ok()
}
