//! Helpers shared by the projects, guides and contribution tests: HTTP calls with
//! fresh idempotency keys, a project set up over HTTP, the built-in checker rows the
//! sandbox will register later, and a complete policy bundle.
#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_e2e::{TestActor, TestServer};

/// A response: status, body (JSON or null) and whether it was a replay.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub replayed: bool,
}

impl Answer {
    /// The error code of an envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }
}

/// Sends `method path` as `actor` with `body`; mutations get `key` (or a fresh one).
pub async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    actor: &TestActor,
    body: Option<Value>,
    key: Option<Uuid>,
) -> Answer {
    let mut request = server
        .client
        .request(method.clone(), server.url(&format!("/api/v1{path}")))
        .header("authorization", actor.auth());
    if method != Method::GET {
        request = request.header(
            "idempotency-key",
            key.unwrap_or_else(Uuid::now_v7).to_string(),
        );
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let replayed = response.headers().get("idempotency-replayed").is_some();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        replayed,
    }
}

/// GET as `actor`.
pub async fn get(server: &TestServer, path: &str, actor: &TestActor) -> Answer {
    send(server, Method::GET, path, actor, None, None).await
}

/// POST as `actor` with a fresh key.
pub async fn post(server: &TestServer, path: &str, actor: &TestActor, body: Value) -> Answer {
    send(server, Method::POST, path, actor, Some(body), None).await
}

/// PUT as `actor` with a fresh key.
pub async fn put(server: &TestServer, path: &str, actor: &TestActor, body: Value) -> Answer {
    send(server, Method::PUT, path, actor, Some(body), None).await
}

/// PATCH as `actor` with a fresh key.
pub async fn patch(server: &TestServer, path: &str, actor: &TestActor, body: Value) -> Answer {
    send(server, Method::PATCH, path, actor, Some(body), None).await
}

/// A system project manager.
pub async fn manager(server: &TestServer, subject: &str) -> TestActor {
    let pm = server.actor(subject).await;
    server
        .grant_admin(&pm, AdminRole::ProjectManager, None)
        .await;
    pm
}

/// Creates a project as `pm` and returns its id.
pub async fn create_project(server: &TestServer, pm: &TestActor, slug: &str) -> Uuid {
    let answer = post(
        server,
        "/projects",
        pm,
        json!({ "name": format!("Project {slug}"), "slug": slug }),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().parse().unwrap()
}

/// A finance authority on `project`.
pub async fn finance(server: &TestServer, subject: &str, project: Uuid) -> TestActor {
    let actor = server.actor(subject).await;
    server
        .grant_admin(&actor, AdminRole::FinanceAuthority, Some(project))
        .await;
    actor
}

/// Publishes an all-unpaid contribution policy version; returns (policy, version).
pub async fn publish_unpaid_policy(
    server: &TestServer,
    finance: &TestActor,
    project: Uuid,
) -> (Uuid, Uuid) {
    let draft = post(
        server,
        &format!("/projects/{project}/contribution-policies/drafts"),
        finance,
        json!({ "name": "Standard terms" }),
    )
    .await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    let policy: Uuid = draft.body["contribution_policy_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let version: Uuid = draft.body["contribution_policy_version_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let base = format!("/projects/{project}/contribution-policies/{policy}/versions/{version}");
    let terms = put(
        server,
        &base,
        finance,
        json!({ "rules": [
            { "contribution_type": "accepted_submission", "compensation_mode": "unpaid", "definitions": [] },
            { "contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": [] }
        ]}),
    )
    .await;
    assert_eq!(terms.status, 200, "{}", terms.body);
    let published = post(server, &format!("{base}/publication"), finance, json!({})).await;
    assert_eq!(published.status, 200, "{}", published.body);
    (policy, version)
}

/// The built-in checker names (the seven defaults and the selectable one).
pub const BUILTINS: &[&str] = &[
    "packet-fields",
    "evidence-integrity",
    "forbidden-files",
    "required-files",
    "evidence-present",
    "confidentiality-attestation",
    "placeholder-signal",
    "acceptance-criteria-present",
];

/// Registers the built-in checkers as the sandbox will: one `checker_components` row
/// each, with the configuration schema from `checkers/builtin/<name>/`. The bytes are
/// stand-ins (the gate only needs the registry rows). Returns their digests by name.
pub async fn register_builtins(server: &TestServer) -> Vec<(String, String)> {
    let mut digests = Vec::new();
    for name in BUILTINS {
        let path = format!(
            "{}/../checkers/builtin/{name}/config.schema.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file")).unwrap();
        let bytes = format!("stand-in component {name}").into_bytes();
        let digest: String = sqlx::query_scalar(
            "INSERT INTO checker_components (digest, name, version, config_schema, wasm_bytes, byte_count, builtin) \
             VALUES ('sha256:' || encode(sha256($1), 'hex'), $2, '0.1.0', $3, $1, $4, true) RETURNING digest",
        )
        .bind(&bytes)
        .bind(name)
        .bind(&schema)
        .bind(bytes.len() as i64)
        .fetch_one(server.database.pool())
        .await
        .expect("register built-in");
        digests.push((name.to_string(), digest));
    }
    digests
}

/// Registers a project (non-built-in) checker with `schema`; returns its digest.
pub async fn register_component(server: &TestServer, name: &str, schema: Value) -> String {
    let bytes = format!("project component {name}").into_bytes();
    sqlx::query_scalar(
        "INSERT INTO checker_components (digest, name, version, config_schema, wasm_bytes, byte_count, builtin) \
         VALUES ('sha256:' || encode(sha256($1), 'hex'), $2, '1.0.0', $3, $1, $4, false) RETURNING digest",
    )
    .bind(&bytes)
    .bind(name)
    .bind(&schema)
    .bind(bytes.len() as i64)
    .fetch_one(server.database.pool())
    .await
    .expect("register component")
}

/// A complete, valid project bundle (10 MiB file limit under the 50 MiB default).
pub fn bundle() -> Value {
    json!({
        "artifact_policy": {
            "required_artifacts": [{"key": "answer", "path": "outputs/final-answer.md", "required": true}],
            "required_evidence": [{"key": "tests", "label": "Test output", "required": true}],
            "forbidden_artifacts": [{"pattern": "*.sqlite", "reason": "No databases."}],
            "attestation_terms": ["no client data"],
            "artifact_hash_required": true,
            "maximum_file_size_bytes": 10485760
        },
        "checker_policy": {
            "checkers": [
                {"name": "required-files", "phase": "both", "configuration": {"allow_empty": false}, "blocking": true, "severity": "high"},
                {"name": "acceptance-criteria-present", "phase": "pre_submit", "configuration": {"min_chars": 20}, "blocking": true, "severity": "high"}
            ],
            "blocking_severities": ["critical", "high"]
        },
        "review_policy": {
            "review_preference_window_seconds": 3600,
            "review_lease_duration_seconds": 7200,
            "max_active_review_leases_per_reviewer": 1,
            "self_review_allowed": false,
            "reject_policy": "close_task",
            "finding_evidence_requirement": "required_for_blocking",
            "allowed_decisions": ["accept", "needs_revision", "reject"],
            "minimum_finding_fields": ["severity", "message"],
            "human_review_required": true,
            "requires_second_review": false
        },
        "revision_policy": {
            "max_revision_rounds": 3,
            "revision_deadline_hours": 72,
            "allowed_resubmission_states": ["needs_revision"],
            "reviewer_reassignment_rule": "prefer_previous_reviewer"
        }
    })
}

/// Creates a draft guide; returns its id.
pub async fn create_guide(
    server: &TestServer,
    pm: &TestActor,
    project: Uuid,
    version: &str,
    bundle: Option<Value>,
) -> Uuid {
    let mut body = json!({ "version": version, "content_markdown": format!("# Guide {version}"), "change_summary": "first" });
    if let Some(bundle) = bundle {
        body["policy_bundle"] = bundle;
    }
    let answer = post(server, &format!("/projects/{project}/guides"), pm, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().parse().unwrap()
}

/// Activates a guide.
pub async fn activate(server: &TestServer, pm: &TestActor, project: Uuid, guide: Uuid) -> Answer {
    post(
        server,
        &format!("/projects/{project}/guides/{guide}/activate"),
        pm,
        json!({}),
    )
    .await
}

/// How many audit events of `event_type` exist for `entity`.
pub async fn audit_count(server: &TestServer, entity: Uuid, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = $2")
        .bind(entity)
        .bind(event_type)
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

/// A project set up and activated: (pm, finance, project, guide).
pub async fn active_project(server: &TestServer, slug: &str) -> (TestActor, TestActor, Uuid, Uuid) {
    let pm = manager(server, &format!("{slug}-pm")).await;
    let project = create_project(server, &pm, slug).await;
    let fin = finance(server, &format!("{slug}-finance"), project).await;
    publish_unpaid_policy(server, &fin, project).await;
    register_builtins(server).await;
    let guide = create_guide(server, &pm, project, "v1", Some(bundle())).await;
    let answer = activate(server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    (pm, fin, project, guide)
}
