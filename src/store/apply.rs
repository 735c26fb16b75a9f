//! Committing [`Change`]s: each is applied to the redb tables through the
//! one [`change::apply`] and appended to the audit log, in one transaction.

use chrono::{DateTime, Utc};
use redb::ReadableTable;

use crate::change::{
    self, Actor, Applied, Change, ChangeError, RevocationRecord, RevokeTarget, Revoked, Target,
};
use crate::model::access::{TableSharing, Team, User};
use crate::model::{revocation_key, Id, LedgerEntry, ViewEntry};

use super::audit;
use super::tables::{
    get_json, put_json, TableRecord, WorkspaceRecord, HIDDEN_COLUMNS, LEDGER, REGISTRY,
    REVOCATIONS, REVOCATION_INDEX, SHARING, TEAM, USER, VIEW_OWNER,
};
use super::{Store, StoreError, Txn, TxnError};

/// The redb write transaction as the state a change lands on.
pub(super) struct TxnTarget<'t> {
    pub(super) txn: &'t Txn,
}

fn registry_key(kind: &str, id: &Id) -> String {
    format!("{kind}/{id}")
}

impl Target for TxnTarget<'_> {
    type Error = TxnError;

    fn has_workspace(&self, workspace: &Id) -> Result<bool, TxnError> {
        let key = registry_key("workspace", workspace);
        Ok(get_json::<&str, serde_json::Value>(self.txn, REGISTRY, &key, "registry")?.is_some())
    }

    fn table_workspace(&self, table: &Id) -> Result<Option<Id>, TxnError> {
        let key = registry_key("table", table);
        Ok(
            get_json::<&str, TableRecord>(self.txn, REGISTRY, &key, "registry")?
                .map(|t| t.workspace),
        )
    }

    fn view(&self, view: &Id) -> Result<Option<ViewEntry>, TxnError> {
        get_json(
            self.txn,
            REGISTRY,
            registry_key("view", view).as_str(),
            "registry",
        )
    }

    fn ledger_entry(&self, token_id: &Id) -> Result<Option<LedgerEntry>, TxnError> {
        get_json(self.txn, LEDGER, token_id.as_str(), "ledger")
    }

    fn ledger_entries(&self) -> Result<Vec<LedgerEntry>, TxnError> {
        let t = self.txn.open_table(LEDGER)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(serde_json::from_str(v.value()).map_err(|_| TxnError::Corrupt("ledger"))?);
        }
        Ok(out)
    }

    fn is_revoked(&self, revocation_id: &[u8]) -> Result<bool, TxnError> {
        Ok(self
            .txn
            .open_table(REVOCATIONS)?
            .get(revocation_id)?
            .is_some())
    }

    fn put_workspace(&mut self, workspace: &Id) -> Result<(), TxnError> {
        self.put_record("workspace", workspace, &WorkspaceRecord::default())
    }

    fn view_owner(&self, view: &Id) -> Result<Option<crate::model::ViewOwner>, TxnError> {
        self.record(VIEW_OWNER, view)
    }

    fn put_view_owner(
        &mut self,
        view: &Id,
        owner: &crate::model::ViewOwner,
    ) -> Result<(), TxnError> {
        self.put_record(VIEW_OWNER, view, owner)
    }

    fn workspace_name(&self, workspace: &Id) -> Result<Option<String>, TxnError> {
        let record: Option<WorkspaceRecord> = self.record("workspace", workspace)?;
        Ok(record.and_then(|w| w.name))
    }

    fn put_workspace_name(&mut self, workspace: &Id, name: &str) -> Result<(), TxnError> {
        let record = WorkspaceRecord {
            name: Some(name.to_owned()),
        };
        self.put_record("workspace", workspace, &record)
    }

    fn put_table(&mut self, table: &Id, workspace: &Id) -> Result<(), TxnError> {
        let record = TableRecord {
            workspace: workspace.clone(),
        };
        put_json(
            self.txn,
            REGISTRY,
            registry_key("table", table).as_str(),
            &record,
        )
    }

    fn put_hidden_columns(
        &mut self,
        view: &Id,
        columns: &std::collections::BTreeSet<String>,
    ) -> Result<(), TxnError> {
        put_json(
            self.txn,
            REGISTRY,
            registry_key(HIDDEN_COLUMNS, view).as_str(),
            columns,
        )
    }

    fn put_view(&mut self, view: &Id, entry: &ViewEntry) -> Result<(), TxnError> {
        put_json(
            self.txn,
            REGISTRY,
            registry_key("view", view).as_str(),
            entry,
        )
    }

    fn put_ledger(&mut self, entry: &LedgerEntry) -> Result<(), TxnError> {
        put_json(self.txn, LEDGER, entry.token_id.as_str(), entry)
    }

    fn user(&self, user: &Id) -> Result<Option<User>, TxnError> {
        self.record(USER, user)
    }

    fn put_user(&mut self, user: &Id, record: Option<&User>) -> Result<(), TxnError> {
        match record {
            Some(r) => self.put_record(USER, user, r),
            None => {
                let key = registry_key(USER, user);
                self.txn.open_table(REGISTRY)?.remove(key.as_str())?;
                Ok(())
            }
        }
    }

    fn team(&self, workspace: &Id) -> Result<Option<Team>, TxnError> {
        self.record(TEAM, workspace)
    }

    fn teams(&self) -> Result<Vec<(Id, Team)>, TxnError> {
        let t = self.txn.open_table(REGISTRY)?;
        let (start, end) = (format!("{TEAM}/"), format!("{TEAM}0"));
        let mut out = Vec::new();
        for row in t.range(start.as_str()..end.as_str())? {
            let (k, v) = row?;
            let corrupt = || TxnError::Corrupt("registry");
            let id = k.value()[start.len()..].to_owned();
            let id = Id::new(&id).map_err(|_| corrupt())?;
            out.push((id, serde_json::from_str(v.value()).map_err(|_| corrupt())?));
        }
        Ok(out)
    }

    fn put_team(&mut self, workspace: &Id, team: &Team) -> Result<(), TxnError> {
        self.put_record(TEAM, workspace, team)
    }

    fn sharing(&self, table: &Id) -> Result<Option<TableSharing>, TxnError> {
        self.record(SHARING, table)
    }

    fn put_sharing(&mut self, table: &Id, sharing: &TableSharing) -> Result<(), TxnError> {
        self.put_record(SHARING, table, sharing)
    }

    fn put_revocation(
        &mut self,
        revocation_id: &[u8],
        record: &RevocationRecord,
    ) -> Result<(), TxnError> {
        let json = serde_json::to_string(record)?;
        self.txn
            .open_table(REVOCATIONS)?
            .insert(revocation_id, json.as_str())?;
        self.txn
            .open_table(REVOCATION_INDEX)?
            .insert(revocation_key(revocation_id), ())?;
        Ok(())
    }
}

impl TxnTarget<'_> {
    fn record<T: for<'de> serde::Deserialize<'de>>(
        &self,
        kind: &str,
        id: &Id,
    ) -> Result<Option<T>, TxnError> {
        get_json(
            self.txn,
            REGISTRY,
            registry_key(kind, id).as_str(),
            "registry",
        )
    }

    fn put_record<T: serde::Serialize>(
        &mut self,
        kind: &str,
        id: &Id,
        value: &T,
    ) -> Result<(), TxnError> {
        put_json(self.txn, REGISTRY, registry_key(kind, id).as_str(), value)
    }
}

impl From<ChangeError> for TxnError {
    fn from(e: ChangeError) -> Self {
        TxnError::Rejected(e)
    }
}

impl Store {
    /// Commits one change and its audit record in one transaction. A change
    /// that changes nothing is not recorded (the answer holds no record).
    pub fn apply(
        &self,
        change: &Change,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        self.apply_all(std::slice::from_ref(change), actor, now)
    }

    /// Commits changes, all or none, each with its audit record, in one transaction.
    pub fn apply_all(
        &self,
        changes: &[Change],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        self.commit(actor, now, |_| Ok(changes.to_vec()))
    }

    /// Plans changes against the store's state and commits them, in one transaction.
    fn commit(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        plan: impl FnOnce(&TxnTarget<'_>) -> Result<Vec<Change>, TxnError>,
    ) -> Result<Applied, StoreError> {
        self.commit_then(actor, now, plan, |_, _| Ok(()))
    }

    /// [`Store::commit`], then `then` in the same transaction (the fleet's
    /// applied position is written with the changes it applied).
    pub(super) fn commit_then(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        plan: impl FnOnce(&TxnTarget<'_>) -> Result<Vec<Change>, TxnError>,
        then: impl FnOnce(&Txn, &Applied) -> Result<(), TxnError>,
    ) -> Result<Applied, StoreError> {
        self.write(|txn| {
            let mut target = TxnTarget { txn };
            let changes = plan(&target)?;
            let mut applied = Applied::default();
            for change in &changes {
                if change::apply(&mut target, change, now)? {
                    applied
                        .records
                        .push(audit::append(txn, change, actor, now)?);
                }
            }
            then(txn, &applied)?;
            Ok(applied)
        })
    }

    /// Revokes what `target` names ([`change::plan_revoke`]): one
    /// [`Change::Revoke`] per id not yet revoked, in one transaction.
    pub fn revoke_target(
        &self,
        target: &RevokeTarget,
        reason: Option<&str>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        self.commit(actor, now, |state| {
            change::plan_revoke(state, target, reason)
        })
    }

    /// Registers or updates a view ([`change::plan_view`]) in one transaction.
    pub fn update_view(
        &self,
        view: &Id,
        placement: Option<(&Id, &Id)>,
        settings: &[(&str, bool)],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        self.commit(actor, now, |state| {
            change::plan_view(state, view, placement, settings)
        })
    }

    /// [`Store::update_view`] and, in the same transaction, the view's
    /// creator and visibility ([`change::plan_view_owner`]) and, with
    /// `hidden`, the columns it hides (all of them after the change).
    #[allow(clippy::too_many_arguments)]
    pub fn update_view_owned(
        &self,
        view: &Id,
        placement: Option<(&Id, &Id)>,
        settings: &[(&str, bool)],
        creator: Option<&Id>,
        visibility: Option<crate::model::Visibility>,
        hidden: Option<std::collections::BTreeSet<String>>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        self.commit(actor, now, |state| {
            let mut changes = change::plan_view(state, view, placement, settings)?;
            changes.extend(hidden.map(|columns| Change::HideColumns {
                view: view.clone(),
                columns,
            }));
            changes.extend(change::plan_view_owner(state, view, creator, visibility)?);
            Ok(changes)
        })
    }

    /// Registers a workspace (idempotent), as the CLI.
    pub fn set_workspace(&self, workspace: &Id, now: DateTime<Utc>) -> Result<(), StoreError> {
        let change = Change::PutWorkspace {
            workspace: workspace.clone(),
        };
        self.apply(&change, &Actor::Cli, now).map(drop)
    }

    /// Registers a table in a workspace (and the workspace), as the CLI. A
    /// table already in another workspace is an error.
    pub fn set_table(
        &self,
        table: &Id,
        workspace: &Id,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.apply_all(&change::plan_table(table, workspace), &Actor::Cli, now)
            .map(drop)
    }

    /// Registers or updates a view, as the CLI. `placement` (table,
    /// workspace) places it (required for a new view); `changes` set named
    /// settings. Returns the view as stored.
    pub fn set_view(
        &self,
        view: &Id,
        placement: Option<(&Id, &Id)>,
        changes: &[(&str, bool)],
        now: DateTime<Utc>,
    ) -> Result<ViewEntry, StoreError> {
        let applied = self.update_view(view, placement, changes, &Actor::Cli, now)?;
        let entry = applied
            .changes()
            .find_map(|c| match c {
                Change::PutView {
                    view: v,
                    table,
                    settings,
                } if v == view => Some(ViewEntry {
                    table: table.clone(),
                    settings: *settings,
                }),
                _ => None,
            })
            .ok_or_else(|| StoreError::Rejected(ChangeError::UnknownView(view.clone())));
        entry
    }

    /// Records an issued token in the ledger with its audit record, as the CLI.
    pub fn record_issued(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let change = Change::TokenIssued {
            entry: entry.clone(),
        };
        self.apply(&change, &Actor::Cli, entry.created_at).map(drop)
    }

    /// Revokes revocation ids, as the CLI. A ledger token whose authority
    /// revocation id is among them is marked revoked. One transaction, one
    /// audit record per id newly revoked.
    pub fn revoke(
        &self,
        revocation_ids: &[Vec<u8>],
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Revoked, StoreError> {
        let target = RevokeTarget::RevocationIds(revocation_ids.to_vec());
        Ok(self
            .revoke_target(&target, reason, &Actor::Cli, now)?
            .revoked())
    }

    /// Revokes a ledger token by id (its authority block's revocation id,
    /// so every token attenuated from it is revoked too), as the CLI.
    pub fn revoke_token_id(
        &self,
        token_id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Revoked, StoreError> {
        let target = RevokeTarget::TokenId(token_id.to_owned());
        Ok(self
            .revoke_target(&target, reason, &Actor::Cli, now)?
            .revoked())
    }

    /// Revokes every ledger token issued for `view`, as the CLI.
    pub fn revoke_view(
        &self,
        view: &Id,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Revoked, StoreError> {
        let target = RevokeTarget::View(view.clone());
        Ok(self
            .revoke_target(&target, reason, &Actor::Cli, now)?
            .revoked())
    }
}
