//! Compensation units: the units a project's awards are counted in (docs/rules.md). A
//! unit in use by a published or draft definition or an unfulfilled award cannot be
//! retired.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::CurrencyCode;
use workstream_domain::ErrorCode;
use workstream_domain::contribution::InstrumentType;
use workstream_domain::machines::compensation::UnitStatus;
use workstream_store::audit::NewAuditEvent;

use super::dependents::in_use_query;
use crate::audit::record;
use crate::error::CommandError;
use crate::requester::Requester;

/// A compensation unit row.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Unit {
    /// Id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// money or project_points.
    pub instrument_type: String,
    /// ISO 4217 code (money) or a points unit name.
    pub unit_code: String,
    /// active or retired.
    pub status: UnitStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// `sqlx::query_as!` of [`Unit`] rows: `$before` the unit's columns `$after`.
macro_rules! unit_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Unit,
            $before + r#" id, project_id, instrument_type, unit_code, status AS "status: _", created_at "# + $after
            $(, $arg)*
        )
    };
}

/// Enables a unit for the project (`compensation_unit_enabled`). Money units must be
/// current ISO 4217 codes; an existing unit is 409 `compensation_unit_exists`.
pub async fn create_unit(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    instrument: InstrumentType,
    unit_code: String,
) -> Result<Unit, CommandError> {
    crate::projects::lock(conn, project_id).await?;
    let iso = match instrument {
        InstrumentType::Money => Some(
            unit_code
                .parse::<CurrencyCode>()
                .map_err(|err| CommandError::new(err.code(), err.to_string()))?
                .to_string(),
        ),
        InstrumentType::ProjectPoints => None,
    };
    let unit = unit_query!(
        "INSERT INTO project_compensation_units (id, project_id, instrument_type, unit_code, iso_currency_code, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING",
        "",
        Uuid::now_v7(),
        project_id,
        instrument.as_str(),
        &unit_code,
        iso,
        acting.actor_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "compensation_unit".into(),
            entity_id: Some(unit.id),
            event_type: "compensation_unit_enabled".into(),
            to_status: Some(unit.status.to_string()),
            payload: json!({ "instrument_type": unit.instrument_type, "unit_code": unit.unit_code }),
            ..Default::default()
        },
    )
    .await?;
    Ok(unit)
}

/// A page of the project's units, by id.
pub async fn list_units(
    conn: &mut PgConnection,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Unit>, CommandError> {
    Ok(unit_query!(
        "SELECT",
        "FROM project_compensation_units \
         WHERE project_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        project_id,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Retires a unit (`compensation_unit_retired`): no new terms may name it. Refused
/// with 409 `compensation_unit_in_use` while anything still depends on it (see
/// `dependents`), and 409 `compensation_unit_retired` when it already is.
pub async fn retire_unit(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    unit_id: Uuid,
) -> Result<Unit, CommandError> {
    crate::projects::lock(conn, project_id).await?;
    let unit = unit_query!(
        "SELECT",
        "FROM project_compensation_units WHERE id = $1 AND project_id = $2 FOR UPDATE",
        unit_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    if unit.status == UnitStatus::Retired {
        return Err(CommandError::new(
            ErrorCode::CompensationUnitRetired,
            "the unit is already retired",
        ));
    }
    let in_use = in_use_query!(
        "d.project_id = $7 AND d.instrument_type = $8 AND d.unit_code = $9",
        project_id,
        &unit.instrument_type,
        &unit.unit_code,
    )
    .fetch_one(&mut *conn)
    .await?;
    if in_use {
        return Err(CommandError::new(
            ErrorCode::CompensationUnitInUse,
            "terms in force, open drafts or undelivered awards still use this unit",
        ));
    }
    let retired = unit_query!(
        "UPDATE project_compensation_units SET status = $2, retired_at = now() WHERE id = $1 RETURNING",
        "",
        unit_id,
        UnitStatus::Retired.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "compensation_unit".into(),
            entity_id: Some(unit_id),
            event_type: "compensation_unit_retired".into(),
            from_status: Some(unit.status.to_string()),
            to_status: Some(retired.status.to_string()),
            payload: json!({ "instrument_type": retired.instrument_type, "unit_code": retired.unit_code }),
            ..Default::default()
        },
    )
    .await?;
    Ok(retired)
}
