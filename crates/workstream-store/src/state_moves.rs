//! The state machines as the database enforces them.
//!
//! Every status column that has a state machine is guarded by a trigger that asks one
//! table, `workstream_state_moves`, whether `(from, to)` is a move of its machine
//! (`workstream_check_move`, `migrations/0015_state_moves.sql`), and refuses any other
//! change with `WS002`. [`sync`] fills that table from the domain's transition tables
//! each time [`crate::migrate`] runs, so the tables in `workstream-domain` (the task
//! lifecycle's `TRANSITIONS` and the smaller machines' `MOVES`) are the only copy: a
//! move added or removed there is what the database enforces once the new binary has
//! migrated it. [`MACHINES`] maps each machine to the column it governs; the store's
//! `tests/state_moves.rs` drives every pair of states of every machine through the
//! real triggers.

use sqlx::PgConnection;
use workstream_domain::StateMachine;
use workstream_domain::lifecycle::{TRANSITIONS, TaskState};
use workstream_domain::machines::admission::AdmissionState;
use workstream_domain::machines::assignment::AssignmentStatus;
use workstream_domain::machines::calibration::CalibrationOfferState;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};
use workstream_domain::machines::compensation::AdapterBindingStatus;
use workstream_domain::machines::contribution_policy::{
    ContributionPolicyStatus, ContributionPolicyVersionStatus,
};
use workstream_domain::machines::lesson::LessonStatus;
use workstream_domain::machines::preview::PreviewStatus;
use workstream_domain::machines::project::{GuideStatus, ProjectStatus};
use workstream_domain::machines::review_queue::{
    QueueEntryState, QueueRouting, ReviewLeaseDisposition,
};
use workstream_domain::token::Token;

/// One state machine and the column whose changes its trigger checks.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// The machine's token kind, the key of its moves (`task_state`, `lesson_status`...).
    pub kind: &'static str,
    /// The guarded table.
    pub table: &'static str,
    /// The status column of that table.
    pub column: &'static str,
    /// Every state, in the domain's declaration order.
    pub states: fn() -> Vec<&'static str>,
    /// Every permitted `(from, to)` move.
    pub moves: fn() -> Vec<(&'static str, &'static str)>,
}

impl Machine {
    /// Whether `from -> to` is one of the machine's moves.
    pub fn allows(&self, from: &str, to: &str) -> bool {
        (self.moves)().iter().any(|&(f, t)| f == from && t == to)
    }
}

/// Every machine the triggers enforce, with the column it governs.
///
/// The payment machines (`delivery_status`, `fulfillment_status`) are absent on
/// purpose: their column is a projection rebuilt from append-only facts, which
/// reconciliation may repair in any direction (`migrations/0015_state_moves.sql`).
pub const MACHINES: &[Machine] = &[
    Machine {
        kind: TaskState::KIND,
        table: "tasks",
        column: "status",
        states: tokens::<TaskState>,
        moves: task_moves,
    },
    smaller::<ProjectStatus>("projects", "status"),
    smaller::<GuideStatus>("project_guides", "status"),
    smaller::<ContributionPolicyStatus>("contribution_policies", "status"),
    smaller::<ContributionPolicyVersionStatus>("contribution_policy_versions", "status"),
    smaller::<AdapterBindingStatus>("project_compensation_adapter_bindings", "status"),
    smaller::<AssignmentStatus>("task_assignments", "status"),
    smaller::<AdmissionState>("submission_bundle_admissions", "state"),
    smaller::<CheckerRunStatus>("checker_runs", "status"),
    smaller::<RoutingRecommendation>("checker_runs", "routing_recommendation"),
    smaller::<QueueEntryState>("review_queue_entries", "state"),
    smaller::<QueueRouting>("review_queue_entries", "routing"),
    smaller::<ReviewLeaseDisposition>("review_leases", "disposition"),
    smaller::<LessonStatus>("project_lessons", "status"),
    smaller::<PreviewStatus>("policy_previews", "status"),
    smaller::<CalibrationOfferState>("calibration_offers", "state"),
];

/// A smaller machine of `workstream_domain::machines`, guarding `table.column`.
const fn smaller<M: StateMachine>(table: &'static str, column: &'static str) -> Machine {
    Machine {
        kind: M::KIND,
        table,
        column,
        states: tokens::<M>,
        moves: machine_moves::<M>,
    }
}

fn tokens<M: Token>() -> Vec<&'static str> {
    M::ALL.iter().map(|s| s.token()).collect()
}

fn machine_moves<M: StateMachine>() -> Vec<(&'static str, &'static str)> {
    M::MOVES
        .iter()
        .map(|&(f, t)| (f.token(), t.token()))
        .collect()
}

/// The task lifecycle's edges (T1-T17) as state pairs: a transition with several
/// sources is one move from each.
fn task_moves() -> Vec<(&'static str, &'static str)> {
    let mut moves: Vec<_> = TRANSITIONS
        .iter()
        .flat_map(|t| t.from.iter().map(|from| (from.as_str(), t.to.as_str())))
        .collect();
    moves.sort_unstable();
    moves.dedup();
    moves
}

/// Every move of every machine as `(machine, from, to)` columns.
fn rows() -> (Vec<&'static str>, Vec<&'static str>, Vec<&'static str>) {
    let mut rows = (Vec::new(), Vec::new(), Vec::new());
    for machine in MACHINES {
        for (from, to) in (machine.moves)() {
            rows.0.push(machine.kind);
            rows.1.push(from);
            rows.2.push(to);
        }
    }
    rows
}

/// Makes `workstream_state_moves` hold exactly the domain's moves, in one transaction:
/// what is listed and missing is added, what is stored and no longer listed is removed.
/// Running it again (or from two processes at once) changes nothing.
pub async fn sync(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let (machines, froms, tos) = rows();
    sqlx::query!(
        "WITH listed AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
                          AS l(machine, from_state, to_state)), \
              removed AS (DELETE FROM workstream_state_moves m WHERE NOT EXISTS \
                          (SELECT 1 FROM listed l WHERE (l.machine, l.from_state, l.to_state) \
                                                      = (m.machine, m.from_state, m.to_state))) \
         INSERT INTO workstream_state_moves (machine, from_state, to_state) \
         SELECT machine, from_state, to_state FROM listed ON CONFLICT DO NOTHING",
        &machines as &[&str],
        &froms as &[&str],
        &tos as &[&str],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the database enforces exactly the domain's moves (false when this binary's
/// tables differ from those its database was last migrated with).
pub async fn is_current(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let (machines, froms, tos) = rows();
    sqlx::query_scalar!(
        r#"WITH listed AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                          AS l(machine, from_state, to_state))
         SELECT NOT EXISTS (SELECT * FROM listed EXCEPT SELECT * FROM workstream_state_moves)
            AND NOT EXISTS (SELECT * FROM workstream_state_moves EXCEPT SELECT * FROM listed)
            AS "current!""#,
        &machines as &[&str],
        &froms as &[&str],
        &tos as &[&str],
    )
    .fetch_one(conn)
    .await
}
