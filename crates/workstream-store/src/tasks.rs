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
use workstream_domain::machines::authority::ActorStatus;
use workstream_domain::machines::compensation::AdapterBindingStatus;
use workstream_domain::machines::contribution_policy::ContributionPolicyVersionStatus;
use workstream_domain::machines::project::{GuideStatus, ProjectStatus};

/// `sqlx::query_as!` of [`TaskRow`] rows: `$before` every column of `tasks` `$after`.
macro_rules! task_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            TaskRow,
            $before + r#" id, project_id, title, description, task_type, difficulty, skill_tags,
             estimated_time_minutes, acceptance_criteria, rejection_criteria, deadline_at,
             source_type, source_ref, source_payload_hash, import_batch_id, external_task_id,
             status AS "status: _", screening_note, created_by, assigned_to, created_at,
             updated_at, locked_guide_id, locked_guide_version, locked_guide_activation_sequence,
             locked_policy_bundle_hash, locked_artifact_policy_hash, locked_checker_policy,
             locked_checker_policy_hash, locked_review_policy_hash, locked_revision_policy_hash,
             locked_contribution_policy_version_id, locked_at "# + $after
            $(, $arg)*
        )
    };
}

/// A task as stored.
///
/// It serializes as the management view shows a task, without its locks: the view
/// groups those under `locks` (`workstream-engine`'s `tasks::views`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
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
    #[serde(skip)]
    pub locked_guide_id: Option<Uuid>,
    /// Locked guide version label.
    #[serde(skip)]
    pub locked_guide_version: Option<String>,
    /// Locked guide activation sequence.
    #[serde(skip)]
    pub locked_guide_activation_sequence: Option<i32>,
    /// Locked policy bundle digest.
    #[serde(skip)]
    pub locked_policy_bundle_hash: Option<String>,
    /// Locked artifact policy digest.
    #[serde(skip)]
    pub locked_artifact_policy_hash: Option<String>,
    /// Locked checker policy body.
    #[serde(skip)]
    pub locked_checker_policy: Option<Value>,
    /// Locked checker policy digest.
    #[serde(skip)]
    pub locked_checker_policy_hash: Option<String>,
    /// Locked review policy digest.
    #[serde(skip)]
    pub locked_review_policy_hash: Option<String>,
    /// Locked revision policy digest.
    #[serde(skip)]
    pub locked_revision_policy_hash: Option<String>,
    /// Locked contribution policy version (T2).
    #[serde(skip)]
    pub locked_contribution_policy_version_id: Option<Uuid>,
    /// When the guide lock was stamped.
    #[serde(skip)]
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
    task_query!(
        "INSERT INTO tasks (id, project_id, title, description, task_type, difficulty, skill_tags, \
         estimated_time_minutes, acceptance_criteria, rejection_criteria, deadline_at, source_type, \
         source_ref, external_task_id, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         RETURNING",
        "",
        task.id,
        task.project_id,
        task.title,
        task.description,
        task.task_type.as_deref(),
        task.difficulty.as_deref(),
        &task.skill_tags,
        task.estimated_time_minutes,
        task.acceptance_criteria,
        task.rejection_criteria,
        task.deadline_at,
        task.source_type,
        task.source_ref.as_deref(),
        task.external_task_id.as_deref(),
        task.created_by,
    )
    .fetch_one(conn)
    .await
}

/// Rewrites the fields a task-setup repair may change (each `None` kept as it is) and
/// returns the row; the caller holds the task's lock and audits the repair.
pub async fn repair_setup_fields(
    conn: &mut PgConnection,
    id: Uuid,
    acceptance_criteria: Option<&str>,
    rejection_criteria: Option<&str>,
    description: Option<&str>,
) -> Result<TaskRow, sqlx::Error> {
    task_query!(
        "UPDATE tasks SET acceptance_criteria = coalesce($2, acceptance_criteria), \
           rejection_criteria = coalesce($3, rejection_criteria), \
           description = coalesce($4, description) \
         WHERE id = $1 RETURNING",
        "",
        id,
        acceptance_criteria,
        rejection_criteria,
        description,
    )
    .fetch_one(conn)
    .await
}

/// Reads a task without locking it.
pub async fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<TaskRow>, sqlx::Error> {
    task_query!("SELECT", "FROM tasks WHERE id = $1", id)
        .fetch_optional(conn)
        .await
}

/// Reads a task and locks its row until the transaction ends: the first lock of every
/// task command (order task -> assignment -> submission -> review -> authority).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<TaskRow>, sqlx::Error> {
    task_query!("SELECT", "FROM tasks WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await
}

/// A page of a project's tasks, through `$query` (`task_query` or `card_query`).
///
/// Two statements rather than `($2 IS NULL OR status = $2)`, and the cursor as a bound
/// that is always there: each page is then one range of an index
/// (`tasks_project_status_idx` or `tasks_project_idx`, migrations/0012), however many
/// tasks the project has had.
macro_rules! project_page {
    ($query:ident, $conn:expr, $project_id:expr, $status:expr, $after:expr, $limit:expr) => {
        match $status {
            Some(status) => {
                $query!(
                    "SELECT",
                    "FROM tasks WHERE project_id = $1 AND status = $2 \
                     AND id > coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid) \
                     ORDER BY id LIMIT $4",
                    $project_id,
                    status.as_str(),
                    $after,
                    $limit,
                )
                .fetch_all($conn)
                .await
            }
            None => {
                $query!(
                    "SELECT",
                    "FROM tasks WHERE project_id = $1 \
                     AND id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid) \
                     ORDER BY id LIMIT $3",
                    $project_id,
                    $after,
                    $limit,
                )
                .fetch_all($conn)
                .await
            }
        }
    };
}

/// A page of a project's tasks ordered by id, optionally only those in `status`.
pub async fn list(
    conn: &mut PgConnection,
    project_id: Uuid,
    status: Option<TaskState>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    project_page!(task_query, conn, project_id, status, after, limit)
}

/// What a contributor's list shows of a task: [`TaskRow`] without the locked policies,
/// screening note and import fields, which a page of fifty would otherwise decode for
/// nothing (the locked checker policy alone is kilobytes of JSON per task).
#[derive(Debug, Clone, PartialEq)]
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

/// `sqlx::query_as!` of [`TaskCard`] rows: `$before` the card's columns `$after`.
macro_rules! card_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            TaskCard,
            $before + r#" id, project_id, title, description, task_type, difficulty, skill_tags,
             estimated_time_minutes, acceptance_criteria, rejection_criteria, deadline_at,
             status AS "status: _", locked_guide_version, assigned_to,
             locked_contribution_policy_version_id, created_at "# + $after
            $(, $arg)*
        )
    };
}

/// [`list`] as [`TaskCard`]s.
pub async fn list_cards(
    conn: &mut PgConnection,
    project_id: Uuid,
    status: Option<TaskState>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<TaskCard>, sqlx::Error> {
    project_page!(card_query, conn, project_id, status, after, limit)
}

/// The values a screening stamps: the identity and hashes of the project's active guide.
#[derive(Debug, Clone, PartialEq)]
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
    // An active guide has its sequence, its bundle's digests and its contribution policy
    // version (`project_guides_lifecycle_shape`, `project_guides_bundle_shape`); the `!`
    // marks say so, and restate `NOT NULL`s the view does not carry.
    sqlx::query_as!(
        GuideLock,
        r#"SELECT id AS "id!", version AS "version!", activation_sequence AS "activation_sequence!",
         policy_bundle_hash AS "policy_bundle_hash!", artifact_policy_hash AS "artifact_policy_hash!",
         policy_bundle -> 'checker_policy' AS "checker_policy!",
         checker_policy_hash AS "checker_policy_hash!", review_policy_hash AS "review_policy_hash!",
         revision_policy_hash AS "revision_policy_hash!",
         contribution_policy_version_id AS "contribution_policy_version_id!"
         FROM active_project_guides WHERE project_id = $1
         AND jsonb_typeof(policy_bundle -> 'checker_policy') = 'object' FOR SHARE"#,
        project_id,
    )
    .fetch_optional(conn)
    .await
}

/// The status of a guide, share-locked.
pub async fn guide_status(
    conn: &mut PgConnection,
    guide_id: Uuid,
) -> Result<Option<(GuideStatus, Option<Uuid>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT status AS "status: GuideStatus", contribution_policy_version_id
           FROM project_guides WHERE id = $1 FOR SHARE"#,
        guide_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.status, row.contribution_policy_version_id)))
}

/// The policy bundle of a guide.
pub async fn guide_bundle(
    conn: &mut PgConnection,
    guide_id: Uuid,
) -> Result<Option<Value>, sqlx::Error> {
    let bundle = sqlx::query_scalar!(
        "SELECT policy_bundle FROM project_guides WHERE id = $1",
        guide_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(bundle.flatten())
}

/// A project's status, or `None` if it does not exist.
pub async fn project_status(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Option<ProjectStatus>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT status AS "status: ProjectStatus" FROM projects WHERE id = $1"#,
        project_id
    )
    .fetch_optional(conn)
    .await
}

/// T1: takes a draft task where `decision` leads (`screening`) and stamps the whole
/// guide lock.
pub async fn stamp_screening(
    conn: &mut PgConnection,
    task_id: Uuid,
    decision: &Decision,
    guide: &GuideLock,
) -> Result<TaskRow, sqlx::Error> {
    task_query!(
        "UPDATE tasks SET status = $11, screening_note = NULL, locked_guide_id = $2, \
         locked_guide_version = $3, locked_guide_activation_sequence = $4, \
         locked_policy_bundle_hash = $5, locked_artifact_policy_hash = $6, \
         locked_checker_policy = $7, locked_checker_policy_hash = $8, \
         locked_review_policy_hash = $9, locked_revision_policy_hash = $10, locked_at = now() \
         WHERE id = $1 AND status = $12 RETURNING",
        "",
        task_id,
        guide.id,
        guide.version,
        guide.activation_sequence,
        guide.policy_bundle_hash,
        guide.artifact_policy_hash,
        guide.checker_policy,
        guide.checker_policy_hash,
        guide.review_policy_hash,
        guide.revision_policy_hash,
        decision.to.as_str(),
        decision.from.as_str(),
    )
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
    task_query!(
        "UPDATE tasks SET status = $3, locked_contribution_policy_version_id = $2 \
         WHERE id = $1 AND status = $4 RETURNING",
        "",
        task_id,
        contribution_policy_version_id,
        decision.to.as_str(),
        decision.from.as_str(),
    )
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
    task_query!(
        "UPDATE tasks SET status = $3, screening_note = $2, locked_guide_id = NULL, \
         locked_guide_version = NULL, locked_guide_activation_sequence = NULL, \
         locked_policy_bundle_hash = NULL, locked_artifact_policy_hash = NULL, \
         locked_checker_policy = NULL, locked_checker_policy_hash = NULL, \
         locked_review_policy_hash = NULL, locked_revision_policy_hash = NULL, locked_at = NULL, \
         locked_contribution_policy_version_id = NULL \
         WHERE id = $1 AND status = $4 RETURNING",
        "",
        task_id,
        note,
        decision.to.as_str(),
        decision.from.as_str(),
    )
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
    task_query!(
        "UPDATE tasks SET status = $2, assigned_to = $3 WHERE id = $1 AND status = $4 \
         RETURNING",
        "",
        task_id,
        decision.to.as_str(),
        assigned_to,
        decision.from.as_str(),
    )
    .fetch_one(conn)
    .await
}

/// A task assignment as stored.
#[derive(Debug, Clone, PartialEq)]
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
    /// Where the assignment is in its lifecycle.
    pub status: AssignmentStatus,
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

/// `sqlx::query_as!` of [`AssignmentRow`] rows: `$before` the assignment's columns
/// `$after`. The `!` marks restate the table's `NOT NULL`s for reads through the view
/// `active_task_assignments`, whose columns PostgreSQL describes as nullable.
macro_rules! assignment_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            AssignmentRow,
            $before + r#" id AS "id!", task_id AS "task_id!", contributor_id AS "contributor_id!",
             assigned_by AS "assigned_by!",
             submitter_contribution_policy_version_id AS "submitter_contribution_policy_version_id!",
             status AS "status!: _", status_reason, assigned_at AS "assigned_at!", released_at,
             due_at "# + $after
            $(, $arg)*
        )
    };
}

/// The task's active assignment, locked (the second lock of a task command).
pub async fn lock_active_assignment(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Option<AssignmentRow>, sqlx::Error> {
    assignment_query!(
        "SELECT",
        "FROM active_task_assignments WHERE task_id = $1 FOR UPDATE",
        task_id,
    )
    .fetch_optional(conn)
    .await
}

/// The task's active assignment, unlocked (read views).
pub async fn active_assignment(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Option<AssignmentRow>, sqlx::Error> {
    assignment_query!(
        "SELECT",
        "FROM active_task_assignments WHERE task_id = $1",
        task_id,
    )
    .fetch_optional(conn)
    .await
}

/// The active assignments of `task_ids` (at most one each), in one statement: what a
/// page of tasks shows beside each.
pub async fn active_assignments(
    conn: &mut PgConnection,
    task_ids: &[Uuid],
) -> Result<Vec<AssignmentRow>, sqlx::Error> {
    assignment_query!(
        "SELECT",
        "FROM active_task_assignments WHERE task_id = ANY($1)",
        task_ids,
    )
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
    assignment_query!(
        "INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, \
         submitter_contribution_policy_version_id, due_at) \
         SELECT $1, $2, $3, $4, $5, least(t.deadline_at, now() + make_interval(mins => \
             t.estimated_time_minutes * (g.policy_bundle -> 'revision_policy' ->> 'due_time_factor')::int)) \
         FROM tasks t LEFT JOIN project_guides g ON g.id = t.locked_guide_id WHERE t.id = $2 \
         RETURNING",
        "",
        Uuid::now_v7(),
        task_id,
        contributor_id,
        assigned_by,
        policy_version_id,
    )
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
    assignment_query!(
        "UPDATE task_assignments SET status = $2, status_reason = $3, released_at = now() \
         WHERE id = $1 RETURNING",
        "",
        assignment_id,
        status.as_str(),
        reason,
    )
    .fetch_one(conn)
    .await
}

/// Active assignments a contributor holds, over all projects (the active-task cap).
pub async fn count_active_assignments(
    conn: &mut PgConnection,
    contributor_id: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM task_assignments
         WHERE contributor_id = $1 AND status = $2"#,
        contributor_id,
        AssignmentStatus::Active.as_str(),
    )
    .fetch_one(conn)
    .await
}

/// Active assignments of a contributor (optionally in one project) whose task is
/// claimed or in progress: the candidates of T17.
pub async fn invalidation_candidates(
    conn: &mut PgConnection,
    contributor_id: Uuid,
    project_id: Option<Uuid>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT t.id FROM task_assignments a JOIN tasks t ON t.id = a.task_id \
         WHERE a.contributor_id = $1 AND a.status = $3 \
         AND t.status IN ($4, $5) AND ($2::uuid IS NULL OR t.project_id = $2) \
         ORDER BY t.id",
        contributor_id,
        project_id,
        AssignmentStatus::Active.as_str(),
        TaskState::Claimed.as_str(),
        TaskState::InProgress.as_str(),
    )
    .fetch_all(conn)
    .await
}

/// Whether any Submission exists for the task.
pub async fn submission_exists(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM submissions WHERE task_id = $1) AS "exists!""#,
        task_id,
    )
    .fetch_one(conn)
    .await
}

/// What T2 must know about a contribution policy version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    sqlx::query_as!(
        PolicyVersionReadiness,
        r#"SELECT v.status = $2 AS "published!",
         (SELECT count(DISTINCT contribution_type) FROM contribution_rules r WHERE r.version_id = v.id) = 2
             AS "complete!",
         EXISTS (SELECT 1 FROM contribution_rules r WHERE r.version_id = v.id
                 AND r.contribution_type = 'accepted_submission') AS "submitter_rule!",
         NOT EXISTS (SELECT 1 FROM contribution_award_definitions d
                     JOIN project_compensation_adapter_bindings b ON b.id = d.adapter_binding_id
                     WHERE d.version_id = v.id AND b.status <> $3) AS "bindings_active!"
         FROM contribution_policy_versions v WHERE v.id = $1 FOR SHARE OF v"#,
        version_id,
        ContributionPolicyVersionStatus::Published.as_str(),
        AdapterBindingStatus::Active.as_str(),
    )
    .fetch_optional(conn)
    .await
}

/// One line of contributor-visible compensation terms.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    sqlx::query_as!(
        TermRow,
        r#"SELECT r.contribution_type, r.compensation_mode, d.instrument_type AS "instrument_type?",
         d.unit_code AS "unit_code?", trim_scale(d.quantity)::text AS quantity
         FROM contribution_rules r LEFT JOIN contribution_award_definitions d ON d.rule_id = r.id
         WHERE r.version_id = $1 ORDER BY r.contribution_type, d.instrument_type"#,
        version_id,
    )
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

struct AuthorityRow {
    kind: String,
    status: ActorStatus,
    linked: bool,
    admin_roles: Vec<String>,
    admin_ids: Vec<Uuid>,
    project_roles: Vec<String>,
    project_ids: Vec<Uuid>,
}

/// `sqlx::query_as!` of the [`AuthorityRow`] of actor `$1` on project `$2`, with
/// `$lock` (`""` or `" FOR SHARE"`) after each of the rows it reads. The link and
/// grants are read through the views of the active ones (migrations/0016_live_rows.sql),
/// so each walks its partial index. `$3` is the active actor status.
macro_rules! authority_query {
    ($lock:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            AuthorityRow,
            r#"SELECT p.kind AS "kind!", p.status AS "status!: _",
               EXISTS (SELECT 1 FROM active_identity_links
                       WHERE actor_profile_id = p.id) AS "linked!",
               a.roles AS "admin_roles!", a.ids AS "admin_ids!",
               g.roles AS "project_roles!", g.ids AS "project_ids!"
             FROM (SELECT id, kind, status FROM actor_profiles WHERE id = $1"# + $lock + r#") p
             CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(role ORDER BY system, id), '{}') AS roles,
                      coalesce(array_agg(id ORDER BY system, id), '{}') AS ids
               FROM (SELECT role, id, scope_type = 'system' AS system FROM active_admin_role_grants
                     WHERE target_actor_id = $1
                       AND (scope_type = 'system' OR scope_project_id = $2)"# + $lock + r#") x) a
             CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(role ORDER BY id), '{}') AS roles,
                      coalesce(array_agg(id ORDER BY id), '{}') AS ids
               FROM (SELECT role, id FROM active_project_role_grants
                     WHERE actor_id = $1 AND project_id = $2"# + $lock + r#") x) g"#
            $(, $arg)*
        )
    };
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
    let row = if lock {
        authority_query!(" FOR SHARE", actor_id, project_id)
            .fetch_optional(&mut *conn)
            .await?
    } else {
        authority_query!("", actor_id, project_id)
            .fetch_optional(&mut *conn)
            .await?
    };
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
        active_human: kind == "human" && status == ActorStatus::Active && linked,
        admin,
        project,
    })
}

/// Locks the contributor's profile row: claims by one contributor are serialized, so
/// two concurrent claims of different tasks cannot both slip under the active-task cap.
pub async fn lock_contributor(conn: &mut PgConnection, actor_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT 1 AS locked FROM actor_profiles WHERE id = $1 FOR UPDATE",
        actor_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(())
}
