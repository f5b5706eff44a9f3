//! Compiled once, where it is needed, before anything needs it: a component published
//! through one server is compiled by every other process of the deployment when the
//! publication's notification arrives, and a process that starts loads what active
//! guides pin, so no job compiles a component on its path.

mod projects_support;

use std::sync::Arc;
use std::time::Duration;

use projects_support::*;
use serde_json::json;
use workstream_e2e::TestServer;
use workstream_engine::evaluation::Checkers;
use workstream_engine::pipeline::{Pipeline, keep_warm};
use workstream_sandbox::testing::component_bytes;
use workstream_sandbox::{Sandbox, SandboxConfig};
use workstream_store::objects::ObjectStore;

/// Another process's pipeline on the same database: its own sandbox and cache.
fn another_process(dir: &std::path::Path) -> Arc<Pipeline> {
    let sandbox = Sandbox::new(SandboxConfig::new(dir.join("checker-cache"))).unwrap();
    Arc::new(Pipeline {
        checkers: Checkers::new(Arc::new(sandbox)),
        objects: ObjectStore::local(dir.join("objects")).unwrap(),
        scratch: dir.join("scratch"),
    })
}

/// Waits until `pipeline` has compiled (or loaded from its disk cache) `count`
/// components.
async fn loaded(pipeline: &Pipeline, count: u64) -> u64 {
    for _ in 0..300 {
        let stats = pipeline.checkers.sandbox().stats();
        if stats.compiled + stats.loaded_from_disk >= count {
            return stats.compiled + stats.loaded_from_disk;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = pipeline.checkers.sandbox().stats();
    stats.compiled + stats.loaded_from_disk
}

#[tokio::test(flavor = "multi_thread")]
async fn publication_and_start_compile_before_any_job_needs_it() {
    let server = TestServer::start_with_pipeline().await;
    let pool = server.database.pool().clone();

    // A second process, warm from the start (nothing pinned yet: nothing to load).
    let dir = tempfile::tempdir().unwrap();
    let other = another_process(&dir.path().join("b"));
    tokio::spawn(keep_warm(other.clone(), pool.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(other.checkers.sandbox().stats().compiled, 0);

    // Publishing through the first server: the second compiles it on the notification.
    let pm = manager(&server, "warm-pm").await;
    let form = reqwest::multipart::Form::new().part(
        "component",
        reqwest::multipart::Part::bytes(component_bytes("trivial")).file_name("t.wasm"),
    );
    let published = server
        .client
        .post(server.url("/api/v1/checkers"))
        .header("authorization", pm.auth())
        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 201);
    let digest = published.json::<serde_json::Value>().await.unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(loaded(&other, 1).await, 1, "the other process compiled it");

    // An active guide pins it (and the built-ins): a process that starts now loads all
    // of them before its first job.
    let project = create_project(&server, &pm, "warm").await;
    let fin = finance(&server, "warm-finance", project).await;
    publish_unpaid_policy(&server, &fin, project).await;
    let mut policy = bundle();
    policy["checker_policy"]["checkers"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"name": "trivial", "digest": digest, "phase": "post_submit",
                     "configuration": {}, "blocking": true, "severity": "high"}),
        );
    let guide = create_guide(&server, &pm, project, "v1", Some(policy)).await;
    let answer = activate(&server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let pinned: i32 = sqlx::query_scalar(
        "SELECT jsonb_array_length(policy_bundle -> 'checker_policy' -> 'checkers') \
         FROM project_guides WHERE id = $1",
    )
    .bind(guide)
    .fetch_one(&pool)
    .await
    .unwrap();
    let starting = another_process(&dir.path().join("c"));
    tokio::spawn(keep_warm(starting.clone(), pool.clone()));
    assert_eq!(loaded(&starting, pinned as u64).await, pinned as u64);
    assert!(pinned > 1, "the built-ins and the published component");
}
