//! What [`super::verify`] is given and what it returns: options, checks, verdict.

use crate::cosignature::CosignatureVerifier;
use crate::hash::Sha256Hash;
use crate::note::{KeyId, NoteVerifier};
use std::fmt;

/// What the user trusts the log key to be.
#[derive(Debug, Clone)]
pub enum Pin {
    /// The log's verifier key, obtained by a separate channel.
    Key(NoteVerifier),
    /// The fingerprint of the log's verifier key (docs/FORMATS.md §5.6), 64 hex digits.
    Fingerprint(String),
    /// Nothing: the key the bundle carries is used, which proves only internal consistency.
    None,
}

impl Pin {
    /// A fingerprint pin from what a user typed or pasted: 64 hex digits in either case, with
    /// any spaces and colons (as in `ab:cd …`) ignored. `None` when the text is not one.
    pub fn fingerprint_from_text(text: &str) -> Option<Pin> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect::<String>()
            .to_ascii_lowercase();
        (clean.len() == 64 && clean.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(Pin::Fingerprint(clean))
    }
}

/// Digests of one evidence file, computed by the caller (the core does no I/O).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceDigest {
    /// How to name the file in the report (e.g. its path as given).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content.
    pub sha256: Sha256Hash,
    /// MD5 of the content, if computed.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 of the content, if computed.
    pub sha1: Option<[u8; 20]>,
}

/// What [`verify`] checks the bundle against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The log key the user trusts.
    pub pin: Pin,
    /// Witness keys whose cosignatures must be on the checkpoint.
    pub witnesses: Vec<CosignatureVerifier>,
    /// An earlier checkpoint note the user holds; the bundle must prove it extends it.
    pub since: Option<String>,
    /// Evidence files to match against the bundle's items.
    pub evidence: Vec<EvidenceDigest>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            pin: Pin::None,
            witnesses: Vec::new(),
            since: None,
            evidence: Vec::new(),
        }
    }
}

/// The stable identifier of a kind of check (kebab-case in reports and documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    /// The file is a bundle: JSON, members, types, encodings, sizes.
    BundleFormat,
    /// The bundle's format version is 1.
    BundleVersion,
    /// The embedded verifier key string parses.
    LogKey,
    /// The embedded fingerprint is that of the embedded key.
    LogFingerprint,
    /// `log.origin` is the key's name.
    LogOrigin,
    /// The embedded key is the pinned key (or has the pinned fingerprint).
    KeyPin,
    /// The checkpoint is a signed note with a checkpoint body.
    CheckpointFormat,
    /// The checkpoint's signature verifies with the trusted key.
    CheckpointSignature,
    /// The checkpoint's origin is `log.origin` and the key's name.
    CheckpointOrigin,
    /// A trusted witness's cosignature is present and verifies.
    WitnessCosignature,
    /// A signature line by a key that is neither the log's nor a trusted witness's.
    WitnessUnchecked,
    /// A consistency proof of the bundle verifies against the checkpoint.
    ConsistencyProof,
    /// The user's earlier checkpoint is signed by the trusted key.
    SinceSignature,
    /// The user's earlier checkpoint is of the same log.
    SinceOrigin,
    /// The bundle's checkpoint extends the user's earlier checkpoint.
    SinceConsistency,
    /// Each item appears once.
    ItemUnique,
    /// The item's first event is its ingest and backs the item's hashes, size and case.
    ItemIngest,
    /// The event's signature verifies with the trusted key.
    EventSignature,
    /// The event is a valid custody event in canonical form.
    EventParse,
    /// The event's `seq` equals its index.
    EventSeq,
    /// The event's `log` is the bundle's origin.
    EventLog,
    /// The event's `item` is the item it is listed under.
    EventItem,
    /// The event's inclusion proof verifies against the checkpoint.
    EventInclusion,
    /// The event's `item_prev` links to the previous listed event of the item.
    ItemChain,
    /// Each event index appears once.
    EventUnique,
    /// The event's `prev` links to the bundled event just before it in the log.
    GlobalChain,
    /// An evidence file matches an item.
    EvidenceMatch,
}

impl CheckId {
    /// Every check id, in report order.
    pub const ALL: [CheckId; 27] = [
        CheckId::BundleFormat,
        CheckId::BundleVersion,
        CheckId::LogKey,
        CheckId::LogFingerprint,
        CheckId::LogOrigin,
        CheckId::KeyPin,
        CheckId::CheckpointFormat,
        CheckId::CheckpointSignature,
        CheckId::CheckpointOrigin,
        CheckId::WitnessCosignature,
        CheckId::WitnessUnchecked,
        CheckId::ConsistencyProof,
        CheckId::SinceSignature,
        CheckId::SinceOrigin,
        CheckId::SinceConsistency,
        CheckId::ItemUnique,
        CheckId::ItemIngest,
        CheckId::EventSignature,
        CheckId::EventParse,
        CheckId::EventSeq,
        CheckId::EventLog,
        CheckId::EventItem,
        CheckId::EventInclusion,
        CheckId::ItemChain,
        CheckId::EventUnique,
        CheckId::GlobalChain,
        CheckId::EvidenceMatch,
    ];

    /// The kebab-case identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::BundleFormat => "bundle-format",
            CheckId::BundleVersion => "bundle-version",
            CheckId::LogKey => "log-key",
            CheckId::LogFingerprint => "log-fingerprint",
            CheckId::LogOrigin => "log-origin",
            CheckId::KeyPin => "key-pin",
            CheckId::CheckpointFormat => "checkpoint-format",
            CheckId::CheckpointSignature => "checkpoint-signature",
            CheckId::CheckpointOrigin => "checkpoint-origin",
            CheckId::WitnessCosignature => "witness-cosignature",
            CheckId::WitnessUnchecked => "witness-unchecked",
            CheckId::ConsistencyProof => "consistency-proof",
            CheckId::SinceSignature => "since-signature",
            CheckId::SinceOrigin => "since-origin",
            CheckId::SinceConsistency => "since-consistency",
            CheckId::ItemUnique => "item-unique",
            CheckId::ItemIngest => "item-ingest",
            CheckId::EventSignature => "event-signature",
            CheckId::EventParse => "event-parse",
            CheckId::EventSeq => "event-seq",
            CheckId::EventLog => "event-log",
            CheckId::EventItem => "event-item",
            CheckId::EventInclusion => "event-inclusion",
            CheckId::ItemChain => "item-chain",
            CheckId::EventUnique => "event-unique",
            CheckId::GlobalChain => "global-chain",
            CheckId::EvidenceMatch => "evidence-match",
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The bundle as a whole.
    Bundle,
    /// The log key and origin.
    Log,
    /// The bundle's checkpoint.
    Checkpoint,
    /// A trusted witness, by name.
    Witness(String),
    /// A signature line on the checkpoint by a key nobody said to trust.
    Cosigner {
        /// The key name on the line.
        name: String,
        /// The key ID on the line.
        key_id: KeyId,
    },
    /// A member of `consistency`.
    Consistency {
        /// Position in the list, from 0.
        position: usize,
        /// Its old tree size.
        old_size: u64,
    },
    /// The earlier checkpoint the user holds.
    Since,
    /// An item, by id.
    Item(String),
    /// An event, by the item it is listed under and its index.
    Event {
        /// The item id.
        item: String,
        /// The leaf index.
        index: u64,
    },
    /// An evidence file, by the name the caller gave.
    Evidence(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Bundle => f.write_str("bundle"),
            Subject::Log => f.write_str("log key"),
            Subject::Checkpoint => f.write_str("checkpoint"),
            Subject::Witness(name) => write!(f, "witness {name}"),
            Subject::Cosigner { name, key_id } => write!(f, "cosigner {name}+{key_id}"),
            Subject::Consistency { position, old_size } => {
                write!(f, "consistency[{position}] from size {old_size}")
            }
            Subject::Since => f.write_str("since checkpoint"),
            Subject::Item(id) => write!(f, "item {id}"),
            Subject::Event { item, index } => write!(f, "item {item} event {index}"),
            Subject::Evidence(name) => write!(f, "evidence {name}"),
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The property holds.
    Pass,
    /// The property does not hold, or could not be established; the reason says which.
    Fail(String),
    /// Nothing is wrong, but something was not verified; the reason says what.
    Warn(String),
}

impl Outcome {
    /// `pass`, `fail` or `warn`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Warn(_) => "warn",
        }
    }

    /// The reason of a failure or warning.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(r) | Outcome::Warn(r) => Some(r),
        }
    }
}

/// One check: which property, about what, its outcome, and a plain-language sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Which check.
    pub id: CheckId,
    /// What it is about.
    pub subject: Subject,
    /// The result.
    pub outcome: Outcome,
    /// A sentence for a non-specialist saying what was found.
    pub message: String,
}

/// The overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed and the log key was pinned.
    Verified,
    /// Every check passed, but nothing was pinned: the bundle's own key was trusted.
    VerifiedUnpinned,
    /// At least one check failed.
    Failed,
}

impl Verdict {
    /// `verified`, `verified-unpinned` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::VerifiedUnpinned => "verified-unpinned",
            Verdict::Failed => "failed",
        }
    }
}

/// What was verified, for the verdict paragraph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The log origin the bundle names.
    pub origin: Option<String>,
    /// The bundle's verifier key string, when it parses.
    pub key: Option<String>,
    /// Fingerprint of that key (computed, not the one written in the bundle).
    pub key_fingerprint: Option<String>,
    /// Whether a key or fingerprint was pinned and matched.
    pub pinned: bool,
    /// The checkpoint's tree size, when it parses.
    pub checkpoint_size: Option<u64>,
    /// The checkpoint's root, when it parses.
    pub checkpoint_root: Option<Sha256Hash>,
    /// Items in the bundle.
    pub items: usize,
    /// Events in the bundle.
    pub events: usize,
    /// Trusted witnesses whose cosignature verified, with its timestamp (Unix seconds).
    pub witnesses: Vec<(String, u64)>,
    /// Size of the user's earlier checkpoint, when the bundle proved it extends it.
    pub since_size: Option<u64>,
    /// Evidence files that matched an item.
    pub evidence_matched: usize,
}

/// Every check made, the verdict, and a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The checks, in the order they were made.
    pub checks: Vec<Check>,
    /// The overall result.
    pub verdict: Verdict,
    /// What was verified.
    pub summary: Summary,
}

impl Report {
    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
    }

    /// The checks with a warning.
    pub fn warnings(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Warn(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> Option<String> {
        match Pin::fingerprint_from_text(text) {
            Some(Pin::Fingerprint(f)) => Some(f),
            Some(other) => panic!("not a fingerprint pin: {other:?}"),
            None => None,
        }
    }

    #[test]
    fn fingerprint_text_is_normalised_or_refused() {
        let hex = "1bfd0ba70fbfe2833ea671e5529c348f3ddd74cd39bb4435bf36e30b8c2413d4";
        assert_eq!(fp(hex).as_deref(), Some(hex));
        assert_eq!(fp(&hex.to_ascii_uppercase()).as_deref(), Some(hex));
        let spaced: String = hex
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(": ");
        assert_eq!(fp(&format!(" {spaced}\n")).as_deref(), Some(hex));
        assert_eq!(fp(&hex[1..]), None, "63 digits");
        assert_eq!(fp(&format!("{hex}0")), None, "65 digits");
        assert_eq!(fp(&hex.replacen('b', "g", 1)), None, "not hex");
        assert_eq!(fp(""), None);
    }
}
