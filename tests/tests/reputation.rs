//! Reputation over real reviews: a task goes needs_revision, needs_revision, accept;
//! the `reputation.record` job (run by the in-process worker after each decision)
//! appends exactly the events of docs/rules.md (R53), folds them into per-role, per-skill scores (a Wilson
//! lower bound), detects the revision loop as a lesson, and the Operator's recompute
//! agrees with the incremental result to the last digit. The sprint report over the
//! same task checks rates, rounds, turnaround and payments against the records.

mod projects_support;
mod review_support;

use std::time::Duration;

use projects_support::{get, post};
use review_support::{
    Setup, Terms, accept_body, advisory, blocking, good_packet, in_review, needs_revision_body,
    setup_with,
};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;

/// Waits until `n` reputation jobs exist and all completed.
async fn reputation_jobs_done(s: &Setup, n: i64) {
    for _ in 0..600 {
        let (total, done, broken): (i64, i64, Option<String>) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE state = 'completed'), \
             max(last_error) FILTER (WHERE state = 'discarded') FROM jobs WHERE kind = 'reputation.record'",
        )
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
        assert_eq!(broken, None, "a reputation job was discarded");
        if total == n && done == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let jobs: Vec<(String, i32, Option<String>)> = sqlx::query_as(
        "SELECT state, attempt, last_error FROM jobs WHERE kind = 'reputation.record'",
    )
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    panic!("the reputation jobs did not finish: {jobs:?}");
}

/// Resubmits a revision answering every open blocking finding.
async fn resubmit(s: &Setup, variant: &str) {
    let context = s.revision_context().await;
    let responses: Vec<Value> = context["responses_required_for"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| json!({ "finding_id": id, "response_text": "Fixed as asked." }))
        .collect();
    let answer = s
        .submit(
            good_packet(variant),
            json!({
                "preparation_id": context["preparation"]["id"],
                "preparation_digest": context["preparation"]["context_digest"],
                "responses": responses,
            }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
}

/// The open blocking findings of the task, as resolutions with `result`.
async fn resolutions(s: &Setup, result: &str) -> Value {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT f.id FROM review_findings f JOIN reviews r ON r.id = f.review_id \
         WHERE r.task_id = $1 AND f.finding_kind = 'blocking' AND NOT EXISTS \
         (SELECT 1 FROM finding_resolutions x WHERE x.finding_id = f.id AND x.result IN ('resolved', 'not_applicable')) \
         ORDER BY f.id",
    )
    .bind(s.task)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    json!(ids
        .iter()
        .map(|id| json!({ "finding_id": id, "result": result, "rationale": "Checked against the new packet." }))
        .collect::<Vec<_>>())
}

/// The Wilson lower bound, in f64, as the schema's function defines it (x100, 4 places).
fn wilson(positive: f64, negative: f64) -> f64 {
    let z2: f64 = 3.8416;
    let n = positive + negative;
    let p = positive / n;
    let bound = (p + z2 / (2.0 * n) - (z2 * (p * (1.0 - p) / n + z2 / (4.0 * n * n))).sqrt())
        / (1.0 + z2 / n);
    (bound * 100.0 * 10_000.0).round() / 10_000.0
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct ScoreRow {
    actor_id: Uuid,
    role: String,
    skill_tag: String,
    /// accepted, needs_revision, rejected, revision_closed, review, clear, unclear, events.
    counts: Vec<i64>,
    /// positive mass, negative mass, delta sum, score.
    decimals: Vec<String>,
    last_event_id: Option<Uuid>,
}

async fn score_rows(s: &Setup) -> Vec<ScoreRow> {
    sqlx::query_as(
        "SELECT actor_id, role, skill_tag, ARRAY[accepted_count, needs_revision_count, rejected_count, \
         revision_closed_count, review_count, clear_review_count, unclear_feedback_count, event_count]::bigint[] AS counts, \
         ARRAY[trim_scale(positive_mass)::text, trim_scale(negative_mass)::text, trim_scale(delta_sum)::text, \
         trim_scale(score)::text] AS decimals, last_event_id FROM reputation_scores ORDER BY actor_id, role, skill_tag",
    )
    .fetch_all(s.server.database.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn reviews_become_reputation_events_scores_and_lessons() {
    // A post-submit checker that fails every packet with an error-level finding but does
    // not block review (low severity): three failing submissions make a pattern.
    let s = setup_with("rep", Terms::Paid, |bundle| {
        bundle["checker_policy"]["checkers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "size-limits", "phase": "post_submit", "blocking": false, "severity": "low",
                         "configuration": {"max_file_bytes": 10, "max_total_bytes": 100000000, "max_file_count": 100}}));
    })
    .await;
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let pool = s.server.database.pool();

    // Round 1: a blocking finding and a bare advisory one (no fix, no rationale).
    let lease = s.claim(&s.reviewer).await;
    let first = s
        .decide(
            &s.reviewer,
            lease,
            needs_revision_body(json!([
                blocking("proof", "Step 3 is not proved."),
                advisory("style", "Shorter sentences.")
            ])),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    reputation_jobs_done(&s, 1).await;

    // Round 2: the prior finding is still open, a new one is raised.
    resubmit(&s, "v2").await;
    let lease = s.claim(&s.reviewer).await;
    let mut body = needs_revision_body(json!([blocking("proof", "The base case is missing.")]));
    body["resolutions"] = resolutions(&s, "unresolved").await;
    let second = s.decide(&s.reviewer, lease, body).await;
    assert_eq!(second.status, 201, "{}", second.body);
    reputation_jobs_done(&s, 2).await;

    // Round 3: everything resolved, accepted.
    resubmit(&s, "v3").await;
    let lease = s.claim(&s.reviewer).await;
    let third = s
        .decide(
            &s.reviewer,
            lease,
            accept_body(resolutions(&s, "resolved").await),
        )
        .await;
    assert_eq!(third.status, 201, "{}", third.body);
    assert_eq!(s.status().await, "accepted");
    reputation_jobs_done(&s, 3).await;

    // The events, exactly.
    let reviews: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM reviews WHERE task_id = $1 ORDER BY completed_at")
            .bind(s.task)
            .fetch_all(pool)
            .await
            .unwrap();
    let accepted_contribution: Uuid = sqlx::query_scalar(
        "SELECT id FROM contribution_records WHERE task_id = $1 AND contribution_type = 'accepted_submission'",
    )
    .bind(s.task)
    .fetch_one(pool)
    .await
    .unwrap();
    #[allow(clippy::type_complexity)]
    let events: Vec<(
        Uuid,
        String,
        String,
        Uuid,
        Vec<String>,
        String,
        String,
        String,
        Option<Uuid>,
        Uuid,
        Uuid,
    )> = sqlx::query_as(
        "SELECT actor_id, role, event_type, review_id, skill_tags, trim_scale(weight)::text, \
         trim_scale(score_delta)::text, source_key, contribution_record_id, project_id, id \
         FROM reputation_events ORDER BY review_id, role DESC, event_type",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let tags = vec!["research".to_owned(), "technical-writing".to_owned()];
    let (sub, rev) = (s.submitter.id, s.reviewer.id);
    let expected: Vec<(Uuid, &str, &str, Uuid, &str, &str)> = vec![
        (sub, "submitter", "needs_revision", reviews[0], "1", "-1"),
        (rev, "reviewer", "unclear_feedback", reviews[0], "1", "-2"),
        (sub, "submitter", "needs_revision", reviews[1], "1", "-1"),
        (rev, "reviewer", "clear_review", reviews[1], "1", "2"),
        (sub, "submitter", "accepted", reviews[2], "1.5", "4.5"),
        (sub, "submitter", "revision_closed", reviews[2], "1", "1"),
        (rev, "reviewer", "clear_review", reviews[2], "1", "2"),
    ];
    assert_eq!(events.len(), expected.len(), "{events:?}");
    for (row, (actor, role, kind, review, weight, delta)) in events.iter().zip(&expected) {
        assert_eq!(
            (
                &row.0,
                row.1.as_str(),
                row.2.as_str(),
                &row.3,
                &row.4,
                row.5.as_str(),
                row.6.as_str()
            ),
            (actor, *role, *kind, review, &tags, *weight, *delta)
        );
        assert_eq!(row.7, format!("review:{review}:{role}:{kind}"));
        assert_eq!(row.9, s.project);
        if *kind == "accepted" {
            assert_eq!(row.8, Some(accepted_contribution));
        }
    }
    // Every reviewer event points at the review's completed_review contribution.
    let unlinked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reputation_events e WHERE e.role = 'reviewer' AND e.contribution_record_id IS DISTINCT FROM \
         (SELECT c.id FROM contribution_records c WHERE c.source_review_id = e.review_id AND c.contribution_type = 'completed_review')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(unlinked, 0);

    // The scores: overall and per skill tag, per role.
    let rows = score_rows(&s).await;
    let submitter_score = wilson(5.5, 2.0);
    let reviewer_score = wilson(4.0, 2.0);
    assert_eq!(rows.len(), 6, "{rows:?}");
    let last_event = |actor: Uuid| -> Uuid {
        events
            .iter()
            .filter(|e| e.0 == actor)
            .map(|e| e.10)
            .max()
            .unwrap()
    };
    for row in &rows {
        assert!(["*", "research", "technical-writing"].contains(&row.skill_tag.as_str()));
        let score: f64 = row.decimals[3].parse().unwrap();
        if row.actor_id == sub {
            assert_eq!(row.role, "submitter");
            assert_eq!(row.counts, vec![1, 2, 0, 1, 0, 0, 0, 4]);
            assert_eq!(row.decimals[..3], ["5.5", "2", "3.5"]);
            assert!(
                (score - submitter_score).abs() < 1e-9,
                "{score} vs {submitter_score}"
            );
        } else {
            assert_eq!(row.actor_id, rev);
            assert_eq!(row.role, "reviewer");
            assert_eq!(row.counts, vec![0, 0, 0, 0, 3, 2, 1, 3]);
            assert_eq!(row.decimals[..3], ["4", "2", "2"]);
            assert!(
                (score - reviewer_score).abs() < 1e-9,
                "{score} vs {reviewer_score}"
            );
        }
        assert_eq!(row.last_event_id, Some(last_event(row.actor_id)));
    }
    // A lower bound, not a rate: 73% positive evidence scores well under 73.
    assert!(
        submitter_score > 30.0 && submitter_score < 73.0,
        "{submitter_score}"
    );

    // Replaying a review's recording changes nothing.
    let mut tx = pool.begin().await.unwrap();
    let replay = workstream_engine::reputation::record_review(&mut tx, reviews[2])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        replay.event_ids.is_empty() && replay.lessons_opened.is_empty(),
        "{replay:?}"
    );
    assert_eq!(score_rows(&s).await, rows);

    // Reads: one's own, and a project manager's view of a contributor.
    let mine = get(&s.server, "/me/reputation", &s.submitter).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let tags_read: Vec<(&str, &str)> = mine.body["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap(),
                r["skill_tag"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tags_read,
        vec![
            ("submitter", "*"),
            ("submitter", "research"),
            ("submitter", "technical-writing")
        ]
    );
    assert_eq!(
        mine.body["scores"][0]["score"],
        json!(
            rows.iter()
                .find(|r| r.actor_id == sub && r.skill_tag == "*")
                .unwrap()
                .decimals[3]
        )
    );
    assert_eq!(mine.body["scores"][0]["accepted_count"], 1);
    let events_page = get(&s.server, "/me/reputation/events?limit=3", &s.reviewer).await;
    assert_eq!(events_page.body["items"].as_array().unwrap().len(), 3);
    // A full page carries a cursor; the next page is empty and ends the list.
    let cursor = events_page.body["next_cursor"].as_str().unwrap();
    let rest = get(
        &s.server,
        &format!("/me/reputation/events?limit=3&cursor={cursor}"),
        &s.reviewer,
    )
    .await;
    assert_eq!(rest.body, json!({ "items": [], "next_cursor": null }));
    let seen = get(
        &s.server,
        &format!("/projects/{}/contributors/{sub}/reputation", s.project),
        &s.pm,
    )
    .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.body["events"]["items"].as_array().unwrap().len(), 4);
    assert_eq!(seen.body["scores"], mine.body["scores"]);
    let nobody = get(
        &s.server,
        &format!(
            "/projects/{}/contributors/{}/reputation",
            s.project,
            Uuid::now_v7()
        ),
        &s.pm,
    )
    .await;
    assert_eq!(nobody.status, 404);
    let peer = get(
        &s.server,
        &format!("/projects/{}/contributors/{sub}/reputation", s.project),
        &s.reviewer,
    )
    .await;
    assert_eq!(
        (peer.status.as_u16(), peer.code()),
        (403, "permission_not_granted")
    );

    // The revision loop became one detected lesson (not a second one on accept).
    let lessons = get(
        &s.server,
        &format!("/projects/{}/lessons", s.project),
        &s.pm,
    )
    .await;
    assert_eq!(lessons.status, 200, "{}", lessons.body);
    let items = lessons.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", lessons.body);
    let lesson = &items[0];
    assert_eq!(lesson["source"], "repeated_revision_loop");
    assert_eq!(lesson["source_entity_type"], "task");
    assert_eq!(lesson["source_entity_id"], json!(s.task));
    assert_eq!(lesson["lesson_type"], "revision_policy_update");
    assert_eq!(lesson["status"], "open");
    assert_eq!(lesson["created_by"], Value::Null);
    assert_eq!(
        lesson["detection_key"],
        json!(format!("repeated_revision_loop:task:{}", s.task))
    );
    assert_eq!(lesson["guide_id"], json!(s.guide));
    let detected: Value = sqlx::query_scalar(
        "SELECT payload FROM audit_events WHERE event_type = 'project_lesson_detected' AND entity_id = $1::text::uuid",
    )
    .bind(lesson["id"].as_str().unwrap())
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        detected["evidence"],
        json!({ "review_id": reviews[1], "needs_revision_reviews": 2 })
    );

    // The size-limits finding failed all three submissions: one checker_failure lesson,
    // opened by the third review's job, pointing at the latest failing result.
    let checker = &items[1];
    assert_eq!(checker["source"], "checker_failure");
    assert_eq!(checker["source_entity_type"], "checker_result");
    assert_eq!(checker["lesson_type"], "guide_update");
    assert_eq!(
        checker["detection_key"],
        "checker_failure:size-limits:file_too_large"
    );
    let latest_result: Uuid = sqlx::query_scalar(
        "SELECT max(cr.id::text)::uuid FROM checker_results cr JOIN checker_runs r ON r.id = cr.checker_run_id \
         WHERE r.task_id = $1 AND cr.checker_name = 'size-limits'",
    )
    .bind(s.task)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(checker["source_entity_id"], json!(latest_result));
    let evidence: Value = sqlx::query_scalar(
        "SELECT payload -> 'evidence' FROM audit_events WHERE event_type = 'project_lesson_detected' \
         AND entity_id = $1::text::uuid",
    )
    .bind(checker["id"].as_str().unwrap())
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        evidence,
        json!({"checker_name": "size-limits", "code": "file_too_large", "submissions": 3})
    );

    // Recompute: only an operator; it agrees with the incremental result, and repairs
    // a tampered row.
    let operator = s.server.actor("rep-operator").await;
    s.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let refused = post(
        &s.server,
        "/operations/reputation/recompute",
        &s.pm,
        json!({"reason": "check"}),
    )
    .await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (403, "permission_not_granted")
    );
    let done = post(
        &s.server,
        "/operations/reputation/recompute",
        &operator,
        json!({"reason": "check"}),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body, json!({ "rows": 6, "corrected": 0, "events": 7 }));
    assert_eq!(score_rows(&s).await, rows);
    sqlx::query("UPDATE reputation_scores SET score = 99, accepted_count = 7 WHERE actor_id = $1 AND skill_tag = 'research'")
        .bind(sub)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM reputation_scores WHERE actor_id = $1 AND skill_tag = 'research'")
        .bind(rev)
        .execute(pool)
        .await
        .unwrap();
    let repaired = post(
        &s.server,
        "/operations/reputation/recompute",
        &operator,
        json!({"reason": "repair"}),
    )
    .await;
    assert_eq!(
        repaired.body,
        json!({ "rows": 6, "corrected": 2, "events": 7 })
    );
    assert_eq!(score_rows(&s).await, rows);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE event_type = 'reputation_recomputed'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);

    // Reputation never touched the product records.
    assert_eq!(s.status().await, "accepted");

    // The sprint report over the same task.
    let sprint = post(
        &s.server,
        &format!("/projects/{}/sprints", s.project),
        &s.pm,
        json!({"name": "Pilot", "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2100-01-01T00:00:00Z", "task_ids": [s.task]}),
    )
    .await;
    assert_eq!(sprint.status, 201, "{}", sprint.body);
    let sprint_id = sprint.body["id"].as_str().unwrap();
    let reported = post(
        &s.server,
        &format!("/projects/{}/sprints/{sprint_id}/report", s.project),
        &s.pm,
        json!({}),
    )
    .await;
    assert_eq!(reported.status, 200, "{}", reported.body);
    let report = &reported.body["report"];
    let turnaround: i64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM (SELECT completed_at FROM reviews WHERE task_id = $1 AND decision = 'accept') \
         - (SELECT min(submitted_at) FROM submissions WHERE task_id = $1))::bigint",
    )
    .bind(s.task)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        report["tasks"],
        json!({"total": 1, "by_status": {"accepted": 1}})
    );
    assert_eq!(report["submissions"], 3);
    assert_eq!(
        report["reviews"],
        json!({"total": 3, "accept": 1, "needs_revision": 2, "reject": 0,
               "acceptance_rate": 0.3333, "revision_rate": 0.6667, "rejection_rate": 0.0})
    );
    assert_eq!(
        report["review_rounds"],
        json!({"tasks_reviewed": 1, "mean": 3.0, "max": 3, "distribution": {"3": 1}})
    );
    assert_eq!(
        report["turnaround_seconds"],
        json!({"decided_tasks": 1, "p50": turnaround, "p90": turnaround})
    );
    assert_eq!(
        report["checker_failures"],
        json!({"runs": 3,
               "by_checker": [{"checker_name": "size-limits", "failed": 3, "errored": 0}],
               "by_finding_code": [{"checker_name": "size-limits", "code": "file_too_large", "findings": 6, "submissions": 3}]})
    );
    // Paid terms: 50 USD + 10 pts per acceptance, 5 USD per review (three reviews).
    let fulfilled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM compensation_status_projections WHERE fulfillment_status = 'fulfilled'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(fulfilled, 0);
    assert_eq!(
        report["payments"],
        json!({"awards": 5, "by_unit": [
            {"instrument_type": "money", "unit_code": "USD", "awards": 4, "total": "65",
             "fulfilled_awards": 0, "fulfilled_total": "0", "pending_awards": 4, "pending_total": "65"},
            {"instrument_type": "project_points", "unit_code": "pts", "awards": 1, "total": "10",
             "fulfilled_awards": 0, "fulfilled_total": "0", "pending_awards": 1, "pending_total": "10"},
        ]})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reject_costs_the_submitter_and_a_clear_reason_credits_the_reviewer() {
    let s = in_review("rep-reject", Terms::Unpaid).await;
    let lease = s.claim(&s.reviewer).await;
    let answer = s
        .decide(
            &s.reviewer,
            lease,
            json!({"decision": "reject", "summary": "Out of scope.", "reject_reason": "The packet answers another task."}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    reputation_jobs_done(&s, 1).await;
    let events: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT actor_id, event_type, trim_scale(score_delta)::text FROM reputation_events ORDER BY role DESC",
    )
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            (s.submitter.id, "rejected".to_owned(), "-3".to_owned()),
            (s.reviewer.id, "clear_review".to_owned(), "2".to_owned()),
        ]
    );
    let mine = get(&s.server, "/me/reputation", &s.submitter).await;
    let overall = &mine.body["scores"][0];
    assert_eq!(
        (overall["skill_tag"].as_str(), overall["score"].as_str()),
        (Some("*"), Some("0"))
    );
    assert_eq!(overall["rejected_count"], 1);
    let reviewer = get(&s.server, "/me/reputation", &s.reviewer).await;
    let overall = &reviewer.body["scores"][0];
    assert_eq!(
        overall["score"].as_str().unwrap().parse::<f64>().unwrap(),
        wilson(2.0, 0.0)
    );
    // No lesson: one reject is not a pattern.
    let lessons: i64 = sqlx::query_scalar("SELECT count(*) FROM project_lessons")
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
    assert_eq!(lessons, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_submission_after_its_due_time_costs_the_submitter_once() {
    // The revision policy makes a claim due twice the estimate (30 minutes) after it.
    let s = setup_with("late", Terms::Unpaid, |bundle| {
        bundle["revision_policy"]["due_time_factor"] = json!(2);
    })
    .await;
    let pool = s.server.database.pool().clone();
    let due: (Option<f64>, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT extract(epoch FROM due_at - assigned_at)::float8, due_at FROM task_assignments \
         WHERE task_id = $1 AND status = 'active'",
    )
    .bind(s.task)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(due.0, Some(3600.0), "twice the 30-minute estimate");
    let context = get(
        &s.server,
        &format!("/tasks/{}/work-context", s.task),
        &s.submitter,
    )
    .await;
    assert_eq!(context.status, 200, "{}", context.body);
    let shown: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(context.body["task"]["due_at"].clone()).unwrap();
    assert_eq!(Some(shown), due.1);
    // On time: no late event.
    let answer = s.submit(good_packet("on time"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let answer = s.accept(json!([])).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    reputation_jobs_done(&s, 1).await;
    let late = "SELECT count(*) FROM reputation_events WHERE event_type = 'late_submission'";
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(late).await, 0);

    // A task whose own deadline is earlier than the factor's: due at its deadline, and
    // submitted after it.
    let deadline = chrono::Utc::now() + chrono::Duration::seconds(3);
    let created = post(
        &s.server,
        &format!("/projects/{}/tasks", s.project),
        &s.pm,
        json!({"title": "Prove the corollary", "description": "Write outputs/final-answer.md.",
               "acceptance_criteria": "A complete, checked proof of the corollary.",
               "rejection_criteria": "Gaps.", "estimated_time_minutes": 30,
               "deadline_at": deadline}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let second: Uuid = created.body["task"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for (who, action, body) in [
        (&s.pm, "screen", json!({})),
        (&s.pm, "release", json!({"reason": "ready"})),
        (&s.submitter, "claim", json!({})),
        (&s.submitter, "start", json!({})),
    ] {
        let answer = post(&s.server, &format!("/tasks/{second}/{action}"), who, body).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
    }
    let (assignment, due_at): (Uuid, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT id, due_at FROM task_assignments WHERE task_id = $1 AND status = 'active'",
    )
    .bind(second)
    .fetch_one(&pool)
    .await
    .unwrap();
    let stored_deadline: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT deadline_at FROM tasks WHERE id = $1")
            .bind(second)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(due_at, stored_deadline, "the earlier of the two");
    while chrono::Utc::now() < deadline + chrono::Duration::milliseconds(500) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Setup {
        server,
        pm,
        fin,
        adapter,
        submitter,
        reviewer,
        reviewer2,
        project,
        guide,
        bindings,
        ..
    } = s;
    let s = Setup {
        server,
        pm,
        fin,
        adapter,
        submitter,
        reviewer,
        reviewer2,
        project,
        guide,
        bindings,
        task: second,
    };
    let answer = s.submit(good_packet("late"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let answer = s.accept(json!([])).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    reputation_jobs_done(&s, 2).await;
    let events: Vec<(Uuid, String, f64, String)> = sqlx::query_as(
        "SELECT actor_id, role, score_delta::float8, source_key FROM reputation_events \
         WHERE event_type = 'late_submission'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [(
            s.submitter.id,
            "submitter".to_owned(),
            -1.0,
            format!("late_submission:{assignment}")
        )]
    );
}
