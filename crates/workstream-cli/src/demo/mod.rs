//! `workstream demo`: the day-30 cycle (docs/architecture.md), over HTTP, on the example
//! project.
//!
//! **Which server.** By default the demo targets `--server` (`http://127.0.0.1:8080`,
//! where `workstream up` serves) and signs in with that server's local secret (the
//! data directory's file, or `WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET`) as the local
//! administrator `admin` that `up` bootstraps. When nothing answers there the demo
//! stops with `server_unreachable` and says how to start one: silently starting a
//! second database next to the one the user meant would hide their mistake.
//! `--embedded` starts a server in this process instead, on a fresh embedded database
//! in a temporary directory (deleted afterwards), with its own in-process job worker.
//!
//! **Fresh names.** Every run has a run id; its people (`demo-<run>-manager`, ...) and
//! its project (`retry-docs-<run>`) are new, so the demo can be repeated against one
//! server. The only shared record is the local payment adapter's service principal
//! (a service identity has one per server).
//!
//! **The cycle** (each step printed with its resulting state): sign-in and system
//! roles; setup through `project import` (units, adapter bindings, terms published,
//! guide activated with the example's policies, three tasks screened and released) and
//! the contributor roles; the submitter claims two tasks; a packet without the required
//! file is refused by the pre-submit checkers; version 1 is submitted and the
//! post-submit checkers route it to review; the reviewer asks for a revision with a
//! blocking and an advisory finding; version 2 answers the blocking one and is
//! accepted; the second task is rejected (the third outcome; the third task stays in
//! the ready queue); every award is delivered by the local adapter and reported paid,
//! and finance reconciles; reputation is updated from the three reviews; the manager
//! records a lesson from the finding and implements it in the guide; an evaluation
//! sprint over the three tasks reports. The [`summary`] is read back from the API at
//! the end (task states, checker runs, reviews, awards, reputation), printed as tables
//! or, with `--json`, as one JSON document on stdout.

mod cycle;
pub mod summary;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use uuid::Uuid;

use crate::client::Client;
use crate::fixes::CliError;
use crate::progress::Output;

/// Arguments of `workstream demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The server to drive (default: `up`'s address).
    #[arg(long, env = "WORKSTREAM_SERVER", default_value = crate::client::DEFAULT_SERVER)]
    server: String,
    /// Start a server in this process on a fresh embedded database instead.
    #[arg(long, conflicts_with = "server")]
    embedded: bool,
    /// The server's data directory (its local token secret).
    #[arg(long, env = "WORKSTREAM_DATA_DIR", default_value = ".workstream")]
    data_dir: PathBuf,
    /// The local access administrator's subject.
    #[arg(long, default_value = crate::local::LOCAL_ADMIN_SUBJECT)]
    admin_subject: String,
    /// The subject of the local payment adapter's service principal.
    #[arg(long, default_value = crate::people::LOCAL_ADAPTER_SUBJECT)]
    adapter_subject: String,
    /// Run another project directory instead of the built-in example.
    #[arg(long)]
    project: Option<PathBuf>,
    /// The run id (default: a fresh one); names and idempotency keys derive from it.
    #[arg(long)]
    run_id: Option<String>,
    /// Print the summary as JSON on stdout (the steps go to stderr).
    #[arg(long)]
    json: bool,
}

/// Runs the demo.
pub async fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let run = match &args.run_id {
        Some(run) if crate::project::validate::slug_ok(run) && run.len() <= 24 => run.clone(),
        Some(run) => {
            return Err(CliError::new(
                "invalid_run_id",
                format!("--run-id {run:?}: up to 24 lowercase letters, digits and dashes"),
            )
            .into());
        }
        None => Uuid::now_v7().simple().to_string()[24..].to_owned(),
    };
    let out = Output::new(args.json);
    let example_dir;
    let project_dir = match &args.project {
        Some(dir) => dir.clone(),
        None => {
            example_dir = tempfile::Builder::new()
                .prefix("workstream-demo-project")
                .tempdir()?;
            crate::project::embedded::write(
                example_dir.path(),
                crate::project::embedded::EXAMPLE,
                &[],
            )?;
            example_dir.path().to_owned()
        }
    };
    let project = crate::project::load(&project_dir)
        .and_then(|project| match project.task_problems.is_empty() {
            true => Ok(project),
            false => Err(project.task_problems),
        })
        .map_err(|problems| {
            for problem in &problems {
                eprintln!("{problem}");
            }
            CliError::new(
                problems[0].code.clone(),
                format!(
                    "{} is not a usable project directory",
                    project_dir.display()
                ),
            )
        })?;

    let target = if args.embedded {
        out.line("starting an embedded server on a fresh database (this takes a few seconds)");
        Some(embedded::start().await?)
    } else {
        None
    };
    let (client, minter) = match &target {
        Some(server) => (
            Client::new(&format!("http://{}", server.running.address)),
            server.minter.clone(),
        ),
        None => {
            let client = Client::new(&args.server);
            client.health().await?;
            (client, crate::people::local_minter(&args.data_dir)?)
        }
    };
    out.line(format!(
        "workstream demo: run {run} against {}{}",
        client.server(),
        if target.is_some() { " (embedded)" } else { "" }
    ));
    let settings = cycle::Settings {
        run,
        admin_subject: args.admin_subject.clone(),
        adapter_subject: args.adapter_subject.clone(),
    };
    let outcome = cycle::run(&client, &minter, &project, &settings, out.clone()).await;
    if let Some(server) = target {
        server.stop().await?;
    }
    let summary = outcome?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        summary::print(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// The server `--embedded` starts.
mod embedded {
    use std::net::SocketAddr;
    use std::os::unix::fs::PermissionsExt;

    use workstream_api::auth::Verifier;
    use workstream_api::config::{ApiConfig, Environment};

    use crate::people::Minter;
    use crate::serve::{self, Running, ServeOptions};

    /// A running embedded server and what signs in to it.
    pub struct Embedded {
        pub running: Running,
        pub minter: Minter,
        _dir: tempfile::TempDir,
    }

    /// Starts the server: a fresh cluster under a temporary directory, migrated, the
    /// built-ins registered, the local administrator bootstrapped, one job slot.
    pub async fn start() -> anyhow::Result<Embedded> {
        let dir = tempfile::Builder::new()
            .prefix("workstream-demo")
            .tempdir()?;
        // PostgreSQL runs as `nobody` when this runs as root; it must reach the directory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let data_dir = dir.path().join("state");
        let args = crate::DatabaseArgs {
            database_url: None,
            data_dir: data_dir.clone(),
        };
        let pipeline = crate::pipeline::open(&data_dir)?;
        let database = crate::database::Database::open_sized(
            &args,
            true,
            crate::database::BASE_CONNECTIONS + crate::worker::connections_for(1),
        )
        .await?;
        let mut config = ApiConfig::from_env(Environment::Local)?;
        config.environment = Environment::Local;
        let secret = crate::local::ensure_secret(&data_dir)?;
        let verifier = Verifier::local_hmac(
            Environment::Local,
            secret.secret.as_bytes(),
            &crate::local::issuer(),
            &crate::local::audience(),
        )?;
        crate::local::ensure_admin(&database.pool).await?;
        let bind: SocketAddr = "127.0.0.1:0".parse().expect("a socket address");
        let listener = crate::listen::bind(bind).await?;
        let running = serve::start(
            database,
            pipeline,
            listener,
            ServeOptions {
                config,
                verifier,
                workers: 1,
                audit_key: crate::pipeline::audit_key(&data_dir)?,
            },
        )
        .await?;
        Ok(Embedded {
            running,
            minter: Minter::new(&secret),
            _dir: dir,
        })
    }

    impl Embedded {
        /// Stops the server and its cluster; the directory goes with `self`.
        pub async fn stop(self) -> anyhow::Result<()> {
            self.running.stop();
            self.running.finished().await
        }
    }
}

/// A fresh person of this run: `demo-<run>-<role>`.
pub fn subject(run: &str, role: &str) -> String {
    format!("demo-{run}-{role}")
}
