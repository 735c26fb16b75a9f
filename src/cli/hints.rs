//! The CLI's words for errors written for API clients: the flags and
//! commands to use, added here and nowhere else.

use anyhow::anyhow;

use crate::change::ChangeError;
use crate::model::{Exclusion, ModelError};
use crate::store::StoreError;
use crate::token::TokenError;

/// A request error, worded with the CLI's flags.
pub(crate) fn model(e: ModelError) -> anyhow::Error {
    match &e {
        ModelError::NotRegistered { .. } => {
            anyhow!("{e} (tessera view set / table set / workspace set)")
        }
        ModelError::Conflict(exclusion) => anyhow!(match exclusion {
            Exclusion::GuestScope => {
                "a guest token is for one view: --table and --read-only do not apply"
            }
            Exclusion::ApiKeyView => "an API key covers a workspace or a table, not a view",
            Exclusion::ReadOnlyWithAllow => "--read-only and --allow cannot be used together",
            Exclusion::AdminScope => {
                "an admin token is for the admin API: it takes no --workspace, --table or --view"
            }
            Exclusion::MemberScope => {
                "a member token names its user only (--user): roles and table access come from the registry"
            }
        }),
        _ => e.into(),
    }
}

/// A signing error, worded with the CLI's flags when it is the request's.
pub(crate) fn token(e: TokenError) -> anyhow::Error {
    match e {
        TokenError::Invalid(e) => model(e),
        other => other.into(),
    }
}

/// A store error, with the command that fixes it when there is one.
pub(crate) fn store(e: StoreError) -> anyhow::Error {
    match &e {
        StoreError::Rejected(ChangeError::UnknownView(view)) => {
            anyhow!("{e}; create it with `tessera view set {view} --table T --workspace WS`")
        }
        StoreError::Rejected(ChangeError::Setting(setting)) => model(setting.clone()),
        _ => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Id;

    #[test]
    fn the_cli_names_its_flags_and_the_api_does_not() {
        let e = ModelError::Conflict(Exclusion::ReadOnlyWithAllow);
        assert!(!e.to_string().contains("--"), "{e}");
        assert!(e.to_string().contains("read_only"), "{e}");
        let cli = model(e).to_string();
        assert_eq!(cli, "--read-only and --allow cannot be used together");

        let e = StoreError::Rejected(ChangeError::UnknownView(Id::new("v_9").unwrap()));
        assert_eq!(e.to_string(), "view v_9 is not registered");
        assert_eq!(
            store(e).to_string(),
            "view v_9 is not registered; create it with `tessera view set v_9 --table T --workspace WS`"
        );
    }
}
