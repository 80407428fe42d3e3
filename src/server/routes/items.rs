//! Evidence items: upload, metadata, content, custody chain.

use super::{Json, bad_text, opt_text};
use crate::access::Permission;
use crate::ids::{CaseName, ItemId};
use crate::ingest::{self, Expected, IngestError, IngestRequest};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::content::{self, Delivery};
use crate::server::problem::{ApiError, ApiQuery, Problem};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use custos_core::Sha256Hash;
use custos_core::event::{Action, ItemRef};
use custos_core::jcs::Value;
use custos_seal::ObjectId;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// An item's metadata (never its content).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemView {
    /// Item id.
    pub id: ItemId,
    /// Case name.
    pub case: String,
    /// Plaintext SHA-256 (hex): the evidence identity.
    pub sha256: String,
    /// SHA-1 (hex), when computed at ingest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// MD5 (hex), when computed at ingest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Description given at ingest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// File name given at ingest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_name: Option<String>,
    /// Current custodian (account name).
    pub custodian: String,
    /// Ingest time (RFC 3339).
    pub created_at: String,
    /// Index of the ingest event in the custody log.
    pub ingest_event: u64,
    #[serde(skip)]
    pub(crate) sha256_hash: Sha256Hash,
    #[serde(skip)]
    pub(crate) object: ObjectId,
}

impl utoipa::PartialSchema for ItemId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^itm_[a-z2-7]{26}$"))
            .into()
    }
}
impl utoipa::ToSchema for ItemId {}

impl Serialize for ItemId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl ItemView {
    /// The event's reference to this item.
    pub fn item_ref(&self) -> ItemRef {
        ItemRef {
            id: self.id.to_string(),
            sha256: self.sha256_hash,
        }
    }
}

const ITEM_COLUMNS: &str = "i.id, c.name, i.sha256, i.sha1, i.md5, i.size, i.description, \
     i.original_name, i.custodian, i.created_at, i.ingest_seq, i.object_id";

fn item_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ItemView> {
    let bad = |i, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            format!("damaged item row: {what}").into(),
        )
    };
    let id: String = r.get(0)?;
    let sha: Vec<u8> = r.get(2)?;
    let sha: [u8; 32] = sha.try_into().map_err(|_| bad(2, "sha256"))?;
    let obj: Vec<u8> = r.get(11)?;
    let obj: [u8; 16] = obj.try_into().map_err(|_| bad(11, "object id"))?;
    Ok(ItemView {
        id: ItemId::parse(&id).map_err(|_| bad(0, "id"))?,
        case: r.get(1)?,
        sha256: hex::encode(sha),
        sha1: r.get::<_, Option<Vec<u8>>>(3)?.map(hex::encode),
        md5: r.get::<_, Option<Vec<u8>>>(4)?.map(hex::encode),
        size: r.get::<_, i64>(5)?.max(0) as u64,
        description: r.get(6)?,
        original_name: r.get(7)?,
        custodian: r.get(8)?,
        created_at: crate::db::rfc3339(r.get(9)?),
        ingest_event: r.get::<_, i64>(10)?.max(0) as u64,
        sha256_hash: Sha256Hash(sha),
        object: ObjectId(obj),
    })
}

/// Load an item with its case id and `user`'s role in that case.
pub fn load_item(
    c: &Connection,
    id: &ItemId,
    user: &str,
) -> Result<Option<(ItemView, i64, Option<crate::accounts::Role>)>, crate::db::DbError> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS}, i.case_id, m.role FROM items i JOIN cases c ON c.id = i.case_id
         LEFT JOIN case_members m ON m.case_id = i.case_id AND m.user_name = ?2 WHERE i.id = ?1"
    );
    c.query_row(&sql, rusqlite::params![id.as_str(), user], |r| {
        let view = item_from_row(r)?;
        let case_id: i64 = r.get(12)?;
        let role: Option<String> = r.get(13)?;
        Ok((
            view,
            case_id,
            role.and_then(|x| crate::accounts::Role::parse(&x).ok()),
        ))
    })
    .optional()
    .map_err(|source| crate::db::DbError::Sql {
        doing: "reading an item",
        source,
    })
}

/// List a case's items.
#[utoipa::path(get, path = "/v1/cases/{case}/items", tag = "items",
    params(("case" = String, Path, description = "Case name")),
    responses((status = 200, body = Vec<ItemView>), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn list_items(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(case): Path<String>,
) -> Result<Json<Vec<ItemView>>, ApiError> {
    let ca = st.case_access(&caller, &case, Permission::ViewCase).await?;
    let items = st
        .db
        .run(move |c| -> Result<_, ApiError> {
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM items i JOIN cases c ON c.id = i.case_id
                 WHERE i.case_id = ?1 ORDER BY i.created_at, i.id"
            );
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([ca.case_id], item_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(items))
}

/// An item's metadata.
#[utoipa::path(get, path = "/v1/items/{item}", tag = "items",
    params(("item" = String, Path, description = "Item id")),
    responses((status = 200, body = ItemView), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn get_item(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(item): Path<String>,
) -> Result<Json<ItemView>, ApiError> {
    let (_, view) = st.item_access(&caller, &item, Permission::ViewCase).await?;
    Ok(Json(view))
}

/// Query of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name (no folders).
    pub file_name: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// Expected SHA-256 (hex).
    pub expect_sha256: Option<String>,
    /// Expected SHA-1 (hex).
    pub expect_sha1: Option<String>,
    /// Expected MD5 (hex).
    pub expect_md5: Option<String>,
    /// Compute MD5 and SHA-1 too.
    pub legacy_hashes: Option<bool>,
    /// The acquisition tool.
    pub tool: Option<String>,
    /// The acquisition method.
    pub method: Option<String>,
}

/// The acknowledgement of an upload: the item and its custody receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestAck {
    /// The item (an existing one when the case already held this content).
    pub item: String,
    /// Case.
    pub case: String,
    /// SHA-256 (hex).
    pub sha256: String,
    /// SHA-1 (hex) when computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// MD5 (hex) when computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// Size.
    pub size: u64,
    /// The case already held this content.
    pub duplicate: bool,
    /// The custody receipt: event index, leaf hash, signed checkpoint, inclusion proof.
    pub receipt: ReceiptView,
}

/// A custody receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    /// Event index.
    pub index: u64,
    /// Leaf hash (base64).
    pub leaf_hash: String,
    /// Size of the checkpoint's tree.
    pub tree_size: u64,
    /// The checkpoint (C2SP signed note).
    pub checkpoint: String,
    /// Inclusion proof hashes (base64), RFC 9162 §2.1.3.
    pub inclusion_proof: Vec<String>,
}

impl From<&crate::custody::Receipt> for ReceiptView {
    fn from(r: &crate::custody::Receipt) -> Self {
        ReceiptView {
            index: r.index,
            leaf_hash: r.leaf_hash.to_base64(),
            tree_size: r.tree_size,
            checkpoint: r.checkpoint.clone(),
            inclusion_proof: r
                .inclusion_proof
                .iter()
                .map(Sha256Hash::to_base64)
                .collect(),
        }
    }
}

fn hex_param<const N: usize>(v: &Option<String>, name: &str) -> Result<Option<[u8; N]>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    let mut out = [0u8; N];
    if s.len() != 2 * N || hex::decode_to_slice(s, &mut out).is_err() {
        return Err(ApiError::invalid(format!(
            "{name} must be {} hex digits",
            2 * N
        )));
    }
    Ok(Some(out))
}

/// A file name as given by a client: a single path component, printable, bounded.
fn file_name_param(v: &Option<String>) -> Result<Option<String>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    let ok = !s.is_empty()
        && s.len() <= 255
        && s != "."
        && s != ".."
        && !s.contains(['/', '\\'])
        && !s.chars().any(char::is_control);
    if ok {
        Ok(Some(s.clone()))
    } else {
        Err(ApiError::invalid(
            "file_name must be one file name (no '/', '\\', '..' or control characters, at most 255 bytes)",
        ))
    }
}

/// Upload evidence: the body is the file's bytes, streamed (Content-Length required).
#[utoipa::path(post, path = "/v1/cases/{case}/items", tag = "items",
    params(("case" = String, Path, description = "Case name"), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The evidence file"),
    responses((status = 201, body = IngestAck), (status = 400, body = Problem), (status = 411, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn upload(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(case): Path<String>,
    ApiQuery(q): ApiQuery<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<IngestAck>), ApiError> {
    let ca = st.case_access(&caller, &case, Permission::Upload).await?;
    let len: u64 = match headers.get(header::CONTENT_LENGTH) {
        None => {
            return Err(ApiError::new(
                "length-required",
                "send the file with a Content-Length header (chunked uploads are not accepted)",
            ));
        }
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ApiError::bad_request("Content-Length is not a number"))?,
    };
    if len > st.max_upload_bytes {
        return Err(ApiError::new(
            "payload-too-large",
            format!(
                "the file is {len} bytes; this server accepts at most {} (server.max_upload_bytes)",
                st.max_upload_bytes
            ),
        ));
    }
    let expect = Expected {
        sha256: hex_param::<32>(&q.expect_sha256, "expect_sha256")?.map(Sha256Hash),
        sha1: hex_param::<20>(&q.expect_sha1, "expect_sha1")?,
        md5: hex_param::<16>(&q.expect_md5, "expect_md5")?,
    };
    let name = file_name_param(&q.file_name)?;
    let req = IngestRequest {
        path: std::path::PathBuf::from(name.unwrap_or_else(|| "upload".into())),
        case: CaseName::parse(&ca.case).map_err(|e| ApiError::invalid(e.to_string()))?,
        description: opt_text(q.description, "description", 4000)?,
        expect,
        legacy_hashes: q.legacy_hashes.unwrap_or(false),
        actor: caller.actor(),
        tool: opt_text(q.tool, "tool", 400)?,
        method: opt_text(q.method, "method", 400)?,
    };
    let source = crate::server::body::BodyBlocks::spawn(body, len);
    // A spawned task, so a client hanging up (or shutdown) cannot cancel the ingest half-way:
    // the read fails, the ingest discards its object and records the failure.
    let st2 = st.clone();
    let task = st.uploads.spawn(async move {
        ingest::ingest_source(
            &st2.vault,
            req,
            source,
            &crate::progress::Progress::hidden(),
        )
        .await
    });
    let out = task
        .await
        .map_err(|_| ApiError::unavailable("the upload task failed"))?;
    match out {
        Ok(o) => {
            st.metrics.uploaded(o.size);
            Ok((
                StatusCode::CREATED,
                Json(IngestAck {
                    item: o.item.to_string(),
                    case: o.case.to_string(),
                    sha256: o.sha256.to_hex(),
                    sha1: o.sha1.map(hex::encode),
                    md5: o.md5.map(hex::encode),
                    size: o.size,
                    duplicate: o.duplicate,
                    receipt: (&o.receipt).into(),
                }),
            ))
        }
        Err(IngestError::HashMismatch {
            algorithm,
            expected,
            actual,
            event,
            ..
        }) => Err(ApiError::new(
            "hash-mismatch",
            format!(
                "{algorithm} mismatch: expected {expected}, computed {actual}; nothing was kept (the rejection is event {event})"
            ),
        )),
        Err(IngestError::Input { source, .. }) => Err(ApiError::new(
            "upload-incomplete",
            format!(
                "the upload was cut off ({}); nothing was kept and the failed ingest was recorded; send the file again",
                bad_text(&source.to_string())
            ),
        )),
        Err(e) => {
            tracing::error!(error = %e, "ingest failed");
            Err(ApiError::unavailable(
                "the vault could not store the upload",
            ))
        }
    }
}

/// Query of a content read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurposeParams {
    /// Why the content is read (recorded in the custody log). Required.
    pub purpose: Option<String>,
}

/// Require a stated purpose.
pub fn purpose(p: Option<String>) -> Result<String, ApiError> {
    match p.map(|s| s.trim().to_string()) {
        Some(s) if !s.is_empty() => {
            if s.chars().count() > 1000 || s.chars().any(char::is_control) {
                Err(ApiError::invalid(
                    "purpose must be at most 1000 characters, without control characters",
                ))
            } else {
                Ok(s)
            }
        }
        _ => Err(ApiError::new(
            "purpose-required",
            "say why you read this evidence: add ?purpose=... (it is recorded in the custody log)",
        )),
    }
}

/// Download an item (or a byte range of it) with a stated purpose. The access event is durable
/// before the first byte is sent.
#[utoipa::path(get, path = "/v1/items/{item}/content", tag = "items",
    params(("item" = String, Path, description = "Item id"), PurposeParams,
        ("Range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 416, body = Problem)),
    security(("token" = [])))]
pub async fn content(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(item): Path<String>,
    ApiQuery(q): ApiQuery<PurposeParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (ca, view) = st
        .item_access(&caller, &item, Permission::ReadContent)
        .await?;
    let purpose = purpose(q.purpose)?;
    let range = content::parse_range(&headers, view.size)?;
    let draft = crate::custody::EventDraft {
        actor: caller.actor(),
        action: Action::Access,
        case: Some(ca.case.clone()),
        item: Some(view.item_ref()),
        reason: Some(purpose),
        details: Value::object(Vec::<(String, Value)>::new()),
    };
    content::serve(&st, &view, range, Delivery::Download, draft).await
}

/// One custody event as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Leaf index.
    pub index: u64,
    /// The event (its canonical JSON, parsed).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    /// The exact canonical bytes (base64): what the signature and the leaf hash cover.
    pub bytes: String,
    /// Ed25519 signature (base64).
    pub signature: String,
    /// Leaf hash (base64).
    pub leaf_hash: String,
}

/// Events as the API shows them.
pub fn event_views(events: Vec<crate::custody::StoredEvent>) -> Vec<EventView> {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    events
        .into_iter()
        .map(|e| EventView {
            index: e.seq,
            event: serde_json::from_slice(&e.bytes).unwrap_or(serde_json::Value::Null),
            bytes: b64(&e.bytes),
            signature: b64(&e.signature),
            leaf_hash: b64(&e.hash),
        })
        .collect()
}

/// The item's custody chain: every event about it, oldest first.
#[utoipa::path(get, path = "/v1/items/{item}/events", tag = "items",
    params(("item" = String, Path, description = "Item id")),
    responses((status = 200, body = Vec<EventView>), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn item_events(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(item): Path<String>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let (_, view) = st.item_access(&caller, &item, Permission::ViewCase).await?;
    let id = view.id.to_string();
    let events = st
        .db
        .run(move |c| crate::custody::read_events(c, Some(&id)))
        .await?;
    Ok(Json(event_views(events)))
}

fn sql_err(source: rusqlite::Error) -> ApiError {
    ApiError::from(crate::db::DbError::Sql {
        doing: "reading items",
        source,
    })
}

impl From<rusqlite::Error> for ApiError {
    fn from(source: rusqlite::Error) -> Self {
        sql_err(source)
    }
}
