//! Snapshots of the replicated state in JetStream, so a long history is
//! not replayed at every start: the state at revision R goes to the
//! Object Store bucket [`OBJECTS`], and the KV bucket [`POINTER`] key
//! [`LATEST`] names it (`{revision, object, digest, stream}`). The pointer
//! only moves forward (compare-and-set on the KV revision), so gateways
//! writing at once are safe. With `fleet_compact` the change stream is then
//! purged below R + 1. A gateway starting empty, or whose position the
//! stream no longer holds, loads the pointer's snapshot (digest checked)
//! and applies the stream after R ([`load`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_nats::jetstream::{kv, object_store, stream};
use tokio::io::AsyncReadExt;

use crate::api::fleet::SnapshotWritten;
use crate::gateway::error::ApiError;
use crate::gateway::Gateway;
use crate::store::snapshot::{digest_of, SnapshotPointer, SnapshotState};

use super::message::STREAM;
use super::Fleet;

/// The Object Store bucket that holds snapshot objects.
pub const OBJECTS: &str = "TESSERA_SNAPSHOTS";
/// The KV bucket that holds the pointer to the latest snapshot.
pub const POINTER: &str = "TESSERA_SNAPSHOT";
/// The pointer's key.
pub const LATEST: &str = "latest";

/// The pointer's bucket; created by hand when the client's
/// `create_key_value` is refused (nats-server 2.9 lacks options it sends).
async fn pointer_bucket(js: &async_nats::jetstream::Context) -> Result<kv::Store, String> {
    if let Ok(store) = js.get_key_value(POINTER).await {
        return Ok(store);
    }
    let created = js
        .create_key_value(kv::Config {
            bucket: POINTER.to_owned(),
            history: 1,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await;
    if let Ok(store) = created {
        return Ok(store);
    }
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{POINTER}"),
        subjects: vec![format!("$KV.{POINTER}.>")],
        max_messages_per_subject: 1,
        allow_rollup: true,
        deny_delete: true,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("creating the snapshot pointer bucket: {e}"))?;
    js.get_key_value(POINTER)
        .await
        .map_err(|e| format!("opening the snapshot pointer bucket: {e}"))
}

async fn object_bucket(
    js: &async_nats::jetstream::Context,
) -> Result<object_store::ObjectStore, String> {
    if let Ok(store) = js.get_object_store(OBJECTS).await {
        return Ok(store);
    }
    js.create_object_store(object_store::Config {
        bucket: OBJECTS.to_owned(),
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("creating the snapshot bucket: {e}"))
}

/// The latest pointer and its KV revision (none: no snapshot yet).
async fn latest(store: &kv::Store) -> Result<Option<(SnapshotPointer, u64)>, String> {
    let Some(entry) = store
        .entry(LATEST)
        .await
        .map_err(|e| format!("reading the snapshot pointer: {e}"))?
    else {
        return Ok(None);
    };
    if entry.value.is_empty() {
        return Ok(None);
    }
    let pointer = serde_json::from_slice(&entry.value)
        .map_err(|e| format!("the snapshot pointer does not decode: {e}"))?;
    Ok(Some((pointer, entry.revision)))
}

/// Writes a snapshot of this gateway's state now, unless the pointer
/// already names one at this revision or later; compacts the stream when
/// configured.
pub async fn write(gw: &Gateway, fleet: &Arc<Fleet>) -> Result<SnapshotWritten, String> {
    let worker = gw.clone();
    let (state, bytes) = tokio::task::spawn_blocking(move || {
        let state = worker
            .store()
            .export_snapshot()
            .map_err(|e| e.to_string())?;
        let bytes = state.encode().map_err(|e| e.to_string())?;
        Ok::<_, String>((state, bytes))
    })
    .await
    .map_err(|e| e.to_string())??;
    let pointers = pointer_bucket(&fleet.js).await?;
    let current = latest(&pointers).await?;
    if let Some((p, _)) = &current {
        if p.revision >= state.revision && p.stream == state.stream {
            fleet.saw_snapshot(p.revision);
            return Ok(SnapshotWritten {
                snapshot_revision: p.revision,
                written: false,
            });
        }
    }
    let objects = object_bucket(&fleet.js).await?;
    let name = format!("snapshot-{}-{}", state.revision, &fleet.id);
    objects
        .put(name.as_str(), &mut bytes.as_slice())
        .await
        .map_err(|e| format!("storing snapshot {name}: {e}"))?;
    let pointer = SnapshotPointer {
        revision: state.revision,
        object: name.clone(),
        digest: digest_of(&bytes).unwrap_or_default(),
        stream: state.stream.clone(),
    };
    let value = serde_json::to_vec(&pointer).map_err(|e| e.to_string())?;
    let moved = match &current {
        Some((_, kv_revision)) => pointers
            .update(LATEST, value.into(), *kv_revision)
            .await
            .is_ok(),
        None => pointers.create(LATEST, value.into()).await.is_ok(),
    };
    if !moved {
        // Another gateway moved the pointer first: keep its snapshot.
        let _ = objects.delete(&name).await;
        let now = latest(&pointers).await?.map_or(0, |(p, _)| p.revision);
        fleet.saw_snapshot(now);
        return Ok(SnapshotWritten {
            snapshot_revision: now,
            written: false,
        });
    }
    if let Some((old, _)) = current {
        let _ = objects.delete(&old.object).await;
    }
    fleet.saw_snapshot(state.revision);
    fleet.snapshots_written.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        revision = state.revision,
        bytes = bytes.len(),
        "fleet: snapshot written"
    );
    if fleet.snapshots.compact {
        compact(fleet, state.revision).await?;
    }
    Ok(SnapshotWritten {
        snapshot_revision: state.revision,
        written: true,
    })
}

/// Purges the change stream below `revision + 1`: what the snapshot holds.
async fn compact(fleet: &Fleet, revision: u64) -> Result<(), String> {
    let stream = fleet
        .js
        .get_stream(STREAM)
        .await
        .map_err(|e| format!("compacting: {e}"))?;
    let purged = stream
        .purge()
        .sequence(revision + 1)
        .await
        .map_err(|e| format!("compacting below {}: {e}", revision + 1))?;
    tracing::info!(
        revision,
        purged = purged.purged,
        "fleet: change stream compacted"
    );
    Ok(())
}

/// The latest snapshot of stream `created`, if it covers everything the
/// stream no longer holds (`first` is the stream's first sequence):
/// fetched and checked. `Ok(None)`: no snapshot of this stream; `Err`: one
/// exists but was refused (the reason).
pub async fn load(
    fleet: &Fleet,
    created: &str,
    first: u64,
) -> Result<Option<SnapshotState>, String> {
    let pointers = pointer_bucket(&fleet.js).await?;
    let Some((pointer, _)) = latest(&pointers).await? else {
        return Ok(None);
    };
    if pointer.stream != created {
        return Ok(None);
    }
    fleet.saw_snapshot(pointer.revision);
    if pointer.revision + 1 < first {
        return Err(format!(
            "snapshot {} ends at revision {}, but the stream starts at {first}",
            pointer.object, pointer.revision
        ));
    }
    let objects = object_bucket(&fleet.js).await?;
    let mut object = objects
        .get(&pointer.object)
        .await
        .map_err(|e| format!("fetching snapshot {}: {e}", pointer.object))?;
    let mut bytes = Vec::new();
    object
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("reading snapshot {}: {e}", pointer.object))?;
    let state = tokio::task::spawn_blocking(move || {
        SnapshotState::decode(&bytes, &pointer.digest, pointer.revision)
            .map_err(|e| format!("snapshot {} refused: {e}", pointer.object))
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(Some(state))
}

/// `POST /admin/v1/fleet/snapshot`: writes a snapshot of this gateway's
/// state now (404 without fleet mode, 503 `fleet_unavailable` when NATS
/// refuses).
#[utoipa::path(post, path = "/admin/v1/fleet/snapshot", tag = "fleet", responses((status = 200, description = "the latest snapshot's revision, and whether this request wrote it", body = SnapshotWritten), (status = 404, description = "fleet mode is off", body = crate::gateway::admin::openapi::ErrorBody), (status = 503, description = "NATS JetStream refused or is unreachable", body = crate::gateway::admin::openapi::ErrorBody)))]
pub async fn snapshot_now(
    axum::extract::State(gw): axum::extract::State<Gateway>,
) -> Result<axum::Json<SnapshotWritten>, ApiError> {
    let Some(fleet) = gw.fleet().cloned() else {
        return Err(ApiError::NotFound("fleet mode is off".into()));
    };
    match write(&gw, &fleet).await {
        Ok(written) => Ok(axum::Json(written)),
        Err(e) => {
            tracing::warn!(error = %e, "fleet: a snapshot could not be written");
            Err(ApiError::FleetUnavailable)
        }
    }
}

/// After every `every` applied changes, writes a snapshot in the
/// background (a no-op when another gateway already wrote one as recent).
pub(crate) fn maybe_periodic(gw: &Gateway, fleet: &Arc<Fleet>, changes: u64) {
    let every = fleet.snapshots.every;
    if every == 0 || changes == 0 {
        return;
    }
    let since = fleet.since_snapshot.fetch_add(changes, Ordering::Relaxed) + changes;
    if since < every || fleet.snapshot_running.swap(true, Ordering::Relaxed) {
        return;
    }
    fleet.since_snapshot.store(0, Ordering::Relaxed);
    let (gw, fleet) = (gw.clone(), fleet.clone());
    tokio::spawn(async move {
        if let Err(e) = write(&gw, &fleet).await {
            tracing::warn!(error = %e, "fleet: a periodic snapshot could not be written");
        }
        fleet.snapshot_running.store(false, Ordering::Relaxed);
    });
}
