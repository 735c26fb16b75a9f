//! `tessera policy test` as a real process: the shipped fixtures
//! (`policies/fixtures/*.toml`) all pass against the default policy and
//! route table, cover every reason code the decision path produces and
//! every route of the table; a deliberately wrong fixture exits 1 naming
//! it with what was expected, what happened and the explanation; an
//! invalid one exits 2 naming its file and field; `--policy` and
//! `--routes` are what the fixtures run against.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tessera::routes::RouteTable;

/// (exit code, stdout, stderr) of `tessera policy test ARGS`.
fn policy_test(args: &[&str]) -> (i32, String, String) {
    common::tessera_output(&[&["policy", "test"], args].concat())
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/fixtures")
}

fn shipped_count() -> usize {
    std::fs::read_dir(shipped())
        .expect("policies/fixtures")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .count()
}

use common::write_file as write;

/// The reason codes a decision (route table, verification, revocation,
/// registry, policy, an embed's query) produces; the rest belong to the
/// gateway's front doors (forwarded headers, method overrides, cookies)
/// or the admin API.
const DECISION_REASONS: [&str; 18] = [
    "missing_token",
    "malformed",
    "unknown_key",
    "bad_signature",
    "expired",
    "revoked",
    "no_right",
    "view_setting",
    "unknown_resource",
    "check_failed",
    "limits",
    "bad_path",
    "unknown_route",
    "sharer_lost_right",
    "embed_read_only",
    "embed_sort_filter",
    "embed_hidden_column",
    "personal_view",
];

#[test]
fn the_shipped_fixtures_pass_and_cover_every_reason_and_route() {
    let dir = shipped();
    let dir = dir.to_str().expect("utf-8");
    let count = shipped_count();
    assert!(count >= 100, "only {count} shipped fixtures");
    let (code, out, err) = policy_test(&[dir]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, format!("{count} passed, 0 failed\n"));

    let (code, json, err) = policy_test(&[dir, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(count as u64), Some(0))
    );
    let fixtures = v["fixtures"].as_array().expect("fixtures");
    assert_eq!(fixtures.len(), count);
    let names: BTreeSet<&str> = fixtures.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names.len(), count, "every fixture has its own name");
    let reasons: BTreeSet<&str> = fixtures
        .iter()
        .filter_map(|f| f["expected"]["reason"].as_str())
        .collect();
    for reason in DECISION_REASONS {
        assert!(
            reasons.contains(reason),
            "no shipped fixture expects {reason}"
        );
    }
    assert!(fixtures
        .iter()
        .any(|f| f["expected"]["decision"] == "allow"));
    let routes: BTreeSet<u64> = fixtures
        .iter()
        .filter_map(|f| f["route"].as_u64())
        .collect();
    let table = RouteTable::default_table().expect("default routes");
    let all: BTreeSet<u64> = (0..table.len() as u64).collect();
    assert_eq!(routes, all, "every route of the default table is exercised");
    // Member decisions carry their grounds in the explanation.
    let member = fixtures
        .iter()
        .find(|f| f["name"] == "group-entry-applies-over-the-users")
        .expect("the group fixture");
    assert_eq!(
        member["explanation"]["member"]["role"], "member",
        "{member}"
    );
}

const WRONG: &str = r#"name = "viewer writes (deliberately wrong)"
now = "2026-11-22T00:00:00Z"
expect = "allow"

[token]
kind = "member"
user = "u_vic"

[request]
method = "PATCH"
path = "/api/v1/tables/t_1/rows"

[registry.users]
u_vic = { email = "vic@example.com", name = "Vic" }

[registry.workspaces.ws_1]
roles = { u_vic = "viewer" }

[registry.tables.t_1]
workspace = "ws_1"
"#;

#[test]
fn a_wrong_fixture_exits_1_with_expected_actual_and_explanation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = write(dir.path(), "wrong.toml", WRONG);
    let right = write(
        dir.path(),
        "right.toml",
        &WRONG
            .replace(
                "expect = \"allow\"",
                "expect = \"deny\"\nreason = \"no_right\"",
            )
            .replace(" (deliberately wrong)", ""),
    );
    let (code, out, err) = policy_test(&[&wrong, &right]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("FAIL viewer writes (deliberately wrong) ({wrong})")
    );
    assert_eq!(lines[1], "  request:  write on table:t_1");
    assert_eq!(lines[2], "  expected: allow");
    assert_eq!(lines[3], "  actual:   deny (no_right)");
    assert_eq!(lines[4], "  explanation:");
    assert!(out.contains("    member u_vic: role viewer"), "{out}");
    assert!(out.contains("    registry gives: read, export"), "{out}");
    assert!(out.contains("      operation(\"write\");"), "{out}");
    assert!(
        out.contains("    decided by policy:\n      deny if true;"),
        "{out}"
    );
    assert_eq!(lines.last().copied(), Some("1 passed, 1 failed"));

    let (code, json, _) = policy_test(&[&wrong, "--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&json).expect("json");
    let f = &v["fixtures"][0];
    assert_eq!(f["passed"], false);
    assert_eq!(f["expected"]["decision"], "allow");
    assert_eq!(f["actual"]["decision"], "deny");
    assert_eq!(f["actual"]["reason"], "no_right");
    assert_eq!(f["explanation"]["policy"], "deny if true");
}

#[test]
fn an_invalid_fixture_exits_2_naming_its_file_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "reason.toml",
            WRONG.replace("expect = \"allow\"", "expect = \"deny\"\nreason = \"nope\""),
            "reason: \"nope\" is no reason code; use one of: missing_token,",
        ),
        (
            "kind.toml",
            WRONG.replace("kind = \"member\"", "kind = \"superuser\""),
            "token.kind (line 6): unknown variant `superuser`",
        ),
        (
            "field.toml",
            WRONG.replace("[request]", "[request]\nverb = \"GET\""),
            "request.verb (line 10): unknown field `verb`",
        ),
        (
            "request.toml",
            WRONG.replace("method = \"PATCH\"\n", ""),
            "request: give method and path, or operation and one of view, table, workspace;",
        ),
        (
            "user.toml",
            WRONG.replace("user = \"u_vic\"\n", ""),
            "token.user: a member token needs user;",
        ),
        (
            "registry.toml",
            format!("registry_file = \"missing.toml\"\n{WRONG}"),
            "registry_file: cannot read",
        ),
    ];
    for (name, text, message) in cases {
        let path = write(dir.path(), name, &text);
        let (code, out, err) = policy_test(&[&path]);
        assert_eq!((code, out.as_str()), (2, ""), "{name}: {err}");
        let expected = format!("tessera: {path}: {message}");
        assert!(
            err.starts_with(&expected),
            "{name}: {err}\nwanted: {expected}"
        );
        // The problem is lowercase; the hint may name README.md.
        let said = &err[format!("tessera: {path}: ").len()..];
        let problem = said.split("; ").next().unwrap_or(said);
        assert_eq!(problem, problem.to_lowercase(), "{name}: lowercase");
        assert!(err.contains("; "), "{name}: a hint: {err}");
    }
    let (code, _, err) = policy_test(&["/nonexistent/fixture.toml"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("tessera: cannot read the fixture /nonexistent/fixture.toml"),
        "{err}"
    );
}

#[test]
fn the_fixtures_run_against_the_policy_and_routes_given() {
    let shipped = shipped();
    let public = shipped.join("anonymous-reads-a-public-view.toml");
    let public = public.to_str().expect("utf-8");
    let dir = tempfile::tempdir().expect("tempdir");
    // A policy without the public-view rule: the fixture now fails.
    let policy = tessera::authorize::DEFAULT_POLICY.replace(
        "allow if operation(\"read\"), resource(\"view\", $v), view_setting($v, \"public\", true);",
        "",
    );
    assert_ne!(policy, tessera::authorize::DEFAULT_POLICY);
    let policy = write(dir.path(), "p.datalog", &policy);
    let (code, out, _) = policy_test(&[public, "--policy", &policy]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("  actual:   deny (missing_token)"), "{out}");
    // A route table without `/views/{view}`: no route matches.
    let routes = "[[route]]\nmethods = [\"GET\"]\npath = \"/other/{view}\"\noperation = \"read\"\nresource = \"view\"\n";
    let routes = write(dir.path(), "r.toml", routes);
    let (code, out, _) = policy_test(&[public, "--routes", &routes]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("  actual:   deny (unknown_route)"), "{out}");
}
