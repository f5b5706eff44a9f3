//! `GET /tasks/{tid}/audit-trail`: every audit event about one task, with the
//! verification of the hash chain they sit in (R2; arch §5).
//!
//! | method | path | who | answers |
//! |---|---|---|---|
//! | GET | `/tasks/{tid}/audit-trail` | audit authority, PM or operator covering the task's project | 200 `{task_id, project_id, chain, items}`; the concealed 404 to anyone else |
//!
//! The events of a task are those whose entity is the task, one of its submissions,
//! packet admissions or awards, or whose payload names the task (`task_id`: review
//! leases, revision context preparations). They are ordered by their position in the
//! project's chain.
//!
//! `chain` is [`workstream_store::audit::verify`] of the project's chain, recomputed on
//! every read from the first event to the head: `{chain_key, events, verified, broken}`
//! with `broken = {chain_seq, event_id, problem}` naming the first link that fails.
//! Each item carries its `chain_seq`, `prev_digest` and `digest`, and `verified`: it
//! lies before the first broken link (so its content and every predecessor's match
//! their digests). A task's events cannot be verified apart from the chain, because a
//! removed or edited event elsewhere in the project breaks every link after it.

use axum::extract::State;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::lifecycle::Actor;
use workstream_engine::tasks::access::Access;
use workstream_store::audit::{self, AuditEvent};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Ids;
use crate::openapi::{ApiRoutes, Doc};

/// The audit trail route, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new("Audit").get(
        "/tasks/{tid}/audit-trail",
        trail,
        Doc::new("The task's audit events in chain order, with the project chain's verification")
            .who("an audit authority, project manager or operator covering the task's project (anyone else: the concealed 404)")
            .ok("`{task_id, project_id, chain: {chain_key, events, verified, broken}, items}`: the project chain recomputed on this read, the task's events in chain order"),
    )
}

/// Every event of the task, oldest first (see the module docs for which).
const TRAIL: &str = "SELECT id, chain_key, chain_seq, project_id, entity_type, entity_id, \
     event_type, from_status, to_status, actor_id, reason, payload, request_id, correlation_id, \
     occurred_at, prev_digest, digest FROM audit_events \
     WHERE chain_key = $2 AND ( \
       entity_id = $1 \
       OR payload ->> 'task_id' = $1::text \
       OR entity_id IN (SELECT id FROM submissions WHERE task_id = $1) \
       OR entity_id IN (SELECT id FROM submission_bundle_admissions WHERE task_id = $1) \
       OR entity_id IN (SELECT a.id FROM compensation_awards a \
                        JOIN contribution_records c ON c.id = a.contribution_record_id \
                        WHERE c.task_id = $1)) \
     ORDER BY chain_seq";

async fn trail(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<Value>, ApiError> {
    let project_id = {
        let mut conn = state.pool.acquire().await?;
        let task = workstream_store::tasks::find(&mut conn, task_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let who = Access::read(&mut conn, caller.actor_id, task.project_id, false).await?;
        let reads = who.audit_grant().is_some()
            || who.grant_for(Actor::ProjectManager).is_some()
            || who.grant_for(Actor::Operator).is_some();
        if !reads {
            return Err(ApiError::not_found());
        }
        task.project_id
    };
    let chain_key = audit::chain_key(Some(project_id));
    let events: Vec<AuditEvent> = sqlx::query_as(TRAIL)
        .bind(task_id)
        .bind(&chain_key)
        .fetch_all(&state.pool)
        .await?;
    let report = audit::verify(&state.pool, Some(&chain_key))
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .next();
    let (count, broken) = match &report {
        Some(r) => (r.events, r.broken.clone()),
        // A project with no events yet has no chain head: nothing to break.
        None => (0, None),
    };
    let first_bad = broken.as_ref().map(|b| b.chain_seq);
    let items: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id, "chain_seq": e.chain_seq, "occurred_at": e.occurred_at,
                "entity_type": e.entity_type, "entity_id": e.entity_id,
                "event_type": e.event_type, "from_status": e.from_status,
                "to_status": e.to_status, "actor_id": e.actor_id, "reason": e.reason,
                "payload": e.payload, "correlation_id": e.correlation_id,
                "prev_digest": e.prev_digest, "digest": e.digest,
                "verified": first_bad.is_none_or(|bad| e.chain_seq < bad),
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "task_id": task_id,
        "project_id": project_id,
        "chain": {
            "chain_key": chain_key,
            "events": count,
            "verified": broken.is_none(),
            "broken": broken.map(|b| json!({
                "chain_seq": b.chain_seq, "event_id": b.event_id, "problem": b.to_string(),
            })),
        },
        "items": items,
    })))
}
