//! The two products' words for a table's access, each read into and out
//! of the one [`TableAccess`] model: TinyTables' share settings
//! (`private` / `workspace` / `specific` people with levels) and Schema
//! Builder's structure and record permissions.

use serde::{Deserialize, Serialize};

use super::super::id::Id;
use super::rights::{Level, Rights};
use super::table::{Mode, Scope, TableAccess};

/// TinyTables' share setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShareMode {
    /// Only the creator.
    Private,
    /// All workspace members with their role-based permissions.
    Workspace,
    /// Only named people, each with a level.
    Specific,
}

/// Who a TinyTables entry names: a user or a group.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Person {
    /// One user.
    User(Id),
    /// A group of the workspace.
    Group(Id),
}

/// One TinyTables entry: a person and their level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonAccess {
    /// The user or group.
    #[serde(flatten)]
    pub person: Person,
    /// Its level.
    pub level: Level,
}

/// A table's access in TinyTables' words (`PUT/GET /admin/v1/tables/{t}/access`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShareSettings {
    /// The share setting.
    pub mode: ShareMode,
    /// The named people (for `specific`).
    #[serde(default)]
    pub people: Vec<PersonAccess>,
    /// False when the table's settings (written in Schema Builder's words)
    /// say more than TinyTables' words can: the nearest reading is shown.
    #[serde(default = "yes", skip_deserializing)]
    pub exact: bool,
}

fn yes() -> bool {
    true
}

impl ShareSettings {
    /// A setting with no named people.
    pub fn from_mode(mode: ShareMode) -> ShareSettings {
        ShareSettings {
            mode,
            people: Vec::new(),
            exact: true,
        }
    }

    /// The one model this setting means.
    pub fn to_access(&self) -> TableAccess {
        match self.mode {
            ShareMode::Private => TableAccess::uniform(Mode::Private),
            ShareMode::Workspace => TableAccess::uniform(Mode::Public),
            ShareMode::Specific => {
                let mut access = TableAccess::uniform(Mode::Restricted);
                for entry in &self.people {
                    let (structure, records) = entry.level.rights();
                    add_entry(&mut access.structure, &entry.person, structure);
                    add_entry(&mut access.records, &entry.person, records);
                }
                access
            }
        }
    }

    /// The model read in TinyTables' words.
    pub fn from_access(access: &TableAccess) -> ShareSettings {
        let (s, r) = (&access.structure, &access.records);
        let uniform = s.mode == r.mode;
        let (mode, people) = match r.mode {
            Mode::Private => (ShareMode::Private, Vec::new()),
            Mode::Public | Mode::ReadOnly => (ShareMode::Workspace, Vec::new()),
            Mode::Restricted => (ShareMode::Specific, people_of(s, r)),
        };
        let exact = uniform
            && r.mode != Mode::ReadOnly
            && (mode != ShareMode::Specific
                || ShareSettings::specific(&people).to_access() == *access);
        ShareSettings {
            mode,
            people,
            exact,
        }
    }

    fn specific(people: &[PersonAccess]) -> ShareSettings {
        ShareSettings {
            mode: ShareMode::Specific,
            people: people.to_vec(),
            exact: true,
        }
    }
}

fn add_entry(scope: &mut Scope, person: &Person, rights: Rights) {
    let entries = match person {
        Person::User(_) => &mut scope.users,
        Person::Group(_) => &mut scope.groups,
    };
    let id = match person {
        Person::User(id) | Person::Group(id) => id.clone(),
    };
    let merged = entries.get(&id).copied().unwrap_or_default().union(rights);
    entries.insert(id, merged);
}

/// Each person named on either scope, with the strongest level within
/// their rights on both (a person below even `viewer` is left out).
fn people_of(structure: &Scope, records: &Scope) -> Vec<PersonAccess> {
    let users = structure.users.keys().chain(records.users.keys());
    let groups = structure.groups.keys().chain(records.groups.keys());
    let named: std::collections::BTreeSet<Person> = users
        .map(|u| Person::User(u.clone()))
        .chain(groups.map(|g| Person::Group(g.clone())))
        .collect();
    named
        .into_iter()
        .filter_map(|person| {
            let (s, r) = match &person {
                Person::User(id) => (structure.users.get(id), records.users.get(id)),
                Person::Group(id) => (structure.groups.get(id), records.groups.get(id)),
            };
            let level = Level::within(
                s.copied().unwrap_or_default(),
                r.copied().unwrap_or_default(),
            )?;
            Some(PersonAccess { person, level })
        })
        .collect()
}

/// One Schema Builder entry: a user or group id and its permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PermissionEntry {
    /// The user or group id.
    pub id: Id,
    /// Its permissions.
    #[schema(value_type = Vec<crate::model::access::Permission>)]
    pub permissions: Rights,
}

/// One scope in Schema Builder's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScopePermissions {
    /// The permission type.
    pub mode: Mode,
    /// User entries (for `restricted`).
    #[serde(default)]
    pub users: Vec<PermissionEntry>,
    /// Group entries (for `restricted`).
    #[serde(default)]
    pub groups: Vec<PermissionEntry>,
}

impl ScopePermissions {
    fn to_scope(&self) -> Scope {
        let collect = |entries: &[PermissionEntry]| {
            entries
                .iter()
                .map(|e| (e.id.clone(), e.permissions))
                .collect()
        };
        Scope {
            mode: self.mode,
            users: collect(&self.users),
            groups: collect(&self.groups),
        }
    }

    fn from_scope(scope: &Scope) -> ScopePermissions {
        let list = |entries: &std::collections::BTreeMap<Id, Rights>| {
            entries
                .iter()
                .map(|(id, r)| PermissionEntry {
                    id: id.clone(),
                    permissions: *r,
                })
                .collect()
        };
        ScopePermissions {
            mode: scope.mode,
            users: list(&scope.users),
            groups: list(&scope.groups),
        }
    }
}

/// A table's access in Schema Builder's words
/// (`PUT/GET /admin/v1/tables/{t}/permissions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchemaPermissions {
    /// General schema permissions (the structure).
    pub schema: ScopePermissions,
    /// Schema record permissions (the rows).
    pub records: ScopePermissions,
}

impl SchemaPermissions {
    /// The one model these permissions mean.
    pub fn to_access(&self) -> TableAccess {
        TableAccess {
            structure: self.schema.to_scope(),
            records: self.records.to_scope(),
        }
    }

    /// The model read in Schema Builder's words (always exact).
    pub fn from_access(access: &TableAccess) -> SchemaPermissions {
        SchemaPermissions {
            schema: ScopePermissions::from_scope(&access.structure),
            records: ScopePermissions::from_scope(&access.records),
        }
    }
}
