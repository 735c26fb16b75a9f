//! The `tessera` command line: clap definitions and the glue that reads the
//! clock, the OS RNG and the data directory, then calls the library.
//!
//! Arguments are validated first (clap value parsers build domain values),
//! then the I/O happens (open keys, open the store).
//!
//! One file per command family; this one holds the top level (`Cli`,
//! `Command`) and the dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use chrono::Utc;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::store::datadir::{DataDir, DEFAULT_DATA_DIR};

mod backend;
mod check;
mod completions;
mod export;
mod failure;
mod fleet;
mod hints;
mod input;
mod inspect;
mod issue;
mod keys;
mod ledger;
mod limits;
mod me_flags;
mod member_flags;
mod output;
mod people;
mod people_backend;
mod policy;
mod policy_test;
mod projects;
mod registry;
mod revoke;
mod serve;
mod share;
pub mod transport;

use backend::Backend;
pub use backend::ServerArgs;
pub use check::CheckArgs;
pub use completions::Shell;
pub use export::ExportArgs;
pub use failure::{report as report_error, usage as usage_error};
pub use input::TokenArg;
pub use inspect::InspectArgs;
pub use issue::{AttenuateArgs, IssueCommand, IssueCommon};
pub use keys::KeysCommand;
pub use ledger::TokensCommand;
pub use people::{GroupCommand, MemberCommand, TableAccessArgs, TablePermissionsArgs, UserCommand};
pub use policy::PolicyCommand;
pub use registry::{SettingsArgs, TableCommand, ViewCommand, WorkspaceCommand};
pub use revoke::RevokeArgs;
pub use serve::ServeArgs;
pub use share::ShareArgs;

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
        /// Print JSON (`data_dir`, `private_keyring`, `public_keyring`,
        /// `store`, `active_key_id`) instead of the summary.
        #[arg(long)]
        json: bool,
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
    /// Print a token (or its root public key) in the forms other biscuit tools read.
    Export(ExportArgs),
    /// Register or change a view and its settings.
    #[command(subcommand)]
    View(ViewCommand),
    /// Register a table in a workspace.
    #[command(subcommand)]
    Table(TableCommand),
    /// Register a workspace.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Register or remove users (the people member tokens name).
    #[command(subcommand)]
    User(UserCommand),
    /// A workspace's members and their roles.
    #[command(subcommand)]
    Member(MemberCommand),
    /// A workspace's groups and their members.
    #[command(subcommand)]
    Group(GroupCommand),
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
    /// Share a view with a guest ("Share with Guest"), or embed it with --embed.
    ///
    /// Prints the link. Permissions: --preset read-only (default), editor or
    /// auditor, or --allow; an optional --expires and --label. Through
    /// --server with a member token, the link is that member's: it works
    /// while the member holds share and its operations on the view.
    Share(ShareArgs),
    /// Print a share link for a guest token: {base}/s/{token}.
    Link {
        /// The token: text, @FILE, a file path, or - for stdin.
        token: TokenArg,
        /// The gateway's public base URL, e.g. https://share.example.com.
        #[arg(long)]
        base: String,
        /// Print JSON {link, token} instead of the link.
        #[arg(long)]
        json: bool,
    },
    /// Check a policy and a route table: `tessera policy lint`, `tessera policy test`.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print the admin API's OpenAPI 3.1 document (no server needed).
    Openapi,
    /// Print a shell completion script: bash, zsh or fish.
    Completions {
        /// The shell.
        shell: completions::Shell,
    },
    /// Print the man page (roff): `tessera man > tessera.1`.
    Man,
}

/// Parses the command line: the command, and whether it asked for `--json`
/// (then its errors are JSON too). A `clap::Error` is a usage error (or
/// help, or the version) for [`usage_error`].
pub fn parse() -> Result<(Cli, bool), clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    let mut leaf = &matches;
    while let Some((_, sub)) = leaf.subcommand() {
        leaf = sub;
    }
    // `--json` is a flag with the id `json` on every command that prints
    // data (`table permissions --json FILE` is an input, id `file`).
    let json = matches!(leaf.try_get_one::<bool>("json"), Ok(Some(true)));
    Ok((cli, json))
}

/// Runs the parsed command; `Ok(code)` is the exit code for a command that
/// ran (check's allowed/denied), `Err` is a usage or I/O error.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let data = DataDir::new(&cli.data_dir);
    let now = Utc::now();
    let backend = || Backend::open(&data, &cli.server);
    match cli.command {
        Command::Init { force, json } => keys::init(&data, force, json, now),
        Command::Keys(cmd) => keys::keys(&data, cmd, now),
        Command::Issue(cmd) => issue::issue(&backend()?, cmd, now),
        Command::Attenuate(args) => issue::attenuate(args, now),
        Command::Inspect(args) => inspect::inspect(&data, args, now),
        Command::Check(args) => check::check(&backend()?, args, now),
        Command::Export(args) => export::export(&data, args, now),
        Command::View(cmd) => registry::view(&backend()?, cmd, now),
        Command::Table(cmd) => registry::table(&backend()?, cmd, now),
        Command::Workspace(cmd) => registry::workspace(&backend()?, cmd, now),
        Command::User(cmd) => people::user(&backend()?, cmd, now),
        Command::Member(cmd) => people::member(&backend()?, cmd, now),
        Command::Group(cmd) => people::group(&backend()?, cmd, now),
        Command::Revoke(args) => revoke::revoke(&backend()?, args, now),
        Command::Tokens(cmd) => ledger::tokens(&backend()?, cmd, now),
        Command::Audit { json } => ledger::audit(&backend()?, json),
        Command::Serve(args) => serve::serve(data.clone(), &args),
        Command::Link { token, base, json } => issue::link(&token, &base, json),
        Command::Share(args) => share::share(&backend()?, args, now),
        Command::Policy(cmd) => policy::policy(cmd),
        Command::Openapi => completions::openapi(),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man => completions::man(),
    }
}
