//! A stored verdict is reproducible from what was stored: the run keeps the request its
//! checkers were given, so a replay after the task's acceptance criteria changed still
//! gives the stored result digest; and a locked checker policy whose body no longer
//! hashes to its locked hash is never run (replay refuses it, naming the hashes).

mod projects_support;
mod review_support;

use review_support::*;
use serde_json::Value;
use uuid::Uuid;

/// Runs `sql` with triggers off: what someone with the database's superuser could do.
async fn tamper(s: &Setup, sql: &str, id: Uuid) {
    let mut tx = s.server.database.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn replay_uses_the_stored_request_and_refuses_a_damaged_policy() {
    let s = in_review("replay-stored", Terms::Unpaid).await;
    let (run, request): (Uuid, Value) = sqlx::query_as(
        "SELECT id, request FROM checker_runs WHERE task_id = $1 AND status = 'completed'",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(request["schema"], "workstream.checker_run_request.v2");
    assert_eq!(request["phase"], "post_submit");
    assert_eq!(
        request["acceptance_criteria"],
        "A complete, checked proof of the lemma."
    );
    let stored: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT request_digest FROM checker_results WHERE checker_run_id = $1 ORDER BY ordinal",
    )
    .bind(run)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert!(!stored.is_empty() && stored.iter().all(Option::is_some));

    // The task's criteria change after the run: the replay still sees what the run saw.
    tamper(
        &s,
        "UPDATE tasks SET acceptance_criteria = 'Something else entirely, changed later.' WHERE id = $1",
        s.task,
    )
    .await;
    let pipeline = s.server.pipeline();
    let replay = workstream_engine::pipeline::replay(pipeline, s.server.database.pool(), run)
        .await
        .unwrap();
    assert!(replay.from_stored_request);
    assert!(replay.reproduced(), "{replay:?}");
    for (member, (_, request_digest, _)) in
        replay.evaluation.members.iter().zip(&replay.stored_members)
    {
        assert_eq!(
            Some(member.outcome.request_digest.to_string()),
            *request_digest
        );
    }

    // A locked policy whose body was edited is not run.
    tamper(
        &s,
        "UPDATE submissions SET locked_checker_policy = jsonb_set(locked_checker_policy, \
         '{blocking_severities}', '[\"critical\"]') WHERE task_id = $1",
        s.task,
    )
    .await;
    let refused = workstream_engine::pipeline::replay(pipeline, s.server.database.pool(), run)
        .await
        .unwrap_err();
    assert_eq!(refused.code, "implementation_unavailable");
    assert!(
        refused.message.contains("not to the locked"),
        "{}",
        refused.message
    );
}
