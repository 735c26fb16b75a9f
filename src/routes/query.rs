//! A route's query-parameter rules: which parameters sort or filter the
//! rows a route answers, and where they name a column — what embeds are
//! checked against (`model::EmbedMode::refusal`). Pure: the query text in,
//! the [`QueryUse`]s out.

use percent_encoding::percent_decode_str;
use serde::Deserialize;

use crate::model::QueryUse;

/// Most query parameters read from one request; more is refused as a bad path.
const MAX_QUERY_PARAMETERS: usize = 256;

/// What a query parameter does to the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Means {
    /// It orders them.
    Sort,
    /// It selects some of them.
    Filter,
}

/// Where a parameter names its column(s).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Column {
    /// Nowhere (a free-text search).
    #[default]
    None,
    /// In its value: comma-separated items, each without a leading `-` or
    /// `+` and up to a `:` (`sort=-price,name`, `filter=status:open`).
    Value,
    /// In brackets after its name (`filter[status]=open`); written without
    /// brackets, in its value as for `value`.
    Bracket,
}

/// One query-parameter rule of a route (`query = [{ name, means, column }]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryRule {
    /// The parameter's name, compared without regard to ASCII case.
    pub(super) name: String,
    /// Sort or filter.
    pub(super) means: Means,
    /// Where it names a column.
    #[serde(default)]
    pub(super) column: Column,
}

impl QueryRule {
    /// A rule's problem, for the route table's load error.
    pub(super) fn problem(&self) -> Option<String> {
        let plain = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        (!plain).then(|| format!("query parameter {:?} is not a plain name", self.name))
    }

    /// What the parameter `name` = `value` does under this rule, when the
    /// rule is about it.
    fn reads(&self, name: &str, value: &str) -> Option<QueryUse> {
        let columns = if name.eq_ignore_ascii_case(&self.name) {
            match self.column {
                Column::None => Vec::new(),
                Column::Value | Column::Bracket => value_columns(value),
            }
        } else {
            let rest = name.get(self.name.len()..)?;
            let prefix = name.get(..self.name.len())?;
            if self.column != Column::Bracket
                || !prefix.eq_ignore_ascii_case(&self.name)
                || !rest.starts_with('[')
            {
                return None;
            }
            let inside = rest[1..].split(']').next().unwrap_or("").trim();
            if inside.is_empty() {
                value_columns(value)
            } else {
                vec![inside.to_owned()]
            }
        };
        let parameter = name.to_owned();
        Some(match self.means {
            Means::Sort => QueryUse::Sort { parameter, columns },
            Means::Filter => QueryUse::Filter { parameter, columns },
        })
    }
}

/// The columns a `value`-style parameter names.
fn value_columns(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|item| {
            let item = item.trim().trim_start_matches(['-', '+']);
            item.split(':').next().unwrap_or("").trim().to_owned()
        })
        .filter(|c| !c.is_empty())
        .collect()
}

/// One `application/x-www-form-urlencoded` part, decoded (`+` is a space).
fn decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
        .filter(|s| !s.chars().any(char::is_control))
}

/// What the query of `raw_path` does under `rules`: one [`QueryUse`] per
/// parameter a rule is about. `None` when the query cannot be read (bad
/// encoding, control characters, too many parameters).
pub(super) fn uses(rules: &[QueryRule], raw_path: &str) -> Option<Vec<QueryUse>> {
    let without_fragment = raw_path.split('#').next().unwrap_or("");
    let Some((_, query)) = without_fragment.split_once('?') else {
        return Some(Vec::new());
    };
    let mut found = Vec::new();
    for (i, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
        if i >= MAX_QUERY_PARAMETERS {
            return None;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (decode(name)?, decode(value)?);
        found.extend(rules.iter().find_map(|r| r.reads(name.trim(), &value)));
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Vec<QueryRule> {
        let rule = |name: &str, means, column| QueryRule {
            name: name.into(),
            means,
            column,
        };
        vec![
            rule("sort", Means::Sort, Column::Value),
            rule("filter", Means::Filter, Column::Bracket),
            rule("q", Means::Filter, Column::None),
        ]
    }

    fn columns(path: &str) -> Vec<(String, Vec<String>)> {
        uses(&rules(), path)
            .unwrap()
            .into_iter()
            .map(|u| (u.parameter().to_owned(), u.columns().to_vec()))
            .collect()
    }

    #[test]
    fn sort_and_filter_parameters_name_their_columns() {
        let s = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert_eq!(columns("/rows"), vec![]);
        assert_eq!(columns("/rows?limit=5&page=2"), vec![]);
        assert_eq!(
            columns("/rows?sort=-price,+name"),
            vec![("sort".into(), s(&["price", "name"]))]
        );
        assert_eq!(
            columns("/rows?filter%5Bsalary%5D=1&FILTER[a][eq]=2"),
            vec![
                ("filter[salary]".into(), s(&["salary"])),
                ("FILTER[a][eq]".into(), s(&["a"]))
            ]
        );
        assert_eq!(
            columns("/rows?filter=status:open&q=ana+b"),
            vec![("filter".into(), s(&["status"])), ("q".into(), vec![])]
        );
        assert_eq!(columns("/rows?filters=x&sortx=y"), vec![]);
        assert!(uses(&rules(), "/rows?sort=%ff").is_none());
        assert!(uses(&rules(), "/rows?sort=a%0a").is_none());
        let many = format!("/rows?{}", "a=1&".repeat(300));
        assert!(uses(&rules(), &many).is_none());
    }
}
