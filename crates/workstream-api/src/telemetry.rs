//! What an operator watches: `GET /metrics` in Prometheus' text format, and one log line
//! per request.
//!
//! * [`recorder`] installs the process-wide Prometheus recorder the `metrics` facade
//!   records into (the engine counts evaluations, checker runs and job attempts; this
//!   module counts requests). Histograms use fixed buckets from 0.5 ms to 10 s.
//! * [`observe`] wraps the whole application: for every request it records
//!   `workstream_http_requests_total` and `workstream_http_request_duration_seconds` by
//!   route template (`/api/v1/tasks/{tid}`, never the raw path, so ids do not become
//!   label values; `unmatched` for a path no route serves), method and status, and logs
//!   one line at `info` with the method, route, status, latency and correlation id.
//!   [`name_route`], layered on each router's routes, tells it the template.
//! * [`metrics`] answers `GET /metrics`: an operator's token on the main address, or
//!   anyone on the separate address `WORKSTREAM_METRICS_BIND` serves ([`metrics_app`]).
//!   Each scrape also reads the gauges the database holds: jobs waiting and running by
//!   kind and state, the age of the oldest job waiting to run, the review queue's depth,
//!   active review leases and the oldest one's age, and the connection pool's use.
//!
//! | metric | labels |
//! |---|---|
//! | `workstream_http_requests_total`, `workstream_http_request_duration_seconds` | `route`, `method`, `status` (the histogram: `route`, `method`) |
//! | `workstream_jobs` (gauge) | `kind`, `state` (`available`, `retryable`, `running`) |
//! | `workstream_job_oldest_waiting_seconds` (gauge) | |
//! | `workstream_review_queue_depth`, `workstream_review_leases_active`, `workstream_review_lease_oldest_seconds` (gauges) | |
//! | `workstream_db_pool_connections` (gauge) | `state` (`idle`, `in_use`) |
//! | engine metrics | see `workstream_engine`'s `observed` module docs |

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use workstream_domain::ErrorCode;
use workstream_domain::roles::AdminRole;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// Histogram buckets, in seconds: from a cached read to a slow evaluation.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use as the `metrics` facade's
/// global recorder. Every server of a process (tests start several) shares it.
pub fn recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder was installed first; /metrics shows only its own gauges"
            );
        }
        handle
    })
}

/// The route template a request matched, filled in by [`name_route`] for [`observe`].
#[derive(Clone, Default)]
struct RouteSlot(Arc<Mutex<Option<String>>>);

/// Middleware on each router's routes: hands the matched template to [`observe`].
pub async fn name_route(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        request.extensions().get::<RouteSlot>(),
        request.extensions().get::<MatchedPath>(),
    ) && let Ok(mut name) = slot.0.lock()
    {
        *name = Some(path.as_str().to_owned());
    }
    next.run(request).await
}

/// Middleware around the whole application: counts, times and logs every request.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let route = slot
        .0
        .lock()
        .ok()
        .and_then(|name| name.clone())
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    metrics::counter!(
        "workstream_http_requests_total",
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status.to_string(),
    )
    .increment(1);
    metrics::histogram!(
        "workstream_http_request_duration_seconds",
        "route" => route.clone(),
        "method" => method.clone(),
    )
    .record(elapsed.as_secs_f64());
    let correlation_id = response
        .headers()
        .get(&crate::correlation::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info!(
        method,
        route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        correlation_id,
        "request"
    );
    response
}

/// `GET /metrics` on the main address: a system operator's token.
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if caller.grants.admin(AdminRole::Operator, None).is_none() {
        return Err(ApiError::new(
            ErrorCode::PermissionNotGranted,
            "metrics are for system operators (or on the address WORKSTREAM_METRICS_BIND serves)",
        ));
    }
    scrape(&state.pool).await
}

/// The application of the separate metrics address: `GET /metrics`, no token (the
/// address itself is the access control: bind it where only the scraper reaches).
pub fn metrics_app(pool: PgPool) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(pool): State<PgPool>| async move { scrape(&pool).await }),
        )
        .with_state(pool)
}

/// Refreshes the database gauges and renders every metric.
async fn scrape(pool: &PgPool) -> Result<Response, ApiError> {
    refresh_gauges(pool).await?;
    let body = recorder().render();
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// The (kind, state) pairs of jobs a previous scrape reported, so one that has emptied
/// reads 0 instead of keeping its last value.
static JOB_LABELS: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// Sets the gauges the database holds. Each query walks a partial index of the
/// unfinished rows only, so a scrape costs the same however long the history.
async fn refresh_gauges(pool: &PgPool) -> Result<(), ApiError> {
    let (jobs, oldest_waiting) = workstream_store::jobs::backlog(pool).await?;
    {
        let mut seen = JOB_LABELS.lock().unwrap_or_else(|e| e.into_inner());
        for (kind, state) in seen.iter() {
            if !jobs
                .iter()
                .any(|j| &j.kind == kind && j.state.as_str() == state)
            {
                metrics::gauge!("workstream_jobs", "kind" => kind.clone(), "state" => state.clone())
                    .set(0.0);
            }
        }
        for job in &jobs {
            metrics::gauge!("workstream_jobs", "kind" => job.kind.clone(), "state" => job.state.as_str())
                .set(job.count as f64);
            seen.insert((job.kind.clone(), job.state.to_string()));
        }
    }
    let reviews = workstream_engine::reviews::queue::load(&mut *pool.acquire().await?).await?;
    metrics::gauge!("workstream_job_oldest_waiting_seconds").set(oldest_waiting);
    metrics::gauge!("workstream_review_queue_depth").set(reviews.pending_entries as f64);
    metrics::gauge!("workstream_review_leases_active").set(reviews.active_leases as f64);
    metrics::gauge!("workstream_review_lease_oldest_seconds").set(reviews.oldest_lease_seconds);
    let (size, idle) = (pool.size(), pool.num_idle() as u32);
    metrics::gauge!("workstream_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("workstream_db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    Ok(())
}
