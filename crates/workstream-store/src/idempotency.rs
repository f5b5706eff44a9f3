//! Stored answers of mutations, by (actor, operation, key): what makes a retried
//! request answer what the first one did instead of running again.
//!
//! The API decides what a request is (its digest) and what to answer; this module only
//! keeps the record, written in the mutation's own transaction so the answer and the
//! change commit together.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// The unique constraint a concurrent insert of the same key breaks.
pub const KEY_CONSTRAINT: &str = "idempotency_records_actor_operation_key";

/// Which request a record answers.
#[derive(Debug, Clone, Copy)]
pub struct RecordKey<'a> {
    /// Who sent it.
    pub actor_id: Uuid,
    /// The operation's name (a route's method and template).
    pub operation: &'a str,
    /// The client's `Idempotency-Key`.
    pub key: Uuid,
}

/// A stored answer.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    /// The digest of the request it answered.
    pub request_hash: String,
    /// The HTTP status it was answered with.
    pub response_status: i32,
    /// The body it was answered with.
    pub response_body: Value,
}

/// The stored answer for `key`, if there is one.
pub async fn find(
    conn: &mut PgConnection,
    key: RecordKey<'_>,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    sqlx::query_as!(
        StoredAnswer,
        "SELECT request_hash, response_status, response_body FROM idempotency_records \
         WHERE actor_id = $1 AND operation = $2 AND idempotency_key = $3",
        key.actor_id,
        key.operation,
        key.key.to_string(),
    )
    .fetch_optional(conn)
    .await
}

/// Stores the answer for `key`; a concurrent request with the same key breaks
/// [`KEY_CONSTRAINT`].
pub async fn record(
    conn: &mut PgConnection,
    key: RecordKey<'_>,
    request_hash: &str,
    status: u16,
    body: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO idempotency_records (id, actor_id, operation, idempotency_key, \
         request_hash, response_status, response_body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        Uuid::now_v7(),
        key.actor_id,
        key.operation,
        key.key.to_string(),
        request_hash,
        i32::from(status),
        body,
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Whether the task the stored answer for `key` shows has moved to another status
/// since (none when no answer of that task is stored): such a replay would mislead.
pub async fn task_moved_on(
    conn: &mut PgConnection,
    key: RecordKey<'_>,
    task_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query_scalar!(
        r#"SELECT r.response_body -> 'task' ->> 'status' IS DISTINCT FROM t.status AS "moved!"
         FROM idempotency_records r JOIN tasks t ON t.id = $4
         WHERE r.actor_id = $1 AND r.operation = $2 AND r.idempotency_key = $3
         AND r.response_body -> 'task' ->> 'id' = $4::text"#,
        key.actor_id,
        key.operation,
        key.key.to_string(),
        task_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(moved == Some(true))
}
