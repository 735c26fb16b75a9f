//! A table's access settings: one model that TinyTables' share settings
//! and Schema Builder's structure/record permissions both write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::super::id::Id;
use super::rights::Rights;

/// Who a scope is open to, besides the table's author and the workspace's
/// owners and admins (who always reach it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The author only (TinyTables "private"; Schema Builder "private").
    Private,
    /// Every member of the workspace by role (TinyTables "workspace";
    /// Schema Builder "public", the default).
    Public,
    /// Everyone may read; only the author changes (Schema Builder
    /// "read-only").
    ReadOnly,
    /// Only the listed users and groups, each with its rights (TinyTables
    /// "specific people"; Schema Builder "restricted").
    Restricted,
}

impl Mode {}

/// The settings of one scope of a table: its structure (the schema, its
/// columns, the table itself) or its records (the rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Who the scope is open to.
    pub mode: Mode,
    /// Individual entries (used when the mode is restricted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub users: BTreeMap<Id, Rights>,
    /// Group entries (used when the mode is restricted); a group's entry
    /// applies over a member's individual one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<Id, Rights>,
}

impl Scope {
    /// A scope in `mode` with no entries.
    pub fn open(mode: Mode) -> Scope {
        Scope {
            mode,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
        }
    }

    /// Every user named in an entry.
    pub fn named_users(&self) -> impl Iterator<Item = &Id> {
        self.users.keys()
    }

    /// Every group named in an entry.
    pub fn named_groups(&self) -> impl Iterator<Item = &Id> {
        self.groups.keys()
    }

    /// The union of every entry's rights.
    pub fn widest_entry(&self) -> Rights {
        self.users
            .values()
            .chain(self.groups.values())
            .fold(Rights::NONE, |acc, r| acc.union(*r))
    }
}

/// A table's access: its structure scope and its records scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableAccess {
    /// The schema: seeing and changing columns, deleting the table.
    pub structure: Scope,
    /// The rows: reading, adding, editing, deleting them.
    pub records: Scope,
}

impl Default for TableAccess {
    /// A new table is open to the workspace (TinyTables "workspace",
    /// Schema Builder "public").
    fn default() -> Self {
        TableAccess::uniform(Mode::Public)
    }
}

impl TableAccess {
    /// Both scopes in `mode`, with no entries.
    pub fn uniform(mode: Mode) -> TableAccess {
        TableAccess {
            structure: Scope::open(mode),
            records: Scope::open(mode),
        }
    }

    /// Both scopes.
    pub fn scopes(&self) -> [&Scope; 2] {
        [&self.structure, &self.records]
    }
}

/// A table's author and access, as the registry keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSharing {
    /// The user who created the table, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Id>,
    /// Who else reaches it.
    #[serde(default)]
    pub access: TableAccess,
}

super::closed_vocabulary!(Mode, UnknownMode, {
    Private => "private",
    Public => "public",
    ReadOnly => "read-only",
    Restricted => "restricted",
});
