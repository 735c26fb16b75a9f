//! Persistence: the redb store (revocations, registry, ledger, audit) and
//! the data directory's key files. The only module besides the gateway
//! that does I/O.
//!
//! Every write is one redb transaction and returns only after its commit
//! (redb's default durability syncs the file), so an acknowledged change
//! survives a crash.

pub mod datadir;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::keys::KeyError;
use crate::model::{revocation_key, Id, LedgerEntry, Registry, RevocationSet, ViewEntry};

pub use datadir::DataDir;

/// Revocation id (raw bytes) → [`RevocationRecord`] JSON.
const REVOCATIONS: TableDefinition<&[u8], &str> = TableDefinition::new("revocations");
/// The in-memory set's key of every revoked id ([`revocation_key`]): 16-byte
/// rows, so a gateway loads a million revocations quickly at start.
const REVOCATION_INDEX: TableDefinition<u128, ()> = TableDefinition::new("revocation_index");
/// `workspace/ID`, `table/ID`, `view/ID` → JSON.
const REGISTRY: TableDefinition<&str, &str> = TableDefinition::new("registry");
/// Token id → [`LedgerEntry`] JSON.
const LEDGER: TableDefinition<&str, &str> = TableDefinition::new("ledger");
/// Sequence number → [`AuditEvent`] JSON.
const AUDIT: TableDefinition<u64, &str> = TableDefinition::new("audit");

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
    /// A table is registered under another workspace.
    #[error("table {table} belongs to workspace {workspace}")]
    TableInOtherWorkspace {
        /// The table.
        table: Id,
        /// The workspace it is registered in.
        workspace: Id,
    },
    /// The view is not registered.
    #[error("view {0} is not registered; create it with `tessera view set {0} --table T --workspace WS`")]
    UnknownView(Id),
    /// No ledger entry has this token id.
    #[error("no token {0} in the ledger")]
    UnknownToken(String),
}

impl StoreError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_owned(),
            detail: e.to_string(),
        }
    }
}

/// Why and when a revocation id was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRecord {
    /// When.
    pub revoked_at: DateTime<Utc>,
    /// Why, as the operator said.
    pub reason: Option<String>,
    /// The ledger token it belongs to, when known.
    pub token_id: Option<Id>,
}

/// One append-only audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its position in the log, from 1.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// `issued`, `revoked`, `settings_changed`, `keys_initialised`, `key_rotated`, `key_retired`.
    pub event: String,
    /// The token concerned, when there is one.
    pub token_id: Option<Id>,
    /// What changed, for people.
    pub detail: String,
}

/// What a revocation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Revoked {
    /// Revocation ids newly added (already revoked ones are not counted).
    pub revocation_ids: Vec<String>,
    /// Ledger tokens newly marked revoked.
    pub token_ids: Vec<Id>,
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
        txn.commit().map_err(|e| self.err(e))?;
        Ok(value)
    }

    fn err(&self, e: impl fmt::Display) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    fn read_all<T: for<'de> Deserialize<'de>>(
        &self,
        def: TableDefinition<&str, &str>,
        table: &'static str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(def).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let value = serde_json::from_str(v.value()).map_err(|_| StoreError::CorruptRecord {
                path: self.path.clone(),
                table,
            })?;
            out.push((k.value().to_owned(), value));
        }
        Ok(out)
    }

    /// The registry as the gateway holds it in memory.
    pub fn registry(&self) -> Result<Registry, StoreError> {
        let mut registry = Registry::default();
        for (key, value) in self.read_all::<serde_json::Value>(REGISTRY, "registry")? {
            let corrupt = || StoreError::CorruptRecord {
                path: self.path.clone(),
                table: "registry",
            };
            let (kind, id) = key.split_once('/').ok_or_else(corrupt)?;
            let id = Id::new(id).map_err(|_| corrupt())?;
            match kind {
                "workspace" => {
                    registry.workspaces.insert(id);
                }
                "table" => {
                    let t: TableRecord = serde_json::from_value(value).map_err(|_| corrupt())?;
                    registry.tables.insert(id, t.workspace);
                }
                "view" => {
                    let v: ViewEntry = serde_json::from_value(value).map_err(|_| corrupt())?;
                    registry.views.insert(id, v);
                }
                _ => return Err(corrupt()),
            }
        }
        Ok(registry)
    }

    /// Registers a workspace (idempotent).
    pub fn set_workspace(&self, workspace: &Id, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|txn| {
            put_workspace(txn, workspace, now)?;
            Ok(())
        })
    }

    /// Registers a table in a workspace (and the workspace). A table already
    /// in another workspace is an error.
    pub fn set_table(
        &self,
        table: &Id,
        workspace: &Id,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|txn| put_table(txn, table, workspace, now))
    }

    /// Registers or updates a view. `table`/`workspace` place it (required for
    /// a new view); `changes` set named settings. Returns the view as stored.
    pub fn set_view(
        &self,
        view: &Id,
        placement: Option<(&Id, &Id)>,
        changes: &[(&str, bool)],
        now: DateTime<Utc>,
    ) -> Result<ViewEntry, StoreError> {
        self.write(|txn| {
            let key = format!("view/{view}");
            let existing: Option<ViewEntry> = get_json(txn, REGISTRY, key.as_str(), "registry")?;
            let mut entry = match (existing, placement) {
                (existing, Some((table, workspace))) => {
                    put_table(txn, table, workspace, now)?;
                    ViewEntry {
                        table: table.clone(),
                        settings: existing.map(|e| e.settings).unwrap_or_default(),
                    }
                }
                (Some(e), None) => e,
                (None, None) => return Err(TxnError::Store(StoreError::UnknownView(view.clone()))),
            };
            for (name, value) in changes {
                entry
                    .settings
                    .set(name, *value)
                    .map_err(|e| TxnError::Invalid(e.to_string()))?;
            }
            put_json(txn, REGISTRY, key.as_str(), &entry)?;
            let settings: Vec<String> = entry
                .settings
                .entries()
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            audit(
                txn,
                now,
                "settings_changed",
                None,
                format!(
                    "view {view} in table {}: {}",
                    entry.table,
                    settings.join(" ")
                ),
            )?;
            Ok(entry)
        })
    }

    /// Records an issued token in the ledger with an `issued` audit event.
    pub fn record_issued(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        self.write(|txn| {
            put_json(txn, LEDGER, entry.token_id.as_str(), entry)?;
            let scope = entry
                .scope
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "admin API".into());
            audit(
                txn,
                entry.created_at,
                "issued",
                Some(&entry.token_id),
                format!("{} token for {scope}", entry.kind),
            )
        })
    }

    /// The whole ledger, by token id.
    pub fn ledger(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(self
            .read_all::<LedgerEntry>(LEDGER, "ledger")?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    /// One ledger entry.
    pub fn ledger_entry(&self, token_id: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(LEDGER).map_err(|e| self.err(e))?;
        let Some(v) = t.get(token_id).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        serde_json::from_str(v.value())
            .map(Some)
            .map_err(|_| StoreError::CorruptRecord {
                path: self.path.clone(),
                table: "ledger",
            })
    }

    /// Records when tokens were last used (batched by the gateway). Unknown
    /// ids are skipped; an older time never replaces a newer one.
    pub fn touch_last_used(&self, uses: &[(String, DateTime<Utc>)]) -> Result<usize, StoreError> {
        self.write(|txn| {
            let mut updated = 0;
            for (token_id, at) in uses {
                let Some(mut entry) =
                    get_json::<&str, LedgerEntry>(txn, LEDGER, token_id.as_str(), "ledger")?
                else {
                    continue;
                };
                if entry.last_used_at.is_none_or(|prev| prev < *at) {
                    entry.last_used_at = Some(*at);
                    put_json(txn, LEDGER, token_id.as_str(), &entry)?;
                    updated += 1;
                }
            }
            Ok(updated)
        })
    }

    /// Revokes revocation ids. A ledger token whose authority revocation id
    /// is among them is marked revoked. One transaction, one audit event per id.
    pub fn revoke(
        &self,
        revocation_ids: &[Vec<u8>],
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Revoked, StoreError> {
        let ledger = self.ledger()?;
        self.write(|txn| {
            let mut revoked = Revoked::default();
            let mut table = txn.open_table(REVOCATIONS)?;
            let mut index = txn.open_table(REVOCATION_INDEX)?;
            for id in revocation_ids {
                let hex_id = hex::encode(id);
                if table.get(id.as_slice())?.is_some() {
                    continue;
                }
                let owner = ledger
                    .iter()
                    .find(|e| e.revocation_ids.first() == Some(&hex_id));
                let record = RevocationRecord {
                    revoked_at: now,
                    reason: reason.map(str::to_owned),
                    token_id: owner.map(|e| e.token_id.clone()),
                };
                table.insert(id.as_slice(), serde_json::to_string(&record)?.as_str())?;
                index.insert(revocation_key(id), ())?;
                revoked.revocation_ids.push(hex_id.clone());
                if let Some(entry) = owner.filter(|e| e.revoked_at.is_none()) {
                    let mut entry = entry.clone();
                    entry.revoked_at = Some(now);
                    entry.revoke_reason = reason.map(str::to_owned);
                    put_json(txn, LEDGER, entry.token_id.as_str(), &entry)?;
                    revoked.token_ids.push(entry.token_id.clone());
                }
                audit(
                    txn,
                    now,
                    "revoked",
                    owner.map(|e| &e.token_id),
                    format!(
                        "revocation id {}…{}",
                        &hex_id[..hex_id.len().min(16)],
                        reason.map(|r| format!(" ({r})")).unwrap_or_default()
                    ),
                )?;
            }
            Ok(revoked)
        })
    }

    /// Revokes a ledger token by id (its authority block's revocation id,
    /// so every token attenuated from it is revoked too).
    pub fn revoke_token_id(
        &self,
        token_id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Revoked, StoreError> {
        let entry = self
            .ledger_entry(token_id)?
            .ok_or_else(|| StoreError::UnknownToken(token_id.chars().take(80).collect()))?;
        let ids = decode_hex_ids(&entry.revocation_ids, &self.path)?;
        self.revoke(&ids, reason, now)
    }

    /// Revokes every ledger token issued for `view` ("kill all links for this view").
    pub fn revoke_view(
        &self,
        view: &Id,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Revoked, StoreError> {
        let mut ids = Vec::new();
        for entry in self.ledger()?.iter().filter(|e| e.is_for_view(view)) {
            ids.extend(decode_hex_ids(&entry.revocation_ids, &self.path)?);
        }
        self.revoke(&ids, reason, now)
    }

    /// Every revoked id, for the in-memory set.
    pub fn revocations(&self) -> Result<RevocationSet, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(REVOCATION_INDEX).map_err(|e| self.err(e))?;
        let mut keys =
            Vec::with_capacity(usize::try_from(t.len().map_err(|e| self.err(e))?).unwrap_or(0));
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, _) = row.map_err(|e| self.err(e))?;
            keys.push(k.value());
        }
        Ok(RevocationSet::from_keys(keys))
    }

    /// Appends an audit event outside any other change (key management).
    pub fn record_event(
        &self,
        event: &str,
        detail: String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|txn| audit(txn, now, event, None, detail))
    }

    /// The audit log, oldest first.
    pub fn audit(&self) -> Result<Vec<AuditEvent>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(AUDIT).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            out.push(
                serde_json::from_str(v.value()).map_err(|_| StoreError::CorruptRecord {
                    path: self.path.clone(),
                    table: "audit",
                })?,
            );
        }
        Ok(out)
    }
}

/// redb settings: a bounded page cache (reading a million revocations at
/// start must not keep them all in redb's cache as well as in the set).
fn builder() -> redb::Builder {
    let mut b = Database::builder();
    b.set_cache_size(32 << 20);
    b
}

fn decode_hex_ids(ids: &[String], path: &Path) -> Result<Vec<Vec<u8>>, StoreError> {
    ids.iter()
        .map(|h| {
            hex::decode(h).map_err(|_| StoreError::CorruptRecord {
                path: path.to_owned(),
                table: "ledger",
            })
        })
        .collect()
}

#[derive(Serialize, Deserialize)]
struct TableRecord {
    workspace: Id,
}

fn put_workspace(txn: &Txn, workspace: &Id, now: DateTime<Utc>) -> Result<(), TxnError> {
    let key = format!("workspace/{workspace}");
    if get_json::<&str, serde_json::Value>(txn, REGISTRY, key.as_str(), "registry")?.is_none() {
        put_json(txn, REGISTRY, key.as_str(), &serde_json::json!({}))?;
        audit(
            txn,
            now,
            "settings_changed",
            None,
            format!("workspace {workspace} registered"),
        )?;
    }
    Ok(())
}

fn put_table(txn: &Txn, table: &Id, workspace: &Id, now: DateTime<Utc>) -> Result<(), TxnError> {
    put_workspace(txn, workspace, now)?;
    let key = format!("table/{table}");
    match get_json::<&str, TableRecord>(txn, REGISTRY, key.as_str(), "registry")? {
        Some(t) if &t.workspace == workspace => Ok(()),
        Some(t) => Err(TxnError::Store(StoreError::TableInOtherWorkspace {
            table: table.clone(),
            workspace: t.workspace,
        })),
        None => {
            put_json(
                txn,
                REGISTRY,
                key.as_str(),
                &TableRecord {
                    workspace: workspace.clone(),
                },
            )?;
            audit(
                txn,
                now,
                "settings_changed",
                None,
                format!("table {table} registered in workspace {workspace}"),
            )
        }
    }
}

fn get_json<'k, K, T>(
    txn: &Txn,
    def: TableDefinition<K, &str>,
    key: K::SelfType<'k>,
    table: &'static str,
) -> Result<Option<T>, TxnError>
where
    K: redb::Key + 'static,
    T: for<'de> Deserialize<'de>,
{
    let t = txn.open_table(def)?;
    let Some(v) = t.get(key)? else {
        return Ok(None);
    };
    serde_json::from_str(v.value())
        .map(Some)
        .map_err(|_| TxnError::Corrupt(table))
}

fn put_json<'k, K, T>(
    txn: &Txn,
    def: TableDefinition<K, &str>,
    key: K::SelfType<'k>,
    value: &T,
) -> Result<(), TxnError>
where
    K: redb::Key + 'static,
    T: Serialize,
{
    let mut t = txn.open_table(def)?;
    t.insert(key, serde_json::to_string(value)?.as_str())?;
    Ok(())
}

fn audit(
    txn: &Txn,
    at: DateTime<Utc>,
    event: &str,
    token_id: Option<&Id>,
    detail: String,
) -> Result<(), TxnError> {
    let mut t = txn.open_table(AUDIT)?;
    let seq = t.last()?.map_or(0, |(k, _)| k.value()) + 1;
    let event = AuditEvent {
        seq,
        at,
        event: event.to_owned(),
        token_id: token_id.cloned(),
        detail,
    };
    t.insert(seq, serde_json::to_string(&event)?.as_str())?;
    Ok(())
}

/// Errors inside a write transaction, turned into [`StoreError`] at its edge.
enum TxnError {
    Redb(String),
    Corrupt(&'static str),
    Invalid(String),
    Store(StoreError),
}

impl TxnError {
    fn into_store_error(self, path: &Path) -> StoreError {
        match self {
            TxnError::Redb(detail) | TxnError::Invalid(detail) => StoreError::Database {
                path: path.to_owned(),
                detail,
            },
            TxnError::Corrupt(table) => StoreError::CorruptRecord {
                path: path.to_owned(),
                table,
            },
            TxnError::Store(e) => e,
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
