//! Shared setup for the review, revision and compensation tests: a real server with
//! the real pipeline (sandbox, object store, in-process worker), an active project
//! whose terms are paid or unpaid, a submitter, two reviewers, and a task brought to
//! `review_pending` over HTTP. Helpers upload and submit packets, claim leases and
//! post decisions the way a client does. For policy previews (the engine's test and
//! the UI's): a stricter draft bundle and decided submissions whose answers it fails or
//! passes.
#![allow(dead_code)]

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::ProjectRole;
use workstream_e2e::{TestActor, TestServer};

use crate::projects_support::*;

pub const SUMMARY: &str = "Wrote the proof of the lemma and attached the test log.";
pub const ATTESTATION: &str = "I attest this packet holds no client data, nothing confidential \
    or private, no credentials or secret tokens, and no copied source material.";

/// A ZIP of `files` (path, contents).
pub fn zip(files: &[(&str, &str)]) -> Vec<u8> {
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

/// A packet that passes the standard bundle's checks; `variant` changes its bytes.
pub fn good_packet(variant: &str) -> Vec<u8> {
    zip(&[
        (
            "outputs/final-answer.md",
            &format!("# Proof\n\nBy induction on n, the lemma holds.\n\n{variant}\n"),
        ),
        ("evidence/tests.log", "test lemma ... ok\n"),
    ])
}

/// The project's compensation terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terms {
    /// Both rules unpaid.
    Unpaid,
    /// accepted_submission: 50 USD + 10 points; completed_review: 5 USD.
    Paid,
}

/// Everything a review test starts from.
pub struct Setup {
    pub server: TestServer,
    pub pm: TestActor,
    pub fin: TestActor,
    pub adapter: TestActor,
    pub submitter: TestActor,
    pub reviewer: TestActor,
    pub reviewer2: TestActor,
    pub project: Uuid,
    pub guide: Uuid,
    pub task: Uuid,
    pub bindings: Vec<Uuid>,
}

/// An active project with `bundle()` (optionally changed by `tune`) and `terms`, and
/// one task claimed and started by the submitter (not yet submitted).
pub async fn setup_with(slug: &str, terms: Terms, tune: impl FnOnce(&mut Value)) -> Setup {
    setup_registering(slug, terms, async |_| {}, tune).await
}

/// Registers `bytes` through the engine, as a publication would.
pub async fn register_through_engine(server: &TestServer, bytes: &[u8]) -> String {
    workstream_engine::checkers::register_component(
        server.database.pool(),
        server.pipeline().checkers.sandbox(),
        bytes,
        false,
        None,
    )
    .await
    .expect("register a test component")
    .component
    .digest
}

/// [`setup_with`], with `register` run on the server before the guide is created (to
/// register the components `tune` names in the policy).
pub async fn setup_registering(
    slug: &str,
    terms: Terms,
    register: impl AsyncFnOnce(&TestServer),
    tune: impl FnOnce(&mut Value),
) -> Setup {
    let server = TestServer::start_with_pipeline().await;
    register(&server).await;
    let pm = manager(&server, &format!("{slug}-pm")).await;
    let project = create_project(&server, &pm, slug).await;
    let fin = finance(&server, &format!("{slug}-finance"), project).await;
    let adapter = server
        .service_actor(
            &format!("{slug}-adapter"),
            "workstream.payment.local_adapter",
        )
        .await;
    let bindings = match terms {
        Terms::Unpaid => {
            publish_unpaid_policy(&server, &fin, project).await;
            Vec::new()
        }
        Terms::Paid => publish_paid_policy(&server, &fin, &adapter, project).await,
    };
    let mut policy = bundle();
    tune(&mut policy);
    let guide = create_guide(&server, &pm, project, "v1", Some(policy)).await;
    let answer = activate(&server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let submitter = server.actor(&format!("{slug}-submitter")).await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let reviewer = server.actor(&format!("{slug}-reviewer")).await;
    server
        .grant_project_role(&reviewer, project, ProjectRole::Reviewer)
        .await;
    let reviewer2 = server.actor(&format!("{slug}-reviewer2")).await;
    server
        .grant_project_role(&reviewer2, project, ProjectRole::Reviewer)
        .await;
    let created = post(
        &server,
        &format!("/projects/{project}/tasks"),
        &pm,
        json!({"title": "Prove the lemma", "description": "Write outputs/final-answer.md.",
               "acceptance_criteria": "A complete, checked proof of the lemma.",
               "rejection_criteria": "Gaps.", "difficulty": "medium",
               "skill_tags": ["research", "technical-writing"], "estimated_time_minutes": 30}),
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
        fin,
        adapter,
        submitter,
        reviewer,
        reviewer2,
        project,
        guide,
        task,
        bindings,
    }
}

/// [`setup_with`] with the standard bundle, and the first version submitted and
/// admitted to review (`review_pending`).
pub async fn in_review(slug: &str, terms: Terms) -> Setup {
    let s = setup_with(slug, terms, |_| {}).await;
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    s
}

/// Publishes terms paying 50 USD + 10 points per accepted submission and 5 USD per
/// completed review, through the local adapter; returns (money, points) bindings.
pub async fn publish_paid_policy(
    server: &TestServer,
    fin: &TestActor,
    adapter: &TestActor,
    project: Uuid,
) -> Vec<Uuid> {
    for (instrument, unit) in [("money", "USD"), ("project_points", "pts")] {
        let answer = post(
            server,
            &format!("/projects/{project}/compensation-units"),
            fin,
            json!({ "instrument_type": instrument, "unit_code": unit }),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    let mut bindings = Vec::new();
    for instrument in ["money", "project_points"] {
        let answer = post(
            server,
            &format!("/projects/{project}/adapter-bindings"),
            fin,
            json!({ "instrument_type": instrument, "adapter_actor_id": adapter.id,
                    "route_key": format!("local.{instrument}") }),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        bindings.push(answer.body["id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }
    let draft = post(
        server,
        &format!("/projects/{project}/contribution-policies/drafts"),
        fin,
        json!({ "name": "Paid terms" }),
    )
    .await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    let policy = draft.body["contribution_policy_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let version = draft.body["contribution_policy_version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/projects/{project}/contribution-policies/{policy}/versions/{version}");
    let terms = put(
        server,
        &base,
        fin,
        json!({ "rules": [
            { "contribution_type": "accepted_submission", "compensation_mode": "compensated", "definitions": [
                { "instrument_type": "money", "unit_code": "USD", "quantity": "50.00", "adapter_binding_id": bindings[0] },
                { "instrument_type": "project_points", "unit_code": "pts", "quantity": "10", "adapter_binding_id": bindings[1] }
            ]},
            { "contribution_type": "completed_review", "compensation_mode": "compensated", "definitions": [
                { "instrument_type": "money", "unit_code": "USD", "quantity": "5", "adapter_binding_id": bindings[0] }
            ]}
        ]}),
    )
    .await;
    assert_eq!(terms.status, 200, "{}", terms.body);
    let published = post(server, &format!("{base}/publication"), fin, json!({})).await;
    assert_eq!(published.status, 200, "{}", published.body);
    bindings
}

impl Setup {
    /// Uploads `packet` as the submitter; the answer of the upload route.
    pub async fn upload(&self, packet: Vec<u8>) -> Answer {
        let form = reqwest::multipart::Form::new()
            .text("summary", SUMMARY)
            .text("attestation", ATTESTATION)
            .part(
                "packet",
                reqwest::multipart::Part::bytes(packet).file_name("packet.zip"),
            );
        let response = self
            .server
            .client
            .post(
                self.server
                    .url(&format!("/api/v1/tasks/{}/packets", self.task)),
            )
            .header("authorization", self.submitter.auth())
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

    /// Uploads `packet` and submits it with `extra` merged into the body (preparation
    /// and responses for a revision).
    pub async fn submit(&self, packet: Vec<u8>, extra: Value) -> Answer {
        let uploaded = self.upload(packet).await;
        assert_eq!(uploaded.status, 201, "{}", uploaded.body);
        let mut body = json!({ "admission_id": uploaded.body["admission_id"] });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        post(
            &self.server,
            &format!("/tasks/{}/submissions", self.task),
            &self.submitter,
            body,
        )
        .await
    }

    /// The task's status, from the database.
    pub async fn status(&self) -> String {
        sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
            .bind(self.task)
            .fetch_one(self.server.database.pool())
            .await
            .unwrap()
    }

    /// Waits for the worker to move the task out of `evaluation_pending`.
    pub async fn evaluated(&self) -> String {
        for _ in 0..600 {
            let status = self.status().await;
            if status != "evaluation_pending" {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the task stayed in evaluation_pending");
    }

    /// Waits for the task's current checker run to finish; its (status, route,
    /// failure code).
    pub async fn run_finished(&self) -> (String, String, Option<String>) {
        for _ in 0..600 {
            let run: Option<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT status, routing_recommendation, failure_code FROM checker_runs \
                 WHERE task_id = $1 AND is_current_for_submission \
                 ORDER BY submission_version DESC LIMIT 1",
            )
            .bind(self.task)
            .fetch_optional(self.server.database.pool())
            .await
            .unwrap();
            if let Some(run) =
                run.filter(|(status, _, _)| status == "completed" || status == "failed")
            {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the checker run did not finish");
    }

    /// `GET /reviews/current` as `who`.
    pub async fn current(&self, who: &TestActor) -> Answer {
        get(&self.server, "/reviews/current", who).await
    }

    /// Claims the offered entry as `who`; asserts success and returns the lease id.
    pub async fn claim(&self, who: &TestActor) -> Uuid {
        let answer = self.try_claim(who, None).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["lease"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// `POST /reviews/claim` as `who`, naming `entry` or taking the offer.
    pub async fn try_claim(&self, who: &TestActor, entry: Option<Uuid>) -> Answer {
        let body = match entry {
            Some(e) => json!({ "queue_entry_id": e }),
            None => json!({}),
        };
        post(&self.server, "/reviews/claim", who, body).await
    }

    /// Posts a decision on `lease` as `who`.
    pub async fn decide(&self, who: &TestActor, lease: Uuid, body: Value) -> Answer {
        post(
            &self.server,
            &format!("/reviews/leases/{lease}/decision"),
            who,
            body,
        )
        .await
    }

    /// Claims as the first reviewer and accepts with evidence (and `resolutions`).
    pub async fn accept(&self, resolutions: Value) -> Answer {
        let lease = self.claim(&self.reviewer).await;
        self.decide(&self.reviewer, lease, accept_body(resolutions))
            .await
    }

    /// Waits until no job is waiting or running (a decision's award deliveries and
    /// reputation run after it commits), at most a minute.
    pub async fn jobs_drained(&self) {
        for _ in 0..600 {
            let busy: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE state IN ('available', 'retryable', 'running')",
            )
            .fetch_one(self.server.database.pool())
            .await
            .unwrap();
            if busy == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the job queue did not drain");
    }

    /// One count from the database with the task bound as `$1`.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(self.task)
            .fetch_one(self.server.database.pool())
            .await
            .unwrap()
    }

    /// The task's revision context as the submitter sees it.
    pub async fn revision_context(&self) -> Value {
        let answer = get(
            &self.server,
            &format!("/tasks/{}/revision-context", self.task),
            &self.submitter,
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

/// A blocking finding with evidence on the answer file.
pub fn blocking(area: &str, issue: &str) -> Value {
    json!({ "kind": "blocking", "area": area, "issue": issue,
            "rationale": "The acceptance criteria require it.",
            "required_fix": format!("Fix: {issue}"),
            "evidence_ref": { "path": "outputs/final-answer.md", "line": 3 } })
}

/// An advisory finding.
pub fn advisory(area: &str, issue: &str) -> Value {
    json!({ "kind": "advisory", "area": area, "issue": issue })
}

/// An accept decision citing the answer file.
pub fn accept_body(resolutions: Value) -> Value {
    json!({ "decision": "accept", "summary": "The proof is complete and checked.",
            "confidence": "high",
            "acceptance_evidence_refs": [{ "path": "outputs/final-answer.md", "line": 3,
                                           "note": "the induction step" }],
            "resolutions": resolutions })
}

/// A needs_revision decision raising `findings`.
pub fn needs_revision_body(findings: Value) -> Value {
    json!({ "decision": "needs_revision", "summary": "Two gaps to close.", "findings": findings })
}

/// The ids of the findings a decision raised.
pub fn finding_ids(decided: &Value) -> Vec<String> {
    decided["review"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
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

/// A digest of every row of the tables a policy preview must never touch, by table.
pub async fn live_records(s: &Setup) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in [
        "submissions",
        "checker_runs",
        "checker_results",
        "tasks",
        "task_assignments",
        "review_queue_entries",
        "review_leases",
        "reviews",
        "review_findings",
        "submission_bundle_admissions",
        "packet_files",
        "project_guides",
    ] {
        let digest: Option<String> = sqlx::query_scalar(&format!(
            "SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t"
        ))
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
        out.push((table.to_owned(), digest.unwrap_or_default()));
    }
    out
}

/// A `checker_update` lesson the manager recorded and accepted: its path, ready to be
/// implemented.
pub async fn accepted_checker_lesson(s: &Setup) -> String {
    let lessons = format!("/projects/{}/lessons", s.project);
    let lesson = post(
        &s.server,
        &lessons,
        &s.pm,
        json!({"source": "incident", "lesson_type": "checker_update",
               "summary": "Answers grew past a page; limit file sizes."}),
    )
    .await;
    assert_eq!(lesson.status, 201, "{}", lesson.body);
    let lesson = format!("{lessons}/{}", lesson.body["id"].as_str().unwrap());
    let accepted = post(&s.server, &format!("{lesson}/accept"), &s.pm, json!({})).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    lesson
}
