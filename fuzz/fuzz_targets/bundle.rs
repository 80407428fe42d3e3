//! Report bundles (docs/FORMATS.md §7): any bytes either fail `Bundle::parse` with an error,
//! or parse to a bundle that `to_json` writes back to the same bundle; verifying it against
//! the fixtures' keys, earlier checkpoint and evidence never panics, and the verdict is
//! `failed` exactly when some check failed. Seeds: `tests/fixtures/bundles/*.json`.
#![no_main]

use custos_core::Sha256Hash;
use custos_core::bundle::{Bundle, EvidenceDigest, Pin, Verdict, VerifyOptions, render, verify};
use custos_core::cosignature::CosignatureVerifier;
use custos_core::note::NoteVerifier;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const LOG_KEY: &str = include_str!("../../tests/fixtures/bundles/log.pub");
const WITNESS_KEY: &str = include_str!("../../tests/fixtures/bundles/witness.pub");
const SINCE: &str = include_str!("../../tests/fixtures/bundles/since-4.checkpoint");

fn options() -> &'static VerifyOptions {
    static OPTS: OnceLock<VerifyOptions> = OnceLock::new();
    OPTS.get_or_init(|| {
        let mut md5 = [0u8; 16];
        hex::decode_to_slice("900150983cd24fb0d6963f7d28e17f72", &mut md5).unwrap();
        VerifyOptions {
            pin: Pin::Key(NoteVerifier::parse(LOG_KEY.trim()).unwrap()),
            witnesses: vec![CosignatureVerifier::parse(WITNESS_KEY.trim()).unwrap()],
            since: Some(SINCE.to_owned()),
            evidence: vec![
                EvidenceDigest {
                    name: "a.bin".to_owned(),
                    size: 3,
                    sha256: Sha256Hash::digest(b"abc"),
                    md5: Some(md5),
                    sha1: None,
                },
                EvidenceDigest {
                    name: "b.bin".to_owned(),
                    size: 43,
                    sha256: Sha256Hash::digest(b"The quick brown fox jumps over the lazy dog"),
                    md5: None,
                    sha1: None,
                },
            ],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = Bundle::parse(data) else {
        return;
    };
    let written = bundle.to_json();
    let again = Bundle::parse(written.as_bytes()).expect("a parsed bundle, written back, parses");
    assert_eq!(
        again, bundle,
        "a parsed bundle, written back, is the same bundle"
    );
    let report = verify(&bundle, options());
    assert_eq!(
        report.verdict == Verdict::Failed,
        report.failures().next().is_some(),
        "the verdict is failed exactly when a check failed"
    );
    let _ = render::human("fuzz.json", &report);
});
