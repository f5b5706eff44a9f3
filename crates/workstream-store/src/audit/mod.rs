//! The audit ledger: every state change as an append-only event, sealed into a Merkle
//! tree whose signed checkpoints live outside the database.
//!
//! Every state change writes exactly one audit event in the same transaction as the
//! change. The parts:
//!
//! * [`append`] (this module): the event and its digest, computed over the canonical
//!   JSON of everything it records ([`event_document`]), plus a row in the sealer's
//!   queue. No lock is shared between appends, so the transitions of one project
//!   commit concurrently.
//! * [`seal`]: the sealer takes committed events in batches, gives each a position in
//!   one Merkle tree (the tree of Certificate Transparency,
//!   [`workstream_domain::merkle`]), stores the tree's completed subtrees, and signs a
//!   checkpoint of the new tree (size, root, time) with an Ed25519 key that the
//!   database does not hold. The checkpoint, with the events the batch sealed, is then
//!   written to the object store, write-once. One sealer works at a time (an advisory
//!   lock); every server and worker process runs one.
//! * [`checkpoint`]: the signing key and the signed checkpoint's form.
//! * [`proof`]: inclusion proofs: a task's trail is checked event by event against
//!   the latest checkpoint, in time logarithmic in the ledger's size.
//! * [`verify`]: the whole ledger against the published checkpoints and the key's
//!   public half.
//!
//! # What verification proves, against whom
//!
//! The database rejects UPDATE, DELETE and TRUNCATE on every ledger table; the rest is
//! for whoever can get around that.
//!
//! * **Someone who can write the database** (a superuser, a restored or edited dump):
//!   removing a sealed event, editing one (whether or not every later digest and the
//!   tree are recomputed), reordering events or replacing the tree is reported by
//!   `workstream audit verify`, naming the first event that differs from what a signed
//!   checkpoint sealed, because the checkpoints are in the object store and signed with
//!   a key the database never sees. What they *can* do: add events (the sealer seals
//!   what it finds), and remove or edit an event in the moments between its commit and
//!   its seal (a second, by default); an event that sits in neither the tree nor the
//!   queue is reported.
//! * **Someone who can also write the object store**: deleting the latest checkpoints
//!   together with the tail of the ledger goes unnoticed unless the database still has
//!   them or an auditor kept a later checkpoint; everything else above holds, since a
//!   checkpoint cannot be forged without the key.
//! * **Someone who also holds the signing key** can rewrite the ledger and sign it
//!   again. Only a checkpoint kept elsewhere (an auditor's copy, printed by `audit
//!   verify`) exposes that.
//!
//! Verification never proves that an event describes what really happened: only that
//! the ledger is the one that was sealed.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::digest::Digest;

/// `sqlx::query_as!` of `$row` rows (an [`AuditEvent`], or a row that adds columns
/// `$before` them): `$before` the event's columns of `audit_events e` `$after`.
macro_rules! event_query {
    ($row:ident, $before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            $row,
            $before + " e.id, e.chain_key, e.chain_seq, e.project_id, e.entity_type, e.entity_id, \
             e.event_type, e.from_status, e.to_status, e.actor_id, e.reason, e.payload, \
             e.request_id, e.correlation_id, e.occurred_at, e.prev_digest, e.digest " + $after
            $(, $arg)*
        )
    };
}

/// `sqlx::query_as!` of [`checkpoint::CheckpointRow`]s: `$before` the columns of
/// `audit_checkpoints` `$after`.
macro_rules! checkpoint_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            CheckpointRow,
            $before + " tree_size, previous_size, root, signed_at, key_id, signature " + $after
            $(, $arg)*
        )
    };
}

pub mod checkpoint;
pub mod events;
pub mod proof;
pub mod seal;
pub mod verify;

pub use checkpoint::{Checkpoint, SigningKey, VerifyingKey};
pub use seal::{Sealer, seal_pending};
pub use verify::{LedgerProblem, LedgerReport, verify};

/// The events that belong to no project are grouped under this key.
pub const SYSTEM_CHAIN: &str = "system";

/// The group key of a project's events (`project:<id>`, or [`SYSTEM_CHAIN`]).
pub fn chain_key(project_id: Option<Uuid>) -> String {
    match project_id {
        Some(id) => format!("project:{id}"),
        None => SYSTEM_CHAIN.to_owned(),
    }
}

/// An event to append.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent {
    /// The project the event belongs to; `None` for authority administration.
    pub project_id: Option<Uuid>,
    /// The kind of record that changed (`task`, `project`, `grant`, ...).
    pub entity_type: String,
    /// The record that changed.
    pub entity_id: Option<Uuid>,
    /// What happened (`task_screened`, `pre_submission_check_failed`, ...).
    pub event_type: String,
    /// The record's state before, for state changes.
    pub from_status: Option<String>,
    /// The record's state after, for state changes.
    pub to_status: Option<String>,
    /// Who did it (`None` for the system itself).
    pub actor_id: Option<Uuid>,
    /// The reason given, where one is required.
    pub reason: Option<String>,
    /// Related facts: submission, review, guide version, artifact hashes, matched grant.
    /// Numbers must be integers (canonical JSON).
    pub payload: Value,
    /// The request that caused the event.
    pub request_id: Option<String>,
    /// The correlation id the client sent or was given.
    pub correlation_id: Option<String>,
}

/// An event as stored: what [`append`] returns and verification reads.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEvent {
    /// The event id (UUIDv7).
    pub id: Uuid,
    /// Its group: `project:<id>` or `system`.
    pub chain_key: String,
    /// Its position in its project's hash chain, for events appended before the ledger
    /// (migration 0010); `None` since.
    pub chain_seq: Option<i64>,
    /// See [`NewAuditEvent::project_id`].
    pub project_id: Option<Uuid>,
    /// See [`NewAuditEvent::entity_type`].
    pub entity_type: String,
    /// See [`NewAuditEvent::entity_id`].
    pub entity_id: Option<Uuid>,
    /// See [`NewAuditEvent::event_type`].
    pub event_type: String,
    /// See [`NewAuditEvent::from_status`].
    pub from_status: Option<String>,
    /// See [`NewAuditEvent::to_status`].
    pub to_status: Option<String>,
    /// See [`NewAuditEvent::actor_id`].
    pub actor_id: Option<Uuid>,
    /// See [`NewAuditEvent::reason`].
    pub reason: Option<String>,
    /// See [`NewAuditEvent::payload`].
    pub payload: Value,
    /// See [`NewAuditEvent::request_id`].
    pub request_id: Option<String>,
    /// See [`NewAuditEvent::correlation_id`].
    pub correlation_id: Option<String>,
    /// Database time of the transaction that appended it.
    pub occurred_at: DateTime<Utc>,
    /// The predecessor's digest in the old per-project chain (`None` since the ledger).
    pub prev_digest: Option<String>,
    /// The digest of this event's [`event_document`].
    pub digest: String,
}

/// The columns of [`AuditEvent`], for `SELECT`s outside this crate (which read it
/// through its `FromRow`).
pub const EVENT_COLUMNS: &str = "id, chain_key, chain_seq, project_id, entity_type, entity_id, \
     event_type, from_status, to_status, actor_id, reason, payload, request_id, \
     correlation_id, occurred_at, prev_digest, digest";

/// [`EVENT_COLUMNS`] of the table aliased `alias` (`e.id, e.chain_key, ...`), for
/// `SELECT`s that join the events to another table.
pub fn event_columns_of(alias: &str) -> String {
    EVENT_COLUMNS
        .split(", ")
        .map(|column| format!("{alias}.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every event about one task of `project_id`, in ledger order, events not sealed yet
/// last: those whose entity is the task, one of its submissions, packet admissions or
/// awards, or whose payload names the task (`task_id`: review leases, revision context
/// preparations). Each branch is an index lookup (`audit_events_entity_idx`,
/// `audit_events_task_idx`, `contribution_records_task_idx`: migrations/0012), so the
/// read costs the trail's size, not the project's history.
pub async fn task_trail(
    conn: &mut PgConnection,
    task_id: Uuid,
    project_id: Uuid,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    event_query!(
        AuditEvent,
        "SELECT",
        "FROM audit_events e LEFT JOIN audit_ledger l ON l.event_id = e.id \
         WHERE e.project_id = $2 AND e.id IN ( \
           SELECT id FROM audit_events WHERE entity_id IN ( \
             SELECT $1::uuid \
             UNION ALL SELECT id FROM submissions WHERE task_id = $1 \
             UNION ALL SELECT id FROM submission_bundle_admissions WHERE task_id = $1 \
             UNION ALL SELECT a.id FROM compensation_awards a \
                       JOIN contribution_records c ON c.id = a.contribution_record_id \
                       WHERE c.task_id = $1) \
           UNION \
           SELECT id FROM audit_events WHERE payload ? 'task_id' AND payload ->> 'task_id' = $1::text) \
         ORDER BY l.leaf_index NULLS LAST, e.occurred_at, e.id",
        task_id,
        project_id,
    )
    .fetch_all(conn)
    .await
}

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The payload cannot be hashed (it holds a non-integer number).
    #[error("audit payload is not canonical JSON: {0}")]
    Payload(String),
    /// The signing key cannot be read or made.
    #[error("audit signing key: {0}")]
    Key(String),
    /// A checkpoint in the object store cannot be written or read.
    #[error("audit checkpoint: {0}")]
    Checkpoint(String),
    /// A database error.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// The document an event's digest is computed over: every stored field, with the time
/// in RFC 3339 UTC to the microsecond (PostgreSQL's precision, so it reads back
/// identically). `chain_seq` and `prev_digest` are null since the ledger; events from
/// before it keep the values their digests were computed with.
pub fn event_document(event: &AuditEvent) -> Value {
    json!({
        "id": event.id.to_string(),
        "chain_key": event.chain_key,
        "chain_seq": event.chain_seq,
        "project_id": event.project_id.map(|id| id.to_string()),
        "entity_type": event.entity_type,
        "entity_id": event.entity_id.map(|id| id.to_string()),
        "event_type": event.event_type,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor_id": event.actor_id.map(|id| id.to_string()),
        "reason": event.reason,
        "payload": event.payload,
        "request_id": event.request_id,
        "correlation_id": event.correlation_id,
        "occurred_at": event.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "prev_digest": event.prev_digest,
    })
}

/// The digest of `event`'s content, recomputed.
pub fn content_digest(event: &AuditEvent) -> Result<Digest, AuditError> {
    Digest::of_canonical_json(&event_document(event))
        .map_err(|e| AuditError::Payload(e.to_string()))
}

/// Appends `event` inside the caller's transaction: the event and its place in the
/// sealer's queue, nothing that another append waits for.
pub async fn append(
    conn: &mut PgConnection,
    event: NewAuditEvent,
) -> Result<AuditEvent, AuditError> {
    // The transaction's own time, as every other record it writes carries.
    let now = sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
        .fetch_one(&mut *conn)
        .await?;
    append_at(conn, event, now).await
}

/// [`append`] with the transaction's time already known: `now` must be the caller's
/// transaction's `now()`, as a row it wrote in this transaction carries it (a
/// `updated_at` the touch trigger set), which saves the round trip that reads it.
pub async fn append_at(
    conn: &mut PgConnection,
    event: NewAuditEvent,
    now: DateTime<Utc>,
) -> Result<AuditEvent, AuditError> {
    let mut stored = AuditEvent {
        id: Uuid::now_v7(),
        chain_key: chain_key(event.project_id),
        chain_seq: None,
        project_id: event.project_id,
        entity_type: event.entity_type,
        entity_id: event.entity_id,
        event_type: event.event_type,
        from_status: event.from_status,
        to_status: event.to_status,
        actor_id: event.actor_id,
        reason: event.reason,
        payload: event.payload,
        request_id: event.request_id,
        correlation_id: event.correlation_id,
        occurred_at: now,
        prev_digest: None,
        digest: String::new(),
    };
    stored.digest = content_digest(&stored)?.to_string();

    sqlx::query!(
        "WITH event AS ( \
           INSERT INTO audit_events (id, chain_key, project_id, entity_type, entity_id, \
             event_type, from_status, to_status, actor_id, reason, payload, request_id, \
             correlation_id, occurred_at, digest) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
           RETURNING id) \
         INSERT INTO audit_unsealed (event_id) SELECT id FROM event",
        stored.id,
        stored.chain_key,
        stored.project_id,
        stored.entity_type,
        stored.entity_id,
        stored.event_type,
        stored.from_status.as_deref(),
        stored.to_status.as_deref(),
        stored.actor_id,
        stored.reason.as_deref(),
        stored.payload,
        stored.request_id.as_deref(),
        stored.correlation_id.as_deref(),
        stored.occurred_at,
        stored.digest,
    )
    .execute(&mut *conn)
    .await?;
    Ok(stored)
}
