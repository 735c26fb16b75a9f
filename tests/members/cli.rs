//! The members commands through the CLI binary, on the local store and
//! through a running gateway (`--server`).

use chrono::Duration;
use serde_json::{json, Value};

use super::assert_expires_in;
use crate::server::Server;

/// `tessera --data-dir DATA [--server URL] ARGS…`: success's stdout as JSON
/// (or text when it is not JSON).
fn cli(data: &std::path::Path, server: Option<&str>, args: &[&str], stdin: &str) -> Value {
    let mut c = assert_cmd::Command::cargo_bin("tessera").unwrap();
    c.arg("--data-dir").arg(data);
    if let Some(url) = server {
        c.args(["--server", url]);
    }
    let out = c.args(args).write_stdin(stdin).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// `tessera … ARGS…` failing: its stderr.
fn cli_fails(data: &std::path::Path, server: Option<&str>, args: &[&str]) -> String {
    let mut c = assert_cmd::Command::cargo_bin("tessera").unwrap();
    c.arg("--data-dir").arg(data);
    if let Some(url) = server {
        c.args(["--server", url]);
    }
    let out = c.args(args).assert().failure();
    String::from_utf8(out.get_output().stderr.clone()).unwrap()
}

/// The members commands, end to end, on the local store or through a gateway.
fn members_through_the_cli(data: &std::path::Path, server: Option<&str>) {
    let run = |args: &[&str]| cli(data, server, args, "");
    run(&["table", "set", "t_1", "--workspace", "ws_1"]);
    for user in ["u_own", "u_mem", "u_out"] {
        let email = format!("{user}@example.com");
        let shown = run(&[
            "user", "put", user, "--email", &email, "--name", user, "--json",
        ]);
        assert_eq!(shown["email"], email.as_str());
    }
    run(&[
        "member",
        "set",
        "--workspace",
        "ws_1",
        "--user",
        "u_own",
        "--role",
        "owner",
    ]);
    let set = run(&[
        "member",
        "set",
        "--workspace",
        "ws_1",
        "--user",
        "u_mem",
        "--role",
        "member",
        "--json",
    ]);
    assert_eq!(set["role"], "member");
    let list = run(&["member", "list", "--workspace", "ws_1", "--json"]);
    assert_eq!(
        list["members"],
        json!([{ "workspace": "ws_1", "user": "u_mem", "role": "member" },
               { "workspace": "ws_1", "user": "u_own", "role": "owner" }])
    );
    let group = run(&[
        "group",
        "put",
        "g_fin",
        "--workspace",
        "ws_1",
        "--name",
        "Finance",
        "--members",
        "u_mem,u_own",
        "--json",
    ]);
    assert_eq!(group["members"], json!(["u_mem", "u_own"]));

    let access = run(&[
        "table",
        "access",
        "t_1",
        "--mode",
        "specific",
        "--person",
        "user:u_mem=editor",
        "--person",
        "group:g_fin=viewer",
        "--json",
    ]);
    assert_eq!(
        access["people"],
        json!([{ "user": "u_mem", "level": "editor" }, { "group": "g_fin", "level": "viewer" }])
    );
    let body = r#"{"schema": {"mode": "read-only"}, "records": {"mode": "private"}}"#;
    let permissions = cli(
        data,
        server,
        &["table", "permissions", "t_1", "--json", "-"],
        body,
    );
    assert_eq!(
        (
            permissions["schema"]["mode"].as_str(),
            permissions["records"]["mode"].as_str()
        ),
        (Some("read-only"), Some("private"))
    );
    let text = run(&["table", "access", "t_1", "--mode", "workspace"]);
    assert!(
        text.as_str()
            .unwrap()
            .contains("table t_1 access: workspace"),
        "{text}"
    );

    // Errors name the CLI's flags; refused changes change nothing.
    let stderr = cli_fails(
        data,
        server,
        &[
            "table",
            "access",
            "t_1",
            "--mode",
            "private",
            "--person",
            "user:u_mem=viewer",
        ],
    );
    assert!(stderr.contains("--person"), "{stderr}");
    let stderr = cli_fails(
        data,
        server,
        &[
            "member",
            "set",
            "--workspace",
            "ws_1",
            "--user",
            "u_mem",
            "--role",
            "emperor",
        ],
    );
    assert!(
        stderr.contains("--role") && stderr.contains("emperor"),
        "{stderr}"
    );
    let stderr = cli_fails(
        data,
        server,
        &["member", "remove", "--workspace", "ws_1", "--user", "u_own"],
    );
    assert!(stderr.contains("last owner"), "{stderr}");
    let stderr = cli_fails(
        data,
        server,
        &[
            "group",
            "put",
            "g_x",
            "--workspace",
            "ws_1",
            "--name",
            "X",
            "--members",
            "u_out",
        ],
    );
    assert!(stderr.contains("u_out"), "{stderr}");
    assert_eq!(
        run(&["member", "list", "--workspace", "ws_1", "--json"])["members"],
        list["members"]
    );

    let issued = run(&["issue", "member", "--user", "u_mem", "--json"]);
    assert_expires_in(&issued, Duration::hours(12));
    let issued = run(&[
        "issue",
        "member",
        "--user",
        "u_mem",
        "--expires",
        "2h",
        "--json",
    ]);
    assert_expires_in(&issued, Duration::hours(2));
    let stderr = cli_fails(data, server, &["issue", "member", "--user", "u_nobody"]);
    assert!(stderr.contains("u_nobody"), "{stderr}");

    run(&["group", "remove", "g_fin", "--workspace", "ws_1"]);
    run(&["member", "remove", "--workspace", "ws_1", "--user", "u_mem"]);
    run(&["user", "remove", "u_out"]);
    let list = run(&["member", "list", "--workspace", "ws_1", "--json"]);
    assert_eq!(list["members"].as_array().unwrap().len(), 1);
    let stderr = cli_fails(data, server, &["user", "remove", "u_out"]);
    assert!(stderr.contains("u_out"), "{stderr}");
}

#[test]
fn the_members_commands_work_on_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    cli(&data, None, &["init"], "");
    members_through_the_cli(&data, None);
}

#[test]
fn the_members_commands_work_through_the_server() {
    let s = Server::start(&[]);
    members_through_the_cli(&s.data, Some(&s.base));
    let s = Server::start(&["--member-token-ttl", "30m"]);
    cli(
        &s.data,
        Some(&s.base),
        &[
            "user",
            "put",
            "u_1",
            "--email",
            "a@example.com",
            "--name",
            "A",
        ],
        "",
    );
    let issued = cli(
        &s.data,
        Some(&s.base),
        &["issue", "member", "--user", "u_1", "--json"],
        "",
    );
    assert_expires_in(&issued, Duration::minutes(30));
}
