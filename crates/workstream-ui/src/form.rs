//! Form posts: urlencoded fields, with repeated groups named `group.<key>.<field>`.
//!
//! A decision form holds any number of findings (`finding.0.area`,
//! `finding.0.issue`, ...) and one resolution per prior finding
//! (`resolution.<finding id>.result`); a resubmission one response per finding
//! (`response.<finding id>`). [`FormData::groups`] gathers those into maps, in key
//! order, so a handler builds the API's JSON body without a schema of its own.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::failure::{ApiFailure, Failure};

/// The fields of a posted form, in the order they were sent.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct FormData(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<Vec<(String, String)>>::from_request(request, state).await {
            Ok(axum::Form(fields)) => Ok(FormData(fields)),
            Err(rejection) => Err(Failure::Api(Box::new(ApiFailure::from_envelope(
                StatusCode::UNPROCESSABLE_ENTITY,
                &serde_json::json!({"error": {"code": "invalid_form",
                    "message": format!("the form could not be read: {}", rejection.body_text())}}),
            )))),
        }
    }
}

/// Path parameters (ids); one that does not parse is the 404 page, as a page that
/// does not exist.
pub(super) struct Ids<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Ids<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Ids(value))
            .map_err(|_| Failure::NotFound)
    }
}

impl FormData {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// The form's idempotency key (the hidden field every mutation form carries), or a
    /// fresh one for a form posted without it.
    pub fn key(&self) -> String {
        self.text("idempotency_key")
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
    }

    /// The fields named `<prefix>.<key>.<field>`, by key then field.
    pub fn groups(&self, prefix: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut groups: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let lead = format!("{prefix}.");
        for (name, value) in &self.0 {
            if let Some((key, field)) = name
                .strip_prefix(&lead)
                .and_then(|rest| rest.split_once('.'))
            {
                groups
                    .entry(key.to_owned())
                    .or_default()
                    .insert(field.to_owned(), value.clone());
            }
        }
        groups
    }

    /// The fields named `<prefix>.<key>`, by key.
    pub fn keyed(&self, prefix: &str) -> BTreeMap<String, String> {
        let lead = format!("{prefix}.");
        self.0
            .iter()
            .filter_map(|(name, value)| {
                name.strip_prefix(&lead)
                    .map(|key| (key.to_owned(), value.clone()))
            })
            .collect()
    }

    /// The form as a map of first values, for re-rendering what was typed.
    pub fn values(&self) -> BTreeMap<String, String> {
        let mut values = BTreeMap::new();
        for (k, v) in &self.0 {
            values.entry(k.clone()).or_insert_with(|| v.clone());
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_keyed_fields_are_gathered_by_key() {
        let form = FormData(
            [
                ("finding.1.area", "proof"),
                ("finding.0.area", "evidence"),
                ("finding.0.issue", "no n = 0"),
                ("response.abc", "fixed"),
                ("summary", "ok"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let groups = form.groups("finding");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups["0"]["issue"], "no n = 0");
        assert_eq!(groups["1"]["area"], "proof");
        assert_eq!(form.keyed("response")["abc"], "fixed");
        assert_eq!(form.text("summary").as_deref(), Some("ok"));
        assert_eq!(form.text("missing"), None);
    }
}
