//! The kinds that shape contribution records and awards.
//!
//! A contribution policy version holds one rule per [`ContributionType`]; a rule is
//! [`CompensationMode::Unpaid`] (no award) or compensated with up to one award
//! definition per [`InstrumentType`]. What an award's unit and quantity may be
//! depends on its instrument, checked by [`InstrumentType::check_quantity`].

use crate::quantity::{Quantity, QuantityError};
use crate::token::token_enum;

token_enum! {
    /// What kind of work a contribution record credits.
    pub enum ContributionType as "contribution_type" {
        /// The submitter's accepted work; created only by a FinalAcceptance.
        AcceptedSubmission => "accepted_submission",
        /// The reviewer's decision; created by every valid Review.
        CompletedReview => "completed_review",
    }
}

token_enum! {
    /// Whether a rule pays anything. Missing configuration is never read as unpaid (R5).
    pub enum CompensationMode as "compensation_mode" {
        /// One or two award definitions (at most one per instrument).
        Compensated => "compensated",
        /// No award; the contribution record still exists.
        Unpaid => "unpaid",
    }
}

token_enum! {
    /// What an award is paid in.
    pub enum InstrumentType as "instrument_type" {
        /// Money in an ISO 4217 currency enabled for the project.
        Money => "money",
        /// Whole points in a project-scoped unit.
        ProjectPoints => "project_points",
    }
}

impl InstrumentType {
    /// Checks that `quantity` suits this instrument: project points are whole
    /// (written without a fraction); money takes any valid quantity.
    pub fn check_quantity(self, quantity: Quantity) -> Result<Quantity, QuantityError> {
        match self {
            InstrumentType::Money => Ok(quantity),
            InstrumentType::ProjectPoints => quantity.require_whole(),
        }
    }
}

impl CompensationMode {
    /// How many award definitions a rule in this mode may hold (R41, docs/rules.md).
    pub const fn allowed_definitions(self) -> core::ops::RangeInclusive<usize> {
        match self {
            CompensationMode::Compensated => 1..=2,
            CompensationMode::Unpaid => 0..=0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_need_whole_quantities() {
        let half: Quantity = "0.5".parse().unwrap();
        let ten: Quantity = "10".parse().unwrap();
        assert_eq!(InstrumentType::Money.check_quantity(half), Ok(half));
        assert_eq!(
            InstrumentType::ProjectPoints.check_quantity(half),
            Err(QuantityError::NotWhole)
        );
        assert_eq!(InstrumentType::ProjectPoints.check_quantity(ten), Ok(ten));
    }

    #[test]
    fn tokens() {
        assert_eq!(InstrumentType::ProjectPoints.as_str(), "project_points");
        assert_eq!(
            "completed_review".parse::<ContributionType>().unwrap(),
            ContributionType::CompletedReview
        );
        assert!(CompensationMode::Unpaid.allowed_definitions().contains(&0));
        assert!(
            !CompensationMode::Compensated
                .allowed_definitions()
                .contains(&3)
        );
    }
}
