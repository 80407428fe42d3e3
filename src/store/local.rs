//! The local backend's direct paths: reads as positioned reads into pooled buffers decrypted
//! in place, and uploads through one staging file with background `fdatasync`, under the same
//! names and durability rules as `object_store`'s `LocalFileSystem` (docs/ARCHITECTURE.md).

use super::{
    BufferPool, LOCAL_FLUSH_STEP, READ_CHUNK_SEGMENTS, READ_POOL_KEEP, StoreError, blocking,
    corrupt, local_io,
};
use bytes::Bytes;
use custos_seal::{HEADER_LEN, ObjectId, Opener, SEGMENT_SIZE, SealError};
use futures::{StreamExt, TryStreamExt};
use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// [`super::EvidenceStore::read_plaintext`] on a local folder. `object_store`'s local `get_range`
/// opens the file and allocates a fresh zero-filled buffer per request; this opens the file
/// once, reads each chunk with one positioned read into a reused buffer and decrypts it where
/// it lies (`Opener::open_range_in_place`).
pub(super) fn read_local(
    id: ObjectId,
    path: PathBuf,
    opener: Arc<Opener>,
    chunks: Vec<Range<u64>>,
) -> impl futures::Stream<Item = Result<Bytes, StoreError>> + Send + 'static {
    let open = async move {
        let object = blocking(id, move || {
            let pool = BufferPool::new(local_chunk_capacity(), READ_POOL_KEEP);
            let object = LocalObject::open(id, path, opener, pool)?;
            object.check_header()?;
            Ok(Arc::new(object))
        })
        .await?;
        let body = futures::stream::iter(chunks)
            .map(move |r| {
                let object = object.clone();
                blocking(id, move || object.read_chunk(r))
            })
            .buffered(2);
        Ok::<_, StoreError>(body)
    };
    futures::stream::once(open).try_flatten()
}

/// Stored bytes of one full read chunk.
fn local_chunk_capacity() -> usize {
    READ_CHUNK_SEGMENTS as usize * (SEGMENT_SIZE as usize + custos_seal::TAG_LEN)
}

/// An open local object file.
struct LocalObject {
    id: ObjectId,
    path: PathBuf,
    file: File,
    opener: Arc<Opener>,
    pool: BufferPool,
}

impl LocalObject {
    fn open(
        id: ObjectId,
        path: PathBuf,
        opener: Arc<Opener>,
        pool: BufferPool,
    ) -> Result<Self, StoreError> {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    object: id.to_hex(),
                });
            }
            Err(e) => return Err(local_io("read", id, &path)(e)),
        };
        Ok(LocalObject {
            id,
            path,
            file,
            opener,
            pool,
        })
    }

    /// Checks the stored header against the expected one.
    fn check_header(&self) -> Result<(), StoreError> {
        let mut header = [0u8; HEADER_LEN];
        self.read_exact_at(&mut header, 0)?;
        self.opener.check_header(&header).map_err(corrupt(self.id))
    }

    /// Reads, authenticates and decrypts plaintext `r` (whole segments but at the range ends).
    fn read_chunk(&self, r: Range<u64>) -> Result<Bytes, StoreError> {
        let plan = self
            .opener
            .plan_range(r.start, r.end)
            .map_err(corrupt(self.id))?;
        let stored = plan.ciphertext_range();
        let len = usize::try_from(stored.end - stored.start).map_err(|_| {
            corrupt(self.id)(SealError::LengthOverflow {
                plaintext_len: self.opener.plaintext_len(),
            })
        })?;
        let mut buf = self.pool.take();
        let v = buf.vec_mut();
        // Grows (zero-filled) only on a buffer's first use; later uses overwrite in place.
        v.resize(len, 0);
        self.read_exact_at(v, stored.start)?;
        let keep = self
            .opener
            .open_range_in_place(&plan, v)
            .map_err(corrupt(self.id))?;
        Ok(buf.freeze(keep))
    }

    /// Positioned reads until `buf` is full; a file too short for it is a truncated object.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), StoreError> {
        self.file.read_exact_at(buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                corrupt(self.id)(SealError::ObjectLength {
                    expected: self.opener.ciphertext_len(),
                    found: self.file.metadata().map(|m| m.len()).unwrap_or(0),
                })
            } else {
                local_io("read", self.id, &self.path)(e)
            }
        })
    }
}

/// What an upload sends its writer thread.
enum LocalMsg {
    /// Sealed bytes to append.
    Data(Bytes),
    /// All bytes sent: make the object durable and visible.
    Finish,
}

/// A local upload. A writer thread appends to `<object>#<n>` (the staging name
/// `LocalFileSystem` uses: its listing skips it, the audit reports it as a leftover), asks a
/// flusher thread for an `fdatasync` every [`LOCAL_FLUSH_STEP`] bytes so writeback overlaps
/// the rest of the pipeline, and on `Finish` fsyncs the file, renames it into place and fsyncs
/// the folder. If the upload is dropped or aborted, or anything fails, the staging file is
/// removed.
pub(super) struct LocalUpload {
    tx: Option<tokio::sync::mpsc::Sender<LocalMsg>>,
    done: Option<tokio::sync::oneshot::Receiver<Result<(), StoreError>>>,
}

impl LocalUpload {
    /// Create the staging file and start its writer thread (blocking).
    pub(super) fn start(id: ObjectId, dest: PathBuf) -> Result<Self, StoreError> {
        let (file, staging) =
            create_staging(&dest).map_err(|(path, e)| local_io("write", id, &path)(e))?;
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let thread_staging = staging.clone();
        let spawned = std::thread::Builder::new()
            .name("custos-upload".into())
            .spawn(move || {
                let result = write_staged(id, file, &thread_staging, &dest, rx);
                if !matches!(result, Ok(true)) {
                    let _ = std::fs::remove_file(&thread_staging);
                }
                let _ = done_tx.send(result.map(|_| ()));
            });
        if let Err(e) = spawned {
            let _ = std::fs::remove_file(&staging);
            return Err(local_io("write", id, &staging)(e));
        }
        Ok(LocalUpload {
            tx: Some(tx),
            done: Some(done),
        })
    }

    pub(super) async fn put(&mut self, id: ObjectId, sealed: Bytes) -> Result<(), StoreError> {
        let sent = match &self.tx {
            Some(tx) => tx.send(LocalMsg::Data(sealed)).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The writer stopped: its outcome says why.
        Err(self
            .outcome(id)
            .await
            .err()
            .unwrap_or(StoreError::Interrupted {
                object: id.to_hex(),
            }))
    }

    pub(super) async fn finish(mut self, id: ObjectId) -> Result<(), StoreError> {
        if let Some(tx) = self.tx.take() {
            // A failed send means the writer already stopped; its outcome says why.
            let _ = tx.send(LocalMsg::Finish).await;
        }
        self.outcome(id).await
    }

    /// The writer sees its channel close without `Finish` and removes the staging file; wait
    /// for that, so nothing is left when this returns.
    pub(super) async fn abort(mut self, id: ObjectId) {
        let _ = self.outcome(id).await;
    }

    /// Close the channel, wait for the writer thread to end and return its result.
    async fn outcome(&mut self, id: ObjectId) -> Result<(), StoreError> {
        self.tx = None;
        let interrupted = || StoreError::Interrupted {
            object: id.to_hex(),
        };
        match self.done.take() {
            Some(done) => done.await.unwrap_or_else(|_| Err(interrupted())),
            None => Err(interrupted()),
        }
    }
}

/// The writer thread's work. Returns whether the object was published.
fn write_staged(
    id: ObjectId,
    mut file: File,
    staging: &Path,
    dest: &Path,
    mut rx: tokio::sync::mpsc::Receiver<LocalMsg>,
) -> Result<bool, StoreError> {
    let flusher = Flusher::start(&file);
    let mut unflushed = 0u64;
    let mut finished = false;
    let mut write_error = None;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            LocalMsg::Data(bytes) => {
                if let Err(e) = file.write_all(&bytes) {
                    write_error = Some(e);
                    break;
                }
                unflushed += bytes.len() as u64;
                if unflushed >= LOCAL_FLUSH_STEP {
                    flusher.request();
                    unflushed = 0;
                }
            }
            LocalMsg::Finish => {
                finished = true;
                break;
            }
        }
    }
    drop(rx);
    // The flusher shares the open file description, so an fdatasync error it saw would not be
    // reported again to the final fsync: its result counts as the file's.
    let flushed = flusher.stop();
    if let Some(e) = write_error {
        return Err(local_io("write", id, staging)(e));
    }
    flushed.map_err(local_io("flush", id, staging))?;
    if !finished {
        return Ok(false);
    }
    file.sync_all().map_err(local_io("flush", id, staging))?;
    drop(file);
    std::fs::rename(staging, dest).map_err(local_io("publish", id, dest))?;
    if let Some(dir) = dest.parent() {
        fsync_dir(dir).map_err(local_io("publish", id, dir))?;
    }
    Ok(true)
}

/// A thread that runs `fdatasync` on request while the writer goes on writing.
struct Flusher {
    tx: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Flusher {
    /// Starts the thread on a second handle of `file`. Without one (out of descriptors or
    /// threads) nothing is flushed early and the final fsync does all the work.
    fn start(file: &File) -> Self {
        let none = Flusher {
            tx: None,
            thread: None,
        };
        let Ok(handle) = file.try_clone() else {
            return none;
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let spawned = std::thread::Builder::new()
            .name("custos-flush".into())
            .spawn(move || {
                for () in rx {
                    handle.sync_data()?;
                }
                Ok(())
            });
        match spawned {
            Ok(thread) => Flusher {
                tx: Some(tx),
                thread: Some(thread),
            },
            Err(_) => none,
        }
    }

    /// Ask for a flush; one already pending covers this one too.
    fn request(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(());
        }
    }

    /// Stop the thread and return the first error it met.
    fn stop(mut self) -> std::io::Result<()> {
        self.tx = None;
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("flusher thread panicked"))),
            None => Ok(()),
        }
    }
}

/// Creates `<dest>#<n>` for the first free n, creating (and fsyncing) missing folders.
fn create_staging(dest: &Path) -> Result<(File, PathBuf), (PathBuf, std::io::Error)> {
    let mut made_dirs = false;
    let mut n = 1u32;
    loop {
        let mut name = dest.as_os_str().to_owned();
        name.push(format!("#{n}"));
        let path = PathBuf::from(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !made_dirs => {
                made_dirs = true;
                if let Some(dir) = dest.parent() {
                    create_dirs_durably(dir).map_err(|e| (dir.to_owned(), e))?;
                }
            }
            Err(e) => return Err((path, e)),
        }
    }
}

/// `create_dir_all`, then fsync every folder that gained an entry, so a new `objects/` folder
/// survives a crash together with the first object in it.
fn create_dirs_durably(dir: &Path) -> std::io::Result<()> {
    let mut first_existing = dir;
    while !first_existing.exists() {
        match first_existing.parent() {
            Some(p) => first_existing = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir)?;
    let mut d = dir;
    loop {
        fsync_dir(d)?;
        if d == first_existing {
            return Ok(());
        }
        match d.parent() {
            Some(p) => d = p,
            None => return Ok(()),
        }
    }
}

/// Makes a folder's entries durable.
fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    // An empty parent (a bare relative file name) is the current folder.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
}
