//! Interop: Tessera's tokens read, verified and attenuated by biscuit
//! implementations nobody on this project wrote — biscuit-cli (crates.io),
//! biscuit-python (PyPI) and biscuit-wasm under node (npm) — and the blocks
//! they append honoured by `tessera check` and the gateway.
//!
//! `bash .ci/test` installs the tools (`.ci/interop-tools`, cached under
//! target/) and exports where they are: `TESSERA_BISCUIT_CLI`,
//! `TESSERA_INTEROP_PYTHON`, `TESSERA_INTEROP_NODE_MODULES`. A test whose
//! tool is missing fails, naming how to install it; none is skipped. Every
//! process is real, bounded in time, and the network is loopback only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

mod biscuit_cli;
mod export;
mod foreign_blocks;
mod python;
#[path = "../server/mod.rs"]
mod server;
mod wasm;

/// Longest any one process of these tests may run.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// How to get every tool, for the failure messages.
const INSTALL_HINT: &str =
    "run `bash .ci/interop-tools` from the repository root (`bash .ci/test` does, and exports the TESSERA_* variables)";

/// A tool the tests drive: `$var` when set, else its place under target/
/// where `.ci/interop-tools` puts it. Panics, naming how to install it,
/// when it is not there: the interop tests never skip.
fn tool(var: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{what} is not installed: {} does not exist (from ${var}, or its default {default}); {INSTALL_HINT}",
        path.display()
    );
    path
}

/// The `biscuit` binary of biscuit-cli.
fn biscuit_cli() -> PathBuf {
    tool(
        "TESSERA_BISCUIT_CLI",
        "target/interop-tools/bin/biscuit",
        "biscuit-cli (crates.io biscuit-cli, binary `biscuit`)",
    )
}

/// What a finished process said.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// Its stdout, asserting it exited 0.
    fn ok(self) -> String {
        assert_eq!(
            self.code,
            Some(0),
            "expected success; stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self.stdout
    }
}

/// Runs `program args…` with `stdin`, for at most [`PROCESS_TIMEOUT`].
fn run(program: &Path, args: &[&str], stdin: &str, envs: &[(&str, &Path)]) -> Ran {
    let mut cmd = Command::new(program);
    cmd.args(args).write_stdin(stdin).timeout(PROCESS_TIMEOUT);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {}: {e}", program.display());
    });
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh data directory with ws_1/t_1/{v_1,v_2} and ws_2/t_2/v_3, and
/// `tessera` run against it.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn ready() -> Env {
        let env = Env {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        env.tessera(&["init"], "").ok();
        for (view, table, ws) in [
            ("v_1", "t_1", "ws_1"),
            ("v_2", "t_1", "ws_1"),
            ("v_3", "t_2", "ws_2"),
        ] {
            env.view_set(view, table, ws, &[]);
        }
        env
    }

    /// `tessera view set VIEW --table TABLE --workspace WS SETTINGS…`
    fn view_set(&self, view: &str, table: &str, ws: &str, settings: &[&str]) {
        let mut args = vec!["view", "set", view, "--table", table, "--workspace", ws];
        args.extend_from_slice(settings);
        self.tessera(&args, "").ok();
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A file in the test's folder.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tessera(&self, args: &[&str], stdin: &str) -> Ran {
        let data = self.data();
        let mut all = vec!["--data-dir", data.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        run(&server::tessera_bin(), &all, stdin, &[])
    }

    /// A guest token on view `view` allowing `ops` (comma-separated).
    fn guest(&self, view: &str, ops: &str) -> String {
        self.tessera(
            &[
                "issue",
                "guest",
                "--workspace",
                "ws_1",
                "--view",
                view,
                "--allow",
                ops,
            ],
            "",
        )
        .ok()
        .trim()
        .to_owned()
    }

    /// `tessera export TOKEN --plain`, the token passed on stdin.
    fn plain(&self, token: &str) -> String {
        self.tessera(&["export", "-", "--plain"], token)
            .ok()
            .trim()
            .to_owned()
    }

    /// `tessera export --public-key`: the active root key as `ed25519/<hex>`.
    fn public_key(&self) -> String {
        self.tessera(&["export", "--public-key"], "")
            .ok()
            .trim()
            .to_owned()
    }

    /// `tessera check TOKEN --op OP --<kind> ID --json`: `(allowed, reason)`,
    /// the exit code agreeing (0 allowed, 1 denied).
    fn check(&self, token: &str, op: &str, kind: &str, id: &str) -> (bool, Option<String>) {
        let flag = format!("--{kind}");
        let ran = self.tessera(&["check", "-", "--op", op, &flag, id, "--json"], token);
        let v: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap_or_else(|e| {
            panic!(
                "check --json is not JSON ({e}): {}\n{}",
                ran.stdout, ran.stderr
            )
        });
        let allowed = v["allowed"].as_bool().expect("allowed");
        assert_eq!(ran.code, Some(if allowed { 0 } else { 1 }), "{v}");
        (allowed, v["reason"].as_str().map(str::to_owned))
    }

    /// Asserts `check` allows.
    fn assert_allowed(&self, token: &str, op: &str, kind: &str, id: &str) {
        assert_eq!(
            self.check(token, op, kind, id),
            (true, None),
            "{op} on {kind}:{id}"
        );
    }

    /// Asserts `check` denies with `reason`.
    fn assert_denied(&self, token: &str, op: &str, kind: &str, id: &str, reason: &str) {
        assert_eq!(
            self.check(token, op, kind, id),
            (false, Some(reason.to_owned())),
            "{op} on {kind}:{id}"
        );
    }
}

/// Facts a holder might write into an appended block to widen a guest
/// token on v_1: rights elsewhere, another workspace, admin, a public view,
/// fake request facts.
const WIDENING_BLOCK: &str = r#"right("view", "v_2", "read");
right("view", "v_1", "write");
right("workspace", "ws_1", "write");
right("workspace", "ws_2", "read");
right("view", "v_3", "read");
workspace("ws_2");
kind("admin");
view_setting("v_2", "public", true);
operation("read");
resource("view", "v_1");
parent("table", "t_2", "workspace", "ws_1");"#;

/// What the widening block aims at, `(op, kind, id)`: each denied `no_right`
/// for a guest token that reads v_1 only, with or without the block.
const WIDENED_REQUESTS: [(&str, &str, &str); 7] = [
    ("read", "view", "v_2"),
    ("write", "view", "v_1"),
    ("write", "workspace", "ws_1"),
    ("read", "workspace", "ws_2"),
    ("read", "view", "v_3"),
    ("read", "table", "t_2"),
    ("manage", "view", "v_1"),
];

/// Asserts a token that reads v_1 only is still exactly that.
fn assert_not_widened(env: &Env, token: &str) {
    env.assert_allowed(token, "read", "view", "v_1");
    for (op, kind, id) in WIDENED_REQUESTS {
        env.assert_denied(token, op, kind, id, "no_right");
    }
}
