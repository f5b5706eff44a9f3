//! Contributor role grants (submitter, reviewer, adjudicator) on one project.
//!
//! Issued by a project manager whose grant covers the project, each with the
//! qualification evidence the manager looked at (an immutable snapshot that the grant
//! references), to a human other than the manager. Revoking one takes effect on the
//! holder's next request (R47).

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::{ActorStatus, GrantStatus};
use workstream_domain::roles::ProjectRole;
use workstream_store::actors;
use workstream_store::audit::NewAuditEvent;
use workstream_store::grants::{self, ProjectRoleGrant};

use super::{RequestContext, audit, reason};
use crate::CommandError;

/// `sqlx::query_as!` of a [`ProjectRoleGrant`]: `$before` the grant's columns `$after`.
macro_rules! project_grant_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ProjectRoleGrant,
            $before + r#" id, project_id, actor_id, role AS "role: _", status AS "status: _",
             qualification_snapshot_id, issued_by, issuing_admin_grant_id, grant_reason, issued_at,
             revoked_at, revoked_by, revoke_reason "# + $after
            $(, $arg)*
        )
    };
}

/// A contributor grant to issue.
#[derive(Debug, Clone)]
pub struct ProjectGrantRequest {
    /// The project.
    pub project_id: Uuid,
    /// Who receives it.
    pub target: Uuid,
    /// The role.
    pub role: ProjectRole,
    /// The evidence looked at (a JSON object; integers only).
    pub qualification: Value,
    /// Why (1..500 bytes).
    pub reason: String,
}

/// Issues a project role grant by `manager` acting through `manager_grant` (a
/// project manager grant covering the project, checked by the caller).
pub async fn grant_project_role(
    conn: &mut PgConnection,
    manager: Uuid,
    manager_grant: Uuid,
    request: &ProjectGrantRequest,
    ctx: &RequestContext,
) -> Result<ProjectRoleGrant, CommandError> {
    let why = reason(&request.reason)?;
    if !request.qualification.is_object() {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "qualification must be a JSON object",
        ));
    }
    if manager == request.target {
        return Err(CommandError::new(
            ErrorCode::SelfGrantForbidden,
            "nobody can grant a role to themselves",
        ));
    }
    let target = actors::profile(conn, request.target, true)
        .await?
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::TargetActorNotFound,
                "target_actor_profile_id names no actor",
            )
        })?;
    if target.kind != "human" {
        return Err(CommandError::new(
            ErrorCode::TargetNotHuman,
            "contributor roles are granted to human actors only",
        ));
    }
    if target.status == ActorStatus::Deactivated {
        return Err(CommandError::new(
            ErrorCode::ActorDeactivatedTerminal,
            "the actor is deactivated",
        ));
    }
    let snapshot_id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO project_role_qualification_snapshots \
         (id, project_id, actor_id, requested_role, evidence, captured_by) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        snapshot_id,
        request.project_id,
        request.target,
        request.role.as_str(),
        &request.qualification,
        manager,
    )
    .execute(&mut *conn)
    .await?;
    let grant = project_grant_query!(
        "INSERT INTO project_role_grants (id, project_id, actor_id, role, \
         qualification_snapshot_id, issued_by, issuing_admin_grant_id, grant_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING",
        "",
        Uuid::now_v7(),
        request.project_id,
        request.target,
        request.role.as_str(),
        snapshot_id,
        manager,
        manager_grant,
        &why,
    )
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        NewAuditEvent {
            project_id: Some(request.project_id),
            entity_type: "project_role_grant".into(),
            entity_id: Some(grant.id),
            event_type: "project_role_granted".into(),
            to_status: Some(grant.status.to_string()),
            actor_id: Some(manager),
            reason: Some(why),
            payload: json!({
                "actor_id": grant.actor_id,
                "role": grant.role,
                "qualification_snapshot_id": snapshot_id,
                "issuing_admin_grant_id": manager_grant,
            }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(grant)
}

/// Revokes project grant `grant_id` of `project_id`, by `manager`.
pub async fn revoke_project_role(
    conn: &mut PgConnection,
    manager: Uuid,
    manager_grant: Uuid,
    project_id: Uuid,
    grant_id: Uuid,
    reason_text: &str,
    ctx: &RequestContext,
) -> Result<ProjectRoleGrant, CommandError> {
    let why = reason(reason_text)?;
    let grant = grants::project_grant(conn, project_id, grant_id, true)
        .await?
        .ok_or_else(CommandError::not_found)?;
    if grant.actor_id == manager {
        return Err(CommandError::new(
            ErrorCode::SelfRoleRevokeForbidden,
            "nobody can revoke their own grant",
        ));
    }
    if grant.status != GrantStatus::Active {
        return Err(CommandError::new(
            ErrorCode::ProjectRoleGrantAlreadyRevoked,
            "the grant is already revoked",
        ));
    }
    let revoked = project_grant_query!(
        "UPDATE project_role_grants SET status = $4, revoked_at = now(), revoked_by = $2, \
         revoke_reason = $3 WHERE id = $1 RETURNING",
        "",
        grant.id,
        manager,
        &why,
        GrantStatus::Revoked.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "project_role_grant".into(),
            entity_id: Some(revoked.id),
            event_type: "project_role_revoked".into(),
            from_status: Some(grant.status.to_string()),
            to_status: Some(revoked.status.to_string()),
            actor_id: Some(manager),
            reason: Some(why),
            payload: json!({
                "actor_id": revoked.actor_id,
                "role": revoked.role,
                "revoking_admin_grant_id": manager_grant,
            }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    // T17: a submitter who loses the grant before submitting loses the task too, in
    // this same transaction.
    crate::tasks::invalidate_assignments_of_actor(
        conn,
        revoked.actor_id,
        Some(project_id),
        "project role grant revoked",
    )
    .await?;
    Ok(revoked)
}
