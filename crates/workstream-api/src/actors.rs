//! Actor routes: the caller's own profile and display name, and the access
//! administrator's view and control of actors, identity links and service principals.
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Without the grant every one of these answers 403 `permission_not_granted`, even for
//! an id that does not exist, so a non-administrator learns nothing about which actors
//! exist. Every mutation spends the caller's admin-mutation budget ([`crate::rate_limit`]).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::{ActorStatus, LinkStatus};
use workstream_domain::roles::{AdminRole, ProjectRole, ScopeType};
use workstream_engine::authority::actors::{StatusChange, change_status};
use workstream_engine::authority::{links, services};
use workstream_store::actors::{self as stored, ActorProfile, IdentityLink};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};
use crate::rate_limit;

/// The actor routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const ADMIN: &str = "a system access administrator";
    const READERS: &str = "a system access administrator or audit authority";
    ApiRoutes::new("Actors")
        .get(
            "/actors/me",
            me,
            Doc::new("The caller's profile, admin roles and project grants")
                .who("any verified, active actor (the first request of a human creates the profile)")
                .ok("`{actor_profile_id, actor_kind, status, display_name, name, ..., admin_role_grants, project_role_grants}`: `display_name` is empty until the person sets it; `name` is what every page shows (the display name, else the token's subject)"),
        )
        .patch(
            "/actors/me",
            set_my_name,
            Doc::new("Set the caller's display name (what every page and export shows for them)")
                .who("any verified, active actor, for their own profile")
                .body::<NameBody>()
                .ok("the caller's profile, as `GET /actors/me` answers it")
                .refuses(&[ErrorCode::DisplayNameInvalid]),
        )
        .get(
            "/actors/{actor_id}",
            actor,
            Doc::new("An actor's profile").who(READERS).ok("the profile").refuses(&[ErrorCode::PermissionNotGranted],
            ),
        )
        .get(
            "/actors/{actor_id}/identity-links",
            identity_links,
            Doc::new("An actor's identity links (issuer, subject, status)")
                .who(READERS)
                .ok("`{items: [link]}`")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
        .post(
            "/actors/{actor_id}/suspend",
            suspend,
            status_doc("Suspend an actor: their tokens are refused until reactivated", ADMIN)
                .refuses(&[ErrorCode::ActorAlreadySuspended, ErrorCode::ActorDeactivatedTerminal, ErrorCode::LastAccessAdministrator]),
        )
        .post(
            "/actors/{actor_id}/reactivate",
            reactivate,
            status_doc("Reactivate a suspended actor", ADMIN)
                .refuses(&[ErrorCode::ActorNotSuspended, ErrorCode::ActorDeactivatedTerminal]),
        )
        .post(
            "/actors/{actor_id}/deactivate",
            deactivate,
            status_doc("Deactivate an actor for good", ADMIN)
                .refuses(&[ErrorCode::ActorDeactivatedTerminal, ErrorCode::LastAccessAdministrator]),
        )
        .post(
            "/actor-identity-links/{link_id}/revoke",
            revoke_link,
            status_doc("Revoke an identity link: tokens for that issuer and subject are refused", ADMIN)
                .refuses(&[ErrorCode::IdentityLinkAlreadyRevoked, ErrorCode::ActorDeactivatedTerminal]),
        )
        .post(
            "/actor-identity-links/{link_id}/reactivate",
            reactivate_link,
            status_doc("Reactivate a revoked identity link", ADMIN)
                .refuses(&[ErrorCode::IdentityLinkNotRevoked, ErrorCode::ActorDeactivatedTerminal]),
        )
        .get(
            "/service-actors",
            service_actors,
            Doc::new("The service principals, with the identities they sign in as")
                .who(READERS)
                .ok("`{items: [{actor_profile_id, service_identity, status, created_at, links: [{id, issuer, subject, status}]}], service_identities}`: every service principal, oldest first, and the identities one may be created for")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
        .post(
            "/service-actors",
            create_service_actor,
            Doc::new("Provision a service principal (e.g. a payment adapter) for this server's issuer")
                .who(ADMIN)
                .created("`{actor_profile_id, service_identity, issuer, subject}`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::IdentityAlreadyLinked, ErrorCode::ServiceIdentityExists])
                .refuses(&[ErrorCode::UnknownServiceIdentity, ErrorCode::InvalidSubject, ErrorCode::InvalidReason])
                .refuses(&[ErrorCode::RateLimitExceeded]),
        )
}

/// An access administrator's status change of an actor or link.
fn status_doc(summary: &'static str, who: &'static str) -> Doc {
    Doc::new(summary)
        .who(who)
        .ok("the changed record")
        .refuses(&[
            ErrorCode::PermissionNotGranted,
            ErrorCode::ResourceGuardDenied,
        ])
        .refuses(&[ErrorCode::ActorNotFound])
        .refuses(&[ErrorCode::InvalidReason])
        .refuses(&[ErrorCode::RateLimitExceeded])
}

/// 403 `permission_not_granted`.
pub(crate) fn not_granted() -> ApiError {
    ApiError::new(
        ErrorCode::PermissionNotGranted,
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

/// An actor's profile, as access administrators and auditors read it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProfileView {
    actor_profile_id: Uuid,
    /// `human` or `service`.
    actor_kind: String,
    status: ActorStatus,
    /// Empty until the person names themself.
    display_name: String,
    contact_email: Option<String>,
    /// The fixed identity of a service principal; null for people.
    service_identity: Option<String>,
    created_at: DateTime<Utc>,
    status_changed_at: Option<DateTime<Utc>>,
    status_changed_by: Option<Uuid>,
    status_reason: Option<String>,
}

impl From<&ActorProfile> for ProfileView {
    fn from(profile: &ActorProfile) -> ProfileView {
        ProfileView {
            actor_profile_id: profile.id,
            actor_kind: profile.kind.clone(),
            status: profile.status,
            display_name: profile.display_name.clone(),
            contact_email: profile.contact_email.clone(),
            service_identity: profile.service_identity.clone(),
            created_at: profile.created_at,
            status_changed_at: profile.status_changed_at,
            status_changed_by: profile.status_changed_by,
            status_reason: profile.status_reason.clone(),
        }
    }
}

/// An identity link: an issuer and subject that sign in as a profile.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LinkView {
    id: Uuid,
    actor_profile_id: Uuid,
    issuer: String,
    subject: String,
    status: LinkStatus,
    linked_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<Uuid>,
    revoke_reason: Option<String>,
}

impl From<&IdentityLink> for LinkView {
    fn from(link: &IdentityLink) -> LinkView {
        LinkView {
            id: link.id,
            actor_profile_id: link.actor_profile_id,
            issuer: link.issuer.clone(),
            subject: link.subject.clone(),
            status: link.status,
            linked_at: link.linked_at,
            revoked_at: link.revoked_at,
            revoked_by: link.revoked_by,
            revoke_reason: link.revoke_reason.clone(),
        }
    }
}

/// A list of identity links.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LinkList {
    items: Vec<LinkView>,
}

/// The caller's own profile with the grants they hold.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Me {
    actor_profile_id: Uuid,
    /// `human` or `service`.
    actor_kind: String,
    /// `active` (a suspended or deactivated actor's token is refused).
    status: ActorStatus,
    /// Always `["contributor"]`: the product's one sign-in domain.
    domains: Vec<&'static str>,
    /// The distinct administrative roles held, sorted.
    admin_roles: Vec<AdminRole>,
    admin_role_grants: Vec<MyAdminGrant>,
    project_role_grants: Vec<MyProjectGrant>,
    /// Empty until the person sets it (`PATCH /actors/me`).
    display_name: String,
    /// What others see: the display name, else the sign-in subject.
    name: String,
    contact_email: Option<String>,
}

/// One administrative grant the caller holds.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MyAdminGrant {
    id: Uuid,
    role: AdminRole,
    scope_type: ScopeType,
    scope_project_id: Option<Uuid>,
}

/// One project role the caller holds.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MyProjectGrant {
    id: Uuid,
    project_id: Uuid,
    role: ProjectRole,
}

/// `GET /actors/me`: the caller's profile, admin roles and project grants.
async fn me(State(state): State<AppState>, caller: Caller) -> Result<axum::Json<Me>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let profile = stored::profile(&mut conn, caller.actor_id, false)
        .await?
        .ok_or_else(|| ApiError::internal("caller without a profile"))?;
    let name = stored::label(&mut conn, caller.actor_id).await?;
    Ok(axum::Json(me_view(&caller, &profile, &name)))
}

/// The body of `PATCH /actors/me`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NameBody {
    /// 1 to 200 characters, trimmed; no control characters.
    display_name: String,
}

/// `PATCH /actors/me`: the caller names themself.
async fn set_my_name(
    State(state): State<AppState>,
    caller: Caller,
    Json(value): Json<Value>,
) -> Result<axum::Json<Me>, ApiError> {
    let body: NameBody = crate::extract::body(&value)?;
    let mut tx = state.pool.begin().await?;
    let profile = workstream_engine::authority::actors::set_display_name(
        &mut tx,
        &caller.context(),
        caller.actor_id,
        &body.display_name,
    )
    .await?;
    let name = stored::label(&mut tx, caller.actor_id).await?;
    tx.commit().await?;
    Ok(axum::Json(me_view(&caller, &profile, &name)))
}

/// The caller's profile with their grants, as `GET /actors/me` shows it.
fn me_view(caller: &Caller, profile: &ActorProfile, name: &str) -> Me {
    let mut admin_roles: Vec<AdminRole> = caller.grants.admin.iter().map(|g| g.role).collect();
    admin_roles.sort_unstable_by_key(|role| role.as_str());
    admin_roles.dedup();
    Me {
        actor_profile_id: profile.id,
        actor_kind: profile.kind.clone(),
        status: profile.status,
        domains: vec!["contributor"],
        admin_roles,
        admin_role_grants: caller
            .grants
            .admin
            .iter()
            .map(|g| MyAdminGrant {
                id: g.id,
                role: g.role,
                scope_type: g.scope.scope_type(),
                scope_project_id: g.scope.project_id(),
            })
            .collect(),
        project_role_grants: caller
            .grants
            .project
            .iter()
            .map(|g| MyProjectGrant {
                id: g.id,
                project_id: g.project_id,
                role: g.role,
            })
            .collect(),
        display_name: profile.display_name.clone(),
        name: name.to_owned(),
        contact_email: profile.contact_email.clone(),
    }
}

/// `GET /actors/{id}`.
async fn actor(
    State(state): State<AppState>,
    caller: Caller,
    Ids(actor_id): Ids<Uuid>,
) -> Result<axum::Json<ProfileView>, ApiError> {
    may_read_actors(&caller)?;
    let mut conn = state.pool.acquire().await?;
    let profile = stored::profile(&mut conn, actor_id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(ProfileView::from(&profile)))
}

/// `GET /actors/{id}/identity-links`.
async fn identity_links(
    State(state): State<AppState>,
    caller: Caller,
    Ids(actor_id): Ids<Uuid>,
) -> Result<axum::Json<LinkList>, ApiError> {
    may_read_actors(&caller)?;
    let mut conn = state.pool.acquire().await?;
    stored::profile(&mut conn, actor_id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let links = stored::links_of(&mut conn, actor_id).await?;
    Ok(axum::Json(LinkList {
        items: links.iter().map(LinkView::from).collect(),
    }))
}

/// The body of every status change: a reason.
#[derive(Debug, Deserialize, JsonSchema)]
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
) -> Result<Answer<ProfileView>, ApiError> {
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
            Ok((StatusCode::OK, ProfileView::from(&profile)))
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
) -> Result<Answer<ProfileView>, ApiError> {
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
) -> Result<Answer<ProfileView>, ApiError> {
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
) -> Result<Answer<ProfileView>, ApiError> {
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
) -> Result<Answer<LinkView>, ApiError> {
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
            Ok((StatusCode::OK, LinkView::from(&link)))
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
) -> Result<Answer<LinkView>, ApiError> {
    link_change(state, caller, key, link_id, body, true).await
}

/// `POST /actor-identity-links/{id}/reactivate`.
async fn reactivate_link(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(link_id): Ids<Uuid>,
    Json(body): Json<ReasonBody>,
) -> Result<Answer<LinkView>, ApiError> {
    link_change(state, caller, key, link_id, body, false).await
}

/// The body of `POST /service-actors`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ServiceActorBody {
    service_identity: String,
    subject: String,
    reason: String,
}

/// `POST /service-actors`: provisions a service principal for the configured issuer.
/// `GET /service-actors`: there are a handful (one per service identity and
/// deployment), so the list is not paged.
async fn service_actors(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<ServicePrincipals>, ApiError> {
    may_read_actors(&caller)?;
    let mut conn = state.pool.acquire().await?;
    let rows = services::list(&mut conn).await?;
    Ok(axum::Json(ServicePrincipals {
        items: rows,
        service_identities: services::SERVICE_IDENTITIES,
    }))
}

/// Every service principal, and the identities one may be created for.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServicePrincipals {
    /// Oldest first.
    items: Vec<services::ServicePrincipal>,
    service_identities: &'static [&'static str],
}

/// A service principal just provisioned.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NewServicePrincipal {
    actor_profile_id: Uuid,
    service_identity: String,
    /// This server's token issuer: the only one whose tokens reach it.
    issuer: String,
    subject: String,
}

async fn create_service_actor(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Json(body): Json<ServiceActorBody>,
) -> Result<Answer<NewServicePrincipal>, ApiError> {
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
                NewServicePrincipal {
                    actor_profile_id: id,
                    service_identity: body.service_identity,
                    issuer,
                    subject: body.subject,
                },
            ))
        },
    )
    .await
}
