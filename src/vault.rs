//! A vault on disk: its folder, configuration, keys, database, object store and log sequencer.
//!
//! Layout (docs/ARCHITECTURE.md): `custos.toml`, `custos.db` (+ WAL), `keys/` (0700, key files
//! 0600), `store/objects/<id>` for the local backend, `sequencer.lock`.

use crate::config::{CONFIG_FILE, Config, ConfigError};
use crate::custody::{LogError, LogIdentity, Sequencer};
use crate::db::{self, DB_FILE, DbError};
use crate::keys::{KeyError, VaultKeys};
use crate::store::{EvidenceStore, StoreError};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// File name of the sequencer lock.
pub const LOCK_FILE: &str = "sequencer.lock";
/// File name of the ingest lock (shared by ingests, exclusive for repair).
pub const INGEST_LOCK_FILE: &str = "ingest.lock";

/// Errors creating or opening a vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// `init` on a folder that already holds something.
    #[error(
        "{dir} already exists and is not empty; custos init never touches an existing folder: choose another --dir"
    )]
    Exists {
        /// The folder.
        dir: PathBuf,
    },
    /// No vault where one was expected.
    #[error(
        "no vault at {dir} (no {CONFIG_FILE}); create one with `custos init --dir {dir}` or set CUSTOS_DIR"
    )]
    NotAVault {
        /// The folder.
        dir: PathBuf,
    },
    /// Creating the vault's folders or files failed.
    #[error("cannot create the vault at {dir}: {source}")]
    Create {
        /// The folder.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Configuration problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Key file problem.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Database problem.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Object store problem.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Custody log problem.
    #[error(transparent)]
    Log(#[from] LogError),
}

/// Options for `custos init`.
#[derive(Debug, Default, Clone)]
pub struct InitOptions {
    /// Checkpoint origin; a unique default is generated when absent.
    pub origin: Option<String>,
    /// Default examiner for local mode; `$USER` or "examiner" when absent.
    pub examiner: Option<String>,
    /// Storage URL; local `file://store` when absent.
    pub storage_url: Option<String>,
    /// S3 endpoint, for S3-compatible services.
    pub storage_endpoint: Option<String>,
    /// Allow plain HTTP to the S3 endpoint.
    pub allow_http: bool,
}

/// An open vault.
pub struct Vault {
    /// The vault folder.
    pub dir: PathBuf,
    /// Its configuration.
    pub config: Config,
    /// Its keys.
    pub keys: VaultKeys,
    /// Its object store.
    pub store: EvidenceStore,
    /// The log's single writer.
    pub sequencer: Sequencer,
    /// The log's identity.
    pub log_id: LogIdentity,
}

impl Vault {
    /// Create a new vault in `dir`. Builds it in a hidden sibling folder and renames it into place,
    /// so a failed init leaves nothing behind.
    pub fn init(dir: &Path, opts: &InitOptions) -> Result<Config, VaultError> {
        if let Ok(mut rd) = std::fs::read_dir(dir) {
            if rd.next().is_some() {
                return Err(VaultError::Exists {
                    dir: dir.to_owned(),
                });
            }
        } else if dir.exists() {
            return Err(VaultError::Exists {
                dir: dir.to_owned(),
            });
        }
        let create = |source| VaultError::Create {
            dir: dir.to_owned(),
            source,
        };
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "vault".into());
        let staging = parent.join(format!(
            ".{name}.init-{}",
            hex::encode(&crate::keys::random32()[..6])
        ));
        let result = (|| {
            std::fs::create_dir(&staging).map_err(create)?;
            set_mode(&staging, 0o700).map_err(create)?;
            let origin = opts.origin.clone().unwrap_or_else(|| {
                format!(
                    "custos-vault/{}",
                    hex::encode(&crate::keys::random32()[..8])
                )
            });
            let examiner = opts
                .examiner
                .clone()
                .or_else(|| {
                    std::env::var("USER")
                        .ok()
                        .filter(|u| crate::config::valid_name(u))
                })
                .unwrap_or_else(|| "examiner".to_string());
            let mut config = Config::new_local(origin, examiner);
            if let Some(url) = &opts.storage_url {
                config.storage.url = url.clone();
            }
            config.storage.endpoint = opts.storage_endpoint.clone();
            config.storage.allow_http = opts.allow_http;
            let text = config.to_annotated_toml();
            Config::parse(&text, &staging.join(CONFIG_FILE))?;
            let keys_dir = resolve(&staging, &config.keys.dir);
            VaultKeys::create(&keys_dir, &config.vault.origin)?;
            drop(db::open(&staging.join(DB_FILE), true)?);
            write_synced(&staging.join(CONFIG_FILE), text.as_bytes()).map_err(create)?;
            Ok(config)
        })();
        match result {
            Ok(config) => {
                // An empty target folder may exist; replace it.
                let _ = std::fs::remove_dir(dir);
                std::fs::rename(&staging, dir).map_err(create)?;
                crate::keys::sync_dir(&parent)?;
                // The local object folder is created relative to the final path.
                EvidenceStore::from_config(&config.storage, dir)?;
                Ok(config)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                Err(e)
            }
        }
    }

    /// Open an existing vault: read the config, check and load keys, open the database, connect
    /// the object store and start the log sequencer.
    pub fn open(dir: &Path) -> Result<Self, VaultError> {
        let cfg_path = dir.join(CONFIG_FILE);
        if !cfg_path.exists() {
            return Err(VaultError::NotAVault {
                dir: dir.to_owned(),
            });
        }
        let config = Config::load(&cfg_path)?;
        let keys = VaultKeys::load(&resolve(dir, &config.keys.dir))?;
        drop(db::open(&dir.join(DB_FILE), false)?);
        let store = EvidenceStore::from_config(&config.storage, dir)?;
        let log_id = LogIdentity {
            origin: config.vault.origin.clone(),
            clock: config.vault.clock.clone(),
            signer: keys.log.clone(),
        };
        let sequencer = Sequencer::start(&dir.join(DB_FILE), &dir.join(LOCK_FILE), log_id.clone())?;
        Ok(Vault {
            dir: dir.to_owned(),
            config,
            keys,
            store,
            sequencer,
            log_id,
        })
    }

    /// A new database connection (readers and non-log writers).
    pub fn connect(&self) -> Result<Connection, DbError> {
        db::open(&self.dir.join(DB_FILE), false)
    }

    /// Held (shared) by every running ingest, so `audit --repair` never removes the staging
    /// object of an ingest in progress. While a repair or `keys rotate` holds it exclusively,
    /// the wait happens on a blocking thread, not on an async worker.
    pub async fn shared_ingest_lock(&self) -> Result<std::fs::File, VaultError> {
        let err = |source| VaultError::Create {
            dir: self.dir.clone(),
            source,
        };
        let f = self.open_lock_file().map_err(err)?;
        match f.try_lock_shared() {
            Ok(()) => return Ok(f),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(err(e)),
        }
        tokio::task::spawn_blocking(move || f.lock_shared().map(|()| f))
            .await
            .map_err(|_| err(std::io::Error::other("the lock task stopped")))?
            .map_err(err)
    }

    /// Taken by `audit --repair`; fails at once while any ingest runs.
    pub fn exclusive_ingest_lock(&self) -> std::io::Result<std::fs::File> {
        let f = self.open_lock_file()?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "ingest in progress",
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn open_lock_file(&self) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(INGEST_LOCK_FILE))
    }

    /// The keys folder.
    pub fn keys_dir(&self) -> PathBuf {
        resolve(&self.dir, &self.config.keys.dir)
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
