//! The benchmark's PostgreSQL: one durable embedded cluster (the kind `workstream up`
//! runs: `fsync`, synchronous commit and full-page writes on) under
//! `<target>/bench-cluster`, made afresh each run. Workstream and every peer get
//! databases of their own on it, so each comparison shares one server, one disk and
//! one commit path.
//!
//! The cluster loads `pg_stat_statements` and `auto_explain` (the only settings it adds
//! to the kind `up` runs: the first costs next to nothing per statement, the second
//! nothing until the history part turns it on), so the lifecycle part can report the
//! statements, commits and rows each evaluation and transition costs ([`Workload`]),
//! and the history part the plans of what it measures.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection};
use workstream_store::embedded::{Durability, EmbeddedCluster, find_server_binaries};

/// The running cluster.
pub struct BenchCluster {
    cluster: EmbeddedCluster,
    bin_dir: PathBuf,
}

impl BenchCluster {
    /// Starts a fresh cluster and points the e2e fixtures (`TestServer`, which makes a
    /// migrated database per server) at it. Call it before any thread is started.
    #[allow(unsafe_code)]
    pub fn start(target: &Path) -> anyhow::Result<BenchCluster> {
        let root = target.join("bench-cluster");
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .with_context(|| format!("removing the last run's {}", root.display()))?;
        }
        println!(
            "== starting a durable embedded PostgreSQL under {}",
            root.display()
        );
        let mut cluster = EmbeddedCluster::start(&root, Durability::Durable)?;
        // Loaded at server start only: add it to the configuration and restart.
        let conf = cluster.root().join("data/postgresql.conf");
        let mut settings = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .with_context(|| format!("opening {}", conf.display()))?;
        std::io::Write::write_all(
            &mut settings,
            b"\nshared_preload_libraries = 'pg_stat_statements, auto_explain'\n",
        )?;
        cluster.stop()?;
        let cluster = EmbeddedCluster::start(&root, Durability::Durable)?;
        // SAFETY: called from `main` before the runtime or any other thread exists, so
        // nothing reads the environment concurrently.
        unsafe {
            std::env::set_var(
                "WORKSTREAM_TEST_DATABASE_URL",
                cluster.database_url("postgres"),
            )
        };
        Ok(BenchCluster {
            cluster,
            bin_dir: find_server_binaries()?,
        })
    }

    /// Creates database `name` and returns its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let mut admin = PgConnection::connect(&self.cluster.database_url("postgres")).await?;
        admin
            .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
            .await?;
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await?;
        admin.close().await?;
        Ok(self.cluster.database_url(name))
    }

    /// CPU time the cluster's processes have used so far: the postmaster with the
    /// children it has reaped, and every live child (the sessions), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let pid_file = self.cluster.root().join("data/postmaster.pid");
        let Some(postmaster) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
        else {
            return f64::NAN;
        };
        let mut total = ProcessCpu::read(postmaster).map_or(0.0, |p| p.with_reaped);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(child) = ProcessCpu::read(pid).filter(|p| p.parent == postmaster) {
                total += child.own;
            }
        }
        total
    }

    /// The server's log (where `auto_explain` writes the plans the history part reads).
    pub fn log(&self) -> PathBuf {
        self.cluster.root().join("postgres.log")
    }

    /// A PostgreSQL client program of the server's version (`pgbench`).
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

/// Marks the bench's own queries (status polls, the ledger reads), which
/// [`Workload`] leaves out of what the product cost.
pub const BENCH_QUERY: &str = "/* bench */";

/// What a stretch of work cost the database: statements (every one a client round
/// trip, `BEGIN` and `COMMIT` included), commits, rows written (by statements and
/// triggers alike) and WAL, from `pg_stat_statements`, `pg_stat_database` and
/// `pg_stat_wal`. The bench's own queries (marked [`BENCH_QUERY`]) are left out.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Workload {
    /// Statements executed (top level).
    pub statements: f64,
    /// Transactions committed.
    pub commits: f64,
    /// Rows inserted, updated or deleted.
    pub rows_written: f64,
    /// WAL written, in bytes.
    pub wal_bytes: f64,
}

impl Workload {
    /// Starts counting on `pool`'s database: resets `pg_stat_statements` and reads the
    /// database's counters.
    pub async fn start(pool: &sqlx::PgPool) -> anyhow::Result<WorkloadMark> {
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .execute(pool)
            .await?;
        let counters = counters(pool).await?;
        sqlx::query("SELECT pg_stat_statements_reset()")
            .execute(pool)
            .await?;
        Ok(WorkloadMark { counters })
    }

    /// Each figure divided by `by`.
    pub fn per(self, by: f64) -> Workload {
        Workload {
            statements: self.statements / by,
            commits: self.commits / by,
            rows_written: self.rows_written / by,
            wal_bytes: self.wal_bytes / by,
        }
    }
}

/// Where [`Workload::start`] began.
pub struct WorkloadMark {
    counters: Counters,
}

/// One of the product's statements in a profile.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Statement {
    /// Times executed.
    pub calls: i64,
    /// Rows returned or affected.
    pub rows: i64,
    /// Mean execution time in the server, ms.
    pub mean_ms: f64,
    /// Total execution time in the server, ms.
    pub total_ms: f64,
    /// Its text (normalized, shortened).
    pub query: String,
}

impl WorkloadMark {
    /// What the product did on `pool`'s database since the mark, and its statements,
    /// the most time-consuming first (a profile).
    pub async fn finish(self, pool: &sqlx::PgPool) -> anyhow::Result<(Workload, Vec<Statement>)> {
        let statements: Vec<Statement> = sqlx::query_as(
            "SELECT calls, rows, mean_exec_time AS mean_ms, total_exec_time AS total_ms, \
                    left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query \
               FROM pg_stat_statements \
              WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
              ORDER BY total_exec_time DESC",
        )
        .fetch_all(pool)
        .await?;
        let now = counters(pool).await?;
        let (bench, product): (Vec<Statement>, Vec<Statement>) = statements
            .into_iter()
            .partition(|s| s.query.contains(BENCH_QUERY) || s.query.contains("pg_stat"));
        // Each of the bench's queries ran alone, in a transaction of its own.
        let bench_commits: i64 = bench.iter().map(|s| s.calls).sum();
        Ok((
            Workload {
                statements: product.iter().map(|s| s.calls as f64).sum(),
                commits: now.commits - self.counters.commits - bench_commits as f64,
                rows_written: now.rows_written - self.counters.rows_written,
                wal_bytes: now.wal_bytes - self.counters.wal_bytes,
            },
            product,
        ))
    }
}

struct Counters {
    commits: f64,
    rows_written: f64,
    wal_bytes: f64,
}

/// The database's commits and rows written, and the cluster's WAL, so far. Finished
/// transactions reach `pg_stat_database` within a second, so it waits that long first.
async fn counters(pool: &sqlx::PgPool) -> anyhow::Result<Counters> {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await?;
    let (commits, rows_written, wal_bytes): (f64, f64, f64) = sqlx::query_as(
        "SELECT xact_commit::float8, (tup_inserted + tup_updated + tup_deleted)::float8, \
                (SELECT wal_bytes::float8 FROM pg_stat_wal) \
           FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Counters {
        commits,
        rows_written,
        wal_bytes,
    })
}

/// One process's CPU time from `/proc/<pid>/stat`, in seconds.
pub struct ProcessCpu {
    /// Its parent's pid.
    parent: u32,
    /// User and system time of the process itself.
    pub own: f64,
    /// `own` plus the time of the children it has reaped.
    with_reaped: f64,
}

impl ProcessCpu {
    /// Clock ticks per second of `/proc`'s times (`USER_HZ`, 100 on Linux).
    const TICKS: f64 = 100.0;

    /// The process `pid`, or `None` when it is gone (or this is not Linux).
    pub fn read(pid: u32) -> Option<ProcessCpu> {
        Self::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    fn parse(stat: &str) -> Option<ProcessCpu> {
        // The command name is in parentheses and may hold spaces: fields follow its end.
        let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
        let tick = |i: usize| fields.get(i)?.parse::<f64>().ok().map(|t| t / Self::TICKS);
        let own = tick(11)? + tick(12)?;
        Some(ProcessCpu {
            parent: fields.get(1)?.parse().ok()?,
            own,
            with_reaped: own + tick(13)? + tick(14)?,
        })
    }
}
