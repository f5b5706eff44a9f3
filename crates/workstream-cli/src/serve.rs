//! Serving HTTP until Ctrl-C or SIGTERM, then shutting down in order.
//!
//! With job slots (`--workers N`), the same process also works jobs: a worker over the
//! same pool starts before HTTP, stops claiming on the same signal, and is drained
//! before the pool closes.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use workstream_api::AppState;
use workstream_api::auth::Verifier;
use workstream_api::config::{ApiConfig, Environment};
use workstream_engine::pipeline::Pipeline;
use workstream_ui::router;

use crate::database::Database;
use crate::listen::{spawn_metrics, stopping};

/// How the server verifies tokens and what it prints once it serves.
pub struct ServeOptions {
    /// The API configuration (environment, secrets, limits).
    pub config: ApiConfig,
    /// The token verifier.
    pub verifier: Verifier,
    /// Job slots worked in process (0: none).
    pub workers: usize,
    /// The key this process seals the audit ledger with.
    pub audit_key: workstream_store::audit::SigningKey,
}

/// A server running in this process: its address and how to stop it.
pub struct Running {
    /// Where it serves.
    pub address: SocketAddr,
    /// What database it serves.
    pub description: String,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Asks the server to stop (as a shutdown signal would).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until the server has stopped and the database is closed.
    pub async fn finished(self) -> anyhow::Result<()> {
        self.task.await.context("the server task")?
    }
}

/// Serves the API on `bind`, with an in-process job worker of `workers` slots when
/// `workers > 0`; on a shutdown signal, stops accepting and claiming, lets requests and
/// jobs in flight finish, closes the pool, and only then stops an embedded cluster.
/// `notes` are printed after the line announcing the address.
pub async fn serve(
    database: Database,
    pipeline: Arc<Pipeline>,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
    notes: Vec<String>,
) -> anyhow::Result<()> {
    let running = start(database, pipeline, listener, options).await?;
    // A closed stdout (a supervisor or test that read the address line and went away)
    // must not stop the server, so write errors are ignored here.
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "Workstream is serving on http://{} (database: {})",
        running.address, running.description
    );
    for note in notes {
        let _ = writeln!(stdout, "{note}");
    }
    let _ = stdout.flush();
    let signal = shutdown_signal();
    let stop = running.stop.clone();
    let watcher = tokio::spawn(async move {
        signal.await;
        let _ = stop.send(true);
    });
    let finished = running.finished().await;
    watcher.abort();
    finished
}

/// Starts serving on `listener` (see [`serve`]).
pub async fn start(
    database: Database,
    pipeline: Arc<Pipeline>,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
) -> anyhow::Result<Running> {
    let ServeOptions {
        config,
        verifier,
        workers,
        audit_key,
    } = options;
    crate::checker::register_builtins(&database.pool, pipeline.checkers.sandbox()).await?;
    tokio::spawn(workstream_engine::pipeline::keep_warm(
        pipeline.clone(),
        database.pool.clone(),
    ));
    let address = listener.local_addr()?;
    tracing::info!(%address, database = %database.description, "serving");
    let description = database.description.clone();
    crate::pipeline::spawn_sealer(&database.pool, &pipeline.objects, audit_key.clone());
    let app = router(
        AppState::new(database.pool.clone(), config, verifier)
            .with_pipeline(pipeline.clone())
            .with_audit_key(audit_key.public()),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop = Arc::new(stop);
    spawn_metrics(&database.pool, stopped.clone()).await?;
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
    let task = tokio::spawn({
        let stop = stop.clone();
        async move {
            let served = workstream_api::serve(listener, app, stopping(stopped))
                .await
                .context("serving HTTP");
            // Whether HTTP ended on the signal or on an error, the worker stops claiming now.
            let _ = stop.send(true);
            tracing::info!("shutting down");
            if let Some(worker) = worker {
                worker.await.context("the in-process job worker")?;
            }
            served?;
            database.close().await
        }
    });
    Ok(Running {
        address,
        description,
        stop,
        task,
    })
}

/// The configuration and verifier `up`/`serve` run with. In `local`, with neither
/// `WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET` nor a JWKS configured, tokens are verified
/// with the data directory's secret file, created now if needed (see [`crate::local`]).
pub fn auth_for(
    default_environment: Environment,
    data_dir: &std::path::Path,
) -> anyhow::Result<(ApiConfig, Verifier, Option<crate::local::LocalSecret>)> {
    let config = ApiConfig::from_env(default_environment)?;
    let unconfigured = std::env::var_os(crate::local::SECRET_VARIABLE).is_none()
        && std::env::var_os("WORKSTREAM_TOKEN_JWKS_URL").is_none();
    if config.environment == Environment::Local && unconfigured {
        let secret = crate::local::ensure_secret(data_dir)?;
        let verifier = Verifier::local_hmac(
            config.environment,
            secret.secret.as_bytes(),
            &crate::local::issuer(),
            &crate::local::audience(),
        )?;
        return Ok((config, verifier, Some(secret)));
    }
    let verifier = Verifier::from_env(config.environment)?;
    let local = if config.environment == Environment::Local {
        crate::local::read_secret(data_dir)?
            .filter(|s| s.source == crate::local::SecretSource::Environment)
    } else {
        None
    };
    Ok((config, verifier, local))
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
