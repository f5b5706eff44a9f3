//! `GET /checkers`: the registry of checker components, for the people who write
//! checker policies (arch §6).
//!
//! | method | path | who | answers |
//! |---|---|---|---|
//! | GET | `/checkers` | a project manager, operator or audit authority (any scope) | 200 `{items: [{digest, name, version, description, config_schema, contract, byte_count, builtin, registered_by, registered_at}]}`, by name then newest first; 403 `permission_not_granted` to everyone else |
//!
//! Components are platform-wide (a policy pins a digest, whichever project it is in),
//! so the list is not concealed per project: like the actor routes, a caller without
//! the authority learns only that they lack it. Bytes are never part of the answer.

use axum::extract::State;
use serde_json::{Value, json};
use workstream_domain::roles::AdminRole;

use crate::AppState;
use crate::actors::not_granted;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{ApiRoutes, Doc};

/// The registry route, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    ApiRoutes::new("Checkers").get(
        "/checkers",
        list,
        Doc::new("The checker registry: every registered component by digest (never its bytes)")
            .who("a project manager, operator or audit authority")
            .ok("`{items}`")
            .refuses(
                axum::http::StatusCode::FORBIDDEN,
                &["permission_not_granted"],
            ),
    )
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, ApiError> {
    let reads = caller.grants.admin.iter().any(|g| {
        matches!(
            g.role,
            AdminRole::ProjectManager | AdminRole::Operator | AdminRole::AuditAuthority
        )
    });
    if !reads {
        return Err(not_granted());
    }
    let items = workstream_store::checkers::list(&state.pool).await?;
    Ok(axum::Json(json!({ "items": items })))
}
