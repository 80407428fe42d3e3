//! The audit's item pass: every item row against its ingest event, every data key, every
//! stored object (and with `--deep`, its plaintext hash).

use super::log_pass::{IngestRecord, Ingests};
use super::{AuditError, Finding};
use crate::db::SqlContext;
use crate::export::find_item;
use crate::ids::ItemId;
use crate::vault::Vault;
use custos_core::Sha256Hash;
use custos_core::jcs::Value;
use custos_seal::{ObjectId, WrappedKey};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};

/// An item row joined with its data key row.
struct ItemAuditRow {
    id: String,
    sha: Vec<u8>,
    size: i64,
    object: Vec<u8>,
    case: String,
    ingest_seq: i64,
    master: Option<i64>,
    wrapped: Option<Vec<u8>>,
}

/// An item row as the audit needs it.
pub(super) struct AuditItem {
    pub(super) id: String,
    pub(super) case: String,
    pub(super) object: ObjectId,
    pub(super) size: u64,
    pub(super) sha256: Sha256Hash,
}

pub(super) fn audit_items(
    vault: &Vault,
    conn: &rusqlite::Connection,
    ingests: &Ingests,
    findings: &mut Vec<Finding>,
) -> Result<Vec<AuditItem>, AuditError> {
    let rows: Vec<ItemAuditRow> = conn
        .prepare(
            "SELECT i.id, i.sha256, i.size, i.object_id, c.name, i.ingest_seq, k.master_key_id, k.wrapped
             FROM items i JOIN cases c ON c.id = i.case_id LEFT JOIN object_keys k ON k.object_id = i.object_id ORDER BY i.id",
        )
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(ItemAuditRow {
                    id: r.get(0)?,
                    sha: r.get(1)?,
                    size: r.get(2)?,
                    object: r.get(3)?,
                    case: r.get(4)?,
                    ingest_seq: r.get(5)?,
                    master: r.get(6)?,
                    wrapped: r.get(7)?,
                })
            })?
            .collect()
        })
        .doing("reading items")?;
    let mut out = Vec::new();
    for ItemAuditRow {
        id,
        sha,
        size,
        object,
        case,
        ingest_seq,
        master,
        wrapped,
    } in rows
    {
        let mismatch = |field: &str| Finding::ItemMismatch {
            item: id.clone(),
            field: field.to_string(),
        };
        let (Ok(sha), Ok(object)) = (<[u8; 32]>::try_from(sha), <[u8; 16]>::try_from(object))
        else {
            findings.push(mismatch("sha256 or object id column"));
            continue;
        };
        let (sha, object) = (Sha256Hash(sha), ObjectId(object));
        let first = ingests
            .get(&id)
            .and_then(|v| v.iter().find(|e| e.seq == ingest_seq as u64));
        match first {
            None => findings.push(mismatch("ingest event (none at the recorded index)")),
            Some(IngestRecord {
                case: ev_case,
                sha256: ev_sha,
                details,
                ..
            }) => {
                if *ev_sha != sha {
                    findings.push(mismatch("sha256"));
                }
                if ev_case.as_deref() != Some(case.as_str()) {
                    findings.push(mismatch("case"));
                }
                if detail_int(details, "size") != Some(size) {
                    findings.push(mismatch("size"));
                }
                if detail_str(details, "object") != Some(object.to_hex().as_str()) {
                    findings.push(mismatch("object id"));
                }
            }
        }
        match (master, wrapped) {
            (Some(m), Some(w)) => {
                let res = vault
                    .keys
                    .master(m as u32)
                    .map_err(|e| e.to_string())
                    .and_then(|mk| {
                        let w =
                            WrappedKey(w.try_into().map_err(|_| "wrapped key length".to_string())?);
                        custos_seal::unwrap_data_key(mk, &object, &w)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    });
                if let Err(message) = res {
                    findings.push(Finding::ItemKeyInvalid {
                        item: id.clone(),
                        message,
                    });
                }
            }
            _ => findings.push(Finding::ItemKeyInvalid {
                item: id.clone(),
                message: "no data key row".into(),
            }),
        }
        out.push(AuditItem {
            id,
            case,
            object,
            size: size as u64,
            sha256: sha,
        });
    }
    Ok(out)
}

fn detail<'v>(details: &'v Value, key: &str) -> Option<&'v Value> {
    match details {
        Value::Object(m) => m.get(key),
        _ => None,
    }
}
fn detail_int(details: &Value, key: &str) -> Option<i64> {
    match detail(details, key) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}
fn detail_str<'v>(details: &'v Value, key: &str) -> Option<&'v str> {
    match detail(details, key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

pub(super) async fn audit_objects(
    vault: &Vault,
    conn: &rusqlite::Connection,
    items: &[AuditItem],
    deep: bool,
    repair: bool,
    findings: &mut Vec<Finding>,
) -> Result<(u64, Vec<String>), AuditError> {
    let (listed, strays) = vault.store.list().await?;
    let sizes: HashMap<ObjectId, u64> = listed.iter().copied().collect();
    let staging: HashSet<ObjectId> = conn
        .prepare("SELECT object_id FROM staging")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .doing("reading staging rows")?
        .into_iter()
        .filter_map(|b| b.try_into().ok().map(ObjectId))
        .collect();
    let referenced: HashSet<ObjectId> = items.iter().map(|i| i.object).collect();
    for item in items {
        let expected = custos_seal::ciphertext_len(item.size, custos_seal::SEGMENT_SIZE);
        match sizes.get(&item.object) {
            None => findings.push(Finding::ObjectMissing {
                item: item.id.clone(),
                object: item.object.to_hex(),
            }),
            Some(&found) if found != expected => findings.push(Finding::ObjectSizeMismatch {
                item: item.id.clone(),
                object: item.object.to_hex(),
                expected,
                found,
            }),
            Some(_) if deep => deep_check(vault, conn, item, findings).await?,
            Some(_) => {}
        }
    }
    let mut leftovers = Vec::new();
    for (id, _) in &listed {
        if !referenced.contains(id) {
            if staging.contains(id) {
                findings.push(Finding::StagingLeftover {
                    object: id.to_hex(),
                });
            } else {
                findings.push(Finding::OrphanObject {
                    object: id.to_hex(),
                });
            }
            leftovers.push(*id);
        }
    }
    let partials = vault.store.local_partials();
    for p in &partials {
        findings.push(Finding::StagingLeftover {
            object: p.display().to_string(),
        });
    }
    for s in strays {
        findings.push(Finding::StrayFile { path: s });
    }
    let mut repaired = Vec::new();
    if repair {
        let _guard = vault
            .exclusive_ingest_lock()
            .map_err(|_| AuditError::Busy)?;
        for id in leftovers {
            vault.store.delete(&id).await?;
            conn.execute("DELETE FROM staging WHERE object_id = ?1", [&id.0[..]])
                .doing("clearing a staging row")?;
            repaired.push(id.to_hex());
        }
        for p in partials {
            if std::fs::remove_file(&p).is_ok() {
                repaired.push(p.display().to_string());
            }
        }
        // Staging rows whose object never reached the store.
        let n = conn
            .execute(
                "DELETE FROM staging WHERE object_id NOT IN (SELECT object_id FROM items)",
                [],
            )
            .doing("clearing staging rows")?;
        if n > 0 {
            repaired.push(format!("{n} staging row(s)"));
        }
    }
    Ok((listed.len() as u64, repaired))
}

async fn deep_check(
    vault: &Vault,
    conn: &rusqlite::Connection,
    item: &AuditItem,
    findings: &mut Vec<Finding>,
) -> Result<(), AuditError> {
    use sha2::Digest;
    let Ok(id) = ItemId::parse(&item.id) else {
        return Ok(());
    };
    if find_item(conn, &id)?.is_none() {
        return Ok(());
    }
    let key: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT master_key_id, wrapped FROM object_keys WHERE object_id = ?1",
            [&item.object.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    let Some(dek) = key.and_then(|(m, w)| {
        let mk = vault.keys.master(m as u32).ok()?;
        custos_seal::unwrap_data_key(mk, &item.object, &WrappedKey(w.try_into().ok()?)).ok()
    }) else {
        return Ok(()); // already reported as ItemKeyInvalid
    };
    let corrupt = |message: String| Finding::ObjectCorrupt {
        item: item.id.clone(),
        object: item.object.to_hex(),
        message,
    };
    let mut stream = match vault
        .store
        .read_plaintext(item.object, dek, item.size, 0..item.size)
    {
        Ok(s) => Box::pin(s),
        Err(e) => {
            findings.push(corrupt(e.to_string()));
            return Ok(());
        }
    };
    let mut h = sha2::Sha256::new();
    while let Some(b) = stream.next().await {
        match b {
            Ok(b) => h.update(&b),
            Err(e) => {
                findings.push(corrupt(e.to_string()));
                return Ok(());
            }
        }
    }
    let actual = Sha256Hash(h.finalize().into());
    if actual != item.sha256 {
        findings.push(Finding::ObjectHashMismatch {
            item: item.id.clone(),
            object: item.object.to_hex(),
            actual: actual.to_hex(),
        });
    }
    Ok(())
}
