//! T11–T15 (review decisions and revisions) and properties of the table as a whole,
//! asserted by exact state and code.

use workstream_domain::lifecycle::{
    Actor, CommandKind, GuardFacts, Refusal, ReviewDecision, RevisionCloseReason, RevisionOrigin,
    TaskCommand, TaskState, TransitionId, allowed_commands, decide,
};
use workstream_domain::machines::checker_run::RoutingRecommendation;

mod common;
use common::{as_actor, assert_moves, passing, reason, refusal_code, review};

use TaskState::*;

// --- T11..T13: review decisions ---------------------------------------------------

#[test]
fn t11_accept() {
    let f = passing(TransitionId::T11);
    assert_moves(
        ReviewPending,
        &review(ReviewDecision::Accept),
        Actor::Reviewer,
        &f,
        TransitionId::T11,
        Accepted,
    );

    let code = |g: fn(&mut GuardFacts)| {
        let mut f = passing(TransitionId::T11);
        g(&mut f);
        refusal_code(
            ReviewPending,
            &review(ReviewDecision::Accept),
            Actor::Reviewer,
            &f,
        )
    };
    // AS24: no self-review, even with a lease.
    assert_eq!(
        code(|f| f.actor_is_submitter_of_chain = true),
        "self_review_forbidden"
    );
    assert_eq!(code(|f| f.lease_active = false), "lease_not_active");
    assert_eq!(code(|f| f.lease_held_by_actor = false), "lease_not_held");
    assert_eq!(
        code(|f| f.admitting_run_current = false),
        "admitting_run_not_current"
    );
    // AS29: accept must cite evidence.
    assert_eq!(
        code(|f| f.acceptance_evidence_cited = false),
        "evidence_required"
    );
    // AS36: a prior blocker without resolution, or left unresolved, blocks accept.
    assert_eq!(
        code(|f| f.prior_findings_without_resolution = 1),
        "finding_resolutions_incomplete"
    );
    assert_eq!(
        code(|f| f.prior_blocking_findings_left_open = 1),
        "blocking_findings_open"
    );
    assert_eq!(
        code(|f| f.new_blocking_findings = 1),
        "blocking_findings_open"
    );
    assert_eq!(
        code(|f| f.open_blocking_checker_failures = 1),
        "blocking_checker_failures_open"
    );
    assert_eq!(code(|f| f.acceptance_hold = true), "acceptance_on_hold");
    assert_eq!(
        code(|f| f.incomplete_blocking_findings = 1),
        "finding_incomplete"
    );
    assert_eq!(
        code(|f| f.findings_missing_evidence = 2),
        "finding_evidence_required"
    );
    // AS26: a PM without a reviewer grant cannot decide.
    assert_eq!(
        refusal_code(
            ReviewPending,
            &review(ReviewDecision::Accept),
            Actor::ProjectManager,
            &f
        ),
        "permission_not_granted"
    );
}

#[test]
fn t12_needs_revision() {
    let cmd = review(ReviewDecision::NeedsRevision);
    let f = passing(TransitionId::T12);
    assert_moves(
        ReviewPending,
        &cmd,
        Actor::Reviewer,
        &f,
        TransitionId::T12,
        NeedsRevision,
    );
    // An inherited blocker left open counts as well as a new one.
    let mut inherited = f.clone();
    inherited.new_blocking_findings = 0;
    inherited.prior_blocking_findings_left_open = 1;
    assert!(decide(ReviewPending, &cmd, &as_actor(Actor::Reviewer), &inherited).is_ok());

    let code = |g: fn(&mut GuardFacts)| {
        let mut f = passing(TransitionId::T12);
        g(&mut f);
        refusal_code(
            ReviewPending,
            &review(ReviewDecision::NeedsRevision),
            Actor::Reviewer,
            &f,
        )
    };
    // AS27: advisory-only findings are not enough.
    assert_eq!(
        code(|f| f.new_blocking_findings = 0),
        "blocking_finding_required"
    );
    assert_eq!(
        code(|f| f.new_blocking_findings = 101),
        "blocking_findings_limit_exceeded"
    );
    assert_eq!(
        code(|f| f.prior_findings_without_resolution = 1),
        "finding_resolutions_incomplete"
    );
    assert_eq!(
        code(|f| f.incomplete_blocking_findings = 1),
        "finding_incomplete"
    );
}

#[test]
fn t13_reject() {
    let f = passing(TransitionId::T13);
    let ok = TaskCommand::ReviewDecision {
        decision: ReviewDecision::Reject,
        reject_reason: Some(reason("copies the reference solution; guide §4")),
    };
    assert_moves(
        ReviewPending,
        &ok,
        Actor::Reviewer,
        &f,
        TransitionId::T13,
        Rejected,
    );
    // AS28: reject without a reason.
    assert_eq!(
        refusal_code(
            ReviewPending,
            &review(ReviewDecision::Reject),
            Actor::Reviewer,
            &f
        ),
        "reason_required"
    );
    let long = TaskCommand::ReviewDecision {
        decision: ReviewDecision::Reject,
        reject_reason: Some("x".repeat(2001)),
    };
    assert_eq!(
        refusal_code(ReviewPending, &long, Actor::Reviewer, &f),
        "reason_too_long"
    );
    let mut own = f.clone();
    own.actor_is_submitter_of_chain = true;
    assert_eq!(
        refusal_code(ReviewPending, &ok, Actor::Reviewer, &own),
        "self_review_forbidden"
    );
}

// --- T14, T15: revision ------------------------------------------------------------

#[test]
fn t14_human_revision_resubmission() {
    let f = passing(TransitionId::T14);
    let d = assert_moves(
        NeedsRevision,
        &TaskCommand::Submit,
        Actor::Submitter,
        &f,
        TransitionId::T14,
        Submitted,
    );
    assert_eq!(d.same_commit_follow_up(), Some(TransitionId::T7));

    let code = |g: fn(&mut GuardFacts)| {
        let mut f = passing(TransitionId::T14);
        g(&mut f);
        refusal_code(NeedsRevision, &TaskCommand::Submit, Actor::Submitter, &f)
    };
    assert_eq!(
        code(|f| f.preparation_blocked = true),
        "revision_context_blocked"
    );
    // AS39: echoing a stale head.
    assert_eq!(
        code(|f| f.preparation_head_echoed = false),
        "revision_context_stale"
    );
    // AS40: limit of 2 with 2 rounds used.
    assert_eq!(
        code(|f| f.revision_rounds_used = 2),
        "revision_limit_reached"
    );
    assert_eq!(
        code(|f| f.revision_deadline_passed = true),
        "revision_deadline_expired"
    );
    // AS34: a response missing for one blocker.
    assert_eq!(
        code(|f| f.unanswered_blocking_findings = 1),
        "finding_responses_incomplete"
    );
    assert_eq!(
        code(|f| f.predecessor_is_latest = false),
        "predecessor_not_latest"
    );
    assert_eq!(code(|f| f.actor_is_assignee = false), "not_assignee");
    assert_eq!(code(|f| f.admission_ready = false), "admission_not_ready");
}

#[test]
fn t14_checker_remediation_resubmission() {
    let mut f = passing(TransitionId::T14);
    f.revision_origin = RevisionOrigin::CheckerRemediation;
    f.remediation_run_bound = true;
    // No round, deadline, head or responses apply to a checker remediation.
    f.revision_rounds_used = 9;
    f.revision_deadline_passed = true;
    f.preparation_head_echoed = false;
    f.unanswered_blocking_findings = 3;
    assert_moves(
        NeedsRevision,
        &TaskCommand::Submit,
        Actor::Submitter,
        &f,
        TransitionId::T14,
        Submitted,
    );
    f.remediation_run_bound = false;
    assert_eq!(
        refusal_code(NeedsRevision, &TaskCommand::Submit, Actor::Submitter, &f),
        "remediation_run_mismatch"
    );
}

#[test]
fn t15_close_revision() {
    let limit = TaskCommand::CloseRevision {
        reason: RevisionCloseReason::RevisionLimitReached,
    };
    let deadline = TaskCommand::CloseRevision {
        reason: RevisionCloseReason::RevisionDeadlineExpired,
    };
    let legacy = TaskCommand::CloseRevision {
        reason: RevisionCloseReason::LegacyRevisionContextUnrecoverable,
    };
    let mut f = GuardFacts {
        revision_round_limit: 2,
        revision_rounds_used: 2,
        ..GuardFacts::default()
    };
    assert_moves(
        NeedsRevision,
        &limit,
        Actor::ProjectManager,
        &f,
        TransitionId::T15,
        Cancelled,
    );
    assert_eq!(
        refusal_code(NeedsRevision, &deadline, Actor::ProjectManager, &f),
        "close_condition_unmet"
    );
    f.revision_deadline_passed = true;
    assert_moves(
        NeedsRevision,
        &deadline,
        Actor::ProjectManager,
        &f,
        TransitionId::T15,
        Cancelled,
    );

    f.revision_rounds_used = 1;
    assert_eq!(
        refusal_code(NeedsRevision, &limit, Actor::ProjectManager, &f),
        "close_condition_unmet"
    );

    let mut remediation = f.clone();
    remediation.revision_origin = RevisionOrigin::CheckerRemediation;
    assert_eq!(
        refusal_code(
            NeedsRevision,
            &deadline,
            Actor::ProjectManager,
            &remediation
        ),
        "remediation_close_forbidden"
    );

    // Legacy close is the Operator's alone.
    assert_eq!(
        refusal_code(NeedsRevision, &legacy, Actor::ProjectManager, &f),
        "permission_not_granted"
    );
    assert_eq!(
        refusal_code(NeedsRevision, &limit, Actor::Operator, &f),
        "permission_not_granted"
    );
    assert_eq!(
        refusal_code(NeedsRevision, &legacy, Actor::Operator, &f),
        "close_condition_unmet"
    );
    f.legacy_without_review_root = true;
    assert_moves(
        NeedsRevision,
        &legacy,
        Actor::Operator,
        &f,
        TransitionId::T15,
        Cancelled,
    );
}

// --- the table as a whole ------------------------------------------------------------

#[test]
fn as23_submitted_cannot_be_decided_directly() {
    let f = passing(TransitionId::T11);
    for d in ReviewDecision::ALL {
        assert_eq!(
            refusal_code(Submitted, &review(*d), Actor::Reviewer, &f),
            "transition_not_allowed"
        );
    }
}

#[test]
fn as33_terminal_tasks_refuse_everything() {
    let f = passing(TransitionId::T11);
    for from in [Accepted, Rejected, Cancelled] {
        assert!(allowed_commands(from).is_empty());
        let r = decide(
            from,
            &review(ReviewDecision::Accept),
            &as_actor(Actor::Reviewer),
            &f,
        )
        .unwrap_err();
        assert_eq!(
            r,
            Refusal::TransitionNotAllowed {
                from,
                command: CommandKind::ReviewDecision
            }
        );
        assert_eq!(r.code().status(), 403);
    }
}

#[test]
fn allowed_commands_per_state() {
    use CommandKind as K;
    assert_eq!(allowed_commands(Draft), [K::Screen, K::Cancel]);
    assert_eq!(
        allowed_commands(Screening),
        [K::Release, K::ReturnToDraft, K::Cancel]
    );
    assert_eq!(allowed_commands(Ready), [K::Claim, K::Assign, K::Cancel]);
    assert_eq!(
        allowed_commands(Claimed),
        [
            K::Start,
            K::StartOverride,
            K::Cancel,
            K::InvalidateAssignment
        ]
    );
    assert_eq!(
        allowed_commands(InProgress),
        [K::Submit, K::Cancel, K::InvalidateAssignment]
    );
    assert_eq!(allowed_commands(Submitted), [K::QueueEvaluation]);
    assert_eq!(allowed_commands(EvaluationPending), [K::RecordEvaluation]);
    assert_eq!(
        allowed_commands(ReviewPending),
        [K::RetryEvaluation, K::ReviewDecision]
    );
    assert_eq!(
        allowed_commands(NeedsRevision),
        [K::Submit, K::CloseRevision]
    );
}

#[test]
fn a_whole_task_with_one_human_revision() {
    use TransitionId::*;
    let steps: Vec<(TaskCommand, Actor, GuardFacts, TaskState)> = vec![
        (
            TaskCommand::Screen,
            Actor::ProjectManager,
            passing(T1),
            Screening,
        ),
        (
            TaskCommand::Release {
                reason: reason("ok"),
            },
            Actor::ProjectManager,
            passing(T2),
            Ready,
        ),
        (TaskCommand::Claim, Actor::Submitter, passing(T4), Claimed),
        (
            TaskCommand::Start,
            Actor::Submitter,
            passing(T5),
            InProgress,
        ),
        (
            TaskCommand::Submit,
            Actor::Submitter,
            passing(T6),
            Submitted,
        ),
        (
            TaskCommand::QueueEvaluation,
            Actor::System,
            passing(T7),
            EvaluationPending,
        ),
        (
            TaskCommand::RecordEvaluation {
                routing: RoutingRecommendation::AllowReview,
            },
            Actor::System,
            passing(T8),
            ReviewPending,
        ),
        (
            review(ReviewDecision::NeedsRevision),
            Actor::Reviewer,
            passing(T12),
            NeedsRevision,
        ),
        (
            TaskCommand::Submit,
            Actor::Submitter,
            passing(T14),
            Submitted,
        ),
        (
            TaskCommand::QueueEvaluation,
            Actor::System,
            passing(T7),
            EvaluationPending,
        ),
        (
            TaskCommand::RecordEvaluation {
                routing: RoutingRecommendation::AllowReview,
            },
            Actor::System,
            passing(T8),
            ReviewPending,
        ),
        (
            review(ReviewDecision::Accept),
            Actor::Reviewer,
            passing(T11),
            Accepted,
        ),
    ];
    let mut state = Draft;
    for (cmd, actor, facts, expected) in steps {
        let d = decide(state, &cmd, &as_actor(actor), &facts)
            .unwrap_or_else(|r| panic!("{cmd:?} from {state}: {r}"));
        assert_eq!(d.to, expected);
        state = d.to;
    }
    assert!(state.is_terminal());
}
