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
//!   lesson per project and pair).
//!
//! The key is unique per project, so a detection that fires again (or a replayed job)
//! opens nothing new. Lifecycle: `open -> accepted | rejected`, `accepted ->
//! implemented`; implementing names the guide version or the checker component
//! (registry digest) that carries the change, and the database refuses an implemented
//! lesson without one. Every change writes one audit event on the project's chain.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_store::audit::{self, NewAuditEvent};

use crate::CommandError;
use crate::audit::record;
use crate::requester::Requester;

/// A lesson row.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, sqlx::FromRow)]
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
    /// open, accepted, rejected, implemented.
    pub status: String,
    /// The note of the last decision on it.
    pub resolution_note: Option<String>,
    /// The key of a detected lesson.
    pub detection_key: Option<String>,
    /// The guide version that carries the change (implemented).
    pub implemented_guide_id: Option<Uuid>,
    /// The checker component that carries the change (implemented).
    pub implemented_checker_digest: Option<String>,
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

const COLUMNS: &str = "id, project_id, guide_id, guide_version, source, source_entity_type, \
    source_entity_id, lesson_type, summary, recommended_change, status, resolution_note, \
    detection_key, implemented_guide_id, implemented_checker_digest, created_by, created_at, \
    updated_at, closed_by, closed_at";

/// The sources a lesson may have.
pub const SOURCES: &[&str] = &[
    "checker_failure",
    "reviewer_finding",
    "rejected_task",
    "repeated_revision_loop",
    "fulfillment_reconciliation_issue",
    "incident",
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

/// The input of [`create`].
#[derive(Debug, Clone)]
pub struct NewLesson {
    /// One of [`SOURCES`].
    pub source: String,
    /// The record the source points at; required for every source but `incident`.
    pub source_entity_id: Option<Uuid>,
    /// One of [`LESSON_TYPES`].
    pub lesson_type: String,
    /// 1..=2000 characters.
    pub summary: String,
    /// Up to 8000 characters.
    pub recommended_change: String,
}

/// The kind of record each source points at, and the SQL that finds one of the
/// project's records of that kind (`$1` id, `$2` project).
fn source_entity(source: &str) -> Option<(&'static str, &'static str)> {
    Some(match source {
        "checker_failure" => (
            "checker_result",
            "SELECT EXISTS (SELECT 1 FROM checker_results cr JOIN checker_runs r ON r.id = cr.checker_run_id \
             JOIN tasks t ON t.id = r.task_id WHERE cr.id = $1 AND t.project_id = $2)",
        ),
        "reviewer_finding" => (
            "review_finding",
            "SELECT EXISTS (SELECT 1 FROM review_findings f JOIN reviews r ON r.id = f.review_id \
             JOIN tasks t ON t.id = r.task_id WHERE f.id = $1 AND t.project_id = $2)",
        ),
        "rejected_task" => (
            "task",
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND project_id = $2 AND status = 'rejected')",
        ),
        "repeated_revision_loop" => (
            "task",
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND project_id = $2)",
        ),
        "fulfillment_reconciliation_issue" => (
            "compensation_award",
            "SELECT EXISTS (SELECT 1 FROM compensation_awards WHERE id = $1 AND project_id = $2)",
        ),
        _ => return None,
    })
}

fn audit_lesson(lesson: &Lesson, event_type: &str, from: Option<&str>) -> NewAuditEvent {
    NewAuditEvent {
        project_id: Some(lesson.project_id),
        entity_type: "project_lesson".into(),
        entity_id: Some(lesson.id),
        event_type: event_type.into(),
        from_status: from.map(str::to_owned),
        to_status: Some(lesson.status.clone()),
        payload: json!({
            "source": lesson.source,
            "source_entity_type": lesson.source_entity_type,
            "source_entity_id": lesson.source_entity_id,
            "lesson_type": lesson.lesson_type,
            "detection_key": lesson.detection_key,
            "implemented_guide_id": lesson.implemented_guide_id,
            "implemented_checker_digest": lesson.implemented_checker_digest,
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
        (Some((entity_type, exists)), Some(id)) => {
            let found: bool = sqlx::query_scalar(exists)
                .bind(id)
                .bind(project_id)
                .fetch_one(&mut *conn)
                .await?;
            if !found {
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
    let lesson: Lesson = sqlx::query_as(&format!(
        "INSERT INTO project_lessons (id, project_id, guide_id, guide_version, source, source_entity_type, \
         source_entity_id, lesson_type, summary, recommended_change, created_by) \
         SELECT $1, $2, g.id, g.version, $3, $4, $5, $6, $7, $8, $9 \
         FROM (SELECT 1) one LEFT JOIN project_guides g ON g.project_id = $2 AND g.status = 'active' \
         RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(project_id)
    .bind(&input.source)
    .bind(entity_type)
    .bind(input.source_entity_id)
    .bind(&input.lesson_type)
    .bind(summary)
    .bind(&input.recommended_change)
    .bind(acting.actor_id)
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
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM project_lessons WHERE id = $1 AND project_id = $2"
    ))
    .bind(lesson_id)
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// A page of a project's lessons by id, optionally of one status.
pub async fn list(
    conn: &mut PgConnection,
    project_id: Uuid,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Lesson>, CommandError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM project_lessons WHERE project_id = $1 \
         AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4"
    ))
    .bind(project_id)
    .bind(status)
    .bind(after)
    .bind(i64::from(limit))
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
        /// How.
        note: Option<String>,
    },
}

/// Applies `decision` to a lesson (`project_lesson_accepted`, `_rejected`,
/// `_implemented`). A move the lifecycle does not allow is 403
/// `transition_not_allowed`; implementing without a link is 422
/// `lesson_implementation_link_required`; a guide of another project or an unknown
/// checker is 422 `lesson_link_not_found`.
pub async fn decide(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    lesson_id: Uuid,
    decision: LessonDecision,
) -> Result<Lesson, CommandError> {
    let lesson: Lesson = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM project_lessons WHERE id = $1 AND project_id = $2 FOR UPDATE"
    ))
    .bind(lesson_id)
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    let (from, to, event) = match &decision {
        LessonDecision::Accept { .. } => ("open", "accepted", "project_lesson_accepted"),
        LessonDecision::Reject { .. } => ("open", "rejected", "project_lesson_rejected"),
        LessonDecision::Implement { .. } => {
            ("accepted", "implemented", "project_lesson_implemented")
        }
    };
    if lesson.status != from {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            format!("a {} lesson cannot become {to}", lesson.status),
        )
        .with_details(json!({ "from": lesson.status, "to": to })));
    }
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
    let (note, guide, checker) = match &decision {
        LessonDecision::Accept { note: n } => (note(n)?, None, None),
        LessonDecision::Reject { reason } => (Some(crate::authority::reason(reason)?), None, None),
        LessonDecision::Implement {
            guide_id,
            checker_digest,
            note: n,
        } => {
            if guide_id.is_none() && checker_digest.is_none() {
                return Err(CommandError::new(
                    ErrorCode::LessonImplementationLinkRequired,
                    "an implemented lesson names the guide version or the checker that carries the change",
                ));
            }
            let found: bool = sqlx::query_scalar(
                "SELECT ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM project_guides WHERE id = $1 AND project_id = $3)) \
                 AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM checker_components WHERE digest = $2))",
            )
            .bind(guide_id)
            .bind(checker_digest)
            .bind(project_id)
            .fetch_one(&mut *conn)
            .await?;
            if !found {
                return Err(CommandError::new(
                    ErrorCode::LessonLinkNotFound,
                    "the guide is not one of this project's, or no checker has that digest",
                ));
            }
            (note(n)?, *guide_id, checker_digest.clone())
        }
    };
    let closes = to != "accepted";
    let updated: Lesson = sqlx::query_as(&format!(
        "UPDATE project_lessons SET status = $2, resolution_note = coalesce($3, resolution_note), \
         implemented_guide_id = $4, implemented_checker_digest = $5, \
         closed_by = CASE WHEN $6 THEN $7 ELSE closed_by END, \
         closed_at = CASE WHEN $6 THEN now() ELSE closed_at END \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(lesson_id)
    .bind(to)
    .bind(&note)
    .bind(guide)
    .bind(checker)
    .bind(closes)
    .bind(acting.actor_id)
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
    decision: &str,
) -> Result<Vec<Uuid>, CommandError> {
    let mut opened = Vec::new();
    if decision == "needs_revision" {
        let (rounds, title): (i64, String) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM reviews WHERE task_id = $1 AND decision = 'needs_revision'), \
             title FROM tasks WHERE id = $1",
        )
        .bind(task_id)
        .fetch_one(&mut *tx)
        .await?;
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
    let patterns: Vec<(String, String, i64, Uuid)> = sqlx::query_as(
        "SELECT cr.checker_name, f->>'code' AS code, count(DISTINCT r.submission_id) AS submissions, \
         (array_agg(cr.id ORDER BY cr.id DESC))[1] AS latest_result \
         FROM checker_results cr JOIN checker_runs r ON r.id = cr.checker_run_id \
         JOIN tasks t ON t.id = r.task_id \
         CROSS JOIN LATERAL jsonb_array_elements(cr.findings) f \
         WHERE t.project_id = $1 AND cr.status = 'failed' AND f->>'level' = 'error' \
         GROUP BY cr.checker_name, f->>'code' HAVING count(DISTINCT r.submission_id) >= $2 \
         ORDER BY 1, 2",
    )
    .bind(project_id)
    .bind(CHECKER_FAILURE_THRESHOLD)
    .fetch_all(&mut *tx)
    .await?;
    for (checker, code, submissions, latest) in patterns {
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

/// Inserts a detected lesson unless its key exists; audits a new one.
#[allow(clippy::too_many_arguments)]
async fn open_detected(
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
    let lesson: Option<Lesson> = sqlx::query_as(&format!(
        "INSERT INTO project_lessons (id, project_id, guide_id, guide_version, source, source_entity_type, \
         source_entity_id, lesson_type, summary, recommended_change, detection_key) \
         SELECT $1, $2, coalesce(t.locked_guide_id, g.id), coalesce(t.locked_guide_version, g.version), \
                $3, $4, $5, $6, $7, $8, $9 \
         FROM (SELECT 1) one LEFT JOIN tasks t ON t.id = $10 \
         LEFT JOIN project_guides g ON g.project_id = $2 AND g.status = 'active' \
         ON CONFLICT (project_id, detection_key) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(project_id)
    .bind(source)
    .bind(entity_type)
    .bind(entity_id)
    .bind(lesson_type)
    .bind(summary)
    .bind(recommended_change)
    .bind(key)
    .bind(task)
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
