//! The vault service (`custos serve`): axum over the same vault the CLI uses.
//!
//! Handlers are thin: they authenticate ([`auth::Caller`]), check access ([`auth`]), call the
//! workflows ([`crate::ingest`], [`crate::custody`], [`crate::accounts`]) and answer JSON or RFC
//! 9457 problems ([`problem`]). Routes and the OpenAPI document come from one list
//! ([`routes::api`]), so the served `/openapi.json` cannot drift from the router.

pub mod auth;
pub mod body;
pub mod content;
pub mod metrics;
pub mod pool;
pub mod problem;
pub mod routes;

use crate::accounts::AuthPolicy;
use crate::vault::Vault;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

/// Shared by every handler.
pub struct AppState {
    /// The open vault (keys, store, sequencer).
    pub vault: Vault,
    /// Connections for handlers.
    pub db: pool::DbPool,
    /// Token and lockout policy.
    pub policy: AuthPolicy,
    /// Largest upload accepted, bytes.
    pub max_upload_bytes: u64,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// In-flight uploads, awaited at shutdown so each finishes or is cleanly aborted.
    pub uploads: tokio_util::task::TaskTracker,
}

impl AppState {
    /// State over an open vault.
    pub fn new(vault: Vault) -> Arc<Self> {
        let s = &vault.config.server;
        Arc::new(AppState {
            db: pool::DbPool::new(vault.dir.join(crate::db::DB_FILE)),
            policy: AuthPolicy::from_config(s),
            max_upload_bytes: s.max_upload_bytes,
            metrics: metrics::Metrics::default(),
            uploads: tokio_util::task::TaskTracker::new(),
            vault,
        })
    }
}

/// The router with every route, the OpenAPI document at `/openapi.json`, and the layers.
pub fn app(state: Arc<AppState>) -> Router {
    let (router, openapi) = routes::api().split_for_parts();
    let openapi = Arc::new(openapi);
    let max_json = state.vault.config.server.max_json_bytes;
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { problem::ApiError::new("not-found", "no such route") })
        .layer(axum::extract::DefaultBodyLimit::max(max_json))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .layer(axum::middleware::from_fn(problem::problem_fallback))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<_>| {
                    // The route template only: paths and queries may carry case names.
                    let route = auth::route_of(
                        req.method(),
                        req.extensions().get::<axum::extract::MatchedPath>(),
                    );
                    tracing::info_span!("request", %route)
                },
            ),
        )
        .with_state(state)
}

/// Serve `app` on `listener` until `shutdown` resolves, then give in-flight requests `grace`
/// to finish, abort the rest, and wait for every upload to finish or clean up.
pub async fn run(
    listener: std::net::TcpListener,
    state: Arc<AppState>,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        h.graceful_shutdown(Some(grace));
    });
    listener.set_nonblocking(true)?;
    let svc = app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    match tls {
        Some(cfg) => {
            axum_server::from_tcp_rustls(listener, cfg)?
                .handle(handle)
                .serve(svc)
                .await?
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(svc)
                .await?
        }
    }
    state.uploads.close();
    state.uploads.wait().await;
    tracing::info!("stopped");
    Ok(())
}
