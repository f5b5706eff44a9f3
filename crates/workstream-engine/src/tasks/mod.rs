//! Task commands and task read models (docs/lifecycle.md T1-T5, T16, T17).
//!
//! Every command runs inside the caller's transaction and follows one recipe: lock the
//! task row, then its active assignment, then the actor's authority rows (the fixed
//! order of R50); fill [`GuardFacts`](workstream_domain::GuardFacts) from what was read
//! under those locks; ask [`decide`](workstream_domain::decide); write the change and
//! exactly one audit event. The audit event names the transition, the matched grant and
//! the permission, so every change can be traced to the authority that allowed it.
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
use workstream_store::tasks::TaskRow;

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

/// Appends the one audit event of a task transition.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn audit_transition(
    conn: &mut PgConnection,
    task: &TaskRow,
    decision: &Decision,
    event_type: &str,
    actor_id: Option<Uuid>,
    correlation_id: Option<String>,
    reason: Option<&str>,
    mut payload: Value,
) -> Result<(), CommandError> {
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

/// The stored status of a task as a [`TaskState`](workstream_domain::TaskState); a
/// token the domain does not know is a corrupt row.
pub(crate) fn state_of(task: &TaskRow) -> Result<workstream_domain::TaskState, CommandError> {
    task.status
        .parse()
        .map_err(|_| CommandError::internal(format!("task {} has status {}", task.id, task.status)))
}
