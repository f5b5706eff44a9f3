//! The checker registry page, and publishing a component from it.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/checkers` | `GET /checkers`: each component with who published it, the active guides that pin it (links to their guide pages) and its recent runs |
//! | `POST /ui/checkers?key=` (multipart: `component`) | `POST /checkers`: 201 or 200 redirect (303) back to the page, which says "Published NAME VERSION DIGEST" or "Already published ..."; a refusal (`checker_smoke_check_failed`, `permission_not_granted`, ...) comes back on the page with its code and message |
//!
//! The upload form is shown to those who may publish, a project manager or an operator
//! of any scope (the API's rule, read off `GET /actors/me`); the API decides anyway.
//!
//! Publication is the API's own route, called in process like every page's: the
//! validation and the registration are the API handler's
//! ([`crate::checker_registry`]), so the UI adds no rule of its own. The component
//! streams through as a packet does: a task reads the browser's multipart body and
//! writes the `component` part into the body of the API call chunk by chunk (other
//! parts are ours and dropped). It reads the browser's body to its end even after the
//! API stopped reading, and the page answers only then: a server that answers while the
//! browser is still sending makes the browser show a broken connection instead of the
//! refusal. (The API reads the whole component before it refuses a caller, for the same
//! reason.) The body is bounded a little above the API's [`MAX_COMPONENT_BYTES`]. The
//! form's idempotency key is in the action URL, because the API takes exactly the
//! `component` part.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::Ui;
use super::super::failure::{ApiFailure, Failure};
use super::super::home::{Viewer, page_with, see_other, status_for};
use super::super::session::Session;
use super::super::templates::s;
use super::super::urls::encode_segment;
use workstream_api::checker_registry::{MAX_COMPONENT_BYTES, RUNS_WINDOW_DAYS};

/// The largest body the upload form may send: the API's component limit, and room for
/// the multipart framing.
const MAX_UPLOAD_BYTES: usize = MAX_COMPONENT_BYTES + (1 << 20);

pub(super) fn routes() -> Router<Ui> {
    Router::new().route(
        "/ui/checkers",
        get(checkers)
            .post(publish)
            .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
    )
}

/// What the page says after a publication: `?done=published|already_published` and the
/// component's `digest`.
#[derive(Debug, Default, Deserialize)]
struct Published {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

impl Published {
    /// The notice for the component the registry lists under the digest (none for a
    /// digest it does not list: the page repeats nothing from its URL).
    fn notice(&self, registry: &Value) -> Option<String> {
        let digest = self.digest.as_deref()?;
        let component = registry["items"]
            .as_array()?
            .iter()
            .find(|c| c["digest"] == digest)?;
        let what = format!(
            "{} {} {digest}",
            component["name"].as_str().unwrap_or_default(),
            component["version"].as_str().unwrap_or_default(),
        );
        match self.done.as_deref()? {
            "published" => Some(format!("Published {what}.")),
            "already_published" => Some(format!(
                "Already published {what}: the same bytes were published before."
            )),
            _ => None,
        }
    }
}

/// Whether the viewer may publish: a project manager or an operator, of any scope.
fn publishes(viewer: &Viewer) -> bool {
    viewer.me["admin_roles"].as_array().is_some_and(|roles| {
        roles
            .iter()
            .any(|r| r == "project_manager" || r == "operator")
    })
}

/// The registry page, with `published`'s notice or a refused publication's `error`.
async fn checkers_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    published: &Published,
    error: Option<ApiFailure>,
) -> Result<Response, Failure> {
    let registry = ui.get(session, "/checkers").await.json()?;
    let notice = published.notice(&registry);
    Ok(page_with(
        status_for(&error),
        "checkers.html",
        viewer,
        context! {
            registry => s(registry),
            publishes => s(publishes(viewer)),
            max_component_bytes => s(MAX_COMPONENT_BYTES),
            runs_window_days => s(RUNS_WINDOW_DAYS),
            notice => s(notice),
            error => s(error),
        },
    ))
}

async fn checkers(
    State(ui): State<Ui>,
    session: Session,
    Query(published): Query<Published>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    checkers_page(&ui, &session, &viewer, &published, None).await
}

#[derive(Debug, Default, Deserialize)]
struct UploadQuery {
    #[serde(default)]
    key: Option<String>,
}

/// Writes the browser's `component` part into a multipart body for the API as it
/// arrives, and reads the browser's body to its end (see the module docs); the task
/// ends when it has.
fn forward_component(mut multipart: Multipart) -> (Body, String, tokio::task::JoinHandle<()>) {
    let boundary = format!("workstream-ui-{}", Uuid::now_v7().simple());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let lead = boundary.clone();
    let reader = tokio::spawn(async move {
        // False once the API has stopped reading: the rest is read and dropped.
        let mut forwarding = true;
        let broke = |message: String| Err(std::io::Error::other(message));
        loop {
            let mut field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(broke(e.body_text())).await;
                    return;
                }
            };
            // Anything else in the form is ours, not the API's.
            let component = field.name() == Some("component");
            if component && forwarding {
                let head = format!(
                    "--{lead}\r\nContent-Disposition: form-data; name=\"component\"; \
                     filename=\"component.wasm\"\r\nContent-Type: application/wasm\r\n\r\n"
                );
                forwarding = tx.send(Ok(Bytes::from(head))).await.is_ok();
            }
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) if component && forwarding => {
                        forwarding = tx.send(Ok(chunk)).await.is_ok();
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.send(broke(e.body_text())).await;
                        return;
                    }
                }
            }
            if component && forwarding {
                forwarding = tx.send(Ok(Bytes::from_static(b"\r\n"))).await.is_ok();
            }
        }
        let _ = tx.send(Ok(Bytes::from(format!("--{lead}--\r\n")))).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (Body::from_stream(stream), boundary, reader)
}

async fn publish(
    State(ui): State<Ui>,
    session: Session,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> Result<Response, Failure> {
    let multipart = match Multipart::from_request(request, &()).await {
        Ok(multipart) => multipart,
        Err(rejection) => {
            return Err(Failure::Api(Box::new(ApiFailure::from_envelope(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({"error": {"code": "invalid_form", "message": rejection.body_text()}}),
            ))));
        }
    };
    let key = query
        .key
        .filter(|k| Uuid::parse_str(k).is_ok())
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let (body, boundary, reader) = forward_component(multipart);
    let answer = ui
        .call(
            &session,
            Method::POST,
            "/checkers",
            body,
            Some(&format!("multipart/form-data; boundary={boundary}")),
            Some(&key),
        )
        .await;
    // The page answers once the browser's body has been read to its end.
    let _ = reader.await;
    match answer.refusal()? {
        None => {
            let done = if answer.status == StatusCode::CREATED {
                "published"
            } else {
                "already_published"
            };
            let digest = answer.body["digest"].as_str().unwrap_or_default();
            see_other(&format!(
                "/ui/checkers?done={done}&digest={}",
                encode_segment(digest)
            ))
        }
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            checkers_page(&ui, &session, &viewer, &Published::default(), Some(error)).await
        }
    }
}
