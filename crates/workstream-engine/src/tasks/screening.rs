//! The Project Manager's side of the lifecycle: screen (T1), release (T2), return to
//! draft (T3) and cancel (T16).
//!
//! Screening stamps the whole guide lock from the project's active guide; release adds
//! the contribution policy version that guide binds. From then on the locks are frozen
//! (the `tasks_guard` trigger refuses any change), so what a contributor claims is
//! exactly what was released.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::lifecycle::{GuardFacts, TaskCommand, decide};
use workstream_domain::machines::assignment::AssignmentStatus;
use workstream_domain::machines::project::{GuideStatus, ProjectStatus};
use workstream_store::tasks::{self, TaskRow};

use super::access::Access;
use super::reason::{bounded, optional_reason};
use super::transition::{TaskEvent, audit_transition, transition};
use crate::CommandError;
use crate::requester::Requester;

/// The task, locked, with the caller's authority over its project (read last, locked).
/// A caller with no relation to the project gets the concealed 404.
pub(super) async fn lock_for(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
) -> Result<(TaskRow, Access), CommandError> {
    let task = tasks::lock(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    // Authority comes last in the lock order (R50).
    let access = Access::read(conn, requester.actor_id, task.project_id, true).await?;
    if !access.sees_project() {
        return Err(CommandError::not_found());
    }
    Ok((task, access))
}

/// The task's required fields that are empty, by name. ("Required output" is the
/// guide's artifact policy, stamped with the lock; the task's own fields are these.)
fn missing_fields(task: &TaskRow) -> Vec<&'static str> {
    [
        ("title", &task.title),
        ("description", &task.description),
        ("acceptance_criteria", &task.acceptance_criteria),
        ("rejection_criteria", &task.rejection_criteria),
        ("source_type", &task.source_type),
    ]
    .into_iter()
    .filter(|(_, value)| value.trim().is_empty())
    .map(|(name, _)| name)
    .collect()
}

/// The facts screening's guards read (T1), with the active guide whose locks it would
/// stamp (share-locked until the transaction ends).
pub(super) async fn screen_facts(
    conn: &mut PgConnection,
    task: &TaskRow,
) -> Result<(GuardFacts, Option<tasks::GuideLock>), CommandError> {
    let project_status = tasks::project_status(conn, task.project_id).await?;
    let guide = tasks::active_guide_lock(conn, task.project_id).await?;
    let facts = GuardFacts {
        project_active: project_status == Some(ProjectStatus::Active),
        task_fields_missing: missing_fields(task),
        has_active_guide: guide.is_some(),
        ..GuardFacts::default()
    };
    Ok((facts, guide))
}

/// T1: a covering PM screens a draft task, stamping every lock from the active guide;
/// an optional reason is kept in the audit event.
pub async fn screen(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: Option<&str>,
) -> Result<TaskRow, CommandError> {
    let reason = optional_reason(reason)?;
    let (task, access) = lock_for(conn, requester, task_id).await?;
    let (facts, guide) = screen_facts(conn, &task).await?;
    let decision = decide(
        task.status,
        &TaskCommand::Screen,
        &access.actor_context(),
        &facts,
    )?;
    let guide = guide.expect("decide checked has_active_guide");
    let updated = tasks::stamp_screening(conn, task.id, &decision, &guide).await?;
    audit_transition(
        conn,
        &updated,
        &decision,
        TaskEvent {
            event_type: "task_screened",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: reason.as_deref(),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "project.task.screen",
                "guide_id": guide.id,
                "guide_version": guide.version,
                "guide_activation_sequence": guide.activation_sequence,
                "policy_bundle_hash": guide.policy_bundle_hash,
            }),
        },
    )
    .await?;
    Ok(updated)
}

/// T2: a covering PM releases a screened task with a reason, locking the contribution
/// policy version its guide binds.
pub async fn release(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: &str,
) -> Result<TaskRow, CommandError> {
    let (task, access) = lock_for(conn, requester, task_id).await?;
    let guide = match task.locked_guide_id {
        Some(id) => tasks::guide_status(conn, id).await?,
        None => None,
    };
    let bound_version = guide.as_ref().and_then(|(_, version)| *version);
    let readiness = match bound_version {
        Some(v) => tasks::policy_version_readiness(conn, v).await?,
        None => None,
    };
    let facts = GuardFacts {
        // No readiness-finding records exist in this schema: screening findings are
        // resolved by returning the task to draft (T3), so none can be open here.
        open_readiness_findings: 0,
        // The composite FK pins every stamp to an activated guide whose bundle passed the
        // activation gate (review and revision policies complete).
        locks_complete: task.locked_guide_id.is_some() && task.locked_checker_policy.is_some(),
        locked_guide_active: guide
            .as_ref()
            .is_some_and(|(status, _)| *status == GuideStatus::Active),
        contribution_policy_ready: readiness
            .is_some_and(|r| r.published && r.complete && r.bindings_active),
        ..GuardFacts::default()
    };
    let command = TaskCommand::Release {
        reason: reason.to_owned(),
    };
    let decision = decide(task.status, &command, &access.actor_context(), &facts)?;
    let version = bound_version.expect("decide checked the contribution policy");
    let updated = tasks::release(conn, task.id, &decision, version).await?;
    audit_transition(
        conn,
        &updated,
        &decision,
        TaskEvent {
            event_type: "task_released",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: Some(reason),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "project.task.release",
                "guide_version": updated.locked_guide_version,
                "contribution_policy_version_id": version,
            }),
        },
    )
    .await?;
    Ok(updated)
}

/// T3: a covering PM sends a screened task back to draft with the defects found. The
/// guide lock is cleared; the next screening stamps the guide active then.
pub async fn return_to_draft(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: &str,
) -> Result<TaskRow, CommandError> {
    let (task, access) = lock_for(conn, requester, task_id).await?;
    let command = TaskCommand::ReturnToDraft {
        reason: reason.to_owned(),
    };
    let decision = decide(
        task.status,
        &command,
        &access.actor_context(),
        &GuardFacts::default(),
    )?;
    let note = json!({
        "gate": "task_screening",
        "reason_code": "screening_defects",
        "fix_required": reason.trim(),
    });
    let updated = tasks::return_to_draft(conn, task.id, &decision, &note).await?;
    audit_transition(
        conn,
        &updated,
        &decision,
        TaskEvent {
            event_type: "task_returned_to_draft",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: Some(reason),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "project.task.return_to_draft",
                "previous_guide_id": task.locked_guide_id,
            }),
        },
    )
    .await?;
    Ok(updated)
}

/// T16: a covering PM cancels a task before anything was submitted; an active
/// assignment is released.
pub async fn cancel(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: &str,
) -> Result<TaskRow, CommandError> {
    let task = tasks::lock(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let assignment = tasks::lock_active_assignment(conn, task.id).await?;
    let access = Access::read(conn, requester.actor_id, task.project_id, true).await?;
    if !access.sees_project() {
        return Err(CommandError::not_found());
    }
    let command = TaskCommand::Cancel {
        reason: reason.to_owned(),
    };
    let decision = decide(
        task.status,
        &command,
        &access.actor_context(),
        &GuardFacts::default(),
    )?;
    let released = match &assignment {
        Some(a) => Some(
            tasks::close_assignment(conn, a.id, AssignmentStatus::Released, &bounded(reason))
                .await?
                .id,
        ),
        None => None,
    };
    let updated = transition(
        conn,
        task.id,
        &decision,
        None,
        TaskEvent {
            event_type: "task_cancelled",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: Some(reason),
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "project.task.cancel",
                "released_assignment_id": released,
            }),
        },
    )
    .await?;
    Ok(updated)
}
