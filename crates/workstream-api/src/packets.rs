//! Packets, submissions and checker runs (docs/checkers.md).
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! The upload is streamed to a private scratch file under the task's archive limit,
//! never held in memory; then the engine checks it
//! ([`workstream_engine::pipeline::Pipeline::check_packet`], the same function the
//! post-submit run uses): the ZIP is inspected, which hashes every byte of it once
//! (every limit and safe-entry rule, with its code), and the locked policy's pre-submit
//! checkers run on the verified tree, with the revision's open findings. Only a packet
//! that passes is stored (content-addressed, write-once) and admitted. A refused upload
//! leaves an audit event and nothing else. The summary and attestation travel with the
//! packet because the checkers read them; submitting consumes the admission with
//! exactly the texts that were checked. This module only parses, calls and renders.

use std::path::Path;
use std::sync::Arc;

use crate::extract::Multipart as MultipartBody;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::gate::{Counts, MemberStatus};
use workstream_domain::lifecycle::Actor;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};
use workstream_engine::Requester;
use workstream_engine::evaluation::Evaluation;
use workstream_engine::packets::PacketLimits;
use workstream_engine::pipeline::{
    self as packet_pipeline, CheckFailure, PacketCheck, PacketTexts, Pipeline, failure_action,
};
use workstream_engine::tasks::access;
use workstream_engine::tasks::submission::{self, PreparedPacket, SubmitInput};
use workstream_sandbox::{Level, Phase, RunResult};
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::tasks;

use crate::AppState;
use crate::auth::Caller;
use crate::correlation::CorrelationId;
use crate::error::ApiError;
use crate::extract::{Ids, Json};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};

/// Most bytes a summary or an attestation may have (docs/checkers.md).
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// The packet routes.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new("Packets")
        .post(
            "/tasks/{tid}/packets",
            upload,
            Doc::new("Upload a packet: intake and the pre-submit checkers, then an admission")
                .who("the assignee of an `in_progress` or `needs_revision` task")
                .streamed()
                .parts(&[
                    ("summary", "what the packet holds, for the checkers and the reviewer (at most 64 KiB)"),
                    ("attestation", "the contributor's attestation (at most 64 KiB)"),
                    ("packet", "the ZIP archive (`outputs/`, `evidence/`), streamed under the task's archive limit"),
                ])
                .created("`{admission_id, archive_sha256, manifest_digest, file_count, pre_submit}`: intake passed and the pre-submit checkers allow it")
                .note("A refused upload writes nothing but an audit event. `pre_submission_checker_failed` carries the contributor-safe results (checker, status, message, path, line, suggested fix) in `details`.")
                .refuses(&[ErrorCode::NotAssignee, ErrorCode::TransitionNotAllowed, ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::TaskSetupBlocked])
                .refuses(&[
                        ErrorCode::SubmissionArchiveMalformed, ErrorCode::SubmissionArchiveLimitExceeded, ErrorCode::SubmissionArchiveUnsafeEntry,
                        ErrorCode::SubmissionArchiveEncrypted, ErrorCode::SubmissionArchiveCollision, ErrorCode::SubmissionArchiveIntegrityFailure,
                        ErrorCode::SubmissionArchiveTimeout, ErrorCode::SubmissionArchiveUnchanged, ErrorCode::SubmissionManifestUnchanged,
                        ErrorCode::PreSubmissionCheckerFailed, ErrorCode::SummaryRequired, ErrorCode::AttestationRequired,
                    ],
                )
                .refuses(&[ErrorCode::PreSubmissionInfrastructureUnavailable]),
        )
        .post(
            "/tasks/{tid}/submissions",
            submit,
            Doc::new("Submit an admitted packet as the task's next version")
                .who("the assignee")
                .body::<SubmitBody>()
                .created("`{submission: {id, version}, task: {status: \"evaluation_pending\"}, checker_run_id}`")
                .note("The server assigns the version, stamps every lock from the task and queues the post-submit evaluation in the same transaction. After a reviewer's needs_revision the body echoes the revision context head (`preparation_id`, `preparation_digest`) and answers every open blocking finding in `responses`.")
                .refuses(&[ErrorCode::NotAssignee, ErrorCode::TransitionNotAllowed, ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::SubmissionVersionConflict, ErrorCode::RevisionContextStale])
                .refuses(&[
                        ErrorCode::AdmissionNotReady, ErrorCode::FindingResponsesIncomplete, ErrorCode::FindingResponsesNotExpected,
                        ErrorCode::FindingResponseUnknown, ErrorCode::FindingResponseDuplicate, ErrorCode::FindingResponseInvalid,
                        ErrorCode::RevisionContextBlocked, ErrorCode::RevisionLimitReached, ErrorCode::RevisionDeadlineExpired,
                    ],
                ),
        )
        .get(
            "/tasks/{tid}/checker-runs",
            runs,
            Doc::new("The task's checker runs and their results")
                .who("the assignee (checker, status, severity, message and fix of visible runs; `not_evaluated` for an internal route); a covering project manager, an operator or audit authority (digests, costs, and for a failure the checker, its code, the operator detail and the action to take)")
                .ok("`{items}`"),
        )
}

fn pipeline(state: &AppState) -> Result<Arc<Pipeline>, ApiError> {
    state.pipeline.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::PreSubmissionInfrastructureUnavailable,
            "this server does not take packets",
        )
    })
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

/// The upload's texts; the packet itself is in the scratch file.
struct Upload {
    summary: String,
    attestation: String,
}

/// Reads the multipart body: the two texts, then the packet, streamed to `archive`
/// under the byte cap. The archive is not hashed here: inspection reads and hashes
/// every byte of it anyway.
async fn receive(
    mut multipart: Multipart,
    archive: &Path,
    max_bytes: u64,
) -> Result<Upload, ApiError> {
    let malformed = |why: String| invalid(ErrorCode::InvalidRequest, why);
    let (mut summary, mut attestation, mut packet) = (None, None, None);
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| malformed(e.body_text()))?
    {
        match field.name().unwrap_or_default() {
            name @ ("summary" | "attestation") => {
                let name = name.to_owned();
                let text = field.text().await.map_err(|e| malformed(e.body_text()))?;
                crate::text_gate::field(&name, &text)?;
                if text.len() > MAX_TEXT_BYTES {
                    return Err(invalid(
                        ErrorCode::InvalidRequest,
                        format!("`{name}` must be at most 64 KiB of text"),
                    ));
                }
                if name == "summary" {
                    summary = Some(text);
                } else {
                    attestation = Some(text);
                }
            }
            "packet" => {
                let mut file = tokio::fs::File::create(archive)
                    .await
                    .map_err(ApiError::internal)?;
                let mut bytes = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(|e| malformed(e.body_text()))? {
                    bytes += chunk.len() as u64;
                    if bytes > max_bytes {
                        return Err(invalid(
                            ErrorCode::SubmissionArchiveLimitExceeded,
                            "the packet is larger than the task's archive limit",
                        )
                        .with_details(
                            json!({"limit": "maximum_archive_bytes", "maximum": max_bytes}),
                        ));
                    }
                    file.write_all(&chunk).await.map_err(ApiError::internal)?;
                }
                file.flush().await.map_err(ApiError::internal)?;
                packet = Some(bytes);
            }
            other => {
                return Err(malformed(format!(
                    "unknown part `{other}`: send `summary`, `attestation` and `packet`"
                )));
            }
        }
    }
    let archive_bytes =
        packet.ok_or_else(|| malformed("the `packet` part (the ZIP) is missing".into()))?;
    if archive_bytes == 0 {
        return Err(invalid(
            ErrorCode::SubmissionArchiveMalformed,
            "the packet is empty",
        ));
    }
    Ok(Upload {
        summary: summary.unwrap_or_default(),
        attestation: attestation.unwrap_or_default(),
    })
}

/// A finding as the contributor sees it (no operator detail).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SafeFinding {
    /// The checker's stable code for it.
    code: String,
    /// `info`, `warning` or `error` (absent in stored runs read back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    level: Option<String>,
    /// What is wrong.
    message: String,
    /// Where, when it is about one file.
    #[serde(default)]
    path: Option<String>,
    /// The line in that file.
    #[serde(default)]
    line: Option<u32>,
    /// How to fix it.
    #[serde(default)]
    suggested_fix: Option<String>,
}

/// The contributor-safe form of a finding list (no operator detail).
fn safe_findings(result: &RunResult) -> Vec<SafeFinding> {
    match result {
        RunResult::Completed { findings, .. } => findings
            .iter()
            .map(|f| SafeFinding {
                code: f.code.clone(),
                level: Some(level_token(f.level).to_owned()),
                message: f.message.clone(),
                path: f.path.clone(),
                line: f.line,
                suggested_fix: f.suggested_fix.clone(),
            })
            .collect(),
        RunResult::InfrastructureFailed { .. } => Vec::new(),
    }
}

fn level_token(level: Level) -> &'static str {
    match level {
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

/// The pre-submit checkers' verdict on a packet, as its contributor sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PreSubmitReport {
    /// `allow_review` when the packet may be submitted.
    route: &'static str,
    /// Members by outcome.
    counts: Counts,
    /// One per pre-submit checker, in policy order.
    results: Vec<PreSubmitResult>,
}

/// One pre-submit checker's verdict.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PreSubmitResult {
    checker: String,
    /// `passed`, `warning`, `failed` or `errored`.
    status: &'static str,
    severity: &'static str,
    blocks_review: bool,
    findings: Vec<SafeFinding>,
}

/// The pre-submit report a contributor sees.
fn report(evaluation: &Evaluation) -> PreSubmitReport {
    PreSubmitReport {
        route: evaluation.route.as_str(),
        counts: evaluation.counts,
        results: evaluation
            .members
            .iter()
            .map(|m| PreSubmitResult {
                checker: m.check.name.clone(),
                status: m.member.status.as_str(),
                severity: m.member.severity.as_str(),
                blocks_review: m.member.blocks_review,
                findings: safe_findings(&m.outcome.result),
            })
            .collect(),
    }
}

/// The checkers of an evaluation that could not run, with their infrastructure code and
/// the operator detail: stored in the refusal's audit event, never shown to the
/// contributor.
fn errored_members(evaluation: &Evaluation) -> Value {
    json!(
        evaluation
            .members
            .iter()
            .filter_map(|m| match &m.outcome.result {
                RunResult::InfrastructureFailed { code, detail } => Some(json!({
                    "checker": m.check.name, "checker_digest": m.check.digest,
                    "failure_code": code.as_str(), "detail": detail,
                })),
                RunResult::Completed { .. } => None,
            })
            .collect::<Vec<_>>()
    )
}

/// What a task locked for its packets: the artifact policy (intake limits), the checker
/// policy and its hash, the acceptance criteria, and the project.
struct Locked {
    artifact_policy: Value,
    checker_policy: Value,
    checker_policy_hash: String,
    acceptance_criteria: String,
    project_id: Uuid,
}

async fn locked_context(state: &AppState, task_id: Uuid) -> Result<Locked, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let task = tasks::find(&mut conn, task_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (Some(guide), Some(checker_policy), Some(checker_policy_hash)) = (
        task.locked_guide_id,
        task.locked_checker_policy,
        task.locked_checker_policy_hash,
    ) else {
        return Err(ApiError::new(
            ErrorCode::TransitionNotAllowed,
            "the task takes no packet in its state",
        ));
    };
    let bundle = tasks::guide_bundle(&mut conn, guide)
        .await?
        .unwrap_or_default();
    Ok(Locked {
        artifact_policy: bundle["artifact_policy"].clone(),
        checker_policy,
        checker_policy_hash,
        acceptance_criteria: task.acceptance_criteria,
        project_id: task.project_id,
    })
}

async fn upload(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    MultipartBody(multipart): MultipartBody,
) -> Result<Answer<Admitted>, ApiError> {
    let pipeline = pipeline(&state)?;
    let prior_findings = {
        let mut conn = state.pool.acquire().await?;
        access::precheck_task(&mut conn, caller.actor_id, task_id, Actor::Submitter).await?;
        // Only the assignee's bytes are received, inspected, checked and stored.
        submission::check_uploader(&mut conn, &caller.requester(), task_id).await?;
        // The open blocking findings the next version answers (after a review).
        packet_pipeline::prior_findings(&mut conn, task_id, packet_pipeline::Revision::Upcoming)
            .await?
    };
    let locked = locked_context(&state, task_id).await?;
    let limits = PacketLimits::for_artifact_policy(&locked.artifact_policy);
    let scratch = pipeline.scratch_dir()?;
    let archive = scratch.path().join("packet.zip");
    let tree = scratch.path().join("tree");
    std::fs::create_dir(&tree).map_err(ApiError::internal)?;
    let upload = receive(multipart, &archive, limits.maximum_archive_bytes).await?;

    let check = PacketCheck {
        phase: Phase::PreSubmit,
        archive: archive.clone(),
        tree,
        limits,
        policy: &locked.checker_policy,
        policy_hash: &locked.checker_policy_hash,
        texts: PacketTexts {
            summary: upload.summary.clone(),
            attestation: upload.attestation.clone(),
            acceptance_criteria: locked.acceptance_criteria.clone(),
        },
        prior_findings,
    };
    let checked = match pipeline.check_packet(&state.pool, check).await {
        Ok(checked) => checked,
        // The contributor cannot fix the task's own setup.
        Err(CheckFailure::Policy(error)) => {
            tracing::error!(%task_id, code = %error.code, message = %error.message, "the task's locked checker policy cannot be run");
            return Err(ApiError::new(
                ErrorCode::TaskSetupBlocked,
                "the task's setup needs a manager's repair before packets can be checked",
            ));
        }
        Err(failure) => return Err(workstream_engine::CommandError::from(failure).into()),
    };
    let (packet, evaluation) = (checked.packet, checked.evaluation);
    let report = report(&evaluation);
    if evaluation.route != RoutingRecommendation::AllowReview {
        let mut conn = state.pool.acquire().await?;
        audit::append(
            &mut conn,
            NewAuditEvent {
                project_id: Some(locked.project_id),
                entity_type: "task".into(),
                entity_id: Some(task_id),
                event_type: "pre_submission_check_failed".into(),
                actor_id: Some(caller.actor_id),
                payload: json!({
                    "route": evaluation.route.as_str(),
                    "archive_sha256": packet.archive_sha256,
                    "manifest_digest": packet.manifest_digest,
                    "counts": evaluation.counts,
                    "errored": errored_members(&evaluation),
                }),
                correlation_id: Some(correlation.0.clone()),
                ..Default::default()
            },
        )
        .await
        .map_err(workstream_engine::CommandError::from)?;
        return Err(match evaluation.route {
            RoutingRecommendation::CheckerRetry => ApiError::new(
                ErrorCode::PreSubmissionInfrastructureUnavailable,
                "a pre-submit checker could not run; upload again later",
            ),
            // The contributor cannot fix the task's own setup: no rows for them.
            RoutingRecommendation::TaskSetupBlocked => ApiError::new(
                ErrorCode::TaskSetupBlocked,
                "the task's setup needs a manager's repair before packets can be checked",
            ),
            _ => invalid(
                ErrorCode::PreSubmissionCheckerFailed,
                "the packet failed a blocking pre-submit check; fix it and upload again",
            )
            .with_details(json!(report)),
        });
    }

    let object_key = pipeline
        .objects
        .put_file(&packet.archive_sha256, &archive)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storing a packet");
            ApiError::new(
                e.code(),
                "the packet could not be stored; upload again later",
            )
        })?;
    let prepared = PreparedPacket {
        archive_sha256: packet.archive_sha256,
        archive_bytes: packet.archive_bytes,
        archive_object_key: object_key,
        manifest: packet.manifest.clone(),
        manifest_digest: packet.manifest_digest,
        pre_submit_report: json!({
            "summary": upload.summary, "attestation": upload.attestation, "checks": &report,
        }),
    };
    let request = json!({
        "path": format!("/tasks/{task_id}/packets"),
        "body": { "summary": upload.summary, "attestation": upload.attestation,
                  "archive_sha256": packet.archive_sha256 },
    });
    let requester = Requester {
        actor_id: caller.actor_id,
        correlation_id: Some(correlation.0.clone()),
    };
    let file_count = packet.files.len();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "packet.prepare",
        key,
        &request,
        async |tx| {
            let admission = submission::admit(tx, &requester, task_id, &prepared).await?;
            Ok((
                StatusCode::CREATED,
                Admitted {
                    admission_id: admission.id,
                    archive_sha256: admission.archive_sha256,
                    archive_bytes: prepared.archive_bytes,
                    manifest_digest: admission.manifest_digest,
                    file_count,
                    pre_submit: report,
                },
            ))
        },
    )
    .await
}

/// A packet that passed intake and the pre-submit checkers, ready to submit.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Admitted {
    /// Pass to `POST /tasks/{tid}/submissions`.
    admission_id: Uuid,
    archive_sha256: String,
    archive_bytes: u64,
    manifest_digest: String,
    file_count: usize,
    pre_submit: PreSubmitReport,
}

/// A submitted version, queued for evaluation.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Submitted {
    submission: SubmittedVersion,
    task: SubmittedTask,
    /// The evaluation's checker run.
    checker_run_id: Uuid,
}

/// The new submission's id and version.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SubmittedVersion {
    id: Uuid,
    version: i32,
}

/// The task after submitting: `evaluation_pending`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SubmittedTask {
    id: Uuid,
    status: workstream_domain::lifecycle::TaskState,
}

/// The body of `POST /tasks/{tid}/submissions`: nothing but the admission; versions,
/// hashes and policy ids are the server's (unknown fields are 422).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    admission_id: Uuid,
    /// After a reviewer's needs_revision: the preparation head read (R34).
    #[serde(default)]
    preparation_id: Option<Uuid>,
    /// Its digest.
    #[serde(default)]
    preparation_digest: Option<String>,
    /// One response per open blocking finding (R32).
    #[serde(default)]
    responses: Vec<workstream_engine::reviews::revision::FindingResponse>,
}

async fn submit(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<Submitted>, ApiError> {
    let body: SubmitBody = crate::extract::body(&value)?;
    let texts: Option<(Option<String>, Option<String>)> = {
        let mut conn = state.pool.acquire().await?;
        access::precheck_task(&mut conn, caller.actor_id, task_id, Actor::Submitter).await?;
        workstream_engine::tasks::submission::admitted_texts(&mut conn, body.admission_id, task_id)
            .await?
    };
    let (summary, attestation) = texts.unwrap_or_default();
    let input = SubmitInput {
        admission_id: body.admission_id,
        summary: summary.unwrap_or_default(),
        attestation: attestation.unwrap_or_default(),
        resubmission: workstream_engine::reviews::revision::Resubmission {
            preparation_id: body.preparation_id,
            preparation_digest: body.preparation_digest,
            responses: body.responses,
        },
    };
    let requester = Requester {
        actor_id: caller.actor_id,
        correlation_id: Some(correlation.0.clone()),
    };
    let request = json!({ "path": format!("/tasks/{task_id}/submissions"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "task.submit",
        key,
        &request,
        async |tx| {
            let done = submission::submit(tx, &requester, task_id, &input).await?;
            Ok((
                StatusCode::CREATED,
                Submitted {
                    submission: SubmittedVersion {
                        id: done.submission_id,
                        version: done.version,
                    },
                    task: SubmittedTask {
                        id: done.task.id,
                        status: done.task.status,
                    },
                    checker_run_id: done.checker_run_id,
                },
            ))
        },
    )
    .await
}

/// A task's checker runs, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckerRuns {
    items: Vec<RunView>,
}

/// A checker run as the caller may see it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RunView {
    /// Managers, operators and auditors: everything, digests and costs included.
    Full(FullRun),
    /// The assignee, for a run that routed the packet.
    Visible(VisibleRun),
    /// The assignee, for a run held internally (a retry, a setup defect).
    Internal(InternalRun),
}

/// A checker run in full.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FullRun {
    id: Uuid,
    submission_version: i32,
    attempt: i32,
    /// `running`, `completed` or `failed`.
    status: CheckerRunStatus,
    /// `allow_review`, `needs_revision`, `checker_retry`, `task_setup_blocked`, ...
    route: RoutingRecommendation,
    failure_code: Option<String>,
    failure_detail: Option<String>,
    /// The checkers that could not run.
    failed_checkers: Vec<String>,
    /// What to do about the failure.
    action: Option<String>,
    /// Whether this attempt is the submission's current one.
    current: bool,
    created_at: chrono::DateTime<chrono::Utc>,
    completed_at: Option<chrono::DateTime<chrono::Utc>>,
    results: Vec<FullResult>,
}

/// One checker's stored result, in full.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FullResult {
    ordinal: i32,
    checker: String,
    checker_digest: String,
    config_hash: String,
    status: MemberStatus,
    severity: String,
    blocks_review: bool,
    failure_code: Option<String>,
    failure_detail: Option<String>,
    action: Option<String>,
    /// The findings as the checker reported them.
    findings: Value,
    fuel_consumed: Option<i64>,
    duration_us: Option<i64>,
    result_digest: String,
}

/// A run that routed the packet, as its contributor sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VisibleRun {
    id: Uuid,
    submission_version: i32,
    status: CheckerRunStatus,
    route: RoutingRecommendation,
    results: Vec<VisibleResult>,
}

/// One checker's verdict, as the contributor sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VisibleResult {
    checker: String,
    status: MemberStatus,
    severity: String,
    blocks_review: bool,
    findings: Vec<SafeFinding>,
}

/// A run held internally: the contributor learns only that it did not evaluate.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InternalRun {
    id: Uuid,
    submission_version: i32,
    route: NotEvaluated,
}

/// The token `not_evaluated`.
#[derive(Debug, Serialize, JsonSchema)]
pub enum NotEvaluated {
    /// The run is held for an operator or a manager.
    #[serde(rename = "not_evaluated")]
    NotEvaluated,
}

/// Stored findings in their contributor-safe form (code, message, place, fix).
fn contributor_findings(stored: &Value) -> Vec<SafeFinding> {
    let field = |f: &Value, name: &str| f[name].as_str().map(str::to_owned);
    stored
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| SafeFinding {
            code: field(f, "code").unwrap_or_default(),
            level: None,
            message: field(f, "message").unwrap_or_default(),
            path: field(f, "path"),
            line: f["line"].as_u64().and_then(|l| u32::try_from(l).ok()),
            suggested_fix: field(f, "suggested_fix"),
        })
        .collect()
}

/// `GET /tasks/{tid}/checker-runs`: a contributor sees checker name, status, severity,
/// safe message and suggested fix of visible runs, and for an internal route (a retry
/// or a setup defect) only that the run is `not_evaluated`; managers, operators and
/// auditors see everything, digests and costs included.
async fn runs(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<CheckerRuns>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let task = tasks::find(&mut conn, task_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let project = access::Access::read(&mut conn, caller.actor_id, task.project_id, false).await?;
    let full = project.grant_for(Actor::ProjectManager).is_some()
        || project.grant_for(Actor::Operator).is_some()
        || project.audit_grant().is_some();
    let assignee =
        task.assigned_to == Some(caller.actor_id) && project.grant_for(Actor::Submitter).is_some();
    if !full && !assignee {
        return Err(ApiError::not_found());
    }
    let (runs, results) = workstream_engine::checker_runs::of_task(&mut conn, task_id).await?;
    let items = runs
        .iter()
        .map(|run| {
            let members = results.iter().filter(|r| r.checker_run_id == run.id);
            let visible = run.routing_recommendation.contributor_visible();
            if full {
                // Every failure says which checker, which code, the operator detail and
                // what to do about it.
                let action = |code: &Option<String>| {
                    code.as_deref()
                        .map(|c| failure_action(c).replace("{id}", &task_id.to_string()))
                };
                let results: Vec<FullResult> = members
                    .map(|r| FullResult {
                        ordinal: r.ordinal,
                        checker: r.checker_name.clone(),
                        checker_digest: r.checker_digest.clone(),
                        config_hash: r.config_hash.clone(),
                        status: r.status,
                        severity: r.severity.clone(),
                        blocks_review: r.blocks_review,
                        failure_code: r.failure_code.clone(),
                        failure_detail: r.failure_detail.clone(),
                        action: action(&r.failure_code),
                        findings: r.findings.clone(),
                        fuel_consumed: r.fuel_consumed,
                        duration_us: r.duration_us,
                        result_digest: r.result_digest.clone(),
                    })
                    .collect();
                let failed_checkers = results
                    .iter()
                    .filter(|r| r.failure_code.is_some())
                    .map(|r| r.checker.clone())
                    .collect();
                RunView::Full(FullRun {
                    id: run.id,
                    submission_version: run.submission_version,
                    attempt: run.attempt_number,
                    status: run.status,
                    route: run.routing_recommendation,
                    failure_code: run.failure_code.clone(),
                    failure_detail: run.failure_detail.clone(),
                    failed_checkers,
                    action: action(&run.failure_code),
                    current: run.is_current_for_submission,
                    created_at: run.created_at,
                    completed_at: run.completed_at,
                    results,
                })
            } else if visible {
                RunView::Visible(VisibleRun {
                    id: run.id,
                    submission_version: run.submission_version,
                    status: run.status,
                    route: run.routing_recommendation,
                    results: members
                        .map(|r| VisibleResult {
                            checker: r.checker_name.clone(),
                            status: r.status,
                            severity: r.severity.clone(),
                            blocks_review: r.blocks_review,
                            findings: contributor_findings(&r.findings),
                        })
                        .collect(),
                })
            } else {
                // Internal routes stay internal (docs/checkers.md, scenario 38).
                RunView::Internal(InternalRun {
                    id: run.id,
                    submission_version: run.submission_version,
                    route: NotEvaluated::NotEvaluated,
                })
            }
        })
        .collect();
    Ok(axum::Json(CheckerRuns { items }))
}
