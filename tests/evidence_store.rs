//! Evidence-store conformance: the vault's encryption layer (`custos::store::EvidenceStore`) on
//! both real backends — local disk with fsync, and S3 on a loopback `moto_server`. Each test
//! runs as `<name>::local` and `<name>::s3`. On local disk the store reads and writes object
//! files itself (staging file, positioned reads into reused buffers); these tests hold it to
//! the same behaviour as the `object_store` path S3 takes.

mod support;

use bytes::Bytes;
use custos::store::{BufferPool, EvidenceStore, ObjectSealer, StoreError};
use custos_seal::{DataKey, ObjectId, SEGMENT_SIZE, SealError};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use support::{BackendKind, TestBackend};

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

/// Seal and send every block of `plain` (blocks of 16 segments), without finishing.
async fn send_all(
    es: &EvidenceStore,
    id: ObjectId,
    key: [u8; 32],
    plain: &[u8],
) -> custos::store::ObjectUpload {
    let mut sealer = ObjectSealer::new(DataKey::from_bytes(key), id).unwrap();
    let mut up = es.begin_upload(id).await.unwrap();
    let chunks: Vec<&[u8]> = plain.chunks(16 * S).collect();
    for (i, c) in chunks.iter().enumerate() {
        up.put(sealer.seal(c, i + 1 == chunks.len()).unwrap())
            .await
            .unwrap();
    }
    up
}

fn stored_len(len: usize) -> u64 {
    custos_seal::ciphertext_len(len as u64, SEGMENT_SIZE)
}

async fn upload_is_invisible_until_finished(b: TestBackend) {
    let es = store(&b);
    let (id, key) = (ObjectId::random(), [9u8; 32]);
    let plain = data(3 * 16 * S + 5, 11);
    let len = plain.len() as u64;
    let up = send_all(&es, id, key, &plain).await;
    // Every byte sent, not finished: nothing is listed or readable.
    assert!(es.list().await.unwrap().0.is_empty());
    assert!(matches!(
        read(&es, id, key, len, 0..len).await,
        Err(StoreError::NotFound { .. })
    ));
    // On local disk the bytes wait in one staging file, named as LocalFileSystem names its
    // own (so its listing skips it and the audit reports it after a crash).
    let partials: Vec<String> = es
        .local_partials()
        .iter()
        .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
        .collect();
    match b.kind {
        BackendKind::Local => assert_eq!(partials, vec![format!("{}#1", id.to_hex())]),
        BackendKind::S3 => assert!(partials.is_empty()),
    }
    up.finish().await.unwrap();
    assert_eq!(
        es.list().await.unwrap().0,
        vec![(id, stored_len(plain.len()))]
    );
    assert!(es.local_partials().is_empty());
    assert_eq!(read(&es, id, key, len, 0..len).await.unwrap(), plain);
}

async fn dropped_upload_leaves_nothing(b: TestBackend) {
    let es = store(&b);
    let (id, key) = (ObjectId::random(), [4u8; 32]);
    let up = send_all(&es, id, key, &data(2 * 16 * S, 12)).await;
    drop(up);
    // Local cleanup runs on the writer thread once it sees the upload gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !es.local_partials().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(es.local_partials().is_empty(), "staging file left behind");
    assert!(es.list().await.unwrap().0.is_empty());
}

/// Larger than the local flush step (32 MiB), so background flushes run during the upload.
async fn large_object_round_trips(b: TestBackend) {
    let es = store(&b);
    let plain = data(33 * 1024 * 1024 + 3, 13);
    let len = plain.len() as u64;
    let (id, key) = put(&es, &plain, 16 * S).await;
    assert_eq!(es.stored_size(&id).await.unwrap(), stored_len(plain.len()));
    assert!(es.local_partials().is_empty());
    // Held all at once: more blocks than a read keeps for reuse, so none may be recycled
    // while a consumer still holds it.
    let blocks: Vec<Bytes> = es
        .read_plaintext(id, DataKey::from_bytes(key), len, 0..len)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(blocks.len(), 34);
    assert_eq!(blocks.concat(), plain);
    let r = 5 * 16 * S as u64 - 7..len - 100;
    assert_eq!(
        read(&es, id, key, len, r.clone()).await.unwrap(),
        &plain[r.start as usize..r.end as usize]
    );
}

async fn truncated_object_fails(b: TestBackend) {
    let es = store(&b);
    let len = 40 * S + 9;
    let plain = data(len, 14);
    let (id, key) = put(&es, &plain, 16 * S).await;
    let path = Path::from(format!("vault-a/objects/{}", id.to_hex()));
    let raw = b.store.get(&path).await.unwrap().bytes().await.unwrap();
    // Cut inside the third read chunk: the first two chunks still open.
    let cut = 32 + 35 * (S + 16);
    b.store
        .put(&path, Bytes::from(raw[..cut].to_vec()).into())
        .await
        .unwrap();
    let head = read(&es, id, key, len as u64, 0..(32 * S) as u64).await;
    assert_eq!(head.unwrap(), &plain[..32 * S]);
    let e = read(&es, id, key, len as u64, 0..len as u64)
        .await
        .unwrap_err();
    match b.kind {
        // The local path reads the file itself and names the damage.
        BackendKind::Local => assert!(
            matches!(
                e,
                StoreError::Corrupt {
                    source: SealError::ObjectLength { expected, found },
                    ..
                } if expected == stored_len(len) && found == cut as u64
            ),
            "{e:?}"
        ),
        BackendKind::S3 => assert!(
            matches!(e, StoreError::Backend { .. } | StoreError::Corrupt { .. }),
            "{e:?}"
        ),
    }
    // A header cut short fails before any plaintext.
    b.store
        .put(&path, Bytes::from(raw[..20].to_vec()).into())
        .await
        .unwrap();
    assert!(read(&es, id, key, len as u64, 0..1).await.is_err());
}

async fn sealing_into_a_reused_buffer_equals_sealing(b: TestBackend) {
    let es = store(&b);
    let plain = data(2 * 16 * S + 77, 15);
    let id = ObjectId::random();
    let mut fresh = ObjectSealer::new(DataKey::from_bytes([3; 32]), id).unwrap();
    let mut reused = ObjectSealer::new(DataKey::from_bytes([3; 32]), id).unwrap();
    let mut buf = vec![0xee; 5];
    let chunks: Vec<&[u8]> = plain.chunks(16 * S).collect();
    let mut up = es.begin_upload(id).await.unwrap();
    for (i, c) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        buf.clear();
        reused.seal_into(c, last, &mut buf).unwrap();
        let sealed = fresh.seal(c, last).unwrap();
        assert_eq!(sealed, buf, "block {i}");
        up.put(Bytes::from(buf.clone())).await.unwrap();
    }
    up.finish().await.unwrap();
    let len = plain.len() as u64;
    assert_eq!(read(&es, id, [3; 32], len, 0..len).await.unwrap(), plain);
}

#[test]
fn pool_reuses_a_buffer_once_every_clone_is_dropped() {
    let pool = BufferPool::new(1024, 2);
    let mut a = pool.take();
    a.vec_mut().extend_from_slice(b"0123456789");
    let capacity = a.vec_mut().capacity();
    assert!(capacity >= 1024);
    let bytes = a.freeze(2..5);
    assert_eq!(&bytes[..], b"234");
    let clone = bytes.slice(1..);
    drop(bytes);
    assert_eq!(pool.free_buffers(), 0, "a clone still uses the buffer");
    assert_eq!(&clone[..], b"34");
    drop(clone);
    assert_eq!(pool.free_buffers(), 1);
    // The same buffer comes back, with what its last user left in it.
    let mut again = pool.take();
    assert_eq!(again.vec_mut().as_slice(), b"0123456789");
    assert_eq!(pool.free_buffers(), 0);
    // Views are clamped to the buffer.
    assert_eq!(&again.freeze(8..50)[..], b"89");
    let mut b = pool.take();
    b.vec_mut().push(1);
    let (start, end) = (7, 3);
    assert!(b.freeze(start..end).is_empty(), "an inverted view is empty");
}

#[test]
fn pool_keeps_at_most_keep_buffers_and_never_waits() {
    let pool = BufferPool::new(64, 2);
    let taken: Vec<_> = (0..5).map(|_| pool.take()).collect();
    drop(taken);
    assert_eq!(pool.free_buffers(), 2);
    // A buffer that shrank below the pool's size is not kept.
    let mut small = pool.take();
    *small.vec_mut() = Vec::new();
    drop(small);
    assert_eq!(pool.free_buffers(), 1);
}

backend_tests!(
    round_trips_any_size_and_range,
    names_reveal_nothing_and_list_finds_objects,
    delete_is_idempotent,
    aborted_upload_leaves_no_object,
    tampered_truncated_and_swapped_objects_fail,
    upload_is_invisible_until_finished,
    dropped_upload_leaves_nothing,
    large_object_round_trips,
    truncated_object_fails,
    sealing_into_a_reused_buffer_equals_sealing,
);
