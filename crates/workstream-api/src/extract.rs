//! Request extractors with Workstream's error conventions.
//!
//! axum's own extractors answer bad input with plain-text bodies and assorted
//! statuses; these wrap them so that every rejection is an [`ApiError`] envelope:
//!
//! * [`Json`]: a JSON body. Request types use `#[serde(deny_unknown_fields)]`, so an
//!   unknown field, a wrong type or a missing field is 422 `invalid_request` with the
//!   reason in `details.reason`; a body over the limit is 413 `payload_too_large`.
//! * [`Ids`]: path parameters; an id that is not a UUID is 422 `malformed_id` (R48),
//!   never a 404, so a client can tell a typo from a concealed resource.
//! * [`Query`]: the query string. Query types use `#[serde(deny_unknown_fields)]`, so an
//!   unknown key, a number that is not one (`limit=-1`, `limit=x`) or one out of its
//!   type's range is 422 `invalid_request` with the reason in `details.reason`. Handlers
//!   that must check the caller's access first take `Result<Query<T>, ApiError>`.
//! * [`Multipart`]: a multipart body; one that is not, or lacks its boundary, is 422
//!   `invalid_request`.
//! * [`body`]: a body kept as a `Value` (for the idempotency digest) parsed into its
//!   strict request type, with the same 422 as [`Json`].

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::json;
use workstream_domain::ErrorCode;

use crate::error::ApiError;

/// A JSON request body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::BytesRejection(_) => {
            ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::InvalidRequest,
            "the body must be JSON (Content-Type: application/json)",
        ),
        other => ApiError::new(
            ErrorCode::InvalidRequest,
            "the request body is not valid for this route",
        )
        .with_details(json!({ "reason": other.body_text() })),
    }
}

/// Path parameters (`Ids<Uuid>`, `Ids<(Uuid, Uuid)>`).
#[derive(Debug, Clone, Copy)]
pub struct Ids<T>(pub T);

impl<S, T> FromRequestParts<S> for Ids<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Ids(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    ApiError::new(
        ErrorCode::MalformedId,
        "an identifier in the path is not a valid UUID",
    )
    .with_details(json!({ "reason": rejection.body_text() }))
}

/// The query string parsed into `T`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRequest,
        "the query string is not valid for this route",
    )
    .with_details(json!({ "reason": rejection.body_text() }))
}

/// A `multipart/form-data` body, read part by part by the handler. A body that is not
/// multipart, or has no boundary, is 422 `invalid_request`.
pub struct Multipart(pub axum::extract::Multipart);

impl<S> FromRequest<S> for Multipart
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Multipart::from_request(request, state).await {
            Ok(multipart) => Ok(Multipart(multipart)),
            Err(rejection) => Err(multipart_rejection(rejection)),
        }
    }
}

fn multipart_rejection(rejection: MultipartRejection) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRequest,
        "the body must be multipart/form-data with a boundary",
    )
    .with_details(json!({ "reason": rejection.body_text() }))
}

/// The body of an action that takes no input: exactly `{}`.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// Parses a JSON body (kept as a `Value` for the idempotency digest) into a strict
/// request type: unknown fields and wrong types are 422 `invalid_request` with the
/// reason in `details`.
pub fn body<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(value.clone()).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            "the request body is not valid for this route",
        )
        .with_details(json!({ "reason": e.to_string() }))
    })
}
