//! Who is signed in, the home page, and the pages for what went wrong.
//!
//! [`Viewer`] is `GET /actors/me` (which also proves the session is still good) and
//! the areas its grants open: work for a submitter, review for a reviewer, projects for
//! a project manager, operator or auditor, finance for a finance authority, audit for
//! an audit authority, access for an access administrator. That only decides which links the header shows; each page's
//! data comes from the API, which decides what the caller may see.
//!
//! A handler that cannot show its page returns a [`Failure`]; [`finish`] turns it into
//! the sign-in redirect (remembering the page), the 404 page, or the error page with
//! the API's code, message and details.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use minijinja::{Value as Ctx, context};
use serde::Serialize;
use serde_json::Value;

use super::Ui;
use super::failure::Failure;
use super::session::{Session, to_sign_in};
use super::templates::render;
use super::templates::s;

/// The signed-in caller and the areas their grants open.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Viewer {
    /// `GET /actors/me`.
    pub me: Value,
    /// The token's subject (read from the token for display only; the API verified it).
    pub subject: String,
    pub worker: bool,
    pub reviewer: bool,
    pub manager: bool,
    pub finance: bool,
    pub auditor: bool,
    pub operator: bool,
    /// Administers people and grants (the access pages).
    pub access: bool,
}

impl Viewer {
    fn has_admin(me: &Value, role: &str) -> bool {
        me["admin_roles"]
            .as_array()
            .is_some_and(|roles| roles.iter().any(|r| r == role))
    }

    fn has_project_role(me: &Value, role: &str) -> bool {
        me["project_role_grants"]
            .as_array()
            .is_some_and(|grants| grants.iter().any(|g| g["role"] == role))
    }

    /// The project ids where the caller holds project role `role`.
    pub fn projects_with(&self, role: &str) -> Vec<String> {
        let mut ids: Vec<String> = self.me["project_role_grants"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["role"] == role)
            .filter_map(|g| g["project_id"].as_str().map(str::to_owned))
            .collect();
        ids.dedup();
        ids
    }
}

/// The `sub` claim of a JWT, unverified (display only).
fn subject_of(token: &str) -> String {
    token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|claims| claims["sub"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Ui {
    /// The signed-in caller (a refused token sends them to the sign-in page).
    pub(super) async fn viewer(&self, session: &Session) -> Result<Viewer, Failure> {
        let me = self.get(session, "/actors/me").await.json()?;
        Ok(Viewer {
            subject: subject_of(&session.token),
            worker: Viewer::has_project_role(&me, "submitter"),
            reviewer: Viewer::has_project_role(&me, "reviewer"),
            manager: ["project_manager", "operator", "audit_authority"]
                .iter()
                .any(|r| Viewer::has_admin(&me, r)),
            finance: Viewer::has_admin(&me, "finance_authority"),
            auditor: Viewer::has_admin(&me, "audit_authority"),
            operator: Viewer::has_admin(&me, "operator"),
            access: Viewer::has_admin(&me, "access_administrator"),
            me,
        })
    }
}

/// Renders page `name` for `viewer` with `context` (status 200).
pub(super) fn page(name: &str, viewer: &Viewer, context: Ctx) -> Response {
    page_with(StatusCode::OK, name, viewer, context)
}

/// Renders page `name` with `status` (a form re-rendered after a refusal is 422).
pub(super) fn page_with(status: StatusCode, name: &str, viewer: &Viewer, context: Ctx) -> Response {
    let html = render(
        name,
        context! { viewer => s(viewer), area => s(area_of(name)), ..context },
    );
    (status, html).into_response()
}

/// The header's highlighted area for page `name`.
fn area_of(name: &str) -> &'static str {
    match name {
        "work.html" | "task.html" | "submit.html" => "work",
        "review.html" | "lease.html" | "calibration.html" => "review",
        "checkers.html" => "checkers",
        "finance.html" | "finance_project.html" => "finance",
        "audit.html" | "audit_trail.html" => "audit",
        "admin_grants.html" | "service_actors.html" => "access",
        "home.html" => "",
        _ => "projects",
    }
}

/// `GET /ui/`: what the caller's grants open.
pub(super) async fn home(
    axum::extract::State(ui): axum::extract::State<Ui>,
    session: Session,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    Ok(page("home.html", &viewer, context! {}))
}

/// Any other `/ui/...` path.
pub(super) async fn not_found() -> Failure {
    Failure::NotFound
}

impl IntoResponse for Failure {
    /// A marker: [`finish`] renders it, knowing the request's path.
    fn into_response(self) -> Response {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware: renders a handler's [`Failure`] as its page.
pub(super) async fn finish(request: Request, next: Next) -> Response {
    // After signing in the browser returns with a GET: a form's action is no page.
    let path = match request.uri().path_and_query() {
        Some(p) if request.method() == axum::http::Method::GET => p.as_str().to_owned(),
        _ => "/ui/".to_owned(),
    };
    let mut response = next.run(request).await;
    let Some(failure) = response.extensions_mut().remove::<Failure>() else {
        return response;
    };
    match failure {
        Failure::SignIn(message) => to_sign_in(&path, !message.is_empty()),
        Failure::NotFound => {
            let html = render(
                "error.html",
                context! {
                    title => "Not found",
                    code => "not_found",
                    message => "There is nothing here, or it is not visible to you.",
                },
            );
            (StatusCode::NOT_FOUND, html).into_response()
        }
        Failure::Api(error) => {
            let status =
                StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let html = render(
                "error.html",
                context! {
                    title => "Refused",
                    code => s(error.code.clone()),
                    message => s(error.message.clone()),
                    error => s(error),
                },
            );
            (status, html).into_response()
        }
    }
}

/// The 303 to `path` after a successful form post.
pub(super) fn see_other(path: &str) -> Result<Response, Failure> {
    Ok(axum::response::Redirect::to(path).into_response())
}

/// 422 when a form is shown again with a refusal, 200 otherwise.
pub(super) fn status_for(error: &Option<super::failure::ApiFailure>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}
