//! A [`Report`] as text for people: one line per check and a verdict paragraph.
//!
//! Shared by the command-line verifier (`custos-verify`) and the browser page
//! (`custos-verify-web`), so that a court sees the same words whichever it uses
//! (docs/FORMATS.md §7.5). Pure string formatting: no I/O.

use super::is_forbidden_char;
use super::report::{Check, Outcome, Report, Verdict};
use crate::event::Timestamp;
use std::fmt::Write as _;

/// Text from the bundle, made safe to show: control and bidirectional-formatting characters
/// (which could hide or reorder what is shown) are written as `\u{XXXX}`.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_forbidden_char(c) {
            let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `PASS`, `FAIL` or `WARN`.
pub fn outcome_tag(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "PASS",
        Outcome::Fail(_) => "FAIL",
        Outcome::Warn(_) => "WARN",
    }
}

/// `PASS  check-id  subject: sentence` (and `(reason)` for failures and warnings).
pub fn check_line(c: &Check) -> String {
    let mut line = format!(
        "{}  {:<21} {}: {}",
        outcome_tag(&c.outcome),
        c.id.as_str(),
        sanitize(&c.subject.to_string()),
        sanitize(&c.message)
    );
    if let Some(reason) = c.outcome.reason() {
        let _ = write!(line, " ({})", sanitize(reason));
    }
    line
}

/// The whole report: a title naming the bundle, one [`check_line`] per check, then the
/// [`verdict_paragraph`].
pub fn human(bundle_name: &str, report: &Report) -> String {
    let mut out = format!("Custos report bundle: {}\n\n", sanitize(bundle_name));
    for c in &report.checks {
        out.push_str(&check_line(c));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&verdict_paragraph(report));
    out
}

/// The verdict in plain language: for `verified` the pinned key and what was verified; for
/// `verified-unpinned` a warning marked `!!!` that says how to pin; for `failed` the failing
/// checks again. Ends with a newline.
pub fn verdict_paragraph(report: &Report) -> String {
    let s = &report.summary;
    let key = s.key.as_deref().map(sanitize).unwrap_or_default();
    let fp = s.key_fingerprint.clone().unwrap_or_default();
    let mut out = String::new();
    match report.verdict {
        Verdict::Failed => {
            let failed = report.failures().count();
            let _ = writeln!(
                out,
                "FAILED: {failed} check{} failed. Do not rely on this bundle: it was altered, is \
                 incomplete, or was not made by the log you pinned. The failures:",
                plural(failed)
            );
            for c in report.failures() {
                let _ = writeln!(out, "  {}", check_line(c));
            }
            return out;
        }
        Verdict::Verified => {
            let _ = writeln!(
                out,
                "VERIFIED with the log key you pinned: {key}\n  key fingerprint {fp}"
            );
        }
        Verdict::VerifiedUnpinned => {
            let _ = writeln!(
                out,
                "VERIFIED ONLY AGAINST THE BUNDLE'S OWN KEY. NOTHING WAS PINNED.\n\
                 !!! Every signature was checked with the key the bundle itself carries. That shows\n\
                 !!! only that the bundle is consistent with itself: anyone can make a bundle that\n\
                 !!! passes this way with a key of their own.\n\
                 !!! To pin, obtain the log's verifier key or its fingerprint by another channel (from\n\
                 !!! the vault operator, on paper or by phone: `custos key --json` prints both) and run\n\
                 !!! again with\n\
                 !!!     --key '<verifier key>'   or   --fingerprint <64 hex digits>\n\
                 !!! The bundle's key is {key}\n\
                 !!! with fingerprint {fp}: compare that with what the operator gives you."
            );
        }
    }
    summary_lines(report, &mut out);
    out
}

fn summary_lines(report: &Report, out: &mut String) {
    let s = &report.summary;
    if let (Some(size), Some(root)) = (s.checkpoint_size, s.checkpoint_root) {
        let _ = writeln!(
            out,
            "  checkpoint: log {} at {size} entries, root {}, signed by the log key",
            sanitize(s.origin.as_deref().unwrap_or("")),
            root.to_base64()
        );
    }
    for (name, ts) in &s.witnesses {
        let _ = writeln!(
            out,
            "  cosigned by witness {} at {}",
            sanitize(name),
            unix_time(*ts)
        );
    }
    if let Some(size) = s.since_size {
        let _ = writeln!(
            out,
            "  the log extends the checkpoint you hold (size {size}): nothing was rolled back or rewritten"
        );
    }
    let _ = writeln!(
        out,
        "  {} item{}, {} event{}: each event signed, included in the checkpoint, and chained",
        s.items,
        plural(s.items),
        s.events,
        plural(s.events)
    );
    match s.evidence_matched {
        0 => {}
        1 => out.push_str("  1 evidence file matched its item\n"),
        n => {
            let _ = writeln!(out, "  {n} evidence files each matched their item");
        }
    }
    let warned = report.warnings().count();
    if warned > 0 {
        let _ = writeln!(
            out,
            "  {warned} warning{}: something was not checked",
            plural(warned)
        );
        for c in report.warnings() {
            let _ = writeln!(out, "  {}", check_line(c));
        }
    }
}

/// Unix seconds as RFC 3339 UTC, or the bare number when out of range.
fn unix_time(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .and_then(|us| Timestamp::from_unix_micros(us).ok())
        .map_or_else(|| format!("Unix time {ts}"), |t| t.to_rfc3339())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{CheckId, Subject, Summary};

    #[test]
    fn sanitize_escapes_controls_and_bidi_overrides() {
        assert_eq!(sanitize("ok ö"), "ok ö");
        assert_eq!(sanitize("a\u{1b}[2Jb"), "a\\u{001B}[2Jb");
        assert_eq!(sanitize("x\u{202e}y\n"), "x\\u{202E}y\\u{000A}");
    }

    #[test]
    fn check_line_pads_the_id_and_appends_the_reason() {
        let c = Check {
            id: CheckId::KeyPin,
            subject: Subject::Log,
            outcome: Outcome::Fail("not \u{202e}pinned".to_owned()),
            message: "Nope.".to_owned(),
        };
        assert_eq!(
            check_line(&c),
            "FAIL  key-pin               log key: Nope. (not \\u{202E}pinned)"
        );
    }

    #[test]
    fn unix_time_out_of_range_is_printed_as_a_number() {
        assert_eq!(unix_time(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(unix_time(u64::MAX), format!("Unix time {}", u64::MAX));
    }

    #[test]
    fn failed_verdict_repeats_the_failures_and_no_summary() {
        let report = Report {
            checks: vec![Check {
                id: CheckId::BundleFormat,
                subject: Subject::Bundle,
                outcome: Outcome::Fail("bad".to_owned()),
                message: "Broken.".to_owned(),
            }],
            verdict: Verdict::Failed,
            summary: Summary::default(),
        };
        let text = verdict_paragraph(&report);
        assert!(text.starts_with("FAILED: 1 check failed."), "{text}");
        assert!(text.contains("  FAIL  bundle-format"), "{text}");
        assert!(!text.contains("item"), "{text}");
    }
}
