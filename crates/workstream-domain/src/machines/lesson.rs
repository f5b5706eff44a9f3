//! ProjectLesson status and type.
//!
//! Repeated checker or review failures become lessons (R51); a lesson turns into a
//! guide, checker or policy change through the normal versioned paths, never into a
//! silent rule change. The status only tracks that follow-through.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `ProjectLesson.status`.
    pub enum LessonStatus as "lesson_status" {
        /// Recorded, not yet triaged.
        Open => "open",
        /// Agreed; a change is owed.
        Accepted => "accepted",
        /// Triaged and declined.
        Rejected => "rejected",
        /// The owed change was made.
        Implemented => "implemented",
    }
}

impl StateMachine for LessonStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (LessonStatus::Open, LessonStatus::Accepted),
        (LessonStatus::Open, LessonStatus::Rejected),
        (LessonStatus::Accepted, LessonStatus::Implemented),
    ];
}

token_enum! {
    /// `ProjectLesson.lesson_type`: which kind of change the lesson asks for.
    pub enum LessonType as "lesson_type" {
        /// Change the guide prose.
        GuideUpdate => "guide_update",
        /// Change or add a checker.
        CheckerUpdate => "checker_update",
        /// Change the review policy.
        ReviewerPolicyUpdate => "reviewer_policy_update",
        /// Change the revision policy.
        RevisionPolicyUpdate => "revision_policy_update",
        /// Change how tasks are queued.
        QueuePolicyUpdate => "queue_policy_update",
        /// Change the contribution policy.
        ContributionPolicyUpdate => "contribution_policy_update",
        /// Record a risk; no rule change.
        RiskNote => "risk_note",
    }
}

#[cfg(test)]
mod tests {
    use super::LessonStatus::*;
    use crate::machines::{StateMachine, assert_exactly};

    #[test]
    fn lesson_moves() {
        assert_exactly(&[(Open, Accepted), (Open, Rejected), (Accepted, Implemented)]);
        assert!(Open.transition(Implemented).is_err());
        assert!(Rejected.is_terminal() && Implemented.is_terminal());
    }
}
