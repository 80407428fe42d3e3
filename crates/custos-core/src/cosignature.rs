//! Witness cosignatures on checkpoints, Ed25519 type of C2SP tlog-cosignature v1
//! (<https://c2sp.org/tlog-cosignature>).
//!
//! A cosignature is a note signature line whose key ID is the first four bytes of
//! SHA-256(name || 0x0A || 0x04 || 32-byte public key) and whose signature bytes are a
//! `timestamped_signature`: the timestamp as a big-endian u64 (POSIX seconds, at most 2^63 - 1),
//! then the Ed25519 signature over
//! `cosignature/v1\ntime <timestamp in decimal>\n` followed by the checkpoint note text.
//!
//! The message does not commit to the witness name, so every witness needs its own key
//! (tlog-cosignature "Ed25519 signed message"). A witness must check a consistency proof from
//! the last checkpoint it cosigned before calling [`CosignatureSigner::cosign`]; this module
//! only makes and checks the signature. It has no clock: rejecting timestamps in the future is
//! left to the caller.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::hash::Sha256Hash;
use crate::note::{self, KeyError, KeyId, Note, NoteError, NoteSignature, validate_key_name};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use std::fmt;
use zeroize::Zeroizing;

/// Signature type byte of timestamped Ed25519 witness cosignatures (signed-note
/// "Signature types", tlog-cosignature "Format").
pub const SIGNATURE_TYPE_COSIGNATURE_V1: u8 = 0x04;

/// Largest timestamp a cosignature may carry: 2^63 - 1 (tlog-cosignature "Format").
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Header line of the signed message, for domain separation.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// Decoded signature bytes after the key ID: 8-byte timestamp and 64-byte Ed25519 signature.
pub const COSIGNATURE_LEN: usize = 8 + 64;

/// A cosignature that cannot be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// The witness key name or key string is not valid.
    #[error("witness key: {0}")]
    Key(#[from] KeyError),
    /// The note's text is not a valid note text.
    #[error("cosigned note: {0}")]
    Note(#[from] NoteError),
    /// The note to cosign is not a checkpoint.
    #[error("note to cosign is not a checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The note has no signature line with the witness's name and key ID.
    #[error("no cosignature by witness {name} (key ID {key_id}) on the checkpoint")]
    NotFound {
        /// Witness name.
        name: String,
        /// Witness key ID.
        key_id: KeyId,
    },
    /// The note has several lines with the witness's name and key ID.
    #[error(
        "{count} cosignature lines by witness {name} (key ID {key_id}); at most one is allowed"
    )]
    Duplicate {
        /// Witness name.
        name: String,
        /// Witness key ID.
        key_id: KeyId,
        /// Lines found.
        count: usize,
    },
    /// The signature bytes are not a timestamp and an Ed25519 signature.
    #[error(
        "cosignature by witness {name} (key ID {key_id}) has {got} bytes after the key ID; expected {expected}"
    )]
    BadLength {
        /// Witness name.
        name: String,
        /// Witness key ID.
        key_id: KeyId,
        /// Bytes expected (72).
        expected: usize,
        /// Bytes found.
        got: usize,
    },
    /// The timestamp exceeds 2^63 - 1.
    #[error("cosignature timestamp {timestamp} exceeds 2^63 - 1")]
    TimestampTooLarge {
        /// The timestamp.
        timestamp: u64,
    },
    /// The Ed25519 signature does not verify: checkpoint, timestamp or signature altered.
    #[error(
        "cosignature by witness {name} (key ID {key_id}, time {timestamp}) is invalid: the checkpoint or the cosignature was altered"
    )]
    Invalid {
        /// Witness name.
        name: String,
        /// Witness key ID.
        key_id: KeyId,
        /// The timestamp the line claims.
        timestamp: u64,
    },
}

/// The message a cosignature signs: `cosignature/v1\ntime <t>\n` then the checkpoint note text
/// (tlog-cosignature "Ed25519 signed message").
pub fn cosignature_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_text}").into_bytes()
}

/// A witness key that cosigns checkpoints. The secret is zeroized on drop and never printed.
pub struct CosignatureSigner {
    name: String,
    key_id: KeyId,
    signing_key: SigningKey,
}

impl CosignatureSigner {
    /// A witness named `name` whose Ed25519 key is derived from `seed` (caller's randomness).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, CosignatureError> {
        validate_key_name(name).map_err(KeyError::from)?;
        let signing_key = note::signing_key_from_seed(seed);
        let key_id = KeyId::compute(
            name,
            SIGNATURE_TYPE_COSIGNATURE_V1,
            signing_key.verifying_key().as_bytes(),
        );
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signing_key,
        })
    }

    /// Parse `PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>`; the key ID must be the
    /// type-0x04 ID of the derived public key.
    pub fn parse_private(s: &str) -> Result<Self, CosignatureError> {
        let (name, key_id, signing_key) = note::parse_signer_key(s, SIGNATURE_TYPE_COSIGNATURE_V1)?;
        Ok(Self {
            name,
            key_id,
            signing_key,
        })
    }

    /// The signer key string. Secret: it is wiped from memory when dropped.
    pub fn to_private_string(&self) -> Zeroizing<String> {
        note::format_signer_key(
            &self.name,
            self.key_id,
            SIGNATURE_TYPE_COSIGNATURE_V1,
            &self.signing_key,
        )
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID (type 0x04).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            verifying_key: self.signing_key.verifying_key(),
        }
    }

    /// Cosign a checkpoint note at `timestamp` (POSIX seconds). The note's text must be a valid
    /// checkpoint; its existing signatures are not checked here. Add the returned line with
    /// [`Note::add_signature`].
    pub fn cosign(
        &self,
        checkpoint_note: &Note,
        timestamp: u64,
    ) -> Result<NoteSignature, CosignatureError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampTooLarge { timestamp });
        }
        Checkpoint::parse_text(&checkpoint_note.text)?;
        let message = cosignature_message(timestamp, &checkpoint_note.text);
        let sig = self.signing_key.sign(&message);
        let mut signature = Vec::with_capacity(COSIGNATURE_LEN);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig.to_bytes());
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        })
    }
}

impl fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A trusted witness key: name, type-0x04 key ID and Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: KeyId,
    verifying_key: VerifyingKey,
}

impl CosignatureVerifier {
    /// A verifier for `verifying_key` under `name`; the key ID is derived.
    pub fn new(name: &str, verifying_key: VerifyingKey) -> Result<Self, CosignatureError> {
        validate_key_name(name).map_err(KeyError::from)?;
        note::check_verifying_key(&verifying_key)?;
        let key_id = KeyId::compute(
            name,
            SIGNATURE_TYPE_COSIGNATURE_V1,
            verifying_key.as_bytes(),
        );
        Ok(Self {
            name: name.to_owned(),
            key_id,
            verifying_key,
        })
    }

    /// Parse a witness verifier key `<name>+<key id>+<base64(0x04 || public key)>`.
    pub fn parse(s: &str) -> Result<Self, CosignatureError> {
        let (name, key_id, verifying_key) =
            note::parse_verifier_key(s, SIGNATURE_TYPE_COSIGNATURE_V1)?;
        Ok(Self {
            name,
            key_id,
            verifying_key,
        })
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID (type 0x04).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying_key
    }

    /// Lowercase hex SHA-256 of the verifier key string (the `Display` form).
    pub fn fingerprint(&self) -> String {
        Sha256Hash::digest(self.to_string().as_bytes()).to_hex()
    }

    /// Find this witness's line on `checkpoint_note` (same name and key ID; exactly one), check
    /// it and return its timestamp. The log's own signature is not checked here.
    pub fn verify(&self, checkpoint_note: &Note) -> Result<u64, CosignatureError> {
        note::validate_text(&checkpoint_note.text)?;
        let mut lines = checkpoint_note
            .signatures
            .iter()
            .filter(|s| s.name == self.name && s.key_id == self.key_id);
        let sig = lines.next().ok_or_else(|| CosignatureError::NotFound {
            name: self.name.clone(),
            key_id: self.key_id,
        })?;
        let extra = lines.count();
        if extra > 0 {
            return Err(CosignatureError::Duplicate {
                name: self.name.clone(),
                key_id: self.key_id,
                count: extra + 1,
            });
        }
        let (timestamp, signature) = self.split_signature(&sig.signature)?;
        let message = cosignature_message(timestamp, &checkpoint_note.text);
        if !note::ed25519_verify(&self.verifying_key, &message, signature) {
            return Err(CosignatureError::Invalid {
                name: self.name.clone(),
                key_id: self.key_id,
                timestamp,
            });
        }
        Ok(timestamp)
    }

    /// Split `timestamped_signature` into its timestamp and Ed25519 signature.
    fn split_signature<'a>(&self, bytes: &'a [u8]) -> Result<(u64, &'a [u8]), CosignatureError> {
        let bad_length = || CosignatureError::BadLength {
            name: self.name.clone(),
            key_id: self.key_id,
            expected: COSIGNATURE_LEN,
            got: bytes.len(),
        };
        if bytes.len() != COSIGNATURE_LEN {
            return Err(bad_length());
        }
        let (ts, signature) = bytes.split_first_chunk::<8>().ok_or_else(bad_length)?;
        let timestamp = u64::from_be_bytes(*ts);
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampTooLarge { timestamp });
        }
        Ok((timestamp, signature))
    }
}

impl fmt::Display for CosignatureVerifier {
    /// The verifier key string `<name>+<key id>+<base64(0x04 || public key)>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&note::format_verifier_key(
            &self.name,
            self.key_id,
            SIGNATURE_TYPE_COSIGNATURE_V1,
            &self.verifying_key,
        ))
    }
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignatureVerifier({self})")
    }
}

impl std::str::FromStr for CosignatureVerifier {
    type Err = CosignatureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
