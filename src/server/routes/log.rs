//! The custody log over HTTP. Public (no token): health, metrics, the latest checkpoint, the
//! verifier key and consistency proofs, which reveal nothing about any case. With a token: an
//! inclusion proof for an event the caller may see, and (auditors) the whole log's events.

use super::Json;
use super::items::{EventView, event_views};
use crate::access::{self, Permission};
use crate::accounts::Role;
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::problem::{ApiError, ApiQuery, Problem};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use custos_core::Sha256Hash;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

fn text_plain(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Liveness and readiness: the database answers and the log has a checkpoint.
#[utoipa::path(get, path = "/healthz", tag = "log",
    responses((status = 200, description = "healthy", content_type = "text/plain", body = String),
        (status = 503, body = Problem)))]
pub async fn healthz(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    st.db.run(crate::custody::latest_checkpoint).await?;
    Ok(text_plain("ok\n".into()))
}

/// Prometheus metrics (no case, item or account appears in them).
#[utoipa::path(get, path = "/metrics", tag = "log",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String)))]
pub async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    let mut r = text_plain(st.metrics.render());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// The latest signed checkpoint (C2SP tlog-checkpoint in a C2SP signed note).
#[utoipa::path(get, path = "/v1/log/checkpoint", tag = "log",
    responses((status = 200, content_type = "text/plain", body = String), (status = 503, body = Problem)))]
pub async fn checkpoint(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let cp = st
        .db
        .run(crate::custody::latest_checkpoint)
        .await?
        .ok_or_else(|| ApiError::unavailable("the log has no checkpoint yet"))?;
    Ok(text_plain(cp))
}

/// The log's verifier key in the C2SP format `name+keyid+base64`.
#[utoipa::path(get, path = "/v1/log/key", tag = "log",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn key(State(st): State<Arc<AppState>>) -> Response {
    text_plain(format!("{}\n", st.vault.keys.log.verifier()))
}

/// Sizes of a consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The older tree size (a checkpoint the client holds).
    pub old: u64,
    /// The newer tree size (default: the latest checkpoint's).
    pub new: Option<u64>,
}

/// A Merkle proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofView {
    /// What it proves.
    pub kind: String,
    /// Leaf index (inclusion proofs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Older size (consistency proofs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_size: Option<u64>,
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// Leaf hash (base64), inclusion proofs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_hash: Option<String>,
    /// Proof hashes (base64), RFC 9162 §2.1.3 / §2.1.4.
    pub proof: Vec<String>,
    /// The latest checkpoint (signed note), when `tree_size` is its size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

fn latest_size(c: &rusqlite::Connection) -> Result<u64, crate::db::DbError> {
    c.query_row("SELECT COALESCE(MAX(size), 0) FROM checkpoints", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n.max(0) as u64)
    .map_err(|source| crate::db::DbError::Sql {
        doing: "reading the latest checkpoint size",
        source,
    })
}

/// A consistency proof between two tree sizes (RFC 9162 §2.1.4), public.
#[utoipa::path(get, path = "/v1/log/consistency", tag = "log", params(ConsistencyParams),
    responses((status = 200, body = ProofView), (status = 400, body = Problem)))]
pub async fn consistency(
    State(st): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<ConsistencyParams>,
) -> Result<Json<ProofView>, ApiError> {
    let out = st
        .db
        .run(
            move |c| -> Result<Result<ProofView, ApiError>, crate::db::DbError> {
                let latest = latest_size(c)?;
                let new = q.new.unwrap_or(latest);
                if new > latest || q.old > new {
                    return Ok(Err(ApiError::invalid(format!(
                        "need old <= new <= {latest} (the latest checkpoint's size)"
                    ))));
                }
                let nodes = crate::custody::SqlNodes(c);
                let proof = match custos_core::merkle::consistency_proof(&nodes, q.old, new) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(ApiError::unavailable(format!("{e:?}")))),
                };
                let checkpoint = if new == latest {
                    crate::custody::latest_checkpoint(c)?
                } else {
                    None
                };
                Ok(Ok(ProofView {
                    kind: "consistency".into(),
                    index: None,
                    old_size: Some(q.old),
                    tree_size: new,
                    leaf_hash: None,
                    proof: proof.iter().map(Sha256Hash::to_base64).collect(),
                    checkpoint,
                }))
            },
        )
        .await??;
    Ok(Json(out))
}

/// Tree size of an inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    /// Tree size (default: the latest checkpoint's).
    pub tree_size: Option<u64>,
}

/// An inclusion proof of event `index` (RFC 9162 §2.1.3), for an event the caller may see:
/// one of a case where they hold a role that sees the case; events outside any case (accounts)
/// only for auditors.
#[utoipa::path(get, path = "/v1/log/events/{index}/inclusion", tag = "log",
    params(("index" = u64, Path, description = "Event index"), InclusionParams),
    responses((status = 200, body = ProofView), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn inclusion(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(index): Path<u64>,
    ApiQuery(q): ApiQuery<InclusionParams>,
) -> Result<Json<ProofView>, ApiError> {
    let user = caller.account.name.to_string();
    type Found = Option<(Option<String>, Option<String>, Vec<u8>)>;
    let found: Found = st
        .db
        .run(move |c| -> Result<_, ApiError> {
            Ok(c.query_row(
                "SELECT e.case_name, m.role, e.hash FROM events e
                 LEFT JOIN cases c ON c.name = e.case_name
                 LEFT JOIN case_members m ON m.case_id = c.id AND m.user_name = ?2
                 WHERE e.seq = ?1",
                rusqlite::params![i64::try_from(index).unwrap_or(-1), user],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })
        .await?;
    let visible = match &found {
        None => false,
        Some((Some(_), role, _)) => role
            .as_deref()
            .and_then(|r| Role::parse(r).ok())
            .is_some_and(|r| access::case_role_allows(r, Permission::ViewCase)),
        Some((None, _, _)) => access::may_read_whole_log(caller.role()),
    };
    let Some((case, _, hash)) = found.filter(|_| visible) else {
        let e = ApiError::not_found(format!("event {index}"));
        return Err(st.deny(caller.actor(), None, None, &caller.route, e).await);
    };
    let _ = case;
    let out = st
        .db
        .run(
            move |c| -> Result<Result<ProofView, ApiError>, crate::db::DbError> {
                let latest = latest_size(c)?;
                let size = q.tree_size.unwrap_or(latest);
                if size > latest || index >= size {
                    return Ok(Err(ApiError::invalid(format!(
                        "need index < tree_size <= {latest} (the latest checkpoint's size)"
                    ))));
                }
                let nodes = crate::custody::SqlNodes(c);
                let proof = match custos_core::merkle::inclusion_proof(&nodes, index, size) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(ApiError::unavailable(format!("{e:?}")))),
                };
                let checkpoint = if size == latest {
                    crate::custody::latest_checkpoint(c)?
                } else {
                    None
                };
                use base64::Engine;
                Ok(Ok(ProofView {
                    kind: "inclusion".into(),
                    index: Some(index),
                    old_size: None,
                    tree_size: size,
                    leaf_hash: Some(base64::engine::general_purpose::STANDARD.encode(&hash)),
                    proof: proof.iter().map(Sha256Hash::to_base64).collect(),
                    checkpoint,
                }))
            },
        )
        .await??;
    Ok(Json(out))
}

/// A page of the log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// First index (default 0).
    pub from: Option<u64>,
    /// At most this many events (default and maximum 1000).
    pub limit: Option<u32>,
}

/// Every event of the log, in order, a page at a time (auditors: metadata, never content).
#[utoipa::path(get, path = "/v1/log/events", tag = "log", params(EventsParams),
    responses((status = 200, body = Vec<EventView>), (status = 403, body = Problem)),
    security(("token" = [])))]
pub async fn events(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EventsParams>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    st.require(
        &caller,
        access::may_read_whole_log(caller.role()),
        "reading the whole log",
    )
    .await?;
    let from = q.from.unwrap_or(0);
    let limit = u64::from(q.limit.unwrap_or(1000).clamp(1, 1000));
    let events = st
        .db
        .run(move |c| crate::custody::read_events_range(c, from, from.saturating_add(limit)))
        .await?;
    Ok(Json(event_views(events)))
}
