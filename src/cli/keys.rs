//! `tessera init` and `tessera keys …`: the data directory's keyring, with
//! every key change written to the audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use rand::rngs::OsRng;

use serde::Serialize;

use crate::keys::{KeyState, PrivateKeyring, RootKey};
use crate::store::datadir::DataDir;
use crate::store::Store;

use super::output::{fmt_time, print};

/// `tessera keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new active signing key; older keys keep verifying.
    Rotate {
        /// Print the new key as JSON (`id`, `state`, `created`).
        #[arg(long)]
        json: bool,
    },
    /// Stop a key verifying (tokens it signed fail with unknown_key).
    Retire {
        /// The key id to retire.
        id: u32,
        /// Print the retired key as JSON (`id`, `state`, `created`).
        #[arg(long)]
        json: bool,
    },
    /// List key ids and states.
    List {
        /// Print a JSON array (`id`, `state`, `created`) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the public keyring (Biscuit Web Keys JSON); --out also writes it to a file.
    ExportPublic {
        /// Also write the JSON to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Accepted for symmetry: the keyring is printed as JSON either way.
        #[arg(long)]
        json: bool,
    },
}

/// One key as `keys list --json`, `keys rotate --json` and `keys retire
/// --json` print it.
#[derive(Debug, Serialize)]
struct KeyRow {
    /// The key id (the root key id tokens name).
    id: u32,
    /// `active`, `verifying` or `retired`.
    state: KeyState,
    /// When it was made.
    created: String,
}

impl KeyRow {
    fn of(key: &RootKey) -> Self {
        KeyRow {
            id: key.id(),
            state: key.state(),
            created: fmt_time(key.created()),
        }
    }

    /// The key `id` of `ring`, as a row.
    fn find(ring: &PrivateKeyring, id: u32) -> Result<Self> {
        ring.keys()
            .into_iter()
            .find(|k| k.id() == id)
            .map(KeyRow::of)
            .ok_or_else(|| anyhow!("key {id} is not in the keyring after the change"))
    }
}

/// What `init --json` prints: where everything was written.
#[derive(Debug, Serialize)]
struct Initialised {
    /// The data directory.
    data_dir: PathBuf,
    /// keys.toml (mode 0600).
    private_keyring: PathBuf,
    /// public-keys.json (Biscuit Web Keys).
    public_keyring: PathBuf,
    /// tessera.redb.
    store: PathBuf,
    /// The id of the key that signs.
    active_key_id: u32,
}

fn open_store(data: &DataDir) -> Result<Store> {
    Ok(Store::open(&data.store_path())?)
}

/// Creates the keyring and the store.
pub(crate) fn init(
    data: &DataDir,
    force: bool,
    json: bool,
    now: DateTime<Utc>,
) -> Result<ExitCode> {
    if data.has_keyring() && !force {
        bail!(
            "{} already exists; pass --force to replace it (tokens signed by the old keys will stop verifying)",
            data.keyring_path().display()
        );
    }
    data.create()?;
    let ring = PrivateKeyring::generate_with_rng(&mut OsRng, now);
    data.write_keyring(&ring, force)?;
    let store = Store::create(&data.store_path())?;
    let change = crate::change::Change::KeysInitialised {
        key: crate::change::PublicKeyPart::of(ring.active()),
    };
    store.apply(&change, &crate::change::Actor::Cli, now)?;
    let done = Initialised {
        data_dir: data.root().to_path_buf(),
        private_keyring: data.keyring_path(),
        public_keyring: data.public_keyring_path(),
        store: data.store_path(),
        active_key_id: ring.active().id(),
    };
    print(json, &done, |done| {
        println!("initialised {}", done.data_dir.display());
        println!(
            "  private keyring  {} (mode 0600, active key id {})",
            done.private_keyring.display(),
            done.active_key_id
        );
        println!("  public keyring   {}", done.public_keyring.display());
        println!("  store            {}", done.store.display());
    })
}

/// Runs a `keys` command.
pub(crate) fn keys(data: &DataDir, cmd: KeysCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    let mut ring = data.read_keyring()?;
    // Changes are audited: open the store before writing keys, so a store held
    // by `tessera serve` stops the command before anything changes.
    let store = match cmd {
        KeysCommand::Rotate { .. } | KeysCommand::Retire { .. } => Some(open_store(data)?),
        KeysCommand::List { .. } | KeysCommand::ExportPublic { .. } => None,
    };
    match cmd {
        KeysCommand::Rotate { json } => {
            let id = ring.rotate_with_rng(&mut OsRng, now);
            data.write_keyring(&ring, true)?;
            if let Some(store) = &store {
                let change = crate::change::Change::KeyRotated {
                    key: crate::change::PublicKeyPart::of(ring.active()),
                };
                store.apply(&change, &crate::change::Actor::Cli, now)?;
            }
            print(json, &KeyRow::find(&ring, id)?, |_| {
                println!("rotated: key {id} now signs; older keys keep verifying until retired");
            })
        }
        KeysCommand::Retire { id, json } => {
            ring.retire(id)?;
            data.write_keyring(&ring, true)?;
            if let Some(store) = &store {
                let change = crate::change::Change::KeyRetired { key_id: id };
                store.apply(&change, &crate::change::Actor::Cli, now)?;
            }
            print(json, &KeyRow::find(&ring, id)?, |_| {
                println!("retired key {id}: tokens it signed no longer verify");
            })
        }
        KeysCommand::List { json } => {
            let keys: Vec<KeyRow> = ring.keys().into_iter().map(KeyRow::of).collect();
            print(json, &keys, |keys| {
                println!("{:<12} {:<10} CREATED", "ID", "STATE");
                for k in keys {
                    println!("{:<12} {:<10} {}", k.id, k.state.as_str(), k.created);
                }
            })
        }
        KeysCommand::ExportPublic { out, json: _ } => {
            let json = ring.public().to_bwk_json();
            if let Some(path) = out {
                std::fs::write(&path, format!("{json}\n")).with_context(|| {
                    format!(
                        "cannot write --out {}; check that its directory exists and is writable",
                        path.display()
                    )
                })?;
            }
            println!("{json}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
