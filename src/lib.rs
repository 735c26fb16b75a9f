//! Tessera: biscuit capability tokens for data workspaces.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod authorize;
pub mod change;
pub mod cli;
pub mod gateway;
pub mod keys;
pub mod link;
pub mod model;
pub mod routes;
pub mod store;
pub mod token;
