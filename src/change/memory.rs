//! The state the audit log replays into.

use std::collections::BTreeMap;

use crate::model::{Id, LedgerEntry, Registry, RevocationSet};

use super::{apply, AuditRecord, ChangeError, RevocationRecord, Target};

/// The state the audit log replays into: the registry, every revocation
/// with its record, and the ledger. Also a [`Target`] for tests and tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// Workspaces, tables and views.
    pub registry: Registry,
    /// Revocation id (hex) → its record.
    pub revocations: BTreeMap<String, RevocationRecord>,
    /// Token id → its ledger entry.
    pub ledger: BTreeMap<Id, LedgerEntry>,
}

impl Memory {
    fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Replays audit records, oldest first. Legacy prose events are skipped
    /// (they cannot be replayed; their effect is only in the store's tables).
    pub fn replay<'a>(
        records: impl IntoIterator<Item = &'a AuditRecord>,
    ) -> Result<Memory, ChangeError> {
        let mut memory = Memory::default();
        for record in records {
            apply(&mut memory, &record.change, record.at)?;
        }
        Ok(memory)
    }

    /// The revocation set the gateway would hold.
    pub fn revocation_set(&self) -> RevocationSet {
        RevocationSet::from_ids(self.revocations.keys().filter_map(|h| hex::decode(h).ok()))
    }
}

/// The registry half of a [`Target`] impl for a target that holds a
/// [`Registry`] in memory (directly or behind a reference or an `Arc`) in
/// its field `$registry`, and reaches it for writing through its method
/// `$registry_mut`, with [`ChangeError`] as its error: shared by [`Memory`]
/// and the gateway's memory. A macro, not a function: these are trait
/// methods, and the store's target reads and writes a transaction instead.
macro_rules! registry_target {
    ($registry:ident, $registry_mut:ident) => {
        fn has_workspace(
            &self,
            workspace: &$crate::model::Id,
        ) -> Result<bool, $crate::change::ChangeError> {
            Ok(self.$registry.workspaces.contains(workspace))
        }
        fn table_workspace(
            &self,
            table: &$crate::model::Id,
        ) -> Result<Option<$crate::model::Id>, $crate::change::ChangeError> {
            Ok(self.$registry.tables.get(table).cloned())
        }
        fn view(
            &self,
            view: &$crate::model::Id,
        ) -> Result<Option<$crate::model::ViewEntry>, $crate::change::ChangeError> {
            Ok(self.$registry.views.get(view).cloned())
        }
        fn user(
            &self,
            user: &$crate::model::Id,
        ) -> Result<Option<$crate::model::access::User>, $crate::change::ChangeError> {
            Ok(self.$registry.people.users.get(user).cloned())
        }
        fn team(
            &self,
            workspace: &$crate::model::Id,
        ) -> Result<Option<$crate::model::access::Team>, $crate::change::ChangeError> {
            Ok(self.$registry.people.teams.get(workspace).cloned())
        }
        fn teams(
            &self,
        ) -> Result<
            Vec<($crate::model::Id, $crate::model::access::Team)>,
            $crate::change::ChangeError,
        > {
            Ok(self
                .$registry
                .people
                .teams
                .iter()
                .map(|(w, t)| (w.clone(), t.clone()))
                .collect())
        }
        fn sharing(
            &self,
            table: &$crate::model::Id,
        ) -> Result<Option<$crate::model::access::TableSharing>, $crate::change::ChangeError> {
            Ok(self.$registry.sharing.get(table).cloned())
        }
        fn view_owner(
            &self,
            view: &$crate::model::Id,
        ) -> Result<Option<$crate::model::ViewOwner>, $crate::change::ChangeError> {
            Ok(self.$registry.view_owners.get(view).cloned())
        }
        fn put_view_owner(
            &mut self,
            view: &$crate::model::Id,
            owner: &$crate::model::ViewOwner,
        ) -> Result<(), $crate::change::ChangeError> {
            self.$registry_mut()
                .view_owners
                .insert(view.clone(), owner.clone());
            Ok(())
        }
        fn workspace_name(
            &self,
            workspace: &$crate::model::Id,
        ) -> Result<Option<String>, $crate::change::ChangeError> {
            Ok(self.$registry.workspace_names.get(workspace).cloned())
        }
        fn put_workspace_name(
            &mut self,
            workspace: &$crate::model::Id,
            name: &str,
        ) -> Result<(), $crate::change::ChangeError> {
            self.$registry_mut()
                .workspace_names
                .insert(workspace.clone(), name.to_owned());
            Ok(())
        }
        fn put_workspace(
            &mut self,
            workspace: &$crate::model::Id,
        ) -> Result<(), $crate::change::ChangeError> {
            self.$registry_mut().workspaces.insert(workspace.clone());
            Ok(())
        }
        fn put_table(
            &mut self,
            table: &$crate::model::Id,
            workspace: &$crate::model::Id,
        ) -> Result<(), $crate::change::ChangeError> {
            self.$registry_mut()
                .tables
                .insert(table.clone(), workspace.clone());
            Ok(())
        }
        fn put_hidden_columns(
            &mut self,
            view: &$crate::model::Id,
            columns: &std::collections::BTreeSet<String>,
        ) -> Result<(), $crate::change::ChangeError> {
            let registry = self.$registry_mut();
            if columns.is_empty() {
                registry.hidden_columns.remove(view);
            } else {
                registry
                    .hidden_columns
                    .insert(view.clone(), columns.clone());
            }
            Ok(())
        }
        fn put_view(
            &mut self,
            view: &$crate::model::Id,
            entry: &$crate::model::ViewEntry,
        ) -> Result<(), $crate::change::ChangeError> {
            self.$registry_mut()
                .views
                .insert(view.clone(), entry.clone());
            Ok(())
        }
        fn put_user(
            &mut self,
            user: &$crate::model::Id,
            record: Option<&$crate::model::access::User>,
        ) -> Result<(), $crate::change::ChangeError> {
            let users = &mut self.$registry_mut().people.users;
            match record {
                Some(r) => users.insert(user.clone(), r.clone()),
                None => users.remove(user),
            };
            Ok(())
        }
        fn put_team(
            &mut self,
            workspace: &$crate::model::Id,
            team: &$crate::model::access::Team,
        ) -> Result<(), $crate::change::ChangeError> {
            self.$registry_mut()
                .people
                .teams
                .insert(workspace.clone(), team.clone());
            Ok(())
        }
        fn put_sharing(
            &mut self,
            table: &$crate::model::Id,
            sharing: &$crate::model::access::TableSharing,
        ) -> Result<(), $crate::change::ChangeError> {
            self.$registry_mut()
                .sharing
                .insert(table.clone(), sharing.clone());
            Ok(())
        }
    };
}
pub(crate) use registry_target;

impl Target for Memory {
    type Error = ChangeError;
    registry_target!(registry, registry_mut);
    fn ledger_entry(&self, token_id: &Id) -> Result<Option<LedgerEntry>, ChangeError> {
        Ok(self.ledger.get(token_id).cloned())
    }
    fn ledger_entries(&self) -> Result<Vec<LedgerEntry>, ChangeError> {
        Ok(self.ledger.values().cloned().collect())
    }
    fn is_revoked(&self, revocation_id: &[u8]) -> Result<bool, ChangeError> {
        Ok(self.revocations.contains_key(&hex::encode(revocation_id)))
    }
    fn put_ledger(&mut self, entry: &LedgerEntry) -> Result<(), ChangeError> {
        self.ledger.insert(entry.token_id.clone(), entry.clone());
        Ok(())
    }
    fn put_revocation(
        &mut self,
        revocation_id: &[u8],
        record: &RevocationRecord,
    ) -> Result<(), ChangeError> {
        self.revocations
            .insert(hex::encode(revocation_id), record.clone());
        Ok(())
    }
}
