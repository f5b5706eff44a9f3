//! T1–T10, T16, T17: each transition's happy path and main refusals, asserted by exact
//! state and code. (Review decisions and revisions are in `lifecycle_decisions.rs`.)

use workstream_domain::lifecycle::{
    Actor, ActorContext, CommandKind, GuardFacts, Refusal, TaskCommand, TaskState, TransitionId,
    decide,
};
use workstream_domain::machines::checker_run::RoutingRecommendation;

mod common;
use common::{as_actor, assert_moves, passing, reason, refusal_code};

use TaskState::*;

// --- T1..T3: screening -----------------------------------------------------------

#[test]
fn t1_screen() {
    let f = passing(TransitionId::T1);
    assert_moves(
        Draft,
        &TaskCommand::Screen,
        Actor::ProjectManager,
        &f,
        TransitionId::T1,
        Screening,
    );

    let code = |g: fn(&mut GuardFacts)| {
        let mut f = passing(TransitionId::T1);
        g(&mut f);
        refusal_code(Draft, &TaskCommand::Screen, Actor::ProjectManager, &f)
    };
    assert_eq!(code(|f| f.project_active = false), "project_not_active");
    assert_eq!(
        code(|f| f.task_fields_missing = vec!["description"]),
        "task_fields_incomplete"
    );
    assert_eq!(code(|f| f.has_active_guide = false), "active_guide_missing");
    // A project whose first guide was never activated is not active either: the
    // missing guide is what is named.
    assert_eq!(
        code(|f| {
            f.has_active_guide = false;
            f.project_active = false;
        }),
        "active_guide_missing"
    );
    assert_eq!(
        refusal_code(Draft, &TaskCommand::Screen, Actor::Submitter, &f),
        "permission_not_granted"
    );
    assert_eq!(
        refusal_code(Draft, &TaskCommand::Screen, Actor::Operator, &f),
        "permission_not_granted"
    );
}

#[test]
fn t2_release() {
    let ok = TaskCommand::Release {
        reason: reason("checklist passed"),
    };
    let f = passing(TransitionId::T2);
    assert_moves(
        Screening,
        &ok,
        Actor::ProjectManager,
        &f,
        TransitionId::T2,
        Ready,
    );

    let blank = TaskCommand::Release {
        reason: reason("   "),
    };
    assert_eq!(
        refusal_code(Screening, &blank, Actor::ProjectManager, &f),
        "reason_required"
    );
    let code = |g: fn(&mut GuardFacts)| {
        let mut f = passing(TransitionId::T2);
        g(&mut f);
        refusal_code(Screening, &ok, Actor::ProjectManager, &f)
    };
    assert_eq!(
        code(|f| f.open_readiness_findings = 1),
        "readiness_findings_open"
    );
    assert_eq!(code(|f| f.locks_complete = false), "locked_context_invalid");
    assert_eq!(
        code(|f| f.locked_guide_active = false),
        "locked_guide_not_active"
    );
    assert_eq!(
        code(|f| f.contribution_policy_ready = false),
        "contribution_policy_unavailable"
    );
    // Release from draft skips screening: no such edge (AS09's 403 from draft).
    assert_eq!(
        refusal_code(Draft, &ok, Actor::ProjectManager, &f),
        "transition_not_allowed"
    );
}

#[test]
fn t3_return_to_draft() {
    let f = GuardFacts::default();
    let ok = TaskCommand::ReturnToDraft {
        reason: reason("criteria vague"),
    };
    assert_moves(
        Screening,
        &ok,
        Actor::ProjectManager,
        &f,
        TransitionId::T3,
        Draft,
    );
    let blank = TaskCommand::ReturnToDraft {
        reason: String::new(),
    };
    assert_eq!(
        refusal_code(Screening, &blank, Actor::ProjectManager, &f),
        "reason_required"
    );
}

// --- T4..T6: claim, start, submit ------------------------------------------------

#[test]
fn t4_claim_and_assign() {
    let f = passing(TransitionId::T4);
    assert_moves(
        Ready,
        &TaskCommand::Claim,
        Actor::Submitter,
        &f,
        TransitionId::T4,
        Claimed,
    );
    assert_moves(
        Ready,
        &TaskCommand::Assign,
        Actor::ProjectManager,
        &f,
        TransitionId::T4,
        Claimed,
    );

    // AS12: a reviewer-only, PM-only or operator actor cannot claim.
    for a in [
        Actor::Reviewer,
        Actor::ProjectManager,
        Actor::Operator,
        Actor::System,
    ] {
        assert_eq!(
            refusal_code(Ready, &TaskCommand::Claim, a, &f),
            "permission_not_granted",
            "{a}"
        );
    }
    // A submitter cannot assign.
    assert_eq!(
        refusal_code(Ready, &TaskCommand::Assign, Actor::Submitter, &f),
        "permission_not_granted"
    );

    let code = |cmd: &TaskCommand, actor, g: fn(&mut GuardFacts)| {
        let mut f = passing(TransitionId::T4);
        g(&mut f);
        refusal_code(Ready, cmd, actor, &f)
    };
    let claim = TaskCommand::Claim;
    assert_eq!(
        code(&claim, Actor::Submitter, |f| f.has_active_assignment = true),
        "assignment_exists"
    );
    assert_eq!(
        code(&claim, Actor::Submitter, |f| f.contributor_active_tasks = 2),
        "active_task_cap_reached"
    );
    assert_eq!(
        code(&claim, Actor::Submitter, |f| f.locks_complete = false),
        "locked_context_invalid"
    );
    assert_eq!(
        code(&claim, Actor::Submitter, |f| f.submitter_rule_explicit =
            false),
        "contribution_rule_missing"
    );
    // The target's eligibility matters only when a PM assigns.
    assert_eq!(
        code(&TaskCommand::Assign, Actor::ProjectManager, |f| f
            .assignee_eligible =
            false),
        "assignee_not_eligible"
    );
    assert!(
        decide(
            Ready,
            &claim,
            &as_actor(Actor::Submitter),
            &GuardFacts {
                assignee_eligible: false,
                ..passing(TransitionId::T4)
            }
        )
        .is_ok()
    );
    // AS10-ish: claiming a draft task has no edge.
    assert_eq!(
        refusal_code(Draft, &claim, Actor::Submitter, &f),
        "transition_not_allowed"
    );
}

#[test]
fn inactive_humans_have_no_role() {
    let f = passing(TransitionId::T4);
    let mut suspended = as_actor(Actor::Submitter);
    suspended.is_active_human = false;
    let r = decide(Ready, &TaskCommand::Claim, &suspended, &f).unwrap_err();
    assert_eq!(
        r,
        Refusal::ActorNotPermitted {
            command: CommandKind::Claim
        }
    );
    assert_eq!(r.code().status(), 403);
}

#[test]
fn t5_start_and_override() {
    let f = passing(TransitionId::T5);
    assert_moves(
        Claimed,
        &TaskCommand::Start,
        Actor::Submitter,
        &f,
        TransitionId::T5,
        InProgress,
    );
    let over = TaskCommand::StartOverride {
        reason: reason("assignee asked by phone"),
    };
    let d = assert_moves(
        Claimed,
        &over,
        Actor::Operator,
        &f,
        TransitionId::T5,
        InProgress,
    );
    assert_eq!(d.authorized_as, Actor::Operator);

    // AS13: a different submitter cannot start.
    let mut other = passing(TransitionId::T5);
    other.actor_is_assignee = false;
    assert_eq!(
        refusal_code(Claimed, &TaskCommand::Start, Actor::Submitter, &other),
        "not_assignee"
    );
    // The override does not need the operator to be the assignee, but needs a reason.
    assert!(decide(Claimed, &over, &as_actor(Actor::Operator), &other).is_ok());
    let blank = TaskCommand::StartOverride { reason: reason("") };
    assert_eq!(
        refusal_code(Claimed, &blank, Actor::Operator, &f),
        "reason_required"
    );
    // A PM may not start, not even by override.
    assert_eq!(
        refusal_code(Claimed, &TaskCommand::Start, Actor::ProjectManager, &f),
        "permission_not_granted"
    );
    assert_eq!(
        refusal_code(Claimed, &over, Actor::ProjectManager, &f),
        "permission_not_granted"
    );
    let mut none = passing(TransitionId::T5);
    none.has_active_assignment = false;
    assert_eq!(
        refusal_code(Claimed, &over, Actor::Operator, &none),
        "assignment_not_active"
    );
}

#[test]
fn t6_first_submission_and_t7_in_the_same_commit() {
    let f = passing(TransitionId::T6);
    let d = assert_moves(
        InProgress,
        &TaskCommand::Submit,
        Actor::Submitter,
        &f,
        TransitionId::T6,
        Submitted,
    );
    assert_eq!(d.same_commit_follow_up(), Some(TransitionId::T7));

    let f7 = passing(TransitionId::T7);
    let sys = ActorContext::system();
    let d7 = decide(Submitted, &TaskCommand::QueueEvaluation, &sys, &f7).unwrap();
    assert_eq!(
        (d7.transition, d7.to),
        (TransitionId::T7, EvaluationPending)
    );
    assert_eq!(
        decide(
            Submitted,
            &TaskCommand::QueueEvaluation,
            &sys,
            &GuardFacts::default()
        )
        .unwrap_err()
        .code(),
        "locked_context_invalid"
    );

    let code = |g: fn(&mut GuardFacts)| {
        let mut f = passing(TransitionId::T6);
        g(&mut f);
        refusal_code(InProgress, &TaskCommand::Submit, Actor::Submitter, &f)
    };
    assert_eq!(code(|f| f.actor_is_assignee = false), "not_assignee");
    assert_eq!(code(|f| f.admission_ready = false), "admission_not_ready");
    assert_eq!(code(|f| f.summary_present = false), "summary_required");
    assert_eq!(
        code(|f| f.attestation_given = false),
        "attestation_required"
    );
    assert_eq!(code(|f| f.locks_complete = false), "locked_context_invalid");
    // A PM submits nothing.
    assert_eq!(
        refusal_code(InProgress, &TaskCommand::Submit, Actor::ProjectManager, &f),
        "permission_not_granted"
    );
}

// --- T8..T10: checker routing -----------------------------------------------------

#[test]
fn t8_admission_to_review() {
    let sys = ActorContext::system();
    let cmd = RoutingRecommendation::AllowReview;
    let cmd = TaskCommand::RecordEvaluation { routing: cmd };
    let d = decide(EvaluationPending, &cmd, &sys, &passing(TransitionId::T8)).unwrap();
    assert_eq!((d.transition, d.to), (TransitionId::T8, ReviewPending));

    let code = |g: fn(&mut GuardFacts)| {
        let mut f = passing(TransitionId::T8);
        g(&mut f);
        decide(EvaluationPending, &cmd, &sys, &f)
            .unwrap_err()
            .code()
    };
    // AS19: a run for another submission version never admits.
    assert_eq!(
        code(|f| f.checker_run_for_submission = false),
        "checker_run_wrong_submission"
    );
    assert_eq!(
        code(|f| f.checker_run_final = false),
        "checker_run_not_final"
    );
    assert_eq!(
        code(|f| f.checker_run_current = false),
        "checker_run_not_current"
    );
    assert_eq!(
        code(|f| f.artifact_hashes_match = false),
        "artifact_hash_mismatch"
    );
    // AS20: a failed/high result never reaches review.
    assert_eq!(
        code(|f| f.open_blocking_checker_failures = 1),
        "blocking_checker_failures_open"
    );
    // Nobody but the system routes.
    assert_eq!(
        refusal_code(
            EvaluationPending,
            &cmd,
            Actor::Operator,
            &passing(TransitionId::T8)
        ),
        "permission_not_granted"
    );
}

#[test]
fn t9_checker_remediation() {
    let sys = ActorContext::system();
    let cmd = TaskCommand::RecordEvaluation {
        routing: RoutingRecommendation::NeedsRevision,
    };
    let d = decide(EvaluationPending, &cmd, &sys, &passing(TransitionId::T9)).unwrap();
    assert_eq!((d.transition, d.to), (TransitionId::T9, NeedsRevision));
    let mut f = passing(TransitionId::T9);
    f.contributor_visible_failures = 0;
    assert_eq!(
        decide(EvaluationPending, &cmd, &sys, &f)
            .unwrap_err()
            .code(),
        "remediation_findings_missing"
    );
}

#[test]
fn routings_that_hold_the_task_do_not_move_it() {
    let sys = ActorContext::system();
    for routing in [
        RoutingRecommendation::CheckerRetry,
        RoutingRecommendation::TaskSetupBlocked,
        RoutingRecommendation::NotEvaluated,
    ] {
        let cmd = TaskCommand::RecordEvaluation { routing };
        let r = decide(EvaluationPending, &cmd, &sys, &passing(TransitionId::T8)).unwrap_err();
        assert_eq!(r, Refusal::RoutingHoldsTask { routing });
        assert_eq!(r.code(), "routing_holds_task");
        // Elsewhere it is simply not an edge.
        assert_eq!(
            decide(ReviewPending, &cmd, &sys, &passing(TransitionId::T8))
                .unwrap_err()
                .code(),
            "transition_not_allowed"
        );
    }
}

#[test]
fn t10_re_evaluation() {
    let cmd = TaskCommand::RetryEvaluation {
        reason: reason("admission invalidated"),
    };
    let f = passing(TransitionId::T10);
    for a in [Actor::System, Actor::Operator] {
        assert_moves(
            ReviewPending,
            &cmd,
            a,
            &f,
            TransitionId::T10,
            EvaluationPending,
        );
    }
    let mut leased = f.clone();
    leased.lease_active = true;
    assert_eq!(
        refusal_code(ReviewPending, &cmd, Actor::Operator, &leased),
        "review_lease_active"
    );
    assert_eq!(
        refusal_code(ReviewPending, &cmd, Actor::ProjectManager, &f),
        "permission_not_granted"
    );
}

// --- T16, T17: cancellation and invalidation ---------------------------------------

#[test]
fn t16_cancel_before_submission_only() {
    let cmd = TaskCommand::Cancel {
        reason: reason("duplicate task"),
    };
    let f = GuardFacts::default();
    for from in [Draft, Screening, Ready, Claimed, InProgress] {
        assert_moves(
            from,
            &cmd,
            Actor::ProjectManager,
            &f,
            TransitionId::T16,
            Cancelled,
        );
    }
    for from in [
        Submitted,
        EvaluationPending,
        ReviewPending,
        NeedsRevision,
        Accepted,
        Rejected,
        Cancelled,
    ] {
        assert_eq!(
            refusal_code(from, &cmd, Actor::ProjectManager, &f),
            "transition_not_allowed",
            "{from}"
        );
    }
    let blank = TaskCommand::Cancel {
        reason: reason(" "),
    };
    assert_eq!(
        refusal_code(Ready, &blank, Actor::ProjectManager, &f),
        "reason_required"
    );
}

#[test]
fn t17_invalidate_assignment() {
    let sys = ActorContext::system();
    let f = passing(TransitionId::T17);
    for from in [Claimed, InProgress] {
        let d = decide(from, &TaskCommand::InvalidateAssignment, &sys, &f).unwrap();
        assert_eq!((d.transition, d.to), (TransitionId::T17, Ready));
    }
    let intact = GuardFacts::default();
    assert_eq!(
        decide(Claimed, &TaskCommand::InvalidateAssignment, &sys, &intact)
            .unwrap_err()
            .code(),
        "assignee_authority_intact"
    );
    let mut submitted = f.clone();
    submitted.submission_exists = true;
    assert_eq!(
        decide(
            InProgress,
            &TaskCommand::InvalidateAssignment,
            &sys,
            &submitted
        )
        .unwrap_err()
        .code(),
        "submission_exists"
    );
    assert_eq!(
        refusal_code(
            Claimed,
            &TaskCommand::InvalidateAssignment,
            Actor::ProjectManager,
            &f
        ),
        "permission_not_granted"
    );
}
