//! Backend conformance: the object_store behaviours the vault relies on, checked on both real
//! backends (LocalFileSystem with fsync, and S3 against a loopback `moto_server`).
//!
//! Each test listed in `backend_tests!` runs as `<name>::local` and `<name>::s3`. Where the
//! backends differ, the test asserts each backend's actual behaviour and says so, so the vault
//! code knows what to expect. Today they differ in deleting a missing object (see
//! `delete_makes_object_not_found`) and in names ending `#<digits>` (see
//! `staging_names_are_not_objects_on_disk`).

mod support;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path as FsPath;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig, WriteMultipart,
};
use support::{BackendKind, TestBackend};

const MIB: usize = 1024 * 1024;
/// Part size the vault streams with.
const PART_SIZE: usize = custos::store::PART_SIZE;

/// Deterministic pseudo-random bytes (splitmix64), so a misplaced, repeated or dropped chunk
/// cannot compare equal.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Reads a whole object.
async fn get_bytes(store: &dyn ObjectStore, path: &Path) -> Vec<u8> {
    let result = store
        .get(path)
        .await
        .unwrap_or_else(|e| panic!("get {path}: {e}"));
    result
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("read body of {path}: {e}"))
        .to_vec()
}

/// Puts `data` at `path` with a single PUT.
async fn put_bytes(store: &dyn ObjectStore, path: &Path, data: &[u8]) {
    store
        .put(path, PutPayload::from(data.to_vec()))
        .await
        .unwrap_or_else(|e| panic!("put {path}: {e}"));
}

/// Locations of every object under `prefix`, sorted.
async fn list_paths(store: &dyn ObjectStore, prefix: Option<&Path>) -> Vec<String> {
    let metas: Vec<_> = store
        .list(prefix)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("list {prefix:?}: {e}"));
    let mut paths: Vec<String> = metas.into_iter().map(|m| m.location.to_string()).collect();
    paths.sort();
    paths
}

/// Asserts that a result is object_store's `NotFound` kind (not merely some error).
fn assert_not_found<T: std::fmt::Debug>(result: object_store::Result<T>, what: &str) {
    match result {
        Err(Error::NotFound { .. }) => {}
        other => panic!("{what}: expected Error::NotFound, got {other:?}"),
    }
}

/// Every file under `dir`, as paths relative to it, sorted.
fn files_on_disk(dir: &FsPath) -> Vec<String> {
    fn walk(root: &FsPath, dir: &FsPath, out: &mut Vec<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("read a directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("entry lies under the root");
                out.push(relative.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A 20 MiB object streamed in the vault's part size through `put_multipart` and
/// `WriteMultipart`, written in pieces that straddle part boundaries, reads back identical.
async fn multipart_upload_round_trips(backend: TestBackend) {
    let store = backend.store.as_ref();
    let path = Path::from("evidence/multipart.bin");
    let data = pattern(20 * MIB, 1);

    let upload = store
        .put_multipart(&path)
        .await
        .expect("start multipart upload");
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    for piece in data.chunks(3 * MIB + 1) {
        // Bound memory the way the vault does: at most two parts in flight.
        writer
            .wait_for_capacity(2)
            .await
            .expect("a part upload failed");
        writer.write(piece);
    }
    let put = writer.finish().await.expect("complete multipart upload");

    assert!(
        get_bytes(store, &path).await == data,
        "multipart object differs from what was written"
    );
    let meta = store.head(&path).await.expect("head multipart object");
    assert_eq!(meta.size, 20 * MIB as u64);
    if backend.kind == BackendKind::S3 {
        // An S3 multipart ETag is "<md5 of part md5s>-<part count>": proves the parts were sent.
        let parts = (20 * MIB).div_ceil(PART_SIZE);
        let e_tag = put.e_tag.expect("S3 returns an ETag");
        assert!(
            e_tag.trim_matches('"').ends_with(&format!("-{parts}")),
            "ETag {e_tag} is not a {parts}-part upload"
        );
    }
}

/// `get_range` returns exactly the requested bytes, including the first and last byte; a
/// range running past the end is cut at the end; an empty range, even at the very end, and a
/// range starting at the end are errors (not empty reads): callers must not ask for them.
async fn get_range_reads_exact_bytes(backend: TestBackend) {
    let store = backend.store.as_ref();
    let path = Path::from("evidence/ranges.bin");
    let data = pattern(100_003, 2);
    put_bytes(store, &path, &data).await;
    let len = data.len() as u64;

    let ranges = [0..1, 4096..12_288, 65_536..100_000, len - 1..len, 0..len];
    for range in ranges.clone() {
        let got = store
            .get_range(&path, range.clone())
            .await
            .unwrap_or_else(|e| panic!("get_range {range:?}: {e}"));
        let want = &data[range.start as usize..range.end as usize];
        assert!(
            got.as_ref() == want,
            "get_range {range:?} returned other bytes"
        );
    }
    let several = store.get_ranges(&path, &ranges).await.expect("get_ranges");
    assert_eq!(several.len(), ranges.len());
    for (got, range) in several.iter().zip(&ranges) {
        let want = &data[range.start as usize..range.end as usize];
        assert!(
            got.as_ref() == want,
            "get_ranges {range:?} returned other bytes"
        );
    }

    let past_end = store
        .get_range(&path, len - 10..len + 100)
        .await
        .expect("range past the end");
    assert!(
        past_end.as_ref() == &data[data.len() - 10..],
        "range past the end not cut at the end"
    );

    // Both backends reject these before reading (object_store's range check, or S3's 416):
    // `Generic`, never `NotFound`, so they cannot be mistaken for a missing object.
    for range in [len..len, 10..10, len..len + 1] {
        let result = store.get_range(&path, range.clone()).await;
        assert!(
            matches!(result, Err(Error::Generic { .. })),
            "get_range {range:?} on a {len}-byte object: expected Error::Generic, got {result:?}"
        );
    }
}

/// `head` reports the stored size, also for an empty object (an empty file is valid evidence).
async fn head_reports_size(backend: TestBackend) {
    let store = backend.store.as_ref();
    for (name, len) in [("empty", 0), ("one", 1), ("odd", 100_003)] {
        let path = Path::from(format!("evidence/{name}"));
        let data = pattern(len, 3);
        put_bytes(store, &path, &data).await;
        let meta = store
            .head(&path)
            .await
            .unwrap_or_else(|e| panic!("head {path}: {e}"));
        assert_eq!(meta.size, len as u64, "head size of {path}");
        assert_eq!(meta.location, path);
        assert!(get_bytes(store, &path).await == data, "content of {path}");
    }
}

/// After `delete`, `get` and `head` answer `NotFound` and `list` no longer shows the object.
///
/// Backend difference: deleting an object that does not exist is `Ok` on S3 (S3's DELETE is
/// idempotent) but `NotFound` on LocalFileSystem. Code that deletes (staging clean-up,
/// crypto-shredding retries) must treat `NotFound` from `delete` as success.
async fn delete_makes_object_not_found(backend: TestBackend) {
    let store = backend.store.as_ref();
    let path = Path::from("evidence/doomed");
    put_bytes(store, &path, b"to be deleted").await;
    store
        .delete(&path)
        .await
        .expect("delete an existing object");

    assert_not_found(store.get(&path).await.map(|_| ()), "get after delete");
    assert_not_found(store.head(&path).await, "head after delete");
    assert_eq!(list_paths(store, None).await, Vec::<String>::new());

    let again = store.delete(&path).await;
    match backend.kind {
        BackendKind::S3 => assert!(again.is_ok(), "S3 delete of a missing object: {again:?}"),
        BackendKind::Local => assert_not_found(again, "local delete of a missing object"),
    }
}

/// `list` under a prefix returns exactly the objects put under it, recursively, with their
/// sizes; the prefix matches whole path segments (`case-a` does not match `case-ab`).
async fn list_prefix_returns_exactly_objects_put(backend: TestBackend) {
    let store = backend.store.as_ref();
    let objects = [
        ("case-a/1", 1),
        ("case-a/2", 20),
        ("case-a/sub/3", 300),
        ("case-ab/4", 4),
        ("case-b/5", 5),
    ];
    for (name, len) in objects {
        put_bytes(store, &Path::from(name), &pattern(len, 4)).await;
    }

    let prefix = Path::from("case-a");
    assert_eq!(
        list_paths(store, Some(&prefix)).await,
        ["case-a/1", "case-a/2", "case-a/sub/3"]
    );
    let metas: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .expect("list case-a");
    for meta in metas {
        let (_, len) = objects
            .iter()
            .find(|(name, _)| meta.location.as_ref() == *name)
            .expect("listed object was put");
        assert_eq!(meta.size, *len as u64, "listed size of {}", meta.location);
    }
    assert_eq!(list_paths(store, None).await.len(), objects.len());
    assert_eq!(
        list_paths(store, Some(&Path::from("case-c"))).await,
        Vec::<String>::new()
    );
}

/// A multipart upload is invisible while in progress, and after `abort()` nothing is left:
/// no object, no listing, and no pending upload on S3 or staging file on disk.
async fn aborted_multipart_upload_leaves_nothing(backend: TestBackend) {
    let store = backend.store.as_ref();
    let path = Path::from("staged/aborted.bin");
    let upload = store
        .put_multipart(&path)
        .await
        .expect("start multipart upload");
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    writer.write(&pattern(2 * PART_SIZE + 1, 5));
    writer.wait_for_capacity(0).await.expect("upload two parts");

    // In progress: parts are stored but no object exists. Check the leftovers are visible
    // to this test, so their absence after the abort means something.
    assert_not_found(store.head(&path).await, "head during upload");
    assert_eq!(list_paths(store, None).await, Vec::<String>::new());
    match (backend.s3_server(), backend.local_dir()) {
        (Some(server), _) => assert_eq!(server.pending_multipart_uploads(), 1),
        (_, Some(dir)) => assert_eq!(files_on_disk(dir), ["staged/aborted.bin#1"]),
        (None, None) => unreachable!("a backend is either S3 or local"),
    }

    writer.abort().await.expect("abort multipart upload");

    assert_not_found(store.head(&path).await, "head after abort");
    assert_not_found(store.get(&path).await.map(|_| ()), "get after abort");
    assert_eq!(list_paths(store, None).await, Vec::<String>::new());
    if let Some(server) = backend.s3_server() {
        assert_eq!(
            server.pending_multipart_uploads(),
            0,
            "S3 still holds the upload's parts"
        );
    }
    if let Some(dir) = backend.local_dir() {
        assert_eq!(
            files_on_disk(dir),
            Vec::<String>::new(),
            "staging files left on disk"
        );
    }
}

/// `PutMode::Create` writes a new object, and on an existing name fails with `AlreadyExists`,
/// leaving the existing object untouched and nothing else behind. (S3: `If-None-Match: *`,
/// whose 412 object_store maps to `AlreadyExists`; local: hard link onto an existing file.)
async fn create_mode_refuses_existing_object(backend: TestBackend) {
    let store = backend.store.as_ref();
    let create = || PutOptions::from(PutMode::Create);
    let path = Path::from("log/entry-0");

    store
        .put_opts(&path, PutPayload::from_static(b"original"), create())
        .await
        .expect("create a new object");
    let second = store
        .put_opts(&path, PutPayload::from_static(b"usurper"), create())
        .await;
    assert!(
        matches!(second, Err(Error::AlreadyExists { .. })),
        "create over an existing object: expected Error::AlreadyExists, got {second:?}"
    );
    assert_eq!(get_bytes(store, &path).await, b"original");
    assert_eq!(list_paths(store, None).await, ["log/entry-0"]);
    if let Some(dir) = backend.local_dir() {
        // The refused write's staging file is removed too.
        assert_eq!(
            files_on_disk(dir),
            ["log/entry-0"],
            "files left by the refused create"
        );
    }
}

/// Reading an object that never existed is `NotFound`, for `get`, `head` and `get_range`.
async fn missing_object_is_not_found(backend: TestBackend) {
    let store = backend.store.as_ref();
    let path = Path::from("evidence/never-written");
    assert_not_found(
        store.get(&path).await.map(|_| ()),
        "get of a missing object",
    );
    assert_not_found(store.head(&path).await, "head of a missing object");
    assert_not_found(
        store.get_range(&path, 0..1).await,
        "get_range of a missing object",
    );
}

/// On disk, a file named `<name>#<digits>` is a staging file, not an object: listing skips
/// it and `head`/`get` of `<name>` do not see it. The vault's own local upload writes its
/// staging file under that name, so an unfinished upload stays invisible exactly as one made
/// through `put_multipart` does. On S3 such a name is an ordinary key (there, unfinished
/// multipart uploads are what stays invisible).
async fn staging_names_are_not_objects_on_disk(backend: TestBackend) {
    let store = backend.store.as_ref();
    put_bytes(store, &Path::from("objects/done"), b"published").await;
    match backend.local_dir() {
        Some(dir) => {
            std::fs::write(dir.join("objects/pending#1"), b"staged").expect("write staging file");
            std::fs::write(dir.join("objects/done#2"), b"staged").expect("write staging file");
            assert_eq!(list_paths(store, None).await, ["objects/done"]);
            assert_not_found(
                store.head(&Path::from("objects/pending")).await,
                "head of a staged-only name",
            );
            assert_eq!(
                get_bytes(store, &Path::from("objects/done")).await,
                b"published"
            );
        }
        None => {
            let staged = Path::from("objects/pending#1");
            put_bytes(store, &staged, b"staged").await;
            // Listed like any other key (object_store spells `#` as `%23` in paths).
            assert_eq!(list_paths(store, None).await.len(), 2);
            assert_eq!(get_bytes(store, &staged).await, b"staged");
        }
    }
}

backend_tests!(
    multipart_upload_round_trips,
    get_range_reads_exact_bytes,
    head_reports_size,
    delete_makes_object_not_found,
    list_prefix_returns_exactly_objects_put,
    aborted_multipart_upload_leaves_nothing,
    create_mode_refuses_existing_object,
    missing_object_is_not_found,
    staging_names_are_not_objects_on_disk,
);

/// Client settings that make an unreachable or silent S3 endpoint fail within seconds: connect
/// timeout 1 s, request timeout 2 s, one retry after 100 to 500 ms, no retry after 2 s.
fn fail_fast_store(addr: SocketAddr) -> Box<dyn ObjectStore> {
    let client = ClientOptions::new()
        .with_allow_http(true)
        .with_connect_timeout(Duration::from_secs(1))
        .with_timeout(Duration::from_secs(2));
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            base: 2.0,
        },
        max_retries: 1,
        retry_timeout: Duration::from_secs(2),
    };
    let store = support::s3_builder(&format!("http://{addr}"), "no-such-bucket")
        .with_client_options(client)
        .with_retry(retry)
        .build()
        .expect("build an S3 store");
    Box::new(store)
}

/// Runs `op`, asserting it fails with `Error::Generic` (never `NotFound`) within `limit`.
async fn assert_fails_within<T: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    op: impl Future<Output = object_store::Result<T>>,
) {
    let start = Instant::now();
    let result = tokio::time::timeout(limit + Duration::from_secs(5), op)
        .await
        .unwrap_or_else(|_| panic!("{what}: still running after {limit:?} + 5 s"));
    let elapsed = start.elapsed();
    match result {
        Err(e @ Error::Generic { .. }) => {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                chain.push_str(&format!(" <- {cause}"));
                source = cause.source();
            }
            eprintln!("{what}: failed in {elapsed:?}: {chain}");
        }
        other => panic!("{what}: expected Error::Generic, got {other:?}"),
    }
    assert!(
        elapsed <= limit,
        "{what}: took {elapsed:?}, more than {limit:?}"
    );
}

/// S3 endpoint on a closed loopback port (connection refused): `put` and `get` fail within
/// 3 s with the fail-fast settings (one retry after a short backoff).
#[tokio::test]
async fn s3_unreachable_endpoint_fails_fast() {
    let addr = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
        listener.local_addr().expect("read the port")
    }; // listener dropped: nothing listens there any more
    let store = fail_fast_store(addr);
    let path = Path::from("evidence/x");
    let limit = Duration::from_secs(3);
    assert_fails_within(
        "put to a closed port",
        limit,
        store.put(&path, PutPayload::from_static(b"x")),
    )
    .await;
    assert_fails_within("get from a closed port", limit, store.get(&path)).await;
}

/// S3 endpoint that accepts connections but never answers (a hung server): the request times
/// out after 2 s. That also spends the 2 s retry budget (`retry_timeout` counts from the first
/// attempt), so there is no retry: `put` and `get` fail in about 2 s (limit 5 s for slow CI).
#[tokio::test]
async fn s3_silent_endpoint_times_out() {
    // The kernel completes connections into the listen backlog; nobody ever reads them.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    let store = fail_fast_store(listener.local_addr().expect("read the port"));
    let path = Path::from("evidence/x");
    let limit = Duration::from_secs(5);
    assert_fails_within(
        "put to a silent server",
        limit,
        store.put(&path, PutPayload::from_static(b"x")),
    )
    .await;
    assert_fails_within("get from a silent server", limit, store.get(&path)).await;
    drop(listener); // listening until here, so both requests met a live but silent server
}

/// Dropping an `S3Server` stops the server: its port refuses connections once `drop` returns.
#[test]
fn s3_server_stops_when_dropped() {
    let server = support::S3Server::start();
    let addr = server.addr;
    TcpStream::connect(addr).expect("the server answers while alive");
    drop(server);
    let after = TcpStream::connect(addr);
    assert!(
        after.is_err(),
        "{addr} still accepts connections after the server was dropped"
    );
}
