//! Award reads: a project's awards for finance and audit, and a contributor's own
//! awards (docs/security.md "Award read"), each with its status projection.
//!
//! Lists are ordered by award id (UUIDv7, creation order) and paged after an id. The
//! contributor's view leaves out what docs/rules.md (R48) keeps from contributors (binding,
//! definition and policy ids) and the provider's reference.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::CommandError;

/// An award with its projection, as one row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct AwardRow {
    id: Uuid,
    project_id: Uuid,
    contribution_record_id: Uuid,
    contribution_type: String,
    contributor_id: Uuid,
    contributor_name: Option<String>,
    task_title: Option<String>,
    contribution_policy_version_id: Uuid,
    award_definition_id: Uuid,
    adapter_binding_id: Uuid,
    instrument_type: String,
    unit_code: String,
    quantity: String,
    task_id: Uuid,
    created_at: DateTime<Utc>,
    delivery_status: Option<String>,
    fulfillment_status: Option<String>,
    latest_receipt_id: Option<Uuid>,
    external_reference: Option<String>,
    last_failure_code: Option<String>,
    acknowledged_at: Option<DateTime<Utc>>,
    fulfilled_at: Option<DateTime<Utc>>,
}

/// An award as finance and audit read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AwardView {
    /// The award id (the page position).
    pub id: Uuid,
    /// Everything else, as JSON.
    #[serde(flatten)]
    pub body: Value,
}

const SELECT: &str = "SELECT a.id, a.project_id, a.contribution_record_id, a.contribution_type, \
    a.contributor_id, workstream_actor_label(a.contributor_id) AS contributor_name, \
    a.contribution_policy_version_id, a.award_definition_id, a.adapter_binding_id, \
    a.instrument_type, a.unit_code, trim_scale(a.quantity)::text AS quantity, c.task_id, \
    (SELECT t.title FROM tasks t WHERE t.id = c.task_id) AS task_title, a.created_at, \
    p.delivery_status, p.fulfillment_status, p.latest_receipt_id, p.external_reference, \
    p.last_failure_code, p.acknowledged_at, p.fulfilled_at \
    FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id \
    LEFT JOIN compensation_status_projections p ON p.compensation_award_id = a.id";

fn projection(row: &AwardRow, full: bool) -> Value {
    match (&row.delivery_status, &row.fulfillment_status) {
        (Some(delivery), Some(fulfillment)) => {
            let mut view = json!({
                "delivery_status": delivery,
                "fulfillment_status": fulfillment,
                "last_failure_code": row.last_failure_code,
                "acknowledged_at": row.acknowledged_at,
                "fulfilled_at": row.fulfilled_at,
            });
            if full {
                view["latest_receipt_id"] = json!(row.latest_receipt_id);
                view["external_reference"] = json!(row.external_reference);
            }
            view
        }
        _ => Value::Null,
    }
}

/// A page of `project_id`'s awards after `after`, with binding, definition, policy
/// version and projection (`null` if the row is missing: see reconciliation).
pub async fn project_awards(
    conn: &mut PgConnection,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<AwardView>, CommandError> {
    let rows: Vec<AwardRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE a.project_id = $1 AND ($2::uuid IS NULL OR a.id > $2) ORDER BY a.id LIMIT $3"
    ))
    .bind(project_id)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| AwardView {
            id: row.id,
            body: json!({
                "project_id": row.project_id,
                "task_id": row.task_id,
                "contribution_record_id": row.contribution_record_id,
                "contribution_type": row.contribution_type,
                "contributor_id": row.contributor_id,
                "contributor_name": row.contributor_name,
                "task_title": row.task_title,
                "contribution_policy_version_id": row.contribution_policy_version_id,
                "award_definition_id": row.award_definition_id,
                "adapter_binding_id": row.adapter_binding_id,
                "instrument_type": row.instrument_type,
                "unit_code": row.unit_code,
                "quantity": row.quantity,
                "created_at": row.created_at,
                "projection": projection(row, true),
            }),
        })
        .collect())
}

/// A page of `contributor_id`'s own awards (every project) after `after`.
pub async fn contributor_awards(
    conn: &mut PgConnection,
    contributor_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<AwardView>, CommandError> {
    let rows: Vec<AwardRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE a.contributor_id = $1 AND ($2::uuid IS NULL OR a.id > $2) ORDER BY a.id LIMIT $3"
    ))
    .bind(contributor_id)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| AwardView {
            id: row.id,
            body: json!({
                "project_id": row.project_id,
                "task_id": row.task_id,
                "contribution_record_id": row.contribution_record_id,
                "contribution_type": row.contribution_type,
                "instrument_type": row.instrument_type,
                "unit_code": row.unit_code,
                "quantity": row.quantity,
                "created_at": row.created_at,
                "projection": projection(row, false),
            }),
        })
        .collect())
}
