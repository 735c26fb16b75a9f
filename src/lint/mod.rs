//! `tessera policy lint`'s pure core: findings in a policy's Datalog and a
//! route table's TOML, from their text (no I/O; the CLI reads the files).
//!
//! Routes: the table is loaded as the gateway loads it
//! ([`RouteTable::from_toml`]), so overlapping (unreachable) routes, a path
//! without its resource's parameter and an unknown operation are the
//! refusals the gateway would make at start, each as a finding. Policies:
//! the text must load as the gateway loads it; a policy or rule whose body
//! names a predicate that no fact of the request, the token, the file's
//! own facts or any rule provides can never match; `operation("…")`
//! naming an operation outside the vocabulary can never match; and the
//! last policy must be `deny if true`, so the policy fails closed.

mod datalog;
mod provided;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::authorize::{Policy, RunLimits};
use crate::model::Operation;
use crate::routes::{RouteTable, RouteTableError};

use datalog::{statements, Kind};

pub use provided::{decision_predicates, predicates_given_by, DecideFn};

/// The predicates the decision provided to every policy when this list
/// was written (kept for callers; the lint reads them from the decision
/// path itself, [`decision_predicates`], so it cannot drift).
pub const PROVIDED_PREDICATES: [&str; 12] = [
    "time",
    "operation",
    "resource",
    "parent",
    "view_setting",
    "member_right",
    "right",
    "kind",
    "user",
    "workspace",
    "token_id",
    "tessera",
];

/// One finding: a stable code, where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `overlapping_routes`, `missing_resource_parameter`,
    /// `unknown_operation`, `invalid_routes`, `invalid_policy`,
    /// `never_matches`, `no_final_deny`.
    pub code: &'static str,
    /// `policy` or `routes`.
    pub file: &'static str,
    /// The line (from 1) when one is known.
    pub line: Option<usize>,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}: {}", self.file, self.code, self.message),
            None => write!(f, "{}: {}: {}", self.file, self.code, self.message),
        }
    }
}

/// The findings of a route table.
pub fn lint_routes(text: &str) -> Vec<Finding> {
    let Err(e) = RouteTable::from_toml(text) else {
        return Vec::new();
    };
    let code = match &e {
        RouteTableError::Overlap { .. } => "overlapping_routes",
        RouteTableError::BadTemplate { problem, .. } if problem.contains("for its resource") => {
            "missing_resource_parameter"
        }
        RouteTableError::Syntax(m) if m.contains("unknown variant") => "unknown_operation",
        _ => "invalid_routes",
    };
    vec![Finding {
        code,
        file: "routes",
        line: None,
        message: e.to_string(),
    }]
}

/// The findings of a policy, against the predicates the decision path
/// provides ([`decision_predicates`]).
pub fn lint_policy(text: &str) -> Vec<Finding> {
    lint_policy_with(text, &decision_predicates())
}

/// The findings of a policy given what the decision provides: `provided`
/// (the request's and the token's facts) and the policy's own facts and
/// rule heads.
pub fn lint_policy_with(text: &str, provided: &BTreeSet<String>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let finding = |code, line, message| Finding {
        code,
        file: "policy",
        line: Some(line),
        message,
    };
    if let Err(e) = Policy::from_source(text, RunLimits::default()) {
        findings.push(Finding {
            code: "invalid_policy",
            file: "policy",
            line: None,
            message: e.to_string(),
        });
        return findings;
    }
    let all = statements(text);
    let provided: Vec<&str> = provided
        .iter()
        .map(String::as_str)
        .chain(all.iter().filter_map(|s| s.head.as_deref()))
        .collect();
    let operations: Vec<&str> = Operation::ALL.iter().map(|o| o.as_str()).collect();
    for s in &all {
        if !matches!(s.kind, Kind::Policy | Kind::Rule) {
            continue;
        }
        for p in &s.body {
            if !provided.contains(&p.as_str()) {
                let message = format!(
                    "`{}` names {p}(…), which no fact or rule provides: it can never match",
                    s.first_words()
                );
                findings.push(finding("never_matches", s.line, message));
            }
        }
        for op in &s.operations {
            if !operations.contains(&op.as_str()) {
                let message = format!(
                    "operation({op:?}) is no operation ({}): `{}` can never match it",
                    operations.join(", "),
                    s.first_words()
                );
                findings.push(finding("unknown_operation", s.line, message));
            }
        }
    }
    let last = all.iter().rev().find(|s| s.kind == Kind::Policy);
    if last.is_none_or(|s| s.text != "deny if true") {
        let line = last.map_or(1, |s| s.line);
        let message =
            "the last policy is not `deny if true`: add it so what no policy allows is denied"
                .to_owned();
        findings.push(finding("no_final_deny", line, message));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_lint_clean() {
        assert_eq!(lint_policy(crate::authorize::DEFAULT_POLICY), vec![]);
        assert_eq!(lint_routes(crate::routes::DEFAULT_ROUTES), vec![]);
    }

    #[test]
    fn the_decision_path_provides_what_the_list_once_said() {
        let derived = decision_predicates();
        for p in PROVIDED_PREDICATES {
            assert!(
                derived.contains(p),
                "{p} not read from the decision path: {derived:?}"
            );
        }
        // Embed links and links made by members carry their own facts.
        assert!(
            derived.contains("shared_by") && derived.contains("embed"),
            "{derived:?}"
        );
    }

    /// The decision path with one more fact: what `authorize` would give
    /// the policy if it started adding `region("eu")`.
    fn with_region(
        ctx: &crate::authorize::Context<'_>,
        token: Option<&str>,
        request: &crate::authorize::Request,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::authorize::Decision {
        let mut d = crate::authorize::decide(ctx, token, request, now);
        d.explanation.facts.push("region(\"eu\")".to_owned());
        d
    }

    #[test]
    fn a_predicate_the_decision_path_adds_is_known_without_a_list() {
        let text = format!(
            "allow if region(\"eu\");\n{}",
            crate::authorize::DEFAULT_POLICY
        );
        let codes = |provided| -> Vec<_> {
            lint_policy_with(&text, &provided)
                .into_iter()
                .map(|f| f.code)
                .collect()
        };
        assert_eq!(codes(decision_predicates()), ["never_matches"]);
        assert_eq!(codes(predicates_given_by(with_region)), Vec::<&str>::new());
    }

    #[test]
    fn each_policy_finding_names_its_line() {
        let text =
            "allow if operation(\"fly\");\n// a comment; with a semicolon\nallow if frobbed($x);\n";
        let codes: Vec<_> = lint_policy(text)
            .into_iter()
            .map(|f| (f.code, f.line))
            .collect();
        assert_eq!(
            codes,
            [
                ("unknown_operation", Some(1)),
                ("never_matches", Some(3)),
                ("no_final_deny", Some(3))
            ]
        );
    }
}
