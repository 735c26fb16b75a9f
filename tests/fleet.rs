//! Fleet mode over loopback: a real nats-server with JetStream and several
//! `tessera serve --fleet` processes. Changes made through one gateway are
//! enforced by every gateway with the exact reason codes; gateways killed
//! or started empty catch up before they are ready; NATS down means
//! `stale` past the bound and `fleet_unavailable` writes, and afterwards
//! every digest is the same.

#[path = "server/mod.rs"]
mod server;

#[path = "fleet/nats.rs"]
mod nats;

#[path = "fleet/scenarios.rs"]
mod scenarios;

#[path = "fleet/keys_roles.rs"]
mod keys_roles;

#[path = "fleet/convergence.rs"]
mod convergence;

#[path = "fleet/recreated.rs"]
mod recreated;

#[path = "fleet/snapshots.rs"]
mod snapshots;
