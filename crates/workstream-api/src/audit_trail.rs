//! `GET /tasks/{tid}/audit-trail`: every audit event about one task, each checked
//! against the audit ledger's latest signed checkpoint.
//!
//! | method | path | who | answers |
//! |---|---|---|---|
//! | GET | `/tasks/{tid}/audit-trail` | audit authority, PM or operator covering the task's project | 200 `{task_id, project_id, ledger, items}`; the concealed 404 to anyone else |
//!
//! The events of a task are those whose entity is the task, one of its submissions,
//! packet admissions or awards, or whose payload names the task (`task_id`: review
//! leases, revision context preparations). They are ordered by their position in the
//! ledger, events not sealed yet last.
//!
//! `ledger` is the latest checkpoint (`{tree_size, root, signed_at, key_id,
//! signature}`), whether its signature holds under the server's key
//! (`signature_valid`), and `verified`: every sealed event of the trail has an inclusion
//! proof to that root and the signature holds. Each item carries its `leaf_index`, its
//! `digest`, `status` (`verified`: its content, as read now, is what was sealed at its
//! position; `failed`: it is not; `pending`: not sealed yet, which lasts about a
//! second) and the `proof` (hex subtree hashes from the leaf up, RFC 9162 §2.1.3), so a
//! client can check it against a checkpoint it trusts. The read costs one batch of
//! tree nodes, however large the project or the ledger (see
//! crates/workstream-store/src/audit/proof.rs); the whole ledger is checked by
//! `workstream audit verify`.

use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;
use workstream_domain::lifecycle::Actor;
use workstream_engine::tasks::access::Access;
use workstream_store::audit::proof::{self, Inclusion};
use workstream_store::audit::{self};

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
        Doc::new("The task's audit events in ledger order, each checked against the latest signed checkpoint")
            .who("an audit authority, project manager or operator covering the task's project (anyone else: the concealed 404)")
            .ok("`{task_id, project_id, ledger: {checkpoint, signature_valid, verified, pending, failed}, items}`: each item with its `leaf_index`, `actor_name`, `status` (`verified`, `failed` or `pending`) and inclusion `proof`"),
    )
}

async fn trail(
    State(state): State<AppState>,
    caller: Caller,
    Ids(task_id): Ids<Uuid>,
) -> Result<axum::Json<Trail>, ApiError> {
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
    let project_id = task.project_id;
    let events = audit::task_trail(&mut conn, task_id, project_id).await?;
    let actors: Vec<Uuid> = events.iter().filter_map(|e| e.actor_id).collect();
    let names = workstream_store::actors::labels(&mut conn, &actors).await?;
    let checked = proof::prove(&mut conn, &events, state.audit_key.as_ref())
        .await
        .map_err(ApiError::internal)?;
    let (mut pending, mut failed) = (0, 0);
    let items = events
        .iter()
        .map(|e| {
            let (leaf_index, status, proof) = match checked.events.get(&e.id) {
                Some(Inclusion::Proven { leaf_index, proof }) => (
                    Some(*leaf_index),
                    ProofStatus::Verified,
                    proof.iter().map(hex::encode).collect(),
                ),
                Some(Inclusion::Failed { leaf_index }) => {
                    failed += 1;
                    (Some(*leaf_index), ProofStatus::Failed, Vec::new())
                }
                Some(Inclusion::Pending) | None => {
                    pending += 1;
                    (None, ProofStatus::Pending, Vec::new())
                }
            };
            TrailEvent {
                id: e.id,
                leaf_index,
                occurred_at: e.occurred_at,
                entity_type: e.entity_type.clone(),
                entity_id: e.entity_id,
                event_type: e.event_type.clone(),
                from_status: e.from_status.clone(),
                to_status: e.to_status.clone(),
                actor_id: e.actor_id,
                actor_name: e.actor_id.and_then(|a| names.get(&a).cloned()),
                reason: e.reason.clone(),
                payload: e.payload.clone(),
                correlation_id: e.correlation_id.clone(),
                digest: e.digest.clone(),
                status,
                proof,
            }
        })
        .collect();
    let checkpoint = checked.checkpoint.as_ref().map(|c| SignedCheckpoint {
        tree_size: c.tree_size,
        root: hex::encode(c.root),
        signed_at: c.signed_at,
        key_id: c.key_id.clone(),
        signature: hex::encode(c.signature),
    });
    Ok(axum::Json(Trail {
        task_id,
        project_id,
        ledger: LedgerState {
            checkpoint,
            signature_valid: checked.signature_valid,
            verified: failed == 0 && checked.signature_valid != Some(false),
            pending,
            failed,
        },
        items,
    }))
}

/// A task's audit trail with each event's proof of inclusion in the signed ledger.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Trail {
    task_id: Uuid,
    project_id: Uuid,
    ledger: LedgerState,
    /// Every event of the task, in ledger order (unsealed ones last).
    items: Vec<TrailEvent>,
}

/// What the ledger proves of the trail.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LedgerState {
    /// The latest signed checkpoint, once one exists.
    checkpoint: Option<SignedCheckpoint>,
    /// Whether its signature verifies with this server's key (null without a key or a
    /// checkpoint).
    signature_valid: Option<bool>,
    /// No event failed its proof and the signature did not fail.
    verified: bool,
    /// Events not yet sealed.
    pending: u32,
    /// Events whose proof did not verify.
    failed: u32,
}

/// A signed checkpoint of the ledger.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SignedCheckpoint {
    tree_size: u64,
    /// The Merkle root, hex.
    root: String,
    signed_at: chrono::DateTime<chrono::Utc>,
    key_id: String,
    /// Ed25519, hex.
    signature: String,
}

/// One event of a trail with its proof.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TrailEvent {
    id: Uuid,
    /// Its place in the ledger, once sealed.
    leaf_index: Option<u64>,
    occurred_at: chrono::DateTime<chrono::Utc>,
    entity_type: String,
    entity_id: Option<Uuid>,
    event_type: String,
    from_status: Option<String>,
    to_status: Option<String>,
    actor_id: Option<Uuid>,
    actor_name: Option<String>,
    reason: Option<String>,
    payload: Value,
    correlation_id: Option<String>,
    /// The event's canonical digest (the ledger's leaf).
    digest: String,
    status: ProofStatus,
    /// The inclusion proof's sibling hashes, hex, leaf to root.
    proof: Vec<String>,
}

/// Whether an event's inclusion in the ledger is proven.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProofStatus {
    /// Proven against the latest checkpoint.
    Verified,
    /// Not sealed yet.
    Pending,
    /// The proof does not verify: the ledger was tampered with.
    Failed,
}
