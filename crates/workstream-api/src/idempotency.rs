//! `Idempotency-Key`: every mutation can be retried safely.
//!
//! A client sends a UUID in `Idempotency-Key` with each mutation. The first request
//! runs and its response is stored, in the same transaction as the change itself, under
//! (actor, operation, key). A retry with the same key and the same request gets the
//! stored response back (with `Idempotency-Replayed: true`) without running again; the
//! same key with a different request is 409 `idempotency_mismatch` (R15). Replays
//! happen only after the caller's authority was checked again by the handler, so a
//! revoked grant cannot be bypassed by replaying an old key.
//!
//! Two concurrent requests with one key both run, but only one commits: the loser's
//! insert violates the unique key, its transaction rolls back, and it answers with the
//! winner's stored response.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::{Digest, to_canonical_bytes};
use workstream_engine::error::violated_constraint;
use workstream_store::idempotency::{self, RecordKey};

use crate::error::ApiError;

/// A response whose body is a `T` serialized as JSON: a fresh answer, or the stored
/// one an idempotent replay gives back (which was a `T` when it was stored).
pub struct Answer<T> {
    response: Response,
    body: PhantomData<fn() -> T>,
}

impl<T> Answer<T> {
    /// A response known to hold a `T` (made from one, or stored from one).
    pub fn holding(response: Response) -> Answer<T> {
        Answer {
            response,
            body: PhantomData,
        }
    }
}

impl<T> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        self.response
    }
}

/// The header carrying the key.
pub const HEADER: &str = "idempotency-key";

/// A validated `Idempotency-Key` (a UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyKey(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(HEADER).ok_or_else(|| {
            ApiError::new(
                ErrorCode::IdempotencyKeyRequired,
                "mutations need an Idempotency-Key header holding a UUID",
            )
        })?;
        value
            .to_str()
            .ok()
            .and_then(|text| Uuid::parse_str(text).ok())
            .map(IdempotencyKey)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::IdempotencyKeyInvalid,
                    "the Idempotency-Key header must be a UUID",
                )
            })
    }
}

/// The digest a request is compared by: its canonical JSON (key order and whitespace
/// do not matter), or its bytes when it holds non-integer numbers.
fn request_digest(operation: &str, request: &Value) -> String {
    let document = serde_json::json!({ "operation": operation, "request": request });
    match to_canonical_bytes(&document) {
        Ok(bytes) => Digest::of_bytes(&bytes).to_string(),
        Err(_) => Digest::of_bytes(document.to_string().as_bytes()).to_string(),
    }
}

/// Runs `mutation` once per (actor, operation, key), in one transaction with the
/// stored response. `request` is what identifies the request: its path ids and body.
/// The mutation answers a status and a `T`; a replay answers the stored one, which was
/// a `T` when it was stored, so the answer is documented as a `T` ([`Answer`]).
pub async fn run<T, F>(
    pool: &PgPool,
    actor_id: Uuid,
    operation: &str,
    key: IdempotencyKey,
    request: &Value,
    mutation: F,
) -> Result<Answer<T>, ApiError>
where
    T: Serialize,
    F: AsyncFnOnce(&mut PgConnection) -> Result<(StatusCode, T), ApiError>,
{
    let digest = request_digest(operation, request);
    let mut tx = pool.begin().await?;
    if let Some(stored) = stored(&mut tx, actor_id, operation, key, &digest).await? {
        return Ok(Answer::holding(stored));
    }
    let (status, body) = match mutation(&mut tx).await {
        Ok(answer) => answer,
        Err(refused) => {
            // Roll back before answering: a dropped transaction's rollback runs only when
            // its connection goes back to the pool, after the answer has left, and until
            // then its row locks stand. A client's next request (a claim that skips
            // locked queue entries) must not meet the locks of a command already refused.
            // A failed rollback closes the connection, which ends the transaction too.
            let _ = tx.rollback().await;
            return Err(refused);
        }
    };
    let body = serde_json::to_value(body).map_err(ApiError::internal)?;
    let record = RecordKey {
        actor_id,
        operation,
        key: key.0,
    };
    let insert = idempotency::record(&mut tx, record, &digest, status.as_u16(), &body).await;
    let committed = match insert {
        Ok(_) => tx.commit().await,
        Err(err) => Err(err),
    };
    match committed {
        Ok(()) => Ok(Answer::holding((status, axum::Json(body)).into_response())),
        Err(err) if violated_constraint(&err) == Some(idempotency::KEY_CONSTRAINT) => {
            // A concurrent request with the same key won; answer as its replay.
            let mut conn = pool.acquire().await?;
            stored(&mut conn, actor_id, operation, key, &digest)
                .await?
                .map(Answer::holding)
                .ok_or_else(|| ApiError::from(err))
        }
        Err(err) => Err(err.into()),
    }
}

async fn stored(
    conn: &mut PgConnection,
    actor_id: Uuid,
    operation: &str,
    key: IdempotencyKey,
    digest: &str,
) -> Result<Option<Response>, ApiError> {
    let record = RecordKey {
        actor_id,
        operation,
        key: key.0,
    };
    let Some(stored) = idempotency::find(conn, record).await? else {
        return Ok(None);
    };
    let (stored_digest, status, body) = (
        stored.request_hash,
        stored.response_status,
        stored.response_body,
    );
    if stored_digest != digest {
        return Err(ApiError::new(
            ErrorCode::IdempotencyMismatch,
            "this Idempotency-Key was used for a different request",
        ));
    }
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert("idempotency-replayed", HeaderValue::from_static("true"));
    Ok(Some(response))
}
