//! `workstream policy preview <dir>`: what a project directory's policy would do to the
//! packets its project already holds, before anyone activates it.
//!
//! The steps, each through the API as the project's manager:
//!
//! 1. the project: `--project ID`, or the one whose slug is `project.json`'s (paging
//!    `GET /projects`);
//! 2. every component of `checkers/*.wasm`, published to the server's registry
//!    (`POST /checkers`; the same bytes published before are a no-op), so the policy can
//!    pin them by digest, as `project import` does;
//! 3. a draft guide holding the directory's `guide.md` and bundle ([`draft`] says which
//!    draft);
//! 4. a policy preview of that draft (`POST .../guides/{gid}/previews`, `--submissions`
//!    or the server's maximum), polled until it completes or fails, with its progress on
//!    stderr;
//! 5. per checker the submissions it newly fails and newly passes, the route flips and
//!    the totals (with `--json`, the whole report on stdout instead).
//!
//! The server runs the preview in the background behind live evaluations and never
//! touches a submission, run or task (`workstream_engine::previews`). A refusal (a bundle
//! the activation gate would refuse, a project without evaluated submissions) or a
//! failed preview ends the command with its code and exit status 1.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::machines::preview::PreviewStatus;
use workstream_domain::machines::project::GuideStatus;

use super::Project;
use crate::client::{Client, Keys};
use crate::fixes::CliError;
use crate::people::id;
use crate::progress::Output;

/// How to preview.
pub struct Options {
    /// The project, or `None` to find it by the directory's slug.
    pub project: Option<Uuid>,
    /// How many submissions, or `None` for the server's maximum.
    pub submissions: Option<u32>,
    /// How long to wait for the preview to end.
    pub wait: Duration,
    /// How often to read it while waiting.
    pub poll: Duration,
    /// The run's idempotency keys.
    pub keys: Keys,
}

/// What the preview ran on, and its report.
#[derive(Debug, Clone)]
pub struct Previewed {
    /// The project.
    pub project: Uuid,
    /// The draft guide previewed.
    pub guide: Uuid,
    /// Its version label.
    pub version: String,
    /// The report (`GET .../previews/{id}`), completed.
    pub report: Value,
}

/// Runs the steps of the module docs as `token`, reporting on `out`; the completed
/// report, or the refusal or failure as a [`CliError`].
pub async fn preview(
    client: &Client,
    token: &str,
    project: &Project,
    options: &Options,
    out: &mut Output,
) -> Result<Previewed, CliError> {
    let keys = &options.keys;
    let project_id = match options.project {
        Some(id) => id,
        None => by_slug(client, token, &project.project.slug).await?,
    };
    let base = format!("/projects/{project_id}");
    for path in &project.components {
        let shown = path
            .strip_prefix(&project.root)
            .unwrap_or(path)
            .display()
            .to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::new("project_file_unreadable", format!("{shown}: {e}")))?;
        let (created, record) = client
            .publish_checker(token, bytes, keys.key(&format!("checker {shown}")))
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
    }

    let (guide_id, version, made) = draft(client, token, &base, project, keys).await?;
    out.line(format!("  guide     {version} draft {made}  {guide_id}"));

    let previews = format!("{base}/guides/{guide_id}/previews");
    let body = match options.submissions {
        Some(n) => json!({ "submissions": n }),
        None => json!({}),
    };
    let started = client
        .post(token, &previews, &body, keys.key("preview"))
        .await?;
    let preview_id = id(&started, "/id")?;
    let count = started["submission_count"].as_i64().unwrap_or_default();
    out.line(format!(
        "  preview   {preview_id} over the {count} most recent submissions"
    ));

    let report_path = format!("{previews}/{preview_id}");
    let deadline = Instant::now() + options.wait;
    let mut shown = -1;
    let report = loop {
        let report = client.get(token, &report_path).await?;
        let status = report["preview"]["status"].as_str().unwrap_or_default();
        let recorded = report["preview"]["results_recorded"]
            .as_i64()
            .unwrap_or_default();
        if recorded != shown {
            shown = recorded;
            eprintln!("preview {preview_id}: {recorded}/{count} submissions checked ({status})");
        }
        if status == PreviewStatus::Completed.as_str() {
            break report;
        }
        if status == PreviewStatus::Failed.as_str() {
            let detail = report["preview"]["failure_detail"]
                .as_str()
                .unwrap_or("no reason recorded");
            return Err(CliError::new(
                "policy_preview_failed",
                format!("the policy preview {preview_id} failed: {detail}"),
            )
            .with_details(json!({ "preview_id": preview_id, "failure_detail": detail })));
        }
        if Instant::now() >= deadline {
            return Err(CliError::new(
                "policy_preview_timeout",
                format!(
                    "the policy preview {preview_id} did not end within {}s ({recorded}/{count} \
                     submissions checked); it goes on on the server: GET /api/v1{report_path}",
                    options.wait.as_secs()
                ),
            ));
        }
        tokio::time::sleep(options.poll).await;
    };
    Ok(Previewed {
        project: project_id,
        guide: guide_id,
        version,
        report,
    })
}

/// The id of the project whose slug is `slug`, among those `token` may see.
async fn by_slug(client: &Client, token: &str, slug: &str) -> Result<Uuid, CliError> {
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/projects?limit=100&cursor={c}"),
            None => "/projects?limit=100".to_owned(),
        };
        let page = client.get(token, &path).await?;
        for item in page["items"].as_array().into_iter().flatten() {
            if item["slug"].as_str() == Some(slug) {
                return id(item, "/id");
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                return Err(CliError::new(
                    "preview_project_unknown",
                    format!(
                        "no project with the slug {slug:?} (project.json) is visible to this \
                         manager on {}",
                        client.server()
                    ),
                ));
            }
        }
    }
}

/// The draft guide to preview, with the directory's content and bundle: (id, version,
/// what was done). The directory's guide version when the project has no guide of
/// that version yet (created: the draft a manager activates later) or has it as a draft
/// (updated from the directory); else `<version>-preview`, created or updated the same
/// way; else, when even that is no longer a draft, `<version>-preview-<run>`.
async fn draft(
    client: &Client,
    token: &str,
    base: &str,
    project: &Project,
    keys: &Keys,
) -> Result<(Uuid, String, &'static str), CliError> {
    let guides = guides(client, token, base).await?;
    let file = &project.project.guide;
    let body = |version: &str| {
        json!({ "version": version, "content_markdown": project.guide_markdown,
                "change_summary": file.change_summary, "policy_bundle": project.bundle })
    };
    let stem: String = file.version.chars().take(48).collect();
    let candidates = [
        file.version.clone(),
        format!("{stem}-preview"),
        format!(
            "{stem}-preview-{}",
            &keys.key("draft label").simple().to_string()[..8]
        ),
    ];
    for version in candidates {
        match guides
            .iter()
            .find(|g| g["version"].as_str() == Some(&version))
        {
            None => {
                let made = client
                    .post(
                        token,
                        &format!("{base}/guides"),
                        &body(&version),
                        keys.key(&format!("guide {version}")),
                    )
                    .await?;
                return Ok((id(&made, "/id")?, version, "created"));
            }
            Some(guide) if guide["status"].as_str() == Some(GuideStatus::Draft.as_str()) => {
                let guide_id = id(guide, "/id")?;
                let mut changes = body(&version);
                if let Some(changes) = changes.as_object_mut() {
                    changes.remove("version");
                }
                client
                    .patch(
                        token,
                        &format!("{base}/guides/{guide_id}"),
                        &changes,
                        keys.key(&format!("guide {version} update")),
                    )
                    .await?;
                return Ok((guide_id, version, "updated from the directory"));
            }
            Some(_) => {}
        }
    }
    Err(CliError::new(
        "unexpected_answer",
        "every draft label the preview tries is taken by an active or superseded guide",
    ))
}

/// Every guide of the project (`GET {base}/guides`, all pages).
async fn guides(client: &Client, token: &str, base: &str) -> Result<Vec<Value>, CliError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}/guides?limit=100&cursor={c}"),
            None => format!("{base}/guides?limit=100"),
        };
        let page = client.get(token, &path).await?;
        all.extend(page["items"].as_array().into_iter().flatten().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(all),
        }
    }
}

/// The report as lines: per checker the submissions it newly fails and newly passes,
/// the route flips, and the totals.
pub fn describe(previewed: &Previewed) -> Vec<String> {
    let preview = &previewed.report["preview"];
    let summary = &preview["summary"];
    let n = |v: &Value| v.as_u64().unwrap_or_default();
    let ids = |v: &Value| -> String {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = vec![format!(
        "preview {} of draft {} ({}) of project {}: {} submissions",
        preview["id"].as_str().unwrap_or_default(),
        previewed.version,
        previewed.guide,
        previewed.project,
        n(&summary["submissions"]),
    )];
    lines.push("checkers (newly failing / newly passing submissions):".into());
    for checker in summary["checkers"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  {:<32} {:>4} / {}",
            checker["checker"].as_str().unwrap_or_default(),
            n(&checker["newly_failing"]),
            n(&checker["newly_passing"]),
        ));
        if n(&checker["newly_failing"]) > 0 {
            lines.push(format!(
                "    newly failing: {}",
                ids(&checker["newly_failing_submissions"])
            ));
        }
        if n(&checker["newly_passing"]) > 0 {
            lines.push(format!(
                "    newly passing: {}",
                ids(&checker["newly_passing_submissions"])
            ));
        }
    }
    let flips = summary["route_flips"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if flips.is_empty() {
        lines.push("routes: no submission's route changes".into());
    } else {
        lines.push("routes (recorded -> under the draft):".into());
        for flip in &flips {
            lines.push(format!(
                "  {} -> {}: {}  {}",
                flip["from"].as_str().unwrap_or_default(),
                flip["to"].as_str().unwrap_or_default(),
                n(&flip["count"]),
                ids(&flip["submission_ids"]),
            ));
        }
    }
    lines.push(format!(
        "totals: {} submissions, {} checked, {} refused at intake, {} unreadable; {} routes \
         change; findings {} appear, {} disappear; {} results reused, {} run",
        n(&summary["submissions"]),
        n(&summary["checked"]),
        n(&summary["intake_refused"]),
        n(&summary["material_unavailable"]),
        n(&summary["route_changed"]),
        n(&summary["findings_appeared"]),
        n(&summary["findings_disappeared"]),
        n(&summary["reused_results"]),
        n(&summary["checked_results"]),
    ));
    lines
}
