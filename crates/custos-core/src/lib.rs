//! Pure core of Custos.
//!
//! Everything a court's verifier needs and nothing more: SHA-256 digests, RFC 6962 Merkle tree
//! math and proofs, C2SP signed notes and checkpoints, and the canonical custody-event encoding.
//! This crate performs no I/O and depends on no runtime, database or storage crate, so it builds
//! for `wasm32-unknown-unknown` and into the small `custos-verify` binary.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod checkpoint;
pub mod cosignature;
pub mod event;
pub mod hash;
pub mod jcs;
pub mod merkle;
pub mod note;

pub use hash::Sha256Hash;
