//! Why a task command was refused.
//!
//! Each variant is one cause with one stable `code()`; the API puts the code in its
//! error envelope and clients branch on it, so codes are never renamed. The
//! [`RefusalClass`] groups causes for the HTTP layer without the domain knowing HTTP.

use crate::error_code::ErrorCode;
use thiserror::Error;

use super::command::{CommandKind, RevisionCloseReason};
use super::task_state::TaskState;
use crate::machines::checker_run::RoutingRecommendation;

/// The largest number of open blocking findings a task may carry (R32).
pub const MAX_OPEN_BLOCKING_FINDINGS: u32 = 100;

/// The longest reason accepted on a command, in characters after trimming.
pub const MAX_REASON_CHARS: usize = 2000;

/// A refused task command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    // --- the edge itself ---
    /// No listed edge takes this command out of this state (includes every command on
    /// a terminal task).
    #[error("`{command}` is not allowed on a task in `{from}`")]
    TransitionNotAllowed {
        /// The task's state.
        from: TaskState,
        /// The refused command.
        command: CommandKind,
    },
    /// The run's routing keeps the task in `evaluation_pending`; there is no move.
    #[error("routing `{routing}` keeps the task in evaluation_pending")]
    RoutingHoldsTask {
        /// The routing that was applied.
        routing: RoutingRecommendation,
    },

    // --- who is asking ---
    /// The actor holds none of the roles that may issue this command.
    #[error("the actor may not `{command}` this task")]
    ActorNotPermitted {
        /// The refused command.
        command: CommandKind,
    },
    /// The actor is not the contributor on the task's active assignment.
    #[error("only the assignee may do this")]
    NotAssignee,
    /// The reviewer submitted work in this task's chain (R25).
    #[error("a submitter cannot review their own submission chain")]
    SelfReviewForbidden,
    /// The queue entry has no active lease.
    #[error("no active review lease")]
    LeaseNotActive,
    /// The active lease is someone else's, or names another Submission.
    #[error("the actor does not hold the active lease on this submission")]
    LeaseNotHeld,
    /// T10 is only allowed while no reviewer holds a lease.
    #[error("a reviewer holds an active lease")]
    ReviewLeaseActive,

    // --- reasons ---
    /// A reason is required and was blank.
    #[error("a non-blank reason is required")]
    ReasonRequired,
    /// The reason is longer than [`MAX_REASON_CHARS`].
    #[error("the reason is longer than {max} characters")]
    ReasonTooLong {
        /// The limit.
        max: usize,
    },
    /// The reason contains a NUL or another control character other than newline/tab.
    #[error("the reason contains control characters")]
    ReasonInvalid,

    // --- screening and locked context ---
    /// T1: the project is not active.
    #[error("the project is not active")]
    ProjectNotActive,
    /// T1: required task fields are empty.
    #[error("fill in the task's {} before screening it", missing.join(", "))]
    TaskFieldsIncomplete {
        /// The empty fields, by name (`description`, `acceptance_criteria`, ...).
        missing: Vec<&'static str>,
    },
    /// T1: the project has no active guide.
    #[error("the project has no active guide")]
    ActiveGuideMissing,
    /// T2: critical/high readiness findings are open.
    #[error("{count} critical/high readiness findings are open")]
    ReadinessFindingsOpen {
        /// How many.
        count: u32,
    },
    /// The task's locked context is missing or invalid (R48:
    /// `task_locked_context_invalid` at the API).
    #[error("the task's locked context is invalid")]
    LockedContextInvalid,
    /// T2: the guide the task is locked to is no longer active.
    #[error("the task's locked guide is no longer active")]
    LockedGuideNotActive,
    /// T2: the guide-bound contribution policy version is not usable.
    #[error("the contribution policy version is not published, complete and bound")]
    ContributionPolicyUnavailable,

    // --- assignment ---
    /// T4: the task already has an active assignment.
    #[error("the task already has an active assignment")]
    AssignmentExists,
    /// T5, T6, T14: the task has no active assignment.
    #[error("the task has no active assignment")]
    AssignmentNotActive,
    /// T4 by assign: the contributor lacks an active submitter grant or profile.
    #[error("the contributor is not an eligible submitter on this project")]
    AssigneeNotEligible,
    /// T4: the contributor already holds the maximum number of active tasks.
    #[error("the contributor holds {active} active tasks (cap {cap})")]
    ActiveTaskCapReached {
        /// Tasks held now.
        active: u32,
        /// The cap.
        cap: u32,
    },
    /// T4: the locked policy version has no explicit `accepted_submission` rule.
    #[error("the accepted_submission rule is not explicit")]
    ContributionRuleMissing,
    /// T17: the assignee still has full submitter authority.
    #[error("the assignee's authority is intact")]
    AssigneeAuthorityIntact,
    /// T17: a Submission already exists, so the assignment can no longer be invalidated.
    #[error("a submission already exists")]
    SubmissionExists,

    // --- submission ---
    /// T6, T14: no `ready` admission backs the packet.
    #[error("no ready pre-submit admission for this packet")]
    AdmissionNotReady,
    /// T6, T14: the summary is missing.
    #[error("a submission summary is required")]
    SummaryRequired,
    /// T6, T14: the contributor attestation is missing.
    #[error("the contributor attestation is required")]
    AttestationRequired,

    // --- checker run ---
    /// T8, T9: the run belongs to another Submission version.
    #[error("the checker run belongs to another submission")]
    CheckerRunWrongSubmission,
    /// T8, T9: the run is not final.
    #[error("the checker run is not final")]
    CheckerRunNotFinal,
    /// T8, T9: the run has been superseded by a newer attempt.
    #[error("the checker run is not the current attempt")]
    CheckerRunNotCurrent,
    /// T8: the packet's hashes differ from the run's.
    #[error("artifact hashes differ from the checker run's")]
    ArtifactHashMismatch,
    /// T8, T11: blocking checker failures are open.
    #[error("{count} blocking checker failures are open")]
    BlockingCheckerFailuresOpen {
        /// How many.
        count: u32,
    },
    /// T9: the run has no contributor-visible failure to act on.
    #[error("no contributor-visible failure explains the remediation")]
    RemediationFindingsMissing,

    // --- review ---
    /// T11–T13: the admitting run is no longer the current allow_review run (R30).
    #[error("the admitting checker run is no longer current")]
    AdmittingRunNotCurrent,
    /// T11: acceptance cites no evidence (R28).
    #[error("accept must cite acceptance evidence")]
    EvidenceRequired,
    /// T11: disputed evidence, suspected copying or a compensation conflict is open.
    #[error("acceptance is on hold until a dispute is resolved")]
    AcceptanceOnHold,
    /// T11, T12: prior blocking findings were given no resolution (R32).
    #[error("{missing} prior blocking findings have no resolution")]
    FindingResolutionsIncomplete {
        /// How many lack one.
        missing: u32,
    },
    /// T11: blocking findings would stay open.
    #[error("{count} blocking findings remain open")]
    BlockingFindingsOpen {
        /// How many.
        count: u32,
    },
    /// T12: needs_revision must leave at least one blocking finding open (R29).
    #[error("needs_revision requires at least one blocking finding")]
    BlockingFindingRequired,
    /// T12: more than [`MAX_OPEN_BLOCKING_FINDINGS`] blocking findings would be open.
    #[error("{count} open blocking findings exceed the limit of {max}")]
    BlockingFindingsLimitExceeded {
        /// How many would be open.
        count: u32,
        /// The limit.
        max: u32,
    },
    /// T11–T13: blocking findings lack an issue, reason or required fix.
    #[error("{count} blocking findings lack an issue, reason or required fix")]
    FindingIncomplete {
        /// How many.
        count: u32,
    },
    /// T11–T13: findings lack evidence the review policy requires.
    #[error("{count} findings lack required evidence")]
    FindingEvidenceRequired {
        /// How many.
        count: u32,
    },

    // --- revision ---
    /// T14: the current preparation is blocked; a PM must repair it.
    #[error("the revision context is blocked until a project manager repairs it")]
    RevisionContextBlocked,
    /// T14: the request does not echo the current preparation head (re-preparation
    /// required).
    #[error("re-preparation required: the revision context head has changed")]
    RevisionContextStale,
    /// T14: unresolved blocking findings have no response (R32).
    #[error("{missing} blocking findings have no response")]
    FindingResponsesIncomplete {
        /// How many lack one.
        missing: u32,
    },
    /// T14: the human revision rounds are used up (R36).
    #[error("revision limit reached ({used} of {limit} rounds used)")]
    RevisionLimitReached {
        /// Rounds used.
        used: u32,
        /// The limit.
        limit: u32,
    },
    /// T14: the revision deadline has passed (R36).
    #[error("the revision deadline has passed")]
    RevisionDeadlineExpired,
    /// T14: the predecessor is not the task's latest Submission.
    #[error("the predecessor is not the latest submission")]
    PredecessorNotLatest,
    /// T14 (checker origin): the request does not bind the remediation run.
    #[error("the resubmission must bind the exact needs_revision checker run")]
    RemediationRunMismatch,
    /// T15: the proven condition for the close reason does not hold.
    #[error("`{reason}` has not happened")]
    CloseConditionUnmet {
        /// The reason given.
        reason: RevisionCloseReason,
    },
    /// T15: a checker-rooted remediation cannot be closed by a PM.
    #[error("a checker remediation cannot be closed as a revision obligation")]
    RemediationCloseForbidden,
}

impl Refusal {
    /// The stable error code.
    pub const fn code(&self) -> ErrorCode {
        match self {
            Refusal::TransitionNotAllowed { .. } => ErrorCode::TransitionNotAllowed,
            Refusal::RoutingHoldsTask { .. } => ErrorCode::RoutingHoldsTask,
            Refusal::ActorNotPermitted { .. } => ErrorCode::PermissionNotGranted,
            Refusal::NotAssignee => ErrorCode::NotAssignee,
            Refusal::SelfReviewForbidden => ErrorCode::SelfReviewForbidden,
            Refusal::LeaseNotActive => ErrorCode::LeaseNotActive,
            Refusal::LeaseNotHeld => ErrorCode::LeaseNotHeld,
            Refusal::ReviewLeaseActive => ErrorCode::ReviewLeaseActive,
            Refusal::ReasonRequired => ErrorCode::ReasonRequired,
            Refusal::ReasonTooLong { .. } => ErrorCode::ReasonTooLong,
            Refusal::ReasonInvalid => ErrorCode::ReasonInvalid,
            Refusal::ProjectNotActive => ErrorCode::ProjectNotActive,
            Refusal::TaskFieldsIncomplete { .. } => ErrorCode::TaskFieldsIncomplete,
            Refusal::ActiveGuideMissing => ErrorCode::ActiveGuideMissing,
            Refusal::ReadinessFindingsOpen { .. } => ErrorCode::ReadinessFindingsOpen,
            Refusal::LockedContextInvalid => ErrorCode::LockedContextInvalid,
            Refusal::LockedGuideNotActive => ErrorCode::LockedGuideNotActive,
            Refusal::ContributionPolicyUnavailable => ErrorCode::ContributionPolicyUnavailable,
            Refusal::AssignmentExists => ErrorCode::AssignmentExists,
            Refusal::AssignmentNotActive => ErrorCode::AssignmentNotActive,
            Refusal::AssigneeNotEligible => ErrorCode::AssigneeNotEligible,
            Refusal::ActiveTaskCapReached { .. } => ErrorCode::ActiveTaskCapReached,
            Refusal::ContributionRuleMissing => ErrorCode::ContributionRuleMissing,
            Refusal::AssigneeAuthorityIntact => ErrorCode::AssigneeAuthorityIntact,
            Refusal::SubmissionExists => ErrorCode::SubmissionExists,
            Refusal::AdmissionNotReady => ErrorCode::AdmissionNotReady,
            Refusal::SummaryRequired => ErrorCode::SummaryRequired,
            Refusal::AttestationRequired => ErrorCode::AttestationRequired,
            Refusal::CheckerRunWrongSubmission => ErrorCode::CheckerRunWrongSubmission,
            Refusal::CheckerRunNotFinal => ErrorCode::CheckerRunNotFinal,
            Refusal::CheckerRunNotCurrent => ErrorCode::CheckerRunNotCurrent,
            Refusal::ArtifactHashMismatch => ErrorCode::ArtifactHashMismatch,
            Refusal::BlockingCheckerFailuresOpen { .. } => ErrorCode::BlockingCheckerFailuresOpen,
            Refusal::RemediationFindingsMissing => ErrorCode::RemediationFindingsMissing,
            Refusal::AdmittingRunNotCurrent => ErrorCode::AdmittingRunNotCurrent,
            Refusal::EvidenceRequired => ErrorCode::EvidenceRequired,
            Refusal::AcceptanceOnHold => ErrorCode::AcceptanceOnHold,
            Refusal::FindingResolutionsIncomplete { .. } => ErrorCode::FindingResolutionsIncomplete,
            Refusal::BlockingFindingsOpen { .. } => ErrorCode::BlockingFindingsOpen,
            Refusal::BlockingFindingRequired => ErrorCode::BlockingFindingRequired,
            Refusal::BlockingFindingsLimitExceeded { .. } => {
                ErrorCode::BlockingFindingsLimitExceeded
            }
            Refusal::FindingIncomplete { .. } => ErrorCode::FindingIncomplete,
            Refusal::FindingEvidenceRequired { .. } => ErrorCode::FindingEvidenceRequired,
            Refusal::RevisionContextBlocked => ErrorCode::RevisionContextBlocked,
            Refusal::RevisionContextStale => ErrorCode::RevisionContextStale,
            Refusal::FindingResponsesIncomplete { .. } => ErrorCode::FindingResponsesIncomplete,
            Refusal::RevisionLimitReached { .. } => ErrorCode::RevisionLimitReached,
            Refusal::RevisionDeadlineExpired => ErrorCode::RevisionDeadlineExpired,
            Refusal::PredecessorNotLatest => ErrorCode::PredecessorNotLatest,
            Refusal::RemediationRunMismatch => ErrorCode::RemediationRunMismatch,
            Refusal::CloseConditionUnmet { .. } => ErrorCode::CloseConditionUnmet,
            Refusal::RemediationCloseForbidden => ErrorCode::RemediationCloseForbidden,
        }
    }
}

/// Checks a free-text reason: non-blank after trimming, at most
/// [`MAX_REASON_CHARS`] characters, and no control characters other than newline,
/// carriage return and tab (a NUL would be cut by Postgres text).
pub fn check_reason(reason: &str) -> Result<(), Refusal> {
    let trimmed = reason.trim();
    if trimmed.is_empty() {
        return Err(Refusal::ReasonRequired);
    }
    if trimmed.chars().count() > MAX_REASON_CHARS {
        return Err(Refusal::ReasonTooLong {
            max: MAX_REASON_CHARS,
        });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Refusal::ReasonInvalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_checked() {
        assert_eq!(check_reason("  \n\t "), Err(Refusal::ReasonRequired));
        assert_eq!(check_reason(""), Err(Refusal::ReasonRequired));
        assert_eq!(check_reason("ok\0"), Err(Refusal::ReasonInvalid));
        assert_eq!(
            check_reason(&"é".repeat(MAX_REASON_CHARS + 1)),
            Err(Refusal::ReasonTooLong {
                max: MAX_REASON_CHARS
            })
        );
        assert_eq!(check_reason(&"é".repeat(MAX_REASON_CHARS)), Ok(()));
        assert_eq!(check_reason("line one\nline two"), Ok(()));
    }

    #[test]
    fn codes_are_snake_case_and_distinct() {
        let samples = [
            Refusal::TransitionNotAllowed {
                from: TaskState::Accepted,
                command: CommandKind::Cancel,
            },
            Refusal::SelfReviewForbidden,
            Refusal::RevisionLimitReached { used: 2, limit: 2 },
            Refusal::CloseConditionUnmet {
                reason: RevisionCloseReason::RevisionDeadlineExpired,
            },
        ];
        let codes: Vec<_> = samples.iter().map(Refusal::code).collect();
        assert_eq!(
            codes,
            [
                "transition_not_allowed",
                "self_review_forbidden",
                "revision_limit_reached",
                "close_condition_unmet"
            ]
        );
        assert_eq!(
            samples[0].to_string(),
            "`cancel` is not allowed on a task in `accepted`"
        );
        assert_eq!(samples[0].code().status(), 403);
    }
}
