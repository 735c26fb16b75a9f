//! `tessera policy …`: `lint` reads a policy and a route table (the
//! built-in defaults unless given) and prints one line per finding
//! ([`crate::lint`]), exit 1 when there is any; `test` runs fixtures
//! against them (`policy_test.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::lint::{lint_policy, lint_routes, Finding};

use super::output::json_text;

/// `tessera policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Find what can never work in a policy and a route table: overlapping
    /// or unreachable routes, a route without its resource's parameter,
    /// unknown operations, policies that can never match, no final
    /// `deny if true`. Exit 1 with one line per finding.
    Lint {
        /// The policy (Datalog); default: the built-in one.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The route table (TOML); default: the built-in one.
        #[arg(long)]
        routes: Option<PathBuf>,
        /// Print `{"findings": [{code, file, line, message}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Run policy fixtures (a token, a request, registry facts, the
    /// decision expected) through the real decision path against the
    /// policy and route table. Exit 0 all pass, 1 any fails, 2 a fixture
    /// that cannot be read.
    Test(super::policy_test::TestArgs),
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} {}; check the path", path.display()))
}

/// The policy's and the route table's text: the files, else the built-in ones.
fn texts(policy: Option<&Path>, routes: Option<&Path>) -> Result<(String, String)> {
    let policy_text = match policy {
        Some(path) => read(path, "policy")?,
        None => crate::authorize::DEFAULT_POLICY.to_owned(),
    };
    let routes_text = match routes {
        Some(path) => read(path, "route table")?,
        None => crate::routes::DEFAULT_ROUTES.to_owned(),
    };
    Ok((policy_text, routes_text))
}

/// Runs `tessera policy …`.
pub(crate) fn policy(cmd: PolicyCommand) -> Result<ExitCode> {
    let (policy, routes, json) = match cmd {
        PolicyCommand::Lint {
            policy,
            routes,
            json,
        } => (policy, routes, json),
        PolicyCommand::Test(args) => {
            let (p, r) = texts(args.policy.as_deref(), args.routes.as_deref())?;
            return super::policy_test::test(&args, &p, &r);
        }
    };
    let (policy_text, routes_text) = texts(policy.as_deref(), routes.as_deref())?;
    let mut findings: Vec<Finding> = lint_policy(&policy_text);
    findings.extend(lint_routes(&routes_text));
    if json {
        println!(
            "{}",
            json_text(&serde_json::json!({ "findings": findings }), true)?
        );
    } else {
        for f in &findings {
            println!("{}", crate::text::terminal_safe(&f.to_string()));
        }
    }
    Ok(super::output::exit_code(findings.is_empty()))
}
