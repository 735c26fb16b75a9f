//! The decision sequence: a token's text verified with the configured
//! limits, a refused credential denied, then [`authorize`]: revocation,
//! the registry (containment, view settings, a member's rights) and the
//! policy.

use std::time::SystemTime;

use biscuit_auth::builder::{boolean, date, fact, string, Fact};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::keys::PublicKeyring;
use crate::model::{
    Id, Operation, Registry, Resource, ResourceKind, RevocationSet, TokenKind, ViewSetting,
};
use crate::token::{self, TokenError, TokenLimits, VerifiedToken};

use super::member;
use super::policy::Policy;
use super::reason::{Decision, Reason};
use super::run::run;
use super::share;

/// What is asked: one operation on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Request {
    /// The operation.
    pub operation: Operation,
    /// The resource.
    pub resource: Resource,
}

/// What every decision reads: the verifier's keyring, the revocation set,
/// the registry and the policy.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Root public keys by id.
    pub keyring: &'a PublicKeyring,
    /// Revoked revocation ids.
    pub revocations: &'a RevocationSet,
    /// Containment and view settings.
    pub registry: &'a Registry,
    /// The policy.
    pub policy: &'a Policy,
    /// Largest token text accepted.
    pub max_token_bytes: usize,
    /// What a token's attenuation blocks may carry (blocks, facts, rules,
    /// checks, estimated cost): the configured limits, never ignored.
    pub token_limits: TokenLimits,
    /// Record the facts and the deciding rule (`--explain`); off on the hot path.
    pub explain: bool,
}

/// Decides a request from a token's text (or none): decode, verify with
/// the context's limits, revocation, authorize — [`decide_with`] over
/// [`verify`].
pub fn decide(
    ctx: &Context<'_>,
    token_text: Option<&str>,
    request: &Request,
    now: DateTime<Utc>,
) -> Decision {
    let verified = token_text.map(|text| verify(ctx, text));
    decide_with(verified, |token| {
        authorize(ctx, token.as_ref(), request, now)
    })
    .unwrap_or_else(|refused| Decision::deny(refused, None))
}

/// Verifies a token's text with the context's keyring, size limit and
/// token limits, bounding its expressions by the policy's terms.
pub fn verify(ctx: &Context<'_>, text: &str) -> Result<VerifiedToken, TokenError> {
    token::verify_text_with_ambient(
        text,
        ctx.max_token_bytes,
        ctx.keyring,
        &ctx.token_limits,
        ctx.policy.term_bounds(),
    )
}

/// The decision sequence, the one copy every decider runs: `verified` is
/// the credential's verification (`None`: no credential) — [`verify`], or
/// a cache around it, as the gateway has. A credential that did not verify
/// is denied here: `Err` with its reason (a denial without claims);
/// otherwise `authorize` gets the token, or none, and its answer is
/// returned (`Ok`) — it runs [`authorize`] (revocation first, then registry
/// and policy), on the calling thread or, as in the gateway, as a future
/// to await.
pub fn decide_with<T, D>(
    verified: Option<Result<T, TokenError>>,
    authorize: impl FnOnce(Option<T>) -> D,
) -> Result<D, Reason> {
    match verified {
        None => Ok(authorize(None)),
        Some(Ok(token)) => Ok(authorize(Some(token))),
        Some(Err(e)) => Err(Reason::from(&e)),
    }
}

/// True when any block of `token` has a revoked revocation id.
pub fn is_revoked(token: &VerifiedToken, revocations: &RevocationSet) -> bool {
    token
        .revocation_ids()
        .iter()
        .any(|id| revocations.contains(id))
}

/// Decides a request for an already verified token (or none).
pub fn authorize(
    ctx: &Context<'_>,
    token: Option<&VerifiedToken>,
    request: &Request,
    now: DateTime<Utc>,
) -> Decision {
    if let Some(t) = token {
        if is_revoked(t, ctx.revocations) {
            return Decision::deny(Reason::Revoked, Some(t.claims().clone()));
        }
    }
    let Some(containment) = ctx.registry.containment(&request.resource) else {
        let reason = if token.is_some() {
            Reason::UnknownResource
        } else {
            Reason::MissingToken
        };
        return Decision::deny(reason, token.map(|t| t.claims().clone()));
    };

    let claims = token.map(|t| t.claims());
    if let Some(reason) = claims.and_then(|c| share::embed_refusal(c, request.operation)) {
        return Decision::deny(reason, claims.cloned());
    }
    let mut facts: Vec<Fact> = vec![
        fact("time", &[date(&SystemTime::from(now))]),
        fact("operation", &[string(request.operation.as_str())]),
        fact(
            "resource",
            &[
                string(request.resource.kind.as_str()),
                string(request.resource.id.as_str()),
            ],
        ),
    ];
    for c in &containment {
        facts.push(fact(
            "parent",
            &[
                string(c.child.kind.as_str()),
                string(c.child.id.as_str()),
                string(c.parent.kind.as_str()),
                string(c.parent.id.as_str()),
            ],
        ));
    }
    let user = token.and_then(member_user);
    if request.resource.kind == ResourceKind::View {
        // View visibility, decided here: a personal view exists for its
        // creator only; a locked one is locked for everyone but its creator.
        let owner = ctx.registry.view_owners.get(&request.resource.id);
        if owner.is_some_and(|o| o.hides_from(user.as_ref())) {
            return Decision::deny(Reason::PersonalView, token.map(|t| t.claims().clone()));
        }
        let creator = owner.is_some_and(|o| o.is_creator(user.as_ref()));
        if let Some(view) = ctx.registry.views.get(&request.resource.id) {
            for (name, value) in view.settings.entries() {
                let value = value && !(creator && name == ViewSetting::Locked.as_str());
                facts.push(fact(
                    "view_setting",
                    &[
                        string(request.resource.id.as_str()),
                        string(name),
                        boolean(value),
                    ],
                ));
            }
        }
    }
    // A member token: what its user may do here, from the registry only.
    let member = user.map(|user| {
        let workspace = containment
            .last()
            .map_or(&request.resource.id, |c| &c.parent.id);
        member::grounds(ctx.registry, &user, &request.resource, workspace, now)
    });
    if let Some(grounds) = &member {
        facts.extend(member::facts(grounds, &request.resource));
    }
    let unmatched = if token.is_some() {
        Reason::NoRight
    } else {
        Reason::MissingToken
    };
    let mut decision = run(ctx.policy, token, facts, unmatched, ctx.explain);
    if ctx.explain {
        decision.explanation.member = member;
    }
    // A link a member made works only while that member holds it now.
    let sharer = claims.filter(|_| decision.allowed).and_then(|c| {
        share::sharer_refusal(ctx.registry, c, request.operation, &request.resource, now)
    });
    if let Some(reason) = sharer {
        decision.allowed = false;
        decision.reason = Some(reason);
    }
    decision
}

/// The user a member token names, when the token is of kind member (read
/// from its authority block, which only the issuer signs).
fn member_user(token: &VerifiedToken) -> Option<Id> {
    let claims = token.claims();
    // Guest, API key and admin tokens name no user: nothing more to do.
    let user = claims.user.as_deref()?;
    let kind: TokenKind = claims.kind.as_deref()?.parse().ok()?;
    if kind != TokenKind::Member {
        return None;
    }
    Id::new(user).ok()
}
