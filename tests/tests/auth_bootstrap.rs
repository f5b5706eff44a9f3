//! The bootstrap path end to end: the first access administrator, made by the same
//! command `workstream admin bootstrap` runs, signs in with a local token and
//! administers over HTTP; a second bootstrap is refused.

use serde_json::json;
use workstream_e2e::{TestActor, TestServer};
use workstream_engine::authority::RequestContext;
use workstream_engine::authority::provisioning::bootstrap_access_administrator;

#[tokio::test]
async fn the_bootstrapped_administrator_administers_over_http() {
    let server = TestServer::start().await;
    // The person signed in once before being made administrator: the profile is reused.
    let root = server.actor("root").await;
    let mut tx = server.database.pool().begin().await.unwrap();
    let done = bootstrap_access_administrator(
        &mut tx,
        "https://auth.flow.local",
        "root",
        &RequestContext::default(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(done.actor_id, root.id);
    assert!(!done.created_profile);

    let (status, me) = server.get(&root, "/api/v1/actors/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["admin_roles"], json!(["access_administrator"]));
    let manager = server.actor("manager").await;
    let (status, grant) = server
        .post(
            &root,
            "/api/v1/admin-role-grants",
            &json!({"target_actor_profile_id": manager.id, "role": "project_manager",
                    "scope_type": "system", "reason": "runs projects"}),
        )
        .await;
    assert_eq!(status, 201, "{grant}");

    let mut tx = server.database.pool().begin().await.unwrap();
    let err = bootstrap_access_administrator(
        &mut tx,
        "https://auth.flow.local",
        "someone",
        &RequestContext::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "access_administrator_exists");
}

#[tokio::test]
async fn bootstrap_creates_a_profile_for_a_new_subject() {
    let server = TestServer::start().await;
    let mut tx = server.database.pool().begin().await.unwrap();
    let done = bootstrap_access_administrator(
        &mut tx,
        "https://auth.flow.local",
        "root",
        &RequestContext::default(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(done.created_profile);
    let root = TestActor {
        id: done.actor_id,
        token: server.token("root"),
        subject: "root".into(),
    };
    let (status, me) = server.get(&root, "/api/v1/actors/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["actor_profile_id"], done.actor_id.to_string());
    assert_eq!(me["admin_roles"], json!(["access_administrator"]));
}
