//! RFC 9457 problem details: every error the service returns, with a stable `code`.
//!
//! Handlers return [`ApiError`]; axum's own rejections (bad JSON, bad query, unknown route,
//! wrong method, body too large) are turned into problems by [`ApiJson`], [`ApiQuery`] and the
//! [`problem_fallback`] middleware, so a client never sees a plain-text error.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// Media type of problem responses (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The body of an error response (RFC 9457).
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:custos:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong with this request, and what to do.
    pub detail: String,
    /// Stable machine-readable code (docs/API.md lists them all).
    pub code: String,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Human explanation.
    pub detail: String,
}

/// Every problem code with its status and title (the documented list; tests check it).
pub const CODES: &[(&str, u16, &str)] = &[
    ("bad-request", 400, "The request is malformed"),
    ("invalid-json", 400, "The JSON body is invalid"),
    ("invalid-parameter", 400, "A parameter is invalid"),
    ("purpose-required", 400, "A stated purpose is required"),
    ("hash-mismatch", 422, "An expected hash does not match"),
    (
        "upload-incomplete",
        400,
        "The upload ended before its declared length",
    ),
    ("token-missing", 401, "Authentication is required"),
    ("token-malformed", 401, "The token is malformed"),
    ("token-invalid", 401, "The token is not valid"),
    ("token-expired", 401, "The token has expired"),
    ("token-revoked", 401, "The token has been revoked"),
    ("account-disabled", 401, "The account is disabled"),
    ("account-locked", 401, "The account is locked"),
    ("forbidden", 403, "Not allowed"),
    ("not-found", 404, "Not found"),
    ("method-not-allowed", 405, "Method not allowed"),
    (
        "conflict",
        409,
        "The request conflicts with the current state",
    ),
    ("gone", 410, "No longer available"),
    ("length-required", 411, "Content-Length is required"),
    ("payload-too-large", 413, "The request body is too large"),
    ("unsupported-media-type", 415, "Unsupported media type"),
    ("range-not-satisfiable", 416, "The range is not satisfiable"),
    ("header-too-large", 431, "Request headers are too large"),
    ("unavailable", 503, "The vault cannot serve this now"),
    ("internal", 500, "Internal error"),
];

impl ApiError {
    /// An error with a code from [`CODES`].
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        let status = CODES
            .iter()
            .find(|c| c.0 == code)
            .and_then(|c| StatusCode::from_u16(c.1).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError {
            status,
            code,
            detail: detail.into(),
        }
    }
    /// 400 bad-request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new("bad-request", detail)
    }
    /// 400 invalid-parameter.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new("invalid-parameter", detail)
    }
    /// 404 not-found: also the answer for anything the caller may not see.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new("not-found", format!("{what} not found"))
    }
    /// 403 forbidden: the caller can see the object but may not do this to it.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new("forbidden", detail)
    }
    /// 409 conflict.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new("conflict", detail)
    }
    /// 503: the database, log or store failed; nothing was done.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        Self::new(
            "unavailable",
            format!("{detail}; nothing was done, retry later"),
        )
    }

    fn title(&self) -> &'static str {
        CODES
            .iter()
            .find(|c| c.0 == self.code)
            .map_or("Error", |c| c.2)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("urn:custos:problem:{}", self.code),
            title: self.title().to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        resp.extensions_mut().insert(ProblemMarker);
        resp
    }
}

/// Marks a response that already is a problem.
#[derive(Clone, Copy)]
struct ProblemMarker;

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        tracing::error!(error = %e, "database failure");
        ApiError::unavailable("the vault database is unavailable")
    }
}

impl From<crate::custody::LogError> for ApiError {
    fn from(e: crate::custody::LogError) -> Self {
        tracing::error!(error = %e, "custody log failure");
        ApiError::unavailable("the custody log cannot be written")
    }
}

/// A JSON body whose rejections are problems.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                "unsupported-media-type",
                "send the body as Content-Type: application/json",
            )),
            Err(JsonRejection::BytesRejection(r))
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::new(
                    "payload-too-large",
                    "the JSON body is larger than the server accepts (server.max_json_bytes)",
                ))
            }
            Err(e) => Err(ApiError::new("invalid-json", clean(&e.body_text()))),
        }
    }
}

/// Query parameters whose rejections are problems.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(ApiError::invalid(clean(&e.body_text())))
            }
            Err(e) => Err(ApiError::invalid(clean(&e.body_text()))),
        }
    }
}

/// Untrusted text echoed in a message: no control characters, bounded.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

/// Turns any non-problem error response (unknown route, wrong method, a body limit hit inside
/// axum) into a problem, so every 4xx/5xx is `application/problem+json`.
pub async fn problem_fallback(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp.extensions().get::<ProblemMarker>().is_some()
    {
        return resp;
    }
    let err = match status {
        StatusCode::NOT_FOUND => ApiError::new("not-found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::new("method-not-allowed", "this route does not take that method")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new("payload-too-large", "the request body is too large")
        }
        StatusCode::LENGTH_REQUIRED => ApiError::new("length-required", "send Content-Length"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new("unsupported-media-type", "unsupported Content-Type")
        }
        s if s.is_client_error() => ApiError::bad_request(
            s.canonical_reason()
                .unwrap_or("the request was refused")
                .to_string(),
        ),
        _ => ApiError::new("internal", "internal error; the vault's log has details"),
    };
    let mut out = err.into_response();
    *out.status_mut() = status;
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_name_and_a_real_status() {
        let mut seen = std::collections::HashSet::new();
        for (code, status, _) in CODES {
            assert!(seen.insert(code), "{code} twice");
            assert!(StatusCode::from_u16(*status).is_ok());
            assert_eq!(ApiError::new(code, "x").status.as_u16(), *status);
        }
    }
}
