//! Policies: the Datalog the authorizer runs (the embedded default or a
//! file), its run limits, and the largest terms its facts can bind.

use std::fmt;
use std::time::Duration;

use biscuit_auth::AuthorizerBuilder;
use biscuit_auth::AuthorizerLimits;
use serde::{Deserialize, Serialize};

use crate::token::{self, TermBounds};

/// The default policy, embedded at build time from `policies/default.datalog`.
pub const DEFAULT_POLICY: &str = include_str!("../../policies/default.datalog");

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

impl Policy {
    /// The authorizer template every decision clones.
    pub(super) fn template(&self) -> &AuthorizerBuilder {
        &self.template
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
