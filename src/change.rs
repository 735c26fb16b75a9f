//! Every state change as one value: [`Change`]. The store commits a change
//! and its [`AuditRecord`] in one transaction, the gateway applies the same
//! change to its in-memory state, and the audit log replays into the
//! registry, the revocation set and the ledger — all through [`apply`], the
//! one implementation of what a change does.
//!
//! A change is *resolved*: it names exactly what it sets (a view's settings
//! after the change, one revocation id and the ledger token it belongs to),
//! so applying it needs no more than the state it lands on. What an operator
//! asks ("revoke every token of this view", "flip `public`") is turned into
//! changes by the `plan_*` functions, against the same state.
//!
//! Pure: no I/O, no clock (time is a parameter), no redb or axum.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::RootKey;
use crate::model::{Id, LedgerEntry, ModelError, Registry, RevocationSet, ViewEntry, ViewSettings};

/// The version of [`AuditRecord`] this build writes.
pub const AUDIT_VERSION: u32 = 1;

/// One state change: what fleet mode replicates, the console shows and the
/// audit log records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// A workspace is registered.
    PutWorkspace {
        /// The workspace.
        workspace: Id,
    },
    /// A table is registered in a (registered) workspace.
    PutTable {
        /// The table.
        table: Id,
        /// Its workspace.
        workspace: Id,
    },
    /// A view is registered or changed: its table and all its settings after the change.
    PutView {
        /// The view.
        view: Id,
        /// The (registered) table it shows.
        table: Id,
        /// Its settings, all of them.
        settings: ViewSettings,
    },
    /// A token was issued: its ledger entry (never the token).
    TokenIssued {
        /// The ledger entry.
        entry: LedgerEntry,
    },
    /// One revocation id is revoked.
    Revoke {
        /// The revocation id, hex.
        revocation_id: String,
        /// The ledger token whose authority block it is, when known.
        token_id: Option<Id>,
        /// Why, as the operator said.
        reason: Option<String>,
    },
    /// The data directory's first root key was created.
    KeysInitialised {
        /// Its public part.
        key: PublicKeyPart,
    },
    /// A new root key signs from now on.
    KeyRotated {
        /// Its public part.
        key: PublicKeyPart,
    },
    /// A root key stopped verifying.
    KeyRetired {
        /// Its id.
        key_id: u32,
    },
    /// An audit event written before changes were structured: prose only.
    Legacy {
        /// Its event name (`issued`, `revoked`, `settings_changed`, …).
        event: String,
        /// The token concerned, when there was one.
        token_id: Option<Id>,
        /// What changed, for people.
        detail: String,
    },
    /// A change written by a newer version of Tessera.
    #[serde(other)]
    Unknown,
}

/// The public half of a root key, as a change carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyPart {
    /// The root key id.
    pub key_id: u32,
    /// The public key, `algorithm/hex` as biscuit-auth writes it.
    pub public_key: String,
}

impl PublicKeyPart {
    /// The public part of `key`.
    pub fn of(key: &RootKey) -> Self {
        PublicKeyPart {
            key_id: key.id(),
            public_key: key.public().to_string(),
        }
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The `tessera` CLI on the local store.
    Cli,
    /// The gateway itself (`tessera serve` creating its keys).
    Gateway,
    /// An admin API request, by its admin token's id.
    Token(Id),
    /// Not recorded (events written before actors were).
    Unknown,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Cli => f.pad("cli"),
            Actor::Gateway => f.pad("gateway"),
            Actor::Token(id) => f.pad(id.as_str()),
            Actor::Unknown => f.pad("unknown"),
        }
    }
}

/// One row of the audit log: a versioned, structured change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The record format ([`AUDIT_VERSION`]; 0 for a legacy prose event).
    pub version: u32,
    /// Its position in the log, from 1.
    pub seq: u64,
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// Who made it.
    pub actor: Actor,
    /// What changed.
    pub change: Change,
}

/// The shape of audit rows written before [`AuditRecord`].
#[derive(Deserialize)]
struct LegacyEvent {
    seq: u64,
    at: DateTime<Utc>,
    event: String,
    token_id: Option<Id>,
    detail: String,
}

impl AuditRecord {
    /// Decodes an audit row: a versioned record, or a legacy prose event
    /// (as [`Change::Legacy`], version 0).
    pub fn decode(json: &str) -> Result<AuditRecord, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(json)?;
        if value.get("version").is_some() {
            return serde_json::from_value(value);
        }
        let legacy: LegacyEvent = serde_json::from_value(value)?;
        Ok(AuditRecord {
            version: 0,
            seq: legacy.seq,
            at: legacy.at,
            actor: Actor::Unknown,
            change: Change::Legacy {
                event: legacy.event,
                token_id: legacy.token_id,
                detail: legacy.detail,
            },
        })
    }
}

impl Change {
    /// The audit event name people and scripts filter on.
    pub fn event(&self) -> &str {
        match self {
            Change::PutWorkspace { .. } | Change::PutTable { .. } | Change::PutView { .. } => {
                "settings_changed"
            }
            Change::TokenIssued { .. } => "issued",
            Change::Revoke { .. } => "revoked",
            Change::KeysInitialised { .. } => "keys_initialised",
            Change::KeyRotated { .. } => "key_rotated",
            Change::KeyRetired { .. } => "key_retired",
            Change::Legacy { event, .. } => event,
            Change::Unknown => "unknown",
        }
    }

    /// The ledger token the change concerns, when there is one.
    pub fn token_id(&self) -> Option<&Id> {
        match self {
            Change::TokenIssued { entry } => Some(&entry.token_id),
            Change::Revoke { token_id, .. } | Change::Legacy { token_id, .. } => token_id.as_ref(),
            _ => None,
        }
    }
}

/// The change as people read it in `tessera audit`.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::PutWorkspace { workspace } => write!(f, "workspace {workspace} registered"),
            Change::PutTable { table, workspace } => {
                write!(f, "table {table} registered in workspace {workspace}")
            }
            Change::PutView {
                view,
                table,
                settings,
            } => {
                write!(f, "view {view} in table {table}:")?;
                for (name, value) in settings.entries() {
                    write!(f, " {name}={value}")?;
                }
                Ok(())
            }
            Change::TokenIssued { entry } => match &entry.scope {
                Some(scope) => write!(f, "{} token for {scope}", entry.kind),
                None => write!(f, "{} token for admin API", entry.kind),
            },
            Change::Revoke {
                revocation_id,
                reason,
                ..
            } => {
                let short: String = revocation_id.chars().take(16).collect();
                write!(f, "revocation id {short}…")?;
                match reason {
                    Some(r) => write!(f, " ({r})"),
                    None => Ok(()),
                }
            }
            Change::KeysInitialised { key } => write!(f, "active root key {}", key.key_id),
            Change::KeyRotated { key } => write!(f, "new active root key {}", key.key_id),
            Change::KeyRetired { key_id } => write!(f, "root key {key_id}"),
            Change::Legacy { detail, .. } => f.write_str(detail),
            Change::Unknown => f.write_str("a change this version of tessera does not know"),
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
    /// A change this version does not know (from a newer audit log).
    #[error("a change written by a newer version of tessera cannot be applied")]
    Unsupported,
}

/// The state a change lands on: read what it needs, write what it sets.
/// The store (a redb transaction), the gateway (its in-memory registry and
/// revocation set) and [`Memory`] implement it.
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
    /// Registers a workspace.
    fn put_workspace(&mut self, workspace: &Id) -> Result<(), Self::Error>;
    /// Registers a table in a workspace.
    fn put_table(&mut self, table: &Id, workspace: &Id) -> Result<(), Self::Error>;
    /// Sets a view.
    fn put_view(&mut self, view: &Id, entry: &ViewEntry) -> Result<(), Self::Error>;
    /// Writes a ledger entry.
    fn put_ledger(&mut self, entry: &LedgerEntry) -> Result<(), Self::Error>;
    /// Revokes a revocation id.
    fn put_revocation(
        &mut self,
        revocation_id: &[u8],
        record: &RevocationRecord,
    ) -> Result<(), Self::Error>;
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
        Change::TokenIssued { entry } => {
            target.put_ledger(entry)?;
            Ok(true)
        }
        Change::Revoke {
            revocation_id,
            token_id,
            reason,
        } => apply_revoke(target, revocation_id, token_id.as_ref(), reason, at),
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

fn decode_revocation_id(hex_id: &str) -> Result<Vec<u8>, ChangeError> {
    hex::decode(hex_id)
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| ChangeError::BadRevocationId(hex_id.chars().take(80).collect()))
}

/// What an operator asks to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// A ledger token, and every token attenuated from it.
    TokenId(String),
    /// Revocation ids.
    RevocationIds(Vec<Vec<u8>>),
    /// Every ledger token issued for a view.
    View(Id),
}

/// The revocations `target` asks for, one [`Change::Revoke`] per id, each
/// naming the ledger token whose authority block it is.
pub fn plan_revoke<T: Target>(
    state: &T,
    target: &RevokeTarget,
    reason: Option<&str>,
) -> Result<Vec<Change>, T::Error> {
    let ledger = state.ledger_entries()?;
    let owners: std::collections::HashMap<&str, &Id> = ledger
        .iter()
        .filter_map(|e| Some((e.revocation_ids.first()?.as_str(), &e.token_id)))
        .collect();
    let hex_ids: Vec<String> = match target {
        RevokeTarget::TokenId(token_id) => {
            let entry = ledger
                .iter()
                .find(|e| e.token_id.as_str() == token_id)
                .ok_or_else(|| ChangeError::UnknownToken(token_id.chars().take(80).collect()))?;
            entry.revocation_ids.clone()
        }
        RevokeTarget::RevocationIds(ids) => ids.iter().map(hex::encode).collect(),
        RevokeTarget::View(view) => ledger
            .iter()
            .filter(|e| e.is_for_view(view))
            .flat_map(|e| e.revocation_ids.iter().cloned())
            .collect(),
    };
    let mut changes = Vec::with_capacity(hex_ids.len());
    for hex_id in hex_ids {
        decode_revocation_id(&hex_id)?;
        let owner = owners.get(hex_id.as_str()).map(|id| (*id).clone());
        changes.push(Change::Revoke {
            revocation_id: hex_id,
            token_id: owner,
            reason: reason.map(str::to_owned),
        });
    }
    Ok(changes)
}

/// Registering `table` in `workspace` (and the workspace).
pub fn plan_table(table: &Id, workspace: &Id) -> Vec<Change> {
    vec![
        Change::PutWorkspace {
            workspace: workspace.clone(),
        },
        Change::PutTable {
            table: table.clone(),
            workspace: workspace.clone(),
        },
    ]
}

/// Registering or updating `view`: `placement` (table, workspace) places it
/// (required for a new view; its table and workspace are registered too),
/// `settings` change named settings.
pub fn plan_view<T: Target>(
    state: &T,
    view: &Id,
    placement: Option<(&Id, &Id)>,
    settings: &[(&str, bool)],
) -> Result<Vec<Change>, T::Error> {
    // Every name is checked first: an unknown setting is the request's
    // fault, whatever the view.
    for (name, value) in settings {
        ViewSettings::default()
            .set(name, *value)
            .map_err(ChangeError::Setting)?;
    }
    let existing = state.view(view)?;
    let (mut changes, table, mut current) = match (existing, placement) {
        (existing, Some((table, workspace))) => (
            plan_table(table, workspace),
            table.clone(),
            existing.map(|e| e.settings).unwrap_or_default(),
        ),
        (Some(e), None) => (Vec::new(), e.table, e.settings),
        (None, None) => return Err(ChangeError::UnknownView(view.clone()).into()),
    };
    for (name, value) in settings {
        current.set(name, *value).map_err(ChangeError::Setting)?;
    }
    changes.push(Change::PutView {
        view: view.clone(),
        table,
        settings: current,
    });
    Ok(changes)
}

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

impl Target for Memory {
    type Error = ChangeError;
    fn has_workspace(&self, workspace: &Id) -> Result<bool, ChangeError> {
        Ok(self.registry.workspaces.contains(workspace))
    }
    fn table_workspace(&self, table: &Id) -> Result<Option<Id>, ChangeError> {
        Ok(self.registry.tables.get(table).cloned())
    }
    fn view(&self, view: &Id) -> Result<Option<ViewEntry>, ChangeError> {
        Ok(self.registry.views.get(view).cloned())
    }
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

#[cfg(test)]
mod tests;
