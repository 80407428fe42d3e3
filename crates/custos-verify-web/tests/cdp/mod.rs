//! A minimal Chrome DevTools Protocol client for headless Chromium, over
//! `--remote-debugging-pipe`: the browser reads commands on its file descriptor 3 and writes
//! replies and events on 4, each message one JSON text ended by a NUL byte. A shell maps the
//! child's standard input and output to those descriptors, so no WebSocket and no unsafe code
//! are needed. Only what the page tests use: open a page, evaluate JavaScript, set the files of
//! a file input, and dispatch drag-and-drop of files.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How long one protocol command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The flags every run uses: headless, no sandbox (CI runs as root), and nothing that would
/// reach the network or write outside the fresh profile.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
];

/// The Chromium executable: `$CHROMIUM`, or the first of the usual names on `PATH`.
pub fn find_chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(
        "headless Chromium is needed for the page tests and was not found on PATH \
         (nor in $CHROMIUM). Install it with `apt-get install -y chromium`, or run \
         .ci/verify-web.sh, which installs everything these tests need."
            .to_owned(),
    )
}

/// A running headless Chromium with one page attached.
pub struct Browser {
    child: Child,
    input: ChildStdin,
    replies: Receiver<Value>,
    next_id: u64,
    session: String,
    /// The fresh profile folder, removed when the browser is dropped.
    _profile: tempfile::TempDir,
    stderr_path: PathBuf,
}

impl Browser {
    /// Start Chromium with a fresh profile and attach to a blank page.
    pub fn launch() -> Result<Browser, String> {
        let chromium = find_chromium()?;
        let profile = tempfile::tempdir().map_err(|e| format!("profile folder: {e}"))?;
        let stderr_path = profile.path().join("chromium-stderr.log");
        let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
        let mut child = Command::new("sh")
            // fd 3 = our pipe in, fd 4 = our pipe out; Chromium's own stdin/stdout are unused.
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(&chromium)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", chromium.display()))?;
        let input = child.stdin.take().ok_or("no stdin pipe")?;
        let output = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, replies) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(output);
            loop {
                let mut buf = Vec::new();
                match reader.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                            && tx.send(v).is_err()
                        {
                            break;
                        }
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            input,
            replies,
            next_id: 1,
            session: String::new(),
            _profile: profile,
            stderr_path,
        };
        let target = browser.page_target()?;
        let attached = browser.call(
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
            false,
        )?;
        browser.session = attached["sessionId"]
            .as_str()
            .ok_or("attachToTarget gave no sessionId")?
            .to_owned();
        browser.page("Page.enable", json!({}))?;
        browser.page("Runtime.enable", json!({}))?;
        Ok(browser)
    }

    fn page_target(&mut self) -> Result<String, String> {
        let targets = self.call("Target.getTargets", json!({}), false)?;
        let existing = targets["targetInfos"].as_array().and_then(|list| {
            list.iter()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["targetId"].as_str())
                .map(str::to_owned)
        });
        if let Some(id) = existing {
            return Ok(id);
        }
        let created = self.call(
            "Target.createTarget",
            json!({ "url": "about:blank" }),
            false,
        )?;
        created["targetId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "createTarget gave no targetId".to_owned())
    }

    /// Send a command (to the page's session when `to_page`) and wait for its reply.
    fn call(&mut self, method: &str, params: Value, to_page: bool) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if to_page {
            msg["sessionId"] = Value::String(self.session.clone());
        }
        let mut bytes = serde_json::to_vec(&msg).map_err(|e| e.to_string())?;
        bytes.push(0);
        self.input
            .write_all(&bytes)
            .and_then(|()| self.input.flush())
            .map_err(|e| format!("{method}: browser pipe closed: {e}; {}", self.stderr_tail()))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(reply) if reply["id"] == id => {
                    if let Some(err) = reply.get("error") {
                        return Err(format!("{method}: {err}"));
                    }
                    return Ok(reply["result"].clone());
                }
                Ok(_event) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{method}: no reply in {COMMAND_TIMEOUT:?}"));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "{method}: the browser went away; {}",
                        self.stderr_tail()
                    ));
                }
            }
        }
    }

    /// A command to the attached page.
    pub fn page(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.call(method, params, true)
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("Chromium's last messages:\n{}", tail.join("\n"))
    }

    /// Load `file` and wait until `ready` (a JavaScript expression) is true.
    pub fn open(&mut self, file: &Path, ready: &str) -> Result<(), String> {
        let file = file
            .canonicalize()
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let url = format!("file://{}", file.display());
        // Mark the current document, so that waiting cannot see it instead of the new one.
        self.eval("window.__cdpOldDocument = true")?;
        self.page("Page.navigate", json!({ "url": url }))?;
        let ready = format!("!window.__cdpOldDocument && document.body !== null && ({ready})");
        self.wait_for(&ready, Duration::from_secs(30))
    }

    /// Evaluate `expr` in the page (awaiting a promise) and return its value.
    pub fn eval(&mut self, expr: &str) -> Result<Value, String> {
        let r = self.page(
            "Runtime.evaluate",
            json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(format!("{expr}: {ex}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Poll until `expr` is true.
    pub fn wait_for(&mut self, expr: &str, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if self.eval(expr)? == Value::Bool(true) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let state = self.eval("document.body ? document.body.dataset.state : 'no body'")?;
                let status = self.eval(
                    "document.getElementById('status') ? document.getElementById('status').textContent : ''",
                )?;
                return Err(format!(
                    "timed out waiting for {expr} (page state {state}, status {status})"
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Choose `files` in the file input matched by `selector`, as the file picker would.
    pub fn set_files(&mut self, selector: &str, files: &[PathBuf]) -> Result<(), String> {
        let doc = self.page("DOM.getDocument", json!({ "depth": 0 }))?;
        let root = doc["root"]["nodeId"].clone();
        let node = self.page(
            "DOM.querySelector",
            json!({ "nodeId": root, "selector": selector }),
        )?;
        let files = absolute(files)?;
        self.page(
            "DOM.setFileInputFiles",
            json!({ "nodeId": node["nodeId"], "files": files }),
        )?;
        Ok(())
    }

    /// Drag `files` onto the centre of the element `selector` and drop them there, as a user
    /// dragging them from a file manager would.
    pub fn drop_files(&mut self, selector: &str, files: &[PathBuf]) -> Result<(), String> {
        let rect = self.eval(&format!(
            "(() => {{ const el = document.querySelector({sel}); el.scrollIntoView(); \
             const r = el.getBoundingClientRect(); \
             return [r.left + r.width / 2, r.top + r.height / 2]; }})()",
            sel = serde_json::to_string(selector).map_err(|e| e.to_string())?
        ))?;
        let (x, y) = (rect[0].clone(), rect[1].clone());
        let files = absolute(files)?;
        let data = json!({ "items": [], "files": files, "dragOperationsMask": 1 });
        for kind in ["dragEnter", "dragOver", "drop"] {
            self.page(
                "Input.dispatchDragEvent",
                json!({ "type": kind, "x": x, "y": y, "data": data }),
            )?;
        }
        Ok(())
    }
}

/// Canonical absolute paths: the browser cannot read a file by a path with `..` in it.
fn absolute(files: &[PathBuf]) -> Result<Vec<String>, String> {
    files
        .iter()
        .map(|p| {
            p.canonicalize()
                .map(|p| p.display().to_string())
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect()
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("Browser.close", json!({}), false);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
