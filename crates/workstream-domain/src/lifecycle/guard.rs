//! The inputs a guard judges: who is asking, and what the store found.
//!
//! The domain does no I/O, so the engine reads grants, leases, runs and counts inside
//! its transaction (after taking its row locks) and hands them over as plain values.
//! Every "good" boolean defaults to `false` and every limit to `0`, so a fact the
//! engine forgets to fill refuses the command instead of waving it through.

use super::transition::Actor;
use crate::token::token_enum;

/// The requesting actor's authority over the task's project, as local grants say
/// (tokens never grant anything). Relations to this particular task (being the
/// assignee, holding the lease) are facts, in [`GuardFacts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActorContext {
    /// The engine itself is acting (checker routing, evaluation queueing,
    /// assignment invalidation). Never set for a request from outside.
    pub is_system: bool,
    /// A human whose profile is active and whose identity link is active (R47).
    /// Every human role below counts only when this holds.
    pub is_active_human: bool,
    /// Holds a Project Manager grant that covers the task's project.
    pub project_manager: bool,
    /// Holds the system Operator grant.
    pub operator: bool,
    /// Holds an active submitter grant on exactly this project.
    pub submitter: bool,
    /// Holds an active reviewer grant on exactly this project.
    pub reviewer: bool,
}

impl ActorContext {
    /// The engine acting on its own.
    pub const fn system() -> Self {
        ActorContext {
            is_system: true,
            is_active_human: false,
            project_manager: false,
            operator: false,
            submitter: false,
            reviewer: false,
        }
    }

    /// The smallest context that qualifies as `actor`: the engine for
    /// [`Actor::System`], otherwise an active human holding that one role.
    pub const fn acting_as(actor: Actor) -> Self {
        if let Actor::System = actor {
            return ActorContext::system();
        }
        ActorContext {
            is_system: false,
            is_active_human: true,
            project_manager: matches!(actor, Actor::ProjectManager),
            operator: matches!(actor, Actor::Operator),
            submitter: matches!(actor, Actor::Submitter),
            reviewer: matches!(actor, Actor::Reviewer),
        }
    }

    /// Whether this actor may act as `actor`. Administrative grants never imply a
    /// contributor role (R46): each role is checked on its own flag.
    pub const fn qualifies_as(&self, actor: Actor) -> bool {
        match actor {
            Actor::System => self.is_system,
            Actor::ProjectManager => self.is_active_human && self.project_manager,
            Actor::Operator => self.is_active_human && self.operator,
            Actor::Submitter => self.is_active_human && self.submitter,
            Actor::Reviewer => self.is_active_human && self.reviewer,
        }
    }
}

token_enum! {
    /// How the current `needs_revision` episode began; it decides which T14 and T15
    /// guards apply. Defaults to the stricter `human_review`, so a forgotten fact
    /// demands the human-revision obligations.
    #[derive(Default)]
    pub enum RevisionOrigin as "revision_origin" {
        /// A reviewer's `needs_revision` decision (T12): findings must be answered,
        /// rounds and the deadline count, the preparation head must be echoed.
        #[default]
        HumanReview => "human_review",
        /// A checker run's `needs_revision` routing (T9): the resubmission binds that
        /// run; no responses, no round used, and no PM close.
        CheckerRemediation => "checker_remediation",
    }
}

/// What the store found about the task, its assignment, submission, checker run,
/// lease and revision episode. Each field names the transitions whose guard reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardFacts {
    // --- project, guide and task content ---
    /// T1: the project exists and is `active`.
    pub project_active: bool,
    /// T1: the task's required fields that are empty (title, description, acceptance
    /// and rejection criteria, source type), by name; none when it may be screened.
    /// (The required output is the guide's artifact policy, stamped with the lock.)
    pub task_fields_missing: Vec<&'static str>,
    /// T1: the project has an active guide (whose policy bundle passed activation).
    pub has_active_guide: bool,

    // --- screening and locked context ---
    /// T2: open critical/high readiness findings.
    pub open_readiness_findings: u32,
    /// T2, T4, T5, T6, T14: every `locked_*` stamp is present and valid (review and
    /// revision policies complete, post-submit provenance matching).
    pub locks_complete: bool,
    /// T2: the guide the task is locked to is still the active one.
    pub locked_guide_active: bool,
    /// T2: the guide-bound contribution policy version is published, complete and has
    /// valid adapter bindings.
    pub contribution_policy_ready: bool,

    // --- assignment ---
    /// T4, T5, T6, T14: the task has an active assignment.
    pub has_active_assignment: bool,
    /// T5, T6, T14: the actor is the contributor on that active assignment (for T14,
    /// the target assignment of the current revision preparation).
    pub actor_is_assignee: bool,
    /// T4 by assign: the contributor being assigned holds an active exact-project
    /// submitter grant and is an active human.
    pub assignee_eligible: bool,
    /// T4: active tasks the claiming (or assigned) contributor already holds.
    pub contributor_active_tasks: u32,
    /// T4: the contributor active-task cap (pilot default 2).
    pub active_task_cap: u32,
    /// T4: the locked policy version has an explicit `accepted_submission` rule
    /// (compensated or unpaid).
    pub submitter_rule_explicit: bool,
    /// T17: the assignee's submitter grant was revoked, or their profile suspended or
    /// deactivated, or their identity link revoked.
    pub assignee_authority_lost: bool,
    /// T17: any Submission exists for the task.
    pub submission_exists: bool,

    // --- submission ---
    /// T6, T14: a `ready` admission for this task backs the packet.
    pub admission_ready: bool,
    /// T6, T14: the submission summary is present.
    pub summary_present: bool,
    /// T6, T14: the contributor attestation is given (R19).
    pub attestation_given: bool,
    /// T7: the new Submission is immutable and carries the locked post-submit policy
    /// id, version, hash and body.
    pub submission_policy_locked: bool,

    // --- checker run being applied (T8, T9) ---
    /// The run belongs to the exact current Submission version.
    pub checker_run_for_submission: bool,
    /// The run is final (`completed` or `failed`).
    pub checker_run_final: bool,
    /// The run is the current attempt for its Submission.
    pub checker_run_current: bool,
    /// T8: the run's artifact hashes match the Submission's.
    pub artifact_hashes_match: bool,
    /// T8, T11: open blocking checker failures (critical/high or policy-blocking).
    pub open_blocking_checker_failures: u32,
    /// T9: contributor-visible failures with severity, message and fix.
    pub contributor_visible_failures: u32,

    // --- review (T10–T13) ---
    /// T10–T13: the queue entry has an active, unexpired lease.
    pub lease_active: bool,
    /// T11–T13: that lease is the actor's and names the exact Submission under review.
    pub lease_held_by_actor: bool,
    /// T11–T13: the actor submitted a Submission in this task's chain (R25).
    pub actor_is_submitter_of_chain: bool,
    /// T11–T13: the entry's admitting run is still the current `allow_review` run for
    /// this exact Submission (R30).
    pub admitting_run_current: bool,
    /// T11: the decision cites acceptance evidence (R28).
    pub acceptance_evidence_cited: bool,
    /// T11: disputed evidence, suspected copying or a compensation conflict is open.
    pub acceptance_hold: bool,
    /// T11, T12: required prior blocking findings this Review gives no resolution.
    pub prior_findings_without_resolution: u32,
    /// T11, T12: prior blocking findings this Review resolves as `unresolved`.
    pub prior_blocking_findings_left_open: u32,
    /// T11, T12: new blocking findings this Review raises.
    pub new_blocking_findings: u32,
    /// T11–T13: blocking findings in this Review missing an issue, the reason it blocks
    /// or a required fix.
    pub incomplete_blocking_findings: u32,
    /// T11–T13: findings missing evidence that the review policy's
    /// `finding_evidence_requirement` demands.
    pub findings_missing_evidence: u32,

    // --- revision episode (T14, T15) ---
    /// T14, T15: how the current `needs_revision` episode began.
    pub revision_origin: RevisionOrigin,
    /// T14 (human): the current preparation head's outcome is `blocked`.
    pub preparation_blocked: bool,
    /// T14 (human): the request echoes the current head's id and digest.
    pub preparation_head_echoed: bool,
    /// T14 (human): unresolved blocking findings with no response in this request (R32).
    pub unanswered_blocking_findings: u32,
    /// T14, T15: human revision rounds already used, i.e. revised Submissions already
    /// made in answer to `needs_revision` Reviews in this episode.
    pub revision_rounds_used: u32,
    /// T14, T15: the locked revision policy's `max_revision_rounds`.
    pub revision_round_limit: u32,
    /// T14, T15: database time is past the revision deadline.
    pub revision_deadline_passed: bool,
    /// T14: the new Submission's predecessor is the task's latest Submission.
    pub predecessor_is_latest: bool,
    /// T14 (checker): the request binds the exact final `needs_revision` run.
    pub remediation_run_bound: bool,
    /// T15 (Operator): a legacy task with no recoverable Review root.
    pub legacy_without_review_root: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_need_an_active_human_and_their_own_flag() {
        let mut pm = ActorContext::acting_as(Actor::ProjectManager);
        assert!(pm.qualifies_as(Actor::ProjectManager));
        assert!(!pm.qualifies_as(Actor::Submitter));
        assert!(!pm.qualifies_as(Actor::Reviewer));
        assert!(!pm.qualifies_as(Actor::System));
        pm.is_active_human = false;
        assert!(!pm.qualifies_as(Actor::ProjectManager));

        let system = ActorContext::system();
        for &a in Actor::ALL {
            assert_eq!(system.qualifies_as(a), a == Actor::System);
        }
    }

    #[test]
    fn defaults_fail_closed() {
        let f = GuardFacts::default();
        assert!(!f.locks_complete && !f.admission_ready && !f.lease_held_by_actor);
        assert_eq!(f.active_task_cap, 0);
        assert_eq!(f.revision_round_limit, 0);
        assert_eq!(f.revision_origin, RevisionOrigin::HumanReview);
    }
}
