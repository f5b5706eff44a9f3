//! PostgreSQL access for Workstream.
//!
//! Every durable fact of Workstream lives in PostgreSQL. This crate holds the
//! infrastructure every command stands on (the cluster, the schema, the job queue, the
//! audit ledger, the object store, idempotency records and rate counters) and the rows
//! the task commands share; the SQL of a concept sits beside the engine command that
//! owns it, and the API and the CLI speak none. Its parts:
//!
//! * [`embedded`]: starts a private PostgreSQL cluster from the server binaries already
//!   installed on the machine. It is the default database of `workstream up` and the
//!   database of the test suite.
//! * [`MIGRATOR`]: the schema, as plain numbered SQL files under `migrations/`, embedded
//!   in the binary. Business rules that must never be broken (one active guide per
//!   project, one active assignment per task, append-only records, ...) are constraints
//!   and triggers there, not only checks in Rust.
//! * [`audit`]: the audit ledger: events appended without waiting for each other,
//!   sealed in batches into a Merkle tree whose checkpoints are signed with a key the
//!   database never sees and published to the object store; inclusion proofs for a
//!   task's trail, and the verification that names the first event a database writer
//!   removed or changed.
//! * [`checkers`]: the registry of checker components, identified by the digest of
//!   their bytes.
//! * [`jobs`]: the durable job queue: jobs enqueued in the transaction that needs
//!   them, claimed under a fenced lease (`FOR UPDATE SKIP LOCKED`), retried with
//!   backoff, dead-lettered, and woken by `NOTIFY`. Its state machine is drawn there.
//! * [`objects`]: packet bytes outside PostgreSQL: a content-addressed, write-once
//!   object store (local directory by default, S3 by URL) that streams and verifies
//!   every byte it stores or hands back.
//! * [`idempotency`]: the stored answers that make a retried mutation answer what
//!   the first one did; [`rate_control`]: the shared fixed-window request counters
//!   behind the API's rate limits.
//! * [`tasks`]: task and assignment rows, the locks they carry, and the authority and
//!   contribution-policy facts the task commands judge.
//! * [`state_moves`]: every state machine's moves, written by the migrator from the
//!   domain's transition tables into the one table the row guards ask, so the database
//!   enforces the domain's copy and no other.
//! * [`migration_history`]: the one allowance for released migrations, a comment-only
//!   rewrite whose recorded checksums move with it.
//! * [`testing`]: one throwaway cluster per test binary and one fresh, migrated
//!   database per test, so tests run in parallel against the real thing.
//!
//! The domain rules themselves (which transition is allowed, what a digest is) live in
//! `workstream-domain`; this crate stores their outcomes.
#![deny(missing_docs)]

pub mod actors;
pub mod audit;
pub mod checkers;
pub mod embedded;
pub mod grants;
pub mod idempotency;
pub mod jobs;
pub mod migration_history;
pub mod objects;
pub mod rate_control;
pub mod state_moves;
pub mod tasks;
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

/// The schema migrations under `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// Opens a connection pool to `url` (a `postgres://` URL).
///
/// Every connection works in UTC, so timestamps read back exactly as they were hashed.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.options([("timezone", "UTC")]);
    connect_with(options, max_connections).await
}

/// A pooled connection idle for longer than this is pinged before it is handed out.
///
/// The pool's default pings every connection on every acquire: one more round trip
/// for each request, transaction and job, about a tenth of a read's statements. A
/// connection used a moment ago has just shown it works; one that sat idle may have
/// lost its server (a restart, an idle timeout) and is checked first. A connection that
/// breaks between its last use and the next still fails that use, as it could between
/// a ping and the next statement: callers already answer such errors (503, a retried
/// job).
pub const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// Opens a connection pool with explicit options.
pub async fn connect_with(
    options: PgConnectOptions,
    max_connections: u32,
) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
}

/// Whether the database answers: one round trip (`SELECT 1`), the readiness probe.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT 1 AS "one!""#)
        .fetch_one(pool)
        .await
        .map(|_| ())
}

/// The versions of the migrations applied to the database, ascending (none on a
/// database never migrated).
pub async fn applied_migrations(pool: &PgPool) -> Vec<i64> {
    // Dynamic SQL: `_sqlx_migrations` is the migrator's own table, which the schema the
    // macros are checked against does not hold.
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap_or_default()
}

/// Applies every pending migration, after moving the checksums of released migrations
/// whose comments (only) were rewritten ([`migration_history`]), then writes the
/// domain's state machines into the table the row guards ask ([`state_moves`]).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    migration_history::rebase_comment_edits(pool).await?;
    MIGRATOR.run(pool).await?;
    let mut conn = pool.acquire().await?;
    state_moves::sync(&mut conn).await?;
    Ok(())
}

#[cfg(test)]
mod sql_home {
    //! Where SQL may be written: here (the infrastructure and the shared task rows) and
    //! in the engine, beside the command that owns each concept. The crates above the
    //! engine (the API, the UI, the CLI) call functions and speak none.

    use std::path::Path;

    fn rust_files(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    #[test]
    fn the_api_the_ui_and_the_cli_hold_no_sql() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for name in ["workstream-api", "workstream-ui", "workstream-cli"] {
            rust_files(&crates.join(name).join("src"), &mut files);
        }
        assert!(files.len() > 50, "{} files", files.len());
        let found = statements_in(&files);
        assert!(
            found.is_empty(),
            "SQL above the engine:\n{}",
            found.join("\n")
        );
    }

    /// What a statement looks like: the functions (`sqlx::query(`, `query_as::<...>(`),
    /// the compile-time checked macros (`sqlx::query!(`, `query_as!(`, ...) and the
    /// builder.
    const STATEMENTS: &[&str] = &[
        "sqlx::query",
        "query_as(",
        "query_scalar(",
        "query_as::<",
        "query_scalar::<",
        "query!(",
        "query_as!(",
        "query_scalar!(",
        "query_file",
        "sqlx::raw_sql",
        "QueryBuilder",
    ];

    fn statements_in(files: &[(String, String)]) -> Vec<String> {
        files
            .iter()
            .flat_map(|(path, text)| {
                text.lines()
                    .enumerate()
                    .filter(|(_, line)| STATEMENTS.iter().any(|s| line.contains(s)))
                    .map(move |(n, line)| format!("{path}:{}: {}", n + 1, line.trim()))
            })
            .collect()
    }

    /// No state is spelt in the SQL of the store or the engine: each is bound from the
    /// domain's enums (`TaskState::Ready.as_str()`), or, where a partial index needs the
    /// literal at plan time, read through the view of those rows that
    /// migrations/0016_live_rows.sql defines. The views' own literals are tokens of the
    /// domain's enums, so a renamed or misspelt state fails here rather than silently
    /// matching no row.
    #[test]
    fn states_are_written_only_in_the_domain_and_the_migrations() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for name in ["workstream-store", "workstream-engine"] {
            rust_files(&crates.join(name).join("src"), &mut files);
        }
        let spelt: Vec<String> = files
            .iter()
            .filter(|(path, _)| !path.ends_with("workstream-store/src/lib.rs"))
            .flat_map(|(path, text)| {
                text.lines()
                    .enumerate()
                    .filter(|(_, line)| !line.trim_start().starts_with("//"))
                    .flat_map(move |(n, line)| {
                        state_literals(line)
                            .into_iter()
                            .map(move |literal| format!("{path}:{}: '{literal}'", n + 1))
                    })
            })
            .collect();
        assert!(
            spelt.is_empty(),
            "states spelt in SQL (bind the domain's token, or read a view of \
             migrations/0016_live_rows.sql):\n{}",
            spelt.join("\n")
        );

        let views = std::fs::read_to_string(crates.join("../migrations/0016_live_rows.sql"))
            .expect("migrations/0016_live_rows.sql");
        let states = domain_states();
        let mut written = 0;
        let mut unknown = Vec::new();
        for (n, line) in views.lines().enumerate() {
            if line.trim_start().starts_with("--") {
                continue;
            }
            let literals = state_literals(line);
            if literals.is_empty() {
                continue;
            }
            let table = line
                .split_once("FROM ")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or_default();
            let Some((_, known)) = states.iter().find(|(name, _)| *name == table) else {
                unknown.push(format!(
                    "0016_live_rows.sql:{}: no domain enum for {table}",
                    n + 1
                ));
                continue;
            };
            for literal in literals {
                written += 1;
                if !known.contains(&literal.as_str()) {
                    unknown.push(format!("0016_live_rows.sql:{}: {table} '{literal}'", n + 1));
                }
            }
        }
        // The scan must see the views' states: ten views, twelve states.
        assert!(written >= 12, "only {written} state literals seen");
        assert!(
            unknown.is_empty(),
            "states the domain does not have:\n{}",
            unknown.join("\n")
        );
    }

    /// The state tokens of each table the views filter, from the domain's enum for it.
    fn domain_states() -> Vec<(&'static str, Vec<&'static str>)> {
        use workstream_domain::lifecycle::ResolutionResult;
        use workstream_domain::machines::{
            assignment::AssignmentStatus, authority::*, job::JobState, project::GuideStatus,
            review_queue::*,
        };
        use workstream_domain::token::Token;

        fn tokens<T: Token>() -> Vec<&'static str> {
            T::ALL.iter().map(|t| t.token()).collect()
        }
        vec![
            ("jobs", tokens::<JobState>()),
            ("task_assignments", tokens::<AssignmentStatus>()),
            ("project_guides", tokens::<GuideStatus>()),
            ("actor_identity_links", tokens::<LinkStatus>()),
            ("admin_role_grants", tokens::<GrantStatus>()),
            ("project_role_grants", tokens::<GrantStatus>()),
            ("review_queue_entries", tokens::<QueueEntryState>()),
            ("review_leases", tokens::<ReviewLeaseDisposition>()),
            ("finding_resolutions", tokens::<ResolutionResult>()),
        ]
    }

    #[test]
    fn state_literals_reads_comparisons() {
        let line = "WHERE l.state IN ('available', 'retryable') AND x.status = 'ready' \
                    AND disposition <> 'active' AND result_code = 'no' AND status = $2";
        assert_eq!(
            state_literals(line),
            ["ready", "available", "retryable", "active"]
        );
    }

    /// The quoted words compared with a state column on `line`: `status = 'x'`,
    /// `l.state <> 'x'`, `disposition IN ('x', 'y')`, `result IN (...)`.
    fn state_literals(line: &str) -> Vec<String> {
        let mut found = Vec::new();
        for column in ["status", "state", "disposition", "result"] {
            let mut rest = line;
            while let Some(at) = rest.find(column) {
                let before = rest[..at].chars().next_back();
                rest = &rest[at + column.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let tail = rest.trim_start();
                let Some(tail) = ["=", "<>", "!=", "IN"]
                    .iter()
                    .find_map(|op| tail.strip_prefix(op))
                else {
                    continue;
                };
                let mut tail = tail.trim_start();
                let listed = tail.starts_with('(');
                if listed {
                    tail = &tail[1..];
                }
                while let Some(quoted) = tail.trim_start().strip_prefix('\'') {
                    let Some(end) = quoted.find('\'') else { break };
                    found.push(quoted[..end].to_owned());
                    tail = quoted[end + 1..].trim_start();
                    match tail.strip_prefix(',') {
                        Some(more) if listed => tail = more,
                        _ => break,
                    }
                }
            }
        }
        found
    }

    /// The homes of SQL write it as checked macros, and the scan above sees those: a
    /// pattern list that missed them would let the test pass on anything.
    #[test]
    fn the_scan_sees_the_checked_macros_in_their_homes() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for name in ["workstream-store", "workstream-engine"] {
            let mut files = Vec::new();
            rust_files(&crates.join(name).join("src"), &mut files);
            let found = statements_in(&files);
            for form in ["sqlx::query!(", "sqlx::query_as!(", "sqlx::query_scalar!("] {
                assert!(
                    found.iter().any(|line| line.contains(form)),
                    "{name} writes no {form}"
                );
            }
        }
    }
}
