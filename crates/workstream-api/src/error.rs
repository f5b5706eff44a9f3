//! The API's one error type and its envelope.
//!
//! Every failure a client sees is an [`ApiError`]: a code of the catalogue
//! ([`ErrorCode`], which fixes its HTTP status), a human message, and optional
//! structured `details`. It is rendered as
//!
//! ```json
//! {"error": {"code": "not_found", "message": "...", "details": {}, "correlation_id": "..."}}
//! ```
//!
//! Internal failures are logged with their cause and shown to the client only as
//! `internal_error`, so no SQL or file path leaks.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use workstream_domain::ErrorCode;
use workstream_engine::CommandError;

/// An error response with a stable code.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The stable, machine-readable code; its status is the catalogue's.
    pub code: ErrorCode,
    /// A message for humans.
    pub message: String,
    /// Structured details (field errors, limits), an object.
    pub details: Value,
    /// Seconds to wait before retrying, sent as `Retry-After` (rate limits).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `code`, a message of its own and no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
    }

    /// The HTTP status (the code's, from the catalogue).
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Adds a `Retry-After` header.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The concealed 404: the same answer for missing, foreign and unauthorized
    /// resources (R48).
    pub fn not_found() -> Self {
        ErrorCode::NotFound.into()
    }

    /// An unexpected failure; `cause` is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            ErrorCode::InternalError,
            "an internal error occurred; quote the correlation id when reporting it",
        )
    }

    /// The envelope, with the request's correlation id.
    pub fn render(&self, correlation_id: &str) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "correlation_id": correlation_id,
                "retryable": self.code.retryable(),
            }
        });
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for ApiError {
    /// The status now; the body is written by the correlation middleware, which knows
    /// the correlation id.
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<ErrorCode> for ApiError {
    /// The error with the catalogue's sentence as its message.
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code, code.message())
    }
}

impl From<CommandError> for ApiError {
    fn from(err: CommandError) -> Self {
        ApiError {
            code: err.code,
            message: err.message,
            details: err.details,
            retry_after: None,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// Database errors go through the engine's mapping of constraint names.
    fn from(err: sqlx::Error) -> Self {
        CommandError::from(err).into()
    }
}

impl From<workstream_domain::lifecycle::Refusal> for ApiError {
    fn from(refusal: workstream_domain::lifecycle::Refusal) -> Self {
        CommandError::from(refusal).into()
    }
}

/// The fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// The answer to a method a route does not take: 405 `method_not_allowed`, in the
/// envelope like every other refusal.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not take that method",
    )
}
