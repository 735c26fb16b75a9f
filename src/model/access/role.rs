//! Workspace roles (TinyTables' table; ValidGraph's viewer): the baseline
//! a member's access starts from, and the cap no table setting can lift.

use serde::{Deserialize, Serialize};

/// A user's one role in a workspace.
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
#[serde(rename_all = "lowercase")]
pub enum WorkspaceRole {
    /// Reads shared tables; never edits, adds or deletes rows.
    Viewer,
    /// Reaches tables shared with it; may create tables.
    Member,
    /// Reaches every table; not billing, cannot delete the workspace.
    Admin,
    /// Reaches every table, manages billing, may delete the workspace.
    Owner,
}

impl WorkspaceRole {
    /// Owner and admin reach every table of the workspace and may change
    /// any table's permissions.
    pub fn reaches_every_table(self) -> bool {
        matches!(self, WorkspaceRole::Owner | WorkspaceRole::Admin)
    }

    /// Only a viewer is read-only whatever a table grants it.
    pub fn is_read_only(self) -> bool {
        self == WorkspaceRole::Viewer
    }

    /// Members and above may create tables in the workspace.
    pub fn may_create_tables(self) -> bool {
        self >= WorkspaceRole::Member
    }

    /// Only the owner manages billing and may delete the workspace.
    pub fn manages_billing(self) -> bool {
        self == WorkspaceRole::Owner
    }

    /// Owner and admin manage the workspace's members and groups.
    pub fn manages_members(self) -> bool {
        self.reaches_every_table()
    }
}

super::closed_vocabulary!(WorkspaceRole, UnknownRole, {
    Viewer => "viewer",
    Member => "member",
    Admin => "admin",
    Owner => "owner",
});
