//! The store's side of fleet mode: the `fleet` table (the stream position
//! applied, the stream it belongs to, the fleet's public keyring), changes
//! from the stream committed with their position in one transaction, a
//! fresh start when the stream no longer holds the position, the digest of
//! registry + revocations every gateway exposes, and dry runs (a commit
//! planned and checked, then rolled back) for the publishing side.

use std::cell::Cell;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use sha2::{Digest, Sha256};

use crate::change::{self, Actor, Applied, Change};
use crate::model::revocation_key;

use super::snapshot::SnapshotState;

use super::apply::TxnTarget;
use super::audit;

use super::tables::{REGISTRY, REVOCATIONS, REVOCATION_INDEX};
use super::{Store, StoreError, Txn, TxnError};

/// `position` (the last stream sequence applied), `stream` (the stream's
/// creation time, to notice a recreated stream), `keyring` (key id →
/// `algorithm/hex`, the fleet's public keys) → text.
pub(super) const FLEET: TableDefinition<&str, &str> = TableDefinition::new("fleet");

const POSITION: &str = "position";
const STREAM: &str = "stream";
const KEYRING: &str = "keyring";

thread_local! {
    static DRY_RUN: Cell<bool> = const { Cell::new(false) };
}

/// True while [`Store::dry_run`] runs on this thread: writes roll back.
pub(super) fn dry_running() -> bool {
    DRY_RUN.with(Cell::get)
}

/// What the fleet table holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetState {
    /// The last stream sequence applied (0: none).
    pub position: u64,
    /// The stream this position belongs to (its creation time), when known.
    pub stream: Option<String>,
    /// The fleet's public keys: key id → `algorithm/hex`.
    pub keyring: BTreeMap<u32, String>,
}

fn write_position(txn: &Txn, seq: u64) -> Result<(), TxnError> {
    let mut t = txn.open_table(FLEET)?;
    t.insert(POSITION, seq.to_string().as_str())?;
    Ok(())
}

/// The key changes among `changes`, applied to the stored keyring.
fn write_keyring<'a>(
    txn: &Txn,
    changes: impl IntoIterator<Item = &'a Change>,
) -> Result<(), TxnError> {
    let mut t = txn.open_table(FLEET)?;
    let mut ring: BTreeMap<u32, String> = match t.get(KEYRING)? {
        Some(v) => serde_json::from_str(v.value()).map_err(|_| TxnError::Corrupt("fleet"))?,
        None => BTreeMap::new(),
    };
    let mut changed = false;
    for change in changes {
        match change {
            Change::KeysInitialised { key } | Change::KeyRotated { key } => {
                ring.insert(key.key_id, key.public_key.clone());
                changed = true;
            }
            Change::KeyRetired { key_id } => {
                ring.remove(key_id);
                changed = true;
            }
            _ => {}
        }
    }
    if changed {
        t.insert(KEYRING, serde_json::to_string(&ring)?.as_str())?;
    }
    Ok(())
}

impl Store {
    /// Runs `f` with every write on this thread rolled back instead of
    /// committed: what a commit would record, checked against the current
    /// state, without changing it.
    pub fn dry_run<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                DRY_RUN.with(|d| d.set(false));
            }
        }
        DRY_RUN.with(|d| d.set(true));
        let _reset = Reset;
        f(self)
    }

    /// Commits changes from the fleet's stream at sequence `seq`, all or
    /// none, with their audit records, the keyring they change and the
    /// position, in one transaction.
    pub fn apply_fleet(
        &self,
        changes: &[Change],
        actor: &Actor,
        at: DateTime<Utc>,
        seq: u64,
    ) -> Result<Applied, StoreError> {
        self.commit_then(
            actor,
            at,
            |_| Ok(changes.to_vec()),
            |txn, _| {
                write_keyring(txn, changes)?;
                write_position(txn, seq)
            },
        )
    }

    /// Commits several consecutive stream messages — `(seq, changes,
    /// actor, at)` each — in one transaction, the position the last one's:
    /// what a gateway catching up does. Any change refused refuses the
    /// whole batch (then apply them one by one).
    pub fn apply_fleet_batch(
        &self,
        batch: &[(u64, Vec<Change>, Actor, DateTime<Utc>)],
    ) -> Result<Applied, StoreError> {
        self.write(|txn| {
            let mut target = TxnTarget { txn };
            let mut applied = Applied::default();
            for (_, changes, actor, at) in batch {
                for change in changes {
                    if change::apply(&mut target, change, *at)? {
                        applied
                            .records
                            .push(audit::append(txn, change, actor, *at)?);
                    }
                }
                write_keyring(txn, changes)?;
            }
            if let Some((seq, ..)) = batch.last() {
                write_position(txn, *seq)?;
            }
            Ok(applied)
        })
    }

    /// Records that the stream's message `seq` was passed over (its changes
    /// did not apply to the state they landed on, on every gateway alike).
    pub fn skip_fleet(&self, seq: u64) -> Result<(), StoreError> {
        self.write(|txn| write_position(txn, seq))
    }

    /// Records which stream the position belongs to.
    pub fn set_fleet_stream(&self, stream: &str) -> Result<(), StoreError> {
        self.write(|txn| {
            txn.open_table(FLEET)?.insert(STREAM, stream)?;
            Ok(())
        })
    }

    /// What the fleet table holds (all empty on a store that never joined).
    pub fn fleet_state(&self) -> Result<FleetState, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        self.fleet_state_in(&txn)
    }

    fn fleet_state_in(&self, txn: &redb::ReadTransaction) -> Result<FleetState, StoreError> {
        let t = match txn.open_table(FLEET) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(FleetState::default()),
            Err(e) => return Err(self.err(e)),
        };
        let get = |key: &str| -> Result<Option<String>, StoreError> {
            Ok(t.get(key)
                .map_err(|e| self.err(e))?
                .map(|v| v.value().to_owned()))
        };
        let position = match get(POSITION)? {
            Some(p) => p.parse().map_err(|_| self.corrupt("fleet"))?,
            None => 0,
        };
        let keyring = match get(KEYRING)? {
            Some(k) => serde_json::from_str(&k).map_err(|_| self.corrupt("fleet"))?,
            None => BTreeMap::new(),
        };
        Ok(FleetState {
            position,
            stream: get(STREAM)?,
            keyring,
        })
    }

    /// Forgets the replicated state (registry, revocations, fleet table) to
    /// take it afresh from the stream: its position is gone from it.
    pub fn reset_fleet(&self) -> Result<(), StoreError> {
        self.write(|txn| {
            txn.delete_table(REGISTRY)?;
            txn.delete_table(REVOCATIONS)?;
            txn.delete_table(REVOCATION_INDEX)?;
            txn.delete_table(FLEET)?;
            txn.open_table(REGISTRY)?;
            txn.open_table(REVOCATIONS)?;
            txn.open_table(REVOCATION_INDEX)?;
            txn.open_table(FLEET)?;
            Ok(())
        })
    }

    /// The replicated state and its position, read in one transaction: a
    /// snapshot at that position.
    pub fn export_snapshot(&self) -> Result<SnapshotState, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let mut state = SnapshotState::default();
        let registry = txn.open_table(REGISTRY).map_err(|e| self.err(e))?;
        for row in registry.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            state
                .registry
                .push((k.value().to_owned(), v.value().to_owned()));
        }
        let revocations = txn.open_table(REVOCATIONS).map_err(|e| self.err(e))?;
        for row in revocations.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            state
                .revocations
                .push((hex::encode(k.value()), v.value().to_owned()));
        }
        let fleet = self.fleet_state_in(&txn)?;
        state.revision = fleet.position;
        state.stream = fleet.stream.unwrap_or_default();
        state.keyring = fleet.keyring;
        Ok(state)
    }

    /// Replaces the replicated state with a snapshot's, its position and
    /// stream included, in one transaction (the audit log is kept: it is
    /// this gateway's own record).
    pub fn import_snapshot(&self, state: &SnapshotState) -> Result<(), StoreError> {
        self.write(|txn| {
            for def in [REGISTRY, FLEET] {
                txn.delete_table(def)?;
            }
            txn.delete_table(REVOCATIONS)?;
            txn.delete_table(REVOCATION_INDEX)?;
            let mut registry = txn.open_table(REGISTRY)?;
            for (k, v) in &state.registry {
                registry.insert(k.as_str(), v.as_str())?;
            }
            let mut revocations = txn.open_table(REVOCATIONS)?;
            let mut index = txn.open_table(REVOCATION_INDEX)?;
            for (id, record) in &state.revocations {
                let id = hex::decode(id).map_err(|_| TxnError::Corrupt("snapshot"))?;
                revocations.insert(id.as_slice(), record.as_str())?;
                index.insert(revocation_key(&id), ())?;
            }
            let mut fleet = txn.open_table(FLEET)?;
            fleet.insert(POSITION, state.revision.to_string().as_str())?;
            fleet.insert(STREAM, state.stream.as_str())?;
            fleet.insert(KEYRING, serde_json::to_string(&state.keyring)?.as_str())?;
            Ok(())
        })
    }

    /// SHA-256 (hex) over the registry rows and the revoked ids, in key
    /// order: equal on two gateways exactly when both hold the same state.
    pub fn fleet_digest(&self) -> Result<String, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let mut hash = Sha256::new();
        let registry = txn.open_table(REGISTRY).map_err(|e| self.err(e))?;
        for row in registry.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            hash.update(k.value().as_bytes());
            hash.update([0]);
            hash.update(v.value().as_bytes());
            hash.update([b'\n']);
        }
        hash.update(b"revocations\n");
        let index = txn.open_table(REVOCATION_INDEX).map_err(|e| self.err(e))?;
        for row in index.iter().map_err(|e| self.err(e))? {
            let (k, _) = row.map_err(|e| self.err(e))?;
            hash.update(k.value().to_be_bytes());
        }
        Ok(hex::encode(hash.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::PublicKeyPart;
    use crate::model::Id;

    #[test]
    fn changes_and_their_position_commit_together_and_dry_runs_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("s.redb")).unwrap();
        let ws = Id::new("ws_1").unwrap();
        let put = Change::PutWorkspace {
            workspace: ws.clone(),
        };
        let planned = store.dry_run(|s| s.apply(&put, &Actor::Cli, Utc::now()).unwrap());
        assert_eq!(planned.records.len(), 1);
        assert!(store.registry().unwrap().workspaces.is_empty());
        let before = store.fleet_digest().unwrap();
        let key = Change::KeyRotated {
            key: PublicKeyPart {
                key_id: 7,
                public_key: "ed25519/00".into(),
            },
        };
        store
            .apply_fleet(&[put, key], &Actor::Cli, Utc::now(), 3)
            .unwrap();
        let state = store.fleet_state().unwrap();
        assert_eq!(state.position, 3);
        assert_eq!(
            state.keyring.get(&7).map(String::as_str),
            Some("ed25519/00")
        );
        assert!(store.registry().unwrap().workspaces.contains(&ws));
        assert_ne!(store.fleet_digest().unwrap(), before);
        // A table in a workspace nobody registered: refused, position unchanged.
        let bad = Change::PutTable {
            table: Id::new("t_1").unwrap(),
            workspace: Id::new("ws_9").unwrap(),
        };
        assert!(store
            .apply_fleet(&[bad], &Actor::Cli, Utc::now(), 4)
            .is_err());
        assert_eq!(store.fleet_state().unwrap().position, 3);
        store.skip_fleet(4).unwrap();
        assert_eq!(store.fleet_state().unwrap().position, 4);
        store.reset_fleet().unwrap();
        assert_eq!(store.fleet_state().unwrap(), FleetState::default());
        assert_eq!(store.fleet_digest().unwrap(), before);
    }
}
