//! `custos-verify`: the court's offline verifier of Custos custody report bundles.
//!
//! Reads a bundle, the evidence files and the keys the user trusts; every check is made by
//! `custos_core::bundle`, which does no I/O. This binary only reads files, hashes evidence and
//! prints the report. No network, no database, no async runtime.
#![forbid(unsafe_code)]

mod digest;
mod render;

use clap::Parser;
use custos_core::bundle::{
    Bundle, EvidenceDigest, MAX_BUNDLE_BYTES, Pin, VerifyOptions, parse_failure_report, verify,
};
use custos_core::cosignature::CosignatureVerifier;
use custos_core::note::NoteVerifier;
use std::fmt::Display;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes and how to pin, shown at the end of `--help`.
const AFTER_HELP: &str = "\
Exit codes:
  0  verified: every check passed and the log key was pinned (--key or --fingerprint)
  1  verification failed: at least one check failed (the report says which)
  2  usage error, or an input could not be read (bundle, evidence, key or checkpoint file)
  3  every check passed but nothing was pinned: the bundle's own key was trusted, which
     shows only that the bundle is consistent with itself

Pin the log key you obtained from the vault operator by another channel (`custos key`
prints the key, `custos key --json` also its fingerprint). Without --key or --fingerprint
the result is at most 3.";

/// Verify a Custos custody report bundle offline: the log's signatures, the checkpoint,
/// witness cosignatures, every event's inclusion proof and hash chains, and the evidence
/// files themselves.
#[derive(Debug, Parser)]
#[command(name = "custos-verify", version, after_help = AFTER_HELP)]
struct Args {
    /// The report bundle (`*.custos-bundle.json`).
    bundle: PathBuf,

    /// An evidence file to match against the bundle's items (SHA-256, size, and MD5/SHA-1
    /// when recorded). Repeat for several files.
    #[arg(long, value_name = "FILE")]
    evidence: Vec<PathBuf>,

    /// The log's verifier key (`name+keyid+base64`), or a file holding it.
    #[arg(long, value_name = "KEY", conflicts_with = "fingerprint")]
    key: Option<String>,

    /// The SHA-256 fingerprint of the log's verifier key (64 hex digits; spaces and colons
    /// are ignored).
    #[arg(long, value_name = "FP")]
    fingerprint: Option<String>,

    /// A witness verifier key (`name+keyid+base64`, type 0x04), or a file holding it. Its
    /// cosignature must be on the checkpoint. Repeat for several witnesses.
    #[arg(long, value_name = "KEY")]
    witness: Vec<String>,

    /// An earlier checkpoint (signed note) you hold: the bundle must prove the log extends
    /// it (no rollback, no rewritten history).
    #[arg(long, value_name = "CHECKPOINT_FILE")]
    since: Option<PathBuf>,

    /// Print the report as JSON on standard output.
    #[arg(long)]
    json: bool,
}

/// An input that could not be read or understood: exit code 2.
struct UsageError(String);

impl<E: Display> From<(&str, E)> for UsageError {
    fn from((what, e): (&str, E)) -> Self {
        UsageError(format!("{what}: {e}"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(UsageError(msg)) => {
            eprintln!("custos-verify: error: {}", render::sanitize(&msg));
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<u8, UsageError> {
    let pin = pin(args)?;
    let witnesses = args
        .witness
        .iter()
        .map(|w| read_key(w, "--witness", CosignatureVerifier::parse))
        .collect::<Result<Vec<_>, _>>()?;
    let since = args
        .since
        .as_deref()
        .map(|p| read_text(p, "--since checkpoint"))
        .transpose()?;
    let name = args.bundle.display().to_string();
    let bytes = read_bundle(&args.bundle)?;
    let report = match Bundle::parse(&bytes) {
        Err(e) => parse_failure_report(&e),
        Ok(bundle) => {
            let evidence = hash_evidence(&args.evidence, &bundle)?;
            let opts = VerifyOptions {
                pin,
                witnesses,
                since,
                evidence,
            };
            verify(&bundle, &opts)
        }
    };
    let out = if args.json {
        let mut s = serde_json::to_string_pretty(&render::json(&name, &report))
            .map_err(|e| UsageError(format!("writing JSON: {e}")))?;
        s.push('\n');
        s
    } else {
        render::human(&name, &report)
    };
    // A closed pipe (e.g. `| head`) is not a verification result; ignore write errors.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(render::exit_code(report.verdict))
}

fn pin(args: &Args) -> Result<Pin, UsageError> {
    if let Some(key) = &args.key {
        return read_key(key, "--key", NoteVerifier::parse).map(Pin::Key);
    }
    if let Some(fp) = &args.fingerprint {
        return Pin::fingerprint_from_text(fp).ok_or_else(|| {
            UsageError(format!(
                "--fingerprint: {fp:?} is not 64 hex digits (a SHA-256 key fingerprint)"
            ))
        });
    }
    Ok(Pin::None)
}

/// A key given as a key string, or as a file whose first line is one.
fn read_key<K, E: Display>(
    arg: &str,
    flag: &str,
    parse: impl Fn(&str) -> Result<K, E>,
) -> Result<K, UsageError> {
    let as_string = match parse(arg.trim()) {
        Ok(k) => return Ok(k),
        Err(e) => e,
    };
    let path = Path::new(arg);
    if !path.is_file() {
        return Err(UsageError(format!(
            "{flag}: not a valid key ({as_string}), and no file of that name"
        )));
    }
    let text = read_text(path, flag)?;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    parse(line.unwrap_or("")).map_err(|e| UsageError(format!("{flag}: {}: {e}", path.display())))
}

/// A small UTF-8 text file (a key or a checkpoint), at most 1 MiB.
fn read_text(path: &Path, what: &str) -> Result<String, UsageError> {
    let what = format!("{what} {}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut bytes))
        .map_err(|e| UsageError::from((what.as_str(), e)))?;
    String::from_utf8(bytes).map_err(|_| UsageError(format!("{what}: not UTF-8 text")))
}

/// The bundle's bytes; a file over the size limit is read only up to one byte past it, so
/// that parsing refuses it as too large without reading it all.
fn read_bundle(path: &Path) -> Result<Vec<u8>, UsageError> {
    let what = format!("bundle {}", path.display());
    let file = std::fs::File::open(path).map_err(|e| UsageError::from((what.as_str(), e)))?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| UsageError::from((what.as_str(), e)))?;
    Ok(bytes)
}

/// Hash every evidence file; MD5 and SHA-1 only when some item of the bundle records them.
fn hash_evidence(paths: &[PathBuf], bundle: &Bundle) -> Result<Vec<EvidenceDigest>, UsageError> {
    let wanted = digest::Wanted {
        md5: bundle.items.iter().any(|i| i.md5.is_some()),
        sha1: bundle.items.iter().any(|i| i.sha1.is_some()),
    };
    paths
        .iter()
        .map(|p| {
            let name = p.display().to_string();
            digest::hash_file(p, name.clone(), wanted)
                .map_err(|e| UsageError(format!("evidence {name}: {e}")))
        })
        .collect()
}
