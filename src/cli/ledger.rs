//! `tessera tokens list` and `tessera audit`: what the store recorded of
//! issued tokens and of every change.

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::api::TokenRow;
use crate::model::{Id, LedgerEntry};
use crate::text::terminal_safe;

use super::backend::Backend;
use super::output::{describe_rights, fmt_time, json_text, print};

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

/// Runs a `tokens` command.
pub(crate) fn tokens(
    backend: &Backend,
    cmd: TokensCommand,
    now: DateTime<Utc>,
) -> Result<ExitCode> {
    let TokensCommand::List {
        workspace,
        view,
        json,
    } = cmd;
    tokens_list(backend, workspace, view, json, now)
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
    let rows: Vec<TokenRow> = entries
        .into_iter()
        .map(|entry| TokenRow::new(entry, now))
        .collect();
    print(json, &rows, |rows| print_rows(rows, now))
}

fn print_rows(rows: &[TokenRow], now: DateTime<Utc>) {
    println!(
        "{:<20} {:<8} {:<8} {:<12} {:<20} {:<28} LABEL",
        "TOKEN_ID", "KIND", "STATE", "WORKSPACE", "EXPIRES", "RIGHTS"
    );
    for e in rows.iter().map(|r| &r.entry) {
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
}

/// Prints the audit log.
pub(crate) fn audit(backend: &Backend, json: bool) -> Result<ExitCode> {
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
