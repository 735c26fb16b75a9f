//! What the CLI reads besides its flags: token arguments (text, `@FILE`, a
//! path or stdin), expiries, and the data directory's verifying keys.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};

use crate::keys::PublicKeyring;
use crate::model::parse_expiry;
use crate::store::datadir::{self, DataDir};
use crate::token;

/// Reads a token argument: `-` is stdin, `@FILE` or an existing file path is
/// a file, anything else is the token text.
pub(crate) fn read_token(arg: &str) -> Result<String> {
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

/// An `--expires` value as an instant, relative to `now`.
pub(crate) fn parse_expires(
    s: &Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    Ok(s.as_deref().map(|s| parse_expiry(s, now)).transpose()?)
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
