//! The gateway's configuration: safe defaults, an optional TOML file, and
//! flags (with environment variables) on top. Whatever weakens verification
//! says `insecure` in its name.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use axum::http::Uri;
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
    /// Verify-only mode: a Biscuit Web Keys file or `https://` (or loopback
    /// `http://`) URL to verify with instead of the data directory's keyring.
    pub public_keys: Option<String>,
    /// A PEM file of CA certificates trusted for an `https://` `public_keys`
    /// URL, on top of the built-in roots (a private CA).
    pub public_keys_ca: Option<PathBuf>,
    /// Fetch `public_keys` over plain `http://` from a non-loopback host:
    /// anyone on the path could substitute keys.
    pub insecure_http_keys: bool,
    /// Reverse-proxy mode: authorized requests are forwarded here.
    pub upstream: Option<String>,
    /// The public base URL share links are built on (`{public_url}/s/{token}`).
    pub public_url: Option<String>,
    /// Peers whose forwarded headers (X-Forwarded-*, X-Original-*) are honoured.
    pub trusted_peers: Vec<IpNet>,
    /// Which forwarding header carries the original URI at `/auth`.
    pub forwarded_uri_header: ForwardedUriHeader,
    /// Origins (`scheme://host[:port]`) allowed to make changes with the
    /// share-session cookie; empty: the origin of `public_url`, if set.
    pub allowed_origins: Vec<String>,
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
    /// Time a client has to send a request's line and headers, in
    /// milliseconds, counted from the connection's start or the previous
    /// response; then the connection is closed.
    pub header_read_timeout_ms: u64,
    /// A connection that moves no byte either way while no request is being
    /// handled is closed after this many milliseconds.
    pub idle_timeout_ms: u64,
    /// Most open client connections on the main listener; at the cap the
    /// gateway stops accepting until one closes. Lowered at start to what
    /// the open-file limit allows.
    pub max_connections: usize,
    /// Peers (CIDR) that may read `/metrics` and `/readyz`; others get what
    /// an unknown path gets.
    pub ops_peers: Vec<IpNet>,
    /// A separate address for `/healthz`, `/readyz` and `/metrics`; when set
    /// they are served only there.
    pub ops_listen: Option<SocketAddr>,
    /// Most open connections on the ops listener.
    pub ops_max_connections: usize,
    /// Authorizer: most facts.
    pub max_facts: u64,
    /// Authorizer: most iterations.
    pub max_iterations: u64,
    /// Authorizer: most time per run, in milliseconds.
    pub max_authorizer_ms: u64,
    /// Most authorizer runs at once, on the blocking pool (never on the
    /// async workers); more wait their turn.
    pub max_concurrent_authorizations: usize,
    /// Largest admin API request body, in bytes (larger: 413).
    pub max_admin_body_bytes: usize,
    /// Most requests on the decision front doors (forward-auth, Envoy, the
    /// reverse proxy, share links) at once, at least 1; past it a request
    /// is shed at once with 503 `overloaded` and `Retry-After` instead of
    /// queueing. The operational endpoints and the admin API are not shed.
    pub max_in_flight_decisions: usize,
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
    /// One deadline over a whole key fetch from a URL (connect, headers and
    /// body), in milliseconds.
    pub key_fetch_timeout_ms: u64,
    /// Largest key set a URL may answer, in bytes.
    pub max_key_bytes: usize,
    /// Seconds without a successful key refresh (file or URL source) after
    /// which `/readyz` answers 503; none: three refresh intervals.
    pub max_key_staleness_secs: Option<u64>,
    /// Seconds between writes of "last used" times to the ledger.
    pub last_used_flush_secs: u64,
    /// Log as JSON lines.
    pub log_json: bool,
    /// How long a member token from `POST /admin/v1/members/{user}/tokens`
    /// lasts when the request names no expiry (`12h`, `30m`, `7d`).
    pub member_token_ttl: TokenTtl,
    /// Fleet mode: the NATS server (`nats://HOST:PORT`) whose JetStream
    /// stream carries every change to every gateway, in one order.
    pub fleet: Option<String>,
    /// Fleet mode: how far behind the stream a gateway may be, in
    /// milliseconds, before it refuses token requests (`stale`).
    pub max_staleness_ms: u64,
    /// Fleet mode: the longest a request with `X-Tessera-Min-Revision` waits
    /// for that revision, in milliseconds (then 503 `behind`).
    pub min_revision_wait_ms: u64,
    /// Fleet mode: after this many applied changes a gateway writes a
    /// snapshot of the replicated state to JetStream (0: never on its own).
    pub fleet_snapshot_every: u64,
    /// Fleet mode: after writing a snapshot at revision R, purge the change
    /// stream below R + 1 (new gateways then start from the snapshot).
    pub fleet_compact: bool,
    /// The most candidates (workspaces and views) one `GET /v1/me` answer
    /// decides on; each costs one decision per operation. `?limit=` asks
    /// for fewer, a cursor for the next page.
    pub me_page_size: usize,
}

/// A token lifetime written as a duration (`12h`, `30m`, `7d`, `3600s`),
/// at least a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTtl(chrono::Duration);

impl TokenTtl {
    /// Twelve hours: the member token's default.
    pub const MEMBER_DEFAULT: TokenTtl = TokenTtl(chrono::Duration::hours(12));

    /// The expiry of a token issued at `now`.
    pub fn expiry(
        self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        now.checked_add_signed(self.0)
    }
}

impl Default for TokenTtl {
    fn default() -> Self {
        TokenTtl::MEMBER_DEFAULT
    }
}

impl std::str::FromStr for TokenTtl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let relative = s.ends_with(|c: char| c.is_ascii_alphabetic()) && !s.contains(['-', ':']);
        match crate::model::parse_expiry(s, epoch) {
            Ok(at) if relative && at > epoch => Ok(TokenTtl(at - epoch)),
            _ => Err(format!(
                "invalid token lifetime {:?}: a duration such as 12h, 30m or 7d",
                s.chars().take(40).collect::<String>()
            )),
        }
    }
}

impl<'de> Deserialize<'de> for TokenTtl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        let limits = RunLimits::default();
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_keys: None,
            public_keys_ca: None,
            insecure_http_keys: false,
            upstream: None,
            public_url: None,
            trusted_peers: loopback(),
            forwarded_uri_header: ForwardedUriHeader::Auto,
            allowed_origins: Vec::new(),
            insecure_cookies: false,
            view_page: "/views/{view}".to_owned(),
            policy: None,
            routes: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            token_limits: TokenLimits::default(),
            max_header_bytes: 16 * 1024,
            request_timeout_ms: 30_000,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_connections: 4096,
            ops_peers: loopback(),
            ops_listen: None,
            ops_max_connections: 64,
            max_facts: limits.max_facts,
            max_iterations: limits.max_iterations,
            max_authorizer_ms: u64::try_from(limits.max_time.as_millis()).unwrap_or(20),
            max_concurrent_authorizations: default_concurrent_authorizations(),
            max_admin_body_bytes: 64 * 1024,
            max_in_flight_decisions: 1024,
            token_cache_capacity: 10_000,
            decision_cache_capacity: 100_000,
            decision_cache_ms: 1000,
            key_refresh_secs: 300,
            key_refresh_min_secs: 5,
            key_fetch_timeout_ms: 5000,
            max_key_bytes: 1 << 20,
            max_key_staleness_secs: None,
            last_used_flush_secs: 60,
            log_json: false,
            member_token_ttl: TokenTtl::MEMBER_DEFAULT,
            fleet: None,
            max_staleness_ms: 5000,
            min_revision_wait_ms: 2000,
            fleet_snapshot_every: 10_000,
            fleet_compact: false,
            me_page_size: 100,
        }
    }
}

/// The loopback networks, the default for peers trusted with forwarded
/// headers and for operational endpoints.
fn loopback() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// True when `peer` is in one of `nets`; an IPv4-mapped IPv6 address counts
/// as the IPv4 address it carries.
pub fn nets_contain(nets: &[IpNet], peer: IpAddr) -> bool {
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&peer))
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

    /// How long the keys may go without a successful refresh before the
    /// gateway says it is not ready: `max_key_staleness_secs`, else three
    /// refresh intervals.
    pub fn key_staleness_bound(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.max_key_staleness_secs
                .unwrap_or(self.key_refresh_secs.saturating_mul(3)),
        )
    }

    /// The origins an unsafe request authenticated by the session cookie may
    /// come from: `allowed_origins`, else the origin of `public_url`. Each in
    /// the form [`origin_of`] gives; an entry that is no origin matches nothing.
    pub fn effective_origins(&self) -> Vec<String> {
        if self.allowed_origins.is_empty() {
            self.public_url
                .iter()
                .filter_map(|u| origin_of(u))
                .collect()
        } else {
            self.allowed_origins
                .iter()
                .filter_map(|o| origin_of(o))
                .collect()
        }
    }

    /// True when `origin` (an `Origin` header's value) is an allowed origin.
    pub fn allows_origin(&self, origin: &str) -> bool {
        origin_of(origin).is_some_and(|o| self.effective_origins().contains(&o))
    }

    /// The base URL for share links: `public_url`, else the listen address.
    pub fn share_base(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }
}

/// Which forwarding header `/auth` takes the original URI from
/// (`--forwarded-uri-header`). With one header named, it and its method
/// header are the only forwarding headers honoured: any other one present
/// is refused (`ambiguous_forward`), so a header a client adds, and a proxy
/// passes on, can never change what is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedUriHeader {
    /// `X-Forwarded-Uri` (with `X-Forwarded-Method`), or `X-Original-URI`,
    /// or `X-Original-URL` (with `X-Original-Method`): whichever one is
    /// present; two of them together are refused.
    #[default]
    Auto,
    /// `X-Forwarded-Uri` + `X-Forwarded-Method` only (Traefik, Caddy, APISIX).
    XForwardedUri,
    /// `X-Original-URI` + `X-Original-Method` only (nginx `auth_request`).
    XOriginalUri,
    /// `X-Original-URL` + `X-Original-Method` only (ingress-nginx).
    XOriginalUrl,
}

impl ForwardedUriHeader {
    /// The names this setting is written as (flag, environment, TOML).
    pub const NAMES: [&'static str; 4] = [
        "auto",
        "x-forwarded-uri",
        "x-original-uri",
        "x-original-url",
    ];

    /// The (method header, URI header) pair honoured; `None` for `auto`.
    pub fn headers(self) -> Option<(&'static str, &'static str)> {
        match self {
            ForwardedUriHeader::Auto => None,
            ForwardedUriHeader::XForwardedUri => Some(("x-forwarded-method", "x-forwarded-uri")),
            ForwardedUriHeader::XOriginalUri => Some(("x-original-method", "x-original-uri")),
            ForwardedUriHeader::XOriginalUrl => Some(("x-original-method", "x-original-url")),
        }
    }
}

impl std::str::FromStr for ForwardedUriHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(ForwardedUriHeader::Auto),
            "x-forwarded-uri" => Ok(ForwardedUriHeader::XForwardedUri),
            "x-original-uri" => Ok(ForwardedUriHeader::XOriginalUri),
            "x-original-url" => Ok(ForwardedUriHeader::XOriginalUrl),
            _ => Err(format!(
                "expected one of {}",
                ForwardedUriHeader::NAMES.join(", ")
            )),
        }
    }
}

/// The origin of an `http(s)` URL or `Origin` value, as browsers serialise
/// it: `scheme://host[:port]`, lowercase, without the scheme's default port.
/// `None` for anything else (`null`, other schemes, user info, a path).
pub fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = uri.authority()?;
    if authority.as_str().contains('@') || !matches!(uri.path(), "" | "/") || uri.query().is_some()
    {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    Some(match authority.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

#[cfg(test)]
mod tests;
