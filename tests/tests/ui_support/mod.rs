//! Shared setup for the web UI tests: a real server with the pipeline and worker, a
//! project set up over the API (paid terms, guide v1 active, one task released to the
//! ready queue), and the people who use the UI, provisioned under fixed subjects so a
//! test can sign in as them on the UI's local sign-in page. For the policy preview
//! pages: decided submissions whose answers a stricter draft rule fails or passes.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::{TestActor, TestServer};

use crate::projects_support::*;
use crate::review_support::{ATTESTATION, SUMMARY, Setup, publish_paid_policy, zip};

/// The subjects the UI tests sign in as.
pub const SUBMITTER: &str = "ui-submitter";
pub const REVIEWER: &str = "ui-reviewer";
pub const MANAGER: &str = "ui-manager";
pub const FINANCE: &str = "ui-finance";
pub const AUDITOR: &str = "ui-auditor";

/// The task the UI tests work on.
pub const TASK_TITLE: &str = "Prove the lemma";

/// A project ready for the UI: everyone provisioned, one task `ready`.
pub struct UiSetup {
    pub server: TestServer,
    pub pm: TestActor,
    pub fin: TestActor,
    pub submitter: TestActor,
    pub reviewer: TestActor,
    pub auditor: TestActor,
    pub project: Uuid,
    pub guide: Uuid,
    pub task: Uuid,
}

/// Sets up [`UiSetup`] over the API on a server with the pipeline and worker.
pub async fn ready_project(slug: &str) -> UiSetup {
    let server = TestServer::start_with_pipeline().await;
    let pm = manager(&server, MANAGER).await;
    let project = create_project(&server, &pm, slug).await;
    let fin = finance(&server, FINANCE, project).await;
    let adapter = server
        .service_actor(
            &format!("{slug}-adapter"),
            "workstream.payment.local_adapter",
        )
        .await;
    publish_paid_policy(&server, &fin, &adapter, project).await;
    let guide = create_guide(&server, &pm, project, "v1", Some(bundle())).await;
    let answer = activate(&server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let submitter = server.actor(SUBMITTER).await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let reviewer = server.actor(REVIEWER).await;
    server
        .grant_project_role(&reviewer, project, ProjectRole::Reviewer)
        .await;
    let auditor = server.actor(AUDITOR).await;
    server
        .grant_admin(&auditor, AdminRole::AuditAuthority, Some(project))
        .await;
    let created = post(
        &server,
        &format!("/projects/{project}/tasks"),
        &pm,
        json!({"title": TASK_TITLE, "description": "Write the proof in outputs/final-answer.md and attach the test log.",
               "acceptance_criteria": "A complete, checked proof of the lemma, base case included.",
               "rejection_criteria": "Gaps in the argument.", "difficulty": "medium",
               "skill_tags": ["research", "technical-writing"], "estimated_time_minutes": 30}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let task: Uuid = created.body["task"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for (action, body) in [
        ("screen", json!({})),
        ("release", json!({"reason": "ready"})),
    ] {
        let answer = post(&server, &format!("/tasks/{task}/{action}"), &pm, body).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
    }
    UiSetup {
        server,
        pm,
        fin,
        submitter,
        reviewer,
        auditor,
        project,
        guide,
        task,
    }
}

/// The largest answer file the stricter draft of [`stricter_bundle`] allows.
pub const STRICT_FILE_BYTES: usize = 120;

/// The standard bundle with one stricter checker: `size-limits`, blocking, at
/// [`STRICT_FILE_BYTES`] a file, in both phases.
pub fn stricter_bundle() -> Value {
    let mut stricter = bundle();
    stricter["checker_policy"]["checkers"]
        .as_array_mut()
        .expect("the standard bundle lists checkers")
        .push(json!({"name": "size-limits", "phase": "both",
                     "configuration": {"max_file_bytes": STRICT_FILE_BYTES},
                     "blocking": true, "severity": "high"}));
    stricter
}

/// Packet `n`: its answer file is over [`STRICT_FILE_BYTES`] exactly when `long`.
pub fn preview_packet(n: usize, long: bool) -> Vec<u8> {
    let answer = if long {
        format!(
            "# Proof {n}\n\nBy induction on n, the lemma holds; the base case and the step are \
             written out in full below, with every inequality justified.\n"
        )
    } else {
        format!("# Proof {n}\n\nBy induction, it holds.\n")
    };
    assert_eq!(
        answer.len() > STRICT_FILE_BYTES,
        long,
        "{n}: {} bytes",
        answer.len()
    );
    zip(&[
        ("outputs/final-answer.md", &answer),
        ("evidence/tests.log", "test lemma ... ok\n"),
    ])
}

/// One new task per entry of `longs`, each taken by the setup's submitter through
/// upload and submission to review and accepted by its first reviewer, one after
/// another (a contributor holds two tasks at most, the setup's own included); packet
/// `n` is [`preview_packet`]`(n, longs[n])`. Returns (task, submission) per entry.
pub async fn decided_submissions(s: &Setup, longs: &[bool]) -> Vec<(Uuid, Uuid)> {
    let mut decided = Vec::new();
    for (n, long) in longs.iter().enumerate() {
        let created = post(
            &s.server,
            &format!("/projects/{}/tasks", s.project),
            &s.pm,
            json!({"title": format!("Prove lemma {n}"), "description": "Write outputs/final-answer.md.",
                   "acceptance_criteria": "A complete, checked proof of the lemma.",
                   "rejection_criteria": "Gaps.", "difficulty": "medium",
                   "skill_tags": ["research"], "estimated_time_minutes": 30}),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let task: Uuid = created.body["task"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        for (who, action, body) in [
            (&s.pm, "screen", json!({})),
            (&s.pm, "release", json!({"reason": "ready"})),
            (&s.submitter, "claim", json!({})),
            (&s.submitter, "start", json!({})),
        ] {
            let answer = post(&s.server, &format!("/tasks/{task}/{action}"), who, body).await;
            assert_eq!(answer.status, 200, "{action}: {}", answer.body);
        }
        let form = reqwest::multipart::Form::new()
            .text("summary", SUMMARY)
            .text("attestation", ATTESTATION)
            .part(
                "packet",
                reqwest::multipart::Part::bytes(preview_packet(n, *long)).file_name("packet.zip"),
            );
        let uploaded = s
            .server
            .client
            .post(s.server.url(&format!("/api/v1/tasks/{task}/packets")))
            .header("authorization", s.submitter.auth())
            .header("idempotency-key", Uuid::now_v7().to_string())
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), 201);
        let uploaded: Value = uploaded.json().await.unwrap();
        let submitted = post(
            &s.server,
            &format!("/tasks/{task}/submissions"),
            &s.submitter,
            json!({ "admission_id": uploaded["admission_id"] }),
        )
        .await;
        assert_eq!(submitted.status, 201, "{}", submitted.body);
        let submission: Uuid = submitted.body["submission"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let mut status = String::new();
        for _ in 0..600 {
            status = sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
                .bind(task)
                .fetch_one(s.server.database.pool())
                .await
                .unwrap();
            if status != "evaluation_pending" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status, "review_pending", "task {n}");
        let accepted = s.accept(json!([])).await;
        assert_eq!(accepted.status, 201, "{}", accepted.body);
        decided.push((task, submission));
    }
    s.jobs_drained().await;
    decided
}
