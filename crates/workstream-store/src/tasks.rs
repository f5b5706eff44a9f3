//! Tasks and their assignments: the rows, and the SQL that reads and changes them.
//!
//! These functions only read and write; whether a change is allowed is decided by the
//! engine (`workstream_engine::tasks`) on facts read here, under row locks taken here.
//! The database backs the important rules up on its own (the transition trigger, the
//! one-active-assignment index, the composite lock foreign keys), so a bug in the
//! engine fails a statement instead of corrupting a task.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::lifecycle::{Decision, TaskState};
use workstream_domain::machines::assignment::AssignmentStatus;

/// Every column of `tasks`, in the order of [`TaskRow`].
pub const TASK_COLUMNS: &str = "id, project_id, title, description, task_type, difficulty, skill_tags, \
     estimated_time_minutes, acceptance_criteria, rejection_criteria, deadline_at, source_type, \
     source_ref, source_payload_hash, import_batch_id, external_task_id, status, screening_note, \
     created_by, assigned_to, created_at, updated_at, locked_guide_id, locked_guide_version, \
     locked_guide_activation_sequence, locked_policy_bundle_hash, locked_artifact_policy_hash, \
     locked_checker_policy, locked_checker_policy_hash, locked_review_policy_hash, \
     locked_revision_policy_hash, locked_contribution_policy_version_id, locked_at";

/// A task as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TaskRow {
    /// The task id.
    pub id: Uuid,
    /// The project it belongs to (R1).
    pub project_id: Uuid,
    /// 1..300 characters.
    pub title: String,
    /// What to do.
    pub description: String,
    /// A free label (`proof`, `data-qa`, ...).
    pub task_type: Option<String>,
    /// `easy|medium|hard|expert`.
    pub difficulty: Option<String>,
    /// Skill labels.
    pub skill_tags: Vec<String>,
    /// The expected effort, at least one minute.
    pub estimated_time_minutes: Option<i32>,
    /// What an accepted answer must do.
    pub acceptance_criteria: String,
    /// What gets an answer rejected.
    pub rejection_criteria: String,
    /// When the work is due.
    pub deadline_at: Option<DateTime<Utc>>,
    /// `manual|markdown_import|csv_import`.
    pub source_type: String,
    /// Where an imported task came from.
    pub source_ref: Option<String>,
    /// The digest of the imported source.
    pub source_payload_hash: Option<String>,
    /// The import that created it.
    pub import_batch_id: Option<Uuid>,
    /// The id in the source system.
    pub external_task_id: Option<String>,
    /// Where the task is in its lifecycle (a stored token the domain does not know
    /// fails the read).
    #[sqlx(try_from = "String")]
    pub status: TaskState,
    /// The last screening rejection note.
    pub screening_note: Option<Value>,
    /// The manager who created it.
    pub created_by: Uuid,
    /// The contributor on the active assignment.
    pub assigned_to: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Locked guide id (T1).
    pub locked_guide_id: Option<Uuid>,
    /// Locked guide version label.
    pub locked_guide_version: Option<String>,
    /// Locked guide activation sequence.
    pub locked_guide_activation_sequence: Option<i32>,
    /// Locked policy bundle digest.
    pub locked_policy_bundle_hash: Option<String>,
    /// Locked artifact policy digest.
    pub locked_artifact_policy_hash: Option<String>,
    /// Locked checker policy body.
    pub locked_checker_policy: Option<Value>,
    /// Locked checker policy digest.
    pub locked_checker_policy_hash: Option<String>,
    /// Locked review policy digest.
    pub locked_review_policy_hash: Option<String>,
    /// Locked revision policy digest.
    pub locked_revision_policy_hash: Option<String>,
    /// Locked contribution policy version (T2).
    pub locked_contribution_policy_version_id: Option<Uuid>,
    /// When the guide lock was stamped.
    pub locked_at: Option<DateTime<Utc>>,
}

/// The fields of a new task (validated by the engine).
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    /// The new id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// See [`TaskRow::title`].
    pub title: String,
    /// See [`TaskRow::description`].
    pub description: String,
    /// See [`TaskRow::task_type`].
    pub task_type: Option<String>,
    /// See [`TaskRow::difficulty`].
    pub difficulty: Option<String>,
    /// See [`TaskRow::skill_tags`].
    pub skill_tags: Vec<String>,
    /// See [`TaskRow::estimated_time_minutes`].
    pub estimated_time_minutes: Option<i32>,
    /// See [`TaskRow::acceptance_criteria`].
    pub acceptance_criteria: String,
    /// See [`TaskRow::rejection_criteria`].
    pub rejection_criteria: String,
    /// See [`TaskRow::deadline_at`].
    pub deadline_at: Option<DateTime<Utc>>,
    /// See [`TaskRow::source_type`].
    pub source_type: String,
    /// See [`TaskRow::source_ref`].
    pub source_ref: Option<String>,
    /// See [`TaskRow::external_task_id`].
    pub external_task_id: Option<String>,
    /// The creating manager.
    pub created_by: Uuid,
}

/// Inserts a draft task.
pub async fn insert(conn: &mut PgConnection, task: &NewTask) -> Result<TaskRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO tasks (id, project_id, title, description, task_type, difficulty, skill_tags, \
         estimated_time_minutes, acceptance_criteria, rejection_criteria, deadline_at, source_type, \
         source_ref, external_task_id, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         RETURNING {TASK_COLUMNS}"
    ))
    .bind(task.id)
    .bind(task.project_id)
    .bind(&task.title)
    .bind(&task.description)
    .bind(&task.task_type)
    .bind(&task.difficulty)
    .bind(&task.skill_tags)
    .bind(task.estimated_time_minutes)
    .bind(&task.acceptance_criteria)
    .bind(&task.rejection_criteria)
    .bind(task.deadline_at)
    .bind(&task.source_type)
    .bind(&task.source_ref)
    .bind(&task.external_task_id)
    .bind(task.created_by)
    .fetch_one(conn)
    .await
}

/// Reads a task without locking it.
pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<TaskRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Reads a task and locks its row until the transaction ends: the first lock of every
/// task command (order task -> assignment -> submission -> review -> authority).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<TaskRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A page of a project's tasks ordered by id, optionally only those in `status`.
pub async fn list(
    conn: &mut PgConnection,
    project_id: Uuid,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    list_columns(conn, TASK_COLUMNS, project_id, status, after, limit).await
}

/// A page of a project's tasks as `columns` (in the order of `T`'s fields).
async fn list_columns<T>(
    conn: &mut PgConnection,
    columns: &str,
    project_id: Uuid,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    // Two shapes rather than `($2 IS NULL OR status = $2)`, and the cursor as a bound
    // that is always there: each page is then one range of an index
    // (`tasks_project_status_idx` or `tasks_project_idx`, migrations/0012), however
    // many tasks the project has had.
    let status_filter = if status.is_some() {
        "AND status = $2"
    } else {
        "AND $2::text IS NULL"
    };
    sqlx::query_as(&format!(
        "SELECT {columns} FROM tasks WHERE project_id = $1 {status_filter} \
         AND id > coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid) \
         ORDER BY id LIMIT $4"
    ))
    .bind(project_id)
    .bind(status)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// What a contributor's list shows of a task: [`TaskRow`] without the locked policies,
/// screening note and import fields, which a page of fifty would otherwise decode for
/// nothing (the locked checker policy alone is kilobytes of JSON per task).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TaskCard {
    /// The task id.
    pub id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Type.
    pub task_type: Option<String>,
    /// Difficulty.
    pub difficulty: Option<String>,
    /// Skill tags.
    pub skill_tags: Vec<String>,
    /// Estimated minutes.
    pub estimated_time_minutes: Option<i32>,
    /// Acceptance criteria.
    pub acceptance_criteria: String,
    /// Rejection criteria.
    pub rejection_criteria: String,
    /// Deadline.
    pub deadline_at: Option<DateTime<Utc>>,
    /// Where the task is in its lifecycle.
    #[sqlx(try_from = "String")]
    pub status: TaskState,
    /// The locked guide's version label.
    pub locked_guide_version: Option<String>,
    /// The assignee.
    pub assigned_to: Option<Uuid>,
    /// The locked contribution policy version.
    pub locked_contribution_policy_version_id: Option<Uuid>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<&TaskRow> for TaskCard {
    fn from(task: &TaskRow) -> TaskCard {
        TaskCard {
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
            locked_guide_version: task.locked_guide_version.clone(),
            assigned_to: task.assigned_to,
            locked_contribution_policy_version_id: task.locked_contribution_policy_version_id,
            created_at: task.created_at,
        }
    }
}

/// [`list`] as [`TaskCard`]s.
pub async fn list_cards(
    conn: &mut PgConnection,
    project_id: Uuid,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<TaskCard>, sqlx::Error> {
    list_columns(conn, CARD_COLUMNS, project_id, status, after, limit).await
}

/// The columns of [`TaskCard`].
const CARD_COLUMNS: &str = "id, project_id, title, description, task_type, difficulty, \
     skill_tags, estimated_time_minutes, acceptance_criteria, rejection_criteria, deadline_at, \
     status, locked_guide_version, assigned_to, locked_contribution_policy_version_id, created_at";

/// The values a screening stamps: the identity and hashes of the project's active guide.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct GuideLock {
    /// The guide.
    pub id: Uuid,
    /// Its version label.
    pub version: String,
    /// Its activation sequence.
    pub activation_sequence: i32,
    /// Bundle digest.
    pub policy_bundle_hash: String,
    /// Artifact policy digest.
    pub artifact_policy_hash: String,
    /// The checker policy body (`policy_bundle.checker_policy`).
    pub checker_policy: Value,
    /// Checker policy digest.
    pub checker_policy_hash: String,
    /// Review policy digest.
    pub review_policy_hash: String,
    /// Revision policy digest.
    pub revision_policy_hash: String,
    /// The contribution policy version the guide binds.
    pub contribution_policy_version_id: Uuid,
}

/// The project's active guide, share-locked so it cannot be superseded before the
/// stamping transaction commits. `None` if there is none or its bundle is incomplete.
pub async fn active_guide_lock(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Option<GuideLock>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, version, activation_sequence, policy_bundle_hash, artifact_policy_hash, \
         policy_bundle -> 'checker_policy' AS checker_policy, checker_policy_hash, \
         review_policy_hash, revision_policy_hash, contribution_policy_version_id \
         FROM project_guides WHERE project_id = $1 AND status = 'active' \
         AND jsonb_typeof(policy_bundle -> 'checker_policy') = 'object' FOR SHARE",
    )
    .bind(project_id)
    .fetch_optional(conn)
    .await
}

/// The status of a guide, share-locked.
pub async fn guide_status(
    conn: &mut PgConnection,
    guide_id: Uuid,
) -> Result<Option<(String, Option<Uuid>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, contribution_policy_version_id FROM project_guides WHERE id = $1 FOR SHARE",
    )
    .bind(guide_id)
    .fetch_optional(conn)
    .await
}

/// The policy bundle of a guide.
pub async fn guide_bundle(
    conn: &mut PgConnection,
    guide_id: Uuid,
) -> Result<Option<Value>, sqlx::Error> {
    let row: Option<(Option<Value>,)> =
        sqlx::query_as("SELECT policy_bundle FROM project_guides WHERE id = $1")
            .bind(guide_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(bundle,)| bundle))
}

/// A project's status, or `None` if it does not exist.
pub async fn project_status(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as("SELECT status FROM projects WHERE id = $1")
        .bind(project_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|(s,)| s))
}

/// T1: takes a draft task where `decision` leads (`screening`) and stamps the whole
/// guide lock.
pub async fn stamp_screening(
    conn: &mut PgConnection,
    task_id: Uuid,
    decision: &Decision,
    guide: &GuideLock,
) -> Result<TaskRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE tasks SET status = $11, screening_note = NULL, locked_guide_id = $2, \
         locked_guide_version = $3, locked_guide_activation_sequence = $4, \
         locked_policy_bundle_hash = $5, locked_artifact_policy_hash = $6, \
         locked_checker_policy = $7, locked_checker_policy_hash = $8, \
         locked_review_policy_hash = $9, locked_revision_policy_hash = $10, locked_at = now() \
         WHERE id = $1 AND status = $12 RETURNING {TASK_COLUMNS}"
    ))
    .bind(task_id)
    .bind(guide.id)
    .bind(&guide.version)
    .bind(guide.activation_sequence)
    .bind(&guide.policy_bundle_hash)
    .bind(&guide.artifact_policy_hash)
    .bind(&guide.checker_policy)
    .bind(&guide.checker_policy_hash)
    .bind(&guide.review_policy_hash)
    .bind(&guide.revision_policy_hash)
    .bind(decision.to.as_str())
    .bind(decision.from.as_str())
    .fetch_one(conn)
    .await
}

/// T2: takes a screened task where `decision` leads (`ready`), locking the
/// contribution policy version.
pub async fn release(
    conn: &mut PgConnection,
    task_id: Uuid,
    decision: &Decision,
    contribution_policy_version_id: Uuid,
) -> Result<TaskRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE tasks SET status = $3, locked_contribution_policy_version_id = $2 \
         WHERE id = $1 AND status = $4 RETURNING {TASK_COLUMNS}"
    ))
    .bind(task_id)
    .bind(contribution_policy_version_id)
    .bind(decision.to.as_str())
    .bind(decision.from.as_str())
    .fetch_one(conn)
    .await
}

/// T3: back where `decision` leads (`draft`), clearing the guide lock (the next
/// screening stamps the guide active then) and recording the screening note.
pub async fn return_to_draft(
    conn: &mut PgConnection,
    task_id: Uuid,
    decision: &Decision,
    note: &Value,
) -> Result<TaskRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE tasks SET status = $3, screening_note = $2, locked_guide_id = NULL, \
         locked_guide_version = NULL, locked_guide_activation_sequence = NULL, \
         locked_policy_bundle_hash = NULL, locked_artifact_policy_hash = NULL, \
         locked_checker_policy = NULL, locked_checker_policy_hash = NULL, \
         locked_review_policy_hash = NULL, locked_revision_policy_hash = NULL, locked_at = NULL, \
         locked_contribution_policy_version_id = NULL \
         WHERE id = $1 AND status = $4 RETURNING {TASK_COLUMNS}"
    ))
    .bind(task_id)
    .bind(note)
    .bind(decision.to.as_str())
    .bind(decision.from.as_str())
    .fetch_one(conn)
    .await
}

/// Takes a task along `decision` (from its source state to its target) and sets its
/// assignee: every transition that writes no lock (claim, start, submit, evaluation,
/// review outcomes, cancellation, invalidation). A row no longer in the decision's
/// source state is not touched ([`sqlx::Error::RowNotFound`]).
pub async fn set_status(
    conn: &mut PgConnection,
    task_id: Uuid,
    decision: &Decision,
    assigned_to: Option<Uuid>,
) -> Result<TaskRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE tasks SET status = $2, assigned_to = $3 WHERE id = $1 AND status = $4 \
         RETURNING {TASK_COLUMNS}"
    ))
    .bind(task_id)
    .bind(decision.to.as_str())
    .bind(assigned_to)
    .bind(decision.from.as_str())
    .fetch_one(conn)
    .await
}

/// A task assignment as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AssignmentRow {
    /// The assignment id.
    pub id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// The human contributor.
    pub contributor_id: Uuid,
    /// Who created it (the contributor for a claim).
    pub assigned_by: Uuid,
    /// Copied from the task's lock at claim time (docs/lifecycle.md).
    pub submitter_contribution_policy_version_id: Uuid,
    /// `active|completed|blocked|released|authority_revoked`.
    pub status: String,
    /// Why it was closed.
    pub status_reason: Option<String>,
    /// Creation time.
    pub assigned_at: DateTime<Utc>,
    /// When it was released or revoked.
    pub released_at: Option<DateTime<Utc>>,
    /// When its first submission is due, if anything makes the task due
    /// (migrations/0014_due_times.sql).
    pub due_at: Option<DateTime<Utc>>,
}

const ASSIGNMENT_COLUMNS: &str = "id, task_id, contributor_id, assigned_by, \
     submitter_contribution_policy_version_id, status, status_reason, assigned_at, released_at, \
     due_at";

/// The task's active assignment, locked (the second lock of a task command).
pub async fn lock_active_assignment(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Option<AssignmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM task_assignments \
         WHERE task_id = $1 AND status = 'active' FOR UPDATE"
    ))
    .bind(task_id)
    .fetch_optional(conn)
    .await
}

/// The task's active assignment, unlocked (read views).
pub async fn active_assignment(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Option<AssignmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM task_assignments \
         WHERE task_id = $1 AND status = 'active'"
    ))
    .bind(task_id)
    .fetch_optional(conn)
    .await
}

/// The active assignments of `task_ids` (at most one each), in one statement: what a
/// page of tasks shows beside each.
pub async fn active_assignments(
    conn: &mut PgConnection,
    task_ids: &[Uuid],
) -> Result<Vec<AssignmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM task_assignments \
         WHERE task_id = ANY($1) AND status = 'active'"
    ))
    .bind(task_ids)
    .fetch_all(conn)
    .await
}

/// Inserts an active assignment. The `tasks_one_active_assignment` index refuses a
/// second one for the same task, whatever raced. Its due time is set here, in database
/// time as every deadline is: the task's `deadline_at`, or the claim time plus the
/// estimate times the locked revision policy's `due_time_factor`, whichever is earlier
/// (`least` skips the one that is not set).
pub async fn insert_assignment(
    conn: &mut PgConnection,
    task_id: Uuid,
    contributor_id: Uuid,
    assigned_by: Uuid,
    policy_version_id: Uuid,
) -> Result<AssignmentRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, \
         submitter_contribution_policy_version_id, due_at) \
         SELECT $1, $2, $3, $4, $5, least(t.deadline_at, now() + make_interval(mins => \
             t.estimated_time_minutes * (g.policy_bundle -> 'revision_policy' ->> 'due_time_factor')::int)) \
         FROM tasks t LEFT JOIN project_guides g ON g.id = t.locked_guide_id WHERE t.id = $2 \
         RETURNING {ASSIGNMENT_COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(task_id)
    .bind(contributor_id)
    .bind(assigned_by)
    .bind(policy_version_id)
    .fetch_one(conn)
    .await
}

/// Closes an active assignment as `released` or `authority_revoked`.
pub async fn close_assignment(
    conn: &mut PgConnection,
    assignment_id: Uuid,
    status: AssignmentStatus,
    reason: &str,
) -> Result<AssignmentRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE task_assignments SET status = $2, status_reason = $3, released_at = now() \
         WHERE id = $1 RETURNING {ASSIGNMENT_COLUMNS}"
    ))
    .bind(assignment_id)
    .bind(status.as_str())
    .bind(reason)
    .fetch_one(conn)
    .await
}

/// Active assignments a contributor holds, over all projects (the active-task cap).
pub async fn count_active_assignments(
    conn: &mut PgConnection,
    contributor_id: Uuid,
) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM task_assignments WHERE contributor_id = $1 AND status = 'active'",
    )
    .bind(contributor_id)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// Active assignments of a contributor (optionally in one project) whose task is
/// claimed or in progress: the candidates of T17.
pub async fn invalidation_candidates(
    conn: &mut PgConnection,
    contributor_id: Uuid,
    project_id: Option<Uuid>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT t.id FROM task_assignments a JOIN tasks t ON t.id = a.task_id \
         WHERE a.contributor_id = $1 AND a.status = 'active' \
         AND t.status IN ('claimed', 'in_progress') AND ($2::uuid IS NULL OR t.project_id = $2) \
         ORDER BY t.id",
    )
    .bind(contributor_id)
    .bind(project_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Whether any Submission exists for the task.
pub async fn submission_exists(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let (exists,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM submissions WHERE task_id = $1)")
            .bind(task_id)
            .fetch_one(conn)
            .await?;
    Ok(exists)
}

/// What T2 must know about a contribution policy version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct PolicyVersionReadiness {
    /// The version is `published`.
    pub published: bool,
    /// It has a rule for each contribution type.
    pub complete: bool,
    /// It has an `accepted_submission` rule.
    pub submitter_rule: bool,
    /// Every award definition pays through an active adapter binding.
    pub bindings_active: bool,
}

/// Reads the readiness of a contribution policy version (share-locked).
pub async fn policy_version_readiness(
    conn: &mut PgConnection,
    version_id: Uuid,
) -> Result<Option<PolicyVersionReadiness>, sqlx::Error> {
    sqlx::query_as(
        "SELECT v.status = 'published' AS published, \
         (SELECT count(DISTINCT contribution_type) FROM contribution_rules r WHERE r.version_id = v.id) = 2 \
             AS complete, \
         EXISTS (SELECT 1 FROM contribution_rules r WHERE r.version_id = v.id \
                 AND r.contribution_type = 'accepted_submission') AS submitter_rule, \
         NOT EXISTS (SELECT 1 FROM contribution_award_definitions d \
                     JOIN project_compensation_adapter_bindings b ON b.id = d.adapter_binding_id \
                     WHERE d.version_id = v.id AND b.status <> 'active') AS bindings_active \
         FROM contribution_policy_versions v WHERE v.id = $1 FOR SHARE OF v",
    )
    .bind(version_id)
    .fetch_optional(conn)
    .await
}

/// One line of contributor-visible compensation terms.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TermRow {
    /// `accepted_submission` or `completed_review`.
    pub contribution_type: String,
    /// `compensated` or `unpaid`.
    pub compensation_mode: String,
    /// `money` or `project_points` (none for unpaid).
    pub instrument_type: Option<String>,
    /// The unit code.
    pub unit_code: Option<String>,
    /// The exact quantity as a plain decimal without trailing zeros.
    pub quantity: Option<String>,
}

/// The rules and award definitions of a contribution policy version, by type.
pub async fn compensation_terms(
    conn: &mut PgConnection,
    version_id: Uuid,
) -> Result<Vec<TermRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.contribution_type, r.compensation_mode, d.instrument_type, d.unit_code, \
         trim_scale(d.quantity)::text AS quantity \
         FROM contribution_rules r LEFT JOIN contribution_award_definitions d ON d.rule_id = r.id \
         WHERE r.version_id = $1 ORDER BY r.contribution_type, d.instrument_type",
    )
    .bind(version_id)
    .fetch_all(conn)
    .await
}

/// What local grants say about one actor on one project (R46, R47).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authority {
    /// A human whose profile is active and whose identity link is active.
    pub active_human: bool,
    /// Active administrative grants covering the project, as (role, grant id).
    pub admin: Vec<(String, Uuid)>,
    /// Active contributor grants on exactly this project, as (role, grant id).
    pub project: Vec<(String, Uuid)>,
}

impl Authority {
    /// The grant id of an administrative role covering the project.
    pub fn admin_grant(&self, role: &str) -> Option<Uuid> {
        self.admin
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, id)| *id)
    }

    /// The grant id of a contributor role on the project.
    pub fn project_grant(&self, role: &str) -> Option<Uuid> {
        self.project
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, id)| *id)
    }
}

#[derive(sqlx::FromRow)]
struct AuthorityRow {
    kind: String,
    status: String,
    linked: bool,
    admin_roles: Vec<String>,
    admin_ids: Vec<Uuid>,
    project_roles: Vec<String>,
    project_ids: Vec<Uuid>,
}

/// Reads an actor's authority over `project_id`. With `lock`, the profile and grant rows
/// are share-locked, so a revocation cannot commit between this check and the change
/// it authorizes (the last lock of a command, R47, R50).
pub async fn authority(
    conn: &mut PgConnection,
    actor_id: Uuid,
    project_id: Uuid,
    lock: bool,
) -> Result<Authority, sqlx::Error> {
    // One round trip: every request's authority is read (and, in a command, locked)
    // by this statement, so it is one statement rather than four.
    let lock_clause = if lock { " FOR SHARE" } else { "" };
    let row: Option<AuthorityRow> = sqlx::query_as(&format!(
        "SELECT p.kind, p.status, \
           EXISTS (SELECT 1 FROM actor_identity_links \
                   WHERE actor_profile_id = p.id AND status = 'active') AS linked, \
           a.roles AS admin_roles, a.ids AS admin_ids, g.roles AS project_roles, g.ids AS project_ids \
         FROM (SELECT id, kind, status FROM actor_profiles WHERE id = $1{lock_clause}) p \
         CROSS JOIN LATERAL ( \
           SELECT coalesce(array_agg(role ORDER BY system, id), '{{}}') AS roles, \
                  coalesce(array_agg(id ORDER BY system, id), '{{}}') AS ids \
           FROM (SELECT role, id, scope_type = 'system' AS system FROM admin_role_grants \
                 WHERE target_actor_id = $1 AND status = 'active' \
                   AND (scope_type = 'system' OR scope_project_id = $2){lock_clause}) x) a \
         CROSS JOIN LATERAL ( \
           SELECT coalesce(array_agg(role ORDER BY id), '{{}}') AS roles, \
                  coalesce(array_agg(id ORDER BY id), '{{}}') AS ids \
           FROM (SELECT role, id FROM project_role_grants \
                 WHERE actor_id = $1 AND project_id = $2 AND status = 'active'{lock_clause}) x) g"
    ))
    .bind(actor_id)
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Authority::default());
    };
    let AuthorityRow {
        kind,
        status,
        linked,
        admin_roles,
        admin_ids,
        project_roles,
        project_ids,
    } = row;
    // Project-scoped grants first, so the most specific grant is the one recorded.
    let admin = admin_roles.into_iter().zip(admin_ids).collect();
    let project = project_roles.into_iter().zip(project_ids).collect();
    Ok(Authority {
        active_human: kind == "human" && status == "active" && linked,
        admin,
        project,
    })
}

/// Locks the contributor's profile row: claims by one contributor are serialized, so
/// two concurrent claims of different tasks cannot both slip under the active-task cap.
pub async fn lock_contributor(conn: &mut PgConnection, actor_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM actor_profiles WHERE id = $1 FOR UPDATE")
        .bind(actor_id)
        .execute(conn)
        .await?;
    Ok(())
}
