//! Applying the stream: every gateway follows the one stream with an
//! ordered consumer from the position it stored, and commits each message's
//! changes with that position in one redb transaction
//! ([`crate::store::Store::apply_fleet`]), then applies them to memory —
//! the same `Gateway::commit_local` a single node uses. A message whose
//! changes no longer apply (two writes raced on two gateways) is passed
//! over on every gateway alike. A stream that no longer holds the stored
//! position (purged, recreated) means a fresh start from what it holds.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream;
use futures_util::{FutureExt, StreamExt};

use crate::change::Change;
use crate::gateway::error::ApiError;
use crate::gateway::Gateway;
use crate::store::StoreError;

use super::message::{kind, FleetMessage, STREAM, SUBJECT};
use super::{snapshot, Bootstrap, Fleet};

/// The stream's configuration: file storage, one subject, two minutes of
/// deduplication by message id.
pub fn stream_config() -> stream::Config {
    stream::Config {
        name: STREAM.to_owned(),
        subjects: vec![SUBJECT.to_owned()],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    }
}

/// How long a consumer may deliver nothing while the stream holds more.
const STALL: Duration = Duration::from_millis(500);

/// Follows the stream forever, starting again after any interruption
/// (NATS down, the consumer lost) from the position applied.
pub async fn run(gw: Gateway, fleet: Arc<Fleet>) {
    let mut said = String::new();
    loop {
        if let Err(e) = follow(&gw, &fleet).await {
            // A new reason is worth a warning; the same one again is not.
            if e != said {
                tracing::warn!(error = %e, "fleet: following the stream stopped; starting again");
                said = e;
            } else {
                tracing::debug!(error = %e, "fleet: following the stream stopped; starting again");
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

async fn follow(gw: &Gateway, fleet: &Arc<Fleet>) -> Result<(), String> {
    let stream = fleet
        .js
        .get_or_create_stream(stream_config())
        .await
        .map_err(|e| e.to_string())?;
    let info = stream.cached_info();
    let created = info.created.unix_timestamp_nanos().to_string();
    let (first, last) = (info.state.first_sequence, info.state.last_sequence);
    start_point(gw, fleet, &created, first, last).await?;
    let config = pull::OrderedConfig {
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: fleet.applied() + 1,
        },
        ..Default::default()
    };
    let consumer = stream
        .create_consumer(config)
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    loop {
        // A consumer that stays silent while the stream holds more (its
        // server restarted under it) or while this gateway is stale (the
        // stream deleted under it) is replaced.
        let message = match tokio::time::timeout(STALL, messages.next()).await {
            Ok(Some(message)) => message.map_err(|e| e.to_string())?,
            Ok(None) => return Ok(()),
            Err(_) if fleet.lag() > 0 || fleet.is_stale() => {
                return Err("the consumer stalled".to_owned())
            }
            Err(_) => continue,
        };
        let mut ready = vec![message];
        // What else has arrived already goes in the same batch.
        while ready.len() < BATCH {
            match messages.next().now_or_never() {
                Some(Some(message)) => ready.push(message.map_err(|e| e.to_string())?),
                _ => break,
            }
        }
        let mut batch: Vec<Pending> = Vec::new();
        for message in ready {
            let seq = message.info().map_err(|e| e.to_string())?.stream_sequence;
            if seq <= fleet.applied() || batch.last().is_some_and(|p| seq <= p.seq) {
                continue;
            }
            match FleetMessage::decode(&message.payload) {
                Ok(m) if m.origin != fleet.id => batch.push(Pending {
                    seq,
                    message: m,
                    payload: message.payload.clone(),
                }),
                _ => {
                    apply_batch(gw, fleet, std::mem::take(&mut batch)).await?;
                    apply_one(gw, fleet, seq, &message.payload).await?;
                }
            }
        }
        apply_batch(gw, fleet, batch).await?;
    }
}

/// Where to follow the stream from: the stored position when the stream
/// still holds what follows it; otherwise (an empty data directory, a
/// purged or recreated stream) the latest snapshot of this stream, then
/// what follows it; without a usable snapshot, the whole stream — or,
/// when the stream was compacted, nothing: the gateway stays not ready
/// (fail closed) and says why, rather than start from a partial history.
async fn start_point(
    gw: &Gateway,
    fleet: &Arc<Fleet>,
    created: &str,
    first: u64,
    last: u64,
) -> Result<(), String> {
    let position = fleet.applied();
    let stored = {
        let worker = gw.clone();
        blocking(move || worker.store().fleet_state().map_err(|e| e.to_string())).await?
    };
    let recreated = stored.stream.as_deref().is_some_and(|s| s != created);
    let gone = position > last || first > position + 1;
    if !(recreated || gone || position == 0) {
        if stored.stream.is_none() {
            let (worker, created) = (gw.clone(), created.to_owned());
            blocking(move || {
                worker
                    .store()
                    .set_fleet_stream(&created)
                    .map_err(|e| e.to_string())
            })
            .await?;
        }
        return Ok(());
    }
    let snapshot = match snapshot::load(fleet, created, first).await {
        Ok(found) => found,
        Err(reason) => {
            tracing::error!(%reason, "fleet: the latest snapshot is refused");
            None
        }
    };
    let source = match snapshot {
        Some(state) if state.revision >= position || recreated || gone => {
            let revision = state.revision;
            let worker = gw.clone();
            blocking(move || {
                worker
                    .store()
                    .import_snapshot(&state)
                    .map_err(|e| e.to_string())?;
                worker.reload_memory();
                Ok(())
            })
            .await?;
            tracing::info!(revision, "fleet: state loaded from the latest snapshot");
            fleet.set_applied(revision);
            Bootstrap::Snapshot
        }
        _ if first > 1 && first > position + 1 => {
            return Err(format!(
                "the stream starts at revision {first} (compacted) and no usable snapshot covers what came before; not starting from a partial history"
            ));
        }
        _ => {
            let fresh = recreated || (gone && position > 0);
            let (worker, created) = (gw.clone(), created.to_owned());
            blocking(move || {
                let store = worker.store();
                if fresh {
                    store.reset_fleet().map_err(|e| e.to_string())?;
                    worker.reload_memory();
                }
                store.set_fleet_stream(&created).map_err(|e| e.to_string())
            })
            .await?;
            if fresh {
                tracing::warn!(
                    position,
                    first,
                    last,
                    "fleet: the stream no longer holds this gateway's position; starting afresh from it"
                );
                fleet.set_applied(0);
            }
            Bootstrap::Replay
        }
    };
    *super::lock(&fleet.bootstrap) = Some(source);
    if fleet.is_follower() {
        let state = gw.store().fleet_state().map_err(|e| e.to_string())?;
        gw.decider().keys().replace(super::start::keyring(&state));
        gw.bump_epoch();
    } else if source == Bootstrap::Snapshot || recreated || gone {
        // The state now may lack this signer's public keys.
        fleet
            .keys_published
            .store(false, std::sync::atomic::Ordering::Relaxed);
        tokio::spawn(super::publish::publish_keys(gw.clone(), fleet.clone()));
    }
    Ok(())
}

/// Most messages committed in one transaction while catching up.
const BATCH: usize = 512;

/// A message from another gateway, decoded, waiting for its batch.
struct Pending {
    seq: u64,
    message: FleetMessage,
    payload: hyper::body::Bytes,
}

fn changes_keys(changes: &[Change]) -> bool {
    changes.iter().any(|c| {
        matches!(
            c,
            Change::KeysInitialised { .. } | Change::KeyRotated { .. } | Change::KeyRetired { .. }
        )
    })
}

/// Commits other gateways' messages in one transaction; if any change is
/// refused, applies them one by one instead (so each is passed over or
/// applied exactly as alone).
async fn apply_batch(gw: &Gateway, fleet: &Arc<Fleet>, batch: Vec<Pending>) -> Result<(), String> {
    let Some(last) = batch.last().map(|p| p.seq) else {
        return Ok(());
    };
    if batch.len() == 1 {
        return apply_one(gw, fleet, last, &batch[0].payload).await;
    }
    let rows: Vec<_> = batch
        .iter()
        .map(|p| {
            (
                p.seq,
                p.message.changes.clone(),
                p.message.actor.clone(),
                p.message.at,
            )
        })
        .collect();
    let keys = batch.iter().any(|p| changes_keys(&p.message.changes));
    let worker = gw.clone();
    let outcome =
        blocking(move || Ok(worker.commit_local(|store| store.apply_fleet_batch(&rows)))).await?;
    match outcome {
        Ok(applied) => {
            for change in applied.changes() {
                fleet.count(kind(change));
            }
            snapshot::maybe_periodic(gw, fleet, applied.changes().count() as u64);
            if keys && fleet.is_follower() {
                let state = gw.store().fleet_state().map_err(|e| e.to_string())?;
                gw.decider().keys().replace(super::start::keyring(&state));
                gw.bump_epoch();
            }
            fleet.set_applied(last);
            Ok(())
        }
        Err(_) => {
            for p in batch {
                apply_one(gw, fleet, p.seq, &p.payload).await?;
            }
            Ok(())
        }
    }
}

/// Applies the message at `seq` (or passes over it, recorded) and hands
/// the outcome to the handler waiting for it on this gateway.
async fn apply_one(
    gw: &Gateway,
    fleet: &Arc<Fleet>,
    seq: u64,
    payload: &[u8],
) -> Result<(), String> {
    let message = match FleetMessage::decode(payload) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(seq, error = %e, "fleet: a stream message does not decode; passed over");
            let worker = gw.clone();
            blocking(move || worker.store().skip_fleet(seq).map_err(|e| e.to_string())).await?;
            fleet.set_applied(seq);
            return Ok(());
        }
    };
    let worker = gw.clone();
    let changes = message.changes.clone();
    let (actor, at) = (message.actor.clone(), message.at);
    let outcome = blocking(move || {
        Ok(
            worker.commit_local(|store| match store.apply_fleet(&changes, &actor, at, seq) {
                Err(StoreError::Rejected(e)) => {
                    store.skip_fleet(seq)?;
                    Err(StoreError::Rejected(e))
                }
                other => other,
            }),
        )
    })
    .await?;
    if let Err(ApiError::Internal(detail)) = &outcome {
        return Err(format!("applying revision {seq}: {detail}"));
    }
    if let Ok(applied) = &outcome {
        for change in applied.changes() {
            fleet.count(kind(change));
        }
        snapshot::maybe_periodic(gw, fleet, applied.changes().count() as u64);
    }
    if changes_keys(&message.changes) && fleet.is_follower() {
        let state = gw.store().fleet_state().map_err(|e| e.to_string())?;
        gw.decider().keys().replace(super::start::keyring(&state));
        gw.bump_epoch();
    }
    fleet.set_applied(seq);
    if message.origin == fleet.id {
        if let Some(waiter) = fleet.waiter(&message.nonce) {
            let _ = waiter.send(outcome);
        }
    }
    Ok(())
}
