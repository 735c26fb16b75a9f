//! What the CLI reads besides its flags: token arguments (text, `@FILE`, a
//! path or stdin), expiries, and the data directory's verifying keys.

use std::convert::Infallible;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use crate::keys::PublicKeyring;
use crate::model::parse_expiry;
use crate::store::datadir::{self, DataDir};
use crate::token;

/// A token argument as given on the command line: the token text, `@FILE`,
/// a file path, or `-` for stdin.
///
/// Its `Debug` never shows what was given (it could be the token itself):
/// only `TokenArg(stdin)` or `TokenArg(<redacted>)`. The text is zeroed when
/// the argument is dropped.
#[derive(Clone)]
pub struct TokenArg(Zeroizing<String>);

impl FromStr for TokenArg {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(TokenArg(Zeroizing::new(s.to_owned())))
    }
}

impl fmt::Debug for TokenArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.as_str() == "-" {
            f.write_str("TokenArg(stdin)")
        } else {
            f.write_str("TokenArg(<redacted>)")
        }
    }
}

impl TokenArg {
    /// The token text: `-` is stdin, `@FILE` or an existing file path is a
    /// file, anything else is the token text itself; trimmed, never empty.
    pub fn read(&self) -> anyhow::Result<Zeroizing<String>> {
        let arg = self.0.as_str();
        let text = if arg == "-" {
            let mut s = Zeroizing::new(String::new());
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
            Zeroizing::new(arg.to_owned())
        };
        let text = Zeroizing::new(text.trim().to_owned());
        if text.is_empty() {
            bail!("no token given (empty input)");
        }
        Ok(text)
    }
}

fn read_token_file(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
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
