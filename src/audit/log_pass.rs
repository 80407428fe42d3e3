//! The audit's log pass: every event, both chains, the recomputed tree against every stored
//! node and checkpoint, and checkpoint signatures, as a pipeline over chunks of events on both
//! cores (docs/ARCHITECTURE.md, "Audit").

use super::{AuditError, Finding, join};
use crate::custody::{SqlNodes, StoredEvent, read_events_page};
use crate::db::SqlContext;
use crate::progress::Progress;
use crate::vault::Vault;
use custos_core::Sha256Hash;
use custos_core::checkpoint::{self, Checkpoint};
use custos_core::event::{self, Action, Event};
use custos_core::jcs::Value;
use custos_core::merkle::{self, Frontier};
use custos_core::note::{Note, NoteVerifier};
use ed25519_dalek::{Signature, VerifyingKey};
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

/// An ingest event as the item pass needs it.
pub(super) struct IngestRecord {
    pub(super) seq: u64,
    pub(super) case: Option<String>,
    pub(super) sha256: Sha256Hash,
    pub(super) details: Value,
}

/// Ingest events by item id.
pub(super) type Ingests = HashMap<String, Vec<IngestRecord>>;

/// What the log pass learns for the item pass.
pub(super) struct LogSummary {
    pub(super) size: u64,
    pub(super) checkpoints: u64,
    /// Ingest events by item id: (seq, case, sha256, details).
    pub(super) ingests: Ingests,
}

/// Height of the subtree a chunk of events forms: chunks hold `2^CHUNK_LEVEL` (8,192) events.
/// A power of two, so every chunk starts at a tree size that is a multiple of it and its
/// leaves form whole subtrees that merge with nothing before them.
pub(super) const CHUNK_LEVEL: u8 = 13;
/// Signatures per Ed25519 batch after a whole chunk's batch failed: one bad signature then
/// sends only its own batch to one-by-one verification.
const SMALL_BATCH: usize = 1024;
/// Verifier threads (this machine class has two cores; the reader and the checker are light).
const VERIFIERS: usize = 2;

/// Events and checkpoint rows read for one chunk, as stored.
struct RawChunk {
    /// Tree size before the chunk's first event (a multiple of the chunk size).
    start: u64,
    /// Height of a full chunk's subtree.
    level: u8,
    /// Up to `2^level` events in index order; fewer only in the last chunk, none in the tail.
    events: Vec<StoredEvent>,
    /// `(size, note)` of the checkpoints whose size the chunk's events reach, in size order;
    /// in the tail (no events), the checkpoints beyond the log.
    checkpoints: Vec<(u64, String)>,
}

/// One event after the verifiers' work.
struct CheckedEvent {
    seq: u64,
    /// RFC 6962 leaf hash recomputed from the stored bytes.
    leaf: Sha256Hash,
    /// The stored hash equals `leaf`.
    hash_ok: bool,
    /// The signature verifies with the log key.
    signature_ok: bool,
    parsed: Result<Event, String>,
}

/// One checkpoint row after the verifiers' work.
struct CheckedCheckpoint {
    size: u64,
    /// The signed root, or why the row is not a valid checkpoint of this log.
    verdict: Result<Sha256Hash, String>,
    /// Root of the chunk's own events up to this size; `None` when the size is the chunk's
    /// start (or beyond the log).
    local_root: Option<Sha256Hash>,
}

/// A chunk after the verifiers' work.
struct CheckedChunk {
    events: Vec<CheckedEvent>,
    /// Perfect-subtree nodes completed inside the chunk below its full height, in completion
    /// order: `(level, hash)`, their index being the next one at that level.
    nodes: Vec<(u8, Sha256Hash)>,
    /// The hash of the whole chunk, when it is full.
    subtree: Option<Sha256Hash>,
    checkpoints: Vec<CheckedCheckpoint>,
}

/// The log pass, a pipeline over chunks of `2^chunk_level` events: a reader thread reads
/// events and checkpoints in one snapshot, two verifier threads take alternate chunks
/// (parsing, leaf hashes, subtree hashes, batched Ed25519 verification of events and
/// checkpoints), and this thread checks the chunks in order (chains, roots, nodes), holding
/// no checkpoint. The audit uses [`CHUNK_LEVEL`]; tests use small chunks.
pub(super) fn audit_log(
    vault: &Vault,
    conn: &Connection,
    reader_conn: Connection,
    progress: &Progress,
    chunk_level: u8,
) -> Result<(LogSummary, Vec<Finding>), AuditError> {
    let verifier = vault.keys.log.verifier();
    let origin = vault.config.vault.origin.as_str();
    let (max_seq, max_checkpoint): (Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT (SELECT MAX(seq) FROM events), (SELECT MAX(size) FROM checkpoints)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .doing("reading the log size")?;
    progress.set_length(max_seq.map_or(0, |m| (m as u64).saturating_add(1)));
    let bar = progress.counter();
    let mut pass = LogPass::new(origin, chunk_level, max_checkpoint.map(|m| m as u64));

    std::thread::scope(|s| -> Result<(), AuditError> {
        let mut inputs = Vec::with_capacity(VERIFIERS);
        let mut outputs = Vec::with_capacity(VERIFIERS);
        let mut verifiers = Vec::with_capacity(VERIFIERS);
        for _ in 0..VERIFIERS {
            let (in_tx, in_rx) = mpsc::sync_channel::<RawChunk>(1);
            let (out_tx, out_rx) = mpsc::sync_channel::<CheckedChunk>(1);
            let verifier = &verifier;
            verifiers.push(s.spawn(move || {
                for raw in in_rx {
                    if out_tx.send(check_chunk(verifier, origin, raw)).is_err() {
                        break;
                    }
                }
            }));
            inputs.push(in_tx);
            outputs.push(out_rx);
        }
        let reader = s.spawn(move || read_chunks(reader_conn, chunk_level, inputs));
        // Chunk k went to verifier k % VERIFIERS: take them back in order. A closed channel
        // means no further chunk (or a failed thread, reported below).
        let mut next = 0usize;
        while let Some(chunk) = outputs.get(next % VERIFIERS).and_then(|rx| rx.recv().ok()) {
            bar.inc(chunk.events.len() as u64);
            pass.absorb(chunk);
            next += 1;
        }
        // Unblock any thread still sending before waiting for it.
        drop(outputs);
        let read = join(reader, "log reader");
        for v in verifiers {
            join(v, "signature verifier")?;
        }
        read?
    })?;
    pass.finish(conn)
}

/// The reader thread: every chunk, then the tail, from one read transaction (one snapshot of
/// the log even while the vault appends).
fn read_chunks(
    mut conn: Connection,
    level: u8,
    verifiers: Vec<mpsc::SyncSender<RawChunk>>,
) -> Result<(), AuditError> {
    let chunk = 1u64 << level;
    let tx = conn.transaction().doing("starting the log read")?;
    let mut from_seq = 0u64;
    let mut more = true;
    // Tree size covered so far; `None` before the first chunk, so a size-0 checkpoint is read.
    let mut covered: Option<u64> = None;
    for index in 0usize.. {
        let events = if more {
            read_events_page(&tx, from_seq, chunk)?
        } else {
            Vec::new()
        };
        let start = covered.unwrap_or(0);
        let end = start + events.len() as u64;
        let last = events.last().map(|e| e.seq);
        let full = events.len() as u64 == chunk;
        let tail = events.is_empty();
        let checkpoints = read_checkpoints(&tx, covered, (!tail).then_some(end))?;
        let raw = RawChunk {
            start,
            level,
            events,
            checkpoints,
        };
        let Some(to) = verifiers.get(index % verifiers.len()) else {
            break;
        };
        if to.send(raw).is_err() {
            break; // the checker stopped: a thread failed, reported by the caller
        }
        if tail {
            break;
        }
        covered = Some(end);
        // After a short chunk (or at the largest possible index), only the tail is left.
        match last.and_then(|l| l.checked_add(1)) {
            Some(next) if full && i64::try_from(next).is_ok() => from_seq = next,
            _ => more = false,
        }
    }
    Ok(())
}

/// Checkpoint rows with `after < size <= upto` (`None`: unbounded), in size order.
fn read_checkpoints(
    conn: &Connection,
    after: Option<u64>,
    upto: Option<u64>,
) -> Result<Vec<(u64, String)>, AuditError> {
    let after = after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX));
    let upto = upto.map_or(i64::MAX, |u| i64::try_from(u).unwrap_or(i64::MAX));
    Ok(conn
        .prepare_cached(
            "SELECT size, note FROM checkpoints WHERE size > ?1 AND size <= ?2 ORDER BY size",
        )
        .and_then(|mut s| {
            s.query_map([after, upto], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })?
            .collect()
        })
        .doing("reading checkpoints")?)
}

/// A verifier thread's work on one chunk: everything that needs no other chunk.
fn check_chunk(verifier: &NoteVerifier, origin: &str, raw: RawChunk) -> CheckedChunk {
    let bad = bad_event_signatures(verifier.verifying_key(), &raw.events);
    let verdicts = open_checkpoints(verifier, origin, &raw.checkpoints);
    let mut cps = raw.checkpoints.iter().zip(verdicts).peekable();
    let mut checkpoints = Vec::with_capacity(raw.checkpoints.len());
    // A checkpoint at the chunk's start size (size 0, first chunk only).
    while let Some(((size, _), verdict)) = cps.next_if(|((size, _), _)| *size <= raw.start) {
        checkpoints.push(CheckedCheckpoint {
            size: *size,
            verdict,
            local_root: None,
        });
    }
    let mut tree = Frontier::new();
    let mut nodes = Vec::with_capacity(2 * raw.events.len());
    let mut subtree = None;
    let mut events = Vec::with_capacity(raw.events.len());
    for (i, row) in raw.events.iter().enumerate() {
        let leaf = merkle::leaf_hash(&row.bytes);
        for (level, _, hash) in tree.push(leaf) {
            if level < raw.level {
                nodes.push((level, hash));
            } else {
                subtree = Some(hash);
            }
        }
        let reached = raw.start + tree.size();
        while let Some(((size, _), verdict)) = cps.next_if(|((s, _), _)| *s == reached) {
            checkpoints.push(CheckedCheckpoint {
                size: *size,
                verdict,
                local_root: Some(tree.root()),
            });
        }
        events.push(CheckedEvent {
            seq: row.seq,
            leaf,
            hash_ok: row.hash == leaf.0,
            signature_ok: !bad.contains(&i),
            parsed: Event::from_canonical_bytes(&row.bytes).map_err(|e| e.to_string()),
        });
    }
    // The tail's checkpoints, beyond the log.
    checkpoints.extend(cps.map(|((size, _), verdict)| CheckedCheckpoint {
        size: *size,
        verdict,
        local_root: None,
    }));
    CheckedChunk {
        events,
        nodes,
        subtree,
        checkpoints,
    }
}

/// Indices of the events whose signature does not verify with the log key.
///
/// One Ed25519 batch over the whole chunk first: a larger batch costs fewer point additions
/// per signature (the multiscalar multiplication's buckets are shared by more points). Only if
/// it fails, `event::find_bad_signatures`: batches of 1,024, one by one inside a failing one,
/// so every bad signature is named.
fn bad_event_signatures(vk: &VerifyingKey, rows: &[StoredEvent]) -> HashSet<usize> {
    let signatures: Option<Vec<Signature>> = rows
        .iter()
        .map(|r| Signature::from_slice(&r.signature).ok())
        .collect();
    if let Some(signatures) = signatures {
        let messages: Vec<Vec<u8>> = rows
            .iter()
            .map(|r| event::signature_message(&r.bytes))
            .collect();
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        if batch_verifies(vk, &messages, &signatures) {
            return HashSet::new();
        }
    }
    let pairs: Vec<(&[u8], &[u8])> = rows
        .iter()
        .map(|r| (r.bytes.as_slice(), r.signature.as_slice()))
        .collect();
    event::find_bad_signatures(vk, &pairs).into_iter().collect()
}

/// Whether every signature verifies over its message with `vk`, as one Ed25519 batch
/// (`ed25519_dalek::verify_batch`). A batch accepts every signature `verify_strict` accepts;
/// the one difference (a genuine signature whose `R` was moved by a small-order point, which
/// changes no signed byte) is the one `event::verify_events_batch` documents. A weak key
/// never passes, as `verify_strict` refuses it.
fn batch_verifies(vk: &VerifyingKey, messages: &[&[u8]], signatures: &[Signature]) -> bool {
    if vk.is_weak() {
        return false;
    }
    messages.is_empty() || {
        let keys = vec![*vk; messages.len()];
        ed25519_dalek::verify_batch(messages, signatures, &keys).is_ok()
    }
}

/// Each checkpoint row's signed root, or why it is not a valid checkpoint of this log.
///
/// Notes that parse, carry well-formed log-key signature lines and a well-formed body have
/// those signatures verified in Ed25519 batches (see [`checkpoint_batches`]). A note that does
/// not, and every note of a batch that fails, goes through [`checkpoint::open_checkpoint`]
/// (strict verification, one by one), which names the exact fault.
fn open_checkpoints(
    verifier: &NoteVerifier,
    origin: &str,
    rows: &[(u64, String)],
) -> Vec<Result<Sha256Hash, String>> {
    let prepared: Vec<Option<(Note, Checkpoint)>> = rows
        .iter()
        .map(|(_, note)| prepare_checkpoint(verifier, note))
        .collect();
    let verified = checkpoint_batches(verifier, &prepared);
    rows.iter()
        .zip(prepared)
        .zip(verified)
        .map(|(((size, note), prepared), verified)| {
            let opened = match prepared {
                Some((_, cp)) if verified => Ok(cp),
                _ => checkpoint::open_checkpoint(note, verifier)
                    .map(|(cp, _)| cp)
                    .map_err(|e| e.to_string()),
            };
            match opened {
                Ok(cp) if cp.size != *size => Err(format!("body says size {}", cp.size)),
                Ok(cp) if cp.origin != origin => {
                    Err(format!("origin '{}' is not this log's", cp.origin))
                }
                Ok(cp) => Ok(cp.root),
                Err(message) => Err(message),
            }
        })
        .collect()
}

/// For each prepared note, whether its log-key signatures verified in a batch: all the
/// chunk's notes at once, then, if that fails, [`SMALL_BATCH`] at a time.
fn checkpoint_batches(
    verifier: &NoteVerifier,
    prepared: &[Option<(Note, Checkpoint)>],
) -> Vec<bool> {
    let verifies = |part: &[Option<(Note, Checkpoint)>]| {
        let mut messages: Vec<&[u8]> = Vec::new();
        let mut signatures = Vec::new();
        for (note, _) in part.iter().flatten() {
            for line in note.signatures.iter().filter(|l| verifier.matches(l)) {
                // 64 bytes, as `prepare_checkpoint` made sure.
                if let Ok(sig) = Signature::from_slice(&line.signature) {
                    messages.push(note.text.as_bytes());
                    signatures.push(sig);
                }
            }
        }
        batch_verifies(verifier.verifying_key(), &messages, &signatures)
    };
    if verifies(prepared) {
        return prepared.iter().map(Option::is_some).collect();
    }
    prepared
        .chunks(SMALL_BATCH)
        .flat_map(|part| {
            let ok = verifies(part);
            part.iter().map(move |p| ok && p.is_some())
        })
        .collect()
}

/// The note and body of a checkpoint that can take the batched path: it parses, has at least
/// one signature line of the log key, every such line holds a 64-byte signature, and the body
/// parses. `None` sends it to the one-by-one path.
fn prepare_checkpoint(verifier: &NoteVerifier, note: &str) -> Option<(Note, Checkpoint)> {
    let note = Note::parse(note).ok()?;
    let mut ours = note.signatures.iter().filter(|l| verifier.matches(l));
    let first = ours.next()?;
    if first.signature.len() != 64 || ours.any(|l| l.signature.len() != 64) {
        return None;
    }
    let cp = Checkpoint::parse_text(&note.text).ok()?;
    Some((note, cp))
}

/// The checker's state, carried from chunk to chunk in log order.
struct LogPass<'a> {
    origin: &'a str,
    /// Height of a full chunk's subtree.
    chunk_level: u8,
    findings: Vec<Finding>,
    /// Events seen (the recomputed tree's size).
    size: u64,
    /// The tree over whole chunks: its leaves are chunk subtree hashes, so its frontier is the
    /// frontier of the whole tree at every chunk start.
    chunks: Frontier,
    /// Every perfect-subtree node recomputed from the events, by level then index.
    recomputed: Vec<Vec<Sha256Hash>>,
    prev: Option<Sha256Hash>,
    item_last: HashMap<String, Sha256Hash>,
    ingests: Ingests,
    expected_seq: u64,
    /// Checkpoint rows seen.
    checkpoints: u64,
    /// Largest valid checkpoint size.
    latest_valid: Option<u64>,
    sample: ConsistencySample,
}

impl<'a> LogPass<'a> {
    fn new(origin: &'a str, chunk_level: u8, max_checkpoint: Option<u64>) -> Self {
        LogPass {
            origin,
            chunk_level,
            findings: Vec::new(),
            size: 0,
            chunks: Frontier::new(),
            recomputed: Vec::new(),
            prev: None,
            item_last: HashMap::new(),
            ingests: HashMap::new(),
            expected_seq: 0,
            checkpoints: 0,
            latest_valid: None,
            sample: ConsistencySample::new(max_checkpoint),
        }
    }

    /// Check the next chunk, in log order.
    fn absorb(&mut self, chunk: CheckedChunk) {
        for ev in chunk.events {
            self.event(ev);
        }
        for (level, hash) in chunk.nodes {
            self.node(level, hash);
        }
        for cp in chunk.checkpoints {
            self.checkpoint(cp);
        }
        if let Some(subtree) = chunk.subtree {
            for (level, _, hash) in self.chunks.push(subtree) {
                self.node(level.saturating_add(self.chunk_level), hash);
            }
        }
    }

    fn node(&mut self, level: u8, hash: Sha256Hash) {
        let l = usize::from(level);
        if self.recomputed.len() <= l {
            self.recomputed.resize_with(l + 1, Vec::new);
        }
        self.recomputed[l].push(hash);
    }

    fn event(&mut self, ev: CheckedEvent) {
        let seq = ev.seq;
        if seq != self.expected_seq {
            self.findings.push(Finding::EventMissing {
                from: self.expected_seq,
                to: seq.saturating_sub(1),
            });
            // Keep recomputing with what exists: roots will not match, and say so.
        }
        self.expected_seq = seq.saturating_add(1);
        self.size += 1;
        if !ev.hash_ok {
            self.findings.push(Finding::EventHashMismatch { seq });
        }
        if !ev.signature_ok {
            self.findings.push(Finding::EventSignature { seq });
        }
        match ev.parsed {
            Ok(e) => self.parsed_event(seq, ev.leaf, e),
            Err(message) => self.findings.push(Finding::EventMalformed { seq, message }),
        }
        self.prev = Some(ev.leaf);
    }

    fn parsed_event(&mut self, seq: u64, leaf: Sha256Hash, ev: Event) {
        if ev.seq != seq {
            self.findings.push(Finding::EventMisplaced {
                seq,
                claims: ev.seq,
            });
        }
        if ev.log != self.origin {
            self.findings.push(Finding::EventWrongLog {
                seq,
                log: ev.log.clone(),
            });
        }
        if ev.prev != self.prev {
            self.findings.push(Finding::ChainBroken { seq });
        }
        let Some(item) = ev.item else {
            return;
        };
        let last = match self.item_last.get_mut(&item.id) {
            Some(last) => Some(std::mem::replace(last, leaf)),
            None => {
                self.item_last.insert(item.id.clone(), leaf);
                None
            }
        };
        if ev.item_prev != last {
            self.findings.push(Finding::ItemChainBroken {
                seq,
                item: item.id.clone(),
            });
        }
        if ev.action == Action::Ingest {
            self.ingests.entry(item.id).or_default().push(IngestRecord {
                seq,
                case: ev.case,
                sha256: item.sha256,
                details: ev.details,
            });
        }
    }

    /// A checkpoint row, after every event of its chunk. Its root is compared with the root
    /// recomputed from the events at its size: the chunk's own root folded into the frontier
    /// of the tree at the chunk's start (RFC 9162 §2.1.1, the tree at `start + j` is the
    /// subtrees of the first `start` leaves followed by those of the next `j`).
    fn checkpoint(&mut self, cp: CheckedCheckpoint) {
        self.checkpoints += 1;
        let size = cp.size;
        let root = match cp.verdict {
            Ok(root) => root,
            Err(message) => {
                self.findings
                    .push(Finding::CheckpointInvalid { size, message });
                return;
            }
        };
        self.latest_valid = Some(self.latest_valid.map_or(size, |m| m.max(size)));
        if size > self.size {
            self.findings.push(Finding::CheckpointBeyondLog {
                size,
                log_size: self.size,
            });
            return;
        }
        let mut parts = self.chunks.hashes().iter().rev();
        let Some(mut recomputed) = cp.local_root.or_else(|| parts.next().copied()) else {
            // Size 0: the empty tree.
            if root != Sha256Hash::empty() {
                self.findings.push(Finding::CheckpointRootMismatch { size });
            }
            return;
        };
        for left in parts {
            recomputed = merkle::node_hash(left, &recomputed);
        }
        if root == recomputed {
            self.sample.offer(size, root);
        } else {
            self.findings.push(Finding::CheckpointRootMismatch { size });
        }
    }

    /// The checks that need the whole log: coverage by the latest checkpoint, stored tree
    /// nodes, and consistency proofs as clients get them.
    fn finish(mut self, conn: &Connection) -> Result<(LogSummary, Vec<Finding>), AuditError> {
        let log_size = self.size;
        match self.latest_valid {
            Some(latest) if latest < log_size => {
                self.findings.push(Finding::EventsNotCheckpointed {
                    checkpoint_size: latest,
                    log_size,
                })
            }
            None if log_size > 0 => self.findings.push(Finding::EventsNotCheckpointed {
                checkpoint_size: 0,
                log_size,
            }),
            _ => {}
        }
        audit_tree_nodes(conn, &self.recomputed, &mut self.findings)?;
        // Every valid checkpoint's root equals the root recomputed from the same events at its
        // size, so every stored checkpoint is a prefix of the same log: all of them are
        // mutually consistent (RFC 9162 §2.1.4), which no sample of proofs could show more
        // strongly. The proofs below exercise what clients are served instead: consistency
        // proofs built from the stored tree nodes (`SqlNodes`), between the latest checkpoint
        // and older ones at power-of-two distances below the largest stored size.
        let nodes = SqlNodes(conn);
        for ((older, old_root), (newer, new_root)) in self.sample.pairs() {
            let res = merkle::consistency_proof(&nodes, older, newer)
                .map_err(|e| format!("{e:?}"))
                .and_then(|p| {
                    merkle::verify_consistency(older, newer, &old_root, &new_root, &p)
                        .map_err(|e| e.to_string())
                });
            if let Err(message) = res {
                self.findings.push(Finding::CheckpointInconsistent {
                    older,
                    newer,
                    message,
                });
            }
        }
        Ok((
            LogSummary {
                size: log_size,
                checkpoints: self.checkpoints,
                ingests: self.ingests,
            },
            self.findings,
        ))
    }
}

/// Which checkpoints get a consistency proof from the stored tree: for each `k`, the largest
/// good checkpoint (valid, root as recomputed) at or below `max - 2^k`, where `max` is the
/// largest stored size, against the latest good one. Checkpoints arrive in size order, so
/// each target keeps the last one offered at or below it: about 2·log2(size) hashes held.
struct ConsistencySample {
    /// `(target size, best so far)`, targets in decreasing order.
    targets: Vec<(u64, Option<(u64, Sha256Hash)>)>,
    newest: Option<(u64, Sha256Hash)>,
}

impl ConsistencySample {
    fn new(max_checkpoint: Option<u64>) -> Self {
        let max = max_checkpoint.unwrap_or(0);
        let targets = (0..64)
            .map(|k| 1u64 << k)
            .take_while(|&d| d <= max)
            .map(|d| (max - d, None))
            .collect();
        ConsistencySample {
            targets,
            newest: None,
        }
    }

    fn offer(&mut self, size: u64, root: Sha256Hash) {
        self.newest = Some((size, root));
        for (target, best) in &mut self.targets {
            if size > *target {
                break;
            }
            *best = Some((size, root));
        }
    }

    /// `(older, newer)` pairs, each older size once, all older than the newest.
    fn pairs(&self) -> Vec<((u64, Sha256Hash), (u64, Sha256Hash))> {
        let Some(newest) = self.newest else {
            return Vec::new();
        };
        let mut older: Vec<(u64, Sha256Hash)> = self
            .targets
            .iter()
            .filter_map(|(_, best)| *best)
            .filter(|(size, _)| *size < newest.0)
            .collect();
        older.dedup_by_key(|(size, _)| *size);
        older.into_iter().map(|o| (o, newest)).collect()
    }
}

fn audit_tree_nodes(
    conn: &Connection,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custody::EventDraft;
    use crate::ids::ItemId;
    use crate::vault::InitOptions;
    use custos_core::event::{Actor, ItemRef};

    /// A vault whose log holds `n` access events on three items, appended one at a time, so
    /// every size from 1 to `n` has its own stored checkpoint.
    fn vault_with_events(n: u64) -> (tempfile::TempDir, Vault) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("v");
        Vault::init(&dir, &InitOptions::default()).expect("init");
        let vault = Vault::open(&dir).expect("open");
        let items: Vec<ItemRef> = (0..3u8)
            .map(|i| ItemRef {
                id: ItemId::random().to_string(),
                sha256: Sha256Hash::digest(&[i]),
            })
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        for i in 0..n {
            let draft = EventDraft {
                actor: Actor {
                    name: "alice".into(),
                    role: "examiner".into(),
                    auth: "local-config".into(),
                },
                action: Action::Access,
                case: Some("c".into()),
                item: Some(items[(i % 3) as usize].clone()),
                reason: Some(format!("look {i}")),
                details: Value::object([("n", Value::Int(i as i64))]),
            };
            rt.block_on(vault.sequencer.append(draft)).expect("append");
        }
        (tmp, vault)
    }

    /// The log pass alone, with chunks of `2^level` events.
    fn log_pass(vault: &Vault, level: u8) -> (LogSummary, Vec<Finding>) {
        let conn = vault.connect().expect("connect");
        let reader = vault.connect().expect("connect");
        audit_log(vault, &conn, reader, &Progress::hidden(), level).expect("log pass")
    }

    /// Replace the stored checkpoint at `size` by one properly signed with the log key but
    /// carrying another root.
    fn resign_with_wrong_root(vault: &Vault, size: u64) {
        let cp = Checkpoint {
            origin: vault.config.vault.origin.clone(),
            size,
            root: Sha256Hash::digest(b"not the root"),
            extensions: Vec::new(),
        };
        let note = cp.sign(&vault.keys.log).expect("sign").to_string();
        let n = vault
            .connect()
            .expect("connect")
            .execute(
                "UPDATE checkpoints SET note = ?1 WHERE size = ?2",
                rusqlite::params![note, size as i64],
            )
            .expect("update");
        assert_eq!(n, 1, "checkpoint {size} exists");
    }

    /// Flip one bit of a blob column of one row.
    fn flip(vault: &Vault, table: &str, column: &str, key: &str, at: usize) {
        let conn = vault.connect().expect("connect");
        let sql = format!("SELECT {column} FROM {table} WHERE {key}");
        let mut b: Vec<u8> = conn.query_row(&sql, [], |r| r.get(0)).expect("row");
        b[at] ^= 0x01;
        let sql = format!("UPDATE {table} SET {column} = ?1 WHERE {key}");
        conn.execute(&sql, [b]).expect("update");
    }

    #[test]
    fn an_untouched_log_is_clean_at_every_chunk_size() {
        let (_tmp, vault) = vault_with_events(37);
        // Chunks of 1 to 64 events: one-leaf chunks, chunk boundaries inside and at the end
        // of the log, and a single partial chunk.
        for level in 0..=6 {
            let (summary, findings) = log_pass(&vault, level);
            assert_eq!(findings, vec![], "chunk level {level}");
            assert_eq!((summary.size, summary.checkpoints), (37, 37));
        }
    }

    #[test]
    fn an_empty_log_is_clean() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("v");
        Vault::init(&dir, &InitOptions::default()).expect("init");
        let vault = Vault::open(&dir).expect("open");
        let (summary, findings) = log_pass(&vault, CHUNK_LEVEL);
        assert_eq!(findings, vec![]);
        assert_eq!((summary.size, summary.checkpoints), (0, 0));
    }

    #[test]
    fn a_validly_signed_wrong_root_is_named_by_its_size_in_any_chunk() {
        let (_tmp, vault) = vault_with_events(37);
        // The first size, the end of a chunk of 8, the middle of one, the latest.
        for size in [1, 8, 13, 37] {
            resign_with_wrong_root(&vault, size);
        }
        for level in 0..=6 {
            let (_, findings) = log_pass(&vault, level);
            assert_eq!(
                findings,
                [1, 8, 13, 37]
                    .map(|size| Finding::CheckpointRootMismatch { size })
                    .to_vec(),
                "chunk level {level}"
            );
        }
    }

    #[test]
    fn a_bad_signature_in_a_batch_names_exactly_that_event_or_checkpoint() {
        let (_tmp, vault) = vault_with_events(37);
        flip(&vault, "events", "signature", "seq = 20", 5);
        // A letter in the middle of the checkpoint's base64 signature: still canonical
        // base64, now the wrong signature.
        let conn = vault.connect().expect("connect");
        let note: String = conn
            .query_row("SELECT note FROM checkpoints WHERE size = 9", [], |r| {
                r.get(0)
            })
            .expect("row");
        let at = note.len() - 20;
        let letter = if &note[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{letter}{}", &note[..at], &note[at + 1..]);
        conn.execute("UPDATE checkpoints SET note = ?1 WHERE size = 9", [forged])
            .expect("update");
        for level in [2, CHUNK_LEVEL] {
            let (_, findings) = log_pass(&vault, level);
            assert_eq!(findings.len(), 2, "{findings:?}");
            assert!(findings.contains(&Finding::EventSignature { seq: 20 }));
            assert!(
                findings.iter().any(|f| matches!(
                    f,
                    Finding::CheckpointInvalid { size: 9, message }
                        if message.contains("signature")
                )),
                "{findings:?}"
            );
        }
    }

    #[test]
    fn a_changed_node_above_the_chunk_level_is_named() {
        let (_tmp, vault) = vault_with_events(37);
        flip(&vault, "tree_nodes", "hash", "level = 4 AND idx = 1", 0);
        for level in [1, 2, CHUNK_LEVEL] {
            let (_, findings) = log_pass(&vault, level);
            assert!(
                findings.contains(&Finding::TreeNodeMismatch { level: 4, index: 1 }),
                "chunk level {level}: {findings:?}"
            );
            // Nothing about the events or the checkpoints themselves.
            assert!(
                findings.iter().all(|f| matches!(
                    f,
                    Finding::TreeNodeMismatch { .. } | Finding::CheckpointInconsistent { .. }
                )),
                "{findings:?}"
            );
        }
    }

    #[test]
    fn the_consistency_sample_takes_power_of_two_distances_below_the_largest_size() {
        let mut sample = ConsistencySample::new(Some(100));
        for size in 1..=100 {
            sample.offer(size, Sha256Hash::digest(&size.to_be_bytes()));
        }
        let older: Vec<u64> = sample.pairs().iter().map(|((o, _), _)| *o).collect();
        assert_eq!(older, [99, 98, 96, 92, 84, 68, 36]);
        assert!(sample.pairs().iter().all(|(_, (n, _))| *n == 100));
        // Sparse checkpoints: each target keeps the largest one at or below it, once.
        let mut sample = ConsistencySample::new(Some(100));
        for size in [10, 50, 100] {
            sample.offer(size, Sha256Hash::empty());
        }
        let older: Vec<u64> = sample.pairs().iter().map(|((o, _), _)| *o).collect();
        assert_eq!(older, [50, 10]);
        assert!(ConsistencySample::new(None).pairs().is_empty());
    }
}
