//! Creating awards for a contribution record (docs/rules.md; R40, R41).
//!
//! Runs inside the review decision's transaction (docs/lifecycle.md steps 5 and 6), right after the
//! contribution record it pays for. There is no formula: each award is a copy of one
//! award definition of the record's frozen policy version and contribution type
//! (quantity, unit, instrument, binding), and the database's composite foreign key
//! over every term refuses anything else. An `unpaid` rule yields no award, and so no
//! projection and no delivery. A missing rule is a setup defect the activation and
//! release gates already refuse; meeting one here fails the whole decision rather than
//! reading it as unpaid (R5).
//!
//! Each award gets its status projection (`pending_delivery` / `pending`) and one
//! `award_created` outbox row, and a [`DeliveryArgs`] job carries that row to the
//! adapter after commit: no provider I/O under the decision's locks (R43).

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::contribution::CompensationMode;
use workstream_domain::machines::compensation::{DeliveryStatus, FulfilmentStatus};
use workstream_store::jobs::{self, NewJob};

use crate::CommandError;
use crate::jobs::{DeliveryArgs, JobArgs};

/// One created award.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct CreatedAward {
    /// The award id.
    pub id: Uuid,
    /// `money` or `project_points`.
    pub instrument_type: String,
    /// The ISO code or the points unit.
    pub unit_code: String,
    /// The exact quantity, as its canonical decimal text.
    pub quantity: String,
}

/// The `award_created` event an outbox row carries to the adapter.
#[derive(Serialize)]
struct AwardCreatedPayload {
    award_id: Uuid,
    project_id: Uuid,
    contributor_id: Uuid,
    contribution_record_id: Uuid,
    contribution_type: String,
    instrument_type: String,
    unit_code: String,
    /// The exact quantity, as its canonical decimal text.
    quantity: String,
    route_key: String,
}

/// Creates the awards `contribution_record_id` earns under its frozen policy version
/// (see the module docs) and queues their delivery. Returns them in instrument order.
pub async fn award(
    conn: &mut PgConnection,
    contribution_record_id: Uuid,
    correlation_id: Option<&str>,
) -> Result<Vec<CreatedAward>, CommandError> {
    let rule = sqlx::query!(
        r#"SELECT r.id, r.compensation_mode AS "compensation_mode: CompensationMode" FROM contribution_records c
           JOIN contribution_rules r ON r.version_id = c.contribution_policy_version_id
            AND r.contribution_type = c.contribution_type
           WHERE c.id = $1"#,
        contribution_record_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some((rule_id, mode)) = rule.map(|rule| (rule.id, rule.compensation_mode)) else {
        return Err(CommandError::new(
            ErrorCode::ContributionRuleMissing,
            "the frozen contribution policy version has no rule for this contribution type",
        ));
    };
    if mode == CompensationMode::Unpaid {
        return Ok(Vec::new());
    }
    // Each award copies one definition of the rule; the composite foreign key on
    // compensation_awards re-checks that the copy is exact.
    let definitions = sqlx::query_scalar!(
        "SELECT id FROM contribution_award_definitions WHERE rule_id = $1 ORDER BY instrument_type",
        rule_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut awards = Vec::with_capacity(definitions.len());
    for definition in definitions {
        let created = sqlx::query_as!(
            CreatedAward,
            r#"INSERT INTO compensation_awards (id, project_id, contribution_record_id, contribution_type,
               contributor_id, contribution_policy_version_id, award_definition_id, adapter_binding_id,
               instrument_type, unit_code, quantity, correlation_id)
               SELECT $1, c.project_id, c.id, c.contribution_type, c.contributor_id,
                      c.contribution_policy_version_id, d.id, d.adapter_binding_id, d.instrument_type,
                      d.unit_code, d.quantity, $4
               FROM contribution_records c JOIN contribution_award_definitions d ON d.id = $3
               WHERE c.id = $2
               RETURNING id, instrument_type, unit_code, trim_scale(quantity)::text AS "quantity!""#,
            Uuid::now_v7(),
            contribution_record_id,
            definition,
            correlation_id,
        )
        .fetch_one(&mut *conn)
        .await?;
        awards.push(created);
    }
    if awards.is_empty() {
        return Err(CommandError::new(
            ErrorCode::ContributionRuleIncomplete,
            "a compensated rule has no award definition",
        ));
    }
    for award in &awards {
        sqlx::query!(
            "INSERT INTO compensation_status_projections (compensation_award_id, project_id, delivery_status, \
             fulfillment_status) SELECT id, project_id, $2, $3 FROM compensation_awards WHERE id = $1",
            award.id,
            DeliveryStatus::PendingDelivery.as_str(),
            FulfilmentStatus::Pending.as_str(),
        )
        .execute(&mut *conn)
        .await?;
        let payload = sqlx::query_as!(
            AwardCreatedPayload,
            r#"SELECT a.id AS award_id, a.project_id, a.contributor_id, a.contribution_record_id,
               a.contribution_type, a.instrument_type, a.unit_code,
               trim_scale(a.quantity)::text AS "quantity!", b.route_key
               FROM compensation_awards a JOIN project_compensation_adapter_bindings b ON b.id = a.adapter_binding_id
               WHERE a.id = $1"#,
            award.id,
        )
        .fetch_one(&mut *conn)
        .await?;
        let payload = serde_json::to_value(&payload).map_err(CommandError::internal)?;
        let outbox_id = Uuid::now_v7();
        sqlx::query!(
            "INSERT INTO award_delivery_outbox (id, compensation_award_id, project_id, adapter_binding_id, payload) \
             SELECT $1, a.id, a.project_id, a.adapter_binding_id, $3 FROM compensation_awards a WHERE a.id = $2",
            outbox_id,
            award.id,
            payload,
        )
        .execute(&mut *conn)
        .await?;
        let job = jobs::enqueue(
            conn,
            NewJob {
                idempotency_key: Some(format!("{}:{outbox_id}", DeliveryArgs::KIND)),
                correlation_id: correlation_id.map(str::to_owned),
                ..NewJob::of(&DeliveryArgs { outbox_id })
            },
        )
        .await?;
        sqlx::query!(
            "UPDATE award_delivery_outbox SET job_id = $1 WHERE id = $2",
            job,
            outbox_id,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(awards)
}
