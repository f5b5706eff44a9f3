//! The review queue as a reviewer meets it (R26, R35; docs/lifecycle.md).
//!
//! Reviewers never browse the backlog. [`current`] answers with the reviewer's active
//! lease if they hold one (AS25), else with one entry the server chose, else nothing.
//! The choice: among pending entries of projects where the caller holds an active
//! reviewer grant, whose task is `review_pending`, that nobody holds a lease on, that
//! the caller did not submit any version of (no self-review, R25) and did not decline,
//! an entry preferred for the caller comes first; then the oldest (queue age is never
//! reset). An entry preferred for someone else is offered to others only once its
//! preference has lapsed (database time).
//!
//! [`claim`] takes a lease on that entry: one active lease per reviewer and per entry
//! (two partial unique indexes back the locks), expiring at database time plus the
//! locked review policy's lease duration, and writes the review packet manifest the
//! reviewer was shown. A lease ends as `consumed` (the decision), `released` (by the
//! reviewer, or an Operator's force-release), `declined` (the preference, if it was the
//! caller's, lapses at once), `expired` or `invalidated` (the reviewer lost the grant).
//! [`sweep`] applies expiry, lapsed preferences and invalidation; every queue read and
//! command runs it first, so database time is the only clock. A lease itself, and what
//! reading one needs, is [`super::lease`].

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::{Actor, TaskState};
use workstream_domain::machines::authority::ActorStatus;
use workstream_domain::machines::review_queue::{QueueRouting, ReviewLeaseDisposition};
use workstream_store::audit::{self, NewAuditEvent};

use super::lease::{Lease, active_lease, lease, reviewer_holds_query};
use super::policies::guide_policies;
use crate::CommandError;
use crate::requester::Requester;
use crate::tasks::access::Access;

/// One queue entry offered to a reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Offer {
    /// The entry to claim.
    pub queue_entry_id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// The task's title.
    pub task_title: String,
    /// The submission waiting for review.
    pub submission_id: Uuid,
    /// Its version.
    pub submission_version: i32,
    /// `first_submission`, `revision_return` or `checker_remediation_return`.
    pub routing_reason: String,
    /// Whether the entry is preferred for the caller (they asked for this revision).
    pub preferred_for_you: bool,
    /// When the entry joined the queue (never reset).
    pub enqueued_at: DateTime<Utc>,
}

/// What [`current`] answers: the active lease, or one offer, or neither.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Current {
    /// The caller's active lease.
    pub lease: Option<Lease>,
    /// One server-chosen entry, when the caller holds no lease.
    pub offer: Option<Offer>,
}

/// Ends what database time has ended: leases past `expires_at` (`expired`), leases
/// whose reviewer no longer holds an active reviewer grant on the project or is no
/// longer an active human (`invalidated`), and preferences past their window or whose
/// preferred reviewer lost that authority (routing `open`).
pub async fn sweep(conn: &mut PgConnection) -> Result<(), CommandError> {
    // The live rows are read through their views (migrations/0016_live_rows.sql), so
    // each pass walks a partial index: `review_leases_expiry_idx`, then
    // `review_queue_entries_pending_idx`.
    sqlx::query!(
        "UPDATE active_review_leases SET disposition = $1, ended_at = now(), \
         end_reason = 'lease expired' WHERE expires_at <= now()",
        ReviewLeaseDisposition::Expired.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    reviewer_holds_query!(
        "UPDATE active_review_leases l SET disposition = $1, ended_at = now(), \
         end_reason = 'reviewer authority lost' FROM review_queue_entries e \
         WHERE e.id = l.queue_entry_id AND NOT",
        "l.reviewer_id",
        "e.project_id",
        "$2",
        "",
        ReviewLeaseDisposition::Invalidated.as_str(),
        ActorStatus::Active.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    reviewer_holds_query!(
        "UPDATE pending_review_queue_entries e SET routing = $1 \
         WHERE e.routing = $2 \
           AND (e.preference_expires_at <= now() OR NOT",
        "e.preferred_reviewer_id",
        "e.project_id",
        "$3",
        ")",
        QueueRouting::Open.as_str(),
        QueueRouting::Preferred.as_str(),
        ActorStatus::Active.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `sqlx::query_as!` of the [`Offer`] reviewer `$1` may be offered, best first (`$2`,
/// when not null, narrows to one entry), then `$after` (a lock, or nothing).
///
/// The pending entries and the active leases are read through their views
/// (migrations/0016_live_rows.sql), which the planner matches with the partial indexes
/// `review_queue_entries_pending_idx` and `review_leases_one_active_per_entry`; the `!`
/// marks restate the `NOT NULL`s a view does not carry. The reviewer's grant is as
/// `reviewer_holds_query!` states it (`$7`: an active actor).
macro_rules! offer_query {
    ($after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Offer,
            r#"SELECT e.id AS "queue_entry_id!", e.project_id AS "project_id!",
                 e.task_id AS "task_id!", t.title AS task_title,
                 e.submission_id AS "submission_id!", e.submission_version AS "submission_version!",
                 e.routing_reason AS "routing_reason!",
                 (e.routing = $3 AND e.preferred_reviewer_id = $1) AS "preferred_for_you!",
                 e.enqueued_at AS "enqueued_at!"
               FROM pending_review_queue_entries e JOIN tasks t ON t.id = e.task_id AND t.status = $4
               WHERE ($2::uuid IS NULL OR e.id = $2)
                 AND EXISTS (SELECT 1 FROM active_project_role_grants g
                   JOIN actor_profiles p ON p.id = g.actor_id AND p.kind = 'human' AND p.status = $7
                   WHERE g.actor_id = $1 AND g.project_id = e.project_id AND g.role = 'reviewer'
                     AND EXISTS (SELECT 1 FROM active_identity_links k
                                 WHERE k.actor_profile_id = p.id))
                 AND (e.routing = $5 OR e.preferred_reviewer_id = $1)
                 AND NOT EXISTS (SELECT 1 FROM active_review_leases l
                                 WHERE l.queue_entry_id = e.id)
                 AND NOT EXISTS (SELECT 1 FROM submissions s
                                 WHERE s.task_id = e.task_id AND s.contributor_id = $1)
                 AND NOT EXISTS (SELECT 1 FROM review_leases d WHERE d.queue_entry_id = e.id
                                 AND d.reviewer_id = $1 AND d.disposition = $6)
               ORDER BY "preferred_for_you!" DESC, e.enqueued_at, e.id LIMIT 1"#
                + $after
            $(, $arg)*
        )
    };
}

/// The entries `reviewer` may be offered, best first; `only` narrows to one entry.
async fn offers(
    conn: &mut PgConnection,
    reviewer_id: Uuid,
    only: Option<Uuid>,
    lock: bool,
) -> Result<Option<Offer>, CommandError> {
    let (preferred, review_pending, open, declined, active_actor) = (
        QueueRouting::Preferred.as_str(),
        TaskState::ReviewPending.as_str(),
        QueueRouting::Open.as_str(),
        ReviewLeaseDisposition::Declined.as_str(),
        ActorStatus::Active.as_str(),
    );
    let offer = if lock {
        offer_query!(
            " FOR UPDATE OF e SKIP LOCKED",
            reviewer_id,
            only,
            preferred,
            review_pending,
            open,
            declined,
            active_actor,
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        offer_query!(
            "",
            reviewer_id,
            only,
            preferred,
            review_pending,
            open,
            declined,
            active_actor,
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    Ok(offer)
}

/// The caller's active lease, or one offer, or nothing (R26, AS25).
pub async fn current(conn: &mut PgConnection, reviewer_id: Uuid) -> Result<Current, CommandError> {
    sweep(conn).await?;
    if let Some(lease) = active_lease(conn, reviewer_id).await? {
        return Ok(Current {
            lease: Some(lease),
            offer: None,
        });
    }
    Ok(Current {
        lease: None,
        offer: offers(conn, reviewer_id, None, false).await?,
    })
}

/// A claimed lease and the packet manifest the reviewer was shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Claimed {
    /// The new lease.
    pub lease: Lease,
    /// The review packet manifest (metadata only).
    pub manifest: Value,
    /// Its canonical digest.
    pub manifest_digest: String,
}

/// Takes a lease on `entry` (or, without one, on the entry [`current`] would offer).
///
/// Refusals: 409 `review_lease_active` when the caller already holds a lease; the
/// concealed 404 for an entry the caller may not be offered (foreign project, own
/// submission chain, taken, closed); 403 `self_review_forbidden` for an entry of a
/// project the caller reviews but whose task they submitted to (AS24); 404 `no_review_offer`
/// when the queue has nothing for them.
pub async fn claim(
    conn: &mut PgConnection,
    requester: &Requester,
    entry: Option<Uuid>,
) -> Result<Claimed, CommandError> {
    sweep(conn).await?;
    // The reviewer's profile row serializes their claims: one active lease each.
    workstream_store::tasks::lock_contributor(conn, requester.actor_id).await?;
    if let Some(held) = active_lease(conn, requester.actor_id).await? {
        return Err(CommandError::new(
            ErrorCode::ReviewLeaseActive,
            "you already hold an active review lease; decide, release or decline it first",
        )
        .with_details(json!({ "lease_id": held.id })));
    }
    let Some(offer) = offers(conn, requester.actor_id, entry, true).await? else {
        return Err(match entry {
            Some(entry) => refusal_for_entry(conn, requester.actor_id, entry).await?,
            None => CommandError::new(
                ErrorCode::NoReviewOffer,
                "nothing is waiting for your review",
            ),
        });
    };
    let guide = sqlx::query_scalar!(
        "SELECT locked_guide_id FROM submissions WHERE id = $1",
        offer.submission_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let policies = guide_policies(conn, guide).await?;
    let access = Access::read(conn, requester.actor_id, offer.project_id, true).await?;
    let grant = access.require(Actor::Reviewer)?;
    let lease_id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO review_leases (id, queue_entry_id, submission_id, reviewer_id, \
         reviewer_contribution_policy_version_id, expires_at) \
         SELECT $1, $2, s.id, $3, s.contribution_policy_version_id, \
                now() + make_interval(secs => $4) FROM submissions s WHERE s.id = $5",
        lease_id,
        offer.queue_entry_id,
        requester.actor_id,
        policies.review.review_lease_duration_seconds as f64,
        offer.submission_id,
    )
    .execute(&mut *conn)
    .await?;
    let lease = lease(conn, lease_id)
        .await?
        .ok_or_else(|| CommandError::internal("lease vanished"))?;
    let manifest = serde_json::to_value(super::packet::manifest(conn, &lease).await?)
        .map_err(CommandError::internal)?;
    let manifest_digest = Digest::of_canonical_json(&manifest)
        .map_err(CommandError::internal)?
        .to_string();
    sqlx::query!(
        "INSERT INTO review_packet_manifests (id, review_lease_id, submission_id, \
         admitting_checker_run_id, manifest, manifest_digest) \
         SELECT $1, $2, e.submission_id, e.admitting_checker_run_id, $3, $4 \
         FROM review_queue_entries e WHERE e.id = $5",
        Uuid::now_v7(),
        lease.id,
        &manifest,
        &manifest_digest,
        lease.queue_entry_id,
    )
    .execute(&mut *conn)
    .await?;
    audit::append(
        conn,
        NewAuditEvent {
            project_id: Some(lease.project_id),
            entity_type: "review_lease".into(),
            entity_id: Some(lease.id),
            event_type: "review_lease_claimed".into(),
            to_status: Some(ReviewLeaseDisposition::Active.to_string()),
            actor_id: Some(requester.actor_id),
            payload: json!({
                "matched_grant_id": grant,
                "permission": "review.claim",
                "task_id": lease.task_id,
                "submission_id": lease.submission_id,
                "queue_entry_id": lease.queue_entry_id,
                "expires_at": lease.expires_at,
                "manifest_digest": manifest_digest,
            }),
            correlation_id: requester.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(Claimed {
        lease,
        manifest,
        manifest_digest,
    })
}

/// Why `entry` is not offerable to the caller: self-review is named (the caller can
/// see the project and should know why), everything else is the concealed 404.
async fn refusal_for_entry(
    conn: &mut PgConnection,
    reviewer_id: Uuid,
    entry: Uuid,
) -> Result<CommandError, CommandError> {
    let found = sqlx::query!(
        "SELECT project_id, task_id FROM review_queue_entries WHERE id = $1",
        entry
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some((project_id, task_id)) = found.map(|row| (row.project_id, row.task_id)) else {
        return Ok(CommandError::not_found());
    };
    let access = Access::read(conn, reviewer_id, project_id, false).await?;
    if access.grant_for(Actor::Reviewer).is_none() {
        return Ok(access.denied());
    }
    let own = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM submissions WHERE task_id = $1 AND contributor_id = $2) AS "own!""#,
        task_id,
        reviewer_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(if own {
        CommandError::new(
            ErrorCode::SelfReviewForbidden,
            "you submitted work on this task and cannot review it",
        )
    } else {
        CommandError::not_found()
    })
}

/// How a lease holder (or an Operator) ends a lease without a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The reviewer gives it back; the entry keeps its routing.
    Release,
    /// The reviewer declines it; a preference for them lapses at once.
    Decline,
    /// An Operator frees it (`review.lease.force_release`); recorded as `released`.
    ForceRelease,
}

/// Ends `lease_id` as `ending` says. The holder releases or declines their own lease;
/// an Operator force-releases anyone's with a reason (R49). Anyone else gets the
/// concealed 404; a lease no longer active is 409 `lease_not_active`.
pub async fn end(
    conn: &mut PgConnection,
    requester: &Requester,
    lease_id: Uuid,
    ending: Ending,
    reason: Option<&str>,
) -> Result<Lease, CommandError> {
    sweep(conn).await?;
    let held = lease(conn, lease_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let access = Access::read(conn, requester.actor_id, held.project_id, true).await?;
    let grant = match ending {
        Ending::ForceRelease => access.require(Actor::Operator)?,
        _ if held.reviewer_id == requester.actor_id => {
            access.grant_for(Actor::Reviewer).unwrap_or_default()
        }
        _ => return Err(CommandError::not_found()),
    };
    let reason = match (ending, reason.map(str::trim)) {
        (Ending::ForceRelease, Some(r)) if !r.is_empty() && r.chars().count() <= 500 => {
            Some(r.to_owned())
        }
        (Ending::ForceRelease, _) => {
            return Err(CommandError::new(
                ErrorCode::ReasonRequired,
                "a force-release needs a reason of 1 to 500 characters",
            ));
        }
        (_, Some(r)) if r.chars().count() > 500 => {
            return Err(CommandError::new(
                ErrorCode::ReasonTooLong,
                "a reason has at most 500 characters",
            ));
        }
        (_, r) => r.filter(|r| !r.is_empty()).map(str::to_owned),
    };
    // Lock order: task, then the lease and its entry.
    sqlx::query_scalar!(
        "SELECT id FROM tasks WHERE id = $1 FOR UPDATE",
        held.task_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let disposition = if ending == Ending::Decline {
        ReviewLeaseDisposition::Declined
    } else {
        ReviewLeaseDisposition::Released
    };
    let updated = sqlx::query!(
        "UPDATE active_review_leases SET disposition = $2, ended_at = now(), ended_by = $3, \
         end_reason = $4 WHERE id = $1",
        lease_id,
        disposition.as_str(),
        requester.actor_id,
        reason.as_deref(),
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(CommandError::new(
            ErrorCode::LeaseNotActive,
            format!("the lease is {}", held.disposition),
        ));
    }
    if ending == Ending::Decline {
        sqlx::query!(
            "UPDATE review_queue_entries SET routing = $3 \
             WHERE id = $1 AND routing = $4 AND preferred_reviewer_id = $2",
            held.queue_entry_id,
            requester.actor_id,
            QueueRouting::Open.as_str(),
            QueueRouting::Preferred.as_str(),
        )
        .execute(&mut *conn)
        .await?;
    }
    let (event, permission) = match ending {
        Ending::Release => ("review_lease_released", "review.release"),
        Ending::Decline => ("review_lease_declined", "review.decline"),
        Ending::ForceRelease => ("review_lease_force_released", "review.lease.force_release"),
    };
    audit::append(
        conn,
        NewAuditEvent {
            project_id: Some(held.project_id),
            entity_type: "review_lease".into(),
            entity_id: Some(held.id),
            event_type: event.into(),
            from_status: Some(ReviewLeaseDisposition::Active.to_string()),
            to_status: Some(disposition.to_string()),
            actor_id: Some(requester.actor_id),
            reason: reason.clone(),
            payload: json!({
                "matched_grant_id": grant,
                "permission": permission,
                "task_id": held.task_id,
                "reviewer_id": held.reviewer_id,
                "queue_entry_id": held.queue_entry_id,
            }),
            correlation_id: requester.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    lease(conn, lease_id)
        .await?
        .ok_or_else(|| CommandError::internal("lease vanished"))
}

/// How much review work is waiting, for the service's gauges.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Entries waiting for a reviewer.
    pub pending_entries: i64,
    /// Leases a reviewer holds now.
    pub active_leases: i64,
    /// Seconds since the oldest active lease was issued (0 with none).
    pub oldest_lease_seconds: f64,
}

/// The queue's [`Load`]; each count walks a partial index of the live rows only.
pub async fn load(conn: &mut PgConnection) -> Result<Load, CommandError> {
    // The views are those partial indexes: `review_queue_entries_pending_idx` and
    // `review_leases_expiry_idx`.
    Ok(sqlx::query_as!(
        Load,
        r#"SELECT
             (SELECT count(*) FROM pending_review_queue_entries) AS "pending_entries!",
             (SELECT count(*) FROM active_review_leases) AS "active_leases!",
             coalesce((SELECT extract(epoch FROM now() - min(issued_at))::float8
                       FROM active_review_leases), 0) AS "oldest_lease_seconds!""#
    )
    .fetch_one(conn)
    .await?)
}
