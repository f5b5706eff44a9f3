//! Payments: the adapter's fulfilment callback, award reads, reconciliation and the
//! projection rebuild (docs/security.md "Award read / delivery reconciliation",
//! "Record fulfilment result"; docs/rules.md; R42-R44).
//!
//! The routes, who may call each and what it answers are declared in [`routes`],
//! which is also what `GET /api/v1/openapi.json` serves.
//!
//! Finance and audit routes answer every other caller with the concealed 404, like the
//! contribution routes. The callback refuses humans before reading anything (no role,
//! finance and admin included, can substitute for the adapter, R43, AS50), so a
//! person learns nothing about awards from it; a service actor that is not the award's
//! bound adapter meets the same 404 as for a missing award.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::roles::AdminRole;
use workstream_engine::compensation::fulfillment::{self, FulfillmentReport};
use workstream_engine::compensation::{projection, reads, reconciliation};

use crate::AppState;
use crate::auth::{ActorKind, Caller};
use crate::error::ApiError;
use crate::extract::{Empty, Ids, Json, Query};
use crate::idempotency::{self, Answer, IdempotencyKey};
use crate::openapi::{ApiRoutes, Doc};
use crate::pagination::page_query;
use crate::pagination::{Page, PageQuery, Paged};

/// The payment routes, relative to `/api/v1`.
pub fn routes() -> ApiRoutes {
    const READERS: &str =
        "a finance or audit authority covering the project (anyone else: the concealed 404)";
    ApiRoutes::new("Payments")
        .post(
            "/compensation/fulfillment-reports",
            report_fulfillment,
            Doc::new("Report an award's fulfilment (or failure): the bound adapter's callback")
                .who("the service actor bound to the award's adapter binding (people: 403; other adapters: the concealed 404)")
                .created("`{receipt, projection, replayed: false}`")
                .also(StatusCode::OK, "an exact replay of the event: `{.., replayed: true}`")
                .refuses(&[ErrorCode::PermissionNotGranted])
                .refuses(&[ErrorCode::NotFound])
                .refuses(&[ErrorCode::ExternalEventConflict, ErrorCode::AwardAlreadyFulfilled])
                .refuses(&[
                        ErrorCode::FulfillmentReportIncomplete, ErrorCode::FulfillmentReportInconsistent, ErrorCode::FulfillmentReportTimeInvalid, ErrorCode::FulfilledQuantityInvalid,
                        ErrorCode::FulfilledQuantityMismatch, ErrorCode::ExternalReferenceInvalid, ErrorCode::ExternalEventIdInvalid,
                    ],
                ),
        )
        .get(
            "/projects/{project_id}/compensation/awards",
            project_awards,
            Doc::new("The project's awards with their delivery and fulfilment projection")
                .who(READERS)
                .ok("`{items: [award + projection], next_cursor}`")
                .refuses(&[ErrorCode::InvalidCursor]),
        )
        .get(
            "/projects/{project_id}/compensation/awards/export",
            export_awards,
            Doc::new("Every award of the project as a file, with its delivery and payment state")
                .who(READERS)
                .ok("CSV with a header row (the columns below), or one award per line as the list answers it (`format=jsonl`)")
                .media_type("text/csv")
                .note("CSV columns: `id, created_at, contribution_type, task_id, task_title, contributor_id, contributor_name, quantity, unit_code, instrument_type, delivery_status, fulfillment_status, external_reference, fulfilled_at, last_failure_code, contribution_policy_version_id`. Streamed page by page; a fault part-way cuts the transfer.")
                .refuses(&[ErrorCode::InvalidRequest]),
        )
        .get(
            "/projects/{project_id}/compensation/reconciliation",
            reconcile,
            Doc::new("Finance reconciliation: every mismatch between awards, deliveries, receipts and projections")
                .who(READERS)
                .ok("the report: findings by kind, totals, dashboard"),
        )
        .post(
            "/projects/{project_id}/compensation/projections/rebuild",
            rebuild,
            Doc::new("Rebuild the award projections from the facts")
                .who("a finance authority covering the project")
                .ok("`{project_id, awards_checked, changed: [{compensation_award_id, before, after, changed_fields}]}`"),
        )
        .get(
            "/me/awards",
            my_awards,
            Doc::new("The caller's own awards")
                .who("any verified actor")
                .ok("`{items: [award + projection], next_cursor}`")
                .refuses(&[ErrorCode::InvalidCursor]),
        )
}

/// Finance, or (when `audit_reads`) audit, covering the project; else the concealed 404.
fn require_finance(caller: &Caller, project: Uuid, audit_reads: bool) -> Result<(), ApiError> {
    let grants = &caller.grants;
    let finance = grants.admin(AdminRole::FinanceAuthority, Some(project));
    let audit = audit_reads
        .then(|| grants.admin(AdminRole::AuditAuthority, Some(project)))
        .flatten();
    match finance.or(audit) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found()),
    }
}

async fn project_exists(state: &AppState, project: Uuid) -> Result<(), ApiError> {
    let mut conn = state.pool.acquire().await?;
    Ok(workstream_engine::projects::require(&mut conn, project).await?)
}

async fn report_fulfillment(
    State(state): State<AppState>,
    caller: Caller,
    key: Result<IdempotencyKey, ApiError>,
    body: Result<Json<FulfillmentReport>, ApiError>,
) -> Result<Answer<fulfillment::RecordedReport>, ApiError> {
    // Who first: a person is refused whatever they sent.
    if caller.kind != ActorKind::Service {
        return Err(ApiError::new(
            ErrorCode::PermissionNotGranted,
            "fulfilment is reported only by the adapter bound to the award",
        ));
    }
    let key = key?;
    let Json(report) = body?;
    // The normalized report identifies the request (times in UTC, null = absent).
    let request = json!({
        "path": "/compensation/fulfillment-reports",
        "body": fulfillment::request_hash(&report),
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "compensation.fulfillment_report",
        key,
        &request,
        async |tx| {
            let recorded = fulfillment::record(tx, &acting, &report).await?;
            let status = if recorded.replayed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok((status, recorded))
        },
    )
    .await
}

async fn project_awards(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<reads::FinanceAward>>, ApiError> {
    require_finance(&caller, project_id, true)?;
    let query = page_query(query)?;
    let scope = format!("project:{project_id}:compensation-awards");
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    project_exists(&state, project_id).await?;
    let mut conn = state.pool.acquire().await?;
    let items = reads::project_awards(&mut conn, project_id, page.after, page.limit).await?;
    let next = page.next_cursor(
        items.len(),
        items.last().map(|a| a.id),
        &scope,
        &state.config.cursor_secret,
    );
    Ok(axum::Json(Paged {
        items,
        next_cursor: next,
    }))
}

async fn export_awards(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<crate::tasks::ExportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    require_finance(&caller, project_id, true)?;
    project_exists(&state, project_id).await?;
    let Query(query) = query?;
    let export = crate::export::Export {
        format: query.format.unwrap_or_default(),
        name: format!("awards-{project_id}"),
        columns: &[
            ("id", "id"),
            ("created_at", "created_at"),
            ("contribution_type", "contribution_type"),
            ("task_id", "task_id"),
            ("task_title", "task_title"),
            ("contributor_id", "contributor_id"),
            ("contributor_name", "contributor_name"),
            ("quantity", "quantity"),
            ("unit_code", "unit_code"),
            ("instrument_type", "instrument_type"),
            ("delivery_status", "projection.delivery_status"),
            ("fulfillment_status", "projection.fulfillment_status"),
            ("external_reference", "projection.external_reference"),
            ("fulfilled_at", "projection.fulfilled_at"),
            ("last_failure_code", "projection.last_failure_code"),
            (
                "contribution_policy_version_id",
                "contribution_policy_version_id",
            ),
        ],
    };
    let pool = state.pool.clone();
    Ok(export.stream(move |after| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.acquire().await?;
            let page =
                reads::project_awards(&mut conn, project_id, after, crate::export::EXPORT_PAGE)
                    .await?;
            page.into_iter()
                .map(|award| {
                    let item = serde_json::to_value(&award).map_err(ApiError::internal)?;
                    Ok((award.id, item))
                })
                .collect()
        }
    }))
}

async fn my_awards(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageQuery>, ApiError>,
) -> Result<axum::Json<Paged<reads::ContributorAward>>, ApiError> {
    let query = page_query(query)?;
    let scope = format!("actor:{}:awards", caller.actor_id);
    let page = Page::parse(&query, &scope, &state.config.cursor_secret)?;
    let mut conn = state.pool.acquire().await?;
    let items =
        reads::contributor_awards(&mut conn, caller.actor_id, page.after, page.limit).await?;
    let next = page.next_cursor(
        items.len(),
        items.last().map(|a| a.id),
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
struct ReconciliationQuery {
    /// How long a delivery may stay unfulfilled before it counts as overdue, in
    /// seconds: 0 to ten years (the server's `WORKSTREAM_COMPENSATION_PENDING_SLA_SECONDS`
    /// when absent).
    #[serde(default)]
    #[schemars(range(min = 0, max = 315_360_000))]
    pending_sla_seconds: Option<i64>,
}

/// The longest SLA a reconciliation takes: ten years. Anything longer means "never",
/// and a date that far out overflows the database's timestamps.
const MAX_SLA_SECONDS: i64 = 315_360_000;

async fn reconcile(
    State(state): State<AppState>,
    caller: Caller,
    Ids(project_id): Ids<Uuid>,
    query: Result<Query<ReconciliationQuery>, ApiError>,
) -> Result<axum::Json<reconciliation::Reconciliation>, ApiError> {
    require_finance(&caller, project_id, true)?;
    let Query(query) = query?;
    project_exists(&state, project_id).await?;
    let sla = query
        .pending_sla_seconds
        .unwrap_or(state.config.compensation_pending_sla_seconds);
    if !(0..=MAX_SLA_SECONDS).contains(&sla) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("pending_sla_seconds must be between 0 and {MAX_SLA_SECONDS}"),
        )
        .with_details(json!({ "field": "pending_sla_seconds" })));
    }
    let mut conn = state.pool.acquire().await?;
    let report = reconciliation::reconcile(&mut conn, project_id, sla).await?;
    Ok(axum::Json(report))
}

async fn rebuild(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Ids(project_id): Ids<Uuid>,
    Json(_): Json<Empty>,
) -> Result<Answer<projection::RebuildReport>, ApiError> {
    // Audit is read-only (R46): the rebuild is finance's.
    require_finance(&caller, project_id, false)?;
    project_exists(&state, project_id).await?;
    let request = json!({
        "path": format!("/projects/{project_id}/compensation/projections/rebuild"),
        "body": {},
    });
    let acting = caller.requester();
    idempotency::run(
        &state.pool,
        caller.actor_id,
        "compensation.projections.rebuild",
        key,
        &request,
        async |tx| {
            let report = projection::rebuild(tx, &acting, project_id).await?;
            Ok((StatusCode::OK, report))
        },
    )
    .await
}
