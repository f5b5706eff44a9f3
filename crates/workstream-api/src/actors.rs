//! Actor routes: the caller's own profile, and the access administrator's view and
//! control of actors, identity links and service principals (upstream-api §1.1-1.2).
//!
//! | route | who |
//! |---|---|
//! | `GET /actors/me` | any verified, active actor |
//! | `GET /actors/{id}`, `GET /actors/{id}/identity-links` | system access administrator or audit authority |
//! | `POST /actors/{id}/suspend`, `/reactivate`, `/deactivate` | system access administrator |
//! | `POST /actor-identity-links/{id}/revoke`, `/reactivate` | system access administrator |
//! | `POST /service-actors` | system access administrator |
//!
//! Without the grant every one of these answers 403 `permission_not_granted`, even for
//! an id that does not exist, so a non-administrator learns nothing about which actors
//! exist. Every mutation spends the caller's admin-mutation budget ([`crate::rate_limit`]).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_engine::authority::actors::{StatusChange, change_status};
use workstream_engine::authority::{links, services};
use workstream_store::actors::{self as stored, ActorProfile, IdentityLink};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json};
use crate::idempotency::{self, IdempotencyKey};
use crate::rate_limit;

/// The actor routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/actors/me", get(me))
        .route("/actors/{actor_id}", get(actor))
        .route("/actors/{actor_id}/identity-links", get(identity_links))
        .route("/actors/{actor_id}/suspend", post(suspend))
        .route("/actors/{actor_id}/reactivate", post(reactivate))
        .route("/actors/{actor_id}/deactivate", post(deactivate))
        .route("/actor-identity-links/{link_id}/revoke", post(revoke_link))
        .route(
            "/actor-identity-links/{link_id}/reactivate",
            post(reactivate_link),
        )
        .route("/service-actors", post(create_service_actor))
}

/// 403 `permission_not_granted`.
pub(crate) fn not_granted() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "permission_not_granted",
        "you hold no grant that allows this",
    )
}

/// The caller's system access administrator grant, or 403.
pub(crate) fn access_administrator(caller: &Caller) -> Result<Uuid, ApiError> {
    caller
        .grants
        .admin(AdminRole::AccessAdministrator, None)
        .ok_or_else(not_granted)
}

/// Access administrators and system audit authorities may read actors.
fn may_read_actors(caller: &Caller) -> Result<(), ApiError> {
    let grants = &caller.grants;
    if grants.admin(AdminRole::AccessAdministrator, None).is_some()
        || grants.admin(AdminRole::AuditAuthority, None).is_some()
    {
        Ok(())
    } else {
        Err(not_granted())
    }
}

fn profile_view(profile: &ActorProfile) -> Value {
    json!({
        "actor_profile_id": profile.id,
        "actor_kind": profile.kind,
        "status": profile.status,
        "display_name": profile.display_name,
        "contact_email": profile.contact_email,
        "service_identity": profile.service_identity,
        "created_at": profile.created_at,
        "status_changed_at": profile.status_changed_at,
        "status_changed_by": profile.status_changed_by,
        "status_reason": profile.status_reason,
    })
}

fn link_view(link: &IdentityLink) -> Value {
    json!({
        "id": link.id,
        "actor_profile_id": link.actor_profile_id,
        "issuer": link.issuer,
        "subject": link.subject,
        "status": link.status,
        "linked_at": link.linked_at,
        "revoked_at": link.revoked_at,
        "revoked_by": link.revoked_by,
        "revoke_reason": link.revoke_reason,
    })
}

/// `GET /actors/me`: the caller's profile, admin roles and project grants.
async fn me(State(state): State<AppState>, caller: Caller) -> Result<axum::Json<Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let profile = stored::profile(&mut conn, caller.actor_id, false)
        .await?
        .ok_or_else(|| ApiError::internal("caller without a profile"))?;
    let mut admin_roles: Vec<&str> = caller
        .grants
        .admin
        .iter()
        .map(|g| g.role.as_str())
        .collect();
    admin_roles.sort_unstable();
    admin_roles.dedup();
    let admin_grants: Vec<Value> = caller
        .grants
        .admin
        .iter()
        .map(|g| {
            json!({
                "id": g.id, "role": g.role, "scope_type": g.scope.scope_type(),
                "scope_project_id": g.scope.project_id(),
            })
        })
        .collect();
    let project_grants: Vec<Value> = caller
        .grants
        .project
        .iter()
        .map(|g| json!({ "id": g.id, "project_id": g.project_id, "role": g.role }))
        .collect();
    Ok(axum::Json(json!({
        "actor_profile_id": profile.id,
        "actor_kind": profile.kind,
        "status": profile.status,
        "domains": ["contributor"],
        "admin_roles": admin_roles,
        "admin_role_grants": admin_grants,
        "project_role_grants": project_grants,
        "display_name": profile.display_name,
        "contact_email": profile.contact_email,
    })))
}

/// `GET /actors/{id}`.
async fn actor(
    State(state): State<AppState>,
    caller: Caller,
    Ids(actor_id): Ids<Uuid>,
) -> Result<axum::Json<Value>, ApiError> {
    may_read_actors(&caller)?;
    let mut conn = state.pool.acquire().await?;
    let profile = stored::profile(&mut conn, actor_id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(profile_view(&profile)))
}

/// `GET /actors/{id}/identity-links`.
async fn identity_links(
    State(state): State<AppState>,
    caller: Caller,
    Ids(actor_id): Ids<Uuid>,
) -> Result<axum::Json<Value>, ApiError> {
    may_read_actors(&caller)?;
    let mut conn = state.pool.acquire().await?;
    stored::profile(&mut conn, actor_id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let links = stored::links_of(&mut conn, actor_id).await?;
    Ok(axum::Json(
        json!({ "items": links.iter().map(link_view).collect::<Vec<_>>() }),
    ))
}

/// The body of every status change: a reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    pub(crate) reason: String,
}

async fn status_change(
    state: AppState,
    caller: Caller,
    key: IdempotencyKey,
    actor_id: Uuid,
    body: ReasonBody,
    change: StatusChange,
    operation: &'static str,
) -> Result<Response, ApiError> {
    let grant = access_administrator(&caller)?;
    rate_limit::admin_mutation(&state, &caller).await?;
    let request = json!({ "path": { "actor_id": actor_id }, "body": { "reason": body.reason } });
    let ctx = caller.context();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        operation,
        key,
        &request,
        async |tx| {
            let profile = change_status(
                tx,
                caller.actor_id,
                grant,
                actor_id,
                change,
                &body.reason,
                &ctx,
            )
            .await?;
            Ok((StatusCode::OK, profile_view(&profile)))
        },
    )
    .await
}

/// `POST /actors/{id}/suspend`.
async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(actor_id): Ids<Uuid>,
    Json(body): Json<ReasonBody>,
) -> Result<Response, ApiError> {
    status_change(
        state,
        caller,
        key,
        actor_id,
        body,
        StatusChange::Suspend,
        "actor_profile.suspend",
    )
    .await
}

/// `POST /actors/{id}/reactivate`.
async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(actor_id): Ids<Uuid>,
    Json(body): Json<ReasonBody>,
) -> Result<Response, ApiError> {
    status_change(
        state,
        caller,
        key,
        actor_id,
        body,
        StatusChange::Reactivate,
        "actor_profile.reactivate",
    )
    .await
}

/// `POST /actors/{id}/deactivate`.
async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(actor_id): Ids<Uuid>,
    Json(body): Json<ReasonBody>,
) -> Result<Response, ApiError> {
    status_change(
        state,
        caller,
        key,
        actor_id,
        body,
        StatusChange::Deactivate,
        "actor_profile.deactivate",
    )
    .await
}

async fn link_change(
    state: AppState,
    caller: Caller,
    key: IdempotencyKey,
    link_id: Uuid,
    body: ReasonBody,
    revoke: bool,
) -> Result<Response, ApiError> {
    let grant = access_administrator(&caller)?;
    rate_limit::admin_mutation(&state, &caller).await?;
    let operation = if revoke {
        "identity_link.revoke"
    } else {
        "identity_link.reactivate"
    };
    let request = json!({ "path": { "link_id": link_id }, "body": { "reason": body.reason } });
    let ctx = caller.context();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        operation,
        key,
        &request,
        async |tx| {
            let link = links::set_link_status(
                tx,
                caller.actor_id,
                grant,
                link_id,
                revoke,
                &body.reason,
                &ctx,
            )
            .await?;
            Ok((StatusCode::OK, link_view(&link)))
        },
    )
    .await
}

/// `POST /actor-identity-links/{id}/revoke`.
async fn revoke_link(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(link_id): Ids<Uuid>,
    Json(body): Json<ReasonBody>,
) -> Result<Response, ApiError> {
    link_change(state, caller, key, link_id, body, true).await
}

/// `POST /actor-identity-links/{id}/reactivate`.
async fn reactivate_link(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(link_id): Ids<Uuid>,
    Json(body): Json<ReasonBody>,
) -> Result<Response, ApiError> {
    link_change(state, caller, key, link_id, body, false).await
}

/// The body of `POST /service-actors`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceActorBody {
    service_identity: String,
    subject: String,
    reason: String,
}

/// `POST /service-actors`: provisions a service principal for the configured issuer.
async fn create_service_actor(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Json(body): Json<ServiceActorBody>,
) -> Result<Response, ApiError> {
    access_administrator(&caller)?;
    rate_limit::admin_mutation(&state, &caller).await?;
    let request = json!({ "body": {
        "service_identity": body.service_identity, "subject": body.subject, "reason": body.reason,
    }});
    let ctx = caller.context();
    // Services are linked under the issuer this server verifies, the only one whose
    // tokens could ever reach them.
    let issuer = caller.issuer.clone();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "service_actor.create",
        key,
        &request,
        async |tx| {
            let id = services::create_service_actor(
                tx,
                caller.actor_id,
                &body.service_identity,
                &issuer,
                &body.subject,
                &body.reason,
                &ctx,
            )
            .await?;
            Ok((
                StatusCode::CREATED,
                json!({
                    "actor_profile_id": id, "service_identity": body.service_identity,
                    "issuer": issuer, "subject": body.subject,
                }),
            ))
        },
    )
    .await
}
