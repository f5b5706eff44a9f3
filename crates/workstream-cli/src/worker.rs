//! Working jobs: `workstream worker`, and the in-process worker of `serve` and `up`.
//!
//! Both run the same `workstream_engine::worker::Worker` over the handlers of
//! `workstream_engine::registry::handlers()`, so a job kind added there is worked by every
//! process that works jobs. Any number of them can share one database (architecture
//! docs/rules.md, docs/lifecycle.md): claims never overlap, and a process killed mid-job loses nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use workstream_engine::pipeline::Pipeline;
use workstream_engine::worker::{Worker, WorkerConfig};

use crate::database::Database;

pub use workstream_engine::worker::{connections_for, default_concurrency};

/// [`default_concurrency`] as `workstream worker --concurrency` takes it.
pub fn default_slots() -> u16 {
    u16::try_from(default_concurrency()).unwrap_or(u16::MAX)
}

/// The default worker id: `hostname:pid`, which names the process in `jobs.locked_by`.
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}

/// The lease of the in-process worker of `serve` and `up`, and the default of
/// `workstream worker --lease-seconds`.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// The longest an idle worker sleeps without looking for work (the engine's default).
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The configuration of a worker with `slots` concurrent jobs and a `lease`: heartbeats
/// every third of the lease, and a poll interval of at most the lease. The default lease
/// gives exactly the engine's defaults (a 60 s lease, a 20 s heartbeat, a 5 s poll).
pub fn config(worker_id: String, slots: usize, lease: Duration) -> WorkerConfig {
    WorkerConfig {
        concurrency: slots,
        lease,
        heartbeat: lease / 3,
        poll_interval: MAX_POLL_INTERVAL.min(lease),
        ..WorkerConfig::new(worker_id)
    }
}

/// A worker over `pool` with `slots` concurrent jobs and a `lease`, built from the
/// engine's handlers.
pub fn build(
    pool: PgPool,
    pipeline: Arc<Pipeline>,
    slots: usize,
    lease: Duration,
    worker_id: String,
) -> anyhow::Result<Worker> {
    Worker::new(
        pool,
        config(worker_id, slots, lease),
        workstream_engine::registry::handlers(pipeline),
    )
    .context("building the job worker")
}

/// `workstream worker`: works jobs until Ctrl-C or SIGTERM, lets the jobs under way
/// finish (within the worker's grace period), then closes the database. A job claimed
/// by this process stays with it for `lease` past its last heartbeat if it dies.
pub async fn run(
    database: Database,
    pipeline: Arc<Pipeline>,
    audit_key: workstream_store::audit::SigningKey,
    slots: usize,
    lease: Duration,
    worker_id: String,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::spawn(workstream_engine::pipeline::keep_warm(
        pipeline.clone(),
        database.pool.clone(),
    ));
    crate::pipeline::spawn_sealer(&database.pool, &pipeline.objects, audit_key);
    // The metrics address lives as long as the process: the worker's shutdown ends it
    // with everything else.
    let (_metrics_stop, metrics_stopped) = tokio::sync::watch::channel(false);
    crate::listen::spawn_metrics(&database.pool, metrics_stopped).await?;
    let worker = build(
        database.pool.clone(),
        pipeline,
        slots,
        lease,
        worker_id.clone(),
    )?;
    tracing::info!(
        worker = %worker_id,
        slots,
        lease_seconds = lease.as_secs(),
        database = %database.description,
        "working jobs"
    );
    println!(
        "Workstream worker {worker_id} is working jobs with {slots} slot(s) and a {} s lease (database: {})",
        lease.as_secs(),
        database.description
    );
    worker.run(shutdown).await;
    database.close().await
}
