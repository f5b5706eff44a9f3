//! What the lease holder reads (R27): the review packet.
//!
//! Only the holder of the *active* lease on a submission reads its packet through
//! review; anyone else, including the same reviewer once the lease has ended, gets the
//! concealed 404. The packet is the task's terms, the submission, its files with the
//! checker findings annotated at their path and line, the admitting checker run, which
//! checker findings are new, fixed or persisting since the previous version, the locked
//! guide and its policy bundle, and every prior review finding with its status, its
//! resolutions and the contributor's response in this submission.
//!
//! [`manifest`] is the metadata-only record of what the reviewer was shown, stored
//! with the lease (`review_packet_manifests`) and hashed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::gate::MemberStatus;
use workstream_domain::lifecycle::{FindingKind, FindingStatus, ResolutionResult, TaskState};
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};

use super::findings::{self, CheckerFinding};
use super::lease::{Lease, held_lease};
use crate::CommandError;
use crate::requester::Requester;

/// A review finding raised by an earlier review of the task, as it stands now.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PriorFinding {
    /// The finding id (what a response and a resolution name).
    pub id: Uuid,
    /// The review that raised it.
    pub review_id: Uuid,
    /// The version that review judged.
    pub raised_on_version: i32,
    /// Its position in that review.
    pub position: i32,
    /// `blocking` or `advisory`.
    pub kind: FindingKind,
    /// The area of the work.
    pub area: String,
    /// What is wrong.
    pub issue: String,
    /// Why it blocks.
    pub rationale: Option<String>,
    /// What must change.
    pub required_fix: Option<String>,
    /// The evidence the reviewer cited.
    pub evidence_ref: Option<Value>,
    /// `open`, `resolved` or `not_applicable`: closed only by a later review's
    /// resolution (an `unresolved` resolution leaves it open).
    pub status: FindingStatus,
    /// Every resolution later reviews gave it, oldest first.
    pub resolutions: Vec<PriorResolution>,
    /// Every response the contributor gave it, oldest first.
    pub responses: Vec<PriorResponse>,
}

/// A resolution a later review gave a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PriorResolution {
    /// The review that resolved it.
    pub review_id: Uuid,
    /// The version that review judged.
    pub submission_id: Uuid,
    /// `resolved`, `unresolved` or `not_applicable`.
    pub result: ResolutionResult,
    /// Why.
    pub rationale: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A contributor's response to a finding, with the version that carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PriorResponse {
    /// The version that answered it.
    pub submission_id: Uuid,
    /// Its number.
    pub version: i32,
    /// What the contributor said.
    pub response_text: String,
    /// Where the fix is, if they said.
    pub evidence_ref: Option<Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The review packet of an active lease: the task's terms, the exact submission, its
/// files with the checkers' findings at path and line, the admitting run, how the
/// findings changed since the previous version, the locked guide, and every finding
/// earlier reviews raised.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewPacket {
    /// The caller's lease.
    pub lease: Lease,
    /// The task's terms.
    pub task: PacketTask,
    /// The submission under review.
    pub submission: PacketSubmission,
    /// Its files, each with the checker findings about it.
    pub files: Vec<PacketFile>,
    /// Findings about the packet as a whole (no path).
    pub packet_findings: Vec<CheckerFinding>,
    /// The run that admitted the packet to review.
    pub checker_run: AdmittingRun,
    /// Checker findings new, persisting and fixed since the previous version.
    pub checker_finding_changes: findings::FindingChanges,
    /// The guide the task is held to.
    pub guide: PacketGuide,
    /// Every finding earlier reviews raised, with its status.
    pub prior_findings: Vec<PriorFinding>,
    /// The open blocking findings this review must resolve.
    pub required_resolutions: Vec<Uuid>,
}

/// The task's terms, as a reviewer reads them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PacketTask {
    /// Id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// Title.
    pub title: String,
    /// What to do.
    pub description: String,
    /// A free label.
    pub task_type: Option<String>,
    /// `easy|medium|hard|expert`.
    pub difficulty: Option<String>,
    /// Skill labels.
    pub skill_tags: Vec<String>,
    /// What an accepted answer must do.
    pub acceptance_criteria: String,
    /// What gets an answer rejected.
    pub rejection_criteria: String,
    /// The task's state (`review_pending` while leased).
    pub status: TaskState,
}

/// The submission under review.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PacketSubmission {
    /// Id.
    pub id: Uuid,
    /// Its version.
    pub version: i32,
    /// The contributor's summary.
    pub summary: String,
    /// What the contributor attested.
    pub attestation: String,
    /// The archive's SHA-256.
    pub archive_sha256: String,
    /// The archive's size.
    pub archive_byte_count: i64,
    /// The manifest's digest.
    pub manifest_digest: String,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// The version it revises.
    pub supersedes_submission_id: Option<Uuid>,
    /// The revision context it answered.
    pub revision_context_preparation_id: Option<Uuid>,
    /// The run whose findings it remedies, for a checker remediation.
    pub remediation_source_checker_run_id: Option<Uuid>,
}

/// A file of the packet, with the checker findings about it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PacketFile {
    /// Its path in the packet.
    pub path: String,
    /// Its size.
    pub byte_count: i64,
    /// Its SHA-256.
    pub sha256: String,
    /// Whether it was marked executable.
    pub executable: bool,
    /// The checker findings at this path.
    pub checker_findings: Vec<CheckerFinding>,
}

/// The run that admitted the packet to review, with each checker's result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AdmittingRun {
    /// Id.
    pub id: Uuid,
    /// `completed`.
    pub status: CheckerRunStatus,
    /// `allow_review`.
    pub routing_recommendation: RoutingRecommendation,
    /// Which attempt.
    pub attempt_number: i32,
    /// The digest of every result.
    pub result_digest: Option<String>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// One per checker, in policy order.
    pub results: Vec<AdmittingResult>,
}

/// One checker's stored result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AdmittingResult {
    /// The checker's name.
    pub checker: String,
    /// Its registered version.
    pub checker_version: String,
    /// Its component digest.
    pub checker_digest: String,
    /// `passed`, `warning`, `failed` or `errored`.
    pub status: MemberStatus,
    /// The severity the policy gives it.
    pub severity: String,
    /// Whether its failure blocks review.
    pub blocks_review: bool,
    /// `passed` or `failed`, when it ran.
    pub verdict: Option<String>,
    /// Why it could not run.
    pub failure_code: Option<String>,
    /// The checker's summary.
    pub summary: Option<String>,
    /// Its findings as reported.
    pub findings: Value,
}

/// The guide the task is held to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PacketGuide {
    /// Id.
    pub id: Uuid,
    /// Its version label.
    pub version: String,
    /// Its activation sequence.
    pub activation_sequence: Option<i32>,
    /// Its prose.
    pub content_markdown: String,
    /// The effective policy bundle.
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub policy_bundle: Option<Value>,
    /// Its digest.
    pub policy_bundle_hash: Option<String>,
}

/// Every finding raised by reviews of `task_id`, oldest first, with its status.
pub async fn prior_findings(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Vec<PriorFinding>, CommandError> {
    // A finding is closed by the one resolution that resolved it or found it not
    // applicable (`finding_resolutions_closed_once`); otherwise it is open. A closing
    // result's token is the finding's status. The view of the closing resolutions
    // (ResolutionResult::CLOSING) walks that partial index, the only one on
    // `finding_id`.
    let rows = sqlx::query!(
        r#"SELECT f.id, f.review_id, s.version AS raised_on_version, f.position,
             f.finding_kind AS "kind: FindingKind", f.area, f.issue, f.rationale,
             f.required_fix, f.evidence_ref,
             coalesce((SELECT x.result FROM closing_finding_resolutions x
                       WHERE x.finding_id = f.id), $2)
               AS "status!: FindingStatus"
           FROM review_findings f JOIN reviews r ON r.id = f.review_id
           JOIN submissions s ON s.id = r.submission_id
           WHERE r.task_id = $1 ORDER BY r.completed_at, f.position"#,
        task_id,
        FindingStatus::Open.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        // A first version (most evaluations): no resolutions or responses to read.
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut resolutions: HashMap<Uuid, Vec<PriorResolution>> = HashMap::new();
    for x in sqlx::query!(
        "SELECT finding_id, review_id, revised_submission_id, result AS \"result: ResolutionResult\", \
           rationale, created_at \
         FROM finding_resolutions WHERE finding_id = ANY($1) ORDER BY created_at, id",
        &ids,
    )
    .fetch_all(&mut *conn)
    .await?
    {
        resolutions
            .entry(x.finding_id)
            .or_default()
            .push(PriorResolution {
                review_id: x.review_id,
                submission_id: x.revised_submission_id,
                result: x.result,
                rationale: x.rationale,
                created_at: x.created_at,
            });
    }
    let mut responses: HashMap<Uuid, Vec<PriorResponse>> = HashMap::new();
    for p in sqlx::query!(
        "SELECT p.finding_id, p.new_submission_id, ns.version, p.response_text, p.evidence_ref, \
           p.created_at \
         FROM submission_finding_responses p JOIN submissions ns ON ns.id = p.new_submission_id \
         WHERE p.finding_id = ANY($1) ORDER BY ns.version, p.created_at, p.id",
        &ids,
    )
    .fetch_all(&mut *conn)
    .await?
    {
        responses
            .entry(p.finding_id)
            .or_default()
            .push(PriorResponse {
                submission_id: p.new_submission_id,
                version: p.version,
                response_text: p.response_text,
                evidence_ref: p.evidence_ref,
                created_at: p.created_at,
            });
    }
    Ok(rows
        .into_iter()
        .map(|f| PriorFinding {
            resolutions: resolutions.remove(&f.id).unwrap_or_default(),
            responses: responses.remove(&f.id).unwrap_or_default(),
            id: f.id,
            review_id: f.review_id,
            raised_on_version: f.raised_on_version,
            position: f.position,
            kind: f.kind,
            area: f.area,
            issue: f.issue,
            rationale: f.rationale,
            required_fix: f.required_fix,
            evidence_ref: f.evidence_ref,
            status: f.status,
        })
        .collect())
}

/// A file of the packet, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManifestFile {
    /// Its path in the packet.
    pub path: String,
    /// Its size.
    pub byte_count: i64,
    /// Its SHA-256.
    pub sha256: String,
    /// Whether it was marked executable.
    pub executable: bool,
}

/// The packet's files (path, bytes, sha256), as the manifest lists them.
pub(crate) async fn files(
    conn: &mut PgConnection,
    submission_id: Uuid,
) -> Result<Vec<ManifestFile>, CommandError> {
    Ok(sqlx::query_as!(
        ManifestFile,
        "SELECT path, byte_count, sha256, executable FROM packet_files \
         WHERE submission_id = $1 ORDER BY path",
        submission_id,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The admitting run of the lease's entry, with its results.
async fn admitting_run(
    conn: &mut PgConnection,
    lease: &Lease,
) -> Result<AdmittingRun, CommandError> {
    admitting_run_of_entry(conn, lease.queue_entry_id).await
}

/// The run that admitted queue entry `entry_id` to review, with its results (what a
/// sampled Review's calibration shows too).
pub(crate) async fn admitting_run_of_entry(
    conn: &mut PgConnection,
    entry_id: Uuid,
) -> Result<AdmittingRun, CommandError> {
    let run = sqlx::query!(
        r#"SELECT c.id, c.status AS "status: CheckerRunStatus",
             c.routing_recommendation AS "routing_recommendation: RoutingRecommendation",
             c.attempt_number, c.result_digest, c.completed_at
           FROM review_queue_entries e JOIN checker_runs c ON c.id = e.admitting_checker_run_id
           WHERE e.id = $1"#,
        entry_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let results = sqlx::query_as!(
        AdmittingResult,
        r#"SELECT checker_name AS checker, checker_version, checker_digest, status AS "status: _",
             severity, blocks_review, verdict, failure_code, summary, findings
           FROM checker_results WHERE checker_run_id = $1 ORDER BY ordinal"#,
        run.id,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(AdmittingRun {
        id: run.id,
        status: run.status,
        routing_recommendation: run.routing_recommendation,
        attempt_number: run.attempt_number,
        result_digest: run.result_digest,
        completed_at: run.completed_at,
        results,
    })
}

/// The metadata-only record of what the reviewer of a lease is shown ([`manifest`]):
/// stored with the lease and hashed in canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// `workstream.review_packet_manifest.v1`.
    pub schema: &'static str,
    /// The lease.
    pub lease_id: Uuid,
    /// The task under review.
    pub task_id: Uuid,
    /// The submission and the context it was locked to.
    pub submission: ManifestSubmission,
    /// The run that admitted it, with each checker's outcome.
    pub admitting_checker_run: ManifestRun,
    /// The packet's files.
    pub files: Vec<ManifestFile>,
    /// The findings earlier reviews raised.
    pub prior_finding_ids: Vec<Uuid>,
}

/// The submission of a [`Manifest`], with its locked context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManifestSubmission {
    /// The submission.
    pub submission_id: Uuid,
    /// Its version.
    pub version: i32,
    /// The archive's SHA-256.
    pub archive_sha256: String,
    /// The packet manifest's digest.
    pub manifest_digest: String,
    /// The locked guide.
    pub guide_id: Uuid,
    /// Its version label.
    pub guide_version: String,
    /// The locked policy bundle's hash.
    pub policy_bundle_hash: String,
    /// The locked checker policy's hash.
    pub checker_policy_hash: String,
    /// The locked review policy's hash.
    pub review_policy_hash: String,
    /// The locked revision policy's hash.
    pub revision_policy_hash: String,
    /// The contribution policy version the submission was made under.
    pub contribution_policy_version_id: Uuid,
    /// The revision context it answered.
    pub revision_context_preparation_id: Option<Uuid>,
    /// The run whose findings it remedies, for a checker remediation.
    pub remediation_source_checker_run_id: Option<Uuid>,
}

/// The admitting run of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManifestRun {
    /// The run.
    pub id: Uuid,
    /// The digest of every result.
    pub result_digest: Option<String>,
    /// One per checker, in policy order.
    pub results: Vec<ManifestResult>,
}

/// One checker's outcome in a [`ManifestRun`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManifestResult {
    /// The checker's name.
    pub checker: String,
    /// Its component digest.
    pub checker_digest: String,
    /// `passed`, `warning`, `failed` or `errored`.
    pub status: MemberStatus,
    /// The severity the policy gives it.
    pub severity: String,
    /// Whether its failure blocks review.
    pub blocks_review: bool,
}

/// The metadata-only manifest of what the reviewer of `lease` is shown.
pub async fn manifest(conn: &mut PgConnection, lease: &Lease) -> Result<Manifest, CommandError> {
    let submission = sqlx::query_as!(
        ManifestSubmission,
        "SELECT s.id AS submission_id, s.version, s.archive_sha256, s.manifest_digest, \
           s.locked_guide_id AS guide_id, s.locked_guide_version AS guide_version, \
           s.locked_policy_bundle_hash AS policy_bundle_hash, \
           s.locked_checker_policy_hash AS checker_policy_hash, \
           s.locked_review_policy_hash AS review_policy_hash, \
           s.locked_revision_policy_hash AS revision_policy_hash, \
           s.contribution_policy_version_id, s.revision_context_preparation_id, \
           s.remediation_source_checker_run_id \
         FROM submissions s WHERE s.id = $1",
        lease.submission_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let run = admitting_run(conn, lease).await?;
    let prior_finding_ids: Vec<Uuid> = prior_findings(conn, lease.task_id)
        .await?
        .into_iter()
        .map(|f| f.id)
        .collect();
    Ok(Manifest {
        schema: "workstream.review_packet_manifest.v1",
        lease_id: lease.id,
        task_id: lease.task_id,
        submission,
        admitting_checker_run: ManifestRun {
            id: run.id,
            result_digest: run.result_digest,
            results: run
                .results
                .into_iter()
                .map(|m| ManifestResult {
                    checker: m.checker,
                    checker_digest: m.checker_digest,
                    status: m.status,
                    severity: m.severity,
                    blocks_review: m.blocks_review,
                })
                .collect(),
        },
        files: files(conn, lease.submission_id).await?,
        prior_finding_ids,
    })
}

/// The submission `submission_id` as a reviewer reads it.
pub(crate) async fn packet_submission(
    conn: &mut PgConnection,
    submission_id: Uuid,
) -> Result<PacketSubmission, CommandError> {
    Ok(sqlx::query_as!(
        PacketSubmission,
        "SELECT id, version, summary, contributor_attestation AS attestation, archive_sha256, \
           archive_byte_count, manifest_digest, submitted_at, supersedes_submission_id, \
           revision_context_preparation_id, remediation_source_checker_run_id \
         FROM submissions WHERE id = $1",
        submission_id,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The guide submission `submission_id` is held to.
pub(crate) async fn locked_guide(
    conn: &mut PgConnection,
    submission_id: Uuid,
) -> Result<PacketGuide, CommandError> {
    Ok(sqlx::query_as!(
        PacketGuide,
        "SELECT g.id, g.version, g.activation_sequence, g.content_markdown, g.policy_bundle, \
           g.policy_bundle_hash \
         FROM submissions s JOIN project_guides g ON g.id = s.locked_guide_id WHERE s.id = $1",
        submission_id,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The files of submission `submission_id`, each with the checker findings at its path,
/// and the findings about the packet as a whole.
pub(crate) async fn annotated_files(
    conn: &mut PgConnection,
    submission_id: Uuid,
) -> Result<(Vec<PacketFile>, Vec<CheckerFinding>), CommandError> {
    let checker_findings = findings::of_submission(conn, submission_id).await?;
    let files = files(conn, submission_id)
        .await?
        .into_iter()
        .map(|file| PacketFile {
            checker_findings: checker_findings
                .iter()
                .filter(|f| f.path.as_deref() == Some(file.path.as_str()))
                .cloned()
                .collect(),
            path: file.path,
            byte_count: file.byte_count,
            sha256: file.sha256,
            executable: file.executable,
        })
        .collect();
    let packet_findings = checker_findings
        .into_iter()
        .filter(|f| f.path.is_none())
        .collect();
    Ok((files, packet_findings))
}

/// The review packet of the caller's active lease `lease_id` (see the module docs).
pub async fn view(
    conn: &mut PgConnection,
    requester: &Requester,
    lease_id: Uuid,
) -> Result<ReviewPacket, CommandError> {
    let lease = held_lease(conn, requester, lease_id).await?;
    let task = sqlx::query_as!(
        PacketTask,
        r#"SELECT id, project_id, title, description, task_type, difficulty, skill_tags,
             acceptance_criteria, rejection_criteria, status AS "status: _"
           FROM tasks WHERE id = $1"#,
        lease.task_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let submission = packet_submission(conn, lease.submission_id).await?;
    let guide = locked_guide(conn, lease.submission_id).await?;
    let (files, packet_findings) = annotated_files(conn, lease.submission_id).await?;
    let prior = prior_findings(conn, lease.task_id).await?;
    let required_resolutions: Vec<Uuid> = prior
        .iter()
        .filter(|f| f.kind == FindingKind::Blocking && f.status == FindingStatus::Open)
        .map(|f| f.id)
        .collect();
    let checker_run = admitting_run(conn, &lease).await?;
    Ok(ReviewPacket {
        checker_run,
        checker_finding_changes: findings::changes_since_predecessor(conn, lease.submission_id)
            .await?,
        lease,
        task,
        submission,
        files,
        packet_findings,
        guide,
        prior_findings: prior,
        required_resolutions,
    })
}

/// Which version of the packet a file read is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketVersion {
    /// The submission under review.
    Reviewed,
    /// The version it revises (for the reviewer's diff): none for a first version.
    Previous,
}

/// Where one packet file is stored and what it must hash to.
#[derive(Debug, Clone)]
pub struct FileIdentity {
    /// The submission the file belongs to.
    pub submission_id: Uuid,
    /// The archive's object key.
    pub archive_key: String,
    /// The archive's sha256.
    pub archive_sha256: String,
    /// The file's sha256, as submitted.
    pub sha256: String,
    /// The file's size.
    pub byte_count: i64,
    /// The artifact policy the packet was admitted under (its locked guide's), which
    /// reading the archive back is held to.
    pub artifact_policy: Value,
}

/// The stored identity of one packet file the caller may read through `lease_id`, in
/// the reviewed version or the one it revises. The concealed 404 for a lease the caller
/// does not hold, a path not in that version, or no previous version.
pub async fn file_identity(
    conn: &mut PgConnection,
    requester: &Requester,
    lease_id: Uuid,
    path: &str,
    version: PacketVersion,
) -> Result<FileIdentity, CommandError> {
    let lease = held_lease(conn, requester, lease_id).await?;
    let submission = match version {
        PacketVersion::Reviewed => Some(lease.submission_id),
        PacketVersion::Previous => {
            sqlx::query_scalar!(
                "SELECT supersedes_submission_id FROM submissions WHERE id = $1",
                lease.submission_id,
            )
            .fetch_one(&mut *conn)
            .await?
        }
    }
    .ok_or_else(CommandError::not_found)?;
    stored_file(conn, submission, path).await
}

/// The stored identity of file `path` of submission `submission` (the concealed 404 for
/// a path the packet does not hold).
pub(crate) async fn stored_file(
    conn: &mut PgConnection,
    submission: Uuid,
    path: &str,
) -> Result<FileIdentity, CommandError> {
    let row = sqlx::query!(
        r#"SELECT s.archive_object_key, s.archive_sha256, f.sha256, f.byte_count,
             coalesce(g.policy_bundle -> 'artifact_policy', '{}'::jsonb) AS "artifact_policy!"
           FROM packet_files f JOIN submissions s ON s.id = f.submission_id
           JOIN project_guides g ON g.id = s.locked_guide_id
           WHERE f.submission_id = $1 AND f.path = $2"#,
        submission,
        path,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or_else(CommandError::not_found)?;
    let Some(archive_key) = row.archive_object_key else {
        return Err(CommandError::new(
            ErrorCode::MaterialUnavailable,
            "the packet's archive is not stored",
        ));
    };
    Ok(FileIdentity {
        submission_id: submission,
        archive_key,
        archive_sha256: row.archive_sha256,
        sha256: row.sha256,
        byte_count: row.byte_count,
        artifact_policy: row.artifact_policy,
    })
}
