//! The flags that decide how secrets and keys travel over the network:
//! `tessera serve`'s `--public-keys-ca` and `--insecure-http-keys`, and the
//! CLI's `--server-ca` and `--insecure-http-server`, with the client the
//! CLI's `--server` calls go through (https via rustls; plain http only to
//! loopback unless the insecure flag is given).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use http_body_util::Full;
use hyper::body::Bytes;

use crate::gateway::tls_client::{self, Cleartext, HttpsClient};
use crate::gateway::GatewayConfig;

/// `tessera serve`: how a `--public-keys` URL is fetched.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyTransportArgs {
    /// A PEM file of CA certificates to trust for an https:// --public-keys
    /// URL, besides the built-in roots (a private CA).
    #[arg(long, env = "TESSERA_PUBLIC_KEYS_CA")]
    pub public_keys_ca: Option<PathBuf>,
    /// Allow an http:// --public-keys URL to a non-loopback host: anyone on
    /// the path could substitute keys and have forged tokens accepted.
    #[arg(long, env = "TESSERA_INSECURE_HTTP_KEYS")]
    pub insecure_http_keys: bool,
}

impl KeyTransportArgs {
    /// Puts these flags over the config file's values.
    pub fn apply(&self, config: &mut GatewayConfig) {
        if let Some(ca) = &self.public_keys_ca {
            config.public_keys_ca = Some(ca.clone());
        }
        config.insecure_http_keys |= self.insecure_http_keys;
    }
}

/// `--server`: how the admin token travels to the gateway.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerTransportArgs {
    /// A PEM file of CA certificates to trust for an https:// --server,
    /// besides the built-in roots (a private CA).
    #[arg(long, global = true, env = "TESSERA_SERVER_CA")]
    pub server_ca: Option<PathBuf>,
    /// Allow an http:// --server to a non-loopback host: the admin token
    /// travels in clear text.
    #[arg(long, global = true, env = "TESSERA_INSECURE_HTTP_SERVER")]
    pub insecure_http_server: bool,
}

/// What plain http:// would expose, and the flags that answer it.
const SERVER_CLEARTEXT: Cleartext = Cleartext {
    what: "send the admin token",
    ca_flag: "--server-ca",
    flag: "--insecure-http-server",
};

/// The client for the admin API calls (boxed: the TLS connector is large,
/// and the CLI's backend holds it by value).
pub(crate) type AdminClient = Box<HttpsClient<Full<Bytes>>>;

impl ServerTransportArgs {
    /// A client for `url` (`http://` or `https://`), after refusing plain
    /// http:// to a non-loopback host without `--insecure-http-server`;
    /// nothing is sent here. Needs a Tokio runtime entered.
    pub(crate) fn client(&self, url: &str) -> Result<AdminClient> {
        let uri: hyper::Uri = url
            .parse()
            .ok()
            .filter(|u: &hyper::Uri| {
                matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some()
            })
            .with_context(|| {
                format!("--server {url:?}: not an http:// or https:// URL with a host")
            })?;
        tls_client::check_cleartext(&uri, self.insecure_http_server, SERVER_CLEARTEXT)
            .with_context(|| format!("--server {url:?}"))?;
        let tls = tls_client::tls_config(self.server_ca.as_deref())?;
        Ok(Box::new(tls_client::client(&tls)))
    }
}
