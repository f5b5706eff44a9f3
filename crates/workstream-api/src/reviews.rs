//! Review routes (docs/lifecycle.md T11-T15 and the decision transaction; docs/architecture.md,
//! "One packet from upload to payment").
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Every rule lives in `workstream_engine::reviews`; handlers authenticate, run one
//! command in one transaction behind `Idempotency-Key`, and shape the answer.

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::Actor;
use workstream_engine::reviews::{decision, lease, packet, queue, revision};
use workstream_engine::tasks::access;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};

/// The review routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const HOLDER: &str = "the reviewer holding the lease (anyone else: the concealed 404)";
    const HISTORY: &str = "a covering project manager, an operator, a covering audit authority, or the task's assignee";
    const LEASE: &[ErrorCode] = &[ErrorCode::LeaseNotActive];
    ApiRoutes::new("Reviews")
        .get(
            "/reviews/current",
            current,
            Doc::new("The reviewer's active lease, or one server-chosen offer, or neither")
                .who("any authenticated caller: someone who reviews nowhere gets `{lease: null, offer: null}`, which says nothing about any project")
                .ok("`{lease, offer: {queue_entry_id, task_id, submission_version, routing_reason, preferred_for_you, enqueued_at}}`: never a backlog"),
        )
        .post(
            "/reviews/claim",
            claim,
            Doc::new("Claim a review lease on the offered (or the named) queue entry")
                .who("a reviewer of the entry's project, not its submitter")
                .optional_body::<ClaimBody>()
                .created("`{lease: {id, expires_at, ...}, manifest, manifest_digest}`: one active lease per reviewer and per entry, expiring in database time")
                .refuses(&[ErrorCode::SelfReviewForbidden, ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::NoReviewOffer, ErrorCode::NotFound])
                .refuses(&[ErrorCode::ReviewLeaseActive, ErrorCode::ReviewEntryLeased]),
        )
        .get(
            "/reviews/leases/{lid}",
            packet_view,
            Doc::new("The review packet")
                .who(HOLDER)
                .ok("task terms, files with checker findings at path and line, the admitting run, checker findings new/fixed/persisting since the previous version, the locked guide and bundle, prior findings with responses and resolutions, and the resolutions this review owes"),
        )
        .get(
            "/reviews/leases/{lid}/files/{*path}",
            packet_file,
            Doc::new("One file of the review packet, re-hashed against its submitted digest")
                .who(HOLDER)
                .ok("the file's bytes")
                .media_type("application/octet-stream")
                .refuses(&[ErrorCode::MaterialUnavailable]),
        )
        .get(
            "/reviews/leases/{lid}/previous-files/{*path}",
            previous_packet_file,
            Doc::new("One file of the version the reviewed packet revises (for a diff), re-hashed against its submitted digest")
                .who(HOLDER)
                .ok("the file's bytes; the concealed 404 for a first version or a path that version did not have")
                .media_type("application/octet-stream")
                .refuses(&[ErrorCode::MaterialUnavailable]),
        )
        .post(
            "/reviews/leases/{lid}/release",
            release,
            Doc::new("Give the lease back; the entry is offered again")
                .who(HOLDER)
                .optional_body::<ReasonBody>()
                .ok("the ended lease")
                .refuses(&[ErrorCode::LeaseNotHeld])
                .refuses(LEASE),
        )
        .post(
            "/reviews/leases/{lid}/decline",
            decline,
            Doc::new("Decline the entry: the lease ends and the entry is not offered to this reviewer again")
                .who(HOLDER)
                .optional_body::<ReasonBody>()
                .ok("the ended lease")
                .refuses(&[ErrorCode::LeaseNotHeld])
                .refuses(LEASE),
        )
        .post(
            "/reviews/leases/{lid}/decision",
            decide,
            Doc::new("Decide: accept, needs_revision or reject, with findings that cite evidence")
                .who(HOLDER)
                .body::<decision::DecisionInput>()
                .created("`{review, task, contributions, final_acceptance_id?, preparation?}`")
                .note("One transaction: the review, its findings and resolutions, and for accept the final acceptance, the task `accepted`, the assignment `completed`, both contributions and their awards; for needs_revision the revision context preparation. Award delivery and the reputation update are queued in the same commit and run after it.")
                .refuses(&[ErrorCode::SelfReviewForbidden, ErrorCode::PermissionNotGranted, ErrorCode::TransitionNotAllowed])
                .refuses(&[ErrorCode::LeaseNotActive, ErrorCode::FindingAlreadyClosed, ErrorCode::TaskAlreadyAccepted])
                .refuses(&[
                        ErrorCode::DecisionInvalid, ErrorCode::DecisionNotAllowed, ErrorCode::BlockingFindingRequired, ErrorCode::FindingIncomplete,
                        ErrorCode::FindingInvalid, ErrorCode::FindingKindInvalid, ErrorCode::FindingEvidenceRequired, ErrorCode::EvidenceRequired,
                        ErrorCode::EvidenceRefInvalid, ErrorCode::EvidenceRefUnknownPath, ErrorCode::ReasonRequired, ErrorCode::RejectReasonNotAllowed,
                        ErrorCode::FindingResolutionsIncomplete, ErrorCode::FindingResolutionUnknown, ErrorCode::FindingResolutionDuplicate,
                        ErrorCode::FindingResolutionInvalid, ErrorCode::BlockingFindingsOpen, ErrorCode::BlockingFindingsLimitExceeded,
                        ErrorCode::ConfidenceInvalid, ErrorCode::AcceptanceOnHold,
                    ],
                ),
        )
        .post(
            "/operations/reviews/leases/{lid}/force-release",
            force_release,
            Doc::new("End a reviewer's lease (a stuck review)")
                .who("a system operator")
                .body::<ReasonBody>()
                .ok("the ended lease")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(LEASE)
                .refuses(&[ErrorCode::ReasonRequired, ErrorCode::ReasonTooLong]),
        )
        .get(
            "/tasks/{tid}/reviews",
            task_reviews,
            Doc::new("The task's reviews with their findings and resolutions")
                .who(HISTORY)
                .ok("`{items}`"),
        )
        .get(
            "/tasks/{tid}/revision-context",
            revision_context,
            Doc::new("The revision replay: the head, every prior finding with its status and responses, and the bounds")
                .who(HISTORY)
                .ok("head with prior and next context and change summary, findings (which need a response), rounds used and limit, deadline, checker-finding changes"),
        )
        .post(
            "/tasks/{tid}/revision-obligation/close",
            close_revision,
            Doc::new("Close a revision obligation past its round limit or deadline (T15): the task is cancelled")
                .who("a project manager covering the task's project")
                .body::<CloseBody>()
                .ok("`{task: {id, status: \"cancelled\"}}`")
                .refuses(&[ErrorCode::TransitionNotAllowed, ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::CloseConditionUnmet, ErrorCode::ReasonRequired, ErrorCode::ReasonInvalid]),
        )
        .post(
            "/tasks/{tid}/revision-context/repair",
            repair_revision,
            Doc::new("Append a successor to a blocked or stale revision context head")
                .who("a project manager covering the task's project")
                .body::<RepairBody>()
                .created("the new head")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::RevisionContextStale])
                .refuses(&[ErrorCode::ReasonRequired]),
        )
}

async fn current(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<queue::Current>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let current = queue::current(&mut tx, caller.actor_id).await?;
    tx.commit().await?;
    Ok(axum::Json(current))
}

/// A lease that ended (released, declined or force-released).
#[derive(Debug, Serialize, JsonSchema)]
pub struct EndedLease {
    lease: lease::Lease,
}

/// A task's reviews, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskReviews {
    task_id: Uuid,
    items: Vec<decision::ReviewView>,
}

/// A task whose revision obligation was closed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClosedTask {
    task: TaskStatus,
}

/// A task's id and state.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskStatus {
    id: Uuid,
    status: workstream_domain::lifecycle::TaskState,
}

/// The successor preparation a manager's repair appended.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RepairedHead {
    preparation: revision::Preparation,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ClaimBody {
    #[serde(default)]
    queue_entry_id: Option<Uuid>,
}

async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Json(value): Json<Value>,
) -> Result<Answer<queue::Claimed>, ApiError> {
    let body: ClaimBody = crate::extract::body(&value)?;
    let who = caller.requester();
    let request = json!({ "path": "/reviews/claim", "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "review.claim",
        key,
        &request,
        async |tx| {
            let claimed = queue::claim(tx, &who, body.queue_entry_id).await?;
            Ok((StatusCode::CREATED, claimed))
        },
    )
    .await
}

async fn packet_view(
    State(state): State<AppState>,
    caller: Caller,
    Ids(lease_id): Ids<Uuid>,
) -> Result<axum::Json<packet::ReviewPacket>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let view = packet::view(&mut tx, &caller.requester(), lease_id).await?;
    tx.commit().await?;
    Ok(axum::Json(view))
}

async fn packet_file(
    State(state): State<AppState>,
    caller: Caller,
    Ids((lease_id, path)): Ids<(Uuid, String)>,
) -> Result<Response, ApiError> {
    serve_packet_file(
        state,
        caller,
        lease_id,
        path,
        packet::PacketVersion::Reviewed,
    )
    .await
}

async fn previous_packet_file(
    State(state): State<AppState>,
    caller: Caller,
    Ids((lease_id, path)): Ids<(Uuid, String)>,
) -> Result<Response, ApiError> {
    serve_packet_file(
        state,
        caller,
        lease_id,
        path,
        packet::PacketVersion::Previous,
    )
    .await
}

/// One file of `version` of the lease's packet, read back from its archive and
/// re-hashed against the digest it was submitted with.
async fn serve_packet_file(
    state: AppState,
    caller: Caller,
    lease_id: Uuid,
    path: String,
    version: packet::PacketVersion,
) -> Result<Response, ApiError> {
    let file = {
        let mut tx = state.pool.begin().await?;
        let who = caller.requester();
        let file = packet::file_identity(&mut tx, &who, lease_id, &path, version).await?;
        tx.commit().await?;
        file
    };
    send_packet_file(&state, file, &path).await
}

/// The bytes of stored packet file `file` (at `path`), read back from its archive under
/// the artifact policy it was admitted with and re-hashed against its submitted digest;
/// served as data, never as a page (what a calibration's file route serves too).
pub(crate) async fn send_packet_file(
    state: &AppState,
    file: packet::FileIdentity,
    path: &str,
) -> Result<Response, ApiError> {
    let (key, archive, sha, policy) = (
        file.archive_key,
        file.archive_sha256,
        file.sha256,
        file.artifact_policy,
    );
    let pipeline = state.pipeline.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::PacketStoreUnavailable,
            "this server has no packet store configured",
        )
    })?;
    let bytes = pipeline
        .packet_file(&key, &archive, &policy, path, &sha)
        .await?;
    let kind = if std::str::from_utf8(&bytes).is_ok() {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, kind)
        // Served as data, never rendered as a page of ours.
        .header(header::CONTENT_DISPOSITION, "attachment")
        .header("x-content-type-options", "nosniff")
        .header("x-workstream-sha256", sha)
        .body(Body::from(bytes))
        .map_err(ApiError::internal)
}

/// Why a lease ends (optional for the holder, required of an Operator).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "LeaseEndBody")]
struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

async fn end_lease(
    state: AppState,
    caller: Caller,
    key: IdempotencyKey,
    lease_id: Uuid,
    value: Value,
    ending: queue::Ending,
) -> Result<Answer<EndedLease>, ApiError> {
    let body: ReasonBody = crate::extract::body(&value)?;
    let (operation, path) = match ending {
        queue::Ending::Release => (
            "review.release",
            format!("/reviews/leases/{lease_id}/release"),
        ),
        queue::Ending::Decline => (
            "review.decline",
            format!("/reviews/leases/{lease_id}/decline"),
        ),
        queue::Ending::ForceRelease => (
            "review.lease.force_release",
            format!("/operations/reviews/leases/{lease_id}/force-release"),
        ),
    };
    {
        // The replay check: the caller holds the lease, or is an Operator.
        let mut conn = state.pool.acquire().await?;
        let held = lease::lease(&mut conn, lease_id)
            .await?
            .ok_or_else(workstream_engine::CommandError::not_found)?;
        if ending == queue::Ending::ForceRelease {
            access::precheck_project(&mut conn, caller.actor_id, held.project_id, Actor::Operator)
                .await?;
        } else if held.reviewer_id != caller.actor_id {
            return Err(workstream_engine::CommandError::not_found().into());
        }
    }
    let who = caller.requester();
    let request = json!({ "path": path, "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        operation,
        key,
        &request,
        async |tx| {
            let ended = queue::end(tx, &who, lease_id, ending, body.reason.as_deref()).await?;
            Ok((StatusCode::OK, EndedLease { lease: ended }))
        },
    )
    .await
}

async fn release(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(lease_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<EndedLease>, ApiError> {
    end_lease(state, caller, key, lease_id, value, queue::Ending::Release).await
}

async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(lease_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<EndedLease>, ApiError> {
    end_lease(state, caller, key, lease_id, value, queue::Ending::Decline).await
}

async fn force_release(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(lease_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<EndedLease>, ApiError> {
    end_lease(
        state,
        caller,
        key,
        lease_id,
        value,
        queue::Ending::ForceRelease,
    )
    .await
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(lease_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<decision::Decided>, ApiError> {
    let body: decision::DecisionInput = crate::extract::body(&value)?;
    {
        // The replay check: the lease exists and is the caller's (anyone else gets the
        // concealed 404, as on every other lease route), and the caller still reviews
        // its project.
        let mut conn = state.pool.acquire().await?;
        let held = lease::lease(&mut conn, lease_id)
            .await?
            .filter(|held| held.reviewer_id == caller.actor_id)
            .ok_or_else(workstream_engine::CommandError::not_found)?;
        access::precheck_project(&mut conn, caller.actor_id, held.project_id, Actor::Reviewer)
            .await?;
    }
    let who = caller.requester();
    let request = json!({ "path": format!("/reviews/leases/{lease_id}/decision"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "review.decision",
        key,
        &request,
        async |tx| {
            let decided = decision::decide_review(tx, &who, lease_id, &body).await?;
            Ok((StatusCode::CREATED, decided))
        },
    )
    .await
}

/// Who may read a task's review history: its managers, Operators and auditors, and its
/// assignee; anyone else gets the concealed 404.
async fn may_read_history(
    conn: &mut sqlx::PgConnection,
    actor_id: Uuid,
    task_id: Uuid,
) -> Result<(), ApiError> {
    let task = workstream_store::tasks::find(conn, task_id)
        .await?
        .ok_or_else(workstream_engine::CommandError::not_found)?;
    let who = access::Access::read(conn, actor_id, task.project_id, false).await?;
    let manages = who.grant_for(Actor::ProjectManager).is_some()
        || who.grant_for(Actor::Operator).is_some()
        || who.audit_grant().is_some();
    if manages || task.assigned_to == Some(actor_id) {
        Ok(())
    } else {
        Err(workstream_engine::CommandError::not_found().into())
    }
}

async fn task_reviews(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<TaskReviews>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    may_read_history(&mut conn, caller.actor_id, task_id).await?;
    let reviews = decision::task_reviews(&mut conn, task_id).await?;
    Ok(axum::Json(TaskReviews {
        task_id,
        items: reviews,
    }))
}

async fn revision_context(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<revision::RevisionContext>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let view = revision::view(&mut conn, &caller.requester(), task_id).await?;
    Ok(axum::Json(view))
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    /// `revision_limit_reached` or `revision_deadline_expired`, as proven by the record
    /// (required: without it the answer is 422 `reason_required`).
    #[schemars(extend("enum" = ["revision_limit_reached", "revision_deadline_expired"]))]
    reason: Option<String>,
}

async fn close_revision(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<ClosedTask>, ApiError> {
    let body: CloseBody = crate::extract::body(&value)?;
    {
        let mut conn = state.pool.acquire().await?;
        access::precheck_task(&mut conn, caller.actor_id, task_id, Actor::ProjectManager).await?;
    }
    let who = caller.requester();
    let request =
        json!({ "path": format!("/tasks/{task_id}/revision-obligation/close"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "review.revision_obligation.close",
        key,
        &request,
        async |tx| {
            let task = revision::close(
                tx,
                &who,
                task_id,
                body.reason.as_deref().unwrap_or_default(),
            )
            .await?;
            Ok((
                StatusCode::OK,
                ClosedTask {
                    task: TaskStatus {
                        id: task.id,
                        status: task.status,
                    },
                },
            ))
        },
    )
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RepairBody {
    head_id: Uuid,
    head_digest: String,
    #[serde(default)]
    reason: String,
}

async fn repair_revision(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Answer<RepairedHead>, ApiError> {
    let body: RepairBody = crate::extract::body(&value)?;
    {
        let mut conn = state.pool.acquire().await?;
        access::precheck_task(&mut conn, caller.actor_id, task_id, Actor::ProjectManager).await?;
    }
    let who = caller.requester();
    let request =
        json!({ "path": format!("/tasks/{task_id}/revision-context/repair"), "body": value });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "review.revision_context.repair",
        key,
        &request,
        async |tx| {
            let prepared = revision::repair(
                tx,
                &who,
                task_id,
                body.head_id,
                &body.head_digest,
                &body.reason,
            )
            .await?;
            Ok((
                StatusCode::CREATED,
                RepairedHead {
                    preparation: prepared,
                },
            ))
        },
    )
    .await
}
