//! Tasks from a manager's side: create, the management view, screen, release, assign
//! to a submitter of the project, return to draft, cancel.
//!
//! The management view shows the locks a screening stamped (guide, bundle and policy
//! hashes, the contribution policy version), the active assignment, every checker run
//! in the full view (digests, fuel, failure codes), the reviews, and a link to the
//! task's audit trail. The actions a state allows are offered; which are allowed is
//! still the API's decision, and a refusal is shown with its code.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde_json::json;
use uuid::Uuid;
use workstream_domain::lifecycle::TaskState;

use super::super::Ui;
use super::super::failure::Failure;
use super::super::form::{FormData, Ids};
use super::super::home::{Viewer, page_with, see_other, status_for};
use super::super::session::Session;
use super::super::templates::s;
use super::super::worker::{Done, notice};
use super::{ListQuery, Posted, project_page};

pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/projects/{pid}/tasks", post(create))
        .route("/ui/projects/{pid}/tasks/{tid}", get(task))
        .route("/ui/projects/{pid}/tasks/{tid}/{action}", post(act))
}

async fn create(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let mut body = json!({
        "title": form.text("title").unwrap_or_default(),
        "description": form.text("description").unwrap_or_default(),
        "acceptance_criteria": form.text("acceptance_criteria").unwrap_or_default(),
        "rejection_criteria": form.text("rejection_criteria").unwrap_or_default(),
    });
    if let Some(difficulty) = form.text("difficulty") {
        body["difficulty"] = json!(difficulty);
    }
    if let Some(minutes) = form.text("estimated_time_minutes") {
        // Not a number goes to the API as text, which refuses it with its code.
        body["estimated_time_minutes"] = minutes
            .parse::<i64>()
            .map_or_else(|_| json!(minutes), |n| json!(n));
    }
    let tags: Vec<String> = form
        .get("skill_tags")
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if !tags.is_empty() {
        body["skill_tags"] = json!(tags);
    }
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/tasks"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => {
            let id = answer.body["task"]["id"].as_str().unwrap_or_default();
            see_other(&format!(
                "/ui/projects/{project_id}/tasks/{id}?done=created"
            ))
        }
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("task", error, &form);
            project_page(
                &ui,
                &session,
                &viewer,
                project_id,
                &ListQuery::default(),
                posted,
            )
            .await
        }
    }
}

async fn task_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    project_id: Uuid,
    task_id: Uuid,
    notice: Option<&str>,
    posted: Posted,
) -> Result<Response, Failure> {
    let task = ui
        .get(session, &format!("/projects/{project_id}/tasks/{task_id}"))
        .await
        .json()?;
    let project = ui
        .get(session, &format!("/projects/{project_id}"))
        .await
        .json()?;
    let runs = ui
        .get(session, &format!("/tasks/{task_id}/checker-runs"))
        .await
        .optional()?;
    let reviews = ui
        .get(session, &format!("/tasks/{task_id}/reviews"))
        .await
        .optional()?;
    // A ready task can be assigned: to one of the project's submitters.
    let submitters = if task["task"]["status"] == TaskState::Ready.as_str() {
        ui.get(
            session,
            &format!("/projects/{project_id}/role-grants?role=submitter&limit=100"),
        )
        .await
        .optional()?
    } else {
        None
    };
    Ok(page_with(
        status_for(&posted.error),
        "manage_task.html",
        viewer,
        context! {
            project => s(project),
            task => s(task["task"].clone()),
            runs => s(runs),
            reviews => s(reviews),
            submitters => s(submitters),
            notice => s(notice),
            ..posted.context()
        },
    ))
}

async fn task(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, task_id)): Ids<(Uuid, Uuid)>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let notice = notice(done.done.as_deref());
    task_page(
        &ui,
        &session,
        &viewer,
        project_id,
        task_id,
        notice,
        Posted::default(),
    )
    .await
}

async fn act(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, task_id, action)): Ids<(Uuid, Uuid, String)>,
    form: FormData,
) -> Result<Response, Failure> {
    let done = match action.as_str() {
        "screen" => "screened",
        "release" => "released",
        "assign" => "assigned",
        "return-to-draft" | "cancel" => "updated",
        _ => return Err(Failure::NotFound),
    };
    let mut body = json!({});
    if action == "assign" {
        // Not a profile id goes to the API as typed, which refuses it with its code.
        body["assignee_actor_id"] = json!(form.text("assignee_actor_id").unwrap_or_default());
    }
    if let Some(reason) = form.text("reason") {
        body["reason"] = json!(reason);
    } else if action != "screen" {
        // A missing reason is the API's to refuse (422 `reason_required`), not ours.
        body["reason"] = json!("");
    }
    let answer = ui
        .post(
            &session,
            &format!("/tasks/{task_id}/{action}"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!(
            "/ui/projects/{project_id}/tasks/{task_id}?done={done}"
        )),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("action", error, &form);
            task_page(&ui, &session, &viewer, project_id, task_id, None, posted).await
        }
    }
}
