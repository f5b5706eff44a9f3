//! The job worker in process against a real PostgreSQL: every job completed exactly
//! once across workers, retries recorded, panics contained, shutdown graceful.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;
use workstream_domain::machines::job::JobState;
use workstream_engine::worker::{
    BoxFuture, HandlerError, JobHandler, Typed, Work, Worker, WorkerConfig,
};
use workstream_store::jobs::{self, Backoff, ClaimedJob, JobArgs, NewJob};
use workstream_store::testing::TestDatabase;

/// Completes the job and records one result row for it, in one transaction.
struct Record;

/// Fails its first two attempts, then does what [`Record`] does.
struct Flaky;

/// Panics on its first attempt, then does what [`Record`] does.
struct PanicsOnce;

/// Sleeps a little before doing what [`Record`] does: a job under way at shutdown.
struct Slow;

/// Returns success without completing its job: the bug the worker must not hide.
struct Forgets;

/// The arguments of a typed job: which attempt to record it as.
#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    attempt: i32,
}

impl JobArgs for Stamp {
    const KIND: &'static str = "test.stamp";
}

/// A typed handler: records the attempt its arguments name.
struct Stamps;

impl Work for Stamps {
    type Args = Stamp;

    fn work<'a>(
        &'a self,
        args: Stamp,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mut tx = pool.begin().await?;
            jobs::complete(&mut tx, job).await?;
            sqlx::query("INSERT INTO results (job_id, attempt) VALUES ($1, $2)")
                .bind(job.id)
                .bind(args.attempt)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

/// The arguments of a live job that counts how many of its kind run at once.
#[derive(Debug, Serialize, Deserialize)]
struct Errand {
    n: usize,
}

impl JobArgs for Errand {
    const KIND: &'static str = "test.errand";
}

/// The arguments of a background job that counts how many of its kind run at once.
#[derive(Debug, Serialize, Deserialize)]
struct Sweep {
    n: usize,
}

impl JobArgs for Sweep {
    const KIND: &'static str = "test.sweep";
    const BACKGROUND: bool = true;
}

/// How many handlers of one kind run at once, and the most there ever were.
#[derive(Default)]
struct Gauge {
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

/// Runs [`Errand`] or [`Sweep`] jobs: a short wait, measured by its gauge, then what
/// [`Record`] does.
struct Counted<A> {
    gauge: Arc<Gauge>,
    kind: std::marker::PhantomData<fn() -> A>,
}

impl<A: JobArgs> Work for Counted<A> {
    type Args = A;

    fn work<'a>(
        &'a self,
        _args: A,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        use std::sync::atomic::Ordering::SeqCst;
        Box::pin(async move {
            let now = self.gauge.now.fetch_add(1, SeqCst) + 1;
            self.gauge.most.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(40)).await;
            self.gauge.now.fetch_sub(1, SeqCst);
            record_result(job, pool).await
        })
    }
}

async fn record_result(job: &ClaimedJob, pool: &PgPool) -> Result<(), HandlerError> {
    let mut tx = pool.begin().await?;
    // First: it locks the job, and refuses if another worker holds it now.
    jobs::complete(&mut tx, job).await?;
    sqlx::query("INSERT INTO results (job_id, attempt) VALUES ($1, $2)")
        .bind(job.id)
        .bind(job.attempt)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

impl JobHandler for Record {
    fn kind(&self) -> &'static str {
        "test.record"
    }

    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(record_result(job, pool))
    }
}

impl JobHandler for Flaky {
    fn kind(&self) -> &'static str {
        "test.flaky"
    }

    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            if job.attempt <= 2 {
                return Err(HandlerError::retryable(format!(
                    "attempt {} fails",
                    job.attempt
                )));
            }
            record_result(job, pool).await
        })
    }
}

impl JobHandler for PanicsOnce {
    fn kind(&self) -> &'static str {
        "test.panics"
    }

    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            assert!(job.attempt > 1, "first attempts always panic");
            record_result(job, pool).await
        })
    }
}

impl JobHandler for Slow {
    fn kind(&self) -> &'static str {
        "test.slow"
    }

    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            record_result(job, pool).await
        })
    }
}

impl JobHandler for Forgets {
    fn kind(&self) -> &'static str {
        "test.forgets"
    }

    fn run<'a>(
        &'a self,
        _job: &'a ClaimedJob,
        _pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async { Ok(()) })
    }
}

fn handlers() -> Vec<Arc<dyn JobHandler>> {
    vec![
        Arc::new(Record),
        Arc::new(Flaky),
        Arc::new(PanicsOnce),
        Arc::new(Slow),
        Arc::new(Forgets),
        Arc::new(Typed(Stamps)),
    ]
}

fn config(worker_id: &str, concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        concurrency,
        // Retries come back within the test.
        backoff: Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            jitter: 0.1,
        },
        poll_interval: Duration::from_millis(500),
        ..WorkerConfig::new(worker_id)
    }
}

/// A running worker and the way to stop it.
struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

fn start(pool: &PgPool, config: WorkerConfig) -> Running {
    let worker = Worker::new(pool.clone(), config, handlers()).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("the worker stops")
            .unwrap();
    }
}

async fn setup() -> (TestDatabase, PgPool) {
    let db = TestDatabase::create().await.unwrap();
    // Room for two workers' slots, listeners and heartbeats at once.
    let pool = workstream_store::connect(db.url(), 24).await.unwrap();
    sqlx::query("CREATE TABLE results (job_id uuid NOT NULL, attempt integer NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    (db, pool)
}

async fn enqueue(pool: &PgPool, kind: &str, count: usize) -> Vec<Uuid> {
    let mut tx = pool.begin().await.unwrap();
    let mut ids = Vec::new();
    for n in 0..count {
        ids.push(
            jobs::enqueue(&mut tx, NewJob::new(kind, json!({ "n": n })))
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    ids
}

/// Waits (generously) until every job in `ids` is finished.
async fn finished(pool: &PgPool, ids: &[Uuid]) {
    let all_done = async {
        loop {
            let open: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE id = ANY($1) AND finished_at IS NULL",
            )
            .bind(ids)
            .fetch_one(pool)
            .await
            .unwrap();
            if open == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all_done)
        .await
        .expect("the jobs finish");
}

async fn results_per_job(pool: &PgPool, ids: &[Uuid]) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM results r WHERE r.job_id = j.id)
         FROM unnest($1::uuid[]) AS j(id)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn two_workers_complete_every_job_exactly_once() {
    let (_db, pool) = setup().await;
    // One worker is running before the jobs exist (woken by NOTIFY), one starts after.
    let first = start(&pool, config("first", 4));
    let ids = enqueue(&pool, "test.record", 100).await;
    let second = start(&pool, config("second", 3));
    finished(&pool, &ids).await;
    first.stop().await;
    second.stop().await;

    assert!(results_per_job(&pool, &ids).await.iter().all(|&n| n == 1));
    let completed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE state = 'completed' AND attempt = 1 AND errors = '[]'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(completed, 100);
}

#[tokio::test]
async fn a_job_that_fails_twice_then_succeeds_is_completed_with_its_errors() {
    let (_db, pool) = setup().await;
    let worker = start(&pool, config("w", 2));
    let ids = enqueue(&pool, "test.flaky", 3).await;
    finished(&pool, &ids).await;
    worker.stop().await;

    for id in &ids {
        let job = jobs::get(&pool, *id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Completed);
        assert_eq!(job.attempt, 3);
        let errors = job.errors.as_array().unwrap();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0]["error"], "attempt 1 fails");
        assert_eq!(errors[1]["error"], "attempt 2 fails");
    }
    assert_eq!(results_per_job(&pool, &ids).await, [1, 1, 1]);
}

#[tokio::test]
async fn a_panicking_handler_is_retried_and_the_worker_keeps_serving() {
    let (_db, pool) = setup().await;
    // One slot: the panic must not take it away.
    let worker = start(&pool, config("w", 1));
    let panicky = enqueue(&pool, "test.panics", 2).await;
    finished(&pool, &panicky).await;
    let later = enqueue(&pool, "test.record", 5).await;
    finished(&pool, &later).await;
    worker.stop().await;

    for id in &panicky {
        let job = jobs::get(&pool, *id).await.unwrap().unwrap();
        assert_eq!((job.state, job.attempt), (JobState::Completed, 2));
        let error = job.errors[0]["error"].as_str().unwrap();
        assert!(error.starts_with("the handler panicked: "), "{error}");
        assert!(error.contains("first attempts always panic"), "{error}");
    }
    assert_eq!(results_per_job(&pool, &later).await, [1; 5]);
}

#[tokio::test]
async fn success_without_completing_fails_the_attempt_and_dead_letters_the_job() {
    let (_db, pool) = setup().await;
    let worker = start(&pool, config("w", 2));
    let mut tx = pool.begin().await.unwrap();
    let id = jobs::enqueue(
        &mut tx,
        NewJob {
            max_attempts: Some(2),
            ..NewJob::new("test.forgets", json!({}))
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    finished(&pool, &[id]).await;
    worker.stop().await;

    let job = jobs::get(&pool, id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Discarded, 2));
    let errors = job.errors.as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    for error in errors {
        assert_eq!(
            error["error"],
            "the handler returned success without completing the job"
        );
    }
}

#[tokio::test]
async fn shutdown_lets_running_jobs_finish_and_claims_nothing_new() {
    let (_db, pool) = setup().await;
    let worker = start(&pool, config("w", 1));
    let ids = enqueue(&pool, "test.slow", 1).await;
    // Wait until the job is under way, then stop the worker.
    tokio::time::timeout(Duration::from_secs(60), async {
        while jobs::get(&pool, ids[0]).await.unwrap().unwrap().state != JobState::Running {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the job starts");
    worker.stop().await;
    let job = jobs::get(&pool, ids[0]).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Completed, "the running job finished");

    let left = enqueue(&pool, "test.record", 1).await;
    let job = jobs::get(&pool, left[0]).await.unwrap().unwrap();
    assert_eq!(
        job.state,
        JobState::Available,
        "nothing claims after shutdown"
    );
}

#[tokio::test]
async fn a_worker_refuses_duplicate_kinds_and_impossible_settings() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_lazy("postgres://localhost/unused")
        .unwrap();
    let twice: Vec<Arc<dyn JobHandler>> = vec![Arc::new(Record), Arc::new(Record)];
    assert!(Worker::new(pool.clone(), WorkerConfig::new("w"), twice).is_err());
    let zero = WorkerConfig {
        concurrency: 0,
        ..WorkerConfig::new("w")
    };
    assert!(Worker::new(pool.clone(), zero, handlers()).is_err());
    let no_lane = WorkerConfig {
        background_slots: 0,
        ..WorkerConfig::new("w")
    };
    assert!(Worker::new(pool.clone(), no_lane, handlers()).is_err());
    let worker = Worker::new(pool, WorkerConfig::new("w"), handlers()).unwrap();
    assert_eq!(
        worker.kinds(),
        [
            "test.flaky",
            "test.forgets",
            "test.panics",
            "test.record",
            "test.slow",
            "test.stamp"
        ]
    );
}

#[tokio::test]
async fn prefetched_claims_run_in_turn_and_a_stopping_worker_gives_back_the_rest() {
    let (_db, pool) = setup().await;
    // One slot and three prefetched claims: of five slow jobs, four are claimed at once.
    let ids = enqueue(&pool, "test.slow", 5).await;
    let worker = start(
        &pool,
        WorkerConfig {
            prefetch: 3,
            ..config("w", 1)
        },
    );
    let states = |pool: PgPool, ids: Vec<Uuid>| async move {
        let mut states = Vec::new();
        for id in ids {
            states.push(jobs::get(&pool, id).await.unwrap().unwrap().state);
        }
        states
    };
    tokio::time::timeout(Duration::from_secs(60), async {
        while states(pool.clone(), ids.clone()).await
            != [
                JobState::Running,
                JobState::Running,
                JobState::Running,
                JobState::Running,
                JobState::Available,
            ]
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("one job runs and two more are claimed for the slot");
    // The slot takes the prefetched claims in turn, with no further claim for them.
    tokio::time::timeout(Duration::from_secs(60), async {
        while jobs::get(&pool, ids[1]).await.unwrap().unwrap().state != JobState::Completed {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the first prefetched claim runs");
    worker.stop().await;

    // The job under way at the stop finished; the claims never started were given back
    // with their attempt, and nothing else ran twice.
    let records: Vec<_> = {
        let mut records = Vec::new();
        for id in &ids {
            records.push(jobs::get(&pool, *id).await.unwrap().unwrap());
        }
        records
    };
    let finished = records
        .iter()
        .filter(|r| r.state == JobState::Completed)
        .count();
    assert!(
        finished >= 2,
        "the first job and one prefetched claim completed"
    );
    assert_eq!(
        records[3].state,
        JobState::Available,
        "the claim still waiting at the stop was given back"
    );
    for record in &records {
        match record.state {
            JobState::Completed => assert_eq!(record.attempt, 1),
            JobState::Available => {
                assert_eq!(record.attempt, 0, "an unstarted claim costs no attempt");
                assert!(record.locked_by.is_none() && record.lease_expires_at.is_none());
            }
            other => panic!("job {} left {other}", record.id),
        }
    }
    let results: i64 = sqlx::query_scalar("SELECT count(*) FROM results")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(usize::try_from(results).unwrap(), finished, "each ran once");
}

#[tokio::test]
async fn a_typed_handler_gets_its_arguments_and_a_payload_that_does_not_fit_is_dead_lettered() {
    let (_db, pool) = setup().await;
    let worker = start(&pool, config("w", 2));
    let mut tx = pool.begin().await.unwrap();
    let fits = jobs::enqueue(&mut tx, NewJob::of(&Stamp { attempt: 42 }))
        .await
        .unwrap();
    let misfit = jobs::enqueue(
        &mut tx,
        NewJob::new(Stamp::KIND, json!({ "attempt": "two" })),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    finished(&pool, &[fits, misfit]).await;
    worker.stop().await;

    let done = jobs::get(&pool, fits).await.unwrap().unwrap();
    assert_eq!(
        (done.kind.as_str(), done.state),
        ("test.stamp", JobState::Completed)
    );
    let recorded: Vec<i32> = sqlx::query_scalar("SELECT attempt FROM results WHERE job_id = $1")
        .bind(fits)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, [42]);

    // No retry can make the payload fit: dead-lettered at its first attempt.
    let dead = jobs::get(&pool, misfit).await.unwrap().unwrap();
    assert_eq!((dead.state, dead.attempt), (JobState::Discarded, 1));
    let error = dead.errors[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("a test.stamp job's payload does not fit its arguments: "),
        "{error}"
    );
    assert_eq!(results_per_job(&pool, &[misfit]).await, [0]);
}

#[tokio::test]
async fn background_jobs_hold_at_most_their_slots_and_live_jobs_are_claimed_first() {
    let (_db, pool) = setup().await;
    // Both lanes are queued before the worker starts, background first: the queue's own
    // order (run_at, id) would hand out the background jobs first.
    let background = enqueue(&pool, Sweep::KIND, 16).await;
    let live = enqueue(&pool, Errand::KIND, 24).await;
    let (sweeps, errands) = (Arc::new(Gauge::default()), Arc::new(Gauge::default()));
    let handlers: Vec<Arc<dyn JobHandler>> = vec![
        Arc::new(Typed(Counted::<Sweep> {
            gauge: sweeps.clone(),
            kind: std::marker::PhantomData,
        })),
        Arc::new(Typed(Counted::<Errand> {
            gauge: errands.clone(),
            kind: std::marker::PhantomData,
        })),
    ];
    let worker = Worker::new(
        pool.clone(),
        WorkerConfig {
            background_slots: 2,
            prefetch: 4,
            ..config("w", 6)
        },
        handlers,
    )
    .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    // While the queue drains, the background jobs claimed (running, whether started or
    // not) never exceed the lane: none is prefetched.
    let watch = {
        let pool = pool.clone();
        let ids = background.clone();
        tokio::spawn(async move {
            let mut most = 0;
            loop {
                let (running, open): (i64, i64) = sqlx::query_as(
                    "SELECT count(*) FILTER (WHERE state = 'running'), \
                            count(*) FILTER (WHERE finished_at IS NULL) \
                     FROM jobs WHERE id = ANY($1)",
                )
                .bind(&ids)
                .fetch_one(&pool)
                .await
                .unwrap();
                most = most.max(running);
                if open == 0 {
                    return most;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let all: Vec<Uuid> = background.iter().chain(&live).copied().collect();
    finished(&pool, &all).await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("the worker stops")
        .unwrap();
    let claimed_at_most = watch.await.unwrap();

    assert!(results_per_job(&pool, &all).await.iter().all(|&n| n == 1));
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(
        sweeps.most.load(SeqCst),
        2,
        "background jobs ran two at a time, never more"
    );
    assert!(
        claimed_at_most <= 2,
        "{claimed_at_most} background jobs claimed at once"
    );
    assert!(
        errands.most.load(SeqCst) > 2,
        "live jobs used the other slots"
    );
    // Every live job was claimed before the first background job was.
    let (last_live, first_background): (
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    ) = sqlx::query_as(
        "SELECT (SELECT max(attempted_at) FROM jobs WHERE id = ANY($1)), \
                    (SELECT min(attempted_at) FROM jobs WHERE id = ANY($2))",
    )
    .bind(&live)
    .bind(&background)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        last_live <= first_background,
        "a background job was claimed at {first_background}, before the last live job at {last_live}"
    );
}
