//! The submission path over HTTP with the real pipeline: claim, start, upload a packet
//! that fails a pre-submit check (422, nothing created), upload a hostile ZIP (refused
//! by intake), fix, upload, submit; the post-submit checkers run in the worker and the
//! task reaches `review_pending`. And a packet that passes pre-submit but misses a file
//! only the post-submit policy requires goes to `needs_revision` with the finding
//! shown, then a fixed version 2 reaches review.

mod projects_support;

use std::io::Write;
use std::time::Duration;

use projects_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::ProjectRole;
use workstream_e2e::{TestActor, TestServer};

const SUMMARY: &str = "Wrote the proof of the lemma and attached the test log.";
const ATTESTATION: &str = "I attest this packet holds no client data, nothing confidential \
    or private, no credentials or secret tokens, and no copied source material.";

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

const GOOD: &[(&str, &str)] = &[
    (
        "outputs/final-answer.md",
        "# Proof\n\nBy induction on n, the lemma holds.\n",
    ),
    ("evidence/tests.log", "test lemma ... ok\n"),
];

async fn upload(server: &TestServer, who: &TestActor, task: Uuid, bytes: Vec<u8>) -> Answer {
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
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        replayed: false,
    }
}

struct Setup {
    server: TestServer,
    pm: TestActor,
    submitter: TestActor,
    task: Uuid,
}

/// An active project whose guide adds a post-submit-only requirement (`docs/notes.json`,
/// a JSON object)
/// to the standard bundle, and a task claimed and started by a submitter.
async fn setup(slug: &str, post_only_requirement: bool) -> Setup {
    let mut policy = bundle();
    if post_only_requirement {
        policy["checker_policy"]["checkers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "json-schema", "phase": "post_submit",
                         "configuration": {"path": "docs/notes.json", "schema": {"type": "object"}},
                         "blocking": true, "severity": "high"}));
    }
    setup_with(slug, policy).await
}

/// An active project with `policy` as its guide's bundle, and a task claimed and started
/// by a submitter.
async fn setup_with(slug: &str, policy: Value) -> Setup {
    let server = TestServer::start_with_pipeline().await;
    let pm = manager(&server, &format!("{slug}-pm")).await;
    let project = create_project(&server, &pm, slug).await;
    let fin = finance(&server, &format!("{slug}-finance"), project).await;
    publish_unpaid_policy(&server, &fin, project).await;
    let guide = create_guide(&server, &pm, project, "v1", Some(policy)).await;
    let answer = activate(&server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let submitter = server.actor(&format!("{slug}-submitter")).await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let created = post(
        &server,
        &format!("/projects/{project}/tasks"),
        &pm,
        json!({"title": "Prove the lemma", "description": "Write outputs/final-answer.md.",
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
        (&pm, "screen", json!({})),
        (&pm, "release", json!({"reason": "ready"})),
        (&submitter, "claim", json!({})),
        (&submitter, "start", json!({})),
    ] {
        let answer = post(&server, &format!("/tasks/{task}/{action}"), who, body).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
    }
    Setup {
        server,
        pm,
        submitter,
        task,
    }
}

async fn task_status(s: &Setup) -> String {
    let project: String = sqlx::query_scalar("SELECT project_id::text FROM tasks WHERE id = $1")
        .bind(s.task)
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
    let view = get(
        &s.server,
        &format!("/projects/{project}/tasks/{}", s.task),
        &s.pm,
    )
    .await;
    view.body["task"]["status"].as_str().unwrap().to_owned()
}

/// Waits (generously) for the worker to move the task out of `evaluation_pending`.
async fn evaluated(s: &Setup) -> String {
    for _ in 0..600 {
        let status = task_status(s).await;
        if status != "evaluation_pending" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the task stayed in evaluation_pending");
}

async fn count(s: &Setup, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(s.task)
        .fetch_one(s.server.database.pool())
        .await
        .unwrap()
}

async fn submit(s: &Setup, admission: &Value) -> Answer {
    post(
        &s.server,
        &format!("/tasks/{}/submissions", s.task),
        &s.submitter,
        json!({"admission_id": admission["admission_id"]}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fixed_packet_goes_from_upload_to_review_pending() {
    let s = setup("pipeline-ok", false).await;

    // Missing the required answer: pre-submit refuses, nothing is created.
    let answer = upload(&s.server, &s.submitter, s.task, zip(&[GOOD[1]])).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.code(), "pre_submission_checker_failed");
    let results = answer.body["error"]["details"]["results"]
        .as_array()
        .unwrap();
    let required = results
        .iter()
        .find(|r| r["checker"] == "required-files")
        .unwrap();
    assert_eq!(required["status"], "failed");
    assert_eq!(required["findings"][0]["code"], "required_file_missing");
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM submission_bundle_admissions WHERE task_id = $1"
        )
        .await,
        0
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = 'pre_submission_check_failed'").await,
        1
    );
    assert_eq!(task_status(&s).await, "in_progress");

    // A hostile archive never reaches the checkers.
    let answer = upload(
        &s.server,
        &s.submitter,
        s.task,
        zip(&[GOOD[0], ("../escape.txt", "x")]),
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "submission_archive_unsafe_entry"
        ),
        "{}",
        answer.body
    );

    // Fixed: admitted, submitted, evaluated by the worker, in review. The packet carries
    // a few MiB of incompressible evidence: uploads are streamed, not capped at a
    // request-body default.
    let mut noise = String::with_capacity(6 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 6 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push_str(&format!("{x:016x}"));
    }
    let mut good = GOOD.to_vec();
    good.push(("evidence/trace.log", noise.as_str()));
    let admitted = upload(&s.server, &s.submitter, s.task, zip(&good)).await;
    assert_eq!(admitted.status, 201, "{}", admitted.body);
    assert_eq!(admitted.body["file_count"], 3);
    assert!(admitted.body["archive_bytes"].as_u64().unwrap() > 2 << 20);
    assert_eq!(admitted.body["pre_submit"]["route"], "allow_review");
    // Client-chosen versions or hashes are not part of the contract.
    let answer = post(
        &s.server,
        &format!("/tasks/{}/submissions", s.task),
        &s.submitter,
        json!({"admission_id": admitted.body["admission_id"], "version": 7}),
    )
    .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let submitted = submit(&s, &admitted.body).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(submitted.body["submission"]["version"], 1);
    assert_eq!(submitted.body["task"]["status"], "evaluation_pending");

    assert_eq!(evaluated(&s).await, "review_pending");
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM review_queue_entries WHERE task_id = $1 AND state = 'pending'"
        )
        .await,
        1
    );
    let runs = get(
        &s.server,
        &format!("/tasks/{}/checker-runs", s.task),
        &s.submitter,
    )
    .await;
    assert_eq!(runs.status, 200, "{}", runs.body);
    let run = &runs.body["items"][0];
    assert_eq!(run["route"], "allow_review");
    assert!(run.get("results").is_some());
    assert!(
        run["results"][0].get("result_digest").is_none(),
        "contributors see no digests"
    );
    let full = get(&s.server, &format!("/tasks/{}/checker-runs", s.task), &s.pm).await;
    let results = full.body["items"][0]["results"].as_array().unwrap();
    assert!(results.len() >= 6, "{}", full.body);
    assert!(
        results
            .iter()
            .all(|r| r["result_digest"].as_str().unwrap().starts_with("sha256:"))
    );
    assert!(
        results.iter().all(|r| r["status"] != "errored"),
        "{}",
        full.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_submit_failure_returns_the_task_with_the_finding_then_v2_reaches_review() {
    let s = setup("pipeline-revise", true).await;
    let admitted = upload(&s.server, &s.submitter, s.task, zip(GOOD)).await;
    assert_eq!(admitted.status, 201, "{}", admitted.body);
    let submitted = submit(&s, &admitted.body).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(evaluated(&s).await, "needs_revision");
    assert_eq!(
        count(&s, "SELECT count(*) FROM reviews r JOIN submissions s ON s.id = r.submission_id WHERE s.task_id = $1").await,
        0,
        "a checker remediation uses no review"
    );
    let runs = get(
        &s.server,
        &format!("/tasks/{}/checker-runs", s.task),
        &s.submitter,
    )
    .await;
    let run = &runs.body["items"][0];
    assert_eq!(run["route"], "needs_revision");
    let failed: Vec<&Value> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", runs.body);
    assert_eq!(failed[0]["checker"], "json-schema");
    assert_eq!(failed[0]["findings"][0]["code"], "json_file_missing");
    assert_eq!(failed[0]["findings"][0]["path"], "docs/notes.json");

    // The same packet again is refused before anything is stored.
    let again = upload(&s.server, &s.submitter, s.task, zip(GOOD)).await;
    assert_eq!(
        again.code(),
        "submission_archive_unchanged",
        "{}",
        again.body
    );

    let mut fixed = GOOD.to_vec();
    fixed.push(("docs/notes.json", "{\"method\": \"induction\"}\n"));
    let admitted = upload(&s.server, &s.submitter, s.task, zip(&fixed)).await;
    assert_eq!(admitted.status, 201, "{}", admitted.body);
    let submitted = submit(&s, &admitted.body).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(submitted.body["submission"]["version"], 2);
    assert_eq!(evaluated(&s).await, "review_pending");
    let reason: String =
        sqlx::query_scalar("SELECT routing_reason FROM review_queue_entries WHERE task_id = $1")
            .bind(s.task)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(reason, "checker_remediation_return");
}

/// The stored archive's file under the test server's object store.
fn stored_object(s: &Setup, archive_sha256: &str) -> std::path::PathBuf {
    let hex = archive_sha256.strip_prefix("sha256:").unwrap();
    let root = s.server.objects_root();
    root.join("sha256")
        .join(&hex[..2])
        .join(&hex[2..4])
        .join(hex)
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_or_damaged_bytes_hold_the_task_until_an_operator_retry() {
    let s = setup("pipeline-incident", false).await;
    let admitted = upload(&s.server, &s.submitter, s.task, zip(GOOD)).await;
    assert_eq!(admitted.status, 201, "{}", admitted.body);
    let object = stored_object(&s, admitted.body["archive_sha256"].as_str().unwrap());
    let original = std::fs::read(&object).expect("the archive is stored under its digest");

    // Scenario 14: the stored bytes no longer hash to the submitted digest.
    let mut damaged = original.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    std::fs::write(&object, &damaged).unwrap();
    let submitted = submit(&s, &admitted.body).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    for _ in 0..600 {
        let status: String = sqlx::query_scalar(
            "SELECT status FROM checker_runs WHERE task_id = $1 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(s.task)
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
        if status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, route, code): (String, String, Option<String>) = sqlx::query_as(
        "SELECT status, routing_recommendation, failure_code FROM checker_runs WHERE task_id = $1",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), route.as_str(), code.as_deref()),
        ("failed", "checker_retry", Some("material_unavailable"))
    );
    assert_eq!(task_status(&s).await, "evaluation_pending");
    assert_eq!(
        count(&s, "SELECT count(*) FROM checker_results r JOIN checker_runs c ON c.id = r.checker_run_id WHERE c.task_id = $1").await,
        0,
        "no checker ran on unverified bytes"
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM audit_events e JOIN submissions x ON x.id = e.entity_id WHERE x.task_id = $1 AND e.event_type = 'artifact_incident'").await,
        1
    );
    // Scenario 38: the contributor sees only that the run is not evaluated.
    let mine = get(
        &s.server,
        &format!("/tasks/{}/checker-runs", s.task),
        &s.submitter,
    )
    .await;
    let run = &mine.body["items"][0];
    assert_eq!(run["route"], "not_evaluated", "{}", mine.body);
    assert!(run.get("results").is_none() && run.get("failure_code").is_none());

    // Scenario 15: the object is gone altogether; a retry cannot pass on nothing.
    std::fs::remove_file(&object).unwrap();
    let operator = s.server.actor("incident-operator").await;
    s.server
        .grant_admin(
            &operator,
            workstream_domain::roles::AdminRole::Operator,
            None,
        )
        .await;
    // Only an Operator retries, and only a held evaluation.
    let denied = post(
        &s.server,
        &format!("/operations/tasks/{}/re-evaluate", s.task),
        &s.submitter,
        json!({"reason": "please"}),
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    let retry = post(
        &s.server,
        &format!("/operations/tasks/{}/re-evaluate", s.task),
        &operator,
        json!({"reason": "object restored from backup"}),
    )
    .await;
    assert_eq!(retry.status, 202, "{}", retry.body);
    for _ in 0..600 {
        if count(
            &s,
            "SELECT count(*) FROM checker_runs WHERE task_id = $1 AND status = 'failed'",
        )
        .await
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(task_status(&s).await, "evaluation_pending");

    // The bytes come back; a trusted retry supersedes the failed attempts and admits.
    std::fs::write(&object, &original).unwrap();
    let retry = post(
        &s.server,
        &format!("/operations/tasks/{}/re-evaluate", s.task),
        &operator,
        json!({"reason": "object restored from backup"}),
    )
    .await;
    assert_eq!(retry.status, 202, "{}", retry.body);
    assert_eq!(evaluated(&s).await, "review_pending");
    let attempts: Vec<(i32, String, bool)> = sqlx::query_as(
        "SELECT attempt_number, status, is_current_for_submission FROM checker_runs \
         WHERE task_id = $1 ORDER BY attempt_number",
    )
    .bind(s.task)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        attempts,
        [
            (1, "failed".to_owned(), false),
            (2, "failed".to_owned(), false),
            (3, "completed".to_owned(), true)
        ]
    );
    // Nothing to retry any more.
    let again = post(
        &s.server,
        &format!("/operations/tasks/{}/re-evaluate", s.task),
        &operator,
        json!({"reason": "again"}),
    )
    .await;
    assert_eq!(again.code(), "evaluation_not_held", "{}", again.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setup_defect_is_the_managers_to_repair_and_the_retry_admits() {
    // The task-setup checker runs after submission and wants longer criteria than the
    // task has: the run is blocked on the task, not on the packet (scenarios 32, 33).
    let mut policy = bundle();
    for checker in policy["checker_policy"]["checkers"].as_array_mut().unwrap() {
        if checker["name"] == "acceptance-criteria-present" {
            checker["phase"] = json!("post_submit");
            checker["configuration"] = json!({"min_chars": 60});
        }
    }
    let s = setup_with("pipeline-setup", policy).await;
    let admitted = upload(&s.server, &s.submitter, s.task, zip(GOOD)).await;
    assert_eq!(admitted.status, 201, "{}", admitted.body);
    let submitted = submit(&s, &admitted.body).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    for _ in 0..600 {
        if count(
            &s,
            "SELECT count(*) FROM checker_runs WHERE task_id = $1 AND status = 'completed'",
        )
        .await
            == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let route: String =
        sqlx::query_scalar("SELECT routing_recommendation FROM checker_runs WHERE task_id = $1")
            .bind(s.task)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(route, "task_setup_blocked");
    assert_eq!(task_status(&s).await, "evaluation_pending");
    let mine = get(
        &s.server,
        &format!("/tasks/{}/checker-runs", s.task),
        &s.submitter,
    )
    .await;
    assert_eq!(
        mine.body["items"][0],
        json!({
            "id": mine.body["items"][0]["id"], "submission_version": 1, "route": "not_evaluated"
        })
    );

    // The contributor cannot repair the task; the manager can, and the retry admits.
    let repair = json!({"acceptance_criteria": "A complete proof of the lemma, checked line by line, with every case of the induction covered.",
                        "reason": "criteria were too thin to review against"});
    let denied = post(
        &s.server,
        &format!("/tasks/{}/setup-repair", s.task),
        &s.submitter,
        repair.clone(),
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    let repaired = post(
        &s.server,
        &format!("/tasks/{}/setup-repair", s.task),
        &s.pm,
        repair,
    )
    .await;
    assert_eq!(repaired.status, 202, "{}", repaired.body);
    assert_eq!(evaluated(&s).await, "review_pending");
    let full = get(&s.server, &format!("/tasks/{}/checker-runs", s.task), &s.pm).await;
    let items = full.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", full.body);
    assert_eq!(
        (items[0]["route"].as_str(), items[0]["current"].as_bool()),
        (Some("task_setup_blocked"), Some(false))
    );
    assert!(
        !items[0]["results"].as_array().unwrap().is_empty(),
        "the blocked run's results stay readable"
    );
    assert_eq!(
        (items[1]["route"].as_str(), items[1]["current"].as_bool()),
        (Some("allow_review"), Some(true))
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = 'task_setup_repaired'").await,
        1
    );
}

/// Every stored packet object under the pipeline's object store.
fn stored_objects(s: &Setup) -> usize {
    fn files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .map(|e| e.unwrap().path())
                .map(|path| if path.is_dir() { files(&path) } else { 1 })
                .sum()
        })
    }
    files(&s.server.objects_root().join("sha256"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_packet_for_someone_elses_task_is_refused_before_intake() {
    // A submitter of the project who is not the assignee cannot see the claimed task:
    // the concealed 404, before a byte is inspected, checked or stored, and without an
    // audit event; the assignee's identical upload is checked on its merits.
    let s = setup("pipeline-intruder", false).await;
    let project: Uuid = sqlx::query_scalar("SELECT project_id FROM tasks WHERE id = $1")
        .bind(s.task)
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
    let intruder = s.server.actor("pipeline-intruder").await;
    s.server
        .grant_project_role(&intruder, project, ProjectRole::Submitter)
        .await;
    let audit = async || -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_events")
            .fetch_one(s.server.database.pool())
            .await
            .unwrap()
    };
    let before = audit().await;
    let refused = upload(&s.server, &intruder, s.task, zip(&[GOOD[1]])).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    assert_eq!(refused.code(), "not_found");
    let refused = upload(&s.server, &intruder, s.task, zip(GOOD)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    assert_eq!(audit().await, before, "no audit event for the refusals");
    assert_eq!(stored_objects(&s), 0, "nothing stored for the intruder");

    let checked = upload(&s.server, &s.submitter, s.task, zip(&[GOOD[1]])).await;
    assert_eq!(
        checked.code(),
        "pre_submission_checker_failed",
        "{}",
        checked.body
    );
    let admitted = upload(&s.server, &s.submitter, s.task, zip(GOOD)).await;
    assert_eq!(admitted.status, StatusCode::CREATED, "{}", admitted.body);
    assert_eq!(stored_objects(&s), 1);
}

/// An archive with `entries` (name, bytes) written as they are, `stored` or deflated.
fn raw_zip(entries: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        let method = if stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(true);
        for (name, bytes) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
    }
    out.into_inner()
}

/// `bytes` with every occurrence of `from` replaced by `to` (same length): a name
/// changed in both the local and the central header, as the zip writer never would.
fn patched(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut at = 0;
    let mut hits = 0;
    while let Some(i) = bytes[at..].windows(from.len()).position(|w| w == from) {
        bytes[at + i..at + i + from.len()].copy_from_slice(to);
        at += i + from.len();
        hits += 1;
    }
    assert!(hits > 0, "nothing to patch");
    bytes
}

/// The offsets of every record with `signature`.
fn records(bytes: &[u8], signature: &[u8; 4]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == signature)
        .map(|(i, _)| i)
        .collect()
}

/// Fifty archives of the kinds an attacker sends (escaping, absolute and device names,
/// links, encryption, bombs, lying sizes and checksums, collisions, names PostgreSQL or
/// a file system cannot hold, truncation, non-archives).
fn hostile_archives() -> Vec<(String, Vec<u8>)> {
    let text: &[u8] = b"# Proof\n\nBy induction.\n";
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |what: &str, bytes: Vec<u8>| cases.push((what.to_owned(), bytes));
    for name in [
        "../outputs/final-answer.md",
        "outputs/../../etc/passwd",
        "/outputs/final-answer.md",
        "/etc/passwd",
        "C:/outputs/final-answer.md",
        "C:\\windows\\system32\\x.md",
        "\\\\server\\share\\x.md",
        "outputs\\..\\..\\x.md",
        "outputs/./../../x.md",
        "..",
        "outputs/..",
        "outputs//final-answer.md",
        "outputs/final-answer.md/",
        "~/x.md",
        "",
        "/",
        "C:x.md",
        "../evil/",
    ] {
        add(
            &format!("name {name:?}"),
            raw_zip(&[(name, text), ("evidence/tests.log", b"ok\n")], false),
        );
    }
    // Names with bytes a path or a text column cannot hold, patched in after writing.
    for (what, to) in [
        ("a NUL in a name", b"outputs/fi\0al-answer.md".as_slice()),
        (
            "invalid UTF-8 in a name",
            b"outputs/fi\xffal-answer.md".as_slice(),
        ),
        (
            "a newline in a name",
            b"outputs/fi\nal-answer.md".as_slice(),
        ),
        (
            "a backslash in a name",
            b"outputs\\final-answer.md".as_slice(),
        ),
    ] {
        let base = raw_zip(
            &[
                ("outputs/final-answer.md", text),
                ("evidence/tests.log", b"ok\n"),
            ],
            true,
        );
        add(what, patched(base, b"outputs/final-answer.md", to));
    }
    let dup = raw_zip(
        &[("outputs/aaaa.md", text), ("outputs/bbbb.md", text)],
        true,
    );
    add(
        "two entries with one name",
        patched(dup, b"outputs/bbbb.md", b"outputs/aaaa.md"),
    );
    add(
        "case collision",
        raw_zip(
            &[("outputs/Final.md", text), ("outputs/final.md", text)],
            false,
        ),
    );
    add(
        "normalization collision",
        raw_zip(
            &[("outputs/\u{e9}.md", text), ("outputs/e\u{301}.md", text)],
            false,
        ),
    );
    add(
        "a file and a directory of one name",
        raw_zip(&[("outputs/a", text), ("outputs/a/b.md", text)], false),
    );
    // Links.
    for target in [
        "/etc/passwd",
        "../../../../etc/shadow",
        "outputs/final-answer.md",
    ] {
        let mut out = std::io::Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default();
            writer
                .start_file("outputs/final-answer.md", options)
                .unwrap();
            writer.write_all(text).unwrap();
            writer
                .add_symlink("outputs/link.md", target, options)
                .unwrap();
            writer.finish().unwrap();
        }
        add(&format!("a symlink to {target}"), out.into_inner());
    }
    // Encryption flagged in the local header, the central one, or both.
    let plain = raw_zip(&[("outputs/final-answer.md", text)], true);
    for (what, local, central) in [
        ("encrypted (both headers)", true, true),
        ("encrypted (local header)", true, false),
        ("encrypted (central header)", false, true),
    ] {
        let mut bytes = plain.clone();
        if local {
            for at in records(&bytes, b"PK\x03\x04") {
                bytes[at + 6] |= 1;
            }
        }
        if central {
            for at in records(&bytes, b"PK\x01\x02") {
                bytes[at + 8] |= 1;
            }
        }
        add(what, bytes);
    }
    // Checksums and sizes that lie.
    let mut crc = plain.clone();
    let data = crc.windows(7).position(|w| w == b"# Proof").unwrap();
    crc[data] ^= 0x20;
    add("a CRC mismatch", crc);
    for (what, offset) in [
        ("a central size that lies", 24usize),
        ("a central compressed size that lies", 20),
    ] {
        let mut bytes = plain.clone();
        for at in records(&bytes, b"PK\x01\x02") {
            bytes[at + offset] = bytes[at + offset].wrapping_add(7);
        }
        add(what, bytes);
    }
    let mut local_size = plain.clone();
    for at in records(&local_size, b"PK\x03\x04") {
        local_size[at + 22] = local_size[at + 22].wrapping_add(3);
    }
    add("a local size that lies", local_size);
    // Bombs and limits.
    add(
        "a ratio bomb",
        raw_zip(
            &[("outputs/final-answer.md", &vec![0u8; 64 * 1024 * 1024])],
            false,
        ),
    );
    let many: Vec<(String, &[u8])> = (0..2001)
        .map(|i| (format!("evidence/{i}.log"), b"x".as_slice()))
        .collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    add("2001 entries", raw_zip(&many, false));
    let deep = format!("outputs/{}x.md", "d/".repeat(40));
    add(
        "a path 40 levels deep",
        raw_zip(&[(deep.as_str(), text)], false),
    );
    let long = format!("outputs/{}.md", "n".repeat(300));
    add(
        "a 300-character name",
        raw_zip(&[(long.as_str(), text)], false),
    );
    // Not archives, or broken ones.
    let good = zip(GOOD);
    add("truncated to half", good[..good.len() / 2].to_vec());
    add(
        "the central directory cut off",
        good[..good.len() - 30].to_vec(),
    );
    add("no end record", good[..good.len() - 22].to_vec());
    add("one byte", vec![0x50]);
    add("the signature alone", b"PK\x05\x06".to_vec());
    add("a PNG", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec());
    add(
        "text",
        b"outputs/final-answer.md: I promise it is there".to_vec(),
    );
    add(
        "random bytes",
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect(),
    );
    add(
        "a gzip",
        b"\x1f\x8b\x08\0\0\0\0\0\0\x03\x03\0\0\0\0\0\0\0\0\0".to_vec(),
    );
    let mut junk_prefix = b"MZ\x90\0junk before the archive".to_vec();
    junk_prefix.extend_from_slice(&good);
    add("junk before the archive", junk_prefix);
    let mut two = good.clone();
    two.extend_from_slice(&good);
    add("two archives end to end", two);
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_hostile_archives_are_refused_with_a_code_and_leave_nothing_behind() {
    let s = setup("pipeline-hostile", false).await;
    let archives = hostile_archives();
    assert!(archives.len() >= 50, "only {} archives", archives.len());
    let count = async |sql: &str| -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap()
    };
    let events = count("SELECT count(*) FROM audit_events").await;
    let mut wrong = Vec::new();
    for (what, bytes) in archives {
        let answer = upload(&s.server, &s.submitter, s.task, bytes).await;
        let status = answer.status.as_u16();
        if !(400..500).contains(&status) || answer.body["error"]["code"].as_str().is_none() {
            wrong.push(format!("{what}: {status} {}", answer.body));
        }
    }
    assert!(
        wrong.is_empty(),
        "answered without a 4xx and a code:\n{}",
        wrong.join("\n")
    );
    // Nothing half-written: no bytes stored, no admission, the task as it was. A refusal
    // of intake is audited (one event each), nothing else is.
    assert_eq!(stored_objects(&s), 0, "nothing stored");
    assert_eq!(
        count("SELECT count(*) FROM submission_bundle_admissions").await,
        0
    );
    assert_eq!(count("SELECT count(*) FROM submissions").await, 0);
    assert_eq!(task_status(&s).await, "in_progress");
    let after = count("SELECT count(*) FROM audit_events").await;
    assert!(after - events <= 60, "{events} -> {after}");
    // The assignee's honest packet still goes through.
    let admitted = upload(&s.server, &s.submitter, s.task, zip(GOOD)).await;
    assert_eq!(admitted.status, StatusCode::CREATED, "{}", admitted.body);
}
