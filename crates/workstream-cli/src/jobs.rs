//! `workstream jobs`: the operator's view of the job queue.
//!
//! * `list [--state S] [--kind K] [--limit N]`: jobs newest first, with their attempts
//!   and last error (the dead letter is `--state discarded`).
//! * `requeue <job-id> --reason R`: a discarded job back to `available` with its
//!   attempts reset and its error trail kept; recorded in the `system` audit chain.
//! * `cancel <job-id> --reason R`: a job that has not started (`available`,
//!   `retryable`) is cancelled; audited the same way.

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::jobs;

use crate::DatabaseArgs;
use crate::database::Database;

/// The `jobs` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Only jobs in this state (available, running, completed, retryable, discarded, cancelled).
        #[arg(long)]
        state: Option<String>,
        /// Only jobs of this kind (for example `checker.evaluate`).
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put a discarded (dead-lettered) job back in the queue.
    Requeue {
        /// The job.
        job_id: Uuid,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Cancel a job that has not started.
    Cancel {
        /// The job.
        job_id: Uuid,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Runs a `jobs` subcommand.
pub async fn run(command: JobsCommand) -> anyhow::Result<()> {
    match command {
        JobsCommand::List {
            database,
            state,
            kind,
            limit,
        } => {
            let db = Database::open(&database, false).await?;
            let rows = jobs::list(
                &db.pool,
                state.as_deref(),
                kind.as_deref(),
                limit.clamp(1, 10_000),
            )
            .await
            .context("listing jobs")?;
            println!(
                "{:<36}  {:<20}  {:<10}  {:>7}  {:<25}  LAST ERROR",
                "ID", "KIND", "STATE", "ATTEMPT", "CREATED"
            );
            for jobs::JobLine {
                id,
                kind,
                state,
                attempt,
                max_attempts: max,
                last_error: error,
                created,
            } in rows
            {
                // `as_str`: a token's `Display` writes it unpadded.
                let state = state.as_str();
                println!(
                    "{id}  {kind:<20}  {state:<10}  {:>7}  {:<25}  {}",
                    format!("{attempt}/{max}"),
                    created,
                    error.unwrap_or_default().lines().next().unwrap_or_default()
                );
            }
            db.close().await
        }
        JobsCommand::Requeue {
            job_id,
            reason,
            database,
        } => operator_action(&database, job_id, &reason, "job_requeued").await,
        JobsCommand::Cancel {
            job_id,
            reason,
            database,
        } => operator_action(&database, job_id, &reason, "job_cancelled").await,
    }
}

async fn operator_action(
    database: &DatabaseArgs,
    job_id: Uuid,
    reason: &str,
    event: &str,
) -> anyhow::Result<()> {
    if reason.trim().is_empty() {
        anyhow::bail!("--reason must not be blank");
    }
    let db = Database::open(database, false).await?;
    let result = if event == "job_requeued" {
        jobs::requeue(&db.pool, job_id).await
    } else {
        jobs::cancel(&db.pool, job_id).await
    };
    if let Err(err) = result {
        db.close().await?;
        anyhow::bail!("job {job_id}: {err}");
    }
    let mut conn = db.pool.acquire().await?;
    audit::append(
        &mut conn,
        NewAuditEvent {
            entity_type: "job".into(),
            entity_id: Some(job_id),
            event_type: event.into(),
            reason: Some(reason.trim().to_owned()),
            payload: json!({ "principal": "workstream:cli:operator" }),
            ..Default::default()
        },
    )
    .await
    .context("recording the audit event")?;
    drop(conn);
    println!("{event}: {job_id}");
    db.close().await
}
