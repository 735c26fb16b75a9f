//! Attenuation presets through the `tessera` binary: the block each
//! preset appends, what a token narrowed by one allows before and after
//! its expiry, and the refusals (no expiry, unknown name, empty
//! intersection with --allow).

use assert_cmd::Command;

/// A data directory with ws_1/t_1/v_1 and a guest token on v_1 that may
/// do everything.
struct Env {
    dir: tempfile::TempDir,
    parent: String,
}

const EVERY_OP: [&str; 7] = [
    "read", "write", "create", "delete", "export", "manage", "share",
];

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut env = Env {
            dir,
            parent: String::new(),
        };
        env.run(&["init"]);
        let ops = EVERY_OP.join(",");
        let setup = [
            "view set v_1 --table t_1 --workspace ws_1",
            "issue guest --workspace ws_1 --view v_1 --allow",
        ];
        env.run(&setup[0].split(' ').collect::<Vec<_>>());
        let mut guest: Vec<&str> = setup[1].split(' ').collect();
        guest.push(&ops);
        env.parent = env.run(&guest).trim().to_owned();
        env
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("tessera").unwrap();
        c.current_dir(self.dir.path())
            .env("TESSERA_DATA_DIR", self.dir.path().join("data"));
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    }

    /// (exit code, stdout, stderr)
    fn output(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn attenuate(&self, args: &[&str]) -> String {
        let mut all = vec!["attenuate", self.parent.as_str()];
        all.extend_from_slice(args);
        self.run(&all).trim().to_owned()
    }

    /// The reason code of `check` for `op` on v_1 at `at` ("allowed" when allowed).
    fn decide(&self, token: &str, op: &str, at: &str) -> String {
        let (code, out, _) =
            self.output(&["check", token, "--op", op, "--view", "v_1", "--at", at]);
        let out = out.trim();
        match code {
            0 => {
                assert!(out.starts_with("allowed:"), "{out}");
                "allowed".into()
            }
            1 => out
                .strip_prefix("denied: ")
                .and_then(|r| r.split(' ').next())
                .unwrap_or(out)
                .to_owned(),
            _ => panic!("check exited {code}: {out}"),
        }
    }

    /// Asserts exactly `allowed` of the seven operations are allowed at
    /// `at`, the others refused with `check_failed`.
    fn assert_ops(&self, token: &str, allowed: &[&str], at: &str) {
        for op in EVERY_OP {
            let want = if allowed.contains(&op) {
                "allowed"
            } else {
                "check_failed"
            };
            assert_eq!(self.decide(token, op, at), want, "{op} at {at}");
        }
    }
}

const SOON: &str = "2026-01-01T00:00:00Z";

#[test]
fn explain_preset_prints_each_block_exactly() {
    let env = Env::new();
    assert_eq!(
        env.run(&["attenuate", "--explain-preset", "contractor"]),
        "check if operation(\"read\") or operation(\"write\") or operation(\"create\");\n\
         check if time($t), $t <= EXPIRY;\n"
    );
    assert_eq!(
        env.run(&["attenuate", "--explain-preset", "reviewer"]),
        "check if operation(\"read\");\n\
         check if time($t), $t <= EXPIRY; (only with --days or --until)\n"
    );
    assert_eq!(
        env.run(&["attenuate", "--explain-preset", "auditor"]),
        "check if operation(\"read\") or operation(\"export\");\n\
         check if time($t), $t <= EXPIRY;\n"
    );
}

#[test]
fn contractor_until_a_date_allows_read_write_create_until_the_end_of_that_day() {
    let env = Env::new();
    let child = env.attenuate(&["--preset", "contractor", "--until", "2027-01-31"]);
    assert!(child.starts_with("tsr_"), "{child}");
    env.assert_ops(&child, &["read", "write", "create"], SOON);
    assert_eq!(
        env.decide(&child, "read", "2027-01-31T23:59:59Z"),
        "allowed"
    );
    assert_eq!(
        env.decide(&child, "read", "2027-02-01T00:00:00Z"),
        "expired"
    );
}

#[test]
fn contractor_for_days_expires_after_them() {
    let env = Env::new();
    let child = env.attenuate(&["--preset", "contractor", "--days", "90"]);
    let now = chrono::Utc::now();
    let inside = (now + chrono::Duration::days(89)).to_rfc3339();
    let after = (now + chrono::Duration::days(91)).to_rfc3339();
    assert_eq!(env.decide(&child, "write", &inside), "allowed");
    assert_eq!(env.decide(&child, "delete", &inside), "check_failed");
    assert_eq!(env.decide(&child, "write", &after), "expired");
}

#[test]
fn reviewer_reads_only_and_needs_no_expiry() {
    let env = Env::new();
    let child = env.attenuate(&["--preset", "reviewer"]);
    env.assert_ops(&child, &["read"], SOON);
    env.assert_ops(&child, &["read"], "2099-01-01T00:00:00Z");
}

#[test]
fn auditor_reads_and_exports_until_its_expiry() {
    let env = Env::new();
    let child = env.attenuate(&["--preset", "auditor", "--until", "2027-01-31T12:00:00Z"]);
    env.assert_ops(&child, &["read", "export"], SOON);
    assert_eq!(
        env.decide(&child, "export", "2027-01-31T12:00:01Z"),
        "expired"
    );
}

#[test]
fn presets_that_need_an_expiry_refuse_without_one() {
    let env = Env::new();
    for preset in ["contractor", "auditor"] {
        let (code, out, err) = env.output(&["attenuate", &env.parent, "--preset", preset]);
        assert_eq!(code, 2, "{preset}");
        assert_eq!(out, "", "{preset}");
        assert_eq!(
            err.trim(),
            format!("tessera: preset {preset} needs an expiry: give --days N or --until DATE")
        );
    }
}

#[test]
fn unknown_presets_are_refused_naming_the_three() {
    let env = Env::new();
    let (code, out, err) = env.output(&["attenuate", &env.parent, "--preset", "admin"]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(
        err.contains("unknown preset \"admin\": use contractor, reviewer or auditor"),
        "{err}"
    );
}

#[test]
fn a_preset_with_allow_intersects_and_never_widens() {
    let env = Env::new();
    // delete is in --allow but not in the preset: still refused.
    let child = env.attenuate(&[
        "--preset",
        "contractor",
        "--days",
        "30",
        "--allow",
        "write,delete",
    ]);
    env.assert_ops(&child, &["write"], SOON);

    let (code, _, err) = env.output(&[
        "attenuate",
        &env.parent,
        "--preset",
        "reviewer",
        "--allow",
        "delete",
    ]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "tessera: the preset and --allow share no operation"
    );
}

#[test]
fn an_expiry_in_the_past_or_two_expiries_are_refused() {
    let env = Env::new();
    let (code, _, _) = env.output(&[
        "attenuate",
        &env.parent,
        "--preset",
        "auditor",
        "--until",
        "2020-01-01",
    ]);
    assert_eq!(code, 2);
    let (code, _, err) = env.output(&[
        "attenuate",
        &env.parent,
        "--preset",
        "auditor",
        "--until",
        "2030-01-01",
        "--days",
        "3",
    ]);
    assert_eq!(code, 2, "{err}");
}
