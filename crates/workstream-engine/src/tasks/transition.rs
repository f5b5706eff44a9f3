//! The write path of a task transition: the move the domain's [`Decision`] names, and
//! its one audit event.

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::lifecycle::Decision;
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::tasks::{self, TaskRow};

use crate::CommandError;

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

/// Appends the one audit event of a task transition: `task` as the transition's update
/// in this transaction returned it.
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
    // `task` is the row as this transaction's update wrote it: its `updated_at` is the
    // transaction's time (the touch trigger), the time the event records.
    audit::append_at(
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
        task.updated_at,
    )
    .await?;
    Ok(())
}
