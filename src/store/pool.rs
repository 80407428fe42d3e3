//! Reused buffers for the hot paths (docs/PERFORMANCE.md, "Evidence store").

use bytes::Bytes;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

/// A free list of byte buffers, so the hot paths reuse memory instead of faulting in fresh
/// zero-filled pages for every block (the page-fault churn measured in docs/PERFORMANCE.md,
/// "Evidence store"). A buffer goes back to its pool when dropped, also when it was shared as
/// [`Bytes`] (via [`PooledBuf::freeze`]): when the last clone is dropped.
///
/// Taking never waits: an empty pool allocates. At most `keep` free buffers are kept, so the
/// pool neither limits nor adds to the memory a pipeline holds in flight; its bounded channels
/// do that.
#[derive(Clone)]
pub struct BufferPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    free: Mutex<Vec<Vec<u8>>>,
    capacity: usize,
    keep: usize,
}

impl BufferPool {
    /// A pool of buffers of at least `capacity` bytes, keeping up to `keep` free ones.
    pub fn new(capacity: usize, keep: usize) -> Self {
        BufferPool {
            inner: Arc::new(PoolInner {
                free: Mutex::new(Vec::with_capacity(keep)),
                capacity,
                keep,
            }),
        }
    }

    /// A buffer of at least the pool's capacity. Its length and contents are whatever its last
    /// user left (a new buffer is empty): set them through [`PooledBuf::vec_mut`].
    pub fn take(&self) -> PooledBuf {
        let reused = self
            .inner
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        PooledBuf {
            buf: reused.unwrap_or_else(|| Vec::with_capacity(self.inner.capacity)),
            view: 0..0,
            pool: self.inner.clone(),
        }
    }

    /// Free buffers waiting for reuse.
    pub fn free_buffers(&self) -> usize {
        self.inner
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A buffer on loan from a [`BufferPool`]; it returns there when dropped.
pub struct PooledBuf {
    buf: Vec<u8>,
    /// The bytes [`AsRef`] shows once frozen.
    view: Range<usize>,
    pool: Arc<PoolInner>,
}

impl PooledBuf {
    /// The buffer itself, to fill.
    pub fn vec_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// The buffer's contents (its whole length).
    pub fn contents(&self) -> &[u8] {
        &self.buf
    }

    /// Share bytes `view` of the buffer (clamped to its length) as [`Bytes`], without copying;
    /// the buffer returns to its pool when the last clone is dropped.
    pub fn freeze(mut self, view: Range<usize>) -> Bytes {
        let end = view.end.min(self.buf.len());
        self.view = view.start.min(end)..end;
        Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for PooledBuf {
    fn as_ref(&self) -> &[u8] {
        self.buf.get(self.view.clone()).unwrap_or_default()
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if buf.capacity() < self.pool.capacity {
            return;
        }
        let mut free = self
            .pool
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if free.len() < self.pool.keep {
            free.push(buf);
        }
    }
}
