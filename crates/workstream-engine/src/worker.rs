//! The job worker: runs the handlers of claimed jobs (docs/architecture.md).
//!
//! A [`Worker`] owns `concurrency` slots. While a slot is free it claims due jobs of the
//! kinds it has handlers for, as many as it has free slots plus up to `prefetch` more,
//! in one statement and one round trip (`workstream_store::jobs::Claimer`), and runs
//! each handler in a task of its own beside a heartbeat that keeps extending the job's
//! lease. The extra claims wait in the process and start, without a round trip, as
//! slots free up: a busy queue costs one claim per batch, not per job. A claim that
//! comes back with fewer jobs than it asked for has drained the queue, so the next one
//! waits for news of work (below) instead of following at once: a trickle of jobs costs
//! one claim each, not one plus an empty one per freed slot. A stopping worker gives
//! back the claims it never started (`jobs::release_unstarted`).
//!
//! The handler writes its results and calls `jobs::complete` in one transaction, so a
//! job's effects commit once, by the worker that still holds the lease. What the worker
//! does after the handler returns depends only on how it ended:
//!
//! | handler returned            | the worker                                            |
//! |-----------------------------|-------------------------------------------------------|
//! | `Ok(())`                    | nothing: the handler completed the job                 |
//! | [`HandlerError::Retryable`] | `jobs::fail`: retried after a backoff, or discarded at the last attempt |
//! | [`HandlerError::Permanent`] | `jobs::discard`: to the dead letter at once            |
//! | [`HandlerError::LeaseLost`] | logs it: another worker owns the job now               |
//! | a panic                     | `jobs::fail`, like a retryable error; the slot lives on |
//!
//! A handler that returns `Ok(())` without completing the job is a bug; the worker fails
//! the attempt (so the job is retried and, if the bug persists, dead-lettered) rather
//! than leave it running until its lease expires. The worker knows without a query:
//! `jobs::complete` marks the claim it was given ([`ClaimedJob::completion`]). A
//! handler that completes but never commits is caught by its lease instead.
//!
//! # Live and background kinds
//!
//! A kind is *live* unless its arguments say it is *background*
//! ([`JobArgs::BACKGROUND`], [`JobHandler::background`]): live jobs are what a person
//! waits on (an evaluation routes a task), background jobs are bulk work nobody waits
//! on (a policy preview re-checking stored packets). Every claim asks for live kinds
//! first, with the prefetch; only the slots that claim left free go to background
//! kinds, at most [`WorkerConfig::background_slots`] of them at once, and background
//! claims are never prefetched, so a burst of background jobs can neither take every
//! slot nor wait in the process ahead of live jobs. The queue has no priority column:
//! the lane is which kinds a claim names.
//!
//! Idle, the worker sleeps until the first of: a `NOTIFY workstream_jobs` for one of its
//! kinds (sent when a job commits), the time the next job becomes due or the next lease
//! expires ([`jobs::next_wakeup`]), or the poll interval. Notifications only make it
//! prompt; the poll makes it certain, so a notification lost with a dropped connection
//! delays a job by at most one poll interval.
//!
//! Shutdown is graceful: the worker stops claiming, waits up to the grace period for the
//! handlers under way, then abandons the rest. An abandoned handler's transaction rolls
//! back and its lease expires, so another worker runs the job again (the attempt counts).
//!
//! The worker knows no job kind: handlers are given to [`Worker::new`], and the
//! registry of every kind Workstream runs is `crate::registry::handlers`. Handlers
//! take typed arguments ([`Work`], with the kinds in [`crate::jobs`]).

use std::collections::{HashMap, VecDeque};
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;
use workstream_store::jobs::{self, Backoff, ClaimedJob, Failed, JobArgs, JobError};

use crate::observed::{self, AttemptOutcome};

/// A boxed, sendable future: what [`JobHandler::run`] returns (a trait with an `async
/// fn` could not be used as `dyn JobHandler`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Carries out jobs of one kind.
pub trait JobHandler: Send + Sync + 'static {
    /// The job kind this handler runs (`^[a-z][a-z0-9_.]{0,99}$`).
    fn kind(&self) -> &'static str;

    /// Whether the kind is background work (see the module docs): claimed only with
    /// the slots live kinds leave free, at most [`WorkerConfig::background_slots`] at
    /// once, never prefetched. Live by default.
    fn background(&self) -> bool {
        false
    }

    /// Runs one attempt of `job`.
    ///
    /// On success the handler must have called `jobs::complete(&mut tx, job)` in the
    /// transaction that wrote its results, and committed it. Calling it first in that
    /// transaction locks the job's row, so nobody re-claims the job while it runs; if it
    /// returns `LeaseLost`, return that (`?` converts it) and let the transaction roll
    /// back. Results should also be keyed by the job (a unique key), so that effects
    /// outside the database, which cannot roll back, are safe to repeat.
    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;
}

/// How a handler's attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth trying again later (a dependency was down, a transaction lost a race).
    #[error("{0}")]
    Retryable(String),
    /// Trying again cannot help (a malformed payload, a record that no longer exists):
    /// the job goes to the dead letter at once.
    #[error("{0}")]
    Permanent(String),
    /// `jobs::complete` refused: another worker holds the job now.
    #[error("the job's lease was lost")]
    LeaseLost,
}

impl HandlerError {
    /// A retryable failure described by `error`.
    pub fn retryable(error: impl Display) -> Self {
        HandlerError::Retryable(error.to_string())
    }

    /// A permanent failure described by `error`.
    pub fn permanent(error: impl Display) -> Self {
        HandlerError::Permanent(error.to_string())
    }
}

impl From<JobError> for HandlerError {
    fn from(error: JobError) -> Self {
        match error {
            JobError::LeaseLost => HandlerError::LeaseLost,
            other => HandlerError::retryable(other),
        }
    }
}

impl From<sqlx::Error> for HandlerError {
    /// Database failures are transient until proven otherwise.
    fn from(error: sqlx::Error) -> Self {
        HandlerError::retryable(error)
    }
}

/// Carries out jobs of one kind, given their typed arguments (River's `Worker`): the
/// kind is its arguments' [`JobArgs::KIND`], and a payload that does not decode into
/// them fails the job permanently before the handler sees it. Registered wrapped in
/// [`Typed`].
pub trait Work: Send + Sync + 'static {
    /// The arguments of the kind this handler runs.
    type Args: JobArgs;

    /// Runs one attempt of `job`, whose payload is `args`; the contract of
    /// [`JobHandler::run`] applies (complete the job in the transaction of its results).
    fn work<'a>(
        &'a self,
        args: Self::Args,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;
}

/// A [`Work`] handler as a [`JobHandler`] the worker can hold beside any other.
pub struct Typed<W>(pub W);

impl<W: Work> JobHandler for Typed<W> {
    fn kind(&self) -> &'static str {
        W::Args::KIND
    }

    fn background(&self) -> bool {
        W::Args::BACKGROUND
    }

    fn run<'a>(
        &'a self,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        match job.args::<W::Args>() {
            Ok(args) => self.0.work(args, job, pool),
            Err(error) => Box::pin(std::future::ready(Err(HandlerError::permanent(format!(
                "a {} job's payload does not fit its arguments: {error}",
                W::Args::KIND
            ))))),
        }
    }
}

/// How a [`Worker`] runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker in `jobs.locked_by` and the error trail (1 to 200 characters);
    /// `hostname:pid` by convention.
    pub worker_id: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Due jobs claimed beyond the free slots, held in this process and started as
    /// slots free up without another claim. A busy queue then costs one claim per
    /// batch instead of one per job; an idle one is unaffected (a claim takes only
    /// what is due). A stopping worker gives its unstarted claims back
    /// (`jobs::release_unstarted`), so they cost no attempt.
    pub prefetch: usize,
    /// How long a claim or heartbeat holds a job. A worker that dies holds its jobs this
    /// long at most.
    pub lease: Duration,
    /// How often a running job's lease is extended; well under `lease`, so a slow
    /// heartbeat or two does not lose it.
    pub heartbeat: Duration,
    /// The longest an idle worker sleeps without looking for work.
    pub poll_interval: Duration,
    /// The delay before a failed job's next attempt.
    pub backoff: Backoff,
    /// How long shutdown waits for running handlers.
    pub shutdown_grace: Duration,
    /// The most slots background kinds hold at once (at least 1; more than
    /// `concurrency` means `concurrency`). They get a slot only when live kinds left it
    /// free, and are never prefetched (see the module docs).
    pub background_slots: usize,
}

/// The default number of job slots: four per core the process may use, from 2 to 32.
///
/// A job spends most of its time waiting (on the database's round trips and commit
/// flushes, on the object store), not on a core: an evaluation's checkers take 2-10 ms
/// of CPU in a 20-40 ms job. With one slot per core the bench machine (2 cores) sat 45%
/// idle while 200 evaluations queued behind its two slots; with four per core the same
/// burst is routed as fast as it is submitted (README, "Benchmarks").
pub fn default_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    cores.saturating_mul(4).clamp(2, 32)
}

/// The default number of background slots: one per two cores, at least one.
///
/// Background work is CPU-bound where live work waits: a policy preview job unpacks and
/// hashes stored packets and runs every checker of two phases over each, while a live
/// evaluation spends most of its time on database round trips. On the bench machine
/// (2 cores) one background slot leaves a core to the live jobs, whose latency is what
/// people see; a bigger host previews faster with one more per two cores.
pub fn default_background_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (cores / 2).max(1)
}

/// Database connections a worker of `slots` slots needs in its process's pool beside
/// the process's other work: each running handler holds one for its transaction and
/// briefly another for a heartbeat or a failure record; the listener holds one, and
/// one more is spare. Claims use two sessions of their own (`jobs::Claimer`).
pub fn connections_for(slots: usize) -> u32 {
    u32::try_from(slots.saturating_mul(2).saturating_add(2)).unwrap_or(u32::MAX)
}

impl WorkerConfig {
    /// Defaults: [`default_concurrency`] slots and as many prefetched claims, a 60 s
    /// lease extended every 20 s, a 5 s poll, the default backoff, a 30 s grace period,
    /// [`default_background_slots`] of the slots for background kinds.
    pub fn new(worker_id: impl Into<String>) -> Self {
        WorkerConfig {
            worker_id: worker_id.into(),
            concurrency: default_concurrency(),
            prefetch: default_concurrency(),
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(20),
            poll_interval: Duration::from_secs(5),
            backoff: Backoff::default(),
            shutdown_grace: Duration::from_secs(30),
            background_slots: default_background_slots(),
        }
    }
}

/// Why a worker could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Two handlers claim the same kind.
    #[error("two handlers for job kind {0}")]
    DuplicateKind(&'static str),
    /// The configuration cannot work.
    #[error("invalid worker configuration: {0}")]
    Config(&'static str),
}

/// Runs jobs from the queue with a fixed set of handlers.
pub struct Worker {
    shared: Arc<Shared>,
}

/// What every job task of a worker needs.
struct Shared {
    pool: PgPool,
    /// Claims go through sessions of their own, one round trip each.
    claimer: jobs::Claimer,
    config: WorkerConfig,
    registry: HashMap<&'static str, Arc<dyn JobHandler>>,
    /// The live kinds, sorted: claimed first, with the prefetch.
    live: Vec<&'static str>,
    /// The background kinds, sorted: claimed with the slots the live claim left.
    background: Vec<&'static str>,
    /// One permit per background job that may run at once
    /// ([`WorkerConfig::background_slots`]); a background job holds one beside its slot.
    background_lane: Arc<Semaphore>,
    /// Wakes the idle dispatch loop: a notification of the queue, or a background job
    /// that ended (its lane may have been what kept the loop idle).
    wake: Arc<Notify>,
    /// Claims waiting for a slot ([`WorkerConfig::prefetch`]), oldest first, with when
    /// they were claimed.
    prefetched: std::sync::Mutex<VecDeque<(Instant, ClaimedJob)>>,
}

/// A due job that claim skipped is locked by another transaction; an idle worker waits
/// at least this long so as not to spin on it.
const MIN_IDLE_WAIT: Duration = Duration::from_millis(100);

impl Worker {
    /// A worker over `pool` running `handlers`.
    pub fn new(
        pool: PgPool,
        config: WorkerConfig,
        handlers: impl IntoIterator<Item = Arc<dyn JobHandler>>,
    ) -> Result<Self, WorkerError> {
        if config.concurrency == 0 {
            return Err(WorkerError::Config("concurrency must be at least 1"));
        }
        if config.heartbeat.is_zero() || config.heartbeat >= config.lease {
            return Err(WorkerError::Config(
                "the heartbeat must be shorter than the lease",
            ));
        }
        if config.background_slots == 0 {
            return Err(WorkerError::Config("background_slots must be at least 1"));
        }
        let mut registry = HashMap::new();
        let (mut live, mut background) = (Vec::new(), Vec::new());
        for handler in handlers {
            let kind = handler.kind();
            if handler.background() {
                background.push(kind);
            } else {
                live.push(kind);
            }
            if registry.insert(kind, handler).is_some() {
                return Err(WorkerError::DuplicateKind(kind));
            }
        }
        live.sort_unstable();
        background.sort_unstable();
        let lane = config.background_slots.min(config.concurrency);
        Ok(Worker {
            shared: Arc::new(Shared {
                claimer: jobs::Claimer::new(&pool),
                pool,
                config,
                registry,
                live,
                background,
                background_lane: Arc::new(Semaphore::new(lane)),
                wake: Arc::new(Notify::new()),
                prefetched: std::sync::Mutex::new(VecDeque::new()),
            }),
        })
    }

    /// The kinds this worker claims, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.shared.registry.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    /// Works jobs until `shutdown` resolves, then drains (see the module docs).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let shared = self.shared.clone();
        let config = &shared.config;
        let kinds = self.kinds();
        tokio::pin!(shutdown);
        if kinds.is_empty() {
            tracing::info!(worker = %config.worker_id, "no job kinds registered; the worker idles");
            shutdown.await;
            return;
        }
        tracing::info!(
            worker = %config.worker_id,
            concurrency = config.concurrency,
            live = ?shared.live,
            background = ?shared.background,
            background_slots = shared.background_lane.available_permits(),
            "worker started"
        );
        let wake = shared.wake.clone();
        let listener = tokio::spawn(listen(shared.pool.clone(), kinds.clone(), wake.clone()));
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let mut running = JoinSet::new();
        let last_claim = Arc::new(AtomicU8::new(FOUND));
        loop {
            while let Some(ended) = running.try_join_next() {
                report_task_end(ended);
            }
            // Prefetched claims wait for a slot, never for news of more work.
            let wait = match last_claim.load(Ordering::Acquire) {
                _ if shared.prefetched_len() > 0 => None,
                EMPTY => Some(idle_wait(&shared).await),
                FAILED => Some(config.poll_interval),
                _ => None,
            };
            if let Some(wait) = wait {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
                // News of work, or time to look again.
                last_claim.store(FOUND, Ordering::Release);
            }
            let slot = tokio::select! {
                biased;
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            };
            // Every other free slot joins this claim. The claim runs beside the loop,
            // so the next freed slot claims at once instead of queueing behind it.
            let mut free = vec![slot];
            while let Ok(more) = slots.clone().try_acquire_owned() {
                free.push(more);
            }
            // Claims already held start first, without a round trip.
            for (claimed_at, job) in shared.take_prefetched(free.len()) {
                let slot = free.pop().expect("no more prefetched jobs than free slots");
                running.spawn(start_prefetched(shared.clone(), claimed_at, job, slot));
            }
            if free.is_empty() {
                continue;
            }
            // A claim that ended while this loop waited for the slot may have found the
            // queue drained (or failed): then the slots go back and the loop waits as
            // above instead of asking again at once. A job enqueued since wakes it.
            if last_claim.load(Ordering::Acquire) != FOUND {
                drop(free);
                continue;
            }
            running.spawn(claim_and_run(shared.clone(), free, last_claim.clone()));
        }
        listener.abort();
        tracing::info!(running = running.len(), "worker stopping: no new claims");
        let drained = tokio::time::timeout(config.shutdown_grace, async {
            while let Some(ended) = running.join_next().await {
                report_task_end(ended);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = running.len(),
                "grace period over; abandoning running jobs (their leases will expire)"
            );
            running.shutdown().await;
        }
        let unstarted: Vec<ClaimedJob> = shared
            .take_prefetched(usize::MAX)
            .into_iter()
            .map(|(_, job)| job)
            .collect();
        match jobs::release_unstarted(&shared.pool, &unstarted).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "unstarted claims given back"),
            Err(err) => tracing::warn!(
                error = %err,
                "could not give back unstarted claims; their leases will expire"
            ),
        }
        shared.claimer.close().await;
        tracing::info!("worker stopped");
    }
}

/// How long an idle worker sleeps: until the next job it could claim now is due or its
/// lease expires, within `[MIN_IDLE_WAIT, poll_interval]`. While the background lane is
/// full only live kinds count (a waiting background job cannot be claimed before a
/// background job ends, and that end wakes the loop), so background jobs waiting for
/// the lane never keep the loop spinning.
async fn idle_wait(shared: &Shared) -> Duration {
    let poll = shared.config.poll_interval;
    let kinds: Vec<&str> = if shared.background_lane.available_permits() == 0 {
        shared.live.clone()
    } else {
        shared
            .live
            .iter()
            .chain(&shared.background)
            .copied()
            .collect()
    };
    if kinds.is_empty() {
        return poll;
    }
    match jobs::next_wakeup(&shared.pool, &kinds).await {
        Ok(Some(at)) => (at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .clamp(MIN_IDLE_WAIT, poll.max(MIN_IDLE_WAIT)),
        Ok(None) => poll,
        Err(err) => {
            tracing::warn!(error = %err, "reading the next wake-up time failed");
            poll
        }
    }
}

/// Forwards `NOTIFY workstream_jobs` for `kinds` to `wake`.
///
/// It runs in a task of its own because `PgListener::recv` must not be cancelled
/// mid-message (the worker's `select!` would); `Notify` keeps one wake-up for a worker
/// that is busy when it arrives.
async fn listen(pool: PgPool, kinds: Vec<&'static str>, wake: Arc<Notify>) {
    let mut listener = loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(jobs::CHANNEL).await {
                Ok(()) => break listener,
                Err(err) => tracing::warn!(error = %err, "LISTEN failed; polling only for now"),
            },
            Err(sqlx::Error::PoolClosed) => return,
            Err(err) => tracing::warn!(error = %err, "LISTEN failed; polling only for now"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if kinds.contains(&notification.payload()) {
                    wake.notify_one();
                }
            }
            // The connection dropped and was re-established: whatever was sent in
            // between is lost, so look for work once.
            Ok(None) => wake.notify_one(),
            Err(sqlx::Error::PoolClosed) => return,
            Err(err) => {
                tracing::warn!(error = %err, "listening for jobs failed; polling only for now");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// What the last claim found, for the dispatch loop ([`Worker::run`]): all it asked for,
/// so more may be due (or the loop has since had news of work).
const FOUND: u8 = 0;
/// The claim got fewer jobs than it asked for, so nothing more was due: the loop sleeps
/// until a notification, the next due time or the poll.
const EMPTY: u8 = 1;
/// The claim failed: the loop waits a poll interval.
const FAILED: u8 = 2;

/// Claims jobs for the `free` slots and runs them; slots no job fills go back at once.
/// Live kinds are claimed first, for every free slot and the prefetch; background kinds
/// only for the slots still free, at most as many as the background lane has permits,
/// and never prefetched.
async fn claim_and_run(
    shared: Arc<Shared>,
    mut free: Vec<OwnedSemaphorePermit>,
    last_claim: Arc<AtomicU8>,
) {
    let config = &shared.config;
    // Dropping this set (a worker abandoning its jobs at shutdown) aborts them all.
    let mut jobs = JoinSet::new();
    // Whether a claim came back with all it asked for: then more may be due.
    let mut full = false;
    let mut failed = false;
    if !shared.live.is_empty() {
        let room = config.prefetch.saturating_sub(shared.prefetched_len());
        let asked = free.len() + room;
        match shared
            .claimer
            .claim_batch(&config.worker_id, &shared.live, config.lease, asked)
            .await
        {
            Ok(claimed) => {
                full |= claimed.len() == asked;
                let mut claimed = claimed.into_iter();
                for job in claimed.by_ref().take(free.len()) {
                    let slot = free.pop().expect("no more jobs than free slots");
                    jobs.spawn(run_job(shared.clone(), job, slot, None));
                }
                // The rest wait for the next free slots (see `WorkerConfig::prefetch`).
                let now = Instant::now();
                let mut prefetched = shared
                    .prefetched
                    .lock()
                    .expect("the prefetch queue is never poisoned");
                let before = prefetched.len();
                prefetched.extend(claimed.map(|job| (now, job)));
                if prefetched.len() > before {
                    // The dispatch loop may be idle: these start as slots free.
                    shared.wake.notify_one();
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "claiming a job failed; retrying after the poll interval");
                failed = true;
            }
        }
    }
    if !failed && !free.is_empty() && !shared.background.is_empty() {
        let mut lane = Vec::new();
        while lane.len() < free.len() {
            match shared.background_lane.clone().try_acquire_owned() {
                Ok(permit) => lane.push(permit),
                Err(_) => break,
            }
        }
        if !lane.is_empty() {
            match shared
                .claimer
                .claim_batch(
                    &config.worker_id,
                    &shared.background,
                    config.lease,
                    lane.len(),
                )
                .await
            {
                Ok(claimed) => {
                    full |= claimed.len() == lane.len();
                    for job in claimed {
                        let slot = free.pop().expect("no more jobs than free slots");
                        let permit = lane.pop().expect("no more jobs than lane permits");
                        jobs.spawn(run_job(shared.clone(), job, slot, Some(permit)));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "claiming a background job failed; retrying after the poll interval");
                    failed = true;
                }
            }
        }
    }
    // Said before the unused slots go back, so that the loop taking one sees it.
    let outcome = if failed {
        FAILED
    } else if full {
        FOUND
    } else {
        EMPTY
    };
    last_claim.store(outcome, Ordering::Release);
    drop(free);
    while let Some(ended) = jobs.join_next().await {
        report_task_end(ended);
    }
}

impl Shared {
    /// Up to `most` prefetched claims, oldest first.
    fn take_prefetched(&self, most: usize) -> Vec<(Instant, ClaimedJob)> {
        let mut queue = self
            .prefetched
            .lock()
            .expect("the prefetch queue is never poisoned");
        let n = most.min(queue.len());
        queue.drain(..n).collect()
    }

    fn prefetched_len(&self) -> usize {
        self.prefetched
            .lock()
            .expect("the prefetch queue is never poisoned")
            .len()
    }
}

/// Runs a prefetched claim in `slot`. A claim that waited more than a heartbeat
/// interval has its lease extended first, so it starts with at least as much lease as
/// a fresh one has before its first heartbeat; one whose lease was lost meanwhile is
/// dropped (another worker has the job).
async fn start_prefetched(
    shared: Arc<Shared>,
    claimed_at: Instant,
    job: ClaimedJob,
    slot: OwnedSemaphorePermit,
) {
    if claimed_at.elapsed() >= shared.config.heartbeat {
        match jobs::heartbeat(&shared.pool, &job, shared.config.lease).await {
            Ok(_) => {}
            Err(JobError::LeaseLost) => {
                tracing::warn!(id = %job.id, "a prefetched claim's lease was lost before it started");
                return;
            }
            // Run it anyway: its own heartbeat will try again.
            Err(err) => {
                tracing::warn!(id = %job.id, error = %err, "extending a prefetched claim failed")
            }
        }
    }
    run_job(shared, job, slot, None).await;
}

/// Runs one claimed job to its end, holding `slot` (and, for a background job, its
/// `lane` permit) until the handler succeeded or its failure is recorded.
async fn run_job(
    shared: Arc<Shared>,
    job: ClaimedJob,
    slot: OwnedSemaphorePermit,
    lane: Option<OwnedSemaphorePermit>,
) {
    // A handler records what its job is about into this span (`Span::current()`), so
    // every line it logs carries them: the evaluation its task, submission and run.
    let span = tracing::info_span!(
        "job",
        id = %job.id,
        kind = %job.kind,
        attempt = job.attempt,
        correlation_id = job.correlation_id.as_deref().unwrap_or(""),
        task_id = tracing::field::Empty,
        submission_id = tracing::field::Empty,
        checker_run_id = tracing::field::Empty,
    );
    async move {
        let job = Arc::new(job);
        let Some(handler) = shared.registry.get(job.kind.as_str()).cloned() else {
            // Claims are limited to registered kinds; this cannot happen.
            tracing::error!("no handler for a claimed job");
            return;
        };
        let (stop, stopped) = watch::channel(false);
        let heartbeat = tokio::spawn(keep_leased(shared.clone(), job.clone(), stopped));
        // The handler runs in a task of its own so that a panic ends only that task;
        // the guard aborts it if this task is abandoned at shutdown.
        let handle = tokio::spawn({
            let job = job.clone();
            let pool = shared.pool.clone();
            async move { handler.run(&job, &pool).await }.in_current_span()
        });
        let _abort = AbortOnDrop(handle.abort_handle());
        let outcome = handle.await;
        // The job's work is committed: the slot can take the next job while the
        // completion is confirmed below.
        let (slot, lane) = if matches!(outcome, Ok(Ok(()))) {
            drop(slot);
            free_lane(&shared, lane);
            (None, None)
        } else {
            (Some(slot), lane)
        };
        let _ = stop.send(true);
        let _ = heartbeat.await;
        settle(&shared, &job, outcome).await;
        drop(slot);
        free_lane(&shared, lane);
    }
    .instrument(span)
    .await
}

/// Gives a background job's lane permit back and wakes the dispatch loop, which may be
/// idle only because the lane was full.
fn free_lane(shared: &Shared, lane: Option<OwnedSemaphorePermit>) {
    if let Some(permit) = lane {
        drop(permit);
        shared.wake.notify_one();
    }
}

/// Records how the handler's attempt ended (see the table in the module docs).
async fn settle(
    shared: &Shared,
    job: &ClaimedJob,
    outcome: Result<Result<(), HandlerError>, tokio::task::JoinError>,
) {
    let observe = |outcome| observed::job_attempt(&job.kind, outcome);
    let failure = match outcome {
        Ok(Ok(())) if job.completion.is_marked() => {
            // `jobs::complete` completed it in the handler's transaction, which the
            // handler committed before returning (if it did not, the job stays running
            // and is rescued when its lease expires).
            tracing::info!("job completed");
            observe(AttemptOutcome::Completed);
            return;
        }
        Ok(Ok(())) => {
            // Not marked: this claim was never passed to `jobs::complete` (a bug, or
            // a job completed by other means). Completed, the job answers LeaseLost.
            match jobs::fail_with(
                &shared.pool,
                job,
                "the handler returned success without completing the job",
                &shared.config.backoff,
            )
            .await
            {
                Err(JobError::LeaseLost) => {
                    tracing::info!("job completed");
                    observe(AttemptOutcome::Completed);
                }
                Ok(_) => tracing::error!("the handler returned success without completing the job"),
                Err(err) => tracing::warn!(error = %err, "could not check the job's completion"),
            }
            return;
        }
        Ok(Err(HandlerError::LeaseLost)) => {
            tracing::warn!(
                "lease lost: another worker owns the job; this attempt's work was rolled back"
            );
            observe(AttemptOutcome::LeaseLost);
            return;
        }
        Ok(Err(HandlerError::Permanent(error))) => {
            match jobs::discard(&shared.pool, job, &error).await {
                Ok(()) => {
                    tracing::warn!(%error, "job discarded (permanent error)");
                    observe(AttemptOutcome::Discarded);
                }
                Err(err) => {
                    tracing::warn!(%error, record_error = %err, "could not discard the job")
                }
            }
            return;
        }
        Ok(Err(HandlerError::Retryable(error))) => error,
        Err(join) if join.is_panic() => format!("the handler panicked: {}", panic_message(join)),
        Err(_) => {
            tracing::warn!("the handler was cancelled; its lease will expire");
            observe(AttemptOutcome::Cancelled);
            return;
        }
    };
    match jobs::fail_with(&shared.pool, job, &failure, &shared.config.backoff).await {
        Ok(Failed::Retrying { run_at }) => {
            tracing::warn!(error = %failure, %run_at, "job failed; will retry");
            observe(AttemptOutcome::Retrying);
        }
        Ok(Failed::Discarded) => {
            tracing::error!(error = %failure, "job failed on its last attempt; discarded");
            observe(AttemptOutcome::Discarded);
        }
        Err(err) => {
            tracing::warn!(error = %failure, record_error = %err, "could not record the failure")
        }
    }
}

/// Extends `job`'s lease every heartbeat interval until `stopped` says the handler
/// ended.
async fn keep_leased(
    shared: Arc<Shared>,
    job: Arc<ClaimedJob>,
    mut stopped: watch::Receiver<bool>,
) {
    let config = &shared.config;
    loop {
        // Only the wait is raced against the stop signal: a heartbeat in flight is never
        // cancelled, so its connection goes back to the pool in a clean state.
        tokio::select! {
            () = tokio::time::sleep(config.heartbeat) => {}
            _ = stopped.changed() => return,
        }
        match jobs::heartbeat(&shared.pool, &job, config.lease).await {
            Ok(_) => {}
            // After the handler's transaction completed the job this is expected.
            Err(JobError::LeaseLost) if *stopped.borrow() => return,
            Err(JobError::LeaseLost) => {
                tracing::warn!("lease lost: the handler's completion will be refused");
                return;
            }
            Err(err) => tracing::warn!(error = %err, "heartbeat failed; trying again"),
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn panic_message(join: tokio::task::JoinError) -> String {
    let payload = join.into_panic();
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "(no message)".to_owned()
    }
}

fn report_task_end(ended: Result<(), tokio::task::JoinError>) {
    if let Err(err) = ended
        && !err.is_cancelled()
    {
        tracing::error!(error = %err, "a job task ended abnormally");
    }
}
