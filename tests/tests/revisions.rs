//! Revision replay over HTTP against the real server, pipeline and database
//! (docs/rules.md AS34-AS41): each prior finding answered and resolved one by
//! one, context rebase, stale heads, the round limit and the PM's close, the
//! preference window, and leases ending by expiry or an Operator's force-release.

mod projects_support;
mod review_support;

use std::time::Duration;

use projects_support::*;
use review_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;

/// Claims as the first reviewer and asks for a revision with `findings`; returns the
/// decision's body.
async fn ask_revision(s: &Setup, findings: Value) -> Value {
    let lease = s.claim(&s.reviewer).await;
    // Every open prior blocker gets its resolution (here: resolved).
    let packet = get(&s.server, &format!("/reviews/leases/{lease}"), &s.reviewer).await;
    let resolutions: Vec<Value> = packet.body["required_resolutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| json!({ "finding_id": f, "result": "resolved", "rationale": "Fixed." }))
        .collect();
    let mut body = needs_revision_body(findings);
    body["resolutions"] = json!(resolutions);
    let answer = s.decide(&s.reviewer, lease, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.status().await, "needs_revision");
    answer.body
}

/// The echo of the current preparation head.
fn echo(context: &Value) -> Value {
    json!({
        "preparation_id": context["preparation"]["id"],
        "preparation_digest": context["preparation"]["context_digest"],
    })
}

fn with(mut base: Value, responses: Value) -> Value {
    base["responses"] = responses;
    base
}

fn response(finding: &str, text: &str) -> Value {
    json!({ "finding_id": finding, "response_text": text })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_prior_finding_is_answered_and_resolved_one_by_one() {
    let s = in_review("rev-replay", Terms::Unpaid).await;
    let decided = ask_revision(
        &s,
        json!([
            blocking("proof", "The base case is missing."),
            blocking("evidence", "The test log does not cover n = 0."),
            advisory("style", "Number the steps."),
        ]),
    )
    .await;
    let ids = finding_ids(&decided);
    let (f1, f2, f3) = (&ids[0], &ids[1], &ids[2]);
    assert_eq!(decided["preparation"]["outcome"], "kept");
    assert_eq!(decided["preparation"]["preparation_sequence"], 1);
    assert_eq!(
        s.count("SELECT count(*) FROM contribution_records WHERE task_id = $1 AND contribution_type = 'accepted_submission'").await,
        0,
        "needs_revision never records the submitter"
    );

    let context = s.revision_context().await;
    assert_eq!(context["episode"]["origin"], "human_review");
    assert_eq!(context["episode"]["rounds_used"], 0);
    assert_eq!(context["episode"]["round_limit"], 3);
    assert_eq!(context["responses_required_for"], json!([f1, f2]));
    assert_eq!(context["prior_findings"].as_array().unwrap().len(), 3);
    let base = echo(&context);

    // AS34: an answer to F1 only.
    let answer = s
        .submit(
            good_packet("v2a"),
            with(base.clone(), json!([response(f1, "Added the base case.")])),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.code(), "finding_responses_incomplete");
    // AS35: one aggregate answer linked to no finding.
    let answer = s
        .submit(
            good_packet("v2b"),
            with(
                base.clone(),
                json!([{ "response_text": "Fixed everything." }]),
            ),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.code(), "invalid_request");
    // Without echoing the head.
    let answer = s
        .submit(
            good_packet("v2c"),
            json!({ "responses": [response(f1, "a"), response(f2, "b")] }),
        )
        .await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.code(), "revision_context_stale");
    assert_eq!(
        s.count("SELECT count(*) FROM submissions WHERE task_id = $1")
            .await,
        1,
        "no version 2 yet"
    );

    // Both answered (and the advisory one too, optionally): version 2.
    let answer = s
        .submit(
            good_packet("TODO: tidy the wording of step 2."),
            with(
                base,
                json!([
                    response(f1, "Added the base case n = 0 in section 1."),
                    response(f2, "The log now runs n = 0."),
                    response(f3, "Steps are numbered."),
                ]),
            ),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["submission"]["version"], 2);
    assert_eq!(s.evaluated().await, "review_pending");
    assert_eq!(
        s.count("SELECT count(*) FROM submission_finding_responses r JOIN submissions s ON s.id = r.new_submission_id WHERE s.task_id = $1").await,
        3
    );

    // AS36: accept resolving F1 only, then with F2 unresolved: both refused.
    let lease = s.claim(&s.reviewer).await;
    let packet = get(&s.server, &format!("/reviews/leases/{lease}"), &s.reviewer).await;
    assert_eq!(packet.body["required_resolutions"], json!([f1, f2]));
    // Checker findings between versions: the placeholder warning is new in v2, shown
    // beside its file, with a fingerprint that leaves the line out.
    let changes = &packet.body["checker_finding_changes"];
    let new: Vec<&str> = changes["new"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["checker"].as_str().unwrap())
        .collect();
    assert_eq!(new, ["placeholder-signal"], "{changes}");
    let answer_file = packet.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "outputs/final-answer.md")
        .unwrap();
    assert_eq!(
        answer_file["checker_findings"][0]["checker"],
        "placeholder-signal"
    );
    assert!(
        answer_file["checker_findings"][0]["line"]
            .as_u64()
            .is_some()
    );
    assert_eq!(
        packet.body["prior_findings"][0]["responses"][0]["response_text"],
        "Added the base case n = 0 in section 1."
    );
    let resolved =
        |f: &str| json!({ "finding_id": f, "result": "resolved", "rationale": "Checked." });
    let answer = s
        .decide(&s.reviewer, lease, accept_body(json!([resolved(f1)])))
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.code(), "finding_resolutions_incomplete");
    let answer = s
        .decide(
            &s.reviewer,
            lease,
            accept_body(json!([resolved(f1), { "finding_id": f2, "result": "unresolved", "rationale": "Still no n = 0." }])),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.code(), "blocking_findings_open");
    assert_eq!(
        s.count("SELECT count(*) FROM reviews WHERE task_id = $1")
            .await,
        1
    );

    // needs_revision again: F1 resolved, F2 still open (no new finding needed).
    let answer = s
        .decide(
            &s.reviewer,
            lease,
            json!({ "decision": "needs_revision", "summary": "One gap left.",
                    "resolutions": [resolved(f1), { "finding_id": f2, "result": "unresolved", "rationale": "Still no n = 0." }] }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let context = s.revision_context().await;
    assert_eq!(context["responses_required_for"], json!([f2]));
    assert_eq!(context["prior_findings"][0]["status"], "resolved");
    let answer = s
        .submit(
            good_packet("v3"),
            with(
                echo(&context),
                json!([response(f2, "The log runs n = 0 now, line 1.")]),
            ),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");

    // AS37: F1 was closed in RV2; RV3 may not resolve (or reopen) it again.
    let lease = s.claim(&s.reviewer).await;
    let packet = get(&s.server, &format!("/reviews/leases/{lease}"), &s.reviewer).await;
    let fixed = &packet.body["checker_finding_changes"]["fixed"];
    assert_eq!(fixed[0]["checker"], "placeholder-signal", "{fixed}");
    assert_eq!(packet.body["checker_finding_changes"]["new"], json!([]));
    let answer = s
        .decide(
            &s.reviewer,
            lease,
            accept_body(json!([resolved(f1), resolved(f2)])),
        )
        .await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.code(), "finding_already_closed");
    let answer = s
        .decide(&s.reviewer, lease, accept_body(json!([resolved(f2)])))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.status().await, "accepted");
    assert_eq!(
        s.count("SELECT count(*) FROM finding_resolutions x JOIN reviews r ON r.id = x.review_id WHERE r.task_id = $1").await,
        3,
        "F1 and F2 in the second review, F2 in the third"
    );
    assert_eq!(s.count("SELECT count(*) FROM contribution_records WHERE task_id = $1 AND contribution_type = 'completed_review'").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_guide_rebases_the_next_attempt_only() {
    // AS38: guide v1 at RV1, v2 activated since: the preparation is rebased forward;
    // submission v1 keeps its stamps; the task's locks move to v2 for version 2.
    let s = in_review("rev-rebase", Terms::Unpaid).await;
    let mut policy = bundle();
    policy["revision_policy"]["max_revision_rounds"] = json!(5);
    let v2 = create_guide(&s.server, &s.pm, s.project, "v2", Some(policy)).await;
    let answer = activate(&s.server, &s.pm, s.project, v2).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let decided = ask_revision(&s, json!([blocking("proof", "The base case is missing.")])).await;
    let prep = &decided["preparation"];
    assert_eq!(prep["outcome"], "rebased");
    assert_eq!(prep["direction"], "forward");
    assert_eq!(prep["prior_context"]["guide_version"], "v1");
    assert_eq!(prep["next_context"]["guide_version"], "v2");
    assert_eq!(decided["task"]["locked_guide_version"], "v2");
    let v1_stamp: String = sqlx::query_scalar(
        "SELECT locked_guide_version FROM submissions WHERE task_id = $1 AND version = 1",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(v1_stamp, "v1");

    let context = s.revision_context().await;
    assert_eq!(
        context["episode"]["round_limit"], 5,
        "the rebased policy governs"
    );
    let f1 = finding_ids(&decided)[0].clone();
    let answer = s
        .submit(
            good_packet("v2"),
            with(echo(&context), json!([response(&f1, "Added it.")])),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let stamp: String = sqlx::query_scalar(
        "SELECT locked_guide_version FROM submissions WHERE task_id = $1 AND version = 2",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(stamp, "v2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resubmission_echoing_a_superseded_head_is_refused() {
    // AS39: head H1, a PM repair creates H2; echoing H1 is refused, H2 accepted.
    let s = in_review("rev-stale", Terms::Unpaid).await;
    let decided = ask_revision(&s, json!([blocking("proof", "The base case is missing.")])).await;
    let f1 = finding_ids(&decided)[0].clone();
    let h1 = s.revision_context().await;
    let repair = post(
        &s.server,
        &format!("/tasks/{}/revision-context/repair", s.task),
        &s.pm,
        json!({ "head_id": h1["preparation"]["id"], "head_digest": h1["preparation"]["context_digest"],
                "reason": "Re-read the context after a setup fix." }),
    )
    .await;
    assert_eq!(repair.status, 201, "{}", repair.body);
    assert_eq!(repair.body["preparation"]["preparation_sequence"], 2);
    assert_eq!(
        repair.body["preparation"]["predecessor_preparation_id"],
        h1["preparation"]["id"]
    );
    // Repairing from the old head again is refused: the chain never branches.
    let again = post(
        &s.server,
        &format!("/tasks/{}/revision-context/repair", s.task),
        &s.pm,
        json!({ "head_id": h1["preparation"]["id"], "head_digest": h1["preparation"]["context_digest"],
                "reason": "Again." }),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.code(), "revision_context_stale");

    let answer = s
        .submit(
            good_packet("v2a"),
            with(echo(&h1), json!([response(&f1, "Added it.")])),
        )
        .await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.code(), "revision_context_stale");
    let h2 = s.revision_context().await;
    let answer = s
        .submit(
            good_packet("v2b"),
            with(echo(&h2), json!([response(&f1, "Added it.")])),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let bound: Uuid = sqlx::query_scalar(
        "SELECT revision_context_preparation_id FROM submissions WHERE task_id = $1 AND version = 2",
    )
    .bind(s.task)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(json!(bound), h2["preparation"]["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_revision_limit_blocks_until_a_manager_closes_the_task() {
    // AS40: max_revision_rounds = 2, both used: the next resubmission is a policy
    // error, the task stays needs_revision (never rejected) until the PM closes it.
    let s = setup_with("rev-limit", Terms::Unpaid, |b| {
        b["revision_policy"]["max_revision_rounds"] = json!(2);
    })
    .await;
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    for version in 2..=4 {
        let decided =
            ask_revision(&s, json!([blocking("proof", &format!("Gap {version}."))])).await;
        let context = s.revision_context().await;
        let open: Vec<Value> = context["responses_required_for"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| response(f.as_str().unwrap(), "Closed the gap."))
            .collect();
        assert!(!finding_ids(&decided).is_empty());
        let answer = s
            .submit(
                good_packet(&format!("v{version}")),
                with(echo(&context), json!(open)),
            )
            .await;
        if version == 4 {
            assert_eq!(answer.status, 422, "{}", answer.body);
            assert_eq!(answer.code(), "revision_limit_reached");
            break;
        }
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(s.evaluated().await, "review_pending");
    }
    assert_eq!(s.status().await, "needs_revision");
    assert_eq!(
        s.count("SELECT count(*) FROM submissions WHERE task_id = $1")
            .await,
        3
    );

    // Closing needs the proven reason; the deadline has not passed.
    let close_path = format!("/tasks/{}/revision-obligation/close", s.task);
    let close =
        |reason: &'static str| post(&s.server, &close_path, &s.pm, json!({ "reason": reason }));
    let refused = close("revision_deadline_expired").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "close_condition_unmet");
    let refused = close("tired_of_waiting").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let reviews_before = s
        .count("SELECT count(*) FROM reviews WHERE task_id = $1")
        .await;
    let closed = close("revision_limit_reached").await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(closed.body["task"]["status"], "cancelled");
    assert_eq!(s.status().await, "cancelled");
    let assignment: String =
        sqlx::query_scalar("SELECT status FROM task_assignments WHERE task_id = $1")
            .bind(s.task)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(assignment, "released");
    assert_eq!(
        s.count("SELECT count(*) FROM reviews WHERE task_id = $1")
            .await,
        reviews_before,
        "closing writes no synthetic review"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revision_goes_first_to_the_reviewer_who_asked_for_it() {
    // AS41: inside the preference window only R is offered the revised packet; after
    // it lapses (database time), anyone is. Queue age is kept.
    let s = setup_with("rev-prefer", Terms::Unpaid, |b| {
        b["review_policy"]["review_preference_window_seconds"] = json!(3);
    })
    .await;
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");
    let decided = ask_revision(&s, json!([blocking("proof", "The base case is missing.")])).await;
    let f1 = finding_ids(&decided)[0].clone();
    let context = s.revision_context().await;
    let answer = s
        .submit(
            good_packet("v2"),
            with(echo(&context), json!([response(&f1, "Added it.")])),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");

    let other = s.current(&s.reviewer2).await;
    assert!(other.body["offer"].is_null(), "{}", other.body);
    let mine = s.current(&s.reviewer).await;
    assert_eq!(mine.body["offer"]["preferred_for_you"], true);
    assert_eq!(mine.body["offer"]["routing_reason"], "revision_return");
    let enqueued = mine.body["offer"]["enqueued_at"].clone();

    tokio::time::sleep(Duration::from_millis(3500)).await;
    let other = s.current(&s.reviewer2).await;
    assert_eq!(
        other.body["offer"]["task_id"],
        json!(s.task),
        "{}",
        other.body
    );
    assert_eq!(
        other.body["offer"]["enqueued_at"], enqueued,
        "age is never reset"
    );
    let lease = s.claim(&s.reviewer2).await;
    let routing: String = sqlx::query_scalar(
        "SELECT e.routing FROM review_queue_entries e JOIN review_leases l ON l.queue_entry_id = e.id WHERE l.id = $1",
    )
    .bind(lease)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(routing, "open");
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_end_by_expiry_release_and_operator_force_release() {
    let s = setup_with("rev-expiry", Terms::Unpaid, |b| {
        b["review_policy"]["review_lease_duration_seconds"] = json!(2);
    })
    .await;
    let answer = s.submit(good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(s.evaluated().await, "review_pending");

    // Expiry is database time: the lease ends and the entry is offered again.
    let lease = s.claim(&s.reviewer).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let current = s.current(&s.reviewer).await;
    assert!(current.body["lease"].is_null(), "{}", current.body);
    assert_eq!(current.body["offer"]["task_id"], json!(s.task));
    let answer = s.decide(&s.reviewer, lease, accept_body(json!([]))).await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(answer.code(), "lease_not_active");
    let disposition: String =
        sqlx::query_scalar("SELECT disposition FROM review_leases WHERE id = $1")
            .bind(lease)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(disposition, "expired");

    // An Operator force-releases with a reason; without one it is refused.
    let lease = s.claim(&s.reviewer2).await;
    let operator = s.server.actor("rev-expiry-operator").await;
    s.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let path = format!("/operations/reviews/leases/{lease}/force-release");
    let refused = post(&s.server, &path, &operator, json!({})).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "reason_required");
    let not_operator = post(&s.server, &path, &s.pm, json!({ "reason": "stuck" })).await;
    assert_eq!(not_operator.status, 403, "{}", not_operator.body);
    let released = post(
        &s.server,
        &path,
        &operator,
        json!({ "reason": "reviewer unreachable" }),
    )
    .await;
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(released.body["lease"]["disposition"], "released");
    assert_eq!(
        s.count("SELECT count(*) FROM audit_events WHERE event_type = 'review_lease_force_released' AND payload ->> 'task_id' = $1::text").await,
        1
    );
    assert_eq!(
        s.current(&s.reviewer).await.body["offer"]["task_id"],
        json!(s.task)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_preparation_waits_for_a_manager_repair() {
    // R33: an unusable active context (here: the project is paused) blocks the whole
    // preparation; resubmission is refused until the PM fixes the setup and repairs.
    let s = in_review("rev-blocked", Terms::Unpaid).await;
    let paused = post(
        &s.server,
        &format!("/projects/{}/pause", s.project),
        &s.pm,
        json!({ "reason": "Budget review." }),
    )
    .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    let decided = ask_revision(&s, json!([blocking("proof", "The base case is missing.")])).await;
    assert_eq!(decided["preparation"]["outcome"], "blocked");
    assert_eq!(
        decided["preparation"]["blocked_reason_code"],
        "project_not_active"
    );
    let f1 = finding_ids(&decided)[0].clone();
    let h1 = s.revision_context().await;
    let answer = s
        .submit(
            good_packet("v2a"),
            with(echo(&h1), json!([response(&f1, "Added it.")])),
        )
        .await;
    assert_eq!(answer.code(), "revision_context_blocked", "{}", answer.body);
    assert_eq!(
        s.count("SELECT count(*) FROM submissions WHERE task_id = $1")
            .await,
        1
    );

    let resumed = post(
        &s.server,
        &format!("/projects/{}/resume", s.project),
        &s.pm,
        json!({ "reason": "Budget approved." }),
    )
    .await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    let repair = post(
        &s.server,
        &format!("/tasks/{}/revision-context/repair", s.task),
        &s.pm,
        json!({ "head_id": h1["preparation"]["id"], "head_digest": h1["preparation"]["context_digest"],
                "reason": "The project is active again." }),
    )
    .await;
    assert_eq!(repair.status, 201, "{}", repair.body);
    assert_eq!(repair.body["preparation"]["outcome"], "kept");
    let h2 = s.revision_context().await;
    let answer = s
        .submit(
            good_packet("v2b"),
            with(echo(&h2), json!([response(&f1, "Added it.")])),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    // The revised version is under evaluation.
    let h3 = s.revision_context().await;
    assert_eq!(h3["status"], "evaluation_pending");
}
