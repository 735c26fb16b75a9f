//! `tessera export`: a token, and the key that verifies it, in the forms
//! other biscuit tools read (biscuit-cli, biscuit-python, biscuit-wasm):
//! the standard URL-safe base64 of the biscuit (padded, no `tsr_`/`tsz_`
//! prefix) and the root public key as `ed25519/<hex>`.

use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use base64::Engine;
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::store::datadir::DataDir;
use crate::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use super::input::{local_public_keyring, TokenArg};
use super::output::print;

/// `tessera export …`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("form").required(true).multiple(true).args(["plain", "public_key"])))]
pub struct ExportArgs {
    /// The token: text (`tsr_`, `tsz_` or bare base64), a share link
    /// (`…/s/TOKEN`), @FILE, a file path, or - for stdin. Only
    /// --public-key may omit it (then the active key is printed).
    pub token: Option<TokenArg>,
    /// Print the token as standard biscuit base64 (URL-safe, padded, no
    /// prefix): what `biscuit inspect`, biscuit-python and biscuit-wasm read.
    #[arg(long)]
    pub plain: bool,
    /// Print the root public key that verifies the token (the one its root
    /// key id names; with no token, the active key) as `ed25519/<hex>`, the
    /// form `biscuit inspect --public-key` takes.
    #[arg(long)]
    pub public_key: bool,
    /// Print JSON {token, public_key} (each when asked for) instead of one per line.
    #[arg(long)]
    pub json: bool,
}

/// What `export --json` prints: the standard base64 in `token` (and
/// nowhere else), the verifying key in `public_key`.
#[derive(Serialize)]
struct Exported<'a> {
    /// The token as standard biscuit base64 (with --plain).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    /// The root public key, `ed25519/<hex>` (with --public-key).
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
}

/// Prints the token's standard base64 and/or its root public key, one per line.
pub(crate) fn export(data: &DataDir, args: ExportArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let text = args.token.as_ref().map(TokenArg::read).transpose()?;
    let text = text.as_ref().map(|t| token_of_share_link(t));
    let mut plain = None;
    if args.plain {
        let Some(text) = text else {
            bail!("--plain needs a token: give it as text, @FILE, a path or -");
        };
        // Parse it as a biscuit first: garbage is refused here, not by the
        // next tool.
        token::decode(text, DEFAULT_MAX_TOKEN_BYTES)?;
        let bytes = token::decode_bytes(text, DEFAULT_MAX_TOKEN_BYTES)?;
        plain = Some(Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE.encode(bytes),
        ));
    }
    let exported = Exported {
        token: plain.as_deref().map(String::as_str),
        public_key: args
            .public_key
            .then(|| public_key(data, text, now))
            .transpose()?,
    };
    print(args.json, &exported, |e| {
        for line in [e.token, e.public_key.as_deref()].into_iter().flatten() {
            println!("{line}");
        }
    })
}

/// The root public key for `text`'s root key id, or the active key.
fn public_key(data: &DataDir, text: Option<&str>, now: DateTime<Utc>) -> Result<String> {
    let hint = "run `tessera init` first, or give --data-dir";
    match text {
        Some(text) => {
            let unverified = token::decode(text, DEFAULT_MAX_TOKEN_BYTES)?;
            let Some(id) = unverified.root_key_id() else {
                bail!("the token names no root key id; its key cannot be chosen");
            };
            let ring = local_public_keyring(data, now).with_context(|| hint.to_owned())?;
            match ring.get(id) {
                Some(key) => Ok(key.to_string()),
                None => bail!(
                    "root key {id} is not in {}'s keyring (retired, or another issuer's)",
                    data.root().display()
                ),
            }
        }
        None => {
            if data.keyring_path().exists() {
                return Ok(data.read_keyring()?.active().public().to_string());
            }
            let ring = local_public_keyring(data, now).with_context(|| hint.to_owned())?;
            let ids: Vec<u32> = ring.ids().collect();
            match ids.as_slice() {
                [id] => Ok(ring.get(*id).map(ToString::to_string).unwrap_or_default()),
                _ => bail!(
                    "the public keyring holds {} keys and no private keyring says which is active; give the token",
                    ids.len()
                ),
            }
        }
    }
}

/// The token a share link `{base}/s/{token}` carries, or `text` itself when
/// it is not a link.
fn token_of_share_link(text: &str) -> &str {
    let Some((_, rest)) = text.split_once("://") else {
        return text;
    };
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    match path.rsplit_once("/s/") {
        Some((_, token)) if !token.is_empty() && !token.contains('/') => token,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::token_of_share_link;

    #[test]
    fn share_links_give_their_token_and_other_text_is_left_alone() {
        assert_eq!(
            token_of_share_link("https://share.example.com/s/tsz_abc"),
            "tsz_abc"
        );
        assert_eq!(
            token_of_share_link("http://127.0.0.1:8080/base/s/tsr_x-y?utm=1#f"),
            "tsr_x-y"
        );
        assert_eq!(token_of_share_link("tsr_abc"), "tsr_abc");
        assert_eq!(
            token_of_share_link("https://share.example.com/other/x"),
            "https://share.example.com/other/x"
        );
        assert_eq!(
            token_of_share_link("https://share.example.com/s/"),
            "https://share.example.com/s/"
        );
    }
}
