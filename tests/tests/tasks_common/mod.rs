//! Shared setup for the task tests: a project with an active guide bound to a published
//! contribution policy version, written as SQL (a complete, valid history as the
//! schema's CHECKs and triggers demand), and small HTTP helpers.
#![allow(dead_code)]

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_e2e::{TestActor, TestServer};

/// The setup every task test starts from.
pub struct Fixture {
    pub server: TestServer,
    pub project: Uuid,
    pub pm: TestActor,
    pub guide: Uuid,
    pub cpv1: Uuid,
    pub policy: Uuid,
    pub binding: Uuid,
}

fn h(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// Starts a server and sets up an active project: USD unit and binding, contribution
/// policy v1 (accepted_submission: 50 USD, completed_review: unpaid) published, an
/// active guide v1 bound to it, and a system Project Manager.
pub async fn setup() -> Fixture {
    let server = TestServer::start().await;
    let pm = server.actor("pm").await;
    server
        .grant_admin(&pm, AdminRole::ProjectManager, None)
        .await;
    let project = Uuid::now_v7();
    let adapter = Uuid::now_v7();
    let binding = Uuid::now_v7();
    let policy = Uuid::now_v7();
    let cpv1 = Uuid::now_v7();
    let guide = Uuid::now_v7();
    let pool = server.database.pool();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO projects (id, name, slug, description, created_by) \
         VALUES ($1, 'Tasks project', $2, 'fixture', $3)",
    )
    .bind(project)
    .bind(format!("tasks-{}", project.simple()))
    .bind(pm.id)
    .execute(&mut *tx)
    .await
    .unwrap();
    let statements: [(&str, Vec<Uuid>); 4] = [
        (
            "INSERT INTO actor_profiles (id, kind, display_name, service_identity) \
             VALUES ($1, 'service', 'Local adapter', 'workstream.adapter.tasks')",
            vec![adapter],
        ),
        (
            "INSERT INTO project_compensation_units (id, project_id, instrument_type, unit_code, \
             iso_currency_code, created_by) VALUES ($1, $2, 'money', 'USD', 'USD', $3)",
            vec![Uuid::now_v7(), project, pm.id],
        ),
        (
            "INSERT INTO project_compensation_adapter_bindings (id, project_id, instrument_type, \
             adapter_actor_id, route_key, created_by) \
             VALUES ($1, $2, 'money', $3, 'local.secret-route', $4)",
            vec![binding, project, adapter, pm.id],
        ),
        (
            "INSERT INTO contribution_policies (id, project_id, name, created_by) \
             VALUES ($1, $2, 'Default terms', $3)",
            vec![policy, project, pm.id],
        ),
    ];
    for (sql, binds) in statements {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b);
        }
        q.execute(&mut *tx).await.unwrap();
    }
    publish_version(&mut tx, project, policy, cpv1, 1, pm.id, Some(binding)).await;
    sqlx::query(
        "INSERT INTO project_guides (id, project_id, version, status, activation_sequence, \
         content_markdown, change_summary, policy_bundle, policy_bundle_hash, artifact_policy_hash, \
         checker_policy_hash, review_policy_hash, revision_policy_hash, \
         contribution_policy_version_id, approved_by, effective_at, created_by) \
         VALUES ($1, $2, 'v1', 'active', 1, '# Guide', 'first', $3, $4, $5, $6, $7, $8, $9, $10, now(), $10)",
    )
    .bind(guide)
    .bind(project)
    .bind(json!({
        "artifact_policy": {
            "required_artifacts": [{"key": "answer", "path": "outputs/final-answer.md", "required": true}],
            "required_evidence": [],
            "forbidden_artifacts": [{"pattern": ".env", "reason": "secrets"}],
            "attestation_terms": ["No confidential material."],
            "manifest_required": true,
            "artifact_hash_required": true,
            "artifact_hash_algorithm": "sha256",
            "maximum_file_size_bytes": 10485760,
            "maximum_package_size_bytes": 104857600,
            "packaging": {"package_required": true, "allowed_package_formats": ["zip"]}
        },
        "checker_policy": {"checkers": [], "blocking_severities": ["critical", "high"]},
        "review_policy": {},
        "revision_policy": {}
    }))
    .bind(h('1'))
    .bind(h('2'))
    .bind(h('3'))
    .bind(h('4'))
    .bind(h('5'))
    .bind(cpv1)
    .bind(pm.id)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("UPDATE projects SET status = 'active', activated_at = now() WHERE id = $1")
        .bind(project)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Fixture {
        server,
        project,
        pm,
        guide,
        cpv1,
        policy,
        binding,
    }
}

/// Writes and publishes version `number` of `policy` and makes it current. With a
/// binding, accepted_submission pays 50 USD; without, both rules are unpaid.
pub async fn publish_version(
    conn: &mut sqlx::PgConnection,
    project: Uuid,
    policy: Uuid,
    version: Uuid,
    number: i32,
    by: Uuid,
    binding: Option<Uuid>,
) {
    sqlx::query(
        "INSERT INTO contribution_policy_versions (id, contribution_policy_id, project_id, \
         version_number, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(version)
    .bind(policy)
    .bind(project)
    .bind(number)
    .bind(by)
    .execute(&mut *conn)
    .await
    .unwrap();
    let submitter_rule = Uuid::now_v7();
    let mode = if binding.is_some() {
        "compensated"
    } else {
        "unpaid"
    };
    for (id, kind, mode) in [
        (submitter_rule, "accepted_submission", mode),
        (Uuid::now_v7(), "completed_review", "unpaid"),
    ] {
        sqlx::query(
            "INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, \
             compensation_mode) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(version)
        .bind(project)
        .bind(kind)
        .bind(mode)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    if let Some(binding) = binding {
        sqlx::query(
            "INSERT INTO contribution_award_definitions (id, rule_id, version_id, project_id, \
             contribution_type, instrument_type, unit_code, quantity, adapter_binding_id) \
             VALUES ($1, $2, $3, $4, 'accepted_submission', 'money', 'USD', 50.00, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(submitter_rule)
        .bind(version)
        .bind(project)
        .bind(binding)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    sqlx::query(
        "UPDATE contribution_policy_versions SET status = 'published', published_by = $2, \
         published_at = now() WHERE id = $1",
    )
    .bind(version)
    .bind(by)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE contribution_policies SET status = 'active', current_published_version_id = $2 \
         WHERE id = $1",
    )
    .bind(policy)
    .bind(version)
    .execute(&mut *conn)
    .await
    .unwrap();
}

/// POSTs `body` as `actor` with a fresh Idempotency-Key.
pub async fn post(
    server: &TestServer,
    actor: &TestActor,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    post_key(server, actor, path, body, Uuid::now_v7()).await
}

/// POSTs `body` as `actor` with `key`.
pub async fn post_key(
    server: &TestServer,
    actor: &TestActor,
    path: &str,
    body: Value,
    key: Uuid,
) -> (StatusCode, Value) {
    let response = server
        .client
        .post(server.url(&format!("/api/v1{path}")))
        .header("Authorization", actor.auth())
        .header("Idempotency-Key", key.to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// GETs `path` as `actor`.
pub async fn get(server: &TestServer, actor: &TestActor, path: &str) -> (StatusCode, Value) {
    let response = server
        .client
        .get(server.url(&format!("/api/v1{path}")))
        .header("Authorization", actor.auth())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A complete task body.
pub fn task_body(title: &str) -> Value {
    json!({
        "title": title,
        "description": "Prove the lemma in outputs/final-answer.md.",
        "task_type": "proof",
        "difficulty": "medium",
        "skill_tags": ["math"],
        "estimated_time_minutes": 90,
        "acceptance_criteria": "A complete proof.",
        "rejection_criteria": "Plagiarism or gaps.",
        "source_type": "manual"
    })
}

impl Fixture {
    /// Creates a task as the PM; returns its id.
    pub async fn create_task(&self, body: Value) -> Uuid {
        let (status, body) = post(
            &self.server,
            &self.pm,
            &format!("/projects/{}/tasks", self.project),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["task"]["id"].as_str().unwrap().parse().unwrap()
    }

    /// Creates, screens and releases a task; returns its id.
    pub async fn ready_task(&self, title: &str) -> Uuid {
        let task = self.create_task(task_body(title)).await;
        let (s, b) = post(
            &self.server,
            &self.pm,
            &format!("/tasks/{task}/screen"),
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, b) = post(
            &self.server,
            &self.pm,
            &format!("/tasks/{task}/release"),
            json!({"reason": "screened and complete"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        task
    }

    /// A provisioned actor holding `role` on the project.
    pub async fn contributor(
        &self,
        subject: &str,
        role: workstream_domain::roles::ProjectRole,
    ) -> TestActor {
        let actor = self.server.actor(subject).await;
        self.server
            .grant_project_role(&actor, self.project, role)
            .await;
        actor
    }

    /// Audit events of a task, as (event_type, from, to, actor, payload).
    pub async fn task_events(
        &self,
        task: Uuid,
    ) -> Vec<(String, Option<String>, Option<String>, Option<Uuid>, Value)> {
        sqlx::query_as(
            "SELECT event_type, from_status, to_status, actor_id, payload FROM audit_events \
             WHERE entity_type = 'task' AND entity_id = $1 ORDER BY occurred_at, id",
        )
        .bind(task)
        .fetch_all(self.server.database.pool())
        .await
        .unwrap()
    }

    /// Assignment rows of a task, as (contributor, status, policy version).
    pub async fn assignments(&self, task: Uuid) -> Vec<(Uuid, String, Uuid)> {
        sqlx::query_as(
            "SELECT contributor_id, status, submitter_contribution_policy_version_id \
             FROM task_assignments WHERE task_id = $1 ORDER BY id",
        )
        .bind(task)
        .fetch_all(self.server.database.pool())
        .await
        .unwrap()
    }
}
