//! The audit log as the admin API and `tessera audit --json` show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::change::{Actor, AuditRecord, Change};
use crate::model::Id;

/// One audit log entry as `GET /audit` and `tessera audit --json` show it:
/// the sentence for people, and the structured record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Its position in the log, from 1.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// `issued`, `revoked`, `settings_changed`, `keys_initialised`, `key_rotated`, `key_retired`.
    pub event: String,
    /// The token concerned, when there is one.
    pub token_id: Option<Id>,
    /// What changed, as a sentence.
    pub detail: String,
    /// The record format.
    pub version: u32,
    /// Who made the change.
    pub actor: Actor,
    /// The change.
    #[schema(value_type = Object)]
    pub change: Change,
}

impl From<AuditRecord> for AuditEvent {
    fn from(r: AuditRecord) -> Self {
        AuditEvent {
            seq: r.seq,
            at: r.at,
            event: r.change.event().to_owned(),
            token_id: r.change.token_id().cloned(),
            detail: r.change.to_string(),
            version: r.version,
            actor: r.actor,
            change: r.change,
        }
    }
}

/// The answer to `GET /audit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditLog {
    /// Oldest first.
    pub events: Vec<AuditEvent>,
}
