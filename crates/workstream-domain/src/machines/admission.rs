//! SubmissionBundleAdmission state.
//!
//! An admission records that a packet passed the pre-submit checks. It is spent by
//! exactly one Submission (in the same transaction), or goes stale when the task, the
//! predecessor or the locked context drifts. v0.1 has no expiry.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `SubmissionBundleAdmission.state`.
    pub enum AdmissionState as "admission_state" {
        /// Pre-submit passed; may back one Submission.
        Ready => "ready",
        /// Spent by its Submission.
        Consumed => "consumed",
        /// No longer matches the task; a new packet must be prepared.
        Stale => "stale",
    }
}

impl StateMachine for AdmissionState {
    const MOVES: &'static [(Self, Self)] = &[
        (AdmissionState::Ready, AdmissionState::Consumed),
        (AdmissionState::Ready, AdmissionState::Stale),
    ];
}

#[cfg(test)]
mod tests {
    use super::AdmissionState::*;
    use crate::machines::{StateMachine, assert_exactly};

    #[test]
    fn admission_is_spent_once() {
        assert_exactly(&[(Ready, Consumed), (Ready, Stale)]);
        assert!(Consumed.transition(Consumed).is_err());
        assert!(Stale.transition(Ready).is_err());
    }
}
