//! Guide activation over HTTP: the gate refuses each cause with its own code and the
//! guide stays a draft (AS01-AS04 as they apply to one policy bundle); a valid guide
//! activates with the merged, digest-pinned bundle (AS05); a second activation
//! supersedes the first (AS06); an active guide cannot be edited (AS07).

mod projects_support;

use projects_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::Digest;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::TestServer;

async fn guide_status(server: &TestServer, guide: Uuid) -> (String, Option<i32>) {
    sqlx::query_as("SELECT status, activation_sequence FROM project_guides WHERE id = $1")
        .bind(guide)
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_gate_refuses_each_cause_with_its_code_and_the_guide_stays_draft() {
    let server = TestServer::start().await;
    let pm = manager(&server, "gate-pm").await;
    let project = create_project(&server, &pm, "gate").await;
    let fin = finance(&server, "gate-finance", project).await;

    let refuse = async |bundle: Option<Value>, version: &str, status: u16, code: &str| -> Value {
        let guide = create_guide(&server, &pm, project, version, bundle).await;
        let answer = activate(&server, &pm, project, guide).await;
        assert_eq!(answer.status, status, "{version}: {}", answer.body);
        assert_eq!(answer.code(), code, "{version}: {}", answer.body);
        assert_eq!(
            guide_status(&server, guide).await,
            ("draft".to_owned(), None),
            "{version}"
        );
        assert_eq!(audit_count(&server, guide, "guide_activated").await, 0);
        answer.body["error"]["details"].clone()
    };

    // Built-ins not registered yet: a default checker resolves to nothing.
    let details = refuse(Some(bundle()), "no-builtins", 422, "checker_not_registered").await;
    assert_eq!(details["errors"][0]["path"], "/checker_policy/checkers/0");
    register_builtins(&server).await;

    // AS03: a complete guide without a published contribution policy version.
    refuse(
        Some(bundle()),
        "no-terms",
        409,
        "contribution_policy_unpublished",
    )
    .await;
    let (_, version) = publish_unpaid_policy(&server, &fin, project).await;

    // No bundle at all, and a bundle with schema errors (reported per field).
    refuse(None, "no-bundle", 422, "policy_bundle_invalid").await;
    let mut b = bundle();
    b["artifact_policy"]["maximum_package_size_bytes"] = json!(0);
    b["checker_policy"]["blocking_severities"] = json!(["critical"]);
    let details = refuse(Some(b), "schema", 422, "policy_bundle_invalid").await;
    let paths: Vec<&str> = details["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/artifact_policy/maximum_package_size_bytes"),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/checker_policy/blocking_severities"),
        "{paths:?}"
    );

    // Incomplete review and revision policies.
    let mut b = bundle();
    b["review_policy"]
        .as_object_mut()
        .unwrap()
        .remove("review_lease_duration_seconds");
    let details = refuse(Some(b), "review", 422, "review_policy_incomplete").await;
    assert_eq!(details["errors"][0]["path"], "/review_policy");
    let mut b = bundle();
    b.as_object_mut().unwrap().remove("revision_policy");
    refuse(Some(b), "revision", 422, "revision_policy_incomplete").await;

    // AS04: dropping the hash requirement, requiring a default-forbidden file,
    // downgrading a default checker.
    let mut b = bundle();
    b["artifact_policy"]["artifact_hash_required"] = json!(false);
    let details = refuse(Some(b), "no-hash", 422, "platform_default_weakened").await;
    assert_eq!(
        details["errors"][0]["code"],
        "artifact_hash_requirement_removed"
    );
    let mut b = bundle();
    b["artifact_policy"]["required_artifacts"] =
        json!([{"key": "env", "path": "deploy/.env", "required": true}]);
    let details = refuse(Some(b), "env", 422, "platform_default_weakened").await;
    assert_eq!(
        details["errors"][0]["code"],
        "default_forbidden_artifact_required"
    );
    assert_eq!(
        details["errors"][0]["path"],
        "/artifact_policy/required_artifacts/0/path"
    );
    let mut b = bundle();
    b["checker_policy"]["checkers"][0]["blocking"] = json!(false);
    let details = refuse(Some(b), "downgrade", 422, "platform_default_weakened").await;
    assert_eq!(details["errors"][0]["code"], "default_checker_downgraded");
    // A default checker swapped for a project component of the same name.
    let fake = register_component(&server, "forbidden-files", json!({"type": "object"})).await;
    let mut b = bundle();
    b["checker_policy"]["checkers"][1] = json!({"name": "forbidden-files", "digest": fake, "phase": "both", "configuration": {}, "blocking": true, "severity": "critical"});
    let details = refuse(Some(b), "replaced", 422, "platform_default_weakened").await;
    assert_eq!(details["errors"][0]["code"], "default_checker_replaced");

    // A digest no component has.
    let mut b = bundle();
    let unknown = format!("sha256:{}", "ab".repeat(32));
    b["checker_policy"]["checkers"][1] = json!({"name": "lint", "digest": unknown, "phase": "post_submit", "configuration": {}, "blocking": false, "severity": "low"});
    let details = refuse(Some(b), "unknown-digest", 422, "checker_not_registered").await;
    assert_eq!(details["errors"][0]["path"], "/checker_policy/checkers/7");

    // A configuration the component's declared schema refuses.
    let mut b = bundle();
    b["checker_policy"]["checkers"][0]["configuration"] = json!({"allow_empty": "sometimes"});
    let details = refuse(Some(b), "config", 422, "checker_configuration_invalid").await;
    assert_eq!(
        details["errors"][0]["path"],
        "/checker_policy/checkers/3/configuration/allow_empty"
    );

    // Selecting a version that is not the current one.
    let guide = create_guide(&server, &pm, project, "stale-selection", Some(bundle())).await;
    let answer = post(
        &server,
        &format!("/projects/{project}/guides/{guide}/activate"),
        &pm,
        json!({ "contribution_policy_version_id": Uuid::now_v7() }),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "contribution_policy_version_not_current")
    );

    // The project stayed a draft throughout; a valid guide now activates.
    let status: String = sqlx::query_scalar("SELECT status FROM projects WHERE id = $1")
        .bind(project)
        .fetch_one(server.database.pool())
        .await
        .unwrap();
    assert_eq!(status, "draft");
    let answer = post(
        &server,
        &format!("/projects/{project}/guides/{guide}/activate"),
        &pm,
        json!({ "contribution_policy_version_id": version }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn activation_merges_defaults_pins_digests_and_activates_the_project() {
    let server = TestServer::start().await;
    let pm = manager(&server, "act-pm").await;
    let project = create_project(&server, &pm, "act").await;
    let fin = finance(&server, "act-finance", project).await;
    let (_, version) = publish_unpaid_policy(&server, &fin, project).await;
    let digests = register_builtins(&server).await;
    let guide = create_guide(&server, &pm, project, "v1", Some(bundle())).await;

    let answer = activate(&server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let view = &answer.body["guide"];
    assert_eq!(view["status"], "active");
    assert_eq!(view["activation_sequence"], 1);
    assert_eq!(view["contribution_policy_version_id"], version.to_string());
    assert_eq!(view["approved_by"], pm.id.to_string());
    assert_eq!(answer.body["project"]["status"], "active");
    assert_eq!(answer.body["superseded_guide_id"], Value::Null);

    // AS05: the project's 10 MiB limit under the 50 MiB default; defaults still there.
    let stored = &view["policy_bundle"];
    let artifacts = &stored["artifact_policy"];
    assert_eq!(artifacts["maximum_file_size_bytes"], 10 * 1024 * 1024);
    assert_eq!(artifacts["maximum_package_size_bytes"], 100 * 1024 * 1024);
    assert_eq!(artifacts["artifact_hash_required"], true);
    assert_eq!(artifacts["artifact_hash_algorithm"], "sha256");
    let patterns: Vec<&str> = artifacts["forbidden_artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["pattern"].as_str().unwrap())
        .collect();
    for default in [".env", ".git/", "*.pem", "*.key", "id_rsa*", "*.sqlite"] {
        assert!(
            patterns.contains(&default),
            "{default} missing from {patterns:?}"
        );
    }
    // Every checker is pinned to its registered digest, defaults first.
    let checkers = stored["checker_policy"]["checkers"].as_array().unwrap();
    assert_eq!(checkers.len(), 8);
    for checker in checkers {
        let name = checker["name"].as_str().unwrap();
        let expected = &digests.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(checker["digest"].as_str().unwrap(), expected, "{name}");
    }
    assert_eq!(checkers[0]["name"], "packet-fields");
    assert_eq!(checkers[7]["name"], "acceptance-criteria-present");
    assert_eq!(
        checkers[3]["configuration"]["paths"],
        json!(["outputs/final-answer.md"])
    );

    // The stored hashes are those of the stored (effective) bundle's canonical JSON.
    let row: (Value, String, String, String) = sqlx::query_as(
        "SELECT policy_bundle, policy_bundle_hash, checker_policy_hash, review_policy_hash FROM project_guides WHERE id = $1",
    )
    .bind(guide)
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        row.1,
        Digest::of_canonical_json(&row.0).unwrap().to_string()
    );
    assert_eq!(
        row.2,
        Digest::of_canonical_json(&row.0["checker_policy"])
            .unwrap()
            .to_string()
    );
    assert_eq!(
        row.3,
        Digest::of_canonical_json(&bundle()["review_policy"])
            .unwrap()
            .to_string()
    );
    assert_eq!(view["policy_bundle_hash"], row.1);

    let status: (String, bool) =
        sqlx::query_as("SELECT status, activated_at IS NOT NULL FROM projects WHERE id = $1")
            .bind(project)
            .fetch_one(server.database.pool())
            .await
            .unwrap();
    assert_eq!(status, ("active".to_owned(), true));
    assert_eq!(audit_count(&server, guide, "guide_activated").await, 1);
    assert_eq!(audit_count(&server, project, "project_activated").await, 1);
    assert_eq!(audit_count(&server, guide, "guide_created").await, 1);

    // The active guide is readable by the manager.
    let active = get(&server, &format!("/projects/{project}/active-guide"), &pm).await;
    assert_eq!(active.status, 200);
    assert_eq!(active.body["id"], guide.to_string());
}

#[tokio::test]
async fn a_new_activation_supersedes_the_old_guide_unchanged() {
    let server = TestServer::start().await;
    let (pm, _fin, project, v1) = active_project(&server, "supersede").await;
    let before = get(&server, &format!("/projects/{project}/guides/{v1}"), &pm)
        .await
        .body;

    let v2 = create_guide(&server, &pm, project, "v2", Some(bundle())).await;
    let answer = activate(&server, &pm, project, v2).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["guide"]["activation_sequence"], 2);
    assert_eq!(answer.body["superseded_guide_id"], v1.to_string());

    // AS06: v1 is superseded, everything else about it unchanged.
    let after = get(&server, &format!("/projects/{project}/guides/{v1}"), &pm)
        .await
        .body;
    assert_eq!(after["status"], "superseded");
    assert!(after["superseded_at"].is_string());
    for field in [
        "content_markdown",
        "change_summary",
        "policy_bundle",
        "policy_bundle_hash",
        "activation_sequence",
        "effective_at",
        "contribution_policy_version_id",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    assert_eq!(audit_count(&server, v1, "guide_superseded").await, 1);
    let list = get(&server, &format!("/projects/{project}/guides?limit=1"), &pm).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"][0]["id"], v1.to_string());
    let cursor = list.body["next_cursor"].as_str().unwrap();
    let next = get(
        &server,
        &format!("/projects/{project}/guides?limit=1&cursor={cursor}"),
        &pm,
    )
    .await;
    assert_eq!(next.body["items"][0]["id"], v2.to_string());

    // Re-activating a superseded guide is refused.
    let again = activate(&server, &pm, project, v1).await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (409, "guide_not_draft")
    );
}

#[tokio::test]
async fn an_active_guide_cannot_be_edited_but_a_draft_can() {
    let server = TestServer::start().await;
    let (pm, _fin, project, active) = active_project(&server, "edits").await;

    // AS07.
    let answer = patch(
        &server,
        &format!("/projects/{project}/guides/{active}"),
        &pm,
        json!({ "content_markdown": "changed" }),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "guide_not_editable")
    );
    let content: String =
        sqlx::query_scalar("SELECT content_markdown FROM project_guides WHERE id = $1")
            .bind(active)
            .fetch_one(server.database.pool())
            .await
            .unwrap();
    assert_eq!(content, "# Guide v1");

    let draft = create_guide(&server, &pm, project, "v2", None).await;
    let answer = patch(
        &server,
        &format!("/projects/{project}/guides/{draft}"),
        &pm,
        json!({ "content_markdown": "# v2 edited", "policy_bundle": bundle() }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["content_markdown"], "# v2 edited");
    assert_eq!(answer.body["policy_bundle"], bundle());
    assert_eq!(audit_count(&server, draft, "guide_updated").await, 1);

    // Unknown fields and a non-object bundle are refused.
    let answer = patch(
        &server,
        &format!("/projects/{project}/guides/{draft}"),
        &pm,
        json!({ "version": "v3" }),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (422, "invalid_request")
    );
    let answer = patch(
        &server,
        &format!("/projects/{project}/guides/{draft}"),
        &pm,
        json!({ "policy_bundle": [1] }),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (422, "policy_bundle_invalid")
    );
    // A duplicate version label.
    let answer = post(
        &server,
        &format!("/projects/{project}/guides"),
        &pm,
        json!({ "version": "v2" }),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "guide_version_exists")
    );
}

#[tokio::test]
async fn guide_routes_deny_every_role_but_the_covering_manager() {
    let server = TestServer::start().await;
    let (pm, fin, project, guide) = active_project(&server, "guide-roles").await;
    let submitter = server.actor("guide-roles-submitter").await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let reviewer = server.actor("guide-roles-reviewer").await;
    server
        .grant_project_role(&reviewer, project, ProjectRole::Reviewer)
        .await;
    let operator = server.actor("guide-roles-operator").await;
    server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let audit = server.actor("guide-roles-audit").await;
    server
        .grant_admin(&audit, AdminRole::AuditAuthority, Some(project))
        .await;
    let other_pm = server.actor("guide-roles-other-pm").await;
    let other_project = create_project(&server, &pm, "guide-roles-other").await;
    server
        .grant_admin(&other_pm, AdminRole::ProjectManager, Some(other_project))
        .await;
    let stranger = server.actor("guide-roles-stranger").await;

    let create_path = format!("/projects/{project}/guides");
    let read_path = format!("/projects/{project}/guides/{guide}");
    // (actor, create status, read status)
    let table = [
        (&submitter, 403, 403),
        (&reviewer, 403, 403),
        (&fin, 403, 403),
        (&operator, 403, 200),
        (&audit, 403, 200),
        (&other_pm, 404, 404),
        (&stranger, 404, 404),
    ];
    for (actor, create_status, read_status) in table {
        let answer = post(
            &server,
            &create_path,
            actor,
            json!({ "version": format!("by-{}", actor.subject) }),
        )
        .await;
        assert_eq!(
            answer.status, create_status,
            "{} create: {}",
            actor.subject, answer.body
        );
        let answer = get(&server, &read_path, actor).await;
        assert_eq!(
            answer.status, read_status,
            "{} read: {}",
            actor.subject, answer.body
        );
        let answer = patch(
            &server,
            &read_path,
            actor,
            json!({ "content_markdown": "x" }),
        )
        .await;
        assert_eq!(answer.status, create_status, "{} patch", actor.subject);
        let answer = activate(&server, actor, project, guide).await;
        assert_eq!(answer.status, create_status, "{} activate", actor.subject);
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM project_guides WHERE project_id = $1")
            .bind(project)
            .fetch_one(server.database.pool())
            .await
            .unwrap();
    assert_eq!(count, 1);
    // Malformed ids are 422, not 404.
    let answer = get(
        &server,
        &format!("/projects/{project}/guides/not-a-uuid"),
        &pm,
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (422, "malformed_id")
    );
}
