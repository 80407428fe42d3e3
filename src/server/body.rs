//! An upload's request body as a blocking [`Read`] for the ingest pipeline.
//!
//! The pipeline's reader is a plain thread. A task pulls the body from the connection ahead of
//! it, into a bounded channel, so socket reads overlap hashing instead of waiting for each read
//! (as a `SyncIoBridge` over the body stream did), and the declared length is enforced in the
//! same place: a body that ends early or runs long fails the read, which the ingest records.

use axum::body::Body;
use bytes::{Buf, Bytes};
use futures::StreamExt;
use std::io::{self, Read};

/// Body chunks pulled ahead of the reader. hyper hands out at most its read buffer (about
/// 400 KiB) per chunk, so an upload holds at most about 2 MiB here, whatever its size.
const READ_AHEAD_CHUNKS: usize = 4;

/// A request body of exactly `declared` bytes, read on a blocking thread.
pub struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    declared: u64,
    seen: u64,
    ended: bool,
}

impl BodyReader {
    /// Start pulling `body` (on the current tokio runtime). Fewer or more than `declared`
    /// bytes is an error at the end of the body.
    pub fn spawn(body: Body, declared: u64) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD_CHUNKS);
        tokio::spawn(async move {
            let mut stream = body.into_data_stream();
            while let Some(chunk) = stream.next().await {
                let item = chunk.map_err(|e| io::Error::new(io::ErrorKind::UnexpectedEof, e));
                let failed = item.is_err();
                // The reader is gone (the ingest stopped): stop reading the body.
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        BodyReader {
            rx,
            current: Bytes::new(),
            declared,
            seen: 0,
            ended: false,
        }
    }

    fn wrong_length(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("received {} of {} declared bytes", self.seen, self.declared),
        )
    }
}

impl Read for BodyReader {
    /// Blocks the calling thread: never call it on an async task.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.seen = self.seen.saturating_add(chunk.len() as u64);
                    if self.seen > self.declared {
                        self.ended = true;
                        return Err(self.wrong_length());
                    }
                    self.current = chunk;
                }
                Some(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                None => {
                    self.ended = true;
                    if self.seen != self.declared {
                        return Err(self.wrong_length());
                    }
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(body: Body, declared: u64) -> io::Result<Vec<u8>> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime");
        let mut reader = rt.block_on(async { BodyReader::spawn(body, declared) });
        let mut out = Vec::new();
        let r = reader.read_to_end(&mut out).map(|_| out);
        drop(rt);
        r
    }

    fn chunked(parts: &[&'static [u8]]) -> Body {
        let chunks: Vec<Result<Bytes, io::Error>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Body::from_stream(futures::stream::iter(chunks))
    }

    #[test]
    fn reads_every_chunk_in_order() {
        let got = read_all(chunked(&[b"ab", b"", b"cde", b"f"]), 6).expect("read");
        assert_eq!(got, b"abcdef");
    }

    #[test]
    fn a_short_body_is_an_error_naming_both_lengths() {
        let err = read_all(chunked(&[b"abc"]), 5).expect_err("short");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(err.to_string(), "received 3 of 5 declared bytes");
    }

    #[test]
    fn a_long_body_is_an_error() {
        let err = read_all(chunked(&[b"abc", b"def"]), 4).expect_err("long");
        assert_eq!(err.to_string(), "received 6 of 4 declared bytes");
    }

    #[test]
    fn a_failing_body_fails_the_read() {
        let parts: Vec<Result<Bytes, io::Error>> = vec![
            Ok(Bytes::from_static(b"ab")),
            Err(io::Error::other("reset")),
        ];
        let err = read_all(Body::from_stream(futures::stream::iter(parts)), 10).expect_err("fail");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
