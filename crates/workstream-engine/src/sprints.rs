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
//!   fulfilled split from the status projection (decimals as exact strings).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_store::audit::NewAuditEvent;

use crate::CommandError;
use crate::audit::record;
use crate::requester::Requester;

/// A sprint with its member tasks.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, sqlx::FromRow)]
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

const SELECT: &str = "SELECT s.id, s.project_id, s.name, s.description, s.starts_at, s.ends_at, \
    coalesce((SELECT array_agg(m.task_id ORDER BY m.task_id) FROM evaluation_sprint_tasks m \
              WHERE m.sprint_id = s.id), '{}') AS task_ids, \
    s.report, s.report_generated_at, s.created_by, s.created_at, s.updated_at FROM evaluation_sprints s";

/// The input of [`create`].
#[derive(Debug, Clone)]
pub struct NewSprint {
    /// 1..=200 characters, unique in the project.
    pub name: String,
    /// Up to 4000 characters.
    pub description: String,
    /// Window start.
    pub starts_at: DateTime<Utc>,
    /// Window end, after the start.
    pub ends_at: DateTime<Utc>,
    /// Member tasks of the project.
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
    sqlx::query(
        "INSERT INTO evaluation_sprints (id, project_id, name, description, starts_at, ends_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(project_id)
    .bind(name)
    .bind(&input.description)
    .bind(input.starts_at)
    .bind(input.ends_at)
    .bind(acting.actor_id)
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
    let exists: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM evaluation_sprints WHERE id = $1 AND project_id = $2 FOR UPDATE",
    )
    .bind(sprint_id)
    .bind(project_id)
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
    let missing: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT x FROM unnest($1::uuid[]) x \
         WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = x AND t.project_id = $2) ORDER BY x",
    )
    .bind(task_ids)
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    if !missing.is_empty() {
        return Err(CommandError::new(
            ErrorCode::SprintTaskNotFound,
            "some tasks are not tasks of this project",
        )
        .with_details(json!({ "task_ids": missing })));
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO evaluation_sprint_tasks (sprint_id, task_id, project_id, added_by) \
         SELECT $1, x, $2, $3 FROM (SELECT DISTINCT x FROM unnest($4::uuid[]) x) d ORDER BY x \
         ON CONFLICT (sprint_id, task_id) DO NOTHING RETURNING task_id",
    )
    .bind(sprint_id)
    .bind(project_id)
    .bind(acting.actor_id)
    .bind(task_ids)
    .fetch_all(&mut *conn)
    .await?)
}

/// Reads a sprint of `project_id`.
pub async fn find(
    conn: &mut PgConnection,
    project_id: Uuid,
    sprint_id: Uuid,
) -> Result<Option<Sprint>, CommandError> {
    Ok(
        sqlx::query_as(&format!("{SELECT} WHERE s.id = $1 AND s.project_id = $2"))
            .bind(sprint_id)
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// A page of a project's sprints by id.
pub async fn list(
    conn: &mut PgConnection,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Sprint>, CommandError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE s.project_id = $1 AND ($2::uuid IS NULL OR s.id > $2) ORDER BY s.id LIMIT $3"
    ))
    .bind(project_id)
    .bind(after)
    .bind(i64::from(limit))
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
    let window: Option<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT starts_at, ends_at FROM evaluation_sprints WHERE id = $1 AND project_id = $2 FOR UPDATE",
    )
    .bind(sprint_id)
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (starts_at, ends_at) = window.ok_or_else(CommandError::not_found)?;
    // Member tasks, as a reusable CTE; $1 sprint, $2 start, $3 end.
    const MEMBERS: &str =
        "WITH members AS (SELECT task_id FROM evaluation_sprint_tasks WHERE sprint_id = $1)";
    let by_status: Vec<(String, i64)> = sqlx::query_as(&format!(
        "{MEMBERS} SELECT t.status, count(*) FROM tasks t JOIN members m ON m.task_id = t.id \
         GROUP BY t.status ORDER BY t.status"
    ))
    .bind(sprint_id)
    .fetch_all(&mut *conn)
    .await?;
    let total_tasks: i64 = by_status.iter().map(|(_, n)| n).sum();

    let submissions: i64 = sqlx::query_scalar(&format!(
        "{MEMBERS} SELECT count(*) FROM submissions s JOIN members m ON m.task_id = s.task_id \
         WHERE s.submitted_at >= $2 AND s.submitted_at < $3"
    ))
    .bind(sprint_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_one(&mut *conn)
    .await?;

    let (accept, needs_revision, reject): (i64, i64, i64) = sqlx::query_as(&format!(
        "{MEMBERS} SELECT count(*) FILTER (WHERE r.decision = 'accept'), \
         count(*) FILTER (WHERE r.decision = 'needs_revision'), count(*) FILTER (WHERE r.decision = 'reject') \
         FROM reviews r JOIN members m ON m.task_id = r.task_id \
         WHERE r.completed_at >= $2 AND r.completed_at < $3"
    ))
    .bind(sprint_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_one(&mut *conn)
    .await?;
    let decisions = accept + needs_revision + reject;

    let rounds: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "{MEMBERS} SELECT n, count(*) FROM (SELECT r.task_id, count(*) AS n FROM reviews r \
         JOIN members m ON m.task_id = r.task_id WHERE r.completed_at >= $2 AND r.completed_at < $3 \
         GROUP BY r.task_id) per_task GROUP BY n ORDER BY n"
    ))
    .bind(sprint_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_all(&mut *conn)
    .await?;
    let reviewed_tasks: i64 = rounds.iter().map(|(_, c)| c).sum();
    let round_sum: i64 = rounds.iter().map(|(n, c)| n * c).sum();
    let distribution: serde_json::Map<String, Value> = rounds
        .iter()
        .map(|(n, c)| (n.to_string(), json!(c)))
        .collect();

    let (decided, p50, p90): (i64, Option<i64>, Option<i64>) = sqlx::query_as(&format!(
        "{MEMBERS}, finals AS ( \
           SELECT r.task_id, r.completed_at FROM reviews r JOIN members m ON m.task_id = r.task_id \
           WHERE r.decision IN ('accept', 'reject') AND r.completed_at >= $2 AND r.completed_at < $3), \
         spans AS ( \
           SELECT extract(epoch FROM f.completed_at - min(s.submitted_at))::bigint AS seconds \
           FROM finals f JOIN submissions s ON s.task_id = f.task_id GROUP BY f.task_id, f.completed_at) \
         SELECT count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY seconds), \
                percentile_disc(0.9) WITHIN GROUP (ORDER BY seconds) FROM spans"
    ))
    .bind(sprint_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_one(&mut *conn)
    .await?;

    let runs: i64 = sqlx::query_scalar(&format!(
        "{MEMBERS} SELECT count(*) FROM checker_runs r JOIN members m ON m.task_id = r.task_id \
         WHERE r.created_at >= $2 AND r.created_at < $3"
    ))
    .bind(sprint_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_one(&mut *conn)
    .await?;
    let by_checker: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "{MEMBERS} SELECT cr.checker_name, count(*) FILTER (WHERE cr.status = 'failed'), \
         count(*) FILTER (WHERE cr.status = 'errored') \
         FROM checker_results cr JOIN checker_runs r ON r.id = cr.checker_run_id \
         JOIN members m ON m.task_id = r.task_id WHERE r.created_at >= $2 AND r.created_at < $3 \
         GROUP BY cr.checker_name HAVING count(*) FILTER (WHERE cr.status IN ('failed', 'errored')) > 0 \
         ORDER BY cr.checker_name"
    ))
    .bind(sprint_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_all(&mut *conn)
    .await?;
    let by_code: Vec<(String, String, i64, i64)> = sqlx::query_as(&format!(
        "{MEMBERS} SELECT cr.checker_name, f->>'code', count(*), count(DISTINCT r.submission_id) \
         FROM checker_results cr JOIN checker_runs r ON r.id = cr.checker_run_id \
         JOIN members m ON m.task_id = r.task_id CROSS JOIN LATERAL jsonb_array_elements(cr.findings) f \
         WHERE r.created_at >= $2 AND r.created_at < $3 AND cr.status = 'failed' AND f->>'level' = 'error' \
         GROUP BY 1, 2 ORDER BY 1, 2"
    ))
    .bind(sprint_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_all(&mut *conn)
    .await?;

    let payments: Vec<(String, String, i64, String, i64, String, String)> = sqlx::query_as(&format!(
        "{MEMBERS} SELECT a.instrument_type, a.unit_code, count(*), trim_scale(sum(a.quantity))::text, \
         count(*) FILTER (WHERE p.fulfillment_status = 'fulfilled'), \
         trim_scale(coalesce(sum(a.quantity) FILTER (WHERE p.fulfillment_status = 'fulfilled'), 0))::text, \
         trim_scale(coalesce(sum(a.quantity) FILTER (WHERE p.fulfillment_status IS DISTINCT FROM 'fulfilled'), 0))::text \
         FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id \
         JOIN members m ON m.task_id = c.task_id \
         LEFT JOIN compensation_status_projections p ON p.compensation_award_id = a.id \
         WHERE a.created_at >= $2 AND a.created_at < $3 GROUP BY 1, 2 ORDER BY 1, 2"
    ))
    .bind(sprint_id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_all(&mut *conn)
    .await?;
    let awards: i64 = payments.iter().map(|p| p.2).sum();

    let report = json!({
        "schema": "workstream.evaluation_sprint_report.v1",
        "window": { "starts_at": starts_at, "ends_at": ends_at },
        "tasks": {
            "total": total_tasks,
            "by_status": by_status.iter().map(|(s, n)| (s.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
        },
        "submissions": submissions,
        "reviews": {
            "total": decisions,
            "accept": accept,
            "needs_revision": needs_revision,
            "reject": reject,
            "acceptance_rate": rate(accept, decisions),
            "revision_rate": rate(needs_revision, decisions),
            "rejection_rate": rate(reject, decisions),
        },
        "review_rounds": {
            "tasks_reviewed": reviewed_tasks,
            "mean": rate(round_sum, reviewed_tasks),
            "max": rounds.last().map(|(n, _)| *n),
            "distribution": distribution,
        },
        "turnaround_seconds": { "decided_tasks": decided, "p50": p50, "p90": p90 },
        "checker_failures": {
            "runs": runs,
            "by_checker": by_checker.iter().map(|(name, failed, errored)| json!({
                "checker_name": name, "failed": failed, "errored": errored,
            })).collect::<Vec<_>>(),
            "by_finding_code": by_code.iter().map(|(name, code, findings, subs)| json!({
                "checker_name": name, "code": code, "findings": findings, "submissions": subs,
            })).collect::<Vec<_>>(),
        },
        "payments": {
            "awards": awards,
            "by_unit": payments.iter().map(|(instrument, unit, count, total, fulfilled, fulfilled_total, pending_total)| json!({
                "instrument_type": instrument, "unit_code": unit, "awards": count, "total": total,
                "fulfilled_awards": fulfilled, "fulfilled_total": fulfilled_total,
                "pending_awards": count - fulfilled, "pending_total": pending_total,
            })).collect::<Vec<_>>(),
        },
    });
    sqlx::query(
        "UPDATE evaluation_sprints SET report = $2, report_generated_at = now() WHERE id = $1",
    )
    .bind(sprint_id)
    .bind(&report)
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
            payload: json!({
                "tasks": total_tasks, "decisions": decisions, "accept": accept,
                "needs_revision": needs_revision, "reject": reject, "awards": awards,
            }),
            ..Default::default()
        },
    )
    .await?;
    find(conn, project_id, sprint_id)
        .await?
        .ok_or_else(|| CommandError::internal("a sprint vanished"))
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
