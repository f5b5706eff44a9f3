//! Authority commands: who an actor is and what they may do (docs/security.md).
//!
//! * [`provisioning`]: the profile and identity link made on a human's first verified
//!   request, and the bootstrap of the first access administrator.
//! * [`admin_grants`]: administrative role grants (system or project scope).
//! * [`project_grants`]: contributor role grants on one project, with their
//!   qualification snapshot.
//! * [`actors`]: suspending, reactivating and deactivating profiles.
//! * [`links`]: revoking and reactivating identity links.
//! * [`services`]: pre-provisioned service principals.
//!
//! Every command runs in the caller's transaction and writes one audit event per
//! change. The rules no caller may break are enforced here, not in the routes: nobody
//! grants, revokes, suspends or deactivates themselves (R46), access administrator and
//! operator exist only at system scope, and the last effective access administrator
//! cannot be removed. That last check is serialized by locking every active access
//! administrator grant (see [`lock_access_administrators`]): two administrators
//! removing each other at the same moment cannot both succeed.

pub mod actors;
pub mod admin_grants;
pub mod links;
pub mod project_grants;
pub mod provisioning;
pub mod services;

use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::ActorStatus;
use workstream_store::audit::{self, NewAuditEvent};

use crate::CommandError;

/// Request facts every authority command records in its audit event.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The correlation id of the request (or CLI run).
    pub correlation_id: Option<String>,
}

/// Appends `event`, mapping audit failures to command errors.
pub(crate) async fn audit(
    conn: &mut PgConnection,
    event: NewAuditEvent,
) -> Result<(), CommandError> {
    match audit::append(conn, event).await {
        Ok(_) => Ok(()),
        Err(audit::AuditError::Sql(err)) => Err(err.into()),
        Err(other) => Err(CommandError::internal(other)),
    }
}

/// A reason as stored: trimmed, 1..500 bytes, no NUL (422 `invalid_reason`).
pub fn reason(text: &str) -> Result<String, CommandError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > 500 || trimmed.contains('\0') {
        return Err(CommandError::new(
            ErrorCode::InvalidReason,
            "a reason of 1 to 500 bytes (after trimming, without NUL) is required",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Locks every active access administrator grant (in id order, so concurrent callers
/// queue instead of deadlocking) and returns (grant id, holder) pairs. Whoever holds
/// these locks may count administrators and know the count cannot change under them,
/// except upwards.
pub async fn lock_access_administrators(
    conn: &mut PgConnection,
) -> Result<Vec<(Uuid, Uuid)>, CommandError> {
    // Also serializes the bootstrap, which runs when there is no grant row to lock.
    sqlx::query_scalar!(
        r#"SELECT pg_advisory_xact_lock(hashtext('workstream:access_administrators')) AS "locked: ()""#
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(sqlx::query!(
        r#"SELECT id AS "id!", target_actor_id AS "target_actor_id!" FROM active_admin_role_grants
           WHERE role = 'access_administrator' ORDER BY id FOR UPDATE"#,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|grant| (grant.id, grant.target_actor_id))
    .collect())
}

/// How many active access administrator grants held by active actors remain when
/// `without_grant` is revoked or `without_actor` loses their standing. Call with the
/// locks of [`lock_access_administrators`] held.
pub(crate) async fn effective_administrators(
    conn: &mut PgConnection,
    without_grant: Option<Uuid>,
    without_actor: Option<Uuid>,
) -> Result<i64, CommandError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(DISTINCT g.target_actor_id) AS "count!" FROM active_admin_role_grants g
           JOIN actor_profiles a ON a.id = g.target_actor_id
           WHERE g.role = 'access_administrator' AND a.status = $3
             AND g.id IS DISTINCT FROM $1 AND g.target_actor_id IS DISTINCT FROM $2"#,
        without_grant,
        without_actor,
        ActorStatus::Active.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// 409 `last_access_administrator`.
pub(crate) fn last_administrator() -> CommandError {
    CommandError::new(
        ErrorCode::LastAccessAdministrator,
        "this would leave no active access administrator",
    )
}

/// Re-checks, under the administrator locks, that `grant_id` is still an active grant
/// held by `actor_id` (a concurrent revocation may have removed it since the request
/// was authorized).
pub(crate) async fn still_holds(
    conn: &mut PgConnection,
    actor_id: Uuid,
    grant_id: Uuid,
) -> Result<(), CommandError> {
    let active = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM active_admin_role_grants g JOIN actor_profiles a
           ON a.id = g.target_actor_id WHERE g.id = $1 AND g.target_actor_id = $2
           AND a.status = $3) AS "active!""#,
        grant_id,
        actor_id,
        ActorStatus::Active.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    if active {
        Ok(())
    } else {
        Err(CommandError::new(
            ErrorCode::PermissionNotGranted,
            "your grant was revoked while this request ran",
        ))
    }
}
