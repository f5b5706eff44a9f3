//! Durable jobs: Workstream's queue and worker (`workstream_store::jobs`,
//! `workstream_engine::worker`) against graphile-worker, both running no-op jobs on
//! databases of the same cluster with the same concurrency and pool size.
//!
//! * Throughput: `jobs` jobs are enqueued first, then the worker starts; the figure is
//!   jobs started per second between the first and the last start, taken in the
//!   handler. A Workstream no-op still commits its completion in its own transaction
//!   (the handler contract); graphile-worker's completes after the task returns, so the
//!   comparison leans its way.
//! * Latency: with the worker idle and listening, jobs are enqueued one per
//!   transaction at a fixed rate; each payload carries its enqueue time and the handler
//!   takes the difference when it starts (both processes read the same realtime clock).
//!
//! Every job of every run must have run exactly once and left its queue finished;
//! anything else aborts the benchmark.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Notify;
use workstream_engine::worker::{BoxFuture, HandlerError, JobHandler, Worker, WorkerConfig};
use workstream_store::jobs::{self, ClaimedJob, NewJob};

use crate::Scale;
use crate::cluster::BenchCluster;
use crate::report::{Against, Better, Figure, Report, percentile, sorted};
use crate::tools;

/// Jobs run at once by either worker.
const CONCURRENCY: usize = 8;
const KIND: &str = "bench.noop";

/// The current time in microseconds since the epoch (what both sides stamp with).
fn now_us() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
        * 1e6
}

/// What one run of either worker observed: per job, its start and its
/// enqueue-to-start latency (microseconds).
#[derive(Debug, Default)]
struct Observed {
    starts_us: Vec<f64>,
    latencies_us: Vec<f64>,
}

impl Observed {
    /// Jobs started per second between the first and the last start.
    fn throughput(&self) -> f64 {
        let s = sorted(self.starts_us.clone());
        let span = (s[s.len() - 1] - s[0]) / 1e6;
        (s.len() - 1) as f64 / span
    }

    fn latency_ms(&self, p: f64) -> f64 {
        percentile(&sorted(self.latencies_us.clone()), p) / 1000.0
    }
}

pub async fn run(cluster: &BenchCluster, scale: Scale, report: &mut Report) -> anyhow::Result<()> {
    let drain_jobs = scale.pick(20_000, 2_000);
    let live_jobs = scale.pick(1_000, 200);
    let rate = scale.pick(100.0, 100.0);
    println!(
        "== durable jobs: {drain_jobs} queued no-op jobs, then {live_jobs} at {rate}/s; \
         Workstream and graphile-worker, concurrency {CONCURRENCY}"
    );

    let ours_url = cluster.create_database("bench_jobs_workstream").await?;
    let pool = workstream_store::connect(&ours_url, CONCURRENCY as u32 + 2).await?;
    workstream_store::migrate(&pool).await?;
    let ours_drain = ours(&pool, drain_jobs, None).await?;
    let ours_live = ours(&pool, live_jobs, Some(rate)).await?;
    pool.close().await;

    let graphile_dir = tools::graphile()?;
    let peer_url = cluster.create_database("bench_jobs_graphile").await?;
    let peer_pool = workstream_store::connect(&peer_url, 2).await?;
    node(&graphile_dir, &peer_url, &["migrate"]).await?;
    let peer_drain = graphile(&graphile_dir, &peer_url, &peer_pool, drain_jobs, None).await?;
    let peer_live = graphile(&graphile_dir, &peer_url, &peer_pool, live_jobs, Some(rate)).await?;
    peer_pool.close().await;

    let version = graphile_version(&graphile_dir);
    let area = "Durable jobs";
    report.figure(Figure {
        area,
        measure: format!("throughput, {drain_jobs} queued no-op jobs, concurrency {CONCURRENCY}"),
        ours: ours_drain.throughput(),
        unit: "jobs/s",
        reference: format!("graphile-worker {version}, same cluster"),
        reference_value: peer_drain.throughput(),
        better: Better::Higher,
        against: Against::Peer,
    });
    for p in [50.0, 99.0] {
        report.figure(Figure {
            area,
            measure: format!("enqueue-to-start p{p}, {live_jobs} jobs at {rate}/s"),
            ours: ours_live.latency_ms(p),
            unit: "ms",
            reference: format!("graphile-worker {version}, same cluster"),
            reference_value: peer_live.latency_ms(p),
            better: Better::Lower,
            against: Against::Peer,
        });
    }
    report.raw(
        "jobs",
        json!({
            "concurrency": CONCURRENCY,
            "drain_jobs": drain_jobs,
            "live_jobs": live_jobs,
            "live_rate_per_second": rate,
            "workstream": { "throughput": ours_drain.throughput(),
                            "latency_ms": { "p50": ours_live.latency_ms(50.0), "p99": ours_live.latency_ms(99.0) } },
            "graphile_worker": { "version": version, "throughput": peer_drain.throughput(),
                                 "latency_ms": { "p50": peer_live.latency_ms(50.0), "p99": peer_live.latency_ms(99.0) } },
        }),
    );
    Ok(())
}

/// The no-op handler: stamps its start, completes the job in its own transaction.
struct Noop {
    observed: Mutex<Observed>,
    expected: usize,
    all_started: Notify,
}

impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let start = now_us();
            let enqueued = job.payload["t"].as_f64().unwrap_or(start);
            {
                let mut observed = self.observed.lock().expect("not poisoned");
                observed.starts_us.push(start);
                observed.latencies_us.push(start - enqueued);
                if observed.starts_us.len() == self.expected {
                    self.all_started.notify_one();
                }
            }
            let mut tx = pool.begin().await.map_err(HandlerError::retryable)?;
            jobs::complete(&mut tx, job).await?;
            tx.commit().await.map_err(HandlerError::retryable)?;
            Ok(())
        })
    }
}

/// One Workstream run: `count` jobs queued first (`rate` None) or enqueued at `rate`
/// per second to an idle, listening worker.
async fn ours(pool: &PgPool, count: usize, rate: Option<f64>) -> anyhow::Result<Observed> {
    sqlx::query("DELETE FROM jobs").execute(pool).await?;
    let noop = Arc::new(Noop {
        observed: Mutex::new(Observed::default()),
        expected: count,
        all_started: Notify::new(),
    });
    if rate.is_none() {
        let mut tx = pool.begin().await?;
        for _ in 0..count {
            jobs::enqueue(&mut tx, NewJob::new(KIND, json!({ "t": now_us() }))).await?;
        }
        tx.commit().await?;
    }
    let worker = Worker::new(
        pool.clone(),
        WorkerConfig {
            concurrency: CONCURRENCY,
            // graphile-worker's default poll; both are woken by NOTIFY.
            poll_interval: Duration::from_secs(2),
            ..WorkerConfig::new("bench-worker")
        },
        [noop.clone() as Arc<dyn JobHandler>],
    )?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    if let Some(rate) = rate {
        // Let the worker reach its LISTEN before the first job.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut conn = pool.acquire().await?;
        let mut ticks = pacer(rate);
        for _ in 0..count {
            ticks.tick().await;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            jobs::enqueue(&mut tx, NewJob::new(KIND, json!({ "t": now_us() }))).await?;
            tx.commit().await?;
        }
    }
    tokio::time::timeout(Duration::from_secs(600), noop.all_started.notified())
        .await
        .context("the Workstream worker did not start every job within 10 minutes")?;
    // Every job must finish: poll until the last completions commit.
    let mut unfinished = i64::MAX;
    for _ in 0..500 {
        unfinished = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state <> 'completed'")
            .fetch_one(pool)
            .await?;
        if unfinished == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ensure!(
        unfinished == 0,
        "{unfinished} Workstream jobs did not complete"
    );
    let _ = stop.send(());
    running.await?;
    let completed: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE attempt = 1")
        .fetch_one(pool)
        .await?;
    ensure!(
        completed == count as i64,
        "{completed} of {count} jobs completed on their first attempt"
    );
    let observed = std::mem::take(&mut *noop.observed.lock().expect("not poisoned"));
    ensure!(observed.starts_us.len() == count, "a job ran twice");
    Ok(observed)
}

/// One graphile-worker run, the same shape as [`ours`].
async fn graphile(
    dir: &std::path::Path,
    url: &str,
    pool: &PgPool,
    count: usize,
    rate: Option<f64>,
) -> anyhow::Result<Observed> {
    let add = "SELECT graphile_worker.add_job('noop', json_build_object('t', $1::float8))";
    if rate.is_none() {
        let mut tx = pool.begin().await?;
        for _ in 0..count {
            sqlx::query(add).bind(now_us()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("worker.mjs"))
        .args([url, "work", &count.to_string(), &CONCURRENCY.to_string()])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting node")?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let first = lines.next_line().await?.unwrap_or_default();
    ensure!(
        first == "ready",
        "graphile-worker printed {first:?} instead of ready"
    );
    if let Some(rate) = rate {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut conn = pool.acquire().await?;
        let mut ticks = pacer(rate);
        for _ in 0..count {
            ticks.tick().await;
            sqlx::query(add).bind(now_us()).execute(&mut *conn).await?;
        }
    }
    let result = tokio::time::timeout(Duration::from_secs(600), lines.next_line())
        .await
        .context("graphile-worker did not finish within 10 minutes")??
        .unwrap_or_default();
    let status = child.wait().await?;
    ensure!(status.success(), "graphile-worker exited with {status}");
    let value: Value = serde_json::from_str(&result).context("graphile-worker's result line")?;
    let floats = |key: &str| -> Vec<f64> {
        value[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let observed = Observed {
        starts_us: floats("starts_us"),
        latencies_us: floats("latencies_us"),
    };
    ensure!(
        observed.starts_us.len() == count,
        "graphile-worker ran {} of {count} jobs",
        observed.starts_us.len()
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM graphile_worker.jobs")
        .fetch_one(pool)
        .await?;
    ensure!(
        left == 0,
        "{left} graphile-worker jobs are left in its queue"
    );
    Ok(observed)
}

/// Ticks every `1/rate` seconds on a fixed schedule: a slow enqueue does not push the
/// later ones back.
fn pacer(rate: f64) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    ticks
}

/// `node worker.mjs <url> <args>`, which must succeed.
async fn node(dir: &std::path::Path, url: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = tokio::process::Command::new("node")
        .arg(dir.join("worker.mjs"))
        .arg(url)
        .args(args)
        .current_dir(dir)
        .status()
        .await
        .context("running node")?;
    if !status.success() {
        bail!("node worker.mjs {args:?} failed: {status}");
    }
    Ok(())
}

fn graphile_version(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("node_modules/graphile-worker/package.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}
