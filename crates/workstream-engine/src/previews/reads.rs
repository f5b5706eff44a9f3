//! Reading previews back: one with every result ([`find`]), a guide's previews
//! ([`list`]), and the latest completed one of a guide ([`latest_completed`], what
//! activation shows and records, `crate::guides::activate`). The row type and its
//! column list are shared with the commands of the parent module.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::machines::checker_run::RoutingRecommendation;
use workstream_domain::machines::preview::{PreviewRoute, PreviewStatus};

use super::report::{Preview, PreviewReport, PreviewResult};
use crate::CommandError;

/// A stored preview row, before its summary is read.
pub(super) struct PreviewRow {
    pub(super) id: Uuid,
    pub(super) project_id: Uuid,
    pub(super) guide_id: Uuid,
    pub(super) policy_bundle_hash: String,
    pub(super) artifact_policy_hash: String,
    pub(super) checker_policy_hash: String,
    pub(super) submission_limit: i32,
    pub(super) submission_count: i32,
    pub(super) results_recorded: i64,
    pub(super) status: PreviewStatus,
    pub(super) summary: Option<Value>,
    pub(super) failure_detail: Option<String>,
    pub(super) requested_by: Uuid,
    pub(super) created_at: DateTime<Utc>,
    pub(super) started_at: Option<DateTime<Utc>>,
    pub(super) finished_at: Option<DateTime<Utc>>,
}

impl PreviewRow {
    pub(super) fn into_preview(self) -> Result<Preview, CommandError> {
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
pub(super) use preview_query;

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
pub(super) async fn results_of(
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
