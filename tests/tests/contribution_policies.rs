//! Contribution policies, compensation units and adapter bindings over HTTP: the
//! finance authority's routes, their validation (exact quantities, one definition per
//! instrument, nothing for unpaid rules), publication and retirement, and the concealed
//! 404 for every other role.

mod projects_support;

use projects_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::{TestActor, TestServer};

struct Setup {
    server: TestServer,
    pm: TestActor,
    fin: TestActor,
    project: Uuid,
    money_binding: Uuid,
    points_binding: Uuid,
}

async fn setup(slug: &str) -> Setup {
    let server = TestServer::start().await;
    let pm = manager(&server, &format!("{slug}-pm")).await;
    let project = create_project(&server, &pm, slug).await;
    let fin = finance(&server, &format!("{slug}-finance"), project).await;
    for (instrument, unit) in [("money", "USD"), ("project_points", "pts")] {
        let answer = post(
            &server,
            &format!("/projects/{project}/compensation-units"),
            &fin,
            json!({ "instrument_type": instrument, "unit_code": unit }),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.body["status"], "active");
    }
    let adapter = server
        .service_actor(
            &format!("{slug}-adapter"),
            "workstream.payment.local_adapter",
        )
        .await;
    let mut bindings = Vec::new();
    for instrument in ["money", "project_points"] {
        let answer = post(
            &server,
            &format!("/projects/{project}/adapter-bindings"),
            &fin,
            json!({ "instrument_type": instrument, "adapter_actor_id": adapter.id, "route_key": format!("local:{instrument}") }),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.body["binding_lifecycle_version"], 1);
        bindings.push(answer.body["id"].as_str().unwrap().parse::<Uuid>().unwrap());
    }
    Setup {
        server,
        pm,
        fin,
        project,
        money_binding: bindings[0],
        points_binding: bindings[1],
    }
}

async fn draft(s: &Setup) -> (Uuid, Uuid) {
    let answer = post(
        &s.server,
        &format!("/projects/{}/contribution-policies/drafts", s.project),
        &s.fin,
        json!({ "name": "Terms" }),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    (
        answer.body["contribution_policy_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        answer.body["contribution_policy_version_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    )
}

fn paid_terms(s: &Setup, money: &str, points: &str) -> Value {
    json!({ "rules": [
        { "contribution_type": "accepted_submission", "compensation_mode": "compensated", "definitions": [
            { "instrument_type": "money", "unit_code": "USD", "quantity": money, "adapter_binding_id": s.money_binding },
            { "instrument_type": "project_points", "unit_code": "pts", "quantity": points, "adapter_binding_id": s.points_binding }
        ]},
        { "contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": [] }
    ]})
}

#[tokio::test]
async fn finance_drafts_sets_terms_publishes_and_supersedes_a_version() {
    let s = setup("terms").await;
    let (policy, v1) = draft(&s).await;
    let base = format!("/projects/{}/contribution-policies/{policy}", s.project);

    // Publishing an empty draft is refused; it needs a rule per contribution type.
    let answer = post(
        &s.server,
        &format!("{base}/versions/{v1}/publication"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (422, "contribution_policy_incomplete")
    );
    let answer = put(&s.server, &format!("{base}/versions/{v1}"), &s.fin, json!({ "rules": [
        { "contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": [] }
    ]})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = post(
        &s.server,
        &format!("{base}/versions/{v1}/publication"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (422, "contribution_policy_incomplete")
    );

    let answer = put(
        &s.server,
        &format!("{base}/versions/{v1}"),
        &s.fin,
        paid_terms(&s, "12.50", "10"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["version_status"], "draft");
    let answer = post(
        &s.server,
        &format!("{base}/versions/{v1}/publication"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["version_status"], "published");
    assert_eq!(answer.body["policy_status"], "active");
    assert_eq!(answer.body["is_current"], true);
    // The exact spelling survives publication.
    assert_eq!(
        answer.body["rules"][0]["definitions"][0]["quantity"],
        "12.50"
    );

    // Rules and definitions exist only now, copied from the terms.
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT d.instrument_type, d.unit_code, d.quantity::text FROM contribution_award_definitions d \
         WHERE d.version_id = $1 ORDER BY d.instrument_type",
    )
    .bind(v1)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "money");
    assert!(rows[0].2.starts_with("12.5"), "{rows:?}");
    let rules: i64 =
        sqlx::query_scalar("SELECT count(*) FROM contribution_rules WHERE version_id = $1")
            .bind(v1)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(rules, 2);
    assert_eq!(
        audit_count(&s.server, v1, "contribution_policy_version_published").await,
        1
    );
    assert_eq!(
        audit_count(&s.server, policy, "contribution_policy_activated").await,
        1
    );

    // A published version is frozen.
    let answer = put(
        &s.server,
        &format!("{base}/versions/{v1}"),
        &s.fin,
        paid_terms(&s, "1", "1"),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "contribution_policy_version_not_draft")
    );
    let answer = post(
        &s.server,
        &format!("{base}/versions/{v1}/publication"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "contribution_policy_version_not_draft")
    );

    // Version 2 replaces version 1 as current; version 1 stays published.
    let (same_policy, v2) = draft(&s).await;
    assert_eq!(same_policy, policy);
    let again = post(
        &s.server,
        &format!("/projects/{}/contribution-policies/drafts", s.project),
        &s.fin,
        json!({ "name": "Terms" }),
    )
    .await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (409, "contribution_policy_draft_exists")
    );
    put(
        &s.server,
        &format!("{base}/versions/{v2}"),
        &s.fin,
        paid_terms(&s, "20", "5"),
    )
    .await;
    let answer = post(
        &s.server,
        &format!("{base}/versions/{v2}/publication"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["version_number"], 2);
    let current = get(
        &s.server,
        &format!("/projects/{}/contribution-policies/current", s.project),
        &s.fin,
    )
    .await;
    assert_eq!(current.body["current_published_version_id"], v2.to_string());
    assert_eq!(current.body["open_draft_version_id"], Value::Null);
    let old = get(&s.server, &format!("{base}?version_id={v1}"), &s.fin).await;
    assert_eq!(old.body["version_status"], "published");
    assert_eq!(old.body["is_current"], false);

    // Retiring the old version leaves the policy active; retiring the current one
    // retires the policy, and guide activation then has no terms to bind.
    let answer = post(
        &s.server,
        &format!("{base}/versions/{v1}/retirement"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["version_status"], "retired");
    assert_eq!(answer.body["policy_status"], "active");
    let answer = post(
        &s.server,
        &format!("{base}/versions/{v1}/retirement"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "contribution_policy_version_not_published")
    );
    let answer = post(
        &s.server,
        &format!("{base}/versions/{v2}/retirement"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.body["policy_status"], "retired");
    assert_eq!(
        audit_count(&s.server, policy, "contribution_policy_retired").await,
        1
    );
    let current = get(
        &s.server,
        &format!("/projects/{}/contribution-policies/current", s.project),
        &s.fin,
    )
    .await;
    assert_eq!(current.status, 404);

    register_builtins(&s.server).await;
    let guide = create_guide(&s.server, &s.pm, s.project, "v1", Some(bundle())).await;
    let answer = activate(&s.server, &s.pm, s.project, guide).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "contribution_policy_unpublished")
    );
}

#[tokio::test]
async fn terms_are_validated_field_by_field() {
    let s = setup("validate").await;
    let (policy, version) = draft(&s).await;
    let path = format!(
        "/projects/{}/contribution-policies/{policy}/versions/{version}",
        s.project
    );
    let refuse = async |terms: Value| -> Vec<(String, String)> {
        let answer = put(&s.server, &path, &s.fin, terms).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (422, "contribution_rules_invalid"),
            "{}",
            answer.body
        );
        answer.body["error"]["details"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap().to_owned(),
                    e["code"].as_str().unwrap_or("schema").to_owned(),
                )
            })
            .collect()
    };
    let q = "/rules/0/definitions/0/quantity".to_owned();
    assert_eq!(
        refuse(paid_terms(&s, "1e3", "1")).await,
        [(q.clone(), "quantity_exponent_not_allowed".to_owned())]
    );
    assert_eq!(
        refuse(paid_terms(&s, "-1", "1")).await,
        [(q.clone(), "quantity_not_positive".to_owned())]
    );
    assert_eq!(
        refuse(paid_terms(&s, "0", "1")).await,
        [(q.clone(), "quantity_not_positive".to_owned())]
    );
    assert_eq!(
        refuse(paid_terms(&s, "+1", "1")).await,
        [(q.clone(), "quantity_sign_not_allowed".to_owned())]
    );
    assert_eq!(
        refuse(paid_terms(&s, "1.0000000000000000001", "1")).await,
        [(q, "quantity_too_precise".to_owned())]
    );
    let points = "/rules/0/definitions/1/quantity".to_owned();
    assert_eq!(
        refuse(paid_terms(&s, "1", "2.5")).await,
        [(points, "quantity_not_whole".to_owned())]
    );
    // A number instead of a string is a schema error at the field.
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][0]["definitions"][0]["quantity"] = json!(5);
    assert_eq!(refuse(terms).await[0].0, "/rules/0/definitions/0/quantity");

    // Two money definitions in one rule.
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][0]["definitions"][1] = json!({ "instrument_type": "money", "unit_code": "USD", "quantity": "2", "adapter_binding_id": s.money_binding });
    assert_eq!(
        refuse(terms).await,
        [(
            "/rules/0/definitions/1/instrument_type".to_owned(),
            "duplicate_instrument_definition".to_owned()
        )]
    );
    // Unpaid with definitions; compensated without.
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][0]["compensation_mode"] = json!("unpaid");
    assert_eq!(
        refuse(terms).await,
        [(
            "/rules/0/definitions".to_owned(),
            "unpaid_rule_has_definitions".to_owned()
        )]
    );
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][1]["compensation_mode"] = json!("compensated");
    assert_eq!(
        refuse(terms).await,
        [(
            "/rules/1/definitions".to_owned(),
            "compensated_rule_without_definitions".to_owned()
        )]
    );
    // A unit the project has not enabled, a non-ISO code, a foreign binding, a binding of the other instrument.
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][0]["definitions"][0]["unit_code"] = json!("EUR");
    assert_eq!(
        refuse(terms).await,
        [(
            "/rules/0/definitions/0/unit_code".to_owned(),
            "compensation_unit_not_enabled".to_owned()
        )]
    );
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][0]["definitions"][0]["unit_code"] = json!("ABC");
    assert_eq!(refuse(terms).await[0].0, "/rules/0/definitions/0/unit_code");
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][0]["definitions"][0]["adapter_binding_id"] = json!(Uuid::now_v7());
    assert_eq!(
        refuse(terms).await,
        [(
            "/rules/0/definitions/0/adapter_binding_id".to_owned(),
            "adapter_binding_not_found".to_owned()
        )]
    );
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][0]["definitions"][0]["adapter_binding_id"] = json!(s.points_binding);
    assert_eq!(
        refuse(terms).await,
        [(
            "/rules/0/definitions/0/adapter_binding_id".to_owned(),
            "adapter_binding_instrument_mismatch".to_owned()
        )]
    );
    // Unknown fields anywhere.
    let mut terms = paid_terms(&s, "1", "1");
    terms["rules"][0]["formula"] = json!("difficulty * 2");
    refuse(terms).await;

    // Nothing was stored and no rule rows exist before publication.
    let stored: Option<Value> =
        sqlx::query_scalar("SELECT draft_terms FROM contribution_policy_versions WHERE id = $1")
            .bind(version)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(stored, None);
    let answer = put(&s.server, &path, &s.fin, paid_terms(&s, "12.50", "10")).await;
    assert_eq!(answer.status, 200);
    let rules: i64 = sqlx::query_scalar("SELECT count(*) FROM contribution_rules")
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
    assert_eq!(rules, 0);
    assert_eq!(
        audit_count(&s.server, version, "contribution_policy_version_terms_set").await,
        1
    );
}

#[tokio::test]
async fn units_and_bindings_follow_their_rules() {
    let s = setup("bindings").await;
    let units = format!("/projects/{}/compensation-units", s.project);
    let answer = post(
        &s.server,
        &units,
        &s.fin,
        json!({ "instrument_type": "money", "unit_code": "USD" }),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "compensation_unit_exists")
    );
    let answer = post(
        &s.server,
        &units,
        &s.fin,
        json!({ "instrument_type": "money", "unit_code": "usd" }),
    )
    .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let answer = post(
        &s.server,
        &units,
        &s.fin,
        json!({ "instrument_type": "money", "unit_code": "HRK" }),
    )
    .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let list = get(&s.server, &units, &s.fin).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);

    let bindings = format!("/projects/{}/adapter-bindings", s.project);
    let human = s.server.actor("bindings-human").await;
    let answer = post(
        &s.server,
        &bindings,
        &s.fin,
        json!({ "instrument_type": "money", "adapter_actor_id": human.id, "route_key": "local:x" }),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (422, "adapter_not_service_actor")
    );
    let adapter = s
        .server
        .service_actor("bindings-second", "workstream.outbox.worker")
        .await;
    let answer = post(&s.server, &bindings, &s.fin, json!({ "instrument_type": "money", "adapter_actor_id": adapter.id, "route_key": "local:y" })).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "adapter_binding_exists")
    );

    let binding = format!("{bindings}/{}", s.money_binding);
    let answer = post(&s.server, &format!("{binding}/suspend"), &s.fin, json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        (
            answer.body["status"].as_str(),
            answer.body["binding_lifecycle_version"].as_i64()
        ),
        (Some("suspended"), Some(2))
    );
    let answer = post(&s.server, &format!("{binding}/suspend"), &s.fin, json!({})).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (403, "transition_not_allowed")
    );
    // A suspended binding cannot carry new terms.
    let (policy, version) = draft(&s).await;
    let answer = put(
        &s.server,
        &format!(
            "/projects/{}/contribution-policies/{policy}/versions/{version}",
            s.project
        ),
        &s.fin,
        paid_terms(&s, "1", "1"),
    )
    .await;
    assert_eq!(
        answer.body["error"]["details"]["errors"][0]["code"],
        "adapter_binding_inactive"
    );
    let answer = post(
        &s.server,
        &format!("{binding}/reactivate"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.body["binding_lifecycle_version"], 3);
    assert_eq!(
        audit_count(&s.server, s.money_binding, "adapter_binding_suspended").await,
        1
    );
    assert_eq!(
        audit_count(&s.server, s.money_binding, "adapter_binding_reactivated").await,
        1
    );
}

#[tokio::test]
async fn every_other_role_gets_the_concealed_404() {
    let s = setup("finance-roles").await;
    let (policy, version) = draft(&s).await;
    let p = s.project;
    let submitter = s.server.actor("fr-submitter").await;
    s.server
        .grant_project_role(&submitter, p, ProjectRole::Submitter)
        .await;
    let reviewer = s.server.actor("fr-reviewer").await;
    s.server
        .grant_project_role(&reviewer, p, ProjectRole::Reviewer)
        .await;
    let operator = s.server.actor("fr-operator").await;
    s.server
        .grant_admin(&operator, AdminRole::Operator, None)
        .await;
    let audit = s.server.actor("fr-audit").await;
    s.server
        .grant_admin(&audit, AdminRole::AuditAuthority, Some(p))
        .await;
    let other_project = create_project(&s.server, &s.pm, "finance-roles-other").await;
    let other_finance = finance(&s.server, "fr-other-finance", other_project).await;
    let stranger = s.server.actor("fr-stranger").await;

    let base = format!("/projects/{p}/contribution-policies");
    let version_path = format!("{base}/{policy}/versions/{version}");
    for actor in [
        &s.pm,
        &submitter,
        &reviewer,
        &operator,
        &audit,
        &other_finance,
        &stranger,
    ] {
        let who = &actor.subject;
        let answers = [
            get(&s.server, &format!("{base}/current"), actor).await,
            get(&s.server, &format!("{base}/{policy}"), actor).await,
            post(
                &s.server,
                &format!("{base}/drafts"),
                actor,
                json!({ "name": "x" }),
            )
            .await,
            put(&s.server, &version_path, actor, paid_terms(&s, "1", "1")).await,
            post(
                &s.server,
                &format!("{version_path}/publication"),
                actor,
                json!({}),
            )
            .await,
            post(
                &s.server,
                &format!("{version_path}/retirement"),
                actor,
                json!({}),
            )
            .await,
            get(
                &s.server,
                &format!("/projects/{p}/compensation-units"),
                actor,
            )
            .await,
            post(
                &s.server,
                &format!("/projects/{p}/compensation-units"),
                actor,
                json!({ "instrument_type": "money", "unit_code": "EUR" }),
            )
            .await,
            get(&s.server, &format!("/projects/{p}/adapter-bindings"), actor).await,
            post(
                &s.server,
                &format!("/projects/{p}/adapter-bindings/{}/suspend", s.money_binding),
                actor,
                json!({}),
            )
            .await,
        ];
        for (index, answer) in answers.iter().enumerate() {
            assert_eq!(
                (answer.status.as_u16(), answer.code()),
                (404, "not_found"),
                "{who} call {index}: {}",
                answer.body
            );
        }
    }
    // Nothing changed.
    let drafts: Option<Value> =
        sqlx::query_scalar("SELECT draft_terms FROM contribution_policy_versions WHERE id = $1")
            .bind(version)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(drafts, None);
    let units: i64 = sqlx::query_scalar("SELECT count(*) FROM project_compensation_units")
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
    assert_eq!(units, 2);
    // The covering finance authority reads it.
    let answer = get(&s.server, &format!("{base}/current"), &s.fin).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["open_draft_version_id"], version.to_string());
}

#[tokio::test]
async fn units_and_bindings_retire_only_when_nothing_depends_on_them() {
    let s = setup("retire").await;
    let p = s.project;
    let unit_id = |code: &'static str| {
        let server = &s.server;
        async move {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM project_compensation_units WHERE project_id = $1 AND unit_code = $2",
            )
            .bind(p)
            .bind(code)
            .fetch_one(server.database.pool())
            .await
            .unwrap()
        }
    };
    let (usd, pts) = (unit_id("USD").await, unit_id("pts").await);
    let retire_unit = |unit: Uuid| format!("/projects/{p}/compensation-units/{unit}/retirement");
    let retire_binding = |b: Uuid| format!("/projects/{p}/adapter-bindings/{b}/retirement");

    // Proposed in an open draft: both units and both bindings are in use.
    let (policy, version) = draft(&s).await;
    let version_path = format!("/projects/{p}/contribution-policies/{policy}/versions/{version}");
    let answer = put(&s.server, &version_path, &s.fin, paid_terms(&s, "10", "5")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    for (path, code) in [
        (retire_unit(usd), "compensation_unit_in_use"),
        (retire_unit(pts), "compensation_unit_in_use"),
        (retire_binding(s.money_binding), "adapter_binding_in_use"),
        (retire_binding(s.points_binding), "adapter_binding_in_use"),
    ] {
        let answer = post(&s.server, &path, &s.fin, json!({})).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (409, code),
            "{path}"
        );
    }

    // Published: still in use. Retired (nothing locked to it): free again.
    let answer = post(
        &s.server,
        &format!("{version_path}/publication"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = post(
        &s.server,
        &retire_binding(s.money_binding),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.code(), "adapter_binding_in_use");
    let answer = post(
        &s.server,
        &format!("{version_path}/retirement"),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let answer = post(
        &s.server,
        &retire_binding(s.money_binding),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        (
            answer.body["status"].as_str(),
            answer.body["binding_lifecycle_version"].as_i64()
        ),
        (Some("retired"), Some(2))
    );
    let answer = post(
        &s.server,
        &retire_binding(s.money_binding),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (403, "transition_not_allowed")
    );
    let answer = post(
        &s.server,
        &format!(
            "/projects/{p}/adapter-bindings/{}/reactivate",
            s.money_binding
        ),
        &s.fin,
        json!({}),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (403, "transition_not_allowed")
    );

    let answer = post(&s.server, &retire_unit(usd), &s.fin, json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["status"], "retired");
    let answer = post(&s.server, &retire_unit(usd), &s.fin, json!({})).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "compensation_unit_retired")
    );
    // A retired unit and binding cannot carry new terms.
    let (policy, version) = draft(&s).await;
    let answer = put(
        &s.server,
        &format!("/projects/{p}/contribution-policies/{policy}/versions/{version}"),
        &s.fin,
        paid_terms(&s, "1", "1"),
    )
    .await;
    let codes: Vec<&str> = answer.body["error"]["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["compensation_unit_not_enabled", "adapter_binding_inactive"]
    );
    // A unit of another project, or none: the concealed 404.
    let answer = post(&s.server, &retire_unit(Uuid::now_v7()), &s.fin, json!({})).await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        audit_count(&s.server, usd, "compensation_unit_retired").await,
        1
    );
    assert_eq!(
        audit_count(&s.server, s.money_binding, "adapter_binding_retired").await,
        1
    );
}
