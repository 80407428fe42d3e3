//! Custody report bundles, format version 1: strict parsing and offline verification.
//!
//! A bundle is one JSON file that a vault hands to a court or to the other side: the log's
//! verifier key, one signed checkpoint (with any witness cosignatures), optional consistency
//! proofs from earlier checkpoints, and for each evidence item every custody event about it
//! (exact canonical bytes, signature, inclusion proof). The layout is specified byte for byte
//! in `docs/FORMATS.md` (report bundle section).
//!
//! [`Bundle::parse`] checks the container: JSON types, required members, sizes, and the
//! encodings of hashes, signatures and event bytes. [`verify`] then checks what the container
//! claims, using only this crate: the key against what the user pinned, the checkpoint note
//! (docs/FORMATS.md §5), witness cosignatures, consistency proofs (RFC 9162 §2.1.4), every
//! event's signature, canonical form and fields (§3), its inclusion proof (RFC 9162 §2.1.3),
//! the per-item and global hash chains, an earlier checkpoint the user holds, and evidence
//! files the caller hashed. It never stops at the first failure: the [`Report`] lists every
//! check with its outcome, and a [`Verdict`].
//!
//! Like the rest of the core this module does no I/O: the caller reads the files and hashes the
//! evidence.

use crate::event::{MAX_EVENT_BYTES, Timestamp, TimestampError};
use crate::hash::Sha256Hash;
use crate::jcs::{self, JcsError, Value};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::BTreeMap;

pub mod render;
mod report;
mod verify;

pub use report::{
    Check, CheckId, EvidenceDigest, Outcome, Pin, Report, Subject, Summary, Verdict, VerifyOptions,
};
pub use verify::{parse_failure_report, verify, verify_bytes};

/// The value of the bundle's `format` member.
pub const BUNDLE_FORMAT: &str = "custos-report-bundle";

/// The bundle format version this module implements (member `version`).
pub const BUNDLE_VERSION: i64 = 1;

/// Largest bundle accepted, in bytes (256 MiB).
pub const MAX_BUNDLE_BYTES: usize = 256 << 20;

/// Most hashes accepted in one proof. RFC 9162 proofs over trees of at most 2^53 entries (the
/// JSON integer range) are far shorter; longer lists are refused before any hashing.
pub const MAX_PROOF_HASHES: usize = 128;

/// Longest verifier key string accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 4096;

/// Longest checkpoint note accepted, in bytes (100 signature lines fit many times over).
pub const MAX_CHECKPOINT_BYTES: usize = 1 << 20;

/// Longest free-text member accepted (`case`, `description`, `original_name`, `software`
/// members, `origin`), in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Longest base64 text of an event: that of [`MAX_EVENT_BYTES`] bytes.
pub const MAX_EVENT_BASE64: usize = MAX_EVENT_BYTES.div_ceil(3) * 4;

/// The prefix of an item id; 26 characters of `a-z2-7` follow.
const ITEM_ID_PREFIX: &str = "itm_";

/// Characters after [`ITEM_ID_PREFIX`] in an item id.
const ITEM_ID_CHARS: usize = 26;

/// A parsed bundle (format version 1). Hashes, signatures and event bytes are decoded; the
/// verifier key and the checkpoint are kept as the exact text the bundle carries, because
/// checking them is part of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// When the bundle was made (unsigned: a statement of the writer only).
    pub generated_at: Timestamp,
    /// The program that wrote the bundle (unsigned).
    pub software: Software,
    /// The log the bundle is about.
    pub log: LogInfo,
    /// Exact C2SP signed-note text of one checkpoint covering every event in the bundle.
    pub checkpoint: String,
    /// Consistency proofs from earlier checkpoints to [`Bundle::checkpoint`]; empty when the
    /// member is absent.
    pub consistency: Vec<ConsistencyEntry>,
    /// The evidence items and their events.
    pub items: Vec<Item>,
}

/// Member `software`: who wrote the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Software {
    /// Program name, e.g. `custos`.
    pub name: String,
    /// Program version, e.g. `0.1.0`.
    pub version: String,
}

/// Member `log`: the log's identity as the bundle states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    /// The checkpoint origin, which is also the log key's name.
    pub origin: String,
    /// The C2SP verifier key string `name+keyid+base64` as written (parsed by [`verify`]).
    pub verifier_key: String,
    /// The fingerprint the bundle states: SHA-256 of the verifier key string's UTF-8 bytes.
    pub fingerprint: Sha256Hash,
}

/// One member of `consistency`: a proof that the tree of `old_size` leaves with root
/// `old_root` is a prefix of the bundle checkpoint's tree (RFC 9162 §2.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyEntry {
    /// Size of the earlier tree.
    pub old_size: u64,
    /// Root of the earlier tree.
    pub old_root: Sha256Hash,
    /// The proof hashes, bottom-up.
    pub proof: Vec<Sha256Hash>,
}

/// One evidence item of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The vault's item id, `itm_` and 26 characters of `a-z2-7`.
    pub id: String,
    /// The case the item belongs to.
    pub case: String,
    /// SHA-256 of the item's content (its identity).
    pub sha256: Sha256Hash,
    /// SHA-1 of the content, when the vault computed it.
    pub sha1: Option<[u8; 20]>,
    /// MD5 of the content, when the vault computed it.
    pub md5: Option<[u8; 16]>,
    /// Content size in bytes.
    pub size: u64,
    /// Free-text description (unsigned display text).
    pub description: Option<String>,
    /// The file name at ingest (unsigned display text).
    pub original_name: Option<String>,
    /// Every event about the item, in log order.
    pub events: Vec<BundleEvent>,
}

/// One event of an item, with what proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEvent {
    /// The event's leaf index in the log.
    pub index: u64,
    /// The event's exact canonical bytes (the log entry).
    pub event: Vec<u8>,
    /// Ed25519 signature by the log key over `custos-event-v1\0 || event`.
    pub signature: [u8; 64],
    /// Inclusion proof of the event's leaf at `index` in the checkpoint's tree.
    pub inclusion_proof: Vec<Sha256Hash>,
}

/// Why bytes are not a bundle this module accepts. `path` names the member, e.g.
/// `items[2].events[0].signature`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The input exceeds [`MAX_BUNDLE_BYTES`].
    #[error("the bundle is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not UTF-8 JSON in the accepted model (integers only, unique member names, depth 32).
    #[error("the bundle is not valid JSON: {0}")]
    Json(#[from] JcsError),
    /// A member has the wrong JSON type (`null` included: absent members are left out).
    #[error("{path} must be {expected}; got {found}")]
    WrongType {
        /// The member.
        path: String,
        /// The JSON type required.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A required member is absent.
    #[error("required member {path} is missing")]
    Missing {
        /// The member.
        path: String,
    },
    /// `format` is not `custos-report-bundle`.
    #[error("member \"format\" is {found:?}; a Custos report bundle has {BUNDLE_FORMAT:?}")]
    NotABundle {
        /// The value found (shortened).
        found: String,
    },
    /// `version` is not 1.
    #[error("bundle format version {found} is not supported; this verifier implements version 1")]
    UnsupportedVersion {
        /// The version found.
        found: i64,
    },
    /// A hex member is not exactly `expected_len` lowercase hex digits.
    #[error("{path} must be {expected_len} lowercase hex digits")]
    BadHex {
        /// The member.
        path: String,
        /// Digits required.
        expected_len: usize,
    },
    /// A base64 member is not canonical standard base64 with padding.
    #[error("{path} is not canonical standard base64 with padding (RFC 4648 §4)")]
    BadBase64 {
        /// The member.
        path: String,
    },
    /// A base64 member decodes to the wrong number of bytes.
    #[error("{path} decodes to {got} bytes; expected {expected}")]
    BadLength {
        /// The member.
        path: String,
        /// Bytes required.
        expected: usize,
        /// Bytes found.
        got: usize,
    },
    /// A string member is longer than its limit.
    #[error("{path} is {len} bytes long; at most {max} are accepted")]
    TooLong {
        /// The member.
        path: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A proof has more hashes than [`MAX_PROOF_HASHES`].
    #[error("{path} holds {len} hashes; at most {max} are accepted")]
    TooManyHashes {
        /// The member.
        path: String,
        /// Hashes found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A size or index is negative.
    #[error("{path} must not be negative; got {value}")]
    Negative {
        /// The member.
        path: String,
        /// The value found.
        value: i64,
    },
    /// An item id is not `itm_` and 26 characters of `a-z2-7`.
    #[error("{path} is not an item id (itm_ followed by 26 characters of a-z and 2-7)")]
    BadItemId {
        /// The member.
        path: String,
    },
    /// A text member that must not be empty is empty.
    #[error("{path} must not be empty")]
    Empty {
        /// The member.
        path: String,
    },
    /// A text member holds a control or bidirectional-formatting character.
    #[error("{path} contains the forbidden character U+{code_point:04X}")]
    ForbiddenCharacter {
        /// The member.
        path: String,
        /// The character.
        code_point: u32,
    },
    /// `generated_at` is not of the form `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    #[error("{path} is not a timestamp of the form YYYY-MM-DDTHH:MM:SS.ffffffZ: {source}")]
    BadTimestamp {
        /// The member.
        path: String,
        /// What is wrong with it.
        source: TimestampError,
    },
}

impl BundleError {
    /// The check this error fails: [`CheckId::BundleVersion`] for an unsupported version,
    /// [`CheckId::BundleFormat`] otherwise.
    pub fn check_id(&self) -> CheckId {
        match self {
            BundleError::UnsupportedVersion { .. } => CheckId::BundleVersion,
            _ => CheckId::BundleFormat,
        }
    }
}

impl Bundle {
    /// Parse a bundle. Strict: every required member present with its JSON type, no `null`
    /// for an absent member, hex lowercase and of exact length, base64 canonical and of exact
    /// decoded length, sizes bounded. Unknown members are ignored, so later writers may add
    /// members. `format` is checked first, then `version`, before anything else is read.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge {
                len: bytes.len(),
                max: MAX_BUNDLE_BYTES,
            });
        }
        let root = jcs::parse_json(bytes)?;
        let top = Fields::of(&root, String::new())?;
        let format = top.string("format", MAX_TEXT_BYTES)?;
        if format != BUNDLE_FORMAT {
            return Err(BundleError::NotABundle {
                found: format.chars().take(64).collect(),
            });
        }
        let version = top.int("version")?;
        if version != BUNDLE_VERSION {
            return Err(BundleError::UnsupportedVersion { found: version });
        }
        let generated_at = top.string("generated_at", MAX_TEXT_BYTES)?;
        let generated_at =
            Timestamp::parse_rfc3339(generated_at).map_err(|source| BundleError::BadTimestamp {
                path: top.path("generated_at"),
                source,
            })?;
        let software = top.object("software")?;
        let software = Software {
            name: software.string("name", MAX_TEXT_BYTES)?.to_owned(),
            version: software.string("version", MAX_TEXT_BYTES)?.to_owned(),
        };
        let log = parse_log(&top.object("log")?)?;
        let checkpoint = top.string("checkpoint", MAX_CHECKPOINT_BYTES)?.to_owned();
        let consistency = match top.opt_array("consistency")? {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, v)| parse_consistency(v, format!("consistency[{i}]")))
                .collect::<Result<_, _>>()?,
        };
        let items = top
            .array("items")?
            .iter()
            .enumerate()
            .map(|(i, v)| parse_item(v, format!("items[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Bundle {
            generated_at,
            software,
            log,
            checkpoint,
            consistency,
            items,
        })
    }

    /// The bundle as JSON text in the member order of the specification, indented by two
    /// spaces, ending in a newline. [`Bundle::parse`] reads it back to an equal bundle.
    /// Writers need not produce these exact bytes: any JSON the parser accepts is a bundle.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(&self.to_json_value(), 0, &mut out);
        out.push('\n');
        out
    }

    fn to_json_value(&self) -> Json {
        let mut top = vec![
            ("format", Json::Str(BUNDLE_FORMAT.to_owned())),
            ("version", Json::Int(BUNDLE_VERSION.unsigned_abs())),
            ("generated_at", Json::Str(self.generated_at.to_rfc3339())),
            (
                "software",
                Json::Obj(vec![
                    ("name", Json::Str(self.software.name.clone())),
                    ("version", Json::Str(self.software.version.clone())),
                ]),
            ),
            (
                "log",
                Json::Obj(vec![
                    ("origin", Json::Str(self.log.origin.clone())),
                    ("verifier_key", Json::Str(self.log.verifier_key.clone())),
                    ("fingerprint", Json::Str(self.log.fingerprint.to_hex())),
                ]),
            ),
            ("checkpoint", Json::Str(self.checkpoint.clone())),
        ];
        if !self.consistency.is_empty() {
            let entries = self.consistency.iter().map(|c| {
                Json::Obj(vec![
                    ("old_size", Json::Int(c.old_size)),
                    ("old_root", Json::Str(c.old_root.to_base64())),
                    ("proof", hashes_json(&c.proof)),
                ])
            });
            top.push(("consistency", Json::Arr(entries.collect())));
        }
        let items = self.items.iter().map(Item::to_json_value).collect();
        top.push(("items", Json::Arr(items)));
        Json::Obj(top)
    }
}

impl Item {
    fn to_json_value(&self) -> Json {
        let mut m = vec![
            ("id", Json::Str(self.id.clone())),
            ("case", Json::Str(self.case.clone())),
            ("sha256", Json::Str(self.sha256.to_hex())),
        ];
        if let Some(h) = &self.sha1 {
            m.push(("sha1", Json::Str(hex::encode(h))));
        }
        if let Some(h) = &self.md5 {
            m.push(("md5", Json::Str(hex::encode(h))));
        }
        m.push(("size", Json::Int(self.size)));
        if let Some(d) = &self.description {
            m.push(("description", Json::Str(d.clone())));
        }
        if let Some(n) = &self.original_name {
            m.push(("original_name", Json::Str(n.clone())));
        }
        let events = self.events.iter().map(|e| {
            Json::Obj(vec![
                ("index", Json::Int(e.index)),
                ("event", Json::Str(B64.encode(&e.event))),
                ("signature", Json::Str(B64.encode(e.signature))),
                ("inclusion_proof", hashes_json(&e.inclusion_proof)),
            ])
        });
        m.push(("events", Json::Arr(events.collect())));
        Json::Obj(m)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// The members of one JSON object, with the path that names it in errors.
struct Fields<'a> {
    map: &'a BTreeMap<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    fn of(value: &'a Value, path: String) -> Result<Self, BundleError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(BundleError::WrongType {
                path: if path.is_empty() {
                    "the bundle".to_owned()
                } else {
                    path
                },
                expected: "an object",
                found: other.type_name(),
            }),
        }
    }

    fn path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn get(&self, name: &str) -> Result<&'a Value, BundleError> {
        self.map.get(name).ok_or_else(|| BundleError::Missing {
            path: self.path(name),
        })
    }

    fn wrong(&self, name: &str, expected: &'static str, found: &Value) -> BundleError {
        BundleError::WrongType {
            path: self.path(name),
            expected,
            found: found.type_name(),
        }
    }

    fn string(&self, name: &str, max: usize) -> Result<&'a str, BundleError> {
        match self.get(name)? {
            Value::String(s) => check_len(self.path(name), s, max),
            other => Err(self.wrong(name, "a string", other)),
        }
    }

    fn opt_string(&self, name: &str, max: usize) -> Result<Option<&'a str>, BundleError> {
        if self.map.contains_key(name) {
            self.string(name, max).map(Some)
        } else {
            Ok(None)
        }
    }

    fn int(&self, name: &str) -> Result<i64, BundleError> {
        match self.get(name)? {
            Value::Int(n) => Ok(*n),
            other => Err(self.wrong(name, "an integer", other)),
        }
    }

    fn uint(&self, name: &str) -> Result<u64, BundleError> {
        let n = self.int(name)?;
        u64::try_from(n).map_err(|_| BundleError::Negative {
            path: self.path(name),
            value: n,
        })
    }

    fn array(&self, name: &str) -> Result<&'a [Value], BundleError> {
        match self.get(name)? {
            Value::Array(a) => Ok(a),
            other => Err(self.wrong(name, "an array", other)),
        }
    }

    fn opt_array(&self, name: &str) -> Result<Option<&'a [Value]>, BundleError> {
        if self.map.contains_key(name) {
            self.array(name).map(Some)
        } else {
            Ok(None)
        }
    }

    fn object(&self, name: &str) -> Result<Fields<'a>, BundleError> {
        Fields::of(self.get(name)?, self.path(name))
    }
}

fn check_len(path: String, s: &str, max: usize) -> Result<&str, BundleError> {
    if s.len() > max {
        return Err(BundleError::TooLong {
            path,
            len: s.len(),
            max,
        });
    }
    Ok(s)
}

fn parse_log(log: &Fields<'_>) -> Result<LogInfo, BundleError> {
    let origin = log.string("origin", MAX_TEXT_BYTES)?;
    check_text(log.path("origin"), origin)?;
    Ok(LogInfo {
        origin: origin.to_owned(),
        verifier_key: log.string("verifier_key", MAX_KEY_BYTES)?.to_owned(),
        fingerprint: Sha256Hash(lower_hex(
            log.path("fingerprint"),
            log.string("fingerprint", MAX_TEXT_BYTES)?,
        )?),
    })
}

fn parse_consistency(value: &Value, path: String) -> Result<ConsistencyEntry, BundleError> {
    let f = Fields::of(value, path)?;
    Ok(ConsistencyEntry {
        old_size: f.uint("old_size")?,
        old_root: Sha256Hash(b64_exact(
            f.path("old_root"),
            f.string("old_root", MAX_TEXT_BYTES)?,
        )?),
        proof: parse_hashes(&f, "proof")?,
    })
}

fn parse_item(value: &Value, path: String) -> Result<Item, BundleError> {
    let f = Fields::of(value, path)?;
    let id = f.string("id", MAX_TEXT_BYTES)?;
    if !is_item_id(id) {
        return Err(BundleError::BadItemId { path: f.path("id") });
    }
    let case = f.string("case", MAX_TEXT_BYTES)?;
    check_text(f.path("case"), case)?;
    let sha256 = Sha256Hash(lower_hex(
        f.path("sha256"),
        f.string("sha256", MAX_TEXT_BYTES)?,
    )?);
    let sha1 = f
        .opt_string("sha1", MAX_TEXT_BYTES)?
        .map(|s| lower_hex(f.path("sha1"), s))
        .transpose()?;
    let md5 = f
        .opt_string("md5", MAX_TEXT_BYTES)?
        .map(|s| lower_hex(f.path("md5"), s))
        .transpose()?;
    let events = f
        .array("events")?
        .iter()
        .enumerate()
        .map(|(i, v)| parse_event(v, f.path(&format!("events[{i}]"))))
        .collect::<Result<_, _>>()?;
    Ok(Item {
        id: id.to_owned(),
        case: case.to_owned(),
        sha256,
        sha1,
        md5,
        size: f.uint("size")?,
        description: f
            .opt_string("description", MAX_TEXT_BYTES)?
            .map(str::to_owned),
        original_name: f
            .opt_string("original_name", MAX_TEXT_BYTES)?
            .map(str::to_owned),
        events,
    })
}

fn parse_event(value: &Value, path: String) -> Result<BundleEvent, BundleError> {
    let f = Fields::of(value, path)?;
    let event_b64 = f.string("event", MAX_EVENT_BASE64)?;
    let event = B64.decode(event_b64).map_err(|_| BundleError::BadBase64 {
        path: f.path("event"),
    })?;
    Ok(BundleEvent {
        index: f.uint("index")?,
        event,
        signature: b64_exact(f.path("signature"), f.string("signature", MAX_TEXT_BYTES)?)?,
        inclusion_proof: parse_hashes(&f, "inclusion_proof")?,
    })
}

fn parse_hashes(f: &Fields<'_>, name: &str) -> Result<Vec<Sha256Hash>, BundleError> {
    let list = f.array(name)?;
    if list.len() > MAX_PROOF_HASHES {
        return Err(BundleError::TooManyHashes {
            path: f.path(name),
            len: list.len(),
            max: MAX_PROOF_HASHES,
        });
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let path = f.path(&format!("{name}[{i}]"));
            match v {
                Value::String(s) => b64_exact(path, s).map(Sha256Hash),
                other => Err(BundleError::WrongType {
                    path,
                    expected: "a string",
                    found: other.type_name(),
                }),
            }
        })
        .collect()
}

/// Exactly `2 * N` lowercase hex digits, so every value has one spelling.
fn lower_hex<const N: usize>(path: String, s: &str) -> Result<[u8; N], BundleError> {
    let ok = s.len() == 2 * N && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let mut out = [0u8; N];
    if !ok || hex::decode_to_slice(s, &mut out).is_err() {
        return Err(BundleError::BadHex {
            path,
            expected_len: 2 * N,
        });
    }
    Ok(out)
}

/// Canonical padded base64 of exactly `N` bytes. The length is checked before decoding.
fn b64_exact<const N: usize>(path: String, s: &str) -> Result<[u8; N], BundleError> {
    if s.len() != N.div_ceil(3) * 4 {
        // Decode anyway when short enough, to report the decoded length.
        let got = if s.len() <= MAX_TEXT_BYTES {
            B64.decode(s).map(|v| v.len()).ok()
        } else {
            None
        };
        return Err(match got {
            Some(got) => BundleError::BadLength {
                path,
                expected: N,
                got,
            },
            None => BundleError::BadBase64 { path },
        });
    }
    let raw = B64
        .decode(s)
        .map_err(|_| BundleError::BadBase64 { path: path.clone() })?;
    let got = raw.len();
    raw.try_into().map_err(|_| BundleError::BadLength {
        path,
        expected: N,
        got,
    })
}

/// `itm_` and 26 characters of the RFC 4648 base32 alphabet in lowercase.
fn is_item_id(s: &str) -> bool {
    s.strip_prefix(ITEM_ID_PREFIX).is_some_and(|rest| {
        rest.len() == ITEM_ID_CHARS && rest.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'))
    })
}

/// Identifier-like text (the event format's text rule, docs/FORMATS.md §3.3): non-empty, no
/// control characters, no bidirectional formatting characters that could make a report show
/// other text than the bytes hold.
fn check_text(path: String, s: &str) -> Result<(), BundleError> {
    if s.is_empty() {
        return Err(BundleError::Empty { path });
    }
    match s.chars().find(|&c| is_forbidden_char(c)) {
        Some(c) => Err(BundleError::ForbiddenCharacter {
            path,
            code_point: u32::from(c),
        }),
        None => Ok(()),
    }
}

/// Control characters and the Unicode bidirectional formatting characters.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A JSON value with members in a chosen order, for [`Bundle::to_json`].
enum Json {
    Str(String),
    Int(u64),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

fn hashes_json(hashes: &[Sha256Hash]) -> Json {
    Json::Arr(hashes.iter().map(|h| Json::Str(h.to_base64())).collect())
}

fn write_json(value: &Json, indent: usize, out: &mut String) {
    let pad = |n: usize, out: &mut String| out.extend(std::iter::repeat_n(' ', n));
    match value {
        Json::Str(s) => {
            // RFC 8785 string escaping: the JSON.stringify spelling.
            let mut buf = Vec::new();
            jcs::write_canonical(&Value::String(s.clone()), &mut buf);
            out.push_str(&String::from_utf8_lossy(&buf));
        }
        Json::Int(n) => out.push_str(&n.to_string()),
        Json::Arr(items) if items.is_empty() => out.push_str("[]"),
        Json::Arr(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                pad(indent + 2, out);
                write_json(item, indent + 2, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(indent, out);
            out.push(']');
        }
        Json::Obj(members) => {
            out.push_str("{\n");
            for (i, (name, item)) in members.iter().enumerate() {
                pad(indent + 2, out);
                out.push('"');
                out.push_str(name);
                out.push_str("\": ");
                write_json(item, indent + 2, out);
                out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
            }
            pad(indent, out);
            out.push('}');
        }
    }
}
