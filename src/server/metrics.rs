//! Prometheus counters for `/metrics`. They count requests, bytes and events by kind only:
//! nothing in them names a case, an item or an account.

use super::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The counters.
#[derive(Default)]
pub struct Metrics {
    by_class: [AtomicU64; 6],
    denied: AtomicU64,
    uploaded_bytes: AtomicU64,
    downloaded_bytes: AtomicU64,
    uploads: AtomicU64,
    downloads: AtomicU64,
    in_flight: AtomicU64,
}

impl Metrics {
    /// One refused request.
    pub fn denied(&self) {
        self.denied.fetch_add(1, Relaxed);
    }
    /// One finished upload of `n` bytes.
    pub fn uploaded(&self, n: u64) {
        self.uploads.fetch_add(1, Relaxed);
        self.uploaded_bytes.fetch_add(n, Relaxed);
    }
    /// One download of `n` bytes started.
    pub fn downloaded(&self, n: u64) {
        self.downloads.fetch_add(1, Relaxed);
        self.downloaded_bytes.fetch_add(n, Relaxed);
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP custos_http_responses_total HTTP responses by status class.\n# TYPE custos_http_responses_total counter"
        );
        for (i, c) in self.by_class.iter().enumerate().skip(1) {
            let _ = writeln!(
                s,
                "custos_http_responses_total{{class=\"{i}xx\"}} {}",
                c.load(Relaxed)
            );
        }
        let simple = [
            (
                "custos_http_requests_in_flight",
                "gauge",
                "Requests being served.",
                &self.in_flight,
            ),
            (
                "custos_access_denied_total",
                "counter",
                "Refused requests (each also an access-denied event).",
                &self.denied,
            ),
            (
                "custos_uploads_total",
                "counter",
                "Evidence uploads acknowledged.",
                &self.uploads,
            ),
            (
                "custos_uploaded_bytes_total",
                "counter",
                "Plaintext bytes of acknowledged uploads.",
                &self.uploaded_bytes,
            ),
            (
                "custos_downloads_total",
                "counter",
                "Evidence reads started (each after its durable access event).",
                &self.downloads,
            ),
            (
                "custos_downloaded_bytes_total",
                "counter",
                "Plaintext bytes of evidence reads started.",
                &self.downloaded_bytes,
            ),
        ];
        for (name, kind, help, v) in simple {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                v.load(Relaxed)
            );
        }
        s
    }
}

/// Middleware counting every response by status class.
pub async fn count_requests(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    st.metrics.in_flight.fetch_add(1, Relaxed);
    let resp = next.run(req).await;
    st.metrics.in_flight.fetch_sub(1, Relaxed);
    let class = usize::from(resp.status().as_u16() / 100).min(5);
    st.metrics.by_class[class].fetch_add(1, Relaxed);
    resp
}
