//! The audit chain: appended in order, verified, and broken links named.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;
use workstream_store::audit::{self, LinkProblem, NewAuditEvent, SYSTEM_CHAIN};
use workstream_store::testing::TestDatabase;

fn event(event_type: &str, n: i64) -> NewAuditEvent {
    NewAuditEvent {
        entity_type: "actor".into(),
        entity_id: Some(Uuid::now_v7()),
        event_type: event_type.into(),
        from_status: Some("active".into()),
        to_status: Some("suspended".into()),
        reason: Some(format!("reason {n}")),
        payload: json!({ "n": n, "nested": { "b": [1, 2], "a": "é日本" } }),
        correlation_id: Some("corr-1".into()),
        ..NewAuditEvent::default()
    }
}

async fn append_events(pool: &PgPool, count: i64) -> Vec<audit::AuditEvent> {
    let mut stored = Vec::new();
    for n in 1..=count {
        let mut tx = pool.begin().await.unwrap();
        stored.push(
            audit::append(&mut tx, event("actor_suspended", n))
                .await
                .unwrap(),
        );
        tx.commit().await.unwrap();
    }
    stored
}

/// Rewrites a stored event behind the append-only trigger's back, as a superuser or
/// a restored, edited backup could.
async fn tamper(pool: &PgPool, sql: &str, id: Uuid) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn events_chain_in_sequence_and_verify() {
    let db = TestDatabase::create().await.unwrap();
    let events = append_events(db.pool(), 3).await;
    assert_eq!(
        events.iter().map(|e| e.chain_seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(events[0].prev_digest, None);
    assert_eq!(
        events[1].prev_digest.as_deref(),
        Some(events[0].digest.as_str())
    );
    assert_eq!(
        events[2].prev_digest.as_deref(),
        Some(events[1].digest.as_str())
    );
    assert!(events.iter().all(|e| e.chain_key == SYSTEM_CHAIN));

    let reports = audit::verify(db.pool(), None).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].events, 3);
    assert_eq!(reports[0].broken, None);
}

#[tokio::test]
async fn a_rolled_back_event_leaves_no_gap() {
    let db = TestDatabase::create().await.unwrap();
    append_events(db.pool(), 1).await;
    let mut tx = db.pool().begin().await.unwrap();
    audit::append(&mut tx, event("discarded", 9)).await.unwrap();
    tx.rollback().await.unwrap();
    let events = append_events(db.pool(), 1).await;
    assert_eq!(events[0].chain_seq, 2);
    let reports = audit::verify(db.pool(), None).await.unwrap();
    assert_eq!(reports[0].broken, None);
}

#[tokio::test]
async fn concurrent_appends_to_one_chain_are_serialized() {
    let db = TestDatabase::create().await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..16 {
        let pool = db.pool().clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            audit::append(&mut tx, event("concurrent", n))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let reports = audit::verify(db.pool(), Some(SYSTEM_CHAIN)).await.unwrap();
    assert_eq!(reports[0].events, 16);
    assert_eq!(reports[0].broken, None);
}

#[tokio::test]
async fn edited_content_is_named_as_the_first_broken_link() {
    let db = TestDatabase::create().await.unwrap();
    let events = append_events(db.pool(), 4).await;
    tamper(
        db.pool(),
        "UPDATE audit_events SET reason = 'rewritten' WHERE id = $1",
        events[1].id,
    )
    .await;
    let reports = audit::verify(db.pool(), None).await.unwrap();
    let broken = reports[0].broken.clone().expect("the chain must be broken");
    assert_eq!(broken.chain_seq, 2);
    assert_eq!(broken.event_id, Some(events[1].id));
    assert!(matches!(broken.problem, LinkProblem::DigestMismatch { .. }));
}

#[tokio::test]
async fn a_removed_event_is_named() {
    let db = TestDatabase::create().await.unwrap();
    let events = append_events(db.pool(), 3).await;
    tamper(
        db.pool(),
        "DELETE FROM audit_events WHERE id = $1",
        events[1].id,
    )
    .await;
    let broken = audit::verify(db.pool(), None).await.unwrap()[0]
        .broken
        .clone()
        .expect("broken");
    assert_eq!(broken.chain_seq, 2);
    assert_eq!(broken.problem, LinkProblem::MissingEvent { found: 3 });
}

#[tokio::test]
async fn a_removed_tail_is_named() {
    let db = TestDatabase::create().await.unwrap();
    let events = append_events(db.pool(), 3).await;
    tamper(
        db.pool(),
        "DELETE FROM audit_events WHERE id = $1",
        events[2].id,
    )
    .await;
    let broken = audit::verify(db.pool(), None).await.unwrap()[0]
        .broken
        .clone()
        .expect("broken");
    assert_eq!(
        broken.problem,
        LinkProblem::HeadMismatch {
            head_seq: 3,
            last_seq: 2
        }
    );
}

#[tokio::test]
async fn a_relinked_event_is_named() {
    let db = TestDatabase::create().await.unwrap();
    let events = append_events(db.pool(), 3).await;
    tamper(
        db.pool(),
        "UPDATE audit_events SET prev_digest = 'sha256:0000000000000000000000000000000000000000000000000000000000000000' WHERE id = $1",
        events[2].id,
    )
    .await;
    let broken = audit::verify(db.pool(), None).await.unwrap()[0]
        .broken
        .clone()
        .expect("broken");
    assert_eq!(broken.chain_seq, 3);
    assert!(matches!(
        broken.problem,
        LinkProblem::PredecessorMismatch { .. }
    ));
}

#[tokio::test]
async fn audit_events_reject_update_and_delete() {
    let db = TestDatabase::create().await.unwrap();
    let events = append_events(db.pool(), 1).await;
    let update = sqlx::query("UPDATE audit_events SET reason = 'x' WHERE id = $1")
        .bind(events[0].id)
        .execute(db.pool())
        .await;
    assert!(update.is_err(), "UPDATE must be rejected");
    let delete = sqlx::query("DELETE FROM audit_events WHERE id = $1")
        .bind(events[0].id)
        .execute(db.pool())
        .await;
    assert!(delete.is_err(), "DELETE must be rejected");
    assert_eq!(
        audit::verify(db.pool(), None).await.unwrap()[0].broken,
        None
    );
}
