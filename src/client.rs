//! The `custos` command line as a client of a Custos server (`--server URL`).
//!
//! The same binary works on a local vault folder or, given `--server` (or `$CUSTOS_SERVER`),
//! over the HTTP API. Over HTTP the client trusts the server as little as it can:
//! - uploads are hashed while they stream and the acknowledged SHA-256 must match; the custody
//!   receipt's inclusion proof is verified (RFC 9162 §2.1.3.2) against a checkpoint signed by
//!   the log key pinned at `login`, and the ingest event it proves is checked to name this
//!   content;
//! - downloads land in a private temporary file, are checked against `Repr-Digest` (RFC 9530)
//!   or `Content-Range`, and replace nothing until they are good;
//! - custody chains are verified event by event (signature, leaf hash, `item_prev` chain).
//!
//! Modules: [`config`] (the client config file), [`api`] (session, errors), [`receipt`]
//! (pure verification), [`upload`] and [`download`] (streaming), [`commands`] (one function
//! per command, returning an [`Output`] that `cli` prints).

pub mod api;
pub mod commands;
pub mod config;
pub mod download;
pub mod receipt;
pub mod upload;

use crate::cli::Command;
use api::{RemoteError, Session};

/// What a remote command prints.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Lines of text.
    Lines(Vec<String>),
    /// One JSON document, pretty-printed.
    Json(serde_json::Value),
    /// JSON lines (one compact document per line), as `log --json` prints.
    JsonLines(Vec<serde_json::Value>),
}

/// Where a command runs.
#[derive(Debug)]
pub enum Dispatch {
    /// It ran over HTTP; print this.
    Done(Output),
    /// Run it locally on the vault folder.
    Local(Box<Command>),
}

/// How a command relates to the server.
enum Kind {
    /// Only over HTTP (uses the server stored by `login` when none is given).
    Remote(&'static str),
    /// Local without `--server`, remote with it.
    Both,
    /// Works on a vault folder; refused when a server is given.
    LocalOnly(&'static str),
    /// Works on a vault folder by nature (init, serve, admin); `--server` does not apply.
    Folder,
}

fn kind(c: &Command) -> Kind {
    match c {
        Command::Login(_) => Kind::Remote("login"),
        Command::Whoami(_) => Kind::Remote("whoami"),
        Command::Case(_) => Kind::Remote("case"),
        Command::Transfer(_) => Kind::Remote("transfer"),
        Command::Disclose(_) => Kind::Remote("disclose"),
        Command::Approve(_) => Kind::Remote("approve"),
        Command::Refuse(_) => Kind::Remote("refuse"),
        Command::Fetch(_) => Kind::Remote("fetch"),
        Command::Disclosure(_) => Kind::Remote("disclosure"),
        Command::Ingest(_)
        | Command::Get(_)
        | Command::Log(_)
        | Command::Checkpoint
        | Command::Key(_) => Kind::Both,
        Command::Audit(_) => Kind::LocalOnly("audit"),
        Command::Keys(_) => Kind::LocalOnly("keys"),
        Command::Proof(_) => Kind::LocalOnly("proof"),
        Command::Report(_) => Kind::LocalOnly("report"),
        Command::Init(_) | Command::Serve(_) | Command::Admin(_) => Kind::Folder,
    }
}

/// Run `command` over HTTP when it should be, or hand it back to run locally.
///
/// `server` is `--server`/`$CUSTOS_SERVER`; `as_given` whether `--as` was given (meaningless
/// over HTTP, where the server records the token's account).
pub async fn dispatch(
    server: Option<&str>,
    as_given: bool,
    command: Command,
) -> anyhow::Result<Dispatch> {
    let name = match kind(&command) {
        Kind::Folder => return Ok(Dispatch::Local(Box::new(command))),
        Kind::LocalOnly(name) if server.is_some() => {
            return Err(RemoteError::LocalOnly { command: name }.into());
        }
        Kind::LocalOnly(_) => return Ok(Dispatch::Local(Box::new(command))),
        Kind::Both if server.is_none() => return Ok(Dispatch::Local(Box::new(command))),
        Kind::Both => "this command",
        Kind::Remote(name) => name,
    };
    if as_given {
        return Err(RemoteError::AsOverHttp.into());
    }
    if let Command::Login(a) = command {
        let server = server.ok_or(RemoteError::NeedsServer { command: "login" })?;
        return Ok(Dispatch::Done(commands::login(server, &a).await?));
    }
    let fallback = matches!(kind(&command), Kind::Remote(_));
    let s = Session::for_command(server, fallback)?
        .ok_or(RemoteError::NeedsServer { command: name })?;
    commands::run(&s, command).await.map(Dispatch::Done)
}
