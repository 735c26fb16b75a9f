//! Persistence: the redb store (revocations, registry, ledger, audit) and
//! the data directory's key files. The only module besides the gateway
//! that does I/O.
//!
//! Every write is one redb transaction and returns only after its commit
//! (redb's default durability syncs the file), so an acknowledged change
//! survives a crash. A state change is a [`crate::change::Change`],
//! committed with its audit record in the same transaction (`apply`); the
//! tables and their reads are in `tables`, the audit log in `audit`.

mod apply;
mod audit;
pub mod datadir;
mod fleet;
pub mod snapshot;
mod tables;

use std::fmt;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::change::ChangeError;
use crate::keys::KeyError;
use crate::model::revocation_key;

pub use crate::change::{Applied, AuditRecord, RevocationRecord, Revoked};
pub use datadir::DataDir;
pub use fleet::FleetState;
use tables::{AUDIT, LEDGER, REGISTRY, REVOCATIONS, REVOCATION_INDEX};

/// Why the store or a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No store file where one was expected.
    #[error("no store at {0}; run `tessera init` first (or pass --data-dir)")]
    Missing(PathBuf),
    /// Another process holds the store.
    #[error("store {0} is in use by another process (is `tessera serve` running? use --server URL to go through its admin API)")]
    Locked(PathBuf),
    /// The store file is not a readable redb database.
    #[error("store {path} cannot be read: {detail}")]
    Database {
        /// The store file.
        path: PathBuf,
        /// What redb said.
        detail: String,
    },
    /// A record in the store does not decode.
    #[error("store {path} holds an unreadable record in table {table}")]
    CorruptRecord {
        /// The store file.
        path: PathBuf,
        /// The redb table.
        table: &'static str,
    },
    /// A file could not be read or written.
    #[error("cannot access {path}: {detail}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        detail: String,
    },
    /// A data-directory file is a symbolic link that points nowhere.
    #[error("{} is a symbolic link to {}, which does not exist; point the link at an existing file, or remove the link to keep the file in the data directory", path.display(), target.display())]
    DanglingLink {
        /// The link.
        path: PathBuf,
        /// What it points to.
        target: PathBuf,
    },
    /// A data-directory file is a directory (or a link to one).
    #[error("{} is not a regular file (it is {}a directory{}); remove it or point the link at a file", path.display(), if target.is_some() { "a symbolic link to " } else { "" }, target.as_ref().map(|t| format!(" {}", t.display())).unwrap_or_default())]
    NotAFile {
        /// The path in the data directory.
        path: PathBuf,
        /// Where it leads, when it is a symbolic link.
        target: Option<PathBuf>,
    },
    /// No private keyring where one was expected.
    #[error("no keyring at {0}; run `tessera init` first (or pass --data-dir)")]
    MissingKeyring(PathBuf),
    /// The private keyring is readable by others.
    #[error("keyring {} has mode {mode:o}: others could read the private keys; run `chmod 600 {}`", path.display(), path.display())]
    KeyringPermissions {
        /// The keyring file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The keyring file does not parse.
    #[error("keyring {}: {source}", path.display())]
    Keyring {
        /// The keyring file.
        path: PathBuf,
        /// Why.
        source: KeyError,
    },
    /// `init` found existing keys.
    #[error("{0} already exists; pass --force to replace it (tokens signed by the old keys will stop verifying)")]
    AlreadyInitialised(PathBuf),
    /// A change does not apply to what is stored (nothing was written).
    #[error(transparent)]
    Rejected(#[from] ChangeError),
}

impl StoreError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_owned(),
            detail: e.to_string(),
        }
    }
}

/// The redb store.
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

type Txn = redb::WriteTransaction;

impl Store {
    /// Creates a new store file (or opens an existing one) with every table.
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        let db = builder().create(path).map_err(|e| db_error(path, e))?;
        let store = Store {
            db,
            path: path.to_owned(),
        };
        store.write(|txn| {
            txn.open_table(REVOCATIONS)?;
            txn.open_table(REVOCATION_INDEX)?;
            txn.open_table(REGISTRY)?;
            txn.open_table(LEDGER)?;
            txn.open_table(AUDIT)?;
            txn.open_table(fleet::FLEET)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Opens an existing store; a missing file is an error, never created here.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        let db = builder().open(path).map_err(|e| db_error(path, e))?;
        let store = Store {
            db,
            path: path.to_owned(),
        };
        store.repair_revocation_index()?;
        Ok(store)
    }

    /// Rebuilds the revocation index when it does not match the revocations
    /// (a store written before the index existed).
    fn repair_revocation_index(&self) -> Result<(), StoreError> {
        let (ids, keys) = {
            let txn = self.db.begin_read().map_err(|e| self.err(e))?;
            let count = |r: Result<u64, redb::StorageError>| r.map_err(|e| self.err(e));
            let ids = match txn.open_table(REVOCATIONS) {
                Ok(t) => count(t.len())?,
                Err(redb::TableError::TableDoesNotExist(_)) => 0,
                Err(e) => return Err(self.err(e)),
            };
            let keys = match txn.open_table(REVOCATION_INDEX) {
                Ok(t) => count(t.len())?,
                Err(redb::TableError::TableDoesNotExist(_)) => 0,
                Err(e) => return Err(self.err(e)),
            };
            (ids, keys)
        };
        if ids == keys {
            return Ok(());
        }
        self.write(|txn| {
            let source = txn.open_table(REVOCATIONS)?;
            let mut index = txn.open_table(REVOCATION_INDEX)?;
            for row in source.iter()? {
                let (k, _) = row?;
                index.insert(revocation_key(k.value()), ())?;
            }
            Ok(())
        })
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write<T>(&self, f: impl FnOnce(&Txn) -> Result<T, TxnError>) -> Result<T, StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let value = f(&txn).map_err(|e| e.into_store_error(&self.path))?;
        if fleet::dry_running() {
            txn.abort().map_err(|e| self.err(e))?;
            return Ok(value);
        }
        txn.commit().map_err(|e| self.err(e))?;
        Ok(value)
    }

    fn err(&self, e: impl fmt::Display) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    fn corrupt(&self, table: &'static str) -> StoreError {
        StoreError::CorruptRecord {
            path: self.path.clone(),
            table,
        }
    }
}

/// redb settings: a bounded page cache (reading a million revocations at
/// start must not keep them all in redb's cache as well as in the set).
fn builder() -> redb::Builder {
    let mut b = Database::builder();
    b.set_cache_size(32 << 20);
    b
}

/// Errors inside a write transaction, turned into [`StoreError`] at its edge.
enum TxnError {
    Redb(String),
    Corrupt(&'static str),
    Rejected(ChangeError),
}

impl TxnError {
    fn into_store_error(self, path: &Path) -> StoreError {
        match self {
            TxnError::Redb(detail) => StoreError::Database {
                path: path.to_owned(),
                detail,
            },
            TxnError::Corrupt(table) => StoreError::CorruptRecord {
                path: path.to_owned(),
                table,
            },
            TxnError::Rejected(e) => StoreError::Rejected(e),
        }
    }
}

impl From<redb::TableError> for TxnError {
    fn from(e: redb::TableError) -> Self {
        TxnError::Redb(e.to_string())
    }
}
impl From<redb::StorageError> for TxnError {
    fn from(e: redb::StorageError) -> Self {
        TxnError::Redb(e.to_string())
    }
}
impl From<serde_json::Error> for TxnError {
    fn from(e: serde_json::Error) -> Self {
        TxnError::Redb(e.to_string())
    }
}

fn db_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.to_owned()),
        other => StoreError::Database {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn revocations_survive_reopening_and_the_index_is_rebuilt_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let ids: Vec<Vec<u8>> = (0u8..3).map(|i| vec![i; 64]).collect();
        {
            let store = Store::create(&path).unwrap();
            let revoked = store.revoke(&ids, Some("test"), Utc::now()).unwrap();
            assert_eq!(revoked.revocation_ids.len(), 3);
            // Revoking again changes nothing.
            assert!(store
                .revoke(&ids, None, Utc::now())
                .unwrap()
                .revocation_ids
                .is_empty());
            // A store written before the index existed.
            store
                .write(|txn| {
                    txn.delete_table(REVOCATION_INDEX)?;
                    Ok(())
                })
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let set = store.revocations().unwrap();
        assert_eq!(set.len(), 3);
        assert!(ids.iter().all(|id| set.contains(id)));
        assert!(!set.contains(&[9u8; 64]));
        assert_eq!(store.audit().unwrap().len(), 3);
    }
}
