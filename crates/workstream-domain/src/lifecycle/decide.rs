//! `decide`: the one pure function that judges a task command.
//!
//! It answers in three steps, always in this order, so that the most basic reason
//! wins: (1) is there an edge for this command out of this state in
//! [`TRANSITIONS`](super::TRANSITIONS)? (2) may this actor issue it? (3) do the
//! transition's guards hold on the facts? The engine calls it inside its transaction,
//! after locking the rows the facts were read from, and applies the [`Decision`] only if
//! it gets one.

use super::command::{CommandKind, ReviewDecision, RevisionCloseReason, TaskCommand};
use super::guard::{ActorContext, GuardFacts, RevisionOrigin};
use super::refusal::{MAX_OPEN_BLOCKING_FINDINGS, Refusal, check_reason};
use super::task_state::TaskState;
use super::transition::{Actor, Transition, TransitionId};

/// An approved move: which edge, between which states, under which role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The edge taken.
    pub transition: TransitionId,
    /// The state the task leaves.
    pub from: TaskState,
    /// The state the task enters.
    pub to: TaskState,
    /// The role that authorized it, for the audit event's matched grant.
    pub authorized_as: Actor,
}

impl Decision {
    /// The system transition that must follow in the same commit (T7 after a
    /// Submission), if any.
    pub const fn same_commit_follow_up(&self) -> Option<TransitionId> {
        self.transition.same_commit_follow_up()
    }
}

/// Judges `command` on a task in `state`, requested by `actor`, given `facts`.
pub fn decide(
    state: TaskState,
    command: &TaskCommand,
    actor: &ActorContext,
    facts: &GuardFacts,
) -> Result<Decision, Refusal> {
    let transition = find_edge(state, command)?;
    let authorized_as = authorize(transition, command, actor)?;
    check_guards(transition.id, command, authorized_as, facts)?;
    Ok(Decision {
        transition: transition.id,
        from: state,
        to: transition.to,
        authorized_as,
    })
}

/// The command kinds that have an edge out of `state`, in declaration order. Whether
/// one will succeed still depends on the actor and the facts.
pub fn allowed_commands(state: TaskState) -> Vec<CommandKind> {
    CommandKind::ALL
        .iter()
        .copied()
        .filter(|kind| {
            kind.transitions()
                .iter()
                .any(|t| t.transition().leaves(state))
        })
        .collect()
}

fn find_edge(state: TaskState, command: &TaskCommand) -> Result<&'static Transition, Refusal> {
    if let Some(t) = command
        .transitions()
        .iter()
        .map(|id| id.transition())
        .find(|t| t.leaves(state))
    {
        return Ok(t);
    }
    // A run that asks for a retry or a repair is a legitimate outcome, not a misuse:
    // say so precisely, but only where a routing could have applied at all.
    if let TaskCommand::RecordEvaluation { routing } = command
        && state == TaskState::EvaluationPending
        && !routing.moves_task()
    {
        return Err(Refusal::RoutingHoldsTask { routing: *routing });
    }
    Err(Refusal::TransitionNotAllowed {
        from: state,
        command: command.kind(),
    })
}

fn authorize(
    transition: &Transition,
    command: &TaskCommand,
    actor: &ActorContext,
) -> Result<Actor, Refusal> {
    command
        .permitted_actors()
        .iter()
        .copied()
        .filter(|a| transition.triggered_by.contains(a))
        .find(|&a| actor.qualifies_as(a))
        .ok_or(Refusal::ActorNotPermitted {
            command: command.kind(),
        })
}

/// `Err(refusal)` unless `holds`.
fn ensure(holds: bool, refusal: Refusal) -> Result<(), Refusal> {
    if holds { Ok(()) } else { Err(refusal) }
}

fn check_guards(
    id: TransitionId,
    command: &TaskCommand,
    authorized_as: Actor,
    f: &GuardFacts,
) -> Result<(), Refusal> {
    use TransitionId::*;
    match (id, command) {
        (T1, _) => {
            // A project without an active guide is also not active (activating its
            // first guide activates it): the missing guide is the cause to name.
            ensure(f.has_active_guide, Refusal::ActiveGuideMissing)?;
            ensure(f.project_active, Refusal::ProjectNotActive)?;
            ensure(
                f.task_fields_missing.is_empty(),
                Refusal::TaskFieldsIncomplete {
                    missing: f.task_fields_missing.clone(),
                },
            )
        }
        (T2, TaskCommand::Release { reason }) => {
            check_reason(reason)?;
            ensure(
                f.open_readiness_findings == 0,
                Refusal::ReadinessFindingsOpen {
                    count: f.open_readiness_findings,
                },
            )?;
            ensure(f.locks_complete, Refusal::LockedContextInvalid)?;
            ensure(f.locked_guide_active, Refusal::LockedGuideNotActive)?;
            ensure(
                f.contribution_policy_ready,
                Refusal::ContributionPolicyUnavailable,
            )
        }
        (T3, TaskCommand::ReturnToDraft { reason }) => check_reason(reason),
        (T4, _) => claim_guards(command, f),
        (T5, _) => start_guards(command, f),
        (T6, _) => {
            assignee_guards(f)?;
            packet_guards(f)
        }
        (T7, _) => ensure(f.submission_policy_locked, Refusal::LockedContextInvalid),
        (T8, _) => {
            final_current_run_guards(f)?;
            ensure(f.artifact_hashes_match, Refusal::ArtifactHashMismatch)?;
            no_blocking_checker_failures(f)
        }
        (T9, _) => {
            final_current_run_guards(f)?;
            ensure(
                f.contributor_visible_failures > 0,
                Refusal::RemediationFindingsMissing,
            )
        }
        (T10, TaskCommand::RetryEvaluation { reason }) => {
            check_reason(reason)?;
            ensure(!f.lease_active, Refusal::ReviewLeaseActive)
        }
        (
            T11 | T12 | T13,
            TaskCommand::ReviewDecision {
                decision,
                reject_reason,
            },
        ) => review_guards(*decision, reject_reason.as_deref(), f),
        (T14, _) => resubmission_guards(f),
        (T15, TaskCommand::CloseRevision { reason }) => close_guards(*reason, authorized_as, f),
        (T16, TaskCommand::Cancel { reason }) => check_reason(reason),
        (T17, _) => {
            ensure(f.assignee_authority_lost, Refusal::AssigneeAuthorityIntact)?;
            ensure(!f.submission_exists, Refusal::SubmissionExists)
        }
        // `find_edge` only returns edges listed for this command, so a mismatched pair
        // cannot reach here; refusing keeps the function total without a panic.
        _ => Err(Refusal::TransitionNotAllowed {
            from: id.transition().from[0],
            command: command.kind(),
        }),
    }
}

fn claim_guards(command: &TaskCommand, f: &GuardFacts) -> Result<(), Refusal> {
    // For a self-claim the actor's own grant was checked by `authorize`; a PM
    // assigning vouches for nobody, so the target's eligibility is a fact.
    if let TaskCommand::Assign = command {
        ensure(f.assignee_eligible, Refusal::AssigneeNotEligible)?;
    }
    ensure(!f.has_active_assignment, Refusal::AssignmentExists)?;
    ensure(
        f.contributor_active_tasks < f.active_task_cap,
        Refusal::ActiveTaskCapReached {
            active: f.contributor_active_tasks,
            cap: f.active_task_cap,
        },
    )?;
    ensure(f.locks_complete, Refusal::LockedContextInvalid)?;
    ensure(f.submitter_rule_explicit, Refusal::ContributionRuleMissing)
}

fn start_guards(command: &TaskCommand, f: &GuardFacts) -> Result<(), Refusal> {
    match command {
        // The override starts someone else's assignment; it never takes ownership.
        TaskCommand::StartOverride { reason } => {
            check_reason(reason)?;
            ensure(f.has_active_assignment, Refusal::AssignmentNotActive)?;
            ensure(f.locks_complete, Refusal::LockedContextInvalid)
        }
        _ => assignee_guards(f),
    }
}

fn assignee_guards(f: &GuardFacts) -> Result<(), Refusal> {
    ensure(f.has_active_assignment, Refusal::AssignmentNotActive)?;
    ensure(f.actor_is_assignee, Refusal::NotAssignee)?;
    ensure(f.locks_complete, Refusal::LockedContextInvalid)
}

fn packet_guards(f: &GuardFacts) -> Result<(), Refusal> {
    ensure(f.admission_ready, Refusal::AdmissionNotReady)?;
    ensure(f.summary_present, Refusal::SummaryRequired)?;
    ensure(f.attestation_given, Refusal::AttestationRequired)
}

fn final_current_run_guards(f: &GuardFacts) -> Result<(), Refusal> {
    ensure(
        f.checker_run_for_submission,
        Refusal::CheckerRunWrongSubmission,
    )?;
    ensure(f.checker_run_final, Refusal::CheckerRunNotFinal)?;
    ensure(f.checker_run_current, Refusal::CheckerRunNotCurrent)
}

fn no_blocking_checker_failures(f: &GuardFacts) -> Result<(), Refusal> {
    ensure(
        f.open_blocking_checker_failures == 0,
        Refusal::BlockingCheckerFailuresOpen {
            count: f.open_blocking_checker_failures,
        },
    )
}

fn review_guards(
    decision: ReviewDecision,
    reject_reason: Option<&str>,
    f: &GuardFacts,
) -> Result<(), Refusal> {
    // Who the reviewer is comes before which lease they hold: a self-review is refused
    // even with a valid lease.
    ensure(!f.actor_is_submitter_of_chain, Refusal::SelfReviewForbidden)?;
    ensure(f.lease_active, Refusal::LeaseNotActive)?;
    ensure(f.lease_held_by_actor, Refusal::LeaseNotHeld)?;
    ensure(f.admitting_run_current, Refusal::AdmittingRunNotCurrent)?;
    ensure(
        f.incomplete_blocking_findings == 0,
        Refusal::FindingIncomplete {
            count: f.incomplete_blocking_findings,
        },
    )?;
    ensure(
        f.findings_missing_evidence == 0,
        Refusal::FindingEvidenceRequired {
            count: f.findings_missing_evidence,
        },
    )?;

    let resolutions_complete = ensure(
        f.prior_findings_without_resolution == 0,
        Refusal::FindingResolutionsIncomplete {
            missing: f.prior_findings_without_resolution,
        },
    );
    let open_after = f
        .prior_blocking_findings_left_open
        .saturating_add(f.new_blocking_findings);
    match decision {
        ReviewDecision::Accept => {
            no_blocking_checker_failures(f)?;
            resolutions_complete?;
            ensure(
                open_after == 0,
                Refusal::BlockingFindingsOpen { count: open_after },
            )?;
            ensure(f.acceptance_evidence_cited, Refusal::EvidenceRequired)?;
            ensure(!f.acceptance_hold, Refusal::AcceptanceOnHold)
        }
        ReviewDecision::NeedsRevision => {
            resolutions_complete?;
            ensure(open_after >= 1, Refusal::BlockingFindingRequired)?;
            ensure(
                open_after <= MAX_OPEN_BLOCKING_FINDINGS,
                Refusal::BlockingFindingsLimitExceeded {
                    count: open_after,
                    max: MAX_OPEN_BLOCKING_FINDINGS,
                },
            )
        }
        // A reject closes the task, so prior findings need no resolution here; the
        // bounded reason is what makes it accountable.
        ReviewDecision::Reject => check_reason(reject_reason.unwrap_or("")),
    }
}

fn resubmission_guards(f: &GuardFacts) -> Result<(), Refusal> {
    assignee_guards(f)?;
    match f.revision_origin {
        RevisionOrigin::HumanReview => {
            ensure(!f.preparation_blocked, Refusal::RevisionContextBlocked)?;
            ensure(f.preparation_head_echoed, Refusal::RevisionContextStale)?;
            ensure(
                f.revision_rounds_used < f.revision_round_limit,
                Refusal::RevisionLimitReached {
                    used: f.revision_rounds_used,
                    limit: f.revision_round_limit,
                },
            )?;
            ensure(
                !f.revision_deadline_passed,
                Refusal::RevisionDeadlineExpired,
            )?;
            ensure(f.predecessor_is_latest, Refusal::PredecessorNotLatest)?;
            ensure(
                f.unanswered_blocking_findings == 0,
                Refusal::FindingResponsesIncomplete {
                    missing: f.unanswered_blocking_findings,
                },
            )?;
        }
        // A checker remediation uses no human round and has no deadline (R23).
        RevisionOrigin::CheckerRemediation => {
            ensure(f.remediation_run_bound, Refusal::RemediationRunMismatch)?;
            ensure(f.predecessor_is_latest, Refusal::PredecessorNotLatest)?;
        }
    }
    packet_guards(f)
}

fn close_guards(
    reason: RevisionCloseReason,
    authorized_as: Actor,
    f: &GuardFacts,
) -> Result<(), Refusal> {
    let unmet = Refusal::CloseConditionUnmet { reason };
    match reason {
        RevisionCloseReason::LegacyRevisionContextUnrecoverable => {
            debug_assert_eq!(authorized_as, Actor::Operator);
            ensure(f.legacy_without_review_root, unmet)
        }
        RevisionCloseReason::RevisionLimitReached => {
            ensure(
                f.revision_origin == RevisionOrigin::HumanReview,
                Refusal::RemediationCloseForbidden,
            )?;
            ensure(f.revision_rounds_used >= f.revision_round_limit, unmet)
        }
        RevisionCloseReason::RevisionDeadlineExpired => {
            ensure(
                f.revision_origin == RevisionOrigin::HumanReview,
                Refusal::RemediationCloseForbidden,
            )?;
            ensure(f.revision_deadline_passed, unmet)
        }
    }
}
