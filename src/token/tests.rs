//! Round trips through the public API: issue, attenuate, decode, describe
//! and verify.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::keys::PrivateKeyring;
use crate::model::{Grant, Id, Operation, Resource, Restriction};

fn setup() -> (PrivateKeyring, StdRng, DateTime<Utc>) {
    let now = DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut rng = StdRng::seed_from_u64(1);
    (PrivateKeyring::generate_with_rng(&mut rng, now), rng, now)
}

#[test]
fn issued_guest_token_carries_the_vocabulary() {
    let (ring, mut rng, now) = setup();
    let ops = Operation::parse_list("read,export").unwrap();
    let at = now + chrono::Duration::days(90);
    let grant = Grant::guest(Id::new("ws_1").unwrap(), Id::new("v_9").unwrap(), &ops)
        .expires_at(Some(at))
        .label(Some("auditor".into()));
    let issued = issue_with_rng(&grant, &ring, now, &mut rng).unwrap();
    assert!(issued.token.expose().starts_with(TOKEN_PREFIX));
    assert_eq!(format!("{:?}", issued.token), "SecretToken(..)");
    let d = describe(&decode(issued.token.expose(), DEFAULT_MAX_TOKEN_BYTES).unwrap()).unwrap();
    assert_eq!(d.claims.vocabulary, Some(1));
    assert_eq!(
        d.claims.token_id.as_deref(),
        Some(issued.entry.token_id.as_str())
    );
    assert_eq!(d.claims.kind.as_deref(), Some("guest"));
    assert_eq!(d.claims.workspace.as_deref(), Some("ws_1"));
    assert_eq!(d.claims.rights.len(), 2);
    assert_eq!(d.claims.expires_at, Some(at));
    assert_eq!(d.claims.labels, vec!["auditor".to_string()]);
    assert_eq!(d.root_key_id, Some(ring.active().id()));
    assert_eq!(
        d.blocks[0].checks,
        vec![format!(
            "check if time($t), $t <= {}",
            at.format("%Y-%m-%dT%H:%M:%SZ")
        )]
    );
}

#[test]
fn attenuation_appends_checks_only() {
    let (ring, mut rng, now) = setup();
    let ops = Operation::parse_list("read,write").unwrap();
    let grant = Grant::api_key(Id::new("ws").unwrap(), None, &ops);
    let issued = issue_with_rng(&grant, &ring, now, &mut rng).unwrap();
    let restriction = Restriction {
        operations: Some(Operation::parse_list("read").unwrap()),
        resource: Some(Resource::table(Id::new("t").unwrap())),
        expires_at: Some(now + chrono::Duration::days(1)),
        label: Some("contractor".into()),
    };
    let child =
        attenuate_with_rng(issued.token.expose(), &restriction, now, 8192, &mut rng).unwrap();
    let d = describe(&decode(child.expose(), 8192).unwrap()).unwrap();
    assert_eq!(d.blocks.len(), 2);
    assert!(d.blocks[1].facts.is_empty() && d.blocks[1].rules.is_empty());
    assert_eq!(d.blocks[1].checks.len(), 3);
    assert_eq!(d.claims.expires_at, restriction.expires_at);
    assert_eq!(d.claims.labels, vec!["contractor".to_string()]);
    verify(decode(child.expose(), 8192).unwrap(), &ring.public()).unwrap();
}

#[test]
fn tokens_use_only_datalog_3_0_so_every_biscuit_library_reads_them() {
    let (ring, mut rng, now) = setup();
    let ops = Operation::parse_list("read,write,export").unwrap();
    let grant = Grant::guest(Id::new("ws").unwrap(), Id::new("v").unwrap(), &ops)
        .expires_at(Some(now + chrono::Duration::days(1)))
        .label(Some("l".into()));
    let issued = issue_with_rng(&grant, &ring, now, &mut rng).unwrap();
    let restriction = Restriction {
        operations: Some(Operation::parse_list("read,export").unwrap()),
        resource: Some(Resource::workspace(Id::new("ws").unwrap())),
        expires_at: Some(now + chrono::Duration::hours(1)),
        label: Some("c".into()),
    };
    let child =
        attenuate_with_rng(issued.token.expose(), &restriction, now, 8192, &mut rng).unwrap();
    let token = decode(child.expose(), 8192).unwrap();
    for i in 0..token.block_count() {
        // Block version 3 is Datalog 3.0, the oldest the v6 format writes.
        assert_eq!(token.block_version(i).unwrap(), 3, "block {i}");
    }
}

#[test]
fn decoding_rejects_garbage_and_oversize() {
    assert_eq!(
        decode_bytes("tsr_", 100).unwrap_err(),
        TokenError::Malformed("empty token")
    );
    assert!(matches!(
        decode("tsr_!!!", 100),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(
        decode("tsr_AAAA", 100),
        Err(TokenError::Malformed(_))
    ));
    assert_eq!(
        decode_bytes(&"A".repeat(101), 100).unwrap_err(),
        TokenError::Malformed("token is larger than the limit")
    );
}

#[test]
fn verification_reports_unknown_keys() {
    let (ring, mut rng, now) = setup();
    let other = PrivateKeyring::generate_with_rng(&mut rng, now);
    let issued = issue_with_rng(&Grant::admin(), &ring, now, &mut rng).unwrap();
    let err = verify(
        decode(issued.token.expose(), 8192).unwrap(),
        &other.public(),
    )
    .unwrap_err();
    assert_eq!(err, TokenError::UnknownKey(Some(ring.active().id())));
}

#[test]
fn each_preset_appends_exactly_the_block_it_describes() {
    use crate::model::{parse_until, Preset};
    let now = DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let until = parse_until("2027-01-31").unwrap();
    for preset in Preset::ALL {
        let restriction = preset.restriction(now, Some(until), None).unwrap();
        let block = super::attenuate::restriction_block(&restriction)
            .unwrap()
            .to_string();
        let described = preset
            .describe()
            .replace(" (only with --days or --until)", "")
            .replace("EXPIRY", "2027-01-31T23:59:59Z");
        assert_eq!(block, described, "{preset}");
    }
}
