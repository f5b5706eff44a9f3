//! HTTP latency under a steady load from `wrk` on loopback: the ready queue, a task,
//! the review packet and submission, each against the same server's `/health` at the
//! same rate (no authentication, no database: the floor of the HTTP stack here).
//!
//! `wrk` keeps a fixed number of connections, each pausing a fixed think time between
//! requests (`bench/wrk/bench.lua`), so the rate stays near the one asked for; the
//! report gives the rate achieved. Submissions need a task and an admitted packet
//! each: they are prepared first and sent in order, and the run is sized so that no
//! request repeats. Every answer must be the documented success status.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Scale;
use crate::cluster::BenchCluster;
use crate::report::{Against, Better, Figure, Report};
use crate::tools;
use crate::world::World;

/// Tasks in the ready queue being read.
const QUEUE_TASKS: usize = 50;

/// What one `wrk` run measured.
#[derive(Debug, Clone)]
struct Measured {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn json(&self) -> Value {
        json!({ "requests": self.requests, "seconds": self.seconds, "rate": self.rate(),
                "p50_ms": self.p50_ms, "p99_ms": self.p99_ms })
    }
}

/// A load shape: connections and think time.
#[derive(Debug, Clone, Copy)]
struct Load {
    connections: usize,
    delay_ms: u64,
    seconds: u64,
}

pub async fn run(_cluster: &BenchCluster, scale: Scale, report: &mut Report) -> anyhow::Result<()> {
    let wrk = tools::wrk()?;
    // About 200 reads/s and 20 submissions/s.
    let reads = Load {
        connections: 4,
        delay_ms: 20,
        seconds: scale.pick(10, 3),
    };
    let submissions = Load {
        connections: 2,
        delay_ms: 100,
        seconds: scale.pick(10, 2),
    };
    // At most connections × seconds × 1000 / delay requests fit the run.
    let submission_tasks = (submissions.connections as u64 * submissions.seconds * 1000
        / submissions.delay_ms) as usize;
    println!(
        "== HTTP: wrk on loopback, reads at ~{} req/s for {} s, submissions at ~{} req/s \
         ({submission_tasks} tasks)",
        reads.connections as u64 * 1000 / reads.delay_ms,
        reads.seconds,
        submissions.connections as u64 * 1000 / submissions.delay_ms
    );

    // Submitters hold two active tasks each (the lifecycle's cap): the reader's task
    // under review, and the submitted tasks two per submitter after it.
    let world = World::start("bench-http", 1 + submission_tasks.div_ceil(2), 2).await;
    let reader = &world.submitters[0];
    let reviewer = &world.reviewers[0];
    for i in 0..QUEUE_TASKS {
        world.released_task(&format!("Queued {i}")).await?;
    }
    let reviewed = world.released_task("Under review").await?;
    world.start_task(reader, reviewed).await?;
    let admission = world.upload(reader, reviewed).await?;
    world.submit(reader, reviewed, &admission).await?;
    world.wait_status(reviewed, "review_pending").await?;
    let lease = world.claim_review(reviewer, reviewed).await?;
    let mut lines = String::new();
    let mut submitted = Vec::new();
    for i in 0..submission_tasks {
        let submitter = &world.submitters[1 + i / 2];
        let task = world.released_task(&format!("Submitted {i}")).await?;
        world.start_task(submitter, task).await?;
        let admission = world.upload(submitter, task).await?;
        lines.push_str(&format!(
            "POST\t/api/v1/tasks/{task}/submissions\t{}\t{}\t{}\n",
            Uuid::now_v7(),
            submitter.auth(),
            json!({ "admission_id": admission })
        ));
        submitted.push(task);
    }
    let scratch = tempfile::tempdir()?;
    let requests_file = scratch.path().join("submissions.tsv");
    std::fs::write(&requests_file, lines)?;

    let queue = format!("/api/v1/projects/{}/tasks/ready", world.project);
    let queued = world.get(reader, &queue["/api/v1".len()..]).await?;
    ensure!(
        queued["items"].as_array().map(Vec::len) == Some(QUEUE_TASKS),
        "the ready queue holds the {QUEUE_TASKS} released tasks: {queued}"
    );
    let task_path = format!("/api/v1/tasks/{reviewed}");
    let packet_path = format!("/api/v1/reviews/leases/{lease}");
    world.get(reader, &task_path["/api/v1".len()..]).await?;
    world.get(reviewer, &packet_path["/api/v1".len()..]).await?;

    let base = world.server.url("");
    let bearer = |actor: &workstream_e2e::TestActor| actor.auth();
    let floor = wrk_run(&wrk, &base, "/health", None, None, reads).await?;
    let measured = [
        (
            format!("GET ready queue ({QUEUE_TASKS} tasks)"),
            wrk_run(&wrk, &base, &queue, Some(bearer(reader)), None, reads).await?,
        ),
        (
            "GET task".to_owned(),
            wrk_run(&wrk, &base, &task_path, Some(bearer(reader)), None, reads).await?,
        ),
        (
            "GET review packet (lease holder)".to_owned(),
            wrk_run(
                &wrk,
                &base,
                &packet_path,
                Some(bearer(reviewer)),
                None,
                reads,
            )
            .await?,
        ),
    ];
    let floor_submissions = wrk_run(&wrk, &base, "/health", None, None, submissions).await?;
    let submission = wrk_run(&wrk, &base, "/", None, Some(&requests_file), submissions).await?;
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM submissions WHERE task_id = ANY($1)")
            .bind(&submitted)
            .fetch_one(world.server.database.pool())
            .await?;
    ensure!(
        recorded as u64 == submission.requests,
        "{} submission requests but {recorded} submissions recorded",
        submission.requests
    );

    let area = "HTTP (wrk, loopback)";
    let reference = |floor: &Measured| format!("`GET /health` at {:.0} req/s", floor.rate());
    let mut rows: Vec<(String, &Measured, &Measured)> = measured
        .iter()
        .map(|(name, m)| (name.clone(), m, &floor))
        .collect();
    rows.push((
        "POST submission (admitted packet)".to_owned(),
        &submission,
        &floor_submissions,
    ));
    for (name, m, floor) in rows {
        for (p, ours, theirs) in [(50, m.p50_ms, floor.p50_ms), (99, m.p99_ms, floor.p99_ms)] {
            report.figure(Figure {
                area,
                measure: format!("{name} p{p} at {:.0} req/s", m.rate()),
                ours,
                unit: "ms",
                reference: reference(floor),
                reference_value: theirs,
                better: Better::Lower,
                against: Against::Limit,
            });
        }
    }
    report.raw(
        "http",
        json!({
            "health_at_read_rate": floor.json(),
            "health_at_submission_rate": floor_submissions.json(),
            "ready_queue": measured[0].1.json(),
            "task": measured[1].1.json(),
            "review_packet": measured[2].1.json(),
            "submission": submission.json(),
        }),
    );
    Ok(())
}

/// One `wrk` run against `base` + `path` (or the requests in `requests`).
async fn wrk_run(
    wrk: &Path,
    base: &str,
    path: &str,
    authorization: Option<String>,
    requests: Option<&Path>,
    load: Load,
) -> anyhow::Result<Measured> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut command = tokio::process::Command::new(wrk);
    command
        .args(["-t1", &format!("-c{}", load.connections)])
        .arg(format!("-d{}s", load.seconds))
        .arg("-s")
        .arg(tools::bench_dir().join("wrk/bench.lua"))
        .env("WRK_DELAY_MS", load.delay_ms.to_string())
        .env(
            "WRK_REQUESTS",
            requests
                .map(|p| p.as_os_str().to_owned())
                .unwrap_or_default(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(authorization) = authorization {
        command
            .arg("-H")
            .arg(format!("Authorization: {authorization}"));
    }
    command.arg(&url);
    let output = command.output().await.context("running wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "wrk {url}: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .with_context(|| format!("no result line from wrk:\n{stdout}"))?;
    let v: Value = serde_json::from_str(line)?;
    let field = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    ensure!(
        field("socket_errors") == 0.0 && field("status_errors") == 0.0,
        "wrk {url}: every request must succeed: {line}"
    );
    let measured = Measured {
        requests: field("requests") as u64,
        seconds: field("duration_us") / 1e6,
        p50_ms: field("p50_us") / 1000.0,
        p99_ms: field("p99_us") / 1000.0,
    };
    println!(
        "  wrk {path}: {} requests, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        measured.requests,
        measured.rate(),
        measured.p50_ms,
        measured.p99_ms
    );
    Ok(measured)
}
