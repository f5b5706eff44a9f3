//! Finance reconciliation of one project (docs/rules.md; R44).
//!
//! [`reconcile`] reads the awards, their delivery outbox rows, receipts and
//! projections, and reports every mismatch as a [`Finding`] with a stable `kind` and
//! the ids to follow up. It writes nothing: each finding is an operations issue for a
//! person, never a silent correction (a drifted projection is put back by an explicit
//! [`super::projection::rebuild`]).
//!
//! | kind | meaning |
//! |---|---|
//! | `contribution_missing_award` | a contribution whose frozen rule is compensated lacks the award of one of its definitions |
//! | `award_missing_projection` | an award without its status projection row |
//! | `award_missing_delivery` | an award without a delivery outbox row |
//! | `delivery_pending_past_sla` | an outbox row not acknowledged within the SLA of its creation |
//! | `acknowledged_without_receipt` | a delivery acknowledged longer than the SLA ago with no receipt at all |
//! | `fulfilled_receipt_missing_reference` | a fulfilled receipt without a usable external reference |
//! | `receipt_quantity_mismatch` | a fulfilled receipt whose quantity is not the award's |
//! | `award_terms_mismatch` | an award whose quantity, unit, instrument or binding is not its definition's |
//! | `projection_drift` | a projection that differs from what the facts imply |
//!
//! The totals are computed from the facts (not the projections), per instrument, unit
//! and status, with the payment dashboard figures beside them (docs/rules.md, R44).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::contribution::CompensationMode;
use workstream_domain::machines::compensation::{
    DeliveryStatus, FulfilmentStatus, OutboxState, ReportedStatus,
};

use super::projection::{self, Scope, differences, facts_query};
use crate::CommandError;

/// The default SLA for deliveries and acknowledgements: one day (the pilot's daily
/// reconciliation).
pub const DEFAULT_PENDING_SLA_SECONDS: i64 = 24 * 60 * 60;

/// One mismatch.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    /// What is wrong (see the module docs).
    pub kind: &'static str,
    /// The records involved (`award_id`, `contribution_record_id`, `outbox_id`,
    /// `receipt_id`, ...).
    pub ids: Value,
    /// What was found.
    pub details: Value,
}

/// Award count and summed quantity of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Total {
    /// `money` or `project_points`.
    pub instrument_type: String,
    /// The ISO code or points unit.
    pub unit_code: String,
    /// The delivery status (absent in per-unit sums).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_status: Option<DeliveryStatus>,
    /// The fulfilment status (absent in per-unit sums).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment_status: Option<FulfilmentStatus>,
    /// Awards in the group.
    pub award_count: i64,
    /// Their summed quantity, a decimal string.
    pub quantity: String,
}

/// The finance dashboard (docs/rules.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Dashboard {
    /// Awards not yet acknowledged by their adapter.
    pub pending_delivery: i64,
    /// Awards acknowledged but not fulfilled.
    pub acknowledged_not_fulfilled: i64,
    /// Awards whose latest report is a failure.
    pub failed: i64,
    /// Fulfilled awards and the quantity paid (from the receipts), per instrument and unit.
    pub fulfilled: Vec<Total>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Reconciliation {
    /// The project.
    pub project_id: Uuid,
    /// Database time of the report.
    pub generated_at: DateTime<Utc>,
    /// The SLA applied.
    pub pending_sla_seconds: i64,
    /// Every mismatch, grouped by kind in the module's order.
    pub findings: Vec<Finding>,
    /// Awards per instrument, unit, delivery and fulfilment status.
    pub totals: Vec<Total>,
    /// The payment dashboard figures (docs/rules.md, R44).
    pub dashboard: Dashboard,
}

/// Reconciles `project_id` with `pending_sla_seconds` as the SLA (see the module docs):
/// the findings of every check in the module's order, then the totals and the dashboard.
pub async fn reconcile(
    conn: &mut PgConnection,
    project_id: Uuid,
    pending_sla_seconds: i64,
) -> Result<Reconciliation, CommandError> {
    if pending_sla_seconds < 0 {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "pending_sla_seconds is not negative",
        ));
    }
    let generated_at = sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
        .fetch_one(&mut *conn)
        .await?;
    let findings = findings(conn, project_id, pending_sla_seconds as f64).await?;
    let totals = totals(conn, project_id).await?;
    let dashboard = dashboard(conn, project_id, &totals).await?;
    Ok(Reconciliation {
        project_id,
        generated_at,
        pending_sla_seconds,
        findings,
        totals,
        dashboard,
    })
}

/// Runs every check, in the module's order of kinds; `sla` is the SLA in seconds.
async fn findings(
    conn: &mut PgConnection,
    project_id: Uuid,
    sla: f64,
) -> Result<Vec<Finding>, CommandError> {
    let mut findings = contributions_missing_award(conn, project_id).await?;
    findings.extend(awards_missing_projection(conn, project_id).await?);
    findings.extend(awards_missing_delivery(conn, project_id).await?);
    findings.extend(deliveries_pending_past_sla(conn, project_id, sla).await?);
    findings.extend(acknowledged_without_receipt(conn, project_id, sla).await?);
    findings.extend(fulfilled_receipts_missing_reference(conn, project_id).await?);
    findings.extend(receipt_quantity_mismatches(conn, project_id).await?);
    findings.extend(award_terms_mismatches(conn, project_id).await?);
    findings.extend(projection_drift(conn, project_id).await?);
    Ok(findings)
}

/// `contribution_missing_award`.
async fn contributions_missing_award(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<Finding>, CommandError> {
    let rows = sqlx::query!(
        r#"SELECT c.id AS record, c.contribution_type, c.contributor_id, d.id AS definition, d.instrument_type
           FROM contribution_records c
           JOIN contribution_rules r ON r.version_id = c.contribution_policy_version_id
            AND r.contribution_type = c.contribution_type AND r.compensation_mode = $2
           JOIN contribution_award_definitions d ON d.rule_id = r.id
           WHERE c.project_id = $1 AND NOT EXISTS (SELECT 1 FROM compensation_awards a
             WHERE a.contribution_record_id = c.id AND a.instrument_type = d.instrument_type)
           ORDER BY c.id, d.instrument_type"#,
        project_id,
        CompensationMode::Compensated.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Finding {
            kind: "contribution_missing_award",
            ids: json!({ "contribution_record_id": row.record, "award_definition_id": row.definition,
                         "contributor_id": row.contributor_id }),
            details: json!({ "contribution_type": row.contribution_type, "instrument_type": row.instrument_type }),
        })
        .collect())
}

/// `award_missing_projection`.
async fn awards_missing_projection(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<Finding>, CommandError> {
    let rows = sqlx::query!(
        "SELECT a.id, a.contribution_record_id FROM compensation_awards a \
         WHERE a.project_id = $1 AND NOT EXISTS (SELECT 1 FROM compensation_status_projections p \
           WHERE p.compensation_award_id = a.id) ORDER BY a.id",
        project_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Finding {
            kind: "award_missing_projection",
            ids: json!({ "award_id": row.id, "contribution_record_id": row.contribution_record_id }),
            details: json!({}),
        })
        .collect())
}

/// `award_missing_delivery`.
async fn awards_missing_delivery(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<Finding>, CommandError> {
    let rows = sqlx::query!(
        "SELECT a.id, a.contribution_record_id FROM compensation_awards a \
         WHERE a.project_id = $1 AND NOT EXISTS (SELECT 1 FROM award_delivery_outbox o \
           WHERE o.compensation_award_id = a.id) ORDER BY a.id",
        project_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Finding {
            kind: "award_missing_delivery",
            ids: json!({ "award_id": row.id, "contribution_record_id": row.contribution_record_id }),
            details: json!({}),
        })
        .collect())
}

/// `delivery_pending_past_sla`: outbox rows not acknowledged `sla` seconds after creation.
async fn deliveries_pending_past_sla(
    conn: &mut PgConnection,
    project_id: Uuid,
    sla: f64,
) -> Result<Vec<Finding>, CommandError> {
    let rows = sqlx::query!(
        r#"SELECT o.id, o.compensation_award_id, o.state AS "state: OutboxState", o.attempts, o.last_error,
             o.created_at, o.job_id
           FROM award_delivery_outbox o WHERE o.project_id = $1 AND o.state <> $3
             AND o.created_at <= now() - make_interval(secs => $2) ORDER BY o.id"#,
        project_id,
        sla,
        OutboxState::Acknowledged.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Finding {
            kind: "delivery_pending_past_sla",
            ids: json!({ "award_id": row.compensation_award_id, "outbox_id": row.id, "job_id": row.job_id }),
            details: json!({ "state": row.state, "attempts": row.attempts, "last_error": row.last_error,
                             "pending_since": row.created_at }),
        })
        .collect())
}

/// `acknowledged_without_receipt`: deliveries acknowledged over `sla` seconds ago.
async fn acknowledged_without_receipt(
    conn: &mut PgConnection,
    project_id: Uuid,
    sla: f64,
) -> Result<Vec<Finding>, CommandError> {
    // An acknowledged row has its acknowledged_at (the table's CHECK).
    let rows = sqlx::query!(
        r#"SELECT o.id, o.compensation_award_id, o.acknowledged_at AS "acknowledged_at!" FROM award_delivery_outbox o
           WHERE o.project_id = $1 AND o.state = $3
             AND o.acknowledged_at <= now() - make_interval(secs => $2)
             AND NOT EXISTS (SELECT 1 FROM compensation_fulfillment_receipts r
               WHERE r.compensation_award_id = o.compensation_award_id) ORDER BY o.id"#,
        project_id,
        sla,
        OutboxState::Acknowledged.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Finding {
            kind: "acknowledged_without_receipt",
            ids: json!({ "award_id": row.compensation_award_id, "outbox_id": row.id }),
            details: json!({ "acknowledged_at": row.acknowledged_at }),
        })
        .collect())
}

/// `fulfilled_receipt_missing_reference`.
async fn fulfilled_receipts_missing_reference(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<Finding>, CommandError> {
    let rows = sqlx::query!(
        "SELECT r.id, r.compensation_award_id, r.external_event_id FROM compensation_fulfillment_receipts r \
         WHERE r.project_id = $1 AND r.reported_status = $2 \
           AND (r.external_reference IS NULL OR btrim(r.external_reference) = '') ORDER BY r.id",
        project_id,
        ReportedStatus::Fulfilled.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Finding {
            kind: "fulfilled_receipt_missing_reference",
            ids: json!({ "award_id": row.compensation_award_id, "receipt_id": row.id }),
            details: json!({ "external_event_id": row.external_event_id }),
        })
        .collect())
}

/// `receipt_quantity_mismatch`.
async fn receipt_quantity_mismatches(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<Finding>, CommandError> {
    // A fulfilled receipt has its quantity (the table's CHECK).
    let rows = sqlx::query!(
        r#"SELECT r.id AS receipt, a.id AS award, trim_scale(a.quantity)::text AS "award_quantity!",
             trim_scale(r.fulfilled_quantity)::text AS "fulfilled_quantity!"
           FROM compensation_fulfillment_receipts r JOIN compensation_awards a ON a.id = r.compensation_award_id
           WHERE r.project_id = $1 AND r.reported_status = $2
             AND r.fulfilled_quantity IS DISTINCT FROM a.quantity ORDER BY r.id"#,
        project_id,
        ReportedStatus::Fulfilled.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Finding {
            kind: "receipt_quantity_mismatch",
            ids: json!({ "award_id": row.award, "receipt_id": row.receipt }),
            details: json!({ "award_quantity": row.award_quantity, "fulfilled_quantity": row.fulfilled_quantity }),
        })
        .collect())
}

/// `award_terms_mismatch`.
async fn award_terms_mismatches(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<Finding>, CommandError> {
    let rows = sqlx::query!(
        r#"SELECT a.id, a.award_definition_id, trim_scale(a.quantity)::text AS "award_quantity!",
             trim_scale(d.quantity)::text AS "definition_quantity!"
           FROM compensation_awards a JOIN contribution_award_definitions d ON d.id = a.award_definition_id
           WHERE a.project_id = $1 AND (a.quantity <> d.quantity OR a.unit_code <> d.unit_code
             OR a.instrument_type <> d.instrument_type OR a.adapter_binding_id <> d.adapter_binding_id)
           ORDER BY a.id"#,
        project_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Finding {
            kind: "award_terms_mismatch",
            ids: json!({ "award_id": row.id, "award_definition_id": row.award_definition_id }),
            details: json!({ "award_quantity": row.award_quantity, "definition_quantity": row.definition_quantity }),
        })
        .collect())
}

/// `projection_drift`: each stored projection compared with the one the facts imply.
async fn projection_drift(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<Finding>, CommandError> {
    let expected = projection::derive(conn, Scope::Project(project_id)).await?;
    let stored = projection::stored(conn, Scope::Project(project_id)).await?;
    let mut findings = Vec::new();
    for state in &expected {
        // A missing row is `award_missing_projection`.
        let Some(current) = stored.get(&state.compensation_award_id) else {
            continue;
        };
        let fields = differences(Some(current), state);
        if !fields.is_empty() {
            findings.push(Finding {
                kind: "projection_drift",
                ids: json!({ "award_id": state.compensation_award_id }),
                details: json!({ "fields": fields, "stored": current, "expected": state }),
            });
        }
    }
    Ok(findings)
}

/// The awards per instrument, unit, delivery and fulfilment status, from the facts.
async fn totals(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<Total>, CommandError> {
    Ok(facts_query!(
        Total,
        r#"SELECT instrument_type AS "instrument_type!", unit_code AS "unit_code!",
             delivery_status AS "delivery_status?: _", fulfillment_status AS "fulfillment_status?: _",
             count(*) AS "award_count!", trim_scale(sum(quantity))::text AS "quantity!""#,
        "a.project_id = $1",
        "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        project_id,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The dashboard: its counts summed from `totals`, its fulfilled sums from the receipts.
async fn dashboard(
    conn: &mut PgConnection,
    project_id: Uuid,
    totals: &[Total],
) -> Result<Dashboard, CommandError> {
    let count =
        |f: &dyn Fn(&Total) -> bool| totals.iter().filter(|t| f(t)).map(|t| t.award_count).sum();
    Ok(Dashboard {
        pending_delivery: count(&|t| t.delivery_status == Some(DeliveryStatus::PendingDelivery)),
        acknowledged_not_fulfilled: count(&|t| {
            t.delivery_status == Some(DeliveryStatus::AcknowledgedByAdapter)
                && t.fulfillment_status != Some(FulfilmentStatus::Fulfilled)
        }),
        failed: count(&|t| t.fulfillment_status == Some(FulfilmentStatus::Failed)),
        fulfilled: sqlx::query_as!(
            Total,
            r#"SELECT a.instrument_type, a.unit_code, NULL::text AS "delivery_status?: _",
                 NULL::text AS "fulfillment_status?: _", count(*) AS "award_count!",
                 trim_scale(sum(r.fulfilled_quantity))::text AS "quantity!"
               FROM compensation_fulfillment_receipts r JOIN compensation_awards a ON a.id = r.compensation_award_id
               WHERE r.project_id = $1 AND r.reported_status = $2 GROUP BY 1, 2 ORDER BY 1, 2"#,
            project_id,
            ReportedStatus::Fulfilled.as_str(),
        )
        .fetch_all(&mut *conn)
        .await?,
    })
}
