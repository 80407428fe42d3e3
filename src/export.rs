//! Export (`custos get`): decrypt an item, or a byte range of it, to a file.
//!
//! The export event is made durable in the custody log before the first evidence byte is
//! decrypted; if the log cannot be written, nothing leaves. The plaintext goes to a hidden
//! temporary file beside the destination, and only a fully verified copy (SHA-256 equal to the
//! item's identity; every segment authenticated for ranges) is renamed into place.

use crate::custody::{EventDraft, LogError, Receipt};
use crate::db::{DbError, SqlContext};
use crate::ids::ItemId;
use crate::progress::Progress;
use crate::store::StoreError;
use crate::vault::Vault;
use custos_core::Sha256Hash;
use custos_core::event::{Action, Actor, ItemRef};
use custos_core::jcs::Value;
use custos_seal::{ObjectId, WrappedKey};
use futures::StreamExt;
use rusqlite::OptionalExtension;
use sha2::Digest;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A stored item, as the database describes it.
#[derive(Debug, Clone)]
pub struct ItemRow {
    /// Id.
    pub id: ItemId,
    /// Case name.
    pub case: String,
    /// Plaintext SHA-256.
    pub sha256: Sha256Hash,
    /// Plaintext size.
    pub size: u64,
    /// Object id.
    pub object: ObjectId,
}

/// Export errors.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No such item.
    #[error("no item {item} in this vault; list items with `custos log`")]
    UnknownItem {
        /// The id given.
        item: String,
    },
    /// The range is empty, inverted or beyond the item.
    #[error(
        "invalid range {start}-{end} for item {item} of {size} bytes: give START-END with START <= END < {size}"
    )]
    BadRange {
        /// Item.
        item: ItemId,
        /// Start given.
        start: u64,
        /// End given (inclusive).
        end: u64,
        /// Item size.
        size: u64,
    },
    /// The destination exists.
    #[error("{path} already exists; choose another output path")]
    OutputExists {
        /// Destination.
        path: PathBuf,
    },
    /// Writing the output failed.
    #[error("cannot write {path}: {source}; no output was left")]
    Output {
        /// Destination.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The item's data key was destroyed or is missing.
    #[error("item {item} has no data key (destroyed or missing); its content cannot be read")]
    NoKey {
        /// Item.
        item: ItemId,
    },
    /// The decrypted content does not hash to the item's identity.
    #[error(
        "item {item} failed verification: SHA-256 of the content is {actual}, its identity is {expected}; no output was left"
    )]
    HashMismatch {
        /// Item.
        item: ItemId,
        /// Identity.
        expected: Sha256Hash,
        /// Computed.
        actual: Sha256Hash,
    },
    /// The object could not be read or authenticated.
    #[error("item {item}: {source}; no output was left")]
    Store {
        /// Item.
        item: ItemId,
        /// Storage error.
        source: Box<StoreError>,
    },
    /// Key problem.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The access could not be logged, so nothing was read.
    #[error("the export could not be recorded in the custody log ({0}); nothing was read")]
    Log(#[from] LogError),
    /// Database problem.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Look up an item by id.
pub fn find_item(conn: &rusqlite::Connection, id: &ItemId) -> Result<Option<ItemRow>, DbError> {
    conn.query_row(
        "SELECT i.sha256, i.size, i.object_id, c.name FROM items i JOIN cases c ON c.id = i.case_id WHERE i.id = ?1",
        [id.as_str()],
        |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?, r.get::<_, String>(3)?)),
    )
    .optional()
    .doing("looking up the item")?
    .map(|(h, size, obj, case)| {
        let bad = || DbError::Sql { doing: "decoding the item row", source: rusqlite::Error::InvalidQuery };
        Ok(ItemRow {
            id: id.clone(),
            case,
            sha256: Sha256Hash(h.try_into().map_err(|_| bad())?),
            size: size as u64,
            object: ObjectId(obj.try_into().map_err(|_| bad())?),
        })
    })
    .transpose()
}

/// Unwrap the data key of `row`'s object with the master key that wrapped it.
pub fn item_data_key(
    vault: &Vault,
    conn: &rusqlite::Connection,
    row: &ItemRow,
) -> Result<custos_seal::DataKey, ExportError> {
    let item = &row.id;
    let key: Option<(u32, Vec<u8>)> = conn
        .query_row(
            "SELECT master_key_id, wrapped FROM object_keys WHERE object_id = ?1",
            [&row.object.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .doing("reading the item's key")?;
    let (master_id, wrapped) = key.ok_or_else(|| ExportError::NoKey { item: item.clone() })?;
    let wrapped = WrappedKey(
        wrapped
            .try_into()
            .map_err(|_| ExportError::NoKey { item: item.clone() })?,
    );
    custos_seal::unwrap_data_key(vault.keys.master(master_id)?, &row.object, &wrapped).map_err(
        |e| ExportError::Store {
            item: item.clone(),
            source: Box::new(StoreError::Corrupt {
                object: row.object.to_hex(),
                source: e,
            }),
        },
    )
}

/// What `get` did.
#[derive(Debug)]
pub struct ExportOutcome {
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of the bytes written.
    pub sha256: Sha256Hash,
    /// Whether that equals the item's identity (full exports only).
    pub verified: bool,
    /// The export event's receipt.
    pub receipt: Receipt,
}

/// Export `item` (or the inclusive byte range `range`) to `out`, recording `reason`.
pub async fn export(
    vault: &Vault,
    item: &ItemId,
    out: &Path,
    reason: &str,
    range: Option<(u64, u64)>,
    actor: Actor,
    progress: &Progress,
) -> Result<ExportOutcome, ExportError> {
    let conn = vault.connect()?;
    let row = find_item(&conn, item)?.ok_or_else(|| ExportError::UnknownItem {
        item: item.to_string(),
    })?;
    let (start, end_excl) = match range {
        None => (0, row.size),
        Some((s, e)) if s <= e && e < row.size => (s, e + 1),
        Some((s, e)) => {
            return Err(ExportError::BadRange {
                item: item.clone(),
                start: s,
                end: e,
                size: row.size,
            });
        }
    };
    if out.exists() {
        return Err(ExportError::OutputExists {
            path: out.to_owned(),
        });
    }
    let dek = item_data_key(vault, &conn, &row)?;

    let (tmp_path, file) = create_temp_beside(out)?;
    // Custody first: the export event is durable before any byte is decrypted.
    let mut details = vec![("output".to_string(), Value::String(file_name(out)))];
    if let Some((s, e)) = range {
        details.push((
            "range".into(),
            Value::object(vec![
                ("start", Value::Int(s as i64)),
                ("end", Value::Int(e as i64)),
            ]),
        ));
    }
    let draft = EventDraft {
        actor,
        action: Action::Export,
        case: Some(row.case.clone()),
        item: Some(ItemRef {
            id: item.to_string(),
            sha256: row.sha256,
        }),
        reason: Some(reason.to_string()),
        details: Value::object(details),
    };
    let receipt = match vault.sequencer.append(draft).await {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp_path);
            return Err(e.into());
        }
    };

    progress.set_length(end_excl - start);
    let result = copy_out(vault, &row, dek, start..end_excl, file, out, progress).await;
    let (bytes, sha256) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp_path);
            return Err(e);
        }
    };
    let verified = range.is_none();
    if verified && sha256 != row.sha256 {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(ExportError::HashMismatch {
            item: item.clone(),
            expected: row.sha256,
            actual: sha256,
        });
    }
    std::fs::rename(&tmp_path, out).map_err(|source| ExportError::Output {
        path: out.to_owned(),
        source,
    })?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
    }
    progress.finish();
    Ok(ExportOutcome {
        bytes,
        sha256,
        verified,
        receipt,
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A new private (0600) temporary file in the destination's folder, named
/// `.<name>.custos-partial-<random>`: renamed into place only once complete (get, report).
pub(crate) fn private_temp_beside(out: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let tmp = parent.join(format!(
        ".{}.custos-partial-{}",
        file_name(out),
        hex::encode(&crate::keys::random32()[..6])
    ));
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    Ok((tmp, f))
}

fn create_temp_beside(out: &Path) -> Result<(PathBuf, std::fs::File), ExportError> {
    private_temp_beside(out).map_err(|source| ExportError::Output {
        path: out.to_owned(),
        source,
    })
}

/// Stream the decrypted range into `file`, hashing in parallel with writing.
async fn copy_out(
    vault: &Vault,
    row: &ItemRow,
    dek: custos_seal::DataKey,
    range: std::ops::Range<u64>,
    file: std::fs::File,
    out: &Path,
    progress: &Progress,
) -> Result<(u64, Sha256Hash), ExportError> {
    let item = row.id.clone();
    let store_err = |source| ExportError::Store {
        item: item.clone(),
        source: Box::new(source),
    };
    let mut stream = Box::pin(
        vault
            .store
            .read_plaintext(row.object, dek, row.size, range)
            .map_err(store_err)?,
    );
    let (htx, hrx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(4);
    let (wtx, wrx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(4);
    let hasher = std::thread::spawn(move || {
        let mut h = sha2::Sha256::new();
        for b in hrx {
            h.update(&b);
        }
        Sha256Hash(h.finalize().into())
    });
    let writer = std::thread::spawn(move || -> std::io::Result<u64> {
        let mut f = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut n = 0u64;
        for b in wrx {
            f.write_all(&b)?;
            n += b.len() as u64;
        }
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(n)
    });
    let bar = progress.counter();
    let mut failure = None;
    while let Some(next) = stream.next().await {
        match next {
            Ok(b) => {
                bar.inc(b.len() as u64);
                if htx.send(b.clone()).is_err() || wtx.send(b).is_err() {
                    break;
                }
            }
            Err(e) => {
                failure = Some(store_err(e));
                break;
            }
        }
    }
    drop((htx, wtx));
    let written = tokio::task::spawn_blocking(move || writer.join()).await;
    let sha = hasher.join().unwrap_or(Sha256Hash([0; 32]));
    if let Some(e) = failure {
        return Err(e);
    }
    let n = match written {
        Ok(Ok(Ok(n))) => n,
        Ok(Ok(Err(source))) => {
            return Err(ExportError::Output {
                path: out.to_owned(),
                source,
            });
        }
        _ => {
            return Err(ExportError::Output {
                path: out.to_owned(),
                source: std::io::Error::other("writer thread failed"),
            });
        }
    };
    Ok((n, sha))
}
