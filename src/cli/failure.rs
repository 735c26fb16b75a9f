//! How a failed command reports: one lowercase line `tessera: …` on
//! stderr with the hint [`hints::hint`] finds, or with `--json` one JSON
//! object `{"reason": code, "message": …}` on stderr; the exit code is the
//! same either way (2, clap's for usage errors). The `reason` codes are the
//! admin API's `error` codes for the same failures, plus the CLI's own
//! (`usage`, `io`, `keyring`, `store`, `error`).

use std::process::ExitCode;

use clap::error::ErrorKind;
use serde::Serialize;

use crate::api::error::Rejection;
use crate::keys::KeyError;
use crate::model::{ModelError, PresetError};
use crate::store::StoreError;
use crate::text::terminal_safe;
use crate::token::TokenError;

use super::backend::ServerAnswered;
use super::hints::{self, Worded};
use super::output::json_text;

/// What `--json` prints on stderr for a failed command.
#[derive(Debug, Serialize)]
pub(crate) struct Failure {
    /// A snake_case code: the admin API's for the same failure where there
    /// is one (`not_found`, `malformed`, `unknown_user`, …), else `usage`,
    /// `io`, `keyring`, `store` or `error`.
    pub(crate) reason: String,
    /// The line `tessera:` would print, hint included.
    pub(crate) message: String,
}

impl Failure {
    /// The report of a command's error.
    pub(crate) fn of(e: &anyhow::Error) -> Failure {
        let mut message = format!("{e:#}");
        if let Some(hint) = hints::hint(e).filter(|h| !message.contains(h.as_str())) {
            message = format!("{message}; {hint}");
        }
        Failure {
            reason: reason(e),
            message,
        }
    }
}

/// Prints a command's error once, on stderr, and gives its exit code (2).
pub fn report(e: &anyhow::Error, json: bool) -> ExitCode {
    emit(&Failure::of(e), json);
    ExitCode::from(2)
}

/// Prints clap's error (help and `--version` too, on stdout as clap does)
/// and gives clap's exit code; a usage error with `--json` on the command
/// line is a JSON object with the reason `usage`.
pub fn usage(e: clap::Error) -> ExitCode {
    let code = u8::try_from(e.exit_code()).unwrap_or(2);
    let informational = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    if informational || !json_on_command_line() {
        // clap chooses the stream and the colours (NO_COLOR included).
        let _ = e.print();
        return ExitCode::from(code);
    }
    // clap's text up to its usage block, on one line.
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    emit(
        &Failure {
            reason: "usage".to_owned(),
            message: format!("{message}; see `tessera help`"),
        },
        true,
    );
    ExitCode::from(code)
}

/// `--json` before any `--`: the flag clap could not get to.
fn json_on_command_line() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

fn emit(failure: &Failure, json: bool) {
    if json {
        match json_text(failure, false) {
            Ok(line) => eprintln!("{line}"),
            Err(_) => eprintln!("{{\"reason\":\"error\",\"message\":\"unprintable error\"}}"),
        }
    } else {
        // An error can quote a file, a server's answer or a token's text.
        eprintln!("tessera: {}", terminal_safe(&failure.message));
    }
}

/// The reason code of an error, from the first cause in its chain whose
/// type names one.
pub(crate) fn reason(e: &anyhow::Error) -> String {
    e.chain()
        .find_map(|cause| {
            if let Some(w) = cause.downcast_ref::<Worded>() {
                return Some(w.reason.to_owned());
            }
            if let Some(s) = cause.downcast_ref::<ServerAnswered>() {
                return Some(s.code.clone());
            }
            if let Some(e) = cause.downcast_ref::<TokenError>() {
                return Some(token_code(e).to_owned());
            }
            if let Some(e) = cause.downcast_ref::<StoreError>() {
                return Some(store_code(e).to_owned());
            }
            if let Some(e) = cause.downcast_ref::<crate::change::ChangeError>() {
                return Some(hints::change_code(e).to_owned());
            }
            if let Some(e) = cause.downcast_ref::<ModelError>() {
                return Some(hints::model_code(e).to_owned());
            }
            if let Some(e) = cause.downcast_ref::<PresetError>() {
                return Some(e.code().to_owned());
            }
            if let Some(e) = cause.downcast_ref::<Rejection>() {
                return Some(hints::rejection_code(e).to_owned());
            }
            if let Some(e) = cause.downcast_ref::<KeyError>() {
                return Some(key_code(e).to_owned());
            }
            cause
                .downcast_ref::<std::io::Error>()
                .map(|_| "io".to_owned())
        })
        .unwrap_or_else(|| "error".to_owned())
}

fn token_code(e: &TokenError) -> &'static str {
    match e {
        TokenError::Malformed(_) => "malformed",
        TokenError::UnknownKey(_) => "unknown_key",
        TokenError::BadSignature => "bad_signature",
        TokenError::Sealed => "sealed",
        TokenError::Invalid(e) => hints::model_code(e),
        TokenError::TooExpensive(_) => "limits",
        TokenError::Build => "internal",
    }
}

fn store_code(e: &StoreError) -> &'static str {
    match e {
        StoreError::Rejected(c) => hints::change_code(c),
        StoreError::Missing(_) => "no_store",
        StoreError::Locked(_) => "store_locked",
        _ => "store",
    }
}

fn key_code(e: &KeyError) -> &'static str {
    match e {
        KeyError::UnknownKeyId(_) => "unknown_key_id",
        KeyError::RetireActive(_) => "retire_active",
        KeyError::AlreadyRetired(_) => "already_retired",
        _ => "keyring",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::ChangeError;
    use crate::model::Id;

    #[test]
    fn reasons_are_the_admin_api_codes_of_the_same_failures() {
        let gone = StoreError::Rejected(ChangeError::UnknownToken("tk_9".into()));
        let failure = Failure::of(&anyhow::Error::from(gone));
        assert_eq!(failure.reason, "not_found");
        assert_eq!(
            failure.message,
            "no token tk_9 in the ledger; `tessera tokens list` shows the token ids"
        );
        let malformed = anyhow::Error::from(TokenError::Malformed("not URL-safe base64"))
            .context("cannot inspect the token");
        assert_eq!(reason(&malformed), "malformed");
        let view = Id::new("v_9").expect("id");
        let worded = hints::store(StoreError::Rejected(ChangeError::UnknownView(view)));
        assert_eq!(
            reason(&worded),
            "not_found",
            "a reworded error keeps its code"
        );
        assert_eq!(reason(&anyhow::anyhow!("something else")), "error");
        assert_eq!(
            reason(&anyhow::Error::from(KeyError::UnknownKeyId(7))),
            "unknown_key_id"
        );
    }

    #[test]
    fn a_hint_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = anyhow::Error::from(io).context("cannot read the policy p; check the path");
        let failure = Failure::of(&e);
        assert_eq!(failure.message.matches("check the path").count(), 1);
        assert_eq!(failure.reason, "io");
    }
}
