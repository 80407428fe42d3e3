//! Black-box tests of the `custos-verify` binary: exit codes, inputs given as strings or
//! files, human and JSON output, evidence hashing, and refusal of unusable input.

mod support;

use custos_core::bundle::{Bundle, CheckId};
use custos_core::cosignature::CosignatureSigner;
use custos_core::note::Note;
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::*;
use tempfile::TempDir;

/// A folder holding the honest bundle, keys, the earlier checkpoint and the evidence files.
struct Case {
    dir: TempDir,
    log: TestLog,
}

impl Case {
    fn new() -> Self {
        Self::with_bundle(&honest_bundle())
    }

    fn with_bundle(bundle: &Bundle) -> Self {
        let case = Case {
            dir: tempfile::tempdir().unwrap(),
            log: honest_log(),
        };
        case.write("bundle.json", bundle.to_json().as_bytes());
        case.write("log.pub", format!("{}\n", case.log.verifier()).as_bytes());
        case.write(
            "witness.pub",
            format!("{}\n", case.log.witness_verifier()).as_bytes(),
        );
        case.write(
            "since.checkpoint",
            case.log.checkpoint(SINCE_SIZE, false).as_bytes(),
        );
        case.write("a.bin", CONTENT_A);
        case.write("b.bin", CONTENT_B);
        case
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Run the binary in the case folder.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_custos-verify"))
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .unwrap()
    }

    fn fingerprint(&self) -> String {
        self.log.verifier().fingerprint()
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

const ALL_INPUTS: &[&str] = &[
    "bundle.json",
    "--witness",
    "witness.pub",
    "--since",
    "since.checkpoint",
    "--evidence",
    "a.bin",
    "--evidence",
    "b.bin",
];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = ALL_INPUTS.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn help_documents_the_exit_codes_and_pinning() {
    let out = Case::new().run(&["--help"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for needle in [
        "Exit codes:",
        "0  verified",
        "1  verification failed",
        "2  usage error",
        "3  every check passed but nothing was pinned",
        "--key <KEY>",
        "--fingerprint <FP>",
        "--witness <KEY>",
        "--since <CHECKPOINT_FILE>",
        "--evidence <FILE>",
        "--json",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
}

#[test]
fn honest_bundle_with_pinned_key_exits_0() {
    let case = Case::new();
    let key = case.log.verifier().to_string();
    let fp = case.fingerprint();
    let fp_spaced: String = fp
        .to_uppercase()
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    for pin in [
        vec!["--key", key.as_str()],
        vec!["--key", "log.pub"],
        vec!["--fingerprint", fp.as_str()],
        vec!["--fingerprint", fp_spaced.as_str()],
    ] {
        let mut args = ALL_INPUTS.to_vec();
        args.extend(pin.iter().copied());
        let out = case.run(&args);
        let text = stdout(&out);
        assert_eq!(code(&out), 0, "{pin:?}\n{text}{}", stderr(&out));
        assert!(
            text.contains("\nVERIFIED with the log key you pinned: "),
            "{text}"
        );
        assert!(text.contains(&format!("key fingerprint {fp}")));
        assert!(!text.contains("\nFAIL "));
        assert!(!text.contains("\nWARN "));
        assert!(
            text.contains(
                "cosigned by witness witness.example.org/w1 at 2026-11-25T03:06:40.000000Z"
            )
        );
        assert!(text.contains("the log extends the checkpoint you hold (size 4)"));
        assert!(text.contains("2 evidence files each matched their item"));
    }
}

#[test]
fn nothing_pinned_exits_3_with_a_loud_warning() {
    let case = Case::new();
    let out = case.run(ALL_INPUTS);
    assert_eq!(code(&out), 3);
    let text = stdout(&out);
    assert!(text.contains("VERIFIED ONLY AGAINST THE BUNDLE'S OWN KEY. NOTHING WAS PINNED."));
    assert!(
        text.contains("!!! Every signature was checked with the key the bundle itself carries.")
    );
    assert!(text.contains("--key '<verifier key>'   or   --fingerprint <64 hex digits>"));
    assert!(text.contains(&case.fingerprint()));
    assert!(text.contains("WARN  key-pin"));
}

#[test]
fn a_tampered_bundle_exits_1_and_lists_the_failures_at_the_end() {
    let mut bundle = honest_bundle();
    bundle.items[0].events[1].signature[0] ^= 1;
    let case = Case::with_bundle(&bundle);
    let out = case.run(&with(&["--key", "log.pub"]));
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let verdict = text.split("\nFAILED: ").nth(1).expect("a FAILED paragraph");
    assert!(verdict.starts_with("1 check failed."), "{verdict}");
    assert!(verdict.contains(&format!(
        "FAIL  event-signature       item {ITEM_A} event 3: The event's signature does not verify"
    )));
}

#[test]
fn a_wrong_pinned_key_exits_1_even_though_the_bundle_is_self_consistent() {
    let case = Case::new();
    let other = custos_core::note::NoteSigner::from_seed(ORIGIN, OTHER_SEED)
        .unwrap()
        .verifier()
        .to_string();
    let out = case.run(&with(&["--key", &other]));
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("FAIL  key-pin"));
}

#[test]
fn json_output_lists_every_check() {
    let case = Case::new();
    let out = case.run(&with(&["--key", "log.pub", "--json"]));
    assert_eq!(code(&out), 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "verified");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["bundle"], "bundle.json");
    assert_eq!(v["summary"]["checkpoint_size"], 10);
    assert_eq!(v["summary"]["pinned"], true);
    assert_eq!(v["summary"]["key_fingerprint"], case.fingerprint());
    assert_eq!(v["summary"]["witnesses"][0]["timestamp"], COSIGN_TIME);
    let ids: Vec<&str> = CheckId::ALL.iter().map(|c| c.as_str()).collect();
    let checks = v["checks"].as_array().unwrap();
    assert!(checks.len() > 60);
    for c in checks {
        assert!(ids.contains(&c["id"].as_str().unwrap()), "{c}");
        assert_eq!(c["outcome"], "pass");
        assert!(c["reason"].is_null());
        assert!(!c["message"].as_str().unwrap().is_empty());
    }
}

#[test]
fn unusable_input_exits_2_with_a_message_on_stderr() {
    let case = Case::new();
    case.write("latin1.checkpoint", b"caf\xe9\n");
    std::fs::create_dir(case.path("folder")).unwrap();
    for (args, needle) in [
        (vec![], "required"),
        (vec!["missing.json"], "bundle missing.json"),
        (
            vec!["bundle.json", "--evidence", "nope.bin"],
            "evidence nope.bin",
        ),
        (
            vec!["bundle.json", "--evidence", "folder"],
            "evidence folder",
        ),
        (
            vec!["bundle.json", "--key", "not-a-key"],
            "--key: not a valid key",
        ),
        (vec!["bundle.json", "--key", "a.bin"], "--key: "),
        (vec!["bundle.json", "--witness", "log.pub"], "--witness: "),
        (
            vec!["bundle.json", "--fingerprint", "abc"],
            "is not 64 hex digits",
        ),
        (
            vec!["bundle.json", "--key", "log.pub", "--fingerprint", "00"],
            "cannot be used with",
        ),
        (
            vec!["bundle.json", "--since", "none.checkpoint"],
            "--since checkpoint",
        ),
        (
            vec!["bundle.json", "--since", "latin1.checkpoint"],
            "not UTF-8",
        ),
        (vec!["bundle.json", "--frobnicate"], "unexpected argument"),
    ] {
        let out = case.run(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_file_that_is_not_a_bundle_fails_with_bundle_format() {
    let case = Case::new();
    for (name, bytes) in [
        ("empty.json", &b""[..]),
        ("text.json", b"hello"),
        ("other.json", br#"{"format":"something-else","version":1}"#),
    ] {
        case.write(name, bytes);
        let out = case.run(&[name, "--key", "log.pub"]);
        assert_eq!(code(&out), 1, "{name}");
        let text = stdout(&out);
        assert!(text.contains("FAIL  bundle-format"), "{text}");
        assert!(text.contains("not a well-formed Custos report bundle"));
    }
}

#[test]
fn a_rolled_back_bundle_fails_since_consistency() {
    // The user holds a checkpoint of 10 entries; the bundle shows the log at 7.
    let case = Case::new();
    let old = case.log.bundle(7, &[]);
    case.write("old.json", old.to_json().as_bytes());
    case.write("held.checkpoint", case.log.checkpoint(10, false).as_bytes());
    let out = case.run(&["old.json", "--key", "log.pub", "--since", "held.checkpoint"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("FAIL  since-consistency"));
    assert!(stdout(&out).contains("(a rollback)"));
}

#[test]
fn evidence_not_in_the_bundle_fails_naming_its_sha256() {
    let case = Case::new();
    case.write("c.bin", b"not evidence");
    let out = case.run(&["bundle.json", "--key", "log.pub", "--evidence", "c.bin"]);
    assert_eq!(code(&out), 1);
    let sha = hex_encode(&sha2::Sha256::digest(b"not evidence"));
    assert!(stdout(&out).contains(&format!(
        "FAIL  evidence-match        evidence c.bin: The file c.bin (SHA-256 {sha})"
    )));
}

/// A log whose one item is `content`, recording MD5 and SHA-1 when `digests`.
fn bundle_of(content: &[u8], digests: bool) -> Bundle {
    let mut log = TestLog::new();
    log.ingest(ItemSpec {
        id: ITEM_A.to_owned(),
        case: CASE.to_owned(),
        content: content.to_vec(),
        md5: digests.then(|| md5::Md5::digest(content).into()),
        sha1: digests.then(|| sha1::Sha1::digest(content).into()),
        description: None,
        original_name: None,
    });
    log.bundle(log.size(), &[])
}

#[test]
fn large_evidence_is_hashed_in_blocks_with_md5_and_sha1_when_recorded() {
    // Several 1 MiB blocks and a partial one.
    let content: Vec<u8> = (0..3 * (1 << 20) + 4321).map(|i| (i % 253) as u8).collect();
    for digests in [true, false] {
        let case = Case::with_bundle(&bundle_of(&content, digests));
        case.write("big.bin", &content);
        let out = case.run(&["bundle.json", "--key", "log.pub", "--evidence", "big.bin"]);
        let text = stdout(&out);
        assert_eq!(code(&out), 0, "{text}");
        let compared = if digests {
            "its SHA-256, size, MD5 and SHA-1 match"
        } else {
            "its SHA-256 and size match"
        };
        assert!(text.contains(compared), "{text}");
        // One byte changed at the end: refused.
        let mut altered = content.clone();
        *altered.last_mut().unwrap() ^= 1;
        case.write("big.bin", &altered);
        let out = case.run(&["bundle.json", "--key", "log.pub", "--evidence", "big.bin"]);
        assert_eq!(code(&out), 1);
    }
}

#[test]
fn hostile_text_from_the_bundle_is_escaped_in_the_output() {
    // A cosignature line whose signer name carries a right-to-left override and the
    // bundle's file name an escape sequence: neither reaches the terminal raw.
    let mut bundle = honest_bundle();
    let evil = CosignatureSigner::from_seed("evil\u{202e}gpj.exe", [9; 32]).unwrap();
    let mut note = Note::parse(&bundle.checkpoint).unwrap();
    note.add_signature(evil.cosign(&note, 1).unwrap()).unwrap();
    bundle.checkpoint = note.to_string();
    let case = Case::with_bundle(&bundle);
    std::fs::rename(case.path("bundle.json"), case.path("b\u{1b}[2J.json")).unwrap();
    let out = case.run(&["b\u{1b}[2J.json", "--key", "log.pub"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(!text.contains('\u{202e}') && !text.contains('\u{1b}'));
    assert!(text.contains("WARN  witness-unchecked     cosigner evil\\u{202E}gpj.exe+"));
    assert!(text.contains("Custos report bundle: b\\u{001B}[2J.json"));
}

#[test]
fn the_binary_links_no_runtime_database_or_network_crate() {
    // The dependency list is the one the brief allows (custos-core, clap, digests, serde_json).
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split([' ', '.', '=']).next())
        .filter(|n| !n.is_empty())
        .collect();
    assert_eq!(
        names,
        ["custos-core", "clap", "sha2", "md-5", "sha1", "serde_json"]
    );
}
