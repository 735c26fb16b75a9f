//! `tessera init` and `tessera keys …`: the data directory's keyring, with
//! every key change written to the audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use rand::rngs::OsRng;

use crate::keys::PrivateKeyring;
use crate::store::datadir::DataDir;
use crate::store::Store;

use super::output::fmt_time;

/// `tessera keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new active signing key; older keys keep verifying.
    Rotate,
    /// Stop a key verifying (tokens it signed fail with unknown_key).
    Retire {
        /// The key id to retire.
        id: u32,
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
    },
}

fn open_store(data: &DataDir) -> Result<Store> {
    Ok(Store::open(&data.store_path())?)
}

/// Creates the keyring and the store.
pub(crate) fn init(data: &DataDir, force: bool, now: DateTime<Utc>) -> Result<ExitCode> {
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
    println!("initialised {}", data.root().display());
    println!(
        "  private keyring  {} (mode 0600, active key id {})",
        data.keyring_path().display(),
        ring.active().id()
    );
    println!(
        "  public keyring   {}",
        data.public_keyring_path().display()
    );
    println!("  store            {}", data.store_path().display());
    Ok(ExitCode::SUCCESS)
}

/// Runs a `keys` command.
pub(crate) fn keys(data: &DataDir, cmd: KeysCommand, now: DateTime<Utc>) -> Result<ExitCode> {
    let mut ring = data.read_keyring()?;
    // Changes are audited: open the store before writing keys, so a store held
    // by `tessera serve` stops the command before anything changes.
    let store = match cmd {
        KeysCommand::Rotate | KeysCommand::Retire { .. } => Some(open_store(data)?),
        KeysCommand::List { .. } | KeysCommand::ExportPublic { .. } => None,
    };
    match cmd {
        KeysCommand::Rotate => {
            let id = ring.rotate_with_rng(&mut OsRng, now);
            data.write_keyring(&ring, true)?;
            if let Some(store) = &store {
                let change = crate::change::Change::KeyRotated {
                    key: crate::change::PublicKeyPart::of(ring.active()),
                };
                store.apply(&change, &crate::change::Actor::Cli, now)?;
            }
            println!("rotated: key {id} now signs; older keys keep verifying until retired");
        }
        KeysCommand::Retire { id } => {
            ring.retire(id)?;
            data.write_keyring(&ring, true)?;
            if let Some(store) = &store {
                let change = crate::change::Change::KeyRetired { key_id: id };
                store.apply(&change, &crate::change::Actor::Cli, now)?;
            }
            println!("retired key {id}: tokens it signed no longer verify");
        }
        KeysCommand::List { json: true } => {
            let keys: Vec<serde_json::Value> = ring
                .keys()
                .iter()
                .map(|k| {
                    serde_json::json!({
                        "id": k.id(),
                        "state": k.state(),
                        "created": fmt_time(k.created()),
                    })
                })
                .collect();
            println!("{}", super::output::json_text(&keys, true)?);
        }
        KeysCommand::List { json: false } => {
            println!("{:<12} {:<10} CREATED", "ID", "STATE");
            for k in ring.keys() {
                let state = serde_json::to_value(k.state())?;
                println!(
                    "{:<12} {:<10} {}",
                    k.id(),
                    state.as_str().unwrap_or_default(),
                    fmt_time(k.created())
                );
            }
        }
        KeysCommand::ExportPublic { out } => {
            let json = ring.public().to_bwk_json();
            if let Some(path) = out {
                std::fs::write(&path, format!("{json}\n"))
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!("{json}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
