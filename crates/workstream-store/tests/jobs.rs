//! The job queue against a real PostgreSQL: exclusive claims under concurrency, fenced
//! leases, backoff, the dead letter and its requeue, idempotent enqueue, wake-ups.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use uuid::Uuid;
use workstream_domain::machines::job::JobState;
use workstream_store::jobs::{self, Backoff, ClaimedJob, Failed, JobError, NewJob};
use workstream_store::testing::TestDatabase;

const LEASE: Duration = Duration::from_secs(60);

/// A backoff short enough that a retried job is due again within the test.
const IMMEDIATE: Backoff = Backoff {
    base: Duration::ZERO,
    cap: Duration::ZERO,
    jitter: 0.0,
};

async fn enqueue(pool: &PgPool, job: NewJob) -> Uuid {
    let mut tx = pool.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn claim(pool: &PgPool, worker: &str, lease: Duration) -> Option<ClaimedJob> {
    jobs::claim(pool, worker, &["test.echo"], lease)
        .await
        .unwrap()
}

async fn record(pool: &PgPool, id: Uuid) -> jobs::JobRecord {
    jobs::get(pool, id).await.unwrap().expect("the job exists")
}

async fn complete(pool: &PgPool, job: &ClaimedJob) {
    let mut tx = pool.begin().await.unwrap();
    jobs::complete(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
}

fn echo(n: i64) -> NewJob {
    NewJob::new("test.echo", json!({ "n": n }))
}

#[tokio::test]
async fn concurrent_batch_claimers_take_every_job_exactly_once_oldest_first() {
    let db = TestDatabase::create().await.unwrap();
    let pool = workstream_store::connect(db.url(), 12).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let mut enqueued = Vec::new();
    for n in 0..300 {
        enqueued.push(jobs::enqueue(&mut tx, echo(n)).await.unwrap());
    }
    tx.commit().await.unwrap();
    // One `run_at` for all (one transaction): the oldest are the smallest ids.
    enqueued.sort_unstable();
    assert!(
        jobs::claim_batch(&pool, "w", &["test.echo"], LEASE, 0)
            .await
            .unwrap()
            .is_empty(),
        "a batch of none claims nothing"
    );

    // A first batch of 7 is the 7 oldest jobs, each leased once.
    let first = jobs::claim_batch(&pool, "first", &["test.echo"], LEASE, 7)
        .await
        .unwrap();
    let mut ids: Vec<Uuid> = first.iter().map(|j| j.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, enqueued[..7].to_vec());
    assert!(first.iter().all(|j| j.attempt == 1 && j.generation == 1));
    for job in &first {
        complete(&pool, job).await;
    }

    // Half the claimers claim in a transaction of their own, half through a
    // `Claimer`'s prepared sessions; together they still take every job once.
    let mut claimers = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let pool = pool.clone();
        claimers.spawn(async move {
            let name = format!("batch-{worker}");
            let claimer = (worker % 2 == 1).then(|| jobs::Claimer::new(&pool));
            let mut claimed = Vec::new();
            loop {
                let batch = match &claimer {
                    Some(claimer) => claimer
                        .claim_batch(&name, &["test.echo"], LEASE, 1 + worker)
                        .await
                        .unwrap(),
                    None => jobs::claim_batch(&pool, &name, &["test.echo"], LEASE, 1 + worker)
                        .await
                        .unwrap(),
                };
                if batch.is_empty() {
                    return claimed;
                }
                assert!(batch.len() <= 1 + worker, "never more than asked for");
                for job in batch {
                    complete(&pool, &job).await;
                    claimed.push(job.id);
                }
            }
        });
    }
    let mut seen: Vec<Uuid> = first.iter().map(|j| j.id).collect();
    while let Some(claimed) = claimers.join_next().await {
        seen.extend(claimed.unwrap());
    }
    seen.sort_unstable();
    let before = seen.len();
    seen.dedup();
    assert_eq!(before, seen.len(), "no job was claimed twice");
    assert_eq!(seen, enqueued, "every job was claimed");
}

#[tokio::test]
async fn concurrent_claimers_take_every_job_exactly_once() {
    let db = TestDatabase::create().await.unwrap();
    // A pool of its own, wide enough that all claimers really run at once.
    let pool = workstream_store::connect(db.url(), 24).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let mut enqueued = HashSet::new();
    for n in 0..200 {
        enqueued.insert(jobs::enqueue(&mut tx, echo(n)).await.unwrap());
    }
    tx.commit().await.unwrap();

    let mut claimers = tokio::task::JoinSet::new();
    for worker in 0..20 {
        let pool = pool.clone();
        claimers.spawn(async move {
            let name = format!("worker-{worker}");
            let mut claimed = Vec::new();
            while let Some(job) = claim(&pool, &name, LEASE).await {
                assert_eq!(job.attempt, 1);
                assert_eq!(job.generation, 1);
                complete(&pool, &job).await;
                claimed.push(job.id);
            }
            claimed
        });
    }
    let mut seen = Vec::new();
    while let Some(claimed) = claimers.join_next().await {
        seen.extend(claimed.unwrap());
    }
    let distinct: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 200, "no job was claimed twice");
    assert_eq!(distinct, enqueued, "every job was claimed");
    let completed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'completed' AND attempt = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(completed, 200);
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_stale_worker_cannot_commit() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    sqlx::query("CREATE TABLE results (job_id uuid NOT NULL, worker text NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    let id = enqueue(pool, echo(1)).await;

    // A lease that is over by the next statement: the worker stalled.
    let stale = claim(pool, "stale", Duration::ZERO).await.unwrap();
    assert_eq!((stale.id, stale.attempt, stale.generation), (id, 1, 1));
    let rescuer = claim(pool, "rescuer", LEASE)
        .await
        .expect("the expired job is rescued");
    assert_eq!(rescuer.id, id);
    assert_eq!(rescuer.generation, 2, "the rescue fences the stale worker");
    assert_eq!(rescuer.attempt, 2, "the lost attempt counts");
    let rescued = record(pool, id).await;
    assert_eq!(rescued.locked_by.as_deref(), Some("rescuer"));
    assert_eq!(rescued.errors.as_array().unwrap().len(), 1);
    assert_eq!(rescued.errors[0]["attempt"], 1);
    assert_eq!(rescued.errors[0]["error"], "lease expired (worker stale)");

    // The stale worker wakes up and tries to finish: its results roll back with it.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO results VALUES ($1, 'stale')")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let lost = jobs::complete(&mut tx, &stale).await;
    assert!(matches!(lost, Err(JobError::LeaseLost)), "{lost:?}");
    tx.rollback().await.unwrap();
    assert!(matches!(
        jobs::heartbeat(pool, &stale, LEASE).await,
        Err(JobError::LeaseLost)
    ));
    assert!(matches!(
        jobs::fail(pool, &stale, "late").await,
        Err(JobError::LeaseLost)
    ));

    // The holder of the current lease extends it and finishes.
    let extended = jobs::heartbeat(pool, &rescuer, LEASE).await.unwrap();
    assert!(extended > Utc::now());
    let mut tx = pool.begin().await.unwrap();
    jobs::complete(&mut tx, &rescuer).await.unwrap();
    sqlx::query("INSERT INTO results VALUES ($1, 'rescuer')")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let results: Vec<String> = sqlx::query_scalar("SELECT worker FROM results")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(
        results,
        ["rescuer"],
        "exactly one result, the live worker's"
    );
    let done = record(pool, id).await;
    assert_eq!(done.state, JobState::Completed);
    assert!(done.finished_at.is_some());
    assert!(done.lease_expires_at.is_none());
    assert!(claim(pool, "anyone", LEASE).await.is_none());
    assert!(matches!(
        jobs::heartbeat(pool, &rescuer, LEASE).await,
        Err(JobError::LeaseLost)
    ));
}

#[tokio::test]
async fn a_lease_expired_on_the_last_attempt_discards_the_job() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let id = enqueue(
        pool,
        NewJob {
            max_attempts: Some(1),
            ..echo(1)
        },
    )
    .await;
    claim(pool, "dies", Duration::ZERO).await.unwrap();
    assert!(claim(pool, "next", LEASE).await.is_none());
    let dead = record(pool, id).await;
    assert_eq!(dead.state, JobState::Discarded);
    assert_eq!(dead.attempt, 1);
    assert_eq!(dead.errors[0]["error"], "lease expired (worker dies)");
}

#[tokio::test]
async fn a_failure_backs_off_and_counts_the_attempt() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let id = enqueue(pool, echo(1)).await;
    let job = claim(pool, "w", LEASE).await.unwrap();
    let before = Utc::now();
    let Failed::Retrying { run_at } = jobs::fail(pool, &job, "dependency down").await.unwrap()
    else {
        panic!("the first failure is retried");
    };
    // Attempt 1 waits 2 s ± 10% with the default backoff.
    assert!(
        run_at > before + chrono::Duration::milliseconds(1500),
        "{run_at}"
    );
    assert!(run_at < before + chrono::Duration::seconds(10), "{run_at}");
    let waiting = record(pool, id).await;
    assert_eq!(waiting.state, JobState::Retryable);
    assert_eq!(waiting.attempt, 1);
    assert_eq!(waiting.run_at, run_at);
    assert_eq!(waiting.last_error.as_deref(), Some("dependency down"));
    assert_eq!(waiting.errors[0]["attempt"], 1);
    assert_eq!(waiting.errors[0]["error"], "dependency down");
    assert!(waiting.errors[0]["at"].is_string());
    assert!(claim(pool, "w", LEASE).await.is_none(), "not due yet");
    let wake = jobs::next_wakeup(pool, &["test.echo"]).await.unwrap();
    assert_eq!(wake, Some(run_at));

    // Made due (as time would), it runs again as attempt 2.
    sqlx::query("UPDATE jobs SET run_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
    let again = claim(pool, "w", LEASE).await.unwrap();
    assert_eq!((again.attempt, again.generation), (2, 2));
}

#[test]
fn the_backoff_doubles_up_to_its_cap() {
    let backoff = Backoff::default();
    let secs = |attempt| backoff.nominal(attempt).as_secs();
    assert_eq!(
        [secs(1), secs(2), secs(3), secs(11), secs(12)],
        [2, 4, 8, 2048, 3600]
    );
    assert_eq!(secs(25), 3600);
    assert_eq!(secs(i32::MAX), 3600, "no overflow");
}

#[tokio::test]
async fn the_last_failure_discards_and_requeue_revives() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let id = enqueue(
        pool,
        NewJob {
            max_attempts: Some(2),
            ..echo(1)
        },
    )
    .await;
    let first = claim(pool, "w", LEASE).await.unwrap();
    assert!(matches!(
        jobs::fail_with(pool, &first, "one", &IMMEDIATE)
            .await
            .unwrap(),
        Failed::Retrying { .. }
    ));
    let second = claim(pool, "w", LEASE).await.unwrap();
    assert_eq!(second.attempt, 2);
    assert_eq!(
        jobs::fail_with(pool, &second, "two", &IMMEDIATE)
            .await
            .unwrap(),
        Failed::Discarded
    );
    let dead = record(pool, id).await;
    assert_eq!(dead.state, JobState::Discarded);
    assert!(dead.finished_at.is_some());
    assert_eq!(dead.errors.as_array().unwrap().len(), 2);
    assert!(
        claim(pool, "w", LEASE).await.is_none(),
        "the dead letter is off the claim path"
    );

    jobs::requeue(pool, id).await.unwrap();
    let revived = record(pool, id).await;
    assert_eq!(revived.state, JobState::Available);
    assert_eq!(revived.attempt, 0);
    assert!(revived.finished_at.is_none());
    assert_eq!(revived.errors.as_array().unwrap().len(), 2, "history kept");
    assert!(matches!(
        jobs::requeue(pool, id).await,
        Err(JobError::WrongState { state }) if state == JobState::Available
    ));
    assert!(matches!(
        jobs::requeue(pool, Uuid::now_v7()).await,
        Err(JobError::NotFound)
    ));
    let third = claim(pool, "w", LEASE).await.unwrap();
    assert_eq!((third.attempt, third.generation), (1, 3));
    complete(pool, &third).await;
}

#[tokio::test]
async fn discard_and_cancel_finish_jobs_off_the_claim_path() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let doomed = enqueue(pool, echo(1)).await;
    let job = claim(pool, "w", LEASE).await.unwrap();
    jobs::discard(pool, &job, "malformed payload")
        .await
        .unwrap();
    let dead = record(pool, doomed).await;
    assert_eq!((dead.state, dead.attempt), (JobState::Discarded, 1));
    assert_eq!(dead.errors[0]["error"], "malformed payload");

    let unwanted = enqueue(pool, echo(2)).await;
    jobs::cancel(pool, unwanted).await.unwrap();
    assert_eq!(record(pool, unwanted).await.state, JobState::Cancelled);
    assert!(matches!(
        jobs::cancel(pool, unwanted).await,
        Err(JobError::WrongState { state }) if state == JobState::Cancelled
    ));
    assert!(claim(pool, "w", LEASE).await.is_none());
}

#[tokio::test]
async fn an_idempotency_key_makes_one_job_and_a_rollback_makes_none() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let keyed = || NewJob {
        idempotency_key: Some("award:42:dispatch".into()),
        correlation_id: Some("req-1".into()),
        ..echo(1)
    };
    let first = enqueue(pool, keyed()).await;
    let second = enqueue(pool, keyed()).await;
    assert_eq!(first, second);

    let mut tx = pool.begin().await.unwrap();
    jobs::enqueue(&mut tx, echo(2)).await.unwrap();
    tx.rollback().await.unwrap();

    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "one keyed job; the rolled-back one never existed");
    let job = claim(pool, "w", LEASE).await.unwrap();
    assert_eq!(job.correlation_id.as_deref(), Some("req-1"));
}

#[tokio::test]
async fn a_job_scheduled_later_waits_until_due() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let later = Utc::now() + chrono::Duration::hours(1);
    enqueue(
        pool,
        NewJob {
            run_at: Some(later),
            ..echo(1)
        },
    )
    .await;
    assert!(claim(pool, "w", LEASE).await.is_none());
    let wake = jobs::next_wakeup(pool, &["test.echo"]).await.unwrap();
    assert!(wake.is_some_and(|at| at > Utc::now()));
    assert!(
        jobs::claim(pool, "w", &["other.kind"], LEASE)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_committed_enqueue_wakes_a_listener() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let mut listener = PgListener::connect_with(pool).await.unwrap();
    listener.listen(jobs::CHANNEL).await.unwrap();
    enqueue(pool, echo(1)).await;
    let notification = tokio::time::timeout(Duration::from_secs(30), listener.recv())
        .await
        .expect("a notification arrives")
        .unwrap();
    assert_eq!(notification.channel(), jobs::CHANNEL);
    assert_eq!(notification.payload(), "test.echo");
}
