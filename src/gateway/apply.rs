//! How committed changes reach the gateway's memory: one function,
//! [`Gateway::commit`], commits a change to the store and applies the very
//! same [`Change`]s to the in-memory registry and revocation set through
//! [`change::apply`], then marks cached decisions stale — so the very next
//! request sees the change.

use std::sync::{Arc, PoisonError};

use crate::change::{self, Applied, ChangeError, RevocationRecord, Target};
use crate::model::{Id, LedgerEntry, Registry, RevocationSet};
use crate::store::{Store, StoreError};

use super::error::ApiError;
use super::state::Gateway;

/// The gateway's memory as the state a change lands on. The ledger is not
/// held in memory: ledger reads find nothing and ledger writes are the store's.
struct Memory<'a> {
    registry: &'a mut Arc<Registry>,
    revocations: &'a mut RevocationSet,
    changed: bool,
}

impl Memory<'_> {
    fn registry_mut(&mut self) -> &mut Registry {
        self.changed = true;
        Arc::make_mut(self.registry)
    }
}

impl Target for Memory<'_> {
    type Error = ChangeError;
    change::registry_target!(registry, registry_mut);
    fn ledger_entry(&self, _: &Id) -> Result<Option<LedgerEntry>, ChangeError> {
        Ok(None)
    }
    fn ledger_entries(&self) -> Result<Vec<LedgerEntry>, ChangeError> {
        Ok(Vec::new())
    }
    fn is_revoked(&self, revocation_id: &[u8]) -> Result<bool, ChangeError> {
        Ok(self.revocations.contains(revocation_id))
    }
    fn put_ledger(&mut self, _: &LedgerEntry) -> Result<(), ChangeError> {
        Ok(())
    }
    fn put_revocation(
        &mut self,
        revocation_id: &[u8],
        _: &RevocationRecord,
    ) -> Result<(), ChangeError> {
        self.changed = true;
        self.revocations.insert(revocation_id);
        Ok(())
    }
}

impl Gateway {
    /// Commits a change to the store (`commit` returns what it recorded) and
    /// applies it to memory. Changes commit and apply one at a time, so
    /// memory follows the store's order. Blocking: call from `spawn_blocking`.
    pub fn commit(
        &self,
        commit: impl FnOnce(&Store) -> Result<Applied, StoreError>,
    ) -> Result<Applied, ApiError> {
        if let Some(fleet) = self.fleet() {
            return crate::fleet::publish::commit(self, fleet, commit);
        }
        self.commit_local(commit)
    }

    /// [`Gateway::commit`] on this gateway alone: what a single node does,
    /// and what the fleet's applier does with each change from the stream.
    pub(crate) fn commit_local(
        &self,
        commit: impl FnOnce(&Store) -> Result<Applied, StoreError>,
    ) -> Result<Applied, ApiError> {
        let _serial = self
            .change_lock()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let applied = commit(self.store())?;
        self.apply(&applied);
        Ok(applied)
    }

    /// Applies committed changes to the in-memory revocation set and
    /// registry, and marks cached decisions stale while both are still
    /// locked: a decision cached from then on was made with the change.
    fn apply(&self, applied: &Applied) {
        let (revocations, registry) = self.memory();
        let mut revocations = revocations.write().unwrap_or_else(PoisonError::into_inner);
        let mut registry = registry.write().unwrap_or_else(PoisonError::into_inner);
        let mut memory = Memory {
            registry: &mut registry,
            revocations: &mut revocations,
            changed: false,
        };
        for record in &applied.records {
            if let Err(e) = change::apply(&mut memory, &record.change, record.at) {
                tracing::error!(seq = record.seq, error = %e, "a committed change does not apply to memory; reloading from the store");
                memory.changed = self.reload(memory.registry, memory.revocations);
                break;
            }
        }
        if memory.changed {
            self.bump_epoch();
        }
    }

    /// Reloads memory from the store (the fleet's fresh start).
    pub(crate) fn reload_memory(&self) {
        let (revocations, registry) = self.memory();
        let mut revocations = revocations.write().unwrap_or_else(PoisonError::into_inner);
        let mut registry = registry.write().unwrap_or_else(PoisonError::into_inner);
        self.reload(&mut registry, &mut revocations);
        self.bump_epoch();
    }

    /// Reloads memory from the store (memory had drifted from it).
    fn reload(&self, registry: &mut Arc<Registry>, revocations: &mut RevocationSet) -> bool {
        match (self.store().registry(), self.store().revocations()) {
            (Ok(fresh_registry), Ok(fresh_revocations)) => {
                *registry = Arc::new(fresh_registry);
                *revocations = fresh_revocations;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot reload the registry and revocations")
            }
        }
        true
    }
}
