//! Helpers shared by the lifecycle test files.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use workstream_domain::lifecycle::{
    Actor, ActorContext, Decision, GuardFacts, ReviewDecision, TaskCommand, TaskState,
    TransitionId, decide,
};

/// Facts under which every guard of `t` passes, and nothing more.
pub fn passing(t: TransitionId) -> GuardFacts {
    use TransitionId::*;
    let mut f = GuardFacts::default();
    match t {
        T1 => {
            f.project_active = true;
            f.has_active_guide = true;
        }
        T2 => {
            f.locks_complete = true;
            f.locked_guide_active = true;
            f.contribution_policy_ready = true;
        }
        T3 | T10 | T16 => {}
        T15 => {
            // Every close reason's condition holds (rounds 0 of limit 0 is "reached").
            f.revision_deadline_passed = true;
            f.legacy_without_review_root = true;
        }
        T4 => {
            f.assignee_eligible = true;
            f.active_task_cap = 2;
            f.contributor_active_tasks = 1;
            f.locks_complete = true;
            f.submitter_rule_explicit = true;
        }
        T5 | T6 | T14 => {
            f.has_active_assignment = true;
            f.actor_is_assignee = true;
            f.locks_complete = true;
            f.admission_ready = true;
            f.summary_present = true;
            f.attestation_given = true;
            f.preparation_head_echoed = true;
            f.revision_round_limit = 2;
            f.predecessor_is_latest = true;
        }
        T7 => f.submission_policy_locked = true,
        T8 | T9 => {
            f.checker_run_for_submission = true;
            f.checker_run_final = true;
            f.checker_run_current = true;
            f.artifact_hashes_match = true;
            f.contributor_visible_failures = 1;
        }
        T11 | T12 | T13 => {
            f.lease_active = true;
            f.lease_held_by_actor = true;
            f.admitting_run_current = true;
            f.acceptance_evidence_cited = true;
            if t == T12 {
                f.new_blocking_findings = 1;
            }
        }
        T17 => f.assignee_authority_lost = true,
    }
    f
}

pub fn as_actor(a: Actor) -> ActorContext {
    ActorContext::acting_as(a)
}

pub fn reason(s: &str) -> String {
    s.to_string()
}

pub fn review(decision: ReviewDecision) -> TaskCommand {
    TaskCommand::ReviewDecision {
        decision,
        reject_reason: None,
    }
}

pub fn refusal_code(
    state: TaskState,
    cmd: &TaskCommand,
    actor: Actor,
    facts: &GuardFacts,
) -> &'static str {
    decide(state, cmd, &as_actor(actor), facts)
        .expect_err("expected a refusal")
        .code()
        .as_str()
}

#[track_caller]
pub fn assert_moves(
    state: TaskState,
    cmd: &TaskCommand,
    actor: Actor,
    facts: &GuardFacts,
    id: TransitionId,
    to: TaskState,
) -> Decision {
    let d = decide(state, cmd, &as_actor(actor), facts).expect("expected a decision");
    assert_eq!(
        (d.transition, d.from, d.to, d.authorized_as),
        (id, state, to, actor)
    );
    d
}
