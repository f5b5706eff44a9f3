//! Contribution policy and its versions.
//!
//! Finance publishes versions of a project's contribution policy; tasks, assignments and
//! leases freeze a version id, so publishing or retiring never changes work already
//! under way (R45). A draft version is editable; published and retired are immutable.

use super::StateMachine;
use crate::token::token_enum;

token_enum! {
    /// `ContributionPolicyVersion.status`.
    pub enum ContributionPolicyVersionStatus as "contribution_policy_version_status" {
        /// Editable; not selectable by a guide.
        Draft => "draft",
        /// Immutable; the current one may be bound at guide activation.
        Published => "published",
        /// Immutable; replaced or withdrawn. Frozen references keep working.
        Retired => "retired",
    }
}

impl ContributionPolicyVersionStatus {
    /// Only a draft version's rules may change.
    pub const fn is_editable(self) -> bool {
        matches!(self, ContributionPolicyVersionStatus::Draft)
    }
}

impl StateMachine for ContributionPolicyVersionStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (
            ContributionPolicyVersionStatus::Draft,
            ContributionPolicyVersionStatus::Published,
        ),
        (
            ContributionPolicyVersionStatus::Published,
            ContributionPolicyVersionStatus::Retired,
        ),
    ];
}

token_enum! {
    /// `ContributionPolicy.status` (at most one `active` per project).
    pub enum ContributionPolicyStatus as "contribution_policy_status" {
        /// Has no published version yet.
        Draft => "draft",
        /// Points at exactly one published version.
        Active => "active",
        /// No longer selectable.
        Retired => "retired",
    }
}

impl StateMachine for ContributionPolicyStatus {
    const MOVES: &'static [(Self, Self)] = &[
        (
            ContributionPolicyStatus::Draft,
            ContributionPolicyStatus::Active,
        ),
        (
            ContributionPolicyStatus::Active,
            ContributionPolicyStatus::Retired,
        ),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machines::assert_exactly;

    #[test]
    fn version_moves() {
        use ContributionPolicyVersionStatus::*;
        assert_exactly(&[(Draft, Published), (Published, Retired)]);
        assert!(Draft.transition(Retired).is_err());
        assert!(Draft.is_editable() && !Published.is_editable() && !Retired.is_editable());
    }

    #[test]
    fn policy_moves() {
        use ContributionPolicyStatus::*;
        assert_exactly(&[(Draft, Active), (Active, Retired)]);
        assert!(Retired.transition(Active).is_err());
    }
}
