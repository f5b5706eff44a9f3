//! What a project learns: lessons, and evaluation sprints with their reports.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/projects/{pid}/lessons`, `POST` (record one) | `GET\|POST /projects/{pid}/lessons` |
//! | `POST /ui/projects/{pid}/lessons/{lid}/accept\|reject\|implement` | the same routes of the API; an implemented lesson may name a completed policy preview as evidence, chosen among those of the guides not superseded (`GET /projects/{pid}/guides/{gid}/previews`) |
//! | `GET /ui/projects/{pid}/sprints`, `POST` (create one) | `GET\|POST /projects/{pid}/sprints`, and the reviewers' agreement: `GET /projects/{pid}/calibration` |
//! | `GET /ui/projects/{pid}/sprints/{sid}`, `POST .../report`, `POST .../tasks` | `GET /projects/{pid}/sprints/{sid}`, `POST .../report`, `POST .../tasks` |
//!
//! A sprint's window is typed as two dates (`YYYY-MM-DD`, from the start of the first
//! to the end of the second day, UTC) and its tasks as ids one per line or separated
//! by commas.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::Ui;
use super::super::failure::Failure;
use super::super::form::{FormData, Ids};
use super::super::home::{Viewer, page_with, see_other, status_for};
use super::super::session::Session;
use super::super::templates::s;
use super::super::worker::{Done, notice};
use super::Posted;

pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route(
            "/ui/projects/{pid}/lessons",
            get(lessons).post(record_lesson),
        )
        .route(
            "/ui/projects/{pid}/lessons/{lid}/{action}",
            post(lesson_action),
        )
        .route(
            "/ui/projects/{pid}/sprints",
            get(sprints).post(create_sprint),
        )
        .route("/ui/projects/{pid}/sprints/{sid}", get(sprint))
        .route(
            "/ui/projects/{pid}/sprints/{sid}/{action}",
            post(sprint_action),
        )
}

async fn lessons_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    project_id: Uuid,
    notice: Option<&str>,
    posted: Posted,
) -> Result<Response, Failure> {
    let project = ui
        .get(session, &format!("/projects/{project_id}"))
        .await
        .json()?;
    let lessons = ui
        .get(
            session,
            &format!("/projects/{project_id}/lessons?limit=100"),
        )
        .await
        .json()?;
    let guides = ui
        .get(session, &format!("/projects/{project_id}/guides?limit=100"))
        .await
        .optional()?;
    let evidence = preview_evidence(ui, session, project_id, guides.as_ref()).await?;
    Ok(page_with(
        status_for(&posted.error),
        "lessons.html",
        viewer,
        context! {
            project => s(project), lessons => s(lessons), guides => s(guides), notice => s(notice),
            evidence => s(evidence),
            sources => s(workstream_engine::lessons::SOURCES),
            lesson_types => s(workstream_engine::lessons::LESSON_TYPES),
            ..posted.context()
        },
    ))
}

/// The completed policy previews of the guides not superseded (drafts and the active
/// one), most recently started first: what an implemented lesson may cite as evidence.
/// Each is `{id, guide_id, guide_version, finished_at, summary}`.
async fn preview_evidence(
    ui: &Ui,
    session: &Session,
    project_id: Uuid,
    guides: Option<&Value>,
) -> Result<Vec<Value>, Failure> {
    let mut evidence = Vec::new();
    let current = guides
        .and_then(|g| g["items"].as_array())
        .into_iter()
        .flatten()
        .filter(|g| g["status"] != "superseded");
    for guide in current {
        let Some(guide_id) = guide["id"].as_str().and_then(|id| id.parse().ok()) else {
            continue;
        };
        let previews = super::guides::previews_of(ui, session, project_id, guide_id).await?;
        for preview in previews.into_iter().flatten() {
            if preview["status"] == "completed" {
                evidence.push(json!({
                    "id": preview["id"], "guide_id": guide_id, "guide_version": guide["version"],
                    "finished_at": preview["finished_at"], "summary": preview["summary"],
                }));
            }
        }
    }
    // Ids are UUIDv7: their text sorts by when the preview started.
    evidence.sort_by(|a, b| b["id"].as_str().cmp(&a["id"].as_str()));
    Ok(evidence)
}

async fn lessons(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let notice = notice(done.done.as_deref());
    lessons_page(
        &ui,
        &session,
        &viewer,
        project_id,
        notice,
        Posted::default(),
    )
    .await
}

/// Sets `body[key]` to the form's trimmed `key` when it is not blank.
fn optional(body: &mut Value, form: &FormData, key: &str) {
    if let Some(v) = form.text(key) {
        body[key] = json!(v);
    }
}

async fn record_lesson(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let mut body = json!({
        "source": form.text("source").unwrap_or_default(),
        "lesson_type": form.text("lesson_type").unwrap_or_default(),
        "summary": form.text("summary").unwrap_or_default(),
    });
    optional(&mut body, &form, "source_entity_id");
    optional(&mut body, &form, "recommended_change");
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/lessons"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!("/ui/projects/{project_id}/lessons?done=created")),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("lesson", error, &form);
            lessons_page(&ui, &session, &viewer, project_id, None, posted).await
        }
    }
}

async fn lesson_action(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, lesson_id, action)): Ids<(Uuid, Uuid, String)>,
    form: FormData,
) -> Result<Response, Failure> {
    let mut body = json!({});
    match action.as_str() {
        "accept" => optional(&mut body, &form, "note"),
        "reject" => body["reason"] = json!(form.text("reason").unwrap_or_default()),
        "implement" => {
            optional(&mut body, &form, "guide_id");
            optional(&mut body, &form, "checker_digest");
            optional(&mut body, &form, "preview_id");
            optional(&mut body, &form, "note");
        }
        _ => return Err(Failure::NotFound),
    }
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/lessons/{lesson_id}/{action}"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!("/ui/projects/{project_id}/lessons?done=updated")),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let mut posted = Posted::refused("lesson_action", error, &form);
            posted
                .values
                .insert("lesson_id".into(), lesson_id.to_string());
            lessons_page(&ui, &session, &viewer, project_id, None, posted).await
        }
    }
}

async fn sprints_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    project_id: Uuid,
    notice: Option<&str>,
    posted: Posted,
) -> Result<Response, Failure> {
    let project = ui
        .get(session, &format!("/projects/{project_id}"))
        .await
        .json()?;
    let sprints = ui
        .get(
            session,
            &format!("/projects/{project_id}/sprints?limit=100"),
        )
        .await
        .json()?;
    let calibration = ui
        .get(session, &format!("/projects/{project_id}/calibration"))
        .await
        .json()?;
    Ok(page_with(
        status_for(&posted.error),
        "sprints.html",
        viewer,
        context! { project => s(project), sprints => s(sprints), calibration => s(calibration), notice => s(notice), ..posted.context() },
    ))
}

async fn sprints(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let notice = notice(done.done.as_deref());
    sprints_page(
        &ui,
        &session,
        &viewer,
        project_id,
        notice,
        Posted::default(),
    )
    .await
}

/// Task ids typed one per line or comma-separated.
fn task_ids(form: &FormData) -> Vec<String> {
    form.get("task_ids")
        .unwrap_or_default()
        .split([',', '\n', ' ', '\r', '\t'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A date typed as `YYYY-MM-DD` as the start (or the end) of that day in UTC; other
/// text goes to the API as typed, which refuses it.
fn day(form: &FormData, key: &str, end: bool) -> String {
    let text = form.text(key).unwrap_or_default();
    match chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        Ok(date) if end => format!("{date}T23:59:59Z"),
        Ok(date) => format!("{date}T00:00:00Z"),
        Err(_) => text,
    }
}

async fn create_sprint(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let mut body = json!({
        "name": form.text("name").unwrap_or_default(),
        "starts_at": day(&form, "starts_at", false),
        "ends_at": day(&form, "ends_at", true),
        "task_ids": task_ids(&form),
    });
    optional(&mut body, &form, "description");
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/sprints"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => {
            let id = answer.body["id"].as_str().unwrap_or_default();
            see_other(&format!(
                "/ui/projects/{project_id}/sprints/{id}?done=created"
            ))
        }
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("sprint", error, &form);
            sprints_page(&ui, &session, &viewer, project_id, None, posted).await
        }
    }
}

async fn sprint_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    project_id: Uuid,
    sprint_id: Uuid,
    notice: Option<&str>,
    posted: Posted,
) -> Result<Response, Failure> {
    let project = ui
        .get(session, &format!("/projects/{project_id}"))
        .await
        .json()?;
    let sprint = ui
        .get(
            session,
            &format!("/projects/{project_id}/sprints/{sprint_id}"),
        )
        .await
        .json()?;
    Ok(page_with(
        status_for(&posted.error),
        "sprint.html",
        viewer,
        context! { project => s(project), sprint => s(sprint), notice => s(notice), ..posted.context() },
    ))
}

async fn sprint(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, sprint_id)): Ids<(Uuid, Uuid)>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let notice = notice(done.done.as_deref());
    sprint_page(
        &ui,
        &session,
        &viewer,
        project_id,
        sprint_id,
        notice,
        Posted::default(),
    )
    .await
}

async fn sprint_action(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, sprint_id, action)): Ids<(Uuid, Uuid, String)>,
    form: FormData,
) -> Result<Response, Failure> {
    let (body, done) = match action.as_str() {
        "report" => (json!({}), "reported"),
        "tasks" => (json!({ "task_ids": task_ids(&form) }), "updated"),
        _ => return Err(Failure::NotFound),
    };
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/sprints/{sprint_id}/{action}"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!(
            "/ui/projects/{project_id}/sprints/{sprint_id}?done={done}"
        )),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused(
                if action == "report" {
                    "report"
                } else {
                    "tasks"
                },
                error,
                &form,
            );
            sprint_page(&ui, &session, &viewer, project_id, sprint_id, None, posted).await
        }
    }
}
