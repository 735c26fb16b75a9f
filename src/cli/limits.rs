//! `tessera serve` flags for the request limits of the gateway's front:
//! the admin API's body size and the decision front doors' in-flight cap.

use clap::Args;

use crate::gateway::GatewayConfig;

/// Request limits (each overrides the config file's key of the same name).
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Largest admin API request body, in bytes; larger answers 413 [default: 65536].
    #[arg(long, env = "TESSERA_MAX_ADMIN_BODY_BYTES")]
    pub max_admin_body_bytes: Option<usize>,
    /// Most requests on the decision front doors at once (at least 1); past it
    /// they are shed with 503 overloaded and Retry-After [default: 1024].
    #[arg(long, env = "TESSERA_MAX_IN_FLIGHT_DECISIONS")]
    pub max_in_flight_decisions: Option<usize>,
}

impl LimitArgs {
    /// Sets the flags given on `config`.
    pub fn apply(&self, config: &mut GatewayConfig) {
        if let Some(bytes) = self.max_admin_body_bytes {
            config.max_admin_body_bytes = bytes;
        }
        if let Some(count) = self.max_in_flight_decisions {
            config.max_in_flight_decisions = count;
        }
    }
}
