//! The gateway's shared state as a composition of its parts: the decision
//! core ([`Decider`]: keys, revocations, registry, policy, routes, caches),
//! the last-used recorder ([`LastUsed`]), the signing keyring and store for
//! changes, the upstream client, and what a running gateway knows about
//! itself. Handlers reach the parts through [`Gateway`]'s accessors.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::rngs::OsRng;

use crate::change::Actor;
use crate::keys::{PrivateKeyring, PublicKeyring};
use crate::model::{Grant, Registry, RevocationSet};
use crate::store::datadir::DataDir;
use crate::store::Store;
use crate::token::{self, SecretToken, TokenError, VerifiedToken};

use super::config::GatewayConfig;
use super::decider::{Decider, Parts, Question};
use super::error::ApiError;
use super::keysource::{Freshness, KeyOrigin, KeySource};
use super::last_used::LastUsed;
use super::metrics::Metrics;
use super::startup;

pub use super::background::BackgroundTasks;
pub use super::identity::Allowed;
pub use super::startup::GatewayError;

/// The HTTP client used for the upstream.
pub type HttpClient = Client<HttpConnector, axum::body::Body>;

/// The shared state. Cheap to clone.
#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

struct Inner {
    config: GatewayConfig,
    data: DataDir,
    decider: Decider,
    last_used: LastUsed,
    signing: RwLock<Option<Arc<PrivateKeyring>>>,
    store: Arc<Store>,
    /// Held while a change commits and applies: memory follows the store's order.
    change_lock: Mutex<()>,
    http: HttpClient,
    upstream: Option<hyper::Uri>,
    started: Instant,
    bootstrap_admin_token: Option<PathBuf>,
    bound: std::sync::OnceLock<SocketAddr>,
    fleet: std::sync::OnceLock<Arc<crate::fleet::Fleet>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.0.config.listen)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Opens the data directory (initialising keys and store on a fresh one,
    /// unless verifying with `public_keys`), loads policy, routes and keys.
    pub async fn open(config: GatewayConfig, data: DataDir) -> Result<Gateway, GatewayError> {
        let now = Utc::now();
        let (policy, admin_policy) = startup::policies(&config)?;
        let routes = startup::routes(&config)?;
        let upstream = startup::upstream(&config)?;
        let http: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let key_origin = crate::fleet::key_origin(&config, &data, KeyOrigin::from_config(&config)?);
        let startup::Opened {
            store,
            signing,
            bootstrap_admin_token,
        } = startup::store_and_signing(&data, &key_origin, now)?;
        let revocations = store.revocations()?;
        let registry = store.registry()?;
        let keys = KeySource::new(
            key_origin,
            &config,
            signing.as_ref().map(|s| s.public()).unwrap_or_default(),
        );
        let metrics = Metrics::default();
        metrics.watch_keys(keys.freshness().clone());
        let decider = Decider::new(
            Parts {
                keys,
                revocations,
                registry,
                policy,
                admin_policy,
                routes,
                metrics,
            },
            &config,
        );
        let store = Arc::new(store);
        let gateway = Gateway(Arc::new(Inner {
            decider,
            last_used: LastUsed::new(store.clone()),
            signing: RwLock::new(signing),
            store,
            change_lock: Mutex::new(()),
            http,
            upstream,
            started: Instant::now(),
            bootstrap_admin_token,
            bound: std::sync::OnceLock::new(),
            fleet: std::sync::OnceLock::new(),
            data,
            config,
        }));
        gateway.refresh_keys().await?;
        crate::fleet::attach(&gateway).await?;
        Ok(gateway)
    }

    /// Fleet mode's state, when `fleet` is configured.
    pub fn fleet(&self) -> Option<&Arc<crate::fleet::Fleet>> {
        self.0.fleet.get()
    }

    /// Joins the fleet (once, at start).
    pub(crate) fn set_fleet(&self, fleet: Arc<crate::fleet::Fleet>) {
        let _ = self.0.fleet.set(fleet);
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.0.config
    }

    /// The decision core.
    pub fn decider(&self) -> &Decider {
        &self.0.decider
    }

    /// Records the address the listener was bound to.
    pub fn set_bound(&self, addr: SocketAddr) {
        let _ = self.0.bound.set(addr);
    }

    /// The base URL of share links: the configured public URL, else the bound address.
    pub fn share_base(&self) -> String {
        self.0
            .config
            .share_base(self.0.bound.get().copied().unwrap_or(self.0.config.listen))
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.0.data
    }

    /// Where the bootstrap admin token was written, when this start created the keys.
    pub fn bootstrap_admin_token(&self) -> Option<&PathBuf> {
        self.0.bootstrap_admin_token.as_ref()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        self.0.decider.metrics()
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.0.http
    }

    /// The upstream, in reverse-proxy mode.
    pub fn upstream(&self) -> Option<&hyper::Uri> {
        self.0.upstream.as_ref()
    }

    /// The store, for admin changes.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// How long the gateway has been up.
    pub fn uptime(&self) -> Duration {
        self.0.started.elapsed()
    }

    /// The current public keyring.
    pub fn keyring(&self) -> Arc<PublicKeyring> {
        self.0.decider.keyring()
    }

    /// How fresh the public keyring is (for `/readyz` and `/metrics`).
    pub fn key_freshness(&self) -> &Freshness {
        self.0.decider.key_freshness()
    }

    /// The current registry.
    pub fn registry(&self) -> Arc<Registry> {
        self.0.decider.registry()
    }

    /// How many revocation ids are revoked.
    pub fn revoked_count(&self) -> usize {
        self.0.decider.revoked_count()
    }

    /// True when `peer` may send forwarded headers.
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        super::config::nets_contain(&self.0.config.trusted_peers, peer)
    }

    /// Marks every cached decision stale: called after each revocation,
    /// registry change and key change.
    pub(crate) fn bump_epoch(&self) {
        self.0.decider.bump_epoch();
    }

    /// Verifies a token ([`Decider::verify_token`]).
    pub async fn verify_token(&self, text: &str) -> Result<Arc<VerifiedToken>, TokenError> {
        self.0.decider.verify_token(text).await
    }

    /// Reloads the public keys ([`Decider::refresh_keys`]).
    pub async fn refresh_keys(&self) -> Result<bool, GatewayError> {
        self.0.decider.refresh_keys().await
    }

    /// The decision for one HTTP request: route, credential, revocation,
    /// registry, policy ([`Decider::decide`]), counted in the metrics, the
    /// token's use noted for the ledger. Every front door calls this.
    pub async fn decide(
        &self,
        credential: Option<&str>,
        method: &str,
        raw_path: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Allowed>, ApiError> {
        let asked = Question {
            credential,
            method,
            raw_path,
            now,
        };
        self.decide_asked(&asked).await
    }

    /// [`Gateway::decide`] for a front door's [`Question`].
    pub async fn decide_asked(&self, asked: &Question<'_>) -> Result<Arc<Allowed>, ApiError> {
        self.0
            .decider
            .decide(&self.0.last_used, asked)
            .await
            .map_err(ApiError::Denied)
    }

    /// [`Gateway::decide`] when it needs no waiting (a cached decision, a
    /// refusal before any token work); `None`, nothing counted, otherwise.
    pub fn decide_at_once(&self, asked: &Question<'_>) -> Option<Result<Arc<Allowed>, ApiError>> {
        let outcome = self.0.decider.decide_at_once(&self.0.last_used, asked)?;
        Some(outcome.map_err(ApiError::Denied))
    }

    /// Issues a token with the signing keyring and records it, by `actor`.
    /// Blocking (a redb commit): call from `spawn_blocking`.
    pub fn issue(
        &self,
        grant: &Grant,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(SecretToken, crate::model::LedgerEntry), ApiError> {
        let ring = self
            .0
            .signing
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(ApiError::NoSigningKey)?;
        let issued = token::issue_with_rng(grant, &ring, now, &mut OsRng)?;
        let change = crate::change::Change::TokenIssued {
            entry: issued.entry.clone(),
        };
        self.commit(|store| store.apply(&change, actor, now))?;
        Ok((issued.token, issued.entry))
    }

    /// The in-memory revocation set and registry that committed changes
    /// land on (`gateway::apply`); lock them in this order.
    pub(super) fn memory(&self) -> (&RwLock<RevocationSet>, &RwLock<Arc<Registry>>) {
        self.0.decider.memory()
    }

    /// Serialises committing and applying changes.
    pub(crate) fn change_lock(&self) -> &Mutex<()> {
        &self.0.change_lock
    }

    /// Writes pending "last used" times to the ledger in one transaction.
    pub async fn flush_last_used(&self) {
        self.0.last_used.flush().await;
    }

    /// Starts the last-used writer and, for a file or URL key source, the
    /// periodic key refresh: two tasks, so a stalled key server cannot delay
    /// the ledger writes nor a slow ledger the key refresh.
    pub fn spawn_background_tasks(&self) -> BackgroundTasks {
        BackgroundTasks::spawn(
            &self.0.decider,
            &self.0.last_used,
            self.0.config.last_used_flush_secs,
            self.0.config.key_refresh_secs,
        )
    }
}
