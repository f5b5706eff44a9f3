//! Finance: contribution policies, units and bindings, awards with their delivery and
//! payment status, and the reconciliation report, per project.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/finance` | `GET /projects` |
//! | `GET /ui/finance/projects/{pid}` | `GET /projects/{pid}/contribution-policies/current` and the published and draft versions, `.../compensation-units`, `.../adapter-bindings`, `.../compensation/awards`, `.../compensation/reconciliation` |
//! | `POST /ui/finance/projects/{pid}/drafts` | `POST .../contribution-policies/drafts {name}` |
//! | `POST /ui/finance/projects/{pid}/versions/{vid}/terms` | `PUT .../contribution-policies/{cp}/versions/{vid} {rules}` (the rules typed as JSON) |
//! | `POST /ui/finance/projects/{pid}/versions/{vid}/publication` | `POST .../versions/{vid}/publication` |
//! | `POST /ui/finance/projects/{pid}/rebuild` | `POST .../compensation/projections/rebuild` |
//!
//! The finance routes conceal themselves from everyone without finance (or, for the
//! reads, audit) authority on the project, so for anyone else this is the 404 page.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Ui;
use super::failure::{ApiFailure, Failure};
use super::form::{FormData, Ids};
use super::home::{Viewer, page, page_with, see_other, status_for};
use super::session::Session;
use super::templates::s;
use super::worker::{Done, notice};

pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/finance", get(index))
        .route("/ui/finance/projects/{pid}", get(project))
        .route("/ui/finance/projects/{pid}/drafts", post(new_draft))
        .route("/ui/finance/projects/{pid}/rebuild", post(rebuild))
        .route(
            "/ui/finance/projects/{pid}/policies/{cp}/versions/{vid}/{action}",
            post(version_action),
        )
}

async fn index(State(ui): State<Ui>, session: Session) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let projects = ui.get(&session, "/projects?limit=100").await.json()?;
    Ok(page(
        "finance.html",
        &viewer,
        context! { projects => s(projects) },
    ))
}

/// A refused finance form and what was typed.
#[derive(Default)]
struct Refused {
    form: &'static str,
    error: Option<ApiFailure>,
    rules: Option<String>,
}

async fn project_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    project_id: Uuid,
    notice: Option<&str>,
    refused: Refused,
) -> Result<Response, Failure> {
    let base = format!("/projects/{project_id}");
    // The awards read is the concealing one: without finance or audit authority on the
    // project it is a 404, and so is this page.
    let awards = ui
        .get(session, &format!("{base}/compensation/awards?limit=100"))
        .await
        .json()?;
    let project = ui.get(session, &base).await.json()?;
    let reconciliation = ui
        .get(session, &format!("{base}/compensation/reconciliation"))
        .await
        .optional()?;
    let current = ui
        .get(session, &format!("{base}/contribution-policies/current"))
        .await
        .optional()?;
    let mut published = None;
    let mut draft = None;
    if let Some(current) = &current
        && let Some(policy) = current["contribution_policy_id"].as_str()
    {
        for (slot, key) in [
            (&mut published, "current_published_version_id"),
            (&mut draft, "open_draft_version_id"),
        ] {
            if let Some(version) = current[key].as_str() {
                *slot = ui
                    .get(
                        session,
                        &format!("{base}/contribution-policies/{policy}?version_id={version}"),
                    )
                    .await
                    .optional()?;
            }
        }
    }
    let units = ui
        .get(session, &format!("{base}/compensation-units"))
        .await
        .optional()?;
    let bindings = ui
        .get(session, &format!("{base}/adapter-bindings"))
        .await
        .optional()?;
    let draft_rules = refused.rules.clone().unwrap_or_else(|| {
        draft
            .as_ref()
            .map(|d: &Value| serde_json::to_string_pretty(&d["rules"]).unwrap_or_default())
            .unwrap_or_default()
    });
    Ok(page_with(
        status_for(&refused.error),
        "finance_project.html",
        viewer,
        context! {
            project => s(project),
            awards => s(awards),
            reconciliation => s(reconciliation),
            current => s(current),
            published => s(published),
            draft => s(draft),
            draft_rules => s(draft_rules),
            units => s(units),
            bindings => s(bindings),
            notice => s(notice),
            posted_form => s(refused.form),
            error => s(refused.error),
        },
    ))
}

async fn project(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let notice = notice(done.done.as_deref());
    project_page(
        &ui,
        &session,
        &viewer,
        project_id,
        notice,
        Refused::default(),
    )
    .await
}

async fn refused_page(
    ui: &Ui,
    session: &Session,
    project_id: Uuid,
    refused: Refused,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(session).await?;
    project_page(ui, session, &viewer, project_id, None, refused).await
}

async fn new_draft(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let body = json!({ "name": form.text("name").unwrap_or_default() });
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/contribution-policies/drafts"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!("/ui/finance/projects/{project_id}?done=created")),
        Some(error) => {
            let refused = Refused {
                form: "draft",
                error: Some(error),
                rules: None,
            };
            refused_page(&ui, &session, project_id, refused).await
        }
    }
}

async fn rebuild(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/compensation/projections/rebuild"),
            &json!({}),
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!("/ui/finance/projects/{project_id}?done=updated")),
        Some(error) => {
            let refused = Refused {
                form: "rebuild",
                error: Some(error),
                rules: None,
            };
            refused_page(&ui, &session, project_id, refused).await
        }
    }
}

async fn version_action(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, policy_id, version_id, action)): Ids<(Uuid, Uuid, Uuid, String)>,
    form: FormData,
) -> Result<Response, Failure> {
    let path =
        format!("/projects/{project_id}/contribution-policies/{policy_id}/versions/{version_id}");
    let typed = form.get("rules").map(str::to_owned);
    let answer = match action.as_str() {
        "terms" => {
            let rules: Value = match serde_json::from_str(typed.as_deref().unwrap_or("")) {
                Ok(rules) => rules,
                Err(e) => {
                    let error = ApiFailure::from_envelope(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &json!({"error": {"code": "contribution_rules_not_json",
                            "message": format!("the rules are not JSON: {e}")}}),
                    );
                    let refused = Refused {
                        form: "terms",
                        error: Some(error),
                        rules: typed,
                    };
                    return refused_page(&ui, &session, project_id, refused).await;
                }
            };
            ui.send(
                &session,
                Method::PUT,
                &path,
                &json!({ "rules": rules }),
                &form.key(),
            )
            .await
        }
        "publication" => {
            ui.post(
                &session,
                &format!("{path}/publication"),
                &json!({}),
                &form.key(),
            )
            .await
        }
        _ => return Err(Failure::NotFound),
    };
    match answer.refusal()? {
        None => see_other(&format!(
            "/ui/finance/projects/{project_id}?done={}",
            if action == "terms" {
                "saved"
            } else {
                "published"
            }
        )),
        Some(error) => {
            let refused = Refused {
                form: if action == "terms" {
                    "terms"
                } else {
                    "publication"
                },
                error: Some(error),
                rules: typed,
            };
            refused_page(&ui, &session, project_id, refused).await
        }
    }
}
