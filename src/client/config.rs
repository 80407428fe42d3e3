//! The client configuration file: which server, the API token, and the log key pinned at login.
//!
//! `~/.config/custos/client.toml` (or `$XDG_CONFIG_HOME/custos/client.toml`, or the path in
//! `$CUSTOS_CLIENT_CONFIG`). It holds a bearer token, so it is written 0600 in a 0700 folder
//! and refused when others can read it (as ssh refuses an open private key).

use serde::{Deserialize, Serialize};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Environment variable naming the client config file.
pub const CONFIG_ENV: &str = "CUSTOS_CLIENT_CONFIG";

/// What `custos login` stores.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The server's base URL, normalised (no trailing `/`).
    pub server: Option<String>,
    /// The API token for that server (`cst_<id>_<secret>`).
    pub token: Option<String>,
    /// The server's log verifier key (C2SP `name+keyid+base64`), pinned at first login:
    /// checkpoints and events are verified against it, never against whatever the server says.
    pub log_key: Option<String>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("log_key", &self.log_key)
            .finish()
    }
}

impl Drop for ClientConfig {
    fn drop(&mut self) {
        if let Some(t) = &mut self.token {
            zeroize::Zeroize::zeroize(t);
        }
    }
}

/// The client config cannot be found, read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither `$CUSTOS_CLIENT_CONFIG`, `$XDG_CONFIG_HOME` nor `$HOME` is set.
    #[error("cannot place the client config: set {CONFIG_ENV} or HOME")]
    NoHome,
    /// Reading failed.
    #[error("cannot read the client config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("the client config {} is damaged: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Others may read the file, which holds a token.
    #[error(
        "the client config {} is readable by others (mode {mode:04o}) and holds a token: run chmod 600 on it (and consider revoking the token)",
        path.display()
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Writing failed.
    #[error("cannot write the client config {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Where the client config lives: `$CUSTOS_CLIENT_CONFIG`, else
/// `$XDG_CONFIG_HOME/custos/client.toml`, else `$HOME/.config/custos/client.toml`.
pub fn config_path() -> Result<PathBuf, ConfigError> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = nonempty(CONFIG_ENV) {
        return Ok(PathBuf::from(p));
    }
    if let Some(x) = nonempty("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(x).join("custos").join("client.toml"));
    }
    let home = nonempty("HOME").ok_or(ConfigError::NoHome)?;
    Ok(PathBuf::from(home)
        .join(".config")
        .join("custos")
        .join("client.toml"))
}

impl ClientConfig {
    /// Load `path`; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, ConfigError> {
        let read_err = |source| ConfigError::Read {
            path: path.to_owned(),
            source,
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(read_err(e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ConfigError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(read_err)?);
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.message().to_string(),
            })
    }

    /// Write to `path` atomically: a 0600 temporary file in the same folder (created 0700 if
    /// missing), synced, then renamed over the old file.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write_err = |source| ConfigError::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(write_err)?;
        }
        let text = Zeroizing::new(toml::to_string(self).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "client.toml".into());
        let tmp = dir.join(format!(
            ".{name}.tmp-{}",
            hex::encode(&crate::keys::random32()[..6])
        ));
        let result = (|| {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            std::fs::File::open(&dir).and_then(|d| d.sync_all())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("client.toml");
        assert!(ClientConfig::load(&path).unwrap().is_none());
        let cfg = ClientConfig {
            server: Some("https://custos.example".into()),
            token: Some("cst_abc_def".into()),
            log_key: None,
        };
        cfg.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        assert_eq!(ClientConfig::load(&path).unwrap(), Some(cfg.clone()));
        assert!(!format!("{cfg:?}").contains("def"), "Debug hides the token");
        // No temporary file is left beside it.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn refuses_a_file_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.toml");
        std::fs::write(&path, "token = \"cst_a_b\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        match ClientConfig::load(&path) {
            Err(ConfigError::TooOpen { mode, .. }) => assert_eq!(mode, 0o644),
            other => panic!("expected TooOpen, got {other:?}"),
        }
    }

    #[test]
    fn refuses_unknown_keys_and_bad_toml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.toml");
        for text in ["tokn = \"x\"\n", "server = [\n"] {
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(
                matches!(ClientConfig::load(&path), Err(ConfigError::Parse { .. })),
                "{text}"
            );
        }
    }
}
