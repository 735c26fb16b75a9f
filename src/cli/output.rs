//! How the CLI prints: the one path every command's data goes through
//! ([`print`]: JSON with `--json`, else the command's text), JSON made safe
//! for a terminal, times, a token's rights in one line, and exit codes.

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::model::LedgerEntry;
use crate::text::json_safe;

/// JSON for stdout, pretty or one line. Text from a token or the store may
/// hold any character: serde_json escapes C0 controls, and [`json_safe`]
/// escapes the rest (DEL, C1, bidirectional and invisible formatting
/// characters) as `\uXXXX`, so the value is the same and a terminal shows
/// nothing raw.
pub(crate) fn json_text(value: &impl serde::Serialize, pretty: bool) -> Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    Ok(json_safe(&text).into_owned())
}

/// Prints a command's result: with `--json` (`json`), `value` as pretty
/// JSON on stdout (made safe by [`json_text`]); otherwise the command's
/// text, written by `text`. Every command that prints data goes through
/// here, so `--json` means the same everywhere; the JSON shapes use the
/// admin API's field names for the same things.
pub(crate) fn print<T: serde::Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce(&T),
) -> Result<ExitCode> {
    if json {
        println!("{}", json_text(value, true)?);
    } else {
        text(value);
    }
    Ok(ExitCode::SUCCESS)
}

/// An instant as RFC 3339, to the second.
pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A token's rights in one line: `scope: ops`, or every right.
pub(crate) fn describe_rights(entry: &LedgerEntry) -> String {
    match &entry.scope {
        Some(scope) => format!(
            "{scope}: {}",
            entry
                .rights
                .iter()
                .map(|r| r.operation.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        None if entry.rights.is_empty() => "admin API".into(),
        None => entry
            .rights
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Exit code 0 when `ok`, else 1 (denied, invalid or revoked).
pub(crate) fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
