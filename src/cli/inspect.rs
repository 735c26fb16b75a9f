//! `tessera inspect`: what a token says, and with a public keyring whether
//! it verifies and whether the local store has revoked it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;

use crate::authorize;
use crate::store::datadir::{self, DataDir};
use crate::store::Store;
use crate::text::terminal_safe;
use crate::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use super::input::TokenArg;
use super::output::{exit_code, fmt_time, json_text};

/// `tessera inspect …`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token: text, @FILE, a file path, or - for stdin.
    pub token: TokenArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Verify the signature against this Biscuit Web Keys file and check the local revocation list.
    #[arg(long)]
    pub public_keys: Option<PathBuf>,
}

/// Prints the token's claims and blocks; exit code 1 when it does not verify or is revoked.
pub(crate) fn inspect(data: &DataDir, args: InspectArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let text = args.token.read()?;
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
    Ok(exit_code(ok))
}
