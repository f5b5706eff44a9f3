//! Grant routes: administrative role grants and project role grants
//! (docs/security.md).
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Administrative routes answer 403 `permission_not_granted` without the grant. Project
//! routes conceal: without a covering grant the project is a 404, exactly as a missing
//! one (R48). Every mutation spends the caller's admin-mutation budget
//! ([`crate::rate_limit`]).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::{GrantStatus, LinkStatus};
use workstream_domain::roles::{AdminRole, ProjectRole, Scope, ScopeType};
use workstream_engine::authority::admin_grants::{
    AdminGrantRequest, Grantor, grant_admin, revoke_admin,
};
use workstream_engine::authority::project_grants::{
    ProjectGrantRequest, grant_project_role, revoke_project_role,
};
use workstream_store::grants::{AdminGrantFilter, AdminRoleGrant, ProjectRoleGrant, project_grant};

use crate::AppState;
use crate::actors::{ReasonBody, access_administrator, not_granted};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::{Page, PageQuery, Paged};
use crate::rate_limit;

/// How a grant names its person, for both grant routes' documentation.
const TARGET_NOTE: &str = "The person is named by `target_actor_profile_id` or by `target_subject`, the subject they sign in with under this server's issuer (exactly one of the two). A person exists once they have signed in: before that, `target_actor_not_found`.";

/// The grant routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const ADMIN: &str = "a system access administrator";
    const ADMIN_READERS: &str = "a system access administrator or audit authority";
    const PM: &str = "a project manager covering the project (anyone else: the concealed 404)";
    ApiRoutes::new("Grants")
        .post(
            "/admin-role-grants",
            create_admin_grant,
            Doc::new("Grant an administrative role (system-wide or on one project)")
                .who(ADMIN)
                .created("the grant, `version` 1")
                .note(TARGET_NOTE)
                .refuses(&[ErrorCode::PermissionNotGranted, ErrorCode::SelfGrantForbidden],
                )
                .refuses(&[ErrorCode::AdminRoleGrantExists, ErrorCode::ActorDeactivatedTerminal],
                )
                .refuses(&[ErrorCode::InvalidRoleScope, ErrorCode::InvalidScope, ErrorCode::TargetNotHuman, ErrorCode::TargetActorNotFound, ErrorCode::InvalidReason, ErrorCode::InvalidRequest],
                )
                .refuses(&[ErrorCode::RateLimitExceeded]),
        )
        .get(
            "/admin-role-grants",
            list_admin_grants,
            Doc::new("List administrative grants")
                .who(ADMIN_READERS)
                .ok("a page of grants (`status` defaults to `active`), each with the holder's `target_name`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor, ErrorCode::InvalidScope]),
        )
        .post(
            "/admin-role-grants/{grant_id}/revoke",
            revoke_admin_grant,
            Doc::new("Revoke an administrative grant")
                .who(ADMIN)
                .ok("the grant, `version` 2 (revoked)")
                .refuses(&[ErrorCode::PermissionNotGranted, ErrorCode::SelfRevokeForbidden],
                )
                .refuses(&[
                        ErrorCode::AdminRoleGrantAlreadyRevoked,
                        ErrorCode::LastAccessAdministrator,
                    ],
                )
                .refuses(&[ErrorCode::InvalidReason])
                .refuses(&[ErrorCode::RateLimitExceeded]),
        )
        .get(
            "/actors/{actor_id}/admin-role-grants",
            list_actor_admin_grants,
            Doc::new("List one actor's administrative grants")
                .who(ADMIN_READERS)
                .ok("a page of grants")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .post(
            "/projects/{pid}/role-grants",
            create_project_grant,
            Doc::new("Grant a contributor role (submitter, reviewer, adjudicator) on the project")
                .who(PM)
                .created("the project grant")
                .note(TARGET_NOTE)
                .refuses(&[ErrorCode::SelfGrantForbidden])
                .refuses(&[ErrorCode::ProjectRoleGrantExists, ErrorCode::ActorDeactivatedTerminal],
                )
                .refuses(&[
                        ErrorCode::TargetActorNotFound,
                        ErrorCode::TargetNotHuman,
                        ErrorCode::InvalidReason,
                        ErrorCode::InvalidRequest,
                    ],
                )
                .refuses(&[ErrorCode::RateLimitExceeded]),
        )
        .get(
            "/projects/{pid}/role-grants",
            list_project_grants,
            Doc::new("List the project's role grants")
                .who("a covering project manager or audit authority")
                .ok("a page of project grants (`status` defaults to `active`), each with the holder's `actor_display_name`")
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{pid}/role-grants/{grant_id}",
            project_grant_detail,
            Doc::new("One project role grant")
                .who("a covering project manager or audit authority")
                .ok("the project grant"),
        )
        .post(
            "/projects/{pid}/role-grants/{grant_id}/revoke",
            revoke_project_grant,
            Doc::new("Revoke a project role grant; a claimed task of the grantee is released")
                .who(PM)
                .ok("the project grant, revoked")
                .refuses(&[ErrorCode::SelfRoleRevokeForbidden])
                .refuses(&[ErrorCode::ProjectRoleGrantAlreadyRevoked],
                )
                .refuses(&[ErrorCode::InvalidReason])
                .refuses(&[ErrorCode::RateLimitExceeded]),
        )
}

fn invalid(code: ErrorCode, message: &str) -> ApiError {
    ApiError::new(code, message)
}

/// The profile a grant is for: named by its id, or by the subject its person signs in
/// with under this server's issuer (a person exists once they have signed in: tokens
/// never grant, so there is nobody to grant to before that).
async fn grant_target(
    state: &AppState,
    caller: &Caller,
    id: Option<Uuid>,
    subject: Option<&str>,
) -> Result<Uuid, ApiError> {
    match (id, subject.map(str::trim)) {
        (Some(id), None) => Ok(id),
        (None, Some(subject)) if !subject.is_empty() => {
            let mut conn = state.pool.acquire().await?;
            workstream_store::actors::link_by_identity(&mut conn, &caller.issuer, subject)
                .await?
                .filter(|link| link.status == LinkStatus::Active)
                .map(|link| link.actor_profile_id)
                .ok_or_else(|| {
                    invalid(ErrorCode::TargetActorNotFound,
                        "nobody has signed in with this subject yet: once they have, they can be granted a role",
                    )
                    .with_details(json!({ "field": "target_subject" }))
                })
        }
        _ => Err(invalid(
            ErrorCode::InvalidRequest,
            "name the person by target_actor_profile_id or by target_subject, one of the two",
        )
        .with_details(json!({ "field": "target_subject" }))),
    }
}

/// An administrative grant; `version` is 1 while active, 2 once revoked.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AdminGrantView {
    id: Uuid,
    target_actor_profile_id: Uuid,
    /// The holder's name (in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    target_name: Option<String>,
    /// An [`AdminRole`] token.
    role: String,
    /// `system` or `project`.
    scope_type: String,
    scope_project_id: Option<Uuid>,
    status: GrantStatus,
    version: u8,
    issued_by: Option<Uuid>,
    /// The system principal that issued it (a bootstrap or a fixture), if not a person.
    issued_by_principal: Option<String>,
    issuing_grant_id: Option<Uuid>,
    grant_reason: String,
    issued_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<Uuid>,
    revoke_reason: Option<String>,
}

impl From<&AdminRoleGrant> for AdminGrantView {
    fn from(grant: &AdminRoleGrant) -> AdminGrantView {
        AdminGrantView {
            id: grant.id,
            target_actor_profile_id: grant.target_actor_id,
            target_name: None,
            role: grant.role.clone(),
            scope_type: grant.scope_type.clone(),
            scope_project_id: grant.scope_project_id,
            status: grant.status,
            version: if grant.status == GrantStatus::Active {
                1
            } else {
                2
            },
            issued_by: grant.issued_by,
            issued_by_principal: grant.issued_by_principal.clone(),
            issuing_grant_id: grant.issuing_grant_id,
            grant_reason: grant.grant_reason.clone(),
            issued_at: grant.issued_at,
            revoked_at: grant.revoked_at,
            revoked_by: grant.revoked_by,
            revoke_reason: grant.revoke_reason.clone(),
        }
    }
}

/// A project role grant; `version` is 1 while active, 2 once revoked.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProjectGrantView {
    id: Uuid,
    project_id: Uuid,
    actor_profile_id: Uuid,
    /// The holder's name (in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_display_name: Option<String>,
    /// A [`ProjectRole`] token.
    role: String,
    status: GrantStatus,
    version: u8,
    qualification_snapshot_id: Uuid,
    issued_by: Uuid,
    issuing_admin_grant_id: Uuid,
    grant_reason: String,
    issued_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<Uuid>,
    revoke_reason: Option<String>,
}

impl From<&ProjectRoleGrant> for ProjectGrantView {
    fn from(grant: &ProjectRoleGrant) -> ProjectGrantView {
        ProjectGrantView {
            id: grant.id,
            project_id: grant.project_id,
            actor_profile_id: grant.actor_id,
            actor_display_name: None,
            role: grant.role.clone(),
            status: grant.status,
            version: if grant.status == GrantStatus::Active {
                1
            } else {
                2
            },
            qualification_snapshot_id: grant.qualification_snapshot_id,
            issued_by: grant.issued_by,
            issuing_admin_grant_id: grant.issuing_admin_grant_id,
            grant_reason: grant.grant_reason.clone(),
            issued_at: grant.issued_at,
            revoked_at: grant.revoked_at,
            revoked_by: grant.revoked_by,
            revoke_reason: grant.revoke_reason.clone(),
        }
    }
}

/// The body of `POST /admin-role-grants`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AdminGrantBody {
    /// The person, by profile id; or name them by `target_subject`.
    #[serde(default)]
    target_actor_profile_id: Option<Uuid>,
    /// The person, by the subject they sign in with (they must have signed in once).
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    target_subject: Option<String>,
    role: AdminRole,
    scope_type: ScopeType,
    #[serde(default)]
    scope_project_id: Option<Uuid>,
    reason: String,
}

/// `POST /admin-role-grants`.
async fn create_admin_grant(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Json(body): Json<AdminGrantBody>,
) -> Result<Answer<AdminGrantView>, ApiError> {
    let grant_id = access_administrator(&caller)?;
    rate_limit::admin_mutation(&state, &caller).await?;
    let target = grant_target(
        &state,
        &caller,
        body.target_actor_profile_id,
        body.target_subject.as_deref(),
    )
    .await?;
    let scope = Scope::from_parts(body.scope_type, body.scope_project_id).map_err(|e| {
        invalid(
            e.code(),
            "scope_project_id is required for project scope, and only there",
        )
    })?;
    let request = json!({ "body": {
        "target_actor_profile_id": body.target_actor_profile_id,
        "target_subject": body.target_subject, "role": body.role,
        "scope_type": body.scope_type, "scope_project_id": body.scope_project_id,
        "reason": body.reason,
    }});
    let ctx = caller.context();
    let grantor = Grantor::Actor {
        actor_id: caller.actor_id,
        grant_id,
    };
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "admin_role_grant.issue",
        key,
        &request,
        async |tx| {
            let grant = grant_admin(
                tx,
                &grantor,
                &AdminGrantRequest {
                    target,
                    role: body.role,
                    scope,
                    reason: body.reason.clone(),
                },
                &ctx,
            )
            .await?;
            Ok((StatusCode::CREATED, AdminGrantView::from(&grant)))
        },
    )
    .await
}

/// `POST /admin-role-grants/{id}/revoke`.
async fn revoke_admin_grant(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(grant_id): Ids<Uuid>,
    Json(body): Json<ReasonBody>,
) -> Result<Answer<AdminGrantView>, ApiError> {
    let own_grant = access_administrator(&caller)?;
    rate_limit::admin_mutation(&state, &caller).await?;
    let request = json!({ "path": { "grant_id": grant_id }, "body": { "reason": body.reason } });
    let ctx = caller.context();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "admin_role_grant.revoke",
        key,
        &request,
        async |tx| {
            let grant =
                revoke_admin(tx, caller.actor_id, own_grant, grant_id, &body.reason, &ctx).await?;
            Ok((StatusCode::OK, AdminGrantView::from(&grant)))
        },
    )
    .await
}

/// Filters of the administrative grant lists.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AdminGrantQuery {
    scope_type: Option<ScopeType>,
    scope_project_id: Option<Uuid>,
    status: Option<String>,
    /// Page size, 1..=100 (default 50).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page; empty or absent for the first page.
    #[schemars(length(max = 512))]
    cursor: Option<String>,
}

/// `active` (default), `revoked` or `all`; `None` means all.
fn status_filter(status: Option<&str>) -> Result<Option<GrantStatus>, ApiError> {
    match status {
        None => Ok(Some(GrantStatus::Active)),
        Some("all") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            invalid(
                ErrorCode::InvalidRequest,
                "status must be active, revoked or all",
            )
        }),
    }
}

fn may_read_authority(caller: &Caller) -> Result<(), ApiError> {
    if caller
        .grants
        .admin(AdminRole::AccessAdministrator, None)
        .is_some()
        || caller
            .grants
            .admin(AdminRole::AuditAuthority, None)
            .is_some()
    {
        Ok(())
    } else {
        Err(not_granted())
    }
}

async fn admin_grant_page(
    state: &AppState,
    target: Option<Uuid>,
    query: AdminGrantQuery,
) -> Result<axum::Json<Paged<AdminGrantView>>, ApiError> {
    let status = status_filter(query.status.as_deref())?;
    if query.scope_project_id.is_some() && query.scope_type == Some(ScopeType::System) {
        return Err(invalid(
            ErrorCode::InvalidScope,
            "a system scope has no scope_project_id",
        ));
    }
    let list = format!(
        "admin-role-grants:{}:{}:{}:{}",
        target.map(|t| t.to_string()).unwrap_or_default(),
        query.scope_type.map(|s| s.as_str()).unwrap_or("any"),
        query
            .scope_project_id
            .map(|p| p.to_string())
            .unwrap_or_default(),
        status.map(GrantStatus::as_str).unwrap_or("all"),
    );
    let page = Page::parse(
        &PageQuery {
            limit: query.limit,
            cursor: query.cursor,
        },
        &list,
        &state.config.cursor_secret,
    )?;
    let filter = AdminGrantFilter {
        target,
        scope_type: query.scope_type.map(|s| s.as_str()),
        scope_project_id: query.scope_project_id,
        status,
    };
    let mut conn = state.pool.acquire().await?;
    let rows =
        workstream_store::grants::list_admin(&mut conn, filter, page.after, page.limit).await?;
    let next = page.next_cursor(
        rows.len(),
        rows.last().map(|g| g.id),
        &list,
        &state.config.cursor_secret,
    );
    // Who holds each grant, by name.
    let ids: Vec<Uuid> = rows.iter().map(|g| g.target_actor_id).collect();
    let names = workstream_store::actors::labels(&mut conn, &ids).await?;
    let items = rows
        .iter()
        .map(|grant| AdminGrantView {
            target_name: names.get(&grant.target_actor_id).cloned(),
            ..AdminGrantView::from(grant)
        })
        .collect();
    Ok(axum::Json(Paged {
        items,
        next_cursor: next,
    }))
}

/// `GET /admin-role-grants`.
async fn list_admin_grants(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AdminGrantQuery>, ApiError>,
) -> Result<axum::Json<Paged<AdminGrantView>>, ApiError> {
    may_read_authority(&caller)?;
    let Query(query) = query?;
    admin_grant_page(&state, None, query).await
}

/// `GET /actors/{id}/admin-role-grants`.
async fn list_actor_admin_grants(
    State(state): State<AppState>,
    caller: Caller,
    Ids(actor_id): Ids<Uuid>,
    query: Result<Query<AdminGrantQuery>, ApiError>,
) -> Result<axum::Json<Paged<AdminGrantView>>, ApiError> {
    may_read_authority(&caller)?;
    let Query(query) = query?;
    admin_grant_page(&state, Some(actor_id), query).await
}

/// The caller's project manager grant covering `project`, or the concealed 404; the
/// project must exist.
async fn covering_manager(
    conn: &mut PgConnection,
    caller: &Caller,
    project: Uuid,
) -> Result<Uuid, ApiError> {
    let grant = caller
        .grants
        .admin(AdminRole::ProjectManager, Some(project))
        .ok_or_else(ApiError::not_found)?;
    workstream_engine::projects::require(conn, project).await?;
    Ok(grant)
}

/// Covering project managers and audit authorities may read a project's grants.
async fn may_read_project_grants(
    conn: &mut PgConnection,
    caller: &Caller,
    project: Uuid,
) -> Result<(), ApiError> {
    let grants = &caller.grants;
    if grants
        .admin(AdminRole::ProjectManager, Some(project))
        .is_none()
        && grants
            .admin(AdminRole::AuditAuthority, Some(project))
            .is_none()
    {
        return Err(ApiError::not_found());
    }
    Ok(workstream_engine::projects::require(conn, project).await?)
}

/// The body of `POST /projects/{pid}/role-grants`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProjectGrantBody {
    /// The person, by profile id; or name them by `target_subject`.
    #[serde(default)]
    target_actor_profile_id: Option<Uuid>,
    /// The person, by the subject they sign in with (they must have signed in once).
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    target_subject: Option<String>,
    role: ProjectRole,
    #[serde(default = "empty_object")]
    qualification: Value,
    reason: String,
}

fn empty_object() -> Value {
    json!({})
}

/// `POST /projects/{pid}/role-grants`.
async fn create_project_grant(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(body): Json<ProjectGrantBody>,
) -> Result<Answer<ProjectGrantView>, ApiError> {
    let manager_grant = {
        let mut conn = state.pool.acquire().await?;
        covering_manager(&mut conn, &caller, project_id).await?
    };
    rate_limit::admin_mutation(&state, &caller).await?;
    let target = grant_target(
        &state,
        &caller,
        body.target_actor_profile_id,
        body.target_subject.as_deref(),
    )
    .await?;
    let request = json!({ "path": { "project_id": project_id }, "body": {
        "target_actor_profile_id": body.target_actor_profile_id,
        "target_subject": body.target_subject, "role": body.role,
        "qualification": body.qualification, "reason": body.reason,
    }});
    let ctx = caller.context();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "project_role_grant.issue",
        key,
        &request,
        async |tx| {
            let grant = grant_project_role(
                tx,
                caller.actor_id,
                manager_grant,
                &ProjectGrantRequest {
                    project_id,
                    target,
                    role: body.role,
                    qualification: body.qualification.clone(),
                    reason: body.reason.clone(),
                },
                &ctx,
            )
            .await?;
            Ok((StatusCode::CREATED, ProjectGrantView::from(&grant)))
        },
    )
    .await
}

/// `POST /projects/{pid}/role-grants/{gid}/revoke`.
async fn revoke_project_grant(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids((project_id, grant_id)): Ids<(Uuid, Uuid)>,
    Json(body): Json<ReasonBody>,
) -> Result<Answer<ProjectGrantView>, ApiError> {
    let manager_grant = {
        let mut conn = state.pool.acquire().await?;
        covering_manager(&mut conn, &caller, project_id).await?
    };
    rate_limit::admin_mutation(&state, &caller).await?;
    let request = json!({
        "path": { "project_id": project_id, "grant_id": grant_id },
        "body": { "reason": body.reason },
    });
    let ctx = caller.context();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "project_role_grant.revoke",
        key,
        &request,
        async |tx| {
            let grant = revoke_project_role(
                tx,
                caller.actor_id,
                manager_grant,
                project_id,
                grant_id,
                &body.reason,
                &ctx,
            )
            .await?;
            Ok((StatusCode::OK, ProjectGrantView::from(&grant)))
        },
    )
    .await
}

/// `GET /projects/{pid}/role-grants/{gid}`.
async fn project_grant_detail(
    State(state): State<AppState>,
    caller: Caller,
    Ids((project_id, grant_id)): Ids<(Uuid, Uuid)>,
) -> Result<axum::Json<ProjectGrantView>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    may_read_project_grants(&mut conn, &caller, project_id).await?;
    let grant = project_grant(&mut conn, project_id, grant_id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(ProjectGrantView::from(&grant)))
}

/// Filters of a project's grant list.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProjectGrantQuery {
    status: Option<String>,
    role: Option<ProjectRole>,
    /// Page size, 1..=100 (default 50).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page; empty or absent for the first page.
    #[schemars(length(max = 512))]
    cursor: Option<String>,
}

/// `GET /projects/{pid}/role-grants`.
async fn list_project_grants(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<ProjectGrantQuery>, ApiError>,
) -> Result<axum::Json<Paged<ProjectGrantView>>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    may_read_project_grants(&mut conn, &caller, project_id).await?;
    let Query(query) = query?;
    let status = status_filter(query.status.as_deref())?;
    let list = format!(
        "project:{project_id}:role-grants:{}:{}",
        status.map(GrantStatus::as_str).unwrap_or("all"),
        query.role.map(|r| r.as_str()).unwrap_or("any"),
    );
    let page = Page::parse(
        &PageQuery {
            limit: query.limit,
            cursor: query.cursor,
        },
        &list,
        &state.config.cursor_secret,
    )?;
    let rows = workstream_store::grants::list_project(
        &mut conn,
        project_id,
        status,
        query.role.map(|r| r.as_str()),
        page.after,
        page.limit,
    )
    .await?;
    let next = page.next_cursor(
        rows.len(),
        rows.last().map(|g| g.id),
        &list,
        &state.config.cursor_secret,
    );
    // Who holds each grant, by name: a manager picking an assignee or reading the
    // member list should not have to recognize profile ids.
    let ids: Vec<Uuid> = rows.iter().map(|g| g.actor_id).collect();
    let names = workstream_store::actors::labels(&mut conn, &ids).await?;
    let items = rows
        .iter()
        .map(|grant| ProjectGrantView {
            actor_display_name: names.get(&grant.actor_id).cloned(),
            ..ProjectGrantView::from(grant)
        })
        .collect();
    Ok(axum::Json(Paged {
        items,
        next_cursor: next,
    }))
}
