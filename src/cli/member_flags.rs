//! `tessera serve` flags for members: how long a member token issued by
//! `POST /admin/v1/members/{user}/tokens` lasts by default.

use clap::Args;

use crate::gateway::config::TokenTtl;
use crate::gateway::GatewayConfig;

/// Member token flags (each overrides the config file's key of the same name).
#[derive(Debug, Args)]
pub struct MemberArgs {
    /// Default lifetime of a member token when the request names none: a
    /// duration such as 12h, 30m or 7d [default: 12h].
    #[arg(long, env = "TESSERA_MEMBER_TOKEN_TTL")]
    pub member_token_ttl: Option<TokenTtl>,
}

impl MemberArgs {
    /// Sets the flags given on `config`.
    pub fn apply(&self, config: &mut GatewayConfig) {
        if let Some(ttl) = self.member_token_ttl {
            config.member_token_ttl = ttl;
        }
    }
}
