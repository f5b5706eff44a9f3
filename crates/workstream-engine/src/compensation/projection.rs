//! The compensation status projection, derived from facts (docs/rules.md, docs/lifecycle.md; R44).
//!
//! A projection row is never a source of truth: each of its fields follows from the
//! award, its delivery outbox rows and its fulfilment receipts ([`derive`]), and every
//! writer goes through [`refresh`], which recomputes one award's row from those facts.
//! [`rebuild`] does the same for a whole project and reports what it changed, so a
//! corrupted or missing row is put back, and the facts are never touched.
//!
//! | field | follows from |
//! |---|---|
//! | `delivery_status`, `acknowledged_at` | an `acknowledged` outbox row (its earliest `acknowledged_at`) |
//! | `fulfillment_status` | the fulfilled receipt, else any failed receipt, else `pending` |
//! | `latest_receipt_id` | the fulfilled receipt, else the latest failed one |
//! | `external_reference`, `fulfilled_at` | the fulfilled receipt |
//! | `last_failure_code` | the latest failed receipt |
//!
//! Writers lock the award row first (`lock_award`), then write the projection: the
//! callback, the delivery acknowledgement and a rebuild of the same award serialize.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::machines::compensation::{DeliveryStatus, FulfilmentStatus};
use workstream_store::audit::NewAuditEvent;

use crate::CommandError;
use crate::audit::record;
use crate::requester::Requester;

/// One award's projection: stored, or as the facts say it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ProjectionState {
    /// The award.
    pub compensation_award_id: Uuid,
    /// `pending_delivery` or `acknowledged_by_adapter`.
    pub delivery_status: DeliveryStatus,
    /// `pending`, `failed` or `fulfilled`.
    pub fulfillment_status: FulfilmentStatus,
    /// The fulfilled receipt, else the latest failed one.
    pub latest_receipt_id: Option<Uuid>,
    /// The provider's reference of the fulfilment.
    pub external_reference: Option<String>,
    /// The latest failure code reported.
    pub last_failure_code: Option<String>,
    /// When the adapter acknowledged the delivery.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When the provider fulfilled the award.
    pub fulfilled_at: Option<DateTime<Utc>>,
}

/// Which awards to derive.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    Project(Uuid),
    Award(Uuid),
}

/// `sqlx::query_as!` of `$row` rows: `$select` from `facts`, one row per award matching
/// `$filter` (a condition on `a`, the awards, with `$1`, the one argument), then
/// `$after`. Each row of `facts` holds the projection the award's facts imply
/// (`compensation_award_id`, `delivery_status`, `fulfillment_status`,
/// `latest_receipt_id`, `external_reference`, `last_failure_code`, `acknowledged_at`,
/// `fulfilled_at`) and the award's `project_id`, `instrument_type`, `unit_code` and
/// `quantity` (numeric) for reports that group by them. `$2` to `$9` are the states.
macro_rules! facts_query {
    ($row:ident, $select:tt, $filter:tt, $after:tt, $id:expr $(,)?) => {
        sqlx::query_as!(
            $row,
            $select + " FROM (SELECT a.id AS compensation_award_id, a.project_id, a.instrument_type, \
               a.unit_code, a.quantity, \
               CASE WHEN ack.at IS NULL THEN $2 ELSE $3 END AS delivery_status, \
               CASE WHEN f.id IS NOT NULL THEN $4 WHEN l.id IS NOT NULL THEN $5 ELSE $6 END \
                 AS fulfillment_status, \
               coalesce(f.id, l.id) AS latest_receipt_id, \
               f.external_reference, l.failure_code AS last_failure_code, \
               ack.at AS acknowledged_at, f.fulfilled_at \
             FROM compensation_awards a \
             LEFT JOIN LATERAL (SELECT min(o.acknowledged_at) AS at FROM award_delivery_outbox o \
                WHERE o.compensation_award_id = a.id AND o.state = $9) ack ON true \
             LEFT JOIN LATERAL (SELECT r.id, r.external_reference, r.fulfilled_at \
                FROM compensation_fulfillment_receipts r \
                WHERE r.compensation_award_id = a.id AND r.reported_status = $7) f ON true \
             LEFT JOIN LATERAL (SELECT r.id, r.failure_code FROM compensation_fulfillment_receipts r \
                WHERE r.compensation_award_id = a.id AND r.reported_status = $8 \
                ORDER BY r.received_at DESC, r.id DESC LIMIT 1) l ON true \
             WHERE " + $filter + ") facts " + $after,
            $id,
            ::workstream_domain::machines::compensation::DeliveryStatus::PendingDelivery.as_str(),
            ::workstream_domain::machines::compensation::DeliveryStatus::AcknowledgedByAdapter.as_str(),
            ::workstream_domain::machines::compensation::FulfilmentStatus::Fulfilled.as_str(),
            ::workstream_domain::machines::compensation::FulfilmentStatus::Failed.as_str(),
            ::workstream_domain::machines::compensation::FulfilmentStatus::Pending.as_str(),
            ::workstream_domain::machines::compensation::ReportedStatus::Fulfilled.as_str(),
            ::workstream_domain::machines::compensation::ReportedStatus::Failed.as_str(),
            ::workstream_domain::machines::compensation::OutboxState::Acknowledged.as_str(),
        )
    };
}

pub(crate) use facts_query;

/// `sqlx::query_as!` of [`ProjectionState`] rows from `facts` (see `facts_query`).
macro_rules! derived_query {
    ($filter:tt, $id:expr) => {
        facts_query!(
            ProjectionState,
            r#"SELECT compensation_award_id AS "compensation_award_id!", delivery_status AS "delivery_status!: _",
               fulfillment_status AS "fulfillment_status!: _", latest_receipt_id AS "latest_receipt_id?",
               external_reference AS "external_reference?", last_failure_code AS "last_failure_code?",
               acknowledged_at AS "acknowledged_at?", fulfilled_at AS "fulfilled_at?""#,
            $filter,
            "ORDER BY compensation_award_id",
            $id,
        )
    };
}

/// The projections the facts imply for every award in `scope`, by award id.
pub(crate) async fn derive(
    conn: &mut PgConnection,
    scope: Scope,
) -> Result<Vec<ProjectionState>, CommandError> {
    let rows = match scope {
        Scope::Project(id) => {
            derived_query!("a.project_id = $1", id)
                .fetch_all(&mut *conn)
                .await?
        }
        Scope::Award(id) => {
            derived_query!("a.id = $1", id)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    Ok(rows)
}

/// `sqlx::query_as!` of the stored [`ProjectionState`] rows of the awards `a` matching
/// `$filter` (with `$1`).
macro_rules! stored_query {
    ($filter:tt, $id:expr) => {
        sqlx::query_as!(
            ProjectionState,
            r#"SELECT p.compensation_award_id, p.delivery_status AS "delivery_status: _",
               p.fulfillment_status AS "fulfillment_status: _", p.latest_receipt_id, p.external_reference,
               p.last_failure_code, p.acknowledged_at, p.fulfilled_at
               FROM compensation_status_projections p
               JOIN compensation_awards a ON a.id = p.compensation_award_id WHERE "# + $filter,
            $id
        )
    };
}

/// The stored projections of every award in `scope`, by award id.
pub(crate) async fn stored(
    conn: &mut PgConnection,
    scope: Scope,
) -> Result<HashMap<Uuid, ProjectionState>, CommandError> {
    let rows = match scope {
        Scope::Project(id) => {
            stored_query!("a.project_id = $1", id)
                .fetch_all(&mut *conn)
                .await?
        }
        Scope::Award(id) => stored_query!("a.id = $1", id).fetch_all(&mut *conn).await?,
    };
    Ok(rows
        .into_iter()
        .map(|p| (p.compensation_award_id, p))
        .collect())
}

/// Locks one award's row: the first lock of every projection writer.
pub(crate) async fn lock_award(
    conn: &mut PgConnection,
    award_id: Uuid,
) -> Result<(), CommandError> {
    sqlx::query_scalar!(
        "SELECT 1 AS locked FROM compensation_awards WHERE id = $1 FOR UPDATE",
        award_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(())
}

/// Writes `state` as the award's projection (creating the row if it is missing).
async fn write(conn: &mut PgConnection, state: &ProjectionState) -> Result<(), CommandError> {
    sqlx::query!(
        "INSERT INTO compensation_status_projections (compensation_award_id, project_id, \
           delivery_status, fulfillment_status, latest_receipt_id, external_reference, \
           last_failure_code, acknowledged_at, fulfilled_at) \
         SELECT a.id, a.project_id, $2, $3, $4, $5, $6, $7, $8 FROM compensation_awards a WHERE a.id = $1 \
         ON CONFLICT (compensation_award_id) DO UPDATE SET \
           delivery_status = EXCLUDED.delivery_status, fulfillment_status = EXCLUDED.fulfillment_status, \
           latest_receipt_id = EXCLUDED.latest_receipt_id, external_reference = EXCLUDED.external_reference, \
           last_failure_code = EXCLUDED.last_failure_code, acknowledged_at = EXCLUDED.acknowledged_at, \
           fulfilled_at = EXCLUDED.fulfilled_at",
        state.compensation_award_id,
        state.delivery_status.as_str(),
        state.fulfillment_status.as_str(),
        state.latest_receipt_id,
        state.external_reference.as_deref(),
        state.last_failure_code.as_deref(),
        state.acknowledged_at,
        state.fulfilled_at,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Recomputes one award's projection from its facts, inside the caller's transaction
/// (which must hold the award's lock, [`lock_award`]). Returns the new state.
pub(crate) async fn refresh(
    conn: &mut PgConnection,
    award_id: Uuid,
) -> Result<ProjectionState, CommandError> {
    let state = derive(conn, Scope::Award(award_id))
        .await?
        .pop()
        .ok_or_else(CommandError::not_found)?;
    let current = stored(conn, Scope::Award(award_id)).await?;
    if current.get(&award_id) != Some(&state) {
        write(conn, &state).await?;
    }
    Ok(state)
}

/// One projection a rebuild changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RebuiltProjection {
    /// The award.
    pub compensation_award_id: Uuid,
    /// The row before (`None`: it was missing).
    pub before: Option<ProjectionState>,
    /// The row as the facts say.
    pub after: ProjectionState,
    /// The fields that differed (all of them for a missing row).
    pub changed_fields: Vec<&'static str>,
}

/// What [`rebuild`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RebuildReport {
    /// The project.
    pub project_id: Uuid,
    /// Awards looked at.
    pub awards_checked: usize,
    /// The projections rewritten, by award id.
    pub changed: Vec<RebuiltProjection>,
}

/// The fields in which `a` and `b` differ.
pub(crate) fn differences(a: Option<&ProjectionState>, b: &ProjectionState) -> Vec<&'static str> {
    let Some(a) = a else {
        return vec!["row_missing"];
    };
    let mut fields = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            fields.push(name);
        }
    };
    check("delivery_status", a.delivery_status != b.delivery_status);
    check(
        "fulfillment_status",
        a.fulfillment_status != b.fulfillment_status,
    );
    check(
        "latest_receipt_id",
        a.latest_receipt_id != b.latest_receipt_id,
    );
    check(
        "external_reference",
        a.external_reference != b.external_reference,
    );
    check(
        "last_failure_code",
        a.last_failure_code != b.last_failure_code,
    );
    check("acknowledged_at", a.acknowledged_at != b.acknowledged_at);
    check("fulfilled_at", a.fulfilled_at != b.fulfilled_at);
    fields
}

/// Recomputes every projection of `project_id` from awards, outbox and receipts,
/// rewrites those that differ (or are missing), and records one audit event
/// (`compensation_projections_rebuilt`). Facts are only read (R44).
pub async fn rebuild(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
) -> Result<RebuildReport, CommandError> {
    // The project's awards in id order: the same order every writer of one award
    // takes, so a rebuild and a callback cannot deadlock.
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "locked!" FROM (SELECT 1 FROM compensation_awards
           WHERE project_id = $1 ORDER BY id FOR UPDATE) awards"#,
        project_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let expected = derive(conn, Scope::Project(project_id)).await?;
    let current = stored(conn, Scope::Project(project_id)).await?;
    let mut changed = Vec::new();
    for state in &expected {
        let before = current.get(&state.compensation_award_id);
        let fields = differences(before, state);
        if fields.is_empty() {
            continue;
        }
        write(conn, state).await?;
        changed.push(RebuiltProjection {
            compensation_award_id: state.compensation_award_id,
            before: before.cloned(),
            after: state.clone(),
            changed_fields: fields,
        });
    }
    let changed_ids: Vec<Uuid> = changed.iter().map(|c| c.compensation_award_id).collect();
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "project".into(),
            entity_id: Some(project_id),
            event_type: "compensation_projections_rebuilt".into(),
            payload: json!({
                "awards_checked": expected.len(),
                "changed_award_ids": changed_ids,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(RebuildReport {
        project_id,
        awards_checked: expected.len(),
        changed,
    })
}
