//! Property tests of report bundles: the parser never panics on any input, every bundle it
//! writes reads back equal, and any single bit flipped in an honest bundle is either refused
//! or fails verification, unless it only touches what the bundle states without signature
//! (`generated_at`, `software`) or drops an optional claim.

#[path = "../../custos-verify/tests/support/mod.rs"]
mod support;

use custos_core::Sha256Hash;
use custos_core::bundle::{
    Bundle, BundleEvent, ConsistencyEntry, EvidenceDigest, Item, LogInfo, Pin, Software, Verdict,
    VerifyOptions, verify, verify_bytes,
};
use custos_core::event::Timestamp;
use proptest::prelude::*;
use std::sync::OnceLock;
use support::*;

fn honest() -> &'static (Bundle, String) {
    static HONEST: OnceLock<(Bundle, String)> = OnceLock::new();
    HONEST.get_or_init(|| {
        let b = honest_bundle();
        let text = b.to_json();
        (b, text)
    })
}

fn options() -> VerifyOptions {
    let log = honest_log();
    VerifyOptions {
        pin: Pin::Key(log.verifier()),
        witnesses: vec![log.witness_verifier()],
        since: Some(log.checkpoint(SINCE_SIZE, false)),
        evidence: vec![EvidenceDigest {
            name: "a.bin".to_owned(),
            size: CONTENT_A.len() as u64,
            sha256: Sha256Hash::digest(CONTENT_A),
            md5: Some(hex_decode(MD5_A)),
            sha1: Some(hex_decode(SHA1_A)),
        }],
    }
}

fn cached_options() -> &'static VerifyOptions {
    static OPTS: OnceLock<VerifyOptions> = OnceLock::new();
    OPTS.get_or_init(options)
}

/// `got` says nothing the honest bundle does not: it equals it once unsigned statements are
/// reset and optional members it dropped are put back.
fn claims_no_more(orig: &Bundle, got: &Bundle) -> bool {
    let mut g = got.clone();
    g.generated_at = orig.generated_at;
    g.software = orig.software.clone();
    if g.consistency.is_empty() {
        g.consistency = orig.consistency.clone();
    }
    if g.items.len() == orig.items.len() {
        for (gi, oi) in g.items.iter_mut().zip(&orig.items) {
            gi.md5 = gi.md5.or(oi.md5);
            gi.sha1 = gi.sha1.or(oi.sha1);
            if gi.description.is_none() {
                gi.description = oi.description.clone();
            }
            if gi.original_name.is_none() {
                gi.original_name = oi.original_name.clone();
            }
        }
    }
    g == *orig
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Bundle::parse(&bytes);
        let report = verify_bytes(&bytes, cached_options());
        prop_assert_eq!(report.verdict, Verdict::Failed);
    }

    #[test]
    fn arbitrary_json_text_never_panics(text in r#"[\[\]{}",:0-9a-z\\ -]{0,300}"#) {
        let _ = Bundle::parse(text.as_bytes());
    }

    #[test]
    fn mutated_honest_bundles_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let mut bytes = honest().1.clone().into_bytes();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                2 => bytes.insert(i, byte),
                _ => bytes.truncate(i),
            }
        }
        let _ = verify_bytes(&bytes, cached_options());
    }

    #[test]
    fn any_bit_flip_is_refused_or_detected(at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (orig, text) = honest();
        let mut bytes = text.clone().into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        match Bundle::parse(&bytes) {
            Err(_) => {}
            Ok(got) => {
                let report = verify(&got, cached_options());
                prop_assert!(
                    report.verdict == Verdict::Failed || claims_no_more(orig, &got),
                    "flip of bit {} at byte {} ({:?}) went undetected",
                    bit,
                    i,
                    String::from_utf8_lossy(&text.as_bytes()[i.saturating_sub(20)..(i + 20).min(text.len())])
                );
            }
        }
    }

    #[test]
    fn dropping_an_event_that_is_not_last_of_its_item_fails(item in 0usize..2, at in any::<prop::sample::Index>()) {
        let mut b = honest().0.clone();
        let events = &mut b.items[item].events;
        let i = at.index(events.len() - 1);
        events.remove(i);
        prop_assert_eq!(verify(&b, cached_options()).verdict, Verdict::Failed);
    }

    #[test]
    fn any_other_index_fails(item in 0usize..2, at in any::<prop::sample::Index>(), index in 0u64..(1 << 53)) {
        let mut b = honest().0.clone();
        let events = &mut b.items[item].events;
        let e = at.index(events.len());
        prop_assume!(events[e].index != index);
        events[e].index = index;
        prop_assert_eq!(verify(&b, cached_options()).verdict, Verdict::Failed);
    }

    #[test]
    fn written_bundles_read_back_equal(b in arb_bundle()) {
        let text = b.to_json();
        prop_assert_eq!(Bundle::parse(text.as_bytes()), Ok(b.clone()));
        // Never panics on whatever the fields hold.
        let _ = verify(&b, &VerifyOptions::default());
    }
}

fn arb_hash() -> impl Strategy<Value = Sha256Hash> {
    any::<[u8; 32]>().prop_map(Sha256Hash)
}

/// Any text without control or bidirectional-formatting characters, non-empty.
fn arb_text() -> impl Strategy<Value = String> {
    "[^\\p{Cc}\u{061C}\u{200E}\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}]{1,20}"
}

fn arb_event() -> impl Strategy<Value = BundleEvent> {
    (
        0u64..(1 << 53),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        proptest::collection::vec(arb_hash(), 0..5),
    )
        .prop_map(|(index, event, s1, s2, inclusion_proof)| {
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(&s1);
            signature[32..].copy_from_slice(&s2);
            BundleEvent {
                index,
                event,
                signature,
                inclusion_proof,
            }
        })
}

fn arb_item() -> impl Strategy<Value = Item> {
    (
        "itm_[a-z2-7]{26}",
        arb_text(),
        arb_hash(),
        proptest::option::of(any::<[u8; 20]>()),
        proptest::option::of(any::<[u8; 16]>()),
        0u64..(1 << 53),
        proptest::option::of(any::<String>()),
        proptest::option::of(any::<String>()),
        proptest::collection::vec(arb_event(), 0..3),
    )
        .prop_map(
            |(id, case, sha256, sha1, md5, size, description, original_name, events)| Item {
                id,
                case,
                sha256,
                sha1,
                md5,
                size,
                description,
                original_name,
                events,
            },
        )
}

fn arb_bundle() -> impl Strategy<Value = Bundle> {
    (
        Timestamp::MIN.unix_micros()..=Timestamp::MAX.unix_micros(),
        any::<String>(),
        arb_text(),
        any::<String>(),
        arb_hash(),
        any::<String>(),
        proptest::collection::vec(
            (
                0u64..(1 << 53),
                arb_hash(),
                proptest::collection::vec(arb_hash(), 0..4),
            ),
            0..3,
        ),
        proptest::collection::vec(arb_item(), 0..3),
    )
        .prop_map(
            |(t, name, origin, verifier_key, fingerprint, checkpoint, consistency, items)| Bundle {
                generated_at: Timestamp::from_unix_micros(t).unwrap(),
                software: Software {
                    name,
                    version: "0.1.0".to_owned(),
                },
                log: LogInfo {
                    origin,
                    verifier_key,
                    fingerprint,
                },
                checkpoint,
                consistency: consistency
                    .into_iter()
                    .map(|(old_size, old_root, proof)| ConsistencyEntry {
                        old_size,
                        old_root,
                        proof,
                    })
                    .collect(),
                items,
            },
        )
}

/// Every bit of the honest bundle, flipped one at a time (about 100,000 bundles): run with
/// `cargo test --release -p custos-core --test bundle_props -- --ignored`.
#[test]
#[ignore = "exhaustive: about a minute in release mode"]
fn every_bit_flip_is_refused_or_detected() {
    let (orig, text) = honest();
    let (mut refused, mut failed, mut harmless) = (0usize, 0usize, 0usize);
    for i in 0..text.len() {
        for bit in 0..8 {
            let mut bytes = text.clone().into_bytes();
            bytes[i] ^= 1 << bit;
            match Bundle::parse(&bytes) {
                Err(_) => refused += 1,
                Ok(got) if verify(&got, cached_options()).verdict == Verdict::Failed => failed += 1,
                Ok(got) => {
                    assert!(
                        claims_no_more(orig, &got),
                        "bit {bit} of byte {i} undetected"
                    );
                    harmless += 1;
                }
            }
        }
    }
    eprintln!("refused {refused}, failed verification {failed}, harmless {harmless}");
}
