//! Serving evidence content over HTTP: byte ranges (RFC 9110 §14), custody first.
//!
//! The caller's access event is appended and durable before the first byte is decrypted; if
//! the log cannot be written, nothing is served. Each streamed block is authenticated before it
//! is sent (segmented AES-GCM), and a full read carries `Repr-Digest` (RFC 9530) with the
//! item's SHA-256 so that the client can check what it received.

use super::AppState;
use super::problem::ApiError;
use super::routes::items::ItemView;
use crate::custody::{EventDraft, Receipt};
use crate::export::{ItemRow, item_data_key};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use custos_core::jcs::Value;
use futures::StreamExt;
use std::sync::Arc;

/// A parsed `Range` header: an inclusive byte range within the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
}

/// Parse a `Range` header against an item of `size` bytes. `Ok(None)`: no header (the whole
/// item). Syntax errors, inverted ranges, several ranges and ranges beyond the end are all
/// refused with 416 naming the item's size, rather than silently ignored.
pub fn parse_range(headers: &HeaderMap, size: u64) -> Result<Option<ByteRange>, ApiError> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let bad = |why: &str| {
        ApiError::new(
            "range-not-satisfiable",
            format!(
                "{why}; the item is {size} bytes: use Range: bytes=START-END (inclusive, END < {size})"
            ),
        )
    };
    let text = v
        .to_str()
        .map_err(|_| bad("the Range header is not ASCII"))?;
    let spec = text
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(|| bad("only byte ranges are served"))?;
    if spec.contains(',') {
        return Err(bad("one range per request"));
    }
    let (a, b) = spec
        .split_once('-')
        .ok_or_else(|| bad("a range is START-END"))?;
    let num = |s: &str| -> Result<u64, ApiError> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("range bounds must be decimal numbers"));
        }
        s.parse().map_err(|_| bad("range bound too large"))
    };
    let r = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n = num(suffix)?;
            if n == 0 || size == 0 {
                return Err(bad("an empty suffix range"));
            }
            ByteRange {
                start: size.saturating_sub(n),
                end: size - 1,
            }
        }
        (s, "") => {
            let start = num(s)?;
            if start >= size {
                return Err(bad("the range starts past the end"));
            }
            ByteRange {
                start,
                end: size - 1,
            }
        }
        (s, e) => {
            let (start, end) = (num(s)?, num(e)?);
            if start > end {
                return Err(bad("the range is inverted (START > END)"));
            }
            if start >= size {
                return Err(bad("the range starts past the end"));
            }
            ByteRange {
                start,
                end: end.min(size - 1),
            }
        }
    };
    Ok(Some(r))
}

/// How the content is delivered (recorded in the event and shaping the headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A download: `Content-Disposition: attachment`.
    Download,
    /// Read in place (view-only disclosure): `inline`, never cached.
    View,
}

/// Record `draft` (with the range and delivery added to its details), then stream the item.
pub async fn serve(
    st: &Arc<AppState>,
    item: &ItemView,
    range: Option<ByteRange>,
    delivery: Delivery,
    mut draft: EventDraft,
) -> Result<Response, ApiError> {
    let row = item.row();
    let (vault_dir, item_row) = (st.clone(), row.clone());
    let dek = st
        .db
        .run(move |c| item_data_key(&vault_dir.vault, c, &item_row).map_err(export_err))
        .await?;
    let mut details = match draft.details {
        Value::Object(m) => m.into_iter().collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    details.push((
        "delivery".into(),
        Value::String(
            match delivery {
                Delivery::Download => "download",
                Delivery::View => "view",
            }
            .into(),
        ),
    ));
    if let Some(r) = range {
        details.push((
            "range".into(),
            Value::object(vec![
                ("start", Value::Int(r.start as i64)),
                ("end", Value::Int(r.end as i64)),
            ]),
        ));
    }
    draft.details = Value::object(details);
    // Custody first: no byte is decrypted before this event is durable.
    let receipt: Receipt = st.vault.sequencer.append(draft).await?;
    respond(st, &row, range, delivery, dek, &receipt)
}

/// Stream an item whose custody event (`receipt`) is already durable, with the headers every
/// content read carries. Callers record first: [`serve`] appends the event itself; a counted
/// disclosure download appends it in the transaction that counts the download.
pub fn respond(
    st: &Arc<AppState>,
    row: &ItemRow,
    range: Option<ByteRange>,
    delivery: Delivery,
    dek: custos_seal::DataKey,
    receipt: &Receipt,
) -> Result<Response, ApiError> {
    let (start, end_excl) = match range {
        Some(r) => (r.start, r.end.saturating_add(1)),
        None => (0, row.size),
    };
    let stream = st
        .vault
        .store
        .read_plaintext(row.object, dek, row.size, start..end_excl)
        .map_err(|e| {
            tracing::error!(error = %e, "cannot read an object");
            ApiError::unavailable("the evidence store cannot be read")
        })?;
    let item_id = row.id.to_string();
    let body = Body::from_stream(stream.map(move |r| {
        r.map_err(|e| {
            // The connection is cut: the client sees a short body, never unauthenticated bytes.
            tracing::error!(item = %item_id, error = %e, "evidence read failed mid-stream");
            std::io::Error::other("evidence read failed")
        })
    }));
    let len = end_excl.saturating_sub(start);
    st.metrics.downloaded(len);
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    let disposition = match delivery {
        Delivery::Download => format!("attachment; filename=\"{}.bin\"", row.id),
        Delivery::View => "inline".to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert("custody-event", HeaderValue::from(receipt.index));
    if range.is_some() {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        let cr = format!("bytes {start}-{}/{}", end_excl.saturating_sub(1), row.size);
        if let Ok(v) = HeaderValue::from_str(&cr) {
            resp.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    } else {
        let digest = format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(row.sha256.0)
        );
        if let Ok(v) = HeaderValue::from_str(&digest) {
            resp.headers_mut().insert("repr-digest", v);
        }
    }
    Ok(resp)
}

fn export_err(e: crate::export::ExportError) -> ApiError {
    tracing::error!(error = %e, "cannot unwrap an item's key");
    ApiError::unavailable("the item's key cannot be read")
}

impl ItemView {
    /// The fields the store needs.
    pub fn row(&self) -> ItemRow {
        ItemRow {
            id: self.id.clone(),
            case: self.case.clone(),
            sha256: self.sha256_hash,
            size: self.size,
            object: self.object,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str, size: u64) -> Result<Option<ByteRange>, ApiError> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
        parse_range(&h, size)
    }

    #[test]
    fn ranges() {
        let r = |s, e| Ok(Some(ByteRange { start: s, end: e }));
        assert_eq!(range("bytes=0-9", 100), r(0, 9));
        assert_eq!(range("bytes=90-", 100), r(90, 99));
        assert_eq!(range("bytes=-10", 100), r(90, 99));
        assert_eq!(range("bytes=-1000", 100), r(0, 99));
        assert_eq!(range("bytes=50-1000", 100), r(50, 99));
        for bad in [
            "bytes=9-0",
            "bytes=100-",
            "bytes=100-200",
            "bytes=a-b",
            "bytes=-0",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=",
            "bytes=--1",
            "bytes=+1-2",
            "bytes=1",
        ] {
            let e = range(bad, 100).unwrap_err();
            assert_eq!(e.status, StatusCode::RANGE_NOT_SATISFIABLE, "{bad}");
        }
        assert!(range("bytes=0-0", 0).is_err());
        assert_eq!(parse_range(&HeaderMap::new(), 5), Ok(None));
    }
}
