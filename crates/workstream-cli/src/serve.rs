//! Serving HTTP until Ctrl-C or SIGTERM, then shutting down in order.
//!
//! With job slots (`--workers N`), the same process also works jobs: a worker over the
//! same pool starts before HTTP, stops claiming on the same signal, and is drained
//! before the pool closes.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use workstream_api::config::{ApiConfig, Environment};
use workstream_api::{AppState, router};
use workstream_engine::pipeline::Pipeline;

use crate::database::Database;

/// Serves the API on `bind`, with an in-process job worker of `workers` slots when
/// `workers > 0`; on a shutdown signal, stops accepting and claiming, lets requests and
/// jobs in flight finish, closes the pool, and only then stops an embedded cluster.
pub async fn serve(
    database: Database,
    pipeline: Arc<Pipeline>,
    bind: SocketAddr,
    default_environment: Environment,
    workers: usize,
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
    let app = router(
        AppState::new(database.pool.clone(), config, verifier).with_pipeline(pipeline.clone()),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    let signal = tokio::spawn({
        let stop = stop.clone();
        let shutdown = shutdown_signal();
        async move {
            shutdown.await;
            let _ = stop.send(true);
        }
    });
    let worker = if workers > 0 {
        let worker = crate::worker::build(
            database.pool.clone(),
            pipeline,
            workers,
            crate::worker::DEFAULT_LEASE,
            crate::worker::default_worker_id(),
        )?;
        tracing::info!(slots = workers, "working jobs in process");
        Some(tokio::spawn(worker.run(stopping(stopped.clone()))))
    } else {
        None
    };
    let served = workstream_api::serve(listener, app, stopping(stopped))
        .await
        .context("serving HTTP");
    // Whether HTTP ended on the signal or on an error, the worker stops claiming now.
    let _ = stop.send(true);
    signal.abort();
    tracing::info!("shutting down");
    if let Some(worker) = worker {
        worker.await.context("the in-process job worker")?;
    }
    served?;
    database.close().await
}

/// Resolves once `stopped` turns true (or its sender is gone).
async fn stopping(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stopped| *stopped).await;
}

/// Resolves on Ctrl-C or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first polled,
/// so a signal that arrives once a process has announced it is running (the startup
/// line of `workstream worker`) is never met by the default action, which would end the
/// process without draining. Call it inside the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        let received = |stream: Option<tokio::signal::unix::Signal>| async move {
            match stream {
                Some(mut stream) => {
                    stream.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = received(interrupt) => {},
            () = received(terminate) => {},
        }
    }
}
