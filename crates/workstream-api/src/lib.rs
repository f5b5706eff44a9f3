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
//! * [`health`]: `/health` (the process is up) and `/api/v1/health` (and the database
//!   answers).
#![deny(missing_docs)]

pub mod correlation;
pub mod error;
pub mod health;

pub use axum::Router;
use axum::routing::get;
use sqlx::PgPool;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database every record lives in.
    pub pool: PgPool,
}

/// Builds the application: every route, with the correlation-id layer around them.
pub fn router(state: AppState) -> Router {
    let api = Router::new().route("/health", get(health::api_health));
    Router::new()
        .route("/health", get(health::liveness))
        .nest("/api/v1", api)
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(correlation::correlate))
        .with_state(state)
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
