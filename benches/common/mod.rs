//! Fixtures the token and decision benches share: a fixed clock, ids, and
//! the guest grant the targets are about (one view, read + export,
//! 90 days).
// Each bench uses a different subset.
#![allow(dead_code)]

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use tessera::authorize::{Context, Policy};
use tessera::keys::PublicKeyring;
use tessera::model::{Grant, Id, Operation, Registry, RevocationSet};
use tessera::token::{TokenLimits, DEFAULT_MAX_TOKEN_BYTES};

/// The fixed "now" every bench runs at.
pub(crate) fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
        .expect("fixed instant")
        .with_timezone(&Utc)
}

pub(crate) fn id(s: &str) -> Id {
    Id::new(s).expect("valid id")
}

/// A guest grant on v_1 (workspace ws_1): read and export, 90 days.
pub(crate) fn guest_grant(now: DateTime<Utc>) -> Grant {
    guest_grant_on("ws_1", "v_1", now)
}

/// The same grant on another workspace and view.
pub(crate) fn guest_grant_on(workspace: &str, view: &str, now: DateTime<Utc>) -> Grant {
    let ops: BTreeSet<Operation> = [Operation::Read, Operation::Export].into();
    Grant::guest(id(workspace), id(view), &ops).expires_at(Some(now + chrono::Duration::days(90)))
}

/// A decision context over these parts: the default token size and
/// limits, no explanation (the hot path).
pub(crate) fn context<'a>(
    keyring: &'a PublicKeyring,
    revocations: &'a RevocationSet,
    registry: &'a Registry,
    policy: &'a Policy,
) -> Context<'a> {
    Context {
        keyring,
        revocations,
        registry,
        policy,
        max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        token_limits: TokenLimits::default(),
        explain: false,
    }
}
