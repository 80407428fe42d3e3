//! Typed identifiers: object ids and master key ids.

use std::fmt;
use std::str::FromStr;

use crate::{SealError, fill_random};

/// Random 128-bit name of a stored object.
///
/// Objects are named by a random id, never by anything derived from the plaintext: a name equal
/// to the plaintext hash would let whoever sees the bucket test whether a known file is held.
/// Displayed and parsed as 32 lowercase hex digits; stored at `objects/<32 hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub [u8; 16]);

impl ObjectId {
    /// A fresh id from the operating system's random source.
    ///
    /// # Panics
    /// If the operating system's random source fails (on Linux `getrandom(2)` does not fail once
    /// the pool is seeded). Use [`ObjectId::try_random`] to get an error instead.
    #[must_use]
    pub fn random() -> Self {
        Self::try_random().expect("operating system random source failed")
    }

    /// A fresh id from the operating system's random source, or [`SealError::Randomness`].
    pub fn try_random() -> Result<Self, SealError> {
        let mut id = [0u8; 16];
        fill_random(&mut id)?;
        Ok(Self(id))
    }

    /// The id as 32 lowercase hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 32 lowercase hex digits (the canonical form, so one id has one name).
    pub fn from_hex(text: &str) -> Result<Self, SealError> {
        let invalid = || SealError::InvalidObjectId {
            found: text.chars().take(64).collect(),
        };
        let canonical = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !canonical {
            return Err(invalid());
        }
        let mut id = [0u8; 16];
        hex::decode_to_slice(text, &mut id).map_err(|_| invalid())?;
        Ok(Self(id))
    }

    /// The object's key in the object store: `objects/<32 lowercase hex>`.
    ///
    /// Nothing else (case, file name, hash) goes into the name or the object's metadata.
    #[must_use]
    pub fn storage_path(&self) -> String {
        format!("objects/{self}")
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

impl FromStr for ObjectId {
    type Err = SealError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

/// 32-bit identifier of a master key, stored beside every wrapped key so the vault knows which
/// master key unwraps it (and bound into the wrapping's associated data).
///
/// Displayed as 8 lowercase hex digits, as in the master key file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MasterKeyId(pub u32);

impl fmt::Display for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKeyId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_display() {
        let id = ObjectId([
            0x00, 0x01, 0x0a, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x23,
            0x45, 0x67,
        ]);
        let hex = id.to_hex();
        assert_eq!(hex, "00010a0f107f80ffdeadbeef01234567");
        assert_eq!(id.to_string(), hex);
        assert_eq!(ObjectId::from_hex(&hex), Ok(id));
        assert_eq!(hex.parse::<ObjectId>(), Ok(id));
        assert_eq!(
            id.storage_path(),
            "objects/00010a0f107f80ffdeadbeef01234567"
        );
        assert_eq!(
            format!("{id:?}"),
            "ObjectId(00010a0f107f80ffdeadbeef01234567)"
        );
    }

    #[test]
    fn non_canonical_ids_rejected() {
        for bad in [
            "",
            "00010a0f107f80ffdeadbeef0123456",
            "00010a0f107f80ffdeadbeef012345678",
            "00010A0F107F80FFDEADBEEF01234567",
            "00010a0f107f80ffdeadbeef0123456g",
            " 0010a0f107f80ffdeadbeef01234567",
            "00010a0f107f80ffdeadbeef0123456é",
        ] {
            assert!(
                matches!(
                    ObjectId::from_hex(bad),
                    Err(SealError::InvalidObjectId { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(ObjectId::random(), ObjectId::random());
    }

    #[test]
    fn master_key_id_display() {
        assert_eq!(MasterKeyId(0x2a).to_string(), "0000002a");
        assert_eq!(MasterKeyId(u32::MAX).to_string(), "ffffffff");
    }
}
