//! Black-box tests of `custos report`: the bundle (format version 1) carries exactly the logged
//! events and proofs that verify; `--since` adds a consistency proof; the HTML and PDF show the
//! items and escape the log's text; bad inputs fail with one line and write nothing.

mod common;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{TestVault, pseudo_random, sha256_hex};
use custos_core::Sha256Hash;
use custos_core::checkpoint::{Checkpoint, open_checkpoint};
use custos_core::event::{Event, verify_event};
use custos_core::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use custos_core::note::NoteVerifier;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn b64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().expect("a base64 string")).unwrap()
}

fn hashes(v: &Value) -> Vec<Sha256Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Sha256Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

fn key(v: &TestVault) -> NoteVerifier {
    NoteVerifier::parse(v.ok(&["key"]).trim()).unwrap()
}

/// `log --json` as index → (event text, signature).
fn logged(v: &TestVault) -> BTreeMap<u64, (String, Vec<u8>)> {
    v.ok(&["log", "--json"])
        .lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            (
                e["index"].as_u64().unwrap(),
                (
                    e["event"].as_str().unwrap().to_string(),
                    b64(&e["signature"]),
                ),
            )
        })
        .collect()
}

/// Two items in one case (one with MD5/SHA-1 and a description that is hostile HTML), one
/// exported. Returns (vault, item ids, their content).
fn two_items() -> (TestVault, [String; 2], [Vec<u8>; 2]) {
    let v = TestVault::new();
    let a = pseudo_random(200_000, 7);
    let b = b"second item".to_vec();
    let pa = v.file("disk.img", &a);
    let pb = v.file("note.txt", &b);
    let out = v.ok(&[
        "ingest",
        pa.to_str().unwrap(),
        "--case",
        "CASE-1",
        "--legacy-hashes",
        "--tool",
        "imager 1.0",
        "--description",
        "<script>alert(1)</script> & \u{202e}gnp.exe",
        "--json",
    ]);
    let ia = serde_json::from_str::<Value>(&out).unwrap()["item"]
        .as_str()
        .unwrap()
        .to_string();
    let ib = v.ingest(&pb, "CASE-1")["item"]
        .as_str()
        .unwrap()
        .to_string();
    let copy = v.tmp.path().join("copy.img");
    v.ok(&[
        "get",
        &ia,
        "-o",
        copy.to_str().unwrap(),
        "--reason",
        "lab (copy)",
    ]);
    (v, [ia, ib], [a, b])
}

fn bundle_path(v: &TestVault, name: &str) -> PathBuf {
    v.tmp.path().join(name)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn bundle_of_two_items_carries_the_logged_events_with_proofs_that_verify() {
    let (v, items, content) = two_items();
    let before = logged(&v);
    let checkpoint_before = v.ok(&["checkpoint"]);
    let out = bundle_path(&v, "r1.custos-bundle.json");
    let stdout = v.ok(&["report", &items[0], &items[1], "-o", out.to_str().unwrap()]);
    let lines: Vec<&str> = stdout.lines().collect();
    let html = v.tmp.path().join("r1.html");
    let pdf = v.tmp.path().join("r1.pdf");
    assert_eq!(
        lines[..3],
        [
            out.to_str().unwrap(),
            html.to_str().unwrap(),
            pdf.to_str().unwrap()
        ]
    );
    assert!(html.is_file() && pdf.is_file());

    let b = read_json(&out);
    let top: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    for m in [
        "format",
        "version",
        "generated_at",
        "software",
        "log",
        "checkpoint",
        "items",
    ] {
        assert!(top.contains(&m), "member {m} missing: {top:?}");
    }
    assert!(!top.contains(&"consistency"));
    assert_eq!(b["format"], "custos-report-bundle");
    assert_eq!(b["version"], 1);
    assert_eq!(b["generated_at"].as_str().unwrap().len(), 27);
    assert_eq!(b["software"]["name"], "custos");
    assert_eq!(b["software"]["version"], env!("CARGO_PKG_VERSION"));

    // The log key: as `custos key` prints it, fingerprint = SHA-256 of the key string.
    let k = key(&v);
    assert_eq!(b["log"]["verifier_key"], k.to_string());
    assert_eq!(
        b["log"]["fingerprint"],
        sha256_hex(k.to_string().as_bytes())
    );
    assert_eq!(b["log"]["origin"], "custos.test/vault");

    // One checkpoint: the latest before the report, verbatim; it covers every event.
    assert_eq!(b["checkpoint"], checkpoint_before.as_str());
    let (cp, _) = open_checkpoint(b["checkpoint"].as_str().unwrap(), &k).unwrap();
    assert_eq!(cp.origin, "custos.test/vault");
    assert_eq!(cp.size, before.len() as u64);

    let bundled = b["items"].as_array().unwrap();
    assert_eq!(bundled.len(), 2);
    let mut seen = 0;
    for (i, item) in bundled.iter().enumerate() {
        assert_eq!(item["id"], items[i].as_str());
        assert_eq!(item["case"], "CASE-1");
        assert_eq!(item["sha256"], sha256_hex(&content[i]));
        assert_eq!(item["size"], content[i].len());
        let mut item_prev: Option<Sha256Hash> = None;
        let mut last_index = None;
        for e in item["events"].as_array().unwrap() {
            let index = e["index"].as_u64().unwrap();
            assert!(last_index.is_none_or(|l| l < index), "index ascending");
            last_index = Some(index);
            let bytes = b64(&e["event"]);
            let sig = b64(&e["signature"]);
            // Exactly the bytes and signature `log --json` shows.
            let (text, logged_sig) = &before[&index];
            assert_eq!(bytes, text.as_bytes(), "event {index}");
            assert_eq!(&sig, logged_sig);
            verify_event(k.verifying_key(), &bytes, &sig).unwrap();
            let leaf = leaf_hash(&bytes);
            verify_inclusion(
                &leaf,
                index,
                cp.size,
                &hashes(&e["inclusion_proof"]),
                &cp.root,
            )
            .unwrap();
            let ev = Event::from_canonical_bytes(&bytes).unwrap();
            let r = ev.item.as_ref().unwrap();
            assert_eq!(r.id, items[i]);
            assert_eq!(r.sha256.to_hex(), sha256_hex(&content[i]));
            assert_eq!(ev.item_prev, item_prev);
            if item_prev.is_none() {
                assert_eq!(ev.action.as_str(), "ingest");
            }
            item_prev = Some(leaf);
            seen += 1;
        }
    }
    // Every item event of the log is there: 2 ingests and 1 export.
    assert_eq!(seen, 3);
    assert_eq!(bundled[0]["md5"].as_str().unwrap().len(), 32);
    assert_eq!(bundled[0]["sha1"].as_str().unwrap().len(), 40);
    assert_eq!(bundled[0]["original_name"], "disk.img");
    assert!(bundled[1].get("md5").is_none());

    // The report itself is recorded, once per item, after the bundle's checkpoint, with the
    // hashes of the three files.
    let after = logged(&v);
    assert_eq!(after.len(), before.len() + 2);
    for (n, idx) in (cp.size..cp.size + 2).enumerate() {
        let ev = Event::from_canonical_bytes(after[&idx].0.as_bytes()).unwrap();
        assert_eq!(ev.action.as_str(), "report");
        assert_eq!(ev.item.as_ref().unwrap().id, items[n]);
        let d = ev.details.as_object().unwrap();
        let sha = |p: &Path| sha256_hex(&std::fs::read(p).unwrap());
        assert_eq!(d["bundle"].as_str(), Some("r1.custos-bundle.json"));
        assert_eq!(d["bundle_sha256"].as_str().unwrap(), sha(&out));
        assert_eq!(d["html_sha256"].as_str().unwrap(), sha(&html));
        assert_eq!(d["pdf_sha256"].as_str().unwrap(), sha(&pdf));
        assert_eq!(d["checkpoint_size"].as_int(), Some(cp.size as i64));
    }

    // The next report includes those report events.
    let out2 = bundle_path(&v, "r2.custos-bundle.json");
    v.ok(&["report", &items[0], "-o", out2.to_str().unwrap(), "--json"]);
    let b2 = read_json(&out2);
    let evs = b2["items"][0]["events"].as_array().unwrap();
    assert_eq!(evs.len(), 3);
    let last = Event::from_canonical_bytes(&b64(&evs[2]["event"])).unwrap();
    assert_eq!(last.action.as_str(), "report");
    assert_eq!(v.audit(&[]).0, 0);
}

#[test]
fn since_adds_a_consistency_proof_from_the_holders_checkpoint() {
    let v = TestVault::new();
    let p = v.file("a.bin", b"first");
    let item = v.ingest(&p, "c1")["item"].as_str().unwrap().to_string();
    let held = v.file("held.checkpoint", v.ok(&["checkpoint"]).as_bytes());
    for n in 0..4 {
        let q = v.file(&format!("b{n}.bin"), format!("more {n}").as_bytes());
        v.ingest(&q, "c1");
    }
    let out = bundle_path(&v, "s.custos-bundle.json");
    v.ok(&[
        "report",
        &item,
        "-o",
        out.to_str().unwrap(),
        "--since",
        held.to_str().unwrap(),
        "--reason",
        "disclosure to the defence",
    ]);
    let b = read_json(&out);
    let k = key(&v);
    let (cp, _) = open_checkpoint(b["checkpoint"].as_str().unwrap(), &k).unwrap();
    let (old, _) = open_checkpoint(&std::fs::read_to_string(&held).unwrap(), &k).unwrap();
    assert_eq!((old.size, cp.size), (1, 5));
    let c = &b["consistency"][0];
    assert_eq!(c["old_size"], old.size);
    assert_eq!(c["old_root"], old.root.to_base64());
    let proof = hashes(&c["proof"]);
    assert!(!proof.is_empty());
    verify_consistency(old.size, cp.size, &old.root, &cp.root, &proof).unwrap();
    // A proof against another root fails: the check above can fail.
    let wrong = Sha256Hash::digest(b"x");
    assert!(verify_consistency(old.size, cp.size, &wrong, &cp.root, &proof).is_err());
    // The reason is recorded.
    let last = v.ok(&["log"]);
    assert!(
        last.lines()
            .last()
            .unwrap()
            .contains("disclosure to the defence")
    );
}

#[test]
fn html_and_pdf_show_each_item_escape_the_log_and_open_in_a_reader() {
    let (v, items, content) = two_items();
    let out = bundle_path(&v, "h.json");
    v.ok(&["report", &items[0], &items[1], "-o", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(v.tmp.path().join("h.html")).unwrap();
    for c in &content {
        assert!(html.contains(&sha256_hex(c)));
    }
    assert!(html.contains("Certificate of authenticity"));
    assert!(html.contains("902(13)"));
    assert!(html.contains("custos-verify h.json"));
    assert!(html.contains(&format!("--fingerprint {}", key(&v).fingerprint())));
    assert!(html.contains("--evidence"));
    // The hostile description is shown as text, the bidi override visibly.
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; [U+202E]gnp.exe"));
    assert!(!html.contains('\u{202e}'));
    assert!(!html.contains("src=") && !html.contains("href="));

    let pdf_path = v.tmp.path().join("h.pdf");
    let pdf = std::fs::read(&pdf_path).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    // With poppler-utils installed, a real reader opens it and finds the content.
    match std::process::Command::new("pdftotext")
        .arg(&pdf_path)
        .arg("-")
        .output()
    {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let text = String::from_utf8_lossy(&o.stdout);
            for c in &content {
                assert!(text.contains(&sha256_hex(c)), "{text}");
            }
            assert!(text.contains("Certificate of authenticity"));
            assert!(text.contains("<script>alert(1)</script> & [U+202E]gnp.exe"));
            let info = std::process::Command::new("pdfinfo")
                .arg(&pdf_path)
                .output()
                .unwrap();
            let info = String::from_utf8_lossy(&info.stdout);
            assert!(info.contains("PDF version:     1.4"), "{info}");
            assert!(info.contains("(A4)"), "{info}");
        }
        Err(_) => eprintln!("pdftotext not installed: PDF checked structurally only"),
    }
}

/// Files in the folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn bad_inputs_fail_with_one_line_and_write_nothing() {
    let v = TestVault::new();
    let p = v.file("a.bin", b"content");
    let item = v.ingest(&p, "c1")["item"].as_str().unwrap().to_string();
    let good_cp = v.ok(&["checkpoint"]);
    let outdir = v.tmp.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("r.custos-bundle.json");
    let o = out.to_str().unwrap();

    // A checkpoint of another vault, and a forged one (root changed, signature kept).
    let other = TestVault::new();
    let q = other.file("b.bin", b"other");
    other.ingest(&q, "c1");
    let foreign = v.file("foreign.cp", other.ok(&["checkpoint"]).as_bytes());
    let mut lines: Vec<&str> = good_cp.split('\n').collect();
    let forged_root = Sha256Hash::digest(b"forged").to_base64();
    lines[2] = &forged_root;
    let forged = v.file("forged.cp", lines.join("\n").as_bytes());
    let garbage = v.file("garbage.cp", b"not a checkpoint");
    // A checkpoint signed with the vault's own key but for a different history (a fork).
    let signer = custos_core::note::NoteSigner::parse_private(
        std::fs::read_to_string(v.dir.join("keys/log.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let fork = Checkpoint {
        origin: "custos.test/vault".into(),
        size: 1,
        root: Sha256Hash::digest(b"another history"),
        extensions: Vec::new(),
    };
    let fork = v.file(
        "fork.cp",
        fork.sign(&signer).unwrap().to_string().as_bytes(),
    );
    let missing = v.tmp.path().join("missing.cp");
    let unknown = "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa";
    let no_dir = v.tmp.path().join("nope").join("r.json");

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["report", unknown, "-o", o], "no item"),
        (vec!["report", &item, unknown, "-o", o], "no item"),
        (vec!["report", "not-an-id", "-o", o], "not an item id"),
        (
            vec![
                "report",
                &item,
                "-o",
                o,
                "--since",
                missing.to_str().unwrap(),
            ],
            "cannot read",
        ),
        (
            vec![
                "report",
                &item,
                "-o",
                o,
                "--since",
                foreign.to_str().unwrap(),
            ],
            "not a checkpoint signed by this vault",
        ),
        (
            vec![
                "report",
                &item,
                "-o",
                o,
                "--since",
                forged.to_str().unwrap(),
            ],
            "not a checkpoint signed by this vault",
        ),
        (
            vec![
                "report",
                &item,
                "-o",
                o,
                "--since",
                garbage.to_str().unwrap(),
            ],
            "not a checkpoint signed by this vault",
        ),
        (
            vec!["report", &item, "-o", o, "--since", fork.to_str().unwrap()],
            "not consistent",
        ),
        (vec!["report", &item, "-o", o, "--reason", "  "], "--reason"),
        (
            vec!["report", &item, "-o", no_dir.to_str().unwrap()],
            "cannot write",
        ),
    ];
    let events = v.ok(&["log"]).lines().count();
    for (args, expect) in &cases {
        let err = v.fails(args);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(
            listing(&outdir).is_empty(),
            "{args:?} left {:?}",
            listing(&outdir)
        );
    }
    assert!(!no_dir.parent().unwrap().exists());
    // Nothing was recorded either.
    assert_eq!(v.ok(&["log"]).lines().count(), events);

    // An existing bundle, HTML or PDF is never replaced.
    for existing in ["r.custos-bundle.json", "r.html", "r.pdf"] {
        let path = outdir.join(existing);
        std::fs::write(&path, b"keep me").unwrap();
        let err = v.fails(&["report", &item, "-o", o]);
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(listing(&outdir), vec![existing.to_string()]);
        assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
        std::fs::remove_file(&path).unwrap();
    }
    assert_eq!(v.ok(&["log"]).lines().count(), events);
    // And with a good --since, it works.
    let held = v.file("held.cp", good_cp.as_bytes());
    v.ok(&["report", &item, "-o", o, "--since", held.to_str().unwrap()]);
    assert_eq!(listing(&outdir).len(), 3);
}

#[test]
fn a_checkpoint_newer_than_the_vault_reveals_a_rollback() {
    let v = TestVault::new();
    let p = v.file("a.bin", b"first");
    let item = v.ingest(&p, "c1")["item"].as_str().unwrap().to_string();
    // Keep an old copy of the vault, then go on.
    let old = v.tmp.path().join("old-vault");
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(&v.dir)
        .arg(&old)
        .status()
        .unwrap();
    assert!(st.success());
    let q = v.file("b.bin", b"second");
    v.ingest(&q, "c1");
    let newer = v.file("newer.cp", v.ok(&["checkpoint"]).as_bytes());
    let restored = TestVault {
        tmp: tempfile::tempdir().unwrap(),
        dir: old,
    };
    let out = restored.tmp.path().join("r.json");
    let err = restored.fails(&[
        "report",
        &item,
        "-o",
        out.to_str().unwrap(),
        "--since",
        newer.to_str().unwrap(),
    ]);
    assert!(err.contains("rolled back"), "{err}");
    assert!(listing(restored.tmp.path()).is_empty());
    // The holder's checkpoint is genuine: the live vault accepts it.
    let cp: Checkpoint = open_checkpoint(&std::fs::read_to_string(&newer).unwrap(), &key(&v))
        .unwrap()
        .0;
    assert_eq!(cp.size, 2);
}

/// The writer and the court's verifier agree: a real `custos report` bundle passes every check of
/// `custos_core::bundle::verify` (the logic `custos-verify` runs) with the pinned fingerprint and
/// the evidence; a changed evidence file and a wrong pin fail.
#[test]
fn the_verifier_accepts_a_real_report_and_rejects_a_wrong_file_or_key() {
    use custos_core::bundle::{EvidenceDigest, Pin, Verdict, VerifyOptions, verify_bytes};
    use md5::Digest as _;
    let (v, items, data) = two_items();
    let path = bundle_path(&v, "r.custos-bundle.json");
    v.ok(&["report", &items[0], &items[1], "-o", path.to_str().unwrap()]);
    let bytes = std::fs::read(&path).unwrap();
    let fp = key(&v).fingerprint();
    let digest = |name: &str, d: &[u8]| EvidenceDigest {
        name: name.into(),
        size: d.len() as u64,
        sha256: Sha256Hash::digest(d),
        md5: Some(md5::Md5::digest(d).into()),
        sha1: Some(sha1::Sha1::digest(d).into()),
    };
    let opts = |pin: Pin, evidence: Vec<EvidenceDigest>| VerifyOptions {
        pin,
        witnesses: vec![],
        since: None,
        evidence,
    };
    let ok = verify_bytes(
        &bytes,
        &opts(
            Pin::Fingerprint(fp.clone()),
            vec![digest("a", &data[0]), digest("b", &data[1])],
        ),
    );
    let failed: Vec<_> = ok
        .checks
        .iter()
        .filter(|c| !matches!(c.outcome, custos_core::bundle::Outcome::Pass))
        .map(|c| &c.message)
        .collect();
    assert_eq!(ok.verdict, Verdict::Verified, "{failed:?}");
    let mut wrong = data[0].clone();
    wrong[5] ^= 1;
    let bad = verify_bytes(
        &bytes,
        &opts(Pin::Fingerprint(fp), vec![digest("tampered", &wrong)]),
    );
    assert_eq!(bad.verdict, Verdict::Failed);
    let other_key = verify_bytes(&bytes, &opts(Pin::Fingerprint("0".repeat(64)), vec![]));
    assert_eq!(other_key.verdict, Verdict::Failed);
    assert_eq!(
        verify_bytes(&bytes, &opts(Pin::None, vec![])).verdict,
        Verdict::VerifiedUnpinned
    );
}
