//! The evidence store: encryption as a layer over `object_store` (local disk or S3).
//!
//! Objects are named `objects/<32 hex random object id>` under the configured root; the name,
//! the object's metadata and its bytes reveal nothing about the plaintext (docs/FORMATS.md §Objects).
//! This module seals plaintext into the object format (custos-seal), streams it to the backend
//! (multipart on S3; on local disk one staging file, flushed while it is written, fsync'd and
//! renamed into place), and reads byte ranges back with per-segment authentication.
//!
//! On local disk both directions bypass `object_store` for the bytes themselves
//! (docs/PERFORMANCE.md, "Evidence store"): reads are large positioned reads into reused
//! buffers, decrypted where they lie; writes go to one staging file with the same name and
//! durability rules as `LocalFileSystem`'s multipart upload (`<object>#<n>`, invisible to
//! listing, fsync'd before the rename, folder fsync'd after), with background `fdatasync`s so
//! the disk works while the pipeline still encrypts. `object_store` still lists, sizes and
//! deletes local objects, so both paths name the same files.

use crate::config::{StorageSection, StorageUrl};
use bytes::Bytes;
use custos_seal::{DataKey, HEADER_LEN, Header, ObjectId, Opener, SEGMENT_SIZE, SealError, Sealer};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig, WriteMultipart};
use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Size of the multipart parts written to the backend (S3 needs at least 5 MiB).
pub const PART_SIZE: usize = 5 << 20;
/// Plaintext bytes fetched and decrypted per read request (a multiple of the segment size).
pub const READ_CHUNK_SEGMENTS: u64 = 16;
/// A local upload asks for a background `fdatasync` each time this many bytes were written
/// since the last request, so the final fsync finds little left to write.
pub const LOCAL_FLUSH_STEP: u64 = 32 << 20;
/// Free buffers a read keeps for reuse (more than the blocks a consumer typically holds).
const READ_POOL_KEEP: usize = 8;

/// Storage errors. Each names the object concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be configured.
    #[error("cannot set up the object store {url}: {message}")]
    Setup {
        /// The configured URL.
        url: String,
        /// Why.
        message: String,
    },
    /// A backend operation failed.
    #[error("object store {op} of object {object} failed: {source}")]
    Backend {
        /// The operation (write, read, delete, list).
        op: &'static str,
        /// The object id (hex) or path.
        object: String,
        /// The backend's error.
        source: object_store::Error,
    },
    /// The object does not exist.
    #[error("object {object} is missing from the object store")]
    NotFound {
        /// The object id (hex).
        object: String,
    },
    /// The object's bytes do not authenticate (corrupt, truncated, reordered or swapped).
    #[error("object {object} failed authentication: {source}")]
    Corrupt {
        /// The object id (hex).
        object: String,
        /// What the format layer found.
        source: SealError,
    },
    /// Local file I/O failed (the direct read and write paths of a local vault).
    #[error("local object store {op} of object {object} at {path} failed: {source}")]
    LocalIo {
        /// The operation (write, flush, publish, read).
        op: &'static str,
        /// The object id (hex).
        object: String,
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The upload task stopped before the writer finished.
    #[error("upload of object {object} was interrupted")]
    Interrupted {
        /// The object id (hex).
        object: String,
    },
}

/// Encrypted evidence objects on an `object_store` backend.
#[derive(Clone)]
pub struct EvidenceStore {
    inner: Arc<dyn ObjectStore>,
    root: ObjPath,
    local_root: Option<PathBuf>,
}

impl EvidenceStore {
    /// Build the backend from the `[storage]` section; relative file paths are inside `vault_dir`.
    pub fn from_config(cfg: &StorageSection, vault_dir: &Path) -> Result<Self, StoreError> {
        let setup = |message: String| StoreError::Setup {
            url: cfg.url.clone(),
            message,
        };
        match StorageUrl::parse(&cfg.url).map_err(setup)? {
            StorageUrl::File(p) => {
                let dir = if p.is_absolute() {
                    p
                } else {
                    vault_dir.join(p)
                };
                std::fs::create_dir_all(&dir).map_err(|e| setup(e.to_string()))?;
                let fs = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| setup(e.to_string()))?
                    .with_fsync(true);
                Ok(Self::new(Arc::new(fs), "", Some(dir)))
            }
            StorageUrl::S3 { bucket, prefix } => {
                // retry_timeout counts from the first attempt: it must exceed the request
                // timeout, or a timed-out request is never retried.
                let retry = RetryConfig {
                    max_retries: cfg.max_retries,
                    retry_timeout: Duration::from_secs(
                        cfg.timeout_secs * (cfg.max_retries as u64 + 1) + 1,
                    ),
                    ..RetryConfig::default()
                };
                let opts = ClientOptions::new()
                    .with_timeout(Duration::from_secs(cfg.timeout_secs))
                    .with_connect_timeout(Duration::from_secs(cfg.timeout_secs.min(10)))
                    .with_allow_http(cfg.allow_http);
                let mut b = AmazonS3Builder::from_env()
                    .with_bucket_name(&bucket)
                    .with_client_options(opts)
                    .with_retry(retry)
                    .with_allow_http(cfg.allow_http);
                if let Some(ep) = &cfg.endpoint {
                    b = b.with_endpoint(ep).with_virtual_hosted_style_request(false);
                }
                b = b.with_region(cfg.region.as_deref().unwrap_or("us-east-1"));
                let s3 = b.build().map_err(|e| setup(e.to_string()))?;
                Ok(Self::new(Arc::new(s3), &prefix, None))
            }
        }
    }

    /// Wrap any backend; objects go under `<prefix>/objects/`. `local_root` is the folder a
    /// `LocalFileSystem` backend is rooted at (`None` for any other backend): the vault then
    /// reads and writes object files there directly, under the same names.
    pub fn new(inner: Arc<dyn ObjectStore>, prefix: &str, local_root: Option<PathBuf>) -> Self {
        let root = if prefix.is_empty() {
            ObjPath::from("objects")
        } else {
            ObjPath::from(format!("{prefix}/objects"))
        };
        EvidenceStore {
            inner,
            root,
            local_root,
        }
    }

    /// The backend path of an object.
    pub fn object_path(&self, id: &ObjectId) -> ObjPath {
        self.root.clone().join(id.to_hex())
    }

    /// The file holding an object, when the backend is a local folder.
    fn local_file(&self, id: &ObjectId) -> Option<PathBuf> {
        self.local_root
            .as_ref()
            .map(|root| root.join(self.object_path(id).as_ref()))
    }

    /// Start a streaming write of a new object.
    pub async fn begin_upload(&self, id: ObjectId) -> Result<ObjectUpload, StoreError> {
        if let Some(dest) = self.local_file(&id) {
            let local = blocking(id, move || LocalUpload::start(id, dest)).await?;
            return Ok(ObjectUpload {
                id,
                kind: UploadKind::Local(local),
            });
        }
        let path = self.object_path(&id);
        let up = self
            .inner
            .put_multipart(&path)
            .await
            .map_err(|source| StoreError::Backend {
                op: "write",
                object: id.to_hex(),
                source,
            })?;
        Ok(ObjectUpload {
            id,
            kind: UploadKind::Remote(WriteMultipart::new_with_chunk_size(up, PART_SIZE)),
        })
    }

    /// Delete an object (missing is fine: deletion is idempotent).
    pub async fn delete(&self, id: &ObjectId) -> Result<(), StoreError> {
        match self.inner.delete(&self.object_path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(StoreError::Backend {
                op: "delete",
                object: id.to_hex(),
                source,
            }),
        }
    }

    /// Stored (ciphertext) size of an object.
    pub async fn stored_size(&self, id: &ObjectId) -> Result<u64, StoreError> {
        self.inner
            .head(&self.object_path(id))
            .await
            .map(|m| m.size)
            .map_err(|e| map_err("read", id, e))
    }

    /// Every object id present under `objects/`, with its stored size. Names that are not object
    /// ids are returned in the second list (the audit reports them).
    pub async fn list(&self) -> Result<(Vec<(ObjectId, u64)>, Vec<String>), StoreError> {
        let mut ids = Vec::new();
        let mut strays = Vec::new();
        let mut s = self.inner.list(Some(&self.root));
        while let Some(meta) = s.try_next().await.map_err(|source| StoreError::Backend {
            op: "list",
            object: self.root.to_string(),
            source,
        })? {
            match meta
                .location
                .filename()
                .and_then(|n| ObjectId::from_hex(n).ok())
            {
                Some(id) => ids.push((id, meta.size)),
                None => strays.push(meta.location.to_string()),
            }
        }
        Ok((ids, strays))
    }

    /// Unfinished local multipart files (`<object>#<n>`) left by a crash; empty on S3, where an
    /// unfinished multipart upload is never visible.
    pub fn local_partials(&self) -> Vec<PathBuf> {
        let Some(root) = &self.local_root else {
            return Vec::new();
        };
        let dir = root.join(self.root.as_ref());
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        rd.filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains('#'))
            })
            .collect()
    }

    /// Read, authenticate and decrypt plaintext bytes `range` of an object of `plaintext_len`
    /// bytes, as a stream of blocks. The header is checked first; each block is fetched while
    /// the previous one is decrypted, and no unauthenticated byte is ever yielded. On a local
    /// backend the blocks live in reused buffers: drop them once consumed.
    pub fn read_plaintext(
        &self,
        id: ObjectId,
        dek: DataKey,
        plaintext_len: u64,
        range: Range<u64>,
    ) -> Result<impl futures::Stream<Item = Result<Bytes, StoreError>> + Send + 'static, StoreError>
    {
        let opener =
            Arc::new(Opener::new(&dek, &Header::new(id), plaintext_len).map_err(corrupt(id))?);
        opener
            .plan_range(range.start, range.end)
            .map_err(corrupt(id))?;
        // Plaintext chunks aligned to segments, so each fetch is whole segments.
        let chunk = READ_CHUNK_SEGMENTS * u64::from(SEGMENT_SIZE);
        let mut chunks = Vec::new();
        let mut at = range.start;
        while at < range.end {
            let next = ((at / chunk) + 1) * chunk;
            chunks.push(at..next.min(range.end));
            at = next;
        }
        Ok(match self.local_file(&id) {
            Some(path) => read_local(id, path, opener, chunks).left_stream(),
            None => self.read_remote(id, opener, chunks).right_stream(),
        })
    }

    /// [`EvidenceStore::read_plaintext`] through `object_store` (S3).
    fn read_remote(
        &self,
        id: ObjectId,
        opener: Arc<Opener>,
        chunks: Vec<Range<u64>>,
    ) -> impl futures::Stream<Item = Result<Bytes, StoreError>> + Send + 'static {
        let (inner, path) = (self.inner.clone(), self.object_path(&id));
        let (head_inner, head_path, head_opener) = (inner.clone(), path.clone(), opener.clone());
        let header_check = async move {
            let b = head_inner
                .get_range(&head_path, 0..HEADER_LEN as u64)
                .await
                .map_err(|e| map_err("read", &id, e))?;
            head_opener.check_header(&b).map_err(corrupt(id))?;
            Ok::<Option<Bytes>, StoreError>(None)
        };
        let body = futures::stream::iter(chunks)
            .map(move |r| {
                let (inner, path, opener) = (inner.clone(), path.clone(), opener.clone());
                async move {
                    let plan = opener.plan_range(r.start, r.end).map_err(corrupt(id))?;
                    let ct = inner
                        .get_range(&path, plan.ciphertext_range())
                        .await
                        .map_err(|e| map_err("read", &id, e))?;
                    blocking(id, move || {
                        let mut out = Vec::with_capacity(plan.output_len() as usize);
                        opener
                            .open_range(&plan, &ct, &mut out)
                            .map_err(corrupt(id))?;
                        Ok(Bytes::from(out))
                    })
                    .await
                }
            })
            .buffered(2);
        futures::stream::once(header_check)
            .try_filter_map(|x| async move { Ok(x) })
            .chain(body)
    }

    /// Wrap the backend for tests and tools.
    pub fn backend(&self) -> Arc<dyn ObjectStore> {
        self.inner.clone()
    }
}

fn map_err(op: &'static str, id: &ObjectId, e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound {
            object: id.to_hex(),
        },
        source => StoreError::Backend {
            op,
            object: id.to_hex(),
            source,
        },
    }
}

/// Maps a format error on object `id` to [`StoreError::Corrupt`].
fn corrupt(id: ObjectId) -> impl Fn(SealError) -> StoreError + Copy {
    move |source| StoreError::Corrupt {
        object: id.to_hex(),
        source,
    }
}

/// Maps an I/O error of the direct local paths to [`StoreError::LocalIo`].
fn local_io(
    op: &'static str,
    id: ObjectId,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_owned();
    move |source| StoreError::LocalIo {
        op,
        object: id.to_hex(),
        path,
        source,
    }
}

/// Runs blocking work (file I/O, decryption) off the async threads.
async fn blocking<T: Send + 'static>(
    id: ObjectId,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| StoreError::Interrupted {
            object: id.to_hex(),
        })?
}

// ---------------------------------------------------------------------------------------------
// Reused buffers.

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

// ---------------------------------------------------------------------------------------------
// Local reads: positioned reads of the object file into reused buffers, decrypted in place.

/// [`EvidenceStore::read_plaintext`] on a local folder. `object_store`'s local `get_range`
/// opens the file and allocates a fresh zero-filled buffer per request; this opens the file
/// once, reads each chunk with one positioned read into a reused buffer and decrypts it where
/// it lies (`Opener::open_range_in_place`).
fn read_local(
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

// ---------------------------------------------------------------------------------------------
// Uploads.

/// A streaming write of one object. Dropping it without `finish` leaves no visible object.
pub struct ObjectUpload {
    id: ObjectId,
    kind: UploadKind,
}

enum UploadKind {
    /// `object_store` multipart (S3).
    Remote(WriteMultipart),
    /// One staging file in a local folder, written by its own thread.
    Local(LocalUpload),
}

impl ObjectUpload {
    /// Queue sealed bytes, waiting while two parts are already in flight (bounded memory).
    pub async fn put(&mut self, sealed: Bytes) -> Result<(), StoreError> {
        match &mut self.kind {
            UploadKind::Remote(writer) => {
                writer
                    .wait_for_capacity(2)
                    .await
                    .map_err(|source| StoreError::Backend {
                        op: "write",
                        object: self.id.to_hex(),
                        source,
                    })?;
                writer.put(sealed);
                Ok(())
            }
            UploadKind::Local(local) => local.put(self.id, sealed).await,
        }
    }

    /// Complete the object: durable (fsync'd file and folder on local disk) when this returns.
    pub async fn finish(self) -> Result<(), StoreError> {
        let id = self.id;
        match self.kind {
            UploadKind::Remote(writer) => {
                writer
                    .finish()
                    .await
                    .map(|_| ())
                    .map_err(|source| StoreError::Backend {
                        op: "write",
                        object: id.to_hex(),
                        source,
                    })
            }
            UploadKind::Local(local) => local.finish(id).await,
        }
    }

    /// Abandon the object.
    pub async fn abort(self) {
        match self.kind {
            UploadKind::Remote(writer) => {
                let _ = writer.abort().await;
            }
            UploadKind::Local(local) => local.abort(self.id).await,
        }
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
struct LocalUpload {
    tx: Option<tokio::sync::mpsc::Sender<LocalMsg>>,
    done: Option<tokio::sync::oneshot::Receiver<Result<(), StoreError>>>,
}

impl LocalUpload {
    /// Create the staging file and start its writer thread (blocking).
    fn start(id: ObjectId, dest: PathBuf) -> Result<Self, StoreError> {
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

    async fn put(&mut self, id: ObjectId, sealed: Bytes) -> Result<(), StoreError> {
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

    async fn finish(mut self, id: ObjectId) -> Result<(), StoreError> {
        if let Some(tx) = self.tx.take() {
            // A failed send means the writer already stopped; its outcome says why.
            let _ = tx.send(LocalMsg::Finish).await;
        }
        self.outcome(id).await
    }

    /// The writer sees its channel close without `Finish` and removes the staging file; wait
    /// for that, so nothing is left when this returns.
    async fn abort(mut self, id: ObjectId) {
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

// ---------------------------------------------------------------------------------------------
// Sealing.

/// Seals plaintext into the object format, header first. CPU only: run it on a worker thread.
pub struct ObjectSealer {
    sealer: Sealer,
    header: Option<[u8; HEADER_LEN]>,
}

impl ObjectSealer {
    /// A sealer for object `id`; it consumes the data key (one key seals one object).
    pub fn new(dek: DataKey, id: ObjectId) -> Result<Self, SealError> {
        let header = Header::new(id);
        Ok(ObjectSealer {
            header: Some(header.encode()),
            sealer: Sealer::new(dek, &header)?,
        })
    }

    /// Seal one block (a multiple of the segment size unless `last`); the first call also emits the header.
    pub fn seal(&mut self, block: &[u8], last: bool) -> Result<Bytes, SealError> {
        let mut out = Vec::with_capacity(sealed_capacity(block.len()));
        self.seal_into(block, last, &mut out)?;
        Ok(Bytes::from(out))
    }

    /// [`ObjectSealer::seal`], appending to `out` (a reused buffer allocates nothing once it is
    /// large enough). On error `out` may have gained the header, never a segment of `block`.
    pub fn seal_into(
        &mut self,
        block: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        out.reserve(sealed_capacity(block.len()));
        if let Some(h) = self.header.take() {
            out.extend_from_slice(&h);
        }
        self.sealer.seal_block(block, last, out)
    }
}

/// Room for the header and a sealed block of `plaintext` bytes.
pub fn sealed_capacity(plaintext: usize) -> usize {
    let segments = (plaintext / SEGMENT_SIZE as usize) + 1;
    HEADER_LEN + plaintext + segments * custos_seal::TAG_LEN
}
