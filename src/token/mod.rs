//! Tokens: issue (a [`Grant`](crate::model::Grant) becomes a signed
//! biscuit), attenuate (a [`Restriction`](crate::model::Restriction) becomes
//! an appended block of checks), decode the text form, verify signatures by
//! root key id, and describe what a token says.
//!
//! The text form is `tsr_` followed by the biscuit's URL-safe base64 without
//! padding. Every function here accepts the text with or without the prefix
//! and with or without padding, and also the compact form share links use
//! (`tsz_`, see [`compact`]): the same biscuit, deflated with a dictionary.
//!
//! One concept a file: the text forms and [`SecretToken`] (`text.rs`),
//! issuing (`issue.rs`), attenuating (`attenuate.rs`), verifying
//! (`verify.rs`), admission under [`TokenLimits`] (`limits.rs`, with the
//! expression cost model in `cost/`), [`Claims`] and [`describe`]
//! (`claims.rs`), the blocks read straight from the protobuf
//! (`decoded.rs`), the expiry check (`expiry.rs`), the parser guards
//! (`guards.rs`) and [`TokenError`] (`error.rs`).

mod attenuate;
mod claims;
pub mod compact;
mod cost;
mod decoded;
mod error;
mod expiry;
mod guards;
mod issue;
mod limits;
mod text;
mod verify;

pub use attenuate::attenuate_with_rng;
pub use claims::{describe, BlockDescription, Claims, Description, RightClaim};
pub use compact::COMPACT_PREFIX;
pub use cost::TermBounds;
pub use error::TokenError;
pub use expiry::is_expiry_check;
pub(crate) use guards::{guard_parser, nesting_depth, MAX_NESTING};
pub use issue::{issue_with_rng, Issued, VOCABULARY_VERSION};
pub use limits::{TokenLimits, DEFAULT_MAX_EXPRESSION_COST};
pub use text::{
    decode, decode_bytes, shortest_text, SecretToken, DEFAULT_MAX_TOKEN_BYTES, TOKEN_PREFIX,
};
pub use verify::{
    verify, verify_text, verify_text_with_ambient, verify_with_limits, VerifiedToken,
};

#[cfg(test)]
mod tests;
