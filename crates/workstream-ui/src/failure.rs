//! Why a page cannot be shown: the API's refusal as the UI renders it ([`ApiFailure`]),
//! and the kinds of failure a page handler returns ([`Failure`]).

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use workstream_domain::ErrorCode;

/// A refusal as the UI shows it: the envelope's fields, the catalogue's fix of its
/// code, and the per-field errors of `details.errors[{path, message, code}]` pulled out
/// for the field table.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// What to do about it: the catalogue's fix of the code (none for a code the
    /// catalogue does not have, which only a server of another version answers).
    pub fix: Option<&'static str>,
    pub details: Value,
    pub correlation_id: Option<String>,
    pub field_errors: Vec<Value>,
    /// The details other than `errors`, as (key, JSON text) rows.
    pub other_details: Vec<(String, String)>,
}

impl ApiFailure {
    /// The failure in `body` (an error envelope), or a generic one for `status`.
    pub fn from_envelope(status: StatusCode, body: &Value) -> ApiFailure {
        let error = &body["error"];
        let details = error.get("details").cloned().unwrap_or(Value::Null);
        let field_errors = details
            .get("errors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let other_details = details
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| *k != "errors")
                    .map(|(k, v)| {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let code = error["code"].as_str().unwrap_or("unexpected_answer");
        ApiFailure {
            status: status.as_u16(),
            code: code.to_owned(),
            fix: ErrorCode::from_code(code).map(ErrorCode::fix),
            message: error["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("the API answered {status}")),
            details,
            correlation_id: error["correlation_id"].as_str().map(str::to_owned),
            field_errors,
            other_details,
        }
    }
}

/// Why a page cannot be shown (rendered by [`super::home::finish`]).
#[derive(Debug, Clone)]
pub(super) enum Failure {
    /// No session, or the API refused its token: back to the sign-in page.
    SignIn(String),
    /// The concealed 404 (or a page that does not exist).
    NotFound,
    /// Any other refusal, shown with its code.
    Api(Box<ApiFailure>),
}
