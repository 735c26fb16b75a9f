//! `tessera serve`: its flags, the `GatewayConfig` they build (defaults,
//! then the config file, then the flags), and running the gateway.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;

use crate::gateway::{Gateway, GatewayConfig};
use crate::store::datadir::DataDir;

/// `tessera serve …`: each flag overrides the config file, which overrides the defaults.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML config file (keys as below, with underscores).
    #[arg(long, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TESSERA_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Verify only, with this Biscuit Web Keys file or https:// URL (http:// only to loopback) (no private key needed).
    #[arg(long, env = "TESSERA_PUBLIC_KEYS")]
    pub public_keys: Option<String>,
    /// How a --public-keys URL is fetched: --public-keys-ca, --insecure-http-keys.
    #[command(flatten)]
    pub key_transport: super::transport::KeyTransportArgs,
    /// The request limits of the gateway's front.
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
    /// Fleet mode: --fleet, --max-staleness, --min-revision-wait.
    #[command(flatten)]
    pub fleet: super::fleet::FleetArgs,
    /// Member token flags.
    #[command(flatten)]
    pub members: super::member_flags::MemberArgs,
    /// `GET /v1/me` flags.
    #[command(flatten)]
    pub me: super::me_flags::MeArgs,
    /// Reverse-proxy mode: forward authorized requests to this http:// URL.
    #[arg(long, env = "TESSERA_UPSTREAM")]
    pub upstream: Option<String>,
    /// Public base URL for share links returned by the admin API.
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// A peer (CIDR) allowed to send forwarded headers; repeat for more [default: loopback].
    #[arg(
        long = "trusted-peer",
        env = "TESSERA_TRUSTED_PEERS",
        value_delimiter = ','
    )]
    pub trusted_peers: Option<Vec<ipnet::IpNet>>,
    /// Which header /auth reads the original URI from: auto, x-forwarded-uri,
    /// x-original-uri or x-original-url; a named one is the only one honoured [default: auto].
    #[arg(long, env = "TESSERA_FORWARDED_URI_HEADER")]
    pub forwarded_uri_header: Option<crate::gateway::config::ForwardedUriHeader>,
    /// An origin (scheme://host[:port]) allowed to make changes with the share
    /// cookie; repeat for more [default: the origin of --public-url].
    #[arg(
        long = "allowed-origin",
        env = "TESSERA_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Option<Vec<String>>,
    /// Share-link cookies without Secure, for plain-HTTP local use only.
    #[arg(long, env = "TESSERA_INSECURE_COOKIES")]
    pub insecure_cookies: bool,
    /// Where share links land; {view} is replaced [default: /views/{view}].
    #[arg(long, env = "TESSERA_VIEW_PAGE")]
    pub view_page: Option<String>,
    /// A Datalog policy file instead of the embedded default.
    #[arg(long, env = "TESSERA_POLICY")]
    pub policy: Option<PathBuf>,
    /// A route table file instead of the embedded default.
    #[arg(long, env = "TESSERA_ROUTES")]
    pub routes: Option<PathBuf>,
    /// Largest token, in bytes [default: 8192].
    #[arg(long, env = "TESSERA_MAX_TOKEN_BYTES")]
    pub max_token_bytes: Option<usize>,
    /// Largest total request headers, in bytes [default: 16384].
    #[arg(long, env = "TESSERA_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Request timeout in milliseconds [default: 30000].
    #[arg(long, env = "TESSERA_REQUEST_TIMEOUT_MS")]
    pub request_timeout_ms: Option<u64>,
    /// Milliseconds a client has to send a request's line and headers, also the longest wait for the next request on a kept-alive connection [default: 10000].
    #[arg(long, env = "TESSERA_HEADER_READ_TIMEOUT_MS")]
    pub header_read_timeout_ms: Option<u64>,
    /// Milliseconds a connection may move no byte while no request is handled [default: 60000].
    #[arg(long, env = "TESSERA_IDLE_TIMEOUT_MS")]
    pub idle_timeout_ms: Option<u64>,
    /// Most open client connections; at the cap new ones wait to be accepted; lowered to fit the open-file limit [default: 4096].
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// A peer (CIDR) allowed to read /metrics and /readyz; repeat for more [default: loopback].
    #[arg(long = "ops-peer", env = "TESSERA_OPS_PEERS", value_delimiter = ',')]
    pub ops_peers: Option<Vec<ipnet::IpNet>>,
    /// Serve /healthz, /readyz and /metrics only on this address, not on --listen.
    #[arg(long, env = "TESSERA_OPS_LISTEN")]
    pub ops_listen: Option<std::net::SocketAddr>,
    /// Most open connections on the ops listener [default: 64].
    #[arg(long, env = "TESSERA_OPS_MAX_CONNECTIONS")]
    pub ops_max_connections: Option<usize>,
    /// Authorizer limit: facts [default: 1000].
    #[arg(long, env = "TESSERA_MAX_FACTS")]
    pub max_facts: Option<u64>,
    /// Authorizer limit: iterations [default: 100].
    #[arg(long, env = "TESSERA_MAX_ITERATIONS")]
    pub max_iterations: Option<u64>,
    /// Authorizer limit: milliseconds per run [default: 20].
    #[arg(long, env = "TESSERA_MAX_AUTHORIZER_MS")]
    pub max_authorizer_ms: Option<u64>,
    /// Most authorizer runs at once, on the blocking pool [default: twice the CPUs].
    #[arg(long, env = "TESSERA_MAX_CONCURRENT_AUTHORIZATIONS")]
    pub max_concurrent_authorizations: Option<usize>,
    /// Highest estimated cost of a token's expressions (closures, sets,
    /// strings), checked before any Datalog runs [default: 100000].
    #[arg(long, env = "TESSERA_MAX_EXPRESSION_COST")]
    pub max_expression_cost: Option<u64>,
    /// Verified tokens kept in memory [default: 10000].
    #[arg(long, env = "TESSERA_TOKEN_CACHE_CAPACITY")]
    pub token_cache_capacity: Option<usize>,
    /// Decisions kept in the decision cache [default: 100000].
    #[arg(long, env = "TESSERA_DECISION_CACHE_CAPACITY")]
    pub decision_cache_capacity: Option<usize>,
    /// Milliseconds a cached decision may be served; 0 disables the cache [default: 1000].
    #[arg(long, env = "TESSERA_DECISION_CACHE_MS")]
    pub decision_cache_ms: Option<u64>,
    /// Seconds between public-key refreshes [default: 300].
    #[arg(long, env = "TESSERA_KEY_REFRESH_SECS")]
    pub key_refresh_secs: Option<u64>,
    /// Least seconds between refreshes triggered by unknown key ids [default: 5].
    #[arg(long, env = "TESSERA_KEY_REFRESH_MIN_SECS")]
    pub key_refresh_min_secs: Option<u64>,
    /// One deadline over a whole key fetch from a URL (connect, headers, body), in milliseconds [default: 5000].
    #[arg(long, env = "TESSERA_KEY_FETCH_TIMEOUT_MS")]
    pub key_fetch_timeout_ms: Option<u64>,
    /// Largest key set a --public-keys URL may answer, in bytes [default: 1048576].
    #[arg(long, env = "TESSERA_MAX_KEY_BYTES")]
    pub max_key_bytes: Option<usize>,
    /// Seconds without a successful key refresh before /readyz answers 503 [default: 3 × --key-refresh-secs].
    #[arg(long, env = "TESSERA_MAX_KEY_STALENESS_SECS")]
    pub max_key_staleness_secs: Option<u64>,
    /// Seconds between ledger writes of last-used times [default: 60].
    #[arg(long, env = "TESSERA_LAST_USED_FLUSH_SECS")]
    pub last_used_flush_secs: Option<u64>,
    /// Log JSON lines instead of text.
    #[arg(long, env = "TESSERA_LOG_JSON")]
    pub log_json: bool,
    /// Log filter, e.g. info, debug, tessera=debug [default: info].
    #[arg(long, env = "TESSERA_LOG", default_value = "info")]
    pub log: String,
}

impl ServeArgs {
    /// The configuration: defaults, then the file, then these flags.
    pub fn config(&self) -> Result<GatewayConfig> {
        let mut c = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config {}", path.display()))?;
                GatewayConfig::from_toml(&text)
                    .map_err(|e| anyhow!("config {}: {e}", path.display()))?
            }
            None => GatewayConfig::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    c.$field = v.clone().into();
                }
            )*};
        }
        set!(
            listen,
            public_keys,
            upstream,
            public_url,
            trusted_peers,
            forwarded_uri_header,
            allowed_origins,
            view_page,
            policy,
            routes,
            max_token_bytes,
            max_header_bytes,
            request_timeout_ms,
            header_read_timeout_ms,
            idle_timeout_ms,
            max_connections,
            ops_peers,
            ops_listen,
            ops_max_connections,
            max_facts,
            max_iterations,
            max_authorizer_ms,
            max_concurrent_authorizations,
            token_cache_capacity,
            decision_cache_capacity,
            decision_cache_ms,
            key_refresh_secs,
            key_refresh_min_secs,
            key_fetch_timeout_ms,
            max_key_bytes,
            max_key_staleness_secs,
            last_used_flush_secs
        );
        if let Some(cost) = self.max_expression_cost {
            c.token_limits.max_expression_cost = cost;
        }
        c.insecure_cookies |= self.insecure_cookies;
        self.key_transport.apply(&mut c);
        self.limits.apply(&mut c);
        self.members.apply(&mut c);
        self.fleet.apply(&mut c);
        self.me.apply(&mut c);
        c.log_json |= self.log_json;
        if let Some(bad) = c
            .allowed_origins
            .iter()
            .find(|o| crate::gateway::config::origin_of(o).is_none())
        {
            bail!("allowed origin {bad:?} is not an origin (scheme://host[:port], http or https)");
        }
        Ok(c)
    }
}

/// True when `NO_COLOR` is set to anything but the empty string
/// (no-color.org): the logs then carry no ANSI colour even on a terminal.
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Runs the gateway until it stops.
pub(crate) fn serve(data: DataDir, args: &ServeArgs) -> Result<ExitCode> {
    let config = args.config()?;
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .map_err(|e| anyhow!("--log {:?}: {e}", args.log))?;
    // Requests never wait on stderr; `_log_guard` writes what is left on return.
    let (log_writer, _log_guard) = crate::gateway::log_writer::NonBlocking::new(std::io::stderr())
        .context("cannot start the log writer")?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !no_color();
    if !ansi && !config.log_json {
        // The same bytes as the plain format, without tracing's formatting.
        crate::gateway::access_log::write_directly_to(log_writer.clone());
    }
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(log_writer)
        .with_timer(crate::gateway::log_time::CachedUtcTime);
    if config.log_json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let gateway = Gateway::open(config, data).await?;
        eprintln!("tessera: data directory {}", gateway.data_dir().root().display());
        if let Some(path) = gateway.bootstrap_admin_token() {
            eprintln!(
                "tessera: new keys and store created; an admin token was written to {} (mode 0600): use it as `Authorization: Bearer $(cat {})` on /admin/v1",
                path.display(),
                path.display()
            );
        }
        crate::gateway::serve(gateway).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
