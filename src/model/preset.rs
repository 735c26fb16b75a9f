//! Attenuation presets: named [`Restriction`]s (contractor, reviewer,
//! auditor) so people narrow a token without writing Datalog. Pure data;
//! time is a parameter.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::error::ModelError;
use super::grant::Restriction;
use super::resource::Operation;

/// The longest `--days` a preset accepts (ten years).
pub const MAX_PRESET_DAYS: u32 = 3650;

/// A named restriction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// read, write, create; needs an expiry.
    Contractor,
    /// read only; expiry optional.
    Reviewer,
    /// read and export; needs an expiry.
    Auditor,
}

/// Why a preset could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PresetError {
    /// The name is none of the presets.
    #[error("unknown preset {0:?}: use contractor, reviewer or auditor")]
    Unknown(String),
    /// The preset needs an expiry and none was given.
    #[error("preset {0} needs an expiry: give --days N or --until DATE")]
    NeedsExpiry(Preset),
    /// `--days` out of range.
    #[error("days must be between 1 and {MAX_PRESET_DAYS}")]
    InvalidDays,
    /// `--until` neither a date nor an RFC 3339 time.
    #[error("{0:?} is neither a date (2027-01-31) nor an RFC 3339 time")]
    InvalidUntil(String),
    /// The preset's operations and `--allow` share none.
    #[error("the preset and --allow share no operation")]
    NoCommonOperation,
    /// The resulting restriction is invalid (e.g. expiry in the past).
    #[error(transparent)]
    Invalid(#[from] ModelError),
}

impl PresetError {
    /// A stable machine code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            PresetError::Unknown(_) => "unknown_preset",
            PresetError::NeedsExpiry(_) => "expiry_required",
            PresetError::InvalidDays | PresetError::InvalidUntil(_) => "invalid_expiry",
            PresetError::NoCommonOperation => "no_operations",
            PresetError::Invalid(_) => "invalid_restriction",
        }
    }
}

impl Preset {
    /// Every preset, in documentation order.
    pub const ALL: [Preset; 3] = [Preset::Contractor, Preset::Reviewer, Preset::Auditor];

    /// The preset's name as typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Contractor => "contractor",
            Preset::Reviewer => "reviewer",
            Preset::Auditor => "auditor",
        }
    }

    /// The operations the preset keeps.
    pub fn operations(self) -> BTreeSet<Operation> {
        match self {
            Preset::Contractor => [Operation::Read, Operation::Write, Operation::Create].into(),
            Preset::Reviewer => [Operation::Read].into(),
            Preset::Auditor => [Operation::Read, Operation::Export].into(),
        }
    }

    /// True when the preset refuses to be applied without an expiry.
    pub fn needs_expiry(self) -> bool {
        !matches!(self, Preset::Reviewer)
    }

    /// The restriction the preset names. `allow`, when given, intersects
    /// with the preset's operations (never widens); `expiry` is required
    /// for contractor and auditor. Checked as applied at `now`.
    pub fn restriction(
        self,
        now: DateTime<Utc>,
        expiry: Option<DateTime<Utc>>,
        allow: Option<&BTreeSet<Operation>>,
    ) -> Result<Restriction, PresetError> {
        if expiry.is_none() && self.needs_expiry() {
            return Err(PresetError::NeedsExpiry(self));
        }
        let mut ops = self.operations();
        if let Some(allow) = allow {
            ops.retain(|op| allow.contains(op));
            if ops.is_empty() {
                return Err(PresetError::NoCommonOperation);
            }
        }
        let restriction = Restriction {
            operations: Some(ops),
            resource: None,
            expires_at: expiry,
            label: None,
        };
        restriction.validate(now)?;
        Ok(restriction)
    }

    /// The Datalog block the preset appends; `EXPIRY` stands for the
    /// instant given with `--days` or `--until`.
    pub fn describe(self) -> &'static str {
        match self {
            Preset::Contractor => concat!(
                "check if operation(\"read\") or operation(\"write\") or operation(\"create\");\n",
                "check if time($t), $t <= EXPIRY;\n"
            ),
            Preset::Reviewer => concat!(
                "check if operation(\"read\");\n",
                "check if time($t), $t <= EXPIRY; (only with --days or --until)\n"
            ),
            Preset::Auditor => concat!(
                "check if operation(\"read\") or operation(\"export\");\n",
                "check if time($t), $t <= EXPIRY;\n"
            ),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Preset {
    type Err = PresetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| PresetError::Unknown(s.chars().take(64).collect()))
    }
}

/// `days` from `now`, 1 to [`MAX_PRESET_DAYS`].
pub fn expiry_in_days(days: u32, now: DateTime<Utc>) -> Result<DateTime<Utc>, PresetError> {
    if days == 0 || days > MAX_PRESET_DAYS {
        return Err(PresetError::InvalidDays);
    }
    Ok(now + Duration::days(i64::from(days)))
}

/// A date (`2027-01-31`, meaning the end of that day UTC) or an RFC 3339 time.
pub fn parse_until(s: &str) -> Result<DateTime<Utc>, PresetError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(|| PresetError::InvalidUntil(s.chars().take(64).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn names_round_trip_and_unknown_names_the_three() {
        for p in Preset::ALL {
            assert_eq!(p.as_str().parse::<Preset>(), Ok(p));
        }
        let err = "admin".parse::<Preset>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown preset \"admin\": use contractor, reviewer or auditor"
        );
    }

    #[test]
    fn contractor_and_auditor_need_an_expiry_reviewer_does_not() {
        assert_eq!(
            Preset::Contractor.restriction(now(), None, None),
            Err(PresetError::NeedsExpiry(Preset::Contractor))
        );
        assert_eq!(
            Preset::Auditor.restriction(now(), None, None),
            Err(PresetError::NeedsExpiry(Preset::Auditor))
        );
        let r = Preset::Reviewer.restriction(now(), None, None).unwrap();
        assert_eq!(r.operations, Some([Operation::Read].into()));
        assert_eq!(r.expires_at, None);
    }

    #[test]
    fn allow_intersects_and_never_widens() {
        let until = parse_until("2027-01-31").unwrap();
        let allow: BTreeSet<_> = [Operation::Write, Operation::Delete].into();
        let r = Preset::Contractor
            .restriction(now(), Some(until), Some(&allow))
            .unwrap();
        assert_eq!(r.operations, Some([Operation::Write].into()));
        let delete: BTreeSet<_> = [Operation::Delete].into();
        assert_eq!(
            Preset::Reviewer.restriction(now(), None, Some(&delete)),
            Err(PresetError::NoCommonOperation)
        );
    }

    #[test]
    fn until_is_end_of_day_utc_or_rfc3339_and_days_are_bounded() {
        assert_eq!(
            parse_until("2027-01-31").unwrap().to_rfc3339(),
            "2027-01-31T23:59:59+00:00"
        );
        assert_eq!(
            parse_until("2027-01-31T12:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2027-01-31T11:00:00+00:00"
        );
        assert!(matches!(
            parse_until("tomorrow"),
            Err(PresetError::InvalidUntil(_))
        ));
        assert_eq!(
            expiry_in_days(90, now()).unwrap().to_rfc3339(),
            "2026-08-30T00:00:00+00:00"
        );
        assert_eq!(expiry_in_days(0, now()), Err(PresetError::InvalidDays));
        assert!(Preset::Contractor
            .restriction(now(), Some(now() - Duration::days(1)), None)
            .is_err());
    }
}
