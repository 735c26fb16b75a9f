//! `tessera serve` flags for `GET /v1/me`: how many candidates (workspaces
//! and views) one answer decides on.

use clap::Args;

use crate::gateway::GatewayConfig;

/// `/v1/me` flags (each overrides the config file's key of the same name).
#[derive(Debug, Args)]
pub struct MeArgs {
    /// The most workspaces and views one `GET /v1/me` answer decides on
    /// (each costs one decision per operation; `?limit=` asks for fewer, a
    /// cursor pages on) [default: 100].
    #[arg(long, env = "TESSERA_ME_PAGE_SIZE", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub me_page_size: Option<u32>,
}

impl MeArgs {
    /// Sets the flags given on `config`.
    pub fn apply(&self, config: &mut GatewayConfig) {
        if let Some(size) = self.me_page_size {
            config.me_page_size = size as usize;
        }
    }
}
