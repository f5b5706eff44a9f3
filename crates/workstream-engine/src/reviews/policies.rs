//! The review and revision policies of a guide, as its locked bundle holds them.

use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
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
        CommandError::new(
            ErrorCode::TaskLockedContextInvalid,
            "the locked guide has no complete review and revision policy",
        )
    };
    let review = serde_json::from_value(bundle["review_policy"].clone()).map_err(|_| invalid())?;
    let revision =
        serde_json::from_value(bundle["revision_policy"].clone()).map_err(|_| invalid())?;
    Ok(GuidePolicies { review, revision })
}
