//! The checks of [`verify`]: every claim of a parsed bundle, each reported.

use super::report::{
    Check, CheckId, EvidenceDigest, Outcome, Pin, Report, Subject, Summary, Verdict, VerifyOptions,
};
use super::{Bundle, BundleError, BundleEvent, ConsistencyEntry, Item};
use crate::checkpoint::Checkpoint;
use crate::cosignature::{CosignatureError, CosignatureVerifier};
use crate::event::{Action, Event, Timestamp, verify_event};
use crate::hash::Sha256Hash;
use crate::jcs::Value;
use crate::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use crate::note::{KeyId, Note, NoteVerifier};
use std::collections::{BTreeMap, BTreeSet};

/// Parse `bytes` and verify them; a bundle that does not parse gives a report with one failed
/// `bundle-format` (or `bundle-version`) check.
pub fn verify_bytes(bytes: &[u8], opts: &VerifyOptions) -> Report {
    match Bundle::parse(bytes) {
        Ok(bundle) => verify(&bundle, opts),
        Err(e) => parse_failure_report(&e),
    }
}

/// The report for a bundle that could not be parsed.
pub fn parse_failure_report(e: &BundleError) -> Report {
    let message = match e.check_id() {
        CheckId::BundleVersion => {
            "The bundle is of a format version this verifier does not implement; nothing in it was checked."
        }
        _ => "The file is not a well-formed Custos report bundle; nothing in it was checked.",
    };
    Report {
        checks: vec![Check {
            id: e.check_id(),
            subject: Subject::Bundle,
            outcome: Outcome::Fail(e.to_string()),
            message: message.to_owned(),
        }],
        verdict: Verdict::Failed,
        summary: Summary::default(),
    }
}

/// Collects checks.
struct Recorder {
    checks: Vec<Check>,
}

impl Recorder {
    fn push(&mut self, id: CheckId, subject: Subject, outcome: Outcome, message: String) {
        self.checks.push(Check {
            id,
            subject,
            outcome,
            message,
        });
    }

    fn pass(&mut self, id: CheckId, subject: Subject, message: String) {
        self.push(id, subject, Outcome::Pass, message);
    }

    fn fail(&mut self, id: CheckId, subject: Subject, reason: String, message: String) {
        self.push(id, subject, Outcome::Fail(reason), message);
    }

    /// Pass when `result` is `Ok`, else fail with its error as the reason.
    fn result(
        &mut self,
        id: CheckId,
        subject: Subject,
        result: Result<String, (String, String)>,
    ) -> bool {
        match result {
            Ok(message) => {
                self.pass(id, subject, message);
                true
            }
            Err((reason, message)) => {
                self.fail(id, subject, reason, message);
                false
            }
        }
    }
}

/// The log key signatures are checked with, or why none is trusted.
enum Trust {
    Key(NoteVerifier),
    Refused(String),
}

/// Verify every claim of `bundle` against `opts`, reporting every check. Never stops at the
/// first failure; checks that need a value that failed to parse (an event's fields, say) are
/// left out, and the failure of that value is reported instead. Signature checks are always
/// reported: when no key is trusted they fail, saying why.
pub fn verify(bundle: &Bundle, opts: &VerifyOptions) -> Report {
    let mut r = Recorder { checks: Vec::new() };
    let mut summary = Summary {
        origin: Some(bundle.log.origin.clone()),
        items: bundle.items.len(),
        events: bundle.items.iter().map(|i| i.events.len()).sum(),
        ..Summary::default()
    };
    r.pass(
        CheckId::BundleFormat,
        Subject::Bundle,
        "The file is a Custos custody report bundle: every member has its required type and encoding.".to_owned(),
    );
    r.pass(
        CheckId::BundleVersion,
        Subject::Bundle,
        "The bundle is format version 1, the version this verifier implements.".to_owned(),
    );
    let key = check_log(bundle, &mut r, &mut summary);
    let trust = check_pin(key.as_ref(), &opts.pin, &mut r, &mut summary);
    let checkpoint = check_checkpoint(bundle, &trust, &mut r);
    match &checkpoint {
        Some((cp, note)) => {
            summary.checkpoint_size = Some(cp.size);
            summary.checkpoint_root = Some(cp.root);
            let keys = (key.as_ref(), &trust);
            check_witnesses(note, keys, &opts.witnesses, &mut r, &mut summary);
        }
        None => {
            for w in &opts.witnesses {
                r.fail(
                    CheckId::WitnessCosignature,
                    Subject::Witness(w.name().to_owned()),
                    "not checked: the checkpoint cannot be read".to_owned(),
                    format!(
                        "Witness {}'s cosignature could not be checked, because the checkpoint cannot be read.",
                        w.name()
                    ),
                );
            }
        }
    }
    let cp = checkpoint.as_ref().map(|(cp, _)| cp);
    check_consistency_entries(bundle, cp, &mut r);
    if let Some(since) = &opts.since {
        check_since(since, bundle, cp, &trust, &mut r, &mut summary);
    }
    let listed = check_items(bundle, cp, &trust, &mut r);
    check_global_chain(&listed, &mut r);
    check_evidence(bundle, &opts.evidence, &mut r, &mut summary);
    let verdict = if r
        .checks
        .iter()
        .any(|c| matches!(c.outcome, Outcome::Fail(_)))
    {
        Verdict::Failed
    } else if summary.pinned {
        Verdict::Verified
    } else {
        Verdict::VerifiedUnpinned
    };
    Report {
        checks: r.checks,
        verdict,
        summary,
    }
}

/// `log-key`, `log-fingerprint`, `log-origin`. Returns the bundle's key when it parses.
fn check_log(bundle: &Bundle, r: &mut Recorder, summary: &mut Summary) -> Option<NoteVerifier> {
    let log = &bundle.log;
    let actual_fp = Sha256Hash::digest(log.verifier_key.as_bytes());
    let key = match NoteVerifier::parse(&log.verifier_key) {
        Ok(key) => {
            r.pass(
                CheckId::LogKey,
                Subject::Log,
                format!(
                    "The bundle names the log key {key} (fingerprint {}).",
                    key.fingerprint()
                ),
            );
            summary.key = Some(key.to_string());
            summary.key_fingerprint = Some(key.fingerprint());
            Some(key)
        }
        Err(e) => {
            r.fail(
                CheckId::LogKey,
                Subject::Log,
                e.to_string(),
                "The log key written in the bundle is not a valid Ed25519 verifier key, so no signature in the bundle can be checked with it.".to_owned(),
            );
            None
        }
    };
    let fp = if log.fingerprint == actual_fp {
        Ok("The fingerprint written in the bundle is the fingerprint of its log key.".to_owned())
    } else {
        Err((
            format!("written {}, computed {}", log.fingerprint, actual_fp),
            "The fingerprint written in the bundle is not the fingerprint of its log key: the key or the fingerprint was altered.".to_owned(),
        ))
    };
    r.result(CheckId::LogFingerprint, Subject::Log, fp);
    if let Some(key) = &key {
        let origin = if key.name() == log.origin {
            Ok(format!(
                "The log origin {} is the name of the log key.",
                log.origin
            ))
        } else {
            Err((
                format!("origin {:?}, key name {:?}", log.origin, key.name()),
                "The log origin written in the bundle is not the name of its log key.".to_owned(),
            ))
        };
        r.result(CheckId::LogOrigin, Subject::Log, origin);
    }
    key
}

/// `key-pin`: decides which key, if any, signatures are checked with.
fn check_pin(
    key: Option<&NoteVerifier>,
    pin: &Pin,
    r: &mut Recorder,
    summary: &mut Summary,
) -> Trust {
    let unreadable = || {
        "the bundle's log key cannot be read, so it cannot be compared with what you pinned"
            .to_owned()
    };
    match (pin, key) {
        (Pin::None, Some(key)) => {
            r.push(
                CheckId::KeyPin,
                Subject::Log,
                Outcome::Warn("nothing pinned: the bundle's own key was trusted".to_owned()),
                "No key was pinned: signatures were checked with the key the bundle itself carries. That shows the bundle is consistent with itself, not that the vault you expect made it.".to_owned(),
            );
            Trust::Key(key.clone())
        }
        (Pin::None, None) => {
            r.push(
                CheckId::KeyPin,
                Subject::Log,
                Outcome::Warn("nothing pinned".to_owned()),
                "No key was pinned, and the bundle's own key cannot be read.".to_owned(),
            );
            Trust::Refused("the bundle's log key cannot be read".to_owned())
        }
        (_, None) => {
            r.fail(
                CheckId::KeyPin,
                Subject::Log,
                unreadable(),
                "The bundle's log key cannot be compared with the key you pinned: nothing signed in this bundle is trusted.".to_owned(),
            );
            Trust::Refused(unreadable())
        }
        (Pin::Key(pinned), Some(key)) => {
            if pinned == key {
                r.pass(
                    CheckId::KeyPin,
                    Subject::Log,
                    format!("The bundle's log key is the key you pinned ({pinned})."),
                );
                summary.pinned = true;
                Trust::Key(key.clone())
            } else {
                let reason = format!("the bundle's log key {key} is not the pinned key {pinned}");
                r.fail(
                    CheckId::KeyPin,
                    Subject::Log,
                    reason.clone(),
                    "The bundle's log key is not the key you pinned: nothing signed in this bundle is trusted.".to_owned(),
                );
                Trust::Refused(reason)
            }
        }
        (Pin::Fingerprint(fp), Some(key)) => {
            let wanted = fp.trim().to_ascii_lowercase();
            let actual = key.fingerprint();
            if wanted == actual {
                r.pass(
                    CheckId::KeyPin,
                    Subject::Log,
                    format!("The bundle's log key has the fingerprint you pinned ({actual})."),
                );
                summary.pinned = true;
                Trust::Key(key.clone())
            } else {
                let reason = format!(
                    "the bundle's log key has fingerprint {actual}, not the pinned {wanted}"
                );
                r.fail(
                    CheckId::KeyPin,
                    Subject::Log,
                    reason.clone(),
                    "The bundle's log key does not have the fingerprint you pinned: nothing signed in this bundle is trusted.".to_owned(),
                );
                Trust::Refused(reason)
            }
        }
    }
}

fn refused_message(what: &str, reason: &str) -> (String, String) {
    (
        format!("not checked against a trusted key: {reason}"),
        format!("{what} could not be checked against a key you trust."),
    )
}

/// `checkpoint-format`, `checkpoint-signature`, `checkpoint-origin`. The body is read even
/// when the signature fails, so the other checks can still say which part was altered; the
/// verdict is a failure in that case anyway.
fn check_checkpoint(
    bundle: &Bundle,
    trust: &Trust,
    r: &mut Recorder,
) -> Option<(Checkpoint, Note)> {
    let parsed = Note::parse(&bundle.checkpoint)
        .map_err(|e| e.to_string())
        .and_then(|note| {
            Checkpoint::parse_text(&note.text)
                .map(|cp| (cp, note))
                .map_err(|e| e.to_string())
        });
    let (cp, note) = match parsed {
        Ok(pair) => pair,
        Err(e) => {
            r.fail(
                CheckId::CheckpointFormat,
                Subject::Checkpoint,
                e,
                "The checkpoint is not a well-formed signed checkpoint, so no event can be shown to be in the log.".to_owned(),
            );
            let (reason, message) = match trust {
                Trust::Refused(why) => refused_message("The checkpoint's signature", why),
                Trust::Key(_) => (
                    "not checked: the checkpoint cannot be read".to_owned(),
                    "The checkpoint's signature could not be checked.".to_owned(),
                ),
            };
            r.fail(
                CheckId::CheckpointSignature,
                Subject::Checkpoint,
                reason,
                message,
            );
            return None;
        }
    };
    r.pass(
        CheckId::CheckpointFormat,
        Subject::Checkpoint,
        format!(
            "The checkpoint is a well-formed signed note for a log of {} entries with root {}.",
            cp.size,
            cp.root.to_base64()
        ),
    );
    let sig = match trust {
        Trust::Refused(why) => Err(refused_message("The checkpoint's signature", why)),
        Trust::Key(key) => match note.verify(&[key]) {
            Ok(_) => Ok(format!(
                "The checkpoint (size {}) is signed by the log key {}.",
                cp.size,
                key.name()
            )),
            Err(e) => Err((
                e.to_string(),
                "The checkpoint's signature does not verify with the log key: the checkpoint was altered or not signed by this log.".to_owned(),
            )),
        },
    };
    r.result(CheckId::CheckpointSignature, Subject::Checkpoint, sig);
    let origin = if cp.origin == bundle.log.origin {
        Ok(format!(
            "The checkpoint's origin {} is the bundle's log origin.",
            cp.origin
        ))
    } else {
        Err((
            format!(
                "checkpoint origin {:?}, bundle origin {:?}",
                cp.origin, bundle.log.origin
            ),
            "The checkpoint is of another log than the bundle names.".to_owned(),
        ))
    };
    r.result(CheckId::CheckpointOrigin, Subject::Checkpoint, origin);
    Some((cp, note))
}

/// `witness-cosignature` for each trusted witness, `witness-unchecked` for every other line
/// that is not the log key's.
fn check_witnesses(
    note: &Note,
    (key, trust): (Option<&NoteVerifier>, &Trust),
    witnesses: &[CosignatureVerifier],
    r: &mut Recorder,
    summary: &mut Summary,
) {
    for w in witnesses {
        let subject = Subject::Witness(w.name().to_owned());
        match w.verify(note) {
            Ok(ts) => {
                r.pass(
                    CheckId::WitnessCosignature,
                    subject,
                    format!(
                        "Witness {} cosigned this checkpoint at {} (Unix time {ts}).",
                        w.name(),
                        unix_seconds_text(ts)
                    ),
                );
                summary.witnesses.push((w.name().to_owned(), ts));
            }
            Err(e) => {
                let message = match e {
                    CosignatureError::NotFound { .. } => format!(
                        "The checkpoint carries no cosignature by witness {}.",
                        w.name()
                    ),
                    _ => format!(
                        "The cosignature by witness {} does not verify: the checkpoint or the cosignature was altered.",
                        w.name()
                    ),
                };
                r.fail(CheckId::WitnessCosignature, subject, e.to_string(), message);
            }
        }
    }
    let is_log_line = |name: &str, id: KeyId| {
        key.is_some_and(|k| k.name() == name && k.key_id() == id)
            || matches!(trust, Trust::Key(k) if k.name() == name && k.key_id() == id)
    };
    let mut seen = BTreeSet::new();
    for sig in &note.signatures {
        let known = is_log_line(&sig.name, sig.key_id)
            || witnesses
                .iter()
                .any(|w| w.name() == sig.name && w.key_id() == sig.key_id);
        if known || !seen.insert((sig.name.clone(), sig.key_id)) {
            continue;
        }
        r.push(
            CheckId::WitnessUnchecked,
            Subject::Cosigner {
                name: sig.name.clone(),
                key_id: sig.key_id,
            },
            Outcome::Warn("no trusted key was given for this signer".to_owned()),
            format!(
                "The checkpoint carries a signature by {} (key ID {}) that was not checked, because no trusted key for it was given.",
                sig.name, sig.key_id
            ),
        );
    }
}

/// A Unix time in seconds as an RFC 3339 UTC text, or the bare number when out of range.
fn unix_seconds_text(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .and_then(|us| Timestamp::from_unix_micros(us).ok())
        .map_or_else(|| format!("Unix time {ts}"), |t| t.to_rfc3339())
}

/// `consistency-proof` for every member of `consistency`.
fn check_consistency_entries(bundle: &Bundle, cp: Option<&Checkpoint>, r: &mut Recorder) {
    for (position, c) in bundle.consistency.iter().enumerate() {
        let subject = Subject::Consistency {
            position,
            old_size: c.old_size,
        };
        let result = match cp {
            None => Err((
                "not checked: the checkpoint cannot be read".to_owned(),
                "The consistency proof could not be checked, because the checkpoint cannot be read.".to_owned(),
            )),
            Some(cp) => match verify_consistency(c.old_size, cp.size, &c.old_root, &cp.root, &c.proof) {
                Ok(()) => Ok(format!(
                    "The log at size {} (root {}) is a prefix of the checkpoint's log of size {}: nothing recorded up to then was changed or removed.",
                    c.old_size,
                    c.old_root.to_base64(),
                    cp.size
                )),
                Err(e) => Err((
                    e.to_string(),
                    format!(
                        "The consistency proof from size {} to the checkpoint does not verify.",
                        c.old_size
                    ),
                )),
            },
        };
        r.result(CheckId::ConsistencyProof, subject, result);
    }
}

/// `since-signature`, `since-origin`, `since-consistency`: the bundle's checkpoint must
/// extend the earlier checkpoint the user holds (no rollback, no split view).
fn check_since(
    since: &str,
    bundle: &Bundle,
    cp: Option<&Checkpoint>,
    trust: &Trust,
    r: &mut Recorder,
    summary: &mut Summary,
) {
    let parsed = Note::parse(since)
        .map_err(|e| e.to_string())
        .and_then(|note| {
            Checkpoint::parse_text(&note.text)
                .map(|old| (old, note))
                .map_err(|e| e.to_string())
        });
    let (old, note) = match parsed {
        Ok(pair) => pair,
        Err(e) => {
            r.fail(
                CheckId::SinceSignature,
                Subject::Since,
                e,
                "The earlier checkpoint you gave is not a well-formed signed checkpoint."
                    .to_owned(),
            );
            return;
        }
    };
    let sig = match trust {
        Trust::Refused(why) => Err(refused_message("The earlier checkpoint's signature", why)),
        Trust::Key(key) => match note.verify(&[key]) {
            Ok(_) => Ok(format!(
                "The earlier checkpoint you hold (size {}) is signed by the log key {}.",
                old.size,
                key.name()
            )),
            Err(e) => Err((
                e.to_string(),
                "The earlier checkpoint you gave is not signed by the log key.".to_owned(),
            )),
        },
    };
    r.result(CheckId::SinceSignature, Subject::Since, sig);
    let origin = if old.origin == bundle.log.origin {
        Ok(format!(
            "The earlier checkpoint is of the same log ({}).",
            old.origin
        ))
    } else {
        Err((
            format!(
                "earlier checkpoint origin {:?}, bundle origin {:?}",
                old.origin, bundle.log.origin
            ),
            "The earlier checkpoint you gave is of another log.".to_owned(),
        ))
    };
    r.result(CheckId::SinceOrigin, Subject::Since, origin);
    let Some(cp) = cp else {
        r.fail(
            CheckId::SinceConsistency,
            Subject::Since,
            "not checked: the bundle's checkpoint cannot be read".to_owned(),
            "The bundle cannot be shown to extend the checkpoint you hold.".to_owned(),
        );
        return;
    };
    let result = since_consistency(&old, cp, &bundle.consistency);
    if r.result(CheckId::SinceConsistency, Subject::Since, result) {
        summary.since_size = Some(old.size);
    }
}

fn since_consistency(
    old: &Checkpoint,
    cp: &Checkpoint,
    entries: &[ConsistencyEntry],
) -> Result<String, (String, String)> {
    let extends = format!(
        "The bundle's checkpoint (size {}) extends the checkpoint you hold (size {}): the log was not rolled back or rewritten in between.",
        cp.size, old.size
    );
    if old.size > cp.size {
        return Err((
            format!("rollback: held size {} > bundle size {}", old.size, cp.size),
            format!(
                "The checkpoint you hold (size {}) is larger than the bundle's (size {}): the bundle shows an older state of the log (a rollback).",
                old.size, cp.size
            ),
        ));
    }
    let split = || {
        "The log has shown two different histories: the checkpoint you hold and the bundle's disagree about the same entries (a split view or a rewritten log).".to_owned()
    };
    if old.size == cp.size || old.size == 0 {
        // Nothing to prove: equal sizes need equal roots, size 0 the empty-tree root.
        return verify_consistency(old.size, cp.size, &old.root, &cp.root, &[])
            .map(|()| extends.clone())
            .map_err(|e| (e.to_string(), split()));
    }
    let mut candidates = entries.iter().filter(|c| c.old_size == old.size).peekable();
    if candidates.peek().is_none() {
        return Err((
            format!("no consistency proof from size {} in the bundle", old.size),
            format!(
                "The bundle holds no consistency proof from size {}, so it cannot show that it extends the checkpoint you hold; ask for a bundle made for that checkpoint.",
                old.size
            ),
        ));
    }
    let mut last_err = String::new();
    for c in candidates {
        if c.old_root != old.root {
            last_err = format!(
                "the bundle's proof starts from root {}, the checkpoint you hold has root {}",
                c.old_root.to_base64(),
                old.root.to_base64()
            );
            continue;
        }
        match verify_consistency(old.size, cp.size, &old.root, &cp.root, &c.proof) {
            Ok(()) => return Ok(extends),
            Err(e) => last_err = e.to_string(),
        }
    }
    Err((last_err, split()))
}

/// One bundled event, for the global chain.
struct Listed<'a> {
    item: &'a str,
    index: u64,
    leaf: Sha256Hash,
    /// The event's `prev`, when it parsed.
    prev: Option<Option<Sha256Hash>>,
}

/// `item-unique`, `item-ingest` and every per-event check. Returns every bundled event.
fn check_items<'a>(
    bundle: &'a Bundle,
    cp: Option<&Checkpoint>,
    trust: &Trust,
    r: &mut Recorder,
) -> Vec<Listed<'a>> {
    let mut seen = BTreeSet::new();
    let mut dupes = Vec::new();
    for item in &bundle.items {
        if !seen.insert(item.id.as_str()) {
            dupes.push(item.id.as_str());
        }
    }
    if dupes.is_empty() {
        r.pass(
            CheckId::ItemUnique,
            Subject::Bundle,
            format!(
                "Each of the bundle's {} items appears once.",
                bundle.items.len()
            ),
        );
    }
    for id in dupes {
        r.fail(
            CheckId::ItemUnique,
            Subject::Item(id.to_owned()),
            "item listed more than once".to_owned(),
            format!("Item {id} is listed more than once in the bundle."),
        );
    }
    let mut listed = Vec::new();
    for item in &bundle.items {
        let parsed = check_item_events(bundle, item, cp, trust, r, &mut listed);
        check_item_ingest(
            item,
            parsed
                .first()
                .and_then(|(i, e)| e.as_ref().map(|e| (*i, e))),
            r,
        );
    }
    listed
}

/// The per-event checks of one item; returns each listed event's index and parse.
fn check_item_events<'a>(
    bundle: &Bundle,
    item: &'a Item,
    cp: Option<&Checkpoint>,
    trust: &Trust,
    r: &mut Recorder,
    listed: &mut Vec<Listed<'a>>,
) -> Vec<(u64, Option<Event>)> {
    let mut parsed = Vec::with_capacity(item.events.len());
    let mut previous: Option<(u64, Sha256Hash)> = None;
    for be in &item.events {
        let subject = || Subject::Event {
            item: item.id.clone(),
            index: be.index,
        };
        let leaf = leaf_hash(&be.event);
        check_event_signature(be, trust, subject(), r);
        let event = match Event::from_canonical_bytes(&be.event) {
            Ok(ev) => {
                r.pass(
                    CheckId::EventParse,
                    subject(),
                    format!(
                        "The event is a valid custody event in canonical form: {} by {} ({}) at {}.",
                        ev.action,
                        ev.actor.name,
                        ev.actor.role,
                        ev.time
                    ),
                );
                check_event_fields(bundle, item, be, &ev, subject, r);
                check_item_link(be, &ev, previous, subject(), r);
                Some(ev)
            }
            Err(e) => {
                r.fail(
                    CheckId::EventParse,
                    subject(),
                    e.to_string(),
                    "The event's bytes are not a valid custody event in canonical form.".to_owned(),
                );
                None
            }
        };
        check_event_inclusion(be, &leaf, cp, subject(), r);
        listed.push(Listed {
            item: &item.id,
            index: be.index,
            leaf,
            prev: event.as_ref().map(|e| e.prev),
        });
        parsed.push((be.index, event));
        previous = Some((be.index, leaf));
    }
    parsed
}

fn check_event_signature(be: &BundleEvent, trust: &Trust, subject: Subject, r: &mut Recorder) {
    let result = match trust {
        Trust::Refused(why) => Err(refused_message("The event's signature", why)),
        Trust::Key(key) => match verify_event(key.verifying_key(), &be.event, &be.signature) {
            Ok(()) => Ok("The event's signature verifies with the log key.".to_owned()),
            Err(e) => Err((
                e.to_string(),
                "The event's signature does not verify with the log key: the event or its signature was altered.".to_owned(),
            )),
        },
    };
    r.result(CheckId::EventSignature, subject, result);
}

/// `event-seq`, `event-log`, `event-item`.
fn check_event_fields(
    bundle: &Bundle,
    item: &Item,
    be: &BundleEvent,
    ev: &Event,
    subject: impl Fn() -> Subject,
    r: &mut Recorder,
) {
    let seq = if ev.seq == be.index {
        Ok(format!(
            "The event's signed sequence number is its index {}.",
            be.index
        ))
    } else {
        Err((
            format!("seq {}, index {}", ev.seq, be.index),
            format!(
                "The event says it is entry {} of the log, but the bundle lists it as entry {}.",
                ev.seq, be.index
            ),
        ))
    };
    r.result(CheckId::EventSeq, subject(), seq);
    let log = if ev.log == bundle.log.origin {
        Ok(format!("The event belongs to the log {}.", ev.log))
    } else {
        Err((
            format!(
                "event log {:?}, bundle origin {:?}",
                ev.log, bundle.log.origin
            ),
            "The event belongs to another log than the bundle names.".to_owned(),
        ))
    };
    r.result(CheckId::EventLog, subject(), log);
    let concerns = match &ev.item {
        Some(i) if i.id == item.id && i.sha256 == item.sha256 => Ok(format!(
            "The event concerns item {} with SHA-256 {}.",
            item.id, item.sha256
        )),
        Some(i) => Err((
            format!(
                "event item {} / {}, listed under {} / {}",
                i.id, i.sha256, item.id, item.sha256
            ),
            "The event concerns another item, or another content hash, than the item it is listed under.".to_owned(),
        )),
        None => Err((
            "event has no item".to_owned(),
            "The event is listed under an item but concerns no item.".to_owned(),
        )),
    };
    r.result(CheckId::EventItem, subject(), concerns);
}

/// `item-chain`: the first listed event starts the item's chain; each later one links to the
/// previous listed event by `item_prev` and comes later in the log. A dropped or reordered
/// event breaks a link.
fn check_item_link(
    be: &BundleEvent,
    ev: &Event,
    previous: Option<(u64, Sha256Hash)>,
    subject: Subject,
    r: &mut Recorder,
) {
    let result = match (previous, ev.item_prev) {
        (None, None) => Ok(
            "The event is the item's first event (it links to no earlier event of the item)."
                .to_owned(),
        ),
        (None, Some(_)) => Err((
            "first listed event has item_prev".to_owned(),
            "The item's first listed event links to an earlier event of the item that the bundle does not hold: events are missing.".to_owned(),
        )),
        (Some((prev_index, _)), _) if prev_index >= be.index => Err((
            format!(
                "listed after event {prev_index}, which is not earlier in the log"
            ),
            "The item's events are not listed in log order.".to_owned(),
        )),
        (Some((prev_index, prev_leaf)), Some(link)) if link == prev_leaf => Ok(format!(
            "The event links to the item's previous event {prev_index}: no event of the item is missing between them."
        )),
        (Some((prev_index, _)), link) => Err((
            match link {
                Some(l) => format!("item_prev {l}, hash of event {prev_index} differs"),
                None => "item_prev absent".to_owned(),
            },
            format!(
                "The event does not link to the item's previous listed event {prev_index}: an event of the item is missing, added or out of order."
            ),
        )),
    };
    r.result(CheckId::ItemChain, subject, result);
}

/// `event-inclusion`: RFC 9162 §2.1.3.2 against the checkpoint.
fn check_event_inclusion(
    be: &BundleEvent,
    leaf: &Sha256Hash,
    cp: Option<&Checkpoint>,
    subject: Subject,
    r: &mut Recorder,
) {
    let result = match cp {
        None => Err((
            "not checked: the checkpoint cannot be read".to_owned(),
            "The event cannot be shown to be in the log, because the checkpoint cannot be read."
                .to_owned(),
        )),
        Some(cp) => {
            match verify_inclusion(leaf, be.index, cp.size, &be.inclusion_proof, &cp.root) {
                Ok(()) => Ok(format!(
                    "The event is entry {} of the log of {} entries that the checkpoint signs.",
                    be.index, cp.size
                )),
                Err(e) => Err((
                    e.to_string(),
                    format!(
                        "The inclusion proof does not show this event as entry {} of the checkpoint's log.",
                        be.index
                    ),
                )),
            }
        }
    };
    r.result(CheckId::EventInclusion, subject, result);
}

/// `item-ingest`: the item's first listed event is its ingest, and what the bundle states about
/// the item outside any signature (case, SHA-256, size, and when present MD5, SHA-1,
/// description and original name) equals what that signed event recorded (docs/FORMATS.md
/// §1.4: details `size`, `sha256`, `md5`, `sha1`, `description`, `file_name`).
fn check_item_ingest(item: &Item, first: Option<(u64, &Event)>, r: &mut Recorder) {
    let subject = Subject::Item(item.id.clone());
    let Some((index, ev)) = first else {
        if item.events.is_empty() {
            r.fail(
                CheckId::ItemIngest,
                subject,
                "the item has no events".to_owned(),
                "The bundle lists no event for this item, not even its ingest.".to_owned(),
            );
        }
        // Otherwise the first event did not parse; that failure is reported.
        return;
    };
    let mut problems = Vec::new();
    if ev.action != Action::Ingest {
        problems.push(format!(
            "first event is {:?}, not an ingest",
            ev.action.as_str()
        ));
    }
    if ev.case.as_deref() != Some(item.case.as_str()) {
        problems.push("case differs".to_owned());
    }
    let details = ev.details.as_object();
    let detail = |name: &str| details.and_then(|d| d.get(name));
    if let Some(v) = detail("sha256")
        && v.as_str() != Some(item.sha256.to_hex().as_str())
    {
        problems.push("sha256 differs".to_owned());
    }
    let size_ok = detail("size")
        .and_then(Value::as_int)
        .and_then(|n| u64::try_from(n).ok())
        == Some(item.size);
    if !size_ok {
        problems.push("size differs or is not recorded".to_owned());
    }
    let mut backed = vec!["case", "SHA-256", "size"];
    for (name, label, value) in [
        ("md5", "MD5", item.md5.map(hex::encode)),
        ("sha1", "SHA-1", item.sha1.map(hex::encode)),
    ] {
        let Some(value) = value else { continue };
        if detail(name).and_then(Value::as_str) == Some(value.as_str()) {
            backed.push(label);
        } else {
            problems.push(format!("{name} differs or is not recorded"));
        }
    }
    for (name, label, value) in [
        ("description", "description", &item.description),
        ("file_name", "original name", &item.original_name),
    ] {
        let Some(value) = value else { continue };
        if detail(name).and_then(Value::as_str) == Some(value.as_str()) {
            backed.push(label);
        } else {
            problems.push(format!(
                "{label} differs or is not recorded (details.{name})"
            ));
        }
    }
    let result = if problems.is_empty() {
        Ok(format!(
            "The item's {} are those its signed ingest event {index} recorded.",
            join_and(&backed)
        ))
    } else {
        Err((
            problems.join("; "),
            format!(
                "What the bundle states about the item does not match its signed ingest event {index}."
            ),
        ))
    };
    r.result(CheckId::ItemIngest, subject, result);
}

/// `event-unique` and `global-chain`: for bundled events at indices i and i + 1, the later
/// one's `prev` is the earlier one's hash.
fn check_global_chain(listed: &[Listed<'_>], r: &mut Recorder) {
    let mut by_index: BTreeMap<u64, Vec<&Listed<'_>>> = BTreeMap::new();
    for l in listed {
        by_index.entry(l.index).or_default().push(l);
    }
    let mut unique = true;
    for (index, list) in &by_index {
        if list.len() > 1 {
            unique = false;
            for l in list {
                r.fail(
                    CheckId::EventUnique,
                    Subject::Event {
                        item: l.item.to_owned(),
                        index: *index,
                    },
                    format!("{} bundled events have index {index}", list.len()),
                    format!("The bundle holds more than one event at log index {index}."),
                );
            }
        }
    }
    if unique {
        r.pass(
            CheckId::EventUnique,
            Subject::Bundle,
            format!(
                "Each of the bundle's {} events has its own log index.",
                listed.len()
            ),
        );
    }
    for (index, list) in &by_index {
        let Some(before) = index.checked_sub(1).and_then(|i| by_index.get(&i)) else {
            continue;
        };
        for l in list {
            let Some(prev) = l.prev else { continue };
            let subject = Subject::Event {
                item: l.item.to_owned(),
                index: *index,
            };
            let result = if before.iter().all(|b| prev == Some(b.leaf)) {
                Ok(format!(
                    "The event links to the log's previous event {} (its prev is that event's hash).",
                    index - 1
                ))
            } else {
                Err((
                    format!(
                        "prev does not equal the hash of the bundled event {}",
                        index - 1
                    ),
                    format!(
                        "The event does not link to the bundled event {} just before it in the log.",
                        index - 1
                    ),
                ))
            };
            r.result(CheckId::GlobalChain, subject, result);
        }
    }
}

/// `evidence-match`: each file is an item of the bundle (SHA-256), with the item's size and,
/// when the item records them, its MD5 and SHA-1.
fn check_evidence(
    bundle: &Bundle,
    evidence: &[EvidenceDigest],
    r: &mut Recorder,
    summary: &mut Summary,
) {
    for file in evidence {
        let subject = Subject::Evidence(file.name.clone());
        let items: Vec<&Item> = bundle
            .items
            .iter()
            .filter(|i| i.sha256 == file.sha256)
            .collect();
        if items.is_empty() {
            r.fail(
                CheckId::EvidenceMatch,
                subject,
                format!("no item has SHA-256 {}", file.sha256),
                format!(
                    "The file {} (SHA-256 {}) is not any item of the bundle: it is not the evidence the bundle describes, or it was altered.",
                    file.name, file.sha256
                ),
            );
            continue;
        }
        let mut problems = Vec::new();
        let mut unchecked = Vec::new();
        for item in &items {
            if item.size != file.size {
                problems.push(format!(
                    "{}: size {} recorded, file has {}",
                    item.id, item.size, file.size
                ));
            }
            compare_digest(
                &item.id,
                "MD5",
                item.md5,
                file.md5,
                &mut problems,
                &mut unchecked,
            );
            compare_digest(
                &item.id,
                "SHA-1",
                item.sha1,
                file.sha1,
                &mut problems,
                &mut unchecked,
            );
        }
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        if !problems.is_empty() {
            r.fail(
                CheckId::EvidenceMatch,
                subject,
                problems.join("; "),
                format!(
                    "The file {} has the SHA-256 of item {}, but not all its other recorded properties.",
                    file.name,
                    ids.join(", ")
                ),
            );
            continue;
        }
        summary.evidence_matched += 1;
        let message = format!(
            "The file {} ({} bytes) is item {}: its {} match.",
            file.name,
            file.size,
            ids.join(", "),
            join_and(&compared_digests(&items, file))
        );
        if unchecked.is_empty() {
            r.pass(CheckId::EvidenceMatch, subject, message);
        } else {
            r.push(
                CheckId::EvidenceMatch,
                subject,
                Outcome::Warn(format!("not computed: {}", unchecked.join(", "))),
                message,
            );
        }
    }
}

fn compare_digest<const N: usize>(
    id: &str,
    label: &str,
    recorded: Option<[u8; N]>,
    computed: Option<[u8; N]>,
    problems: &mut Vec<String>,
    unchecked: &mut Vec<String>,
) {
    match (recorded, computed) {
        (Some(a), Some(b)) if a != b => problems.push(format!(
            "{id}: {label} {} recorded, file has {}",
            hex::encode(a),
            hex::encode(b)
        )),
        (Some(_), None) => unchecked.push(format!("{id} {label}")),
        _ => {}
    }
}

/// The properties compared for a file: SHA-256, size, and MD5 and SHA-1 when both the
/// caller computed them and an item records them.
fn compared_digests(items: &[&Item], file: &EvidenceDigest) -> Vec<&'static str> {
    let mut out = vec!["SHA-256", "size"];
    if file.md5.is_some() && items.iter().any(|i| i.md5.is_some()) {
        out.push("MD5");
    }
    if file.sha1.is_some() && items.iter().any(|i| i.sha1.is_some()) {
        out.push("SHA-1");
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(parts: &[&str]) -> String {
    match parts.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
