//! `workstream token` and `workstream admin bootstrap`, run as the real binary.

use std::process::Command;

use base64::Engine as _;
use serde_json::Value;
use workstream_store::testing::TestDatabase;

const SECRET: &str = "cli-test-secret-of-at-least-thirty-two-bytes";

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
        .env_remove("WORKSTREAM_FLOW_AUTH_ISSUER")
        .env_remove("WORKSTREAM_FLOW_AUTH_AUDIENCE")
        .env("WORKSTREAM_LOG", "warn");
    cmd
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn token_prints_a_token_with_the_requested_claims() {
    let out = workstream()
        .env("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET", SECRET)
        .args(["token", "--subject", "alice", "--lifetime", "10m"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let claims = payload(token.trim());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["subject_kind"], "human");
    assert_eq!(claims["scope"], "workstream:access");
    assert_eq!(claims["iss"], "https://auth.flow.local");
    assert_eq!(claims["aud"], "workstream-api");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );

    let out = workstream()
        .env("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET", SECRET)
        .args([
            "token",
            "--subject",
            "bot",
            "--kind",
            "agent",
            "--scope",
            "a b",
            "--scope",
            "c",
        ])
        .args(["--issuer", "https://other.example", "--audience", "x"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let claims = payload(String::from_utf8(out.stdout).unwrap().trim());
    assert_eq!(claims["subject_kind"], "agent");
    assert_eq!(claims["scope"], "a b c");
    assert_eq!(claims["iss"], "https://other.example");

    let out = workstream()
        .env_remove("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET")
        .args(["token", "--subject", "alice"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "no secret, no token");
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_creates_the_first_administrator_once() {
    let database = TestDatabase::create().await.unwrap();
    let run = || {
        workstream()
            .args(["admin", "bootstrap", "--database-url", database.url()])
            .args(["--issuer", "https://auth.flow.local", "--subject", "root"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pool = database.pool();
    let (role, principal, issued_by): (String, Option<String>, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT role, issued_by_principal, issued_by FROM admin_role_grants")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(role, "access_administrator");
    assert_eq!(principal.as_deref(), Some("workstream:system:bootstrap"));
    assert_eq!(issued_by, None);
    let events: Vec<(String, Option<uuid::Uuid>)> =
        sqlx::query_as("SELECT event_type, actor_id FROM audit_events ORDER BY occurred_at, id")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(
        events,
        vec![
            ("actor_profile_provisioned".to_owned(), None),
            ("actor_identity_linked".to_owned(), None),
            ("admin_role_granted".to_owned(), None),
        ]
    );
    let again = run();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("access_administrator_exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
