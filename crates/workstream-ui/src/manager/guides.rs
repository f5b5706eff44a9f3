//! Guide versions: create, read with their policy bundle, edit a draft, preview its
//! checker policy, activate.
//!
//! An activation the gate refuses comes back on the guide page with the refusal's code
//! and its `details.errors[{path, message, code}]` as a table, one row per field (a
//! JSON pointer into the bundle), beside the bundle and an edit form holding it, so
//! the manager fixes the field and activates again. The bundle is edited as JSON text:
//! text that is not JSON is refused here, before the API, with `policy_bundle_not_json`
//! and the parser's line and column.
//!
//! Policy previews (`crates/workstream-engine/src/previews/`):
//!
//! | page | API calls |
//! |---|---|
//! | the guide page: a draft's preview form (how many submissions, the server's maximum by default) and every preview of the guide with its status; an active or superseded guide's preview recorded by its activation, with its totals | `GET /projects/{pid}/guides/{gid}/previews` (every page); for a guide no longer a draft, its `guide_activated` event (`GET /projects/{pid}/audit-events`), whose `policy_preview_id` names the preview |
//! | `POST /ui/projects/{pid}/guides/{gid}/previews`: start one, then its report | `POST /projects/{pid}/guides/{gid}/previews` |
//! | `GET /ui/projects/{pid}/guides/{gid}/previews/{prid}`: the report (totals, route flips, per checker the submissions newly failing and newly passing, the findings that appear or disappear, one row per submission with its recorded and draft routes); while the preview is queued or running the page says how far it got and reloads itself | `GET /projects/{pid}/guides/{gid}/previews/{prid}` |
//!
//! A submission in a report links to its task's page (the UI has no page of its own
//! for a submission); the report names each task and version.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::Ui;
use super::super::failure::{ApiFailure, Failure};
use super::super::form::{FormData, Ids};
use super::super::home::{Viewer, page, page_with, see_other, status_for};
use super::super::session::Session;
use super::super::templates::s;
use super::super::urls::encode_segment;
use super::super::worker::{Done, notice};
use super::{ListQuery, Posted, project_page};

pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/projects/{pid}/guides", post(create))
        .route("/ui/projects/{pid}/guides/{gid}", get(guide))
        .route("/ui/projects/{pid}/guides/{gid}/edit", post(edit))
        .route("/ui/projects/{pid}/guides/{gid}/activate", post(activate))
        .route(
            "/ui/projects/{pid}/guides/{gid}/previews",
            post(start_preview),
        )
        .route(
            "/ui/projects/{pid}/guides/{gid}/previews/{prid}",
            get(preview),
        )
}

/// The bundle textarea as JSON, or the refusal to show.
fn bundle_of(form: &FormData) -> Result<Option<Value>, Box<ApiFailure>> {
    let Some(text) = form.text("policy_bundle") else {
        return Ok(None);
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Box::new(ApiFailure::from_envelope(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"error": {"code": "policy_bundle_not_json",
                "message": format!("the policy bundle is not JSON: {e} (line {}, column {})",
                                   e.line(), e.column())}}),
        ))
    })
}

async fn create(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let refused = async |error: ApiFailure| {
        let viewer = ui.viewer(&session).await?;
        let posted = Posted::refused("guide", error, &form);
        project_page(
            &ui,
            &session,
            &viewer,
            project_id,
            &ListQuery::default(),
            posted,
        )
        .await
    };
    let bundle = match bundle_of(&form) {
        Ok(bundle) => bundle,
        Err(error) => return refused(*error).await,
    };
    let body = json!({
        "version": form.text("version").unwrap_or_default(),
        "content_markdown": form.get("content_markdown").unwrap_or_default(),
        "change_summary": form.text("change_summary").unwrap_or_default(),
        "policy_bundle": bundle,
    });
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/guides"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => {
            let id = answer.body["id"].as_str().unwrap_or_default();
            see_other(&format!(
                "/ui/projects/{project_id}/guides/{id}?done=created"
            ))
        }
        Some(error) => refused(error).await,
    }
}

async fn guide_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    project_id: Uuid,
    guide_id: Uuid,
    notice: Option<&str>,
    posted: Posted,
) -> Result<Response, Failure> {
    let guide = ui
        .get(
            session,
            &format!("/projects/{project_id}/guides/{guide_id}"),
        )
        .await
        .json()?;
    let project = ui
        .get(session, &format!("/projects/{project_id}"))
        .await
        .json()?;
    let bundle_text = match posted.values.get("policy_bundle") {
        Some(typed) => typed.clone(),
        None => serde_json::to_string_pretty(&guide["policy_bundle"]).unwrap_or_default(),
    };
    let previews = previews_of(ui, session, project_id, guide_id).await?;
    // What activation recorded: only a guide that was activated has it.
    let activation = if guide["status"] == "draft" {
        None
    } else {
        activation_preview(ui, session, project_id, guide_id, previews.as_deref()).await?
    };
    // The preview activation would record now: the most recently started completed one.
    let latest_completed = previews
        .iter()
        .flatten()
        .find(|p| p["status"] == "completed")
        .cloned();
    Ok(page_with(
        status_for(&posted.error),
        "guide.html",
        viewer,
        context! {
            project => s(project),
            guide => s(guide),
            bundle_text => s(bundle_text),
            previews => s(previews),
            latest_completed => s(latest_completed),
            activation => s(activation),
            preview_submissions => s(ui.preview_submissions),
            notice => s(notice),
            ..posted.context()
        },
    ))
}

/// Pages of a guide's previews read at most (100 each): far more than a guide is
/// previewed, and a bound on the page's cost whatever happens.
const PREVIEW_PAGES: usize = 10;

/// A guide's previews, most recently started first: the API's list (oldest first) read
/// page by page. `None` when the caller may not read them.
pub(super) async fn previews_of(
    ui: &Ui,
    session: &Session,
    project_id: Uuid,
    guide_id: Uuid,
) -> Result<Option<Vec<Value>>, Failure> {
    let mut previews = Vec::new();
    let mut cursor = String::new();
    for _ in 0..PREVIEW_PAGES {
        let path = format!("/projects/{project_id}/guides/{guide_id}/previews?limit=100{cursor}");
        let Some(page) = ui.get(session, &path).await.optional()? else {
            return Ok(None);
        };
        previews.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={}", encode_segment(next)),
            None => break,
        }
    }
    previews.reverse();
    Ok(Some(previews))
}

/// The preview the guide's activation recorded (`policy_preview_id` of its
/// `guide_activated` event, `crates/workstream-engine/src/guides.rs`): `{preview_id,
/// current, preview}`, `preview_id` null when it was activated without one; `None`
/// when the caller may not read the project's audit or the guide was never activated.
async fn activation_preview(
    ui: &Ui,
    session: &Session,
    project_id: Uuid,
    guide_id: Uuid,
    previews: Option<&[Value]>,
) -> Result<Option<Value>, Failure> {
    let Some(events) = ui
        .get(
            session,
            &format!(
                "/projects/{project_id}/audit-events?event_type=guide_activated\
                 &entity_id={guide_id}&limit=1"
            ),
        )
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let Some(event) = events["items"].get(0) else {
        return Ok(None);
    };
    let payload = &event["payload"];
    let Some(preview_id) = payload["policy_preview_id"].as_str() else {
        return Ok(Some(json!({ "preview_id": null })));
    };
    let listed = previews
        .into_iter()
        .flatten()
        .find(|p| p["id"].as_str() == Some(preview_id))
        .cloned();
    let preview = match listed {
        Some(preview) => Some(preview),
        None => ui
            .get(
                session,
                &format!("/projects/{project_id}/guides/{guide_id}/previews/{preview_id}"),
            )
            .await
            .optional()?
            .map(|report| report["preview"].clone()),
    };
    Ok(Some(json!({
        "preview_id": preview_id,
        "current": payload["policy_preview_current"],
        "preview": preview,
    })))
}

async fn guide(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let notice = notice(done.done.as_deref());
    guide_page(
        &ui,
        &session,
        &viewer,
        project_id,
        guide_id,
        notice,
        Posted::default(),
    )
    .await
}

async fn edit(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
    form: FormData,
) -> Result<Response, Failure> {
    let refused = async |error: ApiFailure| {
        let viewer = ui.viewer(&session).await?;
        let posted = Posted::refused("edit", error, &form);
        guide_page(&ui, &session, &viewer, project_id, guide_id, None, posted).await
    };
    let bundle = match bundle_of(&form) {
        Ok(bundle) => bundle,
        Err(error) => return refused(*error).await,
    };
    let mut body = json!({
        "content_markdown": form.get("content_markdown").unwrap_or_default(),
        "change_summary": form.text("change_summary").unwrap_or_default(),
    });
    if let Some(bundle) = bundle {
        body["policy_bundle"] = bundle;
    }
    let answer = ui
        .send(
            &session,
            Method::PATCH,
            &format!("/projects/{project_id}/guides/{guide_id}"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!(
            "/ui/projects/{project_id}/guides/{guide_id}?done=saved"
        )),
        Some(error) => refused(error).await,
    }
}

async fn activate(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
    form: FormData,
) -> Result<Response, Failure> {
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/guides/{guide_id}/activate"),
            &json!({}),
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!(
            "/ui/projects/{project_id}/guides/{guide_id}?done=activated"
        )),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("activate", error, &form);
            guide_page(&ui, &session, &viewer, project_id, guide_id, None, posted).await
        }
    }
}

async fn start_preview(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
    form: FormData,
) -> Result<Response, Failure> {
    // A blank field leaves the number to the server (its configured maximum); text
    // that is not a whole number goes as it is, for the API to refuse by field.
    let body = match form.text("submissions") {
        None => json!({}),
        Some(text) => match text.parse::<u64>() {
            Ok(n) => json!({ "submissions": n }),
            Err(_) => json!({ "submissions": text }),
        },
    };
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/guides/{guide_id}/previews"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => {
            let id = answer.body["id"].as_str().unwrap_or_default();
            see_other(&format!(
                "/ui/projects/{project_id}/guides/{guide_id}/previews/{id}?done=preview_started"
            ))
        }
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("preview", error, &form);
            guide_page(&ui, &session, &viewer, project_id, guide_id, None, posted).await
        }
    }
}

/// The preview's report (see the module docs).
async fn preview(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, guide_id, preview_id)): Ids<(Uuid, Uuid, Uuid)>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let report = ui
        .get(
            &session,
            &format!("/projects/{project_id}/guides/{guide_id}/previews/{preview_id}"),
        )
        .await
        .json()?;
    let guide = ui
        .get(
            &session,
            &format!("/projects/{project_id}/guides/{guide_id}"),
        )
        .await
        .json()?;
    let project = ui
        .get(&session, &format!("/projects/{project_id}"))
        .await
        .json()?;
    // The summary names submissions by id: their task and version, for the links.
    let submissions: serde_json::Map<String, Value> = report["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r["submission_id"].as_str()?.to_owned(),
                json!({ "task_id": r["task_id"], "version": r["submission_version"] }),
            ))
        })
        .collect();
    let running = matches!(
        report["preview"]["status"].as_str(),
        Some("queued" | "running")
    );
    Ok(page(
        "guide_preview.html",
        &viewer,
        context! {
            project => s(project),
            guide => s(guide),
            report => s(report),
            submissions => s(submissions),
            running => s(running),
            notice => s(notice(done.done.as_deref())),
        },
    ))
}
