//! `tessera issue …`, `tessera attenuate` and `tessera link`: making tokens,
//! weaker copies of them, and share links for them.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand};
use rand::rngs::OsRng;
use serde::Serialize;

use crate::model::{
    expiry_in_days, parse_until, Id, IssueRequest, LedgerEntry, Operation, Preset, PresetError,
    Resource, Restriction, TokenKind,
};
use crate::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use super::backend::Backend;
use super::input::{parse_expires, TokenArg};
use super::output::{describe_rights, fmt_time, print};

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
    /// A member token: who (the user), never what; roles, groups and table
    /// access are read from the registry at each decision.
    Member {
        /// The (registered) user.
        #[arg(long)]
        user: Id,
        /// When the token stops working: a duration (12h, 30m) or an RFC 3339
        /// time [default: 12h; through --server, the gateway's --member-token-ttl].
        #[arg(long)]
        expires: Option<String>,
        /// Print JSON {token, token_id, expires_at} instead of the bare token.
        #[arg(long)]
        json: bool,
    },
}

/// `tessera attenuate …`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("where").args(["view", "table"])))]
#[command(group(ArgGroup::new("preset_expiry").args(["days", "until", "expires"])))]
pub struct AttenuateArgs {
    /// The token: text, @FILE, a file path, or - for stdin.
    #[arg(required_unless_present = "explain_preset")]
    pub token: Option<TokenArg>,
    /// A named restriction: contractor (read, write, create; needs --days
    /// or --until), reviewer (read), auditor (read, export; needs --days or
    /// --until). With --allow, the operations are the intersection.
    #[arg(long, value_parser = parse_preset)]
    pub preset: Option<Preset>,
    /// Expire this many days from now (1 to 3650).
    #[arg(long)]
    pub days: Option<u32>,
    /// Expire at the end of this day UTC (2027-01-31) or at an RFC 3339 time.
    #[arg(long, value_parser = parse_until_arg)]
    pub until: Option<DateTime<Utc>>,
    /// Print the Datalog block a preset appends, without a token.
    #[arg(long, value_parser = parse_preset, conflicts_with_all = ["token", "preset"])]
    pub explain_preset: Option<Preset>,
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
    /// Print JSON {token, preset, operations, resource, expires_at, label}
    /// instead of the bare token (with --explain-preset: {preset, block}).
    #[arg(long)]
    pub json: bool,
}

/// What `attenuate --json` prints: the weaker copy in `token` (and nowhere
/// else) and what it narrowed, named as the admin API's attenuation answer
/// names them.
#[derive(Serialize)]
struct Attenuated<'a> {
    /// The weaker copy.
    token: &'a str,
    /// The preset applied, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    preset: Option<&'static str>,
    /// The operations kept, when narrowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    operations: Option<&'a BTreeSet<Operation>>,
    /// The view or table kept, when narrowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a Resource>,
    /// The expiry the copy checks, when narrowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
    /// The copy's label, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
}

/// What `issue guest|api-key|admin --json` prints: the ledger entry, and
/// the token in `token`.
#[derive(Serialize)]
struct Issued<'a> {
    /// The ledger entry.
    #[serde(flatten)]
    entry: &'a LedgerEntry,
    /// The token.
    token: &'a str,
}

/// What `link --json` prints: the link, and the token it carries.
#[derive(Serialize)]
struct Link<'a> {
    /// `{base}/s/{token}`.
    link: &'a str,
    /// The token.
    token: &'a str,
}

/// Issues a token and prints it (stdout) and what it allows (stderr).
pub(crate) fn issue(backend: &Backend, cmd: IssueCommand, now: DateTime<Utc>) -> Result<ExitCode> {
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
        IssueCommand::Member {
            user,
            expires,
            json,
        } => return member(backend, &user, expires, json, now),
    };
    request.expires_at = parse_expires(&common.expires, now)?;
    request.label = common.label.clone();
    let (token, entry) = backend.issue(&request, now)?;
    let issued = Issued {
        entry: &entry,
        token: token.expose(),
    };
    print(common.json, &issued, |issued| {
        println!("{}", issued.token);
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
    })
}

/// Issues a member token and prints it (stdout) and what it is (stderr).
fn member(
    backend: &Backend,
    user: &Id,
    expires: Option<String>,
    json: bool,
    now: DateTime<Utc>,
) -> Result<ExitCode> {
    let issued = backend.issue_member(user, expires, now)?;
    print(json, &issued, |issued| {
        println!("{}", issued.token);
        eprintln!(
            "issued member token {} for user {user}{}",
            issued.token_id,
            issued
                .expires_at
                .map(|t| format!(", expires {}", fmt_time(t)))
                .unwrap_or_default()
        );
    })
}

fn parse_preset(s: &str) -> Result<Preset, String> {
    s.parse().map_err(|e: PresetError| e.to_string())
}

fn parse_until_arg(s: &str) -> Result<DateTime<Utc>, String> {
    parse_until(s).map_err(|e| e.to_string())
}

/// Prints a weaker copy of a token.
pub(crate) fn attenuate(args: AttenuateArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    if let Some(preset) = args.explain_preset {
        let explained = serde_json::json!({"preset": preset.as_str(), "block": preset.describe()});
        return print(args.json, &explained, |_| print!("{}", preset.describe()));
    }
    let Some(token) = &args.token else {
        bail!("give the token to attenuate: text, @FILE, a path or -");
    };
    let token = token.read()?;
    let days = args.days.map(|d| expiry_in_days(d, now)).transpose()?;
    let expires_at = days.or(args.until).or(parse_expires(&args.expires, now)?);
    let (operations, expires_at) = match args.preset {
        Some(preset) => {
            let r = preset.restriction(now, expires_at, args.allow.as_ref())?;
            (r.operations, r.expires_at)
        }
        None => (args.allow, expires_at),
    };
    let restriction = Restriction {
        operations,
        resource: args
            .view
            .map(Resource::view)
            .or(args.table.map(Resource::table)),
        expires_at,
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
    let attenuated = Attenuated {
        token: child.expose(),
        preset: args.preset.map(Preset::as_str),
        operations: restriction.operations.as_ref(),
        resource: restriction.resource.as_ref(),
        expires_at: restriction.expires_at,
        label: restriction.label.as_deref(),
    };
    print(args.json, &attenuated, |a| println!("{}", a.token))
}

/// Prints a share link for a token.
pub(crate) fn link(token: &TokenArg, base: &str, json: bool) -> Result<ExitCode> {
    let token = token.read()?;
    token::decode(&token, DEFAULT_MAX_TOKEN_BYTES)?;
    let link = zeroize::Zeroizing::new(crate::link::share_link(
        base,
        &token,
        DEFAULT_MAX_TOKEN_BYTES,
    )?);
    let shown = Link {
        link: &link,
        token: &token,
    };
    print(json, &shown, |l| println!("{}", l.link))
}
