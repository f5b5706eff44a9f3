//! A review lease: one reviewer's hold on one queue entry, and what reading one needs.
//! A lease is read by id or by holder, and a read first ends it if database time or a
//! lost grant already has ([`sweep_lease`]), so a holder never acts on a lease that is
//! over.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::machines::authority::ActorStatus;
use workstream_domain::machines::review_queue::ReviewLeaseDisposition;

use crate::CommandError;
use crate::requester::Requester;

/// A review lease as its holder sees it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Lease {
    /// The lease id.
    pub id: Uuid,
    /// The queue entry it holds.
    pub queue_entry_id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The task under review.
    pub task_id: Uuid,
    /// The exact submission under review.
    pub submission_id: Uuid,
    /// Its version.
    pub submission_version: i32,
    /// The reviewer.
    pub reviewer_id: Uuid,
    /// `active`, `consumed`, `released`, `declined`, `expired` or `invalidated`.
    pub disposition: ReviewLeaseDisposition,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires (database time).
    pub expires_at: DateTime<Utc>,
}

/// `sqlx::query_as!` of [`Lease`] rows: the lease's columns (`l`, joined with its entry
/// `e`), then `$after`.
macro_rules! lease_query {
    ($after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Lease,
            "SELECT l.id, l.queue_entry_id, e.project_id, e.task_id, l.submission_id, \
             e.submission_version, l.reviewer_id, l.disposition AS \"disposition: _\", l.issued_at, \
             l.expires_at FROM review_leases l JOIN review_queue_entries e ON e.id = l.queue_entry_id "
                + $after
            $(, $arg)*
        )
    };
}

/// `sqlx::query!` whose text is `$before`, the predicate "`$actor` is an active, linked
/// human holding an active reviewer grant on `$project`" (both SQL expressions), then
/// `$after`; `$active` is the placeholder (`"$3"`) the caller binds to
/// `ActorStatus::Active`. The grant and the link are read through the views of the
/// active ones (migrations/0016_live_rows.sql), which walk the partial indexes
/// `project_role_grants_actor_idx` and `actor_identity_links_one_active_per_profile`.
macro_rules! reviewer_holds_query {
    ($before:tt, $actor:tt, $project:tt, $active:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query!(
            $before
                + " EXISTS (SELECT 1 FROM active_project_role_grants g \
                   JOIN actor_profiles p ON p.id = g.actor_id AND p.kind = 'human' AND p.status = "
                + $active
                + " WHERE g.actor_id = "
                + $actor
                + " AND g.project_id = "
                + $project
                + " AND g.role = 'reviewer' \
                     AND EXISTS (SELECT 1 FROM active_identity_links k \
                                 WHERE k.actor_profile_id = p.id)) "
                + $after
            $(, $arg)*
        )
    };
}
pub(crate) use reviewer_holds_query;

/// The caller's active lease, if any.
pub async fn active_lease(
    conn: &mut PgConnection,
    reviewer_id: Uuid,
) -> Result<Option<Lease>, CommandError> {
    // The view walks the partial index `review_leases_one_active_per_reviewer`.
    Ok(lease_query!(
        "WHERE l.id = (SELECT id FROM active_review_leases WHERE reviewer_id = $1)",
        reviewer_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A lease by id, whoever holds it.
pub async fn lease(conn: &mut PgConnection, lease_id: Uuid) -> Result<Option<Lease>, CommandError> {
    Ok(lease_query!("WHERE l.id = $1", lease_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// `queue::sweep` for one lease only: ends lease `lease_id` if it expired or its holder lost
/// the reviewer's authority. What a read of the lease needs, at the cost of two lookups
/// by key instead of a pass over every active lease and preferred entry (the review
/// packet is read far more often than leases are claimed or decided).
pub async fn sweep_lease(conn: &mut PgConnection, lease_id: Uuid) -> Result<(), CommandError> {
    sqlx::query!(
        "UPDATE active_review_leases SET disposition = $2, ended_at = now(), \
         end_reason = 'lease expired' WHERE id = $1 AND expires_at <= now()",
        lease_id,
        ReviewLeaseDisposition::Expired.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    reviewer_holds_query!(
        "UPDATE active_review_leases l SET disposition = $2, ended_at = now(), \
         end_reason = 'reviewer authority lost' FROM review_queue_entries e \
         WHERE l.id = $1 AND e.id = l.queue_entry_id AND NOT",
        "l.reviewer_id",
        "e.project_id",
        "$3",
        "",
        lease_id,
        ReviewLeaseDisposition::Invalidated.as_str(),
        ActorStatus::Active.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The lease `lease_id` if the caller holds it and it is active; otherwise the
/// concealed 404 (R27).
pub async fn held_lease(
    conn: &mut PgConnection,
    requester: &Requester,
    lease_id: Uuid,
) -> Result<Lease, CommandError> {
    sweep_lease(conn, lease_id).await?;
    match lease(conn, lease_id).await? {
        Some(l)
            if l.reviewer_id == requester.actor_id
                && l.disposition == ReviewLeaseDisposition::Active =>
        {
            Ok(l)
        }
        _ => Err(CommandError::not_found()),
    }
}
