//! Administrative and project role grants as stored.
//!
//! Reads only; grants are issued and revoked by the authority commands of
//! `workstream-engine`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::machines::authority::GrantStatus;

/// An administrative role grant.
#[derive(Debug, Clone, PartialEq)]
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
    /// Whether it still counts.
    pub status: GrantStatus,
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

/// `sqlx::query_as!` of [`AdminRoleGrant`] rows: `$before` the grant's columns `$after`.
macro_rules! admin_grant_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            AdminRoleGrant,
            $before + " id, target_actor_id, role, scope_type, scope_project_id, status AS \"status: _\", issued_by, \
             issued_by_principal, issuing_grant_id, grant_reason, issued_at, revoked_at, \
             revoked_by, revoke_reason " + $after
            $(, $arg)*
        )
    };
}

/// A contributor role grant on one project.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRoleGrant {
    /// The grant id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// Who holds it.
    pub actor_id: Uuid,
    /// The role token.
    pub role: String,
    /// Whether it still counts.
    pub status: GrantStatus,
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

/// `sqlx::query_as!` of [`ProjectRoleGrant`] rows: `$before` the grant's columns `$after`.
macro_rules! project_grant_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ProjectRoleGrant,
            $before + " id, project_id, actor_id, role, status AS \"status: _\", qualification_snapshot_id, \
             issued_by, issuing_admin_grant_id, grant_reason, issued_at, revoked_at, revoked_by, \
             revoke_reason " + $after
            $(, $arg)*
        )
    };
}

/// The administrative grant `id`; `lock` takes a row lock for a revocation.
pub async fn admin_grant(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<AdminRoleGrant>, sqlx::Error> {
    if lock {
        admin_grant_query!(
            "SELECT",
            "FROM admin_role_grants WHERE id = $1 FOR UPDATE",
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        admin_grant_query!("SELECT", "FROM admin_role_grants WHERE id = $1", id)
            .fetch_optional(conn)
            .await
    }
}

/// The project grant `id` of `project_id`; `lock` takes a row lock.
pub async fn project_grant(
    conn: &mut PgConnection,
    project_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<ProjectRoleGrant>, sqlx::Error> {
    if lock {
        project_grant_query!(
            "SELECT",
            "FROM project_role_grants WHERE id = $1 AND project_id = $2 FOR UPDATE",
            id,
            project_id,
        )
        .fetch_optional(conn)
        .await
    } else {
        project_grant_query!(
            "SELECT",
            "FROM project_role_grants WHERE id = $1 AND project_id = $2",
            id,
            project_id,
        )
        .fetch_optional(conn)
        .await
    }
}

/// Which administrative grants a list shows: every filter given must hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminGrantFilter<'a> {
    /// Only grants to this actor.
    pub target: Option<Uuid>,
    /// Only grants at this scope type (`system`, `project`).
    pub scope_type: Option<&'a str>,
    /// Only grants scoped to this project.
    pub scope_project_id: Option<Uuid>,
    /// Only grants in this status.
    pub status: Option<GrantStatus>,
}

/// A page of administrative grants matching `filter`, by id, after `after`.
pub async fn list_admin(
    conn: &mut PgConnection,
    filter: AdminGrantFilter<'_>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<AdminRoleGrant>, sqlx::Error> {
    // A filter not given is a NULL that holds for every row.
    admin_grant_query!(
        "SELECT",
        "FROM admin_role_grants \
         WHERE ($1::uuid IS NULL OR target_actor_id = $1) \
           AND ($2::text IS NULL OR scope_type = $2) \
           AND ($3::uuid IS NULL OR scope_project_id = $3) \
           AND ($4::text IS NULL OR status = $4) \
           AND ($5::uuid IS NULL OR id > $5) \
         ORDER BY id LIMIT $6",
        filter.target,
        filter.scope_type,
        filter.scope_project_id,
        filter.status.map(GrantStatus::as_str),
        after,
        i64::from(limit),
    )
    .fetch_all(conn)
    .await
}

/// A page of `project_id`'s grants, by id, after `after`, optionally only those in
/// `status` and of `role`.
pub async fn list_project(
    conn: &mut PgConnection,
    project_id: Uuid,
    status: Option<GrantStatus>,
    role: Option<&str>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<ProjectRoleGrant>, sqlx::Error> {
    // A filter not given is a NULL that holds for every row.
    project_grant_query!(
        "SELECT",
        "FROM project_role_grants WHERE project_id = $1 \
           AND ($2::text IS NULL OR status = $2) \
           AND ($3::text IS NULL OR role = $3) \
           AND ($4::uuid IS NULL OR id > $4) \
         ORDER BY id LIMIT $5",
        project_id,
        status.map(GrantStatus::as_str),
        role,
        after,
        i64::from(limit),
    )
    .fetch_all(conn)
    .await
}
