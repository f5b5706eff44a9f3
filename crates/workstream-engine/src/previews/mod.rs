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
//! * Reads: [`find`] (a preview with every result: a [`PreviewReport`]), [`list`] (a
//!   guide's previews), [`latest_completed`] (what activation shows and records).
//! * [`summarize`] folds result rows into a [`PreviewSummary`] (pure).
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

#[cfg(feature = "checkers")]
pub mod run;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::gate::MemberStatus;
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

/// A policy preview, as stored and shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Preview {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The draft guide previewed.
    pub guide_id: Uuid,
    /// The draft's bundle (as submitted) when the preview started; the guide's own hash
    /// differs once the draft is edited.
    pub policy_bundle_hash: String,
    /// The draft's effective artifact policy (intake limits applied to each packet).
    pub artifact_policy_hash: String,
    /// The draft's effective checker policy, every checker pinned.
    pub checker_policy_hash: String,
    /// How many submissions were asked for.
    pub submission_limit: i32,
    /// How many were chosen (the project's most recent with a final run, at most the
    /// limit).
    pub submission_count: i32,
    /// Results recorded so far (equals `submission_count` once completed).
    pub results_recorded: i64,
    /// queued, running, completed, failed.
    pub status: PreviewStatus,
    /// The totals, once completed.
    pub summary: Option<PreviewSummary>,
    /// Why it failed.
    pub failure_detail: Option<String>,
    /// The manager who started it.
    pub requested_by: Uuid,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When its first job started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed or failed.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A preview with the policy it ran and every result, most recent submission first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewReport {
    /// The preview.
    pub preview: Preview,
    /// The effective checker policy previewed (defaults merged, digests pinned).
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub checker_policy: Value,
    /// One per submission checked so far.
    pub results: Vec<PreviewResult>,
}

/// What one stored submission met, and would meet under the draft.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewResult {
    /// The submission.
    pub submission_id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// Its version.
    pub submission_version: i32,
    /// Its current checker run when it was previewed.
    pub recorded_run_id: Uuid,
    /// That run's route.
    pub recorded_route: RoutingRecommendation,
    /// The draft's pre-submit route (none when no checker ran).
    pub draft_pre_route: Option<RoutingRecommendation>,
    /// The draft's post-submit route (none when no checker ran).
    pub draft_post_route: Option<RoutingRecommendation>,
    /// What the packet would have met: the pre-submit route when it is not
    /// `allow_review`, else the post-submit route; or `intake_refused` /
    /// `material_unavailable` when no checker could run.
    pub draft_route: PreviewRoute,
    /// Whether `draft_route` differs from `recorded_route`.
    pub route_changed: bool,
    /// The intake code (`intake_refused`) or `material_unavailable`.
    pub draft_code: Option<String>,
    /// What went wrong reading or refusing the packet, for operators.
    pub draft_detail: Option<String>,
    /// Each checker of the draft (policy order), then each recorded one the draft drops.
    pub members: Vec<PreviewMember>,
    /// Post-submit findings of the draft the recorded run lacks (none when no draft
    /// checker ran).
    pub findings_appeared: Vec<CheckerFinding>,
    /// Findings of the recorded run the draft's post-submit phase lacks (none when no
    /// draft checker ran).
    pub findings_disappeared: Vec<CheckerFinding>,
    /// Draft members taken from identical recorded results.
    pub reused_results: i32,
    /// Draft members run in the sandbox.
    pub checked_results: i32,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// One checker's status in each phase, recorded and under the draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreviewMember {
    /// The checker's name.
    pub checker: String,
    /// Its status in the admission's pre-submit report (none: it did not run then).
    pub recorded_pre: Option<MemberStatus>,
    /// Its status in the recorded current run (none: it did not run then).
    pub recorded_post: Option<MemberStatus>,
    /// Its status in the draft's pre-submit phase (none: not in that phase, or no
    /// checker ran).
    pub draft_pre: Option<MemberStatus>,
    /// Its status in the draft's post-submit phase.
    pub draft_post: Option<MemberStatus>,
    /// Whether it newly fails or newly passes (see the module docs).
    pub change: Option<MemberChange>,
}

/// How a checker's verdict on a packet changes under the draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberChange {
    /// Fails under the draft (`failed` or `errored` in either phase), did not before.
    NewlyFailing,
    /// Failed before, does not under the draft.
    NewlyPassing,
}

/// A preview's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreviewSummary {
    /// Submissions previewed.
    pub submissions: u32,
    /// Of those, checked in both phases.
    pub checked: u32,
    /// Refused by the draft's artifact limits at intake.
    pub intake_refused: u32,
    /// Whose stored bytes could not be read.
    pub material_unavailable: u32,
    /// Whose route under the draft differs from the recorded one.
    pub route_changed: u32,
    /// Each pair of (recorded route, draft route) that differs, with its submissions.
    pub route_flips: Vec<RouteFlip>,
    /// Per checker (draft policy order, then the ones it drops), the submissions it
    /// newly fails and newly passes.
    pub checkers: Vec<CheckerChanges>,
    /// Findings that appear under the draft, over all submissions.
    pub findings_appeared: u32,
    /// Findings that disappear under the draft.
    pub findings_disappeared: u32,
    /// Draft members taken from identical recorded results.
    pub reused_results: u32,
    /// Draft members run in the sandbox.
    pub checked_results: u32,
}

/// Submissions whose route moves from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteFlip {
    /// The recorded route.
    pub from: RoutingRecommendation,
    /// The route under the draft.
    pub to: PreviewRoute,
    /// How many.
    pub count: u32,
    /// Which.
    pub submission_ids: Vec<Uuid>,
}

/// One checker's changes over the previewed submissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckerChanges {
    /// The checker.
    pub checker: String,
    /// How many submissions it newly fails.
    pub newly_failing: u32,
    /// How many it newly passes.
    pub newly_passing: u32,
    /// Which it newly fails.
    pub newly_failing_submissions: Vec<Uuid>,
    /// Which it newly passes.
    pub newly_passing_submissions: Vec<Uuid>,
}

/// Whether a member status counts as failing (see the module docs).
pub fn fails(status: Option<MemberStatus>) -> bool {
    matches!(status, Some(MemberStatus::Failed | MemberStatus::Errored))
}

impl PreviewMember {
    /// The member's change from its four statuses (none when no draft checker ran:
    /// `checked` is false for a refused or unreadable packet).
    pub fn judged(mut self, checked: bool) -> PreviewMember {
        let before = fails(self.recorded_pre) || fails(self.recorded_post);
        let after = fails(self.draft_pre) || fails(self.draft_post);
        self.change = match (checked, before, after) {
            (true, false, true) => Some(MemberChange::NewlyFailing),
            (true, true, false) => Some(MemberChange::NewlyPassing),
            _ => None,
        };
        self
    }
}

/// Each checker's four statuses and change: the draft's checkers in policy order
/// (`draft_checkers`), then the recorded ones the draft drops (post-submit run order,
/// then the pre-submit report's). A status is looked up by checker name (names are
/// unique in an effective policy); `checked` is false when no draft checker ran.
pub fn compare_members(
    draft_checkers: &[String],
    recorded_pre: &[(String, MemberStatus)],
    recorded_post: &[(String, MemberStatus)],
    draft_pre: &[(String, MemberStatus)],
    draft_post: &[(String, MemberStatus)],
    checked: bool,
) -> Vec<PreviewMember> {
    let status = |list: &[(String, MemberStatus)], name: &str| {
        list.iter()
            .find(|(checker, _)| checker == name)
            .map(|(_, status)| *status)
    };
    let mut order: Vec<&String> = draft_checkers.iter().collect();
    for (name, _) in recorded_post.iter().chain(recorded_pre) {
        if !order.contains(&name) {
            order.push(name);
        }
    }
    order
        .into_iter()
        .map(|checker| {
            PreviewMember {
                checker: checker.clone(),
                recorded_pre: status(recorded_pre, checker),
                recorded_post: status(recorded_post, checker),
                draft_pre: status(draft_pre, checker),
                draft_post: status(draft_post, checker),
                change: None,
            }
            .judged(checked)
        })
        .collect()
}

/// Folds results into their totals: counts, the route flips by pair (in token order),
/// and each checker's newly failing and newly passing submissions (in the order the
/// checkers first appear in the results).
pub fn summarize(results: &[PreviewResult]) -> PreviewSummary {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut summary = PreviewSummary {
        submissions: count(results.len()),
        ..PreviewSummary::default()
    };
    let mut flips: BTreeMap<(&str, &str), RouteFlip> = BTreeMap::new();
    let mut checkers: Vec<CheckerChanges> = Vec::new();
    for result in results {
        match result.draft_route {
            PreviewRoute::IntakeRefused => summary.intake_refused += 1,
            PreviewRoute::MaterialUnavailable => summary.material_unavailable += 1,
            _ => summary.checked += 1,
        }
        if result.route_changed {
            summary.route_changed += 1;
            let flip = flips
                .entry((result.recorded_route.as_str(), result.draft_route.as_str()))
                .or_insert_with(|| RouteFlip {
                    from: result.recorded_route,
                    to: result.draft_route,
                    count: 0,
                    submission_ids: Vec::new(),
                });
            flip.count += 1;
            flip.submission_ids.push(result.submission_id);
        }
        for member in &result.members {
            let at = match checkers.iter().position(|c| c.checker == member.checker) {
                Some(at) => at,
                None => {
                    checkers.push(CheckerChanges {
                        checker: member.checker.clone(),
                        newly_failing: 0,
                        newly_passing: 0,
                        newly_failing_submissions: Vec::new(),
                        newly_passing_submissions: Vec::new(),
                    });
                    checkers.len() - 1
                }
            };
            let changes = &mut checkers[at];
            match member.change {
                Some(MemberChange::NewlyFailing) => {
                    changes.newly_failing += 1;
                    changes.newly_failing_submissions.push(result.submission_id);
                }
                Some(MemberChange::NewlyPassing) => {
                    changes.newly_passing += 1;
                    changes.newly_passing_submissions.push(result.submission_id);
                }
                None => {}
            }
        }
        summary.findings_appeared += count(result.findings_appeared.len());
        summary.findings_disappeared += count(result.findings_disappeared.len());
        summary.reused_results += u32::try_from(result.reused_results).unwrap_or(0);
        summary.checked_results += u32::try_from(result.checked_results).unwrap_or(0);
    }
    summary.route_flips = flips.into_values().collect();
    summary.checkers = checkers;
    summary
}

/// A stored preview row, before its summary is read.
struct PreviewRow {
    id: Uuid,
    project_id: Uuid,
    guide_id: Uuid,
    policy_bundle_hash: String,
    artifact_policy_hash: String,
    checker_policy_hash: String,
    submission_limit: i32,
    submission_count: i32,
    results_recorded: i64,
    status: PreviewStatus,
    summary: Option<Value>,
    failure_detail: Option<String>,
    requested_by: Uuid,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl PreviewRow {
    fn into_preview(self) -> Result<Preview, CommandError> {
        let summary = self
            .summary
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| CommandError::internal(format!("a stored preview summary: {e}")))?;
        Ok(Preview {
            id: self.id,
            project_id: self.project_id,
            guide_id: self.guide_id,
            policy_bundle_hash: self.policy_bundle_hash,
            artifact_policy_hash: self.artifact_policy_hash,
            checker_policy_hash: self.checker_policy_hash,
            submission_limit: self.submission_limit,
            submission_count: self.submission_count,
            results_recorded: self.results_recorded,
            status: self.status,
            summary,
            failure_detail: self.failure_detail,
            requested_by: self.requested_by,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

/// `sqlx::query_as!` of [`PreviewRow`]s of `policy_previews p`: `$before` the columns
/// `$after`.
macro_rules! preview_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            PreviewRow,
            $before + r#" p.id, p.project_id, p.guide_id, p.policy_bundle_hash,
              p.artifact_policy_hash, p.checker_policy_hash, p.submission_limit,
              cardinality(p.submission_ids) AS "submission_count!",
              (SELECT count(*) FROM policy_preview_results r WHERE r.preview_id = p.id)
                AS "results_recorded!",
              p.status AS "status: PreviewStatus", p.summary, p.failure_detail, p.requested_by,
              p.created_at, p.started_at, p.finished_at "# + $after
            $(, $arg)*
        )
    };
}

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

/// A preview of the guide `guide_id` of `project_id` with its policy and every result
/// (most recent submission first); `None` when there is no such preview.
pub async fn find(
    conn: &mut PgConnection,
    project_id: Uuid,
    guide_id: Uuid,
    preview_id: Uuid,
) -> Result<Option<PreviewReport>, CommandError> {
    let Some(row) = preview_query!(
        "SELECT",
        "FROM policy_previews p WHERE p.id = $1 AND p.project_id = $2 AND p.guide_id = $3",
        preview_id,
        project_id,
        guide_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let checker_policy = sqlx::query_scalar!(
        "SELECT checker_policy FROM policy_previews WHERE id = $1",
        preview_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(PreviewReport {
        preview: row.into_preview()?,
        checker_policy,
        results: results_of(conn, preview_id).await?,
    }))
}

/// A page of the previews of guide `guide_id` of `project_id`, ordered by id (oldest
/// first), after `after`.
pub async fn list(
    conn: &mut PgConnection,
    project_id: Uuid,
    guide_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Preview>, CommandError> {
    preview_query!(
        "SELECT",
        "FROM policy_previews p WHERE p.project_id = $1 AND p.guide_id = $2 \
         AND ($3::uuid IS NULL OR p.id > $3) ORDER BY p.id LIMIT $4",
        project_id,
        guide_id,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(PreviewRow::into_preview)
    .collect()
}

/// The guide's most recently started preview that completed, if any: what activation
/// shows and records.
pub async fn latest_completed(
    conn: &mut PgConnection,
    guide_id: Uuid,
) -> Result<Option<Preview>, CommandError> {
    preview_query!(
        "SELECT",
        "FROM policy_previews p WHERE p.guide_id = $1 AND p.status = $2 \
         ORDER BY p.created_at DESC, p.id DESC LIMIT 1",
        guide_id,
        PreviewStatus::Completed.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(PreviewRow::into_preview)
    .transpose()
}

/// A stored result row, before its JSON columns are read.
struct ResultRow {
    submission_id: Uuid,
    task_id: Uuid,
    submission_version: i32,
    recorded_run_id: Uuid,
    recorded_route: RoutingRecommendation,
    draft_pre_route: Option<RoutingRecommendation>,
    draft_post_route: Option<RoutingRecommendation>,
    draft_route: PreviewRoute,
    draft_code: Option<String>,
    draft_detail: Option<String>,
    members: Value,
    findings_appeared: Value,
    findings_disappeared: Value,
    reused_results: i32,
    checked_results: i32,
    created_at: DateTime<Utc>,
}

/// The results of a preview, in the order its submissions were chosen.
async fn results_of(
    conn: &mut PgConnection,
    preview_id: Uuid,
) -> Result<Vec<PreviewResult>, CommandError> {
    let rows = sqlx::query_as!(
        ResultRow,
        r#"SELECT r.submission_id, r.task_id, r.submission_version, r.recorded_run_id,
                  r.recorded_route AS "recorded_route: _",
                  r.draft_pre_route AS "draft_pre_route: _",
                  r.draft_post_route AS "draft_post_route: _",
                  r.draft_route AS "draft_route: _", r.draft_code, r.draft_detail, r.members,
                  r.findings_appeared, r.findings_disappeared, r.reused_results,
                  r.checked_results, r.created_at
           FROM policy_preview_results r JOIN policy_previews p ON p.id = r.preview_id
           WHERE r.preview_id = $1
           ORDER BY array_position(p.submission_ids, r.submission_id)"#,
        preview_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    fn read<T: serde::de::DeserializeOwned>(what: &str, value: Value) -> Result<T, CommandError> {
        serde_json::from_value(value)
            .map_err(|e| CommandError::internal(format!("a stored preview {what}: {e}")))
    }
    rows.into_iter()
        .map(|row| {
            Ok(PreviewResult {
                route_changed: PreviewRoute::from(row.recorded_route) != row.draft_route,
                submission_id: row.submission_id,
                task_id: row.task_id,
                submission_version: row.submission_version,
                recorded_run_id: row.recorded_run_id,
                recorded_route: row.recorded_route,
                draft_pre_route: row.draft_pre_route,
                draft_post_route: row.draft_post_route,
                draft_route: row.draft_route,
                draft_code: row.draft_code,
                draft_detail: row.draft_detail,
                members: read("members", row.members)?,
                findings_appeared: read("finding", row.findings_appeared)?,
                findings_disappeared: read("finding", row.findings_disappeared)?,
                reused_results: row.reused_results,
                checked_results: row.checked_results,
                created_at: row.created_at,
            })
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use MemberStatus::*;

    fn named(list: &[(&str, MemberStatus)]) -> Vec<(String, MemberStatus)> {
        list.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
    }

    #[test]
    fn a_checker_newly_fails_or_passes_by_either_phase_and_an_absent_one_does_not_fail() {
        let draft = vec!["required-files".to_owned(), "size-limits".to_owned()];
        let members = compare_members(
            &draft,
            &named(&[("required-files", Passed), ("old-check", Passed)]),
            &named(&[("required-files", Failed), ("old-check", Errored)]),
            &named(&[("required-files", Passed), ("size-limits", Passed)]),
            &named(&[("required-files", Passed), ("size-limits", Failed)]),
            true,
        );
        let changes: Vec<_> = members
            .iter()
            .map(|m| (m.checker.as_str(), m.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("required-files", Some(MemberChange::NewlyPassing)),
                ("size-limits", Some(MemberChange::NewlyFailing)),
                ("old-check", Some(MemberChange::NewlyPassing)),
            ]
        );
        assert_eq!(members[1].recorded_post, None);
        assert_eq!(members[2].draft_post, None);

        // Nothing ran under the draft (a refused packet): no change is claimed.
        let unchecked = compare_members(
            &draft,
            &[],
            &named(&[("required-files", Failed)]),
            &[],
            &[],
            false,
        );
        assert!(unchecked.iter().all(|m| m.change.is_none()));
    }

    fn result(
        route: RoutingRecommendation,
        draft: PreviewRoute,
        change: Option<MemberChange>,
    ) -> PreviewResult {
        PreviewResult {
            submission_id: Uuid::now_v7(),
            task_id: Uuid::now_v7(),
            submission_version: 1,
            recorded_run_id: Uuid::now_v7(),
            recorded_route: route,
            draft_pre_route: None,
            draft_post_route: None,
            draft_route: draft,
            route_changed: PreviewRoute::from(route) != draft,
            draft_code: None,
            draft_detail: None,
            members: vec![PreviewMember {
                checker: "size-limits".into(),
                recorded_pre: None,
                recorded_post: None,
                draft_pre: None,
                draft_post: None,
                change,
            }],
            findings_appeared: Vec::new(),
            findings_disappeared: Vec::new(),
            reused_results: 2,
            checked_results: 3,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_summary_counts_flips_by_pair_and_each_checkers_submissions() {
        use PreviewRoute as P;
        use RoutingRecommendation as R;
        let results = [
            result(
                R::AllowReview,
                P::NeedsRevision,
                Some(MemberChange::NewlyFailing),
            ),
            result(R::AllowReview, P::AllowReview, None),
            result(
                R::AllowReview,
                P::NeedsRevision,
                Some(MemberChange::NewlyFailing),
            ),
            result(R::NeedsRevision, P::IntakeRefused, None),
        ];
        let summary = summarize(&results);
        assert_eq!(
            (
                summary.submissions,
                summary.checked,
                summary.intake_refused,
                summary.route_changed
            ),
            (4, 3, 1, 3)
        );
        assert_eq!(summary.route_flips.len(), 2);
        assert_eq!(
            (
                summary.route_flips[0].from,
                summary.route_flips[0].to,
                summary.route_flips[0].count
            ),
            (R::AllowReview, P::NeedsRevision, 2)
        );
        assert_eq!(
            summary.route_flips[0].submission_ids,
            [results[0].submission_id, results[2].submission_id]
        );
        assert_eq!(summary.checkers.len(), 1);
        assert_eq!(
            (
                summary.checkers[0].newly_failing,
                summary.checkers[0].newly_passing
            ),
            (2, 0)
        );
        assert_eq!((summary.reused_results, summary.checked_results), (8, 12));
        // What is stored reads back as it was.
        let stored = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            serde_json::from_value::<PreviewSummary>(stored).unwrap(),
            summary
        );
    }
}
