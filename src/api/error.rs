//! The admin API's typed errors, written for API clients: they name request
//! fields, never CLI flags, and never carry store internals (those go to the
//! log). The gateway maps each to a status and code in one place
//! (`gateway::error`).

use crate::change::ChangeError;
use crate::model::access::{AccessError, Refusal};
use crate::model::{Id, ModelError};

/// Why an admin API request is not valid (400).
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// The body is not the JSON this route takes.
    #[error("invalid request body: {0}")]
    Body(#[source] serde_json::Error),
    /// The query string does not parse (the parser's words about the client's query).
    #[error("{0}")]
    Query(String),
    /// A path part is not an id (the parser's words about the client's path).
    #[error("{0}")]
    Path(String),
    /// A field's value is not valid, or fields exclude each other.
    #[error(transparent)]
    Request(#[from] ModelError),
    /// `revocation_id` is not hex (or is empty or too long).
    #[error("revocation_id must be hex")]
    RevocationId,
    /// Only one of `table` and `workspace` given for a view.
    #[error("give both table and workspace to place a view")]
    Placement,
    /// A user the registry does not know.
    #[error("user {0} is not registered")]
    UnknownUser(Id),
    /// An email address that is not one.
    #[error("invalid email: an address such as ana@example.com, printable, without spaces, at most 254 characters")]
    Email,
    /// A display name that is not a printable label.
    #[error("invalid name: {0}")]
    Name(ModelError),
    /// A role, level, permission or mode outside its closed set.
    #[error(transparent)]
    Word(#[from] AccessError),
    /// A project (workspace) the registry does not know, in an assignment.
    #[error("project {0} is not registered")]
    UnknownProject(Id),
    /// An assignment that lists no project.
    #[error("list at least one project (a workspace id)")]
    NoProjects,
    /// A user whose roles differ between workspaces, re-scoped without a `role`.
    #[error("user {0} holds different roles; give the role for its projects")]
    RoleRequired(Id),
    /// A view visibility other than personal, shared or locked.
    #[error("unknown visibility {0:?}: expected personal, shared or locked")]
    Visibility(String),
    /// A personal view without a creator to see it.
    #[error("a personal view needs a creator: give \"creator\" (a registered user)")]
    CreatorRequired,
    /// A TinyTables share mode other than private, workspace or specific.
    #[error("unknown mode {0:?}: expected private, workspace or specific")]
    ShareMode(String),
    /// A share preset other than read-only, editor or auditor.
    #[error("unknown preset {0:?}: expected read-only, editor or auditor")]
    UnknownPreset(String),
    /// A share's `allow` names an operation outside the closed set, or none.
    #[error(transparent)]
    UnknownOperation(ModelError),
    /// Both `preset` and `allow` given for a share.
    #[error("give either preset or allow, not both")]
    PresetWithAllow,
    /// An embed mode other than public, filtered or interactive.
    #[error("unknown embed mode {0:?}: expected public, filtered or interactive")]
    UnknownEmbedMode(String),
    /// An expiry that is not a duration or an RFC 3339 time in the future.
    #[error(transparent)]
    Expiry(ModelError),
    /// A label that is too long or holds an unsafe character.
    #[error(transparent)]
    Label(ModelError),
    /// A view's `hidden_columns` holds a bad name, or too many.
    #[error("invalid hidden_columns: {0}")]
    Column(String),
    /// An attenuation preset that cannot be applied as asked.
    #[error(transparent)]
    Preset(#[from] crate::model::PresetError),
    /// A token that cannot be read or attenuated (its text is never quoted).
    #[error("the token cannot be attenuated: {0}")]
    Token(crate::token::TokenError),
    /// Both `days` and `until`.
    #[error("give days or until, not both")]
    DaysAndUntil,
}

impl Invalid {
    /// The `error` code: `bad_request`, or the people vocabulary's own
    /// code (`unknown_user`, `unknown_role`, `invalid_email`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Invalid::UnknownUser(_) => "unknown_user",
            Invalid::Email => "invalid_email",
            Invalid::Name(_) => "invalid_name",
            Invalid::Word(e) => e.code(),
            Invalid::ShareMode(_) => "unknown_mode",
            Invalid::Visibility(_) => "unknown_visibility",
            Invalid::CreatorRequired => "creator_required",
            Invalid::UnknownProject(_) => "unknown_project",
            Invalid::NoProjects => "no_projects",
            Invalid::RoleRequired(_) => "role_required",
            Invalid::UnknownPreset(_) => "unknown_preset",
            Invalid::UnknownOperation(_) => "unknown_operation",
            Invalid::PresetWithAllow => "preset_with_allow",
            Invalid::UnknownEmbedMode(_) => "unknown_mode",
            Invalid::Expiry(_) => "invalid_expiry",
            Invalid::Label(_) => "invalid_label",
            Invalid::Column(_) => "invalid_column",
            Invalid::Preset(e) => e.code(),
            Invalid::Token(_) => "malformed",
            _ => "bad_request",
        }
    }
}

/// Which admin API object does not exist (404).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// The workspace.
    #[error("workspace {0} is not registered")]
    Workspace(Id),
    /// The table.
    #[error("table {0} is not registered")]
    Table(Id),
    /// The view.
    #[error("view {0} is not registered")]
    View(Id),
    /// The ledger token.
    #[error("no token {0} in the ledger")]
    Token(String),
    /// The user.
    #[error("user {0} is not registered")]
    User(Id),
    /// The user is not a member of the workspace.
    #[error("user {user} is not a member of workspace {workspace}")]
    Member {
        /// The workspace.
        workspace: Id,
        /// The user.
        user: Id,
    },
    /// The group.
    #[error("group {0} does not exist in this workspace")]
    Group(Id),
}

/// Why a change conflicts with what is stored (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The table is registered under another workspace.
    #[error("table {table} belongs to workspace {workspace}")]
    TableInOtherWorkspace {
        /// The table.
        table: Id,
        /// Its workspace.
        workspace: Id,
    },
}

/// How a rejected change answers an API client.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// 400.
    #[error(transparent)]
    Invalid(Invalid),
    /// 404.
    #[error(transparent)]
    Missing(Missing),
    /// 409.
    #[error(transparent)]
    Conflict(Conflict),
    /// 403 or 400 ([`Refusal::is_forbidden`]): the workspace's rules refuse
    /// the change (who asks, the last owner, entries outside the workspace).
    #[error(transparent)]
    Refused(Refusal),
    /// Not the client's doing: a 500, with the detail for the log.
    #[error("internal error")]
    Internal(ChangeError),
}

impl From<ChangeError> for Rejection {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::UnknownWorkspace(id) => Rejection::Missing(Missing::Workspace(id)),
            ChangeError::UnknownTable(id) => Rejection::Missing(Missing::Table(id)),
            ChangeError::UnknownView(id) => Rejection::Missing(Missing::View(id)),
            ChangeError::UnknownToken(id) => Rejection::Missing(Missing::Token(id)),
            ChangeError::TableInOtherWorkspace { table, workspace } => {
                Rejection::Conflict(Conflict::TableInOtherWorkspace { table, workspace })
            }
            ChangeError::Setting(e) => Rejection::Invalid(Invalid::Request(e)),
            ChangeError::UnknownUser(id) => Rejection::Invalid(Invalid::UnknownUser(id)),
            ChangeError::InvalidEmail => Rejection::Invalid(Invalid::Email),
            ChangeError::InvalidName(e) => Rejection::Invalid(Invalid::Name(e)),
            ChangeError::Refused(r) => Rejection::Refused(r),
            e @ (ChangeError::BadRevocationId(_) | ChangeError::Unsupported) => {
                Rejection::Internal(e)
            }
        }
    }
}
