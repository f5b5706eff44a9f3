//! The second reviewer's pages of reviewer calibration (docs/rules.md R52): claiming a
//! sampled review, its blind packet and the second decision.
//!
//! | page | API calls |
//! |---|---|
//! | `GET /ui/review` (the offer, in [`super::reviewer`]) | `GET /reviews/calibration/current` |
//! | `POST /ui/calibration/claim` | `POST /reviews/calibration/claim {offer_id}` |
//! | `GET /ui/calibration/offers/{oid}?file=` | `GET /reviews/calibration/offers/{oid}` and the shown file's bytes, `GET /reviews/calibration/offers/{oid}/files/{path}` |
//! | `POST /ui/calibration/offers/{oid}/decision` | `POST /reviews/calibration/offers/{oid}/decision` |
//!
//! The page is the review packet's, blind: the task's terms (never its state), the
//! files with the checker findings under their lines, the checker run, and the
//! findings of reviews before the sampled one. The form is the review decision's
//! without resolutions ([`super::reviewer::decision_body`]); every rule is the API's,
//! shown inline with what was typed if it refuses.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Ui;
use super::failure::{ApiFailure, Failure};
use super::form::{FormData, Ids};
use super::home::{Viewer, page_with};
use super::reviewer::{MAX_SHOWN_BYTES, MAX_SHOWN_LINES, current_page, decision_body, lines_of};
use super::session::Session;
use super::templates::s;
use super::urls::{encode_path, encode_segment};

/// The calibration routes.
pub(super) fn routes() -> Router<Ui> {
    Router::new()
        .route("/ui/calibration/claim", post(claim))
        .route("/ui/calibration/offers/{oid}", get(offer))
        .route("/ui/calibration/offers/{oid}/decision", post(decide))
}

async fn claim(
    State(ui): State<Ui>,
    session: Session,
    form: FormData,
) -> Result<Response, Failure> {
    let mut body = json!({});
    if let Some(offer) = form.text("offer_id") {
        body["offer_id"] = json!(offer);
    }
    let answer = ui
        .post(&session, "/reviews/calibration/claim", &body, &form.key())
        .await;
    match answer.failure() {
        None => {
            let offer = answer.body["offer"]["id"].as_str().unwrap_or_default();
            Ok(Redirect::to(&format!("/ui/calibration/offers/{offer}")).into_response())
        }
        Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            current_page(&ui, &session, &viewer, None, Some(error)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct FileQuery {
    #[serde(default)]
    file: Option<String>,
}

/// What the page shows again after a refused decision: the form as it was typed.
#[derive(Default)]
struct Outcome {
    values: BTreeMap<String, String>,
    finding_rows: usize,
    evidence_rows: usize,
    error: Option<ApiFailure>,
}

async fn offer_page(
    ui: &Ui,
    session: &Session,
    viewer: &Viewer,
    offer_id: Uuid,
    file: Option<String>,
    outcome: Outcome,
) -> Result<Response, Failure> {
    let packet = ui
        .get(session, &format!("/reviews/calibration/offers/{offer_id}"))
        .await
        .json()?;
    let files = packet["files"].as_array().cloned().unwrap_or_default();
    // The file shown: the one asked for, else the first with checker findings, else the
    // first output, else the first.
    let shown = file
        .filter(|f| files.iter().any(|x| x["path"] == f.as_str()))
        .or_else(|| {
            files
                .iter()
                .find(|f| {
                    f["checker_findings"]
                        .as_array()
                        .is_some_and(|l| !l.is_empty())
                })
                .or_else(|| {
                    files.iter().find(|f| {
                        f["path"]
                            .as_str()
                            .is_some_and(|p| p.starts_with("outputs/"))
                    })
                })
                .or(files.first())
                .and_then(|f| f["path"].as_str().map(str::to_owned))
        });
    let mut shown_file = Value::Null;
    if let Some(path) = &shown {
        let entry = files
            .iter()
            .find(|f| f["path"] == path.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        let mut notes: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        let mut head_notes = Vec::new();
        for f in entry["checker_findings"].as_array().into_iter().flatten() {
            match f["line"].as_u64() {
                Some(n) => notes.entry(n).or_default().push(f.clone()),
                None => head_notes.push(f.clone()),
            }
        }
        let answer = ui
            .get(
                session,
                &format!(
                    "/reviews/calibration/offers/{offer_id}/files/{}",
                    encode_path(path)
                ),
            )
            .await;
        let content = if answer.ok() {
            let bytes = &answer.bytes;
            match std::str::from_utf8(&bytes[..bytes.len().min(MAX_SHOWN_BYTES)]) {
                Ok(text) => json!({
                    "text": true,
                    "lines": lines_of(text, &notes),
                    "truncated": bytes.len() > MAX_SHOWN_BYTES
                        || text.lines().count() > MAX_SHOWN_LINES,
                }),
                Err(_) => json!({ "text": false, "reason": "binary or too large to show here" }),
            }
        } else {
            json!({ "text": false, "error": answer.failure() })
        };
        shown_file = json!({ "path": path, "entry": entry, "content": content,
                             "head_notes": head_notes });
    }
    let tree: Vec<Value> = files
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap_or_default();
            json!({ "path": path,
                    "href": format!("/ui/calibration/offers/{offer_id}?file={}", encode_segment(path)),
                    "findings": f["checker_findings"].as_array().map_or(0, Vec::len),
                    "selected": Some(path) == shown.as_deref() })
        })
        .collect();
    let status = if outcome.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page_with(
        status,
        "calibration.html",
        viewer,
        context! {
            offer_id => s(offer_id),
            packet => s(packet),
            tree => s(tree),
            file => s(shown_file),
            draft => s(&outcome.values),
            finding_rows => s(outcome.finding_rows.max(1)),
            evidence_rows => s(outcome.evidence_rows.max(1)),
            error => s(outcome.error),
        },
    ))
}

async fn offer(
    State(ui): State<Ui>,
    session: Session,
    Ids(offer_id): Ids<Uuid>,
    Query(query): Query<FileQuery>,
) -> Result<Response, Failure> {
    let viewer = ui.viewer(&session).await?;
    offer_page(
        &ui,
        &session,
        &viewer,
        offer_id,
        query.file,
        Outcome::default(),
    )
    .await
}

async fn decide(
    State(ui): State<Ui>,
    session: Session,
    Ids(offer_id): Ids<Uuid>,
    form: FormData,
) -> Result<Response, Failure> {
    let mut body = decision_body(&form);
    // A calibration closes no finding: the review form's resolutions are not sent.
    if let Some(fields) = body.as_object_mut() {
        fields.remove("resolutions");
    }
    let answer = ui
        .post(
            &session,
            &format!("/reviews/calibration/offers/{offer_id}/decision"),
            &body,
            &form.key(),
        )
        .await;
    match answer.failure() {
        None => Ok(Redirect::to("/ui/review?done=decided").into_response()),
        Some(error) if error.status == 401 => Err(Failure::SignIn(error.message)),
        Some(error) => {
            let viewer = ui.viewer(&session).await?;
            let outcome = Outcome {
                finding_rows: form.groups("finding").len(),
                evidence_rows: form.groups("evidence").len(),
                values: form.values(),
                error: Some(error),
            };
            offer_page(&ui, &session, &viewer, offer_id, form.text("file"), outcome).await
        }
    }
}
