//! A block of plaintext laid out as it will be stored, so the pipeline never copies it: the
//! source writes each segment where its ciphertext will lie, the hashers read the segments,
//! and the sealer encrypts them in place and writes each tag in the room left after its
//! segment (`Sealer::seal_block_in_place`, docs/FORMATS.md §2.4). The buffer then goes to
//! storage as it is.

use crate::store::{BufferPool, ObjectSealer, PooledBuf};
use bytes::Bytes;
use custos_seal::{HEADER_LEN, SEGMENT_SIZE, SealError, TAG_LEN};
use std::io::{self, Read};

/// Segments per block.
const SEGMENTS: usize = 16;
/// Segment size.
const SEG: usize = SEGMENT_SIZE as usize;
/// Plaintext bytes of a full block.
pub const BLOCK: usize = SEGMENTS * SEG;
/// Bytes of a block's buffer: room for the object header (stored before the first block),
/// then each segment followed by room for its tag.
pub const BLOCK_ROOM: usize = HEADER_LEN + SEGMENTS * (SEG + TAG_LEN);
/// Free buffers a block pool keeps: as many as the pipeline can hold in flight (its bounded
/// channels, one block in each stage, and the HTTP body's read-ahead), so a buffer returned
/// while the pipeline drains is kept rather than freed and faulted in again later.
const POOL_KEEP: usize = 20;

/// Up to [`BLOCK`] bytes of plaintext in a pooled buffer of [`BLOCK_ROOM`] bytes.
pub struct Block {
    buf: PooledBuf,
    len: usize,
}

impl Block {
    /// An empty block in a buffer from `pool` (made by [`Block::pool`]).
    pub fn new(pool: &BufferPool) -> Self {
        let mut buf = pool.take();
        // Grows (zero-filled) only on a buffer's first use; later uses overwrite in place.
        buf.vec_mut().resize(BLOCK_ROOM, 0);
        Block { buf, len: 0 }
    }

    /// A pool for one pipeline's blocks.
    pub fn pool() -> BufferPool {
        BufferPool::new(BLOCK_ROOM, POOL_KEEP)
    }

    /// Plaintext bytes in the block.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the block holds no plaintext.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the block holds [`BLOCK`] bytes.
    pub fn is_full(&self) -> bool {
        self.len == BLOCK
    }

    /// Where plaintext byte `offset` of the block lies in the buffer.
    fn position(offset: usize) -> usize {
        HEADER_LEN + offset / SEG * (SEG + TAG_LEN) + offset % SEG
    }

    /// The free part of the segment being filled (empty when the block is full).
    fn room(&mut self) -> &mut [u8] {
        if self.is_full() {
            return &mut [];
        }
        let start = Self::position(self.len);
        let end = start + (SEG - self.len % SEG);
        &mut self.buf.vec_mut()[start..end]
    }

    /// Copy as much of `data` as fits; returns the bytes taken.
    pub fn extend(&mut self, data: &[u8]) -> usize {
        let mut taken = 0;
        while taken < data.len() {
            let rest = &data[taken..];
            let room = self.room();
            let n = room.len().min(rest.len());
            if n == 0 {
                break;
            }
            room[..n].copy_from_slice(&rest[..n]);
            self.len += n;
            taken += n;
        }
        taken
    }

    /// Fill the block from `reader` until it is full or the reader ends (one read per
    /// segment at most, looping over short reads).
    pub fn fill_from<R: Read>(&mut self, reader: &mut R) -> io::Result<()> {
        loop {
            let room = self.room();
            let free = room.len();
            if free == 0 {
                return Ok(());
            }
            match reader.read(room) {
                Ok(0) => return Ok(()),
                // `min`: a reader that claims more than it was given cannot push us past it.
                Ok(n) => self.len += n.min(free),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The plaintext, one segment at a time, in order.
    pub fn segments(&self) -> impl Iterator<Item = &[u8]> {
        let buf = self.buf.contents();
        let len = self.len;
        (0..len.div_ceil(SEG)).map(move |i| {
            let start = Self::position(i * SEG);
            &buf[start..start + (len - i * SEG).min(SEG)]
        })
    }

    /// Seal the block in place (`last`: the object's final block) and share its stored bytes,
    /// which start with the object header when this is the object's first block.
    pub fn seal(mut self, sealer: &mut ObjectSealer, last: bool) -> Result<Bytes, SealError> {
        let stored = sealer.seal_in_place(self.buf.vec_mut(), self.len, last)?;
        Ok(self.buf.freeze(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_seal::{DataKey, ObjectId};

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// A reader that returns at most `step` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn filled_and_extended_blocks_hold_the_same_segments() {
        let pool = Block::pool();
        let input = data(BLOCK + 12_345);
        let mut reader = Trickle {
            data: &input,
            step: 10_007,
        };
        let mut read = Vec::new();
        let mut extended = Vec::new();
        let mut rest = &input[..];
        for _ in 0..2 {
            let mut a = Block::new(&pool);
            a.fill_from(&mut reader).expect("read");
            let mut b = Block::new(&pool);
            for piece in rest.chunks(70_001) {
                if b.extend(piece) < piece.len() {
                    break;
                }
            }
            rest = &rest[b.len()..];
            assert_eq!(a.len(), b.len());
            read.extend(a.segments().flatten().copied());
            extended.extend(b.segments().flatten().copied());
        }
        assert_eq!(read, input);
        assert_eq!(extended, input);
    }

    #[test]
    fn a_full_block_takes_no_more() {
        let pool = Block::pool();
        let mut b = Block::new(&pool);
        assert_eq!(b.extend(&data(BLOCK + 5)), BLOCK);
        assert!(b.is_full());
        assert_eq!(b.extend(b"more"), 0);
        let mut reader: &[u8] = b"more";
        b.fill_from(&mut reader).expect("read");
        assert_eq!((b.len(), reader.len()), (BLOCK, 4));
    }

    #[test]
    fn sealed_blocks_equal_sealing_by_copy() {
        let id = ObjectId([3; 16]);
        let key = [9; 32];
        let input = data(2 * BLOCK + 100);
        let pool = Block::pool();
        let mut in_place = ObjectSealer::new(DataKey::from_bytes(key), id).expect("sealer");
        let mut by_copy = ObjectSealer::new(DataKey::from_bytes(key), id).expect("sealer");
        let (mut got, mut want) = (Vec::new(), Vec::new());
        let chunks: Vec<&[u8]> = input.chunks(BLOCK).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            let mut b = Block::new(&pool);
            assert_eq!(b.extend(chunk), chunk.len());
            got.extend_from_slice(&b.seal(&mut in_place, last).expect("seal"));
            by_copy.seal_into(chunk, last, &mut want).expect("seal");
        }
        assert_eq!(got, want);
    }

    #[test]
    fn an_empty_object_is_one_sealed_empty_segment() {
        let id = ObjectId([4; 16]);
        let pool = Block::pool();
        let mut s = ObjectSealer::new(DataKey::from_bytes([1; 32]), id).expect("sealer");
        let sealed = Block::new(&pool).seal(&mut s, true).expect("seal");
        let mut want = Vec::new();
        ObjectSealer::new(DataKey::from_bytes([1; 32]), id)
            .expect("sealer")
            .seal_into(&[], true, &mut want)
            .expect("seal");
        assert_eq!(&sealed[..], &want[..]);
        assert_eq!(sealed.len(), HEADER_LEN + TAG_LEN);
    }
}
