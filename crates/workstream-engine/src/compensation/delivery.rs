//! The `compensation.deliver` job: one outbox row to its bound adapter (architecture
//! docs/security.md; docs/rules.md; R39, R43, R45).
//!
//! The review decision writes an award, its projection and an `award_created` outbox
//! row, and queues this job for the row ([`super::awards`]). One attempt:
//!
//! 1. **Read** (no lock): the row, its award's binding and route key. A row already
//!    `acknowledged` just completes the job (a replay). A binding that is not `active`
//!    blocks new deliveries (R45): the row stays as it is, with the reason in
//!    `last_error`, and the attempt fails as retryable, so the job comes back with
//!    backoff and delivers once the binding is reactivated.
//! 2. **Dispatch** (own short transaction): the row becomes `dispatched`, `attempts`
//!    +1. Committed before the adapter is called, so a crash mid-call leaves a trace.
//! 3. **Call the adapter** (no transaction, no lock, R43), chosen by the binding's
//!    route key ([`AdapterRegistry`]). No adapter for the route, or an adapter error:
//!    the row becomes `failed` with `last_error` and the attempt fails as retryable.
//! 4. **Acknowledge** (one transaction, `jobs::complete` first so only the lease
//!    holder commits): the row becomes `acknowledged` with the adapter's reference,
//!    the projection is refreshed from the facts (`acknowledged_by_adapter`), and an
//!    audit event `compensation_award_delivered` is appended.
//!
//! Reactivating a suspended binding queues a fresh job for each of its undelivered rows
//! ([`resume_binding`]), so waiting awards go out at once rather than at their job's
//! next backoff (or never, had it used its last attempt meanwhile).
//!
//! A crash between 3 and 4 runs the whole attempt again; the adapter sees the same
//! `delivery_id` and answers with the same reference ([`super::adapters`]), so the
//! delivery happens once in effect. Nothing here touches a task, an acceptance, a
//! contribution record or an award: a delivery that never succeeds leaves acceptance
//! as it was (R39, AS48); reconciliation reports it.

use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;
use workstream_domain::machines::compensation::{
    AdapterBindingStatus, DeliveryStatus, OutboxState,
};
use workstream_store::audit::{self, NewAuditEvent};
use workstream_store::jobs::{self, ClaimedJob};

use super::adapters::{AdapterRegistry, AwardDelivery};
use super::projection;
use crate::jobs::{DeliveryArgs, JobArgs};
use crate::worker::{BoxFuture, HandlerError, Work};

/// The `compensation.deliver` job handler.
#[derive(Debug, Clone, Default)]
pub struct DeliverAward {
    adapters: AdapterRegistry,
}

impl DeliverAward {
    /// A handler delivering through `adapters`.
    pub fn new(adapters: AdapterRegistry) -> DeliverAward {
        DeliverAward { adapters }
    }
}

impl Work for DeliverAward {
    type Args = DeliveryArgs;

    fn work<'a>(
        &'a self,
        args: DeliveryArgs,
        job: &'a ClaimedJob,
        pool: &'a PgPool,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(deliver(&self.adapters, args.outbox_id, job, pool))
    }
}

/// What step 1 reads.
struct OutboxRow {
    /// The row's state (`acknowledged` already: a replay).
    state: OutboxState,
    compensation_award_id: Uuid,
    project_id: Uuid,
    event_type: String,
    payload: Value,
    route_key: String,
    binding_status: AdapterBindingStatus,
}

/// The longest `last_error` kept (the column's CHECK).
const MAX_ERROR_CHARS: usize = 8000;

fn bounded(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// Records a failed delivery on the outbox row (`failed`, unless it was acknowledged
/// meanwhile) and returns the retryable error for the worker.
async fn failed(pool: &PgPool, outbox_id: Uuid, error: String) -> HandlerError {
    let written = sqlx::query!(
        "UPDATE award_delivery_outbox SET state = $3, last_error = $2 \
         WHERE id = $1 AND state <> $4",
        outbox_id,
        bounded(&error),
        OutboxState::Failed.as_str(),
        OutboxState::Acknowledged.as_str(),
    )
    .execute(pool)
    .await;
    if let Err(err) = written {
        tracing::warn!(%outbox_id, %err, "could not record a failed delivery");
    }
    HandlerError::retryable(error)
}

async fn deliver(
    adapters: &AdapterRegistry,
    outbox_id: Uuid,
    job: &ClaimedJob,
    pool: &PgPool,
) -> Result<(), HandlerError> {
    // 1. Read.
    let row = sqlx::query_as!(
        OutboxRow,
        r#"SELECT o.state AS "state: _", o.compensation_award_id, o.project_id,
             o.event_type, o.payload, b.route_key, b.status AS "binding_status: _"
           FROM award_delivery_outbox o
           JOIN project_compensation_adapter_bindings b ON b.id = o.adapter_binding_id
           WHERE o.id = $1"#,
        outbox_id,
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Err(HandlerError::permanent(format!(
            "no award delivery outbox row {outbox_id}"
        )));
    };
    if row.state == OutboxState::Acknowledged {
        let mut tx = pool.begin().await?;
        jobs::complete(&mut tx, job).await?;
        tx.commit().await?;
        return Ok(());
    }
    if row.binding_status != AdapterBindingStatus::Active {
        // R45: no new delivery through a suspended (or retired) binding. The award
        // stays pending; the job retries with backoff.
        let reason = format!(
            "adapter_binding_{}: deliveries wait until the binding is active",
            row.binding_status
        );
        sqlx::query!(
            "UPDATE award_delivery_outbox SET last_error = $2 WHERE id = $1 AND state <> $3",
            outbox_id,
            &reason,
            OutboxState::Acknowledged.as_str(),
        )
        .execute(pool)
        .await?;
        return Err(HandlerError::retryable(reason));
    }

    // 2. Dispatch.
    sqlx::query!(
        "UPDATE award_delivery_outbox SET state = $2, attempts = attempts + 1, \
           dispatched_at = now() WHERE id = $1 AND state <> $3",
        outbox_id,
        OutboxState::Dispatched.as_str(),
        OutboxState::Acknowledged.as_str(),
    )
    .execute(pool)
    .await?;

    // 3. Call the adapter, outside any transaction.
    let Some(adapter) = adapters.resolve(&row.route_key) else {
        return Err(failed(
            pool,
            outbox_id,
            format!(
                "no_adapter_for_route: no adapter serves route key {}",
                row.route_key
            ),
        )
        .await);
    };
    let delivery = AwardDelivery {
        delivery_id: outbox_id,
        award_id: row.compensation_award_id,
        project_id: row.project_id,
        route_key: row.route_key.clone(),
        event_type: row.event_type.clone(),
        payload: row.payload.clone(),
    };
    let ack = match adapter.deliver(pool, &delivery).await {
        Ok(ack) => ack,
        Err(err) => {
            return Err(failed(
                pool,
                outbox_id,
                format!("adapter_error: {} adapter: {err}", adapter.name()),
            )
            .await);
        }
    };

    // 4. Acknowledge.
    let mut tx = pool.begin().await?;
    jobs::complete(&mut tx, job).await?;
    projection::lock_award(&mut tx, row.compensation_award_id)
        .await
        .map_err(command)?;
    let acknowledged = sqlx::query!(
        "UPDATE award_delivery_outbox SET state = $3, acknowledged_at = now(), \
           adapter_reference = $2, last_error = NULL WHERE id = $1 AND state <> $3",
        outbox_id,
        &ack.adapter_reference,
        OutboxState::Acknowledged.as_str(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if acknowledged == 1 {
        projection::refresh(&mut tx, row.compensation_award_id)
            .await
            .map_err(command)?;
        audit::append(
            &mut tx,
            NewAuditEvent {
                project_id: Some(row.project_id),
                entity_type: "compensation_award".into(),
                entity_id: Some(row.compensation_award_id),
                event_type: "compensation_award_delivered".into(),
                from_status: Some(DeliveryStatus::PendingDelivery.to_string()),
                to_status: Some(DeliveryStatus::AcknowledgedByAdapter.to_string()),
                payload: json!({
                    "outbox_id": outbox_id,
                    "route_key": row.route_key,
                    "adapter": adapter.name(),
                    "adapter_reference": ack.adapter_reference,
                    "job_id": job.id,
                }),
                correlation_id: job.correlation_id.clone(),
                ..Default::default()
            },
        )
        .await
        .map_err(HandlerError::retryable)?;
    }
    tx.commit().await?;
    Ok(())
}

/// Queues a new delivery job for every outbox row of `binding_id` not yet acknowledged,
/// in the caller's transaction (the binding's reactivation). `lifecycle_version` (the
/// binding's version after the change) keys the jobs, so each reactivation queues at
/// most one job per row. A job still retrying from before may run too: delivery is
/// idempotent by outbox row. Returns how many rows were queued.
pub async fn resume_binding(
    conn: &mut sqlx::PgConnection,
    binding_id: Uuid,
    lifecycle_version: i32,
    correlation_id: Option<&str>,
) -> Result<usize, crate::CommandError> {
    let waiting = sqlx::query_scalar!(
        "SELECT id FROM award_delivery_outbox WHERE adapter_binding_id = $1 \
           AND state <> $2 ORDER BY id",
        binding_id,
        OutboxState::Acknowledged.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    for outbox_id in &waiting {
        let job = jobs::enqueue(
            conn,
            jobs::NewJob {
                idempotency_key: Some(format!(
                    "{}:{outbox_id}:binding-v{lifecycle_version}",
                    DeliveryArgs::KIND
                )),
                correlation_id: correlation_id.map(str::to_owned),
                ..jobs::NewJob::of(&DeliveryArgs {
                    outbox_id: *outbox_id,
                })
            },
        )
        .await?;
        sqlx::query!(
            "UPDATE award_delivery_outbox SET job_id = $2 WHERE id = $1",
            outbox_id,
            job,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(waiting.len())
}

fn command(error: crate::CommandError) -> HandlerError {
    HandlerError::retryable(format!("{}: {}", error.code, error.message))
}
