//! The gateway's configuration: safe defaults, an optional TOML file, and
//! flags (with environment variables) on top. Whatever weakens verification
//! says `insecure` in its name.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

use crate::authorize::RunLimits;
use crate::token::{TokenLimits, DEFAULT_MAX_TOKEN_BYTES};

/// Everything `tessera serve` can be told. Every field has a default, so an
/// empty TOML file (or none) is a working configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Verify-only mode: a Biscuit Web Keys file or `http://` URL to verify
    /// with instead of the data directory's keyring.
    pub public_keys: Option<String>,
    /// Reverse-proxy mode: authorized requests are forwarded here.
    pub upstream: Option<String>,
    /// The public base URL share links are built on (`{public_url}/s/{token}`).
    pub public_url: Option<String>,
    /// Peers whose forwarded headers (X-Forwarded-*, X-Original-*) are honoured.
    pub trusted_peers: Vec<IpNet>,
    /// Share-link cookies without `Secure`, for local plain-HTTP use only.
    pub insecure_cookies: bool,
    /// Where a share link lands: `{view}` is replaced by the view id.
    pub view_page: String,
    /// A Datalog policy file to use instead of the embedded default.
    pub policy: Option<PathBuf>,
    /// A route table file to use instead of the embedded default.
    pub routes: Option<PathBuf>,
    /// Largest token accepted, in bytes of text (larger: 401 malformed).
    pub max_token_bytes: usize,
    /// What an attenuation block may carry (blocks, facts, rules, checks,
    /// estimated query cost); larger tokens are refused with `limits`.
    pub token_limits: TokenLimits,
    /// Largest total request header size, in bytes (larger: 431).
    pub max_header_bytes: usize,
    /// Time allowed to produce a response, in milliseconds (then 408).
    pub request_timeout_ms: u64,
    /// Authorizer: most facts.
    pub max_facts: u64,
    /// Authorizer: most iterations.
    pub max_iterations: u64,
    /// Authorizer: most time per run, in milliseconds.
    pub max_authorizer_ms: u64,
    /// Most authorizer runs at once, on the blocking pool (never on the
    /// async workers); more wait their turn.
    pub max_concurrent_authorizations: usize,
    /// Verified tokens kept in memory.
    pub token_cache_capacity: usize,
    /// Decisions kept, keyed by token hash, operation and resource.
    pub decision_cache_capacity: usize,
    /// How long a cached decision may be served, in milliseconds (0: no
    /// decision cache). Every revocation, registry or key change makes all
    /// cached decisions stale at once; none outlives its token's expiry.
    pub decision_cache_ms: u64,
    /// Seconds between public-key refreshes (file or URL source).
    pub key_refresh_secs: u64,
    /// Least seconds between two refreshes triggered by unknown key ids.
    pub key_refresh_min_secs: u64,
    /// Seconds between writes of "last used" times to the ledger.
    pub last_used_flush_secs: u64,
    /// Log as JSON lines.
    pub log_json: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        let limits = RunLimits::default();
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_keys: None,
            upstream: None,
            public_url: None,
            trusted_peers: ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
            insecure_cookies: false,
            view_page: "/views/{view}".to_owned(),
            policy: None,
            routes: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            token_limits: TokenLimits::default(),
            max_header_bytes: 16 * 1024,
            request_timeout_ms: 30_000,
            max_facts: limits.max_facts,
            max_iterations: limits.max_iterations,
            max_authorizer_ms: u64::try_from(limits.max_time.as_millis()).unwrap_or(20),
            max_concurrent_authorizations: default_concurrent_authorizations(),
            token_cache_capacity: 10_000,
            decision_cache_capacity: 100_000,
            decision_cache_ms: 1000,
            key_refresh_secs: 300,
            key_refresh_min_secs: 5,
            last_used_flush_secs: 60,
            log_json: false,
        }
    }
}

/// Twice the CPUs: enough runs to keep every core busy while some wait on
/// nothing, few enough that the async workers always get a core.
fn default_concurrent_authorizations() -> usize {
    std::thread::available_parallelism().map_or(8, |n| n.get() * 2)
}

impl GatewayConfig {
    /// Reads a TOML configuration file's text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    /// The authorizer's run limits.
    pub fn run_limits(&self) -> RunLimits {
        RunLimits {
            max_facts: self.max_facts,
            max_iterations: self.max_iterations,
            max_time: std::time::Duration::from_millis(self.max_authorizer_ms),
        }
    }

    /// The base URL for share links: `public_url`, else the listen address.
    pub fn share_base(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_and_safe() {
        let c = GatewayConfig::default();
        assert!(c.listen.ip().is_loopback());
        assert!(!c.insecure_cookies);
        assert!(c
            .trusted_peers
            .iter()
            .any(|n| n.contains(&"127.0.0.9".parse::<std::net::IpAddr>().unwrap())));
        assert!(!c
            .trusted_peers
            .iter()
            .any(|n| n.contains(&"10.0.0.1".parse::<std::net::IpAddr>().unwrap())));
        assert_eq!(GatewayConfig::from_toml("").unwrap(), c);
    }

    #[test]
    fn the_file_overrides_defaults_and_refuses_unknown_keys() {
        let c = GatewayConfig::from_toml(
            "listen = \"127.0.0.1:9000\"\ntrusted_peers = [\"10.1.0.0/16\"]\nmax_token_bytes = 4096\n",
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_token_bytes, 4096);
        assert_eq!(c.trusted_peers.len(), 1);
        assert!(GatewayConfig::from_toml("lisen = 1").is_err());
    }
}
