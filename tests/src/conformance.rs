//! Every answer a test server gives is checked against the API document: the test
//! suite as a whole is the proof that `GET /api/v1/openapi.json` tells the truth.
//!
//! For each `/api/v1` request the layer finds the documented operation (method and
//! path template), then requires that the answer's status is documented for it; that
//! an error's `code` is one of that status's `x-error-codes`; and that a JSON body
//! validates against the schema the document gives that status (formats asserted:
//! a `uuid` field holds a UUID, a `date-time` a timestamp). What does not hold is
//! collected like a leak of database text and fails the test when its server drops
//! ([`crate::TestServer`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde_json::Value;

/// The document of the routes the test servers mount, as the server serves it.
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    let (_, operations) = workstream_api::api_routes().into_parts();
    workstream_api::openapi::document::build(&operations)
});

/// Compiled validators by JSON pointer of the response schema.
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Mutex::default);

/// Where an answer differed from the document: `METHOD path -> status: what`.
#[derive(Clone, Default)]
pub(crate) struct Departures(pub(crate) Arc<Mutex<Vec<String>>>);

impl Departures {
    fn push(&self, line: String) {
        self.0.lock().expect("departures lock").push(line);
    }
}

/// The path template (`/tasks/{tid}`) the router matches `path` (relative to
/// `/api/v1`) with: a literal segment beats a parameter, as in the router
/// (`/contribution-policies/drafts` before `/contribution-policies/{policy_id}`).
fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let paths = DOCUMENT["paths"].as_object()?;
    let mut best: Option<(&'static str, Vec<bool>)> = None;
    for template in paths.keys() {
        let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        let literal = |p: &str| !p.starts_with('{');
        let matches = if parts.last() == Some(&"{path}") {
            segments.len() >= parts.len()
                && parts[..parts.len() - 1]
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| !literal(p) || p == s)
        } else {
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| !literal(p) || p == s)
        };
        if matches {
            // Compared segment by segment: the earlier literal wins.
            let shape: Vec<bool> = parts.iter().map(|p| literal(p)).collect();
            if best.as_ref().is_none_or(|(_, b)| shape > *b) {
                best = Some((template.as_str(), shape));
            }
        }
    }
    best.map(|(template, _)| template)
}

/// The validator of the schema at `pointer` in the document (compiled once), or why
/// it does not compile.
fn validator(pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
    if let Some(found) = VALIDATORS.lock().expect("validators lock").get(pointer) {
        return Ok(found.clone());
    }
    // The schema beside the document's components, so `#/components/schemas/..`
    // resolves as it does in the document.
    let root = serde_json::json!({
        "allOf": [DOCUMENT.pointer(pointer).cloned().unwrap_or_default()],
        "components": DOCUMENT["components"].clone(),
    });
    let compiled = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| format!("the documented schema does not compile: {e}"))?;
    let compiled = Arc::new(compiled);
    VALIDATORS
        .lock()
        .expect("validators lock")
        .insert(pointer.to_owned(), compiled.clone());
    Ok(compiled)
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Checks one answer; `path` is the request path relative to `/api/v1`.
pub(crate) fn check(
    departures: &Departures,
    method: &Method,
    path: &str,
    status: StatusCode,
    content_type: Option<&str>,
    body: &Bytes,
) {
    let line = format!("{method} /api/v1{path} -> {}", status.as_u16());
    let method_name = method.as_str().to_ascii_lowercase();
    let Some(template) = template_of(path) else {
        // The router's own answer to a path no route serves.
        if status != StatusCode::NOT_FOUND {
            departures.push(format!("{line}: no documented path"));
        }
        return;
    };
    if DOCUMENT["paths"][template].get(&method_name).is_none() {
        // A method the path does not serve.
        if status != StatusCode::METHOD_NOT_ALLOWED {
            departures.push(format!("{line}: no documented operation"));
        }
        return;
    }
    let operation = format!("/paths/{}/{method_name}", escape(template));
    let status_text = status.as_u16().to_string();
    let Some(response) = DOCUMENT
        .pointer(&operation)
        .and_then(|op| op["responses"].get(&status_text))
    else {
        departures.push(format!("{line}: status not documented for {template}"));
        return;
    };
    let json = content_type.is_some_and(|t| t.starts_with("application/json"));
    if !json {
        return;
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        departures.push(format!("{line}: the body is not JSON"));
        return;
    };
    if let Some(codes) = response["x-error-codes"].as_array() {
        let code = &value["error"]["code"];
        if !codes.contains(code) {
            departures.push(format!(
                "{line}: code {code} is not among the documented {codes:?}"
            ));
        }
    }
    let pointer = format!("{operation}/responses/{status_text}/content/application~1json/schema");
    if DOCUMENT.pointer(&pointer).is_none() {
        return;
    }
    match validator(&pointer) {
        Err(why) => departures.push(format!("{line}: {why}")),
        Ok(validator) => {
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .take(5)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            if !errors.is_empty() {
                departures.push(format!(
                    "{line}: the body does not match the documented schema: {errors:?}"
                ));
            }
        }
    }
}
