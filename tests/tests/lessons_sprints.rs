//! Project lessons and evaluation sprints over HTTP: the lesson lifecycle with its
//! sources, links and audit trail (R51, docs/lifecycle.md), and sprints with their membership
//! and stored report. Review-driven numbers (rates, turnaround, detected lessons) are
//! asserted in `reputation.rs`, which drives real reviews.

mod tasks_common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tasks_common::{get, post, post_key, setup, task_body};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};

async fn audit_events(
    fx: &tasks_common::Fixture,
    entity: Uuid,
) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT event_type, from_status, to_status FROM audit_events WHERE entity_id = $1 ORDER BY occurred_at, id",
    )
    .bind(entity)
    .fetch_all(fx.server.database.pool())
    .await
    .unwrap()
}

fn id(body: &Value) -> Uuid {
    body["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lesson_goes_from_its_source_to_the_change_that_carries_it() {
    let fx = setup().await;
    let p = fx.project;
    let base = format!("/projects/{p}/lessons");
    let task = fx.create_task(task_body("Looping task")).await;

    // Sources: an incident names no record; every other source names one of the project's.
    let (s, incident) = post(
        &fx.server,
        &fx.pm,
        &base,
        json!({"source": "incident", "lesson_type": "risk_note", "summary": "Object store was down for 5 minutes."}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{incident}");
    assert_eq!(incident["status"], "open");
    assert_eq!(incident["guide_id"], json!(fx.guide));
    assert_eq!(incident["guide_version"], "v1");
    assert_eq!(incident["created_by"], json!(fx.pm.id));
    assert_eq!(incident["source_entity_type"], Value::Null);
    assert_eq!(incident["recommended_change"], "");

    let body = json!({"source": "repeated_revision_loop", "source_entity_id": task, "lesson_type": "guide_update",
        "summary": "Reviewers keep asking for the proof of step 3.", "recommended_change": "Add step 3 to the guide."});
    let key = Uuid::now_v7();
    let (s, looping) = post_key(&fx.server, &fx.pm, &base, body.clone(), key).await;
    assert_eq!(s, StatusCode::CREATED, "{looping}");
    assert_eq!(looping["source_entity_type"], "task");
    assert_eq!(looping["source_entity_id"], json!(task));
    // The same key and body replay the stored answer; nothing new is written.
    let (s, replay) = post_key(&fx.server, &fx.pm, &base, body, key).await;
    assert_eq!((s, &replay), (StatusCode::CREATED, &looping));

    for (body, code) in [
        (
            json!({"source": "rejected_task", "lesson_type": "guide_update", "summary": "x"}),
            "lesson_source_required",
        ),
        // The task exists but is not rejected.
        (
            json!({"source": "rejected_task", "source_entity_id": task, "lesson_type": "guide_update", "summary": "x"}),
            "lesson_source_not_found",
        ),
        (
            json!({"source": "checker_failure", "source_entity_id": Uuid::now_v7(), "lesson_type": "checker_update", "summary": "x"}),
            "lesson_source_not_found",
        ),
        (
            json!({"source": "incident", "source_entity_id": task, "lesson_type": "risk_note", "summary": "x"}),
            "invalid_request",
        ),
        (
            json!({"source": "rumour", "lesson_type": "risk_note", "summary": "x"}),
            "invalid_request",
        ),
        (
            json!({"source": "incident", "lesson_type": "risk_note", "summary": "  "}),
            "invalid_request",
        ),
    ] {
        let (s, answer) = post(&fx.server, &fx.pm, &base, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
    }

    // open -> accepted -> implemented, linked to the guide version that carries it.
    let looping_id = id(&looping);
    let lesson = format!("{base}/{looping_id}");
    let (s, accepted) = post(
        &fx.server,
        &fx.pm,
        &format!("{lesson}/accept"),
        json!({"note": "Agreed."}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["closed_at"], Value::Null);
    let (s, again) = post(&fx.server, &fx.pm, &format!("{lesson}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(again["error"]["code"], "transition_not_allowed");
    assert_eq!(
        again["error"]["details"],
        json!({"from": "accepted", "to": "accepted"})
    );

    // The database refuses an implemented lesson that names no change.
    let refused = sqlx::query(
        "UPDATE project_lessons SET status = 'implemented', closed_at = now() WHERE id = $1",
    )
    .bind(looping_id)
    .execute(fx.server.database.pool())
    .await
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("project_lessons_implementation_link"),
        "{refused}"
    );

    let (s, answer) = post(
        &fx.server,
        &fx.pm,
        &format!("{lesson}/implement"),
        json!({"note": "later"}),
    )
    .await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("lesson_implementation_link_required")
        )
    );
    let (s, answer) = post(
        &fx.server,
        &fx.pm,
        &format!("{lesson}/implement"),
        json!({"guide_id": Uuid::now_v7()}),
    )
    .await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("lesson_link_not_found")
        )
    );
    let (s, answer) = post(
        &fx.server,
        &fx.pm,
        &format!("{lesson}/implement"),
        json!({"checker_digest": format!("sha256:{}", "0".repeat(64))}),
    )
    .await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("lesson_link_not_found")
        )
    );
    let (s, implemented) = post(
        &fx.server,
        &fx.pm,
        &format!("{lesson}/implement"),
        json!({"guide_id": fx.guide, "note": "Guide v1 now states step 3."}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{implemented}");
    assert_eq!(implemented["status"], "implemented");
    assert_eq!(implemented["implemented_guide_id"], json!(fx.guide));
    assert_eq!(
        implemented["resolution_note"],
        "Guide v1 now states step 3."
    );
    assert_eq!(implemented["closed_by"], json!(fx.pm.id));
    assert!(implemented["closed_at"].is_string());

    // open -> rejected (a reason is required); a rejected lesson is final.
    let incident_id = id(&incident);
    let (s, answer) = post(
        &fx.server,
        &fx.pm,
        &format!("{base}/{incident_id}/reject"),
        json!({"reason": " "}),
    )
    .await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_reason"))
    );
    let (s, rejected) = post(
        &fx.server,
        &fx.pm,
        &format!("{base}/{incident_id}/reject"),
        json!({"reason": "One-off outage."}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    let (s, answer) = post(
        &fx.server,
        &fx.pm,
        &format!("{base}/{incident_id}/implement"),
        json!({"guide_id": fx.guide}),
    )
    .await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("transition_not_allowed"))
    );
    let (s, _) = post(
        &fx.server,
        &fx.pm,
        &format!("{base}/{}/accept", Uuid::now_v7()),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // One audit event per change, with the states.
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        audit_events(&fx, looping_id).await,
        vec![
            ("project_lesson_recorded".to_owned(), None, some("open")),
            (
                "project_lesson_accepted".to_owned(),
                some("open"),
                some("accepted")
            ),
            (
                "project_lesson_implemented".to_owned(),
                some("accepted"),
                some("implemented")
            ),
        ]
    );
    assert_eq!(
        audit_events(&fx, incident_id).await,
        vec![
            ("project_lesson_recorded".to_owned(), None, some("open")),
            (
                "project_lesson_rejected".to_owned(),
                some("open"),
                some("rejected")
            ),
        ]
    );

    // Lists: by status, paged with a cursor bound to the filter.
    let (s, all) = get(&fx.server, &fx.pm, &format!("{base}?limit=1")).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(all["items"][0]["id"], json!(incident_id));
    let cursor = all["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = get(
        &fx.server,
        &fx.pm,
        &format!("{base}?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(rest["items"][0]["id"], json!(looping_id));
    let (s, wrong) = get(
        &fx.server,
        &fx.pm,
        &format!("{base}?status=open&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        (s, wrong["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_cursor"))
    );
    let (_, implemented_only) =
        get(&fx.server, &fx.pm, &format!("{base}?status=implemented")).await;
    assert_eq!(implemented_only["items"].as_array().unwrap().len(), 1);
    assert_eq!(implemented_only["items"][0]["id"], json!(looping_id));

    // Readers: the project's auditor reads, a submitter of the project is refused (403),
    // a stranger gets the concealed 404.
    let auditor = fx.server.actor("auditor").await;
    fx.server
        .grant_admin(&auditor, AdminRole::AuditAuthority, Some(p))
        .await;
    let (s, _) = get(&fx.server, &auditor, &format!("{base}/{looping_id}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(
        &fx.server,
        &auditor,
        &base,
        json!({"source": "incident", "lesson_type": "risk_note", "summary": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let submitter = fx.contributor("submitter", ProjectRole::Submitter).await;
    let (s, answer) = get(&fx.server, &submitter, &base).await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission_not_granted"))
    );
    let stranger = fx.server.actor("stranger").await;
    let (s, _) = get(&fx.server, &stranger, &base).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sprint_groups_tasks_and_stores_its_report() {
    let fx = setup().await;
    let p = fx.project;
    let base = format!("/projects/{p}/sprints");
    let a = fx.create_task(task_body("Sprint task A")).await;
    let b = fx.create_task(task_body("Sprint task B")).await;
    let c = fx.ready_task("Sprint task C").await;
    let window = json!({"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2100-01-01T00:00:00Z"});
    let body = |name: &str, tasks: Vec<Uuid>| {
        let mut body = window.clone();
        body["name"] = json!(name);
        body["task_ids"] = json!(tasks);
        body
    };

    let (s, sprint) = post(
        &fx.server,
        &fx.pm,
        &base,
        body("Pilot batch 1", vec![b, a, a]),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sprint}");
    let sprint_id = id(&sprint);
    let mut members = vec![a, b];
    members.sort();
    assert_eq!(sprint["task_ids"], json!(members));
    assert_eq!(sprint["report"], Value::Null);
    assert_eq!(sprint["report_generated_at"], Value::Null);

    let (s, answer) = post(&fx.server, &fx.pm, &base, body("Pilot batch 1", vec![a])).await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("sprint_name_exists"))
    );
    let stray = Uuid::now_v7();
    let (s, answer) = post(
        &fx.server,
        &fx.pm,
        &base,
        body("Pilot batch 2", vec![a, stray]),
    )
    .await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("sprint_task_not_found")
        )
    );
    assert_eq!(answer["error"]["details"]["task_ids"], json!([stray]));
    let mut backwards = body("Pilot batch 2", vec![a]);
    backwards["ends_at"] = json!("2019-01-01T00:00:00Z");
    let (s, answer) = post(&fx.server, &fx.pm, &base, backwards).await;
    assert_eq!(
        (s, answer["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("sprint_window_invalid")
        )
    );

    // Adding: a member again is ignored, a new one joins.
    let (s, grown) = post(
        &fx.server,
        &fx.pm,
        &format!("{base}/{sprint_id}/tasks"),
        json!({"task_ids": [a, c]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{grown}");
    let mut members = vec![a, b, c];
    members.sort();
    assert_eq!(grown["task_ids"], json!(members));
    let added: Value = sqlx::query_scalar(
        "SELECT payload FROM audit_events WHERE entity_id = $1 AND event_type = 'evaluation_sprint_tasks_added'",
    )
    .bind(sprint_id)
    .fetch_one(fx.server.database.pool())
    .await
    .unwrap();
    assert_eq!(added["task_ids"], json!([c]));

    // The sprint has no authority over its tasks: nothing about them changed.
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM tasks WHERE id = ANY($1) ORDER BY id")
            .bind(vec![a, b, c])
            .fetch_all(fx.server.database.pool())
            .await
            .unwrap();
    assert_eq!(statuses, vec!["draft", "draft", "ready"]);

    // The report, from the records: no submissions or reviews yet.
    let (s, reported) = post(
        &fx.server,
        &fx.pm,
        &format!("{base}/{sprint_id}/report"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{reported}");
    let report = &reported["report"];
    assert_eq!(report["schema"], "workstream.evaluation_sprint_report.v1");
    assert_eq!(
        report["tasks"],
        json!({"total": 3, "by_status": {"draft": 2, "ready": 1}})
    );
    assert_eq!(report["submissions"], 0);
    assert_eq!(
        report["reviews"],
        json!({"total": 0, "accept": 0, "needs_revision": 0, "reject": 0,
               "acceptance_rate": null, "revision_rate": null, "rejection_rate": null})
    );
    assert_eq!(
        report["review_rounds"],
        json!({"tasks_reviewed": 0, "mean": null, "max": null, "distribution": {}})
    );
    assert_eq!(
        report["turnaround_seconds"],
        json!({"decided_tasks": 0, "p50": null, "p90": null})
    );
    assert_eq!(
        report["checker_failures"],
        json!({"runs": 0, "by_checker": [], "by_finding_code": []})
    );
    assert_eq!(report["payments"], json!({"awards": 0, "by_unit": []}));
    // Reviewer calibration (tests/tests/calibration.rs): nothing sampled without reviews.
    assert_eq!(
        report["calibration"],
        json!({"sampled": 0, "recorded": 0, "waiting": 0, "expired": 0,
               "decisions_agreeing": 0, "decision_agreement_rate": null,
               "mean_finding_overlap": null, "contradicted_accepts": 0, "by_reviewer": []})
    );
    assert!(reported["report_generated_at"].is_string());
    // Stored on the row: a read returns it.
    let (s, read) = get(&fx.server, &fx.pm, &format!("{base}/{sprint_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(read["report"], *report);
    let (_, listed) = get(&fx.server, &fx.pm, &base).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM audit_events WHERE entity_id = $1 ORDER BY occurred_at, id",
    )
    .bind(sprint_id)
    .fetch_all(fx.server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            "evaluation_sprint_created",
            "evaluation_sprint_tasks_added",
            "evaluation_sprint_report_generated"
        ]
    );

    // Who: a reviewer of the project is refused (403), an operator reads but may not write.
    let reviewer = fx.contributor("reviewer", ProjectRole::Reviewer).await;
    let (s, _) = get(&fx.server, &reviewer, &format!("{base}/{sprint_id}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let operator = fx.server.actor("operator").await;
    fx.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let (s, _) = get(&fx.server, &operator, &format!("{base}/{sprint_id}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(
        &fx.server,
        &operator,
        &format!("{base}/{sprint_id}/report"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
