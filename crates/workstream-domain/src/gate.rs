//! The pre-review gate: from each checker's outcome to the run's route.
//!
//! A checker reports findings; the host derives a verdict (`passed`, `warning`,
//! `failed`) or records an infrastructure failure. This module applies the locked
//! checker policy to those outcomes (docs/checkers.md) and decides
//! where the task goes. It is pure, so the same rules judge a pre-submit upload and a
//! post-submit run.
//!
//! Per checker ([`judge`]):
//!
//! | outcome | member status | blocks review when |
//! |---|---|---|
//! | infrastructure failure | `errored` | always (never a pass) |
//! | verdict `failed` | `failed` | the checker is required (`blocking`) or its severity is in `blocking_severities` |
//! | verdict `warning` | `warning`, or `failed`/`high` when the checker is required or its severity blocks (escalated, with a marker) | escalated |
//! | verdict `passed` | `passed` | never |
//!
//! A failed member that does not block stays visible: `medium` is a warning for the
//! reviewer, `low` an informational note.
//!
//! Per run ([`route`]), the first that applies, in this precedence:
//! `checker_retry` (any member errored: a platform problem the contributor cannot fix)
//! > `task_setup_blocked` (a blocking failure of a task-setup checker: the task itself is
//! > defective and a manager must repair it) > `needs_revision` (a blocking failure of
//! > the packet) > `allow_review` ("ready for a human", never an acceptance).

use serde::{Deserialize, Serialize};

use crate::machines::checker_run::RoutingRecommendation;
use crate::policy::types::Severity;

/// Who can fix what a checker finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The packet: the contributor fixes it with a new version.
    Submission,
    /// The task's own setup (its criteria, its configuration): a manager repairs it.
    TaskSetup,
}

impl Category {
    /// The category of a checker, by name. Only checkers that inspect the task rather
    /// than the packet are task-setup checkers; everything else, including every
    /// project checker, judges the packet.
    pub fn of_checker(name: &str) -> Category {
        match name {
            "acceptance-criteria-present" => Category::TaskSetup,
            _ => Category::Submission,
        }
    }
}

/// What one checker produced, as the gate sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A valid report, with the host's verdict.
    Completed(Verdict),
    /// No usable report (deadline, memory, malformed output, trap, missing material).
    Errored,
}

crate::token::token_enum! {
    /// The host's verdict over a report's findings (`checker_results.verdict` stores it
    /// as `passed` or `failed`: a warning is a pass with findings).
    pub enum Verdict as "verdict" {
        /// No warning or error findings.
        Passed => "passed",
        /// Warnings, no errors.
        Warning => "warning",
        /// At least one error finding.
        Failed => "failed",
    }
}

crate::token::token_enum! {
    /// A member's status after the policy's rules (`checker_results.status`).
    pub enum MemberStatus as "member_status" {
        /// Nothing to report.
        Passed => "passed",
        /// A warning for the reviewer (or an informational note).
        Warning => "warning",
        /// A failure; it may or may not block (see [`Member::blocks_review`]).
        Failed => "failed",
        /// The checker could not run to a valid report.
        Errored => "errored",
    }
}

/// Why a warning was turned into a blocking failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// The policy marks the checker as required (`blocking: true`).
    RequiredCheckerWarningEscalated,
    /// The checker's severity is one of the blocking severities.
    BlockingSeverityWarningEscalated,
}

/// A severity as stored with a result (`info`, `low`, `medium`, `high`, `critical`).
/// The policy's `warning` level is stored as `low`: a note, never a blocker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultSeverity {
    /// Information only.
    Info,
    /// A minor problem or a signal.
    Low,
    /// A problem for the reviewer to weigh.
    Medium,
    /// A requirement is not met.
    High,
    /// Integrity or confidentiality at stake.
    Critical,
}

impl ResultSeverity {
    /// The stored form of a policy severity.
    pub fn of(severity: Severity) -> ResultSeverity {
        match severity {
            Severity::Critical => ResultSeverity::Critical,
            Severity::High => ResultSeverity::High,
            Severity::Medium => ResultSeverity::Medium,
            Severity::Low | Severity::Warning => ResultSeverity::Low,
            Severity::Info => ResultSeverity::Info,
        }
    }

    /// The stored token.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResultSeverity::Info => "info",
            ResultSeverity::Low => "low",
            ResultSeverity::Medium => "medium",
            ResultSeverity::High => "high",
            ResultSeverity::Critical => "critical",
        }
    }
}

/// One checker's place in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `blocking: true` in the policy: the checker is required.
    pub required: bool,
    /// The checker's severity in the policy.
    pub severity: Severity,
    /// Packet or task setup.
    pub category: Category,
}

/// One judged member of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Status after the policy's rules.
    pub status: MemberStatus,
    /// The stored severity (`high` after an escalation).
    pub severity: ResultSeverity,
    /// Whether this member keeps the task from review.
    pub blocks_review: bool,
    /// Set when a warning was escalated to a blocking failure.
    pub escalation: Option<Escalation>,
    /// Packet or task setup.
    pub category: Category,
}

impl Member {
    /// Where this member alone would send the task: an errored member asks for a
    /// retry, a blocking failure for a manager's repair (task setup) or a new version
    /// (the packet), anything else lets review go ahead.
    pub fn routing(&self) -> RoutingRecommendation {
        match (self.status, self.blocks_review, self.category) {
            (MemberStatus::Errored, ..) => RoutingRecommendation::CheckerRetry,
            (MemberStatus::Failed, true, Category::TaskSetup) => {
                RoutingRecommendation::TaskSetupBlocked
            }
            (MemberStatus::Failed, true, Category::Submission) => {
                RoutingRecommendation::NeedsRevision
            }
            _ => RoutingRecommendation::AllowReview,
        }
    }
}

/// Judges one checker's outcome under `rule` and the policy's `blocking_severities`.
pub fn judge(outcome: Outcome, rule: Rule, blocking_severities: &[Severity]) -> Member {
    let severity_blocks = blocking_severities.contains(&rule.severity);
    let member = |status, severity, blocks_review, escalation| Member {
        status,
        severity,
        blocks_review,
        escalation,
        category: rule.category,
    };
    let severity = ResultSeverity::of(rule.severity);
    match outcome {
        Outcome::Errored => member(MemberStatus::Errored, severity, true, None),
        Outcome::Completed(Verdict::Passed) => member(MemberStatus::Passed, severity, false, None),
        Outcome::Completed(Verdict::Failed) => member(
            MemberStatus::Failed,
            severity,
            rule.required || severity_blocks,
            None,
        ),
        Outcome::Completed(Verdict::Warning) => {
            let escalation = if rule.required {
                Some(Escalation::RequiredCheckerWarningEscalated)
            } else if severity_blocks {
                Some(Escalation::BlockingSeverityWarningEscalated)
            } else {
                None
            };
            match escalation {
                Some(_) => member(
                    MemberStatus::Failed,
                    severity.max(ResultSeverity::High),
                    true,
                    escalation,
                ),
                None => member(MemberStatus::Warning, severity, false, None),
            }
        }
    }
}

/// The counts stored with a run.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Counts {
    /// Members that passed.
    pub passed: u32,
    /// Members that warned (not escalated).
    pub warning: u32,
    /// Members that failed (blocking or not).
    pub failed: u32,
    /// Members that errored.
    pub errored: u32,
    /// Members that block review.
    pub blocking: u32,
}

/// Where a run with `members` sends the task: the member routing of highest
/// [`precedence`](RoutingRecommendation::precedence), the one ordering rule of
/// routes. A run without members (a policy with no checker) has nothing to hold the
/// task back, and admits review.
pub fn route(members: &[Member]) -> RoutingRecommendation {
    members
        .iter()
        .map(Member::routing)
        .max_by_key(|r| r.precedence())
        .unwrap_or(RoutingRecommendation::AllowReview)
}

/// The counts of `members`.
pub fn counts(members: &[Member]) -> Counts {
    let mut counts = Counts::default();
    for m in members {
        match m.status {
            MemberStatus::Passed => counts.passed += 1,
            MemberStatus::Warning => counts.warning += 1,
            MemberStatus::Failed => counts.failed += 1,
            MemberStatus::Errored => counts.errored += 1,
        }
        if m.blocks_review {
            counts.blocking += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: &[Severity] = &[Severity::Critical, Severity::High];

    fn rule(required: bool, severity: Severity, category: Category) -> Rule {
        Rule {
            required,
            severity,
            category,
        }
    }

    #[test]
    fn a_failure_blocks_by_severity_or_requirement_only() {
        let high = judge(
            Outcome::Completed(Verdict::Failed),
            rule(false, Severity::High, Category::Submission),
            FLOOR,
        );
        assert_eq!(
            (high.status, high.blocks_review),
            (MemberStatus::Failed, true)
        );
        let medium = judge(
            Outcome::Completed(Verdict::Failed),
            rule(false, Severity::Medium, Category::Submission),
            FLOOR,
        );
        assert_eq!(
            (medium.status, medium.blocks_review, medium.severity),
            (MemberStatus::Failed, false, ResultSeverity::Medium)
        );
        let required = judge(
            Outcome::Completed(Verdict::Failed),
            rule(true, Severity::Low, Category::Submission),
            FLOOR,
        );
        assert!(required.blocks_review);
        // A project may add medium to the blocking severities.
        let stricter = judge(
            Outcome::Completed(Verdict::Failed),
            rule(false, Severity::Medium, Category::Submission),
            &[Severity::Critical, Severity::High, Severity::Medium],
        );
        assert!(stricter.blocks_review);
    }

    #[test]
    fn warnings_block_only_when_escalated() {
        let plain = judge(
            Outcome::Completed(Verdict::Warning),
            rule(false, Severity::Medium, Category::Submission),
            FLOOR,
        );
        assert_eq!(
            (plain.status, plain.blocks_review, plain.escalation),
            (MemberStatus::Warning, false, None)
        );
        let required = judge(
            Outcome::Completed(Verdict::Warning),
            rule(true, Severity::Medium, Category::Submission),
            FLOOR,
        );
        assert_eq!(
            (required.status, required.severity, required.escalation),
            (
                MemberStatus::Failed,
                ResultSeverity::High,
                Some(Escalation::RequiredCheckerWarningEscalated)
            )
        );
        let by_severity = judge(
            Outcome::Completed(Verdict::Warning),
            rule(false, Severity::Critical, Category::Submission),
            FLOOR,
        );
        assert_eq!(
            (by_severity.severity, by_severity.escalation),
            (
                ResultSeverity::Critical,
                Some(Escalation::BlockingSeverityWarningEscalated)
            )
        );
    }

    #[test]
    fn an_errored_member_never_passes() {
        let errored = judge(
            Outcome::Errored,
            rule(false, Severity::Info, Category::Submission),
            FLOOR,
        );
        assert_eq!(
            (errored.status, errored.blocks_review),
            (MemberStatus::Errored, true)
        );
        assert_eq!(route(&[errored]), RoutingRecommendation::CheckerRetry);
    }

    #[test]
    fn routing_follows_the_precedence() {
        let pass = judge(
            Outcome::Completed(Verdict::Passed),
            rule(true, Severity::High, Category::Submission),
            FLOOR,
        );
        let packet = judge(
            Outcome::Completed(Verdict::Failed),
            rule(true, Severity::High, Category::Submission),
            FLOOR,
        );
        let setup = judge(
            Outcome::Completed(Verdict::Failed),
            rule(true, Severity::High, Category::TaskSetup),
            FLOOR,
        );
        let errored = judge(
            Outcome::Errored,
            rule(true, Severity::High, Category::Submission),
            FLOOR,
        );
        let warning = judge(
            Outcome::Completed(Verdict::Warning),
            rule(false, Severity::Medium, Category::Submission),
            FLOOR,
        );
        assert_eq!(route(&[]), RoutingRecommendation::AllowReview);
        assert_eq!(route(&[pass, warning]), RoutingRecommendation::AllowReview);
        assert_eq!(route(&[pass, packet]), RoutingRecommendation::NeedsRevision);
        assert_eq!(
            route(&[packet, setup]),
            RoutingRecommendation::TaskSetupBlocked
        );
        assert_eq!(
            route(&[packet, setup, errored]),
            RoutingRecommendation::CheckerRetry
        );
        assert!(!RoutingRecommendation::TaskSetupBlocked.contributor_visible());
        assert_eq!(
            counts(&[pass, packet, setup, errored, warning]),
            Counts {
                passed: 1,
                warning: 1,
                failed: 2,
                errored: 1,
                blocking: 3
            }
        );
    }
}
