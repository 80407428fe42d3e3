//! Custody reports over HTTP: the report bundle of one item (docs/FORMATS.md §7), the same
//! bytes `custos report` writes, for `custos-verify`.

use super::opt_text;
use crate::access::Permission;
use crate::report::{self, ReportError};
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::problem::{ApiError, ApiQuery, Problem};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

/// Query of a report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Why the report is produced (recorded in its `report` event).
    pub purpose: Option<String>,
}

/// The item's custody report bundle (JSON, docs/FORMATS.md §7): every event of the item with
/// its signed bytes, signature and inclusion proof in the latest checkpoint. Producing it is
/// recorded (a `report` event, appended before the bundle is sent; the next report holds it).
#[utoipa::path(get, path = "/v1/items/{item}/report", tag = "items",
    params(("item" = String, Path, description = "Item id"), ReportParams),
    responses((status = 200, content_type = "application/json", description = "The report bundle",
            body = Object),
        (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("token" = [])))]
pub async fn item_report(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(item): Path<String>,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let (_, view) = st.item_access(&caller, &item, Permission::ViewCase).await?;
    let reason = opt_text(q.purpose, "purpose", 1000)?;
    let items = vec![view.id.clone()];
    let name = report::bundle_file_name(&items);
    let actor = caller.actor();
    // Reading and verifying the records is blocking database work: off the async workers. The
    // task also finishes (and records) if the client goes away.
    let (st2, rt) = (st.clone(), tokio::runtime::Handle::current());
    let made = tokio::task::spawn_blocking(move || {
        rt.block_on(report::report_bundle(&st2.vault, &items, &actor, reason))
    })
    .await
    .map_err(|_| ApiError::unavailable("the report task failed"))?;
    let bytes = made.map_err(report_err)?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

fn report_err(e: ReportError) -> ApiError {
    tracing::error!(error = %e, "report failed");
    match e {
        ReportError::UnknownItem { item } => ApiError::not_found(format!("item {item}")),
        ReportError::EmptyLog => ApiError::unavailable("the custody log has no checkpoint yet"),
        ReportError::TooLarge(t) => ApiError::unavailable(format!(
            "the report would be too large ({t}); ask an operator for `custos report`"
        )),
        ReportError::Damaged { .. } => ApiError::new(
            "internal",
            "the item's custody records do not verify; an operator must run `custos audit`",
        ),
        _ => ApiError::unavailable("the report could not be produced"),
    }
}
