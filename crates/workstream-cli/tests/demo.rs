//! The README's first showcase, for real: `workstream up` on a fresh data directory
//! with no token secret configured (its first run makes the secret file and the local
//! administrator), then `workstream demo` against it, twice. The JSON summary the demo
//! prints is compared with the database row by row: task states, checker runs and
//! their verdicts, review decisions with their findings and resolutions, awards with
//! delivery, fulfilment and receipts, reputation scores; then the lesson, the sprint
//! report and the audit chains.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::Row;
use uuid::Uuid;

fn workstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workstream"));
    cmd.env_remove("WORKSTREAM_DATABASE_URL")
        .env_remove("WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET")
        .env_remove("WORKSTREAM_FLOW_AUTH_ISSUER")
        .env_remove("WORKSTREAM_FLOW_AUTH_AUDIENCE")
        .env_remove("WORKSTREAM_ENVIRONMENT")
        .env_remove("WORKSTREAM_SERVER")
        .env("WORKSTREAM_LOG", "warn");
    cmd
}

/// Stops `up` with Ctrl-C when the test ends, whatever the outcome.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// The text between `before` and `after` in `line`.
fn between<'a>(line: &'a str, before: &str, after: &str) -> &'a str {
    let start = line
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} in {line:?}"))
        + before.len();
    let end = line[start..]
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} in {line:?}"));
    &line[start..start + end]
}

fn ids(values: &[Value], field: &str) -> Vec<Uuid> {
    values
        .iter()
        .map(|v| v[field].as_str().unwrap().parse().unwrap())
        .collect()
}

fn run_demo(base: &str, data_dir: &Path, json: bool) -> std::process::Output {
    let mut cmd = workstream();
    cmd.args(["demo", "--server", base, "--data-dir"])
        .arg(data_dir);
    if json {
        cmd.arg("--json");
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_the_day_30_cycle_and_its_summary_is_what_the_database_holds() {
    let dir = tempfile::tempdir().unwrap();
    // PostgreSQL runs as `nobody` when the tests run as root; it must reach the dir.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.path().join("state");

    let mut child = workstream()
        .args(["up", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let server = Server(child);
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line);
    }
    let base = lines[0]
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {lines:?}"))
        .to_owned();

    // The first run in `local` made the secret file (0600) and the administrator.
    let secret = data_dir.join("local-hmac-secret");
    assert!(
        lines[1].starts_with(&format!("local token secret: created {}", secret.display())),
        "{lines:?}"
    );
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap().len(), 64);
    assert!(
        lines[2].starts_with("local access administrator `admin` bootstrapped"),
        "{lines:?}"
    );
    // `workstream token` signs with the same file: the administrator's token works.
    let token = workstream()
        .args(["token", "--subject", "admin", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(token.status.success(), "{token:?}");
    let me: Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/actors/me"))
        .bearer_auth(String::from_utf8(token.stdout).unwrap().trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["admin_roles"], json!(["access_administrator"]), "{me}");

    // The database `up` serves, read directly.
    let root = between(&lines[0], "embedded PostgreSQL under ", " (port ");
    let port = between(&lines[0], " (port ", ")");
    let password = std::fs::read_to_string(Path::new(root).join("superuser-password")).unwrap();
    let db = PgPool::connect(&format!(
        "postgres://workstream:{}@127.0.0.1:{port}/workstream",
        password.trim()
    ))
    .await
    .unwrap();
    let audit_rows = |event: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_events WHERE event_type = $1")
                .bind(event)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        audit_rows("admin_role_granted").await,
        1,
        "the bootstrap is audited"
    );

    let out = tokio::task::spawn_blocking({
        let base = base.clone();
        let data_dir = data_dir.clone();
        move || run_demo(&base, &data_dir, true)
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "demo failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps = String::from_utf8_lossy(&out.stderr);
    for step in [
        "[ 1/15]",
        "[ 4/15]",
        "refused: pre_submission_checker_failed",
        "[15/15]",
    ] {
        assert!(steps.contains(step), "{step} not in:\n{steps}");
    }
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let project: Uuid = summary["project"]["id"].as_str().unwrap().parse().unwrap();
    let run = summary["run"].as_str().unwrap();
    assert_eq!(summary["project"]["slug"], format!("retry-docs-{run}"));

    // Tasks: the three of the example, accepted, rejected and still ready.
    let tasks = summary["tasks"].as_array().unwrap();
    let rows = sqlx::query("SELECT id, title, status FROM tasks WHERE project_id = $1 ORDER BY id")
        .bind(project)
        .fetch_all(&db)
        .await
        .unwrap();
    let in_db: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.get::<Uuid, _>("id"), "title": r.get::<String, _>("title"),
                        "status": r.get::<String, _>("status")})
        })
        .collect();
    let printed: Vec<Value> = tasks
        .iter()
        .map(|t| json!({"id": t["id"], "title": t["title"], "status": t["status"]}))
        .collect();
    assert_eq!(printed, in_db);
    let states: Vec<&str> = tasks
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["accepted", "rejected", "ready"]);
    let task_ids = ids(tasks, "id");

    // Checker runs and the verdicts of their checkers.
    let rows = sqlx::query(
        "SELECT r.id, r.task_id, r.submission_version, r.attempt_number, r.status, \
                r.routing_recommendation, \
                count(*) FILTER (WHERE x.status = 'passed') AS passed, \
                count(*) FILTER (WHERE x.status = 'warning') AS warning, \
                count(*) FILTER (WHERE x.status = 'failed') AS failed, \
                count(*) FILTER (WHERE x.status = 'errored') AS errored \
         FROM checker_runs r LEFT JOIN checker_results x ON x.checker_run_id = r.id \
         WHERE r.task_id = ANY($1) GROUP BY r.id \
         ORDER BY array_position($1, r.task_id), r.submission_version, r.attempt_number",
    )
    .bind(&task_ids)
    .fetch_all(&db)
    .await
    .unwrap();
    let in_db: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.get::<Uuid, _>("id"), "task_id": r.get::<Uuid, _>("task_id"),
                   "submission_version": r.get::<i32, _>("submission_version"),
                   "attempt": r.get::<i32, _>("attempt_number"),
                   "status": r.get::<String, _>("status"),
                   "route": r.get::<String, _>("routing_recommendation"),
                   "passed": r.get::<i64, _>("passed"), "warning": r.get::<i64, _>("warning"),
                   "failed": r.get::<i64, _>("failed"), "errored": r.get::<i64, _>("errored")})
        })
        .collect();
    assert_eq!(summary["checker_runs"], json!(in_db));
    let routes: Vec<(i64, &str)> = summary["checker_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["submission_version"].as_i64().unwrap(),
                r["route"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            (1, "allow_review"),
            (2, "allow_review"),
            (1, "allow_review")
        ]
    );
    // The refused pre-submit upload wrote nothing but its audit event.
    let refused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE event_type = 'pre_submission_check_failed' \
         AND entity_id = $1",
    )
    .bind(task_ids[0])
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(refused, 1);
    let submissions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM submissions WHERE task_id = ANY($1)")
            .bind(&task_ids)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        submissions, 3,
        "v1 and v2 of the first task, v1 of the second"
    );

    // Review decisions, their findings and resolutions.
    let rows = sqlx::query(
        "SELECT r.id, r.task_id, r.decision, \
           (SELECT count(*) FROM review_findings f WHERE f.review_id = r.id AND f.finding_kind = 'blocking') AS blocking, \
           (SELECT count(*) FROM review_findings f WHERE f.review_id = r.id AND f.finding_kind = 'advisory') AS advisory, \
           (SELECT count(*) FROM finding_resolutions x WHERE x.review_id = r.id) AS resolutions \
         FROM reviews r WHERE r.task_id = ANY($1) \
         ORDER BY array_position($1, r.task_id), r.completed_at, r.id",
    )
    .bind(&task_ids)
    .fetch_all(&db)
    .await
    .unwrap();
    let in_db: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.get::<Uuid, _>("id"), "task_id": r.get::<Uuid, _>("task_id"),
                   "decision": r.get::<String, _>("decision"),
                   "blocking_findings": r.get::<i64, _>("blocking"),
                   "advisory_findings": r.get::<i64, _>("advisory"),
                   "resolutions": r.get::<i64, _>("resolutions")})
        })
        .collect();
    assert_eq!(summary["reviews"], json!(in_db));
    let decisions: Vec<&str> = summary["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["needs_revision", "accept", "reject"]);

    // Awards, delivered and fulfilled, each with exactly one receipt.
    let rows = sqlx::query(
        "SELECT a.id, c.task_id, a.contribution_type, a.contributor_id, a.instrument_type, \
                a.unit_code, trim_scale(a.quantity)::text AS quantity, p.delivery_status, \
                p.fulfillment_status, \
                (SELECT count(*) FROM compensation_fulfillment_receipts f \
                  WHERE f.compensation_award_id = a.id AND f.reported_status = 'fulfilled') AS receipts \
         FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id \
         JOIN compensation_status_projections p ON p.compensation_award_id = a.id \
         WHERE a.project_id = $1 ORDER BY a.id",
    )
    .bind(project)
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(rows.iter().all(|r| r.get::<i64, _>("receipts") == 1));
    let in_db: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.get::<Uuid, _>("id"), "task_id": r.get::<Uuid, _>("task_id"),
                   "contribution_type": r.get::<String, _>("contribution_type"),
                   "contributor_id": r.get::<Uuid, _>("contributor_id"),
                   "instrument_type": r.get::<String, _>("instrument_type"),
                   "unit_code": r.get::<String, _>("unit_code"),
                   "quantity": r.get::<String, _>("quantity"),
                   "delivery_status": r.get::<String, _>("delivery_status"),
                   "fulfillment_status": r.get::<String, _>("fulfillment_status")})
        })
        .collect();
    let printed: Vec<Value> = summary["awards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.as_object_mut().unwrap().remove("contributor");
            a
        })
        .collect();
    assert_eq!(printed, in_db);
    let mut paid: Vec<(String, String, String)> = summary["awards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["contribution_type"].as_str().unwrap().to_owned(),
                format!(
                    "{} {}",
                    a["quantity"].as_str().unwrap(),
                    a["unit_code"].as_str().unwrap()
                ),
                a["fulfillment_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    paid.sort();
    let fulfilled =
        |t: &str, amount: &str| (t.to_owned(), amount.to_owned(), "fulfilled".to_owned());
    assert_eq!(
        paid,
        [
            fulfilled("accepted_submission", "10 pts"),
            fulfilled("accepted_submission", "12.5 USD"),
            fulfilled("completed_review", "2 USD"),
            fulfilled("completed_review", "2 USD"),
            fulfilled("completed_review", "2 USD"),
        ]
    );

    // Reputation: every score row of the run's submitter and reviewer.
    let people: Vec<Uuid> = {
        let mut people: Vec<Uuid> = ids(summary["reputation"].as_array().unwrap(), "actor_id");
        people.dedup();
        people
    };
    assert_eq!(people.len(), 2, "{}", summary["reputation"]);
    let rows = sqlx::query(
        "SELECT actor_id, role, skill_tag, trim_scale(score)::text AS score, accepted_count, \
                needs_revision_count, rejected_count, revision_closed_count, review_count, event_count \
         FROM reputation_scores WHERE actor_id = ANY($1) \
         ORDER BY array_position($1, actor_id), role DESC, skill_tag <> '*', skill_tag",
    )
    .bind(&people)
    .fetch_all(&db)
    .await
    .unwrap();
    let in_db: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"actor_id": r.get::<Uuid, _>("actor_id"), "role": r.get::<String, _>("role"),
                   "skill_tag": r.get::<String, _>("skill_tag"), "score": r.get::<String, _>("score"),
                   "accepted_count": r.get::<i32, _>("accepted_count"),
                   "needs_revision_count": r.get::<i32, _>("needs_revision_count"),
                   "rejected_count": r.get::<i32, _>("rejected_count"),
                   "revision_closed_count": r.get::<i32, _>("revision_closed_count"),
                   "review_count": r.get::<i32, _>("review_count"),
                   "event_count": r.get::<i64, _>("event_count")})
        })
        .collect();
    let printed: Vec<Value> = summary["reputation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("subject");
            r
        })
        .collect();
    assert_eq!(printed, in_db);
    let overall = |role: &str| {
        summary["reputation"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["role"] == role && r["skill_tag"] == "*")
            .cloned()
            .unwrap()
    };
    let submitter = overall("submitter");
    assert_eq!(
        (
            &submitter["accepted_count"],
            &submitter["needs_revision_count"],
            &submitter["rejected_count"],
            &submitter["revision_closed_count"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(overall("reviewer")["review_count"], 3);

    // The lesson is implemented in the guide; the sprint's report is stored.
    let lesson: (String, Option<Uuid>) =
        sqlx::query_as("SELECT status, guide_id FROM project_lessons WHERE project_id = $1")
            .bind(project)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(lesson.0, "implemented");
    assert!(lesson.1.is_some());
    let report: Value =
        sqlx::query_scalar("SELECT report FROM evaluation_sprints WHERE project_id = $1")
            .bind(project)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(report, summary["sprint_report"]);
    assert_eq!(report["reviews"]["total"], 3);

    // Fresh names: a second run against the same server makes a second project; its
    // tables print on stdout.
    let again = tokio::task::spawn_blocking({
        let base = base.clone();
        let data_dir = data_dir.clone();
        move || run_demo(&base, &data_dir, false)
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    for heading in [
        "Tasks",
        "Checker runs",
        "Review decisions",
        "Awards",
        "Reputation",
    ] {
        assert!(
            printed.contains(&format!("\n{heading}\n")),
            "{heading}:\n{printed}"
        );
    }
    assert!(
        printed.contains("[15/15] evaluation sprint report"),
        "{printed}"
    );
    let projects: i64 =
        sqlx::query_scalar("SELECT count(*) FROM projects WHERE slug LIKE 'retry-docs-%'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(projects, 2);

    db.close().await;
    drop(server);
    let verify = workstream()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
}

#[test]
fn the_demo_says_how_to_start_a_server_when_nothing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let out = workstream()
        .args(["demo", "--server", "http://127.0.0.1:9", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[server_unreachable]: nothing answers at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nfix: start the server in another terminal"),
        "{stderr}"
    );
}
