//! Members and the access model: users, groups, workspace roles, and the
//! table settings that TinyTables' share dialog and Schema Builder's
//! permissions both describe, as one model.
//!
//! A member token says only *who* (`user(id)`); what the user may do is
//! read from here at each decision ([`effective::table_rights`]), so a
//! changed role, group or table setting applies on the next request.
//! Precedence (a group's entry over the user's own, the role's cap, the
//! author) is resolved in Rust because Datalog has no negation; the policy
//! is handed the outcome for the requested resource only. Pure: no I/O.

/// Gives a closed-vocabulary enum its words: `ALL`, `as_str`, `Display`
/// and a `FromStr` refusing anything else with the [`AccessError`] variant.
macro_rules! closed_vocabulary {
    ($ty:ident, $err:ident, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// Every word, in order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The word on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::model::access::AccessError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|w| w.as_str() == s)
                    .ok_or_else(|| $crate::model::access::AccessError::$err($crate::model::access::short(s)))
            }
        }
    };
}
pub(crate) use closed_vocabulary;

pub mod directory;
pub mod effective;
pub mod manage;
pub mod rights;
pub mod role;
pub mod table;
pub mod vocab;

pub use directory::{Directory, Group, Team, User};
pub use effective::{table_rights, team_table_rights, workspace_operations, Basis, TableRights};
pub use manage::{Manager, Refusal};
pub use rights::{Level, Permission, Rights};
pub use role::WorkspaceRole;
pub use table::{Mode, Scope, TableAccess, TableSharing};
pub use vocab::{SchemaPermissions, ShareSettings};

/// A word of the access vocabulary that is not one of its closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Not owner, admin, member or viewer.
    #[error("unknown role {0:?}: expected owner, admin, member or viewer")]
    UnknownRole(String),
    /// Not execute, read, edit or delete.
    #[error("unknown permission {0:?}: expected execute, read, edit or delete")]
    UnknownPermission(String),
    /// Not viewer, editor or full.
    #[error("unknown level {0:?}: expected viewer, editor or full")]
    UnknownLevel(String),
    /// Not private, public, read-only or restricted.
    #[error("unknown mode {0:?}: expected private, public, read-only or restricted")]
    UnknownMode(String),
}

impl AccessError {
    /// The reason code on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            AccessError::UnknownRole(_) => "unknown_role",
            AccessError::UnknownPermission(_) => "unknown_permission",
            AccessError::UnknownLevel(_) => "unknown_level",
            AccessError::UnknownMode(_) => "unknown_mode",
        }
    }
}

/// Keeps user input quoted in an error message short.
fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests;
