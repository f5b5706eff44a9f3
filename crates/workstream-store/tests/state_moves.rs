//! The database enforces the domain's state machines, and no other moves.
//!
//! For every machine of `workstream_store::state_moves::MACHINES`, on a real row of its
//! table, every ordered pair of distinct states goes through the table's real trigger:
//! the row is first put in `from` with the rules out of the way (`session_replication_role
//! = replica` skips triggers, and the table's CHECK constraints are dropped inside a
//! transaction that is rolled back), then `UPDATE ... SET column = to` runs with every
//! trigger on. A move the domain lists must not be refused as a transition (another rule
//! of the row may still object: a published version needs its rules, an active guide
//! its policy); every other pair must be refused with `WS002`, naming the pair. The
//! domain and the triggers therefore cannot disagree about any pair.

#[macro_use]
mod common;

use common::{History, id};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;
use workstream_store::state_moves::{self, MACHINES, Machine};
use workstream_store::testing::TestDatabase;

/// SQLSTATE of a refused lifecycle move (`workstream_reject_transition`).
const INVALID_TRANSITION: &str = "WS002";

/// A history with a row in every guarded table (a lesson added to the fixture's).
async fn every_guarded_row(pool: &PgPool) -> History {
    let history = History::create(pool).await;
    sql!(
        pool,
        "INSERT INTO project_lessons (id, project_id, source, lesson_type, summary, created_by) \
         VALUES ($1, $2, 'reviewer_finding', 'guide_update', 'Say where outputs go', $3)",
        id(),
        history.setup.project,
        history.setup.pm,
    )
    .unwrap();
    // A calibration offer of the accepting review (migrations/0018_review_calibration.sql).
    sql!(
        pool,
        "INSERT INTO calibration_offers (id, project_id, task_id, submission_id, sampled_review_id, \
         first_reviewer_id, review_policy_hash, sample_percent, offer_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 100, now() + interval '14 days')",
        id(),
        history.setup.project,
        history.task,
        history.submission,
        history.review,
        history.setup.reviewer,
        common::h('4'),
    )
    .unwrap();
    // A policy preview of a draft guide over the history's submission
    // (migrations/0017_policy_previews.sql).
    let (draft, preview) = (id(), id());
    sql!(
        pool,
        "INSERT INTO project_guides (id, project_id, version, content_markdown, created_by) \
         VALUES ($1, $2, 'v2-draft', '# Draft', $3)",
        draft,
        history.setup.project,
        history.setup.pm,
    )
    .unwrap();
    sql!(
        pool,
        "INSERT INTO policy_previews (id, project_id, guide_id, policy_bundle_hash, artifact_policy, \
         artifact_policy_hash, checker_policy, checker_policy_hash, submission_limit, submission_ids, \
         job_ids, requested_by) \
         VALUES ($1, $2, $3, $4, '{}', $4, '{\"checkers\": []}', $4, 200, ARRAY[$5::uuid], \
                 ARRAY[$1::uuid], $6)",
        preview,
        history.setup.project,
        draft,
        common::h('7'),
        history.submission,
        history.setup.pm,
    )
    .unwrap();
    history
}

/// What the trigger made of `from -> to`: `Ok(())` when the statement passed, else the
/// SQLSTATE and message.
type Outcome = Result<(), (String, String)>;

/// Tries every ordered pair of distinct states of `machine` on one row of its table.
async fn try_every_pair(
    conn: &mut PgConnection,
    machine: &Machine,
) -> Vec<(String, String, Outcome)> {
    let Machine { table, column, .. } = *machine;
    let mut tx = conn.begin().await.unwrap();
    let row: Uuid = sqlx::query_scalar(&format!("SELECT id FROM {table} ORDER BY id LIMIT 1"))
        .fetch_optional(&mut *tx)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("the fixture has no row in {table}"));
    let checks: Vec<String> = sqlx::query_scalar(
        "SELECT conname::text FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    for check in checks {
        sqlx::query(&format!("ALTER TABLE {table} DROP CONSTRAINT {check}"))
            .execute(&mut *tx)
            .await
            .unwrap();
    }

    let states = (machine.states)();
    let mut outcomes = Vec::new();
    for &from in &states {
        for &to in states.iter().filter(|&&to| to != from) {
            sqlx::query("SAVEPOINT pair")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query("SET LOCAL session_replication_role = replica")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query(&format!("UPDATE {table} SET {column} = $2 WHERE id = $1"))
                .bind(row)
                .bind(from)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("placing {table} in {from}: {e}"));
            sqlx::query("SET LOCAL session_replication_role = origin")
                .execute(&mut *tx)
                .await
                .unwrap();
            let outcome = sqlx::query(&format!("UPDATE {table} SET {column} = $2 WHERE id = $1"))
                .bind(row)
                .bind(to)
                .execute(&mut *tx)
                .await
                .map(drop)
                .map_err(|e| match e {
                    sqlx::Error::Database(e) => (
                        e.code().map(|c| c.into_owned()).unwrap_or_default(),
                        e.message().to_owned(),
                    ),
                    other => panic!("{table} {from} -> {to}: {other}"),
                });
            sqlx::query("ROLLBACK TO SAVEPOINT pair")
                .execute(&mut *tx)
                .await
                .unwrap();
            outcomes.push((from.to_owned(), to.to_owned(), outcome));
        }
    }
    tx.rollback().await.unwrap();
    outcomes
}

#[tokio::test]
async fn every_pair_of_every_machine_is_judged_by_the_triggers_as_the_domain_does() {
    let db = TestDatabase::create().await.unwrap();
    every_guarded_row(db.pool()).await;
    let mut conn = db.pool().acquire().await.unwrap();
    let mut wrong = Vec::new();
    let mut judged = 0;
    for machine in MACHINES {
        for (from, to, outcome) in try_every_pair(&mut conn, machine).await {
            judged += 1;
            let listed = machine.allows(&from, &to);
            let what = format!(
                "{} {}.{} {from} -> {to}",
                machine.kind, machine.table, machine.column
            );
            match (listed, outcome) {
                (true, Err((code, message))) if code == INVALID_TRANSITION => {
                    wrong.push(format!("{what}: a move of the domain, refused: {message}"))
                }
                (true, _) => {}
                (false, Err((code, message)))
                    if code == INVALID_TRANSITION
                        && message.ends_with(&format!("transition {from} -> {to} is not allowed")) => {}
                (false, Err((code, message))) => wrong.push(format!(
                    "{what}: not a move of the domain, refused with {code} instead of {INVALID_TRANSITION}: {message}"
                )),
                (false, Ok(())) => wrong.push(format!("{what}: not a move of the domain, accepted")),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {judged} pairs judged wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // Twelve task states, and every smaller machine has at least two.
    assert!(
        judged > 12 * 11 + 2 * (MACHINES.len() - 1),
        "only {judged} pairs judged"
    );
}

#[tokio::test]
async fn the_migrator_writes_the_domains_moves_and_an_empty_table_refuses_every_move() {
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    assert!(state_moves::is_current(&mut conn).await.unwrap());
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM workstream_state_moves")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let listed: usize = MACHINES.iter().map(|m| (m.moves)().len()).sum();
    assert_eq!(stored, listed as i64);

    // A move removed from the table (as by a binary whose domain lists fewer) is refused
    // at once; the next sync puts back exactly the domain's moves, and a stray one goes.
    sql!(
        &mut *conn,
        "DELETE FROM workstream_state_moves WHERE machine = 'lesson_status'"
    )
    .unwrap();
    sql!(
        &mut *conn,
        "INSERT INTO workstream_state_moves VALUES ('lesson_status', 'implemented', 'open')"
    )
    .unwrap();
    assert!(!state_moves::is_current(&mut conn).await.unwrap());
    drop(conn);
    every_guarded_row(db.pool()).await;
    let lesson: Uuid = sqlx::query_scalar("SELECT id FROM project_lessons")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let refused = sql!(
        db.pool(),
        "UPDATE project_lessons SET status = 'rejected', closed_at = now() WHERE id = $1",
        lesson
    )
    .unwrap_err();
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some(INVALID_TRANSITION)
    );

    let mut conn = db.pool().acquire().await.unwrap();
    state_moves::sync(&mut conn).await.unwrap();
    state_moves::sync(&mut conn).await.unwrap();
    assert!(state_moves::is_current(&mut conn).await.unwrap());
    sql!(
        db.pool(),
        "UPDATE project_lessons SET status = 'rejected', closed_at = now() WHERE id = $1",
        lesson
    )
    .unwrap();
}
