//! The health probes over real HTTP.

use serde_json::Value;
use workstream_e2e::TestServer;

#[tokio::test]
async fn api_health_reports_the_database_up() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-correlation-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "up");
}

#[tokio::test]
async fn api_health_reports_503_when_the_database_is_gone() {
    let server = TestServer::start().await;
    server.database.pool().close().await;
    let response = server
        .client
        .get(server.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["database"]["status"], "down");
    // Liveness does not depend on the database.
    let live = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn unknown_routes_get_the_error_envelope_with_the_callers_correlation_id() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/api/v1/nothing-here"))
        .header("X-Correlation-ID", "client-req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-correlation-id"], "client-req-42");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["correlation_id"], "client-req-42");
}

#[tokio::test]
async fn a_hostile_correlation_id_is_replaced() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/health"))
        .header("X-Correlation-ID", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    let echoed = response.headers()["x-correlation-id"].to_str().unwrap();
    assert_ne!(echoed, "bad id\twith spaces");
    assert_eq!(echoed.len(), 36, "a UUID replaces it: {echoed}");
}
