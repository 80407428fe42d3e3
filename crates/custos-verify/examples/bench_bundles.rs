//! Makes the report bundles `bench.sh` times `custos-verify` on (docs/PERFORMANCE.md, "Court
//! verification (issue 5)"), with the in-memory custody log of the tests (`tests/support`):
//! custos-core alone, a throwaway log key, real signatures, proofs and chains.
//!
//! ```sh
//! cargo run --release -p custos-verify --example bench_bundles -- OUT_DIR [EVIDENCE_FILE]
//! ```
//!
//! writes to OUT_DIR:
//! - `log.pub`: the log's verifier key (for `--key`);
//! - `events-10000.json`: one item with 10,000 events (ingest and 9,999 accesses);
//! - `items-1000x10.json`: 1,000 items with 10 events each (ingests first, then the other
//!   events round-robin), 10,000 events in all;
//! - with EVIDENCE_FILE, `evidence.json`: one item whose content is that file (SHA-256 only,
//!   as `custos ingest` records by default), for `--evidence EVIDENCE_FILE`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;
use support::{CASE, ItemSpec, TestLog};

/// `itm_` and 26 characters of `a-z2-7`: the number `n` in base 32, zero-padded with `a`.
fn item_id(n: u32) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut chars = [b'a'; 26];
    let mut rest = n;
    for c in chars.iter_mut().rev() {
        *c = ALPHABET[(rest % 32) as usize];
        rest /= 32;
    }
    format!("itm_{}", String::from_utf8_lossy(&chars))
}

fn item(n: u32, content: Vec<u8>) -> ItemSpec {
    ItemSpec {
        id: item_id(n),
        case: CASE.to_owned(),
        content,
        md5: None,
        sha1: None,
        description: None,
        original_name: None,
    }
}

fn write_bundle(log: &TestLog, path: &Path) {
    let started = Instant::now();
    let bundle = log.bundle(log.size(), &[]);
    let json = bundle.to_json();
    std::fs::write(path, &json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!(
        "{}: {} items, {} events, {} bytes ({:.1} s)",
        path.display(),
        bundle.items.len(),
        bundle.items.iter().map(|i| i.events.len()).sum::<usize>(),
        json.len(),
        started.elapsed().as_secs_f64()
    );
}

/// One item, `events` events about it.
fn one_item(events: u32) -> TestLog {
    let mut log = TestLog::new();
    let spec = item(0, b"one item, many events".to_vec());
    let id = spec.id.clone();
    log.ingest(spec);
    for _ in 1..events {
        log.append("access", Some(CASE), Some(&id), vec![]);
    }
    log
}

/// `items` items with `per_item` events each.
fn many_items(items: u32, per_item: u32) -> TestLog {
    let mut log = TestLog::new();
    let mut ids = Vec::new();
    for n in 0..items {
        let spec = item(n, format!("content of item {n}").into_bytes());
        ids.push(spec.id.clone());
        log.ingest(spec);
    }
    for _ in 1..per_item {
        for id in &ids {
            log.append("access", Some(CASE), Some(id), vec![]);
        }
    }
    log
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: bench_bundles OUT_DIR [EVIDENCE_FILE]");
        std::process::exit(2);
    };
    std::fs::create_dir_all(out).unwrap();
    let log = TestLog::new();
    std::fs::write(out.join("log.pub"), format!("{}\n", log.verifier())).unwrap();
    write_bundle(&one_item(10_000), &out.join("events-10000.json"));
    write_bundle(&many_items(1_000, 10), &out.join("items-1000x10.json"));
    if let Some(evidence) = args.get(1) {
        let content =
            std::fs::read(evidence).unwrap_or_else(|e| panic!("{}: {e}", evidence.display()));
        let mut log = TestLog::new();
        let spec = item(0, content);
        let id = spec.id.clone();
        log.ingest(spec);
        log.append("access", Some(CASE), Some(&id), vec![]);
        write_bundle(&log, &out.join("evidence.json"));
    }
}
