//! Shared support for integration tests: the two real storage backends the vault runs on.
//!
//! * [`local_store`]: `LocalFileSystem` in a folder, with fsync on, exactly as the vault builds it.
//! * [`S3Server`]: a real S3-compatible server (`moto_server`, from PyPI `moto[server]`) started on
//!   a free loopback port, with a fresh bucket; [`s3_store`] connects `AmazonS3` to it. No mocks.
//!
//! Each test starts its own server (about 0.6 s; tests run in parallel). That gives every test an
//! isolated, empty store and ties the server's life to a value the test owns, so it is stopped on
//! `Drop`, also when the test panics. A server shared through a `static` would never be dropped.
//! For the cases where `Drop` never runs (the test binary is killed, or panics with
//! `panic=abort`), the server runs under a small shell watchdog that kills it as soon as the test
//! process goes away: see [`WATCHDOG`].
//!
//! [`backend_tests!`](crate::backend_tests) runs a test written once on both backends.
//!
//! Use from a test file with `mod support;` at the crate root of that test.

// Every test binary compiles this module but uses only part of it.
#![allow(dead_code)]

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};
use tempfile::TempDir;

/// Name of the S3-compatible server executable looked up on `PATH`.
const MOTO_SERVER: &str = "moto_server";
/// How long a starting server may take to answer HTTP (moto imports a lot of Python).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts to start a server; another process may grab the free port before moto binds it.
const START_ATTEMPTS: u32 = 3;
/// How long `Drop` waits for the server to exit before killing the watchdog outright.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout for each plain HTTP request the harness itself sends (health check, bucket creation).
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Shell watchdog around the server: `sh -c WATCHDOG sh SERVER ARGS...`.
///
/// The watchdog's stdin is a pipe whose only writer is the test process (Rust opens pipes with
/// `O_CLOEXEC`, so no other child inherits it). End of file on it means the test process has
/// dropped the [`S3Server`] or died, however it died; the watchdog then kills the server. The
/// shell exits when the server does, so its exit status tells the harness that the server failed.
const WATCHDOG: &str = r#"
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
(read -r _ <&3; kill "$server" 2>/dev/null) &
watcher=$!
wait "$server"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// Which storage backend a [`TestBackend`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// `object_store::local::LocalFileSystem` in a temporary folder, fsync on.
    Local,
    /// `object_store::aws::AmazonS3` against a loopback `moto_server`.
    S3,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "local",
            Self::S3 => "s3",
        })
    }
}

/// A store on one backend, plus whatever keeps that backend alive (folder or server).
pub struct TestBackend {
    /// Which backend `store` is.
    pub kind: BackendKind,
    /// The store under test, as the vault holds it.
    pub store: Arc<dyn ObjectStore>,
    holder: Holder,
}

/// Owns the backend's resources; dropping it removes the folder or stops the server.
enum Holder {
    Local(TempDir),
    S3(S3Server),
}

impl TestBackend {
    /// A `LocalFileSystem` store (fsync on) in a fresh temporary folder.
    pub fn local() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("custos-store-")
            .tempdir()
            .expect("create a temporary folder for the local store");
        Self {
            kind: BackendKind::Local,
            store: local_store(dir.path()),
            holder: Holder::Local(dir),
        }
    }

    /// An S3 store on a freshly started `moto_server` with an empty bucket.
    pub fn s3() -> Self {
        let server = S3Server::start();
        Self {
            kind: BackendKind::S3,
            store: s3_store(&server),
            holder: Holder::S3(server),
        }
    }

    /// Builds the backend of the given kind.
    pub fn new(kind: BackendKind) -> Self {
        match kind {
            BackendKind::Local => Self::local(),
            BackendKind::S3 => Self::s3(),
        }
    }

    /// The store's root folder on disk, for the local backend.
    pub fn local_dir(&self) -> Option<&Path> {
        match &self.holder {
            Holder::Local(dir) => Some(dir.path()),
            Holder::S3(_) => None,
        }
    }

    /// The server behind the store, for the S3 backend.
    pub fn s3_server(&self) -> Option<&S3Server> {
        match &self.holder {
            Holder::S3(server) => Some(server),
            Holder::Local(_) => None,
        }
    }
}

/// The vault's local backend: `LocalFileSystem` rooted at `dir`, fsync on (without it,
/// acknowledged writes do not survive a power loss; REFERENCE.md §4).
pub fn local_store(dir: &Path) -> Arc<dyn ObjectStore> {
    let store = LocalFileSystem::new_with_prefix(dir)
        .unwrap_or_else(|e| panic!("open a LocalFileSystem store at {}: {e}", dir.display()))
        .with_fsync(true);
    Arc::new(store)
}

/// An `AmazonS3` store on `server`'s bucket.
///
/// Retries are fewer than object_store's defaults (10 retries over up to 3 minutes) so that a
/// broken server fails a test in seconds instead of minutes.
pub fn s3_store(server: &S3Server) -> Arc<dyn ObjectStore> {
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 2,
        retry_timeout: Duration::from_secs(30),
    };
    let store = s3_builder(&server.endpoint, &server.bucket)
        .with_retry(retry)
        .build()
        .unwrap_or_else(|e| panic!("build an S3 store for {}: {e}", server.endpoint));
    Arc::new(store)
}

/// An `AmazonS3Builder` for an S3-compatible server at `endpoint` (`http://host:port`).
///
/// Path-style requests (`http://host:port/bucket/key`), since the loopback server has no DNS
/// names for virtual-hosted buckets. Static dummy credentials: moto accepts any signature, and
/// static keys keep the builder from looking for credentials in the environment.
///
/// Beware: `with_client_options` replaces the whole `ClientOptions`, including the
/// `allow_http` set here; pass options built with `.with_allow_http(true)`.
pub fn s3_builder(endpoint: &str, bucket: &str) -> AmazonS3Builder {
    AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_region("us-east-1")
        .with_bucket_name(bucket)
        .with_access_key_id("test")
        .with_secret_access_key("test")
}

/// A running `moto_server` on a loopback port, with one bucket created for the test.
///
/// Stopped (and waited for) on `Drop`.
pub struct S3Server {
    /// Base URL of the server, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Name of the bucket created for this server's user.
    pub bucket: String,
    /// The loopback address the server listens on.
    pub addr: SocketAddr,
    /// The watchdog shell that runs the server (see [`WATCHDOG`]).
    child: Child,
    /// Server output, kept for failure messages.
    log_path: PathBuf,
    /// Holds the log file; removed after the server has stopped.
    _dir: TempDir,
}

impl S3Server {
    /// Starts `moto_server` on a free loopback port, waits until it answers HTTP and creates a
    /// uniquely named bucket.
    ///
    /// Panics with the reason and the server's log if any step fails, and with install
    /// instructions if `moto_server` is not on `PATH`.
    pub fn start() -> Self {
        let program = find_on_path(MOTO_SERVER).unwrap_or_else(|| {
            panic!(
                "`{MOTO_SERVER}` is not on PATH. The S3 tests need a real S3-compatible server: \
                 install it with `python3 -m pip install 'moto[server]'`"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("custos-moto-")
            .tempdir()
            .expect("create a temporary folder for the moto_server log");
        let log_path = dir.path().join("moto_server.log");

        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
            let mut child = spawn_server(&program, addr, &log_path);
            match wait_until_ready(addr, &mut child) {
                Ok(()) => {
                    let server = Self {
                        endpoint: format!("http://{addr}"),
                        bucket: unique_bucket_name(),
                        addr,
                        child,
                        log_path,
                        _dir: dir,
                    };
                    server.create_bucket();
                    return server;
                }
                Err(not_ready) => {
                    stop(&mut child);
                    failures.push(format!(
                        "attempt {attempt} on {addr}: {}\n--- server log ---\n{}",
                        not_ready.reason(),
                        read_log(&log_path)
                    ));
                    // A server that exited may have lost the race for the port; one that hangs
                    // would only hang again.
                    if matches!(not_ready, NotReady::Silent(_)) {
                        break;
                    }
                }
            }
        }
        panic!(
            "`{}` did not start:\n{}",
            program.display(),
            failures.join("\n")
        );
    }

    /// The server's output so far (requests and errors), for failure messages.
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }

    /// Number of multipart uploads started in the bucket and neither completed nor aborted,
    /// from the server's `ListMultipartUploads` (an unsigned request, which moto accepts).
    pub fn pending_multipart_uploads(&self) -> usize {
        let target = format!("/{}?uploads", self.bucket);
        let (status, body) = http_request(self.addr, "GET", &target)
            .unwrap_or_else(|e| panic!("GET {target} on {}: {e}", self.endpoint));
        assert_eq!(status, 200, "GET {target} answered {status}: {body}");
        body.matches("<UploadId>").count()
    }

    /// Creates `self.bucket` with an unsigned `PUT /BUCKET` (moto does not check signatures).
    fn create_bucket(&self) {
        let target = format!("/{}", self.bucket);
        match http_request(self.addr, "PUT", &target) {
            Ok((200, _)) => {}
            Ok((status, body)) => panic!(
                "creating bucket {} on {} answered {status}: {body}",
                self.bucket, self.endpoint
            ),
            Err(e) => panic!(
                "creating bucket {} on {}: {e}\n--- server log ---\n{}",
                self.bucket,
                self.endpoint,
                self.log()
            ),
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Searches `PATH` for an executable file called `name`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A loopback port that was free a moment ago: bind port 0, read the port, release it.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .expect("bind a loopback port to find a free one");
    listener
        .local_addr()
        .expect("read the bound loopback port")
        .port()
}

/// Bucket names unique across test processes and within one: `custos-test-<pid>-<n>`
/// (S3 rules: 3 to 63 characters, lowercase letters, digits and hyphens).
fn unique_bucket_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("custos-test-{}-{n}", std::process::id())
}

/// Spawns the server under the watchdog shell, output written to a fresh `log_path`.
fn spawn_server(program: &Path, addr: SocketAddr, log_path: &Path) -> Child {
    let log =
        File::create(log_path).unwrap_or_else(|e| panic!("create {}: {e}", log_path.display()));
    let log_err = log
        .try_clone()
        .unwrap_or_else(|e| panic!("duplicate the handle of {}: {e}", log_path.display()));
    Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("sh")
        .arg(program)
        .arg("-H")
        .arg(addr.ip().to_string())
        .arg("-p")
        .arg(addr.port().to_string())
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn `sh` to run {}: {e}", program.display()))
}

/// Why a started server is not usable.
enum NotReady {
    /// The server process is gone (for example, the port was taken before it could bind).
    Exited(String),
    /// The server did not answer HTTP in time.
    Silent(String),
}

impl NotReady {
    fn reason(&self) -> &str {
        match self {
            Self::Exited(reason) | Self::Silent(reason) => reason,
        }
    }
}

/// Polls the server with a plain HTTP request until it answers, it exits, or the timeout passes.
fn wait_until_ready(addr: SocketAddr, child: &mut Child) -> Result<(), NotReady> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(NotReady::Exited(format!("server exited early ({status})")));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(NotReady::Exited(format!(
                    "cannot query the server process: {e}"
                )));
            }
        }
        let last_error = match http_request(addr, "GET", "/") {
            Ok((200, _)) => return Ok(()),
            Ok((status, body)) => format!("GET / answered {status}: {body}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(NotReady::Silent(format!(
                "no answer to GET / within {READY_TIMEOUT:?}; last error: {last_error}"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends one bodiless HTTP/1.1 request and returns the status code and the body.
fn http_request(addr: SocketAddr, method: &str, target: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\n\
         Host: {addr}\r\n\
         Content-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let bad = || std::io::Error::other(format!("not an HTTP response: {response:?}"));
    // Status line: "HTTP/1.1 200 OK".
    let status = response
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(bad)?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Stops the server: close the watchdog's stdin, wait for the shell to exit, kill it if it hangs.
fn stop(child: &mut Child) {
    drop(child.stdin.take());
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    // The watchdog has seen end of file already, so the server goes even if only the shell dies.
    let _ = child.kill();
    let _ = child.wait();
}

/// The log's contents, or a note saying why it cannot be read.
fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

/// Runs async test functions on both backends.
///
/// Write each test once as `async fn name(backend: TestBackend)`, then list the names:
///
/// ```ignore
/// /// What the test proves.
/// async fn name(backend: TestBackend) {
///     let store = &backend.store;
/// }
///
/// backend_tests!(name, other_name);
/// ```
///
/// For each name this adds a module `name` (modules and functions live in different
/// namespaces, so the names do not clash) holding the `#[tokio::test]`s `name::local` and
/// `name::s3`: `cargo test name` runs both, `cargo test ::s3` every S3 case. A test function
/// left out of the list is dead code, which clippy's `-D warnings` rejects. Needs `mod support;`
/// at the test crate's root.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn local() {
                    super::$name($crate::support::TestBackend::local()).await
                }

                #[tokio::test]
                async fn s3() {
                    super::$name($crate::support::TestBackend::s3()).await
                }
            }
        )+
    };
}
