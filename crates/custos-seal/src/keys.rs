//! Data keys, master keys, the master key file, and data-key wrapping
//! (docs/FORMATS.md §2, "Data-key wrapping" and "Master key file").

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::digest;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{KEY_LEN, MasterKeyId, ObjectId, SealError, TAG_LEN, fill_random};

/// Length of the random nonce at the start of a wrapped key.
pub const WRAP_NONCE_LEN: usize = 12;

/// Length of a wrapped key: nonce (12) || encrypted data key (32) || tag (16).
pub const WRAPPED_KEY_LEN: usize = WRAP_NONCE_LEN + KEY_LEN + TAG_LEN;

/// First bytes of the associated data of a wrapped key; the master key id and object id follow.
pub const WRAP_AAD_PREFIX: &[u8] = b"custos-dek-v1";

/// First line of a master key file.
const FILE_FIRST_LINE: &str = "custos-master-key v1";

/// Domain-separation prefix of the master key file's check value.
const CHECK_PREFIX: &[u8] = b"custos-master-key-check-v1\n";

/// Bytes of SHA-256 kept as the check value (16 hex digits in the file).
const CHECK_LEN: usize = 8;

/// A 256-bit AES key that encrypts one object's segments.
///
/// Wiped from memory on drop; never printed. It is deliberately not `Clone`: a [`crate::Sealer`]
/// takes it by value, so one key seals one object (STREAM nonces repeat across objects, so a
/// key sealing two objects would reuse nonces).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// A fresh key from the operating system's random source.
    ///
    /// # Panics
    /// If the operating system's random source fails; see [`DataKey::try_random`].
    #[must_use]
    pub fn random() -> Self {
        Self::try_random().expect("operating system random source failed")
    }

    /// A fresh key from the operating system's random source, or [`SealError::Randomness`].
    pub fn try_random() -> Result<Self, SealError> {
        let mut key = Self([0u8; KEY_LEN]);
        fill_random(&mut key.0)?;
        Ok(key)
    }

    /// A key with the given bytes, for known-answer tests and other implementations' vectors.
    ///
    /// Never seal two objects with the same key bytes; use [`DataKey::random`] for new objects.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The expanded AES-256-GCM key.
    pub(crate) fn aead_key(&self) -> LessSafeKey {
        aead_key(&self.0)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

/// A 256-bit key-encryption key with its id. Wiped from memory on drop; never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    #[zeroize(skip)]
    id: MasterKeyId,
    key: [u8; KEY_LEN],
}

impl MasterKey {
    /// A fresh master key with id `id` from the operating system's random source.
    ///
    /// # Panics
    /// If the operating system's random source fails; see [`MasterKey::try_random`].
    #[must_use]
    pub fn random(id: MasterKeyId) -> Self {
        Self::try_random(id).expect("operating system random source failed")
    }

    /// A fresh master key, or [`SealError::Randomness`].
    pub fn try_random(id: MasterKeyId) -> Result<Self, SealError> {
        let mut key = Self::from_bytes(id, [0u8; KEY_LEN]);
        fill_random(&mut key.key)?;
        Ok(key)
    }

    /// A master key with the given id and bytes.
    #[must_use]
    pub fn from_bytes(id: MasterKeyId, key: [u8; KEY_LEN]) -> Self {
        Self { id, key }
    }

    /// The key's id.
    #[must_use]
    pub fn id(&self) -> MasterKeyId {
        self.id
    }

    /// The key file text:
    /// `custos-master-key v1\nid <8 hex>\nkey <base64>\ncheck <16 hex>\n`.
    ///
    /// The returned string holds the secret and is wiped on drop.
    #[must_use]
    pub fn to_file_string(&self) -> Zeroizing<String> {
        // Capacity for the whole text up front, so no reallocation leaves a copy behind.
        let mut text = Zeroizing::new(String::with_capacity(128));
        text.push_str(FILE_FIRST_LINE);
        text.push_str("\nid ");
        text.push_str(&self.id.to_string());
        text.push_str("\nkey ");
        BASE64.encode_string(self.key, &mut text);
        text.push_str("\ncheck ");
        text.push_str(&hex::encode(self.check_value()));
        text.push('\n');
        text
    }

    /// Parses the text written by [`MasterKey::to_file_string`], exactly: four lines, each ending
    /// in "\n", lowercase hex, padded standard base64 of 32 bytes, and a matching check value.
    pub fn parse_file_string(text: &str) -> Result<Self, SealError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(SealError::MalformedMasterKeyFile {
                line: text.split('\n').count(),
                problem: "the file must end with a newline",
            })?;
        let mut lines = body.split('\n');
        let mut next_line = |number: usize, name: &'static str| {
            lines.next().ok_or(SealError::MalformedMasterKeyFile {
                line: number,
                problem: name,
            })
        };
        let first = next_line(1, "missing the first line \"custos-master-key v1\"")?;
        let id_line = next_line(2, "missing the line \"id <8 hex digits>\"")?;
        let key_line = next_line(3, "missing the line \"key <base64>\"")?;
        let check_line = next_line(4, "missing the line \"check <16 hex digits>\"")?;
        if next_line(5, "").is_ok() {
            return Err(malformed(5, "unexpected line after the check line"));
        }

        if first != FILE_FIRST_LINE {
            return Err(malformed(1, "first line is not \"custos-master-key v1\""));
        }
        let id = parse_hex_field::<4>(id_line, "id ")
            .ok_or(malformed(2, "expected \"id \" and 8 lowercase hex digits"))?;
        let id = MasterKeyId(u32::from_be_bytes(id));
        let key = parse_key_line(key_line)?;
        let check = parse_hex_field::<CHECK_LEN>(check_line, "check ").ok_or(malformed(
            4,
            "expected \"check \" and 16 lowercase hex digits",
        ))?;

        let master = Self::from_bytes(id, *key);
        if master.check_value() != check {
            return Err(SealError::MasterKeyCheckFailed { id });
        }
        Ok(master)
    }

    /// First 8 bytes of SHA-256(CHECK_PREFIX || id BE || key): detects a corrupted key file
    /// without revealing anything usable about the 256-bit key.
    fn check_value(&self) -> [u8; CHECK_LEN] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(CHECK_PREFIX);
        ctx.update(&self.id.0.to_be_bytes());
        ctx.update(&self.key);
        let mut check = [0u8; CHECK_LEN];
        check.copy_from_slice(&ctx.finish().as_ref()[..CHECK_LEN]);
        check
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("key", &"<secret>")
            .finish()
    }
}

fn malformed(line: usize, problem: &'static str) -> SealError {
    SealError::MalformedMasterKeyFile { line, problem }
}

/// `<name><2N lowercase hex digits>` → N bytes.
fn parse_hex_field<const N: usize>(line: &str, name: &str) -> Option<[u8; N]> {
    let digits = line.strip_prefix(name)?;
    let lowercase_hex = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !lowercase_hex || digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

/// `key <base64 of 32 bytes>`; the decoded bytes are wiped on every path.
fn parse_key_line(line: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, SealError> {
    let encoded = line
        .strip_prefix("key ")
        .ok_or(malformed(3, "expected \"key \" and base64"))?;
    // Standard alphabet with padding; the engine rejects non-canonical trailing bits, so each
    // key has exactly one encoding.
    let decoded = Zeroizing::new(
        BASE64
            .decode(encoded)
            .map_err(|_| malformed(3, "key is not padded standard base64"))?,
    );
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if decoded.len() != KEY_LEN {
        return Err(malformed(3, "key is not 32 bytes"));
    }
    key.copy_from_slice(&decoded);
    Ok(key)
}

/// A data key encrypted under a master key: nonce (12) || ciphertext (32) || tag (16).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WrappedKey(pub [u8; WRAPPED_KEY_LEN]);

impl WrappedKey {
    /// The 60 stored bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; WRAPPED_KEY_LEN] {
        &self.0
    }

    /// Reads a wrapped key from a stored blob of exactly [`WRAPPED_KEY_LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SealError> {
        let array = bytes.try_into().map_err(|_| SealError::WrappedKeyLength {
            expected: WRAPPED_KEY_LEN,
            found: bytes.len(),
        })?;
        Ok(Self(array))
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedKey({})", hex::encode(self.0))
    }
}

/// Associated data of a wrapped key: "custos-dek-v1" || master key id (u32 BE) || object id.
///
/// Binding both ids means a wrapped key copied to another object's row, or relabelled with
/// another master key id, fails to unwrap.
fn wrap_aad(master: MasterKeyId, object: &ObjectId) -> [u8; WRAP_AAD_PREFIX.len() + 4 + 16] {
    let mut aad = [0u8; WRAP_AAD_PREFIX.len() + 4 + 16];
    let (prefix, rest) = aad.split_at_mut(WRAP_AAD_PREFIX.len());
    prefix.copy_from_slice(WRAP_AAD_PREFIX);
    let (id, object_part) = rest.split_at_mut(4);
    id.copy_from_slice(&master.0.to_be_bytes());
    object_part.copy_from_slice(&object.0);
    aad
}

/// Wraps `dek` for `object` under `master` with a fresh random nonce.
///
/// # Panics
/// If the operating system's random source fails; see [`try_wrap_data_key`].
#[must_use]
pub fn wrap_data_key(master: &MasterKey, object: &ObjectId, dek: &DataKey) -> WrappedKey {
    try_wrap_data_key(master, object, dek).expect("operating system random source failed")
}

/// Wraps `dek` for `object` under `master` with a fresh random nonce, or
/// [`SealError::Randomness`].
///
/// Random 96-bit nonces stay within NIST SP 800-38D §8.3's bound for up to 2^32 wraps per
/// master key; rotate master keys long before that.
pub fn try_wrap_data_key(
    master: &MasterKey,
    object: &ObjectId,
    dek: &DataKey,
) -> Result<WrappedKey, SealError> {
    let mut nonce = [0u8; WRAP_NONCE_LEN];
    fill_random(&mut nonce)?;
    Ok(wrap_data_key_with_nonce(master, object, dek, nonce))
}

/// Wraps with a caller-chosen nonce: for known-answer tests only. A nonce repeated under one
/// master key breaks AES-GCM; production code calls [`wrap_data_key`].
#[must_use]
pub fn wrap_data_key_with_nonce(
    master: &MasterKey,
    object: &ObjectId,
    dek: &DataKey,
    nonce: [u8; WRAP_NONCE_LEN],
) -> WrappedKey {
    let aad = wrap_aad(master.id, object);
    let mut out = [0u8; WRAPPED_KEY_LEN];
    let (nonce_part, rest) = out.split_at_mut(WRAP_NONCE_LEN);
    let (body, tag_part) = rest.split_at_mut(KEY_LEN);
    nonce_part.copy_from_slice(&nonce);
    body.copy_from_slice(&dek.0);
    // Sealing 32 bytes cannot exceed AES-GCM's input limit, the only way `seal` fails.
    let sealed = aead_key(&master.key).seal_in_place_separate_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(&aad),
        body,
    );
    match sealed {
        Ok(tag) => tag_part.copy_from_slice(tag.as_ref()),
        Err(_) => unreachable!("AES-GCM sealing of 32 bytes failed"),
    }
    WrappedKey(out)
}

/// Unwraps the data key of `object`; fails with [`SealError::KeyUnwrapFailed`] if the wrapped
/// key was made for another object or master key, or was altered.
pub fn unwrap_data_key(
    master: &MasterKey,
    object: &ObjectId,
    wrapped: &WrappedKey,
) -> Result<DataKey, SealError> {
    let failed = || SealError::KeyUnwrapFailed {
        object: *object,
        master: master.id,
    };
    let (nonce, sealed) = wrapped
        .0
        .split_first_chunk::<WRAP_NONCE_LEN>()
        .ok_or_else(failed)?;
    let mut buf = Zeroizing::new([0u8; KEY_LEN + TAG_LEN]);
    buf.copy_from_slice(sealed);
    let aad = wrap_aad(master.id, object);
    let plain = aead_key(&master.key)
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(&aad),
            &mut buf[..],
        )
        .map_err(|_| failed())?;
    let key: [u8; KEY_LEN] = (&*plain).try_into().map_err(|_| failed())?;
    Ok(DataKey(key))
}

/// Expands 32 key bytes into an AES-256-GCM key.
fn aead_key(bytes: &[u8; KEY_LEN]) -> LessSafeKey {
    match UnboundKey::new(&AES_256_GCM, bytes) {
        Ok(key) => LessSafeKey::new(key),
        // ring rejects only a key of the wrong length, which the array type rules out.
        Err(_) => unreachable!("AES-256-GCM rejected a 32-byte key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let dek = DataKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{dek:?}"), "DataKey(<secret>)");
        let master = MasterKey::from_bytes(MasterKeyId(7), [0xab; 32]);
        let shown = format!("{master:?}");
        assert!(!shown.contains("ab") && !shown.contains("171"), "{shown}");
        assert!(shown.contains("00000007"));
    }

    #[test]
    fn wrap_aad_layout() {
        let aad = wrap_aad(MasterKeyId(0x0102_0304), &ObjectId([0xee; 16]));
        let mut expected = b"custos-dek-v1".to_vec();
        expected.extend_from_slice(&[1, 2, 3, 4]);
        expected.extend_from_slice(&[0xee; 16]);
        assert_eq!(aad.as_slice(), expected.as_slice());
    }

    #[test]
    fn unwrap_recovers_the_key() {
        let master = MasterKey::random(MasterKeyId(1));
        let object = ObjectId::random();
        let dek = DataKey::random();
        let wrapped = wrap_data_key(&master, &object, &dek);
        let back = unwrap_data_key(&master, &object, &wrapped).map(|k| k.0);
        assert_eq!(back, Ok(dek.0));
    }

    #[test]
    fn random_wraps_use_fresh_nonces() {
        let master = MasterKey::random(MasterKeyId(1));
        let object = ObjectId::random();
        let dek = DataKey::random();
        let a = wrap_data_key(&master, &object, &dek);
        let b = wrap_data_key(&master, &object, &dek);
        assert_ne!(a.0[..WRAP_NONCE_LEN], b.0[..WRAP_NONCE_LEN]);
    }
}
