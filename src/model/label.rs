//! Values a person writes on a token: labels (checked for length and for
//! characters a terminal would act on) and expiries (durations or instants).

use chrono::{DateTime, Duration, Utc};

use super::error::{truncate_for_message, ModelError};

/// The most characters a label may have.
pub const MAX_LABEL_CHARS: usize = 128;

/// A label on a token or an attenuation block: at most
/// [`MAX_LABEL_CHARS`] characters, none of them
/// [unsafe on a terminal](crate::text::is_unsafe_char) (controls, ANSI
/// escapes, bidirectional overrides, invisible formatting). The error names
/// the first offending character ([`ModelError::LabelCharacter`]), or is
/// [`ModelError::InvalidLabel`] for a label that is too long.
pub fn check_label(label: &str) -> Result<(), ModelError> {
    if let Some((i, c)) = label
        .chars()
        .enumerate()
        .find(|&(_, c)| crate::text::is_unsafe_char(c))
    {
        return Err(ModelError::LabelCharacter {
            position: i + 1,
            escaped: crate::text::escape_char(c),
        });
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(ModelError::InvalidLabel);
    }
    Ok(())
}

/// [`check_label`]'s rules with one error for every way a label can be
/// wrong, [`ModelError::InvalidLabel`]: the check a [`Grant`] makes of
/// itself at issue time. Entries that take a label from a person
/// ([`IssueRequest::grant`], [`Restriction::validate`]) use
/// [`check_label`], which says which character is refused.
pub fn validate_label(label: &str) -> Result<(), ModelError> {
    check_label(label).map_err(|_| ModelError::InvalidLabel)
}

/// Parses `90d`, `12h`, `30m`, `2w`, `3600s` (relative to `now`) or an RFC 3339 instant.
pub fn parse_expiry(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ModelError> {
    let invalid = || ModelError::InvalidExpiry(truncate_for_message(s));
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Ok(at.with_timezone(&Utc));
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
    let (digits, unit) = s.split_at(split);
    let n: i64 = digits.parse().map_err(|_| invalid())?;
    let duration = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
    .ok_or_else(invalid)?;
    now.checked_add_signed(duration).ok_or_else(invalid)
}

/// An expiry, when set, is after `now`.
pub(super) fn validate_expiry(
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ModelError> {
    match at {
        Some(at) if at <= now => Err(ModelError::ExpiryInPast(at)),
        _ => Ok(()),
    }
}
