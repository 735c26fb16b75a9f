//! Tessera: biscuit capability tokens for data workspaces.
//!
//! A workspace product (views of tables in workspaces) lets people in with
//! exactly the access they should have: a client who may read one view, a
//! contractor who may edit it for three months, a script with a table-scoped
//! key. Tessera issues each of these as a signed [biscuit] token that anyone
//! holding it can **attenuate** (make weaker) offline and nobody can widen,
//! and decides every request with the public key alone, against the
//! registry's current view settings ("the view setting wins") and the
//! revocation set, with no database round trip.
//!
//! The core (`model`, `keys`, `token`, `authorize`, `routes`, `link`) does
//! no I/O: time and randomness are parameters, so the whole life of a token
//! can be played out in a test. `store` keeps state in redb, `gateway` is
//! the axum server (`tessera serve`), and `cli` is the `tessera` binary's
//! glue.
//!
//! # A token's life, start to finish
//!
//! ```
//! use chrono::{DateTime, Duration, Utc};
//! use rand::rngs::StdRng;
//! use rand::SeedableRng;
//! use tessera::authorize::{decide, Context, Policy, Reason, Request, RunLimits};
//! use tessera::keys::PrivateKeyring;
//! use tessera::model::{
//!     Grant, Id, Operation, Registry, Resource, Restriction, RevocationSet, ViewEntry,
//!     ViewSettings,
//! };
//! use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Time and randomness are arguments: this example is deterministic.
//! let now: DateTime<Utc> = "2026-12-01T09:00:00Z".parse()?;
//! let mut rng = StdRng::seed_from_u64(7);
//!
//! // 1. A keyring: the private half signs, the public half verifies.
//! let ring = PrivateKeyring::generate_with_rng(&mut rng, now);
//! let public = ring.public();
//!
//! // 2. The registry: workspace ws_1 holds table t_1, which view v_1 shows.
//! let (ws, table, view) = (Id::new("ws_1")?, Id::new("t_1")?, Id::new("v_1")?);
//! let mut registry = Registry::default();
//! registry.workspaces.insert(ws.clone());
//! registry.tables.insert(table.clone(), ws.clone());
//! registry.views.insert(
//!     view.clone(),
//!     ViewEntry { table, settings: ViewSettings::default() },
//! );
//!
//! // 3. A guest token: read and export view v_1 for 90 days.
//! let ops = Operation::parse_list("read,export")?;
//! let grant = Grant::guest(ws, view.clone(), &ops).expires_at(Some(now + Duration::days(90)));
//! let issued = token::issue_with_rng(&grant, &ring, now, &mut rng)?;
//! let guest = issued.token.expose().to_owned();
//!
//! // 4. The guest hands an auditor a read-only copy, offline, with no key.
//! let read_only = Restriction {
//!     operations: Some(Operation::parse_list("read")?),
//!     label: Some("auditor".into()),
//!     ..Restriction::default()
//! };
//! let copy = token::attenuate_with_rng(&guest, &read_only, now, DEFAULT_MAX_TOKEN_BYTES, &mut rng)?;
//!
//! // 5. Decide requests with the public keyring, the registry, the
//! //    revocation set and the policy: exactly what the gateway runs.
//! let policy = Policy::default_with_limits(RunLimits::default())?;
//! let mut revocations = RevocationSet::default();
//! let read = Request { operation: Operation::Read, resource: Resource::view(view.clone()) };
//! let export = Request { operation: Operation::Export, resource: Resource::view(view) };
//! let reason = |revoked: &RevocationSet, token: &str, request: &Request, at| {
//!     let ctx = Context {
//!         keyring: &public,
//!         revocations: revoked,
//!         registry: &registry,
//!         policy: &policy,
//!         max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
//!         token_limits: token::TokenLimits::default(),
//!         explain: false,
//!     };
//!     decide(&ctx, Some(token), request, at).reason
//! };
//! assert_eq!(reason(&revocations, &guest, &export, now), None); // allowed
//! assert_eq!(reason(&revocations, copy.expose(), &read, now), None);
//! // The copy cannot do what its restriction took away,
//! assert_eq!(reason(&revocations, copy.expose(), &export, now), Some(Reason::CheckFailed));
//! // nor anything after the original's expiry.
//! let later = now + Duration::days(91);
//! assert_eq!(reason(&revocations, copy.expose(), &read, later), Some(Reason::Expired));
//!
//! // 6. Revoke the original: every copy dies with it, on the next decision.
//! for id in &issued.entry.revocation_ids {
//!     revocations.insert(&hex::decode(id)?);
//! }
//! assert_eq!(reason(&revocations, copy.expose(), &read, now), Some(Reason::Revoked));
//! # Ok(())
//! # }
//! ```
//!
//! # Where things are
//!
//! | module | owns |
//! |---|---|
//! | [`model`] | ids, operations, resources, grants, restrictions, the registry, the revocation set, ledger entries |
//! | [`keys`] | root keyrings (private, public, Biscuit Web Keys) |
//! | [`token`] | issuing, attenuating, decoding, verifying (into [`token::VerifiedToken`]), admission limits, compact `tsz_` text |
//! | [`authorize`] | the decision: policy, reasons, explanations |
//! | [`routes`] | the route table: HTTP method and path to an operation on a resource |
//! | [`link`] | share-link URLs |
//! | [`store`] | the redb store and the data directory |
//! | [`gateway`] | `tessera serve`: every front door, the admin API |
//! | [`cli`] | the `tessera` command line |
//!
//! [biscuit]: https://www.biscuitsec.org
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod authorize;
pub mod change;
pub mod cli;
pub mod fixtures;
pub mod fleet;
pub mod gateway;
pub mod keys;
pub mod link;
pub mod lint;
pub mod model;
pub mod routes;
pub mod store;
pub mod text;
pub mod token;

pub use authorize::{Decision, Policy, Reason, Request};
pub use gateway::{app, Gateway, GatewayConfig};
pub use keys::{PrivateKeyring, PublicKeyring};
pub use model::access;
pub use model::{Grant, Operation, Registry, Resource, Restriction};
pub use token::{SecretToken, VerifiedToken};
