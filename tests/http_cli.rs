//! The `custos` command line as a client of a real `custos serve` on loopback (`--server`):
//! login and the client config, cases, streamed ingest with a verified receipt, downloads
//! that are checked before they replace anything, custody chains, transfers, disclosures,
//! and the one-line errors for refused, expired and revoked tokens and dropped connections.

mod http_support;
use custos_core::Sha256Hash;
use custos_core::checkpoint::open_checkpoint;
use custos_core::merkle::verify_inclusion;
use custos_core::note::{NoteSigner, NoteVerifier};
use http_support::TestServer;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The CLI with its own client config and working folder, pointed at a server.
struct Cli {
    url: String,
    work: tempfile::TempDir,
}

impl Cli {
    fn new(url: &str) -> Self {
        Cli {
            url: url.to_string(),
            work: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> PathBuf {
        self.work.path().join("client.toml")
    }

    fn command(&self, token: Option<&str>, server: bool) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_custos"));
        c.env_remove("CUSTOS_DIR")
            .env_remove("CUSTOS_SERVER")
            .env_remove("CUSTOS_TOKEN")
            .env_remove("CUSTOS_CA_FILE")
            .env("CUSTOS_CLIENT_CONFIG", self.config())
            .current_dir(self.work.path());
        if let Some(t) = token {
            c.env("CUSTOS_TOKEN", t);
        }
        if server {
            c.args(["--server", &self.url]);
        }
        c
    }

    /// Run with `--server` and `CUSTOS_TOKEN` (when given).
    fn run(&self, token: Option<&str>, args: &[&str]) -> Output {
        self.command(token, true).args(args).output().unwrap()
    }

    fn with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(None, true)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, token: Option<&str>, args: &[&str]) -> String {
        let o = self.run(token, args);
        assert!(
            o.status.success(),
            "custos {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    fn json(&self, token: Option<&str>, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(token, args)).unwrap()
    }

    /// Run expecting failure; returns stderr, checked to be one `custos: error:` line.
    fn fails(&self, token: Option<&str>, args: &[&str]) -> String {
        one_line_error(self.run(token, args), args)
    }

    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.work.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

fn one_line_error(o: Output, what: &[&str]) -> String {
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(!o.status.success(), "custos {what:?} should fail: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("custos: error: "), "{err}");
    err
}

fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("custos-partial"))
        .collect()
}

#[test]
fn login_stores_a_private_config_then_whoami_and_cases_use_it() {
    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    let cli = Cli::new(&s.url);

    // Remote-only commands without a server or a login say what they need.
    let o = cli.command(None, false).args(["whoami"]).output().unwrap();
    let err = one_line_error(o, &["whoami"]);
    assert!(
        err.contains("needs --server URL (or CUSTOS_SERVER)"),
        "{err}"
    );

    let v: serde_json::Value = serde_json::from_slice(
        &cli.with_stdin(&["login", "--json"], &format!("{eve}\n"))
            .stdout,
    )
    .unwrap();
    assert_eq!(v["user"], "eve");
    assert_eq!(v["key_pinned"], "new");
    let mode = std::fs::metadata(cli.config())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let cfg = std::fs::read_to_string(cli.config()).unwrap();
    assert!(cfg.contains(&eve) && cfg.contains(&s.url), "{cfg}");
    let key = s
        .http()
        .get(s.at("/v1/log/key"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(cfg.contains(key.trim()), "the log key is pinned: {cfg}");

    // No --server, no CUSTOS_TOKEN: the stored login is used.
    let out = cli.command(None, false).args(["whoami"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("eve (examiner)")
    );

    let c = cli.json(
        None,
        &[
            "case",
            "create",
            "CE 2026-1 a",
            "--reason",
            "seizure",
            "--json",
        ],
    );
    assert_eq!(c["name"], "CE 2026-1 a");
    assert_eq!(c["my_role"], "examiner");
    assert!(cli.ok(None, &["case", "list"]).contains("CE 2026-1 a"));
    let show = cli.json(None, &["case", "show", "CE 2026-1 a", "--json"]);
    assert_eq!(show["members"][0]["user"], "eve");
    let err = cli.fails(None, &["case", "create", "CE 2026-1 a"]);
    assert!(err.contains("(conflict, HTTP 409)"), "{err}");

    // A failed login changes nothing.
    let before = std::fs::read(cli.config()).unwrap();
    let o = cli.with_stdin(&["login"], "cst_abcdefgh_nottherealsecret\n");
    let err = one_line_error(o, &["login"]);
    assert!(err.contains("HTTP 401"), "{err}");
    assert_eq!(std::fs::read(cli.config()).unwrap(), before);

    // A server whose log key changed is refused at login.
    let other = NoteSigner::from_seed("other.example/log", [3; 32]).unwrap();
    let text = String::from_utf8(before.clone()).unwrap();
    let swapped = text.replace(key.trim(), &other.verifier().to_string());
    std::fs::write(cli.config(), swapped).unwrap();
    std::fs::set_permissions(cli.config(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = one_line_error(cli.with_stdin(&["login"], &eve), &["login"]);
    assert!(err.contains("do not trust this server"), "{err}");
    // ... and so is its checkpoint, by every command that verifies one.
    let err = cli.fails(None, &["checkpoint"]);
    assert!(
        err.contains("does not verify against the pinned log key"),
        "{err}"
    );

    // A config others can read is refused.
    std::fs::write(cli.config(), &before).unwrap();
    std::fs::set_permissions(cli.config(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = cli.fails(None, &["whoami"]);
    assert!(err.contains("readable by others"), "{err}");
}

#[test]
fn ingest_get_range_and_log_over_http() {
    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    s.case(&eve, "C-1");
    let cli = Cli::new(&s.url);
    let t = Some(eve.as_str());
    let data = pseudo_random(5 * 1024 * 1024 + 123, 9);
    let p = cli.file("disk.img", &data);

    let ack = cli.json(
        t,
        &["ingest", p.to_str().unwrap(), "--case", "C-1", "--json"],
    );
    let sha = Sha256Hash::digest(&data);
    assert_eq!(ack["sha256"], sha.to_hex());
    assert_eq!(ack["size"], data.len());
    assert_eq!(ack["duplicate"], false);
    assert_eq!(ack["verified"]["inclusion_proof"], true);
    assert_eq!(ack["verified"]["log_key"], "server");
    // The receipt verifies independently, against the server's key.
    let key = s
        .http()
        .get(s.at("/v1/log/key"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let key = NoteVerifier::parse(key.trim()).unwrap();
    let r = &ack["receipt"];
    let (cp, _) = open_checkpoint(r["checkpoint"].as_str().unwrap(), &key).unwrap();
    let proof: Vec<Sha256Hash> = r["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Sha256Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    let leaf = Sha256Hash::from_base64(r["leaf_hash"].as_str().unwrap()).unwrap();
    verify_inclusion(
        &leaf,
        r["index"].as_u64().unwrap(),
        cp.size,
        &proof,
        &cp.root,
    )
    .unwrap();
    let item = ack["item"].as_str().unwrap().to_string();

    // Sending the same file again (e.g. after a dropped connection) lands on the same item.
    let text = cli.ok(t, &["ingest", p.to_str().unwrap(), "--case", "C-1"]);
    assert!(
        text.starts_with(&format!("{item} {}", sha.to_hex())),
        "{text}"
    );
    assert!(text.contains("case already held this content"), "{text}");
    assert!(text.contains("receipt verified"), "{text}");

    // Whole download: identical, private, nothing left beside it.
    let out = cli.work.path().join("copy.img");
    let g = cli.json(
        t,
        &[
            "get",
            &item,
            "-o",
            out.to_str().unwrap(),
            "--reason",
            "examination",
            "--json",
        ],
    );
    assert_eq!(g["verified"], true);
    assert_eq!(g["sha256"], sha.to_hex());
    assert!(g["receipt"]["index"].as_u64().unwrap() > r["index"].as_u64().unwrap());
    assert_eq!(std::fs::read(&out).unwrap(), data);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(partial_files(cli.work.path()).is_empty());

    // An existing output is never replaced.
    let err = cli.fails(
        t,
        &[
            "get",
            &item,
            "-o",
            out.to_str().unwrap(),
            "--reason",
            "again",
        ],
    );
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), data);

    // A range.
    let part = cli.work.path().join("part.bin");
    let text = cli.ok(
        t,
        &[
            "get",
            &item,
            "-o",
            part.to_str().unwrap(),
            "--reason",
            "carving",
            "--range",
            "1000-1999",
        ],
    );
    assert!(text.contains("bytes 1000-1999 of"), "{text}");
    assert_eq!(std::fs::read(&part).unwrap(), &data[1000..2000]);

    // The custody chain, verified event by event.
    let log = cli.ok(t, &["log", "--item", &item]);
    let actions: Vec<&str> = log
        .lines()
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(actions, ["ingest", "ingest", "access", "access"], "{log}");
    assert!(log.contains("reason=\"carving\""), "{log}");
    let lines = cli.ok(t, &["log", "--item", &item, "--json"]);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["leaf_hash"], r["leaf_hash"]);

    // Checkpoint and key.
    let cp_text = cli.ok(t, &["checkpoint"]);
    assert!(open_checkpoint(&cp_text, &key).is_ok(), "{cp_text}");
    assert_eq!(cli.ok(t, &["key"]).trim(), key.to_string());

    // A wrong expected hash: one line with the server's code, nothing kept.
    let other = cli.file("other.img", &pseudo_random(200_000, 4));
    let zeros = "0".repeat(64);
    let err = cli.fails(
        t,
        &[
            "ingest",
            other.to_str().unwrap(),
            "--case",
            "C-1",
            "--expect-sha256",
            &zeros,
        ],
    );
    assert!(err.contains("(hash-mismatch, HTTP 422)"), "{err}");
    assert!(err.contains("nothing was kept"), "{err}");
    let items: Vec<serde_json::Value> = s
        .http()
        .get(s.at("/v1/cases/C-1/items"))
        .bearer_auth(&eve)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(items.len(), 1, "the rejected upload left no item");

    // Unknown case: refused before the file is sent.
    let err = cli.fails(t, &["ingest", p.to_str().unwrap(), "--case", "nope"]);
    assert!(err.contains("(not-found, HTTP 404)"), "{err}");
    // Local-only commands refuse --server; --as is refused over HTTP.
    let err = cli.fails(t, &["audit"]);
    assert!(err.contains("not over HTTP"), "{err}");
    let err = cli.fails(t, &["--as", "bob", "log", "--item", &item]);
    assert!(err.contains("--as is for local mode"), "{err}");
}

#[test]
fn auditors_read_and_verify_the_whole_log() {
    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    let aud = s.user("aud", "auditor");
    s.case(&eve, "C-1");
    s.upload(&eve, "C-1", b"evidence".to_vec());
    let cli = Cli::new(&s.url);
    let lines = cli.ok(Some(&aud), &["log", "--json"]);
    let cp = s
        .http()
        .get(s.at("/v1/log/checkpoint"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let size: usize = cp.lines().nth(1).unwrap().parse().unwrap();
    assert!(lines.lines().count() >= size, "{lines}");
    let err = cli.fails(Some(&eve), &["log"]);
    assert!(err.contains("(forbidden, HTTP 403)"), "{err}");
}

#[test]
fn tokens_that_no_longer_work_give_one_clean_line() {
    let s = TestServer::start();
    s.user("eve", "examiner");
    let cli = Cli::new(&s.url);
    let c = s.http();

    let revoked = c
        .post(s.at("/v1/users/eve/tokens"))
        .bearer_auth(&s.admin)
        .json(&serde_json::json!({}))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    let r = c
        .delete(s.at(&format!("/v1/tokens/{}", revoked["id"].as_str().unwrap())))
        .bearer_auth(&s.admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let err = cli.fails(revoked["token"].as_str(), &["whoami"]);
    assert!(err.contains("(token-revoked, HTTP 401)"), "{err}");

    let short = c
        .post(s.at("/v1/users/eve/tokens"))
        .bearer_auth(&s.admin)
        .json(&serde_json::json!({"ttl_secs": 1}))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let err = cli.fails(short["token"].as_str(), &["case", "list"]);
    assert!(err.contains("(token-expired, HTTP 401)"), "{err}");

    let err = cli.fails(Some("not-a-token"), &["whoami"]);
    assert!(err.contains("not a Custos API token"), "{err}");
    let err = cli.fails(None, &["whoami"]);
    assert!(err.contains("no token for"), "{err}");
    let nowhere = Cli::new("http://127.0.0.1:1");
    let err = nowhere.fails(Some("cst_a_b"), &["whoami"]);
    assert!(
        err.contains("cannot reach the server http://127.0.0.1:1"),
        "{err}"
    );
    let err = Cli::new("http://vault.example").fails(Some("cst_a_b"), &["whoami"]);
    assert!(
        err.contains("refusing to send a token over plain http://"),
        "{err}"
    );
}

#[test]
fn transfer_then_accept() {
    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    let sam = s.user("sam", "examiner");
    s.case(&eve, "C-1");
    s.member("C-1", "sam", "examiner");
    let item = s.upload(&eve, "C-1", b"hard drive".to_vec())["item"]
        .as_str()
        .unwrap()
        .to_string();
    let cli = Cli::new(&s.url);

    let t = cli.json(
        Some(&eve),
        &[
            "transfer",
            &item,
            "--to",
            "sam",
            "--reason",
            "lab analysis",
            "--json",
        ],
    );
    assert_eq!(t["state"], "pending");
    let id = t["id"].as_str().unwrap();
    assert!(cli.ok(Some(&sam), &["transfer", "list"]).contains(id));
    let err = cli.fails(Some(&eve), &["transfer", "accept", id]);
    assert!(err.contains("HTTP 404"), "only the receiver accepts: {err}");
    let text = cli.ok(Some(&sam), &["transfer", "accept", id]);
    assert!(
        text.contains(&format!("sam now holds custody of {item}")),
        "{text}"
    );
    let log = cli.ok(Some(&sam), &["log", "--item", &item]);
    assert!(
        log.contains("transfer-initiate") && log.contains("transfer-accept"),
        "{log}"
    );
}

#[test]
fn disclosure_request_approve_fetch_and_acknowledge() {
    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    let pat = s.user("pat", "prosecutor");
    let sue = s.user("sue", "supervisor");
    let dan = s.user("dan", "defence");
    s.case(&eve, "C-1");
    s.member("C-1", "pat", "prosecutor");
    s.member("C-1", "sue", "supervisor");
    let data = pseudo_random(1_500_000, 5);
    let item = s.upload(&eve, "C-1", data.clone())["item"]
        .as_str()
        .unwrap()
        .to_string();
    let cli = Cli::new(&s.url);

    let d = cli.json(
        Some(&pat),
        &[
            "disclose",
            "--case",
            "C-1",
            &item,
            "--to",
            "dan",
            "--kind",
            "defence",
            "--instrument",
            "Order 2026/17",
            "--purpose",
            "defence review",
            "--expires",
            "2d",
            "--max-downloads",
            "2",
            "--json",
        ],
    );
    assert_eq!(d["state"], "requested");
    assert_eq!(d["expires_secs"], 2 * 86400);
    let id = d["id"].as_str().unwrap().to_string();
    let out = cli.work.path().join("disclosed.bin");
    let o = out.to_str().unwrap();
    let err = cli.fails(Some(&dan), &["fetch", &id, &item, "-o", o]);
    assert!(
        err.contains("not approved yet") && err.contains("HTTP 403"),
        "{err}"
    );
    assert!(!out.exists());

    let a = cli.json(
        Some(&sue),
        &["approve", &id, "--reason", "order checked", "--json"],
    );
    assert_eq!(a["state"], "approved");
    assert!(cli.ok(Some(&dan), &["disclosure", "list"]).contains(&id));
    let text = cli.ok(Some(&dan), &["fetch", &id, &item, "-o", o]);
    assert!(text.contains("verified"), "{text}");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    let ack = cli.json(
        Some(&dan),
        &["disclosure", "ack", &id, "--note", "received", "--json"],
    );
    assert_eq!(ack["state"], "acknowledged");
    let show = cli.json(Some(&pat), &["disclosure", "show", &id, "--json"]);
    assert_eq!(show["items"][0]["downloads"], 1);
    let log = cli.ok(Some(&eve), &["log", "--item", &item]);
    for a in [
        "disclosure-request",
        "disclosure-approve",
        "disclosure-fetch",
        "disclosure-ack",
    ] {
        assert!(log.contains(a), "{a}: {log}");
    }

    // A refused disclosure gives nothing.
    let d2 = cli.json(
        Some(&pat),
        &[
            "disclose",
            "--case",
            "C-1",
            &item,
            "--to",
            "dan",
            "--kind",
            "court",
            "--instrument",
            "X-1",
            "--purpose",
            "p",
            "--view-only",
            "--json",
        ],
    );
    let id2 = d2["id"].as_str().unwrap();
    cli.ok(Some(&sue), &["refuse", id2, "--reason", "no order"]);
    let out2 = cli.work.path().join("refused.bin");
    let err = cli.fails(
        Some(&dan),
        &["fetch", id2, &item, "-o", out2.to_str().unwrap()],
    );
    assert!(err.contains("was refused"), "{err}");
    assert!(!out2.exists());
    assert!(partial_files(cli.work.path()).is_empty());
}

/// A one-connection-at-a-time HTTP/1.1 server: `answer(method, target)` gives the bytes to
/// send back and close, or `None` to read a little of the body and hang up.
fn fake_server(answer: impl Fn(&str, &str) -> Option<Vec<u8>> + Send + 'static) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { break };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut first = String::new();
            if r.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
            }
            let mut parts = first.split_whitespace();
            let (m, t) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            match answer(m, t) {
                Some(bytes) => {
                    let _ = c.write_all(&bytes);
                }
                None => {
                    let mut buf = vec![0u8; 256 * 1024];
                    let _ = r.read_exact(&mut buf);
                }
            }
        }
    });
    url
}

fn http_answer(head: &str, body: &[u8]) -> Vec<u8> {
    // `head`: the status, then header lines, each ending in CRLF; `body` starts with the CRLF
    // that ends the header block.
    let mut v = format!("HTTP/1.1 {head}Connection: close\r\n").into_bytes();
    v.extend_from_slice(body);
    v
}

#[test]
fn a_dropped_upload_says_so_and_that_sending_again_is_safe() {
    let url = fake_server(|m, _| {
        (m == "GET").then(|| {
            http_answer(
                "200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n",
                b"\r\n{}",
            )
        })
    });
    let cli = Cli::new(&url);
    let p = cli.file("big.img", &pseudo_random(4 * 1024 * 1024, 2));
    let err = cli.fails(
        Some("cst_a_b"),
        &["ingest", p.to_str().unwrap(), "--case", "C-1"],
    );
    assert!(err.contains("was lost after"), "{err}");
    assert!(
        err.contains("Running the same command again is safe"),
        "{err}"
    );
    assert!(err.contains("one item per content within a case"), "{err}");
}

#[test]
fn a_download_that_is_wrong_or_cut_short_is_never_kept() {
    use base64::Engine as _;
    let item = "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa";
    let good = pseudo_random(50_000, 7);
    let digest = Sha256Hash::digest(&good);
    let listing = serde_json::json!({"id": "dsc_x", "items": [{"item": item, "sha256": digest.to_hex(), "size": good.len(), "downloads": 0}]}).to_string();
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest.0);
    let bad_body = pseudo_random(50_000, 8);
    let url = fake_server(move |_, target| {
        if target.ends_with("/content") && target.contains("dsc_bad") {
            let head = format!(
                "200 OK\r\nContent-Length: {}\r\nRepr-Digest: sha-256=:{b64}:\r\nCustody-Event: 9\r\n",
                bad_body.len()
            );
            let mut body = b"\r\n".to_vec();
            body.extend_from_slice(&bad_body);
            Some(http_answer(&head, &body))
        } else if target.ends_with("/content") {
            let head = format!(
                "200 OK\r\nContent-Length: {}\r\nRepr-Digest: sha-256=:{b64}:\r\nCustody-Event: 9\r\n",
                good.len()
            );
            let mut body = b"\r\n".to_vec();
            body.extend_from_slice(&good[..1000]);
            Some(http_answer(&head, &body))
        } else {
            let head = format!(
                "200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                listing.len()
            );
            Some(http_answer(&head, format!("\r\n{listing}").as_bytes()))
        }
    });
    let cli = Cli::new(&url);
    let out = cli.work.path().join("out.bin");
    let o = out.to_str().unwrap();
    let err = cli.fails(Some("cst_a_b"), &["fetch", "dsc_bad", item, "-o", o]);
    assert!(err.contains("but the server announced"), "{err}");
    assert!(!out.exists());
    let err = cli.fails(Some("cst_a_b"), &["fetch", "dsc_cut", item, "-o", o]);
    assert!(err.contains("was not written"), "{err}");
    assert!(!out.exists());
    assert!(partial_files(cli.work.path()).is_empty());
    let err = cli.fails(
        Some("cst_a_b"),
        &[
            "fetch",
            "dsc_cut",
            "itm_bbbbbbbbbbbbbbbbbbbbbbbbbb",
            "-o",
            o,
        ],
    );
    assert!(err.contains("is not part of disclosure"), "{err}");
}
