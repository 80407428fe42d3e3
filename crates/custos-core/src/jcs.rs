//! RFC 8785 JSON Canonicalization Scheme (JCS) for a restricted, integer-only value model.
//!
//! Custody events are JSON objects whose canonical bytes are hashed and signed, so two
//! implementations must produce the same bytes for the same value. This module implements
//! RFC 8785 §3.2 for values without floating-point numbers:
//!
//! * no whitespace between tokens (§3.2.1);
//! * literals `null`, `true`, `false` (§3.2.2.1);
//! * strings escaped exactly as ECMAScript `JSON.stringify` does (§3.2.2.2): `\"`, `\\`, `\b`,
//!   `\f`, `\n`, `\r`, `\t`, other code points below U+0020 as `\u00xx` with lowercase hex, every
//!   other code point (U+2028, U+2029, U+007F and all non-ASCII included) as literal UTF-8;
//! * integers only, within the I-JSON safe range |n| <= 2^53 - 1 (RFC 7493 §2.2), where the
//!   ECMAScript number serialisation of §3.2.2.3 is plain decimal with a leading `-` when
//!   negative; every JCS implementation agrees on these;
//! * object members sorted by the UTF-16 code units of their names (§3.2.3), which differs from
//!   UTF-8 byte order for names holding characters above U+FFFF.
//!
//! [`parse_canonical`] is the strict counterpart: it accepts a byte string only if it is valid
//! JSON in this model *and* byte-identical to the canonical encoding of the value it denotes, so
//! each value has exactly one accepted encoding.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Largest integer magnitude allowed: 2^53 - 1, the I-JSON safe range (RFC 7493 §2.2).
pub const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// Maximum nesting depth of arrays and objects accepted by [`parse_canonical`]; the outermost
/// array or object is at depth 1. Bounds the parser's recursion on hostile input.
pub const MAX_DEPTH: usize = 32;

/// A JSON value in the restricted model: no floating-point numbers.
///
/// Objects are maps, so duplicate member names cannot be represented; their iteration order is
/// irrelevant because [`to_canonical`] sorts members by UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer; must lie within ±[`MAX_SAFE_INTEGER`] to be encodable (see [`check_value`]).
    Int(i64),
    /// A string of Unicode scalar values.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(BTreeMap<String, Value>),
}

impl Value {
    /// An object from key/value pairs (a later duplicate key replaces an earlier one).
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The JSON type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
}

/// Why bytes were not accepted as canonical JSON. Offsets are byte offsets into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// The input is not valid UTF-8 (RFC 8259 §8.1, RFC 8785 §3.2.4).
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Offset of the first byte that is not part of a valid UTF-8 sequence.
        offset: usize,
    },
    /// The input ended inside a value.
    #[error("the input ends before the JSON value is complete (at byte {offset})")]
    UnexpectedEnd {
        /// Length of the input.
        offset: usize,
    },
    /// A byte that cannot appear here in JSON.
    #[error("unexpected byte 0x{found:02x} at byte {offset}; expected {expected}")]
    UnexpectedByte {
        /// Where.
        offset: usize,
        /// The byte found.
        found: u8,
        /// What the grammar allows here.
        expected: &'static str,
    },
    /// Bytes after the end of the top-level value.
    #[error("data after the end of the JSON value, at byte {offset}")]
    TrailingData {
        /// Offset of the first byte after the value.
        offset: usize,
    },
    /// A backslash escape that JSON does not define, or a malformed `\u` escape.
    #[error("invalid escape sequence in a string at byte {offset}")]
    InvalidEscape {
        /// Offset of the backslash.
        offset: usize,
    },
    /// A `\u` escape of a UTF-16 surrogate that is not part of a valid pair (I-JSON, RFC 7493 §2.1).
    #[error("unpaired UTF-16 surrogate \\u{unit:04x} at byte {offset}")]
    LoneSurrogate {
        /// Offset of the escape.
        offset: usize,
        /// The surrogate code unit.
        unit: u16,
    },
    /// A raw control character (below U+0020) inside a string; JSON requires it escaped.
    #[error("unescaped control character 0x{found:02x} in a string at byte {offset}")]
    ControlCharacter {
        /// Where.
        offset: usize,
        /// The byte.
        found: u8,
    },
    /// A number with a fraction or an exponent; this model has integers only.
    #[error("number with a fraction or exponent at byte {offset}; only integers are allowed")]
    NotAnInteger {
        /// Offset of the number's first byte.
        offset: usize,
    },
    /// An integer with a leading zero, such as `01`.
    #[error("integer with a leading zero at byte {offset}")]
    LeadingZero {
        /// Offset of the number's first byte.
        offset: usize,
    },
    /// The integer `-0`, which ECMAScript serialises as `0`.
    #[error("negative zero at byte {offset}")]
    NegativeZero {
        /// Offset of the number's first byte.
        offset: usize,
    },
    /// An integer outside ±(2^53 - 1).
    #[error("integer outside the safe range ±9007199254740991 at byte {offset}")]
    IntegerOutOfRange {
        /// Offset of the number's first byte.
        offset: usize,
    },
    /// An object with two members of the same name (after unescaping).
    #[error("duplicate object member {key:?} at byte {offset}")]
    DuplicateKey {
        /// Offset of the second occurrence's name.
        offset: usize,
        /// The repeated name.
        key: String,
    },
    /// Arrays and objects nested deeper than allowed.
    #[error("arrays and objects nested deeper than {max} levels at byte {offset}")]
    TooDeep {
        /// Offset of the `[` or `{` that exceeds the limit.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// Valid JSON, but not the RFC 8785 canonical encoding of its value (whitespace, member
    /// order, escaping).
    #[error("valid JSON but not in RFC 8785 canonical form: first difference at byte {offset}")]
    NotCanonical {
        /// Offset of the first byte that differs from the canonical encoding.
        offset: usize,
    },
}

/// Why an in-memory [`Value`] cannot be encoded canonically.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// An integer outside ±(2^53 - 1).
    #[error("integer {value} is outside the safe range ±9007199254740991")]
    IntegerOutOfRange {
        /// The integer.
        value: i64,
    },
    /// Arrays and objects nested deeper than allowed.
    #[error("arrays and objects nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

/// Checks that `value` is encodable and will parse back: every integer within the safe range
/// and nesting no deeper than `max_depth` (the outermost array or object counts as 1).
pub fn check_value(value: &Value, max_depth: usize) -> Result<(), ValueError> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
        Value::Int(n) => {
            if n.unsigned_abs() <= MAX_SAFE_INTEGER.unsigned_abs() {
                Ok(())
            } else {
                Err(ValueError::IntegerOutOfRange { value: *n })
            }
        }
        Value::Array(items) => {
            let inner = max_depth
                .checked_sub(1)
                .ok_or(ValueError::TooDeep { max: max_depth })?;
            items
                .iter()
                .try_for_each(|v| check_value(v, inner))
                .map_err(|e| rebase(e, max_depth))
        }
        Value::Object(members) => {
            let inner = max_depth
                .checked_sub(1)
                .ok_or(ValueError::TooDeep { max: max_depth })?;
            members
                .values()
                .try_for_each(|v| check_value(v, inner))
                .map_err(|e| rebase(e, max_depth))
        }
    }
}

/// Reports the caller's limit rather than the remaining depth at which recursion stopped.
fn rebase(e: ValueError, max_depth: usize) -> ValueError {
    match e {
        ValueError::TooDeep { .. } => ValueError::TooDeep { max: max_depth },
        other => other,
    }
}

/// Compares two member names by their UTF-16 code units (RFC 8785 §3.2.3).
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The RFC 8785 canonical encoding of `value`.
///
/// Infallible: an integer outside the safe range is written in plain decimal, which
/// [`parse_canonical`] then rejects; call [`check_value`] first when the value is not trusted.
pub fn to_canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}

/// Appends the RFC 8785 canonical encoding of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // For safe integers, ECMAScript Number::toString (RFC 8785 §3.2.2.3) is plain decimal.
        Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (name, member)) in sorted_members(members).into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                write_canonical(member, out);
            }
            out.push(b'}');
        }
    }
}

/// Members in RFC 8785 §3.2.3 order. The map is in UTF-8 byte (= code point) order, which
/// agrees with UTF-16 order unless a name holds a character in U+E000..U+FFFF or above U+FFFF
/// (UTF-8 lead byte 0xEE or higher); only then is a re-sort needed.
fn sorted_members(members: &BTreeMap<String, Value>) -> Vec<(&String, &Value)> {
    let mut list: Vec<(&String, &Value)> = members.iter().collect();
    if list.iter().any(|(k, _)| k.bytes().any(|b| b >= 0xEE)) {
        list.sort_by(|a, b| cmp_utf16(a.0, b.0));
    }
    list
}

/// Writes a JSON string as ECMAScript `JSON.stringify` does (RFC 8785 §3.2.2.2).
fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        // Bytes below 0x80 are whole characters, so the run boundaries are char boundaries.
        out.extend_from_slice(bytes.get(run_start..i).unwrap_or_default());
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0x0f)]);
            }
        }
        run_start = i + 1;
    }
    out.extend_from_slice(bytes.get(run_start..).unwrap_or_default());
    out.push(b'"');
}

/// Parses `bytes` as JSON in the restricted model and accepts it only if it is exactly the
/// RFC 8785 canonical encoding of the resulting value.
///
/// Rejects invalid UTF-8, duplicate member names, unpaired surrogate escapes, fractions and
/// exponents, integers outside ±(2^53 - 1), leading zeros, `-0`, nesting deeper than
/// [`MAX_DEPTH`], and any input that parses but is not byte-identical to its canonical
/// re-encoding ([`JcsError::NotCanonical`] with the offset of the first difference). The size
/// limit is the caller's.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, JcsError> {
    let value = parse_json(bytes)?;
    let canonical = to_canonical(&value);
    if canonical != bytes {
        let offset = canonical
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(bytes.len()));
        return Err(JcsError::NotCanonical { offset });
    }
    Ok(value)
}

/// Parses any RFC 8259 JSON text in the restricted model, allowing whitespace, any escape
/// spelling and any member order, with the same limits as [`parse_canonical`] otherwise.
///
/// For canonicalising external JSON (e.g. `to_canonical(&parse_json(text)?)`). It does not
/// check canonical form: never use it to accept hashed or signed data.
pub fn parse_json(bytes: &[u8]) -> Result<Value, JcsError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JcsError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let mut p = Parser {
        text,
        bytes,
        pos: 0,
    };
    p.skip_ws();
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos < bytes.len() {
        return Err(JcsError::TrailingData { offset: p.pos });
    }
    Ok(value)
}

/// Recursive-descent parser over input already known to be valid UTF-8.
struct Parser<'a> {
    /// The input as text, for slicing string runs without re-validating them.
    text: &'a str,
    /// The same input as bytes.
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn end(&self) -> JcsError {
        JcsError::UnexpectedEnd {
            offset: self.bytes.len(),
        }
    }

    /// The next byte, which must exist.
    fn next_byte(&mut self) -> Result<u8, JcsError> {
        let b = self.peek().ok_or_else(|| self.end())?;
        self.pos += 1;
        Ok(b)
    }

    fn unexpected(&self, expected: &'static str) -> JcsError {
        match self.peek() {
            Some(found) => JcsError::UnexpectedByte {
                offset: self.pos,
                found,
                expected,
            },
            None => self.end(),
        }
    }

    /// Skips RFC 8259 §2 insignificant whitespace (canonical form has none; the final
    /// comparison reports it as `NotCanonical`).
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), JcsError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// Parses one value; `depth` is the number of enclosing arrays and objects.
    fn value(&mut self, depth: usize) -> Result<Value, JcsError> {
        match self.peek() {
            None => Err(self.end()),
            Some(b'{') => self.object(self.enter(depth)?),
            Some(b'[') => self.array(self.enter(depth)?),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(_) => Err(self.unexpected("a JSON value")),
        }
    }

    /// Depth of a new array or object, checked against [`MAX_DEPTH`].
    fn enter(&self, depth: usize) -> Result<usize, JcsError> {
        let inner = depth + 1;
        if inner > MAX_DEPTH {
            return Err(JcsError::TooDeep {
                offset: self.pos,
                max: MAX_DEPTH,
            });
        }
        Ok(inner)
    }

    fn literal(&mut self, word: &'static [u8], value: Value) -> Result<Value, JcsError> {
        for &expected in word {
            if self.peek() != Some(expected) {
                return Err(self.unexpected("a literal true, false or null"));
            }
            self.pos += 1;
        }
        Ok(value)
    }

    fn array(&mut self, depth: usize) -> Result<Value, JcsError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.next_byte()? {
                b',' => continue,
                b']' => return Ok(Value::Array(items)),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("',' or ']'"));
                }
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JcsError> {
        self.pos += 1; // '{'
        let mut members = BTreeMap::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            let key_offset = self.pos;
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a member name string"));
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':', "':'")?;
            self.skip_ws();
            let value = self.value(depth)?;
            if members.contains_key(&key) {
                return Err(JcsError::DuplicateKey {
                    offset: key_offset,
                    key,
                });
            }
            members.insert(key, value);
            self.skip_ws();
            match self.next_byte()? {
                b',' => continue,
                b'}' => return Ok(Value::Object(members)),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("',' or '}'"));
                }
            }
        }
    }

    /// Parses a string starting at its opening quote (RFC 8259 §7).
    fn string(&mut self) -> Result<String, JcsError> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // The run starts and stops at ASCII bytes, hence on character boundaries; the
            // error is unreachable but keeps this panic-free.
            let run = self
                .text
                .get(run_start..self.pos)
                .ok_or(JcsError::InvalidUtf8 { offset: run_start })?;
            out.push_str(run);
            let at = self.pos;
            match self.next_byte()? {
                b'"' => return Ok(out),
                b'\\' => out.push(self.escape(at)?),
                control => {
                    return Err(JcsError::ControlCharacter {
                        offset: at,
                        found: control,
                    });
                }
            }
        }
    }

    /// Decodes the escape after a backslash at `at`.
    fn escape(&mut self, at: usize) -> Result<char, JcsError> {
        let bad = JcsError::InvalidEscape { offset: at };
        Ok(match self.next_byte().map_err(|_| bad.clone())? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(at),
            _ => return Err(bad),
        })
    }

    /// Decodes `\uXXXX`, joining a surrogate pair `\uD8xx\uDCxx` into one character.
    fn unicode_escape(&mut self, at: usize) -> Result<char, JcsError> {
        let unit = self.hex4(at)?;
        let code = match unit {
            0xD800..=0xDBFF => {
                let second_at = self.pos;
                let lone = JcsError::LoneSurrogate { offset: at, unit };
                if self.bytes.get(second_at..second_at + 2) != Some(b"\\u") {
                    return Err(lone);
                }
                self.pos += 2;
                let low = self.hex4(second_at)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(lone);
                }
                0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(JcsError::LoneSurrogate { offset: at, unit }),
            _ => u32::from(unit),
        };
        char::from_u32(code).ok_or(JcsError::InvalidEscape { offset: at })
    }

    fn hex4(&mut self, at: usize) -> Result<u16, JcsError> {
        let mut unit: u16 = 0;
        for _ in 0..4 {
            let b = self
                .next_byte()
                .map_err(|_| JcsError::InvalidEscape { offset: at })?;
            let digit = char::from(b)
                .to_digit(16)
                .ok_or(JcsError::InvalidEscape { offset: at })?;
            // Four hex digits fit in 16 bits.
            unit = (unit << 4) | digit as u16;
        }
        Ok(unit)
    }

    /// Parses an integer (RFC 8259 §6 without fraction or exponent) within the safe range.
    fn integer(&mut self) -> Result<Value, JcsError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let first = match self.peek() {
            Some(d @ b'0'..=b'9') => d,
            _ => return Err(self.unexpected("a digit")),
        };
        let mut magnitude: i64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            if first == b'0' && self.pos > start + usize::from(negative) {
                return Err(JcsError::LeadingZero { offset: start });
            }
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(d - b'0')))
                .filter(|m| *m <= MAX_SAFE_INTEGER)
                .ok_or(JcsError::IntegerOutOfRange { offset: start })?;
            self.pos += 1;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return Err(JcsError::NotAnInteger { offset: start });
        }
        if negative && magnitude == 0 {
            return Err(JcsError::NegativeZero { offset: start });
        }
        Ok(Value::Int(if negative { -magnitude } else { magnitude }))
    }
}
