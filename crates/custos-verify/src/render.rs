//! Printing a report: one line per check and a verdict paragraph for people (the wording is
//! `custos_core::bundle::render`, shared with the browser page), or one JSON document for
//! programs.

use custos_core::bundle::{Report, Verdict};

pub use custos_core::bundle::render::{human, sanitize};

/// The exit code of a verdict (documented in `--help`).
pub fn exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Verified => 0,
        Verdict::Failed => 1,
        Verdict::VerifiedUnpinned => 3,
    }
}

/// The report as one JSON document.
pub fn json(bundle_name: &str, report: &Report) -> serde_json::Value {
    let s = &report.summary;
    let checks: Vec<serde_json::Value> = report
        .checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id.as_str(),
                "subject": c.subject.to_string(),
                "outcome": c.outcome.as_str(),
                "reason": c.outcome.reason(),
                "message": c.message,
            })
        })
        .collect();
    let witnesses: Vec<serde_json::Value> = s
        .witnesses
        .iter()
        .map(|(name, ts)| serde_json::json!({ "name": name, "timestamp": ts }))
        .collect();
    serde_json::json!({
        "bundle": bundle_name,
        "verdict": report.verdict.as_str(),
        "exit_code": exit_code(report.verdict),
        "summary": {
            "origin": s.origin,
            "key": s.key,
            "key_fingerprint": s.key_fingerprint,
            "pinned": s.pinned,
            "checkpoint_size": s.checkpoint_size,
            "checkpoint_root": s.checkpoint_root.map(|r| r.to_base64()),
            "items": s.items,
            "events": s.events,
            "witnesses": witnesses,
            "since_size": s.since_size,
            "evidence_matched": s.evidence_matched,
        },
        "checks": checks,
    })
}
