//! Property tests for checkpoints: body round trips, signed round trips, single-byte tamper
//! detection, and a body parser that accepts only the spelling it writes.

use custos_core::Sha256Hash;
use custos_core::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use custos_core::note::{NoteError, NoteSigner};
use proptest::prelude::*;

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        "[a-zA-Z0-9./:_-][a-zA-Z0-9./:_ -]{0,30}",
        any::<u64>(),
        any::<[u8; 32]>(),
        prop::collection::vec("[ -~é—]{1,20}", 0..3),
    )
        .prop_map(|(origin, size, root, extensions)| Checkpoint {
            origin,
            size,
            root: Sha256Hash(root),
            extensions,
        })
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed("custos.example.org/agency-x", [42; 32]).unwrap()
}

proptest! {
    #[test]
    fn body_round_trips(cp in checkpoint()) {
        prop_assert_eq!(Checkpoint::parse_text(&cp.to_note_text()).unwrap(), cp);
    }

    #[test]
    fn sign_then_open_round_trips(cp in checkpoint()) {
        let s = signer();
        let note = cp.sign(&s).unwrap();
        let (opened, _) = open_checkpoint(&note.to_string(), &s.verifier()).unwrap();
        prop_assert_eq!(opened, cp);
    }

    #[test]
    fn any_single_byte_change_fails_to_open(
        cp in checkpoint(),
        pos in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let s = signer();
        let mut bytes = cp.sign(&s).unwrap().to_string().into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = bytes[i].wrapping_add(delta);
        // Bytes that are not UTF-8 cannot even be handed to open_checkpoint.
        if let Ok(text) = std::str::from_utf8(&bytes) {
            prop_assert!(open_checkpoint(text, &s.verifier()).is_err(), "byte {} changed and still opened", i);
        }
    }

    #[test]
    fn another_size_under_the_old_signature_is_an_invalid_signature(cp in checkpoint(), other in any::<u64>()) {
        prop_assume!(other != cp.size);
        let s = signer();
        let mut note = cp.sign(&s).unwrap();
        note.text = Checkpoint { size: other, ..cp }.to_note_text();
        prop_assert_eq!(
            open_checkpoint(&note.to_string(), &s.verifier()),
            Err(CheckpointError::Note(NoteError::InvalidSignature { name: s.name().into(), key_id: s.key_id() }))
        );
    }

    #[test]
    fn body_parser_never_panics_and_accepts_only_its_own_spelling(
        s in "([a-zA-Z0-9+/=. -]{0,12}\n){0,6}",
    ) {
        if let Ok(cp) = Checkpoint::parse_text(&s) {
            prop_assert_eq!(cp.to_note_text(), s);
        }
    }

    #[test]
    fn sizes_parse_exactly_as_written(n in any::<u64>()) {
        let text = format!("o\n{n}\n{}\n", Sha256Hash::empty().to_base64());
        prop_assert_eq!(Checkpoint::parse_text(&text).unwrap().size, n);
        let padded = format!("o\n0{n}\n{}\n", Sha256Hash::empty().to_base64());
        prop_assert!(
            matches!(Checkpoint::parse_text(&padded), Err(CheckpointError::SizeLeadingZero { .. })),
            "leading zero accepted",
        );
    }
}
