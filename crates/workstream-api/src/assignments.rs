//! `GET /me/assignments`: the tasks the caller holds or held, so a contributor can get
//! back to their work (docs/rules.md, R13: one active assignment per task).
//!
//! | method | path | who | answers |
//! |---|---|---|---|
//! | GET | `/me/assignments?limit=&cursor=` | any verified actor | 200 `{items: [{assignment_id, status, assigned_at, released_at, task: {id, project_id, project_name, title, status}}], next_cursor}`, newest first |
//!
//! Only the caller's own assignments, whatever their grants: a manager sees their tasks
//! through the project routes, not here. The task fields are the ones the contributor
//! view shows anyway; a task the caller no longer holds keeps its title and state here
//! (the assignment is theirs), but its page answers as `GET /tasks/{tid}` decides.

use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::TaskState;
use workstream_domain::machines::assignment::AssignmentStatus;
use workstream_engine::tasks::assignment;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::{Page, PageQuery, Paged};

/// The assignment route, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new("Tasks").get(
        "/me/assignments",
        mine,
        Doc::new("The caller's own assignments, newest first")
            .who("any verified actor")
            .ok("`{items, next_cursor}`")
            .refuses(&[ErrorCode::InvalidCursor]),
    )
}

/// One of the caller's assignments, newest first, with its task in brief.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MyAssignment {
    assignment_id: Uuid,
    /// `active`, `completed` or `released`.
    status: AssignmentStatus,
    assigned_at: chrono::DateTime<chrono::Utc>,
    released_at: Option<chrono::DateTime<chrono::Utc>>,
    task: AssignedTask,
}

/// The task of an assignment, in brief.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AssignedTask {
    id: Uuid,
    project_id: Uuid,
    project_name: String,
    title: String,
    status: TaskState,
}

async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<Paged<MyAssignment>>, ApiError> {
    let scope = format!("actor:{}:assignments", caller.actor_id);
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    // Newest first: ids are UUIDv7, so "after" the cursor means an older id here.
    let mut conn = state.pool.acquire().await?;
    let rows = assignment::held_by(&mut conn, caller.actor_id, page.after, page.limit).await?;
    let last = rows.last().map(|r| r.id);
    let next_cursor = page.next_cursor(rows.len(), last, &scope, &state.config.cursor_secret);
    let items = rows
        .into_iter()
        .map(|r| MyAssignment {
            assignment_id: r.id,
            status: r.status,
            assigned_at: r.assigned_at,
            released_at: r.released_at,
            task: AssignedTask {
                id: r.task_id,
                project_id: r.project_id,
                project_name: r.project_name,
                title: r.title,
                status: r.task_status,
            },
        })
        .collect();
    Ok(axum::Json(Paged { items, next_cursor }))
}
