//! CheckerRun status and routing recommendation.
//!
//! A run has two independent fields. `status` says whether the sandbox finished;
//! `routing_recommendation` says what the finished run means for the task. Routing is
//! set once, from `not_evaluated`, and a retry is a new run (a new attempt that
//! supersedes the old one), never a second routing of the same run.
//!
//! One run evaluates several checkers. Their individual outcomes are folded into the
//! run's routing by [`RoutingRecommendation::combine`], which fails closed: any
//! infrastructure trouble wins over a setup defect, which wins over a contributor-fixable
//! failure, and only a run where every checker allows review admits the submission.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `CheckerRun.status`.
    pub enum CheckerRunStatus as "checker_run_status" {
        /// Waiting for a worker.
        Queued => "queued",
        /// A worker holds the job and is running the checkers.
        Running => "running",
        /// Every checker reported; the run is final and has a routing.
        Completed => "completed",
        /// The run could not finish (trap, deadline, missing component).
        Failed => "failed",
    }
}

impl CheckerRunStatus {
    /// A final run will not change again; only final runs may route a task (R20).
    pub const fn is_final(self) -> bool {
        matches!(self, CheckerRunStatus::Completed | CheckerRunStatus::Failed)
    }
}

impl StateMachine for CheckerRunStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (CheckerRunStatus::Queued, CheckerRunStatus::Running),
        (CheckerRunStatus::Running, CheckerRunStatus::Completed),
        (CheckerRunStatus::Running, CheckerRunStatus::Failed),
    ];
}

token_enum! {
    /// `CheckerRun.routing_recommendation`: what the run means for the task.
    ///
    /// `allow_review` is a routing hint for the gate, never an acceptance.
    pub enum RoutingRecommendation as "routing_recommendation" {
        /// No routing yet (also what a contributor sees for an internal route).
        NotEvaluated => "not_evaluated",
        /// Every checker passed the gate; the task may enter review (T8).
        AllowReview => "allow_review",
        /// A contributor-fixable failure; the task returns to the submitter (T9).
        NeedsRevision => "needs_revision",
        /// Infrastructure trouble; a new attempt is needed, the task waits.
        CheckerRetry => "checker_retry",
        /// A setup or provenance defect; the task waits for a PM repair.
        TaskSetupBlocked => "task_setup_blocked",
    }
}

impl RoutingRecommendation {
    /// Rank of a routing: when the members of a run route differently, the highest
    /// wins (`checker_retry > task_setup_blocked > needs_revision > not_evaluated >
    /// allow_review`; [`gate::route`](crate::gate::route) applies it). A platform
    /// problem outranks a defective task, which outranks a defective packet.
    /// `not_evaluated` ranks just above `allow_review`: a member without a verdict
    /// could never let a run admit review, but any real failure outranks it.
    pub const fn precedence(self) -> u8 {
        match self {
            RoutingRecommendation::AllowReview => 0,
            RoutingRecommendation::NotEvaluated => 1,
            RoutingRecommendation::NeedsRevision => 2,
            RoutingRecommendation::TaskSetupBlocked => 3,
            RoutingRecommendation::CheckerRetry => 4,
        }
    }

    /// Whether the contributor may see a run's members under this routing. Internal
    /// routings (a retry, a setup defect, none yet) are the platform's and the
    /// manager's business: the contributor sees no rows, no counts and no internal
    /// token (docs/checkers.md).
    pub const fn contributor_visible(self) -> bool {
        matches!(
            self,
            RoutingRecommendation::AllowReview | RoutingRecommendation::NeedsRevision
        )
    }

    /// Whether this routing moves the task out of `evaluation_pending`. The others
    /// (`not_evaluated`, `checker_retry`, `task_setup_blocked`) leave it waiting.
    pub const fn moves_task(self) -> bool {
        matches!(
            self,
            RoutingRecommendation::AllowReview | RoutingRecommendation::NeedsRevision
        )
    }
}

impl StateMachine for RoutingRecommendation {
    const MOVES: &'static [(Self, Self)] = &[
        (
            RoutingRecommendation::NotEvaluated,
            RoutingRecommendation::AllowReview,
        ),
        (
            RoutingRecommendation::NotEvaluated,
            RoutingRecommendation::NeedsRevision,
        ),
        (
            RoutingRecommendation::NotEvaluated,
            RoutingRecommendation::CheckerRetry,
        ),
        (
            RoutingRecommendation::NotEvaluated,
            RoutingRecommendation::TaskSetupBlocked,
        ),
    ];
}

#[cfg(test)]
mod tests {
    use super::RoutingRecommendation::*;
    use super::*;
    use crate::machines::assert_exactly;

    #[test]
    fn run_status_moves() {
        use CheckerRunStatus::*;
        assert_exactly(&[(Queued, Running), (Running, Completed), (Running, Failed)]);
        assert!(Queued.transition(Completed).is_err());
        assert!(Completed.is_final() && Failed.is_final());
        assert!(!Queued.is_final() && !Running.is_final());
    }

    #[test]
    fn routing_is_set_once() {
        assert_exactly(&[
            (NotEvaluated, AllowReview),
            (NotEvaluated, NeedsRevision),
            (NotEvaluated, CheckerRetry),
            (NotEvaluated, TaskSetupBlocked),
        ]);
        assert!(AllowReview.transition(NeedsRevision).is_err());
    }

    #[test]
    fn precedence_orders_every_routing() {
        let mut ranked = RoutingRecommendation::ALL.to_vec();
        ranked.sort_by_key(|r| r.precedence());
        assert_eq!(
            ranked,
            [
                AllowReview,
                NotEvaluated,
                NeedsRevision,
                TaskSetupBlocked,
                CheckerRetry
            ]
        );
    }

    #[test]
    fn only_two_routings_move_the_task() {
        let moving: Vec<_> = RoutingRecommendation::ALL
            .iter()
            .filter(|r| r.moves_task())
            .collect();
        assert_eq!(moving, [&AllowReview, &NeedsRevision]);
    }
}
