//! The object format end to end: known answers, round trips, ranged reads, and every way of
//! damaging or substituting an object or a wrapped key, each caught with its specific error.

use custos_seal::{
    DataKey, HEADER_LEN, Header, MasterKey, MasterKeyId, ObjectId, Opener, SEGMENT_SIZE, SealError,
    Sealer, TAG_LEN, WrappedKey, ciphertext_len, open_object, plaintext_len_for_ciphertext,
    seal_object, unwrap_data_key, wrap_data_key, wrap_data_key_with_nonce,
};
use proptest::prelude::*;

const S: usize = SEGMENT_SIZE as usize;
/// Stored bytes of a full segment.
const FULL: usize = S + TAG_LEN;

// ---------------------------------------------------------------------------------------------
// Known-answer vectors (also in docs/FORMATS.md §2). Computed independently with Python's
// `cryptography` AESGCM from the format description.

const KAT_DEK: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];
const KAT_OBJECT_ID: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
const KAT_HEADER: &str = "435553544f424a000101000000010000f0e1d2c3b4a5968778695a4b3c2d1e0f";
const KAT_SHORT_PLAINTEXT: &[u8] = b"custos object format v1 known-answer test\n";
const KAT_SHORT_OBJECT: &str = "435553544f424a000101000000010000f0e1d2c3b4a5968778695a4b3c2d1e0f\
    76a3cc882b8710716c44345a98865c9867f27d2044c465a4186e6cae481d123049e102830858e14f2dd5\
    437ae65761464629f5a8f341c8fea9e7";
const KAT_EMPTY_OBJECT: &str = "435553544f424a000101000000010000f0e1d2c3b4a5968778695a4b3c2d1e0f997232ab850685b38b865e03cfc588b1";
/// Plaintext byte i = i mod 251, 2 × 65536 + 3 bytes: three segments.
const KAT_MULTI_LEN: usize = 2 * S + 3;
const KAT_MULTI_SHA256: &str = "ddf7547aca2bbadb54c7b0820baa303871fd5d65e417706de91a041e155d6b18";
const KAT_MULTI_TAGS: [&str; 3] = [
    "e9e654a73b450488783677c2b0d44536",
    "9ec72b77ba11b937c13e8d42865ec2c9",
    "4c6fbf436a95cf2332b4f0e525d6283c",
];
const KAT_MULTI_LAST_SEGMENT: &str = "114c8b4c6fbf436a95cf2332b4f0e525d6283c";
const KAT_MASTER_ID: u32 = 0x2a;
/// Master key bytes 0xa0, 0xa1, ..., 0xbf.
const KAT_WRAP_NONCE: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const KAT_WRAPPED: &str = "000102030405060708090a0b3eedcb74f917bcf2c6674542b7e936e7b2a2a609\
    18777bc95de152801550ba313d4eedbe9f5c29df8a195ec7bbeea755";
const KAT_KEY_FILE: &str = "custos-master-key v1\nid 0000002a\n\
    key oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=\ncheck d5c82bdf23411400\n";

fn kat_header() -> Header {
    Header::new(ObjectId::from_hex(KAT_OBJECT_ID).expect("KAT object id"))
}

fn kat_master() -> MasterKey {
    let mut key = [0u8; 32];
    for (byte, value) in key.iter_mut().zip(0xa0u8..) {
        *byte = value;
    }
    MasterKey::from_bytes(MasterKeyId(KAT_MASTER_ID), key)
}

fn kat_multi_plaintext() -> Vec<u8> {
    (0..KAT_MULTI_LEN).map(|i| (i % 251) as u8).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

#[test]
fn kat_header_bytes() {
    assert_eq!(hex::encode(kat_header().encode()), KAT_HEADER);
}

#[test]
fn kat_short_object() {
    let object = seal_object(
        DataKey::from_bytes(KAT_DEK),
        &kat_header(),
        KAT_SHORT_PLAINTEXT,
    )
    .expect("seal");
    assert_eq!(hex::encode(&object), KAT_SHORT_OBJECT);
    let opened = open_object(
        &DataKey::from_bytes(KAT_DEK),
        &kat_header(),
        KAT_SHORT_PLAINTEXT.len() as u64,
        &object,
    );
    assert_eq!(opened.as_deref(), Ok(KAT_SHORT_PLAINTEXT));
}

#[test]
fn kat_empty_object() {
    let object = seal_object(DataKey::from_bytes(KAT_DEK), &kat_header(), b"").expect("seal");
    assert_eq!(hex::encode(&object), KAT_EMPTY_OBJECT);
}

#[test]
fn kat_multi_segment_object() {
    let plaintext = kat_multi_plaintext();
    let object =
        seal_object(DataKey::from_bytes(KAT_DEK), &kat_header(), &plaintext).expect("seal");
    assert_eq!(object.len(), HEADER_LEN + KAT_MULTI_LEN + 3 * TAG_LEN);
    assert_eq!(sha256_hex(&object), KAT_MULTI_SHA256);
    let tag_ends = [HEADER_LEN + FULL, HEADER_LEN + 2 * FULL, object.len()];
    for (end, expected) in tag_ends.into_iter().zip(KAT_MULTI_TAGS) {
        assert_eq!(hex::encode(&object[end - TAG_LEN..end]), expected);
    }
    assert_eq!(
        hex::encode(&object[HEADER_LEN + 2 * FULL..]),
        KAT_MULTI_LAST_SEGMENT
    );
}

#[test]
fn kat_wrapped_key_and_key_file() {
    let master = kat_master();
    let object = ObjectId::from_hex(KAT_OBJECT_ID).expect("KAT object id");
    let wrapped = wrap_data_key_with_nonce(
        &master,
        &object,
        &DataKey::from_bytes(KAT_DEK),
        KAT_WRAP_NONCE,
    );
    assert_eq!(hex::encode(wrapped.0), KAT_WRAPPED);
    assert_eq!(master.to_file_string().as_str(), KAT_KEY_FILE);

    // The unwrapped key opens the KAT object: it is the KAT data key.
    let parsed = MasterKey::parse_file_string(KAT_KEY_FILE).expect("KAT key file");
    let dek = unwrap_data_key(&parsed, &object, &wrapped).expect("unwrap");
    let object_bytes = hex::decode(KAT_SHORT_OBJECT).expect("hex");
    let opened = open_object(
        &dek,
        &kat_header(),
        KAT_SHORT_PLAINTEXT.len() as u64,
        &object_bytes,
    );
    assert_eq!(opened.as_deref(), Ok(KAT_SHORT_PLAINTEXT));
}

// ---------------------------------------------------------------------------------------------
// Round trips.

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce; distinct seeds give
/// distinct streams.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Opened plaintext whose `Debug` shows its length and digest, not megabytes of bytes.
#[derive(PartialEq, Eq)]
struct Plain(Vec<u8>);

impl std::fmt::Debug for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Plain({} bytes, sha256 {})",
            self.0.len(),
            sha256_hex(&self.0)
        )
    }
}

/// A sealed object with everything needed to open it.
struct Sealed {
    header: Header,
    key: [u8; 32],
    plaintext: Vec<u8>,
    object: Vec<u8>,
}

impl Sealed {
    fn new(len: usize, seed: u64) -> Self {
        let header = Header::new(ObjectId::random());
        let key: [u8; 32] = bytes(32, seed ^ 0x5eed).try_into().expect("32 bytes");
        let plaintext = bytes(len, seed);
        let object = seal_object(DataKey::from_bytes(key), &header, &plaintext).expect("seal");
        Self {
            header,
            key,
            plaintext,
            object,
        }
    }

    fn dek(&self) -> DataKey {
        DataKey::from_bytes(self.key)
    }

    fn open(&self, object: &[u8]) -> Result<Plain, SealError> {
        open_object(
            &self.dek(),
            &self.header,
            self.plaintext.len() as u64,
            object,
        )
        .map(Plain)
    }

    fn plain(&self) -> Result<Plain, SealError> {
        Ok(Plain(self.plaintext.clone()))
    }

    /// Opens `object` the way a reader that trusts the stored length would: plaintext length
    /// derived from the object's size. Shows what the cryptography alone catches.
    fn open_trusting_length(&self, object: &[u8]) -> Result<Plain, SealError> {
        let len = plaintext_len_for_ciphertext(object.len() as u64, SEGMENT_SIZE)?;
        let opener = Opener::new(&self.dek(), &self.header, len)?;
        let mut out = Vec::new();
        opener.open_block(0, &object[HEADER_LEN..], &mut out)?;
        Ok(Plain(out))
    }

    /// Stored bytes of segment `i`.
    fn segment(&self, i: usize) -> &[u8] {
        let start = HEADER_LEN + i * FULL;
        &self.object[start..(start + FULL).min(self.object.len())]
    }
}

#[test]
fn round_trip_boundary_lengths() {
    for (seed, len) in [0, 1, S - 1, S, S + 1, 3 * S, 3 * S - 1, 3 * S + 1, 200_000]
        .into_iter()
        .enumerate()
    {
        let sealed = Sealed::new(len, seed as u64);
        assert_eq!(
            sealed.object.len() as u64,
            ciphertext_len(len as u64, SEGMENT_SIZE),
            "length of a {len}-byte object"
        );
        assert_eq!(sealed.open(&sealed.object), sealed.plain(), "len {len}");
    }
}

#[test]
fn streaming_blocks_equal_one_shot() {
    let sealed = Sealed::new(5 * S + 123, 9);
    // The pipeline's shape: blocks of 2 segments, read one block ahead to know the final one.
    let mut sealer = Sealer::new(sealed.dek(), &sealed.header).expect("sealer");
    let mut object = sealed.header.encode().to_vec();
    let blocks: Vec<&[u8]> = sealed.plaintext.chunks(2 * S).collect();
    for (i, block) in blocks.iter().enumerate() {
        sealer
            .seal_block(block, i + 1 == blocks.len(), &mut object)
            .expect("block");
    }
    assert_eq!(sealer.finish(), Ok(sealed.plaintext.len() as u64));
    assert_eq!(object, sealed.object);
}

#[test]
fn ciphertext_does_not_contain_plaintext() {
    let sealed = Sealed::new(3 * S, 4);
    let probe = &sealed.plaintext[1000..1032];
    assert!(!sealed.object.windows(probe.len()).any(|w| w == probe));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn round_trip_random_lengths(len in 0usize..(4 * S + 10), seed in any::<u64>()) {
        let sealed = Sealed::new(len, seed);
        prop_assert_eq!(sealed.open(&sealed.object), sealed.plain());
    }

    #[test]
    fn range_reads_equal_the_plaintext_slice(
        len in 0usize..(4 * S + 10),
        a in any::<usize>(),
        b in any::<usize>(),
        seed in any::<u64>(),
    ) {
        let sealed = Sealed::new(len, seed);
        let (x, y) = (a % (len + 1), b % (len + 1));
        let (start, end) = (x.min(y), x.max(y));
        let opener = Opener::new(&sealed.dek(), &sealed.header, len as u64).expect("opener");
        let plan = opener.plan_range(start as u64, end as u64).expect("plan");
        let range = plan.ciphertext_range();
        let fetched = &sealed.object[range.start as usize..range.end as usize];
        let mut out = b"prefix".to_vec();
        opener.open_range(&plan, fetched, &mut out).expect("open range");
        prop_assert_eq!(&out[..6], b"prefix");
        prop_assert_eq!(&out[6..], &sealed.plaintext[start..end]);
    }
}

#[test]
fn range_plan_from_another_object_rejected() {
    let sealed = Sealed::new(2 * S, 1);
    let opener = Opener::new(&sealed.dek(), &sealed.header, 2 * S as u64).expect("opener");
    let other = Opener::new(&sealed.dek(), &sealed.header, 3 * S as u64).expect("opener");
    let plan = other.plan_range(S as u64, 2 * S as u64).expect("plan");
    let fetched = sealed.segment(1);
    let mut out = Vec::new();
    assert!(matches!(
        opener.open_range(&plan, fetched, &mut out),
        Err(SealError::RangePlanMismatch { plan_len, opener_len, .. })
            if plan_len == 3 * S as u64 && opener_len == 2 * S as u64
    ));
    // Ciphertext of the wrong length for the plan.
    let plan = opener.plan_range(0, 10).expect("plan");
    assert!(matches!(
        opener.open_range(&plan, &fetched[..100], &mut out),
        Err(SealError::RangePlanMismatch {
            found_ciphertext: 100,
            ..
        })
    ));
    assert!(out.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Opening in place (the local read path decrypts where the stored bytes were read).

#[test]
fn in_place_open_equals_copying_open() {
    for (seed, len) in [0, 1, S - 1, S, S + 1, 3 * S, 3 * S + 7]
        .into_iter()
        .enumerate()
    {
        let sealed = Sealed::new(len, 100 + seed as u64);
        let opener = Opener::new(&sealed.dek(), &sealed.header, len as u64).expect("opener");
        let mut buf = sealed.object[HEADER_LEN..].to_vec();
        let n = opener
            .open_block_in_place(0, &mut buf)
            .expect("open in place");
        assert_eq!(
            Plain(buf[..n].to_vec()),
            sealed.plain().expect("plain"),
            "len {len}"
        );
    }
}

#[test]
fn in_place_open_of_later_segments() {
    let sealed = Sealed::new(4 * S + 9, 21);
    let opener =
        Opener::new(&sealed.dek(), &sealed.header, sealed.plaintext.len() as u64).expect("opener");
    // Segments 2..=4 (the last is short).
    let mut buf = sealed.object[HEADER_LEN + 2 * FULL..].to_vec();
    let n = opener.open_block_in_place(2, &mut buf).expect("open");
    assert_eq!(&buf[..n], &sealed.plaintext[2 * S..]);
    // The same bytes opened as if they were segments 1..=3 fail on the first one.
    let mut buf = sealed.object[HEADER_LEN + 2 * FULL..].to_vec();
    assert_eq!(
        opener.open_block_in_place(1, &mut buf),
        Err(SealError::SegmentAuthFailed { index: 1 })
    );
}

#[test]
fn in_place_open_failure_zeroes_the_buffer() {
    let sealed = Sealed::new(3 * S + 5, 31);
    let opener =
        Opener::new(&sealed.dek(), &sealed.header, sealed.plaintext.len() as u64).expect("opener");
    // A flipped byte in the third segment: the first two authenticate, yet nothing is left.
    let mut buf = sealed.object[HEADER_LEN..].to_vec();
    buf[2 * FULL + 17] ^= 0x80;
    assert_eq!(
        opener.open_block_in_place(0, &mut buf),
        Err(SealError::SegmentAuthFailed { index: 2 })
    );
    assert!(buf.iter().all(|&b| b == 0), "opened plaintext left behind");
    // Stored bytes that end inside a segment.
    let mut buf = sealed.object[HEADER_LEN..HEADER_LEN + FULL + 100].to_vec();
    assert_eq!(
        opener.open_block_in_place(0, &mut buf),
        Err(SealError::WrongSegmentLength {
            index: 1,
            expected: FULL as u64,
            found: 100
        })
    );
    assert!(buf.iter().all(|&b| b == 0));
    // Past the last segment.
    let mut buf = vec![1u8; FULL];
    assert_eq!(
        opener.open_block_in_place(4, &mut buf),
        Err(SealError::SegmentIndexOutOfRange { index: 4, count: 4 })
    );
    assert!(buf.iter().all(|&b| b == 0));
}

#[test]
fn in_place_range_with_a_plan_for_another_object_rejected() {
    let sealed = Sealed::new(2 * S, 41);
    let opener = Opener::new(&sealed.dek(), &sealed.header, 2 * S as u64).expect("opener");
    let other = Opener::new(&sealed.dek(), &sealed.header, 3 * S as u64).expect("opener");
    let plan = other.plan_range(S as u64, 2 * S as u64).expect("plan");
    let mut buf = sealed.segment(1).to_vec();
    assert!(matches!(
        opener.open_range_in_place(&plan, &mut buf),
        Err(SealError::RangePlanMismatch { plan_len, opener_len, .. })
            if plan_len == 3 * S as u64 && opener_len == 2 * S as u64
    ));
    let plan = opener.plan_range(0, 10).expect("plan");
    let mut short = sealed.segment(0)[..100].to_vec();
    assert!(matches!(
        opener.open_range_in_place(&plan, &mut short),
        Err(SealError::RangePlanMismatch {
            found_ciphertext: 100,
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn in_place_range_reads_equal_the_plaintext_slice(
        len in 0usize..(4 * S + 10),
        a in any::<usize>(),
        b in any::<usize>(),
        seed in any::<u64>(),
    ) {
        let sealed = Sealed::new(len, seed);
        let (x, y) = (a % (len + 1), b % (len + 1));
        let (start, end) = (x.min(y), x.max(y));
        let opener = Opener::new(&sealed.dek(), &sealed.header, len as u64).expect("opener");
        let plan = opener.plan_range(start as u64, end as u64).expect("plan");
        let range = plan.ciphertext_range();
        let mut buf = sealed.object[range.start as usize..range.end as usize].to_vec();
        let keep = opener.open_range_in_place(&plan, &mut buf).expect("open range in place");
        prop_assert_eq!(&buf[keep], &sealed.plaintext[start..end]);
    }
}

// ---------------------------------------------------------------------------------------------
// Tampering: every byte flipped is detected, with the error naming what was hit.

#[test]
fn every_flipped_byte_is_detected() {
    let sealed = Sealed::new(S + 100, 77);
    let mut object = sealed.object.clone();
    for at in 0..object.len() {
        object[at] ^= 0x01;
        let err = sealed.open(&object).expect_err("flipped byte accepted");
        let expected = match at {
            0..8 => matches!(err, SealError::BadMagic { .. }),
            8 => err == SealError::UnsupportedVersion { found: 0 },
            9 => err == SealError::UnsupportedAlgorithm { found: 0 },
            10 => err == SealError::ReservedNonZero { found: 0x0100 },
            11 => err == SealError::ReservedNonZero { found: 1 },
            12..16 => matches!(err, SealError::SegmentSize { .. }),
            16..32 => matches!(
                err,
                SealError::ObjectIdMismatch { expected, .. } if expected == sealed.header.object_id
            ),
            _ => {
                err == SealError::SegmentAuthFailed {
                    index: ((at - HEADER_LEN) / FULL) as u64,
                }
            }
        };
        assert!(expected, "byte {at}: unexpected {err:?}");
        object[at] ^= 0x01;
    }
    assert_eq!(sealed.open(&object), sealed.plain(), "no false alarm");
}

#[test]
fn flipped_tag_bits_detected_per_segment() {
    let sealed = Sealed::new(3 * S + 5, 12);
    let opener =
        Opener::new(&sealed.dek(), &sealed.header, sealed.plaintext.len() as u64).expect("opener");
    for index in 0..4 {
        let mut segment = sealed.segment(index).to_vec();
        let tag_start = segment.len() - TAG_LEN;
        for bit in 0..(TAG_LEN * 8) {
            segment[tag_start + bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                opener.open_segment(index as u64, &segment, &mut Vec::new()),
                Err(SealError::SegmentAuthFailed {
                    index: index as u64
                }),
                "segment {index} tag bit {bit}"
            );
            segment[tag_start + bit / 8] ^= 1 << (bit % 8);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation, dropped, duplicated and reordered segments.

#[test]
fn truncation_at_a_segment_boundary() {
    let sealed = Sealed::new(2 * S + 10, 3);
    let cut = &sealed.object[..HEADER_LEN + 2 * FULL];
    assert_eq!(
        sealed.open(cut),
        Err(SealError::ObjectLength {
            expected: sealed.object.len() as u64,
            found: cut.len() as u64
        })
    );
    // Even when the reader believes the stored length, the new last segment was sealed with
    // the "not last" flag, so it fails.
    assert_eq!(
        sealed.open_trusting_length(cut),
        Err(SealError::SegmentAuthFailed { index: 1 })
    );
    let cut_one = &sealed.object[..HEADER_LEN + FULL];
    assert_eq!(
        sealed.open_trusting_length(cut_one),
        Err(SealError::SegmentAuthFailed { index: 0 })
    );
    let header_only = &sealed.object[..HEADER_LEN];
    assert_eq!(
        sealed.open_trusting_length(header_only),
        Err(SealError::InvalidCiphertextLength {
            len: HEADER_LEN as u64
        })
    );
}

#[test]
fn truncation_inside_a_segment() {
    let sealed = Sealed::new(2 * S + 10, 5);
    // Cut inside the last segment: the last segment's tag is gone.
    let cut = &sealed.object[..sealed.object.len() - 5];
    assert!(matches!(
        sealed.open(cut),
        Err(SealError::ObjectLength { .. })
    ));
    assert_eq!(
        sealed.open_trusting_length(cut),
        Err(SealError::SegmentAuthFailed { index: 2 })
    );
    // Cut inside a middle segment: that segment becomes a short "last" one.
    let cut = &sealed.object[..HEADER_LEN + FULL + 1000];
    assert!(matches!(
        sealed.open(cut),
        Err(SealError::ObjectLength { .. })
    ));
    assert_eq!(
        sealed.open_trusting_length(cut),
        Err(SealError::SegmentAuthFailed { index: 1 })
    );
    // Cut leaving fewer than a tag's bytes of the last segment: impossible length.
    let cut = &sealed.object[..HEADER_LEN + FULL + 7];
    assert_eq!(
        sealed.open_trusting_length(cut),
        Err(SealError::InvalidCiphertextLength {
            len: cut.len() as u64
        })
    );
}

/// Rebuilds an object from the header and the listed original segments, in that order.
fn reassemble(sealed: &Sealed, order: &[usize]) -> Vec<u8> {
    let mut object = sealed.object[..HEADER_LEN].to_vec();
    for &i in order {
        object.extend_from_slice(sealed.segment(i));
    }
    object
}

#[test]
fn dropped_segments_detected() {
    let sealed = Sealed::new(3 * S + 10, 6);
    for (order, failing) in [
        (&[1, 2, 3][..], 0),
        (&[0, 2, 3][..], 1),
        (&[0, 1, 3][..], 2),
    ] {
        let object = reassemble(&sealed, order);
        assert!(matches!(
            sealed.open(&object),
            Err(SealError::ObjectLength { .. })
        ));
        assert_eq!(
            sealed.open_trusting_length(&object),
            Err(SealError::SegmentAuthFailed { index: failing }),
            "order {order:?}"
        );
    }
    // Dropping the last segment is truncation at a boundary.
    let object = reassemble(&sealed, &[0, 1, 2]);
    assert_eq!(
        sealed.open_trusting_length(&object),
        Err(SealError::SegmentAuthFailed { index: 2 })
    );
}

#[test]
fn duplicated_segments_detected() {
    let sealed = Sealed::new(3 * S + 10, 7);
    for (order, failing) in [
        (&[0, 0, 1, 2, 3][..], 1),
        (&[0, 1, 1, 2, 3][..], 2),
        (&[0, 1, 2, 3, 3][..], 3),
    ] {
        let object = reassemble(&sealed, order);
        assert!(matches!(
            sealed.open(&object),
            Err(SealError::ObjectLength { .. })
        ));
        // [0, 1, 2, 3, 3] has a short segment in the middle: the length is impossible.
        let trusted = sealed.open_trusting_length(&object);
        assert!(
            trusted == Err(SealError::SegmentAuthFailed { index: failing })
                || matches!(trusted, Err(SealError::InvalidCiphertextLength { .. })),
            "order {order:?}: {trusted:?}"
        );
    }
    // A full segment duplicated in place of another keeps the length: only the nonce catches it.
    let object = reassemble(&sealed, &[0, 0, 2, 3]);
    assert_eq!(
        sealed.open(&object),
        Err(SealError::SegmentAuthFailed { index: 1 })
    );
}

#[test]
fn swapped_segments_detected() {
    let sealed = Sealed::new(3 * S + 10, 8);
    let object = reassemble(&sealed, &[1, 0, 2, 3]);
    assert_eq!(
        sealed.open(&object),
        Err(SealError::SegmentAuthFailed { index: 0 })
    );
    let object = reassemble(&sealed, &[0, 2, 1, 3]);
    assert_eq!(
        sealed.open(&object),
        Err(SealError::SegmentAuthFailed { index: 1 })
    );
    // Opening a single segment at the wrong index.
    let opener =
        Opener::new(&sealed.dek(), &sealed.header, sealed.plaintext.len() as u64).expect("opener");
    assert_eq!(
        opener.open_segment(2, sealed.segment(1), &mut Vec::new()),
        Err(SealError::SegmentAuthFailed { index: 2 })
    );
}

// ---------------------------------------------------------------------------------------------
// Substituted objects.

#[test]
fn swapped_objects_detected() {
    let a = Sealed::new(S + 50, 20);
    let b = Sealed::new(S + 50, 21);
    // B's object served where A was expected: the stored header names B.
    assert_eq!(
        a.open(&b.object),
        Err(SealError::ObjectIdMismatch {
            expected: a.header.object_id,
            found: b.header.object_id
        })
    );
    // B's segments behind A's header: wrong key and wrong associated data.
    let mut forged = a.object[..HEADER_LEN].to_vec();
    forged.extend_from_slice(&b.object[HEADER_LEN..]);
    assert_eq!(
        a.open(&forged),
        Err(SealError::SegmentAuthFailed { index: 0 })
    );
    // A's record (header, length) with B's key, e.g. swapped key rows.
    let opened = open_object(&b.dek(), &a.header, a.plaintext.len() as u64, &a.object).map(Plain);
    assert_eq!(opened, Err(SealError::SegmentAuthFailed { index: 0 }));
    // One segment of B spliced into A.
    let mut spliced = a.object.clone();
    spliced[HEADER_LEN + FULL..].copy_from_slice(&b.object[HEADER_LEN + FULL..]);
    assert_eq!(
        a.open(&spliced),
        Err(SealError::SegmentAuthFailed { index: 1 })
    );
}

#[test]
fn header_binds_object_id_even_under_the_same_key() {
    // Were a data key ever reused, the header in the associated data still ties each segment
    // to its object id.
    let a = Sealed::new(100, 30);
    let other_header = Header::new(ObjectId::random());
    let mut relabelled = other_header.encode().to_vec();
    relabelled.extend_from_slice(&a.object[HEADER_LEN..]);
    let opened = open_object(&a.dek(), &other_header, 100, &relabelled).map(Plain);
    assert_eq!(opened, Err(SealError::SegmentAuthFailed { index: 0 }));
}

#[test]
fn short_or_empty_input_rejected() {
    let sealed = Sealed::new(10, 40);
    assert_eq!(sealed.open(&[]), Err(SealError::HeaderLength { found: 0 }));
    assert_eq!(
        sealed.open(&sealed.object[..20]),
        Err(SealError::HeaderLength { found: 20 })
    );
}

// ---------------------------------------------------------------------------------------------
// Wrapped keys.

#[test]
fn wrapped_key_bound_to_object_and_master_key() {
    let master = MasterKey::from_bytes(MasterKeyId(1), [0x11; 32]);
    let object = ObjectId::random();
    let dek = DataKey::random();
    let wrapped = wrap_data_key(&master, &object, &dek);

    let other_object = ObjectId::random();
    assert_eq!(
        unwrap_data_key(&master, &other_object, &wrapped).map(|_| ()),
        Err(SealError::KeyUnwrapFailed {
            object: other_object,
            master: MasterKeyId(1)
        })
    );
    let other_master = MasterKey::random(MasterKeyId(1));
    assert_eq!(
        unwrap_data_key(&other_master, &object, &wrapped).map(|_| ()),
        Err(SealError::KeyUnwrapFailed {
            object,
            master: MasterKeyId(1)
        })
    );
    // The same key bytes under another id: the id is bound too.
    let same_bytes_other_id = MasterKey::from_bytes(MasterKeyId(2), [0x11; 32]);
    assert_eq!(
        unwrap_data_key(&same_bytes_other_id, &object, &wrapped).map(|_| ()),
        Err(SealError::KeyUnwrapFailed {
            object,
            master: MasterKeyId(2)
        })
    );
    // And a key file relabelled with another id is caught by its check value.
    let relabelled = MasterKey::parse_file_string(
        &master
            .to_file_string()
            .replace("id 00000001", "id 00000002"),
    );
    assert_eq!(
        relabelled.map(|_| ()),
        Err(SealError::MasterKeyCheckFailed { id: MasterKeyId(2) })
    );
    // The right pair still works, and yields the same key (it opens what `dek` sealed).
    let header = Header::new(object);
    let sealed = seal_object(dek, &header, b"bound").expect("seal");
    let unwrapped = unwrap_data_key(&master, &object, &wrapped).expect("unwrap");
    assert_eq!(
        open_object(&unwrapped, &header, 5, &sealed).as_deref(),
        Ok(&b"bound"[..])
    );
}

#[test]
fn every_flipped_wrapped_key_byte_detected() {
    let master = kat_master();
    let object = ObjectId::from_hex(KAT_OBJECT_ID).expect("id");
    let wrapped = wrap_data_key(&master, &object, &DataKey::from_bytes(KAT_DEK));
    for at in 0..wrapped.0.len() {
        let mut bad = wrapped;
        bad.0[at] ^= 0x80;
        assert_eq!(
            unwrap_data_key(&master, &object, &bad).map(|_| ()),
            Err(SealError::KeyUnwrapFailed {
                object,
                master: master.id()
            }),
            "byte {at}"
        );
    }
}

#[test]
fn wrapped_key_from_slice() {
    let bytes = hex::decode(KAT_WRAPPED).expect("hex");
    assert_eq!(
        WrappedKey::from_slice(&bytes).map(|w| w.0.to_vec()),
        Ok(bytes.clone())
    );
    assert_eq!(
        WrappedKey::from_slice(&bytes[..59]),
        Err(SealError::WrappedKeyLength {
            expected: 60,
            found: 59
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Master key file.

#[test]
fn key_file_round_trip() {
    let master = MasterKey::random(MasterKeyId(0xdead_beef));
    let text = master.to_file_string();
    let parsed = MasterKey::parse_file_string(&text).expect("own output parses");
    assert_eq!(parsed.id(), MasterKeyId(0xdead_beef));
    assert_eq!(parsed.to_file_string(), text);
}

#[test]
fn malformed_key_files_rejected() {
    let good = KAT_KEY_FILE;
    let malformed = |text: &str, line: usize| {
        let result = MasterKey::parse_file_string(text).map(|_| ());
        assert!(
            matches!(result, Err(SealError::MalformedMasterKeyFile { line: l, .. }) if l == line),
            "{text:?}: {result:?}"
        );
    };
    malformed("", 1);
    malformed(good.trim_end_matches('\n'), 4);
    malformed(&good.replace("v1", "v2"), 1);
    malformed(&good.replace('\n', "\r\n"), 1);
    malformed(&format!("{good}\n"), 5);
    malformed(&format!("{good}extra\n"), 5);
    malformed("custos-master-key v1\n", 2);
    malformed("custos-master-key v1\nid 0000002a\n", 3);
    malformed(&good.replace("id 0000002a", "id 0000002A"), 2);
    malformed(&good.replace("id 0000002a", "id 000002a"), 2);
    malformed(&good.replace("id 0000002a", "id  0000002a"), 2);
    malformed(&good.replace("id 0000002a", "key 0000002a"), 2);
    malformed(&good.replace("=\n", "\n"), 3);
    malformed(&good.replace("oKGio6", "oKGio"), 3);
    malformed(&good.replace("key oKGio6", "key  oKGio6"), 3);
    malformed(&good.replace("vr8=", "vr9="), 3); // non-canonical trailing bits
    malformed(&good.replace("vr8=", "vr8=AAAA"), 3); // padding inside
    malformed(
        &good.replace(
            "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=",
            &"A".repeat(44),
        ),
        3, // 33 bytes
    );
    malformed(
        &good.replace("check d5c82bdf23411400", "check d5c82bdf234114"),
        4,
    );
    malformed(
        &good.replace("check d5c82bdf23411400", "check D5C82BDF23411400"),
        4,
    );
}

#[test]
fn every_flipped_key_file_byte_detected() {
    let good = KAT_KEY_FILE.as_bytes();
    for at in 0..good.len() {
        for flip in [0x01u8, 0x20] {
            let mut bad = good.to_vec();
            bad[at] ^= flip;
            // A flip may leave invalid UTF-8; the vault reads the file as text first.
            let Ok(text) = std::str::from_utf8(&bad) else {
                continue;
            };
            let result = MasterKey::parse_file_string(text).map(|_| ());
            assert!(
                matches!(
                    result,
                    Err(SealError::MalformedMasterKeyFile { .. }
                        | SealError::MasterKeyCheckFailed { .. })
                ),
                "byte {at} flip {flip:#x}: {result:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile input: parsers and openers return errors, never panic, on arbitrary bytes.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_input_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        text in "\\PC{0,120}",
        index in any::<u64>(),
        len in any::<u64>(),
        start in any::<u64>(),
        end in any::<u64>(),
    ) {
        let _ = Header::parse(&bytes);
        let _ = ObjectId::from_hex(&text);
        let _ = MasterKey::parse_file_string(&text);
        let _ = WrappedKey::from_slice(&bytes);
        let _ = plaintext_len_for_ciphertext(len, SEGMENT_SIZE);
        let _ = custos_seal::plan_range(len, SEGMENT_SIZE, start, end);
        let header = Header::new(ObjectId([3; 16]));
        let dek = DataKey::from_bytes([4; 32]);
        if let Ok(opener) = Opener::new(&dek, &header, len) {
            let mut out = Vec::new();
            prop_assert!(opener.open_segment(index, &bytes, &mut out).is_err());
            prop_assert!(bytes.is_empty() || opener.open_block(index, &bytes, &mut out).is_err());
            prop_assert!(out.is_empty());
        }
        prop_assert!(open_object(&dek, &header, len, &bytes).is_err());
    }
}
