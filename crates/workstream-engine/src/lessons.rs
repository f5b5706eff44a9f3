//! Project lessons: repeated failures become guide, checker or policy changes, never
//! silent rule changes (docs/lifecycle.md; R51).
//!
//! A lesson is either *recorded* by a project manager ([`create`]), naming its source
//! (a checker failure, a reviewer finding, a rejected or revision-looping task, an
//! award with a reconciliation issue, or an incident), or *detected*
//! ([`detect_after_review`], run by the reputation job after every Review):
//!
//! * `repeated_revision_loop`: a task has had two or more `needs_revision` Reviews
//!   (key `repeated_revision_loop:task:<task>`, one lesson per task);
//! * `checker_failure`: one checker's error-level finding code failed three or more
//!   distinct submissions of the project (key `checker_failure:<checker>:<code>`, one
//!   lesson per project and pair). A Review looks for the findings its own task failed
//!   on: a pattern is opened by the first Review of a task that shares it once three
//!   submissions have, and counting reads the project's history only for findings of
//!   the task that have no lesson yet, so a Review's cost does not grow with the
//!   project.
//!
//! * `calibration_disagreement`: a calibration review contradicted an accept (opened by
//!   [`crate::calibration::decide`], key `calibration:<offer>`).
//!
//! The key is unique per project, so a detection that fires again (or a replayed job)
//! opens nothing new. Lifecycle: `open -> accepted | rejected`, `accepted ->
//! implemented`; implementing names the guide version or the checker component
//! (registry digest) that carries the change, and the database refuses an implemented
//! lesson without one. It may also name, as evidence, a completed policy preview of the
//! project (`crate::previews`): what the change does to the stored packets. Every change
//! writes one audit event on the project's chain.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::gate::MemberStatus;
use workstream_domain::lifecycle::{ReviewDecision, TaskState};
use workstream_domain::machines::StateMachine;
use workstream_domain::machines::lesson::LessonStatus;
use workstream_domain::machines::preview::PreviewStatus;
use workstream_domain::machines::project::GuideStatus;
use workstream_store::audit::{self, NewAuditEvent};

use crate::CommandError;
use crate::audit::record;
use crate::requester::Requester;

/// A lesson row.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Lesson {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// The guide in force when it was recorded (the project's active guide, or the
    /// task's locked guide for a detected lesson).
    pub guide_id: Option<Uuid>,
    /// That guide's version label.
    pub guide_version: Option<String>,
    /// What it was learned from.
    pub source: String,
    /// The kind of record the source points at.
    pub source_entity_type: Option<String>,
    /// The record the source points at.
    pub source_entity_id: Option<Uuid>,
    /// What should change.
    pub lesson_type: String,
    /// The lesson in a sentence or two.
    pub summary: String,
    /// The change it recommends.
    pub recommended_change: String,
    /// Where it stands in its lifecycle.
    pub status: LessonStatus,
    /// The note of the last decision on it.
    pub resolution_note: Option<String>,
    /// The key of a detected lesson.
    pub detection_key: Option<String>,
    /// The guide version that carries the change (implemented).
    pub implemented_guide_id: Option<Uuid>,
    /// The checker component that carries the change (implemented).
    pub implemented_checker_digest: Option<String>,
    /// The completed policy preview given as evidence of the change (implemented).
    pub implemented_preview_id: Option<Uuid>,
    /// The manager who recorded it (none when detected).
    pub created_by: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Who rejected or implemented it.
    pub closed_by: Option<Uuid>,
    /// When.
    pub closed_at: Option<DateTime<Utc>>,
}

/// `sqlx::query_as!` of [`Lesson`] rows: `$before` the lesson's columns `$after`.
macro_rules! lesson_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Lesson,
            $before + " id, project_id, guide_id, guide_version, source, source_entity_type, \
             source_entity_id, lesson_type, summary, recommended_change, status AS \"status: _\", resolution_note, \
             detection_key, implemented_guide_id, implemented_checker_digest, \
             implemented_preview_id, created_by, created_at, updated_at, closed_by, closed_at " + $after
            $(, $arg)*
        )
    };
}

/// The sources a lesson may have.
pub const SOURCES: &[&str] = &[
    "checker_failure",
    "reviewer_finding",
    "rejected_task",
    "repeated_revision_loop",
    "fulfillment_reconciliation_issue",
    "incident",
    "calibration_disagreement",
];

/// The lesson types.
pub const LESSON_TYPES: &[&str] = &[
    "guide_update",
    "checker_update",
    "reviewer_policy_update",
    "revision_policy_update",
    "queue_policy_update",
    "contribution_policy_update",
    "risk_note",
];

/// The input of [`create`], as a request body carries it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLesson {
    /// One of [`SOURCES`].
    pub source: String,
    /// The record the source points at; required for every source but `incident`.
    #[serde(default)]
    pub source_entity_id: Option<Uuid>,
    /// One of [`LESSON_TYPES`].
    pub lesson_type: String,
    /// 1..=2000 characters.
    pub summary: String,
    /// Up to 8000 characters.
    #[serde(default)]
    pub recommended_change: String,
}

/// The kind of record each source points at (none for an incident).
fn source_entity(source: &str) -> Option<&'static str> {
    Some(match source {
        "checker_failure" => "checker_result",
        "reviewer_finding" => "review_finding",
        "rejected_task" | "repeated_revision_loop" => "task",
        "fulfillment_reconciliation_issue" => "compensation_award",
        "calibration_disagreement" => "calibration_review",
        _ => return None,
    })
}

/// Whether `id` is one of the project's records that a lesson of `source` may point
/// at: a checker result, a reviewer's finding, a rejected task, a task, an award.
async fn source_exists(
    conn: &mut PgConnection,
    source: &str,
    id: Uuid,
    project_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let found = match source {
        "checker_failure" => sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM checker_results cr JOIN checker_runs r ON r.id = cr.checker_run_id
               JOIN tasks t ON t.id = r.task_id WHERE cr.id = $1 AND t.project_id = $2) AS "found!""#,
            id,
            project_id,
        )
        .fetch_one(conn)
        .await?,
        "reviewer_finding" => sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM review_findings f JOIN reviews r ON r.id = f.review_id
               JOIN tasks t ON t.id = r.task_id WHERE f.id = $1 AND t.project_id = $2) AS "found!""#,
            id,
            project_id,
        )
        .fetch_one(conn)
        .await?,
        "rejected_task" => sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND project_id = $2 AND status = $3) AS "found!""#,
            id,
            project_id,
            TaskState::Rejected.as_str(),
        )
        .fetch_one(conn)
        .await?,
        "repeated_revision_loop" => sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND project_id = $2) AS "found!""#,
            id,
            project_id,
        )
        .fetch_one(conn)
        .await?,
        "fulfillment_reconciliation_issue" => sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM compensation_awards WHERE id = $1 AND project_id = $2) AS "found!""#,
            id,
            project_id,
        )
        .fetch_one(conn)
        .await?,
        "calibration_disagreement" => sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM calibration_reviews WHERE id = $1 AND project_id = $2) AS "found!""#,
            id,
            project_id,
        )
        .fetch_one(conn)
        .await?,
        _ => false,
    };
    Ok(found)
}

fn audit_lesson(lesson: &Lesson, event_type: &str, from: Option<LessonStatus>) -> NewAuditEvent {
    NewAuditEvent {
        project_id: Some(lesson.project_id),
        entity_type: "project_lesson".into(),
        entity_id: Some(lesson.id),
        event_type: event_type.into(),
        from_status: from.map(|status| status.to_string()),
        to_status: Some(lesson.status.to_string()),
        payload: json!({
            "source": lesson.source,
            "source_entity_type": lesson.source_entity_type,
            "source_entity_id": lesson.source_entity_id,
            "lesson_type": lesson.lesson_type,
            "detection_key": lesson.detection_key,
            "implemented_guide_id": lesson.implemented_guide_id,
            "implemented_checker_digest": lesson.implemented_checker_digest,
            "implemented_preview_id": lesson.implemented_preview_id,
        }),
        ..Default::default()
    }
}

/// Records a lesson (`project_lesson_recorded`). An unknown source or type is 422
/// `invalid_request`; a missing or foreign source record is 422
/// `lesson_source_not_found` (a `rejected_task` source must be a rejected task).
pub async fn create(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    input: NewLesson,
) -> Result<Lesson, CommandError> {
    if !SOURCES.contains(&input.source.as_str())
        || !LESSON_TYPES.contains(&input.lesson_type.as_str())
    {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "unknown lesson source or lesson type",
        )
        .with_details(json!({ "sources": SOURCES, "lesson_types": LESSON_TYPES })));
    }
    let summary = input.summary.trim();
    if summary.is_empty()
        || summary.chars().count() > 2000
        || input.recommended_change.chars().count() > 8000
        || summary.contains('\0')
        || input.recommended_change.contains('\0')
    {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "a summary of 1 to 2000 characters and a recommended change of at most 8000 are required",
        ));
    }
    let entity_type = match (source_entity(&input.source), input.source_entity_id) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(CommandError::new(
                ErrorCode::InvalidRequest,
                "an incident lesson points at no record",
            ));
        }
        (Some(_), None) => {
            return Err(CommandError::new(
                ErrorCode::LessonSourceRequired,
                format!("a {} lesson names its source record", input.source),
            ));
        }
        (Some(entity_type), Some(id)) => {
            if !source_exists(conn, &input.source, id, project_id).await? {
                return Err(CommandError::new(
                    ErrorCode::LessonSourceNotFound,
                    format!(
                        "no {entity_type} {id} of this project fits a {} lesson",
                        input.source
                    ),
                ));
            }
            Some(entity_type)
        }
    };
    let lesson = lesson_query!(
        "INSERT INTO project_lessons (id, project_id, guide_id, guide_version, source, source_entity_type, \
         source_entity_id, lesson_type, summary, recommended_change, created_by) \
         SELECT $1, $2, g.id, g.version, $3, $4, $5, $6, $7, $8, $9 \
         FROM (SELECT 1) one LEFT JOIN project_guides g ON g.project_id = $2 AND g.status = $10 \
         RETURNING",
        "",
        Uuid::now_v7(),
        project_id,
        &input.source,
        entity_type,
        input.source_entity_id,
        &input.lesson_type,
        summary,
        &input.recommended_change,
        acting.actor_id,
        GuideStatus::Active.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        audit_lesson(&lesson, "project_lesson_recorded", None),
    )
    .await?;
    Ok(lesson)
}

/// Reads a lesson of `project_id`.
pub async fn find(
    conn: &mut PgConnection,
    project_id: Uuid,
    lesson_id: Uuid,
) -> Result<Option<Lesson>, CommandError> {
    Ok(lesson_query!(
        "SELECT",
        "FROM project_lessons WHERE id = $1 AND project_id = $2",
        lesson_id,
        project_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A page of a project's lessons by id, optionally of one status.
pub async fn list(
    conn: &mut PgConnection,
    project_id: Uuid,
    status: Option<LessonStatus>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Lesson>, CommandError> {
    Ok(lesson_query!(
        "SELECT",
        "FROM project_lessons WHERE project_id = $1 \
         AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4",
        project_id,
        status.map(LessonStatus::as_str),
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// A decision on a lesson.
#[derive(Debug, Clone)]
pub enum LessonDecision {
    /// open -> accepted, with an optional note.
    Accept {
        /// Why.
        note: Option<String>,
    },
    /// open -> rejected, with a reason.
    Reject {
        /// Why.
        reason: String,
    },
    /// accepted -> implemented, naming what carries the change.
    Implement {
        /// The guide version that carries it.
        guide_id: Option<Uuid>,
        /// The checker component (registry digest) that carries it.
        checker_digest: Option<String>,
        /// A completed policy preview of the project, as evidence of what the change
        /// does to stored packets (`crate::previews`).
        preview_id: Option<Uuid>,
        /// How.
        note: Option<String>,
    },
}

/// Applies `decision` to a lesson (`project_lesson_accepted`, `_rejected`,
/// `_implemented`). A move the lifecycle does not allow is 403
/// `transition_not_allowed`; implementing without a link is 422
/// `lesson_implementation_link_required`; a guide of another project or an unknown
/// checker is 422 `lesson_link_not_found`; a preview that is not a completed preview
/// of the project is 422 `lesson_preview_not_completed`.
pub async fn decide(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    lesson_id: Uuid,
    decision: LessonDecision,
) -> Result<Lesson, CommandError> {
    let lesson = lesson_query!(
        "SELECT",
        "FROM project_lessons WHERE id = $1 AND project_id = $2 FOR UPDATE",
        lesson_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    let (to, event) = match &decision {
        LessonDecision::Accept { .. } => (LessonStatus::Accepted, "project_lesson_accepted"),
        LessonDecision::Reject { .. } => (LessonStatus::Rejected, "project_lesson_rejected"),
        LessonDecision::Implement { .. } => {
            (LessonStatus::Implemented, "project_lesson_implemented")
        }
    };
    let from = lesson.status;
    from.transition(to)?;
    let note = |text: &Option<String>| -> Result<Option<String>, CommandError> {
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) if t.chars().count() > 4000 || t.contains('\0') => Err(CommandError::new(
                ErrorCode::InvalidRequest,
                "a note has at most 4000 characters",
            )),
            Some(t) => Ok(Some(t.to_owned())),
        }
    };
    let (note, guide, checker, preview) = match &decision {
        LessonDecision::Accept { note: n } => (note(n)?, None, None, None),
        LessonDecision::Reject { reason } => {
            (Some(crate::authority::reason(reason)?), None, None, None)
        }
        LessonDecision::Implement {
            guide_id,
            checker_digest,
            preview_id,
            note: n,
        } => {
            if guide_id.is_none() && checker_digest.is_none() {
                return Err(CommandError::new(
                    ErrorCode::LessonImplementationLinkRequired,
                    "an implemented lesson names the guide version or the checker that carries the change",
                ));
            }
            let found = sqlx::query_scalar!(
                r#"SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM project_guides WHERE id = $1 AND project_id = $3))
                   AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM checker_components WHERE digest = $2)) AS "found!""#,
                *guide_id,
                checker_digest.as_deref(),
                project_id,
            )
            .fetch_one(&mut *conn)
            .await?;
            if !found {
                return Err(CommandError::new(
                    ErrorCode::LessonLinkNotFound,
                    "the guide is not one of this project's, or no checker has that digest",
                ));
            }
            if let Some(preview_id) = preview_id {
                let completed = sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM policy_previews
                       WHERE id = $1 AND project_id = $2 AND status = $3) AS "completed!""#,
                    *preview_id,
                    project_id,
                    PreviewStatus::Completed.as_str(),
                )
                .fetch_one(&mut *conn)
                .await?;
                if !completed {
                    return Err(CommandError::new(
                        ErrorCode::LessonPreviewNotCompleted,
                        "the preview is not a completed policy preview of this project",
                    ));
                }
            }
            (note(n)?, *guide_id, checker_digest.clone(), *preview_id)
        }
    };
    let closes = to != LessonStatus::Accepted;
    let updated = lesson_query!(
        "UPDATE project_lessons SET status = $2, resolution_note = coalesce($3, resolution_note), \
         implemented_guide_id = $4, implemented_checker_digest = $5, \
         closed_by = CASE WHEN $6 THEN $7 ELSE closed_by END, \
         closed_at = CASE WHEN $6 THEN now() ELSE closed_at END, implemented_preview_id = $8 \
         WHERE id = $1 RETURNING",
        "",
        lesson_id,
        to.as_str(),
        note.as_deref(),
        guide,
        checker.as_deref(),
        closes,
        acting.actor_id,
        preview,
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut event = audit_lesson(&updated, event, Some(from));
    event.reason = note;
    record(conn, acting, event).await?;
    Ok(updated)
}

/// How many `needs_revision` Reviews make a revision loop.
pub const REVISION_LOOP_THRESHOLD: i64 = 2;
/// On how many distinct submissions one checker finding must fail to be a pattern.
pub const CHECKER_FAILURE_THRESHOLD: i64 = 3;

/// Opens the lessons a Review reveals (see the module docs); returns their ids. Runs
/// in the reputation job's transaction; detected lessons have no author and are
/// audited as `project_lesson_detected` by the system.
pub async fn detect_after_review(
    tx: &mut PgConnection,
    project_id: Uuid,
    task_id: Uuid,
    review_id: Uuid,
    decision: ReviewDecision,
) -> Result<Vec<Uuid>, CommandError> {
    let mut opened = Vec::new();
    if decision == ReviewDecision::NeedsRevision {
        let row = sqlx::query!(
            r#"SELECT (SELECT count(*) FROM reviews WHERE task_id = $1 AND decision = $2) AS "rounds!",
                      title FROM tasks WHERE id = $1"#,
            task_id,
            ReviewDecision::NeedsRevision.as_str(),
        )
        .fetch_one(&mut *tx)
        .await?;
        let (rounds, title) = (row.rounds, row.title);
        if rounds >= REVISION_LOOP_THRESHOLD {
            opened.extend(
                open_detected(
                    tx,
                    project_id,
                    Some(task_id),
                    &format!("repeated_revision_loop:task:{task_id}"),
                    "repeated_revision_loop",
                    "task",
                    task_id,
                    "revision_policy_update",
                    &format!("Task \"{title}\" needed revision {rounds} times."),
                    "Check whether the guide and the task's acceptance criteria state what the \
                     reviewers keep asking for; clarify them or the revision policy.",
                    json!({ "review_id": review_id, "needs_revision_reviews": rounds }),
                )
                .await?,
            );
        }
    }
    // Only a finding this task failed on can have become a pattern with this Review, and
    // only one with no lesson yet needs counting: the project's history is read for
    // those alone (usually none), so a Review's cost does not grow with the project.
    let patterns = sqlx::query!(
        r#"WITH candidate AS (
             SELECT DISTINCT cr.checker_name, f->>'code' AS code
             FROM checker_runs r JOIN checker_results cr ON cr.checker_run_id = r.id
             CROSS JOIN LATERAL jsonb_array_elements(cr.findings) f
             WHERE r.task_id = $4 AND cr.status = $3 AND f->>'level' = 'error'
               AND NOT EXISTS (
                 SELECT 1 FROM project_lessons l WHERE l.project_id = $1
                   AND l.detection_key = 'checker_failure:' || cr.checker_name || ':' || (f->>'code')))
           SELECT cr.checker_name AS checker, f->>'code' AS "code!",
                  count(DISTINCT r.submission_id) AS "submissions!",
                  (array_agg(cr.id ORDER BY cr.id DESC))[1] AS "latest!"
           FROM candidate c JOIN checker_results cr ON cr.checker_name = c.checker_name
           JOIN checker_runs r ON r.id = cr.checker_run_id
           JOIN tasks t ON t.id = r.task_id
           CROSS JOIN LATERAL jsonb_array_elements(cr.findings) f
           WHERE t.project_id = $1 AND cr.status = $3 AND f->>'level' = 'error'
             AND f->>'code' = c.code
           GROUP BY cr.checker_name, f->>'code' HAVING count(DISTINCT r.submission_id) >= $2
           ORDER BY 1, 2"#,
        project_id,
        CHECKER_FAILURE_THRESHOLD,
        MemberStatus::Failed.as_str(),
        task_id,
    )
    .fetch_all(&mut *tx)
    .await?;
    for pattern in patterns {
        let (checker, code, submissions, latest) = (
            pattern.checker,
            pattern.code,
            pattern.submissions,
            pattern.latest,
        );
        opened.extend(
            open_detected(
                tx,
                project_id,
                None,
                &format!("checker_failure:{checker}:{code}"),
                "checker_failure",
                "checker_result",
                latest,
                "guide_update",
                &format!("Checker {checker} failed {submissions} submissions with {code}."),
                "Explain the requirement behind this finding in the guide (or fix the checker \
                 if the finding is wrong) so that contributors meet it before submitting.",
                json!({ "checker_name": checker, "code": code, "submissions": submissions }),
            )
            .await?,
        );
    }
    Ok(opened)
}

/// Inserts a detected lesson unless its key exists; audits a new one. Reviewer
/// calibration opens its `calibration_disagreement` lessons through it too.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn open_detected(
    tx: &mut PgConnection,
    project_id: Uuid,
    task: Option<Uuid>,
    key: &str,
    source: &str,
    entity_type: &str,
    entity_id: Uuid,
    lesson_type: &str,
    summary: &str,
    recommended_change: &str,
    evidence: serde_json::Value,
) -> Result<Option<Uuid>, CommandError> {
    // The task's locked guide when there is a task; the active guide otherwise.
    let lesson = lesson_query!(
        "INSERT INTO project_lessons (id, project_id, guide_id, guide_version, source, source_entity_type, \
         source_entity_id, lesson_type, summary, recommended_change, detection_key) \
         SELECT $1, $2, coalesce(t.locked_guide_id, g.id), coalesce(t.locked_guide_version, g.version), \
                $3, $4, $5, $6, $7, $8, $9 \
         FROM (SELECT 1) one LEFT JOIN tasks t ON t.id = $10 \
         LEFT JOIN project_guides g ON g.project_id = $2 AND g.status = $11 \
         ON CONFLICT (project_id, detection_key) DO NOTHING RETURNING",
        "",
        Uuid::now_v7(),
        project_id,
        source,
        entity_type,
        entity_id,
        lesson_type,
        summary,
        recommended_change,
        key,
        task,
        GuideStatus::Active.as_str(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(lesson) = lesson else {
        return Ok(None);
    };
    let mut event = audit_lesson(&lesson, "project_lesson_detected", None);
    event.payload["evidence"] = evidence;
    audit::append(tx, event).await.map_err(|err| match err {
        audit::AuditError::Sql(sql) => CommandError::from(sql),
        other => CommandError::internal(other),
    })?;
    Ok(Some(lesson.id))
}
