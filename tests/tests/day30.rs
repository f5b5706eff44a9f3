//! The whole "day 30" cycle (docs/architecture.md) in one test, over HTTP against the
//! real server, sandboxed checkers, object store, worker and PostgreSQL: setup, a task,
//! a submission and its checks, a `needs_revision` with two blocking findings, a
//! resubmission answering both, the accept, the awards, their delivery through the local
//! adapter, the adapter's fulfilment reports, the reputation update, a lesson recorded
//! and implemented, a clean finance reconciliation and a verified audit chain.

mod projects_support;
mod review_support;

use std::time::Duration;

use projects_support::*;
use review_support::*;
use serde_json::{Value, json};
use uuid::Uuid;

/// Polls `sql` (task bound as `$1`) until it returns `expected`.
async fn eventually(s: &Setup, sql: &str, expected: i64) {
    for _ in 0..300 {
        if s.count(sql).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.count(sql).await, expected, "{sql}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_day_30_cycle_runs_end_to_end() {
    // Steps 1-16: project, paid terms (50 USD + 10 pts per accepted submission, 5 USD
    // per review), guide v1 active, a task released, claimed and started.
    let s = setup_with("day30", Terms::Paid, |_| {}).await;
    let ready_terms = get(&s.server, &format!("/tasks/{}", s.task), &s.submitter).await;
    assert_eq!(
        ready_terms.body["task"]["compensation"]["accepted_submission"],
        json!([{"instrument": "money", "unit": "USD", "quantity": "50"},
               {"instrument": "project_points", "unit": "pts", "quantity": "10"}]),
        "{}",
        ready_terms.body
    );

    // Steps 17-19: packet, submission v1, the post-submit checkers admit it.
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let runs = get(
        &s.server,
        &format!("/tasks/{}/checker-runs", s.task),
        &s.submitter,
    )
    .await;
    assert_eq!(
        runs.body["items"][0]["route"], "allow_review",
        "{}",
        runs.body
    );

    // Steps 20-21: the reviewer's offer, lease, packet, and needs_revision with two
    // blocking findings and one advisory.
    let offer = s.current(&s.reviewer).await;
    let entry: Uuid = offer.body["offer"]["queue_entry_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let claimed = s.try_claim(&s.reviewer, Some(entry)).await;
    assert_eq!(claimed.status, 201, "{}", claimed.body);
    let lease: Uuid = claimed.body["lease"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let packet = get(&s.server, &format!("/reviews/leases/{lease}"), &s.reviewer).await;
    assert_eq!(packet.status, 200);
    let rv1 = s
        .decide(
            &s.reviewer,
            lease,
            needs_revision_body(json!([
                blocking("proof", "The base case n = 0 is missing."),
                blocking("evidence", "The test log does not run n = 0."),
                advisory("style", "Number the steps."),
            ])),
        )
        .await;
    assert_eq!(rv1.status, 201, "{}", rv1.body);
    let rv1 = rv1.body;
    assert_eq!(rv1["task"]["status"], "needs_revision");
    assert_eq!(rv1["preparation"]["outcome"], "kept");
    assert_eq!(
        rv1["contributions"][0]["contribution_type"],
        "completed_review"
    );
    assert_eq!(rv1["contributions"][0]["awards"][0]["quantity"], "5");
    let ids = finding_ids(&rv1);

    // Steps 22-24: the submitter reads the context and answers both blockers in v2.
    let context = s.revision_context().await;
    assert_eq!(context["responses_required_for"], json!([ids[0], ids[1]]));
    let answer = s
        .submit(
            good_packet("Base case: for n = 0 both sides are 1. Tests now run n = 0."),
            json!({
                "preparation_id": context["preparation"]["id"],
                "preparation_digest": context["preparation"]["context_digest"],
                "responses": [
                    { "finding_id": ids[0], "response_text": "Added the base case in section 1." },
                    { "finding_id": ids[1], "response_text": "tests.log now includes n = 0." },
                ],
            }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["submission"]["version"], 2);
    assert_eq!(s.evaluated().await, "review_pending");
    let preferred = s.current(&s.reviewer).await;
    assert_eq!(preferred.body["offer"]["preferred_for_you"], true);

    // Step 25: accept, resolving both findings, citing evidence: one commit.
    let lease = s.claim(&s.reviewer).await;
    let resolved =
        |f: &str| json!({ "finding_id": f, "result": "resolved", "rationale": "Verified in v2." });
    let rv2 = s
        .decide(
            &s.reviewer,
            lease,
            accept_body(json!([resolved(&ids[0]), resolved(&ids[1])])),
        )
        .await;
    assert_eq!(rv2.status, 201, "{}", rv2.body);
    let rv2 = rv2.body;
    assert_eq!(rv2["task"]["status"], "accepted");
    let submitter_awards: Vec<(String, String)> = rv2["contributions"][1]["awards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["unit_code"].as_str().unwrap().to_owned(),
                a["quantity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        submitter_awards,
        [
            ("USD".to_owned(), "50".to_owned()),
            ("pts".to_owned(), "10".to_owned())
        ]
    );
    for (sql, expected) in [
        ("SELECT count(*) FROM reviews WHERE task_id = $1", 2),
        (
            "SELECT count(*) FROM final_acceptances WHERE task_id = $1",
            1,
        ),
        (
            "SELECT count(*) FROM contribution_records WHERE task_id = $1",
            3,
        ),
        (
            "SELECT count(*) FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id WHERE c.task_id = $1",
            4,
        ),
        (
            "SELECT count(*) FROM submission_finding_responses r JOIN submissions s ON s.id = r.new_submission_id WHERE s.task_id = $1",
            2,
        ),
        (
            "SELECT count(*) FROM finding_resolutions x JOIN reviews r ON r.id = x.review_id WHERE r.task_id = $1 AND x.result = 'resolved'",
            2,
        ),
    ] {
        assert_eq!(s.count(sql).await, expected, "{sql}");
    }

    // Step 26: the outbox delivers every award; the local adapter acknowledges.
    let awards_of_task = "SELECT count(*) FROM compensation_status_projections p \
        JOIN compensation_awards a ON a.id = p.compensation_award_id \
        JOIN contribution_records c ON c.id = a.contribution_record_id WHERE c.task_id = $1";
    eventually(
        &s,
        &format!("{awards_of_task} AND p.delivery_status = 'acknowledged_by_adapter'"),
        4,
    )
    .await;

    // Step 27: the bound adapter reports each award fulfilled (i.e. paid).
    let awards = get(
        &s.server,
        &format!("/projects/{}/compensation/awards", s.project),
        &s.fin,
    )
    .await;
    assert_eq!(awards.status, 200, "{}", awards.body);
    let items = awards.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4);
    for (i, award) in items.iter().enumerate() {
        let report = post(
            &s.server,
            "/compensation/fulfillment-reports",
            &s.adapter,
            json!({
                "external_event_id": format!("day30-{i}"),
                "award_id": award["id"],
                "status": "fulfilled",
                "fulfilled_quantity": award["quantity"],
                "external_reference": format!("bank-transfer-{i}"),
                "fulfilled_at": chrono::Utc::now(),
                "reported_at": chrono::Utc::now(),
            }),
        )
        .await;
        assert_eq!(report.status, 201, "{}", report.body);
    }
    assert_eq!(
        s.count(&format!(
            "{awards_of_task} AND p.fulfillment_status = 'fulfilled'"
        ))
        .await,
        4
    );
    let mine = get(&s.server, "/me/awards", &s.submitter).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 2);

    // Reputation: the job after each decision wrote the events; scores are up to date.
    eventually(
        &s,
        "SELECT count(DISTINCT review_id) FROM reputation_events WHERE task_id = $1",
        2,
    )
    .await;
    let rep = get(&s.server, "/me/reputation", &s.submitter).await;
    assert_eq!(rep.status, 200, "{}", rep.body);
    let overall = rep.body["scores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "submitter" && r["skill_tag"] == "*")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(overall["accepted_count"], 1, "{}", rep.body);
    assert_eq!(overall["needs_revision_count"], 1, "{}", rep.body);
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM reputation_events WHERE task_id = $1 AND role = 'submitter' ORDER BY created_at, event_type",
    )
    .bind(s.task)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert!(events.contains(&"accepted".to_owned()), "{events:?}");
    assert!(events.contains(&"needs_revision".to_owned()), "{events:?}");
    assert!(events.contains(&"revision_closed".to_owned()), "{events:?}");

    // Step 28: finance reconciles (nothing to report), the PM records a lesson from
    // the first finding and implements it in the guide, the audit chain verifies.
    let report = get(
        &s.server,
        &format!("/projects/{}/compensation/reconciliation", s.project),
        &s.fin,
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["findings"], json!([]), "{}", report.body);
    let lesson = post(
        &s.server,
        &format!("/projects/{}/lessons", s.project),
        &s.pm,
        json!({ "source": "reviewer_finding", "source_entity_id": ids[0], "lesson_type": "guide_update",
                "summary": "F1 recurring: proofs by induction miss the base case.",
                "recommended_change": "The guide asks for the base case explicitly." }),
    )
    .await;
    assert_eq!(lesson.status, 201, "{}", lesson.body);
    let lesson_path = format!(
        "/projects/{}/lessons/{}",
        s.project,
        lesson.body["id"].as_str().unwrap()
    );
    let accepted = post(
        &s.server,
        &format!("{lesson_path}/accept"),
        &s.pm,
        json!({}),
    )
    .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let implemented = post(
        &s.server,
        &format!("{lesson_path}/implement"),
        &s.pm,
        json!({ "guide_id": s.guide, "note": "Guide v1 states the base case rule." }),
    )
    .await;
    assert_eq!(implemented.status, 200, "{}", implemented.body);
    assert_eq!(implemented.body["status"], "implemented");

    assert!(s.server.seal_audit().await > 0);
    let ledger = s.server.verify_audit().await;
    assert!(ledger.ok(), "{:?}", ledger.problems);
    assert_eq!(ledger.unsealed, 0);
    assert_eq!(
        s.status().await,
        "accepted",
        "payment never changes acceptance"
    );
}
