//! The bodies of a view's shares and embeds (`/admin/v1/views/{view}/shares`,
//! `/admin/v1/views/{view}/embeds`): what a member or the operator asks
//! for, the link answered once, the list of a view's active links, and the
//! refusals of a share asking for more than its maker holds. Closed words
//! (presets, operations, modes) are read as strings so a bad one answers
//! its own code.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    check_label, parse_expiry, EmbedMode, Id, LedgerEntry, Operation, SharePreset, TokenKind,
    TokenState,
};

use super::error::Invalid;

/// What `created_by` says of a link the operator (an admin token) made.
pub const MADE_BY_ADMIN: &str = "admin";

/// `POST /views/{view}/shares`: a guest link's permissions (a preset or
/// an explicit list, default `read-only`), expiry and label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    /// `read-only`, `editor` or `auditor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The operations, instead of a preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// A duration (`7d`) or an RFC 3339 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// A label (`Contractor – Q3 audit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl ShareBody {
    /// The operations asked: the preset's, the listed ones, or `read`.
    pub fn operations(&self) -> Result<BTreeSet<Operation>, Invalid> {
        match (&self.preset, &self.allow) {
            (Some(_), Some(_)) => Err(Invalid::PresetWithAllow),
            (Some(name), None) => SharePreset::from_str(name)
                .map(SharePreset::operations)
                .map_err(Invalid::UnknownPreset),
            (None, Some(list)) => {
                let ops = list
                    .iter()
                    .map(|op| Operation::from_str(op.trim()))
                    .collect::<Result<BTreeSet<_>, _>>()
                    .map_err(Invalid::UnknownOperation)?;
                if ops.is_empty() {
                    return Err(Invalid::UnknownOperation(
                        crate::model::ModelError::NoOperations,
                    ));
                }
                Ok(ops)
            }
            (None, None) => Ok(SharePreset::ReadOnly.operations()),
        }
    }
}

/// `POST /views/{view}/embeds`: the embed mode and an optional expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbedBody {
    /// `public`, `filtered` or `interactive`.
    #[schema(value_type = crate::model::EmbedMode)]
    pub mode: String,
    /// A duration (`30d`) or an RFC 3339 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// A label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl EmbedBody {
    /// The mode asked for.
    pub fn mode(&self) -> Result<EmbedMode, Invalid> {
        EmbedMode::from_str(&self.mode).map_err(Invalid::UnknownEmbedMode)
    }
}

/// An expiry as a body writes it (`7d`, RFC 3339), resolved at `now`, and
/// a label, checked: what shares and embeds both take.
pub fn expiry_and_label(
    expires: Option<&str>,
    label: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Invalid> {
    if let Some(label) = label {
        check_label(label).map_err(Invalid::Label)?;
    }
    let Some(text) = expires else {
        return Ok(None);
    };
    let at = parse_expiry(text, now).map_err(Invalid::Expiry)?;
    if at <= now {
        return Err(Invalid::Expiry(crate::model::ModelError::ExpiryInPast(at)));
    }
    Ok(Some(at))
}

/// Most columns a view may hide.
pub const MAX_HIDDEN_COLUMNS: usize = 256;

/// Longest column name, in characters.
pub const MAX_COLUMN_CHARS: usize = 64;

/// The `hidden_columns` of `PUT /views/{id}`, checked: at most
/// [`MAX_HIDDEN_COLUMNS`] names, each 1 to [`MAX_COLUMN_CHARS`] printable
/// characters (trimmed).
pub fn hidden_columns(list: &[String]) -> Result<BTreeSet<String>, Invalid> {
    if list.len() > MAX_HIDDEN_COLUMNS {
        return Err(Invalid::Column(format!(
            "at most {MAX_HIDDEN_COLUMNS} hidden columns"
        )));
    }
    list.iter()
        .map(|name| {
            let name = name.trim();
            let printable = check_label(name).is_ok();
            if name.is_empty() || name.chars().count() > MAX_COLUMN_CHARS || !printable {
                let shown: String = crate::text::terminal_safe(name).chars().take(70).collect();
                return Err(Invalid::Column(format!(
                    "column {shown:?} is not 1 to {MAX_COLUMN_CHARS} printable characters"
                )));
            }
            Ok(name.to_owned())
        })
        .collect()
}

/// The answer to `POST /views/{view}/shares` and `…/embeds`: the link,
/// once; the token text is in it and never again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SharedLink {
    /// The token text. Secret: never logged, not shown by `Debug`.
    pub token: String,
    /// Its ledger id (what revoking takes).
    pub token_id: Id,
    /// The share link `{base}/s/{token}`.
    pub link: String,
    /// The guest's operations on the view.
    pub permissions: BTreeSet<Operation>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// The member who made it, or `admin`.
    pub created_by: String,
    /// The embed mode, for an embed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<EmbedMode>,
}

impl fmt::Debug for SharedLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLink")
            .field("token_id", &self.token_id)
            .field("permissions", &self.permissions)
            .field("created_by", &self.created_by)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// One active link of a view, as `GET /views/{view}/shares` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareRow {
    /// Its ledger id.
    pub token_id: Id,
    /// Its label.
    pub label: Option<String>,
    /// The member who made it, or `admin`.
    pub created_by: String,
    /// The guest's operations on the view.
    pub permissions: BTreeSet<Operation>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// When a request last used it.
    pub last_used: Option<DateTime<Utc>>,
    /// Its state (`active`).
    pub state: TokenState,
    /// The embed mode, for an embed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<EmbedMode>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl ShareRow {
    /// The row of a guest ledger entry for `view`, when it is one and is
    /// active at `now`.
    pub fn of(entry: &LedgerEntry, view: &Id, now: DateTime<Utc>) -> Option<ShareRow> {
        let state = entry.state(now);
        if entry.kind != TokenKind::Guest || !entry.is_for_view(view) || state != TokenState::Active
        {
            return None;
        }
        Some(ShareRow {
            token_id: entry.token_id.clone(),
            label: entry.label.clone(),
            created_by: made_by(entry.shared_by.as_ref()),
            permissions: entry.rights.iter().map(|r| r.operation).collect(),
            expires_at: entry.expires_at,
            last_used: entry.last_used_at,
            state,
            mode: entry.embed,
            created_at: entry.created_at,
        })
    }
}

/// `created_by` of a link: its member, or `admin`.
pub fn made_by(shared_by: Option<&Id>) -> String {
    shared_by.map_or_else(|| MADE_BY_ADMIN.to_owned(), |u| u.to_string())
}

/// The answer to `GET /views/{view}/shares` (and `…/embeds`, embeds only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareList {
    /// The view.
    pub view: Id,
    /// Its active links, oldest first.
    pub shares: Vec<ShareRow>,
}

/// Why a member may not make (or see) a view's links (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareRefusal {
    /// The member does not hold `share` on the view.
    #[error("you do not hold share on view {0}")]
    NotSharer(Id),
    /// The link asks for an operation the member does not hold on the view.
    #[error("you may not share {operation} on view {view}: you do not hold {operation} there")]
    Exceeds {
        /// The operation missing.
        operation: Operation,
        /// The view.
        view: Id,
    },
    /// The ledger token is not a link of this view.
    #[error("token {token} is not a link of view {view}")]
    NotThisView {
        /// The token id.
        token: String,
        /// The view.
        view: Id,
    },
}

impl ShareRefusal {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            ShareRefusal::NotSharer(_) => "share_not_held",
            ShareRefusal::Exceeds { .. } => "share_exceeds_rights",
            ShareRefusal::NotThisView { .. } => "not_a_link_of_this_view",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(preset: Option<&str>, allow: Option<&[&str]>) -> ShareBody {
        ShareBody {
            preset: preset.map(str::to_owned),
            allow: allow.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
            ..ShareBody::default()
        }
    }

    #[test]
    fn operations_come_from_one_preset_or_one_list() {
        use Operation::*;
        assert_eq!(body(None, None).operations().unwrap(), [Read].into());
        assert_eq!(
            body(Some("editor"), None).operations().unwrap(),
            [Read, Write, Create].into()
        );
        assert_eq!(
            body(None, Some(&["read", "export"])).operations().unwrap(),
            [Read, Export].into()
        );
        assert_eq!(
            body(Some("owner"), None).operations().unwrap_err().code(),
            "unknown_preset"
        );
        assert_eq!(
            body(None, Some(&["fly"])).operations().unwrap_err().code(),
            "unknown_operation"
        );
        assert_eq!(
            body(None, Some(&[])).operations().unwrap_err().code(),
            "unknown_operation"
        );
        assert_eq!(
            body(Some("editor"), Some(&["read"]))
                .operations()
                .unwrap_err()
                .code(),
            "preset_with_allow"
        );
    }

    #[test]
    fn expiries_are_durations_or_instants_in_the_future() {
        let now = Utc::now();
        let at = expiry_and_label(Some("7d"), None, now).unwrap().unwrap();
        assert_eq!(at - now, chrono::Duration::days(7));
        for bad in ["soon", "2020-01-01T00:00:00Z"] {
            let err = expiry_and_label(Some(bad), None, now).unwrap_err();
            assert_eq!(err.code(), "invalid_expiry", "{bad}");
        }
        let err = expiry_and_label(None, Some("a\u{202e}b"), now).unwrap_err();
        assert_eq!(err.code(), "invalid_label");
    }
}
