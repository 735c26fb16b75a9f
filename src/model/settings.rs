//! A view's settings ([`ViewSettings`]), read and set by
//! [`ViewSetting`] or its name.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{by_name, ModelError};
use super::view_setting::ViewSetting;

/// A view's settings, held by the registry and editable at any time.
/// The view setting wins over what a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ViewSettings {
    /// Rows may be edited or deleted (`write`, `delete`): a view that is
    /// not editable is read-only, except for adding rows when `addable`.
    pub editable: bool,
    /// Rows may be added (`create`).
    pub addable: bool,
    /// Data may be exported (`export`).
    pub exportable: bool,
    /// Anyone may read the view with no token; never write.
    pub public: bool,
    /// The view's configuration may not be changed (`manage`).
    pub locked: bool,
}

impl Default for ViewSettings {
    /// A new view: editable, addable and exportable as far as tokens allow;
    /// not public, not locked.
    fn default() -> Self {
        ViewSettings {
            editable: true,
            addable: true,
            exportable: true,
            public: false,
            locked: false,
        }
    }
}

impl ViewSettings {
    /// The setting names, in the order the gateway states them.
    pub const NAMES: [&'static str; 5] = [
        ViewSetting::Editable.as_str(),
        ViewSetting::Addable.as_str(),
        ViewSetting::Exportable.as_str(),
        ViewSetting::Public.as_str(),
        ViewSetting::Locked.as_str(),
    ];

    /// One setting's value.
    pub fn get(&self, setting: ViewSetting) -> bool {
        let mut copy = *self;
        *copy.slot(setting)
    }

    /// Every setting as `(name, value)`.
    pub fn entries(&self) -> [(&'static str, bool); 5] {
        ViewSetting::ALL.map(|s| (s.as_str(), self.get(s)))
    }

    /// Sets one setting by name.
    pub fn set(&mut self, name: &str, value: bool) -> Result<(), ModelError> {
        *self.slot(name.parse()?) = value;
        Ok(())
    }

    /// The field that holds `setting`.
    fn slot(&mut self, setting: ViewSetting) -> &mut bool {
        match setting {
            ViewSetting::Editable => &mut self.editable,
            ViewSetting::Addable => &mut self.addable,
            ViewSetting::Exportable => &mut self.exportable,
            ViewSetting::Public => &mut self.public,
            ViewSetting::Locked => &mut self.locked,
        }
    }
}

impl FromStr for ViewSetting {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(&Self::ALL, Self::as_str, s, ModelError::UnknownSetting)
    }
}
