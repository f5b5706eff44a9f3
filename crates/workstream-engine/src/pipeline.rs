//! The packet pipeline's shared parts, and the post-submit evaluation job.
//!
//! [`Pipeline`] holds what both ends of a submission need: the checkers (sandbox and
//! loaded components), the content-addressed object store, and a scratch directory.
//! The API uses it for intake and the pre-submit checks in the upload request; the
//! worker uses it for [`EvaluateSubmission`], the `checker.evaluate` job queued with
//! every submission.
//!
//! One evaluation, in three steps (upstream-checkers §4.2, §4.6):
//!
//! 1. **Start** (own transaction): the queued run becomes `running`. A run already
//!    finished by an earlier attempt of the job just completes the job (replays are
//!    idempotent).
//! 2. **Materialize and check** (no transaction): fetch the archive by its key, which
//!    re-hashes every byte, and inspect it again into a private tree. Missing or damaged
//!    bytes are an artifact incident: no checker runs, the run fails with
//!    `material_unavailable` and the task waits in `evaluation_pending`. Otherwise the
//!    locked policy's post-submit checkers run in order ([`crate::evaluation`]).
//! 3. **Finalize** (one transaction, `jobs::complete` first so only the lease holder can
//!    commit): the member results, the run's status, counts and route, the task's move
//!    (`allow_review` -> `review_pending` with a review queue entry, T8;
//!    `needs_revision` -> back to the contributor, T9; a retry or setup route leaves it
//!    in `evaluation_pending`), and the audit events. A worker killed anywhere before
//!    the commit leaves nothing behind; the next attempt starts over on the same run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use workstream_domain::gate::{MemberStatus, Route};
use workstream_domain::lifecycle::{GuardFacts, TaskCommand};
use workstream_domain::machines::checker_run::RoutingRecommendation;
use workstream_domain::{ActorContext, Digest, decide};
use workstream_sandbox::{FileEntry, Phase};
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::jobs::{self, ClaimedJob};
use workstream_store::objects::ObjectStore;
use workstream_store::tasks;

use crate::CommandError;
use crate::evaluation::{Checkers, Evaluation, PacketView, plan};
use crate::packets::{InspectedPacket, PacketLimits, inspect};
use crate::tasks::submission::EVALUATE_JOB;
use crate::worker::{BoxFuture, HandlerError, JobHandler};

/// What intake, pre-submit and post-submit checks share.
pub struct Pipeline {
    /// The sandbox and its loaded components.
    pub checkers: Checkers,
    /// Where packet archives live.
    pub objects: ObjectStore,
    /// Where archives are received and trees extracted (one private subdirectory per
    /// upload or run, removed after use).
    pub scratch: PathBuf,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("scratch", &self.scratch)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A private scratch directory for one upload or run.
    pub fn scratch_dir(&self) -> Result<tempfile::TempDir, CommandError> {
        std::fs::create_dir_all(&self.scratch).map_err(CommandError::internal)?;
        tempfile::Builder::new()
            .prefix("packet-")
            .tempdir_in(&self.scratch)
            .map_err(CommandError::internal)
    }

    /// Inspects the archive at `archive` into `tree` under `limits`, off the async
    /// threads.
    pub async fn inspect(
        archive: PathBuf,
        tree: PathBuf,
        limits: PacketLimits,
    ) -> Result<InspectedPacket, CommandError> {
        tokio::task::spawn_blocking(move || inspect(&archive, &tree, &limits))
            .await
            .map_err(CommandError::internal)?
            .map_err(CommandError::from)
    }
}

/// The checkers' view of an inspected packet's files.
pub fn file_entries(packet: &InspectedPacket) -> Vec<FileEntry> {
    packet
        .files
        .iter()
        .map(|f| FileEntry {
            path: f.path.clone(),
            size: f.bytes,
            sha256: f.sha256.to_string(),
            executable: f.executable,
        })
        .collect()
}

/// The `checker.evaluate` job.
pub struct EvaluateSubmission {
    pipeline: Arc<Pipeline>,
}

impl EvaluateSubmission {
    /// The handler over `pipeline`.
    pub fn new(pipeline: Arc<Pipeline>) -> EvaluateSubmission {
        EvaluateSubmission { pipeline }
    }
}

impl JobHandler for EvaluateSubmission {
    fn kind(&self) -> &'static str {
        EVALUATE_JOB
    }

    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(evaluate(&self.pipeline, job, pool))
    }
}

/// What the job reads about its run.
#[derive(sqlx::FromRow)]
struct RunContext {
    status: String,
    task_id: Uuid,
    submission_id: Uuid,
    submission_version: i32,
    archive_sha256: String,
    archive_object_key: Option<String>,
    manifest_digest: String,
    summary: String,
    contributor_attestation: String,
    locked_checker_policy: Value,
    acceptance_criteria: String,
    project_id: Uuid,
    artifact_policy: Value,
}

/// How step 2 ended.
enum Checked {
    Evaluated(Evaluation),
    /// The stored bytes could not be produced as they were submitted.
    MaterialUnavailable(String),
}

fn command(error: CommandError) -> HandlerError {
    match error.kind {
        crate::ErrorKind::Internal | crate::ErrorKind::Unavailable => {
            HandlerError::retryable(format!("{}: {}", error.code, error.message))
        }
        _ => HandlerError::permanent(format!("{}: {}", error.code, error.message)),
    }
}

async fn evaluate(
    pipeline: &Pipeline,
    job: &ClaimedJob,
    pool: &PgPool,
) -> Result<(), HandlerError> {
    let run_id: Uuid = job.payload["checker_run_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| HandlerError::permanent("payload without a checker_run_id"))?;

    // 1. Start.
    let context = run_context(pool, run_id)
        .await
        .map_err(command)?
        .ok_or_else(|| HandlerError::permanent(format!("no checker run {run_id}")))?;
    if matches!(context.status.as_str(), "completed" | "failed") {
        let mut tx = pool.begin().await?;
        jobs::complete(&mut tx, job).await?;
        tx.commit().await?;
        return Ok(());
    }
    sqlx::query(
        "UPDATE checker_runs SET status = 'running', started_at = now() WHERE id = $1 AND status = 'queued'",
    )
    .bind(run_id)
    .execute(pool)
    .await?;

    // 2. Materialize and check.
    let checked = check(pipeline, pool, &context).await.map_err(command)?;

    // 3. Finalize.
    let mut tx = pool.begin().await?;
    jobs::complete(&mut tx, job).await?;
    finalize(&mut tx, run_id, &context, checked)
        .await
        .map_err(command)?;
    tx.commit().await?;
    Ok(())
}

async fn run_context(pool: &PgPool, run_id: Uuid) -> Result<Option<RunContext>, CommandError> {
    Ok(sqlx::query_as(
        "SELECT r.status, r.task_id, r.submission_id, r.submission_version, s.archive_sha256, \
         s.archive_object_key, s.manifest_digest, s.summary, s.contributor_attestation, \
         s.locked_checker_policy, t.acceptance_criteria, t.project_id, \
         coalesce(g.policy_bundle -> 'artifact_policy', '{}'::jsonb) AS artifact_policy \
         FROM checker_runs r JOIN submissions s ON s.id = r.submission_id \
         JOIN tasks t ON t.id = r.task_id JOIN project_guides g ON g.id = s.locked_guide_id \
         WHERE r.id = $1",
    )
    .bind(run_id)
    .fetch_optional(pool)
    .await?)
}

async fn check(
    pipeline: &Pipeline,
    pool: &PgPool,
    context: &RunContext,
) -> Result<Checked, CommandError> {
    let scratch = pipeline.scratch_dir()?;
    let archive = scratch.path().join("packet.zip");
    let tree = scratch.path().join("tree");
    std::fs::create_dir(&tree).map_err(CommandError::internal)?;
    let Some(key) = &context.archive_object_key else {
        return Ok(Checked::MaterialUnavailable(
            "the submission has no stored archive".into(),
        ));
    };
    if let Err(error) = pipeline.objects.get_to_file(key, &archive).await {
        return Ok(Checked::MaterialUnavailable(format!(
            "{}: {error}",
            error.code()
        )));
    }
    let limits = PacketLimits::for_artifact_policy(&context.artifact_policy);
    let packet = match Pipeline::inspect(archive.clone(), tree.clone(), limits).await {
        Ok(packet) => packet,
        Err(error) => {
            return Ok(Checked::MaterialUnavailable(format!(
                "the stored archive no longer passes intake: {}",
                error.code
            )));
        }
    };
    if packet.archive_sha256.to_string() != context.archive_sha256
        || packet.manifest_digest.to_string() != context.manifest_digest
    {
        return Ok(Checked::MaterialUnavailable(
            "the stored archive does not hash to the submitted one".into(),
        ));
    }
    let (checks, blocking) = plan(&context.locked_checker_policy, Phase::PostSubmit)?;
    let view = PacketView {
        tree: &tree,
        files: file_entries(&packet),
        summary: context.summary.clone(),
        attestation: context.contributor_attestation.clone(),
        acceptance_criteria: context.acceptance_criteria.clone(),
        prior_findings: Vec::new(),
    };
    let mut conn = pool.acquire().await?;
    let evaluation = pipeline
        .checkers
        .evaluate(&mut conn, &checks, &blocking, Phase::PostSubmit, &view)
        .await?;
    Ok(Checked::Evaluated(evaluation))
}

/// The digest a completed run stores: its members' result digests, in order, and the
/// route. [`replay`] must reproduce it.
pub fn run_result_digest(evaluation: &Evaluation) -> Result<Digest, CommandError> {
    Digest::of_canonical_json(&json!({
        "schema": "workstream.checker_run_result.v1",
        "members": evaluation.members.iter().map(|m| m.outcome.result_digest).collect::<Vec<_>>(),
        "route": evaluation.route.as_str(),
    }))
    .map_err(CommandError::internal)
}

/// A stored run, run again.
#[derive(Debug)]
pub struct Replay {
    /// The run's stored status (`completed`, `failed`, ...).
    pub stored_status: String,
    /// The run's stored result digest (none for a run that never completed).
    pub stored_digest: Option<String>,
    /// Each stored member's (checker name, result digest), in order.
    pub stored_members: Vec<(String, String)>,
    /// The evaluation of the replay.
    pub evaluation: Evaluation,
    /// Its run digest.
    pub replayed_digest: Digest,
}

impl Replay {
    /// Whether the replay reproduced the stored result exactly.
    pub fn reproduced(&self) -> bool {
        self.stored_digest.as_deref() == Some(self.replayed_digest.to_string().as_str())
    }
}

/// Re-runs the stored checker run `run_id` from its stored inputs (the archive by its
/// key, the locked policy, the task's criteria), without writing anything, so an
/// auditor can check that the stored result digest is what those inputs produce.
pub async fn replay(
    pipeline: &Pipeline,
    pool: &PgPool,
    run_id: Uuid,
) -> Result<Replay, CommandError> {
    let context = run_context(pool, run_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let stored_digest: Option<String> =
        sqlx::query_scalar("SELECT result_digest FROM checker_runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(pool)
            .await?;
    let stored_members: Vec<(String, String)> = sqlx::query_as(
        "SELECT checker_name, result_digest FROM checker_results WHERE checker_run_id = $1 ORDER BY ordinal",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await?;
    match check(pipeline, pool, &context).await? {
        Checked::Evaluated(evaluation) => Ok(Replay {
            stored_status: context.status,
            stored_digest,
            stored_members,
            replayed_digest: run_result_digest(&evaluation)?,
            evaluation,
        }),
        Checked::MaterialUnavailable(detail) => Err(CommandError::new(
            crate::ErrorKind::Unavailable,
            "material_unavailable",
            detail,
        )),
    }
}

/// Writes the members, finishes the run and moves the task, in `tx`.
async fn finalize(
    tx: &mut PgConnection,
    run_id: Uuid,
    context: &RunContext,
    checked: Checked,
) -> Result<(), CommandError> {
    let task = tasks::lock(tx, context.task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let status: String =
        sqlx::query_scalar("SELECT status FROM checker_runs WHERE id = $1 FOR UPDATE")
            .bind(run_id)
            .fetch_one(&mut *tx)
            .await?;
    if status != "running" {
        // Finished by someone else under an earlier lease: nothing to add.
        return Ok(());
    }
    let (route, failure_code, result_digest, counts_payload) = match &checked {
        Checked::MaterialUnavailable(detail) => {
            audit::append(
                tx,
                NewAuditEvent {
                    project_id: Some(context.project_id),
                    entity_type: "submission".into(),
                    entity_id: Some(context.submission_id),
                    event_type: "artifact_incident".into(),
                    payload: json!({ "checker_run_id": run_id, "failure_code": "material_unavailable", "detail": detail }),
                    ..Default::default()
                },
            )
            .await?;
            (
                Route::CheckerRetry,
                Some("material_unavailable"),
                None,
                json!({}),
            )
        }
        Checked::Evaluated(evaluation) => {
            record_members(tx, run_id, evaluation).await?;
            let failure = evaluation
                .members
                .iter()
                .find_map(|m| m.outcome.result.failure())
                .map(|code| code.as_str());
            let digest = run_result_digest(evaluation)?;
            (
                evaluation.route,
                failure,
                Some(digest),
                serde_json::to_value(evaluation.counts).map_err(CommandError::internal)?,
            )
        }
    };
    let run_status = if failure_code.is_some() {
        "failed"
    } else {
        "completed"
    };
    sqlx::query(
        "UPDATE checker_runs SET status = $2, routing_recommendation = $3, failure_code = $4, \
         result_digest = $5, completed_at = now() WHERE id = $1",
    )
    .bind(run_id)
    .bind(run_status)
    .bind(route.as_str())
    .bind(failure_code)
    .bind(result_digest.map(|d| d.to_string()))
    .execute(&mut *tx)
    .await?;

    let contributor_visible_failures = match &checked {
        Checked::Evaluated(e) => e
            .members
            .iter()
            .filter(|m| m.member.status == MemberStatus::Failed && m.member.blocks_review)
            .count(),
        Checked::MaterialUnavailable(_) => 0,
    };
    let routing = match route {
        Route::AllowReview => RoutingRecommendation::AllowReview,
        Route::NeedsRevision => RoutingRecommendation::NeedsRevision,
        Route::TaskSetupBlocked => RoutingRecommendation::TaskSetupBlocked,
        Route::CheckerRetry => RoutingRecommendation::CheckerRetry,
    };
    let facts = GuardFacts {
        checker_run_for_submission: true,
        checker_run_final: true,
        checker_run_current: true,
        artifact_hashes_match: true,
        open_blocking_checker_failures: if route == Route::AllowReview { 0 } else { 1 },
        contributor_visible_failures: u32::try_from(contributor_visible_failures)
            .unwrap_or(u32::MAX),
        ..GuardFacts::default()
    };
    let gate_payload = json!({
        "checker_run_id": run_id,
        "submission_id": context.submission_id,
        "submission_version": context.submission_version,
        "route": route.as_str(),
        "outcome_source": "auto_checker",
        "review_decision_id": null,
        "counts": counts_payload,
    });
    let state = crate::tasks::state_of(&task)?;
    match decide(
        state,
        &TaskCommand::RecordEvaluation { routing },
        &ActorContext::system(),
        &facts,
    ) {
        Ok(decision) => {
            let (to, event) = if route == Route::AllowReview {
                ("review_pending", "pre_review_gate_passed")
            } else {
                ("needs_revision", "pre_review_gate_needs_revision")
            };
            let moved = tasks::set_status(tx, task.id, to, task.assigned_to).await?;
            if route == Route::AllowReview {
                open_review_entry(tx, context, run_id).await?;
            }
            crate::tasks::audit_transition(
                tx,
                &moved,
                &decision,
                event,
                None,
                None,
                None,
                gate_payload,
            )
            .await?;
        }
        // A retry or a setup defect holds the task where it is; the run says why.
        Err(_) => {
            audit::append(
                tx,
                NewAuditEvent {
                    project_id: Some(context.project_id),
                    entity_type: "task".into(),
                    entity_id: Some(task.id),
                    event_type: "pre_review_gate_blocked".into(),
                    from_status: Some(task.status.clone()),
                    to_status: Some(task.status.clone()),
                    payload: gate_payload,
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    Ok(())
}

async fn record_members(
    tx: &mut PgConnection,
    run_id: Uuid,
    evaluation: &Evaluation,
) -> Result<(), CommandError> {
    for m in &evaluation.members {
        let status = match m.member.status {
            MemberStatus::Passed => "passed",
            MemberStatus::Warning => "warning",
            MemberStatus::Failed => "failed",
            MemberStatus::Errored => "errored",
        };
        // The stored verdict is binary: a warning is a pass with findings.
        let verdict = match m.outcome.result.verdict() {
            None => None,
            Some(workstream_sandbox::Verdict::Failed) => Some("failed"),
            Some(_) => Some("passed"),
        };
        let (findings, summary) = match &m.outcome.result {
            workstream_sandbox::RunResult::Completed {
                findings, summary, ..
            } => (
                serde_json::to_value(findings).map_err(CommandError::internal)?,
                summary.clone(),
            ),
            workstream_sandbox::RunResult::InfrastructureFailed { .. } => (json!([]), None),
        };
        sqlx::query(
            "INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, \
             checker_version, config, config_hash, status, severity, blocks_review, verdict, \
             failure_code, findings, summary, fuel_consumed, duration_us, result_digest) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(Uuid::now_v7())
        .bind(run_id)
        .bind(i32::try_from(m.check.ordinal).unwrap_or(i32::MAX))
        .bind(m.check.digest.to_string())
        .bind(&m.check.name)
        .bind(&m.checker_version)
        .bind(&m.check.configuration)
        .bind(m.check.config_hash.to_string())
        .bind(status)
        .bind(m.member.severity.as_str())
        .bind(m.member.blocks_review)
        .bind(verdict)
        .bind(m.outcome.result.failure().map(|c| c.as_str()))
        .bind(findings)
        .bind(summary)
        .bind(i64::try_from(m.outcome.fuel_consumed).unwrap_or(i64::MAX))
        .bind(i64::try_from(m.outcome.duration.as_micros()).unwrap_or(i64::MAX))
        .bind(m.outcome.result_digest.to_string())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Opens the review queue entry of an admitted submission. A revision made in answer
/// to a reviewer's `needs_revision` is preferred for that reviewer for the locked review
/// policy's preference window (R35, AS41), unless they no longer hold the reviewer
/// grant; everything else is open.
async fn open_review_entry(
    tx: &mut PgConnection,
    context: &RunContext,
    run_id: Uuid,
) -> Result<(), CommandError> {
    let revision: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT r.reviewer_id, s.locked_guide_id FROM submissions s \
         JOIN revision_context_preparations p ON p.id = s.revision_context_preparation_id \
         JOIN reviews r ON r.id = p.originating_review_id \
         WHERE s.id = $1",
    )
    .bind(context.submission_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (reason, preferred, window) = match revision {
        Some((reviewer, guide)) => {
            let policies = crate::reviews::guide_policies(tx, guide).await?;
            let still_reviewer = tasks::authority(tx, reviewer, context.project_id, false)
                .await?
                .project_grant("reviewer")
                .is_some();
            (
                "revision_return",
                still_reviewer.then_some(reviewer),
                policies.review.review_preference_window_seconds,
            )
        }
        None if context.submission_version == 1 => ("first_submission", None, 0),
        None => ("checker_remediation_return", None, 0),
    };
    sqlx::query(
        "INSERT INTO review_queue_entries (id, project_id, task_id, submission_id, submission_version, \
         admitting_checker_run_id, routing_reason, routing, preferred_reviewer_id, preference_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 CASE WHEN $9::uuid IS NULL THEN NULL ELSE now() + make_interval(secs => $10) END)",
    )
    .bind(Uuid::now_v7())
    .bind(context.project_id)
    .bind(context.task_id)
    .bind(context.submission_id)
    .bind(context.submission_version)
    .bind(run_id)
    .bind(reason)
    .bind(if preferred.is_some() { "preferred" } else { "open" })
    .bind(preferred)
    .bind(window as f64)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Pipeline {
    /// The bytes of one file of a stored packet, for a reviewer holding the lease
    /// (authorization is the caller's: `reviews::packet::file_identity`). The archive is
    /// fetched and inspected once into a cache keyed by its digest (packets are
    /// immutable), and every read re-hashes the file against the digest recorded at
    /// submission, so a tampered cache is never served.
    pub async fn packet_file(
        &self,
        archive_key: &str,
        archive_sha256: &str,
        artifact_policy: &serde_json::Value,
        path: &str,
        file_sha256: &str,
    ) -> Result<Vec<u8>, CommandError> {
        let unavailable = |why: String| {
            CommandError::new(crate::ErrorKind::Unavailable, "material_unavailable", why)
        };
        let hex = archive_sha256.trim_start_matches("sha256:");
        let cached = self.scratch.join("review-packets").join(hex);
        if !cached.is_dir() {
            let scratch = self.scratch_dir()?;
            let archive = scratch.path().join("packet.zip");
            let tree = scratch.path().join("tree");
            std::fs::create_dir(&tree).map_err(CommandError::internal)?;
            self.objects
                .get_to_file(archive_key, &archive)
                .await
                .map_err(|e| unavailable(format!("{}: {e}", e.code())))?;
            let limits = PacketLimits::for_artifact_policy(artifact_policy);
            let packet = Pipeline::inspect(archive, tree.clone(), limits)
                .await
                .map_err(|e| unavailable(format!("the stored archive fails intake: {}", e.code)))?;
            if packet.archive_sha256.to_string() != archive_sha256 {
                return Err(unavailable(
                    "the stored archive does not hash to the submitted one".into(),
                ));
            }
            std::fs::create_dir_all(cached.parent().expect("a parent"))
                .map_err(CommandError::internal)?;
            // Another reader may have won the race; either tree is the same packet.
            if std::fs::rename(&tree, &cached).is_err() && !cached.is_dir() {
                return Err(CommandError::internal("could not cache the packet tree"));
            }
        }
        let bytes = tokio::fs::read(cached.join(path))
            .await
            .map_err(|e| unavailable(format!("reading {path}: {e}")))?;
        if Digest::of_bytes(&bytes).to_string() != file_sha256 {
            return Err(unavailable(format!(
                "{path} does not hash to the submitted file"
            )));
        }
        Ok(bytes)
    }
}

/// The default scratch directory under a data directory.
pub fn default_scratch(data_dir: &Path) -> PathBuf {
    data_dir.join("scratch")
}
