//! The revision episode a reviewer's `needs_revision` opens (R32-R36; docs/lifecycle.md; T14, T15).
//!
//! **Preparation (R33).** In the decision's transaction, [`prepare`] compares every
//! component of the context the prior submission was stamped with (guide id, version
//! and activation sequence, the bundle and each policy's hash, the submitter's
//! contribution policy version) with the project's active guide now. All equal: `kept`.
//! Any difference, with the active context complete and usable: `rebased`, all
//! components together, `forward` when the active guide was activated later, else
//! `backward`; the task's locks and the assignment's contribution version move to it
//! for the *next* attempt only (no earlier record changes). No active guide, a project
//! not active, a contribution policy version not published or without an explicit
//! `accepted_submission` rule, incomplete review/revision policies: the whole
//! preparation is `blocked` with a reason code, and resubmission waits for a PM
//! [`repair`], which appends exactly one successor (sequence + 1) after acknowledging
//! the current head's id and digest. The head is the row without a successor.
//!
//! **Resubmission (T14, human path).** [`resubmission_facts`] reads what the guards
//! judge: the head and whether the request echoes it (R34), the open blocking findings
//! with no response (R32), rounds used against `max_revision_rounds` (counted as
//! revised submissions already made in answer to reviews, docs/glossary.md) and the deadline
//! (`revision_deadline_hours` after the originating review, database time).
//!
//! **Close (T15).** Once the limit or the deadline is reached, a covering PM closes the
//! obligation with exactly that reason: task `cancelled`, assignment `released`, no
//! synthetic review or contribution. Nothing closes or rejects automatically (R36).

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::{
    Actor, FindingKind, FindingStatus, GuardFacts, PreparationOutcome, ReviewDecision,
    RevisionCloseReason, RevisionOrigin, TaskCommand, TaskState, decide,
};
use workstream_domain::machines::assignment::AssignmentStatus;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};
use workstream_domain::machines::project::ProjectStatus;
use workstream_domain::machines::review_queue::QueueEntryState;
use workstream_store::tasks::{self, GuideLock};

use super::packet::{PriorFinding, prior_findings};
use super::policies::guide_policies;
use crate::CommandError;
use crate::requester::Requester;
use crate::tasks::access::Access;
use crate::tasks::{TaskEvent, transition};

/// A stored preparation, as the contributor and the PM see it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Preparation {
    /// The preparation id (echoed by the resubmission).
    pub id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// The needs_revision review the chain belongs to.
    pub originating_review_id: Uuid,
    /// 1 for the root, +1 per repair.
    pub preparation_sequence: i32,
    /// The preparation it succeeds.
    pub predecessor_preparation_id: Option<Uuid>,
    /// `kept`, `rebased` or `blocked`.
    pub outcome: PreparationOutcome,
    /// `forward` or `backward` for a rebase.
    pub direction: Option<String>,
    /// Why it is blocked.
    pub blocked_reason_code: Option<String>,
    /// The context the prior submission was stamped with.
    pub prior_context: Value,
    /// The context the next attempt uses (empty when blocked without an active guide).
    pub next_context: Value,
    /// What changed, for people.
    pub change_summary: String,
    /// The digest the resubmission echoes (R34).
    pub context_digest: String,
    /// The prior submission's version.
    pub prior_submission_version: i32,
    /// The version the next attempt gets.
    pub next_submission_version: i32,
}

/// `sqlx::query_as!` of [`Preparation`] rows: `$before` the preparation's columns `$after`.
macro_rules! preparation_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Preparation,
            $before + " id, task_id, originating_review_id, preparation_sequence, \
             predecessor_preparation_id, outcome AS \"outcome: _\", direction, blocked_reason_code, prior_context, \
             next_context, change_summary, context_digest, prior_submission_version, \
             next_submission_version " + $after
            $(, $arg)*
        )
    };
}

/// What [`prepare`] needs.
#[derive(Debug, Clone)]
pub struct PrepareInput {
    /// The task.
    pub task_id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// The needs_revision review.
    pub originating_review_id: Uuid,
    /// The submission that review judged.
    pub prior_submission_id: Uuid,
    /// The assignment that made it.
    pub source_assignment_id: Uuid,
    /// The assignment the next attempt belongs to.
    pub target_assignment_id: Uuid,
    /// The head a repair succeeds (None for the root).
    pub predecessor: Option<Preparation>,
    /// The reviewer (root) or the PM (repair).
    pub prepared_by: Uuid,
    /// The PM's reason for a repair.
    pub reason: Option<String>,
}

/// A context: every component a submission is stamped with.
fn context_of(lock: &GuideLock, contribution_version: Uuid) -> Value {
    json!({
        "guide_id": lock.id,
        "guide_version": lock.version,
        "guide_activation_sequence": lock.activation_sequence,
        "policy_bundle_hash": lock.policy_bundle_hash,
        "artifact_policy_hash": lock.artifact_policy_hash,
        "checker_policy_hash": lock.checker_policy_hash,
        "review_policy_hash": lock.review_policy_hash,
        "revision_policy_hash": lock.revision_policy_hash,
        "contribution_policy_version_id": contribution_version,
    })
}

/// The prior submission's stamped context, with the contribution version the
/// assignment carries for the next attempt.
async fn prior_context(
    conn: &mut PgConnection,
    submission_id: Uuid,
    assignment_id: Uuid,
) -> Result<(Value, i32), CommandError> {
    let row = sqlx::query!(
        "SELECT s.locked_guide_id, s.locked_guide_version, s.locked_guide_activation_sequence, \
           s.locked_policy_bundle_hash, s.locked_artifact_policy_hash, s.locked_checker_policy_hash, \
           s.locked_review_policy_hash, s.locked_revision_policy_hash, \
           a.submitter_contribution_policy_version_id, s.version \
         FROM submissions s, task_assignments a WHERE s.id = $1 AND a.id = $2",
        submission_id,
        assignment_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    // The keys of `context_of`.
    let context = json!({
        "guide_id": row.locked_guide_id,
        "guide_version": row.locked_guide_version,
        "guide_activation_sequence": row.locked_guide_activation_sequence,
        "policy_bundle_hash": row.locked_policy_bundle_hash,
        "artifact_policy_hash": row.locked_artifact_policy_hash,
        "checker_policy_hash": row.locked_checker_policy_hash,
        "review_policy_hash": row.locked_review_policy_hash,
        "revision_policy_hash": row.locked_revision_policy_hash,
        "contribution_policy_version_id": row.submitter_contribution_policy_version_id,
    });
    Ok((context, row.version))
}

/// Why the active context cannot be used, if it cannot.
async fn blocked_reason(
    conn: &mut PgConnection,
    project_id: Uuid,
    active: Option<&GuideLock>,
) -> Result<Option<&'static str>, CommandError> {
    if tasks::project_status(conn, project_id).await? != Some(ProjectStatus::Active) {
        return Ok(Some("project_not_active"));
    }
    let Some(guide) = active else {
        return Ok(Some("active_guide_missing"));
    };
    match tasks::policy_version_readiness(conn, guide.contribution_policy_version_id).await? {
        Some(r) if !r.published => return Ok(Some("contribution_policy_not_published")),
        Some(r) if !r.submitter_rule => return Ok(Some("contribution_rule_missing")),
        Some(_) => {}
        None => return Ok(Some("contribution_policy_not_published")),
    }
    if guide_policies(conn, guide.id).await.is_err() {
        return Ok(Some("revision_policy_incomplete"));
    }
    Ok(None)
}

fn change_summary(prior: &Value, next: &Value) -> String {
    let changed: Vec<String> = [
        "guide_version",
        "policy_bundle_hash",
        "artifact_policy_hash",
        "checker_policy_hash",
        "review_policy_hash",
        "revision_policy_hash",
        "contribution_policy_version_id",
    ]
    .iter()
    .filter(|k| prior[**k] != next[**k])
    .map(|k| format!("{k}: {} -> {}", prior[*k], next[*k]))
    .collect();
    if changed.is_empty() {
        "No change: the next attempt keeps the context of the reviewed version.".into()
    } else {
        format!(
            "The next attempt moves to the active context. {}",
            changed.join("; ")
        )
    }
}

/// Builds and stores a preparation (the root in T12, or a repair's successor), and
/// moves the task and the target assignment to its next context unless it is blocked.
pub async fn prepare(
    conn: &mut PgConnection,
    input: PrepareInput,
) -> Result<Preparation, CommandError> {
    let (prior, prior_version) =
        prior_context(conn, input.prior_submission_id, input.source_assignment_id).await?;
    let active = tasks::active_guide_lock(conn, input.project_id).await?;
    let blocked = blocked_reason(conn, input.project_id, active.as_ref()).await?;
    let next = active
        .as_ref()
        .map(|g| context_of(g, g.contribution_policy_version_id))
        .unwrap_or_else(|| json!({}));
    let (outcome, direction) = match blocked {
        Some(_) => (PreparationOutcome::Blocked, None),
        None if next == prior => (PreparationOutcome::Kept, None),
        None => {
            let forward = next["guide_activation_sequence"].as_i64()
                >= prior["guide_activation_sequence"].as_i64();
            (
                PreparationOutcome::Rebased,
                Some(if forward { "forward" } else { "backward" }),
            )
        }
    };
    let sequence = input
        .predecessor
        .as_ref()
        .map_or(1, |p| p.preparation_sequence + 1);
    let summary = match blocked {
        Some(code) => format!("Blocked ({code}): a project manager must repair the setup."),
        None => change_summary(&prior, &next),
    };
    let digest = Digest::of_canonical_json(&json!({
        "task_id": input.task_id,
        "originating_review_id": input.originating_review_id,
        "preparation_sequence": sequence,
        "predecessor_preparation_id": input.predecessor.as_ref().map(|p| p.id),
        "prior_context": prior,
        "next_context": next,
        "outcome": outcome,
        "direction": direction,
        "blocked_reason_code": blocked,
    }))
    .map_err(CommandError::internal)?
    .to_string();
    let uuid_of = |v: &Value, k: &str| v[k].as_str().and_then(|s| s.parse::<Uuid>().ok());
    let usable = blocked.is_none();
    let prepared = preparation_query!(
        "INSERT INTO revision_context_preparations (id, task_id, originating_review_id, \
         source_task_assignment_id, target_task_assignment_id, prior_submission_id, \
         prior_submission_version, next_submission_version, prior_context, next_context, \
         prior_guide_id, next_guide_id, prior_policy_bundle_hash, next_policy_bundle_hash, \
         prior_contribution_policy_version_id, next_contribution_policy_version_id, outcome, \
         direction, context_digest, predecessor_preparation_id, preparation_sequence, \
         rebase_reason, blocked_reason_code, change_summary, prepared_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7 + 1, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19, $20, $21, $22, $23, $24) RETURNING",
        "",
        Uuid::now_v7(),
        input.task_id,
        input.originating_review_id,
        input.source_assignment_id,
        input.target_assignment_id,
        input.prior_submission_id,
        prior_version,
        &prior,
        &next,
        uuid_of(&prior, "guide_id"),
        usable.then(|| uuid_of(&next, "guide_id")).flatten(),
        prior["policy_bundle_hash"].as_str(),
        usable
            .then(|| next["policy_bundle_hash"].as_str())
            .flatten(),
        uuid_of(&prior, "contribution_policy_version_id"),
        usable
            .then(|| uuid_of(&next, "contribution_policy_version_id"))
            .flatten(),
        outcome.as_str(),
        direction,
        &digest,
        input.predecessor.as_ref().map(|p| p.id),
        sequence,
        input.reason.as_deref(),
        blocked,
        &summary,
        input.prepared_by,
    )
    .fetch_one(&mut *conn)
    .await?;
    if let (true, Some(guide)) = (usable, active.as_ref()) {
        apply(conn, input.task_id, input.target_assignment_id, guide).await?;
    }
    Ok(prepared)
}

/// Moves the task's locks and the assignment's contribution version to `guide`'s
/// context (a no-op write when kept). Allowed only while the task is `needs_revision`
/// (the tasks trigger's R12/R33 rule).
async fn apply(
    conn: &mut PgConnection,
    task_id: Uuid,
    assignment_id: Uuid,
    guide: &GuideLock,
) -> Result<(), CommandError> {
    sqlx::query!(
        "UPDATE tasks SET locked_guide_id = $2, locked_guide_version = $3, \
         locked_guide_activation_sequence = $4, locked_policy_bundle_hash = $5, \
         locked_artifact_policy_hash = $6, locked_checker_policy = $7, locked_checker_policy_hash = $8, \
         locked_review_policy_hash = $9, locked_revision_policy_hash = $10, \
         locked_contribution_policy_version_id = $11 \
         WHERE id = $1 AND (locked_guide_id, locked_policy_bundle_hash, locked_contribution_policy_version_id) \
               IS DISTINCT FROM ($2, $5, $11)",
        task_id,
        guide.id,
        &guide.version,
        guide.activation_sequence,
        &guide.policy_bundle_hash,
        &guide.artifact_policy_hash,
        &guide.checker_policy,
        &guide.checker_policy_hash,
        &guide.review_policy_hash,
        &guide.revision_policy_hash,
        guide.contribution_policy_version_id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE task_assignments SET submitter_contribution_policy_version_id = $2 \
         WHERE id = $1 AND submitter_contribution_policy_version_id <> $2",
        assignment_id,
        guide.contribution_policy_version_id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The current head of the task's latest preparation chain (the one of its latest
/// needs_revision review), if any.
pub async fn head(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Option<Preparation>, CommandError> {
    Ok(preparation_query!(
        "SELECT",
        "FROM revision_context_preparations p \
         WHERE p.task_id = $1 AND NOT EXISTS (SELECT 1 FROM revision_context_preparations n \
                                              WHERE n.predecessor_preparation_id = p.id) \
         ORDER BY p.created_at DESC, p.id DESC LIMIT 1",
        task_id,
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// How the task's current `needs_revision` episode began, and what bounds it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Episode {
    /// `human_review` or `checker_remediation`.
    pub origin: RevisionOrigin,
    /// The needs_revision review (human origin).
    pub originating_review_id: Option<Uuid>,
    /// The remediation run (checker origin).
    pub remediation_checker_run_id: Option<Uuid>,
    /// Revised submissions already made in answer to reviews.
    pub rounds_used: u32,
    /// The locked revision policy's limit.
    pub round_limit: u32,
    /// When the revision is due (database time).
    pub deadline_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether that time has passed.
    pub deadline_passed: bool,
}

/// Reads the episode of a task in `needs_revision`.
pub async fn episode(
    conn: &mut PgConnection,
    task: &tasks::TaskRow,
) -> Result<Episode, CommandError> {
    let latest = sqlx::query!(
        r#"SELECT s.id, (SELECT c.id FROM checker_runs c WHERE c.submission_id = s.id
             AND c.is_current_for_submission AND c.status = $2
             AND c.routing_recommendation = $3) AS "run?"
           FROM submissions s WHERE s.task_id = $1 ORDER BY s.version DESC LIMIT 1"#,
        task.id,
        CheckerRunStatus::Completed.as_str(),
        RoutingRecommendation::NeedsRevision.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    let remediation = latest.and_then(|row| row.run);
    let review = sqlx::query!(
        "SELECT id, completed_at FROM reviews WHERE task_id = $1 AND decision = $2 \
         ORDER BY completed_at DESC LIMIT 1",
        task.id,
        ReviewDecision::NeedsRevision.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| (row.id, row.completed_at));
    let rounds = sqlx::query_scalar!(
        r#"SELECT count(*) AS "rounds!" FROM submissions
           WHERE task_id = $1 AND revision_context_preparation_id IS NOT NULL"#,
        task.id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let policies = match task.locked_guide_id {
        Some(g) => Some(guide_policies(conn, g).await?),
        None => None,
    };
    let hours = policies
        .as_ref()
        .map_or(0, |p| p.revision.revision_deadline_hours);
    let deadline: Option<(chrono::DateTime<chrono::Utc>, bool)> = match &review {
        Some((_, at)) if remediation.is_none() => {
            let row = sqlx::query!(
                r#"SELECT $1::timestamptz + make_interval(hours => $2) AS "at!",
                          $1::timestamptz + make_interval(hours => $2) <= now() AS "passed!""#,
                at,
                i32::try_from(hours).unwrap_or(i32::MAX),
            )
            .fetch_one(&mut *conn)
            .await?;
            Some((row.at, row.passed))
        }
        _ => None,
    };
    Ok(Episode {
        origin: if remediation.is_some() {
            RevisionOrigin::CheckerRemediation
        } else {
            RevisionOrigin::HumanReview
        },
        originating_review_id: review.filter(|_| remediation.is_none()).map(|(id, _)| id),
        remediation_checker_run_id: remediation,
        rounds_used: u32::try_from(rounds).unwrap_or(u32::MAX),
        round_limit: policies.map_or(0, |p| p.revision.max_revision_rounds),
        deadline_at: deadline.map(|(at, _)| at),
        deadline_passed: deadline.is_some_and(|(_, passed)| passed),
    })
}

/// One answer to a prior finding in a resubmission.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingResponse {
    /// The finding answered.
    pub finding_id: Uuid,
    /// What was done about it (1-20,000 characters).
    pub response_text: String,
    /// Optional evidence in the new packet (`{path, line?, note?}`).
    #[serde(default)]
    #[schemars(schema_with = "super::decision::evidence_ref_schema")]
    pub evidence_ref: Option<Value>,
}

/// What a human-path resubmission echoes and answers.
#[derive(Debug, Clone, Default)]
pub struct Resubmission {
    /// The preparation head the contributor read.
    pub preparation_id: Option<Uuid>,
    /// Its digest.
    pub preparation_digest: Option<String>,
    /// One response per open blocking finding (advisory ones optional).
    pub responses: Vec<FindingResponse>,
}

/// Fills the T14 human-path facts and returns the head the submission binds to. A
/// response naming no open finding of this task is 422 `finding_response_unknown`;
/// two for one finding, 422 `finding_response_duplicate`.
pub async fn resubmission_facts(
    conn: &mut PgConnection,
    task: &tasks::TaskRow,
    request: &Resubmission,
    facts: &mut GuardFacts,
) -> Result<Option<Preparation>, CommandError> {
    let head = head(conn, task.id).await?;
    let episode = episode(conn, task).await?;
    let prior = prior_findings(conn, task.id).await?;
    let open: Vec<&PriorFinding> = prior
        .iter()
        .filter(|f| f.status == FindingStatus::Open)
        .collect();
    let mut seen = std::collections::HashSet::new();
    for r in &request.responses {
        if !open.iter().any(|f| f.id == r.finding_id) {
            return Err(CommandError::new(
                ErrorCode::FindingResponseUnknown,
                "a response names no open finding of this task",
            )
            .with_details(json!({ "finding_id": r.finding_id })));
        }
        if !seen.insert(r.finding_id) {
            return Err(CommandError::new(
                ErrorCode::FindingResponseDuplicate,
                "one response per finding",
            ));
        }
        let len = r.response_text.trim().chars().count();
        if !(1..=20_000).contains(&len) {
            return Err(CommandError::new(
                ErrorCode::FindingResponseInvalid,
                "a response is 1 to 20,000 characters",
            ));
        }
    }
    facts.revision_origin = RevisionOrigin::HumanReview;
    facts.preparation_blocked = head
        .as_ref()
        .is_none_or(|h| h.outcome == PreparationOutcome::Blocked);
    facts.preparation_head_echoed = head.as_ref().is_some_and(|h| {
        request.preparation_id == Some(h.id)
            && request.preparation_digest.as_deref() == Some(h.context_digest.as_str())
    });
    facts.unanswered_blocking_findings = u32::try_from(
        open.iter()
            .filter(|f| f.kind == FindingKind::Blocking && !seen.contains(&f.id))
            .count(),
    )
    .unwrap_or(u32::MAX);
    facts.revision_rounds_used = episode.rounds_used;
    facts.revision_round_limit = episode.round_limit;
    facts.revision_deadline_passed = episode.deadline_passed;
    Ok(head)
}

/// Records the responses of a new human-path submission.
pub async fn record_responses(
    conn: &mut PgConnection,
    submission_id: Uuid,
    assignment_id: Uuid,
    head: &Preparation,
    responses: &[FindingResponse],
) -> Result<(), CommandError> {
    for r in responses {
        sqlx::query!(
            "INSERT INTO submission_finding_responses (id, finding_id, new_submission_id, \
             task_assignment_id, preparation_id, preparation_digest, response_text, evidence_ref) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            Uuid::now_v7(),
            r.finding_id,
            submission_id,
            assignment_id,
            head.id,
            &head.context_digest,
            r.response_text.trim(),
            r.evidence_ref.as_ref(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The contributor's (or a manager's) view of the revision episode: the head with its
/// prior and next context and change summary (R34), every prior finding with its
/// status and responses, which ones need a response, the bounds, the checker
/// findings' changes since the previous version, and the guide's prior-feedback
/// checklist (null when the guide has none).
pub async fn view(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
) -> Result<RevisionContext, CommandError> {
    let task = tasks::find(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let access = Access::read(conn, requester.actor_id, task.project_id, false).await?;
    let manages = access.grant_for(Actor::ProjectManager).is_some()
        || access.grant_for(Actor::Operator).is_some()
        || access.audit_grant().is_some();
    if !(manages || task.assigned_to == Some(requester.actor_id)) {
        return Err(CommandError::not_found());
    }
    let prior = prior_findings(conn, task.id).await?;
    let latest = sqlx::query_scalar!(
        "SELECT id FROM submissions WHERE task_id = $1 ORDER BY version DESC LIMIT 1",
        task.id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let changes = match latest {
        Some(s) => Some(super::findings::changes_since_predecessor(conn, s).await?),
        None => None,
    };
    let episode = if task.status == TaskState::NeedsRevision {
        Some(episode(conn, &task).await?)
    } else {
        None
    };
    let required: Vec<Uuid> = prior
        .iter()
        .filter(|f| f.kind == FindingKind::Blocking && f.status == FindingStatus::Open)
        .map(|f| f.id)
        .collect();
    // The prior-feedback checklist of the guide the task is locked to (its bundle's
    // review texts), for the worker answering the findings.
    let checklist = match task.locked_guide_id {
        Some(guide) => sqlx::query_scalar!(
            r#"SELECT policy_bundle -> 'review_templates' ->> 'prior_feedback_checklist' AS "checklist?"
               FROM project_guides WHERE id = $1"#,
            guide,
        )
        .fetch_optional(&mut *conn)
        .await?
        .flatten(),
        None => None,
    };
    Ok(RevisionContext {
        task_id: task.id,
        status: task.status,
        episode,
        preparation: head(conn, task.id).await?,
        prior_findings: prior,
        responses_required_for: required,
        checker_finding_changes: changes,
        prior_feedback_checklist: checklist,
    })
}

/// What a contributor answering a revision (and the managers watching) read: the
/// episode and its bounds, the preparation head to echo, every prior finding, which
/// need a response, how the checker findings changed, and the guide's checklist.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RevisionContext {
    /// The task.
    pub task_id: Uuid,
    /// Its state.
    pub status: TaskState,
    /// The current `needs_revision` episode (null in any other state).
    pub episode: Option<Episode>,
    /// The preparation head the resubmission echoes (`id`, `context_digest`).
    pub preparation: Option<Preparation>,
    /// Every finding earlier reviews raised, with its status and responses.
    pub prior_findings: Vec<PriorFinding>,
    /// The open blocking findings a resubmission must answer, one response each.
    pub responses_required_for: Vec<Uuid>,
    /// Checker findings new, persisting and fixed since the previous version.
    pub checker_finding_changes: Option<super::findings::FindingChanges>,
    /// The guide's prior-feedback checklist, when it has one.
    pub prior_feedback_checklist: Option<String>,
}

/// T15: a covering PM closes an exhausted revision obligation.
pub async fn close(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: &str,
) -> Result<tasks::TaskRow, CommandError> {
    let reason: RevisionCloseReason = reason.parse().map_err(|_| {
        CommandError::new(
            ErrorCode::ReasonInvalid,
            "the reason is revision_limit_reached or revision_deadline_expired",
        )
    })?;
    let task = tasks::lock(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let assignment = tasks::lock_active_assignment(conn, task.id).await?;
    let access = Access::read(conn, requester.actor_id, task.project_id, true).await?;
    if !access.sees_project() {
        return Err(CommandError::not_found());
    }
    let mut facts = GuardFacts::default();
    if task.status == TaskState::NeedsRevision {
        let episode = episode(conn, &task).await?;
        facts.revision_origin = episode.origin;
        facts.revision_rounds_used = episode.rounds_used;
        facts.revision_round_limit = episode.round_limit;
        facts.revision_deadline_passed = episode.deadline_passed;
        facts.legacy_without_review_root =
            episode.originating_review_id.is_none() && episode.remediation_checker_run_id.is_none();
    }
    let decision = decide(
        task.status,
        &TaskCommand::CloseRevision { reason },
        &access.actor_context(),
        &facts,
    )?;
    if let Some(a) = &assignment {
        tasks::close_assignment(conn, a.id, AssignmentStatus::Released, reason.as_str()).await?;
    }
    sqlx::query!(
        "UPDATE review_queue_entries SET state = $2, closed_at = now(), closed_reason = 'task_closed' \
         WHERE task_id = $1 AND state = $3",
        task.id,
        QueueEntryState::Closed.as_str(),
        QueueEntryState::Pending.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    let updated = transition(
        conn,
        task.id,
        &decision,
        task.assigned_to,
        TaskEvent {
            event_type: "revision_obligation_closed",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: Some(reason.as_str()),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "review.revision_obligation.close",
                "released_assignment_id": assignment.map(|a| a.id),
                "revision_rounds_used": facts.revision_rounds_used,
                "revision_round_limit": facts.revision_round_limit,
                "revision_deadline_passed": facts.revision_deadline_passed,
            }),
        },
    )
    .await?;
    Ok(updated)
}

/// A covering PM repairs the revision context: acknowledges the current head (id and
/// digest) with a reason and appends its one successor, computed against the context
/// active now. 409 `revision_context_stale` if the acknowledged head is not the head.
pub async fn repair(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    head_id: Uuid,
    head_digest: &str,
    reason: &str,
) -> Result<Preparation, CommandError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(CommandError::new(
            ErrorCode::ReasonRequired,
            "a repair needs a reason of 1 to 500 characters",
        ));
    }
    let task = tasks::lock(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let assignment = tasks::lock_active_assignment(conn, task.id).await?;
    let access = Access::read(conn, requester.actor_id, task.project_id, true).await?;
    let grant = access.require(Actor::ProjectManager)?;
    if task.status != TaskState::NeedsRevision {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            format!(
                "a task in {} has no revision context to repair",
                task.status
            ),
        ));
    }
    let current = head(conn, task.id).await?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::RevisionContextMissing,
            "this revision came from a checker, not a review; it has no context to repair",
        )
    })?;
    if current.id != head_id || current.context_digest != head_digest {
        return Err(CommandError::new(
            ErrorCode::RevisionContextStale,
            "the acknowledged preparation is not the current head; re-read it",
        )
        .with_details(json!({ "head_id": current.id, "head_digest": current.context_digest })));
    }
    let row = sqlx::query!(
        "SELECT prior_submission_id, source_task_assignment_id FROM revision_context_preparations WHERE id = $1",
        current.id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let (prior_submission, source) = (row.prior_submission_id, row.source_task_assignment_id);
    let target = assignment
        .as_ref()
        .map(|a| a.id)
        .ok_or_else(|| CommandError::new(ErrorCode::AssignmentNotActive, "no active assignment"))?;
    let prepared = prepare(
        conn,
        PrepareInput {
            task_id: task.id,
            project_id: task.project_id,
            originating_review_id: current.originating_review_id,
            prior_submission_id: prior_submission,
            source_assignment_id: source,
            target_assignment_id: target,
            predecessor: Some(current.clone()),
            prepared_by: requester.actor_id,
            reason: Some(reason.to_owned()),
        },
    )
    .await?;
    workstream_store::audit::append(
        conn,
        workstream_store::audit::NewAuditEvent {
            project_id: Some(task.project_id),
            entity_type: "revision_context_preparation".into(),
            entity_id: Some(prepared.id),
            event_type: "revision_context_repaired".into(),
            from_status: Some(current.outcome.to_string()),
            to_status: Some(prepared.outcome.to_string()),
            actor_id: Some(requester.actor_id),
            reason: Some(reason.to_owned()),
            payload: json!({
                "matched_grant_id": grant,
                "permission": "review.revision_context.repair",
                "task_id": task.id,
                "predecessor_preparation_id": current.id,
                "context_digest": prepared.context_digest,
            }),
            correlation_id: requester.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(prepared)
}
