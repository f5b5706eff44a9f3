//! Reviewer calibration over HTTP against the real server, pipeline, worker and database
//! (docs/rules.md R52): with a review policy that samples every decided submission, an
//! accepted submission is offered, blind to its decision, to a second qualified reviewer
//! (never its submitter, never its first reviewer, in the engine and in the database),
//! claimed, read and decided; the contradicted accept opens a lesson and costs the first
//! reviewer `sampled_quality_concern`; the agreement figures and the sprint report show
//! it; and nothing of the first review, its task, contributions or awards changes.

mod projects_support;
mod review_support;

use projects_support::*;
use review_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::ProjectRole;

/// Everything the first decision wrote, as rows: what the second review must not touch.
const FIRST_OUTCOME: &str = "SELECT jsonb_build_object( \
    'task', (SELECT to_jsonb(t) - 'updated_at' FROM tasks t WHERE t.id = $1), \
    'reviews', (SELECT jsonb_agg(to_jsonb(r) ORDER BY r.id) FROM reviews r WHERE r.task_id = $1), \
    'findings', (SELECT jsonb_agg(to_jsonb(f) ORDER BY f.id) FROM review_findings f \
                 JOIN reviews r ON r.id = f.review_id WHERE r.task_id = $1), \
    'acceptances', (SELECT jsonb_agg(to_jsonb(a) ORDER BY a.id) FROM final_acceptances a WHERE a.task_id = $1), \
    'assignments', (SELECT jsonb_agg(to_jsonb(a) - 'updated_at' ORDER BY a.id) FROM task_assignments a \
                    WHERE a.task_id = $1), \
    'contributions', (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.id) FROM contribution_records c WHERE c.task_id = $1), \
    'awards', (SELECT jsonb_agg(to_jsonb(w) ORDER BY w.id) FROM compensation_awards w \
               JOIN contribution_records c ON c.id = w.contribution_record_id WHERE c.task_id = $1))::text";

fn id_of(body: &Value, pointer: &str) -> Uuid {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {body}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sampled_accept_is_calibrated_blind_and_its_contradiction_is_measured_not_applied() {
    let s = setup_with("calib", Terms::Paid, |bundle| {
        bundle["review_policy"]["calibration_sample_percent"] = json!(100);
    })
    .await;
    let pool = s.server.database.pool();
    // The submitter reviews on the project too: only the rule keeps them off their task.
    s.server
        .grant_project_role(&s.submitter, s.project, ProjectRole::Reviewer)
        .await;
    let submitted = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(s.evaluated().await, "review_pending");

    // The first review accepts; the reputation job draws the sample after it commits.
    let decided = s.accept(json!([])).await;
    assert_eq!(decided.status, 201, "{}", decided.body);
    let first_review = id_of(&decided.body, "/review/id");
    s.jobs_drained().await;
    let before: String = sqlx::query_scalar(FIRST_OUTCOME)
        .bind(s.task)
        .fetch_one(pool)
        .await
        .unwrap();
    let offer: (Uuid, String, Uuid, i32) = sqlx::query_as(
        "SELECT id, state, first_reviewer_id, sample_percent FROM calibration_offers \
         WHERE sampled_review_id = $1",
    )
    .bind(first_review)
    .fetch_one(pool)
    .await
    .unwrap();
    let (offer_id, state, first_reviewer, percent) = offer;
    assert_eq!(
        (state.as_str(), first_reviewer, percent),
        ("offered", s.reviewer.id, 100)
    );
    let created: Value = sqlx::query_scalar(
        "SELECT payload FROM audit_events WHERE entity_id = $1 AND event_type = 'calibration_offer_created'",
    )
    .bind(offer_id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(created["sampled_review_id"], json!(first_review));
    assert_eq!(created["sample_percent"], 100);

    // Offered to the second reviewer alone: never the first reviewer, never the submitter.
    for who in [&s.reviewer, &s.submitter] {
        let current = get(&s.server, "/reviews/calibration/current", who).await;
        assert_eq!(current.status, 200, "{}", current.body);
        assert_eq!(current.body, json!({"held": null, "offer": null}));
    }
    let current = get(&s.server, "/reviews/calibration/current", &s.reviewer2).await;
    assert_eq!(current.status, 200, "{}", current.body);
    let offered = &current.body["offer"];
    assert_eq!(offered["id"], json!(offer_id));
    assert_eq!(offered["task_id"], json!(s.task));
    assert_eq!(offered["state"], "offered");
    // Blind: nothing of the first decision, nor who made it.
    for hidden in ["decision", "first_reviewer_id", "sampled_review_id"] {
        assert!(offered.get(hidden).is_none(), "{hidden}: {offered}");
    }
    assert!(!current.body.to_string().contains(&first_review.to_string()));

    let claim = |who: &workstream_e2e::TestActor, offer: Option<Uuid>| {
        let body = match offer {
            Some(o) => json!({ "offer_id": o }),
            None => json!({}),
        };
        let (server, who) = (&s.server, who.clone());
        async move { post(server, "/reviews/calibration/claim", &who, body).await }
    };
    let own = claim(&s.reviewer, Some(offer_id)).await;
    assert_eq!(
        (own.status.as_u16(), own.code()),
        (403, "calibration_own_review"),
        "{}",
        own.body
    );
    let mine = claim(&s.submitter, Some(offer_id)).await;
    assert_eq!(
        (mine.status.as_u16(), mine.code()),
        (403, "self_review_forbidden"),
        "{}",
        mine.body
    );
    let nothing = claim(&s.reviewer, None).await;
    assert_eq!(
        (nothing.status.as_u16(), nothing.code()),
        (404, "no_calibration_offer")
    );
    // The database refuses both as holders, whatever the code path.
    for (holder, constraint) in [
        (s.reviewer.id, "calibration_offers_not_first_reviewer"),
        (s.submitter.id, "calibration_offers_no_self_review"),
    ] {
        let refused = sqlx::query(
            "UPDATE calibration_offers SET state = 'leased', holder_id = $2, leased_at = now(), \
             lease_expires_at = now() + interval '1 hour' WHERE id = $1",
        )
        .bind(offer_id)
        .bind(holder)
        .execute(pool)
        .await
        .unwrap_err();
        assert_eq!(
            refused.as_database_error().and_then(|e| e.constraint()),
            Some(constraint)
        );
    }

    // The second reviewer claims it and reads the blind packet.
    let claimed = claim(&s.reviewer2, None).await;
    assert_eq!(claimed.status, 201, "{}", claimed.body);
    assert_eq!(claimed.body["offer"]["id"], json!(offer_id));
    assert_eq!(claimed.body["offer"]["state"], "leased");
    assert_eq!(claimed.body["offer"]["holder_id"], json!(s.reviewer2.id));
    assert!(claimed.body["offer"]["lease_expires_at"].is_string());
    // A lease database time has ended offers the calibration again, to anyone qualified.
    sqlx::query(
        "UPDATE calibration_offers SET leased_at = now() - interval '2 hours', \
         lease_expires_at = now() - interval '1 hour' WHERE id = $1",
    )
    .bind(offer_id)
    .execute(pool)
    .await
    .unwrap();
    let lapsed = get(&s.server, "/reviews/calibration/current", &s.reviewer2).await;
    assert_eq!(lapsed.body["held"], Value::Null, "{}", lapsed.body);
    assert_eq!(lapsed.body["offer"]["id"], json!(offer_id));
    assert_eq!(lapsed.body["offer"]["state"], "offered");
    let claimed = claim(&s.reviewer2, Some(offer_id)).await;
    assert_eq!(claimed.status, 201, "{}", claimed.body);
    let again = claim(&s.reviewer2, None).await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (409, "calibration_lease_active")
    );
    let packet_path = format!("/reviews/calibration/offers/{offer_id}");
    let packet = get(&s.server, &packet_path, &s.reviewer2).await;
    assert_eq!(packet.status, 200, "{}", packet.body);
    let p = &packet.body;
    assert_eq!(p["task"]["id"], json!(s.task));
    assert!(
        p["task"].get("status").is_none(),
        "the task's state tells the decision"
    );
    assert_eq!(p["submission"]["version"], 1);
    assert_eq!(p["checker_run"]["routing_recommendation"], "allow_review");
    assert_eq!(p["prior_findings"], json!([]));
    let paths: Vec<&str> = p["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["evidence/tests.log", "outputs/final-answer.md"]);
    let text = p.to_string();
    assert!(!text.contains(&first_review.to_string()), "{text}");
    assert!(!text.contains("The proof is complete and checked."));
    let file = s
        .server
        .client
        .get(s.server.url(&format!(
            "/api/v1{packet_path}/files/outputs/final-answer.md"
        )))
        .header("authorization", s.reviewer2.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.text().await.unwrap().contains("By induction on n"));
    // The holder's alone.
    for who in [&s.reviewer, &s.submitter, &s.pm] {
        let refused = get(&s.server, &packet_path, who).await;
        assert_eq!(refused.status, 404, "{}", refused.body);
    }

    // The second decision is validated like a review's.
    let decide = |body: Value| {
        let (server, who, path) = (
            &s.server,
            s.reviewer2.clone(),
            format!("{packet_path}/decision"),
        );
        async move { post(server, &path, &who, body).await }
    };
    for (body, code) in [
        (json!({"decision": "approve"}), "decision_invalid"),
        (
            json!({"decision": "needs_revision", "summary": "Gaps.", "findings": [advisory("style", "Long lines.")]}),
            "blocking_finding_required",
        ),
        (
            json!({"decision": "accept", "acceptance_evidence_refs": [{"path": "outputs/missing.md"}]}),
            "evidence_ref_unknown_path",
        ),
        (json!({"decision": "accept"}), "evidence_required"),
        (json!({"decision": "reject"}), "reason_required"),
        (
            json!({"decision": "accept", "resolutions": []}),
            "invalid_request",
        ),
    ] {
        let refused = decide(body.clone()).await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.code(), code, "{body}: {}", refused.body);
    }
    let other = post(
        &s.server,
        &format!("{packet_path}/decision"),
        &s.reviewer,
        accept_body_without_resolutions(),
    )
    .await;
    assert_eq!(other.status, 404, "{}", other.body);

    // needs_revision where the first review accepted: a contradicted accept.
    let recorded = decide(json!({
        "decision": "needs_revision",
        "summary": "The base case is not shown.",
        "confidence": "medium",
        "findings": [blocking("proof", "The base case is missing."), advisory("style", "Long lines.")],
    }))
    .await;
    assert_eq!(recorded.status, 201, "{}", recorded.body);
    let review = &recorded.body["calibration_review"];
    assert_eq!(review["decision"], "needs_revision");
    assert_eq!(review["first_decision"], "accept");
    assert_eq!(review["decision_agrees"], false);
    // The first review raised no finding, the second two: nothing in common.
    assert_eq!(review["finding_overlap_bp"], 0);
    assert_eq!(review["first_finding_fingerprints"], json!([]));
    assert_eq!(review["sampled_review_id"], json!(first_review));
    assert_eq!(review["reviewer_id"], json!(s.reviewer2.id));
    let findings = review["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    assert!(findings.iter().all(|f| {
        f["fingerprint"]
            .as_str()
            .is_some_and(|p| p.starts_with("rf:"))
    }));
    let lesson = id_of(&recorded.body, "/lesson_id");
    let event = id_of(&recorded.body, "/reputation_event_id");
    let state: String = sqlx::query_scalar("SELECT state FROM calibration_offers WHERE id = $1")
        .bind(offer_id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(state, "recorded");
    let twice = decide(accept_body_without_resolutions()).await;
    assert_eq!(
        (twice.status.as_u16(), twice.code()),
        (409, "lease_not_active")
    );

    // The lesson, through the detected path.
    let lessons = get(
        &s.server,
        &format!("/projects/{}/lessons", s.project),
        &s.pm,
    )
    .await;
    assert_eq!(lessons.status, 200, "{}", lessons.body);
    let opened = lessons.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == json!(lesson))
        .cloned()
        .unwrap_or_else(|| panic!("{}", lessons.body));
    assert_eq!(opened["source"], "calibration_disagreement");
    assert_eq!(opened["source_entity_type"], "calibration_review");
    assert_eq!(opened["source_entity_id"], review["id"]);
    assert_eq!(opened["lesson_type"], "reviewer_policy_update");
    assert_eq!(opened["status"], "open");
    assert_eq!(
        opened["detection_key"],
        json!(format!("calibration:{offer_id}"))
    );
    assert_eq!(opened["created_by"], Value::Null);
    let detected: Value = sqlx::query_scalar(
        "SELECT payload FROM audit_events WHERE entity_id = $1 AND event_type = 'project_lesson_detected'",
    )
    .bind(lesson)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(detected["evidence"]["second_decision"], "needs_revision");

    // The first reviewer's sampled_quality_concern, folded into their reviewer score.
    let concern: (Uuid, String, String, String, Option<Uuid>) = sqlx::query_as(
        "SELECT actor_id, role, event_type, trim_scale(score_delta)::text, review_id \
         FROM reputation_events WHERE id = $1",
    )
    .bind(event)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        concern,
        (
            s.reviewer.id,
            "reviewer".to_owned(),
            "sampled_quality_concern".to_owned(),
            "-3".to_owned(),
            Some(first_review)
        )
    );
    let (events, negative): (i64, String) = sqlx::query_as(
        "SELECT event_count, trim_scale(negative_mass)::text FROM reputation_scores \
         WHERE actor_id = $1 AND role = 'reviewer' AND skill_tag = '*'",
    )
    .bind(s.reviewer.id)
    .fetch_one(pool)
    .await
    .unwrap();
    // clear_review (+2) from the review itself, and the concern.
    assert_eq!((events, negative.as_str()), (2, "3"));
    let mine = get(&s.server, "/me/reputation/events", &s.reviewer).await;
    assert!(
        mine.body.to_string().contains("sampled_quality_concern"),
        "{}",
        mine.body
    );
    // The fold counted every event of the reviewer's record.
    let unfolded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reputation_scores s WHERE s.actor_id = $1 AND s.skill_tag = '*' \
         AND s.event_count <> (SELECT count(*) FROM reputation_events e \
                               WHERE e.actor_id = s.actor_id AND e.role = s.role)",
    )
    .bind(s.reviewer.id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(unfolded, 0);

    // The agreement figures: the project's oversight reads them, a reviewer does not.
    let figures = get(
        &s.server,
        &format!("/projects/{}/calibration", s.project),
        &s.pm,
    )
    .await;
    assert_eq!(figures.status, 200, "{}", figures.body);
    let expected = json!({
        "sampled": 1, "recorded": 1, "waiting": 0, "expired": 0, "decisions_agreeing": 0,
        "decision_agreement_rate": 0.0, "mean_finding_overlap": 0.0, "contradicted_accepts": 1,
    });
    assert_eq!(figures.body["totals"], expected);
    let by_reviewer = figures.body["by_reviewer"].as_array().unwrap();
    assert_eq!(by_reviewer.len(), 1);
    assert_eq!(by_reviewer[0]["reviewer_id"], json!(s.reviewer.id));
    assert_eq!(by_reviewer[0]["contradicted_accepts"], 1);
    let refused = get(
        &s.server,
        &format!("/projects/{}/calibration", s.project),
        &s.reviewer2,
    )
    .await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (403, "permission_not_granted")
    );

    // The sprint report carries the same figures for its window.
    let sprint = post(
        &s.server,
        &format!("/projects/{}/sprints", s.project),
        &s.pm,
        json!({"name": "Calibrated", "starts_at": "2020-01-01T00:00:00Z",
               "ends_at": "2100-01-01T00:00:00Z", "task_ids": [s.task]}),
    )
    .await;
    assert_eq!(sprint.status, 201, "{}", sprint.body);
    let report = post(
        &s.server,
        &format!(
            "/projects/{}/sprints/{}/report",
            s.project,
            id_of(&sprint.body, "/id")
        ),
        &s.pm,
        json!({}),
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    let calibration = &report.body["report"]["calibration"];
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&calibration[key], value, "{key}: {calibration}");
    }
    assert_eq!(
        calibration["by_reviewer"][0]["reviewer_id"],
        json!(s.reviewer.id)
    );
    assert_eq!(
        calibration["by_reviewer"][0]["decision_agreement_rate"],
        0.0
    );

    // Nothing the first decision wrote changed, and the second reviewer earned nothing.
    let after: String = sqlx::query_scalar(FIRST_OUTCOME)
        .bind(s.task)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(s.status().await, "accepted");
    let earned: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM contribution_records WHERE contributor_id = $1) \
              + (SELECT count(*) FROM compensation_awards WHERE contributor_id = $1)",
    )
    .bind(s.reviewer2.id)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(earned, 0);
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM audit_events WHERE entity_id = $1 ORDER BY occurred_at, id",
    )
    .bind(offer_id)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        [
            "calibration_offer_created",
            "calibration_offer_claimed",
            "calibration_offer_claimed",
            "calibration_review_recorded"
        ]
    );
}

/// An accept of the answer file, as a calibration sends it (no resolutions).
fn accept_body_without_resolutions() -> Value {
    json!({ "decision": "accept", "summary": "The proof is complete.",
            "acceptance_evidence_refs": [{ "path": "outputs/final-answer.md", "line": 3 }] })
}
