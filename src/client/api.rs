//! The HTTP session with a Custos server: the base URL, the bearer token, the pinned log key,
//! and the translation of every failure into one readable line.
//!
//! Server errors arrive as RFC 9457 problems with a stable `code`; they are shown as
//! `<detail> (<code>, HTTP <status>)`. Transport failures name the server and what was being
//! done. Text from the server is stripped of control characters before it reaches a terminal.

use super::config::{ClientConfig, ConfigError, config_path};
use custos_core::note::NoteVerifier;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;
use url::Url;
use zeroize::Zeroizing;

/// Environment variable holding the API token (wins over the client config).
pub const TOKEN_ENV: &str = "CUSTOS_TOKEN";
/// Environment variable naming a PEM file of extra CA certificates to trust.
pub const CA_ENV: &str = "CUSTOS_CA_FILE";
/// Environment variable that allows plain `http://` to a host other than loopback.
pub const ALLOW_HTTP_ENV: &str = "CUSTOS_ALLOW_HTTP";

/// A remote command failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The server answered with an RFC 9457 problem.
    #[error("{detail} ({code}, HTTP {status})")]
    Problem {
        /// HTTP status.
        status: u16,
        /// The problem's stable code.
        code: String,
        /// The server's explanation.
        detail: String,
    },
    /// The server answered an error status without a problem body (e.g. a proxy in between).
    #[error("{what}: the server answered HTTP {status}: {body}")]
    Status {
        /// The request.
        what: String,
        /// HTTP status.
        status: u16,
        /// The start of the body, cleaned.
        body: String,
    },
    /// No connection could be made.
    #[error("cannot reach the server {server}: {reason}")]
    Unreachable {
        /// Base URL.
        server: String,
        /// Why.
        reason: String,
    },
    /// The connection failed after it was made.
    #[error("the connection to {server} failed during {what}: {reason}")]
    Connection {
        /// Base URL.
        server: String,
        /// The request.
        what: String,
        /// Why.
        reason: String,
    },
    /// The answer does not have the shape this client expects.
    #[error("{what}: unexpected answer from the server: {reason}")]
    BadAnswer {
        /// The request.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server URL cannot be used.
    #[error("'{url}' is not a usable server URL: {reason}")]
    BadUrl {
        /// As given.
        url: String,
        /// Why.
        reason: String,
    },
    /// Plain HTTP to a host that is not loopback.
    #[error(
        "refusing to send a token over plain http:// to {host}: use https:// (plain http is allowed to loopback addresses only, or with {ALLOW_HTTP_ENV}=1)"
    )]
    PlainHttp {
        /// The host.
        host: String,
    },
    /// A remote-only command ran without a server.
    #[error("{command} needs --server URL (or CUSTOS_SERVER)")]
    NeedsServer {
        /// The command.
        command: &'static str,
    },
    /// A local-only command ran with a server.
    #[error(
        "{command} works on a vault folder (--dir), not over HTTP: drop --server (and unset CUSTOS_SERVER)"
    )]
    LocalOnly {
        /// The command.
        command: &'static str,
    },
    /// `--as` in remote mode.
    #[error(
        "--as is for local mode: over HTTP the server records the account the token belongs to"
    )]
    AsOverHttp,
    /// No token for the server.
    #[error("no token for {server}: set {TOKEN_ENV}, or run custos login --server {server}")]
    NoToken {
        /// Base URL.
        server: String,
    },
    /// A token that cannot be a Custos token.
    #[error("the token from {from} is not a Custos API token (cst_<id>_<secret>)")]
    BadToken {
        /// Where it came from.
        from: String,
    },
    /// The pinned log key cannot be parsed.
    #[error("the log key pinned in {config} is damaged: {reason}")]
    BadPinnedKey {
        /// Config path.
        config: String,
        /// Why.
        reason: String,
    },
    /// The client config.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The CA file.
    #[error("cannot use the CA certificates in {path} ({CA_ENV}): {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up HTTP: {reason}")]
    Setup {
        /// Why.
        reason: String,
    },
}

/// Untrusted text made safe for a terminal: no control characters, at most `max` characters.
pub fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// The root cause of a transport error (e.g. "Connection refused (os error 111)"), without
/// the layers of "error sending request for url (...)" wrappers above it.
pub fn transport_reason(e: &reqwest::Error) -> String {
    let mut root: &(dyn std::error::Error + 'static) = e;
    while let Some(c) = root.source() {
        root = c;
    }
    let mut s = root.to_string();
    if e.is_timeout() && !s.contains("timed out") {
        s.push_str(" (timed out)");
    }
    clean(&s, 400)
}

/// Parse and normalise a server URL: http or https, a host, no query or fragment, no
/// credentials; the path (a reverse-proxy prefix) is kept without its trailing `/`.
pub fn parse_server(s: &str) -> Result<Url, RemoteError> {
    let bad = |reason: &str| RemoteError::BadUrl {
        url: clean(s, 200),
        reason: reason.into(),
    };
    let mut url = Url::parse(s.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use http:// or https://"));
    }
    let Some(host) = url.host_str().map(str::to_owned) else {
        return Err(bad("no host"));
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "no query or fragment, just scheme://host[:port][/prefix]",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "no credentials in the URL: the token comes from CUSTOS_TOKEN or custos login",
        ));
    }
    if url.scheme() == "http" && !is_loopback(&host) && !allow_http() {
        return Err(RemoteError::PlainHttp { host });
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

fn allow_http() -> bool {
    std::env::var(ALLOW_HTTP_ENV).is_ok_and(|v| v == "1")
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The normalised text of a server URL (what the client config stores and compares).
pub fn server_text(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// Check that a token looks like `cst_<id>_<secret>` (printable ASCII, no spaces), so it can
/// go into a header and a typo is caught before a round trip.
pub fn check_token(t: &str, from: &str) -> Result<(), RemoteError> {
    let ok = t.starts_with("cst_")
        && t.len() <= 512
        && t.bytes().all(|b| b.is_ascii_graphic())
        && t.matches('_').count() >= 2;
    if ok {
        Ok(())
    } else {
        Err(RemoteError::BadToken { from: from.into() })
    }
}

/// Where the log key used for verification came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Pinned in the client config at login: independent of this answer.
    Pinned,
    /// Fetched from the server just now: proves consistency, not authenticity.
    Server,
}

impl KeySource {
    /// `pinned` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Pinned => "pinned",
            KeySource::Server => "server",
        }
    }
}

/// An HTTP session with one server.
pub struct Session {
    base: Url,
    http: reqwest::Client,
    token: Option<Zeroizing<String>>,
    pinned: Option<NoteVerifier>,
}

/// A built HTTP client: no redirects (a token never follows one), connect timeout, keepalive,
/// extra CA certificates from `$CUSTOS_CA_FILE`.
fn http_client() -> Result<reqwest::Client, RemoteError> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(30))
        .tcp_keepalive(Duration::from_secs(30))
        .user_agent(concat!("custos/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = std::env::var_os(CA_ENV).filter(|p| !p.is_empty()) {
        let shown = path.to_string_lossy().into_owned();
        let pem = std::fs::read(&path).map_err(|e| RemoteError::CaFile {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| RemoteError::CaFile {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(RemoteError::CaFile {
                path: shown,
                reason: "no PEM certificate in it".into(),
            });
        }
        b = b.tls_certs_merge(certs);
    }
    b.build().map_err(|e| RemoteError::Setup {
        reason: transport_reason(&e),
    })
}

impl Session {
    /// A session with `base`, authenticating with `token` when given, verifying against
    /// `pinned` when given.
    pub fn new(
        base: Url,
        token: Option<Zeroizing<String>>,
        pinned: Option<NoteVerifier>,
    ) -> Result<Self, RemoteError> {
        Ok(Session {
            base,
            http: http_client()?,
            token,
            pinned,
        })
    }

    /// The session for a command: the server from `--server`/`CUSTOS_SERVER`, else (when
    /// `fallback`) the one `custos login` stored; the token from `CUSTOS_TOKEN`, else the
    /// client config when it is for the same server. `Ok(None)`: no server at all.
    pub fn for_command(server: Option<&str>, fallback: bool) -> Result<Option<Self>, RemoteError> {
        let path = config_path()?;
        let cfg = ClientConfig::load(&path)?;
        let base = match (server, cfg.as_ref().and_then(|c| c.server.as_deref())) {
            (Some(s), _) => parse_server(s)?,
            (None, Some(s)) if fallback => parse_server(s)?,
            _ => return Ok(None),
        };
        let same = cfg
            .as_ref()
            .and_then(|c| c.server.as_deref())
            .and_then(|s| parse_server(s).ok())
            .is_some_and(|u| server_text(&u) == server_text(&base));
        let token = match std::env::var(TOKEN_ENV) {
            Ok(t) if !t.trim().is_empty() => {
                let t = Zeroizing::new(t.trim().to_string());
                check_token(&t, TOKEN_ENV)?;
                Some(t)
            }
            _ => match cfg.as_ref().and_then(|c| c.token.clone()) {
                Some(t) if same => {
                    let t = Zeroizing::new(t);
                    check_token(&t, &path.display().to_string())?;
                    Some(t)
                }
                _ => None,
            },
        };
        let pinned = match cfg.as_ref().and_then(|c| c.log_key.as_deref()) {
            Some(k) if same => {
                Some(
                    NoteVerifier::parse(k.trim()).map_err(|e| RemoteError::BadPinnedKey {
                        config: path.display().to_string(),
                        reason: e.to_string(),
                    })?,
                )
            }
            _ => None,
        };
        Self::new(base, token, pinned).map(Some)
    }

    /// The normalised base URL.
    pub fn server(&self) -> String {
        server_text(&self.base)
    }

    /// The pinned log key, if any.
    pub fn pinned_key(&self) -> Option<&NoteVerifier> {
        self.pinned.as_ref()
    }

    /// Fail unless a token is present (routes that need one).
    pub fn require_token(&self) -> Result<(), RemoteError> {
        if self.token.is_some() {
            Ok(())
        } else {
            Err(RemoteError::NoToken {
                server: self.server(),
            })
        }
    }

    /// `base + /seg/seg/...`, each segment percent-encoded (case names may hold spaces).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut u = self.base.clone();
        if let Ok(mut p) = u.path_segments_mut() {
            p.pop_if_empty();
            p.extend(segments);
        }
        u
    }

    /// A request with the token attached.
    pub fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let r = self.http.request(method, url);
        match &self.token {
            Some(t) => r.bearer_auth(t.as_str()),
            None => r,
        }
    }

    /// Send a request; transport failures become [`RemoteError`]s naming `what`, error
    /// statuses become problems.
    pub async fn send(&self, req: RequestBuilder, what: &str) -> Result<Response, RemoteError> {
        let resp = req.send().await.map_err(|e| self.transport(e, what))?;
        check(resp, what).await
    }

    /// A transport error as a [`RemoteError`].
    pub fn transport(&self, e: reqwest::Error, what: &str) -> RemoteError {
        if e.is_connect() {
            RemoteError::Unreachable {
                server: self.server(),
                reason: transport_reason(&e),
            }
        } else {
            RemoteError::Connection {
                server: self.server(),
                what: what.into(),
                reason: transport_reason(&e),
            }
        }
    }

    /// Read a JSON answer.
    pub async fn json<T: DeserializeOwned>(
        &self,
        resp: Response,
        what: &str,
    ) -> Result<T, RemoteError> {
        let bytes = resp.bytes().await.map_err(|e| self.transport(e, what))?;
        serde_json::from_slice(&bytes).map_err(|e| RemoteError::BadAnswer {
            what: what.into(),
            reason: e.to_string(),
        })
    }

    /// GET a JSON document.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, RemoteError> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (k, v.as_str())));
        }
        let what = format!("GET {}", url.path());
        let resp = self.send(self.request(Method::GET, url), &what).await?;
        self.json(resp, &what).await
    }

    /// Send a JSON body (or none) with `method` and read a JSON answer.
    pub async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&serde_json::Value>,
    ) -> Result<T, RemoteError> {
        let url = self.url(segments);
        let what = format!("{method} {}", url.path());
        let mut req = self.request(method, url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = self.send(req, &what).await?;
        self.json(resp, &what).await
    }

    /// GET a text document (checkpoint, key).
    pub async fn get_text(&self, segments: &[&str]) -> Result<String, RemoteError> {
        let url = self.url(segments);
        let what = format!("GET {}", url.path());
        let resp = self.send(self.request(Method::GET, url), &what).await?;
        resp.text().await.map_err(|e| self.transport(e, &what))
    }

    /// The log key to verify with: the pinned one, else the server's (and which it was).
    /// When both exist and differ, the pinned one wins and the caller's verification will
    /// fail against a checkpoint signed by the other.
    pub async fn log_key(&self) -> Result<(NoteVerifier, KeySource), RemoteError> {
        if let Some(k) = &self.pinned {
            return Ok((k.clone(), KeySource::Pinned));
        }
        Ok((self.server_log_key().await?, KeySource::Server))
    }

    /// The key the server publishes at `/v1/log/key`.
    pub async fn server_log_key(&self) -> Result<NoteVerifier, RemoteError> {
        let text = self.get_text(&["v1", "log", "key"]).await?;
        NoteVerifier::parse(text.trim()).map_err(|e| RemoteError::BadAnswer {
            what: "GET /v1/log/key".into(),
            reason: e.to_string(),
        })
    }
}

/// Pass a success through; turn an error status into a [`RemoteError`].
pub async fn check(resp: Response, what: &str) -> Result<Response, RemoteError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let is_problem = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    // Bounded: an error body is small; a hostile one is cut off.
    let body = read_bounded(resp, 64 * 1024).await;
    if is_problem && let Some(p) = parse_problem(&body, status) {
        return Err(p);
    }
    Err(RemoteError::Status {
        what: what.into(),
        status: status.as_u16(),
        body: clean(String::from_utf8_lossy(&body).trim(), 200),
    })
}

async fn read_bounded(mut resp: Response, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = max.saturating_sub(out.len());
        out.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        if out.len() >= max {
            break;
        }
    }
    out
}

/// An RFC 9457 body with `code` and `detail`, as a [`RemoteError::Problem`].
pub fn parse_problem(body: &[u8], status: StatusCode) -> Option<RemoteError> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = v.get("code")?.as_str()?;
    let detail = v
        .get("detail")
        .and_then(|d| d.as_str())
        .or_else(|| v.get("title").and_then(|t| t.as_str()))
        .unwrap_or("the server refused the request");
    Some(RemoteError::Problem {
        status: status.as_u16(),
        code: clean(code, 64),
        detail: clean(detail, 1000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised_and_checked() {
        let u = parse_server("http://127.0.0.1:8080/").unwrap();
        assert_eq!(server_text(&u), "http://127.0.0.1:8080");
        let u = parse_server("https://vault.example/custos/").unwrap();
        assert_eq!(server_text(&u), "https://vault.example/custos");
        assert!(parse_server("http://[::1]:9/").is_ok());
        assert!(parse_server("http://localhost:9").is_ok());
        assert!(matches!(
            parse_server("http://vault.example"),
            Err(RemoteError::PlainHttp { host }) if host == "vault.example"
        ));
        for bad in [
            "ftp://x",
            "vault.example",
            "https://u:p@vault.example",
            "https://vault.example/?a=1",
            "https://vault.example/#x",
        ] {
            assert!(
                matches!(parse_server(bad), Err(RemoteError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn url_segments_are_encoded_under_the_prefix() {
        let s = Session::new(
            parse_server("https://vault.example/custos").unwrap(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            s.url(&["v1", "cases", "CE 1/2?x"]).as_str(),
            "https://vault.example/custos/v1/cases/CE%201%2F2%3Fx"
        );
        let s = Session::new(parse_server("http://127.0.0.1:1").unwrap(), None, None).unwrap();
        assert_eq!(
            s.url(&["v1", "whoami"]).as_str(),
            "http://127.0.0.1:1/v1/whoami"
        );
    }

    #[test]
    fn tokens_are_checked_before_use() {
        assert!(check_token("cst_abc_def", "x").is_ok());
        for bad in [
            "",
            "abc",
            "cst_abc",
            "cst_a b_c",
            "cst_a\n_b",
            "Bearer cst_a_b",
        ] {
            assert!(
                matches!(check_token(bad, "x"), Err(RemoteError::BadToken { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn problems_print_as_one_clean_line() {
        let body = br#"{"type":"urn:custos:problem:forbidden","title":"Not allowed","status":403,"detail":"no\u001b[31m way\nhere","code":"forbidden"}"#;
        let e = parse_problem(body, StatusCode::FORBIDDEN).unwrap();
        assert_eq!(e.to_string(), "no [31m way here (forbidden, HTTP 403)");
        assert!(parse_problem(b"not json", StatusCode::FORBIDDEN).is_none());
        assert!(parse_problem(br#"{"detail":"x"}"#, StatusCode::FORBIDDEN).is_none());
    }
}
