//! Why user input is not a valid domain value ([`ModelError`],
//! [`Exclusion`]), how bad input is quoted in a message, and the one lookup
//! of a closed set's value by its name.

use chrono::{DateTime, Utc};

use super::view_setting::ViewSetting;

/// Why a piece of user input is not a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// An id outside `[A-Za-z0-9_-]{1,64}`.
    #[error("invalid id {0:?}: ids are 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")]
    InvalidId(String),
    /// An operation outside the closed set.
    #[error("unknown operation {0:?}: expected one of read, write, create, delete, export, manage, share, drop, billing, settings")]
    UnknownOperation(String),
    /// A grant or restriction that names no operation at all.
    #[error("no operations given: name at least one of read, write, create, delete, export, manage, share, drop, billing, settings")]
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
    #[error("unknown view setting {0:?}: expected {expected}", expected = ViewSetting::listed())]
    UnknownSetting(String),
    /// A member token for a user the registry does not know.
    #[error("user {0} is not registered; put it first (PUT /admin/v1/users/{0})")]
    UnknownUser(String),
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
    /// A member token with a scope or operations.
    #[error("a member token names its user only: what it may do is read from the registry, so workspace, view, table, allow and read_only do not apply")]
    MemberScope,
}

/// Keeps user input quoted in an error message short.
pub(super) fn truncate_for_message(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The value of the closed set `all` whose `name` is `s`, or the `unknown`
/// error quoting `s`.
pub(super) fn by_name<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    s: &str,
    unknown: fn(String) -> ModelError,
) -> Result<T, ModelError> {
    all.iter()
        .copied()
        .find(|&v| name(v) == s)
        .ok_or_else(|| unknown(truncate_for_message(s)))
}
