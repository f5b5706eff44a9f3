//! Evaluation sprints: a named group of a project's tasks with a time window and a
//! report (docs/glossary.md, "Sprint").
//!
//! A sprint is a reporting lens only: adding a task to one changes nothing about the
//! task, its queue, its reviews or its pay. [`generate_report`] reads the member tasks'
//! records and stores the result on the sprint with `report_generated_at`; generating
//! again replaces it (the audit trail keeps each generation's summary).
//!
//! What the report counts. Task states are the current ones. Everything else counts
//! only records of member tasks dated inside the window `[starts_at, ends_at)`:
//! submissions by `submitted_at`, Reviews by `completed_at`, checker runs by
//! `created_at`, awards by `created_at`.
//!
//! * `reviews`: decisions by kind and the acceptance / revision / rejection rates (each
//!   kind over all decisions, 4 decimals; null without decisions);
//! * `review_rounds`: per task with a Review, how many Reviews it had (mean, max and the
//!   distribution);
//! * `turnaround_seconds`: per task with a final decision (accept or reject) in the
//!   window, from its first submission to that decision; p50 and p90 are
//!   `percentile_disc` (an observed value, never an interpolation);
//! * `checker_failures`: failed member results by checker, and error-level finding codes
//!   by (checker, code) with the distinct submissions they failed;
//! * `payments`: awards by instrument and unit, with totals and the fulfilled / not yet
//!   fulfilled split from the status projection (decimals as exact strings);
//! * `calibration`: the member tasks' Reviews of the window that reviewer calibration
//!   sampled ([`crate::calibration::figures`]): sampled, recorded, waiting and expired,
//!   the decision agreement rate, the mean finding overlap and the contradicted accepts,
//!   in total and per reviewer whose Reviews were sampled.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::gate::MemberStatus;
use workstream_domain::lifecycle::{ReviewDecision, TaskState};
use workstream_domain::machines::compensation::FulfilmentStatus;
use workstream_store::audit::NewAuditEvent;

use crate::CommandError;
use crate::audit::record;
use crate::requester::Requester;

/// A sprint with its member tasks.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Sprint {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// Unique within the project.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Window start (inclusive).
    pub starts_at: DateTime<Utc>,
    /// Window end (exclusive).
    pub ends_at: DateTime<Utc>,
    /// The member tasks, by id.
    pub task_ids: Vec<Uuid>,
    /// The last generated report.
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub report: Option<Value>,
    /// When it was generated.
    pub report_generated_at: Option<DateTime<Utc>>,
    /// The manager who created it.
    pub created_by: Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// `sqlx::query_as!` of [`Sprint`] rows: the sprint `s` with its member tasks, then
/// `$after` (what follows `FROM evaluation_sprints s`).
macro_rules! sprint_query {
    ($after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Sprint,
            r#"SELECT s.id, s.project_id, s.name, s.description, s.starts_at, s.ends_at,
               coalesce((SELECT array_agg(m.task_id ORDER BY m.task_id) FROM evaluation_sprint_tasks m
                         WHERE m.sprint_id = s.id), '{}') AS "task_ids!",
               s.report, s.report_generated_at, s.created_by, s.created_at, s.updated_at
               FROM evaluation_sprints s "# + $after
            $(, $arg)*
        )
    };
}

/// The input of [`create`], as a request body carries it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSprint {
    /// 1..=200 characters, unique in the project.
    pub name: String,
    /// Up to 4000 characters.
    #[serde(default)]
    pub description: String,
    /// Window start.
    pub starts_at: DateTime<Utc>,
    /// Window end, after the start.
    pub ends_at: DateTime<Utc>,
    /// Member tasks of the project.
    #[serde(default)]
    pub task_ids: Vec<Uuid>,
}

/// The most tasks one request may add.
pub const MAX_TASKS_PER_REQUEST: usize = 1000;

/// Creates a sprint with its tasks (`evaluation_sprint_created`). A window that does
/// not end after it starts is 422 `sprint_window_invalid`; a taken name is 409
/// `sprint_name_exists`; a task that is not the project's is 422
/// `sprint_task_not_found` (`details.task_ids`).
pub async fn create(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    input: NewSprint,
) -> Result<Sprint, CommandError> {
    let name = input.name.trim();
    if name.is_empty()
        || name.chars().count() > 200
        || input.description.chars().count() > 4000
        || name.contains('\0')
        || input.description.contains('\0')
    {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "a name of 1 to 200 characters and a description of at most 4000 are required",
        ));
    }
    if input.ends_at <= input.starts_at {
        return Err(CommandError::new(
            ErrorCode::SprintWindowInvalid,
            "a sprint's window ends after it starts",
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO evaluation_sprints (id, project_id, name, description, starts_at, ends_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        project_id,
        name,
        &input.description,
        input.starts_at,
        input.ends_at,
        acting.actor_id,
    )
    .execute(&mut *conn)
    .await?;
    let added = insert_tasks(conn, acting, project_id, id, &input.task_ids).await?;
    let sprint = find(conn, project_id, id)
        .await?
        .ok_or_else(|| CommandError::internal("a sprint vanished"))?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "evaluation_sprint".into(),
            entity_id: Some(id),
            event_type: "evaluation_sprint_created".into(),
            payload: json!({ "name": sprint.name, "starts_at": sprint.starts_at, "ends_at": sprint.ends_at, "task_ids": added }),
            ..Default::default()
        },
    )
    .await?;
    Ok(sprint)
}

/// Adds tasks to a sprint (`evaluation_sprint_tasks_added`, naming the tasks that were
/// not members yet); tasks already in it are ignored.
pub async fn add_tasks(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    sprint_id: Uuid,
    task_ids: &[Uuid],
) -> Result<Sprint, CommandError> {
    let exists = sqlx::query_scalar!(
        "SELECT id FROM evaluation_sprints WHERE id = $1 AND project_id = $2 FOR UPDATE",
        sprint_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if exists.is_none() {
        return Err(CommandError::not_found());
    }
    if task_ids.is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "name at least one task to add",
        ));
    }
    let added = insert_tasks(conn, acting, project_id, sprint_id, task_ids).await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "evaluation_sprint".into(),
            entity_id: Some(sprint_id),
            event_type: "evaluation_sprint_tasks_added".into(),
            payload: json!({ "task_ids": added }),
            ..Default::default()
        },
    )
    .await?;
    find(conn, project_id, sprint_id)
        .await?
        .ok_or_else(|| CommandError::internal("a sprint vanished"))
}

/// Checks that every id is a task of the project and inserts the new memberships;
/// returns the ids added now.
async fn insert_tasks(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    sprint_id: Uuid,
    task_ids: &[Uuid],
) -> Result<Vec<Uuid>, CommandError> {
    if task_ids.len() > MAX_TASKS_PER_REQUEST {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            format!("at most {MAX_TASKS_PER_REQUEST} tasks per request"),
        ));
    }
    let missing = sqlx::query_scalar!(
        r#"SELECT DISTINCT x AS "x!" FROM unnest($1::uuid[]) x
           WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = x AND t.project_id = $2) ORDER BY 1"#,
        task_ids,
        project_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    if !missing.is_empty() {
        return Err(CommandError::new(
            ErrorCode::SprintTaskNotFound,
            "some tasks are not tasks of this project",
        )
        .with_details(json!({ "task_ids": missing })));
    }
    Ok(sqlx::query_scalar!(
        "INSERT INTO evaluation_sprint_tasks (sprint_id, task_id, project_id, added_by) \
         SELECT $1, x, $2, $3 FROM (SELECT DISTINCT x FROM unnest($4::uuid[]) x) d ORDER BY x \
         ON CONFLICT (sprint_id, task_id) DO NOTHING RETURNING task_id",
        sprint_id,
        project_id,
        acting.actor_id,
        task_ids,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Reads a sprint of `project_id`.
pub async fn find(
    conn: &mut PgConnection,
    project_id: Uuid,
    sprint_id: Uuid,
) -> Result<Option<Sprint>, CommandError> {
    Ok(sprint_query!(
        "WHERE s.id = $1 AND s.project_id = $2",
        sprint_id,
        project_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A page of a project's sprints by id.
pub async fn list(
    conn: &mut PgConnection,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Sprint>, CommandError> {
    Ok(sprint_query!(
        "WHERE s.project_id = $1 AND ($2::uuid IS NULL OR s.id > $2) ORDER BY s.id LIMIT $3",
        project_id,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?)
}

fn rate(part: i64, total: i64) -> Value {
    if total == 0 {
        Value::Null
    } else {
        // Exact to 4 places: integer arithmetic, rounded half up.
        let scaled = (part * 100_000 / total + 5) / 10;
        json!(scaled as f64 / 10_000.0)
    }
}

/// Computes the sprint's report from the records (see the module docs), stores it with
/// `report_generated_at` and records `evaluation_sprint_report_generated`.
pub async fn generate_report(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    sprint_id: Uuid,
) -> Result<Sprint, CommandError> {
    let window = lock_window(conn, project_id, sprint_id).await?;
    let report = Report::read(conn, &window).await?;
    sqlx::query!(
        "UPDATE evaluation_sprints SET report = $2, report_generated_at = now() WHERE id = $1",
        sprint_id,
        report.to_json(),
    )
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "evaluation_sprint".into(),
            entity_id: Some(sprint_id),
            event_type: "evaluation_sprint_report_generated".into(),
            payload: report.summary(),
            ..Default::default()
        },
    )
    .await?;
    find(conn, project_id, sprint_id)
        .await?
        .ok_or_else(|| CommandError::internal("a sprint vanished"))
}

/// The sprint a report reads and its window `[starts_at, ends_at)`.
#[derive(Debug, Clone, Copy)]
struct Window {
    sprint_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

/// Locks sprint `sprint_id` of `project_id` for the generation and reads its window.
async fn lock_window(
    conn: &mut PgConnection,
    project_id: Uuid,
    sprint_id: Uuid,
) -> Result<Window, CommandError> {
    sqlx::query_as!(
        Window,
        "SELECT id AS sprint_id, starts_at, ends_at FROM evaluation_sprints \
         WHERE id = $1 AND project_id = $2 FOR UPDATE",
        sprint_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)
}

/// How many member tasks are in one state now.
#[derive(Debug)]
struct StatusCount {
    status: TaskState,
    tasks: i64,
}

/// The Reviews of member tasks completed in the window, by decision.
#[derive(Debug)]
struct Decisions {
    accept: i64,
    needs_revision: i64,
    reject: i64,
}

impl Decisions {
    fn total(&self) -> i64 {
        self.accept + self.needs_revision + self.reject
    }
}

/// How many member tasks had `reviews` Reviews completed in the window.
#[derive(Debug)]
struct RoundCount {
    reviews: i64,
    tasks: i64,
}

/// From first submission to final decision, over the tasks decided in the window.
#[derive(Debug)]
struct Turnaround {
    decided_tasks: i64,
    p50: Option<i64>,
    p90: Option<i64>,
}

/// One checker's failed and errored results on member runs of the window.
#[derive(Debug)]
struct CheckerFailures {
    checker_name: String,
    failed: i64,
    errored: i64,
}

/// One (checker, error-level finding code) of failed member results of the window.
#[derive(Debug)]
struct FindingCodeFailures {
    checker_name: String,
    code: String,
    findings: i64,
    submissions: i64,
}

/// The awards of member tasks made in the window, in one instrument and unit (totals
/// as exact decimal strings).
#[derive(Debug)]
struct UnitPayments {
    instrument_type: String,
    unit_code: String,
    awards: i64,
    total: String,
    fulfilled_awards: i64,
    fulfilled_total: String,
    pending_total: String,
}

/// Everything a sprint report counts, read in one transaction.
#[derive(Debug)]
struct Report {
    window: Window,
    tasks: Vec<StatusCount>,
    submissions: i64,
    decisions: Decisions,
    rounds: Vec<RoundCount>,
    turnaround: Turnaround,
    checker_runs: i64,
    by_checker: Vec<CheckerFailures>,
    by_code: Vec<FindingCodeFailures>,
    payments: Vec<UnitPayments>,
    calibration: crate::calibration::Agreement,
}

impl Report {
    /// Reads every count of the report (see the module docs).
    async fn read(conn: &mut PgConnection, window: &Window) -> Result<Report, CommandError> {
        Ok(Report {
            window: *window,
            tasks: tasks_by_status(conn, window).await?,
            submissions: submissions(conn, window).await?,
            decisions: decisions(conn, window).await?,
            rounds: review_rounds(conn, window).await?,
            turnaround: turnaround(conn, window).await?,
            checker_runs: checker_runs(conn, window).await?,
            by_checker: failures_by_checker(conn, window).await?,
            by_code: failures_by_code(conn, window).await?,
            payments: payments(conn, window).await?,
            calibration: crate::calibration::figures(
                conn,
                crate::calibration::Scope {
                    sprint_id: Some(window.sprint_id),
                    starts_at: Some(window.starts_at),
                    ends_at: Some(window.ends_at),
                    ..Default::default()
                },
            )
            .await?,
        })
    }

    fn total_tasks(&self) -> i64 {
        self.tasks.iter().map(|s| s.tasks).sum()
    }

    fn awards(&self) -> i64 {
        self.payments.iter().map(|p| p.awards).sum()
    }

    /// The stored report (`workstream.evaluation_sprint_report.v1`).
    fn to_json(&self) -> Value {
        let d = &self.decisions;
        let decisions = d.total();
        let reviewed_tasks: i64 = self.rounds.iter().map(|r| r.tasks).sum();
        let round_sum: i64 = self.rounds.iter().map(|r| r.reviews * r.tasks).sum();
        json!({
            "schema": "workstream.evaluation_sprint_report.v1",
            "window": { "starts_at": self.window.starts_at, "ends_at": self.window.ends_at },
            "tasks": {
                "total": self.total_tasks(),
                "by_status": self.tasks.iter()
                    .map(|s| (s.status.to_string(), json!(s.tasks)))
                    .collect::<serde_json::Map<_, _>>(),
            },
            "submissions": self.submissions,
            "reviews": {
                "total": decisions,
                "accept": d.accept,
                "needs_revision": d.needs_revision,
                "reject": d.reject,
                "acceptance_rate": rate(d.accept, decisions),
                "revision_rate": rate(d.needs_revision, decisions),
                "rejection_rate": rate(d.reject, decisions),
            },
            "review_rounds": {
                "tasks_reviewed": reviewed_tasks,
                "mean": rate(round_sum, reviewed_tasks),
                "max": self.rounds.last().map(|r| r.reviews),
                "distribution": self.rounds.iter()
                    .map(|r| (r.reviews.to_string(), json!(r.tasks)))
                    .collect::<serde_json::Map<_, _>>(),
            },
            "turnaround_seconds": {
                "decided_tasks": self.turnaround.decided_tasks,
                "p50": self.turnaround.p50,
                "p90": self.turnaround.p90,
            },
            "checker_failures": {
                "runs": self.checker_runs,
                "by_checker": self.by_checker.iter().map(|c| json!({
                    "checker_name": c.checker_name, "failed": c.failed, "errored": c.errored,
                })).collect::<Vec<_>>(),
                "by_finding_code": self.by_code.iter().map(|c| json!({
                    "checker_name": c.checker_name, "code": c.code, "findings": c.findings,
                    "submissions": c.submissions,
                })).collect::<Vec<_>>(),
            },
            "payments": {
                "awards": self.awards(),
                "by_unit": self.payments.iter().map(|p| json!({
                    "instrument_type": p.instrument_type, "unit_code": p.unit_code,
                    "awards": p.awards, "total": p.total,
                    "fulfilled_awards": p.fulfilled_awards, "fulfilled_total": p.fulfilled_total,
                    "pending_awards": p.awards - p.fulfilled_awards, "pending_total": p.pending_total,
                })).collect::<Vec<_>>(),
            },
            "calibration": calibration_json(&self.calibration),
        })
    }

    /// The payload of `evaluation_sprint_report_generated`.
    fn summary(&self) -> Value {
        let d = &self.decisions;
        json!({
            "tasks": self.total_tasks(), "decisions": d.total(), "accept": d.accept,
            "needs_revision": d.needs_revision, "reject": d.reject, "awards": self.awards(),
        })
    }
}

/// The report's `calibration` section: the totals' figures, and `by_reviewer`.
fn calibration_json(agreement: &crate::calibration::Agreement) -> Value {
    let figures = |f: &crate::calibration::Figures| {
        json!({
            "sampled": f.sampled,
            "recorded": f.recorded,
            "waiting": f.waiting,
            "expired": f.expired,
            "decisions_agreeing": f.decisions_agreeing,
            "decision_agreement_rate": f.decision_agreement_rate,
            "mean_finding_overlap": f.mean_finding_overlap,
            "contradicted_accepts": f.contradicted_accepts,
        })
    };
    let mut section = figures(&agreement.totals);
    section["by_reviewer"] = agreement
        .by_reviewer
        .iter()
        .map(|r| {
            let mut row = figures(&r.figures);
            row["reviewer_id"] = json!(r.reviewer_id);
            row["display_name"] = json!(r.display_name);
            row
        })
        .collect();
    section
}

/// Member tasks by their current state, in state order.
async fn tasks_by_status(
    conn: &mut PgConnection,
    w: &Window,
) -> Result<Vec<StatusCount>, sqlx::Error> {
    sqlx::query_as!(
        StatusCount,
        r#"SELECT t.status AS "status: TaskState", count(*) AS "tasks!"
           FROM tasks t JOIN evaluation_sprint_tasks m ON m.task_id = t.id
           WHERE m.sprint_id = $1 GROUP BY t.status ORDER BY t.status"#,
        w.sprint_id,
    )
    .fetch_all(&mut *conn)
    .await
}

/// Submissions of member tasks made in the window.
async fn submissions(conn: &mut PgConnection, w: &Window) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "submissions!" FROM submissions s
           JOIN evaluation_sprint_tasks m ON m.task_id = s.task_id
           WHERE m.sprint_id = $1 AND s.submitted_at >= $2 AND s.submitted_at < $3"#,
        w.sprint_id,
        w.starts_at,
        w.ends_at,
    )
    .fetch_one(&mut *conn)
    .await
}

/// Reviews of member tasks completed in the window, by decision.
async fn decisions(conn: &mut PgConnection, w: &Window) -> Result<Decisions, sqlx::Error> {
    sqlx::query_as!(
        Decisions,
        r#"SELECT count(*) FILTER (WHERE r.decision = $4) AS "accept!",
                  count(*) FILTER (WHERE r.decision = $5) AS "needs_revision!",
                  count(*) FILTER (WHERE r.decision = $6) AS "reject!"
           FROM reviews r JOIN evaluation_sprint_tasks m ON m.task_id = r.task_id
           WHERE m.sprint_id = $1 AND r.completed_at >= $2 AND r.completed_at < $3"#,
        w.sprint_id,
        w.starts_at,
        w.ends_at,
        ReviewDecision::Accept.as_str(),
        ReviewDecision::NeedsRevision.as_str(),
        ReviewDecision::Reject.as_str(),
    )
    .fetch_one(&mut *conn)
    .await
}

/// Per number of Reviews in the window, how many member tasks had that many.
async fn review_rounds(
    conn: &mut PgConnection,
    w: &Window,
) -> Result<Vec<RoundCount>, sqlx::Error> {
    sqlx::query_as!(
        RoundCount,
        r#"SELECT n AS "reviews!", count(*) AS "tasks!" FROM (SELECT r.task_id, count(*) AS n
             FROM reviews r JOIN evaluation_sprint_tasks m ON m.task_id = r.task_id
             WHERE m.sprint_id = $1 AND r.completed_at >= $2 AND r.completed_at < $3
             GROUP BY r.task_id) per_task GROUP BY n ORDER BY n"#,
        w.sprint_id,
        w.starts_at,
        w.ends_at,
    )
    .fetch_all(&mut *conn)
    .await
}

/// Seconds from each member task's first submission to its final decision (accept or
/// reject) in the window: how many, and the `percentile_disc` p50 and p90.
async fn turnaround(conn: &mut PgConnection, w: &Window) -> Result<Turnaround, sqlx::Error> {
    sqlx::query_as!(
        Turnaround,
        r#"WITH finals AS (
             SELECT r.task_id, r.completed_at FROM reviews r
             JOIN evaluation_sprint_tasks m ON m.task_id = r.task_id
             WHERE m.sprint_id = $1 AND r.decision IN ($4, $5)
               AND r.completed_at >= $2 AND r.completed_at < $3),
           spans AS (
             SELECT extract(epoch FROM f.completed_at - min(s.submitted_at))::bigint AS seconds
             FROM finals f JOIN submissions s ON s.task_id = f.task_id GROUP BY f.task_id, f.completed_at)
           SELECT count(*) AS "decided_tasks!",
                  percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds) AS "p50?",
                  percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds) AS "p90?" FROM spans"#,
        w.sprint_id,
        w.starts_at,
        w.ends_at,
        ReviewDecision::Accept.as_str(),
        ReviewDecision::Reject.as_str(),
    )
    .fetch_one(&mut *conn)
    .await
}

/// Checker runs of member tasks started in the window.
async fn checker_runs(conn: &mut PgConnection, w: &Window) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "runs!" FROM checker_runs r
           JOIN evaluation_sprint_tasks m ON m.task_id = r.task_id
           WHERE m.sprint_id = $1 AND r.created_at >= $2 AND r.created_at < $3"#,
        w.sprint_id,
        w.starts_at,
        w.ends_at,
    )
    .fetch_one(&mut *conn)
    .await
}

/// Failed and errored results of those runs, by checker (checkers with either only).
async fn failures_by_checker(
    conn: &mut PgConnection,
    w: &Window,
) -> Result<Vec<CheckerFailures>, sqlx::Error> {
    sqlx::query_as!(
        CheckerFailures,
        r#"SELECT cr.checker_name, count(*) FILTER (WHERE cr.status = $4) AS "failed!",
                  count(*) FILTER (WHERE cr.status = $5) AS "errored!"
           FROM checker_results cr JOIN checker_runs r ON r.id = cr.checker_run_id
           JOIN evaluation_sprint_tasks m ON m.task_id = r.task_id
           WHERE m.sprint_id = $1 AND r.created_at >= $2 AND r.created_at < $3
           GROUP BY cr.checker_name HAVING count(*) FILTER (WHERE cr.status IN ($4, $5)) > 0
           ORDER BY cr.checker_name"#,
        w.sprint_id,
        w.starts_at,
        w.ends_at,
        MemberStatus::Failed.as_str(),
        MemberStatus::Errored.as_str(),
    )
    .fetch_all(&mut *conn)
    .await
}

/// Error-level finding codes of failed results of those runs, by (checker, code), with
/// the distinct submissions they failed.
async fn failures_by_code(
    conn: &mut PgConnection,
    w: &Window,
) -> Result<Vec<FindingCodeFailures>, sqlx::Error> {
    sqlx::query_as!(
        FindingCodeFailures,
        r#"SELECT cr.checker_name, f->>'code' AS "code!", count(*) AS "findings!",
                  count(DISTINCT r.submission_id) AS "submissions!"
           FROM checker_results cr JOIN checker_runs r ON r.id = cr.checker_run_id
           JOIN evaluation_sprint_tasks m ON m.task_id = r.task_id
           CROSS JOIN LATERAL jsonb_array_elements(cr.findings) f
           WHERE m.sprint_id = $1 AND r.created_at >= $2 AND r.created_at < $3
             AND cr.status = $4 AND f->>'level' = 'error'
           GROUP BY 1, 2 ORDER BY 1, 2"#,
        w.sprint_id,
        w.starts_at,
        w.ends_at,
        MemberStatus::Failed.as_str(),
    )
    .fetch_all(&mut *conn)
    .await
}

/// Awards of member tasks made in the window, by instrument and unit, with the
/// fulfilled / not yet fulfilled split of the status projection.
async fn payments(conn: &mut PgConnection, w: &Window) -> Result<Vec<UnitPayments>, sqlx::Error> {
    sqlx::query_as!(
        UnitPayments,
        r#"SELECT a.instrument_type, a.unit_code, count(*) AS "awards!",
                  trim_scale(sum(a.quantity))::text AS "total!",
                  count(*) FILTER (WHERE p.fulfillment_status = $4) AS "fulfilled_awards!",
                  trim_scale(coalesce(sum(a.quantity) FILTER (WHERE p.fulfillment_status = $4), 0))::text
                    AS "fulfilled_total!",
                  trim_scale(coalesce(sum(a.quantity) FILTER (WHERE p.fulfillment_status IS DISTINCT FROM $4), 0))::text
                    AS "pending_total!"
           FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id
           JOIN evaluation_sprint_tasks m ON m.task_id = c.task_id
           LEFT JOIN compensation_status_projections p ON p.compensation_award_id = a.id
           WHERE m.sprint_id = $1 AND a.created_at >= $2 AND a.created_at < $3
           GROUP BY 1, 2 ORDER BY 1, 2"#,
        w.sprint_id,
        w.starts_at,
        w.ends_at,
        FulfilmentStatus::Fulfilled.as_str(),
    )
    .fetch_all(&mut *conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::rate;
    use serde_json::json;

    #[test]
    fn rates_are_exact_to_four_places_and_null_without_a_denominator() {
        assert_eq!(rate(1, 3), json!(0.3333));
        assert_eq!(rate(2, 3), json!(0.6667));
        assert_eq!(rate(1, 2), json!(0.5));
        assert_eq!(rate(0, 0), serde_json::Value::Null);
    }
}
