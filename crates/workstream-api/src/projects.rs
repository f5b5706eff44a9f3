//! `/projects`: creating projects, reading them, and pausing, resuming and archiving.
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Who may see a project decides between 403 and 404 on the project's sub-resources:
//! a caller who can see the project but lacks the action gets 403
//! `permission_not_granted`; anyone else gets the concealed 404 ([`require`]).

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::project::ProjectStatus;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_engine::projects::{self, NewProject, Project, ProjectSummary};

use crate::AppState;
use crate::auth::{Caller, Grants};
use crate::error::ApiError;
use crate::extract::{Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::page_query;
use crate::pagination::{Page, PageQuery, Paged};

/// The project routes.
pub fn routes() -> ApiRoutes {
    const PM: &str = "a project manager covering the project";
    ApiRoutes::new("Projects")
        .post(
            "/projects",
            create,
            Doc::new("Create a project (it starts `draft`; activating its first guide makes it `active`)")
                .who("a system-scoped project manager")
                .created("the project")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::ProjectSlugConflict]),
        )
        .get(
            "/projects",
            list,
            Doc::new("List the projects the caller can see")
                .who("anyone: each project in the view the caller's grants allow (a system project manager, operator, finance or audit grant sees all in full; contributors see `{id, name, status}`)")
                .ok("a page of projects")
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{project_id}",
            read,
            Doc::new("One project")
                .who("a covering project manager, operator, finance or audit authority (full view); a submitter, reviewer or adjudicator of the project (`{id, name, status}`)")
                .ok("the project"),
        )
        .post(
            "/projects/{project_id}/pause",
            pause,
            change_doc("Pause an active project: no new claims or submissions", PM),
        )
        .post(
            "/projects/{project_id}/resume",
            resume,
            change_doc("Resume a paused project", PM),
        )
        .post(
            "/projects/{project_id}/archive",
            archive,
            change_doc("Archive a project for good", PM),
        )
}

fn change_doc(summary: &'static str, who: &'static str) -> Doc {
    Doc::new(summary)
        .who(who)
        .ok("the project in its new status")
        .refuses(&[ErrorCode::PermissionNotGranted])
        .refuses(&[ErrorCode::TransitionNotAllowed])
}

/// How much of a project a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Managers, operators, finance and audit covering the project.
    Full,
    /// Contributors with a role on the project: `{id, name, status}`.
    Minimal,
    /// Nothing: every answer is the concealed 404.
    None,
}

/// What `grants` let the caller see of `project`.
pub fn visibility(grants: &Grants, project: Uuid) -> Visibility {
    let full = grants
        .admin(AdminRole::ProjectManager, Some(project))
        .is_some()
        || grants.admin(AdminRole::Operator, None).is_some()
        || grants
            .admin(AdminRole::FinanceAuthority, Some(project))
            .is_some()
        || grants
            .admin(AdminRole::AuditAuthority, Some(project))
            .is_some();
    let contributor = [
        ProjectRole::Submitter,
        ProjectRole::Reviewer,
        ProjectRole::Adjudicator,
    ]
    .into_iter()
    .any(|role| grants.project_role(project, role).is_some());
    if full {
        Visibility::Full
    } else if contributor {
        Visibility::Minimal
    } else {
        Visibility::None
    }
}

/// Allows the call when `allowed` holds; otherwise 403 `permission_not_granted` for a
/// caller who can see the project and the concealed 404 for anyone else.
pub fn require(caller: &Caller, project: Uuid, allowed: bool) -> Result<(), ApiError> {
    if allowed {
        return Ok(());
    }
    match visibility(&caller.grants, project) {
        Visibility::None => Err(ApiError::not_found()),
        _ => Err(ApiError::new(
            ErrorCode::PermissionNotGranted,
            "your grants do not allow this action on this project",
        )),
    }
}

/// Whether the caller holds a project manager grant covering `project`.
pub fn is_manager(caller: &Caller, project: Uuid) -> bool {
    caller
        .grants
        .admin(AdminRole::ProjectManager, Some(project))
        .is_some()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateProject {
    name: String,
    slug: String,
    #[serde(default)]
    description: String,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Json(body): Json<CreateProject>,
) -> Result<Answer<Project>, ApiError> {
    if caller
        .grants
        .admin(AdminRole::ProjectManager, None)
        .is_none()
    {
        return Err(ApiError::new(
            ErrorCode::PermissionNotGranted,
            "creating a project needs a system-scoped project manager grant",
        ));
    }
    let request = json!({ "path": "/projects", "body": { "name": body.name, "slug": body.slug, "description": body.description } });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "project.create",
        key,
        &request,
        async |tx| {
            let project = projects::create(
                tx,
                &acting,
                NewProject {
                    name: body.name,
                    slug: body.slug,
                    description: body.description,
                },
            )
            .await?;
            Ok((StatusCode::CREATED, project))
        },
    )
    .await
}

/// Whether a system-scoped grant lets the caller see every project in full.
fn sees_all(grants: &Grants) -> bool {
    [
        AdminRole::ProjectManager,
        AdminRole::Operator,
        AdminRole::FinanceAuthority,
        AdminRole::AuditAuthority,
    ]
    .into_iter()
    .any(|role| grants.admin(role, None).is_some())
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<ProjectView>>, ApiError> {
    let query = page_query(query)?;
    // The cursor is bound to the caller: their page boundaries mean nothing to others.
    let scope = format!("projects:{}", caller.actor_id);
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let among: Option<Vec<Uuid>> = (!sees_all(&caller.grants)).then(|| {
        let scoped = caller
            .grants
            .admin
            .iter()
            .filter_map(|g| g.scope.project_id());
        let contributor = caller.grants.project.iter().map(|g| g.project_id);
        let mut ids: Vec<Uuid> = scoped.chain(contributor).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    });
    let mut conn = state.pool.acquire().await?;
    let projects = projects::list(&mut conn, among.as_deref(), page.after, page.limit).await?;
    let next = page.next_cursor(
        projects.len(),
        projects.last().map(|p| p.id),
        &scope,
        &state.config.cursor_secret,
    );
    let items = projects
        .into_iter()
        .filter_map(|project| match visibility(&caller.grants, project.id) {
            Visibility::Full => Some(ProjectView::Full(project)),
            Visibility::Minimal => Some(ProjectView::Minimal(ProjectSummary::from(&project))),
            // A project-scoped grant of a role that shows nothing (an access
            // administrator holds none), so nothing is shown.
            Visibility::None => None,
        })
        .collect();
    Ok(axum::Json(Paged {
        items,
        next_cursor: next,
    }))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
) -> Result<axum::Json<ProjectView>, ApiError> {
    let visibility = visibility(&caller.grants, project_id);
    if visibility == Visibility::None {
        return Err(ApiError::not_found());
    }
    let mut conn = state.pool.acquire().await?;
    let project = projects::find(&mut conn, project_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(match visibility {
        Visibility::Full => ProjectView::Full(project),
        _ => ProjectView::Minimal(ProjectSummary::from(&project)),
    }))
}

/// A project as the caller may see it: in full (managers, operators, finance and
/// audit), or its name and status (submitters and reviewers).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ProjectView {
    /// The whole record.
    Full(Project),
    /// What a contributor may see.
    Minimal(ProjectSummary),
}

#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    #[serde(default)]
    reason: Option<String>,
}

async fn change(
    state: AppState,
    caller: Caller,
    key: IdempotencyKey,
    project_id: Uuid,
    body: StatusChange,
    to: ProjectStatus,
) -> Result<Answer<Project>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let (operation, action) = match to {
        ProjectStatus::Paused => ("project.pause", "pause"),
        ProjectStatus::Active => ("project.resume", "resume"),
        _ => ("project.archive", "archive"),
    };
    let request = json!({ "path": format!("/projects/{project_id}/{action}"), "body": { "reason": body.reason } });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        operation,
        key,
        &request,
        async |tx| {
            let project = projects::change_status(tx, &acting, project_id, to, body.reason).await?;
            Ok((StatusCode::OK, project))
        },
    )
    .await
}

/// The route handlers of the status changes, each one target of [`change`].
macro_rules! change_handlers {
    ($($handler:ident => $to:expr),+ $(,)?) => {$(
        async fn $handler(
            State(state): State<AppState>,
            caller: Caller,
            key: IdempotencyKey,
            Ids(project_id): Ids<Uuid>,
            Json(body): Json<StatusChange>,
        ) -> Result<Answer<Project>, ApiError> {
            change(state, caller, key, project_id, body, $to).await
        }
    )+};
}

change_handlers! {
    pause => ProjectStatus::Paused,
    resume => ProjectStatus::Active,
    archive => ProjectStatus::Archived,
}
