//! Black-box tests of the `custos` command line on real vault folders: init, ingest, get, log,
//! checkpoint, key, keys rotate, and every bad input issue 2 lists.

mod common;
use common::{TestVault, pseudo_random, sha256_hex};
use custos_core::Sha256Hash;
use custos_core::checkpoint::open_checkpoint;
use custos_core::merkle::{leaf_hash, verify_inclusion};
use custos_core::note::NoteVerifier;
use std::os::unix::fs::PermissionsExt;

#[test]
fn init_creates_private_keys_and_refuses_an_existing_vault() {
    let v = TestVault::new();
    for f in ["keys/log.key", "keys/master-00000001.key"] {
        let mode = std::fs::metadata(v.dir.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let err = v.fails(&["init"]);
    assert!(err.contains("already exists"), "{err}");
    // The existing vault still works.
    v.ok(&["key"]);
}

#[test]
fn ingest_acknowledges_with_a_receipt_that_verifies() {
    let v = TestVault::new();
    let data = pseudo_random(3 * 65536 + 17, 1);
    let p = v.file("disk.img", &data);
    let ack = v.ingest(&p, "2026-CE-0001");
    assert_eq!(ack["sha256"], sha256_hex(&data));
    assert_eq!(ack["size"], data.len());
    let r = &ack["receipt"];
    assert_eq!(r["index"], 0);
    // The receipt's checkpoint is signed by the vault's key and includes the event.
    let key = NoteVerifier::parse(v.ok(&["key"]).trim()).unwrap();
    let (cp, _) = open_checkpoint(r["checkpoint"].as_str().unwrap(), &key).unwrap();
    assert_eq!(cp.size, 1);
    let proof: Vec<Sha256Hash> = r["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Sha256Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    let leaf = Sha256Hash::from_base64(r["leaf_hash"].as_str().unwrap()).unwrap();
    verify_inclusion(&leaf, 0, cp.size, &proof, &cp.root).unwrap();
    // The leaf is the hash of the event that `log --json` shows.
    let line = v.ok(&["log", "--json"]);
    let ev: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(leaf_hash(ev["event"].as_str().unwrap().as_bytes()), leaf);
    assert!(
        ev["event"]
            .as_str()
            .unwrap()
            .contains("\"action\":\"ingest\"")
    );
    assert_eq!(v.ok(&["checkpoint"]), r["checkpoint"].as_str().unwrap());
    assert_eq!(v.audit(&["--deep"]).0, 0);
}

#[test]
fn get_round_trips_whole_items_and_ranges() {
    let v = TestVault::new();
    let data = pseudo_random(5 * 65536 + 1234, 2);
    let p = v.file("video.mp4", &data);
    let item = v.ingest(&p, "c1")["item"].as_str().unwrap().to_string();
    let out = v.tmp.path().join("out.bin");
    v.ok(&[
        "get",
        &item,
        "-o",
        out.to_str().unwrap(),
        "--reason",
        "examination",
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), data);
    for (a, b) in [
        (0u64, 0u64),
        (65535, 65536),
        (100_000, 300_000),
        (data.len() as u64 - 1, data.len() as u64 - 1),
    ] {
        let o = v.tmp.path().join(format!("r{a}-{b}"));
        v.ok(&[
            "get",
            &item,
            "-o",
            o.to_str().unwrap(),
            "--reason",
            "seek",
            "--range",
            &format!("{a}-{b}"),
        ]);
        assert_eq!(std::fs::read(&o).unwrap(), &data[a as usize..=b as usize]);
    }
    // Each export is an event with its reason, in the item's own chain.
    let chain = v.ok(&["log", "--item", &item]);
    assert_eq!(chain.lines().count(), 6);
    assert!(chain.contains("reason=\"examination\""));
    // An existing output is not overwritten; a bad range is refused without an event.
    let err = v.fails(&["get", &item, "-o", out.to_str().unwrap(), "--reason", "x"]);
    assert!(err.contains("already exists"), "{err}");
    let err = v.fails(&[
        "get",
        &item,
        "-o",
        "/tmp/custos-never",
        "--reason",
        "x",
        "--range",
        &format!("0-{}", data.len()),
    ]);
    assert!(err.contains("invalid range"), "{err}");
    assert_eq!(v.ok(&["log", "--item", &item]).lines().count(), 6);
}

#[test]
fn expected_hashes_are_checked_and_a_mismatch_keeps_nothing() {
    let v = TestVault::new();
    let data = b"acquired image bytes".to_vec();
    let p = v.file("e01.raw", &data);
    let md5_ok = "a".repeat(32);
    let err = v.fails(&[
        "ingest",
        p.to_str().unwrap(),
        "--case",
        "c",
        "--expect-md5",
        &md5_ok,
    ]);
    assert!(
        err.contains("md5 mismatch") && err.contains(&md5_ok),
        "{err}"
    );
    let good = sha256_hex(&data);
    let bad = "0".repeat(64);
    let err = v.fails(&[
        "ingest",
        p.to_str().unwrap(),
        "--case",
        "c",
        "--expect-sha256",
        &bad,
    ]);
    assert!(
        err.contains(&bad) && err.contains(&good),
        "both values named: {err}"
    );
    let n: i64 = v
        .db()
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    assert!(v.ok(&["log"]).contains("ingest-rejected"));
    assert_eq!(v.audit(&[]).0, 0, "no leftovers after a rejected ingest");
    // Legacy hashes are computed on request and a matching expectation is accepted.
    let out = v.ok(&[
        "ingest",
        p.to_str().unwrap(),
        "--case",
        "c",
        "--expect-sha256",
        &good,
        "--legacy-hashes",
        "--json",
    ]);
    let ack: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ack["md5"].as_str().unwrap().len(), 32);
    assert_eq!(ack["sha1"].as_str().unwrap().len(), 40);
}

#[test]
fn deduplication_stays_inside_a_case() {
    let v = TestVault::new();
    let p = v.file("same.bin", b"same content");
    let a = v.ingest(&p, "case-a");
    let again = v.ingest(&p, "case-a");
    assert_eq!(again["item"], a["item"]);
    assert_eq!(again["duplicate"], true);
    let b = v.ingest(&p, "case-b");
    assert_ne!(b["item"], a["item"]);
    assert_eq!(
        b["duplicate"], false,
        "another case's holdings are not observable"
    );
    assert_eq!(v.audit(&["--deep"]).0, 0);
}

#[test]
fn no_plaintext_reaches_the_vault_folder() {
    let v = TestVault::new();
    let marker = b"UNIQUE-PLAINTEXT-MARKER-7f3a9c";
    let mut data = pseudo_random(200_000, 3);
    data[1000..1000 + marker.len()].copy_from_slice(marker);
    let p = v.file("secret.bin", &data);
    v.ingest(&p, "c");
    let hex_hash = sha256_hex(&data);
    for entry in walk(&v.dir) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "plaintext in {}",
            entry.display()
        );
        let name = entry.to_string_lossy();
        assert!(
            !name.contains(&hex_hash) && !name.contains("secret.bin"),
            "identifying object name {name}"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn keys_rotate_rewraps_without_rewriting_objects() {
    let v = TestVault::new();
    let data = pseudo_random(70_000, 4);
    let item = v.ingest(&v.file("a", &data), "c")["item"]
        .as_str()
        .unwrap()
        .to_string();
    let objects_before = walk(&v.dir.join("store"));
    let mtimes: Vec<_> = objects_before
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    let out = v.ok(&["keys", "rotate", "--json"]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["rewrapped"], 1);
    assert!(!v.dir.join("keys/master-00000001.key").exists());
    assert!(v.dir.join("keys/master-00000002.key").exists());
    let after: Vec<_> = objects_before
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    assert_eq!(mtimes, after, "objects untouched");
    let o = v.tmp.path().join("o");
    v.ok(&[
        "get",
        &item,
        "-o",
        o.to_str().unwrap(),
        "--reason",
        "after rotation",
    ]);
    assert_eq!(std::fs::read(&o).unwrap(), data);
    assert!(v.ok(&["log"]).contains("key-rotation"));
    assert_eq!(v.audit(&["--deep"]).0, 0);
}

// ---- bad input: one clear line, non-zero exit, nothing half-written ----

#[test]
fn bad_inputs_each_give_one_clear_line() {
    let v = TestVault::new();
    let p = v.file("f", b"x");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "ingest".into(),
                "/nonexistent/file".into(),
                "--case".into(),
                "c".into(),
            ],
            "cannot read /nonexistent/file",
        ),
        (
            vec![
                "ingest".into(),
                v.tmp.path().to_str().unwrap().into(),
                "--case".into(),
                "c".into(),
            ],
            "is a directory",
        ),
        (
            vec![
                "get".into(),
                "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
                "-o".into(),
                "/tmp/x".into(),
                "--reason".into(),
                "r".into(),
            ],
            "no item itm_aaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        (
            vec![
                "get".into(),
                "not-an-id".into(),
                "-o".into(),
                "/tmp/x".into(),
                "--reason".into(),
                "r".into(),
            ],
            "is not an item id",
        ),
        (
            vec![
                "ingest".into(),
                p.to_str().unwrap().into(),
                "--case".into(),
                "a/b".into(),
            ],
            "invalid case name",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = v.fails(&args);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_eq!(v.audit(&[]).0, 0);
}

#[test]
fn malformed_hashes_are_usage_errors() {
    let v = TestVault::new();
    let p = v.file("f", b"x");
    for (flag, val, want) in [
        ("--expect-sha256", "abc", "64 hex digits"),
        ("--expect-sha1", &"z".repeat(40)[..], "only hex digits"),
        ("--expect-md5", &"a".repeat(31)[..], "32 hex digits"),
    ] {
        let out = v
            .cmd()
            .args(["ingest", p.to_str().unwrap(), "--case", "c", flag, val])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn missing_vault_corrupt_config_and_loose_keys_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("none");
    let out = assert_cmd::Command::cargo_bin("custos")
        .unwrap()
        .args([
            "--dir",
            missing.to_str().unwrap(),
            "ingest",
            "/etc/hostname",
            "--case",
            "c",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no vault at"));
    assert!(!missing.exists(), "nothing created");

    let v = TestVault::new();
    let cfg = v.dir.join("custos.toml");
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, "[vault\norigin=").unwrap();
    assert!(v.fails(&["key"]).contains("is not valid"));
    std::fs::write(&cfg, good).unwrap();

    let key = v.dir.join("keys/log.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = v.fails(&["key"]);
    assert!(
        err.contains("accessible by group or others") && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    v.ok(&["key"]);
}

#[test]
fn full_disk_gives_a_clean_error_and_loses_nothing() {
    if !nix_is_root() {
        eprintln!("full_disk test needs root to mount a tmpfs; CI runs as root");
        return;
    }
    let v = TestVault::new();
    let keep = pseudo_random(10_000, 5);
    let kept = v.ingest(&v.file("keep", &keep), "c")["item"]
        .as_str()
        .unwrap()
        .to_string();
    // Move the object store onto a 1 MiB tmpfs.
    let mnt = v.tmp.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let st = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=1m",
            "tmpfs",
            mnt.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let _unmount = Unmount(mnt.clone());
    copy_dir(&v.dir.join("store"), &mnt.join("store"));
    let cfg = v.dir.join("custos.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "file://store",
        &format!("file://{}", mnt.join("store").display()),
    );
    std::fs::write(&cfg, text).unwrap();
    let big = v.file("big", &pseudo_random(3 << 20, 6));
    let err = v.fails(&["ingest", big.to_str().unwrap(), "--case", "c"]);
    assert!(err.contains("nothing was kept"), "{err}");
    let n: i64 = v
        .db()
        .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let o = v.tmp.path().join("o");
    v.ok(&[
        "get",
        &kept,
        "-o",
        o.to_str().unwrap(),
        "--reason",
        "after disk full",
    ]);
    assert_eq!(std::fs::read(&o).unwrap(), keep);
    let (code, report) = v.audit(&["--repair"]);
    assert!(
        code == 0 || report["repaired"].as_array().is_some_and(|r| !r.is_empty()),
        "{report}"
    );
    assert_eq!(v.audit(&["--deep"]).0, 0, "clean after repair");
}

struct Unmount(std::path::PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest)
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

#[test]
fn no_byte_leaves_when_the_custody_log_cannot_be_written() {
    let v = TestVault::new();
    let data = pseudo_random(100_000, 8);
    let item = v.ingest(&v.file("e", &data), "c")["item"]
        .as_str()
        .unwrap()
        .to_string();
    // Another process holds the database's write lock: the export event cannot be made durable.
    let db = v.db();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = v.tmp.path().join("leak");
    let o = v
        .cmd()
        .env("CUSTOS_LOCK_TIMEOUT_SECS", "1")
        .args([
            "get",
            &item,
            "-o",
            out.to_str().unwrap(),
            "--reason",
            "must be refused",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("could not be recorded in the custody log")
            && err.contains("nothing was read"),
        "{err}"
    );
    assert!(!out.exists());
    assert!(std::fs::read_dir(v.tmp.path()).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains("custos-partial")
    }));
    db.execute_batch("ROLLBACK").unwrap();
    assert!(!v.ok(&["log"]).contains("must be refused"));
}
