//! `custos audit`: check the whole vault and report every finding, not just the first.
//!
//! Checks (docs/ARCHITECTURE.md, "Audit"): every event parses canonically, sits at its own
//! index, hashes to its stored hash and carries a valid signature (batch-verified on both
//! cores); the global chain and each item's chain; the Merkle tree recomputed from all events
//! against every stored tree node and every stored checkpoint (signature, origin, root at its
//! size: this is consistency of all checkpoints with each other and with the log); checkpoint
//! sizes never shrink and the latest covers the whole log; every item row matches its ingest
//! event and its data key unwraps; every object exists with the right size and nothing else
//! is stored; with `--deep`, every object decrypts and hashes to its identity.

use crate::custody::{EventDraft, LogError, LogTx, SqlNodes, read_events_range};
use crate::db::{DbError, SqlContext};
use crate::export::find_item;
use crate::ids::ItemId;
use crate::progress::Progress;
use crate::vault::Vault;
use custos_core::Sha256Hash;
use custos_core::checkpoint::{self, Checkpoint};
use custos_core::event::{self, Action, Actor, Event, ItemRef};
use custos_core::jcs::Value;
use custos_core::merkle::{self, Frontier};
use custos_seal::{ObjectId, WrappedKey};
use futures::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// Events read and verified per batch.
const CHUNK: u64 = 20_000;

/// One problem found by the audit. Every variant names the event, item, object or checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Finding {
    /// The event's bytes are not a canonical event.
    EventMalformed { seq: u64, message: String },
    /// The event's bytes say another index (events reordered or moved).
    EventMisplaced { seq: u64, claims: u64 },
    /// The stored leaf hash is not the hash of the stored bytes.
    EventHashMismatch { seq: u64 },
    /// The event's signature does not verify with the log key.
    EventSignature { seq: u64 },
    /// An index is missing from the log (event deleted).
    EventMissing { from: u64, to: u64 },
    /// `prev` is not the hash of the previous event.
    ChainBroken { seq: u64 },
    /// `item_prev` is not the hash of the item's previous event.
    ItemChainBroken { seq: u64, item: String },
    /// The event names another log.
    EventWrongLog { seq: u64, log: String },
    /// A stored tree node differs from the one recomputed from the events.
    TreeNodeMismatch { level: u8, index: u64 },
    /// A tree node the events require is missing.
    TreeNodeMissing { level: u8, index: u64 },
    /// A stored tree node no event accounts for.
    TreeNodeExtra { level: u8, index: u64 },
    /// The checkpoint is not a valid signed note from the log key, or its body is malformed.
    CheckpointInvalid { size: u64, message: String },
    /// The checkpoint's root differs from the root recomputed from the events at its size.
    CheckpointRootMismatch { size: u64 },
    /// The checkpoint claims more events than the log holds (log truncated).
    CheckpointBeyondLog { size: u64, log_size: u64 },
    /// A checkpoint was stored after a larger one (size shrank).
    CheckpointShrank { size: u64, after: u64 },
    /// The consistency proof between two stored checkpoints fails.
    CheckpointInconsistent {
        older: u64,
        newer: u64,
        message: String,
    },
    /// Events exist beyond the latest checkpoint.
    EventsNotCheckpointed { checkpoint_size: u64, log_size: u64 },
    /// An item row with no matching ingest event, or a field that differs from it.
    ItemMismatch { item: String, field: String },
    /// An item's data key does not unwrap (key row or master key changed).
    ItemKeyInvalid { item: String, message: String },
    /// An item's object is missing from the store.
    ObjectMissing { item: String, object: String },
    /// An item's object has the wrong stored size.
    ObjectSizeMismatch {
        item: String,
        object: String,
        expected: u64,
        found: u64,
    },
    /// (--deep) An object fails authentication or decryption.
    ObjectCorrupt {
        item: String,
        object: String,
        message: String,
    },
    /// (--deep) An object's plaintext does not hash to the item's identity.
    ObjectHashMismatch {
        item: String,
        object: String,
        actual: String,
    },
    /// An object left by an unfinished ingest (removed by `--repair`).
    StagingLeftover { object: String },
    /// An object no item or staging row accounts for (removed by `--repair`).
    OrphanObject { object: String },
    /// A file in the object folder that is not an object.
    StrayFile { path: String },
    /// SQLite's own integrity check failed.
    DatabaseIntegrity { message: String },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Finding::*;
        match self {
            EventMalformed { seq, message } => {
                write!(f, "event {seq}: not a valid canonical event ({message})")
            }
            EventMisplaced { seq, claims } => write!(
                f,
                "event {seq}: its bytes say index {claims} (events reordered or moved)"
            ),
            EventHashMismatch { seq } => {
                write!(f, "event {seq}: stored hash is not the hash of its bytes")
            }
            EventSignature { seq } => {
                write!(f, "event {seq}: signature does not verify with the log key")
            }
            EventMissing { from, to } => {
                write!(f, "events {from} to {to}: missing from the log (deleted)")
            }
            ChainBroken { seq } => write!(
                f,
                "event {seq}: prev does not match the hash of event {}",
                seq.saturating_sub(1)
            ),
            ItemChainBroken { seq, item } => write!(
                f,
                "event {seq}: item_prev does not match item {item}'s previous event"
            ),
            EventWrongLog { seq, log } => {
                write!(f, "event {seq}: names log '{log}', not this vault's")
            }
            TreeNodeMismatch { level, index } => write!(
                f,
                "tree node level {level} index {index}: differs from the hash recomputed from the events"
            ),
            TreeNodeMissing { level, index } => {
                write!(f, "tree node level {level} index {index}: missing")
            }
            TreeNodeExtra { level, index } => write!(
                f,
                "tree node level {level} index {index}: no event accounts for it"
            ),
            CheckpointInvalid { size, message } => write!(f, "checkpoint {size}: {message}"),
            CheckpointRootMismatch { size } => write!(
                f,
                "checkpoint {size}: root differs from the root recomputed from events 0..{size}"
            ),
            CheckpointBeyondLog { size, log_size } => write!(
                f,
                "checkpoint {size}: signed for {size} events but the log holds {log_size} (log truncated)"
            ),
            CheckpointShrank { size, after } => write!(
                f,
                "checkpoint {size}: stored after checkpoint {after} (size shrank)"
            ),
            CheckpointInconsistent {
                older,
                newer,
                message,
            } => write!(
                f,
                "checkpoints {older} and {newer}: consistency proof fails ({message})"
            ),
            EventsNotCheckpointed {
                checkpoint_size,
                log_size,
            } => write!(
                f,
                "events {checkpoint_size} to {}: not covered by any signed checkpoint",
                log_size - 1
            ),
            ItemMismatch { item, field } => {
                write!(f, "item {item}: {field} differs from its ingest event")
            }
            ItemKeyInvalid { item, message } => {
                write!(f, "item {item}: data key does not unwrap ({message})")
            }
            ObjectMissing { item, object } => {
                write!(f, "item {item}: object {object} is missing from the store")
            }
            ObjectSizeMismatch {
                item,
                object,
                expected,
                found,
            } => write!(
                f,
                "item {item}: object {object} is {found} bytes, expected {expected}"
            ),
            ObjectCorrupt {
                item,
                object,
                message,
            } => write!(
                f,
                "item {item}: object {object} fails authentication ({message})"
            ),
            ObjectHashMismatch {
                item,
                object,
                actual,
            } => write!(
                f,
                "item {item}: object {object} decrypts to SHA-256 {actual}, not the item's identity"
            ),
            StagingLeftover { object } => write!(
                f,
                "object {object}: staging leftover of an unfinished ingest (custos audit --repair removes it)"
            ),
            OrphanObject { object } => write!(
                f,
                "object {object}: belongs to no item (custos audit --repair removes it)"
            ),
            StrayFile { path } => write!(f, "{path}: not a vault object"),
            DatabaseIntegrity { message } => {
                write!(f, "database: integrity check failed ({message})")
            }
        }
    }
}

/// The audit's result.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Events checked.
    pub events: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Items checked.
    pub items: u64,
    /// Objects in the store.
    pub objects: u64,
    /// Whether objects were decrypted (--deep).
    pub deep: bool,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Leftovers removed (--repair).
    pub repaired: Vec<String>,
    /// Integrity-check events appended (--deep on a clean log).
    pub recorded: u64,
}

/// Append one `integrity-check` event per item, with the deep check's result.
async fn record_integrity_checks(
    vault: &Vault,
    actor: Actor,
    items: &[AuditItem],
    findings: &[Finding],
) -> Result<u64, AuditError> {
    let drafts: Vec<EventDraft> = items
        .iter()
        .map(|item| {
            let failed = findings
                .iter()
                .find(|f| finding_item(f) == Some(item.id.as_str()));
            let mut details = vec![(
                "result",
                Value::String(
                    if failed.is_some() {
                        "failed"
                    } else {
                        "verified"
                    }
                    .into(),
                ),
            )];
            if let Some(f) = failed {
                details.push(("finding", Value::String(f.to_string())));
            }
            EventDraft {
                actor: actor.clone(),
                action: Action::IntegrityCheck,
                case: Some(item.case.clone()),
                item: Some(ItemRef {
                    id: item.id.clone(),
                    sha256: item.sha256,
                }),
                reason: Some("custos audit --deep".into()),
                details: Value::object(details),
            }
        })
        .collect();
    let n = drafts.len() as u64;
    if n > 0 {
        vault
            .sequencer
            .submit(move |tx: &mut LogTx<'_>| -> Result<(), LogError> {
                for d in drafts {
                    tx.append(d)?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(n)
}

/// The item a finding is about, if any.
fn finding_item(f: &Finding) -> Option<&str> {
    use Finding::*;
    match f {
        ItemMismatch { item, .. }
        | ItemKeyInvalid { item, .. }
        | ObjectMissing { item, .. }
        | ObjectSizeMismatch { item, .. }
        | ObjectCorrupt { item, .. }
        | ObjectHashMismatch { item, .. } => Some(item),
        _ => None,
    }
}

/// Audit errors (the audit could not run; findings are not errors).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Database failure.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Storage failure while listing.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Recording the integrity-check events failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Repair refused while ingests run.
    #[error("an ingest is running; run `custos audit --repair` again when it has finished")]
    Busy,
}

/// Run the audit.
pub async fn audit(
    vault: &Vault,
    deep: bool,
    repair: bool,
    record_as: Option<Actor>,
    progress: &Progress,
) -> Result<Report, AuditError> {
    let conn = vault.connect()?;
    let mut findings = Vec::new();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .doing("checking database integrity")?;
    if integrity != "ok" {
        findings.push(Finding::DatabaseIntegrity { message: integrity });
    }
    let fk: Vec<(String, i64, String)> = conn
        .prepare("PRAGMA foreign_key_check")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .doing("checking foreign keys")?;
    for (table, rowid, parent) in fk {
        findings.push(Finding::DatabaseIntegrity {
            message: format!(
                "foreign key violation: {table} row {rowid} refers to a missing {parent} row"
            ),
        });
    }
    let log = audit_log(vault, &conn, &mut findings, progress)?;
    let log_clean = findings.is_empty();
    let items = audit_items(vault, &conn, &log.ingests, &mut findings)?;
    let (objects, repaired) =
        audit_objects(vault, &conn, &items, deep, repair, &mut findings).await?;
    // A deep audit is an integrity check of every item: record it in each item's custody
    // chain, but never extend a log the audit found damaged.
    let mut recorded = 0;
    if let Some(actor) = record_as.filter(|_| deep && log_clean) {
        recorded = record_integrity_checks(vault, actor, &items, &findings).await?;
    }
    Ok(Report {
        recorded,
        events: log.size,
        checkpoints: log.checkpoints,
        items: items.len() as u64,
        objects,
        deep,
        findings,
        repaired,
    })
}

/// An ingest event as the item pass needs it.
struct IngestRecord {
    seq: u64,
    case: Option<String>,
    sha256: Sha256Hash,
    details: Value,
}

/// Ingest events by item id.
type Ingests = HashMap<String, Vec<IngestRecord>>;

/// What the log pass learns for the item pass.
struct LogSummary {
    size: u64,
    checkpoints: u64,
    /// Ingest events by item id: (seq, case, sha256, details).
    ingests: Ingests,
}

fn audit_log(
    vault: &Vault,
    conn: &rusqlite::Connection,
    findings: &mut Vec<Finding>,
    progress: &Progress,
) -> Result<LogSummary, AuditError> {
    let verifier = vault.keys.log.verifier();
    let vk = *verifier.verifying_key();
    let origin = &vault.config.vault.origin;
    let max_seq: Option<i64> = conn
        .query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))
        .doing("reading the log size")?;
    let stored_size = max_seq.map_or(0, |m| m as u64 + 1);

    // Checkpoints, in the order they were stored.
    let mut cps: Vec<(u64, String)> = conn
        .prepare("SELECT size, note FROM checkpoints ORDER BY created_at, size")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
                .collect()
        })
        .doing("reading checkpoints")?;
    let mut parsed: BTreeMap<u64, Checkpoint> = BTreeMap::new();
    let mut max_so_far: Option<u64> = None;
    for (size, note) in &cps {
        if let Some(m) = max_so_far
            && *size < m
        {
            findings.push(Finding::CheckpointShrank {
                size: *size,
                after: m,
            });
        }
        max_so_far = Some(max_so_far.map_or(*size, |m| m.max(*size)));
        match checkpoint::open_checkpoint(note, &verifier) {
            Ok((cp, _)) if cp.size != *size => findings.push(Finding::CheckpointInvalid {
                size: *size,
                message: format!("body says size {}", cp.size),
            }),
            Ok((cp, _)) if &cp.origin != origin => findings.push(Finding::CheckpointInvalid {
                size: *size,
                message: format!("origin '{}' is not this log's", cp.origin),
            }),
            Ok((cp, _)) => {
                parsed.insert(*size, cp);
            }
            Err(e) => findings.push(Finding::CheckpointInvalid {
                size: *size,
                message: e.to_string(),
            }),
        }
    }
    cps.sort_by_key(|c| c.0);

    progress.set_length(stored_size);
    let bar = progress.counter();
    let mut frontier = Frontier::new();
    let mut recomputed: Vec<Vec<Sha256Hash>> = Vec::new();
    let mut prev: Option<Sha256Hash> = None;
    let mut item_last: HashMap<String, Sha256Hash> = HashMap::new();
    let mut ingests: HashMap<String, Vec<_>> = HashMap::new();
    let mut expected_seq = 0u64;
    let mut start = 0u64;
    while start < stored_size {
        let rows = read_events_range(conn, start, start + CHUNK)?;
        start += CHUNK;
        // Parse and verify signatures on both cores.
        let checked = verify_chunk(&vk, &rows);
        for (row, (parsed_ev, sig_ok)) in rows.iter().zip(checked) {
            if row.seq != expected_seq {
                findings.push(Finding::EventMissing {
                    from: expected_seq,
                    to: row.seq - 1,
                });
                // Keep recomputing with what exists: roots will not match, and say so.
            }
            expected_seq = row.seq + 1;
            let leaf = merkle::leaf_hash(&row.bytes);
            if row.hash != leaf.0 {
                findings.push(Finding::EventHashMismatch { seq: row.seq });
            }
            if !sig_ok {
                findings.push(Finding::EventSignature { seq: row.seq });
            }
            match parsed_ev {
                Ok(ev) => {
                    if ev.seq != row.seq {
                        findings.push(Finding::EventMisplaced {
                            seq: row.seq,
                            claims: ev.seq,
                        });
                    }
                    if &ev.log != origin {
                        findings.push(Finding::EventWrongLog {
                            seq: row.seq,
                            log: ev.log.clone(),
                        });
                    }
                    if ev.prev != prev {
                        findings.push(Finding::ChainBroken { seq: row.seq });
                    }
                    if let Some(item) = &ev.item {
                        if ev.item_prev != item_last.get(&item.id).copied() {
                            findings.push(Finding::ItemChainBroken {
                                seq: row.seq,
                                item: item.id.clone(),
                            });
                        }
                        item_last.insert(item.id.clone(), leaf);
                        if ev.action == Action::Ingest {
                            ingests
                                .entry(item.id.clone())
                                .or_default()
                                .push(IngestRecord {
                                    seq: row.seq,
                                    case: ev.case.clone(),
                                    sha256: item.sha256,
                                    details: ev.details.clone(),
                                });
                        }
                    }
                }
                Err(message) => findings.push(Finding::EventMalformed {
                    seq: row.seq,
                    message,
                }),
            }
            prev = Some(leaf);
            for (level, index, h) in frontier.push(leaf) {
                let l = level as usize;
                if recomputed.len() <= l {
                    recomputed.resize_with(l + 1, Vec::new);
                }
                debug_assert_eq!(recomputed[l].len() as u64, index);
                recomputed[l].push(h);
            }
            let size = frontier.size();
            if let Some(cp) = parsed.get(&size)
                && cp.root != frontier.root()
            {
                findings.push(Finding::CheckpointRootMismatch { size });
            }
        }
        bar.inc(rows.len() as u64);
    }
    let log_size = frontier.size();
    for &size in parsed.keys() {
        if size > log_size {
            findings.push(Finding::CheckpointBeyondLog { size, log_size });
        }
    }
    if let Some((&latest, _)) = parsed.iter().next_back() {
        if latest < log_size {
            findings.push(Finding::EventsNotCheckpointed {
                checkpoint_size: latest,
                log_size,
            });
        }
    } else if log_size > 0 {
        findings.push(Finding::EventsNotCheckpointed {
            checkpoint_size: 0,
            log_size,
        });
    }
    audit_tree_nodes(conn, &recomputed, findings)?;
    // Consistency proofs between consecutive checkpoints, from the stored tree (exercises what
    // clients are served).
    let sizes: Vec<u64> = parsed.keys().copied().filter(|&s| s <= log_size).collect();
    for w in sizes.windows(2) {
        let (a, b) = (w[0], w[1]);
        let nodes = SqlNodes(conn);
        let res = merkle::consistency_proof(&nodes, a, b)
            .map_err(|e| format!("{e:?}"))
            .and_then(|p| {
                merkle::verify_consistency(a, b, &parsed[&a].root, &parsed[&b].root, &p)
                    .map_err(|e| e.to_string())
            });
        if let Err(message) = res {
            findings.push(Finding::CheckpointInconsistent {
                older: a,
                newer: b,
                message,
            });
        }
    }
    Ok(LogSummary {
        size: log_size,
        checkpoints: cps.len() as u64,
        ingests,
    })
}

/// Parse each event and check its signature; batch verification on two threads, with
/// per-event fallback to name the bad ones.
fn verify_chunk(
    vk: &ed25519_dalek::VerifyingKey,
    rows: &[crate::custody::StoredEvent],
) -> Vec<(Result<Event, String>, bool)> {
    let half = rows.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(half)
            .map(|part| {
                s.spawn(move || {
                    let pairs: Vec<(&[u8], &[u8])> = part
                        .iter()
                        .map(|r| (r.bytes.as_slice(), r.signature.as_slice()))
                        .collect();
                    let bad: HashSet<usize> =
                        event::find_bad_signatures(vk, &pairs).into_iter().collect();
                    part.iter()
                        .enumerate()
                        .map(|(i, r)| {
                            (
                                Event::from_canonical_bytes(&r.bytes).map_err(|e| e.to_string()),
                                !bad.contains(&i),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("verifier thread"))
            .collect()
    })
}

fn audit_tree_nodes(
    conn: &rusqlite::Connection,
    recomputed: &[Vec<Sha256Hash>],
    findings: &mut Vec<Finding>,
) -> Result<(), AuditError> {
    let mut st = conn
        .prepare("SELECT level, idx, hash FROM tree_nodes ORDER BY level, idx")
        .doing("reading tree nodes")?;
    let mut rows = st.query([]).doing("reading tree nodes")?;
    let mut seen: Vec<u64> = vec![0; recomputed.len()];
    while let Some(r) = rows.next().doing("reading tree nodes")? {
        let level: i64 = r.get(0).doing("reading tree nodes")?;
        let index: i64 = r.get(1).doing("reading tree nodes")?;
        let hash: Vec<u8> = r.get(2).doing("reading tree nodes")?;
        let (l, i) = (level as usize, index as u64);
        match recomputed.get(l).and_then(|v| v.get(i as usize)) {
            Some(h) => {
                if h.0[..] != hash[..] {
                    findings.push(Finding::TreeNodeMismatch {
                        level: l as u8,
                        index: i,
                    });
                }
                seen[l] += 1;
            }
            None => findings.push(Finding::TreeNodeExtra {
                level: l as u8,
                index: i,
            }),
        }
    }
    for (l, v) in recomputed.iter().enumerate() {
        if seen[l] < v.len() as u64 {
            // Name the missing ones.
            let mut present: HashSet<u64> = HashSet::new();
            let mut st = conn
                .prepare("SELECT idx FROM tree_nodes WHERE level = ?1")
                .doing("reading tree nodes")?;
            for idx in st
                .query_map([l as i64], |r| r.get::<_, i64>(0))
                .doing("reading tree nodes")?
            {
                present.insert(idx.doing("reading tree nodes")? as u64);
            }
            for i in 0..v.len() as u64 {
                if !present.contains(&i) {
                    findings.push(Finding::TreeNodeMissing {
                        level: l as u8,
                        index: i,
                    });
                }
            }
        }
    }
    Ok(())
}

/// An item row joined with its data key row.
struct ItemAuditRow {
    id: String,
    sha: Vec<u8>,
    size: i64,
    object: Vec<u8>,
    case: String,
    ingest_seq: i64,
    master: Option<i64>,
    wrapped: Option<Vec<u8>>,
}

/// An item row as the audit needs it.
struct AuditItem {
    id: String,
    case: String,
    object: ObjectId,
    size: u64,
    sha256: Sha256Hash,
}

fn audit_items(
    vault: &Vault,
    conn: &rusqlite::Connection,
    ingests: &Ingests,
    findings: &mut Vec<Finding>,
) -> Result<Vec<AuditItem>, AuditError> {
    let rows: Vec<ItemAuditRow> = conn
        .prepare(
            "SELECT i.id, i.sha256, i.size, i.object_id, c.name, i.ingest_seq, k.master_key_id, k.wrapped
             FROM items i JOIN cases c ON c.id = i.case_id LEFT JOIN object_keys k ON k.object_id = i.object_id ORDER BY i.id",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(ItemAuditRow {
                    id: r.get(0)?,
                    sha: r.get(1)?,
                    size: r.get(2)?,
                    object: r.get(3)?,
                    case: r.get(4)?,
                    ingest_seq: r.get(5)?,
                    master: r.get(6)?,
                    wrapped: r.get(7)?,
                })
            })?
            .collect()
        })
        .doing("reading items")?;
    let mut out = Vec::new();
    for ItemAuditRow {
        id,
        sha,
        size,
        object,
        case,
        ingest_seq,
        master,
        wrapped,
    } in rows
    {
        let mismatch = |field: &str| Finding::ItemMismatch {
            item: id.clone(),
            field: field.to_string(),
        };
        let (Ok(sha), Ok(object)) = (<[u8; 32]>::try_from(sha), <[u8; 16]>::try_from(object))
        else {
            findings.push(mismatch("sha256 or object id column"));
            continue;
        };
        let (sha, object) = (Sha256Hash(sha), ObjectId(object));
        let first = ingests
            .get(&id)
            .and_then(|v| v.iter().find(|e| e.seq == ingest_seq as u64));
        match first {
            None => findings.push(mismatch("ingest event (none at the recorded index)")),
            Some(IngestRecord {
                case: ev_case,
                sha256: ev_sha,
                details,
                ..
            }) => {
                if *ev_sha != sha {
                    findings.push(mismatch("sha256"));
                }
                if ev_case.as_deref() != Some(case.as_str()) {
                    findings.push(mismatch("case"));
                }
                if detail_int(details, "size") != Some(size) {
                    findings.push(mismatch("size"));
                }
                if detail_str(details, "object") != Some(object.to_hex().as_str()) {
                    findings.push(mismatch("object id"));
                }
            }
        }
        match (master, wrapped) {
            (Some(m), Some(w)) => {
                let res = vault
                    .keys
                    .master(m as u32)
                    .map_err(|e| e.to_string())
                    .and_then(|mk| {
                        let w =
                            WrappedKey(w.try_into().map_err(|_| "wrapped key length".to_string())?);
                        custos_seal::unwrap_data_key(mk, &object, &w)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    });
                if let Err(message) = res {
                    findings.push(Finding::ItemKeyInvalid {
                        item: id.clone(),
                        message,
                    });
                }
            }
            _ => findings.push(Finding::ItemKeyInvalid {
                item: id.clone(),
                message: "no data key row".into(),
            }),
        }
        out.push(AuditItem {
            id,
            case,
            object,
            size: size as u64,
            sha256: sha,
        });
    }
    Ok(out)
}

fn detail<'v>(details: &'v Value, key: &str) -> Option<&'v Value> {
    match details {
        Value::Object(m) => m.get(key),
        _ => None,
    }
}
fn detail_int(details: &Value, key: &str) -> Option<i64> {
    match detail(details, key) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}
fn detail_str<'v>(details: &'v Value, key: &str) -> Option<&'v str> {
    match detail(details, key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

async fn audit_objects(
    vault: &Vault,
    conn: &rusqlite::Connection,
    items: &[AuditItem],
    deep: bool,
    repair: bool,
    findings: &mut Vec<Finding>,
) -> Result<(u64, Vec<String>), AuditError> {
    let (listed, strays) = vault.store.list().await?;
    let sizes: HashMap<ObjectId, u64> = listed.iter().copied().collect();
    let staging: HashSet<ObjectId> = conn
        .prepare("SELECT object_id FROM staging")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .doing("reading staging rows")?
        .into_iter()
        .filter_map(|b| b.try_into().ok().map(ObjectId))
        .collect();
    let referenced: HashSet<ObjectId> = items.iter().map(|i| i.object).collect();
    for item in items {
        let expected = custos_seal::ciphertext_len(item.size, custos_seal::SEGMENT_SIZE);
        match sizes.get(&item.object) {
            None => findings.push(Finding::ObjectMissing {
                item: item.id.clone(),
                object: item.object.to_hex(),
            }),
            Some(&found) if found != expected => findings.push(Finding::ObjectSizeMismatch {
                item: item.id.clone(),
                object: item.object.to_hex(),
                expected,
                found,
            }),
            Some(_) if deep => deep_check(vault, conn, item, findings).await?,
            Some(_) => {}
        }
    }
    let mut leftovers = Vec::new();
    for (id, _) in &listed {
        if !referenced.contains(id) {
            if staging.contains(id) {
                findings.push(Finding::StagingLeftover {
                    object: id.to_hex(),
                });
            } else {
                findings.push(Finding::OrphanObject {
                    object: id.to_hex(),
                });
            }
            leftovers.push(*id);
        }
    }
    let partials = vault.store.local_partials();
    for p in &partials {
        findings.push(Finding::StagingLeftover {
            object: p.display().to_string(),
        });
    }
    for s in strays {
        findings.push(Finding::StrayFile { path: s });
    }
    let mut repaired = Vec::new();
    if repair {
        let _guard = vault
            .exclusive_ingest_lock()
            .map_err(|_| AuditError::Busy)?;
        for id in leftovers {
            vault.store.delete(&id).await?;
            conn.execute("DELETE FROM staging WHERE object_id = ?1", [&id.0[..]])
                .doing("clearing a staging row")?;
            repaired.push(id.to_hex());
        }
        for p in partials {
            if std::fs::remove_file(&p).is_ok() {
                repaired.push(p.display().to_string());
            }
        }
        // Staging rows whose object never reached the store.
        let n = conn
            .execute(
                "DELETE FROM staging WHERE object_id NOT IN (SELECT object_id FROM items)",
                [],
            )
            .doing("clearing staging rows")?;
        if n > 0 {
            repaired.push(format!("{n} staging row(s)"));
        }
    }
    Ok((listed.len() as u64, repaired))
}

async fn deep_check(
    vault: &Vault,
    conn: &rusqlite::Connection,
    item: &AuditItem,
    findings: &mut Vec<Finding>,
) -> Result<(), AuditError> {
    use sha2::Digest;
    let Ok(id) = ItemId::parse(&item.id) else {
        return Ok(());
    };
    if find_item(conn, &id)?.is_none() {
        return Ok(());
    }
    let key: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT master_key_id, wrapped FROM object_keys WHERE object_id = ?1",
            [&item.object.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    let Some(dek) = key.and_then(|(m, w)| {
        let mk = vault.keys.master(m as u32).ok()?;
        custos_seal::unwrap_data_key(mk, &item.object, &WrappedKey(w.try_into().ok()?)).ok()
    }) else {
        return Ok(()); // already reported as ItemKeyInvalid
    };
    let corrupt = |message: String| Finding::ObjectCorrupt {
        item: item.id.clone(),
        object: item.object.to_hex(),
        message,
    };
    let mut stream = match vault
        .store
        .read_plaintext(item.object, dek, item.size, 0..item.size)
    {
        Ok(s) => Box::pin(s),
        Err(e) => {
            findings.push(corrupt(e.to_string()));
            return Ok(());
        }
    };
    let mut h = sha2::Sha256::new();
    while let Some(b) = stream.next().await {
        match b {
            Ok(b) => h.update(&b),
            Err(e) => {
                findings.push(corrupt(e.to_string()));
                return Ok(());
            }
        }
    }
    let actual = Sha256Hash(h.finalize().into());
    if actual != item.sha256 {
        findings.push(Finding::ObjectHashMismatch {
            item: item.id.clone(),
            object: item.object.to_hex(),
            actual: actual.to_hex(),
        });
    }
    Ok(())
}
