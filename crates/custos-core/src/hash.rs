//! SHA-256 digests as a type, with the two text forms the formats use (hex and base64).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest as _, Sha256};
use std::fmt;

/// A SHA-256 digest: an evidence identity, a Merkle node, a leaf or an event hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hash(pub [u8; 32]);

/// A digest string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// Wrong number of characters for a hex SHA-256 (64 expected).
    #[error("a SHA-256 value has 64 hex digits; got {len} characters")]
    HexLength {
        /// Characters given.
        len: usize,
    },
    /// A character outside 0-9a-fA-F.
    #[error("a SHA-256 value has only hex digits (0-9, a-f)")]
    HexDigit,
    /// Base64 that is malformed or does not decode to 32 bytes.
    #[error("not a base64 SHA-256 value (32 bytes expected)")]
    Base64,
}

impl Sha256Hash {
    /// SHA-256 of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// SHA-256 of the empty string: the RFC 6962 hash of the empty tree.
    pub fn empty() -> Self {
        Self::digest(b"")
    }

    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, HashParseError> {
        let mut out = [0u8; 32];
        if s.len() != 64 {
            return Err(HashParseError::HexLength {
                len: s.chars().count(),
            });
        }
        hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError::HexDigit)?;
        Ok(Self(out))
    }

    /// Standard base64 with padding (44 characters), as in checkpoints.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    /// Parse standard padded base64 of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, HashParseError> {
        let v = B64.decode(s).map_err(|_| HashParseError::Base64)?;
        let arr: [u8; 32] = v.try_into().map_err(|_| HashParseError::Base64)?;
        Ok(Self(arr))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Hash({})", self.to_hex())
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::str::FromStr for Sha256Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_hash_matches_rfc6962() {
        assert_eq!(
            Sha256Hash::empty().to_base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = Sha256Hash::digest(b"abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256Hash::from_hex(&h.to_hex().to_uppercase()).unwrap(), h);
        assert_eq!(
            Sha256Hash::from_hex("abc"),
            Err(HashParseError::HexLength { len: 3 })
        );
        assert_eq!(
            Sha256Hash::from_hex(&"g".repeat(64)),
            Err(HashParseError::HexDigit)
        );
        assert_eq!(Sha256Hash::from_base64("AAAA"), Err(HashParseError::Base64));
    }
}
