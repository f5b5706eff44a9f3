//! Calibration offer: one sampled Review offered, blind to its decision, to a second
//! reviewer (docs/rules.md R52).
//!
//! An offer is `offered` to every qualified reviewer of the project (never the first
//! reviewer, never a submitter of the task) until one claims it: `leased` to that
//! holder until database time passes the lease's expiry, when it is `offered` again.
//! The holder's decision records it (`recorded`, final). An offer nobody records within
//! its window ends `expired`, which is also final: the sample is then simply missing
//! from the agreement figures, and nothing else depends on it.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `CalibrationOffer.state`.
    pub enum CalibrationOfferState as "calibration_offer_state" {
        /// Waiting for a qualified second reviewer to claim it.
        Offered => "offered",
        /// Held by one second reviewer until the lease expires.
        Leased => "leased",
        /// The second reviewer's decision is recorded.
        Recorded => "recorded",
        /// Its window closed without a recorded decision.
        Expired => "expired",
    }
}

impl StateMachine for CalibrationOfferState {
    const MOVES: &'static [(Self, Self)] = &[
        (
            CalibrationOfferState::Offered,
            CalibrationOfferState::Leased,
        ),
        (
            CalibrationOfferState::Offered,
            CalibrationOfferState::Expired,
        ),
        (
            CalibrationOfferState::Leased,
            CalibrationOfferState::Recorded,
        ),
        (
            CalibrationOfferState::Leased,
            CalibrationOfferState::Offered,
        ),
        (
            CalibrationOfferState::Leased,
            CalibrationOfferState::Expired,
        ),
    ];
}

#[cfg(test)]
mod tests {
    use super::CalibrationOfferState::*;
    use crate::machines::{StateMachine, assert_exactly};

    #[test]
    fn an_offer_is_leased_and_recorded_once_or_expires() {
        assert_exactly(&[
            (Offered, Leased),
            (Offered, Expired),
            (Leased, Recorded),
            (Leased, Offered),
            (Leased, Expired),
        ]);
        assert!(Recorded.is_terminal() && Expired.is_terminal());
        assert!(Offered.transition(Recorded).is_err());
    }
}
