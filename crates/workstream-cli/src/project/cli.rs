//! The commands over a project directory: `init`, `policy validate`, `policy preview`,
//! `project import`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use uuid::Uuid;

use super::{embedded, import, preview, validate};
use crate::client::{Client, DEFAULT_SERVER, Keys};
use crate::fixes::CliError;
use crate::people::{self, local_minter};
use crate::progress::Output;

/// Arguments of `workstream init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The new project's directory (created; must be empty if it exists).
    dir: PathBuf,
    /// The project's name (default: the directory's name).
    #[arg(long)]
    name: Option<String>,
    /// The project's slug (default: from the name).
    #[arg(long)]
    slug: Option<String>,
}

/// `workstream policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a project directory with the server's activation gate (exit 1 on any error).
    Validate {
        /// The project directory.
        dir: PathBuf,
        /// Print the problems as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Preview the directory's policy on the project's stored packets: publish its
    /// checkers, make it a draft guide, run a policy preview on the server and print
    /// what would change (exit 1 when the preview is refused or fails).
    Preview(PreviewArgs),
}

/// Arguments of `workstream policy preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The project directory.
    dir: PathBuf,
    /// The server.
    #[arg(long, env = "WORKSTREAM_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// The project's id (default: the project whose slug is project.json's).
    #[arg(long)]
    project: Option<Uuid>,
    /// How many of the project's most recent submissions to check (default: the
    /// server's maximum, WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS).
    #[arg(long)]
    submissions: Option<u32>,
    /// Print the whole report as JSON on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
    /// A project manager's token; without it, a local server's `local-manager` (made a
    /// system project manager by the local administrator where needed).
    #[arg(long, env = "WORKSTREAM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The local server's data directory (its token secret).
    #[arg(long, env = "WORKSTREAM_DATA_DIR", default_value = ".workstream")]
    data_dir: PathBuf,
    /// The local access administrator's subject.
    #[arg(long, default_value = crate::local::LOCAL_ADMIN_SUBJECT)]
    admin_subject: String,
    /// How long to wait for the preview to end, in seconds.
    #[arg(long, default_value_t = 900)]
    wait_seconds: u64,
}

/// `workstream project ...`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project directory's project, terms, guide and tasks through the API.
    Import(ImportArgs),
}

/// Arguments of `workstream project import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The project directory.
    dir: PathBuf,
    /// The server.
    #[arg(long, env = "WORKSTREAM_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// A project manager's token; without it, a local server's people are used (the
    /// local administrator grants `local-manager` and `local-finance` their roles).
    #[arg(long, env = "WORKSTREAM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A finance authority's token (default: --token).
    #[arg(long, env = "WORKSTREAM_FINANCE_TOKEN", hide_env_values = true)]
    finance_token: Option<String>,
    /// The payment adapter's actor profile id (required with --token).
    #[arg(long)]
    adapter_actor: Option<Uuid>,
    /// The local server's data directory (its token secret).
    #[arg(long, env = "WORKSTREAM_DATA_DIR", default_value = ".workstream")]
    data_dir: PathBuf,
    /// The local access administrator's subject.
    #[arg(long, default_value = crate::local::LOCAL_ADMIN_SUBJECT)]
    admin_subject: String,
    /// The subject of the local payment adapter's service principal.
    #[arg(long, default_value = people::LOCAL_ADAPTER_SUBJECT)]
    adapter_subject: String,
    /// The run id idempotency keys are derived from: rerun with the same id to resume
    /// an interrupted import (default: a fresh one, printed).
    #[arg(long)]
    run_id: Option<String>,
    /// Screen and release every task into the ready queue.
    #[arg(long)]
    release: bool,
    /// The project's slug, instead of project.json's.
    #[arg(long)]
    slug: Option<String>,
}

/// `workstream init`.
pub fn init(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let dir_name = args
        .dir
        .canonicalize()
        .unwrap_or_else(|_| args.dir.clone())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    let name = args.name.clone().unwrap_or_else(|| dir_name.clone());
    let slug = args
        .slug
        .clone()
        .unwrap_or_else(|| embedded::slug_of(&name));
    if !validate::slug_ok(&slug) {
        return Err(CliError::new(
            "project_field_invalid",
            format!("--slug {slug:?}: lowercase letters, digits and dashes"),
        )
        .into());
    }
    embedded::write(
        &args.dir,
        embedded::TEMPLATE,
        &[("{{name}}", &name), ("{{slug}}", &slug)],
    )?;
    println!(
        "created project {name:?} (slug {slug}) in {}: {} files",
        args.dir.display(),
        embedded::TEMPLATE.len()
    );
    println!("next: edit guide.md, policies/ and tasks/, then");
    println!("  workstream policy validate {}", args.dir.display());
    println!(
        "  workstream project import {} --release",
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `workstream policy validate` and `workstream policy preview`.
pub async fn policy(command: &PolicyCommand) -> anyhow::Result<ExitCode> {
    let (dir, json) = match command {
        PolicyCommand::Validate { dir, json } => (dir, json),
        PolicyCommand::Preview(args) => return policy_preview(args).await,
    };
    let mut out = Output::new(*json);
    match validate::validate(dir, &mut out).await? {
        Ok(validated) => {
            if *json {
                println!("{}", serde_json::json!({ "valid": true, "problems": [] }));
            } else {
                println!(
                    "{}: valid ({} checkers, {} of them platform defaults; {} contribution rules; {} tasks)",
                    dir.display(),
                    validated.checkers,
                    validated.default_checkers,
                    validated.rules,
                    validated.tasks
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            if *json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "problems": problems })
                );
            } else {
                for problem in &problems {
                    println!("{problem}");
                }
                println!("{}: {} problem(s)", dir.display(), problems.len());
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// `workstream policy preview` (see [`preview`]).
async fn policy_preview(args: &PreviewArgs) -> anyhow::Result<ExitCode> {
    // Tasks are not previewed: a task file's problem does not keep the policy from
    // being previewed.
    let project = super::load(&args.dir).map_err(|problems| unreadable(&args.dir, &problems))?;
    let client = Client::new(&args.server);
    client.health().await?;
    let mut out = Output::new(args.json);
    out.line(format!(
        "previewing the policy of {} on {}",
        args.dir.display(),
        client.server()
    ));
    let run = Uuid::now_v7().to_string();
    let local;
    let token = match &args.token {
        Some(token) => token.as_str(),
        None => {
            let minter = local_minter(&args.data_dir)?;
            let admin = people::administrator(&client, &minter, &args.admin_subject).await?;
            let mut manager = people::person(
                &client,
                &minter,
                "local-manager",
                workstream_api::auth::SubjectKind::Human,
            )
            .await?;
            people::ensure_system_role(
                &client,
                &admin,
                &mut manager,
                "project_manager",
                &Keys::new(run.clone()),
            )
            .await?;
            out.line(format!("  as        {} (project_manager)", manager.subject));
            local = manager;
            local.token.as_str()
        }
    };
    let options = preview::Options {
        project: args.project,
        submissions: args.submissions,
        wait: std::time::Duration::from_secs(args.wait_seconds),
        poll: std::time::Duration::from_millis(500),
        keys: Keys::new(format!("policy preview {run}")),
    };
    let previewed = preview::preview(&client, token, &project, &options, &mut out).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&previewed.report)?);
    } else {
        for line in preview::describe(&previewed) {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `problems` and makes the error of the first one.
fn unreadable(dir: &Path, problems: &[super::Problem]) -> anyhow::Error {
    for problem in problems {
        eprintln!("{problem}");
    }
    CliError::new(
        problems[0].code.clone(),
        format!(
            "{} cannot be read as a project directory (`workstream policy validate` lists every problem)",
            dir.display()
        ),
    )
    .into()
}

/// `workstream project import`.
pub async fn project(command: &ProjectCommand) -> anyhow::Result<ExitCode> {
    let ProjectCommand::Import(args) = command;
    let project = match super::load(&args.dir) {
        Ok(project) if project.task_problems.is_empty() => project,
        Ok(project) => return Err(unreadable(&args.dir, &project.task_problems)),
        Err(problems) => return Err(unreadable(&args.dir, &problems)),
    };
    let run = args
        .run_id
        .clone()
        .unwrap_or_else(|| Uuid::now_v7().simple().to_string()[20..].to_owned());
    let keys = Keys::new(format!("import {run}"));
    let client = Client::new(&args.server);
    client.health().await?;
    let mut out = Output::new(false);
    println!(
        "importing {} into {} (run {run})",
        args.dir.display(),
        client.server()
    );
    let local;
    let actors = match &args.token {
        Some(token) => {
            let adapter = args.adapter_actor.ok_or_else(|| {
                CliError::new(
                    "adapter_actor_required",
                    "--adapter-actor is required with --token (the payment adapter's actor id)",
                )
            })?;
            import::Actors {
                manager: token,
                finance: args.finance_token.as_deref().unwrap_or(token),
                adapter,
            }
        }
        None => {
            let minter = local_minter(&args.data_dir)?;
            let admin = people::administrator(&client, &minter, &args.admin_subject).await?;
            local = people::crew(
                &client,
                &minter,
                &admin,
                ["local-manager", "local-finance", &args.adapter_subject],
                &Keys::new(Uuid::now_v7().to_string()),
            )
            .await?;
            out.line(format!(
                "  as        {} (project_manager), {} (finance_authority), adapter {}",
                local.manager.subject, local.finance.subject, local.adapter.subject
            ));
            import::Actors {
                manager: &local.manager.token,
                finance: &local.finance.token,
                adapter: local.adapter.id,
            }
        }
    };
    let options = import::Options {
        slug: args.slug.clone(),
        name_suffix: String::new(),
        release: args.release,
        keys,
    };
    let imported = import::import(&client, &actors, &project, &options, &mut out).await?;
    println!(
        "imported project {} ({}): guide active, {} tasks; rerun with --run-id {run} to resume",
        imported.slug,
        imported.project,
        imported.tasks.len()
    );
    Ok(ExitCode::SUCCESS)
}
