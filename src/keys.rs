//! Key files: the log's Ed25519 signing key and the master keys that wrap per-object data keys.
//!
//! Layout of the keys folder (see keys.example/README.md):
//! - `log.key`: the log signer in the C2SP/Go note format `PRIVATE+KEY+<name>+<id>+<base64>`;
//! - `master-<8 hex id>.key`: master keys (custos-seal text format); the highest id is current.
//!
//! Every key file is created with mode 0600 in a 0700 folder, and the vault refuses to start
//! when any of them is readable or writable by group or others.

use custos_core::note::NoteSigner;
use custos_seal::{MasterKey, MasterKeyId};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// File name of the log signing key.
pub const LOG_KEY_FILE: &str = "log.key";

/// Errors loading or writing key files.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The folder or a file is missing or unreadable.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file could not be written.
    #[error("cannot write key file {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Group or others may read or write a key file or the key folder.
    #[error(
        "{path} is accessible by group or others (mode {mode:o}); run `chmod {want:o} {path}` and retry"
    )]
    LoosePermissions {
        /// The path.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
        /// The mode it should have.
        want: u32,
    },
    /// A key file's content is not a valid key.
    #[error("key file {path} is corrupt ({message}); restore it from the key backup")]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No master key exists.
    #[error("no master key (master-*.key) in {dir}; restore the keys folder from backup")]
    NoMasterKey {
        /// The keys folder.
        dir: PathBuf,
    },
    /// An object's data key is wrapped by a master key that is not on disk.
    #[error("master key {id:08x} is not in the keys folder; restore it from the key backup")]
    MissingMasterKey {
        /// The missing key id.
        id: u32,
    },
}

/// The keys a vault holds, loaded and checked.
pub struct VaultKeys {
    dir: PathBuf,
    /// Signs events and checkpoints.
    pub log: std::sync::Arc<NoteSigner>,
    masters: BTreeMap<u32, MasterKey>,
}

impl VaultKeys {
    /// Create the keys folder with a fresh log key named `origin` and master key 1.
    pub fn create(dir: &Path, origin: &str) -> Result<Self, KeyError> {
        create_private_dir(dir)?;
        let seed = Zeroizing::new(random32());
        let log = NoteSigner::from_seed(origin, *seed).map_err(|e| KeyError::Corrupt {
            path: dir.join(LOG_KEY_FILE),
            message: e.to_string(),
        })?;
        let mut text = log.to_private_string();
        text.push('\n');
        write_key_file(&dir.join(LOG_KEY_FILE), text.as_bytes())?;
        let master = MasterKey::random(MasterKeyId(1));
        write_key_file(&master_path(dir, 1), master.to_file_string().as_bytes())?;
        sync_dir(dir)?;
        let mut masters = BTreeMap::new();
        masters.insert(1, master);
        Ok(VaultKeys {
            dir: dir.to_owned(),
            log: std::sync::Arc::new(log),
            masters,
        })
    }

    /// Load and check every key file in `dir`.
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        check_mode(dir, 0o700)?;
        let log_path = dir.join(LOG_KEY_FILE);
        let text = read_key_file(&log_path)?;
        let log = NoteSigner::parse_private(text.trim_end()).map_err(|e| KeyError::Corrupt {
            path: log_path.clone(),
            message: e.to_string(),
        })?;
        let mut masters = BTreeMap::new();
        let entries = fs::read_dir(dir).map_err(|source| KeyError::Read {
            path: dir.to_owned(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| KeyError::Read {
                path: dir.to_owned(),
                source,
            })?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(id_hex) = name
                .strip_prefix("master-")
                .and_then(|n| n.strip_suffix(".key"))
            else {
                continue;
            };
            let path = entry.path();
            let id = u32::from_str_radix(id_hex, 16).map_err(|_| KeyError::Corrupt {
                path: path.clone(),
                message: "file name is not master-<8 hex digits>.key".into(),
            })?;
            let text = read_key_file(&path)?;
            let key = MasterKey::parse_file_string(&text).map_err(|e| KeyError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if key.id().0 != id {
                return Err(KeyError::Corrupt {
                    path,
                    message: format!("holds key {:08x}, not {id:08x}", key.id().0),
                });
            }
            masters.insert(id, key);
        }
        if masters.is_empty() {
            return Err(KeyError::NoMasterKey {
                dir: dir.to_owned(),
            });
        }
        Ok(VaultKeys {
            dir: dir.to_owned(),
            log: std::sync::Arc::new(log),
            masters,
        })
    }

    /// The master key new objects are wrapped with (the highest id).
    pub fn current_master(&self) -> &MasterKey {
        self.masters
            .values()
            .next_back()
            .expect("at least one master key is loaded")
    }

    /// The master key with `id`.
    pub fn master(&self, id: u32) -> Result<&MasterKey, KeyError> {
        self.masters
            .get(&id)
            .ok_or(KeyError::MissingMasterKey { id })
    }

    /// Ids of all master keys on disk.
    pub fn master_ids(&self) -> Vec<u32> {
        self.masters.keys().copied().collect()
    }

    /// Write a new master key (id = highest + 1) durably and make it current.
    pub fn add_master(&mut self) -> Result<MasterKeyId, KeyError> {
        let id = self.current_master().id().0 + 1;
        let key = MasterKey::random(MasterKeyId(id));
        write_key_file(&master_path(&self.dir, id), key.to_file_string().as_bytes())?;
        sync_dir(&self.dir)?;
        self.masters.insert(id, key);
        Ok(MasterKeyId(id))
    }

    /// Delete a retired master key file once nothing is wrapped by it.
    pub fn remove_master(&mut self, id: u32) -> Result<(), KeyError> {
        let path = master_path(&self.dir, id);
        fs::remove_file(&path).map_err(|source| KeyError::Write { path, source })?;
        sync_dir(&self.dir)?;
        self.masters.remove(&id);
        Ok(())
    }
}

fn master_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("master-{id:08x}.key"))
}

/// 32 bytes from the operating system's random source.
pub fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the operating system's random source failed");
    b
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    fs::create_dir_all(dir).map_err(|source| KeyError::Write {
        path: dir.to_owned(),
        source,
    })?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|source| KeyError::Write {
        path: dir.to_owned(),
        source,
    })
}

fn write_key_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)
}

fn read_key_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    check_mode(path, 0o600)?;
    let bytes = Zeroizing::new(fs::read(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::Corrupt {
        path: path.to_owned(),
        message: "not UTF-8 text".into(),
    })?;
    Ok(Zeroizing::new(text.to_string()))
}

/// Refuse files or folders that group or others can access.
fn check_mode(path: &Path, want: u32) -> Result<(), KeyError> {
    let meta = fs::metadata(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::LoosePermissions {
            path: path.to_owned(),
            mode,
            want,
        });
    }
    Ok(())
}

/// fsync a folder so that file creations and removals in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| KeyError::Write {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_load_and_refuse_loose_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let k = VaultKeys::create(&dir, "custos.test/v1").unwrap();
        let again = VaultKeys::load(&dir).unwrap();
        assert_eq!(
            again.log.verifier().to_string(),
            k.log.verifier().to_string()
        );
        assert_eq!(again.current_master().id().0, 1);
        let log = dir.join(LOG_KEY_FILE);
        assert_eq!(
            fs::metadata(&log).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&log, fs::Permissions::from_mode(0o644)).unwrap();
        let e = VaultKeys::load(&dir).err().unwrap();
        assert!(
            matches!(e, KeyError::LoosePermissions { mode: 0o644, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("chmod 600"));
    }

    #[test]
    fn rotation_adds_a_higher_master() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let mut k = VaultKeys::create(&dir, "custos.test/v1").unwrap();
        assert_eq!(k.add_master().unwrap().0, 2);
        k.remove_master(1).unwrap();
        let again = VaultKeys::load(&dir).unwrap();
        assert_eq!(again.master_ids(), vec![2]);
    }
}
