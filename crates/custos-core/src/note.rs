//! C2SP signed notes (<https://c2sp.org/signed-note@v1.0.0>) with Ed25519 keys.
//!
//! A note is a UTF-8 text that ends in a newline, a blank line, and one or more signature lines
//! `— <key name> <base64(4-byte key ID || signature)>` (U+2014 EM DASH, then a space). The
//! signatures cover the text including its final newline, not the blank line.
//!
//! Keys travel as text: a verifier key `<name>+<8 hex key ID>+<base64(0x01 || public key)>` and a
//! signer key `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || 32-byte seed)>`, the encodings of
//! `golang.org/x/mod/sumdb/note`. The byte-level rules are written out in
//! `docs/FORMATS.md §5`.
//!
//! This module is strict where the reference implementation is lenient, so that every accepted
//! note has exactly one spelling: base64 must be canonical (padding present, unused bits zero),
//! key IDs in key strings must be lowercase hex, and Ed25519 signatures are checked with
//! `verify_strict` (no small-order keys or `R` points).
//!
//! No I/O and no randomness: keys come from a 32-byte seed the caller supplies.

use crate::hash::Sha256Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use std::fmt;
use zeroize::{Zeroize as _, Zeroizing};

/// Signature type byte of plain Ed25519 note signatures (signed-note "Signature types").
pub const SIGNATURE_TYPE_ED25519: u8 = 0x01;

/// Most signature lines a note may carry. The spec asks verifiers to accept at least 16
/// (signed-note "Format"); 100 is the limit of the Go reference implementation.
pub const MAX_SIGNATURES: usize = 100;

/// Start of every signature line: U+2014 EM DASH and U+0020 SPACE (bytes `E2 80 94 20`).
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// Start of a signer (private) key string.
pub const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Length of an Ed25519 signature.
const ED25519_SIGNATURE_LEN: usize = 64;

/// Shortest decoded signature accepted on a line: the key ID and at least one byte.
const MIN_SIGNATURE_LINE_BYTES: usize = 5;

/// Longest excerpt of hostile input copied into an error message.
const EXCERPT_CHARS: usize = 24;

/// The 4-byte key ID that names a key on signature lines: the first four bytes of
/// SHA-256(key name || 0x0A || signature type || public key) (signed-note "Signatures").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// Derive the key ID of `public_key` (the key alone, without the type byte) under `name`
    /// and `signature_type`.
    pub fn compute(name: &str, signature_type: u8, public_key: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update([b'\n', signature_type]);
        h.update(public_key);
        let digest = h.finalize();
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest[..4]);
        Self(id)
    }

    /// The key ID as a big-endian integer (the "uint32 key ID" of the spec).
    pub fn as_u32(&self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// Eight lowercase hex digits, as in key strings.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse exactly eight lowercase hex digits.
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let ok = s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(KeyError::KeyIdFormat { got: excerpt(s) });
        }
        let mut id = [0u8; 4];
        hex::decode_to_slice(s, &mut id).map_err(|_| KeyError::KeyIdFormat { got: excerpt(s) })?;
        Ok(Self(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

/// Why a key name is refused (signed-note "Format": non-empty, no Unicode spaces, no '+').
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyNameError {
    /// The name is empty.
    #[error("key name is empty")]
    Empty,
    /// The name contains a Unicode space character.
    #[error("key name contains a space character (U+{code:04X}) at character {position}")]
    Space {
        /// 1-based character position in the name.
        position: usize,
        /// The code point found.
        code: u32,
    },
    /// The name contains '+', the key-string separator.
    #[error("key name contains '+' at character {position}")]
    Plus {
        /// 1-based character position in the name.
        position: usize,
    },
    /// The name contains an ASCII control character, which no note may contain.
    #[error("key name contains control character U+{code:04X} at character {position}")]
    Control {
        /// 1-based character position in the name.
        position: usize,
        /// The code point found.
        code: u32,
    },
}

/// Check a key name: non-empty, no Unicode white space, no '+' and no ASCII control character
/// (a name with one could never appear in a valid note).
pub fn validate_key_name(name: &str) -> Result<(), KeyNameError> {
    if name.is_empty() {
        return Err(KeyNameError::Empty);
    }
    for (i, c) in name.chars().enumerate() {
        let position = i + 1;
        if c.is_whitespace() {
            return Err(KeyNameError::Space {
                position,
                code: u32::from(c),
            });
        }
        if c.is_ascii_control() {
            return Err(KeyNameError::Control {
                position,
                code: u32::from(c),
            });
        }
        if c == '+' {
            return Err(KeyNameError::Plus { position });
        }
    }
    Ok(())
}

/// One of the '+'-separated parts of a key string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    /// The literal `PRIVATE+KEY` prefix of signer keys.
    PrivatePrefix,
    /// The key name.
    Name,
    /// The 8-hex-digit key ID.
    KeyId,
    /// The base64 key data (type byte and key).
    KeyData,
}

impl fmt::Display for KeyPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyPart::PrivatePrefix => "PRIVATE+KEY prefix",
            KeyPart::Name => "key name",
            KeyPart::KeyId => "key ID",
            KeyPart::KeyData => "key data",
        })
    }
}

/// A verifier or signer key string that cannot be used, naming the part that is wrong.
/// Messages never include key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A signer key string that does not start with `PRIVATE+KEY+`.
    #[error("signer key must start with \"PRIVATE+KEY+\"")]
    MissingPrivatePrefix,
    /// The string ends before the named part (parts are separated by '+').
    #[error("key string has no {part} (parts are separated by '+')")]
    MissingPart {
        /// The part that is absent.
        part: KeyPart,
    },
    /// The key name is not valid.
    #[error("key name: {0}")]
    InvalidName(#[from] KeyNameError),
    /// The key ID part is not eight lowercase hex digits.
    #[error("key ID must be 8 lowercase hex digits; got {got:?}")]
    KeyIdFormat {
        /// The start of the offending text.
        got: String,
    },
    /// The key data is not canonical standard base64 with padding.
    #[error("key data is not canonical standard base64 (RFC 4648 §4, with padding)")]
    KeyDataBase64,
    /// The decoded key data has the wrong length.
    #[error("key data decodes to {got} bytes; expected {expected} (type byte and 32-byte key)")]
    KeyDataLength {
        /// Bytes expected.
        expected: usize,
        /// Bytes found.
        got: usize,
    },
    /// The type byte is not the one this key kind uses.
    #[error("key type byte is 0x{got:02x}; expected 0x{expected:02x}")]
    WrongKeyType {
        /// Type byte expected.
        expected: u8,
        /// Type byte found.
        got: u8,
    },
    /// The 32 bytes are not a valid Ed25519 public key encoding.
    #[error("key data is not a valid Ed25519 public key")]
    InvalidPublicKey,
    /// The public key has small order: anyone could forge signatures under it.
    #[error("Ed25519 public key has small order (a weak key anyone could forge for)")]
    WeakPublicKey,
    /// The declared key ID is not the one derived from name, type and key.
    #[error("key ID {declared} does not match {computed}, the ID derived from the name and key")]
    KeyIdMismatch {
        /// Key ID written in the string.
        declared: KeyId,
        /// Key ID derived from the key.
        computed: KeyId,
    },
}

/// Why one signature line cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureLineError {
    /// The line does not start with U+2014 and a space (an ASCII '-' is not accepted).
    #[error("does not start with an em dash (U+2014) and a space")]
    MissingEmDash,
    /// No space separates the key name from the signature.
    #[error("has no space between the key name and the signature")]
    MissingSignature,
    /// The key name is not valid.
    #[error("key name: {0}")]
    InvalidName(KeyNameError),
    /// The signature is not canonical standard base64 with padding.
    #[error("signature is not canonical standard base64 (RFC 4648 §4, with padding)")]
    InvalidBase64,
    /// The signature decodes to fewer bytes than a key ID and a signature need.
    #[error("signature decodes to {got} bytes; at least 5 (4-byte key ID and signature) needed")]
    TooShort {
        /// Bytes decoded.
        got: usize,
    },
}

/// Everything that can go wrong with a note: its structure, a key, or its signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The bytes are not UTF-8.
    #[error("note is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// An ASCII control character other than newline (CR and tab included).
    #[error(
        "note line {line}, column {column}: control character U+{code:04X} is not allowed (only newline is; CRLF line ends are not accepted)"
    )]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
        /// 1-based character column.
        column: usize,
        /// The code point found.
        code: u32,
    },
    /// No blank line separates the text from the signature lines.
    #[error("note has no blank line separating the text from the signature lines")]
    MissingBlankLine,
    /// Nothing follows the blank line.
    #[error("note has no signature lines after the blank line")]
    NoSignatureLines,
    /// The last signature line has no newline.
    #[error("note does not end with a newline after its last signature line")]
    MissingFinalNewline,
    /// A signature line is malformed.
    #[error("note line {line}: malformed signature line: {reason}")]
    MalformedSignatureLine {
        /// 1-based line number in the note.
        line: usize,
        /// What is wrong with it.
        reason: SignatureLineError,
    },
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("note has more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A text to sign is empty.
    #[error("note text is empty")]
    EmptyText,
    /// A text to sign does not end in a newline.
    #[error("note text must end with a newline")]
    TextMissingFinalNewline,
    /// A signature to add to a note is malformed.
    #[error("signature cannot be added: {0}")]
    BadSignature(SignatureLineError),
    /// A key name or key string is not valid.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Two trusted verifiers share name and key ID but hold different keys.
    #[error("two trusted keys named {name} share key ID {key_id}; the verifier list is ambiguous")]
    AmbiguousVerifier {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: KeyId,
    },
    /// A signature by a trusted key does not verify: the note was altered or forged.
    #[error(
        "signature by trusted key {name} (key ID {key_id}) is invalid: the note was altered or not signed by that key"
    )]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: KeyId,
    },
    /// No signature by a trusted key is present.
    #[error("note has no signature by a trusted key (signatures present: {})", list_signers(.present))]
    NoVerifiedSignature {
        /// Name and key ID of every signature line present, all from unknown keys.
        present: Vec<(String, KeyId)>,
    },
}

fn list_signers(present: &[(String, KeyId)]) -> String {
    if present.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = present.iter().map(|(n, id)| format!("{n}+{id}")).collect();
    parts.join(", ")
}

/// The first characters of hostile input, for error messages.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(EXCERPT_CHARS).collect();
    if s.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Check a note text: non-empty, ends in a newline, no ASCII control character but newline.
/// Any text that passes can be signed and parses back unchanged.
pub fn validate_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::TextMissingFinalNewline);
    }
    check_control_characters(text)
}

/// signed-note "Format": no ASCII control characters (below U+0020) other than newline.
fn check_control_characters(s: &str) -> Result<(), NoteError> {
    let (mut line, mut column) = (1usize, 0usize);
    for c in s.chars() {
        if c == '\n' {
            line += 1;
            column = 0;
            continue;
        }
        column += 1;
        if u32::from(c) < 0x20 {
            return Err(NoteError::ControlCharacter {
                line,
                column,
                code: u32::from(c),
            });
        }
    }
    Ok(())
}

/// Decode canonical standard base64 (padding required, unused bits zero).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s).ok()
}

/// Split `<name>+<key id>+<key data>` on its first two '+' (the base64 may contain '+').
fn split_key_string(s: &str) -> Result<(&str, KeyId, &str), KeyError> {
    let (name, rest) = s.split_once('+').ok_or(KeyError::MissingPart {
        part: KeyPart::KeyId,
    })?;
    validate_key_name(name)?;
    let (id, data) = rest.split_once('+').ok_or(KeyError::MissingPart {
        part: KeyPart::KeyData,
    })?;
    let key_id = KeyId::from_hex(id)?;
    if data.is_empty() {
        return Err(KeyError::MissingPart {
            part: KeyPart::KeyData,
        });
    }
    Ok((name, key_id, data))
}

/// Decode `base64(type || 32 bytes)` into the 32 bytes, checking type and length.
/// The buffer is zeroized on drop because for signer keys it holds the seed.
fn decode_key_data(data: &str, key_type: u8) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let raw = Zeroizing::new(decode_base64(data).ok_or(KeyError::KeyDataBase64)?);
    if raw.len() != 33 {
        return Err(KeyError::KeyDataLength {
            expected: 33,
            got: raw.len(),
        });
    }
    let (ty, key) = raw.split_first().ok_or(KeyError::KeyDataLength {
        expected: 33,
        got: 0,
    })?;
    if *ty != key_type {
        return Err(KeyError::WrongKeyType {
            expected: key_type,
            got: *ty,
        });
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(key);
    Ok(out)
}

/// Encoded public key of a verifier key: type byte and the 32-byte Ed25519 key.
fn encoded_public_key(key_type: u8, vk: &VerifyingKey) -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = key_type;
    out[1..].copy_from_slice(vk.as_bytes());
    out
}

/// Check that `vk` is usable for verification (not of small order).
pub(crate) fn check_verifying_key(vk: &VerifyingKey) -> Result<(), KeyError> {
    if vk.is_weak() {
        return Err(KeyError::WeakPublicKey);
    }
    Ok(())
}

/// Parse a verifier key string `<name>+<key id>+<base64(key_type || key)>` and check its key ID.
pub(crate) fn parse_verifier_key(
    s: &str,
    key_type: u8,
) -> Result<(String, KeyId, VerifyingKey), KeyError> {
    let (name, declared, data) = split_key_string(s)?;
    let key = decode_key_data(data, key_type)?;
    let vk = VerifyingKey::from_bytes(&key).map_err(|_| KeyError::InvalidPublicKey)?;
    check_verifying_key(&vk)?;
    let computed = KeyId::compute(name, key_type, vk.as_bytes());
    if computed != declared {
        return Err(KeyError::KeyIdMismatch { declared, computed });
    }
    Ok((name.to_owned(), declared, vk))
}

/// Parse a signer key string `PRIVATE+KEY+<name>+<key id>+<base64(key_type || seed)>` and check
/// that the key ID matches the public key derived from the seed.
pub(crate) fn parse_signer_key(
    s: &str,
    key_type: u8,
) -> Result<(String, KeyId, SigningKey), KeyError> {
    let rest = s
        .strip_prefix(PRIVATE_KEY_PREFIX)
        .ok_or(KeyError::MissingPrivatePrefix)?;
    let (name, declared, data) = split_key_string(rest)?;
    let seed = decode_key_data(data, key_type)?;
    let sk = SigningKey::from_bytes(&seed);
    let computed = KeyId::compute(name, key_type, sk.verifying_key().as_bytes());
    if computed != declared {
        return Err(KeyError::KeyIdMismatch { declared, computed });
    }
    Ok((name.to_owned(), declared, sk))
}

/// Format a verifier key string.
pub(crate) fn format_verifier_key(
    name: &str,
    key_id: KeyId,
    key_type: u8,
    vk: &VerifyingKey,
) -> String {
    let data = B64.encode(encoded_public_key(key_type, vk));
    format!("{name}+{key_id}+{data}")
}

/// Format a signer key string into buffers that are zeroized on drop.
pub(crate) fn format_signer_key(
    name: &str,
    key_id: KeyId,
    key_type: u8,
    sk: &SigningKey,
) -> Zeroizing<String> {
    let mut raw = Zeroizing::new([0u8; 33]);
    raw[0] = key_type;
    raw[1..].copy_from_slice(sk.as_bytes());
    let data = Zeroizing::new(B64.encode(&raw[..]));
    let id = key_id.to_hex();
    // Reserve the exact length up front so the String never reallocates and leaves a copy behind.
    let len = PRIVATE_KEY_PREFIX.len() + name.len() + 1 + id.len() + 1 + data.len();
    let mut out = Zeroizing::new(String::with_capacity(len));
    for part in [PRIVATE_KEY_PREFIX, name, "+", &id, "+", data.as_str()] {
        out.push_str(part);
    }
    out
}

/// An Ed25519 signing key from a caller-supplied seed; the local copy of the seed is wiped.
pub(crate) fn signing_key_from_seed(seed: [u8; 32]) -> SigningKey {
    let mut seed = seed;
    let sk = SigningKey::from_bytes(&seed);
    seed.zeroize();
    sk
}

/// Verify a raw Ed25519 signature strictly (RFC 8032 with canonical S, no small-order points).
pub(crate) fn ed25519_verify(vk: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(sig) = Signature::from_slice(signature) else {
        return false;
    };
    vk.verify_strict(message, &sig).is_ok()
}

/// A named Ed25519 key that signs notes (signature type 0x01). The secret is zeroized on drop
/// and never printed by `Debug`.
pub struct NoteSigner {
    name: String,
    key_id: KeyId,
    signing_key: SigningKey,
}

impl NoteSigner {
    /// A signer named `name` whose Ed25519 key is derived from `seed` (RFC 8032 §5.1.5).
    /// The caller generates the seed; this crate draws no randomness.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        validate_key_name(name).map_err(KeyError::from)?;
        let signing_key = signing_key_from_seed(seed);
        let key_id = KeyId::compute(
            name,
            SIGNATURE_TYPE_ED25519,
            signing_key.verifying_key().as_bytes(),
        );
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signing_key,
        })
    }

    /// Parse a signer key `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`, as written by
    /// Go's `note.GenerateKey`; the key ID must match the key.
    pub fn parse_private(s: &str) -> Result<Self, NoteError> {
        let (name, key_id, signing_key) = parse_signer_key(s, SIGNATURE_TYPE_ED25519)?;
        Ok(Self {
            name,
            key_id,
            signing_key,
        })
    }

    /// The signer key string. Secret: it is wiped from memory when dropped.
    pub fn to_private_string(&self) -> Zeroizing<String> {
        format_signer_key(
            &self.name,
            self.key_id,
            SIGNATURE_TYPE_ED25519,
            &self.signing_key,
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The matching verifier (public key).
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            verifying_key: self.signing_key.verifying_key(),
        }
    }

    /// The Ed25519 key itself, for the other signatures the log makes with the same key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The signature line this key makes over `text` (which must pass [`validate_text`]).
    pub fn signature_for(&self, text: &str) -> Result<NoteSignature, NoteError> {
        validate_text(text)?;
        let sig = self.signing_key.sign(text.as_bytes());
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: sig.to_bytes().to_vec(),
        })
    }

    /// Sign `text` and return the note carrying this one signature.
    pub fn sign(&self, text: &str) -> Result<Note, NoteError> {
        let sig = self.signature_for(text)?;
        Ok(Note {
            text: text.to_owned(),
            signatures: vec![sig],
        })
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A trusted Ed25519 note key: a name, its key ID and its public key.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: KeyId,
    verifying_key: VerifyingKey,
}

impl NoteVerifier {
    /// A verifier for `verifying_key` under `name`; the key ID is derived.
    pub fn new(name: &str, verifying_key: VerifyingKey) -> Result<Self, NoteError> {
        validate_key_name(name).map_err(KeyError::from)?;
        check_verifying_key(&verifying_key)?;
        let key_id = KeyId::compute(name, SIGNATURE_TYPE_ED25519, verifying_key.as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key_id,
            verifying_key,
        })
    }

    /// Parse a verifier key `<name>+<key id>+<base64(0x01 || public key)>`, split on the first
    /// two '+'. The key ID must be lowercase hex and match the name and key.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let (name, key_id, verifying_key) = parse_verifier_key(s, SIGNATURE_TYPE_ED25519)?;
        Ok(Self {
            name,
            key_id,
            verifying_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying_key
    }

    /// Fingerprint for people to compare: lowercase hex SHA-256 of the verifier key string
    /// (the `Display` form, UTF-8, no trailing newline).
    pub fn fingerprint(&self) -> String {
        Sha256Hash::digest(self.to_string().as_bytes()).to_hex()
    }

    /// Whether `signature` is this key's Ed25519 signature over `text`.
    pub fn verify_signature(&self, text: &[u8], signature: &[u8]) -> bool {
        signature.len() == ED25519_SIGNATURE_LEN
            && ed25519_verify(&self.verifying_key, text, signature)
    }

    /// Whether a signature line names this key (same name and key ID).
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.key_id
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_verifier_key(
            &self.name,
            self.key_id,
            SIGNATURE_TYPE_ED25519,
            &self.verifying_key,
        ))
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({self})")
    }
}

impl std::str::FromStr for NoteVerifier {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// One signature line: key name, key ID and the signature bytes that follow the key ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID (first 4 decoded bytes).
    pub key_id: KeyId,
    /// The rest of the decoded bytes: the signature in the key type's format.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parse one signature line without its newline. The name is what lies between the prefix
    /// and the last space, so a name containing a space is reported as such.
    pub fn parse_line(line: &str) -> Result<Self, SignatureLineError> {
        let rest = line
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(SignatureLineError::MissingEmDash)?;
        let (name, b64) = rest
            .rsplit_once(' ')
            .ok_or(SignatureLineError::MissingSignature)?;
        validate_key_name(name).map_err(SignatureLineError::InvalidName)?;
        let raw = decode_base64(b64).ok_or(SignatureLineError::InvalidBase64)?;
        if raw.len() < MIN_SIGNATURE_LINE_BYTES {
            return Err(SignatureLineError::TooShort { got: raw.len() });
        }
        let (id, signature) = raw.split_at(4);
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(id);
        Ok(Self {
            name: name.to_owned(),
            key_id: KeyId(key_id),
            signature: signature.to_vec(),
        })
    }

    /// Check that this signature can be written as a valid line.
    fn check(&self) -> Result<(), SignatureLineError> {
        validate_key_name(&self.name).map_err(SignatureLineError::InvalidName)?;
        if self.signature.is_empty() {
            // The line would decode to the 4-byte key ID alone.
            return Err(SignatureLineError::TooShort { got: 4 });
        }
        Ok(())
    }
}

impl fmt::Display for NoteSignature {
    /// The signature line without its final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.0);
        raw.extend_from_slice(&self.signature);
        write!(
            f,
            "{SIGNATURE_LINE_PREFIX}{} {}",
            self.name,
            B64.encode(raw)
        )
    }
}

/// A note: the signed text (with its final newline) and its signature lines, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text the signatures cover, ending in a newline.
    pub text: String,
    /// The signature lines, in the order they appear.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note for `text`, which must pass [`validate_text`].
    pub fn new(text: &str) -> Result<Self, NoteError> {
        validate_text(text)?;
        Ok(Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parse a note from bytes, which must be UTF-8.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NoteError> {
        let s = std::str::from_utf8(bytes).map_err(|e| NoteError::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        Self::parse(s)
    }

    /// Parse a note (signed-note "Format"): the text is everything up to and including the
    /// newline before the last blank line; every later line must be a signature line.
    /// Signatures are not checked here: call [`Note::verify`].
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        check_control_characters(s)?;
        let split = s.rfind("\n\n").ok_or(NoteError::MissingBlankLine)?;
        let (text, rest) = s.split_at(split + 1);
        let block = rest.strip_prefix('\n').ok_or(NoteError::MissingBlankLine)?;
        if block.is_empty() {
            return Err(NoteError::NoSignatureLines);
        }
        let block = block
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?;
        // Text lines, then the blank line, then the first signature line.
        let first_line = text.matches('\n').count() + 2;
        let mut signatures = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            let sig = NoteSignature::parse_line(line).map_err(|reason| {
                NoteError::MalformedSignatureLine {
                    line: first_line + i,
                    reason,
                }
            })?;
            signatures.push(sig);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verify the note against trusted keys (signed-note "Signatures"): lines from unknown keys
    /// (name and key ID not both matching a trusted key) are ignored; any failing line from a
    /// trusted key rejects the note; at least one trusted signature must verify.
    /// Returns the names of the trusted keys that signed, in order of first appearance.
    pub fn verify(&self, verifiers: &[&NoteVerifier]) -> Result<Vec<String>, NoteError> {
        validate_text(&self.text)?;
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        let mut verified: Vec<(String, KeyId)> = Vec::new();
        let mut unknown: Vec<(String, KeyId)> = Vec::new();
        for sig in &self.signatures {
            let Some(v) = find_verifier(verifiers, sig)? else {
                unknown.push((sig.name.clone(), sig.key_id));
                continue;
            };
            if !v.verify_signature(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::InvalidSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            let id = (sig.name.clone(), sig.key_id);
            if !verified.contains(&id) {
                verified.push(id);
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiedSignature { present: unknown });
        }
        Ok(verified.into_iter().map(|(name, _)| name).collect())
    }

    /// Add a signature line, replacing any line with the same name and key ID.
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        sig.check().map_err(NoteError::BadSignature)?;
        if let Some(old) = self
            .signatures
            .iter_mut()
            .find(|s| s.name == sig.name && s.key_id == sig.key_id)
        {
            *old = sig;
            return Ok(());
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Sign the text with `signer` and add (or replace) its signature line.
    pub fn sign_with(&mut self, signer: &NoteSigner) -> Result<(), NoteError> {
        let sig = signer.signature_for(&self.text)?;
        self.add_signature(sig)
    }
}

/// The trusted verifier a signature line names, if any; an error if two differ.
fn find_verifier<'a>(
    verifiers: &[&'a NoteVerifier],
    sig: &NoteSignature,
) -> Result<Option<&'a NoteVerifier>, NoteError> {
    let mut found: Option<&'a NoteVerifier> = None;
    for v in verifiers.iter().copied().filter(|v| v.matches(sig)) {
        match found {
            Some(f) if f.verifying_key != v.verifying_key => {
                return Err(NoteError::AmbiguousVerifier {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            Some(_) => {}
            None => found = Some(v),
        }
    }
    Ok(found)
}

impl fmt::Display for Note {
    /// The note's exact bytes: text, blank line, one line per signature.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            writeln!(f, "{sig}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Note {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
