//! Evidence-store conformance: the vault's encryption layer (`custos::store::EvidenceStore`) on
//! both real backends — local disk with fsync, and S3 on a loopback `moto_server`. Each test
//! runs as `<name>::local` and `<name>::s3`.

mod support;

use bytes::Bytes;
use custos::store::{EvidenceStore, ObjectSealer, StoreError};
use custos_seal::{DataKey, ObjectId, SEGMENT_SIZE};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use support::TestBackend;

const S: usize = SEGMENT_SIZE as usize;

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn store(b: &TestBackend) -> EvidenceStore {
    EvidenceStore::new(
        b.store.clone(),
        "vault-a",
        b.local_dir().map(|d| d.to_owned()),
    )
}

/// Seal and upload `plain` in blocks of `block` bytes; returns the object id and its key bytes.
async fn put(es: &EvidenceStore, plain: &[u8], block: usize) -> (ObjectId, [u8; 32]) {
    let id = ObjectId::random();
    let key = [7u8; 32];
    let mut sealer = ObjectSealer::new(DataKey::from_bytes(key), id).unwrap();
    let mut up = es.begin_upload(id).await.unwrap();
    let mut chunks: Vec<&[u8]> = plain.chunks(block).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let n = chunks.len();
    for (i, c) in chunks.into_iter().enumerate() {
        up.put(sealer.seal(c, i + 1 == n).unwrap()).await.unwrap();
    }
    up.finish().await.unwrap();
    (id, key)
}

async fn read(
    es: &EvidenceStore,
    id: ObjectId,
    key: [u8; 32],
    len: u64,
    r: std::ops::Range<u64>,
) -> Result<Vec<u8>, StoreError> {
    let s = es.read_plaintext(id, DataKey::from_bytes(key), len, r)?;
    let parts: Vec<Bytes> = s.try_collect().await?;
    Ok(parts.concat())
}

async fn round_trips_any_size_and_range(b: TestBackend) {
    let es = store(&b);
    for len in [0usize, 1, S - 1, S, S + 1, 3 * S + 5, 40 * S + 77] {
        let plain = data(len, len as u64 + 1);
        let (id, key) = put(&es, &plain, 16 * S).await;
        assert_eq!(
            es.stored_size(&id).await.unwrap(),
            custos_seal::ciphertext_len(len as u64, SEGMENT_SIZE)
        );
        assert_eq!(
            read(&es, id, key, len as u64, 0..len as u64).await.unwrap(),
            plain,
            "len {len}"
        );
        if len > 2 {
            let l = len as u64;
            for r in [0..1, l / 3..l / 2, l - 1..l, 1..l - 1] {
                assert_eq!(
                    read(&es, id, key, l, r.clone()).await.unwrap(),
                    &plain[r.start as usize..r.end as usize],
                    "len {len} {r:?}"
                );
            }
        }
    }
}

async fn names_reveal_nothing_and_list_finds_objects(b: TestBackend) {
    let es = store(&b);
    let plain = b"identifying content".to_vec();
    let (id, _) = put(&es, &plain, S).await;
    let (ids, strays) = es.list().await.unwrap();
    assert_eq!(
        ids,
        vec![(
            id,
            custos_seal::ciphertext_len(plain.len() as u64, SEGMENT_SIZE)
        )]
    );
    assert!(strays.is_empty());
    let listed: Vec<_> = b.store.list(None).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].location.as_ref(),
        format!("vault-a/objects/{}", id.to_hex())
    );
    let raw = b
        .store
        .get(&listed[0].location)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        !raw.windows(plain.len()).any(|w| w == plain.as_slice()),
        "ciphertext only"
    );
}

async fn delete_is_idempotent(b: TestBackend) {
    let es = store(&b);
    let (id, key) = put(&es, b"x", S).await;
    es.delete(&id).await.unwrap();
    es.delete(&id).await.unwrap();
    assert!(matches!(
        read(&es, id, key, 1, 0..1).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(es.list().await.unwrap().0.is_empty());
}

async fn aborted_upload_leaves_no_object(b: TestBackend) {
    let es = store(&b);
    let id = ObjectId::random();
    let mut sealer = ObjectSealer::new(DataKey::from_bytes([1; 32]), id).unwrap();
    let mut up = es.begin_upload(id).await.unwrap();
    up.put(sealer.seal(&data(S * 100, 3), false).unwrap())
        .await
        .unwrap();
    up.abort().await;
    assert!(es.list().await.unwrap().0.is_empty());
    assert!(es.local_partials().is_empty());
}

async fn tampered_truncated_and_swapped_objects_fail(b: TestBackend) {
    let es = store(&b);
    let len = 3 * S + 9;
    let (a, ka) = put(&es, &data(len, 5), S).await;
    let (c, kc) = put(&es, &data(len, 6), S).await;
    let path = |id: &ObjectId| Path::from(format!("vault-a/objects/{}", id.to_hex()));
    let raw = b
        .store
        .get(&path(&a))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    // A flipped byte in the second segment.
    let mut bad = raw.clone();
    bad[32 + S + 16 + 10] ^= 1;
    b.store.put(&path(&a), bad.into()).await.unwrap();
    let e = read(&es, a, ka, len as u64, 0..len as u64)
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Corrupt { ref object, .. } if *object == a.to_hex()),
        "{e}"
    );
    // Truncated at a segment boundary.
    b.store
        .put(
            &path(&a),
            Bytes::from(raw[..32 + 2 * (S + 16)].to_vec()).into(),
        )
        .await
        .unwrap();
    assert!(read(&es, a, ka, len as u64, 0..len as u64).await.is_err());
    // Object c's bytes stored under a's name: the header names another object.
    let other = b.store.get(&path(&c)).await.unwrap().bytes().await.unwrap();
    b.store.put(&path(&a), other.into()).await.unwrap();
    let e = read(&es, a, ka, len as u64, 0..10).await.unwrap_err();
    assert!(e.to_string().contains(&a.to_hex()), "{e}");
    // c itself still reads.
    assert_eq!(
        read(&es, c, kc, len as u64, 0..len as u64).await.unwrap(),
        data(len, 6)
    );
}

backend_tests!(
    round_trips_any_size_and_range,
    names_reveal_nothing_and_list_finds_objects,
    delete_is_idempotent,
    aborted_upload_leaves_no_object,
    tampered_truncated_and_swapped_objects_fail,
);
