//! `tessera policy test FIXTURES…`: reading fixture files (or the
//! `*.toml` files of directories) and the files they name, running each
//! through the decision path ([`crate::fixtures`]) against the configured
//! policy and route table, printing the failures with their explanation
//! and a summary line. Exit 0 all passed, 1 any failed, 2 a fixture that
//! cannot be read or run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::authorize::{Policy, RunLimits};
use crate::fixtures::{Fixture, Outcome, Setup};
use crate::routes::RouteTable;
use crate::text::terminal_safe;

use super::check::explanation_lines;
use super::output::{exit_code, json_text};

/// `tessera policy test …`
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Fixture files, or directories whose `*.toml` files are fixtures.
    #[arg(required = true)]
    pub fixtures: Vec<PathBuf>,
    /// The policy (Datalog); default: the built-in one.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// The route table (TOML); default: the built-in one.
    #[arg(long)]
    pub routes: Option<PathBuf>,
    /// Print `{"fixtures": [{name, file, passed, expected, actual, request,
    /// route, explanation}], "passed": N, "failed": M}`.
    #[arg(long)]
    pub json: bool,
}

/// The policy's run limits here: the gateway's facts and iterations, and
/// a time backstop a loaded machine never trips (fixtures pin decisions,
/// not speed).
fn limits() -> RunLimits {
    RunLimits {
        max_time: std::time::Duration::from_secs(2),
        ..RunLimits::default()
    }
}

/// Runs `tessera policy test`, given the policy's and the route table's text.
pub(crate) fn test(args: &TestArgs, policy_text: &str, routes_text: &str) -> Result<ExitCode> {
    let policy = Policy::from_source(policy_text, limits()).context("the policy does not load")?;
    let routes = RouteTable::from_toml(routes_text).context("the route table does not load")?;
    let setup = Setup {
        policy: &policy,
        routes: &routes,
    };
    let mut parsed = Vec::new();
    for path in fixture_files(&args.fixtures)? {
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("cannot read the fixture {}; check the path", path.display())
        })?;
        let file = path.display().to_string();
        parsed.push((Fixture::parse(&file, &text)?, path, file));
    }
    let clock = chrono::Utc::now();
    let mut outcomes = Vec::new();
    for (fixture, path, file) in &parsed {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| {
                let e = e.to_string().to_lowercase();
                format!("cannot read {name} ({e}), which is relative to the fixture's directory")
            })
        };
        let stem = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        outcomes.push(fixture.run(file, fixture.name_or(&stem), setup, clock, &mut read)?);
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let passed = outcomes.len() - failed;
    if args.json {
        let mut list = Vec::new();
        for o in &outcomes {
            let mut v = serde_json::to_value(o)?;
            v["explanation"] = serde_json::to_value(&o.decision.explanation)?;
            list.push(v);
        }
        let all = serde_json::json!({ "fixtures": list, "passed": passed, "failed": failed });
        println!("{}", json_text(&all, true)?);
    } else {
        for o in outcomes.iter().filter(|o| !o.passed) {
            for line in failure_lines(o) {
                println!("{line}");
            }
        }
        println!("{passed} passed, {failed} failed");
    }
    Ok(exit_code(failed == 0))
}

/// A failed fixture for people: its name and file, the request, what was
/// expected, what happened and the decision's explanation.
fn failure_lines(o: &Outcome) -> Vec<String> {
    let mut lines = vec![terminal_safe(&format!("FAIL {} ({})", o.name, o.file)).into_owned()];
    if let Some(r) = &o.request {
        lines.push(format!("  request:  {} on {}", r.operation, r.resource));
    }
    lines.push(format!("  expected: {}", o.expected));
    lines.push(format!("  actual:   {}", o.actual));
    lines.push("  explanation:".to_owned());
    lines.extend(
        explanation_lines(&o.decision)
            .into_iter()
            .map(|l| format!("    {l}")),
    );
    lines
}

/// The fixture files named: files as given, directories' `*.toml` files
/// (not their subdirectories) in name order.
fn fixture_files(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            files.push(arg.clone());
            continue;
        }
        let read = || {
            format!(
                "cannot read the fixture directory {}; check the path",
                arg.display()
            )
        };
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir(arg).with_context(read)? {
            let p = entry.with_context(read)?.path();
            if p.is_file() && p.extension().is_some_and(|x| x == "toml") {
                found.push(p);
            }
        }
        if found.is_empty() {
            anyhow::bail!(
                "the fixture directory {} holds no *.toml file; name fixture files or a directory of them",
                arg.display()
            );
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}
