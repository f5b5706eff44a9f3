//! Review findings and revision preparations, as stored tokens.
//!
//! - [`FindingKind`] is a finding's weight (`review_findings.finding_kind`): a
//!   `blocking` finding must be resolved before the task can be accepted, an
//!   `advisory` one never blocks.
//! - [`ResolutionResult`] is a later review's verdict on one prior finding
//!   (`finding_resolutions.result`).
//! - [`FindingStatus`] is derived, not stored: a finding is `open` until a later
//!   review's resolution closed it as `resolved` or `not_applicable`.
//! - [`PreparationOutcome`] is what a revision context preparation did with the locked
//!   context (`revision_context_preparations.outcome`).

use crate::token::token_enum;

token_enum! {
    /// A finding's weight (`review_findings.finding_kind`).
    pub enum FindingKind as "finding_kind" {
        /// Must be resolved before the task can be accepted; requires a fix (R29, R32).
        Blocking => "blocking",
        /// A suggestion; never holds the task back.
        Advisory => "advisory",
    }
}

token_enum! {
    /// A later review's verdict on one prior finding (`finding_resolutions.result`).
    pub enum ResolutionResult as "resolution_result" {
        /// The revision fixed the finding; it is closed.
        Resolved => "resolved",
        /// The finding still stands; it stays open.
        Unresolved => "unresolved",
        /// The finding no longer applies; it is closed.
        NotApplicable => "not_applicable",
    }
}

impl ResolutionResult {
    /// The results that close a finding for good (`finding_resolutions_closed_once`).
    pub const CLOSING: &'static [ResolutionResult] =
        &[ResolutionResult::Resolved, ResolutionResult::NotApplicable];

    /// Whether this result closes the finding.
    pub const fn closes(self) -> bool {
        matches!(
            self,
            ResolutionResult::Resolved | ResolutionResult::NotApplicable
        )
    }
}

token_enum! {
    /// Where a finding stands: open until a later review's resolution closed it.
    pub enum FindingStatus as "finding_status" {
        /// No later review has closed the finding (none, or only `unresolved`).
        Open => "open",
        /// A later review found the finding resolved.
        Resolved => "resolved",
        /// A later review found the finding not applicable.
        NotApplicable => "not_applicable",
    }
}

impl FindingStatus {
    /// The status a finding has after the given resolution result, if any.
    pub const fn after(result: Option<ResolutionResult>) -> FindingStatus {
        match result {
            Some(ResolutionResult::Resolved) => FindingStatus::Resolved,
            Some(ResolutionResult::NotApplicable) => FindingStatus::NotApplicable,
            Some(ResolutionResult::Unresolved) | None => FindingStatus::Open,
        }
    }
}

token_enum! {
    /// What a revision context preparation did (`revision_context_preparations.outcome`).
    pub enum PreparationOutcome as "preparation_outcome" {
        /// The revision keeps the prior locked context unchanged.
        Kept => "kept",
        /// The revision moves to a new guide, policy bundle or contribution policy.
        Rebased => "rebased",
        /// No context can be prepared; a reason code says why.
        Blocked => "blocked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_the_schema_checks() {
        let kinds: Vec<_> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, ["blocking", "advisory"]);
        let results: Vec<_> = ResolutionResult::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(results, ["resolved", "unresolved", "not_applicable"]);
        let outcomes: Vec<_> = PreparationOutcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(outcomes, ["kept", "rebased", "blocked"]);
        // The predicate of the partial index `finding_resolutions_closed_once`, which the
        // engine's prior-findings query keeps as a literal.
        let closing: Vec<_> = ResolutionResult::CLOSING
            .iter()
            .map(|r| r.as_str())
            .collect();
        assert_eq!(closing, ["resolved", "not_applicable"]);
    }

    #[test]
    fn closing_results_close_and_set_the_status() {
        for &r in ResolutionResult::ALL {
            assert_eq!(r.closes(), ResolutionResult::CLOSING.contains(&r));
            let status = FindingStatus::after(Some(r));
            assert_eq!(r.closes(), status != FindingStatus::Open);
            if r.closes() {
                assert_eq!(status.as_str(), r.as_str());
            }
        }
        assert_eq!(FindingStatus::after(None), FindingStatus::Open);
    }
}
