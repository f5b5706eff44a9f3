//! AS11 and the done-when item: 50 submitters claim one READY task at the same moment;
//! exactly one assignment exists afterwards, every other claim is 409
//! `task_already_claimed`, and exactly one claim is audited.

mod tasks_common;

use reqwest::StatusCode;
use serde_json::json;
use tasks_common::setup;
use tokio::task::JoinSet;
use uuid::Uuid;
use workstream_domain::roles::ProjectRole;

const CLAIMERS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_claims_yield_exactly_one_assignment() {
    let f = setup().await;
    let task = f.ready_task("Contested").await;
    let mut claimers = Vec::with_capacity(CLAIMERS);
    for i in 0..CLAIMERS {
        claimers.push(
            f.contributor(&format!("claimer-{i}"), ProjectRole::Submitter)
                .await,
        );
    }
    // Every request is built first and released together.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CLAIMERS));
    let mut set = JoinSet::new();
    for claimer in claimers {
        let client = f.server.client.clone();
        let url = f.server.url(&format!("/api/v1/tasks/{task}/claim"));
        let barrier = barrier.clone();
        set.spawn(async move {
            barrier.wait().await;
            let response = client
                .post(url)
                .header("Authorization", claimer.auth())
                .header("Idempotency-Key", Uuid::now_v7().to_string())
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            (claimer.id, status, body)
        });
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    while let Some(result) = set.join_next().await {
        let (id, status, body) = result.unwrap();
        match status {
            StatusCode::OK => winners.push(id),
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "task_already_claimed", "{body}");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(conflicts, CLAIMERS - 1);
    let assignments = f.assignments(task).await;
    assert_eq!(assignments.len(), 1);
    assert_eq!(assignments[0].0, winners[0]);
    assert_eq!(assignments[0].1, "active");
    let claims: Vec<_> = f
        .task_events(task)
        .await
        .into_iter()
        .filter(|e| e.0 == "task_claimed")
        .collect();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].3, Some(winners[0]));
    let (_, b) = tasks_common::get(
        &f.server,
        &f.pm,
        &format!("/projects/{}/tasks/{task}", f.project),
    )
    .await;
    assert_eq!(b["task"]["status"], "claimed");
    assert_eq!(b["task"]["assigned_to"], json!(winners[0]));
}
