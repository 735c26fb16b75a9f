//! The admin API's decision: an admin token, unrevoked, within its own
//! checks, for `read` or `manage` on `resource("admin", "api")`.

use std::time::SystemTime;

use biscuit_auth::builder::{date, fact, string};
use chrono::{DateTime, Utc};

use crate::model::{Operation, RevocationSet};
use crate::token::VerifiedToken;

use super::decide::is_revoked;
use super::policy::Policy;
use super::reason::{Decision, Reason};
use super::run::run;

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
