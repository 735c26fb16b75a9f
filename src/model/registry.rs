//! The registry as the gateway holds it: workspaces, tables in workspaces,
//! views of tables with their settings, and the containment chain.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::access::{Directory, TableSharing};
use super::id::Id;
use super::resource::{Resource, ResourceKind};
use super::settings::ViewSettings;
use super::visibility::{ViewOwner, Visibility};

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
    /// Workspace id → its display name (`Client A`), when one is set.
    pub workspace_names: BTreeMap<Id, String>,
    /// Table id → its workspace.
    pub tables: BTreeMap<Id, Id>,
    /// View id → its table and settings.
    pub views: BTreeMap<Id, ViewEntry>,
    /// Users, their workspace roles and the groups.
    pub people: Directory,
    /// Table id → its author and access settings (a table without an entry
    /// is open to its workspace and has no recorded author).
    pub sharing: BTreeMap<Id, TableSharing>,
    /// View id → the columns it hides (embeds may not sort or filter by
    /// them); a view without an entry hides none.
    pub hidden_columns: BTreeMap<Id, BTreeSet<String>>,
    /// View id → its creator and whether it is personal (a view without an
    /// entry is shared, or locked by its `locked` setting, with no creator).
    pub view_owners: BTreeMap<Id, ViewOwner>,
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
    /// The author and access of `table` (the default when none is set).
    pub fn sharing_of(&self, table: &Id) -> std::borrow::Cow<'_, TableSharing> {
        match self.sharing.get(table) {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(TableSharing::default()),
        }
    }

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

    /// A view's visibility (`None`: not registered).
    pub fn visibility_of(&self, view: &Id) -> Option<Visibility> {
        let entry = self.views.get(view)?;
        Some(Visibility::of(&entry.settings, self.view_owners.get(view)))
    }

    /// The registry as of `now`: expired assignments removed (borrowed
    /// as it is when none has expired).
    pub fn as_of(&self, now: chrono::DateTime<chrono::Utc>) -> std::borrow::Cow<'_, Registry> {
        if !self.people.has_expired(now) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut registry = self.clone();
        for team in registry.people.teams.values_mut() {
            *team = team.as_of(now);
        }
        std::borrow::Cow::Owned(registry)
    }

    /// The workspace `resource` lives in, when it is registered.
    pub fn workspace_of(&self, resource: &Resource) -> Option<Id> {
        let chain = self.containment(resource)?;
        Some(chain.last().map_or(&resource.id, |c| &c.parent.id).clone())
    }
}
