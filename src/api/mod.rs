//! The admin API's (`/admin/v1`) request and response bodies, defined once:
//! the gateway's handlers answer with them and the CLI's `--server` backend
//! sends and reads them. The JSON field names are a contract.
//!
//! Pure data (serde): no axum, no HTTP client.

pub mod attenuation;
pub mod audit;
pub mod error;
pub mod fleet;
pub mod people;
pub mod projects;
pub mod shares;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    Id, LedgerEntry, Operation, Resource, TokenKind, TokenState, ViewSetting, ViewSettings,
    Visibility,
};

pub use audit::{AuditEvent, AuditLog};
pub use error::{Conflict, Invalid, Missing};
pub use people::{
    AccessInfo, GroupBody, GroupInfo, GroupList, MemberBody, MemberInfo, MemberList, MemberToken,
    MemberTokenBody, PermissionsInfo, UserBody, UserInfo,
};
pub use projects::{invitee_id, AssignedProject, InviteBody, ProjectMember, ProjectsBody};
pub use shares::{
    hidden_columns, EmbedBody, ShareBody, ShareList, ShareRefusal, ShareRow, SharedLink,
};

/// Operations as a JSON array or a comma-separated string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Operations {
    /// `["read", "export"]` (a repeated operation counts once)
    #[schema(value_type = Vec<Operation>)]
    List(BTreeSet<Operation>),
    /// `"read,export"`
    Text(String),
}

/// `POST /tokens`: what to issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// guest, api_key, admin or member.
    pub kind: TokenKind,
    /// The user (member tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Id>,
    /// The workspace (every kind but admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<Id>,
    /// The view (guest tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<Id>,
    /// The table (table API keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Id>,
    /// The operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Operations>,
    /// Only `read` (API keys).
    #[serde(default)]
    pub read_only: bool,
    /// A duration (`90d`) or an RFC 3339 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// A label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A ledger entry with its state now: one row of `GET /tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenRow {
    /// The ledger entry.
    #[serde(flatten)]
    pub entry: LedgerEntry,
    /// Active, expired or revoked.
    pub state: TokenState,
}

impl TokenRow {
    /// The row of `entry` at `now`.
    pub fn new(entry: LedgerEntry, now: DateTime<Utc>) -> Self {
        TokenRow {
            state: entry.state(now),
            entry,
        }
    }
}

/// The answer to `POST /tokens`: the token, once, with its ledger row.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// Its ledger row.
    #[serde(flatten)]
    pub row: TokenRow,
    /// The token text. Secret: never logged, not shown by `Debug`.
    pub token: String,
    /// The share link, for guest tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_link: Option<String>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

/// `GET /tokens?workspace=&view=&kind=&state=`: which rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFilter {
    /// Bound to this workspace.
    pub workspace: Option<Id>,
    /// With rights on this view.
    pub view: Option<Id>,
    /// Of this kind.
    pub kind: Option<TokenKind>,
    /// In this state.
    pub state: Option<TokenState>,
}

impl TokenFilter {
    /// True when `row` passes the filter.
    pub fn matches(&self, row: &TokenRow) -> bool {
        let e = &row.entry;
        (self.workspace.is_none() || e.workspace == self.workspace)
            && self.view.as_ref().is_none_or(|v| e.is_for_view(v))
            && self.kind.is_none_or(|k| e.kind == k)
            && self.state.is_none_or(|s| row.state == s)
    }
}

/// The answer to `GET /tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenList {
    /// The rows.
    pub tokens: Vec<TokenRow>,
}

/// `DELETE /tokens/{id}` and `DELETE /views/{id}/tokens`: an optional reason
/// (the body may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why, for the audit log.
    pub reason: Option<String>,
}

/// `POST /revocations`: one revocation id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationBody {
    /// Hex, as `tessera inspect` shows it.
    #[schema(pattern = "^([0-9a-fA-F]{2}){1,128}$")]
    pub revocation_id: String,
    /// Why, for the audit log.
    pub reason: Option<String>,
}

/// The answer to every revocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RevokedAnswer {
    /// Revocation ids newly revoked.
    pub revoked_ids: Vec<String>,
    /// Ledger tokens newly marked revoked.
    pub token_ids: Vec<Id>,
}

impl From<crate::change::Revoked> for RevokedAnswer {
    fn from(r: crate::change::Revoked) -> Self {
        RevokedAnswer {
            revoked_ids: r.revocation_ids,
            token_ids: r.token_ids,
        }
    }
}

/// The answer to `GET`/`PUT /workspaces/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkspaceInfo {
    /// The workspace.
    pub id: Id,
    /// Its display name, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its tables.
    pub tables: Vec<Id>,
}

impl WorkspaceInfo {
    /// A registered workspace as `registry` holds it, with its tables.
    pub fn of(registry: &crate::model::Registry, id: &Id) -> Option<WorkspaceInfo> {
        if !registry.workspaces.contains(id) {
            return None;
        }
        let tables = registry
            .tables
            .iter()
            .filter(|(_, ws)| *ws == id)
            .map(|(t, _)| t.clone())
            .collect();
        Some(WorkspaceInfo {
            id: id.clone(),
            name: registry.workspace_names.get(id).cloned(),
            tables,
        })
    }
}

/// `PUT /workspaces/{id}` (the body is optional): its display name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceBody {
    /// The display name to set (`Client A`); absent keeps the current one.
    #[serde(default)]
    pub name: Option<String>,
}

/// `PUT /tables/{id}`: its workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TableBody {
    /// The workspace.
    pub workspace: Id,
    /// Its creator (a member of the workspace); kept when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Id>,
}

/// The answer to `GET`/`PUT /tables/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableInfo {
    /// The table.
    pub id: Id,
    /// Its workspace.
    pub workspace: Id,
    /// Its views.
    pub views: Vec<Id>,
}

impl TableInfo {
    /// A registered table as `registry` holds it: its workspace and views.
    pub fn of(registry: &crate::model::Registry, id: &Id) -> Option<TableInfo> {
        let workspace = registry.tables.get(id)?.clone();
        let views = registry
            .views
            .iter()
            .filter(|(_, v)| v.table == *id)
            .map(|(v, _)| v.clone())
            .collect();
        Some(TableInfo {
            id: id.clone(),
            workspace,
            views,
        })
    }
}

/// `PUT /views/{id}`: place a view (`table` and `workspace`) and/or change
/// settings, given flat or under `settings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewBody {
    /// The table (with `workspace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Id>,
    /// The workspace (with `table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<Id>,
    /// `editable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editable: Option<bool>,
    /// `addable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addable: Option<bool>,
    /// `exportable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
    /// `public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// `locked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// Settings by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BTreeMap<String, bool>>,
    /// The columns the view hides, all of them (`[]`: none); absent keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_columns: Option<Vec<String>>,
    /// `personal`, `shared` or `locked` (TinyTables): `locked` is the
    /// `locked` setting on, the others off; read as a string so a bad word
    /// answers its own code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// The view's creator (a registered user): who sees a personal view
    /// and changes a locked one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<Id>,
}

impl ViewBody {
    /// A body placing the view and/or setting `changes`.
    pub fn new(placement: Option<(&Id, &Id)>, changes: &[(&str, bool)]) -> Self {
        ViewBody {
            table: placement.map(|(t, _)| t.clone()),
            workspace: placement.map(|(_, w)| w.clone()),
            settings: (!changes.is_empty())
                .then(|| changes.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect()),
            ..ViewBody::default()
        }
    }

    /// Where to place the view, when the body says.
    pub fn placement(&self) -> Result<Option<(Id, Id)>, Invalid> {
        match (&self.table, &self.workspace) {
            (Some(t), Some(w)) => Ok(Some((t.clone(), w.clone()))),
            (None, None) => Ok(None),
            _ => Err(Invalid::Placement),
        }
    }

    /// The settings to change, flat ones first, by name (not yet checked).
    pub fn changes(&self) -> Vec<(String, bool)> {
        let mut changes: Vec<(String, bool)> = ViewSetting::changes([
            self.editable,
            self.addable,
            self.exportable,
            self.public,
            self.locked,
        ])
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
        changes.extend(self.settings.clone().unwrap_or_default());
        // The visibility's word wins over a `locked` given beside it.
        if let Some(v) = self.visibility.as_deref().and_then(Visibility::from_word) {
            changes.push((
                ViewSetting::Locked.as_str().to_owned(),
                v == Visibility::Locked,
            ));
        }
        changes
    }

    /// The visibility asked, when one is (`unknown_visibility` for a word
    /// outside personal, shared, locked).
    pub fn visibility(&self) -> Result<Option<Visibility>, Invalid> {
        self.visibility
            .as_deref()
            .map(|w| Visibility::from_word(w).ok_or_else(|| Invalid::Visibility(w.to_owned())))
            .transpose()
    }

    /// The visibility asked, checked against `registry` for `view`: the
    /// creator is a registered user (`unknown_user`), and a personal view
    /// has a creator, given or recorded (`creator_required`).
    pub fn checked_visibility(
        &self,
        registry: &crate::model::Registry,
        view: &Id,
    ) -> Result<Option<Visibility>, Invalid> {
        let visibility = self.visibility()?;
        if let Some(user) = &self.creator {
            if !registry.people.users.contains_key(user) {
                return Err(Invalid::UnknownUser(user.clone()));
            }
        }
        let recorded = registry
            .view_owners
            .get(view)
            .is_some_and(|o| o.creator.is_some());
        if visibility == Some(Visibility::Personal) && self.creator.is_none() && !recorded {
            return Err(Invalid::CreatorRequired);
        }
        Ok(visibility)
    }
}

/// The answer to `GET`/`PUT /views/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ViewInfo {
    /// The view.
    pub id: Id,
    /// Its table.
    pub table: Id,
    /// Its table's workspace.
    pub workspace: Option<Id>,
    /// Its settings.
    pub settings: ViewSettings,
    /// The columns it hides (embeds may not sort or filter by them).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub hidden_columns: BTreeSet<String>,
    /// Its visibility (`locked` exactly when the `locked` setting is on,
    /// unless personal).
    #[serde(default)]
    pub visibility: Visibility,
    /// Its creator, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<Id>,
}

impl ViewInfo {
    /// A registered view as `registry` holds it.
    pub fn of(registry: &crate::model::Registry, view: &Id) -> Option<ViewInfo> {
        let entry = registry.views.get(view)?;
        let owner = registry.view_owners.get(view);
        Some(ViewInfo {
            id: view.clone(),
            table: entry.table.clone(),
            workspace: registry.tables.get(&entry.table).cloned(),
            settings: entry.settings,
            hidden_columns: registry
                .hidden_columns
                .get(view)
                .cloned()
                .unwrap_or_default(),
            visibility: Visibility::of(&entry.settings, owner),
            creator: owner.and_then(|o| o.creator.clone()),
        })
    }
}

/// `POST /decisions`: the gateway's decision for any request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// The token text (none: anonymous). Secret: not shown by `Debug`.
    pub token: Option<String>,
    /// The operation.
    pub operation: Operation,
    /// The resource.
    pub resource: Resource,
    /// When (default: now).
    pub at: Option<DateTime<Utc>>,
    /// Explain the decision.
    #[serde(default)]
    pub explain: bool,
}

impl fmt::Debug for DecisionBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecisionBody")
            .field("operation", &self.operation)
            .field("resource", &self.resource)
            .field("at", &self.at)
            .field("explain", &self.explain)
            .finish_non_exhaustive()
    }
}

/// Every error answer: `{ "error": code, "message": … }` (the gateway adds
/// `request_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorAnswer {
    /// The error code.
    pub error: String,
    /// What went wrong, for API clients.
    pub message: String,
}

#[cfg(test)]
mod tests;
