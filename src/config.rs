//! The vault's configuration file (`custos.toml`): parsing, validation and the defaults `init` writes.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the configuration inside the vault folder.
pub const CONFIG_FILE: &str = "custos.toml";

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the vault configuration {path}: {source}")]
    Read {
        /// The config path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has wrong fields.
    #[error(
        "the vault configuration {path} is not valid: {message}; fix the file or restore it from backup"
    )]
    Parse {
        /// The config path.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A value is out of its allowed set.
    #[error("the vault configuration {path} has an invalid {field}: {message}")]
    Invalid {
        /// The config path.
        path: PathBuf,
        /// The offending field, e.g. `vault.origin`.
        field: &'static str,
        /// Why it is invalid.
        message: String,
    },
}

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Identity of this vault and its log.
    pub vault: VaultSection,
    /// Where the encrypted objects live.
    pub storage: StorageSection,
    /// Where the key files live.
    #[serde(default)]
    pub keys: KeysSection,
    /// The HTTP service (`custos serve`).
    #[serde(default)]
    pub server: ServerSection,
}

/// `[server]`: the HTTP service. Every field has a default, so a vault runs with no `[server]`
/// section; environment variables override the file (`custos serve --help` lists them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address and port to listen on (`$CUSTOS_BIND`).
    pub bind: String,
    /// PEM certificate chain for TLS (`$CUSTOS_TLS_CERT`); plain HTTP when absent.
    pub tls_cert: Option<String>,
    /// PEM private key for TLS (`$CUSTOS_TLS_KEY`).
    pub tls_key: Option<String>,
    /// Log format: `text` or `json` (`$CUSTOS_LOG_FORMAT`).
    pub log_format: String,
    /// A token unused for this many seconds expires.
    pub token_idle_secs: u64,
    /// Lifetime of a newly issued token, in seconds, unless the issuer says otherwise.
    pub token_ttl_secs: u64,
    /// Failed authentication attempts before an account is locked.
    pub lockout_attempts: u32,
    /// How long a locked account stays locked, in seconds.
    pub lockout_secs: u64,
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// Largest evidence upload, in bytes.
    pub max_upload_bytes: u64,
    /// Seconds in-flight requests get to finish after SIGTERM before they are aborted.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            tls_cert: None,
            tls_key: None,
            log_format: "text".into(),
            token_idle_secs: 30 * 60,
            token_ttl_secs: 30 * 24 * 3600,
            lockout_attempts: 5,
            lockout_secs: 15 * 60,
            max_json_bytes: 64 * 1024,
            max_upload_bytes: 1 << 40,
            shutdown_grace_secs: 30,
        }
    }
}

/// `[vault]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VaultSection {
    /// The checkpoint origin line and the log key's name (C2SP: non-empty, no spaces, no `+`).
    pub origin: String,
    /// The actor recorded in local mode when `--as` is not given.
    pub examiner: String,
    /// The stated clock source recorded in every event.
    #[serde(default = "default_clock")]
    pub clock: String,
}

fn default_clock() -> String {
    "system-utc".to_string()
}

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// `file://PATH` (relative paths are inside the vault folder) or `s3://BUCKET[/PREFIX]`.
    pub url: String,
    /// S3 endpoint for S3-compatible services (e.g. `http://127.0.0.1:9000`); AWS when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// S3 region.
    #[serde(default)]
    pub region: Option<String>,
    /// Allow plain HTTP to the endpoint (only for loopback or test set-ups).
    #[serde(default)]
    pub allow_http: bool,
    /// Seconds before a storage request is abandoned.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Retries of a failed storage request.
    #[serde(default = "default_retries")]
    pub max_retries: usize,
}

fn default_timeout() -> u64 {
    30
}
fn default_retries() -> usize {
    3
}

/// `[keys]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeysSection {
    /// Folder holding `log.key` and `master-*.key`; relative paths are inside the vault folder.
    /// Put it on another volume to keep keys apart from data.
    #[serde(default = "default_keys_dir")]
    pub dir: String,
}

fn default_keys_dir() -> String {
    "keys".to_string()
}

impl Default for KeysSection {
    fn default() -> Self {
        Self {
            dir: default_keys_dir(),
        }
    }
}

impl Config {
    /// A fresh local configuration with the given origin and examiner.
    pub fn new_local(origin: String, examiner: String) -> Self {
        Config {
            vault: VaultSection {
                origin,
                examiner,
                clock: default_clock(),
            },
            storage: StorageSection {
                url: "file://store".to_string(),
                endpoint: None,
                region: None,
                allow_http: false,
                timeout_secs: default_timeout(),
                max_retries: default_retries(),
            },
            keys: KeysSection::default(),
            server: ServerSection::default(),
        }
    }

    /// Read and validate `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse and validate configuration text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_string(),
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| ConfigError::Invalid {
            path: path.to_owned(),
            field,
            message: message.to_string(),
        };
        let o = &self.vault.origin;
        if o.is_empty() || o.contains(['+', ' ']) || o.chars().any(char::is_control) {
            return Err(invalid(
                "vault.origin",
                "must be non-empty, without spaces, '+' or control characters",
            ));
        }
        if !valid_name(&self.vault.examiner) {
            return Err(invalid(
                "vault.examiner",
                "must be 1 to 128 printable characters",
            ));
        }
        if !valid_name(&self.vault.clock) {
            return Err(invalid(
                "vault.clock",
                "must be 1 to 128 printable characters",
            ));
        }
        StorageUrl::parse(&self.storage.url).map_err(|m| invalid("storage.url", &m))?;
        if self.keys.dir.is_empty() {
            return Err(invalid("keys.dir", "must not be empty"));
        }
        let sv = &self.server;
        if sv.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "server.bind",
                "must be an address and port, e.g. 127.0.0.1:8080",
            ));
        }
        if sv.tls_cert.is_some() != sv.tls_key.is_some() {
            return Err(invalid(
                "server.tls_cert",
                "tls_cert and tls_key go together: give both or neither",
            ));
        }
        if !matches!(sv.log_format.as_str(), "text" | "json") {
            return Err(invalid("server.log_format", "must be \"text\" or \"json\""));
        }
        if sv.token_idle_secs == 0 || sv.token_ttl_secs == 0 || sv.lockout_attempts == 0 {
            return Err(invalid(
                "server",
                "token_idle_secs, token_ttl_secs and lockout_attempts must be at least 1",
            ));
        }
        if sv.max_json_bytes < 1024 {
            return Err(invalid("server.max_json_bytes", "must be at least 1024"));
        }
        Ok(())
    }

    /// The config as TOML text with explanatory comments, as `init` writes it.
    pub fn to_annotated_toml(&self) -> String {
        let body = toml::to_string_pretty(self).expect("config serializes");
        format!(
            "# Custos vault configuration. Documented in README.md and deploy/custos.example.toml.\n\
             # vault.origin names this vault's log in every checkpoint: do not change it once events exist.\n\
             # storage.url: file://PATH (inside the vault folder when relative) or s3://BUCKET[/PREFIX];\n\
             #   S3 credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).\n\
             # keys.dir: key files; put them on another volume to keep keys apart from data.\n\n{body}"
        )
    }
}

/// A name-like configuration or command-line value: printable, bounded.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control)
}

/// The parsed `storage.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// A folder on local disk.
    File(PathBuf),
    /// A bucket (and optional key prefix) on an S3-compatible service.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix without leading or trailing slashes (may be empty).
        prefix: String,
    },
}

impl StorageUrl {
    /// Parse `file://PATH` or `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(p) = url.strip_prefix("file://") {
            if p.is_empty() {
                return Err("file:// needs a path".into());
            }
            Ok(StorageUrl::File(PathBuf::from(p)))
        } else if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3:// needs a bucket name".into());
            }
            Ok(StorageUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            })
        } else {
            Err(format!(
                "'{url}' is neither file://PATH nor s3://BUCKET[/PREFIX]"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_validates() {
        let c = Config::new_local("custos.local/abc".into(), "alice".into());
        let text = c.to_annotated_toml();
        assert_eq!(Config::parse(&text, Path::new("x")).unwrap(), c);
        let bad = text.replace("custos.local/abc", "has space");
        assert!(matches!(
            Config::parse(&bad, Path::new("x")),
            Err(ConfigError::Invalid {
                field: "vault.origin",
                ..
            })
        ));
        assert!(matches!(
            Config::parse("[vault", Path::new("x")),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn storage_urls() {
        assert_eq!(
            StorageUrl::parse("s3://b/p/q/").unwrap(),
            StorageUrl::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            }
        );
        assert_eq!(
            StorageUrl::parse("file://store").unwrap(),
            StorageUrl::File("store".into())
        );
        assert!(StorageUrl::parse("http://x").is_err());
    }
}
