//! Administrative role grants over HTTP: issue, revoke, list; the self-grant,
//! scope and last-administrator guards; idempotent replays; audit events.

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_e2e::{TestActor, TestServer};
use workstream_engine::authority::RequestContext;
use workstream_engine::authority::admin_grants::revoke_admin;

async fn admin(server: &TestServer, subject: &str) -> (TestActor, Uuid) {
    let actor = server.actor(subject).await;
    let grant = server
        .grant_admin(&actor, AdminRole::AccessAdministrator, None)
        .await;
    (actor, grant)
}

fn grant_body(target: Uuid, role: &str) -> Value {
    json!({
        "target_actor_profile_id": target, "role": role, "scope_type": "system",
        "reason": "runs the books",
    })
}

async fn audit_count(server: &TestServer, event: &str, entity: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE event_type = $1 AND entity_id = $2")
        .bind(event)
        .bind(entity)
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_access_administrator_grants_and_revokes_with_audit() {
    let server = TestServer::start().await;
    let (admin, admin_grant) = admin(&server, "ada").await;
    let bob = server.actor("bob").await;

    let (status, grant) = server
        .post(
            &admin,
            "/api/v1/admin-role-grants",
            &grant_body(bob.id, "finance_authority"),
        )
        .await;
    assert_eq!(status, 201, "{grant}");
    assert_eq!(grant["role"], "finance_authority");
    assert_eq!(grant["status"], "active");
    assert_eq!(grant["version"], 1);
    assert_eq!(grant["issued_by"], admin.id.to_string());
    assert_eq!(grant["issuing_grant_id"], admin_grant.to_string());
    let grant_id: Uuid = grant["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        audit_count(&server, "admin_role_granted", grant_id).await,
        1
    );
    let (_, me) = server.get(&bob, "/api/v1/actors/me").await;
    assert_eq!(me["admin_roles"], json!(["finance_authority"]));

    let revoke = format!("/api/v1/admin-role-grants/{grant_id}/revoke");
    let (status, revoked) = server
        .post(&admin, &revoke, &json!({"reason": "left"}))
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["version"], 2);
    assert_eq!(revoked["revoked_by"], admin.id.to_string());
    assert_eq!(
        audit_count(&server, "admin_role_revoked", grant_id).await,
        1
    );
    // Takes effect on the next request.
    let (_, me) = server.get(&bob, "/api/v1/actors/me").await;
    assert_eq!(me["admin_roles"], json!([]));
    let (status, body) = server
        .post(&admin, &revoke, &json!({"reason": "again"}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("admin_role_grant_already_revoked"))
    );

    // A project-scoped grant lands on the project's audit chain.
    let project = insert_project(&server, admin.id).await;
    let (status, scoped) = server
        .post(
            &admin,
            "/api/v1/admin-role-grants",
            &json!({"target_actor_profile_id": bob.id, "role": "project_manager",
                    "scope_type": "project", "scope_project_id": project, "reason": "runs it"}),
        )
        .await;
    assert_eq!(status, 201, "{scoped}");
    let chain: String = sqlx::query_scalar(
        "SELECT chain_key FROM audit_events WHERE event_type = 'admin_role_granted' AND entity_id = $1",
    )
    .bind(Uuid::parse_str(scoped["id"].as_str().unwrap()).unwrap())
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(chain, format!("project:{project}"));
}

async fn insert_project(server: &TestServer, creator: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO projects (id, name, slug, created_by) VALUES ($1, 'P', $2, $3)")
        .bind(id)
        .bind(format!("p-{}", &id.simple().to_string()[20..]))
        .bind(creator)
        .execute(server.database.pool())
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn guards_refuse_self_grants_bad_scopes_and_non_administrators() {
    let server = TestServer::start().await;
    let (admin, admin_grant) = admin(&server, "ada").await;
    let bob = server.actor("bob").await;
    let grants = "/api/v1/admin-role-grants";

    let (status, body) = server
        .post(&admin, grants, &grant_body(admin.id, "operator"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("self_grant_forbidden"))
    );
    let own = format!("/api/v1/admin-role-grants/{admin_grant}/revoke");
    let (status, body) = server.post(&admin, &own, &json!({"reason": "tired"})).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("self_revoke_forbidden"))
    );

    let project = insert_project(&server, admin.id).await;
    for role in ["access_administrator", "operator"] {
        let body = json!({"target_actor_profile_id": bob.id, "role": role, "scope_type": "project",
                          "scope_project_id": project, "reason": "r"});
        let (status, body) = server.post(&admin, grants, &body).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (422, json!("invalid_role_scope")),
            "{role}"
        );
    }
    let (status, body) = server
        .post(
            &admin,
            grants,
            &json!({"target_actor_profile_id": bob.id, "role": "project_manager",
                                        "scope_type": "project", "reason": "r"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("invalid_scope"))
    );
    let mut unknown = grant_body(bob.id, "operator");
    unknown["extra"] = json!(1);
    let (status, body) = server.post(&admin, grants, &unknown).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("invalid_request"))
    );
    let (status, body) = server
        .post(
            &admin,
            grants,
            &json!({"target_actor_profile_id": bob.id,
        "role": "operator", "scope_type": "system", "reason": "  "}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("invalid_reason"))
    );
    let (status, body) = server
        .post(
            &admin,
            "/api/v1/admin-role-grants/not-a-uuid/revoke",
            &json!({"reason": "r"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("malformed_id"))
    );

    // Without the grant: 403, even for an id that does not exist.
    let (status, body) = server
        .post(&bob, grants, &grant_body(admin.id, "operator"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("permission_not_granted"))
    );
    let missing = format!("/api/v1/admin-role-grants/{}/revoke", Uuid::now_v7());
    let (status, body) = server.post(&bob, &missing, &json!({"reason": "r"})).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("permission_not_granted"))
    );
    let (status, _) = server.get(&bob, grants).await;
    assert_eq!(status, 403);
    // A project manager or operator is not an access administrator either.
    server.grant_admin(&bob, AdminRole::Operator, None).await;
    let (status, _) = server
        .post(&bob, grants, &grant_body(admin.id, "audit_authority"))
        .await;
    assert_eq!(status, 403);
    // Duplicates.
    let carol = server.actor("carol").await;
    let (status, _) = server
        .post(&admin, grants, &grant_body(carol.id, "operator"))
        .await;
    assert_eq!(status, 201);
    let (status, body) = server
        .post(&admin, grants, &grant_body(carol.id, "operator"))
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("admin_role_grant_exists"))
    );
}

#[tokio::test]
async fn replay_returns_the_stored_response_and_a_changed_body_is_a_mismatch() {
    let server = TestServer::start().await;
    let (admin, _) = admin(&server, "ada").await;
    let bob = server.actor("bob").await;
    let key = Uuid::now_v7();
    let body = grant_body(bob.id, "audit_authority");
    let (status, first, replayed) = server
        .post_with_key(&admin, "/api/v1/admin-role-grants", &body, key)
        .await;
    assert_eq!((status, replayed), (201, false));
    let (status, second, replayed) = server
        .post_with_key(&admin, "/api/v1/admin-role-grants", &body, key)
        .await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(first, second);
    let (status, mismatch, _) = server
        .post_with_key(
            &admin,
            "/api/v1/admin-role-grants",
            &grant_body(bob.id, "operator"),
            key,
        )
        .await;
    assert_eq!(
        (status, mismatch["error"]["code"].clone()),
        (409, json!("idempotency_mismatch"))
    );
    let grants: i64 =
        sqlx::query_scalar("SELECT count(*) FROM admin_role_grants WHERE target_actor_id = $1")
            .bind(bob.id)
            .fetch_one(server.database.pool())
            .await
            .unwrap();
    assert_eq!(grants, 1);
}

#[tokio::test]
async fn the_last_access_administrator_cannot_be_removed() {
    let server = TestServer::start().await;
    let (ada, ada_grant) = admin(&server, "ada").await;
    let (ben, ben_grant) = admin(&server, "ben").await;
    // Both were authorized to revoke the other; ada's revocation commits first. Ben's,
    // run afterwards under the administrator locks, finds nobody would be left.
    let mut tx = server.database.pool().begin().await.unwrap();
    revoke_admin(
        &mut tx,
        ada.id,
        ada_grant,
        ben_grant,
        "rotation",
        &RequestContext::default(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = server.database.pool().begin().await.unwrap();
    let err = revoke_admin(
        &mut tx,
        ben.id,
        ben_grant,
        ada_grant,
        "rotation",
        &RequestContext::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "last_access_administrator");
    drop(tx);
    // Over HTTP ben no longer holds the grant at all.
    let (status, _) = server
        .post(
            &ben,
            &format!("/api/v1/admin-role-grants/{ada_grant}/revoke"),
            &json!({"reason": "r"}),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn concurrent_mutual_revocations_leave_an_administrator() {
    for _ in 0..3 {
        let server = TestServer::start().await;
        let (ada, ada_grant) = admin(&server, "ada").await;
        let (ben, ben_grant) = admin(&server, "ben").await;
        let reason = json!({"reason": "r"});
        let (path_a, path_b) = (
            format!("/api/v1/admin-role-grants/{ben_grant}/revoke"),
            format!("/api/v1/admin-role-grants/{ada_grant}/revoke"),
        );
        let a = server.post(&ada, &path_a, &reason);
        let b = server.post(&ben, &path_b, &reason);
        let ((sa, ba), (sb, bb)) = tokio::join!(a, b);
        let statuses = [sa, sb];
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{ba} {bb}"
        );
        for (status, body) in [(sa, &ba), (sb, &bb)] {
            if status != 200 {
                assert!(
                    (status == 409 && body["error"]["code"] == "last_access_administrator")
                        || (status == 403 && body["error"]["code"] == "permission_not_granted"),
                    "{status} {body}"
                );
            }
        }
        let remaining: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM admin_role_grants WHERE role = 'access_administrator' AND status = 'active'",
        )
        .fetch_one(server.database.pool())
        .await
        .unwrap();
        assert_eq!(remaining, 1);
    }
}

#[tokio::test]
async fn lists_are_paged_with_signed_cursors() {
    let server = TestServer::start().await;
    let (admin, _) = admin(&server, "ada").await;
    let auditor = server.actor("audrey").await;
    server
        .grant_admin(&auditor, AdminRole::AuditAuthority, None)
        .await;
    let bob = server.actor("bob").await;
    for role in ["operator", "finance_authority", "project_manager"] {
        let (status, _) = server
            .post(
                &admin,
                "/api/v1/admin-role-grants",
                &grant_body(bob.id, role),
            )
            .await;
        assert_eq!(status, 201);
    }
    let base = format!("/api/v1/actors/{}/admin-role-grants", bob.id);
    let (status, page) = server.get(&auditor, &format!("{base}?limit=2")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (status, rest) = server
        .get(&auditor, &format!("{base}?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(rest["items"][0]["role"], "project_manager");
    // A cursor belongs to its list and filters.
    let (status, body) = server
        .get(
            &auditor,
            &format!("{base}?limit=2&status=all&cursor={cursor}"),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("invalid_cursor"))
    );
    let (status, body) = server
        .get(&auditor, "/api/v1/admin-role-grants?status=bogus")
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("invalid_request"))
    );
    let (status, all) = server
        .get(&admin, "/api/v1/admin-role-grants?scope_type=system")
        .await;
    assert_eq!(status, 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    // The audit authority reads but cannot grant.
    let (status, _) = server
        .post(
            &auditor,
            "/api/v1/admin-role-grants",
            &grant_body(bob.id, "audit_authority"),
        )
        .await;
    assert_eq!(status, 403);
}
