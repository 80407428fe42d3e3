//! Helpers for black-box tests: run the real `custos` binary against real vault folders.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A vault in a temporary folder.
pub struct TestVault {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl TestVault {
    /// `custos init` a fresh local vault.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        let t = TestVault { tmp, dir };
        t.ok(&[
            "init",
            "--examiner",
            "alice",
            "--origin",
            "custos.test/vault",
        ]);
        t
    }

    /// A command on this vault.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("custos").unwrap();
        c.env_remove("CUSTOS_DIR").arg("--dir").arg(&self.dir);
        c
    }

    /// A std command on this vault (for spawning and killing).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_custos"))
            .env_remove("CUSTOS_DIR")
            .arg("--dir")
            .arg(&self.dir)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Run and expect success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "custos {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run and expect failure with exit code 1 and exactly one line on stderr; returns it.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "custos {args:?} should fail; stdout {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "one line expected, got: {err}");
        assert!(err.starts_with("custos: error: "), "{err}");
        err
    }

    /// Write a file with `content` in the temp folder.
    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Ingest and return the parsed JSON acknowledgement.
    pub fn ingest(&self, path: &Path, case: &str) -> serde_json::Value {
        let out = self.ok(&["ingest", path.to_str().unwrap(), "--case", case, "--json"]);
        serde_json::from_str(&out).unwrap()
    }

    /// `custos audit --json` → (exit code, report).
    pub fn audit(&self, extra: &[&str]) -> (i32, serde_json::Value) {
        let mut args = vec!["audit", "--json"];
        args.extend_from_slice(extra);
        let out = self.cmd().args(&args).output().unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "audit output: {} {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap(), v)
    }

    /// The finding kinds of an audit.
    pub fn finding_kinds(&self, extra: &[&str]) -> Vec<String> {
        let (_, v) = self.audit(extra);
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap().to_string())
            .collect()
    }

    /// Open the vault's database directly (for tamper tests).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.join("custos.db")).unwrap()
    }
}

/// Deterministic pseudo-random bytes (xorshift), so tests need no RNG crate. Seeds `2k` and
/// `2k + 1` give the same bytes (the low bit is forced on).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Hex SHA-256.
pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}
