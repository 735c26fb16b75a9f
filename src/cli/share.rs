//! `tessera share VIEW`: a guest link for one view ("Share with Guest"),
//! or with `--embed MODE` a link for a page, and `--list` the view's
//! active links. Through `--server` it is the admin API's
//! `POST /views/{view}/shares` (or `…/embeds`) with the `--server` token —
//! a member token makes a link recorded as that member's; on the local
//! store the operator makes it.

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use rand::rngs::OsRng;

use crate::api::shares::{expiry_and_label, made_by};
use crate::api::{EmbedBody, ShareBody, ShareList, ShareRow, SharedLink};
use crate::model::{EmbedMode, Grant, Id, Operation, Resource};
use crate::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use super::backend::Backend;
use super::hints;
use super::output::{fmt_time, print};

/// Where a local share link points when `--base` is not given: `tessera
/// serve`'s default listen address.
const DEFAULT_LOCAL_BASE: &str = "http://127.0.0.1:8080";

/// `tessera share VIEW …`
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// The view to share.
    pub view: Id,
    /// The guest's permissions by name: read-only (default), editor (read,
    /// write, create) or auditor (read, export).
    #[arg(long, conflicts_with_all = ["allow", "embed"])]
    pub preset: Option<String>,
    /// The guest's operations, comma-separated, instead of a preset.
    #[arg(long, conflicts_with = "embed")]
    pub allow: Option<String>,
    /// A read-only link for a page instead: public, filtered or interactive.
    #[arg(long)]
    pub embed: Option<String>,
    /// When the link stops working: a duration (7d, 12h) or an RFC 3339 time.
    #[arg(long)]
    pub expires: Option<String>,
    /// A label the view's list shows (who it is for).
    #[arg(long)]
    pub label: Option<String>,
    /// The gateway's public base URL for the link (local store only;
    /// through --server the gateway's own) [default: http://127.0.0.1:8080].
    #[arg(long)]
    pub base: Option<String>,
    /// List the view's active links instead of making one.
    #[arg(long, conflicts_with_all = ["preset", "allow", "embed", "expires", "label"])]
    pub list: bool,
    /// Print JSON instead of the link.
    #[arg(long)]
    pub json: bool,
}

impl ShareArgs {
    fn share_body(&self) -> ShareBody {
        ShareBody {
            preset: self.preset.clone(),
            allow: self
                .allow
                .as_ref()
                .map(|a| a.split(',').map(|s| s.trim().to_owned()).collect()),
            expires: self.expires.clone(),
            label: self.label.clone(),
        }
    }
}

/// Makes (or lists) the view's links and prints them.
pub(crate) fn share(backend: &Backend, args: ShareArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    if args.list {
        let list = list(backend, &args.view, now)?;
        return print(args.json, &list, |list| {
            list.shares.iter().for_each(print_row)
        });
    }
    let link = make(backend, &args, now)?;
    print(args.json, &link, |link| println!("{}", link.link))
}

fn print_row(row: &ShareRow) {
    let ops: Vec<&str> = row.permissions.iter().map(|o| o.as_str()).collect();
    println!(
        "{}  {}  by {}  {}  expires {}  last used {}  {}",
        row.token_id,
        row.mode.map_or("share", EmbedMode::as_str),
        crate::text::terminal_safe(&row.created_by),
        ops.join(","),
        row.expires_at.map_or_else(|| "never".into(), fmt_time),
        row.last_used.map_or_else(|| "never".into(), fmt_time),
        crate::text::terminal_safe(row.label.as_deref().unwrap_or("")),
    );
}

/// The link `args` asks for, made through `backend`.
fn make(backend: &Backend, args: &ShareArgs, now: DateTime<Utc>) -> Result<SharedLink> {
    let embed = args.embed.as_ref().map(|mode| EmbedBody {
        mode: mode.clone(),
        expires: args.expires.clone(),
        label: args.label.clone(),
    });
    let body = args.share_body();
    match backend {
        Backend::Remote(r) => match &embed {
            Some(e) => r.call("POST", &format!("/views/{}/embeds", args.view), e),
            None => r.call("POST", &format!("/views/{}/shares", args.view), &body),
        },
        Backend::Local { data, store } => {
            let (operations, mode) = match &embed {
                Some(e) => ([Operation::Read].into(), Some(e.mode()?)),
                None => (body.operations()?, None),
            };
            let expires_at = expiry_and_label(args.expires.as_deref(), args.label.as_deref(), now)?;
            let registry = store.registry()?;
            let workspace = registry
                .workspace_of(&Resource::view(args.view.clone()))
                .ok_or_else(|| crate::change::ChangeError::UnknownView(args.view.clone()))?;
            let mut grant = Grant::guest(workspace, args.view.clone(), &operations)
                .expires_at(expires_at)
                .label(args.label.clone());
            grant.embed = mode;
            let ring = data.read_keyring()?;
            let issued =
                token::issue_with_rng(&grant, &ring, now, &mut OsRng).map_err(hints::token)?;
            store.record_issued(&issued.entry)?;
            let base = args.base.as_deref().unwrap_or(DEFAULT_LOCAL_BASE);
            let link =
                crate::link::share_link(base, issued.token.expose(), DEFAULT_MAX_TOKEN_BYTES)?;
            Ok(SharedLink {
                token: issued.token.expose().to_owned(),
                token_id: issued.entry.token_id.clone(),
                link,
                permissions: operations,
                expires_at: issued.entry.expires_at,
                created_by: made_by(None),
                mode,
            })
        }
    }
}

/// The view's active links.
fn list(backend: &Backend, view: &Id, now: DateTime<Utc>) -> Result<ShareList> {
    match backend {
        Backend::Remote(r) => r.get(&format!("/views/{view}/shares")),
        Backend::Local { .. } => {
            let mut shares: Vec<ShareRow> = backend
                .ledger()?
                .iter()
                .filter_map(|e| ShareRow::of(e, view, now))
                .collect();
            shares.sort_by(|a, b| (a.created_at, &a.token_id).cmp(&(b.created_at, &b.token_id)));
            Ok(ShareList {
                view: view.clone(),
                shares,
            })
        }
    }
}
