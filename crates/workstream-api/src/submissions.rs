//! Submission reads: a task's versions, and one submission by id.
//!
//! | method | path | who | answers |
//! |---|---|---|---|
//! | GET | `/tasks/{tid}/submissions` | the task's contributors (their own versions); a covering PM, operator or audit authority (every version) | 200 `{items}`, oldest version first |
//! | GET | `/submissions/{sid}` | the same | 200 the submission |
//!
//! Concealment is the contributor reads' (`GET /tasks/{tid}/checker-runs`): anyone else
//! meets the concealed 404, whether or not the task or submission exists. A contributor
//! sees what they sent and what became of it (version, status, summary, archive digest
//! and size, the packet's files, the version it supersedes, the current checker run's
//! route); oversight also sees who sent it, under which assignment, and the locks it
//! was stamped with (guide version and policy hashes, contribution terms).

use std::collections::HashMap;

use axum::extract::State;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::lifecycle::Actor;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};
use workstream_engine::submissions::{self, SubmissionRow};
use workstream_engine::tasks::access::Access;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Ids;
use crate::openapi::{ApiRoutes, Doc};

/// The submission routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const WHO: &str = "the task's contributors (their own versions); a covering project manager, operator or audit authority (every version, with who sent it and its locks); anyone else: the concealed 404";
    ApiRoutes::new("Packets")
        .get(
            "/tasks/{tid}/submissions",
            versions,
            Doc::new("The task's submitted versions, oldest first")
                .who(WHO)
                .ok("`{items}`: each `{id, task_id, version, status, summary, submitted_at, archive: {sha256, byte_count}, files, supersedes_submission_id, checker_run}`"),
        )
        .get(
            "/submissions/{sid}",
            one,
            Doc::new("One submission")
                .who(WHO)
                .ok("the submission, as an item of `GET /tasks/{tid}/submissions`"),
        )
}

/// What the caller may see of a task's submissions.
enum Sight {
    /// Every version, every field.
    Oversight,
    /// The caller's own versions, the contributor's fields.
    Contributor(Uuid),
}

impl Sight {
    async fn of(
        conn: &mut PgConnection,
        caller: &Caller,
        project_id: Uuid,
    ) -> Result<Sight, ApiError> {
        let access = Access::read(conn, caller.actor_id, project_id, false).await?;
        if access.grant_for(Actor::ProjectManager).is_some()
            || access.grant_for(Actor::Operator).is_some()
            || access.audit_grant().is_some()
        {
            return Ok(Sight::Oversight);
        }
        if access.grant_for(Actor::Submitter).is_some() {
            return Ok(Sight::Contributor(caller.actor_id));
        }
        Err(ApiError::not_found())
    }

    fn sees(&self, row: &SubmissionRow) -> bool {
        match self {
            Sight::Oversight => true,
            Sight::Contributor(actor) => row.contributor_id == *actor,
        }
    }
}

/// `GET /tasks/{tid}/submissions`.
async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<Versions>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let task = workstream_store::tasks::find(&mut conn, task_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let sight = Sight::of(&mut conn, &caller, task.project_id).await?;
    let rows = submissions::of_task(&mut conn, task_id).await?;
    let rows: Vec<SubmissionRow> = rows.into_iter().filter(|r| sight.sees(r)).collect();
    // A contributor who never submitted to this task learns nothing about it.
    if rows.is_empty() && matches!(sight, Sight::Contributor(_)) {
        return Err(ApiError::not_found());
    }
    let files = files_of(&mut conn, &rows).await?;
    Ok(axum::Json(Versions {
        items: rows.iter().map(|r| view(r, &sight, &files)).collect(),
    }))
}

/// `GET /submissions/{sid}`.
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Ids(submission_id): Ids<Uuid>,
) -> Result<axum::Json<SubmissionView>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let row = submissions::find(&mut conn, submission_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let sight = Sight::of(&mut conn, &caller, row.project_id).await?;
    if !sight.sees(&row) {
        return Err(ApiError::not_found());
    }
    let files = files_of(&mut conn, std::slice::from_ref(&row)).await?;
    Ok(axum::Json(view(&row, &sight, &files)))
}

/// The packet files of `rows`, by submission, in path order.
async fn files_of(
    conn: &mut PgConnection,
    rows: &[SubmissionRow],
) -> Result<HashMap<Uuid, Vec<SubmittedFile>>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let files = submissions::files(conn, &ids).await?;
    let mut by_submission: HashMap<Uuid, Vec<SubmittedFile>> = HashMap::new();
    for f in files {
        by_submission
            .entry(f.submission_id)
            .or_default()
            .push(SubmittedFile {
                path: f.path,
                byte_count: f.byte_count,
                sha256: f.sha256,
                media_type: f.media_type,
            });
    }
    Ok(by_submission)
}

/// A task's submitted versions, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Versions {
    items: Vec<SubmissionView>,
}

/// One submitted version as the caller may see it: contributors see their own work;
/// managers, operators and auditors also see the owner, the digests and the locks.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SubmissionView {
    id: Uuid,
    task_id: Uuid,
    version: i32,
    /// `submitted`, `superseded`, ...
    status: String,
    summary: String,
    submitted_at: DateTime<Utc>,
    archive: ArchiveFacts,
    files: Vec<SubmittedFile>,
    supersedes_submission_id: Option<Uuid>,
    /// The current evaluation, once one started.
    checker_run: Option<RunBrief>,
    /// The following are for oversight only.
    #[serde(skip_serializing_if = "Option::is_none")]
    contributor_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_assignment_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locks: Option<SubmissionLocks>,
}

/// The archive as stored.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ArchiveFacts {
    sha256: String,
    byte_count: i64,
}

/// A file of a packet.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubmittedFile {
    path: String,
    byte_count: i64,
    sha256: String,
    media_type: Option<String>,
}

/// A version's current checker run in brief.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunBrief {
    id: Uuid,
    status: Option<CheckerRunStatus>,
    /// For a contributor, an internal route (a retry, a setup defect) is
    /// `not_evaluated`.
    route: Option<RoutingRecommendation>,
}

/// What a version was held to when it was submitted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SubmissionLocks {
    guide_version: String,
    policy_bundle_hash: String,
    checker_policy_hash: String,
    review_policy_hash: String,
    contribution_policy_version_id: Uuid,
}

/// One submission as `sight` sees it.
fn view(
    row: &SubmissionRow,
    sight: &Sight,
    files: &HashMap<Uuid, Vec<SubmittedFile>>,
) -> SubmissionView {
    // A contributor learns a route only when it is theirs to act on; an internal one (a
    // retry, a setup defect) reads as `not_evaluated`, as in the checker runs read.
    let route = match (sight, row.run_route) {
        (Sight::Oversight, route) => route,
        (Sight::Contributor(_), Some(route)) if route.contributor_visible() => Some(route),
        (Sight::Contributor(_), Some(_)) => Some(RoutingRecommendation::NotEvaluated),
        (Sight::Contributor(_), None) => None,
    };
    let oversight = matches!(sight, Sight::Oversight);
    SubmissionView {
        id: row.id,
        task_id: row.task_id,
        version: row.version,
        status: row.status.clone(),
        summary: row.summary.clone(),
        submitted_at: row.submitted_at,
        archive: ArchiveFacts {
            sha256: row.archive_sha256.clone(),
            byte_count: row.archive_byte_count,
        },
        files: files.get(&row.id).cloned().unwrap_or_default(),
        supersedes_submission_id: row.supersedes_submission_id,
        checker_run: row.run_id.map(|id| RunBrief {
            id,
            status: row.run_status,
            route,
        }),
        contributor_id: oversight.then_some(row.contributor_id),
        task_assignment_id: oversight.then_some(row.task_assignment_id),
        manifest_digest: oversight.then(|| row.manifest_digest.clone()),
        locks: oversight.then(|| SubmissionLocks {
            guide_version: row.locked_guide_version.clone(),
            policy_bundle_hash: row.locked_policy_bundle_hash.clone(),
            checker_policy_hash: row.locked_checker_policy_hash.clone(),
            review_policy_hash: row.locked_review_policy_hash.clone(),
            contribution_policy_version_id: row.contribution_policy_version_id,
        }),
    }
}
