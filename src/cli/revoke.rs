//! `tessera revoke`: a token id, a token, a revocation id or a whole view.

use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args};

use crate::api::RevokedAnswer;
use crate::model::Id;
use crate::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use super::backend::{Backend, Revocation};
use super::input::TokenArg;
use super::output::print;

/// `tessera revoke …`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["token_id", "token", "revocation_id", "view"])))]
pub struct RevokeArgs {
    /// A token id from the ledger (tk_…): revokes it and every copy attenuated from it.
    pub token_id: Option<String>,
    /// A token (text, @FILE, path or -): revokes that exact token and its attenuations, not its parent.
    #[arg(long)]
    pub token: Option<TokenArg>,
    /// A revocation id (hex), as `inspect` shows it.
    #[arg(long)]
    pub revocation_id: Option<String>,
    /// Every token issued for this view ("kill all links for this view").
    #[arg(long)]
    pub view: Option<Id>,
    /// Why, for the audit log.
    #[arg(long)]
    pub reason: Option<String>,
    /// Print JSON {revoked_ids, token_ids} (the admin API's answer) instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// Revokes and prints what was revoked.
pub(crate) fn revoke(backend: &Backend, args: RevokeArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let what = if let Some(id) = &args.token_id {
        Revocation::TokenId(id.clone())
    } else if let Some(t) = &args.token {
        let text = t.read()?;
        let ids = token::decode(&text, DEFAULT_MAX_TOKEN_BYTES)?.revocation_identifiers();
        let last = ids.last().cloned().ok_or_else(|| {
            anyhow!("--token has no blocks; give a token as `tessera issue` printed it")
        })?;
        Revocation::Ids(vec![last])
    } else if let Some(h) = &args.revocation_id {
        let id = hex::decode(h.trim())
            .map_err(|_| anyhow!("--revocation-id must be hex, as `tessera inspect` prints it"))?;
        if id.is_empty() {
            bail!("--revocation-id is empty; give the hex `tessera inspect` prints");
        }
        Revocation::Ids(vec![id])
    } else if let Some(v) = &args.view {
        Revocation::View(v.clone())
    } else {
        bail!("say what to revoke: TOKEN_ID, --token, --revocation-id or --view");
    };
    let revoked = RevokedAnswer::from(backend.revoke(what, args.reason.as_deref(), now)?);
    print(args.json, &revoked, print_revoked)
}

fn print_revoked(revoked: &RevokedAnswer) {
    println!(
        "revoked {} revocation id(s){}",
        revoked.revoked_ids.len(),
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
}
