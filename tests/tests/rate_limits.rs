//! The durable rate limits: the issuer's first-access budget and an administrator's
//! authority-mutation budget. Over budget: 429 `rate_limit_exceeded`, retryable, with
//! `Retry-After`, and nothing written.

use std::time::Duration;

use serde_json::json;
use workstream_api::config::ApiConfig;
use workstream_api::rate_limit::Limit;
use workstream_domain::roles::AdminRole;
use workstream_e2e::TestServer;

fn config(first_access: u32, admin_mutation: u32) -> ApiConfig {
    let mut config = ApiConfig::for_tests();
    // An hour-long window: the budget cannot roll over while the test runs.
    let window = Duration::from_secs(3600);
    config.rate_limits.first_access = Limit {
        max: first_access,
        window,
    };
    config.rate_limits.admin_mutation = Limit {
        max: admin_mutation,
        window,
    };
    config
}

async fn profiles(server: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM actor_profiles")
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn first_access_past_the_issuers_budget_is_429_and_creates_nothing() {
    let server = TestServer::start_with_config(config(2, 100)).await;
    let first = server.actor("first").await;
    server.actor("second").await;
    assert_eq!(profiles(&server).await, 2);

    let response = server
        .client
        .get(server.url("/api/v1/actors/me"))
        .bearer_auth(server.token("third"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(body["error"]["retryable"], true);
    assert_eq!(body["error"]["details"]["limit"], 2);
    assert_eq!(
        profiles(&server).await,
        2,
        "no profile for the refused subject"
    );
    let links: i64 =
        sqlx::query_scalar("SELECT count(*) FROM actor_identity_links WHERE subject = 'third'")
            .fetch_one(server.database.pool())
            .await
            .unwrap();
    assert_eq!(links, 0);

    // Known actors are not first accesses: they keep working.
    let (status, me) = server.get(&first, "/api/v1/actors/me").await;
    assert_eq!(status, 200, "{me}");
    // The counter is durable and keyed by a digest, never the issuer in clear.
    let (digest, hits): (String, i32) = sqlx::query_as(
        "SELECT subject_digest, hits FROM api_rate_control_counters WHERE bucket = 'first_access'",
    )
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(hits, 3);
    assert_eq!(digest.len(), 64);
    assert!(!digest.contains("auth"));
}

#[tokio::test]
async fn authority_mutations_past_the_administrators_budget_are_429() {
    let server = TestServer::start_with_config(config(100, 2)).await;
    let admin = server.actor("admin").await;
    server
        .grant_admin(&admin, AdminRole::AccessAdministrator, None)
        .await;
    let other_admin = server.actor("other-admin").await;
    server
        .grant_admin(&other_admin, AdminRole::AccessAdministrator, None)
        .await;
    let target = server.actor("target").await;
    let grant = |role: &str| json!({"target_actor_profile_id": target.id, "role": role, "scope_type": "system", "reason": "budget"});
    for role in ["operator", "project_manager"] {
        let (status, body) = server
            .post(&admin, "/api/v1/admin-role-grants", &grant(role))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = server
        .post(
            &admin,
            "/api/v1/admin-role-grants",
            &grant("audit_authority"),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    let audit_grants: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admin_role_grants WHERE target_actor_id = $1 AND role = 'audit_authority'",
    )
    .bind(target.id)
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(audit_grants, 0);
    // The budget is per administrator, and callers without the grant spend none.
    let (status, body) = server
        .post(
            &target,
            "/api/v1/admin-role-grants",
            &grant("audit_authority"),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("permission_not_granted"))
    );
    let (status, body) = server
        .post(
            &other_admin,
            "/api/v1/admin-role-grants",
            &grant("audit_authority"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}
