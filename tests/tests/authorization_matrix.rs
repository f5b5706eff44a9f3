//! Each role denied each action it does not hold, over every route of the identity,
//! projects, guides, contribution, task, reputation, lesson and sprint API: one table, one row per route.
//!
//! Nine callers, each holding exactly one thing: a system access administrator, a
//! system operator, a system project manager, a project manager of another project, a
//! finance and an audit authority scoped to project P, a submitter and a reviewer of P,
//! and a verified human with no grant. For every row, every caller outside the row's
//! allowed set is refused first, with the exact status and code the route promises (403
//! `permission_not_granted` to a caller who may know the resource exists, the concealed
//! 404 to anyone else), and the refusals leave no audit event behind; then one allowed
//! caller makes the same request and succeeds. Rows run in order, so a row may rely on
//! the success of an earlier one (suspend before reactivate).

mod projects_support;

use std::collections::BTreeSet;

use projects_support::{active_project, bundle, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::{TestActor, TestServer};

/// The callers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    AccessAdmin,
    Operator,
    Manager,
    OtherManager,
    Finance,
    Auditor,
    Submitter,
    Reviewer,
    Stranger,
    /// The compensation adapter's service actor: not in [`EVERYONE`] (the human
    /// callers), it only holds the fulfilment callback.
    Adapter,
}

const EVERYONE: [Who; 9] = [
    Who::AccessAdmin,
    Who::Operator,
    Who::Manager,
    Who::OtherManager,
    Who::Finance,
    Who::Auditor,
    Who::Submitter,
    Who::Reviewer,
    Who::Stranger,
];

/// Who may know that project P (and its guides, tasks and grants) exists: every
/// covering grant except the access administrator's, which manages people, not work.
const SEES_P: &[Who] = &[
    Who::Operator,
    Who::Manager,
    Who::Finance,
    Who::Auditor,
    Who::Submitter,
    Who::Reviewer,
];

/// Who may know that project R (no contributor or scoped grant on it) exists.
const SEES_R: &[Who] = &[Who::Operator, Who::Manager];

/// How a refused caller is answered.
#[derive(Debug, Clone, Copy)]
enum Denial {
    /// 403 `permission_not_granted` for everyone (authority administration: an
    /// outsider learns nothing from it, not even whether an id exists).
    Forbidden,
    /// 403 to a caller who may know the project exists, the concealed 404 to others.
    Visible(&'static [Who]),
    /// The concealed 404 for everyone (finance's routes, project grant administration).
    Concealed,
}

struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    allowed: &'static [Who],
    denial: Denial,
    /// The allowed caller's status.
    success: StatusCode,
}

fn row(
    method: Method,
    path: impl Into<String>,
    body: Option<Value>,
    allowed: &'static [Who],
    denial: Denial,
    success: StatusCode,
) -> Row {
    Row {
        method,
        path: path.into(),
        body,
        allowed,
        denial,
        success,
    }
}

fn reason() -> Option<Value> {
    Some(json!({ "reason": "authorization matrix" }))
}

fn empty() -> Option<Value> {
    Some(json!({}))
}

struct World {
    server: TestServer,
    actors: Vec<(Who, TestActor)>,
}

impl World {
    fn actor(&self, who: Who) -> &TestActor {
        &self.actors.iter().find(|(w, _)| *w == who).unwrap().1
    }
}

async fn total_audit_events(server: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(server.database.pool())
        .await
        .unwrap()
}

fn id(body: &Value, pointer: &str) -> Uuid {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {body}"))
        .parse()
        .unwrap()
}

async fn ok(
    server: &TestServer,
    method: Method,
    path: &str,
    who: &TestActor,
    body: Value,
) -> Value {
    let answer = send(server, method.clone(), path, who, Some(body), None).await;
    assert!(
        answer.status.is_success(),
        "setup {method} {path}: {} {}",
        answer.status,
        answer.body
    );
    answer.body
}

#[tokio::test(flavor = "multi_thread")]
async fn every_role_is_denied_every_action_it_does_not_hold() {
    let server = TestServer::start().await;

    // Project P, active, with its guide and published (all-unpaid) terms.
    let (setup_pm, setup_finance, p, guide_v1) = active_project(&server, "matrix-p").await;
    let r = projects_support::create_project(&server, &setup_pm, "matrix-r").await;
    let q = projects_support::create_project(&server, &setup_pm, "matrix-q").await;

    let mut actors = Vec::new();
    for who in EVERYONE {
        let actor = server.actor(&format!("{who:?}").to_lowercase()).await;
        match who {
            Who::AccessAdmin => {
                server
                    .grant_admin(&actor, AdminRole::AccessAdministrator, None)
                    .await;
            }
            Who::Operator => {
                server.grant_admin(&actor, AdminRole::Operator, None).await;
            }
            Who::Manager => {
                server
                    .grant_admin(&actor, AdminRole::ProjectManager, None)
                    .await;
            }
            Who::OtherManager => {
                server
                    .grant_admin(&actor, AdminRole::ProjectManager, Some(q))
                    .await;
            }
            Who::Finance => {
                server
                    .grant_admin(&actor, AdminRole::FinanceAuthority, Some(p))
                    .await;
            }
            Who::Auditor => {
                server
                    .grant_admin(&actor, AdminRole::AuditAuthority, Some(p))
                    .await;
            }
            Who::Submitter => {
                server
                    .grant_project_role(&actor, p, ProjectRole::Submitter)
                    .await;
            }
            Who::Reviewer => {
                server
                    .grant_project_role(&actor, p, ProjectRole::Reviewer)
                    .await;
            }
            Who::Stranger | Who::Adapter => {}
        }
        actors.push((who, actor));
    }
    // The adapter bound to the bindings below, and the only caller of the callback.
    let adapter = server
        .service_actor("matrix-adapter", "workstream.payment.local_adapter")
        .await;
    actors.push((Who::Adapter, adapter.clone()));
    let world = World { server, actors };
    let server = &world.server;
    let pm = world.actor(Who::Manager).clone();
    let submitter = world.actor(Who::Submitter).clone();

    // Targets of the authority routes.
    let target = server.actor("target").await;
    let doomed = server.actor("doomed").await;
    let second_submitter = server.actor("second-submitter").await;
    server
        .grant_project_role(&second_submitter, p, ProjectRole::Submitter)
        .await;
    let target_link: Uuid =
        sqlx::query_scalar("SELECT id FROM actor_identity_links WHERE actor_profile_id = $1")
            .bind(target.id)
            .fetch_one(server.database.pool())
            .await
            .unwrap();
    let target_audit_grant = server
        .grant_admin(&target, AdminRole::AuditAuthority, None)
        .await;
    let target_review_grant = server
        .grant_project_role(&target, p, ProjectRole::Reviewer)
        .await;

    // Contribution: an open draft to fill and publish, a unit and a binding to act on.
    let contribution = format!("/projects/{p}/contribution-policies");
    let draft = ok(
        server,
        Method::POST,
        &format!("{contribution}/drafts"),
        &setup_finance,
        json!({"name": "Second terms"}),
    )
    .await;
    let cp = id(&draft, "/contribution_policy_id");
    let cv = id(&draft, "/contribution_policy_version_id");
    let first_version: Uuid = sqlx::query_scalar(
        "SELECT id FROM contribution_policy_versions WHERE contribution_policy_id = $1 AND status = 'published'",
    )
    .bind(cp)
    .fetch_one(server.database.pool())
    .await
    .unwrap();
    let euro = ok(
        server,
        Method::POST,
        &format!("/projects/{p}/compensation-units"),
        &setup_finance,
        json!({"instrument_type": "money", "unit_code": "EUR"}),
    )
    .await;
    let euro = id(&euro, "/id");
    let points = ok(
        server,
        Method::POST,
        &format!("/projects/{p}/adapter-bindings"),
        &setup_finance,
        json!({"instrument_type": "project_points", "adapter_actor_id": adapter.id, "route_key": "local:points"}),
    )
    .await;
    let points = id(&points, "/id");
    let terms = json!({ "rules": [
        { "contribution_type": "accepted_submission", "compensation_mode": "unpaid", "definitions": [] },
        { "contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": [] }
    ]});

    // Guides: a draft v2 to read, edit and activate.
    let v2 = projects_support::create_guide(server, &setup_pm, p, "v2", Some(bundle())).await;

    // Tasks in the states their routes need.
    let task_body = json!({
        "title": "Matrix task", "description": "Write outputs/final-answer.md.",
        "acceptance_criteria": "A complete answer.", "rejection_criteria": "Gaps.",
        "difficulty": "medium", "estimated_time_minutes": 30
    });
    let task = async |steps: &[(&str, &TestActor, Value)]| -> Uuid {
        let created = ok(
            server,
            Method::POST,
            &format!("/projects/{p}/tasks"),
            &setup_pm,
            task_body.clone(),
        )
        .await;
        let task = id(&created, "/task/id");
        for (action, who, body) in steps {
            ok(
                server,
                Method::POST,
                &format!("/tasks/{task}/{action}"),
                who,
                body.clone(),
            )
            .await;
        }
        task
    };
    let release = json!({"reason": "ready"});
    let drafted = task(&[]).await;
    let to_release = task(&[("screen", &setup_pm, json!({}))]).await;
    let to_return = task(&[("screen", &setup_pm, json!({}))]).await;
    let to_cancel = task(&[]).await;
    let ready = task(&[
        ("screen", &setup_pm, json!({})),
        ("release", &setup_pm, release.clone()),
    ])
    .await;
    let mine = task(&[
        ("screen", &setup_pm, json!({})),
        ("release", &setup_pm, release.clone()),
        ("claim", &submitter, json!({})),
    ])
    .await;
    let stuck = task(&[
        ("screen", &setup_pm, json!({})),
        ("release", &setup_pm, release.clone()),
        ("claim", &second_submitter, json!({})),
    ])
    .await;

    // Lessons (one to accept and implement, one to reject) and a sprint to act on.
    let lesson_body =
        json!({"source": "incident", "lesson_type": "risk_note", "summary": "Matrix lesson."});
    let lessons = format!("/projects/{p}/lessons");
    let to_implement = id(
        &ok(
            server,
            Method::POST,
            &lessons,
            &setup_pm,
            lesson_body.clone(),
        )
        .await,
        "/id",
    );
    let to_reject = id(
        &ok(
            server,
            Method::POST,
            &lessons,
            &setup_pm,
            lesson_body.clone(),
        )
        .await,
        "/id",
    );
    let sprints = format!("/projects/{p}/sprints");
    let sprint_body = |name: &str| json!({"name": name, "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2100-01-01T00:00:00Z", "task_ids": [drafted]});
    let sprint = id(
        &ok(
            server,
            Method::POST,
            &sprints,
            &setup_pm,
            sprint_body("Matrix sprint"),
        )
        .await,
        "/id",
    );

    use Denial::*;
    use Who::*;
    let (get, post, put, patch) = (Method::GET, Method::POST, Method::PUT, Method::PATCH);
    let (s200, s201) = (StatusCode::OK, StatusCode::CREATED);
    #[rustfmt::skip]
    let rows = vec![
        // Actors and authority (system access administrator; audit reads).
        row(get.clone(), format!("/actors/{}", target.id), None, &[AccessAdmin], Forbidden, s200),
        row(get.clone(), format!("/actors/{}/identity-links", target.id), None, &[AccessAdmin], Forbidden, s200),
        row(post.clone(), format!("/actors/{}/suspend", target.id), reason(), &[AccessAdmin], Forbidden, s200),
        row(post.clone(), format!("/actors/{}/reactivate", target.id), reason(), &[AccessAdmin], Forbidden, s200),
        row(post.clone(), format!("/actors/{}/deactivate", doomed.id), reason(), &[AccessAdmin], Forbidden, s200),
        row(post.clone(), format!("/actor-identity-links/{target_link}/revoke"), reason(), &[AccessAdmin], Forbidden, s200),
        row(post.clone(), format!("/actor-identity-links/{target_link}/reactivate"), reason(), &[AccessAdmin], Forbidden, s200),
        row(post.clone(), "/service-actors", Some(json!({"service_identity": "workstream.checker.worker", "subject": "matrix-worker", "reason": "matrix"})), &[AccessAdmin], Forbidden, s201),
        row(get.clone(), "/admin-role-grants", None, &[AccessAdmin], Forbidden, s200),
        row(get.clone(), format!("/actors/{}/admin-role-grants", target.id), None, &[AccessAdmin], Forbidden, s200),
        row(post.clone(), "/admin-role-grants", Some(json!({"target_actor_profile_id": target.id, "role": "operator", "scope_type": "system", "reason": "matrix"})), &[AccessAdmin], Forbidden, s201),
        row(post.clone(), format!("/admin-role-grants/{target_audit_grant}/revoke"), reason(), &[AccessAdmin], Forbidden, s200),
        // Project role grants (a project manager covering the project; audit reads).
        row(get.clone(), format!("/projects/{p}/role-grants"), None, &[Manager, Auditor], Concealed, s200),
        row(get.clone(), format!("/projects/{p}/role-grants/{target_review_grant}"), None, &[Manager, Auditor], Concealed, s200),
        row(post.clone(), format!("/projects/{p}/role-grants/{target_review_grant}/revoke"), reason(), &[Manager], Concealed, s200),
        row(post.clone(), format!("/projects/{p}/role-grants"), Some(json!({"target_actor_profile_id": target.id, "role": "submitter", "qualification": {}, "reason": "matrix"})), &[Manager], Concealed, s201),
        // Projects.
        row(post.clone(), "/projects", Some(json!({"name": "Matrix S", "slug": "matrix-s"})), &[Manager], Forbidden, s201),
        row(get.clone(), format!("/projects/{p}"), None, SEES_P, Visible(SEES_P), s200),
        row(post.clone(), format!("/projects/{p}/pause"), empty(), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("/projects/{p}/resume"), empty(), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("/projects/{r}/archive"), empty(), &[Manager], Visible(SEES_R), s200),
        // Guides (covering PM writes; PM, operator and audit read). Activation is last.
        row(get.clone(), format!("/projects/{p}/guides"), None, &[Manager, Operator, Auditor], Visible(SEES_P), s200),
        row(get.clone(), format!("/projects/{p}/guides/{v2}"), None, &[Manager, Operator, Auditor], Visible(SEES_P), s200),
        row(get.clone(), format!("/projects/{p}/active-guide"), None, &[Manager, Operator, Auditor], Visible(SEES_P), s200),
        row(post.clone(), format!("/projects/{p}/guides"), Some(json!({"version": "v3", "content_markdown": "# v3", "change_summary": "matrix"})), &[Manager], Visible(SEES_P), s201),
        row(patch.clone(), format!("/projects/{p}/guides/{v2}"), Some(json!({"change_summary": "edited by the matrix"})), &[Manager], Visible(SEES_P), s200),
        // Tasks: management (covering PM; audit reads) and work (contributors). The
        // contributor views exist only for contributors: anyone else gets a 404.
        row(post.clone(), format!("/projects/{p}/tasks"), Some(task_body.clone()), &[Manager], Visible(SEES_P), s201),
        row(get.clone(), format!("/projects/{p}/tasks"), None, &[Manager, Auditor], Visible(SEES_P), s200),
        row(get.clone(), format!("/projects/{p}/tasks/{drafted}"), None, &[Manager, Auditor], Visible(SEES_P), s200),
        row(get.clone(), format!("/projects/{p}/tasks/ready"), None, &[Submitter, Reviewer], Visible(SEES_P), s200),
        row(get.clone(), format!("/tasks/{ready}"), None, &[Submitter, Reviewer], Concealed, s200),
        row(get.clone(), format!("/tasks/{ready}/submission-requirements"), None, &[Submitter], Concealed, s200),
        row(post.clone(), format!("/tasks/{drafted}/screen"), empty(), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("/tasks/{to_release}/release"), reason(), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("/tasks/{to_return}/return-to-draft"), reason(), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("/tasks/{to_cancel}/cancel"), reason(), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("/tasks/{ready}/claim"), empty(), &[Submitter], Visible(SEES_P), s200),
        row(post.clone(), format!("/tasks/{mine}/start"), empty(), &[Submitter], Visible(SEES_P), s200),
        row(post.clone(), format!("/operations/tasks/{stuck}/start"), reason(), &[Operator], Visible(SEES_P), s200),
        // Contribution terms (finance only, everything else concealed), after the tasks:
        // retiring the first terms stops releases locked to them.
        row(get.clone(), format!("{contribution}/current"), None, &[Finance], Concealed, s200),
        row(get.clone(), format!("{contribution}/{cp}?version_id={cv}"), None, &[Finance], Concealed, s200),
        row(put.clone(), format!("{contribution}/{cp}/versions/{cv}"), Some(terms), &[Finance], Concealed, s200),
        row(post.clone(), format!("{contribution}/{cp}/versions/{cv}/publication"), empty(), &[Finance], Concealed, s200),
        row(post.clone(), format!("{contribution}/{cp}/versions/{first_version}/retirement"), empty(), &[Finance], Concealed, s200),
        row(post.clone(), format!("{contribution}/drafts"), Some(json!({"name": "Third terms"})), &[Finance], Concealed, s201),
        row(get.clone(), format!("/projects/{p}/compensation-units"), None, &[Finance], Concealed, s200),
        row(post.clone(), format!("/projects/{p}/compensation-units"), Some(json!({"instrument_type": "project_points", "unit_code": "stars"})), &[Finance], Concealed, s201),
        row(post.clone(), format!("/projects/{p}/compensation-units/{euro}/retirement"), empty(), &[Finance], Concealed, s200),
        row(get.clone(), format!("/projects/{p}/adapter-bindings"), None, &[Finance], Concealed, s200),
        row(post.clone(), format!("/projects/{p}/adapter-bindings"), Some(json!({"instrument_type": "money", "adapter_actor_id": adapter.id, "route_key": "local:money"})), &[Finance], Concealed, s201),
        row(post.clone(), format!("/projects/{p}/adapter-bindings/{points}/suspend"), empty(), &[Finance], Concealed, s200),
        row(post.clone(), format!("/projects/{p}/adapter-bindings/{points}/reactivate"), empty(), &[Finance], Concealed, s200),
        row(post.clone(), format!("/projects/{p}/adapter-bindings/{points}/retirement"), empty(), &[Finance], Concealed, s200),
        // Payments: finance and audit read, finance rebuilds, everyone reads their own
        // awards; only the bound adapter reports fulfilment (people get 403 before
        // anything is read). The matrix has no award, so the adapter's request meets
        // the concealed 404 of a missing award (its successes are in compensation.rs).
        row(get.clone(), format!("/projects/{p}/compensation/awards"), None, &[Finance, Auditor], Concealed, s200),
        row(get.clone(), format!("/projects/{p}/compensation/reconciliation?pending_sla_seconds=0"), None, &[Finance, Auditor], Concealed, s200),
        row(post.clone(), format!("/projects/{p}/compensation/projections/rebuild"), empty(), &[Finance], Concealed, s200),
        row(get.clone(), "/me/awards", None, &EVERYONE, Forbidden, s200),
        row(post.clone(), "/compensation/fulfillment-reports", Some(json!({
            "external_event_id": "matrix-1", "award_id": Uuid::now_v7(), "status": "failed",
            "failure_code": "PROVIDER_TIMEOUT", "reported_at": "2026-11-25T12:00:00Z"
        })), &[Adapter], Forbidden, StatusCode::NOT_FOUND),
        // Reputation: anyone reads their own; a project's managers, operators and
        // auditors read a contributor's; only an operator recomputes.
        row(get.clone(), "/me/reputation", None, &EVERYONE, Forbidden, s200),
        row(get.clone(), "/me/reputation/events", None, &EVERYONE, Forbidden, s200),
        row(get.clone(), format!("/projects/{p}/contributors/{}/reputation", submitter.id), None, &[Manager, Operator, Auditor], Visible(SEES_P), s200),
        row(post.clone(), "/operations/reputation/recompute", reason(), &[Operator], Forbidden, s200),
        // Lessons and sprints (covering PM writes; PM, operator and audit read).
        row(get.clone(), lessons.clone(), None, &[Manager, Operator, Auditor], Visible(SEES_P), s200),
        row(get.clone(), format!("{lessons}/{to_implement}"), None, &[Manager, Operator, Auditor], Visible(SEES_P), s200),
        row(post.clone(), lessons.clone(), Some(lesson_body.clone()), &[Manager], Visible(SEES_P), s201),
        row(post.clone(), format!("{lessons}/{to_implement}/accept"), empty(), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("{lessons}/{to_implement}/implement"), Some(json!({"guide_id": guide_v1})), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("{lessons}/{to_reject}/reject"), reason(), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), sprints.clone(), Some(sprint_body("Matrix sprint 2")), &[Manager], Visible(SEES_P), s201),
        row(get.clone(), sprints.clone(), None, &[Manager, Operator, Auditor], Visible(SEES_P), s200),
        row(get.clone(), format!("{sprints}/{sprint}"), None, &[Manager, Operator, Auditor], Visible(SEES_P), s200),
        row(post.clone(), format!("{sprints}/{sprint}/tasks"), Some(json!({"task_ids": [ready]})), &[Manager], Visible(SEES_P), s200),
        row(post.clone(), format!("{sprints}/{sprint}/report"), empty(), &[Manager], Visible(SEES_P), s200),
        // Activating v2 last: the tasks above were screened against v1.
        row(post.clone(), format!("/projects/{p}/guides/{v2}/activate"), empty(), &[Manager], Visible(SEES_P), s200),
    ];

    let mut failures = Vec::new();
    for row in &rows {
        let before = total_audit_events(server).await;
        for who in EVERYONE {
            if row.allowed.contains(&who) {
                continue;
            }
            let (status, code) = match row.denial {
                Forbidden => (StatusCode::FORBIDDEN, "permission_not_granted"),
                Visible(sees) if sees.contains(&who) => {
                    (StatusCode::FORBIDDEN, "permission_not_granted")
                }
                Visible(_) | Concealed => (StatusCode::NOT_FOUND, "not_found"),
            };
            let answer = send(
                server,
                row.method.clone(),
                &row.path,
                world.actor(who),
                row.body.clone(),
                None,
            )
            .await;
            if answer.status != status || answer.code() != code {
                failures.push(format!(
                    "{who:?} {} {}: expected {} {code}, got {} {}",
                    row.method,
                    row.path,
                    status.as_u16(),
                    answer.status.as_u16(),
                    answer.body
                ));
            }
        }
        let after = total_audit_events(server).await;
        if after != before {
            failures.push(format!(
                "{} {}: refusals wrote {} audit events",
                row.method,
                row.path,
                after - before
            ));
        }
        let holder = world.actor(row.allowed[0]);
        let answer = send(
            server,
            row.method.clone(),
            &row.path,
            holder,
            row.body.clone(),
            None,
        )
        .await;
        if answer.status != row.success {
            failures.push(format!(
                "{:?} {} {}: expected {}, got {} {}",
                row.allowed[0],
                row.method,
                row.path,
                row.success.as_u16(),
                answer.status.as_u16(),
                answer.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} checks failed:\n{}",
        failures.len(),
        rows.len() * EVERYONE.len(),
        failures.join("\n")
    );

    // `GET /projects` lists exactly what each caller may see.
    let listed = |body: &Value| -> BTreeSet<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let p_only: BTreeSet<String> = [p.to_string()].into();
    for (who, expected) in [
        (Stranger, BTreeSet::new()),
        (AccessAdmin, BTreeSet::new()),
        (Submitter, p_only.clone()),
        (Finance, p_only.clone()),
        (OtherManager, [q.to_string()].into()),
    ] {
        let answer = projects_support::get(server, "/projects", world.actor(who)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(listed(&answer.body), expected, "{who:?}: {}", answer.body);
    }
    let contributor = projects_support::get(server, "/projects", &submitter).await;
    assert_eq!(
        contributor.body["items"][0],
        json!({"id": p, "name": "Project matrix-p", "status": "active"}),
        "a contributor sees the minimal view"
    );
    let everything = projects_support::get(server, "/projects?limit=2", &pm).await;
    assert_eq!(everything.body["items"].as_array().unwrap().len(), 2);
    let cursor = everything.body["next_cursor"].as_str().unwrap();
    let rest =
        projects_support::get(server, &format!("/projects?limit=100&cursor={cursor}"), &pm).await;
    // P, R, Q and the matrix's own S: four projects in two pages.
    assert_eq!(
        rest.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        rest.body
    );
}
