//! Arithmetic of the object layout: segment counts, lengths, and ranged reads
//! (docs/FORMATS.md §2, "Segmenting").
//!
//! Sizes are computed in u128 so no untrusted length can overflow; results that do not fit a
//! u64 are errors (or saturate, where the signature has no error).

use std::ops::Range;

use crate::{HEADER_LEN, SealError, TAG_LEN};

// Widening casts used below: usize and u32 always fit in u128 and u64 on supported targets.
const HEADER: u128 = HEADER_LEN as u128;
const TAG: u128 = TAG_LEN as u128;

/// Number of segments of an object of `plaintext_len` bytes: max(1, ceil(len / S)).
///
/// An empty plaintext is one empty segment. A `segment_size` of 0 is not a valid format
/// parameter; it is treated as 1 so this function never panics.
#[must_use]
pub fn segment_count(plaintext_len: u64, segment_size: u32) -> u64 {
    plaintext_len
        .div_ceil(u64::from(segment_size.max(1)))
        .max(1)
}

/// Plaintext length of segment `index` (all full but the last), or `None` past the end.
#[must_use]
pub fn segment_plaintext_len(plaintext_len: u64, segment_size: u32, index: u64) -> Option<u32> {
    let size = segment_size.max(1);
    if index >= segment_count(plaintext_len, size) {
        return None;
    }
    let start = u128::from(index) * u128::from(size);
    let remaining = u128::from(plaintext_len) - start.min(u128::from(plaintext_len));
    // `remaining.min(size)` is at most `size`, so it fits a u32.
    u32::try_from(remaining.min(u128::from(size))).ok()
}

/// Total object length (header, all segments and their tags) for `plaintext_len` bytes:
/// 32 + len + 16 × segment_count. Saturates at `u64::MAX` for absurd lengths; use
/// [`crate::Opener::new`], which rejects them, before trusting the value.
#[must_use]
pub fn ciphertext_len(plaintext_len: u64, segment_size: u32) -> u64 {
    checked_ciphertext_len(plaintext_len, segment_size).unwrap_or(u64::MAX)
}

/// [`ciphertext_len`], or `None` if it does not fit a u64.
pub(crate) fn checked_ciphertext_len(plaintext_len: u64, segment_size: u32) -> Option<u64> {
    let segments = u128::from(segment_count(plaintext_len, segment_size));
    u64::try_from(HEADER + u128::from(plaintext_len) + TAG * segments).ok()
}

/// The plaintext length of an object whose total length is `ciphertext_len`, or
/// [`SealError::InvalidCiphertextLength`] if no plaintext length gives that length.
///
/// The inverse of [`ciphertext_len`]: every segment but the last is S + 16 bytes, the last is
/// 16 to S + 16 bytes, and only a lone segment may be empty (16 bytes).
pub fn plaintext_len_for_ciphertext(
    ciphertext_len: u64,
    segment_size: u32,
) -> Result<u64, SealError> {
    if segment_size == 0 {
        return Err(SealError::SegmentSize { found: 0 });
    }
    let invalid = SealError::InvalidCiphertextLength {
        len: ciphertext_len,
    };
    let body = u128::from(ciphertext_len)
        .checked_sub(HEADER)
        .ok_or(invalid.clone())?;
    let stored_segment = u128::from(segment_size) + TAG;
    let full = body / stored_segment;
    let rest = body % stored_segment;
    let plaintext = match (full, rest) {
        (0, 0) => return Err(invalid),
        (_, 0) => full * u128::from(segment_size),
        (0, r) if r >= TAG => r - TAG,
        // After full segments the last must hold at least one byte.
        (_, r) if r > TAG => full * u128::from(segment_size) + (r - TAG),
        _ => return Err(invalid),
    };
    u64::try_from(plaintext).map_err(|_| invalid)
}

/// What to fetch and decrypt to read plaintext bytes `[start, end)` of an object.
///
/// Made by [`plan_range`] (or [`crate::Opener::plan_range`]); fetch
/// [`RangePlan::ciphertext_range`] from the stored object, open those
/// [`RangePlan::segment_count`] segments starting at [`RangePlan::first_segment`], then drop
/// [`RangePlan::skip`] bytes and keep [`RangePlan::output_len`] bytes
/// ([`crate::Opener::open_range`] does all three).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePlan {
    plaintext_len: u64,
    segment_size: u32,
    first_segment: u64,
    segment_count: u64,
    ciphertext: Range<u64>,
    skip: u32,
    output_len: u64,
}

impl RangePlan {
    /// Index of the first segment to fetch.
    #[must_use]
    pub fn first_segment(&self) -> u64 {
        self.first_segment
    }

    /// Number of consecutive segments to fetch (0 for an empty range).
    #[must_use]
    pub fn segment_count(&self) -> u64 {
        self.segment_count
    }

    /// Byte range of the stored object (header included in the offsets) holding those segments.
    #[must_use]
    pub fn ciphertext_range(&self) -> Range<u64> {
        self.ciphertext.clone()
    }

    /// Plaintext bytes to drop from the start of the first decrypted segment.
    #[must_use]
    pub fn skip(&self) -> u32 {
        self.skip
    }

    /// Plaintext bytes the range yields (`end - start`).
    #[must_use]
    pub fn output_len(&self) -> u64 {
        self.output_len
    }

    /// Plaintext length of the object the plan was made for.
    #[must_use]
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Segment size the plan was made for.
    #[must_use]
    pub fn segment_size(&self) -> u32 {
        self.segment_size
    }
}

/// Plans a read of plaintext bytes `[start, end)` of an object of `plaintext_len` bytes.
///
/// Errors: [`SealError::SegmentSize`] for a zero segment size, [`SealError::InvalidRange`] if
/// `start > end`, [`SealError::RangeOutOfBounds`] if `end > plaintext_len`,
/// [`SealError::LengthOverflow`] if the object could not exist. An empty range plans no segments.
pub fn plan_range(
    plaintext_len: u64,
    segment_size: u32,
    start: u64,
    end: u64,
) -> Result<RangePlan, SealError> {
    if segment_size == 0 {
        return Err(SealError::SegmentSize { found: 0 });
    }
    if start > end {
        return Err(SealError::InvalidRange { start, end });
    }
    if end > plaintext_len {
        return Err(SealError::RangeOutOfBounds {
            start,
            end,
            len: plaintext_len,
        });
    }
    if checked_ciphertext_len(plaintext_len, segment_size).is_none() {
        return Err(SealError::LengthOverflow { plaintext_len });
    }
    let size = u64::from(segment_size);
    let mut plan = RangePlan {
        plaintext_len,
        segment_size,
        first_segment: start / size,
        segment_count: 0,
        ciphertext: 0..0,
        skip: 0,
        output_len: end - start,
    };
    if start == end {
        let at = segment_offset(plan.first_segment, segment_size);
        plan.ciphertext = at..at;
        return Ok(plan);
    }
    // end - 1 is the last byte read; end > start >= 0 so it does not underflow.
    let last_segment = (end - 1) / size;
    let last_len = segment_plaintext_len(plaintext_len, segment_size, last_segment)
        .ok_or(SealError::LengthOverflow { plaintext_len })?;
    let ciphertext_start = segment_offset(plan.first_segment, segment_size);
    let ciphertext_end =
        u128::from(segment_offset(last_segment, segment_size)) + u128::from(last_len) + TAG;
    plan.segment_count = last_segment - plan.first_segment + 1;
    plan.ciphertext = ciphertext_start
        ..u64::try_from(ciphertext_end).map_err(|_| SealError::LengthOverflow { plaintext_len })?;
    // start % size < size, a u32.
    plan.skip =
        u32::try_from(start % size).map_err(|_| SealError::LengthOverflow { plaintext_len })?;
    Ok(plan)
}

/// Byte offset of segment `index` in the object. Callers have checked that the whole object's
/// length fits a u64, and the offset of an existing segment is below it.
fn segment_offset(index: u64, segment_size: u32) -> u64 {
    let offset = HEADER + u128::from(index) * (u128::from(segment_size) + TAG);
    u64::try_from(offset).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SEGMENT_SIZE;
    use proptest::prelude::*;

    const S: u64 = SEGMENT_SIZE as u64;

    #[test]
    fn counts_and_lengths() {
        let cases = [
            (0, 1, 48),
            (1, 1, 49),
            (S - 1, 1, 32 + S - 1 + 16),
            (S, 1, 32 + S + 16),
            (S + 1, 2, 32 + S + 1 + 32),
            (3 * S, 3, 32 + 3 * S + 48),
        ];
        for (len, segments, total) in cases {
            assert_eq!(segment_count(len, SEGMENT_SIZE), segments, "len {len}");
            assert_eq!(ciphertext_len(len, SEGMENT_SIZE), total, "len {len}");
            assert_eq!(plaintext_len_for_ciphertext(total, SEGMENT_SIZE), Ok(len));
        }
        assert_eq!(segment_count(5, 0), 5, "zero segment size does not panic");
        assert_eq!(ciphertext_len(u64::MAX, SEGMENT_SIZE), u64::MAX);
    }

    #[test]
    fn segment_lengths() {
        assert_eq!(segment_plaintext_len(0, SEGMENT_SIZE, 0), Some(0));
        assert_eq!(segment_plaintext_len(0, SEGMENT_SIZE, 1), None);
        assert_eq!(
            segment_plaintext_len(S + 5, SEGMENT_SIZE, 0),
            Some(SEGMENT_SIZE)
        );
        assert_eq!(segment_plaintext_len(S + 5, SEGMENT_SIZE, 1), Some(5));
        assert_eq!(
            segment_plaintext_len(2 * S, SEGMENT_SIZE, 1),
            Some(SEGMENT_SIZE)
        );
        assert_eq!(
            segment_plaintext_len(u64::MAX, SEGMENT_SIZE, u64::MAX / S),
            Some(65535)
        );
    }

    #[test]
    fn impossible_ciphertext_lengths() {
        let stored = S + 16;
        for len in [
            0,
            31,
            32,
            33,
            47,
            32 + stored + 16,
            32 + stored + 1,
            32 + 2 * stored + 15,
        ] {
            assert_eq!(
                plaintext_len_for_ciphertext(len, SEGMENT_SIZE),
                Err(SealError::InvalidCiphertextLength { len }),
                "len {len}"
            );
        }
        assert_eq!(
            plaintext_len_for_ciphertext(100, 0),
            Err(SealError::SegmentSize { found: 0 })
        );
    }

    #[test]
    fn range_errors() {
        assert_eq!(
            plan_range(10, SEGMENT_SIZE, 5, 4),
            Err(SealError::InvalidRange { start: 5, end: 4 })
        );
        assert_eq!(
            plan_range(10, SEGMENT_SIZE, 5, 11),
            Err(SealError::RangeOutOfBounds {
                start: 5,
                end: 11,
                len: 10
            })
        );
        assert_eq!(
            plan_range(10, 0, 0, 1),
            Err(SealError::SegmentSize { found: 0 })
        );
        assert_eq!(
            plan_range(u64::MAX, SEGMENT_SIZE, 0, 1),
            Err(SealError::LengthOverflow {
                plaintext_len: u64::MAX
            })
        );
    }

    #[test]
    fn range_examples() {
        let plan = plan_range(3 * S + 7, SEGMENT_SIZE, S - 1, S + 1).expect("valid range");
        assert_eq!(plan.first_segment(), 0);
        assert_eq!(plan.segment_count(), 2);
        assert_eq!(plan.ciphertext_range(), 32..32 + 2 * (S + 16));
        assert_eq!(plan.skip(), 65535);
        assert_eq!(plan.output_len(), 2);

        let tail = plan_range(3 * S + 7, SEGMENT_SIZE, 3 * S, 3 * S + 7).expect("valid range");
        assert_eq!(tail.first_segment(), 3);
        assert_eq!(tail.segment_count(), 1);
        assert_eq!(
            tail.ciphertext_range(),
            32 + 3 * (S + 16)..32 + 3 * (S + 16) + 7 + 16
        );

        let empty = plan_range(0, SEGMENT_SIZE, 0, 0).expect("valid range");
        assert_eq!(empty.segment_count(), 0);
        assert!(empty.ciphertext_range().is_empty());
    }

    proptest! {
        #[test]
        fn ciphertext_len_inverts(len in 0u64..(1 << 40), size in 1u32..=(1 << 20)) {
            let total = ciphertext_len(len, size);
            prop_assert_eq!(plaintext_len_for_ciphertext(total, size), Ok(len));
        }

        #[test]
        fn plan_covers_exactly_the_range(
            len in 0u64..(1 << 24),
            a in any::<u64>(),
            b in any::<u64>(),
            size in prop_oneof![Just(SEGMENT_SIZE), 1u32..5000],
        ) {
            let (start, end) = if len == 0 { (0, 0) } else {
                let (x, y) = (a % (len + 1), b % (len + 1));
                (x.min(y), x.max(y))
            };
            let plan = plan_range(len, size, start, end).expect("valid range");
            let size64 = u64::from(size);
            prop_assert_eq!(plan.output_len(), end - start);
            if start < end {
                // The planned segments contain [start, end) and no segment more.
                let first = plan.first_segment();
                let last = first + plan.segment_count() - 1;
                prop_assert!(first * size64 <= start && start < (first + 1) * size64);
                prop_assert!(last * size64 < end && end <= (last + 1) * size64);
                prop_assert_eq!(u64::from(plan.skip()), start - first * size64);
                // Its ciphertext range is those segments' stored bytes.
                let stored: u64 = (first..=last)
                    .map(|i| u64::from(segment_plaintext_len(len, size, i).unwrap_or(0)) + 16)
                    .sum();
                let range = plan.ciphertext_range();
                prop_assert_eq!(range.end - range.start, stored);
                prop_assert_eq!(range.start, 32 + first * (size64 + 16));
                prop_assert!(range.end <= ciphertext_len(len, size));
            }
        }
    }
}
