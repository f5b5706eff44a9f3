//! Projects over HTTP: creation by a system manager only, idempotent replay and
//! mismatch, slug conflicts, the full and minimal views and the concealed 404, and the
//! manual status moves with their audit events.

mod projects_support;

use projects_support::*;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::TestServer;

#[tokio::test]
async fn a_system_manager_creates_a_draft_project_once_per_key() {
    let server = TestServer::start().await;
    let pm = manager(&server, "create-pm").await;
    let key = Uuid::now_v7();
    let body = json!({ "name": "Docs", "slug": "docs", "description": "Documentation work" });
    let first = send(
        &server,
        Method::POST,
        "/projects",
        &pm,
        Some(body.clone()),
        Some(key),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["status"], "draft");
    assert_eq!(first.body["slug"], "docs");
    assert_eq!(first.body["created_by"], pm.id.to_string());
    assert!(!first.replayed);
    let id: Uuid = first.body["id"].as_str().unwrap().parse().unwrap();

    // Same key, same body: the stored answer, no second project.
    let replay = send(
        &server,
        Method::POST,
        "/projects",
        &pm,
        Some(body),
        Some(key),
    )
    .await;
    assert_eq!(replay.status, 201);
    assert!(replay.replayed);
    assert_eq!(replay.body, first.body);
    // Same key, another body.
    let mismatch = send(
        &server,
        Method::POST,
        "/projects",
        &pm,
        Some(json!({ "name": "Other", "slug": "other" })),
        Some(key),
    )
    .await;
    assert_eq!(
        (mismatch.status.as_u16(), mismatch.code()),
        (409, "idempotency_mismatch")
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
        .fetch_one(server.database.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(audit_count(&server, id, "project_created").await, 1);

    // A taken slug, a malformed slug, an unknown field, a missing key.
    let taken = post(
        &server,
        "/projects",
        &pm,
        json!({ "name": "Again", "slug": "docs" }),
    )
    .await;
    assert_eq!(
        (taken.status.as_u16(), taken.code()),
        (409, "project_slug_conflict")
    );
    let bad = post(
        &server,
        "/projects",
        &pm,
        json!({ "name": "Bad", "slug": "Not A Slug" }),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let unknown = post(
        &server,
        "/projects",
        &pm,
        json!({ "name": "X", "slug": "x", "budget": 5 }),
    )
    .await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.code()),
        (422, "invalid_request")
    );
    let response = server
        .client
        .post(server.url("/api/v1/projects"))
        .header("authorization", pm.auth())
        .json(&json!({ "name": "Y", "slug": "y" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn only_a_system_project_manager_may_create_a_project() {
    let server = TestServer::start().await;
    let pm = manager(&server, "only-pm").await;
    let project = create_project(&server, &pm, "only").await;
    let scoped_pm = server.actor("scoped-pm").await;
    server
        .grant_admin(&scoped_pm, AdminRole::ProjectManager, Some(project))
        .await;
    let fin = finance(&server, "only-finance", project).await;
    let operator = server.actor("only-operator").await;
    server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let audit = server.actor("only-audit").await;
    server
        .grant_admin(&audit, AdminRole::AuditAuthority, None)
        .await;
    let submitter = server.actor("only-submitter").await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let stranger = server.actor("only-stranger").await;
    for actor in [&scoped_pm, &fin, &operator, &audit, &submitter, &stranger] {
        let answer = post(
            &server,
            "/projects",
            actor,
            json!({ "name": "N", "slug": format!("n-{}", actor.subject) }),
        )
        .await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (403, "permission_not_granted"),
            "{}",
            actor.subject
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
        .fetch_one(server.database.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn each_role_sees_the_project_it_may_see() {
    let server = TestServer::start().await;
    let pm = manager(&server, "view-pm").await;
    let project = create_project(&server, &pm, "view").await;
    let other = create_project(&server, &pm, "view-other").await;
    let fin = finance(&server, "view-finance", project).await;
    let operator = server.actor("view-operator").await;
    server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let audit = server.actor("view-audit").await;
    server
        .grant_admin(&audit, AdminRole::AuditAuthority, Some(project))
        .await;
    let submitter = server.actor("view-submitter").await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let reviewer = server.actor("view-reviewer").await;
    server
        .grant_project_role(&reviewer, project, ProjectRole::Reviewer)
        .await;
    let other_pm = server.actor("view-other-pm").await;
    server
        .grant_admin(&other_pm, AdminRole::ProjectManager, Some(other))
        .await;
    let other_submitter = server.actor("view-other-submitter").await;
    server
        .grant_project_role(&other_submitter, other, ProjectRole::Submitter)
        .await;
    let stranger = server.actor("view-stranger").await;

    let path = format!("/projects/{project}");
    for actor in [&pm, &fin, &operator, &audit] {
        let answer = get(&server, &path, actor).await;
        assert_eq!(answer.status, 200, "{}", actor.subject);
        assert_eq!(answer.body["slug"], "view", "{}", actor.subject);
        assert_eq!(answer.body["created_by"], pm.id.to_string());
    }
    for actor in [&submitter, &reviewer] {
        let answer = get(&server, &path, actor).await;
        assert_eq!(answer.status, 200, "{}", actor.subject);
        assert_eq!(
            answer.body,
            json!({ "id": project, "name": "Project view", "status": "draft" })
        );
    }
    for actor in [&other_pm, &other_submitter, &stranger] {
        let answer = get(&server, &path, actor).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (404, "not_found"),
            "{}",
            actor.subject
        );
    }
    // A missing project reads the same as a hidden one; a malformed id is 422.
    let answer = get(&server, &format!("/projects/{}", Uuid::now_v7()), &pm).await;
    assert_eq!(answer.status, 404);
    let answer = get(&server, "/projects/42", &pm).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (422, "malformed_id")
    );
    // No token at all.
    let response = server
        .client
        .get(server.url(&format!("/api/v1{path}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn managers_pause_resume_and_archive_with_audit_events() {
    let server = TestServer::start().await;
    let pm = manager(&server, "moves-draft-pm").await;
    let draft = create_project(&server, &pm, "moves-draft").await;
    let answer = post(&server, &format!("/projects/{draft}/pause"), &pm, json!({})).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (403, "transition_not_allowed")
    );
    let answer = post(
        &server,
        &format!("/projects/{draft}/resume"),
        &pm,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (403, "transition_not_allowed")
    );

    let (pm2, fin, project, _) = active_project(&server, "moves").await;
    // Finance can see the project but may not move it.
    let answer = post(
        &server,
        &format!("/projects/{project}/pause"),
        &fin,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (403, "permission_not_granted")
    );
    let answer = post(
        &server,
        &format!("/projects/{project}/pause"),
        &pm2,
        json!({ "reason": "holiday" }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["status"], "paused");
    let answer = post(
        &server,
        &format!("/projects/{project}/resume"),
        &pm2,
        json!({}),
    )
    .await;
    assert_eq!(answer.body["status"], "active");
    let answer = post(
        &server,
        &format!("/projects/{project}/archive"),
        &pm2,
        json!({ "reason": "done" }),
    )
    .await;
    assert_eq!(answer.body["status"], "archived");
    assert!(answer.body["archived_at"].is_string());
    let answer = post(
        &server,
        &format!("/projects/{project}/resume"),
        &pm2,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (403, "transition_not_allowed")
    );
    for event in ["project_paused", "project_resumed", "project_archived"] {
        assert_eq!(audit_count(&server, project, event).await, 1, "{event}");
    }
    let reason: Option<String> = sqlx::query_scalar(
        "SELECT reason FROM audit_events WHERE entity_id = $1 AND event_type = 'project_paused'",
    )
    .bind(project)
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(reason.as_deref(), Some("holiday"));
    // An archived project takes no new guide.
    let answer = post(
        &server,
        &format!("/projects/{project}/guides"),
        &pm2,
        json!({ "version": "late" }),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "project_archived")
    );
}
