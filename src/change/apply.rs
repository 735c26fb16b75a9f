//! What a change does to the state it lands on: [`apply`], the one
//! implementation, over any [`Target`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::access::{Refusal, TableSharing, Team, User};
use crate::model::{Id, LedgerEntry, ModelError, ViewEntry, ViewOwner};

use super::people;
use super::{AuditRecord, Change};

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

/// What a revocation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Revoked {
    /// Revocation ids newly added (already revoked ones are not counted).
    pub revocation_ids: Vec<String>,
    /// Ledger tokens newly marked revoked.
    pub token_ids: Vec<Id>,
}

impl Revoked {
    /// What these committed changes revoked.
    pub fn from_changes<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Self {
        let mut revoked = Revoked::default();
        for change in changes {
            if let Change::Revoke {
                revocation_id,
                token_id,
                ..
            } = change
            {
                revoked.revocation_ids.push(revocation_id.clone());
                revoked.token_ids.extend(token_id.iter().cloned());
            }
        }
        revoked
    }
}

/// The changes a store transaction committed, each with its audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The recorded changes, in order (changes that changed nothing are left out).
    pub records: Vec<AuditRecord>,
}

impl Applied {
    /// The committed changes.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.records.iter().map(|r| &r.change)
    }

    /// What the committed changes revoked.
    pub fn revoked(&self) -> Revoked {
        Revoked::from_changes(self.changes())
    }
}

/// Why a change cannot be applied to the state it would land on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The table is registered under another workspace.
    #[error("table {table} belongs to workspace {workspace}")]
    TableInOtherWorkspace {
        /// The table.
        table: Id,
        /// The workspace it is registered in.
        workspace: Id,
    },
    /// The workspace is not registered.
    #[error("workspace {0} is not registered")]
    UnknownWorkspace(Id),
    /// The table is not registered.
    #[error("table {0} is not registered")]
    UnknownTable(Id),
    /// The view is not registered.
    #[error("view {0} is not registered")]
    UnknownView(Id),
    /// No ledger entry has this token id.
    #[error("no token {0} in the ledger")]
    UnknownToken(String),
    /// A view setting name outside the known five.
    #[error(transparent)]
    Setting(ModelError),
    /// A revocation id that is not hex (in a change or in the ledger).
    #[error("revocation id {0:?} is not hex")]
    BadRevocationId(String),
    /// The user is not registered.
    #[error("user {0} is not registered")]
    UnknownUser(Id),
    /// An email address that is not `local@domain`, printable, at most 254 characters.
    #[error("invalid email: an address such as ana@example.com, printable, without spaces, at most 254 characters")]
    InvalidEmail,
    /// A display name that is not a printable label.
    #[error("invalid name: {0}")]
    InvalidName(ModelError),
    /// A people change the workspace's rules refuse (the last owner, an
    /// entry for someone outside the workspace, …).
    #[error(transparent)]
    Refused(Refusal),
    /// A change this version does not know (from a newer audit log).
    #[error("a change written by a newer version of tessera cannot be applied")]
    Unsupported,
}

/// The state a change lands on: read what it needs, write what it sets.
/// The store (a redb transaction), the gateway (its in-memory registry and
/// revocation set) and [`Memory`](super::Memory) implement it.
pub trait Target {
    /// Why reading or writing failed.
    type Error: From<ChangeError>;
    /// True when the workspace is registered.
    fn has_workspace(&self, workspace: &Id) -> Result<bool, Self::Error>;
    /// The workspace a table is registered in.
    fn table_workspace(&self, table: &Id) -> Result<Option<Id>, Self::Error>;
    /// A registered view.
    fn view(&self, view: &Id) -> Result<Option<ViewEntry>, Self::Error>;
    /// One ledger entry (`None` where no ledger is held).
    fn ledger_entry(&self, token_id: &Id) -> Result<Option<LedgerEntry>, Self::Error>;
    /// The whole ledger (empty where no ledger is held).
    fn ledger_entries(&self) -> Result<Vec<LedgerEntry>, Self::Error>;
    /// True when the revocation id is revoked.
    fn is_revoked(&self, revocation_id: &[u8]) -> Result<bool, Self::Error>;
    /// A workspace's display name, when one is set.
    fn workspace_name(&self, workspace: &Id) -> Result<Option<String>, Self::Error>;
    /// Sets a (registered) workspace's display name.
    fn put_workspace_name(&mut self, workspace: &Id, name: &str) -> Result<(), Self::Error>;
    /// Registers a workspace.
    fn put_workspace(&mut self, workspace: &Id) -> Result<(), Self::Error>;
    /// Registers a table in a workspace.
    fn put_table(&mut self, table: &Id, workspace: &Id) -> Result<(), Self::Error>;
    /// Sets a view.
    fn put_view(&mut self, view: &Id, entry: &ViewEntry) -> Result<(), Self::Error>;
    /// Sets the columns a (registered) view hides.
    fn put_hidden_columns(
        &mut self,
        view: &Id,
        columns: &std::collections::BTreeSet<String>,
    ) -> Result<(), Self::Error>;
    /// A view's creator and personal flag, when set.
    fn view_owner(&self, view: &Id) -> Result<Option<ViewOwner>, Self::Error>;
    /// Sets a view's creator and personal flag.
    fn put_view_owner(&mut self, view: &Id, owner: &ViewOwner) -> Result<(), Self::Error>;
    /// Writes a ledger entry.
    fn put_ledger(&mut self, entry: &LedgerEntry) -> Result<(), Self::Error>;
    /// Revokes a revocation id.
    fn put_revocation(
        &mut self,
        revocation_id: &[u8],
        record: &RevocationRecord,
    ) -> Result<(), Self::Error>;
    /// A registered user.
    fn user(&self, user: &Id) -> Result<Option<User>, Self::Error>;
    /// Registers (`Some`) or removes (`None`) a user's record.
    fn put_user(&mut self, user: &Id, record: Option<&User>) -> Result<(), Self::Error>;
    /// A workspace's people, when it has any.
    fn team(&self, workspace: &Id) -> Result<Option<Team>, Self::Error>;
    /// Every workspace's people.
    fn teams(&self) -> Result<Vec<(Id, Team)>, Self::Error>;
    /// Sets a workspace's people.
    fn put_team(&mut self, workspace: &Id, team: &Team) -> Result<(), Self::Error>;
    /// A table's author and access, when set.
    fn sharing(&self, table: &Id) -> Result<Option<TableSharing>, Self::Error>;
    /// Sets a table's author and access.
    fn put_sharing(&mut self, table: &Id, sharing: &TableSharing) -> Result<(), Self::Error>;
}

/// Applies `change`, committed at `at`, to `target`. Returns false when it
/// changes nothing (a workspace or table already registered so, an id
/// already revoked, a legacy event): such a change is not recorded.
pub fn apply<T: Target>(
    target: &mut T,
    change: &Change,
    at: DateTime<Utc>,
) -> Result<bool, T::Error> {
    match change {
        Change::PutWorkspace { workspace } => {
            if target.has_workspace(workspace)? {
                return Ok(false);
            }
            target.put_workspace(workspace)?;
            Ok(true)
        }
        Change::NameWorkspace { workspace, name } => {
            people::name_workspace(target, workspace, name)
        }
        Change::PutTable { table, workspace } => {
            match target.table_workspace(table)? {
                Some(current) if &current == workspace => return Ok(false),
                Some(current) => {
                    return Err(ChangeError::TableInOtherWorkspace {
                        table: table.clone(),
                        workspace: current,
                    }
                    .into())
                }
                None => {}
            }
            if !target.has_workspace(workspace)? {
                return Err(ChangeError::UnknownWorkspace(workspace.clone()).into());
            }
            target.put_table(table, workspace)?;
            Ok(true)
        }
        Change::PutView {
            view,
            table,
            settings,
        } => {
            if target.table_workspace(table)?.is_none() {
                return Err(ChangeError::UnknownTable(table.clone()).into());
            }
            let entry = ViewEntry {
                table: table.clone(),
                settings: *settings,
            };
            target.put_view(view, &entry)?;
            Ok(true)
        }
        Change::HideColumns { view, columns } => {
            if target.view(view)?.is_none() {
                return Err(ChangeError::UnknownView(view.clone()).into());
            }
            target.put_hidden_columns(view, columns)?;
            Ok(true)
        }
        Change::PutViewOwner { view, owner } => {
            if target.view(view)?.is_none() {
                return Err(ChangeError::UnknownView(view.clone()).into());
            }
            if let Some(user) = &owner.creator {
                if target.user(user)?.is_none() {
                    return Err(ChangeError::UnknownUser(user.clone()).into());
                }
            }
            if target.view_owner(view)?.unwrap_or_default() == *owner {
                return Ok(false);
            }
            target.put_view_owner(view, owner)?;
            Ok(true)
        }
        Change::TokenIssued { entry } => {
            target.put_ledger(entry)?;
            Ok(true)
        }
        Change::Revoke {
            revocation_id,
            token_id,
            reason,
        } => apply_revoke(target, revocation_id, token_id.as_ref(), reason, at),
        Change::PutUser { user, email, name } => people::put_user(target, user, email, name),
        Change::RemoveUser { user } => people::remove_user(target, user),
        Change::PutMember {
            workspace,
            user,
            role,
        } => people::put_member(target, workspace, user, Some(*role)),
        Change::RemoveMember { workspace, user } => {
            people::put_member(target, workspace, user, None)
        }
        Change::ExpireMember {
            workspace,
            user,
            expires_at,
        } => people::expire_member(target, workspace, user, *expires_at),
        Change::PutGroup {
            workspace,
            group,
            name,
            members,
        } => people::put_group(target, workspace, group, Some((name, members))),
        Change::RemoveGroup { workspace, group } => {
            people::put_group(target, workspace, group, None)
        }
        Change::PutTableSharing { table, sharing } => people::put_sharing(target, table, sharing),
        // The keyring lives in files; the change is the record of it.
        Change::KeysInitialised { .. } | Change::KeyRotated { .. } | Change::KeyRetired { .. } => {
            Ok(true)
        }
        Change::Legacy { .. } => Ok(false),
        Change::Unknown => Err(ChangeError::Unsupported.into()),
    }
}

fn apply_revoke<T: Target>(
    target: &mut T,
    revocation_id: &str,
    token_id: Option<&Id>,
    reason: &Option<String>,
    at: DateTime<Utc>,
) -> Result<bool, T::Error> {
    let bytes = decode_revocation_id(revocation_id)?;
    if target.is_revoked(&bytes)? {
        return Ok(false);
    }
    let record = RevocationRecord {
        revoked_at: at,
        reason: reason.clone(),
        token_id: token_id.cloned(),
    };
    target.put_revocation(&bytes, &record)?;
    if let Some(id) = token_id {
        if let Some(mut entry) = target.ledger_entry(id)?.filter(|e| e.revoked_at.is_none()) {
            entry.revoked_at = Some(at);
            entry.revoke_reason = reason.clone();
            target.put_ledger(&entry)?;
        }
    }
    Ok(true)
}

pub(super) fn decode_revocation_id(hex_id: &str) -> Result<Vec<u8>, ChangeError> {
    hex::decode(hex_id)
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| ChangeError::BadRevocationId(hex_id.chars().take(80).collect()))
}
