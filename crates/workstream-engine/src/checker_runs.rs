//! A task's checker runs and each checker's result in them, as stored: what the
//! checker-run views of the API and the UI are built from.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::gate::MemberStatus;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};

use crate::CommandError;

/// A checker run of a task, as stored.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// The run.
    pub id: Uuid,
    /// The version it checked.
    pub submission_version: i32,
    /// Its attempt (1, 2, ... per version).
    pub attempt_number: i32,
    /// Its status.
    pub status: CheckerRunStatus,
    /// Its route.
    pub routing_recommendation: RoutingRecommendation,
    /// Why it failed, if it did (a failure code of the catalogue).
    pub failure_code: Option<String>,
    /// What happened, for operators only.
    pub failure_detail: Option<String>,
    /// Whether it is its version's current attempt.
    pub is_current_for_submission: bool,
    /// When it started.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it finished.
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One checker's result in a run, as stored.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// The run it belongs to.
    pub checker_run_id: Uuid,
    /// Its place in the policy's order.
    pub ordinal: i32,
    /// The checker's name.
    pub checker_name: String,
    /// The component's digest.
    pub checker_digest: String,
    /// The digest of its configuration.
    pub config_hash: String,
    /// Its status.
    pub status: MemberStatus,
    /// Its severity under the policy.
    pub severity: String,
    /// Whether it keeps the packet from review.
    pub blocks_review: bool,
    /// Why it failed, if it did (a failure code of the catalogue).
    pub failure_code: Option<String>,
    /// What happened, for operators only.
    pub failure_detail: Option<String>,
    /// Its findings, as stored.
    pub findings: Value,
    /// The fuel it burned.
    pub fuel_consumed: Option<i64>,
    /// How long it ran, in microseconds.
    pub duration_us: Option<i64>,
    /// The digest of its stored result.
    pub result_digest: String,
}

/// Every checker run of a task (by version, then attempt) with every result of them
/// (in policy order).
pub async fn of_task(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<(Vec<RunRow>, Vec<ResultRow>), CommandError> {
    let runs = sqlx::query_as!(
        RunRow,
        r#"SELECT id, submission_version, attempt_number, status AS "status: _",
                  routing_recommendation AS "routing_recommendation: _", failure_code,
                  failure_detail, is_current_for_submission, created_at, completed_at
           FROM checker_runs WHERE task_id = $1 ORDER BY submission_version, attempt_number"#,
        task_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let results = sqlx::query_as!(
        ResultRow,
        r#"SELECT r.checker_run_id, r.ordinal, r.checker_name, r.checker_digest, r.config_hash,
                  r.status AS "status: _", r.severity, r.blocks_review, r.failure_code,
                  r.failure_detail, r.findings, r.fuel_consumed, r.duration_us, r.result_digest
           FROM checker_results r JOIN checker_runs c ON c.id = r.checker_run_id
           WHERE c.task_id = $1 ORDER BY r.ordinal"#,
        task_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((runs, results))
}
