//! Setup for the payment tests: an active project whose contribution terms pay the
//! submitter (money 50 USD plus 10 points, each through its own adapter binding) and
//! leave reviews unpaid, a submitter and a reviewer, and the HTTP steps that take a task
//! from creation through a real packet, the worker's checks and a human review to
//! `accepted`.
#![allow(dead_code)]

use std::io::Write;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::{TestActor, TestServer};

use crate::projects_support;
pub use crate::projects_support::{Answer, bundle, get, post, send};

/// A payment test's world.
pub struct World {
    pub server: TestServer,
    pub project: Uuid,
    pub pm: TestActor,
    pub finance: TestActor,
    pub auditor: TestActor,
    pub submitter: TestActor,
    pub reviewer: TestActor,
    /// The service actor bound to both bindings.
    pub adapter: TestActor,
    pub money_binding: Uuid,
    pub points_binding: Uuid,
}

/// Route keys of the two bindings.
pub struct Routes {
    pub money: &'static str,
    pub points: &'static str,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            money: "local.money",
            points: "local.points",
        }
    }
}

fn id(body: &Value, pointer: &str) -> Uuid {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {body}"))
        .parse()
        .unwrap()
}

/// Starts a server with the pipeline and sets up the world (see the module docs).
pub async fn world(slug: &str, routes: Routes) -> World {
    let server = TestServer::start_with_pipeline().await;
    let pm = projects_support::manager(&server, &format!("{slug}-pm")).await;
    let project = projects_support::create_project(&server, &pm, slug).await;
    let finance = projects_support::finance(&server, &format!("{slug}-finance"), project).await;
    let auditor = server.actor(&format!("{slug}-auditor")).await;
    server
        .grant_admin(&auditor, AdminRole::AuditAuthority, Some(project))
        .await;
    let adapter = server
        .service_actor(
            &format!("{slug}-adapter"),
            "workstream.payment.local_adapter",
        )
        .await;

    for (instrument, unit) in [("money", "USD"), ("project_points", "pts")] {
        let answer = post(
            &server,
            &format!("/projects/{project}/compensation-units"),
            &finance,
            json!({"instrument_type": instrument, "unit_code": unit}),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    let mut bindings = Vec::new();
    for (instrument, route) in [("money", routes.money), ("project_points", routes.points)] {
        let answer = post(
            &server,
            &format!("/projects/{project}/adapter-bindings"),
            &finance,
            json!({"instrument_type": instrument, "adapter_actor_id": adapter.id, "route_key": route}),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        bindings.push(id(&answer.body, "/id"));
    }
    let draft = post(
        &server,
        &format!("/projects/{project}/contribution-policies/drafts"),
        &finance,
        json!({"name": "Paid terms"}),
    )
    .await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    let base = format!(
        "/projects/{project}/contribution-policies/{}/versions/{}",
        id(&draft.body, "/contribution_policy_id"),
        id(&draft.body, "/contribution_policy_version_id")
    );
    let terms = projects_support::put(
        &server,
        &base,
        &finance,
        json!({ "rules": [
            { "contribution_type": "accepted_submission", "compensation_mode": "compensated", "definitions": [
                { "instrument_type": "money", "unit_code": "USD", "quantity": "50", "adapter_binding_id": bindings[0] },
                { "instrument_type": "project_points", "unit_code": "pts", "quantity": "10", "adapter_binding_id": bindings[1] }
            ]},
            { "contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": [] }
        ]}),
    )
    .await;
    assert_eq!(terms.status, 200, "{}", terms.body);
    let published = post(&server, &format!("{base}/publication"), &finance, json!({})).await;
    assert_eq!(published.status, 200, "{}", published.body);

    let guide = projects_support::create_guide(&server, &pm, project, "v1", Some(bundle())).await;
    let answer = projects_support::activate(&server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let submitter = server.actor(&format!("{slug}-submitter")).await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let reviewer = server.actor(&format!("{slug}-reviewer")).await;
    server
        .grant_project_role(&reviewer, project, ProjectRole::Reviewer)
        .await;
    World {
        server,
        project,
        pm,
        finance,
        auditor,
        submitter,
        reviewer,
        adapter,
        money_binding: bindings[0],
        points_binding: bindings[1],
    }
}

/// A ZIP of `files` (path, contents).
fn zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default();
        for (path, text) in files {
            writer.start_file(*path, options).unwrap();
            writer.write_all(text.as_bytes()).unwrap();
        }
        writer.finish().unwrap();
    }
    out.into_inner()
}

const SUMMARY: &str = "Wrote the proof of the lemma and attached the test log.";
const ATTESTATION: &str = "I attest this packet holds no client data, nothing confidential \
    or private, no credentials or secret tokens, and no copied source material.";

impl World {
    /// A fresh task taken by the submitter to `review_pending` (a real packet, checked
    /// by the worker).
    pub async fn task_in_review(&self, title: &str) -> Uuid {
        let s = &self.server;
        let created = post(
            s,
            &format!("/projects/{}/tasks", self.project),
            &self.pm,
            json!({"title": title, "description": "Write outputs/final-answer.md.",
                   "acceptance_criteria": "A complete, checked proof of the lemma.",
                   "rejection_criteria": "Gaps.", "difficulty": "medium", "estimated_time_minutes": 30}),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let task = id(&created.body, "/task/id");
        for (who, action, body) in [
            (&self.pm, "screen", json!({})),
            (&self.pm, "release", json!({"reason": "ready"})),
            (&self.submitter, "claim", json!({})),
            (&self.submitter, "start", json!({})),
        ] {
            let answer = post(s, &format!("/tasks/{task}/{action}"), who, body).await;
            assert_eq!(answer.status, 200, "{action}: {}", answer.body);
        }
        let form = reqwest::multipart::Form::new()
            .text("summary", SUMMARY)
            .text("attestation", ATTESTATION)
            .part(
                "packet",
                reqwest::multipart::Part::bytes(zip(&[
                    (
                        "outputs/final-answer.md",
                        "# Proof\n\nBy induction on n, the lemma holds.\n",
                    ),
                    ("evidence/tests.log", "test lemma ... ok\n"),
                ]))
                .file_name("packet.zip"),
            );
        let response = s
            .client
            .post(s.url(&format!("/api/v1/tasks/{task}/packets")))
            .header("authorization", self.submitter.auth())
            .header("idempotency-key", Uuid::now_v7().to_string())
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let admitted: Value = response.json().await.unwrap();
        let submitted = post(
            s,
            &format!("/tasks/{task}/submissions"),
            &self.submitter,
            json!({"admission_id": admitted["admission_id"]}),
        )
        .await;
        assert_eq!(submitted.status, 201, "{}", submitted.body);
        for _ in 0..600 {
            if self.task_status(task).await == "review_pending" {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {task} never reached review_pending");
    }

    /// The task's status as its manager reads it.
    pub async fn task_status(&self, task: Uuid) -> String {
        let view = get(
            &self.server,
            &format!("/projects/{}/tasks/{task}", self.project),
            &self.pm,
        )
        .await;
        view.body["task"]["status"]
            .as_str()
            .unwrap_or_else(|| panic!("{}", view.body))
            .to_owned()
    }

    /// The pending queue entry of `task`.
    pub async fn queue_entry(&self, task: Uuid) -> Uuid {
        sqlx::query_scalar(
            "SELECT id FROM review_queue_entries WHERE task_id = $1 AND state = 'pending'",
        )
        .bind(task)
        .fetch_one(self.server.database.pool())
        .await
        .unwrap()
    }

    /// The reviewer claims `task`'s review; returns the lease id.
    pub async fn claim(&self, task: Uuid) -> Uuid {
        let entry = self.queue_entry(task).await;
        let claimed = post(
            &self.server,
            "/reviews/claim",
            &self.reviewer,
            json!({"queue_entry_id": entry}),
        )
        .await;
        assert_eq!(claimed.status, 201, "{}", claimed.body);
        id(&claimed.body, "/lease/id")
    }

    /// The reviewer accepts under `lease`; returns the decision's response body.
    pub async fn accept(&self, lease: Uuid) -> Value {
        let decided = post(
            &self.server,
            &format!("/reviews/leases/{lease}/decision"),
            &self.reviewer,
            json!({
                "decision": "accept",
                "summary": "The proof is complete and the tests pass.",
                "acceptance_evidence_refs": [{"path": "outputs/final-answer.md", "line": 3}],
                "findings": [],
                "resolutions": []
            }),
        )
        .await;
        assert_eq!(decided.status, 201, "{}", decided.body);
        decided.body
    }

    /// A task taken all the way to `accepted`; returns (task, decision body).
    pub async fn accepted_task(&self, title: &str) -> (Uuid, Value) {
        let task = self.task_in_review(title).await;
        let lease = self.claim(task).await;
        let decision = self.accept(lease).await;
        (task, decision)
    }

    /// The submitter's awards of `task`: (award id, instrument, quantity), by instrument.
    pub async fn awards(&self, task: Uuid) -> Vec<(Uuid, String, String)> {
        sqlx::query_as(
            "SELECT a.id, a.instrument_type, trim_scale(a.quantity)::text FROM compensation_awards a \
             JOIN contribution_records c ON c.id = a.contribution_record_id \
             WHERE c.task_id = $1 ORDER BY a.instrument_type",
        )
        .bind(task)
        .fetch_all(self.server.database.pool())
        .await
        .unwrap()
    }

    /// `SELECT count(*) ...` with one uuid bound.
    pub async fn count(&self, sql: &str, bind: Uuid) -> i64 {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(self.server.database.pool())
            .await
            .unwrap()
    }

    /// Waits until `award`'s outbox row is in `state` (the worker delivers it).
    pub async fn wait_outbox(&self, award: Uuid, state: &str) {
        for _ in 0..300 {
            let now: Option<String> = sqlx::query_scalar(
                "SELECT state FROM award_delivery_outbox WHERE compensation_award_id = $1",
            )
            .bind(award)
            .fetch_optional(self.server.database.pool())
            .await
            .unwrap();
            if now.as_deref() == Some(state) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("award {award}'s delivery never reached {state}");
    }

    /// Posts a fulfilment report as `who`.
    pub async fn report(&self, who: &TestActor, body: Value) -> Answer {
        send(
            &self.server,
            Method::POST,
            "/compensation/fulfillment-reports",
            who,
            Some(body),
            None,
        )
        .await
    }
}

/// When the report of `event` says things happened: now, the first time an event id
/// is reported in this process, and the same time again for its replays (a replay is
/// the same report, to the byte).
pub fn report_time(event: &str) -> String {
    static TIMES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
        std::sync::LazyLock::new(Default::default);
    TIMES
        .lock()
        .unwrap()
        .entry(event.to_owned())
        .or_insert_with(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .clone()
}

/// A valid fulfilled report.
pub fn fulfilled(event: &str, award: Uuid, quantity: &str) -> Value {
    let at = report_time(event);
    json!({
        "external_event_id": event,
        "award_id": award,
        "status": "fulfilled",
        "fulfilled_quantity": quantity,
        "external_reference": format!("pay-{event}"),
        "fulfilled_at": at,
        "reported_at": at
    })
}

/// A valid failed report.
pub fn failed(event: &str, award: Uuid, code: &str) -> Value {
    json!({
        "external_event_id": event,
        "award_id": award,
        "status": "failed",
        "failure_code": code,
        "reported_at": report_time(event)
    })
}
