//! Contribution policies, compensation units and adapter bindings: finance authority
//! only (docs/security.md). Every denial, whatever its reason (no grant, a grant on
//! another project, a manager or operator asking), is the concealed 404.
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! A unit or binding is in use while published terms, terms locked by a task that can
//! still be accepted, an open draft, or an award not yet fulfilled refers to it.

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::contribution::InstrumentType;
use workstream_domain::machines::compensation::AdapterBindingStatus;
use workstream_domain::roles::AdminRole;
use workstream_engine::contribution;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Empty, Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::document::policy_ref;
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::page_query;
use crate::pagination::{Page, PageQuery, Paged};

/// The contribution routes.
pub fn routes() -> ApiRoutes {
    const FINANCE: &str = "a finance authority covering the project (anyone else, managers and operators included: the concealed 404)";
    ApiRoutes::new("Contribution terms")
        .get(
            "/projects/{project_id}/contribution-policies/current",
            current,
            Doc::new("The project's contribution policy and its current published and draft versions")
                .who(FINANCE)
                .ok("`{project_id, contribution_policy_id, policy_status, current_published_version_id, open_draft_version_id}`; the concealed 404 if there is none"),
        )
        .post(
            "/projects/{project_id}/contribution-policies/drafts",
            create_draft,
            Doc::new("Open a draft version (creating the policy on first use)")
                .who(FINANCE)
                .created("`{contribution_policy_id, contribution_policy_version_id}`")
                .refuses(&[ErrorCode::ContributionPolicyDraftExists]),
        )
        .get(
            "/projects/{project_id}/contribution-policies/{policy_id}",
            read,
            Doc::new("A contribution policy version (`?version_id=`, default the current one)")
                .who(FINANCE)
                .ok("the version with its rules"),
        )
        .put(
            "/projects/{project_id}/contribution-policies/{policy_id}/versions/{version_id}",
            set_terms,
            Doc::new("Set the terms (rules) of a draft version")
                .who(FINANCE)
                .body_with(|_| policy_ref("ContributionPolicy"))
                .ok("the version with its rules")
                .note("Quantities are plain decimal strings (no sign, exponent or float); an unpaid rule has no definitions. Every problem is reported with its path in `details.errors[{path, message, code}]`.")
                .refuses(&[ErrorCode::ContributionPolicyVersionNotDraft])
                .refuses(&[ErrorCode::ContributionRulesInvalid]),
        )
        .post(
            "/projects/{project_id}/contribution-policies/{policy_id}/versions/{version_id}/publication",
            publish,
            Doc::new("Publish a draft version: tasks released from now on lock it")
                .who(FINANCE)
                .ok("the published version")
                .refuses(&[ErrorCode::ContributionPolicyVersionNotDraft])
                .refuses(&[ErrorCode::ContributionPolicyIncomplete]),
        )
        .post(
            "/projects/{project_id}/contribution-policies/{policy_id}/versions/{version_id}/retirement",
            retire,
            Doc::new("Retire a published version no active guide is bound to")
                .who(FINANCE)
                .ok("the retired version")
                .refuses(&[ErrorCode::ContributionPolicyVersionNotPublished, ErrorCode::ContributionPolicyVersionInUse]),
        )
        .post(
            "/projects/{project_id}/compensation-units",
            create_unit,
            Doc::new("Enable a compensation unit (an ISO 4217 currency, or project points)")
                .who(FINANCE)
                .created("the unit")
                .refuses(&[ErrorCode::CompensationUnitExists])
                .refuses(&[ErrorCode::CurrencyCodeInvalid, ErrorCode::CurrencyCodeUnknown]),
        )
        .get(
            "/projects/{project_id}/compensation-units",
            list_units,
            Doc::new("List the project's compensation units")
                .who(FINANCE)
                .ok("`{items, next_cursor}`")
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .post(
            "/projects/{project_id}/compensation-units/{unit_id}/retirement",
            retire_unit,
            Doc::new("Retire a unit no terms, task or unfulfilled award still uses")
                .who(FINANCE)
                .ok("the retired unit")
                .refuses(&[ErrorCode::CompensationUnitInUse, ErrorCode::CompensationUnitRetired]),
        )
        .post(
            "/projects/{project_id}/adapter-bindings",
            create_binding,
            Doc::new("Bind an instrument to a payment adapter (a service actor) by route key")
                .who(FINANCE)
                .created("the binding, `active`")
                .refuses(&[ErrorCode::AdapterBindingExists])
                .refuses(&[ErrorCode::AdapterNotServiceActor, ErrorCode::AdapterActorNotFound]),
        )
        .get(
            "/projects/{project_id}/adapter-bindings",
            list_bindings,
            Doc::new("List the project's adapter bindings")
                .who(FINANCE)
                .ok("`{items, next_cursor}`")
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .post(
            "/projects/{project_id}/adapter-bindings/{binding_id}/suspend",
            suspend,
            Doc::new("Suspend a binding: deliveries wait (fulfilment callbacks are still accepted)")
                .who(FINANCE)
                .ok("the binding")
                .refuses(&[ErrorCode::TransitionNotAllowed]),
        )
        .post(
            "/projects/{project_id}/adapter-bindings/{binding_id}/reactivate",
            reactivate,
            Doc::new("Reactivate a suspended binding; the deliveries that waited are queued")
                .who(FINANCE)
                .ok("the binding")
                .refuses(&[ErrorCode::TransitionNotAllowed]),
        )
        .post(
            "/projects/{project_id}/adapter-bindings/{binding_id}/retirement",
            retire_binding,
            Doc::new("Retire a binding nothing uses any more")
                .who(FINANCE)
                .ok("the binding")
                .refuses(&[ErrorCode::AdapterBindingInUse, ErrorCode::TransitionNotAllowed]),
        )
}

/// Finance authority covering the project, or the concealed 404.
fn require_finance(caller: &Caller, project: Uuid) -> Result<(), ApiError> {
    match caller
        .grants
        .admin(AdminRole::FinanceAuthority, Some(project))
    {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found()),
    }
}

async fn current(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
) -> Result<axum::Json<contribution::PolicyPointers>, ApiError> {
    require_finance(&caller, project_id)?;
    let mut conn = state.pool.acquire().await?;
    Ok(axum::Json(
        contribution::current(&mut conn, project_id).await?,
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateDraft {
    name: String,
}

async fn create_draft(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(body): Json<CreateDraft>,
) -> Result<Answer<contribution::DraftReceipt>, ApiError> {
    require_finance(&caller, project_id)?;
    let request = json!({ "path": format!("/projects/{project_id}/contribution-policies/drafts"), "body": { "name": body.name } });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "contribution_policy.draft",
        key,
        &request,
        async |tx| {
            let receipt = contribution::create_draft(tx, &acting, project_id, body.name).await?;
            Ok((StatusCode::CREATED, receipt))
        },
    )
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct VersionQuery {
    #[serde(default)]
    version_id: Option<Uuid>,
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Ids((project_id, policy_id)): Ids<(Uuid, Uuid)>,
    query: Result<Query<VersionQuery>, ApiError>,
) -> Result<axum::Json<contribution::PolicyVersionView>, ApiError> {
    require_finance(&caller, project_id)?;
    let Query(query) = query?;
    let mut conn = state.pool.acquire().await?;
    Ok(axum::Json(
        contribution::view(&mut conn, project_id, policy_id, query.version_id).await?,
    ))
}

async fn set_terms(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids((project_id, policy_id, version_id)): Ids<(Uuid, Uuid, Uuid)>,
    Json(body): Json<Value>,
) -> Result<Answer<contribution::PolicyVersionView>, ApiError> {
    require_finance(&caller, project_id)?;
    // The body is checked against policies/contribution-policy.schema.json (unknown
    // fields included) by the engine, which reports every problem with its path.
    let request = json!({
        "path": format!("/projects/{project_id}/contribution-policies/{policy_id}/versions/{version_id}"),
        "body": body,
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "contribution_policy.set_terms",
        key,
        &request,
        async |tx| {
            let view =
                contribution::set_terms(tx, &acting, project_id, policy_id, version_id, &body)
                    .await?;
            Ok((StatusCode::OK, view))
        },
    )
    .await
}

async fn version_action(
    state: AppState,
    caller: Caller,
    key: IdempotencyKey,
    (project_id, policy_id, version_id): (Uuid, Uuid, Uuid),
    publish: bool,
) -> Result<Answer<contribution::PolicyVersionView>, ApiError> {
    require_finance(&caller, project_id)?;
    let (operation, action) = if publish {
        ("contribution_policy.publish", "publication")
    } else {
        ("contribution_policy.retire", "retirement")
    };
    let request = json!({
        "path": format!("/projects/{project_id}/contribution-policies/{policy_id}/versions/{version_id}/{action}"),
        "body": {},
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        operation,
        key,
        &request,
        async |tx| {
            let view = if publish {
                contribution::publish(tx, &acting, project_id, policy_id, version_id).await?
            } else {
                contribution::retire(tx, &acting, project_id, policy_id, version_id).await?
            };
            Ok((StatusCode::OK, view))
        },
    )
    .await
}

async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(ids): Ids<(Uuid, Uuid, Uuid)>,
    Json(_): Json<Empty>,
) -> Result<Answer<contribution::PolicyVersionView>, ApiError> {
    version_action(state, caller, key, ids, true).await
}

async fn retire(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(ids): Ids<(Uuid, Uuid, Uuid)>,
    Json(_): Json<Empty>,
) -> Result<Answer<contribution::PolicyVersionView>, ApiError> {
    version_action(state, caller, key, ids, false).await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateUnit {
    instrument_type: InstrumentType,
    unit_code: String,
}

async fn create_unit(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(body): Json<CreateUnit>,
) -> Result<Answer<contribution::Unit>, ApiError> {
    require_finance(&caller, project_id)?;
    let request = json!({
        "path": format!("/projects/{project_id}/compensation-units"),
        "body": { "instrument_type": body.instrument_type.as_str(), "unit_code": body.unit_code },
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "compensation_unit.create",
        key,
        &request,
        async |tx| {
            let unit = contribution::create_unit(
                tx,
                &acting,
                project_id,
                body.instrument_type,
                body.unit_code,
            )
            .await?;
            Ok((StatusCode::CREATED, unit))
        },
    )
    .await
}

async fn list_units(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<contribution::Unit>>, ApiError> {
    require_finance(&caller, project_id)?;
    let query = page_query(query)?;
    let scope = format!("project:{project_id}:compensation-units");
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    let items = contribution::list_units(&mut conn, project_id, page.after, page.limit).await?;
    let next = page.next_cursor(
        items.len(),
        items.last().map(|u| u.id),
        &scope,
        &state.config.cursor_secret,
    );
    Ok(axum::Json(Paged {
        items,
        next_cursor: next,
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateBinding {
    instrument_type: InstrumentType,
    adapter_actor_id: Uuid,
    route_key: String,
}

async fn create_binding(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(body): Json<CreateBinding>,
) -> Result<Answer<contribution::Binding>, ApiError> {
    require_finance(&caller, project_id)?;
    let request = json!({
        "path": format!("/projects/{project_id}/adapter-bindings"),
        "body": { "instrument_type": body.instrument_type.as_str(), "adapter_actor_id": body.adapter_actor_id,
                  "route_key": body.route_key },
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "adapter_binding.create",
        key,
        &request,
        async |tx| {
            let binding = contribution::create_binding(
                tx,
                &acting,
                project_id,
                body.instrument_type,
                body.adapter_actor_id,
                body.route_key,
            )
            .await?;
            Ok((StatusCode::CREATED, binding))
        },
    )
    .await
}

async fn list_bindings(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<contribution::Binding>>, ApiError> {
    require_finance(&caller, project_id)?;
    let query = page_query(query)?;
    let scope = format!("project:{project_id}:adapter-bindings");
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    let items = contribution::list_bindings(&mut conn, project_id, page.after, page.limit).await?;
    let next = page.next_cursor(
        items.len(),
        items.last().map(|b| b.id),
        &scope,
        &state.config.cursor_secret,
    );
    Ok(axum::Json(Paged {
        items,
        next_cursor: next,
    }))
}

/// What a finance authority can do to an existing binding.
#[derive(Debug, Clone, Copy)]
enum BindingAction {
    Suspend,
    Reactivate,
    Retire,
}

impl BindingAction {
    /// (idempotency operation, path segment).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            BindingAction::Suspend => ("adapter_binding.suspend", "suspend"),
            BindingAction::Reactivate => ("adapter_binding.reactivate", "reactivate"),
            BindingAction::Retire => ("adapter_binding.retire", "retirement"),
        }
    }
}

async fn binding_action(
    state: AppState,
    caller: Caller,
    key: IdempotencyKey,
    (project_id, binding_id): (Uuid, Uuid),
    action: BindingAction,
) -> Result<Answer<contribution::Binding>, ApiError> {
    require_finance(&caller, project_id)?;
    let (operation, segment) = action.names();
    let request = json!({ "path": format!("/projects/{project_id}/adapter-bindings/{binding_id}/{segment}"), "body": {} });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        operation,
        key,
        &request,
        async |tx| {
            let binding = match action {
                BindingAction::Suspend => {
                    contribution::set_binding_status(
                        tx,
                        &acting,
                        project_id,
                        binding_id,
                        AdapterBindingStatus::Suspended,
                    )
                    .await?
                }
                BindingAction::Reactivate => {
                    contribution::set_binding_status(
                        tx,
                        &acting,
                        project_id,
                        binding_id,
                        AdapterBindingStatus::Active,
                    )
                    .await?
                }
                BindingAction::Retire => {
                    contribution::retire_binding(tx, &acting, project_id, binding_id).await?
                }
            };
            Ok((StatusCode::OK, binding))
        },
    )
    .await
}

async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(ids): Ids<(Uuid, Uuid)>,
    Json(_): Json<Empty>,
) -> Result<Answer<contribution::Binding>, ApiError> {
    binding_action(state, caller, key, ids, BindingAction::Suspend).await
}

async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(ids): Ids<(Uuid, Uuid)>,
    Json(_): Json<Empty>,
) -> Result<Answer<contribution::Binding>, ApiError> {
    binding_action(state, caller, key, ids, BindingAction::Reactivate).await
}

async fn retire_binding(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(ids): Ids<(Uuid, Uuid)>,
    Json(_): Json<Empty>,
) -> Result<Answer<contribution::Binding>, ApiError> {
    binding_action(state, caller, key, ids, BindingAction::Retire).await
}

async fn retire_unit(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids((project_id, unit_id)): Ids<(Uuid, Uuid)>,
    Json(_): Json<Empty>,
) -> Result<Answer<contribution::Unit>, ApiError> {
    require_finance(&caller, project_id)?;
    let request = json!({ "path": format!("/projects/{project_id}/compensation-units/{unit_id}/retirement"), "body": {} });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "compensation_unit.retire",
        key,
        &request,
        async |tx| {
            let unit = contribution::retire_unit(tx, &acting, project_id, unit_id).await?;
            Ok((StatusCode::OK, unit))
        },
    )
    .await
}
