//! Administrative and project role grants as stored.
//!
//! Reads only; grants are issued and revoked by the authority commands of
//! `workstream-engine`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// An administrative role grant.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AdminRoleGrant {
    /// The grant id.
    pub id: Uuid,
    /// Who holds it.
    pub target_actor_id: Uuid,
    /// The role token.
    pub role: String,
    /// `system` or `project`.
    pub scope_type: String,
    /// The project of a project-scoped grant.
    pub scope_project_id: Option<Uuid>,
    /// `active` or `revoked`.
    pub status: String,
    /// The granting actor (`None` for the bootstrap).
    pub issued_by: Option<Uuid>,
    /// The system principal that granted it, for the bootstrap.
    pub issued_by_principal: Option<String>,
    /// The granting actor's grant that authorized this one.
    pub issuing_grant_id: Option<Uuid>,
    /// Why it was granted.
    pub grant_reason: String,
    /// When.
    pub issued_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// By whom.
    pub revoked_by: Option<Uuid>,
    /// Why.
    pub revoke_reason: Option<String>,
}

/// The columns of [`AdminRoleGrant`], for queries elsewhere.
pub const ADMIN_GRANT_COLUMNS: &str = "id, target_actor_id, role, scope_type, scope_project_id, \
     status, issued_by, issued_by_principal, issuing_grant_id, grant_reason, issued_at, \
     revoked_at, revoked_by, revoke_reason";

/// A contributor role grant on one project.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProjectRoleGrant {
    /// The grant id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// Who holds it.
    pub actor_id: Uuid,
    /// The role token.
    pub role: String,
    /// `active` or `revoked`.
    pub status: String,
    /// The qualification evidence captured with it.
    pub qualification_snapshot_id: Uuid,
    /// The granting project manager.
    pub issued_by: Uuid,
    /// The manager's grant that authorized it.
    pub issuing_admin_grant_id: Uuid,
    /// Why.
    pub grant_reason: String,
    /// When.
    pub issued_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// By whom.
    pub revoked_by: Option<Uuid>,
    /// Why.
    pub revoke_reason: Option<String>,
}

/// The columns of [`ProjectRoleGrant`].
pub const PROJECT_GRANT_COLUMNS: &str = "id, project_id, actor_id, role, status, \
     qualification_snapshot_id, issued_by, issuing_admin_grant_id, grant_reason, issued_at, \
     revoked_at, revoked_by, revoke_reason";

/// The administrative grant `id`; `lock` takes a row lock for a revocation.
pub async fn admin_grant(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<AdminRoleGrant>, sqlx::Error> {
    let suffix = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as(&format!(
        "SELECT {ADMIN_GRANT_COLUMNS} FROM admin_role_grants WHERE id = $1{suffix}"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The project grant `id` of `project_id`; `lock` takes a row lock.
pub async fn project_grant(
    conn: &mut PgConnection,
    project_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<ProjectRoleGrant>, sqlx::Error> {
    let suffix = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as(&format!(
        "SELECT {PROJECT_GRANT_COLUMNS} FROM project_role_grants \
         WHERE id = $1 AND project_id = $2{suffix}"
    ))
    .bind(id)
    .bind(project_id)
    .fetch_optional(conn)
    .await
}
