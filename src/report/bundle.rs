//! The custody report bundle, format version 1: one JSON file that carries every event of the
//! reported items with its exact signed bytes, its signature and its inclusion proof in one
//! signed checkpoint, so that `custos-verify` can check it offline.
//!
//! The JSON container is not signed: what is signed travels inside it verbatim (event bytes in
//! base64, the checkpoint note as its exact text). Members are written in the order of the
//! structs below, so the same bundle always serialises to the same bytes.

use serde::Serialize;

/// The `format` member.
pub const BUNDLE_FORMAT: &str = "custos-report-bundle";
/// The `version` member.
pub const BUNDLE_VERSION: u32 = 1;
/// Largest bundle a verifier must accept (256 MiB); the writer refuses to exceed it.
pub const MAX_BUNDLE_BYTES: usize = 256 << 20;
/// The recommended file name ending.
pub const BUNDLE_EXTENSION: &str = ".custos-bundle.json";

/// A whole bundle.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Always [`BUNDLE_VERSION`].
    pub version: u32,
    /// When the bundle was written, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub generated_at: String,
    /// The writing software.
    pub software: Software,
    /// The log's identity.
    pub log: LogInfo,
    /// The exact C2SP signed-note text of the one checkpoint covering every event.
    pub checkpoint: String,
    /// Consistency proofs from checkpoints the recipient already holds (`--since`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<Vec<ConsistencyEntry>>,
    /// The items, each with all its events in log order.
    pub items: Vec<BundleItem>,
}

/// The `software` member.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Software {
    /// `custos`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

/// The `log` member.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogInfo {
    /// The checkpoint origin, which is also the log key's name.
    pub origin: String,
    /// The C2SP verifier key string `name+keyid+base64`.
    pub verifier_key: String,
    /// Lowercase hex SHA-256 of the verifier key string's UTF-8 bytes.
    pub fingerprint: String,
}

/// One entry of `consistency`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConsistencyEntry {
    /// The earlier checkpoint's size.
    pub old_size: u64,
    /// The earlier checkpoint's root, base64.
    pub old_root: String,
    /// RFC 9162 §2.1.4 consistency proof to the bundle's checkpoint, base64 hashes.
    pub proof: Vec<String>,
}

/// One item and its events.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BundleItem {
    /// `itm_…`.
    pub id: String,
    /// Case name.
    pub case: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// SHA-1, hex, when computed at ingest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// MD5, hex, when computed at ingest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// Content size in bytes.
    pub size: u64,
    /// Description given at ingest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Original file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_name: Option<String>,
    /// Every event of the item, index ascending.
    pub events: Vec<BundleEvent>,
}

/// One event with its proof.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BundleEvent {
    /// Leaf index in the log.
    pub index: u64,
    /// Base64 of the event's exact canonical bytes.
    pub event: String,
    /// Base64 of the 64-byte Ed25519 event signature.
    pub signature: String,
    /// RFC 9162 §2.1.3 inclusion proof in the checkpoint's tree, base64 hashes.
    pub inclusion_proof: Vec<String>,
}

/// The bundle is larger than [`MAX_BUNDLE_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the bundle would be {bytes} bytes, more than the format's limit of {max}; report fewer items at a time"
)]
pub struct BundleTooLarge {
    /// Size it would have.
    pub bytes: usize,
    /// The limit.
    pub max: usize,
}

impl Bundle {
    /// The bundle's file bytes: pretty-printed JSON (two-space indent, members in the order of
    /// the structs) and a final newline. Deterministic.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, BundleTooLarge> {
        // Serialising plain structs of strings and integers cannot fail.
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleTooLarge {
                bytes: bytes.len(),
                max: MAX_BUNDLE_BYTES,
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(consistency: bool) -> Bundle {
        Bundle {
            format: BUNDLE_FORMAT.into(),
            version: BUNDLE_VERSION,
            generated_at: "2026-11-25T03:04:05.123456Z".into(),
            software: Software {
                name: "custos".into(),
                version: "0.1.0".into(),
            },
            log: LogInfo {
                origin: "custos.test/vault".into(),
                verifier_key: "k".into(),
                fingerprint: "f".into(),
            },
            checkpoint: "custos.test/vault\n1\nAA==\n\n\u{2014} custos.test/vault AAAA\n".into(),
            consistency: consistency.then(|| {
                vec![ConsistencyEntry {
                    old_size: 1,
                    old_root: "r".into(),
                    proof: vec![],
                }]
            }),
            items: vec![BundleItem {
                id: "itm_x".into(),
                case: "c".into(),
                sha256: "00".into(),
                sha1: None,
                md5: Some("11".into()),
                size: 3,
                description: None,
                original_name: Some("a \"b\".img".into()),
                events: vec![BundleEvent {
                    index: 0,
                    event: "e30=".into(),
                    signature: "s".into(),
                    inclusion_proof: vec![],
                }],
            }],
        }
    }

    #[test]
    fn members_are_in_spec_order_and_absent_options_are_omitted() {
        let bytes = sample(false).to_json_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let order = [
            "\"format\"",
            "\"version\"",
            "\"generated_at\"",
            "\"software\"",
            "\"log\"",
            "\"checkpoint\"",
            "\"items\"",
        ];
        let pos: Vec<usize> = order.iter().map(|m| text.find(m).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
        assert!(!text.contains("consistency"));
        assert!(!text.contains("sha1"));
        assert!(!text.contains("description"));
        assert!(text.ends_with("}\n"));
        // The checkpoint survives verbatim, em dash included.
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["checkpoint"], sample(false).checkpoint.as_str());
        assert_eq!(v["items"][0]["original_name"], "a \"b\".img");
        // Deterministic.
        assert_eq!(bytes, sample(false).to_json_bytes().unwrap());
        let with = String::from_utf8(sample(true).to_json_bytes().unwrap()).unwrap();
        assert!(with.find("\"consistency\"").unwrap() < with.find("\"items\"").unwrap());
    }
}
