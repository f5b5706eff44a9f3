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

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::{Actor, TaskState};
use workstream_store::tasks::{self, AssignmentRow, TaskCard, TaskRow};

use super::access::Access;
use crate::CommandError;

/// The management view of a task: the whole row, its locks and active assignment.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ManagementView {
    /// The row's own fields (its lock columns are grouped under `locks`).
    #[serde(flatten)]
    pub task: TaskRow,
    /// What screening and release locked (all null while a draft).
    pub locks: TaskLocks,
    /// The active assignment, if any.
    pub assignment: Option<AssignmentView>,
}

/// The guide, policies and terms a task is held to from screening (and release) on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TaskLocks {
    /// The guide locked at screening.
    pub guide_id: Option<Uuid>,
    /// Its version label.
    pub guide_version: Option<String>,
    /// Its activation sequence.
    pub guide_activation_sequence: Option<i32>,
    /// Digest of the locked policy bundle.
    pub policy_bundle_hash: Option<String>,
    /// Digest of the locked artifact policy.
    pub artifact_policy_hash: Option<String>,
    /// The locked checker policy itself.
    pub checker_policy: Option<Value>,
    /// Its digest.
    pub checker_policy_hash: Option<String>,
    /// Digest of the locked review policy.
    pub review_policy_hash: Option<String>,
    /// Digest of the locked revision policy.
    pub revision_policy_hash: Option<String>,
    /// The contribution policy version locked at release.
    pub contribution_policy_version_id: Option<Uuid>,
    /// When the guide was locked.
    pub locked_at: Option<DateTime<Utc>>,
}

/// The management view of a task.
pub fn management_view(task: &TaskRow, assignment: Option<&AssignmentRow>) -> ManagementView {
    ManagementView {
        task: task.clone(),
        locks: TaskLocks {
            guide_id: task.locked_guide_id,
            guide_version: task.locked_guide_version.clone(),
            guide_activation_sequence: task.locked_guide_activation_sequence,
            policy_bundle_hash: task.locked_policy_bundle_hash.clone(),
            artifact_policy_hash: task.locked_artifact_policy_hash.clone(),
            checker_policy: task.locked_checker_policy.clone(),
            checker_policy_hash: task.locked_checker_policy_hash.clone(),
            review_policy_hash: task.locked_review_policy_hash.clone(),
            revision_policy_hash: task.locked_revision_policy_hash.clone(),
            contribution_policy_version_id: task.locked_contribution_policy_version_id,
            locked_at: task.locked_at,
        },
        assignment: assignment.map(assignment_view),
    }
}

/// An assignment as its contributor and managers see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssignmentView {
    /// Id.
    pub id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// Who holds it.
    pub contributor_id: Uuid,
    /// The holder's name (in a manager's reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contributor_display_name: Option<String>,
    /// Who assigned it: the contributor on a claim, else the manager.
    pub assigned_by: Uuid,
    /// `active`, `completed` or `released`.
    pub status: String,
    /// When it began.
    pub assigned_at: DateTime<Utc>,
    /// When it ended, if it has.
    pub released_at: Option<DateTime<Utc>>,
    /// When the first submission is due, if the revision policy says.
    pub due_at: Option<DateTime<Utc>>,
}

/// An assignment as its contributor and managers see it.
pub fn assignment_view(a: &AssignmentRow) -> AssignmentView {
    AssignmentView {
        id: a.id,
        task_id: a.task_id,
        contributor_id: a.contributor_id,
        contributor_display_name: None,
        assigned_by: a.assigned_by,
        status: a.status.to_string(),
        assigned_at: a.assigned_at,
        released_at: a.released_at,
        due_at: a.due_at,
    }
}

/// What one contribution type earns: `"unpaid"`, or the amounts it is compensated with.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Terms {
    /// Recorded, not paid.
    Unpaid(Unpaid),
    /// One amount per instrument.
    Compensated(Vec<Amount>),
}

/// The token `"unpaid"`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub enum Unpaid {
    /// Recorded, not paid.
    #[serde(rename = "unpaid")]
    Unpaid,
}

/// An amount of one instrument.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Amount {
    /// `money` or `project_points`.
    pub instrument: String,
    /// An ISO 4217 code, or the project's points unit.
    pub unit: String,
    /// An exact decimal string.
    pub quantity: String,
}

/// Contributor-visible compensation terms of a policy version, by contribution type
/// (`accepted_submission`, `completed_review`, ...).
pub type CompensationTerms = BTreeMap<String, Terms>;

/// Contributor-visible compensation terms of a policy version: for each contribution
/// type, `"unpaid"` or a list of `{instrument, unit, quantity}` (quantity an exact
/// decimal string). `None` when no version is locked yet.
pub async fn compensation_terms(
    conn: &mut PgConnection,
    version_id: Option<Uuid>,
) -> Result<Option<CompensationTerms>, CommandError> {
    let Some(version_id) = version_id else {
        return Ok(None);
    };
    let mut terms = CompensationTerms::new();
    for row in tasks::compensation_terms(conn, version_id).await? {
        if row.compensation_mode == "unpaid" {
            terms.insert(row.contribution_type, Terms::Unpaid(Unpaid::Unpaid));
            continue;
        }
        let entry = terms
            .entry(row.contribution_type)
            .or_insert_with(|| Terms::Compensated(Vec::new()));
        if let (Terms::Compensated(list), Some(instrument), Some(unit), Some(quantity)) =
            (entry, row.instrument_type, row.unit_code, row.quantity)
        {
            list.push(Amount {
                instrument,
                unit,
                quantity,
            });
        }
    }
    Ok(Some(terms))
}

/// The contributor-safe view of a task: the work and its terms, never an internal hash,
/// a binding, a policy status, the creator or the assignee's id.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContributorView {
    /// Id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// 1..300 characters.
    pub title: String,
    /// What to do.
    pub description: String,
    /// A free label.
    pub task_type: Option<String>,
    /// `easy|medium|hard|expert`.
    pub difficulty: Option<String>,
    /// Skill labels.
    pub skill_tags: Vec<String>,
    /// The expected effort in minutes.
    pub estimated_time_minutes: Option<i32>,
    /// What an accepted answer must do.
    pub acceptance_criteria: String,
    /// What gets an answer rejected.
    pub rejection_criteria: String,
    /// When the work is due.
    pub deadline_at: Option<DateTime<Utc>>,
    /// One of the twelve task states.
    pub status: TaskState,
    /// The locked guide's version label.
    pub guide_version: Option<String>,
    /// Whether the caller holds the task.
    pub assigned_to_me: bool,
    /// What each contribution earns (null until the terms are locked at release).
    pub compensation: Option<CompensationTerms>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When the assignee's first submission is due (the assignee's reads only).
    pub due_at: Option<DateTime<Utc>>,
}

/// The contributor-safe view of a task, for `actor_id`.
pub async fn contributor_view(
    conn: &mut PgConnection,
    task: &TaskRow,
    actor_id: Uuid,
) -> Result<ContributorView, CommandError> {
    let compensation = compensation_terms(conn, task.locked_contribution_policy_version_id).await?;
    Ok(contributor_view_with(
        &TaskCard::from(task),
        actor_id,
        compensation,
    ))
}

/// [`contributor_view`] of a listed task, with its compensation terms already read.
fn contributor_view_with(
    task: &TaskCard,
    actor_id: Uuid,
    compensation: Option<CompensationTerms>,
) -> ContributorView {
    ContributorView {
        id: task.id,
        project_id: task.project_id,
        title: task.title.clone(),
        description: task.description.clone(),
        task_type: task.task_type.clone(),
        difficulty: task.difficulty.clone(),
        skill_tags: task.skill_tags.clone(),
        estimated_time_minutes: task.estimated_time_minutes,
        acceptance_criteria: task.acceptance_criteria.clone(),
        rejection_criteria: task.rejection_criteria.clone(),
        deadline_at: task.deadline_at,
        status: task.status,
        guide_version: task.locked_guide_version.clone(),
        assigned_to_me: task.assigned_to == Some(actor_id),
        compensation,
        created_at: task.created_at,
        due_at: None,
    }
}

/// Whether `actor_id` may read the contributor view: a submitter or reviewer of the
/// project while the task is READY, or its assignee.
fn contributor_may_read(task: &TaskRow, access: &Access, actor_id: Uuid) -> bool {
    if !access.authority.active_human {
        return false;
    }
    let contributor =
        access.grant_for(Actor::Submitter).is_some() || access.grant_for(Actor::Reviewer).is_some();
    (contributor && task.status == TaskState::Ready) || task.assigned_to == Some(actor_id)
}

/// `GET /tasks/{id}`: the contributor view, or the concealed 404.
pub async fn read_for_contributor(
    conn: &mut PgConnection,
    actor_id: Uuid,
    task_id: Uuid,
) -> Result<ContributorView, CommandError> {
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
        view.due_at = assignment.and_then(|a| a.due_at);
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
) -> Result<ManagementView, CommandError> {
    require_manager(conn, actor_id, project_id).await?;
    let task = tasks::find(conn, task_id)
        .await?
        .filter(|t| t.project_id == project_id)
        .ok_or_else(CommandError::not_found)?;
    let assignment = tasks::active_assignment(conn, task.id).await?;
    let mut view = management_view(&task, assignment.as_ref());
    // Who holds it, by name: a manager should not have to recognize a profile id.
    if let Some(a) = view.assignment.as_mut() {
        a.contributor_display_name =
            Some(workstream_store::actors::label(conn, a.contributor_id).await?);
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
) -> Result<Vec<ManagementView>, CommandError> {
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
        if let Some(a) = view.assignment.as_mut() {
            a.contributor_display_name = names.get(&a.contributor_id).cloned();
        }
        items.push(view);
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
) -> Result<Vec<ContributorView>, CommandError> {
    let access = project_access(conn, actor_id, project_id).await?;
    if access.grant_for(Actor::Submitter).is_none() && access.grant_for(Actor::Reviewer).is_none() {
        return Err(access.denied());
    }
    let rows = tasks::list_cards(
        conn,
        project_id,
        Some(TaskState::Ready),
        after,
        i64::from(limit),
    )
    .await?;
    // The tasks of a page share a few contribution policy versions: each is read once.
    let mut terms: std::collections::HashMap<Option<Uuid>, Option<CompensationTerms>> =
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
        items.push(contributor_view_with(&task, actor_id, compensation));
    }
    Ok(items)
}

/// What a packet for a task must hold: the locked guide's artifact policy, as the
/// contributor must meet it (each field as `policies/artifact-policy.schema.json`
/// states it; null where the policy leaves it out).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubmissionRequirements {
    /// The task.
    pub task_id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// The locked guide's version label.
    pub guide_version: Option<String>,
    /// Files the packet must hold, by key and path.
    pub required_artifacts: Value,
    /// Evidence the packet must hold.
    pub required_evidence: Value,
    /// Patterns no file may match, with why.
    pub forbidden_artifacts: Value,
    /// What the contributor attests with the upload.
    pub attestation_terms: Value,
    /// Whether a manifest is required.
    pub manifest_required: Value,
    /// Whether each artifact's hash is required.
    pub artifact_hash_required: Value,
    /// The hash algorithm (`sha256`).
    pub artifact_hash_algorithm: Value,
    /// The largest file, in bytes.
    pub maximum_file_size_bytes: Value,
    /// The largest packet, in bytes.
    pub maximum_package_size_bytes: Value,
    /// How the packet is packaged (`zip`).
    pub packaging: Value,
}

/// `GET /tasks/{id}/submission-requirements`: the locked guide's artifact policy, for
/// the assignee or (while READY) an eligible submitter of the project.
pub async fn submission_requirements(
    conn: &mut PgConnection,
    actor_id: Uuid,
    task_id: Uuid,
) -> Result<SubmissionRequirements, CommandError> {
    let task = tasks::find(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let access = Access::read(conn, actor_id, task.project_id, false).await?;
    let eligible = access.grant_for(Actor::Submitter).is_some() && task.status == TaskState::Ready;
    let assignee = access.authority.active_human && task.assigned_to == Some(actor_id);
    if !(eligible || assignee) {
        return Err(CommandError::not_found());
    }
    let bundle = match task.locked_guide_id {
        Some(guide) => tasks::guide_bundle(conn, guide).await?,
        None => None,
    };
    let Some(policy) = bundle.as_ref().and_then(|b| b.get("artifact_policy")) else {
        return Err(CommandError::new(
            ErrorCode::TaskLockedContextInvalid,
            "the task's locked guide has no artifact policy",
        ));
    };
    let field = |name: &str| policy.get(name).cloned().unwrap_or(Value::Null);
    Ok(SubmissionRequirements {
        task_id: task.id,
        project_id: task.project_id,
        guide_version: task.locked_guide_version.clone(),
        required_artifacts: field("required_artifacts"),
        required_evidence: field("required_evidence"),
        forbidden_artifacts: field("forbidden_artifacts"),
        attestation_terms: field("attestation_terms"),
        manifest_required: field("manifest_required"),
        artifact_hash_required: field("artifact_hash_required"),
        artifact_hash_algorithm: field("artifact_hash_algorithm"),
        maximum_file_size_bytes: field("maximum_file_size_bytes"),
        maximum_package_size_bytes: field("maximum_package_size_bytes"),
        packaging: field("packaging"),
    })
}
