//! The packet pipeline: one way to check a packet in either phase, and the post-submit
//! evaluation job.
//!
//! [`Pipeline`] holds what both ends of a submission need: the checkers (sandbox and
//! loaded components), the content-addressed object store, and a scratch directory.
//!
//! [`Pipeline::check_packet`] is the one path from an archive to a verdict, for the
//! pre-submit checks in the upload request and the post-submit run in a worker alike:
//! it checks that the locked checker policy still hashes to the hash the task locked,
//! inspects the archive into a private tree (written through a directory capability,
//! [`crate::packets::materialize`]), and evaluates the policy's checkers of the phase
//! over it ([`crate::evaluation`]), with the revision's open blocking findings
//! ([`prior_findings`]). It returns the inspected packet, the evaluation, and the
//! [`RunRequest`] the checkers saw, which a run stores so that [`replay`] re-runs
//! exactly that, not the task as it is later.
//!
//! One evaluation job, in three steps:
//!
//! 1. **Start** (own transaction): the queued run becomes `running`. A run already
//!    finished by an earlier attempt of the job just completes the job (replays are
//!    idempotent).
//! 2. **Materialize and check** (no transaction): fetch the archive by its key, which
//!    re-hashes every byte, and [`Pipeline::check_packet`] it. Missing or damaged bytes
//!    are an artifact incident: no checker runs, the run fails with
//!    `material_unavailable`.
//! 3. **Finalize** (one transaction, `jobs::complete` first so only the lease holder can
//!    commit): the member results, the run's status, counts, route and stored request,
//!    the task's move (`allow_review` -> `review_pending` with a review queue entry;
//!    `needs_revision` -> back to the contributor; a retry or setup route leaves it in
//!    `evaluation_pending`), and the audit events. A worker killed anywhere before the
//!    commit leaves nothing behind; the next attempt starts over on the same run.
//!
//! No fault leaves a run `running` for good. A checker that cannot load, traps or
//! returns what cannot be stored is a member with its infrastructure code (see
//! [`crate::evaluation`]); a run that cannot be evaluated at all (its packet gone, its
//! policy damaged) fails with its code and detail; and any other error is retried only
//! while it may be transient (the database unavailable, a race): a deterministic one,
//! or the job's last attempt, records the run as failed on the spot, with the detail,
//! so the task waits in `evaluation_pending` on a failed run that a manager or an
//! operator can read and retry (`POST /operations/tasks/{id}/re-evaluate`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::gate::{MemberStatus, Verdict};
use workstream_domain::lifecycle::{
    FindingKind, FindingStatus, GuardFacts, TaskCommand, TaskState,
};
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};
use workstream_domain::machines::review_queue::QueueRouting;
use workstream_domain::{ActorContext, Digest, decide};
use workstream_sandbox::{FailureCode, FileEntry, Phase, PriorFinding};
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::jobs::{self, ClaimedJob};
use workstream_store::objects::ObjectStore;
use workstream_store::tasks;

use crate::CommandError;
use crate::evaluation::{Checkers, Evaluation, PacketView, plan};
use crate::jobs::EvaluationArgs;
use crate::packets::{InspectedPacket, PacketLimits, inspect};
use crate::worker::{BoxFuture, HandlerError, Work};

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

/// The contributor's texts and the task's criteria a check is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketTexts {
    /// The contributor's summary.
    pub summary: String,
    /// The contributor's attestation.
    pub attestation: String,
    /// The task's acceptance criteria when the packet was checked.
    pub acceptance_criteria: String,
}

/// What the checkers of one run saw besides the files and their own configuration: the
/// phase, the texts and the prior findings. Stored with the run (`checker_runs.request`)
/// so that [`replay`] rebuilds exactly the requests the checkers were given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Always `workstream.checker_run_request.v2`.
    pub schema: String,
    /// The phase.
    pub phase: Phase,
    /// The texts.
    #[serde(flatten)]
    pub texts: PacketTexts,
    /// The revision's open blocking findings (empty for a first version).
    pub prior_findings: Vec<PriorFinding>,
}

/// The schema name of a stored [`RunRequest`].
pub const RUN_REQUEST_SCHEMA: &str = "workstream.checker_run_request.v2";

/// One packet check, in either phase.
#[derive(Debug, Clone)]
pub struct PacketCheck<'a> {
    /// Before or after submission.
    pub phase: Phase,
    /// The ZIP archive, in scratch.
    pub archive: PathBuf,
    /// An empty scratch directory the tree is written into (the checkers' `/packet`).
    pub tree: PathBuf,
    /// The intake limits (platform defaults tightened by the locked artifact policy).
    pub limits: PacketLimits,
    /// The locked checker policy's body.
    pub policy: &'a Value,
    /// The hash the task locked it with; the body must still hash to it.
    pub policy_hash: &'a str,
    /// The texts.
    pub texts: PacketTexts,
    /// The revision's open blocking findings ([`prior_findings`]).
    pub prior_findings: Vec<PriorFinding>,
}

/// A packet that went through intake and its checkers.
#[derive(Debug, Clone)]
pub struct CheckedPacket {
    /// The verified packet (archive digest, manifest, files).
    pub packet: InspectedPacket,
    /// What its checkers found, and the route.
    pub evaluation: Evaluation,
    /// What they were given.
    pub request: RunRequest,
}

/// Why [`Pipeline::check_packet`] produced no evaluation.
#[derive(Debug, Clone)]
pub enum CheckFailure {
    /// The archive failed intake; the error carries its `submission_archive_*` code (or
    /// `pre_submission_infrastructure_unavailable` for our own fault).
    Intake(CommandError),
    /// The locked checker policy cannot be run: its body no longer hashes to the
    /// locked hash, or it does not parse (`locked_context_invalid`). A setup defect.
    Policy(CommandError),
    /// Anything else: the database or the scratch space.
    Other(CommandError),
}

impl From<CheckFailure> for CommandError {
    fn from(failure: CheckFailure) -> Self {
        match failure {
            CheckFailure::Intake(e) | CheckFailure::Policy(e) | CheckFailure::Other(e) => e,
        }
    }
}

impl Pipeline {
    /// Checks one packet (see the module docs): the locked policy against its hash,
    /// intake into `check.tree`, then the phase's checkers.
    pub async fn check_packet(
        &self,
        pool: &PgPool,
        check: PacketCheck<'_>,
    ) -> Result<CheckedPacket, CheckFailure> {
        let policy_invalid = |why: String| {
            CheckFailure::Policy(CommandError::new(
                ErrorCode::LockedContextInvalid,
                format!("the task's locked checker policy cannot be run: {why}"),
            ))
        };
        let actual = Digest::of_canonical_json(check.policy)
            .map_err(|e| policy_invalid(format!("it is not canonical JSON: {e}")))?;
        if actual.to_string() != check.policy_hash {
            return Err(policy_invalid(format!(
                "its body hashes to {actual}, not to the locked {}",
                check.policy_hash
            )));
        }
        let (checks, blocking) = plan(check.policy, check.phase).map_err(CheckFailure::Policy)?;
        let packet = Pipeline::inspect(check.archive, check.tree.clone(), check.limits)
            .await
            .map_err(CheckFailure::Intake)?;
        let request = RunRequest {
            schema: RUN_REQUEST_SCHEMA.to_owned(),
            phase: check.phase,
            texts: check.texts,
            prior_findings: check.prior_findings,
        };
        let view = PacketView {
            tree: &check.tree,
            files: file_entries(&packet),
            summary: request.texts.summary.clone(),
            attestation: request.texts.attestation.clone(),
            acceptance_criteria: request.texts.acceptance_criteria.clone(),
            prior_findings: request.prior_findings.clone(),
        };
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| CheckFailure::Other(e.into()))?;
        let evaluation = self
            .checkers
            .evaluate(&mut conn, &checks, &blocking, check.phase, &view)
            .await
            .map_err(CheckFailure::Other)?;
        Ok(CheckedPacket {
            packet,
            evaluation,
            request,
        })
    }
}

/// What a manager or an operator can do about a check (or a whole run) that ended with
/// the infrastructure failure `code`: shown beside the failure wherever it is read.
pub fn failure_action(code: &str) -> &'static str {
    // The five failure codes are the catalogue's, with their fixes; a code of an older
    // version gets the one step that always applies.
    ErrorCode::from_code(code).map_or(
        "An operator retries the evaluation (POST /operations/tasks/{id}/re-evaluate).",
        ErrorCode::fix,
    )
}

/// Which version of a task [`prior_findings`] is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// The next version, not yet submitted (the pre-submit phase).
    Upcoming,
    /// A submitted version (the post-submit phase).
    Submitted {
        /// The submission.
        submission_id: Uuid,
        /// Its version.
        version: i32,
    },
}

/// The open blocking review findings a version of `task_id` answers, as its checkers
/// are given them (`prior-finding` of `wit/checker.wit`), in review order.
///
/// Only a version made in answer to a reviewer's `needs_revision` answers findings:
/// the upcoming version while the task waits on such a review, or a submitted version
/// built on its revision context. A version the checkers sent back (a checker
/// remediation) answers the checkers, not the review, and gets none; its answers stand
/// as they were given, for the next reviewer to judge. A submitted version's findings
/// carry the answers submitted with it; before submission there are none yet.
///
/// The id a checker quotes is `F<version>-<position>`: the finding's place in the
/// review of that version, as the contributor's pages show it.
pub async fn prior_findings(
    conn: &mut PgConnection,
    task_id: Uuid,
    revision: Revision,
) -> Result<Vec<PriorFinding>, CommandError> {
    let answers_review: bool = match revision {
        Revision::Upcoming => sqlx::query_scalar!(
            r#"SELECT t.status = $2 AND NOT EXISTS (
                 SELECT 1 FROM submissions s JOIN checker_runs c ON c.submission_id = s.id
                 WHERE s.task_id = t.id AND c.is_current_for_submission AND c.status = $3
                   AND c.routing_recommendation = $4
                   AND s.version = (SELECT max(version) FROM submissions WHERE task_id = t.id))
                 AS "answers!"
               FROM tasks t WHERE t.id = $1"#,
            task_id,
            TaskState::NeedsRevision.as_str(),
            CheckerRunStatus::Completed.as_str(),
            RoutingRecommendation::NeedsRevision.as_str(),
        )
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or(false),
        Revision::Submitted { submission_id, .. } => sqlx::query_scalar!(
            r#"SELECT revision_context_preparation_id IS NOT NULL AS "answers!"
               FROM submissions WHERE id = $1"#,
            submission_id,
        )
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or(false),
    };
    if !answers_review {
        return Ok(Vec::new());
    }
    let findings = crate::reviews::packet::prior_findings(conn, task_id).await?;
    let before = match revision {
        Revision::Upcoming => i32::MAX,
        Revision::Submitted { version, .. } => version,
    };
    Ok(findings
        .into_iter()
        .filter(|f| {
            f.kind == FindingKind::Blocking
                && f.status == FindingStatus::Open
                && f.raised_on_version < before
        })
        .map(|f| {
            let evidence = f.evidence_ref.as_ref();
            let response = match revision {
                Revision::Upcoming => None,
                Revision::Submitted { submission_id, .. } => f
                    .responses
                    .iter()
                    .find(|r| r.submission_id == submission_id)
                    .map(|r| r.response_text.clone()),
            };
            PriorFinding {
                finding_id: format!("F{}-{}", f.raised_on_version, f.position),
                area: f.area,
                issue: f.issue,
                path: evidence.and_then(|e| e["path"].as_str()).map(str::to_owned),
                line: evidence
                    .and_then(|e| e["line"].as_u64())
                    .and_then(|line| u32::try_from(line).ok()),
                required_fix: f.required_fix.unwrap_or_default(),
                response,
            }
        })
        .collect())
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

impl Work for EvaluateSubmission {
    type Args = EvaluationArgs;

    fn work<'a>(
        &'a self,
        args: EvaluationArgs,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(evaluate(&self.pipeline, args.checker_run_id, job, pool))
    }
}

/// What the job reads about its run.
struct RunContext {
    status: CheckerRunStatus,
    task_id: Uuid,
    submission_id: Uuid,
    submission_version: i32,
    archive_sha256: String,
    archive_object_key: Option<String>,
    manifest_digest: String,
    summary: String,
    contributor_attestation: String,
    locked_checker_policy: Value,
    locked_checker_policy_hash: String,
    acceptance_criteria: String,
    project_id: Uuid,
    artifact_policy: Value,
    /// What the run's checkers saw, once it finished (none for runs older than the
    /// stored request).
    request: Option<Value>,
    /// Whether the submission was made in answer to a review (built on a revision
    /// context): only then does it answer findings and return to a preferred reviewer.
    answers_review: bool,
}

/// How step 2 ended.
enum Checked {
    /// The checkers ran (each member may still have failed on its own).
    Evaluated(Box<CheckedPacket>),
    /// The run could not be evaluated at all: its packet is unavailable or damaged
    /// (`material_unavailable`), its locked policy cannot be run, or a fault would
    /// recur on every attempt (`implementation_unavailable`). The detail is for
    /// operators and managers.
    Unrunnable(FailureCode, String),
}

/// Whether an error may go away by itself (the database unavailable, a transaction
/// that lost a race), so that another attempt is worth it.
fn transient(error: &CommandError) -> bool {
    error.is_unavailable()
}

async fn evaluate(
    pipeline: &Pipeline,
    run_id: Uuid,
    job: &ClaimedJob,
    pool: &PgPool,
) -> Result<(), HandlerError> {
    let last_attempt = job.attempt >= job.max_attempts;
    // Deterministic failures, and every failure on the last attempt, are recorded on
    // the run instead of being retried (or dead-lettering the job with the run left
    // `running`).
    let give_up = |error: &CommandError| last_attempt || !transient(error);
    let retry =
        |error: CommandError| HandlerError::retryable(format!("{}: {}", error.code, error.message));

    // 1. Start.
    let context = match run_context(pool, run_id, true).await {
        Ok(Some(context)) => context,
        Ok(None) => return Err(HandlerError::permanent(format!("no checker run {run_id}"))),
        Err(error) => return Err(retry(error)),
    };
    let span = tracing::Span::current();
    span.record("checker_run_id", tracing::field::display(run_id));
    span.record("task_id", tracing::field::display(context.task_id));
    span.record(
        "submission_id",
        tracing::field::display(context.submission_id),
    );
    if context.status.is_final() {
        let mut tx = pool.begin().await?;
        jobs::complete(&mut tx, job).await?;
        tx.commit().await?;
        return Ok(());
    }

    // 2. Materialize and check.
    let checked = match check(pipeline, pool, &context).await {
        Ok(checked) => checked,
        Err(error) if give_up(&error) => Checked::Unrunnable(
            FailureCode::ImplementationUnavailable,
            format!("the evaluation failed: {}: {}", error.code, error.message),
        ),
        Err(error) => return Err(retry(error)),
    };

    // 3. Finalize.
    let error = match finish(pool, job, run_id, &context, checked).await {
        Ok(()) => return Ok(()),
        Err(Finish::Job(error)) => return Err(error),
        Err(Finish::Command(error)) => error,
    };
    if !give_up(&error) {
        return Err(retry(error));
    }
    // The results themselves could not be stored (a value the database refuses):
    // store the failure instead, without them.
    tracing::error!(%run_id, code = %error.code, message = %error.message, "checker run results cannot be stored; recording the run as failed");
    let detail = format!(
        "the results could not be stored: {}: {}",
        error.code, error.message
    );
    match finish(
        pool,
        job,
        run_id,
        &context,
        Checked::Unrunnable(FailureCode::InvalidOutput, detail),
    )
    .await
    {
        Ok(()) => Ok(()),
        Err(Finish::Job(error)) => Err(error),
        Err(Finish::Command(error)) => Err(retry(error)),
    }
}

/// Why step 3 did not commit.
enum Finish {
    /// The job's own bookkeeping (a lost lease, the database): the worker handles it.
    Job(HandlerError),
    /// Recording the run failed.
    Command(CommandError),
}

/// Step 3 in one transaction: complete the job, record the run, move the task.
async fn finish(
    pool: &PgPool,
    job: &ClaimedJob,
    run_id: Uuid,
    context: &RunContext,
    checked: Checked,
) -> Result<(), Finish> {
    let observed = observation(&checked);
    let mut tx = pool.begin().await.map_err(|e| Finish::Job(e.into()))?;
    jobs::complete(&mut tx, job)
        .await
        .map_err(|e| Finish::Job(e.into()))?;
    finalize(&mut tx, run_id, context, checked)
        .await
        .map_err(Finish::Command)?;
    tx.commit().await.map_err(|e| Finish::Job(e.into()))?;
    crate::observed::evaluation(observed.0, &observed.1);
    Ok(())
}

/// What `/metrics` counts of a run (recorded once it commits): its route and each
/// checker's outcome and time.
fn observation(checked: &Checked) -> (&'static str, Vec<crate::observed::CheckerObservation>) {
    match checked {
        Checked::Unrunnable(..) => (RoutingRecommendation::CheckerRetry.as_str(), Vec::new()),
        Checked::Evaluated(checked) => {
            let evaluation = &checked.evaluation;
            let members = evaluation
                .members
                .iter()
                .map(|m| crate::observed::CheckerObservation {
                    digest: m.check.digest.to_string(),
                    name: m.check.name.clone(),
                    outcome: m.member.status.as_str(),
                    seconds: m.outcome.duration.as_secs_f64(),
                })
                .collect();
            (evaluation.route.as_str(), members)
        }
    }
}

/// `sqlx::query_as!` of the [`RunContext`] of run `$1`: `$before` the select.
macro_rules! run_context_query {
    ($before:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            RunContext,
            $before + r#" SELECT r.status AS "status: _", r.task_id, r.submission_id,
                 r.submission_version, s.archive_sha256, s.archive_object_key, s.manifest_digest,
                 s.summary, s.contributor_attestation, s.locked_checker_policy,
                 s.locked_checker_policy_hash, t.acceptance_criteria, t.project_id,
                 coalesce(g.policy_bundle -> 'artifact_policy', '{}'::jsonb) AS "artifact_policy!",
                 r.request, s.revision_context_preparation_id IS NOT NULL AS "answers_review!"
               FROM checker_runs r JOIN submissions s ON s.id = r.submission_id
               JOIN tasks t ON t.id = r.task_id JOIN project_guides g ON g.id = s.locked_guide_id
               WHERE r.id = $1"#
            $(, $arg)*
        )
    };
}

/// The run's context, as it was before this read. With `start`, a queued run becomes
/// `running` in the same statement (a run already finished is left as it is).
async fn run_context(
    pool: &PgPool,
    run_id: Uuid,
    start: bool,
) -> Result<Option<RunContext>, CommandError> {
    Ok(if start {
        run_context_query!(
            "WITH started AS (UPDATE checker_runs SET status = $2, started_at = now() \
               WHERE id = $1 AND status = $3)",
            run_id,
            CheckerRunStatus::Running.as_str(),
            CheckerRunStatus::Queued.as_str(),
        )
        .fetch_optional(pool)
        .await?
    } else {
        run_context_query!("", run_id).fetch_optional(pool).await?
    })
}

/// Step 2: fetch the archive and check it. `request` is what the checkers are given:
/// read now for a new run, or the run's stored request for a replay.
async fn check_with(
    pipeline: &Pipeline,
    pool: &PgPool,
    context: &RunContext,
    request: RunRequest,
) -> Result<Checked, CommandError> {
    let scratch = pipeline.scratch_dir()?;
    let archive = scratch.path().join("packet.zip");
    let tree = scratch.path().join("tree");
    std::fs::create_dir(&tree).map_err(CommandError::internal)?;
    let unavailable = |detail: String| {
        Ok(Checked::Unrunnable(
            FailureCode::MaterialUnavailable,
            detail,
        ))
    };
    let Some(key) = &context.archive_object_key else {
        return unavailable("the submission has no stored archive".into());
    };
    if let Err(error) = pipeline.objects.get_to_file(key, &archive).await {
        return unavailable(format!("{}: {error}", error.code()));
    }
    let check = PacketCheck {
        phase: request.phase,
        archive,
        tree,
        limits: PacketLimits::for_artifact_policy(&context.artifact_policy),
        policy: &context.locked_checker_policy,
        policy_hash: &context.locked_checker_policy_hash,
        texts: request.texts,
        prior_findings: request.prior_findings,
    };
    let checked = match pipeline.check_packet(pool, check).await {
        Ok(checked) => checked,
        Err(CheckFailure::Intake(error)) if !error.is_unavailable() => {
            return unavailable(format!(
                "the stored archive no longer passes intake: {}",
                error.code
            ));
        }
        Err(CheckFailure::Policy(error)) => {
            return Ok(Checked::Unrunnable(
                FailureCode::ImplementationUnavailable,
                error.message,
            ));
        }
        Err(CheckFailure::Intake(error) | CheckFailure::Other(error)) => return Err(error),
    };
    if checked.packet.archive_sha256.to_string() != context.archive_sha256
        || checked.packet.manifest_digest.to_string() != context.manifest_digest
    {
        return unavailable("the stored archive does not hash to the submitted one".into());
    }
    Ok(Checked::Evaluated(Box::new(checked)))
}

/// Step 2 of a new run: what its checkers are given is read now.
async fn check(
    pipeline: &Pipeline,
    pool: &PgPool,
    context: &RunContext,
) -> Result<Checked, CommandError> {
    // A version that answers no review has no findings to answer (`prior_findings`).
    let prior = if context.answers_review {
        let mut conn = pool.acquire().await?;
        prior_findings(
            &mut conn,
            context.task_id,
            Revision::Submitted {
                submission_id: context.submission_id,
                version: context.submission_version,
            },
        )
        .await?
    } else {
        Vec::new()
    };
    let request = RunRequest {
        schema: RUN_REQUEST_SCHEMA.to_owned(),
        phase: Phase::PostSubmit,
        texts: PacketTexts {
            summary: context.summary.clone(),
            attestation: context.contributor_attestation.clone(),
            acceptance_criteria: context.acceptance_criteria.clone(),
        },
        prior_findings: prior,
    };
    check_with(pipeline, pool, context, request).await
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
    pub stored_status: CheckerRunStatus,
    /// The run's stored result digest (none for a run that never completed).
    pub stored_digest: Option<String>,
    /// Each stored member's (checker name, request digest, result digest), in order.
    /// The request digest is missing for runs recorded before requests were stored.
    pub stored_members: Vec<(String, Option<String>, String)>,
    /// Whether the replay used the run's stored request (rather than the task as it
    /// is now, for a run recorded before requests were stored).
    pub from_stored_request: bool,
    /// The evaluation of the replay.
    pub evaluation: Evaluation,
    /// Its run digest.
    pub replayed_digest: Digest,
}

impl Replay {
    /// Whether the replay reproduced the stored result exactly: the same run digest,
    /// and every member given the same request as it was the first time.
    pub fn reproduced(&self) -> bool {
        let same_requests = self.stored_members.len() == self.evaluation.members.len()
            && self
                .stored_members
                .iter()
                .zip(&self.evaluation.members)
                .all(|((_, stored, _), member)| {
                    stored
                        .as_deref()
                        .is_none_or(|d| d == member.outcome.request_digest.to_string())
                });
        same_requests
            && self.stored_digest.as_deref() == Some(self.replayed_digest.to_string().as_str())
    }
}

/// Re-runs the stored checker run `run_id` from its stored inputs (the archive by its
/// key, the locked policy, and the request its checkers were given, stored with the
/// run), without writing anything, so an auditor can check that the stored result
/// digest is what those inputs produce.
pub async fn replay(
    pipeline: &Pipeline,
    pool: &PgPool,
    run_id: Uuid,
) -> Result<Replay, CommandError> {
    let context = run_context(pool, run_id, false)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let stored_digest = sqlx::query_scalar!(
        "SELECT result_digest FROM checker_runs WHERE id = $1",
        run_id
    )
    .fetch_one(pool)
    .await?;
    let stored_members = sqlx::query!(
        "SELECT checker_name, request_digest, result_digest FROM checker_results \
         WHERE checker_run_id = $1 ORDER BY ordinal",
        run_id,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|m| (m.checker_name, m.request_digest, m.result_digest))
    .collect();
    let stored_request: Option<RunRequest> = context
        .request
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| CommandError::internal(format!("the run's stored request: {e}")))?;
    let from_stored_request = stored_request.is_some();
    let checked = match stored_request {
        Some(request) => check_with(pipeline, pool, &context, request).await?,
        None => check(pipeline, pool, &context).await?,
    };
    match checked {
        Checked::Evaluated(checked) => Ok(Replay {
            stored_status: context.status,
            stored_digest,
            stored_members,
            from_stored_request,
            replayed_digest: run_result_digest(&checked.evaluation)?,
            evaluation: checked.evaluation,
        }),
        Checked::Unrunnable(code, detail) => Err(CommandError::new(code.error_code(), detail)),
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
    let status = sqlx::query_scalar!(
        r#"SELECT status AS "status: CheckerRunStatus" FROM checker_runs WHERE id = $1 FOR UPDATE"#,
        run_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    if status != CheckerRunStatus::Running {
        // Finished by someone else under an earlier lease: nothing to add.
        return Ok(());
    }
    let (route, failure_code, failure_detail, result_digest, counts_payload, request) =
        match &checked {
            Checked::Unrunnable(code, detail) => {
                let event = if *code == FailureCode::MaterialUnavailable {
                    "artifact_incident"
                } else {
                    "checker_run_failed"
                };
                let detail = storable_detail(detail);
                audit::append(
                    tx,
                    NewAuditEvent {
                        project_id: Some(context.project_id),
                        entity_type: "submission".into(),
                        entity_id: Some(context.submission_id),
                        event_type: event.into(),
                        payload: json!({ "checker_run_id": run_id, "failure_code": code.as_str(), "detail": detail }),
                        ..Default::default()
                    },
                )
                .await?;
                (
                    RoutingRecommendation::CheckerRetry,
                    Some(code.as_str()),
                    Some(detail),
                    None,
                    json!({}),
                    None,
                )
            }
            Checked::Evaluated(checked) => {
                let evaluation = &checked.evaluation;
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
                    None,
                    Some(digest),
                    serde_json::to_value(evaluation.counts).map_err(CommandError::internal)?,
                    Some(serde_json::to_value(&checked.request).map_err(CommandError::internal)?),
                )
            }
        };
    let run_status = if failure_code.is_some() {
        CheckerRunStatus::Failed
    } else {
        CheckerRunStatus::Completed
    };
    sqlx::query!(
        "UPDATE checker_runs SET status = $2, routing_recommendation = $3, failure_code = $4, \
         result_digest = $5, completed_at = now(), failure_detail = $6, request = $7 WHERE id = $1",
        run_id,
        run_status.as_str(),
        route.as_str(),
        failure_code,
        result_digest.map(|d| d.to_string()),
        failure_detail,
        request,
    )
    .execute(&mut *tx)
    .await?;

    let contributor_visible_failures = match &checked {
        Checked::Evaluated(checked) => checked
            .evaluation
            .members
            .iter()
            .filter(|m| m.member.status == MemberStatus::Failed && m.member.blocks_review)
            .count(),
        Checked::Unrunnable(..) => 0,
    };

    let facts = GuardFacts {
        checker_run_for_submission: true,
        checker_run_final: true,
        checker_run_current: true,
        artifact_hashes_match: true,
        open_blocking_checker_failures: if route == RoutingRecommendation::AllowReview {
            0
        } else {
            1
        },
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
    let state = task.status;
    match decide(
        state,
        &TaskCommand::RecordEvaluation { routing: route },
        &ActorContext::system(),
        &facts,
    ) {
        Ok(decision) => {
            let event = if route == RoutingRecommendation::AllowReview {
                "pre_review_gate_passed"
            } else {
                "pre_review_gate_needs_revision"
            };
            let moved = tasks::set_status(tx, task.id, &decision, task.assigned_to).await?;
            if route == RoutingRecommendation::AllowReview {
                open_review_entry(tx, context, run_id).await?;
            }
            crate::tasks::audit_transition(
                tx,
                &moved,
                &decision,
                crate::tasks::TaskEvent {
                    event_type: event,
                    actor_id: None,
                    correlation_id: None,
                    reason: None,
                    payload: gate_payload,
                },
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
                    from_status: Some(task.status.to_string()),
                    to_status: Some(task.status.to_string()),
                    payload: gate_payload,
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Stores the members of a run in one statement (a row per member, in order).
async fn record_members(
    tx: &mut PgConnection,
    run_id: Uuid,
    evaluation: &Evaluation,
) -> Result<(), CommandError> {
    /// The columns of `checker_results`, one vector each.
    #[derive(Default)]
    struct Columns {
        id: Vec<Uuid>,
        ordinal: Vec<i32>,
        checker_digest: Vec<String>,
        checker_name: Vec<String>,
        checker_version: Vec<String>,
        config: Vec<Value>,
        config_hash: Vec<String>,
        status: Vec<&'static str>,
        severity: Vec<&'static str>,
        blocks_review: Vec<bool>,
        verdict: Vec<Option<&'static str>>,
        failure_code: Vec<Option<&'static str>>,
        findings: Vec<Value>,
        summary: Vec<Option<String>>,
        fuel_consumed: Vec<i64>,
        duration_us: Vec<i64>,
        result_digest: Vec<String>,
        request_digest: Vec<String>,
        failure_detail: Vec<Option<String>>,
    }
    let mut c = Columns::default();
    for m in &evaluation.members {
        // The stored verdict is binary: a warning is a pass with findings.
        let verdict = match m.outcome.result.verdict() {
            None => None,
            Some(Verdict::Failed) => Some(Verdict::Failed.as_str()),
            Some(_) => Some(Verdict::Passed.as_str()),
        };
        let (findings, summary, failure_detail) = match &m.outcome.result {
            workstream_sandbox::RunResult::Completed {
                findings, summary, ..
            } => (
                serde_json::to_value(findings).map_err(CommandError::internal)?,
                summary.clone(),
                None,
            ),
            workstream_sandbox::RunResult::InfrastructureFailed { detail, .. } => {
                (json!([]), None, Some(storable_detail(detail)))
            }
        };
        c.id.push(Uuid::now_v7());
        c.ordinal
            .push(i32::try_from(m.check.ordinal).unwrap_or(i32::MAX));
        c.checker_digest.push(m.check.digest.to_string());
        c.checker_name.push(m.check.name.clone());
        c.checker_version.push(m.checker_version.clone());
        c.config.push(m.check.configuration.clone());
        c.config_hash.push(m.check.config_hash.to_string());
        c.status.push(m.member.status.as_str());
        c.severity.push(m.member.severity.as_str());
        c.blocks_review.push(m.member.blocks_review);
        c.verdict.push(verdict);
        c.failure_code
            .push(m.outcome.result.failure().map(|code| code.as_str()));
        c.findings.push(findings);
        c.summary.push(summary);
        c.fuel_consumed
            .push(i64::try_from(m.outcome.fuel_consumed).unwrap_or(i64::MAX));
        c.duration_us
            .push(i64::try_from(m.outcome.duration.as_micros()).unwrap_or(i64::MAX));
        c.result_digest.push(m.outcome.result_digest.to_string());
        c.request_digest.push(m.outcome.request_digest.to_string());
        c.failure_detail.push(failure_detail);
    }
    sqlx::query!(
        "INSERT INTO checker_results (id, checker_run_id, ordinal, checker_digest, checker_name, \
         checker_version, config, config_hash, status, severity, blocks_review, verdict, \
         failure_code, findings, summary, fuel_consumed, duration_us, result_digest, \
         request_digest, failure_detail) \
         SELECT id, $2, ordinal, checker_digest, checker_name, checker_version, config, \
                config_hash, status, severity, blocks_review, verdict, failure_code, findings, \
                summary, fuel_consumed, duration_us, result_digest, request_digest, failure_detail \
         FROM UNNEST($1::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::jsonb[], \
                     $8::text[], $9::text[], $10::text[], $11::bool[], $12::text[], $13::text[], \
                     $14::jsonb[], $15::text[], $16::bigint[], $17::bigint[], $18::text[], \
                     $19::text[], $20::text[]) \
           AS m(id, ordinal, checker_digest, checker_name, checker_version, config, config_hash, \
                status, severity, blocks_review, verdict, failure_code, findings, summary, \
                fuel_consumed, duration_us, result_digest, request_digest, failure_detail)",
        &c.id,
        run_id,
        &c.ordinal,
        &c.checker_digest,
        &c.checker_name,
        &c.checker_version,
        &c.config,
        &c.config_hash,
        &c.status as &[&str],
        &c.severity as &[&str],
        &c.blocks_review,
        &c.verdict as &[Option<&str>],
        &c.failure_code as &[Option<&str>],
        &c.findings,
        &c.summary as &[Option<String>],
        &c.fuel_consumed,
        &c.duration_us,
        &c.result_digest,
        &c.request_digest,
        &c.failure_detail as &[Option<String>],
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Most bytes of an operator detail stored with a run or a result.
const MAX_DETAIL_BYTES: usize = 4096;

/// `detail` as the database can store it: no NUL, at most [`MAX_DETAIL_BYTES`].
fn storable_detail(detail: &str) -> String {
    let mut detail = detail.replace('\0', "\u{FFFD}");
    if detail.len() > MAX_DETAIL_BYTES {
        let mut end = MAX_DETAIL_BYTES;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
    }
    detail
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
    let revision = if context.answers_review {
        sqlx::query!(
            "SELECT r.reviewer_id, s.locked_guide_id FROM submissions s \
             JOIN revision_context_preparations p ON p.id = s.revision_context_preparation_id \
             JOIN reviews r ON r.id = p.originating_review_id \
             WHERE s.id = $1",
            context.submission_id,
        )
        .fetch_optional(&mut *tx)
        .await?
    } else {
        None
    };
    let (reason, preferred, window) = match revision.map(|r| (r.reviewer_id, r.locked_guide_id)) {
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
    let routing = if preferred.is_some() {
        QueueRouting::Preferred
    } else {
        QueueRouting::Open
    };
    sqlx::query!(
        "INSERT INTO review_queue_entries (id, project_id, task_id, submission_id, submission_version, \
         admitting_checker_run_id, routing_reason, routing, preferred_reviewer_id, preference_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 CASE WHEN $9::uuid IS NULL THEN NULL ELSE now() + make_interval(secs => $10) END)",
        Uuid::now_v7(),
        context.project_id,
        context.task_id,
        context.submission_id,
        context.submission_version,
        run_id,
        reason,
        routing.as_str(),
        preferred,
        window as f64,
    )
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
        let unavailable = |why: String| CommandError::new(ErrorCode::MaterialUnavailable, why);
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

/// Keeps `pipeline`'s checkers warm for as long as the process runs: loads what jobs
/// will need now ([`Checkers::warm`]), then every component published anywhere in the
/// deployment as its notification arrives
/// ([`crate::checkers::PUBLISHED_CHANNEL`]), so a component is compiled once per host
/// when it is published, never on the path of a job or a request. Spawn it beside a
/// server or a worker; losing the connection only means listening again, and it ends
/// when the pool is closed.
pub async fn keep_warm(pipeline: Arc<Pipeline>, pool: PgPool) {
    match pipeline.checkers.warm(&pool).await {
        Ok(loaded) => tracing::info!(loaded, "checker components loaded"),
        Err(error) => tracing::warn!(%error, "loading the pinned checker components"),
    }
    // Until the pool is closed (the process is shutting down).
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(_) if pool.is_closed() => return,
            Err(error) => {
                tracing::warn!(%error, "listening for checker publications; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(crate::checkers::PUBLISHED_CHANNEL).await {
            tracing::warn!(%error, "listening for checker publications; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            continue;
        }
        loop {
            let notification = match listener.recv().await {
                Ok(notification) => notification,
                Err(_) if pool.is_closed() => return,
                Err(error) => {
                    tracing::warn!(%error, "checker publication listener lost; reconnecting");
                    break;
                }
            };
            let Ok(digest) = notification.payload().parse::<Digest>() else {
                continue;
            };
            let loaded = match pool.acquire().await {
                Ok(mut conn) => pipeline.checkers.component(&mut conn, &digest).await,
                Err(error) => Err(error.into()),
            };
            match loaded {
                Ok(crate::evaluation::Component::Ready(..)) => {
                    tracing::info!(%digest, "published checker component loaded")
                }
                Ok(crate::evaluation::Component::Unavailable(_, why)) => {
                    tracing::warn!(%digest, %why, "published checker component does not load here")
                }
                Err(error) => {
                    tracing::warn!(%digest, %error, "loading a published checker component")
                }
            }
        }
    }
}

/// The default scratch directory under a data directory.
pub fn default_scratch(data_dir: &Path) -> PathBuf {
    data_dir.join("scratch")
}
