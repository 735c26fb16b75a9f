//! The rights an access entry or mode gives on one scope of a table, in
//! Schema Builder's words (execute, read, edit, delete), and TinyTables'
//! per-person levels (viewer, editor, full) expressed in them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of Schema Builder's four permissions.
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
pub enum Permission {
    /// Complete actions: add records; on the structure, share and duplicate.
    Execute,
    /// Preview the structure or the records.
    Read,
    /// Edit the structure or the records.
    Edit,
    /// Delete the table or its records.
    Delete,
}

impl Permission {
    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`Permission`]s on one scope (a table's structure or records).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<Permission>", into = "Vec<Permission>")]
pub struct Rights(u8);

impl Rights {
    /// No right at all.
    pub const NONE: Rights = Rights(0);
    /// All four permissions.
    pub const ALL: Rights = Rights(0b1111);

    /// The set of the given permissions.
    pub fn of(permissions: &[Permission]) -> Rights {
        Rights(permissions.iter().fold(0, |acc, p| acc | p.bit()))
    }

    /// True when `permission` is in the set.
    pub fn has(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Both sets together.
    pub fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// What both sets hold.
    pub fn intersect(self, other: Rights) -> Rights {
        Rights(self.0 & other.0)
    }

    /// True when every permission of `self` is in `other`.
    pub fn is_within(self, other: Rights) -> bool {
        self.0 & !other.0 == 0
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in the set, in the document's order.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| self.has(*p))
            .collect()
    }
}

impl From<Vec<Permission>> for Rights {
    fn from(v: Vec<Permission>) -> Self {
        Rights::of(&v)
    }
}

impl From<Rights> for Vec<Permission> {
    fn from(r: Rights) -> Self {
        r.permissions()
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.permissions()).finish()
    }
}

/// TinyTables' per-person access level on a table shared with specific
/// people.
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
pub enum Level {
    /// Can view.
    Viewer,
    /// Can view, edit and add rows.
    Editor,
    /// Can also delete rows, modify columns, delete the table and share it.
    Full,
}

impl Level {
    /// The level as rights on the table's (structure, records).
    pub fn rights(self) -> (Rights, Rights) {
        use Permission::*;
        match self {
            Level::Viewer => (Rights::of(&[Read]), Rights::of(&[Read])),
            Level::Editor => (Rights::of(&[Read]), Rights::of(&[Read, Edit, Execute])),
            Level::Full => (Rights::ALL, Rights::ALL),
        }
    }

    /// The strongest level whose rights are within (structure, records),
    /// if any: how a Schema Builder entry reads in TinyTables' words.
    pub fn within(structure: Rights, records: Rights) -> Option<Level> {
        Level::ALL.iter().copied().rev().find(|l| {
            let (s, r) = l.rights();
            s.is_within(structure) && r.is_within(records)
        })
    }
}

super::closed_vocabulary!(Permission, UnknownPermission, {
    Execute => "execute",
    Read => "read",
    Edit => "edit",
    Delete => "delete",
});

super::closed_vocabulary!(Level, UnknownLevel, {
    Viewer => "viewer",
    Editor => "editor",
    Full => "full",
});
