//! Release-mode throughput of sealing and opening 1 GiB in memory. Ignored by default:
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-seal cargo test --release -p custos-seal --test throughput \
//!     -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use custos_seal::{
    DataKey, HEADER_LEN, Header, ObjectId, Opener, SEGMENT_SIZE, Sealer, TAG_LEN, ciphertext_len,
};

const GIB: usize = 1 << 30;
/// The ingest pipeline's block: 128 segments, 8 MiB.
const BLOCK: usize = 128 * SEGMENT_SIZE as usize;
const RUNS: usize = 3;

fn gib_per_s(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / GIB as f64 / elapsed.as_secs_f64()
}

/// CPU time this thread has run (first field of /proc/thread-self/schedstat, in ns), so the
/// figure is not diluted when other processes share the cores.
fn thread_cpu_time() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// Wall-clock and CPU-time throughput of `work` over `bytes` bytes.
fn measure(bytes: usize, work: impl FnOnce()) -> (f64, f64) {
    let wall = Instant::now();
    let cpu = thread_cpu_time();
    work();
    let cpu = thread_cpu_time().saturating_sub(cpu);
    (gib_per_s(bytes, wall.elapsed()), gib_per_s(bytes, cpu))
}

fn plaintext() -> Vec<u8> {
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut data = Vec::with_capacity(GIB);
    while data.len() < GIB {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data
}

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

#[test]
#[ignore = "1 GiB throughput measurement; run in release with --ignored --nocapture"]
fn seal_and_open_one_gib() {
    let data = plaintext();
    let key = [0x42u8; 32];
    let header = Header::new(ObjectId::random());
    let total = usize::try_from(ciphertext_len(GIB as u64, SEGMENT_SIZE)).expect("fits");

    let mut object = Vec::with_capacity(total);
    let mut results: [Vec<(f64, f64)>; 5] = Default::default();
    let mut scratch = data.clone();
    let blocks: Vec<&[u8]> = data.chunks(BLOCK).collect();
    for _ in 0..RUNS {
        // 0. Baseline: ring AES-256-GCM in place on one 8 MiB buffer per block, no copy.
        let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("key"));
        let mut buf = vec![0x5au8; BLOCK];
        results[0].push(measure(GIB, || {
            for i in 0..(GIB / BLOCK) {
                for (j, seg) in buf.chunks_mut(SEGMENT_SIZE as usize).enumerate() {
                    let mut nonce = [0u8; 12];
                    nonce[..8].copy_from_slice(&((i * 128 + j) as u64).to_be_bytes());
                    let tag = raw
                        .seal_in_place_separate_tag(
                            Nonce::assume_unique_for_key(nonce),
                            Aad::from(&[0u8; 32]),
                            seg,
                        )
                        .expect("seal");
                    let _ = std::hint::black_box(tag);
                }
            }
        }));

        // 0b. Baseline: ring in place over the 1 GiB buffer itself (memory-resident, no copy).
        results[4].push(measure(GIB, || {
            for (j, seg) in scratch.chunks_mut(SEGMENT_SIZE as usize).enumerate() {
                let mut nonce = [0u8; 12];
                nonce[..8].copy_from_slice(&(j as u64).to_be_bytes());
                let tag = raw
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(&[0u8; 32]),
                        seg,
                    )
                    .expect("seal");
                let _ = std::hint::black_box(tag);
            }
        }));

        // 1. Seal the whole object into one preallocated buffer, 8 MiB blocks at a time.
        object.clear();
        object.extend_from_slice(&header.encode());
        let mut sealer = Sealer::new(DataKey::from_bytes(key), &header).expect("sealer");
        results[1].push(measure(GIB, || {
            for (i, block) in blocks.iter().enumerate() {
                sealer
                    .seal_block(block, i + 1 == blocks.len(), &mut object)
                    .expect("seal");
            }
        }));
        assert_eq!(object.len(), total);

        // 2. The pipeline's shape: seal each block into a reused 8 MiB output buffer.
        let mut sealer = Sealer::new(DataKey::from_bytes([0x43; 32]), &header).expect("sealer");
        let mut out = Vec::with_capacity(BLOCK + 128 * TAG_LEN);
        results[2].push(measure(GIB, || {
            for (i, block) in blocks.iter().enumerate() {
                out.clear();
                sealer
                    .seal_block(block, i + 1 == blocks.len(), &mut out)
                    .expect("seal");
            }
        }));

        // 3. Open the object block by block into a reused buffer.
        let opener = Opener::new(&DataKey::from_bytes(key), &header, GIB as u64).expect("opener");
        let stored_block = 128 * (SEGMENT_SIZE as usize + TAG_LEN);
        let mut plain = Vec::with_capacity(BLOCK);
        results[3].push(measure(GIB, || {
            for (i, stored) in object[HEADER_LEN..].chunks(stored_block).enumerate() {
                plain.clear();
                opener
                    .open_block(i as u64 * 128, stored, &mut plain)
                    .expect("open");
            }
        }));
    }

    // Correctness of what was measured, outside the timed loops.
    let opener = Opener::new(&DataKey::from_bytes(key), &header, GIB as u64).expect("opener");
    let mut opened = Vec::with_capacity(GIB);
    opener
        .open_block(0, &object[HEADER_LEN..], &mut opened)
        .expect("open whole");
    assert!(opened == data, "opened plaintext differs");

    let names = [
        "ring AES-256-GCM in place, 8 MiB buffer (baseline)",
        "Sealer::seal_block into one 1 GiB buffer",
        "Sealer::seal_block into a reused 8 MiB buffer",
        "Opener::open_block into a reused 8 MiB buffer",
        "ring AES-256-GCM in place over 1 GiB (baseline)",
    ];
    for (name, runs) in names.iter().zip(&results) {
        let wall = median(runs.iter().map(|r| r.0).collect());
        let cpu = median(runs.iter().map(|r| r.1).collect());
        println!("{name:<48} wall {wall:5.2} GiB/s, cpu time {cpu:5.2} GiB/s (median of {RUNS})");
    }
}
