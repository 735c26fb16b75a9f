//! One authorizer run: the policy over the token and the request's facts,
//! and the reason read from how it failed (expired, check failed, run
//! limits, a named denial, or the caller's default).

use biscuit_auth::builder::Fact;
use biscuit_auth::error::{FailedCheck, Logic, MatchedPolicy, Token as BiscuitError};

use crate::token::VerifiedToken;

use super::policy::Policy;
use super::reason::{Decision, Explanation, Reason};

/// Runs the policy over the token and the request's facts.
/// `unmatched` is the reason when the policy denies without naming one.
pub(super) fn run(
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
    let mut builder = policy.template().clone();
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
