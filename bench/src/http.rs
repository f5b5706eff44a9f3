//! HTTP latency under load on loopback: the ready queue, a task, the review packet and
//! submission, each against the same server's `/health` at the same rate (no
//! authentication, no database: the floor of the HTTP stack here).
//!
//! * Reads: `oha` at a constant rate of 500 and then 1000 requests/s for 10 s each,
//!   with its latency correction (a request's time counts from when it was due, so a
//!   stall is not hidden by the requests it delayed).
//! * Submissions: each needs a task and an admitted packet of its own, sent by that
//!   task's contributor, which a fixed-request generator cannot send; they are prepared
//!   first and sent in order by `wrk` (`bench/wrk/bench.lua`: a fixed number of
//!   connections, each pausing a fixed think time), so the rate is the one achieved,
//!   about 20/s, and the run is sized so that no request repeats.
//!
//! Every answer must be the documented success status.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Scale;
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
    /// The constant rate asked for (`oha`); `wrk` has none.
    asked: Option<u32>,
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

/// The constant rates the reads are measured at, requests/s.
const READ_RATES: [u32; 2] = [500, 1000];

pub async fn run(target: &Path, scale: Scale, report: &mut Report) -> anyhow::Result<()> {
    let wrk = tools::wrk()?;
    let oha = tools::oha(target)?;
    let read_seconds = scale.pick(10, 2);
    let submissions = Load {
        connections: 2,
        delay_ms: 100,
        seconds: scale.pick(10, 2),
    };
    // At most connections × seconds × 1000 / delay requests fit the run.
    let submission_tasks = (submissions.connections as u64 * submissions.seconds * 1000
        / submissions.delay_ms) as usize;
    println!(
        "== HTTP on loopback: reads by oha at {READ_RATES:?} req/s for {read_seconds} s each, \
         submissions by wrk at ~{} req/s ({submission_tasks} tasks)",
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
    let reads = [
        (
            format!("GET ready queue ({QUEUE_TASKS} tasks)"),
            queue,
            reader,
        ),
        ("GET task".to_owned(), task_path, reader),
        (
            "GET review packet (lease holder)".to_owned(),
            packet_path,
            reviewer,
        ),
    ];
    let mut read_rows = Vec::new();
    let mut read_raw = serde_json::Map::new();
    for rate in READ_RATES {
        let floor = oha_run(&oha, &base, "/health", None, rate, read_seconds).await?;
        read_raw.insert(format!("health_at_{rate}"), floor.json());
        for (name, path, who) in &reads {
            let measured = oha_run(&oha, &base, path, Some(who.auth()), rate, read_seconds).await?;
            read_raw.insert(format!("{name} at {rate}"), measured.json());
            read_rows.push((name.clone(), measured, floor.clone()));
        }
    }
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

    let area = "HTTP (loopback)";
    let reference = |floor: &Measured| format!("`GET /health` at {:.0} req/s", floor.rate());
    let mut rows: Vec<(String, &Measured, &Measured)> = read_rows
        .iter()
        .map(|(name, m, floor)| (format!("{name} (oha)"), m, floor))
        .collect();
    rows.push((
        "POST submission (admitted packet, wrk)".to_owned(),
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
    // The target: reads at p99 <= 20 ms at 500 req/s.
    for (name, m, _) in read_rows.iter().filter(|(_, m, _)| m.asked == Some(500)) {
        report.figure(Figure {
            area,
            measure: format!("{name} (oha) p99 at {:.0} req/s", m.rate()),
            ours: m.p99_ms,
            unit: "ms",
            reference: "target (engine speed issue): p99 at 500 req/s".into(),
            reference_value: READ_P99_TARGET_MS,
            better: Better::Lower,
            against: Against::Target,
        });
    }
    read_raw.insert("health_at_submission_rate".into(), floor_submissions.json());
    read_raw.insert("submission".into(), submission.json());
    report.raw("http", Value::Object(read_raw));
    Ok(())
}

/// The engine speed issue's target for reads at 500 req/s, p99.
const READ_P99_TARGET_MS: f64 = 20.0;

/// Runs a load generator's `command` against `url` (with the caller's `authorization`,
/// if any) and returns what it printed; a failed run is an error naming `program`.
async fn generate(
    mut command: tokio::process::Command,
    program: &str,
    authorization: Option<String>,
    url: &str,
) -> anyhow::Result<String> {
    if let Some(authorization) = authorization {
        command
            .arg("-H")
            .arg(format!("Authorization: {authorization}"));
    }
    command.arg(url);
    let output = command
        .output()
        .await
        .with_context(|| format!("running {program}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "{program} {url}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

/// One `oha` run: `GET base + path` at a constant `rate` for `seconds`, latency
/// corrected. Every answer must be 200.
async fn oha_run(
    oha: &Path,
    base: &str,
    path: &str,
    authorization: Option<String>,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<Measured> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut command = tokio::process::Command::new(oha);
    command
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "--latency-correction",
        ])
        // Requests still in flight at the end are answered and counted, not aborted.
        .arg("--wait-ongoing-requests-after-deadline")
        .args(["-q", &rate.to_string(), "-z", &format!("{seconds}s")])
        // Enough connections that a slow answer does not hold back the schedule.
        .args(["-c", &(rate / 10).max(8).to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdout = generate(command, "oha", authorization, &url).await?;
    let v: Value =
        serde_json::from_str(&stdout).with_context(|| format!("oha's output:\n{stdout}"))?;
    let statuses = v["statusCodeDistribution"]
        .as_object()
        .context("oha reports no status codes")?;
    let requests: u64 = statuses.values().filter_map(Value::as_u64).sum();
    ensure!(
        statuses.keys().all(|code| code == "200")
            && v["errorDistribution"]
                .as_object()
                .is_none_or(|e| e.is_empty()),
        "oha {url}: every request must answer 200: {} {}",
        v["statusCodeDistribution"],
        v["errorDistribution"]
    );
    let measured = Measured {
        requests,
        seconds: v["summary"]["total"].as_f64().unwrap_or(f64::NAN),
        p50_ms: v["metrics"]["latency_ms"]["p50"]
            .as_f64()
            .unwrap_or(f64::NAN),
        p99_ms: v["metrics"]["latency_ms"]["p99"]
            .as_f64()
            .unwrap_or(f64::NAN),
        asked: Some(rate),
    };
    println!(
        "  oha {path} at {rate}/s: {} requests, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        measured.requests,
        measured.rate(),
        measured.p50_ms,
        measured.p99_ms
    );
    Ok(measured)
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
    let stdout = generate(command, "wrk", authorization, &url).await?;
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
        asked: None,
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
