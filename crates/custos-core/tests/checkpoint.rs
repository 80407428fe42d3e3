//! Checkpoints: known answers (C2SP tlog-checkpoint example, a real signed checkpoint of a
//! public log, the tlog_tiles test vector), sign/open round trips and hostile bodies.

use custos_core::Sha256Hash;
use custos_core::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use custos_core::note::{KeyId, Note, NoteError, NoteSigner, NoteVerifier};

/// Body of the c2sp.org/tlog-checkpoint example.
const SPEC_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

/// A checkpoint of the public CT log arche2025h1.staging.ct.transparency.dev, signed by the
/// log (an RFC 6962 type-0x05 line and an Ed25519 line under the same name) and cosigned by
/// four witnesses. Recorded from the test suite of the Python package tlog_scales.
pub const ARCHE_NOTE: &str = "arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

\u{2014} arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
\u{2014} arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
\u{2014} transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
\u{2014} witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
\u{2014} remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
\u{2014} witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
";
const ARCHE_VKEY: &str =
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed("custos.example.org/agency-x", [42; 32]).unwrap()
}

fn sample() -> Checkpoint {
    Checkpoint {
        origin: "custos.example.org/agency-x".to_owned(),
        size: 20852163,
        root: Sha256Hash::digest(b"root"),
        extensions: Vec::new(),
    }
}

/// A body with line 2 replaced.
fn with_size(size_line: &str) -> String {
    format!("example.com/log\n{size_line}\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
}

fn body_err(text: &str) -> CheckpointError {
    Checkpoint::parse_text(text).expect_err("hostile checkpoint body must be refused")
}

// ---- known answers ----

#[test]
fn spec_example_body_parses_and_round_trips() {
    let cp = Checkpoint::parse_text(SPEC_BODY).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(
        cp.root.to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(cp.extensions.is_empty());
    assert_eq!(cp.to_note_text(), SPEC_BODY);
}

#[test]
fn real_public_log_checkpoint_opens() {
    let log = NoteVerifier::parse(ARCHE_VKEY).unwrap();
    let (cp, note) = open_checkpoint(ARCHE_NOTE, &log).unwrap();
    assert_eq!(cp.origin, "arche2025h1.staging.ct.transparency.dev");
    assert_eq!(cp.size, 1432088532);
    assert_eq!(
        cp.root.to_base64(),
        "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro="
    );
    // Six lines; the log's type-0x05 line shares its name but not its key ID, so it is ignored.
    assert_eq!(note.signatures.len(), 6);
    assert_eq!(note.signatures[0].key_id, KeyId([0xcd, 0x33, 0x3c, 0xb1]));
    assert_eq!(note.to_string(), ARCHE_NOTE);
}

#[test]
fn tlog_tiles_vector_formats_byte_for_byte() {
    // tlog_tiles 0.2 checkpoint.rs test: root = RFC 6962 leaf hash of "hello world".
    let cp = Checkpoint {
        origin: "example.com/origin".to_owned(),
        size: 123,
        root: Sha256Hash::digest(b"\x00hello world"),
        extensions: vec!["abc".to_owned(), "def".to_owned()],
    };
    let text = "example.com/origin\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\nabc\ndef\n";
    assert_eq!(cp.to_note_text(), text);
    assert_eq!(Checkpoint::parse_text(text).unwrap(), cp);
}

// ---- round trips ----

#[test]
fn sign_then_open_round_trips() {
    let signer = log_signer();
    for cp in [
        sample(),
        Checkpoint {
            size: 0,
            root: Sha256Hash::empty(),
            ..sample()
        },
        Checkpoint {
            size: u64::MAX,
            extensions: vec!["ext one".into(), "— two".into()],
            ..sample()
        },
    ] {
        let note = cp.sign(&signer).unwrap();
        let text = note.to_string();
        let (opened, reparsed) = open_checkpoint(&text, &signer.verifier()).unwrap();
        assert_eq!(opened, cp);
        assert_eq!(reparsed, note);
    }
}

#[test]
fn empty_tree_is_size_zero() {
    let text = format!("o\n0\n{}\n", Sha256Hash::empty().to_base64());
    let cp = Checkpoint::parse_text(&text).unwrap();
    assert_eq!((cp.size, cp.root), (0, Sha256Hash::empty()));
}

// ---- opening: signature first ----

#[test]
fn open_with_the_wrong_key_reports_no_trusted_signature() {
    let note = sample().sign(&log_signer()).unwrap().to_string();
    let other = NoteSigner::from_seed("custos.example.org/agency-x", [43; 32]).unwrap();
    assert_eq!(
        open_checkpoint(&note, &other.verifier()),
        Err(CheckpointError::Note(NoteError::NoVerifiedSignature {
            present: vec![(
                "custos.example.org/agency-x".to_owned(),
                log_signer().key_id()
            )]
        }))
    );
}

#[test]
fn a_changed_size_or_root_breaks_the_log_signature() {
    let signer = log_signer();
    let note = sample().sign(&signer).unwrap().to_string();
    let want = Err(CheckpointError::Note(NoteError::InvalidSignature {
        name: signer.name().to_owned(),
        key_id: signer.key_id(),
    }));
    assert_eq!(
        open_checkpoint(
            &note.replacen("20852163", "20852164", 1),
            &signer.verifier()
        ),
        want
    );
    let root = sample().root.to_base64();
    let other_root = Sha256Hash::digest(b"other").to_base64();
    assert_eq!(
        open_checkpoint(&note.replacen(&root, &other_root, 1), &signer.verifier()),
        want
    );
}

#[test]
fn the_body_is_not_read_before_the_signature_verifies() {
    let signer = log_signer();
    let bad_body = signer.sign("not a checkpoint\n").unwrap().to_string();
    let stranger = NoteSigner::from_seed("stranger", [1; 32]).unwrap();
    // Unverified: the malformed body is never looked at.
    assert!(matches!(
        open_checkpoint(&bad_body, &stranger.verifier()),
        Err(CheckpointError::Note(NoteError::NoVerifiedSignature { .. }))
    ));
    // Verified: now the body is parsed and refused.
    assert_eq!(
        open_checkpoint(&bad_body, &signer.verifier()),
        Err(CheckpointError::MissingSize)
    );
}

// ---- hostile bodies ----

#[test]
fn tree_size_with_leading_zero_is_refused() {
    assert_eq!(
        body_err(&with_size("007")),
        CheckpointError::SizeLeadingZero { got: "007".into() }
    );
    assert_eq!(
        body_err(&with_size("00")),
        CheckpointError::SizeLeadingZero { got: "00".into() }
    );
}

#[test]
fn tree_size_that_is_not_plain_decimal_is_refused() {
    for s in [
        "-1", "+5", " 5", "5 ", "0x10", "1e3", "\u{663}", "1_000", "１",
    ] {
        assert_eq!(
            body_err(&with_size(s)),
            CheckpointError::SizeNotDecimal { got: s.into() },
            "size {s:?}"
        );
    }
    assert_eq!(body_err(&with_size("")), CheckpointError::EmptySize);
}

#[test]
fn tree_size_beyond_u64_is_refused() {
    assert_eq!(
        body_err(&with_size("18446744073709551616")),
        CheckpointError::SizeOverflow {
            got: "18446744073709551616".into()
        }
    );
    let long = "9".repeat(40);
    assert_eq!(
        body_err(&with_size(&long)),
        CheckpointError::SizeOverflow {
            got: format!("{}…", "9".repeat(24))
        }
    );
    assert_eq!(
        Checkpoint::parse_text(&with_size("18446744073709551615"))
            .unwrap()
            .size,
        u64::MAX
    );
}

#[test]
fn missing_lines_and_empty_origin_are_refused() {
    assert_eq!(body_err("example.com/log\n"), CheckpointError::MissingSize);
    assert_eq!(
        body_err("example.com/log\n5\n"),
        CheckpointError::MissingRootHash
    );
    assert_eq!(
        body_err(&format!("\n5\n{}\n", Sha256Hash::empty().to_base64())),
        CheckpointError::EmptyOrigin
    );
    assert_eq!(body_err(""), CheckpointError::Note(NoteError::EmptyText));
    assert_eq!(
        body_err(SPEC_BODY.trim_end()),
        CheckpointError::Note(NoteError::TextMissingFinalNewline)
    );
}

#[test]
fn bad_root_hashes_are_refused() {
    let at = |root: &str| format!("example.com/log\n5\n{root}\n");
    assert_eq!(
        body_err(&at("not base64!")),
        CheckpointError::RootHashBase64
    );
    assert_eq!(
        body_err(&at("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I")),
        CheckpointError::RootHashBase64
    );
    assert_eq!(
        body_err(&at("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=")),
        CheckpointError::RootHashBase64
    );
    // Hex digits are base64 characters: a hex root decodes, to 48 bytes.
    assert_eq!(
        body_err(&at(&Sha256Hash::empty().to_hex())),
        CheckpointError::RootHashLength { got: 48 }
    );
    assert_eq!(
        body_err(&at("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
        CheckpointError::RootHashLength { got: 30 }
    );
    assert_eq!(
        body_err(&at("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")),
        CheckpointError::RootHashLength { got: 34 }
    );
    assert_eq!(
        body_err(&at("")),
        CheckpointError::RootHashLength { got: 0 }
    );
}

#[test]
fn empty_extension_lines_are_refused_with_line_number() {
    assert_eq!(
        body_err(&format!("{SPEC_BODY}\n")),
        CheckpointError::EmptyExtensionLine { line: 4 }
    );
    assert_eq!(
        body_err(&format!("{SPEC_BODY}a\n\nb\n")),
        CheckpointError::EmptyExtensionLine { line: 5 }
    );
}

#[test]
fn control_characters_in_a_body_are_refused() {
    assert_eq!(
        body_err(&SPEC_BODY.replace('\n', "\r\n")),
        CheckpointError::Note(NoteError::ControlCharacter {
            line: 1,
            column: 28,
            code: 0x0d
        })
    );
}

#[test]
fn checkpoints_that_would_not_parse_back_are_not_signed() {
    let signer = log_signer();
    let cases = [
        (
            Checkpoint {
                origin: String::new(),
                ..sample()
            },
            CheckpointError::EmptyOrigin,
        ),
        (
            Checkpoint {
                origin: "a\n5".into(),
                ..sample()
            },
            CheckpointError::FieldContainsNewline {
                field: "origin".into(),
            },
        ),
        (
            Checkpoint {
                extensions: vec!["ok".into(), "x\ny".into()],
                ..sample()
            },
            CheckpointError::FieldContainsNewline {
                field: "extension line 5".into(),
            },
        ),
        (
            Checkpoint {
                extensions: vec![String::new()],
                ..sample()
            },
            CheckpointError::EmptyExtensionLine { line: 4 },
        ),
        (
            Checkpoint {
                origin: "tab\there".into(),
                ..sample()
            },
            CheckpointError::Note(NoteError::ControlCharacter {
                line: 1,
                column: 4,
                code: 9,
            }),
        ),
    ];
    for (cp, want) in cases {
        assert_eq!(cp.sign(&signer), Err(want.clone()), "{cp:?}");
    }
}

#[test]
fn error_messages_say_what_failed() {
    assert_eq!(
        body_err(&with_size("007")).to_string(),
        "checkpoint tree size (line 2) \"007\" has a leading zero"
    );
    let e = open_checkpoint(ARCHE_NOTE, &log_signer().verifier()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "checkpoint note: note has no signature by a trusted key (signatures present: {})",
            Note::parse(ARCHE_NOTE)
                .unwrap()
                .signatures
                .iter()
                .map(|s| format!("{}+{}", s.name, s.key_id))
                .collect::<Vec<_>>()
                .join(", ")
        )
    );
}
