//! The audit log: one versioned [`AuditRecord`] per committed change,
//! appended in the change's own transaction. Rows written before records
//! were structured decode as [`crate::change::Change::Legacy`].

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable};

use crate::change::{Actor, AuditRecord, Change, AUDIT_VERSION};

use super::tables::AUDIT;
use super::{Store, StoreError, Txn, TxnError};

/// Appends `change` to the audit log inside `txn`; returns the record.
pub(super) fn append(
    txn: &Txn,
    change: &Change,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<AuditRecord, TxnError> {
    let mut t = txn.open_table(AUDIT)?;
    let seq = t.last()?.map_or(0, |(k, _)| k.value()) + 1;
    let record = AuditRecord {
        version: AUDIT_VERSION,
        seq,
        at,
        actor: actor.clone(),
        change: change.clone(),
    };
    t.insert(seq, serde_json::to_string(&record)?.as_str())?;
    Ok(record)
}

impl Store {
    /// The audit log, oldest first.
    pub fn audit(&self) -> Result<Vec<AuditRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(AUDIT).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            out.push(AuditRecord::decode(v.value()).map_err(|_| self.corrupt("audit"))?);
        }
        Ok(out)
    }
}
