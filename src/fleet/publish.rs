//! The publishing side of an admin write in fleet mode: the change is
//! planned and checked against the current state as on a single node (a
//! dry run of the same commit, rolled back), published to the stream, and
//! answered once JetStream acknowledged it and this gateway's applier
//! applied it — with the outcome the applier got. NATS unreachable: 503
//! `fleet_unavailable`, nothing published, nothing changed.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_nats::jetstream::context::Publish;
use chrono::Utc;

use crate::change::{Actor, Applied, Change, PublicKeyPart};
use crate::gateway::error::ApiError;
use crate::gateway::Gateway;
use crate::store::{Store, StoreError};

use super::message::{FleetMessage, SUBJECT};
use super::{lock, revision, Fleet};

/// How long a publish may wait for JetStream's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// Publishes `message`; its stream sequence once JetStream acknowledged it.
async fn send(fleet: &Fleet, message: &FleetMessage) -> Result<u64, String> {
    if fleet.client.connection_state() != async_nats::connection::State::Connected {
        return Err("not connected to NATS".to_owned());
    }
    let publish = Publish::build()
        .payload(message.encode().into())
        .message_id(&message.nonce);
    let ack = tokio::time::timeout(ACK_TIMEOUT, async {
        fleet
            .js
            .send_publish(SUBJECT, publish)
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|_| "no acknowledgement in time".to_owned())??;
    Ok(ack.sequence)
}

/// A new message from this gateway.
fn message(fleet: &Fleet, actor: Actor, changes: Vec<Change>) -> FleetMessage {
    FleetMessage {
        origin: fleet.id.clone(),
        nonce: hex::encode(rand::random::<[u8; 16]>()),
        actor,
        at: Utc::now(),
        changes,
    }
}

/// `Gateway::commit` in fleet mode. Blocking: called from `spawn_blocking`.
pub(crate) fn commit(
    gw: &Gateway,
    fleet: &Arc<Fleet>,
    f: impl FnOnce(&Store) -> Result<Applied, StoreError>,
) -> Result<Applied, ApiError> {
    let planned = {
        let _serial = gw
            .change_lock()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        gw.store().dry_run(f)?
    };
    let Some(first) = planned.records.first() else {
        revision::note(fleet.applied());
        return Ok(planned);
    };
    let mut message = message(
        fleet,
        first.actor.clone(),
        planned.changes().cloned().collect(),
    );
    message.at = first.at;
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|e| ApiError::Internal(format!("fleet commit outside the runtime: {e}")))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    lock(&fleet.waiters).insert(message.nonce.clone(), tx);
    let seq = match handle.block_on(send(fleet, &message)) {
        Ok(seq) => seq,
        Err(e) => {
            lock(&fleet.waiters).remove(&message.nonce);
            tracing::warn!(error = %e, "fleet: a change could not be published");
            return Err(ApiError::FleetUnavailable);
        }
    };
    revision::note(seq);
    let wait = Duration::from_millis(gw.config().request_timeout_ms.min(10_000));
    match handle.block_on(tokio::time::timeout(wait, rx)) {
        Ok(Ok(outcome)) => outcome,
        _ => {
            lock(&fleet.waiters).remove(&message.nonce);
            Err(ApiError::Behind)
        }
    }
}

/// On a gateway with a private keyring: once caught up, publishes every
/// public key the fleet's keyring lacks (the first as `KeysInitialised`,
/// later ones — a rotation — as `KeyRotated`), retrying until it succeeds.
pub async fn publish_keys(gw: Gateway, fleet: Arc<Fleet>) {
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if fleet.is_stale() {
            continue;
        }
        let Ok(state) = gw.store().fleet_state() else {
            continue;
        };
        let ring = gw.keyring();
        let mut changes = Vec::new();
        for id in ring.ids() {
            let Some(key) = ring.get(id) else { continue };
            let part = PublicKeyPart {
                key_id: id,
                public_key: key.to_string(),
            };
            if state.keyring.get(&id) == Some(&part.public_key) {
                continue;
            }
            changes.push(if state.keyring.is_empty() && changes.is_empty() {
                Change::KeysInitialised { key: part }
            } else {
                Change::KeyRotated { key: part }
            });
        }
        if changes.is_empty() {
            fleet
                .keys_published
                .store(true, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        let message = message(&fleet, Actor::Gateway, changes);
        match send(&fleet, &message).await {
            Ok(seq) => {
                tracing::info!(seq, "fleet: published this gateway's public keys");
                fleet.wait_applied(seq, Duration::from_secs(10)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "fleet: publishing the public keys failed; retrying")
            }
        }
    }
}
