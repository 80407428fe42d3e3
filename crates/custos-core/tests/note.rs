//! Signed notes: known-answer vectors from C2SP signed-note and golang.org/x/mod/sumdb/note,
//! the verification rules, and hostile inputs that must fail with a specific error.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use custos_core::note::{
    KeyError, KeyId, KeyNameError, KeyPart, MAX_SIGNATURES, Note, NoteError, NoteSignature,
    NoteSigner, NoteVerifier, SignatureLineError,
};

// c2sp.org/signed-note, "Verifier keys" example.
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
/// SHA-256 of SPEC_VKEY, computed independently with Python's hashlib.
const SPEC_VKEY_FINGERPRINT: &str =
    "a05425c8f5f4739a4a96992c9dbd587dbe22ea38733b16167f399d44efb9d9f0";

// golang.org/x/mod/sumdb/note, note.go documentation and note_test.go.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn v(s: &str) -> NoteVerifier {
    NoteVerifier::parse(s).expect("test key parses")
}

/// The base64 key data of a signer key (after the fourth '+'; base64 may contain '+').
fn key_data(skey: &str) -> &str {
    skey.splitn(5, '+').nth(4).unwrap()
}

fn go_note() -> String {
    format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}")
}

/// A verifier key string for arbitrary key data under `name`, with the correct key ID, so
/// that a test fails only for the rule it names.
fn vkey_with_data(name: &str, data: &[u8]) -> String {
    format!(
        "{name}+{}+{}",
        KeyId::compute(name, data[0], &data[1..]).to_hex(),
        B64.encode(data)
    )
}

// ---- known answers ----

#[test]
fn spec_example_key_and_note_verify() {
    let key = v(SPEC_VKEY);
    assert_eq!(key.name(), "example.com/foo");
    assert_eq!(key.key_id(), KeyId([0x53, 0x0d, 0x90, 0x3a]));
    assert_eq!(key.key_id().as_u32(), 0x530d_903a);
    assert_eq!(key.to_string(), SPEC_VKEY);
    let note = Note::parse(SPEC_NOTE).unwrap();
    assert_eq!(note.text, "This is an example message.\n");
    assert_eq!(
        note.verify(&[&key]).unwrap(),
        vec!["example.com/foo".to_owned()]
    );
    assert_eq!(note.to_string(), SPEC_NOTE);
}

#[test]
fn spec_example_fingerprint_is_sha256_of_key_string() {
    assert_eq!(v(SPEC_VKEY).fingerprint(), SPEC_VKEY_FINGERPRINT);
}

#[test]
fn go_signer_key_signs_the_documented_note_byte_for_byte() {
    let signer = NoteSigner::parse_private(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id().to_hex(), "c74f20a3");
    assert_eq!(signer.verifier().to_string(), PETER_VKEY);
    assert_eq!(signer.to_private_string().as_str(), PETER_SKEY);
    let note = signer.sign(GO_TEXT).unwrap();
    assert_eq!(note.to_string(), format!("{GO_TEXT}\n{PETER_SIG}"));
}

#[test]
fn go_two_signer_note_verifies_per_trusted_key() {
    let (peter, enoch) = (v(PETER_VKEY), v(ENOCH_VKEY));
    let note = Note::parse(&go_note()).unwrap();
    assert_eq!(note.signatures.len(), 2);
    // Enoch's signature is from an unknown key: ignored.
    assert_eq!(
        note.verify(&[&peter]).unwrap(),
        vec!["PeterNeumann".to_owned()]
    );
    assert_eq!(
        note.verify(&[&enoch, &peter]).unwrap(),
        vec!["PeterNeumann".to_owned(), "EnochRoot".to_owned()]
    );
    assert_eq!(
        note.verify(&[]),
        Err(NoteError::NoVerifiedSignature {
            present: vec![
                ("PeterNeumann".to_owned(), KeyId([0xc7, 0x4f, 0x20, 0xa3])),
                ("EnochRoot".to_owned(), KeyId([0xaf, 0x0c, 0xfe, 0x78])),
            ]
        })
    );
    assert_eq!(note.to_string(), go_note());
}

#[test]
fn go_invalid_signature_vector_rejects_the_note() {
    // note_test.go "Invalid signature": four characters spliced into Peter's base64.
    let bad = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let note = Note::parse(&format!("{GO_TEXT}\n{bad}")).unwrap();
    assert_eq!(
        note.verify(&[&v(PETER_VKEY)]),
        Err(NoteError::InvalidSignature {
            name: "PeterNeumann".to_owned(),
            key_id: KeyId([0xc7, 0x4f, 0x20, 0xa3])
        })
    );
}

// ---- verification rules ----

#[test]
fn known_key_with_bad_signature_rejects_even_if_another_verifies() {
    let peter = NoteSigner::parse_private(PETER_SKEY).unwrap();
    let other = NoteSigner::from_seed("other.example/log", [7; 32]).unwrap();
    let mut note = peter.sign(GO_TEXT).unwrap();
    note.sign_with(&other).unwrap();
    // Corrupt the second (known) signature; the first still verifies.
    note.signatures[1].signature[10] ^= 1;
    assert_eq!(
        note.verify(&[&peter.verifier(), &other.verifier()]),
        Err(NoteError::InvalidSignature {
            name: "other.example/log".to_owned(),
            key_id: other.key_id()
        })
    );
}

#[test]
fn same_name_other_key_id_and_same_id_other_name_are_ignored() {
    let signer = NoteSigner::from_seed("log.example/a", [1; 32]).unwrap();
    let mut note = signer.sign("hello\n").unwrap();
    // A line with the trusted name but another key ID, and one with the trusted key ID under
    // another name: both unknown keys, so ignored even though their bytes are garbage.
    note.signatures.push(NoteSignature {
        name: "log.example/a".to_owned(),
        key_id: KeyId([0, 0, 0, 0]),
        signature: vec![0; 64],
    });
    note.signatures.push(NoteSignature {
        name: "log.example/b".to_owned(),
        key_id: signer.key_id(),
        signature: vec![0; 64],
    });
    let reparsed = Note::parse(&note.to_string()).unwrap();
    assert_eq!(
        reparsed.verify(&[&signer.verifier()]).unwrap(),
        vec!["log.example/a".to_owned()]
    );
}

/// Seeds 102815 and 103009 (big-endian in the first four bytes) give two keys whose key IDs
/// under "collide.example/log" are both c937ef4a, found by a birthday search.
fn colliding_signers() -> (NoteSigner, NoteSigner) {
    let mk = |n: u32| {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&n.to_be_bytes());
        NoteSigner::from_seed("collide.example/log", seed).unwrap()
    };
    (mk(102815), mk(103009))
}

#[test]
fn colliding_key_id_gets_a_signature_failure_not_acceptance() {
    let (a, b) = colliding_signers();
    assert_eq!(a.key_id(), b.key_id());
    assert_eq!(a.key_id().to_hex(), "c937ef4a");
    let note = a.sign("rotate me\n").unwrap();
    assert_eq!(
        note.verify(&[&a.verifier()]).unwrap(),
        vec!["collide.example/log".to_owned()]
    );
    // signed-note: a colliding key "will get a signature verification failure".
    assert_eq!(
        note.verify(&[&b.verifier()]),
        Err(NoteError::InvalidSignature {
            name: "collide.example/log".to_owned(),
            key_id: a.key_id()
        })
    );
    assert_eq!(
        note.verify(&[&a.verifier(), &b.verifier()]),
        Err(NoteError::AmbiguousVerifier {
            name: "collide.example/log".to_owned(),
            key_id: a.key_id()
        })
    );
    // The same key listed twice is not ambiguous.
    assert!(note.verify(&[&a.verifier(), &a.verifier()]).is_ok());
}

#[test]
fn replaced_text_fails_with_invalid_signature() {
    let signer = NoteSigner::from_seed("log.example", [2; 32]).unwrap();
    let mut note = signer.sign("size 10\n").unwrap();
    note.text = "size 11\n".to_owned();
    assert_eq!(
        note.verify(&[&signer.verifier()]),
        Err(NoteError::InvalidSignature {
            name: "log.example".to_owned(),
            key_id: signer.key_id()
        })
    );
}

#[test]
fn text_with_blank_lines_round_trips() {
    let signer = NoteSigner::from_seed("log.example", [3; 32]).unwrap();
    for text in [
        "\n",
        "a\n\nb\n",
        "a\n\n",
        "a\n\n\n",
        "\u{2014} not a signature\n",
    ] {
        let note = signer.sign(text).unwrap();
        let parsed = Note::parse(&note.to_string()).unwrap();
        assert_eq!(parsed, note, "text {text:?}");
        assert!(parsed.verify(&[&signer.verifier()]).is_ok());
    }
}

#[test]
fn add_signature_replaces_the_same_key_and_limits_count() {
    let signer = NoteSigner::from_seed("log.example", [4; 32]).unwrap();
    let mut note = Note::new("x\n").unwrap();
    note.add_signature(NoteSignature {
        name: "log.example".into(),
        key_id: signer.key_id(),
        signature: vec![1],
    })
    .unwrap();
    note.sign_with(&signer).unwrap();
    assert_eq!(note.signatures.len(), 1);
    assert!(note.verify(&[&signer.verifier()]).is_ok());
    assert_eq!(
        note.add_signature(NoteSignature {
            name: "a b".into(),
            key_id: KeyId([0; 4]),
            signature: vec![1]
        }),
        Err(NoteError::BadSignature(SignatureLineError::InvalidName(
            KeyNameError::Space {
                position: 2,
                code: 0x20
            }
        )))
    );
    for i in 1..MAX_SIGNATURES {
        note.add_signature(NoteSignature {
            name: format!("w{i}"),
            key_id: KeyId([0; 4]),
            signature: vec![1],
        })
        .unwrap();
    }
    assert_eq!(
        note.add_signature(NoteSignature {
            name: "one.more".into(),
            key_id: KeyId([0; 4]),
            signature: vec![1]
        }),
        Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES
        })
    );
}

// ---- keys ----

#[test]
fn signer_from_seed_round_trips_through_private_string() {
    let signer = NoteSigner::from_seed("custos.example.org/agency-x", [9; 32]).unwrap();
    let s = signer.to_private_string();
    assert!(s.starts_with("PRIVATE+KEY+custos.example.org/agency-x+"));
    let again = NoteSigner::parse_private(&s).unwrap();
    assert_eq!(again.key_id(), signer.key_id());
    assert_eq!(again.verifier(), signer.verifier());
    assert_eq!(v(&signer.verifier().to_string()), signer.verifier());
    assert_eq!(again.signing_key().to_bytes(), [9; 32]);
}

#[test]
fn debug_output_never_contains_the_secret() {
    let signer = NoteSigner::parse_private(PETER_SKEY).unwrap();
    let dbg = format!("{signer:?}");
    assert!(dbg.contains("PeterNeumann"));
    let seed_b64 = key_data(PETER_SKEY);
    assert!(
        !dbg.contains(seed_b64) && !dbg.contains("AYEKFALV"),
        "{dbg}"
    );
    assert!(!dbg.contains(&hex::encode(signer.signing_key().to_bytes())));
    let key_dbg = format!("{:?}", signer.signing_key());
    assert!(!key_dbg.contains(&hex::encode(signer.signing_key().to_bytes())));
}

#[test]
fn verifier_key_errors_name_the_part() {
    let cases: Vec<(String, KeyError)> = vec![
        (
            "".into(),
            KeyError::MissingPart {
                part: KeyPart::KeyId,
            },
        ),
        (
            "example.com/foo".into(),
            KeyError::MissingPart {
                part: KeyPart::KeyId,
            },
        ),
        (
            "example.com/foo+530d903a".into(),
            KeyError::MissingPart {
                part: KeyPart::KeyData,
            },
        ),
        (
            "example.com/foo+530d903a+".into(),
            KeyError::MissingPart {
                part: KeyPart::KeyData,
            },
        ),
        (
            SPEC_VKEY.replace("530d903a", "530D903A"),
            KeyError::KeyIdFormat {
                got: "530D903A".into(),
            },
        ),
        (
            SPEC_VKEY.replace("530d903a", "530d903"),
            KeyError::KeyIdFormat {
                got: "530d903".into(),
            },
        ),
        (
            SPEC_VKEY.replace("530d903a", "+30d903a"),
            KeyError::KeyIdFormat { got: "".into() },
        ),
        (
            SPEC_VKEY.replace("530d903a", "530d903b"),
            KeyError::KeyIdMismatch {
                declared: KeyId([0x53, 0x0d, 0x90, 0x3b]),
                computed: KeyId([0x53, 0x0d, 0x90, 0x3a]),
            },
        ),
        (format!("{SPEC_VKEY}!"), KeyError::KeyDataBase64),
        (
            SPEC_VKEY.trim_end_matches('k').to_owned(),
            KeyError::KeyDataBase64,
        ),
        // go note_test.go: wrong length key and unknown algorithm, each with adjusted key hash.
        // The first one's base64 has unused bits set, which is refused before its length.
        (
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==".into(),
            KeyError::KeyDataBase64,
        ),
        (
            vkey_with_data("a", &[1; 34]),
            KeyError::KeyDataLength {
                expected: 33,
                got: 34,
            },
        ),
        (
            vkey_with_data("a", &[1; 32]),
            KeyError::KeyDataLength {
                expected: 33,
                got: 32,
            },
        ),
        (
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".into(),
            KeyError::WrongKeyType {
                expected: 0x01,
                got: 0x65,
            },
        ),
        (
            format!("+{}", &SPEC_VKEY[16..]),
            KeyError::InvalidName(KeyNameError::Empty),
        ),
        (
            format!("example.com/ foo{}", &SPEC_VKEY[15..]),
            KeyError::InvalidName(KeyNameError::Space {
                position: 13,
                code: 0x20,
            }),
        ),
        (
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2".into(),
            KeyError::WrongKeyType {
                expected: 0x01,
                got: 0x04,
            },
        ),
    ];
    for (s, want) in cases {
        assert_eq!(
            NoteVerifier::parse(&s),
            Err(NoteError::Key(want.clone())),
            "key string {s:?}"
        );
    }
}

#[test]
fn off_curve_and_small_order_public_keys_are_refused() {
    let mut off_curve = [0u8; 33];
    off_curve[0] = 1;
    off_curve[1] = 2; // y = 2 has no x on edwards25519
    assert_eq!(
        NoteVerifier::parse(&vkey_with_data("a", &off_curve)),
        Err(NoteError::Key(KeyError::InvalidPublicKey))
    );
    let mut identity = [0u8; 33];
    identity[0] = 1;
    identity[1] = 1; // the neutral point, order 1
    assert_eq!(
        NoteVerifier::parse(&vkey_with_data("a", &identity)),
        Err(NoteError::Key(KeyError::WeakPublicKey))
    );
}

#[test]
fn every_truncation_and_byte_change_of_a_verifier_key_is_refused() {
    // Port of go note_test.go TestNewVerifier manglings.
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i == 0 && j == b.len() {
                continue;
            }
            let s = std::str::from_utf8(&b[i..j]).unwrap();
            assert!(NoteVerifier::parse(s).is_err(), "accepted {s:?}");
        }
    }
    let mut m = b.to_vec();
    for i in 0..m.len() {
        m[i] += 1;
        let s = std::str::from_utf8(&m).unwrap();
        assert!(NoteVerifier::parse(s).is_err(), "accepted {s:?}");
        m[i] -= 1;
    }
}

#[test]
fn every_truncation_and_byte_change_of_a_signer_key_is_refused() {
    // Port of go note_test.go TestNewSigner manglings.
    let b = PETER_SKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i == 0 && j == b.len() {
                continue;
            }
            let s = std::str::from_utf8(&b[i..j]).unwrap();
            assert!(NoteSigner::parse_private(s).is_err(), "accepted {s:?}");
        }
    }
    let mut m = b.to_vec();
    for i in 0..m.len() {
        m[i] += 1;
        let s = std::str::from_utf8(&m).unwrap();
        assert!(NoteSigner::parse_private(s).is_err(), "accepted {s:?}");
        m[i] -= 1;
    }
}

#[test]
fn signer_key_errors_name_the_part_and_hide_the_secret() {
    assert_eq!(
        NoteSigner::parse_private(PETER_VKEY).unwrap_err(),
        NoteError::Key(KeyError::MissingPrivatePrefix)
    );
    let wrong_id = PETER_SKEY.replace("c74f20a3", "c74f20a4");
    let err = NoteSigner::parse_private(&wrong_id).unwrap_err();
    assert_eq!(
        err,
        NoteError::Key(KeyError::KeyIdMismatch {
            declared: KeyId([0xc7, 0x4f, 0x20, 0xa4]),
            computed: KeyId([0xc7, 0x4f, 0x20, 0xa3]),
        })
    );
    assert!(!err.to_string().contains("AYEKFALV"), "{err}");
    // A type 0x04 (witness) seed is not a note signer key.
    let data = key_data(PETER_SKEY);
    let mut raw = B64.decode(data).unwrap();
    raw[0] = 0x04;
    let witness = format!("PRIVATE+KEY+PeterNeumann+c74f20a3+{}", B64.encode(&raw));
    assert_eq!(
        NoteSigner::parse_private(&witness).unwrap_err(),
        NoteError::Key(KeyError::WrongKeyType {
            expected: 0x01,
            got: 0x04
        })
    );
}

#[test]
fn bad_key_names_are_refused_when_making_a_signer() {
    for (name, want) in [
        ("", KeyNameError::Empty),
        ("a+b", KeyNameError::Plus { position: 2 }),
        (
            "a b",
            KeyNameError::Space {
                position: 2,
                code: 0x20,
            },
        ),
        (
            "a\u{a0}b",
            KeyNameError::Space {
                position: 2,
                code: 0xa0,
            },
        ),
        (
            "a\u{3000}",
            KeyNameError::Space {
                position: 2,
                code: 0x3000,
            },
        ),
        (
            "a\u{1}",
            KeyNameError::Control {
                position: 2,
                code: 1,
            },
        ),
    ] {
        assert_eq!(
            NoteSigner::from_seed(name, [0; 32]).unwrap_err(),
            NoteError::Key(KeyError::InvalidName(want)),
            "name {name:?}"
        );
    }
}

#[test]
fn texts_that_cannot_be_signed() {
    let signer = NoteSigner::from_seed("log.example", [5; 32]).unwrap();
    assert_eq!(signer.sign("").unwrap_err(), NoteError::EmptyText);
    assert_eq!(
        signer.sign("abc").unwrap_err(),
        NoteError::TextMissingFinalNewline
    );
    assert_eq!(
        signer.sign("line one\nline\rtwo\n").unwrap_err(),
        NoteError::ControlCharacter {
            line: 2,
            column: 5,
            code: 0x0d
        }
    );
}

// ---- hostile parsing ----

fn parse_err(s: &str) -> NoteError {
    Note::parse(s).expect_err("hostile note must be refused")
}

#[test]
fn missing_blank_line_is_refused() {
    assert_eq!(
        parse_err(&format!("{GO_TEXT}{PETER_SIG}")),
        NoteError::MissingBlankLine
    );
    assert_eq!(parse_err(GO_TEXT), NoteError::MissingBlankLine);
}

#[test]
fn missing_final_newline_is_refused() {
    let s = format!("{GO_TEXT}\n{}", PETER_SIG.trim_end_matches('\n'));
    assert_eq!(parse_err(&s), NoteError::MissingFinalNewline);
}

#[test]
fn blank_line_without_signatures_is_refused() {
    assert_eq!(
        parse_err(&format!("{GO_TEXT}\n")),
        NoteError::NoSignatureLines
    );
    assert_eq!(
        parse_err(&format!("{GO_TEXT}\n{PETER_SIG}\n")),
        NoteError::NoSignatureLines
    );
}

#[test]
fn carriage_returns_and_control_characters_are_refused_with_position() {
    let crlf = go_note().replace('\n', "\r\n");
    assert_eq!(
        parse_err(&crlf),
        NoteError::ControlCharacter {
            line: 1,
            column: 57,
            code: 0x0d
        }
    );
    let tab = go_note().replacen("you don't", "you\tdon't", 1);
    assert_eq!(
        parse_err(&tab),
        NoteError::ControlCharacter {
            line: 2,
            column: 9,
            code: 0x09
        }
    );
    let nul = format!("\u{0}{}", go_note());
    assert_eq!(
        parse_err(&nul),
        NoteError::ControlCharacter {
            line: 1,
            column: 1,
            code: 0
        }
    );
    let in_sig = go_note().replacen("EnochRoot", "Enoch\u{1b}Root", 1);
    assert_eq!(
        parse_err(&in_sig),
        NoteError::ControlCharacter {
            line: 5,
            column: 8,
            code: 0x1b
        }
    );
}

#[test]
fn invalid_utf8_is_refused_with_offset() {
    let mut b = go_note().into_bytes();
    b[3] = 0xff;
    assert_eq!(
        Note::from_bytes(&b),
        Err(NoteError::InvalidUtf8 { offset: 3 })
    );
    // A stray byte inside the em dash.
    let mut b = go_note().into_bytes();
    let dash = GO_TEXT.len() + 1;
    b[dash + 1] = b'-';
    assert_eq!(
        Note::from_bytes(&b),
        Err(NoteError::InvalidUtf8 { offset: dash })
    );
}

fn sig_line_err(line: &str) -> NoteError {
    parse_err(&format!("{GO_TEXT}\n{line}"))
}

fn malformed(reason: SignatureLineError) -> NoteError {
    // GO_TEXT has two lines, the blank line is 3, the first signature line is 4.
    NoteError::MalformedSignatureLine { line: 4, reason }
}

#[test]
fn ascii_dashes_instead_of_the_em_dash_are_refused() {
    for dash in ["-", "--", "\u{2013}", "\u{2014}"] {
        let line = PETER_SIG.replacen(
            "\u{2014} ",
            &format!("{dash}{}", if dash == "\u{2014}" { "" } else { " " }),
            1,
        );
        assert_eq!(
            sig_line_err(&line),
            malformed(SignatureLineError::MissingEmDash),
            "dash {dash:?}"
        );
    }
}

#[test]
fn signature_lines_with_bad_names_are_refused() {
    let b64 = PETER_SIG.trim_end().rsplit(' ').next().unwrap();
    assert_eq!(
        sig_line_err(&format!("\u{2014} Peter+Neumann {b64}\n")),
        malformed(SignatureLineError::InvalidName(KeyNameError::Plus {
            position: 6
        }))
    );
    assert_eq!(
        sig_line_err(&format!("\u{2014} Bad Name {b64}\n")),
        malformed(SignatureLineError::InvalidName(KeyNameError::Space {
            position: 4,
            code: 0x20
        }))
    );
    assert_eq!(
        sig_line_err(&format!("\u{2014}  {b64}\n")),
        malformed(SignatureLineError::InvalidName(KeyNameError::Empty))
    );
    assert_eq!(
        sig_line_err(&format!("\u{2014} PeterNeumann{b64}\n")),
        malformed(SignatureLineError::MissingSignature)
    );
}

#[test]
fn short_empty_and_non_canonical_base64_is_refused() {
    for (b64, want) in [
        ("AAAA", SignatureLineError::TooShort { got: 3 }),
        ("AAAAAA==", SignatureLineError::TooShort { got: 4 }),
        ("", SignatureLineError::TooShort { got: 0 }),
        ("AAAAAA", SignatureLineError::InvalidBase64), // padding missing
        ("AAAAAAB=", SignatureLineError::InvalidBase64), // unused bits set
        (
            "AAAA AAAA",
            SignatureLineError::InvalidName(KeyNameError::Space {
                position: 2,
                code: 0x20,
            }),
        ),
        ("AAAAAAAA_-", SignatureLineError::InvalidBase64), // URL alphabet
    ] {
        assert_eq!(
            sig_line_err(&format!("\u{2014} k {b64}\n")),
            malformed(want),
            "base64 {b64:?}"
        );
    }
    // The Go reference decoder accepts unused bits set; this one refuses the second spelling.
    let twin = PETER_SIG.replace("JnAM=", "JnAN=");
    assert_eq!(
        sig_line_err(&twin),
        malformed(SignatureLineError::InvalidBase64)
    );
}

#[test]
fn more_than_one_hundred_signature_lines_are_refused() {
    let hundred = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES));
    let note = Note::parse(&hundred).unwrap();
    assert_eq!(
        note.verify(&[&v(PETER_VKEY)]).unwrap(),
        vec!["PeterNeumann".to_owned()]
    );
    assert_eq!(note.to_string(), hundred);
    let too_many = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1));
    assert_eq!(
        parse_err(&too_many),
        NoteError::TooManySignatures {
            max: MAX_SIGNATURES
        }
    );
}

#[test]
fn a_stray_line_after_the_signatures_is_refused_with_its_line_number() {
    let s = format!("{}Unexpected line.\n", go_note());
    assert_eq!(
        parse_err(&s),
        NoteError::MalformedSignatureLine {
            line: 6,
            reason: SignatureLineError::MissingEmDash
        }
    );
}

#[test]
fn error_messages_say_what_failed() {
    let e = parse_err(&go_note().replace('\n', "\r\n"));
    assert_eq!(
        e.to_string(),
        "note line 1, column 57: control character U+000D is not allowed (only newline is; CRLF line ends are not accepted)"
    );
    let e = Note::parse(&go_note()).unwrap().verify(&[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "note has no signature by a trusted key (signatures present: PeterNeumann+c74f20a3, EnochRoot+af0cfe78)"
    );
    let e = sig_line_err("- k AAAA\n");
    assert_eq!(
        e.to_string(),
        "note line 4: malformed signature line: does not start with an em dash (U+2014) and a space"
    );
}
