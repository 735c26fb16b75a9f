//! Where the gateway's verifying keys come from and how they stay fresh.
//!
//! The source is the data directory's keyring (an issuing node: never
//! refreshed, never stale), a Biscuit Web Keys file, or a URL: `https://`
//! (rustls, see [`super::tls_client`]), or plain `http://` only to a loopback
//! host unless `insecure_http_keys` — keys that travel in clear text can be
//! substituted on the way. A URL is fetched under one deadline that covers
//! the whole exchange — connect, TLS handshake, headers and body — and a
//! size limit on the body, so a key server that stalls or floods cannot hang
//! or bloat the gateway. The refresh state
//! (when the keys were last loaded, how many refreshes failed) is what
//! `/readyz` and `/metrics` report; refreshes that unknown key ids trigger
//! are rate limited here, and concurrent refreshes share one fetch.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::body::Bytes;

use crate::keys::PublicKeyring;
use crate::store::{datadir, StoreError};

use super::config::GatewayConfig;
use super::tls_client::{self, Cleartext, HttpsClient};

/// Why the public keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeySourceError {
    /// The URL could not be used, or its answer was refused.
    #[error("cannot load public keys from {source_name}: {detail}")]
    Fetch {
        /// The URL (or the `--public-keys` text that is not one).
        source_name: String,
        /// Why.
        detail: String,
    },
    /// The file could not be read or is not a keyring.
    #[error(transparent)]
    File(#[from] StoreError),
}

/// What plain http:// would expose, and the flags that answer it.
const KEYS_CLEARTEXT: Cleartext = Cleartext {
    what: "fetch public keys",
    ca_flag: "--public-keys-ca",
    flag: "--insecure-http-keys",
};

/// Where the verifying keys come from.
#[derive(Debug, Clone)]
pub enum KeyOrigin {
    /// The data directory's private keyring (an issuing node).
    DataDir,
    /// A Biscuit Web Keys file.
    File(PathBuf),
    /// A Biscuit Web Keys URL (https, or http).
    Url(hyper::Uri),
    /// Fleet mode without a private keyring: the public keyring the
    /// fleet's changes carry (`crate::fleet`).
    Fleet,
}

impl KeyOrigin {
    /// Reads `public_keys` as [`KeyOrigin::parse`] does, then refuses a
    /// plain `http://` URL to a non-loopback host unless
    /// `insecure_http_keys`: checked at startup, before any byte is sent.
    pub fn from_config(config: &GatewayConfig) -> Result<KeyOrigin, KeySourceError> {
        let origin = KeyOrigin::parse(config.public_keys.as_deref())?;
        if let KeyOrigin::Url(uri) = &origin {
            tls_client::check_cleartext(uri, config.insecure_http_keys, KEYS_CLEARTEXT).map_err(
                |e| KeySourceError::Fetch {
                    source_name: uri.to_string(),
                    detail: e.to_string(),
                },
            )?;
        }
        Ok(origin)
    }

    /// Reads `--public-keys`: none is the data directory, `https://…` or
    /// `http://…` a URL, any other scheme is refused, anything else is a
    /// file path.
    pub fn parse(public_keys: Option<&str>) -> Result<KeyOrigin, KeySourceError> {
        let fail = |s: &str, detail: &str| KeySourceError::Fetch {
            source_name: s.to_owned(),
            detail: detail.to_owned(),
        };
        match public_keys {
            None => Ok(KeyOrigin::DataDir),
            Some(s) if s.starts_with("http://") || s.starts_with("https://") => s
                .parse()
                .map(KeyOrigin::Url)
                .map_err(|_| fail(s, "not a valid URL")),
            Some(s) if s.contains("://") => Err(fail(
                s,
                "only https:// and http:// URLs and files are supported",
            )),
            Some(s) => Ok(KeyOrigin::File(PathBuf::from(s))),
        }
    }

    /// True for a file or URL: keys that are reloaded and can go stale.
    pub fn is_refreshable(&self) -> bool {
        matches!(self, KeyOrigin::File(_) | KeyOrigin::Url(_))
    }
}

/// How fresh the keyring is: when it was last loaded from its file or URL,
/// and how many refreshes have failed since the start. Shared with the
/// metrics.
#[derive(Debug)]
pub struct Freshness {
    /// When the keys were last loaded; none for the data directory's keys.
    loaded: Option<Mutex<Instant>>,
    failures: AtomicU64,
    bound: Duration,
}

impl Freshness {
    fn new(origin: &KeyOrigin, bound: Duration) -> Freshness {
        Freshness {
            loaded: origin.is_refreshable().then(|| Mutex::new(Instant::now())),
            failures: AtomicU64::new(0),
            bound,
        }
    }

    /// Time since the keys were last loaded; none for the data directory's
    /// keys, which are never stale.
    pub fn age(&self) -> Option<Duration> {
        self.loaded.as_ref().map(|at| lock(at).elapsed())
    }

    /// True when the keys have not been reloaded for longer than the bound
    /// (`max_key_staleness_secs`).
    pub fn is_stale(&self) -> bool {
        self.age().is_some_and(|age| age > self.bound)
    }

    /// Refreshes that failed since the start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn loaded_now(&self) {
        if let Some(at) = &self.loaded {
            *lock(at) = Instant::now();
        }
    }

    fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// The HTTP client for key URLs (requests without a body).
type KeyClient = HttpsClient<Empty<Bytes>>;

/// The public keyring, its source, and the state of its refreshes.
pub struct KeySource {
    origin: KeyOrigin,
    timeout: Duration,
    max_bytes: usize,
    on_demand_min: Duration,
    /// The client, or why the TLS trust could not be set up.
    http: Result<KeyClient, String>,
    keyring: RwLock<Arc<PublicKeyring>>,
    freshness: Arc<Freshness>,
    /// Held while one refresh runs; others wait for its result.
    in_flight: tokio::sync::Mutex<()>,
    /// Refreshes finished (successful or not), to tell a waiter that the
    /// one it waited for has answered.
    finished: AtomicU64,
    last_on_demand: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySource")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl KeySource {
    /// A source with its limits and TLS trust (`public_keys_ca`) from
    /// `config`, holding `initial` until the first refresh (the data
    /// directory's public keys, or none). An unusable CA file is reported
    /// by every fetch, the first of which runs at startup.
    pub fn new(origin: KeyOrigin, config: &GatewayConfig, initial: PublicKeyring) -> KeySource {
        let tls = tls_client::tls_config(config.public_keys_ca.as_deref());
        KeySource {
            freshness: Arc::new(Freshness::new(&origin, config.key_staleness_bound())),
            origin,
            timeout: Duration::from_millis(config.key_fetch_timeout_ms),
            max_bytes: config.max_key_bytes,
            on_demand_min: Duration::from_secs(config.key_refresh_min_secs),
            http: tls
                .as_deref()
                .map(tls_client::client)
                .map_err(|e| e.to_string()),
            keyring: RwLock::new(Arc::new(initial)),
            in_flight: tokio::sync::Mutex::new(()),
            finished: AtomicU64::new(0),
            last_on_demand: Mutex::new(None),
        }
    }

    /// The current public keyring.
    pub fn keyring(&self) -> Arc<PublicKeyring> {
        self.keyring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// How fresh the keyring is.
    pub fn freshness(&self) -> &Arc<Freshness> {
        &self.freshness
    }

    /// Where the keys come from.
    pub fn origin(&self) -> &KeyOrigin {
        &self.origin
    }

    /// True for a file or URL source.
    pub fn is_refreshable(&self) -> bool {
        self.origin.is_refreshable()
    }

    /// True when a refresh for an unknown key id may run now (at most one
    /// per `key_refresh_min_secs`); notes it as run.
    pub fn may_refresh_on_demand(&self) -> bool {
        if !self.is_refreshable() {
            return false;
        }
        let mut last = lock(&self.last_on_demand);
        if last.is_some_and(|t| t.elapsed() < self.on_demand_min) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Reloads the keys from their file or URL; true when they changed.
    ///
    /// One refresh runs at a time: a caller that finds one running waits
    /// for it (never longer than the fetch deadline) and takes its result
    /// rather than fetching again, so a request that triggered a refresh
    /// waits at most about one deadline.
    pub async fn refresh(&self) -> Result<bool, KeySourceError> {
        if !self.is_refreshable() {
            return Ok(false);
        }
        let seen = self.finished.load(Ordering::Acquire);
        let Ok(_running) = tokio::time::timeout(self.timeout, self.in_flight.lock()).await else {
            return Ok(false);
        };
        if self.finished.load(Ordering::Acquire) != seen {
            return Ok(false);
        }
        let result = self.load().await;
        let outcome = match result {
            Ok(fresh) => {
                self.freshness.loaded_now();
                Ok(self.replace(fresh))
            }
            Err(e) => {
                self.freshness.failed();
                Err(e)
            }
        };
        self.finished.fetch_add(1, Ordering::Release);
        outcome
    }

    /// Puts `fresh` in place; true when it differs from the current keyring.
    pub(crate) fn replace(&self, fresh: PublicKeyring) -> bool {
        let mut current = self
            .keyring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = **current != fresh;
        if changed {
            *current = Arc::new(fresh);
        }
        changed
    }

    async fn load(&self) -> Result<PublicKeyring, KeySourceError> {
        match &self.origin {
            KeyOrigin::DataDir | KeyOrigin::Fleet => Ok(PublicKeyring::default()),
            KeyOrigin::File(path) => Ok(datadir::read_public_keyring(path, Utc::now())?),
            KeyOrigin::Url(uri) => self.fetch(uri).await,
        }
    }

    /// Fetches and reads the keyring at `uri`, all under the one deadline.
    async fn fetch(&self, uri: &hyper::Uri) -> Result<PublicKeyring, KeySourceError> {
        let fail = |detail: String| KeySourceError::Fetch {
            source_name: uri.to_string(),
            detail,
        };
        let body = tokio::time::timeout(self.timeout, self.download(uri))
            .await
            .map_err(|_| {
                fail(format!(
                    "no complete answer within {} ms (key_fetch_timeout_ms)",
                    self.timeout.as_millis()
                ))
            })?
            .map_err(fail)?;
        let text = std::str::from_utf8(&body).map_err(|e| fail(e.to_string()))?;
        PublicKeyring::from_bwk_json(text, Utc::now()).map_err(|e| fail(e.to_string()))
    }

    /// The request and its whole body, at most `max_bytes` of it.
    async fn download(&self, uri: &hyper::Uri) -> Result<Bytes, String> {
        let too_large = || {
            format!(
                "the answer is larger than {} bytes (max_key_bytes)",
                self.max_bytes
            )
        };
        let http = self.http.as_ref().map_err(Clone::clone)?;
        let response = http.get(uri.clone()).await.map_err(|e| error_chain(&e))?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let declared = response
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_bytes as u64) {
            return Err(too_large());
        }
        Limited::new(response.into_body(), self.max_bytes)
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    too_large()
                } else {
                    error_chain(e.as_ref())
                }
            })
    }
}

/// An error and its causes on one line (the HTTP client's own message is
/// only "client error").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_directory_is_never_stale_and_a_url_is_after_the_bound() {
        let dir = Freshness::new(&KeyOrigin::DataDir, Duration::ZERO);
        assert_eq!(dir.age(), None);
        assert!(!dir.is_stale());
        let url = KeyOrigin::parse(Some("http://127.0.0.1:1/keys")).unwrap();
        let fresh = Freshness::new(&url, Duration::from_secs(3600));
        assert!(fresh.age().is_some());
        assert!(!fresh.is_stale());
        let stale = Freshness::new(&url, Duration::ZERO);
        std::thread::sleep(Duration::from_millis(5));
        assert!(stale.is_stale());
        stale.failed();
        assert_eq!(stale.failures(), 1);
    }

    #[test]
    fn only_http_and_https_urls_and_files_are_sources() {
        assert!(matches!(KeyOrigin::parse(None), Ok(KeyOrigin::DataDir)));
        assert!(matches!(
            KeyOrigin::parse(Some("keys.json")),
            Ok(KeyOrigin::File(_))
        ));
        assert!(matches!(
            KeyOrigin::parse(Some("https://example.com/keys")),
            Ok(KeyOrigin::Url(_))
        ));
        assert!(matches!(
            KeyOrigin::parse(Some("ftp://example.com/keys")),
            Err(KeySourceError::Fetch { .. })
        ));
    }

    #[test]
    fn plain_http_keys_off_loopback_need_the_insecure_flag() {
        let mut config = GatewayConfig {
            public_keys: Some("http://10.255.255.1/keys.json".into()),
            ..GatewayConfig::default()
        };
        let refused = KeyOrigin::from_config(&config).unwrap_err().to_string();
        assert!(refused.contains("--insecure-http-keys"), "{refused}");
        config.insecure_http_keys = true;
        assert!(matches!(
            KeyOrigin::from_config(&config),
            Ok(KeyOrigin::Url(_))
        ));
        for ok in [
            "http://127.0.0.1:1/k",
            "http://localhost/k",
            "https://10.255.255.1/k",
        ] {
            config.public_keys = Some(ok.into());
            config.insecure_http_keys = false;
            assert!(KeyOrigin::from_config(&config).is_ok(), "{ok}");
        }
    }
}
