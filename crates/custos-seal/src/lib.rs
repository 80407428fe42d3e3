//! The Custos encrypted object format and data-key wrapping.
//!
//! Every evidence object is encrypted under its own random 256-bit data key (DEK) and stored
//! under a random 128-bit [`ObjectId`], never under a name derived from the plaintext (a name
//! equal to the plaintext hash would let a storage operator test whether a known file is held).
//!
//! An object is a 32-byte [`Header`] followed by segments of AES-256-GCM ciphertext. Segment
//! nonces follow the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7): a segment
//! counter plus a last-segment flag, so reordered, duplicated, dropped or truncated segments fail
//! authentication. The header is the associated data of every segment, binding each segment to
//! its object id.
//!
//! The DEK is stored wrapped under a [`MasterKey`] ([`wrap_data_key`]), with the master key id
//! and object id as associated data, so a wrapped key copied to another object's row, or tried
//! with another master key, does not unwrap.
//!
//! This crate transforms buffers and performs no I/O; the vault's storage layer streams the
//! output to object storage. The byte-level format is specified in `docs/FORMATS.md §2`.
//!
//! ```
//! use custos_seal::{DataKey, Header, MasterKey, MasterKeyId, ObjectId, Opener, Sealer};
//!
//! let master = MasterKey::random(MasterKeyId(1));
//! let object_id = ObjectId::random();
//! let header = Header::new(object_id);
//! let dek = DataKey::random();
//! let wrapped = custos_seal::wrap_data_key(&master, &object_id, &dek);
//!
//! let plaintext = b"evidence bytes";
//! let mut object = header.encode().to_vec();
//! let mut sealer = Sealer::new(dek, &header)?;
//! sealer.seal_block(plaintext, true, &mut object)?;
//!
//! let dek = custos_seal::unwrap_data_key(&master, &object_id, &wrapped)?;
//! let opened = custos_seal::open_object(&dek, &header, plaintext.len() as u64, &object)?;
//! assert_eq!(opened, plaintext);
//! # Ok::<(), custos_seal::SealError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod header;
mod ids;
mod keys;
mod layout;
mod stream;

pub use error::SealError;
pub use header::{ALGORITHM_AES_256_GCM, FORMAT_VERSION, Header, MAGIC};
pub use ids::{MasterKeyId, ObjectId};
pub use keys::{
    DataKey, MasterKey, WRAP_AAD_PREFIX, WRAP_NONCE_LEN, WRAPPED_KEY_LEN, WrappedKey,
    try_wrap_data_key, unwrap_data_key, wrap_data_key, wrap_data_key_with_nonce,
};
pub use layout::{
    RangePlan, ciphertext_len, plaintext_len_for_ciphertext, plan_range, segment_count,
    segment_plaintext_len,
};
pub use stream::{Opener, Sealer, open_object, seal_object, segment_nonce};

/// Plaintext bytes per segment in format version 1 (the header's segment-size field).
///
/// 64 KiB keeps the tag overhead at 0.024 % and the work wasted by a ranged read below one
/// segment at each end.
pub const SEGMENT_SIZE: u32 = 65536;

/// Length of the object header in bytes.
pub const HEADER_LEN: usize = 32;

/// Length of an AES-GCM authentication tag in bytes (NIST SP 800-38D, 128-bit tags).
pub const TAG_LEN: usize = 16;

/// Length of a data key or master key in bytes (AES-256).
pub const KEY_LEN: usize = 32;

/// Fills `buf` from the operating system's random source.
fn fill_random(buf: &mut [u8]) -> Result<(), SealError> {
    getrandom::fill(buf).map_err(|_| SealError::Randomness)
}
