//! The product under load: a real server (HTTP, the checker pipeline, an in-process job
//! worker) on a database of the benchmark cluster, an active project with paid terms
//! and the standard checker policy (the e2e suite's `review_support::setup_with`), and
//! the calls a client makes to move tasks, each asserting its documented answer.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::ProjectRole;
use workstream_e2e::{TestActor, TestServer};

use crate::projects_support::{get, post};
use crate::review_support::{ATTESTATION, SUMMARY, Terms, accept_body, good_packet, setup_with};

/// A running server with its project and people.
pub struct World {
    pub server: TestServer,
    pub pm: TestActor,
    pub project: Uuid,
    /// Hold assignments and submit.
    pub submitters: Vec<TestActor>,
    /// Each holds at most one review lease at a time (the standard review policy).
    pub reviewers: Vec<TestActor>,
}

impl World {
    /// Starts the server and the project with `submitters` and `reviewers`.
    pub async fn start(slug: &str, submitters: usize, reviewers: usize) -> World {
        let setup = setup_with(slug, Terms::Paid, |_| {}).await;
        let mut world = World {
            server: setup.server,
            pm: setup.pm,
            project: setup.project,
            submitters: vec![setup.submitter],
            reviewers: vec![setup.reviewer, setup.reviewer2],
        };
        for i in world.submitters.len()..submitters {
            let actor = world
                .member(&format!("{slug}-submitter-{i}"), ProjectRole::Submitter)
                .await;
            world.submitters.push(actor);
        }
        for i in world.reviewers.len()..reviewers {
            let actor = world
                .member(&format!("{slug}-reviewer-{i}"), ProjectRole::Reviewer)
                .await;
            world.reviewers.push(actor);
        }
        world
    }

    /// A new actor holding `role` on the project.
    async fn member(&self, subject: &str, role: ProjectRole) -> TestActor {
        let actor = self.server.actor(subject).await;
        self.server
            .grant_project_role(&actor, self.project, role)
            .await;
        actor
    }

    /// `POST path` as `who`, expecting `status`; the body.
    pub async fn post(
        &self,
        who: &TestActor,
        path: &str,
        body: Value,
        status: u16,
    ) -> anyhow::Result<Value> {
        let answer = post(&self.server, path, who, body).await;
        ensure!(
            answer.status.as_u16() == status,
            "POST {path}: {} {}",
            answer.status,
            answer.body
        );
        Ok(answer.body)
    }

    /// `GET path` as `who`, expecting 200; the body.
    pub async fn get(&self, who: &TestActor, path: &str) -> anyhow::Result<Value> {
        let answer = get(&self.server, path, who).await;
        ensure!(
            answer.status.as_u16() == 200,
            "GET {path}: {} {}",
            answer.status,
            answer.body
        );
        Ok(answer.body)
    }

    /// A new task, screened and released to the ready queue.
    pub async fn released_task(&self, title: &str) -> anyhow::Result<Uuid> {
        let task = self.created_task(title).await?;
        self.post(&self.pm, &format!("/tasks/{task}/screen"), json!({}), 200)
            .await?;
        self.post(
            &self.pm,
            &format!("/tasks/{task}/release"),
            json!({"reason": "ready"}),
            200,
        )
        .await?;
        Ok(task)
    }

    /// A new task, left a draft.
    pub async fn created_task(&self, title: &str) -> anyhow::Result<Uuid> {
        let created = self
            .post(
                &self.pm,
                &format!("/projects/{}/tasks", self.project),
                json!({"title": title, "description": "Write outputs/final-answer.md.",
                       "acceptance_criteria": "A complete, checked proof of the lemma.",
                       "rejection_criteria": "Gaps.", "difficulty": "medium",
                       "skill_tags": ["research"], "estimated_time_minutes": 30}),
                201,
            )
            .await?;
        Ok(created["task"]["id"].as_str().context("task id")?.parse()?)
    }

    /// Claims and starts `task` as `who`.
    pub async fn start_task(&self, who: &TestActor, task: Uuid) -> anyhow::Result<()> {
        self.post(who, &format!("/tasks/{task}/claim"), json!({}), 200)
            .await?;
        self.post(who, &format!("/tasks/{task}/start"), json!({}), 200)
            .await?;
        Ok(())
    }

    /// Uploads a passing packet for `task` as `who`: the admission id the submission
    /// names.
    pub async fn upload(&self, who: &TestActor, task: Uuid) -> anyhow::Result<String> {
        self.upload_packet(who, task, good_packet(&task.to_string()))
            .await
    }

    /// Uploads `packet` (a ZIP the active policy admits) for `task` as `who`: the
    /// admission id.
    pub async fn upload_packet(
        &self,
        who: &TestActor,
        task: Uuid,
        packet: Vec<u8>,
    ) -> anyhow::Result<String> {
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
            .post(self.server.url(&format!("/api/v1/tasks/{task}/packets")))
            .header("authorization", who.auth())
            .header("idempotency-key", Uuid::now_v7().to_string())
            .multipart(form)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        ensure!(status == 201, "upload: {status} {body}");
        Ok(body["admission_id"]
            .as_str()
            .context("admission id")?
            .to_owned())
    }

    /// Submits the admitted packet.
    pub async fn submit(&self, who: &TestActor, task: Uuid, admission: &str) -> anyhow::Result<()> {
        self.post(
            who,
            &format!("/tasks/{task}/submissions"),
            json!({ "admission_id": admission }),
            201,
        )
        .await?;
        Ok(())
    }

    /// Waits until `task` has reached `status` (the worker routes submissions).
    pub async fn wait_status(&self, task: Uuid, status: &str) -> anyhow::Result<()> {
        self.wait_status_every(task, status, Duration::from_millis(10))
            .await
    }

    /// [`World::wait_status`], looking `every` so often.
    pub async fn wait_status_every(
        &self,
        task: Uuid,
        status: &str,
        every: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let now: String =
                sqlx::query_scalar("/* bench */ SELECT status FROM tasks WHERE id = $1")
                    .bind(task)
                    .fetch_one(self.server.database.pool())
                    .await?;
            if now == status {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "task {task} is {now}, not {status}, after 120 s"
            );
            tokio::time::sleep(every).await;
        }
    }

    /// Claims the review of `task` as `who`: the lease id.
    pub async fn claim_review(&self, who: &TestActor, task: Uuid) -> anyhow::Result<Uuid> {
        let entry: Uuid = sqlx::query_scalar(
            "/* bench */ SELECT id FROM review_queue_entries WHERE task_id = $1 AND state = 'pending'",
        )
        .bind(task)
        .fetch_one(self.server.database.pool())
        .await?;
        let claimed = self
            .post(
                who,
                "/reviews/claim",
                json!({ "queue_entry_id": entry }),
                201,
            )
            .await?;
        Ok(claimed["lease"]["id"]
            .as_str()
            .context("lease id")?
            .parse()?)
    }

    /// Accepts the submission under `lease`, citing the answer file.
    pub async fn accept(&self, who: &TestActor, lease: Uuid) -> anyhow::Result<()> {
        self.post(
            who,
            &format!("/reviews/leases/{lease}/decision"),
            accept_body(json!([])),
            201,
        )
        .await?;
        Ok(())
    }
}
