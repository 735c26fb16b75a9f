//! What travels on the fleet's stream: one [`FleetMessage`] per admin
//! write, all its changes applied all or none at one stream sequence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::change::{Actor, Change};

/// The JetStream stream every change travels on.
pub const STREAM: &str = "TESSERA_CHANGES";
/// Its one subject.
pub const SUBJECT: &str = "tessera.changes";

/// One admin write, as every gateway applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetMessage {
    /// The gateway that published it (random per process).
    pub origin: String,
    /// Unique per write: JetStream's deduplication id, and how the origin
    /// finds the outcome of its own write.
    pub nonce: String,
    /// Who made the change.
    pub actor: Actor,
    /// When the origin accepted it: every gateway records it at this time.
    pub at: DateTime<Utc>,
    /// The changes, resolved against the origin's state.
    pub changes: Vec<Change>,
}

impl FleetMessage {
    /// The message as JSON bytes.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a message.
    pub fn decode(bytes: &[u8]) -> Result<FleetMessage, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The kind of a change as the metrics name it (`revoke`, `put_view`, …).
pub fn kind(change: &Change) -> String {
    serde_json::to_value(change)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Id;

    #[test]
    fn a_message_reads_back_and_names_its_kinds() {
        let m = FleetMessage {
            origin: "a".into(),
            nonce: "n".into(),
            actor: Actor::Token(Id::new("tok_1").unwrap()),
            at: Utc::now(),
            changes: vec![Change::Revoke {
                revocation_id: "00ff".into(),
                token_id: None,
                reason: None,
            }],
        };
        assert_eq!(FleetMessage::decode(&m.encode()).unwrap(), m);
        assert_eq!(kind(&m.changes[0]), "revoke");
        assert!(FleetMessage::decode(b"{}").is_err());
    }
}
