//! Report bundles: strict parsing (each refusal with its specific error) and verification
//! (each check passing on an honest bundle, and failing with its id on a bundle altered in the
//! one way it guards). The bundles come from a custody log built in memory with this crate.

#[path = "../../custos-verify/tests/support/mod.rs"]
mod support;

use custos_core::Sha256Hash;
use custos_core::bundle::{
    Bundle, BundleError, CheckId, EvidenceDigest, Outcome, Pin, Report, Subject, Verdict,
    VerifyOptions, verify, verify_bytes,
};
use custos_core::event::TimestampError;
use custos_core::jcs::{self, JcsError, Value};
use custos_core::note::NoteSigner;
use std::collections::{BTreeMap, BTreeSet};
use support::*;

fn digest(name: &str, content: &[u8], md5: Option<&str>, sha1: Option<&str>) -> EvidenceDigest {
    EvidenceDigest {
        name: name.to_owned(),
        size: content.len() as u64,
        sha256: Sha256Hash::digest(content),
        md5: md5.map(hex_decode),
        sha1: sha1.map(hex_decode),
    }
}

fn evidence() -> Vec<EvidenceDigest> {
    vec![
        digest("a.bin", CONTENT_A, Some(MD5_A), Some(SHA1_A)),
        digest("b.bin", CONTENT_B, None, None),
    ]
}

/// Everything pinned and given: key, witness, the earlier checkpoint, both evidence files.
fn full_options(log: &TestLog) -> VerifyOptions {
    VerifyOptions {
        pin: Pin::Key(log.verifier()),
        witnesses: vec![log.witness_verifier()],
        since: Some(log.checkpoint(SINCE_SIZE, false)),
        evidence: evidence(),
    }
}

/// The failing checks as `(id, subject)`.
fn failing(report: &Report) -> BTreeSet<(String, String)> {
    report
        .failures()
        .map(|c| (c.id.as_str().to_owned(), c.subject.to_string()))
        .collect()
}

fn fails(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn event_subject(item: &str, index: u64) -> String {
    Subject::Event {
        item: item.to_owned(),
        index,
    }
    .to_string()
}

fn verify_with(bundle: &Bundle, opts: &VerifyOptions) -> Report {
    // Every bundle is also checked after a round trip through its JSON text.
    let again = Bundle::parse(bundle.to_json().as_bytes()).expect("to_json output parses");
    assert_eq!(&again, bundle);
    verify(bundle, opts)
}

// ---------------------------------------------------------------------------------------------
// Honest bundles

#[test]
fn honest_bundle_verifies_with_pinned_key_and_every_check_passes() {
    let log = honest_log();
    let report = verify_with(&honest_bundle(), &full_options(&log));
    assert_eq!(failing(&report), BTreeSet::new());
    assert_eq!(report.warnings().count(), 0, "{:#?}", report.checks);
    assert_eq!(report.verdict, Verdict::Verified);
    let s = &report.summary;
    assert!(s.pinned);
    assert_eq!(s.checkpoint_size, Some(10));
    assert_eq!(s.checkpoint_root, Some(log.root(10)));
    assert_eq!((s.items, s.events), (2, 7));
    assert_eq!(s.witnesses, vec![(WITNESS_NAME.to_owned(), COSIGN_TIME)]);
    assert_eq!(s.since_size, Some(SINCE_SIZE));
    assert_eq!(s.evidence_matched, 2);
    assert_eq!(s.key_fingerprint, Some(log.verifier().fingerprint()));
}

#[test]
fn honest_bundle_runs_every_kind_of_check_but_unchecked_cosigners() {
    let log = honest_log();
    let report = verify(&honest_bundle(), &full_options(&log));
    let ran: BTreeSet<CheckId> = report.checks.iter().map(|c| c.id).collect();
    let all: BTreeSet<CheckId> = CheckId::ALL.into_iter().collect();
    let missing: Vec<_> = all.difference(&ran).collect();
    assert_eq!(missing, vec![&CheckId::WitnessUnchecked]);
}

#[test]
fn per_event_checks_run_once_per_event() {
    let log = honest_log();
    let report = verify(&honest_bundle(), &full_options(&log));
    let count = |id| report.checks.iter().filter(|c| c.id == id).count();
    for id in [
        CheckId::EventSignature,
        CheckId::EventParse,
        CheckId::EventSeq,
        CheckId::EventLog,
        CheckId::EventItem,
        CheckId::EventInclusion,
        CheckId::ItemChain,
    ] {
        assert_eq!(count(id), 7, "{id}");
    }
    // Pairs of bundled events at i, i + 1: (1,2), (2,3), (5,6), (6,7).
    assert_eq!(count(CheckId::GlobalChain), 4);
    assert_eq!(count(CheckId::ItemIngest), 2);
    assert_eq!(count(CheckId::EvidenceMatch), 2);
}

#[test]
fn unpinned_bundle_is_verified_unpinned_with_a_warning() {
    let log = honest_log();
    let opts = VerifyOptions {
        pin: Pin::None,
        ..full_options(&log)
    };
    let report = verify(&honest_bundle(), &opts);
    assert_eq!(report.verdict, Verdict::VerifiedUnpinned);
    let warns: Vec<_> = report.warnings().map(|c| c.id).collect();
    assert_eq!(warns, vec![CheckId::KeyPin]);
    assert!(!report.summary.pinned);
}

#[test]
fn fingerprint_pin_accepts_any_case_and_surrounding_space() {
    let log = honest_log();
    let fp = log.verifier().fingerprint();
    for pinned in [fp.clone(), fp.to_uppercase(), format!("  {fp}\n")] {
        let opts = VerifyOptions {
            pin: Pin::Fingerprint(pinned),
            ..full_options(&log)
        };
        assert_eq!(verify(&honest_bundle(), &opts).verdict, Verdict::Verified);
    }
}

#[test]
fn minimal_options_verify_an_honest_bundle() {
    let log = honest_log();
    let opts = VerifyOptions {
        pin: Pin::Key(log.verifier()),
        ..VerifyOptions::default()
    };
    let report = verify(&honest_bundle(), &opts);
    assert_eq!(report.verdict, Verdict::Verified);
    // The witness line is on the checkpoint but nobody said to trust it.
    let warns: Vec<_> = report.warnings().map(|c| c.subject.to_string()).collect();
    assert_eq!(warns.len(), 1);
    assert!(warns[0].starts_with(&format!("cosigner {WITNESS_NAME}+")));
}

#[test]
fn bundle_without_items_or_consistency_verifies() {
    let log = honest_log();
    let mut bundle = log.bundle(log.size(), &[]);
    bundle.items.clear();
    let opts = VerifyOptions {
        pin: Pin::Key(log.verifier()),
        witnesses: vec![log.witness_verifier()],
        ..VerifyOptions::default()
    };
    let report = verify_with(&bundle, &opts);
    assert_eq!(report.verdict, Verdict::Verified, "{:#?}", report.checks);
    assert!(!bundle.to_json().contains("consistency"));
}

#[test]
fn bundle_at_an_earlier_checkpoint_verifies() {
    // Only the events the checkpoint covers are bundled.
    let log = honest_log();
    let bundle = log.bundle(7, &[1, 4, 6]);
    assert_eq!(
        bundle.items.iter().map(|i| i.events.len()).sum::<usize>(),
        5
    );
    let mut opts = full_options(&log);
    opts.evidence.clear();
    let report = verify_with(&bundle, &opts);
    assert_eq!(failing(&report), BTreeSet::new());
}

// ---------------------------------------------------------------------------------------------
// Parsing: strict, with specific errors

fn honest_json() -> String {
    honest_bundle().to_json()
}

fn parse_str(s: &str) -> Result<Bundle, BundleError> {
    Bundle::parse(s.as_bytes())
}

#[test]
fn to_json_round_trips_and_keeps_spec_member_order() {
    let bundle = honest_bundle();
    let text = bundle.to_json();
    assert_eq!(parse_str(&text).unwrap(), bundle);
    let pos = |needle: &str| text.find(needle).unwrap();
    assert!(pos("\"format\"") < pos("\"version\""));
    assert!(pos("\"version\"") < pos("\"generated_at\""));
    assert!(pos("\"checkpoint\"") < pos("\"consistency\""));
    assert!(pos("\"consistency\"") < pos("\"items\""));
    assert!(text.starts_with("{\n  \"format\": \"custos-report-bundle\",\n  \"version\": 1,\n"));
    assert!(text.ends_with("}\n"));
}

#[test]
fn parse_refuses_what_is_not_a_bundle() {
    assert!(matches!(
        parse_str(""),
        Err(BundleError::Json(JcsError::UnexpectedEnd { .. }))
    ));
    assert!(matches!(
        parse_str("[]"),
        Err(BundleError::WrongType {
            expected: "an object",
            found: "array",
            ..
        })
    ));
    assert!(matches!(
        Bundle::parse(b"{\"format\":\"\xff\"}"),
        Err(BundleError::Json(JcsError::InvalidUtf8 { .. }))
    ));
    assert_eq!(
        parse_str("{}"),
        Err(BundleError::Missing {
            path: "format".to_owned()
        })
    );
    assert_eq!(
        parse_str(r#"{"format":"custos-bundle","version":1}"#),
        Err(BundleError::NotABundle {
            found: "custos-bundle".to_owned()
        })
    );
    // A float is outside the integer-only model.
    assert!(matches!(
        parse_str(r#"{"format":"custos-report-bundle","version":1.0}"#),
        Err(BundleError::Json(JcsError::NotAnInteger { .. }))
    ));
}

#[test]
fn parse_checks_the_version_before_anything_else() {
    // A version-2 bundle may have any other shape: it is refused as unsupported.
    let err = parse_str(r#"{"format":"custos-report-bundle","version":2}"#).unwrap_err();
    assert_eq!(err, BundleError::UnsupportedVersion { found: 2 });
    assert_eq!(err.check_id(), CheckId::BundleVersion);
    let text = honest_json().replace("\"version\": 1,", "\"version\": 0,");
    assert_eq!(
        parse_str(&text),
        Err(BundleError::UnsupportedVersion { found: 0 })
    );
    let report = verify_bytes(text.as_bytes(), &VerifyOptions::default());
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(report.checks.len(), 1);
    assert_eq!(report.checks[0].id, CheckId::BundleVersion);
}

#[test]
fn parse_refuses_oversized_input_before_parsing() {
    let big = vec![b' '; custos_core::bundle::MAX_BUNDLE_BYTES + 1];
    assert_eq!(
        Bundle::parse(&big),
        Err(BundleError::TooLarge {
            len: big.len(),
            max: custos_core::bundle::MAX_BUNDLE_BYTES
        })
    );
}

/// Replace the first occurrence of `from` (which must exist) in the honest bundle's JSON.
fn altered(from: &str, to: &str) -> Result<Bundle, BundleError> {
    let text = honest_json();
    assert!(text.contains(from), "{from} not in the bundle");
    parse_str(&text.replacen(from, to, 1))
}

/// The honest bundle's JSON value with its top-level object changed by `f`, re-encoded.
fn with_top(f: impl FnOnce(&mut BTreeMap<String, Value>)) -> Result<Bundle, BundleError> {
    let mut value = jcs::parse_json(honest_json().as_bytes()).unwrap();
    let Value::Object(top) = &mut value else {
        panic!("not an object")
    };
    f(top);
    Bundle::parse(&jcs::to_canonical(&value))
}

#[test]
fn parse_refuses_wrong_types_and_null_for_absent_members() {
    assert_eq!(
        altered("\"md5\": \"", "\"md5\": null, \"x\": \""),
        Err(BundleError::WrongType {
            path: "items[0].md5".to_owned(),
            expected: "a string",
            found: "null"
        })
    );
    assert_eq!(
        altered("\"size\": 3", "\"size\": \"3\""),
        Err(BundleError::WrongType {
            path: "items[0].size".to_owned(),
            expected: "an integer",
            found: "string"
        })
    );
    assert_eq!(
        altered("\"index\": 1,", "\"index\": -1,"),
        Err(BundleError::Negative {
            path: "items[0].events[0].index".to_owned(),
            value: -1
        })
    );
    assert_eq!(
        with_top(|top| {
            top.insert("consistency".to_owned(), Value::Object(Default::default()));
        }),
        Err(BundleError::WrongType {
            path: "consistency".to_owned(),
            expected: "an array",
            found: "object"
        })
    );
    let missing = honest_json().replacen("\"checkpoint\":", "\"checkpoint_\":", 1);
    assert_eq!(
        parse_str(&missing),
        Err(BundleError::Missing {
            path: "checkpoint".to_owned()
        })
    );
}

#[test]
fn parse_refuses_bad_hex_and_base64() {
    let bundle = honest_bundle();
    let sha = bundle.items[0].sha256.to_hex();
    assert_eq!(
        altered(&sha, &sha.to_uppercase()),
        Err(BundleError::BadHex {
            path: "items[0].sha256".to_owned(),
            expected_len: 64
        })
    );
    assert_eq!(
        altered(MD5_A, &MD5_A[1..]),
        Err(BundleError::BadHex {
            path: "items[0].md5".to_owned(),
            expected_len: 32
        })
    );
    let fp = bundle.log.fingerprint.to_hex();
    assert_eq!(
        altered(&fp, &format!("{}g", &fp[1..])),
        Err(BundleError::BadHex {
            path: "log.fingerprint".to_owned(),
            expected_len: 64
        })
    );
    // A proof hash of 31 bytes, and one in non-canonical base64 (unused bits set).
    let hash = bundle.items[0].events[0].inclusion_proof[0].to_base64();
    assert_eq!(
        altered(&hash, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
        Err(BundleError::BadLength {
            path: "items[0].events[0].inclusion_proof[0]".to_owned(),
            expected: 32,
            got: 31
        })
    );
    assert_eq!(
        altered(&hash, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="),
        Err(BundleError::BadBase64 {
            path: "items[0].events[0].inclusion_proof[0]".to_owned()
        })
    );
    let sig = "\"signature\": \"";
    assert_eq!(
        altered(sig, "\"signature\": \"AAAA"),
        Err(BundleError::BadLength {
            path: "items[0].events[0].signature".to_owned(),
            expected: 64,
            got: 67
        })
    );
    assert_eq!(
        altered("\"event\": \"", "\"event\": \"*"),
        Err(BundleError::BadBase64 {
            path: "items[0].events[0].event".to_owned()
        })
    );
}

#[test]
fn parse_refuses_bad_ids_text_and_timestamps() {
    assert_eq!(
        altered(ITEM_A, "itm_AAAAAAAAAAAAAAAAAAAAAAAAAA"),
        Err(BundleError::BadItemId {
            path: "items[0].id".to_owned()
        })
    );
    assert_eq!(
        altered(
            &format!("\"case\": \"{CASE}\""),
            "\"case\": \"CASE\u{202e}1\""
        ),
        Err(BundleError::ForbiddenCharacter {
            path: "items[0].case".to_owned(),
            code_point: 0x202e
        })
    );
    assert_eq!(
        altered(&format!("\"case\": \"{CASE}\""), "\"case\": \"\""),
        Err(BundleError::Empty {
            path: "items[0].case".to_owned()
        })
    );
    assert_eq!(
        altered("2026-11-26T09:00:00.000000Z", "2026-11-26T09:00:00Z"),
        Err(BundleError::BadTimestamp {
            path: "generated_at".to_owned(),
            source: TimestampError::Length { len: 20 }
        })
    );
}

#[test]
fn parse_bounds_proofs_and_strings() {
    let hash = Sha256Hash::empty().to_base64();
    let many = vec![format!("\"{hash}\""); custos_core::bundle::MAX_PROOF_HASHES + 1].join(",");
    assert_eq!(
        altered(
            "\"inclusion_proof\": [",
            &format!("\"inclusion_proof\": [{many},")
        ),
        Err(BundleError::TooManyHashes {
            path: "items[0].events[0].inclusion_proof".to_owned(),
            len: custos_core::bundle::MAX_PROOF_HASHES
                + 1
                + honest_bundle().items[0].events[0].inclusion_proof.len(),
            max: custos_core::bundle::MAX_PROOF_HASHES
        })
    );
    let long_key = "k".repeat(custos_core::bundle::MAX_KEY_BYTES + 1);
    let key = honest_bundle().log.verifier_key;
    assert_eq!(
        altered(&key, &long_key),
        Err(BundleError::TooLong {
            path: "log.verifier_key".to_owned(),
            len: long_key.len(),
            max: custos_core::bundle::MAX_KEY_BYTES
        })
    );
}

#[test]
fn parse_ignores_unknown_members() {
    let text = honest_json()
        .replacen("{\n", "{\n  \"future\": {\"x\": [1, 2]},\n", 1)
        .replacen("\"index\":", "\"note\": \"later\", \"index\":", 1);
    assert_eq!(parse_str(&text).unwrap(), honest_bundle());
}

#[test]
fn parse_accepts_any_json_spelling() {
    // Member order, whitespace and escapes are free: the bundle is not signed as a whole.
    let text = honest_json().replace("\n", " ").replacen(
        "\"custos-report-bundle\"",
        "\"custos\\u002dreport-bundle\"",
        1,
    );
    assert_eq!(parse_str(&text).unwrap(), honest_bundle());
}

// ---------------------------------------------------------------------------------------------
// Verification: each alteration fails the check that guards it, and only the checks it must

fn check(bundle: &Bundle) -> BTreeSet<(String, String)> {
    failing(&verify_with(bundle, &full_options(&honest_log())))
}

#[test]
fn a_wrong_pinned_key_fails_every_signature_and_says_why() {
    let log = honest_log();
    let other = NoteSigner::from_seed(ORIGIN, OTHER_SEED)
        .unwrap()
        .verifier();
    let opts = VerifyOptions {
        pin: Pin::Key(other),
        ..full_options(&log)
    };
    let report = verify(&honest_bundle(), &opts);
    assert_eq!(report.verdict, Verdict::Failed);
    let failed: Vec<CheckId> = report.failures().map(|c| c.id).collect();
    assert_eq!(failed[0], CheckId::KeyPin);
    for c in report.failures().skip(1) {
        assert!(
            matches!(
                c.id,
                CheckId::CheckpointSignature | CheckId::SinceSignature | CheckId::EventSignature
            ),
            "{c:?}"
        );
        assert!(
            c.outcome
                .reason()
                .unwrap()
                .starts_with("not checked against a trusted key: the bundle's log key"),
            "{c:?}"
        );
    }
    assert_eq!(failed.len(), 1 + 1 + 1 + 7);
}

#[test]
fn a_wrong_pinned_fingerprint_fails_like_a_wrong_key() {
    let log = honest_log();
    let opts = VerifyOptions {
        pin: Pin::Fingerprint("0".repeat(64)),
        ..full_options(&log)
    };
    let report = verify(&honest_bundle(), &opts);
    assert_eq!(report.failures().count(), 10);
    assert_eq!(report.verdict, Verdict::Failed);
}

#[test]
fn a_bundle_signed_by_another_key_fails_even_unpinned_when_the_key_is_swapped() {
    // The forger re-signs nothing but swaps in their key: every signature fails.
    let mut bundle = honest_bundle();
    let forged = NoteSigner::from_seed(ORIGIN, OTHER_SEED)
        .unwrap()
        .verifier();
    bundle.log.verifier_key = forged.to_string();
    bundle.log.fingerprint = Sha256Hash::digest(bundle.log.verifier_key.as_bytes());
    let opts = VerifyOptions {
        pin: Pin::None,
        ..full_options(&honest_log())
    };
    let report = verify(&bundle, &opts);
    let ids: BTreeSet<CheckId> = report.failures().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            CheckId::CheckpointSignature,
            CheckId::SinceSignature,
            CheckId::EventSignature
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn an_unreadable_embedded_key_refuses_trust() {
    let mut bundle = honest_bundle();
    bundle.log.verifier_key = "not a key".to_owned();
    let got = check(&bundle);
    assert!(got.contains(&("log-key".to_owned(), "log key".to_owned())));
    assert!(got.contains(&("log-fingerprint".to_owned(), "log key".to_owned())));
    assert!(got.contains(&("key-pin".to_owned(), "log key".to_owned())));
    assert!(got.contains(&("checkpoint-signature".to_owned(), "checkpoint".to_owned())));
    assert_eq!(
        got.iter().filter(|(id, _)| id == "event-signature").count(),
        7
    );
}

#[test]
fn an_altered_fingerprint_field_fails_log_fingerprint_only() {
    let mut bundle = honest_bundle();
    bundle.log.fingerprint = Sha256Hash::digest(b"x");
    assert_eq!(check(&bundle), fails(&[("log-fingerprint", "log key")]));
}

#[test]
fn an_altered_log_origin_fails_origin_checks_and_every_event_log() {
    let mut bundle = honest_bundle();
    bundle.log.origin = "custos.example.org/agency-y".to_owned();
    let got = check(&bundle);
    let ids: BTreeSet<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "log-origin",
            "checkpoint-origin",
            "since-origin",
            "event-log"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(got.len(), 3 + 7);
}

#[test]
fn an_altered_signature_fails_that_event_signature_only() {
    let mut bundle = honest_bundle();
    bundle.items[0].events[1].signature[5] ^= 1;
    assert_eq!(
        check(&bundle),
        fails(&[("event-signature", &event_subject(ITEM_A, 3))])
    );
}

#[test]
fn an_altered_proof_hash_fails_that_inclusion_only() {
    let mut bundle = honest_bundle();
    bundle.items[1].events[0].inclusion_proof[1].0[0] ^= 0x80;
    assert_eq!(
        check(&bundle),
        fails(&[("event-inclusion", &event_subject(ITEM_B, 2))])
    );
}

#[test]
fn an_extra_or_missing_proof_hash_fails_inclusion() {
    for extra in [true, false] {
        let mut bundle = honest_bundle();
        let proof = &mut bundle.items[0].events[2].inclusion_proof;
        if extra {
            proof.push(Sha256Hash::empty());
        } else {
            proof.pop();
        }
        assert_eq!(
            check(&bundle),
            fails(&[("event-inclusion", &event_subject(ITEM_A, 6))])
        );
    }
}

#[test]
fn an_altered_leaf_index_fails_seq_and_inclusion() {
    let mut bundle = honest_bundle();
    bundle.items[0].events[3].index = 8;
    assert_eq!(
        check(&bundle),
        fails(&[
            ("event-seq", &event_subject(ITEM_A, 8)),
            ("event-inclusion", &event_subject(ITEM_A, 8)),
            // Now listed just after B's event 7, it does not link to it.
            ("global-chain", &event_subject(ITEM_A, 8)),
        ])
    );
}

#[test]
fn a_dropped_event_breaks_the_item_chain() {
    let mut bundle = honest_bundle();
    bundle.items[0].events.remove(1); // event 3
    assert_eq!(
        check(&bundle),
        fails(&[("item-chain", &event_subject(ITEM_A, 6))])
    );
}

#[test]
fn a_dropped_first_event_fails_the_chain_and_the_ingest() {
    let mut bundle = honest_bundle();
    bundle.items[1].events.remove(0); // event 2, B's ingest
    assert_eq!(
        check(&bundle),
        fails(&[
            ("item-chain", &event_subject(ITEM_B, 5)),
            ("item-ingest", &format!("item {ITEM_B}")),
        ])
    );
}

#[test]
fn reordered_events_break_the_item_chain() {
    let mut bundle = honest_bundle();
    bundle.items[0].events.swap(1, 2); // 1, 6, 3, 9
    assert_eq!(
        check(&bundle),
        fails(&[
            ("item-chain", &event_subject(ITEM_A, 6)),
            ("item-chain", &event_subject(ITEM_A, 3)),
            ("item-chain", &event_subject(ITEM_A, 9)),
        ])
    );
}

#[test]
fn an_event_moved_to_another_item_fails_item_and_chains() {
    let mut bundle = honest_bundle();
    let moved = bundle.items[0].events.remove(3); // event 9 of A
    bundle.items[1].events.push(moved);
    assert_eq!(
        check(&bundle),
        fails(&[
            ("event-item", &event_subject(ITEM_B, 9)),
            ("item-chain", &event_subject(ITEM_B, 9)),
        ])
    );
}

#[test]
fn a_duplicated_event_and_item_are_reported() {
    let mut bundle = honest_bundle();
    let copy = bundle.items[1].clone();
    bundle.items.push(copy);
    let got = check(&bundle);
    assert!(got.contains(&("item-unique".to_owned(), format!("item {ITEM_B}"))));
    for index in [2, 5, 7] {
        assert!(got.contains(&("event-unique".to_owned(), event_subject(ITEM_B, index))));
    }
}

#[test]
fn altered_event_bytes_fail_signature_inclusion_and_the_links_to_it() {
    let mut bundle = honest_bundle();
    let ev = &mut bundle.items[0].events[1].event; // event 3, access A
    let text = String::from_utf8(ev.clone()).unwrap();
    *ev = text.replacen("examiner", "examinar", 1).into_bytes();
    assert_eq!(
        check(&bundle),
        fails(&[
            ("event-signature", &event_subject(ITEM_A, 3)),
            ("event-inclusion", &event_subject(ITEM_A, 3)),
            ("item-chain", &event_subject(ITEM_A, 6)),
        ])
    );
}

#[test]
fn non_canonical_event_bytes_fail_parse_and_skip_dependent_checks() {
    let mut bundle = honest_bundle();
    let ev = &mut bundle.items[1].events[1].event; // event 5
    ev.push(b' ');
    let got = check(&bundle);
    assert_eq!(
        got,
        fails(&[
            ("event-signature", &event_subject(ITEM_B, 5)),
            ("event-parse", &event_subject(ITEM_B, 5)),
            ("event-inclusion", &event_subject(ITEM_B, 5)),
            ("item-chain", &event_subject(ITEM_B, 7)),
            ("global-chain", &event_subject(ITEM_A, 6)),
        ])
    );
}

#[test]
fn altered_item_metadata_fails_item_ingest() {
    let mut bundle = honest_bundle();
    bundle.items[0].size = 4;
    bundle.items[0].description = Some("Laptop image".to_owned());
    let report = verify(&bundle, &full_options(&honest_log()));
    let got = failing(&report);
    assert!(got.contains(&("item-ingest".to_owned(), format!("item {ITEM_A}"))));
    let reason = report
        .failures()
        .find(|c| c.id == CheckId::ItemIngest)
        .and_then(|c| c.outcome.reason().map(str::to_owned))
        .unwrap();
    assert!(
        reason.contains("size") && reason.contains("description"),
        "{reason}"
    );
    // The size also no longer matches the evidence file.
    assert!(got.contains(&("evidence-match".to_owned(), "evidence a.bin".to_owned())));
}

#[test]
fn an_md5_the_ingest_did_not_record_is_refused() {
    let mut bundle = honest_bundle();
    bundle.items[1].md5 = Some([7; 16]);
    let report = verify(&bundle, &full_options(&honest_log()));
    assert_eq!(
        failing(&report),
        fails(&[("item-ingest", &format!("item {ITEM_B}"))])
    );
    // The caller hashed b.bin without MD5 (as custos-verify does when no item records one).
    let warn: Vec<_> = report.warnings().map(|c| c.id).collect();
    assert_eq!(warn, vec![CheckId::EvidenceMatch]);
}

#[test]
fn an_altered_item_hash_fails_every_event_item_and_the_evidence() {
    let mut bundle = honest_bundle();
    bundle.items[1].sha256 = Sha256Hash::digest(b"other");
    let got = check(&bundle);
    let mut want = vec![("item-ingest".to_owned(), format!("item {ITEM_B}"))];
    for index in [2, 5, 7] {
        want.push(("event-item".to_owned(), event_subject(ITEM_B, index)));
    }
    want.push(("evidence-match".to_owned(), "evidence b.bin".to_owned()));
    assert_eq!(got, want.into_iter().collect());
}

// Checkpoint alterations.

fn replace_line(note: &str, line: usize, with: &str) -> String {
    let mut lines: Vec<&str> = note.split('\n').collect();
    lines[line] = with;
    lines.join("\n")
}

#[test]
fn an_altered_checkpoint_signature_fails_it_only() {
    let mut bundle = honest_bundle();
    let mut note = custos_core::note::Note::parse(&bundle.checkpoint).unwrap();
    note.signatures[0].signature[0] ^= 1;
    bundle.checkpoint = note.to_string();
    assert_eq!(
        check(&bundle),
        fails(&[("checkpoint-signature", "checkpoint")])
    );
}

#[test]
fn an_altered_checkpoint_root_fails_signatures_and_every_proof() {
    let mut bundle = honest_bundle();
    bundle.checkpoint = replace_line(&bundle.checkpoint, 2, &Sha256Hash::empty().to_base64());
    let got = check(&bundle);
    let ids: BTreeSet<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "checkpoint-signature",
            "witness-cosignature",
            "consistency-proof",
            "since-consistency",
            "event-inclusion"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(got.len(), 4 + 7);
}

#[test]
fn an_altered_checkpoint_origin_fails_signatures_and_origin() {
    let mut bundle = honest_bundle();
    bundle.checkpoint = replace_line(&bundle.checkpoint, 0, "custos.example.org/agency-y");
    let got = check(&bundle);
    assert_eq!(
        got,
        fails(&[
            ("checkpoint-signature", "checkpoint"),
            ("checkpoint-origin", "checkpoint"),
            ("witness-cosignature", &format!("witness {WITNESS_NAME}")),
        ])
    );
}

#[test]
fn an_altered_checkpoint_size_fails_the_signatures() {
    let mut bundle = honest_bundle();
    bundle.checkpoint = replace_line(&bundle.checkpoint, 1, "11");
    // Proofs do not prove the size (docs/FORMATS.md §4.4): most proofs, and the consistency
    // proof from 4, have the same shape in trees of 10 and 11 leaves and still lead to the
    // (unchanged) root. The signatures catch it; only entry 9's path changes shape.
    assert_eq!(
        check(&bundle),
        fails(&[
            ("checkpoint-signature", "checkpoint"),
            ("witness-cosignature", &format!("witness {WITNESS_NAME}")),
            ("event-inclusion", &event_subject(ITEM_A, 9)),
        ])
    );
}

#[test]
fn an_unreadable_checkpoint_fails_format_signature_and_every_dependent_check() {
    let mut bundle = honest_bundle();
    bundle.checkpoint = "garbage".to_owned();
    let got = check(&bundle);
    let ids: BTreeSet<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "checkpoint-format",
            "checkpoint-signature",
            "witness-cosignature",
            "consistency-proof",
            "since-consistency",
            "event-inclusion"
        ]
        .into_iter()
        .collect()
    );
}

// Witnesses.

#[test]
fn a_trusted_witness_that_did_not_cosign_fails() {
    let log = honest_log();
    let mut bundle = honest_bundle();
    bundle.checkpoint = log.checkpoint(log.size(), false);
    assert_eq!(
        check(&bundle),
        fails(&[("witness-cosignature", &format!("witness {WITNESS_NAME}"))])
    );
}

#[test]
fn an_unknown_cosigner_is_listed_as_not_checked() {
    let log = honest_log();
    let stranger =
        custos_core::cosignature::CosignatureSigner::from_seed("stranger.example/w", [5; 32])
            .unwrap();
    let mut bundle = honest_bundle();
    let mut note = custos_core::note::Note::parse(&bundle.checkpoint).unwrap();
    note.add_signature(stranger.cosign(&note, 1).unwrap())
        .unwrap();
    bundle.checkpoint = note.to_string();
    let report = verify(&bundle, &full_options(&log));
    assert_eq!(report.verdict, Verdict::Verified);
    let warns: Vec<_> = report.warnings().collect();
    assert_eq!(warns.len(), 1);
    assert_eq!(warns[0].id, CheckId::WitnessUnchecked);
    assert_eq!(
        warns[0].subject,
        Subject::Cosigner {
            name: "stranger.example/w".to_owned(),
            key_id: stranger.key_id()
        }
    );
}

// Consistency and since.

fn opts_since(since: String) -> VerifyOptions {
    VerifyOptions {
        since: Some(since),
        ..full_options(&honest_log())
    }
}

#[test]
fn since_without_a_matching_proof_fails() {
    let log = honest_log();
    let report = verify(&honest_bundle(), &opts_since(log.checkpoint(6, false)));
    assert_eq!(
        failing(&report),
        fails(&[("since-consistency", "since checkpoint")])
    );
    let reason = report.failures().next().unwrap().outcome.reason().unwrap();
    assert!(
        reason.contains("no consistency proof from size 6"),
        "{reason}"
    );
}

#[test]
fn since_larger_than_the_bundle_is_a_rollback() {
    let mut log = honest_log();
    let bundle = log.bundle(log.size(), &[SINCE_SIZE]);
    log.append("access", Some(CASE), Some(ITEM_A), vec![]);
    let report = verify(&bundle, &opts_since(log.checkpoint(11, false)));
    assert_eq!(
        failing(&report),
        fails(&[("since-consistency", "since checkpoint")])
    );
    let c = report.failures().next().unwrap();
    assert!(c.outcome.reason().unwrap().starts_with("rollback"));
    assert!(c.message.contains("rollback"));
}

#[test]
fn since_of_equal_size_needs_the_same_root() {
    let log = honest_log();
    let report = verify(&honest_bundle(), &opts_since(log.checkpoint(10, true)));
    assert_eq!(failing(&report), BTreeSet::new());
    // A forked log: same size, another history, signed by the same key.
    let mut fork = TestLog::new();
    fork.append("case-create", Some("OTHER"), None, vec![]);
    for _ in 1..10 {
        fork.append("access-denied", Some("OTHER"), None, vec![]);
    }
    let report = verify(&honest_bundle(), &opts_since(fork.checkpoint(10, false)));
    assert_eq!(
        failing(&report),
        fails(&[("since-consistency", "since checkpoint")])
    );
}

#[test]
fn since_from_a_forked_log_is_a_split_view() {
    // The user holds a checkpoint at 4 of another history; the bundle's proof starts from
    // the honest root at 4.
    let mut fork = TestLog::new();
    for _ in 0..4 {
        fork.append("access-denied", Some("OTHER"), None, vec![]);
    }
    let report = verify(&honest_bundle(), &opts_since(fork.checkpoint(4, false)));
    let got = failing(&report);
    assert_eq!(got, fails(&[("since-consistency", "since checkpoint")]));
    assert!(
        report
            .failures()
            .next()
            .unwrap()
            .message
            .contains("split view")
    );
}

#[test]
fn since_signed_by_another_key_fails_its_signature() {
    let log = honest_log();
    let other = NoteSigner::from_seed(ORIGIN, OTHER_SEED).unwrap();
    let since = log
        .checkpoint_body(SINCE_SIZE)
        .sign(&other)
        .unwrap()
        .to_string();
    assert_eq!(
        failing(&verify(&honest_bundle(), &opts_since(since))),
        fails(&[("since-signature", "since checkpoint")])
    );
    assert_eq!(
        failing(&verify(
            &honest_bundle(),
            &opts_since("nonsense".to_owned())
        )),
        fails(&[("since-signature", "since checkpoint")])
    );
}

#[test]
fn since_of_size_zero_and_one_are_handled() {
    let log = honest_log();
    let bundle = log.bundle(log.size(), &[1]);
    let mut opts = opts_since(log.checkpoint(1, false));
    assert_eq!(failing(&verify(&bundle, &opts)), BTreeSet::new());
    opts.since = Some(log.checkpoint(0, false));
    assert_eq!(failing(&verify(&bundle, &opts)), BTreeSet::new());
}

#[test]
fn an_altered_consistency_proof_fails_it_and_since() {
    let mut bundle = honest_bundle();
    bundle.consistency[0].proof[0].0[31] ^= 1;
    assert_eq!(
        check(&bundle),
        fails(&[
            ("consistency-proof", "consistency[0] from size 4"),
            ("since-consistency", "since checkpoint"),
        ])
    );
}

// Evidence.

#[test]
fn evidence_matching_no_item_fails_naming_its_sha256() {
    let log = honest_log();
    let mut opts = full_options(&log);
    opts.evidence = vec![digest("x.bin", b"abd", None, None)];
    let report = verify(&honest_bundle(), &opts);
    let c = report.failures().next().unwrap();
    assert_eq!(c.id, CheckId::EvidenceMatch);
    let sha = Sha256Hash::digest(b"abd").to_hex();
    assert!(c.outcome.reason().unwrap().contains(&sha));
    assert!(c.message.contains(&sha));
    assert_eq!(report.failures().count(), 1);
}

#[test]
fn evidence_md5_and_sha1_are_compared_when_recorded() {
    let log = honest_log();
    let mut opts = full_options(&log);
    opts.evidence = vec![digest(
        "a.bin",
        CONTENT_A,
        Some(&"0".repeat(32)),
        Some(SHA1_A),
    )];
    let report = verify(&honest_bundle(), &opts);
    assert_eq!(
        failing(&report),
        fails(&[("evidence-match", "evidence a.bin")])
    );
    assert!(
        report
            .failures()
            .next()
            .unwrap()
            .outcome
            .reason()
            .unwrap()
            .contains("MD5")
    );
    // Not computed by the caller: a warning, not a pass.
    opts.evidence = vec![digest("a.bin", CONTENT_A, None, Some(SHA1_A))];
    let report = verify(&honest_bundle(), &opts);
    assert_eq!(report.verdict, Verdict::Verified);
    let warn: Vec<_> = report.warnings().collect();
    assert_eq!(warn.len(), 1);
    assert_eq!(
        warn[0].outcome,
        Outcome::Warn(format!("not computed: {ITEM_A} MD5"))
    );
}

#[test]
fn every_finding_is_reported_not_only_the_first() {
    let mut bundle = honest_bundle();
    bundle.log.fingerprint = Sha256Hash::digest(b"x");
    bundle.items[0].events[0].signature[0] ^= 1;
    bundle.items[1].events[2].inclusion_proof.clear();
    let mut opts = full_options(&honest_log());
    opts.evidence.push(digest("z.bin", b"z", None, None));
    let got = failing(&verify(&bundle, &opts));
    assert_eq!(
        got,
        fails(&[
            ("log-fingerprint", "log key"),
            ("event-signature", &event_subject(ITEM_A, 1)),
            ("event-inclusion", &event_subject(ITEM_B, 7)),
            ("evidence-match", "evidence z.bin"),
        ])
    );
}

#[test]
fn check_ids_are_unique_kebab_case() {
    let ids: BTreeSet<&str> = CheckId::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(ids.len(), CheckId::ALL.len());
    for id in ids {
        assert!(
            id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{id}"
        );
        assert!(!id.starts_with('-') && !id.ends_with('-') && !id.contains("--"));
    }
}
