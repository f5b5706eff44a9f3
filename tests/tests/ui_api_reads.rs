//! The API reads the web UI needed, over HTTP: `GET /tasks/{tid}/audit-trail` (the
//! task's events, each proven against the audit ledger's signed checkpoint, concealed from everyone but its
//! auditors, managers and operators), `GET /checkers` (the registry with each
//! component's publisher, pinning guides and recent runs; 403 without the authority)
//! and `GET /me/assignments` (the caller's own, newest first, paged).

mod projects_support;
mod review_support;
mod ui_support;

use std::collections::BTreeMap;

use projects_support::*;
use serde_json::{Value, json};
use ui_support::*;
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_e2e::{TestActor, TestServer};
use workstream_sandbox::testing::component_bytes;

#[tokio::test(flavor = "multi_thread")]
async fn a_tasks_audit_trail_lists_its_events_and_proves_each_against_the_checkpoint() {
    let s = ready_project("reads-audit").await;
    let path = format!("/tasks/{}/audit-trail", s.task);

    // Before the sealer ran: every event waits, nothing is wrong.
    let trail = get(&s.server, &path, &s.auditor).await;
    assert_eq!(trail.status, 200, "{}", trail.body);
    assert_eq!(trail.body["task_id"], json!(s.task));
    assert_eq!(trail.body["project_id"], json!(s.project));
    assert_eq!(trail.body["ledger"]["checkpoint"], Value::Null);
    assert_eq!(trail.body["ledger"]["verified"], true);
    let items = trail.body["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .all(|e| e["status"] == "pending" && e["leaf_index"].is_null())
    );

    let sealed = s.server.seal_audit().await;
    let trail = get(&s.server, &path, &s.auditor).await;
    let ledger = &trail.body["ledger"];
    assert_eq!(ledger["verified"], true, "{ledger}");
    assert_eq!(ledger["signature_valid"], true);
    assert_eq!(
        (ledger["pending"].as_u64(), ledger["failed"].as_u64()),
        (Some(0), Some(0))
    );
    let checkpoint = &ledger["checkpoint"];
    assert_eq!(checkpoint["tree_size"].as_u64(), Some(sealed));
    assert_eq!(checkpoint["key_id"], s.server.audit_key.public().id());
    let events: Vec<&str> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["task_created", "task_screened", "task_released"]);
    let items = trail.body["items"].as_array().unwrap();
    assert!(items.iter().all(|e| e["status"] == "verified"));
    // Ledger order, and each proof checks out on the client's side too.
    let positions: Vec<u64> = items
        .iter()
        .map(|e| e["leaf_index"].as_u64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let root: [u8; 32] = hex::decode(checkpoint["root"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    for item in items {
        let digest: workstream_domain::Digest = item["digest"].as_str().unwrap().parse().unwrap();
        let proof: Vec<[u8; 32]> = item["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        assert!(workstream_domain::merkle::verify_inclusion(
            item["leaf_index"].as_u64().unwrap(),
            sealed,
            &workstream_domain::merkle::leaf_hash(digest.as_bytes()),
            &proof,
            &root,
        ));
    }

    // The project's manager reads it too; contributors and strangers meet the 404.
    let as_pm = get(&s.server, &path, &s.pm).await;
    assert_eq!(as_pm.status, 200);
    for who in [&s.submitter, &s.reviewer, &s.fin] {
        let answer = get(&s.server, &path, who).await;
        assert_eq!(answer.status, 404, "{}", answer.body);
        assert_eq!(answer.code(), "not_found");
    }
    let stranger = s.server.actor("reads-stranger").await;
    let other_auditor = s.server.actor("reads-other-auditor").await;
    let elsewhere = create_project(&s.server, &s.pm, "reads-elsewhere").await;
    s.server
        .grant_admin(&other_auditor, AdminRole::AuditAuthority, Some(elsewhere))
        .await;
    for who in [&stranger, &other_auditor] {
        assert_eq!(get(&s.server, &path, who).await.status, 404);
    }
    let missing = get(
        &s.server,
        &format!("/tasks/{}/audit-trail", Uuid::now_v7()),
        &s.auditor,
    )
    .await;
    assert_eq!(missing.status, 404);
    let malformed = get(&s.server, "/tasks/nope/audit-trail", &s.auditor).await;
    assert_eq!(malformed.status, 422);
    assert_eq!(malformed.code(), "malformed_id");

    // Someone edits the screening event behind the triggers' back: that event, and
    // only that one, no longer proves against the checkpoint.
    let screened: Uuid = items[1]["id"].as_str().unwrap().parse().unwrap();
    let mut tx = s.server.database.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET reason = 'edited later' WHERE id = $1")
        .bind(screened)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let broken = get(&s.server, &path, &s.auditor).await;
    assert_eq!(broken.status, 200);
    assert_eq!(broken.body["ledger"]["verified"], false);
    assert_eq!(broken.body["ledger"]["failed"], 1);
    let statuses: Vec<&str> = broken.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["verified", "failed", "verified"]);
    let report = s.server.verify_audit().await;
    assert!(!report.ok());
    assert!(
        report.problems[0]
            .to_string()
            .contains(&screened.to_string()),
        "{:?}",
        report.problems
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_checker_registry_is_read_by_managers_operators_and_auditors() {
    let s = ready_project("reads-checkers").await;
    let registry = get(&s.server, "/checkers", &s.pm).await;
    assert_eq!(registry.status, 200, "{}", registry.body);
    let items = registry.body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for builtin in ["required-files", "placeholder-signal", "forbidden-files"] {
        assert!(names.contains(&builtin), "{names:?}");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "by name");
    let required = items
        .iter()
        .find(|c| c["name"] == "required-files")
        .unwrap();
    assert_eq!(required["builtin"], true);
    assert!(required["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(required["config_schema"]["properties"].is_object());
    assert!(required.get("wasm_bytes").is_none(), "never the bytes");
    // A built-in has no publisher; the project's active guide pins it; nothing ran yet.
    let pin = json!([{ "project_id": s.project, "project_slug": "reads-checkers",
                       "guide_id": s.guide, "guide_version": "v1" }]);
    let no_runs = json!({ "count": 0, "failed": 0, "errored_by_code": {},
                          "p50_duration_us": null, "p95_duration_us": null });
    assert_eq!(required["published_by"], Value::Null);
    assert_eq!(required["pinned_by"], pin);
    assert_eq!(required["runs"], no_runs);
    for item in items {
        assert!(
            item["pinned_by"] == json!([]) || item["pinned_by"] == pin,
            "{item}"
        );
        assert_eq!(item["runs"], no_runs, "{item}");
    }

    // A component the manager publishes names them, by display name.
    let bytes = component_bytes("legacy_v0_1");
    let published = publish_component(&s.server, &s.pm, &bytes).await;
    assert_eq!(published.status, 201, "{}", published.body);
    let digest = published.body["digest"].as_str().unwrap().to_owned();
    let entry = registry_entry(&s.server, &s.pm, &digest).await;
    for field in [
        "name",
        "version",
        "description",
        "config_schema",
        "contract",
        "byte_count",
        "builtin",
        "registered_by",
        "registered_at",
    ] {
        assert_eq!(entry[field], published.body[field], "{field}");
    }
    assert_eq!(
        entry["published_by"],
        json!({ "actor_id": s.pm.id, "display_name": MANAGER })
    );
    assert_eq!(entry["pinned_by"], json!([]));
    assert_eq!(entry["runs"], no_runs);
    // A renamed publisher is shown by their new name; a blank name by their subject.
    for (name, shown) in [("Mina Manager", "Mina Manager"), ("   ", MANAGER)] {
        sqlx::query("UPDATE actor_profiles SET display_name = $1 WHERE id = $2")
            .bind(name)
            .bind(s.pm.id)
            .execute(s.server.database.pool())
            .await
            .unwrap();
        let entry = registry_entry(&s.server, &s.pm, &digest).await;
        assert_eq!(
            entry["published_by"],
            json!({ "actor_id": s.pm.id, "display_name": shown })
        );
    }

    // A project-scoped audit authority reads it; contributors and finance do not.
    assert_eq!(get(&s.server, "/checkers", &s.auditor).await.status, 200);
    let operator = s.server.actor("reads-operator").await;
    s.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    assert_eq!(get(&s.server, "/checkers", &operator).await.status, 200);
    for who in [&s.submitter, &s.reviewer, &s.fin] {
        let answer = get(&s.server, "/checkers", who).await;
        assert_eq!(answer.status, 403, "{}", answer.body);
        assert_eq!(answer.code(), "permission_not_granted");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_checker_registry_counts_each_components_recent_runs() {
    // A hostile component pinned after the standard checkers: its finding holds a NUL
    // character, so its result is errored (`invalid_output`) beside the others.
    let digest = std::sync::OnceLock::new();
    let register = async |server: &TestServer| {
        let bytes = component_bytes("hostile_nul_finding");
        let registered = review_support::register_through_engine(server, &bytes).await;
        digest.set(registered).unwrap();
    };
    let s = review_support::setup_registering(
        "reads-runs",
        review_support::Terms::Unpaid,
        register,
        |bundle| {
            bundle["checker_policy"]["checkers"]
                .as_array_mut()
                .unwrap()
                .push(
                    json!({"name": "hostile-nul-finding", "digest": digest.get().unwrap(),
                             "phase": "post_submit", "configuration": {}, "blocking": true,
                             "severity": "high"}),
                );
        },
    )
    .await;
    let hostile = digest.get().unwrap().clone();
    let answer = s.submit(review_support::good_packet("v1"), json!({})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let (status, _, code) = s.run_finished().await;
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("failed", Some("invalid_output"))
    );

    // Every component's `runs` is what its stored results say.
    let results: Vec<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT checker_digest, status, failure_code, duration_us FROM checker_results",
    )
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    let registry = get(&s.server, "/checkers", &s.pm).await;
    assert_eq!(registry.status, 200, "{}", registry.body);
    let items = registry.body["items"].as_array().unwrap();
    let mut ran = 0;
    for item in items {
        let mine: Vec<_> = results
            .iter()
            .filter(|(d, ..)| item["digest"] == d.as_str())
            .collect();
        ran += usize::from(!mine.is_empty());
        let mut durations: Vec<i64> = mine.iter().filter_map(|r| r.3).collect();
        durations.sort_unstable();
        let mut errored = BTreeMap::new();
        for (_, status, code, _) in &mine {
            if status == "errored" {
                *errored.entry(code.clone().unwrap()).or_insert(0) += 1;
            }
        }
        let expected = json!({
            "count": mine.len(),
            "failed": mine.iter().filter(|r| r.1 == "failed").count(),
            "errored_by_code": errored,
            "p50_duration_us": percentile_disc(&durations, 0.5),
            "p95_duration_us": percentile_disc(&durations, 0.95),
        });
        assert_eq!(item["runs"], expected, "{}", item["name"]);
    }
    assert!(ran >= 2, "the standard checkers and the hostile one ran");

    let entry = registry_entry(&s.server, &s.pm, &hostile).await;
    let duration: Option<i64> =
        sqlx::query_scalar("SELECT duration_us FROM checker_results WHERE checker_digest = $1")
            .bind(&hostile)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(
        entry["runs"],
        json!({ "count": 1, "failed": 0, "errored_by_code": { "invalid_output": 1 },
                "p50_duration_us": duration, "p95_duration_us": duration })
    );
    assert_eq!(
        entry["pinned_by"],
        json!([{ "project_id": s.project, "project_slug": "reads-runs",
                 "guide_id": s.guide, "guide_version": "v1" }])
    );
    // Registered by the platform's engine, not by an actor.
    assert_eq!(entry["published_by"], Value::Null);

    // Results older than the window are not counted (aged behind the append-only
    // trigger's back).
    let mut tx = s.server.database.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE checker_results SET created_at = now() - interval '31 days'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let entry = registry_entry(&s.server, &s.pm, &hostile).await;
    assert_eq!(
        entry["runs"],
        json!({ "count": 0, "failed": 0, "errored_by_code": {},
                "p50_duration_us": null, "p95_duration_us": null })
    );
}

/// PostgreSQL's `percentile_disc(fraction)` of sorted `values`: the first value whose
/// position in the order reaches the fraction.
fn percentile_disc(values: &[i64], fraction: f64) -> Option<i64> {
    let position = (fraction * values.len() as f64).ceil() as usize;
    values.get(position.max(1) - 1).copied()
}

/// Publishes `bytes` with `POST /checkers` as `actor`.
async fn publish_component(server: &TestServer, actor: &TestActor, bytes: &[u8]) -> Answer {
    let form = reqwest::multipart::Form::new().part(
        "component",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("checker.wasm"),
    );
    let response = server
        .client
        .post(server.url("/api/v1/checkers"))
        .header("authorization", actor.auth())
        .header("idempotency-key", Uuid::now_v7().to_string())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        replayed: false,
    }
}

/// The registry's item for `digest`, read as `actor`.
async fn registry_entry(server: &TestServer, actor: &TestActor, digest: &str) -> Value {
    let registry = get(server, "/checkers", actor).await;
    assert_eq!(registry.status, 200, "{}", registry.body);
    registry.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["digest"] == digest)
        .unwrap_or_else(|| panic!("{digest} is not in the registry"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn my_assignments_are_mine_newest_first_and_paged() {
    let s = ready_project("reads-mine").await;
    let empty = get(&s.server, "/me/assignments", &s.submitter).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body, json!({ "items": [], "next_cursor": null }));

    // Two more tasks; the submitter claims all three, oldest first.
    let mut tasks = vec![s.task];
    for n in 0..2 {
        let created = post(
            &s.server,
            &format!("/projects/{}/tasks", s.project),
            &s.pm,
            json!({"title": format!("Task {n}"), "description": "Another task.",
                   "acceptance_criteria": "A complete answer with its evidence.",
                   "rejection_criteria": "Gaps."}),
        )
        .await;
        let task: Uuid = created.body["task"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        for (action, body) in [
            ("screen", json!({})),
            ("release", json!({"reason": "ready"})),
        ] {
            let answer = post(&s.server, &format!("/tasks/{task}/{action}"), &s.pm, body).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
        tasks.push(task);
    }
    for task in &tasks[..2] {
        let answer = post(
            &s.server,
            &format!("/tasks/{task}/claim"),
            &s.submitter,
            json!({}),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // The third claim is past the active task cap; the reviewer-less second submitter
    // takes it instead, and it is not the first submitter's.
    let other = s.server.actor("reads-other-submitter").await;
    s.server
        .grant_project_role(
            &other,
            s.project,
            workstream_domain::roles::ProjectRole::Submitter,
        )
        .await;
    let answer = post(
        &s.server,
        &format!("/tasks/{}/claim", tasks[2]),
        &other,
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let mine = get(&s.server, "/me/assignments", &s.submitter).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let items = mine.body["items"].as_array().unwrap();
    let ids: Vec<Uuid> = items
        .iter()
        .map(|a| a["task"]["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, [tasks[1], tasks[0]], "newest first, own only");
    assert_eq!(items[1]["task"]["title"], TASK_TITLE);
    assert_eq!(items[1]["task"]["status"], "claimed");
    assert_eq!(items[1]["task"]["project_name"], "Project reads-mine");
    assert_eq!(items[1]["status"], "active");

    let first = get(&s.server, "/me/assignments?limit=1", &s.submitter).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(first.body["items"][0]["task"]["id"], json!(tasks[1]));
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = get(
        &s.server,
        &format!("/me/assignments?limit=1&cursor={cursor}"),
        &s.submitter,
    )
    .await;
    assert_eq!(second.body["items"][0]["task"]["id"], json!(tasks[0]));
    // A cursor is the caller's own: another actor cannot use it.
    let stolen = get(
        &s.server,
        &format!("/me/assignments?limit=1&cursor={cursor}"),
        &other,
    )
    .await;
    assert_eq!(stolen.status, 422);
    assert_eq!(stolen.code(), "invalid_cursor");
    let bad_limit = get(&s.server, "/me/assignments?limit=0", &s.submitter).await;
    assert_eq!(bad_limit.status, 422);
}
