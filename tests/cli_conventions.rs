//! The command line's conventions, each as a real process: shell
//! completions and the man page generated from the clap tree, `NO_COLOR`,
//! the exit codes (0 success, 1 a "no" answer: `check` denied, `inspect
//! --public-keys` not verifying; 2 usage or I/O error) per command family,
//! errors as one lowercase line naming the culprit with a hint, and
//! `--json` on the listing commands.
//!
//! The command table (`every_listed_command_has_a_row_and_keeps_its_exit_codes`)
//! runs every command `tessera --help` lists, recursively, through one
//! shared data directory: its success (0), a usage error (2), its runtime
//! failures (1 for a "no" answer, 2 for an error), its `--json` output
//! parsed as JSON, and its errors with `--json` as one JSON object
//! `{reason, message}` on stderr with the exit code unchanged. A command
//! added without a row fails it.

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

/// The command table, one line per command (README.md's exit-code table
/// says the same): `command | successes (0) | --json successes (0, stdout
/// is JSON) | a usage error (2) | run-time failures as CODE ARGS`, lists
/// split by ` ; `, `-` for none. Arguments split on spaces, with `{token}`,
/// `{victim}`, `{r1}`, `{r2}`, `{old1}`, `{old2}`, `{tmp}` and `{data}`
/// filled in. A failure exits 1 for a "no" answer, 2 for an error. `serve`
/// runs until stopped: its 0 here is its help (a graceful shutdown is
/// tests/gateway.rs'); `openapi` always prints JSON.
const ROWS: &str = "
init | --data-dir {tmp}/fresh init | --data-dir {tmp}/fresh2 init --json | init --forse | 2 init
keys rotate | keys rotate | keys rotate --json | keys rotate 5 | 2 --data-dir {tmp}/none keys rotate
keys retire | keys retire {old1} | keys retire {old2} --json | keys retire one | 2 keys retire 4294967295 ; 2 keys retire {old1}
keys list | keys list | keys list --json | keys list extra | 2 --data-dir {tmp}/none keys list
keys export-public | keys export-public ; keys export-public --out {tmp}/bwk.json | keys export-public --json | keys export-public --outt x | 2 keys export-public --out {tmp}/no/such/dir/bwk.json
issue guest | issue guest --workspace ws_1 --view v_1 --allow read | issue guest --workspace ws_1 --view v_1 --allow read --json | issue guest --workspace ws_1 --view v_1 --allow fly | 2 issue guest --workspace ws_1 --view v_9 --allow read
issue api-key | issue api-key --workspace ws_1 --read-only | issue api-key --workspace ws_1 --table t_1 --json | issue api-key --workspace ws_1 --read-only --allow read | 2 issue api-key --workspace ws_1 --table t_9
issue admin | issue admin --expires 1h | issue admin --json | issue admin --workspace ws_1 | 2 issue admin --expires yesterday
issue member | issue member --user u_1 | issue member --user u_1 --json | issue member | 2 issue member --user u_9
attenuate | attenuate {token} --allow read ; attenuate --explain-preset auditor | attenuate {token} --preset reviewer --days 7 --json ; attenuate --explain-preset contractor --json | attenuate | 2 attenuate tsr_garbage --allow read ; 2 attenuate {token}
inspect | inspect {token} ; inspect {token} --public-keys {data}/public-keys.json | inspect {token} --json | inspect | 2 inspect tsr_garbage ; 1 inspect {victim} --public-keys {data}/public-keys.json
check | check {token} --op read --view v_1 | check {token} --op read --view v_1 --json | check --op read | 1 check {token} --op delete --view v_1 ; 1 check tsr_garbage --op read --view v_1 ; 2 --data-dir {tmp}/none check {token} --op read --view v_1
export | export {token} --plain ; export --public-key | export {token} --plain --public-key --json | export {token} | 2 export tsr_garbage --plain
view set | view set v_1 --exportable true | view set v_1 --addable true --json | view set v_1 --public maybe | 2 view set v_9 --public true
view show | view show v_1 | view show v_1 --json | view show | 2 view show v_9
table set | table set t_2 --workspace ws_1 | table set t_2 --workspace ws_1 --json | table set t_2 | 2 table set t_1 --workspace ws_2
table access | table access t_1 --mode workspace | table access t_1 --mode workspace --json | table access t_1 --mode everyone | 2 table access t_9 --mode private
table permissions | - | table permissions t_1 --json {tmp}/permissions.json | table permissions t_1 | 2 table permissions t_1 --json {tmp}/missing.json
workspace set | workspace set ws_3 | workspace set ws_1 --json | workspace set bad!id | 2 --data-dir {tmp}/none workspace set ws_3
user put | user put u_2 --email bo@example.com --name Bo | user put u_2 --email bo@example.com --name Bo --json | user put u_2 --email bo@example.com | 2 user put u_2 --email bad --name Bo
user remove | user remove u_2 | user remove u_3 --json | user remove | 2 user remove u_9
member set | member set --workspace ws_1 --user u_1 --role member | member set --workspace ws_1 --user u_1 --role member --json | member set --workspace ws_1 --user u_1 --role king | 2 member set --workspace ws_1 --user u_9 --role viewer
member remove | member remove --workspace ws_1 --user u_4 | member remove --workspace ws_1 --user u_4 --json | member remove --workspace ws_1 | 2 --data-dir {tmp}/none member remove --workspace ws_1 --user u_4
member invite | member invite --email cy@example.com --role viewer --projects ws_1 | member invite --email di@example.com --role viewer --projects ws_1 --json | member invite --email cy@example.com --role king --projects ws_1 | 2 member invite --email bad --role viewer --projects ws_1
member projects | member projects u_1 ws_1 | member projects u_1 ws_1 --json | member projects u_1 | 2 member projects u_9 ws_1
member list | member list --workspace ws_1 | member list --workspace ws_1 --json | member list | 2 --data-dir {tmp}/none member list --workspace ws_1
group put | group put g_1 --workspace ws_1 --name Crew --members u_1 | group put g_1 --workspace ws_1 --name Crew --members u_1 --json | group put g_1 --workspace ws_1 --members u_1 | 2 group put g_1 --workspace ws_1 --name Crew --members u_9
group remove | group remove g_1 --workspace ws_1 | group remove g_1 --workspace ws_1 --json | group remove g_1 | 2 --data-dir {tmp}/none group remove g_1 --workspace ws_1
revoke | revoke --token {r1} | revoke --token {r2} --reason done --json | revoke | 2 revoke tk_nosuch ; 2 revoke --revocation-id zz
tokens list | tokens list ; tokens list --workspace ws_1 | tokens list --json | tokens list --workspace bad! | 2 --data-dir {tmp}/none tokens list
audit | audit | audit --json | audit extra | 2 --data-dir {tmp}/none audit
serve | serve --help | - | serve --listen nope | 2 serve --config {tmp}/missing.toml
share | share v_1 ; share v_1 --list | share v_1 --preset editor --json ; share v_1 --list --json | share v_1 --preset editor --allow read | 2 share v_9 ; 2 share v_1 --preset owner
link | link {token} --base https://share.example.com | link {token} --base https://share.example.com --json | link {token} | 2 link tsr_garbage --base https://share.example.com
policy lint | policy lint | policy lint --json | policy lint --polish x | 2 policy lint --policy {tmp}/missing.dl
policy test | policy test {fixtures} | policy test {fixtures} --json | policy test | 2 policy test {tmp}/missing.toml
openapi | - | openapi | openapi extra | -
completions | completions bash | - | completions tcsh | -
man | man | - | man extra | -
";

/// One line of [`ROWS`].
struct Row<'a> {
    command: &'a str,
    ok: Vec<&'a str>,
    json: Vec<&'a str>,
    usage: &'a str,
    fails: Vec<(i32, &'a str)>,
}

fn rows() -> Vec<Row<'static>> {
    let list = |field: &'static str| -> Vec<&'static str> {
        match field {
            "-" => Vec::new(),
            _ => field.split(" ; ").collect(),
        }
    };
    ROWS.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(" | ").collect();
            assert_eq!(fields.len(), 5, "five fields: {line}");
            let fails = list(fields[4])
                .into_iter()
                .map(|f| {
                    let (code, args) = f.split_once(' ').expect("CODE ARGS");
                    (code.parse().expect("an exit code"), args)
                })
                .collect();
            Row {
                command: fields[0],
                ok: list(fields[1]),
                json: list(fields[2]),
                usage: fields[3],
                fails,
            }
        })
        .collect()
}

/// The command paths `tessera --help` lists, recursively down to the
/// commands that have no subcommands (`help` left out).
fn listed_commands(env: &Env) -> Vec<String> {
    let mut leaves = Vec::new();
    let mut pending = vec![Vec::<String>::new()];
    while let Some(path) = pending.pop() {
        assert!(path.len() <= 3, "commands nest at most 3 deep: {path:?}");
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = env.run(&args);
        assert_eq!(help.code, 0, "tessera {}: {}", args.join(" "), help.stderr);
        let subcommands = subcommands_in(&help.stdout);
        if subcommands.is_empty() {
            leaves.push(path.join(" "));
        }
        for name in subcommands {
            let mut next = path.clone();
            next.push(name);
            pending.push(next);
        }
    }
    leaves.sort();
    leaves
}

/// The names under `Commands:` in a help text.
fn subcommands_in(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// True when `text` is one JSON document, or JSON lines.
fn parses_as_json(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok()
        || (!text.trim().is_empty()
            && text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .all(|l| serde_json::from_str::<Value>(l).is_ok()))
}

/// The JSON object a `--json` failure prints on stderr.
fn json_error(args: &[String], ran: &Ran) -> Value {
    serde_json::from_str(ran.stderr.trim()).unwrap_or_else(|e| {
        panic!(
            "tessera {}: stderr is not JSON: {e}: {}",
            args.join(" "),
            ran.stderr
        )
    })
}

/// The shared state the rows run against, and the placeholders they use.
struct Table {
    env: Env,
    vars: Vec<(&'static str, String)>,
}

impl Table {
    fn new() -> Self {
        let env = Env::new();
        let ok = |args: &[&str]| {
            let ran = env.run(args);
            assert_eq!(ran.code, 0, "setup {args:?}: {}", ran.stderr);
            ran.stdout.trim().to_owned()
        };
        let first: Value = serde_json::from_str(&ok(&["keys", "list", "--json"])).expect("keys");
        let old1 = first[0]["id"].to_string();
        let second: Value = serde_json::from_str(&ok(&["keys", "rotate", "--json"])).expect("key");
        let old2 = second["id"].to_string();
        ok(&["keys", "rotate"]);
        let guest = |allow: &str| {
            let line = format!("issue guest --workspace ws_1 --view v_1 --allow {allow}");
            ok(&line.split(' ').collect::<Vec<_>>())
        };
        let token = guest("read,write");
        let victim = guest("read");
        ok(&["revoke", "--token", &victim]);
        let (r1, r2) = (guest("read"), guest("read"));
        for (user, email) in [("u_1", "ana@example.com"), ("u_3", "al@example.com")] {
            ok(&["user", "put", user, "--email", email, "--name", "A"]);
        }
        ok(&[
            "member",
            "set",
            "--workspace",
            "ws_1",
            "--user",
            "u_1",
            "--role",
            "member",
        ]);
        let tmp = env.dir.path().to_str().expect("utf-8").to_owned();
        std::fs::write(
            env.dir.path().join("permissions.json"),
            r#"{"schema": {"mode": "read-only"}, "records": {"mode": "private"}}"#,
        )
        .expect("permissions file");
        let data = format!("{tmp}/data");
        let vars = vec![
            ("{token}", token),
            ("{victim}", victim),
            ("{r1}", r1),
            ("{r2}", r2),
            ("{old1}", old1),
            ("{old2}", old2),
            ("{tmp}", tmp),
            ("{data}", data),
            (
                "{fixtures}",
                concat!(env!("CARGO_MANIFEST_DIR"), "/policies/fixtures").to_string(),
            ),
        ];
        Table { env, vars }
    }

    fn args(&self, line: &str) -> Vec<String> {
        line.split(' ')
            .map(|word| {
                let mut word = word.to_owned();
                for (name, value) in &self.vars {
                    word = word.replace(name, value);
                }
                word
            })
            .collect()
    }

    fn run(&self, line: &str, extra: &[&str]) -> (Vec<String>, Ran) {
        let mut args = self.args(line);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let ran = self.env.run(&refs);
        (args, ran)
    }

    /// Token text that must never be echoed on stderr.
    fn secrets(&self) -> Vec<&str> {
        self.vars
            .iter()
            .filter(|(name, _)| ["{token}", "{victim}", "{r1}", "{r2}"].contains(name))
            .map(|(_, value)| value.trim_start_matches("tsr_"))
            .collect()
    }
}

#[test]
fn every_listed_command_has_a_row_and_keeps_its_exit_codes() {
    let table = Table::new();
    let listed = listed_commands(&table.env);
    let rows = rows();
    let mut commands: Vec<String> = rows.iter().map(|r| r.command.to_owned()).collect();
    commands.sort();
    assert_eq!(
        listed, commands,
        "every command `tessera --help` lists has exactly one row in ROWS (and README's exit-code table)"
    );
    let secrets = table.secrets();
    let check = |what: &str, args: &[String], ran: &Ran, code: i32| {
        let shown = args.join(" ");
        assert_eq!(
            ran.code, code,
            "{what}: tessera {shown}\nstdout: {}\nstderr: {}",
            ran.stdout, ran.stderr
        );
        for secret in &secrets {
            assert!(
                !ran.stderr.contains(secret),
                "tessera {shown}: a token on stderr"
            );
        }
    };
    for row in &rows {
        let has_json = {
            let (_, help) = table.run(row.command, &["--help"]);
            help.stdout.contains("--json")
        };
        for line in &row.ok {
            let (args, ran) = table.run(line, &[]);
            check("success", &args, &ran, 0);
        }
        for line in &row.json {
            let (args, ran) = table.run(line, &[]);
            check("--json success", &args, &ran, 0);
            assert!(
                parses_as_json(&ran.stdout),
                "tessera {}: stdout is not JSON: {}",
                args.join(" "),
                ran.stdout
            );
        }
        if has_json {
            assert!(
                row.json.iter().any(|l| l.contains("--json")),
                "{}: has --json but no row runs it",
                row.command
            );
        }
        let (args, ran) = table.run(row.usage, &[]);
        check("usage error", &args, &ran, 2);
        assert!(
            ran.stderr.contains("Usage:") || ran.stderr.contains("--help"),
            "tessera {}: a usage error points to the usage: {}",
            args.join(" "),
            ran.stderr
        );
        if has_json {
            let (args, ran) = table.run(row.usage, &["--json"]);
            check("usage error with --json", &args, &ran, 2);
            let error: Value = json_error(&args, &ran);
            assert_eq!(error["reason"], "usage", "tessera {}", args.join(" "));
        }
        for &(code, line) in &row.fails {
            let (args, ran) = table.run(line, &[]);
            check("failure", &args, &ran, code);
            if code == 2 {
                let message = ran.stderr.trim();
                assert_eq!(message.lines().count(), 1, "one line: {message}");
                let message = message.strip_prefix("tessera: ").unwrap_or(message);
                assert!(
                    message.starts_with(|c: char| !c.is_uppercase()),
                    "tessera {}: lowercase: {message}",
                    args.join(" ")
                );
            }
            if has_json && code == 2 {
                let (args, ran) = table.run(line, &["--json"]);
                check("failure with --json", &args, &ran, 2);
                let error: Value = json_error(&args, &ran);
                assert!(
                    error["reason"].is_string() && error["message"].is_string(),
                    "tessera {}: {error}",
                    args.join(" ")
                );
                assert!(ran.stdout.is_empty(), "nothing on stdout: {}", ran.stdout);
            }
        }
    }
}

/// True when some 24-character stretch of `secret` appears in `text`.
fn shows_part_of(text: &str, secret: &str) -> bool {
    let bytes = secret.as_bytes();
    bytes.len() >= 24
        && bytes
            .windows(24)
            .any(|w| text.contains(std::str::from_utf8(w).unwrap_or("\u{0}")))
}

#[test]
fn a_token_given_to_a_failing_command_is_never_echoed_on_stderr() {
    let table = Table::new();
    let token = table.args("{token}").remove(0);
    let cut = token.len() / 2;
    for bad in [format!("{token}!"), token[..cut].to_owned()] {
        for line in [
            "inspect BAD",
            "attenuate BAD --allow read",
            "export BAD --plain",
            "link BAD --base https://share.example.com",
            "revoke --token BAD",
        ] {
            for extra in [&[][..], &["--json"]] {
                let mut args: Vec<&str> = line
                    .split(' ')
                    .map(|w| if w == "BAD" { bad.as_str() } else { w })
                    .collect();
                args.extend(extra);
                let ran = table.env.run(&args);
                assert_eq!(ran.code, 2, "{line} {extra:?}: {}", ran.stderr);
                assert!(
                    !shows_part_of(&ran.stderr, &bad) && !shows_part_of(&ran.stdout, &bad),
                    "{line} {extra:?} echoes the token: {}",
                    ran.stderr
                );
                if !extra.is_empty() {
                    let error: Value = serde_json::from_str(ran.stderr.trim()).expect("JSON");
                    assert_eq!(error["reason"], "malformed", "{line}: {error}");
                }
            }
        }
    }
}

#[test]
fn json_errors_escape_what_a_terminal_would_act_on() {
    let env = Env::new();
    let hostile = env.dir.path().join("x\u{1b}]0;owned\u{7}");
    let hostile = hostile.to_str().expect("utf-8");
    for json in [true, false] {
        let mut args = vec!["--data-dir", hostile, "tokens", "list"];
        if json {
            args.push("--json");
        }
        let ran = env.run(&args);
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        assert!(
            !ran.stderr.contains(['\u{1b}', '\u{7}']),
            "a raw escape reaches the terminal: {:?}",
            ran.stderr
        );
        if json {
            let error: Value = serde_json::from_str(ran.stderr.trim()).expect("JSON");
            assert_eq!(error["reason"], "no_store");
            let message = error["message"].as_str().expect("message");
            assert!(
                message.contains(hostile),
                "the same path, escaped: {message}"
            );
        }
    }
}

#[test]
fn token_bearing_json_puts_the_token_in_its_token_field_only() {
    let table = Table::new();
    for line in [
        "issue guest --workspace ws_1 --view v_1 --allow read --json",
        "attenuate {token} --allow read --json",
        "export {token} --plain --public-key --json",
        "link {token} --base https://share.example.com --json",
        "share v_1 --json",
        "issue member --user u_1 --json",
    ] {
        let (args, ran) = table.run(line, &[]);
        assert_eq!(ran.code, 0, "{}: {}", args.join(" "), ran.stderr);
        let mut answer: Value = serde_json::from_str(&ran.stdout).expect("JSON");
        let token = answer["token"].as_str().expect("a token field").to_owned();
        let body = token.trim_start_matches("tsr_").trim_end_matches('=');
        answer.as_object_mut().expect("an object").remove("token");
        let rest = answer.to_string();
        assert!(
            !shows_part_of(&rest, body),
            "{line}: the token outside `token`: {rest}"
        );
        assert!(
            !shows_part_of(&ran.stderr, body),
            "{line}: the token on stderr"
        );
    }
}
