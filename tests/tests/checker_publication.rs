//! Publishing a checker component over HTTP (`POST /api/v1/checkers`): validated once
//! and stored by digest (201), the same bytes again are the same record (200), a
//! component of the earlier contract is published as such, and every refusal is a 422
//! with its code and nothing stored: an import outside the policy (named), a component
//! that never finishes an empty packet, bytes that are no component, a missing part.

mod projects_support;

use projects_support::manager;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;
use workstream_e2e::{TestActor, TestServer};
use workstream_sandbox::testing::component_bytes;

async fn publish(server: &TestServer, who: &TestActor, part: Option<&[u8]>) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    if let Some(bytes) = part {
        form = form.part(
            "component",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("checker.wasm"),
        );
    } else {
        form = form.text("note", "no component here");
    }
    let response = server
        .client
        .post(server.url("/api/v1/checkers"))
        .header("authorization", who.auth())
        .header("idempotency-key", Uuid::now_v7().to_string())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn published(server: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM checker_components WHERE NOT builtin")
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn components_are_published_once_and_refused_with_their_code() {
    let server = TestServer::start_with_pipeline().await;
    let pm = manager(&server, "publication-pm").await;

    let trivial = component_bytes("trivial");
    let (status, record) = publish(&server, &pm, Some(&trivial)).await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    assert_eq!(
        record["digest"],
        workstream_domain::Digest::of_bytes(&trivial).to_string()
    );
    assert_eq!(record["name"], "trivial");
    assert_eq!(record["contract"], "workstream:checker@0.2.0");
    assert_eq!(record["builtin"], false);
    assert_eq!(record["byte_count"], trivial.len());
    assert_eq!(record["registered_by"], pm.id.to_string());
    assert!(record.get("wasm_bytes").is_none(), "never the bytes");

    let (status, again) = publish(&server, &pm, Some(&trivial)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, record);

    let (status, legacy) = publish(&server, &pm, Some(&component_bytes("legacy_v0_1"))).await;
    assert_eq!(status, StatusCode::CREATED, "{legacy}");
    assert_eq!(legacy["contract"], "workstream:checker@0.1.0");
    assert_eq!(published(&server).await, 2);
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE event_type = 'checker_component_registered' \
         AND actor_id = $1",
    )
    .bind(pm.id)
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(events, 2);

    for (bytes, code, says) in [
        (
            component_bytes("hostile_forbidden_import"),
            "checker_import_not_allowed",
            "hostile:forbidden-import/exfiltrate",
        ),
        (
            component_bytes("hostile_infinite_loop"),
            "checker_smoke_check_failed",
            "deadline_exceeded",
        ),
        (
            b"\0asm\x01\0\0\0".to_vec(),
            "checker_component_invalid",
            "not a component",
        ),
    ] {
        let (status, refused) = publish(&server, &pm, Some(&bytes)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["code"], code, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{code}: {message}");
    }
    let (status, refused) = publish(&server, &pm, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_request");
    assert_eq!(published(&server).await, 2, "nothing stored by a refusal");
}
