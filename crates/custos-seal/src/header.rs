//! The 32-byte object header (docs/FORMATS.md §2, "Header").

use crate::{HEADER_LEN, ObjectId, SEGMENT_SIZE, SealError};

/// The first 8 bytes of every object: "CUSTOBJ" and a zero byte.
pub const MAGIC: [u8; 8] = *b"CUSTOBJ\0";

/// The only format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Algorithm byte for AES-256-GCM with STREAM nonces, the only algorithm of version 1.
pub const ALGORITHM_AES_256_GCM: u8 = 1;

/// The parsed object header.
///
/// Layout: magic (8) || version u8 || algorithm u8 || reserved u16 = 0 || segment size u32 BE ||
/// object id (16). All 32 bytes are the associated data of every segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The object this header belongs to.
    pub object_id: ObjectId,
    /// Plaintext bytes per segment; [`SEGMENT_SIZE`] is the only value version 1 allows.
    pub segment_size: u32,
}

impl Header {
    /// A version-1 header for `object_id` with the standard [`SEGMENT_SIZE`].
    #[must_use]
    pub fn new(object_id: ObjectId) -> Self {
        Self {
            object_id,
            segment_size: SEGMENT_SIZE,
        }
    }

    /// The 32 header bytes.
    #[must_use]
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let fields: [&[u8]; 6] = [
            &MAGIC,
            &[FORMAT_VERSION],
            &[ALGORITHM_AES_256_GCM],
            &0u16.to_be_bytes(),
            &self.segment_size.to_be_bytes(),
            &self.object_id.0,
        ];
        let mut at = 0;
        for field in fields {
            let end = at + field.len();
            out[at..end].copy_from_slice(field);
            at = end;
        }
        debug_assert_eq!(at, HEADER_LEN);
        out
    }

    /// Parses exactly [`HEADER_LEN`] bytes, rejecting anything but a version-1 AES-256-GCM
    /// header with a zero reserved field and the standard segment size.
    pub fn parse(bytes: &[u8]) -> Result<Self, SealError> {
        let bytes: &[u8; HEADER_LEN] = bytes
            .try_into()
            .map_err(|_| SealError::HeaderLength { found: bytes.len() })?;
        let (magic, rest) = bytes.split_first_chunk::<8>().ok_or(short())?;
        let ([version, algorithm], rest) = rest.split_first_chunk::<2>().ok_or(short())?;
        let (reserved, rest) = rest.split_first_chunk::<2>().ok_or(short())?;
        let (segment_size, rest) = rest.split_first_chunk::<4>().ok_or(short())?;
        let object_id: [u8; 16] = rest.try_into().map_err(|_| short())?;

        if *magic != MAGIC {
            return Err(SealError::BadMagic { found: *magic });
        }
        if *version != FORMAT_VERSION {
            return Err(SealError::UnsupportedVersion { found: *version });
        }
        if *algorithm != ALGORITHM_AES_256_GCM {
            return Err(SealError::UnsupportedAlgorithm { found: *algorithm });
        }
        let reserved = u16::from_be_bytes(*reserved);
        if reserved != 0 {
            return Err(SealError::ReservedNonZero { found: reserved });
        }
        let header = Self {
            object_id: ObjectId(object_id),
            segment_size: u32::from_be_bytes(*segment_size),
        };
        header.check_segment_size()?;
        Ok(header)
    }

    /// Rejects a segment size other than [`SEGMENT_SIZE`] (a header built by hand may hold one).
    pub(crate) fn check_segment_size(&self) -> Result<(), SealError> {
        if self.segment_size == SEGMENT_SIZE {
            Ok(())
        } else {
            Err(SealError::SegmentSize {
                found: self.segment_size,
            })
        }
    }
}

/// Unreachable: the fixed-size array always splits; kept as an error rather than a panic.
fn short() -> SealError {
    SealError::HeaderLength { found: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header::new(ObjectId(*b"0123456789abcdef"))
    }

    #[test]
    fn encode_layout() {
        let bytes = sample().encode();
        assert_eq!(
            hex::encode(bytes),
            "435553544f424a00\
             01\
             01\
             0000\
             00010000\
             30313233343536373839616263646566"
        );
        assert_eq!(Header::parse(&bytes), Ok(sample()));
    }

    #[test]
    fn wrong_lengths_rejected() {
        let bytes = sample().encode();
        assert_eq!(
            Header::parse(&bytes[..31]),
            Err(SealError::HeaderLength { found: 31 })
        );
        let mut long = bytes.to_vec();
        long.push(0);
        assert_eq!(
            Header::parse(&long),
            Err(SealError::HeaderLength { found: 33 })
        );
        assert_eq!(
            Header::parse(&[]),
            Err(SealError::HeaderLength { found: 0 })
        );
    }

    #[test]
    fn each_field_rejected_with_its_error() {
        let good = sample().encode();
        let with = |at: usize, value: u8| {
            let mut bytes = good;
            bytes[at] = value;
            Header::parse(&bytes)
        };
        assert!(matches!(with(0, b'X'), Err(SealError::BadMagic { found }) if found[0] == b'X'));
        assert!(matches!(with(7, 1), Err(SealError::BadMagic { .. })));
        assert_eq!(with(8, 2), Err(SealError::UnsupportedVersion { found: 2 }));
        assert_eq!(with(8, 0), Err(SealError::UnsupportedVersion { found: 0 }));
        assert_eq!(
            with(9, 2),
            Err(SealError::UnsupportedAlgorithm { found: 2 })
        );
        assert_eq!(
            with(10, 1),
            Err(SealError::ReservedNonZero { found: 0x0100 })
        );
        assert_eq!(with(11, 1), Err(SealError::ReservedNonZero { found: 1 }));
        assert_eq!(
            with(13, 2),
            Err(SealError::SegmentSize { found: 0x0002_0000 })
        );
        assert_eq!(
            with(15, 1),
            Err(SealError::SegmentSize { found: 0x0001_0001 })
        );
        assert_eq!(
            with(16, b'X').map(|h| h.object_id.0[0]),
            Ok(b'X'),
            "the object id is any 16 bytes"
        );
    }
}
