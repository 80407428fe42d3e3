//! The whole vault on S3 (a real `moto_server` on loopback), driven through the `custos` CLI:
//! ingest, get, audit --deep, and an unreachable endpoint that fails cleanly and keeps nothing.

mod common;
mod support;

use common::{pseudo_random, sha256_hex};
use support::S3Server;

fn custos(dir: &std::path::Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("custos").unwrap();
    c.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("CUSTOS_DIR")
        .arg("--dir")
        .arg(dir);
    c
}

fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    custos(dir).args(args).output().unwrap()
}

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(
        o.status.success(),
        "custos {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn a_vault_on_s3_ingests_exports_and_audits() {
    let s3 = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let url = format!("s3://{}/agency-x", s3.bucket);
    ok(
        &dir,
        &[
            "init",
            "--storage",
            &url,
            "--s3-endpoint",
            &s3.endpoint,
            "--allow-http",
        ],
    );
    let data = pseudo_random(12 * 1024 * 1024 + 3, 9); // several multipart parts
    let f = tmp.path().join("img");
    std::fs::write(&f, &data).unwrap();
    let ack: serde_json::Value = serde_json::from_str(&ok(
        &dir,
        &["ingest", f.to_str().unwrap(), "--case", "c", "--json"],
    ))
    .unwrap();
    assert_eq!(ack["sha256"], sha256_hex(&data));
    let item = ack["item"].as_str().unwrap();
    let out = tmp.path().join("copy");
    ok(
        &dir,
        &[
            "get",
            item,
            "-o",
            out.to_str().unwrap(),
            "--reason",
            "s3 round trip",
        ],
    );
    assert_eq!(std::fs::read(&out).unwrap(), data);
    let part = tmp.path().join("part");
    ok(
        &dir,
        &[
            "get",
            item,
            "-o",
            part.to_str().unwrap(),
            "--reason",
            "seek",
            "--range",
            "5000000-5100000",
        ],
    );
    assert_eq!(std::fs::read(&part).unwrap(), &data[5_000_000..=5_100_000]);
    assert!(ok(&dir, &["audit", "--deep"]).contains("clean"));
    assert!(!dir.join("store").exists(), "no local object folder on S3");
}

#[test]
fn an_unreachable_s3_endpoint_fails_cleanly_and_keeps_nothing() {
    let s3 = S3Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let url = format!("s3://{}", s3.bucket);
    ok(
        &dir,
        &[
            "init",
            "--storage",
            &url,
            "--s3-endpoint",
            &s3.endpoint,
            "--allow-http",
        ],
    );
    // Point the vault at a closed loopback port, with short limits.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = dir.join("custos.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&s3.endpoint, &format!("http://{closed}"))
        .replace("timeout_secs = 30", "timeout_secs = 2")
        .replace("max_retries = 3", "max_retries = 1");
    std::fs::write(&cfg, text).unwrap();
    let f = tmp.path().join("f");
    std::fs::write(&f, b"evidence").unwrap();
    let start = std::time::Instant::now();
    let o = run(&dir, &["ingest", f.to_str().unwrap(), "--case", "c"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("object store") && err.contains("nothing was kept"),
        "{err}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    let db = rusqlite::Connection::open(dir.join("custos.db")).unwrap();
    let items: i64 = db
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    let events: i64 = db
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!((items, events), (0, 0));
}
