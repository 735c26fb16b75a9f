//! The decision core: route → cached verification → authorization, with
//! what it reads and keeps — the key source, the in-memory revocation set
//! and registry, the policies, the route table, the verified-token cache,
//! the decision cache and the epoch that makes cached decisions stale, and
//! the bounded runner that keeps Datalog off the async workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::authorize::{self, Context, Decision, Policy, Reason, Request};
use crate::keys::PublicKeyring;
use crate::model::{Registry, RevocationSet};
use crate::routes::RouteTable;
use crate::token::{self, TermBounds, TokenError, TokenLimits, VerifiedToken};

use super::config::GatewayConfig;
use super::identity::Allowed;
use super::keysource::{Freshness, KeySource};
use super::metrics::Metrics;
use super::startup::GatewayError;

mod asked;
mod local;
mod request;

pub use request::Question;

/// The decision core. Cheap to clone (one shared part).
#[derive(Clone)]
pub struct Decider(Arc<Inner>);

struct Inner {
    keys: KeySource,
    revocations: RwLock<RevocationSet>,
    registry: RwLock<Arc<Registry>>,
    policy: Policy,
    admin_policy: Policy,
    /// The largest terms the policies' and requests' facts hold.
    ambient: TermBounds,
    /// Permits for authorizer runs on the blocking pool.
    authorizations: Arc<tokio::sync::Semaphore>,
    /// Permits for requests on the decision front doors (load shedding).
    in_flight: Arc<tokio::sync::Semaphore>,
    routes: RouteTable,
    tokens: quick_cache::sync::Cache<[u8; 32], Arc<VerifiedToken>>,
    decisions: quick_cache::sync::Cache<DecisionKey, CachedDecision>,
    epoch: AtomicU64,
    /// This decider's id for the per-thread copies of cache hits.
    owner: u64,
    metrics: Metrics,
    /// How long a decision is cached (zero: not at all).
    decision_ttl: Duration,
    max_token_bytes: usize,
    token_limits: TokenLimits,
}

/// A decision cache key: a hash of the token text (none: anonymous) and the request.
type DecisionKey = (Option<[u8; 32]>, Request);

/// The outcome of a decision.
pub type Outcome = Result<Arc<Allowed>, Reason>;

/// A cached decision: valid while the epoch is unchanged, for at most the
/// configured time, and never past the token's expiry.
#[derive(Clone)]
struct CachedDecision {
    epoch: u64,
    until: Instant,
    token_expires: Option<DateTime<Utc>>,
    outcome: Outcome,
}

/// What a decider is made of, loaded by [`super::Gateway::open`].
pub struct Parts {
    /// The public keys.
    pub keys: KeySource,
    /// The revocation set, as stored.
    pub revocations: RevocationSet,
    /// The registry, as stored.
    pub registry: Registry,
    /// The request policy.
    pub policy: Policy,
    /// The admin API's policy.
    pub admin_policy: Policy,
    /// The route table.
    pub routes: RouteTable,
    /// The metrics the decisions are counted in.
    pub metrics: Metrics,
}

impl Decider {
    /// A decider over `parts`, sized and limited by `config`.
    pub fn new(parts: Parts, config: &GatewayConfig) -> Self {
        let policy = parts.policy;
        let admin_policy = parts.admin_policy;
        Decider(Arc::new(Inner {
            keys: parts.keys,
            revocations: RwLock::new(parts.revocations),
            registry: RwLock::new(Arc::new(parts.registry)),
            ambient: policy.term_bounds().max(admin_policy.term_bounds()),
            authorizations: Arc::new(tokio::sync::Semaphore::new(
                config.max_concurrent_authorizations.max(1),
            )),
            in_flight: Arc::new(tokio::sync::Semaphore::new(
                config.max_in_flight_decisions.max(1),
            )),
            policy,
            admin_policy,
            routes: parts.routes,
            tokens: quick_cache::sync::Cache::new(config.token_cache_capacity.max(1)),
            decisions: quick_cache::sync::Cache::new(config.decision_cache_capacity.max(1)),
            epoch: AtomicU64::new(0),
            owner: local::new_owner(),
            metrics: parts.metrics,
            decision_ttl: Duration::from_millis(config.decision_cache_ms),
            max_token_bytes: config.max_token_bytes,
            token_limits: config.token_limits,
        }))
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The permits of the decision front doors, one per request in flight
    /// (`max_in_flight_decisions`; `gateway::shed` takes them).
    pub fn in_flight_permits(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.0.in_flight
    }

    /// The key source.
    pub fn keys(&self) -> &KeySource {
        &self.0.keys
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

    /// The in-memory revocation set and registry that committed changes
    /// land on (`gateway::apply`); lock them in this order.
    pub fn memory(&self) -> (&RwLock<RevocationSet>, &RwLock<Arc<Registry>>) {
        (&self.0.revocations, &self.0.registry)
    }

    /// Marks every cached decision stale: called after each revocation,
    /// registry change and key change.
    pub fn bump_epoch(&self) {
        self.0.epoch.fetch_add(1, Ordering::AcqRel);
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
            self.0.max_token_bytes,
            &keyring,
            &self.0.token_limits,
            self.0.ambient,
        )?);
        self.0.tokens.insert(key, verified.clone());
        Ok(verified)
    }

    /// The cache key of a token: a hash of its text. Refuses oversize text
    /// before hashing it.
    fn token_key(&self, text: &str) -> Result<[u8; 32], TokenError> {
        let text = text.trim();
        if text.len() > self.0.max_token_bytes {
            return Err(TokenError::Malformed("token is larger than the limit"));
        }
        Ok(Sha256::digest(text.as_bytes()).into())
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

    /// A credential (or none) verified: step one of the decision sequence.
    async fn verify_credential(
        &self,
        credential: Option<&str>,
    ) -> Option<Result<Arc<VerifiedToken>, TokenError>> {
        match credential {
            Some(text) => Some(self.verify_token(text).await),
            None => None,
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

    /// The decision `tessera check --server` asks for: any operation on any
    /// resource, at any time, optionally explained.
    pub async fn check(
        &self,
        credential: Option<&str>,
        request: &Request,
        at: DateTime<Utc>,
        explain: bool,
    ) -> Decision {
        let verified = self.verify_credential(credential).await;
        let request = request.clone();
        match authorize::decide_with(verified, |token| {
            self.off_workers(move |d| d.authorize_with(token.as_deref(), &request, at, explain))
        }) {
            Ok(run) => run.await,
            Err(refused) => Decision::deny(refused, None),
        }
    }

    /// [`Decider::authorize`] through [`Decider::off_workers`]: what the
    /// front doors call from async code.
    pub async fn authorize_off_workers(
        &self,
        token: Option<Arc<VerifiedToken>>,
        request: Request,
        now: DateTime<Utc>,
    ) -> Decision {
        self.off_workers(move |d| d.authorize(token.as_deref(), &request, now))
            .await
    }

    /// Runs one authorizer run (`run`, given this decider) on tokio's
    /// blocking pool, at most `max_concurrent_authorizations` at a time:
    /// Datalog never runs on the async workers, so a burst of expensive runs
    /// waits here instead of starving health checks, decision-cache hits
    /// and the admin API. biscuit-auth's run limits still bound each run.
    async fn off_workers(
        &self,
        run: impl FnOnce(&Decider) -> Decision + Send + 'static,
    ) -> Decision {
        let refused = || Decision {
            allowed: false,
            reason: Some(Reason::Limits),
            claims: None,
            explanation: Default::default(),
        };
        self.on_blocking_pool(run, refused).await
    }

    /// Runs `run` on tokio's blocking pool under one authorization permit;
    /// `refused()` when no permit can be had or the runtime shuts down.
    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        run: impl FnOnce(&Decider) -> T + Send + 'static,
        refused: impl FnOnce() -> T,
    ) -> T {
        // The permit moves into the run: a request that is given up on
        // (timeout, disconnect) still holds it until its run has ended.
        let Ok(permit) = self.0.authorizations.clone().acquire_owned().await else {
            return refused();
        };
        let decider = self.clone();
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            run(&decider)
        });
        match job.await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down.
            Err(_) => refused(),
        }
    }

    /// Runs the decision for a verified token (or none) against the current
    /// revocation set, registry and policy, on the calling thread: from
    /// async code, use [`Decider::authorize_off_workers`].
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
        self.in_context(explain, |ctx| {
            authorize::authorize(ctx, token, request, now)
        })
    }

    /// Runs `f` over the current keyring, revocation set, registry and
    /// policy.
    fn in_context<T>(&self, explain: bool, f: impl FnOnce(&Context<'_>) -> T) -> T {
        let keyring = self.keyring();
        let registry = self.registry();
        let revocations = read(&self.0.revocations);
        let ctx = Context {
            keyring: &keyring,
            revocations: &revocations,
            registry: &registry,
            policy: &self.0.policy,
            max_token_bytes: self.0.max_token_bytes,
            token_limits: self.0.token_limits,
            explain,
        };
        f(&ctx)
    }

    /// True when a block of `token` is revoked now.
    pub fn is_revoked(&self, token: &VerifiedToken) -> bool {
        authorize::is_revoked(token, &read(&self.0.revocations))
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
