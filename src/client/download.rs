//! Downloading evidence to a file: streamed into a private (0600) temporary file beside the
//! output, hashed on the way, checked (length; for a full read the `Repr-Digest` SHA-256 of
//! RFC 9530; for a range the `Content-Range`), and renamed into place only when good. The
//! output is never left half-written or wrong: any failure, or Ctrl-C, removes the temporary file.

use super::api::{RemoteError, Session, check, clean, transport_reason};
use crate::progress::Progress;
use base64::Engine as _;
use custos_core::Sha256Hash;
use reqwest::{Method, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use url::Url;

/// A download that failed; the output was not written.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The output exists already.
    #[error("{} exists already: choose a new output file", path.display())]
    OutputExists {
        /// The output.
        path: PathBuf,
    },
    /// Writing the temporary file or renaming it failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The output.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The server refused, or the request failed before the body.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The connection dropped during the body.
    #[error(
        "the download from {server} was cut off after {got} of {expected} bytes ({reason}); {} was not written: run the command again",
        path.display()
    )]
    Lost {
        /// Base URL.
        server: String,
        /// The output.
        path: PathBuf,
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        expected: u64,
        /// Why.
        reason: String,
    },
    /// The body has another length than announced.
    #[error(
        "the server announced {expected} bytes but sent {got}; {} was not written",
        path.display()
    )]
    Length {
        /// The output.
        path: PathBuf,
        /// Announced.
        expected: u64,
        /// Received.
        got: u64,
    },
    /// The headers are missing or inconsistent.
    #[error("the server's answer cannot be checked: {reason}; nothing was written")]
    Headers {
        /// What is wrong.
        reason: String,
    },
    /// The content does not hash to the announced SHA-256.
    #[error(
        "the content received has SHA-256 {actual} but the server announced {expected} (Repr-Digest); {} was not written",
        path.display()
    )]
    Digest {
        /// The output.
        path: PathBuf,
        /// Announced.
        expected: Sha256Hash,
        /// Received.
        actual: Sha256Hash,
    },
    /// Interrupted by Ctrl-C.
    #[error("interrupted; {} was not written", path.display())]
    Interrupted {
        /// The output.
        path: PathBuf,
    },
}

/// What arrived in the response headers, before the body is read.
pub struct Incoming {
    resp: Response,
    /// The index of the custody event the server recorded before sending (`Custody-Event`).
    pub event: Option<u64>,
    /// Body length (`Content-Length`).
    pub length: u64,
    /// The item's SHA-256 (`Repr-Digest`), on full reads.
    pub digest: Option<Sha256Hash>,
    /// `(start, end inclusive, item size)` from `Content-Range`, on range reads.
    pub range: Option<(u64, u64, u64)>,
}

/// A written, checked download.
#[derive(Debug)]
pub struct Downloaded {
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of the bytes written.
    pub sha256: Sha256Hash,
    /// Whether they equal the announced digest of the whole item (full reads).
    pub verified: bool,
}

/// Send the GET (with `Range: bytes=A-B` when `range` is given) and check the headers: 200
/// with `Repr-Digest: sha-256=:…:` for a full read, 206 with a `Content-Range` that starts at A
/// and ends no later than B for a range. Refuses at once when `out` exists.
pub async fn start(
    s: &Session,
    url: Url,
    range: Option<(u64, u64)>,
    out: &Path,
) -> Result<Incoming, DownloadError> {
    if out.exists() {
        return Err(DownloadError::OutputExists {
            path: out.to_owned(),
        });
    }
    let what = format!("GET {}", url.path());
    let mut req = s.request(Method::GET, url);
    if let Some((a, b)) = range {
        req = req.header(reqwest::header::RANGE, format!("bytes={a}-{b}"));
    }
    let resp = req.send().await.map_err(|e| s.transport(e, &what))?;
    let resp = check(resp, &what).await?;
    let bad = |reason: String| DownloadError::Headers { reason };
    let h = resp.headers();
    let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let length: u64 = header("content-length")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("no Content-Length".into()))?;
    let event = header("custody-event").and_then(|v| v.parse().ok());
    let (digest, got_range) = match range {
        None => {
            if resp.status() != StatusCode::OK {
                return Err(bad(format!(
                    "HTTP {} to a full read",
                    resp.status().as_u16()
                )));
            }
            let d = header("repr-digest").ok_or_else(|| bad("no Repr-Digest".into()))?;
            (
                Some(parse_repr_digest(d).ok_or_else(|| {
                    bad(format!("Repr-Digest {:?} has no sha-256", clean(d, 120)))
                })?),
                None,
            )
        }
        Some((a, b)) => {
            if resp.status() != StatusCode::PARTIAL_CONTENT {
                return Err(bad(format!(
                    "HTTP {} to a range read",
                    resp.status().as_u16()
                )));
            }
            let cr = header("content-range").ok_or_else(|| bad("no Content-Range".into()))?;
            let r = parse_content_range(cr)
                .ok_or_else(|| bad(format!("Content-Range {:?} is malformed", clean(cr, 120))))?;
            if r.0 != a
                || r.1 > b
                || r.1.checked_sub(r.0).and_then(|d| d.checked_add(1)) != Some(length)
            {
                return Err(bad(format!(
                    "asked for bytes {a}-{b}, got Content-Range {:?} with {length} bytes",
                    clean(cr, 120)
                )));
            }
            (None, Some(r))
        }
    };
    Ok(Incoming {
        resp,
        event,
        length,
        digest,
        range: got_range,
    })
}

/// `sha-256=:<base64>:` from a `Repr-Digest` field (RFC 9530 §3), among other algorithms.
pub fn parse_repr_digest(v: &str) -> Option<Sha256Hash> {
    v.split(',').find_map(|m| {
        let (k, val) = m.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("sha-256") {
            return None;
        }
        let b = val.trim().strip_prefix(':')?.strip_suffix(':')?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
        Some(Sha256Hash(raw.try_into().ok()?))
    })
}

/// `bytes START-END/SIZE` (RFC 9110 §14.4) with START <= END < SIZE.
pub fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (span, size) = rest.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (a, b, size) = (num(a)?, num(b)?, num(size)?);
    (a <= b && b < size).then_some((a, b, size))
}

impl Incoming {
    /// Stream the body into a private temporary file beside `out`, check it, and rename it
    /// to `out`. On any failure (or Ctrl-C) the temporary file is removed.
    pub async fn save(
        self,
        s: &Session,
        out: &Path,
        progress: &Progress,
    ) -> Result<Downloaded, DownloadError> {
        let write_err = |source| DownloadError::Write {
            path: out.to_owned(),
            source,
        };
        let (tmp, file) = crate::export::private_temp_beside(out).map_err(write_err)?;
        let result = tokio::select! {
            r = self.copy_checked(s, out, tokio::fs::File::from_std(file), progress) => r,
            _ = tokio::signal::ctrl_c() => Err(DownloadError::Interrupted { path: out.to_owned() }),
        };
        progress.finish();
        let finish = match result {
            Ok(d) => {
                // No clobbering: an output that appeared meanwhile is kept.
                if out.exists() {
                    Err(DownloadError::OutputExists {
                        path: out.to_owned(),
                    })
                } else {
                    std::fs::rename(&tmp, out).map(|_| d).map_err(write_err)
                }
            }
            Err(e) => Err(e),
        };
        match finish {
            Ok(d) => {
                if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                    let _ = std::fs::File::open(parent).and_then(|f| f.sync_all());
                }
                Ok(d)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    async fn copy_checked(
        mut self,
        s: &Session,
        out: &Path,
        mut file: tokio::fs::File,
        progress: &Progress,
    ) -> Result<Downloaded, DownloadError> {
        let write_err = |source| DownloadError::Write {
            path: out.to_owned(),
            source,
        };
        progress.set_length(self.length);
        let bar = progress.counter();
        let mut hasher = Sha256::new();
        let mut got: u64 = 0;
        loop {
            let chunk = match self.resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    return Err(DownloadError::Lost {
                        server: s.server(),
                        path: out.to_owned(),
                        got,
                        expected: self.length,
                        reason: transport_reason(&e),
                    });
                }
            };
            got = got.saturating_add(chunk.len() as u64);
            if got > self.length {
                break;
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(write_err)?;
            bar.inc(chunk.len() as u64);
        }
        if got != self.length {
            return Err(DownloadError::Length {
                path: out.to_owned(),
                expected: self.length,
                got,
            });
        }
        file.flush().await.map_err(write_err)?;
        file.sync_all().await.map_err(write_err)?;
        let sha256 = Sha256Hash(hasher.finalize().into());
        if let Some(expected) = self.digest
            && expected != sha256
        {
            return Err(DownloadError::Digest {
                path: out.to_owned(),
                expected,
                actual: sha256,
            });
        }
        Ok(Downloaded {
            bytes: got,
            sha256,
            verified: self.digest.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_digest_is_parsed_strictly() {
        let h = Sha256Hash::digest(b"x");
        let b = base64::engine::general_purpose::STANDARD.encode(h.0);
        assert_eq!(parse_repr_digest(&format!("sha-256=:{b}:")), Some(h));
        assert_eq!(
            parse_repr_digest(&format!("sha-512=:AAAA:, SHA-256=:{b}:")),
            Some(h)
        );
        for bad in [
            String::new(),
            format!("sha-256={b}"),
            "sha-256=:AAAA:".to_string(),
            format!("sha-1=:{b}:"),
            "sha-256=::".to_string(),
        ] {
            assert_eq!(parse_repr_digest(&bad), None, "{bad}");
        }
    }

    #[test]
    fn content_range_is_parsed_strictly() {
        assert_eq!(parse_content_range("bytes 0-9/100"), Some((0, 9, 100)));
        assert_eq!(parse_content_range("bytes 99-99/100"), Some((99, 99, 100)));
        for bad in [
            "bytes 9-0/100",
            "bytes 0-100/100",
            "bytes */100",
            "bytes 0-9/*",
            "items 0-9/100",
            "bytes +1-2/100",
            "bytes 0-18446744073709551616/1",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_existing_output_is_refused_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.bin");
        std::fs::write(&out, b"keep me").unwrap();
        // Port 9 on loopback: nothing listens, but no request is made anyway.
        let s = Session::new(
            super::super::api::parse_server("http://127.0.0.1:9").unwrap(),
            None,
            None,
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt.block_on(start(&s, s.url(&["x"]), None, &out));
        assert!(matches!(r, Err(DownloadError::OutputExists { .. })));
        assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    }
}
