//! What the ledger records of an issued token ([`LedgerEntry`]) and whether
//! it still works ([`TokenState`]).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::grant::TokenKind;
use super::id::Id;
use super::resource::{Resource, ResourceKind, Right};
use super::share::EmbedMode;

/// Whether a ledger entry still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    /// Not expired, not revoked.
    Active,
    /// Past its expiry.
    Expired,
    /// Its authority block's revocation id is revoked.
    Revoked,
}

impl fmt::Display for TokenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            TokenState::Active => "active",
            TokenState::Expired => "expired",
            TokenState::Revoked => "revoked",
        })
    }
}

/// What the ledger records of an issued token; never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    /// The `token_id` fact.
    pub token_id: Id,
    /// Who it is for.
    pub kind: TokenKind,
    /// The workspace it is bound to.
    pub workspace: Option<Id>,
    /// The user a member token names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Id>,
    /// The single resource its rights are on, when there is one.
    pub scope: Option<Resource>,
    /// Its rights.
    pub rights: Vec<Right>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Its label.
    pub label: Option<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// The root key that signed it.
    pub root_key_id: u32,
    /// Its authority block's revocation id(s), hex.
    pub revocation_ids: Vec<String>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
    /// When a request last used it (recorded by the gateway, batched).
    pub last_used_at: Option<DateTime<Utc>>,
    /// The member who made this guest link, when a member made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_by: Option<Id>,
    /// The embed mode, for a link made for a page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed: Option<EmbedMode>,
}

impl LedgerEntry {
    /// Active, expired or revoked at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> TokenState {
        if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }

    /// True when the token's rights name `view`.
    pub fn is_for_view(&self, view: &Id) -> bool {
        self.rights
            .iter()
            .any(|r| r.resource.kind == ResourceKind::View && &r.resource.id == view)
    }
}
