//! Signed notes, checkpoints and keys (docs/FORMATS.md §5): parsing never panics; a note that
//! parses is written back byte for byte; checkpoint text that parses is written back byte for
//! byte; verifying with the fixtures' log and witness keys never panics. Seeds:
//! `fuzz/seeds/note` (the fixtures' checkpoints and keys).
#![no_main]

use custos_core::checkpoint::{Checkpoint, open_checkpoint};
use custos_core::cosignature::CosignatureVerifier;
use custos_core::note::{Note, NoteVerifier};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const LOG_KEY: &str = include_str!("../../tests/fixtures/bundles/log.pub");
const WITNESS_KEY: &str = include_str!("../../tests/fixtures/bundles/witness.pub");

fn keys() -> &'static (NoteVerifier, CosignatureVerifier) {
    static KEYS: OnceLock<(NoteVerifier, CosignatureVerifier)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            NoteVerifier::parse(LOG_KEY.trim()).unwrap(),
            CosignatureVerifier::parse(WITNESS_KEY.trim()).unwrap(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (log, witness) = keys();
    if let Ok(note) = Note::from_bytes(data) {
        assert_eq!(
            note.to_string().as_bytes(),
            data,
            "a parsed note is written back as it was"
        );
        let _ = note.verify(&[log]);
        let _ = witness.verify(&note);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = open_checkpoint(text, log);
    if let Ok(cp) = Checkpoint::parse_text(text) {
        assert_eq!(
            cp.to_note_text(),
            text,
            "checkpoint text is written back as it was"
        );
    }
    if let Ok(k) = NoteVerifier::parse(text) {
        assert_eq!(NoteVerifier::parse(&k.to_string()).ok().as_ref(), Some(&k));
    }
    let _ = CosignatureVerifier::parse(text);
});
