//! Project role grants over HTTP: a covering project manager grants and revokes
//! contributor roles with a qualification snapshot; everyone else sees a concealed 404.

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::{TestActor, TestServer};

async fn insert_project(server: &TestServer, creator: Uuid, slug: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO projects (id, name, slug, created_by) VALUES ($1, 'P', $2, $3)")
        .bind(id)
        .bind(slug)
        .bind(creator)
        .execute(server.database.pool())
        .await
        .unwrap();
    id
}

fn body(target: &TestActor, role: &str) -> Value {
    json!({
        "target_actor_profile_id": target.id, "role": role,
        "qualification": {"prior_work": ["https://example.com/pr/1"], "skills": ["rust"]},
        "reason": "strong prior work",
    })
}

struct Setup {
    server: TestServer,
    manager: TestActor,
    manager_grant: Uuid,
    worker: TestActor,
    project: Uuid,
    other_project: Uuid,
}

async fn setup() -> Setup {
    let server = TestServer::start().await;
    let manager = server.actor("manager").await;
    let worker = server.actor("worker").await;
    let project = insert_project(&server, manager.id, "alpha").await;
    let other_project = insert_project(&server, manager.id, "beta").await;
    let manager_grant = server
        .grant_admin(&manager, AdminRole::ProjectManager, Some(project))
        .await;
    Setup {
        server,
        manager,
        manager_grant,
        worker,
        project,
        other_project,
    }
}

#[tokio::test]
async fn a_covering_manager_grants_and_revokes_with_snapshot_and_audit() {
    let s = setup().await;
    let path = format!("/api/v1/projects/{}/role-grants", s.project);
    let (status, grant) = s
        .server
        .post(&s.manager, &path, &body(&s.worker, "submitter"))
        .await;
    assert_eq!(status, 201, "{grant}");
    assert_eq!(grant["role"], "submitter");
    assert_eq!(grant["project_id"], s.project.to_string());
    assert_eq!(grant["actor_profile_id"], s.worker.id.to_string());
    assert_eq!(grant["issuing_admin_grant_id"], s.manager_grant.to_string());
    let grant_id: Uuid = grant["id"].as_str().unwrap().parse().unwrap();
    let (evidence, captured_by): (Value, Uuid) = sqlx::query_as(
        "SELECT evidence, captured_by FROM project_role_qualification_snapshots WHERE id = $1",
    )
    .bind(Uuid::parse_str(grant["qualification_snapshot_id"].as_str().unwrap()).unwrap())
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(evidence["skills"], json!(["rust"]));
    assert_eq!(captured_by, s.manager.id);
    let (chain, actor): (String, Uuid) = sqlx::query_as(
        "SELECT chain_key, actor_id FROM audit_events WHERE event_type = 'project_role_granted' AND entity_id = $1",
    )
    .bind(grant_id)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        (chain, actor),
        (format!("project:{}", s.project), s.manager.id)
    );
    let (_, me) = s.server.get(&s.worker, "/api/v1/actors/me").await;
    assert_eq!(me["project_role_grants"][0]["role"], "submitter");

    let (status, detail) = s
        .server
        .get(&s.manager, &format!("{path}/{grant_id}"))
        .await;
    assert_eq!(
        (status, detail["id"].clone()),
        (200, json!(grant_id.to_string()))
    );
    let (status, body2) = s
        .server
        .post(&s.manager, &path, &body(&s.worker, "submitter"))
        .await;
    assert_eq!(
        (status, body2["error"]["code"].clone()),
        (409, json!("project_role_grant_exists"))
    );

    let revoke = format!("{path}/{grant_id}/revoke");
    let (status, revoked) = s
        .server
        .post(&s.manager, &revoke, &json!({"reason": "left"}))
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(
        (revoked["status"].clone(), revoked["version"].clone()),
        (json!("revoked"), json!(2))
    );
    let (_, me) = s.server.get(&s.worker, "/api/v1/actors/me").await;
    assert_eq!(me["project_role_grants"], json!([]));
    let (status, again) = s
        .server
        .post(&s.manager, &revoke, &json!({"reason": "left"}))
        .await;
    assert_eq!(
        (status, again["error"]["code"].clone()),
        (409, json!("project_role_grant_already_revoked"))
    );
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE event_type = 'project_role_revoked' AND entity_id = $1",
    )
    .bind(grant_id)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn everyone_without_a_covering_grant_gets_a_concealed_404() {
    let s = setup().await;
    let outsider = s.server.actor("outsider").await;
    let finance = s.server.actor("finance").await;
    s.server
        .grant_admin(&finance, AdminRole::FinanceAuthority, None)
        .await;
    let admin = s.server.actor("admin").await;
    s.server
        .grant_admin(&admin, AdminRole::AccessAdministrator, None)
        .await;
    let other_manager = s.server.actor("other-manager").await;
    s.server
        .grant_admin(
            &other_manager,
            AdminRole::ProjectManager,
            Some(s.other_project),
        )
        .await;
    let path = format!("/api/v1/projects/{}/role-grants", s.project);
    for caller in [&outsider, &finance, &admin, &other_manager, &s.worker] {
        let (status, body) = s
            .server
            .post(caller, &path, &body(&s.worker, "reviewer"))
            .await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (404, json!("not_found")),
            "{}",
            caller.subject
        );
        let (status, _) = s.server.get(caller, &path).await;
        assert_eq!(status, 404, "{}", caller.subject);
    }
    // A project that does not exist reads the same, even to a system manager.
    let system_manager = s.server.actor("system-manager").await;
    s.server
        .grant_admin(&system_manager, AdminRole::ProjectManager, None)
        .await;
    let missing = format!("/api/v1/projects/{}/role-grants", Uuid::now_v7());
    let (status, _) = s
        .server
        .post(&system_manager, &missing, &body(&s.worker, "reviewer"))
        .await;
    assert_eq!(status, 404);
    // ... while the system manager covers the real project.
    let (status, _) = s
        .server
        .post(&system_manager, &path, &body(&s.worker, "reviewer"))
        .await;
    assert_eq!(status, 201);
    let (status, body) = s
        .server
        .post(
            &s.manager,
            "/api/v1/projects/nope/role-grants",
            &body(&s.worker, "reviewer"),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("malformed_id"))
    );
}

#[tokio::test]
async fn self_grants_self_revokes_and_service_targets_are_refused() {
    let s = setup().await;
    let path = format!("/api/v1/projects/{}/role-grants", s.project);
    let (status, body1) = s
        .server
        .post(&s.manager, &path, &body(&s.manager, "submitter"))
        .await;
    assert_eq!(
        (status, body1["error"]["code"].clone()),
        (403, json!("self_grant_forbidden"))
    );
    // A role the manager holds, granted by someone else, cannot be revoked by them.
    let own = s
        .server
        .grant_project_role(&s.manager, s.project, ProjectRole::Reviewer)
        .await;
    let (status, body2) = s
        .server
        .post(
            &s.manager,
            &format!("{path}/{own}/revoke"),
            &json!({"reason": "r"}),
        )
        .await;
    assert_eq!(
        (status, body2["error"]["code"].clone()),
        (403, json!("self_role_revoke_forbidden"))
    );
    let service = s
        .server
        .service_actor("svc", "workstream.checker.worker")
        .await;
    let (status, body3) = s
        .server
        .post(&s.manager, &path, &body(&service, "submitter"))
        .await;
    assert_eq!(
        (status, body3["error"]["code"].clone()),
        (422, json!("target_not_human"))
    );
    let mut unknown = body(&s.worker, "submitter");
    unknown["roles"] = json!(["admin"]);
    let (status, body4) = s.server.post(&s.manager, &path, &unknown).await;
    assert_eq!(
        (status, body4["error"]["code"].clone()),
        (422, json!("invalid_request"))
    );
    let (status, body5) = s
        .server
        .post(&s.manager, &path, &body(&s.worker, "owner"))
        .await;
    assert_eq!(
        (status, body5["error"]["code"].clone()),
        (422, json!("invalid_request"))
    );
}

#[tokio::test]
async fn project_grants_are_listed_with_cursors_for_managers_and_auditors() {
    let s = setup().await;
    let auditor = s.server.actor("auditor").await;
    s.server
        .grant_admin(&auditor, AdminRole::AuditAuthority, Some(s.project))
        .await;
    let path = format!("/api/v1/projects/{}/role-grants", s.project);
    for subject in ["w1", "w2", "w3"] {
        let worker = s.server.actor(subject).await;
        let (status, _) = s
            .server
            .post(&s.manager, &path, &body(&worker, "submitter"))
            .await;
        assert_eq!(status, 201);
    }
    let (status, page) = s
        .server
        .get(&auditor, &format!("{path}?limit=2&role=submitter"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (status, rest) = s
        .server
        .get(
            &auditor,
            &format!("{path}?limit=2&role=submitter&cursor={cursor}"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    let other = format!("/api/v1/projects/{}/role-grants", s.other_project);
    let (status, _) = s
        .server
        .get(&auditor, &format!("{other}?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(status, 404, "the auditor does not cover the other project");
    let (status, refused) = s
        .server
        .get(
            &s.manager,
            &format!("{path}?limit=2&role=reviewer&cursor={cursor}"),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (422, json!("invalid_cursor"))
    );
    // The auditor reads but cannot grant.
    let (status, _) = s
        .server
        .post(&auditor, &path, &body(&s.worker, "reviewer"))
        .await;
    assert_eq!(status, 404);
}
