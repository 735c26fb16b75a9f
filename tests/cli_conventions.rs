//! The command line's conventions, each as a real process: shell
//! completions and the man page generated from the clap tree, `NO_COLOR`,
//! the exit codes (0 success, 1 a "no" answer: `check` denied, `inspect
//! --public-keys` not verifying; 2 usage or I/O error) per command family,
//! errors as one lowercase line naming the culprit with a hint, and
//! `--json` on the listing commands.

use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// A data directory, initialised, with ws_1/t_1/v_1 registered.
struct Env {
    dir: tempfile::TempDir,
}

/// What a finished process said.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    fn new() -> Self {
        let env = Env {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        assert_eq!(env.run(&["init"]).code, 0);
        let placed = env.run(&[
            "view",
            "set",
            "v_1",
            "--table",
            "t_1",
            "--workspace",
            "ws_1",
        ]);
        assert_eq!(placed.code, 0, "{}", placed.stderr);
        env
    }

    fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Ran {
        let mut c = Command::cargo_bin("tessera").expect("binary");
        c.current_dir(self.dir.path())
            .env("TESSERA_DATA_DIR", self.dir.path().join("data"))
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .timeout(Duration::from_secs(30))
            .args(args);
        for (k, v) in vars {
            c.env(k, v);
        }
        let out = c.output().expect("run tessera");
        Ran {
            code: out.status.code().expect("exit code"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Ran {
        self.run_with(args, &[])
    }
}

#[test]
fn completions_for_each_shell_name_the_commands_and_an_unknown_shell_is_a_usage_error() {
    let env = Env::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef tessera"),
        ("fish", "complete -c tessera"),
    ] {
        let ran = env.run(&["completions", shell]);
        assert_eq!(ran.code, 0, "{shell}: {}", ran.stderr);
        assert!(
            ran.stdout.contains(marker),
            "{shell} script: {}",
            &ran.stdout[..200.min(ran.stdout.len())]
        );
        for command in ["attenuate", "check", "openapi", "completions"] {
            assert!(ran.stdout.contains(command), "{shell} completes {command}");
        }
    }
    let ran = env.run(&["completions", "tcsh"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("tcsh") && ran.stderr.contains("bash"),
        "{}",
        ran.stderr
    );
}

#[test]
fn the_man_page_is_roff_describing_every_command() {
    let ran = Env::new().run(&["man"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.starts_with(".ie") || ran.stdout.contains(".TH tessera"),
        "{}",
        &ran.stdout[..200]
    );
    for command in ["attenuate", "serve", "openapi", "man"] {
        assert!(ran.stdout.contains(command), "the man page names {command}");
    }
}

#[test]
fn no_color_removes_every_escape_even_when_colour_is_forced() {
    let env = Env::new();
    let forced = env.run_with(&["check"], &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(forced.code, 2);
    assert!(
        forced.stderr.contains('\u{1b}'),
        "forced colour colours the usage error"
    );
    let plain = env.run_with(&["check"], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert_eq!(plain.code, 2);
    assert!(!plain.stderr.contains('\u{1b}'), "{:?}", plain.stderr);
    let help = env.run_with(&["--help"], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!help.stdout.contains('\u{1b}'));
}

#[test]
fn exit_codes_per_command_family() {
    let env = Env::new();
    let issue: Vec<&str> = "issue guest --workspace ws_1 --view v_1 --allow read"
        .split(' ')
        .collect();
    let guest = env.run(&issue);
    assert_eq!(guest.code, 0, "{}", guest.stderr);
    let token = guest.stdout.trim().to_owned();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["keys", "list"], 0),
        (vec!["keys", "retire", "4294967295"], 2),
        (
            vec![
                "issue",
                "guest",
                "--workspace",
                "ws_1",
                "--view",
                "v_1",
                "--allow",
                "fly",
            ],
            2,
        ),
        (vec!["check", &token, "--op", "read", "--view", "v_1"], 0),
        (vec!["check", &token, "--op", "write", "--view", "v_1"], 1),
        (vec!["check", "--op", "read"], 2),
        (vec!["inspect", &token], 0),
        (vec!["inspect", "tsr_garbage"], 2),
        (vec!["export", &token, "--plain"], 0),
        (vec!["view", "show", "v_1"], 0),
        (vec!["tokens", "list"], 0),
        (vec!["audit"], 0),
        (vec!["revoke", "tk_nosuch"], 2),
        (vec!["openapi"], 0),
        (vec!["man"], 0),
        (vec!["no-such-command"], 2),
    ];
    for (args, code) in cases {
        let ran = env.run(&args);
        assert_eq!(
            ran.code,
            code,
            "tessera {}: {}{}",
            args.join(" "),
            ran.stdout,
            ran.stderr
        );
        if code == 2 {
            assert!(
                !ran.stderr.trim().is_empty(),
                "tessera {} says why",
                args.join(" ")
            );
        }
    }
}

#[test]
fn errors_are_one_lowercase_line_naming_the_culprit_with_a_hint() {
    let env = Env::new();
    let missing = env.dir.path().join("elsewhere");
    let missing = missing.to_str().expect("utf-8");
    let ran = env.run(&["--data-dir", missing, "tokens", "list"]);
    assert_eq!(ran.code, 2);
    let line = ran.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    let message = line
        .strip_prefix("tessera: ")
        .expect("prefixed with the program");
    assert!(message.starts_with(|c: char| c.is_lowercase()), "{message}");
    assert!(message.contains(missing), "names the culprit: {message}");
    assert!(message.contains("tessera init"), "a hint: {message}");
    let again = env.run(&["init"]);
    assert_eq!(again.code, 2);
    let message = again
        .stderr
        .trim()
        .strip_prefix("tessera: ")
        .expect("prefixed");
    assert!(
        message.contains("keys.toml") && message.contains("--force"),
        "{message}"
    );
}

#[test]
fn listing_commands_print_json_with_json() {
    let env = Env::new();
    let keys = env.run(&["keys", "list", "--json"]);
    assert_eq!(keys.code, 0, "{}", keys.stderr);
    let keys: Value = serde_json::from_str(&keys.stdout).expect("keys list --json");
    assert_eq!(keys[0]["state"], "active");
    assert!(
        keys[0]["id"].is_u64() && keys[0]["created"].is_string(),
        "{keys}"
    );
    for args in [
        &["tokens", "list", "--json"][..],
        &["view", "show", "v_1", "--json"],
    ] {
        let ran = env.run(args);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        serde_json::from_str::<Value>(&ran.stdout)
            .unwrap_or_else(|e| panic!("tessera {}: {e}: {}", args.join(" "), ran.stdout));
    }
}
