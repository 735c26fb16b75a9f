//! Verification: every signature checked against the root key its id
//! names, then admission under [`TokenLimits`]; the result is a
//! [`VerifiedToken`], the only kind that can be authorized.

use std::fmt;

use biscuit_auth::{Biscuit, UnverifiedBiscuit};

use super::claims::{claims_of, Claims};
use super::cost::TermBounds;
use super::decoded::decode_blocks;
use super::error::TokenError;
use super::expiry::expiry_of;
use super::limits::{admit, TokenLimits};
use super::text::decode_bytes;
use crate::keys::PublicKeyring;

/// A token whose every signature verified against the keyring. Only a
/// verified token can be authorized.
///
/// Its `Debug` is written by hand: biscuit-auth's derived `Debug` on a
/// `Biscuit` prints every block and the next block's private key, which
/// would let whoever reads a log line append blocks to this token.
#[derive(Clone)]
pub struct VerifiedToken {
    biscuit: Biscuit,
    claims: Claims,
    expiry_checks: Vec<(u32, u32)>,
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("token_id", &self.claims.token_id)
            .field("blocks", &self.biscuit.block_count())
            .finish_non_exhaustive()
    }
}

impl VerifiedToken {
    /// The verified biscuit.
    pub fn biscuit(&self) -> &Biscuit {
        &self.biscuit
    }
    /// What its authority block says.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
    /// True when check `check` of block `block` is an expiry check
    /// (`time($t), $t <= date`): a failure there means `expired`.
    pub fn is_expiry_check_at(&self, block: u32, check: u32) -> bool {
        self.expiry_checks.contains(&(block, check))
    }
    /// Every block's revocation id, authority first.
    pub fn revocation_ids(&self) -> Vec<Vec<u8>> {
        self.biscuit.revocation_identifiers()
    }
}

/// Checks every signature of `unverified` against the key its root key id
/// names, then admits the token under the default [`TokenLimits`].
pub fn verify(
    unverified: UnverifiedBiscuit,
    keyring: &PublicKeyring,
) -> Result<VerifiedToken, TokenError> {
    verify_with_limits(unverified, keyring, &TokenLimits::default())
}

/// [`verify`] with explicit limits.
pub fn verify_with_limits(
    unverified: UnverifiedBiscuit,
    keyring: &PublicKeyring,
    limits: &TokenLimits,
) -> Result<VerifiedToken, TokenError> {
    let bytes = unverified
        .to_vec()
        .map_err(|_| TokenError::Malformed("unreadable token"))?;
    verify_parsed(unverified, &bytes, keyring, limits, TermBounds::REQUEST)
}

/// Decodes and verifies a token's text form in one go: the hot path, which
/// reads the bytes once for biscuit and once for the claims. Admission
/// assumes the default policy's facts; see [`verify_text_with_ambient`].
pub fn verify_text(
    text: &str,
    max_token_bytes: usize,
    keyring: &PublicKeyring,
    limits: &TokenLimits,
) -> Result<VerifiedToken, TokenError> {
    verify_text_with_ambient(text, max_token_bytes, keyring, limits, TermBounds::REQUEST)
}

/// [`verify_text`] for a verifier whose own facts (the policy's and the
/// request's) hold terms up to `ambient`: the token's checks can bind those
/// too, so admission bounds its expressions' cost with them.
pub fn verify_text_with_ambient(
    text: &str,
    max_token_bytes: usize,
    keyring: &PublicKeyring,
    limits: &TokenLimits,
    ambient: TermBounds,
) -> Result<VerifiedToken, TokenError> {
    let bytes = decode_bytes(text, max_token_bytes)?;
    let unverified = UnverifiedBiscuit::from(&bytes)
        .map_err(|_| TokenError::Malformed("not a biscuit token"))?;
    verify_parsed(unverified, &bytes, keyring, limits, ambient)
}

fn verify_parsed(
    unverified: UnverifiedBiscuit,
    bytes: &[u8],
    keyring: &PublicKeyring,
    limits: &TokenLimits,
    ambient: TermBounds,
) -> Result<VerifiedToken, TokenError> {
    if unverified.block_count() > limits.max_blocks {
        return Err(TokenError::TooExpensive("too many blocks"));
    }
    let key_id = unverified.root_key_id();
    let biscuit = unverified.verify(keyring).map_err(|e| match e {
        biscuit_auth::error::Format::UnknownPublicKey => TokenError::UnknownKey(key_id),
        biscuit_auth::error::Format::Signature(_)
        | biscuit_auth::error::Format::SealedSignature
        | biscuit_auth::error::Format::InvalidSignatureSize(_)
        | biscuit_auth::error::Format::SignatureDeserializationError(_)
        | biscuit_auth::error::Format::BlockSignatureDeserializationError(_) => {
            TokenError::BadSignature
        }
        _ => TokenError::Malformed("token could not be verified"),
    })?;
    let decoded = decode_blocks(bytes)?;
    admit(&decoded, limits, ambient)?;
    let expiry_checks = decoded
        .blocks
        .iter()
        .zip(0u32..)
        .flat_map(|(b, block)| {
            let decoded = &decoded;
            b.proto
                .checks
                .iter()
                .zip(0u32..)
                .filter(move |(c, _)| expiry_of(c, |i| decoded.symbol(b, i)).is_some())
                .map(move |(_, check)| (block, check))
        })
        .collect();
    Ok(VerifiedToken {
        biscuit,
        claims: claims_of(&decoded),
        expiry_checks,
    })
}
