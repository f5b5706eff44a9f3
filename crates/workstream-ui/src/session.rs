//! Signing in and out, and the session every page runs as.
//!
//! The session is the bearer token itself, in the `workstream_session` cookie
//! (`HttpOnly; SameSite=Strict; Path=/`, plus `Secure` outside `local`/`test`): the
//! UI keeps no session state, so any number of servers serve one user, and the token's
//! own expiry (or a revoked identity link) ends the session at the API.
//!
//! * `GET /ui/sign-in`: in `local`/`test` with a local HMAC verifier, a subject and a
//!   subject kind to mint a token for (8 hours, the verifier's issuer and audience);
//!   otherwise a box for a token from Flow.
//! * `POST /ui/sign-in`: the token is tried on `GET /actors/me` first (a human's first
//!   access provisions their profile); only a token the API accepts becomes a cookie.
//!   A refusal is shown on the sign-in page with its code.
//! * `POST /ui/sign-out`: clears the cookie.

use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;

use super::Ui;
use super::failure::{ApiFailure, Failure};
use super::form::FormData;
use super::templates::render;
use super::templates::s;
use workstream_api::auth::{LocalToken, SubjectKind};
use workstream_api::correlation::CorrelationId;

/// The cookie holding the bearer token.
pub(super) const COOKIE: &str = "workstream_session";

/// How long a locally minted session lasts.
const LOCAL_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// The caller of a page: their token and the page request's correlation id.
#[derive(Debug, Clone)]
pub(super) struct Session {
    pub token: String,
    pub correlation_id: String,
}

/// The value of cookie `name` in `parts`.
fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let token = cookie(parts, COOKIE)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Failure::SignIn(String::new()))?
            .to_owned();
        let correlation_id = parts
            .extensions
            .get::<CorrelationId>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        Ok(Session {
            token,
            correlation_id,
        })
    }
}

/// The sign-in and sign-out routes.
pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/sign-in", get(sign_in_page).post(sign_in))
        .route("/ui/sign-out", post(sign_out))
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    expired: Option<String>,
}

/// Only our own pages are places to return to after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("/ui//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/ui/".to_owned(),
    }
}

impl Ui {
    /// Whether this server mints local tokens on its sign-in page.
    fn mints_locally(&self) -> bool {
        self.environment.is_development()
            && self
                .verifier
                .mint_local(&LocalToken::human("probe"))
                .is_some()
    }
}

fn sign_in_form(
    ui: &Ui,
    next: &str,
    notice: Option<&str>,
    error: Option<ApiFailure>,
    subject: &str,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let html = render(
        "sign_in.html",
        context! {
            local => s(ui.mints_locally()),
            development => s(ui.environment.is_development()),
            environment => s(ui.environment.as_str()),
            next => s(next),
            notice => s(notice),
            error => s(error),
            subject => s(subject),
        },
    );
    (status, html).into_response()
}

async fn sign_in_page(State(ui): State<Ui>, Query(query): Query<SignInQuery>) -> Response {
    let notice = query
        .expired
        .is_some()
        .then_some("Your session ended or was refused; sign in again.");
    sign_in_form(&ui, &safe_next(query.next.as_deref()), notice, None, "")
}

async fn sign_in(
    State(ui): State<Ui>,
    correlation: Option<axum::Extension<CorrelationId>>,
    form: FormData,
) -> Response {
    let next = safe_next(form.get("next"));
    let subject = form.get("subject").unwrap_or_default().trim().to_owned();
    let (token, max_age) = if ui.mints_locally() && form.get("mode") != Some("token") {
        if subject.is_empty() || subject.len() > 200 {
            let error = ApiFailure::from_envelope(
                StatusCode::UNPROCESSABLE_ENTITY,
                &serde_json::json!({"error": {"code": "subject_required",
                    "message": "name the subject to sign in as (1-200 characters)"}}),
            );
            return sign_in_form(&ui, &next, None, Some(error), &subject);
        }
        let kind = match form.get("kind") {
            Some("service") => SubjectKind::Service,
            _ => SubjectKind::Human,
        };
        let mut local = LocalToken::human(subject.clone()).kind(kind);
        local.lifetime = LOCAL_LIFETIME;
        match ui.verifier.mint_local(&local) {
            Some(token) => (token, Some(LOCAL_LIFETIME.as_secs())),
            None => return sign_in_form(&ui, &next, None, None, &subject),
        }
    } else {
        let token = form.get("token").unwrap_or_default().trim().to_owned();
        (token, None)
    };
    let session = Session {
        token,
        correlation_id: correlation.map(|c| c.0.0.clone()).unwrap_or_default(),
    };
    let me = ui.get(&session, "/actors/me").await;
    if let Some(error) = me.failure() {
        return sign_in_form(&ui, &next, None, Some(error), &subject);
    }
    let mut response = Redirect::to(&next).into_response();
    set_cookie(&mut response, &ui, &session.token, max_age);
    response
}

/// Writes the session cookie (`value` empty and `max_age` 0 clears it).
fn set_cookie(response: &mut Response, ui: &Ui, value: &str, max_age: Option<u64>) {
    let mut cookie = format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if !ui.environment.is_development() {
        cookie.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

async fn sign_out(State(ui): State<Ui>) -> Response {
    let mut response = Redirect::to("/ui/sign-in").into_response();
    set_cookie(&mut response, &ui, "", Some(0));
    response
}

/// The redirect for a page whose session is missing or refused: the sign-in page,
/// returning to `path` afterwards, with the stale cookie cleared.
pub(super) fn to_sign_in(path: &str, refused: bool) -> Response {
    let next = super::urls::encode_segment(path);
    let target = if refused {
        format!("/ui/sign-in?expired=1&next={next}")
    } else {
        format!("/ui/sign-in?next={next}")
    };
    let mut response = Redirect::to(&target).into_response();
    if refused {
        let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
