//! Review routes (upstream-domain §2.1 T11-T15, §2.2, §6 steps 20-25; the paths
//! upstream left unnamed follow its §6 suggestions).
//!
//! | route | who | success |
//! |---|---|---|
//! | `GET /reviews/current` | a reviewer | `{lease, offer}`: the active lease, or one offer, or neither |
//! | `POST /reviews/claim` | a reviewer, `{queue_entry_id?}` | 201 `{lease, manifest, manifest_digest}` |
//! | `GET /reviews/leases/{lid}` | the lease holder | the review packet |
//! | `GET /reviews/leases/{lid}/files/{*path}` | the lease holder | the file's bytes |
//! | `POST /reviews/leases/{lid}/release` | the lease holder | the ended lease |
//! | `POST /reviews/leases/{lid}/decline` | the lease holder | the ended lease |
//! | `POST /reviews/leases/{lid}/decision` | the lease holder | 201 review, task, contributions, awards |
//! | `POST /operations/reviews/leases/{lid}/force-release` | system Operator, reason | the ended lease |
//! | `GET /tasks/{tid}/reviews` | PM, Operator, auditor, the assignee | the task's reviews |
//! | `GET /tasks/{tid}/revision-context` | PM, Operator, auditor, the assignee | head, findings, bounds |
//! | `POST /tasks/{tid}/revision-obligation/close` | covering PM, reason | T15, `cancelled` |
//! | `POST /tasks/{tid}/revision-context/repair` | covering PM, head id + digest + reason | the new head |
//!
//! Every rule lives in `workstream_engine::reviews`; handlers authenticate, run one
//! command in one transaction behind `Idempotency-Key`, and shape the answer.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::lifecycle::Actor;
use workstream_engine::reviews::{decision, packet, queue, revision};
use workstream_engine::tasks::access;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json};
use crate::idempotency::{self, IdempotencyKey};

/// The review routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reviews/current", get(current))
        .route("/reviews/claim", post(claim))
        .route("/reviews/leases/{lid}", get(packet_view))
        .route("/reviews/leases/{lid}/files/{*path}", get(packet_file))
        .route("/reviews/leases/{lid}/release", post(release))
        .route("/reviews/leases/{lid}/decline", post(decline))
        .route("/reviews/leases/{lid}/decision", post(decide))
        .route(
            "/operations/reviews/leases/{lid}/force-release",
            post(force_release),
        )
        .route("/tasks/{tid}/reviews", get(task_reviews))
        .route("/tasks/{tid}/revision-context", get(revision_context))
        .route(
            "/tasks/{tid}/revision-obligation/close",
            post(close_revision),
        )
        .route(
            "/tasks/{tid}/revision-context/repair",
            post(repair_revision),
        )
}

async fn current(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let mut tx = state.pool.begin().await?;
    let current = queue::current(&mut tx, caller.actor_id).await?;
    tx.commit().await?;
    Ok(axum::Json(current).into_response())
}

#[derive(Debug, Default, Deserialize)]
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
) -> Result<Response, ApiError> {
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
            Ok((
                StatusCode::CREATED,
                serde_json::to_value(claimed).map_err(ApiError::internal)?,
            ))
        },
    )
    .await
}

async fn packet_view(
    State(state): State<AppState>,
    caller: Caller,
    Ids(lease_id): Ids<Uuid>,
) -> Result<Response, ApiError> {
    let mut tx = state.pool.begin().await?;
    let view = packet::view(&mut tx, &caller.requester(), lease_id).await?;
    tx.commit().await?;
    Ok(axum::Json(view).into_response())
}

async fn packet_file(
    State(state): State<AppState>,
    caller: Caller,
    Ids((lease_id, path)): Ids<(Uuid, String)>,
) -> Result<Response, ApiError> {
    let (key, archive, sha, policy) = {
        let mut tx = state.pool.begin().await?;
        let who = caller.requester();
        let (key, archive, sha, _) = packet::file_identity(&mut tx, &who, lease_id, &path).await?;
        let policy: Value = sqlx::query_scalar(
            "SELECT coalesce(g.policy_bundle -> 'artifact_policy', '{}'::jsonb) \
             FROM review_leases l JOIN submissions s ON s.id = l.submission_id \
             JOIN project_guides g ON g.id = s.locked_guide_id WHERE l.id = $1",
        )
        .bind(lease_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        (key, archive, sha, policy)
    };
    let pipeline = state.pipeline.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "packet_store_unavailable",
            "this server has no packet store configured",
        )
    })?;
    let bytes = pipeline
        .packet_file(&key, &archive, &policy, &path, &sha)
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
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
) -> Result<Response, ApiError> {
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
        let held = queue::lease(&mut conn, lease_id)
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
            Ok((
                StatusCode::OK,
                json!({ "lease": serde_json::to_value(ended).map_err(ApiError::internal)? }),
            ))
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
) -> Result<Response, ApiError> {
    end_lease(state, caller, key, lease_id, value, queue::Ending::Release).await
}

async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(lease_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Response, ApiError> {
    end_lease(state, caller, key, lease_id, value, queue::Ending::Decline).await
}

async fn force_release(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(lease_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Response, ApiError> {
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
) -> Result<Response, ApiError> {
    let body: decision::DecisionInput = crate::extract::body(&value)?;
    {
        // The replay check: the lease exists and the caller reviews its project.
        let mut conn = state.pool.acquire().await?;
        let held = queue::lease(&mut conn, lease_id)
            .await?
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
            Ok((
                StatusCode::CREATED,
                serde_json::to_value(decided).map_err(ApiError::internal)?,
            ))
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
) -> Result<Response, ApiError> {
    let mut conn = state.pool.acquire().await?;
    may_read_history(&mut conn, caller.actor_id, task_id).await?;
    let ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM reviews WHERE task_id = $1 ORDER BY completed_at, id")
            .bind(task_id)
            .fetch_all(&mut *conn)
            .await?;
    let mut reviews = Vec::with_capacity(ids.len());
    for id in ids {
        reviews.push(decision::review_view(&mut conn, id).await?);
    }
    Ok(axum::Json(json!({ "task_id": task_id, "items": reviews })).into_response())
}

async fn revision_context(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<Response, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let view = revision::view(&mut conn, &caller.requester(), task_id).await?;
    Ok(axum::Json(view).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    #[serde(default)]
    reason: String,
}

async fn close_revision(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(task_id): Ids<Uuid>,
    Json(value): Json<Value>,
) -> Result<Response, ApiError> {
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
            let task = revision::close(tx, &who, task_id, &body.reason).await?;
            Ok((
                StatusCode::OK,
                json!({ "task": { "id": task.id, "status": task.status } }),
            ))
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
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
) -> Result<Response, ApiError> {
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
                json!({ "preparation": serde_json::to_value(prepared).map_err(ApiError::internal)? }),
            ))
        },
    )
    .await
}
