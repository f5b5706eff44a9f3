//! The API's one error type and its envelope.
//!
//! Every failure a client sees is an [`ApiError`]: an HTTP status, a stable
//! machine-readable `code`, a human message, and optional structured `details`. It is
//! rendered as
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
use workstream_engine::{CommandError, ErrorKind};

/// An error response with a stable code.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable, machine-readable code (`snake_case`).
    pub code: &'static str,
    /// A message for humans.
    pub message: String,
    /// Structured details (field errors, limits), an object.
    pub details: Value,
    /// Seconds to wait before retrying, sent as `Retry-After` (rate limits).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
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
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the resource does not exist or is not visible to you",
        )
    }

    /// An unexpected failure; `cause` is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; quote the correlation id when reporting it",
        )
    }

    /// The envelope, with the request's correlation id.
    pub fn render(&self, correlation_id: &str) -> Response {
        let retryable = matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        );
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "correlation_id": correlation_id,
                "retryable": retryable,
            }
        });
        let mut response = (self.status, Json(body)).into_response();
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
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<CommandError> for ApiError {
    fn from(err: CommandError) -> Self {
        let status = match err.kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
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
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
