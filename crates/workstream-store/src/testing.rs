//! Real PostgreSQL databases for tests.
//!
//! Each test binary starts one throwaway cluster (see [`crate::embedded`]) the first
//! time a test asks for a database, migrates a template database once, and then gives
//! every test its own database cloned from that template (`CREATE DATABASE ...
//! TEMPLATE`, a file copy inside the server, a few milliseconds). Tests therefore run in
//! parallel without seeing each other's rows, and without mocks.
//!
//! `WORKSTREAM_TEST_DATABASE_URL` points the tests at an existing server instead (its
//! user must be allowed to create databases); each test then gets a fresh database
//! migrated from scratch.
//!
//! Every test database is dropped when its [`TestDatabase`] is, so a binary of a hundred
//! tests holds a handful of databases at a time, not a hundred (each clone is a few
//! megabytes of files plus as much WAL, and CI disks are not large). The cluster dies
//! with the test process (the server gets `SIGINT` when its parent dies). Its directory
//! is swept by the next test process that starts one.

use std::path::PathBuf;
use std::sync::OnceLock;

use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::sync::OnceCell;
use url::Url;

use crate::embedded::{Durability, EmbeddedCluster};

/// Name of the migrated database every test database is cloned from.
const TEMPLATE: &str = "workstream_template";

/// Why a test database could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TestDatabaseError {
    /// The test server could not be started or reached.
    #[error("test database server: {0}")]
    Server(String),
    /// A database operation failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A fresh, fully migrated database of its own for one test, dropped (with every
/// session still on it) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    pool: PgPool,
    url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates a new database for the calling test, with a pool of 8 connections.
    pub async fn create() -> Result<Self, TestDatabaseError> {
        Self::create_with_connections(8).await
    }

    /// [`TestDatabase::create`] with a pool of `connections` (a server that also works
    /// jobs needs the pool its production process would have).
    pub async fn create_with_connections(connections: u32) -> Result<Self, TestDatabaseError> {
        let server = server()?;
        let name = format!("test_{}", uuid::Uuid::now_v7().simple());
        match server {
            Server::Embedded { admin_url } => {
                template_ready(admin_url).await?;
                let mut admin = PgConnection::connect(admin_url).await?;
                create_from_template(&mut admin, &name).await?;
            }
            Server::External { admin_url } => {
                let mut admin = PgConnection::connect(admin_url).await?;
                // Dynamic SQL: the test database's name is made at run time.
                admin
                    .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                    .await?;
            }
        }
        let url = with_database(server.admin_url(), &name)?;
        let pool = crate::connect(&url, connections).await?;
        if let Server::External { .. } = server {
            crate::migrate(&pool).await?;
        }
        Ok(TestDatabase {
            pool,
            url,
            name,
            admin_url: server.admin_url().to_owned(),
        })
    }

    /// A pool connected to this test's database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The connection URL of this test's database (for a server process under test).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = std::mem::take(&mut self.admin_url);
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread
        // with a runtime of its own drops the database (ending the pool's sessions).
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                // Dynamic SQL: the test database's name is made at run time.
                admin
                    .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
                    .await?;
                admin.close().await
            })?;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

enum Server {
    Embedded { admin_url: String },
    External { admin_url: String },
}

impl Server {
    fn admin_url(&self) -> &str {
        match self {
            Server::Embedded { admin_url } | Server::External { admin_url } => admin_url,
        }
    }
}

fn server() -> Result<&'static Server, TestDatabaseError> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            if let Ok(url) = std::env::var("WORKSTREAM_TEST_DATABASE_URL") {
                return Ok(Server::External { admin_url: url });
            }
            let root = clusters_dir().join(std::process::id().to_string());
            sweep_dead_clusters();
            // The cluster lives as long as the process: it is never dropped, and the
            // server stops when the process exits (parent-death signal).
            let cluster = Box::leak(Box::new(
                EmbeddedCluster::start(&root, Durability::Throwaway).map_err(|e| e.to_string())?,
            ));
            Ok(Server::Embedded {
                admin_url: cluster.database_url("postgres"),
            })
        })
        .as_ref()
        .map_err(|e| TestDatabaseError::Server(e.clone()))
}

fn clusters_dir() -> PathBuf {
    std::env::temp_dir().join("workstream-test-clusters")
}

/// Removes the directories of test clusters whose process has exited.
fn sweep_dead_clusters() {
    let Ok(entries) = std::fs::read_dir(clusters_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let alive = entry
            .file_name()
            .to_str()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| PathBuf::from(format!("/proc/{pid}")).exists());
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn template_ready(admin_url: &str) -> Result<(), TestDatabaseError> {
    static TEMPLATE_READY: OnceCell<Result<(), String>> = OnceCell::const_new();
    TEMPLATE_READY
        .get_or_init(|| async {
            let build = async {
                let mut admin = PgConnection::connect(admin_url).await?;
                // Dynamic SQL: CREATE DATABASE takes no parameters; the template's name is
                // an identifier.
                admin
                    .execute(format!(r#"CREATE DATABASE "{TEMPLATE}""#).as_str())
                    .await?;
                admin.close().await?;
                let mut template =
                    PgConnection::connect(&with_database(admin_url, TEMPLATE)?).await?;
                crate::MIGRATOR.run(&mut template).await?;
                crate::state_moves::sync(&mut template).await?;
                // Clones fail while anyone is connected to their template.
                template.close().await?;
                Ok::<(), TestDatabaseError>(())
            };
            build.await.map_err(|e| e.to_string())
        })
        .await
        .clone()
        .map_err(TestDatabaseError::Server)
}

async fn create_from_template(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    // Dynamic SQL: the clone's name is made at run time (CREATE DATABASE takes no
    // parameters).
    let statement = format!(r#"CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}""#);
    let mut attempts = 0;
    loop {
        match admin.execute(statement.as_str()).await {
            Ok(_) => return Ok(()),
            // "source database is being accessed by other users": two clones racing
            // for the template's lock; the other one finishes within milliseconds.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55006") => {
                attempts += 1;
                if attempts > 50 {
                    return Err(sqlx::Error::Database(e));
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> Result<String, TestDatabaseError> {
    let mut parsed = Url::parse(url)
        .map_err(|e| TestDatabaseError::Server(format!("not a database URL ({e}): {url}")))?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.to_string())
}
