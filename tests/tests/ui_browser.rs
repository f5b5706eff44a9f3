//! The web UI in headless Chromium: the whole review cycle clicked through by a worker,
//! a reviewer, finance, an auditor and a manager (`tests/browser/review_cycle.mjs`,
//! playwright-core driving Debian's `chromium`), then the records checked in the
//! database. Screenshots of every page land in `<target dir>/ui-screenshots/`.
//!
//! Needs `node`, the driver in `tests/browser/node_modules` and `/usr/bin/chromium` (or
//! `WORKSTREAM_UI_CHROMIUM`), and gets them itself on first use
//! ([`workstream_e2e::toolchains`]): `npm ci` in `tests/browser` when playwright-core is
//! missing or older than `package-lock.json`, and Debian's `chromium` with `apt-get`
//! when the test runs as root. Never `npx playwright install`: its browser downloads
//! fail here. When one of them cannot be had the test is skipped loudly, or fails under
//! `WORKSTREAM_REQUIRE_TOOLCHAINS=1` (`.ci/run`).
//!
//! Two more runs: reviewer calibration (`tests/browser/calibration.mjs`) and a policy
//! preview of a draft guide (`tests/browser/preview.mjs`).

mod projects_support;
mod review_support;
mod ui_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use review_support::{decided_submissions, stricter_bundle, zip};
use ui_support::*;
use workstream_e2e::toolchains::{self, Unavailable};

/// The worker's answer to the reviewer's finding, typed in the browser.
const RESPONSE: &str = "Proved the base case n = 0 in line 3 and removed the placeholder.";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// `<target dir>/ui-screenshots`: the test binary runs from `<target>/<profile>/deps/`.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace().join("target"));
    target.join("ui-screenshots")
}

/// Node, the driver and the browser, installed if need be: the path of the browser.
fn browser_prerequisites() -> Result<PathBuf, Unavailable> {
    toolchains::command("node")?;
    toolchains::npm_packages(&workspace().join("tests/browser"), "playwright-core")?;
    match std::env::var_os("WORKSTREAM_UI_CHROMIUM") {
        Some(chromium) if Path::new(&chromium).exists() => Ok(chromium.into()),
        Some(chromium) => Err(Unavailable(format!(
            "WORKSTREAM_UI_CHROMIUM={} does not exist",
            Path::new(&chromium).display()
        ))),
        None => toolchains::debian_package(Path::new("/usr/bin/chromium"), "chromium"),
    }
}

/// The three packets the worker uploads: one missing the required answer file, a
/// first version with a placeholder on line 5, and the revision that fixes it.
fn write_packets(dir: &Path) {
    let evidence = (
        "evidence/tests.log",
        "test lemma n=1 ... ok\ntest lemma n=2 ... ok\n",
    );
    let packets = [
        (
            "bad.zip",
            zip(&[
                evidence,
                (
                    "outputs/notes.md",
                    "Notes on the lemma and the proof so far.\n",
                ),
            ]),
        ),
        (
            "v1.zip",
            zip(&[
                evidence,
                (
                    "outputs/final-answer.md",
                    "# Proof\n\nBy induction on n, the lemma holds for every n > 0.\n\nTODO: the base case.\n",
                ),
            ]),
        ),
        (
            "v2.zip",
            zip(&[
                (
                    "evidence/tests.log",
                    "test lemma n=0 ... ok\ntest lemma n=1 ... ok\ntest lemma n=2 ... ok\n",
                ),
                (
                    "outputs/final-answer.md",
                    "# Proof\n\nBase case: for n = 0 both sides are 1.\n\nStep: if the lemma holds for n it holds for n + 1, so by induction it holds for every n.\n",
                ),
            ]),
        ),
    ];
    for (name, bytes) in packets {
        std::fs::write(dir.join(name), bytes).expect("write a packet");
    }
}

async fn count(s: &UiSetup, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(s.task)
        .fetch_one(s.server.database.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_review_cycle_runs_in_a_real_browser() {
    let Some(chromium) = toolchains::or_skip("ui_browser", browser_prerequisites()) else {
        return;
    };
    let s = ready_project("ui-browser").await;
    // Someone who has signed in once (the manager grants them a role in the browser),
    // and an access administrator.
    let newcomer = s.server.actor("ui-newcomer").await;
    let access = s.server.actor("ui-access-admin").await;
    s.server
        .grant_admin(
            &access,
            workstream_domain::roles::AdminRole::AccessAdministrator,
            None,
        )
        .await;
    let packets = tempfile::tempdir().expect("packet dir");
    write_packets(packets.path());
    let shots = screenshot_dir();
    if shots.exists() {
        std::fs::remove_dir_all(&shots).expect("clear old screenshots");
    }

    let script = workspace().join("tests/browser/review_cycle.mjs");
    let mut node = tokio::process::Command::new("node");
    node.arg(&script)
        .current_dir(workspace().join("tests/browser"))
        .env("WORKSTREAM_UI_BASE_URL", &s.server.base_url)
        .env("WORKSTREAM_UI_SCREENSHOTS", &shots)
        .env("WORKSTREAM_UI_PACKETS", packets.path())
        .env("WORKSTREAM_UI_TASK", s.task.to_string())
        .env("WORKSTREAM_UI_PROJECT", s.project.to_string())
        .env("WORKSTREAM_UI_CHROMIUM", &chromium)
        .env("WORKSTREAM_UI_RESPONSE", RESPONSE)
        .kill_on_drop(true);
    let run = tokio::time::timeout(Duration::from_secs(600), node.output())
        .await
        .expect("the browser run finished within 10 minutes")
        .expect("node started");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        run.status.success(),
        "the browser review cycle failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );

    // What the clicks recorded.
    let status: String = sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
        .bind(s.task)
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
    assert_eq!(status, "accepted");
    let decisions: Vec<String> =
        sqlx::query_scalar("SELECT decision FROM reviews WHERE task_id = $1 ORDER BY completed_at")
            .bind(s.task)
            .fetch_all(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(decisions, ["needs_revision", "accept"]);
    let finding: (String, String, serde_json::Value) = sqlx::query_as(
        "SELECT f.area, f.finding_kind, f.evidence_ref FROM review_findings f \
         JOIN reviews r ON r.id = f.review_id WHERE r.task_id = $1",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(finding.0, "proof");
    assert_eq!(finding.1, "blocking");
    assert_eq!(
        finding.2,
        serde_json::json!({"path": "outputs/final-answer.md", "line": 5}),
        "the line the reviewer clicked"
    );
    let responses: Vec<String> = sqlx::query_scalar(
        "SELECT p.response_text FROM submission_finding_responses p \
         JOIN submissions s ON s.id = p.new_submission_id WHERE s.task_id = $1",
    )
    .bind(s.task)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(responses, [RESPONSE]);
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM finding_resolutions x JOIN reviews r ON r.id = x.review_id \
                   WHERE r.task_id = $1 AND x.result = 'resolved'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM submissions WHERE task_id = $1").await,
        2
    );
    // The refused upload left its audit event and no admission beyond the two used.
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM audit_events WHERE entity_id = $1 \
                   AND event_type = 'pre_submission_check_failed'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM submission_bundle_admissions WHERE task_id = $1"
        )
        .await,
        2
    );
    // The awards finance saw: 50 USD + 10 pts for the submission, 5 USD per review.
    let awards: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.contribution_type, a.unit_code, trim_scale(a.quantity)::text \
         FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id \
         WHERE c.task_id = $1 ORDER BY a.contribution_type, a.unit_code, a.id",
    )
    .bind(s.task)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    let awards: Vec<(&str, &str, &str)> = awards
        .iter()
        .map(|(t, u, q)| (t.as_str(), u.as_str(), q.as_str()))
        .collect();
    assert_eq!(
        awards,
        [
            ("accepted_submission", "USD", "50"),
            ("accepted_submission", "pts", "10"),
            ("completed_review", "USD", "5"),
            ("completed_review", "USD", "5"),
        ]
    );
    // The manager's lesson and sprint report.
    let lessons: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM project_lessons WHERE project_id = $1 AND created_by IS NOT NULL",
    )
    .bind(s.project)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(lessons, 1);
    let report: serde_json::Value = sqlx::query_scalar(
        "SELECT report FROM evaluation_sprints WHERE project_id = $1 AND name = 'Sprint 1'",
    )
    .bind(s.project)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(report["reviews"]["total"], 2);

    // The manager's own day in the UI: the newcomer reviews now, and the second task
    // is claimed for the submitter with the manager's reason in its event.
    let newcomer_grants: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM project_role_grants WHERE actor_id = $1 AND project_id = $2 \
         AND role = 'reviewer' AND status = 'active' AND grant_reason = 'joins the reviewers'",
    )
    .bind(newcomer.id)
    .bind(s.project)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(newcomer_grants, 1);
    let second: (String, Option<uuid::Uuid>, Option<String>) = sqlx::query_as(
        "SELECT t.status, t.assigned_to, e.reason FROM tasks t \
         JOIN audit_events e ON e.entity_id = t.id AND e.event_type = 'task_assigned' \
         WHERE t.project_id = $1 AND t.title = 'Prove the corollary'",
    )
    .bind(s.project)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        second,
        (
            "claimed".to_owned(),
            Some(s.submitter.id),
            Some("proved the lemma it builds on".to_owned())
        )
    );

    // One screenshot per page the run visited.
    let pngs = std::fs::read_dir(&shots)
        .expect("the screenshot dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count();
    assert_eq!(pngs, 35, "one screenshot per page in {}", shots.display());
}

/// Reviewer calibration in headless Chromium (`tests/browser/calibration.mjs`): a second
/// reviewer claims the sampled accept from the review page, reads the blind packet and
/// records an agreeing accept; the manager sees the agreement beside the sprints.
/// Screenshots land in `<target dir>/ui-screenshots-calibration/`.
#[tokio::test(flavor = "multi_thread")]
async fn a_calibration_offer_is_claimed_and_recorded_in_a_real_browser() {
    let Some(chromium) = toolchains::or_skip("ui_browser", browser_prerequisites()) else {
        return;
    };
    let s = review_support::setup_with("ui-calib", review_support::Terms::Unpaid, |bundle| {
        bundle["review_policy"]["calibration_sample_percent"] = serde_json::json!(100);
    })
    .await;
    let submitted = s
        .submit(review_support::good_packet("v1"), serde_json::json!({}))
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let decided = s.accept(serde_json::json!([])).await;
    assert_eq!(decided.status, 201, "{}", decided.body);
    s.jobs_drained().await;

    let shots = screenshot_dir().with_file_name("ui-screenshots-calibration");
    if shots.exists() {
        std::fs::remove_dir_all(&shots).expect("clear old screenshots");
    }
    let mut node = tokio::process::Command::new("node");
    node.arg(workspace().join("tests/browser/calibration.mjs"))
        .current_dir(workspace().join("tests/browser"))
        .env("WORKSTREAM_UI_BASE_URL", &s.server.base_url)
        .env("WORKSTREAM_UI_SCREENSHOTS", &shots)
        .env("WORKSTREAM_UI_PROJECT", s.project.to_string())
        .env("WORKSTREAM_UI_CHROMIUM", &chromium)
        .env("WORKSTREAM_UI_REVIEWER", &s.reviewer2.subject)
        .env("WORKSTREAM_UI_MANAGER", &s.pm.subject)
        .env("WORKSTREAM_UI_TASK_TITLE", "Prove the lemma")
        .env("WORKSTREAM_UI_FIRST_REVIEWER", &s.reviewer.subject)
        .env(
            "WORKSTREAM_UI_FIRST_SUMMARY",
            decided.body["review"]["summary"].as_str().unwrap(),
        )
        .kill_on_drop(true);
    let run = tokio::time::timeout(Duration::from_secs(600), node.output())
        .await
        .expect("the browser run finished within 10 minutes")
        .expect("node started");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        run.status.success(),
        "the browser calibration failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );

    // What the clicks recorded: one agreeing calibration by the second reviewer.
    let recorded: (uuid::Uuid, String, bool, i32) = sqlx::query_as(
        "SELECT c.reviewer_id, c.decision, c.decision_agrees, c.finding_overlap_bp \
         FROM calibration_reviews c JOIN calibration_offers o ON o.id = c.offer_id \
         WHERE o.task_id = $1",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        recorded,
        (s.reviewer2.id, "accept".to_owned(), true, 10_000)
    );
}

/// A policy preview in headless Chromium (`tests/browser/preview.mjs`): the manager
/// starts a preview of a draft guide that adds a stricter size limit, waits on the
/// report page until it ends, checks its flips are the packets that limit fails, and
/// activates the draft, which records the preview. Screenshots land in
/// `<target dir>/ui-screenshots-preview/`.
#[tokio::test(flavor = "multi_thread")]
async fn a_manager_previews_a_draft_guide_in_a_real_browser() {
    let Some(chromium) = toolchains::or_skip("ui_browser", browser_prerequisites()) else {
        return;
    };
    let s = review_support::setup_with("ui-preview-browser", review_support::Terms::Unpaid, |_| {})
        .await;
    let longs = [true, false, false, true];
    let decided = decided_submissions(&s, &longs).await;
    let draft =
        projects_support::create_guide(&s.server, &s.pm, s.project, "v2", Some(stricter_bundle()))
            .await;
    let tasks = |long: bool| {
        decided
            .iter()
            .zip(longs)
            .filter(|(_, l)| *l == long)
            .map(|((task, _), _)| task.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };

    let shots = screenshot_dir().with_file_name("ui-screenshots-preview");
    if shots.exists() {
        std::fs::remove_dir_all(&shots).expect("clear old screenshots");
    }
    let mut node = tokio::process::Command::new("node");
    node.arg(workspace().join("tests/browser/preview.mjs"))
        .current_dir(workspace().join("tests/browser"))
        .env("WORKSTREAM_UI_BASE_URL", &s.server.base_url)
        .env("WORKSTREAM_UI_SCREENSHOTS", &shots)
        .env("WORKSTREAM_UI_PROJECT", s.project.to_string())
        .env("WORKSTREAM_UI_GUIDE", draft.to_string())
        .env("WORKSTREAM_UI_CHROMIUM", &chromium)
        .env("WORKSTREAM_UI_MANAGER", &s.pm.subject)
        .env("WORKSTREAM_UI_SUBMISSIONS", longs.len().to_string())
        .env("WORKSTREAM_UI_FLIPPED", tasks(true))
        .env("WORKSTREAM_UI_KEPT", tasks(false))
        .kill_on_drop(true);
    let run = tokio::time::timeout(Duration::from_secs(600), node.output())
        .await
        .expect("the browser run finished within 10 minutes")
        .expect("node started");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        run.status.success(),
        "the browser preview failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );

    // What the clicks recorded: one completed preview of the four submissions, the one
    // the activation names.
    let (preview, submissions, route_changed): (uuid::Uuid, i32, serde_json::Value) =
        sqlx::query_as(
            "SELECT id, cardinality(submission_ids), summary->'route_changed' \
             FROM policy_previews WHERE guide_id = $1 AND status = 'completed'",
        )
        .bind(draft)
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
    assert_eq!((submissions, route_changed), (4, serde_json::json!(2)));
    let activated: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM audit_events WHERE entity_id = $1 AND event_type = 'guide_activated'",
    )
    .bind(draft)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(activated["policy_preview_id"], serde_json::json!(preview));
    let pngs = std::fs::read_dir(&shots)
        .expect("the screenshot dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count();
    assert_eq!(pngs, 6, "one screenshot per page in {}", shots.display());
}
