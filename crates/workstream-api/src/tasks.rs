//! Task routes (docs/lifecycle.md): management, screening and release for Project
//! Managers, and their assignment of a ready task to a named submitter; the ready
//! queue, the contributor-safe task view, submission requirements, claim and start for
//! contributors (an optional reason with screen, claim or start is kept in the audit
//! event); the Operator's start override.
//!
//! Handlers stay thin: authenticate ([`Caller`]), check the caller's authority (before
//! the idempotency layer, so a replay is authorized again), and run one engine command
//! in one transaction with its stored response. Every rule lives in
//! `workstream_engine::tasks`.
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::Actor;
use workstream_engine::tasks::views::{AssignmentView, ContributorView, ManagementView};
use workstream_engine::tasks::{self, NewTaskInput, access, views, work_context};
use workstream_store::idempotency::{RecordKey, task_moved_on};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::{Page, PageQuery};

/// The task routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const PM: &str = "a project manager covering the task's project";
    const OPERATOR: &str = "a system operator";
    const WRONG_STATE: &[ErrorCode] = &[
        ErrorCode::TransitionNotAllowed,
        ErrorCode::PermissionNotGranted,
    ];
    ApiRoutes::new("Tasks")
        .post(
            "/projects/{pid}/tasks",
            create_task,
            Doc::new("Create a draft task")
                .who(PM)
                .body::<NewTaskInput>()
                .created("`{task}`: the management view, `draft`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::ExternalTaskIdExists, ErrorCode::ProjectArchived])
                .refuses(&[ErrorCode::InvalidTaskField]),
        )
        .get(
            "/projects/{pid}/tasks",
            list_tasks,
            Doc::new("List the project's tasks (management views)")
                .who("a covering project manager or audit authority")
                .ok("`{items, next_cursor}`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{pid}/tasks/export",
            export_tasks,
            Doc::new("Every task of the project as a file (management views)")
                .who("a covering project manager or audit authority")
                .ok("CSV with a header row (the columns below), or one management view per line (`format=jsonl`)")
                .media_type("text/csv")
                .note("CSV columns: `id, title, status, task_type, difficulty, estimated_time_minutes, deadline_at, external_task_id, assignee_id, assignee_name, assigned_at, guide_version, created_at, updated_at`. Streamed page by page; a fault part-way cuts the transfer.")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidRequest]),
        )
        .get(
            "/projects/{pid}/tasks/ready",
            ready_queue,
            Doc::new("The ready queue: tasks open to claim, with their compensation terms")
                .who("a submitter or reviewer of the project")
                .ok("`{items, next_cursor}` of contributor views")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{pid}/tasks/{tid}",
            management_task,
            Doc::new("A task with its locks and active assignment (management view)")
                .who("a covering project manager or audit authority")
                .ok("`{task}`, its `assignment` naming the holder (`contributor_display_name`)")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
        .get(
            "/tasks/{tid}",
            contributor_task,
            Doc::new("A task as a contributor sees it: terms, criteria, compensation")
                .who("a submitter or reviewer of the project while the task is `ready`, or its assignee")
                .ok("`{task}`: the contributor view"),
        )
        .get(
            "/tasks/{tid}/work-context",
            work_context,
            Doc::new("What the caller may do next on the task")
                .who("whoever may read the task: a covering project manager, operator or audit authority; a submitter or reviewer of the project while it is `ready`; its assignee; a reviewer holding a lease on its submission (anyone else: the concealed 404)")
                .ok("the task in brief, the caller's roles and relation to it, its latest version with the evaluation route, and `next_actions`: each the request to send (method, path, body), `blocked` with the code it would answer when a lock-free guard already refuses it; `waiting_for` names whose move it is when the caller has none")
                .note("The actions come from the task lifecycle's own table and guards, so they change with the rules; the command still decides under its locks, and an action listed here can lose a race."),
        )
        .get(
            "/tasks/{tid}/submission-requirements",
            submission_requirements,
            Doc::new("What a packet for the task must hold (the locked artifact policy)")
                .who("an eligible submitter, or the assignee")
                .ok("required artifacts and evidence, forbidden patterns, size limits, attestation terms"),
        )
        .post(
            "/tasks/{tid}/screen",
            screen,
            Doc::new("Screen a draft task: lock the active guide and its policies (T1)")
                .who(PM)
                .optional_body::<OptionalReason>()
                .ok("`{task}` in `screening`, every `locks.*` stamped")
                .refuses(WRONG_STATE)
                .refuses(&[ErrorCode::TaskReplayStateChanged])
                .refuses(&[ErrorCode::TaskFieldsIncomplete, ErrorCode::ActiveGuideMissing, ErrorCode::ProjectNotActive, ErrorCode::ReasonTooLong]),
        )
        .post(
            "/tasks/{tid}/release",
            release,
            Doc::new("Release a screened task to the ready queue, locking the contribution terms (T2)")
                .who(PM)
                .body::<RequiredReason>()
                .ok("`{task}` in `ready`")
                .refuses(WRONG_STATE)
                .refuses(&[ErrorCode::TaskReplayStateChanged])
                .refuses(&[ErrorCode::ReasonRequired, ErrorCode::ReasonTooLong, ErrorCode::ReadinessFindingsOpen, ErrorCode::ContributionPolicyUnavailable]),
        )
        .post(
            "/tasks/{tid}/return-to-draft",
            return_to_draft,
            Doc::new("Return a screened or ready task to draft (T3)")
                .who(PM)
                .body::<RequiredReason>()
                .ok("`{task}` in `draft`")
                .refuses(WRONG_STATE)
                .refuses(&[ErrorCode::TaskReplayStateChanged])
                .refuses(&[ErrorCode::ReasonRequired, ErrorCode::ReasonTooLong]),
        )
        .post(
            "/tasks/{tid}/cancel",
            cancel,
            Doc::new("Cancel a task (T16)")
                .who(PM)
                .body::<RequiredReason>()
                .ok("`{task}` in `cancelled`")
                .refuses(WRONG_STATE)
                .refuses(&[ErrorCode::TaskReplayStateChanged])
                .refuses(&[ErrorCode::ReasonRequired, ErrorCode::ReasonTooLong]),
        )
        .post(
            "/tasks/{tid}/claim",
            claim,
            Doc::new("Claim a ready task (T4)")
                .who("a submitter of the task's project, within the active task cap")
                .optional_body::<OptionalReason>()
                .ok("`{task, assignment}`: the task `claimed`")
                .refuses(WRONG_STATE)
                .refuses(&[ErrorCode::TaskAlreadyClaimed, ErrorCode::ActiveTaskCapReached, ErrorCode::AssignmentExists, ErrorCode::TaskReplayStateChanged])
                .refuses(&[ErrorCode::AssigneeNotEligible, ErrorCode::ContributionRuleMissing, ErrorCode::ProjectNotActive, ErrorCode::ReasonTooLong]),
        )
        .post(
            "/tasks/{tid}/assign",
            assign,
            Doc::new("Assign a ready task to a named submitter of its project (T4 by a manager)")
                .who(PM)
                .body::<AssignBody>()
                .ok("`{task, assignment}`: the task `claimed` by the assignee, `assignment.assigned_by` the manager")
                .refuses(WRONG_STATE)
                .refuses(&[ErrorCode::ActiveTaskCapReached, ErrorCode::AssignmentExists, ErrorCode::TaskReplayStateChanged])
                .refuses(&[ErrorCode::AssigneeNotEligible, ErrorCode::ReasonRequired, ErrorCode::ReasonTooLong, ErrorCode::ContributionRuleMissing, ErrorCode::ProjectNotActive]),
        )
        .post(
            "/tasks/{tid}/start",
            start,
            Doc::new("Start work on a claimed task (T5)")
                .who("the assignee")
                .optional_body::<OptionalReason>()
                .ok("`{task}` in `in_progress`")
                .refuses(&[ErrorCode::TransitionNotAllowed, ErrorCode::NotAssignee, ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::TaskReplayStateChanged])
                .refuses(&[ErrorCode::ReasonTooLong]),
        )
        .post(
            "/operations/tasks/{tid}/start",
            start_override,
            Doc::new("Start a stuck claimed task without changing its owner (T5, override)")
                .who(OPERATOR)
                .body::<RequiredReason>()
                .ok("`{task: {id, project_id, status, assigned_to}}`")
                .refuses(WRONG_STATE)
                .refuses(&[ErrorCode::TaskReplayStateChanged])
                .refuses(&[ErrorCode::ReasonRequired, ErrorCode::ReasonTooLong]),
        )
        .post(
            "/operations/tasks/{tid}/re-evaluate",
            re_evaluate,
            Doc::new("Retry an evaluation held by `checker_retry` or `task_setup_blocked`")
                .who(OPERATOR)
                .body::<RequiredReason>()
                .answers(StatusCode::ACCEPTED, "the new checker run attempt; the held one stays readable")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::EvaluationNotHeld])
                .refuses(&[ErrorCode::ReasonRequired, ErrorCode::ReasonTooLong]),
        )
        .post(
            "/tasks/{tid}/setup-repair",
            setup_repair,
            Doc::new("Fix the texts of a task held by `task_setup_blocked`; the retry is queued at once")
                .who(PM)
                .body::<SetupRepairBody>()
                .answers(StatusCode::ACCEPTED, "the task and the queued retry")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::EvaluationNotHeld])
                .refuses(&[ErrorCode::ReasonRequired, ErrorCode::InvalidTaskField]),
        )
}

/// A task in its management view.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ManagedTask {
    task: ManagementView,
}

/// A task in its contributor view.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContributorTask {
    task: ContributorView,
}

/// A claimed task and the new assignment, as the claimant sees them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClaimedTask {
    task: ContributorView,
    assignment: AssignmentView,
}

/// A task assigned by a manager, and the new assignment.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Assigned {
    task: ManagementView,
    assignment: AssignmentView,
}

/// A page of a project's tasks.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "{T}Page")]
pub struct TaskPage<T> {
    project_id: Uuid,
    items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

/// The operations projection of a task: status and ownership, no content or locks.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OperatedTask {
    task: TaskOwnership,
}

/// A task's status and holder.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskOwnership {
    id: Uuid,
    project_id: Uuid,
    status: workstream_domain::lifecycle::TaskState,
    assigned_to: Option<Uuid>,
}

/// An evaluation queued again.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Retried {
    task_id: Uuid,
    /// The new checker run attempt; the held one stays readable.
    checker_run_id: Uuid,
}

/// A repaired task and the evaluation queued again for it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Repaired {
    task: ManagementView,
    checker_run_id: Uuid,
}

/// A body holding an optional reason (screen, claim, start). An empty body is `{}`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OptionalReason {
    /// Kept in the transition's audit event (blank is none; at most 2,000 characters).
    reason: Option<String>,
}

/// `POST /tasks/{tid}/assign`: who gets the task, and why.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// The actor profile of a submitter of the task's project.
    assignee_actor_id: Uuid,
    /// Why this person (kept in the audit event; required).
    #[serde(default)]
    reason: String,
}

/// A body whose reason is required; a missing reason reads as blank, so the lifecycle
/// answers 422 `reason_required` rather than a parse error.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RequiredReason {
    #[serde(default)]
    reason: String,
}

/// Parses an optional JSON body strictly: empty means `T::default()`.
fn optional_body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<(T, Value), ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((T::default(), json!({})));
    }
    let invalid = |reason: String| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            "the request body is not valid for this route",
        )
        .with_details(json!({ "reason": reason }))
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let parsed = serde_json::from_value(value.clone()).map_err(|e| invalid(e.to_string()))?;
    Ok((parsed, value))
}

/// The authority check made before the idempotency layer.
async fn precheck(
    state: &AppState,
    caller: &Caller,
    task_id: Uuid,
    actor: Actor,
    operation: &str,
    key: IdempotencyKey,
) -> Result<(), ApiError> {
    let mut conn = state.pool.acquire().await?;
    access::precheck_task(&mut conn, caller.actor_id, task_id, actor).await?;
    // R15: a replay returns the stored response only while the task is still where that
    // response left it; once it has moved on, the old answer would mislead.
    let record = RecordKey {
        actor_id: caller.actor_id,
        operation,
        key: key.0,
    };
    if task_moved_on(&mut conn, record, task_id).await? {
        return Err(ApiError::new(
            ErrorCode::TaskReplayStateChanged,
            "the task has moved on since this request was first answered",
        ));
    }
    Ok(())
}

async fn create_task(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(body): Json<Value>,
) -> Result<Answer<ManagedTask>, ApiError> {
    let input: NewTaskInput = crate::extract::body(&body)?;
    {
        let mut conn = state.pool.acquire().await?;
        access::precheck_project(
            &mut conn,
            caller.actor_id,
            project_id,
            Actor::ProjectManager,
        )
        .await?;
    }
    let who = caller.requester();
    let request = json!({ "path": format!("/projects/{project_id}/tasks"), "body": body });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "task.create",
        key,
        &request,
        async |tx| {
            let task = tasks::create(tx, &who, project_id, &input).await?;
            Ok((
                StatusCode::CREATED,
                ManagedTask {
                    task: views::management_view(&task, None),
                },
            ))
        },
    )
    .await
}

/// A page of tasks with its next cursor.
fn page_body<T>(
    project_id: Uuid,
    items: Vec<T>,
    id: fn(&T) -> Uuid,
    page: &Page,
    scope: &str,
    secret: &[u8],
) -> TaskPage<T> {
    let last = items.last().map(id);
    let next_cursor = page.next_cursor(items.len(), last, scope, secret);
    TaskPage {
        project_id,
        items,
        next_cursor,
    }
}

/// `?format=` of an export.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    /// `csv` (the default) or `jsonl`.
    pub(crate) format: Option<crate::export::Format>,
}

async fn export_tasks(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<ExportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    {
        let mut conn = state.pool.acquire().await?;
        views::require_manager(&mut conn, caller.actor_id, project_id).await?;
    }
    let Query(query) = query?;
    let export = crate::export::Export {
        format: query.format.unwrap_or_default(),
        name: format!("tasks-{project_id}"),
        columns: &[
            ("id", "id"),
            ("title", "title"),
            ("status", "status"),
            ("task_type", "task_type"),
            ("difficulty", "difficulty"),
            ("estimated_time_minutes", "estimated_time_minutes"),
            ("deadline_at", "deadline_at"),
            ("external_task_id", "external_task_id"),
            ("assignee_id", "assignment.contributor_id"),
            ("assignee_name", "assignment.contributor_display_name"),
            ("assigned_at", "assignment.assigned_at"),
            ("guide_version", "locks.guide_version"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
        ],
    };
    let (pool, actor_id) = (state.pool.clone(), caller.actor_id);
    Ok(export.stream(move |after| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.acquire().await?;
            let views = views::list_for_manager(
                &mut conn,
                actor_id,
                project_id,
                after,
                crate::export::EXPORT_PAGE,
            )
            .await?;
            views
                .into_iter()
                .map(|view| {
                    Ok((
                        view.task.id,
                        serde_json::to_value(view).map_err(ApiError::internal)?,
                    ))
                })
                .collect()
        }
    }))
}

async fn list_tasks(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<TaskPage<ManagementView>>, ApiError> {
    let scope = format!("project:{project_id}:tasks");
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    let items = views::list_for_manager(
        &mut conn,
        caller.actor_id,
        project_id,
        page.after,
        page.limit,
    )
    .await?;
    Ok(axum::Json(page_body(
        project_id,
        items,
        |view| view.task.id,
        &page,
        &scope,
        &state.config.cursor_secret,
    )))
}

async fn ready_queue(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<TaskPage<ContributorView>>, ApiError> {
    let scope = format!("project:{project_id}:tasks:ready");
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    let items = views::list_ready(
        &mut conn,
        caller.actor_id,
        project_id,
        page.after,
        page.limit,
    )
    .await?;
    Ok(axum::Json(page_body(
        project_id,
        items,
        |task| task.id,
        &page,
        &scope,
        &state.config.cursor_secret,
    )))
}

async fn management_task(
    State(state): State<AppState>,
    caller: Caller,
    Ids((project_id, task_id)): Ids<(Uuid, Uuid)>,
) -> Result<axum::Json<ManagedTask>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let task = views::read_for_manager(&mut conn, caller.actor_id, project_id, task_id).await?;
    Ok(axum::Json(ManagedTask { task }))
}

async fn contributor_task(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<ContributorTask>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let task = views::read_for_contributor(&mut conn, caller.actor_id, task_id).await?;
    Ok(axum::Json(ContributorTask { task }))
}

async fn work_context(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<work_context::WorkContext>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    Ok(axum::Json(
        work_context::read(&mut conn, caller.actor_id, task_id).await?,
    ))
}

async fn submission_requirements(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<views::SubmissionRequirements>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let requirements = views::submission_requirements(&mut conn, caller.actor_id, task_id).await?;
    Ok(axum::Json(requirements))
}

async fn screen(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    body: Bytes,
) -> Result<Answer<ManagedTask>, ApiError> {
    let (body, value): (OptionalReason, Value) = optional_body(&body)?;
    precheck(
        &state,
        &caller,
        task_id,
        Actor::ProjectManager,
        "task.screen",
        key,
    )
    .await?;
    let who = caller.requester();
    let request = json!({ "path": format!("/tasks/{task_id}/screen"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "task.screen",
        key,
        &request,
        async |tx| {
            let task = tasks::screen(tx, &who, task_id, body.reason.as_deref()).await?;
            Ok((
                StatusCode::OK,
                ManagedTask {
                    task: views::management_view(&task, None),
                },
            ))
        },
    )
    .await
}

/// Which PM command a reasoned route runs.
#[derive(Clone, Copy)]
enum Reasoned {
    Release,
    ReturnToDraft,
    Cancel,
}

async fn reasoned(
    state: AppState,
    caller: Caller,
    key: IdempotencyKey,
    task_id: Uuid,
    value: Value,
    which: Reasoned,
) -> Result<Answer<ManagedTask>, ApiError> {
    let body: RequiredReason = crate::extract::body(&value)?;
    let who = caller.requester();
    let (operation, path) = match which {
        Reasoned::Release => ("task.release", "release"),
        Reasoned::ReturnToDraft => ("task.return_to_draft", "return-to-draft"),
        Reasoned::Cancel => ("task.cancel", "cancel"),
    };
    precheck(
        &state,
        &caller,
        task_id,
        Actor::ProjectManager,
        operation,
        key,
    )
    .await?;
    let request = json!({ "path": format!("/tasks/{task_id}/{path}"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        operation,
        key,
        &request,
        async |tx| {
            let task = match which {
                Reasoned::Release => tasks::release(tx, &who, task_id, &body.reason).await?,
                Reasoned::ReturnToDraft => {
                    tasks::return_to_draft(tx, &who, task_id, &body.reason).await?
                }
                Reasoned::Cancel => tasks::cancel(tx, &who, task_id, &body.reason).await?,
            };
            Ok((
                StatusCode::OK,
                ManagedTask {
                    task: views::management_view(&task, None),
                },
            ))
        },
    )
    .await
}

/// The route handlers of the reasoned transitions, each one [`reasoned`] command.
macro_rules! reasoned_handlers {
    ($($handler:ident => $command:expr),+ $(,)?) => {$(
        async fn $handler(
            State(state): State<AppState>,
            caller: Caller,
            key: IdempotencyKey,
            Ids(task_id): Ids<Uuid>,
            Json(value): Json<Value>,
        ) -> Result<Answer<ManagedTask>, ApiError> {
            reasoned(state, caller, key, task_id, value, $command).await
        }
    )+};
}

reasoned_handlers! {
    release => Reasoned::Release,
    return_to_draft => Reasoned::ReturnToDraft,
    cancel => Reasoned::Cancel,
}

async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    body: Bytes,
) -> Result<Answer<ClaimedTask>, ApiError> {
    let (body, value): (OptionalReason, Value) = optional_body(&body)?;
    precheck(
        &state,
        &caller,
        task_id,
        Actor::Submitter,
        "task.claim",
        key,
    )
    .await?;
    let who = caller.requester();
    let request = json!({ "path": format!("/tasks/{task_id}/claim"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "task.claim",
        key,
        &request,
        async |tx| {
            let (task, assignment) =
                tasks::claim(tx, &who, task_id, body.reason.as_deref()).await?;
            let view = views::contributor_view(tx, &task, who.actor_id).await?;
            Ok((
                StatusCode::OK,
                ClaimedTask {
                    task: view,
                    assignment: views::assignment_view(&assignment),
                },
            ))
        },
    )
    .await
}

async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<Assigned>, ApiError> {
    let body: AssignBody = crate::extract::body(&value)?;
    precheck(
        &state,
        &caller,
        task_id,
        Actor::ProjectManager,
        "task.assign",
        key,
    )
    .await?;
    let who = caller.requester();
    let request = json!({ "path": format!("/tasks/{task_id}/assign"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "task.assign",
        key,
        &request,
        async |tx| {
            let (task, assignment) =
                tasks::assign(tx, &who, task_id, body.assignee_actor_id, &body.reason).await?;
            Ok((
                StatusCode::OK,
                Assigned {
                    task: views::management_view(&task, Some(&assignment)),
                    assignment: views::assignment_view(&assignment),
                },
            ))
        },
    )
    .await
}

async fn start(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    body: Bytes,
) -> Result<Answer<ContributorTask>, ApiError> {
    let (body, value): (OptionalReason, Value) = optional_body(&body)?;
    precheck(
        &state,
        &caller,
        task_id,
        Actor::Submitter,
        "task.start",
        key,
    )
    .await?;
    let who = caller.requester();
    let request = json!({ "path": format!("/tasks/{task_id}/start"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "task.start",
        key,
        &request,
        async |tx| {
            let task = tasks::start(tx, &who, task_id, body.reason.as_deref()).await?;
            let view = views::contributor_view(tx, &task, who.actor_id).await?;
            Ok((StatusCode::OK, ContributorTask { task: view }))
        },
    )
    .await
}

async fn start_override(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<OperatedTask>, ApiError> {
    let body: RequiredReason = crate::extract::body(&value)?;
    precheck(
        &state,
        &caller,
        task_id,
        Actor::Operator,
        "operations.task.start_override",
        key,
    )
    .await?;
    let who = caller.requester();
    let request = json!({ "path": format!("/operations/tasks/{task_id}/start"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "operations.task.start_override",
        key,
        &request,
        async |tx| {
            let task = tasks::start_override(tx, &who, task_id, &body.reason).await?;
            // The operations projection: status and ownership, no content or locks.
            Ok((
                StatusCode::OK,
                OperatedTask {
                    task: TaskOwnership {
                        id: task.id,
                        project_id: task.project_id,
                        status: task.status,
                        assigned_to: task.assigned_to,
                    },
                },
            ))
        },
    )
    .await
}

async fn re_evaluate(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<Retried>, ApiError> {
    let body: RequiredReason = crate::extract::body(&value)?;
    {
        let mut conn = state.pool.acquire().await?;
        access::precheck_task(&mut conn, caller.actor_id, task_id, Actor::Operator).await?;
    }
    let who = caller.requester();
    let request =
        json!({ "path": format!("/operations/tasks/{task_id}/re-evaluate"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "operations.checker.retry",
        key,
        &request,
        async |tx| {
            let run = tasks::submission::retry_evaluation(tx, &who, task_id, &body.reason).await?;
            Ok((
                StatusCode::ACCEPTED,
                Retried {
                    task_id,
                    checker_run_id: run,
                },
            ))
        },
    )
    .await
}

/// The body of `POST /tasks/{tid}/setup-repair`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetupRepairBody {
    #[serde(default)]
    reason: String,
    acceptance_criteria: Option<String>,
    rejection_criteria: Option<String>,
    description: Option<String>,
}

async fn setup_repair(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<Repaired>, ApiError> {
    let body: SetupRepairBody = crate::extract::body(&value)?;
    {
        let mut conn = state.pool.acquire().await?;
        access::precheck_task(&mut conn, caller.actor_id, task_id, Actor::ProjectManager).await?;
    }
    let who = caller.requester();
    let request = json!({ "path": format!("/tasks/{task_id}/setup-repair"), "body": value });
    let repair = tasks::submission::SetupRepair {
        acceptance_criteria: body.acceptance_criteria,
        rejection_criteria: body.rejection_criteria,
        description: body.description,
    };
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "task.setup_repair",
        key,
        &request,
        async |tx| {
            let (task, run) =
                tasks::submission::repair_setup(tx, &who, task_id, &repair, &body.reason).await?;
            Ok((
                StatusCode::ACCEPTED,
                Repaired {
                    task: views::management_view(&task, None),
                    checker_run_id: run,
                },
            ))
        },
    )
    .await
}
