//! The `custos` command line: argument parsing and output. Each command is a thin call into the
//! library; errors travel up as `anyhow` and `main` prints them as one line.

/// Write a line to stdout; a closed pipe (e.g. `custos log | head`) surfaces as an error that
/// `main` treats as a quiet, successful exit instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}
/// `outln!` without the newline.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

use crate::audit;
use crate::custody;
use crate::export;
use crate::ids::{ActorName, CaseName, ItemId};
use crate::ingest::{self, Expected, IngestRequest};
use crate::progress::Progress;
use crate::vault::{InitOptions, Vault};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use custos_core::Sha256Hash;
use custos_core::event::{Actor, Event};
use std::path::PathBuf;

/// Custos: a chain-of-custody vault for digital evidence.
#[derive(Debug, Parser)]
#[command(name = "custos", version, about, long_about = None)]
pub struct Cli {
    /// The vault folder.
    #[arg(long, global = true, env = "CUSTOS_DIR", default_value = "custos-data")]
    pub dir: PathBuf,
    /// Record acts under this name instead of the configured examiner.
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub as_name: Option<String>,
    /// Talk to a Custos server instead of a local vault folder (ingest, get, log, checkpoint,
    /// key). Commands that exist only on a server also use the server stored by `login`.
    #[arg(long, global = true, env = "CUSTOS_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new vault (config, fresh keys, database, object store location).
    Init(InitArgs),
    /// Stream a file into the vault as an evidence item.
    Ingest(IngestArgs),
    /// Decrypt an item (or a byte range) to a file, recording the stated reason first.
    Get(GetArgs),
    /// List custody events (an item's custody chain with --item).
    Log(LogArgs),
    /// Print the latest signed checkpoint.
    Checkpoint,
    /// Print the log's verifier key (C2SP format) and its fingerprint.
    Key(KeyArgs),
    /// Check the whole vault and report every finding.
    Audit(AuditArgs),
    /// Manage keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print proofs from the custody log.
    #[command(subcommand)]
    Proof(ProofCommand),
    /// Write a custody report for items: a bundle for custos-verify, and HTML and PDF for people.
    Report(ReportArgs),
    /// Run the multi-user vault service (HTTP API); creates the vault on first start.
    Serve(ServeArgs),
    /// Manage accounts and tokens directly on this machine's vault folder.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check an API token with a server and store it, with the server's log key, in the
    /// client config (~/.config/custos/client.toml, mode 0600). The token is read from stdin.
    Login(LoginArgs),
    /// Show the account a token belongs to (server).
    Whoami(JsonArgs),
    /// Cases and their members (server).
    #[command(subcommand)]
    Case(CaseCommand),
    /// Hand custody of an item to another case member; `accept` or `list` transfers (server).
    Transfer(TransferArgs),
    /// Ask for items to be disclosed to a recipient under a legal instrument (server).
    Disclose(DiscloseArgs),
    /// Approve a disclosure request (server).
    Approve(DecisionArgs),
    /// Refuse a disclosure request (server).
    Refuse(DecisionArgs),
    /// Download an item of a disclosure made to you (server).
    Fetch(FetchArgs),
    /// Disclosures: list, show, acknowledge receipt (server).
    #[command(subcommand)]
    Disclosure(DisclosureCommand),
}

/// Just `--json`.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the token from this file instead of stdin.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `case`
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// The cases you belong to (administrators: every case).
    List(JsonArgs),
    /// Open a case; you become its first member.
    Create {
        /// Case name.
        name: String,
        /// Why the case is opened (recorded).
        #[arg(long)]
        reason: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A case's members and item count.
    Show {
        /// Case name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a member, or change a member's role.
    AddMember {
        /// Case name.
        case: String,
        /// Account name.
        user: String,
        /// Role in the case (default: the account's vault role).
        #[arg(long)]
        role: Option<String>,
        /// Why (recorded).
        #[arg(long)]
        reason: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a member.
    RemoveMember {
        /// Case name.
        case: String,
        /// Account name.
        user: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `transfer ITEM --to USER --reason R`, or `transfer accept|list`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TransferArgs {
    /// `accept` or `list`.
    #[command(subcommand)]
    pub action: Option<TransferCommand>,
    /// The item whose custody you hand over.
    #[arg(required = true)]
    pub item: Option<String>,
    /// The receiver (a member of the item's case).
    #[arg(long, required = true, value_name = "USER")]
    pub to: Option<String>,
    /// Why custody is handed over (recorded).
    #[arg(long, required = true)]
    pub reason: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `transfer accept|list`
#[derive(Debug, Subcommand)]
pub enum TransferCommand {
    /// Accept a transfer offered to you: you become the item's custodian.
    Accept {
        /// Transfer id (trf_...).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Transfers you offered or were offered.
    List(JsonArgs),
}

/// Who receives a disclosure (the same names on the command line and on the wire).
pub use crate::server::routes::disclosures::RecipientKind;

/// `disclose`
#[derive(Debug, Args)]
pub struct DiscloseArgs {
    /// The case.
    #[arg(long)]
    pub case: String,
    /// Items of the case to disclose.
    #[arg(required = true, value_name = "ITEM")]
    pub items: Vec<String>,
    /// The recipient's account.
    #[arg(long, value_name = "USER")]
    pub to: String,
    /// What the recipient is.
    #[arg(long, value_enum)]
    pub kind: RecipientKind,
    /// The legal instrument (court order, request or EPOC id).
    #[arg(long, value_name = "ID")]
    pub instrument: String,
    /// Why the items are disclosed (recorded).
    #[arg(long)]
    pub purpose: String,
    /// Inspection in place only: no download.
    #[arg(long)]
    pub view_only: bool,
    /// How long access lasts once approved (e.g. 7d, 48h; default 7 days).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub expires: Option<std::time::Duration>,
    /// Downloads allowed per item (default 3).
    #[arg(long, value_name = "N")]
    pub max_downloads: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `approve` / `refuse`
#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// Disclosure id (dsc_...).
    pub id: String,
    /// Why (recorded).
    #[arg(long)]
    pub reason: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `fetch`
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Disclosure id (dsc_...).
    pub disclosure: String,
    /// The item.
    pub item: String,
    /// Output file (must not exist).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Only bytes START to END inclusive (each request counts as a download).
    #[arg(long, value_parser = parse_range)]
    pub range: Option<(u64, u64)>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `disclosure`
#[derive(Debug, Subcommand)]
pub enum DisclosureCommand {
    /// Disclosures you requested, received, or may see in your cases.
    List(JsonArgs),
    /// One disclosure, with its items and their SHA-256.
    Show {
        /// Disclosure id (dsc_...).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge receipt of a disclosure made to you (recorded in each item's chain).
    Ack {
        /// Disclosure id (dsc_...).
        id: String,
        /// A note (recorded).
        #[arg(long)]
        note: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address (default: server.bind in the config, or $CUSTOS_BIND, or 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    pub bind: Option<String>,
}

/// `admin`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Accounts.
    #[command(subcommand)]
    User(AdminUserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(AdminTokenCommand),
}

/// `admin user`
#[derive(Debug, Subcommand)]
pub enum AdminUserCommand {
    /// Create an account.
    Add {
        /// Account name (a-z 0-9 . _ -).
        name: String,
        /// administrator, examiner, supervisor, prosecutor, defence, court or auditor.
        #[arg(long)]
        role: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account (its tokens stop working at once).
    Disable {
        /// Account name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lift a lockout after failed attempts.
    Unlock {
        /// Account name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List accounts.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `admin token`
#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Issue a token for an account; it is printed once.
    Issue {
        /// Account name.
        name: String,
        /// A label (e.g. the machine it is for).
        #[arg(long)]
        label: Option<String>,
        /// Lifetime (e.g. 30d, 12h; default: server.token_ttl_secs).
        #[arg(long, value_parser = humantime::parse_duration)]
        ttl: Option<std::time::Duration>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token.
    Revoke {
        /// Token id (the part after cst_, before the second _).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Checkpoint origin (default: unique per vault).
    #[arg(long)]
    pub origin: Option<String>,
    /// Default examiner recorded in local mode (default: $USER).
    #[arg(long)]
    pub examiner: Option<String>,
    /// Object storage: file://PATH or s3://BUCKET[/PREFIX] (default: file://store inside the vault).
    #[arg(long)]
    pub storage: Option<String>,
    /// S3 endpoint for S3-compatible services.
    #[arg(long, requires = "storage")]
    pub s3_endpoint: Option<String>,
    /// Allow plain HTTP to the S3 endpoint (loopback and tests only).
    #[arg(long)]
    pub allow_http: bool,
    /// Print a JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `ingest`
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The file to ingest.
    pub file: PathBuf,
    /// The case (created on first use).
    #[arg(long)]
    pub case: String,
    /// A description of the item.
    #[arg(long)]
    pub description: Option<String>,
    /// Expected SHA-256 (64 hex digits); a mismatch rejects the ingest.
    #[arg(long, value_parser = parse_sha256)]
    pub expect_sha256: Option<Sha256Hash>,
    /// Expected SHA-1 (40 hex digits), as in an imaging tool's log.
    #[arg(long, value_parser = parse_sha1)]
    pub expect_sha1: Option<[u8; 20]>,
    /// Expected MD5 (32 hex digits), as in an imaging tool's log.
    #[arg(long, value_parser = parse_md5)]
    pub expect_md5: Option<[u8; 16]>,
    /// Also compute MD5 and SHA-1.
    #[arg(long)]
    pub legacy_hashes: bool,
    /// The acquisition tool and version, as the examiner states it.
    #[arg(long)]
    pub tool: Option<String>,
    /// The acquisition method, as the examiner states it.
    #[arg(long)]
    pub method: Option<String>,
    /// Print a JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `get`
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The item id.
    pub item: String,
    /// Output file (must not exist).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// The reason for this export (recorded in the custody log).
    #[arg(long)]
    pub reason: String,
    /// Only bytes START to END inclusive (e.g. 0-1023).
    #[arg(long, value_parser = parse_range)]
    pub range: Option<(u64, u64)>,
    /// Print a JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `log`
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this item's custody chain.
    #[arg(long)]
    pub item: Option<String>,
    /// Print JSON lines with the canonical event and signature.
    #[arg(long)]
    pub json: bool,
}

/// `key`
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Print a JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `audit`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Also decrypt every object and check its SHA-256; on a clean log, each item's check is
    /// recorded as an integrity-check event in its custody chain.
    #[arg(long)]
    pub deep: bool,
    /// Remove staging leftovers and orphan objects.
    #[arg(long)]
    pub repair: bool,
    /// Print a JSON report.
    #[arg(long)]
    pub json: bool,
}

/// `report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The item ids.
    #[arg(required = true, value_name = "ITEM")]
    pub items: Vec<String>,
    /// The bundle to write, e.g. case-42.custos-bundle.json (must not exist). The HTML and PDF
    /// reports are written beside it, named without the .custos-bundle.json or .json ending.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: PathBuf,
    /// A checkpoint (signed note file) the recipient already holds: adds a proof that the
    /// report's checkpoint extends it.
    #[arg(long, value_name = "CHECKPOINT_FILE")]
    pub since: Option<PathBuf>,
    /// The purpose of the report (recorded in the custody log).
    #[arg(long)]
    pub reason: Option<String>,
    /// Print a JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `keys`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new master key and rewrap every data key with it (no object is rewritten).
    Rotate {
        /// Print a JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// `proof`
#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Inclusion proof of event INDEX in the tree of SIZE events (default: latest checkpoint).
    Inclusion {
        /// Event index.
        index: u64,
        /// Tree size.
        #[arg(long)]
        size: Option<u64>,
    },
    /// Consistency proof from tree size OLD to NEW (default: latest checkpoint).
    Consistency {
        /// Older size.
        old: u64,
        /// Newer size.
        #[arg(long)]
        new: Option<u64>,
    },
}

fn parse_hex_n<const N: usize>(s: &str, algo: &str) -> Result<[u8; N], String> {
    if s.len() != 2 * N {
        return Err(format!(
            "a {algo} has {} hex digits; got {} characters",
            2 * N,
            s.chars().count()
        ));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| format!("a {algo} has only hex digits (0-9, a-f)"))?;
    Ok(out)
}
fn parse_sha256(s: &str) -> Result<Sha256Hash, String> {
    parse_hex_n::<32>(s, "SHA-256").map(Sha256Hash)
}
fn parse_sha1(s: &str) -> Result<[u8; 20], String> {
    parse_hex_n::<20>(s, "SHA-1")
}
fn parse_md5(s: &str) -> Result<[u8; 16], String> {
    parse_hex_n::<16>(s, "MD5")
}
fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once('-').ok_or("give START-END, e.g. 0-1023")?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("'{a}' is not a byte offset"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("'{b}' is not a byte offset"))?;
    if a > b {
        return Err(format!("START {a} is after END {b}"));
    }
    Ok((a, b))
}

fn actor(vault: &Vault, as_name: &Option<String>) -> Result<Actor> {
    Ok(match as_name {
        Some(n) => Actor {
            name: ActorName::parse(n)?.to_string(),
            role: "examiner".into(),
            auth: "cli-as".into(),
        },
        None => Actor {
            name: vault.config.vault.examiner.clone(),
            role: "examiner".into(),
            auth: "local-config".into(),
        },
    })
}

/// The operator of a local admin command: `--as`, else `$USER`, recorded as such.
fn local_operator(as_name: &Option<String>) -> Result<Actor> {
    let name = match as_name {
        Some(n) => n.clone(),
        None => std::env::var("USER").unwrap_or_else(|_| "operator".into()),
    };
    ActorName::parse(&name)?;
    Ok(Actor {
        name,
        role: "administrator".into(),
        auth: "local-operator".into(),
    })
}

fn print_admin(act: &crate::serve::AdminAct, v: &serde_json::Value) -> std::io::Result<()> {
    use crate::serve::AdminAct;
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    match act {
        AdminAct::AddUser { .. } => outln!(
            "created account {} ({}), event {}",
            s("user"),
            s("role"),
            v["event"]
        ),
        AdminAct::DisableUser { .. } => {
            outln!("disabled account {}, event {}", s("user"), v["event"])
        }
        AdminAct::UnlockUser { .. } => {
            outln!("unlocked account {}, event {}", s("user"), v["event"])
        }
        AdminAct::ListUsers => {
            for u in v.as_array().into_iter().flatten() {
                let mut flags = String::new();
                if u["disabled"].as_bool() == Some(true) {
                    flags.push_str(" disabled");
                }
                if u["locked"].as_bool() == Some(true) {
                    flags.push_str(" locked");
                }
                outln!(
                    "{:<24} {:<14}{}",
                    u["name"].as_str().unwrap_or(""),
                    u["role"].as_str().unwrap_or(""),
                    flags
                );
            }
        }
        AdminAct::IssueToken { .. } => {
            outln!(
                "token for {} (id {}), expires {}; shown this once:",
                s("user"),
                s("id"),
                s("expires_at")
            );
            outln!("{}", s("token"));
        }
        AdminAct::RevokeToken { .. } => outln!("revoked token {} of {}", s("token"), s("user")),
    }
    Ok(())
}

fn print_json(v: &serde_json::Value) -> std::io::Result<()> {
    outln!("{}", serde_json::to_string_pretty(v).expect("json"));
    Ok(())
}

/// Print what a remote command returned.
fn print_output(out: &crate::client::Output) -> Result<()> {
    use crate::client::Output;
    match out {
        Output::Json(v) => print_json(v)?,
        Output::JsonLines(vs) => {
            for v in vs {
                outln!("{v}");
            }
        }
        Output::Lines(ls) => {
            for l in ls {
                outln!("{l}");
            }
        }
    }
    Ok(())
}

/// Run the parsed command. Returns the process exit code.
pub async fn run(mut cli: Cli) -> Result<i32> {
    // Over HTTP when a server is given (or for commands that exist only there).
    match crate::client::dispatch(cli.server.as_deref(), cli.as_name.is_some(), cli.command).await?
    {
        crate::client::Dispatch::Done(out) => {
            print_output(&out)?;
            return Ok(0);
        }
        crate::client::Dispatch::Local(cmd) => cli.command = *cmd,
    }
    match cli.command {
        Command::Init(a) => {
            let opts = InitOptions {
                origin: a.origin,
                examiner: a.examiner,
                storage_url: a.storage,
                storage_endpoint: a.s3_endpoint,
                allow_http: a.allow_http,
            };
            let cfg = Vault::init(&cli.dir, &opts)?;
            let vault = Vault::open(&cli.dir)?;
            let key = vault.keys.log.verifier();
            if a.json {
                print_json(&serde_json::json!({
                    "dir": cli.dir, "origin": cfg.vault.origin, "examiner": cfg.vault.examiner,
                    "storage": cfg.storage.url, "verifier_key": key.to_string(), "fingerprint": key.fingerprint(),
                }))?;
            } else {
                outln!(
                    "created vault {} (origin {})",
                    cli.dir.display(),
                    cfg.vault.origin
                );
                outln!("log verifier key: {key}");
                outln!(
                    "back up {} now: without it, no evidence can be read",
                    vault.keys_dir().display()
                );
            }
            Ok(0)
        }
        Command::Ingest(a) => {
            let case = CaseName::parse(&a.case)?;
            let vault = Vault::open(&cli.dir)?;
            let req = IngestRequest {
                path: a.file.clone(),
                case,
                description: a.description,
                expect: Expected {
                    sha256: a.expect_sha256,
                    sha1: a.expect_sha1,
                    md5: a.expect_md5,
                },
                legacy_hashes: a.legacy_hashes,
                actor: actor(&vault, &cli.as_name)?,
                tool: a.tool,
                method: a.method,
            };
            let progress = Progress::bytes("ingest", !a.json);
            let out = ingest::ingest(&vault, req, &progress).await?;
            if a.json {
                let mut v = serde_json::json!({
                    "item": out.item.to_string(), "case": out.case.to_string(), "sha256": out.sha256.to_hex(),
                    "size": out.size, "duplicate": out.duplicate, "receipt": out.receipt.to_json(),
                });
                if let Some(h) = out.sha1 {
                    v["sha1"] = hex::encode(h).into();
                }
                if let Some(h) = out.md5 {
                    v["md5"] = hex::encode(h).into();
                }
                print_json(&v)?;
            } else {
                let dup = if out.duplicate {
                    " (case already held this content; ingest recorded on that item)"
                } else {
                    ""
                };
                outln!("{} {}{dup}", out.item, out.sha256);
                if let Some(h) = out.md5 {
                    outln!("md5 {}", hex::encode(h));
                }
                if let Some(h) = out.sha1 {
                    outln!("sha1 {}", hex::encode(h));
                }
                outln!(
                    "logged as event {} in checkpoint of size {}",
                    out.receipt.index,
                    out.receipt.tree_size
                );
            }
            Ok(0)
        }
        Command::Get(a) => {
            let item = ItemId::parse(&a.item)?;
            if a.reason.trim().is_empty() {
                bail!("--reason must say why the item is exported");
            }
            let vault = Vault::open(&cli.dir)?;
            let who = actor(&vault, &cli.as_name)?;
            let progress = Progress::bytes("get", !a.json);
            let out = export::export(&vault, &item, &a.output, &a.reason, a.range, who, &progress)
                .await?;
            if a.json {
                print_json(&serde_json::json!({
                    "item": item.to_string(), "output": a.output, "bytes": out.bytes, "sha256": out.sha256.to_hex(),
                    "verified": out.verified, "receipt": out.receipt.to_json(),
                }))?;
            } else if out.verified {
                outln!(
                    "wrote {} bytes to {}; SHA-256 {} verified",
                    out.bytes,
                    a.output.display(),
                    out.sha256
                );
            } else {
                outln!(
                    "wrote {} bytes to {}; every segment authenticated",
                    out.bytes,
                    a.output.display()
                );
            }
            Ok(0)
        }
        Command::Log(a) => {
            let vault = Vault::open(&cli.dir)?;
            let conn = vault.connect()?;
            let item = a.item.as_deref().map(ItemId::parse).transpose()?;
            let events = custody::read_events(&conn, item.as_ref().map(|i| i.as_str()))?;
            if let Some(i) = &item
                && events.is_empty()
            {
                bail!("no item {i} in this vault");
            }
            for e in events {
                let ev = Event::from_canonical_bytes(&e.bytes)
                    .with_context(|| format!("event {} is damaged; run custos audit", e.seq))?;
                if a.json {
                    outln!(
                        "{}",
                        serde_json::json!({
                            "index": e.seq, "event": String::from_utf8_lossy(&e.bytes),
                            "signature": base64_std(&e.signature), "leaf_hash": base64_std(&e.hash),
                        })
                    );
                } else {
                    outln!("{}", describe(&ev));
                }
            }
            Ok(0)
        }
        Command::Checkpoint => {
            let vault = Vault::open(&cli.dir)?;
            match custody::latest_checkpoint(&vault.connect()?)? {
                Some(note) => out!("{note}"),
                None => bail!("the log is empty: no checkpoint has been signed yet"),
            }
            Ok(0)
        }
        Command::Key(a) => {
            let vault = Vault::open(&cli.dir)?;
            let key = vault.keys.log.verifier();
            if a.json {
                print_json(
                    &serde_json::json!({"verifier_key": key.to_string(), "fingerprint": key.fingerprint()}),
                )?;
            } else {
                outln!("{key}");
            }
            Ok(0)
        }
        Command::Audit(a) => {
            let vault = Vault::open(&cli.dir)?;
            let progress = Progress::bytes("audit", !a.json);
            let who = actor(&vault, &cli.as_name)?;
            let report = audit::audit(&vault, a.deep, a.repair, Some(who), &progress).await?;
            progress.finish();
            if a.json {
                print_json(&serde_json::to_value(&report).expect("json"))?;
            } else {
                for f in &report.findings {
                    outln!("FINDING {f}");
                }
                for r in &report.repaired {
                    outln!("removed {r}");
                }
                outln!(
                    "audit{}: {} events, {} checkpoints, {} items, {} objects: {}",
                    if report.deep { " --deep" } else { "" },
                    report.events,
                    report.checkpoints,
                    report.items,
                    report.objects,
                    if report.findings.is_empty() {
                        "clean".to_string()
                    } else {
                        format!("{} finding(s)", report.findings.len())
                    }
                );
            }
            Ok(if report.findings.is_empty() { 0 } else { 1 })
        }
        Command::Keys(KeysCommand::Rotate { json }) => {
            let mut vault = Vault::open(&cli.dir)?;
            let who = actor(&vault, &cli.as_name)?;
            let r = crate::rotate::rotate(&mut vault, who).await?;
            if json {
                print_json(
                    &serde_json::json!({"new_master_key": format!("{:08x}", r.new_id), "rewrapped": r.rewrapped, "retired": r.retired.iter().map(|i| format!("{i:08x}")).collect::<Vec<_>>(), "event": r.receipt.index}),
                )?;
            } else {
                outln!(
                    "master key {:08x} now wraps {} data key(s); retired {:?}; logged as event {}",
                    r.new_id,
                    r.rewrapped,
                    r.retired,
                    r.receipt.index
                );
            }
            Ok(0)
        }
        Command::Serve(a) => crate::serve::serve(&cli.dir, a.bind.as_deref()).await,
        Command::Admin(cmd) => {
            use crate::serve::AdminAct;
            let (act, json) = match cmd {
                AdminCommand::User(AdminUserCommand::Add { name, role, json }) => {
                    (AdminAct::AddUser { name, role }, json)
                }
                AdminCommand::User(AdminUserCommand::Disable { name, json }) => {
                    (AdminAct::DisableUser { name }, json)
                }
                AdminCommand::User(AdminUserCommand::Unlock { name, json }) => {
                    (AdminAct::UnlockUser { name }, json)
                }
                AdminCommand::User(AdminUserCommand::List { json }) => (AdminAct::ListUsers, json),
                AdminCommand::Token(AdminTokenCommand::Issue {
                    name,
                    label,
                    ttl,
                    json,
                }) => (
                    AdminAct::IssueToken {
                        name,
                        label,
                        ttl_secs: ttl.map(|d| d.as_secs()),
                    },
                    json,
                ),
                AdminCommand::Token(AdminTokenCommand::Revoke { id, json }) => {
                    (AdminAct::RevokeToken { id }, json)
                }
            };
            let who = local_operator(&cli.as_name)?;
            let v = crate::serve::admin_local(&cli.dir, who, act.clone()).await?;
            if json {
                print_json(&v)?;
            } else {
                print_admin(&act, &v)?;
            }
            Ok(0)
        }
        // `client::dispatch` runs these or explains what they need; never local.
        Command::Login(_)
        | Command::Whoami(_)
        | Command::Case(_)
        | Command::Transfer(_)
        | Command::Disclose(_)
        | Command::Approve(_)
        | Command::Refuse(_)
        | Command::Fetch(_)
        | Command::Disclosure(_) => bail!("this command needs --server URL (or CUSTOS_SERVER)"),
        Command::Proof(p) => {
            let vault = Vault::open(&cli.dir)?;
            let conn = vault.connect()?;
            let latest: u64 =
                conn.query_row("SELECT COALESCE(MAX(size), 0) FROM checkpoints", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64;
            let nodes = custody::SqlNodes(&conn);
            let (proof, what) = match p {
                ProofCommand::Inclusion { index, size } => {
                    let size = size.unwrap_or(latest);
                    if size > latest || index >= size {
                        bail!("need INDEX < SIZE <= {latest} (the latest checkpoint's size)");
                    }
                    (
                        custos_core::merkle::inclusion_proof(&nodes, index, size)
                            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                        format!("inclusion of {index} in {size}"),
                    )
                }
                ProofCommand::Consistency { old, new } => {
                    let new = new.unwrap_or(latest);
                    if new > latest || old > new {
                        bail!("need OLD <= NEW <= {latest} (the latest checkpoint's size)");
                    }
                    (
                        custos_core::merkle::consistency_proof(&nodes, old, new)
                            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
                        format!("consistency {old} to {new}"),
                    )
                }
            };
            outln!("# {what}");
            for h in proof {
                outln!("{}", h.to_base64());
            }
            Ok(0)
        }
        Command::Report(a) => {
            let items = a
                .items
                .iter()
                .map(|i| ItemId::parse(i))
                .collect::<Result<Vec<_>, _>>()?;
            if a.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
                bail!("--reason, when given, must say why the report is made");
            }
            let vault = Vault::open(&cli.dir)?;
            let req = crate::report::ReportRequest {
                items,
                output: a.output,
                since: a.since,
                actor: actor(&vault, &cli.as_name)?,
                reason: a.reason,
            };
            let out = crate::report::report(&vault, &req).await?;
            if a.json {
                print_json(&serde_json::json!({
                    "bundle": out.paths.bundle, "html": out.paths.html, "pdf": out.paths.pdf,
                    "bundle_sha256": out.bundle_sha256.to_hex(), "checkpoint_size": out.checkpoint_size,
                    "events": out.events, "report_events": out.report_events,
                }))?;
            } else {
                outln!("{}", out.paths.bundle.display());
                outln!("{}", out.paths.html.display());
                outln!("{}", out.paths.pdf.display());
                outln!(
                    "{} events proved against the checkpoint of size {}; report recorded as event(s) {:?}",
                    out.events,
                    out.checkpoint_size,
                    out.report_events
                );
            }
            Ok(0)
        }
    }
}

fn base64_std(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// One readable line per event.
pub(crate) fn describe(ev: &Event) -> String {
    let mut s = format!(
        "{:>6}  {}  {:<18} {}",
        ev.seq,
        ev.time.to_rfc3339(),
        ev.action.as_str(),
        ev.actor.name
    );
    if let Some(c) = &ev.case {
        s.push_str(&format!("  case={c}"));
    }
    if let Some(i) = &ev.item {
        s.push_str(&format!("  item={} sha256={}", i.id, i.sha256));
    }
    if let Some(r) = &ev.reason {
        s.push_str(&format!("  reason={r:?}"));
    }
    s
}
