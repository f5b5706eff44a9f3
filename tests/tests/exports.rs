//! Reads and exports for the people who answer for a project: its audit events (filtered,
//! paged, exported as CSV or JSON lines), the manager's task list and finance's award
//! list as files, and people named, never shown as ids.

mod projects_support;
mod review_support;

use projects_support::*;
use review_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_e2e::TestActor;

/// GET `path` as `actor`: the status, the content type and the body as text.
async fn download(s: &Setup, path: &str, actor: &TestActor) -> (u16, String, String) {
    let response = s
        .server
        .client
        .get(s.server.url(&format!("/api/v1{path}")))
        .header("authorization", actor.auth())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

/// Every item of a paged list, following `next_cursor` with pages of `limit`.
async fn walk(s: &Setup, path: &str, actor: &TestActor, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    let joiner = if path.contains('?') { '&' } else { '?' };
    loop {
        let page = get(
            &s.server,
            &format!("{path}{joiner}limit={limit}&cursor={cursor}"),
            actor,
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        items.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return items,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_filters_pages_and_exports_a_projects_audit_events() {
    let s = in_review("exports-audit", Terms::Paid).await;
    let auditor = s.server.actor("exports-auditor").await;
    s.server
        .grant_admin(&auditor, AdminRole::AuditAuthority, Some(s.project))
        .await;
    let answer = s.accept(json!([])).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    // The decision's jobs (award delivery, reputation) write events of their own: let
    // them finish, so that the pages, the rows and the export read one history.
    s.jobs_drained().await;
    let events = format!("/projects/{}/audit-events", s.project);

    // Every page in time order; together they are the project's events, each once.
    let all = walk(&s, &events, &auditor, 7).await;
    let stored: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM audit_events WHERE project_id = $1 ORDER BY occurred_at, id",
    )
    .bind(s.project)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    let ids: Vec<Uuid> = all
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(stored.len() > 7, "more than one page: {}", stored.len());
    assert_eq!(ids, stored);

    // A filter by type: the submitter's claim, by name (a first access leaves the name
    // empty: the subject shows).
    let claims = get(
        &s.server,
        &format!("{events}?event_type=task_claimed"),
        &auditor,
    )
    .await;
    assert_eq!(claims.status, 200, "{}", claims.body);
    let items = claims.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", claims.body);
    assert_eq!(items[0]["actor_id"], json!(s.submitter.id));
    let subject: String =
        sqlx::query_scalar("SELECT subject FROM actor_identity_links WHERE actor_profile_id = $1")
            .bind(s.submitter.id)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(items[0]["actor_name"], json!(subject));
    assert_eq!(items[0]["entity_id"], json!(s.task));

    // By entity, and a time window that excludes everything.
    let about_task = walk(&s, &format!("{events}?entity_id={}", s.task), &auditor, 100).await;
    assert!(about_task.iter().all(|e| e["entity_id"] == json!(s.task)));
    assert!(!about_task.is_empty());
    let future = get(
        &s.server,
        &format!("{events}?since=2999-01-01T00:00:00Z"),
        &auditor,
    )
    .await;
    assert_eq!(future.body["items"], json!([]));

    // A cursor continues only the list it came from; unknown parameters are refused.
    let first = get(&s.server, &format!("{events}?limit=2"), &auditor).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let carried = get(
        &s.server,
        &format!("{events}?event_type=task_claimed&cursor={cursor}"),
        &auditor,
    )
    .await;
    assert_eq!(carried.status, 422, "{}", carried.body);
    assert_eq!(carried.code(), "invalid_cursor");
    let unknown = get(&s.server, &format!("{events}?sort=desc"), &auditor).await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.code(), "invalid_request");

    // The export: the same events, as JSON lines and as CSV with a header.
    let (status, kind, body) =
        download(&s, &format!("{events}/export?format=jsonl"), &auditor).await;
    assert_eq!((status, kind.as_str()), (200, "application/x-ndjson"));
    let lines: Vec<Value> = body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, all);
    let (status, kind, body) = download(&s, &format!("{events}/export"), &auditor).await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "occurred_at",
            "event_type",
            "entity_type",
            "entity_id",
            "from_status",
            "to_status",
            "actor_id",
            "actor_name",
            "reason",
            "payload",
            "correlation_id",
            "digest",
            "leaf_index",
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), all.len());
    for (row, event) in rows.iter().zip(&all) {
        assert_eq!(row[0], *event["id"].as_str().unwrap());
        assert_eq!(row[2], *event["event_type"].as_str().unwrap());
        let payload: Value = serde_json::from_str(&row[10]).unwrap();
        assert_eq!(payload, event["payload"]);
    }

    // Nobody else learns the project exists.
    for who in [&s.submitter, &s.fin] {
        let answer = get(&s.server, &events, who).await;
        assert_eq!(answer.status, 404, "{}", answer.body);
        let (status, _, _) = download(&s, &format!("{events}/export"), who).await;
        assert_eq!(status, 404);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn managers_and_finance_export_their_lists_with_people_named_and_formulas_defused() {
    let s = in_review("exports-lists", Terms::Paid).await;
    // A name a spreadsheet would run as a formula.
    let named = send(
        &s.server,
        reqwest::Method::PATCH,
        "/actors/me",
        &s.submitter,
        Some(json!({ "display_name": "=HYPERLINK(\"http://x\")" })),
        None,
    )
    .await;
    assert_eq!(named.status, 200, "{}", named.body);
    assert_eq!(named.body["name"], "=HYPERLINK(\"http://x\")");
    let answer = s.accept(json!([])).await;
    assert_eq!(answer.status, 201, "{}", answer.body);

    // The manager's task list.
    let (status, kind, body) =
        download(&s, &format!("/projects/{}/tasks/export", s.project), &s.pm).await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "text/csv; charset=utf-8"),
        "{body}"
    );
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "title",
            "status",
            "task_type",
            "difficulty",
            "estimated_time_minutes",
            "deadline_at",
            "external_task_id",
            "assignee_id",
            "assignee_name",
            "assigned_at",
            "guide_version",
            "created_at",
            "updated_at",
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows
        .iter()
        .find(|r| r[0] == s.task.to_string())
        .expect("the task is exported");
    assert_eq!(&row[2], "accepted");
    let jsonl = download(
        &s,
        &format!("/projects/{}/tasks/export?format=jsonl", s.project),
        &s.pm,
    )
    .await
    .2;
    assert_eq!(jsonl.lines().count(), rows.len());

    // Finance's awards: the contributor by name, the formula made inert, the task titled.
    let (status, _, body) = download(
        &s,
        &format!("/projects/{}/compensation/awards/export", s.project),
        &s.fin,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM compensation_awards WHERE project_id = $1")
            .bind(s.project)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(rows.len() as i64, stored);
    let submitter_rows: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| r[column("contributor_id")] == s.submitter.id.to_string())
        .collect();
    assert_eq!(submitter_rows.len(), 2, "50 USD and 10 points");
    for row in submitter_rows {
        assert_eq!(
            &row[column("contributor_name")],
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(&row[column("task_id")], s.task.to_string());
        assert!(!row[column("task_title")].is_empty());
    }
    // A manager is not finance.
    let (status, _, _) = download(
        &s,
        &format!("/projects/{}/compensation/awards/export", s.project),
        &s.pm,
    )
    .await;
    assert_eq!(status, 404);
}
