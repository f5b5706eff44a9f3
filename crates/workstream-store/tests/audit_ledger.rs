//! The audit ledger: concurrent appends, sealing into signed checkpoints published to
//! the object store, inclusion proofs, and `verify` naming what a database writer did.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;
use workstream_store::audit::proof::{self, Inclusion};
use workstream_store::audit::{
    self, AuditEvent, LedgerProblem, NewAuditEvent, SigningKey, seal_pending,
};
use workstream_store::objects::ObjectStore;
use workstream_store::testing::TestDatabase;

fn event(n: i64) -> NewAuditEvent {
    NewAuditEvent {
        entity_type: "actor".into(),
        entity_id: Some(Uuid::now_v7()),
        event_type: "actor_suspended".into(),
        from_status: Some("active".into()),
        to_status: Some("suspended".into()),
        reason: Some(format!("reason {n}")),
        payload: json!({ "n": n, "nested": { "b": [1, 2], "a": "é日本" } }),
        correlation_id: Some("corr-1".into()),
        ..NewAuditEvent::default()
    }
}

async fn append_events(pool: &PgPool, from: i64, count: i64) -> Vec<AuditEvent> {
    let mut stored = Vec::new();
    for n in from..from + count {
        let mut tx = pool.begin().await.unwrap();
        stored.push(audit::append(&mut tx, event(n)).await.unwrap());
        tx.commit().await.unwrap();
    }
    stored
}

struct Ledger {
    db: TestDatabase,
    objects: ObjectStore,
    key: SigningKey,
    _dir: tempfile::TempDir,
}

impl Ledger {
    async fn new() -> Ledger {
        let dir = tempfile::tempdir().unwrap();
        Ledger {
            db: TestDatabase::create().await.unwrap(),
            objects: ObjectStore::local(dir.path().join("objects")).unwrap(),
            key: SigningKey::load_or_create(&dir.path().join("audit-signing.key")).unwrap(),
            _dir: dir,
        }
    }

    fn pool(&self) -> &PgPool {
        self.db.pool()
    }

    async fn seal(&self) -> u64 {
        seal_pending(self.pool(), &self.objects, &self.key)
            .await
            .unwrap()
    }

    async fn verify(&self) -> audit::LedgerReport {
        audit::verify(self.pool(), &self.objects, &self.key.public())
            .await
            .unwrap()
    }
}

/// Runs `sql` (binding `id`) behind the append-only triggers' back, as a superuser or
/// an edited backup could.
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
async fn appends_are_sealed_in_batches_into_signed_published_checkpoints() {
    let l = Ledger::new().await;
    let first = append_events(l.pool(), 1, 5).await;
    assert!(
        first
            .iter()
            .all(|e| e.chain_seq.is_none() && e.prev_digest.is_none())
    );
    let report = l.verify().await;
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(
        (report.events, report.unsealed, report.checkpoints),
        (0, 5, 0)
    );

    assert_eq!(l.seal().await, 5);
    append_events(l.pool(), 6, 3).await;
    assert_eq!(l.seal().await, 3);
    assert_eq!(l.seal().await, 0, "nothing left to seal");

    let report = l.verify().await;
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(
        (report.events, report.unsealed, report.checkpoints),
        (8, 0, 2)
    );
    let latest = report.latest.unwrap();
    assert_eq!((latest.tree_size, latest.previous_size), (8, 5));
    assert!(latest.signed_by(&l.key.public()));
    let keys = l.objects.list("audit/checkpoints").await.unwrap();
    assert_eq!(
        keys,
        vec![
            "audit/checkpoints/00000000000000000005.json",
            "audit/checkpoints/00000000000000000008.json"
        ]
    );
    // Positions follow the order of appending.
    let order: Vec<Uuid> =
        sqlx::query_scalar("SELECT event_id FROM audit_ledger ORDER BY leaf_index")
            .fetch_all(l.pool())
            .await
            .unwrap();
    assert_eq!(
        &order[..5],
        &first.iter().map(|e| e.id).collect::<Vec<_>>()[..]
    );
    // The ledger's tables are append-only.
    for sql in [
        "UPDATE audit_ledger SET leaf_index = 99 WHERE leaf_index = 0",
        "DELETE FROM audit_tree_nodes WHERE level = 0",
        "DELETE FROM audit_checkpoints",
    ] {
        assert!(sqlx::query(sql).execute(l.pool()).await.is_err(), "{sql}");
    }
}

#[tokio::test]
async fn appends_of_one_project_do_not_wait_for_each_other() {
    let l = Ledger::new().await;
    let project = None;
    // Two open transactions append to the same group; the second commits first.
    let mut a = l.pool().begin().await.unwrap();
    let mut b = l.pool().begin().await.unwrap();
    audit::append(
        &mut a,
        NewAuditEvent {
            project_id: project,
            ..event(1)
        },
    )
    .await
    .unwrap();
    let appended = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        audit::append(
            &mut b,
            NewAuditEvent {
                project_id: project,
                ..event(2)
            },
        ),
    )
    .await
    .expect("the second append waited for the first transaction");
    appended.unwrap();
    b.commit().await.unwrap();
    a.commit().await.unwrap();
    assert_eq!(l.seal().await, 2);
    assert!(l.verify().await.ok());
}

#[tokio::test]
async fn a_trail_is_proven_event_by_event_against_the_latest_checkpoint() {
    let l = Ledger::new().await;
    let events = append_events(l.pool(), 1, 13).await;
    l.seal().await;
    let late = append_events(l.pool(), 14, 1).await;
    let mut all = events.clone();
    all.extend(late.clone());
    let mut conn = l.pool().acquire().await.unwrap();
    let checked = proof::prove(&mut conn, &all, Some(&l.key.public()))
        .await
        .unwrap();
    assert_eq!(checked.checkpoint.as_ref().unwrap().tree_size, 13);
    assert_eq!(checked.signature_valid, Some(true));
    for (i, e) in events.iter().enumerate() {
        match &checked.events[&e.id] {
            Inclusion::Proven { leaf_index, proof } => {
                assert_eq!(*leaf_index, i as u64);
                assert!(
                    proof.len() <= 4,
                    "a proof in a tree of 13 has at most 4 steps"
                );
            }
            other => panic!("event {i}: {other:?}"),
        }
    }
    assert_eq!(checked.events[&late[0].id], Inclusion::Pending);
    drop(conn);

    // An edit (with its digest recomputed) fails that event's proof, and only its.
    tamper(
        l.pool(),
        "UPDATE audit_events SET reason = 'rewritten' WHERE id = $1",
        events[6].id,
    )
    .await;
    let edited: Vec<AuditEvent> = sqlx::query_as(&format!(
        "SELECT {} FROM audit_events WHERE id = ANY($1)",
        audit::EVENT_COLUMNS
    ))
    .bind(events.iter().map(|e| e.id).collect::<Vec<_>>())
    .fetch_all(l.pool())
    .await
    .unwrap();
    let mut conn = l.pool().acquire().await.unwrap();
    let checked = proof::prove(&mut conn, &edited, None).await.unwrap();
    assert_eq!(checked.signature_valid, None);
    for e in &events {
        let failed = matches!(checked.events[&e.id], Inclusion::Failed { leaf_index: 6 });
        assert_eq!(failed, e.id == events[6].id, "{}", e.id);
    }
}

#[tokio::test]
async fn verify_names_a_cut_tail_whose_checkpoints_were_rewritten_in_the_database() {
    let l = Ledger::new().await;
    let events = append_events(l.pool(), 1, 6).await;
    l.seal().await;
    append_events(l.pool(), 7, 4).await;
    l.seal().await;
    // What the probe did: remove the last events and everything that records them.
    let mut tx = l.pool().begin().await.unwrap();
    for sql in [
        "SET LOCAL session_replication_role = replica",
        "DELETE FROM audit_checkpoint_publications WHERE tree_size > 6",
        "DELETE FROM audit_checkpoints WHERE tree_size > 6",
        "DELETE FROM audit_tree_nodes WHERE (index + 1) * (1::bigint << level) > 6",
        "CREATE TEMP TABLE cut ON COMMIT DROP AS SELECT event_id FROM audit_ledger WHERE leaf_index >= 6",
        "DELETE FROM audit_ledger WHERE leaf_index >= 6",
        "DELETE FROM audit_events WHERE id IN (SELECT event_id FROM cut)",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let report = l.verify().await;
    assert!(!report.ok());
    let cut: Uuid = sqlx::query_scalar::<_, Uuid>(
        "SELECT id FROM audit_events ORDER BY occurred_at DESC, id DESC LIMIT 1",
    )
    .fetch_one(l.pool())
    .await
    .unwrap();
    assert_eq!(cut, events[5].id, "the first six are left");
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            LedgerProblem::TailRemoved {
                from: 6,
                tree_size: 10,
                event_id: Some(_)
            }
        )),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .contains(&LedgerProblem::CheckpointRewritten { tree_size: 10 }),
        "{:?}",
        report.problems
    );
    let text: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter().any(|t| t.contains("its tail was removed")),
        "{text:?}"
    );
}

#[tokio::test]
async fn verify_names_an_edited_event_even_with_every_digest_and_the_tree_recomputed() {
    let l = Ledger::new().await;
    let events = append_events(l.pool(), 1, 9).await;
    l.seal().await;
    // Edit event #3 and recompute its digest, as someone who knows the format would;
    // then rebuild every node and checkpoint root in the database to match.
    tamper(
        l.pool(),
        "UPDATE audit_events SET reason = 'rewritten' WHERE id = $1",
        events[3].id,
    )
    .await;
    let edited: AuditEvent = sqlx::query_as(&format!(
        "SELECT {} FROM audit_events WHERE id = $1",
        audit::EVENT_COLUMNS
    ))
    .bind(events[3].id)
    .fetch_one(l.pool())
    .await
    .unwrap();
    let digest = audit::content_digest(&edited).unwrap().to_string();
    let mut tx = l.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET digest = $2 WHERE id = $1")
        .bind(events[3].id)
        .bind(&digest)
        .execute(&mut *tx)
        .await
        .unwrap();
    // Rebuild the tree and the database's checkpoint from the edited ledger.
    let digests: Vec<String> = sqlx::query_scalar(
        "SELECT e.digest FROM audit_ledger l JOIN audit_events e ON e.id = l.event_id ORDER BY l.leaf_index",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let mut tree = workstream_domain::merkle::Frontier::default();
    sqlx::query("DELETE FROM audit_tree_nodes")
        .execute(&mut *tx)
        .await
        .unwrap();
    for d in &digests {
        let d: workstream_domain::Digest = d.parse().unwrap();
        for (node, hash) in tree.push(workstream_domain::merkle::leaf_hash(d.as_bytes())) {
            sqlx::query("INSERT INTO audit_tree_nodes (level, index, hash) VALUES ($1, $2, $3)")
                .bind(i16::from(node.level))
                .bind(node.index as i64)
                .bind(hash.to_vec())
                .execute(&mut *tx)
                .await
                .unwrap();
        }
    }
    sqlx::query("UPDATE audit_checkpoints SET root = $1 WHERE tree_size = 9")
        .bind(tree.root().unwrap().to_vec())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let report = l.verify().await;
    assert!(!report.ok());
    assert_eq!(
        report.problems.first(),
        Some(&LedgerProblem::CheckpointRewritten { tree_size: 9 }),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.contains(&LedgerProblem::EventEdited {
            leaf_index: 3,
            event_id: events[3].id,
            checkpoint: Some(9),
        }),
        "{:?}",
        report.problems
    );
    let named = report
        .problems
        .iter()
        .find(|p| matches!(p, LedgerProblem::EventEdited { .. }));
    assert!(
        named
            .unwrap()
            .to_string()
            .contains(&events[3].id.to_string())
    );
}

#[tokio::test]
async fn verify_refuses_checkpoints_of_another_key_and_events_outside_the_ledger() {
    let l = Ledger::new().await;
    let events = append_events(l.pool(), 1, 2).await;
    l.seal().await;
    let other = SigningKey::parse(&"42".repeat(32)).unwrap();
    let report = audit::verify(l.pool(), &l.objects, &other.public())
        .await
        .unwrap();
    assert!(matches!(
        report.problems.first(),
        Some(LedgerProblem::CheckpointNotSigned { tree_size: 2, .. })
    ));
    // A sealer with another key does not seal this ledger.
    append_events(l.pool(), 3, 1).await;
    let refused = seal_pending(l.pool(), &l.objects, &other).await;
    assert!(refused.is_err());
    // An event taken out of the queue before its seal is reported.
    let hidden = append_events(l.pool(), 4, 1).await;
    tamper(
        l.pool(),
        "DELETE FROM audit_unsealed WHERE event_id = $1",
        hidden[0].id,
    )
    .await;
    l.seal().await;
    let report = l.verify().await;
    assert_eq!(
        report.problems,
        vec![LedgerProblem::OutsideLedger {
            event_id: hidden[0].id
        }]
    );
    assert_eq!(report.events, 3);
    let _ = events;
}
