//! Checking what a server claims: custody receipts (a signed checkpoint and an inclusion proof,
//! RFC 9162 §2.1.3.2) and custody events (leaf hash, Ed25519 signature, per-item hash chain).
//!
//! Pure functions over the JSON the API returns, so that a hostile answer can be tested
//! without a server.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use custos_core::Sha256Hash;
use custos_core::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use custos_core::event::{Action, Event, EventError, event_hash, verify_event};
use custos_core::merkle::{VerifyError, verify_inclusion};
use custos_core::note::NoteVerifier;
use serde::{Deserialize, Serialize};

/// A custody receipt as the API sends it (and as local `--json` output prints it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiptJson {
    /// Event index.
    pub index: u64,
    /// Leaf hash (base64).
    pub leaf_hash: String,
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// The checkpoint (C2SP signed note).
    pub checkpoint: String,
    /// Inclusion proof hashes (base64).
    pub inclusion_proof: Vec<String>,
}

/// One custody event as the API sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct EventJson {
    /// Leaf index.
    pub index: u64,
    /// The canonical bytes (base64): what the signature and leaf hash cover.
    pub bytes: String,
    /// Ed25519 signature (base64).
    pub signature: String,
    /// Leaf hash (base64).
    pub leaf_hash: String,
}

/// A receipt or event that does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// A field is not valid base64 of the right length.
    #[error("the {field} of event {index} is not valid base64 of the right length")]
    BadEncoding {
        /// Which field.
        field: &'static str,
        /// Event index.
        index: u64,
    },
    /// The checkpoint is malformed or not signed by the log key.
    #[error(
        "the checkpoint of event {index}'s receipt does not verify against the log key: {source}"
    )]
    Checkpoint {
        /// Event index.
        index: u64,
        /// Why.
        source: CheckpointError,
    },
    /// The receipt names another tree size than its checkpoint.
    #[error(
        "the receipt of event {index} is for tree size {receipt} but its checkpoint has {checkpoint}"
    )]
    SizeMismatch {
        /// Event index.
        index: u64,
        /// Size in the receipt.
        receipt: u64,
        /// Size in the checkpoint.
        checkpoint: u64,
    },
    /// The inclusion proof fails.
    #[error("event {index} is not proved to be in the signed checkpoint: {source}")]
    Inclusion {
        /// Event index.
        index: u64,
        /// Which RFC 9162 check failed.
        source: VerifyError,
    },
    /// The event's bytes do not hash to the leaf hash given for them.
    #[error("event {index}: its bytes do not hash to its leaf hash")]
    LeafHash {
        /// Event index.
        index: u64,
    },
    /// The event's signature fails.
    #[error("event {index}: the log key's signature does not verify: {source}")]
    Signature {
        /// Event index.
        index: u64,
        /// Why.
        source: EventError,
    },
    /// The event bytes are not a canonical event.
    #[error("event {index} cannot be decoded: {source}")]
    Decode {
        /// Event index.
        index: u64,
        /// Why.
        source: EventError,
    },
    /// The event says something else than expected.
    #[error("event {index} does not record {expected}: it records {got}")]
    Content {
        /// Event index.
        index: u64,
        /// What it should record.
        expected: String,
        /// What it records.
        got: String,
    },
    /// An item's events do not form one chain (one is missing or out of order).
    #[error("event {index} does not follow event {previous} in the item's custody chain")]
    Chain {
        /// Event index.
        index: u64,
        /// The event before it in the list.
        previous: u64,
    },
    /// The event the receipt is for is not among the item's events.
    #[error("event {index} is not among the item's custody events")]
    Missing {
        /// Event index.
        index: u64,
    },
}

fn hash_b64(s: &str, field: &'static str, index: u64) -> Result<Sha256Hash, ReceiptError> {
    Sha256Hash::from_base64(s).map_err(|_| ReceiptError::BadEncoding { field, index })
}

/// Verify a receipt: the checkpoint is signed by `key`, its size is the receipt's, and the
/// inclusion proof takes the leaf to the checkpoint's root (RFC 9162 §2.1.3.2).
pub fn verify_receipt(r: &ReceiptJson, key: &NoteVerifier) -> Result<Checkpoint, ReceiptError> {
    let index = r.index;
    let leaf = hash_b64(&r.leaf_hash, "leaf hash", index)?;
    let proof = r
        .inclusion_proof
        .iter()
        .map(|h| hash_b64(h, "inclusion proof", index))
        .collect::<Result<Vec<_>, _>>()?;
    let (cp, _) = open_checkpoint(&r.checkpoint, key)
        .map_err(|source| ReceiptError::Checkpoint { index, source })?;
    if cp.size != r.tree_size {
        return Err(ReceiptError::SizeMismatch {
            index,
            receipt: r.tree_size,
            checkpoint: cp.size,
        });
    }
    verify_inclusion(&leaf, index, cp.size, &proof, &cp.root)
        .map_err(|source| ReceiptError::Inclusion { index, source })?;
    Ok(cp)
}

/// Verify one event: its bytes hash to its leaf hash (RFC 6962 §2.1), the log key signed them,
/// and they decode as a canonical event whose `seq` is its index.
pub fn verify_event_json(e: &EventJson, key: &NoteVerifier) -> Result<Event, ReceiptError> {
    let index = e.index;
    let bytes = B64
        .decode(&e.bytes)
        .map_err(|_| ReceiptError::BadEncoding {
            field: "bytes",
            index,
        })?;
    let sig = B64
        .decode(&e.signature)
        .map_err(|_| ReceiptError::BadEncoding {
            field: "signature",
            index,
        })?;
    let leaf = hash_b64(&e.leaf_hash, "leaf hash", index)?;
    if event_hash(&bytes) != leaf {
        return Err(ReceiptError::LeafHash { index });
    }
    verify_event(key.verifying_key(), &bytes, &sig)
        .map_err(|source| ReceiptError::Signature { index, source })?;
    let ev = Event::from_canonical_bytes(&bytes)
        .map_err(|source| ReceiptError::Decode { index, source })?;
    if ev.seq != index {
        return Err(ReceiptError::Content {
            index,
            expected: format!("seq {index}"),
            got: format!("seq {}", ev.seq),
        });
    }
    Ok(ev)
}

/// Verify an item's custody chain as listed (oldest first): every event verifies, the first
/// has no predecessor, and each names the previous one's hash as `item_prev`, so that no
/// event can be left out of the middle or reordered. Returns the decoded events.
pub fn verify_item_chain(
    events: &[EventJson],
    key: &NoteVerifier,
) -> Result<Vec<Event>, ReceiptError> {
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    let mut prev: Option<(u64, Sha256Hash)> = None;
    for e in events {
        let ev = verify_event_json(e, key)?;
        let here = hash_b64(&e.leaf_hash, "leaf hash", e.index)?;
        if ev.item_prev != prev.map(|(_, h)| h) {
            return Err(ReceiptError::Chain {
                index: e.index,
                previous: prev.map_or(e.index, |(i, _)| i),
            });
        }
        prev = Some((e.index, here));
        out.push(ev);
    }
    Ok(out)
}

/// The last verified event of the log (its index and event hash), or `None` before the first.
pub type ChainHead = Option<(u64, Sha256Hash)>;

/// Verify a page of the whole log, continuing after `prev` (the index and hash of the event
/// before the page; `None` at the start of the log): indices are contiguous, every event
/// verifies and names the previous event's hash as `prev`. Returns the decoded events and the
/// new `prev`.
pub fn verify_log_chain(
    events: &[EventJson],
    key: &NoteVerifier,
    mut prev: ChainHead,
) -> Result<(Vec<Event>, ChainHead), ReceiptError> {
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let expected = prev.map_or(Some(0), |(i, _)| i.checked_add(1));
        let ev = verify_event_json(e, key)?;
        if Some(e.index) != expected || ev.prev != prev.map(|(_, h)| h) {
            return Err(ReceiptError::Chain {
                index: e.index,
                previous: prev.map_or(e.index, |(i, _)| i),
            });
        }
        prev = Some((e.index, hash_b64(&e.leaf_hash, "leaf hash", e.index)?));
        out.push(ev);
    }
    Ok((out, prev))
}

/// Check that the event a receipt is for records `action` on `item` with content `sha256`.
pub fn check_event_records(
    ev: &Event,
    action: Action,
    item: &str,
    sha256: &Sha256Hash,
) -> Result<(), ReceiptError> {
    let got_item = ev.item.as_ref();
    if ev.action != action || got_item.is_none_or(|i| i.id != item || i.sha256 != *sha256) {
        return Err(ReceiptError::Content {
            index: ev.seq,
            expected: format!("{} of {item} with SHA-256 {sha256}", action.as_str()),
            got: format!(
                "{} of {} with SHA-256 {}",
                ev.action.as_str(),
                got_item.map_or("no item", |i| i.id.as_str()),
                got_item.map_or_else(|| "-".to_string(), |i| i.sha256.to_hex())
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_core::checkpoint::Checkpoint;
    use custos_core::merkle::{NodeSource, inclusion_proof, node_hash};
    use custos_core::note::NoteSigner;
    use proptest::prop_assert;
    use std::collections::HashMap;

    struct Nodes(HashMap<(u8, u64), Sha256Hash>);
    impl NodeSource for Nodes {
        type Error = ();
        fn node(&self, level: u8, index: u64) -> Result<Sha256Hash, ()> {
            self.0.get(&(level, index)).copied().ok_or(())
        }
    }

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("custos.test/log", [7; 32]).unwrap()
    }

    /// A tree of `n` leaves `SHA-256(0x00 || i)`, and a receipt for leaf `index`.
    fn receipt(n: u64, index: u64, s: &NoteSigner) -> ReceiptJson {
        let mut f = custos_core::merkle::Frontier::new();
        let mut nodes = HashMap::new();
        for i in 0..n {
            let leaf = event_hash(&i.to_be_bytes());
            nodes.insert((0, i), leaf);
            for (l, k, h) in f.push(leaf) {
                nodes.insert((l, k), h);
            }
        }
        let proof = inclusion_proof(&Nodes(nodes), index, n).unwrap();
        let cp = Checkpoint {
            origin: "custos.test/log".into(),
            size: n,
            root: f.root(),
            extensions: vec![],
        };
        ReceiptJson {
            index,
            leaf_hash: event_hash(&index.to_be_bytes()).to_base64(),
            tree_size: n,
            checkpoint: cp.sign(s).unwrap().to_string(),
            inclusion_proof: proof.iter().map(Sha256Hash::to_base64).collect(),
        }
    }

    #[test]
    fn honest_receipts_verify_at_every_position() {
        let s = signer();
        for n in 1..12 {
            for i in 0..n {
                let cp = verify_receipt(&receipt(n, i, &s), &s.verifier()).unwrap();
                assert_eq!(cp.size, n);
            }
        }
    }

    #[test]
    fn a_tampered_proof_fails_with_a_root_mismatch() {
        let s = signer();
        let mut r = receipt(7, 3, &s);
        r.inclusion_proof[1] = node_hash(&Sha256Hash([1; 32]), &Sha256Hash([2; 32])).to_base64();
        assert!(matches!(
            verify_receipt(&r, &s.verifier()),
            Err(ReceiptError::Inclusion {
                index: 3,
                source: VerifyError::RootMismatch { .. }
            })
        ));
    }

    #[test]
    fn padded_and_short_proofs_fail() {
        let s = signer();
        let mut r = receipt(7, 3, &s);
        r.inclusion_proof.push(Sha256Hash([0; 32]).to_base64());
        assert!(matches!(
            verify_receipt(&r, &s.verifier()),
            Err(ReceiptError::Inclusion {
                source: VerifyError::ProofTooLong { .. },
                ..
            })
        ));
        let mut r = receipt(7, 3, &s);
        r.inclusion_proof.pop();
        assert!(matches!(
            verify_receipt(&r, &s.verifier()),
            Err(ReceiptError::Inclusion {
                source: VerifyError::ProofTooShort { .. },
                ..
            })
        ));
    }

    #[test]
    fn another_key_or_a_wrong_size_is_refused() {
        let s = signer();
        let other = NoteSigner::from_seed("custos.test/log", [8; 32]).unwrap();
        let r = receipt(5, 2, &s);
        assert!(matches!(
            verify_receipt(&r, &other.verifier()),
            Err(ReceiptError::Checkpoint { index: 2, .. })
        ));
        let mut r2 = r.clone();
        r2.tree_size = 6;
        assert!(matches!(
            verify_receipt(&r2, &s.verifier()),
            Err(ReceiptError::SizeMismatch {
                receipt: 6,
                checkpoint: 5,
                ..
            })
        ));
        let mut r3 = r.clone();
        r3.leaf_hash = "not base64!".into();
        assert!(matches!(
            verify_receipt(&r3, &s.verifier()),
            Err(ReceiptError::BadEncoding {
                field: "leaf hash",
                ..
            })
        ));
        // A receipt claiming another index for the same leaf does not verify.
        let mut r4 = r;
        r4.index = 3;
        assert!(matches!(
            verify_receipt(&r4, &s.verifier()),
            Err(ReceiptError::Inclusion { .. })
        ));
    }

    /// Signed events of one item, each chained to the one before (as the log writes them).
    fn chain(n: u64, s: &NoteSigner) -> Vec<EventJson> {
        use custos_core::event::{Actor, ItemRef, Timestamp, sign_event};
        let mut prev = None;
        (0..n)
            .map(|seq| {
                let ev = Event {
                    seq,
                    time: Timestamp::from_unix_micros(1_800_000_000_000_000).unwrap(),
                    clock: "system-utc".into(),
                    log: "custos.test/log".into(),
                    actor: Actor {
                        name: "eve".into(),
                        role: "examiner".into(),
                        auth: "token".into(),
                    },
                    action: if seq == 0 {
                        Action::Ingest
                    } else {
                        Action::Access
                    },
                    case: Some("C-1".into()),
                    item: Some(ItemRef {
                        id: "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
                        sha256: Sha256Hash([9; 32]),
                    }),
                    reason: None,
                    details: custos_core::jcs::Value::object(Vec::<(String, _)>::new()),
                    salt: [seq as u8; 16],
                    prev,
                    item_prev: prev,
                    extra: vec![],
                };
                let bytes = ev.to_canonical_bytes();
                let hash = event_hash(&bytes);
                prev = Some(hash);
                EventJson {
                    index: seq,
                    bytes: B64.encode(&bytes),
                    signature: B64.encode(sign_event(s.signing_key(), &bytes)),
                    leaf_hash: hash.to_base64(),
                }
            })
            .collect()
    }

    #[test]
    fn an_honest_chain_verifies_and_names_its_content() {
        let s = signer();
        let evs = chain(4, &s);
        let decoded = verify_item_chain(&evs, &s.verifier()).unwrap();
        assert_eq!(decoded.len(), 4);
        let item = "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa";
        check_event_records(&decoded[0], Action::Ingest, item, &Sha256Hash([9; 32])).unwrap();
        assert!(matches!(
            check_event_records(&decoded[0], Action::Ingest, item, &Sha256Hash([8; 32])),
            Err(ReceiptError::Content { index: 0, .. })
        ));
        assert!(matches!(
            check_event_records(&decoded[1], Action::Ingest, item, &Sha256Hash([9; 32])),
            Err(ReceiptError::Content { index: 1, .. })
        ));
        let (all, head) = verify_log_chain(&evs, &s.verifier(), None).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(head.map(|h| h.0), Some(3));
        // Pages continue from the head of the previous one.
        let (_, h2) = verify_log_chain(&evs[..2], &s.verifier(), None).unwrap();
        verify_log_chain(&evs[2..], &s.verifier(), h2).unwrap();
    }

    #[test]
    fn a_left_out_or_reordered_event_breaks_the_chain() {
        let s = signer();
        let evs = chain(4, &s);
        let gap = [evs[0].clone(), evs[2].clone(), evs[3].clone()];
        assert!(matches!(
            verify_item_chain(&gap, &s.verifier()),
            Err(ReceiptError::Chain {
                index: 2,
                previous: 0
            })
        ));
        assert!(matches!(
            verify_log_chain(&gap, &s.verifier(), None),
            Err(ReceiptError::Chain { index: 2, .. })
        ));
        let swapped = [evs[1].clone(), evs[0].clone()];
        assert!(matches!(
            verify_item_chain(&swapped, &s.verifier()),
            Err(ReceiptError::Chain { index: 1, .. })
        ));
        // A page that does not start where the last one ended.
        let (_, h) = verify_log_chain(&evs[..1], &s.verifier(), None).unwrap();
        assert!(matches!(
            verify_log_chain(&evs[2..], &s.verifier(), h),
            Err(ReceiptError::Chain { index: 2, .. })
        ));
    }

    #[test]
    fn altered_bytes_or_another_key_are_caught() {
        let s = signer();
        let mut evs = chain(2, &s);
        let mut bytes = B64.decode(&evs[1].bytes).unwrap();
        let pos = bytes.len() / 2;
        bytes[pos] ^= 1;
        evs[1].bytes = B64.encode(&bytes);
        assert!(matches!(
            verify_item_chain(&evs, &s.verifier()),
            Err(ReceiptError::LeafHash { index: 1 })
        ));
        let other = NoteSigner::from_seed("custos.test/log", [8; 32]).unwrap();
        assert!(matches!(
            verify_item_chain(&chain(2, &s), &other.verifier()),
            Err(ReceiptError::Signature { index: 0, .. })
        ));
        let mut evs = chain(1, &s);
        evs[0].signature = "!!".into();
        assert!(matches!(
            verify_item_chain(&evs, &s.verifier()),
            Err(ReceiptError::BadEncoding {
                field: "signature",
                index: 0
            })
        ));
    }

    proptest::proptest! {
        /// Any one flipped bit in the leaf or a proof hash makes an honest receipt fail.
        #[test]
        fn any_flipped_bit_is_caught(n in 1u64..300, i in 0u64..300, which in 0usize..64, bit in 0usize..256) {
            let s = signer();
            let i = i % n;
            let r = receipt(n, i, &s);
            prop_assert!(verify_receipt(&r, &s.verifier()).is_ok());
            let mut bad = r.clone();
            let slot = which % (bad.inclusion_proof.len() + 1);
            let target = if slot == 0 { &mut bad.leaf_hash } else { &mut bad.inclusion_proof[slot - 1] };
            let mut h = Sha256Hash::from_base64(target).unwrap();
            h.0[bit / 8] ^= 1 << (bit % 8);
            *target = h.to_base64();
            prop_assert!(
                matches!(verify_receipt(&bad, &s.verifier()), Err(ReceiptError::Inclusion { .. })),
                "flip not caught"
            );
        }
    }
}
