//! RFC 8785 canonicalisation: known-answer vectors, hostile inputs, properties.

use custos_core::jcs::{
    self, JcsError, MAX_DEPTH, MAX_SAFE_INTEGER, Value, ValueError, check_value, parse_canonical,
    parse_json, to_canonical,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn canon_text(json: &str) -> String {
    let value = parse_json(json.as_bytes()).expect("test input is valid JSON");
    String::from_utf8(to_canonical(&value)).expect("canonical output is UTF-8")
}

fn obj(members: &[(&str, Value)]) -> Value {
    Value::Object(
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

/// RFC 8785 §3.2.2 sample input, without its "numbers" member (floating point is outside this
/// model); the expected output is the RFC's, with that member removed.
#[test]
fn rfc8785_section_3_2_2_strings_and_literals() {
    let input = r#"{
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    let expected = r#"{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    assert_eq!(canon_text(input), expected);
    assert!(parse_canonical(expected.as_bytes()).is_ok());
}

/// RFC 8785 §3.2.3: sorting by UTF-16 code units puts U+1F600 (D83D DE00) before U+FB33,
/// the reverse of UTF-8 / code point order.
#[test]
fn rfc8785_section_3_2_3_sorting_by_utf16_code_units() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
                    \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
                    \"\u{1f600}\":\"Emoji: Grinning Face\",\
                    \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canon_text(input), expected);
}

/// The "weird" vector of the JCS reference implementation's test data (cyberphone
/// json-canonicalization, testdata/input/weird.json), given as the UTF-8 hex of its output.
#[test]
fn reference_weird_vector_bytes() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\u000a": "Newline",
      "1": "One",
      "\u0080": "Control\u007f",
      "\ud83d\ude02": "Smiley",
      "\u00f6": "Latin Small Letter O With Diaeresis",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "</script>": "Browser Challenge"
    }"#;
    let expected = "7b225c6e223a224e65776c696e65222c225c72223a2243617272696167652052657475726e22\
                    2c2231223a224f6e65222c223c2f7363726970743e223a2242726f77736572204368616c6c65\
                    6e6765222c22c280223a22436f6e74726f6c7f222c22c3b6223a224c6174696e20536d616c6c\
                    204c6574746572204f205769746820446961657265736973222c22e282ac223a224575726f20\
                    5369676e222c22f09f9882223a22536d696c6579222c22efacb3223a22486562726577204c65\
                    747465722044616c6574205769746820446167657368227d";
    let value = parse_json(input.as_bytes()).unwrap();
    assert_eq!(hex::encode(to_canonical(&value)), expected);
}

#[test]
fn utf16_order_differs_from_utf8_order_above_u_ffff() {
    // In UTF-8 (and in the BTreeMap) U+E000 and U+FFFD sort before U+10000; in UTF-16 the
    // surrogate pair D800 DC00 sorts before E000.
    let v = obj(&[
        ("\u{e000}", Value::Int(1)),
        ("\u{fffd}", Value::Int(2)),
        ("\u{10000}", Value::Int(3)),
        ("z", Value::Int(4)),
    ]);
    let expected = "{\"z\":4,\"\u{10000}\":3,\"\u{e000}\":1,\"\u{fffd}\":2}";
    assert_eq!(String::from_utf8(to_canonical(&v)).unwrap(), expected);
    assert_eq!(
        jcs::cmp_utf16("\u{10000}", "\u{e000}"),
        std::cmp::Ordering::Less
    );
    // The same members in UTF-8 byte order are valid JSON but not canonical: the first
    // difference is the first member name's lead byte.
    let utf8_order = "{\"z\":4,\"\u{e000}\":1,\"\u{fffd}\":2,\"\u{10000}\":3}";
    assert_eq!(
        parse_canonical(utf8_order.as_bytes()),
        Err(JcsError::NotCanonical { offset: 8 })
    );
}

#[test]
fn every_control_character_is_escaped_like_json_stringify() {
    for c in 0u8..0x20 {
        let expected = match c {
            0x08 => "\"\\b\"".to_owned(),
            0x09 => "\"\\t\"".to_owned(),
            0x0a => "\"\\n\"".to_owned(),
            0x0c => "\"\\f\"".to_owned(),
            0x0d => "\"\\r\"".to_owned(),
            _ => format!("\"\\u{c:04x}\""),
        };
        let v = Value::String(char::from(c).to_string());
        assert_eq!(
            String::from_utf8(to_canonical(&v)).unwrap(),
            expected,
            "char {c:#04x}"
        );
        assert_eq!(parse_canonical(expected.as_bytes()), Ok(v));
    }
}

#[test]
fn other_characters_are_literal_utf8() {
    // DEL, '/', U+2028, U+2029, a BMP and a supplementary character: all written as is.
    let text = "\u{7f}/\u{2028}\u{2029}\u{e9}\u{1f600}'<>&";
    let v = Value::String(text.to_owned());
    let expected = format!("\"{text}\"");
    assert_eq!(to_canonical(&v), expected.as_bytes());
    assert_eq!(to_canonical(&s("a\"b\\c")), b"\"a\\\"b\\\\c\"");
}

#[test]
fn integers_in_the_safe_range_are_plain_decimal() {
    for (n, text) in [
        (0, "0"),
        (-1, "-1"),
        (42, "42"),
        (MAX_SAFE_INTEGER, "9007199254740991"),
        (-MAX_SAFE_INTEGER, "-9007199254740991"),
    ] {
        assert_eq!(to_canonical(&Value::Int(n)), text.as_bytes());
        assert_eq!(parse_canonical(text.as_bytes()), Ok(Value::Int(n)));
    }
}

#[test]
fn nested_containers_and_empty_ones() {
    let v = obj(&[
        (
            "b",
            Value::Array(vec![obj(&[("z", Value::Int(1)), ("a", Value::Int(2))])]),
        ),
        ("a", obj(&[("d", Value::Bool(true)), ("c", Value::Null)])),
        ("e", Value::Array(vec![])),
        ("f", obj(&[])),
    ]);
    let expected = r#"{"a":{"c":null,"d":true},"b":[{"a":2,"z":1}],"e":[],"f":{}}"#;
    assert_eq!(to_canonical(&v), expected.as_bytes());
    assert_eq!(parse_canonical(expected.as_bytes()), Ok(v));
}

fn reject(input: &[u8]) -> JcsError {
    match parse_canonical(input) {
        Ok(v) => panic!("accepted {:?} as {v:?}", String::from_utf8_lossy(input)),
        Err(e) => e,
    }
}

#[test]
fn numbers_outside_the_model_are_rejected() {
    assert_eq!(
        reject(b"9007199254740992"),
        JcsError::IntegerOutOfRange { offset: 0 }
    );
    assert_eq!(
        reject(b"-9007199254740992"),
        JcsError::IntegerOutOfRange { offset: 0 }
    );
    assert_eq!(
        reject(b"[1,99999999999999999999999]"),
        JcsError::IntegerOutOfRange { offset: 3 }
    );
    assert_eq!(reject(b"1.0"), JcsError::NotAnInteger { offset: 0 });
    assert_eq!(reject(b"[1.5]"), JcsError::NotAnInteger { offset: 1 });
    assert_eq!(reject(b"1e5"), JcsError::NotAnInteger { offset: 0 });
    assert_eq!(reject(b"-2E0"), JcsError::NotAnInteger { offset: 0 });
    assert_eq!(reject(b"01"), JcsError::LeadingZero { offset: 0 });
    assert_eq!(reject(b"-01"), JcsError::LeadingZero { offset: 0 });
    assert_eq!(reject(b"00"), JcsError::LeadingZero { offset: 0 });
    assert_eq!(reject(b"-0"), JcsError::NegativeZero { offset: 0 });
    assert_eq!(reject(b"{\"a\":-0}"), JcsError::NegativeZero { offset: 5 });
    assert!(matches!(
        reject(b"-"),
        JcsError::UnexpectedEnd { offset: 1 }
    ));
    assert!(matches!(
        reject(b"-a"),
        JcsError::UnexpectedByte {
            offset: 1,
            found: b'a',
            ..
        }
    ));
    assert!(matches!(
        reject(b"+1"),
        JcsError::UnexpectedByte {
            offset: 0,
            found: b'+',
            ..
        }
    ));
}

#[test]
fn duplicate_member_names_are_rejected_even_when_spelled_differently() {
    assert_eq!(
        reject(br#"{"a":1,"a":2}"#),
        JcsError::DuplicateKey {
            offset: 7,
            key: "a".into()
        }
    );
    assert_eq!(
        reject(br#"{"a":1,"\u0061":2}"#),
        JcsError::DuplicateKey {
            offset: 7,
            key: "a".into()
        }
    );
    assert_eq!(
        reject(br#"{"x":{"b":[],"b":{}}}"#),
        JcsError::DuplicateKey {
            offset: 13,
            key: "b".into()
        }
    );
}

#[test]
fn invalid_utf8_and_lone_surrogates_are_rejected() {
    assert_eq!(reject(b"\"a\xff\""), JcsError::InvalidUtf8 { offset: 2 });
    assert_eq!(reject(b"\"\xc0\x80\""), JcsError::InvalidUtf8 { offset: 1 }); // overlong NUL
    assert_eq!(
        reject(b"\"\xed\xa0\x80\""),
        JcsError::InvalidUtf8 { offset: 1 }
    ); // raw D800
    assert_eq!(
        reject(br#""\ud800""#),
        JcsError::LoneSurrogate {
            offset: 1,
            unit: 0xd800
        }
    );
    assert_eq!(
        reject(br#""\udc00\ud800""#),
        JcsError::LoneSurrogate {
            offset: 1,
            unit: 0xdc00
        }
    );
    assert_eq!(
        reject(br#""x\ud83d\u0041""#),
        JcsError::LoneSurrogate {
            offset: 2,
            unit: 0xd83d
        }
    );
    assert_eq!(
        reject(br#"["\ud83dx"]"#),
        JcsError::LoneSurrogate {
            offset: 2,
            unit: 0xd83d
        }
    );
}

#[test]
fn malformed_json_gets_a_specific_error() {
    assert_eq!(reject(b""), JcsError::UnexpectedEnd { offset: 0 });
    assert_eq!(reject(b"{\"a\":1"), JcsError::UnexpectedEnd { offset: 6 });
    assert_eq!(reject(b"\"abc"), JcsError::UnexpectedEnd { offset: 4 });
    assert_eq!(reject(b"1 2"), JcsError::TrailingData { offset: 2 });
    assert_eq!(reject(b"nullx"), JcsError::TrailingData { offset: 4 });
    assert_eq!(
        reject(b"\"a\x01\""),
        JcsError::ControlCharacter {
            offset: 2,
            found: 1
        }
    );
    assert_eq!(
        reject(b"\"\n\""),
        JcsError::ControlCharacter {
            offset: 1,
            found: b'\n'
        }
    );
    assert_eq!(reject(br#""\x""#), JcsError::InvalidEscape { offset: 1 });
    assert_eq!(
        reject(br#""\u12g4""#),
        JcsError::InvalidEscape { offset: 1 }
    );
    assert_eq!(reject(br#""\u12"#), JcsError::InvalidEscape { offset: 1 });
    assert!(matches!(
        reject(b"\xef\xbb\xbf{}"),
        JcsError::UnexpectedByte { offset: 0, .. }
    ));
    assert!(matches!(
        reject(b"{1:2}"),
        JcsError::UnexpectedByte { offset: 1, .. }
    ));
    assert!(matches!(
        reject(b"[1,]"),
        JcsError::UnexpectedByte { offset: 3, .. }
    ));
    assert!(matches!(
        reject(b"[1 2]"),
        JcsError::UnexpectedByte { offset: 3, .. }
    ));
    assert!(matches!(
        reject(b"{\"a\"1}"),
        JcsError::UnexpectedByte { offset: 4, .. }
    ));
    assert!(matches!(
        reject(b"tru"),
        JcsError::UnexpectedEnd { offset: 3 }
    ));
    assert!(matches!(
        reject(b"nul1"),
        JcsError::UnexpectedByte { offset: 3, .. }
    ));
}

#[test]
fn valid_but_non_canonical_json_reports_the_first_difference() {
    assert_eq!(reject(b" 1"), JcsError::NotCanonical { offset: 0 });
    assert_eq!(reject(b"1\n"), JcsError::NotCanonical { offset: 1 });
    assert_eq!(reject(br#"{"a": 1}"#), JcsError::NotCanonical { offset: 5 });
    assert_eq!(
        reject(br#"{"b":1,"a":2}"#),
        JcsError::NotCanonical { offset: 2 }
    );
    assert_eq!(reject(br#""\/""#), JcsError::NotCanonical { offset: 1 });
    assert_eq!(reject(br#""\u0041""#), JcsError::NotCanonical { offset: 1 });
    assert_eq!(reject(br#""\u001F""#), JcsError::NotCanonical { offset: 6 });
    assert_eq!(reject(br#""\u00e9""#), JcsError::NotCanonical { offset: 1 });
    assert_eq!(
        reject(br#""\ud83d\ude00""#),
        JcsError::NotCanonical { offset: 1 }
    );
    assert_eq!(reject(br#""\u000a""#), JcsError::NotCanonical { offset: 2 });
    assert_eq!(reject(br#"[ ]"#), JcsError::NotCanonical { offset: 1 });
}

fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut v = vec![b'['; depth];
    v.extend(std::iter::repeat_n(b']', depth));
    v
}

#[test]
fn nesting_is_bounded() {
    assert!(parse_canonical(&nested_arrays(MAX_DEPTH)).is_ok());
    assert_eq!(
        reject(&nested_arrays(MAX_DEPTH + 1)),
        JcsError::TooDeep {
            offset: MAX_DEPTH,
            max: MAX_DEPTH
        }
    );
    // Far deeper input fails at the same point, without exhausting the stack.
    assert_eq!(
        reject(&nested_arrays(1_000_000)),
        JcsError::TooDeep {
            offset: MAX_DEPTH,
            max: MAX_DEPTH
        }
    );
    let objects = "{\"a\":".repeat(MAX_DEPTH + 1);
    assert!(matches!(
        reject(objects.as_bytes()),
        JcsError::TooDeep { max: MAX_DEPTH, .. }
    ));
}

#[test]
fn check_value_enforces_range_and_depth() {
    assert_eq!(check_value(&Value::Int(MAX_SAFE_INTEGER), 0), Ok(()));
    assert_eq!(
        check_value(&Value::Int(MAX_SAFE_INTEGER + 1), 0),
        Err(ValueError::IntegerOutOfRange {
            value: MAX_SAFE_INTEGER + 1
        })
    );
    assert_eq!(
        check_value(&Value::Array(vec![Value::Int(i64::MIN)]), 1),
        Err(ValueError::IntegerOutOfRange { value: i64::MIN })
    );
    let mut deep = Value::Null;
    for _ in 0..3 {
        deep = Value::Array(vec![deep]);
    }
    assert_eq!(check_value(&deep, 3), Ok(()));
    assert_eq!(check_value(&deep, 2), Err(ValueError::TooDeep { max: 2 }));
    // An out-of-range integer encodes, but the result is rejected by the parser.
    let bytes = to_canonical(&Value::Int(i64::MAX));
    assert_eq!(reject(&bytes), JcsError::IntegerOutOfRange { offset: 0 });
}

/// Arbitrary values of the model: all Unicode strings, all safe integers, nesting below the
/// parser's limit.
fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).prop_map(Value::Int),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8).prop_map(Value::Object),
        ]
    })
}

/// The expected encoding of a flat object whose values are all `null`, built from names
/// already sorted by the test (string escaping is tested separately).
fn flat_null_object(sorted_names: &[String]) -> Vec<u8> {
    let members: Vec<Vec<u8>> = sorted_names
        .iter()
        .map(|k| {
            let mut m = to_canonical(&Value::String(k.clone()));
            m.extend_from_slice(b":null");
            m
        })
        .collect();
    let mut out = b"{".to_vec();
    out.extend(members.join(&b","[..]));
    out.push(b'}');
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_bytes_parse_back_to_the_same_value(v in arb_value()) {
        let bytes = to_canonical(&v);
        prop_assert_eq!(parse_canonical(&bytes), Ok(v));
    }

    #[test]
    fn canonicalisation_is_idempotent(v in arb_value()) {
        let once = to_canonical(&v);
        let twice = to_canonical(&parse_json(&once).unwrap());
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn flat_object_members_are_emitted_in_utf16_order(
        m in prop::collection::btree_map(any::<String>(), Just(Value::Null), 0..12)
    ) {
        let bytes = to_canonical(&Value::Object(m.clone()));
        let mut names: Vec<String> = m.into_keys().collect();
        names.sort_by_key(|k| k.encode_utf16().collect::<Vec<u16>>());
        prop_assert_eq!(bytes, flat_null_object(&names));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_accepted_bytes_are_canonical(
        bytes in prop::collection::vec(any::<u8>(), 0..64)
    ) {
        if let Ok(v) = parse_canonical(&bytes) {
            prop_assert_eq!(to_canonical(&v), bytes);
        }
    }

    #[test]
    fn inserting_whitespace_is_never_canonical(v in arb_value(), at in any::<prop::sample::Index>()) {
        let mut bytes = to_canonical(&v);
        let pos = at.index(bytes.len() + 1);
        bytes.insert(pos, b' ');
        // Inside a string the space changes the value instead; either way the bytes
        // must not be accepted as the canonical form of `v`.
        prop_assert_ne!(parse_canonical(&bytes), Ok(v));
    }
}

#[test]
fn object_of_btreemap_has_no_duplicates_by_construction() {
    let mut m = BTreeMap::new();
    m.insert("a".to_owned(), Value::Int(1));
    m.insert("a".to_owned(), Value::Int(2));
    assert_eq!(to_canonical(&Value::Object(m)), br#"{"a":2}"#);
}
