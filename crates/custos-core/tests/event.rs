//! Custody events: golden vector, round trips, every rejection with its specific error,
//! timestamps, signatures and batch verification.

use custos_core::Sha256Hash;
use custos_core::event::{
    Action, Actor, EVENT_SIGNATURE_CONTEXT, Event, EventError, ItemRef, KNOWN_ACTIONS,
    MAX_EVENT_BYTES, Timestamp, TimestampError, event_hash, find_bad_signatures, sign_event,
    verify_event, verify_events_batch,
};
use custos_core::jcs::{self, JcsError, Value, ValueError};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Golden vector (also in docs/FORMATS.md §3). Verified independently of this crate: the
// hashes with Python hashlib over b"\x00" + bytes, the signatures with Python `cryptography`
// Ed25519 over b"custos-event-v1\x00" + bytes, the canonical form with Node.js JSON.stringify
// and keys sorted by UTF-16 code units.
// ---------------------------------------------------------------------------------------------

/// Ed25519 seed of the golden log key: bytes 0x00, 0x01, ..., 0x1f.
fn golden_key() -> SigningKey {
    SigningKey::from_bytes(&std::array::from_fn(|i| i as u8))
}

const GOLDEN_PUBLIC_KEY: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";

const GOLDEN_0: &str = r#"{"action":"case-create","actor":{"auth":"local-config","name":"Zoë Ågren","role":"case-admin"},"case":"CASE-2026-0042","clock":"system-utc","details":{"title":"Operation \"Kestrel\""},"log":"custos.example.org/agency-x","salt":"000102030405060708090a0b0c0d0e0f","seq":0,"time":"2026-11-25T03:04:05.123456Z","type":"custos.event","v":1}"#;
const GOLDEN_0_HASH: &str = "a680fdc7cce52c61c274cbfded04e03b58b0202e4ed2153327ac6532bd7edba6";
const GOLDEN_0_SIG: &str = "fb442a79c14daa855859fbfb99d30cf01c14165552b6040e2f19f6d3f963b3fa113930e7acf152f76fdbd6ab70a00214debb09836ce6f84d6078c7b93c789b0d";

const GOLDEN_1: &str = r#"{"action":"ingest","actor":{"auth":"cli-as","name":"Zoë Ågren","role":"examiner"},"case":"CASE-2026-0042","clock":"system-utc","details":{"size":3,"source_md5":"900150983cd24fb0d6963f7d28e17f72","tool":{"name":"custos","version":"0.1.0"}},"item":{"id":"item-0001","sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},"log":"custos.example.org/agency-x","prev":"a680fdc7cce52c61c274cbfded04e03b58b0202e4ed2153327ac6532bd7edba6","reason":"Seized at the scene\nbag 7","salt":"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff","seq":1,"time":"2026-11-25T03:04:06.000001Z","type":"custos.event","v":1}"#;
const GOLDEN_1_HASH: &str = "f2e25797bcccb47fca38c4feb3429049192ad76b5fe881b33a9092bb63341bfa";
const GOLDEN_1_SIG: &str = "a778f0a2037622251755176bc75f3b3c7d70987003fbd82658d83b3d03d601c0679de3c3ae5cff57731c6d1707008e3dd02e2c6a3304884f1847f1218fabc902";

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn object(members: &[(&str, Value)]) -> Value {
    Value::Object(
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn golden_event_0() -> Event {
    Event {
        seq: 0,
        time: ts("2026-11-25T03:04:05.123456Z"),
        clock: "system-utc".into(),
        log: "custos.example.org/agency-x".into(),
        actor: Actor {
            name: "Zoë Ågren".into(),
            role: "case-admin".into(),
            auth: "local-config".into(),
        },
        action: Action::CaseCreate,
        case: Some("CASE-2026-0042".into()),
        item: None,
        reason: None,
        details: object(&[("title", text("Operation \"Kestrel\""))]),
        salt: std::array::from_fn(|i| i as u8),
        prev: None,
        item_prev: None,
        extra: vec![],
    }
}

fn golden_event_1() -> Event {
    Event {
        seq: 1,
        time: ts("2026-11-25T03:04:06.000001Z"),
        clock: "system-utc".into(),
        log: "custos.example.org/agency-x".into(),
        actor: Actor {
            name: "Zoë Ågren".into(),
            role: "examiner".into(),
            auth: "cli-as".into(),
        },
        action: Action::Ingest,
        case: Some("CASE-2026-0042".into()),
        item: Some(ItemRef {
            id: "item-0001".into(),
            sha256: Sha256Hash::digest(b"abc"),
        }),
        reason: Some("Seized at the scene\nbag 7".into()),
        details: object(&[
            ("size", Value::Int(3)),
            ("source_md5", text("900150983cd24fb0d6963f7d28e17f72")),
            (
                "tool",
                object(&[("name", text("custos")), ("version", text("0.1.0"))]),
            ),
        ]),
        salt: std::array::from_fn(|i| 0xf0 + i as u8),
        prev: Some(Sha256Hash::from_hex(GOLDEN_0_HASH).unwrap()),
        item_prev: None,
        extra: vec![],
    }
}

#[test]
fn golden_vector_bytes_hash_and_signature() {
    let key = golden_key();
    assert_eq!(
        hex::encode(key.verifying_key().as_bytes()),
        GOLDEN_PUBLIC_KEY
    );
    for (event, bytes, hash, sig) in [
        (golden_event_0(), GOLDEN_0, GOLDEN_0_HASH, GOLDEN_0_SIG),
        (golden_event_1(), GOLDEN_1, GOLDEN_1_HASH, GOLDEN_1_SIG),
    ] {
        assert_eq!(
            event.to_canonical_bytes_checked().unwrap(),
            bytes.as_bytes()
        );
        assert_eq!(
            Event::from_canonical_bytes(bytes.as_bytes()).unwrap(),
            event
        );
        assert_eq!(event.hash().to_hex(), hash);
        assert_eq!(event_hash(bytes.as_bytes()).to_hex(), hash);
        assert_eq!(hex::encode(sign_event(&key, bytes.as_bytes())), sig);
        let sig = hex::decode(sig).unwrap();
        assert_eq!(
            verify_event(&key.verifying_key(), bytes.as_bytes(), &sig),
            Ok(())
        );
    }
    // The chain: event 1's prev is event 0's hash.
    assert_eq!(golden_event_1().prev, Some(golden_event_0().hash()));
}

#[test]
fn event_hash_is_the_rfc6962_leaf_hash() {
    let mut prefixed = vec![0x00];
    prefixed.extend_from_slice(GOLDEN_0.as_bytes());
    assert_eq!(
        event_hash(GOLDEN_0.as_bytes()),
        Sha256Hash::digest(&prefixed)
    );
    assert_ne!(
        event_hash(GOLDEN_0.as_bytes()),
        Sha256Hash::digest(GOLDEN_0.as_bytes())
    );
}

#[test]
fn full_event_round_trips() {
    let mut e = golden_event_1();
    e.item_prev = Some(Sha256Hash([0x5a; 32]));
    e.action = Action::Other("future-kind-2".into());
    e.extra = vec![("x-note".into(), text("kept"))];
    let bytes = e.to_canonical_bytes_checked().unwrap();
    let back = Event::from_canonical_bytes(&bytes).unwrap();
    assert_eq!(back, e);
    assert_eq!(back.to_canonical_bytes(), bytes);
    assert_eq!(back.hash(), event_hash(&bytes));
}

fn minimal_event() -> Event {
    Event {
        seq: 0,
        time: Timestamp::from_unix_micros(0).unwrap(),
        clock: "c".into(),
        log: "l".into(),
        actor: Actor {
            name: "n".into(),
            role: "r".into(),
            auth: "a".into(),
        },
        action: Action::Access,
        case: None,
        item: None,
        reason: None,
        details: Value::Object(BTreeMap::new()),
        salt: [0; 16],
        prev: None,
        item_prev: None,
        extra: vec![],
    }
}

#[test]
fn minimal_event_round_trips_with_exact_bytes() {
    let e = minimal_event();
    let bytes = e.to_canonical_bytes_checked().unwrap();
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        r#"{"action":"access","actor":{"auth":"a","name":"n","role":"r"},"clock":"c","details":{},"log":"l","salt":"00000000000000000000000000000000","seq":0,"time":"1970-01-01T00:00:00.000000Z","type":"custos.event","v":1}"#
    );
    assert_eq!(Event::from_canonical_bytes(&bytes).unwrap(), e);
}

#[test]
fn unknown_top_level_members_are_preserved_byte_for_byte() {
    let mut v = golden_value(GOLDEN_1);
    v.insert(
        "aaa-first".into(),
        Value::Array(vec![Value::Int(-5), Value::Null]),
    );
    v.insert("x-ext".into(), object(&[("nested", Value::Bool(true))]));
    v.insert("\u{1f600}".into(), text("emoji-named member"));
    v.insert("\u{fb33}".into(), Value::Int(7));
    let bytes = jcs::to_canonical(&Value::Object(v));
    let e = Event::from_canonical_bytes(&bytes).unwrap();
    // Kept in canonical (UTF-16) order; the semantic fields are unaffected.
    let names: Vec<&str> = e.extra.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["aaa-first", "x-ext", "\u{1f600}", "\u{fb33}"]);
    let mut without = e.clone();
    without.extra.clear();
    assert_eq!(without, golden_event_1());
    assert_eq!(e.to_canonical_bytes(), bytes);
    assert_eq!(e.hash(), event_hash(&bytes));
}

#[test]
fn new_action_kinds_parse_and_known_ones_map_to_their_variant() {
    for known in KNOWN_ACTIONS {
        assert_eq!(Action::parse(known.as_str()), Ok(known.clone()));
        assert!(known.is_known());
    }
    assert_eq!(KNOWN_ACTIONS.len(), 23);
    let future = "a".repeat(64);
    assert_eq!(Action::parse(&future), Ok(Action::Other(future.clone())));
    assert_eq!(Action::parse("x-9"), Ok(Action::Other("x-9".into())));
    for bad in ["", "Ingest", "ingest ", "in_gest", "é", &"a".repeat(65)] {
        assert!(
            matches!(Action::parse(bad), Err(EventError::BadAction { .. })),
            "{bad:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Rejections: each hostile input with the specific variant it must produce.
// ---------------------------------------------------------------------------------------------

fn golden_value(json: &str) -> BTreeMap<String, Value> {
    match jcs::parse_canonical(json.as_bytes()).unwrap() {
        Value::Object(m) => m,
        other => panic!("golden is {other:?}"),
    }
}

/// Parses the golden event 1 after `edit`, re-encoded canonically so only the edit is wrong.
fn parse_edited(edit: impl FnOnce(&mut BTreeMap<String, Value>)) -> Result<Event, EventError> {
    let mut m = golden_value(GOLDEN_1);
    edit(&mut m);
    Event::from_canonical_bytes(&jcs::to_canonical(&Value::Object(m)))
}

fn nested<'a>(m: &'a mut BTreeMap<String, Value>, outer: &str) -> &'a mut BTreeMap<String, Value> {
    match m.get_mut(outer) {
        Some(Value::Object(o)) => o,
        _ => panic!("no object {outer}"),
    }
}

#[test]
fn missing_required_members() {
    for field in [
        "v", "type", "seq", "time", "clock", "log", "actor", "action", "details", "salt",
    ] {
        assert_eq!(
            parse_edited(|m| {
                m.remove(field);
            }),
            Err(EventError::MissingField { field }),
        );
    }
    for (member, path) in [
        ("name", "actor.name"),
        ("role", "actor.role"),
        ("auth", "actor.auth"),
    ] {
        assert_eq!(
            parse_edited(|m| {
                nested(m, "actor").remove(member);
            }),
            Err(EventError::MissingField { field: path })
        );
    }
    for (member, path) in [("id", "item.id"), ("sha256", "item.sha256")] {
        assert_eq!(
            parse_edited(|m| {
                nested(m, "item").remove(member);
            }),
            Err(EventError::MissingField { field: path })
        );
    }
}

#[test]
fn wrong_member_types() {
    let cases: [(&str, Value, &str, &str); 12] = [
        ("v", text("1"), "an integer", "string"),
        ("type", Value::Null, "a string", "null"),
        ("seq", text("1"), "an integer", "string"),
        ("time", Value::Int(0), "a string", "integer"),
        ("clock", Value::Bool(true), "a string", "boolean"),
        ("actor", text("someone"), "an object", "string"),
        ("action", Value::Array(vec![]), "a string", "array"),
        ("case", Value::Int(42), "a string", "integer"),
        ("item", text("item-0001"), "an object", "string"),
        ("details", Value::Array(vec![]), "an object", "array"),
        ("salt", Value::Int(0), "a string", "integer"),
        ("prev", Value::Null, "a string", "null"),
    ];
    for (field, value, expected, found) in cases {
        assert_eq!(
            parse_edited(|m| {
                m.insert(field.into(), value);
            }),
            Err(EventError::WrongType {
                field,
                expected,
                found
            })
        );
    }
    assert_eq!(
        parse_edited(|m| {
            nested(m, "actor").insert("role".into(), Value::Int(1));
        }),
        Err(EventError::WrongType {
            field: "actor.role",
            expected: "a string",
            found: "integer"
        })
    );
    assert_eq!(
        parse_edited(|m| {
            m.insert("reason".into(), Value::Object(BTreeMap::new()));
        }),
        Err(EventError::WrongType {
            field: "reason",
            expected: "a string",
            found: "object"
        })
    );
}

#[test]
fn version_is_checked_before_anything_else() {
    assert_eq!(
        parse_edited(|m| {
            m.insert("v".into(), Value::Int(2));
        }),
        Err(EventError::UnsupportedVersion { found: 2 })
    );
    // A future version with an entirely different shape still reports the version.
    let v2 = br#"{"payload":[1,2,3],"v":2}"#;
    assert_eq!(
        Event::from_canonical_bytes(v2),
        Err(EventError::UnsupportedVersion { found: 2 })
    );
    assert_eq!(
        Event::from_canonical_bytes(br#"{"v":0}"#),
        Err(EventError::UnsupportedVersion { found: 0 })
    );
    assert_eq!(
        parse_edited(|m| {
            m.insert("type".into(), text("custos.checkpoint"));
        }),
        Err(EventError::WrongEventType {
            found: "custos.checkpoint".into()
        })
    );
}

#[test]
fn not_an_object_too_large_or_not_canonical() {
    assert_eq!(
        Event::from_canonical_bytes(b"[]"),
        Err(EventError::NotAnObject { found: "array" })
    );
    assert_eq!(
        Event::from_canonical_bytes(b"\"x\""),
        Err(EventError::NotAnObject { found: "string" })
    );
    let huge = vec![b' '; MAX_EVENT_BYTES + 1];
    assert_eq!(
        Event::from_canonical_bytes(&huge),
        Err(EventError::TooLarge {
            len: MAX_EVENT_BYTES + 1,
            max: MAX_EVENT_BYTES
        })
    );
    let spaced = GOLDEN_1.replacen("\"seq\":1", "\"seq\": 1", 1);
    let offset = GOLDEN_1.find("\"seq\":").unwrap() + 6;
    assert_eq!(
        Event::from_canonical_bytes(spaced.as_bytes()),
        Err(EventError::Encoding(JcsError::NotCanonical { offset }))
    );
    let upper_escape = GOLDEN_1.replacen("\\n", "\\u000a", 1);
    assert!(matches!(
        Event::from_canonical_bytes(upper_escape.as_bytes()),
        Err(EventError::Encoding(JcsError::NotCanonical { .. }))
    ));
    let dup = GOLDEN_1.replacen(
        "{\"action\":\"ingest\",",
        "{\"action\":\"ingest\",\"action\":\"ingest\",",
        1,
    );
    assert!(matches!(
        Event::from_canonical_bytes(dup.as_bytes()),
        Err(EventError::Encoding(JcsError::DuplicateKey { .. }))
    ));
}

#[test]
fn seq_must_be_a_non_negative_safe_integer() {
    assert_eq!(
        parse_edited(|m| {
            m.insert("seq".into(), Value::Int(-1));
        }),
        Err(EventError::SeqOutOfRange { found: -1 })
    );
    let mut e = golden_event_1();
    e.seq = 1 << 53;
    assert_eq!(
        e.to_canonical_bytes_checked(),
        Err(EventError::SeqOutOfRange { found: 1 << 53 })
    );
    e.seq = u64::MAX;
    assert_eq!(
        e.validate(),
        Err(EventError::SeqOutOfRange { found: i64::MAX })
    );
    // The unchecked encoding of such an event is refused by the parser.
    assert!(matches!(
        Event::from_canonical_bytes(&e.to_canonical_bytes()),
        Err(EventError::Encoding(JcsError::IntegerOutOfRange { .. }))
    ));
}

#[test]
fn hex_members_must_be_exact_lowercase_hex() {
    let cases: [(&str, &str, usize); 7] = [
        ("salt", "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF", 32),
        ("salt", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfef", 32),
        ("salt", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00", 32),
        ("prev", &"g".repeat(64), 64),
        ("prev", &"A".repeat(64), 64),
        ("item_prev", &"0".repeat(63), 64),
        ("prev", "", 64),
    ];
    for (field, value, expected_len) in cases {
        assert_eq!(
            parse_edited(|m| {
                m.insert(field.into(), text(value));
            }),
            Err(EventError::BadHex {
                field,
                expected_len
            }),
            "{field} = {value:?}"
        );
    }
    assert_eq!(
        parse_edited(|m| {
            nested(m, "item").insert(
                "sha256".into(),
                text("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
            );
        }),
        Err(EventError::BadHex {
            field: "item.sha256",
            expected_len: 64
        })
    );
    assert_eq!(
        parse_edited(|m| {
            m.insert("salt".into(), text("f0f1f2f3f4f5f6f7f8f9fafbfcfdfe\u{e9}"));
        }),
        Err(EventError::BadHex {
            field: "salt",
            expected_len: 32
        })
    );
}

fn time_error(value: &str) -> Result<Event, EventError> {
    parse_edited(|m| {
        m.insert("time".into(), text(value));
    })
}

#[test]
fn timestamps_must_be_valid_calendar_instants_in_the_one_form() {
    let bad = |source| {
        Err(EventError::BadTimestamp {
            field: "time",
            source,
        })
    };
    assert_eq!(
        time_error("2026-02-29T00:00:00.000000Z"),
        bad(TimestampError::Day {
            year: 2026,
            month: 2,
            day: 29
        })
    );
    assert_eq!(
        time_error("1900-02-29T00:00:00.000000Z"),
        bad(TimestampError::Day {
            year: 1900,
            month: 2,
            day: 29
        })
    );
    assert_eq!(
        time_error("2026-04-31T00:00:00.000000Z"),
        bad(TimestampError::Day {
            year: 2026,
            month: 4,
            day: 31
        })
    );
    assert_eq!(
        time_error("2026-01-00T00:00:00.000000Z"),
        bad(TimestampError::Day {
            year: 2026,
            month: 1,
            day: 0
        })
    );
    assert_eq!(
        time_error("2026-13-01T00:00:00.000000Z"),
        bad(TimestampError::Month { month: 13 })
    );
    assert_eq!(
        time_error("2026-00-01T00:00:00.000000Z"),
        bad(TimestampError::Month { month: 0 })
    );
    assert_eq!(
        time_error("2026-01-01T24:00:00.000000Z"),
        bad(TimestampError::Hour { hour: 24 })
    );
    assert_eq!(
        time_error("2026-01-01T00:60:00.000000Z"),
        bad(TimestampError::Minute { minute: 60 })
    );
    assert_eq!(
        time_error("2016-12-31T23:59:60.000000Z"),
        bad(TimestampError::Second { second: 60 })
    );
    assert_eq!(
        time_error("2026-01-01T00:00:00.000Z"),
        bad(TimestampError::Length { len: 24 })
    );
    assert_eq!(
        time_error("2026-01-01T00:00:00.000000+00:00"),
        bad(TimestampError::Length { len: 32 })
    );
    assert_eq!(
        time_error("2026-01-01T00:00:00Z"),
        bad(TimestampError::Length { len: 20 })
    );
    assert_eq!(
        time_error("2026-01-01t00:00:00.000000Z"),
        bad(TimestampError::Syntax {
            offset: 10,
            expected: "'T'"
        })
    );
    assert_eq!(
        time_error("2026-01-01T00:00:00.000000z"),
        bad(TimestampError::Syntax {
            offset: 26,
            expected: "'Z'"
        })
    );
    assert_eq!(
        time_error("2026-01-01 00:00:00.000000Z"),
        bad(TimestampError::Syntax {
            offset: 10,
            expected: "'T'"
        })
    );
    assert_eq!(
        time_error("2026-1a-01T00:00:00.000000Z"),
        bad(TimestampError::Syntax {
            offset: 6,
            expected: "a digit"
        })
    );
    assert_eq!(
        time_error("+026-01-01T00:00:00.000000Z"),
        bad(TimestampError::Syntax {
            offset: 0,
            expected: "a digit"
        })
    );
    // Multi-byte characters change the byte length, or fail the digit check.
    assert_eq!(
        time_error("2026-01-01T00:00:00.00000\u{660}Z"),
        bad(TimestampError::Length { len: 28 })
    );
    // Leap days that exist are accepted.
    for ok in ["2024-02-29T00:00:00.000000Z", "2000-02-29T23:59:59.999999Z"] {
        assert_eq!(time_error(ok).unwrap().time.to_rfc3339(), ok);
    }
}

#[test]
fn links_must_match_the_position_in_the_log() {
    let mut first = golden_value(GOLDEN_0);
    first.insert("prev".into(), text(&"0".repeat(64)));
    assert_eq!(
        Event::from_canonical_bytes(&jcs::to_canonical(&Value::Object(first))),
        Err(EventError::PrevOnFirstEvent)
    );
    assert_eq!(
        parse_edited(|m| {
            m.remove("prev");
        }),
        Err(EventError::MissingPrev { seq: 1 })
    );
    assert_eq!(
        parse_edited(|m| {
            m.remove("item");
            m.insert("item_prev".into(), text(&"1".repeat(64)));
        }),
        Err(EventError::ItemPrevWithoutItem)
    );
    let mut e = golden_event_0();
    e.item_prev = Some(Sha256Hash([1; 32]));
    assert_eq!(e.validate(), Err(EventError::ItemPrevWithoutItem));
}

#[test]
fn text_members_refuse_empty_values_and_control_or_bidi_characters() {
    let cases: [(&str, Option<&str>, &str, EventError); 9] = [
        (
            "actor",
            Some("name"),
            "Eve\nAdmin",
            forbidden("actor.name", 0x0a),
        ),
        (
            "actor",
            Some("role"),
            "examiner\u{202e}",
            forbidden("actor.role", 0x202e),
        ),
        (
            "actor",
            Some("auth"),
            "tok\u{0}en",
            forbidden("actor.auth", 0),
        ),
        (
            "actor",
            Some("name"),
            "",
            EventError::EmptyField {
                field: "actor.name",
            },
        ),
        ("clock", None, "", EventError::EmptyField { field: "clock" }),
        (
            "log",
            None,
            "custos.example.org\u{85}",
            forbidden("log", 0x85),
        ),
        ("case", None, "CASE\t1", forbidden("case", 0x09)),
        (
            "item",
            Some("id"),
            "\u{2066}item",
            forbidden("item.id", 0x2066),
        ),
        (
            "reason",
            None,
            "",
            EventError::EmptyField { field: "reason" },
        ),
    ];
    for (outer, inner, value, expected) in cases {
        let result = parse_edited(|m| match inner {
            Some(inner) => {
                nested(m, outer).insert(inner.into(), text(value));
            }
            None => {
                m.insert(outer.into(), text(value));
            }
        });
        assert_eq!(result, Err(expected), "{outer}.{inner:?} = {value:?}");
    }
    // The free-text reason may hold line feeds and tabs, but no other control character.
    assert!(
        parse_edited(|m| {
            m.insert("reason".into(), text("line one\n\tline two"));
        })
        .is_ok()
    );
    assert_eq!(
        parse_edited(|m| {
            m.insert("reason".into(), text("bell\u{7}"));
        }),
        Err(forbidden("reason", 7))
    );
    assert_eq!(
        parse_edited(|m| {
            m.insert("case".into(), text(""));
        }),
        Err(EventError::EmptyField { field: "case" })
    );
}

fn forbidden(field: &'static str, code_point: u32) -> EventError {
    EventError::ForbiddenCharacter { field, code_point }
}

#[test]
fn actions_outside_the_grammar_are_rejected() {
    for bad in ["Ingest", "ingest!", "", "\u{e9}"] {
        assert!(matches!(
            parse_edited(|m| {
                m.insert("action".into(), text(bad));
            }),
            Err(EventError::BadAction { .. })
        ));
    }
    let long = "a".repeat(65);
    assert_eq!(
        parse_edited(|m| {
            m.insert("action".into(), text(&long));
        }),
        Err(EventError::BadAction {
            found: "a".repeat(64)
        })
    );
    assert_eq!(
        parse_edited(|m| {
            m.insert("action".into(), text("brand-new-kind"));
        })
        .map(|e| e.action),
        Ok(Action::Other("brand-new-kind".into()))
    );
}

#[test]
fn nested_objects_are_closed() {
    assert_eq!(
        parse_edited(|m| {
            nested(m, "actor").insert("badge".into(), text("1234"));
        }),
        Err(EventError::UnknownMember {
            field: "actor",
            member: "badge".into()
        })
    );
    assert_eq!(
        parse_edited(|m| {
            nested(m, "item").insert("md5".into(), text("x"));
        }),
        Err(EventError::UnknownMember {
            field: "item",
            member: "md5".into()
        })
    );
}

#[test]
fn details_depth_and_integer_range_are_bounded() {
    // Event object (1) + details (2) + 30 nested arrays = 32 levels: accepted.
    let mut deep = Value::Null;
    for _ in 0..30 {
        deep = Value::Array(vec![deep]);
    }
    let ok = parse_edited(|m| {
        m.insert("details".into(), object(&[("d", deep.clone())]));
    });
    assert!(ok.is_ok());
    let too_deep = parse_edited(|m| {
        m.insert(
            "details".into(),
            object(&[("d", Value::Array(vec![deep.clone()]))]),
        );
    });
    assert!(matches!(
        too_deep,
        Err(EventError::Encoding(JcsError::TooDeep { max: 32, .. }))
    ));
    let mut e = golden_event_1();
    e.details = object(&[("d", Value::Array(vec![deep]))]);
    assert_eq!(
        e.validate(),
        Err(EventError::BadValue {
            field: "details",
            source: ValueError::TooDeep { max: 31 }
        })
    );
    e.details = object(&[("n", Value::Int(1 << 60))]);
    assert_eq!(
        e.to_canonical_bytes_checked(),
        Err(EventError::BadValue {
            field: "details",
            source: ValueError::IntegerOutOfRange { value: 1 << 60 }
        })
    );
}

#[test]
fn checked_encoding_refuses_what_the_parser_would_refuse() {
    let mut e = golden_event_1();
    e.action = Action::Other("ingest".into());
    assert_eq!(
        e.to_canonical_bytes_checked(),
        Err(EventError::BadAction {
            found: "ingest".into()
        })
    );
    e.action = Action::Other("Not Valid".into());
    assert!(matches!(e.validate(), Err(EventError::BadAction { .. })));

    let mut e = golden_event_1();
    e.extra = vec![("seq".into(), Value::Int(9))];
    assert_eq!(
        e.validate(),
        Err(EventError::DuplicateExtension { name: "seq".into() })
    );
    e.extra = vec![("x".into(), Value::Null), ("x".into(), Value::Bool(true))];
    assert_eq!(
        e.validate(),
        Err(EventError::DuplicateExtension { name: "x".into() })
    );
    e.extra = vec![("x".into(), Value::Int(i64::MIN))];
    assert_eq!(
        e.validate(),
        Err(EventError::BadValue {
            field: "extra",
            source: ValueError::IntegerOutOfRange { value: i64::MIN }
        })
    );

    let mut e = golden_event_1();
    e.details = Value::Null;
    assert_eq!(
        e.validate(),
        Err(EventError::WrongType {
            field: "details",
            expected: "an object",
            found: "null"
        })
    );

    let mut e = golden_event_1();
    e.details = object(&[("blob", text(&"x".repeat(MAX_EVENT_BYTES)))]);
    assert!(matches!(
        e.to_canonical_bytes_checked(),
        Err(EventError::TooLarge {
            max: MAX_EVENT_BYTES,
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------

#[test]
fn timestamp_known_values() {
    // Unix microseconds computed with Python's datetime.
    for (text, micros) in [
        ("2026-11-25T03:04:05.123456Z", 1_795_575_845_123_456),
        ("2000-02-29T00:00:00.000000Z", 951_782_400_000_000),
        ("1900-03-01T00:00:00.000000Z", -2_203_891_200_000_000),
        ("0001-01-01T00:00:00.000000Z", -62_135_596_800_000_000),
        ("1969-12-31T23:59:59.999999Z", -1),
        ("1970-01-01T00:00:00.000000Z", 0),
        ("1600-02-29T12:00:00.000000Z", -11_670_955_200_000_000),
        ("2100-03-01T00:00:00.000000Z", 4_107_542_400_000_000),
        ("0000-01-01T00:00:00.000000Z", Timestamp::MIN.unix_micros()),
        ("9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999),
    ] {
        let t = Timestamp::parse_rfc3339(text).unwrap();
        assert_eq!(t.unix_micros(), micros, "{text}");
        assert_eq!(
            Timestamp::from_unix_micros(micros).unwrap().to_rfc3339(),
            text
        );
        assert_eq!(t.to_string(), text);
    }
    assert_eq!(Timestamp::MAX.to_rfc3339(), "9999-12-31T23:59:59.999999Z");
    assert_eq!(Timestamp::MIN.to_rfc3339(), "0000-01-01T00:00:00.000000Z");
    // Year 0 is a leap year in the proleptic Gregorian calendar.
    assert!(Timestamp::parse_rfc3339("0000-02-29T00:00:00.000000Z").is_ok());
    for micros in [
        Timestamp::MAX.unix_micros() + 1,
        Timestamp::MIN.unix_micros() - 1,
        i64::MIN,
        i64::MAX,
    ] {
        assert_eq!(
            Timestamp::from_unix_micros(micros),
            Err(TimestampError::OutOfRange { micros })
        );
    }
}

/// Walks every day of years 0000 to 9999 with a naive calendar and checks both conversions
/// against it, so the era arithmetic is tested on all 3,652,425 days.
#[test]
fn every_day_of_the_range_matches_a_naive_calendar() {
    let mut days_since_epoch = Timestamp::MIN.unix_micros() / 86_400_000_000;
    for year in 0..=9999i64 {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        for month in 1..=12u32 {
            let len = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            for day in 1..=len {
                let text = format!("{year:04}-{month:02}-{day:02}T00:00:00.000000Z");
                let t = Timestamp::from_unix_micros(days_since_epoch * 86_400_000_000).unwrap();
                assert_eq!(t.to_rfc3339(), text);
                assert_eq!(Timestamp::parse_rfc3339(&text), Ok(t));
                days_since_epoch += 1;
            }
        }
    }
    assert_eq!(
        days_since_epoch * 86_400_000_000,
        Timestamp::MAX.unix_micros() + 1
    );
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

#[test]
fn signature_covers_the_prefix_and_the_exact_bytes() {
    let key = golden_key();
    let vk = key.verifying_key();
    let sig = sign_event(&key, GOLDEN_1.as_bytes());
    assert_eq!(verify_event(&vk, GOLDEN_1.as_bytes(), &sig), Ok(()));
    // Without the domain-separation prefix the same bytes verify nothing.
    use ed25519_dalek::Signer as _;
    let raw = key.sign(GOLDEN_1.as_bytes()).to_bytes();
    assert_eq!(
        verify_event(&vk, GOLDEN_1.as_bytes(), &raw),
        Err(EventError::BadSignature)
    );
    let mut msg = EVENT_SIGNATURE_CONTEXT.to_vec();
    msg.extend_from_slice(GOLDEN_1.as_bytes());
    assert!(
        vk.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .is_ok()
    );
    assert_eq!(EVENT_SIGNATURE_CONTEXT, b"custos-event-v1\0");
    // Other event, other key, truncated signature.
    assert_eq!(
        verify_event(&vk, GOLDEN_0.as_bytes(), &sig),
        Err(EventError::BadSignature)
    );
    let other = SigningKey::from_bytes(&[9; 32]).verifying_key();
    assert_eq!(
        verify_event(&other, GOLDEN_1.as_bytes(), &sig),
        Err(EventError::BadSignature)
    );
    assert_eq!(
        verify_event(&vk, GOLDEN_1.as_bytes(), &sig[..63]),
        Err(EventError::SignatureLength { len: 63 })
    );
}

#[test]
fn a_weak_key_is_refused() {
    // The identity point (y = 1) has small order: it would verify forged signatures.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let sig = [0u8; 64];
    assert_eq!(verify_event(&weak, b"{}", &sig), Err(EventError::WeakKey));
    let items: [(&[u8], &[u8]); 2] = [(b"{}", &sig), (b"[]", &sig)];
    assert_eq!(verify_events_batch(&weak, &items), Err(EventError::WeakKey));
    assert_eq!(find_bad_signatures(&weak, &items), vec![0, 1]);
}

/// `n` distinct signed events of one log.
fn signed_log(key: &SigningKey, n: usize) -> Vec<(Vec<u8>, [u8; 64])> {
    let mut prev = None;
    (0..n)
        .map(|i| {
            let mut e = minimal_event();
            e.seq = i as u64;
            e.prev = prev;
            e.salt[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let bytes = e.to_canonical_bytes_checked().unwrap();
            prev = Some(event_hash(&bytes));
            let sig = sign_event(key, &bytes);
            (bytes, sig)
        })
        .collect()
}

fn as_items(log: &[(Vec<u8>, [u8; 64])]) -> Vec<(&[u8], &[u8])> {
    log.iter()
        .map(|(b, s)| (b.as_slice(), s.as_slice()))
        .collect()
}

#[test]
fn batch_finds_exactly_the_one_bad_signature_among_100() {
    let key = golden_key();
    let vk = key.verifying_key();
    let mut log = signed_log(&key, 100);
    assert_eq!(verify_events_batch(&vk, &as_items(&log)), Ok(()));
    assert!(find_bad_signatures(&vk, &as_items(&log)).is_empty());
    log[37].1[5] ^= 0x01;
    assert_eq!(
        verify_events_batch(&vk, &as_items(&log)),
        Err(EventError::BatchFailed { count: 100 })
    );
    assert_eq!(find_bad_signatures(&vk, &as_items(&log)), vec![37]);
}

#[test]
fn batch_locates_failures_across_chunks_and_bad_lengths() {
    let key = golden_key();
    let vk = key.verifying_key();
    let mut log = signed_log(&key, 600);
    log[0].1[63] ^= 0x40; // s half
    log[300].0.push(b' '); // event bytes changed after signing
    log[599].1 = log[598].1; // a valid signature of another event
    let mut items = as_items(&log);
    let short = [0u8; 10];
    items[450].1 = &short;
    assert_eq!(find_bad_signatures(&vk, &items), vec![0, 300, 450, 599]);
    // Chunks are checked in order; a malformed signature in a later chunk is reported by
    // position once the earlier chunks pass.
    assert_eq!(
        verify_events_batch(&vk, &items[1..]),
        Err(EventError::BatchSignatureLength {
            index: 449,
            len: 10
        })
    );
    assert_eq!(
        verify_events_batch(&vk, &items[1..450]),
        Err(EventError::BatchFailed { count: 449 })
    );
    assert_eq!(
        verify_events_batch(&vk, &items[301..]),
        Err(EventError::BatchSignatureLength {
            index: 149,
            len: 10
        })
    );
    assert_eq!(verify_events_batch(&vk, &items[1..300]), Ok(()));
    assert_eq!(verify_events_batch(&vk, &[]), Ok(()));
}
