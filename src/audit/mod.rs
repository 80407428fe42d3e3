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

use crate::custody::{EventDraft, LogError, LogTx};
use crate::db::{DbError, SqlContext};
use crate::progress::Progress;
use crate::vault::Vault;
use custos_core::event::{Action, Actor, ItemRef};
use custos_core::jcs::Value;
use rusqlite::Connection;
use serde::Serialize;
use std::fmt;
use std::thread::ScopedJoinHandle;

mod items;
mod log_pass;

use items::{AuditItem, audit_items, audit_objects};
use log_pass::{CHUNK_LEVEL, audit_log};

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
    /// A thread of the audit stopped unexpectedly (a bug): the audit is incomplete.
    #[error("the audit's {what} thread stopped unexpectedly; the audit is incomplete")]
    Worker {
        /// Which thread.
        what: &'static str,
    },
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
    let side_conn = vault.connect()?;
    let reader_conn = vault.connect()?;
    // SQLite's own checks run on their own connection beside the log pass: they are one
    // thread's work, mostly reading pages, and fill the gaps the log pass leaves on the cores.
    let (db_checked, log_checked) = std::thread::scope(|s| {
        let side = s.spawn(move || database_checks(&side_conn, deep));
        let log = audit_log(vault, &conn, reader_conn, progress, CHUNK_LEVEL);
        (join(side, "database check"), log)
    });
    let mut findings = db_checked??;
    let (log, log_findings) = log_checked?;
    findings.extend(log_findings);
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

/// A scoped thread's result, or [`AuditError::Worker`] if it panicked.
fn join<T>(h: ScopedJoinHandle<'_, T>, what: &'static str) -> Result<T, AuditError> {
    h.join().map_err(|_| AuditError::Worker { what })
}

/// The database's own checks and the order checkpoints were stored in.
///
/// By default `PRAGMA quick_check`: every page, record and constraint, in about a third of the
/// time of `integrity_check`, which also compares every index with its table; `--deep` runs
/// the full `integrity_check`. A stale index that `quick_check` misses cannot hide tampering
/// from the log pass, which reads events and tree nodes through their tables' primary keys.
/// Then foreign keys, then checkpoint sizes in storage order (they never shrink).
fn database_checks(conn: &Connection, deep: bool) -> Result<Vec<Finding>, AuditError> {
    let mut findings = Vec::new();
    let pragma = if deep {
        "PRAGMA integrity_check"
    } else {
        "PRAGMA quick_check"
    };
    let problems: Vec<String> = conn
        .prepare(pragma)
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .doing("checking database integrity")?;
    if problems.first().map(String::as_str) != Some("ok") {
        findings.push(Finding::DatabaseIntegrity {
            message: problems.join("; "),
        });
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
    let mut st = conn
        .prepare("SELECT size FROM checkpoints ORDER BY created_at, size")
        .doing("reading checkpoint order")?;
    let mut rows = st.query([]).doing("reading checkpoint order")?;
    let mut max_so_far: Option<u64> = None;
    while let Some(r) = rows.next().doing("reading checkpoint order")? {
        let size = r.get::<_, i64>(0).doing("reading checkpoint order")? as u64;
        if let Some(after) = max_so_far.filter(|&m| size < m) {
            findings.push(Finding::CheckpointShrank { size, after });
        }
        max_so_far = Some(max_so_far.map_or(size, |m| m.max(size)));
    }
    Ok(findings)
}
