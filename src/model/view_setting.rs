//! [`ViewSetting`]: the one place the names of a view's settings
//! (`editable`, `addable`, `exportable`, `public`, `locked`) are written.

use std::fmt;

/// One of a view's settings, by the name the CLI's flags (`--editable`),
/// the admin API's fields, the registry, the Datalog facts and the error
/// messages all use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViewSetting {
    /// `editable`: rows may be edited or deleted.
    Editable,
    /// `addable`: rows may be added.
    Addable,
    /// `exportable`: data may be exported.
    Exportable,
    /// `public`: anyone may read the view without a token.
    Public,
    /// `locked`: nobody may change the view's configuration.
    Locked,
}

impl ViewSetting {
    /// Every setting, in the order the gateway states them.
    pub const ALL: [ViewSetting; 5] = [
        ViewSetting::Editable,
        ViewSetting::Addable,
        ViewSetting::Exportable,
        ViewSetting::Public,
        ViewSetting::Locked,
    ];

    /// The setting's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ViewSetting::Editable => "editable",
            ViewSetting::Addable => "addable",
            ViewSetting::Exportable => "exportable",
            ViewSetting::Public => "public",
            ViewSetting::Locked => "locked",
        }
    }

    /// The names as a sentence lists them: `editable, addable, exportable,
    /// public or locked`.
    pub fn listed() -> String {
        let [rest @ .., last] = ViewSetting::ALL.map(ViewSetting::as_str);
        format!("{} or {last}", rest.join(", "))
    }

    /// The settings given a value, as `(name, value)`: `values` holds one
    /// optional value per setting, in the order of [`ViewSetting::ALL`]
    /// (the order of the fields of every type that lists them: flags, JSON).
    pub fn changes(values: [Option<bool>; 5]) -> Vec<(&'static str, bool)> {
        ViewSetting::ALL
            .into_iter()
            .zip(values)
            .filter_map(|(s, v)| v.map(|v| (s.as_str(), v)))
            .collect()
    }
}

impl fmt::Display for ViewSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
