//! The audit log: append-only and hash-chained.
//!
//! Every state change writes exactly one audit event in the same transaction as the
//! change (R2). Events form one chain per project (`project:<id>`), plus a `system`
//! chain for events that belong to no project (authority administration). Each event
//! stores the digest of its predecessor in the chain and its own digest, computed over
//! the canonical JSON of everything it records (see [`event_document`]). The database
//! rejects UPDATE, DELETE and TRUNCATE on `audit_events`; the chain makes tampering
//! detectable even by someone who can get around those triggers (a superuser, a
//! restored backup, an edited dump).
//!
//! Appending takes a row lock on the chain's head in `audit_chain_heads`, so events of
//! one project are sequenced in commit order without gaps, while different projects
//! append concurrently.
//!
//! [`verify`] recomputes every chain from its first event and reports the first broken
//! link: a digest that does not match its content, a predecessor digest that does not
//! match the previous event, a missing sequence number, or a head that points past the
//! last event (a removed tail).

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use workstream_domain::digest::Digest;

/// The chain of events that belong to no project.
pub const SYSTEM_CHAIN: &str = "system";

/// The chain key of a project's events.
pub fn chain_key(project_id: Option<Uuid>) -> String {
    match project_id {
        Some(id) => format!("project:{id}"),
        None => SYSTEM_CHAIN.to_owned(),
    }
}

/// An event to append.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent {
    /// The project the event belongs to; `None` puts it on the system chain.
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

/// An event as stored: what [`append`] returns and [`verify`] reads.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEvent {
    /// The event id (UUIDv7).
    pub id: Uuid,
    /// Its chain.
    pub chain_key: String,
    /// Its position in the chain, from 1.
    pub chain_seq: i64,
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
    /// The digest of the previous event in the chain (`None` for the first).
    pub prev_digest: Option<String>,
    /// The digest of this event's [`event_document`].
    pub digest: String,
}

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The payload cannot be hashed (it holds a non-integer number).
    #[error("audit payload is not canonical JSON: {0}")]
    Payload(String),
    /// A database error.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// The document an event's digest is computed over: every stored field, the chain
/// position and the predecessor's digest, with the time in RFC 3339 UTC to the
/// microsecond (PostgreSQL's precision, so it reads back identically).
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

fn digest_of(event: &AuditEvent) -> Result<String, AuditError> {
    Digest::of_canonical_json(&event_document(event))
        .map(|d| d.to_string())
        .map_err(|e| AuditError::Payload(e.to_string()))
}

/// Appends `event` to its project's chain inside the caller's transaction.
///
/// The chain head stays locked until the transaction ends, so call this late in a
/// transaction that touches a busy project.
pub async fn append(
    conn: &mut PgConnection,
    event: NewAuditEvent,
) -> Result<AuditEvent, AuditError> {
    let chain_key = chain_key(event.project_id);
    sqlx::query(
        "INSERT INTO audit_chain_heads (chain_key, last_seq, last_digest) \
         VALUES ($1, 0, NULL) ON CONFLICT (chain_key) DO NOTHING",
    )
    .bind(&chain_key)
    .execute(&mut *conn)
    .await?;
    let (last_seq, last_digest, now): (i64, Option<String>, DateTime<Utc>) = sqlx::query_as(
        "SELECT last_seq, last_digest, now() FROM audit_chain_heads \
         WHERE chain_key = $1 FOR UPDATE",
    )
    .bind(&chain_key)
    .fetch_one(&mut *conn)
    .await?;

    let mut stored = AuditEvent {
        id: Uuid::now_v7(),
        chain_key,
        chain_seq: last_seq + 1,
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
        prev_digest: last_digest,
        digest: String::new(),
    };
    stored.digest = digest_of(&stored)?;

    sqlx::query(
        "INSERT INTO audit_events (id, chain_key, chain_seq, project_id, entity_type, \
         entity_id, event_type, from_status, to_status, actor_id, reason, payload, \
         request_id, correlation_id, occurred_at, prev_digest, digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(stored.id)
    .bind(&stored.chain_key)
    .bind(stored.chain_seq)
    .bind(stored.project_id)
    .bind(&stored.entity_type)
    .bind(stored.entity_id)
    .bind(&stored.event_type)
    .bind(&stored.from_status)
    .bind(&stored.to_status)
    .bind(stored.actor_id)
    .bind(&stored.reason)
    .bind(&stored.payload)
    .bind(&stored.request_id)
    .bind(&stored.correlation_id)
    .bind(stored.occurred_at)
    .bind(&stored.prev_digest)
    .bind(&stored.digest)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE audit_chain_heads SET last_seq = $2, last_digest = $3 WHERE chain_key = $1",
    )
    .bind(&stored.chain_key)
    .bind(stored.chain_seq)
    .bind(&stored.digest)
    .execute(&mut *conn)
    .await?;
    Ok(stored)
}

/// What is wrong at a broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// The stored digest is not the digest of the event's content.
    DigestMismatch {
        /// The digest stored on the event.
        stored: String,
        /// The digest of its content.
        computed: String,
    },
    /// The event's predecessor digest is not the previous event's digest.
    PredecessorMismatch {
        /// The predecessor digest stored on the event.
        stored: Option<String>,
        /// The previous event's digest.
        expected: Option<String>,
    },
    /// A sequence number is missing: the event found has a later one.
    MissingEvent {
        /// The sequence number found instead.
        found: i64,
    },
    /// The chain head records more events, or another last digest, than the chain has.
    HeadMismatch {
        /// The head's last sequence number.
        head_seq: i64,
        /// The last event's sequence number.
        last_seq: i64,
    },
}

/// The first broken link of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The sequence number where the chain breaks.
    pub chain_seq: i64,
    /// The event at that position, if there is one.
    pub event_id: Option<Uuid>,
    /// What is wrong.
    pub problem: LinkProblem,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let event = self
            .event_id
            .map(|id| format!(" (event {id})"))
            .unwrap_or_default();
        match &self.problem {
            LinkProblem::DigestMismatch { stored, computed } => write!(
                f,
                "event #{}{event}: content does not match its digest (stored {stored}, computed {computed})",
                self.chain_seq
            ),
            LinkProblem::PredecessorMismatch { stored, expected } => write!(
                f,
                "event #{}{event}: predecessor digest {} does not match the previous event's {}",
                self.chain_seq,
                stored.as_deref().unwrap_or("(none)"),
                expected.as_deref().unwrap_or("(none)")
            ),
            LinkProblem::MissingEvent { found } => write!(
                f,
                "event #{} is missing (the next stored event is #{found})",
                self.chain_seq
            ),
            LinkProblem::HeadMismatch { head_seq, last_seq } => write!(
                f,
                "the chain head records {head_seq} events but the chain ends at #{last_seq}"
            ),
        }
    }
}

/// The result of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The chain verified.
    pub chain_key: String,
    /// How many events were read.
    pub events: u64,
    /// The first broken link, or `None` if the chain verifies.
    pub broken: Option<BrokenLink>,
}

/// Verifies every chain, or only `only` if given.
pub async fn verify(pool: &PgPool, only: Option<&str>) -> Result<Vec<ChainReport>, AuditError> {
    let heads: Vec<(String, i64, Option<String>)> = sqlx::query_as(
        "SELECT chain_key, last_seq, last_digest FROM audit_chain_heads \
         WHERE $1::text IS NULL OR chain_key = $1 ORDER BY chain_key",
    )
    .bind(only)
    .fetch_all(pool)
    .await?;
    let mut reports = Vec::with_capacity(heads.len());
    for (chain_key, head_seq, head_digest) in heads {
        reports.push(verify_chain(pool, chain_key, head_seq, head_digest).await?);
    }
    Ok(reports)
}

async fn verify_chain(
    pool: &PgPool,
    chain_key: String,
    head_seq: i64,
    head_digest: Option<String>,
) -> Result<ChainReport, AuditError> {
    // Streamed: a chain can be far larger than memory should hold.
    let mut events = sqlx::query_as::<_, AuditEvent>(
        "SELECT id, chain_key, chain_seq, project_id, entity_type, entity_id, event_type, \
         from_status, to_status, actor_id, reason, payload, request_id, correlation_id, \
         occurred_at, prev_digest, digest \
         FROM audit_events WHERE chain_key = $1 ORDER BY chain_seq",
    )
    .bind(&chain_key)
    .fetch(pool);

    let mut count = 0u64;
    let mut expected_seq = 1i64;
    let mut previous: Option<String> = None;
    let mut broken = None;
    while let Some(event) = events.try_next().await? {
        count += 1;
        broken = check_link(&event, expected_seq, &previous)?;
        if broken.is_some() {
            break;
        }
        previous = Some(event.digest);
        expected_seq += 1;
    }
    drop(events);
    let last_seq = expected_seq - 1;
    if broken.is_none() && (head_seq != last_seq || head_digest != previous) {
        broken = Some(BrokenLink {
            chain_seq: last_seq + 1,
            event_id: None,
            problem: LinkProblem::HeadMismatch { head_seq, last_seq },
        });
    }
    Ok(ChainReport {
        chain_key,
        events: count,
        broken,
    })
}

fn check_link(
    event: &AuditEvent,
    expected_seq: i64,
    previous: &Option<String>,
) -> Result<Option<BrokenLink>, AuditError> {
    let at = |problem| {
        Some(BrokenLink {
            chain_seq: expected_seq,
            event_id: Some(event.id),
            problem,
        })
    };
    if event.chain_seq != expected_seq {
        return Ok(Some(BrokenLink {
            chain_seq: expected_seq,
            event_id: None,
            problem: LinkProblem::MissingEvent {
                found: event.chain_seq,
            },
        }));
    }
    if &event.prev_digest != previous {
        return Ok(at(LinkProblem::PredecessorMismatch {
            stored: event.prev_digest.clone(),
            expected: previous.clone(),
        }));
    }
    let computed = digest_of(event)?;
    if computed != event.digest {
        return Ok(at(LinkProblem::DigestMismatch {
            stored: event.digest.clone(),
            computed,
        }));
    }
    Ok(None)
}
