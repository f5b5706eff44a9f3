//! `workstream`: the one binary of Workstream.
//!
//! * `up`: the whole system on one machine. Without `WORKSTREAM_DATABASE_URL` it starts
//!   the embedded PostgreSQL cluster under `WORKSTREAM_DATA_DIR` (default
//!   `./.workstream`), migrates it and serves, working jobs in process (`--workers`,
//!   default four per core); Ctrl-C drains HTTP and jobs and stops the cluster.
//!   `WORKSTREAM_ENVIRONMENT` defaults to `local` here.
//! * `serve`: the API against `WORKSTREAM_DATABASE_URL`, whose schema must be current;
//!   `WORKSTREAM_ENVIRONMENT` defaults to `production`. No jobs are worked in process
//!   unless `--workers N` says so (production runs `workstream worker` beside it).
//! * `worker`: works jobs (`--concurrency`, default four slots per core) against the same database
//!   as `up` or `serve`, until Ctrl-C or SIGTERM, then drains; refuses a schema that is
//!   behind. Run as many as needed, on any machines. `--lease-seconds` (default 60) is
//!   how long a claimed job stays with this worker without a heartbeat, so how long a
//!   job of a killed worker waits before another worker takes it over.
//! * `migrate`: applies pending migrations to `WORKSTREAM_DATABASE_URL`.
//! * `audit verify`: checks the audit ledger against its signed checkpoints and names
//!   the first event removed or changed; `audit seal` seals what is waiting.
//! * `admin bootstrap`: makes the first access administrator.
//! * `token`: mints a local HS256 token (development and tests).
//! * `checker test|inspect|register|list|replay`: the checker author's toolkit (see
//!   `checker.rs`).
//! * `jobs list|requeue|cancel`: the operator's view of the job queue (see `jobs.rs`).
//! * `demo`: the day-30 cycle over HTTP on the example project (see `demo/`).
//! * `init`, `policy validate`, `policy preview`, `project import`: the project directory
//!   (see `project/`).
//! * `packet build|upload`: a contributor's packet (see `packet.rs`).
//!
//! In `local`, `up` needs no set-up: it makes the token secret and the first
//! administrator itself (see `local.rs`). Errors a user can act on print their stable
//! code and a one-line fix (see `fixes.rs`); long operations show progress
//! (`progress.rs`).

mod admin;
mod audit;
mod checker;
mod checker_new;
mod client;
mod database;
mod demo;
mod fixes;
mod jobs;
mod listen;
mod local;
mod packet;
mod people;
mod pipeline;
mod progress;
mod project;
mod serve;
mod telemetry;
mod token;
mod worker;

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
        /// Job slots worked in this process (0: none; run `workstream worker` instead).
        /// The default is four per core.
        #[arg(long, env = "WORKSTREAM_WORKERS", default_value_t = worker::default_concurrency())]
        workers: usize,
    },
    /// Serve the API against an existing, migrated database.
    Serve {
        /// PostgreSQL URL.
        #[arg(long, env = "WORKSTREAM_DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// Address to serve HTTP on.
        #[arg(long, env = "WORKSTREAM_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Job slots worked in this process (default none: run `workstream worker`).
        #[arg(long, env = "WORKSTREAM_WORKERS", default_value_t = 0)]
        workers: usize,
    },
    /// Work jobs from the queue until Ctrl-C or SIGTERM.
    Worker {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Jobs worked at once (default: four per core).
        #[arg(
            long,
            env = "WORKSTREAM_WORKER_CONCURRENCY",
            default_value_t = worker::default_slots(),
            value_parser = clap::value_parser!(u16).range(1..)
        )]
        concurrency: u16,
        /// This worker's name in the job records (default `hostname:pid`).
        #[arg(long, env = "WORKSTREAM_WORKER_ID")]
        worker_id: Option<String>,
        /// How long a claim or heartbeat holds a job, in seconds: a job of a worker that
        /// dies is taken over by another this long after its last heartbeat at most.
        /// Heartbeats come every third of it; an idle worker looks for work at least
        /// every 5 s (or every lease, if shorter).
        #[arg(
            long,
            env = "WORKSTREAM_WORKER_LEASE_SECONDS",
            default_value_t = 60,
            value_parser = clap::value_parser!(u32).range(1..=86_400)
        )]
        lease_seconds: u32,
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
    /// Print a local HS256 token (WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET, or the data
    /// directory's secret file).
    Token(token::TokenArgs),
    /// Test, inspect and register checker components.
    Checker {
        #[command(subcommand)]
        command: checker::CheckerCommand,
    },
    /// List, requeue and cancel queued jobs (operators).
    Jobs {
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// Drive the day-30 cycle over HTTP on the example project, with a summary.
    Demo(demo::DemoArgs),
    /// Build and upload submission packets.
    Packet {
        #[command(subcommand)]
        command: packet::PacketCommand,
    },
    /// Scaffold a project directory from the built-in templates.
    Init(project::cli::InitArgs),
    /// Check project policies, and preview them on a project's stored packets.
    Policy {
        #[command(subcommand)]
        command: project::cli::PolicyCommand,
    },
    /// Import a project directory through the API.
    Project {
        #[command(subcommand)]
        command: project::cli::ProjectCommand,
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
    /// Check the audit ledger against its signed checkpoints in the object store; exit
    /// status 1 names the first event removed or changed.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The ledger's public key (64 hex digits); by default the public half of the
        /// signing key file (`WORKSTREAM_AUDIT_SIGNING_KEY`, or `audit-signing.key` in
        /// the data directory).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Seal every event waiting and publish its checkpoint now (running servers and
    /// workers do this every half second).
    Seal {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Client commands report through their own output; the log only shows problems
    // (an embedded demo server's lifecycle would otherwise interleave with the steps).
    let client = matches!(
        cli.command,
        Command::Demo(_)
            | Command::Init(_)
            | Command::Policy { .. }
            | Command::Project { .. }
            | Command::Packet { .. }
            | Command::Token(_)
    );
    let _flush = init_tracing(if client { "warn" } else { "info,sqlx=warn" });
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
            fixes::print(&err);
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up {
            database,
            bind,
            workers,
        } => {
            let listener = listen::bind(bind).await?;
            let pipeline = pipeline::open(&database.data_dir)?;
            let audit_key = pipeline::audit_key(&database.data_dir)?;
            let (config, verifier, secret) =
                serve::auth_for(Environment::Local, &database.data_dir)?;
            let database =
                database::Database::open_sized(&database, true, serving_connections(workers))
                    .await?;
            let mut notes = Vec::new();
            if let Some(secret) = &secret {
                notes.extend(first_run_notes(secret, &database.pool).await?);
            }
            let options = serve::ServeOptions {
                config,
                verifier,
                workers,
                audit_key,
            };
            serve::serve(database, pipeline, listener, options, notes).await?;
        }
        Command::Serve {
            database_url,
            bind,
            workers,
        } => {
            let listener = listen::bind(bind).await?;
            let database = database::Database::external_sized(
                &database_url,
                false,
                serving_connections(workers),
            )
            .await?;
            let data_dir = std::env::var_os("WORKSTREAM_DATA_DIR")
                .map_or_else(|| PathBuf::from(".workstream"), PathBuf::from);
            let pipeline = pipeline::open(&data_dir)?;
            let (config, verifier, _) = serve::auth_for(Environment::Production, &data_dir)?;
            let options = serve::ServeOptions {
                config,
                verifier,
                workers,
                audit_key: pipeline::audit_key(&data_dir)?,
            };
            serve::serve(database, pipeline, listener, options, Vec::new()).await?;
        }
        Command::Worker {
            database,
            concurrency,
            worker_id,
            lease_seconds,
        } => {
            let slots = usize::from(concurrency);
            let lease = std::time::Duration::from_secs(u64::from(lease_seconds));
            let pipeline = pipeline::open(&database.data_dir)?;
            let audit_key = pipeline::audit_key(&database.data_dir)?;
            let database =
                database::Database::open_sized(&database, false, worker::connections_for(slots))
                    .await?;
            let worker_id = worker_id.unwrap_or_else(worker::default_worker_id);
            worker::run(
                database,
                pipeline,
                audit_key,
                slots,
                lease,
                worker_id,
                serve::shutdown_signal(),
            )
            .await?;
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
        Command::Jobs { command } => jobs::run(command).await?,
        Command::Demo(args) => return demo::run(&args).await,
        Command::Packet { command } => return packet::run(&command).await,
        Command::Init(args) => return project::cli::init(&args),
        Command::Policy { command } => return project::cli::policy(&command).await,
        Command::Project { command } => return project::cli::project(&command).await,
        Command::Audit {
            command: AuditCommand::Seal { database: args },
        } => {
            let database = database::Database::open(&args, false).await?;
            let sealed = audit::seal(&database, &args.data_dir).await;
            database.close().await?;
            sealed?;
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    database: args,
                    public_key,
                },
        } => {
            let database = database::Database::open(&args, false).await?;
            let intact = audit::verify(&database, &args.data_dir, public_key.as_deref()).await;
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

/// What `up` prints under its address in `local`: where the token secret is, and the
/// local administrator if it was bootstrapped now (see [`local`]).
async fn first_run_notes(
    secret: &local::LocalSecret,
    pool: &sqlx::PgPool,
) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    match &secret.source {
        local::SecretSource::Created(path) => notes.push(format!(
            "local token secret: created {} (mode 0600); `workstream token`, `demo` and \
             `project import` read it",
            path.display()
        )),
        local::SecretSource::File(path) => {
            notes.push(format!("local token secret: {}", path.display()));
        }
        local::SecretSource::Environment => {
            notes.push(format!("local token secret: ${}", local::SECRET_VARIABLE));
        }
    }
    if local::ensure_admin(pool).await? {
        notes.push(format!(
            "local access administrator `{0}` bootstrapped (audited); its token: \
             workstream token --subject {0}",
            local::LOCAL_ADMIN_SUBJECT
        ));
    }
    Ok(notes)
}

/// The pool of a serving process: HTTP's share plus its job slots'.
fn serving_connections(workers: usize) -> u32 {
    match workers {
        0 => database::BASE_CONNECTIONS,
        slots => database::BASE_CONNECTIONS.saturating_add(worker::connections_for(slots)),
    }
}

/// Logs to stderr: `WORKSTREAM_LOG` (an `EnvFilter`, e.g. `info,sqlx=warn`) says what,
/// `WORKSTREAM_LOG_FORMAT` how: `text` (the default; coloured only on a terminal) or
/// `json` (one object per line, with the fields of the spans it happened in: the
/// correlation id of a request, the job, the task and submission of an evaluation).
/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the same spans are also exported over OTLP
/// ([`telemetry::otlp_layer`]); the returned guard flushes them when `main` ends.
fn init_tracing(default: &str) -> telemetry::Flush {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_env("WORKSTREAM_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("WORKSTREAM_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let (otlp, flush, problem) = match telemetry::otlp_layer() {
        Ok(Some((layer, flush))) => (Some(layer), flush, None),
        Ok(None) => (None, telemetry::Flush::default(), None),
        Err(problem) => (None, telemetry::Flush::default(), Some(problem)),
    };
    // Each layer filters for itself: what the log shows is not what is exported.
    let registry = tracing_subscriber::registry().with(otlp);
    if json {
        let fmt = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .with_filter(filter);
        registry.with(fmt).init();
    } else {
        let fmt = tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_filter(filter);
        registry.with(fmt).init();
    }
    if let Some(problem) = problem {
        tracing::warn!("traces are not exported: {problem}");
    }
    flush
}
