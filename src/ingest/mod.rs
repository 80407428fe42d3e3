//! Ingest: stream a file into the vault and record it in the custody log.
//!
//! The pipeline (docs/ARCHITECTURE.md, "Life of an ingest") keeps both cores busy and memory
//! constant. Blocks of 1 MiB pass along a chain of threads, each owning a block while it works
//! on it and all working on different blocks at once: a reader thread, one thread per digest
//! (SHA-256 always; SHA-1 and MD5 on request), a sealer thread that encrypts the block where it
//! lies ([`Block`]: the plaintext is laid out as it will be stored, so it is never copied), and
//! the upload. Channels are bounded, so at most a few blocks are in flight whatever the file
//! size, and the blocks come from a buffer pool (`store::BufferPool`): the same few megabytes
//! are reused for the whole file instead of faulting in fresh pages for every block.
//!
//! The blocks come from a [`BlockSource`]: a file read by the reader thread ([`ReadSource`]),
//! or an HTTP request body that the server copies into blocks as it arrives
//! (`server::body::BodyBlocks`), so hyper's read buffer is free again before its next read.

mod block;

pub use block::{BLOCK, Block};

use crate::custody::{EventDraft, LogError, LogTx, Receipt};
use crate::db::{self, DbError, SqlContext};
use crate::ids::{CaseName, ItemId};
use crate::progress::Progress;
use crate::store::{BufferPool, ObjectSealer, StoreError};
use crate::vault::Vault;
use custos_core::Sha256Hash;
use custos_core::event::{Action, Actor, ItemRef};
use custos_core::jcs::Value;
use custos_seal::{DataKey, ObjectId, SEGMENT_SIZE};
use rusqlite::{OptionalExtension, params};
use sha2::Digest;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Where an ingest's plaintext comes from, one block at a time, on the pipeline's reader
/// thread (so `next_block` may block).
pub trait BlockSource: Send + 'static {
    /// The next [`BLOCK`] bytes: a full block but at the end, where it may be shorter; an empty
    /// block means the end. An error fails the ingest, which records the failed read.
    fn next_block(&mut self) -> std::io::Result<Block>;
}

/// A [`BlockSource`] over a blocking reader (a file), reading into pooled buffers.
pub struct ReadSource<R> {
    reader: R,
    pool: BufferPool,
}

impl<R: Read + Send + 'static> ReadSource<R> {
    /// Read `reader` in blocks.
    pub fn new(reader: R) -> Self {
        ReadSource {
            reader,
            pool: Block::pool(),
        }
    }
}

impl<R: Read + Send + 'static> BlockSource for ReadSource<R> {
    fn next_block(&mut self) -> std::io::Result<Block> {
        let mut block = Block::new(&self.pool);
        block.fill_from(&mut self.reader)?;
        Ok(block)
    }
}

/// Hashes the examiner expects (from the imaging tool's acquisition log).
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Expected SHA-256.
    pub sha256: Option<Sha256Hash>,
    /// Expected SHA-1 (20 bytes).
    pub sha1: Option<[u8; 20]>,
    /// Expected MD5 (16 bytes).
    pub md5: Option<[u8; 16]>,
}

/// What to ingest.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    /// The file.
    pub path: PathBuf,
    /// The case it belongs to (created on first use in local mode).
    pub case: CaseName,
    /// Free-text description.
    pub description: Option<String>,
    /// Expected hashes.
    pub expect: Expected,
    /// Compute MD5 and SHA-1 even when none is expected.
    pub legacy_hashes: bool,
    /// Who ingests.
    pub actor: Actor,
    /// The examiner's stated acquisition tool.
    pub tool: Option<String>,
    /// The examiner's stated acquisition method.
    pub method: Option<String>,
}

/// The acknowledgement of a durable ingest.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// The item (an existing one when the case already held the same content).
    pub item: ItemId,
    /// The case.
    pub case: CaseName,
    /// Plaintext SHA-256: the evidence identity.
    pub sha256: Sha256Hash,
    /// SHA-1 when computed.
    pub sha1: Option<[u8; 20]>,
    /// MD5 when computed.
    pub md5: Option<[u8; 16]>,
    /// Plaintext size.
    pub size: u64,
    /// True when the case already held this content (the ingest is recorded on that item).
    pub duplicate: bool,
    /// The custody receipt of the ingest event.
    pub receipt: Receipt,
}

/// Ingest errors.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The input file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Input {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The input is not a regular file.
    #[error("{path} is a directory, not a file; ingest one file at a time")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// An expected hash does not match; nothing was kept.
    #[error(
        "{algorithm} mismatch for {path}: expected {expected}, computed {actual}; nothing was kept (the rejection is logged as event {event})"
    )]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// md5, sha1 or sha256.
        algorithm: &'static str,
        /// What the examiner gave.
        expected: String,
        /// What the vault computed.
        actual: String,
        /// The ingest-rejected event's index.
        event: u64,
    },
    /// Storage failed; nothing was kept.
    #[error("{0}; nothing was kept")]
    Store(#[from] StoreError),
    /// The log failed; nothing was kept.
    #[error("{0}; nothing was kept")]
    Log(#[from] LogError),
    /// The database failed; nothing was kept.
    #[error("{0}; nothing was kept")]
    Db(#[from] DbError),
    /// An internal pipeline failure.
    #[error("ingest of {path} failed: {message}; nothing was kept")]
    Pipeline {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// Digests computed during the stream.
#[derive(Debug, Clone, Copy)]
struct Digests {
    sha256: Sha256Hash,
    sha1: Option<[u8; 20]>,
    md5: Option<[u8; 16]>,
    size: u64,
}

/// Ingest one file (see the module docs). On error nothing is visible and nothing is left
/// except, after a crash, a staging object that `custos audit --repair` removes.
pub async fn ingest(
    vault: &Vault,
    req: IngestRequest,
    progress: &Progress,
) -> Result<IngestOutcome, IngestError> {
    let input = |source| IngestError::Input {
        path: req.path.clone(),
        source,
    };
    let file = std::fs::File::open(&req.path).map_err(input)?;
    let meta = file.metadata().map_err(input)?;
    if meta.is_dir() {
        return Err(IngestError::NotAFile {
            path: req.path.clone(),
        });
    }
    progress.set_length(meta.len());
    ingest_source(vault, req, ReadSource::new(file), progress).await
}

/// Ingest whatever `source` yields (a file, or an HTTP request body). `req.path` names the
/// source in messages and gives the recorded file name. A read error (an upload cut off
/// midway) discards the object and is recorded as an `ingest-rejected` event, so a failed
/// ingest is itself part of the record.
pub async fn ingest_source<S: BlockSource>(
    vault: &Vault,
    req: IngestRequest,
    source: S,
    progress: &Progress,
) -> Result<IngestOutcome, IngestError> {
    let _ingest_lock = vault
        .shared_ingest_lock()
        .await
        .map_err(|e| IngestError::Pipeline {
            path: req.path.clone(),
            message: e.to_string(),
        })?;

    let object = ObjectId::random();
    let dek = DataKey::random();
    let db_path = vault.dir.join(db::DB_FILE);
    tokio::task::spawn_blocking(move || -> Result<(), DbError> {
        db::open(&db_path, false)?
            .execute(
                "INSERT INTO staging (object_id, started_at) VALUES (?1, ?2)",
                params![&object.0[..], db::now_micros()],
            )
            .doing("recording the staging object")?;
        Ok(())
    })
    .await
    .map_err(|_| IngestError::Pipeline {
        path: req.path.clone(),
        message: "the staging task failed".into(),
    })??;

    // Wrap before streaming: the sealer consumes the data key.
    let wrapped = custos_seal::wrap_data_key(vault.keys.current_master(), &object, &dek);
    let master_id = vault.keys.current_master().id().0;
    let streamed = stream_into_store(vault, &req, source, object, dek, progress).await;
    let digests = match streamed {
        Ok(d) => d,
        Err(e) => {
            discard(vault, object).await;
            if let IngestError::Input { source, .. } = &e {
                record_failed_read(vault, &req, source).await?;
            }
            return Err(e);
        }
    };
    if let Some(mismatch) = check_expected(&req.expect, &digests) {
        discard(vault, object).await;
        let (algorithm, expected, actual) = mismatch;
        let draft = EventDraft {
            actor: req.actor.clone(),
            action: Action::IngestRejected,
            case: Some(req.case.to_string()),
            item: None,
            reason: Some(format!("{algorithm} mismatch")),
            details: rejection_details(&req, &digests, algorithm, &expected, &actual),
        };
        let receipt = vault.sequencer.append(draft).await?;
        return Err(IngestError::HashMismatch {
            path: req.path.clone(),
            algorithm,
            expected,
            actual,
            event: receipt.index,
        });
    }
    let new_item = ItemId::random();
    let job_req = req.clone();
    let committed = vault
        .sequencer
        .submit(move |tx: &mut LogTx<'_>| {
            commit_item(
                tx, &job_req, &digests, object, new_item, master_id, &wrapped.0,
            )
        })
        .await;
    let ((item, duplicate), mut receipts) = match committed {
        Ok(v) => v,
        Err(e) => {
            discard(vault, object).await;
            return Err(e);
        }
    };
    if duplicate {
        // The case already holds this content: the new copy is not needed.
        discard(vault, object).await;
    }
    progress.finish();
    let receipt = receipts.pop().ok_or(LogError::Stopped)?;
    Ok(IngestOutcome {
        item,
        case: req.case,
        sha256: digests.sha256,
        sha1: digests.sha1,
        md5: digests.md5,
        size: digests.size,
        duplicate,
        receipt,
    })
}

/// Record an ingest that failed while reading its source (nothing was kept).
async fn record_failed_read(
    vault: &Vault,
    req: &IngestRequest,
    err: &std::io::Error,
) -> Result<(), IngestError> {
    let mut details = vec![("error".to_string(), Value::String(err.to_string()))];
    if let Some(n) = file_name(&req.path) {
        details.push(("file_name".into(), Value::String(n)));
    }
    let draft = EventDraft {
        actor: req.actor.clone(),
        action: Action::IngestRejected,
        case: Some(req.case.to_string()),
        item: None,
        reason: Some("source read failed".into()),
        details: Value::object(details),
    };
    vault.sequencer.append(draft).await?;
    Ok(())
}

/// Delete an unwanted object and its staging row (best effort: the audit finds what remains).
async fn discard(vault: &Vault, object: ObjectId) {
    if vault.store.delete(&object).await.is_ok() {
        let db_path = vault.dir.join(db::DB_FILE);
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(conn) = db::open(&db_path, false) {
                let _ = conn.execute("DELETE FROM staging WHERE object_id = ?1", [&object.0[..]]);
            }
        })
        .await;
    }
}

/// Inside the log transaction: create the case on first use, deduplicate within the case,
/// append the ingest event, and write the item and key rows.
fn commit_item(
    tx: &mut LogTx<'_>,
    req: &IngestRequest,
    d: &Digests,
    object: ObjectId,
    new_item: ItemId,
    master_id: u32,
    wrapped: &[u8; 60],
) -> Result<(ItemId, bool), IngestError> {
    let now = db::now_micros();
    tx.tx
        .execute(
            "INSERT OR IGNORE INTO cases (name, created_at) VALUES (?1, ?2)",
            params![req.case.as_str(), now],
        )
        .doing("creating the case")?;
    let case_id: i64 = tx
        .tx
        .query_row(
            "SELECT id FROM cases WHERE name = ?1",
            [req.case.as_str()],
            |r| r.get(0),
        )
        .doing("reading the case")?;
    let existing: Option<String> = tx
        .tx
        .query_row(
            "SELECT id FROM items WHERE case_id = ?1 AND sha256 = ?2",
            params![case_id, &d.sha256.0[..]],
            |r| r.get(0),
        )
        .optional()
        .doing("looking for the same content in the case")?;
    let (item, duplicate) = match existing {
        Some(id) => (
            ItemId::parse(&id).map_err(|e| LogError::Damaged {
                message: e.to_string(),
            })?,
            true,
        ),
        None => (new_item, false),
    };
    let mut details = ingest_details(req, d);
    details.push(("object".into(), Value::String(object.to_hex())));
    if duplicate {
        details.push(("duplicate".into(), Value::Bool(true)));
    }
    let ev = tx.append(EventDraft {
        actor: req.actor.clone(),
        action: Action::Ingest,
        case: Some(req.case.to_string()),
        item: Some(ItemRef {
            id: item.to_string(),
            sha256: d.sha256,
        }),
        reason: None,
        details: Value::object(details),
    })?;
    if !duplicate {
        tx.tx
            .execute(
                "INSERT INTO object_keys (object_id, master_key_id, wrapped) VALUES (?1, ?2, ?3)",
                params![&object.0[..], master_id, &wrapped[..]],
            )
            .doing("storing the wrapped data key")?;
        tx.tx
            .execute(
                "INSERT INTO items (id, case_id, sha256, sha1, md5, size, object_id, segment_size, description,
                                    original_name, custodian, created_at, ingest_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    item.as_str(),
                    case_id,
                    &d.sha256.0[..],
                    d.sha1.as_ref().map(|h| &h[..]),
                    d.md5.as_ref().map(|h| &h[..]),
                    d.size as i64,
                    &object.0[..],
                    SEGMENT_SIZE,
                    req.description.as_deref(),
                    file_name(&req.path),
                    req.actor.name.as_str(),
                    now,
                    ev.seq as i64
                ],
            )
            .doing("storing the item")?;
        tx.tx
            .execute("DELETE FROM staging WHERE object_id = ?1", [&object.0[..]])
            .doing("clearing the staging row")?;
    }
    Ok((item, duplicate))
}

fn file_name(p: &Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// The ingest event's details (documented in docs/FORMATS.md, "Event details").
fn ingest_details(req: &IngestRequest, d: &Digests) -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = vec![
        ("size".into(), Value::Int(d.size as i64)),
        ("sha256".into(), Value::String(d.sha256.to_hex())),
    ];
    if let Some(h) = d.sha1 {
        v.push(("sha1".into(), Value::String(hex::encode(h))));
    }
    if let Some(h) = d.md5 {
        v.push(("md5".into(), Value::String(hex::encode(h))));
    }
    let mut expected = Vec::new();
    if let Some(h) = req.expect.sha256 {
        expected.push(("sha256".to_string(), Value::String(h.to_hex())));
    }
    if let Some(h) = req.expect.sha1 {
        expected.push(("sha1".to_string(), Value::String(hex::encode(h))));
    }
    if let Some(h) = req.expect.md5 {
        expected.push(("md5".to_string(), Value::String(hex::encode(h))));
    }
    if !expected.is_empty() {
        v.push(("expected".into(), Value::object(expected)));
    }
    for (k, val) in [
        ("tool", &req.tool),
        ("method", &req.method),
        ("description", &req.description),
    ] {
        if let Some(s) = val {
            v.push((k.into(), Value::String(s.clone())));
        }
    }
    if let Some(n) = file_name(&req.path) {
        v.push(("file_name".into(), Value::String(n)));
    }
    v
}

fn rejection_details(
    req: &IngestRequest,
    d: &Digests,
    algorithm: &str,
    expected: &str,
    actual: &str,
) -> Value {
    let mut v = ingest_details(req, d);
    v.push((
        "mismatch".into(),
        Value::object(vec![
            ("algorithm", Value::String(algorithm.into())),
            ("expected", Value::String(expected.into())),
            ("actual", Value::String(actual.into())),
        ]),
    ));
    Value::object(v)
}

fn check_expected(e: &Expected, d: &Digests) -> Option<(&'static str, String, String)> {
    if let Some(x) = e.sha256
        && x != d.sha256
    {
        return Some(("sha256", x.to_hex(), d.sha256.to_hex()));
    }
    if let (Some(x), Some(got)) = (e.sha1, d.sha1)
        && x != got
    {
        return Some(("sha1", hex::encode(x), hex::encode(got)));
    }
    if let (Some(x), Some(got)) = (e.md5, d.md5)
        && x != got
    {
        return Some(("md5", hex::encode(x), hex::encode(got)));
    }
    None
}

/// Read, hash, seal and upload; returns the digests once the object is durably written.
async fn stream_into_store<S: BlockSource>(
    vault: &Vault,
    req: &IngestRequest,
    source: S,
    object: ObjectId,
    dek: DataKey,
    progress: &Progress,
) -> Result<Digests, IngestError> {
    let want_legacy = req.legacy_hashes || req.expect.sha1.is_some() || req.expect.md5.is_some();
    let path = req.path.clone();
    let pipeline = |message: String| IngestError::Pipeline {
        path: path.clone(),
        message,
    };

    let mut sealer = ObjectSealer::new(dek, object).map_err(|e| pipeline(e.to_string()))?;
    let mut upload = vault.store.begin_upload(object).await?;
    // The chain: reader -> SHA-256 [-> SHA-1 -> MD5] -> sealer -> upload.
    let (first_tx, first_rx) = sync_channel::<Stage>(2);
    let (tx, mut to_sealer) = sync_channel::<Stage>(2);
    let sha256 = std::thread::spawn(move || hash_stage::<sha2::Sha256>(first_rx, tx));
    let legacy = if want_legacy {
        let (tx1, rx1) = sync_channel::<Stage>(2);
        let (tx2, rx2) = sync_channel::<Stage>(2);
        let from_sha256 = std::mem::replace(&mut to_sealer, rx2);
        Some((
            std::thread::spawn(move || hash_stage::<sha1::Sha1>(from_sha256, tx1)),
            std::thread::spawn(move || hash_stage::<md5::Md5>(rx1, tx2)),
        ))
    } else {
        None
    };
    // The sealer hands each sealed block to the upload itself (`block_on` from its own thread:
    // the local store's writer thread receives it directly; S3 part uploads run on the
    // runtime), so no block passes through an async task on its way to storage.
    let runtime = tokio::runtime::Handle::current();
    let (sealed_tx, sealed_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        // A panic is caught so the upload still comes back to be aborted (an S3 multipart
        // upload is not left behind).
        let stop = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for (block, last) in to_sealer {
                let sealed = block
                    .seal(&mut sealer, last)
                    .map_err(|e| SealStop::Seal(e.to_string()))?;
                runtime
                    .block_on(upload.put(sealed))
                    .map_err(SealStop::Store)?;
            }
            Ok(())
        }))
        .unwrap_or_else(|_| Err(SealStop::Seal("the sealer thread panicked".into())));
        // Dropping the receiver (on a stop) stops the stages before it.
        let _ = sealed_tx.send((upload, stop.err()));
    });
    let counter = progress.counter();
    let reader = std::thread::spawn(move || read_blocks(source, first_tx, counter));

    let sealed = sealed_rx.await;
    let read_res = tokio::task::spawn_blocking(move || reader.join()).await;
    let read_res = match read_res {
        Ok(Ok(r)) => r,
        _ => Err(std::io::Error::other("reader thread failed")),
    };
    let (upload, stop) = sealed.map_err(|_| pipeline("sealer thread failed".into()))?;
    let failure = match (stop, read_res) {
        (Some(SealStop::Store(e)), _) => Some(IngestError::Store(e)),
        (_, Err(source)) => Some(IngestError::Input {
            path: req.path.clone(),
            source,
        }),
        (Some(SealStop::Seal(m)), Ok(())) => Some(pipeline(m)),
        (None, Ok(())) => None,
    };
    if let Some(e) = failure {
        upload.abort().await;
        return Err(e);
    }
    upload.finish().await?;
    let (sha256, size) = sha256
        .join()
        .map_err(|_| pipeline("hasher thread failed".into()))?;
    let (sha1, md5) = match legacy {
        Some((s1, m5)) => {
            let (s1, _) = s1
                .join()
                .map_err(|_| pipeline("hasher thread failed".into()))?;
            let (m5, _) = m5
                .join()
                .map_err(|_| pipeline("hasher thread failed".into()))?;
            (
                Some(s1.try_into().expect("sha1 is 20 bytes")),
                Some(m5.try_into().expect("md5 is 16 bytes")),
            )
        }
        None => (None, None),
    };
    Ok(Digests {
        sha256: Sha256Hash(sha256.try_into().expect("sha256 is 32 bytes")),
        sha1,
        md5,
        size,
    })
}

/// A block and whether it is the object's last.
type Stage = (Block, bool);

/// Why the sealer stopped before the end.
enum SealStop {
    /// Sealing failed.
    Seal(String),
    /// The store refused a block.
    Store(StoreError),
}

/// Hash every block received and pass it on; returns the digest and the byte count.
fn hash_stage<D: Digest>(rx: Receiver<Stage>, next: SyncSender<Stage>) -> (Vec<u8>, u64) {
    let mut h = D::new();
    let mut n = 0u64;
    for (block, last) in rx {
        n += block.len() as u64;
        for segment in block.segments() {
            h.update(segment);
        }
        // The rest of the chain stopped: the ingest fails there, and this digest is unused.
        if next.send((block, last)).is_err() {
            break;
        }
    }
    (h.finalize().to_vec(), n)
}

/// Pass the source's blocks on, with one block of look-ahead so the last block is flagged.
fn read_blocks<S: BlockSource>(
    mut source: S,
    first: SyncSender<Stage>,
    counter: indicatif::ProgressBar,
) -> std::io::Result<()> {
    let mut pending = source.next_block()?;
    loop {
        let next = if pending.is_full() {
            Some(source.next_block()?)
        } else {
            None
        };
        let last = next.as_ref().is_none_or(Block::is_empty);
        counter.inc(pending.len() as u64);
        first
            .send((pending, last))
            .map_err(|_| std::io::Error::other("hasher stopped"))?;
        match next {
            Some(block) if !last => pending = block,
            _ => return Ok(()),
        }
    }
}
