//! A project's audit events as a filtered, paged list (the project audit routes and
//! their export): the events with their authors' names and their places in the ledger.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// Which events: every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events of this type.
    pub event_type: Option<String>,
    /// Only events about entities of this type.
    pub entity_type: Option<String>,
    /// Only events about this entity.
    pub entity_id: Option<Uuid>,
    /// Only events by this actor.
    pub actor_id: Option<Uuid>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
}

/// An audit event of the project, with its author's name and its place in the ledger
/// (null until sealed).
#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
pub struct EventRow {
    /// The event.
    pub id: Uuid,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What happened (`task_claimed`, `review_decided`, ...).
    pub event_type: String,
    /// The kind of record it is about.
    pub entity_type: String,
    /// The record it is about.
    pub entity_id: Option<Uuid>,
    /// The record's state before, for a move.
    pub from_status: Option<String>,
    /// The record's state after, for a move.
    pub to_status: Option<String>,
    /// Who did it (none for the platform itself).
    pub actor_id: Option<Uuid>,
    /// Their name.
    pub actor_name: Option<String>,
    /// The reason they gave.
    pub reason: Option<String>,
    /// What the event records.
    pub payload: Value,
    /// The request that caused it.
    pub correlation_id: Option<String>,
    /// The event's digest.
    pub digest: String,
    /// Its position in the ledger, once sealed.
    pub leaf_index: Option<i64>,
}

/// The events of `project_id` matching `filter` after the event `after`, oldest first,
/// at most `limit`; none when `after` is not an event of the project. Only the filters
/// given are written into the statement, so each shape gets its own plan, and the
/// cursor is the event's time and id, so a page is one index range.
pub async fn page(
    conn: &mut PgConnection,
    project_id: Uuid,
    filter: &EventFilter,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Option<Vec<EventRow>>, sqlx::Error> {
    // The cursor event's time, so that the page is one index range.
    let after = match after {
        Some(id) => {
            let at = sqlx::query!(
                "SELECT occurred_at, id FROM audit_events WHERE id = $1 AND project_id = $2",
                id,
                project_id,
            )
            .fetch_optional(&mut *conn)
            .await?;
            match at {
                Some(at) => Some((at.occurred_at, at.id)),
                None => return Ok(None),
            }
        }
        None => None,
    };
    // Dynamic SQL: only the filters given are written, so each combination of filters
    // gets a plan of its own (an index range) rather than one generic plan for all.
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT e.id, e.occurred_at, e.event_type, e.entity_type, e.entity_id, e.from_status, \
         e.to_status, e.actor_id, \
         CASE WHEN e.actor_id IS NOT NULL THEN workstream_actor_label(e.actor_id) END AS actor_name, \
         e.reason, e.payload, e.correlation_id, e.digest, l.leaf_index \
         FROM audit_events e LEFT JOIN audit_ledger l ON l.event_id = e.id \
         WHERE e.project_id = ",
    );
    query.push_bind(project_id);
    if let Some(v) = &filter.event_type {
        query.push(" AND e.event_type = ").push_bind(v);
    }
    if let Some(v) = &filter.entity_type {
        query.push(" AND e.entity_type = ").push_bind(v);
    }
    if let Some(v) = filter.entity_id {
        query.push(" AND e.entity_id = ").push_bind(v);
    }
    if let Some(v) = filter.actor_id {
        query.push(" AND e.actor_id = ").push_bind(v);
    }
    if let Some(v) = filter.since {
        query.push(" AND e.occurred_at >= ").push_bind(v);
    }
    if let Some(v) = filter.until {
        query.push(" AND e.occurred_at < ").push_bind(v);
    }
    if let Some((at, id)) = after {
        query
            .push(" AND (e.occurred_at, e.id) > (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    query
        .push(" ORDER BY e.occurred_at, e.id LIMIT ")
        .push_bind(i64::from(limit));
    Ok(Some(query.build_query_as().fetch_all(&mut *conn).await?))
}
