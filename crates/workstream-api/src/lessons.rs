//! `/projects/{pid}/lessons`: what a project learned, and the change that carries it
//! (docs/lifecycle.md; R51).
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Denials follow [`require`]: 403 `permission_not_granted` to a caller who may see the
//! project, the concealed 404 to anyone else. Lessons detected by the reputation job
//! appear here like recorded ones, with a `detection_key` and no author.

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::lesson::LessonStatus;
use workstream_domain::roles::AdminRole;
use workstream_engine::lessons::{self, Lesson, LessonDecision, NewLesson};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::{Page, PageQuery, Paged};
use crate::projects::{is_manager, require};

/// The lesson routes.
pub fn routes() -> ApiRoutes {
    const PM: &str = "a project manager covering the project";
    const READERS: &str = "a covering project manager, an operator or a covering audit authority";
    ApiRoutes::new("Lessons")
        .get(
            "/projects/{project_id}/lessons",
            list,
            Doc::new("The project's lessons, recorded and detected")
                .who(READERS)
                .ok("`{items, next_cursor}`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .post(
            "/projects/{project_id}/lessons",
            create,
            Doc::new("Record a lesson pointing at a record of the project")
                .who(PM)
                .created("the lesson, `open`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[
                    ErrorCode::LessonSourceRequired,
                    ErrorCode::LessonSourceNotFound,
                ]),
        )
        .get(
            "/projects/{project_id}/lessons/{lesson_id}",
            read,
            Doc::new("One lesson")
                .who(READERS)
                .ok("the lesson")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
        .post(
            "/projects/{project_id}/lessons/{lesson_id}/accept",
            accept,
            Doc::new("Accept an open lesson")
                .who(PM)
                .ok("the lesson, `accepted`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::TransitionNotAllowed]),
        )
        .post(
            "/projects/{project_id}/lessons/{lesson_id}/reject",
            reject,
            Doc::new("Reject an open lesson, with a reason")
                .who(PM)
                .ok("the lesson, `rejected`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::TransitionNotAllowed])
                .refuses(&[ErrorCode::InvalidReason]),
        )
        .post(
            "/projects/{project_id}/lessons/{lesson_id}/implement",
            implement,
            Doc::new(
                "Mark an accepted lesson implemented by a guide of the project or a checker digest",
            )
            .who(PM)
            .ok("the lesson, `implemented`")
            .refuses(&[ErrorCode::PermissionNotGranted])
            .refuses(&[ErrorCode::TransitionNotAllowed])
            .refuses(&[
                ErrorCode::LessonImplementationLinkRequired,
                ErrorCode::LessonLinkNotFound,
                ErrorCode::LessonPreviewNotCompleted,
            ]),
        )
}

/// Whether the caller may read the project's lessons and sprints: its managers, the
/// operators and its auditors.
pub fn may_read(caller: &Caller, project: Uuid) -> bool {
    is_manager(caller, project)
        || caller.grants.admin(AdminRole::Operator, None).is_some()
        || caller
            .grants
            .admin(AdminRole::AuditAuthority, Some(project))
            .is_some()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only lessons in this status.
    status: Option<String>,
    /// Page size, 1..=100 (default 50).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page; empty or absent for the first page.
    #[schemars(length(max = 512))]
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<ListQuery>, ApiError>,
) -> Result<axum::Json<Paged<Lesson>>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let Query(query) = query?;
    let status = match &query.status {
        None => None,
        Some(text) => Some(text.parse::<LessonStatus>().map_err(|_| {
            let all: Vec<&str> = LessonStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("status is one of {}", all.join(", ")),
            )
        })?),
    };
    // The filter is part of the list a cursor belongs to.
    let scope = format!(
        "project:{project_id}:lessons:{}",
        query.status.as_deref().unwrap_or("*")
    );
    let page = Page::parse(
        &PageQuery {
            limit: query.limit,
            cursor: query.cursor.clone(),
        },
        &scope,
        &state.config.cursor_secret,
    )?;
    let mut conn = state.pool.acquire().await?;
    let items = lessons::list(&mut conn, project_id, status, page.after, page.limit).await?;
    let next = page.next_cursor(
        items.len(),
        items.last().map(|l| l.id),
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
    Ids((project_id, lesson_id)): Ids<(Uuid, Uuid)>,
) -> Result<axum::Json<Lesson>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let mut conn = state.pool.acquire().await?;
    let lesson = lessons::find(&mut conn, project_id, lesson_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(lesson))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(body): Json<NewLesson>,
) -> Result<Answer<Lesson>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let request = json!({
        "path": format!("/projects/{project_id}/lessons"),
        "body": &body,
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "project.lesson.create",
        key,
        &request,
        async |tx| {
            let lesson = lessons::create(tx, &acting, project_id, body).await?;
            Ok((StatusCode::CREATED, lesson))
        },
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn decide(
    state: AppState,
    caller: Caller,
    key: IdempotencyKey,
    (project_id, lesson_id): (Uuid, Uuid),
    action: &'static str,
    body: Value,
    decision: LessonDecision,
) -> Result<Answer<Lesson>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let request = json!({
        "path": format!("/projects/{project_id}/lessons/{lesson_id}/{action}"),
        "body": body,
    });
    let acting = caller.requester();
    let operation = match action {
        "accept" => "project.lesson.accept",
        "reject" => "project.lesson.reject",
        _ => "project.lesson.implement",
    };
    idempotency::run(
        &state.pool,
        caller.actor_id,
        operation,
        key,
        &request,
        async |tx| {
            let lesson = lessons::decide(tx, &acting, project_id, lesson_id, decision).await?;
            Ok((StatusCode::OK, lesson))
        },
    )
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Accept {
    #[serde(default)]
    note: Option<String>,
}

async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(ids): Ids<(Uuid, Uuid)>,
    Json(body): Json<Accept>,
) -> Result<Answer<Lesson>, ApiError> {
    let echo = json!({ "note": body.note });
    decide(
        state,
        caller,
        key,
        ids,
        "accept",
        echo,
        LessonDecision::Accept { note: body.note },
    )
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Reject {
    reason: String,
}

async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(ids): Ids<(Uuid, Uuid)>,
    Json(body): Json<Reject>,
) -> Result<Answer<Lesson>, ApiError> {
    let echo = json!({ "reason": body.reason });
    decide(
        state,
        caller,
        key,
        ids,
        "reject",
        echo,
        LessonDecision::Reject {
            reason: body.reason,
        },
    )
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Implement {
    #[serde(default)]
    guide_id: Option<Uuid>,
    #[serde(default)]
    checker_digest: Option<String>,
    /// A completed policy preview of the project, as evidence of the change.
    #[serde(default)]
    preview_id: Option<Uuid>,
    #[serde(default)]
    note: Option<String>,
}

async fn implement(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(ids): Ids<(Uuid, Uuid)>,
    Json(body): Json<Implement>,
) -> Result<Answer<Lesson>, ApiError> {
    let echo = json!({ "guide_id": body.guide_id, "checker_digest": body.checker_digest,
                       "preview_id": body.preview_id, "note": body.note });
    decide(
        state,
        caller,
        key,
        ids,
        "implement",
        echo,
        LessonDecision::Implement {
            guide_id: body.guide_id,
            checker_digest: body.checker_digest,
            preview_id: body.preview_id,
            note: body.note,
        },
    )
    .await
}
