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
    /// What to do about it: the catalogue's fix of a server's code, or the UI's own
    /// (none for a code neither knows, which only a server of another version answers).
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
            fix: fix_of(code),
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

/// The codes the UI answers itself, before a request reaches the API (a form it cannot
/// read, a JSON field that is not JSON), with their fixes. A server's code has its fix
/// in the catalogue ([`ErrorCode::fix`]) and is never listed here.
const UI_FIXES: &[(&str, &str)] = &[
    (
        "invalid_form",
        "fill in the form again from the page (a field was missing or malformed)",
    ),
    (
        "policy_bundle_not_json",
        "correct the JSON at the line and column the message gives, then save again",
    ),
    (
        "contribution_rules_not_json",
        "correct the JSON at the line and column the message gives, then save again",
    ),
    (
        "subject_required",
        "type the subject to sign in as (1-200 characters), or paste a token instead",
    ),
];

/// The fix of `code`: the catalogue's, or the UI's own.
fn fix_of(code: &str) -> Option<&'static str> {
    ErrorCode::from_code(code).map(ErrorCode::fix).or_else(|| {
        UI_FIXES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, fix)| *fix)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the UI writes into an envelope itself has a fix, and none of them
    /// is a server's code.
    #[test]
    fn every_code_the_ui_raises_has_a_fix_of_its_own() {
        fn sources(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push_str(&std::fs::read_to_string(path).unwrap());
                }
            }
        }
        let mut text = String::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut text,
        );
        let marker = "{\"error\": {\"code\": \"";
        let raised: Vec<&str> = text
            .match_indices(marker)
            .filter_map(|(at, _)| {
                let rest = &text[at + marker.len()..];
                rest.find('"').map(|end| &rest[..end])
            })
            .collect();
        assert!(raised.len() >= 4, "{raised:?}");
        for code in raised {
            assert!(fix_of(code).is_some(), "{code} has no fix");
        }
        for (code, _) in UI_FIXES {
            assert!(
                ErrorCode::from_code(code).is_none(),
                "{code} is the server's"
            );
        }
    }
}
