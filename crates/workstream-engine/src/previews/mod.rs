//! Policy previews: what a draft guide's checker policy would do to the project's stored
//! packets, known before the guide is activated (migrations/0017_policy_previews.sql).
//!
//! A manager who tightens a checker policy used to learn what it does only when real
//! workers met it. Packets are immutable and stored, checkers are content-addressed
//! components and their runs are deterministic (`crate::pipeline::replay`), so a draft's
//! policy can be run over past packets and compared with what they met. The parts:
//!
//! * [`start`] (a manager's command, in the caller's transaction): the draft's effective
//!   bundle, computed and pinned exactly as activation would (`guides::effective_bundle`,
//!   so a bundle activation would refuse is refused here with the same code), the
//!   project's most recent `limit` stored submissions whose current run is final,
//!   one preview row (`queued`) and one background job ([`crate::jobs::PreviewArgs`],
//!   `policy.preview`) per [`SUBMISSIONS_PER_JOB`] of them, and `policy_preview_started`.
//! * [`run`] (feature `checkers`): the job. Per submission it reads the packet once
//!   under the draft's artifact limits, runs both phases of the draft's checker policy
//!   through the process's checkers (reusing a recorded result where component,
//!   configuration and request are identical), compares each checker and the findings
//!   with the recorded current run, and stores one result row; the job that stores the
//!   last result writes the summary and completes the preview
//!   (`policy_preview_completed`). A failure it cannot retry fails the preview with the
//!   reason (`policy_preview_failed`): a preview ends `completed` or `failed`, never
//!   stays `running`.
//! * [`reads`]: [`find`] (a preview with every result: a [`PreviewReport`]), [`list`] (a
//!   guide's previews), [`latest_completed`] (what activation shows and records; the
//!   guide commands read it there, while [`start`] reads the guide, so neither module
//!   imports the other's).
//! * [`report`]: the preview and its report as shown; [`compare_members`] and
//!   [`summarize`] fold result rows into a [`PreviewSummary`] (pure).
//!
//! What "fails" means, per checker: its member status is `failed` or `errored` in either
//! phase; a checker the recorded policy lacks does not fail there. A checker *newly
//! fails* when it fails under the draft and did not in the recorded run (its current
//! post-submit run and its admission's pre-submit report), and *newly passes* in the
//! reverse case. The draft's route is its pre-submit route when that holds the packet
//! back, else its post-submit route: what the packet would have met. Findings appear or
//! disappear by the fingerprints the revision view uses
//! ([`crate::reviews::findings::findings_of`], post-submit phase).
//!
//! A preview writes its own rows, its jobs and its audit events; never a submission, a
//! run, a result, a task, a queue entry or any task state. Authority is the caller's:
//! the API lets a project manager covering the project start one and its readers read
//! them, as for the guide routes (`crates/workstream-api/src/guides.rs`).

pub mod reads;
pub mod report;
#[cfg(feature = "checkers")]
pub mod run;

use reads::{PreviewRow, preview_query, results_of};
pub use reads::{find, latest_completed, list};
pub use report::{
    CheckerChanges, MemberChange, Preview, PreviewMember, PreviewReport, PreviewResult,
    PreviewSummary, RouteFlip, compare_members, fails, summarize,
};

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};
use workstream_domain::machines::preview::{PreviewRoute, PreviewStatus};
use workstream_domain::machines::project::{GuideStatus, ProjectStatus};
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::jobs::{self, NewJob};

use crate::CommandError;
use crate::audit::record;
use crate::jobs::PreviewArgs;
use crate::requester::Requester;
use crate::reviews::findings::CheckerFinding;

/// The largest number of submissions a preview checks unless the server is configured
/// otherwise (`WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS`), and what a preview that
/// names no number checks.
pub const DEFAULT_MAX_SUBMISSIONS: u32 = 200;

/// The most a configuration may allow (the table's `policy_previews_limit_range`).
pub const MAX_SUBMISSIONS_CEILING: u32 = 10_000;

/// Submissions one job checks. A job's fixed costs (claim, lease, completion, the
/// preview's row lock) are paid once per this many packets, while a failed job repeats
/// little work.
pub const SUBMISSIONS_PER_JOB: usize = 10;

/// Attempts of a preview job: enough for a lost race or a restarted database; a fault
/// that persists fails the preview with its reason rather than retrying for hours.
pub const JOB_ATTEMPTS: i32 = 3;

/// Starts a preview of the draft guide `guide_id` over the project's most recent
/// `limit` stored submissions (default and ceiling `max`, the server's configured
/// maximum, [`DEFAULT_MAX_SUBMISSIONS`] unless configured), in `conn`'s transaction.
///
/// The caller has checked that the requester manages the project (as for the guide
/// commands). Refusals: the concealed 404 for a guide of another project or none;
/// 409 `project_archived`; 409 `policy_preview_not_draft` for an active or superseded
/// guide; 422 `policy_preview_limit_invalid` for a limit of 0 or above `max`; the
/// activation gate's codes for a bundle activation would refuse
/// (`policy_bundle_invalid`, `review_policy_incomplete`, `revision_policy_incomplete`,
/// `platform_default_weakened`, `checker_not_registered`,
/// `checker_configuration_invalid`, with the same `details.errors`); 422
/// `policy_preview_no_submissions` when no submission of the project has a final run.
///
/// On success the preview is `queued`, its jobs are enqueued (they run once the
/// transaction commits) and `policy_preview_started` is written. Previews of the
/// project whose jobs all ended without finishing them are failed first
/// ([`fail_stalled`]).
pub async fn start(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    guide_id: Uuid,
    limit: Option<u32>,
    max: u32,
) -> Result<Preview, CommandError> {
    let project = crate::projects::find(conn, project_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let guide = crate::guides::find(conn, project_id, guide_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    if project.status == ProjectStatus::Archived {
        return Err(ErrorCode::ProjectArchived.into());
    }
    if guide.status != GuideStatus::Draft {
        return Err(CommandError::new(
            ErrorCode::PolicyPreviewNotDraft,
            "only a draft guide can be previewed",
        )
        .with_details(json!({ "status": guide.status })));
    }
    let max = max.clamp(1, MAX_SUBMISSIONS_CEILING);
    let limit = limit.unwrap_or(max);
    if limit == 0 || limit > max {
        return Err(CommandError::new(
            ErrorCode::PolicyPreviewLimitInvalid,
            format!("a preview checks 1 to {max} submissions"),
        )
        .with_details(json!({ "submissions": limit, "max": max })));
    }
    let effective = crate::guides::effective_bundle(conn, guide.policy_bundle.as_ref()).await?;
    let hashes = effective.hashes().map_err(CommandError::internal)?;
    let bundle_hash = guide
        .policy_bundle_hash
        .clone()
        .ok_or_else(|| CommandError::internal("a draft with a bundle has no bundle hash"))?;
    let effective = effective.to_value();

    fail_stalled(conn, project_id).await?;
    let finals: Vec<&str> = CheckerRunStatus::ALL
        .iter()
        .filter(|status| status.is_final())
        .map(|status| status.as_str())
        .collect();
    let chosen = sqlx::query_scalar!(
        "SELECT s.id FROM submissions s WHERE s.project_id = $1 AND EXISTS ( \
           SELECT 1 FROM checker_runs c WHERE c.submission_id = s.id \
             AND c.is_current_for_submission AND c.status = ANY($2)) \
         ORDER BY s.submitted_at DESC, s.id DESC LIMIT $3",
        project_id,
        &finals as &[&str],
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?;
    if chosen.is_empty() {
        return Err(ErrorCode::PolicyPreviewNoSubmissions.into());
    }

    let id = Uuid::now_v7();
    let mut job_ids = Vec::new();
    for (n, slice) in chosen.chunks(SUBMISSIONS_PER_JOB).enumerate() {
        let args = PreviewArgs {
            preview_id: id,
            first: u32::try_from(n * SUBMISSIONS_PER_JOB).unwrap_or(u32::MAX),
            count: u32::try_from(slice.len()).unwrap_or(u32::MAX),
        };
        job_ids.push(
            jobs::enqueue(
                conn,
                NewJob {
                    idempotency_key: Some(format!("policy.preview:{id}:{n}")),
                    max_attempts: Some(JOB_ATTEMPTS),
                    correlation_id: acting.correlation_id.clone(),
                    ..NewJob::of(&args)
                },
            )
            .await?,
        );
    }
    let preview = preview_query!(
        "WITH p AS (INSERT INTO policy_previews (id, project_id, guide_id, policy_bundle_hash, \
           artifact_policy, artifact_policy_hash, checker_policy, checker_policy_hash, \
           submission_limit, submission_ids, job_ids, requested_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *) SELECT",
        "FROM p",
        id,
        project_id,
        guide_id,
        bundle_hash,
        effective["artifact_policy"],
        hashes.artifact.to_string(),
        effective["checker_policy"],
        hashes.checker.to_string(),
        i32::try_from(limit).unwrap_or(i32::MAX),
        &chosen,
        &job_ids,
        acting.actor_id,
    )
    .fetch_one(&mut *conn)
    .await?
    .into_preview()?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "policy_preview".into(),
            entity_id: Some(id),
            event_type: "policy_preview_started".into(),
            to_status: Some(preview.status.to_string()),
            payload: json!({
                "guide_id": guide_id,
                "policy_bundle_hash": preview.policy_bundle_hash,
                "checker_policy_hash": preview.checker_policy_hash,
                "submission_limit": limit,
                "submissions": chosen.len(),
                "jobs": job_ids.len(),
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(preview)
}

/// Fails the previews of `project_id` that are still `queued` or `running` although
/// every one of their jobs has ended (a job dead-lettered without its handler failing
/// the preview: a worker killed on its last attempt, an operator's cancel), with
/// `policy_preview_failed`; returns their ids. [`start`] runs it, so a stalled preview
/// never outlives the next one started in its project.
pub async fn fail_stalled(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<Uuid>, CommandError> {
    let open = [
        PreviewStatus::Queued.as_str(),
        PreviewStatus::Running.as_str(),
    ];
    let detail =
        "its jobs ended without finishing it (dead-lettered or cancelled); start another preview";
    let stalled = sqlx::query!(
        "UPDATE policy_previews p SET status = $2, failure_detail = $3, finished_at = now() \
         WHERE p.project_id = $1 AND p.status = ANY($4) AND NOT EXISTS ( \
           SELECT 1 FROM jobs j WHERE j.id = ANY(p.job_ids) AND j.finished_at IS NULL) \
         RETURNING p.id, p.guide_id",
        project_id,
        PreviewStatus::Failed.as_str(),
        detail,
        &open as &[&str],
    )
    .fetch_all(&mut *conn)
    .await?;
    for preview in &stalled {
        audit::append(
            conn,
            NewAuditEvent {
                project_id: Some(project_id),
                entity_type: "policy_preview".into(),
                entity_id: Some(preview.id),
                event_type: "policy_preview_failed".into(),
                to_status: Some(PreviewStatus::Failed.to_string()),
                payload: json!({ "guide_id": preview.guide_id, "detail": detail }),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(stalled.into_iter().map(|p| p.id).collect())
}

/// One result to record (what the job computed for one submission).
#[derive(Debug, Clone)]
pub struct NewResult {
    /// The submission.
    pub submission_id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// Its version.
    pub submission_version: i32,
    /// Its current run.
    pub recorded_run_id: Uuid,
    /// That run's route.
    pub recorded_route: RoutingRecommendation,
    /// The draft's routes per phase (none when no checker ran).
    pub draft_phases: Option<(RoutingRecommendation, RoutingRecommendation)>,
    /// The draft's overall route.
    pub draft_route: PreviewRoute,
    /// Why no checker ran, and the detail.
    pub draft_failure: Option<(String, Option<String>)>,
    /// Per checker.
    pub members: Vec<PreviewMember>,
    /// Appeared findings.
    pub findings_appeared: Vec<CheckerFinding>,
    /// Disappeared findings.
    pub findings_disappeared: Vec<CheckerFinding>,
    /// Reused members.
    pub reused_results: u32,
    /// Members run.
    pub checked_results: u32,
}

/// What [`record_results`] found the preview in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The results are stored; the preview still waits for others.
    Stored,
    /// The results are stored, and they were the last: the preview completed.
    Completed,
    /// The preview had already ended (failed by another job): nothing stored.
    Ended,
}

/// Marks a queued preview `running` (its first job started); a preview in any other
/// state is left as it is.
pub async fn mark_running(conn: &mut PgConnection, preview_id: Uuid) -> Result<(), CommandError> {
    sqlx::query!(
        "UPDATE policy_previews SET status = $2, started_at = now() WHERE id = $1 AND status = $3",
        preview_id,
        PreviewStatus::Running.as_str(),
        PreviewStatus::Queued.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores `results` of a preview under its row lock, in `tx` (a job's transaction,
/// after `jobs::complete`). When every chosen submission has its result, writes the
/// summary ([`summarize`]), completes the preview and audits
/// `policy_preview_completed`. A result already stored (an earlier attempt's) is kept.
pub async fn record_results(
    tx: &mut PgConnection,
    preview_id: Uuid,
    results: &[NewResult],
) -> Result<Recorded, CommandError> {
    let preview = sqlx::query!(
        r#"SELECT project_id, guide_id, status AS "status: PreviewStatus",
                  cardinality(submission_ids) AS "chosen!"
           FROM policy_previews WHERE id = $1 FOR UPDATE"#,
        preview_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(CommandError::not_found)?;
    if preview.status.is_final() {
        return Ok(Recorded::Ended);
    }
    if preview.status == PreviewStatus::Queued {
        mark_running(tx, preview_id).await?;
    }
    for result in results {
        let (pre, post) = result.draft_phases.unzip();
        let (code, detail) = result.draft_failure.clone().unzip();
        sqlx::query!(
            "INSERT INTO policy_preview_results (id, preview_id, submission_id, task_id, \
             submission_version, recorded_run_id, recorded_route, draft_pre_route, \
             draft_post_route, draft_route, draft_code, draft_detail, members, findings_appeared, \
             findings_disappeared, reused_results, checked_results) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (preview_id, submission_id) DO NOTHING",
            Uuid::now_v7(),
            preview_id,
            result.submission_id,
            result.task_id,
            result.submission_version,
            result.recorded_run_id,
            result.recorded_route.as_str(),
            pre.map(RoutingRecommendation::as_str),
            post.map(RoutingRecommendation::as_str),
            result.draft_route.as_str(),
            code,
            detail.flatten(),
            to_json(&result.members)?,
            to_json(&result.findings_appeared)?,
            to_json(&result.findings_disappeared)?,
            i32::try_from(result.reused_results).unwrap_or(i32::MAX),
            i32::try_from(result.checked_results).unwrap_or(i32::MAX),
        )
        .execute(&mut *tx)
        .await?;
    }
    let stored = sqlx::query_scalar!(
        r#"SELECT count(*) AS "stored!" FROM policy_preview_results WHERE preview_id = $1"#,
        preview_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    if stored < i64::from(preview.chosen) {
        return Ok(Recorded::Stored);
    }
    let summary = summarize(&results_of(tx, preview_id).await?);
    sqlx::query!(
        "UPDATE policy_previews SET status = $2, summary = $3, finished_at = now() WHERE id = $1",
        preview_id,
        PreviewStatus::Completed.as_str(),
        serde_json::to_value(&summary).map_err(CommandError::internal)?,
    )
    .execute(&mut *tx)
    .await?;
    audit::append(
        tx,
        NewAuditEvent {
            project_id: Some(preview.project_id),
            entity_type: "policy_preview".into(),
            entity_id: Some(preview_id),
            event_type: "policy_preview_completed".into(),
            from_status: Some(PreviewStatus::Running.to_string()),
            to_status: Some(PreviewStatus::Completed.to_string()),
            payload: json!({
                "guide_id": preview.guide_id,
                "submissions": summary.submissions,
                "route_changed": summary.route_changed,
                "intake_refused": summary.intake_refused,
                "material_unavailable": summary.material_unavailable,
                "findings_appeared": summary.findings_appeared,
                "findings_disappeared": summary.findings_disappeared,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(Recorded::Completed)
}

/// Fails a preview that has not ended with `detail` (cut to what the table keeps), in
/// `tx`, and audits `policy_preview_failed`; returns whether it did (a preview already
/// ended is left as it is).
pub async fn fail(
    tx: &mut PgConnection,
    preview_id: Uuid,
    detail: &str,
) -> Result<bool, CommandError> {
    let detail = bounded(detail);
    let Some(failed) = sqlx::query!(
        r#"SELECT project_id, guide_id, status AS "from: PreviewStatus"
           FROM policy_previews WHERE id = $1 FOR UPDATE"#,
        preview_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .filter(|preview| !preview.from.is_final()) else {
        return Ok(false);
    };
    sqlx::query!(
        "UPDATE policy_previews SET status = $2, failure_detail = $3, finished_at = now() \
         WHERE id = $1",
        preview_id,
        PreviewStatus::Failed.as_str(),
        detail,
    )
    .execute(&mut *tx)
    .await?;
    audit::append(
        tx,
        NewAuditEvent {
            project_id: Some(failed.project_id),
            entity_type: "policy_preview".into(),
            entity_id: Some(preview_id),
            event_type: "policy_preview_failed".into(),
            from_status: Some(failed.from.to_string()),
            to_status: Some(PreviewStatus::Failed.to_string()),
            payload: json!({ "guide_id": failed.guide_id, "detail": detail }),
            ..Default::default()
        },
    )
    .await?;
    Ok(true)
}

/// `value` as JSON for a jsonb column.
fn to_json<T: Serialize>(value: &T) -> Result<Value, CommandError> {
    serde_json::to_value(value).map_err(CommandError::internal)
}

/// Most characters of a failure detail (the table's `policy_previews_failure_detail_length`).
const MAX_DETAIL_CHARS: usize = 4096;

/// `detail` as the table keeps it: no NUL, 1 to [`MAX_DETAIL_CHARS`] characters.
pub(crate) fn bounded(detail: &str) -> String {
    let detail: String = detail
        .replace('\0', "\u{FFFD}")
        .chars()
        .take(MAX_DETAIL_CHARS)
        .collect();
    if detail.is_empty() {
        "no detail".to_owned()
    } else {
        detail
    }
}
