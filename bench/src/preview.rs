//! Policy previews (`crates/workstream-engine/src/previews/`) through the real HTTP API,
//! job worker and sandbox, against the two targets of issue 20:
//!
//! * **Preview time**: stored submissions, routed through the product
//!   ([`STORED`] in a full run), are previewed under a draft guide whose checker policy is
//!   the standard one (the seven built-in checkers) plus one stricter checker
//!   (`size-limits` at [`STRICT_FILE_BYTES`] a file, blocking, in both phases), which
//!   every [`LONG_EVERY`]th packet's answer file exceeds. The time runs from the start
//!   request to the preview's completion as the preview records them (`created_at`, the
//!   start's transaction, to `finished_at`, the last result's), on an otherwise idle
//!   server, against the 10 s target. The part checks the report before it reports the
//!   time: every submission checked, the route flips exactly the long packets, and
//!   `size-limits` newly failing exactly them.
//! * **Live evaluations while a preview runs**: equal batches of submissions, held in
//!   progress with admitted packets, are submitted by [`CLIENTS`] concurrent clients as
//!   `lifecycle` submits its routed tasks; batches with no preview (one more than the
//!   rounds) alternate with batches beside a preview of the same size (each
//!   submitted once that preview's first job has started), so drift weighs on both
//!   alike. The rate is submission-to-routing transitions per second counted from the
//!   audit trail, from a batch's first submission to its last transition; beside a
//!   preview only the transitions recorded before the preview finished count, up to
//!   the earlier of the last route and the preview's end. The figure is the rate of
//!   the batches beside a preview (their transitions over their summed times) over
//!   that of the batches without, against the 0.8 target (a preview's jobs are
//!   background work: they take the slots live evaluations leave,
//!   `crates/workstream-engine/src/worker.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_e2e::TestActor;

use crate::Scale;
use crate::lifecycle::Ledger;
use crate::projects_support::{bundle, create_guide};
use crate::report::{Against, Better, Figure, Report};
use crate::review_support::zip;
use crate::world::World;

/// Concurrent submitting clients (as in `lifecycle`).
const CLIENTS: usize = 4;
/// Active tasks a contributor may hold (the lifecycle's fixed cap).
const ACTIVE_TASK_CAP: usize = 2;
/// Stored submissions previewed in a full run (the figure).
const STORED: usize = 200;
/// The preview-time target of issue 20 (README, Benchmarks).
const PREVIEW_TARGET_SECONDS: f64 = 10.0;
/// The live-rate target of issue 20: a preview slows live evaluations by 20% at most.
const LIVE_RATE_TARGET: f64 = 0.8;
/// The stricter checker's largest file.
const STRICT_FILE_BYTES: usize = 120;
/// Every this many stored packets, one answers at length, over [`STRICT_FILE_BYTES`].
const LONG_EVERY: usize = 4;

pub async fn run(scale: Scale, report: &mut Report) -> anyhow::Result<()> {
    let stored = scale.pick(STORED, 20);
    let batch = scale.pick(40, 10);
    let rounds = scale.pick(3, 1);
    println!(
        "== preview: a preview of {stored} stored submissions (seven built-in checkers and a \
         stricter one); routing of {batch} submissions by {CLIENTS} clients, {} batches without \
         a preview alternating with {rounds} beside one",
        rounds + 1
    );
    // Submitter 0 holds the setup's own task: the seats are the others'.
    let submitters = 1 + (stored + (2 * rounds + 1) * batch).div_ceil(ACTIVE_TASK_CAP);
    let world = Arc::new(World::start("bench-preview", submitters, 2).await);
    let mut seats = (1..submitters).flat_map(|s| [s; ACTIVE_TASK_CAP]);

    // The stored history: routed, never decided (a preview takes every submission with
    // a final run).
    let long = |n: usize| n.is_multiple_of(LONG_EVERY);
    let history = prepare(&world, &mut seats, stored, "Stored", long).await?;
    println!("-- routing {stored} stored submissions");
    submit_all(&world, &history).await?;
    let longs: Vec<Uuid> = history.iter().filter(|p| p.long).map(|p| p.task).collect();
    let draft = create_guide(
        &world.server,
        &world.pm,
        world.project,
        "v2-stricter",
        Some(stricter_bundle()),
    )
    .await;

    // The preview alone.
    println!("-- previewing {stored} submissions");
    let clock = Instant::now();
    let alone = start_preview(&world, draft, stored).await?;
    wait_preview(&world, alone, true).await?;
    let observed = clock.elapsed();
    let report_alone = world
        .get(
            &world.pm,
            &format!(
                "/projects/{}/guides/{draft}/previews/{alone}",
                world.project
            ),
        )
        .await?;
    let (preview_seconds, summary) = checked(&report_alone, stored, &longs)?;

    // Live routing: batches without a preview alternate with batches beside one, so
    // that drift (the database growing, caches warming) weighs on both alike.
    let mut plain = Vec::new();
    for r in 0..=rounds {
        plain.push(prepare(&world, &mut seats, batch, &format!("Plain {r}"), |_| false).await?);
    }
    let mut beside = Vec::new();
    for r in 0..rounds {
        beside.push(prepare(&world, &mut seats, batch, &format!("Beside {r}"), |_| false).await?);
    }
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut preview_beside = Vec::new();
    for (r, batch_alone) in plain.iter().enumerate() {
        println!("-- round {r}: routing {batch} submissions with no preview");
        without.push(routing(&world, batch_alone, None).await?);
        let Some(prepared) = beside.get(r) else {
            break;
        };
        println!("-- round {r}: routing {batch} submissions while a preview of {stored} runs");
        let preview = start_preview(&world, draft, stored).await?;
        wait_preview(&world, preview, false).await?;
        let (submitted, ended) = tokio::join!(
            submit_all(&world, prepared),
            wait_preview(&world, preview, true)
        );
        submitted?;
        with.push(routing(&world, prepared, Some(ended?)).await?);
        let ended = world
            .get(
                &world.pm,
                &format!(
                    "/projects/{}/guides/{draft}/previews/{preview}",
                    world.project
                ),
            )
            .await?;
        ensure!(
            ended["preview"]["status"] == "completed",
            "the preview beside live routing ended {}: {}",
            ended["preview"]["status"],
            ended["preview"]["failure_detail"]
        );
        preview_beside.push(seconds_between(&ended["preview"])?);
    }
    drop(world);

    let (without, with) = (Routing::total(&without), Routing::total(&with));
    let ratio = with.rate() / without.rate();
    let area = "Policy preview";
    report.figure(Figure {
        area,
        measure: format!(
            "preview of {stored} stored submissions, seven built-in checkers and a stricter one \
             in the draft: start to completed"
        ),
        ours: preview_seconds,
        unit: "s",
        reference: "target (issue 20; README, Benchmarks)".into(),
        reference_value: PREVIEW_TARGET_SECONDS,
        better: Better::Lower,
        against: Against::Target,
    });
    report.figure(Figure {
        area,
        measure: format!(
            "submission to routing while a preview of {stored} runs, over the same without one \
             (transitions/s; batches of {batch} submissions by {CLIENTS} clients, {rounds} \
             beside a preview and {} without)",
            rounds + 1
        ),
        ours: ratio,
        unit: "×",
        reference: "target: live evaluations at least 0.8 of their rate (issue 20)".into(),
        reference_value: LIVE_RATE_TARGET,
        better: Better::Higher,
        against: Against::Target,
    });
    report.note(format!(
        "Policy preview: {stored} submissions previewed in {preview_seconds:.2} s as recorded \
         ({:.2} s seen by the polling client), {} of them flipped to needs_revision by the \
         stricter rule; {} checks run in the sandbox, {} recorded results reused. Routing \
         ran at {:.1} transitions/s without a preview and {:.1} beside one ({} of {} \
         transitions recorded while the preview ran; the previews beside live work took \
         {} s).",
        observed.as_secs_f64(),
        summary["route_changed"],
        summary["checked_results"],
        summary["reused_results"],
        without.rate(),
        with.rate(),
        with.transitions,
        2 * batch * rounds,
        preview_beside
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    report.raw(
        "preview",
        json!({
            "stored_submissions": stored,
            "long_packets": longs.len(),
            "strict_file_bytes": STRICT_FILE_BYTES,
            "preview_seconds": preview_seconds,
            "preview_seconds_observed": observed.as_secs_f64(),
            "summary": summary,
            "batch": batch,
            "rounds": rounds,
            "clients": CLIENTS,
            "routing_without_preview": without.json(),
            "routing_beside_preview": with.json(),
            "preview_beside_routing_seconds": preview_beside,
            "ratio": ratio,
        }),
    );
    Ok(())
}

/// The standard bundle with `size-limits` at [`STRICT_FILE_BYTES`] a file added.
fn stricter_bundle() -> Value {
    let mut stricter = bundle();
    if let Some(checkers) = stricter["checker_policy"]["checkers"].as_array_mut() {
        checkers.push(json!({"name": "size-limits", "phase": "both",
                             "configuration": {"max_file_bytes": STRICT_FILE_BYTES},
                             "blocking": true, "severity": "high"}));
    }
    stricter
}

/// A packet the active policy admits for `task`; its answer file is over
/// [`STRICT_FILE_BYTES`] exactly when `long`.
fn packet(task: Uuid, long: bool) -> Vec<u8> {
    let answer = if long {
        format!(
            "# Proof {task}\n\nBy induction on n, the lemma holds; the base case and the step \
             are written out in full below.\n"
        )
    } else {
        format!(
            "# Proof {}\n\nBy induction, it holds.\n",
            &task.simple().to_string()[..8]
        )
    };
    debug_assert_eq!(answer.len() > STRICT_FILE_BYTES, long);
    zip(&[
        ("outputs/final-answer.md", &answer),
        ("evidence/tests.log", "test lemma ... ok\n"),
    ])
}

/// A task held in progress with an admitted packet, ready to submit.
#[derive(Clone)]
struct Prepared {
    client: usize,
    who: TestActor,
    task: Uuid,
    admission: String,
    long: bool,
}

/// `count` released tasks, each claimed and started by the next free seat (a submitter
/// holds [`ACTIVE_TASK_CAP`]) with packet `n` uploaded (long when `long(n)`).
async fn prepare(
    world: &World,
    seats: &mut impl Iterator<Item = usize>,
    count: usize,
    label: &str,
    long: impl Fn(usize) -> bool,
) -> anyhow::Result<Vec<Prepared>> {
    let mut prepared = Vec::with_capacity(count);
    for n in 0..count {
        let seat = seats.next().context("a submitter seat")?;
        let who = world.submitters[seat].clone();
        let task = world.released_task(&format!("{label} {n}")).await?;
        world.start_task(&who, task).await?;
        let admission = world
            .upload_packet(&who, task, packet(task, long(n)))
            .await?;
        prepared.push(Prepared {
            client: n % CLIENTS,
            who,
            task,
            admission,
            long: long(n),
        });
    }
    Ok(prepared)
}

/// Submits every prepared task by [`CLIENTS`] concurrent clients and waits until each
/// is routed to review.
async fn submit_all(world: &Arc<World>, prepared: &[Prepared]) -> anyhow::Result<()> {
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let world = world.clone();
        let mine: Vec<Prepared> = prepared
            .iter()
            .filter(|p| p.client == client)
            .cloned()
            .collect();
        clients.spawn(async move {
            for p in mine {
                world.submit(&p.who, p.task, &p.admission).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = clients.join_next().await {
        done??;
    }
    for p in prepared {
        world.wait_status(p.task, "review_pending").await?;
    }
    Ok(())
}

/// A batch's routing as the audit trail recorded it.
struct Routing {
    /// Submission and routing transitions counted.
    transitions: usize,
    /// From the first submission to the last counted transition.
    seconds: f64,
}

impl Routing {
    /// The batches together: their transitions over their summed times.
    fn total(batches: &[Routing]) -> Routing {
        Routing {
            transitions: batches.iter().map(|b| b.transitions).sum(),
            seconds: batches.iter().map(|b| b.seconds).sum(),
        }
    }

    fn rate(&self) -> f64 {
        self.transitions as f64 / self.seconds
    }

    fn json(&self) -> Value {
        json!({ "transitions": self.transitions, "seconds": self.seconds,
                "transitions_per_second": self.rate() })
    }
}

/// Routes `prepared` (submitted and waited for, unless `until` says it already was)
/// and counts its transitions; with `until`, only those recorded by then.
async fn routing(
    world: &Arc<World>,
    prepared: &[Prepared],
    until: Option<DateTime<Utc>>,
) -> anyhow::Result<Routing> {
    if until.is_none() {
        submit_all(world, prepared).await?;
    }
    let tasks: Vec<Uuid> = prepared.iter().map(|p| p.task).collect();
    let ledger = Ledger::read(world, &tasks).await?;
    ensure!(
        ledger.transitions("evaluation_pending") == tasks.len()
            && ledger.transitions("review_pending") == tasks.len(),
        "every submission is recorded once and routed once"
    );
    let times: Vec<DateTime<Utc>> = ledger
        .events
        .iter()
        .filter(|(_, status, _)| status == "evaluation_pending" || status == "review_pending")
        .map(|(_, _, at)| *at)
        .filter(|at| until.is_none_or(|end| *at <= end))
        .collect();
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        anyhow::bail!("no transition of the batch was recorded while the preview ran");
    };
    let seconds = (*last - *first).num_microseconds().unwrap_or(0) as f64 / 1e6;
    ensure!(
        times.len() >= 2 && seconds > 0.0,
        "too few transitions ({}) while the preview ran to time them",
        times.len()
    );
    Ok(Routing {
        transitions: times.len(),
        seconds,
    })
}

/// Starts a preview of `draft` over the project's most recent `submissions`: its id.
async fn start_preview(world: &World, draft: Uuid, submissions: usize) -> anyhow::Result<Uuid> {
    let started = world
        .post(
            &world.pm,
            &format!("/projects/{}/guides/{draft}/previews", world.project),
            json!({ "submissions": submissions }),
            202,
        )
        .await?;
    Ok(started["id"].as_str().context("preview id")?.parse()?)
}

/// Waits until the preview has ended (`ended`) or its first job has started: when it
/// ended (or `now` when it only started). Polls the row, not the report, so waiting
/// costs the server nothing the measure would see.
async fn wait_preview(world: &World, preview: Uuid, ended: bool) -> anyhow::Result<DateTime<Utc>> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (status, finished): (String, Option<DateTime<Utc>>) = sqlx::query_as(
            "/* bench */ SELECT status, finished_at FROM policy_previews WHERE id = $1",
        )
        .bind(preview)
        .fetch_one(world.server.database.pool())
        .await?;
        match status.as_str() {
            "completed" | "failed" => return finished.context("an ended preview's end"),
            "running" if !ended => return Ok(Utc::now()),
            _ => {}
        }
        ensure!(
            Instant::now() < deadline,
            "preview {preview} is {status} after 600 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Seconds from a preview's `created_at` to its `finished_at`.
fn seconds_between(preview: &Value) -> anyhow::Result<f64> {
    let at = |key: &str| -> anyhow::Result<DateTime<Utc>> {
        Ok(preview[key]
            .as_str()
            .with_context(|| format!("the preview's {key}"))?
            .parse()?)
    };
    let elapsed = at("finished_at")? - at("created_at")?;
    Ok(elapsed.num_microseconds().unwrap_or(0) as f64 / 1e6)
}

/// Checks the report of the preview alone: completed, every submission checked, the
/// flips exactly the long packets (allowed to review, now needing a revision) and
/// `size-limits` newly failing exactly them. Its time and summary.
fn checked(report: &Value, stored: usize, longs: &[Uuid]) -> anyhow::Result<(f64, Value)> {
    let preview = &report["preview"];
    ensure!(
        preview["status"] == "completed",
        "the preview ended {}: {}",
        preview["status"],
        preview["failure_detail"]
    );
    let summary = preview["summary"].clone();
    ensure!(
        summary["submissions"] == stored && summary["checked"] == stored,
        "every stored submission is checked: {summary}"
    );
    let task_of = |id: &Value| {
        report["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["submission_id"] == *id)
            .and_then(|r| r["task_id"].as_str())
            .and_then(|t| t.parse::<Uuid>().ok())
    };
    let mut flipped: Vec<Uuid> = Vec::new();
    for flip in summary["route_flips"].as_array().into_iter().flatten() {
        ensure!(
            flip["from"] == "allow_review" && flip["to"] == "needs_revision",
            "only the stricter rule's flips: {flip}"
        );
        for id in flip["submission_ids"].as_array().into_iter().flatten() {
            flipped.push(task_of(id).context("a flipped submission's result")?);
        }
    }
    let mut expected = longs.to_vec();
    expected.sort_unstable();
    flipped.sort_unstable();
    ensure!(
        flipped == expected,
        "the flips are exactly the {} long packets (got {})",
        expected.len(),
        flipped.len()
    );
    let size = summary["checkers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["checker"] == "size-limits")
        .context("size-limits in the summary")?;
    ensure!(
        size["newly_failing"] == longs.len() && size["newly_passing"] == 0,
        "size-limits newly fails exactly the long packets: {size}"
    );
    Ok((seconds_between(preview)?, summary))
}
