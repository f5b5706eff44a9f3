//! The demo's summary: what the run left on the server, read back over the API at the
//! end (never assembled from the answers along the way), so it shows the records as
//! they are. Printed as tables, or as JSON with `--json`; the demo's test compares it
//! with the database row by row.

use comfy_table::{Table, presets};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;
use workstream_domain::gate::MemberStatus;
use workstream_domain::lifecycle::FindingKind;

use crate::client::Client;
use crate::fixes::CliError;
use crate::people::Person;
use crate::project::import::Imported;

/// Everything the summary shows.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The run id.
    pub run: String,
    /// The server.
    pub server: String,
    /// The project.
    pub project: ProjectRow,
    /// Every task of the project, in import order.
    pub tasks: Vec<TaskRow>,
    /// Every checker run, by task, version and attempt.
    pub checker_runs: Vec<CheckerRunRow>,
    /// Every review decision, by task and time.
    pub reviews: Vec<ReviewRow>,
    /// Every award of the project, in creation order.
    pub awards: Vec<AwardRow>,
    /// The score rows of the run's submitter and reviewer.
    pub reputation: Vec<ReputationRow>,
    /// The evaluation sprint's report.
    pub sprint_report: Value,
}

/// The project.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectRow {
    /// Id.
    pub id: Uuid,
    /// Slug.
    pub slug: String,
    /// Status.
    pub status: String,
}

/// A task and its state.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Where it came from in the project directory.
    pub origin: String,
    /// Its lifecycle state.
    pub status: String,
}

/// A checker run and its verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct CheckerRunRow {
    /// Id.
    pub id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// The submission version it checked.
    pub submission_version: i64,
    /// Attempt number.
    pub attempt: i64,
    /// queued, running, completed or failed.
    pub status: String,
    /// The routing recommendation.
    pub route: String,
    /// Checkers that passed.
    pub passed: usize,
    /// Checkers that passed with warnings.
    pub warning: usize,
    /// Checkers that failed.
    pub failed: usize,
    /// Checkers that could not run.
    pub errored: usize,
}

/// A review decision.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewRow {
    /// Id.
    pub id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// accept, needs_revision or reject.
    pub decision: String,
    /// Blocking findings raised.
    pub blocking_findings: usize,
    /// Advisory findings raised.
    pub advisory_findings: usize,
    /// Prior findings resolved.
    pub resolutions: usize,
}

/// An award and its delivery and fulfilment.
#[derive(Debug, Clone, Serialize)]
pub struct AwardRow {
    /// Id.
    pub id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// accepted_submission or completed_review.
    pub contribution_type: String,
    /// The contributor's actor id.
    pub contributor_id: Uuid,
    /// The contributor's subject in this run.
    pub contributor: String,
    /// money or project_points.
    pub instrument_type: String,
    /// USD, pts, ...
    pub unit_code: String,
    /// The exact quantity.
    pub quantity: String,
    /// The delivery status.
    pub delivery_status: String,
    /// The fulfilment status.
    pub fulfillment_status: String,
}

/// One score row.
#[derive(Debug, Clone, Serialize)]
pub struct ReputationRow {
    /// The actor.
    pub actor_id: Uuid,
    /// Their subject in this run.
    pub subject: String,
    /// submitter or reviewer.
    pub role: String,
    /// `*` (overall) or a skill tag.
    pub skill_tag: String,
    /// The score (0..100, exact decimal).
    pub score: String,
    /// Accepted submissions.
    pub accepted_count: i64,
    /// needs_revision decisions received.
    pub needs_revision_count: i64,
    /// Rejections received.
    pub rejected_count: i64,
    /// Revisions closed by an accept.
    pub revision_closed_count: i64,
    /// Reviews done.
    pub review_count: i64,
    /// Events folded in.
    pub event_count: i64,
}

/// Who reads the summary.
pub struct Readers<'a> {
    /// The project manager (tasks, checker runs, reviews, reputation).
    pub manager: &'a Person,
    /// The finance authority (awards).
    pub finance: &'a Person,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn uuid(value: &Value) -> Uuid {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or_default()
}

/// Reads the summary of the run that made `imported`.
pub async fn read(
    client: &Client,
    readers: &Readers<'_>,
    run: &str,
    imported: &Imported,
    people: &[(&str, &Person)],
    sprint_report: Value,
) -> Result<Summary, CliError> {
    let base = format!("/projects/{}", imported.project);
    let project = client.get(&readers.manager.token, &base).await?;
    let mut tasks = Vec::new();
    let mut checker_runs = Vec::new();
    let mut reviews = Vec::new();
    for task in &imported.tasks {
        let view = client
            .get(&readers.manager.token, &format!("{base}/tasks/{}", task.id))
            .await?;
        tasks.push(TaskRow {
            id: task.id,
            title: task.title.clone(),
            origin: task.origin.clone(),
            status: text(&view["task"]["status"]),
        });
        let runs = client
            .get(
                &readers.manager.token,
                &format!("/tasks/{}/checker-runs", task.id),
            )
            .await?;
        for run in runs["items"].as_array().into_iter().flatten() {
            let results = run["results"].as_array().cloned().unwrap_or_default();
            let count = |status: MemberStatus| {
                results
                    .iter()
                    .filter(|r| r["status"] == status.as_str())
                    .count()
            };
            checker_runs.push(CheckerRunRow {
                id: uuid(&run["id"]),
                task_id: task.id,
                submission_version: int(&run["submission_version"]),
                attempt: int(&run["attempt"]),
                status: text(&run["status"]),
                route: text(&run["route"]),
                passed: count(MemberStatus::Passed),
                warning: count(MemberStatus::Warning),
                failed: count(MemberStatus::Failed),
                errored: count(MemberStatus::Errored),
            });
        }
        let list = client
            .get(
                &readers.manager.token,
                &format!("/tasks/{}/reviews", task.id),
            )
            .await?;
        for review in list["items"].as_array().into_iter().flatten() {
            let findings = review["findings"].as_array().cloned().unwrap_or_default();
            let kind = |k: FindingKind| findings.iter().filter(|f| f["kind"] == k.as_str()).count();
            reviews.push(ReviewRow {
                id: uuid(&review["id"]),
                task_id: task.id,
                decision: text(&review["decision"]),
                blocking_findings: kind(FindingKind::Blocking),
                advisory_findings: kind(FindingKind::Advisory),
                resolutions: review["resolutions"].as_array().map_or(0, Vec::len),
            });
        }
    }
    let name_of = |id: Uuid| {
        people
            .iter()
            .find(|(_, p)| p.id == id)
            .map_or_else(|| id.to_string(), |(_, p)| p.subject.clone())
    };
    let awards_page = client
        .get(
            &readers.finance.token,
            &format!("{base}/compensation/awards?limit=100"),
        )
        .await?;
    let awards = awards_page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let contributor_id = uuid(&a["contributor_id"]);
            AwardRow {
                id: uuid(&a["id"]),
                task_id: uuid(&a["task_id"]),
                contribution_type: text(&a["contribution_type"]),
                contributor_id,
                contributor: name_of(contributor_id),
                instrument_type: text(&a["instrument_type"]),
                unit_code: text(&a["unit_code"]),
                quantity: text(&a["quantity"]),
                delivery_status: text(&a["projection"]["delivery_status"]),
                fulfillment_status: text(&a["projection"]["fulfillment_status"]),
            }
        })
        .collect();
    let mut reputation = Vec::new();
    for (_, person) in people {
        let view = client
            .get(
                &readers.manager.token,
                &format!("{base}/contributors/{}/reputation", person.id),
            )
            .await?;
        for score in view["scores"].as_array().into_iter().flatten() {
            reputation.push(ReputationRow {
                actor_id: person.id,
                subject: person.subject.clone(),
                role: text(&score["role"]),
                skill_tag: text(&score["skill_tag"]),
                score: text(&score["score"]),
                accepted_count: int(&score["accepted_count"]),
                needs_revision_count: int(&score["needs_revision_count"]),
                rejected_count: int(&score["rejected_count"]),
                revision_closed_count: int(&score["revision_closed_count"]),
                review_count: int(&score["review_count"]),
                event_count: int(&score["event_count"]),
            });
        }
    }
    Ok(Summary {
        run: run.to_owned(),
        server: client.server().to_owned(),
        project: ProjectRow {
            id: imported.project,
            slug: imported.slug.clone(),
            status: text(&project["status"]),
        },
        tasks,
        checker_runs,
        reviews,
        awards,
        reputation,
        sprint_report,
    })
}

fn table(title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    println!("\n{title}");
    println!("{table}");
}

/// Prints the summary as tables.
pub fn print(summary: &Summary) {
    let title_of = |id: Uuid| {
        summary
            .tasks
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| id.to_string(), |t| t.title.clone())
    };
    println!(
        "\nSummary of run {} on {}: project {} ({})",
        summary.run, summary.server, summary.project.slug, summary.project.status
    );
    table(
        "Tasks",
        &["task", "from", "state"],
        summary
            .tasks
            .iter()
            .map(|t| vec![t.title.clone(), t.origin.clone(), t.status.clone()])
            .collect(),
    );
    table(
        "Checker runs",
        &[
            "task", "version", "attempt", "run", "route", "passed", "warning", "failed", "errored",
        ],
        summary
            .checker_runs
            .iter()
            .map(|r| {
                vec![
                    title_of(r.task_id),
                    r.submission_version.to_string(),
                    r.attempt.to_string(),
                    r.status.clone(),
                    r.route.clone(),
                    r.passed.to_string(),
                    r.warning.to_string(),
                    r.failed.to_string(),
                    r.errored.to_string(),
                ]
            })
            .collect(),
    );
    table(
        "Review decisions",
        &["task", "decision", "blocking", "advisory", "resolved"],
        summary
            .reviews
            .iter()
            .map(|r| {
                vec![
                    title_of(r.task_id),
                    r.decision.clone(),
                    r.blocking_findings.to_string(),
                    r.advisory_findings.to_string(),
                    r.resolutions.to_string(),
                ]
            })
            .collect(),
    );
    table(
        "Awards",
        &["task", "for", "to", "amount", "delivery", "fulfilment"],
        summary
            .awards
            .iter()
            .map(|a| {
                vec![
                    title_of(a.task_id),
                    a.contribution_type.clone(),
                    a.contributor.clone(),
                    format!("{} {}", a.quantity, a.unit_code),
                    a.delivery_status.clone(),
                    a.fulfillment_status.clone(),
                ]
            })
            .collect(),
    );
    table(
        "Reputation",
        &[
            "who",
            "role",
            "skill",
            "score",
            "accepted",
            "revisions",
            "rejected",
            "reviews",
            "events",
        ],
        summary
            .reputation
            .iter()
            .map(|r| {
                vec![
                    r.subject.clone(),
                    r.role.clone(),
                    r.skill_tag.clone(),
                    r.score.clone(),
                    r.accepted_count.to_string(),
                    r.needs_revision_count.to_string(),
                    r.rejected_count.to_string(),
                    r.review_count.to_string(),
                    r.event_count.to_string(),
                ]
            })
            .collect(),
    );
}
