//! The task transition table (docs/lifecycle.md, T1–T17) and the forbidden edges.
//!
//! The table is the single source of truth for which edges exist and who may trigger
//! them: [`decide`](super::decide) looks edges up here and never invents one, and the
//! property tests check every decision against it. Guards live in
//! [`decide`](super::decide), because they need the command and the facts.

use super::TaskState::{self, *};
use crate::token::token_enum;

token_enum! {
    /// The numbered transitions of the task lifecycle, as named in the spec.
    pub enum TransitionId as "transition_id" {
        /// draft → screening: screen.
        T1 => "T1",
        /// screening → ready: release.
        T2 => "T2",
        /// screening → draft: screening found defects.
        T3 => "T3",
        /// ready → claimed: claim or assign.
        T4 => "T4",
        /// claimed → in_progress: start (or Operator override).
        T5 => "T5",
        /// in_progress → submitted: first Submission.
        T6 => "T6",
        /// submitted → evaluation_pending: queue the checker run.
        T7 => "T7",
        /// evaluation_pending → review_pending: admitted by the checkers.
        T8 => "T8",
        /// evaluation_pending → needs_revision: checker remediation.
        T9 => "T9",
        /// review_pending → evaluation_pending: re-evaluation.
        T10 => "T10",
        /// review_pending → accepted: reviewer accepts.
        T11 => "T11",
        /// review_pending → needs_revision: reviewer asks for a revision.
        T12 => "T12",
        /// review_pending → rejected: reviewer rejects.
        T13 => "T13",
        /// needs_revision → submitted: revised Submission.
        T14 => "T14",
        /// needs_revision → cancelled: revision obligation closed.
        T15 => "T15",
        /// pre-submission states → cancelled: PM cancels.
        T16 => "T16",
        /// claimed / in_progress → ready: assignment invalidated.
        T17 => "T17",
    }
}

token_enum! {
    /// Who may trigger a transition. Authority comes from local grants, checked per
    /// request (R47); a human role never acts as `system`, and `system` is never a
    /// human (R46).
    pub enum Actor as "actor" {
        /// A Project Manager whose grant covers the task's project (system or exact scope).
        ProjectManager => "project_manager",
        /// A holder of an active exact-project submitter grant; for work on a claimed
        /// task, also the assignee.
        Submitter => "submitter",
        /// A holder of an active exact-project reviewer grant holding the active lease.
        Reviewer => "reviewer",
        /// A system Operator, for recovery actions only.
        Operator => "operator",
        /// The engine itself: checker routing, evaluation queueing, invalidation.
        System => "system",
    }
}

/// One edge of the task lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The spec's number for this edge.
    pub id: TransitionId,
    /// The states this edge leaves from (several only for T16 and T17).
    pub from: &'static [TaskState],
    /// The state this edge enters.
    pub to: TaskState,
    /// Who may trigger it.
    pub triggered_by: &'static [Actor],
    /// What happens, in a line.
    pub summary: &'static str,
}

impl Transition {
    /// Whether this edge leaves from `state`.
    pub fn leaves(&self, state: TaskState) -> bool {
        self.from.contains(&state)
    }
}

/// The complete task lifecycle. An edge that is not here does not exist (R2).
pub const TRANSITIONS: &[Transition] = &[
    Transition {
        id: TransitionId::T1,
        from: &[Draft],
        to: Screening,
        triggered_by: &[Actor::ProjectManager],
        summary: "screen: stamp the active guide and its policies onto the task",
    },
    Transition {
        id: TransitionId::T2,
        from: &[Screening],
        to: Ready,
        triggered_by: &[Actor::ProjectManager],
        summary: "release with a reason: lock the contribution policy version",
    },
    Transition {
        id: TransitionId::T3,
        from: &[Screening],
        to: Draft,
        triggered_by: &[Actor::ProjectManager],
        summary: "return to draft with a reason: screening found defects",
    },
    Transition {
        id: TransitionId::T4,
        from: &[Ready],
        to: Claimed,
        triggered_by: &[Actor::Submitter, Actor::ProjectManager],
        summary: "claim (or PM assign): create the one active assignment",
    },
    Transition {
        id: TransitionId::T5,
        from: &[Claimed],
        to: InProgress,
        triggered_by: &[Actor::Submitter, Actor::Operator],
        summary: "start by the assignee, or Operator override with a reason",
    },
    Transition {
        id: TransitionId::T6,
        from: &[InProgress],
        to: Submitted,
        triggered_by: &[Actor::Submitter],
        summary: "first Submission from a ready admission; T7 follows in the same commit",
    },
    Transition {
        id: TransitionId::T7,
        from: &[Submitted],
        to: EvaluationPending,
        triggered_by: &[Actor::System],
        summary: "queue the post-submit checker run from the locked policy",
    },
    Transition {
        id: TransitionId::T8,
        from: &[EvaluationPending],
        to: ReviewPending,
        triggered_by: &[Actor::System],
        summary: "admit to review on a final, current allow_review run; enqueue for review",
    },
    Transition {
        id: TransitionId::T9,
        from: &[EvaluationPending],
        to: NeedsRevision,
        triggered_by: &[Actor::System],
        summary: "checker remediation: no Review, no finding, no revision round used",
    },
    Transition {
        id: TransitionId::T10,
        from: &[ReviewPending],
        to: EvaluationPending,
        triggered_by: &[Actor::System, Actor::Operator],
        summary: "re-evaluate with a new checker run attempt while no lease is active",
    },
    Transition {
        id: TransitionId::T11,
        from: &[ReviewPending],
        to: Accepted,
        triggered_by: &[Actor::Reviewer],
        summary: "accept: Review, FinalAcceptance, both contribution records, one commit",
    },
    Transition {
        id: TransitionId::T12,
        from: &[ReviewPending],
        to: NeedsRevision,
        triggered_by: &[Actor::Reviewer],
        summary: "needs_revision: Review with blocking findings and a revision preparation",
    },
    Transition {
        id: TransitionId::T13,
        from: &[ReviewPending],
        to: Rejected,
        triggered_by: &[Actor::Reviewer],
        summary: "reject with a reason: assignment blocked, no submitter record",
    },
    Transition {
        id: TransitionId::T14,
        from: &[NeedsRevision],
        to: Submitted,
        triggered_by: &[Actor::Submitter],
        summary: "revised Submission answering every open blocker; T7 follows",
    },
    Transition {
        id: TransitionId::T15,
        from: &[NeedsRevision],
        to: Cancelled,
        triggered_by: &[Actor::ProjectManager, Actor::Operator],
        summary: "close a revision obligation past its limit or deadline (or legacy close)",
    },
    Transition {
        id: TransitionId::T16,
        from: &[Draft, Screening, Ready, Claimed, InProgress],
        to: Cancelled,
        triggered_by: &[Actor::ProjectManager],
        summary: "cancel before any submission, with a reason; release the assignment",
    },
    Transition {
        id: TransitionId::T17,
        from: &[Claimed, InProgress],
        to: Ready,
        triggered_by: &[Actor::System],
        summary: "submitter authority lost before submitting: assignment revoked, locks kept",
    },
];

/// An edge the spec forbids outright, even for administrators and recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForbiddenEdge {
    /// Source state.
    pub from: TaskState,
    /// Target state.
    pub to: TaskState,
    /// Why it must never exist.
    pub why: &'static str,
}

/// The edges the spec forbids (docs/lifecycle.md "Forbidden, even for administrators or recovery"),
/// written out as pairs; the terminal exits listed are examples of "no reopen, appeal or
/// replacement acceptance". None of them is in [`TRANSITIONS`], and neither is any exit
/// from a terminal state (the tests check every state, not only these examples).
///
/// Two forbidden things are guards rather than edges, enforced by
/// [`decide`](super::decide): entering review without the exact current final
/// `allow_review` run (T8's guards), and moving on artifacts whose hash differs from
/// the checker run's (`artifact_hash_mismatch`).
pub const FORBIDDEN_TRANSITIONS: &[ForbiddenEdge] = &[
    ForbiddenEdge {
        from: Submitted,
        to: Accepted,
        why: "acceptance needs checks, a Review and a FinalAcceptance",
    },
    ForbiddenEdge {
        from: Submitted,
        to: NeedsRevision,
        why: "a revision request must come through evaluation_pending",
    },
    ForbiddenEdge {
        from: Submitted,
        to: ReviewPending,
        why: "review admission needs a final, current allow_review run",
    },
    ForbiddenEdge {
        from: NeedsRevision,
        to: Accepted,
        why: "a new Submission and a new Review are required",
    },
    ForbiddenEdge {
        from: NeedsRevision,
        to: ReviewPending,
        why: "a revision must be resubmitted and re-checked",
    },
    ForbiddenEdge {
        from: EvaluationPending,
        to: Accepted,
        why: "auto-acceptance (human_review_required = false) is gated off in v0.1",
    },
    ForbiddenEdge {
        from: Accepted,
        to: ReviewPending,
        why: "no reopen, appeal or second review",
    },
    ForbiddenEdge {
        from: Rejected,
        to: ReviewPending,
        why: "no appeal or adjudication in v0.1",
    },
    ForbiddenEdge {
        from: Rejected,
        to: Accepted,
        why: "no replacement acceptance",
    },
    ForbiddenEdge {
        from: Cancelled,
        to: Ready,
        why: "a cancelled task is never requeued",
    },
];

impl TransitionId {
    /// This transition's row in [`TRANSITIONS`].
    pub fn transition(self) -> &'static Transition {
        // The table is ordered T1..T17, matching ALL; the test below keeps it so.
        let index = TransitionId::ALL
            .iter()
            .position(|&t| t == self)
            .expect("every id is in ALL");
        &TRANSITIONS[index]
    }

    /// The system transition that must commit in the same transaction as this one:
    /// a Submission always goes straight on to evaluation (T6/T14 then T7).
    pub const fn same_commit_follow_up(self) -> Option<TransitionId> {
        match self {
            TransitionId::T6 | TransitionId::T14 => Some(TransitionId::T7),
            _ => None,
        }
    }
}

/// The listed edge from `from` to `to`, if any.
pub fn edge(from: TaskState, to: TaskState) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|t| t.to == to && t.leaves(from))
}

/// Every listed edge leaving `state`.
pub fn transitions_from(state: TaskState) -> impl Iterator<Item = &'static Transition> {
    TRANSITIONS.iter().filter(move |t| t.leaves(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_ordered_by_id_and_complete() {
        assert_eq!(TRANSITIONS.len(), TransitionId::ALL.len());
        for (row, &id) in TRANSITIONS.iter().zip(TransitionId::ALL) {
            assert_eq!(row.id, id);
            assert_eq!(id.transition().id, id);
            assert!(!row.triggered_by.is_empty());
            assert!(!row.from.contains(&row.to), "{id} is a self-loop");
        }
    }

    #[test]
    fn every_edge_is_listed_once() {
        for &from in TaskState::ALL {
            for &to in TaskState::ALL {
                let count = TRANSITIONS
                    .iter()
                    .filter(|t| t.to == to && t.leaves(from))
                    .count();
                assert!(count <= 1, "{from} -> {to} listed {count} times");
            }
        }
    }

    #[test]
    fn no_forbidden_edge_is_in_the_table() {
        for f in FORBIDDEN_TRANSITIONS {
            assert!(edge(f.from, f.to).is_none(), "{} -> {}", f.from, f.to);
        }
    }

    #[test]
    fn terminal_states_have_no_exit_and_only_t11_accepts() {
        for &s in TaskState::ALL.iter().filter(|s| s.is_terminal()) {
            assert_eq!(transitions_from(s).count(), 0, "{s}");
        }
        let into_accepted: Vec<_> = TRANSITIONS.iter().filter(|t| t.to == Accepted).collect();
        assert_eq!(into_accepted.len(), 1);
        assert_eq!(into_accepted[0].id, TransitionId::T11);
        assert_eq!(into_accepted[0].from, &[ReviewPending]);
        assert_eq!(into_accepted[0].triggered_by, &[Actor::Reviewer]);
    }

    #[test]
    fn every_non_terminal_state_has_an_exit() {
        for &s in TaskState::ALL.iter().filter(|s| !s.is_terminal()) {
            assert!(transitions_from(s).count() > 0, "{s} is a dead end");
        }
    }

    #[test]
    fn spot_check_edges() {
        assert_eq!(edge(Claimed, Ready).map(|t| t.id), Some(TransitionId::T17));
        assert_eq!(
            edge(Ready, Cancelled).map(|t| t.id),
            Some(TransitionId::T16)
        );
        assert_eq!(
            edge(ReviewPending, EvaluationPending).map(|t| t.id),
            Some(TransitionId::T10)
        );
        assert_eq!(edge(Submitted, Accepted), None);
        assert_eq!(
            TransitionId::T14.same_commit_follow_up(),
            Some(TransitionId::T7)
        );
        assert_eq!(TransitionId::T11.same_commit_follow_up(), None);
    }
}
