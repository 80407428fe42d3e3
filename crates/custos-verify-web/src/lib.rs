//! The Custos court verifier in the browser.
//!
//! `custos-verify` checks a custody report bundle on the command line; this crate gives a
//! single HTML page the very same checks, compiled to WebAssembly: every check is made by
//! `custos_core::bundle::verify`, and the report is worded by `custos_core::bundle::render`,
//! so the page and the command line say the same thing (docs/FORMATS.md §7). Nothing leaves
//! the browser: the page reads the files the user drops and hashes evidence files slice by
//! slice ([`EvidenceHasher`]), so a file of many gigabytes never sits in memory whole.
//!
//! The JavaScript side (`page/app.js`) calls, in order: [`digests_wanted`] on the bundle's
//! bytes, an [`EvidenceHasher`] per evidence file fed with `File.slice` chunks, then
//! [`verify_bundle`], which returns the report as JSON ([`report_json`] says what it holds).
//! `build-page.sh` binds it with `wasm-bindgen --target no-modules` and inlines everything
//! into one page that works from `file://`.
#![forbid(unsafe_code)]

mod hasher;

pub use hasher::{Evidence, EvidenceHasher};

use custos_core::bundle::render::{check_line, human, outcome_tag, sanitize, verdict_paragraph};
use custos_core::bundle::{Bundle, MAX_BUNDLE_BYTES, Pin, Report, VerifyOptions, verify_bytes};
use custos_core::cosignature::CosignatureVerifier;
use custos_core::note::NoteVerifier;
use wasm_bindgen::prelude::{JsError, wasm_bindgen};

/// Which optional digests the evidence hashers must compute for a bundle: MD5 and SHA-1 only
/// when some item records them, as `custos-verify` decides.
#[wasm_bindgen]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Some item records an MD5.
    pub md5: bool,
    /// Some item records a SHA-1.
    pub sha1: bool,
}

/// The digests evidence files must be hashed with for this bundle; `undefined` when the
/// bundle does not parse (its report then says why, and evidence is not needed).
#[wasm_bindgen]
pub fn digests_wanted(bundle: &[u8]) -> Option<Wanted> {
    Bundle::parse(bundle).ok().map(|b| Wanted {
        md5: b.items.iter().any(|i| i.md5.is_some()),
        sha1: b.items.iter().any(|i| i.sha1.is_some()),
    })
}

/// Largest bundle accepted, in bytes: the page reads at most one byte more, so that a larger
/// file is refused as too large without being read whole.
#[wasm_bindgen]
pub fn max_bundle_bytes() -> f64 {
    MAX_BUNDLE_BYTES as f64
}

/// A user input the page cannot use; shown instead of a report (the command line's exit
/// code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The pin field holds neither a verifier key nor a fingerprint.
    #[error(
        "the pinned key is neither a log verifier key (name+keyid+base64: {reason}) nor a key fingerprint (64 hex digits)"
    )]
    Pin {
        /// Why it is not a verifier key.
        reason: String,
    },
    /// A line of the witness field is not a witness verifier key.
    #[error("witness key on line {line} is not a witness verifier key: {reason}")]
    Witness {
        /// The line, from 1.
        line: usize,
        /// Why.
        reason: String,
    },
}

/// The pin field: empty for no pin, 64 hex digits (spaces and colons ignored) for a
/// fingerprint (`--fingerprint`), otherwise a verifier key string (`--key`).
pub fn parse_pin(text: &str) -> Result<Pin, InputError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Pin::None);
    }
    if let Some(pin) = Pin::fingerprint_from_text(text) {
        return Ok(pin);
    }
    NoteVerifier::parse(text)
        .map(Pin::Key)
        .map_err(|e| InputError::Pin {
            reason: e.to_string(),
        })
}

/// The witness field: one witness verifier key per non-empty line (`--witness`).
pub fn parse_witnesses(text: &str) -> Result<Vec<CosignatureVerifier>, InputError> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .map(|(line, l)| {
            CosignatureVerifier::parse(l).map_err(|e| InputError::Witness {
                line,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// What the page shows for a report, as JSON:
///
/// - `bundle`: the bundle's name; `verdict`: `verified`, `verified-unpinned` or `failed`;
/// - `verdict_text`: the verdict paragraph and `text`: the whole text report, both exactly
///   as `custos-verify` prints them;
/// - `checks`: each check's `id`, `subject`, `outcome` (`pass`, `fail`, `warn`), `tag`
///   (`PASS`, `FAIL`, `WARN`), `message`, `reason` (`null` for a pass) and its text-report
///   `line`;
/// - `summary`: `pinned`, `key`, `key_fingerprint`, `items`, `events`, `evidence_matched`.
///
/// Text that comes from the bundle or the user is made safe to show ([`sanitize`]); the page
/// still inserts it as text, never as HTML.
pub fn report_json(bundle_name: &str, report: &Report) -> serde_json::Value {
    let checks: Vec<serde_json::Value> = report
        .checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id.as_str(),
                "subject": sanitize(&c.subject.to_string()),
                "outcome": c.outcome.as_str(),
                "tag": outcome_tag(&c.outcome),
                "message": sanitize(&c.message),
                "reason": c.outcome.reason().map(sanitize),
                "line": check_line(c),
            })
        })
        .collect();
    let s = &report.summary;
    serde_json::json!({
        "bundle": sanitize(bundle_name),
        "verdict": report.verdict.as_str(),
        "verdict_text": verdict_paragraph(report),
        "text": human(bundle_name, report),
        "checks": checks,
        "summary": {
            "pinned": s.pinned,
            "key": s.key.as_deref().map(sanitize),
            "key_fingerprint": s.key_fingerprint,
            "items": s.items,
            "events": s.events,
            "evidence_matched": s.evidence_matched,
        },
    })
}

/// Verify `bundle` (named `bundle_name` in the report) against the pin field, the evidence
/// digests, the witness field and an earlier checkpoint note; the report as
/// [`report_json`] text. The native form of [`verify_bundle`].
pub fn verify_to_json(
    bundle: &[u8],
    bundle_name: &str,
    pin: &str,
    evidence: &[Evidence],
    witnesses: &str,
    since: Option<String>,
) -> Result<String, InputError> {
    let opts = VerifyOptions {
        pin: parse_pin(pin)?,
        witnesses: parse_witnesses(witnesses)?,
        since,
        evidence: evidence.iter().map(|e| e.digest().clone()).collect(),
    };
    let report = verify_bytes(bundle, &opts);
    Ok(report_json(bundle_name, &report).to_string())
}

/// Verify a bundle in the browser: the bundle's bytes and name, the pin field (a verifier key,
/// a fingerprint, or empty), the evidence digests (consumed), the witness keys (one per line)
/// and the text of an earlier checkpoint the user holds (or `undefined`). Returns the report
/// as JSON ([`report_json`]); throws an `Error` for an unusable pin or witness key.
#[wasm_bindgen]
pub fn verify_bundle(
    bundle: &[u8],
    bundle_name: &str,
    pin: &str,
    evidence: Vec<Evidence>,
    witnesses: &str,
    since: Option<String>,
) -> Result<String, JsError> {
    verify_to_json(bundle, bundle_name, pin, &evidence, witnesses, since)
        .map_err(|e| JsError::new(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/bundles");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
    }

    #[test]
    fn pin_field_is_nothing_a_fingerprint_or_a_key() {
        assert!(matches!(parse_pin("  \n"), Ok(Pin::None)));
        let key = fixture("log.pub");
        let verifier = NoteVerifier::parse(key.trim()).unwrap();
        match parse_pin(&key) {
            Ok(Pin::Key(k)) => assert_eq!(k, verifier),
            other => panic!("{other:?}"),
        }
        let fp = verifier.fingerprint().to_ascii_uppercase();
        match parse_pin(&fp) {
            Ok(Pin::Fingerprint(f)) => assert_eq!(f, verifier.fingerprint()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_pin("abc"), Err(InputError::Pin { .. })));
        // 63 hex digits: not a fingerprint, and not a key either.
        assert!(matches!(
            parse_pin(&verifier.fingerprint()[1..]),
            Err(InputError::Pin { .. })
        ));
    }

    #[test]
    fn witness_field_names_the_bad_line() {
        let w = fixture("witness.pub");
        assert_eq!(parse_witnesses(&format!("\n{w}\n")).unwrap().len(), 1);
        // The log key is of type 0x01, not a witness key (0x04).
        let text = format!("{}\n\n{}", w.trim(), fixture("log.pub"));
        match parse_witnesses(&text) {
            Err(InputError::Witness { line: 3, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn report_json_holds_the_command_line_text_and_every_check() {
        let bundle = fixture("event-signature.json");
        let json = verify_to_json(bundle.as_bytes(), "b\u{202e}.json", "", &[], "", None).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["verdict"], "failed");
        assert_eq!(
            v["bundle"], "b\\u{202E}.json",
            "names are made safe to show"
        );
        let report = verify_bytes(bundle.as_bytes(), &VerifyOptions::default());
        assert_eq!(v["text"], human("b\u{202e}.json", &report));
        assert_eq!(v["verdict_text"], verdict_paragraph(&report));
        let checks = v["checks"].as_array().unwrap();
        assert_eq!(checks.len(), report.checks.len());
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| c["outcome"] == "fail")
            .map(|c| {
                format!(
                    "{} {}",
                    c["id"].as_str().unwrap(),
                    c["subject"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            failed,
            ["event-signature item itm_aaaaaaaaaaaaaaaaaaaaaaaaaa event 3"]
        );
        assert!(checks.iter().all(|c| {
            c["line"]
                .as_str()
                .unwrap()
                .starts_with(c["tag"].as_str().unwrap())
        }));
    }

    #[test]
    fn digests_wanted_follows_the_items() {
        let honest = fixture("honest.json");
        assert_eq!(
            digests_wanted(honest.as_bytes()),
            Some(Wanted {
                md5: true,
                sha1: true
            })
        );
        assert_eq!(digests_wanted(b"{}"), None);
    }
}
