//! The adversarial review's findings (issue: closure CPU bomb, forwarded-
//! header precedence, slow clients, key-fetch hangs, and the weaker spots),
//! one module per finding. Each test reproduces the attack against a real
//! `tessera serve` process (or the CLI, or the library) and asserts the
//! exact reason it fails; `SECURITY.md` lists them as `A`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../server/mod.rs"]
mod server;

mod bombs;
mod cli_output;
mod forwarding;
mod key_fetch;
mod slow_clients;
mod view_settings;
