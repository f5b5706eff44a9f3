//! Human review over HTTP against the real server, pipeline and database
//! (docs/rules.md AS24-AS33): routing and leases, who may decide, what each
//! decision writes and what it never writes, and the all-or-nothing commit; and the
//! reads of a task's submitted versions, by its contributor and by oversight.

mod projects_support;
mod review_support;

use projects_support::*;
use review_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};

const REVIEW_ROWS: &str = "SELECT (SELECT count(*) FROM reviews WHERE task_id = $1) \
    + (SELECT count(*) FROM contribution_records WHERE task_id = $1) \
    + (SELECT count(*) FROM final_acceptances WHERE task_id = $1) \
    + (SELECT count(*) FROM revision_context_preparations WHERE task_id = $1)";

#[tokio::test(flavor = "multi_thread")]
async fn a_submitter_never_reviews_their_own_chain() {
    // AS24: the submitter also holds a reviewer grant on the project.
    let s = in_review("rv-self", Terms::Unpaid).await;
    s.server
        .grant_project_role(&s.submitter, s.project, ProjectRole::Reviewer)
        .await;
    let current = s.current(&s.submitter).await;
    assert_eq!(current.status, 200, "{}", current.body);
    assert_eq!(current.body, json!({ "lease": null, "offer": null }));

    let offer = s.current(&s.reviewer).await;
    let entry: Uuid = offer.body["offer"]["queue_entry_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let answer = s.try_claim(&s.submitter, Some(entry)).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.code(), "self_review_forbidden");
    assert_eq!(
        s.count("SELECT count(*) FROM review_leases l JOIN review_queue_entries e ON e.id = l.queue_entry_id WHERE e.task_id = $1")
            .await,
        0
    );
    // The database refuses it too, whatever the code path (R25).
    let direct = sqlx::query(
        "INSERT INTO review_leases (id, queue_entry_id, submission_id, reviewer_id, \
         reviewer_contribution_policy_version_id, expires_at) \
         SELECT $1, e.id, e.submission_id, $2, s.contribution_policy_version_id, now() + interval '1 hour' \
         FROM review_queue_entries e JOIN submissions s ON s.id = e.submission_id WHERE e.task_id = $3",
    )
    .bind(Uuid::now_v7())
    .bind(s.submitter.id)
    .bind(s.task)
    .execute(s.server.database.pool())
    .await
    .unwrap_err();
    assert_eq!(
        direct.as_database_error().and_then(|e| e.constraint()),
        Some("review_leases_no_self_review"),
        "{direct}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reviewer_holding_a_lease_gets_that_lease_back() {
    // AS25, R26: one lease per reviewer, one per entry; the offer is server-chosen.
    let s = in_review("rv-lease", Terms::Unpaid).await;
    let offer = s.current(&s.reviewer).await;
    assert_eq!(offer.status, 200);
    assert!(offer.body["lease"].is_null());
    assert_eq!(offer.body["offer"]["task_id"], json!(s.task));
    assert_eq!(offer.body["offer"]["submission_version"], 1);
    assert_eq!(offer.body["offer"]["routing_reason"], "first_submission");

    let claimed = s.try_claim(&s.reviewer, None).await;
    assert_eq!(claimed.status, 201, "{}", claimed.body);
    let lease = claimed.body["lease"]["id"].as_str().unwrap().to_owned();
    assert_eq!(claimed.body["lease"]["disposition"], "active");
    assert_eq!(
        claimed.body["manifest"]["schema"],
        "workstream.review_packet_manifest.v1"
    );
    assert_eq!(
        s.count("SELECT count(*) FROM review_packet_manifests m JOIN review_leases l ON l.id = m.review_lease_id JOIN review_queue_entries e ON e.id = l.queue_entry_id WHERE e.task_id = $1").await,
        1
    );

    for _ in 0..2 {
        let again = s.current(&s.reviewer).await;
        assert_eq!(again.body["lease"]["id"], json!(lease));
        assert!(again.body["offer"].is_null());
    }
    let second = s.try_claim(&s.reviewer, None).await;
    assert_eq!(second.status, 409, "{}", second.body);
    assert_eq!(second.code(), "review_lease_active");
    // The entry is held: nobody else is offered it.
    let other = s.current(&s.reviewer2).await;
    assert!(other.body["offer"].is_null(), "{}", other.body);
    assert_eq!(
        s.count("SELECT count(*) FROM review_leases l JOIN review_queue_entries e ON e.id = l.queue_entry_id WHERE e.task_id = $1").await,
        1
    );

    // Declining gives it back; the decliner is not offered it again, the other is.
    let declined = post(
        &s.server,
        &format!("/reviews/leases/{lease}/decline"),
        &s.reviewer,
        json!({ "reason": "conflict of interest" }),
    )
    .await;
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert_eq!(declined.body["lease"]["disposition"], "declined");
    assert!(s.current(&s.reviewer).await.body["offer"].is_null());
    assert_eq!(
        s.current(&s.reviewer2).await.body["offer"]["task_id"],
        json!(s.task)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_lease_holding_reviewer_decides() {
    // AS26 (a PM without a reviewer grant), AS49 (finance and audit), and the other
    // reviewer: all refused, nothing written.
    let s = in_review("rv-who", Terms::Unpaid).await;
    let lease = s.claim(&s.reviewer).await;
    let auditor = s.server.actor("rv-who-audit").await;
    s.server
        .grant_admin(&auditor, AdminRole::AuditAuthority, Some(s.project))
        .await;
    let body = accept_body(json!([]));
    for (who, status, code) in [
        // Anyone but the holder meets the concealed 404, as on every lease route.
        (&s.pm, 404, "not_found"),
        (&s.fin, 404, "not_found"),
        (&auditor, 404, "not_found"),
        (&s.submitter, 404, "not_found"),
        (&s.reviewer2, 404, "not_found"),
    ] {
        let answer = s.decide(who, lease, body.clone()).await;
        assert_eq!(answer.status, status, "{}", answer.body);
        assert_eq!(answer.code(), code);
    }
    assert_eq!(s.count(REVIEW_ROWS).await, 0);
    assert_eq!(s.status().await, "review_pending");
    // And a stranger learns nothing.
    let stranger = s.server.actor("rv-who-stranger").await;
    let answer = s.decide(&stranger, lease, body).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incomplete_decision_is_refused_and_writes_nothing() {
    // AS27 (only advisory findings), AS28 (reject without reason), AS29 (accept without
    // evidence), an unknown decision, evidence citing a file not in the packet.
    let s = in_review("rv-bad", Terms::Unpaid).await;
    let lease = s.claim(&s.reviewer).await;
    let cases: [(Value, &str); 6] = [
        (
            needs_revision_body(json!([advisory("style", "Prefer shorter sentences.")])),
            "blocking_finding_required",
        ),
        (
            json!({ "decision": "reject", "summary": "No." }),
            "reason_required",
        ),
        (
            json!({ "decision": "accept", "summary": "Looks good." }),
            "evidence_required",
        ),
        (json!({ "decision": "approve" }), "decision_invalid"),
        (
            json!({ "decision": "accept", "acceptance_evidence_refs": [{ "path": "outputs/missing.md" }] }),
            "evidence_ref_unknown_path",
        ),
        (
            needs_revision_body(json!([{ "kind": "blocking", "area": "proof", "issue": "Gap" }])),
            "finding_incomplete",
        ),
    ];
    for (body, code) in cases {
        let answer = s.decide(&s.reviewer, lease, body).await;
        assert_eq!(answer.status, 422, "{code}: {}", answer.body);
        assert_eq!(answer.code(), code);
    }
    assert_eq!(s.count(REVIEW_ROWS).await, 0);
    assert_eq!(s.status().await, "review_pending");
    let lease_state: String =
        sqlx::query_scalar("SELECT disposition FROM review_leases WHERE id = $1")
            .bind(lease)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(lease_state, "active");
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_writes_exactly_the_acceptance_records() {
    // AS30, AS33, AS42 (unpaid rules: contributions without awards or projections).
    let s = in_review("rv-accept", Terms::Unpaid).await;
    let lease = s.claim(&s.reviewer).await;

    // The lease holder reads the packet, its files and the checker results.
    let packet = get(&s.server, &format!("/reviews/leases/{lease}"), &s.reviewer).await;
    assert_eq!(packet.status, 200, "{}", packet.body);
    let paths: Vec<&str> = packet.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["evidence/tests.log", "outputs/final-answer.md"]);
    assert_eq!(
        packet.body["checker_run"]["routing_recommendation"],
        "allow_review"
    );
    assert!(
        !packet.body["checker_run"]["results"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(packet.body["guide"]["version"], "v1");
    let file = s
        .server
        .client
        .get(s.server.url(&format!(
            "/api/v1/reviews/leases/{lease}/files/outputs/final-answer.md"
        )))
        .header("authorization", s.reviewer.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.text().await.unwrap().contains("By induction on n"));
    let other = get(&s.server, &format!("/reviews/leases/{lease}"), &s.reviewer2).await;
    assert_eq!(
        other.status, 404,
        "R27: only the lease holder reads the packet"
    );

    let decided = s.decide(&s.reviewer, lease, accept_body(json!([]))).await;
    assert_eq!(decided.status, 201, "{}", decided.body);
    assert_eq!(decided.body["task"]["status"], "accepted");
    assert_eq!(decided.body["review"]["decision"], "accept");
    let kinds: Vec<&str> = decided.body["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contribution_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["completed_review", "accepted_submission"]);
    for c in decided.body["contributions"].as_array().unwrap() {
        assert_eq!(c["awards"], json!([]), "unpaid rules award nothing");
    }
    for (sql, expected) in [
        ("SELECT count(*) FROM reviews WHERE task_id = $1", 1),
        (
            "SELECT count(*) FROM contribution_records WHERE task_id = $1 AND contribution_type = 'completed_review'",
            1,
        ),
        (
            "SELECT count(*) FROM contribution_records WHERE task_id = $1 AND contribution_type = 'accepted_submission'",
            1,
        ),
        (
            "SELECT count(*) FROM final_acceptances WHERE task_id = $1",
            1,
        ),
        (
            "SELECT count(*) FROM task_assignments WHERE task_id = $1 AND status = 'completed' AND accepted_at IS NOT NULL",
            1,
        ),
        (
            "SELECT count(*) FROM review_leases l JOIN review_queue_entries e ON e.id = l.queue_entry_id WHERE e.task_id = $1 AND l.disposition = 'consumed'",
            1,
        ),
        (
            "SELECT count(*) FROM review_queue_entries WHERE task_id = $1 AND state = 'closed' AND closed_reason = 'review_recorded'",
            1,
        ),
        (
            "SELECT count(*) FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id WHERE c.task_id = $1",
            0,
        ),
        (
            "SELECT count(*) FROM revision_context_preparations WHERE task_id = $1",
            0,
        ),
        (
            "SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = 'review_decided'",
            1,
        ),
        (
            "SELECT count(*) FROM jobs WHERE kind = 'reputation.record' AND payload ->> 'review_id' IN (SELECT id::text FROM reviews WHERE task_id = $1)",
            1,
        ),
    ] {
        assert_eq!(s.count(sql).await, expected, "{sql}");
    }
    assert_eq!(s.status().await, "accepted");

    // AS33: no second decision, no transition out of accepted.
    let again = s.decide(&s.reviewer, lease, accept_body(json!([]))).await;
    assert_eq!(again.status, 403, "{}", again.body);
    let cancel = post(
        &s.server,
        &format!("/tasks/{}/cancel", s.task),
        &s.pm,
        json!({ "reason": "try to reopen" }),
    )
    .await;
    assert_eq!(cancel.status, 403, "{}", cancel.body);
    assert_eq!(
        s.count("SELECT count(*) FROM reviews WHERE task_id = $1")
            .await,
        1
    );
    // The packet is no longer readable through the consumed lease.
    let gone = get(&s.server, &format!("/reviews/leases/{lease}"), &s.reviewer).await;
    assert_eq!(gone.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn reject_blocks_only_this_assignment() {
    // AS31: one completed_review, the assignment blocked naming the review, the task
    // rejected, no acceptance or submitter record; the submitter's other work and
    // grants untouched.
    let s = in_review("rv-reject", Terms::Unpaid).await;
    let created = post(
        &s.server,
        &format!("/projects/{}/tasks", s.project),
        &s.pm,
        json!({"title": "Second task", "description": "Another proof.",
               "acceptance_criteria": "A complete, checked proof of the other lemma.",
               "rejection_criteria": "Gaps.", "difficulty": "easy", "estimated_time_minutes": 10}),
    )
    .await;
    let other: Uuid = created.body["task"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for (who, action, body) in [
        (&s.pm, "screen", json!({})),
        (&s.pm, "release", json!({"reason": "ready"})),
        (&s.submitter, "claim", json!({})),
    ] {
        let answer = post(&s.server, &format!("/tasks/{other}/{action}"), who, body).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
    }
    let lease = s.claim(&s.reviewer).await;
    let decided = s
        .decide(
            &s.reviewer,
            lease,
            json!({ "decision": "reject", "summary": "Not a proof.",
                    "reject_reason": "The guide requires a complete proof; the argument is circular." }),
        )
        .await;
    assert_eq!(decided.status, 201, "{}", decided.body);
    let review = decided.body["review"]["id"].as_str().unwrap().to_owned();
    assert_eq!(s.status().await, "rejected");
    let blocked: (String, Option<Uuid>) = sqlx::query_as(
        "SELECT status, blocking_review_id FROM task_assignments WHERE task_id = $1",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(blocked.0, "blocked");
    assert_eq!(blocked.1.unwrap().to_string(), review);
    for (sql, expected) in [
        (
            "SELECT count(*) FROM contribution_records WHERE task_id = $1 AND contribution_type = 'completed_review'",
            1,
        ),
        (
            "SELECT count(*) FROM contribution_records WHERE task_id = $1 AND contribution_type = 'accepted_submission'",
            0,
        ),
        (
            "SELECT count(*) FROM final_acceptances WHERE task_id = $1",
            0,
        ),
    ] {
        assert_eq!(s.count(sql).await, expected, "{sql}");
    }
    let other_assignment: String =
        sqlx::query_scalar("SELECT status FROM task_assignments WHERE task_id = $1")
            .bind(other)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(other_assignment, "active");
    let grants: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM project_role_grants WHERE actor_id = $1 AND status = 'active'",
    )
    .bind(s.submitter.id)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(grants, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_creating_an_award_rolls_the_whole_accept_back() {
    // AS32: inject a failure at award creation (a trigger that raises), then accept.
    let s = in_review("rv-atomic", Terms::Paid).await;
    let lease = s.claim(&s.reviewer).await;
    let pool = s.server.database.pool();
    let audit_before = s.count("SELECT count(*) FROM audit_events").await;
    let jobs_before = s.count("SELECT count(*) FROM jobs").await;
    let replies_before = s.count("SELECT count(*) FROM idempotency_records").await;
    sqlx::raw_sql(
        "CREATE FUNCTION fail_award() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'injected award failure'; END $$; \
         CREATE TRIGGER fail_award BEFORE INSERT ON compensation_awards \
         FOR EACH ROW EXECUTE FUNCTION fail_award();",
    )
    .execute(pool)
    .await
    .unwrap();
    let answer = s.decide(&s.reviewer, lease, accept_body(json!([]))).await;
    assert_eq!(answer.status, 500, "{}", answer.body);
    assert_eq!(answer.code(), "internal_error");
    assert_eq!(s.count(REVIEW_ROWS).await, 0);
    for table in [
        "compensation_awards",
        "compensation_status_projections",
        "award_delivery_outbox",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(
        s.count("SELECT count(*) FROM audit_events").await,
        audit_before
    );
    assert_eq!(s.count("SELECT count(*) FROM jobs").await, jobs_before);
    assert_eq!(
        s.count("SELECT count(*) FROM idempotency_records").await,
        replies_before,
        "a failed request stores no reply"
    );
    assert_eq!(s.status().await, "review_pending");
    let assignment: String =
        sqlx::query_scalar("SELECT status FROM task_assignments WHERE task_id = $1")
            .bind(s.task)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(assignment, "active");

    // Without the fault the same decision commits, with its awards.
    sqlx::raw_sql("DROP TRIGGER fail_award ON compensation_awards; DROP FUNCTION fail_award();")
        .execute(pool)
        .await
        .unwrap();
    let answer = s.decide(&s.reviewer, lease, accept_body(json!([]))).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(
        s.count("SELECT count(*) FROM compensation_awards a JOIN contribution_records c ON c.id = a.contribution_record_id WHERE c.task_id = $1").await,
        3,
        "5 USD to the reviewer, 50 USD and 10 points to the submitter"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tasks_versions_are_read_by_its_contributor_and_oversight_and_concealed_from_others() {
    let s = in_review("submission-reads", Terms::Unpaid).await;
    let other = s.server.actor("submission-reads-other").await;
    s.server
        .grant_project_role(&other, s.project, ProjectRole::Submitter)
        .await;
    let (id, status, sha256, bytes): (Uuid, String, String, i64) = sqlx::query_as(
        "SELECT id, status, archive_sha256, archive_byte_count FROM submissions WHERE task_id = $1",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    let versions = format!("/tasks/{}/submissions", s.task);
    let one = format!("/submissions/{id}");

    // The contributor: what they sent and what became of it, not who or which locks.
    let mine = get(&s.server, &versions, &s.submitter).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", mine.body);
    let item = &items[0];
    assert_eq!(
        (
            item["id"].clone(),
            item["version"].clone(),
            item["status"].clone()
        ),
        (json!(id), json!(1), json!(status))
    );
    assert_eq!(
        item["archive"],
        json!({ "sha256": sha256, "byte_count": bytes })
    );
    assert_eq!(item["checker_run"]["route"], "allow_review");
    assert!(
        item["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "outputs/final-answer.md"),
        "{item}"
    );
    for hidden in [
        "contributor_id",
        "task_assignment_id",
        "manifest_digest",
        "locks",
    ] {
        assert!(
            item.get(hidden).is_none(),
            "{hidden} shown to the contributor"
        );
    }
    let single = get(&s.server, &one, &s.submitter).await;
    assert_eq!(single.status, 200, "{}", single.body);
    assert_eq!(&single.body, item);

    // Oversight: every field.
    let full = get(&s.server, &one, &s.pm).await;
    assert_eq!(full.status, 200, "{}", full.body);
    assert_eq!(full.body["contributor_id"], json!(s.submitter.id));
    assert!(
        full.body["locks"]["policy_bundle_hash"].is_string(),
        "{}",
        full.body
    );

    // Anyone else, and any id that does not exist: the concealed 404.
    for (who, path) in [
        (&other, versions.as_str()),
        (&other, one.as_str()),
        (&s.reviewer2, one.as_str()),
    ] {
        let answer = get(&s.server, path, who).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
    }
    let missing = get(
        &s.server,
        &format!("/submissions/{}", Uuid::now_v7()),
        &s.pm,
    )
    .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_work_context_leads_a_reviewer_from_the_entry_to_the_decision() {
    let s = in_review("review-context", Terms::Unpaid).await;
    let path = format!("/tasks/{}/work-context", s.task);
    let actions = |body: &Value| -> Vec<(String, String)> {
        body["next_actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["action"].as_str().unwrap().to_owned(),
                    a["path"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };

    // Waiting for review: the submitter has nothing to do, and is told whose move it is;
    // the latest version carries its route.
    let mine = get(&s.server, &path, &s.submitter).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["next_actions"], json!([]));
    assert_eq!(mine.body["waiting_for"], "reviewer");
    assert_eq!(mine.body["latest_submission"]["version"], 1);
    assert_eq!(mine.body["latest_submission"]["route"], "allow_review");

    // A reviewer of the project who holds no lease on it does not see the task (the
    // queue offers entries one at a time, it is not a backlog to browse).
    let unleased = get(&s.server, &path, &s.reviewer).await;
    assert_eq!(unleased.status, 404, "{}", unleased.body);

    // Once the lease is theirs: read the packet, decide, or give it back.
    let lease = s.claim(&s.reviewer).await;
    let held = get(&s.server, &path, &s.reviewer).await;
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(held.body["review_lease"]["id"], json!(lease));
    assert_eq!(
        actions(&held.body),
        vec![
            (
                "read_review_packet".to_owned(),
                format!("/reviews/leases/{lease}")
            ),
            (
                "decide_review".to_owned(),
                format!("/reviews/leases/{lease}/decision")
            ),
            (
                "release_review".to_owned(),
                format!("/reviews/leases/{lease}/release")
            ),
        ]
    );

    // Accepted: nobody has anything left to do.
    let answer = s.decide(&s.reviewer, lease, accept_body(json!([]))).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let done = get(&s.server, &path, &s.pm).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["task"]["status"], "accepted");
    assert_eq!(done.body["next_actions"], json!([]));
    assert_eq!(done.body["waiting_for"], Value::Null);
}

/// The value of the Prometheus series `name{labels...}` whose labels include every one
/// of `labels` (summed over the rest), from a scrape.
fn series(scrape: &str, name: &str, labels: &[&str]) -> f64 {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cycle_moves_the_metrics_an_operator_scrapes() {
    let s = setup_with("metrics", Terms::Paid, |_| {}).await;
    let operator = s.server.actor("metrics-operator").await;
    s.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let scrape = |who: Option<&workstream_e2e::TestActor>| {
        let request = s.server.client.get(s.server.url("/metrics"));
        let request = match who {
            Some(actor) => request.header("authorization", actor.auth()),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // Only an operator's token opens it on the main address.
    assert_eq!(scrape(None).await.0, 401);
    let (status, body) = scrape(Some(&s.submitter)).await;
    assert_eq!(status, 403, "{body}");
    let (status, before) = scrape(Some(&operator)).await;
    assert_eq!(status, 200, "{before}");

    let submit_route = r#"route="/api/v1/tasks/{tid}/submissions""#;
    let answer = s.submit(good_packet("metrics"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let answer = s.accept(json!([])).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    // The award deliveries and reputation run after the decision: wait for the queue.
    s.jobs_drained().await;
    let (status, after) = scrape(Some(&operator)).await;
    assert_eq!(status, 200, "{after}");

    // Requests by route template, method and status.
    let submits = |scrape: &str| {
        series(
            scrape,
            "workstream_http_requests_total",
            &[submit_route, r#"method="POST""#, r#"status="201""#],
        )
    };
    assert!(submits(&after) >= submits(&before) + 1.0, "{after}");
    assert!(
        series(
            &after,
            "workstream_http_request_duration_seconds_count",
            &[submit_route]
        ) >= 1.0,
        "{after}"
    );
    // The evaluation, by route, and each checker's run by digest, name and outcome.
    let allowed = |scrape: &str| {
        series(
            scrape,
            "workstream_evaluations_total",
            &[r#"route="allow_review""#],
        )
    };
    assert!(allowed(&after) >= allowed(&before) + 1.0, "{after}");
    assert!(
        series(
            &after,
            "workstream_checker_run_duration_seconds_count",
            &[
                r#"name="required-files""#,
                r#"outcome="passed""#,
                r#"checker="sha256:"#
            ]
        ) >= 1.0,
        "{after}"
    );
    // Jobs by kind and how each attempt ended; the queue and pool gauges are there.
    for kind in [
        "checker.evaluate",
        "compensation.deliver",
        "reputation.record",
    ] {
        let label = format!(r#"kind="{kind}""#);
        let done = |scrape: &str| {
            series(
                scrape,
                "workstream_job_attempts_total",
                &[&label, r#"outcome="completed""#],
            )
        };
        assert!(done(&after) > done(&before), "{kind}: {after}");
    }
    for gauge in [
        "workstream_review_queue_depth",
        "workstream_review_leases_active",
        "workstream_job_oldest_waiting_seconds",
        "workstream_db_pool_connections",
    ] {
        assert!(
            after.lines().any(|l| l.starts_with(gauge)),
            "{gauge}: {after}"
        );
    }
}
