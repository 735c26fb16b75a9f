//! `tessera export`: the standard biscuit base64 from every form a token
//! comes in, and the root public key as other tools take it.

use base64::Engine;

use super::Env;

/// Every form a token is handed around in gives the same standard base64:
/// the biscuit's own bytes, URL-safe, padded, no prefix; Tessera reads it back.
#[test]
fn export_plain_is_the_same_standard_base64_whatever_the_input_form() {
    let env = Env::ready();
    let token = env.guest("v_1", "read");
    let bare = token.strip_prefix("tsr_").expect("tsr_ prefix");
    let link = env
        .tessera(
            &["link", &token, "--base", "https://share.example.com/x"],
            "",
        )
        .ok();
    let link = link.trim();
    let compact = link.rsplit_once("/s/").expect("a share link").1;
    assert!(compact.starts_with("tsz_"), "{link}");
    std::fs::write(env.path("token.txt"), format!("{token}\n")).expect("write");
    let at_file = format!("@{}", env.path("token.txt").display());
    let path = env.path("token.txt").display().to_string();

    let expected = base64::engine::general_purpose::URL_SAFE.encode(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(bare)
            .expect("tsr_ is URL-safe base64"),
    );
    assert!(!expected.starts_with("tsr_") && !expected.starts_with("tsz_"));
    for given in [
        token.as_str(),
        bare,
        compact,
        link,
        &at_file,
        &path,
        &expected,
    ] {
        let plain = env
            .tessera(&["export", given, "--plain"], "")
            .ok()
            .trim()
            .to_owned();
        assert_eq!(plain, expected, "from {}", &given[..given.len().min(30)]);
    }
    assert_eq!(env.plain(&token), expected, "from stdin");
    // Tessera reads the standard form back like any other.
    env.assert_allowed(&expected, "read", "view", "v_1");
    env.assert_denied(&expected, "write", "view", "v_1", "no_right");
}

/// Text that is not a token is refused by `export` (exit 2, naming what is
/// wrong), not handed to the next tool.
#[test]
fn export_refuses_what_is_not_a_token() {
    let env = Env::ready();
    for garbage in ["tsr_!!!", "aGVsbG8", "https://share.example.com/s/tsz_AAAA"] {
        let ran = env.tessera(&["export", garbage, "--plain"], "");
        assert_eq!(ran.code, Some(2), "{garbage}: {}", ran.stdout);
        assert!(ran.stdout.is_empty(), "{garbage}: {}", ran.stdout);
        assert!(ran.stderr.contains("tessera: "), "{}", ran.stderr);
    }
    let ran = env.tessera(&["export"], "");
    assert_eq!(ran.code, Some(2), "a form is required: {}", ran.stderr);
}

/// `--public-key` is the Biscuit Web Keys entry as `ed25519/<hex>`; given a
/// token, it is the key that token's root key id names, also after a
/// rotation made another key active.
#[test]
fn export_public_key_is_the_biscuit_web_key_of_the_token() {
    let env = Env::ready();
    let bwk: serde_json::Value =
        serde_json::from_str(&env.tessera(&["keys", "export-public"], "").ok()).expect("json");
    let entry = &bwk[0];
    assert_eq!(entry["algorithm"], "ed25519");
    let from_bwk = format!("ed25519/{}", entry["key_bytes"].as_str().expect("hex"));
    assert_eq!(env.public_key(), from_bwk);

    let old = env.guest("v_1", "read");
    env.tessera(&["keys", "rotate"], "").ok();
    let active = env.public_key();
    assert_ne!(active, from_bwk, "rotation makes another key active");
    let of_old = env
        .tessera(&["export", "-", "--public-key"], &old)
        .ok()
        .trim()
        .to_owned();
    assert_eq!(of_old, from_bwk);
    let both = env
        .tessera(&["export", "-", "--plain", "--public-key"], &old)
        .ok();
    let lines: Vec<&str> = both.lines().collect();
    assert_eq!(lines, [env.plain(&old).as_str(), from_bwk.as_str()]);

    // A token from another issuer names a key this data directory lacks.
    let other = Env::ready();
    let foreign = other.guest("v_1", "read");
    let ran = env.tessera(&["export", "-", "--public-key"], &foreign);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("not in"), "{}", ran.stderr);
}
