//! Correlation ids: one per request, from the client or made here.
//!
//! A client may send `X-Correlation-ID` to tie its own logs to ours; it is echoed back
//! when it is a sane token (at most 128 characters of `[A-Za-z0-9._:-]`), and replaced
//! by a new UUIDv7 otherwise, so a hostile header never reaches logs or audit rows.
//!
//! The middleware also finishes error responses: an [`ApiError`] leaves itself in the
//! response's extensions, and the envelope is written here, where the correlation id
//! is known, so that every error body carries it.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::ApiError;

/// The header carrying the correlation id, in both directions.
pub static HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The correlation id of the request being served, available as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub String);

fn acceptable(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let sane = !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    sane.then(|| text.to_owned())
}

/// Middleware: attaches a [`CorrelationId`] to the request, runs it inside a tracing
/// span, renders error envelopes, and echoes the id on the response.
pub async fn correlate(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(acceptable)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    request.extensions_mut().insert(CorrelationId(id.clone()));
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        correlation_id = %id
    );
    let mut response = next.run(request).instrument(span).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        // Keep headers the error path set on purpose (`WWW-Authenticate` on a 401).
        let headers = std::mem::take(response.headers_mut());
        response = error.render(&id);
        response.headers_mut().extend(headers);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER.clone(), value);
    }
    response.into_response()
}
