//! `custos report`: a custody report for one or more items, as three files.
//!
//! - `<PATH>`: the report bundle (JSON, format version 1; [`bundle`]), for `custos-verify`:
//!   every event of every item, index ascending, with its exact signed bytes, signature and
//!   inclusion proof in ONE checkpoint, the latest the vault has signed; with `--since`, a
//!   consistency proof from a checkpoint the recipient already holds.
//! - `<BASE>.html` and `<BASE>.pdf`: the same records for people ([`doc`], [`html`], [`pdf`]),
//!   where `<BASE>` is `<PATH>` without a final `.custos-bundle.json` or `.json`.
//!
//! Before anything is written, every event is checked as a verifier would (stored hash,
//! signature, canonical form, item chain, inclusion proof): the vault never hands out a bundle
//! that fails.
//!
//! Producing a report is itself custody-relevant. After the files' contents are final, one
//! `report` event per item is appended (details: the bundle's file name, the SHA-256 of each of
//! the three files, the checkpoint size). These events come after the bundle's checkpoint, so a
//! report never contains its own report events; the next report does. Order of work: check the
//! outputs are free, read and verify, write private temporary files beside the outputs, append
//! the events (custody first), then link the files into place. If anything fails before the
//! events are durable, nothing is left behind.

pub mod bundle;
pub mod doc;
pub mod html;
pub mod pdf;

use crate::custody::{self, EventDraft, LogError, LogTx, SqlNodes, StoredEvent};
use crate::db::{DbError, SqlContext};
use crate::ids::ItemId;
use crate::vault::Vault;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bundle::{Bundle, BundleEvent, BundleItem, ConsistencyEntry, LogInfo, Software};
use custos_core::Sha256Hash;
use custos_core::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use custos_core::event::{self, Action, Actor, Event, ItemRef, Timestamp};
use custos_core::jcs::Value;
use custos_core::merkle::{self, VerifyError};
use custos_core::note::NoteVerifier;
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The action of the event recorded for each item when a report is produced.
pub const REPORT_ACTION: &str = "report";
/// Largest `--since` file read (a checkpoint note is a few hundred bytes).
pub const MAX_SINCE_BYTES: u64 = 64 * 1024;

/// Why a report was not produced. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No such item.
    #[error("no item {item} in this vault; list items with `custos log`")]
    UnknownItem {
        /// The id given.
        item: String,
    },
    /// The output path names no file.
    #[error(
        "{path} is not a file path; give the bundle file to write, e.g. case.custos-bundle.json"
    )]
    BadOutput {
        /// The path given.
        path: PathBuf,
    },
    /// An output file exists.
    #[error("{path} already exists; choose another output path")]
    OutputExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The `--since` file cannot be read.
    #[error("cannot read the --since checkpoint {path}: {source}")]
    SinceUnreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `--since` file is too large to be a checkpoint.
    #[error("--since {path} is {size} bytes, too large for a checkpoint note (at most {max})")]
    SinceTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The `--since` file is not a checkpoint signed by this vault's log key.
    #[error(
        "--since {path} is not a checkpoint signed by this vault's log key ({source}); it is damaged, forged or from another log"
    )]
    SinceNotSigned {
        /// The file.
        path: PathBuf,
        /// Why.
        source: CheckpointError,
    },
    /// The `--since` checkpoint names another log.
    #[error("--since {path} is a checkpoint of log {found}, not of this vault's log {expected}")]
    SinceForeignOrigin {
        /// The file.
        path: PathBuf,
        /// Its origin.
        found: String,
        /// This vault's origin.
        expected: String,
    },
    /// The `--since` checkpoint is larger than the vault's latest: the vault lost events.
    #[error(
        "--since {path} has {old_size} events but this vault's latest checkpoint has {size}: this vault has been rolled back or restored from an older copy"
    )]
    SinceNewer {
        /// The file.
        path: PathBuf,
        /// Its size.
        old_size: u64,
        /// The latest size.
        size: u64,
    },
    /// The `--since` checkpoint is not a prefix of the current log: the log was forked.
    #[error(
        "--since {path} (size {old_size}) is not consistent with this vault's checkpoint of size {size} ({source}): the log's history differs from what the holder saw"
    )]
    SinceInconsistent {
        /// The file.
        path: PathBuf,
        /// Its size.
        old_size: u64,
        /// The latest size.
        size: u64,
        /// The failed check.
        source: VerifyError,
    },
    /// The vault has signed no checkpoint.
    #[error("the custody log is empty: there is nothing to report")]
    EmptyLog,
    /// The vault's own data does not verify.
    #[error("the custody log is damaged ({message}); run `custos audit`; no report was written")]
    Damaged {
        /// What failed, naming the event index or checkpoint.
        message: String,
    },
    /// The bundle would exceed the format's size limit.
    #[error(transparent)]
    TooLarge(#[from] bundle::BundleTooLarge),
    /// Writing an output failed.
    #[error("cannot write {path}: {source}; no report was left")]
    Output {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The report events could not be appended, so no file was released.
    #[error("the report could not be recorded in the custody log ({0}); no report was written")]
    Log(#[from] LogError),
    /// Database problem.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The three output files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    /// The bundle (the path given).
    pub bundle: PathBuf,
    /// The HTML report.
    pub html: PathBuf,
    /// The PDF report.
    pub pdf: PathBuf,
}

impl ReportPaths {
    /// The paths for bundle path `bundle`: the HTML and PDF drop a final `.custos-bundle.json`
    /// or `.json` from its file name and add `.html` and `.pdf`.
    pub fn for_bundle(bundle: &Path) -> Result<Self, ReportError> {
        let bad = || ReportError::BadOutput {
            path: bundle.to_owned(),
        };
        let name = bundle.file_name().ok_or_else(bad)?;
        let base = match name.to_str() {
            Some(s) => {
                let stem = s
                    .strip_suffix(bundle::BUNDLE_EXTENSION)
                    .or_else(|| s.strip_suffix(".json"))
                    .filter(|t| !t.is_empty())
                    .unwrap_or(s);
                std::ffi::OsString::from(stem)
            }
            None => name.to_owned(),
        };
        let with = |ext: &str| {
            let mut n = base.clone();
            n.push(ext);
            bundle.with_file_name(n)
        };
        Ok(ReportPaths {
            bundle: bundle.to_owned(),
            html: with(".html"),
            pdf: with(".pdf"),
        })
    }

    fn all(&self) -> [&Path; 3] {
        [&self.bundle, &self.html, &self.pdf]
    }
}

/// What to report.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The items, in the order they appear in the report (duplicates are dropped).
    pub items: Vec<ItemId>,
    /// The bundle path; the HTML and PDF are written beside it ([`ReportPaths::for_bundle`]).
    pub output: PathBuf,
    /// A checkpoint note file the recipient already holds.
    pub since: Option<PathBuf>,
    /// Who produces the report (recorded in the report events).
    pub actor: Actor,
    /// The stated purpose, recorded in the report events.
    pub reason: Option<String>,
}

/// What `report` wrote.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    /// The files.
    pub paths: ReportPaths,
    /// Size of the checkpoint the bundle is proved against.
    pub checkpoint_size: u64,
    /// Events in the bundle.
    pub events: usize,
    /// SHA-256 of the bundle file.
    pub bundle_sha256: Sha256Hash,
    /// Log indices of the `report` events recorded (one per item).
    pub report_events: Vec<u64>,
}

/// An item row as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRecord {
    /// Id.
    pub id: ItemId,
    /// Case name.
    pub case: String,
    /// SHA-256 of the content (the item's identity; its "current hash").
    pub sha256: Sha256Hash,
    /// SHA-1, when computed at ingest.
    pub sha1: Option<[u8; 20]>,
    /// MD5, when computed at ingest.
    pub md5: Option<[u8; 16]>,
    /// Content size.
    pub size: u64,
    /// Description given at ingest.
    pub description: Option<String>,
    /// File name at ingest.
    pub original_name: Option<String>,
}

/// Reads an item row.
pub fn load_item(conn: &Connection, id: &ItemId) -> Result<Option<ItemRecord>, ReportError> {
    type Row = (
        Vec<u8>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        i64,
        Option<String>,
        Option<String>,
        String,
    );
    let row: Option<Row> = conn
        .query_row(
            "SELECT i.sha256, i.sha1, i.md5, i.size, i.description, i.original_name, c.name
             FROM items i JOIN cases c ON c.id = i.case_id WHERE i.id = ?1",
            [id.as_str()],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()
        .doing("reading the item")?;
    let Some((sha256, sha1, md5, size, description, original_name, case)) = row else {
        return Ok(None);
    };
    let damaged = |what: &str| ReportError::Damaged {
        message: format!("item {id}: stored {what} has the wrong length"),
    };
    Ok(Some(ItemRecord {
        id: id.clone(),
        case,
        sha256: Sha256Hash(sha256.try_into().map_err(|_| damaged("SHA-256"))?),
        sha1: sha1
            .map(|h| h.try_into().map_err(|_| damaged("SHA-1")))
            .transpose()?,
        md5: md5
            .map(|h| h.try_into().map_err(|_| damaged("MD5")))
            .transpose()?,
        size: u64::try_from(size).map_err(|_| damaged("size"))?,
        description,
        original_name,
    }))
}

/// Reads the `--since` file: a checkpoint note, at most [`MAX_SINCE_BYTES`].
fn read_since(path: &Path) -> Result<String, ReportError> {
    let unreadable = |source| ReportError::SinceUnreadable {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if size > MAX_SINCE_BYTES {
        return Err(ReportError::SinceTooLarge {
            path: path.to_owned(),
            size,
            max: MAX_SINCE_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    String::from_utf8(bytes).map_err(|_| {
        unreadable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })
}

/// One event as read and verified: the stored row, the parsed event and its inclusion proof
/// in the report's checkpoint.
struct VerifiedEvent {
    stored: StoredEvent,
    event: Event,
    proof: Vec<Sha256Hash>,
}

/// The verified records a report is made of.
struct Collected {
    checkpoint_note: String,
    checkpoint: Checkpoint,
    consistency: Option<(Checkpoint, Vec<Sha256Hash>)>,
    items: Vec<(ItemRecord, Vec<VerifiedEvent>)>,
}

fn damaged(message: String) -> ReportError {
    ReportError::Damaged { message }
}

/// Reads everything in one read transaction (a consistent snapshot while others append) and
/// verifies it.
fn collect(
    conn: &mut Connection,
    verifier: &NoteVerifier,
    items: &[ItemId],
    since: Option<(&Path, &str)>,
) -> Result<Collected, ReportError> {
    let tx = conn.transaction().doing("starting a read")?;
    let note = custody::latest_checkpoint(&tx)?.ok_or(ReportError::EmptyLog)?;
    let (checkpoint, _) = open_checkpoint(&note, verifier)
        .map_err(|e| damaged(format!("the latest checkpoint does not verify: {e}")))?;
    if checkpoint.origin != verifier.name() {
        return Err(damaged(format!(
            "the latest checkpoint names log {}, the log key is {}",
            checkpoint.origin,
            verifier.name()
        )));
    }
    let nodes = SqlNodes(&tx);
    let consistency = match since {
        Some((path, text)) => Some(check_since(&nodes, verifier, &checkpoint, path, text)?),
        None => None,
    };
    let mut out = Vec::with_capacity(items.len());
    for id in items {
        let record = load_item(&tx, id)?.ok_or_else(|| ReportError::UnknownItem {
            item: id.to_string(),
        })?;
        let stored: Vec<StoredEvent> = custody::read_events(&tx, Some(id.as_str()))?
            .into_iter()
            .filter(|e| e.seq < checkpoint.size)
            .collect();
        let events = verify_item_events(&nodes, verifier, &checkpoint, &record, stored)?;
        out.push((record, events));
    }
    drop(tx);
    check_global_chain(&out)?;
    Ok(Collected {
        checkpoint_note: note,
        checkpoint,
        consistency,
        items: out,
    })
}

/// Opens the holder's checkpoint and proves the current one extends it.
fn check_since(
    nodes: &SqlNodes<'_>,
    verifier: &NoteVerifier,
    current: &Checkpoint,
    path: &Path,
    text: &str,
) -> Result<(Checkpoint, Vec<Sha256Hash>), ReportError> {
    let (old, _) =
        open_checkpoint(text, verifier).map_err(|source| ReportError::SinceNotSigned {
            path: path.to_owned(),
            source,
        })?;
    if old.origin != current.origin {
        return Err(ReportError::SinceForeignOrigin {
            path: path.to_owned(),
            found: old.origin,
            expected: current.origin.clone(),
        });
    }
    if old.size > current.size {
        return Err(ReportError::SinceNewer {
            path: path.to_owned(),
            old_size: old.size,
            size: current.size,
        });
    }
    let proof = merkle::consistency_proof(nodes, old.size, current.size).map_err(|e| {
        damaged(format!(
            "consistency proof {} to {}: {e}",
            old.size, current.size
        ))
    })?;
    merkle::verify_consistency(old.size, current.size, &old.root, &current.root, &proof).map_err(
        |source| ReportError::SinceInconsistent {
            path: path.to_owned(),
            old_size: old.size,
            size: current.size,
            source,
        },
    )?;
    Ok((old, proof))
}

/// Checks an item's events as a verifier will: stored leaf hash, signature, canonical form,
/// `seq`, `log`, item reference, item chain (the first is the ingest), inclusion proof.
fn verify_item_events(
    nodes: &SqlNodes<'_>,
    verifier: &NoteVerifier,
    cp: &Checkpoint,
    record: &ItemRecord,
    stored: Vec<StoredEvent>,
) -> Result<Vec<VerifiedEvent>, ReportError> {
    let mut out = Vec::with_capacity(stored.len());
    let mut item_prev: Option<Sha256Hash> = None;
    for s in stored {
        let at = |what: String| damaged(format!("event {}: {what}", s.seq));
        let leaf = merkle::leaf_hash(&s.bytes);
        if s.hash != leaf.0 {
            return Err(at(
                "stored leaf hash differs from the hash of its bytes".into()
            ));
        }
        event::verify_event(verifier.verifying_key(), &s.bytes, &s.signature)
            .map_err(|e| at(format!("signature: {e}")))?;
        let ev = Event::from_canonical_bytes(&s.bytes).map_err(|e| at(e.to_string()))?;
        if ev.seq != s.seq || ev.log != cp.origin {
            return Err(at("seq or log does not match its place in this log".into()));
        }
        match &ev.item {
            Some(i) if i.id == record.id.as_str() && i.sha256 == record.sha256 => {}
            _ => return Err(at(format!("does not name item {}", record.id))),
        }
        if ev.item_prev != item_prev {
            return Err(at(
                "item_prev does not link to the item's previous event".into()
            ));
        }
        if item_prev.is_none() && ev.action != Action::Ingest {
            return Err(at("the item's first event is not its ingest".into()));
        }
        let proof = merkle::inclusion_proof(nodes, s.seq, cp.size)
            .map_err(|e| at(format!("inclusion proof: {e}")))?;
        merkle::verify_inclusion(&leaf, s.seq, cp.size, &proof, &cp.root)
            .map_err(|e| at(format!("inclusion proof: {e}")))?;
        item_prev = Some(leaf);
        out.push(VerifiedEvent {
            stored: s,
            event: ev,
            proof,
        });
    }
    if out.is_empty() {
        return Err(damaged(format!(
            "item {} has no events up to checkpoint size {}",
            record.id, cp.size
        )));
    }
    Ok(out)
}

/// For any two bundled events at indices i and i+1, event i+1's `prev` is event i's hash.
fn check_global_chain(items: &[(ItemRecord, Vec<VerifiedEvent>)]) -> Result<(), ReportError> {
    let mut by_seq: BTreeMap<u64, (Sha256Hash, Option<Sha256Hash>)> = BTreeMap::new();
    for (_, events) in items {
        for v in events {
            by_seq.insert(
                v.stored.seq,
                (merkle::leaf_hash(&v.stored.bytes), v.event.prev),
            );
        }
    }
    for (seq, (_, prev)) in &by_seq {
        if let Some(before) = seq.checked_sub(1).and_then(|p| by_seq.get(&p))
            && *prev != Some(before.0)
        {
            return Err(damaged(format!(
                "event {seq}: prev is not the hash of event {}",
                seq - 1
            )));
        }
    }
    Ok(())
}

fn make_bundle(
    c: &Collected,
    verifier: &NoteVerifier,
    generated_at: Timestamp,
) -> Result<Vec<u8>, ReportError> {
    let b64 = |h: &Sha256Hash| h.to_base64();
    let items = c
        .items
        .iter()
        .map(|(r, events)| BundleItem {
            id: r.id.to_string(),
            case: r.case.clone(),
            sha256: r.sha256.to_hex(),
            sha1: r.sha1.map(hex::encode),
            md5: r.md5.map(hex::encode),
            size: r.size,
            description: r.description.clone(),
            original_name: r.original_name.clone(),
            events: events
                .iter()
                .map(|v| BundleEvent {
                    index: v.stored.seq,
                    event: B64.encode(&v.stored.bytes),
                    signature: B64.encode(&v.stored.signature),
                    inclusion_proof: v.proof.iter().map(b64).collect(),
                })
                .collect(),
        })
        .collect();
    let bundle = Bundle {
        format: bundle::BUNDLE_FORMAT.into(),
        version: bundle::BUNDLE_VERSION,
        generated_at: generated_at.to_rfc3339(),
        software: Software {
            name: "custos".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        log: LogInfo {
            origin: c.checkpoint.origin.clone(),
            verifier_key: verifier.to_string(),
            fingerprint: verifier.fingerprint(),
        },
        checkpoint: c.checkpoint_note.clone(),
        consistency: c.consistency.as_ref().map(|(old, proof)| {
            vec![ConsistencyEntry {
                old_size: old.size,
                old_root: old.root.to_base64(),
                proof: proof.iter().map(b64).collect(),
            }]
        }),
        items,
    };
    Ok(bundle.to_json_bytes()?)
}

/// A PDF date (`YYYYMMDDHHmmSSZ`) from a timestamp.
fn pdf_date(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    s.chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect::<String>()
        + "Z"
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Renders the bundle, HTML and PDF bytes (in that order).
fn render_all(
    c: &Collected,
    verifier: &NoteVerifier,
    paths: &ReportPaths,
    generated_at: Timestamp,
) -> Result<[Vec<u8>; 3], ReportError> {
    let bundle = make_bundle(c, verifier, generated_at)?;
    let meta = doc::ReportMeta {
        generated_at,
        software_version: env!("CARGO_PKG_VERSION").into(),
        origin: c.checkpoint.origin.clone(),
        verifier_key: verifier.to_string(),
        fingerprint: verifier.fingerprint(),
        checkpoint: c.checkpoint_note.clone(),
        checkpoint_size: c.checkpoint.size,
        checkpoint_root: c.checkpoint.root,
        bundle_file: file_name(&paths.bundle),
        since: c.consistency.as_ref().map(|(old, _)| (old.size, old.root)),
    };
    let parsed: Vec<(&ItemRecord, Vec<Event>)> = c
        .items
        .iter()
        .map(|(r, evs)| (r, evs.iter().map(|v| v.event.clone()).collect()))
        .collect();
    let views: Vec<doc::ItemView<'_>> = parsed
        .iter()
        .map(|(record, events)| doc::ItemView { record, events })
        .collect();
    let document = doc::build(&meta, &views);
    let html = html::render(&document).into_bytes();
    let pdf = pdf::render(
        &document,
        &pdf::PdfInfo {
            title: document.title.clone(),
            producer: format!("custos {}", env!("CARGO_PKG_VERSION")),
            creation_date: pdf_date(generated_at),
        },
    );
    Ok([bundle, html, pdf])
}

/// A private temporary file beside `out`, written and synced. Returns its path.
fn write_temp_beside(out: &Path, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    let err = |source| ReportError::Output {
        path: out.to_owned(),
        source,
    };
    let (tmp, mut f) = crate::export::private_temp_beside(out).map_err(err)?;
    if let Err(e) = f.write_all(bytes).and_then(|()| f.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(tmp)
}

/// Moves `tmp` to `out` without ever replacing an existing `out` (a hard link fails if the
/// name is taken), falling back to a rename where the file system has no hard links.
fn place(tmp: &Path, out: &Path) -> Result<(), ReportError> {
    let err = |source| ReportError::Output {
        path: out.to_owned(),
        source,
    };
    match std::fs::hard_link(tmp, out) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(ReportError::OutputExists {
            path: out.to_owned(),
        }),
        Err(_) if !out.exists() => std::fs::rename(tmp, out).map_err(err),
        Err(e) => Err(err(e)),
    }
}

fn report_drafts(
    req: &ReportRequest,
    c: &Collected,
    paths: &ReportPaths,
    files: &[Vec<u8>; 3],
) -> Result<Vec<EventDraft>, ReportError> {
    let [bundle, html, pdf] = files;
    let mut details = vec![
        ("bundle", Value::String(file_name(&paths.bundle))),
        (
            "bundle_sha256",
            Value::String(Sha256Hash::digest(bundle).to_hex()),
        ),
        (
            "html_sha256",
            Value::String(Sha256Hash::digest(html).to_hex()),
        ),
        (
            "pdf_sha256",
            Value::String(Sha256Hash::digest(pdf).to_hex()),
        ),
    ];
    details.extend(size_details(c));
    report_events(&req.actor, req.reason.as_deref(), c, Value::object(details))
}

/// The `checkpoint_size`, `items` and (with `--since`) `since_size` members of `report` details.
fn size_details(c: &Collected) -> Vec<(&'static str, Value)> {
    let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let mut out = vec![
        ("checkpoint_size", int(c.checkpoint.size)),
        ("items", int(c.items.len() as u64)),
    ];
    if let Some((old, _)) = &c.consistency {
        out.push(("since_size", int(old.size)));
    }
    out
}

/// One `report` event per reported item, all with `details`.
fn report_events(
    actor: &Actor,
    reason: Option<&str>,
    c: &Collected,
    details: Value,
) -> Result<Vec<EventDraft>, ReportError> {
    let action = Action::parse(REPORT_ACTION).map_err(|e| damaged(e.to_string()))?;
    Ok(c.items
        .iter()
        .map(|(r, _)| EventDraft {
            actor: actor.clone(),
            action: action.clone(),
            case: Some(r.case.clone()),
            item: Some(ItemRef {
                id: r.id.to_string(),
                sha256: r.sha256,
            }),
            reason: reason.map(str::to_string),
            details: details.clone(),
        })
        .collect())
}

/// Appends `drafts` in one log transaction; returns their indices.
async fn record(vault: &Vault, drafts: Vec<EventDraft>) -> Result<Vec<u64>, ReportError> {
    let (seqs, _receipts) = vault
        .sequencer
        .submit(move |tx: &mut LogTx<'_>| -> Result<Vec<u64>, LogError> {
            drafts
                .into_iter()
                .map(|d| tx.append(d).map(|a| a.seq))
                .collect()
        })
        .await?;
    Ok(seqs)
}

/// `items` without repeats, in their first order.
fn unique(items: &[ItemId]) -> Vec<ItemId> {
    let mut out: Vec<ItemId> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

/// The file name a bundle produced by [`report_bundle`] is offered under (and recorded as):
/// `<item>.custos-bundle.json` for one item, `custos-report.custos-bundle.json` for several.
pub fn bundle_file_name(items: &[ItemId]) -> String {
    match unique(items).as_slice() {
        [one] => format!("{one}{}", bundle::BUNDLE_EXTENSION),
        _ => format!("custos-report{}", bundle::BUNDLE_EXTENSION),
    }
}

/// The report bundle for `items` (the same bytes `custos report` writes as its bundle file,
/// docs/FORMATS.md §7), in memory, without the HTML and PDF: for the service.
///
/// The records are read and verified exactly as for [`report`]; then one `report` event per
/// item is appended (details: `bundle` ([`bundle_file_name`]), `bundle_sha256`,
/// `checkpoint_size`, `items`), and only once those are durable are the bytes returned.
/// The reads are blocking: call it off the async worker threads.
pub async fn report_bundle(
    vault: &Vault,
    items: &[ItemId],
    actor: &Actor,
    reason: Option<String>,
) -> Result<Vec<u8>, ReportError> {
    let items = unique(items);
    let verifier = vault.keys.log.verifier();
    let mut conn = vault.connect()?;
    let collected = collect(&mut conn, &verifier, &items, None)?;
    drop(conn);
    let generated_at = Timestamp::from_unix_micros(crate::db::now_micros())
        .map_err(|e| damaged(format!("system clock: {e}")))?;
    let bytes = make_bundle(&collected, &verifier, generated_at)?;
    let mut details = vec![
        ("bundle", Value::String(bundle_file_name(&items))),
        (
            "bundle_sha256",
            Value::String(Sha256Hash::digest(&bytes).to_hex()),
        ),
    ];
    details.extend(size_details(&collected));
    let drafts = report_events(actor, reason.as_deref(), &collected, Value::object(details))?;
    // Custody first: the report events are durable before the bundle is handed out.
    record(vault, drafts).await?;
    Ok(bytes)
}

/// Produces the report described by `req` (see the module documentation for the order of
/// work and what is recorded).
pub async fn report(vault: &Vault, req: &ReportRequest) -> Result<ReportOutcome, ReportError> {
    let paths = ReportPaths::for_bundle(&req.output)?;
    for p in paths.all() {
        if p.exists() {
            return Err(ReportError::OutputExists { path: p.to_owned() });
        }
    }
    let since_text = req.since.as_deref().map(read_since).transpose()?;
    let items = unique(&req.items);
    let verifier = vault.keys.log.verifier();
    let mut conn = vault.connect()?;
    let since = req.since.as_deref().zip(since_text.as_deref());
    let collected = collect(&mut conn, &verifier, &items, since)?;
    let generated_at = Timestamp::from_unix_micros(crate::db::now_micros())
        .map_err(|e| damaged(format!("system clock: {e}")))?;
    let files = render_all(&collected, &verifier, &paths, generated_at)?;

    let mut temps: Vec<PathBuf> = Vec::with_capacity(3);
    let cleanup = |temps: &[PathBuf]| {
        for t in temps {
            let _ = std::fs::remove_file(t);
        }
    };
    for (path, bytes) in paths.all().into_iter().zip(&files) {
        match write_temp_beside(path, bytes) {
            Ok(t) => temps.push(t),
            Err(e) => {
                cleanup(&temps);
                return Err(e);
            }
        }
    }
    // Custody first: the report events are durable before any file is released.
    let drafts = match report_drafts(req, &collected, &paths, &files) {
        Ok(d) => d,
        Err(e) => {
            cleanup(&temps);
            return Err(e);
        }
    };
    let report_events = match record(vault, drafts).await {
        Ok(seqs) => seqs,
        Err(e) => {
            cleanup(&temps);
            return Err(e);
        }
    };
    let mut placed: Vec<&Path> = Vec::with_capacity(3);
    for (tmp, out) in temps.iter().zip(paths.all()) {
        if let Err(e) = place(tmp, out) {
            cleanup(&temps);
            for p in placed {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        placed.push(out);
    }
    if let Some(parent) = paths.bundle.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
    }
    Ok(ReportOutcome {
        checkpoint_size: collected.checkpoint.size,
        events: collected.items.iter().map(|(_, e)| e.len()).sum(),
        bundle_sha256: Sha256Hash::digest(&files[0]),
        report_events,
        paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_pdf_names_drop_the_bundle_extension() {
        let p = ReportPaths::for_bundle(Path::new("out/case-42.custos-bundle.json")).unwrap();
        assert_eq!(p.bundle, Path::new("out/case-42.custos-bundle.json"));
        assert_eq!(p.html, Path::new("out/case-42.html"));
        assert_eq!(p.pdf, Path::new("out/case-42.pdf"));
        let p = ReportPaths::for_bundle(Path::new("r.json")).unwrap();
        assert_eq!(
            (p.html.as_path(), p.pdf.as_path()),
            (Path::new("r.html"), Path::new("r.pdf"))
        );
        let p = ReportPaths::for_bundle(Path::new("report")).unwrap();
        assert_eq!(p.html, Path::new("report.html"));
        // Never the same file as the bundle.
        let p = ReportPaths::for_bundle(Path::new("x.html")).unwrap();
        assert_eq!(p.html, Path::new("x.html.html"));
        let p = ReportPaths::for_bundle(Path::new(".json")).unwrap();
        assert_eq!(p.html, Path::new(".json.html"));
        assert!(matches!(
            ReportPaths::for_bundle(Path::new("..")),
            Err(ReportError::BadOutput { .. })
        ));
        assert!(matches!(
            ReportPaths::for_bundle(Path::new("/")),
            Err(ReportError::BadOutput { .. })
        ));
    }

    #[test]
    fn served_bundles_are_named_after_their_one_item() {
        let (a, b) = (ItemId::random(), ItemId::random());
        let one = bundle_file_name(&[a.clone(), a.clone()]);
        assert_eq!(one, format!("{a}.custos-bundle.json"));
        assert_eq!(
            bundle_file_name(&[a, b]),
            "custos-report.custos-bundle.json"
        );
    }

    #[test]
    fn pdf_dates_have_fourteen_digits() {
        let t = Timestamp::from_unix_micros(1_795_575_845_123_456).unwrap();
        assert_eq!(pdf_date(t), "20261125030405Z");
    }
}
