//! Reviewer calibration routes (docs/rules.md R52): a sampled Review offered, blind to
//! its decision, to a second reviewer, and a project's agreement figures.
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Every rule lives in `workstream_engine::calibration`; handlers authenticate, run one
//! command in one transaction behind `Idempotency-Key`, and shape the answer. A
//! calibration is its holder's alone: anyone else meets the concealed 404 on its routes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::Actor;
use workstream_engine::calibration::{self, Agreement, BlindPacket, CalibrationInput, Offer};
use workstream_engine::tasks::access;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::lessons::may_read;
use crate::openapi::{ApiRoutes, Doc};
use crate::projects::require;

/// The calibration routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const HOLDER: &str = "the reviewer holding the calibration (anyone else: the concealed 404)";
    ApiRoutes::new("Reviewer calibration")
        .get(
            "/reviews/calibration/current",
            current,
            Doc::new("The calibration the caller holds, or one sampled review offered to them, or neither")
                .who("any authenticated caller: someone who reviews nowhere gets `{held: null, offer: null}`")
                .ok("`{held, offer: {id, task_id, task_title, submission_version, state, offer_expires_at}}`: never the first decision or who made it"),
        )
        .post(
            "/reviews/calibration/claim",
            claim,
            Doc::new("Claim a calibration: a lease on the offered (or the named) sampled review")
                .who("a reviewer of the offer's project, neither its first reviewer nor a submitter of the task")
                .optional_body::<ClaimBody>()
                .created("`{offer}`, `leased` to the caller until `lease_expires_at` (database time; the locked review policy's lease duration)")
                .refuses(&[ErrorCode::CalibrationOwnReview, ErrorCode::SelfReviewForbidden, ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::NoCalibrationOffer, ErrorCode::NotFound])
                .refuses(&[ErrorCode::CalibrationLeaseActive]),
        )
        .get(
            "/reviews/calibration/offers/{offer_id}",
            packet_view,
            Doc::new("The blind packet: what the first reviewer was shown, without the sampled review's decision, findings or resolutions")
                .who(HOLDER)
                .ok("the offer, the task's terms (without its state), the submission, its files with checker findings, the admitting run, checker findings new/fixed/persisting, the locked guide, and the findings earlier reviews raised as they stood before the sampled review"),
        )
        .get(
            "/reviews/calibration/offers/{offer_id}/files/{*path}",
            packet_file,
            Doc::new("One file of the sampled packet, re-hashed against its submitted digest")
                .who(HOLDER)
                .ok("the file's bytes")
                .media_type("application/octet-stream")
                .refuses(&[ErrorCode::MaterialUnavailable]),
        )
        .post(
            "/reviews/calibration/offers/{offer_id}/decision",
            decide,
            Doc::new("Record the second decision: accept, needs_revision or reject, with findings that cite evidence")
                .who(HOLDER)
                .body::<CalibrationInput>()
                .created("`{calibration_review: {decision, first_decision, decision_agrees, finding_overlap_bp, findings (with fingerprints), ...}, lesson_id, reputation_event_id}`")
                .note("The second review changes nothing of the first: not its outcome, the task, the contributions or the awards, and it earns no contribution. A second decision that contradicts an accept opens a `calibration_disagreement` lesson and writes the first reviewer's `sampled_quality_concern` reputation event, in the same transaction.")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::LeaseNotActive])
                .refuses(&[
                    ErrorCode::DecisionInvalid, ErrorCode::DecisionNotAllowed, ErrorCode::BlockingFindingRequired, ErrorCode::FindingIncomplete,
                    ErrorCode::FindingInvalid, ErrorCode::FindingKindInvalid, ErrorCode::FindingEvidenceRequired, ErrorCode::EvidenceRequired,
                    ErrorCode::EvidenceRefInvalid, ErrorCode::EvidenceRefUnknownPath, ErrorCode::ReasonRequired, ErrorCode::ReasonTooLong,
                    ErrorCode::ReasonInvalid, ErrorCode::RejectReasonNotAllowed, ErrorCode::ConfidenceInvalid, ErrorCode::SummaryTooLong,
                    ErrorCode::TooManyItems,
                ]),
        )
        .get(
            "/projects/{project_id}/calibration",
            agreement,
            Doc::new("The project's reviewer agreement: sampled reviews, recorded calibrations, decision agreement and finding overlap, in total and per reviewer")
                .who("a covering project manager, an operator or a covering audit authority")
                .ok("`{totals: {sampled, recorded, waiting, expired, decisions_agreeing, decision_agreement_rate, mean_finding_overlap, contradicted_accepts}, by_reviewer: [{reviewer_id, display_name, ...}]}`")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
}

async fn current(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<calibration::Current>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let current = calibration::current(&mut tx, caller.actor_id).await?;
    tx.commit().await?;
    Ok(axum::Json(current))
}

/// A claim names the offer it takes, or takes the one offered.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CalibrationClaimBody")]
struct ClaimBody {
    #[serde(default)]
    offer_id: Option<Uuid>,
}

/// A claimed calibration.
#[derive(Debug, serde::Serialize, JsonSchema)]
#[schemars(rename = "CalibrationClaimed")]
pub struct Claimed {
    offer: Offer,
}

async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Json(value): Json<Value>,
) -> Result<Answer<Claimed>, ApiError> {
    let body: ClaimBody = crate::extract::body(&value)?;
    let who = caller.requester();
    let request = json!({ "path": "/reviews/calibration/claim", "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "review.calibration.claim",
        key,
        &request,
        async |tx| {
            let offer = calibration::claim(tx, &who, body.offer_id).await?;
            Ok((StatusCode::CREATED, Claimed { offer }))
        },
    )
    .await
}

async fn packet_view(
    State(state): State<AppState>,
    caller: Caller,
    Ids(offer_id): Ids<Uuid>,
) -> Result<axum::Json<BlindPacket>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let view = calibration::view(&mut tx, &caller.requester(), offer_id).await?;
    tx.commit().await?;
    Ok(axum::Json(view))
}

async fn packet_file(
    State(state): State<AppState>,
    caller: Caller,
    Ids((offer_id, path)): Ids<(Uuid, String)>,
) -> Result<Response, ApiError> {
    let file = {
        let mut tx = state.pool.begin().await?;
        let file =
            calibration::file_identity(&mut tx, &caller.requester(), offer_id, &path).await?;
        tx.commit().await?;
        file
    };
    crate::reviews::send_packet_file(&state, file, &path).await
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(offer_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<calibration::Recorded>, ApiError> {
    let body: CalibrationInput = crate::extract::body(&value)?;
    {
        // The replay check: the offer exists and the caller holds (or held and recorded)
        // it; anyone else gets the concealed 404, as on its other routes. The caller
        // still reviews its project.
        let mut conn = state.pool.acquire().await?;
        let held = calibration::offer(&mut conn, offer_id)
            .await?
            .filter(|held| held.holder_id == Some(caller.actor_id))
            .ok_or_else(workstream_engine::CommandError::not_found)?;
        access::precheck_project(&mut conn, caller.actor_id, held.project_id, Actor::Reviewer)
            .await?;
    }
    let who = caller.requester();
    let request = json!({ "path": format!("/reviews/calibration/offers/{offer_id}/decision"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "review.calibration.decision",
        key,
        &request,
        async |tx| {
            let recorded = calibration::decide(tx, &who, offer_id, &body).await?;
            Ok((StatusCode::CREATED, recorded))
        },
    )
    .await
}

async fn agreement(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
) -> Result<axum::Json<Agreement>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let mut tx = state.pool.begin().await?;
    let figures = calibration::agreement(&mut tx, project_id).await?;
    tx.commit().await?;
    Ok(axum::Json(figures))
}
