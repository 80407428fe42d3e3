//! Crash and concurrency: `kill -9` during ingests never loses an acknowledged item and leaves
//! only staging leftovers that `audit --repair` removes; concurrent ingest processes share the
//! single-sequencer log without gaps or inconsistent checkpoints.

mod common;
use common::{TestVault, pseudo_random, sha256_hex};
use std::time::Duration;

#[test]
fn concurrent_ingest_processes_share_one_consistent_log() {
    let v = TestVault::new();
    let files: Vec<_> = (0..8)
        .map(|i| {
            (
                v.file(&format!("f{i}"), &pseudo_random(50_000 + i, i as u64)),
                i,
            )
        })
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|(p, _)| v.spawn(&["ingest", p.to_str().unwrap(), "--case", "c", "--json"]))
        .collect();
    let mut indices = Vec::new();
    for (out, (p, _)) in children.into_iter().zip(&files) {
        let out = out.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ack: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(ack["sha256"], sha256_hex(&std::fs::read(p).unwrap()));
        indices.push(ack["receipt"]["index"].as_u64().unwrap());
    }
    indices.sort();
    assert_eq!(
        indices,
        (0..8).collect::<Vec<_>>(),
        "contiguous indices, one event each"
    );
    assert_eq!(v.audit(&["--deep"]).0, 0);
}

#[test]
fn kill_9_mid_ingest_loses_nothing_acknowledged() {
    let v = TestVault::new();
    let mut acked = Vec::new();
    let mut crashes_with_leftovers = 0;
    let big = v.file("big", &pseudo_random(96 << 20, 77));
    for round in 0..6u64 {
        // An acknowledged ingest before each crash.
        let small = pseudo_random(10_000, 2 * round + 101);
        let ack = v.ingest(&v.file(&format!("s{round}"), &small), "c");
        acked.push((ack["item"].as_str().unwrap().to_string(), small));
        // Kill a large ingest at a different moment each round.
        let mut child = v.spawn(&["ingest", big.to_str().unwrap(), "--case", "c"]);
        // Wait until the ingest has staged its object, then kill it a little later each round.
        let db = v.db();
        let t0 = std::time::Instant::now();
        while db
            .query_row("SELECT COUNT(*) FROM staging", [], |r| r.get::<_, i64>(0))
            .unwrap_or(0)
            == 0
            && t0.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(round * 5));
        let _ = child.kill();
        let _ = child.wait();
        // Only staging leftovers (or nothing, or a complete item) may remain.
        let (_, report) = v.audit(&[]);
        if !report["findings"].as_array().unwrap().is_empty() {
            crashes_with_leftovers += 1;
        }
        for f in report["findings"].as_array().unwrap() {
            assert_eq!(f["kind"], "staging-leftover", "round {round}: {report}");
        }
        v.audit(&["--repair"]);
        let (code, report) = v.audit(&["--deep"]);
        assert_eq!(code, 0, "round {round}: {report}");
    }
    assert!(
        crashes_with_leftovers > 0,
        "no kill landed mid-ingest: the test proved nothing"
    );
    for (item, data) in acked {
        let out = v.tmp.path().join(format!("out-{item}"));
        v.ok(&[
            "get",
            &item,
            "-o",
            out.to_str().unwrap(),
            "--reason",
            "after crashes",
        ]);
        assert_eq!(std::fs::read(&out).unwrap(), data);
    }
}
