//! `custos keys rotate`: a new master key rewraps every data key; no object is rewritten.
//!
//! Crash-safe order: the new key file is written and fsync'd first; then one log transaction
//! rewraps every row and records the key-rotation event; only then are retired key files
//! deleted. A crash at any point leaves every data key unwrappable by a key on disk.

use crate::custody::{EventDraft, LogError, LogTx, Receipt};
use crate::db::SqlContext;
use crate::keys::{KeyError, VaultKeys};
use crate::vault::Vault;
use custos_core::event::{Action, Actor};
use custos_core::jcs::Value;
use custos_seal::{ObjectId, WrappedKey};

/// Result of a rotation.
#[derive(Debug)]
pub struct Rotation {
    /// The new master key's id.
    pub new_id: u32,
    /// Data keys rewrapped.
    pub rewrapped: u64,
    /// Master keys deleted.
    pub retired: Vec<u32>,
    /// The key-rotation event.
    pub receipt: Receipt,
}

/// Rotation errors.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// Key files.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The log or database.
    #[error(transparent)]
    Log(#[from] LogError),
    /// An ingest is running.
    #[error("an ingest is running; rotate the master key when it has finished")]
    Busy,
    /// A data key did not unwrap: the rotation was not made.
    #[error(
        "the data key of object {object} does not unwrap with master key {master:08x}; nothing was rotated (run custos audit)"
    )]
    Unwrap {
        /// Object.
        object: String,
        /// Master key id.
        master: u32,
    },
}

impl From<crate::db::DbError> for RotateError {
    fn from(e: crate::db::DbError) -> Self {
        RotateError::Log(LogError::Db(e))
    }
}

/// Rotate the master key (see the module docs).
pub async fn rotate(vault: &mut Vault, actor: Actor) -> Result<Rotation, RotateError> {
    // No ingest may be between wrapping its key and committing while keys change.
    let _guard = vault
        .exclusive_ingest_lock()
        .map_err(|_| RotateError::Busy)?;
    let old_ids = vault.keys.master_ids();
    let new_id = vault.keys.add_master()?.0;
    // An owned copy of the keys for the log job (key material is never cloned in memory).
    let keys = VaultKeys::load(&vault.keys_dir())?;
    let job = move |tx: &mut LogTx<'_>| -> Result<u64, RotateError> {
        let rows: Vec<(Vec<u8>, u32, Vec<u8>)> = tx
            .tx
            .prepare("SELECT object_id, master_key_id, wrapped FROM object_keys")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .doing("reading data keys")?;
        let mut n = 0u64;
        for (obj, master, wrapped) in rows {
            let unwrap_err = || RotateError::Unwrap {
                object: hex::encode(&obj),
                master,
            };
            let object = ObjectId(obj.clone().try_into().map_err(|_| unwrap_err())?);
            let wk = WrappedKey(wrapped.try_into().map_err(|_| unwrap_err())?);
            let dek = custos_seal::unwrap_data_key(keys.master(master)?, &object, &wk)
                .map_err(|_| unwrap_err())?;
            let rewrapped = custos_seal::wrap_data_key(keys.master(new_id)?, &object, &dek);
            tx.tx
                .execute(
                    "UPDATE object_keys SET master_key_id = ?1, wrapped = ?2 WHERE object_id = ?3",
                    rusqlite::params![new_id, &rewrapped.0[..], &obj],
                )
                .doing("rewrapping a data key")?;
            n += 1;
        }
        tx.append(EventDraft {
            actor,
            action: Action::KeyRotation,
            case: None,
            item: None,
            reason: Some("master key rotation".into()),
            details: Value::object(vec![
                ("new_master_key", Value::String(format!("{new_id:08x}"))),
                ("rewrapped", Value::Int(n as i64)),
            ]),
        })?;
        Ok(n)
    };
    let (rewrapped, mut receipts) = vault.sequencer.submit(job).await?;
    let receipt = receipts.pop().ok_or(LogError::Stopped)?;
    let mut retired = Vec::new();
    for id in old_ids {
        vault.keys.remove_master(id)?;
        retired.push(id);
    }
    Ok(Rotation {
        new_id,
        rewrapped,
        retired,
        receipt,
    })
}
