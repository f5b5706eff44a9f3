//! The database enforces immutability and the key uniqueness rules itself.
//!
//! Every append-only table refuses UPDATE, DELETE and TRUNCATE with SQLSTATE `WS001`
//! (raised by `workstream_reject_mutation()`, see `migrations/0001_foundation.sql`), and
//! the constraints the API maps to client errors fire under their names: one active guide
//! per project, one active assignment per task, one submission per (task, version), one
//! final acceptance per task, at most one fulfilled receipt per award.
//!
//! Each test gets its own migrated database and builds the records it needs through the
//! same lifecycle the engine follows (guide -> task -> submission -> checker run ->
//! review -> acceptance -> contribution -> award -> receipt). A broader psql check of
//! every constraint lives in `tests/sql/schema_checks.sql`.

#[macro_use]
mod common;

use common::{History, Setup, h, id};
use sqlx::PgPool;
use uuid::Uuid;
use workstream_store::testing::TestDatabase;

/// SQLSTATE of an UPDATE/DELETE/TRUNCATE on an append-only record.
const IMMUTABLE: &str = "WS001";
/// SQLSTATE of a unique violation.
const UNIQUE_VIOLATION: &str = "23505";

/// The SQLSTATE and constraint name of a failed statement, or why there are none.
fn failure<T: std::fmt::Debug>(
    result: Result<T, sqlx::Error>,
) -> Result<(String, Option<String>), String> {
    match result {
        Ok(done) => Err(format!("statement succeeded: {done:?}")),
        Err(sqlx::Error::Database(e)) => Ok((
            e.code().map(|c| c.into_owned()).unwrap_or_default(),
            e.constraint().map(str::to_owned),
        )),
        Err(other) => Err(format!("not a database error: {other}")),
    }
}

/// Asserts that `result` failed with `code` under `constraint`.
fn assert_rejected<T: std::fmt::Debug>(
    result: Result<T, sqlx::Error>,
    code: &str,
    constraint: &str,
) {
    let (got_code, got_constraint) =
        failure(result).unwrap_or_else(|why| panic!("expected {code} {constraint}: {why}"));
    assert_eq!(
        (got_code.as_str(), got_constraint.as_deref()),
        (code, Some(constraint)),
        "expected {code} from {constraint}"
    );
}

// ------------------------------------------------------------------------------------------
// Append-only tables
// ------------------------------------------------------------------------------------------

/// One append-only table, one of its rows, and a real change to attempt on it.
struct Case {
    table: &'static str,
    key_column: &'static str,
    key: Key,
    /// `SET …` clause of the attempted UPDATE.
    change: &'static str,
}

enum Key {
    Uuid(Uuid),
    Text(String),
}

impl Case {
    fn new(table: &'static str, key: Uuid, change: &'static str) -> Case {
        Case {
            table,
            key_column: "id",
            key: Key::Uuid(key),
            change,
        }
    }

    async fn run(&self, pool: &PgPool, failures: &mut Vec<String>) {
        let (table, column, key) = (self.table, self.key_column, Some(&self.key));
        let select = format!("SELECT 1 FROM {table} WHERE {column} = $1");
        match execute(pool, &select, key)
            .await
            .map(|done| done.rows_affected())
        {
            Ok(1) => {}
            other => {
                failures.push(format!("{table}: fixture row missing ({other:?})"));
                return;
            }
        }

        let row_trigger = format!("{table}_append_only");
        let attempts = [
            (
                "UPDATE",
                format!("UPDATE {table} SET {} WHERE {column} = $1", self.change),
                key,
                Some(&row_trigger),
            ),
            (
                "DELETE",
                format!("DELETE FROM {table} WHERE {column} = $1"),
                key,
                Some(&row_trigger),
            ),
            // CASCADE so that referencing tables do not stop the statement before the trigger.
            ("TRUNCATE", format!("TRUNCATE {table} CASCADE"), None, None),
        ];
        for (operation, statement, key, expected_constraint) in attempts {
            match failure(execute(pool, &statement, key).await) {
                Ok((code, constraint))
                    if code == IMMUTABLE
                        && expected_constraint.is_none_or(|name| constraint.as_ref() == Some(name)) => {}
                Ok((code, constraint)) => failures.push(format!(
                    "{table}: {operation} failed with {code} {constraint:?}, expected {IMMUTABLE} {expected_constraint:?}"
                )),
                Err(why) => failures.push(format!("{table}: {operation} was not rejected: {why}")),
            }
        }

        match execute(pool, &select, key)
            .await
            .map(|done| done.rows_affected())
        {
            Ok(1) => {}
            other => failures.push(format!(
                "{table}: row changed or gone after the refused mutations ({other:?})"
            )),
        }
    }
}

/// Runs `statement`, binding `key` as `$1` when given.
async fn execute(
    pool: &PgPool,
    statement: &str,
    key: Option<&Key>,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    let query = sqlx::query(statement);
    let query = match key {
        Some(Key::Uuid(key)) => query.bind(*key),
        Some(Key::Text(key)) => query.bind(key.as_str()),
        None => query,
    };
    query.execute(pool).await
}

#[tokio::test]
async fn append_only_tables_refuse_update_delete_and_truncate() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let history = History::create(pool).await;
    let s = &history.setup;

    let cases = [
        Case::new("audit_events", history.audit_event, "reason = 'rewritten'"),
        Case::new(
            "reviews",
            history.review,
            "decision = 'reject', reject_reason = 'changed my mind'",
        ),
        Case::new(
            "review_findings",
            history.finding,
            "finding_kind = 'advisory'",
        ),
        Case::new(
            "submission_finding_responses",
            history.response,
            "response_text = 'edited'",
        ),
        Case::new(
            "finding_resolutions",
            history.resolution,
            "result = 'unresolved'",
        ),
        Case::new(
            "revision_context_preparations",
            history.preparation,
            "outcome = 'blocked', blocked_reason_code = 'x'",
        ),
        Case::new(
            "final_acceptances",
            history.final_acceptance,
            "accepted_at = now() - interval '1 day'",
        ),
        Case::new(
            "contribution_records",
            history.contribution,
            "artifact_hash = 'sha256:' || repeat('0', 64)",
        ),
        Case::new(
            "compensation_awards",
            history.award,
            "quantity = quantity * 2",
        ),
        Case::new(
            "compensation_fulfillment_receipts",
            history.receipt,
            "external_reference = 'other'",
        ),
        Case::new(
            "checker_results",
            history.result,
            "status = 'failed', verdict = 'failed'",
        ),
        Case {
            table: "checker_components",
            key_column: "digest",
            key: Key::Text(s.checker_digest.clone()),
            change: "description = 'patched'",
        },
        Case::new(
            "submissions",
            history.submission,
            "summary = 'edited after submission'",
        ),
        Case::new(
            "packet_files",
            history.packet_file,
            "sha256 = 'sha256:' || repeat('0', 64)",
        ),
        Case::new(
            "reputation_events",
            history.reputation_event,
            "score_delta = 100",
        ),
        Case::new(
            "contribution_rules",
            s.rules[1],
            "compensation_mode = 'compensated'",
        ),
        Case::new(
            "contribution_award_definitions",
            s.definition,
            "quantity = 5000",
        ),
        Case::new(
            "project_role_qualification_snapshots",
            s.qualification,
            "evidence = '{\"forged\": true}'",
        ),
        Case::new(
            "review_packet_manifests",
            history.packet_manifest,
            "manifest = '{}'",
        ),
    ];

    let mut failures = Vec::new();
    let mut failed_tables = 0;
    for case in &cases {
        let before = failures.len();
        case.run(pool, &mut failures).await;
        failed_tables += usize::from(failures.len() > before);
    }
    assert!(
        failures.is_empty(),
        "{failed_tables} of {} append-only tables misbehaved:\n{}",
        cases.len(),
        failures.join("\n")
    );
}

// ------------------------------------------------------------------------------------------
// Constraints the API maps to client errors
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn one_active_guide_per_project() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let s = Setup::create(pool).await;

    let second = sql!(
        pool,
        "INSERT INTO project_guides (id, project_id, version, status, activation_sequence, policy_bundle, \
                                     policy_bundle_hash, artifact_policy_hash, checker_policy_hash, review_policy_hash, \
                                     revision_policy_hash, contribution_policy_version_id, approved_by, effective_at, \
                                     created_by) \
         VALUES ($1, $2, 'v2', 'active', 2, '{}', $3, $3, $3, $3, $3, $4, $5, now(), $5)",
        id(),
        s.project,
        h('6'),
        s.policy_version,
        s.pm,
    );
    assert_rejected(
        second,
        UNIQUE_VIOLATION,
        "project_guides_one_active_per_project",
    );

    // The legal path: supersede v1, then activate v2 with the next sequence.
    let v2 = id();
    sql!(
        pool,
        "INSERT INTO project_guides (id, project_id, version, created_by) VALUES ($1, $2, 'v2', $3)",
        v2,
        s.project,
        s.pm,
    )
    .unwrap();
    sql!(
        pool,
        "UPDATE project_guides SET status = 'superseded', superseded_at = now() WHERE id = $1",
        s.guide
    )
    .unwrap();
    sql!(
        pool,
        "UPDATE project_guides SET status = 'active', activation_sequence = 2, policy_bundle = '{}', \
                policy_bundle_hash = $2, artifact_policy_hash = $2, checker_policy_hash = $2, \
                review_policy_hash = $2, revision_policy_hash = $2, contribution_policy_version_id = $3, \
                approved_by = $4, effective_at = now() \
         WHERE id = $1",
        v2,
        h('6'),
        s.policy_version,
        s.pm,
    )
    .unwrap();

    // Neither the superseded nor the active guide can be edited any more (R6).
    for guide in [s.guide, v2] {
        let edit = sql!(
            pool,
            "UPDATE project_guides SET content_markdown = 'edited' WHERE id = $1",
            guide
        );
        assert_rejected(edit, IMMUTABLE, "project_guides_freeze");
    }
}

#[tokio::test]
async fn one_active_assignment_per_task() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let s = Setup::create(pool).await;
    let (task, _) = s.start_task(pool).await;

    let second = sql!(
        pool,
        "INSERT INTO task_assignments (id, task_id, contributor_id, assigned_by, \
                                       submitter_contribution_policy_version_id) \
         VALUES ($1, $2, $3, $4, $5)",
        id(),
        task,
        s.reviewer,
        s.pm,
        s.policy_version,
    );
    assert_rejected(second, UNIQUE_VIOLATION, "tasks_one_active_assignment");
}

#[tokio::test]
async fn one_submission_per_task_version() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let s = Setup::create(pool).await;
    let (task, _) = s.start_task(pool).await;

    s.submit(pool, task, 1, None).await.unwrap();
    let again = s.submit(pool, task, 1, None).await;
    assert_rejected(again, UNIQUE_VIOLATION, "submissions_task_version_key");
}

#[tokio::test]
async fn one_final_acceptance_per_task() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let history = History::create(pool).await;

    let second = sql!(
        pool,
        "INSERT INTO final_acceptances (id, project_id, task_id, submission_id, source_review_id, \
                                        accepted_submitter_id, recorded_by, review_policy_hash) \
         SELECT $1, project_id, task_id, submission_id, source_review_id, accepted_submitter_id, recorded_by, \
                review_policy_hash \
         FROM final_acceptances WHERE id = $2",
        id(),
        history.final_acceptance,
    );
    assert_rejected(second, UNIQUE_VIOLATION, "final_acceptances_task_key");

    let (count,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM final_acceptances WHERE task_id = $1")
            .bind(history.task)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn at_most_one_fulfilled_receipt_per_award() {
    let db = TestDatabase::create().await.unwrap();
    let pool = db.pool();
    let history = History::create(pool).await;
    let s = &history.setup;

    // A second fulfilment with a new event id is a double payment (R42, AS44).
    let second = sql!(
        pool,
        "INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id, \
                                                        external_event_id, reported_status, external_reference, \
                                                        fulfilled_quantity, fulfilled_at, reported_at) \
         VALUES ($1, $2, $3, $4, 'evt-3', 'fulfilled', 'payout-43', $5::numeric, now(), now())",
        id(),
        history.award,
        s.project,
        s.binding,
        "50.00",
    );
    assert_rejected(
        second,
        UNIQUE_VIOLATION,
        "compensation_fulfillment_receipts_one_fulfilled_per_award",
    );

    // A failure reported after the fulfilment is refused as well: fulfilled is terminal.
    let late_failure = sql!(
        pool,
        "INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, adapter_binding_id, \
                                                        external_event_id, reported_status, failure_code, reported_at) \
         VALUES ($1, $2, $3, $4, 'evt-4', 'failed', 'PROVIDER_TIMEOUT', now())",
        id(),
        history.award,
        s.project,
        s.binding,
    );
    assert_rejected(
        late_failure,
        "23514",
        "compensation_fulfillment_receipts_award_fulfilled",
    );

    let (fulfilled,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM compensation_fulfillment_receipts \
         WHERE compensation_award_id = $1 AND reported_status = 'fulfilled'",
    )
    .bind(history.award)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(fulfilled, 1);
}
