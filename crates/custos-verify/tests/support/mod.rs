//! Test support: a custody log built in memory with custos-core alone (no vault), and report
//! bundles made from it. Deterministic: fixed seeds, salts, times and cosignature timestamps,
//! and Ed25519 is deterministic, so the same calls give the same bytes.
//!
//! Shared by the tests of `custos-core` (`crates/custos-core/tests/bundle.rs`, through a
//! `#[path]` module) and of `custos-verify`, so it may use only what both can link:
//! `custos-core` and the standard library.
#![allow(dead_code)]

use custos_core::Sha256Hash;
use custos_core::bundle::{Bundle, BundleEvent, ConsistencyEntry, Item, LogInfo, Software};
use custos_core::checkpoint::Checkpoint;
use custos_core::cosignature::{CosignatureSigner, CosignatureVerifier};
use custos_core::event::{Action, Actor, Event, ItemRef, Timestamp, sign_event};
use custos_core::jcs::Value;
use custos_core::merkle::{self, Frontier, NodeSource, leaf_hash};
use custos_core::note::{Note, NoteSigner, NoteVerifier};
use std::collections::BTreeMap;
use std::convert::Infallible;

/// The log's origin and key name.
pub const ORIGIN: &str = "custos.example.org/agency-x";
/// Seed of the log key.
pub const LOG_SEED: [u8; 32] = [0x11; 32];
/// Seed of another key under the same name (a forger's).
pub const OTHER_SEED: [u8; 32] = [0x22; 32];
/// The witness's name.
pub const WITNESS_NAME: &str = "witness.example.org/w1";
/// Seed of the witness key.
pub const WITNESS_SEED: [u8; 32] = [0x33; 32];
/// The witness's cosignature time (Unix seconds).
pub const COSIGN_TIME: u64 = 1_795_576_000;
/// Time of event 0, Unix microseconds (2026-11-25T03:04:05.123456Z).
pub const T0_MICROS: i64 = 1_795_575_845_123_456;
/// The case of the honest scenario.
pub const CASE: &str = "CASE-2026-0042";

/// Item A of the honest scenario: content and the MD5/SHA-1 the vault recorded.
pub const ITEM_A: &str = "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa";
/// Content of item A.
pub const CONTENT_A: &[u8] = b"abc";
/// MD5 of "abc" (RFC 1321 A.5).
pub const MD5_A: &str = "900150983cd24fb0d6963f7d28e17f72";
/// SHA-1 of "abc" (FIPS 180 example).
pub const SHA1_A: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";
/// Item B of the honest scenario (SHA-256 only).
pub const ITEM_B: &str = "itm_bbbbbbbbbbbbbbbbbbbbbbbbbb";
/// Content of item B.
pub const CONTENT_B: &[u8] = b"The quick brown fox jumps over the lazy dog";

/// Stored perfect-subtree hashes, as a vault's `tree_nodes` table holds them.
#[derive(Default)]
pub struct MemNodes(BTreeMap<(u8, u64), Sha256Hash>);

impl NodeSource for MemNodes {
    type Error = Infallible;
    fn node(&self, level: u8, index: u64) -> Result<Sha256Hash, Infallible> {
        Ok(*self
            .0
            .get(&(level, index))
            .expect("test log asked for a node it does not hold"))
    }
}

/// An item registered in the log.
#[derive(Clone, Debug)]
pub struct ItemSpec {
    pub id: String,
    pub case: String,
    pub content: Vec<u8>,
    pub md5: Option<[u8; 16]>,
    pub sha1: Option<[u8; 20]>,
    pub description: Option<String>,
    pub original_name: Option<String>,
}

impl ItemSpec {
    pub fn sha256(&self) -> Sha256Hash {
        Sha256Hash::digest(&self.content)
    }
}

/// One appended event.
pub struct Entry {
    pub bytes: Vec<u8>,
    pub signature: [u8; 64],
    pub item: Option<String>,
}

/// A custody log in memory.
pub struct TestLog {
    pub signer: NoteSigner,
    pub witness: CosignatureSigner,
    pub entries: Vec<Entry>,
    pub items: Vec<ItemSpec>,
    nodes: MemNodes,
    frontier: Frontier,
    item_heads: BTreeMap<String, Sha256Hash>,
}

impl Default for TestLog {
    fn default() -> Self {
        Self::new()
    }
}

impl TestLog {
    pub fn new() -> Self {
        Self {
            signer: NoteSigner::from_seed(ORIGIN, LOG_SEED).unwrap(),
            witness: CosignatureSigner::from_seed(WITNESS_NAME, WITNESS_SEED).unwrap(),
            entries: Vec::new(),
            items: Vec::new(),
            nodes: MemNodes::default(),
            frontier: Frontier::new(),
            item_heads: BTreeMap::new(),
        }
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    pub fn witness_verifier(&self) -> CosignatureVerifier {
        self.witness.verifier()
    }

    pub fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Append an event; `item` must have been registered by [`TestLog::ingest`] (or is being).
    pub fn append(
        &mut self,
        action: &str,
        case: Option<&str>,
        item: Option<&str>,
        details: Vec<(&str, Value)>,
    ) -> u64 {
        let seq = self.size();
        let item_ref = item.map(|id| ItemRef {
            id: id.to_owned(),
            sha256: self
                .items
                .iter()
                .find(|i| i.id == id)
                .expect("unknown item")
                .sha256(),
        });
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&seq.to_be_bytes());
        salt[8..].copy_from_slice(b"testsalt");
        let event = Event {
            seq,
            time: Timestamp::from_unix_micros(T0_MICROS + seq as i64 * 61_000_017).unwrap(),
            clock: "system-utc".to_owned(),
            log: ORIGIN.to_owned(),
            actor: Actor {
                name: "Zoë Ågren".to_owned(),
                role: "examiner".to_owned(),
                auth: "cli-as".to_owned(),
            },
            action: Action::parse(action).unwrap(),
            case: case.map(str::to_owned),
            item: item_ref,
            reason: None,
            details: Value::object(details),
            salt,
            prev: self.entries.last().map(|e| leaf_hash(&e.bytes)),
            item_prev: item.and_then(|id| self.item_heads.get(id).copied()),
            extra: Vec::new(),
        };
        let bytes = event.to_canonical_bytes_checked().unwrap();
        let signature = sign_event(self.signer.signing_key(), &bytes);
        let leaf = leaf_hash(&bytes);
        for (level, index, hash) in self.frontier.try_push(leaf).unwrap() {
            self.nodes.0.insert((level, index), hash);
        }
        if let Some(id) = item {
            self.item_heads.insert(id.to_owned(), leaf);
        }
        self.entries.push(Entry {
            bytes,
            signature,
            item: item.map(str::to_owned),
        });
        seq
    }

    /// Register an item and append its ingest event, with the details the vault writes
    /// (docs/FORMATS.md §1.4).
    pub fn ingest(&mut self, spec: ItemSpec) -> u64 {
        let mut details = vec![
            ("size", Value::Int(spec.content.len() as i64)),
            ("sha256", Value::String(spec.sha256().to_hex())),
            ("object", Value::String("0".repeat(32))),
            ("tool", Value::String("dc3dd 7.3.1".to_owned())),
        ];
        if let Some(h) = spec.md5 {
            details.push(("md5", Value::String(hex_encode(&h))));
        }
        if let Some(h) = spec.sha1 {
            details.push(("sha1", Value::String(hex_encode(&h))));
        }
        if let Some(d) = &spec.description {
            details.push(("description", Value::String(d.clone())));
        }
        if let Some(n) = &spec.original_name {
            details.push(("file_name", Value::String(n.clone())));
        }
        let (id, case) = (spec.id.clone(), spec.case.clone());
        self.items.push(spec);
        self.append("ingest", Some(&case), Some(&id), details)
    }

    pub fn root(&self, size: u64) -> Sha256Hash {
        merkle::subtree_hash(&self.nodes, 0, size).unwrap()
    }

    pub fn checkpoint_body(&self, size: u64) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root: self.root(size),
            extensions: Vec::new(),
        }
    }

    /// The signed checkpoint note at `size`, cosigned by the witness when `cosign`.
    pub fn checkpoint(&self, size: u64, cosign: bool) -> String {
        let mut note: Note = self.checkpoint_body(size).sign(&self.signer).unwrap();
        if cosign {
            let line = self.witness.cosign(&note, COSIGN_TIME).unwrap();
            note.add_signature(line).unwrap();
        }
        note.to_string()
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Vec<Sha256Hash> {
        merkle::inclusion_proof(&self.nodes, index, size).unwrap()
    }

    pub fn consistency(&self, old_size: u64, size: u64) -> ConsistencyEntry {
        ConsistencyEntry {
            old_size,
            old_root: self.root(old_size),
            proof: merkle::consistency_proof(&self.nodes, old_size, size).unwrap(),
        }
    }

    /// The bundle a vault would write for every registered item, at checkpoint `size`
    /// (cosigned), with consistency proofs from each of `since`.
    pub fn bundle(&self, size: u64, since: &[u64]) -> Bundle {
        let key = self.verifier().to_string();
        let items = self
            .items
            .iter()
            .map(|spec| Item {
                id: spec.id.clone(),
                case: spec.case.clone(),
                sha256: spec.sha256(),
                sha1: spec.sha1,
                md5: spec.md5,
                size: spec.content.len() as u64,
                description: spec.description.clone(),
                original_name: spec.original_name.clone(),
                events: self
                    .entries
                    .iter()
                    .enumerate()
                    .take(size as usize)
                    .filter(|(_, e)| e.item.as_deref() == Some(spec.id.as_str()))
                    .map(|(i, e)| BundleEvent {
                        index: i as u64,
                        event: e.bytes.clone(),
                        signature: e.signature,
                        inclusion_proof: self.inclusion_proof(i as u64, size),
                    })
                    .collect(),
            })
            .filter(|item| !item.events.is_empty())
            .collect();
        Bundle {
            generated_at: Timestamp::parse_rfc3339("2026-11-26T09:00:00.000000Z").unwrap(),
            software: Software {
                name: "custos".to_owned(),
                version: "0.1.0".to_owned(),
            },
            log: LogInfo {
                origin: ORIGIN.to_owned(),
                fingerprint: Sha256Hash::digest(key.as_bytes()),
                verifier_key: key,
            },
            checkpoint: self.checkpoint(size, true),
            consistency: since.iter().map(|&s| self.consistency(s, size)).collect(),
            items,
        }
    }
}

pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hex_decode<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// Item A: MD5 and SHA-1 recorded, with a description and original name.
pub fn item_a() -> ItemSpec {
    ItemSpec {
        id: ITEM_A.to_owned(),
        case: CASE.to_owned(),
        content: CONTENT_A.to_vec(),
        md5: Some(hex_decode(MD5_A)),
        sha1: Some(hex_decode(SHA1_A)),
        description: Some("Phone image, bag 7".to_owned()),
        original_name: Some("phone.E01".to_owned()),
    }
}

/// Item B: SHA-256 only.
pub fn item_b() -> ItemSpec {
    ItemSpec {
        id: ITEM_B.to_owned(),
        case: CASE.to_owned(),
        content: CONTENT_B.to_vec(),
        md5: None,
        sha1: None,
        description: None,
        original_name: None,
    }
}

/// The honest scenario: ten events, two items.
///
/// | index | action | item |
/// | --- | --- | --- |
/// | 0 | case-create | |
/// | 1 | ingest | A |
/// | 2 | ingest | B |
/// | 3 | access | A |
/// | 4 | member-add | |
/// | 5 | export | B |
/// | 6 | access | A |
/// | 7 | integrity-check | B |
/// | 8 | access-denied | |
/// | 9 | export | A |
pub fn honest_log() -> TestLog {
    let mut log = TestLog::new();
    let title = || vec![("title", Value::String("Operation \"Kestrel\"".to_owned()))];
    log.append("case-create", Some(CASE), None, title());
    log.ingest(item_a());
    log.ingest(item_b());
    log.append("access", Some(CASE), Some(ITEM_A), vec![]);
    log.append(
        "member-add",
        Some(CASE),
        None,
        vec![("member", Value::String("defence-expert".to_owned()))],
    );
    log.append(
        "export",
        Some(CASE),
        Some(ITEM_B),
        vec![("output", Value::String("fox.txt".to_owned()))],
    );
    log.append("access", Some(CASE), Some(ITEM_A), vec![]);
    log.append("integrity-check", Some(CASE), Some(ITEM_B), vec![]);
    log.append("access-denied", Some(CASE), None, vec![]);
    log.append(
        "export",
        Some(CASE),
        Some(ITEM_A),
        vec![("output", Value::String("phone.E01".to_owned()))],
    );
    log
}

/// Size of the honest scenario's earlier checkpoint (the one `--since` is given).
pub const SINCE_SIZE: u64 = 4;

/// The honest bundle: checkpoint at 10, cosigned, with a consistency proof from size 4.
pub fn honest_bundle() -> Bundle {
    let log = honest_log();
    log.bundle(log.size(), &[SINCE_SIZE])
}
