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

use super::dependents::in_use_query;
use crate::audit::record;
use crate::error::CommandError;
use crate::requester::Requester;

/// An adapter binding row (no secrets are ever stored).
#[derive(Debug, Clone, Serialize, JsonSchema)]
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
    pub status: AdapterBindingStatus,
    /// Starts at 1; +1 per status change.
    pub binding_lifecycle_version: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// `sqlx::query_as!` of [`Binding`] rows: `$before` the binding's columns `$after`.
macro_rules! binding_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Binding,
            $before + r#" id, project_id, instrument_type, adapter_actor_id, route_key, status AS "status: _", 
             binding_lifecycle_version, created_at, updated_at "# + $after
            $(, $arg)*
        )
    };
}

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
    let kind = sqlx::query_scalar!(
        "SELECT kind FROM actor_profiles WHERE id = $1",
        adapter_actor_id
    )
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
    let binding = binding_query!(
        "INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, adapter_actor_id, route_key, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING",
        "",
        Uuid::now_v7(),
        project_id,
        instrument.as_str(),
        adapter_actor_id,
        &route_key,
        acting.actor_id,
    )
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
            to_status: Some(binding.status.to_string()),
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
    to: AdapterBindingStatus,
) -> Result<Binding, CommandError> {
    let binding = binding_query!(
        "SELECT",
        "FROM project_compensation_adapter_bindings WHERE id = $1 AND project_id = $2 FOR UPDATE",
        binding_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    let from = binding.status;
    let allowed = matches!(
        (from, to),
        (
            AdapterBindingStatus::Active,
            AdapterBindingStatus::Suspended
        ) | (
            AdapterBindingStatus::Suspended,
            AdapterBindingStatus::Active
        )
    );
    if !allowed {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            format!("a {from} binding cannot become {to}"),
        ));
    }
    let updated = binding_query!(
        "UPDATE project_compensation_adapter_bindings SET status = $2, \
         binding_lifecycle_version = binding_lifecycle_version + 1 WHERE id = $1 RETURNING",
        "",
        binding_id,
        to.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    // Awards that waited for the binding (R45) are delivered now.
    let resumed = if to == AdapterBindingStatus::Active {
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
            event_type: if to == AdapterBindingStatus::Suspended {
                "adapter_binding_suspended"
            } else {
                "adapter_binding_reactivated"
            }
            .into(),
            from_status: Some(from.to_string()),
            to_status: Some(to.to_string()),
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
    let binding = binding_query!(
        "SELECT",
        "FROM project_compensation_adapter_bindings WHERE id = $1 AND project_id = $2 FOR UPDATE",
        binding_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    if binding.status == AdapterBindingStatus::Retired {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            "a retired binding cannot change",
        ));
    }
    let in_use = in_use_query!("d.adapter_binding_id = $7", binding_id)
        .fetch_one(&mut *conn)
        .await?;
    if in_use {
        return Err(CommandError::new(
            ErrorCode::AdapterBindingInUse,
            "terms in force, open drafts or undelivered awards still route through this binding",
        ));
    }
    let retired = binding_query!(
        "UPDATE project_compensation_adapter_bindings SET status = $2, \
         binding_lifecycle_version = binding_lifecycle_version + 1 WHERE id = $1 RETURNING",
        "",
        binding_id,
        AdapterBindingStatus::Retired.as_str(),
    )
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
            from_status: Some(binding.status.to_string()),
            to_status: Some(retired.status.to_string()),
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
    Ok(binding_query!(
        "SELECT",
        "FROM project_compensation_adapter_bindings \
         WHERE project_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        project_id,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?)
}
