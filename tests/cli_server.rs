//! The CLI while `tessera serve` holds the store: a clear message without
//! `--server`, and every store command through the admin API with it.

mod server;

use assert_cmd::Command;
use predicates::prelude::*;
use server::Server;

fn tessera(server: &Server) -> Command {
    let mut c = Command::cargo_bin("tessera").unwrap();
    c.arg("--data-dir").arg(&server.data);
    c
}

fn remote(server: &Server) -> Command {
    let mut c = tessera(server);
    c.args(["--server", &server.base]);
    c
}

fn stdout(c: &mut Command, args: &[&str]) -> String {
    let out = c.args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn without_server_the_cli_says_the_store_is_in_use() {
    let server = Server::start(&[]);
    for args in [
        vec![
            "view",
            "set",
            "v_1",
            "--table",
            "t_1",
            "--workspace",
            "ws_1",
        ],
        vec!["tokens", "list"],
        vec!["revoke", "tk_x"],
        vec!["issue", "admin"],
        vec!["audit"],
    ] {
        tessera(&server).args(&args).assert().code(2).stderr(
            predicate::str::contains("is in use by another process")
                .and(predicate::str::contains("--server URL")),
        );
    }
}

#[test]
fn store_commands_go_through_the_admin_api() {
    let server = Server::start(&[]);
    stdout(
        &mut remote(&server),
        &[
            "view",
            "set",
            "v_1",
            "--table",
            "t_1",
            "--workspace",
            "ws_1",
        ],
    );
    stdout(
        &mut remote(&server),
        &["view", "set", "v_1", "--exportable", "false"],
    );
    let shown: serde_json::Value = serde_json::from_str(&stdout(
        &mut remote(&server),
        &["view", "show", "v_1", "--json"],
    ))
    .unwrap();
    assert_eq!(shown["workspace"], "ws_1");
    assert_eq!(shown["settings"]["exportable"], false);

    let token = stdout(
        &mut remote(&server),
        &[
            "issue",
            "guest",
            "--workspace",
            "ws_1",
            "--view",
            "v_1",
            "--allow",
            "read,export",
            "--expires",
            "1d",
        ],
    );
    let token = token.trim();
    assert!(token.starts_with("tsr_"));

    remote(&server)
        .args(["check", token, "--op", "read", "--view", "v_1"])
        .assert()
        .code(0)
        .stdout("allowed: read on view:v_1\n");
    remote(&server)
        .args([
            "check",
            token,
            "--op",
            "export",
            "--view",
            "v_1",
            "--explain",
        ])
        .assert()
        .code(1)
        .stdout(
            predicate::str::starts_with("denied: view_setting").and(predicate::str::contains(
                "view_setting(\"v_1\", \"exportable\", false);",
            )),
        );

    let ledger: Vec<serde_json::Value> = serde_json::from_str(&stdout(
        &mut remote(&server),
        &["tokens", "list", "--json", "--view", "v_1"],
    ))
    .unwrap();
    assert_eq!(ledger.len(), 1);
    let id = ledger[0]["token_id"].as_str().unwrap().to_owned();

    stdout(&mut remote(&server), &["revoke", &id, "--reason", "done"]);
    remote(&server)
        .args(["check", token, "--op", "read", "--view", "v_1"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("denied: revoked"));
    let audit = stdout(&mut remote(&server), &["audit"]);
    assert!(audit.contains("revoked") && audit.contains(&id), "{audit}");

    // Options that only make sense locally are refused, not ignored.
    remote(&server)
        .args([
            "check",
            token,
            "--op",
            "read",
            "--view",
            "v_1",
            "--policy",
            "/dev/null",
        ])
        .assert()
        .code(2);
}

#[test]
fn a_wrong_admin_token_is_refused_by_the_server() {
    let server = Server::start(&[]);
    let guest_dir = tempfile::tempdir().unwrap();
    let bad = guest_dir.path().join("bad.token");
    std::fs::write(&bad, "tsr_notatoken").unwrap();
    remote(&server)
        .args([
            "--admin-token-file",
            bad.to_str().unwrap(),
            "tokens",
            "list",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("401").and(predicate::str::contains("malformed")));
}
