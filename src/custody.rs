//! The custody log: appending signed events to the RFC 6962 tree in SQLite, signing C2SP
//! checkpoints, and reading events and proofs back.
//!
//! Appends go through the [`Sequencer`]: one thread that owns the write connection, takes the
//! vault's sequencer lock file, and commits many concurrent appends in one transaction with one
//! fsync and one checkpoint signature (group commit). A helper thread signs the batch's events
//! meanwhile (an event's signature is not part of any hash), so signing uses the second core. A log never signs two inconsistent
//! checkpoints because every append happens under that single exclusive lock, and the tree state
//! is re-read from the database whenever another process has appended since.

use crate::db::{self, DbError, SqlContext};
use custos_core::Sha256Hash;
use custos_core::checkpoint::Checkpoint;
use custos_core::event::{self, Action, Actor, Event, ItemRef, Timestamp};
use custos_core::jcs;
use custos_core::merkle::{self, Frontier, NodeSource};
use custos_core::note::NoteSigner;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// Most appends committed in one transaction.
pub const MAX_BATCH: usize = 512;

/// Errors of the custody log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Database failure (the append was not made).
    #[error(transparent)]
    Db(#[from] DbError),
    /// The sequencer lock could not be taken.
    #[error("cannot take the sequencer lock {path}: {message}")]
    Lock {
        /// Lock file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Another process held the sequencer lock for too long.
    #[error(
        "another custos process has held the log's sequencer lock {path} for {secs} s; retry when it finishes"
    )]
    LockTimeout {
        /// Lock file.
        path: PathBuf,
        /// Seconds waited.
        secs: u64,
    },
    /// A stored tree node or event is not what the log needs to continue.
    #[error("the custody log is damaged ({message}); run `custos audit` and restore from backup")]
    Damaged {
        /// What is wrong.
        message: String,
    },
    /// Signing failed.
    #[error("signing failed: {message}")]
    Sign {
        /// Why.
        message: String,
    },
    /// The event is not valid (e.g. an empty or control-character field); nothing was appended.
    #[error("refusing to append an invalid {action} event: {message}")]
    InvalidEvent {
        /// The event's action.
        action: String,
        /// What is wrong.
        message: String,
    },
    /// The group commit this append was part of failed (the first job got the cause).
    #[error("the append could not be committed ({message}); nothing was appended")]
    BatchFailed {
        /// The cause.
        message: String,
    },
    /// The sequencer thread is gone.
    #[error("the custody log's sequencer stopped; nothing was appended")]
    Stopped,
}

/// What a caller asks to record; the log fills in seq, time, salt and chain hashes.
#[derive(Debug, Clone)]
pub struct EventDraft {
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: Action,
    /// Which case, if any.
    pub case: Option<String>,
    /// Which item, if any.
    pub item: Option<ItemRef>,
    /// The stated reason or purpose.
    pub reason: Option<String>,
    /// Action-specific details (a JCS object).
    pub details: jcs::Value,
}

/// An event as appended.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Leaf index.
    pub seq: u64,
    /// Leaf hash of the canonical bytes.
    pub hash: Sha256Hash,
    /// The event.
    pub event: Event,
}

/// Proof that an event is in the log: what an acknowledgement carries.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Leaf index of the event.
    pub index: u64,
    /// RFC 6962 leaf hash of the event's canonical bytes.
    pub leaf_hash: Sha256Hash,
    /// The signed checkpoint (C2SP note text) covering the event.
    pub checkpoint: String,
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// Inclusion proof of the leaf in that checkpoint's tree.
    pub inclusion_proof: Vec<Sha256Hash>,
}

impl Receipt {
    /// The receipt as JSON for `--json` output and the HTTP API.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "index": self.index,
            "leaf_hash": self.leaf_hash.to_base64(),
            "tree_size": self.tree_size,
            "checkpoint": self.checkpoint,
            "inclusion_proof": self.inclusion_proof.iter().map(Sha256Hash::to_base64).collect::<Vec<_>>(),
        })
    }
}

/// Stored tree nodes read through a connection or transaction.
pub struct SqlNodes<'c>(pub &'c Connection);

impl NodeSource for SqlNodes<'_> {
    type Error = rusqlite::Error;
    fn node(&self, level: u8, index: u64) -> Result<Sha256Hash, Self::Error> {
        let mut st = self
            .0
            .prepare_cached("SELECT hash FROM tree_nodes WHERE level = ?1 AND idx = ?2")?;
        let bytes: Vec<u8> = st.query_row(params![level, index as i64], |r| r.get(0))?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            rusqlite::Error::InvalidColumnType(0, "hash".into(), rusqlite::types::Type::Blob)
        })?;
        Ok(Sha256Hash(arr))
    }
}

/// The log's identity and clock, as configured.
#[derive(Clone)]
pub struct LogIdentity {
    /// Checkpoint origin and key name.
    pub origin: String,
    /// Stated clock source.
    pub clock: String,
    /// The log's signing key.
    pub signer: Arc<NoteSigner>,
}

/// Current size and frontier of the tree, and the last event hash.
#[derive(Clone)]
struct TreeState {
    frontier: Frontier,
    last_hash: Option<Sha256Hash>,
}

fn load_state(conn: &Connection) -> Result<TreeState, LogError> {
    let size: u64 = conn
        .query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM events", [], |r| {
            r.get::<_, i64>(0)
        })
        .doing("reading the log size")? as u64;
    let frontier = Frontier::load(&SqlNodes(conn), size).map_err(|e| LogError::Damaged {
        message: format!("tree nodes for size {size} unreadable: {e:?}"),
    })?;
    let last_hash = if size == 0 {
        None
    } else {
        let h: Vec<u8> = conn
            .query_row(
                "SELECT hash FROM events WHERE seq = ?1",
                [size as i64 - 1],
                |r| r.get(0),
            )
            .doing("reading the last event")?;
        Some(Sha256Hash(h.try_into().map_err(|_| LogError::Damaged {
            message: "last event hash".into(),
        })?))
    };
    Ok(TreeState {
        frontier,
        last_hash,
    })
}

/// A log transaction handed to sequencer jobs: append events, write related rows.
pub struct LogTx<'a> {
    /// The open write transaction (for the job's own rows).
    pub tx: &'a Transaction<'a>,
    id: &'a LogIdentity,
    state: &'a mut TreeState,
    signer: &'a mut EventSigner,
    appended: Vec<Appended>,
}

/// A stand-in for an event's signature until the batch collects it from the [`EventSigner`];
/// never committed (see `commit_batch`).
const UNSIGNED: [u8; 64] = [0; 64];

/// Signs the batch's events on a helper thread (the second core) while the sequencer goes on:
/// the signature is not part of the leaf hash, the chains or the tree, so nothing in the batch
/// waits for it. Each event row is inserted with [`UNSIGNED`] and gets its signature before
/// the batch commits, in the same transaction: no row is ever committed unsigned.
struct EventSigner {
    requests: mpsc::Sender<(u64, Vec<u8>)>,
    results: mpsc::Receiver<(u64, [u8; 64])>,
    next_id: u64,
    /// Requests sent whose result has not been received.
    outstanding: u64,
    /// `(seq, request id)` of the batch's events, in order; truncated when a job rolls back.
    pending: Vec<(u64, u64)>,
}

impl EventSigner {
    fn start(signer: Arc<NoteSigner>) -> Result<Self, LogError> {
        let (requests, work) = mpsc::channel::<(u64, Vec<u8>)>();
        let (done, results) = mpsc::channel();
        std::thread::Builder::new()
            .name("custos-signer".into())
            .spawn(move || {
                for (id, bytes) in work {
                    let sig = event::sign_event(signer.signing_key(), &bytes);
                    if done.send((id, sig)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| LogError::Sign {
                message: format!("cannot start the signing thread: {e}"),
            })?;
        Ok(EventSigner {
            requests,
            results,
            next_id: 0,
            outstanding: 0,
            pending: Vec::new(),
        })
    }

    fn stopped() -> LogError {
        LogError::Sign {
            message: "the signing thread stopped".into(),
        }
    }

    /// Start a batch: drop what a failed batch left (its late results included).
    fn begin_batch(&mut self) -> Result<(), LogError> {
        while self.outstanding > 0 {
            self.results.recv().map_err(|_| Self::stopped())?;
            self.outstanding -= 1;
        }
        self.pending.clear();
        Ok(())
    }

    /// Have the canonical bytes of event `seq` signed.
    fn submit(&mut self, seq: u64, bytes: Vec<u8>) -> Result<(), LogError> {
        let id = self.next_id;
        self.requests
            .send((id, bytes))
            .map_err(|_| Self::stopped())?;
        self.next_id += 1;
        self.outstanding += 1;
        self.pending.push((seq, id));
        Ok(())
    }

    /// The signatures of the batch's events that were not rolled back, as `(seq, signature)`.
    fn finish_batch(&mut self) -> Result<Vec<(u64, [u8; 64])>, LogError> {
        let mut by_id = std::collections::HashMap::with_capacity(self.pending.len());
        while self.outstanding > 0 {
            let (id, sig) = self.results.recv().map_err(|_| Self::stopped())?;
            self.outstanding -= 1;
            by_id.insert(id, sig);
        }
        self.pending
            .drain(..)
            .map(|(seq, id)| {
                by_id
                    .get(&id)
                    .map(|sig| (seq, *sig))
                    .ok_or_else(Self::stopped)
            })
            .collect()
    }
}

impl LogTx<'_> {
    /// Append one event.
    pub fn append(&mut self, draft: EventDraft) -> Result<Appended, LogError> {
        let seq = self.state.frontier.size();
        let item_prev = match &draft.item {
            Some(item) => self
                .tx
                // `+?1`, not `?1`: with a bare parameter compared to the column of the partial
                // index `events_by_item`, SQLite's plan depends on the bound value and it
                // re-prepares the statement at every call (docs/PERFORMANCE.md, "Custody log").
                // The unary `+` keeps the same index without that.
                .prepare_cached(
                    "SELECT hash FROM events WHERE item_id = +?1 ORDER BY seq DESC LIMIT 1",
                )
                .and_then(|mut st| {
                    st.query_row([&item.id], |r| r.get::<_, Vec<u8>>(0))
                        .optional()
                })
                .doing("reading the item's last event")?
                .map(|h| {
                    h.try_into().map(Sha256Hash).map_err(|_| LogError::Damaged {
                        message: "item event hash".into(),
                    })
                })
                .transpose()?,
            None => None,
        };
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| LogError::Sign {
            message: e.to_string(),
        })?;
        let ev = Event {
            seq,
            time: Timestamp::from_unix_micros(db::now_micros()).map_err(|e| LogError::Sign {
                message: format!("system clock out of range: {e}"),
            })?,
            clock: self.id.clock.clone(),
            log: self.id.origin.clone(),
            actor: draft.actor,
            action: draft.action,
            case: draft.case,
            item: draft.item,
            reason: draft.reason,
            details: draft.details,
            salt,
            prev: self.state.last_hash,
            item_prev,
            extra: Vec::new(),
        };
        // Never sign what a verifier would refuse to parse.
        let bytes = ev
            .to_canonical_bytes_checked()
            .map_err(|e| LogError::InvalidEvent {
                action: ev.action.as_str().to_string(),
                message: e.to_string(),
            })?;
        let hash = merkle::leaf_hash(&bytes);
        self.signer.submit(seq, bytes.clone())?;
        self.tx
            .prepare_cached(
                "INSERT INTO events (seq, bytes, signature, hash, item_id, case_name, action)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    seq as i64,
                    bytes,
                    &UNSIGNED[..],
                    &hash.0[..],
                    ev.item.as_ref().map(|i| i.id.as_str()),
                    ev.case.as_deref(),
                    ev.action.as_str()
                ])
            })
            .doing("inserting an event")?;
        let mut st = self
            .tx
            .prepare_cached("INSERT INTO tree_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .doing("inserting tree nodes")?;
        for (level, idx, h) in self.state.frontier.push(hash) {
            st.execute(params![level, idx as i64, &h.0[..]])
                .doing("inserting tree nodes")?;
        }
        self.state.last_hash = Some(hash);
        let a = Appended {
            seq,
            hash,
            event: ev,
        };
        self.appended.push(a.clone());
        Ok(a)
    }
}

/// A unit of work for the sequencer: runs inside the batch transaction.
trait Job: Send {
    fn run(&mut self, tx: &mut LogTx<'_>) -> bool;
    fn complete(self: Box<Self>, outcome: Result<Vec<Receipt>, LogError>);
}

struct TypedJob<F, R, E> {
    f: Option<F>,
    out: Option<Result<R, E>>,
    reply: tokio::sync::oneshot::Sender<Result<(R, Vec<Receipt>), E>>,
}

impl<F, R, E> Job for TypedJob<F, R, E>
where
    F: FnOnce(&mut LogTx<'_>) -> Result<R, E> + Send,
    R: Send,
    E: From<LogError> + Send,
{
    fn run(&mut self, tx: &mut LogTx<'_>) -> bool {
        let r = (self.f.take().expect("a job runs once"))(tx);
        let ok = r.is_ok();
        self.out = Some(r);
        ok
    }
    fn complete(self: Box<Self>, outcome: Result<Vec<Receipt>, LogError>) {
        let res = match (self.out, outcome) {
            (Some(Err(e)), _) => Err(e),
            (_, Err(e)) => Err(E::from(e)),
            (Some(Ok(r)), Ok(receipts)) => Ok((r, receipts)),
            (None, Ok(_)) => Err(E::from(LogError::Stopped)),
        };
        let _ = self.reply.send(res);
    }
}

/// The single writer of the custody log (see the module docs).
#[derive(Clone)]
pub struct Sequencer {
    tx: mpsc::SyncSender<Box<dyn Job>>,
}

impl Sequencer {
    /// Start the sequencer thread on the database at `db_path`.
    pub fn start(db_path: &Path, lock_path: &Path, id: LogIdentity) -> Result<Self, LogError> {
        let conn = db::open(db_path, false)?;
        let (tx, rx) = mpsc::sync_channel::<Box<dyn Job>>(4 * MAX_BATCH);
        let lock_path = lock_path.to_owned();
        let signer = EventSigner::start(id.signer.clone())?;
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| LogError::Lock {
                path: lock_path.clone(),
                message: e.to_string(),
            })?;
        std::thread::Builder::new()
            .name("custos-sequencer".into())
            .spawn(move || run_sequencer(conn, lock_file, lock_path, id, signer, rx))
            .map_err(|e| LogError::Lock {
                path: PathBuf::new(),
                message: e.to_string(),
            })?;
        Ok(Sequencer { tx })
    }

    /// Run `f` in the next batch transaction and wait until that batch is durable and covered by a
    /// signed checkpoint. Returns `f`'s value and a receipt for each event it appended.
    pub async fn submit<F, R, E>(&self, f: F) -> Result<(R, Vec<Receipt>), E>
    where
        F: FnOnce(&mut LogTx<'_>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<LogError> + Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob {
            f: Some(f),
            out: None,
            reply,
        });
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(E::from(LogError::Stopped)),
            // The queue is full (back-pressure): wait for room off the async worker threads.
            Err(mpsc::TrySendError::Full(job)) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || tx.send(job).is_ok())
                    .await
                    .ok()
                    .filter(|&sent| sent)
                    .ok_or_else(|| E::from(LogError::Stopped))?;
            }
        }
        rx.await.map_err(|_| E::from(LogError::Stopped))?
    }

    /// Append a single event (no related rows).
    pub async fn append(&self, draft: EventDraft) -> Result<Receipt, LogError> {
        let ((), mut r) = self
            .submit(move |tx: &mut LogTx<'_>| tx.append(draft).map(|_| ()))
            .await?;
        r.pop().ok_or(LogError::Stopped)
    }
}

fn run_sequencer(
    mut conn: Connection,
    lock_file: std::fs::File,
    lock_path: PathBuf,
    id: LogIdentity,
    mut signer: EventSigner,
    rx: mpsc::Receiver<Box<dyn Job>>,
) {
    let mut cached: Option<(u64, TreeState)> = None;
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let outcome = lock(&lock_file, &lock_path).and_then(|()| {
            let r = commit_batch(&mut conn, &id, &mut signer, &mut cached, &mut jobs);
            let _ = lock_file.unlock();
            r
        });
        match outcome {
            Ok(receipts) => {
                for (job, r) in jobs.into_iter().zip(receipts) {
                    job.complete(Ok(r));
                }
            }
            Err(e) => {
                cached = None;
                let msg = e.to_string();
                let mut first_err = Some(e);
                for job in jobs {
                    let err = first_err.take().unwrap_or_else(|| LogError::BatchFailed {
                        message: msg.clone(),
                    });
                    job.complete(Err(err));
                }
            }
        }
    }
}

/// Take the sequencer lock, waiting up to [`db::lock_timeout`] for another process.
fn lock(file: &std::fs::File, path: &Path) -> Result<(), LogError> {
    let start = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LogError::Lock {
                    path: path.to_owned(),
                    message: e.to_string(),
                });
            }
        }
        let limit = db::lock_timeout();
        if start.elapsed() > limit {
            return Err(LogError::LockTimeout {
                path: path.to_owned(),
                secs: limit.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One group commit: every job in a savepoint, one checkpoint, one fsync.
fn commit_batch(
    conn: &mut Connection,
    id: &LogIdentity,
    signer: &mut EventSigner,
    cached: &mut Option<(u64, TreeState)>,
    jobs: &mut [Box<dyn Job>],
) -> Result<Vec<Vec<Receipt>>, LogError> {
    signer.begin_batch()?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .doing("starting an append")?;
    let size: u64 = tx
        .query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM events", [], |r| {
            r.get::<_, i64>(0)
        })
        .doing("reading the log size")? as u64;
    let mut state = match cached.take() {
        Some((n, st)) if n == size => st,
        _ => load_state(&tx)?,
    };
    let mut per_job: Vec<Vec<Appended>> = Vec::with_capacity(jobs.len());
    // One savepoint per job, released before the next, so one name serves them all and the
    // statements are prepared once (not parsed again for every job).
    let savepoint = |sql: &str, doing: &'static str| {
        tx.prepare_cached(sql)
            .and_then(|mut st| st.execute([]))
            .doing(doing)
    };
    for job in jobs.iter_mut() {
        savepoint("SAVEPOINT custos_job", "starting a savepoint")?;
        let before = state.clone();
        let signing = signer.pending.len();
        let mut ltx = LogTx {
            tx: &tx,
            id,
            state: &mut state,
            signer,
            appended: Vec::new(),
        };
        let ok = job.run(&mut ltx);
        let appended = std::mem::take(&mut ltx.appended);
        if ok {
            savepoint("RELEASE custos_job", "releasing a savepoint")?;
            per_job.push(appended);
        } else {
            savepoint("ROLLBACK TO custos_job", "rolling back a job")?;
            savepoint("RELEASE custos_job", "rolling back a job")?;
            state = before;
            signer.pending.truncate(signing);
            per_job.push(Vec::new());
        }
    }
    // Every surviving event gets its signature before anything is committed.
    for (seq, sig) in signer.finish_batch()? {
        let updated = tx
            .prepare_cached("UPDATE events SET signature = ?1 WHERE seq = ?2")
            .and_then(|mut st| st.execute(params![&sig[..], seq as i64]))
            .doing("storing an event signature")?;
        if updated != 1 {
            return Err(LogError::Damaged {
                message: format!("event {seq} vanished before its signature was stored"),
            });
        }
    }
    let new_size = state.frontier.size();
    let mut receipts = Vec::with_capacity(jobs.len());
    if new_size > size {
        let cp = Checkpoint {
            origin: id.origin.clone(),
            size: new_size,
            root: state.frontier.root(),
            extensions: Vec::new(),
        };
        let note = cp
            .sign(&id.signer)
            .map_err(|e| LogError::Sign {
                message: e.to_string(),
            })?
            .to_string();
        tx.execute(
            "INSERT INTO checkpoints (size, note, created_at) VALUES (?1, ?2, ?3)",
            params![new_size as i64, note, db::now_micros()],
        )
        .doing("storing the checkpoint")?;
        let nodes = SqlNodes(&tx);
        for appended in &per_job {
            let mut rs = Vec::with_capacity(appended.len());
            for a in appended {
                let proof = merkle::inclusion_proof(&nodes, a.seq, new_size).map_err(|e| {
                    LogError::Damaged {
                        message: format!("inclusion proof for {}: {e:?}", a.seq),
                    }
                })?;
                rs.push(Receipt {
                    index: a.seq,
                    leaf_hash: a.hash,
                    checkpoint: note.clone(),
                    tree_size: new_size,
                    inclusion_proof: proof,
                });
            }
            receipts.push(rs);
        }
    } else {
        receipts.resize_with(jobs.len(), Vec::new);
    }
    tx.commit().doing("committing the append")?;
    *cached = Some((new_size, state));
    Ok(receipts)
}

/// A stored event row.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Leaf index.
    pub seq: u64,
    /// Canonical bytes.
    pub bytes: Vec<u8>,
    /// Ed25519 signature.
    pub signature: Vec<u8>,
    /// Stored leaf hash.
    pub hash: Vec<u8>,
}

/// Events of the whole log (`item` = None) or of one item, in order.
pub fn read_events(conn: &Connection, item: Option<&str>) -> Result<Vec<StoredEvent>, DbError> {
    let map = |r: &rusqlite::Row<'_>| {
        Ok(StoredEvent {
            seq: r.get::<_, i64>(0)? as u64,
            bytes: r.get(1)?,
            signature: r.get(2)?,
            hash: r.get(3)?,
        })
    };
    match item {
        Some(id) => conn
            .prepare(
                "SELECT seq, bytes, signature, hash FROM events WHERE item_id = ?1 ORDER BY seq",
            )
            .and_then(|mut s| s.query_map([id], map)?.collect())
            .doing("reading the item's events"),
        None => conn
            .prepare("SELECT seq, bytes, signature, hash FROM events ORDER BY seq")
            .and_then(|mut s| s.query_map([], map)?.collect())
            .doing("reading events"),
    }
}

/// The latest signed checkpoint (note text), if any event exists.
pub fn latest_checkpoint(conn: &Connection) -> Result<Option<String>, DbError> {
    conn.query_row(
        "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .optional()
    .doing("reading the latest checkpoint")
}

/// Events with `from <= seq < to`, in order.
pub fn read_events_range(
    conn: &Connection,
    from: u64,
    to: u64,
) -> Result<Vec<StoredEvent>, DbError> {
    conn.prepare_cached(
        "SELECT seq, bytes, signature, hash FROM events WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
    )
    .and_then(|mut s| {
        s.query_map(params![from as i64, to as i64], stored_event)?
            .collect()
    })
    .doing("reading events")
}

/// At most `limit` events with `seq >= from`, in order: one page of a read of the whole log
/// that neither skips nor repeats a row where indices are missing.
pub fn read_events_page(
    conn: &Connection,
    from: u64,
    limit: u64,
) -> Result<Vec<StoredEvent>, DbError> {
    let from = i64::try_from(from).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT seq, bytes, signature, hash FROM events WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
    )
    .and_then(|mut s| s.query_map(params![from, limit], stored_event)?.collect())
    .doing("reading events")
}

/// A row of `SELECT seq, bytes, signature, hash FROM events`.
fn stored_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        seq: r.get::<_, i64>(0)? as u64,
        bytes: r.get(1)?,
        signature: r.get(2)?,
        hash: r.get(3)?,
    })
}
