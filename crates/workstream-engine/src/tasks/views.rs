//! What each audience may read about a task.
//!
//! * The management view (covering PM or auditor) is the whole row: locks, hashes,
//!   source references and the active assignment.
//! * The contributor-safe view (submitters and reviewers of the project while the task
//!   is READY, and the assignee) shows the work and its compensation terms, and never an
//!   internal hash, a binding id, a route key, a policy status, the creator or the
//!   assignee's id (docs/rules.md, R48).
//! * The submission requirements are the locked guide's artifact policy, as the
//!   contributor must meet it.

use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::lifecycle::{Actor, TaskState};
use workstream_store::tasks::{self, AssignmentRow, TaskCard, TaskRow};

use super::access::Access;
use crate::CommandError;

/// The management view of a task.
pub fn management_view(task: &TaskRow, assignment: Option<&AssignmentRow>) -> Value {
    json!({
        "id": task.id,
        "project_id": task.project_id,
        "title": task.title,
        "description": task.description,
        "task_type": task.task_type,
        "difficulty": task.difficulty,
        "skill_tags": task.skill_tags,
        "estimated_time_minutes": task.estimated_time_minutes,
        "acceptance_criteria": task.acceptance_criteria,
        "rejection_criteria": task.rejection_criteria,
        "deadline_at": task.deadline_at,
        "source_type": task.source_type,
        "source_ref": task.source_ref,
        "source_payload_hash": task.source_payload_hash,
        "import_batch_id": task.import_batch_id,
        "external_task_id": task.external_task_id,
        "status": task.status,
        "screening_note": task.screening_note,
        "created_by": task.created_by,
        "assigned_to": task.assigned_to,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "locks": {
            "guide_id": task.locked_guide_id,
            "guide_version": task.locked_guide_version,
            "guide_activation_sequence": task.locked_guide_activation_sequence,
            "policy_bundle_hash": task.locked_policy_bundle_hash,
            "artifact_policy_hash": task.locked_artifact_policy_hash,
            "checker_policy": task.locked_checker_policy,
            "checker_policy_hash": task.locked_checker_policy_hash,
            "review_policy_hash": task.locked_review_policy_hash,
            "revision_policy_hash": task.locked_revision_policy_hash,
            "contribution_policy_version_id": task.locked_contribution_policy_version_id,
            "locked_at": task.locked_at,
        },
        "assignment": assignment.map(assignment_view),
    })
}

/// An assignment as its contributor and managers see it.
pub fn assignment_view(a: &AssignmentRow) -> Value {
    json!({
        "id": a.id,
        "task_id": a.task_id,
        "contributor_id": a.contributor_id,
        "assigned_by": a.assigned_by,
        "status": a.status,
        "assigned_at": a.assigned_at,
        "released_at": a.released_at,
        "due_at": a.due_at,
    })
}

/// Contributor-visible compensation terms of a policy version: for each contribution
/// type, `"unpaid"` or a list of `{instrument, unit, quantity}` (quantity an exact
/// decimal string). `None` when no version is locked yet.
pub async fn compensation_terms(
    conn: &mut PgConnection,
    version_id: Option<Uuid>,
) -> Result<Value, CommandError> {
    let Some(version_id) = version_id else {
        return Ok(Value::Null);
    };
    let mut terms = Map::new();
    for row in tasks::compensation_terms(conn, version_id).await? {
        if row.compensation_mode == "unpaid" {
            terms.insert(row.contribution_type, json!("unpaid"));
            continue;
        }
        let entry = terms
            .entry(row.contribution_type)
            .or_insert_with(|| json!([]));
        if let (Value::Array(list), Some(instrument), Some(unit), Some(quantity)) =
            (entry, row.instrument_type, row.unit_code, row.quantity)
        {
            list.push(json!({ "instrument": instrument, "unit": unit, "quantity": quantity }));
        }
    }
    Ok(Value::Object(terms))
}

/// The contributor-safe view of a task, for `actor_id`.
pub async fn contributor_view(
    conn: &mut PgConnection,
    task: &TaskRow,
    actor_id: Uuid,
) -> Result<Value, CommandError> {
    let compensation = compensation_terms(conn, task.locked_contribution_policy_version_id).await?;
    Ok(contributor_view_with(
        &TaskCard::from(task),
        actor_id,
        compensation,
    ))
}

/// [`contributor_view`] of a listed task, with its compensation terms already read.
fn contributor_view_with(task: &TaskCard, actor_id: Uuid, compensation: Value) -> Value {
    json!({
        "id": task.id,
        "project_id": task.project_id,
        "title": task.title,
        "description": task.description,
        "task_type": task.task_type,
        "difficulty": task.difficulty,
        "skill_tags": task.skill_tags,
        "estimated_time_minutes": task.estimated_time_minutes,
        "acceptance_criteria": task.acceptance_criteria,
        "rejection_criteria": task.rejection_criteria,
        "deadline_at": task.deadline_at,
        "status": task.status,
        "guide_version": task.locked_guide_version,
        "assigned_to_me": task.assigned_to == Some(actor_id),
        "compensation": compensation,
        "created_at": task.created_at,
    })
}

/// Whether `actor_id` may read the contributor view: a submitter or reviewer of the
/// project while the task is READY, or its assignee.
fn contributor_may_read(task: &TaskRow, access: &Access, actor_id: Uuid) -> bool {
    if !access.authority.active_human {
        return false;
    }
    let contributor =
        access.grant_for(Actor::Submitter).is_some() || access.grant_for(Actor::Reviewer).is_some();
    (contributor && task.status == TaskState::Ready.as_str()) || task.assigned_to == Some(actor_id)
}

/// `GET /tasks/{id}`: the contributor view, or the concealed 404.
pub async fn read_for_contributor(
    conn: &mut PgConnection,
    actor_id: Uuid,
    task_id: Uuid,
) -> Result<Value, CommandError> {
    let task = tasks::find(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let access = Access::read(conn, actor_id, task.project_id, false).await?;
    if !contributor_may_read(&task, &access, actor_id) {
        return Err(CommandError::not_found());
    }
    let mut view = contributor_view(conn, &task, actor_id).await?;
    // The assignee sees when their first submission is due (set at the claim).
    if task.assigned_to == Some(actor_id) {
        let assignment = tasks::active_assignment(conn, task.id).await?;
        view["due_at"] = json!(assignment.and_then(|a| a.due_at));
    }
    Ok(view)
}

/// The caller's access to a project that must exist and be visible to them.
async fn project_access(
    conn: &mut PgConnection,
    actor_id: Uuid,
    project_id: Uuid,
) -> Result<Access, CommandError> {
    if tasks::project_status(conn, project_id).await?.is_none() {
        return Err(CommandError::not_found());
    }
    let access = Access::read(conn, actor_id, project_id, false).await?;
    if !access.sees_project() {
        return Err(CommandError::not_found());
    }
    Ok(access)
}

/// Requires a management reader (covering PM or Audit Authority) of the project: the
/// concealed 404 for a project the caller cannot see, 403 for one they cannot manage.
pub async fn require_manager(
    conn: &mut PgConnection,
    actor_id: Uuid,
    project_id: Uuid,
) -> Result<(), CommandError> {
    let access = project_access(conn, actor_id, project_id).await?;
    if access.grant_for(Actor::ProjectManager).is_none() && access.audit_grant().is_none() {
        return Err(access.denied());
    }
    Ok(())
}

/// `GET /projects/{pid}/tasks/{tid}`: the management view.
pub async fn read_for_manager(
    conn: &mut PgConnection,
    actor_id: Uuid,
    project_id: Uuid,
    task_id: Uuid,
) -> Result<Value, CommandError> {
    require_manager(conn, actor_id, project_id).await?;
    let task = tasks::find(conn, task_id)
        .await?
        .filter(|t| t.project_id == project_id)
        .ok_or_else(CommandError::not_found)?;
    let assignment = tasks::active_assignment(conn, task.id).await?;
    let mut view = management_view(&task, assignment.as_ref());
    // Who holds it, by name: a manager should not have to recognize a profile id.
    if let Some(a) = &assignment {
        let holder = workstream_store::actors::label(conn, a.contributor_id).await?;
        view["assignment"]["contributor_display_name"] = json!(holder);
    }
    Ok(view)
}

/// `GET /projects/{pid}/tasks`: a page of management views, ordered by id.
pub async fn list_for_manager(
    conn: &mut PgConnection,
    actor_id: Uuid,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<(Uuid, Value)>, CommandError> {
    require_manager(conn, actor_id, project_id).await?;
    let rows = tasks::list(conn, project_id, None, after, i64::from(limit)).await?;
    // The page's active assignments in one read, not one per task.
    let ids: Vec<Uuid> = rows.iter().map(|task| task.id).collect();
    let assignments = tasks::active_assignments(conn, &ids).await?;
    let holders: Vec<Uuid> = assignments.iter().map(|a| a.contributor_id).collect();
    let names = workstream_store::actors::labels(conn, &holders).await?;
    let mut items = Vec::with_capacity(rows.len());
    for task in rows {
        let assignment = assignments.iter().find(|a| a.task_id == task.id);
        let mut view = management_view(&task, assignment);
        if let Some(a) = assignment {
            view["assignment"]["contributor_display_name"] = json!(names.get(&a.contributor_id));
        }
        items.push((task.id, view));
    }
    Ok(items)
}

/// `GET /projects/{pid}/tasks/ready`: a page of READY tasks for a submitter or reviewer
/// of exactly this project.
pub async fn list_ready(
    conn: &mut PgConnection,
    actor_id: Uuid,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<(Uuid, Value)>, CommandError> {
    let access = project_access(conn, actor_id, project_id).await?;
    if access.grant_for(Actor::Submitter).is_none() && access.grant_for(Actor::Reviewer).is_none() {
        return Err(access.denied());
    }
    let rows = tasks::list_cards(
        conn,
        project_id,
        Some(TaskState::Ready.as_str()),
        after,
        i64::from(limit),
    )
    .await?;
    // The tasks of a page share a few contribution policy versions: each is read once.
    let mut terms: std::collections::HashMap<Option<Uuid>, Value> =
        std::collections::HashMap::new();
    let mut items = Vec::with_capacity(rows.len());
    for task in rows {
        let version = task.locked_contribution_policy_version_id;
        let compensation = match terms.get(&version) {
            Some(known) => known.clone(),
            None => {
                let read = compensation_terms(conn, version).await?;
                terms.insert(version, read.clone());
                read
            }
        };
        items.push((
            task.id,
            contributor_view_with(&task, actor_id, compensation),
        ));
    }
    Ok(items)
}

/// The artifact-policy fields a contributor must meet, in the order a contributor reads
/// them.
const REQUIREMENT_FIELDS: &[&str] = &[
    "required_artifacts",
    "required_evidence",
    "forbidden_artifacts",
    "attestation_terms",
    "manifest_required",
    "artifact_hash_required",
    "artifact_hash_algorithm",
    "maximum_file_size_bytes",
    "maximum_package_size_bytes",
    "packaging",
];

/// `GET /tasks/{id}/submission-requirements`: the locked guide's artifact policy, for
/// the assignee or (while READY) an eligible submitter of the project.
pub async fn submission_requirements(
    conn: &mut PgConnection,
    actor_id: Uuid,
    task_id: Uuid,
) -> Result<Value, CommandError> {
    let task = tasks::find(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let access = Access::read(conn, actor_id, task.project_id, false).await?;
    let eligible =
        access.grant_for(Actor::Submitter).is_some() && task.status == TaskState::Ready.as_str();
    let assignee = access.authority.active_human && task.assigned_to == Some(actor_id);
    if !(eligible || assignee) {
        return Err(CommandError::not_found());
    }
    let bundle = match task.locked_guide_id {
        Some(guide) => tasks::guide_bundle(conn, guide).await?,
        None => None,
    };
    let Some(artifact_policy) = bundle.as_ref().and_then(|b| b.get("artifact_policy")) else {
        return Err(CommandError::invalid(
            "task_locked_context_invalid",
            "the task's locked guide has no artifact policy",
        ));
    };
    let mut out = Map::new();
    out.insert("task_id".into(), json!(task.id));
    out.insert("project_id".into(), json!(task.project_id));
    out.insert("guide_version".into(), json!(task.locked_guide_version));
    for field in REQUIREMENT_FIELDS {
        out.insert(
            (*field).into(),
            artifact_policy.get(*field).cloned().unwrap_or(Value::Null),
        );
    }
    Ok(Value::Object(out))
}
