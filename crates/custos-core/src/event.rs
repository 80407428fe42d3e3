//! The custody event: one act on the evidence, as a canonical JSON object.
//!
//! An event's RFC 8785 canonical bytes (see [`crate::jcs`]) are the RFC 6962 leaf entry of the
//! custody log. Its *event hash* is the RFC 6962 leaf hash `SHA-256(0x00 || bytes)` (RFC 6962
//! §2.1); the `prev` and `item_prev` members chain events by these hashes. The log's Ed25519 key
//! signs [`EVENT_SIGNATURE_CONTEXT`] followed by the canonical bytes. The byte-level format is
//! specified in `docs/FORMATS.md §3`.
//!
//! Nothing here reads a clock or a random source: callers supply the time and the salt.

use crate::hash::Sha256Hash;
use crate::jcs::{self, JcsError, Value};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// The format version written in `"v"`. A different value is [`EventError::UnsupportedVersion`].
pub const EVENT_FORMAT_VERSION: i64 = 1;

/// The value of `"type"`.
pub const EVENT_TYPE: &str = "custos.event";

/// Largest accepted encoded event, in bytes (1 MiB).
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// Prefix of every event signature message. The NUL byte cannot occur in C2SP signed-note text,
/// so an event signature can never be replayed as a checkpoint signature, nor the reverse.
pub const EVENT_SIGNATURE_CONTEXT: &[u8; 16] = b"custos-event-v1\0";

/// Signatures checked per ed25519-dalek batch in [`verify_events_batch`] and
/// [`find_bad_signatures`]: large enough to amortise the multiscalar multiplication, small
/// enough that a failing batch costs little to re-check one by one.
pub const BATCH_CHUNK: usize = 1024;

/// Longest accepted `"action"` string.
pub const MAX_ACTION_LEN: usize = 64;

/// The member names this version defines; any other top-level member is an extension.
pub const KNOWN_MEMBERS: [&str; 15] = [
    "v",
    "type",
    "seq",
    "time",
    "clock",
    "log",
    "actor",
    "action",
    "case",
    "item",
    "reason",
    "details",
    "salt",
    "prev",
    "item_prev",
];

/// A custody event (format version 1). See `docs/FORMATS.md §3` for each member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Index of the event in the log, 0-based; equals its Merkle leaf index.
    pub seq: u64,
    /// When the act happened (UTC).
    pub time: Timestamp,
    /// The clock the time was read from, e.g. `system-utc`.
    pub clock: String,
    /// The log's origin (its checkpoint origin line), binding the event to one log.
    pub log: String,
    /// Who acted.
    pub actor: Actor,
    /// What was done.
    pub action: Action,
    /// The case concerned, if any.
    pub case: Option<String>,
    /// The evidence item concerned, if any.
    pub item: Option<ItemRef>,
    /// The stated reason or purpose, if any.
    pub reason: Option<String>,
    /// Action-specific details: always an object (possibly empty) when valid.
    pub details: Value,
    /// 128 random bits chosen by the caller, so the event hash cannot be confirmed by guessing
    /// the event's contents.
    pub salt: [u8; 16],
    /// Event hash of event `seq - 1`; `None` exactly when `seq == 0`.
    pub prev: Option<Sha256Hash>,
    /// Event hash of the previous event about the same item; `None` for the item's first event
    /// and when there is no item.
    pub item_prev: Option<Sha256Hash>,
    /// Top-level members this version does not define, kept so the event re-encodes
    /// byte-identically; semantics ignore them. Parsing returns them in canonical order.
    pub extra: Vec<(String, Value)>,
}

/// Who performed an act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The actor's name or account.
    pub name: String,
    /// The role under which they acted, e.g. `examiner`.
    pub role: String,
    /// How they were authenticated, e.g. `local-config`, `cli-as`, `token`.
    pub auth: String,
}

/// The evidence item an event concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    /// The vault's item identifier.
    pub id: String,
    /// SHA-256 of the item's plaintext content.
    pub sha256: Sha256Hash,
}

/// A UTC instant with microsecond precision, in years 0000 to 9999 of the proleptic Gregorian
/// calendar (the range RFC 3339 can write). Leap seconds are not representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why an event was rejected or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The encoding exceeds [`MAX_EVENT_BYTES`].
    #[error("event is {len} bytes; at most {max} are allowed")]
    TooLarge {
        /// Length given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not canonical JSON in the restricted model.
    #[error("event is not canonical JSON: {0}")]
    Encoding(#[from] JcsError),
    /// The top-level value is not an object.
    #[error("event must be a JSON object; got {found}")]
    NotAnObject {
        /// JSON type found.
        found: &'static str,
    },
    /// The `"v"` member names a format version this code does not implement.
    #[error("unsupported event format version {found}; this verifier implements version 1")]
    UnsupportedVersion {
        /// The version found.
        found: i64,
    },
    /// The `"type"` member is not `custos.event`.
    #[error("member \"type\" must be \"custos.event\"; got {found:?}")]
    WrongEventType {
        /// The value found (shortened).
        found: String,
    },
    /// A required member is absent.
    #[error("required member {field:?} is missing")]
    MissingField {
        /// Member name (dotted path for nested members).
        field: &'static str,
    },
    /// A member has the wrong JSON type.
    #[error("member {field:?} must be {expected}; got {found}")]
    WrongType {
        /// Member name.
        field: &'static str,
        /// JSON type required.
        expected: &'static str,
        /// JSON type found.
        found: &'static str,
    },
    /// A nested object (`actor`, `item`) has a member this version does not define.
    #[error("object {field:?} has an unknown member {member:?}")]
    UnknownMember {
        /// The object.
        field: &'static str,
        /// The unexpected name (shortened).
        member: String,
    },
    /// `"seq"` is negative or beyond the safe integer range.
    #[error("member \"seq\" must be between 0 and 9007199254740991; got {found}")]
    SeqOutOfRange {
        /// The value found (saturated to i64 for `u64` input).
        found: i64,
    },
    /// A text member is empty.
    #[error("member {field:?} must not be empty")]
    EmptyField {
        /// Member name.
        field: &'static str,
    },
    /// A text member holds a control or bidirectional-formatting character.
    #[error("member {field:?} contains the forbidden character U+{code_point:04X}")]
    ForbiddenCharacter {
        /// Member name.
        field: &'static str,
        /// The character.
        code_point: u32,
    },
    /// A hex member is not exactly `expected_len` lowercase hex digits.
    #[error("member {field:?} must be {expected_len} lowercase hex digits")]
    BadHex {
        /// Member name.
        field: &'static str,
        /// Digits required.
        expected_len: usize,
    },
    /// The `"time"` member is not a valid timestamp in the required form.
    #[error("member {field:?} is not a valid timestamp: {source}")]
    BadTimestamp {
        /// Member name.
        field: &'static str,
        /// What is wrong with it.
        source: TimestampError,
    },
    /// The `"action"` member is not 1 to 64 characters of `[a-z0-9-]` (or an
    /// [`Action::Other`] spells a known kind).
    #[error("member \"action\" must be 1 to 64 characters of a-z, 0-9 and '-'; got {found:?}")]
    BadAction {
        /// The value found (shortened).
        found: String,
    },
    /// `"prev"` is present on event 0, which has no predecessor.
    #[error("event 0 must not have \"prev\"")]
    PrevOnFirstEvent,
    /// `"prev"` is absent on an event after the first.
    #[error("event {seq} must have \"prev\" (the hash of event {prev_seq})", prev_seq = seq.saturating_sub(1))]
    MissingPrev {
        /// The event's seq.
        seq: u64,
    },
    /// `"item_prev"` is present but the event has no `"item"`.
    #[error("\"item_prev\" is present but the event has no \"item\"")]
    ItemPrevWithoutItem,
    /// An [`Event::extra`] member reuses a name this version defines, or repeats a name.
    #[error("extension member {name:?} duplicates a defined or repeated member name")]
    DuplicateExtension {
        /// The name (shortened).
        name: String,
    },
    /// A free-form JSON value (`details` or an extension) cannot be encoded canonically.
    #[error("member {field:?} holds a value that cannot be encoded: {source}")]
    BadValue {
        /// Member name (`details` or `extra`).
        field: &'static str,
        /// Why.
        source: jcs::ValueError,
    },
    /// The verifying key is a small-order ("weak") point, which would accept forged signatures.
    #[error("the log verifying key is a weak (small-order) key")]
    WeakKey,
    /// A signature is not 64 bytes.
    #[error("an Ed25519 signature is 64 bytes; got {len}")]
    SignatureLength {
        /// Length given.
        len: usize,
    },
    /// A signature does not verify for this key and event.
    #[error("the event signature does not verify with the log key")]
    BadSignature,
    /// A signature in a batch is not 64 bytes.
    #[error("signature {index} in the batch is {len} bytes; an Ed25519 signature is 64")]
    BatchSignatureLength {
        /// Position in the batch.
        index: usize,
        /// Length given.
        len: usize,
    },
    /// At least one signature in the batch does not verify; use [`find_bad_signatures`].
    #[error("batch verification failed: at least one of {count} event signatures is invalid")]
    BatchFailed {
        /// Number of signatures in the batch.
        count: usize,
    },
}

/// Why a timestamp was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not exactly 27 bytes (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    #[error("must be 27 characters of the form YYYY-MM-DDTHH:MM:SS.ffffffZ; got {len} bytes")]
    Length {
        /// Bytes given.
        len: usize,
    },
    /// A character other than the one the form requires.
    #[error("expected {expected} at position {offset}")]
    Syntax {
        /// Byte position.
        offset: usize,
        /// What the form requires there.
        expected: &'static str,
    },
    /// Month outside 01..12.
    #[error("month {month} is not in 01..12")]
    Month {
        /// The month.
        month: u32,
    },
    /// Day outside the month's range (leap years per the Gregorian rule).
    #[error("day {day} does not exist in {year:04}-{month:02}")]
    Day {
        /// The year.
        year: i64,
        /// The month.
        month: u32,
        /// The day.
        day: u32,
    },
    /// Hour above 23.
    #[error("hour {hour} is not in 00..23")]
    Hour {
        /// The hour.
        hour: u32,
    },
    /// Minute above 59.
    #[error("minute {minute} is not in 00..59")]
    Minute {
        /// The minute.
        minute: u32,
    },
    /// Second above 59 (leap seconds cannot be represented in Unix time).
    #[error("second {second} is not in 00..59")]
    Second {
        /// The second.
        second: u32,
    },
    /// Unix microseconds outside years 0000..9999.
    #[error("{micros} Unix microseconds is outside years 0000 to 9999")]
    OutOfRange {
        /// The value given.
        micros: i64,
    },
}

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

impl Timestamp {
    /// 0000-01-01T00:00:00.000000Z.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200 * MICROS_PER_SECOND);
    /// 9999-12-31T23:59:59.999999Z.
    pub const MAX: Timestamp = Timestamp(253_402_300_800 * MICROS_PER_SECOND - 1);

    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z (negative: before).
    pub fn from_unix_micros(micros: i64) -> Result<Self, TimestampError> {
        if (Self::MIN.0..=Self::MAX.0).contains(&micros) {
            Ok(Self(micros))
        } else {
            Err(TimestampError::OutOfRange { micros })
        }
    }

    /// Microseconds since 1970-01-01T00:00:00Z.
    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// RFC 3339 in the one form events use: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always six
    /// fractional digits and `Z`.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let in_day = self.0.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let secs = in_day / MICROS_PER_SECOND;
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            in_day % MICROS_PER_SECOND
        )
    }

    /// Parses exactly the form [`Timestamp::to_rfc3339`] writes (RFC 3339 §5.6 restricted to
    /// six fractional digits and `Z`), checking that the calendar date exists.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        let b = s.as_bytes();
        if b.len() != 27 {
            return Err(TimestampError::Length { len: b.len() });
        }
        for (offset, sep, expected) in [
            (4, b'-', "'-'"),
            (7, b'-', "'-'"),
            (10, b'T', "'T'"),
            (13, b':', "':'"),
            (16, b':', "':'"),
            (19, b'.', "'.'"),
            (26, b'Z', "'Z'"),
        ] {
            if b.get(offset) != Some(&sep) {
                return Err(TimestampError::Syntax { offset, expected });
            }
        }
        let year = i64::from(digits(b, 0, 4)?);
        let month = digits(b, 5, 2)?;
        let day = digits(b, 8, 2)?;
        let hour = digits(b, 11, 2)?;
        let minute = digits(b, 14, 2)?;
        let second = digits(b, 17, 2)?;
        let micros = i64::from(digits(b, 20, 6)?);
        if !(1..=12).contains(&month) {
            return Err(TimestampError::Month { month });
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(TimestampError::Day { year, month, day });
        }
        if hour > 23 {
            return Err(TimestampError::Hour { hour });
        }
        if minute > 59 {
            return Err(TimestampError::Minute { minute });
        }
        if second > 59 {
            return Err(TimestampError::Second { second });
        }
        let secs_in_day = i64::from(hour * 3600 + minute * 60 + second);
        let total = days_from_civil(year, month, day) * MICROS_PER_DAY
            + secs_in_day * MICROS_PER_SECOND
            + micros;
        Self::from_unix_micros(total)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// `len` ASCII digits at `offset`, as a number.
fn digits(b: &[u8], offset: usize, len: usize) -> Result<u32, TimestampError> {
    let mut n: u32 = 0;
    for i in offset..offset + len {
        match b.get(i) {
            Some(d @ b'0'..=b'9') => n = n * 10 + u32::from(d - b'0'),
            _ => {
                return Err(TimestampError::Syntax {
                    offset: i,
                    expected: "a digit",
                });
            }
        }
    }
    Ok(n)
}

/// Gregorian leap year rule: divisible by 4, except centuries not divisible by 400.
fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date. Counts in 400-year eras (146,097 days
/// each) of years that start on March 1, so the leap day is the last day of its year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // 0..=399
    let month_from_march = i64::from((month + 9) % 12); // March = 0 .. February = 11
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days separate 0000-03-01 (day 0 of era 0) from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`]: (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097); // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // 0..=11
    // The casts are of values proven small above (day 1..=31, month 1..=12).
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    (year, month, day)
}

/// What was done. Known kinds have variants; any other `[a-z0-9-]{1,64}` string is
/// [`Action::Other`], so logs written by newer versions still parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `ingest`: an item entered the vault.
    Ingest,
    /// `ingest-rejected`: an ingest was refused (e.g. hash mismatch).
    IngestRejected,
    /// `access`: content was read.
    Access,
    /// `export`: a copy left the vault.
    Export,
    /// `integrity-check`: stored content was re-hashed.
    IntegrityCheck,
    /// `transfer-initiate`: custody hand-off offered.
    TransferInitiate,
    /// `transfer-accept`: custody hand-off accepted by the receiver.
    TransferAccept,
    /// `disclosure-request`: the other side asked for disclosure.
    DisclosureRequest,
    /// `disclosure-approve`: a disclosure was approved.
    DisclosureApprove,
    /// `disclosure-refuse`: a disclosure was refused.
    DisclosureRefuse,
    /// `disclosure-fetch`: disclosed material was fetched or viewed.
    DisclosureFetch,
    /// `disclosure-ack`: the receiver acknowledged receipt.
    DisclosureAck,
    /// `access-denied`: an attempt was refused.
    AccessDenied,
    /// `key-rotation`: a key was replaced.
    KeyRotation,
    /// `destruction`: content was destroyed (crypto-shredded).
    Destruction,
    /// `case-create`: a case was opened.
    CaseCreate,
    /// `member-add`: someone was given access to a case.
    MemberAdd,
    /// `member-remove`: someone's access to a case was withdrawn.
    MemberRemove,
    /// `account-create`: a user account was created.
    AccountCreate,
    /// `account-disable`: a user account was disabled.
    AccountDisable,
    /// `account-unlock`: a locked account was unlocked by an administrator.
    AccountUnlock,
    /// `token-issue`: an API token was issued.
    TokenIssue,
    /// `token-revoke`: an API token was revoked.
    TokenRevoke,
    /// A kind this version does not know; holds its `[a-z0-9-]{1,64}` name, never a known one.
    Other(String),
}

/// Every known action kind, in declaration order.
pub const KNOWN_ACTIONS: [Action; 23] = [
    Action::Ingest,
    Action::IngestRejected,
    Action::Access,
    Action::Export,
    Action::IntegrityCheck,
    Action::TransferInitiate,
    Action::TransferAccept,
    Action::DisclosureRequest,
    Action::DisclosureApprove,
    Action::DisclosureRefuse,
    Action::DisclosureFetch,
    Action::DisclosureAck,
    Action::AccessDenied,
    Action::KeyRotation,
    Action::Destruction,
    Action::CaseCreate,
    Action::MemberAdd,
    Action::MemberRemove,
    Action::AccountCreate,
    Action::AccountDisable,
    Action::AccountUnlock,
    Action::TokenIssue,
    Action::TokenRevoke,
];

impl Action {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Action::Ingest => "ingest",
            Action::IngestRejected => "ingest-rejected",
            Action::Access => "access",
            Action::Export => "export",
            Action::IntegrityCheck => "integrity-check",
            Action::TransferInitiate => "transfer-initiate",
            Action::TransferAccept => "transfer-accept",
            Action::DisclosureRequest => "disclosure-request",
            Action::DisclosureApprove => "disclosure-approve",
            Action::DisclosureRefuse => "disclosure-refuse",
            Action::DisclosureFetch => "disclosure-fetch",
            Action::DisclosureAck => "disclosure-ack",
            Action::AccessDenied => "access-denied",
            Action::KeyRotation => "key-rotation",
            Action::Destruction => "destruction",
            Action::CaseCreate => "case-create",
            Action::MemberAdd => "member-add",
            Action::MemberRemove => "member-remove",
            Action::AccountCreate => "account-create",
            Action::AccountDisable => "account-disable",
            Action::AccountUnlock => "account-unlock",
            Action::TokenIssue => "token-issue",
            Action::TokenRevoke => "token-revoke",
            Action::Other(name) => name,
        }
    }

    /// Parses a wire name: a known kind, or [`Action::Other`] for any other `[a-z0-9-]{1,64}`.
    pub fn parse(s: &str) -> Result<Self, EventError> {
        if let Some(known) = KNOWN_ACTIONS.iter().find(|a| a.as_str() == s) {
            return Ok(known.clone());
        }
        if is_action_name(s) {
            Ok(Action::Other(s.to_owned()))
        } else {
            Err(EventError::BadAction { found: shorten(s) })
        }
    }

    /// Whether this is a known kind (not [`Action::Other`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, Action::Other(_))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_action_name(s: &str) -> bool {
    (1..=MAX_ACTION_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// At most 64 characters of untrusted text, for error messages.
fn shorten(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Characters refused in identifier-like text: C0 and C1 controls, DEL, and the Unicode
/// bidirectional formatting characters that can make displayed text differ from its bytes.
fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Checks a required identifier-like text member: non-empty, no forbidden character.
fn check_text(field: &'static str, s: &str) -> Result<(), EventError> {
    if s.is_empty() {
        return Err(EventError::EmptyField { field });
    }
    match s.chars().find(|&c| is_forbidden_char(c)) {
        Some(c) => Err(EventError::ForbiddenCharacter {
            field,
            code_point: u32::from(c),
        }),
        None => Ok(()),
    }
}

/// Checks the free-text reason: non-empty; line feeds and tabs allowed, other forbidden
/// characters not.
fn check_reason(s: &str) -> Result<(), EventError> {
    if s.is_empty() {
        return Err(EventError::EmptyField { field: "reason" });
    }
    match s
        .chars()
        .find(|&c| c != '\n' && c != '\t' && is_forbidden_char(c))
    {
        Some(c) => Err(EventError::ForbiddenCharacter {
            field: "reason",
            code_point: u32::from(c),
        }),
        None => Ok(()),
    }
}

impl Event {
    /// Checks every rule of the format that the types do not enforce: text members, the
    /// action name, `prev`/`item_prev` presence, `details` being an encodable object, the
    /// extension members and the safe range of `seq`. [`Event::from_canonical_bytes`] applies
    /// the same checks.
    pub fn validate(&self) -> Result<(), EventError> {
        if self.seq > jcs::MAX_SAFE_INTEGER.unsigned_abs() {
            return Err(EventError::SeqOutOfRange {
                found: i64::try_from(self.seq).unwrap_or(i64::MAX),
            });
        }
        check_text("clock", &self.clock)?;
        check_text("log", &self.log)?;
        check_text("actor.name", &self.actor.name)?;
        check_text("actor.role", &self.actor.role)?;
        check_text("actor.auth", &self.actor.auth)?;
        // An `Other` must be in the grammar and must not spell a known kind, which would
        // parse back as that kind.
        if let Action::Other(name) = &self.action
            && (!is_action_name(name) || KNOWN_ACTIONS.iter().any(|a| a.as_str() == name))
        {
            return Err(EventError::BadAction {
                found: shorten(name),
            });
        }
        if let Some(case) = &self.case {
            check_text("case", case)?;
        }
        if let Some(item) = &self.item {
            check_text("item.id", &item.id)?;
        }
        if let Some(reason) = &self.reason {
            check_reason(reason)?;
        }
        self.check_links()?;
        check_nested_value("details", &self.details)?;
        if !matches!(self.details, Value::Object(_)) {
            return Err(EventError::WrongType {
                field: "details",
                expected: "an object",
                found: self.details.type_name(),
            });
        }
        self.check_extra()
    }

    /// `prev` exactly when `seq > 0`; `item_prev` only with an item.
    fn check_links(&self) -> Result<(), EventError> {
        match (self.seq, self.prev.is_some()) {
            (0, true) => return Err(EventError::PrevOnFirstEvent),
            (seq, false) if seq > 0 => return Err(EventError::MissingPrev { seq }),
            _ => {}
        }
        if self.item_prev.is_some() && self.item.is_none() {
            return Err(EventError::ItemPrevWithoutItem);
        }
        Ok(())
    }

    fn check_extra(&self) -> Result<(), EventError> {
        let mut seen = std::collections::BTreeSet::new();
        for (name, value) in &self.extra {
            if KNOWN_MEMBERS.contains(&name.as_str()) || !seen.insert(name.as_str()) {
                return Err(EventError::DuplicateExtension {
                    name: shorten(name),
                });
            }
            check_nested_value("extra", value)?;
        }
        Ok(())
    }

    /// The event as a JSON object. Extension members never override defined members.
    pub fn to_value(&self) -> Value {
        let mut m: BTreeMap<String, Value> = self.extra.iter().cloned().collect();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        let text = |s: &str| Value::String(s.to_owned());
        let hex = |h: &Sha256Hash| Value::String(h.to_hex());
        put("v", Value::Int(EVENT_FORMAT_VERSION));
        put("type", text(EVENT_TYPE));
        // Saturates so an out-of-range seq stays out of range (and fails to parse back).
        put(
            "seq",
            Value::Int(i64::try_from(self.seq).unwrap_or(i64::MAX)),
        );
        put("time", Value::String(self.time.to_rfc3339()));
        put("clock", text(&self.clock));
        put("log", text(&self.log));
        put("actor", actor_value(&self.actor));
        put("action", text(self.action.as_str()));
        if let Some(case) = &self.case {
            put("case", text(case));
        }
        if let Some(item) = &self.item {
            let fields = [
                ("id".to_owned(), text(&item.id)),
                ("sha256".to_owned(), hex(&item.sha256)),
            ];
            put("item", Value::Object(fields.into_iter().collect()));
        }
        if let Some(reason) = &self.reason {
            put("reason", text(reason));
        }
        put("details", self.details.clone());
        put("salt", Value::String(hex::encode(self.salt)));
        if let Some(prev) = &self.prev {
            put("prev", hex(prev));
        }
        if let Some(item_prev) = &self.item_prev {
            put("item_prev", hex(item_prev));
        }
        Value::Object(m)
    }

    /// The event's canonical bytes (RFC 8785): the log leaf entry that is hashed and signed.
    ///
    /// Does not validate; an invalid event yields bytes that
    /// [`Event::from_canonical_bytes`] rejects. Use [`Event::to_canonical_bytes_checked`]
    /// before appending to a log.
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        jcs::to_canonical(&self.to_value())
    }

    /// [`Event::validate`], then the canonical bytes, refused above [`MAX_EVENT_BYTES`]:
    /// bytes from this function always parse back to an equal event (up to the order of
    /// [`Event::extra`]).
    pub fn to_canonical_bytes_checked(&self) -> Result<Vec<u8>, EventError> {
        self.validate()?;
        let bytes = self.to_canonical_bytes();
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(EventError::TooLarge {
                len: bytes.len(),
                max: MAX_EVENT_BYTES,
            });
        }
        Ok(bytes)
    }

    /// The event hash: the RFC 6962 leaf hash of the canonical bytes.
    pub fn hash(&self) -> Sha256Hash {
        event_hash(&self.to_canonical_bytes())
    }

    /// Parses and validates an event from its canonical bytes. Rejects anything but the exact
    /// canonical encoding of a valid event, so equal events have equal bytes and hashes.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Event, EventError> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(EventError::TooLarge {
                len: bytes.len(),
                max: MAX_EVENT_BYTES,
            });
        }
        let mut m = match jcs::parse_canonical(bytes)? {
            Value::Object(m) => m,
            other => {
                return Err(EventError::NotAnObject {
                    found: other.type_name(),
                });
            }
        };
        // The version comes first: a future version may change every other member.
        let version = take_int(&mut m, "v")?;
        if version != EVENT_FORMAT_VERSION {
            return Err(EventError::UnsupportedVersion { found: version });
        }
        let kind = take_string(&mut m, "type")?;
        if kind != EVENT_TYPE {
            return Err(EventError::WrongEventType {
                found: shorten(&kind),
            });
        }
        let seq = take_int(&mut m, "seq")?;
        let seq = u64::try_from(seq).map_err(|_| EventError::SeqOutOfRange { found: seq })?;
        let time = Timestamp::parse_rfc3339(&take_string(&mut m, "time")?).map_err(|source| {
            EventError::BadTimestamp {
                field: "time",
                source,
            }
        })?;
        let event = Event {
            seq,
            time,
            clock: take_string(&mut m, "clock")?,
            log: take_string(&mut m, "log")?,
            actor: take_actor(&mut m)?,
            action: Action::parse(&take_string(&mut m, "action")?)?,
            case: take_opt_string(&mut m, "case")?,
            item: take_item(&mut m)?,
            reason: take_opt_string(&mut m, "reason")?,
            details: take_object(&mut m, "details").map(Value::Object)?,
            salt: parse_lower_hex("salt", &take_string(&mut m, "salt")?)?,
            prev: take_opt_hash(&mut m, "prev")?,
            item_prev: take_opt_hash(&mut m, "item_prev")?,
            extra: canonical_order(m),
        };
        event.validate()?;
        Ok(event)
    }
}

fn actor_value(actor: &Actor) -> Value {
    let fields = [
        ("name", &actor.name),
        ("role", &actor.role),
        ("auth", &actor.auth),
    ];
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v.clone())))
            .collect(),
    )
}

/// `details` and extension values: encodable, and nested at most `MAX_DEPTH - 1` deep since
/// the event object itself is depth 1.
fn check_nested_value(field: &'static str, value: &Value) -> Result<(), EventError> {
    jcs::check_value(value, jcs::MAX_DEPTH - 1)
        .map_err(|source| EventError::BadValue { field, source })
}

/// Remaining (extension) members in RFC 8785 order.
fn canonical_order(m: BTreeMap<String, Value>) -> Vec<(String, Value)> {
    let mut extra: Vec<(String, Value)> = m.into_iter().collect();
    extra.sort_by(|a, b| jcs::cmp_utf16(&a.0, &b.0));
    extra
}

fn take(m: &mut BTreeMap<String, Value>, field: &'static str) -> Result<Value, EventError> {
    m.remove(field).ok_or(EventError::MissingField { field })
}

fn wrong_type(field: &'static str, expected: &'static str, found: &Value) -> EventError {
    EventError::WrongType {
        field,
        expected,
        found: found.type_name(),
    }
}

fn take_int(m: &mut BTreeMap<String, Value>, field: &'static str) -> Result<i64, EventError> {
    match take(m, field)? {
        Value::Int(n) => Ok(n),
        other => Err(wrong_type(field, "an integer", &other)),
    }
}

fn take_string(m: &mut BTreeMap<String, Value>, field: &'static str) -> Result<String, EventError> {
    match take(m, field)? {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(field, "a string", &other)),
    }
}

fn take_opt_string(
    m: &mut BTreeMap<String, Value>,
    field: &'static str,
) -> Result<Option<String>, EventError> {
    match m.remove(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(field, "a string", &other)),
    }
}

fn take_object(
    m: &mut BTreeMap<String, Value>,
    field: &'static str,
) -> Result<BTreeMap<String, Value>, EventError> {
    match take(m, field)? {
        Value::Object(o) => Ok(o),
        other => Err(wrong_type(field, "an object", &other)),
    }
}

fn take_opt_hash(
    m: &mut BTreeMap<String, Value>,
    field: &'static str,
) -> Result<Option<Sha256Hash>, EventError> {
    take_opt_string(m, field)?
        .map(|s| parse_lower_hex(field, &s).map(Sha256Hash))
        .transpose()
}

/// Takes a nested object's member; `path` is its dotted name for errors.
fn take_member_string(
    o: &mut BTreeMap<String, Value>,
    key: &str,
    path: &'static str,
) -> Result<String, EventError> {
    match o.remove(key) {
        None => Err(EventError::MissingField { field: path }),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(wrong_type(path, "a string", &other)),
    }
}

/// Nested objects are closed: extensions belong at the top level.
fn reject_unknown(o: BTreeMap<String, Value>, field: &'static str) -> Result<(), EventError> {
    match o.into_keys().next() {
        Some(member) => Err(EventError::UnknownMember {
            field,
            member: shorten(&member),
        }),
        None => Ok(()),
    }
}

fn take_actor(m: &mut BTreeMap<String, Value>) -> Result<Actor, EventError> {
    let mut o = take_object(m, "actor")?;
    let actor = Actor {
        name: take_member_string(&mut o, "name", "actor.name")?,
        role: take_member_string(&mut o, "role", "actor.role")?,
        auth: take_member_string(&mut o, "auth", "actor.auth")?,
    };
    reject_unknown(o, "actor")?;
    Ok(actor)
}

fn take_item(m: &mut BTreeMap<String, Value>) -> Result<Option<ItemRef>, EventError> {
    let mut o = match m.remove("item") {
        None => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(other) => return Err(wrong_type("item", "an object", &other)),
    };
    let id = take_member_string(&mut o, "id", "item.id")?;
    let sha256 = take_member_string(&mut o, "sha256", "item.sha256")?;
    let sha256 = Sha256Hash(parse_lower_hex("item.sha256", &sha256)?);
    reject_unknown(o, "item")?;
    Ok(Some(ItemRef { id, sha256 }))
}

/// Exactly `2 * N` lowercase hex digits, so each value has one spelling.
fn parse_lower_hex<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N], EventError> {
    let bad = EventError::BadHex {
        field,
        expected_len: 2 * N,
    };
    if s.len() != 2 * N || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad);
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| bad)?;
    Ok(out)
}

/// The event hash of canonical event bytes: the RFC 6962 §2.1 leaf hash
/// `SHA-256(0x00 || bytes)`.
pub fn event_hash(bytes: &[u8]) -> Sha256Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(bytes);
    Sha256Hash(h.finalize().into())
}

/// The message the log key signs: [`EVENT_SIGNATURE_CONTEXT`] then the canonical bytes.
pub fn signature_message(bytes: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(EVENT_SIGNATURE_CONTEXT.len() + bytes.len());
    msg.extend_from_slice(EVENT_SIGNATURE_CONTEXT);
    msg.extend_from_slice(bytes);
    msg
}

/// Signs canonical event bytes with the log key (Ed25519, RFC 8032) over
/// [`signature_message`].
pub fn sign_event(key: &SigningKey, bytes: &[u8]) -> [u8; 64] {
    key.sign(&signature_message(bytes)).to_bytes()
}

/// Verifies one event signature: strict Ed25519 verification (rejects weak keys, small-order
/// `R` and non-canonical `s`) of `sig` over [`signature_message`]`(bytes)`.
pub fn verify_event(key: &VerifyingKey, bytes: &[u8], sig: &[u8]) -> Result<(), EventError> {
    if key.is_weak() {
        return Err(EventError::WeakKey);
    }
    let sig =
        Signature::from_slice(sig).map_err(|_| EventError::SignatureLength { len: sig.len() })?;
    key.verify_strict(&signature_message(bytes), &sig)
        .map_err(|_| EventError::BadSignature)
}

/// Verifies many `(event bytes, signature)` pairs with one key using ed25519-dalek batch
/// verification, [`BATCH_CHUNK`] at a time: `Ok` means every signature is valid.
///
/// Batch verification checks a random linear combination of the signature equations (the
/// randomness is derived from all inputs, so the result is deterministic). It accepts every
/// signature [`verify_event`] accepts; it may also accept, with probability about 1/8, a
/// genuine signature whose `R` was altered by a small-order point, which changes no signed
/// byte. On `Err`, call [`find_bad_signatures`] to locate the failures.
pub fn verify_events_batch(key: &VerifyingKey, items: &[(&[u8], &[u8])]) -> Result<(), EventError> {
    if key.is_weak() {
        return Err(EventError::WeakKey);
    }
    for (chunk_no, chunk) in items.chunks(BATCH_CHUNK).enumerate() {
        let sigs = parse_signatures(chunk, chunk_no * BATCH_CHUNK)?;
        if !batch_ok(key, chunk, &sigs) {
            return Err(EventError::BatchFailed { count: items.len() });
        }
    }
    Ok(())
}

/// Indices of the pairs whose signature does not verify: batch verification per
/// [`BATCH_CHUNK`], and one-by-one [`verify_event`] only within chunks that fail. With a weak
/// key every index is returned.
pub fn find_bad_signatures(key: &VerifyingKey, items: &[(&[u8], &[u8])]) -> Vec<usize> {
    if key.is_weak() {
        return (0..items.len()).collect();
    }
    let mut bad = Vec::new();
    for (chunk_no, chunk) in items.chunks(BATCH_CHUNK).enumerate() {
        let base = chunk_no * BATCH_CHUNK;
        let passed = parse_signatures(chunk, base).is_ok_and(|sigs| batch_ok(key, chunk, &sigs));
        if !passed {
            bad.extend(
                chunk
                    .iter()
                    .enumerate()
                    .filter(|(_, (bytes, sig))| verify_event(key, bytes, sig).is_err())
                    .map(|(i, _)| base + i),
            );
        }
    }
    bad
}

fn parse_signatures(chunk: &[(&[u8], &[u8])], base: usize) -> Result<Vec<Signature>, EventError> {
    chunk
        .iter()
        .enumerate()
        .map(|(i, (_, sig))| {
            Signature::from_slice(sig).map_err(|_| EventError::BatchSignatureLength {
                index: base + i,
                len: sig.len(),
            })
        })
        .collect()
}

fn batch_ok(key: &VerifyingKey, chunk: &[(&[u8], &[u8])], sigs: &[Signature]) -> bool {
    let messages: Vec<Vec<u8>> = chunk
        .iter()
        .map(|(bytes, _)| signature_message(bytes))
        .collect();
    let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let keys = vec![*key; chunk.len()];
    ed25519_dalek::verify_batch(&message_refs, sigs, &keys).is_ok()
}
