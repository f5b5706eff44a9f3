//! From an inspected packet to a submission under evaluation (docs/checkers.md; docs/lifecycle.md T6, T7, T14 checker path; R16-R18).
//!
//! Two commands, each one transaction:
//!
//! 1. [`admit`]: the packet passed inspection and the pre-submit checks, so the
//!    assignee's upload becomes a `ready` admission: the archive's identity (sha256,
//!    bytes, object key), the server-built manifest and the pre-submit report. An older
//!    `ready` admission of the task goes `stale` (one prepared packet at a time). A
//!    packet identical to the task's latest submission is refused before anything is
//!    written: `submission_archive_unchanged` (same bytes) or
//!    `submission_manifest_unchanged` (same files).
//! 2. [`submit`]: the assignee consumes the admission with a summary and an
//!    attestation. The submission's version is the server's (1, or the next), every
//!    locked stamp is copied from the task and the contribution version from the
//!    assignment (the database re-checks both); the packet's files are recorded; the
//!    task moves `in_progress -> submitted` (T6) or `needs_revision -> submitted` (T14,
//!    after a checker remediation) and on to `evaluation_pending` (T7); the first
//!    checker run is queued with its job. All or nothing.

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::{Decision, GuardFacts, Refusal, RevisionOrigin, TaskCommand};
use workstream_domain::machines::admission::AdmissionState;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};
use workstream_domain::{Digest, TaskState, decide};
use workstream_store::jobs::{self, NewJob};
use workstream_store::tasks::{self, AssignmentRow, TaskRow};

use super::access::Access;
use super::assignment::{lock_with_assignment, locks_complete, may_see};
use super::transition::{TaskEvent, transition};
use crate::CommandError;
use crate::jobs::EvaluationArgs;
use crate::requester::Requester;
use crate::reviews::revision::{self, Preparation};

/// The identity of an inspected, pre-checked packet.
#[derive(Debug, Clone)]
pub struct PreparedPacket {
    /// `sha256:` of the uploaded archive's bytes.
    pub archive_sha256: Digest,
    /// Its size.
    pub archive_bytes: u64,
    /// Where the archive's bytes are stored (content-addressed, write-once).
    pub archive_object_key: String,
    /// The server-built manifest (`workstream.submission_bundle_manifest.v1`).
    pub manifest: Value,
    /// Its canonical digest.
    pub manifest_digest: Digest,
    /// The contributor-safe pre-submit report.
    pub pre_submit_report: Value,
}

/// A stored admission.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionRow {
    /// The admission id.
    pub id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// The assignment it was prepared under.
    pub task_assignment_id: Uuid,
    /// `ready`, `consumed` or `stale`.
    pub state: AdmissionState,
    /// The archive digest.
    pub archive_sha256: String,
    /// The manifest digest.
    pub manifest_digest: String,
}

/// The task's latest submission: (id, version, archive digest, manifest digest).
async fn latest_submission(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Option<(Uuid, i32, String, String)>, CommandError> {
    Ok(sqlx::query!(
        "SELECT id, version, archive_sha256, manifest_digest FROM submissions \
         WHERE task_id = $1 ORDER BY version DESC LIMIT 1",
        task_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|s| (s.id, s.version, s.archive_sha256, s.manifest_digest)))
}

/// The states a packet may be prepared and submitted in: the first version while the
/// work is in progress, a revision while one is asked for.
fn accepts_packets(task: &TaskRow) -> bool {
    task.status == TaskState::InProgress || task.status == TaskState::NeedsRevision
}

/// The refusals [`admit`] would give the caller, checked before an upload is read:
/// the concealed 404 for a task they may not see, 403 `not_assignee` for someone
/// else's, 403 `transition_not_allowed` for a task that takes no packet. Without it a
/// contributor could make the server receive, inspect, check and store bytes for a task
/// that is not theirs (and read the pre-submit verdict on it) before `admit` refused.
/// Reads only; `admit` checks again under its locks.
pub async fn check_uploader(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
) -> Result<(), CommandError> {
    let task = tasks::find(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let access = Access::read(conn, requester.actor_id, task.project_id, false).await?;
    if !may_see(&task, &access, requester.actor_id) {
        return Err(CommandError::not_found());
    }
    tasks::active_assignment(conn, task.id)
        .await?
        .filter(|a| a.contributor_id == requester.actor_id)
        .ok_or_else(not_assignee)?;
    if !accepts_packets(&task) {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            format!("a task in {} takes no packet", task.status),
        ));
    }
    Ok(())
}

fn not_assignee() -> CommandError {
    CommandError::new(
        ErrorCode::NotAssignee,
        "only the task's assignee can submit a packet",
    )
}

/// Records a `ready` admission for the caller's assignment (see the module docs).
pub async fn admit(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    packet: &PreparedPacket,
) -> Result<AdmissionRow, CommandError> {
    let (task, active, _access) = lock_with_assignment(conn, requester, task_id).await?;
    let assignment = active
        .filter(|a| a.contributor_id == requester.actor_id)
        .ok_or_else(not_assignee)?;
    if !accepts_packets(&task) {
        return Err(CommandError::new(
            ErrorCode::TransitionNotAllowed,
            format!("a task in {} takes no packet", task.status),
        ));
    }
    let latest = latest_submission(conn, task.id).await?;
    if let Some((_, _, archive, manifest)) = &latest {
        if *archive == packet.archive_sha256.to_string() {
            return Err(CommandError::new(
                ErrorCode::SubmissionArchiveUnchanged,
                "the packet is byte-identical to the latest submission; change the work first",
            ));
        }
        if *manifest == packet.manifest_digest.to_string() {
            return Err(CommandError::new(
                ErrorCode::SubmissionManifestUnchanged,
                "the packet holds exactly the files of the latest submission; change the work first",
            ));
        }
    }
    sqlx::query!(
        "UPDATE submission_bundle_admissions SET state = $2, stale_at = now(), \
         stale_reason = 'superseded by a newer prepared packet' WHERE task_id = $1 AND state = $3",
        task.id,
        AdmissionState::Stale.as_str(),
        AdmissionState::Ready.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    let locked_bundle = task.locked_policy_bundle_hash.clone().ok_or_else(|| {
        CommandError::new(ErrorCode::LockedContextInvalid, "the task is not locked")
    })?;
    let admission = sqlx::query_as!(
        AdmissionRow,
        r#"INSERT INTO submission_bundle_admissions (id, task_id, task_assignment_id, contributor_id,
             archive_sha256, archive_byte_count, archive_object_key, manifest, manifest_digest,
             pre_submit_report, locked_policy_bundle_hash, predecessor_submission_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           RETURNING id, task_id, task_assignment_id, state AS "state: _", archive_sha256,
             manifest_digest"#,
        Uuid::now_v7(),
        task.id,
        assignment.id,
        requester.actor_id,
        packet.archive_sha256.to_string(),
        i64::try_from(packet.archive_bytes).unwrap_or(i64::MAX),
        &packet.archive_object_key,
        &packet.manifest,
        packet.manifest_digest.to_string(),
        &packet.pre_submit_report,
        locked_bundle,
        latest.map(|(id, ..)| id),
    )
    .fetch_one(&mut *conn)
    .await?;
    workstream_store::audit::append(
        conn,
        workstream_store::audit::NewAuditEvent {
            project_id: Some(task.project_id),
            entity_type: "submission_bundle_admission".into(),
            entity_id: Some(admission.id),
            event_type: "submission_admission_prepared".into(),
            to_status: Some(admission.state.to_string()),
            actor_id: Some(requester.actor_id),
            payload: json!({
                "task_id": task.id,
                "archive_sha256": admission.archive_sha256,
                "manifest_digest": admission.manifest_digest,
            }),
            correlation_id: requester.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(admission)
}

/// What the contributor says with a packet.
#[derive(Debug, Clone)]
pub struct SubmitInput {
    /// The ready admission to consume.
    pub admission_id: Uuid,
    /// What was done (required, at most 64 KiB).
    pub summary: String,
    /// The contributor's attestation (required, R19).
    pub attestation: String,
    /// After a reviewer's `needs_revision`: the preparation head echoed and one response
    /// per open blocking finding (R32, R34). Empty otherwise.
    pub resubmission: revision::Resubmission,
}

/// A created submission and the evaluation queued for it.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The task, now `evaluation_pending`.
    pub task: TaskRow,
    /// The submission id.
    pub submission_id: Uuid,
    /// Its version.
    pub version: i32,
    /// The queued checker run.
    pub checker_run_id: Uuid,
}

/// Creates the submission from a ready admission (see the module docs), in one
/// transaction, in this order:
///
/// 1. Lock the task and its active assignment, re-read the caller's authority, lock the
///    admission, and read the latest submission and, after a checker's
///    `needs_revision`, the remediation run it answers.
/// 2. Judge with the domain: the guard facts (and, after a reviewer's
///    `needs_revision`, the revision episode's), T6 or T14, and the packet rules.
/// 3. The submission to write: the ready admission, the server's version, a new id.
/// 4. Write the submission, its finding responses, the admission `consumed`, the
///    packet's files.
/// 5. The task moves to `submitted` (audited `submission_created`).
/// 6. T7: the first checker run and its job; the task moves to `evaluation_pending`
///    (audited `evaluation_queued`).
pub async fn submit(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    input: &SubmitInput,
) -> Result<Submitted, CommandError> {
    let locked = lock(conn, requester, task_id, input.admission_id).await?;
    let judged = judge(conn, requester, &locked, input).await?;
    let submission = new_submission(&locked)?;
    record_submission(conn, requester, &locked, &judged, &submission, input).await?;
    let submitted = enter_submitted(conn, requester, &locked, &judged, &submission, input).await?;
    queue_evaluation(conn, requester, &locked, &judged, &submitted, &submission).await
}

/// The admission [`submit`] consumes, as read under its lock.
struct Admission {
    task_assignment_id: Uuid,
    state: AdmissionState,
    manifest: Value,
    manifest_digest: String,
    archive_sha256: String,
}

/// What step 1 of [`submit`] locked and read.
struct Locked {
    task: TaskRow,
    /// The task's active assignment, if any.
    active: Option<AssignmentRow>,
    access: Access,
    /// The admission the request names, if it is one of the task's.
    admission: Option<Admission>,
    /// The task's latest submission: (id, version, archive digest, manifest digest).
    latest: Option<(Uuid, i32, String, String)>,
    /// The latest submission's current run, when it routed `needs_revision` and the task
    /// is in `needs_revision` (a checker remediation, T14).
    remediation_run: Option<Uuid>,
}

/// What step 2 of [`submit`] decided.
struct Judged {
    /// The move to `submitted` (T6 or T14).
    decision: Decision,
    /// The facts it was judged on (T7 is judged on them too).
    facts: GuardFacts,
    /// The revision context preparation a resubmission after a reviewer's
    /// `needs_revision` answers.
    head: Option<Preparation>,
}

/// The submission step 3 of [`submit`] settles on.
struct NewSubmission<'a> {
    id: Uuid,
    version: i32,
    admission: &'a Admission,
    assignment: &'a AssignmentRow,
}

/// Step 1: locks the task and its active assignment (re-reading the caller's authority),
/// then the admission; reads the latest submission and, for a task in `needs_revision`,
/// the checker remediation run that sent it there.
async fn lock(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    admission_id: Uuid,
) -> Result<Locked, CommandError> {
    let (task, active, access) = lock_with_assignment(conn, requester, task_id).await?;
    let admission = sqlx::query_as!(
        Admission,
        r#"SELECT task_assignment_id, state AS "state: AdmissionState", manifest, manifest_digest,
             archive_sha256
           FROM submission_bundle_admissions WHERE id = $1 AND task_id = $2 FOR UPDATE"#,
        admission_id,
        task.id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let latest = latest_submission(conn, task.id).await?;
    let remediation_run = match &latest {
        Some((id, ..)) if task.status == TaskState::NeedsRevision => sqlx::query_scalar!(
            "SELECT id FROM checker_runs WHERE submission_id = $1 AND is_current_for_submission \
                 AND status = $2 AND routing_recommendation = $3",
            id,
            CheckerRunStatus::Completed.as_str(),
            RoutingRecommendation::NeedsRevision.as_str(),
        )
        .fetch_optional(&mut *conn)
        .await?,
        _ => None,
    };
    Ok(Locked {
        task,
        active,
        access,
        admission,
        latest,
        remediation_run,
    })
}

/// Step 2: the guard facts read under the locks, the domain's decision (T6, or T14 on
/// the checker or the human path), then the packet rules every version must meet.
async fn judge(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
    input: &SubmitInput,
) -> Result<Judged, CommandError> {
    let Locked {
        task,
        remediation_run,
        ..
    } = locked;
    let mut facts = guard_facts(requester, locked, input);
    // After a reviewer's needs_revision, the human path's facts: the preparation head
    // echoed, every open blocking finding answered, the round limit and the deadline.
    let human_revision = task.status == TaskState::NeedsRevision
        && remediation_run.is_none()
        && facts.actor_is_assignee;
    let head = if human_revision {
        revision::resubmission_facts(conn, task, &input.resubmission, &mut facts).await?
    } else {
        None
    };
    if !human_revision
        && (!input.resubmission.responses.is_empty() || input.resubmission.preparation_id.is_some())
    {
        return Err(CommandError::new(
            ErrorCode::FindingResponsesNotExpected,
            "only a resubmission after a reviewer's needs_revision answers findings",
        ));
    }
    let decision = decide(
        task.status,
        &TaskCommand::Submit,
        &locked.access.actor_context(),
        &facts,
    )?;
    // T14's guards are about the revision episode; the packet rules hold for every
    // version.
    for (holds, refusal) in [
        (facts.admission_ready, Refusal::AdmissionNotReady),
        (facts.summary_present, Refusal::SummaryRequired),
        (facts.attestation_given, Refusal::AttestationRequired),
    ] {
        if !holds {
            return Err(refusal.into());
        }
    }
    Ok(Judged {
        decision,
        facts,
        head,
    })
}

/// The facts of step 2 that the locked rows and the request give.
fn guard_facts(requester: &Requester, locked: &Locked, input: &SubmitInput) -> GuardFacts {
    let Locked {
        task,
        active,
        admission,
        remediation_run,
        ..
    } = locked;
    let assignee = active
        .as_ref()
        .is_some_and(|a| a.contributor_id == requester.actor_id);
    GuardFacts {
        has_active_assignment: active.is_some(),
        actor_is_assignee: assignee,
        locks_complete: locks_complete(task),
        admission_ready: admission.as_ref().is_some_and(|admission| {
            admission.state == AdmissionState::Ready
                && active
                    .as_ref()
                    .is_some_and(|a| a.id == admission.task_assignment_id)
        }),
        summary_present: !input.summary.trim().is_empty(),
        attestation_given: !input.attestation.trim().is_empty(),
        submission_policy_locked: task.locked_checker_policy.is_some(),
        remediation_run_bound: remediation_run.is_some(),
        // The predecessor is the task's latest version by construction (read in step 1,
        // under the task lock).
        predecessor_is_latest: true,
        revision_origin: if remediation_run.is_some() {
            RevisionOrigin::CheckerRemediation
        } else {
            RevisionOrigin::HumanReview
        },
        ..GuardFacts::default()
    }
}

/// Step 3: the admission the guards found ready, the active assignment they required,
/// the server's version (1, or the next) and the new submission's id.
fn new_submission(locked: &Locked) -> Result<NewSubmission<'_>, CommandError> {
    let admission = locked
        .admission
        .as_ref()
        .ok_or_else(|| CommandError::new(ErrorCode::AdmissionNotReady, "no such admission"))?;
    let assignment = locked
        .active
        .as_ref()
        .expect("the guards required an active assignment");
    let version = locked.latest.as_ref().map_or(1, |(_, v, ..)| v + 1);
    Ok(NewSubmission {
        id: Uuid::now_v7(),
        version,
        admission,
        assignment,
    })
}

/// Step 4: writes the submission (its locked stamps copied from the task, its packet
/// from the admission, its contribution version from the assignment), the answers to
/// the open findings, the admission `consumed` and the packet's files.
async fn record_submission(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
    judged: &Judged,
    submission: &NewSubmission<'_>,
    input: &SubmitInput,
) -> Result<(), CommandError> {
    sqlx::query!(
        "INSERT INTO submissions (id, project_id, task_id, task_assignment_id, contributor_id, version, \
         summary, contributor_attestation, submission_bundle_admission_id, archive_sha256, \
         archive_byte_count, archive_object_key, manifest, manifest_digest, locked_guide_id, \
         locked_guide_version, locked_guide_activation_sequence, locked_policy_bundle_hash, \
         locked_artifact_policy_hash, locked_checker_policy, locked_checker_policy_hash, \
         locked_review_policy_hash, locked_revision_policy_hash, contribution_policy_version_id, \
         supersedes_submission_id, remediation_source_checker_run_id, revision_context_preparation_id) \
         SELECT $1, t.project_id, t.id, $2, $3, $4, $5, $6, a.id, a.archive_sha256, a.archive_byte_count, \
         a.archive_object_key, a.manifest, a.manifest_digest, t.locked_guide_id, t.locked_guide_version, \
         t.locked_guide_activation_sequence, t.locked_policy_bundle_hash, t.locked_artifact_policy_hash, \
         t.locked_checker_policy, t.locked_checker_policy_hash, t.locked_review_policy_hash, \
         t.locked_revision_policy_hash, $7, $8, $9, $12 \
         FROM tasks t JOIN submission_bundle_admissions a ON a.id = $10 WHERE t.id = $11",
        submission.id,
        submission.assignment.id,
        requester.actor_id,
        submission.version,
        input.summary.trim(),
        input.attestation.trim(),
        submission.assignment.submitter_contribution_policy_version_id,
        locked.latest.as_ref().map(|(id, ..)| *id),
        locked.remediation_run,
        input.admission_id,
        locked.task.id,
        judged.head.as_ref().map(|h| h.id),
    )
    .execute(&mut *conn)
    .await?;
    if let Some(head) = &judged.head {
        revision::record_responses(
            conn,
            submission.id,
            submission.assignment.id,
            head,
            &input.resubmission.responses,
        )
        .await?;
    }
    sqlx::query!(
        "UPDATE submission_bundle_admissions SET state = $2, consumed_at = now() WHERE id = $1",
        input.admission_id,
        AdmissionState::Consumed.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    record_files(conn, submission.id, &submission.admission.manifest).await
}

/// Step 5: the task moves to `submitted` (T6 or T14), audited as `submission_created`.
async fn enter_submitted(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
    judged: &Judged,
    submission: &NewSubmission<'_>,
    input: &SubmitInput,
) -> Result<TaskRow, CommandError> {
    let Locked { task, access, .. } = locked;
    let decision = &judged.decision;
    transition(
        conn,
        task.id,
        decision,
        task.assigned_to,
        TaskEvent {
            event_type: "submission_created",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: None,
            payload: json!({
                "matched_grant_id": access.grant_for(decision.authorized_as),
                "permission": "task.submit",
                "submission_id": submission.id,
                "version": submission.version,
                "archive_sha256": submission.admission.archive_sha256,
                "manifest_digest": submission.admission.manifest_digest,
                "locked_checker_policy_hash": task.locked_checker_policy_hash,
                "revision_context_preparation_id": judged.head.as_ref().map(|h| h.id),
                "answered_finding_ids": input.resubmission.responses.iter().map(|r| r.finding_id).collect::<Vec<_>>(),
            }),
        },
    )
    .await
}

/// Step 6, T7 in the same commit: the system queues the evaluation (the first checker
/// run and its job) and the task moves to `evaluation_pending`, audited as
/// `evaluation_queued`. Answers what [`submit`] answers.
async fn queue_evaluation(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
    judged: &Judged,
    submitted: &TaskRow,
    submission: &NewSubmission<'_>,
) -> Result<Submitted, CommandError> {
    let task = &locked.task;
    let queue = decide(
        TaskState::Submitted,
        &TaskCommand::QueueEvaluation,
        &workstream_domain::ActorContext::system(),
        &judged.facts,
    )?;
    let checker_run_id = queue_run(
        conn,
        submitted,
        submission.id,
        submission.version,
        "submission_locked",
        None,
        None,
    )
    .await?;
    let pending = transition(
        conn,
        task.id,
        &queue,
        task.assigned_to,
        TaskEvent {
            event_type: "evaluation_queued",
            actor_id: None,
            correlation_id: requester.correlation_id.clone(),
            reason: None,
            payload: json!({ "submission_id": submission.id, "checker_run_id": checker_run_id }),
        },
    )
    .await?;
    Ok(Submitted {
        task: pending,
        submission_id: submission.id,
        version: submission.version,
        checker_run_id,
    })
}

/// Records the packet's files (the manifest's file entries) for the submission, in one
/// statement.
async fn record_files(
    conn: &mut PgConnection,
    submission_id: Uuid,
    manifest: &Value,
) -> Result<(), CommandError> {
    let files: Vec<&Value> = manifest["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["entry_type"] == "file")
                .collect()
        })
        .unwrap_or_default();
    if files.is_empty() {
        return Ok(());
    }
    // One statement for the whole packet, however many files it has.
    let ids: Vec<Uuid> = files.iter().map(|_| Uuid::now_v7()).collect();
    let text = |key: &str| -> Vec<&str> {
        files
            .iter()
            .map(|f| f[key].as_str().unwrap_or_default())
            .collect()
    };
    let byte_counts: Vec<i64> = files
        .iter()
        .map(|f| f["byte_count"].as_i64().unwrap_or_default())
        .collect();
    let executable: Vec<bool> = files
        .iter()
        .map(|f| f["executable"].as_bool().unwrap_or(false))
        .collect();
    sqlx::query!(
        "INSERT INTO packet_files (id, submission_id, path, byte_count, sha256, executable) \
         SELECT id, $2, path, byte_count, sha256, executable \
         FROM UNNEST($1::uuid[], $3::text[], $4::bigint[], $5::text[], $6::bool[]) \
           AS f(id, path, byte_count, sha256, executable)",
        &ids,
        submission_id,
        &text("normalized_path") as &[&str],
        &byte_counts,
        &text("sha256") as &[&str],
        &executable,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Queues a checker run for a submission and the job that evaluates it; a retry
/// supersedes the previous attempt (which stops being current). Returns the run id.
pub(crate) async fn queue_run(
    conn: &mut PgConnection,
    task: &TaskRow,
    submission_id: Uuid,
    version: i32,
    trigger_source: &str,
    triggered_by: Option<Uuid>,
    reason: Option<&str>,
) -> Result<Uuid, CommandError> {
    let previous = sqlx::query!(
        "SELECT id, attempt_number FROM checker_runs WHERE submission_id = $1 \
         ORDER BY attempt_number DESC LIMIT 1 FOR UPDATE",
        submission_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|run| (run.id, run.attempt_number));
    if let Some((id, _)) = previous {
        sqlx::query!(
            "UPDATE checker_runs SET is_current_for_submission = false WHERE id = $1",
            id
        )
        .execute(&mut *conn)
        .await?;
    }
    let attempt = previous.map_or(1, |(_, n)| n + 1);
    let submission = sqlx::query!(
        "SELECT manifest_digest, locked_checker_policy_hash FROM submissions WHERE id = $1",
        submission_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let (manifest_digest, policy_hash) = (
        submission.manifest_digest,
        submission.locked_checker_policy_hash,
    );
    let run_id = Uuid::now_v7();
    // The run's request: what it will evaluate, under which policy, which attempt.
    let request_digest = Digest::of_canonical_json(&json!({
        "schema": "workstream.checker_run_request.v1",
        "submission_id": submission_id,
        "packet_digest": manifest_digest,
        "policy_hash": policy_hash,
        "attempt": attempt,
    }))
    .map_err(CommandError::internal)?;
    sqlx::query!(
        "INSERT INTO checker_runs (id, task_id, submission_id, submission_version, packet_digest, \
         policy_hash, trigger_source, triggered_by, trigger_reason, attempt_number, \
         supersedes_checker_run_id, request_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        run_id,
        task.id,
        submission_id,
        version,
        &manifest_digest,
        &policy_hash,
        trigger_source,
        triggered_by,
        reason,
        attempt,
        previous.map(|(id, _)| id),
        request_digest.to_string(),
    )
    .execute(&mut *conn)
    .await?;
    let mut job = NewJob::of(&EvaluationArgs {
        checker_run_id: run_id,
    });
    job.idempotency_key = Some(format!("checker-run:{run_id}"));
    jobs::enqueue(conn, job).await?;
    Ok(run_id)
}

/// An evaluation the pre-review gate is holding: the task waits in
/// `evaluation_pending` on the current run of its latest submission.
struct HeldEvaluation {
    submission_id: Uuid,
    version: i32,
    run_id: Uuid,
    route: RoutingRecommendation,
}

/// The task (locked), the caller's grant as `actor`, and the held evaluation, if its
/// route is one of `routes`; otherwise 409 `evaluation_not_held`.
async fn lock_held(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    actor: workstream_domain::lifecycle::Actor,
    reason: &str,
    routes: &[RoutingRecommendation],
) -> Result<(TaskRow, Uuid, HeldEvaluation), CommandError> {
    let task = tasks::lock(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let access =
        super::access::Access::read(conn, requester.actor_id, task.project_id, true).await?;
    let grant = access.require(actor)?;
    if reason.trim().is_empty() {
        return Err(Refusal::ReasonRequired.into());
    }
    let held = sqlx::query!(
        r#"SELECT s.id, s.version, r.id AS run_id,
             r.routing_recommendation AS "route: RoutingRecommendation"
           FROM submissions s
           JOIN checker_runs r ON r.submission_id = s.id AND r.is_current_for_submission
           WHERE s.task_id = $1 ORDER BY s.version DESC LIMIT 1"#,
        task.id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|held| (held.id, held.version, held.run_id, held.route));
    match held {
        Some((submission_id, version, run_id, route))
            if task.status == TaskState::EvaluationPending && routes.contains(&route) =>
        {
            Ok((
                task,
                grant,
                HeldEvaluation {
                    submission_id,
                    version,
                    run_id,
                    route,
                },
            ))
        }
        _ => Err(CommandError::new(
            ErrorCode::EvaluationNotHeld,
            format!(
                "only an evaluation held by {} can take this action",
                routes
                    .iter()
                    .map(|route| route.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        )),
    }
}

/// Queues the retry that supersedes `held` and records `event_type` with `payload`
/// (plus the runs involved) in the task's audit chain. Returns the new run's id.
async fn retry_held(
    conn: &mut PgConnection,
    requester: &Requester,
    task: &TaskRow,
    held: &HeldEvaluation,
    reason: &str,
    event_type: &str,
    mut payload: Value,
) -> Result<Uuid, CommandError> {
    let run_id = queue_run(
        conn,
        task,
        held.submission_id,
        held.version,
        "retry",
        Some(requester.actor_id),
        Some(reason.trim()),
    )
    .await?;
    if let Value::Object(map) = &mut payload {
        map.insert("superseded_checker_run_id".into(), json!(held.run_id));
        map.insert("superseded_route".into(), json!(held.route));
        map.insert("checker_run_id".into(), json!(run_id));
    }
    workstream_store::audit::append(
        conn,
        workstream_store::audit::NewAuditEvent {
            project_id: Some(task.project_id),
            entity_type: "task".into(),
            entity_id: Some(task.id),
            event_type: event_type.into(),
            from_status: Some(task.status.to_string()),
            to_status: Some(task.status.to_string()),
            actor_id: Some(requester.actor_id),
            reason: Some(reason.trim().to_owned()),
            payload,
            correlation_id: requester.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(run_id)
}

/// An Operator's trusted retry of a held evaluation (docs/checkers.md, scenario
/// 33): the task is in `evaluation_pending` and its latest submission's current run
/// ended in `checker_retry` or `task_setup_blocked`. A new attempt supersedes that run
/// (whose results stay readable) and is queued with its job; the task does not move.
/// Returns the new run's id. Refused with 409 `evaluation_not_held` otherwise.
pub async fn retry_evaluation(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    reason: &str,
) -> Result<Uuid, CommandError> {
    let (task, grant, held) = lock_held(
        conn,
        requester,
        task_id,
        workstream_domain::lifecycle::Actor::Operator,
        reason,
        &[
            RoutingRecommendation::CheckerRetry,
            RoutingRecommendation::TaskSetupBlocked,
        ],
    )
    .await?;
    let payload = json!({ "matched_grant_id": grant, "permission": "operations.checker.retry" });
    retry_held(
        conn,
        requester,
        &task,
        &held,
        reason,
        "checker_run_retry_requested",
        payload,
    )
    .await
}

/// What a manager may repair in a task whose evaluation found a setup defect: the
/// texts the task-setup checkers read. Locks never change here.
#[derive(Debug, Clone, Default)]
pub struct SetupRepair {
    /// New acceptance criteria.
    pub acceptance_criteria: Option<String>,
    /// New rejection criteria.
    pub rejection_criteria: Option<String>,
    /// New description.
    pub description: Option<String>,
}

/// A Project Manager repairs a task held by `task_setup_blocked` (docs/checkers.md, scenario 33): the fields change (audited with before and after), and a trusted
/// retry is queued at once under the manager's authority; the blocked run's results
/// stay readable. Refused with 409 `evaluation_not_held` unless the current run of the
/// latest submission routed `task_setup_blocked`.
pub async fn repair_setup(
    conn: &mut PgConnection,
    requester: &Requester,
    task_id: Uuid,
    repair: &SetupRepair,
    reason: &str,
) -> Result<(TaskRow, Uuid), CommandError> {
    let (task, grant, held) = lock_held(
        conn,
        requester,
        task_id,
        workstream_domain::lifecycle::Actor::ProjectManager,
        reason,
        &[RoutingRecommendation::TaskSetupBlocked],
    )
    .await?;
    if repair.acceptance_criteria.is_none()
        && repair.rejection_criteria.is_none()
        && repair.description.is_none()
    {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "name at least one of acceptance_criteria, rejection_criteria, description",
        ));
    }
    let repaired = tasks::repair_setup_fields(
        &mut *conn,
        task.id,
        repair.acceptance_criteria.as_deref().map(str::trim),
        repair.rejection_criteria.as_deref().map(str::trim),
        repair.description.as_deref().map(str::trim),
    )
    .await?;
    let payload = json!({
        "matched_grant_id": grant,
        "permission": "project.task.manage",
        "before": {
            "acceptance_criteria": task.acceptance_criteria,
            "rejection_criteria": task.rejection_criteria,
            "description": task.description,
        },
        "after": {
            "acceptance_criteria": repaired.acceptance_criteria,
            "rejection_criteria": repaired.rejection_criteria,
            "description": repaired.description,
        },
    });
    let run_id = retry_held(
        conn,
        requester,
        &repaired,
        &held,
        reason,
        "task_setup_repaired",
        payload,
    )
    .await?;
    Ok((repaired, run_id))
}

/// The summary and attestation the contributor gave with the packet an admission
/// admitted (none when `admission_id` is not an admission of `task_id`).
pub async fn admitted_texts(
    conn: &mut PgConnection,
    admission_id: Uuid,
    task_id: Uuid,
) -> Result<Option<(Option<String>, Option<String>)>, CommandError> {
    Ok(sqlx::query!(
        "SELECT pre_submit_report ->> 'summary' AS summary, \
         pre_submit_report ->> 'attestation' AS attestation \
         FROM submission_bundle_admissions WHERE id = $1 AND task_id = $2",
        admission_id,
        task_id,
    )
    .fetch_optional(conn)
    .await?
    .map(|texts| (texts.summary, texts.attestation)))
}
