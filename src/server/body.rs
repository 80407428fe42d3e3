//! An upload's request body as a [`BlockSource`] for the ingest pipeline.
//!
//! A task pulls the body from the connection and copies each chunk into pooled blocks
//! ([`Block`], laid out as they will be stored) as it arrives, ahead of the pipeline's reader
//! thread, which takes whole blocks from a bounded channel. Copying at once (rather than
//! passing hyper's chunks along) drops each chunk before hyper's next read, so hyper refills
//! the same read buffer instead of allocating a fresh one per read, whose pages the allocator
//! hands back to the system and faults in again: measured, about 80,000 page faults and 0.2
//! CPU-seconds more per uploaded GiB (docs/PERFORMANCE.md, "Service").
//!
//! The declared length is enforced on both sides: the pull fails a body that ends early or
//! runs long, and the reader fails when the pull stops short without saying why (its task was
//! cancelled, as at runtime shutdown), so an upload is never taken as complete unless all its
//! declared bytes arrived.

use crate::ingest::{Block, BlockSource};
use crate::store::BufferPool;
use axum::body::Body;
use futures::StreamExt;
use std::future::Future;
use std::io;

/// Whole blocks waiting for the reader thread. Each upload holds at most this many blocks
/// plus the one being filled (3 MiB), whatever its size.
const READ_AHEAD_BLOCKS: usize = 2;

/// A request body of exactly `declared` bytes, in blocks.
pub struct BodyBlocks {
    rx: tokio::sync::mpsc::Receiver<io::Result<Block>>,
    /// The blocks' pool, for the empty block that ends the body.
    pool: BufferPool,
    declared: u64,
    /// Bytes in the blocks handed out so far.
    received: u64,
}

impl BodyBlocks {
    /// Start pulling `body` on the current tokio runtime. Fewer or more than `declared`
    /// bytes is an error, reported after the blocks received before it.
    pub fn spawn(body: Body, declared: u64) -> Self {
        let (source, fill) = Self::new(body, declared);
        tokio::spawn(fill);
        source
    }

    /// The source of `body`'s blocks, and the future that fills it; the source fails if the
    /// future is dropped before the body ends.
    fn new(body: Body, declared: u64) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD_BLOCKS);
        let pool = Block::pool();
        let fill_pool = pool.clone();
        let fill = async move {
            if let Err(e) = pull(body, declared, &fill_pool, &tx).await {
                // The reader is gone when this fails: nothing left to tell.
                let _ = tx.send(Err(e)).await;
            }
        };
        let source = BodyBlocks {
            rx,
            pool,
            declared,
            received: 0,
        };
        (source, fill)
    }
}

fn wrong_length(seen: u64, declared: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("received {seen} of {declared} declared bytes"),
    )
}

/// Copy the body into blocks and send them, the last one short; `Ok` at the end of a body of
/// the declared length, or when the reader is gone (the ingest stopped).
async fn pull(
    body: Body,
    declared: u64,
    pool: &BufferPool,
    tx: &tokio::sync::mpsc::Sender<io::Result<Block>>,
) -> io::Result<()> {
    let mut stream = body.into_data_stream();
    let mut seen = 0u64;
    let mut block = Block::new(pool);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| io::Error::new(io::ErrorKind::UnexpectedEof, e))?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > declared {
            return Err(wrong_length(seen, declared));
        }
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            rest = &rest[block.extend(rest)..];
            if block.is_full() {
                let full = std::mem::replace(&mut block, Block::new(pool));
                if tx.send(Ok(full)).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
    if seen != declared {
        return Err(wrong_length(seen, declared));
    }
    if !block.is_empty() {
        let _ = tx.send(Ok(block)).await;
    }
    Ok(())
}

impl BlockSource for BodyBlocks {
    /// Blocks the calling thread: never call it on an async task.
    fn next_block(&mut self) -> io::Result<Block> {
        match self.rx.blocking_recv() {
            Some(Ok(block)) => {
                self.received += block.len() as u64;
                Ok(block)
            }
            Some(Err(e)) => Err(e),
            // The pull ended: at the end of the body, or dropped part-way.
            None if self.received == self.declared => Ok(Block::new(&self.pool)),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the upload stopped after {} of {} declared bytes",
                    self.received, self.declared
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::BLOCK;
    use bytes::Bytes;

    /// Every block the source yields (as its plaintext) up to its end or its first error.
    fn blocks(body: Body, declared: u64) -> (Vec<Vec<u8>>, Option<io::Error>) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime");
        let mut source = rt.block_on(async { BodyBlocks::spawn(body, declared) });
        let mut out = Vec::new();
        let err = loop {
            match source.next_block() {
                Ok(b) if b.is_empty() => break None,
                Ok(b) => out.push(b.segments().flatten().copied().collect()),
                Err(e) => break Some(e),
            }
        };
        drop(rt);
        (out, err)
    }

    fn chunked(parts: Vec<Vec<u8>>) -> Body {
        let chunks: Vec<Result<Bytes, io::Error>> =
            parts.into_iter().map(|p| Ok(Bytes::from(p))).collect();
        Body::from_stream(futures::stream::iter(chunks))
    }

    #[test]
    fn small_chunks_make_one_short_block() {
        let parts = vec![b"ab".to_vec(), vec![], b"cde".to_vec(), b"f".to_vec()];
        let (got, err) = blocks(chunked(parts), 6);
        assert!(err.is_none());
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0][..], b"abcdef");
    }

    #[test]
    fn chunks_across_block_boundaries_give_full_blocks_then_the_rest() {
        // 2.5 blocks in chunks of 300,001 bytes: the blocks are full but the last, in order.
        let total = 2 * BLOCK + BLOCK / 2;
        let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        let parts: Vec<Vec<u8>> = data.chunks(300_001).map(<[u8]>::to_vec).collect();
        let (got, err) = blocks(chunked(parts), total as u64);
        assert!(err.is_none());
        let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![BLOCK, BLOCK, BLOCK / 2]);
        assert_eq!(got.concat(), data);
    }

    #[test]
    fn an_exact_multiple_of_the_block_ends_with_an_empty_block() {
        let data = vec![7u8; 2 * BLOCK];
        let (got, err) = blocks(chunked(vec![data.clone()]), data.len() as u64);
        assert!(err.is_none());
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [BLOCK, BLOCK]);
        assert_eq!(got.concat(), data);
    }

    #[test]
    fn a_short_body_is_an_error_naming_both_lengths() {
        let (got, err) = blocks(chunked(vec![b"abc".to_vec()]), 5);
        assert!(got.is_empty());
        let err = err.expect("short");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(err.to_string(), "received 3 of 5 declared bytes");
    }

    #[test]
    fn a_long_body_is_an_error() {
        let (_, err) = blocks(chunked(vec![b"abc".to_vec(), b"def".to_vec()]), 4);
        assert_eq!(
            err.expect("long").to_string(),
            "received 6 of 4 declared bytes"
        );
    }

    #[test]
    fn a_pull_dropped_part_way_fails_the_read_instead_of_ending_the_body() {
        // A pull cancelled part-way (its task aborted, as at runtime shutdown) closes the
        // channel without an error: the blocks already received are handed out, then the read
        // fails; the body never looks complete.
        let declared = 3 * BLOCK as u64;
        let first: Vec<Result<Bytes, io::Error>> = vec![Ok(Bytes::from(vec![1u8; BLOCK]))];
        let body =
            Body::from_stream(futures::stream::iter(first).chain(futures::stream::pending()));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime");
        let (mut source, fill) = BodyBlocks::new(body, declared);
        let pulling = rt.spawn(fill);
        let b = source.next_block().expect("first block");
        assert_eq!(b.len(), BLOCK);
        pulling.abort();
        let Err(err) = source.next_block() else {
            panic!("a cancelled pull must fail the read");
        };
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            err.to_string(),
            format!("the upload stopped after {BLOCK} of {declared} declared bytes")
        );
        // Never driven at all: the same.
        let (mut source, fill) = BodyBlocks::new(Body::from("abc"), 3);
        drop(fill);
        let Err(err) = source.next_block() else {
            panic!("a pull never driven must fail the read");
        };
        assert_eq!(
            err.to_string(),
            "the upload stopped after 0 of 3 declared bytes"
        );
    }

    #[test]
    fn a_failing_body_fails_the_read() {
        let parts: Vec<Result<Bytes, io::Error>> = vec![
            Ok(Bytes::from_static(b"ab")),
            Err(io::Error::other("reset")),
        ];
        let (_, err) = blocks(Body::from_stream(futures::stream::iter(parts)), 10);
        assert_eq!(err.expect("fail").kind(), io::ErrorKind::UnexpectedEof);
    }
}
