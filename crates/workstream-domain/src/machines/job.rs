//! The job queue's lifecycle: `Job.state` (River's vocabulary; the queue itself is
//! `workstream-store`'s `jobs`).
//!
//! `completed` and `cancelled` are final; `discarded` is the dead letter, which an
//! operator may put back in the queue. The database does not check these moves (the
//! queue's statements guard each move in their own `WHERE`); the table documents them
//! and the tests pin them.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `Job.state`.
    pub enum JobState as "job_state" {
        /// Waiting to be claimed once its `run_at` is due.
        Available => "available",
        /// Claimed by a worker that holds its lease.
        Running => "running",
        /// Its handler committed. Terminal.
        Completed => "completed",
        /// An attempt failed; it is claimed again after its backoff.
        Retryable => "retryable",
        /// Dead-lettered: its last attempt failed or its error was permanent.
        Discarded => "discarded",
        /// An operator cancelled it before it started. Terminal.
        Cancelled => "cancelled",
    }
}

impl JobState {
    /// Whether the job has finished (`finished_at` is set): completed, discarded or
    /// cancelled.
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Discarded | JobState::Cancelled
        )
    }
}

impl StateMachine for JobState {
    /// A claim (of a due job), a completion, a failed attempt (retryable, or discarded
    /// at the last attempt or with a permanent error; also a lease found expired at the
    /// last attempt), an unstarted claim given back, an operator's requeue of a
    /// discarded job and cancel of a waiting one. Re-claiming an expired lease and a
    /// heartbeat keep `running` and are not moves.
    const MOVES: &'static [(Self, Self)] = &[
        (JobState::Available, JobState::Running),
        (JobState::Retryable, JobState::Running),
        (JobState::Running, JobState::Completed),
        (JobState::Running, JobState::Retryable),
        (JobState::Running, JobState::Discarded),
        (JobState::Running, JobState::Available),
        (JobState::Discarded, JobState::Available),
        (JobState::Available, JobState::Cancelled),
        (JobState::Retryable, JobState::Cancelled),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machines::assert_exactly;

    #[test]
    fn job_moves() {
        use JobState::*;
        assert_exactly(&[
            (Available, Running),
            (Retryable, Running),
            (Running, Completed),
            (Running, Retryable),
            (Running, Discarded),
            (Running, Available),
            (Discarded, Available),
            (Available, Cancelled),
            (Retryable, Cancelled),
        ]);
    }

    #[test]
    fn completed_and_cancelled_are_final_and_discarded_can_be_requeued() {
        use JobState::*;
        assert!(Completed.is_terminal());
        assert!(Cancelled.is_terminal());
        assert!(!Discarded.is_terminal());
        assert!(Running.transition(Running).is_err());
        for &state in JobState::ALL {
            assert_eq!(
                state.is_finished(),
                matches!(state, Completed | Discarded | Cancelled)
            );
        }
    }
}
