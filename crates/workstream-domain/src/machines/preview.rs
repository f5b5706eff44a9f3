//! PolicyPreview status: a draft guide's checker policy run over stored packets.
//!
//! A preview is `queued` when a manager starts it, `running` once its first job
//! starts, and ends `completed` (every chosen submission has its result and the
//! summary is written) or `failed` (with the reason, so a person sees why). Both ends
//! are final: a preview is never re-run, a manager starts another. [`PreviewRoute`] is
//! what each previewed packet would have met.

use super::StateMachine;
use super::checker_run::RoutingRecommendation;
use crate::token::token_enum;

token_enum! {
    /// `PolicyPreview.status`.
    pub enum PreviewStatus as "preview_status" {
        /// Started; its jobs wait for a background slot.
        Queued => "queued",
        /// Its jobs are checking packets.
        Running => "running",
        /// Every chosen submission has its result; the summary is written.
        Completed => "completed",
        /// It could not finish; its failure detail says why.
        Failed => "failed",
    }
}

impl PreviewStatus {
    /// Whether the preview will not change again.
    pub const fn is_final(self) -> bool {
        matches!(self, PreviewStatus::Completed | PreviewStatus::Failed)
    }
}

impl StateMachine for PreviewStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (PreviewStatus::Queued, PreviewStatus::Running),
        (PreviewStatus::Queued, PreviewStatus::Failed),
        (PreviewStatus::Running, PreviewStatus::Completed),
        (PreviewStatus::Running, PreviewStatus::Failed),
    ];
}

token_enum! {
    /// `PolicyPreviewResult.draft_route`: what a stored packet would have met under the
    /// draft. A route of the gate when the draft's checkers ran (the pre-submit route
    /// when it holds the packet back, else the post-submit one), or why none ran.
    pub enum PreviewRoute as "preview_route" {
        /// Both phases admit review.
        AllowReview => "allow_review",
        /// A contributor-fixable failure.
        NeedsRevision => "needs_revision",
        /// A checker could not run.
        CheckerRetry => "checker_retry",
        /// A setup defect of the task.
        TaskSetupBlocked => "task_setup_blocked",
        /// The draft's artifact limits refuse the packet at intake.
        IntakeRefused => "intake_refused",
        /// The packet's stored bytes could not be read back.
        MaterialUnavailable => "material_unavailable",
    }
}

impl From<RoutingRecommendation> for PreviewRoute {
    /// The gate's route as a preview route (`not_evaluated`, which no finished phase
    /// has, reads as a retry: nothing admits review without a verdict).
    fn from(route: RoutingRecommendation) -> Self {
        match route {
            RoutingRecommendation::AllowReview => PreviewRoute::AllowReview,
            RoutingRecommendation::NeedsRevision => PreviewRoute::NeedsRevision,
            RoutingRecommendation::TaskSetupBlocked => PreviewRoute::TaskSetupBlocked,
            RoutingRecommendation::CheckerRetry | RoutingRecommendation::NotEvaluated => {
                PreviewRoute::CheckerRetry
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PreviewStatus::*;
    use crate::machines::{StateMachine, assert_exactly};

    #[test]
    fn preview_moves() {
        assert_exactly(&[
            (Queued, Running),
            (Queued, Failed),
            (Running, Completed),
            (Running, Failed),
        ]);
        assert!(Completed.is_terminal() && Failed.is_terminal());
        assert!(Completed.is_final() && Failed.is_final() && !Running.is_final());
    }
}
