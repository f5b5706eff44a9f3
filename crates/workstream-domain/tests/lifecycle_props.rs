//! Properties of `decide` over arbitrary states, commands, actors and facts.
//!
//! (a) a terminal task never moves; (b) every decision is an edge of the table, taken
//! by an actor the table allows; (c) along any run from `draft`, `accepted` is entered
//! only straight from `review_pending`.

use std::cell::Cell;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use workstream_domain::lifecycle::{
    Actor, ActorContext, CommandKind, GuardFacts, ReviewDecision, RevisionCloseReason,
    RevisionOrigin, TaskCommand, TaskState, TransitionId, allowed_commands, decide, edge,
};
use workstream_domain::machines::checker_run::RoutingRecommendation;

mod common;
use common::passing;

fn reason() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("a reason".to_string()),
        1 => Just(String::new()),
        1 => Just("  ".to_string()),
        1 => Just("x".repeat(2001)),
        1 => "[a-z \\x00]{0,12}",
    ]
}

/// Builds a command of `kind`, taking any payload from the other arguments.
fn command_of_kind(
    kind: CommandKind,
    reason: String,
    routing: RoutingRecommendation,
    decision: ReviewDecision,
    close: RevisionCloseReason,
) -> TaskCommand {
    match kind {
        CommandKind::Screen => TaskCommand::Screen,
        CommandKind::Release => TaskCommand::Release { reason },
        CommandKind::ReturnToDraft => TaskCommand::ReturnToDraft { reason },
        CommandKind::Claim => TaskCommand::Claim,
        CommandKind::Assign => TaskCommand::Assign,
        CommandKind::Start => TaskCommand::Start,
        CommandKind::StartOverride => TaskCommand::StartOverride { reason },
        CommandKind::Submit => TaskCommand::Submit,
        CommandKind::QueueEvaluation => TaskCommand::QueueEvaluation,
        CommandKind::RecordEvaluation => TaskCommand::RecordEvaluation { routing },
        CommandKind::RetryEvaluation => TaskCommand::RetryEvaluation { reason },
        CommandKind::ReviewDecision => TaskCommand::ReviewDecision {
            decision,
            reject_reason: Some(reason),
        },
        CommandKind::CloseRevision => TaskCommand::CloseRevision { reason: close },
        CommandKind::Cancel => TaskCommand::Cancel { reason },
        CommandKind::InvalidateAssignment => TaskCommand::InvalidateAssignment,
    }
}

/// The payload pieces a command might need.
type Payload = (
    String,
    RoutingRecommendation,
    ReviewDecision,
    RevisionCloseReason,
);

fn payload() -> impl Strategy<Value = Payload> {
    (
        reason(),
        select(RoutingRecommendation::ALL),
        select(ReviewDecision::ALL),
        select(RevisionCloseReason::ALL),
    )
}

fn command() -> impl Strategy<Value = TaskCommand> {
    (select(CommandKind::ALL), payload())
        .prop_map(|(kind, (r, routing, d, c))| command_of_kind(kind, r, routing, d, c))
}

fn actor() -> impl Strategy<Value = ActorContext> {
    any::<[bool; 6]>().prop_map(|b| ActorContext {
        is_system: b[0],
        is_active_human: b[1],
        project_manager: b[2],
        operator: b[3],
        submitter: b[4],
        reviewer: b[5],
    })
}

fn count() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..4, 1 => 95u32..110, 1 => Just(u32::MAX)]
}

fn facts() -> impl Strategy<Value = GuardFacts> {
    (
        any::<[bool; 32]>(),
        vec(count(), 13),
        select(RevisionOrigin::ALL),
    )
        .prop_map(|(b, n, origin)| GuardFacts {
            project_active: b[0],
            task_fields_missing: if b[1] { Vec::new() } else { vec!["title"] },
            has_active_guide: b[2],
            open_readiness_findings: n[0],
            locks_complete: b[3],
            locked_guide_active: b[4],
            contribution_policy_ready: b[5],
            has_active_assignment: b[6],
            actor_is_assignee: b[7],
            assignee_eligible: b[8],
            contributor_active_tasks: n[1],
            active_task_cap: n[2],
            submitter_rule_explicit: b[9],
            assignee_authority_lost: b[10],
            submission_exists: b[11],
            admission_ready: b[12],
            summary_present: b[13],
            attestation_given: b[14],
            submission_policy_locked: b[15],
            checker_run_for_submission: b[16],
            checker_run_final: b[17],
            checker_run_current: b[18],
            artifact_hashes_match: b[19],
            open_blocking_checker_failures: n[3],
            contributor_visible_failures: n[4],
            lease_active: b[20],
            lease_held_by_actor: b[21],
            actor_is_submitter_of_chain: b[22],
            admitting_run_current: b[23],
            acceptance_evidence_cited: b[24],
            acceptance_hold: b[25],
            prior_findings_without_resolution: n[5],
            prior_blocking_findings_left_open: n[6],
            new_blocking_findings: n[7],
            incomplete_blocking_findings: n[8],
            findings_missing_evidence: n[9],
            revision_origin: origin,
            preparation_blocked: b[26],
            preparation_head_echoed: b[27],
            unanswered_blocking_findings: n[10],
            revision_rounds_used: n[11],
            revision_round_limit: n[12],
            revision_deadline_passed: b[28],
            predecessor_is_latest: b[29],
            remediation_run_bound: b[30],
            legacy_without_review_root: b[31],
        })
}

/// The edge `command` would take from `state`, if the table has one.
fn edge_for(state: TaskState, command: &TaskCommand) -> Option<TransitionId> {
    command
        .transitions()
        .iter()
        .copied()
        .find(|t| t.transition().leaves(state))
}

/// Facts and actor under which `command` should pass in `state`, so that generated
/// runs actually move instead of being refused at every step.
fn permissive(state: TaskState, command: &TaskCommand) -> (ActorContext, GuardFacts) {
    let facts = edge_for(state, command).map(passing).unwrap_or_default();
    let mut facts = facts;
    if let TaskCommand::Assign = command {
        facts.assignee_eligible = true;
    }
    (
        ActorContext::acting_as(command.permitted_actors()[0]),
        facts,
    )
}

/// `cases` cases, and no failure-persistence files written next to the sources.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Permissive facts really do pass: for every edge and every command that takes it,
/// with a valid payload, the guards and `passing` agree. (Exhaustive, not sampled.)
#[test]
fn permissive_facts_pass_every_listed_edge() {
    let mut checked = 0;
    for &kind in CommandKind::ALL {
        for &routing in RoutingRecommendation::ALL {
            for &decision in ReviewDecision::ALL {
                for &close in RevisionCloseReason::ALL {
                    let cmd = command_of_kind(kind, "a reason".into(), routing, decision, close);
                    for &state in TaskState::ALL {
                        if edge_for(state, &cmd).is_none() {
                            continue;
                        }
                        let (actor, facts) = permissive(state, &cmd);
                        let d = decide(state, &cmd, &actor, &facts);
                        assert!(d.is_ok(), "{cmd:?} from {state} refused: {d:?}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 100);
}

proptest! {
    #![proptest_config(config(2000))]

    /// (a) No command from a terminal state ever yields a decision.
    #[test]
    fn terminal_states_never_move(
        state in select(&[TaskState::Accepted, TaskState::Rejected, TaskState::Cancelled][..]),
        command in command(),
        actor in actor(),
        facts in facts(),
        use_permissive in any::<bool>(),
    ) {
        let (actor, facts) = if use_permissive { permissive(state, &command) } else { (actor, facts) };
        let refusal = decide(state, &command, &actor, &facts).unwrap_err();
        prop_assert_eq!(refusal.code(), "transition_not_allowed");
    }

    /// (b) Every decision is a listed edge, from the given state, by an allowed actor.
    #[test]
    fn decisions_are_table_edges(
        state in select(TaskState::ALL),
        command in command(),
        actor in actor(),
        facts in facts(),
        use_permissive in any::<bool>(),
    ) {
        let (actor, facts) = if use_permissive { permissive(state, &command) } else { (actor, facts) };
        if let Ok(d) = decide(state, &command, &actor, &facts) {
            let listed = edge(d.from, d.to).expect("decision is not a listed edge");
            prop_assert_eq!(listed.id, d.transition);
            prop_assert_eq!(d.from, state);
            prop_assert!(listed.triggered_by.contains(&d.authorized_as));
            prop_assert!(command.permitted_actors().contains(&d.authorized_as));
            prop_assert!(actor.qualifies_as(d.authorized_as));
            prop_assert!(allowed_commands(state).contains(&command.kind()));
        }
    }
}

/// One step of a generated run: either an arbitrary command, or one steered to a kind
/// the current state allows; either arbitrary or permissive facts.
type Step = (
    TaskCommand,
    usize,
    Payload,
    bool,
    bool,
    ActorContext,
    GuardFacts,
);

fn step() -> impl Strategy<Value = Step> {
    let often = || proptest::bool::weighted(0.8);
    (
        command(),
        any::<usize>(),
        payload(),
        often(),
        often(),
        actor(),
        facts(),
    )
}

/// (c) Along any run from draft, `accepted` is entered only from `review_pending`,
/// and only through T11.
#[test]
fn accepted_is_entered_only_from_review_pending() {
    let mut runner = TestRunner::new(config(3000));
    let runs_reaching_accepted = Cell::new(0u32);
    runner
        .run(&vec(step(), 1..80), |steps| {
            let mut state = TaskState::Draft;
            for (random_cmd, pick, (r, routing, d, c), steer, lenient, actor, facts) in steps {
                let command = if steer && !allowed_commands(state).is_empty() {
                    let kinds = allowed_commands(state);
                    command_of_kind(kinds[pick % kinds.len()], r, routing, d, c)
                } else {
                    random_cmd
                };
                let (actor, facts) = if lenient {
                    permissive(state, &command)
                } else {
                    (actor, facts)
                };
                if let Ok(decision) = decide(state, &command, &actor, &facts) {
                    prop_assert_eq!(decision.from, state);
                    if decision.to == TaskState::Accepted {
                        prop_assert_eq!(state, TaskState::ReviewPending);
                        prop_assert_eq!(decision.transition, TransitionId::T11);
                        prop_assert_eq!(decision.authorized_as, Actor::Reviewer);
                        runs_reaching_accepted.set(runs_reaching_accepted.get() + 1);
                    }
                    state = decision.to;
                }
            }
            Ok(())
        })
        .unwrap();
    // Guard against a vacuous pass: the generator must actually reach acceptance
    // (about 1% of runs do, so 3000 runs missing it entirely is ~e^-30).
    assert!(
        runs_reaching_accepted.get() > 0,
        "only {} generated runs reached accepted",
        runs_reaching_accepted.get()
    );
}
