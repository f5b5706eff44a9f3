//! `workstream project import <dir>`: a project directory made into records through
//! the API, in the order the activation gate needs them:
//!
//! 1. the project (manager);
//! 2. the units, the adapter bindings, the contribution policy draft, its terms and
//!    its publication (finance);
//! 3. every component of `checkers/*.wasm`, published to the server's registry
//!    (`POST /checkers`, manager; the same bytes published before are a no-op), so
//!    that the guide's policy can pin them by digest;
//! 4. the guide draft with `guide.md` and the bundle of the policy files, and its
//!    activation (manager), which binds the published terms;
//! 5. every task of `tasks/` (manager), and with `--release` each one screened and
//!    released into the ready queue (each step taken only from the state it starts in,
//!    so a rerun does not ask the server to replay a transition the task has passed).
//!
//! Every call carries an `Idempotency-Key` derived from the run id and the item
//! (`Keys`), so rerunning an interrupted import with the same `--run-id` replays what
//! was made and continues; the first refusal stops the import with the API's code (and
//! what was made before it stays, as the API made it).

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::lifecycle::TaskState;
use workstream_domain::machines::project::ProjectStatus;

use super::Project;
use crate::client::{Client, Keys};
use crate::fixes::CliError;
use crate::people::id;
use crate::progress::{self, Output};

/// Who the import acts as.
pub struct Actors<'a> {
    /// A project manager's token.
    pub manager: &'a str,
    /// A finance authority's token.
    pub finance: &'a str,
    /// The payment adapter's actor profile (the bindings' adapter).
    pub adapter: Uuid,
}

/// How to import.
pub struct Options {
    /// The slug, instead of `project.json`'s (the demo's is `<slug>-<run>`).
    pub slug: Option<String>,
    /// Appended to the name, or nothing.
    pub name_suffix: String,
    /// Screen and release every task.
    pub release: bool,
    /// The run's idempotency keys.
    pub keys: Keys,
}

/// A task made by the import.
#[derive(Debug, Clone)]
pub struct ImportedTask {
    /// Where it came from (`tasks/task.json`, `tasks/tasks.csv:3`).
    pub origin: String,
    /// Its id.
    pub id: Uuid,
    /// Its title.
    pub title: String,
    /// Its status after the import.
    pub status: String,
}

/// What the import made.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The project.
    pub project: Uuid,
    /// Its slug.
    pub slug: String,
    /// The active guide.
    pub guide: Uuid,
    /// The tasks, in the directory's order.
    pub tasks: Vec<ImportedTask>,
}

/// Imports `project` (see the module docs), reporting each record on `out`.
pub async fn import(
    client: &Client,
    actors: &Actors<'_>,
    project: &Project,
    options: &Options,
    out: &mut Output,
) -> Result<Imported, CliError> {
    let keys = &options.keys;
    let file = &project.project;
    let contribution = &project.contribution;
    let task_steps = if options.release { 3 } else { 1 };
    let total = 6
        + project.components.len()
        + contribution.units.len()
        + contribution.bindings.len()
        + project.tasks.len() * task_steps;
    out.set_bar(progress::steps(total as u64, "import"));
    let step = |out: &Output, message: String| {
        out.bar().set_message(message);
    };

    let slug = options.slug.clone().unwrap_or_else(|| file.slug.clone());
    step(out, format!("project {slug}"));
    let made = client
        .post(
            actors.manager,
            "/projects",
            &json!({ "name": format!("{}{}", file.name, options.name_suffix), "slug": slug,
                     "description": file.description }),
            keys.key("project"),
        )
        .await?;
    let project_id = id(&made, "/id")?;
    out.line(format!(
        "  project   {slug}  {project_id}  ({})",
        made["status"]
            .as_str()
            .unwrap_or(ProjectStatus::Draft.as_str())
    ));
    out.bar().inc(1);

    let base = format!("/projects/{project_id}");
    for unit in &contribution.units {
        step(out, format!("unit {}", unit.unit_code));
        client
            .post(
                actors.finance,
                &format!("{base}/compensation-units"),
                &json!({ "instrument_type": unit.instrument_type, "unit_code": unit.unit_code }),
                keys.key(&format!("unit {} {}", unit.instrument_type, unit.unit_code)),
            )
            .await?;
        out.line(format!(
            "  unit      {} ({})",
            unit.unit_code, unit.instrument_type
        ));
        out.bar().inc(1);
    }
    let mut bindings = Vec::new();
    for binding in &contribution.bindings {
        step(out, format!("binding {}", binding.route_key));
        let made = client
            .post(
                actors.finance,
                &format!("{base}/adapter-bindings"),
                &json!({ "instrument_type": binding.instrument_type,
                         "adapter_actor_id": actors.adapter, "route_key": binding.route_key }),
                keys.key(&format!("binding {}", binding.instrument_type)),
            )
            .await?;
        let binding_id = id(&made, "/id")?;
        out.line(format!(
            "  binding   {} -> {}  {binding_id}",
            binding.instrument_type, binding.route_key
        ));
        bindings.push((binding.instrument_type.clone(), binding_id));
        out.bar().inc(1);
    }

    step(out, "contribution policy".into());
    let draft = client
        .post(
            actors.finance,
            &format!("{base}/contribution-policies/drafts"),
            &json!({ "name": contribution.name }),
            keys.key("contribution policy draft"),
        )
        .await?;
    let policy = id(&draft, "/contribution_policy_id")?;
    let version = id(&draft, "/contribution_policy_version_id")?;
    out.bar().inc(1);
    let terms = contribution.terms(|instrument| {
        bindings
            .iter()
            .find(|(i, _)| i == instrument)
            .map(|(_, b)| b.to_string())
    });
    let version_path = format!("{base}/contribution-policies/{policy}/versions/{version}");
    client
        .put(
            actors.finance,
            &version_path,
            &terms,
            keys.key("contribution terms"),
        )
        .await?;
    out.bar().inc(1);
    client
        .post(
            actors.finance,
            &format!("{version_path}/publication"),
            &json!({}),
            keys.key("contribution publication"),
        )
        .await?;
    out.line(format!(
        "  terms     {:?}, {} rules, published  {version}",
        contribution.name,
        contribution.rules.len()
    ));
    out.bar().inc(1);

    for path in &project.components {
        let shown = path
            .strip_prefix(&project.root)
            .unwrap_or(path)
            .display()
            .to_string();
        step(out, format!("checker {shown} (the server compiles it)"));
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::new("project_file_unreadable", format!("{shown}: {e}")))?;
        let (created, record) = client
            .publish_checker(actors.manager, bytes, keys.key(&format!("checker {shown}")))
            .await?;
        out.line(format!(
            "  checker   {} {} {}  {}",
            record["name"].as_str().unwrap_or_default(),
            record["version"].as_str().unwrap_or_default(),
            if created {
                "published"
            } else {
                "already published"
            },
            record["digest"].as_str().unwrap_or_default(),
        ));
        out.bar().inc(1);
    }

    step(out, format!("guide {}", file.guide.version));
    let guide = client
        .post(
            actors.manager,
            &format!("{base}/guides"),
            &json!({ "version": file.guide.version, "content_markdown": project.guide_markdown,
                     "change_summary": file.guide.change_summary,
                     "policy_bundle": project.bundle }),
            keys.key("guide"),
        )
        .await?;
    let guide_id = id(&guide, "/id")?;
    out.bar().inc(1);
    let activated = client
        .post(
            actors.manager,
            &format!("{base}/guides/{guide_id}/activate"),
            &json!({}),
            keys.key("guide activation"),
        )
        .await?;
    let checkers = activated
        .pointer("/guide/policy_bundle/checker_policy/checkers")
        .or_else(|| activated.pointer("/policy_bundle/checker_policy/checkers"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    out.line(format!(
        "  guide     {} active ({checkers} checkers pinned)  {guide_id}",
        file.guide.version
    ));
    out.bar().inc(1);

    let mut tasks = Vec::new();
    for entry in &project.tasks {
        let title = entry
            .body
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        step(out, format!("task {title}"));
        let made = client
            .post(
                actors.manager,
                &format!("{base}/tasks"),
                &Value::Object(entry.body.clone()),
                keys.key(&format!("task {}", entry.origin)),
            )
            .await?;
        let task_id = id(&made, "/task/id")?;
        let mut status = made["task"]["status"]
            .as_str()
            .unwrap_or(TaskState::Draft.as_str())
            .to_owned();
        out.bar().inc(1);
        if options.release {
            // A replayed run finds the task where the first run left it; the server
            // refuses to replay a transition the task has moved past (R15), so each
            // step is taken only from the state it starts in.
            let current = client
                .get(actors.manager, &format!("{base}/tasks/{task_id}"))
                .await?;
            status = current["task"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for (from, action, body) in [
                (TaskState::Draft, "screen", json!({})),
                (
                    TaskState::Screening,
                    "release",
                    json!({ "reason": "imported from the project directory" }),
                ),
            ] {
                if status == from.as_str() {
                    let answer = client
                        .post(
                            actors.manager,
                            &format!("/tasks/{task_id}/{action}"),
                            &body,
                            keys.key(&format!("task {} {action}", entry.origin)),
                        )
                        .await?;
                    status = answer["task"]["status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                }
                out.bar().inc(1);
            }
        }
        out.line(format!(
            "  task      {title:?} ({}) {status}  {task_id}",
            entry.origin
        ));
        tasks.push(ImportedTask {
            origin: entry.origin.clone(),
            id: task_id,
            title,
            status,
        });
    }
    out.finish();
    Ok(Imported {
        project: project_id,
        slug,
        guide: guide_id,
        tasks,
    })
}
