//! Guide versions: create, read with their policy bundle, edit a draft, activate.
//!
//! An activation the gate refuses comes back on the guide page with the refusal's code
//! and its `details.errors[{path, message, code}]` as a table, one row per field (a
//! JSON pointer into the bundle), beside the bundle and an edit form holding it, so
//! the manager fixes the field and activates again. The bundle is edited as JSON text:
//! text that is not JSON is refused here, before the API, with `policy_bundle_not_json`
//! and the parser's line and column.

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
use super::super::home::{Viewer, page_with, see_other, status_for};
use super::super::session::Session;
use super::super::templates::s;
use super::super::worker::{Done, notice};
use super::{ListQuery, Posted, project_page};

pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/projects/{pid}/guides", post(create))
        .route("/ui/projects/{pid}/guides/{gid}", get(guide))
        .route("/ui/projects/{pid}/guides/{gid}/edit", post(edit))
        .route("/ui/projects/{pid}/guides/{gid}/activate", post(activate))
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
    Ok(page_with(
        status_for(&posted.error),
        "guide.html",
        viewer,
        context! {
            project => s(project),
            guide => s(guide),
            bundle_text => s(bundle_text),
            notice => s(notice),
            ..posted.context()
        },
    ))
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
