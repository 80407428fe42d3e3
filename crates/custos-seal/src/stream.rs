//! Sealing and opening segments: AES-256-GCM with STREAM nonces
//! (docs/FORMATS.md §2, "Segments").
//!
//! Hot path: plaintext is copied once into the output buffer and encrypted there
//! (`seal_in_place_separate_tag`); opening decrypts in the caller's buffer the same way, or
//! (`Opener::open_block_in_place`) where the stored bytes already lie. None allocates per segment.

use std::fmt;
use std::ops::Range;

use ring::aead::{Aad, LessSafeKey, Nonce, Tag};

use crate::layout::{checked_ciphertext_len, segment_plaintext_len};
use crate::{
    DataKey, HEADER_LEN, Header, RangePlan, SealError, TAG_LEN, ciphertext_len, plan_range,
    segment_count,
};

/// The 96-bit nonce of segment `index`: u64 BE index || u32 BE (1 if last, else 0).
///
/// This is the STREAM construction (Hoang et al., CRYPTO 2015, §7): the counter pins each
/// segment to its position and the flag marks the end, so an object cut at a segment boundary
/// fails because its new last segment was sealed with flag 0.
#[must_use]
pub fn segment_nonce(index: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    let (counter, flag) = nonce.split_at_mut(8);
    counter.copy_from_slice(&index.to_be_bytes());
    flag.copy_from_slice(&u32::from(last).to_be_bytes());
    nonce
}

/// Seals one object's plaintext, segment by segment, in order.
///
/// Enforces the format: every segment but the last holds exactly the segment size, the last
/// holds 0..=segment size (0 only if it is the only segment), and nothing follows the last.
/// The caller writes [`Header::encode`] before the first segment.
pub struct Sealer {
    key: LessSafeKey,
    aad: [u8; HEADER_LEN],
    segment_size: u32,
    segment_size_usize: usize,
    next_index: u64,
    plaintext_len: u64,
    finished: bool,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("header", &Header::parse(&self.aad))
            .field("next_index", &self.next_index)
            .field("plaintext_len", &self.plaintext_len)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer for the object described by `header`, consuming its data key so the key
    /// cannot seal a second object (the nonces would repeat).
    ///
    /// Fails with [`SealError::SegmentSize`] unless the header has the version-1 segment size.
    pub fn new(dek: DataKey, header: &Header) -> Result<Self, SealError> {
        header.check_segment_size()?;
        let segment_size_usize =
            usize::try_from(header.segment_size).map_err(|_| SealError::SegmentSize {
                found: header.segment_size,
            })?;
        Ok(Self {
            key: dek.aead_key(),
            aad: header.encode(),
            segment_size: header.segment_size,
            segment_size_usize,
            next_index: 0,
            plaintext_len: 0,
            finished: false,
        })
    }

    /// Seals one segment, appending ciphertext || tag to `out`.
    ///
    /// `last` marks the final segment. On error nothing is appended.
    pub fn seal_segment(
        &mut self,
        plaintext: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        self.check_segment(plaintext.len(), last)?;
        out.reserve(plaintext.len().saturating_add(TAG_LEN));
        self.seal_checked(plaintext, last, out)
    }

    /// Seals a block that is a whole number of segments, or (`is_final`) the final block of any
    /// length, appending all its segments to `out` after one reservation.
    ///
    /// The final block must be known before it is sealed: a plaintext that ends on a segment
    /// boundary ends with that full segment, so `seal_block(&[], true, ..)` after other blocks
    /// fails with [`SealError::EmptyFinalSegment`]. Streaming callers read one block ahead.
    /// On error `out` is left as it was.
    pub fn seal_block(
        &mut self,
        block: &[u8],
        is_final: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        if self.finished {
            return Err(SealError::SealAfterLast {
                segments: self.next_index,
            });
        }
        if !is_final && !block.len().is_multiple_of(self.segment_size_usize) {
            return Err(SealError::BlockNotWholeSegments {
                len: block.len(),
                segment_size: self.segment_size,
            });
        }
        if block.is_empty() {
            return if is_final {
                self.seal_segment(block, true, out)
            } else {
                Ok(())
            };
        }
        let segments = block.len().div_ceil(self.segment_size_usize);
        out.reserve(block.len().saturating_add(segments.saturating_mul(TAG_LEN)));
        let start = out.len();
        let mut chunks = block.chunks(self.segment_size_usize).peekable();
        while let Some(chunk) = chunks.next() {
            let last = is_final && chunks.peek().is_none();
            let sealed = self
                .check_segment(chunk.len(), last)
                .and_then(|()| self.seal_checked(chunk, last, out));
            if let Err(err) = sealed {
                // Only the overflow guards can fail here; leave no partial output behind.
                out.truncate(start);
                return Err(err);
            }
        }
        Ok(())
    }

    /// Ends sealing, returning the plaintext length sealed; fails with
    /// [`SealError::SealNotFinished`] if no segment was marked last.
    pub fn finish(self) -> Result<u64, SealError> {
        if self.finished {
            Ok(self.plaintext_len)
        } else {
            Err(SealError::SealNotFinished {
                segments: self.next_index,
            })
        }
    }

    /// Whether the last segment has been sealed.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Segments sealed so far.
    #[must_use]
    pub fn segments_sealed(&self) -> u64 {
        self.next_index
    }

    /// Plaintext bytes sealed so far.
    #[must_use]
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Checks that a segment of `len` bytes may come next.
    fn check_segment(&self, len: usize, last: bool) -> Result<(), SealError> {
        self.check_segment_at(self.next_index, len, last)
    }

    /// Checks that a segment of `len` bytes may be segment `index` (after those before it).
    fn check_segment_at(&self, index: u64, len: usize, last: bool) -> Result<(), SealError> {
        if self.finished {
            return Err(SealError::SealAfterLast { segments: index });
        }
        if !last && len != self.segment_size_usize {
            return Err(SealError::NonFinalSegmentLength {
                index,
                expected: self.segment_size,
                found: len,
            });
        }
        if last && len > self.segment_size_usize {
            return Err(SealError::FinalSegmentTooLong {
                index,
                max: self.segment_size,
                found: len,
            });
        }
        if last && len == 0 && index > 0 {
            return Err(SealError::EmptyFinalSegment { index });
        }
        Ok(())
    }

    /// Seals a segment already checked by [`Sealer::check_segment`].
    fn seal_checked(
        &mut self,
        plaintext: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        let start = out.len();
        out.extend_from_slice(plaintext);
        match self.seal_next(&mut out[start..], last) {
            Ok(tag) => out.extend_from_slice(tag.as_ref()),
            Err(err) => {
                // Never leave plaintext behind in the output buffer.
                out.truncate(start);
                return Err(err);
            }
        }
        Ok(())
    }

    /// Encrypts the next segment (already checked) where it lies and returns its tag.
    fn seal_next(&mut self, in_out: &mut [u8], last: bool) -> Result<Tag, SealError> {
        let index = self.next_index;
        let overflow = || SealError::LengthOverflow {
            plaintext_len: self.plaintext_len,
        };
        let next_index = index.checked_add(1).ok_or_else(overflow)?;
        let plaintext_len = u64::try_from(in_out.len())
            .ok()
            .and_then(|len| self.plaintext_len.checked_add(len))
            .ok_or_else(overflow)?;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(segment_nonce(index, last)),
                Aad::from(&self.aad),
                in_out,
            )
            .map_err(|_| SealError::SealFailed { index })?;
        self.next_index = next_index;
        self.plaintext_len = plaintext_len;
        self.finished = last;
        Ok(tag)
    }

    /// [`Sealer::seal_block`] for a block that already lies in its stored layout in `buf`:
    /// segment `i`'s plaintext at `i × (segment size + TAG_LEN)`, followed by `TAG_LEN` bytes of
    /// room for its tag (a short last segment's tag right after its plaintext). Each segment is
    /// encrypted where it lies and its tag written after it, so the sealed block is
    /// `buf[..n]` for the returned `n` (`plain_len` plus one tag per segment) and the plaintext
    /// is never copied. Same rules and errors as `seal_block`, plus
    /// [`SealError::BlockRoom`] when `buf` is too short; every rule is checked before anything
    /// is encrypted, so on those errors `buf` is unchanged.
    pub fn seal_block_in_place(
        &mut self,
        buf: &mut [u8],
        plain_len: usize,
        is_final: bool,
    ) -> Result<usize, SealError> {
        if self.finished {
            return Err(SealError::SealAfterLast {
                segments: self.next_index,
            });
        }
        let seg = self.segment_size_usize;
        if !is_final && !plain_len.is_multiple_of(seg) {
            return Err(SealError::BlockNotWholeSegments {
                len: plain_len,
                segment_size: self.segment_size,
            });
        }
        if plain_len == 0 && !is_final {
            return Ok(0);
        }
        // An empty final block is one empty segment (allowed only as the object's only one).
        let segments = plain_len.div_ceil(seg).max(1);
        let needed = segments
            .checked_mul(TAG_LEN)
            .and_then(|tags| tags.checked_add(plain_len))
            .ok_or(SealError::LengthOverflow {
                plaintext_len: self.plaintext_len,
            })?;
        if buf.len() < needed {
            return Err(SealError::BlockRoom {
                needed,
                found: buf.len(),
            });
        }
        let stride = seg + TAG_LEN;
        let segment_len = |i: usize| (plain_len - i * seg).min(seg);
        for i in 0..segments {
            let last = is_final && i + 1 == segments;
            let index = self.next_index.saturating_add(i as u64);
            self.check_segment_at(index, segment_len(i), last)?;
        }
        for i in 0..segments {
            let last = is_final && i + 1 == segments;
            let (start, len) = (i * stride, segment_len(i));
            let tag = self.seal_next(&mut buf[start..start + len], last)?;
            buf[start + len..start + len + TAG_LEN].copy_from_slice(tag.as_ref());
        }
        Ok(needed)
    }
}

/// Opens (authenticates and decrypts) segments of one object, in any order and any subset.
///
/// Built from what the vault recorded about the object (its data key, header and plaintext
/// length), never from the stored object itself: the recorded header is the associated data,
/// so a segment from any other object fails authentication.
pub struct Opener {
    key: LessSafeKey,
    header: Header,
    aad: [u8; HEADER_LEN],
    plaintext_len: u64,
    segments: u64,
}

impl fmt::Debug for Opener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opener")
            .field("header", &self.header)
            .field("plaintext_len", &self.plaintext_len)
            .finish_non_exhaustive()
    }
}

impl Opener {
    /// An opener for the object `expected` of `plaintext_len` bytes under `dek`.
    ///
    /// Fails with [`SealError::SegmentSize`] for a non-standard segment size and
    /// [`SealError::LengthOverflow`] for a length no object can have.
    pub fn new(dek: &DataKey, expected: &Header, plaintext_len: u64) -> Result<Self, SealError> {
        expected.check_segment_size()?;
        if checked_ciphertext_len(plaintext_len, expected.segment_size).is_none() {
            return Err(SealError::LengthOverflow { plaintext_len });
        }
        Ok(Self {
            key: dek.aead_key(),
            header: *expected,
            aad: expected.encode(),
            plaintext_len,
            segments: segment_count(plaintext_len, expected.segment_size),
        })
    }

    /// The expected header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Plaintext length of the object.
    #[must_use]
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Number of segments of the object.
    #[must_use]
    pub fn segment_count(&self) -> u64 {
        self.segments
    }

    /// Total stored length of the object.
    #[must_use]
    pub fn ciphertext_len(&self) -> u64 {
        ciphertext_len(self.plaintext_len, self.header.segment_size)
    }

    /// Checks a stored header against the expected one: a parse error, or
    /// [`SealError::ObjectIdMismatch`] if it belongs to another object.
    pub fn check_header(&self, stored: &[u8]) -> Result<(), SealError> {
        let found = Header::parse(stored)?;
        if found.object_id != self.header.object_id {
            return Err(SealError::ObjectIdMismatch {
                expected: self.header.object_id,
                found: found.object_id,
            });
        }
        if found != self.header {
            // Unreachable in version 1 (one segment size), kept for later versions.
            return Err(SealError::SegmentSize {
                found: found.segment_size,
            });
        }
        Ok(())
    }

    /// Stored length (ciphertext and tag) of segment `index`.
    pub fn stored_segment_len(&self, index: u64) -> Result<u64, SealError> {
        segment_plaintext_len(self.plaintext_len, self.header.segment_size, index)
            .map(|len| u64::from(len) + TAG_LEN as u64)
            .ok_or(SealError::SegmentIndexOutOfRange {
                index,
                count: self.segments,
            })
    }

    /// Opens stored segment `index` (ciphertext || tag), appending its plaintext to `out`.
    ///
    /// On error nothing is appended: unauthenticated plaintext never reaches the caller.
    pub fn open_segment(
        &self,
        index: u64,
        stored: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        let expected = self.stored_segment_len(index)?;
        let found = u64::try_from(stored.len()).unwrap_or(u64::MAX);
        if found != expected {
            return Err(SealError::WrongSegmentLength {
                index,
                expected,
                found,
            });
        }
        out.reserve(stored.len());
        self.open_checked(index, stored, out)
    }

    /// Opens consecutive stored segments starting at `first_index`, appending their plaintext
    /// to `out` after one reservation. On error `out` is left as it was.
    pub fn open_block(
        &self,
        first_index: u64,
        stored_block: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        let start = out.len();
        out.reserve(stored_block.len());
        let result = self.open_block_inner(first_index, stored_block, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn open_block_inner(
        &self,
        first_index: u64,
        mut rest: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        let mut index = first_index;
        while !rest.is_empty() {
            let expected = self.stored_segment_len(index)?;
            let found = u64::try_from(rest.len()).unwrap_or(u64::MAX);
            let Some((stored, tail)) = usize::try_from(expected)
                .ok()
                .and_then(|len| rest.split_at_checked(len))
            else {
                return Err(SealError::WrongSegmentLength {
                    index,
                    expected,
                    found,
                });
            };
            self.open_checked(index, stored, out)?;
            rest = tail;
            index = index
                .checked_add(1)
                .ok_or(SealError::SegmentIndexOutOfRange {
                    index,
                    count: self.segments,
                })?;
        }
        Ok(())
    }

    /// Plans a read of plaintext `[start, end)` of this object; see [`plan_range`].
    pub fn plan_range(&self, start: u64, end: u64) -> Result<RangePlan, SealError> {
        plan_range(self.plaintext_len, self.header.segment_size, start, end)
    }

    /// The error for a range plan that does not fit this object or `found` stored bytes.
    fn plan_mismatch(&self, plan: &RangePlan, found: usize) -> SealError {
        let range = plan.ciphertext_range();
        SealError::RangePlanMismatch {
            plan_len: plan.plaintext_len(),
            opener_len: self.plaintext_len,
            plan_ciphertext: range.end - range.start,
            found_ciphertext: u64::try_from(found).unwrap_or(u64::MAX),
        }
    }

    /// Checks that `plan` was made for this object and that `found` stored bytes are exactly
    /// its ciphertext range.
    fn check_plan(&self, plan: &RangePlan, found: usize) -> Result<(), SealError> {
        let range = plan.ciphertext_range();
        if plan.plaintext_len() != self.plaintext_len
            || plan.segment_size() != self.header.segment_size
            || range.end - range.start != u64::try_from(found).unwrap_or(u64::MAX)
        {
            return Err(self.plan_mismatch(plan, found));
        }
        Ok(())
    }

    /// Opens the stored bytes `plan.ciphertext_range()` of this object and appends exactly the
    /// planned plaintext range to `out`. On error `out` is left as it was.
    pub fn open_range(
        &self,
        plan: &RangePlan,
        stored: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        self.check_plan(plan, stored.len())?;
        let mismatch = self.plan_mismatch(plan, stored.len());
        let start = out.len();
        self.open_block(plan.first_segment(), stored, out)?;
        // Keep [skip, skip + output_len) of what was decrypted.
        let keep = usize::try_from(plan.skip())
            .ok()
            .and_then(|skip| Some((skip, usize::try_from(plan.output_len()).ok()?)))
            .and_then(|(skip, len)| Some((start.checked_add(skip)?, len)))
            .filter(|&(from, len)| from.checked_add(len).is_some_and(|end| end <= out.len()));
        let Some((from, len)) = keep else {
            out.truncate(start);
            return Err(mismatch);
        };
        out.drain(start..from);
        out.truncate(start + len);
        Ok(())
    }

    /// Opens consecutive stored segments starting at `first_index`, held in `buf`, in place:
    /// on success the plaintext occupies `buf[..n]` and `n` is returned.
    ///
    /// Each segment's ciphertext is decrypted straight to its plaintext position (AES-GCM with
    /// the input offset from the output, as `ring`'s `open_in_place_separate_tag` allows), so
    /// the tags are squeezed out without a second pass or a second buffer: the read path of a
    /// local object fills one reused buffer and decrypts it where it lies.
    ///
    /// Errors as [`Opener::open_block`]. On error all of `buf` is zeroed: no unauthenticated
    /// plaintext, nor the plaintext of segments already opened, is left for the caller.
    pub fn open_block_in_place(
        &self,
        first_index: u64,
        buf: &mut [u8],
    ) -> Result<usize, SealError> {
        let result = self.open_in_place_inner(first_index, buf);
        if result.is_err() {
            buf.fill(0);
        }
        result
    }

    /// Opens the stored bytes `plan.ciphertext_range()` of this object, held in `buf`, in place
    /// and returns the range of `buf` that holds exactly the planned plaintext.
    ///
    /// Errors as [`Opener::open_range`]; on error all of `buf` is zeroed.
    pub fn open_range_in_place(
        &self,
        plan: &RangePlan,
        buf: &mut [u8],
    ) -> Result<Range<usize>, SealError> {
        self.check_plan(plan, buf.len())?;
        let mismatch = self.plan_mismatch(plan, buf.len());
        let opened = self.open_block_in_place(plan.first_segment(), buf)?;
        // Keep [skip, skip + output_len) of what was decrypted.
        let keep = usize::try_from(plan.skip())
            .ok()
            .and_then(|skip| {
                Some(skip..skip.checked_add(usize::try_from(plan.output_len()).ok()?)?)
            })
            .filter(|keep| keep.end <= opened);
        keep.ok_or_else(|| {
            buf.fill(0);
            mismatch
        })
    }

    fn open_in_place_inner(&self, first_index: u64, buf: &mut [u8]) -> Result<usize, SealError> {
        let mut index = first_index;
        // Stored segments are read from `read` on; plaintext so far is `buf[..written]`.
        // `written <= read` always: a plaintext segment is shorter than its stored form.
        let (mut read, mut written) = (0usize, 0usize);
        while read < buf.len() {
            let expected = self.stored_segment_len(index)?;
            let found = u64::try_from(buf.len() - read).unwrap_or(u64::MAX);
            let wrong_length = SealError::WrongSegmentLength {
                index,
                expected,
                found,
            };
            let end = usize::try_from(expected)
                .ok()
                .and_then(|len| read.checked_add(len))
                .filter(|&end| end <= buf.len())
                .ok_or(wrong_length.clone())?;
            // A stored segment is at least one tag long (stored_segment_len = plaintext + tag).
            let ciphertext_end = end.checked_sub(TAG_LEN).ok_or(wrong_length)?;
            let failed = SealError::SegmentAuthFailed { index };
            let tag: [u8; TAG_LEN] = buf
                .get(ciphertext_end..end)
                .and_then(|t| t.try_into().ok())
                .ok_or(failed.clone())?;
            let last = index.checked_add(1) == Some(self.segments);
            // in_out = [written, ciphertext_end); the ciphertext starts `read - written` in.
            let in_out = buf.get_mut(written..ciphertext_end).ok_or(failed.clone())?;
            self.key
                .open_in_place_separate_tag(
                    Nonce::assume_unique_for_key(segment_nonce(index, last)),
                    Aad::from(&self.aad),
                    Tag::from(tag),
                    in_out,
                    (read - written)..,
                )
                .map_err(|_| failed)?;
            written += ciphertext_end - read;
            read = end;
            index = index
                .checked_add(1)
                .ok_or(SealError::SegmentIndexOutOfRange {
                    index,
                    count: self.segments,
                })?;
        }
        Ok(written)
    }

    /// Decrypts a stored segment of the right length in place at the end of `out`.
    fn open_checked(&self, index: u64, stored: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        let failed = SealError::SegmentAuthFailed { index };
        let (ciphertext, tag) = stored.split_last_chunk::<TAG_LEN>().ok_or(failed.clone())?;
        let last = index.checked_add(1) == Some(self.segments);
        let start = out.len();
        out.extend_from_slice(ciphertext);
        let opened = self.key.open_in_place_separate_tag(
            Nonce::assume_unique_for_key(segment_nonce(index, last)),
            Aad::from(&self.aad),
            Tag::from(*tag),
            &mut out[start..],
            0..,
        );
        if opened.is_err() {
            out.truncate(start);
            return Err(failed);
        }
        Ok(())
    }
}

/// Seals a whole plaintext held in memory: header || segments. For small objects and tests;
/// the ingest pipeline streams blocks through [`Sealer::seal_block`].
pub fn seal_object(dek: DataKey, header: &Header, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let plaintext_len = u64::try_from(plaintext.len()).unwrap_or(u64::MAX);
    let total = checked_ciphertext_len(plaintext_len, header.segment_size)
        .and_then(|len| usize::try_from(len).ok())
        .ok_or(SealError::LengthOverflow { plaintext_len })?;
    let mut sealer = Sealer::new(dek, header)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&header.encode());
    sealer.seal_block(plaintext, true, &mut out)?;
    Ok(out)
}

/// Opens a whole stored object held in memory, checking in order: the stored header against
/// `expected` (wrong object → [`SealError::ObjectIdMismatch`]), the total length against
/// `plaintext_len` ([`SealError::ObjectLength`]), then every segment.
pub fn open_object(
    dek: &DataKey,
    expected: &Header,
    plaintext_len: u64,
    object: &[u8],
) -> Result<Vec<u8>, SealError> {
    let opener = Opener::new(dek, expected, plaintext_len)?;
    let (header, body) =
        object
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(SealError::HeaderLength {
                found: object.len(),
            })?;
    opener.check_header(header)?;
    let found = u64::try_from(object.len()).unwrap_or(u64::MAX);
    if found != opener.ciphertext_len() {
        return Err(SealError::ObjectLength {
            expected: opener.ciphertext_len(),
            found,
        });
    }
    let mut out = Vec::with_capacity(usize::try_from(plaintext_len).unwrap_or(0));
    opener.open_block(0, body, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ObjectId, SEGMENT_SIZE};

    const S: usize = SEGMENT_SIZE as usize;

    fn header() -> Header {
        Header::new(ObjectId([7; 16]))
    }

    fn sealer() -> Sealer {
        Sealer::new(DataKey::from_bytes([1; 32]), &header()).expect("standard header")
    }

    #[test]
    fn nonce_layout() {
        assert_eq!(
            hex::encode(segment_nonce(0, false)),
            "000000000000000000000000"
        );
        assert_eq!(
            hex::encode(segment_nonce(0, true)),
            "000000000000000000000001"
        );
        assert_eq!(
            hex::encode(segment_nonce(0x0102_0304_0506_0708, true)),
            "010203040506070800000001"
        );
    }

    #[test]
    fn sealer_enforces_segment_rules() {
        let mut out = Vec::new();
        let mut s = sealer();
        assert_eq!(
            s.seal_segment(&[0; 10], false, &mut out),
            Err(SealError::NonFinalSegmentLength {
                index: 0,
                expected: SEGMENT_SIZE,
                found: 10
            })
        );
        assert_eq!(
            s.seal_segment(&vec![0; S + 1], true, &mut out),
            Err(SealError::FinalSegmentTooLong {
                index: 0,
                max: SEGMENT_SIZE,
                found: S + 1
            })
        );
        assert!(out.is_empty(), "failed calls append nothing");
        s.seal_segment(&vec![0; S], false, &mut out)
            .expect("full segment");
        assert_eq!(
            s.seal_segment(&[], true, &mut out),
            Err(SealError::EmptyFinalSegment { index: 1 })
        );
        assert_eq!(
            s.seal_block(&[], true, &mut out),
            Err(SealError::EmptyFinalSegment { index: 1 })
        );
        assert_eq!(
            s.seal_block(&[0; 5], false, &mut out),
            Err(SealError::BlockNotWholeSegments {
                len: 5,
                segment_size: SEGMENT_SIZE
            })
        );
        s.seal_segment(&[0; 3], true, &mut out)
            .expect("last segment");
        assert_eq!(out.len(), S + 16 + 3 + 16);
        assert_eq!(
            s.seal_segment(&[0; 3], true, &mut out),
            Err(SealError::SealAfterLast { segments: 2 })
        );
        assert_eq!(
            s.seal_block(&[], true, &mut out),
            Err(SealError::SealAfterLast { segments: 2 })
        );
        assert_eq!(s.finish(), Ok(S as u64 + 3));
    }

    #[test]
    fn unfinished_sealer_reports_it() {
        let mut s = sealer();
        let mut out = Vec::new();
        s.seal_block(&vec![0; 2 * S], false, &mut out)
            .expect("two segments");
        assert_eq!(s.segments_sealed(), 2);
        assert_eq!(s.finish(), Err(SealError::SealNotFinished { segments: 2 }));
    }

    #[test]
    fn non_standard_segment_size_rejected() {
        let odd = Header {
            object_id: ObjectId([0; 16]),
            segment_size: 4096,
        };
        assert_eq!(
            Sealer::new(DataKey::from_bytes([0; 32]), &odd).map(|_| ()),
            Err(SealError::SegmentSize { found: 4096 })
        );
        assert_eq!(
            Opener::new(&DataKey::from_bytes([0; 32]), &odd, 0).map(|_| ()),
            Err(SealError::SegmentSize { found: 4096 })
        );
    }

    #[test]
    fn block_and_segment_sealing_agree() {
        let plaintext: Vec<u8> = (0..3 * S + 5).map(|i| (i % 251) as u8).collect();
        let mut by_block = Vec::new();
        let mut s = sealer();
        s.seal_block(&plaintext[..2 * S], false, &mut by_block)
            .expect("block");
        s.seal_block(&plaintext[2 * S..], true, &mut by_block)
            .expect("final block");
        let mut by_segment = Vec::new();
        let mut s = sealer();
        let chunks: Vec<&[u8]> = plaintext.chunks(S).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            s.seal_segment(chunk, i + 1 == chunks.len(), &mut by_segment)
                .expect("segment");
        }
        assert_eq!(by_block, by_segment);
    }

    /// `plaintext` laid out for `seal_block_in_place`: each segment followed by tag room.
    fn stored_layout(plaintext: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        for chunk in plaintext.chunks(S) {
            buf.extend_from_slice(chunk);
            buf.extend_from_slice(&[0xEE; TAG_LEN]);
        }
        buf.resize(buf.len().max(TAG_LEN), 0xEE);
        buf
    }

    #[test]
    fn sealing_in_place_equals_sealing_by_copy() {
        // Blocks of every shape: empty object, short, one byte either side of a segment, and
        // a whole multiple followed by a final block; each object sealed both ways.
        let shapes: [&[(usize, bool)]; 6] = [
            &[(0, true)],
            &[(5, true)],
            &[(S - 1, true)],
            &[(S, true)],
            &[(S + 1, true)],
            &[(2 * S, false), (0, false), (3 * S, false), (S + 7, true)],
        ];
        for shape in shapes {
            let (mut by_copy, mut in_place) = (Vec::new(), Vec::new());
            let (mut a, mut b) = (sealer(), sealer());
            for (n, &(len, last)) in shape.iter().enumerate() {
                let plain: Vec<u8> = (0..len).map(|i| ((i + n) % 253) as u8).collect();
                a.seal_block(&plain, last, &mut by_copy).expect("by copy");
                let mut buf = stored_layout(&plain);
                let room = buf.len();
                let sealed = b
                    .seal_block_in_place(&mut buf, len, last)
                    .expect("in place");
                assert!(sealed <= room, "{shape:?}");
                in_place.extend_from_slice(&buf[..sealed]);
            }
            assert_eq!(in_place, by_copy, "{shape:?}");
            assert_eq!(a.finish(), b.finish());
        }
    }

    #[test]
    fn sealing_in_place_enforces_the_same_rules() {
        let mut s = sealer();
        let mut buf = stored_layout(&[0u8; 2 * S]);
        assert_eq!(
            s.seal_block_in_place(&mut buf, 5, false),
            Err(SealError::BlockNotWholeSegments {
                len: 5,
                segment_size: SEGMENT_SIZE
            })
        );
        let room = buf.len();
        assert_eq!(
            s.seal_block_in_place(&mut buf[..room - 1], 2 * S, false),
            Err(SealError::BlockRoom {
                needed: room,
                found: room - 1
            })
        );
        assert_eq!(
            buf,
            stored_layout(&[0u8; 2 * S]),
            "a refused block is left as it was"
        );
        assert_eq!(s.seal_block_in_place(&mut buf, 2 * S, false), Ok(room));
        assert_eq!(
            s.seal_block_in_place(&mut buf, 0, true),
            Err(SealError::EmptyFinalSegment { index: 2 })
        );
        assert_eq!(s.seal_block_in_place(&mut buf, 3, true), Ok(3 + TAG_LEN));
        assert_eq!(
            s.seal_block_in_place(&mut buf, 3, true),
            Err(SealError::SealAfterLast { segments: 3 })
        );
        assert_eq!(s.finish(), Ok(2 * S as u64 + 3));
    }

    #[test]
    fn opener_rejects_bad_indices_and_lengths() {
        let plaintext = vec![9u8; S + 1];
        let object =
            seal_object(DataKey::from_bytes([1; 32]), &header(), &plaintext).expect("seal");
        let opener = Opener::new(
            &DataKey::from_bytes([1; 32]),
            &header(),
            plaintext.len() as u64,
        )
        .expect("opener");
        let mut out = Vec::new();
        assert_eq!(
            opener.open_segment(2, &[0; 17], &mut out),
            Err(SealError::SegmentIndexOutOfRange { index: 2, count: 2 })
        );
        assert_eq!(
            opener.open_segment(1, &object[32..50], &mut out),
            Err(SealError::WrongSegmentLength {
                index: 1,
                expected: 17,
                found: 18
            })
        );
        let second = &object[32 + S + 16..];
        opener.open_segment(1, second, &mut out).expect("segment 1");
        assert_eq!(out, [9]);
        // A stored block that ends inside a segment.
        let mut out = vec![0xaa];
        assert_eq!(
            opener.open_block(0, &object[32..32 + S + 20], &mut out),
            Err(SealError::WrongSegmentLength {
                index: 1,
                expected: 17,
                found: 4
            })
        );
        assert_eq!(out, [0xaa], "nothing appended on error");
    }

    #[test]
    fn failed_authentication_appends_nothing() {
        let mut object =
            seal_object(DataKey::from_bytes([1; 32]), &header(), b"secret").expect("seal");
        let last = object.len() - 1;
        object[last] ^= 1;
        let opener = Opener::new(&DataKey::from_bytes([1; 32]), &header(), 6).expect("opener");
        let mut out = b"kept".to_vec();
        assert_eq!(
            opener.open_segment(0, &object[32..], &mut out),
            Err(SealError::SegmentAuthFailed { index: 0 })
        );
        assert_eq!(out, b"kept");
    }
}
