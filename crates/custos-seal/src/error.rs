//! The one error type of this crate.

use crate::{HEADER_LEN, MasterKeyId, ObjectId};

/// Why sealing, opening, parsing or key wrapping failed.
///
/// Each variant names what was checked and carries the values compared, so the vault can
/// report which object, segment or line is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The header slice is not exactly [`HEADER_LEN`] bytes (or the object is shorter).
    #[error("object header is {found} bytes; a Custos object header is exactly {HEADER_LEN} bytes")]
    HeaderLength {
        /// Number of bytes offered.
        found: usize,
    },
    /// The first 8 bytes are not [`crate::MAGIC`]: this is not a Custos object.
    #[error("not a Custos object: magic bytes are {found:02x?}, expected \"CUSTOBJ\\0\"")]
    BadMagic {
        /// The 8 bytes found.
        found: [u8; 8],
    },
    /// The header's format version is not one this crate reads.
    #[error("object format version {found} is not supported (this build reads version 1)")]
    UnsupportedVersion {
        /// Version byte found.
        found: u8,
    },
    /// The header's algorithm byte is not one this crate knows.
    #[error("object algorithm {found} is not supported (1 = AES-256-GCM)")]
    UnsupportedAlgorithm {
        /// Algorithm byte found.
        found: u8,
    },
    /// The header's reserved field is not zero.
    #[error("object header reserved field is {found:#06x}, must be 0")]
    ReservedNonZero {
        /// Reserved field found.
        found: u16,
    },
    /// The segment size is not the one format version 1 uses.
    #[error("segment size {found} is not supported (format version 1 uses 65536)")]
    SegmentSize {
        /// Segment size found.
        found: u32,
    },
    /// The stored header names another object than the one expected.
    #[error("object header names object {found}, expected object {expected}: wrong object")]
    ObjectIdMismatch {
        /// Object id the caller expected (from its records).
        expected: ObjectId,
        /// Object id in the stored header.
        found: ObjectId,
    },
    /// The whole object is not as long as its recorded plaintext length implies.
    #[error(
        "object is {found} bytes, expected {expected} for its recorded plaintext length: truncated or extended"
    )]
    ObjectLength {
        /// Length implied by the plaintext length.
        expected: u64,
        /// Length offered.
        found: u64,
    },
    /// No plaintext length yields this ciphertext length.
    #[error("{len} bytes is not a possible length of a Custos object: truncated or extended")]
    InvalidCiphertextLength {
        /// The impossible ciphertext length.
        len: u64,
    },
    /// The object's ciphertext length would not fit in a u64.
    #[error("plaintext length {plaintext_len} is too large for an object")]
    LengthOverflow {
        /// The plaintext length asked for.
        plaintext_len: u64,
    },
    /// A segment failed AES-GCM authentication.
    #[error(
        "segment {index} failed authentication: the object is corrupt, truncated, reordered, or not the object expected (wrong id or key)"
    )]
    SegmentAuthFailed {
        /// Index of the failing segment.
        index: u64,
    },
    /// A stored segment (ciphertext and tag) has the wrong length for its position.
    #[error(
        "stored segment {index} is {found} bytes, expected {expected}: truncated or misaligned"
    )]
    WrongSegmentLength {
        /// Index of the segment.
        index: u64,
        /// Expected stored length (ciphertext plus tag).
        expected: u64,
        /// Length offered.
        found: u64,
    },
    /// A segment index at or past the object's segment count.
    #[error("segment {index} does not exist: the object has {count} segments")]
    SegmentIndexOutOfRange {
        /// Index asked for.
        index: u64,
        /// Number of segments in the object.
        count: u64,
    },
    /// A segment that is not the last was not exactly one segment size of plaintext.
    #[error(
        "segment {index} is not the last, so it must hold {expected} plaintext bytes, not {found}"
    )]
    NonFinalSegmentLength {
        /// Index of the segment.
        index: u64,
        /// Segment size.
        expected: u32,
        /// Plaintext bytes offered.
        found: usize,
    },
    /// The last segment holds more than one segment size of plaintext.
    #[error("last segment {index} holds {found} plaintext bytes, more than the segment size {max}")]
    FinalSegmentTooLong {
        /// Index of the segment.
        index: u64,
        /// Segment size.
        max: u32,
        /// Plaintext bytes offered.
        found: usize,
    },
    /// An empty last segment after full ones; the format ends such plaintext with its last full
    /// segment, so the caller must know which block is final before sealing it.
    #[error(
        "last segment {index} is empty: only an empty object has an empty segment; seal the previous segment as the last one"
    )]
    EmptyFinalSegment {
        /// Index the empty segment would have had.
        index: u64,
    },
    /// A non-final block whose length is not a multiple of the segment size.
    #[error(
        "a non-final block must be a whole number of {segment_size}-byte segments, got {len} bytes"
    )]
    BlockNotWholeSegments {
        /// Block length offered.
        len: usize,
        /// Segment size.
        segment_size: u32,
    },
    /// A buffer is too short for the block to be sealed in place.
    #[error("sealing in place needs {needed} bytes of room, the buffer has {found}")]
    BlockRoom {
        /// Bytes the sealed block takes.
        needed: usize,
        /// Bytes the buffer has.
        found: usize,
    },
    /// Sealing was asked to continue after the last segment.
    #[error(
        "the object's last segment was already sealed ({segments} segments); nothing may follow it"
    )]
    SealAfterLast {
        /// Segments sealed so far.
        segments: u64,
    },
    /// The object was finished before its last segment was sealed.
    #[error("the object is unfinished: {segments} segments sealed and none marked last")]
    SealNotFinished {
        /// Segments sealed so far.
        segments: u64,
    },
    /// The AEAD refused to seal (only possible for inputs far beyond the segment size).
    #[error("AES-GCM refused to seal segment {index}")]
    SealFailed {
        /// Index of the segment.
        index: u64,
    },
    /// A wrapped data key did not authenticate.
    #[error(
        "the data key of object {object} does not unwrap with master key {master}: wrong master key, wrapped key belongs to another object, or the stored key is corrupt"
    )]
    KeyUnwrapFailed {
        /// Object whose key was being unwrapped.
        object: ObjectId,
        /// Master key tried.
        master: MasterKeyId,
    },
    /// A wrapped key of the wrong length.
    #[error("wrapped key is {found} bytes, expected {expected}")]
    WrappedKeyLength {
        /// Expected length.
        expected: usize,
        /// Length offered.
        found: usize,
    },
    /// A range with start after end.
    #[error("byte range {start}..{end} is invalid: start is after end")]
    InvalidRange {
        /// Range start.
        start: u64,
        /// Range end (exclusive).
        end: u64,
    },
    /// A range reaching past the end of the plaintext.
    #[error("byte range {start}..{end} is outside the object's {len} plaintext bytes")]
    RangeOutOfBounds {
        /// Range start.
        start: u64,
        /// Range end (exclusive).
        end: u64,
        /// Plaintext length.
        len: u64,
    },
    /// A range plan made for another object shape, or ciphertext not matching the plan.
    #[error(
        "range plan does not fit: plan is for {plan_len} plaintext bytes and {plan_ciphertext} ciphertext bytes, opener has {opener_len} plaintext bytes and {found_ciphertext} ciphertext bytes were given"
    )]
    RangePlanMismatch {
        /// Plaintext length the plan was made for.
        plan_len: u64,
        /// Plaintext length of the opener.
        opener_len: u64,
        /// Ciphertext bytes the plan covers.
        plan_ciphertext: u64,
        /// Ciphertext bytes given.
        found_ciphertext: u64,
    },
    /// An object id string that is not 32 lowercase hex digits.
    #[error("invalid object id {found:?}: expected 32 lowercase hex digits")]
    InvalidObjectId {
        /// The text offered (an id is not secret).
        found: String,
    },
    /// A master key file that does not follow the format.
    #[error("master key file line {line}: {problem}")]
    MalformedMasterKeyFile {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A master key file whose check value does not match its id and key: the file is corrupt.
    #[error(
        "master key file for key {id}: check value does not match the key, the file is corrupt"
    )]
    MasterKeyCheckFailed {
        /// Key id stated in the file.
        id: MasterKeyId,
    },
    /// The operating system's random source failed.
    #[error("the operating system's random number generator failed")]
    Randomness,
}
