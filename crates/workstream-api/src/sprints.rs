//! `/projects/{pid}/sprints`: evaluation sprints, a reporting group of tasks with a
//! window and a report (docs/architecture.md). A sprint has no authority over its tasks.
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Denials follow [`require`]: 403 `permission_not_granted` to a caller who may see the
//! project, the concealed 404 to anyone else.

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_engine::sprints::{self, NewSprint};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Empty, Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::lessons::may_read;
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::page_query;
use crate::pagination::{Page, PageQuery, Paged};
use crate::projects::{is_manager, require};

/// The sprint routes.
pub fn routes() -> ApiRoutes {
    const PM: &str = "a project manager covering the project";
    ApiRoutes::new("Sprints")
        .post(
            "/projects/{project_id}/sprints",
            create,
            Doc::new("Create an evaluation sprint: a named group of tasks with a time window")
                .who(PM)
                .created("the sprint")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::SprintNameExists])
                .refuses(&[ErrorCode::SprintWindowInvalid, ErrorCode::SprintTaskNotFound]),
        )
        .get(
            "/projects/{project_id}/sprints",
            list,
            Doc::new("The project's sprints")
                .who("a covering project manager, an operator or a covering audit authority")
                .ok("`{items, next_cursor}`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{project_id}/sprints/{sprint_id}",
            read,
            Doc::new("One sprint with its last report")
                .who("a covering project manager, an operator or a covering audit authority")
                .ok("the sprint")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
        .post(
            "/projects/{project_id}/sprints/{sprint_id}/tasks",
            add_tasks,
            Doc::new("Add tasks of the project to the sprint")
                .who(PM)
                .ok("the sprint")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::SprintTaskNotFound]),
        )
        .post(
            "/projects/{project_id}/sprints/{sprint_id}/report",
            report,
            Doc::new("Generate and store the sprint's report")
                .who(PM)
                .ok("the sprint with the report: task states, acceptance/revision/rejection rates, review rounds, turnaround p50/p90, checker failure mix, awards by unit with fulfilled and pending totals")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(body): Json<NewSprint>,
) -> Result<Answer<sprints::Sprint>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let request = json!({
        "path": format!("/projects/{project_id}/sprints"),
        "body": &body,
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "project.sprint.create",
        key,
        &request,
        async |tx| {
            let sprint = sprints::create(tx, &acting, project_id, body).await?;
            Ok((StatusCode::CREATED, sprint))
        },
    )
    .await
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<sprints::Sprint>>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let query = page_query(query)?;
    let scope = format!("project:{project_id}:sprints");
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    let items = sprints::list(&mut conn, project_id, page.after, page.limit).await?;
    let next = page.next_cursor(
        items.len(),
        items.last().map(|s| s.id),
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
    Ids((project_id, sprint_id)): Ids<(Uuid, Uuid)>,
) -> Result<axum::Json<sprints::Sprint>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let mut conn = state.pool.acquire().await?;
    let sprint = sprints::find(&mut conn, project_id, sprint_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(sprint))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddTasks {
    task_ids: Vec<Uuid>,
}

async fn add_tasks(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids((project_id, sprint_id)): Ids<(Uuid, Uuid)>,
    Json(body): Json<AddTasks>,
) -> Result<Answer<sprints::Sprint>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let request = json!({
        "path": format!("/projects/{project_id}/sprints/{sprint_id}/tasks"),
        "body": { "task_ids": body.task_ids },
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "project.sprint.add_tasks",
        key,
        &request,
        async |tx| {
            let sprint =
                sprints::add_tasks(tx, &acting, project_id, sprint_id, &body.task_ids).await?;
            Ok((StatusCode::OK, sprint))
        },
    )
    .await
}

async fn report(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids((project_id, sprint_id)): Ids<(Uuid, Uuid)>,
    Json(_): Json<Empty>,
) -> Result<Answer<sprints::Sprint>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let request = json!({
        "path": format!("/projects/{project_id}/sprints/{sprint_id}/report"),
        "body": {},
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "project.sprint.report",
        key,
        &request,
        async |tx| {
            let sprint = sprints::generate_report(tx, &acting, project_id, sprint_id).await?;
            Ok((StatusCode::OK, sprint))
        },
    )
    .await
}
