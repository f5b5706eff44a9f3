//! Task lifecycle throughput through the real HTTP API, checker pipeline and job
//! worker, against `pgbench`'s built-in simple-update script on the same cluster: the
//! rate at which this PostgreSQL commits small write transactions, the ceiling for a
//! design that commits once per transition.
//!
//! * Submission to routing: tasks held in progress with admitted packets are submitted
//!   by concurrent clients; the worker runs the locked checker policy over each packet
//!   and routes it to review. The rate counts both transitions (submit, route).
//! * Full cycles: concurrent clients each take a task from creation to acceptance
//!   (create, screen, release, claim, start, upload with pre-submit checks, submit,
//!   checked and routed by the worker, review claim, accept with evidence).
//!
//! * Audit appends into one project: [`APPEND_WRITERS`] connections each commit one
//!   transaction per event (`workstream_store::audit::append`, what every transition
//!   does), against the same appends made the way the audit chain made them before the
//!   ledger: each transaction first locks one chain-head row and holds it to commit, so
//!   the appends of a project ran one at a time. The ratio is what the ledger's design
//!   is worth on this cluster's commit path.
//!
//! Transitions are counted from the audit trail (task events that changed the
//! status), and the submit-to-routed latency from the same events' times, so the
//! figures are what the ledger recorded, not what the client believes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::json;
use uuid::Uuid;

use crate::Scale;
use crate::cluster::{BenchCluster, ProcessCpu, Workload};
use crate::report::{Against, Better, Figure, Report, percentile, sorted};
use crate::world::World;

/// Concurrent clients in both phases.
const CLIENTS: usize = 4;
/// Active tasks a contributor may hold (the lifecycle's fixed cap).
const ACTIVE_TASK_CAP: usize = 2;
/// Concurrent writers of the audit-append measure.
const APPEND_WRITERS: usize = 8;
/// the README's Benchmarks section: submit to first verdict visible, p95.
const SUBMIT_TO_VERDICT_P95_TARGET_MS: f64 = 250.0;

pub async fn run(cluster: &BenchCluster, scale: Scale, report: &mut Report) -> anyhow::Result<()> {
    let routed_tasks: usize = scale.pick(200, 20);
    let cycles = scale.pick(60, 8);
    let pgbench_seconds = scale.pick(20, 5);
    println!(
        "== lifecycle: {routed_tasks} submissions to routing and {cycles} full cycles by \
         {CLIENTS} clients; pgbench simple-update for {pgbench_seconds} s"
    );
    // The full cycles' clients submit as the first CLIENTS submitters; the routed tasks
    // are spread over the others, as many as the active-task cap asks for.
    let routing_submitters = routed_tasks.div_ceil(ACTIVE_TASK_CAP);
    let world =
        Arc::new(World::start("bench-lifecycle", CLIENTS + routing_submitters, CLIENTS).await);

    // Submission to routing.
    let mut prepared = Vec::new();
    for i in 0..routed_tasks {
        let who = &world.submitters[CLIENTS + i / ACTIVE_TASK_CAP];
        let task = world.released_task(&format!("Routed {i}")).await?;
        world.start_task(who, task).await?;
        let admission = world.upload(who, task).await?;
        prepared.push((i % CLIENTS, who.clone(), task, admission));
    }
    let pool = world.server.database.pool().clone();
    let mark = Workload::start(&pool).await?;
    let cpu = Cpu::mark(cluster);
    println!("-- submitting {routed_tasks} admitted packets");
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let world = world.clone();
        let mine: Vec<_> = prepared
            .iter()
            .filter(|(c, _, _, _)| *c == client)
            .cloned()
            .collect();
        clients.spawn(async move {
            for (_, who, task, admission) in mine {
                world.submit(&who, task, &admission).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = clients.join_next().await {
        done??;
    }
    let tasks: Vec<Uuid> = prepared.iter().map(|(_, _, t, _)| *t).collect();
    for task in &tasks {
        world.wait_status(*task, "review_pending").await?;
    }
    let routing_cpu = cpu.since(cluster).per(routed_tasks as f64);
    let (routing_work, routing_profile) = mark.finish(&pool).await?;
    let per_evaluation = routing_work.per(routed_tasks as f64);
    let routing = Ledger::read(&world, &tasks).await?;
    ensure!(
        routing.transitions("evaluation_pending") == routed_tasks
            && routing.transitions("review_pending") == routed_tasks,
        "every submission is recorded once and routed once"
    );
    // The tasks were claimed, started and uploaded before the clock started: the span
    // runs from the first submission to the last route.
    let routing_elapsed = routing.span_from("submitted").unwrap_or(started.elapsed());
    let routing_rate = (2 * routed_tasks) as f64 / routing_elapsed.as_secs_f64();
    // In a burst, submit-to-routed is mostly queueing behind the worker's two slots.
    let burst_to_routed = sorted(routing.latencies_ms("evaluation_pending", "review_pending"));

    // Full cycles.
    let mark = Workload::start(&pool).await?;
    let cpu = Cpu::mark(cluster);
    let before = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let world = world.clone();
        let count = cycles / CLIENTS + usize::from(client < cycles % CLIENTS);
        clients.spawn(async move {
            let mut tasks = Vec::new();
            let submitter = &world.submitters[client];
            let reviewer = &world.reviewers[client];
            for i in 0..count {
                let task = world.released_task(&format!("Cycle {client}-{i}")).await?;
                world.start_task(submitter, task).await?;
                let admission = world.upload(submitter, task).await?;
                world.submit(submitter, task, &admission).await?;
                world.wait_status(task, "review_pending").await?;
                let lease = world.claim_review(reviewer, task).await?;
                world.accept(reviewer, lease).await?;
                tasks.push(task);
            }
            anyhow::Ok(tasks)
        });
    }
    let mut cycled = Vec::new();
    while let Some(done) = clients.join_next().await {
        cycled.extend(done??);
    }
    let cycle_elapsed = before.elapsed();
    for task in &cycled {
        world.wait_status(*task, "accepted").await?;
    }
    let cycles_cpu = cpu.since(cluster);
    let (cycles_work, cycles_profile) = mark.finish(&pool).await?;
    let cycles_ledger = Ledger::read(&world, &cycled).await?;
    ensure!(
        cycles_ledger.transitions("accepted") == cycles,
        "every cycle ends accepted exactly once"
    );
    let cycle_transitions = cycles_ledger.events.len();
    // Each client has one submission in flight at most: the latency a submitter sees.
    let to_routed = sorted(cycles_ledger.latencies_ms("evaluation_pending", "review_pending"));
    let cycle_elapsed = cycles_ledger.span().unwrap_or(cycle_elapsed);
    let cycle_rate = cycles as f64 / cycle_elapsed.as_secs_f64();
    let cycle_transition_rate = cycle_transitions as f64 / cycle_elapsed.as_secs_f64();
    let per_transition = cycles_work.per(cycle_transitions as f64);
    let cycles_cpu = cycles_cpu.per(cycle_transitions as f64);
    let appends = scale.pick(4000, 400);
    let ledger_rate = audit_appends(&world, appends, false).await?;
    let chained_rate = audit_appends(&world, appends, true).await?;
    // The server's `Drop` stops it; the pgbench database is separate.
    drop(world);

    let tps = pgbench(cluster, pgbench_seconds).await?;
    let area = "Task lifecycle";
    let ceiling = format!("pgbench simple-update TPS, {CLIENTS} clients, same cluster");
    report.figure(Figure {
        area,
        measure: format!(
            "submission to routing: transitions/s ({routed_tasks} tasks, packet checked in the sandbox)"
        ),
        ours: routing_rate,
        unit: "/s",
        reference: ceiling.clone(),
        reference_value: tps,
        better: Better::Higher,
        against: Against::Limit,
    });
    report.figure(Figure {
        area,
        measure: format!(
            "full cycles, creation to acceptance: transitions/s ({cycles} cycles, {} transitions each)",
            cycle_transitions / cycles.max(1)
        ),
        ours: cycle_transition_rate,
        unit: "/s",
        reference: ceiling,
        reference_value: tps,
        better: Better::Higher,
        against: Against::Limit,
    });
    report.figure(Figure {
        area,
        measure: format!(
            "submit to routed (checked, verdict stored, queued for review) p95, {CLIENTS} clients in full cycles"
        ),
        ours: percentile(&to_routed, 95.0),
        unit: "ms",
        reference: "target: first verdict visible (README, Benchmarks)".into(),
        reference_value: SUBMIT_TO_VERDICT_P95_TARGET_MS,
        better: Better::Lower,
        against: Against::Target,
    });
    report.figure(Figure {
        area,
        measure: format!(
            "audit appends into one project, {APPEND_WRITERS} writers, one transaction each: appends/s"
        ),
        ours: ledger_rate,
        unit: "/s",
        reference: "the same appends through one locked chain head (the design before the ledger)".into(),
        reference_value: chained_rate,
        better: Better::Higher,
        against: Against::Peer,
    });
    report.note(format!(
        "Task lifecycle: full cycles ran at {cycle_rate:.1} tasks/s; submit to routed p50 \
         {:.0} ms, p99 {:.0} ms in the cycles (audit times); with {routed_tasks} submitted \
         in a burst, p50 {:.0} ms and p95 {:.0} ms (queued behind the worker's {} slots); \
         pgbench ran {pgbench_seconds} s.",
        percentile(&to_routed, 50.0),
        percentile(&to_routed, 99.0),
        percentile(&burst_to_routed, 50.0),
        percentile(&burst_to_routed, 95.0),
        workstream_engine::worker::default_concurrency(),
    ));
    report.note(format!(
        "Task lifecycle, database work: per routed submission (the submit request and its \
         evaluation job, two transitions) {:.0} statements, {:.1} commits, {:.0} rows \
         written, {:.1} KiB of WAL; per transition of the full cycles (every request of \
         the cycle counted) {:.0} statements, {:.1} commits, {:.0} rows written, {:.1} KiB \
         of WAL.",
        per_evaluation.statements,
        per_evaluation.commits,
        per_evaluation.rows_written,
        per_evaluation.wal_bytes / 1024.0,
        per_transition.statements,
        per_transition.commits,
        per_transition.rows_written,
        per_transition.wal_bytes / 1024.0,
    ));
    report.note(format!(
        "Task lifecycle, CPU: per routed submission {:.2} ms in PostgreSQL and {:.2} ms in \
         the bench process (API server, job worker, sandbox and the clients); per transition \
         of the full cycles {:.2} ms and {:.2} ms.",
        routing_cpu.database_ms,
        routing_cpu.process_ms,
        cycles_cpu.database_ms,
        cycles_cpu.process_ms,
    ));
    println!("-- statements of submission to routing, most frequent first (calls, rows, mean ms):");
    for s in routing_profile.iter().take(60) {
        println!(
            "{:>7} {:>7} {:>8.3}  {}",
            s.calls, s.rows, s.mean_ms, s.query
        );
    }
    report.raw(
        "lifecycle",
        json!({
            "clients": CLIENTS,
            "routed_tasks": routed_tasks,
            "routing_seconds": routing_elapsed.as_secs_f64(),
            "routing_transitions_per_second": routing_rate,
            "burst_submit_to_routed_ms": { "p50": percentile(&burst_to_routed, 50.0),
                                           "p95": percentile(&burst_to_routed, 95.0),
                                           "p99": percentile(&burst_to_routed, 99.0) },
            "submit_to_routed_ms": { "p50": percentile(&to_routed, 50.0),
                                     "p95": percentile(&to_routed, 95.0),
                                     "p99": percentile(&to_routed, 99.0) },
            "cycles": cycles,
            "cycle_transitions": cycle_transitions,
            "cycle_seconds": cycle_elapsed.as_secs_f64(),
            "cycles_per_second": cycle_rate,
            "cycle_transitions_per_second": cycle_transition_rate,
            "pgbench_simple_update_tps": tps,
            "pgbench_seconds": pgbench_seconds,
            "cpu_ms_per_routed_submission": routing_cpu,
            "cpu_ms_per_cycle_transition": cycles_cpu,
            "database_work_per_routed_submission": per_evaluation,
            "database_work_per_cycle_transition": per_transition,
            "routing_statements": routing_profile,
            "cycle_statements": cycles_profile,
        }),
    );
    Ok(())
}

/// CPU time spent between two points, by the cluster and by this process (the API
/// server, the job worker with its sandbox, and the clients, which share it), in ms.
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Cpu {
    database_ms: f64,
    process_ms: f64,
}

impl Cpu {
    fn mark(cluster: &BenchCluster) -> Cpu {
        Cpu {
            database_ms: cluster.cpu_seconds() * 1000.0,
            process_ms: ProcessCpu::read(std::process::id()).map_or(f64::NAN, |p| p.own * 1000.0),
        }
    }

    fn since(self, cluster: &BenchCluster) -> Cpu {
        let now = Cpu::mark(cluster);
        Cpu {
            database_ms: now.database_ms - self.database_ms,
            process_ms: now.process_ms - self.process_ms,
        }
    }

    fn per(self, by: f64) -> Cpu {
        Cpu {
            database_ms: self.database_ms / by,
            process_ms: self.process_ms / by,
        }
    }
}

/// The status-changing task events of a set of tasks, from the audit trail.
pub(crate) struct Ledger {
    /// (task, to_status, occurred_at) in time order.
    pub(crate) events: Vec<(Uuid, String, chrono::DateTime<chrono::Utc>)>,
}

impl Ledger {
    pub(crate) async fn read(world: &World, tasks: &[Uuid]) -> anyhow::Result<Ledger> {
        let events = sqlx::query_as(
            "/* bench */ SELECT entity_id, to_status, occurred_at FROM audit_events
              WHERE entity_type = 'task' AND entity_id = ANY($1)
                AND to_status IS NOT NULL AND from_status IS DISTINCT FROM to_status
              ORDER BY occurred_at",
        )
        .bind(tasks)
        .fetch_all(world.server.database.pool())
        .await
        .context("reading the audit trail")?;
        Ok(Ledger { events })
    }

    /// Events that moved a task to `status`.
    pub(crate) fn transitions(&self, status: &str) -> usize {
        self.events.iter().filter(|(_, s, _)| s == status).count()
    }

    /// From the first to the last event.
    fn span(&self) -> Option<Duration> {
        let first = self.events.first()?.2;
        let last = self.events.last()?.2;
        (last - first).to_std().ok().filter(|d| !d.is_zero())
    }

    /// From the first event that moved a task to `status` to the last event.
    fn span_from(&self, status: &str) -> Option<Duration> {
        let first = self.events.iter().find(|e| e.1 == status)?.2;
        let last = self.events.last()?.2;
        (last - first).to_std().ok().filter(|d| !d.is_zero())
    }

    /// Per task, milliseconds from its move to `from` to its move to `to`.
    fn latencies_ms(&self, from: &str, to: &str) -> Vec<f64> {
        let at = |task: Uuid, status: &str| {
            self.events
                .iter()
                .find(|(t, s, _)| *t == task && s == status)
                .map(|e| e.2)
        };
        let mut tasks: Vec<Uuid> = self.events.iter().map(|e| e.0).collect();
        tasks.sort_unstable();
        tasks.dedup();
        tasks
            .into_iter()
            .filter_map(|task| {
                let (a, b) = (at(task, from)?, at(task, to)?);
                Some((b - a).num_microseconds()? as f64 / 1000.0)
            })
            .collect()
    }
}

/// `pgbench -b simple-update` on a database of its own on the same cluster: TPS.
async fn pgbench(cluster: &BenchCluster, seconds: u64) -> anyhow::Result<f64> {
    let url = cluster.create_database("bench_pgbench").await?;
    let run = |args: Vec<String>| {
        let program = cluster.program("pgbench");
        async move {
            let output = tokio::process::Command::new(&program)
                .args(&args)
                .output()
                .await
                .with_context(|| format!("running {}", program.display()))?;
            ensure!(
                output.status.success(),
                "pgbench {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            anyhow::Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        }
    };
    run(vec![
        "-i".into(),
        "-q".into(),
        "-s".into(),
        "10".into(),
        url.clone(),
    ])
    .await?;
    let out = run(vec![
        "-b".into(),
        "simple-update".into(),
        "-c".into(),
        CLIENTS.to_string(),
        "-j".into(),
        "2".into(),
        "-T".into(),
        seconds.to_string(),
        "-n".into(),
        url,
    ])
    .await?;
    out.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .with_context(|| format!("no TPS in pgbench's output:\n{out}"))
}

/// `count` audit appends into the world's project by [`APPEND_WRITERS`] connections, one
/// transaction each, and their rate per second; with `chain_head`, each transaction
/// first locks one row and holds it to commit, as the audit chain did.
async fn audit_appends(world: &World, count: usize, chain_head: bool) -> anyhow::Result<f64> {
    let pool = world.server.database.pool().clone();
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS bench_chain_head (id int PRIMARY KEY, appended bigint NOT NULL); \
         INSERT INTO bench_chain_head VALUES (1, 0) ON CONFLICT DO NOTHING",
    )
    .execute(&pool)
    .await?;
    let project = world.project;
    let started = Instant::now();
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..APPEND_WRITERS {
        let pool = pool.clone();
        let share = count / APPEND_WRITERS + usize::from(writer < count % APPEND_WRITERS);
        writers.spawn(async move {
            for i in 0..share {
                let mut tx = pool.begin().await?;
                if chain_head {
                    sqlx::query("UPDATE bench_chain_head SET appended = appended + 1 WHERE id = 1")
                        .execute(&mut *tx)
                        .await?;
                }
                workstream_store::audit::append(
                    &mut tx,
                    workstream_store::audit::NewAuditEvent {
                        project_id: Some(project),
                        entity_type: "bench".into(),
                        event_type: "bench_appended".into(),
                        payload: json!({ "writer": writer, "i": i }),
                        ..Default::default()
                    },
                )
                .await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = writers.join_next().await {
        done??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}
