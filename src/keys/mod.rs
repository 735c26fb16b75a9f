//! Root keys: the private keyring (ids, the one active signing key,
//! rotation, retirement, its TOML text form) and the public keyring a
//! verifier needs (Biscuit Web Keys JSON, key lookup by root key id).
//!
//! No file I/O here: `store::datadir` reads and writes the files.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use biscuit_auth::builder::Algorithm;
use biscuit_auth::{BiscuitWebKey, KeyPair, PrivateKey, PublicKey, RootKeyProvider};
use chrono::{DateTime, Utc};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The issuer name written into public keyrings.
pub const ISSUER: &str = "tessera";

/// Why a keyring could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The private keyring text is not a valid keyring.
    #[error("not a valid private keyring: {0}")]
    CorruptKeyring(String),
    /// The public keyring text is not valid Biscuit Web Keys JSON.
    #[error("not a valid Biscuit Web Keys file: {0}")]
    CorruptPublicKeyring(String),
    /// The keyring has more than one active key (none is
    /// [`KeyError::NoActiveKey`]).
    #[error("the keyring must have exactly one active key, found {0}")]
    ActiveKeyCount(usize),
    /// The keyring holds no active key: nothing could sign, so it is
    /// neither loaded nor ever written.
    #[error(
        "the keyring has no active signing key ({keys} keys, none of them active): \
         restore the keyring file from a backup, or run `tessera init --force` for new keys"
    )]
    NoActiveKey {
        /// How many keys the keyring holds (all verifying or retired).
        keys: usize,
    },
    /// Two keys share an id.
    #[error("key id {0} appears twice in the keyring")]
    DuplicateKeyId(u32),
    /// No key has this id.
    #[error("no key with id {0} in the keyring")]
    UnknownKeyId(u32),
    /// Retiring the signing key would leave nothing to sign with.
    #[error("key {0} is the active signing key: rotate first, then retire it")]
    RetireActive(u32),
    /// The key is already retired.
    #[error("key {0} is already retired")]
    AlreadyRetired(u32),
}

/// Where a root key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Signs new tokens and verifies. Exactly one key is active.
    Active,
    /// Verifies tokens it signed before a rotation; signs nothing new.
    Verifying,
    /// Verifies nothing; kept so its id is never reused.
    Retired,
}

impl KeyState {
    /// The state as the keyring file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Verifying => "verifying",
            KeyState::Retired => "retired",
        }
    }
}

/// One root key pair with its id. Secret: its `Debug` shows only the id.
pub struct RootKey {
    id: u32,
    keypair: KeyPair,
    created: DateTime<Utc>,
    state: KeyState,
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootKey")
            .field("id", &self.id)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl RootKey {
    /// A new Ed25519 key in `state`, with a nonzero id `taken` says is free.
    fn generate<R: RngCore + CryptoRng>(
        rng: &mut R,
        now: DateTime<Utc>,
        state: KeyState,
        taken: impl Fn(u32) -> bool,
    ) -> Self {
        let id = loop {
            let candidate = rng.next_u32();
            if candidate != 0 && !taken(candidate) {
                break candidate;
            }
        };
        RootKey {
            id,
            keypair: KeyPair::new_with_rng(Algorithm::Ed25519, rng),
            created: now,
            state,
        }
    }

    /// The root key id tokens carry.
    pub fn id(&self) -> u32 {
        self.id
    }
    /// Where the key is in its life.
    pub fn state(&self) -> KeyState {
        self.state
    }
    /// When it was made.
    pub fn created(&self) -> DateTime<Utc> {
        self.created
    }
    /// Its public half.
    pub fn public(&self) -> PublicKey {
        self.keypair.public()
    }
    /// The key pair, for signing.
    pub(crate) fn keypair(&self) -> &KeyPair {
        &self.keypair
    }
}

/// The issuer's root keys. Exactly one is active and signs: the active key
/// is held apart from the others, so a keyring without one cannot be
/// built, used to sign, or written (a file without one is refused by
/// [`PrivateKeyring::from_toml`] with [`KeyError::NoActiveKey`]).
pub struct PrivateKeyring {
    /// The key that signs.
    active: RootKey,
    /// Every other key (verifying or retired), oldest first.
    others: Vec<RootKey>,
    /// Where the active key sits among `others`, oldest first.
    active_at: usize,
}

impl fmt::Debug for PrivateKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The file form of one key. Never logged: it holds the private key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRecord {
    id: u32,
    algorithm: String,
    state: KeyState,
    created: DateTime<Utc>,
    private_key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    key: Vec<KeyRecord>,
}

impl PrivateKeyring {
    /// A new keyring with one active Ed25519 key.
    pub fn generate_with_rng<R: RngCore + CryptoRng>(rng: &mut R, now: DateTime<Utc>) -> Self {
        PrivateKeyring {
            active: RootKey::generate(rng, now, KeyState::Active, |_| false),
            others: Vec::new(),
            active_at: 0,
        }
    }

    /// Every key, oldest first.
    fn iter(&self) -> impl Iterator<Item = &RootKey> {
        let (before, after) = self.others.split_at(self.active_at.min(self.others.len()));
        before
            .iter()
            .chain(std::iter::once(&self.active))
            .chain(after)
    }

    /// Adds a new active key; the old active key keeps verifying. Returns the new id.
    pub fn rotate_with_rng<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        now: DateTime<Utc>,
    ) -> u32 {
        let key = RootKey::generate(rng, now, KeyState::Active, |id| {
            self.iter().any(|k| k.id == id)
        });
        let id = key.id;
        let mut old = std::mem::replace(&mut self.active, key);
        old.state = KeyState::Verifying;
        let at = self.active_at.min(self.others.len());
        self.others.insert(at, old);
        self.active_at = self.others.len();
        id
    }

    /// Stops a key verifying. The active key cannot be retired.
    pub fn retire(&mut self, id: u32) -> Result<(), KeyError> {
        if self.active.id == id {
            return Err(KeyError::RetireActive(id));
        }
        let key = self
            .others
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or(KeyError::UnknownKeyId(id))?;
        match key.state {
            KeyState::Active => Err(KeyError::RetireActive(id)),
            KeyState::Retired => Err(KeyError::AlreadyRetired(id)),
            KeyState::Verifying => {
                key.state = KeyState::Retired;
                Ok(())
            }
        }
    }

    /// The key that signs new tokens (every keyring has one).
    pub fn active(&self) -> &RootKey {
        &self.active
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> Vec<&RootKey> {
        self.iter().collect()
    }

    /// The public keyring: every key that still verifies.
    pub fn public(&self) -> PublicKeyring {
        PublicKeyring {
            keys: self
                .iter()
                .filter(|k| k.state != KeyState::Retired)
                .map(|k| (k.id, k.public()))
                .collect(),
        }
    }

    /// The keyring's file text (TOML): every key, oldest first, the active
    /// one always among them. Secret: zeroized when dropped.
    ///
    /// Written by hand rather than through a serializer that can fail, so
    /// there is no error path that could write an empty keyring: every
    /// value is an integer or a string that needs no escaping (a fixed
    /// word, an RFC 3339 time, hex).
    pub fn to_toml(&self) -> Zeroizing<String> {
        const HEADER: &str =
            "# Tessera private keyring: root keys by id. Secret; keep mode 0600.\n";
        // Room for every key up front: growing would leave copies of keys behind.
        let mut text = Zeroizing::new(String::with_capacity(
            HEADER.len() + 256 * (1 + self.others.len()),
        ));
        text.push_str(HEADER);
        for (i, key) in self.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            let private = Zeroizing::new(hex::encode(key.keypair.private().to_bytes().as_slice()));
            // Writing to a String cannot fail.
            let _ = write!(
                text,
                "[[key]]\nid = {}\nalgorithm = \"ed25519\"\nstate = \"{}\"\ncreated = \"{}\"\nprivate_key = \"{}\"\n",
                key.id,
                key.state.as_str(),
                key.created.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                &*private,
            );
        }
        text
    }

    /// Reads a keyring from its file text. Errors never quote key material.
    pub fn from_toml(text: &str) -> Result<Self, KeyError> {
        let file: KeyringFile = toml::from_str(text).map_err(|e| {
            // toml's message can quote the offending line, which may hold a key.
            KeyError::CorruptKeyring(format!(
                "TOML syntax or shape error{}",
                e.span()
                    .map(|s| format!(" at byte {}", s.start))
                    .unwrap_or_default()
            ))
        })?;
        let mut keys: Vec<RootKey> = Vec::with_capacity(file.key.len());
        for record in file.key {
            if record.algorithm != "ed25519" {
                return Err(KeyError::CorruptKeyring(format!(
                    "key {} has unsupported algorithm {:?}",
                    record.id, record.algorithm
                )));
            }
            if keys.iter().any(|k| k.id == record.id) {
                return Err(KeyError::DuplicateKeyId(record.id));
            }
            let bytes = Zeroizing::new(hex::decode(&record.private_key).map_err(|_| {
                KeyError::CorruptKeyring(format!("key {} is not valid hex", record.id))
            })?);
            let private = PrivateKey::from_bytes(&bytes, Algorithm::Ed25519).map_err(|_| {
                KeyError::CorruptKeyring(format!("key {} is not a valid Ed25519 key", record.id))
            })?;
            keys.push(RootKey {
                id: record.id,
                keypair: KeyPair::from(&private),
                created: record.created,
                state: record.state,
            });
        }
        let active = keys.iter().filter(|k| k.state == KeyState::Active).count();
        if active > 1 {
            return Err(KeyError::ActiveKeyCount(active));
        }
        let active_at = keys
            .iter()
            .position(|k| k.state == KeyState::Active)
            .ok_or(KeyError::NoActiveKey { keys: keys.len() })?;
        let active = keys.remove(active_at);
        Ok(PrivateKeyring {
            active,
            others: keys,
            active_at,
        })
    }
}

/// Root public keys by id: all a verifier needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublicKeyring {
    keys: BTreeMap<u32, PublicKey>,
}

impl PublicKeyring {
    /// The key with this id, if it verifies.
    pub fn get(&self, id: u32) -> Option<&PublicKey> {
        self.keys.get(&id)
    }

    /// A keyring of these keys (the fleet's, as its changes carried them).
    pub fn from_keys(keys: impl IntoIterator<Item = (u32, PublicKey)>) -> Self {
        PublicKeyring {
            keys: keys.into_iter().collect(),
        }
    }

    /// The key ids, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }

    /// The keyring as Biscuit Web Keys JSON (an array of
    /// `{algorithm, key_bytes, key_id, issuer, expires_at}`).
    pub fn to_bwk_json(&self) -> String {
        let bwks: Vec<BiscuitWebKey> = self
            .keys
            .iter()
            .map(|(&key_id, &public_key)| BiscuitWebKey {
                public_key,
                key_id,
                issuer: Some(ISSUER.to_owned()),
                expires_at: None,
            })
            .collect();
        serde_json::to_string_pretty(&bwks).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Reads Biscuit Web Keys JSON. Keys whose `expires_at` has passed at
    /// `now` are left out.
    pub fn from_bwk_json(text: &str, now: DateTime<Utc>) -> Result<Self, KeyError> {
        let bwks: Vec<BiscuitWebKey> = serde_json::from_str(text)
            .map_err(|e| KeyError::CorruptPublicKeyring(e.to_string()))?;
        let mut keys = BTreeMap::new();
        for bwk in bwks {
            if bwk.expires_at.is_some_and(|at| at <= now) {
                continue;
            }
            if keys.insert(bwk.key_id, bwk.public_key).is_some() {
                return Err(KeyError::DuplicateKeyId(bwk.key_id));
            }
        }
        Ok(PublicKeyring { keys })
    }
}

impl RootKeyProvider for &PublicKeyring {
    fn choose(&self, key_id: Option<u32>) -> Result<PublicKey, biscuit_auth::error::Format> {
        key_id
            .and_then(|id| self.keys.get(&id).copied())
            .ok_or(biscuit_auth::error::Format::UnknownPublicKey)
    }
}

#[cfg(test)]
mod tests;
