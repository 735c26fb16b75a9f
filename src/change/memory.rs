//! The state the audit log replays into.

use std::collections::BTreeMap;

use crate::model::{Id, LedgerEntry, Registry, RevocationSet, ViewEntry};

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

/// The registry reads of a [`Target`] impl (`has_workspace`,
/// `table_workspace`, `view`) for a target whose field `$registry` holds a
/// [`Registry`] in memory (directly or behind a reference or an `Arc`), with
/// [`ChangeError`] as its error: shared by [`Memory`] and the gateway's
/// memory. A macro, not a function: the three are trait methods, and the
/// store's target reads its registry from a transaction instead.
macro_rules! registry_reads {
    ($registry:ident) => {
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
    };
}
pub(crate) use registry_reads;

impl Target for Memory {
    type Error = ChangeError;
    registry_reads!(registry);
    fn ledger_entry(&self, token_id: &Id) -> Result<Option<LedgerEntry>, ChangeError> {
        Ok(self.ledger.get(token_id).cloned())
    }
    fn ledger_entries(&self) -> Result<Vec<LedgerEntry>, ChangeError> {
        Ok(self.ledger.values().cloned().collect())
    }
    fn is_revoked(&self, revocation_id: &[u8]) -> Result<bool, ChangeError> {
        Ok(self.revocations.contains_key(&hex::encode(revocation_id)))
    }
    fn put_workspace(&mut self, workspace: &Id) -> Result<(), ChangeError> {
        self.registry.workspaces.insert(workspace.clone());
        Ok(())
    }
    fn put_table(&mut self, table: &Id, workspace: &Id) -> Result<(), ChangeError> {
        self.registry
            .tables
            .insert(table.clone(), workspace.clone());
        Ok(())
    }
    fn put_view(&mut self, view: &Id, entry: &ViewEntry) -> Result<(), ChangeError> {
        self.registry.views.insert(view.clone(), entry.clone());
        Ok(())
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
