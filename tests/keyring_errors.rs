//! A private keyring with no active key, run through the `tessera` binary:
//! every command that reads it fails with a clear error naming the file and
//! the problem (never a panic), and leaves the file as it was.

use std::fs;

use assert_cmd::Command;

/// `tessera` against the data directory in `dir`.
fn tessera(dir: &tempfile::TempDir) -> Command {
    let mut c = Command::cargo_bin("tessera").unwrap();
    c.current_dir(dir.path())
        .env("TESSERA_DATA_DIR", dir.path().join("data"));
    c
}

/// Runs `args`; asserts it fails with exit code 2 and an error naming the
/// keyring file and the missing active key, without a panic.
fn refused(dir: &tempfile::TempDir, args: &[&str]) {
    let out = tessera(dir)
        .args(args)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("keys.toml"), "{args:?}: {err}");
    assert!(err.contains("no active signing key"), "{args:?}: {err}");
    assert!(!err.contains("panicked at"), "{args:?}: {err}");
    assert!(!err.contains("private_key"), "{args:?}: {err}");
}

#[test]
fn a_keyring_without_an_active_key_is_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    tessera(&dir).arg("init").assert().success();
    let keys = dir.path().join("data").join("keys.toml");
    let good = fs::read_to_string(&keys).unwrap();
    assert_eq!(good.matches("state = \"active\"").count(), 1);
    // The only key retired by hand; then a keyring with no keys at all.
    let retired = good.replace("state = \"active\"", "state = \"retired\"");
    for broken in [retired.as_str(), "key = []\n"] {
        // Rewriting the file keeps its mode (0600), so only the keys are wrong.
        fs::write(&keys, broken).unwrap();
        refused(&dir, &["issue", "admin"]);
        refused(&dir, &["keys", "rotate"]);
        refused(&dir, &["keys", "list"]);
        assert_eq!(fs::read_to_string(&keys).unwrap(), broken, "file untouched");
    }
}
