//! Reputation reads and the Operator's recompute (docs/architecture.md; docs/rules.md).
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Scores are global to the actor (they read across projects, as the outcome ledger
//! does), but a project's managers see only the events of their own project, and only
//! for someone who contributes to it. Reputation grants nothing and decides nothing
//! (docs/security.md): no route here changes a task, a review or an award.

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::roles::AdminRole;
use workstream_engine::reputation;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::page_query;
use crate::pagination::{Page, PageQuery, Paged};
use crate::projects::require;

/// The reputation routes.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new("Reputation")
        .get(
            "/me/reputation",
            mine,
            Doc::new("The caller's reputation scores")
                .who("any active actor")
                .ok("`{actor_id, scores[]}`: per role, overall (`*`) first, then per skill tag; each score is 100 x the 95% Wilson lower bound of the positive share"),
        )
        .get(
            "/me/reputation/events",
            my_events,
            Doc::new("The events the caller's scores are computed from")
                .who("any active actor")
                .ok("`{items, next_cursor}`")
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{project_id}/contributors/{actor_id}/reputation",
            contributor,
            Doc::new("A contributor's scores and their events of this project")
                .who("a project manager or audit authority covering the project, or an operator; the actor must hold (or have held) a contributor role on the project")
                .ok("`{actor_id, project_id, scores[], events: {items, next_cursor}}`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .post(
            "/operations/reputation/recompute",
            recompute,
            Doc::new("Rebuild every score from the events and report what was corrected")
                .who("a system operator")
                .ok("`{rows, corrected, events}`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidReason]),
        )
}

/// An actor's scores: per role, overall first, then per skill tag.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Scores {
    actor_id: Uuid,
    scores: Vec<reputation::Score>,
}

/// A contributor's scores and their events in one project.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContributorReputation {
    actor_id: Uuid,
    project_id: Uuid,
    scores: Vec<reputation::Score>,
    events: Paged<reputation::ReputationEvent>,
}

async fn mine(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Scores>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let scores = reputation::scores_of(&mut conn, caller.actor_id).await?;
    Ok(axum::Json(Scores {
        actor_id: caller.actor_id,
        scores,
    }))
}

async fn events_page(
    state: &AppState,
    actor: Uuid,
    project: Option<Uuid>,
    query: &PageQuery,
    scope: &str,
) -> Result<Paged<reputation::ReputationEvent>, ApiError> {
    let page = Page::parse(query, scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    let events = reputation::events_of(&mut conn, actor, project, page.after, page.limit).await?;
    let next = page.next_cursor(
        events.len(),
        events.last().map(|event| event.id),
        scope,
        &state.config.cursor_secret,
    );
    Ok(Paged {
        items: events,
        next_cursor: next,
    })
}

async fn my_events(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<reputation::ReputationEvent>>, ApiError> {
    let query = page_query(query)?;
    let scope = format!("reputation-events:{}", caller.actor_id);
    Ok(axum::Json(
        events_page(&state, caller.actor_id, None, &query, &scope).await?,
    ))
}

async fn contributor(
    State(state): State<AppState>,
    caller: Caller,
    Ids((project_id, actor_id)): Ids<(Uuid, Uuid)>,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<ContributorReputation>, ApiError> {
    let grants = &caller.grants;
    let allowed = grants
        .admin(AdminRole::ProjectManager, Some(project_id))
        .is_some()
        || grants.admin(AdminRole::Operator, None).is_some()
        || grants
            .admin(AdminRole::AuditAuthority, Some(project_id))
            .is_some();
    require(&caller, project_id, allowed)?;
    let query = page_query(query)?;
    let mut conn = state.pool.acquire().await?;
    if !reputation::is_contributor_of(&mut conn, project_id, actor_id).await? {
        return Err(ApiError::not_found());
    }
    let scores = reputation::scores_of(&mut conn, actor_id).await?;
    drop(conn);
    // The cursor is bound to the reader as well: their page boundaries are theirs.
    let scope = format!(
        "project:{project_id}:reputation-events:{actor_id}:{}",
        caller.actor_id
    );
    let events = events_page(&state, actor_id, Some(project_id), &query, &scope).await?;
    Ok(axum::Json(ContributorReputation {
        actor_id,
        project_id,
        scores,
        events,
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Recompute {
    reason: String,
}

async fn recompute(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Json(body): Json<Recompute>,
) -> Result<Answer<reputation::Recomputed>, ApiError> {
    if caller.grants.admin(AdminRole::Operator, None).is_none() {
        return Err(ApiError::new(
            ErrorCode::PermissionNotGranted,
            "recomputing reputation needs a system operator grant",
        ));
    }
    let reason = workstream_engine::authority::reason(&body.reason)?;
    let request =
        json!({ "path": "/operations/reputation/recompute", "body": { "reason": reason } });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "operations.reputation.recompute",
        key,
        &request,
        async |tx| {
            let done = reputation::recompute(tx, &acting, &reason).await?;
            Ok((StatusCode::OK, done))
        },
    )
    .await
}
