//! Witness cosignatures (tlog-cosignature v1, Ed25519): a real cosignature by a public
//! witness, the spec's signed-message example, round trips and hostile lines.

use custos_core::Sha256Hash;
use custos_core::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use custos_core::cosignature::{
    COSIGNATURE_LEN, CosignatureError, CosignatureSigner, CosignatureVerifier, MAX_TIMESTAMP,
    cosignature_message,
};
use custos_core::note::{KeyError, KeyId, Note, NoteError, NoteSigner, NoteVerifier};

/// Same checkpoint as in tests/checkpoint.rs: a checkpoint of a public CT log, cosigned by
/// four public witnesses (recorded from the tlog_scales test suite).
const ARCHE_NOTE: &str = "arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

\u{2014} arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
\u{2014} arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
\u{2014} transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
\u{2014} witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
\u{2014} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
\u{2014} witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
";
/// Witness key of remora.n621.de (transparency-dev/formats note_cosigv1_test.go).
const REMORA_VKEY: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
/// SHA-256 of REMORA_VKEY, computed independently with Python's hashlib.
const REMORA_FINGERPRINT: &str = "042e7be45951cb4b9fc3ee76891ef78bc86fb4290597054c1a89afadbcb7ddbf";
/// Timestamp bytes 00 00 00 00 6a 12 21 20 of remora's line, decoded independently in Python.
const REMORA_TIME: u64 = 1779573024;

fn witness() -> CosignatureSigner {
    CosignatureSigner::from_seed("witness.example.org/w1", [11; 32]).unwrap()
}

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed("custos.example.org/agency-x", [42; 32]).unwrap()
}

fn checkpoint_note() -> Note {
    Checkpoint {
        origin: "custos.example.org/agency-x".into(),
        size: 7,
        root: Sha256Hash::digest(b"seven"),
        extensions: Vec::new(),
    }
    .sign(&log_signer())
    .unwrap()
}

/// The checkpoint note with `w`'s cosignature at `t` added.
fn cosigned(w: &CosignatureSigner, t: u64) -> Note {
    let mut note = checkpoint_note();
    note.add_signature(w.cosign(&note, t).unwrap()).unwrap();
    note
}

// ---- known answers ----

#[test]
fn real_witness_cosignature_verifies() {
    let remora = CosignatureVerifier::parse(REMORA_VKEY).unwrap();
    assert_eq!(remora.key_id(), KeyId([0xda, 0x77, 0xad, 0xe7]));
    assert_eq!(remora.to_string(), REMORA_VKEY);
    assert_eq!(remora.fingerprint(), REMORA_FINGERPRINT);
    let note = Note::parse(ARCHE_NOTE).unwrap();
    assert_eq!(remora.verify(&note), Ok(REMORA_TIME));
}

#[test]
fn real_witness_cosignature_fails_on_any_other_checkpoint() {
    let remora = CosignatureVerifier::parse(REMORA_VKEY).unwrap();
    let mut note = Note::parse(ARCHE_NOTE).unwrap();
    note.text = note.text.replace("1432088532", "1432088533");
    assert_eq!(
        remora.verify(&note),
        Err(CosignatureError::Invalid {
            name: "remora.n621.de".into(),
            key_id: remora.key_id(),
            timestamp: REMORA_TIME
        })
    );
}

#[test]
fn signed_message_matches_the_spec_example() {
    // tlog-cosignature "Ed25519 signed message" example.
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(
        cosignature_message(1679315147, body),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    assert_eq!(
        cosignature_message(0, body)[..22],
        *b"cosignature/v1\ntime 0\n"
    );
}

#[test]
fn cosignature_key_id_uses_type_0x04() {
    let seed = [11; 32];
    let w = CosignatureSigner::from_seed("witness.example.org/w1", seed).unwrap();
    let n = NoteSigner::from_seed("witness.example.org/w1", seed).unwrap();
    assert_eq!(w.verifier().verifying_key(), n.verifier().verifying_key());
    assert_ne!(w.key_id(), n.key_id());
    assert_eq!(
        w.key_id(),
        KeyId::compute(
            "witness.example.org/w1",
            0x04,
            n.verifier().verifying_key().as_bytes()
        )
    );
    assert!(
        w.verifier()
            .to_string()
            .split('+')
            .nth(2)
            .unwrap()
            .starts_with("B")
    ); // 0x04 -> "B"
}

// ---- round trips ----

#[test]
fn cosign_then_verify_returns_the_timestamp() {
    let w = witness();
    for t in [0, 1, 1_779_573_024, MAX_TIMESTAMP] {
        let note = cosigned(&w, t);
        let reparsed = Note::parse(&note.to_string()).unwrap();
        assert_eq!(w.verifier().verify(&reparsed), Ok(t));
        let line = &reparsed.signatures[1];
        assert_eq!(line.signature.len(), COSIGNATURE_LEN);
        assert_eq!(line.signature[..8], t.to_be_bytes());
    }
}

#[test]
fn log_and_witness_lines_do_not_stand_in_for_each_other() {
    let w = witness();
    let note = cosigned(&w, 5);
    let log = log_signer().verifier();
    // The log's verification ignores the witness line; the checkpoint still opens.
    assert_eq!(note.verify(&[&log]).unwrap(), vec![log.name().to_owned()]);
    assert!(open_checkpoint(&note.to_string(), &log).is_ok());
    // A witness key does not verify as a log key even with the same name and key.
    let as_log = NoteVerifier::new(w.name(), *w.verifier().verifying_key()).unwrap();
    assert!(matches!(
        note.verify(&[&as_log]),
        Err(NoteError::NoVerifiedSignature { .. })
    ));
    // A note without the witness line has no cosignature.
    assert_eq!(
        w.verifier().verify(&checkpoint_note()),
        Err(CosignatureError::NotFound {
            name: w.name().into(),
            key_id: w.key_id()
        })
    );
}

#[test]
fn private_string_round_trips_and_debug_hides_it() {
    let w = witness();
    let s = w.to_private_string();
    let again = CosignatureSigner::parse_private(&s).unwrap();
    assert_eq!(again.verifier(), w.verifier());
    assert_eq!(
        CosignatureVerifier::parse(&w.verifier().to_string()).unwrap(),
        w.verifier()
    );
    let data = s.splitn(5, '+').nth(4).unwrap();
    assert!(!format!("{w:?}").contains(data));
}

// ---- hostile ----

#[test]
fn timestamps_beyond_2_63_are_refused() {
    let w = witness();
    let note = checkpoint_note();
    assert_eq!(
        w.cosign(&note, MAX_TIMESTAMP + 1),
        Err(CosignatureError::TimestampTooLarge { timestamp: 1 << 63 })
    );
    // A line claiming such a time is refused before any signature check.
    let mut forged = cosigned(&w, 9);
    forged.signatures[1].signature[0] = 0x80;
    assert_eq!(
        w.verifier().verify(&forged),
        Err(CosignatureError::TimestampTooLarge {
            timestamp: (1 << 63) | 9
        })
    );
}

#[test]
fn changed_timestamp_text_or_signature_is_invalid() {
    let w = witness();
    let invalid = |timestamp| {
        Err(CosignatureError::Invalid {
            name: w.name().into(),
            key_id: w.key_id(),
            timestamp,
        })
    };
    let mut later = cosigned(&w, 100);
    later.signatures[1].signature[7] = 101;
    assert_eq!(w.verifier().verify(&later), invalid(101));
    let mut other_text = cosigned(&w, 100);
    other_text.text = other_text.text.replace("\n7\n", "\n8\n");
    assert_eq!(w.verifier().verify(&other_text), invalid(100));
    let mut bad_sig = cosigned(&w, 100);
    bad_sig.signatures[1].signature[40] ^= 0x10;
    assert_eq!(w.verifier().verify(&bad_sig), invalid(100));
}

#[test]
fn wrong_length_and_duplicate_lines_are_refused() {
    let w = witness();
    let mut short = cosigned(&w, 1);
    short.signatures[1].signature.pop();
    assert_eq!(
        w.verifier().verify(&short),
        Err(CosignatureError::BadLength {
            name: w.name().into(),
            key_id: w.key_id(),
            expected: 72,
            got: 71
        })
    );
    let mut twice = cosigned(&w, 1);
    let line = twice.signatures[1].clone();
    twice.signatures.push(line);
    assert_eq!(
        w.verifier().verify(&twice),
        Err(CosignatureError::Duplicate {
            name: w.name().into(),
            key_id: w.key_id(),
            count: 2
        })
    );
}

#[test]
fn only_checkpoints_are_cosigned() {
    let note = log_signer().sign("hello\n").unwrap();
    assert_eq!(
        witness().cosign(&note, 1),
        Err(CosignatureError::Checkpoint(CheckpointError::MissingSize))
    );
}

#[test]
fn witness_key_strings_are_checked() {
    let note_key = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    assert_eq!(
        CosignatureVerifier::parse(note_key),
        Err(CosignatureError::Key(KeyError::WrongKeyType {
            expected: 0x04,
            got: 0x01
        }))
    );
    assert_eq!(
        CosignatureVerifier::parse(&REMORA_VKEY.replace("da77ade7", "da77ade8")),
        Err(CosignatureError::Key(KeyError::KeyIdMismatch {
            declared: KeyId([0xda, 0x77, 0xad, 0xe8]),
            computed: KeyId([0xda, 0x77, 0xad, 0xe7]),
        }))
    );
    let note_skey = NoteSigner::from_seed("w", [1; 32])
        .unwrap()
        .to_private_string();
    assert_eq!(
        CosignatureSigner::parse_private(&note_skey).unwrap_err(),
        CosignatureError::Key(KeyError::WrongKeyType {
            expected: 0x04,
            got: 0x01
        })
    );
    assert!(matches!(
        CosignatureSigner::from_seed("w+1", [1; 32]),
        Err(CosignatureError::Key(KeyError::InvalidName(_)))
    ));
}

#[test]
fn error_messages_say_what_failed() {
    let w = witness();
    let e = w.verifier().verify(&checkpoint_note()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "no cosignature by witness witness.example.org/w1 (key ID {}) on the checkpoint",
            w.key_id()
        )
    );
}
