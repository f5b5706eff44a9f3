//! Human review: the queue and its leases, the review packet, the decision, and the
//! revision episode a `needs_revision` decision opens (docs/lifecycle.md
//! T11-T15, docs/lifecycle.md; R24-R38).
//!
//! How the pieces fit:
//!
//! ```text
//!  checker run allow_review ──> queue entry (pending; open | preferred)
//!        queue::current / queue::claim ──> lease (active, database-time expiry)
//!        packet::view / packet::file     (lease holder only, R27)
//!        decision::decide ──> Review + findings + resolutions, lease consumed,
//!                             entry closed, completed_review (+ awards), then
//!             accept         ──> FinalAcceptance, task accepted, accepted_submission (+ awards)
//!             needs_revision ──> revision::prepare (kept | rebased | blocked), task needs_revision
//!             reject         ──> assignment blocked, task rejected
//!  resubmission (tasks::submission::submit) answers each open finding; the next
//!  review resolves each one; revision::close / revision::repair are the PM's tools.
//! ```
//!
//! * [`queue`]: what a reviewer is offered, claiming it, and how a lease ends
//!   (release, decline, expiry, invalidation, Operator force-release).
//! * [`packet`]: what the lease holder reads: the packet's files, the checker run with
//!   its findings by path and line, the locked guide and policies, prior findings with
//!   the responses, and which checker findings are new, fixed or persisting.
//! * [`decision`]: the one-transaction decision (docs/lifecycle.md).
//! * [`revision`]: revision context preparations (R33), their repair, the revision
//!   obligation's close (T15), and the contributor's revision view.
//! * [`findings`]: stable fingerprints of checker findings across versions.

pub mod decision;
pub mod findings;
pub mod packet;
pub mod queue;
pub mod revision;

use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::policy::{ReviewPolicy, RevisionPolicy};

use crate::CommandError;

/// The review and revision policies of a guide's bundle.
#[derive(Debug, Clone)]
pub struct GuidePolicies {
    /// How review runs (lease length, preference window, allowed decisions, evidence).
    pub review: ReviewPolicy,
    /// How revision rounds run (limit, deadline).
    pub revision: RevisionPolicy,
}

/// Reads the review and revision policies of `guide_id`'s bundle. A bundle without
/// complete policies is locked context the task cannot use (R48:
/// `task_locked_context_invalid`), never a default.
pub async fn guide_policies(
    conn: &mut PgConnection,
    guide_id: Uuid,
) -> Result<GuidePolicies, CommandError> {
    let bundle = workstream_store::tasks::guide_bundle(conn, guide_id)
        .await?
        .unwrap_or_default();
    let invalid = || {
        CommandError::invalid(
            "task_locked_context_invalid",
            "the locked guide has no complete review and revision policy",
        )
    };
    let review = serde_json::from_value(bundle["review_policy"].clone()).map_err(|_| invalid())?;
    let revision =
        serde_json::from_value(bundle["revision_policy"].clone()).map_err(|_| invalid())?;
    Ok(GuidePolicies { review, revision })
}
