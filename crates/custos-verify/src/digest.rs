//! Streaming digests of evidence files: 1 MiB reads, SHA-256 on its own thread, and MD5 and
//! SHA-1 on one thread each only when the bundle records them, so the slowest digest, not
//! their sum, sets the pace (docs/ARCHITECTURE.md, "Life of an ingest", step 4).

use custos_core::Sha256Hash;
use custos_core::bundle::EvidenceDigest;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

/// Bytes per read.
pub const BLOCK: usize = 1 << 20;

/// Blocks queued per hashing thread: enough look-ahead to keep the reader busy, small enough
/// to keep memory constant (a few MiB whatever the file size).
const QUEUE: usize = 4;

/// Which optional digests to compute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Compute MD5.
    pub md5: bool,
    /// Compute SHA-1.
    pub sha1: bool,
}

/// Digests of a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digests {
    /// Bytes read.
    pub size: u64,
    /// SHA-256.
    pub sha256: [u8; 32],
    /// MD5, when wanted.
    pub md5: Option<[u8; 16]>,
    /// SHA-1, when wanted.
    pub sha1: Option<[u8; 20]>,
}

/// Hash the file at `path`, naming it `name` in the result.
pub fn hash_file(path: &Path, name: String, wanted: Wanted) -> io::Result<EvidenceDigest> {
    let file = File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let d = hash_reader(file, wanted)?;
    Ok(EvidenceDigest {
        name,
        size: d.size,
        sha256: Sha256Hash(d.sha256),
        md5: d.md5,
        sha1: d.sha1,
    })
}

/// Hash everything `reader` yields. The calling thread reads; each digest runs on a thread of
/// its own and receives every block, shared rather than copied.
pub fn hash_reader<R: Read>(mut reader: R, wanted: Wanted) -> io::Result<Digests> {
    thread::scope(|scope| {
        let (sha256_tx, sha256) = spawn_hasher::<sha2::Sha256, 32>(scope);
        let md5 = wanted.md5.then(|| spawn_hasher::<md5::Md5, 16>(scope));
        let sha1 = wanted.sha1.then(|| spawn_hasher::<sha1::Sha1, 20>(scope));
        let mut senders = vec![sha256_tx];
        senders.extend(md5.as_ref().map(|(tx, _)| tx.clone()));
        senders.extend(sha1.as_ref().map(|(tx, _)| tx.clone()));
        // Drop the originals so that dropping `senders` ends every hasher.
        let md5 = md5.map(|(_, h)| h);
        let sha1 = sha1.map(|(_, h)| h);
        let size = feed(&mut reader, senders)?;
        Ok(Digests {
            size,
            sha256: join(sha256)?,
            md5: md5.map(join).transpose()?,
            sha1: sha1.map(join).transpose()?,
        })
    })
}

type Block = Arc<Vec<u8>>;

fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> io::Result<T> {
    handle
        .join()
        .map_err(|_| io::Error::other("a hashing thread panicked"))
}

fn spawn_hasher<'scope, D, const N: usize>(
    scope: &'scope thread::Scope<'scope, '_>,
) -> (SyncSender<Block>, thread::ScopedJoinHandle<'scope, [u8; N]>)
where
    D: sha2::Digest + Send + 'scope,
    [u8; N]: From<sha2::digest::Output<D>>,
{
    let (tx, rx): (SyncSender<Block>, Receiver<Block>) = sync_channel(QUEUE);
    let handle = scope.spawn(move || {
        let mut hasher = D::new();
        for block in rx {
            hasher.update(block.as_slice());
        }
        <[u8; N]>::from(hasher.finalize())
    });
    (tx, handle)
}

/// Read `reader` in full blocks and send each to every hasher; returns the byte count.
/// Buffers come back for reuse once every hasher has dropped them, so a few blocks are
/// allocated in all.
fn feed<R: Read>(reader: &mut R, senders: Vec<SyncSender<Block>>) -> io::Result<u64> {
    let mut in_flight: VecDeque<Block> = VecDeque::new();
    let mut total: u64 = 0;
    loop {
        let mut buf = reuse_or_allocate(&mut in_flight);
        let n = read_block(reader, &mut buf)?;
        if n == 0 {
            break;
        }
        buf.truncate(n);
        total = total.saturating_add(n as u64);
        let block = Arc::new(buf);
        for tx in &senders {
            if tx.send(Arc::clone(&block)).is_err() {
                return Err(io::Error::other("a hashing thread stopped early"));
            }
        }
        in_flight.push_back(block);
        if n < BLOCK {
            break;
        }
    }
    Ok(total)
}

/// The oldest block no hasher still holds, or a new one; sized to [`BLOCK`].
fn reuse_or_allocate(in_flight: &mut VecDeque<Block>) -> Vec<u8> {
    let mut buf = match in_flight.pop_front().map(Arc::try_unwrap) {
        Some(Ok(buf)) => buf,
        Some(Err(still_shared)) => {
            in_flight.push_front(still_shared);
            Vec::with_capacity(BLOCK)
        }
        None => Vec::with_capacity(BLOCK),
    };
    buf.resize(BLOCK, 0);
    buf
}

/// Fill `buf` unless the stream ends first; returns the bytes read (0 at the end).
fn read_block<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn known_answers() {
        let all = Wanted {
            md5: true,
            sha1: true,
        };
        let d = hash_reader(&b"abc"[..], all).unwrap();
        assert_eq!(d.size, 3);
        assert_eq!(
            hex(&d.sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&d.md5.unwrap()), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(&d.sha1.unwrap()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let empty = hash_reader(&b""[..], Wanted::default()).unwrap();
        assert_eq!(empty.size, 0);
        assert_eq!(
            hex(&empty.sha256),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!((empty.md5, empty.sha1), (None, None));
    }

    /// A reader that returns at most 7 bytes per call, to exercise block filling.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn block_boundaries_and_short_reads_do_not_change_the_digests() {
        let all = Wanted {
            md5: true,
            sha1: true,
        };
        for len in [BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12_345] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let d = hash_reader(&data[..], all).unwrap();
            assert_eq!(d.size, len as u64);
            assert_eq!(d.sha256, <[u8; 32]>::from(sha2::Sha256::digest(&data)));
            assert_eq!(d.md5, Some(<[u8; 16]>::from(md5::Md5::digest(&data))));
            assert_eq!(d.sha1, Some(<[u8; 20]>::from(sha1::Sha1::digest(&data))));
            if len < 2 * BLOCK {
                assert_eq!(hash_reader(Trickle(&data), all).unwrap(), d);
            }
        }
    }
}
