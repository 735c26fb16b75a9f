//! The redb tables and reading them: the registry, the ledger, the
//! revocations, and typed JSON rows inside a write transaction.

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::change::RevocationRecord;
use crate::model::{Id, LedgerEntry, Registry, RevocationSet, ViewEntry};

use super::{Store, StoreError, Txn, TxnError};

/// Revocation id (raw bytes) → [`RevocationRecord`] JSON.
pub(super) const REVOCATIONS: TableDefinition<&[u8], &str> = TableDefinition::new("revocations");
/// The in-memory set's key of every revoked id ([`crate::model::revocation_key`]):
/// 16-byte rows, so a gateway loads a million revocations quickly at start.
pub(super) const REVOCATION_INDEX: TableDefinition<u128, ()> =
    TableDefinition::new("revocation_index");
/// `workspace/ID`, `table/ID`, `view/ID`, `user/ID`, `team/WS`, `sharing/TABLE` → JSON.
pub(super) const REGISTRY: TableDefinition<&str, &str> = TableDefinition::new("registry");
/// The registry key kind of a user: `user/ID` → [`crate::model::access::User`] JSON.
pub(super) const USER: &str = "user";
/// The registry key kind of a workspace's people: `team/WS` → [`crate::model::access::Team`] JSON.
pub(super) const TEAM: &str = "team";
/// The registry key kind of a table's author and access: `sharing/TABLE` →
/// [`crate::model::access::TableSharing`] JSON.
pub(super) const SHARING: &str = "sharing";
/// The registry key kind of a view's hidden columns: `columns/VIEW` → a
/// JSON array of column names.
pub(super) const HIDDEN_COLUMNS: &str = "columns";
/// The registry key kind of a view's creator and personal flag: `view_owner/VIEW` → [`crate::model::ViewOwner`] JSON.
pub(super) const VIEW_OWNER: &str = "view_owner";
/// Token id → [`LedgerEntry`] JSON.
pub(super) const LEDGER: TableDefinition<&str, &str> = TableDefinition::new("ledger");
/// Sequence number → [`crate::change::AuditRecord`] JSON.
pub(super) const AUDIT: TableDefinition<u64, &str> = TableDefinition::new("audit");

/// A workspace row of the registry (`{}` before workspaces had names).
#[derive(Default, Serialize, Deserialize)]
pub(super) struct WorkspaceRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<String>,
}

/// A table row of the registry.
#[derive(Serialize, Deserialize)]
pub(super) struct TableRecord {
    pub(super) workspace: Id,
}

impl Store {
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
            let value = serde_json::from_str(v.value()).map_err(|_| self.corrupt(table))?;
            out.push((k.value().to_owned(), value));
        }
        Ok(out)
    }

    /// The registry as the gateway holds it in memory.
    pub fn registry(&self) -> Result<Registry, StoreError> {
        let mut registry = Registry::default();
        for (key, value) in self.read_all::<serde_json::Value>(REGISTRY, "registry")? {
            let corrupt = || self.corrupt("registry");
            let (kind, id) = key.split_once('/').ok_or_else(corrupt)?;
            let id = Id::new(id).map_err(|_| corrupt())?;
            match kind {
                "workspace" => {
                    let w: WorkspaceRecord =
                        serde_json::from_value(value).map_err(|_| corrupt())?;
                    if let Some(name) = w.name {
                        registry.workspace_names.insert(id.clone(), name);
                    }
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
                USER => {
                    let u = serde_json::from_value(value).map_err(|_| corrupt())?;
                    registry.people.users.insert(id, u);
                }
                TEAM => {
                    let t = serde_json::from_value(value).map_err(|_| corrupt())?;
                    registry.people.teams.insert(id, t);
                }
                HIDDEN_COLUMNS => {
                    let c: std::collections::BTreeSet<String> =
                        serde_json::from_value(value).map_err(|_| corrupt())?;
                    if !c.is_empty() {
                        registry.hidden_columns.insert(id, c);
                    }
                }
                VIEW_OWNER => {
                    let o = serde_json::from_value(value).map_err(|_| corrupt())?;
                    registry.view_owners.insert(id, o);
                }
                SHARING => {
                    let s = serde_json::from_value(value).map_err(|_| corrupt())?;
                    registry.sharing.insert(id, s);
                }
                _ => return Err(corrupt()),
            }
        }
        Ok(registry)
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
            .map_err(|_| self.corrupt("ledger"))
    }

    /// Records when tokens were last used (batched by the gateway). Unknown
    /// ids are skipped; an older time never replaces a newer one. Not a
    /// [`crate::change::Change`]: usage is telemetry, not audited.
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

    /// Every revocation with its record, by revocation id (hex).
    pub fn revocation_records(
        &self,
    ) -> Result<std::collections::BTreeMap<String, RevocationRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(REVOCATIONS).map_err(|e| self.err(e))?;
        let mut out = std::collections::BTreeMap::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let record =
                serde_json::from_str(v.value()).map_err(|_| self.corrupt("revocations"))?;
            out.insert(hex::encode(k.value()), record);
        }
        Ok(out)
    }
}

/// A JSON row inside a write transaction.
pub(super) fn get_json<'k, K, T>(
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

/// Writes a JSON row inside a write transaction.
pub(super) fn put_json<'k, K, T>(
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
