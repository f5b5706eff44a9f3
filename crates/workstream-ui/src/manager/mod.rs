//! The project manager's pages (operators and auditors read them too, as far as the
//! API lets them).
//!
//! | page | module | API calls |
//! |---|---|---|
//! | `GET /ui/projects`, `POST /ui/projects` | here | `GET /projects`, `POST /projects` |
//! | `GET /ui/projects/{pid}`, `POST .../pause\|resume\|archive` | here | `GET /projects/{pid}`, `.../guides`, `.../tasks`; the status changes |
//! | guides: `GET /ui/projects/{pid}/guides/{gid}`, create, edit, activate; a draft's policy previews and `GET .../previews/{prid}` (the report) | [`guides`] | `POST\|GET\|PATCH /projects/{pid}/guides...`, `POST .../activate`, `POST\|GET .../previews`, `GET .../previews/{prid}`, the guide's `guide_activated` event |
//! | tasks: create, `GET /ui/projects/{pid}/tasks/{tid}`, screen, release, return to draft, cancel | [`tasks`] | `POST /projects/{pid}/tasks`, `GET /projects/{pid}/tasks/{tid}`, `POST /tasks/{tid}/...`, `GET /tasks/{tid}/checker-runs` (full view) |
//! | `GET /ui/checkers` (who published each component, the active guides that pin it, its recent runs), `POST /ui/checkers` (publish one) | [`checkers`] | `GET /checkers`, `POST /checkers` |
//! | lessons and sprints | [`learning`] | `/projects/{pid}/lessons...`, `/projects/{pid}/sprints...` |
//! | the project's people: members by role, grant and revoke | [`members`] | `/projects/{pid}/role-grants...` |
//!
//! A refused form comes back on its page with what was typed and the API's error
//! beside it; the project page has several forms, so [`Posted`] says which one.

mod checkers;
mod guides;
mod learning;
mod members;
mod tasks;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value as Ctx, context};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Ui;
use super::failure::{ApiFailure, Failure};
use super::form::{FormData, Ids};
use super::home::{Viewer, page_with, see_other, status_for};
use super::session::Session;
use super::templates::s;
use super::worker::notice;

/// The manager routes.
pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/projects", get(projects).post(create_project))
        .route("/ui/projects/{pid}", get(project))
        .route("/ui/projects/{pid}/{change}", post(change_project))
        .merge(checkers::routes())
        .merge(guides::routes())
        .merge(tasks::routes())
        .merge(learning::routes())
        .merge(members::routes())
}

/// A refused form and what was typed into it.
#[derive(Default)]
pub(crate) struct Posted {
    /// Which form on the page.
    form: &'static str,
    pub(crate) error: Option<ApiFailure>,
    pub(crate) values: std::collections::BTreeMap<String, String>,
}

impl Posted {
    pub(crate) fn refused(form: &'static str, error: ApiFailure, typed: &FormData) -> Posted {
        Posted {
            form,
            error: Some(error),
            values: typed.values(),
        }
    }

    pub(crate) fn context(&self) -> Ctx {
        context! {
            posted_form => s(self.form),
            error => s(self.error.clone()),
            typed => s(&self.values),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

fn cursor_param(cursor: &Option<String>) -> String {
    cursor
        .as_deref()
        .map(|c| format!("?cursor={}", super::urls::encode_segment(c)))
        .unwrap_or_default()
}

async fn projects_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    cursor: &Option<String>,
    posted: Posted,
) -> Result<Response, Failure> {
    let projects = ui
        .get(session, &format!("/projects{}", cursor_param(cursor)))
        .await
        .json()?;
    let creates = viewer.me["admin_roles"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| r == "project_manager"));
    Ok(page_with(
        status_for(&posted.error),
        "projects.html",
        viewer,
        context! { projects => s(projects), creates => s(creates), ..posted.context() },
    ))
}

async fn projects(
    State(ui): State<Ui>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    projects_page(&ui, &session, &viewer, &query.cursor, Posted::default()).await
}

async fn create_project(
    State(ui): State<Ui>,
    session: Session,
    form: FormData,
) -> Result<Response, Failure> {
    let mut body = json!({
        "name": form.text("name").unwrap_or_default(),
        "slug": form.text("slug").unwrap_or_default(),
    });
    if let Some(description) = form.text("description") {
        body["description"] = json!(description);
    }
    let answer = ui.post(&session, "/projects", &body, &form.key()).await;
    match answer.refusal()? {
        None => {
            let id = answer.body["id"].as_str().unwrap_or_default();
            see_other(&format!("/ui/projects/{id}?done=created"))
        }
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("project", error, &form);
            projects_page(&ui, &session, &viewer, &None, posted).await
        }
    }
}

/// The project page (see the module docs); `posted` is a refused form of it.
async fn project_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    project_id: Uuid,
    query: &ListQuery,
    posted: Posted,
) -> Result<Response, Failure> {
    let project = ui
        .get(session, &format!("/projects/{project_id}"))
        .await
        .json()?;
    let guides = ui
        .get(session, &format!("/projects/{project_id}/guides?limit=100"))
        .await
        .optional()?;
    let tasks = ui
        .get(
            session,
            &format!(
                "/projects/{project_id}/tasks{}",
                cursor_param(&query.cursor)
            ),
        )
        .await
        .optional()?;
    // The walk-through's bundle prefills a new guide: a complete, valid starting point.
    let example: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/walkthrough/guide.json"
    )))
    .unwrap_or(Value::Null);
    let example_bundle = example["policy_bundle"].clone();
    Ok(page_with(
        status_for(&posted.error),
        "project.html",
        viewer,
        context! {
            project => s(project),
            guides => s(guides),
            tasks => s(tasks),
            example_bundle => s(serde_json::to_string_pretty(&example_bundle).unwrap_or_default()),
            notice => s(notice(query.done.as_deref())),
            ..posted.context()
        },
    ))
}

async fn project(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    project_page(
        &ui,
        &session,
        &viewer,
        project_id,
        &query,
        Posted::default(),
    )
    .await
}

async fn change_project(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, change)): Ids<(Uuid, String)>,
    form: FormData,
) -> Result<Response, Failure> {
    if !["pause", "resume", "archive"].contains(&change.as_str()) {
        return Err(Failure::NotFound);
    }
    let mut body = json!({});
    if let Some(reason) = form.text("reason") {
        body["reason"] = json!(reason);
    }
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/{change}"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!("/ui/projects/{project_id}?done=updated")),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("project_status", error, &form);
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
