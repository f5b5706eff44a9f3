//! Adapter bindings: which service actor delivers a project's awards of one instrument
//! (docs/rules.md). No secret is ever stored; a binding in use cannot be retired.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::contribution::InstrumentType;
use workstream_domain::machines::compensation::AdapterBindingStatus;
use workstream_store::audit::NewAuditEvent;

use super::dependents::DEPENDENTS;
use crate::audit::record;
use crate::error::CommandError;
use crate::requester::Requester;

/// An adapter binding row (no secrets are ever stored).
#[derive(Debug, Clone, Serialize, JsonSchema, sqlx::FromRow)]
pub struct Binding {
    /// Id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// money or project_points.
    pub instrument_type: String,
    /// The service actor that delivers awards.
    pub adapter_actor_id: Uuid,
    /// How the adapter addresses the project's awards.
    pub route_key: String,
    /// active, suspended or retired.
    pub status: String,
    /// Starts at 1; +1 per status change.
    pub binding_lifecycle_version: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

const BINDING_COLUMNS: &str = "id, project_id, instrument_type, adapter_actor_id, route_key, status, binding_lifecycle_version, created_at, updated_at";

/// Binds a service actor as the project's adapter for one instrument
/// (`adapter_binding_created`). One active binding per instrument: 409
/// `adapter_binding_exists`.
pub async fn create_binding(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    instrument: InstrumentType,
    adapter_actor_id: Uuid,
    route_key: String,
) -> Result<Binding, CommandError> {
    crate::projects::lock(conn, project_id).await?;
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM actor_profiles WHERE id = $1")
        .bind(adapter_actor_id)
        .fetch_optional(&mut *conn)
        .await?;
    match kind.as_deref() {
        None => {
            return Err(CommandError::new(
                ErrorCode::AdapterActorNotFound,
                "no actor has this id",
            ));
        }
        Some("service") => {}
        Some(_) => {
            return Err(CommandError::new(
                ErrorCode::AdapterNotServiceActor,
                "an adapter is a service actor; no human role substitutes (R43)",
            ));
        }
    }
    let binding: Binding = sqlx::query_as(&format!(
        "INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, adapter_actor_id, route_key, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {BINDING_COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(project_id)
    .bind(instrument.as_str())
    .bind(adapter_actor_id)
    .bind(&route_key)
    .bind(acting.actor_id)
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "adapter_binding".into(),
            entity_id: Some(binding.id),
            event_type: "adapter_binding_created".into(),
            to_status: Some("active".into()),
            payload: json!({
                "instrument_type": binding.instrument_type,
                "adapter_actor_id": adapter_actor_id,
                "route_key": binding.route_key,
                "binding_lifecycle_version": 1,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(binding)
}

/// Suspends (`active -> suspended`) or reactivates (`suspended -> active`) a binding,
/// bumping its lifecycle version. Any other move is 403 `transition_not_allowed`.
pub async fn set_binding_status(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    binding_id: Uuid,
    to: &'static str,
) -> Result<Binding, CommandError> {
    let binding: Binding = sqlx::query_as(&format!(
        "SELECT {BINDING_COLUMNS} FROM project_compensation_adapter_bindings WHERE id = $1 AND project_id = $2 FOR UPDATE"
    ))
    .bind(binding_id)
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    let from = binding.status.clone();
    let allowed = matches!(
        (from.as_str(), to),
        ("active", "suspended") | ("suspended", "active")
    );
    if !allowed {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            format!("a {from} binding cannot become {to}"),
        ));
    }
    let updated: Binding = sqlx::query_as(&format!(
        "UPDATE project_compensation_adapter_bindings SET status = $2, \
         binding_lifecycle_version = binding_lifecycle_version + 1 WHERE id = $1 RETURNING {BINDING_COLUMNS}"
    ))
    .bind(binding_id)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    // Awards that waited for the binding (R45) are delivered now.
    let resumed = if to == "active" {
        crate::compensation::delivery::resume_binding(
            conn,
            binding_id,
            updated.binding_lifecycle_version,
            acting.correlation_id.as_deref(),
        )
        .await?
    } else {
        0
    };
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "adapter_binding".into(),
            entity_id: Some(binding_id),
            event_type: if to == "suspended" {
                "adapter_binding_suspended"
            } else {
                "adapter_binding_reactivated"
            }
            .into(),
            from_status: Some(from),
            to_status: Some(to.into()),
            payload: json!({
                "binding_lifecycle_version": updated.binding_lifecycle_version,
                "deliveries_resumed": resumed,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(updated)
}

/// Retires a binding (`adapter_binding_retired`, version +1); a retired binding never
/// changes again. Refused with 409 `adapter_binding_in_use` while terms in force, an
/// open draft or an undelivered award still route through it, and with 403
/// `transition_not_allowed` when it is already retired.
pub async fn retire_binding(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    binding_id: Uuid,
) -> Result<Binding, CommandError> {
    crate::projects::lock(conn, project_id).await?;
    let binding: Binding = sqlx::query_as(&format!(
        "SELECT {BINDING_COLUMNS} FROM project_compensation_adapter_bindings WHERE id = $1 AND project_id = $2 FOR UPDATE"
    ))
    .bind(binding_id)
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    if binding.status == "retired" {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            "a retired binding cannot change",
        ));
    }
    let in_use: bool = sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM ({DEPENDENTS}) d WHERE d.adapter_binding_id = $1)"
    ))
    .bind(binding_id)
    .fetch_one(&mut *conn)
    .await?;
    if in_use {
        return Err(CommandError::new(
            ErrorCode::AdapterBindingInUse,
            "terms in force, open drafts or undelivered awards still route through this binding",
        ));
    }
    let retired: Binding = sqlx::query_as(&format!(
        "UPDATE project_compensation_adapter_bindings SET status = $2, \
         binding_lifecycle_version = binding_lifecycle_version + 1 WHERE id = $1 RETURNING {BINDING_COLUMNS}"
    ))
    .bind(binding_id)
    .bind(AdapterBindingStatus::Retired.as_str())
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "adapter_binding".into(),
            entity_id: Some(binding_id),
            event_type: "adapter_binding_retired".into(),
            from_status: Some(binding.status),
            to_status: Some("retired".into()),
            payload: json!({ "binding_lifecycle_version": retired.binding_lifecycle_version }),
            ..Default::default()
        },
    )
    .await?;
    Ok(retired)
}

/// A page of the project's bindings, by id.
pub async fn list_bindings(
    conn: &mut PgConnection,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Binding>, CommandError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {BINDING_COLUMNS} FROM project_compensation_adapter_bindings \
         WHERE project_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
    ))
    .bind(project_id)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?)
}
