//! Task lifecycle over HTTP: create, screen (AS08), release (AS09), contributor
//! visibility (AS10), who may claim (AS12), start and the Operator override (AS13),
//! idempotent replay (AS14), the frozen contribution policy (AS15), the active-task cap,
//! cancel, assignment invalidation on revoked authority (T17), a manager's assignment,
//! the optional reasons of screen, claim and start kept in their events, and the work
//! context that names each caller's next request.

mod tasks_common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tasks_common::{get, post, post_key, setup, task_body};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::TestActor;

#[tokio::test]
async fn as08_screen_without_acceptance_criteria_is_refused_and_task_stays_draft() {
    let f = setup().await;
    let mut body = task_body("No criteria");
    body["acceptance_criteria"] = json!("");
    let task = f.create_task(body).await;
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{task}/screen"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "task_fields_incomplete");
    // The refusal names the empty field.
    assert_eq!(
        b["error"]["details"]["fields"],
        json!(["acceptance_criteria"])
    );
    assert_eq!(
        b["error"]["message"],
        "fill in the task's acceptance_criteria before screening it"
    );
    let (s, b) = get(
        &f.server,
        &f.pm,
        &format!("/projects/{}/tasks/{task}", f.project),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["task"]["status"], "draft");
    assert!(b["task"]["locks"]["guide_id"].is_null());
    // Only the creation was audited.
    let events = f.task_events(task).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "task_created");
}

#[tokio::test]
async fn create_validates_fields_and_requires_an_idempotency_key() {
    let f = setup().await;
    let path = format!("/projects/{}/tasks", f.project);
    for (field, value) in [
        ("title", json!("")),
        ("title", json!("x".repeat(301))),
        ("difficulty", json!("trivial")),
        ("estimated_time_minutes", json!(0)),
        ("source_type", json!("email")),
    ] {
        let mut body = task_body("t");
        body[field] = value;
        let (s, b) = post(&f.server, &f.pm, &path, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {b}");
        assert_eq!(b["error"]["code"], "invalid_task_field", "{field}");
        assert_eq!(b["error"]["details"]["field"], field);
    }
    let mut body = task_body("t");
    body["status"] = json!("ready");
    let (s, b) = post(&f.server, &f.pm, &path, body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b["error"]["code"], "invalid_request");
    let response = f
        .server
        .client
        .post(f.server.url(&format!("/api/v1{path}")))
        .header("Authorization", f.pm.auth())
        .json(&task_body("t"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let b: serde_json::Value = response.json().await.unwrap();
    assert_eq!(b["error"]["code"], "idempotency_key_required");
    let (s, b) = post(&f.server, &f.pm, &path, task_body("ok")).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["task"]["status"], "draft");
    assert_eq!(b["task"]["created_by"], json!(f.pm.id));
    // A submitter cannot create tasks.
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let (s, b) = post(&f.server, &s1, &path, task_body("mine")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    // A stranger cannot even see the project.
    let stranger = f.server.actor("stranger").await;
    let (s, _) = post(&f.server, &stranger, &path, task_body("mine")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn as09_release_needs_a_reason_and_locks_everything() {
    let f = setup().await;
    let task = f.create_task(task_body("Lemma")).await;
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{task}/screen"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "screening");
    let locks = &b["task"]["locks"];
    assert_eq!(locks["guide_id"], json!(f.guide));
    assert_eq!(locks["guide_version"], "v1");
    assert_eq!(locks["guide_activation_sequence"], 1);
    for (key, c) in [
        ("policy_bundle_hash", '1'),
        ("artifact_policy_hash", '2'),
        ("checker_policy_hash", '3'),
        ("review_policy_hash", '4'),
        ("revision_policy_hash", '5'),
    ] {
        assert_eq!(
            locks[key],
            json!(format!("sha256:{}", c.to_string().repeat(64))),
            "{key}"
        );
    }
    assert_eq!(
        locks["checker_policy"]["blocking_severities"],
        json!(["critical", "high"])
    );
    assert!(locks["locked_at"].is_string());
    assert!(locks["contribution_policy_version_id"].is_null());

    for body in [json!({}), json!({"reason": "   "})] {
        let (s, b) = post(&f.server, &f.pm, &format!("/tasks/{task}/release"), body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(b["error"]["code"], "reason_required");
    }
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{task}/release"),
        json!({"reason": "criteria are concrete"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "ready");
    assert_eq!(
        b["task"]["locks"]["contribution_policy_version_id"],
        json!(f.cpv1)
    );
    assert_eq!(b["task"]["locks"]["guide_id"], json!(f.guide));

    let events = f.task_events(task).await;
    let kinds: Vec<_> = events
        .iter()
        .map(|(e, from, to, actor, _)| (e.as_str(), from.as_deref(), to.as_deref(), *actor))
        .collect();
    assert_eq!(
        kinds,
        [
            ("task_created", None, Some("draft"), Some(f.pm.id)),
            (
                "task_screened",
                Some("draft"),
                Some("screening"),
                Some(f.pm.id)
            ),
            (
                "task_released",
                Some("screening"),
                Some("ready"),
                Some(f.pm.id)
            ),
        ]
    );
    assert_eq!(events[2].4["permission"], "project.task.release");
    assert_eq!(events[2].4["transition"], "T2");
    assert!(events[2].4["matched_grant_id"].is_string());

    // Releasing again: wrong state is 403.
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{task}/release"),
        json!({"reason": "again"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["error"]["code"], "transition_not_allowed");
}

#[tokio::test]
async fn return_to_draft_clears_the_locks_with_a_reason() {
    let f = setup().await;
    let task = f.create_task(task_body("Back")).await;
    post(
        &f.server,
        &f.pm,
        &format!("/tasks/{task}/screen"),
        json!({}),
    )
    .await;
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{task}/return-to-draft"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{task}/return-to-draft"),
        json!({"reason": "criteria too vague"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "draft");
    assert!(b["task"]["locks"]["guide_id"].is_null());
    assert_eq!(
        b["task"]["screening_note"]["fix_required"],
        "criteria too vague"
    );
}

#[tokio::test]
async fn as10_contributors_see_only_ready_tasks_with_safe_terms() {
    let f = setup().await;
    let submitter = f.contributor("s1", ProjectRole::Submitter).await;
    let reviewer = f.contributor("r1", ProjectRole::Reviewer).await;
    let draft = f.create_task(task_body("Draft")).await;
    let (s, b) = get(&f.server, &submitter, &format!("/tasks/{draft}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["error"]["code"], "not_found");
    let queue = format!("/projects/{}/tasks/ready", f.project);
    let (s, b) = get(&f.server, &submitter, &queue).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["items"], json!([]));

    let ready = f.ready_task("Ready").await;
    for who in [&submitter, &reviewer] {
        let (s, b) = get(&f.server, who, &queue).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let items = b["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["id"], json!(ready));
        assert_eq!(
            items[0]["compensation"],
            json!({
                "accepted_submission": [{"instrument": "money", "unit": "USD", "quantity": "50"}],
                "completed_review": "unpaid"
            })
        );
    }
    let (s, b) = get(&f.server, &submitter, &format!("/tasks/{ready}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let text = b.to_string();
    for secret in [
        "sha256:",
        "local.secret-route",
        &f.binding.to_string(),
        &f.cpv1.to_string(),
        &f.pm.id.to_string(),
        "\"published\"",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    for key in ["locks", "created_by", "assigned_to", "source_ref"] {
        assert!(b["task"].get(key).is_none(), "{key} exposed");
    }
    // The eligible submitter reads the submission requirements of the locked guide.
    let (s, b) = get(
        &f.server,
        &submitter,
        &format!("/tasks/{ready}/submission-requirements"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["required_artifacts"][0]["path"],
        "outputs/final-answer.md"
    );
    assert_eq!(b["maximum_file_size_bytes"], 10485760);
    assert_eq!(b["attestation_terms"], json!(["No confidential material."]));
    let (s, _) = get(
        &f.server,
        &submitter,
        &format!("/tasks/{draft}/submission-requirements"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A PM is not a contributor: the queue is refused, the project being visible.
    let (s, b) = get(&f.server, &f.pm, &queue).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let stranger = f.server.actor("stranger").await;
    let (s, _) = get(&f.server, &stranger, &queue).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = get(&f.server, &stranger, &format!("/tasks/{ready}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The management list pages by cursor.
    let (s, b) = get(
        &f.server,
        &f.pm,
        &format!("/projects/{}/tasks?limit=1", f.project),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["items"][0]["id"], json!(draft));
    let cursor = b["next_cursor"].as_str().unwrap().to_owned();
    let (s, b) = get(
        &f.server,
        &f.pm,
        &format!("/projects/{}/tasks?limit=1&cursor={cursor}", f.project),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["items"][0]["id"], json!(ready));
    let (s, b) = get(
        &f.server,
        &f.pm,
        &format!("/projects/{}/tasks/ready?cursor={cursor}", f.project),
    )
    .await;
    // A cursor of one list is refused by another.
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "invalid_cursor");
}

#[tokio::test]
async fn as12_reviewers_managers_and_administrators_cannot_claim() {
    let f = setup().await;
    let task = f.ready_task("Claim me").await;
    let reviewer = f.contributor("r1", ProjectRole::Reviewer).await;
    let admin = f.server.actor("admin").await;
    f.server
        .grant_admin(&admin, AdminRole::AccessAdministrator, None)
        .await;
    let operator = f.server.actor("op").await;
    f.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    for (who, status) in [
        (&reviewer, StatusCode::FORBIDDEN),
        (&f.pm, StatusCode::FORBIDDEN),
        (&operator, StatusCode::FORBIDDEN),
        (&admin, StatusCode::NOT_FOUND),
    ] {
        let (s, b) = post(&f.server, who, &format!("/tasks/{task}/claim"), json!({})).await;
        assert_eq!(s, status, "{}: {b}", who.subject);
    }
    assert!(f.assignments(task).await.is_empty());
    let (_, b) = get(
        &f.server,
        &f.pm,
        &format!("/projects/{}/tasks/{task}", f.project),
    )
    .await;
    assert_eq!(b["task"]["status"], "ready");
}

#[tokio::test]
async fn as13_only_the_assignee_starts_and_an_operator_overrides_with_a_reason() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let s2 = f.contributor("s2", ProjectRole::Submitter).await;
    let operator = f.server.actor("op").await;
    f.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;

    let own = f.ready_task("Own start").await;
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{own}/claim"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{own}/start"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "in_progress");

    let task = f.ready_task("Override").await;
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{task}/claim"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "claimed");
    assert_eq!(b["task"]["assigned_to_me"], true);
    assert_eq!(b["assignment"]["contributor_id"], json!(s1.id));
    // Another submitter: the claimed task is not theirs to see, let alone start.
    let (s, b) = post(&f.server, &s2, &format!("/tasks/{task}/start"), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    // The PM is not the assignee either.
    let (s, b) = post(&f.server, &f.pm, &format!("/tasks/{task}/start"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let path = format!("/operations/tasks/{task}/start");
    let (s, b) = post(&f.server, &operator, &path, json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["code"], "reason_required");
    let (s, b) = post(&f.server, &f.pm, &path, json!({"reason": "stuck"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = post(
        &f.server,
        &operator,
        &path,
        json!({"reason": "client stuck"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "in_progress");
    assert_eq!(b["task"]["assigned_to"], json!(s1.id));
    let assignments = f.assignments(task).await;
    assert_eq!(assignments.len(), 1);
    assert_eq!(
        (assignments[0].0, assignments[0].1.as_str()),
        (s1.id, "active")
    );
    let events = f.task_events(task).await;
    let last = events.last().unwrap();
    assert_eq!(last.0, "task_start_overridden");
    assert_eq!(
        (last.1.as_deref(), last.2.as_deref()),
        (Some("claimed"), Some("in_progress"))
    );
    assert_eq!(last.3, Some(operator.id));
    assert_eq!(last.4["permission"], "operations.task.start_override");
    assert_eq!(last.4["assignee_id"], json!(s1.id));
    // The assignee's own start now finds the task already started.
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{task}/start"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["error"]["code"], "transition_not_allowed");
}

#[tokio::test]
async fn as14_a_replayed_claim_returns_the_original_and_a_reused_key_elsewhere_conflicts() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let task = f.ready_task("Replay").await;
    let other = f.ready_task("Other").await;
    let key = Uuid::now_v7();
    let (s, first) = post_key(
        &f.server,
        &s1,
        &format!("/tasks/{task}/claim"),
        json!({}),
        key,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let response = f
        .server
        .client
        .post(f.server.url(&format!("/api/v1/tasks/{task}/claim")))
        .header("Authorization", s1.auth())
        .header("Idempotency-Key", key.to_string())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["idempotency-replayed"], "true");
    let replay: serde_json::Value = response.json().await.unwrap();
    assert_eq!(replay, first);
    assert_eq!(f.assignments(task).await.len(), 1);
    let claims = f
        .task_events(task)
        .await
        .into_iter()
        .filter(|e| e.0 == "task_claimed")
        .count();
    assert_eq!(claims, 1);
    let (s, b) = post_key(
        &f.server,
        &s1,
        &format!("/tasks/{other}/claim"),
        json!({}),
        key,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "idempotency_mismatch");
    assert!(f.assignments(other).await.is_empty());
    // Once the task has moved on, the old answer is no longer given (R15).
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{task}/start"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = post_key(
        &f.server,
        &s1,
        &format!("/tasks/{task}/claim"),
        json!({}),
        key,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "task_replay_state_changed");
    // A replay re-checks authority: with the grant revoked, it is refused.
    let replay_key = Uuid::now_v7();
    let (s, b) = post_key(
        &f.server,
        &s1,
        &format!("/tasks/{other}/claim"),
        json!({}),
        replay_key,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    sqlx::query(
        "UPDATE project_role_grants SET status = 'revoked', revoked_at = now(), revoked_by = $2, \
         revoke_reason = 'test' WHERE actor_id = $1",
    )
    .bind(s1.id)
    .bind(f.pm.id)
    .execute(f.server.database.pool())
    .await
    .unwrap();
    let (s, b) = post_key(
        &f.server,
        &s1,
        &format!("/tasks/{other}/claim"),
        json!({}),
        replay_key,
    )
    .await;
    // Without any grant on the project, the task is concealed.
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}

#[tokio::test]
async fn as15_a_claim_freezes_the_released_policy_version() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let task = f.ready_task("Frozen terms").await;
    let cpv2 = Uuid::now_v7();
    let mut conn = f.server.database.pool().acquire().await.unwrap();
    tasks_common::publish_version(&mut conn, f.project, f.policy, cpv2, 2, f.pm.id, None).await;
    drop(conn);
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{task}/claim"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        f.assignments(task).await,
        vec![(s1.id, "active".to_owned(), f.cpv1)]
    );
    // The terms shown are still CPV1's.
    assert_eq!(
        b["task"]["compensation"]["accepted_submission"][0]["quantity"],
        "50"
    );
}

#[tokio::test]
async fn the_active_task_cap_stops_a_third_claim() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let tasks = [
        f.ready_task("one").await,
        f.ready_task("two").await,
        f.ready_task("three").await,
    ];
    for task in &tasks[..2] {
        let (s, b) = post(&f.server, &s1, &format!("/tasks/{task}/claim"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, b) = post(
        &f.server,
        &s1,
        &format!("/tasks/{}/claim", tasks[2]),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "active_task_cap_reached");
    assert!(f.assignments(tasks[2]).await.is_empty());
}

#[tokio::test]
async fn cancel_needs_a_reason_and_releases_the_assignment() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let task = f.ready_task("Cancel me").await;
    post(&f.server, &s1, &format!("/tasks/{task}/claim"), json!({})).await;
    let path = format!("/tasks/{task}/cancel");
    let (s, b) = post(&f.server, &f.pm, &path, json!({"reason": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (s, b) = post(&f.server, &s1, &path, json!({"reason": "mine"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = post(&f.server, &f.pm, &path, json!({"reason": "duplicate task"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "cancelled");
    assert_eq!(f.assignments(task).await[0].1, "released");
    let last = f.task_events(task).await.pop().unwrap();
    assert_eq!(
        (last.0.as_str(), last.2.as_deref()),
        ("task_cancelled", Some("cancelled"))
    );
    let (s, _) = post(&f.server, &f.pm, &path, json!({"reason": "again"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A draft task can be cancelled too.
    let draft = f.create_task(task_body("draft")).await;
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{draft}/cancel"),
        json!({"reason": "not needed"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn t17_revoking_the_submitter_grant_returns_the_task_to_ready() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let reviewer_grant_holder = f.contributor("r1", ProjectRole::Reviewer).await;
    let task = f.ready_task("Revoked").await;
    post(&f.server, &s1, &format!("/tasks/{task}/claim"), json!({})).await;
    let (s, _) = post(&f.server, &s1, &format!("/tasks/{task}/start"), json!({})).await;
    assert_eq!(s, StatusCode::OK);

    // Invalidation with the grant intact moves nothing.
    let pool = f.server.database.pool();
    let mut tx = pool.begin().await.unwrap();
    let moved =
        workstream_engine::tasks::invalidate_assignments_of_actor(&mut tx, s1.id, None, "check")
            .await
            .unwrap();
    assert!(moved.is_empty());
    tx.rollback().await.unwrap();

    // Revoke the grant and invalidate in one transaction, as the revocation command does.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "UPDATE project_role_grants SET status = 'revoked', revoked_at = now(), revoked_by = $2, \
         revoke_reason = 'left the pilot' WHERE actor_id = $1 AND role = 'submitter'",
    )
    .bind(s1.id)
    .bind(f.pm.id)
    .execute(&mut *tx)
    .await
    .unwrap();
    let moved = workstream_engine::tasks::invalidate_assignments_of_actor(
        &mut tx,
        s1.id,
        Some(f.project),
        "submitter grant revoked",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(moved, vec![task]);
    assert_eq!(f.assignments(task).await[0].1, "authority_revoked");
    let (_, b) = get(
        &f.server,
        &f.pm,
        &format!("/projects/{}/tasks/{task}", f.project),
    )
    .await;
    assert_eq!(b["task"]["status"], "ready");
    assert!(b["task"]["assigned_to"].is_null());
    assert_eq!(
        b["task"]["locks"]["contribution_policy_version_id"],
        json!(f.cpv1)
    );
    let last = f.task_events(task).await.pop().unwrap();
    assert_eq!(last.0, "task_assignment_invalidated");
    assert_eq!(
        (last.1.as_deref(), last.2.as_deref(), last.3),
        (Some("in_progress"), Some("ready"), None)
    );
    // The former assignee sees nothing now; the task is claimable again by others.
    let (s, _) = get(&f.server, &s1, &format!("/tasks/{task}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = get(&f.server, &reviewer_grant_holder, &format!("/tasks/{task}")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_manager_assigns_a_ready_task_to_a_submitter_with_a_reason() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let reviewer = f.contributor("r1", ProjectRole::Reviewer).await;
    let task = f.ready_task("Assign me").await;
    let path = format!("/tasks/{task}/assign");
    let body = |who: Uuid, reason: &str| json!({"assignee_actor_id": who, "reason": reason});

    // Only the manager assigns; a submitter of the project sees it and is refused.
    let (s, b) = post(&f.server, &s1, &path, body(s1.id, "me")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = post(&f.server, &f.pm, &path, json!({"assignee_actor_id": s1.id})).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_required")),
        "{b}"
    );
    // Only to a submitter of the project: not a reviewer, not an unknown profile.
    for who in [reviewer.id, Uuid::now_v7()] {
        let (s, b) = post(&f.server, &f.pm, &path, body(who, "good fit")).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("assignee_not_eligible")
            ),
            "{b}"
        );
    }
    assert!(f.assignments(task).await.is_empty());

    let (s, b) = post(&f.server, &f.pm, &path, body(s1.id, "knows the lemma")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "claimed");
    assert_eq!(b["task"]["assigned_to"], json!(s1.id));
    assert_eq!(b["assignment"]["contributor_id"], json!(s1.id));
    assert_eq!(b["assignment"]["assigned_by"], json!(f.pm.id));
    let events = f.task_events(task).await;
    let last = events.last().unwrap();
    assert_eq!(last.0, "task_assigned");
    assert_eq!(
        (last.1.as_deref(), last.2.as_deref(), last.3),
        (Some("ready"), Some("claimed"), Some(f.pm.id))
    );
    assert_eq!(last.4["permission"], "task.assign");
    assert_eq!(last.4["assignee_actor_id"], json!(s1.id));
    let reason: Option<String> = sqlx::query_scalar(
        "SELECT reason FROM audit_events WHERE entity_id = $1 AND event_type = 'task_assigned'",
    )
    .bind(task)
    .fetch_one(f.server.database.pool())
    .await
    .unwrap();
    assert_eq!(reason.as_deref(), Some("knows the lemma"));

    // The assignee finds it in their work list and starts it.
    let (s, b) = get(&f.server, &s1, "/me/assignments").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["items"][0]["task"]["id"], json!(task));
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{task}/start"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // The claim's guards hold for the assignee: the active-task cap.
    let second = f.ready_task("Second").await;
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{second}/claim"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let third = f.ready_task("Third").await;
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{third}/assign"),
        body(s1.id, "one more"),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("active_task_cap_reached")),
        "{b}"
    );
    assert!(f.assignments(third).await.is_empty());
}

#[tokio::test]
async fn reasons_sent_with_screen_claim_and_start_are_kept_in_their_events() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let task = f.create_task(task_body("Reasons")).await;
    let steps = [
        (&f.pm, "screen", json!({"reason": "  criteria checked  "})),
        (&f.pm, "release", json!({"reason": "ready"})),
        (&s1, "claim", json!({"reason": "my area"})),
        (&s1, "start", json!({"reason": ""})),
    ];
    for (who, action, body) in steps {
        let (s, b) = post(&f.server, who, &format!("/tasks/{task}/{action}"), body).await;
        assert_eq!(s, StatusCode::OK, "{action}: {b}");
    }
    let reasons: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT event_type, reason FROM audit_events WHERE entity_id = $1 ORDER BY occurred_at, id",
    )
    .bind(task)
    .fetch_all(f.server.database.pool())
    .await
    .unwrap();
    let kept: Vec<(&str, Option<&str>)> = reasons
        .iter()
        .map(|(e, r)| (e.as_str(), r.as_deref()))
        .collect();
    assert_eq!(
        kept,
        [
            ("task_created", None),
            ("task_screened", Some("criteria checked")),
            ("task_released", Some("ready")),
            ("task_claimed", Some("my area")),
            ("task_started", None),
        ]
    );
    // A reason given is checked as every reason is.
    let other = f.ready_task("Long reason").await;
    let (s, b) = post(
        &f.server,
        &s1,
        &format!("/tasks/{other}/claim"),
        json!({"reason": "x".repeat(2001)}),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_too_long")),
        "{b}"
    );
}

#[tokio::test]
async fn terms_an_active_guide_is_bound_to_cannot_be_retired_and_releases_keep_working() {
    let f = setup().await;
    let fin = f.server.actor("fin").await;
    f.server
        .grant_admin(&fin, AdminRole::FinanceAuthority, Some(f.project))
        .await;
    let path = format!(
        "/projects/{}/contribution-policies/{}/versions/{}/retirement",
        f.project, f.policy, f.cpv1
    );
    let (s, b) = post(&f.server, &fin, &path, json!({})).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("contribution_policy_version_in_use")
        ),
        "{b}"
    );
    assert_eq!(b["error"]["details"]["guide_id"], json!(f.guide));
    let status: String =
        sqlx::query_scalar("SELECT status FROM contribution_policy_versions WHERE id = $1")
            .bind(f.cpv1)
            .fetch_one(f.server.database.pool())
            .await
            .unwrap();
    assert_eq!(status, "published");
    let (s, b) = get(
        &f.server,
        &fin,
        &format!("/projects/{}/contribution-policies/current", f.project),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Releases go on locking the guide's terms.
    f.ready_task("Still releasable").await;
}

/// The actions a work context lists, as `(action, path, blocked code)`.
fn actions(context: &Value) -> Vec<(String, String, Option<String>)> {
    context["next_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_owned(),
                a["path"].as_str().unwrap().to_owned(),
                a["blocked"]["code"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_work_context_names_each_callers_next_request_from_the_lifecycle() {
    let f = setup().await;
    let s1 = f.contributor("s1", ProjectRole::Submitter).await;
    let outsider = f.server.actor("outsider").await;
    let mut body = task_body("Thin");
    body["acceptance_criteria"] = json!("");
    let empty = f.create_task(body).await;
    let context = |who: &TestActor, task: Uuid| {
        let (server, who) = (&f.server, who.clone());
        async move { get(server, &who, &format!("/tasks/{task}/work-context")).await }
    };

    // A draft with an empty field: the manager may screen (already known to be
    // refused, with the field named) or cancel; the submitter may not see it at all.
    let (s, b) = context(&f.pm, empty).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["task"]["status"], "draft");
    assert_eq!(b["roles"], json!(["project_manager"]));
    assert_eq!(
        actions(&b),
        vec![
            (
                "screen".into(),
                format!("/tasks/{empty}/screen"),
                Some("task_fields_incomplete".into())
            ),
            ("cancel".into(), format!("/tasks/{empty}/cancel"), None),
        ]
    );
    assert_eq!(b["waiting_for"], Value::Null);
    for who in [&s1, &outsider] {
        let (s, b) = context(who, empty).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        assert_eq!(b["error"]["code"], "not_found");
    }

    // Ready: the submitter may claim; the manager may assign or cancel.
    let ready = f.ready_task("Ready one").await;
    let (s, b) = context(&s1, ready).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["roles"], json!(["submitter"]));
    assert_eq!(
        actions(&b),
        vec![("claim".into(), format!("/tasks/{ready}/claim"), None)]
    );
    let (_, b) = context(&f.pm, ready).await;
    let names: Vec<String> = actions(&b).into_iter().map(|a| a.0).collect();
    assert_eq!(names, ["assign", "cancel"]);

    // Claimed by s1: start is theirs; the manager may only cancel.
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{ready}/claim"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, b) = context(&s1, ready).await;
    assert_eq!(b["is_assignee"], true);
    assert_eq!(
        actions(&b),
        vec![("start".into(), format!("/tasks/{ready}/start"), None)]
    );

    // In progress: upload a packet, then submit it.
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{ready}/start"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, b) = context(&s1, ready).await;
    let names: Vec<String> = actions(&b).into_iter().map(|a| a.0).collect();
    assert_eq!(names, ["upload_packet", "submit"]);
    assert_eq!(b["latest_submission"], Value::Null);
    let (_, b) = context(&f.pm, ready).await;
    assert_eq!(
        actions(&b),
        vec![("cancel".into(), format!("/tasks/{ready}/cancel"), None)]
    );

    // At the active-task cap, a further claim is listed as blocked with the claim's code.
    let second = f.ready_task("Second").await;
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{second}/claim"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let third = f.ready_task("Third").await;
    let (_, b) = context(&s1, third).await;
    assert_eq!(
        actions(&b),
        vec![(
            "claim".into(),
            format!("/tasks/{third}/claim"),
            Some("active_task_cap_reached".into())
        )]
    );
    let (s, b) = post(&f.server, &s1, &format!("/tasks/{third}/claim"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "active_task_cap_reached");

    // A cancelled task leaves nobody anything to do.
    let (s, b) = post(
        &f.server,
        &f.pm,
        &format!("/tasks/{empty}/cancel"),
        json!({"reason": "thin"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, b) = context(&f.pm, empty).await;
    assert_eq!(b["next_actions"], json!([]));
    assert_eq!(b["waiting_for"], Value::Null);
}
