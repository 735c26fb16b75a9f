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

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::keys::RootKey;
use crate::model::access::{TableSharing, WorkspaceRole};
use crate::model::{Id, LedgerEntry, ViewOwner, ViewSettings};

mod apply;
mod memory;
mod people;
mod plan;

pub use apply::{apply, Applied, ChangeError, RevocationRecord, Revoked, Target};
pub(crate) use memory::registry_target;
pub use memory::Memory;
pub use plan::{plan_revoke, plan_table, plan_view, plan_view_owner, RevokeTarget};

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
    /// A (registered) workspace gets a display name.
    NameWorkspace {
        /// The workspace.
        workspace: Id,
        /// Its display name (`Client A`).
        name: String,
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
    /// A (registered) view's hidden columns, all of them after the change.
    HideColumns {
        /// The view.
        view: Id,
        /// The column names it hides (none: it hides nothing).
        columns: std::collections::BTreeSet<String>,
    },
    /// A (registered) view's creator and whether it is personal, all of it
    /// after the change (its `locked` setting is in `PutView`).
    PutViewOwner {
        /// The view.
        view: Id,
        /// Its creator and personal flag.
        owner: ViewOwner,
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
    /// A user is registered or renamed.
    PutUser {
        /// The user.
        user: Id,
        /// Its email address.
        email: String,
        /// Its display name.
        name: String,
    },
    /// A user is removed: its record, its roles in every workspace, its
    /// place in every group.
    RemoveUser {
        /// The user.
        user: Id,
    },
    /// A (registered) user gets a role in a (registered) workspace.
    PutMember {
        /// The workspace.
        workspace: Id,
        /// The user.
        user: Id,
        /// Its role there.
        role: WorkspaceRole,
    },
    /// A user leaves a workspace (and its groups there).
    RemoveMember {
        /// The workspace.
        workspace: Id,
        /// The user.
        user: Id,
    },
    /// A member's assignment to a workspace gets an end (`Some`) or
    /// stays until removed (`None`); once the instant has passed the member
    /// is as if removed. (A later `PutMember` gives a lasting role again.)
    ExpireMember {
        /// The workspace.
        workspace: Id,
        /// The user (a member of the workspace).
        user: Id,
        /// When the assignment ends.
        expires_at: Option<DateTime<Utc>>,
    },
    /// A group of a workspace is set: its name and all its members after
    /// the change.
    PutGroup {
        /// The workspace.
        workspace: Id,
        /// The group.
        group: Id,
        /// Its display name.
        name: String,
        /// Its members, all of them (members of the workspace).
        members: std::collections::BTreeSet<Id>,
    },
    /// A group is removed (entries naming it no longer match anyone).
    RemoveGroup {
        /// The workspace.
        workspace: Id,
        /// The group.
        group: Id,
    },
    /// A table's author and access, all of it after the change.
    PutTableSharing {
        /// The (registered) table.
        table: Id,
        /// Its author and access.
        sharing: TableSharing,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
            Change::PutWorkspace { .. }
            | Change::NameWorkspace { .. }
            | Change::PutTable { .. }
            | Change::PutView { .. }
            | Change::HideColumns { .. }
            | Change::PutViewOwner { .. } => "settings_changed",
            Change::PutUser { .. } | Change::RemoveUser { .. } => "user_changed",
            Change::PutMember { .. }
            | Change::RemoveMember { .. }
            | Change::ExpireMember { .. }
            | Change::PutGroup { .. }
            | Change::RemoveGroup { .. } => "members_changed",
            Change::PutTableSharing { .. } => "access_changed",
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
            Change::NameWorkspace { workspace, name } => {
                write!(f, "workspace {workspace} named {name:?}")
            }
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
            Change::HideColumns { view, columns } => {
                write!(f, "view {view} hides {} column(s)", columns.len())
            }
            Change::PutViewOwner { view, owner } => {
                write!(f, "view {view}:")?;
                if owner.personal {
                    write!(f, " personal")?;
                }
                match &owner.creator {
                    Some(c) => write!(f, " created by {c}"),
                    None => write!(f, " no recorded creator"),
                }
            }
            Change::PutUser { user, email, .. } => write!(f, "user {user} <{email}> registered"),
            Change::RemoveUser { user } => write!(f, "user {user} removed"),
            Change::PutMember {
                workspace,
                user,
                role,
            } => write!(f, "user {user} is {role} of workspace {workspace}"),
            Change::RemoveMember { workspace, user } => {
                write!(f, "user {user} removed from workspace {workspace}")
            }
            Change::ExpireMember {
                workspace,
                user,
                expires_at: Some(at),
            } => write!(
                f,
                "user {user}'s assignment to workspace {workspace} expires at {}",
                at.to_rfc3339()
            ),
            Change::ExpireMember {
                workspace,
                user,
                expires_at: None,
            } => write!(
                f,
                "user {user}'s assignment to workspace {workspace} no longer expires"
            ),
            Change::PutGroup {
                workspace,
                group,
                members,
                ..
            } => write!(
                f,
                "group {group} of workspace {workspace}: {} member(s)",
                members.len()
            ),
            Change::RemoveGroup { workspace, group } => {
                write!(f, "group {group} removed from workspace {workspace}")
            }
            Change::PutTableSharing { table, sharing } => {
                let (s, r) = (&sharing.access.structure, &sharing.access.records);
                write!(
                    f,
                    "table {table} access: structure {}, records {}",
                    s.mode, r.mode
                )?;
                match &sharing.author {
                    Some(author) => write!(f, " (author {author})"),
                    None => Ok(()),
                }
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

#[cfg(test)]
mod tests;
