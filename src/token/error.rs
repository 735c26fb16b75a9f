//! [`TokenError`]: why a token could not be issued, attenuated, read or
//! verified.

use crate::model::ModelError;

/// Why a token could not be issued, attenuated, read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token: bad base64, bad protobuf, too large, or not a biscuit.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Signed by a root key this keyring does not hold (or has retired).
    #[error("token is signed by an unknown or retired root key (key id {0:?})")]
    UnknownKey(Option<u32>),
    /// A signature does not verify: forged, altered, truncated or spliced.
    #[error("token signature does not verify")]
    BadSignature,
    /// The token is sealed and cannot be attenuated further.
    #[error("token is sealed and cannot be attenuated")]
    Sealed,
    /// The grant or restriction is not valid.
    #[error(transparent)]
    Invalid(#[from] ModelError),
    /// The token carries more than the limits allow (blocks, facts, rules,
    /// checks, a query whose joins could explode, or expressions that could
    /// take too long to evaluate).
    #[error("token is too expensive to evaluate: {0}")]
    TooExpensive(&'static str),
    /// biscuit-auth refused to build the block (should not happen for valid input).
    #[error("could not build the token block")]
    Build,
}

pub(super) fn build_error(_: biscuit_auth::error::Token) -> TokenError {
    TokenError::Build
}
