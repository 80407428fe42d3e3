//! The court verifier page in headless Chromium: the real page (`build-page.sh`), the real
//! fixture bundles of `tests/fixtures/bundles`, files chosen through the page's file inputs or
//! dropped on it, and assertions on what the page shows: the verdict, the findings (check id and
//! subject of each failed check) and the text report.
//!
//! Needs Chromium (`apt-get install -y chromium`), the `wasm32-unknown-unknown` target and
//! wasm-bindgen-cli at the crate's exact version; `.ci/verify-web.sh` installs all three. The
//! tests build the page themselves with `build-page.sh` (a no-op when it is up to date), or use
//! the page named by `$CUSTOS_VERIFY_PAGE` as it is. A missing tool fails the test with the
//! command that installs it.

mod cdp;

use cdp::Browser;
use custos_core::cosignature::CosignatureVerifier;
use custos_verify_web::{EvidenceHasher, verify_to_json};
use serde_json::Value;
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/bundles")
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// The page, built once per test run.
fn page() -> &'static Path {
    static PAGE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = PAGE.get_or_init(|| {
        if let Some(p) = std::env::var_os("CUSTOS_VERIFY_PAGE") {
            return Ok(PathBuf::from(p));
        }
        // Beside this test's executable (`<target>/<profile>/deps/`), in the profile folder.
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let out = exe
            .ancestors()
            .nth(2)
            .ok_or("test executable has no profile folder")?
            .join("custos-verify-test.html");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("build-page.sh");
        let run = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !run.status.success() {
            return Err(format!(
                "{} failed:\n{}{}",
                script.display(),
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            ));
        }
        Ok(out)
    });
    match built {
        Ok(p) => p,
        Err(e) => panic!("the page could not be built: {e}"),
    }
}

fn browser() -> Browser {
    Browser::launch().unwrap_or_else(|e| panic!("{e}"))
}

/// What the user gives the page.
#[derive(Default, Clone)]
struct Inputs {
    bundle: PathBuf,
    evidence: Vec<PathBuf>,
    pin: String,
    witnesses: String,
    since: Option<PathBuf>,
    /// Drop the files on the page instead of choosing them with the file inputs.
    drop: bool,
    /// Bytes per `File.slice` while hashing evidence (the page's default when `None`).
    chunk_bytes: Option<usize>,
}

/// What the page shows after verifying.
#[derive(Debug)]
struct Shown {
    state: String,
    status: String,
    verdict: String,
    title: String,
    verdict_text: String,
    /// `<check id> <subject>` of each FAIL row of the findings table, in order.
    failed: Vec<String>,
    /// The same for WARN rows.
    warned: Vec<String>,
    report_text: String,
}

fn js_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn first_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

/// Open a fresh page, give it `inputs`, press Verify, and read what it shows.
fn verify_on_page(b: &mut Browser, inputs: &Inputs) -> Shown {
    b.open(page(), "document.body.dataset.state === 'ready'")
        .unwrap();
    if let Some(n) = inputs.chunk_bytes {
        b.eval(&format!("window.custosConfig.chunkBytes = {n}"))
            .unwrap();
    }
    if inputs.drop {
        b.drop_files("#bundle-drop", std::slice::from_ref(&inputs.bundle))
            .unwrap();
        if !inputs.evidence.is_empty() {
            b.drop_files("#evidence-drop", &inputs.evidence).unwrap();
        }
    } else {
        b.set_files("#bundle-input", std::slice::from_ref(&inputs.bundle))
            .unwrap();
        if !inputs.evidence.is_empty() {
            b.set_files("#evidence-input", &inputs.evidence).unwrap();
        }
    }
    if let Some(since) = &inputs.since {
        b.set_files("#since-input", std::slice::from_ref(since))
            .unwrap();
    }
    b.eval(&format!(
        "document.getElementById('pin').value = {}; \
         document.getElementById('witnesses').value = {}; true",
        js_str(&inputs.pin),
        js_str(&inputs.witnesses)
    ))
    .unwrap();
    // The page lists what it was given before anything is verified.
    let bundle_name = inputs.bundle.file_name().unwrap().to_str().unwrap();
    let listed = b
        .eval("document.getElementById('bundle-name').textContent")
        .unwrap();
    assert!(
        listed.as_str().unwrap().starts_with(bundle_name),
        "bundle box shows {listed}"
    );
    let listed = b
        .eval("document.querySelectorAll('#evidence-list li').length")
        .unwrap();
    assert_eq!(listed, Value::from(inputs.evidence.len()));
    let runs: u64 = b
        .eval("Number(document.body.dataset.runs)")
        .unwrap()
        .as_u64()
        .unwrap();
    b.eval("document.getElementById('verify').click(); true")
        .unwrap();
    b.wait_for(
        &format!("Number(document.body.dataset.runs) > {runs}"),
        Duration::from_secs(120),
    )
    .unwrap();
    read_shown(b)
}

fn read_shown(b: &mut Browser) -> Shown {
    let v = b
        .eval(
            r#"(() => {
            const rows = (outcome) => Array.from(document.querySelectorAll('#findings tbody tr'))
                .filter((tr) => tr.cells[0].textContent === outcome && tr.offsetParent !== null)
                .map((tr) => tr.cells[2].textContent + ' ' + tr.cells[3].textContent);
            const text = (id) => document.getElementById(id).textContent;
            return {
                state: document.body.dataset.state,
                status: text('status'),
                verdict: document.getElementById('result').hidden ? '' : document.getElementById('verdict').dataset.verdict,
                title: text('verdict-title'),
                verdict_text: text('verdict-text'),
                failed: rows('FAIL'),
                warned: rows('WARN'),
                report_text: text('report-text'),
            };
        })()"#,
        )
        .unwrap();
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect()
    };
    Shown {
        state: s("state"),
        status: s("status"),
        verdict: s("verdict"),
        title: s("title"),
        verdict_text: s("verdict_text"),
        failed: list("failed"),
        warned: list("warned"),
        report_text: s("report_text"),
    }
}

/// The report the same inputs give natively (the code `custos-verify` prints with).
fn native(inputs: &Inputs) -> Value {
    let bytes = std::fs::read(&inputs.bundle).unwrap();
    let wanted = custos_verify_web::digests_wanted(&bytes).unwrap_or_default();
    let evidence: Vec<_> = inputs
        .evidence
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            let mut h = EvidenceHasher::new(name, wanted.md5, wanted.sha1);
            h.update(&std::fs::read(p).unwrap());
            h.finish()
        })
        .collect();
    let since = inputs
        .since
        .as_ref()
        .map(|p| std::fs::read_to_string(p).unwrap());
    let json = verify_to_json(
        &bytes,
        inputs.bundle.file_name().unwrap().to_str().unwrap(),
        &inputs.pin,
        &evidence,
        &inputs.witnesses,
        since,
    )
    .unwrap();
    serde_json::from_str(&json).unwrap()
}

/// The inputs `tests/fixtures/bundles/README.md` runs each fixture with.
fn fixture_inputs(name: &str) -> Inputs {
    let own = fixture(&format!("{name}.evidence"));
    let evidence = if own.exists() {
        vec![own]
    } else {
        vec![fixture("evidence/a.bin"), fixture("evidence/b.bin")]
    };
    Inputs {
        bundle: fixture(&format!("{name}.json")),
        evidence,
        pin: first_line(&fixture("log.pub")),
        witnesses: first_line(&fixture("witness.pub")),
        since: Some(fixture("since-4.checkpoint")),
        ..Inputs::default()
    }
}

fn expected(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(&format!("{name}.expected")))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        // The command line names evidence by the path it was given, the page by file name.
        .map(|l| l.replace("evidence evidence/", "evidence "))
        .collect()
}

#[test]
fn honest_bundle_is_verified_and_the_page_shows_the_command_line_report() {
    let mut b = browser();
    let inputs = fixture_inputs("honest");
    let shown = verify_on_page(&mut b, &inputs);
    assert_eq!(shown.state, "done", "{shown:?}");
    assert_eq!(shown.verdict, "verified");
    assert_eq!(shown.title, "VERIFIED");
    assert!(
        shown.failed.is_empty() && shown.warned.is_empty(),
        "{shown:?}"
    );
    let native = native(&inputs);
    assert_eq!(shown.report_text, native["text"].as_str().unwrap());
    assert_eq!(shown.verdict_text, native["verdict_text"].as_str().unwrap());
    for words in [
        "VERIFIED with the log key you pinned: custos.example.org/agency-x+",
        "cosigned by witness witness.example.org/w1 at",
        "the log extends the checkpoint you hold (size 4)",
        "2 items, 7 events: each event signed, included in the checkpoint, and chained",
        "2 evidence files each matched their item",
    ] {
        assert!(
            shown.verdict_text.contains(words),
            "{words:?} not in {shown:?}"
        );
    }
    assert!(
        shown
            .report_text
            .contains("PASS  evidence-match        evidence a.bin: "),
        "{}",
        shown.report_text
    );
}

#[test]
fn every_fixture_fails_on_the_page_exactly_as_on_the_command_line() {
    let mut b = browser();
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "fixtures missing: {names:?}");
    for name in &names {
        let inputs = fixture_inputs(name);
        let shown = verify_on_page(&mut b, &inputs);
        let want = expected(name);
        assert_eq!(shown.failed, want, "fixture {name}: {shown:?}");
        let verdict = if want.is_empty() {
            "verified"
        } else {
            "failed"
        };
        assert_eq!(shown.verdict, verdict, "fixture {name}");
        assert_eq!(
            shown.report_text,
            native(&inputs)["text"].as_str().unwrap(),
            "fixture {name}"
        );
        if !want.is_empty() {
            assert_eq!(shown.title, "FAILED");
            let n = want.len();
            let head = format!(
                "FAILED: {n} check{} failed. Do not rely on this bundle",
                if n == 1 { "" } else { "s" }
            );
            assert!(shown.verdict_text.starts_with(&head), "{name}: {shown:?}");
        }
    }
}

#[test]
fn tampered_bundle_dropped_on_the_page_fails_its_signature_check() {
    let mut b = browser();
    let inputs = Inputs {
        bundle: fixture("event-signature.json"),
        evidence: vec![fixture("evidence/a.bin"), fixture("evidence/b.bin")],
        pin: first_line(&fixture("log.pub")),
        drop: true,
        ..Inputs::default()
    };
    let shown = verify_on_page(&mut b, &inputs);
    assert_eq!(shown.verdict, "failed", "{shown:?}");
    assert_eq!(shown.title, "FAILED");
    assert_eq!(
        shown.failed,
        ["event-signature item itm_aaaaaaaaaaaaaaaaaaaaaaaaaa event 3"]
    );
    // Nobody said to trust the witness: its line is reported as not checked.
    let witness = CosignatureVerifier::parse(&first_line(&fixture("witness.pub"))).unwrap();
    assert_eq!(
        shown.warned,
        [format!(
            "witness-unchecked cosigner {}+{}",
            witness.name(),
            witness.key_id()
        )]
    );
    assert_eq!(shown.report_text, native(&inputs)["text"].as_str().unwrap());
}

#[test]
fn wrong_evidence_file_fails_evidence_match() {
    let mut b = browser();
    let fingerprint = custos_core::note::NoteVerifier::parse(&first_line(&fixture("log.pub")))
        .unwrap()
        .fingerprint();
    let inputs = Inputs {
        bundle: fixture("honest.json"),
        evidence: vec![fixture("evidence-altered.evidence")],
        pin: fingerprint.to_ascii_uppercase(),
        ..Inputs::default()
    };
    let shown = verify_on_page(&mut b, &inputs);
    assert_eq!(shown.verdict, "failed", "{shown:?}");
    assert_eq!(
        shown.failed,
        ["evidence-match evidence evidence-altered.evidence"]
    );
    let sha = hex(&sha2::Sha256::digest(b"abd"));
    assert!(shown.report_text.contains(&sha), "{}", shown.report_text);
    assert!(
        shown
            .report_text
            .contains("PASS  key-pin               log key: The bundle's log key has the fingerprint you pinned"),
        "{}",
        shown.report_text
    );
}

#[test]
fn unpinned_bundle_is_verified_only_with_the_warning() {
    let mut b = browser();
    let inputs = Inputs {
        bundle: fixture("honest.json"),
        ..Inputs::default()
    };
    let shown = verify_on_page(&mut b, &inputs);
    assert_eq!(shown.verdict, "verified-unpinned", "{shown:?}");
    assert_eq!(
        shown.title,
        "VERIFIED ONLY AGAINST THE BUNDLE'S OWN KEY. NOTHING WAS PINNED."
    );
    assert!(shown.failed.is_empty());
    assert_eq!(shown.warned[0], "key-pin log key");
    assert!(
        shown
            .verdict_text
            .contains("!!! To pin, obtain the log's verifier key")
    );
    let note_shown = b
        .eval("!document.getElementById('pin-note').hidden")
        .unwrap();
    assert_eq!(note_shown, Value::Bool(true));
}

#[test]
fn evidence_is_hashed_in_slices_whatever_their_size() {
    let dir = tempfile::tempdir().unwrap();
    // 20 MiB + 3 bytes: three 8 MiB slices at the page's default, the last one short.
    let big: Vec<u8> = (0..(20u32 << 20) + 3)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let big_path = dir.path().join("big.bin");
    std::fs::write(&big_path, &big).unwrap();
    let mut b = browser();
    let inputs = Inputs {
        bundle: fixture("honest.json"),
        evidence: vec![big_path],
        pin: first_line(&fixture("log.pub")),
        ..Inputs::default()
    };
    let shown = verify_on_page(&mut b, &inputs);
    assert_eq!(shown.failed, ["evidence-match evidence big.bin"]);
    let sha = hex(&sha2::Sha256::digest(&big));
    assert!(shown.report_text.contains(&sha), "{}", shown.report_text);

    // Item A records MD5 and SHA-1: in 1-byte slices all three digests still match.
    let inputs = Inputs {
        bundle: fixture("honest.json"),
        evidence: vec![fixture("evidence/a.bin"), fixture("evidence/b.bin")],
        pin: first_line(&fixture("log.pub")),
        chunk_bytes: Some(1),
        ..Inputs::default()
    };
    let shown = verify_on_page(&mut b, &inputs);
    assert_eq!(shown.verdict, "verified", "{shown:?}");
    assert!(
        shown
            .verdict_text
            .contains("2 evidence files each matched their item")
    );
}

#[test]
fn unusable_pin_is_refused_with_a_message_and_no_report() {
    let mut b = browser();
    let inputs = Inputs {
        bundle: fixture("honest.json"),
        pin: "not a key".to_owned(),
        ..Inputs::default()
    };
    let shown = verify_on_page(&mut b, &inputs);
    assert_eq!(shown.state, "error");
    assert_eq!(shown.verdict, "");
    assert!(
        shown.status.starts_with(
            "Cannot verify: the pinned key is neither a log verifier key (name+keyid+base64: "
        ),
        "{}",
        shown.status
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
