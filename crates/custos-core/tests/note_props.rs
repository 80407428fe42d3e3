//! Property tests for signed notes: round trips, tamper detection down to the single byte,
//! and parsers that never panic and accept only what they print back unchanged.

use custos_core::note::{KeyId, Note, NoteError, NoteSigner, NoteVerifier};
use proptest::prelude::*;

/// Texts of 1 to 5 lines mixing ASCII, punctuation, non-ASCII and empty lines.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-zA-Z0-9 .,:/+=éü—€]{0,24}", 1..6)
        .prop_map(|lines| lines.join("\n") + "\n")
}

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9./_:-]{0,23}"
}

fn signed() -> impl Strategy<Value = (NoteSigner, Note)> {
    (name(), any::<[u8; 32]>(), text()).prop_map(|(name, seed, text)| {
        let signer = NoteSigner::from_seed(&name, seed).unwrap();
        let note = signer.sign(&text).unwrap();
        (signer, note)
    })
}

/// Parse bytes and verify them against `v`.
fn open(bytes: &[u8], v: &NoteVerifier) -> Result<Vec<String>, NoteError> {
    Note::from_bytes(bytes)?.verify(&[v])
}

proptest! {
    #[test]
    fn sign_then_parse_then_verify_round_trips((signer, note) in signed()) {
        let s = note.to_string();
        let parsed = Note::parse(&s).unwrap();
        prop_assert_eq!(&parsed, &note);
        prop_assert_eq!(parsed.to_string(), s);
        prop_assert_eq!(parsed.verify(&[&signer.verifier()]).unwrap(), vec![signer.name().to_owned()]);
    }

    #[test]
    fn any_single_byte_change_fails_verification(
        (signer, note) in signed(),
        pos in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let mut bytes = note.to_string().into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = bytes[i].wrapping_add(delta);
        prop_assert!(open(&bytes, &signer.verifier()).is_err(), "byte {} changed and still verified", i);
    }

    #[test]
    fn a_changed_letter_in_the_text_is_an_invalid_signature(
        seed in any::<[u8; 32]>(),
        text in "[a-z]{1,20}(\n[a-z]{0,20}){0,3}\n",
        pos in any::<prop::sample::Index>(),
        shift in 1u8..26,
    ) {
        let signer = NoteSigner::from_seed("log.example", seed).unwrap();
        let note = signer.sign(&text).unwrap();
        let letters: Vec<usize> = text.bytes().enumerate().filter(|(_, b)| b.is_ascii_lowercase()).map(|(i, _)| i).collect();
        let i = letters[pos.index(letters.len())];
        let mut bytes = note.to_string().into_bytes();
        bytes[i] = b'a' + (bytes[i] - b'a' + shift) % 26;
        prop_assert_eq!(
            open(&bytes, &signer.verifier()),
            Err(NoteError::InvalidSignature { name: "log.example".into(), key_id: signer.key_id() })
        );
    }

    #[test]
    fn a_changed_signature_bit_is_an_invalid_signature(
        (signer, note) in signed(),
        byte in 0usize..64,
        bit in 0u8..8,
    ) {
        let mut note = note;
        note.signatures[0].signature[byte] ^= 1 << bit;
        prop_assert_eq!(
            open(note.to_string().as_bytes(), &signer.verifier()),
            Err(NoteError::InvalidSignature { name: signer.name().into(), key_id: signer.key_id() })
        );
    }

    #[test]
    fn a_changed_key_id_bit_makes_the_key_unknown((signer, note) in signed(), byte in 0usize..4, bit in 0u8..8) {
        let mut note = note;
        note.signatures[0].key_id.0[byte] ^= 1 << bit;
        let id = note.signatures[0].key_id;
        prop_assert_eq!(
            open(note.to_string().as_bytes(), &signer.verifier()),
            Err(NoteError::NoVerifiedSignature { present: vec![(signer.name().to_owned(), id)] })
        );
    }

    #[test]
    fn parse_never_panics_and_accepts_only_exact_spellings(s in "([a-zA-Z0-9+/= \n\r\t]|\u{2014}|\u{2014} |\n\n){0,200}") {
        if let Ok(note) = Note::parse(&s) {
            prop_assert_eq!(note.to_string(), s);
        }
    }

    #[test]
    fn spliced_notes_never_panic_and_round_trip_when_accepted(
        (_signer, note) in signed(),
        cut in any::<prop::sample::Index>(),
        insert in "(\u{2014} |\n|[A-Za-z0-9+/=]{1,8}| ){0,4}",
    ) {
        let s = note.to_string();
        let mut at = cut.index(s.len() + 1);
        while !s.is_char_boundary(at) { at -= 1; }
        let spliced = format!("{}{}{}", &s[..at], insert, &s[at..]);
        if let Ok(parsed) = Note::parse(&spliced) {
            prop_assert_eq!(parsed.to_string(), spliced);
        }
    }

    #[test]
    fn verifier_key_parse_never_panics_and_round_trips(
        s in "[a-z.]{0,8}\\+?[0-9a-fA-F]{0,9}\\+?[A-Za-z0-9+/=]{0,48}",
    ) {
        if let Ok(v) = NoteVerifier::parse(&s) {
            prop_assert_eq!(v.to_string(), s);
        }
    }

    #[test]
    fn private_and_verifier_strings_round_trip(name in name(), seed in any::<[u8; 32]>()) {
        let signer = NoteSigner::from_seed(&name, seed).unwrap();
        let again = NoteSigner::parse_private(&signer.to_private_string()).unwrap();
        prop_assert_eq!(again.verifier(), signer.verifier());
        let v = NoteVerifier::parse(&signer.verifier().to_string()).unwrap();
        prop_assert_eq!(v.key_id(), KeyId::compute(&name, 1, v.verifying_key().as_bytes()));
    }
}
