//! Text forms: the secret token text ([`SecretToken`]), the plain `tsr_`
//! form (URL-safe base64 without padding) and the compact `tsz_` form,
//! encoding and decoding both within a size limit.

use std::fmt;

use base64::Engine;
use biscuit_auth::UnverifiedBiscuit;

use super::compact::{self, COMPACT_PREFIX};
use super::error::TokenError;

/// The prefix of every token Tessera prints, so secret scanners can find them.
pub const TOKEN_PREFIX: &str = "tsr_";

/// The largest token Tessera reads by default, in bytes of text.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// A bearer token's text. Secret: its `Debug` shows nothing of it, and the
/// text is zeroized when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(zeroize::Zeroizing<String>);

impl SecretToken {
    /// Wraps token text received from an issuer (the admin API).
    pub(crate) fn from_issued(text: String) -> Self {
        SecretToken(zeroize::Zeroizing::new(text))
    }

    /// The token text, to hand to its holder. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(..)")
    }
}

pub(super) fn encode(bytes: &[u8]) -> SecretToken {
    SecretToken::from_issued(format!("{TOKEN_PREFIX}{}", base64_text(bytes)))
}

pub(super) fn encode_compact(bytes: &[u8]) -> Result<SecretToken, TokenError> {
    Ok(SecretToken::from_issued(format!(
        "{COMPACT_PREFIX}{}",
        base64_text(&compact::deflate(bytes)?)
    )))
}

fn base64_text(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(super) fn is_compact(text: &str) -> bool {
    text.trim().starts_with(COMPACT_PREFIX)
}

/// The shorter of a token's two text forms (plain `tsr_` or compact `tsz_`):
/// what share links carry. The token itself is unchanged.
pub fn shortest_text(text: &str, max_token_bytes: usize) -> Result<SecretToken, TokenError> {
    let bytes = decode_bytes(text, max_token_bytes)?;
    let plain = encode(&bytes);
    let compact = encode_compact(&bytes)?;
    Ok(if compact.0.len() < plain.0.len() {
        compact
    } else {
        plain
    })
}

/// The raw bytes of a token's text form (prefix and padding optional; the
/// compact form inflated).
pub fn decode_bytes(text: &str, max_token_bytes: usize) -> Result<Vec<u8>, TokenError> {
    let text = text.trim();
    if text.len() > max_token_bytes {
        return Err(TokenError::Malformed("token is larger than the limit"));
    }
    if let Some(body) = text.strip_prefix(COMPACT_PREFIX) {
        // Admit a compact token exactly when its plain form would fit.
        let plain_limit = max_token_bytes.saturating_sub(TOKEN_PREFIX.len()) / 4 * 3;
        return compact::inflate(&base64_bytes(body)?, plain_limit);
    }
    base64_bytes(text.strip_prefix(TOKEN_PREFIX).unwrap_or(text))
}

fn base64_bytes(body: &str) -> Result<Vec<u8>, TokenError> {
    let body = body.trim_end_matches('=');
    if body.is_empty() {
        return Err(TokenError::Malformed("empty token"));
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed("not URL-safe base64"))
}

/// Parses a token's text form without checking any signature.
pub fn decode(text: &str, max_token_bytes: usize) -> Result<UnverifiedBiscuit, TokenError> {
    let bytes = decode_bytes(text, max_token_bytes)?;
    UnverifiedBiscuit::from(&bytes).map_err(|_| TokenError::Malformed("not a biscuit token"))
}
