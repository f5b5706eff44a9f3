//! Serving HTTP until Ctrl-C or SIGTERM, then shutting down in order.

use std::net::SocketAddr;

use anyhow::Context;
use workstream_api::config::{ApiConfig, Environment};
use workstream_api::{AppState, router};

use crate::database::Database;

/// Serves the API on `bind`; on a shutdown signal, stops accepting, lets requests in
/// flight finish, closes the pool, and only then stops an embedded cluster.
pub async fn serve(
    database: Database,
    bind: SocketAddr,
    default_environment: Environment,
) -> anyhow::Result<()> {
    let config = ApiConfig::from_env(default_environment)?;
    let verifier = workstream_api::auth::Verifier::from_env(config.environment)?;
    crate::checker::register_builtins(&database.pool).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, database = %database.description, "serving");
    println!(
        "Workstream is serving on http://{address} (database: {})",
        database.description
    );
    let app = router(AppState::new(database.pool.clone(), config, verifier));
    workstream_api::serve(listener, app, shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("shutting down");
    database.close().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
