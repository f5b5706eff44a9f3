//! The auditor's pages: a project's tasks, and a task's audit trail with each event
//! proven against the audit ledger's signed checkpoint.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/audit` | `GET /projects` |
//! | `GET /ui/audit/projects/{pid}` | `GET /projects/{pid}`, `GET /projects/{pid}/tasks` |
//! | `GET /ui/audit/tasks/{tid}` | `GET /tasks/{tid}/audit-trail` (and the task's title from the management view) |
//!
//! The trail says first whether its events verify (each sealed one proven, from its
//! content as stored now, to be in the latest checkpoint, whose signature is checked
//! with the server's key), then lists them in ledger order with their positions and
//! digests; an event changed since its seal, or not sealed yet, is marked.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

use super::Ui;
use super::failure::Failure;
use super::form::Ids;
use super::home::page;
use super::session::Session;
use super::templates::s;
use super::urls::encode_segment;

pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/audit", get(index))
        .route("/ui/audit/projects/{pid}", get(project))
        .route("/ui/audit/tasks/{tid}", get(trail))
}

async fn index(State(ui): State<Ui>, session: Session) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let projects = ui.get(&session, "/projects?limit=100").await.json()?;
    Ok(page(
        "audit.html",
        &viewer,
        context! { projects => s(projects), project => s(()), tasks => s(()) },
    ))
}

#[derive(Debug, Default, Deserialize)]
struct Cursor {
    #[serde(default)]
    cursor: Option<String>,
}

async fn project(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    Query(query): Query<Cursor>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let project = ui
        .get(&session, &format!("/projects/{project_id}"))
        .await
        .json()?;
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| format!("?cursor={}", encode_segment(c)))
        .unwrap_or_default();
    let tasks = ui
        .get(&session, &format!("/projects/{project_id}/tasks{cursor}"))
        .await
        .json()?;
    Ok(page(
        "audit.html",
        &viewer,
        context! { projects => s(()), project => s(project), tasks => s(tasks) },
    ))
}

async fn trail(
    State(ui): State<Ui>,
    session: Session,
    Ids(task_id): Ids<Uuid>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let trail = ui
        .get(&session, &format!("/tasks/{task_id}/audit-trail"))
        .await
        .json()?;
    let project_id = trail["project_id"].as_str().unwrap_or_default();
    let task = ui
        .get(&session, &format!("/projects/{project_id}/tasks/{task_id}"))
        .await
        .optional()?
        .map(|t| t["task"].clone());
    Ok(page(
        "audit_trail.html",
        &viewer,
        context! { trail => s(trail), task => s(task) },
    ))
}
