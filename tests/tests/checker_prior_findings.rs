//! A revision's checkers are given the review's open blocking findings, in both phases,
//! as `wit/checker.wit` promises: with the evidence the reviewer cited (path and line)
//! before submission, and with the contributor's answers after. The built-in
//! `prior-findings-answered`, configured in the project's policy, reminds at upload,
//! refuses a version 2 whose answer says nothing ("Fixed all."), and passes a version 2
//! (of a second task) that answers the finding, which reaches review. A version the
//! checkers sent back answers the checkers, not the review: it gets no prior findings.

mod projects_support;
mod review_support;

use projects_support::*;
use review_support::*;
use serde_json::{Value, json};

/// The results of `checker` in a pre-submit report.
fn pre_submit_findings(upload: &Value, checker: &str) -> Vec<Value> {
    upload["pre_submit"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == checker)
        .unwrap_or_else(|| panic!("no {checker} in {upload}"))["findings"]
        .as_array()
        .unwrap()
        .clone()
}

/// The findings of `checker` in the current run, as the submitter reads them.
async fn run_findings(s: &Setup, checker: &str) -> Vec<Value> {
    let runs = get(
        &s.server,
        &format!("/tasks/{}/checker-runs", s.task),
        &s.submitter,
    )
    .await;
    assert_eq!(runs.status, 200, "{}", runs.body);
    let items = runs.body["items"].as_array().unwrap();
    items.last().unwrap()["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == checker)
        .unwrap_or_else(|| panic!("no {checker} in {}", runs.body))["findings"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn prior_findings_reach_checkers_in_both_phases() {
    let s = setup_with("prior-findings", Terms::Unpaid, |bundle| {
        bundle["checker_policy"]["checkers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "prior-findings-answered", "phase": "both",
                         "configuration": {"min_response_chars": 20},
                         "blocking": true, "severity": "high"}));
    })
    .await;

    // Version 1: no prior findings, nothing to say; a reviewer sends it back.
    let first = s.upload(good_packet("v1")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(
        pre_submit_findings(&first.body, "prior-findings-answered"),
        Vec::<Value>::new()
    );
    let submitted = post(
        &s.server,
        &format!("/tasks/{}/submissions", s.task),
        &s.submitter,
        json!({"admission_id": first.body["admission_id"]}),
    )
    .await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let lease = s.claim(&s.reviewer).await;
    let decided = s
        .decide(
            &s.reviewer,
            lease,
            needs_revision_body(json!([blocking(
                "base case",
                "The base case n = 0 is missing."
            )])),
        )
        .await;
    assert_eq!(decided.status, 201, "{}", decided.body);
    let finding = finding_ids(&decided.body)[0].clone();
    assert_eq!(s.status().await, "needs_revision");

    // Version 2, before submission: a reminder at the evidence the reviewer cited.
    let second = s.upload(good_packet("v2")).await;
    assert_eq!(second.status, 201, "{}", second.body);
    let reminders = pre_submit_findings(&second.body, "prior-findings-answered");
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0]["code"], "prior_finding_to_answer");
    assert_eq!(reminders[0]["level"], "info");
    assert_eq!(reminders[0]["path"], "outputs/final-answer.md");
    assert_eq!(reminders[0]["line"], 3);
    assert!(
        reminders[0]["message"]
            .as_str()
            .unwrap()
            .contains("F1-1 (base case)"),
        "{}",
        reminders[0]
    );

    // Submitted with an answer that says nothing: the post-submit run refuses it.
    let context = s.revision_context().await;
    let head = &context["preparation"];
    let submitted = post(
        &s.server,
        &format!("/tasks/{}/submissions", s.task),
        &s.submitter,
        json!({"admission_id": second.body["admission_id"],
               "preparation_id": head["id"], "preparation_digest": head["context_digest"],
               "responses": [{"finding_id": finding, "response_text": "Fixed all."}]}),
    )
    .await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(s.evaluated().await, "needs_revision");
    let refused = run_findings(&s, "prior-findings-answered").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["code"], "prior_finding_response_vague");
    assert!(
        refused[0]["message"].as_str().unwrap().contains("F1-1"),
        "{}",
        refused[0]
    );
    // The checker saw the answer: the run stored the request its checkers were given.
    let request: Value = sqlx::query_scalar(
        "SELECT request FROM checker_runs WHERE task_id = $1 AND submission_version = 2",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(request["phase"], "post_submit");
    assert_eq!(
        request["prior_findings"],
        json!([{"finding_id": "F1-1", "area": "base case",
                "issue": "The base case n = 0 is missing.",
                "path": "outputs/final-answer.md", "line": 3,
                "required_fix": "Fix: The base case n = 0 is missing.",
                "response": "Fixed all."}])
    );

    // Version 3, after the checkers sent version 2 back, answers the checkers: no
    // prior findings (the answers stand as given, for the reviewer to judge).
    let third = s.upload(good_packet("v3")).await;
    assert_eq!(third.status, 201, "{}", third.body);
    assert_eq!(
        pre_submit_findings(&third.body, "prior-findings-answered"),
        Vec::<Value>::new()
    );

    // Another task of the project, whose version 2 answers the finding: it passes the
    // same checker and reaches review.
    let mut s = s;
    let answered = answered_revision(&mut s).await;
    assert_eq!(answered, "review_pending");
}

/// A second task of `s`'s project (which `s` then names, with its submitter) taken to a
/// reviewer's needs_revision and answered properly in version 2; the status its
/// evaluation leaves it in.
async fn answered_revision(s: &mut Setup) -> String {
    let created = post(
        &s.server,
        &format!("/projects/{}/tasks", s.project),
        &s.pm,
        json!({"title": "Prove the second lemma", "description": "Write outputs/final-answer.md.",
               "acceptance_criteria": "A complete, checked proof of the lemma.",
               "rejection_criteria": "Gaps.", "difficulty": "medium",
               "skill_tags": ["research"], "estimated_time_minutes": 30}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let task: uuid::Uuid = created.body["task"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The first task is still the submitter's; a second submitter takes this one.
    let submitter = s.server.actor("prior-findings-submitter-2").await;
    s.server
        .grant_project_role(
            &submitter,
            s.project,
            workstream_domain::roles::ProjectRole::Submitter,
        )
        .await;
    for (who, action, body) in [
        (&s.pm, "screen", json!({})),
        (&s.pm, "release", json!({"reason": "ready"})),
        (&submitter, "claim", json!({})),
        (&submitter, "start", json!({})),
    ] {
        let answer = post(&s.server, &format!("/tasks/{task}/{action}"), who, body).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
    }
    s.task = task;
    s.submitter = submitter;
    let t = &*s;
    let answer = t.submit(good_packet("w1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(t.evaluated().await, "review_pending");
    let lease = t.claim(&t.reviewer2).await;
    let decided = t
        .decide(
            &t.reviewer2,
            lease,
            needs_revision_body(json!([blocking(
                "base case",
                "The base case n = 0 is missing."
            )])),
        )
        .await;
    assert_eq!(decided.status, 201, "{}", decided.body);
    let finding = finding_ids(&decided.body)[0].clone();
    let head = t.revision_context().await["preparation"].clone();
    let answer = t
        .submit(
            good_packet("w2"),
            json!({"preparation_id": head["id"], "preparation_digest": head["context_digest"],
                   "responses": [{"finding_id": finding,
                                  "response_text": "Added the base case n = 0 as the first paragraph of the proof (line 3)."}]}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let status = t.evaluated().await;
    assert_eq!(
        run_findings(t, "prior-findings-answered").await,
        Vec::<Value>::new()
    );
    status
}
