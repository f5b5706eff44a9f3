//! The benchmark's PostgreSQL: one durable embedded cluster (the kind `workstream up`
//! runs: `fsync`, synchronous commit and full-page writes on) under
//! `<target>/bench-cluster`, made afresh each run. Workstream and every peer get
//! databases of their own on it, so each comparison shares one server, one disk and
//! one commit path.

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

    /// A PostgreSQL client program of the server's version (`pgbench`).
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}
