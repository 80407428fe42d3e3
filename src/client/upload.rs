//! Uploading evidence: the file is streamed from disk with its `Content-Length` (never read
//! into memory), hashed while it is sent, and the server's acknowledgement is checked against
//! what was sent: same SHA-256 and size, a receipt whose inclusion proof verifies against a
//! checkpoint signed by the log key, and a signed ingest event that names this content.

use super::api::{KeySource, RemoteError, Session};
use super::receipt::{self, EventJson, ReceiptError, ReceiptJson};
use crate::progress::Progress;
use custos_core::Sha256Hash;
use custos_core::event::Action;
use futures::StreamExt;
use reqwest::Method;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;

/// Read size of the upload stream.
const CHUNK: usize = 1 << 20;

/// What to tell the server about the upload (query parameters of `POST /v1/cases/{case}/items`).
#[derive(Debug, Default, Clone)]
pub struct UploadOptions {
    /// Description.
    pub description: Option<String>,
    /// Expected SHA-256 (hex).
    pub expect_sha256: Option<String>,
    /// Expected SHA-1 (hex).
    pub expect_sha1: Option<String>,
    /// Expected MD5 (hex).
    pub expect_md5: Option<String>,
    /// Compute MD5 and SHA-1 too.
    pub legacy_hashes: bool,
    /// Acquisition tool.
    pub tool: Option<String>,
    /// Acquisition method.
    pub method: Option<String>,
}

/// The acknowledgement of an upload, as the server sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestAck {
    /// The item.
    pub item: String,
    /// Case.
    pub case: String,
    /// SHA-256 (hex).
    pub sha256: String,
    /// SHA-1 (hex), when computed.
    pub sha1: Option<String>,
    /// MD5 (hex), when computed.
    pub md5: Option<String>,
    /// Size.
    pub size: u64,
    /// The case already held this content.
    pub duplicate: bool,
    /// The custody receipt.
    pub receipt: ReceiptJson,
}

/// A checked upload.
#[derive(Debug)]
pub struct Uploaded {
    /// The acknowledgement exactly as received (printed by `--json`).
    pub raw: serde_json::Value,
    /// The acknowledgement.
    pub ack: IngestAck,
    /// Where the key that verified the receipt came from.
    pub key_source: KeySource,
    /// The verified checkpoint's origin.
    pub origin: String,
}

/// An upload that failed or whose acknowledgement does not check out.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file cannot be opened or is not a regular file.
    #[error("cannot read {}: {reason}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Reading the file failed part-way.
    #[error(
        "reading {} failed after {sent} of {size} bytes: {reason}; the server keeps nothing from an incomplete upload",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Bytes sent.
        sent: u64,
        /// Size announced.
        size: u64,
        /// Why.
        reason: String,
    },
    /// The file shrank while it was sent.
    #[error(
        "{} shrank while it was sent ({sent} of {size} bytes); the server keeps nothing from an incomplete upload: send it again once the file is stable",
        path.display()
    )]
    Shrank {
        /// The file.
        path: PathBuf,
        /// Bytes sent.
        sent: u64,
        /// Size announced.
        size: u64,
    },
    /// The connection dropped during the upload.
    #[error(
        "the connection to {server} was lost after {sent} of {size} bytes of {} were sent ({reason}); nothing was acknowledged. Running the same command again is safe: the server keeps one item per content within a case, so if this upload did arrive, the new one is recorded on the same item (marked duplicate)",
        path.display()
    )]
    Lost {
        /// The file.
        path: PathBuf,
        /// Base URL.
        server: String,
        /// Bytes handed to the connection.
        sent: u64,
        /// Size.
        size: u64,
        /// Why.
        reason: String,
    },
    /// The server refused, or another request failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The acknowledgement names other content than was sent.
    #[error(
        "the server acknowledged item {item} with SHA-256 {acked} and {acked_size} bytes, but the file sent has SHA-256 {sent} and {sent_size} bytes: do not rely on this item; report it to the vault's administrator"
    )]
    Mismatch {
        /// Item.
        item: String,
        /// The server's hash.
        acked: String,
        /// The server's size.
        acked_size: u64,
        /// The hash of what was sent.
        sent: Sha256Hash,
        /// Bytes sent.
        sent_size: u64,
    },
    /// The receipt or the ingest event does not verify.
    #[error("the server's custody receipt for item {item} does not check out: {source}")]
    Receipt {
        /// Item.
        item: String,
        /// Why.
        source: ReceiptError,
    },
}

#[derive(Default)]
struct Tally {
    hasher: Sha256,
    sent: u64,
    read_error: Option<String>,
}

fn lock(t: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    t.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Upload `path` into `case` and check the acknowledgement.
pub async fn upload(
    s: &Session,
    case: &str,
    path: &Path,
    opts: &UploadOptions,
    progress: &Progress,
) -> Result<Uploaded, UploadError> {
    s.require_token()?;
    let open_err = |reason: String| UploadError::Open {
        path: path.to_owned(),
        reason,
    };
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| open_err(e.to_string()))?;
    let meta = file.metadata().await.map_err(|e| open_err(e.to_string()))?;
    if !meta.is_file() {
        return Err(open_err("not a regular file".into()));
    }
    let size = meta.len();
    // Fail before sending gigabytes when the case is unknown or not visible.
    let _: serde_json::Value = s.get_json(&["v1", "cases", case], &[]).await?;

    let mut url = s.url(&["v1", "cases", case, "items"]);
    {
        let mut q = url.query_pairs_mut();
        if let Some(n) = path.file_name().and_then(|n| n.to_str()) {
            q.append_pair("file_name", n);
        }
        let pairs = [
            ("description", &opts.description),
            ("expect_sha256", &opts.expect_sha256),
            ("expect_sha1", &opts.expect_sha1),
            ("expect_md5", &opts.expect_md5),
            ("tool", &opts.tool),
            ("method", &opts.method),
        ];
        for (k, v) in pairs {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        if opts.legacy_hashes {
            q.append_pair("legacy_hashes", "true");
        }
    }
    let what = format!("POST {}", url.path());

    let tally = Arc::new(Mutex::new(Tally::default()));
    let (t, bar) = (tally.clone(), progress.counter());
    progress.set_length(size);
    // `take`: a file that grows while it is sent is cut at the announced length.
    let body = tokio_util::io::ReaderStream::with_capacity(file.take(size), CHUNK).map(move |r| {
        let mut g = lock(&t);
        match &r {
            Ok(b) => {
                g.hasher.update(b);
                g.sent += b.len() as u64;
                bar.inc(b.len() as u64);
            }
            Err(e) => g.read_error = Some(e.to_string()),
        }
        r
    });
    let req = s
        .request(Method::POST, url)
        .header(reqwest::header::CONTENT_LENGTH, size)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body));
    let sent_result = req.send().await;
    progress.finish();
    let (sent, read_error) = {
        let g = lock(&tally);
        (g.sent, g.read_error.clone())
    };
    let failed = |reason: String| -> UploadError {
        if let Some(reason) = read_error.clone() {
            UploadError::Read {
                path: path.to_owned(),
                sent,
                size,
                reason,
            }
        } else if sent < size && meta_shrank(path, size) {
            UploadError::Shrank {
                path: path.to_owned(),
                sent,
                size,
            }
        } else {
            UploadError::Lost {
                path: path.to_owned(),
                server: s.server(),
                sent,
                size,
                reason,
            }
        }
    };
    let resp = match sent_result {
        Ok(r) => r,
        Err(e) if e.is_connect() => return Err(s.transport(e, &what).into()),
        Err(e) => return Err(failed(super::api::transport_reason(&e))),
    };
    let resp = match super::api::check(resp, &what).await {
        Ok(r) => r,
        Err(RemoteError::Problem { code, .. })
            if code == "upload-incomplete" && (read_error.is_some() || sent < size) =>
        {
            return Err(failed(
                "the server received less than the announced length".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let raw: serde_json::Value = s.json(resp, &what).await?;
    let ack: IngestAck =
        serde_json::from_value(raw.clone()).map_err(|e| RemoteError::BadAnswer {
            what: what.clone(),
            reason: e.to_string(),
        })?;
    let sent_hash = Sha256Hash(lock(&tally).hasher.clone().finalize().into());
    if ack.sha256 != sent_hash.to_hex() || ack.size != sent || sent != size {
        return Err(UploadError::Mismatch {
            item: ack.item.clone(),
            acked: ack.sha256.clone(),
            acked_size: ack.size,
            sent: sent_hash,
            sent_size: sent,
        });
    }
    let (key_source, origin) = check_ack(s, &ack, &sent_hash).await?;
    Ok(Uploaded {
        raw,
        ack,
        key_source,
        origin,
    })
}

/// Whether `path` is now shorter than `size` (the file changed under the upload).
fn meta_shrank(path: &Path, size: u64) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() < size)
}

/// Verify the receipt against the log key, then the ingest event it is for: signed, hashing
/// to the receipt's leaf, recording an ingest of this item with the SHA-256 that was sent,
/// and chained into the item's custody chain.
async fn check_ack(
    s: &Session,
    ack: &IngestAck,
    sent: &Sha256Hash,
) -> Result<(KeySource, String), UploadError> {
    let bad = |source| UploadError::Receipt {
        item: ack.item.clone(),
        source,
    };
    let (key, source) = s.log_key().await?;
    let cp = receipt::verify_receipt(&ack.receipt, &key).map_err(bad)?;
    let events: Vec<EventJson> = s
        .get_json(&["v1", "items", &ack.item, "events"], &[])
        .await?;
    let decoded = receipt::verify_item_chain(&events, &key).map_err(bad)?;
    let index = ack.receipt.index;
    let (event, decoded) = events
        .iter()
        .zip(&decoded)
        .find(|(e, _)| e.index == index)
        .ok_or_else(|| bad(ReceiptError::Missing { index }))?;
    if event.leaf_hash != ack.receipt.leaf_hash {
        return Err(bad(ReceiptError::LeafHash { index }));
    }
    receipt::check_event_records(decoded, Action::Ingest, &ack.item, sent).map_err(bad)?;
    Ok((source, cp.origin))
}
