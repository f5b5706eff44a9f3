//! Opening the database a command works on: a given URL, or the embedded cluster.

use anyhow::Context;
use sqlx::PgPool;
use workstream_store::embedded::{Durability, EmbeddedCluster};

use crate::DatabaseArgs;

/// The database name inside the embedded cluster.
const EMBEDDED_DATABASE: &str = "workstream";

/// Pool size for a command's own work (HTTP requests included); job slots add theirs
/// (`crate::worker::connections_for`).
pub const BASE_CONNECTIONS: u32 = workstream_api::HTTP_CONNECTIONS;

/// An open database, and the embedded cluster behind it if this process started one.
pub struct Database {
    pub pool: PgPool,
    pub description: String,
    cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// The URL if one is given, otherwise the embedded cluster (started, created and
    /// migrated as needed).
    pub async fn open(args: &DatabaseArgs, migrate: bool) -> anyhow::Result<Self> {
        Self::open_sized(args, migrate, BASE_CONNECTIONS).await
    }

    /// [`Database::open`] with a pool of `connections`.
    pub async fn open_sized(
        args: &DatabaseArgs,
        migrate: bool,
        connections: u32,
    ) -> anyhow::Result<Self> {
        if let Some(url) = &args.database_url {
            return Self::external_sized(url, migrate, connections).await;
        }
        let root = args.data_dir.join("postgres");
        let cluster = {
            let root = root.clone();
            tokio::task::spawn_blocking(move || EmbeddedCluster::start(&root, Durability::Durable))
                .await?
                .context("starting the embedded PostgreSQL cluster")?
        };
        let pool = cluster
            .open_database(EMBEDDED_DATABASE, connections)
            .await?;
        // The embedded cluster is ours: keep its schema current without a separate step.
        workstream_store::migrate(&pool)
            .await
            .context("migrating the embedded database")?;
        Ok(Database {
            pool,
            description: format!(
                "embedded PostgreSQL under {} (port {})",
                cluster.root().display(),
                cluster.port()
            ),
            cluster: Some(cluster),
        })
    }

    /// A database at `url`; migrated if asked, otherwise refused unless already current.
    pub async fn external(url: &str, migrate: bool) -> anyhow::Result<Self> {
        Self::external_sized(url, migrate, BASE_CONNECTIONS).await
    }

    /// [`Database::external`] with a pool of `connections`.
    pub async fn external_sized(
        url: &str,
        migrate: bool,
        connections: u32,
    ) -> anyhow::Result<Self> {
        let pool = workstream_store::connect(url, connections)
            .await
            .context("connecting to WORKSTREAM_DATABASE_URL")?;
        if migrate {
            workstream_store::migrate(&pool)
                .await
                .context("applying migrations")?;
        } else {
            ensure_current(&pool).await?;
        }
        Ok(Database {
            pool,
            description: "PostgreSQL at WORKSTREAM_DATABASE_URL".to_owned(),
            cluster: None,
        })
    }

    /// Closes the pool, then stops the embedded cluster if there is one.
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(mut cluster) = self.cluster {
            tokio::task::spawn_blocking(move || cluster.stop())
                .await?
                .context("stopping the embedded PostgreSQL cluster")?;
        }
        Ok(())
    }
}

/// Refuses to serve a database whose schema is behind this binary.
async fn ensure_current(pool: &PgPool) -> anyhow::Result<()> {
    let applied = workstream_store::applied_migrations(pool).await;
    let pending: Vec<String> = workstream_store::MIGRATOR
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect();
    anyhow::ensure!(
        pending.is_empty(),
        "the database schema is behind this binary (pending: {}); run `workstream migrate`",
        pending.join(", ")
    );
    let mut conn = pool.acquire().await?;
    anyhow::ensure!(
        workstream_store::state_moves::is_current(&mut conn).await?,
        "the database enforces other state machines than this binary's; run `workstream migrate`"
    );
    Ok(())
}
