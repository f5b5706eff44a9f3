//! Crash and restart under load, with the real binaries: SIGKILLed API servers and
//! workers, and a `pg_ctl restart` of the database, while tasks go from creation to a
//! fulfilled payment.
//!
//! The deployment ([`crash_support`]): a PostgreSQL cluster under `pg_ctl`, two API
//! servers (`workstream serve` and `workstream up`, both against that database, working
//! no jobs), two `workstream worker`s with a 2 s lease, one shared object store. The
//! load: flows running concurrently, each one task taken over HTTP through creation,
//! screening, release, claim, start, packet upload, submission, the worker's
//! evaluation, a review lease and an accept decision (an award of 50 USD, a completed
//! review, reputation events), the award's delivery by the worker through the local
//! adapter, and the adapter's fulfilment report. At least ten flows run, and more start
//! until the chaos below has killed eight processes and restarted the database twice (at
//! most 200), so that a fast machine sees as much chaos as a slow one. Every request
//! goes through the retrying client ([`crash_support::client`]): one `Idempotency-Key`
//! per mutation, sent again to the next server when the answer was lost.
//!
//! Meanwhile a chaos loop, driven by a seeded RNG, SIGKILLs a random server or worker
//! every few seconds and starts it again a moment later, and restarts PostgreSQL
//! (`pg_ctl restart`, fast or immediate mode) right after the first kill and then every
//! few seconds. One flow runs first without any chaos, as the reference.
//!
//! Afterwards, with every process back and the job queue drained: each flow's task is
//! `accepted` with exactly one admission, submission, checker run (completed, one result
//! per post-submit check), queue entry, lease, review, final acceptance, two
//! contribution records, one award delivered once (one outbox row acknowledged, one
//! local adapter delivery) and fulfilled once, and two reputation events; the ids the
//! successful answers named are those rows; every job completed, none discarded, one
//! evaluation, delivery and reputation job per flow; every audit event type grew by
//! exactly the reference flow's count times the number of flows; and `workstream audit
//! verify` passes.
//!
//! The seed is printed: `WORKSTREAM_CRASH_SEED=<seed>` replays the chaos schedule (the
//! flows' own timing still varies). `WORKSTREAM_SOAK=1` runs the long variant (more
//! flows, kills every 0.5-3 s, a database restart every 5-15 s, at least 100 kills and
//! 10 restarts;
//! `WORKSTREAM_SOAK_FLOWS`, default 300, sets the number of flows).

#[path = "../../../tests/tests/projects_support/mod.rs"]
mod projects_support;

mod crash_support;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crash_support::client::{Body, Client, Reply, Who, expect};
use crash_support::cluster::{Cluster, StopMode};
use crash_support::fleet::{Fleet, Role};
use crash_support::{Rng, db, until};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;
use workstream_engine::evaluation::plan;
use workstream_sandbox::Phase;

const SUMMARY: &str = "Wrote the proof of the lemma and attached the test log.";
const ATTESTATION: &str = "I attest this packet holds no client data, nothing confidential \
    or private, no credentials or secret tokens, and no copied source material.";

/// How a run is shaped.
#[derive(Debug, Clone)]
struct Plan {
    /// Flows run under chaos (after the reference flow) at least; more start until the
    /// chaos loop has killed `min_kills` processes and restarted the database
    /// `min_restarts` times, up to `max_flows` (so a fast machine still sees the chaos).
    flows: usize,
    max_flows: usize,
    min_kills: usize,
    min_restarts: usize,
    /// Flows in flight at once.
    concurrency: usize,
    /// Time between kills, in ms.
    kill_gap: (u64, u64),
    /// Time a killed process stays down, in ms.
    down_for: (u64, u64),
    /// Time between database restarts, in ms (the first comes after the first kill).
    restart_gap: (u64, u64),
    /// Successful mutation answers the client discards, per mille (see the client).
    answers_lost_per_mille: u64,
}

impl Plan {
    fn from_env() -> Plan {
        if crash_support::soak() {
            let flows = std::env::var("WORKSTREAM_SOAK_FLOWS")
                .map(|v| v.parse().expect("WORKSTREAM_SOAK_FLOWS is a number"))
                .unwrap_or(300);
            Plan {
                flows,
                max_flows: flows * 2,
                min_kills: 100,
                min_restarts: 10,
                concurrency: 6,
                kill_gap: (500, 3_000),
                down_for: (0, 1_500),
                restart_gap: (5_000, 15_000),
                answers_lost_per_mille: 100,
            }
        } else {
            Plan {
                flows: 10,
                max_flows: 200,
                min_kills: 8,
                min_restarts: 2,
                concurrency: 5,
                kill_gap: (300, 1_500),
                down_for: (0, 600),
                restart_gap: (4_000, 9_000),
                answers_lost_per_mille: 150,
            }
        }
    }
}

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

/// The deployment and the project the flows work in. Field order is drop order: the
/// processes stop before the database does.
struct Deployment {
    fleet: Arc<Mutex<Fleet>>,
    pool: PgPool,
    client: Client,
    cluster: Arc<Cluster>,
    pm: Who,
    adapter: Who,
    project: Uuid,
    _dir: tempfile::TempDir,
}

async fn deploy(seed: u64, loss_per_mille: u64) -> Deployment {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let root = dir.path().to_owned();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&root.join("postgres")))
        .await
        .unwrap();
    let admin = workstream_store::connect(&cluster.url("postgres"), 1)
        .await
        .unwrap();
    sqlx::query("CREATE DATABASE workstream")
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = cluster.url("workstream");
    let mut fleet = Fleet::new(&url, &dir.path().join("fleet"));
    let migrated = fleet.run(&["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let bootstrap = fleet.run(&[
        "admin",
        "bootstrap",
        "--issuer",
        "https://auth.flow.local",
        "--subject",
        "crash-root",
    ]);
    assert!(bootstrap.status.success(), "{bootstrap:?}");
    let fleet = tokio::task::spawn_blocking(move || {
        fleet.add("serve-a", Role::Serve);
        fleet.add("up-b", Role::Up);
        fleet.add("worker-a", Role::Worker);
        fleet.add("worker-b", Role::Worker);
        fleet
    })
    .await
    .unwrap();
    let client = Client::new(fleet.server_urls(), seed ^ 0x5eed, loss_per_mille);
    let pool = workstream_store::connect(&url, 8).await.unwrap();
    Deployment {
        fleet: Arc::new(Mutex::new(fleet)),
        pool,
        client,
        cluster: Arc::new(cluster),
        pm: Who::human("crash-pm"),
        adapter: Who::service("crash-adapter"),
        project: Uuid::nil(),
        _dir: dir,
    }
}

impl Deployment {
    async fn me(&self, who: &Who) -> Uuid {
        expect(self.client.get("/actors/me", who).await, 200, "actors/me").id("/actor_profile_id")
    }

    async fn ok(&self, path: &str, who: &Who, body: Value, status: u16) -> Reply {
        expect(self.client.post(path, who, body).await, status, path)
    }

    /// The project: a manager, a finance authority, the adapter, paid terms and an
    /// active guide; and `contributors` submitter/reviewer pairs with their roles.
    async fn set_up(&mut self, contributors: usize) -> Vec<(Who, Who)> {
        let root = Who::human("crash-root");
        let finance = Who::human("crash-finance");
        let pm = self.me(&self.pm).await;
        let fin = self.me(&finance).await;
        self.me(&root).await;
        for (target, role) in [(pm, "project_manager"), (fin, "finance_authority")] {
            self.ok(
                "/admin-role-grants",
                &root,
                json!({"target_actor_profile_id": target, "role": role, "scope_type": "system", "reason": "crash test"}),
                201,
            )
            .await;
        }
        let adapter = self
            .ok(
                "/service-actors",
                &root,
                json!({"service_identity": "workstream.payment.local_adapter", "subject": self.adapter.subject, "reason": "crash test"}),
                201,
            )
            .await
            .id("/actor_profile_id");
        let p = self
            .ok(
                "/projects",
                &self.pm,
                json!({"name": "Crash", "slug": "crash"}),
                201,
            )
            .await
            .id("/id");
        self.project = p;
        let mut pairs = Vec::new();
        for i in 0..contributors {
            let pair = (
                Who::human(format!("crash-submitter-{i}")),
                Who::human(format!("crash-reviewer-{i}")),
            );
            for (who, role) in [(&pair.0, "submitter"), (&pair.1, "reviewer")] {
                let id = self.me(who).await;
                self.ok(
                    &format!("/projects/{p}/role-grants"),
                    &self.pm,
                    json!({"target_actor_profile_id": id, "role": role, "qualification": {}, "reason": "crash test"}),
                    201,
                )
                .await;
            }
            pairs.push(pair);
        }
        self.ok(
            &format!("/projects/{p}/compensation-units"),
            &finance,
            json!({"instrument_type": "money", "unit_code": "USD"}),
            201,
        )
        .await;
        let binding = self
            .ok(
                &format!("/projects/{p}/adapter-bindings"),
                &finance,
                json!({"instrument_type": "money", "adapter_actor_id": adapter, "route_key": "local.money"}),
                201,
            )
            .await
            .id("/id");
        let draft = self
            .ok(
                &format!("/projects/{p}/contribution-policies/drafts"),
                &finance,
                json!({"name": "Paid terms"}),
                201,
            )
            .await;
        let version = format!(
            "/projects/{p}/contribution-policies/{}/versions/{}",
            draft.id("/contribution_policy_id"),
            draft.id("/contribution_policy_version_id")
        );
        let terms = json!({ "rules": [
            { "contribution_type": "accepted_submission", "compensation_mode": "compensated", "definitions": [
                { "instrument_type": "money", "unit_code": "USD", "quantity": "50", "adapter_binding_id": binding }
            ]},
            { "contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": [] }
        ]});
        expect(
            self.client.put(&version, &finance, terms).await,
            200,
            "terms",
        );
        self.ok(&format!("{version}/publication"), &finance, json!({}), 200)
            .await;
        let guide = self
            .ok(
                &format!("/projects/{p}/guides"),
                &self.pm,
                json!({"version": "v1", "content_markdown": "# Guide", "change_summary": "first",
                       "policy_bundle": projects_support::bundle()}),
                201,
            )
            .await
            .id("/id");
        self.ok(
            &format!("/projects/{p}/guides/{guide}/activate"),
            &self.pm,
            json!({}),
            200,
        )
        .await;
        pairs
    }
}

/// What one flow's successful answers said.
#[derive(Debug, Clone)]
struct Flow {
    title: String,
    task: Uuid,
    submission: Uuid,
    checker_run: Uuid,
    lease: Uuid,
    review: Uuid,
    award: Uuid,
    receipt: Uuid,
    /// Requests that needed more than one attempt, and how many came back as replays.
    retried: u32,
    replayed: u32,
}

/// Takes one task from creation to a fulfilled award (see the module docs).
async fn flow(d: &Deployment, i: usize, submitter: &Who, reviewer: &Who) -> Flow {
    let p = d.project;
    let c = &d.client;
    let title = format!("Crash task {i}");
    let mut replies = Vec::new();
    let mut step = async |reply: Reply, status: u16, what: &str| -> Reply {
        let reply = expect(reply, status, &format!("flow {i}: {what}"));
        replies.push((reply.attempts, reply.replayed));
        reply
    };
    let created = step(
        c.post(
            &format!("/projects/{p}/tasks"),
            &d.pm,
            json!({"title": title, "description": "Write outputs/final-answer.md.",
                   "acceptance_criteria": "A complete, checked proof of the lemma.",
                   "rejection_criteria": "Gaps.", "difficulty": "medium", "estimated_time_minutes": 30}),
        )
        .await,
        201,
        "create",
    )
    .await;
    let task = created.id("/task/id");
    for (who, action, body) in [
        (&d.pm, "screen", json!({})),
        (&d.pm, "release", json!({"reason": "ready"})),
        (submitter, "claim", json!({})),
        (submitter, "start", json!({})),
    ] {
        step(
            c.post(&format!("/tasks/{task}/{action}"), who, body).await,
            200,
            action,
        )
        .await;
    }
    let packet = zip(&[
        (
            "outputs/final-answer.md",
            &format!("# Proof {i}\n\nBy induction on n, the lemma holds.\n"),
        ),
        ("evidence/tests.log", "test lemma ... ok\n"),
    ]);
    let admitted = step(
        c.call(
            Method::POST,
            &format!("/tasks/{task}/packets"),
            submitter,
            Body::Packet(SUMMARY.into(), ATTESTATION.into(), packet),
        )
        .await,
        201,
        "upload",
    )
    .await;
    let submitted = step(
        c.post(
            &format!("/tasks/{task}/submissions"),
            submitter,
            json!({"admission_id": admitted.body["admission_id"]}),
        )
        .await,
        201,
        "submit",
    )
    .await;
    let submission = submitted.id("/submission/id");
    let checker_run = submitted.id("/checker_run_id");

    // The worker evaluates it; the reviewer claims its entry and accepts.
    let entry: Uuid = until(
        &format!("flow {i}: review_pending"),
        Duration::from_secs(240),
        async || {
            let entry = db("the queue entry", || {
                sqlx::query_scalar(
                    "SELECT id FROM review_queue_entries WHERE task_id = $1 AND state = 'pending'",
                )
                .bind(task)
                .fetch_optional(&d.pool)
            })
            .await;
            // A fault must never fail a run: it is retried until the evaluation
            // finishes. Say so at once, with the stored cause, rather than time out.
            let failed: Option<Option<String>> = db("the checker run", || {
                sqlx::query_scalar(
                    "SELECT failure_detail FROM checker_runs WHERE id = $1 AND status = 'failed'",
                )
                .bind(checker_run)
                .fetch_optional(&d.pool)
            })
            .await;
            if let Some(detail) = failed {
                panic!("flow {i}: checker run {checker_run} failed: {detail:?}");
            }
            entry
        },
    )
    .await;
    let claimed = step(
        c.post("/reviews/claim", reviewer, json!({"queue_entry_id": entry}))
            .await,
        201,
        "review claim",
    )
    .await;
    let lease = claimed.id("/lease/id");
    let decided = step(
        c.post(
            &format!("/reviews/leases/{lease}/decision"),
            reviewer,
            json!({"decision": "accept", "summary": "The proof is complete and the tests pass.",
                   "acceptance_evidence_refs": [{"path": "outputs/final-answer.md", "line": 3, "note": "the induction step"}],
                   "findings": [], "resolutions": []}),
        )
        .await,
        201,
        "decision",
    )
    .await;
    let review = decided.id("/review/id");
    let award: Uuid = db("the award", || {
        sqlx::query_scalar(
            "SELECT a.id FROM compensation_awards a \
             JOIN contribution_records c ON c.id = a.contribution_record_id \
             WHERE c.task_id = $1 AND c.contribution_type = 'accepted_submission'",
        )
        .bind(task)
        .fetch_one(&d.pool)
    })
    .await;

    // The worker delivers it; the adapter reports it paid.
    until(
        &format!("flow {i}: delivery"),
        Duration::from_secs(240),
        async || {
            let state: Option<String> = db("the outbox", || {
                sqlx::query_scalar(
                    "SELECT state FROM award_delivery_outbox WHERE compensation_award_id = $1",
                )
                .bind(award)
                .fetch_optional(&d.pool)
            })
            .await;
            (state.as_deref() == Some("acknowledged")).then_some(())
        },
    )
    .await;
    let now = chrono::Utc::now();
    let report = c
        .post(
            "/compensation/fulfillment-reports",
            &d.adapter,
            json!({"external_event_id": format!("crash-{award}"), "award_id": award, "status": "fulfilled",
                   "fulfilled_quantity": "50", "external_reference": format!("pay-{i}"),
                   "fulfilled_at": now, "reported_at": now}),
        )
        .await;
    // A retried report after a committed first attempt is an exact replay of its event
    // id: 200 with the same receipt.
    let status = if report.status == 200 { 200 } else { 201 };
    let reported = step(report, status, "fulfilment report").await;
    let receipt = reported.id("/receipt/id");
    let retried = replies.iter().filter(|(a, _)| *a > 1).count() as u32;
    let replayed = replies.iter().filter(|(a, r)| *a > 1 && *r).count() as u32;
    Flow {
        title,
        task,
        submission,
        checker_run,
        lease,
        review,
        award,
        receipt,
        retried,
        replayed,
    }
}

/// Audit events of the project, by type.
async fn audit_by_type(d: &Deployment) -> BTreeMap<String, i64> {
    db("audit counts", || {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT event_type, count(*) FROM audit_events WHERE project_id = $1 GROUP BY event_type",
        )
        .bind(d.project)
        .fetch_all(&d.pool)
    })
    .await
    .into_iter()
    .collect()
}

/// Waits until no job is waiting, running or due for a retry.
async fn drain(d: &Deployment) {
    until(
        "the job queue drains",
        Duration::from_secs(240),
        async || {
            let open: i64 = db("open jobs", || {
                sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE state IN ('available', 'running', 'retryable')",
            )
            .fetch_one(&d.pool)
            })
            .await;
            (open == 0).then_some(())
        },
    )
    .await;
}

/// The chaos loop: kills and restarts members and restarts the database until `stop`.
async fn chaos(
    fleet: Arc<Mutex<Fleet>>,
    cluster: Arc<Cluster>,
    plan: Plan,
    seed: u64,
    stop: tokio::sync::watch::Receiver<bool>,
    enough: Arc<AtomicBool>,
) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut log = Vec::new();
    let (mut kills, mut restarts) = (0, 0);
    let began = Instant::now();
    // The first database restart comes right after the first kill, so that even a short
    // run has one; the next ones come a restart gap apart.
    let mut next_restart = Duration::ZERO;
    let victims: Vec<String> = {
        let fleet = fleet.lock().unwrap();
        let mut names = fleet.named(Role::Serve);
        names.extend(fleet.named(Role::Up));
        names.extend(fleet.named(Role::Worker));
        names
    };
    while !*stop.borrow() {
        let gap = rng.between(plan.kill_gap.0, plan.kill_gap.1);
        tokio::time::sleep(Duration::from_millis(gap)).await;
        if *stop.borrow() {
            break;
        }
        if !log.is_empty() && began.elapsed() >= next_restart {
            let mode = if rng.next().is_multiple_of(2) {
                StopMode::Fast
            } else {
                StopMode::Immediate
            };
            let at = began.elapsed();
            let cluster = cluster.clone();
            tokio::task::spawn_blocking(move || cluster.restart(mode))
                .await
                .unwrap();
            log.push(format!(
                "{:>6.1} s: pg_ctl restart -m {mode:?} ({:.1} s)",
                at.as_secs_f64(),
                (began.elapsed() - at).as_secs_f64()
            ));
            next_restart = began.elapsed()
                + Duration::from_millis(rng.between(plan.restart_gap.0, plan.restart_gap.1));
            restarts += 1;
            if kills >= plan.min_kills && restarts >= plan.min_restarts {
                enough.store(true, Ordering::Relaxed);
            }
            continue;
        }
        let victim = rng.pick(&victims).clone();
        let down = rng.between(plan.down_for.0, plan.down_for.1);
        let at = began.elapsed();
        let fleet_kill = fleet.clone();
        let name = victim.clone();
        tokio::task::spawn_blocking(move || fleet_kill.lock().unwrap().kill(&name))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(down)).await;
        let fleet_start = fleet.clone();
        let name = victim.clone();
        tokio::task::spawn_blocking(move || fleet_start.lock().unwrap().start(&name))
            .await
            .unwrap();
        log.push(format!(
            "{:>6.1} s: SIGKILL {victim}, down {down} ms",
            at.as_secs_f64()
        ));
        kills += 1;
        if kills >= plan.min_kills && restarts >= plan.min_restarts {
            enough.store(true, Ordering::Relaxed);
        }
    }
    log
}

async fn count(d: &Deployment, sql: &str, id: Uuid) -> i64 {
    db(sql, || sqlx::query_scalar(sql).bind(id).fetch_one(&d.pool)).await
}

/// Every effect of `flow` exists exactly once.
async fn check_flow(d: &Deployment, flow: &Flow, post_checks: i64) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut expect_count = async |what: &str, sql: &str, id: Uuid, expected: i64| {
        let got = count(d, sql, id).await;
        if got != expected {
            wrong.push(format!(
                "{}: {what}: {got}, expected {expected}",
                flow.title
            ));
        }
    };
    let task = flow.task;
    expect_count("tasks with its title", "SELECT count(*) FROM tasks WHERE project_id = (SELECT project_id FROM tasks WHERE id = $1) AND title = (SELECT title FROM tasks WHERE id = $1)", task, 1).await;
    expect_count(
        "accepted",
        "SELECT count(*) FROM tasks WHERE id = $1 AND status = 'accepted'",
        task,
        1,
    )
    .await;
    expect_count(
        "assignments",
        "SELECT count(*) FROM task_assignments WHERE task_id = $1",
        task,
        1,
    )
    .await;
    expect_count(
        "admissions",
        "SELECT count(*) FROM submission_bundle_admissions WHERE task_id = $1",
        task,
        1,
    )
    .await;
    expect_count(
        "submissions",
        "SELECT count(*) FROM submissions WHERE task_id = $1",
        task,
        1,
    )
    .await;
    expect_count(
        "the answered submission",
        "SELECT count(*) FROM submissions WHERE id = $1 AND version = 1",
        flow.submission,
        1,
    )
    .await;
    expect_count(
        "checker runs",
        "SELECT count(*) FROM checker_runs WHERE task_id = $1",
        task,
        1,
    )
    .await;
    expect_count("the answered run, completed, allow_review", "SELECT count(*) FROM checker_runs WHERE id = $1 AND status = 'completed' AND routing_recommendation = 'allow_review'", flow.checker_run, 1).await;
    expect_count(
        "checker results",
        "SELECT count(*) FROM checker_results WHERE checker_run_id = $1",
        flow.checker_run,
        post_checks,
    )
    .await;
    expect_count(
        "distinct result ordinals",
        "SELECT count(DISTINCT ordinal) FROM checker_results WHERE checker_run_id = $1",
        flow.checker_run,
        post_checks,
    )
    .await;
    expect_count("evaluation jobs", "SELECT count(*) FROM jobs WHERE kind = 'checker.evaluate' AND payload ->> 'checker_run_id' = $1::text", flow.checker_run, 1).await;
    expect_count(
        "queue entries",
        "SELECT count(*) FROM review_queue_entries WHERE task_id = $1",
        task,
        1,
    )
    .await;
    expect_count("leases", "SELECT count(*) FROM review_leases l JOIN submissions s ON s.id = l.submission_id WHERE s.task_id = $1", task, 1).await;
    expect_count(
        "the answered lease",
        "SELECT count(*) FROM review_leases WHERE id = $1",
        flow.lease,
        1,
    )
    .await;
    expect_count(
        "reviews",
        "SELECT count(*) FROM reviews WHERE task_id = $1",
        task,
        1,
    )
    .await;
    expect_count(
        "the answered review",
        "SELECT count(*) FROM reviews WHERE id = $1 AND decision = 'accept'",
        flow.review,
        1,
    )
    .await;
    expect_count(
        "final acceptances",
        "SELECT count(*) FROM final_acceptances WHERE task_id = $1",
        task,
        1,
    )
    .await;
    expect_count(
        "contribution records",
        "SELECT count(*) FROM contribution_records WHERE task_id = $1",
        task,
        2,
    )
    .await;
    expect_count("awards", "SELECT count(*) FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id WHERE c.task_id = $1", task, 1).await;
    expect_count("delivery outbox rows, acknowledged", "SELECT count(*) FROM award_delivery_outbox WHERE compensation_award_id = $1 AND state = 'acknowledged'", flow.award, 1).await;
    expect_count(
        "local adapter deliveries",
        "SELECT count(*) FROM local_adapter_deliveries WHERE compensation_award_id = $1",
        flow.award,
        1,
    )
    .await;
    expect_count(
        "fulfilment receipts",
        "SELECT count(*) FROM compensation_fulfillment_receipts WHERE compensation_award_id = $1",
        flow.award,
        1,
    )
    .await;
    expect_count(
        "the answered receipt",
        "SELECT count(*) FROM compensation_fulfillment_receipts WHERE id = $1",
        flow.receipt,
        1,
    )
    .await;
    expect_count(
        "reputation events",
        "SELECT count(*) FROM reputation_events WHERE review_id = $1",
        flow.review,
        2,
    )
    .await;
    wrong
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_servers_and_workers_and_a_restarted_database_lose_and_duplicate_nothing() {
    let seed = crash_support::seed();
    let plan = Plan::from_env();
    println!(
        "crash_restart: seed {seed} (WORKSTREAM_CRASH_SEED={seed} replays the chaos), {plan:?}"
    );
    let began = Instant::now();
    let mut d = deploy(seed, plan.answers_lost_per_mille).await;
    let pairs = d.set_up(plan.max_flows + 1).await;
    println!(
        "crash_restart: deployed and set up in {:?}",
        began.elapsed()
    );

    // The reference flow, undisturbed.
    let before = audit_by_type(&d).await;
    let reference = flow(&d, 0, &pairs[0].0, &pairs[0].1).await;
    drain(&d).await;
    let after = audit_by_type(&d).await;
    let per_flow: BTreeMap<String, i64> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v != 0)
        .collect();

    // The flows under chaos.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let enough = Arc::new(AtomicBool::new(false));
    let chaos = tokio::spawn(chaos(
        d.fleet.clone(),
        d.cluster.clone(),
        plan.clone(),
        seed,
        stopped,
        enough.clone(),
    ));
    let load_began = Instant::now();
    let d = Arc::new(d);
    let pairs = Arc::new(pairs);
    let next = Arc::new(AtomicUsize::new(1));
    let mut lanes = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency {
        let (d, pairs, next, enough, plan) = (
            d.clone(),
            pairs.clone(),
            next.clone(),
            enough.clone(),
            plan.clone(),
        );
        lanes.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i > plan.max_flows || (i > plan.flows && enough.load(Ordering::Relaxed)) {
                    return done;
                }
                done.push(flow(&d, i, &pairs[i].0, &pairs[i].1).await);
            }
        });
    }
    let mut done = vec![reference.clone()];
    while let Some(lane) = lanes.join_next().await {
        match lane {
            Ok(flows) => done.extend(flows),
            Err(err) => {
                let _ = stop.send(true);
                std::panic::resume_unwind(err.into_panic());
            }
        }
    }
    let load_took = load_began.elapsed();
    let _ = stop.send(true);
    let chaos_log = chaos.await.unwrap();
    for line in &chaos_log {
        println!("crash_restart: {line}");
    }
    assert!(
        chaos_log.iter().any(|l| l.contains("SIGKILL"))
            && chaos_log.iter().any(|l| l.contains("pg_ctl")),
        "the run must kill a process and restart the database at least once: {chaos_log:?}"
    );
    {
        let mut fleet = d.fleet.lock().unwrap();
        assert_eq!(
            fleet.exited(),
            Vec::<String>::new(),
            "processes that died on their own"
        );
        for role in [Role::Serve, Role::Up, Role::Worker] {
            for name in fleet.named(role) {
                assert!(fleet.is_running(&name), "{name} is running");
            }
        }
    }
    drain(&d).await;

    // Exactly once, flow by flow.
    let locked: Value = count_json(&d, reference.submission).await;
    let post_checks = plan_len(&locked);
    let mut wrong = Vec::new();
    for flow in &done {
        wrong.extend(check_flow(&d, flow, post_checks).await);
    }
    // Every job finished, once per flow and kind.
    let jobs: Vec<(String, String, i64)> = db("jobs", || {
        sqlx::query_as(
            "SELECT kind, state, count(*) FROM jobs GROUP BY kind, state ORDER BY kind, state",
        )
        .fetch_all(&d.pool)
    })
    .await;
    let n = done.len() as i64;
    for (kind, state, count) in &jobs {
        if state != "completed" {
            wrong.push(format!("{count} {kind} jobs are {state}"));
        }
    }
    for kind in [
        "checker.evaluate",
        "compensation.deliver",
        "reputation.record",
    ] {
        let total: i64 = jobs
            .iter()
            .filter(|(k, _, _)| k == kind)
            .map(|(_, _, c)| c)
            .sum();
        if total != n {
            wrong.push(format!("{total} {kind} jobs for {n} flows"));
        }
    }
    // Every audit event type grew by the reference flow's count, flow by flow.
    let end = audit_by_type(&d).await;
    for (event, per) in &per_flow {
        let grew = end.get(event).copied().unwrap_or(0) - before.get(event).copied().unwrap_or(0);
        if grew != per * n {
            wrong.push(format!(
                "audit {event}: {grew} events for {n} flows, {per} per flow"
            ));
        }
    }
    for (event, total) in &end {
        if !per_flow.contains_key(event) && before.get(event) != Some(total) {
            wrong.push(format!(
                "audit {event}: {} events the reference flow did not write",
                total - before.get(event).copied().unwrap_or(0)
            ));
        }
    }
    let attempts: Vec<(i32, i64)> = db("attempts", || {
        sqlx::query_as("SELECT attempt, count(*) FROM jobs GROUP BY attempt ORDER BY attempt")
            .fetch_all(&d.pool)
    })
    .await;
    println!(
        "crash_restart: {} flows in {load_took:?}; requests retried {}, of which replays {} \
         ({} answers lost on purpose), failed attempts {}; job attempts {attempts:?}",
        done.len() - 1,
        d.client
            .stats
            .retried
            .load(std::sync::atomic::Ordering::Relaxed),
        d.client
            .stats
            .replays
            .load(std::sync::atomic::Ordering::Relaxed),
        d.client
            .stats
            .lost_on_purpose
            .load(std::sync::atomic::Ordering::Relaxed),
        d.client
            .stats
            .failed_attempts
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    for flow in &done {
        println!(
            "crash_restart: {}: {} requests retried, {} of them replays",
            flow.title, flow.retried, flow.replayed
        );
    }
    assert!(wrong.is_empty(), "seed {seed}:\n{}", wrong.join("\n"));

    // Nothing is left unsealed: the surviving processes' sealers take every event the
    // kills and the restart left waiting, and the ledger verifies against the signed
    // checkpoints they published.
    until(
        "every audit event sealed",
        Duration::from_secs(60),
        async || {
            let waiting: i64 = db("the sealer's queue", || {
                sqlx::query_scalar("SELECT count(*) FROM audit_unsealed").fetch_one(&d.pool)
            })
            .await;
            let unpublished: i64 = db("the publications", || {
                sqlx::query_scalar(
                    "SELECT count(*) FROM audit_checkpoints c WHERE NOT EXISTS \
                 (SELECT 1 FROM audit_checkpoint_publications p WHERE p.tree_size = c.tree_size)",
                )
                .fetch_one(&d.pool)
            })
            .await;
            (waiting == 0 && unpublished == 0).then_some(())
        },
    )
    .await;
    let verify = d.fleet.lock().unwrap().run(&["audit", "verify"]);
    assert!(verify.status.success(), "audit verify: {verify:?}");
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(
        said.contains("ledger: ok") && said.contains(", 0 waiting to be sealed"),
        "{said}"
    );
    println!(
        "crash_restart: seed {seed}: passed in {:?}",
        began.elapsed()
    );
}

async fn count_json(d: &Deployment, submission: Uuid) -> Value {
    db("the locked policy", || {
        sqlx::query_scalar("SELECT locked_checker_policy FROM submissions WHERE id = $1")
            .bind(submission)
            .fetch_one(&d.pool)
    })
    .await
}

fn plan_len(locked: &Value) -> i64 {
    let (checks, _) = plan(locked, Phase::PostSubmit).expect("the locked policy plans");
    checks.len() as i64
}

/// A `workstream up` on its embedded cluster, killed when dropped.
struct Up {
    child: Option<std::process::Child>,
    _stdout: Option<std::io::BufReader<std::process::ChildStdout>>,
    data: std::path::PathBuf,
    address: String,
}

impl Up {
    fn command(data: &std::path::Path) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_workstream"));
        command
            .env_remove("WORKSTREAM_DATABASE_URL")
            .env_remove("WORKSTREAM_OBJECT_STORE_URL")
            .env(
                "WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET",
                crash_support::fleet::SECRET,
            )
            .env("WORKSTREAM_API_FIRST_ACCESS_RATE_LIMIT", "100000")
            .env("WORKSTREAM_API_ADMIN_MUTATION_RATE_LIMIT", "100000")
            .env("WORKSTREAM_LOG", "warn")
            .env("WORKSTREAM_DATA_DIR", data);
        command
    }

    /// Starts `up` on `data` at `address` (`127.0.0.1:0` the first time).
    fn start(data: &std::path::Path, address: &str) -> Up {
        use std::io::BufRead;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.with_extension("log"))
            .unwrap();
        let mut child = Up::command(data)
            .args(["up", "--workers", "1", "--bind", address])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let mut up = Up {
            child: Some(child),
            _stdout: Some(stdout),
            data: data.to_owned(),
            address: String::new(),
        };
        read.unwrap();
        up.address = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(data.with_extension("log")).unwrap_or_default();
                panic!("up did not start: {line:?}\n{log}")
            })
            .to_owned();
        up
    }

    fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Ctrl-C: drains and stops the cluster; returns whether it exited 0.
    fn interrupt(&mut self) -> bool {
        let child = self.child.take().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let mut child = child;
        child.wait().unwrap().success()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if std::thread::panicking() {
                eprintln!(
                    "{}",
                    std::fs::read_to_string(self.data.with_extension("log")).unwrap_or_default()
                );
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `workstream up` with its embedded cluster, SIGKILLed under load and started again at
/// once on the same data directory, again and again: every answered request is there
/// exactly once, replays stay replays, and the audit chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_up_comes_back_on_its_embedded_cluster_with_nothing_lost() {
    let seed = crash_support::seed();
    println!("up crash: seed {seed} (WORKSTREAM_CRASH_SEED={seed} replays the kills)");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let data = dir.path().join("state");
    let bootstrap = Up::command(&data)
        .args([
            "admin",
            "bootstrap",
            "--issuer",
            "https://auth.flow.local",
            "--subject",
            "up-root",
        ])
        .output()
        .unwrap();
    assert!(bootstrap.status.success(), "{bootstrap:?}");
    let up = Arc::new(Mutex::new(Up::start(&data, "127.0.0.1:0")));
    let address = up.lock().unwrap().address.clone();
    let client = Arc::new(Client::new(
        vec![format!("http://{address}")],
        seed ^ 0x5eed,
        150,
    ));
    let root = Who::human("up-root");
    let pm = Who::human("up-pm");
    let pm_id = expect(client.get("/actors/me", &pm).await, 200, "me").id("/actor_profile_id");
    expect(client.get("/actors/me", &root).await, 200, "me");
    expect(
        client
            .post(
                "/admin-role-grants",
                &root,
                json!({"target_actor_profile_id": pm_id, "role": "project_manager", "scope_type": "system", "reason": "up crash"}),
            )
            .await,
        201,
        "grant",
    );

    // The load: lanes of units of work, each a project with a contributor granted on
    // it, until the killer has killed `up` enough times.
    let kills_wanted = if crash_support::soak() { 30 } else { 4 };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let killer = {
        let up = up.clone();
        let data = data.clone();
        let address = address.clone();
        tokio::spawn(async move {
            let mut kills = Vec::new();
            while kills.len() < kills_wanted {
                tokio::time::sleep(Duration::from_millis(rng.between(300, 1_500))).await;
                let (up, data, address) = (up.clone(), data.clone(), address.clone());
                let took = tokio::task::spawn_blocking(move || {
                    let began = Instant::now();
                    let mut up = up.lock().unwrap();
                    up.kill();
                    *up = Up::start(&data, &address);
                    began.elapsed()
                })
                .await
                .unwrap();
                kills.push(took);
            }
            kills
        })
    };
    let next_unit = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut lanes = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, pm, next_unit, stopped) = (
            client.clone(),
            pm.clone(),
            next_unit.clone(),
            stopped.clone(),
        );
        lanes.spawn(async move {
            let mut done = Vec::new();
            while !*stopped.borrow() {
                let i = next_unit.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let project = expect(
                    client
                        .post("/projects", &pm, json!({"name": format!("Up {i}"), "slug": format!("up-{i}")}))
                        .await,
                    201,
                    "project",
                )
                .id("/id");
                let who = Who::human(format!("up-contributor-{i}"));
                let id = expect(client.get("/actors/me", &who).await, 200, "me").id("/actor_profile_id");
                let grant = expect(
                    client
                        .post(
                            &format!("/projects/{project}/role-grants"),
                            &pm,
                            json!({"target_actor_profile_id": id, "role": "submitter", "qualification": {}, "reason": "up crash"}),
                        )
                        .await,
                    201,
                    "role grant",
                )
                .id("/id");
                done.push((i, project, id, grant));
            }
            done
        });
    }
    let kills = killer.await.unwrap();
    let _ = stop.send(true);
    let mut done = Vec::new();
    while let Some(lane) = lanes.join_next().await {
        done.extend(lane.unwrap());
    }
    done.sort();
    let units = done.len();

    println!(
        "up crash: {units} units; up killed and back {} times (restart took {kills:?}); {} answers lost on purpose",
        kills.len(),
        client
            .stats
            .lost_on_purpose
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(!kills.is_empty(), "up was never killed");
    assert!(
        up.lock().unwrap().interrupt(),
        "up stops cleanly after the kills"
    );

    // Exactly once, read from the cluster `up` leaves behind.
    let check = Up::command(&data)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(check.status.success(), "audit verify: {check:?}");
    let up = Up::start(&data, &address);
    let mut wrong = Vec::new();
    for (i, project, actor, grant) in &done {
        let project_view = client.get(&format!("/projects/{project}"), &pm).await;
        if project_view.status != 200 || project_view.body["slug"] != format!("up-{i}") {
            wrong.push(format!(
                "unit {i}: project {project}: {}",
                project_view.body
            ));
        }
        let grants = client
            .get(&format!("/projects/{project}/role-grants"), &pm)
            .await;
        let items = grants.body["items"].as_array().cloned().unwrap_or_default();
        let ids: Vec<&Value> = items.iter().map(|g| &g["id"]).collect();
        if ids != [&json!(grant)] || items[0]["actor_profile_id"] != json!(actor) {
            wrong.push(format!("unit {i}: grants {}", grants.body));
        }
    }
    let mut slugs: Vec<String> = Vec::new();
    let mut page = "/projects?limit=100".to_owned();
    loop {
        let listed = expect(client.get(&page, &pm).await, 200, "projects");
        slugs.extend(
            listed.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["slug"].as_str().unwrap_or_default().to_owned()),
        );
        match listed.body["next_cursor"].as_str() {
            Some(cursor) => page = format!("/projects?limit=100&cursor={cursor}"),
            None => break,
        }
    }
    slugs.sort();
    if slugs.len() != units {
        wrong.push(format!(
            "{} projects for {units} units: {slugs:?}",
            slugs.len()
        ));
    }
    drop(up);
    assert!(
        wrong.is_empty(),
        "seed {seed}: {} problems, the first:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
}
