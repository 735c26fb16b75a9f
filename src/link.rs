//! Share links: `{base}/s/{token}`, carrying a guest token in its shortest
//! text form (the compact `tsz_` form when it is shorter; see
//! [`crate::token::compact`]). The gateway's `/s/{token}` turns the link into
//! a session cookie.

use crate::token::{self, TokenError};

/// The share link for `token` on the gateway at `base`.
pub fn share_link(base: &str, token: &str, max_token_bytes: usize) -> Result<String, TokenError> {
    let text = token::shortest_text(token, max_token_bytes)?;
    Ok(format!(
        "{}/s/{}",
        base.trim_end_matches('/'),
        text.expose()
    ))
}
