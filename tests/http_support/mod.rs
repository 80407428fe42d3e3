//! A real `custos serve` on a loopback port, in a fresh vault, for black-box HTTP tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The first administrator's token.
    pub admin: String,
    /// The vault folder.
    pub dir: std::path::PathBuf,
    /// Temporary folder holding the vault.
    pub tmp: tempfile::TempDir,
    child: Option<Child>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl TestServer {
    /// Start on a fresh vault with the defaults.
    pub fn start() -> Self {
        Self::start_with(&[], "")
    }

    /// Start with extra environment variables, and `server_toml` lines appended to the
    /// generated config's `[server]` section (the vault is created first with `custos init`).
    pub fn start_with(env: &[(&str, &str)], server_toml: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        if !server_toml.is_empty() {
            let st = Command::new(env!("CARGO_BIN_EXE_custos"))
                .env_remove("CUSTOS_DIR")
                .args(["init", "--examiner", "alice", "--dir"])
                .arg(&dir)
                .output()
                .unwrap();
            assert!(st.status.success(), "{st:?}");
            let cfg = dir.join("custos.toml");
            let text = std::fs::read_to_string(&cfg).unwrap();
            let mut doc: toml::Table = toml::from_str(&text).unwrap();
            let extra: toml::Table = toml::from_str(server_toml).unwrap();
            let server = doc
                .entry("server")
                .or_insert(toml::Value::Table(Default::default()));
            for (k, v) in extra {
                server.as_table_mut().unwrap().insert(k, v);
            }
            std::fs::write(&cfg, toml::to_string(&doc).unwrap()).unwrap();
        }
        Self::start_in(tmp, dir, env)
    }

    /// Start on the vault in `dir` (created on first start if absent).
    pub fn start_in(tmp: tempfile::TempDir, dir: std::path::PathBuf, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_custos"));
        cmd.env_remove("CUSTOS_DIR")
            .env_remove("CUSTOS_BIND")
            .env("RUST_LOG", "warn")
            .arg("--dir")
            .arg(&dir)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start custos serve");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let err_thread = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
            s
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut admin = String::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("cst_") {
                    admin = line.clone();
                }
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send((url.to_string(), admin.clone()));
                }
            }
        });
        let (url, admin) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("custos serve did not print its address within 60 s");
        TestServer {
            url,
            admin,
            dir,
            tmp,
            child: Some(child),
            stderr: Some(err_thread),
        }
    }

    /// A blocking HTTP client (no timeout surprises: 120 s).
    pub fn http(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap()
    }

    /// `url + path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Create an account with `role` and return a token for it.
    pub fn user(&self, name: &str, role: &str) -> String {
        let c = self.http();
        let r = c
            .post(self.at("/v1/users"))
            .bearer_auth(&self.admin)
            .json(&serde_json::json!({"name": name, "role": role}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "creating {name}: {}", r.text().unwrap());
        self.token(name)
    }

    /// A new token for an existing account.
    pub fn token(&self, name: &str) -> String {
        let r = self
            .http()
            .post(self.at(&format!("/v1/users/{name}/tokens")))
            .bearer_auth(&self.admin)
            .json(&serde_json::json!({}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<serde_json::Value>().unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Open a case as `token`'s account.
    pub fn case(&self, token: &str, name: &str) {
        let r = self
            .http()
            .post(self.at("/v1/cases"))
            .bearer_auth(token)
            .json(&serde_json::json!({"name": name}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    }

    /// Add `user` to `case` in `role` (as the administrator).
    pub fn member(&self, case: &str, user: &str, role: &str) {
        let r = self
            .http()
            .post(self.at(&format!("/v1/cases/{case}/members")))
            .bearer_auth(&self.admin)
            .json(&serde_json::json!({"user": user, "role": role}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    }

    /// Upload `bytes` into `case`; returns the acknowledgement.
    pub fn upload(&self, token: &str, case: &str, bytes: Vec<u8>) -> serde_json::Value {
        let r = self
            .http()
            .post(self.at(&format!("/v1/cases/{case}/items?file_name=evidence.bin")))
            .bearer_auth(token)
            .body(bytes)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap());
        r.json().unwrap()
    }

    /// Send SIGTERM and wait; returns the server's stderr.
    pub fn stop(&mut self) -> String {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
        self.stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Run the `custos` CLI on this vault folder.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_custos"))
            .env_remove("CUSTOS_DIR")
            .arg("--dir")
            .arg(&self.dir)
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Assert a problem+json answer with `status` and `code`; returns the problem.
pub fn assert_problem(
    r: reqwest::blocking::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    let got = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.text().unwrap();
    assert_eq!(got, status, "expected {status} {code}, got {got}: {body}");
    assert_eq!(ct, "application/problem+json", "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], code, "{body}");
    assert_eq!(v["status"], status);
    v
}
