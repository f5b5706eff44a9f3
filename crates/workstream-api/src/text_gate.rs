//! One gate for text: every string a request brings in is checked once, before any
//! extractor, handler or store sees it.
//!
//! PostgreSQL stores no NUL character, in `text` or in `jsonb`; a NUL that reached a
//! query used to surface as a 500 on whichever route let it through. The rule is
//! therefore checked here for the whole API (`/api/v1`), not per field:
//!
//! * the path and the query string: NUL can only arrive percent-encoded (`%00`), so a
//!   `%00` anywhere is refused, naming the query key (or `path`);
//! * a JSON body: NUL can only arrive as the escape `\u0000`, so the body is scanned
//!   for it, and only when it appears is the body parsed to name the field by its JSON
//!   pointer (`/findings/0/issue`, or the key itself when a key holds the NUL);
//! * multipart text fields (a packet upload's summary and attestation) are checked by
//!   the route that reads them, with [`field`], since a multipart body is streamed and
//!   never held here (a checker upload has no text field);
//! * token claims are checked where tokens are verified (the domain's bearer rules
//!   refuse a claim with NUL as `invalid_token`), and what a checker returns is checked
//!   by the sandbox (`invalid_output` for that check).
//!
//! Every refusal is 422 `invalid_request` in the error envelope, with `details.field`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use workstream_domain::ErrorCode;

use crate::error::ApiError;

/// The largest JSON body the gate reads, as the JSON extractor's own limit (axum's
/// default): larger ones are refused there anyway.
const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// The middleware (see the module docs).
pub async fn gate(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if uri.path().contains("%00") {
        return refuse("path").into_response();
    }
    if let Some(query) = uri.query()
        && let Some(key) = query_key_with_nul(query)
    {
        return refuse(&format!("query parameter `{key}`")).into_response();
    }
    if !is_json(&request) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, JSON_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
                .into_response();
        }
    };
    if has_nul_escape(&bytes)
        && let Ok(value) = serde_json::from_slice::<Value>(&bytes)
        && let Some(pointer) = nul_pointer(&value, String::new())
    {
        return refuse(&format!("body field `{pointer}`")).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Checks one multipart text field (see the module docs).
pub fn field(name: &str, text: &str) -> Result<(), ApiError> {
    if text.contains('\0') {
        return Err(refuse(&format!("multipart field `{name}`")));
    }
    Ok(())
}

fn refuse(field: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRequest,
        format!("{field} contains a NUL character, which cannot be stored"),
    )
    .with_details(json!({ "field": field, "reason": "nul_character" }))
}

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
}

/// The key of the first query pair whose key or value holds `%00`.
fn query_key_with_nul(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        pair.contains("%00").then(|| {
            let key = pair.split('=').next().unwrap_or_default();
            key.replace("%00", "\\u0000")
        })
    })
}

/// Whether the body holds the escape `\u0000` (the only way JSON can carry NUL; a
/// match preceded by another backslash is a false alarm the parse clears).
fn has_nul_escape(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"\\u0000")
}

/// The JSON pointer of the first string or key holding NUL.
fn nul_pointer(value: &Value, at: String) -> Option<String> {
    let escape = |key: &str| {
        key.replace('~', "~0")
            .replace('/', "~1")
            .replace('\0', "\\u0000")
    };
    match value {
        Value::String(s) => s
            .contains('\0')
            .then(|| if at.is_empty() { "/".into() } else { at }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_pointer(item, format!("{at}/{i}"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let here = format!("{at}/{}", escape(key));
            if key.contains('\0') {
                Some(here)
            } else {
                nul_pointer(item, here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_holding_nul_is_named_by_its_pointer() {
        let body = json!({"a": "ok", "findings": [{"issue": "fine"}, {"issue": "bad\u{0}"}]});
        assert_eq!(
            nul_pointer(&body, String::new()).as_deref(),
            Some("/findings/1/issue")
        );
        let key = json!({"payload": {"k\u{0}/x": 1}});
        assert_eq!(
            nul_pointer(&key, String::new()).as_deref(),
            Some("/payload/k\\u0000~1x")
        );
        assert_eq!(
            nul_pointer(&json!({"a": ["\\u0000 is text"]}), String::new()),
            None
        );
        assert!(has_nul_escape(br#"{"a":"x\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a":"x\u0001"}"#));
    }

    #[test]
    fn a_query_key_or_value_with_nul_is_named() {
        assert_eq!(
            query_key_with_nul("limit=5&cursor=a%00b").as_deref(),
            Some("cursor")
        );
        assert_eq!(
            query_key_with_nul("li%00mit=5").as_deref(),
            Some("li\\u0000mit")
        );
        assert_eq!(query_key_with_nul("limit=5"), None);
    }
}
