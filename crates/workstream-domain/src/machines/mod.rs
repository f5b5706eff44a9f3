//! The smaller state machines beside the task lifecycle (docs/lifecycle.md).
//!
//! Each record with a status column gets a token enum and a [`StateMachine`] impl
//! whose `MOVES` table lists every permitted `(from, to)` pair. Anything not in the
//! table is refused with [`IllegalMove`]; staying in place is not a move. The tables
//! are data on purpose: the migrator writes them (with the task lifecycle's) into the
//! one table the database's row guards ask, so the database refuses every write that
//! is not a listed move (`workstream-store`'s `state_moves`), and the tests read them
//! to prove that terminal states have no exit. Not every machine is guarded so:
//! the job queue, the award delivery outbox and compensation units are moved only by
//! statements that check the source state in their own `WHERE`, and their tables
//! document those moves (the store's `state_moves::MACHINES` lists the guarded ones).
//!
//! | module | records |
//! |---|---|
//! | [`project`] | Project status, ProjectGuide status |
//! | [`assignment`] | TaskAssignment status |
//! | [`authority`] | ActorProfile status, IdentityLink status, role grant status |
//! | [`admission`] | SubmissionBundleAdmission state |
//! | [`checker_run`] | CheckerRun status and routing recommendation (with its precedence) |
//! | [`review_queue`] | ReviewQueueEntry state and routing, ReviewLease disposition |
//! | [`compensation`] | award delivery and fulfilment, outbox state, compensation unit status, adapter binding status, reported status, failure codes |
//! | [`contribution_policy`] | ContributionPolicy and ContributionPolicyVersion status |
//! | [`lesson`] | ProjectLesson status and type |
//! | [`calibration`] | CalibrationOffer state (reviewer calibration) |
//! | [`job`] | Job state (the job queue) |
//! | [`preview`] | PolicyPreview status |

pub mod admission;
pub mod assignment;
pub mod authority;
pub mod calibration;
pub mod checker_run;
pub mod compensation;
pub mod contribution_policy;
pub mod job;
pub mod lesson;
pub mod preview;
pub mod project;
pub mod review_queue;

use crate::error_code::ErrorCode;
use thiserror::Error;

use crate::token::Token;

/// A status enum with a fixed table of permitted moves.
pub trait StateMachine: Token {
    /// Every permitted move as `(from, to)`. Unlisted pairs are refused.
    const MOVES: &'static [(Self, Self)];

    /// Whether `self -> to` is a listed move.
    fn can_transition(self, to: Self) -> bool {
        Self::MOVES.iter().any(|&(f, t)| f == self && t == to)
    }

    /// Returns `to` if `self -> to` is a listed move, else the refusal.
    fn transition(self, to: Self) -> Result<Self, IllegalMove> {
        if self.can_transition(to) {
            Ok(to)
        } else {
            Err(IllegalMove {
                machine: Self::KIND,
                from: self.token(),
                to: to.token(),
            })
        }
    }

    /// A state with no listed exit.
    fn is_terminal(self) -> bool {
        !Self::MOVES.iter().any(|&(f, _)| f == self)
    }
}

/// A refused move of one of the smaller state machines.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{machine} cannot move from `{from}` to `{to}`")]
pub struct IllegalMove {
    /// The machine, named by its token kind (e.g. `assignment_status`).
    pub machine: &'static str,
    /// The current state's token.
    pub from: &'static str,
    /// The requested state's token.
    pub to: &'static str,
}

impl IllegalMove {
    /// The stable error code, shared with the task lifecycle's unlisted edges.
    pub const fn code(&self) -> ErrorCode {
        ErrorCode::TransitionNotAllowed
    }
}

/// Test helper: every pair of states, split into the listed moves and the rest.
#[cfg(test)]
pub(crate) fn assert_exactly<M: StateMachine>(allowed: &[(M, M)]) {
    for &from in M::ALL {
        for &to in M::ALL {
            let expected = allowed.contains(&(from, to));
            assert_eq!(
                from.can_transition(to),
                expected,
                "{} {:?} -> {:?}",
                M::KIND,
                from,
                to
            );
            match from.transition(to) {
                Ok(next) => assert_eq!(next, to),
                Err(e) => {
                    assert!(!expected);
                    assert_eq!(e.code(), "transition_not_allowed");
                    assert_eq!((e.from, e.to), (from.token(), to.token()));
                }
            }
        }
    }
}
