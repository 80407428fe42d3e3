//! Every route of the API, and the OpenAPI document built from the same list.

pub mod admin;
pub mod cases;
pub mod disclosures;
pub mod ids;
pub mod items;
pub mod log;
pub mod reports;
pub mod transfers;

use super::AppState;
use super::problem::{ApiError, Problem};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use axum::Json;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Custos vault API",
        description = "Chain-of-custody vault for digital evidence. Every act is an event in a signed RFC 6962 custody log. Errors are RFC 9457 problem+json with a stable `code`. Access rules: docs/ACCESS.md.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&BearerToken),
    tags(
        (name = "log", description = "The public custody log: checkpoints, key, proofs"),
        (name = "accounts", description = "Accounts and tokens"),
        (name = "cases", description = "Cases and their members"),
        (name = "items", description = "Evidence: upload, metadata, content, custody chain"),
        (name = "custody", description = "Custody transfers between case members"),
        (name = "disclosures", description = "Disclosures to defence, courts and foreign agencies"),
    )
)]
struct ApiDoc;

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cst_<id>_<secret>")
                    .build(),
            ),
        );
    }
}

/// The routes with their OpenAPI descriptions.
pub fn api() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(log::healthz))
        .routes(routes!(log::metrics))
        .routes(routes!(log::checkpoint))
        .routes(routes!(log::key))
        .routes(routes!(log::consistency))
        .routes(routes!(log::inclusion))
        .routes(routes!(log::events))
        .routes(routes!(admin::whoami))
        .routes(routes!(admin::list_users, admin::add_user))
        .routes(routes!(admin::disable_user))
        .routes(routes!(admin::unlock_user))
        .routes(routes!(admin::issue_token))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(cases::list_cases, cases::create_case))
        .routes(routes!(cases::get_case))
        .routes(routes!(cases::add_member))
        .routes(routes!(cases::remove_member))
        .routes(routes!(items::list_items, items::upload))
        .routes(routes!(items::get_item))
        .routes(routes!(items::content))
        .routes(routes!(items::item_events))
        .routes(routes!(reports::item_report))
        .routes(routes!(transfers::initiate))
        .routes(routes!(transfers::accept))
        .routes(routes!(transfers::list_transfers))
        .routes(routes!(disclosures::request))
        .routes(routes!(disclosures::list_disclosures))
        .routes(routes!(disclosures::get_disclosure))
        .routes(routes!(disclosures::approve))
        .routes(routes!(disclosures::refuse_disclosure))
        .routes(routes!(disclosures::acknowledge))
        .routes(routes!(disclosures::download))
        .routes(routes!(disclosures::view))
}

/// Optional free text from a client: bounded, no control characters.
pub fn opt_text(v: Option<String>, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    match v {
        None => Ok(None),
        Some(s) => text(s, name, max).map(Some),
    }
}

/// Required free text from a client: non-empty, bounded, no control characters.
pub fn text(s: String, name: &str, max: usize) -> Result<String, ApiError> {
    if s.trim().is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        Err(ApiError::invalid(format!(
            "{name} must be 1 to {max} characters without control characters"
        )))
    } else {
        Ok(s)
    }
}

/// Text from elsewhere (an I/O error) made safe to echo.
pub fn bad_text(s: &str) -> String {
    super::problem::clean(s)
}
