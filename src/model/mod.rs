//! The domain as plain data: ids, operations, resources, grants, restrictions,
//! view settings, the registry's containment and the revocation set.
//!
//! Nothing here does I/O or reads the clock; every function that needs "now"
//! takes it as an argument.
//!
//! One file per concept; every type is re-exported here, so paths stay
//! `crate::model::X`.

pub mod access;
mod error;
mod grant;
mod id;
mod label;
mod ledger;
mod preset;
mod registry;
mod resource;
mod revocation;
mod settings;
mod share;
mod view_setting;
mod visibility;

pub use error::{Exclusion, ModelError};
pub use grant::{Grant, IssueRequest, Restriction, TokenKind};
pub use id::Id;
pub use label::{check_label, parse_expiry, validate_label, MAX_LABEL_CHARS};
pub use ledger::{LedgerEntry, TokenState};
pub use preset::{expiry_in_days, parse_until, Preset, PresetError, MAX_PRESET_DAYS};
pub use registry::{Containment, Registry, ViewEntry};
pub use resource::{Operation, Resource, ResourceKind, Right};
pub use revocation::{revocation_key, RevocationSet};
pub use settings::ViewSettings;
pub use share::{first_missing, EmbedMode, EmbedRefusal, QueryUse, SharePreset};
pub use view_setting::ViewSetting;
pub use visibility::{ViewOwner, Visibility};

#[cfg(test)]
mod tests;
