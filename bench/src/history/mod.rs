//! Cost that does not grow with history: the same operations timed on a fresh database
//! and again after a busy year has been written into it.
//!
//! 1. A project is set up through the API, and one task of each shape is made there
//!    (accepted after a full cycle, ready, cancelled, draft): the templates.
//! 2. *Fresh*: each operation is timed one request at a time (the ready queue, a task,
//!    its audit trail with inclusion proofs, a claim, and a submission's evaluation
//!    from submit until the worker has routed it), then run once more with
//!    `auto_explain` on to record its plans ([`plans`]).
//! 3. The year is written in bulk ([`fill`]): by default 1,000,000 tasks over 200
//!    projects (a tenth of them in the measured project), 100,000 of them accepted with
//!    their submissions, checker results, reviews, payments and jobs, and their audit
//!    events, sealed into the ledger; then `VACUUM (ANALYZE)`, as autovacuum would have
//!    left it.
//! 4. *Year-full*: the same operations on new tasks of the same project.
//!
//! Each operation's median on the year-full database must be within 2x of the fresh
//! one, and so must the buffers its statements touch (the plans' own count of the work
//! done, which the machine's noise does not move). Sequential scans of history tables
//! in the year-full plans are listed with the figures.

mod fill;
mod plans;

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Scale;
use crate::cluster::{BENCH_QUERY, BenchCluster};
use crate::report::{Against, Better, Figure, Report, percentile, sorted};
use crate::world::World;
use fill::Family;
use plans::Plans;

/// Tasks of the ready queue's first page (its default page size).
const QUEUE_PAGE: usize = 50;

/// How much slower an operation may be on the year-full database.
const GROWTH_TARGET: f64 = 2.0;

/// The template tasks.
struct Templates {
    accepted: Uuid,
    ready: Uuid,
    cancelled: Uuid,
    draft: Uuid,
}

/// One operation's measurements in one phase.
#[derive(Debug, Clone, serde::Serialize)]
struct Measured {
    /// Milliseconds, sorted.
    samples: Vec<f64>,
    plans: Plans,
}

impl Measured {
    fn p50(&self) -> f64 {
        percentile(&self.samples, 50.0)
    }

    fn json(&self) -> Value {
        json!({
            "n": self.samples.len(),
            "p50_ms": self.p50(),
            "p90_ms": percentile(&self.samples, 90.0),
            "p99_ms": percentile(&self.samples, 99.0),
            "plans": self.plans,
        })
    }
}

/// The operations, in the order they are measured.
const OPERATIONS: [&str; 5] = [
    "GET ready queue",
    "GET task (contributor view)",
    "GET audit trail (with proofs)",
    "POST claim",
    "submission evaluated (submit to routed)",
];

/// How many of each operation a phase times.
#[derive(Debug, Clone, Copy)]
struct Counts {
    reads: usize,
    claims: usize,
    evaluations: usize,
}

pub async fn run(cluster: &BenchCluster, scale: Scale, report: &mut Report) -> anyhow::Result<()> {
    let year = scale.pick(1.0, 0.01);
    let counts = Counts {
        reads: scale.pick(200, 40),
        claims: scale.pick(30, 6),
        evaluations: scale.pick(15, 4),
    };
    println!(
        "== history: {OPERATIONS:?} timed on a fresh database, then on one holding a busy \
         year ({:.0} tasks)",
        1_000_000.0 * year
    );
    // Two phases, each one more claim and evaluation than it times (for the plans), at
    // two active tasks per submitter; the first submitter is the templates' and the
    // ready queue's reader.
    let per_phase = (counts.claims + 1).div_ceil(2) + (counts.evaluations + 1).div_ceil(2);
    let world = World::start("bench-history", 1 + 2 * per_phase, 2).await;
    let templates = templates(&world).await?;
    world.server.seal_audit().await;
    let mut submitters = (1..world.submitters.len()).flat_map(|i| [i, i]);

    let fresh = measure(
        &world,
        cluster,
        &templates,
        counts,
        &mut submitters,
        "fresh",
    )
    .await?;

    world.server.seal_audit().await;
    println!("  writing the year:");
    let families = [
        (templates.accepted, "accepted", 100_000.0),
        (templates.ready, "ready", 300_000.0),
        (templates.cancelled, "cancelled", 300_000.0),
        (templates.draft, "draft", 300_000.0),
    ]
    .map(|(task, name, copies)| Family {
        name,
        task,
        copies: (copies * year) as i64,
    });
    let filled = fill::fill(
        world.server.database.url(),
        world.project,
        &families,
        &world.server.audit_key,
    )
    .await?;
    let sizes = table_sizes(world.server.database.pool()).await?;
    println!("  the year: {sizes}");

    let full = measure(
        &world,
        cluster,
        &templates,
        counts,
        &mut submitters,
        "year-full",
    )
    .await?;

    let area = "Year-full database";
    let tasks = sizes["rows"]["tasks"].as_i64().unwrap_or(0);
    let mut raw = serde_json::Map::new();
    for (operation, (fresh, full)) in OPERATIONS.iter().zip(fresh.iter().zip(&full)) {
        report.figure(Figure {
            area,
            measure: format!("{operation}: p50 with {tasks} tasks"),
            ours: full.p50(),
            unit: "ms",
            reference: format!(
                "target: {GROWTH_TARGET}x its p50 on the fresh database ({:.2} ms)",
                fresh.p50()
            ),
            reference_value: GROWTH_TARGET * fresh.p50(),
            better: Better::Lower,
            against: Against::Target,
        });
        report.figure(Figure {
            area,
            measure: format!("{operation}: buffers its statements touched"),
            ours: full.plans.buffers as f64,
            unit: "buffers",
            reference: format!(
                "target: {GROWTH_TARGET}x the fresh database's ({})",
                fresh.plans.buffers
            ),
            reference_value: GROWTH_TARGET * fresh.plans.buffers as f64,
            better: Better::Lower,
            against: Against::Target,
        });
        if !full.plans.history_scans.is_empty() {
            report.note(format!(
                "{operation} on the year-full database scans history tables: {}",
                full.plans.history_scans.join(", ")
            ));
        }
        raw.insert(
            (*operation).to_owned(),
            json!({ "fresh": fresh.json(), "year_full": full.json() }),
        );
    }
    raw.insert("database".into(), sizes);
    raw.insert("fill".into(), serde_json::to_value(&filled)?);
    report.raw("history", Value::Object(raw));
    Ok(())
}

/// Makes the template tasks and waits until the accepted one's consequences (jobs,
/// payment delivery) have all finished, so nothing of a copy waits for work.
async fn templates(world: &World) -> anyhow::Result<Templates> {
    let submitter = &world.submitters[0];
    let reviewer = &world.reviewers[0];
    let accepted = world.released_task("Template: accepted").await?;
    world.start_task(submitter, accepted).await?;
    let admission = world.upload(submitter, accepted).await?;
    world.submit(submitter, accepted, &admission).await?;
    world.wait_status(accepted, "review_pending").await?;
    let lease = world.claim_review(reviewer, accepted).await?;
    world.accept(reviewer, lease).await?;
    world.wait_status(accepted, "accepted").await?;
    let ready = world.released_task("Template: ready").await?;
    let cancelled = world.released_task("Template: cancelled").await?;
    world
        .post(
            &world.pm,
            &format!("/tasks/{cancelled}/cancel"),
            json!({"reason": "superseded"}),
            200,
        )
        .await?;
    let draft = world.created_task("Template: draft").await?;
    // A full first page of the ready queue in both phases.
    for i in 0..QUEUE_PAGE {
        world.released_task(&format!("Queued {i}")).await?;
    }

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let waiting: i64 = sqlx::query_scalar(&format!(
            "{BENCH_QUERY} SELECT (SELECT count(*) FROM jobs \
                                  WHERE state NOT IN ('completed', 'discarded', 'cancelled')) \
                             + (SELECT count(*) FROM award_delivery_outbox \
                                  WHERE state NOT IN ('acknowledged', 'failed'))"
        ))
        .fetch_one(world.server.database.pool())
        .await?;
        if waiting == 0 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "{waiting} jobs and deliveries still unfinished after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Templates {
        accepted,
        ready,
        cancelled,
        draft,
    })
}

/// Times every operation and records its plans: one [`Measured`] per
/// [`OPERATIONS`] entry.
async fn measure(
    world: &World,
    cluster: &BenchCluster,
    templates: &Templates,
    counts: Counts,
    submitters: &mut impl Iterator<Item = usize>,
    phase: &str,
) -> anyhow::Result<Vec<Measured>> {
    // Tasks to claim, and tasks held with admitted packets to submit, one more of each
    // than is timed.
    let mut claims = Vec::new();
    for i in 0..=counts.claims {
        let who = submitters.next().context("enough submitters")?;
        let task = world.released_task(&format!("{phase} claim {i}")).await?;
        claims.push((who, task));
    }
    let mut submissions = Vec::new();
    for i in 0..=counts.evaluations {
        let who = submitters.next().context("enough submitters")?;
        let task = world
            .released_task(&format!("{phase} evaluation {i}"))
            .await?;
        world.start_task(&world.submitters[who], task).await?;
        let admission = world.upload(&world.submitters[who], task).await?;
        submissions.push((who, task, admission));
    }
    world.server.seal_audit().await;

    let reader = &world.submitters[0];
    let queue = format!("/projects/{}/tasks/ready", world.project);
    // The contributor's view of a task, which a submitter of the project may read
    // while it is ready.
    let task = format!("/tasks/{}", templates.ready);
    let trail = format!("/tasks/{}/audit-trail", templates.accepted);
    let claim = |(who, task): (usize, Uuid)| async move {
        world
            .post(
                &world.submitters[who],
                &format!("/tasks/{task}/claim"),
                json!({}),
                200,
            )
            .await
            .map(drop)
    };
    let evaluate = |(who, task, admission): (usize, Uuid, String)| async move {
        world
            .submit(&world.submitters[who], task, &admission)
            .await?;
        world
            .wait_status_every(task, "review_pending", Duration::from_millis(2))
            .await
    };

    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); OPERATIONS.len()];
    for _ in 0..counts.reads {
        samples[0].push(timed(world.get(reader, &queue)).await?);
        samples[1].push(timed(world.get(reader, &task)).await?);
        samples[2].push(timed(world.get(&world.pm, &trail)).await?);
    }
    let (claim_plan, timed_claims) = claims.split_first().context("a claim")?;
    for &c in timed_claims {
        samples[3].push(timed(claim(c)).await?);
    }
    let (submission_plan, timed_submissions) = submissions.split_first().context("a submission")?;
    for s in timed_submissions {
        samples[4].push(timed(evaluate(s.clone())).await?);
    }

    // Once more each, with the plans logged.
    let pool = world.server.database.pool();
    let log = cluster.log();
    plans::start(pool).await?;
    let mut captured = Vec::new();
    for operation in 0..OPERATIONS.len() {
        let from = plans::mark(&log);
        match operation {
            0 => world.get(reader, &queue).await.map(drop)?,
            1 => world.get(reader, &task).await.map(drop)?,
            2 => world.get(&world.pm, &trail).await.map(drop)?,
            3 => claim(*claim_plan).await?,
            _ => evaluate(submission_plan.clone()).await?,
        }
        // The server writes the log as statements end.
        tokio::time::sleep(Duration::from_millis(300)).await;
        captured.push(plans::read(&log, from)?);
    }
    plans::stop(pool).await?;

    let measured: Vec<Measured> = samples
        .into_iter()
        .zip(captured)
        .map(|(samples, plans)| Measured {
            samples: sorted(samples),
            plans,
        })
        .collect();
    for (operation, m) in OPERATIONS.iter().zip(&measured) {
        println!(
            "  {phase}: {operation}: p50 {:.2} ms, p99 {:.2} ms; {} statements, {} buffers{}",
            m.p50(),
            percentile(&m.samples, 99.0),
            m.plans.statements,
            m.plans.buffers,
            if m.plans.history_scans.is_empty() {
                String::new()
            } else {
                format!("; scans {}", m.plans.history_scans.join(", "))
            }
        );
    }
    Ok(measured)
}

/// How long `work` took, in milliseconds.
async fn timed<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<f64> {
    let started = Instant::now();
    work.await?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// Rows (as the statistics count them) and bytes of the biggest tables, and the
/// database's size.
async fn table_sizes(pool: &sqlx::PgPool) -> anyhow::Result<Value> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "{BENCH_QUERY} SELECT c.relname::text, c.reltuples::bigint, pg_total_relation_size(c.oid) \
           FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace \
          ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 16"
    ))
    .fetch_all(pool)
    .await?;
    let database: i64 = sqlx::query_scalar(&format!(
        "{BENCH_QUERY} SELECT pg_database_size(current_database())"
    ))
    .fetch_one(pool)
    .await?;
    Ok(json!({
        "database_bytes": database,
        "rows": rows.iter().map(|(t, n, _)| (t.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "bytes": rows.iter().map(|(t, _, b)| (t.clone(), json!(b))).collect::<serde_json::Map<_, _>>(),
    }))
}
