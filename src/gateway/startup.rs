//! Loading what a gateway starts from: the policies, the route table, the
//! upstream URL, the store and the signing keyring (created with a
//! bootstrap admin token on a fresh data directory), and why a start fails
//! ([`GatewayError`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::rngs::OsRng;

use crate::authorize::{self, Policy, ADMIN_POLICY};
use crate::change::{Actor, Change, PublicKeyPart};
use crate::keys::PrivateKeyring;
use crate::model::Grant;
use crate::routes::RouteTable;
use crate::store::datadir::{self, DataDir};
use crate::store::{Store, StoreError};
use crate::token::{self, TokenError};

use super::config::GatewayConfig;
use super::keysource::{KeyOrigin, KeySourceError};

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
    /// Fleet mode could not start (the NATS URL is not usable).
    #[error("fleet: {0}")]
    Fleet(String),
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

fn load_text(path: &Option<PathBuf>, default: &str) -> Result<(String, String), (String, String)> {
    match path {
        None => Ok(("embedded default".to_owned(), default.to_owned())),
        Some(p) => std::fs::read_to_string(p)
            .map(|t| (p.display().to_string(), t))
            .map_err(|e| (p.display().to_string(), e.to_string())),
    }
}

/// The request policy (the configured file or the embedded default) and
/// the admin API's policy, with the configured run limits.
pub fn policies(config: &GatewayConfig) -> Result<(Policy, Policy), GatewayError> {
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
    Ok((policy, admin_policy))
}

/// The route table: the configured file or the embedded default.
pub fn routes(config: &GatewayConfig) -> Result<RouteTable, GatewayError> {
    let (routes_name, routes_text) = load_text(&config.routes, crate::routes::DEFAULT_ROUTES)
        .map_err(|(path, detail)| GatewayError::Routes { path, detail })?;
    RouteTable::from_toml(&routes_text).map_err(|e| GatewayError::Routes {
        path: routes_name,
        detail: e.to_string(),
    })
}

/// The upstream of reverse-proxy mode: an `http://` URL with a host.
pub fn upstream(config: &GatewayConfig) -> Result<Option<hyper::Uri>, GatewayError> {
    config
        .upstream
        .as_deref()
        .map(|u| {
            u.parse::<hyper::Uri>()
                .ok()
                .filter(|uri| uri.scheme_str() == Some("http") && uri.host().is_some())
                .ok_or_else(|| GatewayError::Upstream(u.to_owned()))
        })
        .transpose()
}

/// What a data directory opens to.
pub struct Opened {
    /// The store.
    pub store: Store,
    /// The signing keyring, when keys come from the data directory.
    pub signing: Option<Arc<PrivateKeyring>>,
    /// Where the bootstrap admin token was written, when this start created the keys.
    pub bootstrap_admin_token: Option<PathBuf>,
}

/// The store (created on a fresh data directory) and, when keys come from
/// the data directory, the signing keyring: generated on first start, with
/// a bootstrap admin token written next to the store.
pub fn store_and_signing(
    data: &DataDir,
    key_origin: &KeyOrigin,
    now: DateTime<Utc>,
) -> Result<Opened, GatewayError> {
    data.create()?;
    let mut bootstrap_admin_token = None;
    let store = if data.store_path().exists() {
        Store::open(&data.store_path())?
    } else {
        Store::create(&data.store_path())?
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
    Ok(Opened {
        store,
        signing,
        bootstrap_admin_token,
    })
}
