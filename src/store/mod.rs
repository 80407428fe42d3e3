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
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod local;
mod pool;

use local::{LocalUpload, read_local};
pub use pool::{BufferPool, PooledBuf};

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

    /// Seal a block where it lies: `room` is the block's stored form with plaintext in it,
    /// `HEADER_LEN` bytes of room for the header, then each segment followed by room for its
    /// tag (`ingest::Block`). Returns the range of `room` to store: from the header for the
    /// object's first block, from the first segment for the others.
    pub fn seal_in_place(
        &mut self,
        room: &mut [u8],
        plain_len: usize,
        last: bool,
    ) -> Result<std::ops::Range<usize>, SealError> {
        let found = room.len();
        let (head, body) = room
            .split_at_mut_checked(HEADER_LEN)
            .ok_or(SealError::BlockRoom {
                needed: HEADER_LEN,
                found,
            })?;
        let sealed = self.sealer.seal_block_in_place(body, plain_len, last)?;
        let start = match self.header.take() {
            Some(h) => {
                head.copy_from_slice(&h);
                0
            }
            None => HEADER_LEN,
        };
        Ok(start..HEADER_LEN + sealed)
    }
}

/// Room for the header and a sealed block of `plaintext` bytes.
pub fn sealed_capacity(plaintext: usize) -> usize {
    let segments = (plaintext / SEGMENT_SIZE as usize) + 1;
    HEADER_LEN + plaintext + segments * custos_seal::TAG_LEN
}
