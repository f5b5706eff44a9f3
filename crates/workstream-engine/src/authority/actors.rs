//! Suspending, reactivating and deactivating actor profiles.
//!
//! ```text
//!   active --suspend--> suspended --reactivate--> active
//!   active | suspended --deactivate--> deactivated (terminal)
//! ```
//!
//! Status is a guard, never a role: a suspended actor keeps their grants but every
//! request is refused (403 `actor_suspended`) from the next one on (R47). Nobody changes
//! their own status, and the last effective access administrator can be neither
//! suspended nor deactivated.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::ActorStatus;
use workstream_store::actors::{self, ActorProfile};
use workstream_store::audit::NewAuditEvent;

use super::{
    RequestContext, audit, effective_administrators, last_administrator,
    lock_access_administrators, reason, still_holds,
};
use crate::CommandError;

/// `sqlx::query_as!` of an [`ActorProfile`]: `$before` the profile's columns `$after`.
macro_rules! profile_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ActorProfile,
            $before + r#" id, kind, status AS "status: _", display_name, contact_email, service_identity,
             created_by, created_at, status_changed_at, status_changed_by, status_reason "# + $after
            $(, $arg)*
        )
    };
}

/// A change of profile status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// active -> suspended.
    Suspend,
    /// suspended -> active.
    Reactivate,
    /// active | suspended -> deactivated.
    Deactivate,
}

impl StatusChange {
    fn target(self) -> ActorStatus {
        match self {
            StatusChange::Suspend => ActorStatus::Suspended,
            StatusChange::Reactivate => ActorStatus::Active,
            StatusChange::Deactivate => ActorStatus::Deactivated,
        }
    }

    fn event(self) -> &'static str {
        match self {
            StatusChange::Suspend => "actor_suspended",
            StatusChange::Reactivate => "actor_reactivated",
            StatusChange::Deactivate => "actor_deactivated",
        }
    }
}

/// Applies `change` to `target`, by `by` acting through their access administrator
/// grant `by_grant`.
pub async fn change_status(
    conn: &mut PgConnection,
    by: Uuid,
    by_grant: Uuid,
    target: Uuid,
    change: StatusChange,
    reason_text: &str,
    ctx: &RequestContext,
) -> Result<ActorProfile, CommandError> {
    let why = reason(reason_text)?;
    if by == target {
        return Err(CommandError::new(
            ErrorCode::ResourceGuardDenied,
            "nobody can change their own status",
        ));
    }
    let removes_standing = change != StatusChange::Reactivate;
    if removes_standing {
        lock_access_administrators(conn).await?;
    }
    let profile = actors::profile(conn, target, true)
        .await?
        .ok_or_else(|| CommandError::new(ErrorCode::ActorNotFound, "no such actor"))?;
    let status: ActorStatus = profile.status;
    match (change, status) {
        (_, ActorStatus::Deactivated) => {
            return Err(CommandError::new(
                ErrorCode::ActorDeactivatedTerminal,
                "the actor is deactivated; that is final",
            ));
        }
        (StatusChange::Suspend, ActorStatus::Suspended) => {
            return Err(CommandError::new(
                ErrorCode::ActorAlreadySuspended,
                "the actor is already suspended",
            ));
        }
        (StatusChange::Reactivate, ActorStatus::Active) => {
            return Err(CommandError::new(
                ErrorCode::ActorNotSuspended,
                "the actor is not suspended",
            ));
        }
        _ => {}
    }
    if removes_standing
        && status == ActorStatus::Active
        && holds_access_administrator(conn, target).await?
        && effective_administrators(conn, None, Some(target)).await? == 0
    {
        return Err(last_administrator());
    }
    if removes_standing {
        still_holds(conn, by, by_grant).await?;
    }
    let updated = profile_query!(
        "UPDATE actor_profiles SET status = $2, status_changed_at = now(), \
         status_changed_by = $3, status_reason = $4 WHERE id = $1 RETURNING",
        "",
        target,
        change.target().as_str(),
        by,
        &why,
    )
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        NewAuditEvent {
            entity_type: "actor_profile".into(),
            entity_id: Some(target),
            event_type: change.event().into(),
            from_status: Some(status.to_string()),
            to_status: Some(updated.status.to_string()),
            actor_id: Some(by),
            reason: Some(why),
            payload: json!({ "acting_grant_id": by_grant }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    if removes_standing {
        // T17: a suspended or deactivated submitter cannot keep unsubmitted tasks.
        crate::tasks::invalidate_assignments_of_actor(conn, target, None, change.event()).await?;
    }
    Ok(updated)
}

/// The most characters a display name may have (the column's own limit).
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// Sets the caller's own display name: what every page and export shows for them. It
/// is the person's to choose, not a token's to assert, so it changes only here.
/// Trimmed; 1 to [`MAX_DISPLAY_NAME_CHARS`] characters without control characters,
/// else 422 `display_name_invalid`. Audited as `actor_display_name_changed` with the
/// names before and after; setting the name it already has changes nothing.
pub async fn set_display_name(
    conn: &mut PgConnection,
    ctx: &RequestContext,
    actor: Uuid,
    name: &str,
) -> Result<ActorProfile, CommandError> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(CommandError::new(ErrorCode::DisplayNameInvalid,
            format!(
                "a display name has 1 to {MAX_DISPLAY_NAME_CHARS} characters and no control characters"
            ),
        )
        .with_details(json!({ "field": "display_name" })));
    }
    let profile = actors::profile(conn, actor, true)
        .await?
        .ok_or_else(CommandError::not_found)?;
    if profile.display_name == name {
        return Ok(profile);
    }
    let updated = profile_query!(
        "UPDATE actor_profiles SET display_name = $2 WHERE id = $1 RETURNING",
        "",
        actor,
        name,
    )
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        NewAuditEvent {
            entity_type: "actor_profile".into(),
            entity_id: Some(actor),
            event_type: "actor_display_name_changed".into(),
            actor_id: Some(actor),
            payload: json!({ "from": profile.display_name, "to": updated.display_name }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(updated)
}

async fn holds_access_administrator(
    conn: &mut PgConnection,
    actor: Uuid,
) -> Result<bool, CommandError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM active_admin_role_grants WHERE target_actor_id = $1
           AND role = 'access_administrator') AS "held!""#,
        actor,
    )
    .fetch_one(&mut *conn)
    .await?)
}
