//! `workstream checker`: the checker author's toolkit, and the built-ins at start.
//!
//! * `replay <run-id>`: re-runs a stored checker run from its stored inputs (archive by
//!   key, locked policy, task criteria) and checks that it reproduces the stored result
//!   digest, member by member.
//! * `test <component.wasm> <packet-dir-or-zip>`: runs the component on a packet under
//!   production limits (the default [`workstream_sandbox::Limits`]), exactly as a
//!   checker run would: the packet goes through production intake (a directory zipped
//!   as `workstream packet build` zips it), which refuses what the server refuses and
//!   gives the manifest (path, size, sha256, executable) and the verified tree; the
//!   configuration is validated against the component's schema; `/packet` is mounted
//!   read-only. Prints the findings as a table, or the run's outcome as JSON
//!   with `--json`.
//! * `inspect <component.wasm>`: digest, size, the import check, and `info()`.
//! * `register <component.wasm>`: publishes it to a server's registry over HTTP
//!   (`POST /api/v1/checkers`, `--server`, default the local server with its local
//!   project manager), which validates it once and compiles it on every host.
//! * `list`: the registry.
//!
//! Exit status of `test`: **0** the run completed and passed (or passed with warnings
//! only), **1** it completed and failed (at least one error finding), **2** the command
//! could not run as asked (bad arguments, an unreadable or unsafe packet, a component
//! the registry would refuse, a configuration that does not match the schema), **3** the
//! run did not complete (an infrastructure failure such as `deadline_exceeded`, which
//! production never counts as a pass). `inspect` and `register` exit 1 when the
//! component would be refused, with the code.
//!
//! Compiled code is kept in a per-user cache ([`user_cache_dir`]:
//! `$WORKSTREAM_CHECKER_CACHE_DIR`, else `$XDG_CACHE_HOME/workstream/checker-cache`, else
//! `~/.cache/workstream/checker-cache`), so the second `checker test` of a 15 MB Python
//! component loads its native code instead of compiling it again (seconds). The cache
//! is trusted when loaded, so it is used only when it is a directory of this user's
//! that no one else can write (mode 0700, created so); otherwise a temporary cache,
//! dropped when the command ends, is used and a warning says why. `replay` uses the
//! data directory's checker cache and object store, like `worker`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use tempfile::TempDir;
use workstream_domain::Digest;
use workstream_domain::ErrorCode;
use workstream_engine::CommandError;
use workstream_engine::checkers as registration;
use workstream_engine::packets::{self, PacketLimits};
use workstream_engine::pipeline::file_entries;
use workstream_sandbox::{
    CheckOutcome, CheckRequest, FileEntry, Level, Phase, RunResult, Sandbox, SandboxConfig,
};

use crate::DatabaseArgs;
use crate::database::Database;

/// `test`: completed, no error findings.
const EXIT_PASSED: u8 = 0;
/// `test`: completed with error findings; `inspect`/`register`: refused.
const EXIT_FAILED: u8 = 1;
/// The command could not run as asked.
const EXIT_USAGE: u8 = 2;
/// The run did not complete (infrastructure failure).
const EXIT_INFRASTRUCTURE: u8 = 3;

/// The `checker` subcommands.
#[derive(Debug, Subcommand)]
pub enum CheckerCommand {
    /// Write a new checker project: source with a sample rule, build script, test packets, README.
    New(crate::checker_new::NewArgs),
    /// Run a component on a packet under production limits and print its report.
    Test(TestArgs),
    /// Print a component's digest, import check and info().
    Inspect {
        /// The component (`.wasm`).
        component: PathBuf,
    },
    /// Publish a component to a server's registry (`POST /api/v1/checkers`; idempotent
    /// by digest).
    Register(RegisterArgs),
    /// Re-run a stored checker run from its stored inputs and compare the result
    /// digest (exit 0: reproduced; 1: it differs; 3: inputs unavailable).
    Replay {
        /// The checker run's id.
        run_id: uuid::Uuid,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a server's registered components (`GET /api/v1/checkers`).
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `checker test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The component (`.wasm`).
    component: PathBuf,
    /// The packet: a directory, or a `.zip` file.
    packet: PathBuf,
    /// The checker's configuration (a JSON file); `{}` when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
    /// The contributor's summary.
    #[arg(long, default_value = "")]
    summary: String,
    /// The contributor's attestation.
    #[arg(long, default_value = "")]
    attestation: String,
    /// The task's acceptance criteria.
    #[arg(long, default_value = "")]
    criteria: String,
}

/// Arguments of `checker register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The component (`.wasm`).
    component: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
}

/// Which server a command talks to, and as whom.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server.
    #[arg(long, env = "WORKSTREAM_SERVER", default_value = crate::client::DEFAULT_SERVER)]
    server: String,
    /// A project manager's or operator's token; without it, a local server's
    /// `local-manager` is used (granted project_manager by the local administrator).
    #[arg(long, env = "WORKSTREAM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The local server's data directory (its token secret).
    #[arg(long, env = "WORKSTREAM_DATA_DIR", default_value = ".workstream")]
    data_dir: PathBuf,
}

/// Runs a `checker` subcommand and returns its exit status (errors are printed here).
pub async fn run(command: CheckerCommand) -> ExitCode {
    let result = match command {
        CheckerCommand::New(args) => return crate::checker_new::new_project(args),
        CheckerCommand::Test(args) => test(args).await,
        CheckerCommand::Inspect { component } => inspect(&component).await,
        CheckerCommand::Register(args) => register(&args).await,
        CheckerCommand::List { server, json } => list(&server, json).await,
        CheckerCommand::Replay {
            run_id,
            database,
            json,
        } => replay(run_id, &database, json).await,
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Usage(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Infrastructure(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_INFRASTRUCTURE)
        }
    }
}

/// Registers the built-in checkers in `sandbox` (the server's, so their compiled code
/// lands in its cache); called once at server start. Fails the start if any of them
/// cannot be registered: they are part of the binary.
pub async fn register_builtins(pool: &sqlx::PgPool, sandbox: &Sandbox) -> anyhow::Result<()> {
    let registrations = registration::register_builtins(pool, sandbox)
        .await
        .map_err(|e| anyhow::anyhow!("registering the built-in checkers: {e}"))?;
    let created = registrations.iter().filter(|r| r.created).count();
    tracing::info!(
        builtins = registrations.len(),
        newly_registered = created,
        "built-in checkers registered"
    );
    Ok(())
}

/// Why a subcommand stopped before it had a result.
enum Failure {
    Usage(anyhow::Error),
    Infrastructure(anyhow::Error),
}

fn usage(err: impl Into<anyhow::Error>) -> Failure {
    Failure::Usage(err.into())
}

fn infrastructure(err: impl Into<anyhow::Error>) -> Failure {
    Failure::Infrastructure(err.into())
}

/// A sandbox with production limits and the per-user compiled-code cache (see the
/// module docs); the second value keeps a temporary cache alive when that is used.
pub(crate) fn sandbox() -> anyhow::Result<(Sandbox, Option<TempDir>)> {
    let (dir, temporary) = match user_cache_dir() {
        Ok(dir) => (dir, None),
        Err(why) => {
            tracing::warn!("not using the per-user checker cache: {why:#}");
            let temporary = tempfile::Builder::new()
                .prefix("workstream-checker-cache")
                .tempdir()?;
            (temporary.path().to_owned(), Some(temporary))
        }
    };
    Ok((Sandbox::new(SandboxConfig::new(dir))?, temporary))
}

/// The per-user compiled-code cache, created (mode 0700) if missing; an error when it
/// is not safe to load native code from.
pub(crate) fn user_cache_dir() -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    let dir = match std::env::var_os("WORKSTREAM_CHECKER_CACHE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .ok_or_else(|| anyhow::anyhow!("neither XDG_CACHE_HOME nor HOME is set"))?;
            base.join("workstream").join("checker-cache")
        }
    };
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
    }
    let meta = fs::symlink_metadata(&dir).with_context(|| format!("reading {}", dir.display()))?;
    let uid = nix::unistd::Uid::current().as_raw();
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        bail!(
            "{} must be a directory of this user with mode 0700 (compiled code is loaded from it without verification)",
            dir.display()
        );
    }
    Ok(dir)
}

fn read_component(path: &Path) -> Result<Vec<u8>, Failure> {
    fs::read(path)
        .with_context(|| format!("reading the component {}", path.display()))
        .map_err(usage)
}

/// Prints a refusal as `error[code]: message`, its field errors, and the code's fix.
fn print_refusal(err: &CommandError) {
    eprintln!("error[{}]: {}", err.code, err.message);
    if let Some(errors) = err.details.get("errors").and_then(Value::as_array) {
        for e in errors {
            eprintln!(
                "  at {:?}: {}",
                e["path"].as_str().unwrap_or_default(),
                e["message"].as_str().unwrap_or_default()
            );
        }
    }
    if let Some(fix) = crate::fixes::fix_for(err.code.as_str()) {
        eprintln!("fix: {fix}");
    }
}

/// Loads and validates a component with a spinner while it compiles.
async fn validate_with_progress(
    sandbox: &Sandbox,
    bytes: &[u8],
) -> Result<registration::ValidatedChecker, CommandError> {
    let spinner = crate::progress::spinner(format!(
        "compiling the component ({} KiB)",
        bytes.len() / 1024
    ));
    let validated = registration::validate_component(sandbox, bytes).await;
    spinner.finish_and_clear();
    validated
}

/// [`validate_with_progress`] plus the smoke check publication runs.
async fn validate_for_publication_with_progress(
    sandbox: &Sandbox,
    bytes: &[u8],
) -> Result<registration::ValidatedChecker, CommandError> {
    let spinner = crate::progress::spinner(format!(
        "compiling and checking the component ({} KiB)",
        bytes.len() / 1024
    ));
    let validated = registration::validate_for_publication(sandbox, bytes).await;
    spinner.finish_and_clear();
    validated
}

async fn test(args: TestArgs) -> Result<u8, Failure> {
    let bytes = read_component(&args.component)?;
    let configuration: Value = match &args.config {
        None => serde_json::json!({}),
        Some(path) => {
            let text = fs::read_to_string(path)
                .with_context(|| format!("reading the configuration {}", path.display()))
                .map_err(usage)?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))
                .map_err(usage)?
        }
    };
    let packet = match Packet::open(&args.packet).map_err(usage)? {
        Ok(packet) => packet,
        Err(refused) => {
            print_refusal(&refused);
            return Ok(EXIT_USAGE);
        }
    };

    let (sandbox, _cache) = sandbox().map_err(infrastructure)?;
    let checker = match validate_with_progress(&sandbox, &bytes).await {
        Ok(checker) => checker,
        Err(err) => {
            print_refusal(&err);
            return Ok(EXIT_USAGE);
        }
    };
    if let Err(err) = registration::validate_configuration(&checker.config_schema, &configuration) {
        print_refusal(&err);
        return Ok(EXIT_USAGE);
    }

    let Packet { tree, files } = packet;
    let request = CheckRequest {
        manifest: files,
        summary: args.summary,
        attestation: args.attestation,
        acceptance_criteria: args.criteria,
        configuration,
        ..CheckRequest::new(Phase::PostSubmit)
    };
    let files = request.manifest.len();
    let total: u64 = request.manifest.iter().map(|f| f.size).sum();
    let outcome = match sandbox.run(&checker.loaded, request, tree.path()).await {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("error[{}]: {err}", err.code());
            if let Some(fix) = crate::fixes::fix_for(err.code().as_str()) {
                eprintln!("fix: {fix}");
            }
            return Ok(EXIT_USAGE);
        }
    };

    if args.json {
        let text = serde_json::to_string_pretty(&outcome).map_err(infrastructure)?;
        println!("{text}");
    } else {
        println!(
            "checker  {} {}  {}",
            checker.info.name,
            checker.info.version,
            checker.loaded.digest()
        );
        println!(
            "packet   {} ({files} files, {total} bytes)",
            args.packet.display()
        );
        print_outcome(&outcome);
    }
    Ok(match &outcome.result {
        RunResult::Completed { findings, .. } => {
            if findings.iter().any(|f| f.level == Level::Error) {
                EXIT_FAILED
            } else {
                EXIT_PASSED
            }
        }
        RunResult::InfrastructureFailed { .. } => EXIT_INFRASTRUCTURE,
    })
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

fn print_outcome(outcome: &CheckOutcome) {
    println!();
    match &outcome.result {
        RunResult::Completed {
            verdict,
            findings,
            summary,
        } => {
            if findings.is_empty() {
                println!("no findings");
            } else {
                let location = |f: &workstream_sandbox::Finding| match (&f.path, f.line) {
                    (Some(path), Some(line)) => format!("{path}:{line}"),
                    (Some(path), None) => path.clone(),
                    (None, _) => "-".to_owned(),
                };
                let code_width = findings.iter().map(|f| f.code.len()).max().unwrap_or(0);
                let loc_width = findings
                    .iter()
                    .map(|f| location(f).len())
                    .max()
                    .unwrap_or(0)
                    .max("LOCATION".len());
                let code_width = code_width.max("CODE".len());
                println!(
                    "{:<7}  {:<code_width$}  {:<loc_width$}  MESSAGE",
                    "LEVEL", "CODE", "LOCATION"
                );
                for f in findings {
                    println!(
                        "{:<7}  {:<code_width$}  {:<loc_width$}  {}",
                        level_name(f.level),
                        f.code,
                        location(f),
                        f.message
                    );
                    if let Some(fix) = &f.suggested_fix {
                        println!(
                            "{:<7}  {:<code_width$}  {:<loc_width$}  fix: {fix}",
                            "", "", ""
                        );
                    }
                }
            }
            if let Some(summary) = summary {
                println!("\nsummary: {summary}");
            }
            let count = |level| findings.iter().filter(|f| f.level == level).count();
            println!(
                "\nverdict: {} ({} errors, {} warnings, {} info)",
                serde_json::to_value(verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                count(Level::Error),
                count(Level::Warning),
                count(Level::Info)
            );
        }
        RunResult::InfrastructureFailed { code, detail } => {
            println!("infrastructure failure: {}", code.as_str());
            println!("detail (operators only): {detail}");
            println!("\nverdict: none (the run did not complete; never a pass)");
        }
    }
    println!(
        "fuel {}  duration {:.1} ms  limits: {} MiB, {} s, fuel {}",
        outcome.fuel_consumed,
        outcome.duration.as_secs_f64() * 1000.0,
        outcome.limits.memory_bytes >> 20,
        outcome.limits.deadline.as_secs_f64(),
        outcome.limits.fuel
    );
    println!("result digest: {}", outcome.result_digest);
}

async fn inspect(path: &Path) -> Result<u8, Failure> {
    let bytes = read_component(path)?;
    println!("component  {}", path.display());
    println!("digest     {}", Digest::of_bytes(&bytes));
    println!("size       {} bytes", bytes.len());
    match workstream_sandbox::imports::check(&bytes) {
        Ok(imports) => {
            println!("imports    allowed ({})", imports.interfaces.len());
            for name in &imports.interfaces {
                let note = if imports.refused_at_call.contains(name) {
                    "  (linked; traps if called)"
                } else {
                    ""
                };
                println!("  {name}{note}");
            }
        }
        Err(err) => println!("imports    refused: {err}"),
    }
    let (sandbox, _cache) = sandbox().map_err(infrastructure)?;
    let checker = match validate_for_publication_with_progress(&sandbox, &bytes).await {
        Ok(checker) => checker,
        Err(err) => {
            print_refusal(&err);
            return Ok(EXIT_FAILED);
        }
    };
    println!("contract   {}", checker.loaded.contract());
    println!("name       {}", checker.info.name);
    println!("version    {}", checker.info.version);
    println!("description");
    println!("  {}", checker.info.description);
    println!("config schema");
    let schema = serde_json::to_string_pretty(&checker.config_schema).map_err(infrastructure)?;
    for line in schema.lines() {
        println!("  {line}");
    }
    Ok(EXIT_PASSED)
}

async fn register(args: &RegisterArgs) -> Result<u8, Failure> {
    let bytes = read_component(&args.component)?;
    let client = crate::client::Client::new(&args.server.server);
    let published = async {
        client.health().await?;
        let token = args.server.token(&client).await?;
        let spinner = crate::progress::spinner(format!(
            "publishing {} ({} KiB) to {}: the server validates and compiles it",
            args.component.display(),
            bytes.len() / 1024,
            client.server()
        ));
        let key = crate::client::Keys::new(format!("publish {}", Digest::of_bytes(&bytes)))
            .key("component");
        let answer = client.publish_checker(&token, bytes, key).await;
        spinner.finish_and_clear();
        answer
    }
    .await;
    match published {
        Ok((created, record)) => {
            let what = if created {
                "published"
            } else {
                "already published"
            };
            println!(
                "{what}: {} {} {} ({})",
                record["name"].as_str().unwrap_or_default(),
                record["version"].as_str().unwrap_or_default(),
                record["digest"].as_str().unwrap_or_default(),
                record["contract"].as_str().unwrap_or_default(),
            );
            println!(
                "pin it in a checker policy: {{\"name\": \"{}\", \"digest\": \"{}\", ...}}",
                record["name"].as_str().unwrap_or_default(),
                record["digest"].as_str().unwrap_or_default(),
            );
            Ok(EXIT_PASSED)
        }
        Err(err) if err.code == "server_unreachable" || err.code == "local_secret_missing" => {
            crate::fixes::print(&anyhow::Error::new(err));
            Ok(EXIT_INFRASTRUCTURE)
        }
        Err(err) => {
            crate::fixes::print(&anyhow::Error::new(err));
            Ok(EXIT_FAILED)
        }
    }
}

impl ServerArgs {
    /// `--token`, or the local server's standing project manager's.
    async fn token(
        &self,
        client: &crate::client::Client,
    ) -> Result<String, crate::fixes::CliError> {
        match &self.token {
            Some(token) => Ok(token.clone()),
            None => local_manager(client, &self.data_dir).await,
        }
    }
}

/// The token of the local server's standing project manager (`local-manager`), made
/// and granted by the local administrator as `project import` does.
async fn local_manager(
    client: &crate::client::Client,
    data_dir: &Path,
) -> Result<String, crate::fixes::CliError> {
    let minter = crate::people::local_minter(data_dir)?;
    let admin =
        crate::people::administrator(client, &minter, crate::local::LOCAL_ADMIN_SUBJECT).await?;
    let mut manager = crate::people::person(
        client,
        &minter,
        "local-manager",
        workstream_api::auth::SubjectKind::Human,
    )
    .await?;
    let keys = crate::client::Keys::new(uuid::Uuid::now_v7().to_string());
    crate::people::ensure_system_role(client, &admin, &mut manager, "project_manager", &keys)
        .await?;
    Ok(manager.token)
}

async fn replay(run_id: uuid::Uuid, database: &DatabaseArgs, json: bool) -> Result<u8, Failure> {
    let pipeline = crate::pipeline::open(&database.data_dir).map_err(infrastructure)?;
    let db = Database::open(database, false)
        .await
        .map_err(infrastructure)?;
    let replayed = workstream_engine::pipeline::replay(&pipeline, &db.pool, run_id).await;
    db.close().await.map_err(infrastructure)?;
    let replay = match replayed {
        Ok(replay) => replay,
        Err(err) if err.code == ErrorCode::NotFound => {
            return Err(usage(anyhow::anyhow!("no checker run {run_id}")));
        }
        Err(err) => {
            print_refusal(&err);
            return Ok(EXIT_INFRASTRUCTURE);
        }
    };
    let members: Vec<Value> = replay
        .evaluation
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let stored = replay.stored_members.get(i);
            let stored_digest = stored.map(|(_, _, d)| d.as_str());
            let stored_request = stored.and_then(|(_, r, _)| r.as_deref());
            let replayed_request = m.outcome.request_digest.to_string();
            serde_json::json!({
                "checker": m.check.name,
                "replayed_digest": m.outcome.result_digest,
                "stored_digest": stored_digest,
                "replayed_request_digest": replayed_request,
                "stored_request_digest": stored_request,
                "same": stored_digest == Some(m.outcome.result_digest.to_string().as_str())
                    && stored_request.is_none_or(|r| r == replayed_request),
            })
        })
        .collect();
    if json {
        let report = serde_json::json!({
            "checker_run_id": run_id,
            "stored_status": replay.stored_status,
            "stored_digest": replay.stored_digest,
            "replayed_digest": replay.replayed_digest,
            "route": replay.evaluation.route.as_str(),
            "reproduced": replay.reproduced(),
            "from_stored_request": replay.from_stored_request,
            "members": members,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(infrastructure)?
        );
    } else {
        for member in &members {
            println!(
                "{:<30} {} {}",
                member["checker"].as_str().unwrap_or_default(),
                if member["same"] == true {
                    "same     "
                } else {
                    "DIFFERENT"
                },
                member["replayed_digest"].as_str().unwrap_or_default()
            );
        }
        println!(
            "run {run_id}: stored {} ({}), replayed {} (route {})",
            replay.stored_digest.as_deref().unwrap_or("none"),
            replay.stored_status,
            replay.replayed_digest,
            replay.evaluation.route.as_str()
        );
        println!(
            "{}",
            if replay.reproduced() {
                "reproduced: the stored result digest is what the stored inputs produce"
            } else {
                "NOT reproduced"
            }
        );
    }
    Ok(if replay.reproduced() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}

async fn list(server: &ServerArgs, json: bool) -> Result<u8, Failure> {
    let client = crate::client::Client::new(&server.server);
    let listed = async {
        client.health().await?;
        let token = server.token(&client).await?;
        client.get(&token, "/checkers").await
    }
    .await;
    let answer = match listed {
        Ok(answer) => answer,
        Err(err) => {
            crate::fixes::print(&anyhow::Error::new(err));
            return Ok(EXIT_INFRASTRUCTURE);
        }
    };
    let components = answer["items"].as_array().cloned().unwrap_or_default();
    if json {
        let text = serde_json::to_string_pretty(&components).map_err(infrastructure)?;
        println!("{text}");
        return Ok(EXIT_PASSED);
    }
    let text = |c: &Value, key: &str| c[key].as_str().unwrap_or_default().to_owned();
    let name_width = components
        .iter()
        .map(|c| text(c, "name").len())
        .max()
        .unwrap_or(0)
        .max(4);
    let version_width = components
        .iter()
        .map(|c| text(c, "version").len())
        .max()
        .unwrap_or(0)
        .max(7);
    println!(
        "{:<name_width$}  {:<version_width$}  {:<7}  {:<8}  {:>9}  {:<71}  REGISTERED",
        "NAME", "VERSION", "BUILTIN", "CONTRACT", "BYTES", "DIGEST"
    );
    for c in &components {
        let contract = text(c, "contract");
        println!(
            "{:<name_width$}  {:<version_width$}  {:<7}  {:<8}  {:>9}  {:<71}  {}",
            text(c, "name"),
            text(c, "version"),
            if c["builtin"] == true { "yes" } else { "no" },
            contract.rsplit('@').next().unwrap_or_default(),
            c["byte_count"].as_i64().unwrap_or_default(),
            text(c, "digest"),
            text(c, "registered_at"),
        );
    }
    println!("{} components", components.len());
    Ok(EXIT_PASSED)
}

/// The packet a test runs on, prepared as the server prepares an upload: a directory
/// is zipped as `workstream packet build` zips it, and the ZIP goes through production
/// intake (`packets::inspect` under the platform's default limits), which refuses
/// what the server would refuse and extracts the verified tree the checker sees.
struct Packet {
    /// The verified tree (removed when the test ends).
    tree: TempDir,
    /// Its files, as the checkers' manifest lists them.
    files: Vec<FileEntry>,
}

impl Packet {
    /// The packet at `path` (a directory or a ZIP); the outer error is a usage error
    /// (no such directory, a link in it), the inner one intake's refusal.
    fn open(path: &Path) -> anyhow::Result<Result<Packet, CommandError>> {
        let zip = crate::packet::zipped(path)
            .with_context(|| format!("packet {} (a directory or a .zip)", path.display()))?;
        let tree = tempfile::Builder::new()
            .prefix("workstream-packet")
            .tempdir()?;
        Ok(
            packets::inspect(&zip.path, tree.path(), &PacketLimits::platform_defaults())
                .map(|inspected| Packet {
                    files: file_entries(&inspected),
                    tree,
                })
                .map_err(CommandError::from),
        )
    }
}
