//! No checker fault leaves a task stuck: a checker whose finding holds a NUL character
//! (text PostgreSQL cannot store) and a pinned component that cannot load each end, on
//! the evaluation job's first attempt, in a stored failed run with the checker's
//! infrastructure code and detail; the task waits in `evaluation_pending` where the
//! manager's read says which checker failed, with which code and what to do, and the
//! contributor sees only `not_evaluated`.

mod projects_support;
mod review_support;

use projects_support::*;
use review_support::*;
use serde_json::{Value, json};
use workstream_domain::roles::AdminRole;
use workstream_sandbox::testing::component_bytes;

/// A policy entry for the project checker `name` pinned to `digest`, in the post-submit
/// phase, blocking.
fn post_submit(name: &str, digest: &str) -> Value {
    json!({"name": name, "digest": digest, "phase": "post_submit", "configuration": {},
           "blocking": true, "severity": "high"})
}

/// The manager's and the submitter's reads of the task's runs.
async fn runs(s: &Setup) -> (Value, Value) {
    let path = format!("/tasks/{}/checker-runs", s.task);
    let manager = get(&s.server, &path, &s.pm).await;
    assert_eq!(manager.status, 200, "{}", manager.body);
    let submitter = get(&s.server, &path, &s.submitter).await;
    assert_eq!(submitter.status, 200, "{}", submitter.body);
    (manager.body, submitter.body)
}

/// The manager's task page in the web UI, signed in as `subject` (local sign-in).
async fn manager_task_page(s: &Setup, subject: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = client
        .post(s.server.url("/ui/sign-in"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("mode", "local"),
            ("subject", subject),
            ("kind", "human"),
            ("next", "/ui/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = client
        .get(
            s.server
                .url(&format!("/ui/projects/{}/tasks/{}", s.project, s.task)),
        )
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// The evaluation job ran once and completed (no retry, nothing dead-lettered).
async fn evaluated_once(s: &Setup) {
    let jobs: Vec<(String, i32)> = sqlx::query_as(
        "SELECT state, attempt FROM jobs WHERE kind = 'checker.evaluate' \
         AND payload ->> 'checker_run_id' IN (SELECT id::text FROM checker_runs WHERE task_id = $1)",
    )
    .bind(s.task)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(jobs, vec![("completed".to_owned(), 1)]);
}

#[tokio::test]
async fn a_nul_character_in_a_finding_is_a_stored_invalid_output() {
    let digest = std::sync::OnceLock::new();
    let register = async |server: &workstream_e2e::TestServer| {
        let registered =
            register_through_engine(server, &component_bytes("hostile_nul_finding")).await;
        digest.set(registered).unwrap();
    };
    let s = setup_registering("nul-finding", Terms::Unpaid, register, |bundle| {
        bundle["checker_policy"]["checkers"]
            .as_array_mut()
            .unwrap()
            .push(post_submit("hostile-nul-finding", digest.get().unwrap()));
    })
    .await;
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);

    let (status, route, code) = s.run_finished().await;
    assert_eq!(
        (status.as_str(), route.as_str(), code.as_deref()),
        ("failed", "checker_retry", Some("invalid_output"))
    );
    assert_eq!(s.status().await, "evaluation_pending");
    evaluated_once(&s).await;

    let (manager, submitter) = runs(&s).await;
    let run = &manager["items"][0];
    assert_eq!(run["failed_checkers"], json!(["hostile-nul-finding"]));
    assert!(
        run["action"]
            .as_str()
            .unwrap()
            .contains("publish a fixed component"),
        "{run}"
    );
    let failed = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == "hostile-nul-finding")
        .unwrap();
    assert_eq!(failed["status"], "errored");
    assert_eq!(failed["failure_code"], "invalid_output");
    assert_eq!(failed["findings"], json!([]));
    assert!(
        failed["failure_detail"].as_str().unwrap().contains("NUL"),
        "{failed}"
    );
    // The other checkers' results are stored beside it.
    assert!(
        run["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["checker"] == "required-files" && r["status"] == "passed"),
        "{run}"
    );
    // The contributor sees that the packet was not evaluated, nothing more.
    assert_eq!(
        submitter["items"][0],
        json!({"id": run["id"], "submission_version": 1, "route": "not_evaluated"})
    );
    assert_eq!(
        audit_count(&s.server, s.task, "pre_review_gate_blocked").await,
        1
    );

    // The manager's task page says the same: which checker, the code, the detail and
    // what to do.
    let page = manager_task_page(&s, "nul-finding-pm").await;
    assert!(
        page.contains(r#"data-failure-code="invalid_output""#),
        "{page}"
    );
    assert!(page.contains("hostile-nul-finding"), "{page}");
    assert!(page.contains("What to do"), "{page}");
    assert!(page.contains("NUL"), "{page}");
}

#[tokio::test]
async fn a_component_that_cannot_load_is_a_stored_failure_on_the_first_attempt() {
    // A registry row whose bytes are no component (the database holds whatever bytes
    // match the digest: a damaged or hand-made row), pinned by the project's guide.
    let digest = std::sync::OnceLock::new();
    let register = async |server: &workstream_e2e::TestServer| {
        let registered =
            register_component(server, "broken-component", json!({"type": "object"})).await;
        digest.set(registered).unwrap();
    };
    let s = setup_registering("broken-component", Terms::Unpaid, register, |bundle| {
        bundle["checker_policy"]["checkers"]
            .as_array_mut()
            .unwrap()
            .push(post_submit("broken-component", digest.get().unwrap()));
    })
    .await;
    let digest = digest.get().unwrap().clone();
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);

    let (status, route, code) = s.run_finished().await;
    assert_eq!(
        (status.as_str(), route.as_str(), code.as_deref()),
        (
            "failed",
            "checker_retry",
            Some("implementation_unavailable")
        )
    );
    assert_eq!(s.status().await, "evaluation_pending");
    evaluated_once(&s).await;
    let (manager, _) = runs(&s).await;
    let failed = manager["items"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == "broken-component")
        .unwrap()
        .clone();
    assert_eq!(failed["checker_digest"], digest.as_str());
    assert_eq!(failed["failure_code"], "implementation_unavailable");
    assert!(
        failed["failure_detail"]
            .as_str()
            .unwrap()
            .contains("does not load"),
        "{failed}"
    );

    // What the manager is told to do is possible: an operator's retry queues a new
    // attempt (which fails the same way, and is again recorded, not retried).
    let operator = s.server.actor("broken-component-operator").await;
    s.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let retried = post(
        &s.server,
        &format!("/operations/tasks/{}/re-evaluate", s.task),
        &operator,
        json!({"reason": "checking whether the failure persists"}),
    )
    .await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    let (status, _, code) = s.run_finished().await;
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("failed", Some("implementation_unavailable"))
    );
}
