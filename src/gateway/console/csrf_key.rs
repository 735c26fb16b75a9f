//! The console's CSRF secret: 32 random bytes kept in the data directory
//! (`console-csrf.key`, hex, mode 0600), created on the first start and
//! read on every later one, so a form rendered before a restart still
//! posts after it. Gateways of a fleet share it when the file is the same
//! (copied, or a symbolic link to one secrets mount: writes and reads
//! follow the link). The key is never logged and `Debug` does not show it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use zeroize::Zeroizing;

use crate::store::DataDir;

/// The key file's name in the data directory.
pub(super) const KEY_FILE: &str = "console-csrf.key";

/// The secret the forms' tokens are derived with.
#[derive(Clone)]
pub(crate) struct CsrfKey(Arc<Zeroizing<[u8; 32]>>);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(…)")
    }
}

impl CsrfKey {
    /// A fresh random key.
    pub(crate) fn random() -> CsrfKey {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(bytes.as_mut());
        CsrfKey(Arc::new(bytes))
    }

    /// The key's bytes.
    pub(super) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key of `data`'s key file, created (0600) when there is none or
    /// it holds no key. When the file can be neither read nor written the
    /// console still works with a key of this process only, and says so
    /// in the log (naming the file, never the key).
    pub(crate) fn of_data_dir(data: &DataDir) -> CsrfKey {
        let path = key_path(data);
        match load_or_create(&path) {
            Ok(key) => key,
            Err(error) => {
                tracing::warn!(
                    path = %path.display(),
                    %error,
                    "the console's CSRF key file is not usable: its forms last only this process"
                );
                CsrfKey::random()
            }
        }
    }
}

/// The key in `path`, or a new one written there.
fn load_or_create(path: &Path) -> Result<CsrfKey, crate::store::StoreError> {
    if let Ok(text) = std::fs::read_to_string(path).map(Zeroizing::new) {
        if let Some(key) = parse(&text) {
            return Ok(key);
        }
    }
    let key = CsrfKey::random();
    let text = Zeroizing::new(format!("{}\n", hex::encode(key.bytes())));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| crate::store::StoreError::io(dir, &e))?;
    }
    crate::store::datadir::write_secret(path, text.as_bytes())?;
    Ok(key)
}

/// 64 hex digits (surrounding whitespace allowed).
fn parse(text: &str) -> Option<CsrfKey> {
    let decoded = Zeroizing::new(hex::decode(text.trim()).ok()?);
    let bytes: [u8; 32] = decoded.as_slice().try_into().ok()?;
    Some(CsrfKey(Arc::new(Zeroizing::new(bytes))))
}

/// The key file's path in `data`.
pub(super) fn key_path(data: &DataDir) -> PathBuf {
    data.root().join(KEY_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_key_is_created_once_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        let first = CsrfKey::of_data_dir(&data);
        let path = key_path(&data);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = CsrfKey::of_data_dir(&data);
        assert_eq!(first.bytes(), again.bytes());
        assert_eq!(format!("{first:?}"), "CsrfKey(…)");
        // A file holding no key is replaced by a new one.
        std::fs::write(&path, "not a key").unwrap();
        let fresh = CsrfKey::of_data_dir(&data);
        assert_ne!(fresh.bytes(), first.bytes());
        assert_eq!(CsrfKey::of_data_dir(&data).bytes(), fresh.bytes());
    }
}
