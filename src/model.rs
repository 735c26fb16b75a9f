//! The domain as plain data: ids, operations, resources, grants, restrictions,
//! view settings, the registry's containment and the revocation set.
//!
//! Nothing here does I/O or reads the clock; every function that needs "now"
//! takes it as an argument.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Why a piece of user input is not a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// An id outside `[A-Za-z0-9_-]{1,64}`.
    #[error("invalid id {0:?}: ids are 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")]
    InvalidId(String),
    /// An operation outside the closed set.
    #[error("unknown operation {0:?}: expected one of read, write, create, delete, export, manage, share")]
    UnknownOperation(String),
    /// A grant or restriction that names no operation at all.
    #[error("no operations given: name at least one of read, write, create, delete, export, manage, share")]
    NoOperations,
    /// A resource kind outside workspace, table, view.
    #[error("unknown resource kind {0:?}: expected workspace, table or view")]
    UnknownResourceKind(String),
    /// A token kind outside guest, api_key, admin.
    #[error("unknown token kind {0:?}: expected guest, api_key or admin")]
    UnknownTokenKind(String),
    /// An expiry that is neither a duration (`90d`) nor an RFC 3339 instant.
    #[error("invalid expiry {0:?}: use a duration such as 90d, 12h, 30m, 2w, or an RFC 3339 time such as 2027-02-22T00:00:00Z")]
    InvalidExpiry(String),
    /// An expiry that is not in the future.
    #[error("expiry {0} is not in the future")]
    ExpiryInPast(DateTime<Utc>),
    /// A label that is too long or holds control, bidirectional or
    /// invisible formatting characters.
    #[error("invalid label: at most 128 printable characters, none of them a control, bidirectional or invisible formatting character")]
    InvalidLabel,
    /// A label holding a character a terminal would act on or that hides
    /// or reorders text ([`crate::text::is_unsafe_char`]), named as a
    /// visible escape.
    #[error("invalid label: character {position} is {escaped}, a control, bidirectional or invisible formatting character; labels are at most 128 printable characters")]
    LabelCharacter {
        /// 1-based position of the character in the label.
        position: usize,
        /// The character as a visible escape, e.g. `\u{202e}`.
        escaped: String,
    },
    /// A view setting name outside the known five.
    #[error(
        "unknown view setting {0:?}: expected editable, addable, exportable, public or locked"
    )]
    UnknownSetting(String),
    /// The resource a token would be issued for is not in the registry.
    #[error("{resource} is not registered in workspace {workspace}; register it first")]
    NotRegistered {
        /// The resource asked for.
        resource: String,
        /// The workspace it should be in.
        workspace: String,
    },
    /// A field the token kind needs is missing.
    #[error("a {kind} token needs {field}")]
    MissingField {
        /// The token kind.
        kind: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// Two fields that exclude each other were both given.
    #[error("{0}")]
    Conflict(Exclusion),
}

/// Request fields that exclude each other, named as the admin API names
/// them (the CLI words them with its flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exclusion {
    /// A guest token with a table or `read_only`.
    #[error("a guest token is for one view: table and read_only do not apply")]
    GuestScope,
    /// An API key for a view.
    #[error("an API key covers a workspace or a table, not a view")]
    ApiKeyView,
    /// `read_only` with `allow`.
    #[error("read_only and allow cannot be used together: a read-only key allows only read")]
    ReadOnlyWithAllow,
    /// An admin token with a workspace, table or view.
    #[error("an admin token is for the admin API, not a workspace, table or view")]
    AdminScope,
}

/// An opaque identifier for a workspace, table, view or token: `[A-Za-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

impl Id {
    /// Validates `s` as an id.
    pub fn new(s: &str) -> Result<Self, ModelError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Id(s.to_owned()))
        } else {
            Err(ModelError::InvalidId(truncate_for_message(s)))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Keeps user input quoted in an error message short.
fn truncate_for_message(s: &str) -> String {
    s.chars().take(80).collect()
}

impl TryFrom<String> for Id {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Id::new(&s)
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl FromStr for Id {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::new(s)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// What a request does to a resource: the closed set of operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// See rows.
    Read,
    /// Edit rows.
    Write,
    /// Add rows.
    Create,
    /// Delete rows.
    Delete,
    /// Download the data.
    Export,
    /// Change columns, structure or view configuration.
    Manage,
    /// Issue guest tokens for the resource.
    Share,
}

impl Operation {
    /// Every operation, in a stable order.
    pub const ALL: [Operation; 7] = [
        Operation::Read,
        Operation::Write,
        Operation::Create,
        Operation::Delete,
        Operation::Export,
        Operation::Manage,
        Operation::Share,
    ];

    /// The lower-case name used in Datalog and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Write => "write",
            Operation::Create => "create",
            Operation::Delete => "delete",
            Operation::Export => "export",
            Operation::Manage => "manage",
            Operation::Share => "share",
        }
    }

    /// Parses a comma-separated list (`read,write`) into a non-empty set.
    pub fn parse_list(s: &str) -> Result<BTreeSet<Operation>, ModelError> {
        let ops = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Operation::from_str)
            .collect::<Result<BTreeSet<_>, _>>()?;
        if ops.is_empty() {
            return Err(ModelError::NoOperations);
        }
        Ok(ops)
    }
}

impl FromStr for Operation {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| ModelError::UnknownOperation(truncate_for_message(s)))
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The three levels of the resource model: `workspace ⊃ table ⊃ view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// A workspace (a seed's "project").
    Workspace,
    /// A table (a seed's "schema").
    Table,
    /// A view of a table.
    View,
}

impl ResourceKind {
    /// The lower-case name used in Datalog and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Workspace => "workspace",
            ResourceKind::Table => "table",
            ResourceKind::View => "view",
        }
    }
}

impl FromStr for ResourceKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "workspace" => Ok(ResourceKind::Workspace),
            "table" => Ok(ResourceKind::Table),
            "view" => Ok(ResourceKind::View),
            other => Err(ModelError::UnknownResourceKind(truncate_for_message(other))),
        }
    }
}

/// One workspace, table or view.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Resource {
    /// Which level of the model.
    pub kind: ResourceKind,
    /// Its id.
    pub id: Id,
}

impl Resource {
    /// A workspace resource.
    pub fn workspace(id: Id) -> Self {
        Resource {
            kind: ResourceKind::Workspace,
            id,
        }
    }
    /// A table resource.
    pub fn table(id: Id) -> Self {
        Resource {
            kind: ResourceKind::Table,
            id,
        }
    }
    /// A view resource.
    pub fn view(id: Id) -> Self {
        Resource {
            kind: ResourceKind::View,
            id,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

/// Who a token was issued to, as the authority block's `kind(…)` fact says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Someone who is not a member: a client, contractor, auditor; one view.
    Guest,
    /// A script: a workspace key, a table key, or a read-only key.
    ApiKey,
    /// The operator: the admin API only.
    Admin,
}

impl TokenKind {
    /// The name used in Datalog and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Guest => "guest",
            TokenKind::ApiKey => "api_key",
            TokenKind::Admin => "admin",
        }
    }
}

impl FromStr for TokenKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "guest" => Ok(TokenKind::Guest),
            "api_key" => Ok(TokenKind::ApiKey),
            "admin" => Ok(TokenKind::Admin),
            other => Err(ModelError::UnknownTokenKind(truncate_for_message(other))),
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One `right(kind, id, operation)` fact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Right {
    /// What the right is on.
    pub resource: Resource,
    /// What it allows.
    pub operation: Operation,
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.operation)
    }
}

/// The most characters a label may have.
pub const MAX_LABEL_CHARS: usize = 128;

/// A label on a token or an attenuation block: at most
/// [`MAX_LABEL_CHARS`] characters, none of them
/// [unsafe on a terminal](crate::text::is_unsafe_char) (controls, ANSI
/// escapes, bidirectional overrides, invisible formatting). The error names
/// the first offending character ([`ModelError::LabelCharacter`]), or is
/// [`ModelError::InvalidLabel`] for a label that is too long.
pub fn check_label(label: &str) -> Result<(), ModelError> {
    if let Some((i, c)) = label
        .chars()
        .enumerate()
        .find(|&(_, c)| crate::text::is_unsafe_char(c))
    {
        return Err(ModelError::LabelCharacter {
            position: i + 1,
            escaped: crate::text::escape_char(c),
        });
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(ModelError::InvalidLabel);
    }
    Ok(())
}

/// [`check_label`]'s rules with one error for every way a label can be
/// wrong, [`ModelError::InvalidLabel`]: the check a [`Grant`] makes of
/// itself at issue time. Entries that take a label from a person
/// ([`IssueRequest::grant`], [`Restriction::validate`]) use
/// [`check_label`], which says which character is refused.
pub fn validate_label(label: &str) -> Result<(), ModelError> {
    check_label(label).map_err(|_| ModelError::InvalidLabel)
}

/// What an issuer signs into a token's authority block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who it is for.
    pub kind: TokenKind,
    /// The workspace it is bound to (every kind but admin has one).
    pub workspace: Option<Id>,
    /// The rights, one per (resource, operation).
    pub rights: Vec<Right>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// A human note, shown by `inspect` and the ledger.
    pub label: Option<String>,
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
            rights: Vec::new(),
            expires_at: None,
            label: None,
        }
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
            rights: operations
                .iter()
                .map(|&operation| Right {
                    resource: resource.clone(),
                    operation,
                })
                .collect(),
            expires_at: None,
            label: None,
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
        if self.kind != TokenKind::Admin && self.rights.is_empty() {
            return Err(ModelError::NoOperations);
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

fn validate_expiry(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), ModelError> {
    match at {
        Some(at) if at <= now => Err(ModelError::ExpiryInPast(at)),
        _ => Ok(()),
    }
}

/// What someone asks to have issued (CLI `issue` or the admin API's
/// `POST /tokens`), before it is checked against the registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// guest, api_key or admin.
    pub kind: TokenKind,
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

/// Parses `90d`, `12h`, `30m`, `2w`, `3600s` (relative to `now`) or an RFC 3339 instant.
pub fn parse_expiry(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ModelError> {
    let invalid = || ModelError::InvalidExpiry(truncate_for_message(s));
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Ok(at.with_timezone(&Utc));
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
    let (digits, unit) = s.split_at(split);
    let n: i64 = digits.parse().map_err(|_| invalid())?;
    let duration = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
    .ok_or_else(invalid)?;
    now.checked_add_signed(duration).ok_or_else(invalid)
}

/// A view's settings, held by the registry and editable at any time.
/// The view setting wins over what a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewSettings {
    /// Rows may be edited or deleted (`write`, `delete`): a view that is
    /// not editable is read-only, except for adding rows when `addable`.
    pub editable: bool,
    /// Rows may be added (`create`).
    pub addable: bool,
    /// Data may be exported (`export`).
    pub exportable: bool,
    /// Anyone may read the view with no token; never write.
    pub public: bool,
    /// The view's configuration may not be changed (`manage`).
    pub locked: bool,
}

impl Default for ViewSettings {
    /// A new view: editable, addable and exportable as far as tokens allow;
    /// not public, not locked.
    fn default() -> Self {
        ViewSettings {
            editable: true,
            addable: true,
            exportable: true,
            public: false,
            locked: false,
        }
    }
}

impl ViewSettings {
    /// The setting names, in the order the gateway states them.
    pub const NAMES: [&'static str; 5] = ["editable", "addable", "exportable", "public", "locked"];

    /// Every setting as `(name, value)`.
    pub fn entries(&self) -> [(&'static str, bool); 5] {
        [
            ("editable", self.editable),
            ("addable", self.addable),
            ("exportable", self.exportable),
            ("public", self.public),
            ("locked", self.locked),
        ]
    }

    /// Sets one setting by name.
    pub fn set(&mut self, name: &str, value: bool) -> Result<(), ModelError> {
        let slot = match name {
            "editable" => &mut self.editable,
            "addable" => &mut self.addable,
            "exportable" => &mut self.exportable,
            "public" => &mut self.public,
            "locked" => &mut self.locked,
            other => return Err(ModelError::UnknownSetting(truncate_for_message(other))),
        };
        *slot = value;
        Ok(())
    }
}

/// A view in the registry: the table it shows and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewEntry {
    /// The table the view shows.
    pub table: Id,
    /// Its current settings.
    pub settings: ViewSettings,
}

/// The registry's picture of containment and view settings, as the gateway
/// holds it in memory: workspaces, tables in workspaces, views of tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    /// Known workspaces.
    pub workspaces: BTreeSet<Id>,
    /// Table id → its workspace.
    pub tables: BTreeMap<Id, Id>,
    /// View id → its table and settings.
    pub views: BTreeMap<Id, ViewEntry>,
}

/// One `parent(kind, id, parent_kind, parent_id)` fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containment {
    /// The contained resource.
    pub child: Resource,
    /// What contains it.
    pub parent: Resource,
}

impl Registry {
    /// The containment chain of `resource` up to its workspace, or `None`
    /// when the resource (or one of its containers) is not registered.
    pub fn containment(&self, resource: &Resource) -> Option<Vec<Containment>> {
        let mut chain = Vec::new();
        let mut current = resource.clone();
        loop {
            let parent = match current.kind {
                ResourceKind::Workspace => {
                    return self.workspaces.contains(&current.id).then_some(chain);
                }
                ResourceKind::Table => Resource::workspace(self.tables.get(&current.id)?.clone()),
                ResourceKind::View => Resource::table(self.views.get(&current.id)?.table.clone()),
            };
            chain.push(Containment {
                child: current,
                parent: parent.clone(),
            });
            current = parent;
        }
    }

    /// The workspace `resource` lives in, when it is registered.
    pub fn workspace_of(&self, resource: &Resource) -> Option<Id> {
        let chain = self.containment(resource)?;
        Some(chain.last().map_or(&resource.id, |c| &c.parent.id).clone())
    }
}

/// The revocation ids currently revoked: checked on every request, before
/// and independent of any cache.
///
/// Kept as the first 16 bytes of each id (zero-padded when shorter): a
/// revocation id is a block signature, so 128 bits tell ids apart (a
/// collision could only deny a token, never allow one), and a million
/// revoked ids take about 35 MB instead of about 110.
#[derive(Debug, Clone, Default)]
pub struct RevocationSet {
    ids: HashSet<u128>,
}

/// The key the revocation set (and the store's index) keeps for an id.
pub fn revocation_key(id: &[u8]) -> u128 {
    let mut key = [0u8; 16];
    let n = id.len().min(16);
    key[..n].copy_from_slice(&id[..n]);
    u128::from_le_bytes(key)
}

impl RevocationSet {
    /// A set holding `ids`.
    pub fn from_ids<I: IntoIterator<Item = Vec<u8>>>(ids: I) -> Self {
        RevocationSet {
            ids: ids.into_iter().map(|id| revocation_key(&id)).collect(),
        }
    }

    /// A set holding these keys ([`revocation_key`] of each id).
    pub fn from_keys(keys: Vec<u128>) -> Self {
        let mut ids = HashSet::with_capacity(keys.len());
        ids.extend(keys);
        RevocationSet { ids }
    }

    /// Adds one id.
    pub fn insert(&mut self, id: &[u8]) {
        self.ids.insert(revocation_key(id));
    }

    /// True when `id` is revoked.
    pub fn contains(&self, id: &[u8]) -> bool {
        self.ids.contains(&revocation_key(id))
    }

    /// How many ids are revoked.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Whether a ledger entry still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The `token_id` fact.
    pub token_id: Id,
    /// Who it is for.
    pub kind: TokenKind,
    /// The workspace it is bound to.
    pub workspace: Option<Id>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::new(s).unwrap()
    }

    #[test]
    fn ids_are_validated() {
        assert!(Id::new("ws_1-A").is_ok());
        assert_eq!(Id::new(""), Err(ModelError::InvalidId(String::new())));
        assert!(Id::new("a/b").is_err());
        assert!(Id::new("\"x\"").is_err());
        assert!(Id::new(&"a".repeat(65)).is_err());
        assert!(Id::new(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn operation_lists_parse() {
        let ops = Operation::parse_list("read, export").unwrap();
        assert_eq!(
            ops.into_iter().collect::<Vec<_>>(),
            vec![Operation::Read, Operation::Export]
        );
        assert_eq!(Operation::parse_list(""), Err(ModelError::NoOperations));
        assert_eq!(
            Operation::parse_list("read,fly"),
            Err(ModelError::UnknownOperation("fly".into()))
        );
    }

    #[test]
    fn expiry_parses_durations_and_instants() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_expiry("90d", now).unwrap().to_rfc3339(),
            "2027-02-20T00:00:00+00:00"
        );
        assert_eq!(
            parse_expiry("2027-02-22T00:00:00Z", now).unwrap(),
            DateTime::parse_from_rfc3339("2027-02-22T00:00:00Z").unwrap()
        );
        assert!(parse_expiry("90x", now).is_err());
        assert!(parse_expiry("d", now).is_err());
        assert!(parse_expiry("99999999999999999999d", now).is_err());
    }

    #[test]
    fn containment_walks_to_the_workspace() {
        let mut reg = Registry::default();
        reg.workspaces.insert(id("ws"));
        reg.tables.insert(id("t"), id("ws"));
        reg.views.insert(
            id("v"),
            ViewEntry {
                table: id("t"),
                settings: ViewSettings::default(),
            },
        );
        let chain = reg.containment(&Resource::view(id("v"))).unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1].parent, Resource::workspace(id("ws")));
        assert_eq!(reg.workspace_of(&Resource::view(id("v"))), Some(id("ws")));
        assert!(reg.containment(&Resource::view(id("nope"))).is_none());
        reg.workspaces.clear();
        assert!(reg.containment(&Resource::view(id("v"))).is_none());
    }

    #[test]
    fn grants_validate() {
        let now = Utc::now();
        let ops = Operation::parse_list("read").unwrap();
        let g = Grant::guest(id("ws"), id("v"), &ops);
        assert!(g.validate(now).is_ok());
        assert_eq!(g.scope(), Some(&Resource::view(id("v"))));
        let past = g.clone().expires_at(Some(now - Duration::seconds(1)));
        assert!(matches!(
            past.validate(now),
            Err(ModelError::ExpiryInPast(_))
        ));
        let bad = g.label(Some("a\nb".into()));
        assert_eq!(bad.validate(now), Err(ModelError::InvalidLabel));
    }

    #[test]
    fn labels_refuse_controls_bidi_and_invisible_characters_by_name() {
        for (label, position, escaped) in [
            ("a\u{1b}[31m", 2, "\\x1b"),
            ("\rEVIL", 1, "\\r"),
            ("invoice\u{202e}fdp.exe", 8, "\\u{202e}"),
            ("x\u{2066}y", 2, "\\u{2066}"),
            ("ab\u{200b}", 3, "\\u{200b}"),
            ("\u{9b}2J", 1, "\\u{9b}"),
        ] {
            let err = check_label(label).unwrap_err();
            assert_eq!(
                err,
                ModelError::LabelCharacter {
                    position,
                    escaped: escaped.into()
                },
                "{label:?}"
            );
            assert!(err.to_string().starts_with("invalid label: "), "{err}");
            assert!(
                !err.to_string().contains(label),
                "the raw label is not echoed"
            );
            assert_eq!(validate_label(label), Err(ModelError::InvalidLabel));
        }
        assert_eq!(
            check_label(&"a".repeat(MAX_LABEL_CHARS + 1)),
            Err(ModelError::InvalidLabel)
        );
        // Twin: ordinary Unicode, up to the bound, is a label.
        for ok in [
            "Müller & Söhne",
            "日本語",
            "עברית",
            "👩\u{200d}💻",
            &"é".repeat(128),
        ] {
            assert_eq!(check_label(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn every_entry_that_takes_a_label_checks_it() {
        let now = Utc::now();
        let mut request = IssueRequest::new(TokenKind::Admin, None);
        request.label = Some("ops\u{202e}".into());
        assert!(matches!(
            request.grant(&Registry::default()),
            Err(ModelError::LabelCharacter { position: 4, .. })
        ));
        let restriction = Restriction {
            label: Some("ops\u{1b}".into()),
            ..Restriction::default()
        };
        assert!(matches!(
            restriction.validate(now),
            Err(ModelError::LabelCharacter { position: 4, .. })
        ));
        let grant = Grant::admin().label(Some("\u{2067}".into()));
        assert_eq!(grant.validate(now), Err(ModelError::InvalidLabel));
    }
}
