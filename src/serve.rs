//! `custos serve` and the local `custos admin` commands: the binary edge of the service.

use crate::accounts::{self, Role, TokenId, UserName};
use crate::config::ServerSection;
use crate::custody::LogTx;
use crate::server::{self, AppState};
use crate::vault::{InitOptions, Vault};
use anyhow::{Context, Result, bail};
use custos_core::event::Actor;
use std::path::Path;
use std::time::Duration;

/// Where `serve` listens and how it logs, after environment overrides.
fn effective(cfg: &ServerSection, bind: Option<&str>) -> Result<ServerSection> {
    let mut s = cfg.clone();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(v) = env("CUSTOS_BIND") {
        s.bind = v;
    }
    if let Some(v) = env("CUSTOS_TLS_CERT") {
        s.tls_cert = Some(v);
    }
    if let Some(v) = env("CUSTOS_TLS_KEY") {
        s.tls_key = Some(v);
    }
    if let Some(v) = env("CUSTOS_LOG_FORMAT") {
        s.log_format = v;
    }
    if let Some(b) = bind {
        s.bind = b.to_string();
    }
    if s.bind.parse::<std::net::SocketAddr>().is_err() {
        bail!(
            "bind address '{}' is not ADDRESS:PORT (e.g. 127.0.0.1:8080)",
            s.bind
        );
    }
    if s.tls_cert.is_some() != s.tls_key.is_some() {
        bail!("TLS needs both a certificate and a key (server.tls_cert and server.tls_key)");
    }
    if !matches!(s.log_format.as_str(), "text" | "json") {
        bail!("log format must be text or json, not '{}'", s.log_format);
    }
    Ok(s)
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

/// Create the vault on first start, from the embedded defaults and `CUSTOS_STORAGE_URL`,
/// `CUSTOS_S3_ENDPOINT`, `CUSTOS_S3_ALLOW_HTTP`.
fn ensure_vault(dir: &Path) -> Result<bool> {
    if dir.join(crate::config::CONFIG_FILE).exists() {
        return Ok(false);
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let opts = InitOptions {
        storage_url: env("CUSTOS_STORAGE_URL"),
        storage_endpoint: env("CUSTOS_S3_ENDPOINT"),
        allow_http: env("CUSTOS_S3_ALLOW_HTTP").is_some_and(|v| v == "1" || v == "true"),
        ..InitOptions::default()
    };
    Vault::init(dir, &opts)?;
    Ok(true)
}

fn system_actor() -> Actor {
    Actor {
        name: "custos".into(),
        role: "system".into(),
        auth: "local".into(),
    }
}

/// `custos serve`.
pub async fn serve(dir: &Path, bind: Option<&str>) -> Result<i32> {
    let created = ensure_vault(dir)?;
    let vault = Vault::open(dir)?;
    let cfg = effective(&vault.config.server, bind)?;
    init_logging(&cfg.log_format);
    let conn = vault.connect()?;
    let first_admin = !accounts::any_user(&conn)?;
    drop(conn);
    let admin_token = if first_admin {
        let ttl = cfg.token_ttl_secs;
        let idle = cfg.token_idle_secs;
        let (tok, _) = vault
            .sequencer
            .submit(move |tx: &mut LogTx<'_>| {
                let by = system_actor();
                let name = UserName::parse("admin")?;
                accounts::add_user(tx, &by, &name, Role::Administrator)?;
                accounts::issue_token(tx, &by, &name, Some("first start"), ttl, idle)
            })
            .await?;
        Some(tok)
    } else {
        None
    };
    let listener = std::net::TcpListener::bind(&cfg.bind)
        .with_context(|| format!("cannot listen on {}", cfg.bind))?;
    let addr = listener.local_addr()?;
    let tls = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(c), Some(k)) => {
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            Some(
                axum_server::tls_rustls::RustlsConfig::from_pem_file(c, k)
                    .await
                    .with_context(|| format!("cannot load the TLS certificate {c} and key {k}"))?,
            )
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        if created {
            writeln!(out, "created a new vault in {}", dir.display())?;
        }
        if let Some(t) = &admin_token {
            writeln!(
                out,
                "administrator account 'admin'; its token, shown this once (it expires after {} min unused):\n{}",
                cfg.token_idle_secs / 60,
                t.secret.as_str()
            )?;
        }
        writeln!(out, "listening on {scheme}://{addr}")?;
        out.flush()?;
    }
    tracing::info!(%addr, scheme, "custos serve started");
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    let state = AppState::new(vault);
    server::run(listener, state, tls, shutdown_signal(), grace).await?;
    Ok(0)
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

/// What a local `custos admin` command does.
#[derive(Debug, Clone)]
pub enum AdminAct {
    /// Create an account.
    AddUser {
        /// Name.
        name: String,
        /// Role.
        role: String,
    },
    /// Disable an account.
    DisableUser {
        /// Name.
        name: String,
    },
    /// Unlock an account.
    UnlockUser {
        /// Name.
        name: String,
    },
    /// List accounts.
    ListUsers,
    /// Issue a token.
    IssueToken {
        /// Account.
        name: String,
        /// Label.
        label: Option<String>,
        /// Lifetime, seconds.
        ttl_secs: Option<u64>,
    },
    /// Revoke a token.
    RevokeToken {
        /// Token id.
        id: String,
    },
}

/// One admin act inside the log transaction.
type AdminJob =
    Box<dyn FnOnce(&mut LogTx<'_>) -> Result<serde_json::Value, accounts::AccountError> + Send>;

/// Run an admin act directly on the vault folder (the operator of the machine acts; recorded
/// with `actor`). Returns the JSON result.
pub async fn admin_local(dir: &Path, actor: Actor, act: AdminAct) -> Result<serde_json::Value> {
    let vault = Vault::open(dir)?;
    let s = vault.config.server.clone();
    let sub = |f: AdminJob| {
        let v = &vault;
        async move { v.sequencer.submit(f).await.map(|(r, _)| r) }
    };
    let out = match act {
        AdminAct::AddUser { name, role } => {
            let (n, r) = (UserName::parse(&name)?, Role::parse(&role)?);
            sub(Box::new(move |tx| {
                let event = accounts::add_user(tx, &actor, &n, r)?;
                Ok(serde_json::json!({"user": n.to_string(), "role": r.to_string(), "event": event}))
            }))
            .await?
        }
        AdminAct::DisableUser { name } => {
            let n = UserName::parse(&name)?;
            sub(Box::new(move |tx| {
                let event = accounts::disable_user(tx, &actor, &n)?;
                Ok(serde_json::json!({"user": n.to_string(), "disabled": true, "event": event}))
            }))
            .await?
        }
        AdminAct::UnlockUser { name } => {
            let n = UserName::parse(&name)?;
            sub(Box::new(move |tx| {
                let event = accounts::unlock_user(tx, &actor, &n)?;
                Ok(serde_json::json!({"user": n.to_string(), "unlocked": true, "event": event}))
            }))
            .await?
        }
        AdminAct::ListUsers => {
            let conn = vault.connect()?;
            serde_json::to_value(accounts::list_users(&conn, crate::db::now_micros())?)?
        }
        AdminAct::IssueToken {
            name,
            label,
            ttl_secs,
        } => {
            let n = UserName::parse(&name)?;
            let ttl = ttl_secs.unwrap_or(s.token_ttl_secs);
            if ttl == 0 {
                bail!("--ttl must be at least 1 second");
            }
            let idle = s.token_idle_secs;
            sub(Box::new(move |tx| {
                let t = accounts::issue_token(tx, &actor, &n, label.as_deref(), ttl, idle)?;
                Ok(serde_json::json!({
                    "user": n.to_string(), "id": t.id.to_string(), "token": t.secret.as_str(),
                    "expires_at": crate::db::rfc3339(t.expires_at), "idle_secs": idle,
                }))
            }))
            .await?
        }
        AdminAct::RevokeToken { id } => {
            let id = TokenId::parse(&id)?;
            sub(Box::new(move |tx| {
                let user = accounts::revoke_token(tx, &actor, &id)?;
                Ok(serde_json::json!({"user": user.to_string(), "token": id.to_string(), "revoked": true}))
            }))
            .await?
        }
    };
    Ok(out)
}
