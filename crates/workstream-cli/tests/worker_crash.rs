//! Crash test of the job queue with real `workstream worker` processes.
//!
//! One API server (in this process, no worker of its own) and two worker processes, A
//! and B, share one database and one object store, as a deployment does. First each
//! worker, alone, evaluates a submission undisturbed (filling its checker cache), is
//! restarted and evaluates another: that times a whole job of a freshly started worker
//! here (claim to commit), `T`. Then twenty times a fresh submission queues one
//! `checker.evaluate` job; whichever worker claims it is killed with SIGKILL a random
//! 0..=1.5 `T` after its lease is seen in the database, so the kill lands before the
//! run starts, during the checks, around the finalizing transaction, or (about a third
//! of the time) after its commit. The other worker, running the whole time, must leave
//! the live lease alone, take the job over once it expires, and finish it; a job whose
//! commit beat the kill must not run again. Either way the run completes exactly once,
//! with one result per post-submit check, one review queue entry and one gate event.
//! The killed worker is restarted before the next round.
//!
//! The seed and the delay bound are printed; `WORKSTREAM_CRASH_SEED=<seed>` and
//! `WORKSTREAM_CRASH_MAX_DELAY_MS=<ms>` replay the same delays.

#[path = "../../../tests/tests/projects_support/mod.rs"]
mod projects_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use projects_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::ProjectRole;
use workstream_e2e::{TestActor, TestServer};
use workstream_engine::evaluation::plan;
use workstream_sandbox::Phase;

/// Rounds, each with one kill.
const ROUNDS: usize = 20;
/// The workers' lease: short, so a killed worker's job is taken over quickly.
const LEASE_SECONDS: &str = "2";
/// How long a round may take to finish after the kill (lease expiry included).
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

const SUMMARY: &str = "Wrote the proof of the lemma and attached the test log.";
const ATTESTATION: &str = "I attest this packet holds no client data, nothing confidential \
    or private, no credentials or secret tokens, and no copied source material.";

/// xorshift64*: enough randomness for kill delays, and replayable from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below_or_equal(&mut self, max: u64) -> u64 {
        self.next() % (max + 1)
    }
}

fn seed() -> u64 {
    if let Ok(seed) = std::env::var("WORKSTREAM_CRASH_SEED") {
        return seed.parse().expect("WORKSTREAM_CRASH_SEED is a u64");
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    // Never zero (xorshift would stay at zero).
    (nanos as u64) | 1
}

/// A running `workstream worker` process.
struct WorkerProcess {
    child: Child,
    /// Held open so the worker can always write its stdout.
    _stdout: BufReader<ChildStdout>,
}

/// The worker processes of the test; every one still running is killed when this is
/// dropped, a panicking test included.
struct Workers {
    binary: PathBuf,
    database_url: String,
    objects: PathBuf,
    data: PathBuf,
    running: BTreeMap<&'static str, WorkerProcess>,
}

impl Workers {
    /// Starts worker `id` and waits until it says it is working jobs.
    fn start(&mut self, id: &'static str) {
        assert!(!self.running.contains_key(id), "worker {id} already runs");
        // Each worker has a data directory of its own (checker cache and scratch, kept
        // across restarts, as on a host); the object store is shared.
        let data = self.data.join(id);
        std::fs::create_dir_all(&data).unwrap();
        let mut child = Command::new(&self.binary)
            .args(["worker", "--concurrency", "1", "--lease-seconds"])
            .arg(LEASE_SECONDS)
            .args(["--worker-id", id])
            .env("WORKSTREAM_DATABASE_URL", &self.database_url)
            .env("WORKSTREAM_OBJECT_STORE_URL", &self.objects)
            .env("WORKSTREAM_DATA_DIR", &data)
            .env("WORKSTREAM_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start workstream worker");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // Registered before the read, so a worker that hangs is still killed.
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        self.running.insert(
            id,
            WorkerProcess {
                child,
                _stdout: stdout,
            },
        );
        read.expect("the worker's first line");
        assert!(
            line.contains(&format!("worker {id} is working jobs"))
                && line.contains(&format!("a {LEASE_SECONDS} s lease")),
            "worker {id} did not start: {line:?}"
        );
    }

    /// SIGKILLs worker `id` and reaps it.
    fn kill(&mut self, id: &str) {
        let mut process = self.running.remove(id).expect("a running worker");
        process.child.kill().expect("SIGKILL");
        let status = process.child.wait().expect("reap the worker");
        assert!(!status.success(), "worker {id} was killed: {status:?}");
    }

    /// The worker of `id` has not exited on its own.
    fn assert_alive(&mut self, id: &str) {
        let process = self.running.get_mut(id).expect("a running worker");
        assert_eq!(
            process.child.try_wait().unwrap(),
            None,
            "worker {id} exited on its own"
        );
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for process in self.running.values_mut() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
    }
}

/// A ZIP of `files` (path, contents).
fn zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (path, text) in files {
            writer.start_file(*path, options).unwrap();
            writer.write_all(text.as_bytes()).unwrap();
        }
        writer.finish().unwrap();
    }
    out.into_inner()
}

/// Uploads a passing packet for `task` as `who`; returns the admission.
async fn upload(server: &TestServer, who: &TestActor, task: Uuid, round: usize) -> Value {
    let answer = format!("# Proof {round}\n\nBy induction on n, the lemma holds.\n");
    let bytes = zip(&[
        ("outputs/final-answer.md", &answer),
        ("evidence/tests.log", "test lemma ... ok\n"),
    ]);
    let form = reqwest::multipart::Form::new()
        .text("summary", SUMMARY)
        .text("attestation", ATTESTATION)
        .part(
            "packet",
            reqwest::multipart::Part::bytes(bytes).file_name("packet.zip"),
        );
    let response = server
        .client
        .post(server.url(&format!("/api/v1/tasks/{task}/packets")))
        .header("authorization", who.auth())
        .header("idempotency-key", Uuid::now_v7().to_string())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "upload: {body}");
    body
}

/// The `n`th new task taken to a submission over HTTP by a submitter of its own (the
/// active task cap is per submitter); returns (task, submission).
async fn submission(server: &TestServer, pm: &TestActor, project: Uuid, n: usize) -> (Uuid, Uuid) {
    let submitter = server.actor(&format!("crash-submitter-{n}")).await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let created = post(
        server,
        &format!("/projects/{project}/tasks"),
        pm,
        json!({"title": format!("Prove lemma {n}"), "description": "Write outputs/final-answer.md.",
               "acceptance_criteria": "A complete, checked proof of the lemma.",
               "rejection_criteria": "Gaps.", "difficulty": "medium", "estimated_time_minutes": 30}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let task: Uuid = created.body["task"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for (who, action, body) in [
        (pm, "screen", json!({})),
        (pm, "release", json!({"reason": "ready"})),
        (&submitter, "claim", json!({})),
        (&submitter, "start", json!({})),
    ] {
        let answer = post(server, &format!("/tasks/{task}/{action}"), who, body).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
    }
    let admitted = upload(server, &submitter, task, n).await;
    let submitted = post(
        server,
        &format!("/tasks/{task}/submissions"),
        &submitter,
        json!({"admission_id": admitted["admission_id"]}),
    )
    .await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(submitted.body["task"]["status"], "evaluation_pending");
    let submission: Uuid = submitted.body["submission"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (task, submission)
}

/// The `checker.evaluate` job of `submission`.
#[derive(Debug, sqlx::FromRow)]
struct JobRow {
    state: String,
    attempt: i32,
    lease_generation: i64,
    locked_by: Option<String>,
    errors: Value,
}

async fn job_of(server: &TestServer, submission: Uuid) -> JobRow {
    sqlx::query_as(
        "SELECT j.state, j.attempt, j.lease_generation, j.locked_by, j.errors \
         FROM jobs j JOIN checker_runs r ON j.payload ->> 'checker_run_id' = r.id::text \
         WHERE j.kind = 'checker.evaluate' AND r.submission_id = $1",
    )
    .bind(submission)
    .fetch_one(server.database.pool())
    .await
    .unwrap()
}

async fn scalar<T>(server: &TestServer, sql: &str, id: Uuid) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

/// One submission evaluated undisturbed by worker `id`, the only one running; returns
/// how long its job took from claim to commit, in milliseconds.
async fn warm_up(
    server: &TestServer,
    pm: &TestActor,
    project: Uuid,
    id: &str,
    round: usize,
) -> f64 {
    let (task, submission) = submission(server, pm, project, round).await;
    let deadline = Instant::now() + ROUND_TIMEOUT;
    while job_of(server, submission).await.state != "completed" {
        assert!(Instant::now() < deadline, "warm-up of {id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let job = job_of(server, submission).await;
    assert_eq!(
        (job.locked_by.as_deref(), job.lease_generation),
        (Some(id), 1)
    );
    let status: String = scalar(server, "SELECT status FROM tasks WHERE id = $1", task).await;
    assert_eq!(status, "review_pending");
    scalar(
        server,
        "SELECT (extract(epoch FROM j.finished_at - j.attempted_at) * 1000)::float8 \
         FROM jobs j JOIN checker_runs r ON j.payload ->> 'checker_run_id' = r.id::text \
         WHERE r.submission_id = $1",
        submission,
    )
    .await
}

/// Where a kill that did not let the job complete landed, from what the database
/// showed right after it.
fn landing(run_status: &str, job_state: &str) -> &'static str {
    match (run_status, job_state) {
        ("queued", _) => "before start",
        ("running", _) => "during checks or finalize",
        _ => "elsewhere",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_workers_lose_nothing_and_duplicate_nothing() {
    let began = Instant::now();
    let seed = seed();
    println!("worker_crash: seed {seed} (WORKSTREAM_CRASH_SEED={seed} replays the delays)");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().unwrap();
    let pipeline_dir = dir.path().join("server");
    let server = TestServer::start_with_pipeline_at(&pipeline_dir, false).await;
    let pm = manager(&server, "crash-pm").await;
    let project = create_project(&server, &pm, "crash").await;
    let fin = finance(&server, "crash-finance", project).await;
    publish_unpaid_policy(&server, &fin, project).await;
    let guide = create_guide(&server, &pm, project, "v1", Some(bundle())).await;
    let answer = activate(&server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let mut workers = Workers {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_workstream")),
        database_url: server.database.url().to_owned(),
        objects: pipeline_dir.join("objects"),
        data: dir.path().join("workers"),
        running: BTreeMap::new(),
    };
    assert!(Path::new(&workers.objects).is_dir());
    // Warm-up: each worker alone evaluates one submission (compiling the checkers into
    // its cache), is restarted, as after a kill, and evaluates another, which is timed;
    // the slower timed job sets the range of the kill delays.
    let mut job_ms = 0_u64;
    let mut warm_ups = 0;
    for id in ["A", "B"] {
        for timed in [false, true] {
            workers.start(id);
            let ms = warm_up(&server, &pm, project, id, 100 + warm_ups).await;
            warm_ups += 1;
            if timed {
                println!("worker_crash: a job of freshly started {id} took {ms:.0} ms");
                job_ms = job_ms.max(ms.ceil() as u64);
            }
            if id == "A" || !timed {
                workers.kill(id);
            }
        }
    }
    workers.start("A");
    let max_delay = match std::env::var("WORKSTREAM_CRASH_MAX_DELAY_MS") {
        Ok(ms) => ms.parse().expect("WORKSTREAM_CRASH_MAX_DELAY_MS is a u64"),
        Err(_) => (job_ms * 3 / 2).clamp(20, 10_000),
    };
    println!(
        "worker_crash: kill delays 0..={max_delay} ms (WORKSTREAM_CRASH_MAX_DELAY_MS={max_delay})"
    );

    let mut last_run: Option<Uuid> = None;
    let mut landings: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    // A job done before its lease was seen leaves nothing to kill: such a submission is
    // not a round, and another is made (a bounded number of times).
    let mut missed = 0;
    let mut round = 0;
    // Each submission has a submitter of its own (the active task cap), so a round made
    // again after a missed one must not reuse the previous submitter's name.
    let mut made = 0;
    while round < ROUNDS {
        let (task, submission) = submission(&server, &pm, project, made).await;
        made += 1;

        // Wait for a worker to hold the job's lease.
        let deadline = Instant::now() + ROUND_TIMEOUT;
        let held = loop {
            let job = job_of(&server, submission).await;
            if job.state == "running" || job.state == "completed" {
                break job;
            }
            assert_eq!(job.state, "available", "round {round}: {job:?}");
            assert!(Instant::now() < deadline, "round {round}: nobody claimed");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        if held.state == "completed" {
            missed += 1;
            println!("round {round:2}: the job finished before its lease was seen; again");
            assert!(
                missed <= ROUNDS,
                "jobs finish faster than they can be observed"
            );
            continue;
        }
        let holder: &'static str = match held.locked_by.as_deref() {
            Some("A") => "A",
            Some("B") => "B",
            other => panic!("round {round}: locked by {other:?}"),
        };
        let survivor = if holder == "A" { "B" } else { "A" };
        let delay = rng.below_or_equal(max_delay);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        workers.kill(holder);

        let run_status: String = scalar(
            &server,
            "SELECT status FROM checker_runs WHERE submission_id = $1",
            submission,
        )
        .await;
        let job_state = job_of(&server, submission).await.state;

        // The survivor finishes the job once the dead worker's lease runs out.
        let deadline = Instant::now() + ROUND_TIMEOUT;
        loop {
            let status: String =
                scalar(&server, "SELECT status FROM tasks WHERE id = $1", task).await;
            if status != "evaluation_pending" {
                assert_eq!(status, "review_pending", "round {round}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the task stayed in evaluation_pending: {:?}",
                job_of(&server, submission).await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Exactly once.
        let job = job_of(&server, submission).await;
        assert_eq!(job.state, "completed", "round {round}: {job:?}");
        assert!(job.lease_generation >= 1, "round {round}: {job:?}");
        // The database may have been committing the finalize as the worker died: what
        // counts is whose lease completed the job.
        let landed = if job.lease_generation == held.lease_generation {
            assert_eq!(job.locked_by.as_deref(), Some(holder), "round {round}");
            "after commit"
        } else {
            // Taken over only after the lease expired, by the worker still alive.
            assert_eq!(job.locked_by.as_deref(), Some(survivor), "round {round}");
            assert!(
                job.lease_generation > held.lease_generation,
                "round {round}: {job:?}"
            );
            assert!(job.attempt >= 2, "round {round}: {job:?}");
            let expired = format!("lease expired (worker {holder})");
            assert!(
                job.errors
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["error"] == expired.as_str()),
                "round {round}: {job:?}"
            );
            landing(&run_status, &job_state)
        };
        println!(
            "round {round:2}: {holder} held generation {}, killed after {delay:3} ms: {landed} \
             (right after the kill: run {run_status}, job {job_state}); finished by {} \
             under generation {}",
            held.lease_generation,
            job.locked_by.as_deref().unwrap_or("?"),
            job.lease_generation
        );
        landings.entry(landed).or_default().push(delay);
        let runs: Vec<(Uuid, String, String)> = sqlx::query_as(
            "SELECT id, status, routing_recommendation FROM checker_runs WHERE submission_id = $1",
        )
        .bind(submission)
        .fetch_all(server.database.pool())
        .await
        .unwrap();
        assert_eq!(runs.len(), 1, "round {round}: {runs:?}");
        let (run, status, route) = &runs[0];
        last_run = Some(*run);
        assert_eq!(
            (status.as_str(), route.as_str()),
            ("completed", "allow_review"),
            "round {round}"
        );
        let locked: Value = scalar(
            &server,
            "SELECT locked_checker_policy FROM submissions WHERE id = $1",
            submission,
        )
        .await;
        let (checks, _) = plan(&locked, Phase::PostSubmit).expect("the locked policy plans");
        assert!(!checks.is_empty());
        let results: i64 = scalar(
            &server,
            "SELECT count(*) FROM checker_results WHERE checker_run_id = $1",
            *run,
        )
        .await;
        let ordinals: i64 = scalar(
            &server,
            "SELECT count(DISTINCT ordinal) FROM checker_results WHERE checker_run_id = $1",
            *run,
        )
        .await;
        assert_eq!(
            (results, ordinals),
            (checks.len() as i64, checks.len() as i64),
            "round {round}: one result per post-submit check"
        );
        let entries: i64 = scalar(
            &server,
            "SELECT count(*) FROM review_queue_entries WHERE task_id = $1",
            task,
        )
        .await;
        assert_eq!(entries, 1, "round {round}: review queue entries");
        assert_eq!(
            audit_count(&server, task, "pre_review_gate_passed").await,
            1,
            "round {round}: gate events"
        );
        let evaluate_jobs: i64 = scalar(
            &server,
            "SELECT count(*) FROM jobs WHERE kind = 'checker.evaluate' \
             AND payload ->> 'checker_run_id' = $1::text",
            *run,
        )
        .await;
        assert_eq!(evaluate_jobs, 1, "round {round}: jobs of the run");

        workers.assert_alive(survivor);
        workers.start(holder);
        round += 1;
    }

    // Nothing else ran twice: every job is done, every run has its results once.
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state <> 'completed'")
        .fetch_one(server.database.pool())
        .await
        .unwrap();
    assert_eq!(open, 0, "every job completed");
    let gates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE event_type = 'pre_review_gate_passed'",
    )
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        gates,
        (ROUNDS + warm_ups + missed) as i64,
        "the rounds and the warm-ups"
    );

    // `checker replay`: a run finished across a crash reproduces from its stored inputs.
    let run = last_run.expect("at least one round");
    let replay_dir = workers.data.join("replay");
    std::fs::create_dir_all(&replay_dir).unwrap();
    let replay = Command::new(&workers.binary)
        .args(["checker", "replay", &run.to_string(), "--json"])
        .env("WORKSTREAM_DATABASE_URL", &workers.database_url)
        .env("WORKSTREAM_OBJECT_STORE_URL", &workers.objects)
        .env("WORKSTREAM_DATA_DIR", &replay_dir)
        .env("WORKSTREAM_LOG", "warn")
        .output()
        .expect("run workstream checker replay");
    assert!(replay.status.success(), "{replay:?}");
    let report: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(report["reproduced"], true, "{report}");
    assert_eq!(report["stored_digest"], report["replayed_digest"]);
    assert!(
        report["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["same"] == true)
    );
    let unknown = Command::new(&workers.binary)
        .args(["checker", "replay", &Uuid::now_v7().to_string()])
        .env("WORKSTREAM_DATABASE_URL", &workers.database_url)
        .env("WORKSTREAM_OBJECT_STORE_URL", &workers.objects)
        .env("WORKSTREAM_DATA_DIR", &replay_dir)
        .env("WORKSTREAM_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "an unknown run is a usage error"
    );

    println!(
        "worker_crash: seed {seed}, delays 0..={max_delay} ms; where the kills landed (delays in ms):"
    );
    for (landed, delays) in &landings {
        println!("  {landed}: {} {delays:?}", delays.len());
    }
    println!("worker_crash: {ROUNDS} rounds in {:?}", began.elapsed());
    drop(workers);
}
