//! `/projects/{pid}/guides/{gid}/previews`: policy previews of a draft guide, what its
//! checker policy would do to the project's stored packets before it is activated.
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Every rule lives in `workstream_engine::previews` (its module docs say what runs and
//! what a flip is); these handlers check authority as the guide routes do
//! (`crate::guides`: a covering project manager starts one, the guides' readers read
//! them), run the start behind `Idempotency-Key` in one transaction, and shape the
//! answers. How many submissions a preview may check is the server's
//! `WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS` ([`crate::config::ApiConfig`]).
//!
//! Callers who can see the project but lack the action get 403 `permission_not_granted`;
//! others the concealed 404, and so does a preview or guide the project does not hold.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_engine::previews::{self, Preview, PreviewReport};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::lessons::may_read;
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::{Page, PageQuery, Paged, page_query};
use crate::projects::{is_manager, require};

/// The policy preview routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const PM: &str = "a project manager covering the project";
    const READERS: &str = "a covering project manager, an operator or a covering audit authority";
    ApiRoutes::new("Policy previews")
        .post(
            "/projects/{project_id}/guides/{guide_id}/previews",
            start,
            Doc::new("Start a policy preview: the draft guide's checker policy, both phases, over the project's most recent stored submissions")
                .who(PM)
                .optional_body::<StartPreview>()
                .answers(StatusCode::ACCEPTED, "the preview, `queued`: `{id, status, submission_limit, submission_count, checker_policy_hash, ...}`; poll `GET .../previews/{preview_id}` until `completed` or `failed`")
                .note("The draft's bundle is computed and pinned exactly as activation would (defaults merged, checkers pinned to registered digests), so a bundle activation would refuse is refused here with the same code and `details.errors`. `submissions` (optional) is how many of the project's most recent submissions with a final checker run to check: 1 up to the server's `WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS` (200 by default), which is also the default.")
                .note("The checks run as background jobs, behind live evaluations, in the sandbox. A preview writes its own records only: never a submission, a checker run or result, a task, a review queue entry or any task state.")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::PolicyPreviewNotDraft, ErrorCode::ProjectArchived])
                .refuses(&[ErrorCode::PolicyPreviewLimitInvalid, ErrorCode::PolicyPreviewNoSubmissions])
                .refuses(&[ErrorCode::PolicyBundleInvalid, ErrorCode::ReviewPolicyIncomplete, ErrorCode::RevisionPolicyIncomplete, ErrorCode::PlatformDefaultWeakened, ErrorCode::CheckerNotRegistered, ErrorCode::CheckerConfigurationInvalid]),
        )
        .get(
            "/projects/{project_id}/guides/{guide_id}/previews",
            list,
            Doc::new("List a guide's policy previews, oldest first")
                .who(READERS)
                .ok("`{items, next_cursor}`: each preview with its status, counts and, once completed, its `summary`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{project_id}/guides/{guide_id}/previews/{preview_id}",
            read,
            Doc::new("One policy preview's report: the policy it ran and every submission's result")
                .who(READERS)
                .ok("`{preview, checker_policy, results}`: `preview.summary` (once completed) has the totals, the route flips with their submissions, and per checker the submissions newly failing and newly passing; each result has the recorded and the draft's routes, each checker's status recorded and under the draft in both phases, and the findings that appear or disappear (by the revision view's fingerprints)")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
}

/// What to preview: how many of the project's most recent submissions.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PolicyPreviewStart")]
struct StartPreview {
    /// How many submissions (1 up to the server's maximum; default the maximum).
    #[serde(default)]
    #[schemars(range(min = 1))]
    submissions: Option<u32>,
}

/// Parses the optional body strictly: an empty one asks for the default.
fn start_body(bytes: &Bytes) -> Result<(StartPreview, Value), ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((StartPreview::default(), json!({})));
    }
    let invalid = |reason: String| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            "the request body is not valid for this route",
        )
        .with_details(json!({ "reason": reason }))
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let parsed = crate::extract::body(&value)?;
    Ok((parsed, value))
}

async fn start(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
    body: Bytes,
) -> Result<Answer<Preview>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let (body, value) = start_body(&body)?;
    let request = json!({
        "path": format!("/projects/{project_id}/guides/{guide_id}/previews"),
        "body": value,
    });
    let acting = caller.requester();
    let max = state.config.policy_preview_max_submissions;
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "guide.preview.start",
        key,
        &request,
        async |tx| {
            let preview =
                previews::start(tx, &acting, project_id, guide_id, body.submissions, max).await?;
            Ok((StatusCode::ACCEPTED, preview))
        },
    )
    .await
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<Preview>>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let query = page_query(query)?;
    let scope = format!("project:{project_id}:guide:{guide_id}:previews");
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    if workstream_engine::guides::find(&mut conn, project_id, guide_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found());
    }
    let items = previews::list(&mut conn, project_id, guide_id, page.after, page.limit).await?;
    let next = page.next_cursor(
        items.len(),
        items.last().map(|p| p.id),
        &scope,
        &state.config.cursor_secret,
    );
    Ok(axum::Json(Paged {
        items,
        next_cursor: next,
    }))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Ids((project_id, guide_id, preview_id)): Ids<(Uuid, Uuid, Uuid)>,
) -> Result<axum::Json<PreviewReport>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let mut conn = state.pool.acquire().await?;
    let report = previews::find(&mut conn, project_id, guide_id, preview_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(report))
}
