//! `workstream`: the one binary of Workstream.
//!
//! * `up`: the whole system on one machine. Without `WORKSTREAM_DATABASE_URL` it starts
//!   the embedded PostgreSQL cluster under `WORKSTREAM_DATA_DIR` (default
//!   `./.workstream`), migrates it and serves; Ctrl-C drains HTTP and stops the cluster.
//!   `WORKSTREAM_ENVIRONMENT` defaults to `local` here.
//! * `serve`: the API against `WORKSTREAM_DATABASE_URL`, whose schema must be current;
//!   `WORKSTREAM_ENVIRONMENT` defaults to `production`.
//! * `migrate`: applies pending migrations to `WORKSTREAM_DATABASE_URL`.
//! * `audit verify`: recomputes the audit hash chains and names the first broken link.
//! * `admin bootstrap`: makes the first access administrator.
//! * `token`: mints a local HS256 token (development and tests).
//! * `checker test|inspect|register|list`: the checker author's toolkit (see `checker.rs`).

mod admin;
mod audit;
mod checker;
mod database;
mod serve;
mod token;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use workstream_api::config::Environment;

#[derive(Debug, Parser)]
#[command(
    name = "workstream",
    version,
    about = "Workstream: measure, certify and coordinate human-agent work"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the database is: an explicit server, or the embedded cluster.
#[derive(Debug, clap::Args)]
struct DatabaseArgs {
    /// PostgreSQL URL; without it the embedded cluster under the data directory is used.
    #[arg(long, env = "WORKSTREAM_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Directory for the embedded cluster and other local state.
    #[arg(long, env = "WORKSTREAM_DATA_DIR", default_value = ".workstream")]
    data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start everything: the embedded database (unless a URL is given), migrations, the server.
    Up {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Address to serve HTTP on.
        #[arg(long, env = "WORKSTREAM_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
    },
    /// Serve the API against an existing, migrated database.
    Serve {
        /// PostgreSQL URL.
        #[arg(long, env = "WORKSTREAM_DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// Address to serve HTTP on.
        #[arg(long, env = "WORKSTREAM_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
    },
    /// Apply pending schema migrations.
    Migrate {
        /// PostgreSQL URL.
        #[arg(long, env = "WORKSTREAM_DATABASE_URL", hide_env_values = true)]
        database_url: String,
    },
    /// Inspect the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Administer authority from the machine that runs the database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print a local HS256 token (needs WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET).
    Token(token::TokenArgs),
    /// Test, inspect and register checker components.
    Checker {
        #[command(subcommand)]
        command: checker::CheckerCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create the first access administrator (refused once one exists).
    Bootstrap {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The token issuer of the administrator's identity.
        #[arg(long)]
        issuer: String,
        /// The token subject of the administrator's identity.
        #[arg(long)]
        subject: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chains; exit status 1 names the first broken link.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Verify only this chain (`system` or `project:<uuid>`).
        #[arg(long)]
        chain: Option<String>,
    },
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up { database, bind } => {
            let database = database::Database::open(&database, true).await?;
            serve::serve(database, bind, Environment::Local).await?;
        }
        Command::Serve { database_url, bind } => {
            let database = database::Database::external(&database_url, false).await?;
            serve::serve(database, bind, Environment::Production).await?;
        }
        Command::Migrate { database_url } => {
            let database = database::Database::external(&database_url, true).await?;
            println!("migrations applied: the schema is current");
            database.close().await?;
        }
        Command::Admin {
            command:
                AdminCommand::Bootstrap {
                    database,
                    issuer,
                    subject,
                },
        } => admin::bootstrap(&database, &issuer, &subject).await?,
        Command::Token(args) => token::run(args)?,
        Command::Checker { command } => return Ok(checker::run(command).await),
        Command::Audit {
            command: AuditCommand::Verify { database, chain },
        } => {
            let database = database::Database::open(&database, false).await?;
            let intact = audit::verify(&database, chain.as_deref()).await;
            database.close().await?;
            return Ok(if intact? {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("WORKSTREAM_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
