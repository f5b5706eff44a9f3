//! The worker's pages: what to work on, the task, the packet upload and the submission.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/work` | `GET /me/assignments`; per project the caller submits to, `GET /projects/{pid}` and `GET /projects/{pid}/tasks/ready` (with compensation terms) |
//! | `GET /ui/tasks/{tid}` | `GET /tasks/{tid}`, `.../submission-requirements`, `.../checker-runs`, `.../revision-context`, `.../reviews`, `GET /me/awards` |
//! | `POST /ui/tasks/{tid}/claim`, `/start` | `POST /tasks/{tid}/claim`, `/start` |
//! | `POST /ui/tasks/{tid}/packets?key=` (multipart) | `POST /tasks/{tid}/packets`: 201 shows the submit page; a refusal (422 `pre_submission_checker_failed` with each checker's findings: message, suggested fix, path and line) comes back on the task page beside the upload form, with what was typed |
//! | `POST /ui/tasks/{tid}/submissions` | `POST /tasks/{tid}/submissions` with the admission, and for a revision the preparation head and one response per open finding |
//!
//! The upload is re-encoded as it streams: a task reads the browser's multipart body
//! part by part, keeps the two texts (so a refused upload can show them again), and
//! writes the parts into the body of the API call through a small channel, chunk by
//! chunk, so no packet is ever held whole in memory. The form's idempotency key is in
//! the action URL, because the API's upload takes exactly `summary`, `attestation`
//! and `packet`.
//!
//! The submit page is the revision page when the task is `needs_revision`: every prior
//! finding (its area, issue, required fix, evidence and earlier responses), a response
//! box beside each open blocking one, then the resubmission.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::TaskState;

use super::Ui;
use super::failure::{ApiFailure, Failure};
use super::form::{FormData, Ids};
use super::home::{Viewer, page, page_with};
use super::session::Session;
use super::templates::s;

/// The worker routes.
pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/work", get(work))
        .route("/ui/tasks/{tid}", get(task))
        .route("/ui/tasks/{tid}/claim", post(claim))
        .route("/ui/tasks/{tid}/start", post(start))
        // The packet is streamed on to the API, which holds it to the task's archive
        // limit; axum's default 2 MiB body limit would refuse most real packets.
        .route(
            "/ui/tasks/{tid}/packets",
            post(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/ui/tasks/{tid}/submissions", post(submit))
}

/// `?done=` keys after a redirect, and what the page says for them.
pub(super) fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "claimed" => "You claimed the task. Start it when you begin work.",
        "started" => "The task is in progress: upload your packet when it is ready.",
        "submitted" => "Submitted. The platform checkers are running on your packet.",
        "created" => "Created.",
        "saved" => "Saved.",
        "activated" => "Activated: this guide now governs new tasks of the project.",
        "preview_started" => {
            "The preview started: the draft's checkers run over the stored submissions in \
             the background."
        }
        "screened" => "Screened: the task's context is locked from the active guide.",
        "released" => "Released: the task is in the ready queue.",
        "assigned" => {
            "Assigned: the task is claimed for the person you chose, who sees it in their work."
        }
        "decided" => "Your decision is recorded.",
        "released_lease" => "You released the lease; the entry is back in the queue.",
        "reported" => "The report was generated and stored.",
        "published" => "Published.",
        "updated" => "Updated.",
        "granted" => "Granted: the role counts from their next request.",
        "revoked" => "Revoked: the role no longer counts, and the reason is in the audit.",
        _ => return None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Done {
    #[serde(default)]
    pub done: Option<String>,
}

async fn work(State(ui): State<Ui>, session: Session) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let assignments = ui.get(&session, "/me/assignments").await.json()?;
    let mut projects = Vec::new();
    for project_id in viewer.projects_with("submitter") {
        let project = ui
            .get(&session, &format!("/projects/{project_id}"))
            .await
            .optional()?;
        let ready = ui
            .get(&session, &format!("/projects/{project_id}/tasks/ready"))
            .await
            .optional()?;
        projects.push(json!({ "project": project, "ready": ready }));
    }
    Ok(page(
        "work.html",
        &viewer,
        context! { assignments => s(assignments), projects => s(projects) },
    ))
}

/// What a task page shows besides the task itself: the outcome of a form posted from it.
#[derive(Default)]
struct TaskExtras {
    notice: Option<&'static str>,
    /// A refused claim or start.
    action_error: Option<ApiFailure>,
    /// A refused upload (the pre-submit report is in its details).
    upload_error: Option<ApiFailure>,
    /// What was typed into the upload form.
    typed: Option<UploadTexts>,
}

async fn task_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    task_id: Uuid,
    extras: TaskExtras,
) -> Result<Response, Failure> {
    let task = ui.get(session, &format!("/tasks/{task_id}")).await.json()?;
    let task = task["task"].clone();
    let mine = task["assigned_to_me"] == true;
    let requirements = ui
        .get(
            session,
            &format!("/tasks/{task_id}/submission-requirements"),
        )
        .await
        .optional()?;
    let (runs, revision, reviews, awards) = if mine {
        let runs = ui
            .get(session, &format!("/tasks/{task_id}/checker-runs"))
            .await
            .optional()?;
        let revision = ui
            .get(session, &format!("/tasks/{task_id}/revision-context"))
            .await
            .optional()?;
        let reviews = ui
            .get(session, &format!("/tasks/{task_id}/reviews"))
            .await
            .optional()?;
        let awards: Vec<Value> = ui
            .get(session, "/me/awards?limit=100")
            .await
            .optional()?
            .and_then(|a| a["items"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["task_id"] == task["id"])
            .collect();
        (runs, revision, reviews, awards)
    } else {
        (None, None, None, Vec::new())
    };
    let status = if extras.upload_error.is_some() || extras.action_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let presubmit = extras
        .upload_error
        .as_ref()
        .filter(|e| e.code == ErrorCode::PreSubmissionCheckerFailed.as_str())
        .map(|e| e.details.clone());
    Ok(page_with(
        status,
        "task.html",
        viewer,
        context! {
            task => s(task),
            requirements => s(requirements),
            runs => s(runs),
            revision => s(revision),
            reviews => s(reviews),
            awards => s(awards),
            notice => s(extras.notice),
            action_error => s(extras.action_error),
            upload_error => s(extras.upload_error),
            presubmit => s(presubmit),
            typed => s(extras.typed.map(|t| json!({"summary": t.summary, "attestation": t.attestation}))),
        },
    ))
}

async fn task(
    State(ui): State<Ui>,
    session: Session,
    Ids(task_id): Ids<Uuid>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    let extras = TaskExtras {
        notice: notice(done.done.as_deref()),
        ..TaskExtras::default()
    };
    task_page(&ui, &session, &viewer, task_id, extras).await
}

async fn transition(
    ui: Ui,
    session: Session,
    task_id: Uuid,
    form: FormData,
    action: &str,
    done: &str,
) -> Result<Response, Failure> {
    let answer = ui
        .post(
            &session,
            &format!("/tasks/{task_id}/{action}"),
            &json!({}),
            &form.key(),
        )
        .await;
    match answer.failure() {
        None => Ok(Redirect::to(&format!("/ui/tasks/{task_id}?done={done}")).into_response()),
        Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let extras = TaskExtras {
                action_error: Some(error),
                ..TaskExtras::default()
            };
            task_page(&ui, &session, &viewer, task_id, extras).await
        }
    }
}

async fn claim(
    State(ui): State<Ui>,
    session: Session,
    Ids(task_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    transition(ui, session, task_id, form, "claim", "claimed").await
}

async fn start(
    State(ui): State<Ui>,
    session: Session,
    Ids(task_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    transition(ui, session, task_id, form, "start", "started").await
}

/// The texts of an upload, kept to show the form again.
#[derive(Debug, Default, Clone)]
struct UploadTexts {
    summary: String,
    attestation: String,
}

#[derive(Debug, Default, Deserialize)]
struct UploadQuery {
    #[serde(default)]
    key: Option<String>,
}

/// Re-encodes the browser's multipart body for the API as it arrives (see the module
/// docs); the texts come back from the task when the body has been read.
fn reencode(mut multipart: Multipart) -> (Body, String, tokio::task::JoinHandle<UploadTexts>) {
    let boundary = format!("workstream-ui-{}", Uuid::now_v7().simple());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let lead = boundary.clone();
    let reader = tokio::spawn(async move {
        let mut texts = UploadTexts::default();
        let part = |name: &str, extra: &str| {
            Bytes::from(format!(
                "--{lead}\r\nContent-Disposition: form-data; name=\"{name}\"{extra}\r\n\r\n"
            ))
        };
        loop {
            let mut field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.body_text()))).await;
                    return texts;
                }
            };
            let name = field.name().unwrap_or_default().to_owned();
            match name.as_str() {
                "summary" | "attestation" => {
                    let Ok(text) = field.text().await else {
                        let _ = tx
                            .send(Err(std::io::Error::other("a text part broke off")))
                            .await;
                        return texts;
                    };
                    let _ = tx.send(Ok(part(&name, ""))).await;
                    let _ = tx.send(Ok(Bytes::from(format!("{text}\r\n")))).await;
                    if name == "summary" {
                        texts.summary = text;
                    } else {
                        texts.attestation = text;
                    }
                }
                "packet" => {
                    let head = part(
                        "packet",
                        "; filename=\"packet.zip\"\r\nContent-Type: application/zip",
                    );
                    if tx.send(Ok(head)).await.is_err() {
                        return texts;
                    }
                    loop {
                        match field.chunk().await {
                            Ok(Some(chunk)) => {
                                // The API stopped reading (a limit, a refusal): stop too.
                                if tx.send(Ok(chunk)).await.is_err() {
                                    return texts;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                let _ = tx.send(Err(std::io::Error::other(e.body_text()))).await;
                                return texts;
                            }
                        }
                    }
                    let _ = tx.send(Ok(Bytes::from_static(b"\r\n"))).await;
                }
                // Anything else in the form is ours, not the API's.
                _ => {}
            }
        }
        let _ = tx.send(Ok(Bytes::from(format!("--{lead}--\r\n")))).await;
        texts
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (Body::from_stream(stream), boundary, reader)
}

async fn upload(
    State(ui): State<Ui>,
    session: Session,
    Ids(task_id): Ids<Uuid>,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> Result<Response, Failure> {
    let multipart =
        match <Multipart as axum::extract::FromRequest<()>>::from_request(request, &()).await {
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
    let (body, boundary, reader) = reencode(multipart);
    let answer = ui
        .call(
            &session,
            axum::http::Method::POST,
            &format!("/tasks/{task_id}/packets"),
            body,
            Some(&format!("multipart/form-data; boundary={boundary}")),
            Some(&key),
        )
        .await;
    // The reader ends once the API has stopped reading; what it kept is the texts.
    let texts = reader.await.unwrap_or_default();
    let viewer = ui.viewer(&session).await?;
    match answer.failure() {
        None => {
            let admission = answer.body;
            submit_page(
                &ui,
                &session,
                &viewer,
                task_id,
                SubmitState {
                    admission,
                    ..SubmitState::default()
                },
            )
            .await
        }
        Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
        Some(error) => {
            let extras = TaskExtras {
                upload_error: Some(error),
                typed: Some(texts),
                ..TaskExtras::default()
            };
            task_page(&ui, &session, &viewer, task_id, extras).await
        }
    }
}

/// What the submit page shows.
#[derive(Default)]
struct SubmitState {
    /// The upload's answer (admission id, digests, file count, pre-submit report), or
    /// what the form carried of it.
    admission: Value,
    /// The responses typed so far, by finding id.
    responses: std::collections::BTreeMap<String, String>,
    error: Option<ApiFailure>,
}

async fn submit_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    task_id: Uuid,
    state: SubmitState,
) -> Result<Response, Failure> {
    let task = ui.get(session, &format!("/tasks/{task_id}")).await.json()?;
    let task = task["task"].clone();
    let revision = if task["status"] == TaskState::NeedsRevision.as_str() {
        ui.get(session, &format!("/tasks/{task_id}/revision-context"))
            .await
            .optional()?
    } else {
        None
    };
    let status = if state.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page_with(
        status,
        "submit.html",
        viewer,
        context! {
            task => s(task),
            admission => s(state.admission),
            revision => s(revision),
            responses => s(&state.responses),
            error => s(state.error),
        },
    ))
}

async fn submit(
    State(ui): State<Ui>,
    session: Session,
    Ids(task_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let responses = form.keyed("response");
    let mut body = json!({ "admission_id": form.text("admission_id").unwrap_or_default() });
    if let Some(preparation) = form.text("preparation_id") {
        body["preparation_id"] = json!(preparation);
        body["preparation_digest"] = json!(form.text("preparation_digest").unwrap_or_default());
        body["responses"] = json!(
            responses
                .iter()
                .filter(|(_, text)| !text.trim().is_empty())
                .map(
                    |(finding, text)| json!({ "finding_id": finding, "response_text": text.trim() })
                )
                .collect::<Vec<_>>()
        );
    }
    let answer = ui
        .post(
            &session,
            &format!("/tasks/{task_id}/submissions"),
            &body,
            &form.key(),
        )
        .await;
    match answer.failure() {
        None => Ok(Redirect::to(&format!("/ui/tasks/{task_id}?done=submitted")).into_response()),
        Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            // The form carries what the page showed of the admission.
            let admission = json!({
                "admission_id": form.text("admission_id"),
                "file_count": form.text("file_count").and_then(|n| n.parse::<u64>().ok()),
                "archive_sha256": form.text("archive_sha256"),
                "archive_bytes": form.text("archive_bytes").and_then(|n| n.parse::<u64>().ok()),
            });
            let state = SubmitState {
                admission,
                responses,
                error: Some(error),
            };
            submit_page(&ui, &session, &viewer, task_id, state).await
        }
    }
}
