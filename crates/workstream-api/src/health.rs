//! Health probes.
//!
//! `/health` answers as long as the process serves HTTP (a liveness probe: restarting
//! the process would not fix a database outage). `/api/v1/health` also asks the
//! database, and answers 503 when it does not respond within two seconds (a readiness
//! probe).

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::openapi::{ApiRoutes, Doc};

/// The API's health route (the process-level `/health` is mounted beside the API).
pub fn routes() -> ApiRoutes {
    ApiRoutes::new("Health").get(
        "/health",
        api_health,
        Doc::new("Readiness: the process serves and the database answers within two seconds")
            .ok("`{status: \"ok\", database: {status: \"up\", latency_ms}}`")
            .also(StatusCode::SERVICE_UNAVAILABLE, "the database did not answer in time: `{status: \"unavailable\", database: {status: \"down\"}}` (a probe's answer, not an error envelope)"),
    )
}

/// `GET /health`: the process is up.
pub async fn liveness() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /api/v1/health`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Readiness {
    /// `ok`, or `unavailable` (with 503) when the database did not answer in time.
    status: &'static str,
    /// The database's answer to `SELECT 1`.
    database: DatabaseHealth,
}

/// How the database answered the probe.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DatabaseHealth {
    /// `up` or `down`.
    status: &'static str,
    /// How long the probe took, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
}

/// `GET /api/v1/health`: the process is up and the database answers.
pub async fn api_health(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let started = Instant::now();
    let probe = workstream_store::ping(&state.pool);
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => (
            StatusCode::OK,
            Json(Readiness {
                status: "ok",
                database: DatabaseHealth {
                    status: "up",
                    latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
                },
            }),
        ),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database health probe failed");
            down()
        }
        Err(_) => {
            tracing::warn!("database health probe timed out");
            down()
        }
    }
}

fn down() -> (StatusCode, Json<Readiness>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Readiness {
            status: "unavailable",
            database: DatabaseHealth {
                status: "down",
                latency_ms: None,
            },
        }),
    )
}
