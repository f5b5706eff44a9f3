//! `workstream jobs`, run as the real binary: the dead letter listed, a discarded job
//! requeued (attempts reset, error trail kept, audited), a finished job refused.

use std::process::Command;

use uuid::Uuid;
use workstream_store::testing::TestDatabase;

fn workstream(url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env("WORKSTREAM_DATABASE_URL", url)
        .env("WORKSTREAM_LOG", "warn");
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn a_discarded_job_is_listed_requeued_and_audited() {
    let db = TestDatabase::create().await.unwrap();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO jobs (id, kind, state, attempt, max_attempts, last_error, errors, finished_at) \
         VALUES ($1, 'checker.evaluate', 'discarded', 3, 3, 'boom', '[{\"attempt\": 3, \"error\": \"boom\"}]', now())",
    )
    .bind(id)
    .execute(db.pool())
    .await
    .unwrap();

    let list = workstream(db.url())
        .args(["jobs", "list", "--state", "discarded"])
        .output()
        .unwrap();
    assert!(list.status.success(), "{list:?}");
    let text = String::from_utf8(list.stdout).unwrap();
    assert!(
        text.contains(&id.to_string()) && text.contains("3/3") && text.contains("boom"),
        "{text}"
    );

    let requeue = workstream(db.url())
        .args([
            "jobs",
            "requeue",
            &id.to_string(),
            "--reason",
            "the checker is fixed",
        ])
        .output()
        .unwrap();
    assert!(requeue.status.success(), "{requeue:?}");
    let (state, attempt, errors): (String, i32, serde_json::Value) =
        sqlx::query_as("SELECT state, attempt, errors FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempt), ("available", 0));
    assert_eq!(
        errors.as_array().unwrap().len(),
        1,
        "the error trail is kept"
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = 'job_requeued' AND reason = 'the checker is fixed'",
    )
    .bind(id)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // Only a discarded job can be requeued; a blank reason is refused.
    let again = workstream(db.url())
        .args(["jobs", "requeue", &id.to_string(), "--reason", "again"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    let blank = workstream(db.url())
        .args(["jobs", "cancel", &id.to_string(), "--reason", " "])
        .output()
        .unwrap();
    assert!(!blank.status.success());
}
