//! The HTTP API of Workstream.
//!
//! One axum [`Router`] serves the JSON API under `/api/v1` and the liveness probe at
//! `/health`. Its parts:
//!
//! * [`AppState`]: what every handler shares (the database pool). Handlers hold no
//!   other state, so any number of API processes can serve one database.
//! * [`error`]: the one error type of the API and its envelope
//!   `{"error": {"code", "message", "details", "correlation_id"}}`; every failure a
//!   client can see has a stable `code`.
//! * [`correlation`]: every request carries a correlation id (the client's
//!   `X-Correlation-ID`, or a new one), echoed on the response and written into errors,
//!   logs and audit events.
//! * [`text_gate`]: one check, in front of every route, that no string a request
//!   brings (path, query, JSON body) holds a character PostgreSQL cannot store.
//! * [`extract`]: the JSON body and path extractors, whose rejections are envelopes
//!   (unknown fields and malformed ids are 422).
//! * [`idempotency`]: `Idempotency-Key` on every mutation, stored with the change.
//! * [`pagination`]: signed cursors for every list; [`export`]: whole lists streamed
//!   as CSV or JSON lines.
//! * [`rate_limit`]: durable budgets for first access and authority mutations (429).
//! * [`projects`], [`guides`], [`contribution`]: projects, guide versions with their
//!   policy bundles and activation gate, and the finance authority's terms.
//! * [`packets`]: packet upload (streamed intake and the pre-submit checks),
//!   submission, and the checker runs in contributor-safe and full views;
//!   [`submissions`]: a task's versions and one submission, in the same two views.
//! * [`reviews`]: the reviewer's queue, leases, review packet and decision; the task's
//!   review history and revision context; the PM's revision close and repair.
//!   [`calibration`]: reviewer calibration: the sampled review offered blind to a second
//!   reviewer, its blind packet and decision, and a project's agreement figures.
//! * [`tasks`]: the task routes: create, screen, release, the ready queue, claim, start,
//!   cancel, and the contributor-safe task view with compensation terms.
//! * [`reputation`]: an actor's own reputation, a project's view of its contributors',
//!   and the operator's recompute; [`lessons`] and [`sprints`]: a project's lessons
//!   (recorded and detected) and its evaluation sprints with their reports.
//! * [`compensation`]: payments: the bound adapter's fulfilment callback, award reads
//!   for finance, audit and contributors, reconciliation and the projection rebuild.
//! * [`openapi`]: every module mounts its routes through [`openapi::ApiRoutes`] with a
//!   [`openapi::Doc`], so the router and the OpenAPI 3.1 document
//!   (`/api/v1/openapi.json`, and the page `/api/v1/docs`) are made by the same calls.
//! * [`config`]: the `WORKSTREAM_*` settings.
//! * [`auth`]: bearer tokens, the [`auth::Caller`] extractor and its grants;
//!   [`actors`] and [`grants`]: the routes that administer them.
//! * [`health`]: `/health` (the process is up) and `/api/v1/health` (and the database
//!   answers); [`telemetry`]: `/metrics` (Prometheus) and one log line per request.
//! * [`audit_trail`], [`checker_registry`], [`assignments`]: reads the web UI needed
//!   (a task's audit events with the chain verification, the checker components, the
//!   caller's own assignments), served to every client like the rest of the API;
//!   [`project_audit`]: a project's audit events, filtered, paged and exported.
//!
//! The web UI is the crate above this one (`workstream-ui`): a server-rendered client
//! of [`app`], mounted beside it.
#![deny(missing_docs)]

pub mod actors;
pub mod assignments;
pub mod audit_trail;
pub mod auth;
pub mod calibration;
pub mod checker_registry;
pub mod compensation;
pub mod config;
pub mod contribution;
pub mod correlation;
pub mod error;
pub mod export;
pub mod extract;
pub mod grants;
pub mod guides;
pub mod health;
pub mod idempotency;
pub mod lessons;
pub mod openapi;
pub mod packets;
pub mod pagination;
pub mod previews;
pub mod project_audit;
pub mod projects;
pub mod rate_limit;
pub mod reputation;
pub mod reviews;
pub mod sprints;
pub mod submissions;
pub mod tasks;
pub mod telemetry;
pub mod text_gate;

use std::sync::Arc;

pub use axum::Router;
use axum::routing::get;
use sqlx::PgPool;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database every record lives in.
    pub pool: PgPool,
    /// The server's configuration.
    pub config: Arc<config::ApiConfig>,
    /// Verifies bearer tokens (see [`auth`]).
    pub verifier: Arc<auth::Verifier>,
    /// Intake, object store and checkers for packet uploads; without it the packet
    /// routes answer 503.
    pub pipeline: Option<Arc<workstream_engine::pipeline::Pipeline>>,
    /// The public half of the key that signs the audit ledger's checkpoints: a task's
    /// trail checks the latest checkpoint's signature with it (unchecked without it).
    pub audit_key: Option<workstream_store::audit::VerifyingKey>,
}

/// Database connections a serving process keeps for its HTTP requests (job slots add
/// theirs, `workstream_engine::worker::connections_for`).
pub const HTTP_CONNECTIONS: u32 = 16;

impl AppState {
    /// State over `pool` with `config`, verifying tokens with `verifier`.
    pub fn new(pool: PgPool, config: config::ApiConfig, verifier: auth::Verifier) -> AppState {
        AppState {
            pool,
            config: Arc::new(config),
            verifier: Arc::new(verifier),
            pipeline: None,
            audit_key: None,
        }
    }

    /// The same state, taking packets through `pipeline`.
    pub fn with_pipeline(
        mut self,
        pipeline: Arc<workstream_engine::pipeline::Pipeline>,
    ) -> AppState {
        self.pipeline = Some(pipeline);
        self
    }

    /// The same state, checking audit checkpoints against `key`.
    pub fn with_audit_key(mut self, key: workstream_store::audit::VerifyingKey) -> AppState {
        self.audit_key = Some(key);
        self
    }
}

/// Every route of `/api/v1`, with the operations they serve (the OpenAPI document is
/// made from these).
pub fn api_routes() -> openapi::ApiRoutes {
    health::routes()
        .merge(actors::routes())
        .merge(grants::routes())
        .merge(projects::routes())
        .merge(guides::routes())
        .merge(previews::routes())
        .merge(contribution::routes())
        .merge(tasks::routes())
        .merge(packets::routes())
        .merge(submissions::routes())
        .merge(reviews::routes())
        .merge(calibration::routes())
        .merge(compensation::routes())
        .merge(reputation::routes())
        .merge(lessons::routes())
        .merge(sprints::routes())
        .merge(audit_trail::routes())
        .merge(project_audit::routes())
        .merge(checker_registry::routes())
        .merge(assignments::routes())
        .merge(openapi::routes())
}

/// Builds the API application: every route, with the correlation-id layer around them,
/// without the per-request telemetry layer (the outermost layer of whatever serves it,
/// [`router`] or the web UI's).
pub fn app(state: AppState) -> Router {
    telemetry::recorder();
    let (api, operations) = api_routes().into_parts();
    let docs = Arc::new(openapi::ApiDocs::new(&operations));
    let api = api
        .layer(axum::Extension(docs))
        .layer(axum::middleware::from_fn(text_gate::gate))
        .route_layer(axum::middleware::from_fn(telemetry::name_route));
    Router::new()
        .route("/health", get(health::liveness))
        .route("/metrics", get(telemetry::metrics))
        .route_layer(axum::middleware::from_fn(telemetry::name_route))
        .nest("/api/v1", api)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn(correlation::correlate))
        .with_state(state)
}

/// The API alone, ready to serve: [`app`] with the per-request telemetry layer.
pub fn router(state: AppState) -> Router {
    app(state).layer(axum::middleware::from_fn(telemetry::observe))
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
