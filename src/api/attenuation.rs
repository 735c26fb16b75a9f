//! `POST /admin/v1/attenuations`: a token narrowed by a preset (contractor,
//! reviewer, auditor), the admin API's option of `tessera attenuate
//! --preset`. The body and answer, and the restriction the body names,
//! read exactly as the CLI reads its flags ([`Preset::restriction`]).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{expiry_in_days, parse_until, Operation, Preset, Restriction};

use super::Invalid;

/// `POST /attenuations`: which token, which preset, until when.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttenuationBody {
    /// The token (`tsr_…`, `tsz_…` or plain biscuit base64). Secret: not
    /// shown by `Debug`.
    pub token: String,
    /// `contractor`, `reviewer` or `auditor`.
    #[schema(value_type = PresetName)]
    pub preset: String,
    /// Expires this many days from now (1 to 3650).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650)]
    pub days: Option<u32>,
    /// Expires at the end of this day (`2027-01-31`, UTC) or at this RFC
    /// 3339 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl fmt::Debug for AttenuationBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttenuationBody")
            .field("preset", &self.preset)
            .field("days", &self.days)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

/// The preset names, for the document.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum PresetName {
    Contractor,
    Reviewer,
    Auditor,
}

impl AttenuationBody {
    /// The restriction the body names at `now`: the preset's, expiring
    /// after `days` or at `until` (contractor and auditor need one).
    pub fn restriction(&self, now: DateTime<Utc>) -> Result<(Preset, Restriction), Invalid> {
        let preset: Preset = self.preset.parse()?;
        let expiry = match (self.days, self.until.as_deref()) {
            (Some(_), Some(_)) => return Err(Invalid::DaysAndUntil),
            (Some(days), None) => Some(expiry_in_days(days, now)?),
            (None, Some(until)) => Some(parse_until(until)?),
            (None, None) => None,
        };
        Ok((preset, preset.restriction(now, expiry, None)?))
    }
}

/// The answer: the attenuated token, once, and what its block says.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttenuatedToken {
    /// The attenuated token (`tsr_…`). Secret: not shown by `Debug`.
    pub token: String,
    /// The preset applied.
    pub preset: String,
    /// The operations the appended block keeps.
    pub operations: BTreeSet<Operation>,
    /// When the attenuated token stops working, when it does.
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for AttenuatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttenuatedToken")
            .field("preset", &self.preset)
            .field("operations", &self.operations)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(preset: &str, days: Option<u32>, until: Option<&str>) -> AttenuationBody {
        AttenuationBody {
            token: "tsr_secret".into(),
            preset: preset.into(),
            days,
            until: until.map(str::to_owned),
        }
    }

    #[test]
    fn the_body_reads_as_the_cli_flags_do() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (p, r) = body("contractor", Some(90), None).restriction(now).unwrap();
        assert_eq!(p, Preset::Contractor);
        assert_eq!(r.expires_at, Some(now + chrono::Duration::days(90)));
        let (_, r) = body("auditor", None, Some("2027-01-31"))
            .restriction(now)
            .unwrap();
        assert_eq!(r.operations, Some(Preset::Auditor.operations()));
        let (_, r) = body("reviewer", None, None).restriction(now).unwrap();
        assert_eq!(r.expires_at, None);
        let code = |b: AttenuationBody| b.restriction(now).unwrap_err().code();
        assert_eq!(code(body("auditor", None, None)), "expiry_required");
        assert_eq!(code(body("owner", Some(1), None)), "unknown_preset");
        assert_eq!(code(body("reviewer", Some(0), None)), "invalid_expiry");
        assert_eq!(
            code(body("reviewer", Some(1), Some("2027-01-31"))),
            "bad_request"
        );
        assert!(!format!("{:?}", body("reviewer", None, None)).contains("secret"));
    }

    #[test]
    fn the_documented_names_are_the_presets() {
        let schema = serde_json::to_value(<PresetName as utoipa::PartialSchema>::schema()).unwrap();
        let names: Vec<&str> = Preset::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(schema["enum"], serde_json::json!(names));
    }
}
