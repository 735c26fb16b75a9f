//! Joining the fleet at start: the NATS connection (retried in the
//! background, so a gateway starts while NATS is down), the stored
//! position and keyring, and the applier, staleness and key tasks.

use std::sync::Arc;
use std::time::Duration;

use crate::gateway::keysource::KeyOrigin;
use crate::gateway::{Gateway, GatewayConfig, GatewayError};
use crate::keys::PublicKeyring;
use crate::store::datadir::DataDir;
use crate::store::FleetState;

use super::Fleet;

/// Where a gateway's verifying keys come from in fleet mode: without a
/// private keyring and without `--public-keys`, from the fleet's stream.
pub fn key_origin(config: &GatewayConfig, data: &DataDir, origin: KeyOrigin) -> KeyOrigin {
    match origin {
        KeyOrigin::DataDir if config.fleet.is_some() && !data.has_keyring() => KeyOrigin::Fleet,
        other => other,
    }
}

/// The fleet's public keyring from its stored form.
pub(crate) fn keyring(state: &FleetState) -> PublicKeyring {
    PublicKeyring::from_keys(
        state
            .keyring
            .iter()
            .filter_map(|(id, text)| Some((*id, text.parse().ok()?))),
    )
}

/// Joins the fleet when `fleet` is configured: connects (in the
/// background if NATS is down), then applies the stream from the stored
/// position and watches staleness. Without `fleet`, does nothing.
pub async fn attach(gw: &Gateway) -> Result<(), GatewayError> {
    let Some(url) = gw.config().fleet.clone() else {
        return Ok(());
    };
    let client = async_nats::ConnectOptions::new()
        .name("tessera")
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .connect(url.as_str())
        .await
        .map_err(|e| GatewayError::Fleet(format!("{url}: {e}")))?;
    let state = gw.store().fleet_state()?;
    let follower = matches!(gw.decider().keys().origin(), KeyOrigin::Fleet);
    if follower {
        gw.decider().keys().replace(keyring(&state));
    }
    let fleet = Arc::new(Fleet::new(
        client,
        state.position,
        Duration::from_millis(gw.config().max_staleness_ms),
        follower,
        super::SnapshotPolicy {
            every: gw.config().fleet_snapshot_every,
            compact: gw.config().fleet_compact,
        },
    ));
    gw.set_fleet(fleet.clone());
    tracing::info!(%url, position = state.position, follower, "fleet: joining");
    tokio::spawn(super::applier::run(gw.clone(), fleet.clone()));
    tokio::spawn(super::staleness::run(fleet.clone()));
    if !follower {
        tokio::spawn(super::publish::publish_keys(gw.clone(), fleet));
    }
    Ok(())
}
