use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn ring() -> PrivateKeyring {
    PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(7), Utc::now())
}

#[test]
fn toml_round_trips_and_debug_hides_keys() {
    let r = ring();
    let text = r.to_toml();
    let back = PrivateKeyring::from_toml(&text).unwrap();
    assert_eq!(back.active().id(), r.active().id());
    assert_eq!(back.public(), r.public());
    let secret = hex::encode(r.active().keypair().private().to_bytes().as_slice());
    assert!(!format!("{r:?}").contains(&secret));
}

#[test]
fn rotation_keeps_old_keys_verifying_until_retired() {
    let mut r = ring();
    let old = r.active().id();
    let new = r.rotate_with_rng(&mut StdRng::seed_from_u64(8), Utc::now());
    assert_eq!(r.active().id(), new);
    assert!(r.public().get(old).is_some());
    assert!(matches!(r.retire(new), Err(KeyError::RetireActive(_))));
    r.retire(old).unwrap();
    assert!(r.public().get(old).is_none());
    assert!(matches!(r.retire(old), Err(KeyError::AlreadyRetired(_))));
    assert!(matches!(r.retire(1), Err(KeyError::UnknownKeyId(1))));
}

#[test]
fn corrupt_keyrings_are_refused_without_quoting_keys() {
    let text = ring().to_toml();
    let truncated = &text[..text.len() - 10];
    let err = PrivateKeyring::from_toml(truncated).unwrap_err();
    assert!(matches!(err, KeyError::CorruptKeyring(_)));
    assert!(!err.to_string().contains("private_key ="));
    let two_active = format!("{}\n{}", &*text, text.replace("[[key]]", "[[key]]\n"));
    assert!(PrivateKeyring::from_toml(&two_active).is_err());
}

#[test]
fn a_keyring_file_without_an_active_key_is_refused_by_name() {
    let mut r = ring();
    r.rotate_with_rng(&mut StdRng::seed_from_u64(8), Utc::now());
    let text = r.to_toml();
    // Every key retired, or verifying, or none at all: nothing could sign.
    let retired = text
        .replace("\"active\"", "\"retired\"")
        .replace("\"verifying\"", "\"retired\"");
    let verifying = text.replace("\"active\"", "\"verifying\"");
    for (file, keys) in [(&*retired, 2), (&*verifying, 2), ("key = []\n", 0)] {
        let err = PrivateKeyring::from_toml(file).unwrap_err();
        assert!(
            matches!(err, KeyError::NoActiveKey { keys: k } if k == keys),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("no active signing key"), "{message}");
        assert!(!message.contains("private_key"), "{message}");
    }
}

#[test]
fn every_keyring_keeps_one_active_key_and_writes_it() {
    let mut r = ring();
    let first = r.active().id();
    // The only key cannot be retired: the keyring would have nothing to sign with.
    assert!(matches!(r.retire(first), Err(KeyError::RetireActive(id)) if id == first));
    let second = r.rotate_with_rng(&mut StdRng::seed_from_u64(8), Utc::now());
    r.retire(first).unwrap();
    let third = r.rotate_with_rng(&mut StdRng::seed_from_u64(9), Utc::now());
    assert!(matches!(r.retire(third), Err(KeyError::RetireActive(_))));
    let ids: Vec<u32> = r.keys().iter().map(|k| k.id()).collect();
    assert_eq!(ids, vec![first, second, third], "oldest first");
    assert_eq!(r.active().id(), third);
    let text = r.to_toml();
    assert_eq!(text.matches("state = \"active\"").count(), 1);
    let back = PrivateKeyring::from_toml(&text).unwrap();
    assert_eq!(back.active().id(), third);
    let states: Vec<KeyState> = back.keys().iter().map(|k| k.state()).collect();
    assert_eq!(
        states,
        vec![KeyState::Retired, KeyState::Verifying, KeyState::Active]
    );
    // The file is what the TOML crate itself writes for the same keys.
    let file: KeyringFile = toml::from_str(&text).unwrap();
    let body = text.split_once('\n').map(|(_, body)| body).unwrap();
    assert_eq!(toml::to_string(&file).unwrap(), body);
}

#[test]
fn bwk_round_trips() {
    let r = ring();
    let json = r.public().to_bwk_json();
    assert!(json.contains("\"algorithm\": \"ed25519\""));
    let back = PublicKeyring::from_bwk_json(&json, Utc::now()).unwrap();
    assert_eq!(back, r.public());
    assert!(PublicKeyring::from_bwk_json("{", Utc::now()).is_err());
}
