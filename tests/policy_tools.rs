//! `tessera policy lint` as a real process: the built-in policy and route
//! table lint clean; a bad file for each finding answers exit 1 with one
//! line naming its code (and `--json` the same findings for machines); an
//! unreadable file is a usage error (exit 2) naming it.

mod common;

use serde_json::Value;

const DEFAULT_POLICY: &str = include_str!("../policies/default.datalog");
const DEFAULT_ROUTES: &str = include_str!("../policies/routes.toml");

/// (exit code, stdout, stderr) of `tessera policy lint ARGS`.
fn lint(args: &[&str]) -> (i32, String, String) {
    common::tessera_output(&[&["policy", "lint"], args].concat())
}

use common::write_file as write;

#[test]
fn the_defaults_lint_clean() {
    let (code, out, err) = lint(&[]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = write(dir.path(), "p.datalog", DEFAULT_POLICY);
    let routes = write(dir.path(), "r.toml", DEFAULT_ROUTES);
    let (code, out, _) = lint(&["--policy", &policy, "--routes", &routes, "--json"]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["findings"], serde_json::json!([]));
}

#[test]
fn each_policy_finding_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let without_deny = DEFAULT_POLICY.replace("deny if true;", "");
    let cases = [
        ("no_final_deny", without_deny.clone()),
        (
            "never_matches",
            format!("allow if operation($op), granted($op);\n{DEFAULT_POLICY}"),
        ),
        (
            "unknown_operation",
            format!("allow if operation(\"fly\"), resource(\"view\", $v);\n{DEFAULT_POLICY}"),
        ),
        ("invalid_policy", "allow if (((;".to_owned()),
    ];
    for (finding, text) in cases {
        let policy = write(dir.path(), &format!("{finding}.datalog"), &text);
        let (code, out, err) = lint(&["--policy", &policy]);
        assert_eq!(code, 1, "{finding}: {out}{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{finding}: one line per finding: {out}");
        assert!(lines[0].starts_with("policy"), "{}", lines[0]);
        assert!(lines[0].contains(finding), "{finding}: {}", lines[0]);
        let (code, json, _) = lint(&["--policy", &policy, "--json"]);
        assert_eq!(code, 1);
        let json: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(json["findings"][0]["code"], finding);
    }
    let policy = write(
        dir.path(),
        "line.datalog",
        &format!("// one\n\nallow if granted(1);\n{DEFAULT_POLICY}"),
    );
    let (_, out, _) = lint(&["--policy", &policy]);
    assert!(out.starts_with("policy:3: never_matches:"), "{out}");
}

#[test]
fn each_route_finding_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let route = |path: &str, operation: &str, resource: &str| {
        format!("[[route]]\nmethods = [\"GET\"]\npath = \"{path}\"\noperation = \"{operation}\"\nresource = \"{resource}\"\n")
    };
    let cases = [
        (
            "overlapping_routes",
            format!(
                "{}{}",
                route("/v/{view}", "read", "view"),
                route("/v/{table}", "read", "table")
            ),
        ),
        (
            "missing_resource_parameter",
            route("/v/{table}", "read", "view"),
        ),
        ("unknown_operation", route("/v/{view}", "fly", "view")),
        ("invalid_routes", "[[route]]\nmethods = 3\n".to_owned()),
    ];
    for (finding, text) in cases {
        let routes = write(dir.path(), &format!("{finding}.toml"), &text);
        let (code, out, err) = lint(&["--routes", &routes]);
        assert_eq!(code, 1, "{finding}: {out}{err}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.starts_with(&format!("routes: {finding}:")),
            "{finding}: {out}"
        );
    }
}

#[test]
fn an_unreadable_file_is_a_usage_error_naming_it() {
    let (code, out, err) = lint(&["--policy", "/nonexistent/policy.datalog"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("tessera: cannot read the policy /nonexistent/policy.datalog"),
        "{err}"
    );
}
