//! The registry of checker components, for the people who write checker policies: read
//! it, and publish a component to it.
//!
//! | method | path | who | answers |
//! |---|---|---|---|
//! | GET | `/checkers` | a project manager, operator or audit authority (any scope) | 200 `{items: [...]}`, by name then newest first, each with `published_by`, `pinned_by` and `runs` |
//! | POST | `/checkers` | a project manager or operator (any scope) | 201 the new record, 200 the existing one for bytes published before, 422 with the refusal's code |
//!
//! Components are platform-wide (a policy pins a digest, whichever project it is in),
//! so neither route is concealed per project: like the actor routes, a caller without
//! the authority learns only that they lack it (403 `permission_not_granted`). Bytes are
//! never part of an answer.
//!
//! The read answers each component with what a policy author weighs before pinning it
//! ([`workstream_store::checkers::registry`], a few queries for the whole registry):
//! `published_by` `{actor_id, display_name}` (null for the built-ins), `pinned_by`, the
//! active guides whose bundle pins its digest (`[{project_id, project_slug, guide_id,
//! guide_version}]`), and `runs`, its results over the last [`RUNS_WINDOW_DAYS`] days:
//! `{count, failed, errored_by_code: {code: n}, p50_duration_us, p95_duration_us}`
//! (the percentiles are null without runs).
//!
//! Publication takes the component as the multipart part `component` (at most
//! [`MAX_COMPONENT_BYTES`]) and validates it once, outside any transaction (compiling a
//! Python or JavaScript component takes seconds): the one import policy, compilation
//! (cached by digest on this host), `info()`, the configuration schema, and a `check` of
//! an empty packet under the production limits
//! ([`workstream_engine::checkers::validate_for_publication`]). Then, in the request's
//! transaction, the record, its audit event and the notification that makes every
//! other process of the deployment compile it too
//! ([`workstream_engine::checkers::publish`]). Publication is idempotent by digest: the
//! same bytes answer 200 with the record that exists, without compiling anything.

use crate::extract::Multipart as MultipartBody;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use workstream_domain::Digest;
use workstream_domain::ErrorCode;
use workstream_domain::roles::AdminRole;
use workstream_store::checkers::{CheckerComponent, RegistryEntry};

use crate::AppState;
use crate::actors::not_granted;
use crate::auth::Caller;
use crate::correlation::CorrelationId;
use crate::error::ApiError;
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};

/// Most bytes a published component may have: the Python and JavaScript toolchains
/// make 12-18 MB components; 64 MiB leaves room for bigger runtimes.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// How far back the read's `runs` statistics look.
pub const RUNS_WINDOW_DAYS: i64 = 30;

/// The registry routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new("Checkers")
        .get(
            "/checkers",
            list,
            Doc::new("The checker registry: every registered component by digest (never its bytes), with the contract version it implements, who published it, the active guides that pin it and its recent runs")
                .who("a project manager, operator or audit authority")
                .ok("`{items}`: each the registry record (as publication answers it) with `published_by` `{actor_id, display_name}` (null for built-ins), `pinned_by` `[{project_id, project_slug, guide_id, guide_version}]` (active guides) and `runs` over the last 30 days `{count, failed, errored_by_code, p50_duration_us, p95_duration_us}`")
                .refuses(&[ErrorCode::PermissionNotGranted]),
        )
        .post(
            "/checkers",
            publish,
            Doc::new("Publish a checker component: validate it once (imports, compilation, `info()`, configuration schema, a check of an empty packet under the production limits) and add it to the registry")
                .who("a project manager or operator (any scope): whoever may configure checker policies")
                .streamed()
                .parts(&[("component", "the WebAssembly component (`.wasm`), at most 64 MiB")])
                .created("the registry record `{digest, name, version, description, config_schema, contract, byte_count, builtin, registered_by, registered_at}`")
                .also(StatusCode::OK, "the existing registry record: the same bytes were published before")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[
                        ErrorCode::InvalidRequest, ErrorCode::CheckerComponentInvalid, ErrorCode::CheckerImportNotAllowed,
                        ErrorCode::CheckerContractMismatch, ErrorCode::CheckerInfoInvalid, ErrorCode::CheckerConfigSchemaInvalid,
                        ErrorCode::CheckerSmokeCheckFailed, ErrorCode::CheckerComponentTooLarge,
                    ],
                )
                .refuses(&[ErrorCode::CheckerSandboxUnavailable]),
        )
}

fn holds(caller: &Caller, roles: &[AdminRole]) -> bool {
    caller.grants.admin.iter().any(|g| roles.contains(&g.role))
}

/// Every registered component, with its publisher, pins and recent runs.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Registry {
    items: Vec<RegistryEntry>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Registry>, ApiError> {
    if !holds(
        &caller,
        &[
            AdminRole::ProjectManager,
            AdminRole::Operator,
            AdminRole::AuditAuthority,
        ],
    ) {
        return Err(not_granted());
    }
    let runs_since = chrono::Utc::now() - chrono::Duration::days(RUNS_WINDOW_DAYS);
    let mut conn = state.pool.acquire().await?;
    let items = workstream_store::checkers::registry(&mut conn, runs_since).await?;
    Ok(axum::Json(Registry { items }))
}

/// Reads the `component` part into memory, under [`MAX_COMPONENT_BYTES`].
async fn receive(mut multipart: Multipart) -> Result<Vec<u8>, ApiError> {
    let invalid = |code: ErrorCode, message: String| ApiError::new(code, message);
    let mut component = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| invalid(ErrorCode::InvalidRequest, e.body_text()))?
    {
        if field.name() != Some("component") {
            return Err(invalid(
                ErrorCode::InvalidRequest,
                format!(
                    "unknown part `{}`: send the component as `component`",
                    field.name().unwrap_or_default()
                ),
            ));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| invalid(ErrorCode::InvalidRequest, e.body_text()))?
        {
            if bytes.len() + chunk.len() > MAX_COMPONENT_BYTES {
                return Err(invalid(
                    ErrorCode::CheckerComponentTooLarge,
                    format!("a component is at most {MAX_COMPONENT_BYTES} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        component = Some(bytes);
    }
    match component {
        Some(bytes) if !bytes.is_empty() => Ok(bytes),
        Some(_) => Err(invalid(
            ErrorCode::CheckerComponentInvalid,
            "the component is empty".into(),
        )),
        None => Err(invalid(
            ErrorCode::InvalidRequest,
            "the `component` part (the .wasm file) is missing".into(),
        )),
    }
}

async fn publish(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    caller: Caller,
    key: IdempotencyKey,
    MultipartBody(multipart): MultipartBody,
) -> Result<Answer<CheckerComponent>, ApiError> {
    // The body is read before the refusal: a server that answers while a client is
    // still sending a 15 MB component makes the client see a broken pipe, not the
    // answer. It is bounded, and the caller is authenticated.
    let bytes = receive(multipart).await;
    if !holds(&caller, &[AdminRole::ProjectManager, AdminRole::Operator]) {
        return Err(not_granted());
    }
    let bytes = bytes?;
    let Some(pipeline) = state.pipeline.clone() else {
        return Err(ApiError::new(
            ErrorCode::CheckerSandboxUnavailable,
            "this server runs no checker sandbox",
        ));
    };
    let digest = Digest::of_bytes(&bytes).to_string();
    // Bytes published before: the record, without compiling anything.
    if let Some(existing) = workstream_store::checkers::get(&state.pool, &digest).await? {
        return Ok(Answer::holding(
            (StatusCode::OK, axum::Json(existing)).into_response(),
        ));
    }
    let validated =
        workstream_engine::checkers::validate_for_publication(pipeline.checkers.sandbox(), &bytes)
            .await?;
    tracing::info!(
        %digest,
        name = %validated.info.name,
        version = %validated.info.version,
        contract = %validated.loaded.contract(),
        correlation_id = %correlation.0,
        "checker component validated for publication"
    );
    let request = json!({ "path": "/checkers", "body": { "digest": digest } });
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "checker.publish",
        key,
        &request,
        async |tx| {
            let registration = workstream_engine::checkers::publish(
                tx,
                &validated,
                &bytes,
                false,
                Some(caller.actor_id),
            )
            .await?;
            let status = if registration.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, registration.component))
        },
    )
    .await
}
