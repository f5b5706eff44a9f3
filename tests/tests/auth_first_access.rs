//! First access: a verified human's first request provisions exactly one profile and
//! one identity link, with their audit events, even when many first requests race; a
//! person then sets their own display name.

use serde_json::Value;
use workstream_e2e::TestServer;

async fn count(server: &TestServer, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn first_request_provisions_profile_link_and_audit_events() {
    let server = TestServer::start().await;
    let alice = server.actor("alice").await;
    let body: Value = server
        .client
        .get(server.url("/api/v1/actors/me"))
        .header("Authorization", alice.auth())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["actor_profile_id"], alice.id.to_string());
    assert_eq!(body["actor_kind"], "human");
    assert_eq!(body["status"], "active");
    // The name is the person's to set; until then pages show the subject.
    assert_eq!(body["display_name"], "");
    assert_eq!(body["name"], "alice");
    assert_eq!(body["admin_roles"], serde_json::json!([]));
    assert_eq!(body["project_role_grants"], serde_json::json!([]));
    assert_eq!(
        count(&server, "SELECT count(*) FROM actor_profiles").await,
        1
    );
    let (issuer, subject, status): (String, String, String) = sqlx::query_as(
        "SELECT issuer, subject, status FROM actor_identity_links WHERE actor_profile_id = $1",
    )
    .bind(alice.id)
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        (issuer.as_str(), subject.as_str(), status.as_str()),
        ("https://auth.flow.local", "alice", "active")
    );
    let events: Vec<(String, Option<uuid::Uuid>)> = sqlx::query_as(
        "SELECT event_type, actor_id FROM audit_events ORDER BY chain_key, occurred_at, id",
    )
    .fetch_all(server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            ("actor_profile_provisioned".to_owned(), Some(alice.id)),
            ("actor_identity_linked".to_owned(), Some(alice.id)),
        ]
    );
}

#[tokio::test]
async fn concurrent_first_requests_create_one_profile() {
    let server = TestServer::start().await;
    let token = server.token("racer");
    let mut requests = Vec::new();
    for _ in 0..20 {
        let client = server.client.clone();
        let url = server.url("/api/v1/actors/me");
        let token = token.clone();
        requests.push(tokio::spawn(async move {
            let response = client.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            body["actor_profile_id"].as_str().unwrap().to_owned()
        }));
    }
    let mut ids = Vec::new();
    for request in requests {
        ids.push(request.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every racer saw the same profile");
    assert_eq!(
        count(&server, "SELECT count(*) FROM actor_profiles").await,
        1
    );
    assert_eq!(
        count(&server, "SELECT count(*) FROM actor_identity_links").await,
        1
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(*) FROM audit_events WHERE event_type = 'actor_profile_provisioned'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn fixtures_grant_admin_and_project_roles() {
    use workstream_domain::roles::{AdminRole, ProjectRole};
    let server = TestServer::start().await;
    let manager = server.actor("manager").await;
    let grant = server
        .grant_admin(&manager, AdminRole::ProjectManager, None)
        .await;
    let project = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO projects (id, name, slug, created_by) VALUES ($1, 'P', 'p', $2)")
        .bind(project)
        .bind(manager.id)
        .execute(server.database.pool())
        .await
        .unwrap();
    let worker = server.actor("worker").await;
    let role = server
        .grant_project_role(&worker, project, ProjectRole::Submitter)
        .await;
    let me: Value = server
        .client
        .get(server.url("/api/v1/actors/me"))
        .header("Authorization", worker.auth())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["project_role_grants"][0]["id"], role.to_string());
    assert_eq!(me["project_role_grants"][0]["role"], "submitter");
    let me: Value = server
        .client
        .get(server.url("/api/v1/actors/me"))
        .header("Authorization", manager.auth())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["admin_roles"], serde_json::json!(["project_manager"]));
    assert_eq!(me["admin_role_grants"][0]["id"], grant.to_string());
}

#[tokio::test]
async fn a_person_sets_their_own_display_name_and_the_change_is_audited() {
    let server = TestServer::start().await;
    let alice = server.actor("alice").await;
    let patch = async |body: Value| {
        let response = server
            .client
            .patch(server.url("/api/v1/actors/me"))
            .header("Authorization", alice.auth())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    for bad in ["", "   ", "tab\tinside", &"x".repeat(201)] {
        let (status, body) = patch(serde_json::json!({ "display_name": bad })).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("display_name_invalid")),
            "{bad:?}: {body}"
        );
        assert_eq!(body["error"]["details"]["field"], "display_name");
    }
    // Nothing but the name may be sent (the rest is the token's or an administrator's).
    let (status, body) =
        patch(serde_json::json!({ "display_name": "A", "status": "active" })).await;
    assert_eq!(status, 422, "{body}");

    let (status, body) = patch(serde_json::json!({ "display_name": "  Alice Martin " })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["display_name"], "Alice Martin");
    assert_eq!(body["actor_profile_id"], alice.id.to_string());
    let (_, me) = server.get(&alice, "/api/v1/actors/me").await;
    assert_eq!(me["display_name"], "Alice Martin");
    assert_eq!(me["name"], "Alice Martin");
    // The same name again changes nothing; each change is one event with both names.
    let (status, _) = patch(serde_json::json!({ "display_name": "Alice Martin" })).await;
    assert_eq!(status, 200);
    let events: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM audit_events \
         WHERE entity_id = $1 AND event_type = 'actor_display_name_changed'",
    )
    .bind(alice.id)
    .fetch_all(server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        events,
        [serde_json::json!({ "from": "", "to": "Alice Martin" })]
    );
}
