//! Interoperability: implementations of the standards that Custos did not write accept what a
//! real Custos vault produces (docs/formats/interop.md).
//!
//! A vault is built through the library (init, open, a few dozen appends through the sequencer,
//! among them one multi-event batch, and ingests of small files). Everything the vault stores or
//! hands out is then checked with Cloudflare's `signed_note` 0.2 (C2SP signed-note) and
//! `tlog_tiles` 0.2 (C2SP tlog-checkpoint; RFC 6962 / RFC 9162 §2.1 tree hashing and proofs,
//! ported from Go's `golang.org/x/mod/sumdb/tlog`):
//!
//! - the verifier key string parses, and every stored checkpoint note verifies, with `signed_note`;
//! - every checkpoint body parses with `tlog_tiles`, with the vault's origin, size and root;
//! - `tlog_tiles` computes the same leaf hashes, the same roots at every checkpoint size and the
//!   same stored subtree hashes as the vault;
//! - `tlog_tiles` accepts every inclusion proof at every checkpoint size, every receipt, and the
//!   consistency proof between every pair of checkpoints, and rejects altered proofs;
//! - `signed_note`'s signer, given the vault's own key string, signs the same checkpoint bytes.
//!
//! Verification uses only the independent crates. Custos is used to build the vault and to serve
//! what it serves (notes, events, proofs); the only Custos values compared against are the ones a
//! client would receive.

use custos::custody::{self, EventDraft, LogError, LogTx, Receipt, SqlNodes};
use custos::ids::CaseName;
use custos::ingest::{self, Expected, IngestError, IngestRequest};
use custos::progress::Progress;
use custos::vault::{InitOptions, Vault};
use custos_core::Sha256Hash;
use custos_core::event::{Action, Actor, KNOWN_ACTIONS};
use custos_core::jcs::Value;
use custos_core::merkle::{consistency_proof, inclusion_proof};
use custos_core::note::NoteSigner;
use rusqlite::Connection;
use signed_note::{
    Note, NoteError, Signer as _, StandardSigner, StandardVerifier, Verifier as _, VerifierError,
    VerifierList,
};
use tempfile::TempDir;
use tlog_tiles::{
    Checkpoint, Error as TlogError, Hash, HashReader, check_record, check_tree, prove_record,
    prove_tree, record_hash, stored_hash_count, stored_hash_index, stored_hashes_for_record_hash,
    tree_hash,
};

/// The vault's checkpoint origin and log key name.
const ORIGIN: &str = "custos.test/interop";

/// Single appends before and after the batch and the ingests.
const SINGLE_APPENDS: usize = 30;
/// Events appended by one sequencer job, hence covered by one checkpoint.
const BATCH_APPENDS: usize = 7;

/// A populated vault and what its clients were given.
struct Fixture {
    /// Keeps the vault folder alive.
    _tmp: TempDir,
    vault: Vault,
    /// Every receipt handed out by an append or an ingest.
    receipts: Vec<Receipt>,
}

/// A stored checkpoint row.
struct StoredCheckpoint {
    size: u64,
    note: String,
}

/// A stored event row: its index, canonical bytes and the leaf hash the vault stored.
struct StoredLeaf {
    seq: u64,
    bytes: Vec<u8>,
    hash: Vec<u8>,
}

/// `tlog_tiles`' own hash storage (Go tlog's layout: `stored_hash_index` order), filled with
/// `stored_hashes_for_record_hash` from the leaf hashes alone. The tree the independent
/// implementation builds; nothing of the vault's tree is copied into it.
struct TlogStorage(Vec<Hash>);

impl HashReader for TlogStorage {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i).copied())
                    .ok_or(TlogError::IndexesNotInTree)
            })
            .collect()
    }
}

impl TlogStorage {
    /// The tree `tlog_tiles` builds from these record hashes, in order.
    fn build(record_hashes: &[Hash]) -> Self {
        let mut storage = TlogStorage(Vec::new());
        for (n, h) in record_hashes.iter().enumerate() {
            let n = n as u64;
            assert_eq!(storage.0.len() as u64, stored_hash_index(0, n));
            let new = stored_hashes_for_record_hash(n, *h, &storage)
                .unwrap_or_else(|e| panic!("tlog_tiles cannot add record {n}: {e}"));
            storage.0.extend(new);
        }
        assert_eq!(
            storage.0.len() as u64,
            stored_hash_count(record_hashes.len() as u64)
        );
        storage
    }
}

fn to_tlog(h: &Sha256Hash) -> Hash {
    Hash(h.0)
}

fn to_tlog_proof(p: &[Sha256Hash]) -> Vec<Hash> {
    p.iter().map(to_tlog).collect()
}

fn examiner() -> Actor {
    Actor {
        name: "alice".into(),
        role: "examiner".into(),
        auth: "local-config".into(),
    }
}

/// A varied event: every known action in turn and one unknown kind, non-ASCII text in the
/// reason and details (so JCS escaping and UTF-8 are exercised), nested details.
fn draft(i: usize) -> EventDraft {
    let action = match KNOWN_ACTIONS.get(i % (KNOWN_ACTIONS.len() + 1)) {
        Some(a) => a.clone(),
        None => Action::Other("interop-note".into()),
    };
    EventDraft {
        actor: examiner(),
        action,
        case: (!i.is_multiple_of(3)).then(|| format!("2026-CE-{:04}", i % 4)),
        item: None,
        reason: i
            .is_multiple_of(2)
            .then(|| format!("Beweisstück № {i} — «prüfen» ✓\tzeile 2\n")),
        details: Value::object([
            ("n", Value::Int(i as i64)),
            ("negative", Value::Int(-(i as i64) * 1_000_003)),
            ("flag", Value::Bool(i.is_multiple_of(5))),
            ("none", Value::Null),
            (
                "text",
                Value::String(format!("\"quoted\" \\ back\u{1}slash é 😀 {i}")),
            ),
            (
                "list",
                Value::Array(vec![Value::Int(1), Value::String("zwei".into())]),
            ),
        ]),
    }
}

fn ingest_request(path: std::path::PathBuf, case: &str, expect: Expected) -> IngestRequest {
    IngestRequest {
        path,
        case: CaseName::parse(case).expect("test case name is valid"),
        description: Some("interop test file".into()),
        expect,
        legacy_hashes: true,
        actor: examiner(),
        tool: Some("dd 9.1".into()),
        method: Some("bit-for-bit copy".into()),
    }
}

/// Build a vault through the library and fill it: single appends (one checkpoint each), one job
/// appending several events (one checkpoint for the batch), ingests (new items, a duplicate in the
/// same case, a refused hash mismatch), then more single appends.
async fn populated_vault() -> Fixture {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("vault");
    Vault::init(
        &dir,
        &InitOptions {
            origin: Some(ORIGIN.into()),
            examiner: Some("alice".into()),
            ..InitOptions::default()
        },
    )
    .expect("vault init");
    let vault = Vault::open(&dir).expect("vault open");
    let mut receipts = Vec::new();

    for i in 0..SINGLE_APPENDS / 2 {
        receipts.push(vault.sequencer.append(draft(i)).await.expect("append"));
    }

    let batch: Vec<EventDraft> = (100..100 + BATCH_APPENDS).map(draft).collect();
    let ((), batch_receipts) = vault
        .sequencer
        .submit(move |tx: &mut LogTx<'_>| -> Result<(), LogError> {
            for d in batch {
                tx.append(d)?;
            }
            Ok(())
        })
        .await
        .expect("batch append");
    assert_eq!(batch_receipts.len(), BATCH_APPENDS);
    receipts.extend(batch_receipts);

    let files = [
        (
            "a.bin",
            b"first small evidence file".to_vec(),
            "case-a",
            false,
        ),
        ("b.bin", vec![0xA5; 70_000], "case-a", false),
        ("c.bin", b"third file, other case".to_vec(), "case-b", false),
        (
            "a-again.bin",
            b"first small evidence file".to_vec(),
            "case-a",
            true,
        ),
    ];
    for (name, content, case, duplicate) in files {
        let path = tmp.path().join(name);
        std::fs::write(&path, content).expect("write test file");
        let out = ingest::ingest(
            &vault,
            ingest_request(path, case, Expected::default()),
            &Progress::hidden(),
        )
        .await
        .expect("ingest");
        assert_eq!(out.duplicate, duplicate, "{name}");
        receipts.push(out.receipt);
    }
    let path = tmp.path().join("wrong.bin");
    std::fs::write(&path, b"does not match").expect("write test file");
    let wrong = Expected {
        sha256: Some(Sha256Hash([7; 32])),
        ..Expected::default()
    };
    let refused = ingest::ingest(
        &vault,
        ingest_request(path, "case-b", wrong),
        &Progress::hidden(),
    )
    .await;
    assert!(
        matches!(refused, Err(IngestError::HashMismatch { .. })),
        "a wrong expected hash must be refused (and logged): {refused:?}",
        refused = refused.as_ref().map(|o| o.item.to_string())
    );

    for i in SINGLE_APPENDS / 2..SINGLE_APPENDS {
        receipts.push(vault.sequencer.append(draft(i)).await.expect("append"));
    }
    Fixture {
        _tmp: tmp,
        vault,
        receipts,
    }
}

impl Fixture {
    fn connect(&self) -> Connection {
        self.vault.connect().expect("connect")
    }

    fn verifier_key(&self) -> String {
        self.vault.keys.log.verifier().to_string()
    }

    /// `signed_note`'s verifier list holding only the vault's key.
    fn known_keys(&self) -> VerifierList {
        let v = StandardVerifier::new(&self.verifier_key()).expect("signed_note parses the key");
        VerifierList::new(vec![Box::new(v)])
    }

    fn checkpoints(&self) -> Vec<StoredCheckpoint> {
        let conn = self.connect();
        let mut st = conn
            .prepare("SELECT size, note FROM checkpoints ORDER BY size")
            .expect("prepare");
        st.query_map([], |r| {
            Ok(StoredCheckpoint {
                size: r.get::<_, i64>(0)? as u64,
                note: r.get(1)?,
            })
        })
        .expect("query checkpoints")
        .collect::<Result<_, _>>()
        .expect("read checkpoints")
    }

    fn leaves(&self) -> Vec<StoredLeaf> {
        custody::read_events(&self.connect(), None)
            .expect("read events")
            .into_iter()
            .map(|e| StoredLeaf {
                seq: e.seq,
                bytes: e.bytes,
                hash: e.hash,
            })
            .collect()
    }

    /// The tree `tlog_tiles` builds from the events' canonical bytes alone.
    fn tlog_tree(&self) -> TlogStorage {
        let hashes: Vec<Hash> = self
            .leaves()
            .iter()
            .map(|l| record_hash(&l.bytes))
            .collect();
        TlogStorage::build(&hashes)
    }
}

/// Verify a checkpoint note with `signed_note` against the vault's key only, then parse its text
/// with `tlog_tiles`. This is all a client of the vault needs.
fn open_independently(note: &str, known: &VerifierList) -> Checkpoint {
    let parsed = Note::from_bytes(note.as_bytes())
        .unwrap_or_else(|e| panic!("signed_note cannot parse {note:?}: {e}"));
    let (verified, unverified) = parsed
        .verify(known)
        .unwrap_or_else(|e| panic!("signed_note rejects {note:?}: {e}"));
    assert_eq!(verified.len(), 1, "one verified signature in {note:?}");
    assert!(unverified.is_empty(), "no other signature in {note:?}");
    assert_eq!(
        parsed.to_bytes(),
        note.as_bytes(),
        "signed_note re-encodes the note byte for byte"
    );
    let cp = Checkpoint::from_bytes(parsed.text())
        .unwrap_or_else(|e| panic!("tlog_tiles cannot parse the body of {note:?}: {e}"));
    assert_eq!(
        cp.to_bytes(),
        parsed.text(),
        "tlog_tiles re-encodes the body byte for byte"
    );
    cp
}

/// The root of a checkpoint as `tlog_tiles` reads it from a `signed_note`-verified note.
fn independent_roots(f: &Fixture) -> Vec<(u64, Hash)> {
    let known = f.known_keys();
    f.checkpoints()
        .iter()
        .map(|c| {
            let cp = open_independently(&c.note, &known);
            (cp.size(), *cp.hash())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifier_key_parses_with_signed_note() {
    let f = populated_vault().await;
    let vkey = f.verifier_key();
    let v = StandardVerifier::new(&vkey).expect("signed_note parses the vault's verifier key");
    assert_eq!(v.name(), ORIGIN);
    assert_eq!(v.key_id(), f.vault.keys.log.key_id().as_u32());

    // The parse checks what it reads: a key ID that is not this key's is refused.
    let mut parts = vkey.splitn(3, '+');
    let (name, _id, key) = (parts.next(), parts.next(), parts.next());
    let wrong_id = format!(
        "{}+{:08x}+{}",
        name.expect("name"),
        v.key_id() ^ 1,
        key.expect("key")
    );
    assert!(matches!(
        StandardVerifier::new(&wrong_id),
        Err(VerifierError::Id)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checkpoint_verifies_with_signed_note_and_parses_with_tlog_tiles() {
    let f = populated_vault().await;
    let known = f.known_keys();
    let stored = f.checkpoints();
    let leaves = f.leaves();
    let size = leaves.len() as u64;
    assert!(
        size >= SINGLE_APPENDS as u64 + BATCH_APPENDS as u64 + 5,
        "{size} events"
    );
    // One checkpoint per single append and ingest, one for the batch: sizes strictly increase.
    assert!(
        stored.len() >= SINGLE_APPENDS + 5,
        "{} checkpoints",
        stored.len()
    );
    assert!(stored.windows(2).all(|w| w[0].size < w[1].size));
    assert_eq!(stored.last().map(|c| c.size), Some(size));

    let vault_verifier = f.vault.keys.log.verifier();
    for c in &stored {
        let cp = open_independently(&c.note, &known);
        let (ours, _) = custos_core::checkpoint::open_checkpoint(&c.note, &vault_verifier)
            .expect("our own parse");
        assert_eq!(cp.origin(), ORIGIN);
        assert_eq!(cp.origin(), ours.origin);
        assert_eq!(cp.size(), c.size);
        assert_eq!(cp.size(), ours.size);
        assert_eq!(*cp.hash(), to_tlog(&ours.root));
        assert_eq!(cp.extension(), "");
    }
    let latest = custody::latest_checkpoint(&f.connect())
        .expect("read latest")
        .expect("a checkpoint exists");
    assert_eq!(open_independently(&latest, &known).size(), size);
    for r in &f.receipts {
        let cp = open_independently(&r.checkpoint, &known);
        assert_eq!(cp.size(), r.tree_size);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_note_rejects_altered_or_foreign_checkpoints() {
    let f = populated_vault().await;
    let known = f.known_keys();
    let note = custody::latest_checkpoint(&f.connect())
        .expect("read latest")
        .expect("a checkpoint exists");

    // The root line changed, the signature kept: the known key's signature fails.
    let mut lines: Vec<&str> = note.split('\n').collect();
    let other_root = Hash([0x42; 32]).to_string();
    lines[2] = &other_root;
    let altered = lines.join("\n");
    let parsed = Note::from_bytes(altered.as_bytes()).expect("still a well-formed note");
    match parsed.verify(&known) {
        Err(NoteError::InvalidSignature { name, id }) => {
            assert_eq!(name, ORIGIN);
            assert_eq!(id, f.vault.keys.log.key_id().as_u32());
        }
        other => panic!("altered checkpoint must be refused, got {other:?}"),
    }

    // The same body signed by another key under the same name: no trusted signature.
    let stranger = NoteSigner::from_seed(ORIGIN, [9; 32]).expect("signer");
    let text = Note::from_bytes(note.as_bytes()).expect("parse");
    let text = std::str::from_utf8(text.text()).expect("utf-8");
    let foreign = stranger.sign(text).expect("sign").to_string();
    let parsed = Note::from_bytes(foreign.as_bytes()).expect("well-formed note");
    assert!(matches!(
        parsed.verify(&known),
        Err(NoteError::UnverifiedNote)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaf_hashes_roots_and_stored_nodes_match_tlog_tiles() {
    let f = populated_vault().await;
    let leaves = f.leaves();
    for (n, leaf) in leaves.iter().enumerate() {
        assert_eq!(leaf.seq, n as u64, "contiguous indices");
        assert_eq!(
            record_hash(&leaf.bytes).0.as_slice(),
            leaf.hash.as_slice(),
            "leaf hash of event {n}"
        );
    }
    for r in &f.receipts {
        let leaf = &leaves[r.index as usize];
        assert_eq!(record_hash(&leaf.bytes), to_tlog(&r.leaf_hash));
    }

    let tree = f.tlog_tree();
    let roots = independent_roots(&f);
    for (size, root) in &roots {
        assert_eq!(
            tree_hash(*size, &tree).expect("tlog_tiles tree hash"),
            *root,
            "root at size {size}"
        );
    }
    // The vault's stored subtree hashes are exactly the hashes Go tlog stores for this tree.
    let conn = f.connect();
    let mut st = conn
        .prepare("SELECT level, idx, hash FROM tree_nodes")
        .expect("prepare");
    let nodes: Vec<(u8, u64, Vec<u8>)> = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read tree nodes");
    assert_eq!(nodes.len(), tree.0.len(), "number of stored subtree hashes");
    for (level, idx, hash) in nodes {
        let i = stored_hash_index(level, idx) as usize;
        assert_eq!(
            tree.0[i].0.as_slice(),
            hash.as_slice(),
            "node ({level}, {idx})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inclusion_proofs_are_accepted_by_tlog_tiles() {
    let f = populated_vault().await;
    let conn = f.connect();
    let nodes = SqlNodes(&conn);
    let leaves = f.leaves();
    let tree = f.tlog_tree();
    let roots = independent_roots(&f);
    let mut checked = 0;
    for &(size, root) in &roots {
        for leaf in leaves.iter().take(size as usize) {
            let i = leaf.seq;
            let proof = to_tlog_proof(&inclusion_proof(&nodes, i, size).expect("served proof"));
            check_record(&proof, size, root, i, record_hash(&leaf.bytes)).unwrap_or_else(|e| {
                panic!("tlog_tiles rejects the inclusion proof of {i} in {size}: {e}")
            });
            assert_eq!(
                proof,
                prove_record(size, i, &tree).expect("tlog_tiles proof"),
                "same audit path for {i} in {size}"
            );
            checked += 1;
        }
    }
    // One proof per leaf per checkpoint: the sum of the checkpoint sizes.
    assert_eq!(checked, roots.iter().map(|(size, _)| size).sum::<u64>());
    eprintln!(
        "{} events, {} checkpoints, {checked} inclusion proofs accepted",
        leaves.len(),
        roots.len()
    );

    // Receipts: the proof against the root of the note they carry, for the event's bytes.
    let known = f.known_keys();
    for r in &f.receipts {
        let cp = open_independently(&r.checkpoint, &known);
        let leaf = &leaves[r.index as usize];
        check_record(
            &to_tlog_proof(&r.inclusion_proof),
            cp.size(),
            *cp.hash(),
            r.index,
            record_hash(&leaf.bytes),
        )
        .unwrap_or_else(|e| panic!("tlog_tiles rejects the receipt of event {}: {e}", r.index));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistency_proofs_between_all_checkpoints_are_accepted_by_tlog_tiles() {
    let f = populated_vault().await;
    let conn = f.connect();
    let nodes = SqlNodes(&conn);
    let tree = f.tlog_tree();
    let roots = independent_roots(&f);
    let mut checked = 0;
    for (old_size, old_root) in &roots {
        for (new_size, new_root) in roots.iter().filter(|(n, _)| n >= old_size) {
            let proof = to_tlog_proof(
                &consistency_proof(&nodes, *old_size, *new_size).expect("served proof"),
            );
            check_tree(&proof, *new_size, *new_root, *old_size, *old_root).unwrap_or_else(|e| {
                panic!("tlog_tiles rejects the consistency proof {old_size} -> {new_size}: {e}")
            });
            assert_eq!(
                proof,
                prove_tree(*new_size, *old_size, &tree).expect("tlog_tiles proof"),
                "same consistency proof {old_size} -> {new_size}"
            );
            checked += 1;
        }
    }
    // Every pair, and each checkpoint with itself (the empty proof).
    assert_eq!(checked, roots.len() * (roots.len() + 1) / 2);
    eprintln!("{checked} consistency proofs accepted");
}

/// Every single-hash change of a served proof, and proofs one hash too long or too short, are
/// refused by `tlog_tiles`: the acceptance above is not vacuous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_proofs_are_rejected_by_tlog_tiles() {
    let f = populated_vault().await;
    let conn = f.connect();
    let nodes = SqlNodes(&conn);
    let leaves = f.leaves();
    let roots = independent_roots(&f);
    let (size, root) = *roots.last().expect("a checkpoint");
    let mut rejected = 0;

    for leaf in &leaves {
        let i = leaf.seq;
        let h = record_hash(&leaf.bytes);
        let proof = to_tlog_proof(&inclusion_proof(&nodes, i, size).expect("served proof"));
        check_record(&proof, size, root, i, h).expect("the honest proof passes");
        for pos in 0..proof.len() {
            let mut bad = proof.clone();
            bad[pos].0[pos % 32] ^= 0x01;
            assert!(
                matches!(
                    check_record(&bad, size, root, i, h),
                    Err(TlogError::InvalidProof)
                ),
                "hash {pos} of the proof of {i} changed"
            );
            rejected += 1;
        }
        let mut longer = proof.clone();
        longer.push(root);
        assert!(matches!(
            check_record(&longer, size, root, i, h),
            Err(TlogError::InvalidProof)
        ));
        let shorter = &proof[..proof.len() - 1];
        assert!(matches!(
            check_record(&shorter.to_vec(), size, root, i, h),
            Err(TlogError::InvalidProof)
        ));
        let other_leaf = Hash([0x5A; 32]);
        assert!(matches!(
            check_record(&proof, size, root, i, other_leaf),
            Err(TlogError::InvalidProof)
        ));
        rejected += 3;
    }

    for (old_size, old_root) in roots.iter().filter(|(n, _)| *n < size) {
        let proof =
            to_tlog_proof(&consistency_proof(&nodes, *old_size, size).expect("served proof"));
        check_tree(&proof, size, root, *old_size, *old_root).expect("the honest proof passes");
        for pos in 0..proof.len() {
            let mut bad = proof.clone();
            bad[pos].0[31 - pos % 32] ^= 0x80;
            assert!(
                matches!(
                    check_tree(&bad, size, root, *old_size, *old_root),
                    Err(TlogError::InvalidProof)
                ),
                "hash {pos} of the proof {old_size} -> {size} changed"
            );
            rejected += 1;
        }
        let mut longer = proof.clone();
        longer.push(root);
        assert!(matches!(
            check_tree(&longer, size, root, *old_size, *old_root),
            Err(TlogError::InvalidProof)
        ));
        let mut wrong_old = *old_root;
        wrong_old.0[0] ^= 0x01;
        assert!(matches!(
            check_tree(&proof, size, root, *old_size, wrong_old),
            Err(TlogError::InvalidProof)
        ));
        rejected += 2;
    }
    assert!(rejected > 4 * leaves.len(), "{rejected} rejections");
    eprintln!("{rejected} altered proofs rejected");
}

/// Ed25519 is deterministic: `signed_note`'s signer, given the key string Custos writes to
/// `keys/log.key`, must produce every stored checkpoint note byte for byte; and the checkpoint
/// body `tlog_tiles` encodes from the same origin, size and root is the body Custos signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_note_signer_reproduces_our_checkpoints_byte_for_byte() {
    let f = populated_vault().await;
    let key_string = f.vault.keys.log.to_private_string();
    let signer = StandardSigner::new(&key_string).expect("signed_note parses our signer key");
    assert_eq!(signer.name(), ORIGIN);
    assert_eq!(signer.key_id(), f.vault.keys.log.key_id().as_u32());

    let tree = f.tlog_tree();
    for c in f.checkpoints() {
        let root = tree_hash(c.size, &tree).expect("tlog_tiles tree hash");
        let body = Checkpoint::new(ORIGIN, c.size, root, "")
            .expect("tlog_tiles checkpoint")
            .to_bytes();
        let mut note = Note::new(&body, &[]).expect("signed_note note");
        note.add_sigs(&[&signer]).expect("signed_note signs");
        assert_eq!(
            String::from_utf8(note.to_bytes()).expect("utf-8"),
            c.note,
            "checkpoint at size {}",
            c.size
        );
    }

    // The same on the Go documentation's key (docs/formats/note-checkpoint.md §5, §7.3).
    let go_key = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let ours = NoteSigner::parse_private(go_key).expect("our parse");
    assert_eq!(&*ours.to_private_string(), go_key);
    let theirs = StandardSigner::new(&ours.to_private_string()).expect("signed_note parse");
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let mut note = Note::new(text.as_bytes(), &[]).expect("note");
    note.add_sigs(&[&theirs]).expect("sign");
    assert_eq!(
        String::from_utf8(note.to_bytes()).expect("utf-8"),
        ours.sign(text).expect("our signature").to_string()
    );
}
