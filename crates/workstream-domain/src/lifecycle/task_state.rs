//! The twelve task states.

use crate::token::token_enum;

token_enum! {
    /// `Task.status`. The stored tokens are lowercase.
    pub enum TaskState as "task_state" {
        /// Created by a PM; not visible to contributors.
        Draft => "draft",
        /// Guide and policy context stamped; being checked for readiness.
        Screening => "screening",
        /// Released to the queue; a submitter may claim it.
        Ready => "ready",
        /// One submitter holds an active assignment.
        Claimed => "claimed",
        /// The assignee has started work.
        InProgress => "in_progress",
        /// An immutable Submission exists (moves on in the same transaction).
        Submitted => "submitted",
        /// Post-submit checkers are running or waiting (formerly `auto_checking`).
        EvaluationPending => "evaluation_pending",
        /// Admitted by a current `allow_review` run; waiting for a human decision.
        ReviewPending => "review_pending",
        /// Returned to the submitter, by a reviewer or by a checker.
        NeedsRevision => "needs_revision",
        /// Accepted by a human reviewer. Terminal.
        Accepted => "accepted",
        /// Rejected by a human reviewer. Terminal.
        Rejected => "rejected",
        /// Closed by a PM (or an Operator's legacy close). Terminal.
        Cancelled => "cancelled",
    }
}

impl TaskState {
    /// Terminal states have no exit: no reopen, appeal or replacement acceptance.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Accepted | TaskState::Rejected | TaskState::Cancelled
        )
    }

    /// Whether a contributor may see the task in the ready queue (R11).
    pub const fn is_visible_in_ready_queue(self) -> bool {
        matches!(self, TaskState::Ready)
    }
}

#[cfg(test)]
mod tests {
    use super::TaskState;

    #[test]
    fn tokens_are_the_stored_lowercase_words() {
        let tokens: Vec<_> = TaskState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            tokens,
            [
                "draft",
                "screening",
                "ready",
                "claimed",
                "in_progress",
                "submitted",
                "evaluation_pending",
                "review_pending",
                "needs_revision",
                "accepted",
                "rejected",
                "cancelled"
            ]
        );
        assert_eq!(
            serde_json::to_string(&TaskState::EvaluationPending).unwrap(),
            "\"evaluation_pending\""
        );
        assert_eq!(
            "needs_revision".parse::<TaskState>().unwrap(),
            TaskState::NeedsRevision
        );
    }

    #[test]
    fn legacy_and_foreign_tokens_are_refused() {
        for t in [
            "auto_checking",
            "AUTO_CHECKING",
            "closed",
            "review_rejected",
            "DRAFT",
            "",
        ] {
            assert!(t.parse::<TaskState>().is_err(), "{t}");
        }
    }

    #[test]
    fn exactly_three_states_are_terminal() {
        let terminal: Vec<_> = TaskState::ALL.iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(
            terminal,
            [
                &TaskState::Accepted,
                &TaskState::Rejected,
                &TaskState::Cancelled
            ]
        );
    }
}
