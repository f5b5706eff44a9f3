//! The `policy.preview` job: one slice of a preview's chosen submissions checked under
//! the draft's policy ([`crate::jobs::PreviewArgs`], a background kind).
//!
//! 1. **Read** the preview (its effective artifact and checker policies, its chosen
//!    submissions). A preview already ended (another slice failed it) only completes
//!    the job; a `queued` one becomes `running`.
//! 2. **Check** each submission of the slice not yet recorded ([`check_submission`]):
//!    its current run and recorded results, its admission's pre-submit report; the
//!    archive fetched by its key (re-hashed) and inspected once, under the *draft's*
//!    artifact limits (a refusal is the result `intake_refused` with the intake code,
//!    missing or damaged bytes `material_unavailable`); then the draft's pre-submit
//!    checkers with the texts and prior findings the recorded run was given (its stored
//!    request; the answers cleared, as before submission), and its post-submit
//!    checkers, where a member whose component, configuration and request digest equal
//!    a completed recorded result takes that result instead of a sandbox run (runs are
//!    deterministic: `crate::pipeline::replay` proves the property), judged under the
//!    draft's rule. The checkers are the process's ([`Pipeline::checkers`]): components
//!    stay compiled and loaded. Nothing is written in this step.
//!    After each submission the slice yields to live jobs ([`yield_to_live_work`]).
//! 3. **Store** (one transaction, `jobs::complete` first): the results, and when they
//!    are the last, the summary and `completed` (`super::record_results`).
//!
//! A failure that may pass (the database or the object store unavailable) is retried
//! up to [`super::JOB_ATTEMPTS`]; any other, and any on the last attempt, a panic
//! included, fails the preview with its detail (`super::fail`) and completes the job.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::gate::{self, Member, MemberStatus, Outcome};
use workstream_domain::machines::checker_run::RoutingRecommendation;
use workstream_domain::machines::preview::{PreviewRoute, PreviewStatus};
use workstream_sandbox::{CheckRequest, Finding, Phase, PriorFinding, verdict_of};
use workstream_store::jobs::{self, ClaimedJob, JobArgs};

use super::{NewResult, compare_members};
use crate::CommandError;
use crate::evaluation::{PacketView, plan};
use crate::jobs::PreviewArgs;
use crate::packets::PacketLimits;
use crate::pipeline::{PacketTexts, Pipeline, Revision, RunRequest, file_entries, prior_findings};
use crate::reviews::findings::{self, CheckerFinding, findings_of};
use crate::worker::{BoxFuture, HandlerError, Work};

/// The `policy.preview` job.
pub struct PreviewSubmissions {
    pipeline: Arc<Pipeline>,
}

impl PreviewSubmissions {
    /// The handler over `pipeline` (the process's: its checkers stay loaded).
    pub fn new(pipeline: Arc<Pipeline>) -> PreviewSubmissions {
        PreviewSubmissions { pipeline }
    }
}

impl Work for PreviewSubmissions {
    type Args = PreviewArgs;

    fn work<'a>(
        &'a self,
        args: PreviewArgs,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(work(self.pipeline.clone(), args, job, pool))
    }
}

/// What the job reads of its preview.
struct Draft {
    status: PreviewStatus,
    artifact_policy: Value,
    checker_policy: Value,
    submission_ids: Vec<Uuid>,
}

async fn work(
    pipeline: Arc<Pipeline>,
    args: PreviewArgs,
    job: &ClaimedJob,
    pool: &PgPool,
) -> Result<(), HandlerError> {
    let last_attempt = job.attempt >= job.max_attempts;
    let retry = |error: &CommandError| {
        HandlerError::retryable(format!("{}: {}", error.code, error.message))
    };
    // The checks run in a task of their own, so that even a panic ends in a stored
    // failure on the last attempt instead of a dead letter beside a running preview.
    let checked = {
        let pool = pool.clone();
        tokio::spawn(async move { check_slice(&pipeline, &pool, args).await }.in_current_span())
            .await
    };
    let failure = match checked {
        Ok(Ok(None)) => {
            let mut tx = pool.begin().await?;
            jobs::complete(&mut tx, job).await?;
            tx.commit().await?;
            return Ok(());
        }
        Ok(Ok(Some(results))) => match store(pool, job, args.preview_id, &results).await {
            Ok(()) => return Ok(()),
            Err(Store::Job(error)) => return Err(error),
            Err(Store::Command(error)) if error.is_unavailable() && !last_attempt => {
                return Err(retry(&error));
            }
            Err(Store::Command(error)) => format!(
                "the results could not be stored: {}: {}",
                error.code, error.message
            ),
        },
        Ok(Err(error)) if error.is_unavailable() && !last_attempt => return Err(retry(&error)),
        Ok(Err(error)) => format!("{}: {}", error.code, error.message),
        Err(join) if join.is_panic() && !last_attempt => {
            return Err(HandlerError::retryable("checking the packets panicked"));
        }
        Err(join) if join.is_panic() => "checking the packets panicked".to_owned(),
        Err(_) => return Err(HandlerError::retryable("the checks were cancelled")),
    };
    tracing::warn!(preview_id = %args.preview_id, %failure, "policy preview failed");
    let mut tx = pool.begin().await?;
    jobs::complete(&mut tx, job).await?;
    super::fail(&mut tx, args.preview_id, &failure)
        .await
        .map_err(|error| retry(&error))?;
    tx.commit().await?;
    Ok(())
}

/// Why storing the results did not commit.
enum Store {
    /// The job's own bookkeeping (a lost lease, the database): the worker handles it.
    Job(HandlerError),
    /// Recording the results failed.
    Command(CommandError),
}

/// Step 3: complete the job and store the results in one transaction.
async fn store(
    pool: &PgPool,
    job: &ClaimedJob,
    preview_id: Uuid,
    results: &[NewResult],
) -> Result<(), Store> {
    let mut tx = pool.begin().await.map_err(|e| Store::Job(e.into()))?;
    jobs::complete(&mut tx, job)
        .await
        .map_err(|e| Store::Job(e.into()))?;
    super::record_results(&mut tx, preview_id, results)
        .await
        .map_err(Store::Command)?;
    tx.commit().await.map_err(|e| Store::Job(e.into()))?;
    Ok(())
}

/// Steps 1 and 2: the slice's results, or `None` when the preview has ended (or is
/// gone) and the job only completes.
async fn check_slice(
    pipeline: &Pipeline,
    pool: &PgPool,
    args: PreviewArgs,
) -> Result<Option<Vec<NewResult>>, CommandError> {
    let mut conn = pool.acquire().await?;
    let Some(draft) = sqlx::query_as!(
        Draft,
        r#"SELECT status AS "status: PreviewStatus", artifact_policy, checker_policy,
                  submission_ids FROM policy_previews WHERE id = $1"#,
        args.preview_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    if draft.status.is_final() {
        return Ok(None);
    }
    super::mark_running(&mut conn, args.preview_id).await?;
    let first = usize::try_from(args.first).unwrap_or(usize::MAX);
    let count = usize::try_from(args.count).unwrap_or(usize::MAX);
    let slice = draft
        .submission_ids
        .get(first..first.saturating_add(count))
        .ok_or_else(|| {
            CommandError::new(
                ErrorCode::InternalError,
                "a preview job names submissions outside its preview",
            )
        })?;
    let recorded: HashSet<Uuid> = sqlx::query_scalar!(
        "SELECT submission_id FROM policy_preview_results \
         WHERE preview_id = $1 AND submission_id = ANY($2)",
        args.preview_id,
        slice,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    drop(conn);
    let mut results = Vec::new();
    for submission_id in slice.iter().filter(|id| !recorded.contains(id)) {
        let began = Instant::now();
        results.push(check_submission(pipeline, pool, &draft, *submission_id).await?);
        yield_to_live_work(pool, began.elapsed()).await?;
    }
    Ok(Some(results))
}

/// How much longer than a submission's check a preview pauses after it while live
/// jobs run: it then holds at most a third of a core.
const YIELD_FACTOR: u32 = 2;

/// A preview is background work, and its checks are CPU (inflation, hashing, the
/// sandbox): the worker's lane bounds how many slots it holds, not how much of the
/// machine. So after each submission, while any live job is running (the database's
/// view, which sees every worker of the cluster), the slice pauses [`YIELD_FACTOR`]
/// times as long as that submission took; with the queue idle it runs at full speed.
async fn yield_to_live_work(pool: &PgPool, spent: Duration) -> Result<(), CommandError> {
    let live = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM running_jobs WHERE kind <> $1) AS "live!""#,
        <PreviewArgs as JobArgs>::KIND,
    )
    .fetch_one(pool)
    .await?;
    if live {
        tokio::time::sleep(spent * YIELD_FACTOR).await;
    }
    Ok(())
}

/// What the preview reads of a submission.
struct Stored {
    task_id: Uuid,
    version: i32,
    archive_sha256: String,
    archive_object_key: Option<String>,
    manifest_digest: String,
    summary: String,
    contributor_attestation: String,
    acceptance_criteria: String,
    run_id: Uuid,
    recorded_route: RoutingRecommendation,
    request: Option<Value>,
    pre_submit_report: Value,
}

/// One result of the recorded current run.
struct RecordedResult {
    checker_name: String,
    checker_digest: String,
    config_hash: String,
    request_digest: Option<String>,
    status: MemberStatus,
    severity: String,
    blocks_review: bool,
    findings: Value,
    failure_code: Option<String>,
    contributor_visible: bool,
}

/// One post-submit member under the draft.
struct DraftMember {
    ordinal: u32,
    checker: String,
    member: Member,
    findings: Value,
}

/// Step 2 for one submission (see the module docs). `Err` only for a failure of our
/// own (the database, the object store, the scratch space); what the packet meets is
/// always a result.
async fn check_submission(
    pipeline: &Pipeline,
    pool: &PgPool,
    draft: &Draft,
    submission_id: Uuid,
) -> Result<NewResult, CommandError> {
    let mut conn = pool.acquire().await?;
    let stored = sqlx::query_as!(
        Stored,
        r#"SELECT s.task_id, s.version, s.archive_sha256, s.archive_object_key, s.manifest_digest,
                  s.summary, s.contributor_attestation, t.acceptance_criteria,
                  c.id AS run_id, c.routing_recommendation AS "recorded_route: _", c.request,
                  a.pre_submit_report
           FROM submissions s JOIN tasks t ON t.id = s.task_id
           JOIN checker_runs c ON c.submission_id = s.id AND c.is_current_for_submission
           JOIN submission_bundle_admissions a ON a.id = s.submission_bundle_admission_id
           WHERE s.id = $1"#,
        submission_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let recorded = sqlx::query_as!(
        RecordedResult,
        r#"SELECT checker_name, checker_digest, config_hash, request_digest,
                  status AS "status: _", severity, blocks_review, findings, failure_code,
                  contributor_visible
           FROM checker_results WHERE checker_run_id = $1 ORDER BY ordinal"#,
        stored.run_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let recorded_post: Vec<(String, MemberStatus)> = recorded
        .iter()
        .map(|r| (r.checker_name.clone(), r.status))
        .collect();
    let recorded_pre = pre_submit_statuses(&stored.pre_submit_report);
    let recorded_findings: Vec<CheckerFinding> = recorded
        .iter()
        .filter(|r| r.contributor_visible)
        .flat_map(|r| findings_of(&r.checker_name, &r.severity, r.blocks_review, &r.findings))
        .collect();
    let draft_checkers: Vec<String> = draft.checker_policy["checkers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let result = |draft_route: PreviewRoute, code: &str, detail: Option<String>| NewResult {
        submission_id,
        task_id: stored.task_id,
        submission_version: stored.version,
        recorded_run_id: stored.run_id,
        recorded_route: stored.recorded_route,
        draft_phases: None,
        draft_route,
        draft_failure: Some((code.to_owned(), detail.map(|d| super::bounded(&d)))),
        members: compare_members(
            &draft_checkers,
            &recorded_pre,
            &recorded_post,
            &[],
            &[],
            false,
        ),
        findings_appeared: Vec::new(),
        findings_disappeared: Vec::new(),
        reused_results: 0,
        checked_results: 0,
    };
    let unavailable = |detail: String| {
        result(
            PreviewRoute::MaterialUnavailable,
            ErrorCode::MaterialUnavailable.as_str(),
            Some(detail),
        )
    };

    // The packet, once, under the draft's intake limits.
    let scratch = pipeline.scratch_dir()?;
    let archive = scratch.path().join("packet.zip");
    let tree = scratch.path().join("tree");
    std::fs::create_dir(&tree).map_err(CommandError::internal)?;
    let Some(key) = &stored.archive_object_key else {
        return Ok(unavailable("the submission has no stored archive".into()));
    };
    if let Err(error) = pipeline.objects.get_to_file(key, &archive).await {
        if error.code() == ErrorCode::ArtifactStorageUnavailable {
            return Err(CommandError::new(error.code(), error.to_string()));
        }
        return Ok(unavailable(format!("{}: {error}", error.code())));
    }
    let limits = PacketLimits::for_artifact_policy(&draft.artifact_policy);
    let packet = match Pipeline::inspect(archive, tree.clone(), limits).await {
        Ok(packet) => packet,
        Err(error) if error.is_unavailable() => return Err(error),
        Err(refused) => {
            return Ok(result(
                PreviewRoute::IntakeRefused,
                refused.code.as_str(),
                Some(refused.message),
            ));
        }
    };
    if packet.archive_sha256.to_string() != stored.archive_sha256
        || packet.manifest_digest.to_string() != stored.manifest_digest
    {
        return Ok(unavailable(
            "the stored archive does not hash to the submitted one".into(),
        ));
    }
    let files = file_entries(&packet);

    // What the recorded run's checkers were given: its stored request, or (a run
    // recorded before requests were stored) the task as it is now.
    let stored_request = stored
        .request
        .clone()
        .and_then(|request| serde_json::from_value::<RunRequest>(request).ok());
    let (texts, prior) = match stored_request {
        Some(request) => (request.texts, request.prior_findings),
        None => (
            PacketTexts {
                summary: stored.summary.clone(),
                attestation: stored.contributor_attestation.clone(),
                acceptance_criteria: stored.acceptance_criteria.clone(),
            },
            prior_findings(
                &mut conn,
                stored.task_id,
                Revision::Submitted {
                    submission_id,
                    version: stored.version,
                },
            )
            .await?,
        ),
    };
    let view = |prior_findings: Vec<PriorFinding>| PacketView {
        tree: &tree,
        files: files.clone(),
        summary: texts.summary.clone(),
        attestation: texts.attestation.clone(),
        acceptance_criteria: texts.acceptance_criteria.clone(),
        prior_findings,
    };

    // Pre-submit: before submission the answers to the prior findings did not exist.
    let (checks, blocking) = plan(&draft.checker_policy, Phase::PreSubmit)?;
    let upcoming = prior
        .iter()
        .cloned()
        .map(|finding| PriorFinding {
            response: None,
            ..finding
        })
        .collect();
    let pre = pipeline
        .checkers
        .evaluate(
            &mut conn,
            &checks,
            &blocking,
            Phase::PreSubmit,
            &view(upcoming),
        )
        .await?;
    let mut checked_results = pre.members.len();

    // Post-submit: identical recorded results stand; the rest run.
    let (checks, blocking) = plan(&draft.checker_policy, Phase::PostSubmit)?;
    let mut post = Vec::new();
    let mut to_run = Vec::new();
    for check in checks {
        let request = CheckRequest {
            phase: Phase::PostSubmit,
            manifest: files.clone(),
            summary: texts.summary.clone(),
            attestation: texts.attestation.clone(),
            acceptance_criteria: texts.acceptance_criteria.clone(),
            configuration: check.configuration.clone(),
            prior_findings: prior.clone(),
        };
        let digest = request.digest(&check.digest).ok().map(|d| d.to_string());
        let same = recorded.iter().find(|r| {
            r.failure_code.is_none()
                && r.checker_digest == check.digest.to_string()
                && r.config_hash == check.config_hash.to_string()
                && r.request_digest.is_some()
                && r.request_digest == digest
        });
        let reused = same.and_then(|r| {
            let reported: Vec<Finding> = serde_json::from_value(r.findings.clone()).ok()?;
            Some(DraftMember {
                ordinal: check.ordinal,
                checker: check.name.clone(),
                member: gate::judge(
                    Outcome::Completed(verdict_of(&reported)),
                    check.rule,
                    &blocking,
                ),
                findings: r.findings.clone(),
            })
        });
        match reused {
            Some(member) => post.push(member),
            None => to_run.push(check),
        }
    }
    let reused_results = post.len();
    if !to_run.is_empty() {
        let ran = pipeline
            .checkers
            .evaluate(
                &mut conn,
                &to_run,
                &blocking,
                Phase::PostSubmit,
                &view(prior.clone()),
            )
            .await?;
        checked_results += ran.members.len();
        for m in ran.members {
            post.push(DraftMember {
                ordinal: m.check.ordinal,
                checker: m.check.name.clone(),
                member: m.member,
                findings: serde_json::to_value(m.outcome.result.findings())
                    .map_err(CommandError::internal)?,
            });
        }
    }
    post.sort_by_key(|m| m.ordinal);
    let post_route = gate::route(&post.iter().map(|m| m.member).collect::<Vec<_>>());
    let route = if pre.route == RoutingRecommendation::AllowReview {
        post_route
    } else {
        pre.route
    };

    let draft_findings: Vec<CheckerFinding> = post
        .iter()
        .flat_map(|m| {
            findings_of(
                &m.checker,
                m.member.severity.as_str(),
                m.member.blocks_review,
                &m.findings,
            )
        })
        .collect();
    let changes = findings::compare(&recorded_findings, &draft_findings);
    let draft_pre: Vec<(String, MemberStatus)> = pre
        .members
        .iter()
        .map(|m| (m.check.name.clone(), m.member.status))
        .collect();
    let draft_post: Vec<(String, MemberStatus)> = post
        .iter()
        .map(|m| (m.checker.clone(), m.member.status))
        .collect();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(NewResult {
        submission_id,
        task_id: stored.task_id,
        submission_version: stored.version,
        recorded_run_id: stored.run_id,
        recorded_route: stored.recorded_route,
        draft_phases: Some((pre.route, post_route)),
        draft_route: PreviewRoute::from(route),
        draft_failure: None,
        members: compare_members(
            &draft_checkers,
            &recorded_pre,
            &recorded_post,
            &draft_pre,
            &draft_post,
            true,
        ),
        findings_appeared: changes.new,
        findings_disappeared: changes.fixed,
        reused_results: count(reused_results),
        checked_results: count(checked_results),
    })
}

/// The member statuses of an admission's pre-submit report
/// (`{checks: {results: [{checker, status}]}}`, as the upload stores it); none for a
/// report without them.
fn pre_submit_statuses(report: &Value) -> Vec<(String, MemberStatus)> {
    report["checks"]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let checker = r["checker"].as_str()?.to_owned();
            let status = r["status"].as_str()?.parse().ok()?;
            Some((checker, status))
        })
        .collect()
}
