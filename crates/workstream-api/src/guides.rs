//! `/projects/{pid}/guides`: guide versions and their activation.
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Callers who can see the project but lack the action get 403 `permission_not_granted`;
//! others the concealed 404.

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::roles::AdminRole;
use workstream_engine::guides::{self, Guide, GuideChanges, NewGuide};
use workstream_engine::projects::ProjectSummaryStatus;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::{Page, PageQuery, Paged, page_query};
use crate::projects::{is_manager, require};

/// The guide routes.
pub fn routes() -> ApiRoutes {
    const PM: &str = "a project manager covering the project";
    const READERS: &str = "a covering project manager, an operator or a covering audit authority";
    ApiRoutes::new("Guides")
        .post(
            "/projects/{project_id}/guides",
            create,
            Doc::new("Create a guide version (a draft) with its content and policy bundle")
                .who(PM)
                .created("the guide, `draft`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::GuideVersionExists, ErrorCode::ProjectArchived])
                .refuses(&[ErrorCode::PolicyBundleInvalid]),
        )
        .get(
            "/projects/{project_id}/guides",
            list,
            Doc::new("List the project's guide versions")
                .who(READERS)
                .ok("`{items, next_cursor}`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{project_id}/guides/{guide_id}",
            read,
            Doc::new("One guide version")
                .who(READERS)
                .ok("the guide")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
        .patch(
            "/projects/{project_id}/guides/{guide_id}",
            update,
            Doc::new("Edit a draft guide (content, change summary, policy bundle)")
                .who(PM)
                .ok("the guide")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::GuideNotEditable])
                .refuses(&[ErrorCode::PolicyBundleInvalid]),
        )
        .post(
            "/projects/{project_id}/guides/{guide_id}/activate",
            activate,
            Doc::new("Activate a draft guide through the activation gate")
                .who(PM)
                .ok("`{guide, project, superseded_guide_id, preview}`: the guide `active` with its `activation_sequence`, the project `active`, and the guide's latest completed policy preview with its summary (`null` when it was never previewed)")
                .note("The gate validates the bundle against the schemas of `policies/`, merges the platform defaults (which cannot be weakened), pins every checker to a registered component digest, validates each checker's configuration against the schema the checker declares, and needs a published contribution policy version. Field errors are in `details.errors[{path, message, code}]`; a refused activation leaves the guide a draft.")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::GuideNotDraft, ErrorCode::GuideActivationConflict, ErrorCode::ContributionPolicyUnpublished, ErrorCode::ContributionPolicyVersionNotCurrent, ErrorCode::ProjectArchived])
                .refuses(&[ErrorCode::PolicyBundleInvalid, ErrorCode::ReviewPolicyIncomplete, ErrorCode::RevisionPolicyIncomplete, ErrorCode::PlatformDefaultWeakened, ErrorCode::CheckerNotRegistered, ErrorCode::CheckerConfigurationInvalid],
                ),
        )
        .get(
            "/projects/{project_id}/active-guide",
            active,
            Doc::new("The project's active guide")
                .who(READERS)
                .ok("the guide; the concealed 404 when none is active")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
}

/// The schema of a policy bundle field (the bundle is kept as a JSON value: it is
/// validated, merged and hashed as a whole).
fn policy_bundle_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::openapi::document::policy_ref("PolicyBundle")
}

/// The guide as JSON (the row, field for field).
fn may_read(caller: &Caller, project: Uuid) -> bool {
    is_manager(caller, project)
        || caller.grants.admin(AdminRole::Operator, None).is_some()
        || caller
            .grants
            .admin(AdminRole::AuditAuthority, Some(project))
            .is_some()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateGuide {
    version: String,
    #[serde(default)]
    content_markdown: String,
    #[serde(default)]
    change_summary: String,
    #[serde(default)]
    #[schemars(schema_with = "policy_bundle_schema")]
    policy_bundle: Option<Value>,
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(body): Json<CreateGuide>,
) -> Result<Answer<Guide>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let request = json!({
        "path": format!("/projects/{project_id}/guides"),
        "body": { "version": body.version, "content_markdown": body.content_markdown,
                  "change_summary": body.change_summary, "policy_bundle": body.policy_bundle },
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "guide.create",
        key,
        &request,
        async |tx| {
            let guide = guides::create(
                tx,
                &acting,
                project_id,
                NewGuide {
                    version: body.version,
                    content_markdown: body.content_markdown,
                    change_summary: body.change_summary,
                    policy_bundle: body.policy_bundle,
                },
            )
            .await?;
            Ok((StatusCode::CREATED, guide))
        },
    )
    .await
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<Guide>>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let query = page_query(query)?;
    let scope = format!("project:{project_id}:guides");
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    if workstream_engine::projects::find(&mut conn, project_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found());
    }
    let items = guides::list(&mut conn, project_id, page.after, page.limit).await?;
    let next = page.next_cursor(
        items.len(),
        items.last().map(|g| g.id),
        &scope,
        &state.config.cursor_secret,
    );
    Ok(axum::Json(Paged {
        items,
        next_cursor: next,
    }))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
) -> Result<axum::Json<Guide>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let mut conn = state.pool.acquire().await?;
    let guide = guides::find(&mut conn, project_id, guide_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(guide))
}

async fn active(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
) -> Result<axum::Json<Guide>, ApiError> {
    require(&caller, project_id, may_read(&caller, project_id))?;
    let mut conn = state.pool.acquire().await?;
    let guide = guides::active(&mut conn, project_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(guide))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateGuide {
    #[serde(default)]
    content_markdown: Option<String>,
    #[serde(default)]
    change_summary: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "policy_bundle_schema")]
    policy_bundle: Option<Value>,
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
    Json(body): Json<UpdateGuide>,
) -> Result<Answer<Guide>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let request = json!({
        "path": format!("/projects/{project_id}/guides/{guide_id}"),
        "body": { "content_markdown": body.content_markdown, "change_summary": body.change_summary,
                  "policy_bundle": body.policy_bundle },
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "guide.update",
        key,
        &request,
        async |tx| {
            let guide = guides::update(
                tx,
                &acting,
                project_id,
                guide_id,
                GuideChanges {
                    content_markdown: body.content_markdown,
                    change_summary: body.change_summary,
                    policy_bundle: body.policy_bundle,
                },
            )
            .await?;
            Ok((StatusCode::OK, guide))
        },
    )
    .await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Activate {
    /// The contribution policy version the manager selects; absent = the current one.
    #[serde(default)]
    contribution_policy_version_id: Option<Uuid>,
}

async fn activate(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids((project_id, guide_id)): Ids<(Uuid, Uuid)>,
    Json(body): Json<Activate>,
) -> Result<Answer<guides::ActivationView>, ApiError> {
    require(&caller, project_id, is_manager(&caller, project_id))?;
    let request = json!({
        "path": format!("/projects/{project_id}/guides/{guide_id}/activate"),
        "body": { "contribution_policy_version_id": body.contribution_policy_version_id },
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "guide.activate",
        key,
        &request,
        async |tx| {
            let activation = guides::activate(
                tx,
                &acting,
                project_id,
                guide_id,
                body.contribution_policy_version_id,
            )
            .await?;
            Ok((
                StatusCode::OK,
                guides::ActivationView {
                    guide: activation.guide,
                    project: ProjectSummaryStatus {
                        id: project_id,
                        status: activation.project_status,
                    },
                    superseded_guide_id: activation.superseded_guide_id,
                    preview: activation.preview,
                },
            ))
        },
    )
    .await
}
