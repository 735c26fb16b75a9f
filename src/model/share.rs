//! Member-made shares and embeds of a view: the share presets
//! (`read-only`, `editor`, `auditor`), the embed modes (`public`,
//! `filtered`, `interactive`) and what each mode refuses in a request's
//! query. Pure data; the gateway reads the query through the route table.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::resource::Operation;

/// The permissions a "Share with Guest" link is made with, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SharePreset {
    /// `read-only`: read.
    #[serde(rename = "read-only")]
    ReadOnly,
    /// `editor`: read, write, create.
    #[serde(rename = "editor")]
    Editor,
    /// `auditor`: read, export.
    #[serde(rename = "auditor")]
    Auditor,
}

impl SharePreset {
    /// Every preset, in documentation order.
    pub const ALL: [SharePreset; 3] = [
        SharePreset::ReadOnly,
        SharePreset::Editor,
        SharePreset::Auditor,
    ];

    /// The preset's name, as the API and the CLI take it.
    pub fn as_str(self) -> &'static str {
        match self {
            SharePreset::ReadOnly => "read-only",
            SharePreset::Editor => "editor",
            SharePreset::Auditor => "auditor",
        }
    }

    /// The operations the preset gives the guest.
    pub fn operations(self) -> BTreeSet<Operation> {
        match self {
            SharePreset::ReadOnly => [Operation::Read].into(),
            SharePreset::Editor => [Operation::Read, Operation::Write, Operation::Create].into(),
            SharePreset::Auditor => [Operation::Read, Operation::Export].into(),
        }
    }
}

impl FromStr for SharePreset {
    type Err = String;
    /// The preset named `s`; the error is the (shortened) name refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SharePreset::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| s.chars().take(64).collect())
    }
}

impl fmt::Display for SharePreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The first operation of `asked` that `held` lacks: what a member may not
/// hand on (`None`: everything asked is held).
pub fn first_missing(asked: &BTreeSet<Operation>, held: &BTreeSet<Operation>) -> Option<Operation> {
    asked.difference(held).next().copied()
}

/// How an embedded view may be shown (TinyTables' embed types). Every mode
/// reads only; the upstream is told the mode (`X-Tessera-Embed`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EmbedMode {
    /// A read-only grid of all the view's rows: no sorting, no filtering.
    Public,
    /// Only the rows matching the view's own filters: no sorting, no
    /// filtering by the page.
    Filtered,
    /// Sorting and filtering allowed, never by a column the view hides; no edits.
    Interactive,
}

impl EmbedMode {
    /// Every mode, in documentation order.
    pub const ALL: [EmbedMode; 3] = [
        EmbedMode::Public,
        EmbedMode::Filtered,
        EmbedMode::Interactive,
    ];

    /// The mode's name, as the API, the token and the upstream header say it.
    pub fn as_str(self) -> &'static str {
        match self {
            EmbedMode::Public => "public",
            EmbedMode::Filtered => "filtered",
            EmbedMode::Interactive => "interactive",
        }
    }

    /// What the mode refuses in a request whose query does `uses`, for a
    /// view hiding `hidden` (column names, compared without regard to ASCII
    /// case): any sort or filter in a public or filtered embed; a sort or
    /// filter naming a hidden column in an interactive one.
    pub fn refusal(self, uses: &[QueryUse], hidden: &BTreeSet<String>) -> Option<EmbedRefusal> {
        let first = uses.first()?;
        if self != EmbedMode::Interactive {
            return Some(EmbedRefusal::SortOrFilter(first.parameter().to_owned()));
        }
        uses.iter().find_map(|u| {
            u.columns()
                .iter()
                .find(|c| hidden.iter().any(|h| h.eq_ignore_ascii_case(c)))
                .map(|c| EmbedRefusal::HiddenColumn(c.clone()))
        })
    }
}

impl FromStr for EmbedMode {
    type Err = String;
    /// The mode named `s`; the error is the (shortened) name refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmbedMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| s.chars().take(64).collect())
    }
}

impl fmt::Display for EmbedMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What one query parameter of a request does, as the route table says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryUse {
    /// It sorts, by these columns (none when the table names none).
    Sort {
        /// The parameter's name as written (decoded).
        parameter: String,
        /// The columns it names.
        columns: Vec<String>,
    },
    /// It filters, by these columns (none for a free-text search).
    Filter {
        /// The parameter's name as written (decoded).
        parameter: String,
        /// The columns it names.
        columns: Vec<String>,
    },
}

impl QueryUse {
    /// The parameter's name.
    pub fn parameter(&self) -> &str {
        match self {
            QueryUse::Sort { parameter, .. } | QueryUse::Filter { parameter, .. } => parameter,
        }
    }

    /// The columns it names.
    pub fn columns(&self) -> &[String] {
        match self {
            QueryUse::Sort { columns, .. } | QueryUse::Filter { columns, .. } => columns,
        }
    }
}

/// Why an embed refuses a request's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbedRefusal {
    /// A sort or filter parameter (named) in a public or filtered embed.
    SortOrFilter(String),
    /// A sort or filter naming a column (named) the view hides.
    HiddenColumn(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(column: &str) -> QueryUse {
        QueryUse::Filter {
            parameter: format!("filter[{column}]"),
            columns: vec![column.to_owned()],
        }
    }

    #[test]
    fn presets_name_their_operations() {
        use Operation::*;
        assert_eq!(SharePreset::ReadOnly.operations(), [Read].into());
        assert_eq!(
            SharePreset::Editor.operations(),
            [Read, Write, Create].into()
        );
        assert_eq!(SharePreset::Auditor.operations(), [Read, Export].into());
        for p in SharePreset::ALL {
            assert_eq!(p.as_str().parse::<SharePreset>(), Ok(p));
        }
        assert_eq!("admin".parse::<SharePreset>(), Err("admin".to_owned()));
        let held = [Read, Write].into();
        assert_eq!(
            first_missing(&SharePreset::Auditor.operations(), &held),
            Some(Export)
        );
        assert_eq!(first_missing(&[Read].into(), &held), None);
    }

    #[test]
    fn only_interactive_embeds_sort_and_filter_and_never_by_a_hidden_column() {
        let hidden: BTreeSet<String> = ["salary".to_owned()].into();
        let uses = [filter("status")];
        for mode in [EmbedMode::Public, EmbedMode::Filtered] {
            assert_eq!(
                mode.refusal(&uses, &hidden),
                Some(EmbedRefusal::SortOrFilter("filter[status]".into()))
            );
            assert_eq!(mode.refusal(&[], &hidden), None);
        }
        assert_eq!(EmbedMode::Interactive.refusal(&uses, &hidden), None);
        assert_eq!(
            EmbedMode::Interactive.refusal(&[filter("status"), filter("SALARY")], &hidden),
            Some(EmbedRefusal::HiddenColumn("SALARY".into()))
        );
    }
}
