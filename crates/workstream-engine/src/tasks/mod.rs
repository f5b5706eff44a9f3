//! Task commands and task read models (docs/lifecycle.md T1-T5, T16, T17).
//!
//! Every command runs inside the caller's transaction and follows one recipe: lock the
//! task row, then its active assignment, then the actor's authority rows (the fixed
//! order of R50); fill [`GuardFacts`](workstream_domain::GuardFacts) from what was read
//! under those locks; ask [`decide`](workstream_domain::decide); write the change and
//! exactly one audit event. The audit event names the transition, the matched grant and
//! the permission, so every change can be traced to the authority that allowed it.
//! The status written is always the decision's target: the store's task writers take
//! the [`Decision`] itself (and touch the row only in its source state), and
//! `transition` writes the move and its event together; task rows carry their state
//! as a [`TaskState`](workstream_domain::TaskState), so no state is a string here.
//!
//! * [`access`]: who the caller is on a project, read from local grants (never tokens),
//!   and the concealed-404-or-403 rule for callers without the needed role.
//! * [`create`]: a PM creates a draft task with validated fields.
//! * [`screening`]: screen (T1), release (T2), return to draft (T3), cancel (T16).
//! * [`assignment`]: claim (T4), start and the Operator's start override (T5), and the
//!   invalidation of assignments whose contributor lost authority (T17).
//! * [`submission`]: a prepared packet becomes an admission; the assignee's submit
//!   consumes it into an immutable, versioned submission (T6, or T14 after a checker
//!   remediation) and queues its evaluation (T7), all in one commit.
//! * [`views`]: the management view, the contributor-safe view with compensation terms,
//!   the ready queue and the submission requirements.
//! * [`work_context`]: what the caller may do next on a task, judged by the lifecycle.

pub mod access;
pub mod assignment;
pub mod create;
pub mod screening;
pub mod submission;
pub mod views;
pub mod work_context;

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::lifecycle::Decision;
use workstream_store::audit::{self, AuditError, NewAuditEvent};
use workstream_store::tasks::{self, TaskRow};

use crate::CommandError;

pub use assignment::{
    ACTIVE_TASK_CAP, assign, claim, invalidate_assignments_of_actor, start, start_override,
};
pub use create::{NewTaskInput, create};
pub use screening::{cancel, release, return_to_draft, screen};

/// Who asks for a command, and under which request.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    /// The acting profile.
    pub actor_id: Uuid,
    /// The request's correlation id, written into the audit event.
    pub correlation_id: Option<String>,
}

impl From<AuditError> for CommandError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::Sql(err) => err.into(),
            other => CommandError::internal(other),
        }
    }
}

/// What a transition's audit event records beside the move itself (which its
/// [`Decision`] gives: the edge, both states and the authorizing role).
pub(crate) struct TaskEvent<'a> {
    /// The event's type, e.g. `task_claimed`.
    pub event_type: &'a str,
    /// Who asked (none for the system).
    pub actor_id: Option<Uuid>,
    /// The request's correlation id.
    pub correlation_id: Option<String>,
    /// The reason given, trimmed when stored.
    pub reason: Option<&'a str>,
    /// What else the event says (ids of the records the transition wrote, ...).
    pub payload: Value,
}

/// Takes a task along `decision` with `assignee` and appends the transition's one
/// audit event, in the caller's transaction: the write path of every task transition
/// that sets no lock. (Screening stamps, releases and clears locks through the store's
/// writers, which take the same decision; a review decision writes its records between
/// the move and the event.) The status written is the decision's target, never a
/// string of the caller's.
pub(crate) async fn transition(
    conn: &mut PgConnection,
    task_id: Uuid,
    decision: &Decision,
    assignee: Option<Uuid>,
    event: TaskEvent<'_>,
) -> Result<TaskRow, CommandError> {
    let moved = tasks::set_status(conn, task_id, decision, assignee).await?;
    audit_transition(conn, &moved, decision, event).await?;
    Ok(moved)
}

/// Appends the one audit event of a task transition.
pub(crate) async fn audit_transition(
    conn: &mut PgConnection,
    task: &TaskRow,
    decision: &Decision,
    event: TaskEvent<'_>,
) -> Result<(), CommandError> {
    let TaskEvent {
        event_type,
        actor_id,
        correlation_id,
        reason,
        mut payload,
    } = event;
    if let Value::Object(map) = &mut payload {
        map.insert("transition".into(), json!(decision.transition.to_string()));
        map.insert(
            "authorized_as".into(),
            json!(decision.authorized_as.to_string()),
        );
    }
    audit::append(
        conn,
        NewAuditEvent {
            project_id: Some(task.project_id),
            entity_type: "task".into(),
            entity_id: Some(task.id),
            event_type: event_type.into(),
            from_status: Some(decision.from.to_string()),
            to_status: Some(decision.to.to_string()),
            actor_id,
            reason: reason.map(|r| r.trim().to_owned()),
            payload,
            request_id: None,
            correlation_id,
        },
    )
    .await?;
    Ok(())
}
