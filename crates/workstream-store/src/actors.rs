//! Actor profiles and the identity links that map a token's (issuer, subject) to them.
//!
//! Reads only: profiles and links change through the authority commands of
//! `workstream-engine`, each with its audit event.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::machines::authority::{ActorStatus, LinkStatus};

/// An actor profile as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorProfile {
    /// The profile id.
    pub id: Uuid,
    /// `human` or `service`.
    pub kind: String,
    /// Whether the actor may act.
    pub status: ActorStatus,
    /// Shown to other people; the subject until the actor changes it.
    pub display_name: String,
    /// Optional contact address.
    pub contact_email: Option<String>,
    /// The fixed identity of a service principal; `None` for humans.
    pub service_identity: Option<String>,
    /// Who created the profile (`None`: first access or the system).
    pub created_by: Option<Uuid>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the status last changed.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// Who changed it.
    pub status_changed_by: Option<Uuid>,
    /// Why.
    pub status_reason: Option<String>,
}

/// `sqlx::query_as!` of [`ActorProfile`] rows: `$before` the profile's columns `$after`.
macro_rules! profile_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ActorProfile,
            $before + " id, kind, status AS \"status: _\", display_name, contact_email, service_identity, \
             created_by, created_at, status_changed_at, status_changed_by, status_reason " + $after
            $(, $arg)*
        )
    };
}

/// An identity link as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityLink {
    /// The link id.
    pub id: Uuid,
    /// The profile it points to (never changes).
    pub actor_profile_id: Uuid,
    /// The token issuer.
    pub issuer: String,
    /// The token subject.
    pub subject: String,
    /// Whether it still signs in.
    pub status: LinkStatus,
    /// Who linked it (`None`: first access or the system).
    pub linked_by: Option<Uuid>,
    /// When.
    pub linked_at: DateTime<Utc>,
    /// When it was revoked, while revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// By whom.
    pub revoked_by: Option<Uuid>,
    /// Why.
    pub revoke_reason: Option<String>,
}

/// `sqlx::query_as!` of [`IdentityLink`] rows: `$before` the link's columns `$after`.
macro_rules! link_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            IdentityLink,
            $before + " id, actor_profile_id, issuer, subject, status AS \"status: _\", linked_by, linked_at, \
             revoked_at, revoked_by, revoke_reason " + $after
            $(, $arg)*
        )
    };
}

/// The profile `id`; `lock` takes a row lock for a status change.
pub async fn profile(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<ActorProfile>, sqlx::Error> {
    if lock {
        profile_query!("SELECT", "FROM actor_profiles WHERE id = $1 FOR UPDATE", id)
            .fetch_optional(conn)
            .await
    } else {
        profile_query!("SELECT", "FROM actor_profiles WHERE id = $1", id)
            .fetch_optional(conn)
            .await
    }
}

/// How reads name the actor `id`: their display name, else their identity link's
/// subject, else a service's identity (`workstream_actor_label`, migrations/0013).
pub async fn label(conn: &mut PgConnection, id: Uuid) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!("SELECT workstream_actor_label($1) AS label", id)
        .fetch_one(conn)
        .await
        .map(|label| label.unwrap_or_else(|| id.to_string()))
}

/// [`label`] of each of `ids` (unknown ids are left out).
pub async fn labels(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, workstream_actor_label(id) AS "label!" FROM actor_profiles WHERE id = ANY($1)"#,
        ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.label)).collect())
}

/// The link of (`issuer`, `subject`), revoked or not.
pub async fn link_by_identity(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<IdentityLink>, sqlx::Error> {
    link_query!(
        "SELECT",
        "FROM actor_identity_links WHERE issuer = $1 AND subject = $2",
        issuer,
        subject,
    )
    .fetch_optional(conn)
    .await
}

/// Who a token's (issuer, subject) is, read in one statement for every authenticated
/// request: the link, its profile's kind and status, and the profile's active grants.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The link, revoked or not.
    pub link: IdentityLink,
    /// The profile's kind (`human`, `service`); `None` if the profile is missing.
    pub profile_kind: Option<String>,
    /// The profile's status.
    pub profile_status: Option<ActorStatus>,
    /// Active administrative grants: ids, in id order.
    pub admin_grant_ids: Vec<Uuid>,
    /// Their roles.
    pub admin_grant_roles: Vec<String>,
    /// Their project scopes (`None`: system).
    pub admin_grant_projects: Vec<Option<Uuid>>,
    /// Active project grants: ids, in id order.
    pub project_grant_ids: Vec<Uuid>,
    /// Their projects.
    pub project_grant_projects: Vec<Uuid>,
    /// Their roles.
    pub project_grant_roles: Vec<String>,
}

/// The [`Identity`] of (`issuer`, `subject`), if it is linked.
pub async fn identity(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<Identity>, sqlx::Error> {
    // The grants are read through the views of the active ones, each walking its
    // partial index (migrations/0016_live_rows.sql).
    let row = sqlx::query!(
        r#"SELECT l.id, l.actor_profile_id, l.issuer, l.subject, l.status AS "status: LinkStatus", l.linked_by,
           l.linked_at, l.revoked_at, l.revoked_by, l.revoke_reason,
           p.kind AS "profile_kind?", p.status AS "profile_status?: ActorStatus",
           a.ids AS "admin_grant_ids!", a.roles AS "admin_grant_roles!",
           a.projects AS "admin_grant_projects!: Vec<Option<Uuid>>",
           g.ids AS "project_grant_ids!", g.projects AS "project_grant_projects!",
           g.roles AS "project_grant_roles!"
         FROM actor_identity_links l
         LEFT JOIN actor_profiles p ON p.id = l.actor_profile_id
         CROSS JOIN LATERAL (
           SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids,
                  coalesce(array_agg(role ORDER BY id), '{}') AS roles,
                  coalesce(array_agg(scope_project_id ORDER BY id), '{}') AS projects
           FROM active_admin_role_grants WHERE target_actor_id = l.actor_profile_id) a
         CROSS JOIN LATERAL (
           SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids,
                  coalesce(array_agg(project_id ORDER BY id), '{}') AS projects,
                  coalesce(array_agg(role ORDER BY id), '{}') AS roles
           FROM active_project_role_grants WHERE actor_id = l.actor_profile_id) g
         WHERE l.issuer = $1 AND l.subject = $2"#,
        issuer,
        subject,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Identity {
        link: IdentityLink {
            id: row.id,
            actor_profile_id: row.actor_profile_id,
            issuer: row.issuer,
            subject: row.subject,
            status: row.status,
            linked_by: row.linked_by,
            linked_at: row.linked_at,
            revoked_at: row.revoked_at,
            revoked_by: row.revoked_by,
            revoke_reason: row.revoke_reason,
        },
        profile_kind: row.profile_kind,
        profile_status: row.profile_status,
        admin_grant_ids: row.admin_grant_ids,
        admin_grant_roles: row.admin_grant_roles,
        admin_grant_projects: row.admin_grant_projects,
        project_grant_ids: row.project_grant_ids,
        project_grant_projects: row.project_grant_projects,
        project_grant_roles: row.project_grant_roles,
    }))
}

/// The link `id`; `lock` takes a row lock for a status change.
pub async fn link(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<IdentityLink>, sqlx::Error> {
    if lock {
        link_query!(
            "SELECT",
            "FROM actor_identity_links WHERE id = $1 FOR UPDATE",
            id
        )
        .fetch_optional(conn)
        .await
    } else {
        link_query!("SELECT", "FROM actor_identity_links WHERE id = $1", id)
            .fetch_optional(conn)
            .await
    }
}

/// Every link of profile `actor_id`, oldest first.
pub async fn links_of(
    conn: &mut PgConnection,
    actor_id: Uuid,
) -> Result<Vec<IdentityLink>, sqlx::Error> {
    link_query!(
        "SELECT",
        "FROM actor_identity_links WHERE actor_profile_id = $1 ORDER BY id",
        actor_id,
    )
    .fetch_all(conn)
    .await
}
