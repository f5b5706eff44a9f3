//! What the engine counts, for `GET /metrics`.
//!
//! Recorded through the `metrics` facade: the serving process installs the Prometheus
//! recorder (`workstream_api::telemetry`); anywhere else (a CLI command, a unit test)
//! these calls cost a branch and record nothing. Everything here is counted after the
//! transaction that did the work commits, so a rolled-back attempt is never counted as
//! done.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `workstream_checker_run_duration_seconds` (histogram) | `checker` (digest), `name`, `outcome` | one checker's run in the sandbox: `passed`, `warning`, `failed` or `errored` |
//! | `workstream_evaluations_total` | `route` | finished evaluations by the route they gave the packet |
//! | `workstream_job_attempts_total` | `kind`, `outcome` | job attempts by how they ended (`completed`, `retrying`, `discarded`, `lease_lost`, `cancelled`) |
//! | `workstream_jobs_dead_lettered_total` | `kind` | jobs given up for good (a permanent error, or the last attempt failed) |

use workstream_domain::machines::job::JobState;

/// One checker of a finished evaluation (evaluations run with the `checkers` feature).
#[cfg(feature = "checkers")]
#[derive(Debug, Clone)]
pub(crate) struct CheckerObservation {
    /// The component's digest.
    pub digest: String,
    /// The checker's name in the policy.
    pub name: String,
    /// How it ended.
    pub outcome: &'static str,
    /// Its time in the sandbox.
    pub seconds: f64,
}

/// A committed evaluation: its route and each checker's run.
#[cfg(feature = "checkers")]
pub(crate) fn evaluation(route: &'static str, checkers: &[CheckerObservation]) {
    metrics::counter!("workstream_evaluations_total", "route" => route).increment(1);
    for c in checkers {
        metrics::histogram!(
            "workstream_checker_run_duration_seconds",
            "checker" => c.digest.clone(),
            "name" => c.name.clone(),
            "outcome" => c.outcome,
        )
        .record(c.seconds);
    }
}

/// How one job attempt ended: the `outcome` label of `workstream_job_attempts_total`.
///
/// An attempt's end, not a job's state: `retrying` and `lease_lost` end an attempt only,
/// and a `cancelled` attempt (its handler's task was cancelled) leaves the job running
/// until its lease expires. The two that are also where the job ends carry the job
/// state's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    /// The handler completed the job.
    Completed,
    /// It failed and will be retried.
    Retrying,
    /// It failed for good: the job is discarded (dead-lettered).
    Discarded,
    /// Another worker holds the job now; this attempt's work was rolled back.
    LeaseLost,
    /// The handler's task was cancelled.
    Cancelled,
}

impl AttemptOutcome {
    fn label(self) -> &'static str {
        match self {
            AttemptOutcome::Completed => JobState::Completed.as_str(),
            AttemptOutcome::Discarded => JobState::Discarded.as_str(),
            AttemptOutcome::Retrying => "retrying",
            AttemptOutcome::LeaseLost => "lease_lost",
            AttemptOutcome::Cancelled => "cancelled",
        }
    }
}

/// How one job attempt ended.
pub(crate) fn job_attempt(kind: &str, outcome: AttemptOutcome) {
    metrics::counter!("workstream_job_attempts_total", "kind" => kind.to_owned(), "outcome" => outcome.label())
        .increment(1);
    if outcome == AttemptOutcome::Discarded {
        metrics::counter!("workstream_jobs_dead_lettered_total", "kind" => kind.to_owned())
            .increment(1);
    }
}
