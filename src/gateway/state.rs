//! The gateway's shared state and its decision core: keys, the revocation
//! set and the registry in memory, the policy, the route table, the
//! verified-token cache, and the store behind them for changes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::authorize::{self, Context, Decision, Policy, Reason, Request, ADMIN_POLICY};
use crate::change::{Actor, Change, PublicKeyPart};
use crate::keys::{PrivateKeyring, PublicKeyring};
use crate::model::{Grant, Operation, Registry, RevocationSet};
use crate::routes::{RouteError, RouteTable};
use crate::store::datadir::{self, DataDir};
use crate::store::{Store, StoreError};
use crate::token::{self, SecretToken, TermBounds, TokenError, VerifiedToken};

use super::config::GatewayConfig;
use super::error::ApiError;
use super::keysource::{Freshness, KeyOrigin, KeySource, KeySourceError};
use super::metrics::Metrics;

/// The HTTP client used for the upstream.
pub type HttpClient = Client<HttpConnector, axum::body::Body>;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The store or a key file could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bootstrap admin token could not be issued.
    #[error("cannot issue the bootstrap admin token: {0}")]
    Bootstrap(#[source] TokenError),
    /// The public keyring could not be fetched or read.
    #[error("cannot load public keys from {source_name}: {detail}")]
    PublicKeys {
        /// The file or URL.
        source_name: String,
        /// Why.
        detail: String,
    },
    /// The policy does not load.
    #[error("policy {path}: {detail}")]
    Policy {
        /// The policy file, or "embedded default".
        path: String,
        /// Why.
        detail: String,
    },
    /// The route table does not load.
    #[error("route table {path}: {detail}")]
    Routes {
        /// The route file, or "embedded default".
        path: String,
        /// Why.
        detail: String,
    },
    /// The upstream URL is not usable.
    #[error("upstream {0:?} is not an http:// URL with a host")]
    Upstream(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, String),
    /// The server stopped with an error.
    #[error("server error: {0}")]
    Serve(String),
}

impl From<KeySourceError> for GatewayError {
    fn from(e: KeySourceError) -> Self {
        match e {
            KeySourceError::Fetch {
                source_name,
                detail,
            } => GatewayError::PublicKeys {
                source_name,
                detail,
            },
            KeySourceError::File(e) => GatewayError::Store(e),
        }
    }
}

/// The periodic tasks behind a running gateway: the key refresh and the
/// last-used writer, each on its own so neither can hold up the other.
#[derive(Debug)]
pub struct BackgroundTasks(Vec<tokio::task::JoinHandle<()>>);

impl BackgroundTasks {
    /// Stops every task (at shutdown).
    pub fn abort(&self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The result of an allowed decision, for the upstream headers.
#[derive(Debug)]
pub struct Allowed {
    /// What was asked.
    pub request: Request,
    /// The decision, with the token's claims (none for an anonymous public read).
    pub decision: Decision,
    /// The `X-Tessera-*` headers for the upstream, built once per decision.
    pub headers: Vec<(axum::http::HeaderName, axum::http::HeaderValue)>,
    /// When this decision's token use was last noted for the ledger (unix
    /// seconds): repeats within the granularity skip the shared map.
    last_noted: AtomicI64,
}

/// The shared state. Cheap to clone.
#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

struct Inner {
    config: GatewayConfig,
    data: DataDir,
    keys: KeySource,
    signing: RwLock<Option<Arc<PrivateKeyring>>>,
    revocations: RwLock<RevocationSet>,
    registry: RwLock<Arc<Registry>>,
    policy: Policy,
    admin_policy: Policy,
    /// The largest terms the policies' and requests' facts hold.
    ambient: TermBounds,
    /// Permits for authorizer runs on the blocking pool.
    authorizations: Arc<tokio::sync::Semaphore>,
    routes: RouteTable,
    store: Store,
    /// Held while a change commits and applies: memory follows the store's order.
    change_lock: Mutex<()>,
    tokens: quick_cache::sync::Cache<[u8; 32], Arc<VerifiedToken>>,
    decisions: quick_cache::sync::Cache<DecisionKey, CachedDecision>,
    epoch: AtomicU64,
    metrics: Metrics,
    last_used: Mutex<LastUsed>,
    http: HttpClient,
    upstream: Option<hyper::Uri>,
    started: Instant,
    bootstrap_admin_token: Option<PathBuf>,
    bound: std::sync::OnceLock<SocketAddr>,
}

/// A decision cache key: a hash of the token text (none: anonymous) and the request.
type DecisionKey = (Option<[u8; 32]>, Request);

/// The outcome of a decision.
type Outcome = Result<Arc<Allowed>, Reason>;

/// A cached decision: valid while the epoch is unchanged, for at most the
/// configured time, and never past the token's expiry.
#[derive(Clone)]
struct CachedDecision {
    epoch: u64,
    until: Instant,
    token_expires: Option<DateTime<Utc>>,
    outcome: Outcome,
}

/// "Last used" times waiting to be written, and when each token was last written.
#[derive(Default)]
struct LastUsed {
    pending: HashMap<String, DateTime<Utc>>,
    written: HashMap<String, DateTime<Utc>>,
}

/// How often at most a token's "last used" time is written.
const LAST_USED_GRANULARITY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.0.config.listen)
            .finish_non_exhaustive()
    }
}

fn load_text(path: &Option<PathBuf>, default: &str) -> Result<(String, String), (String, String)> {
    match path {
        None => Ok(("embedded default".to_owned(), default.to_owned())),
        Some(p) => std::fs::read_to_string(p)
            .map(|t| (p.display().to_string(), t))
            .map_err(|e| (p.display().to_string(), e.to_string())),
    }
}

impl Gateway {
    /// Opens the data directory (initialising keys and store on a fresh one,
    /// unless verifying with `public_keys`), loads policy, routes and keys.
    pub async fn open(config: GatewayConfig, data: DataDir) -> Result<Gateway, GatewayError> {
        let now = Utc::now();
        let (policy_name, policy_text) = load_text(&config.policy, authorize::DEFAULT_POLICY)
            .map_err(|(path, detail)| GatewayError::Policy { path, detail })?;
        let policy = Policy::from_source(&policy_text, config.run_limits()).map_err(|e| {
            GatewayError::Policy {
                path: policy_name,
                detail: e.to_string(),
            }
        })?;
        let admin_policy = Policy::from_source(ADMIN_POLICY, config.run_limits()).map_err(|e| {
            GatewayError::Policy {
                path: "admin policy".into(),
                detail: e.to_string(),
            }
        })?;
        let (routes_name, routes_text) =
            load_text(&config.routes, crate::routes::DEFAULT_ROUTES)
                .map_err(|(path, detail)| GatewayError::Routes { path, detail })?;
        let routes = RouteTable::from_toml(&routes_text).map_err(|e| GatewayError::Routes {
            path: routes_name,
            detail: e.to_string(),
        })?;
        let upstream = config
            .upstream
            .as_deref()
            .map(|u| {
                u.parse::<hyper::Uri>()
                    .ok()
                    .filter(|uri| uri.scheme_str() == Some("http") && uri.host().is_some())
                    .ok_or_else(|| GatewayError::Upstream(u.to_owned()))
            })
            .transpose()?;
        let http: HttpClient = Client::builder(TokioExecutor::new()).build_http();

        let key_origin = KeyOrigin::from_config(&config)?;

        data.create()?;
        let mut bootstrap_admin_token = None;
        let fresh_store = !data.store_path().exists();
        let store = if fresh_store {
            Store::create(&data.store_path())?
        } else {
            Store::open(&data.store_path())?
        };
        let signing = match key_origin {
            KeyOrigin::DataDir => {
                if data.has_keyring() {
                    Some(Arc::new(data.read_keyring()?))
                } else {
                    let ring = PrivateKeyring::generate_with_rng(&mut OsRng, now);
                    data.write_keyring(&ring, false)?;
                    let keys = Change::KeysInitialised {
                        key: PublicKeyPart::of(ring.active()),
                    };
                    store.apply(&keys, &Actor::Gateway, now)?;
                    let issued = token::issue_with_rng(
                        &Grant::admin().label(Some("bootstrap admin (tessera serve)".into())),
                        &ring,
                        now,
                        &mut OsRng,
                    )
                    .map_err(GatewayError::Bootstrap)?;
                    let entry = Change::TokenIssued {
                        entry: issued.entry.clone(),
                    };
                    store.apply(&entry, &Actor::Gateway, now)?;
                    let path = data.root().join("admin.token");
                    datadir::write_secret(&path, issued.token.expose().as_bytes())?;
                    bootstrap_admin_token = Some(path);
                    Some(Arc::new(ring))
                }
            }
            _ => None,
        };
        let revocations = store.revocations()?;
        let registry = store.registry()?;
        let keys = KeySource::new(
            key_origin,
            &config,
            signing.as_ref().map(|s| s.public()).unwrap_or_default(),
        );
        let metrics = Metrics::default();
        metrics.watch_keys(keys.freshness().clone());
        let gateway = Gateway(Arc::new(Inner {
            keys,
            signing: RwLock::new(signing),
            revocations: RwLock::new(revocations),
            registry: RwLock::new(Arc::new(registry)),
            ambient: policy.term_bounds().max(admin_policy.term_bounds()),
            authorizations: Arc::new(tokio::sync::Semaphore::new(
                config.max_concurrent_authorizations.max(1),
            )),
            policy,
            admin_policy,
            routes,
            store,
            change_lock: Mutex::new(()),
            tokens: quick_cache::sync::Cache::new(config.token_cache_capacity.max(1)),
            decisions: quick_cache::sync::Cache::new(config.decision_cache_capacity.max(1)),
            epoch: AtomicU64::new(0),
            metrics,
            last_used: Mutex::new(LastUsed::default()),
            http,
            upstream,
            started: Instant::now(),
            bootstrap_admin_token,
            bound: std::sync::OnceLock::new(),
            data,
            config,
        }));
        gateway.refresh_keys().await?;
        Ok(gateway)
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.0.config
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
        &self.0.metrics
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
        self.0.keys.keyring()
    }

    /// How fresh the public keyring is (for `/readyz` and `/metrics`).
    pub fn key_freshness(&self) -> &Freshness {
        self.0.keys.freshness()
    }

    /// The current registry.
    pub fn registry(&self) -> Arc<Registry> {
        read(&self.0.registry).clone()
    }

    /// How many revocation ids are revoked.
    pub fn revoked_count(&self) -> usize {
        read(&self.0.revocations).len()
    }

    /// True when `peer` may send forwarded headers.
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        super::config::nets_contain(&self.0.config.trusted_peers, peer)
    }

    /// Verifies a token, through the bounded cache keyed by a hash of its text.
    fn verified(&self, text: &str) -> Result<Arc<VerifiedToken>, TokenError> {
        let key = self.token_key(text)?;
        if let Some(t) = self.0.tokens.get(&key) {
            self.0.metrics.token_cache(true);
            return Ok(t);
        }
        self.0.metrics.token_cache(false);
        let keyring = self.keyring();
        let verified = Arc::new(token::verify_text_with_ambient(
            text,
            self.0.config.max_token_bytes,
            &keyring,
            &self.0.config.token_limits,
            self.0.ambient,
        )?);
        self.0.tokens.insert(key, verified.clone());
        Ok(verified)
    }

    /// The cache key of a token: a hash of its text. Refuses oversize text
    /// before hashing it.
    fn token_key(&self, text: &str) -> Result<[u8; 32], TokenError> {
        let text = text.trim();
        if text.len() > self.0.config.max_token_bytes {
            return Err(TokenError::Malformed("token is larger than the limit"));
        }
        Ok(Sha256::digest(text.as_bytes()).into())
    }

    /// Marks every cached decision stale: called after each revocation,
    /// registry change and key change.
    pub(super) fn bump_epoch(&self) {
        self.0.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Verifies a token; on an unknown key id, refreshes the keyring (rate
    /// limited, bounded by the key-fetch deadline) and tries once more.
    pub async fn verify_token(&self, text: &str) -> Result<Arc<VerifiedToken>, TokenError> {
        match self.verified(text) {
            Err(TokenError::UnknownKey(_)) if self.0.keys.may_refresh_on_demand() => {
                if let Err(e) = self.refresh_keys().await {
                    tracing::warn!(error = %e, "public key refresh failed");
                }
                self.verified(text)
            }
            other => other,
        }
    }

    /// Reloads the public keys from their file or URL (a no-op for the data
    /// directory's keys); clears the verified-token cache and makes cached
    /// decisions stale when they changed.
    pub async fn refresh_keys(&self) -> Result<bool, GatewayError> {
        let changed = self.0.keys.refresh().await?;
        if changed {
            self.0.tokens.clear();
            self.bump_epoch();
            tracing::info!("public keys reloaded");
        }
        Ok(changed)
    }

    /// The decision for one HTTP request: route, credential, revocation,
    /// registry, policy. Every front door calls this.
    pub async fn decide(
        &self,
        credential: Option<&str>,
        method: &str,
        raw_path: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Allowed>, ApiError> {
        let start = Instant::now();
        let result = self.decide_inner(credential, method, raw_path, now).await;
        self.0
            .metrics
            .record(result.as_ref().err().copied(), start.elapsed());
        match result {
            Ok(allowed) => {
                let secs = now.timestamp();
                let last = allowed.last_noted.load(Ordering::Relaxed);
                if secs.saturating_sub(last) >= LAST_USED_GRANULARITY.num_seconds() {
                    allowed.last_noted.store(secs, Ordering::Relaxed);
                    if let Some(id) = allowed
                        .decision
                        .claims
                        .as_ref()
                        .and_then(|c| c.token_id.clone())
                    {
                        self.note_use(id, now);
                    }
                }
                Ok(allowed)
            }
            Err(reason) => Err(ApiError::Denied(reason)),
        }
    }

    async fn decide_inner(
        &self,
        credential: Option<&str>,
        method: &str,
        raw_path: &str,
        now: DateTime<Utc>,
    ) -> Outcome {
        let request = self
            .0
            .routes
            .resolve(method, raw_path)
            .map_err(|e| match e {
                RouteError::BadPath => Reason::BadPath,
                RouteError::NoRoute => Reason::UnknownRoute,
            })?;
        let token_key = credential
            .map(|c| self.token_key(c))
            .transpose()
            .map_err(|e| Reason::from(&e))?;
        // Read the epoch before deciding: a decision made while a change
        // lands is stored under the old epoch and never served.
        let epoch = self.0.epoch.load(Ordering::Acquire);
        let ttl = Duration::from_millis(self.0.config.decision_cache_ms);
        let key = (token_key, request);
        if !ttl.is_zero() {
            if let Some(hit) = self.0.decisions.get(&key) {
                if hit.epoch == epoch
                    && hit.until > Instant::now()
                    && hit.token_expires.is_none_or(|at| now < at)
                {
                    self.0.metrics.decision_cache_hit();
                    return hit.outcome;
                }
            }
        }
        let token = match credential {
            Some(text) => match self.verify_token(text).await {
                Ok(t) => Some(t),
                Err(e) => {
                    let outcome = Err(Reason::from(&e));
                    self.remember(key, epoch, ttl, None, &outcome);
                    return outcome;
                }
            },
            None => None,
        };
        let decision = self
            .authorize_off_workers(token.clone(), key.1.clone(), now)
            .await;
        let token_expires = token.as_ref().and_then(|t| t.claims().expires_at);
        let outcome = match decision.reason {
            None => Ok(Arc::new(Allowed {
                headers: super::front::identity_headers(&key.1, &decision),
                request: key.1.clone(),
                decision,
                last_noted: AtomicI64::new(i64::MIN),
            })),
            Some(reason) => Err(reason),
        };
        self.remember(key, epoch, ttl, token_expires, &outcome);
        outcome
    }

    fn remember(
        &self,
        key: DecisionKey,
        epoch: u64,
        ttl: Duration,
        token_expires: Option<DateTime<Utc>>,
        outcome: &Outcome,
    ) {
        // A run-limit denial may be the machine's load (the time budget), not
        // the token: it is never served again from the cache.
        // Text that is not a token at all is cheap to refuse again, and
        // caching it would let junk push real decisions out of the cache.
        if ttl.is_zero() || matches!(outcome, Err(Reason::Limits | Reason::Malformed)) {
            return;
        }
        self.0.decisions.insert(
            key,
            CachedDecision {
                epoch,
                until: Instant::now() + ttl,
                token_expires,
                outcome: outcome.clone(),
            },
        );
    }

    /// The decision `tessera check --server` asks for: any operation on any
    /// resource, at any time, optionally explained.
    pub async fn check(
        &self,
        credential: Option<&str>,
        request: &Request,
        at: DateTime<Utc>,
        explain: bool,
    ) -> Decision {
        let token = match credential {
            Some(text) => match self.verify_token(text).await {
                Ok(t) => Some(t),
                Err(e) => {
                    return Decision {
                        allowed: false,
                        reason: Some(Reason::from(&e)),
                        claims: None,
                        explanation: Default::default(),
                    }
                }
            },
            None => None,
        };
        let request = request.clone();
        self.off_workers(move |gw| gw.authorize_with(token.as_deref(), &request, at, explain))
            .await
    }

    /// [`Gateway::authorize`] through [`Gateway::off_workers`]: what the
    /// front doors call from async code.
    pub async fn authorize_off_workers(
        &self,
        token: Option<Arc<VerifiedToken>>,
        request: Request,
        now: DateTime<Utc>,
    ) -> Decision {
        self.off_workers(move |gw| gw.authorize(token.as_deref(), &request, now))
            .await
    }

    /// Runs one authorizer run (`run`, given this gateway) on tokio's
    /// blocking pool, at most `max_concurrent_authorizations` at a time:
    /// Datalog never runs on the async workers, so a burst of expensive runs
    /// waits here instead of starving health checks, decision-cache hits
    /// and the admin API. biscuit-auth's run limits still bound each run.
    async fn off_workers(
        &self,
        run: impl FnOnce(&Gateway) -> Decision + Send + 'static,
    ) -> Decision {
        let refused = || Decision {
            allowed: false,
            reason: Some(Reason::Limits),
            claims: None,
            explanation: Default::default(),
        };
        // The permit moves into the run: a request that is given up on
        // (timeout, disconnect) still holds it until its run has ended.
        let Ok(permit) = self.0.authorizations.clone().acquire_owned().await else {
            return refused();
        };
        let gateway = self.clone();
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            run(&gateway)
        });
        match job.await {
            Ok(decision) => decision,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down.
            Err(_) => refused(),
        }
    }

    /// Runs the decision for a verified token (or none) against the current
    /// revocation set, registry and policy, on the calling thread: from
    /// async code, use [`Gateway::authorize_off_workers`].
    pub fn authorize(
        &self,
        token: Option<&VerifiedToken>,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Decision {
        self.authorize_with(token, request, now, false)
    }

    fn authorize_with(
        &self,
        token: Option<&VerifiedToken>,
        request: &Request,
        now: DateTime<Utc>,
        explain: bool,
    ) -> Decision {
        let keyring = self.keyring();
        let registry = self.registry();
        let revocations = read(&self.0.revocations);
        let ctx = Context {
            keyring: &keyring,
            revocations: &revocations,
            registry: &registry,
            policy: &self.0.policy,
            max_token_bytes: self.0.config.max_token_bytes,
            explain,
        };
        authorize::authorize(&ctx, token, request, now)
    }

    /// Authorizes an admin API request (`read` or `manage`) for a token.
    pub async fn authorize_admin(
        &self,
        credential: Option<&str>,
        operation: Operation,
        now: DateTime<Utc>,
    ) -> Result<Arc<VerifiedToken>, ApiError> {
        let text = credential.ok_or(ApiError::Denied(Reason::MissingToken))?;
        let token = self
            .verify_token(text)
            .await
            .map_err(|e| ApiError::Denied(Reason::from(&e)))?;
        let verified = token.clone();
        let decision = self
            .off_workers(move |gw| {
                let revocations = read(&gw.0.revocations);
                authorize::authorize_admin(
                    &gw.0.admin_policy,
                    &revocations,
                    &verified,
                    operation,
                    now,
                )
            })
            .await;
        match decision.reason {
            None => Ok(token),
            Some(r) => Err(ApiError::Denied(r)),
        }
    }

    /// Issues a token with the signing keyring and records it, by `actor`.
    /// Blocking (a redb commit): call from `spawn_blocking`.
    pub fn issue(
        &self,
        grant: &Grant,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(SecretToken, crate::model::LedgerEntry), ApiError> {
        let ring = read(&self.0.signing)
            .clone()
            .ok_or(ApiError::NoSigningKey)?;
        let issued = token::issue_with_rng(grant, &ring, now, &mut OsRng)?;
        let change = Change::TokenIssued {
            entry: issued.entry.clone(),
        };
        self.commit(|store| store.apply(&change, actor, now))?;
        Ok((issued.token, issued.entry))
    }

    /// The in-memory revocation set and registry that committed changes
    /// land on (`gateway::apply`); lock them in this order.
    pub(super) fn memory(&self) -> (&RwLock<RevocationSet>, &RwLock<Arc<Registry>>) {
        (&self.0.revocations, &self.0.registry)
    }

    /// Serialises committing and applying changes.
    pub(super) fn change_lock(&self) -> &Mutex<()> {
        &self.0.change_lock
    }

    fn note_use(&self, token_id: String, now: DateTime<Utc>) {
        let mut lu = lock(&self.0.last_used);
        let due = lu
            .written
            .get(&token_id)
            .is_none_or(|&at| now - at >= LAST_USED_GRANULARITY);
        if due && !lu.pending.contains_key(&token_id) {
            lu.pending.insert(token_id, now);
        }
    }

    /// Writes pending "last used" times to the ledger in one transaction.
    pub async fn flush_last_used(&self) {
        let batch: Vec<(String, DateTime<Utc>)> = {
            let mut lu = lock(&self.0.last_used);
            let batch: Vec<_> = lu.pending.drain().collect();
            // Forget tokens whose last write is older than the granularity:
            // their next use is due anyway, and the map stays bounded.
            let now = Utc::now();
            lu.written.retain(|_, at| now - *at < LAST_USED_GRANULARITY);
            for (id, at) in &batch {
                lu.written.insert(id.clone(), *at);
            }
            batch
        };
        if batch.is_empty() {
            return;
        }
        let gateway = self.clone();
        let result =
            tokio::task::spawn_blocking(move || gateway.0.store.touch_last_used(&batch)).await;
        match result {
            Ok(Ok(n)) => tracing::debug!(updated = n, "last-used times written"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not write last-used times"),
            Err(e) => tracing::warn!(error = %e, "last-used writer failed"),
        }
    }

    /// Starts the last-used writer and, for a file or URL key source, the
    /// periodic key refresh: two tasks, so a stalled key server cannot delay
    /// the ledger writes nor a slow ledger the key refresh.
    pub fn spawn_background_tasks(&self) -> BackgroundTasks {
        let mut tasks = vec![self.spawn_last_used_writer()];
        if self.0.keys.is_refreshable() {
            tasks.push(self.spawn_key_refresher());
        }
        BackgroundTasks(tasks)
    }

    fn spawn_last_used_writer(&self) -> tokio::task::JoinHandle<()> {
        let gateway = self.clone();
        let period = Duration::from_secs(self.0.config.last_used_flush_secs.max(1));
        tokio::spawn(async move {
            let mut ticks = interval_from_now(period).await;
            loop {
                ticks.tick().await;
                gateway.flush_last_used().await;
            }
        })
    }

    fn spawn_key_refresher(&self) -> tokio::task::JoinHandle<()> {
        let gateway = self.clone();
        let period = Duration::from_secs(self.0.config.key_refresh_secs.max(1));
        tokio::spawn(async move {
            let mut ticks = interval_from_now(period).await;
            loop {
                ticks.tick().await;
                if let Err(e) = gateway.refresh_keys().await {
                    tracing::warn!(error = %e, "periodic public key refresh failed");
                }
            }
        })
    }
}

/// An interval whose first tick has passed and that, after a slow round,
/// waits a whole period again instead of catching up in a burst.
async fn interval_from_now(period: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    ticks
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
