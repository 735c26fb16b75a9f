//! The data directory: where the private keyring, the public keyring and
//! the redb store live, and the file handling that keeps keys secret
//! (mode 0600, atomic replace, refusing world-readable keyrings).
//!
//! A file may be a symbolic link (a keyring kept on a secrets mount, say):
//! reads and writes follow it. A write replaces the file the link points to,
//! atomically and in that file's own directory, and leaves the link a link.
//! A link that points nowhere, and a directory where a file should be, are
//! refused with an error naming the path and what to do.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::keys::{PrivateKeyring, PublicKeyring};

use super::StoreError;

/// The data directory used when neither `--data-dir` nor `TESSERA_DATA_DIR` is given.
pub const DEFAULT_DATA_DIR: &str = "tessera-data";

/// File names inside the data directory.
const KEYRING_FILE: &str = "keys.toml";
const PUBLIC_KEYRING_FILE: &str = "public-keys.json";
const STORE_FILE: &str = "tessera.redb";

/// A data directory and the paths of what it holds.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root` (nothing is touched yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The private keyring: `keys.toml`, mode 0600.
    pub fn keyring_path(&self) -> PathBuf {
        self.root.join(KEYRING_FILE)
    }

    /// The public keyring: `public-keys.json` (Biscuit Web Keys).
    pub fn public_keyring_path(&self) -> PathBuf {
        self.root.join(PUBLIC_KEYRING_FILE)
    }

    /// The redb store: `tessera.redb`.
    pub fn store_path(&self) -> PathBuf {
        self.root.join(STORE_FILE)
    }

    /// Creates the directory (mode 0700) if it does not exist.
    pub fn create(&self) -> Result<(), StoreError> {
        fs::create_dir_all(&self.root).map_err(|e| StoreError::io(&self.root, &e))?;
        let mut perms = fs::metadata(&self.root)
            .map_err(|e| StoreError::io(&self.root, &e))?
            .permissions();
        if perms.mode() & 0o077 != 0 {
            perms.set_mode(0o700);
            fs::set_permissions(&self.root, perms).map_err(|e| StoreError::io(&self.root, &e))?;
        }
        Ok(())
    }

    /// True when a private keyring exists.
    pub fn has_keyring(&self) -> bool {
        self.keyring_path().exists()
    }

    /// Reads the private keyring. Refuses one that others can read, and
    /// names the file in every error; never quotes its contents.
    pub fn read_keyring(&self) -> Result<PrivateKeyring, StoreError> {
        let path = self.keyring_path();
        if resolve_file(&path)?.is_none() {
            return Err(StoreError::MissingKeyring(path));
        }
        let meta = fs::metadata(&path).map_err(|e| StoreError::io(&path, &e))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(StoreError::KeyringPermissions { path, mode });
        }
        let text = zeroize::Zeroizing::new(
            fs::read_to_string(&path).map_err(|e| StoreError::io(&path, &e))?,
        );
        PrivateKeyring::from_toml(&text).map_err(|source| StoreError::Keyring { path, source })
    }

    /// Writes the private keyring atomically with mode 0600. Without
    /// `overwrite`, an existing keyring is left untouched and is an error.
    pub fn write_keyring(&self, ring: &PrivateKeyring, overwrite: bool) -> Result<(), StoreError> {
        let path = self.keyring_path();
        if !overwrite && path.exists() {
            return Err(StoreError::AlreadyInitialised(path));
        }
        write_atomically(&path, ring.to_toml().as_bytes(), 0o600)?;
        self.write_public_keyring(&ring.public())
    }

    /// Writes the public keyring (Biscuit Web Keys JSON), mode 0644.
    pub fn write_public_keyring(&self, ring: &PublicKeyring) -> Result<(), StoreError> {
        write_atomically(
            &self.public_keyring_path(),
            ring.to_bwk_json().as_bytes(),
            0o644,
        )
    }
}

/// Writes a secret (a bootstrap admin token) atomically with mode 0600.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomically(path, bytes, 0o600)
}

/// Reads a Biscuit Web Keys file, naming it in every error.
pub fn read_public_keyring(path: &Path, now: DateTime<Utc>) -> Result<PublicKeyring, StoreError> {
    let text = fs::read_to_string(path).map_err(|e| StoreError::io(path, &e))?;
    PublicKeyring::from_bwk_json(&text, now).map_err(|source| StoreError::Keyring {
        path: path.to_owned(),
        source,
    })
}

/// Where the file at `path` really is: `path` itself, or the file a
/// symbolic link (or chain of links) leads to; `None` when nothing is there
/// yet. A link to nowhere and a directory are errors.
fn resolve_file(path: &Path) -> Result<Option<PathBuf>, StoreError> {
    let link = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, &e)),
    };
    if !link.file_type().is_symlink() {
        if link.is_dir() {
            return Err(StoreError::NotAFile {
                path: path.to_owned(),
                target: None,
            });
        }
        return Ok(Some(path.to_owned()));
    }
    let real = match fs::canonicalize(path) {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::DanglingLink {
                path: path.to_owned(),
                target: fs::read_link(path).map_err(|e| StoreError::io(path, &e))?,
            })
        }
        Err(e) => return Err(StoreError::io(path, &e)),
    };
    if real.is_dir() {
        return Err(StoreError::NotAFile {
            path: path.to_owned(),
            target: Some(real),
        });
    }
    Ok(Some(real))
}

/// Writes `bytes` to a temporary file with `mode` beside the file at `path`
/// (beside its target, when `path` is a symbolic link), syncs it, and
/// renames it over that file: a reader sees the old file or the new one,
/// and a link stays a link.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StoreError> {
    let real = resolve_file(path)?;
    let path = real.as_deref().unwrap_or(path);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            d.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = fs::remove_file(&tmp);
        StoreError::io(path, &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn keyring_is_private_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("d"));
        data.create().unwrap();
        let ring = PrivateKeyring::generate_with_rng(&mut StdRng::seed_from_u64(3), Utc::now());
        data.write_keyring(&ring, false).unwrap();
        let mode = fs::metadata(data.keyring_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            data.write_keyring(&ring, false),
            Err(StoreError::AlreadyInitialised(_))
        ));
        assert_eq!(
            data.read_keyring().unwrap().active().id(),
            ring.active().id()
        );
        fs::set_permissions(data.keyring_path(), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            data.read_keyring(),
            Err(StoreError::KeyringPermissions { mode: 0o644, .. })
        ));
    }
}
