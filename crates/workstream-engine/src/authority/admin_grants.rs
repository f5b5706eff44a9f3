//! Administrative role grants: issue and revoke.
//!
//! Issued by an access administrator (attributed to them and the grant that let them),
//! or by a system principal (the CLI bootstrap, test fixtures), never to oneself.
//! Access administrator and operator exist only at system scope (422
//! `invalid_role_scope`); the other roles may be system-wide or cover one project.
//! Administrative roles go to humans only: a service principal never holds a human
//! role (docs/security.md).

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::{ActorStatus, GrantStatus};
use workstream_domain::roles::{AdminRole, Scope};
use workstream_store::actors;
use workstream_store::audit::NewAuditEvent;
use workstream_store::grants::{self, AdminRoleGrant};

use super::{
    RequestContext, audit, effective_administrators, last_administrator,
    lock_access_administrators, reason, still_holds,
};
use crate::CommandError;

/// `sqlx::query_as!` of an [`AdminRoleGrant`]: `$before` the grant's columns `$after`.
macro_rules! admin_grant_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            AdminRoleGrant,
            $before + r#" id, target_actor_id, role AS "role: _", scope_type AS "scope_type: _",
             scope_project_id, status AS "status: _", issued_by, issued_by_principal, issuing_grant_id,
             grant_reason, issued_at, revoked_at, revoked_by, revoke_reason "# + $after
            $(, $arg)*
        )
    };
}

/// Who issues a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantor {
    /// An actor, through one of their active grants.
    Actor {
        /// The issuing actor.
        actor_id: Uuid,
        /// Their grant that authorizes this.
        grant_id: Uuid,
    },
    /// A system principal (`workstream:system:<name>`).
    System {
        /// The principal's name.
        principal: String,
    },
}

impl Grantor {
    fn actor(&self) -> Option<Uuid> {
        match self {
            Grantor::Actor { actor_id, .. } => Some(*actor_id),
            Grantor::System { .. } => None,
        }
    }
}

/// A grant to issue.
#[derive(Debug, Clone)]
pub struct AdminGrantRequest {
    /// Who receives it.
    pub target: Uuid,
    /// The role.
    pub role: AdminRole,
    /// Where it applies.
    pub scope: Scope,
    /// Why (1..500 bytes).
    pub reason: String,
}

/// Issues an administrative grant.
pub async fn grant_admin(
    conn: &mut PgConnection,
    grantor: &Grantor,
    request: &AdminGrantRequest,
    ctx: &RequestContext,
) -> Result<AdminRoleGrant, CommandError> {
    let why = reason(&request.reason)?;
    if !request.role.allows_scope(&request.scope) {
        return Err(CommandError::new(
            ErrorCode::InvalidRoleScope,
            format!("{} exists only at system scope", request.role),
        ));
    }
    if grantor.actor() == Some(request.target) {
        return Err(CommandError::new(
            ErrorCode::SelfGrantForbidden,
            "nobody can grant a role to themselves",
        ));
    }
    let target = actors::profile(conn, request.target, true)
        .await?
        .ok_or_else(|| CommandError::new(ErrorCode::ActorNotFound, "no such actor"))?;
    if target.kind != "human" {
        return Err(CommandError::new(
            ErrorCode::TargetNotHuman,
            "administrative roles are granted to human actors only",
        ));
    }
    if target.status == ActorStatus::Deactivated {
        return Err(CommandError::new(
            ErrorCode::ActorDeactivatedTerminal,
            "the actor is deactivated",
        ));
    }
    if let Some(project) = request.scope.project_id() {
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1) AS "exists!""#,
            project,
        )
        .fetch_one(&mut *conn)
        .await?;
        if !exists {
            return Err(CommandError::new(
                ErrorCode::ProjectNotFound,
                "scope_project_id names no project",
            ));
        }
    }
    let (issued_by, principal, issuing_grant) = match grantor {
        Grantor::Actor { actor_id, grant_id } => (Some(*actor_id), None, Some(*grant_id)),
        Grantor::System { principal } => (None, Some(principal.clone()), None),
    };
    let grant = admin_grant_query!(
        "INSERT INTO admin_role_grants (id, target_actor_id, role, scope_type, scope_project_id, \
         issued_by, issued_by_principal, issuing_grant_id, grant_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING",
        "",
        Uuid::now_v7(),
        request.target,
        request.role.as_str(),
        request.scope.scope_type().as_str(),
        request.scope.project_id(),
        issued_by,
        principal.as_deref(),
        issuing_grant,
        &why,
    )
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        NewAuditEvent {
            project_id: request.scope.project_id(),
            entity_type: "admin_role_grant".into(),
            entity_id: Some(grant.id),
            event_type: "admin_role_granted".into(),
            to_status: Some(grant.status.to_string()),
            actor_id: issued_by,
            reason: Some(why),
            payload: json!({
                "target_actor_id": grant.target_actor_id,
                "role": grant.role,
                "scope_type": grant.scope_type,
                "scope_project_id": grant.scope_project_id,
                "issuing_grant_id": issuing_grant,
                "issued_by_principal": principal,
            }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(grant)
}

/// Revokes grant `grant_id`, by `revoker` acting through `revoker_grant`.
pub async fn revoke_admin(
    conn: &mut PgConnection,
    revoker: Uuid,
    revoker_grant: Uuid,
    grant_id: Uuid,
    reason_text: &str,
    ctx: &RequestContext,
) -> Result<AdminRoleGrant, CommandError> {
    let why = reason(reason_text)?;
    let peek = grants::admin_grant(conn, grant_id, false)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let guards_administrators = peek.role == AdminRole::AccessAdministrator.as_str();
    if guards_administrators {
        lock_access_administrators(conn).await?;
    }
    let grant = grants::admin_grant(conn, grant_id, true)
        .await?
        .ok_or_else(CommandError::not_found)?;
    if grant.target_actor_id == revoker {
        return Err(CommandError::new(
            ErrorCode::SelfRevokeForbidden,
            "nobody can revoke their own grant",
        ));
    }
    if grant.status != GrantStatus::Active {
        return Err(CommandError::new(
            ErrorCode::AdminRoleGrantAlreadyRevoked,
            "the grant is already revoked",
        ));
    }
    if guards_administrators {
        // The count first: when two administrators revoke each other at once, the one
        // that runs second learns why it cannot proceed (409), rather than only that its
        // own grant just went away.
        if effective_administrators(conn, Some(grant.id), None).await? == 0 {
            return Err(last_administrator());
        }
        still_holds(conn, revoker, revoker_grant).await?;
    }
    let revoked = admin_grant_query!(
        "UPDATE admin_role_grants SET status = $4, revoked_at = now(), revoked_by = $2, \
         revoke_reason = $3 WHERE id = $1 RETURNING",
        "",
        grant.id,
        revoker,
        &why,
        GrantStatus::Revoked.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        NewAuditEvent {
            project_id: revoked.scope_project_id,
            entity_type: "admin_role_grant".into(),
            entity_id: Some(revoked.id),
            event_type: "admin_role_revoked".into(),
            from_status: Some(grant.status.to_string()),
            to_status: Some(revoked.status.to_string()),
            actor_id: Some(revoker),
            reason: Some(why),
            payload: json!({
                "target_actor_id": revoked.target_actor_id,
                "role": revoked.role,
                "scope_type": revoked.scope_type,
                "scope_project_id": revoked.scope_project_id,
                "revoking_grant_id": revoker_grant,
            }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(revoked)
}
