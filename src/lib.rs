//! Custos: a chain-of-custody vault for digital evidence.
//!
//! The crate is layered so that each layer can be read on its own (docs/ARCHITECTURE.md):
//! - [`custos_core`]: the pure core (hashes, RFC 6962 Merkle math, C2SP notes, canonical events);
//! - [`custos_seal`]: the encrypted object format (segmented AES-256-GCM, data-key wrapping);
//! - [`store`]: encryption as a layer over `object_store` (local disk or S3);
//! - [`db`] and [`custody`]: the SQLite metadata and the signed custody log;
//! - [`ingest`], [`export`], [`audit`]: the workflows; [`vault`] ties them together;
//! - [`cli`]: the `custos` command line, a thin edge over the above.
#![forbid(unsafe_code)]

pub mod access;
pub mod accounts;
pub mod audit;
pub mod cli;
pub mod client;
pub mod config;
pub mod custody;
pub mod db;
pub mod export;
pub mod ids;
pub mod ingest;
pub mod keys;
pub mod progress;
pub mod report;
pub mod rotate;
pub mod serve;
pub mod server;
pub mod store;
pub mod vault;
