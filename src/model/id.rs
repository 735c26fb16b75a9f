//! [`Id`]: the one shape of every workspace, table, view and token id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{truncate_for_message, ModelError};

/// An opaque identifier for a workspace, table, view or token: `[A-Za-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

/// The OpenAPI shape of an id: the same rule as [`Id::new`].
impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(ID_PATTERN))
            .min_length(Some(1))
            .max_length(Some(64))
            .into()
    }
}

impl utoipa::ToSchema for Id {}

/// What [`Id::new`] accepts, as a regular expression (for the OpenAPI document).
const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

impl Id {
    /// Validates `s` as an id.
    pub fn new(s: &str) -> Result<Self, ModelError> {
        if Id::is_valid(s) {
            Ok(Id(s.to_owned()))
        } else {
            Err(ModelError::InvalidId(truncate_for_message(s)))
        }
    }

    /// True when `s` has an id's shape (what [`Id::new`] accepts), checked
    /// without making one.
    pub fn is_valid(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Id {
    type Error = ModelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Id::new(&s)
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl FromStr for Id {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::new(s)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}
