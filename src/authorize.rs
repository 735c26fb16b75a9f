//! The decision: a request (operation on a resource), an optional token,
//! the keyring, the revocation set, the registry and the policy become
//! allow or deny with a reason code. The gateway and `tessera check` run
//! exactly this.

use std::fmt;
use std::time::{Duration, SystemTime};

use biscuit_auth::builder::{boolean, date, fact, string, Fact};
use biscuit_auth::error::{FailedCheck, Logic, MatchedPolicy, Token as BiscuitError};
use biscuit_auth::{AuthorizerBuilder, AuthorizerLimits};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::PublicKeyring;
use crate::model::{Operation, Registry, Resource, ResourceKind, RevocationSet};
use crate::token::{self, Claims, TermBounds, TokenError, TokenLimits, VerifiedToken};

/// The default policy, embedded at build time from `policies/default.datalog`.
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.datalog");

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The Datalog does not parse.
    #[error("policy is not valid Datalog: {0}")]
    Parse(String),
    /// The policy has no allow/deny policy at all.
    #[error("policy has no allow or deny policy; it would deny everything")]
    NoPolicies,
}

/// The authorizer's run limits: the real guard against Datalog bombs in
/// attenuation blocks is facts and iterations; time is a backstop generous
/// enough not to trip on a loaded machine for honest tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLimits {
    /// Most facts the run may hold.
    pub max_facts: u64,
    /// Most rule-application rounds.
    pub max_iterations: u64,
    /// Most wall time for one run.
    pub max_time: Duration,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_facts: 1000,
            max_iterations: 100,
            max_time: Duration::from_millis(20),
        }
    }
}

/// A loaded policy: the authorizer template every decision clones.
#[derive(Clone)]
pub struct Policy {
    template: AuthorizerBuilder,
    terms: TermBounds,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy").finish_non_exhaustive()
    }
}

impl Policy {
    /// Parses Datalog policy source and sets the run limits.
    pub fn from_source(source: &str, limits: RunLimits) -> Result<Self, PolicyError> {
        if token::nesting_depth(source) > token::MAX_NESTING {
            return Err(PolicyError::Parse(format!(
                "nested deeper than {} levels",
                token::MAX_NESTING
            )));
        }
        let parsed =
            token::guard_parser(|| AuthorizerBuilder::new().code(source)).ok_or_else(|| {
                PolicyError::Parse("a `trusting` scope names an invalid public key".into())
            })?;
        let template = parsed
            .map_err(|e| PolicyError::Parse(e.to_string()))?
            .set_limits(AuthorizerLimits {
                max_facts: limits.max_facts,
                max_iterations: limits.max_iterations,
                max_time: limits.max_time,
            });
        if !template.dump_code().lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("allow if") || l.starts_with("deny if")
        }) {
            return Err(PolicyError::NoPolicies);
        }
        let terms = policy_terms(&template)?;
        Ok(Policy { template, terms })
    }

    /// The largest terms a token's checks can bind from this policy's facts
    /// or from a request's: what admission bounds expressions with.
    pub fn term_bounds(&self) -> TermBounds {
        self.terms
    }

    /// The embedded default policy with the given limits.
    pub fn default_with_limits(limits: RunLimits) -> Result<Self, PolicyError> {
        Policy::from_source(DEFAULT_POLICY, limits)
    }
}

/// The largest terms of the policy's facts and rule heads (the only terms
/// its rules can derive), and of a request's facts.
fn policy_terms(template: &AuthorizerBuilder) -> Result<TermBounds, PolicyError> {
    let snapshot = template
        .snapshot()
        .map_err(|e| PolicyError::Parse(e.to_string()))?;
    let world = &snapshot.world;
    let block = &world.authorizer_block;
    let heads = block.rules.iter().map(|r| &r.head);
    Ok(block
        .facts
        .iter()
        .map(|f| &f.predicate)
        .chain(heads)
        .flat_map(|p| &p.terms)
        .fold(
            TermBounds::REQUEST.covering_symbols(&world.symbols),
            TermBounds::covering,
        ))
}

/// What is asked: one operation on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Request {
    /// The operation.
    pub operation: Operation,
    /// The resource.
    pub resource: Resource,
}

/// Why a request was denied: the reason codes users, logs and metrics see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No credential was presented and the request needs one.
    MissingToken,
    /// The token text is not a token.
    Malformed,
    /// Signed by an unknown or retired root key.
    UnknownKey,
    /// A signature does not verify.
    BadSignature,
    /// A block's expiry check failed.
    Expired,
    /// A block's revocation id is revoked.
    Revoked,
    /// The token holds no right for this operation on this resource.
    NoRight,
    /// A view setting forbids the operation ("the view setting wins").
    ViewSetting,
    /// The resource, or one of its containers, is not in the registry.
    UnknownResource,
    /// A check in the token (an attenuation) failed.
    CheckFailed,
    /// The authorizer hit its run limits (facts, iterations or time).
    Limits,
    /// The request path is not in canonical form (gateway).
    BadPath,
    /// No route of the route table matches the request (gateway).
    UnknownRoute,
    /// Forwarded request headers came from a peer that is not trusted (gateway).
    UntrustedPeer,
    /// The token is valid but not accepted on this surface (a guest token on the admin API).
    WrongKind,
    /// The forwarded request is described twice (X-Forwarded-* and X-Original-*,
    /// or one header repeated): a client may have supplied one of them (gateway).
    AmbiguousForward,
    /// The request asks for another method than its own (`X-HTTP-Method-Override`,
    /// `X-Method-Override`, `X-HTTP-Method` or a `_method` query parameter):
    /// the upstream could act on a method that was never decided (gateway).
    MethodOverride,
    /// An unsafe request authenticated by the share-session cookie did not come
    /// from an allowed origin (`Sec-Fetch-Site`, `Origin`): cross-site forgery (gateway).
    CrossSite,
}

impl Reason {
    /// Every reason, for metrics and docs.
    pub const ALL: [Reason; 18] = [
        Reason::MissingToken,
        Reason::Malformed,
        Reason::UnknownKey,
        Reason::BadSignature,
        Reason::Expired,
        Reason::Revoked,
        Reason::NoRight,
        Reason::ViewSetting,
        Reason::UnknownResource,
        Reason::CheckFailed,
        Reason::Limits,
        Reason::BadPath,
        Reason::UnknownRoute,
        Reason::UntrustedPeer,
        Reason::WrongKind,
        Reason::AmbiguousForward,
        Reason::MethodOverride,
        Reason::CrossSite,
    ];

    /// The snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MissingToken => "missing_token",
            Reason::Malformed => "malformed",
            Reason::UnknownKey => "unknown_key",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::NoRight => "no_right",
            Reason::ViewSetting => "view_setting",
            Reason::UnknownResource => "unknown_resource",
            Reason::CheckFailed => "check_failed",
            Reason::Limits => "limits",
            Reason::BadPath => "bad_path",
            Reason::UnknownRoute => "unknown_route",
            Reason::UntrustedPeer => "untrusted_peer",
            Reason::WrongKind => "wrong_kind",
            Reason::AmbiguousForward => "ambiguous_forward",
            Reason::MethodOverride => "method_override",
            Reason::CrossSite => "cross_site",
        }
    }

    /// True when the reason means "no valid credential" (HTTP 401) rather
    /// than "valid credential, not allowed here" (HTTP 403).
    pub fn is_credential_problem(self) -> bool {
        matches!(
            self,
            Reason::MissingToken
                | Reason::Malformed
                | Reason::UnknownKey
                | Reason::BadSignature
                | Reason::Expired
                | Reason::Revoked
        )
    }

    /// A sentence for people, without any token material.
    pub fn message(self) -> &'static str {
        match self {
            Reason::MissingToken => "this request needs a token",
            Reason::Malformed => "the token is not a valid Tessera token",
            Reason::UnknownKey => "the token is signed by an unknown or retired key",
            Reason::BadSignature => "the token's signature does not verify",
            Reason::Expired => "the token has expired",
            Reason::Revoked => "the token has been revoked",
            Reason::NoRight => "the token does not allow this operation on this resource",
            Reason::ViewSetting => "the view's settings do not allow this operation",
            Reason::UnknownResource => "no such resource",
            Reason::CheckFailed => "a restriction in the token does not allow this request",
            Reason::Limits => "the token is too expensive to evaluate",
            Reason::BadPath => "the request path is not in canonical form",
            Reason::UnknownRoute => "no route allows this request",
            Reason::UntrustedPeer => {
                "forwarded request headers are only accepted from trusted peers"
            }
            Reason::WrongKind => "this kind of token is not accepted here",
            Reason::AmbiguousForward => {
                "the forwarded request is described more than once (X-Forwarded-* and X-Original-*)"
            }
            Reason::MethodOverride => {
                "method overrides (X-HTTP-Method-Override, X-Method-Override, X-HTTP-Method, _method) are refused"
            }
            Reason::CrossSite => {
                "a change made with the share-session cookie must come from an allowed origin"
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

impl From<&TokenError> for Reason {
    fn from(e: &TokenError) -> Self {
        match e {
            TokenError::UnknownKey(_) => Reason::UnknownKey,
            TokenError::BadSignature => Reason::BadSignature,
            TokenError::TooExpensive(_) => Reason::Limits,
            _ => Reason::Malformed,
        }
    }
}

/// How the decision was reached, for `--explain` and debugging.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The facts the request contributed, in Datalog.
    pub facts: Vec<String>,
    /// The policy that matched, in Datalog, when one did.
    pub policy: Option<String>,
    /// Checks that failed, with their block.
    pub failed_checks: Vec<String>,
}

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Allowed or not.
    pub allowed: bool,
    /// Why not, when denied.
    pub reason: Option<Reason>,
    /// What the token claims, when it verified.
    pub claims: Option<Claims>,
    /// How the decision was reached.
    #[serde(default)]
    pub explanation: Explanation,
}

impl Decision {
    /// A denial for `reason`, with the token's claims when it verified.
    pub fn deny(reason: Reason, claims: Option<Claims>) -> Self {
        Decision {
            allowed: false,
            reason: Some(reason),
            claims,
            explanation: Explanation::default(),
        }
    }
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
    match decide_with(verified, |token| {
        authorize(ctx, token.as_ref(), request, now)
    }) {
        Ok(decision) | Err(decision) => decision,
    }
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
/// is denied here with its reason (`Err`, no claims); otherwise `authorize`
/// gets the token, or none, and its answer is returned (`Ok`) — it runs
/// [`authorize`] (revocation first, then registry and policy), on the
/// calling thread or, as in the gateway, as a future to await.
pub fn decide_with<T, D>(
    verified: Option<Result<T, TokenError>>,
    authorize: impl FnOnce(Option<T>) -> D,
) -> Result<D, Decision> {
    match verified {
        None => Ok(authorize(None)),
        Some(Ok(token)) => Ok(authorize(Some(token))),
        Some(Err(e)) => Err(Decision::deny(Reason::from(&e), None)),
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
    if request.resource.kind == ResourceKind::View {
        if let Some(view) = ctx.registry.views.get(&request.resource.id) {
            for (name, value) in view.settings.entries() {
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
    let unmatched = if token.is_some() {
        Reason::NoRight
    } else {
        Reason::MissingToken
    };
    run(ctx.policy, token, facts, unmatched, ctx.explain)
}

/// The policy the admin API runs: an admin token, within its own checks
/// (expiry, attenuations such as read-only).
pub const ADMIN_POLICY: &str = "allow if kind(\"admin\");\ndeny if true;";

/// Decides an admin API request: `operation` is `read` for reads and
/// `manage` for changes, on `resource("admin", "api")`. Only a verified,
/// unrevoked token of kind admin passes; its own checks still apply, so an
/// admin token attenuated to `read` is a read-only admin token.
pub fn authorize_admin(
    admin_policy: &Policy,
    revocations: &RevocationSet,
    token: &VerifiedToken,
    operation: Operation,
    now: DateTime<Utc>,
) -> Decision {
    if is_revoked(token, revocations) {
        return Decision::deny(Reason::Revoked, Some(token.claims().clone()));
    }
    let facts = vec![
        fact("time", &[date(&SystemTime::from(now))]),
        fact("operation", &[string(operation.as_str())]),
        fact("resource", &[string("admin"), string("api")]),
    ];
    run(admin_policy, Some(token), facts, Reason::WrongKind, false)
}

/// Runs the policy over the token and the request's facts.
/// `unmatched` is the reason when the policy denies without naming one.
fn run(
    policy: &Policy,
    token: Option<&VerifiedToken>,
    facts: Vec<Fact>,
    unmatched: Reason,
    explain: bool,
) -> Decision {
    let claims = token.map(|t| t.claims().clone());
    let mut explanation = Explanation::default();
    if explain {
        explanation.facts = facts.iter().map(ToString::to_string).collect();
    }
    let mut builder = policy.template.clone();
    for f in facts {
        builder = match builder.fact(f) {
            Ok(b) => b,
            Err(_) => return Decision::deny(Reason::Malformed, claims),
        };
    }
    let built = match token {
        Some(t) => builder.build(t.biscuit()),
        None => builder.build_unauthenticated(),
    };
    let mut authorizer = match built {
        Ok(a) => a,
        Err(e) => return Decision::deny(reason_for_build_error(&e), claims),
    };
    let result = authorizer.authorize();
    let policy_text = |authorizer: &biscuit_auth::Authorizer, i: usize| {
        explain
            .then(|| authorizer.dump().3.get(i).map(ToString::to_string))
            .flatten()
    };
    let reason = match &result {
        Ok(i) => {
            explanation.policy = policy_text(&authorizer, *i);
            None
        }
        Err(BiscuitError::FailedLogic(
            Logic::Unauthorized { checks, .. } | Logic::NoMatchingPolicy { checks },
        )) if !checks.is_empty() => {
            explanation.failed_checks = checks.iter().map(ToString::to_string).collect();
            Some(reason_for_failed_checks(token, checks))
        }
        Err(BiscuitError::FailedLogic(Logic::Unauthorized {
            policy: MatchedPolicy::Deny(i),
            ..
        })) => {
            explanation.policy = policy_text(&authorizer, *i);
            let named: Vec<(String,)> = authorizer
                .query("reason($r) <- denied($r)")
                .unwrap_or_default();
            Some(
                named
                    .iter()
                    .find_map(|(r,)| (r == "view_setting").then_some(Reason::ViewSetting))
                    .unwrap_or(unmatched),
            )
        }
        Err(BiscuitError::RunLimit(_)) => Some(Reason::Limits),
        Err(BiscuitError::Execution(_)) => Some(Reason::CheckFailed),
        Err(_) => Some(unmatched),
    };
    Decision {
        allowed: reason.is_none(),
        reason,
        claims,
        explanation,
    }
}

fn reason_for_build_error(e: &BiscuitError) -> Reason {
    match e {
        BiscuitError::RunLimit(_) => Reason::Limits,
        _ => Reason::Malformed,
    }
}

/// `expired` when a failed check is a block's expiry check, else `check_failed`.
fn reason_for_failed_checks(token: Option<&VerifiedToken>, checks: &[FailedCheck]) -> Reason {
    let expired = checks.iter().any(|c| match (c, token) {
        (FailedCheck::Block(b), Some(t)) => t.is_expiry_check_at(b.block_id, b.check_id),
        _ => false,
    });
    if expired {
        Reason::Expired
    } else {
        Reason::CheckFailed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_trusting_an_invalid_key_is_an_error_not_a_panic() {
        // Found by fuzzing: biscuit-auth's parser panics on this key.
        let source = "allow if true trusting ed25519/acdd6d5b53bfee478bf689f8e012fe7988bf755e3d7c5112947abc149bc20189;\ndeny if true;";
        assert!(matches!(
            Policy::from_source(source, RunLimits::default()),
            Err(PolicyError::Parse(_))
        ));
        assert!(!token::is_expiry_check(
            "check if time($t) trusting ed25519/acdd6d5b53bfee478bf689f8e012fe7988bf755e3d7c5112947abc149bc20189"
        ));
    }
}
