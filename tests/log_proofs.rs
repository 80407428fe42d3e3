//! The custody log's proofs through the real storage path: events appended by the sequencer into
//! SQLite, proofs served from `tree_nodes`, checked against the signed checkpoints.

use custos::custody::{EventDraft, SqlNodes};
use custos::vault::{InitOptions, Vault};
use custos_core::Sha256Hash;
use custos_core::checkpoint::open_checkpoint;
use custos_core::event::{Action, Actor, ItemRef};
use custos_core::jcs::Value;
use custos_core::merkle::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

fn draft(i: u64) -> EventDraft {
    EventDraft {
        actor: Actor {
            name: "alice".into(),
            role: "examiner".into(),
            auth: "local-config".into(),
        },
        action: Action::Access,
        case: Some("c".into()),
        item: Some(ItemRef {
            id: format!("itm_{:026}", i % 3).replace('0', "a"),
            sha256: Sha256Hash::digest(&[i as u8]),
        }),
        reason: Some(format!("look {i}")),
        details: Value::object([("n", Value::Int(i as i64))]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_receipt_and_every_checkpoint_pair_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    Vault::init(&dir, &InitOptions::default()).unwrap();
    let vault = Vault::open(&dir).unwrap();
    let key = vault.keys.log.verifier();
    let mut checkpoints = Vec::new();
    // Sequential appends (one checkpoint each), then bursts that the sequencer batches.
    for i in 0..70u64 {
        let r = vault.sequencer.append(draft(i)).await.unwrap();
        assert_eq!(r.index, i);
        let (cp, _) = open_checkpoint(&r.checkpoint, &key).unwrap();
        verify_inclusion(&r.leaf_hash, r.index, cp.size, &r.inclusion_proof, &cp.root).unwrap();
        checkpoints.push(cp);
    }
    for burst in 0..5u64 {
        let tasks: Vec<_> = (0..40u64)
            .map(|i| {
                let s = vault.sequencer.clone();
                tokio::spawn(async move { s.append(draft(1000 + burst * 40 + i)).await.unwrap() })
            })
            .collect();
        for t in tasks {
            let r = t.await.unwrap();
            let (cp, _) = open_checkpoint(&r.checkpoint, &key).unwrap();
            verify_inclusion(&r.leaf_hash, r.index, cp.size, &r.inclusion_proof, &cp.root).unwrap();
            checkpoints.push(cp);
        }
    }
    checkpoints.sort_by_key(|c| c.size);
    checkpoints.dedup_by_key(|c| c.size);
    assert!(
        checkpoints.len() < 70 + 200,
        "bursts were group-committed: {} checkpoints",
        checkpoints.len()
    );
    let conn = vault.connect().unwrap();
    let nodes = SqlNodes(&conn);
    for a in &checkpoints {
        for b in checkpoints.iter().filter(|b| b.size >= a.size).step_by(7) {
            let p = consistency_proof(&nodes, a.size, b.size).unwrap();
            verify_consistency(a.size, b.size, &a.root, &b.root, &p).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
    /// For arbitrary log sizes and indices, proofs served from SQLite verify, and an altered
    /// proof (a changed, extra or missing hash; a wrong index) never does.
    #[test]
    fn served_proofs_verify_and_altered_ones_fail(n in 1u64..160, picks in proptest::collection::vec(any::<u64>(), 4)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("v");
            Vault::init(&dir, &InitOptions::default()).unwrap();
            let vault = Vault::open(&dir).unwrap();
            let tasks: Vec<_> = (0..n).map(|i| { let s = vault.sequencer.clone(); tokio::spawn(async move { s.append(draft(i)).await.unwrap() }) }).collect();
            for t in tasks { t.await.unwrap(); }
            let conn = vault.connect().unwrap();
            let nodes = SqlNodes(&conn);
            let note = custos::custody::latest_checkpoint(&conn).unwrap().unwrap();
            let (cp, _) = open_checkpoint(&note, &vault.keys.log.verifier()).unwrap();
            prop_assert_eq!(cp.size, n);
            let leaves: Vec<Sha256Hash> = custos::custody::read_events(&conn, None).unwrap().iter().map(|e| Sha256Hash(e.hash.clone().try_into().unwrap())).collect();
            for p in picks {
                let i = p % n;
                let proof = inclusion_proof(&nodes, i, n).unwrap();
                prop_assert!(verify_inclusion(&leaves[i as usize], i, n, &proof, &cp.root).is_ok());
                if !proof.is_empty() {
                    let mut bad = proof.clone();
                    let k = (p as usize / 7) % bad.len();
                    bad[k].0[0] ^= 1;
                    prop_assert!(verify_inclusion(&leaves[i as usize], i, n, &bad, &cp.root).is_err());
                    let mut short = proof.clone();
                    short.pop();
                    prop_assert!(verify_inclusion(&leaves[i as usize], i, n, &short, &cp.root).is_err());
                }
                let mut long = proof.clone();
                long.push(cp.root);
                prop_assert!(verify_inclusion(&leaves[i as usize], i, n, &long, &cp.root).is_err());
                if n > 1 {
                    let j = (i + 1) % n;
                    prop_assert!(verify_inclusion(&leaves[i as usize], j, n, &proof, &cp.root).is_err());
                }
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn an_invalid_event_is_refused_and_nothing_is_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    Vault::init(&dir, &InitOptions::default()).unwrap();
    let vault = Vault::open(&dir).unwrap();
    let mut bad = draft(0);
    bad.reason = Some(String::new());
    let e = vault.sequencer.append(bad).await.unwrap_err();
    assert!(
        matches!(e, custos::custody::LogError::InvalidEvent { .. }),
        "{e}"
    );
    // The next valid event gets index 0: nothing was appended or signed.
    assert_eq!(vault.sequencer.append(draft(1)).await.unwrap().index, 0);
}

/// Regression: `custos log | head -1` used to panic with "Broken pipe".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_into_a_closed_pipe_exits_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    Vault::init(&dir, &InitOptions::default()).unwrap();
    let vault = Vault::open(&dir).unwrap();
    let tasks: Vec<_> = (0..3000u64)
        .map(|i| {
            let s = vault.sequencer.clone();
            tokio::spawn(async move { s.append(draft(i)).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' --dir '{}' log | head -1 >/dev/null; echo \"status=${{PIPESTATUS:-x}}\"",
            env!("CARGO_BIN_EXE_custos"),
            dir.display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["--dir", dir.to_str().unwrap(), "log", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Events are signed on a helper thread and their rows get the signature before the batch
/// commits. Jobs that append and then fail are rolled back in the same batches as jobs that
/// succeed (reusing their indices): every committed event carries the signature of its own
/// bytes, and the full audit is clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_jobs_leave_every_committed_event_signed_over_its_own_bytes() {
    use custos::custody::{LogError, LogTx};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    Vault::init(&dir, &InitOptions::default()).unwrap();
    let vault = Vault::open(&dir).unwrap();
    let tasks: Vec<_> = (0..300u64)
        .map(|i| {
            let s = vault.sequencer.clone();
            tokio::spawn(async move {
                s.submit(move |tx: &mut LogTx<'_>| {
                    tx.append(draft(i))?;
                    if i % 3 == 0 {
                        tx.append(draft(i + 1000))?;
                        return Err(LogError::Stopped);
                    }
                    Ok(())
                })
                .await
                .is_ok()
            })
        })
        .collect();
    let mut committed = 0u64;
    for t in tasks {
        committed += u64::from(t.await.unwrap());
    }
    assert_eq!(committed, 200);
    let conn = vault.connect().unwrap();
    let events = custos::custody::read_events(&conn, None).unwrap();
    let key = vault.keys.log.verifier();
    assert_eq!(events.len() as u64, committed);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
        custos_core::event::verify_event(key.verifying_key(), &e.bytes, &e.signature)
            .unwrap_or_else(|err| panic!("event {}: {err}", e.seq));
    }
    let report = custos::audit::audit(
        &vault,
        false,
        false,
        None,
        &custos::progress::Progress::hidden(),
    )
    .await
    .unwrap();
    assert_eq!(report.findings, vec![]);
    assert_eq!(report.events, committed);
}

/// More concurrent appends than the sequencer's queue holds, while another holder of the
/// sequencer lock keeps the first batch waiting: the queue fills, the rest wait for room off
/// the async threads (on a single-threaded runtime, where blocking would stall everything), and
/// every append is acknowledged once the lock is released, at contiguous indices.
#[tokio::test(flavor = "current_thread")]
async fn a_full_sequencer_queue_applies_back_pressure_without_losing_appends() {
    use custos::custody::MAX_BATCH;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    Vault::init(&dir, &InitOptions::default()).unwrap();
    let vault = Vault::open(&dir).unwrap();
    let blocker = std::fs::File::open(dir.join(custos::vault::LOCK_FILE)).unwrap();
    blocker.lock().unwrap();
    // The queue holds 4 * MAX_BATCH jobs; the first batch holds up to MAX_BATCH more.
    let n = 6 * MAX_BATCH as u64;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let s = vault.sequencer.clone();
            tokio::spawn(async move { s.append(draft(i)).await })
        })
        .collect();
    // Let every task run until it is queued or waiting for room, then release the lock.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    blocker.unlock().unwrap();
    let mut indices = Vec::new();
    for t in tasks {
        indices.push(t.await.unwrap().unwrap().index);
    }
    indices.sort_unstable();
    assert_eq!(indices, (0..n).collect::<Vec<_>>());
}
