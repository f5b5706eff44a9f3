//! The UI's client of the API: requests to the `/api/v1` router in process.
//!
//! A call is an ordinary HTTP request handed to the router with
//! `tower::ServiceExt::oneshot`: the session's token in `Authorization`, the page
//! request's correlation id in `X-Correlation-ID` (so the API's logs and audit events
//! carry the id of the page that caused them), and the form's `Idempotency-Key` on
//! mutations. What comes back is read the way any client reads it: the status, the
//! JSON body, and for a refusal the error envelope (`ApiFailure`).

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::Ui;
use super::failure::{ApiFailure, Failure};
use super::session::Session;

/// Largest API answer read: a packet file shown in the viewer is bounded by the
/// artifact policy's file limit (50 MiB by default), everything else is far smaller.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// An answer from the API.
pub(super) struct Answer {
    pub status: StatusCode,
    /// The JSON body (`Null` when the body is not JSON).
    pub body: Value,
    /// The raw body (packet file bytes).
    pub bytes: Bytes,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The refusal in this answer, if it is one.
    pub fn failure(&self) -> Option<ApiFailure> {
        (!self.ok()).then(|| ApiFailure::from_envelope(self.status, &self.body))
    }

    /// The refusal of a mutation, to show beside its form; a refused session is the
    /// page's [`Failure`] (back to sign-in).
    pub fn refusal(&self) -> Result<Option<ApiFailure>, Failure> {
        match self.failure() {
            Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
            other => Ok(other),
        }
    }

    /// The body of a successful answer; a refusal becomes the page's [`Failure`].
    pub fn json(self) -> Result<Value, Failure> {
        match self.status {
            s if s.is_success() => Ok(self.body),
            StatusCode::UNAUTHORIZED => Err(Failure::SignIn(
                ApiFailure::from_envelope(self.status, &self.body).message,
            )),
            StatusCode::NOT_FOUND => Err(Failure::NotFound),
            _ => Err(Failure::Api(Box::new(ApiFailure::from_envelope(
                self.status,
                &self.body,
            )))),
        }
    }

    /// Like [`Answer::json`], but a 404 (or a 403 the section's role does not hold) is
    /// `None`: for the optional sections of a page.
    pub fn optional(self) -> Result<Option<Value>, Failure> {
        match self.status {
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => Ok(None),
            _ => self.json().map(Some),
        }
    }
}

impl Ui {
    /// Sends `method path` (relative to `/api/v1`) as the session's caller.
    pub(super) async fn call(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Body,
        content_type: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", session.token));
        if let Ok(id) = HeaderValue::from_str(&session.correlation_id) {
            request = request.header(&workstream_api::correlation::HEADER, id);
        }
        if let Some(kind) = content_type {
            request = request.header(header::CONTENT_TYPE, kind);
        }
        if let Some(key) = idempotency_key {
            request = request.header(workstream_api::idempotency::HEADER, key);
        }
        let request = match request.body(body) {
            Ok(request) => request,
            Err(e) => return internal(e),
        };
        let response = match self.api.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = match axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES).await {
            Ok(bytes) => bytes,
            Err(e) => return internal(e),
        };
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            bytes,
        }
    }

    /// `GET path`.
    pub(super) async fn get(&self, session: &Session, path: &str) -> Answer {
        self.call(session, Method::GET, path, Body::empty(), None, None)
            .await
    }

    /// `method path` with a JSON `body` and the form's idempotency key.
    pub(super) async fn send(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: &Value,
        idempotency_key: &str,
    ) -> Answer {
        self.call(
            session,
            method,
            path,
            Body::from(body.to_string()),
            Some("application/json"),
            Some(idempotency_key),
        )
        .await
    }

    /// `POST path` with a JSON `body` and the form's idempotency key.
    pub(super) async fn post(
        &self,
        session: &Session,
        path: &str,
        body: &Value,
        idempotency_key: &str,
    ) -> Answer {
        self.send(session, Method::POST, path, body, idempotency_key)
            .await
    }
}

fn internal(cause: impl std::fmt::Display) -> Answer {
    tracing::error!(%cause, "the UI could not call the API");
    Answer {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        body: serde_json::json!({"error": {
            "code": "internal_error",
            "message": "the page could not reach the API; try again",
        }}),
        bytes: Bytes::new(),
    }
}
