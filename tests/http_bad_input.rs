//! Hostile and broken requests over real HTTP on loopback: each gets a precise 4xx
//! problem+json (never a 500), leaves nothing half-written, and every refusal of access is an
//! `access-denied` event.

mod http_support;
use http_support::{TestServer, assert_problem};
use std::io::{Read, Write};

fn count(s: &TestServer, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(s.dir.join("custos.db")).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Send raw bytes on a fresh connection and return the status line's code and the body.
fn raw(s: &TestServer, bytes: &[u8]) -> (u16, String) {
    let addr = s.url.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    c.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

fn setup() -> (TestServer, String) {
    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    s.case(&eve, "C-1");
    (s, eve)
}

#[test]
fn malformed_and_oversized_json_and_wrong_media_type() {
    let (s, _) = setup();
    let c = s.http();
    let post = |body: &'static str| {
        c.post(s.at("/v1/users"))
            .bearer_auth(&s.admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
    };
    assert_problem(post("{"), 400, "invalid-json");
    assert_problem(post("[]"), 400, "invalid-json");
    assert_problem(
        post(r#"{"name":"x","role":"king"}"#),
        400,
        "invalid-parameter",
    );
    assert_problem(
        post(r#"{"name":"../etc","role":"court"}"#),
        400,
        "invalid-parameter",
    );
    assert_problem(
        post(r#"{"name":"x","role":"court","extra":1}"#),
        400,
        "invalid-json",
    );
    let big = format!(r#"{{"name":"{}","role":"court"}}"#, "a".repeat(200_000));
    let r = c
        .post(s.at("/v1/users"))
        .bearer_auth(&s.admin)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .unwrap();
    assert_problem(r, 413, "payload-too-large");
    let r = c
        .post(s.at("/v1/users"))
        .bearer_auth(&s.admin)
        .header("content-type", "text/plain")
        .body(r#"{"name":"x","role":"court"}"#)
        .send()
        .unwrap();
    assert_problem(r, 415, "unsupported-media-type");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM users WHERE name = 'x'"), 0);
}

#[test]
fn unknown_routes_methods_and_huge_headers() {
    let (s, eve) = setup();
    let c = s.http();
    assert_problem(c.get(s.at("/v1/nope")).send().unwrap(), 404, "not-found");
    assert_problem(
        c.put(s.at("/v1/cases")).bearer_auth(&eve).send().unwrap(),
        405,
        "method-not-allowed",
    );
    let huge = "x".repeat(1 << 20);
    let (code, _) = raw(
        &s,
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n").as_bytes(),
    );
    assert!((400..500).contains(&code), "huge header: {code}");
    let (code, _) = raw(&s, b"NOT HTTP AT ALL\r\n\r\n");
    assert!((400..500).contains(&code) || code == 0, "garbage: {code}");
    assert_eq!(c.get(s.at("/healthz")).send().unwrap().status(), 200);
}

#[test]
fn tokens_missing_malformed_unknown_revoked_disabled_and_locked() {
    let (s, eve) = setup();
    let c = s.http();
    let denied = || {
        count(
            &s,
            "SELECT COUNT(*) FROM events WHERE action = 'access-denied'",
        )
    };
    let who = |t: Option<&str>| {
        let mut r = c.get(s.at("/v1/whoami"));
        if let Some(t) = t {
            r = r.bearer_auth(t);
        }
        r.send().unwrap()
    };
    let d0 = denied();
    assert_problem(who(None), 401, "token-missing");
    assert_problem(who(Some("not-a-token")), 401, "token-malformed");
    let r = c
        .get(s.at("/v1/whoami"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .unwrap();
    assert_problem(r, 401, "token-malformed");
    let forged = format!("cst_aaaaaaaaaaaaaaaa_{}", "b".repeat(52));
    assert_problem(who(Some(&forged)), 401, "token-invalid");
    assert_eq!(
        denied(),
        d0 + 4,
        "every refused token is an access-denied event"
    );

    // Wrong secret for a real token id: counted against its account, locked at the 5th.
    let wrong = format!("{}{}", &eve[..21], "c".repeat(52));
    for _ in 0..4 {
        assert_problem(who(Some(&wrong)), 401, "token-invalid");
    }
    assert_problem(who(Some(&wrong)), 401, "account-locked");
    assert_problem(who(Some(&eve)), 401, "account-locked");
    let out = s.cli(&["admin", "user", "unlock", "eve", "--as", "ops"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(who(Some(&eve)).status(), 200);

    // Revoked, then disabled.
    let t2 = s.token("eve");
    let id = &t2[4..20];
    let r = c
        .delete(s.at(&format!("/v1/tokens/{id}")))
        .bearer_auth(&s.admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_problem(who(Some(&t2)), 401, "token-revoked");
    let r = c
        .post(s.at("/v1/users/eve/disable"))
        .bearer_auth(&s.admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_problem(who(Some(&eve)), 401, "account-disabled");
}

#[test]
fn idle_tokens_expire() {
    let s = TestServer::start_with(&[], "token_idle_secs = 1");
    let t = s.user("ida", "auditor");
    let c = s.http();
    assert_eq!(
        c.get(s.at("/v1/whoami"))
            .bearer_auth(&t)
            .send()
            .unwrap()
            .status(),
        200
    );
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let r = c.get(s.at("/v1/whoami")).bearer_auth(&t).send().unwrap();
    assert_problem(r, 401, "token-expired");
}

#[test]
fn uploads_without_length_with_a_wrong_hash_or_cut_off_leave_nothing() {
    let (s, eve) = setup();
    let c = s.http();
    let items = || count(&s, "SELECT COUNT(*) FROM items");
    // Chunked (no Content-Length).
    let (code, text) = raw(
        &s,
        format!(
            "POST /v1/cases/C-1/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {eve}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(code, 411, "{text}");
    assert!(text.contains("length-required"), "{text}");
    // Wrong expected hash: 422, nothing kept, the rejection logged.
    let r = c
        .post(s.at(&format!(
            "/v1/cases/C-1/items?expect_sha256={}",
            "0".repeat(64)
        )))
        .bearer_auth(&eve)
        .body(vec![7u8; 100_000])
        .send()
        .unwrap();
    let p = assert_problem(r, 422, "hash-mismatch");
    assert!(p["detail"].as_str().unwrap().contains(&"0".repeat(64)));
    for bad in [
        "expect_sha256=xyz",
        "expect_md5=00",
        "file_name=../../etc/passwd",
        "file_name=a%2Fb",
        "file_name=%0a",
    ] {
        let r = c
            .post(s.at(&format!("/v1/cases/C-1/items?{bad}")))
            .bearer_auth(&eve)
            .body(vec![1u8; 10])
            .send()
            .unwrap();
        assert_problem(r, 400, "invalid-parameter");
    }
    // Cut off midway: declared 8 MiB, sent 1 MiB, connection closed.
    let addr = s.url.trim_start_matches("http://").to_string();
    let mut sock = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        sock,
        "POST /v1/cases/C-1/items?file_name=cut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {eve}\r\nContent-Length: 8388608\r\n\r\n"
    )
    .unwrap();
    sock.write_all(&vec![9u8; 1 << 20]).unwrap();
    drop(sock);
    // The failed ingest is recorded and nothing is visible or staged.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while count(
        &s,
        "SELECT COUNT(*) FROM events WHERE action = 'ingest-rejected'",
    ) < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the cut-off upload was not recorded"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(items(), 0);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM staging"), 0);
    let leftovers: Vec<_> = walk(&s.dir.join("store"));
    assert!(leftovers.is_empty(), "objects left behind: {leftovers:?}");
    // Too large for the server.
    let s2 = TestServer::start_with(&[], "max_upload_bytes = 1000");
    let t = s2.user("eve", "examiner");
    s2.case(&t, "C-2");
    let r = s2
        .http()
        .post(s2.at("/v1/cases/C-2/items"))
        .bearer_auth(&t)
        .body(vec![0u8; 5000])
        .send()
        .unwrap();
    assert_problem(r, 413, "payload-too-large");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn ranges_ids_and_names() {
    let (s, eve) = setup();
    let c = s.http();
    let ack = s.upload(&eve, "C-1", vec![5u8; 1000]);
    let item = ack["item"].as_str().unwrap();
    for range in [
        "bytes=10-5",
        "bytes=1000-",
        "bytes=abc",
        "bytes=0-1,5-6",
        "pages=1-2",
    ] {
        let r = c
            .get(s.at(&format!("/v1/items/{item}/content?purpose=x")))
            .bearer_auth(&eve)
            .header("range", range)
            .send()
            .unwrap();
        assert_problem(r, 416, "range-not-satisfiable");
    }
    for id in [
        "itm_zzzz",
        "..%2F..%2Fetc",
        "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa",
        "%00",
    ] {
        let r = c
            .get(s.at(&format!("/v1/items/{id}")))
            .bearer_auth(&eve)
            .send()
            .unwrap();
        assert_problem(r, 404, "not-found");
    }
    for name in ["a%2Fb", "%0a", "", "x%7F"] {
        let r = c
            .post(s.at("/v1/cases"))
            .bearer_auth(&eve)
            .json(&serde_json::json!({"name": urldecode(name)}))
            .send()
            .unwrap();
        assert_problem(r, 400, "invalid-parameter");
    }
    let r = c
        .get(s.at("/v1/log/consistency?old=5&new=2"))
        .send()
        .unwrap();
    assert_problem(r, 400, "invalid-parameter");
    let r = c.get(s.at("/v1/log/consistency?old=-1")).send().unwrap();
    assert_problem(r, 400, "invalid-parameter");
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM cases"),
        1,
        "no case was created by a bad name"
    );
}

fn urldecode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
