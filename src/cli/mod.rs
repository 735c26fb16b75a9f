//! The `tessera` command line: clap definitions and the glue that reads the
//! clock, the OS RNG and the data directory, then calls the library.
//!
//! Arguments are validated first (clap value parsers build domain values),
//! then the I/O happens (open keys, open the store).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{ArgGroup, Args, Parser, Subcommand};
use rand::rngs::OsRng;

use crate::authorize::{self, Decision, Policy, Request, RunLimits};
use crate::gateway::{Gateway, GatewayConfig};

mod backend;
mod hints;
mod limits;

use crate::keys::{PrivateKeyring, PublicKeyring};
use crate::model::{
    parse_expiry, Id, IssueRequest, LedgerEntry, Operation, Resource, Restriction, TokenKind,
};
use crate::store::datadir::{self, DataDir, DEFAULT_DATA_DIR};
use crate::store::Store;
use crate::text::{json_safe, terminal_safe};
use crate::token::{self, DEFAULT_MAX_TOKEN_BYTES};
pub use backend::ServerArgs;
use backend::{Backend, CheckOptions, Revocation};

/// Tessera: biscuit capability tokens for data workspaces.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about = None)]
pub struct Cli {
    /// Data directory holding keys.toml, public-keys.json and tessera.redb.
    ///
    /// Created by `tessera init`. The private keyring inside it is mode 0600.
    #[arg(long, global = true, env = "TESSERA_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Where store commands go while `tessera serve` runs.
    #[command(flatten)]
    pub server: ServerArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the keyring and the store in the data directory.
    ///
    /// Writes keys.toml (mode 0600, one active Ed25519 root key),
    /// public-keys.json (Biscuit Web Keys) and tessera.redb. Refuses to
    /// replace existing keys without --force.
    Init {
        /// Replace an existing keyring (tokens signed by the old keys stop verifying).
        #[arg(long)]
        force: bool,
    },
    /// Manage root keys: rotate, retire, list, export the public keyring.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Issue a token: guest, API key or admin.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Make a weaker copy of a token, offline, with no key.
    ///
    /// Appends a block of checks: a subset of operations, one view or table,
    /// an earlier expiry, a label. Nothing can be widened.
    Attenuate(AttenuateArgs),
    /// Show what a token says, without any key.
    ///
    /// With --public-keys, also whether its signature verifies and whether
    /// the local store has revoked it. Exit code 1 when it does not verify
    /// or is revoked.
    Inspect(InspectArgs),
    /// Ask "may this token do OP on this resource?", offline.
    ///
    /// Runs exactly the gateway's decision: signature by key id, revocation
    /// set, expiry, containment and view settings, the policy. Exit code 0
    /// allowed, 1 denied, 2 usage or I/O error.
    Check(CheckArgs),
    /// Register or change a view and its settings.
    #[command(subcommand)]
    View(ViewCommand),
    /// Register a table in a workspace.
    #[command(subcommand)]
    Table(TableCommand),
    /// Register a workspace.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Revoke a token and every token attenuated from it.
    Revoke(RevokeArgs),
    /// List issued tokens (the ledger).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Show the audit log.
    Audit {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the gateway: forward-auth, reverse proxy, share links, admin API.
    ///
    /// With no flags it listens on 127.0.0.1:8080 with the data directory's
    /// keys, creating keys, store and a bootstrap admin token on first run.
    /// Every flag has an environment variable; --config reads a TOML file
    /// whose keys are the flag names with underscores.
    Serve(Box<ServeArgs>),
    /// Print a share link for a guest token: {base}/s/{token}.
    Link {
        /// The token: text, @FILE, a file path, or - for stdin.
        token: String,
        /// The gateway's public base URL, e.g. https://share.example.com.
        #[arg(long)]
        base: String,
    },
}

/// `tessera serve …`: each flag overrides the config file, which overrides the defaults.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML config file (keys as below, with underscores).
    #[arg(long, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TESSERA_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Verify only, with this Biscuit Web Keys file or http:// URL (no private key needed).
    #[arg(long, env = "TESSERA_PUBLIC_KEYS")]
    pub public_keys: Option<String>,
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
    /// The request limits of the gateway's front.
    #[command(flatten)]
    pub limits: limits::LimitArgs,
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
        self.limits.apply(&mut c);
        c.insecure_cookies |= self.insecure_cookies;
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

/// `tessera keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new active signing key; older keys keep verifying.
    Rotate,
    /// Stop a key verifying (tokens it signed fail with unknown_key).
    Retire {
        /// The key id to retire.
        id: u32,
    },
    /// List key ids and states.
    List,
    /// Print the public keyring (Biscuit Web Keys JSON); --out also writes it to a file.
    ExportPublic {
        /// Also write the JSON to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Options every issued token takes.
#[derive(Debug, Args)]
pub struct IssueCommon {
    /// When the token stops working: a duration (90d, 12h, 2w) or an RFC 3339 time.
    #[arg(long)]
    pub expires: Option<String>,
    /// A note shown by inspect and the ledger (at most 128 printable
    /// characters; no control, bidi or invisible formatting characters).
    #[arg(long)]
    pub label: Option<String>,
    /// Print JSON {token, token_id, …} instead of the bare token.
    #[arg(long)]
    pub json: bool,
}

/// `tessera issue …`
#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// A guest token: one view, chosen operations.
    Guest {
        /// The workspace the view lives in.
        #[arg(long)]
        workspace: Id,
        /// The view.
        #[arg(long)]
        view: Id,
        /// Operations, comma-separated: read,write,create,delete,export,manage,share.
        #[arg(long, value_parser = Operation::parse_list)]
        allow: BTreeSet<Operation>,
        /// Expiry, label, output.
        #[command(flatten)]
        common: IssueCommon,
    },
    /// An API key: the whole workspace, or one table with --table.
    #[command(group(ArgGroup::new("ops").args(["read_only", "allow"])))]
    ApiKey {
        /// The workspace.
        #[arg(long)]
        workspace: Id,
        /// Limit the key to one table.
        #[arg(long)]
        table: Option<Id>,
        /// Only read.
        #[arg(long)]
        read_only: bool,
        /// Operations, comma-separated (default: everything but share).
        #[arg(long, value_parser = Operation::parse_list)]
        allow: Option<BTreeSet<Operation>>,
        /// Expiry, label, output.
        #[command(flatten)]
        common: IssueCommon,
    },
    /// A token for the gateway's admin API.
    Admin {
        /// Expiry, label, output.
        #[command(flatten)]
        common: IssueCommon,
    },
}

/// `tessera attenuate …`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("where").args(["view", "table"])))]
pub struct AttenuateArgs {
    /// The token: text, @FILE, a file path, or - for stdin.
    pub token: String,
    /// Keep only these operations (comma-separated).
    #[arg(long, value_parser = Operation::parse_list)]
    pub allow: Option<BTreeSet<Operation>>,
    /// Keep only this view.
    #[arg(long)]
    pub view: Option<Id>,
    /// Keep only this table and its views.
    #[arg(long)]
    pub table: Option<Id>,
    /// Expire no later than this: a duration (7d) or an RFC 3339 time.
    #[arg(long)]
    pub expires: Option<String>,
    /// A label for this copy (the same rules as `issue --label`).
    #[arg(long)]
    pub label: Option<String>,
}

/// `tessera inspect …`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token: text, @FILE, a file path, or - for stdin.
    pub token: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Verify the signature against this Biscuit Web Keys file and check the local revocation list.
    #[arg(long)]
    pub public_keys: Option<PathBuf>,
}

/// `tessera check …`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("resource").required(true).args(["view", "table", "workspace"])))]
pub struct CheckArgs {
    /// The token: text, @FILE, a file path, or - for stdin. Omit it to ask as
    /// an anonymous visitor (public views).
    pub token: Option<String>,
    /// The operation: read, write, create, delete, export, manage or share.
    #[arg(long)]
    pub op: Operation,
    /// The view asked about.
    #[arg(long)]
    pub view: Option<Id>,
    /// The table asked about.
    #[arg(long)]
    pub table: Option<Id>,
    /// The workspace asked about.
    #[arg(long)]
    pub workspace: Option<Id>,
    /// Show the facts given and which check or policy decided.
    #[arg(long)]
    pub explain: bool,
    /// Print the decision as JSON.
    #[arg(long)]
    pub json: bool,
    /// Use this Datalog policy instead of the embedded default.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Verify against this Biscuit Web Keys file instead of the data directory's keys.
    #[arg(long)]
    pub public_keys: Option<PathBuf>,
    /// Decide as of this RFC 3339 time instead of now ("will it still work on Friday?").
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is not an RFC 3339 time such as 2027-02-22T00:00:00Z"))
}

/// The settings flags of `view set`.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Rows may be edited or deleted (write, delete).
    #[arg(long)]
    pub editable: Option<bool>,
    /// Rows may be added (create).
    #[arg(long)]
    pub addable: Option<bool>,
    /// Data may be exported (export).
    #[arg(long)]
    pub exportable: Option<bool>,
    /// Anyone may read the view without a token (never write).
    #[arg(long)]
    pub public: Option<bool>,
    /// Nobody may change the view's configuration (manage).
    #[arg(long)]
    pub locked: Option<bool>,
}

impl SettingsArgs {
    fn changes(&self) -> Vec<(&'static str, bool)> {
        [
            ("editable", self.editable),
            ("addable", self.addable),
            ("exportable", self.exportable),
            ("public", self.public),
            ("locked", self.locked),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect()
    }
}

/// `tessera view …`
#[derive(Debug, Subcommand)]
pub enum ViewCommand {
    /// Register a view (with --table and --workspace) or change its settings.
    #[command(group(ArgGroup::new("placement").args(["table"]).requires("workspace")))]
    Set {
        /// The view.
        view: Id,
        /// The table it shows (required for a new view).
        #[arg(long)]
        table: Option<Id>,
        /// The table's workspace.
        #[arg(long, requires = "table")]
        workspace: Option<Id>,
        /// The settings to change.
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Show a view: its table, workspace and settings.
    Show {
        /// The view.
        view: Id,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tessera table …`
#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Register a table in a workspace.
    Set {
        /// The table.
        table: Id,
        /// Its workspace.
        #[arg(long)]
        workspace: Id,
    },
}

/// `tessera workspace …`
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Register a workspace.
    Set {
        /// The workspace.
        workspace: Id,
    },
}

/// `tessera revoke …`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["token_id", "token", "revocation_id", "view"])))]
pub struct RevokeArgs {
    /// A token id from the ledger (tk_…): revokes it and every copy attenuated from it.
    pub token_id: Option<String>,
    /// A token (text, @FILE, path or -): revokes that exact token and its attenuations, not its parent.
    #[arg(long)]
    pub token: Option<String>,
    /// A revocation id (hex), as `inspect` shows it.
    #[arg(long)]
    pub revocation_id: Option<String>,
    /// Every token issued for this view ("kill all links for this view").
    #[arg(long)]
    pub view: Option<Id>,
    /// Why, for the audit log.
    #[arg(long)]
    pub reason: Option<String>,
}

/// `tessera tokens …`
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List the ledger: active, expired and revoked tokens.
    List {
        /// Only tokens bound to this workspace.
        #[arg(long)]
        workspace: Option<Id>,
        /// Only tokens with rights on this view.
        #[arg(long)]
        view: Option<Id>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the parsed command; `Ok(code)` is the exit code for a command that
/// ran (check's allowed/denied), `Err` is a usage or I/O error.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let data = DataDir::new(&cli.data_dir);
    let now = Utc::now();
    let backend = || Backend::open(&data, &cli.server);
    match cli.command {
        Command::Init { force } => init(&data, force, now),
        Command::Keys(cmd) => keys(&data, cmd, now),
        Command::Issue(cmd) => issue(&backend()?, cmd, now),
        Command::Attenuate(args) => attenuate(args, now),
        Command::Inspect(args) => inspect(&data, args, now),
        Command::Check(args) => check(&backend()?, args, now),
        Command::View(cmd) => view(&backend()?, cmd, now),
        Command::Table(TableCommand::Set { table, workspace }) => {
            backend()?.set_table(&table, &workspace, now)?;
            println!("table {table} registered in workspace {workspace}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Workspace(WorkspaceCommand::Set { workspace }) => {
            backend()?.set_workspace(&workspace, now)?;
            println!("workspace {workspace} registered");
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke(args) => revoke(&backend()?, args, now),
        Command::Tokens(TokensCommand::List {
            workspace,
            view,
            json,
        }) => tokens_list(&backend()?, workspace, view, json, now),
        Command::Audit { json } => audit(&backend()?, json),
        Command::Serve(args) => serve(data.clone(), &args),
        Command::Link { token, base } => {
            let token = read_token(&token)?;
            token::decode(&token, DEFAULT_MAX_TOKEN_BYTES)?;
            println!(
                "{}",
                crate::link::share_link(&base, &token, DEFAULT_MAX_TOKEN_BYTES)?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(data: DataDir, args: &ServeArgs) -> Result<ExitCode> {
    let config = args.config()?;
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .map_err(|e| anyhow!("--log {:?}: {e}", args.log))?;
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
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

fn open_store(data: &DataDir) -> Result<Store> {
    Ok(Store::open(&data.store_path())?)
}

/// Reads a token argument: `-` is stdin, `@FILE` or an existing file path is
/// a file, anything else is the token text.
fn read_token(arg: &str) -> Result<String> {
    let text = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .take(1 << 20)
            .read_to_string(&mut s)
            .context("cannot read the token from stdin")?;
        s
    } else if let Some(path) = arg.strip_prefix('@') {
        read_token_file(Path::new(path))?
    } else if !arg.starts_with(token::TOKEN_PREFIX) && Path::new(arg).is_file() {
        read_token_file(Path::new(arg))?
    } else {
        arg.to_owned()
    };
    let text = text.trim().to_owned();
    if text.is_empty() {
        bail!("no token given (empty input)");
    }
    Ok(text)
}

fn read_token_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read token file {}", path.display()))
}

fn parse_expires(s: &Option<String>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    Ok(s.as_deref().map(|s| parse_expiry(s, now)).transpose()?)
}

/// JSON for stdout, pretty or one line. Text from a token or the store may
/// hold any character: serde_json escapes C0 controls, and [`json_safe`]
/// escapes the rest (DEL, C1, bidirectional and invisible formatting
/// characters) as `\uXXXX`, so the value is the same and a terminal shows
/// nothing raw.
fn json_text(value: &impl serde::Serialize, pretty: bool) -> Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    Ok(json_safe(&text).into_owned())
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn init(data: &DataDir, force: bool, now: DateTime<Utc>) -> Result<ExitCode> {
    if data.has_keyring() && !force {
        bail!(
            "{} already exists; pass --force to replace it (tokens signed by the old keys will stop verifying)",
            data.keyring_path().display()
        );
    }
    data.create()?;
    let ring = PrivateKeyring::generate_with_rng(&mut OsRng, now);
    data.write_keyring(&ring, force)?;
    let store = Store::create(&data.store_path())?;
    let change = crate::change::Change::KeysInitialised {
        key: crate::change::PublicKeyPart::of(ring.active()),
    };
    store.apply(&change, &crate::change::Actor::Cli, now)?;
    println!("initialised {}", data.root().display());
    println!(
        "  private keyring  {} (mode 0600, active key id {})",
        data.keyring_path().display(),
        ring.active().id()
    );
    println!(
        "  public keyring   {}",
        data.public_keyring_path().display()
    );
    println!("  store            {}", data.store_path().display());
    Ok(ExitCode::SUCCESS)
}

fn keys(data: &DataDir, cmd: KeysCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    let mut ring = data.read_keyring()?;
    // Changes are audited: open the store before writing keys, so a store held
    // by `tessera serve` stops the command before anything changes.
    let store = match cmd {
        KeysCommand::Rotate | KeysCommand::Retire { .. } => Some(open_store(data)?),
        KeysCommand::List | KeysCommand::ExportPublic { .. } => None,
    };
    match cmd {
        KeysCommand::Rotate => {
            let id = ring.rotate_with_rng(&mut OsRng, now);
            data.write_keyring(&ring, true)?;
            if let Some(store) = &store {
                let change = crate::change::Change::KeyRotated {
                    key: crate::change::PublicKeyPart::of(ring.active()),
                };
                store.apply(&change, &crate::change::Actor::Cli, now)?;
            }
            println!("rotated: key {id} now signs; older keys keep verifying until retired");
        }
        KeysCommand::Retire { id } => {
            ring.retire(id)?;
            data.write_keyring(&ring, true)?;
            if let Some(store) = &store {
                let change = crate::change::Change::KeyRetired { key_id: id };
                store.apply(&change, &crate::change::Actor::Cli, now)?;
            }
            println!("retired key {id}: tokens it signed no longer verify");
        }
        KeysCommand::List => {
            println!("{:<12} {:<10} CREATED", "ID", "STATE");
            for k in ring.keys() {
                let state = serde_json::to_value(k.state())?;
                println!(
                    "{:<12} {:<10} {}",
                    k.id(),
                    state.as_str().unwrap_or_default(),
                    fmt_time(k.created())
                );
            }
        }
        KeysCommand::ExportPublic { out } => {
            let json = ring.public().to_bwk_json();
            if let Some(path) = out {
                std::fs::write(&path, format!("{json}\n"))
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!("{json}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn issue(backend: &Backend, cmd: IssueCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    let (mut request, common) = match cmd {
        IssueCommand::Guest {
            workspace,
            view,
            allow,
            common,
        } => (
            IssueRequest {
                view: Some(view),
                allow: Some(allow),
                ..IssueRequest::new(TokenKind::Guest, Some(workspace))
            },
            common,
        ),
        IssueCommand::ApiKey {
            workspace,
            table,
            read_only,
            allow,
            common,
        } => (
            IssueRequest {
                table,
                allow,
                read_only,
                ..IssueRequest::new(TokenKind::ApiKey, Some(workspace))
            },
            common,
        ),
        IssueCommand::Admin { common } => (IssueRequest::new(TokenKind::Admin, None), common),
    };
    request.expires_at = parse_expires(&common.expires, now)?;
    request.label = common.label.clone();
    let (token, entry) = backend.issue(&request, now)?;
    if common.json {
        let mut v = serde_json::to_value(&entry)?;
        v["token"] = serde_json::Value::String(token.expose().to_owned());
        println!("{}", json_text(&v, true)?);
    } else {
        println!("{}", token.expose());
        eprintln!(
            "issued {} token {} ({}){}",
            entry.kind,
            entry.token_id,
            describe_rights(&entry),
            entry
                .expires_at
                .map(|t| format!(", expires {}", fmt_time(t)))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_rights(entry: &LedgerEntry) -> String {
    match &entry.scope {
        Some(scope) => format!(
            "{scope}: {}",
            entry
                .rights
                .iter()
                .map(|r| r.operation.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        None if entry.rights.is_empty() => "admin API".into(),
        None => entry
            .rights
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn attenuate(args: AttenuateArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let token = read_token(&args.token)?;
    let restriction = Restriction {
        operations: args.allow,
        resource: args
            .view
            .map(Resource::view)
            .or(args.table.map(Resource::table)),
        expires_at: parse_expires(&args.expires, now)?,
        label: args.label,
    };
    if restriction.is_empty() {
        bail!("nothing to narrow: give --allow, --view, --table, --expires or --label");
    }
    let child = token::attenuate_with_rng(
        &token,
        &restriction,
        now,
        DEFAULT_MAX_TOKEN_BYTES,
        &mut OsRng,
    )?;
    println!("{}", child.expose());
    Ok(ExitCode::SUCCESS)
}

fn inspect(data: &DataDir, args: InspectArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let text = read_token(&args.token)?;
    let unverified = token::decode(&text, DEFAULT_MAX_TOKEN_BYTES)?;
    let description = token::describe(&unverified)?;
    let verification = match &args.public_keys {
        None => None,
        Some(path) => {
            let ring = datadir::read_public_keyring(path, now)?;
            let signature =
                token::verify_with_limits(unverified, &ring, &token::TokenLimits::unlimited());
            let revoked = match Store::open(&data.store_path()) {
                Ok(store) => {
                    let set = store.revocations()?;
                    Some(
                        description
                            .revocation_ids
                            .iter()
                            .filter_map(|h| hex::decode(h).ok())
                            .any(|id| set.contains(&id)),
                    )
                }
                Err(crate::store::StoreError::Missing(_) | crate::store::StoreError::Locked(_)) => {
                    None
                }
                Err(e) => return Err(e.into()),
            };
            Some((signature.err(), revoked))
        }
    };
    let ok = verification
        .as_ref()
        .is_none_or(|(err, revoked)| err.is_none() && *revoked != Some(true));
    if args.json {
        let mut v = serde_json::to_value(&description)?;
        if let Some((err, revoked)) = &verification {
            v["signature"] = serde_json::json!(match err {
                None => "valid".to_owned(),
                Some(e) => authorize::Reason::from(e).code().to_owned(),
            });
            v["revoked"] = serde_json::json!(revoked);
        }
        println!("{}", json_text(&v, true)?);
    } else {
        // Everything below but the times, ids and flags was written by
        // whoever made the token: shown through `terminal_safe`.
        let c = &description.claims;
        let or_dash = |o: &Option<String>| {
            o.as_deref()
                .map_or_else(|| "-".to_owned(), |s| terminal_safe(s).into_owned())
        };
        println!("token_id      {}", or_dash(&c.token_id));
        println!("kind          {}", or_dash(&c.kind));
        println!("workspace     {}", or_dash(&c.workspace));
        let rights: Vec<String> = c
            .rights
            .iter()
            .map(|r| terminal_safe(&format!("{}:{}:{}", r.kind, r.id, r.operation)).into_owned())
            .collect();
        println!(
            "rights        {}",
            if rights.is_empty() {
                "-".into()
            } else {
                rights.join(" ")
            }
        );
        println!(
            "expires       {}",
            c.expires_at.map(fmt_time).unwrap_or_else(|| "never".into())
        );
        println!(
            "labels        {}",
            if c.labels.is_empty() {
                "-".into()
            } else {
                terminal_safe(&c.labels.join(" | ")).into_owned()
            }
        );
        println!(
            "root key id   {}",
            description
                .root_key_id
                .map(|i| i.to_string())
                .unwrap_or_else(|| "-".into())
        );
        if let Some((err, revoked)) = &verification {
            println!(
                "signature     {}",
                match err {
                    None => "valid".to_owned(),
                    Some(e) => terminal_safe(&format!(
                        "INVALID ({}: {e})",
                        authorize::Reason::from(e).code()
                    ))
                    .into_owned(),
                }
            );
            println!(
                "revoked       {}",
                match revoked {
                    Some(true) => "YES",
                    Some(false) => "no",
                    None => "unknown (no local store)",
                }
            );
        }
        for b in &description.blocks {
            println!();
            println!(
                "block {}{}  revocation id {}",
                b.index,
                if b.index == 0 { " (authority)" } else { "" },
                b.revocation_id
            );
            if let Some(ctx) = &b.context {
                println!("  // label: {}", terminal_safe(ctx));
            }
            for line in b.facts.iter().chain(&b.rules).chain(&b.checks) {
                println!("  {};", terminal_safe(line));
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check(backend: &Backend, args: CheckArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let resource = match (&args.view, &args.table, &args.workspace) {
        (Some(v), _, _) => Resource::view(v.clone()),
        (_, Some(t), _) => Resource::table(t.clone()),
        (_, _, Some(w)) => Resource::workspace(w.clone()),
        _ => bail!("name the resource with --view, --table or --workspace"),
    };
    let request = Request {
        operation: args.op,
        resource,
    };
    let token = args.token.as_deref().map(read_token).transpose()?;
    let policy = match &args.policy {
        Some(path) => {
            let source = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read policy {}", path.display()))?;
            Some(
                Policy::from_source(&source, RunLimits::default())
                    .with_context(|| format!("policy {}", path.display()))?,
            )
        }
        None => None,
    };
    let at = args.at.unwrap_or(now);
    let public_keys = args
        .public_keys
        .as_deref()
        .map(|p| datadir::read_public_keyring(p, at))
        .transpose()?;
    let decision = backend.decide(
        token.as_deref(),
        &request,
        CheckOptions {
            at,
            explain: args.explain,
            policy,
            public_keys,
        },
    )?;
    print_decision(&decision, &request, args.explain, args.json)?;
    Ok(if decision.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The data directory's verifying keys: from the private keyring when
/// present, else from its public keyring.
pub(crate) fn local_public_keyring(data: &DataDir, now: DateTime<Utc>) -> Result<PublicKeyring> {
    if data.keyring_path().exists() {
        return Ok(data.read_keyring()?.public());
    }
    Ok(datadir::read_public_keyring(
        &data.public_keyring_path(),
        now,
    )?)
}

fn print_decision(decision: &Decision, request: &Request, explain: bool, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut v = serde_json::to_value(decision)?;
        if !explain {
            if let Some(o) = v.as_object_mut() {
                o.remove("explanation");
            }
        }
        writeln!(out, "{}", json_text(&v, true)?)?;
        return Ok(());
    }
    match decision.reason {
        None => writeln!(
            out,
            "allowed: {} on {}",
            request.operation, request.resource
        )?,
        Some(reason) => writeln!(out, "denied: {} ({})", reason.code(), reason.message())?,
    }
    if explain {
        // Failed checks are the token's own text; policies may be a file's.
        let e = &decision.explanation;
        writeln!(out, "facts given:")?;
        for f in &e.facts {
            writeln!(out, "  {};", terminal_safe(f))?;
        }
        if let Some(p) = &e.policy {
            writeln!(out, "decided by policy:\n  {};", terminal_safe(p))?;
        }
        if !e.failed_checks.is_empty() {
            writeln!(out, "failed checks:")?;
            for c in &e.failed_checks {
                writeln!(out, "  {}", terminal_safe(c))?;
            }
        }
        if e.policy.is_none() && e.failed_checks.is_empty() {
            writeln!(out, "decided before Datalog ran")?;
        }
    }
    Ok(())
}

fn view(backend: &Backend, cmd: ViewCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    let (view, info, json) = match cmd {
        ViewCommand::Set {
            view,
            table,
            workspace,
            settings,
        } => {
            let placement = table.as_ref().zip(workspace.as_ref());
            let info = backend.set_view(&view, placement, &settings.changes(), now)?;
            (view, info, false)
        }
        ViewCommand::Show { view, json } => {
            let info = backend.view(&view)?;
            (view, info, json)
        }
    };
    if json {
        println!(
            "{}",
            json_text(
                &serde_json::json!({
                    "view": view,
                    "table": info.table,
                    "workspace": info.workspace,
                    "settings": info.settings,
                }),
                true
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("view        {view}");
    println!("table       {}", info.table);
    println!(
        "workspace   {}",
        info.workspace.as_ref().map(Id::as_str).unwrap_or("-")
    );
    for (name, value) in info.settings.entries() {
        println!("{name:<11} {value}");
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke(backend: &Backend, args: RevokeArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let what = if let Some(id) = &args.token_id {
        Revocation::TokenId(id.clone())
    } else if let Some(t) = &args.token {
        let text = read_token(t)?;
        let ids = token::decode(&text, DEFAULT_MAX_TOKEN_BYTES)?.revocation_identifiers();
        let last = ids
            .last()
            .cloned()
            .ok_or_else(|| anyhow!("token has no blocks"))?;
        Revocation::Ids(vec![last])
    } else if let Some(h) = &args.revocation_id {
        let id = hex::decode(h.trim())
            .map_err(|_| anyhow!("--revocation-id must be hex, as `tessera inspect` prints it"))?;
        if id.is_empty() {
            bail!("--revocation-id is empty");
        }
        Revocation::Ids(vec![id])
    } else if let Some(v) = &args.view {
        Revocation::View(v.clone())
    } else {
        bail!("say what to revoke: TOKEN_ID, --token, --revocation-id or --view");
    };
    let revoked = backend.revoke(what, args.reason.as_deref(), now)?;
    println!(
        "revoked {} revocation id(s){}",
        revoked.revocation_ids.len(),
        if revoked.token_ids.is_empty() {
            String::new()
        } else {
            format!(
                "; tokens: {}",
                revoked
                    .token_ids
                    .iter()
                    .map(Id::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn tokens_list(
    backend: &Backend,
    workspace: Option<Id>,
    view: Option<Id>,
    json: bool,
    now: DateTime<Utc>,
) -> Result<ExitCode> {
    let entries: Vec<LedgerEntry> = backend
        .ledger()?
        .into_iter()
        .filter(|e| workspace.is_none() || e.workspace == workspace)
        .filter(|e| view.as_ref().is_none_or(|v| e.is_for_view(v)))
        .collect();
    if json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["state"] = serde_json::json!(e.state(now));
                v
            })
            .collect();
        println!("{}", json_text(&rows, true)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<20} {:<8} {:<8} {:<12} {:<20} {:<28} LABEL",
        "TOKEN_ID", "KIND", "STATE", "WORKSPACE", "EXPIRES", "RIGHTS"
    );
    for e in &entries {
        println!(
            "{:<20} {:<8} {:<8} {:<12} {:<20} {:<28} {}",
            e.token_id,
            e.kind,
            e.state(now),
            e.workspace.as_ref().map(Id::as_str).unwrap_or("-"),
            e.expires_at.map(fmt_time).unwrap_or_else(|| "never".into()),
            describe_rights(e),
            terminal_safe(e.label.as_deref().unwrap_or(""))
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn audit(backend: &Backend, json: bool) -> Result<ExitCode> {
    for e in backend.audit()? {
        if json {
            println!("{}", json_text(&e, false)?);
        } else {
            // A revocation's reason is free text, from the CLI or the admin API.
            println!(
                "{:>5}  {}  {:<17} {:<20} {}",
                e.seq,
                fmt_time(e.at),
                terminal_safe(&e.event),
                e.token_id.as_ref().map(Id::as_str).unwrap_or("-"),
                terminal_safe(&e.detail)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
