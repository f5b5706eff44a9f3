//! The contributor's side: claim (T4) and a manager's assignment (T4 by `Assign`), start
//! (T5) with the Operator's override, and the invalidation of an assignment whose
//! contributor lost authority (T17).
//!
//! A claim locks the task row first, so of many concurrent claims one commits and the
//! rest, once they get the lock, find the task claimed (409 `task_already_claimed`).
//! The `tasks_one_active_assignment` unique index is the backstop should anything ever
//! skip the lock; it maps to the same code. The assignment copies the task's locked
//! contribution policy version: no policy lookup happens at claim time (docs/lifecycle.md, AS15).

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::{
    Actor, ActorContext, GuardFacts, Refusal, TaskCommand, TaskState, check_reason, decide,
};
use workstream_domain::machines::assignment::AssignmentStatus;
use workstream_store::tasks::{self, AssignmentRow, TaskRow};

use super::access::Access;
use super::reason::{bounded, optional_reason};
use super::transition::{TaskEvent, transition};
use crate::CommandError;
use crate::requester::Requester;

/// How many active assignments one contributor may hold at once (pilot default, T4).
pub const ACTIVE_TASK_CAP: u32 = 2;

/// Whether the caller may see this task at all. Contributors see only READY tasks and
/// tasks assigned to them (R11); managers, operators and auditors covering the project
/// see every task of it. Anyone else gets the concealed 404.
pub(super) fn may_see(task: &TaskRow, access: &Access, actor_id: Uuid) -> bool {
    if !access.sees_project() {
        return false;
    }
    let manages = access
        .authority
        .admin
        .iter()
        .any(|(role, _)| role != "access_administrator");
    manages || task.status == TaskState::Ready || task.assigned_to == Some(actor_id)
}

pub(super) fn locks_complete(task: &TaskRow) -> bool {
    task.locked_guide_id.is_some() && task.locked_contribution_policy_version_id.is_some()
}

/// T4: a submitter with an active grant on the task's project claims a READY task,
/// with an optional reason kept in the audit event.
pub async fn claim(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: Option<&str>,
) -> Result<(TaskRow, AssignmentRow), CommandError> {
    let reason = optional_reason(reason)?;
    let task = tasks::lock(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let active = tasks::lock_active_assignment(conn, task.id).await?;
    // Authority last: the contributor's profile row serializes their claims (the cap),
    // then the grants are share-locked against a concurrent revocation.
    tasks::lock_contributor(conn, requester.actor_id).await?;
    let access = Access::read(conn, requester.actor_id, task.project_id, true).await?;
    let actor = access.actor_context();
    // A submitter of the project who lost the race learns that the task was taken, not
    // that it vanished: they saw it in the queue, and retrying would be pointless. This
    // reveals no more than the queue did (only a claimed task, never a draft one).
    if actor.submitter && active.is_some() {
        return Err(CommandError::new(
            ErrorCode::TaskAlreadyClaimed,
            "another contributor holds this task",
        ));
    }
    if !may_see(&task, &access, requester.actor_id) {
        return Err(CommandError::not_found());
    }
    let facts = claim_facts(conn, &task, active.as_ref(), requester.actor_id).await?;
    let decision = decide(task.status, &TaskCommand::Claim, &actor, &facts)?;
    let version = task
        .locked_contribution_policy_version_id
        .expect("decide checked the locks");
    let assignment = tasks::insert_assignment(
        conn,
        task.id,
        requester.actor_id,
        requester.actor_id,
        version,
    )
    .await?;
    let updated = transition(
        conn,
        task.id,
        &decision,
        Some(requester.actor_id),
        TaskEvent {
            event_type: "task_claimed",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: reason.as_deref(),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "task.claim",
                "assignment_id": assignment.id,
                "contribution_policy_version_id": version,
            }),
        },
    )
    .await?;
    Ok((updated, assignment))
}

/// T4 by a manager: a covering project manager assigns a READY task to a named
/// submitter of its project, with a reason. The guards are a claim's, applied to the
/// assignee (an active submitter grant on the project, no active assignment on the
/// task, the assignee under the active-task cap); the assignment records who assigned
/// it, and the audit event carries the reason and both people's grants.
pub async fn assign(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    assignee_id: Uuid,
    reason: &str,
) -> Result<(TaskRow, AssignmentRow), CommandError> {
    check_reason(reason)?;
    let task = tasks::lock(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let active = tasks::lock_active_assignment(conn, task.id).await?;
    let access = Access::read(conn, requester.actor_id, task.project_id, true).await?;
    if !may_see(&task, &access, requester.actor_id) {
        return Err(CommandError::not_found());
    }
    // The assignee's profile row serializes their claims and assignments (the cap), as
    // in a claim; then their grants are share-locked against a concurrent revocation.
    tasks::lock_contributor(conn, assignee_id).await?;
    let assignee = Access::read(conn, assignee_id, task.project_id, true).await?;
    let assignee_grant = assignee.grant_for(Actor::Submitter);
    let facts = GuardFacts {
        assignee_eligible: assignee_grant.is_some(),
        ..claim_facts(conn, &task, active.as_ref(), assignee_id).await?
    };
    let decision = decide(
        task.status,
        &TaskCommand::Assign,
        &access.actor_context(),
        &facts,
    )?;
    let version = task
        .locked_contribution_policy_version_id
        .expect("decide checked the locks");
    let assignment =
        tasks::insert_assignment(conn, task.id, assignee_id, requester.actor_id, version).await?;
    let updated = transition(
        conn,
        task.id,
        &decision,
        Some(assignee_id),
        TaskEvent {
            event_type: "task_assigned",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: Some(reason),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "task.assign",
                "assignment_id": assignment.id,
                "assignee_actor_id": assignee_id,
                "assignee_grant_id": assignee_grant,
                "contribution_policy_version_id": version,
            }),
        },
    )
    .await?;
    Ok((updated, assignment))
}

/// The facts a claim's guards read (T4), for `contributor` taking `task`: its active
/// assignment, the contributor's active tasks against the cap, the locks, and whether
/// the locked terms have an explicit submitter rule. Shared by a claim and a manager's
/// assignment, which differ only in who the contributor is.
pub(super) async fn claim_facts(
    conn: &mut PgConnection,
    task: &TaskRow,
    active: Option<&AssignmentRow>,
    contributor: Uuid,
) -> Result<GuardFacts, CommandError> {
    let active_tasks = tasks::count_active_assignments(conn, contributor).await?;
    let submitter_rule = match task.locked_contribution_policy_version_id {
        Some(v) => tasks::policy_version_readiness(conn, v)
            .await?
            .is_some_and(|r| r.submitter_rule),
        None => false,
    };
    Ok(GuardFacts {
        has_active_assignment: active.is_some(),
        contributor_active_tasks: u32::try_from(active_tasks).unwrap_or(u32::MAX),
        active_task_cap: ACTIVE_TASK_CAP,
        locks_complete: locks_complete(task),
        submitter_rule_explicit: submitter_rule,
        ..GuardFacts::default()
    })
}

/// The task, its active assignment and the caller's authority, locked in order.
pub(super) async fn lock_with_assignment(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
) -> Result<(TaskRow, Option<AssignmentRow>, Access), CommandError> {
    let task = tasks::lock(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let active = tasks::lock_active_assignment(conn, task.id).await?;
    let access = Access::read(conn, requester.actor_id, task.project_id, true).await?;
    if !may_see(&task, &access, requester.actor_id) {
        return Err(CommandError::not_found());
    }
    Ok((task, active, access))
}

/// T5: the assignee starts their own claimed task, with an optional reason kept in the
/// audit event.
pub async fn start(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: Option<&str>,
) -> Result<TaskRow, CommandError> {
    let reason = optional_reason(reason)?;
    let (task, active, access) = lock_with_assignment(conn, requester, task_id).await?;
    let facts = GuardFacts {
        has_active_assignment: active.is_some(),
        actor_is_assignee: active
            .as_ref()
            .is_some_and(|a| a.contributor_id == requester.actor_id),
        locks_complete: locks_complete(&task),
        ..GuardFacts::default()
    };
    let decision = decide(
        task.status,
        &TaskCommand::Start,
        &access.actor_context(),
        &facts,
    )?;
    let updated = transition(
        conn,
        task.id,
        &decision,
        task.assigned_to,
        TaskEvent {
            event_type: "task_started",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: reason.as_deref(),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "task.start",
                "assignment_id": active.map(|a| a.id),
            }),
        },
    )
    .await?;
    Ok(updated)
}

/// T5 by override: a system Operator starts a claimed task with a reason; the assignee
/// stays who it was (R14, R49).
pub async fn start_override(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: &str,
) -> Result<TaskRow, CommandError> {
    let (task, active, access) = lock_with_assignment(conn, requester, task_id).await?;
    let facts = GuardFacts {
        has_active_assignment: active.is_some(),
        locks_complete: locks_complete(&task),
        ..GuardFacts::default()
    };
    let command = TaskCommand::StartOverride {
        reason: reason.to_owned(),
    };
    let decision = decide(task.status, &command, &access.actor_context(), &facts)?;
    let updated = transition(
        conn,
        task.id,
        &decision,
        task.assigned_to,
        TaskEvent {
            event_type: "task_start_overridden",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: Some(reason),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "operations.task.start_override",
                "assignment_id": active.as_ref().map(|a| a.id),
                "assignee_id": active.as_ref().map(|a| a.contributor_id),
            }),
        },
    )
    .await?;
    Ok(updated)
}

/// T17: returns to READY every claimed or in-progress task of `actor_id` (in `project`,
/// or everywhere) whose assignee no longer has submitter authority and has submitted
/// nothing; each assignment becomes `authority_revoked`. Returns the tasks moved.
///
/// Call it in the same transaction that revokes the submitter grant, suspends or
/// deactivates the profile, or revokes the identity link, after that change: the
/// authority is read again here, so a revocation of some other role moves nothing.
/// Tasks with a Submission keep their assignment (T17 applies only before one).
pub async fn invalidate_assignments_of_actor(
    tx: &mut PgConnection,
    actor_id: Uuid,
    project: Option<Uuid>,
    reason: &str,
) -> Result<Vec<Uuid>, CommandError> {
    let mut moved = Vec::new();
    for task_id in tasks::invalidation_candidates(tx, actor_id, project).await? {
        let Some(task) = tasks::lock(tx, task_id).await? else {
            continue;
        };
        let Some(assignment) = tasks::lock_active_assignment(tx, task.id).await? else {
            continue;
        };
        if assignment.contributor_id != actor_id {
            continue;
        }
        let authority = Access::read(tx, actor_id, task.project_id, false).await?;
        let facts = GuardFacts {
            assignee_authority_lost: authority
                .grant_for(workstream_domain::lifecycle::Actor::Submitter)
                .is_none(),
            submission_exists: tasks::submission_exists(tx, task.id).await?,
            ..GuardFacts::default()
        };
        let decision = match decide(
            task.status,
            &TaskCommand::InvalidateAssignment,
            &ActorContext::system(),
            &facts,
        ) {
            Ok(decision) => decision,
            Err(
                Refusal::AssigneeAuthorityIntact
                | Refusal::SubmissionExists
                | Refusal::TransitionNotAllowed { .. },
            ) => continue,
            Err(other) => return Err(other.into()),
        };
        let status_reason = match bounded(reason) {
            r if r.is_empty() => "submitter authority lost".to_owned(),
            r => r,
        };
        tasks::close_assignment(
            tx,
            assignment.id,
            AssignmentStatus::AuthorityRevoked,
            &status_reason,
        )
        .await?;
        transition(
            tx,
            task.id,
            &decision,
            None,
            TaskEvent {
                event_type: "task_assignment_invalidated",
                actor_id: None,
                correlation_id: None,
                reason: Some(&status_reason),
                payload: json!({
                    "permission": "system.task.invalidate_assignment",
                    "assignment_id": assignment.id,
                    "contributor_id": actor_id,
                }),
            },
        )
        .await?;
        moved.push(task.id);
    }
    Ok(moved)
}

/// One of a contributor's assignments with its task in brief, as [`held_by`] reads it.
#[derive(Debug, Clone)]
pub struct HeldAssignment {
    /// The assignment.
    pub id: Uuid,
    /// `active`, `completed` or `released`.
    pub status: AssignmentStatus,
    /// When it was made.
    pub assigned_at: chrono::DateTime<chrono::Utc>,
    /// When it ended by release, if it did.
    pub released_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its task.
    pub task_id: Uuid,
    /// The task's project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The task's title.
    pub title: String,
    /// The task's status now.
    pub task_status: TaskState,
}

/// A page of the assignments `contributor` holds or held, newest first: ids are
/// UUIDv7, so the page after `after` holds the older ids.
pub async fn held_by(
    conn: &mut PgConnection,
    contributor: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<HeldAssignment>, CommandError> {
    Ok(sqlx::query_as!(
        HeldAssignment,
        r#"SELECT a.id, a.status AS "status: _", a.assigned_at, a.released_at, t.id AS task_id,
             t.project_id, p.name AS project_name, t.title, t.status AS "task_status: _"
           FROM task_assignments a JOIN tasks t ON t.id = a.task_id
           JOIN projects p ON p.id = t.project_id
           WHERE a.contributor_id = $1 AND ($2::uuid IS NULL OR a.id < $2)
           ORDER BY a.id DESC LIMIT $3"#,
        contributor,
        after,
        i64::from(limit),
    )
    .fetch_all(conn)
    .await?)
}
