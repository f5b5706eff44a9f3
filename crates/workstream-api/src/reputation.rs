//! Reputation reads and the Operator's recompute (arch §4; upstream-domain §5.5).
//!
//! | method | path | who | answers |
//! |---|---|---|---|
//! | GET | `/me/reputation` | any active actor | 200 `{actor_id, scores[]}` (own rows: per role, overall `*` first, then per skill tag) |
//! | GET | `/me/reputation/events?limit=&cursor=` | any active actor | 200 page of own events |
//! | GET | `/projects/{pid}/contributors/{aid}/reputation?limit=&cursor=` | PM covering the project, operator, audit covering it | 200 `{actor_id, scores[], events: {items, next_cursor}}`: the actor's scores and their events *of this project* only; 404 (concealed) if the actor holds no contributor role on the project, ever; 403 `permission_not_granted` to others who see the project, 404 to the rest |
//! | POST | `/operations/reputation/recompute` | system operator | `{reason}` -> 200 `{rows, corrected, events}`; 403 `permission_not_granted` to everyone else |
//!
//! Scores are global to the actor (they read across projects, as the outcome ledger
//! does), but a project's managers see only the events of their own project, and only
//! for someone who contributes to it. Reputation grants nothing and decides nothing
//! (§1.1): no route here changes a task, a review or an award.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_engine::reputation;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json};
use crate::guides::page_query;
use crate::idempotency::{self, IdempotencyKey};
use crate::pagination::{Page, PageQuery};
use crate::projects::require;

/// The reputation routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/reputation", get(mine))
        .route("/me/reputation/events", get(my_events))
        .route(
            "/projects/{project_id}/contributors/{actor_id}/reputation",
            get(contributor),
        )
        .route("/operations/reputation/recompute", post(recompute))
}

async fn mine(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let scores = reputation::scores_of(&mut conn, caller.actor_id).await?;
    Ok(axum::Json(
        json!({ "actor_id": caller.actor_id, "scores": scores }),
    ))
}

async fn events_page(
    state: &AppState,
    actor: Uuid,
    project: Option<Uuid>,
    query: &PageQuery,
    scope: &str,
) -> Result<Value, ApiError> {
    let page = Page::parse(query, scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    let events = reputation::events_of(&mut conn, actor, project, page.after, page.limit).await?;
    let next = page.next_cursor(
        events.len(),
        events.last().map(|(id, _)| *id),
        scope,
        &state.config.cursor_secret,
    );
    let items: Vec<Value> = events.into_iter().map(|(_, v)| v).collect();
    Ok(json!({ "items": items, "next_cursor": next }))
}

async fn my_events(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<axum::Json<Value>, ApiError> {
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
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<axum::Json<Value>, ApiError> {
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
    Ok(axum::Json(
        json!({ "actor_id": actor_id, "project_id": project_id, "scores": scores, "events": events }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recompute {
    reason: String,
}

async fn recompute(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Json(body): Json<Recompute>,
) -> Result<Response, ApiError> {
    if caller.grants.admin(AdminRole::Operator, None).is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_not_granted",
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
            Ok((
                StatusCode::OK,
                serde_json::to_value(done).expect("a report serializes"),
            ))
        },
    )
    .await
}
