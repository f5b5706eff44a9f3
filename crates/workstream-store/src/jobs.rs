//! The durable job queue over the `jobs` table (docs/architecture.md).
//!
//! A job is work that must happen because a change committed: dispatching an outcome
//! event, running a checker, appending to a ledger. It is written by [`enqueue`] in the
//! same transaction as the change that caused it, so the two commit together or not at
//! all, and it is carried out later by a worker (`workstream_engine::worker`), possibly
//! in another process, possibly more than once if a worker dies mid-job. Handlers make
//! that safe by writing their results and calling [`complete`] in one transaction: only
//! the worker that still holds the job's lease can commit.
//!
//! # States and transitions
//!
//! The vocabulary is River's (riverqueue/river `docs/state_machine.md`).
//!
//! ```text
//!                          enqueue (waits here until run_at)
//!                              |
//!                              v
//!    requeue          +-----------------+    cancel      +-----------+
//!   +---------------->|    available    |--------------->| cancelled |
//!   |                 +-----------------+                +-----------+
//!   |                          |                               ^
//!   |                          | claim (due)                   | cancel
//!   |                          v                               |
//!   |                 +-----------------+  fail           +-----------+
//!   |                 |                 |--(attempt<max)->|           |
//!   |         +------>|     running     |                 | retryable |
//!   |  claim  |       |                 |<----------------|           |
//!   | (lease  +-------|                 |  claim (due)    +-----------+
//!   | expired)        +-----------------+
//!   |                   |             |
//!   |  fail (attempt =  |             | complete (in the handler's transaction)
//!   |  max), discard,   |             v
//!   |  lease expired    |      +-----------+
//!   |  at max (claim)   |      | completed |
//!   |                   v      +-----------+
//!   |           +-----------+
//!   +-----------| discarded |  (dead letter)
//!               +-----------+
//! ```
//!
//! | from                  | to          | by                         | how                 |
//! |-----------------------|-------------|----------------------------|---------------------|
//! | (new)                 | `available` | the command that needs it  | [`enqueue`]         |
//! | `available`/`retryable` (due) | `running` | a worker             | [`claim`]           |
//! | `running`, lease expired, attempt < max | `running` (new generation) | a worker | [`claim`] (rescue) |
//! | `running`, lease expired, attempt = max | `discarded` | a worker | [`claim`] (rescue) |
//! | `running`             | `running` (later expiry) | the lease holder | [`heartbeat`]   |
//! | `running`             | `completed` | the lease holder's handler, in its transaction | [`complete`] |
//! | `running`, attempt < max | `retryable` (run_at = now + backoff) | the lease holder | [`fail`] |
//! | `running`, attempt = max | `discarded` | the lease holder          | [`fail`]          |
//! | `running`             | `discarded` | the lease holder (a permanent error) | [`discard`] |
//! | `running`, never started | `available` (attempt given back) | the lease holder (a stopping worker's prefetched claims) | [`release_unstarted`] |
//! | `discarded`           | `available` (attempt 0) | an operator    | [`requeue`]         |
//! | `available`/`retryable` | `cancelled` | an operator              | [`cancel`]          |
//!
//! The states are the domain's [`JobState`], whose `MOVES` list these rows; the
//! statements below keep their state literals (the partial indexes' predicates), and
//! the rows they return carry the state as a [`JobState`].
//!
//! `completed`, `discarded` and `cancelled` are *finished*: `finished_at` is set, and the
//! row stays as history (its `errors` trail, who ran it last) but leaves the partial
//! claim index `jobs_claim_idx`, which holds only `available` and `retryable` rows, so
//! history never slows claiming. A `running` job cannot be cancelled: its handler may be
//! committing at that moment; let it finish or fail.
//!
//! # Leases and generations
//!
//! [`claim`] gives the worker a lease until `lease_expires_at` and bumps
//! `lease_generation`; every later write by that worker ([`heartbeat`], [`complete`],
//! [`fail`], [`discard`]) names the generation it holds and changes nothing if the
//! generation moved on, returning [`JobError::LeaseLost`]. A worker that stalls past its
//! lease (a long GC pause, a partition) is thereby fenced: another worker re-claims the
//! job (the lost attempt counts and is recorded in `errors`), and the stale worker's
//! [`complete`] fails, rolling back its results with it. The lease's expiry itself is
//! not checked by [`complete`]: a late worker whose job nobody re-claimed still holds
//! the only generation, and finishing is then correct.
//!
//! # Waking workers
//!
//! [`enqueue`] and [`requeue`] send `NOTIFY workstream_jobs` ([`CHANNEL`]) with the job's
//! kind; PostgreSQL delivers it when the transaction commits, so a worker never wakes
//! for a job it cannot see yet. Notifications are an optimisation only: idle workers
//! also poll and wake at [`next_wakeup`], so a lost notification delays a job but never
//! strands it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use workstream_domain::machines::job::JobState;

/// The `LISTEN`/`NOTIFY` channel; the payload is the job's kind.
pub const CHANNEL: &str = "workstream_jobs";

/// Attempts a job gets unless its [`NewJob`] says otherwise (the column's default).
pub const DEFAULT_MAX_ATTEMPTS: i32 = 25;

/// The longest error text kept per attempt (the `jobs_last_error_length` constraint).
const MAX_ERROR_CHARS: usize = 8000;

/// The arguments of one kind of job, as River's `JobArgs`: the kind is a constant of
/// the type and the payload its serde form, so a job is enqueued from a value
/// ([`NewJob::of`]) and read back as one ([`ClaimedJob::args`]), never built or picked
/// apart as loose JSON.
pub trait JobArgs: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// The job kind, `^[a-z][a-z0-9_.]{0,99}$`: what a worker's handler is registered
    /// under.
    const KIND: &'static str;

    /// Whether jobs of this kind are *background* work: nobody waits on them, so a
    /// worker claims them only with slots that live kinds left free, runs at most its
    /// `background_slots` of them at once and never prefetches them
    /// (`workstream_engine::worker`). The queue itself does not know the difference:
    /// the lane is the worker's choice of which kinds to claim, not a column.
    const BACKGROUND: bool = false;
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What to do: a registered handler's kind, `^[a-z][a-z0-9_.]{0,99}$`.
    pub kind: String,
    /// The handler's input.
    pub payload: Value,
    /// At most one job ever exists per key: enqueueing a key again returns the first
    /// job's id, whatever state it is in.
    pub idempotency_key: Option<String>,
    /// Not before this time (default: now).
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts before the job is discarded (default [`DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: Option<i32>,
    /// The request that caused the job, carried into its logs.
    pub correlation_id: Option<String>,
}

impl NewJob {
    /// A job carrying `args`, of their kind, to run now with the default attempts.
    pub fn of<A: JobArgs>(args: &A) -> Self {
        // Arguments are plain records of ids and values: serializing them cannot fail.
        let payload = serde_json::to_value(args).expect("job arguments serialize to JSON");
        NewJob::new(A::KIND, payload)
    }

    /// A job of `kind` with `payload`, to run now with the default attempts.
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            idempotency_key: None,
            run_at: None,
            max_attempts: None,
            correlation_id: None,
        }
    }
}

/// A job a worker holds the lease of.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job.
    pub id: Uuid,
    /// Its kind.
    pub kind: String,
    /// The handler's input.
    pub payload: Value,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// The attempt after which a failure discards the job.
    pub max_attempts: i32,
    /// The lease generation this worker holds; every write names it.
    pub generation: i64,
    /// The request that caused the job.
    pub correlation_id: Option<String>,
    /// Marked by [`complete`] when it completed the job in the handler's transaction:
    /// how the worker knows, without asking the database again, that a handler which
    /// returned success did complete its job.
    pub completion: Completion,
}

impl ClaimedJob {
    /// The job's arguments, read as `A` (the caller's kind). A payload that does not
    /// fit is an error the handler should treat as permanent: no retry changes it.
    pub fn args<A: JobArgs>(&self) -> Result<A, serde_json::Error> {
        <A as serde::Deserialize>::deserialize(&self.payload)
    }
}

/// Whether [`complete`] has completed a claimed job (shared by the claim's clones).
///
/// Process-local and not part of a claim's identity: two claims compare equal on
/// their job and lease whatever this says.
#[derive(Debug, Clone, Default)]
pub struct Completion(Arc<AtomicBool>);

impl Completion {
    /// True once [`complete`] succeeded for the claim (its transaction may still be
    /// open: the handler commits it).
    pub fn is_marked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn mark(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl PartialEq for Completion {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A stored job, for operators and tests (history included).
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// The job.
    pub id: Uuid,
    /// Its kind.
    pub kind: String,
    /// The handler's input.
    pub payload: Value,
    /// `available`, `running`, `completed`, `retryable`, `discarded` or `cancelled`.
    pub state: JobState,
    /// Attempts made (or under way).
    pub attempt: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
    /// Bumped by every claim.
    pub lease_generation: i64,
    /// The lease's end while running.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The worker that claimed it last.
    pub locked_by: Option<String>,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// One `{attempt, at, error}` object per failed attempt, oldest first.
    pub errors: Value,
    /// Its idempotency key.
    pub idempotency_key: Option<String>,
    /// The request that caused it.
    pub correlation_id: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it was last claimed.
    pub attempted_at: Option<DateTime<Utc>>,
    /// When it reached a finished state.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Why a queue operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The caller no longer holds the job's lease: another worker claimed it (the lease
    /// expired) or it already finished. The caller must roll back whatever it wrote.
    #[error("the job's lease was lost to another worker or the job already finished")]
    LeaseLost,
    /// No job has this id.
    #[error("no such job")]
    NotFound,
    /// The job is not in a state this operation applies to.
    #[error("the job is {state}")]
    WrongState {
        /// The job's current state.
        state: JobState,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// How long a failed job waits before its next attempt.
///
/// The delay after failed attempt `n` (from 1) is `min(base * 2^n, cap)`, moved by a
/// uniformly random `± jitter` fraction of itself so that jobs failing together (a
/// dependency went down) do not retry together. With [`Backoff::default`] (base 1 s,
/// cap 1 h, jitter 10%) the waits are about 2 s, 4 s, 8 s, ... 34 min after attempt 11,
/// then 1 h per attempt: the default 25 attempts span about 15 hours before the job is
/// discarded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay is twice this.
    pub base: Duration,
    /// No delay is longer than this (before jitter).
    pub cap: Duration,
    /// The random spread, as a fraction of the delay (0.1 = ±10%), in `[0, 1]`.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(3600),
            jitter: 0.1,
        }
    }
}

impl Backoff {
    /// The delay after failed attempt `attempt`, before jitter.
    pub fn nominal(&self, attempt: i32) -> Duration {
        // 2^31 seconds already exceed any sensible cap; clamping the exponent keeps
        // the multiplication from overflowing.
        let factor = 2u32.saturating_pow(attempt.clamp(0, 31) as u32);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// What [`fail`] did with the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// It will be attempted again, not before `run_at`.
    Retrying {
        /// The next attempt's earliest time.
        run_at: DateTime<Utc>,
    },
    /// It used its last attempt and is now `discarded`.
    Discarded,
}

/// Enqueues `job` inside the caller's transaction and returns its id.
///
/// With an idempotency key that already exists, nothing is written and the existing
/// job's id is returned. The wake-up notification is sent only for a new job, and
/// PostgreSQL delivers it at commit.
pub async fn enqueue(conn: &mut PgConnection, job: NewJob) -> Result<Uuid, sqlx::Error> {
    // The notification rides in the insert's own round trip.
    let inserted = sqlx::query_scalar!(
        "WITH job AS (
             INSERT INTO jobs (id, kind, payload, idempotency_key, run_at, max_attempts, correlation_id)
             VALUES ($1, $2, $3, $4, COALESCE($5, now()), $6, $7)
             ON CONFLICT ON CONSTRAINT jobs_idempotency_key_key DO NOTHING
             RETURNING id, kind)
         SELECT id FROM job, LATERAL pg_notify($8, job.kind)",
        Uuid::now_v7(),
        job.kind,
        job.payload,
        job.idempotency_key.as_deref(),
        job.run_at,
        job.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS),
        job.correlation_id.as_deref(),
        CHANNEL,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = inserted {
        return Ok(id);
    }
    // Only a conflicting idempotency key skips the insert; the conflicting row is
    // committed (ON CONFLICT waited for it), so this statement's snapshot sees it.
    sqlx::query_scalar!(
        "SELECT id FROM jobs WHERE idempotency_key = $1",
        job.idempotency_key.as_deref(),
    )
    .fetch_one(&mut *conn)
    .await
}

/// Claims the next job of one of `kinds` for `worker_id`, leased for `lease`.
///
/// One statement, so two workers can never hold the same job: it takes the oldest
/// running job of those kinds whose lease expired (its worker is presumed dead; the
/// lost attempt counts and is recorded), otherwise the due `available` or `retryable`
/// job first by `(run_at, id)`, skipping rows other claimers have locked. Rescued jobs
/// go first because they have waited longest. On the way it discards expired running
/// jobs that were on their last attempt. Returns `None` when nothing is due.
pub async fn claim(
    pool: &PgPool,
    worker_id: &str,
    kinds: &[&str],
    lease: Duration,
) -> Result<Option<ClaimedJob>, sqlx::Error> {
    Ok(claim_batch(pool, worker_id, kinds, lease, 1).await?.pop())
}

/// [`claim`] for up to `limit` jobs at once, in one statement and one commit: what a
/// worker with `limit` free slots asks for, so that a busy queue costs one claim round
/// trip per batch rather than per job. Rescued jobs still come first. Returns an empty
/// list when nothing is due.
///
/// The claim commits with `synchronous_commit = off`: it returns once the claim is
/// visible, without waiting for its WAL to reach the disk (a flush per claim was the
/// worker's throughput ceiling). Losing an unflushed claim in a server crash is
/// harmless: the job is simply available again, and the stale holder can never
/// complete it, because completion checks the lease generation in a transaction that
/// does wait for the disk, and that wait flushes the claim too. So a completed job's
/// claim is always durable, and a job's effects still commit once.
///
/// Bitmap scans are off for the claim: after a burst of enqueues, before autovacuum
/// has analyzed the table, the planner would otherwise combine `jobs_claim_idx` with
/// the kind index in a bitmap and sort every due job to take the first few (12 ms a
/// claim with 10,000 queued, measured by `workstream-bench`). Walking
/// `jobs_claim_idx` in order stops at the first unlocked due rows, whatever the
/// statistics say.
pub async fn claim_batch(
    pool: &PgPool,
    worker_id: &str,
    kinds: &[&str],
    lease: Duration,
    limit: usize,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    if kinds.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    // Both settings travel with the `BEGIN`, in its round trip.
    // Dynamic SQL: three statements in one simple-protocol round trip, which a checked
    // (prepared) statement cannot be.
    let mut tx = pool
        .begin_with("BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL enable_bitmapscan = off")
        .await?;
    let claimed = claim_statement(&mut tx, worker_id, kinds, lease, limit).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Claims through a few sessions of their own, set up once with the two settings of
/// [`claim_batch`] (`synchronous_commit` and bitmap scans off), so that a claim is one
/// statement in one round trip instead of three (`BEGIN` with the settings, the claim,
/// `COMMIT`). A worker claims through one; the semantics are [`claim_batch`]'s.
#[derive(Debug, Clone)]
pub struct Claimer {
    sessions: PgPool,
}

impl Claimer {
    /// Sessions for claiming, opened when first needed, to the database of `pool`.
    pub fn new(pool: &PgPool) -> Claimer {
        let options = pool.connect_options().as_ref().clone();
        let sessions = sqlx::postgres::PgPoolOptions::new()
            .max_connections(CLAIM_SESSIONS)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Dynamic SQL: two settings in one simple-protocol round trip, which a
                    // checked (prepared) statement cannot be.
                    sqlx::Executor::execute(
                        conn,
                        "SET synchronous_commit = off; SET enable_bitmapscan = off",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Claimer { sessions }
    }

    /// [`claim_batch`] in one round trip.
    pub async fn claim_batch(
        &self,
        worker_id: &str,
        kinds: &[&str],
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedJob>, sqlx::Error> {
        if kinds.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut session = self.sessions.acquire().await?;
        claim_statement(&mut session, worker_id, kinds, lease, limit).await
    }

    /// Closes the sessions.
    pub async fn close(&self) {
        self.sessions.close().await;
    }
}

/// Sessions a [`Claimer`] keeps: claims run beside a worker's dispatch loop, rarely
/// more than two at once.
const CLAIM_SESSIONS: u32 = 2;

/// The claim itself (see [`claim`]), on `conn` with whatever settings it has.
async fn claim_statement(
    conn: &mut PgConnection,
    worker_id: &str,
    kinds: &[&str],
    lease: Duration,
    limit: usize,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let kinds: Vec<String> = kinds.iter().map(|kind| (*kind).to_owned()).collect();
    // The claim walks two partial indexes through their views
    // (migrations/0016_live_rows.sql): `running_jobs` is `jobs_running_lease_idx`
    // (expired leases), `waiting_jobs` is `jobs_claim_idx` (due jobs, in `(run_at, id)`
    // order).
    let rows = sqlx::query!(
        "WITH exhausted AS (
             UPDATE jobs SET
                 state = $5, finished_at = now(), lease_expires_at = NULL,
                 last_error = 'lease expired (worker ' || locked_by || ')',
                 errors = errors || jsonb_build_array(jsonb_build_object(
                     'attempt', attempt, 'at', now(),
                     'error', 'lease expired (worker ' || locked_by || ')'))
             WHERE id IN (
                 SELECT id FROM running_jobs
                 WHERE lease_expires_at <= now()
                   AND attempt >= max_attempts AND kind = ANY($1)
                 FOR UPDATE SKIP LOCKED)
         ),
         rescued AS (
             SELECT id FROM running_jobs
             WHERE lease_expires_at <= now()
               AND attempt < max_attempts AND kind = ANY($1)
             ORDER BY lease_expires_at, id
             LIMIT $4
             FOR UPDATE SKIP LOCKED
         ),
         due AS (
             SELECT id FROM waiting_jobs
             WHERE run_at <= now() AND kind = ANY($1)
             ORDER BY run_at, id
             LIMIT $4
             FOR UPDATE SKIP LOCKED
         ),
         -- The limit stops the scan of `due` once enough rescues were found.
         picked AS (
             SELECT id, true AS rescued FROM rescued
             UNION ALL SELECT id, false FROM due LIMIT $4
         )
         UPDATE jobs SET
             state = $6,
             attempt = jobs.attempt + 1,
             lease_generation = jobs.lease_generation + 1,
             lease_expires_at = now() + make_interval(secs => $3),
             locked_by = $2,
             attempted_at = now(),
             last_error = CASE WHEN picked.rescued
                 THEN 'lease expired (worker ' || jobs.locked_by || ')'
                 ELSE jobs.last_error END,
             errors = CASE WHEN picked.rescued
                 THEN jobs.errors || jsonb_build_array(jsonb_build_object(
                     'attempt', jobs.attempt, 'at', now(),
                     'error', 'lease expired (worker ' || jobs.locked_by || ')'))
                 ELSE jobs.errors END
         FROM picked
         WHERE jobs.id = picked.id
         RETURNING jobs.id, jobs.kind, jobs.payload, jobs.attempt, jobs.max_attempts,
                   jobs.lease_generation AS generation, jobs.correlation_id",
        &kinds,
        worker_id,
        lease.as_secs_f64(),
        limit,
        JobState::Discarded.as_str(),
        JobState::Running.as_str(),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ClaimedJob {
            id: row.id,
            kind: row.kind,
            payload: row.payload,
            attempt: row.attempt,
            max_attempts: row.max_attempts,
            generation: row.generation,
            correlation_id: row.correlation_id,
            completion: Completion::default(),
        })
        .collect())
}

/// Extends the lease of `job` to `lease` from now, if its generation still holds;
/// returns the new expiry.
pub async fn heartbeat(
    pool: &PgPool,
    job: &ClaimedJob,
    lease: Duration,
) -> Result<DateTime<Utc>, JobError> {
    sqlx::query_scalar!(
        "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3)
         WHERE id = $1 AND lease_generation = $2 AND state = $4
         RETURNING lease_expires_at",
        job.id,
        job.generation,
        lease.as_secs_f64(),
        JobState::Running.as_str(),
    )
    .fetch_optional(pool)
    .await?
    // The column was just set: a row always carries an expiry.
    .flatten()
    .ok_or(JobError::LeaseLost)
}

/// Marks `job` completed, inside the handler's own transaction.
///
/// Call it in the transaction that writes the job's results, preferably first: it
/// locks the job's row, so no other worker can re-claim the job while the transaction
/// runs. [`JobError::LeaseLost`] means another worker holds the job now; the handler
/// must then roll back, so its results never commit twice.
pub async fn complete(conn: &mut PgConnection, job: &ClaimedJob) -> Result<(), JobError> {
    let done = sqlx::query!(
        "UPDATE jobs SET state = $3, finished_at = now(), lease_expires_at = NULL
         WHERE id = $1 AND lease_generation = $2 AND state = $4",
        job.id,
        job.generation,
        JobState::Completed.as_str(),
        JobState::Running.as_str(),
    )
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(JobError::LeaseLost);
    }
    job.completion.mark();
    Ok(())
}

/// Records a failed attempt of `job` with the default [`Backoff`]: `retryable` later,
/// or `discarded` if it was the last attempt.
pub async fn fail(pool: &PgPool, job: &ClaimedJob, error: &str) -> Result<Failed, JobError> {
    fail_with(pool, job, error, &Backoff::default()).await
}

/// [`fail`] with an explicit backoff.
pub async fn fail_with(
    pool: &PgPool,
    job: &ClaimedJob,
    error: &str,
    backoff: &Backoff,
) -> Result<Failed, JobError> {
    let delay = backoff.nominal(job.attempt).as_secs_f64();
    let row = sqlx::query!(
        "UPDATE jobs SET
             state = CASE WHEN attempt >= max_attempts THEN $6 ELSE $7 END,
             run_at = CASE WHEN attempt >= max_attempts THEN run_at
                 ELSE now() + make_interval(secs => $3 * (1 + $4 * (2 * random() - 1))) END,
             finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
             lease_expires_at = NULL,
             last_error = $5,
             errors = errors || jsonb_build_array(jsonb_build_object(
                 'attempt', attempt, 'at', now(), 'error', $5::text))
         WHERE id = $1 AND lease_generation = $2 AND state = $8
         RETURNING state, run_at",
        job.id,
        job.generation,
        delay,
        backoff.jitter.clamp(0.0, 1.0),
        bounded(error),
        JobState::Discarded.as_str(),
        JobState::Retryable.as_str(),
        JobState::Running.as_str(),
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Err(JobError::LeaseLost);
    };
    match job_state(row.state)? {
        JobState::Discarded => Ok(Failed::Discarded),
        _ => Ok(Failed::Retrying { run_at: row.run_at }),
    }
}

/// Discards `job` at once: its error is permanent, retrying cannot help.
pub async fn discard(pool: &PgPool, job: &ClaimedJob, error: &str) -> Result<(), JobError> {
    let done = sqlx::query!(
        "UPDATE jobs SET
             state = $4, finished_at = now(), lease_expires_at = NULL,
             last_error = $3,
             errors = errors || jsonb_build_array(jsonb_build_object(
                 'attempt', attempt, 'at', now(), 'error', $3::text))
         WHERE id = $1 AND lease_generation = $2 AND state = $5",
        job.id,
        job.generation,
        bounded(error),
        JobState::Discarded.as_str(),
        JobState::Running.as_str(),
    )
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(JobError::LeaseLost);
    }
    Ok(())
}

/// Gives back claims whose handlers never started (a worker's prefetched jobs when it
/// stops): each is `available` again at once and its attempt is not counted, so
/// stopping a worker costs its queue nothing. A claim that was lost meanwhile (its
/// lease expired and another worker holds the job) is left alone. Returns how many
/// were given back.
pub async fn release_unstarted(pool: &PgPool, jobs: &[ClaimedJob]) -> Result<u64, sqlx::Error> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = jobs.iter().map(|job| job.id).collect();
    let generations: Vec<i64> = jobs.iter().map(|job| job.generation).collect();
    let done = sqlx::query!(
        "UPDATE jobs j SET state = $3, attempt = j.attempt - 1, run_at = now(),
             lease_expires_at = NULL, locked_by = NULL
         FROM UNNEST($1::uuid[], $2::bigint[]) AS r(id, generation)
         WHERE j.id = r.id AND j.lease_generation = r.generation AND j.state = $4",
        &ids,
        &generations,
        JobState::Available.as_str(),
        JobState::Running.as_str(),
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Puts a discarded job back in the queue (an operator's decision after fixing the
/// cause): `available` now, attempts from zero, its error history kept.
pub async fn requeue(pool: &PgPool, job_id: Uuid) -> Result<(), JobError> {
    let kind = sqlx::query_scalar!(
        "UPDATE jobs SET state = $2, attempt = 0, run_at = now(), finished_at = NULL
         WHERE id = $1 AND state = $3
         RETURNING kind",
        job_id,
        JobState::Available.as_str(),
        JobState::Discarded.as_str(),
    )
    .fetch_optional(pool)
    .await?;
    let Some(kind) = kind else {
        return Err(refusal(pool, job_id).await);
    };
    sqlx::query!("SELECT pg_notify($1, $2)", CHANNEL, kind)
        .execute(pool)
        .await?;
    Ok(())
}

/// Cancels a job that has not started (`available` or `retryable`).
pub async fn cancel(pool: &PgPool, job_id: Uuid) -> Result<(), JobError> {
    let done = sqlx::query!(
        "UPDATE jobs SET state = $2, finished_at = now()
         WHERE id = $1 AND state IN ($3, $4)",
        job_id,
        JobState::Cancelled.as_str(),
        JobState::Available.as_str(),
        JobState::Retryable.as_str(),
    )
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(refusal(pool, job_id).await);
    }
    Ok(())
}

/// One job as `workstream jobs list` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLine {
    /// The job.
    pub id: Uuid,
    /// Its kind.
    pub kind: String,
    /// Its state.
    pub state: JobState,
    /// Attempts made (or under way).
    pub attempt: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When it was enqueued, UTC, to the second (`YYYY-MM-DD HH:MM:SS`).
    pub created: String,
}

/// The newest jobs, optionally only those in `state` and of `kind`, at most `limit`.
pub async fn list(
    pool: &PgPool,
    state: Option<&str>,
    kind: Option<&str>,
    limit: i64,
) -> Result<Vec<JobLine>, sqlx::Error> {
    sqlx::query!(
        r#"SELECT id, kind, state, attempt, max_attempts, last_error,
           to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS "created!" FROM jobs
         WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)
         ORDER BY created_at DESC, id DESC LIMIT $3"#,
        state,
        kind,
        limit,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| {
        Ok(JobLine {
            id: row.id,
            kind: row.kind,
            state: job_state(row.state)?,
            attempt: row.attempt,
            max_attempts: row.max_attempts,
            last_error: row.last_error,
            created: row.created,
        })
    })
    .collect()
}

/// How many unfinished jobs of one kind are in one state: a gauge of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    /// The jobs' kind.
    pub kind: String,
    /// Their state: `available`, `retryable` or `running`.
    pub state: JobState,
    /// How many.
    pub count: i64,
}

/// How many unfinished jobs there are, by kind and state (`available`, `retryable`,
/// `running`), and the seconds the oldest due one has waited (0 with none): the
/// queue's gauges. Both walk the partial index of unfinished jobs only.
pub async fn backlog(pool: &PgPool) -> Result<(Vec<JobCount>, f64), sqlx::Error> {
    // The views are the partial indexes `jobs_claim_idx` and `jobs_running_lease_idx`,
    // which hold the unfinished jobs only.
    let counts = sqlx::query!(
        r#"SELECT kind AS "kind!", state AS "state!", count(*) AS "count!"
         FROM waiting_jobs GROUP BY kind, state
         UNION ALL
         SELECT kind, state, count(*) FROM running_jobs GROUP BY kind, state"#,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| {
        Ok(JobCount {
            kind: row.kind,
            state: job_state(row.state)?,
            count: row.count,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let oldest_waiting = sqlx::query_scalar!(
        r#"SELECT coalesce(extract(epoch FROM now() - min(run_at))::float8, 0) AS "waited!"
         FROM waiting_jobs WHERE run_at <= now()"#,
    )
    .fetch_one(pool)
    .await?;
    Ok((counts, oldest_waiting))
}

/// The stored job `job_id`, in whatever state.
pub async fn get(pool: &PgPool, job_id: Uuid) -> Result<Option<JobRecord>, sqlx::Error> {
    let Some(row) = sqlx::query!(
        "SELECT id, kind, payload, state, attempt, max_attempts, run_at, lease_generation,
                lease_expires_at, locked_by, last_error, errors, idempotency_key,
                correlation_id, created_at, attempted_at, finished_at
         FROM jobs WHERE id = $1",
        job_id,
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(JobRecord {
        id: row.id,
        kind: row.kind,
        payload: row.payload,
        state: job_state(row.state)?,
        attempt: row.attempt,
        max_attempts: row.max_attempts,
        run_at: row.run_at,
        lease_generation: row.lease_generation,
        lease_expires_at: row.lease_expires_at,
        locked_by: row.locked_by,
        last_error: row.last_error,
        errors: row.errors,
        idempotency_key: row.idempotency_key,
        correlation_id: row.correlation_id,
        created_at: row.created_at,
        attempted_at: row.attempted_at,
        finished_at: row.finished_at,
    }))
}

/// The earliest time a job of `kinds` becomes claimable: the first `run_at` among
/// waiting jobs, or the first lease expiry among running ones (possibly in the past).
/// `None` when there is nothing of those kinds to wait for.
pub async fn next_wakeup(
    pool: &PgPool,
    kinds: &[&str],
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let kinds: Vec<String> = kinds.iter().map(|kind| (*kind).to_owned()).collect();
    // The views are the partial indexes `jobs_claim_idx` and `jobs_running_lease_idx`,
    // whose first keys give each minimum.
    sqlx::query_scalar!(
        "SELECT LEAST(
             (SELECT min(run_at) FROM waiting_jobs WHERE kind = ANY($1)),
             (SELECT min(lease_expires_at) FROM running_jobs WHERE kind = ANY($1)))",
        &kinds,
    )
    .fetch_one(pool)
    .await
}

/// Why an operator's update matched no row.
async fn refusal(pool: &PgPool, job_id: Uuid) -> JobError {
    match sqlx::query_scalar!("SELECT state FROM jobs WHERE id = $1", job_id)
        .fetch_optional(pool)
        .await
    {
        Ok(Some(state)) => match job_state(state) {
            Ok(state) => JobError::WrongState { state },
            Err(err) => JobError::Database(err),
        },
        Ok(None) => JobError::NotFound,
        Err(err) => JobError::Database(err),
    }
}

/// Reads a stored `jobs.state`. The queue's statements keep their exact text (no
/// `"state: _"` override in their columns), so the column arrives as text and is parsed
/// here; a token the domain does not know is a decode error, as a typed column's would be.
fn job_state(stored: String) -> Result<JobState, sqlx::Error> {
    JobState::try_from(stored).map_err(|err| sqlx::Error::Decode(Box::new(err)))
}

/// `error`, cut to what the schema keeps.
fn bounded(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => error[..end].to_owned(),
        None => error.to_owned(),
    }
}
