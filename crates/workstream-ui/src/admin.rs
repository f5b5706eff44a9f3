//! The access administrator's pages: administrative grants and service principals.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/admin/grants`, `POST` (grant) | `GET\|POST /admin-role-grants` |
//! | `POST /ui/admin/grants/{gid}/revoke` | `POST /admin-role-grants/{gid}/revoke` |
//! | `GET /ui/admin/service-actors`, `POST` (create) | `GET\|POST /service-actors` |
//!
//! An audit authority reads both pages; only an access administrator's forms succeed
//! (anyone else meets the API's refusal inline). Like a manager's grant, an
//! administrative grant names its person by the subject they sign in with, or a
//! profile id.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde_json::json;
use uuid::Uuid;
use workstream_domain::roles::AdminRole;

use super::Ui;
use super::failure::Failure;
use super::form::{FormData, Ids};
use super::home::{Viewer, page_with, see_other, status_for};
use super::manager::Posted;
use super::session::Session;
use super::templates::s;
use super::urls::encode_segment;
use super::worker::{Done, notice};

pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/admin/grants", get(grants).post(grant))
        .route("/ui/admin/grants/{gid}/revoke", post(revoke))
        .route(
            "/ui/admin/service-actors",
            get(service_actors).post(create_service_actor),
        )
}

#[derive(Debug, Default, serde::Deserialize)]
struct GrantsQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

async fn grants_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    query: &GrantsQuery,
    posted: Posted,
) -> Result<Response, Failure> {
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| format!("&cursor={}", encode_segment(c)))
        .unwrap_or_default();
    let grants = ui
        .get(session, &format!("/admin-role-grants?limit=100{cursor}"))
        .await
        .json()?;
    let roles: Vec<&str> = AdminRole::ALL.iter().map(|r| r.as_str()).collect();
    Ok(page_with(
        status_for(&posted.error),
        "admin_grants.html",
        viewer,
        context! {
            grants => s(grants), roles => s(roles),
            notice => s(notice(query.done.as_deref())), ..posted.context()
        },
    ))
}

async fn grants(
    State(ui): State<Ui>,
    session: Session,
    Query(query): Query<GrantsQuery>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    grants_page(&ui, &session, &viewer, &query, Posted::default()).await
}

async fn grant(
    State(ui): State<Ui>,
    session: Session,
    form: FormData,
) -> Result<Response, Failure> {
    let person = form.text("person").unwrap_or_default();
    let mut body = json!({
        "role": form.text("role").unwrap_or_default(),
        "scope_type": form.text("scope_type").unwrap_or_else(|| "system".into()),
        "reason": form.text("reason").unwrap_or_default(),
    });
    if let Some(project) = form.text("scope_project_id") {
        body["scope_project_id"] = json!(project);
    }
    match person.parse::<Uuid>() {
        Ok(id) => body["target_actor_profile_id"] = json!(id),
        Err(_) => body["target_subject"] = json!(person),
    }
    let answer = ui
        .post(&session, "/admin-role-grants", &body, &form.key())
        .await;
    match answer.refusal()? {
        None => see_other("/ui/admin/grants?done=granted"),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("grant", error, &form);
            grants_page(&ui, &session, &viewer, &GrantsQuery::default(), posted).await
        }
    }
}

async fn revoke(
    State(ui): State<Ui>,
    session: Session,
    Ids(grant_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let body = json!({ "reason": form.text("reason").unwrap_or_default() });
    let answer = ui
        .post(
            &session,
            &format!("/admin-role-grants/{grant_id}/revoke"),
            &body,
            &form.key(),
        )
        .await;
    match answer.refusal()? {
        None => see_other("/ui/admin/grants?done=revoked"),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let mut posted = Posted::refused("revoke", error, &form);
            posted
                .values
                .insert("grant_id".into(), grant_id.to_string());
            grants_page(&ui, &session, &viewer, &GrantsQuery::default(), posted).await
        }
    }
}

async fn service_actors_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    notice: Option<&str>,
    posted: Posted,
) -> Result<Response, Failure> {
    let services = ui.get(session, "/service-actors").await.json()?;
    Ok(page_with(
        status_for(&posted.error),
        "service_actors.html",
        viewer,
        context! { services => s(services), notice => s(notice), ..posted.context() },
    ))
}

async fn service_actors(
    State(ui): State<Ui>,
    session: Session,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let notice = notice(done.done.as_deref());
    service_actors_page(&ui, &session, &viewer, notice, Posted::default()).await
}

async fn create_service_actor(
    State(ui): State<Ui>,
    session: Session,
    form: FormData,
) -> Result<Response, Failure> {
    let body = json!({
        "service_identity": form.text("service_identity").unwrap_or_default(),
        "subject": form.text("subject").unwrap_or_default(),
        "reason": form.text("reason").unwrap_or_default(),
    });
    let answer = ui
        .post(&session, "/service-actors", &body, &form.key())
        .await;
    match answer.refusal()? {
        None => see_other("/ui/admin/service-actors?done=created"),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let posted = Posted::refused("service", error, &form);
            service_actors_page(&ui, &session, &viewer, None, posted).await
        }
    }
}
