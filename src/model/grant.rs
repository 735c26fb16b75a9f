//! What a token is issued for and narrowed to: the [`TokenKind`], the
//! [`Grant`] an issuer signs, the [`IssueRequest`] it is built from against
//! the registry, and the [`Restriction`] an attenuation block adds.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{by_name, Exclusion, ModelError};
use super::id::Id;
use super::label::{check_label, validate_expiry, validate_label};
use super::registry::Registry;
use super::resource::{Operation, Resource, Right};
use super::share::EmbedMode;

/// Who a token was issued to, as the authority block's `kind(…)` fact says.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Someone who is not a member: a client, contractor, auditor; one view.
    Guest,
    /// A script: a workspace key, a table key, or a read-only key.
    ApiKey,
    /// The operator: the admin API only.
    Admin,
    /// A member of workspaces, logged in by the host product: the token
    /// names the user (`user(id)`), never what it may do — roles, table
    /// access and groups are read from the registry at each decision.
    Member,
}

impl TokenKind {
    /// Every kind.
    pub const ALL: [TokenKind; 4] = [
        TokenKind::Guest,
        TokenKind::ApiKey,
        TokenKind::Admin,
        TokenKind::Member,
    ];

    /// The name used in Datalog and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Guest => "guest",
            TokenKind::ApiKey => "api_key",
            TokenKind::Admin => "admin",
            TokenKind::Member => "member",
        }
    }
}

impl FromStr for TokenKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(&Self::ALL, Self::as_str, s, ModelError::UnknownTokenKind)
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What an issuer signs into a token's authority block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who it is for.
    pub kind: TokenKind,
    /// The workspace it is bound to (guests and API keys have one).
    pub workspace: Option<Id>,
    /// The user a member token names (member tokens only).
    pub user: Option<Id>,
    /// The rights, one per (resource, operation).
    pub rights: Vec<Right>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// A human note, shown by `inspect` and the ledger.
    pub label: Option<String>,
    /// The member who made this guest link (`shared_by(user)`): it works
    /// only while that member holds `share` and the operation asked on the
    /// view, read from the registry at each decision.
    pub shared_by: Option<Id>,
    /// The embed mode of a guest link made for a page (`embed(mode)`).
    pub embed: Option<EmbedMode>,
}

impl Grant {
    /// One view of one workspace, for someone who is not a member.
    pub fn guest(workspace: Id, view: Id, operations: &BTreeSet<Operation>) -> Self {
        Grant::scoped(
            TokenKind::Guest,
            workspace,
            Resource::view(view),
            operations,
        )
    }

    /// A workspace key, or a table key when `table` is given.
    pub fn api_key(workspace: Id, table: Option<Id>, operations: &BTreeSet<Operation>) -> Self {
        let resource = match table {
            Some(t) => Resource::table(t),
            None => Resource::workspace(workspace.clone()),
        };
        Grant::scoped(TokenKind::ApiKey, workspace, resource, operations)
    }

    /// A token for the admin API.
    pub fn admin() -> Self {
        Grant {
            kind: TokenKind::Admin,
            workspace: None,
            user: None,
            rights: Vec::new(),
            expires_at: None,
            label: None,
            shared_by: None,
            embed: None,
        }
    }

    /// A member token for `user`: who, never what.
    pub fn member(user: Id) -> Self {
        Grant {
            kind: TokenKind::Member,
            user: Some(user),
            ..Grant::admin()
        }
    }

    /// The vocabulary version the token needs: `tessera(2)` for member
    /// tokens and for rights naming an operation added in 2, else 1, so
    /// tokens of the first vocabulary read exactly as before.
    pub fn vocabulary(&self) -> i64 {
        let ops = self.rights.iter().map(|r| r.operation.vocabulary());
        let kind = if self.kind == TokenKind::Member { 2 } else { 1 };
        ops.fold(kind, i64::max)
    }

    fn scoped(
        kind: TokenKind,
        workspace: Id,
        resource: Resource,
        operations: &BTreeSet<Operation>,
    ) -> Self {
        Grant {
            kind,
            workspace: Some(workspace),
            user: None,
            rights: operations
                .iter()
                .map(|&operation| Right {
                    resource: resource.clone(),
                    operation,
                })
                .collect(),
            expires_at: None,
            label: None,
            shared_by: None,
            embed: None,
        }
    }

    /// Sets the expiry.
    pub fn expires_at(mut self, at: Option<DateTime<Utc>>) -> Self {
        self.expires_at = at;
        self
    }

    /// Sets the label.
    pub fn label(mut self, label: Option<String>) -> Self {
        self.label = label;
        self
    }

    /// Checks the grant can be issued at `now`: rights for non-admin kinds,
    /// an expiry in the future, a printable label.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ModelError> {
        let rightless = matches!(self.kind, TokenKind::Admin | TokenKind::Member);
        if !rightless && self.rights.is_empty() {
            return Err(ModelError::NoOperations);
        }
        if self.kind == TokenKind::Member && self.user.is_none() {
            return Err(ModelError::MissingField {
                kind: "member",
                field: "a user",
            });
        }
        validate_expiry(self.expires_at, now)?;
        if let Some(label) = &self.label {
            validate_label(label)?;
        }
        Ok(())
    }

    /// The single resource all rights are on, when there is one.
    pub fn scope(&self) -> Option<&Resource> {
        let first = &self.rights.first()?.resource;
        self.rights
            .iter()
            .all(|r| &r.resource == first)
            .then_some(first)
    }
}

/// What someone asks to have issued (CLI `issue` or the admin API's
/// `POST /tokens`), before it is checked against the registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// guest, api_key, admin or member.
    pub kind: TokenKind,
    /// The user (member tokens).
    #[serde(default)]
    pub user: Option<Id>,
    /// The workspace (every kind but admin).
    #[serde(default)]
    pub workspace: Option<Id>,
    /// The view (guest tokens).
    #[serde(default)]
    pub view: Option<Id>,
    /// The table (table API keys).
    #[serde(default)]
    pub table: Option<Id>,
    /// The operations; API keys default to everything but `share`.
    #[serde(default)]
    pub allow: Option<BTreeSet<Operation>>,
    /// Only `read` (API keys).
    #[serde(default)]
    pub read_only: bool,
    /// Expiry, already resolved to an instant.
    #[serde(skip)]
    pub expires_at: Option<DateTime<Utc>>,
    /// A label.
    #[serde(default)]
    pub label: Option<String>,
}

impl IssueRequest {
    /// A request of `kind` in `workspace` with nothing else set yet.
    pub fn new(kind: TokenKind, workspace: Option<Id>) -> Self {
        IssueRequest {
            kind,
            user: None,
            workspace,
            view: None,
            table: None,
            allow: None,
            read_only: false,
            expires_at: None,
            label: None,
        }
    }

    /// The grant this request asks for, when its resource is registered in
    /// its workspace and its label is one [`check_label`] accepts (the
    /// error names a refused character). The expiry is checked at issue time.
    pub fn grant(&self, registry: &Registry) -> Result<Grant, ModelError> {
        if let Some(label) = &self.label {
            check_label(label)?;
        }
        let kind = self.kind.as_str();
        let workspace = || {
            self.workspace.clone().ok_or(ModelError::MissingField {
                kind,
                field: "a workspace",
            })
        };
        let registered = |resource: Resource, workspace: &Id| {
            if registry.workspace_of(&resource).as_ref() == Some(workspace) {
                Ok(())
            } else {
                Err(ModelError::NotRegistered {
                    resource: resource.to_string(),
                    workspace: workspace.to_string(),
                })
            }
        };
        let grant = match self.kind {
            TokenKind::Guest => {
                let workspace = workspace()?;
                let view = self.view.clone().ok_or(ModelError::MissingField {
                    kind,
                    field: "a view",
                })?;
                if self.table.is_some() || self.read_only {
                    return Err(ModelError::Conflict(Exclusion::GuestScope));
                }
                let ops = self.allow.clone().ok_or(ModelError::NoOperations)?;
                registered(Resource::view(view.clone()), &workspace)?;
                Grant::guest(workspace, view, &ops)
            }
            TokenKind::ApiKey => {
                let workspace = workspace()?;
                if self.view.is_some() {
                    return Err(ModelError::Conflict(Exclusion::ApiKeyView));
                }
                let ops = match (&self.allow, self.read_only) {
                    (Some(_), true) => {
                        return Err(ModelError::Conflict(Exclusion::ReadOnlyWithAllow))
                    }
                    (Some(ops), false) => ops.clone(),
                    (None, true) => BTreeSet::from([Operation::Read]),
                    (None, false) => Operation::ALL
                        .into_iter()
                        .filter(|&op| op != Operation::Share)
                        .collect(),
                };
                let scope = match &self.table {
                    Some(t) => Resource::table(t.clone()),
                    None => Resource::workspace(workspace.clone()),
                };
                registered(scope, &workspace)?;
                Grant::api_key(workspace, self.table.clone(), &ops)
            }
            TokenKind::Admin => {
                if self.workspace.is_some() || self.view.is_some() || self.table.is_some() {
                    return Err(ModelError::Conflict(Exclusion::AdminScope));
                }
                Grant::admin()
            }
            TokenKind::Member => {
                let scoped =
                    self.workspace.is_some() || self.view.is_some() || self.table.is_some();
                if scoped || self.allow.is_some() || self.read_only {
                    return Err(ModelError::Conflict(Exclusion::MemberScope));
                }
                let user = self.user.clone().ok_or(ModelError::MissingField {
                    kind,
                    field: "a user",
                })?;
                if !registry.people.users.contains_key(&user) {
                    return Err(ModelError::UnknownUser(user.to_string()));
                }
                Grant::member(user)
            }
        };
        Ok(grant.expires_at(self.expires_at).label(self.label.clone()))
    }
}

/// What an attenuation block narrows: a subset of operations, one resource,
/// an earlier expiry, a label. It can only take away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// Only these operations, when set.
    pub operations: Option<BTreeSet<Operation>>,
    /// Only this view or table (and what a table contains), when set.
    pub resource: Option<Resource>,
    /// Not after this instant, when set.
    pub expires_at: Option<DateTime<Utc>>,
    /// A note for whoever inspects the token.
    pub label: Option<String>,
}

impl Restriction {
    /// Checks the restriction can be applied at `now`.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ModelError> {
        if matches!(&self.operations, Some(ops) if ops.is_empty()) {
            return Err(ModelError::NoOperations);
        }
        validate_expiry(self.expires_at, now)?;
        if let Some(label) = &self.label {
            check_label(label)?;
        }
        Ok(())
    }

    /// True when the restriction narrows nothing and labels nothing.
    pub fn is_empty(&self) -> bool {
        self == &Restriction::default()
    }
}
