//! Secrets cannot leak through `Debug`: every type that holds token text, a
//! block's next private key or a root private key is formatted with `{:?}`
//! and `{:#?}`, and none of that material appears. biscuit-auth's own
//! derived `Debug` on a `Biscuit` does print the next block's private key
//! (checked here too, so the test notices if that ever changes and the
//! hand-written `Debug`s are what stands between a log line and a forgery).

mod common;

use biscuit_auth::format::schema;
use prost::Message;
use tessera::model::{Grant, Restriction};
use tessera::token::{self, DEFAULT_MAX_TOKEN_BYTES};

use common::{id, ops, t0, Fixture};

/// Every secret string a formatted value must not contain.
struct Secrets(Vec<String>);

impl Secrets {
    /// The token text (and its base64 body), the next block's private key
    /// in hex and as a byte list, and the root private key.
    fn of(fixture: &Fixture, token: &str) -> Secrets {
        let bytes = token::decode_bytes(token, DEFAULT_MAX_TOKEN_BYTES).unwrap();
        let container = schema::Biscuit::decode(bytes.as_slice()).unwrap();
        let next = match container.proof.content {
            Some(schema::proof::Content::NextSecret(secret)) => secret,
            other => panic!("an unsealed token carries its next secret, got {other:?}"),
        };
        let root = fixture.ring.to_toml();
        let root_hex = root
            .lines()
            .find_map(|l| l.trim().strip_prefix("private_key = "))
            .map(|v| v.trim_matches('"').to_owned())
            .expect("keys.toml has a private_key line");
        let body = token.trim_start_matches("tsr_").trim_start_matches("tsz_");
        Secrets(vec![
            token.to_owned(),
            body[..body.len().min(32)].to_owned(),
            hex::encode(&next),
            // How a derived Debug prints the key's bytes: `[247, 193, …`.
            format!(
                "[{}",
                next[..8]
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            root_hex,
        ])
    }

    /// Panics naming the type when `shown` holds any secret.
    fn assert_absent(&self, what: &str, shown: &str) {
        for secret in &self.0 {
            assert!(
                !shown.contains(secret.as_str()),
                "{what}'s Debug shows secret material"
            );
        }
    }
}

fn both_forms<T: std::fmt::Debug>(value: &T) -> [String; 2] {
    [format!("{value:?}"), format!("{value:#?}")]
}

/// A guest token (read, export on view v_1) from a fixture seeded with
/// `seed`, and the RNG that issued it.
fn guest_token(seed: u64, rng_seed: u64) -> (Fixture, token::Issued, rand::rngs::StdRng) {
    let fixture = Fixture::new(seed);
    let grant = Grant::guest(id("ws_1"), id("v_1"), &ops("read,export"));
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(rng_seed);
    let issued = token::issue_with_rng(&grant, &fixture.ring, t0(), &mut rng).unwrap();
    (fixture, issued, rng)
}

#[test]
fn no_debug_output_shows_token_text_block_keys_or_private_keys() {
    let (fixture, issued, mut rng) = guest_token(41, 5);
    let text = issued.token.expose().to_owned();
    let attenuated = token::attenuate_with_rng(
        &text,
        &Restriction {
            operations: Some(ops("read")),
            ..Restriction::default()
        },
        t0(),
        DEFAULT_MAX_TOKEN_BYTES,
        &mut rng,
    )
    .unwrap();
    let verified = fixture.verify(&text);

    let secrets = Secrets::of(&fixture, &text);
    // biscuit-auth's derived Debug prints the next private key: this is
    // what the hand-written Debugs must not pass on.
    let raw = format!("{:?}", verified.biscuit());
    assert!(
        secrets.0[2..4].iter().any(|s| raw.contains(s.as_str())),
        "biscuit-auth's Debug no longer shows the next key; revisit this test"
    );

    for shown in both_forms(&verified) {
        secrets.assert_absent("VerifiedToken", &shown);
        assert!(shown.contains(issued.entry.token_id.as_str()), "{shown}");
    }
    for shown in both_forms(&issued) {
        secrets.assert_absent("Issued", &shown);
    }
    for shown in both_forms(&issued.token) {
        secrets.assert_absent("SecretToken", &shown);
    }
    for shown in both_forms(&fixture.ring) {
        secrets.assert_absent("PrivateKeyring", &shown);
    }
    let attenuated_secrets = Secrets::of(&fixture, attenuated.expose());
    for shown in both_forms(&attenuated) {
        attenuated_secrets.assert_absent("SecretToken (attenuated)", &shown);
    }
}

/// Every 16-character run of `text`: a base64 chunk that long is as good
/// as a piece of the token to whoever reads a log.
fn chunks_of(text: &str) -> Vec<&str> {
    (0..=text.len().saturating_sub(16))
        .map(|i| &text[i..i + 16])
        .collect()
}

#[test]
fn cli_arguments_holding_a_token_do_not_show_it_through_debug() {
    use clap::Parser;
    use tessera::cli::{Cli, Command, TokenArg};

    let (_fixture, issued, _) = guest_token(42, 6);
    let text = issued.token.expose().to_owned();
    let chunks = chunks_of(&text);
    assert!(chunks.len() > 100, "a real token is long: {}", text.len());

    let flag = format!("--token={text}");
    // Each argv, and a non-secret part its Debug still shows.
    let cases: [(Vec<&str>, &str); 7] = [
        (vec!["tessera", "inspect", &text, "--json"], "json: true"),
        (
            vec!["tessera", "attenuate", &text, "--allow", "read"],
            "Read",
        ),
        (
            vec!["tessera", "check", &text, "--op", "read", "--view", "v_1"],
            "\"v_1\"",
        ),
        (
            vec!["tessera", "revoke", "--token", &text, "--reason", "leaked"],
            "\"leaked\"",
        ),
        (vec!["tessera", "revoke", &flag], "Revoke"),
        (
            vec![
                "tessera",
                "link",
                &text,
                "--base",
                "https://share.example.com",
            ],
            "https://share.example.com",
        ),
        (
            vec![
                "tessera",
                "--server",
                "http://127.0.0.1:1",
                "check",
                &text,
                "--op",
                "read",
                "--workspace",
                "ws_1",
            ],
            "http://127.0.0.1:1",
        ),
    ];
    for (argv, visible) in cases {
        let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        let arg: &TokenArg = match &cli.command {
            Command::Inspect(a) => &a.token,
            Command::Attenuate(a) => a.token.as_ref().unwrap(),
            Command::Check(a) => a.token.as_ref().unwrap(),
            Command::Revoke(a) => a.token.as_ref().unwrap(),
            Command::Link { token, .. } => token,
            _ => panic!("{visible}: parsed as another command"),
        };
        // The parsed argument does hold the token: Debug is what hides it.
        assert_eq!(arg.read().unwrap().as_str(), text);
        for shown in [both_forms(&cli), both_forms(&cli.command), both_forms(arg)]
            .into_iter()
            .flatten()
        {
            for chunk in &chunks {
                assert!(
                    !shown.contains(chunk),
                    "the Debug of a parsed `{visible}` command shows 16+ characters of the token"
                );
            }
            assert!(shown.contains("TokenArg(<redacted>)"), "{shown}");
        }
        assert!(format!("{cli:#?}").contains(visible), "{cli:#?}");
    }
    // `-` (stdin) holds no secret and says so.
    let cli = Cli::try_parse_from(["tessera", "inspect", "-"]).unwrap();
    assert!(format!("{cli:?}").contains("TokenArg(stdin)"));
}
