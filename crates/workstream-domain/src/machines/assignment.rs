//! TaskAssignment status.
//!
//! An assignment is the submitter's hold on one task. It ends exactly once, and the way
//! it ends mirrors the task's fate: accepted work completes it, a reject blocks it, a
//! cancel or revision close releases it, and lost submitter authority before any
//! submission revokes it. A `needs_revision` decision leaves it `active`, because the
//! same submitter owes the revision.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `TaskAssignment.status`.
    pub enum AssignmentStatus as "assignment_status" {
        /// The submitter holds the task (at most one per task).
        Active => "active",
        /// The task was accepted (T11).
        Completed => "completed",
        /// The task was rejected (T13); the assignment points at the reject Review.
        Blocked => "blocked",
        /// The task was cancelled or its revision obligation closed (T15, T16).
        Released => "released",
        /// The submitter lost authority before submitting (T17).
        AuthorityRevoked => "authority_revoked",
    }
}

impl StateMachine for AssignmentStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (AssignmentStatus::Active, AssignmentStatus::Completed),
        (AssignmentStatus::Active, AssignmentStatus::Blocked),
        (AssignmentStatus::Active, AssignmentStatus::Released),
        (AssignmentStatus::Active, AssignmentStatus::AuthorityRevoked),
    ];
}

#[cfg(test)]
mod tests {
    use super::AssignmentStatus::*;
    use crate::machines::{StateMachine, assert_exactly};

    #[test]
    fn assignment_ends_once() {
        assert_exactly(&[
            (Active, Completed),
            (Active, Blocked),
            (Active, Released),
            (Active, AuthorityRevoked),
        ]);
        for s in [Completed, Blocked, Released, AuthorityRevoked] {
            assert!(s.is_terminal());
            assert!(s.transition(Active).is_err());
        }
    }
}
