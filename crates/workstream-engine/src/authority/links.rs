//! Revoking and reactivating identity links.
//!
//! A revoked link refuses its (issuer, subject) from the next request on (403
//! `identity_link_revoked`) without touching the profile or its grants; the pair is
//! never rebound to another profile. Nobody revokes or reactivates their own link.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::{ActorStatus, LinkStatus};
use workstream_store::actors::{self, IdentityLink};
use workstream_store::audit::NewAuditEvent;

use super::{RequestContext, audit, reason};
use crate::CommandError;

/// Revokes (`revoke = true`) or reactivates link `link_id`, by `by` acting through
/// `by_grant`.
pub async fn set_link_status(
    conn: &mut PgConnection,
    by: Uuid,
    by_grant: Uuid,
    link_id: Uuid,
    revoke: bool,
    reason_text: &str,
    ctx: &RequestContext,
) -> Result<IdentityLink, CommandError> {
    let why = reason(reason_text)?;
    let not_found = || CommandError::new(ErrorCode::IdentityLinkNotFound, "no such link");
    let peek = actors::link(conn, link_id, false)
        .await?
        .ok_or_else(not_found)?;
    if peek.actor_profile_id == by {
        return Err(CommandError::new(
            ErrorCode::ResourceGuardDenied,
            "nobody can change their own identity link",
        ));
    }
    // Profile before link, the order every status change uses.
    let profile = actors::profile(conn, peek.actor_profile_id, true)
        .await?
        .ok_or_else(|| CommandError::internal("link without a profile"))?;
    let link = actors::link(conn, link_id, true)
        .await?
        .ok_or_else(not_found)?;
    if profile.status == ActorStatus::Deactivated {
        return Err(CommandError::new(
            ErrorCode::ActorDeactivatedTerminal,
            "the actor is deactivated; that is final",
        ));
    }
    let from: LinkStatus = link.status;
    match (revoke, from) {
        (true, LinkStatus::Revoked) => {
            return Err(CommandError::new(
                ErrorCode::IdentityLinkAlreadyRevoked,
                "the link is already revoked",
            ));
        }
        (false, LinkStatus::Active) => {
            return Err(CommandError::new(
                ErrorCode::IdentityLinkNotRevoked,
                "the link is not revoked",
            ));
        }
        _ => {}
    }
    let to = if revoke {
        LinkStatus::Revoked
    } else {
        LinkStatus::Active
    };
    if revoke {
        sqlx::query!(
            "UPDATE actor_identity_links SET status = $4, revoked_at = now(), revoked_by = $2, \
             revoke_reason = $3 WHERE id = $1",
            link_id,
            by,
            &why,
            to.as_str(),
        )
        .execute(&mut *conn)
        .await?;
    } else {
        // Reactivation clears the revocation; the audit log keeps who did both.
        sqlx::query!(
            "UPDATE actor_identity_links SET status = $2, revoked_at = NULL, revoked_by = NULL, \
             revoke_reason = NULL WHERE id = $1",
            link_id,
            to.as_str(),
        )
        .execute(&mut *conn)
        .await?;
    }
    audit(
        conn,
        NewAuditEvent {
            entity_type: "actor_identity_link".into(),
            entity_id: Some(link_id),
            event_type: if revoke {
                "identity_link_revoked"
            } else {
                "identity_link_reactivated"
            }
            .into(),
            from_status: Some(from.to_string()),
            to_status: Some(to.to_string()),
            actor_id: Some(by),
            reason: Some(why),
            payload: json!({
                "actor_profile_id": link.actor_profile_id, "acting_grant_id": by_grant,
            }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    if revoke {
        // T17: without an active identity link the submitter cannot keep unsubmitted tasks.
        crate::tasks::invalidate_assignments_of_actor(
            conn,
            link.actor_profile_id,
            None,
            "identity_link_revoked",
        )
        .await?;
    }
    actors::link(conn, link_id, false)
        .await?
        .ok_or_else(|| CommandError::internal("link vanished"))
}
