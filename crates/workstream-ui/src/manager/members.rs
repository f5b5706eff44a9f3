//! The project's people: who holds which contributor role, granting and revoking.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/projects/{pid}/members` | `GET /projects/{pid}`, `GET /projects/{pid}/role-grants` (every page) |
//! | `POST /ui/projects/{pid}/members` (grant) | `POST /projects/{pid}/role-grants` |
//! | `POST /ui/projects/{pid}/members/{gid}/revoke` | `POST /projects/{pid}/role-grants/{gid}/revoke` |
//!
//! A person is named by the subject they sign in with (or a profile id): the API
//! resolves it, and says so plainly when nobody has signed in with it yet. Both changes
//! need a reason, which the audit event keeps.

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

/// The contributor roles, in the order the page lists them.
const ROLES: [&str; 3] = ["submitter", "reviewer", "adjudicator"];

pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/projects/{pid}/members", get(members).post(grant))
        .route("/ui/projects/{pid}/members/{gid}/revoke", post(revoke))
}

/// Every active grant of the project (a project has tens of members, not thousands;
/// the pages are followed to the end so the lists are whole).
async fn all_grants(ui: &Ui, session: &Session, project_id: Uuid) -> Result<Vec<Value>, Failure> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = ui
            .get(
                session,
                &format!(
                    "/projects/{project_id}/role-grants?limit=100&cursor={}",
                    super::super::urls::encode_segment(&cursor)
                ),
            )
            .await
            .json()?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = next.to_owned(),
            _ => return Ok(items),
        }
    }
}

async fn members_page(
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
    let grants = all_grants(ui, session, project_id).await?;
    let by_role: Vec<Value> = ROLES
        .iter()
        .map(|role| {
            let holders: Vec<&Value> = grants.iter().filter(|g| g["role"] == *role).collect();
            json!({ "role": role, "grants": holders })
        })
        .collect();
    Ok(page_with(
        status_for(&posted.error),
        "members.html",
        viewer,
        context! {
            project => s(project), roles => s(by_role), role_names => s(ROLES),
            notice => s(notice), ..posted.context()
        },
    ))
}

async fn members(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let notice = notice(done.done.as_deref());
    members_page(
        &ui,
        &session,
        &viewer,
        project_id,
        notice,
        Posted::default(),
    )
    .await
}

async fn grant(
    State(ui): State<Ui>,
    session: Session,
    Ids(project_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let person = form.text("person").unwrap_or_default();
    let mut body = json!({
        "role": form.text("role").unwrap_or_default(),
        "reason": form.text("reason").unwrap_or_default(),
    });
    // A profile id as such, anything else as the subject the person signs in with.
    match person.parse::<Uuid>() {
        Ok(id) => body["target_actor_profile_id"] = json!(id),
        Err(_) => body["target_subject"] = json!(person),
    }
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/role-grants"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!("/ui/projects/{project_id}/members?done=granted")),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("grant", error, &form);
            members_page(&ui, &session, &viewer, project_id, None, posted).await
        }
    }
}

async fn revoke(
    State(ui): State<Ui>,
    session: Session,
    Ids((project_id, grant_id)): Ids<(Uuid, Uuid)>,
    form: FormData,
) -> Result<Response, Failure> {
    let body = json!({ "reason": form.text("reason").unwrap_or_default() });
    let answer = ui
        .post(
            &session,
            &format!("/projects/{project_id}/role-grants/{grant_id}/revoke"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other(&format!("/ui/projects/{project_id}/members?done=revoked")),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let mut posted = Posted::refused("revoke", error, &form);
            posted
                .values
                .insert("grant_id".into(), grant_id.to_string());
            members_page(&ui, &session, &viewer, project_id, None, posted).await
        }
    }
}
