//! Property tests for witness cosignatures: round trips at any valid time, and any change to
//! the cosigned checkpoint text or the cosignature line is detected.

use custos_core::Sha256Hash;
use custos_core::checkpoint::Checkpoint;
use custos_core::cosignature::{CosignatureError, CosignatureSigner, MAX_TIMESTAMP};
use custos_core::note::{Note, NoteSigner};
use proptest::prelude::*;

fn cosigned(seed: [u8; 32], size: u64, t: u64) -> (CosignatureSigner, Note) {
    let log = NoteSigner::from_seed("custos.example.org/agency-x", [42; 32]).unwrap();
    let cp = Checkpoint {
        origin: "custos.example.org/agency-x".into(),
        size,
        root: Sha256Hash::digest(&size.to_be_bytes()),
        extensions: Vec::new(),
    };
    let mut note = cp.sign(&log).unwrap();
    let w = CosignatureSigner::from_seed("witness.example.org/w1", seed).unwrap();
    note.add_signature(w.cosign(&note, t).unwrap()).unwrap();
    (w, note)
}

proptest! {
    #[test]
    fn cosign_then_verify_round_trips(seed in any::<[u8; 32]>(), size in any::<u64>(), t in 0..=MAX_TIMESTAMP) {
        let (w, note) = cosigned(seed, size, t);
        let reparsed = Note::parse(&note.to_string()).unwrap();
        prop_assert_eq!(w.verifier().verify(&reparsed), Ok(t));
    }

    #[test]
    fn any_single_byte_change_fails_the_cosignature(
        seed in any::<[u8; 32]>(),
        size in any::<u64>(),
        t in 0..=MAX_TIMESTAMP,
        pos in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let (w, note) = cosigned(seed, size, t);
        let mut bytes = note.to_string().into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = bytes[i].wrapping_add(delta);
        // The log's line may be hit instead; that leaves the cosignature intact, so only
        // changes to the text or to the witness line must fail.
        let log_line = note.signatures[0].to_string().len() + 1;
        let witness_line_start = note.text.len() + 1 + log_line;
        if i < note.text.len() || i >= witness_line_start {
            let result = Note::from_bytes(&bytes).map(|n| w.verifier().verify(&n));
            prop_assert!(!matches!(result, Ok(Ok(_))), "byte {} changed and cosignature still verified", i);
        }
    }

    #[test]
    fn a_changed_timestamp_is_invalid(seed in any::<[u8; 32]>(), t in 0..MAX_TIMESTAMP, other in 0..=MAX_TIMESTAMP) {
        prop_assume!(other != t);
        let (w, mut note) = cosigned(seed, 3, t);
        note.signatures[1].signature[..8].copy_from_slice(&other.to_be_bytes());
        prop_assert_eq!(
            w.verifier().verify(&note),
            Err(CosignatureError::Invalid { name: w.name().into(), key_id: w.key_id(), timestamp: other })
        );
    }
}
