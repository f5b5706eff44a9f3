//! A project's audit events: the page read an auditor filters, and its export.
//!
//! | method | path | who | answers |
//! |---|---|---|---|
//! | GET | `/projects/{pid}/audit-events` | an audit authority, project manager or operator covering the project | 200 `{items, next_cursor}` |
//! | GET | `/projects/{pid}/audit-events/export` | the same | 200 every matching event, CSV or JSON lines, streamed |
//!
//! Events come in the order they happened (`occurred_at`, then id), filtered by type,
//! entity, actor and a half-open time window `[since, until)`. The cursor is the last
//! event of a page, bound to the project and to the filters (a cursor cannot be carried
//! to another filter: 422 `invalid_cursor`). Each page is one range of
//! `audit_events_project_idx` (migrations/0013), so it costs its size whatever the
//! project's history. Each item carries its ledger position (`leaf_index`, null until
//! the sealer has taken it, about a second) and the event's `digest`; the proof of an
//! event is in its task's trail (`GET /tasks/{tid}/audit-trail`) and the whole ledger
//! is checked by `workstream audit verify`.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::Actor;
use workstream_engine::tasks::access::Access;
use workstream_store::audit;
use workstream_store::audit::events::{EventFilter, EventRow};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::export::{EXPORT_PAGE, Export, Format};
use crate::extract::{Ids, Query};
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::{Page, PageQuery, Paged};

/// The project audit routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const WHO: &str = "an audit authority, project manager or operator covering the project (anyone else: the concealed 404)";
    ApiRoutes::new("Audit")
        .get(
            "/projects/{pid}/audit-events",
            page,
            Doc::new("The project's audit events, oldest first, filtered")
                .who(WHO)
                .ok("`{items, next_cursor}`: each `{id, occurred_at, event_type, entity_type, entity_id, from_status, to_status, actor_id, actor_name, reason, payload, correlation_id, digest, leaf_index}`")
                .refuses(&[ErrorCode::InvalidCursor, ErrorCode::InvalidRequest]),
        )
        .get(
            "/projects/{pid}/audit-events/export",
            export,
            Doc::new("Every audit event of the project that matches the filters, as a file")
                .who(WHO)
                .ok("the events, oldest first: CSV with a header row (`payload` as JSON), or one JSON object per line (`format=jsonl`), each as an item of the page read")
                .media_type("text/csv")
                .note("Streamed page by page: memory stays flat and the first rows arrive at once. A fault part-way cuts the transfer, so a complete-looking file is a complete one.")
                .refuses(&[ErrorCode::InvalidRequest]),
        )
}

/// Declares a query type with the filters' fields and `$extra`, and its [`EventFilter`].
/// (Query strings cannot use `#[serde(flatten)]`: every flattened value arrives as text,
/// and unknown fields could no longer be refused.)
macro_rules! filtered_query {
    ($(#[$meta:meta])* struct $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        struct $name {
            /// Only events of this type (`task_claimed`, `review_decided`, ...).
            #[schemars(length(max = 100))]
            event_type: Option<String>,
            /// Only events about entities of this type (`task`, `submission`, ...).
            #[schemars(length(max = 100))]
            entity_type: Option<String>,
            /// Only events about this entity.
            entity_id: Option<Uuid>,
            /// Only events by this actor.
            actor_id: Option<Uuid>,
            /// Events at or after this time (RFC 3339).
            since: Option<DateTime<Utc>>,
            /// Events before this time (RFC 3339).
            until: Option<DateTime<Utc>>,
            $($(#[$field_meta])* $field: $ty,)*
        }

        impl $name {
            fn filter(&self) -> EventFilter {
                EventFilter {
                    event_type: self.event_type.clone(),
                    entity_type: self.entity_type.clone(),
                    entity_id: self.entity_id,
                    actor_id: self.actor_id,
                    since: self.since,
                    until: self.until,
                }
            }
        }
    };
}

filtered_query! {
    /// `GET /projects/{pid}/audit-events`: the filters and a page.
    struct PageParams {
        /// Page size, 1..=100 (default 50).
        #[schemars(range(min = 1, max = 100))]
        limit: Option<u32>,
        /// The `next_cursor` of the previous page.
        #[schemars(length(max = 512))]
        cursor: Option<String>,
    }
}

filtered_query! {
    /// `GET /projects/{pid}/audit-events/export`: the filters and a format.
    struct ExportParams {
        /// `csv` (the default) or `jsonl`.
        format: Option<Format>,
    }
}

const COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("occurred_at", "occurred_at"),
    ("event_type", "event_type"),
    ("entity_type", "entity_type"),
    ("entity_id", "entity_id"),
    ("from_status", "from_status"),
    ("to_status", "to_status"),
    ("actor_id", "actor_id"),
    ("actor_name", "actor_name"),
    ("reason", "reason"),
    ("payload", "payload"),
    ("correlation_id", "correlation_id"),
    ("digest", "digest"),
    ("leaf_index", "leaf_index"),
];

/// The cursor scope: the project and a digest of the filters, so a cursor only
/// continues the list it came from.
fn scope(filter: &EventFilter, project_id: Uuid) -> String {
    let filters = json!([
        filter.event_type,
        filter.entity_type,
        filter.entity_id,
        filter.actor_id,
        filter.since,
        filter.until,
    ]);
    let digest = Sha256::digest(filters.to_string().as_bytes());
    format!(
        "project:{project_id}:audit-events:{}",
        hex::encode(&digest[..8])
    )
}

/// Too long a text filter is a bad request, not a slow scan.
fn check(filter: &EventFilter) -> Result<(), ApiError> {
    for (name, value) in [
        ("event_type", &filter.event_type),
        ("entity_type", &filter.entity_type),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 100) {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("{name} is at most 100 characters"),
            )
            .with_details(json!({ "field": name })));
        }
    }
    Ok(())
}

/// The events of `project_id` matching `filter` after the event `after`, at most
/// `limit`; `invalid_cursor` when `after` is not an event of the project.
async fn events(
    conn: &mut PgConnection,
    project_id: Uuid,
    filter: &EventFilter,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<EventRow>, ApiError> {
    audit::events::page(conn, project_id, filter, after, limit)
        .await?
        .ok_or_else(|| ApiError::from(ErrorCode::InvalidCursor))
}

/// The concealed 404 unless the caller reads the project's audit events.
async fn require_reader(
    conn: &mut PgConnection,
    caller: &Caller,
    project_id: Uuid,
) -> Result<(), ApiError> {
    if workstream_store::tasks::project_status(conn, project_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found());
    }
    let who = Access::read(conn, caller.actor_id, project_id, false).await?;
    let reads = who.audit_grant().is_some()
        || who.grant_for(Actor::ProjectManager).is_some()
        || who.grant_for(Actor::Operator).is_some();
    if reads {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<PageParams>, ApiError>,
) -> Result<axum::Json<Paged<EventRow>>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    require_reader(&mut conn, &caller, project_id).await?;
    let Query(params) = query?;
    let filter = params.filter();
    check(&filter)?;
    let scope = scope(&filter, project_id);
    let page = Page::parse(
        &PageQuery {
            limit: params.limit,
            cursor: params.cursor,
        },
        &scope,
        &state.config.cursor_secret,
    )?;
    let rows = events(&mut conn, project_id, &filter, page.after, page.limit).await?;
    let next = page.next_cursor(
        rows.len(),
        rows.last().map(|r| r.id),
        &scope,
        &state.config.cursor_secret,
    );
    Ok(axum::Json(Paged {
        items: rows,
        next_cursor: next,
    }))
}

async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<ExportParams>, ApiError>,
) -> Result<Response, ApiError> {
    {
        let mut conn = state.pool.acquire().await?;
        require_reader(&mut conn, &caller, project_id).await?;
    }
    let Query(params) = query?;
    let filter = params.filter();
    check(&filter)?;
    let pool = state.pool.clone();
    let export = Export {
        format: params.format.unwrap_or_default(),
        name: format!("audit-events-{project_id}"),
        columns: COLUMNS,
    };
    Ok(export.stream(move |after| {
        let (pool, filter) = (pool.clone(), filter.clone());
        async move {
            let mut conn = pool.acquire().await?;
            let rows = events(&mut conn, project_id, &filter, after, EXPORT_PAGE).await?;
            rows.into_iter()
                .map(|row| {
                    let item = serde_json::to_value(&row).map_err(ApiError::internal)?;
                    Ok((row.id, item))
                })
                .collect()
        }
    }))
}
