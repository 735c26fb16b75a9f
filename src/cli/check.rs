//! `tessera check`: the gateway's decision, offline or through `--server`,
//! and how it is printed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args};

use crate::authorize::{Decision, MemberGrounds, Policy, Request, RunLimits};
use crate::model::access::effective::Grounds;
use crate::model::access::Basis;
use crate::model::{Id, Operation, Resource};
use crate::store::datadir;
use crate::text::terminal_safe;

use super::backend::{Backend, CheckOptions};
use super::input::TokenArg;
use super::output::{exit_code, json_text};

/// `tessera check …`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("resource").required(true).args(["view", "table", "workspace"])))]
pub struct CheckArgs {
    /// The token: text, @FILE, a file path, or - for stdin. Omit it to ask as
    /// an anonymous visitor (public views).
    pub token: Option<TokenArg>,
    /// The operation: read, write, create, delete, export, manage, share,
    /// drop, billing or settings.
    #[arg(long)]
    pub op: Operation,
    /// The view asked about.
    #[arg(long)]
    pub view: Option<Id>,
    /// The table asked about.
    #[arg(long)]
    pub table: Option<Id>,
    /// The workspace asked about.
    #[arg(long)]
    pub workspace: Option<Id>,
    /// Show the facts given and which check or policy decided.
    #[arg(long)]
    pub explain: bool,
    /// Print the decision as JSON.
    #[arg(long)]
    pub json: bool,
    /// Use this Datalog policy instead of the embedded default.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Verify against this Biscuit Web Keys file instead of the data directory's keys.
    #[arg(long)]
    pub public_keys: Option<PathBuf>,
    /// Decide as of this RFC 3339 time instead of now ("will it still work on Friday?").
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is not an RFC 3339 time such as 2027-02-22T00:00:00Z"))
}

/// Decides and prints; exit code 0 allowed, 1 denied.
pub(crate) fn check(backend: &Backend, args: CheckArgs, now: DateTime<Utc>) -> Result<ExitCode> {
    let resource = match (&args.view, &args.table, &args.workspace) {
        (Some(v), _, _) => Resource::view(v.clone()),
        (_, Some(t), _) => Resource::table(t.clone()),
        (_, _, Some(w)) => Resource::workspace(w.clone()),
        _ => bail!("name the resource with --view, --table or --workspace"),
    };
    let request = Request {
        operation: args.op,
        resource,
    };
    let token = args.token.as_ref().map(TokenArg::read).transpose()?;
    let policy = match &args.policy {
        Some(path) => {
            let source = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read policy {}", path.display()))?;
            Some(
                Policy::from_source(&source, RunLimits::default())
                    .with_context(|| format!("policy {}", path.display()))?,
            )
        }
        None => None,
    };
    let at = args.at.unwrap_or(now);
    let public_keys = args
        .public_keys
        .as_deref()
        .map(|p| datadir::read_public_keyring(p, at))
        .transpose()?;
    let decision = backend.decide(
        token.as_ref().map(|t| t.as_str()),
        &request,
        CheckOptions {
            at,
            explain: args.explain,
            policy,
            public_keys,
        },
    )?;
    print_decision(&decision, &request, args.explain, args.json)?;
    Ok(exit_code(decision.allowed))
}

fn print_decision(decision: &Decision, request: &Request, explain: bool, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut v = serde_json::to_value(decision)?;
        if !explain {
            if let Some(o) = v.as_object_mut() {
                o.remove("explanation");
            }
        }
        writeln!(out, "{}", json_text(&v, true)?)?;
        return Ok(());
    }
    match decision.reason {
        None => writeln!(
            out,
            "allowed: {} on {}",
            request.operation, request.resource
        )?,
        Some(reason) => writeln!(out, "denied: {} ({})", reason.code(), reason.message())?,
    }
    if explain {
        for line in explanation_lines(decision) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// How a decision was reached, for people, each line terminal-safe: the
/// member's grounds, the facts given, the deciding policy, failed checks.
pub(super) fn explanation_lines(decision: &Decision) -> Vec<String> {
    // Failed checks are the token's own text; policies may be a file's.
    let e = &decision.explanation;
    let mut lines = Vec::new();
    if let Some(member) = &e.member {
        lines.extend(member_lines(member));
    }
    lines.push("facts given:".to_owned());
    lines.extend(e.facts.iter().map(|f| format!("  {f};")));
    if let Some(p) = &e.policy {
        lines.push("decided by policy:".to_owned());
        lines.push(format!("  {p};"));
    }
    if !e.failed_checks.is_empty() {
        lines.push("failed checks:".to_owned());
        lines.extend(e.failed_checks.iter().map(|c| format!("  {c}")));
    }
    if e.policy.is_none() && e.failed_checks.is_empty() {
        lines.push("decided before Datalog ran".to_owned());
    }
    lines
        .iter()
        .map(|l| terminal_safe(l).into_owned())
        .collect()
}

/// What decided a member's rights, for people: the role, the table's
/// modes, and per scope the mode, entry, groups, author or role that gave
/// what it gave.
fn member_lines(m: &MemberGrounds) -> Vec<String> {
    let role = match m.role {
        Some(role) => format!("role {role}"),
        None => "not a member of the workspace".to_owned(),
    };
    let mut lines = vec![format!("member {}: {role}", m.user)];
    if let Some(t) = &m.table {
        let author = t
            .author
            .as_ref()
            .map_or_else(String::new, |a| format!(" (author {a})"));
        lines.push(format!(
            "table {}{author}: structure {}, records {}",
            t.table, t.structure_mode, t.records_mode
        ));
        lines.push(format!("  structure: {}", scope_line(&t.rights.structure)));
        lines.push(format!("  records: {}", scope_line(&t.rights.records)));
    }
    let ops: Vec<&str> = m.operations.iter().map(|o| o.as_str()).collect();
    let ops = if ops.is_empty() {
        "nothing".to_owned()
    } else {
        ops.join(", ")
    };
    lines.push(format!("registry gives: {ops}"));
    lines
}

fn scope_line(g: &Grounds) -> String {
    let rights: Vec<&str> = g.rights.permissions().iter().map(|p| p.as_str()).collect();
    let rights = if rights.is_empty() {
        "no rights".to_owned()
    } else {
        rights.join(", ")
    };
    let by = match &g.basis {
        Basis::NotMember => "not a member".to_owned(),
        Basis::Role { role } => format!("role {role} reaches every table"),
        Basis::Author => "the table's author".to_owned(),
        Basis::Mode { mode } => format!("mode {mode}"),
        Basis::UserEntry => "the user's own entry".to_owned(),
        Basis::GroupEntries { groups } => {
            let names: Vec<&str> = groups.iter().map(|g| g.as_str()).collect();
            format!(
                "the entry of group {} (applies over the user's own)",
                names.join(", ")
            )
        }
        Basis::NoEntry => "no entry for the user or its groups".to_owned(),
    };
    let cap = if g.capped_by_role {
        ", capped by the role"
    } else {
        ""
    };
    format!("{rights} (decided by {by}{cap})")
}
