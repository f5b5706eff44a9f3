//! Every kind of job the engine enqueues, as typed arguments (River's `JobArgs`).
//!
//! A command that needs work done after its commit enqueues one of these in its own
//! transaction (`jobs::enqueue(conn, NewJob::of(&args))`); the handler of its kind
//! receives the same value back ([`crate::worker::Work`]). The kind and the payload's
//! shape are written once, here, so an enqueuer and its handler cannot disagree. This
//! module is a leaf: the commands that enqueue and the handlers that run import it, and
//! the handlers are registered in [`crate::registry`].
//!
//! | arguments | kind | enqueued by | handled by |
//! |---|---|---|---|
//! | [`EvaluationArgs`] | `checker.evaluate` | a submission (T7), a checker retry | `pipeline::EvaluateSubmission` |
//! | [`DeliveryArgs`] | `compensation.deliver` | an award, a resumed adapter binding | [`crate::compensation::delivery::DeliverAward`] |
//! | [`ReputationArgs`] | `reputation.record` | a review decision | [`crate::after_review::AfterReview`] |
//! | [`PreviewArgs`] | `policy.preview` (background) | a policy preview's start | `previews::run::PreviewSubmissions` |
//!
//! A *background* kind ([`JobArgs::BACKGROUND`]) is bulk work nobody waits on: a worker
//! claims it only with slots the live kinds leave free, a few at once
//! ([`crate::worker`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;
pub use workstream_store::jobs::JobArgs;

/// Run the post-submit checker policy of one queued checker run, store its results
/// and route its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationArgs {
    /// The queued run.
    pub checker_run_id: Uuid,
}

impl JobArgs for EvaluationArgs {
    const KIND: &'static str = "checker.evaluate";
}

/// Deliver one award event of the outbox to its project's bound adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryArgs {
    /// The outbox row to deliver.
    pub outbox_id: Uuid,
}

impl JobArgs for DeliveryArgs {
    const KIND: &'static str = "compensation.deliver";
}

/// Append the reputation events one review's outcome earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReputationArgs {
    /// The decided review.
    pub review_id: Uuid,
}

impl JobArgs for ReputationArgs {
    const KIND: &'static str = "reputation.record";
}

/// Check a slice of a policy preview's chosen submissions under the draft's policy
/// and store their results; the job storing the last one completes the preview
/// ([`crate::previews`]). Background work: a preview never holds a live evaluation back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewArgs {
    /// The preview.
    pub preview_id: Uuid,
    /// The slice's first position in the preview's chosen submissions (0-based).
    pub first: u32,
    /// How many submissions from there.
    pub count: u32,
}

impl JobArgs for PreviewArgs {
    const KIND: &'static str = "policy.preview";
    const BACKGROUND: bool = true;
}
