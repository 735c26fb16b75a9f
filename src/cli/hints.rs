//! The CLI's words for errors written for API clients: the flags and
//! commands to use, added here and nowhere else — both where a command
//! rewords an error ([`model`], [`token`], [`store`]) and, for the errors
//! that reach `main` as they are, the hint [`hint`] adds to the line.

use std::io::ErrorKind;

use crate::api::error::Rejection;
use crate::api::Invalid;
use crate::change::ChangeError;
use crate::keys::KeyError;
use crate::model::{Exclusion, ModelError};
use crate::store::StoreError;
use crate::token::TokenError;

/// An error the CLI reworded with its flags, keeping the reason code of the
/// error it words (what `--json` errors show as `reason`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Worded {
    /// The code of the underlying error, as the admin API names it.
    pub(crate) reason: &'static str,
    /// The line the user reads.
    pub(crate) message: String,
}

fn worded(reason: &'static str, message: impl Into<String>) -> anyhow::Error {
    Worded {
        reason,
        message: message.into(),
    }
    .into()
}

/// The admin API's code for a request error.
pub(crate) fn model_code(e: &ModelError) -> &'static str {
    Invalid::Request(e.clone()).code()
}

/// The admin API's code for a change the store refused.
pub(crate) fn change_code(e: &ChangeError) -> &'static str {
    rejection_code(&Rejection::from(e.clone()))
}

/// The admin API's code for a rejection (the `error` the gateway answers).
pub(crate) fn rejection_code(e: &Rejection) -> &'static str {
    match e {
        Rejection::Invalid(e) => e.code(),
        Rejection::Missing(_) => "not_found",
        Rejection::Conflict(_) => "conflict",
        Rejection::Refused(r) => r.code(),
        Rejection::Internal(_) => "internal",
    }
}

/// A request error, worded with the CLI's flags.
pub(crate) fn model(e: ModelError) -> anyhow::Error {
    let code = model_code(&e);
    match &e {
        ModelError::NotRegistered { .. } => {
            worded(code, format!("{e} (tessera view set / table set / workspace set)"))
        }
        ModelError::Conflict(exclusion) => worded(code, match exclusion {
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
        StoreError::Rejected(ChangeError::Setting(setting)) => model(setting.clone()),
        StoreError::Rejected(c) => match change_hint(c) {
            Some(hint) => worded(change_code(c), format!("{e}; {hint}")),
            None => e.into(),
        },
        _ => e.into(),
    }
}

/// The hint for an error that reached `main` without one: the command or
/// flag that helps, named from the error's type (never from its text, so
/// nothing it quotes is repeated).
pub(crate) fn hint(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<KeyError>() {
            return key_hint(e);
        }
        if let Some(e) = cause.downcast_ref::<TokenError>() {
            return token_hint(e);
        }
        if let Some(StoreError::Rejected(e)) = cause.downcast_ref::<StoreError>() {
            return change_hint(e);
        }
        if let Some(e) = cause.downcast_ref::<ChangeError>() {
            return change_hint(e);
        }
        if let Some(ModelError::UnknownUser(user)) = cause.downcast_ref::<ModelError>() {
            return Some(format!(
                "with the CLI: `tessera user put {user} --email E --name N`"
            ));
        }
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(|e| match e.kind() {
                ErrorKind::NotFound => Some("check the path".to_owned()),
                ErrorKind::PermissionDenied => {
                    Some("check its permissions: is it owned by another user?".to_owned())
                }
                _ => None,
            })
    })
}

fn key_hint(e: &KeyError) -> Option<String> {
    match e {
        KeyError::UnknownKeyId(_) | KeyError::AlreadyRetired(_) => {
            Some("`tessera keys list` shows the key ids and their states".to_owned())
        }
        _ => None,
    }
}

fn token_hint(e: &TokenError) -> Option<String> {
    match e {
        TokenError::Malformed(_) => Some(
            "give the token as `tessera issue` printed it (tsr_…, tsz_… or a share link), as @FILE, a file path, or - for stdin"
                .to_owned(),
        ),
        TokenError::UnknownKey(_) => Some(
            "was it issued with this --data-dir? `tessera keys list` shows its keys".to_owned(),
        ),
        _ => None,
    }
}

fn change_hint(e: &ChangeError) -> Option<String> {
    match e {
        ChangeError::UnknownToken(_) => Some("`tessera tokens list` shows the token ids".into()),
        ChangeError::UnknownUser(user) => Some(format!(
            "register it with `tessera user put {user} --email E --name N`"
        )),
        ChangeError::UnknownTable(table) => Some(format!(
            "register it with `tessera table set {table} --workspace WS`"
        )),
        ChangeError::UnknownWorkspace(ws) => {
            Some(format!("register it with `tessera workspace set {ws}`"))
        }
        ChangeError::UnknownView(view) => Some(format!(
            "create it with `tessera view set {view} --table T --workspace WS`"
        )),
        _ => None,
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
