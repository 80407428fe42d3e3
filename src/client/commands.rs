//! One function per remote command. Each returns an [`Output`] (`--json`: the server's
//! document, plus what the client checked) that `cli` prints; text output follows the local
//! commands' wording where a local command exists.

use super::Output;
use super::api::{KeySource, RemoteError, Session, check_token, clean, parse_server, server_text};
use super::config::{ClientConfig, config_path};
use super::download::{self, Downloaded};
use super::receipt::{self, EventJson, ReceiptError, ReceiptJson};
use super::upload::{self, UploadOptions};
use crate::cli::{
    CaseCommand, Command, DecisionArgs, DiscloseArgs, DisclosureCommand, FetchArgs, GetArgs,
    IngestArgs, LogArgs, LoginArgs, TransferArgs, TransferCommand,
};
use crate::ids::{CaseName, ItemId};
use crate::progress::Progress;
use custos_core::Sha256Hash;
use custos_core::checkpoint::{CheckpointError, open_checkpoint};
use custos_core::event::Action;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A remote command that failed on the client's side.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The token file cannot be read.
    #[error("cannot read the token from {}: {source}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Stdin cannot be read.
    #[error("cannot read the token from stdin: {source}")]
    Stdin {
        /// Why.
        source: std::io::Error,
    },
    /// No token was given.
    #[error(
        "no token given: pipe it on stdin (custos login --server URL < token-file) or use --token-file"
    )]
    NoTokenGiven,
    /// The server's log key is not the pinned one.
    #[error(
        "the log key of {server} is now {offered}, not {pinned} as pinned in {config}: do not trust this server; if its vault was really re-created, remove log_key from that file and log in again"
    )]
    KeyChanged {
        /// Base URL.
        server: String,
        /// The pinned key.
        pinned: String,
        /// The key the server offers.
        offered: String,
        /// The client config.
        config: String,
    },
    /// The server's checkpoint does not verify against the log key.
    #[error("the server's checkpoint does not verify against the {key} log key: {source}")]
    Checkpoint {
        /// `pinned` or `server`.
        key: &'static str,
        /// Why.
        source: CheckpointError,
    },
    /// A custody chain does not verify.
    #[error("the custody log from the server does not verify: {source}")]
    Chain {
        /// Why.
        source: ReceiptError,
    },
    /// The custody event recorded for a read does not check out.
    #[error(
        "the custody event {index} recorded for this read does not check out: {source}; nothing was written"
    )]
    AccessEvent {
        /// Event index.
        index: u64,
        /// Why.
        source: ReceiptError,
    },
    /// The server did not name the custody event of a read.
    #[error(
        "the server did not name the custody event of this read (no Custody-Event header); nothing was written"
    )]
    NoEvent,
    /// Required free text is empty.
    #[error("--{what} must not be empty: it is recorded in the custody log")]
    Empty {
        /// The option.
        what: &'static str,
    },
    /// The item is not part of the disclosure.
    #[error("item {item} is not part of disclosure {disclosure}")]
    NotDisclosed {
        /// Item.
        item: String,
        /// Disclosure.
        disclosure: String,
    },
    /// The content's digest differs from the disclosure's record of the item.
    #[error(
        "disclosure {disclosure} lists item {item} with SHA-256 {listed}, but the server is sending {sent}; nothing was written"
    )]
    DisclosureDigest {
        /// Disclosure.
        disclosure: String,
        /// Item.
        item: String,
        /// SHA-256 in the disclosure.
        listed: String,
        /// SHA-256 announced for the content.
        sent: Sha256Hash,
    },
    /// A command that is not a remote command reached `run`.
    #[error("{command} does not run over HTTP")]
    NotRemote {
        /// The command.
        command: String,
    },
}

/// A string field of a JSON answer, cleaned for the terminal ("?" when absent).
fn f(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => clean(s, 300),
        Value::Null => "?".into(),
        other => clean(&other.to_string(), 300),
    }
}

fn nonempty(s: &str, what: &'static str) -> Result<(), CommandError> {
    if s.trim().is_empty() {
        Err(CommandError::Empty { what })
    } else {
        Ok(())
    }
}

fn out(json: bool, v: Value, lines: impl FnOnce(&Value) -> Vec<String>) -> Output {
    if json {
        Output::Json(v)
    } else {
        Output::Lines(lines(&v))
    }
}

/// Run a remote command (not `login`, which has no session yet).
pub async fn run(s: &Session, command: Command) -> anyhow::Result<Output> {
    // Only the log's public routes answer without a token: say so before a round trip.
    if !matches!(command, Command::Checkpoint | Command::Key(_)) {
        s.require_token()?;
    }
    match command {
        Command::Whoami(a) => whoami(s, a.json).await,
        Command::Case(c) => case(s, c).await,
        Command::Ingest(a) => ingest(s, &a).await,
        Command::Get(a) => get(s, &a).await,
        Command::Log(a) => log(s, &a).await,
        Command::Checkpoint => checkpoint(s).await,
        Command::Key(a) => key(s, a.json).await,
        Command::Transfer(a) => transfer(s, a).await,
        Command::Disclose(a) => disclose(s, &a).await,
        Command::Approve(a) => decide(s, &a, true).await,
        Command::Refuse(a) => decide(s, &a, false).await,
        Command::Fetch(a) => fetch(s, &a).await,
        Command::Disclosure(c) => disclosure(s, c).await,
        other => Err(CommandError::NotRemote {
            command: format!("{other:?}"),
        }
        .into()),
    }
}

/// Read a token from `file`, or from stdin (prompting on a terminal).
fn read_token(file: Option<&Path>, server: &str) -> Result<Zeroizing<String>, CommandError> {
    let mut raw = Zeroizing::new(String::new());
    match file {
        Some(p) => {
            let err = |source| CommandError::TokenFile {
                path: p.to_owned(),
                source,
            };
            std::fs::File::open(p)
                .map_err(err)?
                .take(4096)
                .read_to_string(&mut raw)
                .map_err(err)?;
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!("API token for {server} (it will show as you type): ");
            }
            stdin
                .lock()
                .take(4096)
                .read_line(&mut raw)
                .map_err(|source| CommandError::Stdin { source })?;
        }
    }
    let t = raw.trim();
    if t.is_empty() {
        return Err(CommandError::NoTokenGiven);
    }
    Ok(Zeroizing::new(t.to_string()))
}

/// `login`: check the token with `GET /v1/whoami`, pin the log key (refusing a changed one),
/// and store server, token and key in the client config (0600).
pub async fn login(server: &str, a: &LoginArgs) -> anyhow::Result<Output> {
    let base = parse_server(server)?;
    let shown = server_text(&base);
    let token = read_token(a.token_file.as_deref(), &shown)?;
    let from = a
        .token_file
        .as_ref()
        .map_or("stdin".to_string(), |p| p.display().to_string());
    check_token(&token, &from)?;
    let s = Session::new(base, Some(token.clone()), None)?;
    let me: Value = s.get_json(&["v1", "whoami"], &[]).await?;
    let key = s.server_log_key().await?;
    // The server must sign with the key it publishes.
    let cp = s.get_text(&["v1", "log", "checkpoint"]).await?;
    open_checkpoint(&cp, &key).map_err(|source| CommandError::Checkpoint {
        key: "server",
        source,
    })?;
    let path = config_path()?;
    let old = ClientConfig::load(&path)?.unwrap_or_default();
    let same_server = old
        .server
        .as_deref()
        .and_then(|o| parse_server(o).ok())
        .is_some_and(|o| server_text(&o) == shown);
    let key_text = key.to_string();
    let pinned = match old.log_key.as_deref().filter(|_| same_server) {
        Some(k) if k.trim() != key_text => {
            return Err(CommandError::KeyChanged {
                server: shown,
                pinned: k.trim().to_string(),
                offered: key_text,
                config: path.display().to_string(),
            }
            .into());
        }
        Some(_) => "unchanged",
        None => "new",
    };
    let cfg = ClientConfig {
        server: Some(shown.clone()),
        token: Some(token.to_string()),
        log_key: Some(key_text.clone()),
    };
    cfg.save(&path)?;
    let v = json!({
        "server": shown, "user": me["user"], "role": me["role"], "token": me["token"],
        "config": path, "log_key": key_text, "fingerprint": key.fingerprint(), "key_pinned": pinned,
    });
    Ok(out(a.json, v, |v| {
        vec![
            format!(
                "logged in to {} as {} ({}); token saved in {} (mode 0600)",
                f(v, "server"),
                f(v, "user"),
                f(v, "role"),
                path.display()
            ),
            format!(
                "log key {} ({}): {}",
                if pinned == "new" {
                    "pinned"
                } else {
                    "unchanged"
                },
                f(v, "log_key"),
                f(v, "fingerprint")
            ),
        ]
    }))
}

async fn whoami(s: &Session, json: bool) -> anyhow::Result<Output> {
    let v: Value = s.get_json(&["v1", "whoami"], &[]).await?;
    let server = s.server();
    Ok(out(json, v, |v| {
        let mut l = vec![format!(
            "{} ({}) on {server}, token {}",
            f(v, "user"),
            f(v, "role"),
            f(v, "token")
        )];
        for c in v["cases"].as_array().into_iter().flatten() {
            l.push(format!("  case {} as {}", f(c, "case"), f(c, "role")));
        }
        l
    }))
}

async fn case(s: &Session, c: CaseCommand) -> anyhow::Result<Output> {
    Ok(match c {
        CaseCommand::List(a) => {
            let v: Value = s.get_json(&["v1", "cases"], &[]).await?;
            out(a.json, v, |v| {
                let list: Vec<String> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        let role = if c["my_role"].is_null() {
                            "-".into()
                        } else {
                            f(c, "my_role")
                        };
                        format!("{:<32} {role}", f(c, "name"))
                    })
                    .collect();
                if list.is_empty() {
                    vec!["no cases".into()]
                } else {
                    list
                }
            })
        }
        CaseCommand::Create { name, reason, json } => {
            let name = CaseName::parse(&name)?;
            let mut body = json!({"name": name.to_string()});
            if let Some(r) = reason {
                body["reason"] = r.into();
            }
            let v: Value = s
                .call_json(Method::POST, &["v1", "cases"], Some(&body))
                .await?;
            out(json, v, |v| {
                let role = if v["my_role"].is_null() {
                    "add members to it".to_string()
                } else {
                    format!("you are its {}", f(v, "my_role"))
                };
                vec![format!("opened case {}; {role}", f(v, "name"))]
            })
        }
        CaseCommand::Show { name, json } => {
            let v: Value = s.get_json(&["v1", "cases", &name], &[]).await?;
            out(json, v, |v| {
                let mut l = vec![format!(
                    "case {}, opened {}, {} item(s)",
                    f(v, "name"),
                    f(v, "created_at"),
                    f(v, "items")
                )];
                for m in v["members"].as_array().into_iter().flatten() {
                    l.push(format!(
                        "  {:<24} {:<12} since {}",
                        f(m, "user"),
                        f(m, "role"),
                        f(m, "added_at")
                    ));
                }
                l
            })
        }
        CaseCommand::AddMember {
            case,
            user,
            role,
            reason,
            json,
        } => {
            let mut body = json!({"user": user});
            if let Some(r) = role {
                body["role"] = r.into();
            }
            if let Some(r) = reason {
                body["reason"] = r.into();
            }
            let v: Value = s
                .call_json(
                    Method::POST,
                    &["v1", "cases", &case, "members"],
                    Some(&body),
                )
                .await?;
            out(json, v, |v| {
                vec![format!(
                    "{} is {} in case {} (event {})",
                    f(v, "user"),
                    f(v, "role"),
                    f(v, "case"),
                    f(v, "event")
                )]
            })
        }
        CaseCommand::RemoveMember { case, user, json } => {
            let v: Value = s
                .call_json(
                    Method::DELETE,
                    &["v1", "cases", &case, "members", &user],
                    None,
                )
                .await?;
            out(json, v, |v| {
                vec![format!(
                    "removed {} from case {} (event {})",
                    f(v, "user"),
                    f(v, "case"),
                    f(v, "event")
                )]
            })
        }
    })
}

async fn ingest(s: &Session, a: &IngestArgs) -> anyhow::Result<Output> {
    let case = CaseName::parse(&a.case)?;
    let opts = UploadOptions {
        description: a.description.clone(),
        expect_sha256: a.expect_sha256.map(|h| h.to_hex()),
        expect_sha1: a.expect_sha1.map(hex::encode),
        expect_md5: a.expect_md5.map(hex::encode),
        legacy_hashes: a.legacy_hashes,
        tool: a.tool.clone(),
        method: a.method.clone(),
    };
    let progress = Progress::bytes("upload", !a.json);
    let up = upload::upload(s, case.as_str(), &a.file, &opts, &progress).await?;
    let key_line = match up.key_source {
        KeySource::Pinned => "the log key pinned at login".to_string(),
        KeySource::Server => {
            "the server's log key (not pinned: run custos login to pin it)".to_string()
        }
    };
    if a.json {
        let mut v = up.raw;
        v["verified"] = json!({
            "sha256_matches_file": true, "inclusion_proof": true, "ingest_event": true,
            "log_key": up.key_source.as_str(), "origin": up.origin,
        });
        return Ok(Output::Json(v));
    }
    let ack = &up.ack;
    let dup = if ack.duplicate {
        " (case already held this content; ingest recorded on that item)"
    } else {
        ""
    };
    let mut l = vec![format!(
        "{} {}{dup}",
        clean(&ack.item, 64),
        clean(&ack.sha256, 64)
    )];
    if let Some(h) = &ack.md5 {
        l.push(format!("md5 {}", clean(h, 64)));
    }
    if let Some(h) = &ack.sha1 {
        l.push(format!("sha1 {}", clean(h, 64)));
    }
    l.push(format!(
        "logged as event {} in checkpoint of size {}",
        ack.receipt.index, ack.receipt.tree_size
    ));
    l.push(format!(
        "receipt verified: inclusion proof against the checkpoint of {}, signed with {key_line}",
        clean(&up.origin, 200)
    ));
    Ok(Output::Lines(l))
}

/// An inclusion proof as `/v1/log/events/{index}/inclusion` sends it.
#[derive(Debug, Deserialize)]
struct ProofJson {
    tree_size: u64,
    leaf_hash: Option<String>,
    proof: Vec<String>,
    checkpoint: Option<String>,
}

/// The receipt of the custody event `index` that the server recorded before serving `item`:
/// verified against the log key, and the event itself checked (signed, in the item's chain,
/// recording `action` on `item`, with `sha256` when known).
async fn read_receipt(
    s: &Session,
    index: u64,
    item: &str,
    action: Action,
    sha256: Option<Sha256Hash>,
) -> anyhow::Result<(ReceiptJson, KeySource)> {
    let bad = |source| CommandError::AccessEvent { index, source };
    let what = format!("GET /v1/log/events/{index}/inclusion");
    let p: ProofJson = s
        .get_json(
            &["v1", "log", "events", &index.to_string(), "inclusion"],
            &[],
        )
        .await?;
    let missing = |field: &str| RemoteError::BadAnswer {
        what: what.clone(),
        reason: format!("no {field}"),
    };
    let r = ReceiptJson {
        index,
        leaf_hash: p.leaf_hash.ok_or_else(|| missing("leaf_hash"))?,
        tree_size: p.tree_size,
        checkpoint: p.checkpoint.ok_or_else(|| missing("checkpoint"))?,
        inclusion_proof: p.proof,
    };
    let (key, source) = s.log_key().await?;
    receipt::verify_receipt(&r, &key).map_err(bad)?;
    let events: Vec<EventJson> = s.get_json(&["v1", "items", item, "events"], &[]).await?;
    let decoded = receipt::verify_item_chain(&events, &key).map_err(bad)?;
    let (e, ev) = events
        .iter()
        .zip(&decoded)
        .find(|(e, _)| e.index == index)
        .ok_or_else(|| bad(ReceiptError::Missing { index }))?;
    if e.leaf_hash != r.leaf_hash {
        return Err(bad(ReceiptError::LeafHash { index }).into());
    }
    let recorded = ev.item.as_ref();
    let ok = ev.action == action
        && recorded.is_some_and(|i| i.id == item && sha256.is_none_or(|h| h == i.sha256));
    if !ok {
        return Err(bad(ReceiptError::Content {
            index,
            expected: format!("{} of {item}", action.as_str()),
            got: format!(
                "{} of {}",
                ev.action.as_str(),
                recorded.map_or("no item", |i| i.id.as_str())
            ),
        })
        .into());
    }
    Ok((r, source))
}

fn written_lines(d: &Downloaded, out: &Path, range: Option<(u64, u64, u64)>) -> Vec<String> {
    let what = match range {
        Some((a, b, size)) => format!(" (bytes {a}-{b} of {size})"),
        None => String::new(),
    };
    if d.verified {
        vec![format!(
            "wrote {} bytes to {}; SHA-256 {} verified",
            d.bytes,
            out.display(),
            d.sha256
        )]
    } else {
        vec![format!(
            "wrote {} bytes{what} to {}; SHA-256 of the range {}",
            d.bytes,
            out.display(),
            d.sha256
        )]
    }
}

fn range_json(r: Option<(u64, u64, u64)>) -> Value {
    r.map_or(
        Value::Null,
        |(a, b, size)| json!({"start": a, "end": b, "size": size}),
    )
}

async fn get(s: &Session, a: &GetArgs) -> anyhow::Result<Output> {
    let item = ItemId::parse(&a.item)?;
    if a.reason.trim().is_empty() {
        anyhow::bail!("--reason must say why the item is exported");
    }
    let mut url = s.url(&["v1", "items", item.as_str(), "content"]);
    url.query_pairs_mut().append_pair("purpose", &a.reason);
    let inc = download::start(s, url, a.range, &a.output).await?;
    let index = inc.event.ok_or(CommandError::NoEvent)?;
    // Custody first: the access is proved to be in the signed log before a byte is kept.
    let (r, source) = read_receipt(s, index, item.as_str(), Action::Access, inc.digest).await?;
    let range = inc.range;
    let progress = Progress::bytes("download", !a.json);
    let d = inc.save(s, &a.output, &progress).await?;
    if a.json {
        return Ok(Output::Json(json!({
            "item": item.to_string(), "output": a.output, "bytes": d.bytes, "sha256": d.sha256.to_hex(),
            "verified": d.verified, "range": range_json(range), "receipt": r,
            "log_key": source.as_str(),
        })));
    }
    let mut l = written_lines(&d, &a.output, range);
    l.push(format!(
        "access recorded as event {index}; its inclusion in the checkpoint of size {} verified",
        r.tree_size
    ));
    Ok(Output::Lines(l))
}

async fn log(s: &Session, a: &LogArgs) -> anyhow::Result<Output> {
    let (key, _) = s.log_key().await?;
    let chain = |source| CommandError::Chain { source };
    let mut pairs: Vec<(EventJson, custos_core::event::Event)> = Vec::new();
    match &a.item {
        Some(item) => {
            let item = ItemId::parse(item)?;
            let events: Vec<EventJson> = s
                .get_json(&["v1", "items", item.as_str(), "events"], &[])
                .await?;
            let decoded = receipt::verify_item_chain(&events, &key).map_err(chain)?;
            pairs.extend(events.into_iter().zip(decoded));
        }
        None => {
            const PAGE: usize = 1000;
            let mut prev = None;
            loop {
                let from = pairs.len().to_string();
                let page: Vec<EventJson> = s
                    .get_json(
                        &["v1", "log", "events"],
                        &[("from", from), ("limit", PAGE.to_string())],
                    )
                    .await?;
                let n = page.len();
                let (decoded, last) =
                    receipt::verify_log_chain(&page, &key, prev).map_err(chain)?;
                prev = last;
                pairs.extend(page.into_iter().zip(decoded));
                if n < PAGE {
                    break;
                }
            }
        }
    }
    if a.json {
        use base64::Engine as _;
        let lines = pairs
            .iter()
            .map(|(e, _)| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&e.bytes)
                    .unwrap_or_default();
                json!({"index": e.index, "event": String::from_utf8_lossy(&bytes),
                       "signature": e.signature, "leaf_hash": e.leaf_hash})
            })
            .collect();
        return Ok(Output::JsonLines(lines));
    }
    Ok(Output::Lines(
        pairs
            .iter()
            .map(|(_, ev)| clean(&crate::cli::describe(ev), 4000))
            .collect(),
    ))
}

async fn checkpoint(s: &Session) -> anyhow::Result<Output> {
    let text = s.get_text(&["v1", "log", "checkpoint"]).await?;
    let (key, source) = s.log_key().await?;
    open_checkpoint(&text, &key).map_err(|e| CommandError::Checkpoint {
        key: source.as_str(),
        source: e,
    })?;
    Ok(Output::Lines(text.lines().map(str::to_string).collect()))
}

async fn key(s: &Session, json: bool) -> anyhow::Result<Output> {
    let k = s.server_log_key().await?;
    if let Some(p) = s.pinned_key()
        && *p != k
    {
        return Err(CommandError::KeyChanged {
            server: s.server(),
            pinned: p.to_string(),
            offered: k.to_string(),
            config: config_path()?.display().to_string(),
        }
        .into());
    }
    let v = json!({"verifier_key": k.to_string(), "fingerprint": k.fingerprint(),
                   "pinned": s.pinned_key().is_some()});
    Ok(out(json, v, |v| vec![f(v, "verifier_key")]))
}

fn transfer_line(v: &Value) -> String {
    format!(
        "{}  {:<9} {}  {} -> {}  {:?}",
        f(v, "id"),
        f(v, "state"),
        f(v, "item"),
        f(v, "from"),
        f(v, "to"),
        f(v, "reason")
    )
}

async fn transfer(s: &Session, a: TransferArgs) -> anyhow::Result<Output> {
    match a.action {
        Some(TransferCommand::Accept { id, json }) => {
            let v: Value = s
                .call_json(Method::POST, &["v1", "transfers", &id, "accept"], None)
                .await?;
            Ok(out(json, v, |v| {
                vec![format!(
                    "accepted transfer {}: {} now holds custody of {} (event {})",
                    f(v, "id"),
                    f(v, "to"),
                    f(v, "item"),
                    f(v, "accept_event")
                )]
            }))
        }
        Some(TransferCommand::List(j)) => {
            let v: Value = s.get_json(&["v1", "transfers"], &[]).await?;
            Ok(out(j.json, v, |v| {
                let l: Vec<String> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(transfer_line)
                    .collect();
                if l.is_empty() {
                    vec!["no transfers".into()]
                } else {
                    l
                }
            }))
        }
        None => {
            // clap requires all three without a subcommand.
            let (Some(item), Some(to), Some(reason)) = (a.item, a.to, a.reason) else {
                anyhow::bail!("give ITEM --to USER --reason TEXT, or accept ID, or list");
            };
            let item = ItemId::parse(&item)?;
            nonempty(&reason, "reason")?;
            let v: Value = s
                .call_json(
                    Method::POST,
                    &["v1", "items", item.as_str(), "transfers"],
                    Some(&json!({"to": to, "reason": reason})),
                )
                .await?;
            Ok(out(a.json, v, |v| {
                vec![format!(
                    "offered custody of {} (case {}) to {}: transfer {}, pending until {} accepts (event {})",
                    f(v, "item"),
                    f(v, "case"),
                    f(v, "to"),
                    f(v, "id"),
                    f(v, "to"),
                    f(v, "initiate_event")
                )]
            }))
        }
    }
}

async fn disclose(s: &Session, a: &DiscloseArgs) -> anyhow::Result<Output> {
    let items = a
        .items
        .iter()
        .map(|i| ItemId::parse(i).map(|i| i.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    nonempty(&a.purpose, "purpose")?;
    nonempty(&a.instrument, "instrument")?;
    let mut body = json!({
        "items": items, "recipient": a.to, "recipient_kind": a.kind.as_str(),
        "instrument": a.instrument, "purpose": a.purpose, "view_only": a.view_only,
    });
    if let Some(d) = a.expires {
        body["expires_secs"] = d.as_secs().into();
    }
    if let Some(n) = a.max_downloads {
        body["max_downloads"] = n.into();
    }
    let v: Value = s
        .call_json(
            Method::POST,
            &["v1", "cases", &a.case, "disclosures"],
            Some(&body),
        )
        .await?;
    Ok(out(a.json, v, |v| {
        vec![
            format!(
                "requested disclosure {} of {} item(s) of case {} to {} ({}); {}",
                f(v, "id"),
                v["items"].as_array().map_or(0, Vec::len),
                f(v, "case"),
                f(v, "recipient"),
                f(v, "recipient_kind"),
                access_terms(v)
            ),
            "it takes effect once another member with the right to decide approves it".into(),
        ]
    }))
}

fn access_terms(v: &Value) -> String {
    if v["view_only"].as_bool() == Some(true) {
        "view in place only".into()
    } else {
        format!("up to {} download(s) per item", f(v, "max_downloads"))
    }
}

async fn decide(s: &Session, a: &DecisionArgs, approve: bool) -> anyhow::Result<Output> {
    nonempty(&a.reason, "reason")?;
    let verb = if approve { "approve" } else { "refuse" };
    let v: Value = s
        .call_json(
            Method::POST,
            &["v1", "disclosures", &a.id, verb],
            Some(&json!({"reason": a.reason})),
        )
        .await?;
    Ok(out(a.json, v, |v| {
        if approve {
            vec![format!(
                "approved disclosure {}: {} ({}) has access until {}; {}",
                f(v, "id"),
                f(v, "recipient"),
                f(v, "recipient_kind"),
                f(v, "expires_at"),
                access_terms(v)
            )]
        } else {
            vec![format!("refused disclosure {}", f(v, "id"))]
        }
    }))
}

async fn fetch(s: &Session, a: &FetchArgs) -> anyhow::Result<Output> {
    let item = ItemId::parse(&a.item)?;
    let d: Value = s
        .get_json(&["v1", "disclosures", &a.disclosure], &[])
        .await?;
    let listed = d["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["item"].as_str() == Some(item.as_str()))
        .and_then(|i| i["sha256"].as_str())
        .ok_or_else(|| CommandError::NotDisclosed {
            item: item.to_string(),
            disclosure: clean(&a.disclosure, 64),
        })?
        .to_string();
    let url = s.url(&[
        "v1",
        "disclosures",
        &a.disclosure,
        "items",
        item.as_str(),
        "content",
    ]);
    let inc = download::start(s, url, a.range, &a.output).await?;
    if let Some(sent) = inc.digest
        && sent.to_hex() != listed
    {
        return Err(CommandError::DisclosureDigest {
            disclosure: clean(&a.disclosure, 64),
            item: item.to_string(),
            listed: clean(&listed, 64),
            sent,
        }
        .into());
    }
    let (event, range) = (inc.event, inc.range);
    let progress = Progress::bytes("fetch", !a.json);
    let got = inc.save(s, &a.output, &progress).await?;
    if a.json {
        return Ok(Output::Json(json!({
            "disclosure": a.disclosure, "item": item.to_string(), "output": a.output,
            "bytes": got.bytes, "sha256": got.sha256.to_hex(), "verified": got.verified,
            "range": range_json(range), "event": event,
        })));
    }
    let mut l = written_lines(&got, &a.output, range);
    if let Some(e) = event {
        l.push(format!(
            "fetch recorded as event {e} in the item's custody chain"
        ));
    }
    if got.verified {
        l.push(format!(
            "the SHA-256 matches disclosure {}; acknowledge receipt with: custos disclosure ack {}",
            clean(&a.disclosure, 64),
            clean(&a.disclosure, 64)
        ));
    }
    Ok(Output::Lines(l))
}

fn disclosure_lines(v: &Value) -> Vec<String> {
    let mut l = vec![
        format!(
            "disclosure {} ({}): case {}, requested by {} at {}",
            f(v, "id"),
            f(v, "state"),
            f(v, "case"),
            f(v, "requested_by"),
            f(v, "created_at")
        ),
        format!(
            "  to {} ({}) under {}; purpose {:?}",
            f(v, "recipient"),
            f(v, "recipient_kind"),
            f(v, "instrument"),
            f(v, "purpose")
        ),
        format!(
            "  {}; {}",
            access_terms(v),
            if v["expires_at"].is_null() {
                format!("access for {} s once approved", f(v, "expires_secs"))
            } else {
                format!("access until {}", f(v, "expires_at"))
            }
        ),
    ];
    if !v["decided_by"].is_null() {
        l.push(format!(
            "  decided by {}: {:?}",
            f(v, "decided_by"),
            f(v, "decision_reason")
        ));
    }
    for i in v["items"].as_array().into_iter().flatten() {
        l.push(format!(
            "  {} {} {} bytes, {} download(s)",
            f(i, "item"),
            f(i, "sha256"),
            f(i, "size"),
            f(i, "downloads")
        ));
    }
    l
}

async fn disclosure(s: &Session, c: DisclosureCommand) -> anyhow::Result<Output> {
    Ok(match c {
        DisclosureCommand::List(a) => {
            let v: Value = s.get_json(&["v1", "disclosures"], &[]).await?;
            out(a.json, v, |v| {
                let l: Vec<String> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        format!(
                            "{}  {:<12} case {} -> {} ({}), {} item(s)",
                            f(d, "id"),
                            f(d, "state"),
                            f(d, "case"),
                            f(d, "recipient"),
                            f(d, "recipient_kind"),
                            d["items"].as_array().map_or(0, Vec::len)
                        )
                    })
                    .collect();
                if l.is_empty() {
                    vec!["no disclosures".into()]
                } else {
                    l
                }
            })
        }
        DisclosureCommand::Show { id, json } => {
            let v: Value = s.get_json(&["v1", "disclosures", &id], &[]).await?;
            out(json, v, disclosure_lines)
        }
        DisclosureCommand::Ack { id, note, json } => {
            let body = match note {
                Some(n) => json!({"note": n}),
                None => json!({}),
            };
            let v: Value = s
                .call_json(
                    Method::POST,
                    &["v1", "disclosures", &id, "ack"],
                    Some(&body),
                )
                .await?;
            out(json, v, |v| {
                vec![format!(
                    "acknowledged receipt of disclosure {} (events {})",
                    f(v, "id"),
                    v["events"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| clean(&e.to_string(), 20))
                        .collect::<Vec<_>>()
                        .join(", ")
                )]
            })
        }
    })
}
