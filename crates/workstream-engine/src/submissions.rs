//! Reading submitted versions: a submission with its current checker run, and its
//! packet's files. Who may see which version (and which fields) is the caller's to
//! decide; these reads return the stored rows.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};

use crate::CommandError;

/// A submission with its current checker run in brief, as the reads show it.
#[derive(Debug, Clone)]
pub struct SubmissionRow {
    /// The submission.
    pub id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// The assignment it was made under.
    pub task_assignment_id: Uuid,
    /// Who submitted it.
    pub contributor_id: Uuid,
    /// Its version (1, 2, ... per task).
    pub version: i32,
    /// `submitted`, `superseded`, ...
    pub status: String,
    /// The contributor's summary.
    pub summary: String,
    /// The archive's SHA-256.
    pub archive_sha256: String,
    /// The archive's size.
    pub archive_byte_count: i64,
    /// The digest of its file manifest.
    pub manifest_digest: String,
    /// The guide version it was checked under.
    pub locked_guide_version: String,
    /// The policy bundle it was checked under.
    pub locked_policy_bundle_hash: String,
    /// The checker policy it was checked under.
    pub locked_checker_policy_hash: String,
    /// The review policy it is reviewed under.
    pub locked_review_policy_hash: String,
    /// The contribution terms it earns under.
    pub contribution_policy_version_id: Uuid,
    /// The version it revises.
    pub supersedes_submission_id: Option<Uuid>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// Its current checker run, once one started.
    pub run_id: Option<Uuid>,
    /// That run's status.
    pub run_status: Option<CheckerRunStatus>,
    /// That run's routing recommendation.
    pub run_route: Option<RoutingRecommendation>,
}

/// A file of a packet.
#[derive(Debug, Clone)]
pub struct PacketFile {
    /// The submission it belongs to.
    pub submission_id: Uuid,
    /// Its path in the packet.
    pub path: String,
    /// Its size.
    pub byte_count: i64,
    /// Its SHA-256.
    pub sha256: String,
    /// Its media type, when known.
    pub media_type: Option<String>,
}

/// `sqlx::query_as!` of [`SubmissionRow`]s: the submissions `s` with their current run
/// `r`, `$condition` after `WHERE`.
macro_rules! submission_query {
    ($condition:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            SubmissionRow,
            r#"SELECT s.id, s.project_id, s.task_id, s.task_assignment_id, s.contributor_id,
                      s.version, s.status, s.summary, s.archive_sha256, s.archive_byte_count,
                      s.manifest_digest, s.locked_guide_version, s.locked_policy_bundle_hash,
                      s.locked_checker_policy_hash, s.locked_review_policy_hash,
                      s.contribution_policy_version_id, s.supersedes_submission_id, s.submitted_at,
                      r.id AS "run_id?", r.status AS "run_status?: _",
                      r.routing_recommendation AS "run_route?: _"
               FROM submissions s
               LEFT JOIN checker_runs r ON r.submission_id = s.id AND r.is_current_for_submission
               WHERE "# + $condition
            $(, $arg)*
        )
    };
}

/// A task's submissions, oldest version first.
pub async fn of_task(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Vec<SubmissionRow>, CommandError> {
    Ok(
        submission_query!("s.task_id = $1 ORDER BY s.version", task_id)
            .fetch_all(conn)
            .await?,
    )
}

/// One submission.
pub async fn find(
    conn: &mut PgConnection,
    submission_id: Uuid,
) -> Result<Option<SubmissionRow>, CommandError> {
    Ok(submission_query!("s.id = $1", submission_id)
        .fetch_optional(conn)
        .await?)
}

/// The packet files of `submissions`, ordered by submission and path.
pub async fn files(
    conn: &mut PgConnection,
    submissions: &[Uuid],
) -> Result<Vec<PacketFile>, CommandError> {
    Ok(sqlx::query_as!(
        PacketFile,
        "SELECT submission_id, path, byte_count, sha256, media_type FROM packet_files \
         WHERE submission_id = ANY($1) ORDER BY submission_id, path",
        submissions,
    )
    .fetch_all(conn)
    .await?)
}
