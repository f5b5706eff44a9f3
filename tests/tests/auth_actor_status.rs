//! Suspending, reactivating and deactivating actors, revoking identity links, and
//! provisioning service principals, over HTTP. A change takes effect on the target's
//! next request.

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_e2e::{TestActor, TestServer};

async fn admin(server: &TestServer) -> TestActor {
    let admin = server.actor("ada").await;
    server
        .grant_admin(&admin, AdminRole::AccessAdministrator, None)
        .await;
    admin
}

fn code(body: &Value) -> Value {
    body["error"]["code"].clone()
}

#[tokio::test]
async fn suspend_reactivate_deactivate() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let bob = server.actor("bob").await;
    let path = |action: &str| format!("/api/v1/actors/{}/{action}", bob.id);
    let reason = json!({"reason": "investigating"});

    let (status, body) = server.post(&admin, &path("suspend"), &reason).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "suspended");
    assert_eq!(body["status_reason"], "investigating");
    let (status, body) = server.get(&bob, "/api/v1/actors/me").await;
    assert_eq!((status, code(&body)), (403, json!("actor_suspended")));
    let (status, body) = server.post(&admin, &path("suspend"), &reason).await;
    assert_eq!(
        (status, code(&body)),
        (409, json!("actor_already_suspended"))
    );

    let (status, body) = server.post(&admin, &path("reactivate"), &reason).await;
    assert_eq!((status, body["status"].clone()), (200, json!("active")));
    let (status, _) = server.get(&bob, "/api/v1/actors/me").await;
    assert_eq!(status, 200);
    let (status, body) = server.post(&admin, &path("reactivate"), &reason).await;
    assert_eq!((status, code(&body)), (409, json!("actor_not_suspended")));

    let (status, body) = server.post(&admin, &path("deactivate"), &reason).await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("deactivated"))
    );
    let (status, body) = server.get(&bob, "/api/v1/actors/me").await;
    assert_eq!((status, code(&body)), (403, json!("actor_deactivated")));
    for action in ["reactivate", "suspend", "deactivate"] {
        let (status, body) = server.post(&admin, &path(action), &reason).await;
        assert_eq!(
            (status, code(&body)),
            (409, json!("actor_deactivated_terminal")),
            "{action}"
        );
    }
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM audit_events WHERE entity_id = $1 AND event_type LIKE 'actor_%ed' \
         AND event_type <> 'actor_profile_provisioned' ORDER BY occurred_at, id",
    )
    .bind(bob.id)
    .fetch_all(server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        events,
        ["actor_suspended", "actor_reactivated", "actor_deactivated"]
    );
}

#[tokio::test]
async fn guards_on_actor_status() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let bob = server.actor("bob").await;
    let (status, body) = server
        .post(
            &admin,
            &format!("/api/v1/actors/{}/suspend", admin.id),
            &json!({"reason": "r"}),
        )
        .await;
    assert_eq!((status, code(&body)), (403, json!("resource_guard_denied")));
    let missing = format!("/api/v1/actors/{}/suspend", Uuid::now_v7());
    let (status, body) = server.post(&admin, &missing, &json!({"reason": "r"})).await;
    assert_eq!((status, code(&body)), (404, json!("actor_not_found")));
    // No grant: 403 even for an id that does not exist.
    let (status, body) = server.post(&bob, &missing, &json!({"reason": "r"})).await;
    assert_eq!(
        (status, code(&body)),
        (403, json!("permission_not_granted"))
    );
    let (status, body) = server
        .post(
            &bob,
            &format!("/api/v1/actors/{}/suspend", admin.id),
            &json!({"reason": "r"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (403, json!("permission_not_granted"))
    );
    let (status, body) = server
        .post(
            &admin,
            &format!("/api/v1/actors/{}/suspend", bob.id),
            &json!({"reason": ""}),
        )
        .await;
    assert_eq!((status, code(&body)), (422, json!("invalid_reason")));
    let (status, _) = server
        .get(&bob, &format!("/api/v1/actors/{}", admin.id))
        .await;
    assert_eq!(status, 403);
    let (status, view) = server
        .get(&admin, &format!("/api/v1/actors/{}", bob.id))
        .await;
    assert_eq!((status, view["actor_kind"].clone()), (200, json!("human")));
}

#[tokio::test]
async fn the_last_access_administrator_cannot_be_suspended_concurrently() {
    let server = TestServer::start().await;
    let ada = admin(&server).await;
    let ben = server.actor("ben").await;
    server
        .grant_admin(&ben, AdminRole::AccessAdministrator, None)
        .await;
    let reason = json!({"reason": "r"});
    let (path_a, path_b) = (
        format!("/api/v1/actors/{}/suspend", ben.id),
        format!("/api/v1/actors/{}/deactivate", ada.id),
    );
    let ((sa, ba), (sb, bb)) = tokio::join!(
        server.post(&ada, &path_a, &reason),
        server.post(&ben, &path_b, &reason)
    );
    assert_eq!(
        [sa, sb].iter().filter(|s| **s == 200).count(),
        1,
        "{ba} {bb}"
    );
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM actor_profiles WHERE status = 'active' AND id IN ($1, $2)",
    )
    .bind(ada.id)
    .bind(ben.id)
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(active, 1);
}

#[tokio::test]
async fn a_revoked_identity_link_is_refused_until_reactivated() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let bob = server.actor("bob").await;
    let (status, links) = server
        .get(&admin, &format!("/api/v1/actors/{}/identity-links", bob.id))
        .await;
    assert_eq!(status, 200, "{links}");
    let link = links["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(links["items"][0]["subject"], "bob");
    let revoke = format!("/api/v1/actor-identity-links/{link}/revoke");
    let reactivate = format!("/api/v1/actor-identity-links/{link}/reactivate");
    let (status, body) = server
        .post(&admin, &revoke, &json!({"reason": "lost laptop"}))
        .await;
    assert_eq!((status, body["status"].clone()), (200, json!("revoked")));
    let (status, body) = server.get(&bob, "/api/v1/actors/me").await;
    assert_eq!((status, code(&body)), (403, json!("identity_link_revoked")));
    // The pair is never rebound: still the same single profile.
    let profiles: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM actor_profiles WHERE workstream_actor_label(id) = 'bob'",
    )
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(profiles, 1);
    let (status, body) = server
        .post(&admin, &revoke, &json!({"reason": "again"}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (409, json!("identity_link_already_revoked"))
    );
    let (status, body) = server
        .post(&admin, &reactivate, &json!({"reason": "found it"}))
        .await;
    assert_eq!((status, body["status"].clone()), (200, json!("active")));
    let (status, _) = server.get(&bob, "/api/v1/actors/me").await;
    assert_eq!(status, 200);
    let (status, body) = server
        .post(&admin, &reactivate, &json!({"reason": "again"}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (409, json!("identity_link_not_revoked"))
    );
    // Nobody touches their own link.
    let (_, own) = server
        .get(
            &admin,
            &format!("/api/v1/actors/{}/identity-links", admin.id),
        )
        .await;
    let own = own["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = server
        .post(
            &admin,
            &format!("/api/v1/actor-identity-links/{own}/revoke"),
            &json!({"reason": "r"}),
        )
        .await;
    assert_eq!((status, code(&body)), (403, json!("resource_guard_denied")));
}

#[tokio::test]
async fn service_actors_are_provisioned_by_an_administrator() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let token = server.service_token("svc-checker");
    let me = |token: String| {
        let request = server
            .client
            .get(server.url("/api/v1/actors/me"))
            .bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = me(token.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (403, json!("service_actor_not_provisioned"))
    );
    let create = |identity: &str, subject: &str| json!({"service_identity": identity, "subject": subject, "reason": "checker worker"});
    let (status, created) = server
        .post(
            &admin,
            "/api/v1/service-actors",
            &create("workstream.checker.worker", "svc-checker"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["service_identity"], "workstream.checker.worker");
    let (status, body) = me(token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actor_kind"], "service");
    assert_eq!(body["actor_profile_id"], created["actor_profile_id"]);

    let (status, body) = server
        .post(
            &admin,
            "/api/v1/service-actors",
            &create("workstream.checker.worker", "svc-other"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (409, json!("service_identity_exists"))
    );
    let (status, body) = server
        .post(
            &admin,
            "/api/v1/service-actors",
            &create("workstream.outbox.worker", "svc-checker"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (409, json!("identity_already_linked"))
    );
    let (status, body) = server
        .post(
            &admin,
            "/api/v1/service-actors",
            &create("workstream.root", "svc-root"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (422, json!("unknown_service_identity"))
    );
    let bob = server.actor("bob").await;
    let (status, body) = server
        .post(
            &bob,
            "/api/v1/service-actors",
            &create("workstream.outbox.worker", "svc-x"),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (403, json!("permission_not_granted"))
    );
    // A service never holds a human role.
    let service_id: Uuid = created["actor_profile_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, body) = server
        .post(
            &admin,
            "/api/v1/admin-role-grants",
            &json!({"target_actor_profile_id": service_id, "role": "operator", "scope_type": "system", "reason": "r"}),
        )
        .await;
    assert_eq!((status, code(&body)), (422, json!("target_not_human")));
}
