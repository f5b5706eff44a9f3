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

use super::projection::{self, Scope, differences, facts_sql};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Total {
    /// `money` or `project_points`.
    pub instrument_type: String,
    /// The ISO code or points unit.
    pub unit_code: String,
    /// The delivery status (absent in per-unit sums).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_status: Option<String>,
    /// The fulfilment status (absent in per-unit sums).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment_status: Option<String>,
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

/// Reconciles `project_id` with `pending_sla_seconds` as the SLA (see the module docs).
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
    let generated_at: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *conn)
        .await?;
    let sla = pending_sla_seconds as f64;
    let mut findings = Vec::new();

    let rows: Vec<(Uuid, String, Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT c.id, c.contribution_type, c.contributor_id, d.id, d.instrument_type \
         FROM contribution_records c \
         JOIN contribution_rules r ON r.version_id = c.contribution_policy_version_id \
          AND r.contribution_type = c.contribution_type AND r.compensation_mode = 'compensated' \
         JOIN contribution_award_definitions d ON d.rule_id = r.id \
         WHERE c.project_id = $1 AND NOT EXISTS (SELECT 1 FROM compensation_awards a \
           WHERE a.contribution_record_id = c.id AND a.instrument_type = d.instrument_type) \
         ORDER BY c.id, d.instrument_type",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for (record, kind, contributor, definition, instrument) in rows {
        findings.push(Finding {
            kind: "contribution_missing_award",
            ids: json!({ "contribution_record_id": record, "award_definition_id": definition,
                         "contributor_id": contributor }),
            details: json!({ "contribution_type": kind, "instrument_type": instrument }),
        });
    }

    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT a.id, a.contribution_record_id FROM compensation_awards a \
         WHERE a.project_id = $1 AND NOT EXISTS (SELECT 1 FROM compensation_status_projections p \
           WHERE p.compensation_award_id = a.id) ORDER BY a.id",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for (award, record) in rows {
        findings.push(Finding {
            kind: "award_missing_projection",
            ids: json!({ "award_id": award, "contribution_record_id": record }),
            details: json!({}),
        });
    }

    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT a.id, a.contribution_record_id FROM compensation_awards a \
         WHERE a.project_id = $1 AND NOT EXISTS (SELECT 1 FROM award_delivery_outbox o \
           WHERE o.compensation_award_id = a.id) ORDER BY a.id",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for (award, record) in rows {
        findings.push(Finding {
            kind: "award_missing_delivery",
            ids: json!({ "award_id": award, "contribution_record_id": record }),
            details: json!({}),
        });
    }

    type Pending = (
        Uuid,
        Uuid,
        String,
        i32,
        Option<String>,
        DateTime<Utc>,
        Option<Uuid>,
    );
    let rows: Vec<Pending> = sqlx::query_as(
        "SELECT o.id, o.compensation_award_id, o.state, o.attempts, o.last_error, o.created_at, o.job_id \
         FROM award_delivery_outbox o WHERE o.project_id = $1 AND o.state <> 'acknowledged' \
           AND o.created_at <= now() - make_interval(secs => $2) ORDER BY o.id",
    )
    .bind(project_id)
    .bind(sla)
    .fetch_all(&mut *conn)
    .await?;
    for (outbox, award, state, attempts, last_error, since, job) in rows {
        findings.push(Finding {
            kind: "delivery_pending_past_sla",
            ids: json!({ "award_id": award, "outbox_id": outbox, "job_id": job }),
            details: json!({ "state": state, "attempts": attempts, "last_error": last_error,
                             "pending_since": since }),
        });
    }

    let rows: Vec<(Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT o.id, o.compensation_award_id, o.acknowledged_at FROM award_delivery_outbox o \
         WHERE o.project_id = $1 AND o.state = 'acknowledged' \
           AND o.acknowledged_at <= now() - make_interval(secs => $2) \
           AND NOT EXISTS (SELECT 1 FROM compensation_fulfillment_receipts r \
             WHERE r.compensation_award_id = o.compensation_award_id) ORDER BY o.id",
    )
    .bind(project_id)
    .bind(sla)
    .fetch_all(&mut *conn)
    .await?;
    for (outbox, award, at) in rows {
        findings.push(Finding {
            kind: "acknowledged_without_receipt",
            ids: json!({ "award_id": award, "outbox_id": outbox }),
            details: json!({ "acknowledged_at": at }),
        });
    }

    let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT r.id, r.compensation_award_id, r.external_event_id FROM compensation_fulfillment_receipts r \
         WHERE r.project_id = $1 AND r.reported_status = 'fulfilled' \
           AND (r.external_reference IS NULL OR btrim(r.external_reference) = '') ORDER BY r.id",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for (receipt, award, event) in rows {
        findings.push(Finding {
            kind: "fulfilled_receipt_missing_reference",
            ids: json!({ "award_id": award, "receipt_id": receipt }),
            details: json!({ "external_event_id": event }),
        });
    }

    let rows: Vec<(Uuid, Uuid, String, String)> = sqlx::query_as(
        "SELECT r.id, a.id, trim_scale(a.quantity)::text, trim_scale(r.fulfilled_quantity)::text \
         FROM compensation_fulfillment_receipts r JOIN compensation_awards a ON a.id = r.compensation_award_id \
         WHERE r.project_id = $1 AND r.reported_status = 'fulfilled' \
           AND r.fulfilled_quantity IS DISTINCT FROM a.quantity ORDER BY r.id",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for (receipt, award, award_quantity, fulfilled_quantity) in rows {
        findings.push(Finding {
            kind: "receipt_quantity_mismatch",
            ids: json!({ "award_id": award, "receipt_id": receipt }),
            details: json!({ "award_quantity": award_quantity, "fulfilled_quantity": fulfilled_quantity }),
        });
    }

    let rows: Vec<(Uuid, Uuid, String, String)> = sqlx::query_as(
        "SELECT a.id, a.award_definition_id, trim_scale(a.quantity)::text, trim_scale(d.quantity)::text \
         FROM compensation_awards a JOIN contribution_award_definitions d ON d.id = a.award_definition_id \
         WHERE a.project_id = $1 AND (a.quantity <> d.quantity OR a.unit_code <> d.unit_code \
           OR a.instrument_type <> d.instrument_type OR a.adapter_binding_id <> d.adapter_binding_id) \
         ORDER BY a.id",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for (award, definition, award_quantity, definition_quantity) in rows {
        findings.push(Finding {
            kind: "award_terms_mismatch",
            ids: json!({ "award_id": award, "award_definition_id": definition }),
            details: json!({ "award_quantity": award_quantity, "definition_quantity": definition_quantity }),
        });
    }

    let expected = projection::derive(conn, Scope::Project(project_id)).await?;
    let stored = projection::stored(conn, Scope::Project(project_id)).await?;
    for state in &expected {
        // A missing row is `award_missing_projection` above.
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

    let totals: Vec<Total> = sqlx::query_as(&format!(
        "SELECT instrument_type, unit_code, delivery_status, fulfillment_status, \
           count(*) AS award_count, trim_scale(sum(quantity))::text AS quantity \
         FROM ({}) facts GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        facts_sql("a.project_id = $1")
    ))
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    let count =
        |f: &dyn Fn(&Total) -> bool| totals.iter().filter(|t| f(t)).map(|t| t.award_count).sum();
    let is = |value: &Option<String>, token: &str| value.as_deref() == Some(token);
    let dashboard = Dashboard {
        pending_delivery: count(&|t| is(&t.delivery_status, "pending_delivery")),
        acknowledged_not_fulfilled: count(&|t| {
            is(&t.delivery_status, "acknowledged_by_adapter")
                && !is(&t.fulfillment_status, "fulfilled")
        }),
        failed: count(&|t| is(&t.fulfillment_status, "failed")),
        fulfilled: sqlx::query_as(
            "SELECT a.instrument_type, a.unit_code, NULL::text AS delivery_status, \
               NULL::text AS fulfillment_status, count(*) AS award_count, \
               trim_scale(sum(r.fulfilled_quantity))::text AS quantity \
             FROM compensation_fulfillment_receipts r JOIN compensation_awards a ON a.id = r.compensation_award_id \
             WHERE r.project_id = $1 AND r.reported_status = 'fulfilled' GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(project_id)
        .fetch_all(&mut *conn)
        .await?,
    };
    Ok(Reconciliation {
        project_id,
        generated_at,
        pending_sla_seconds,
        findings,
        totals,
        dashboard,
    })
}
