//! Award reads: a project's awards for finance and audit, and a contributor's own
//! awards (docs/security.md "Award read"), each with its status projection.
//!
//! Lists are ordered by award id (UUIDv7, creation order) and paged after an id. The
//! contributor's view leaves out what docs/rules.md (R48) keeps from contributors (binding,
//! definition and policy ids) and the provider's reference.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::machines::compensation::{DeliveryStatus, FulfilmentStatus};

use crate::CommandError;

/// An award with its projection, as one row.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    delivery_status: Option<DeliveryStatus>,
    fulfillment_status: Option<FulfilmentStatus>,
    latest_receipt_id: Option<Uuid>,
    external_reference: Option<String>,
    last_failure_code: Option<String>,
    acknowledged_at: Option<DateTime<Utc>>,
    fulfilled_at: Option<DateTime<Utc>>,
}

/// An award as finance and audit read it, with its projection.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FinanceAward {
    /// The award id (the page position).
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The task the contribution was made on.
    pub task_id: Uuid,
    /// The contribution record it values.
    pub contribution_record_id: Uuid,
    /// `accepted_submission` or `completed_review`.
    pub contribution_type: String,
    /// Who earned it.
    pub contributor_id: Uuid,
    /// Their name.
    pub contributor_name: Option<String>,
    /// The task's title.
    pub task_title: Option<String>,
    /// The frozen terms it was valued under.
    pub contribution_policy_version_id: Uuid,
    /// The definition that valued it.
    pub award_definition_id: Uuid,
    /// The adapter binding that delivers it.
    pub adapter_binding_id: Uuid,
    /// `money` or `project_points`.
    pub instrument_type: String,
    /// The ISO code or the points unit.
    pub unit_code: String,
    /// The exact quantity, as a decimal string.
    pub quantity: String,
    /// When it was created (with the acceptance).
    pub created_at: DateTime<Utc>,
    /// Its delivery and fulfilment (null if the projection row is missing: see
    /// reconciliation).
    pub projection: Option<AwardProjection>,
}

/// An award as its contributor reads it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ContributorAward {
    /// The award id (the page position).
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// The contribution record it values.
    pub contribution_record_id: Uuid,
    /// `accepted_submission` or `completed_review`.
    pub contribution_type: String,
    /// `money` or `project_points`.
    pub instrument_type: String,
    /// The ISO code or the points unit.
    pub unit_code: String,
    /// The exact quantity, as a decimal string.
    pub quantity: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its delivery and fulfilment.
    pub projection: Option<AwardProjection>,
}

/// Where an award's delivery and payment stand.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AwardProjection {
    /// `pending_delivery` or `acknowledged_by_adapter`.
    pub delivery_status: DeliveryStatus,
    /// `pending`, `failed` or `fulfilled`.
    pub fulfillment_status: FulfilmentStatus,
    /// The latest failure code reported.
    pub last_failure_code: Option<String>,
    /// When the adapter acknowledged the delivery.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When the provider fulfilled it.
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// The fulfilled receipt, else the latest failed one (finance and audit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_receipt_id: Option<Uuid>,
    /// The provider's reference (finance and audit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
}

/// `sqlx::query_as!` of [`AwardRow`] rows: the awards with their projections (`null`
/// columns where the projection row is missing) `$after`.
macro_rules! award_query {
    ($after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            AwardRow,
            r#"SELECT a.id, a.project_id, a.contribution_record_id, a.contribution_type,
               a.contributor_id, workstream_actor_label(a.contributor_id) AS "contributor_name?",
               a.contribution_policy_version_id, a.award_definition_id, a.adapter_binding_id,
               a.instrument_type, a.unit_code, trim_scale(a.quantity)::text AS "quantity!", c.task_id,
               (SELECT t.title FROM tasks t WHERE t.id = c.task_id) AS "task_title?", a.created_at,
               p.delivery_status AS "delivery_status?: _", p.fulfillment_status AS "fulfillment_status?: _",
               p.latest_receipt_id AS "latest_receipt_id?", p.external_reference AS "external_reference?",
               p.last_failure_code AS "last_failure_code?", p.acknowledged_at AS "acknowledged_at?",
               p.fulfilled_at AS "fulfilled_at?"
               FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id
               LEFT JOIN compensation_status_projections p ON p.compensation_award_id = a.id "# + $after
            $(, $arg)*
        )
    };
}

fn projection(row: &AwardRow, full: bool) -> Option<AwardProjection> {
    match (row.delivery_status, row.fulfillment_status) {
        (Some(delivery_status), Some(fulfillment_status)) => Some(AwardProjection {
            delivery_status,
            fulfillment_status,
            last_failure_code: row.last_failure_code.clone(),
            acknowledged_at: row.acknowledged_at,
            fulfilled_at: row.fulfilled_at,
            latest_receipt_id: row.latest_receipt_id.filter(|_| full),
            external_reference: row.external_reference.clone().filter(|_| full),
        }),
        _ => None,
    }
}

/// A page of `project_id`'s awards after `after`, with binding, definition, policy
/// version and projection (`null` if the row is missing: see reconciliation).
pub async fn project_awards(
    conn: &mut PgConnection,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<FinanceAward>, CommandError> {
    let rows = award_query!(
        "WHERE a.project_id = $1 AND ($2::uuid IS NULL OR a.id > $2) ORDER BY a.id LIMIT $3",
        project_id,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| FinanceAward {
            id: row.id,
            project_id: row.project_id,
            task_id: row.task_id,
            contribution_record_id: row.contribution_record_id,
            contribution_type: row.contribution_type.clone(),
            contributor_id: row.contributor_id,
            contributor_name: row.contributor_name.clone(),
            task_title: row.task_title.clone(),
            contribution_policy_version_id: row.contribution_policy_version_id,
            award_definition_id: row.award_definition_id,
            adapter_binding_id: row.adapter_binding_id,
            instrument_type: row.instrument_type.clone(),
            unit_code: row.unit_code.clone(),
            quantity: row.quantity.clone(),
            created_at: row.created_at,
            projection: projection(row, true),
        })
        .collect())
}

/// A page of `contributor_id`'s own awards (every project) after `after`.
pub async fn contributor_awards(
    conn: &mut PgConnection,
    contributor_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<ContributorAward>, CommandError> {
    let rows = award_query!(
        "WHERE a.contributor_id = $1 AND ($2::uuid IS NULL OR a.id > $2) ORDER BY a.id LIMIT $3",
        contributor_id,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|row| ContributorAward {
            id: row.id,
            project_id: row.project_id,
            task_id: row.task_id,
            contribution_record_id: row.contribution_record_id,
            contribution_type: row.contribution_type.clone(),
            instrument_type: row.instrument_type.clone(),
            unit_code: row.unit_code.clone(),
            quantity: row.quantity.clone(),
            created_at: row.created_at,
            projection: projection(row, false),
        })
        .collect())
}
