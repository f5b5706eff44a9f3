//! The table: one row per mounted route, in the order they run, and the resources of
//! the identity, project, guide, contribution, task, lesson and sprint rows (the review,
//! packet and payment resources come from [`super::world`]).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::TestActor;

use super::Denial::*;
use super::Who::{self, *};
use super::world::{CRITERIA, World, id, ok};
use super::{CALLERS, Row};
use crate::projects_support;
use crate::review_support::{accept_body, good_packet};

/// Who may know that project P (and its guides, tasks and grants) exists: every
/// covering grant except the access administrator's, which manages people, not work.
const SEES_P: &[Who] = &[
    Operator,
    SystemManager,
    Manager,
    Finance,
    Auditor,
    Submitter,
    Reviewer,
];
/// Who may know that project R (no contributor or scoped grant on it) exists.
const SEES_R: &[Who] = &[Operator, SystemManager];
/// The project managers covering P.
const PM: &[Who] = &[Manager, SystemManager];
/// P's managers, operators and auditors: the readers of guides, lessons and sprints.
const OVERSIGHT: &[Who] = &[Manager, SystemManager, Operator, Auditor];

fn reason() -> Value {
    json!({ "reason": "authorization matrix" })
}

fn get(path: impl Into<String>) -> Row {
    Row::new(Method::GET, path)
}

fn post(path: impl Into<String>, body: Value) -> Row {
    Row::new(Method::POST, path).json(body)
}

/// The resources of the non-review rows, then the table.
pub async fn table(world: &World) -> Vec<Row> {
    let server = &world.server;
    let (p, r, setup_pm, setup_finance) = (world.p, world.r, &world.setup_pm, &world.setup_finance);
    let w = &world.work;
    let adapter = world.actor(Adapter);
    let submitter = world.actor(Submitter);
    let (s201, s202) = (StatusCode::CREATED, StatusCode::ACCEPTED);
    const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;

    // Targets of the authority routes.
    let target = server.actor("matrix-target").await;
    let doomed = server.actor("matrix-doomed").await;
    let second_submitter = server.actor("matrix-second-submitter").await;
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
        &format!("{contribution}/drafts"),
        setup_finance,
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
        &format!("/projects/{p}/compensation-units"),
        setup_finance,
        json!({"instrument_type": "money", "unit_code": "EUR"}),
    )
    .await;
    let euro = id(&euro, "/id");
    // P's one active project_points binding: suspended, reactivated and retired before
    // the create row makes another (one active binding per instrument).
    let points = ok(
        server,
        &format!("/projects/{p}/adapter-bindings"),
        setup_finance,
        json!({"instrument_type": "project_points", "adapter_actor_id": adapter.id, "route_key": "local:points"}),
    )
    .await;
    let points = id(&points, "/id");
    let terms = json!({ "rules": [
        { "contribution_type": "accepted_submission", "compensation_mode": "unpaid", "definitions": [] },
        { "contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": [] }
    ]});

    // Guides: a draft v2 to read, edit and activate.
    let v2 =
        projects_support::create_guide(server, setup_pm, p, "v2", Some(projects_support::bundle()))
            .await;
    // Policy previews: one of v2 started by the setup manager, to list and read.
    let previews = format!("/projects/{p}/guides/{v2}/previews");
    let preview = id(
        &ok(server, &previews, setup_pm, json!({"submissions": 3})).await,
        "/id",
    );

    // Tasks in the states their routes need.
    let task_body = json!({
        "title": "Matrix task", "description": "Write outputs/final-answer.md.",
        "acceptance_criteria": CRITERIA, "rejection_criteria": "Gaps.",
        "difficulty": "medium", "estimated_time_minutes": 30
    });
    let task = async |steps: &[(&str, &TestActor, Value)]| -> Uuid {
        let created = ok(
            server,
            &format!("/projects/{p}/tasks"),
            setup_pm,
            task_body.clone(),
        )
        .await;
        let task = id(&created, "/task/id");
        for (action, who, body) in steps {
            ok(
                server,
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
    let to_release = task(&[("screen", setup_pm, json!({}))]).await;
    let to_return = task(&[("screen", setup_pm, json!({}))]).await;
    let to_cancel = task(&[]).await;
    let ready = task(&[
        ("screen", setup_pm, json!({})),
        ("release", setup_pm, release.clone()),
    ])
    .await;
    let view_submission: Uuid = sqlx::query_scalar("SELECT id FROM submissions WHERE task_id = $1")
        .bind(w.view_task)
        .fetch_one(server.database.pool())
        .await
        .unwrap();
    let to_assign = task(&[
        ("screen", setup_pm, json!({})),
        ("release", setup_pm, release.clone()),
    ])
    .await;
    let mine = task(&[
        ("screen", setup_pm, json!({})),
        ("release", setup_pm, release.clone()),
        ("claim", submitter, json!({})),
    ])
    .await;
    let stuck = task(&[
        ("screen", setup_pm, json!({})),
        ("release", setup_pm, release.clone()),
        ("claim", &second_submitter, json!({})),
    ])
    .await;

    // Lessons (one to accept and implement, one to reject) and a sprint to act on.
    let lesson_body =
        json!({"source": "incident", "lesson_type": "risk_note", "summary": "Matrix lesson."});
    let lessons = format!("/projects/{p}/lessons");
    let to_implement = id(
        &ok(server, &lessons, setup_pm, lesson_body.clone()).await,
        "/id",
    );
    let to_reject = id(
        &ok(server, &lessons, setup_pm, lesson_body.clone()).await,
        "/id",
    );
    let sprints = format!("/projects/{p}/sprints");
    let sprint_body = |name: &str| json!({"name": name, "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2100-01-01T00:00:00Z", "task_ids": [drafted]});
    let sprint = id(
        &ok(server, &sprints, setup_pm, sprint_body("Matrix sprint")).await,
        "/id",
    );

    let fulfilled = json!({
        "external_event_id": "matrix-fulfilled", "award_id": w.award, "status": "fulfilled",
        "fulfilled_quantity": "50", "external_reference": "pay-matrix",
        "fulfilled_at": chrono::Utc::now(), "reported_at": chrono::Utc::now()
    });
    let decide = format!("/reviews/leases/{}/decision", w.decide_lease);
    let calibrated = format!("/reviews/calibration/offers/{}", w.calibration_held);
    let calibration_accept = json!({
        "decision": "accept", "summary": "The proof holds.",
        "acceptance_evidence_refs": [{"path": "outputs/final-answer.md", "line": 3}]
    });

    #[rustfmt::skip]
    let rows = vec![
        // Public, and the caller's own profile.
        get("/health").allow(&CALLERS),
        get("/openapi.json").allow(&CALLERS),
        get("/docs").allow(&CALLERS),
        get("/actors/me").allow(&CALLERS),
        Row::new(Method::PATCH, "/actors/me").json(json!({"display_name": "A matrix caller"})).allow(&CALLERS),
        get("/me/assignments").allow(&CALLERS),
        // The checker registry: any project manager, operator or auditor.
        get("/checkers").allow(&[SystemManager, Manager, OtherManager, Operator, Auditor, ForeignAuditor]).deny(Forbidden),
        Row::new(Method::POST, "/checkers").component(workstream_sandbox::testing::component_bytes("legacy_v0_1")).allow(&[SystemManager, Manager, OtherManager, Operator]).deny(Forbidden).answers(s201),
        // Actors and authority (system access administrator).
        get(format!("/actors/{}", target.id)).allow(&[AccessAdmin]),
        get(format!("/actors/{}/identity-links", target.id)).allow(&[AccessAdmin]),
        post(format!("/actors/{}/suspend", target.id), reason()).allow(&[AccessAdmin]),
        post(format!("/actors/{}/reactivate", target.id), reason()).allow(&[AccessAdmin]),
        post(format!("/actors/{}/deactivate", doomed.id), reason()).allow(&[AccessAdmin]),
        post(format!("/actor-identity-links/{target_link}/revoke"), reason()).allow(&[AccessAdmin]),
        post(format!("/actor-identity-links/{target_link}/reactivate"), reason()).allow(&[AccessAdmin]),
        get("/service-actors").allow(&[AccessAdmin]),
        post("/service-actors", json!({"service_identity": "workstream.checker.worker", "subject": "matrix-worker", "reason": "matrix"})).allow(&[AccessAdmin]).answers(s201),
        get("/admin-role-grants").allow(&[AccessAdmin]),
        get(format!("/actors/{}/admin-role-grants", target.id)).allow(&[AccessAdmin]),
        post("/admin-role-grants", json!({"target_actor_profile_id": target.id, "role": "operator", "scope_type": "system", "reason": "matrix"})).allow(&[AccessAdmin]).answers(s201),
        post(format!("/admin-role-grants/{target_audit_grant}/revoke"), reason()).allow(&[AccessAdmin]),
        // Project role grants (a project manager covering the project; audit reads).
        get(format!("/projects/{p}/role-grants")).allow(&[Manager, SystemManager, Auditor]).deny(Concealed),
        get(format!("/projects/{p}/role-grants/{target_review_grant}")).allow(&[Manager, SystemManager, Auditor]).deny(Concealed),
        post(format!("/projects/{p}/role-grants/{target_review_grant}/revoke"), reason()).allow(PM).deny(Concealed),
        post(format!("/projects/{p}/role-grants"), json!({"target_actor_profile_id": target.id, "role": "submitter", "qualification": {}, "reason": "matrix"})).allow(PM).deny(Concealed).answers(s201),
        // Projects: only a system project manager creates one.
        post("/projects", json!({"name": "Matrix S", "slug": "matrix-s"})).allow(&[SystemManager]).answers(s201),
        get("/projects").allow(&CALLERS),
        get(format!("/projects/{p}")).allow(SEES_P).deny(Visible(SEES_P)),
        post(format!("/projects/{p}/pause"), json!({})).allow(PM).deny(Visible(SEES_P)),
        post(format!("/projects/{p}/resume"), json!({})).allow(PM).deny(Visible(SEES_P)),
        post(format!("/projects/{r}/archive"), json!({})).allow(&[SystemManager]).deny(Visible(SEES_R)),
        // Guides (covering PM writes; PM, operator and audit read). Activation is last.
        get(format!("/projects/{p}/guides")).allow(OVERSIGHT).deny(Visible(SEES_P)),
        get(format!("/projects/{p}/guides/{v2}")).allow(OVERSIGHT).deny(Visible(SEES_P)),
        get(format!("/projects/{p}/active-guide")).allow(OVERSIGHT).deny(Visible(SEES_P)),
        post(format!("/projects/{p}/guides"), json!({"version": "v3", "content_markdown": "# v3", "change_summary": "matrix"})).allow(PM).deny(Visible(SEES_P)).answers(s201),
        Row::new(Method::PATCH, format!("/projects/{p}/guides/{v2}")).json(json!({"change_summary": "edited by the matrix"})).allow(PM).deny(Visible(SEES_P)),
        // Policy previews of the draft v2, before v2 is activated (below): the guides'
        // readers read them, a covering PM starts one.
        get(previews.clone()).allow(OVERSIGHT).deny(Visible(SEES_P)),
        get(format!("{previews}/{preview}")).allow(OVERSIGHT).deny(Visible(SEES_P)),
        post(previews.clone(), json!({"submissions": 3})).allow(PM).deny(Visible(SEES_P)).answers(s202),
        // Tasks: management (covering PM; audit reads) and work (contributors). The
        // contributor views exist only for contributors: anyone else gets a 404.
        post(format!("/projects/{p}/tasks"), task_body.clone()).allow(PM).deny(Visible(SEES_P)).answers(s201),
        get(format!("/projects/{p}/tasks")).allow(&[Manager, SystemManager, Auditor]).deny(Visible(SEES_P)),
        get(format!("/projects/{p}/tasks/export")).allow(&[Manager, SystemManager, Auditor]).deny(Visible(SEES_P)),
        get(format!("/projects/{p}/tasks/{drafted}")).allow(&[Manager, SystemManager, Auditor]).deny(Visible(SEES_P)),
        get(format!("/projects/{p}/tasks/ready")).allow(&[Submitter, Reviewer]).deny(Visible(SEES_P)),
        get(format!("/tasks/{ready}")).allow(&[Submitter, Reviewer]).deny(Concealed),
        get(format!("/tasks/{ready}/submission-requirements")).allow(&[Submitter]).deny(Concealed),
        post(format!("/tasks/{drafted}/screen"), json!({})).allow(PM).deny(Visible(SEES_P)),
        post(format!("/tasks/{to_release}/release"), reason()).allow(PM).deny(Visible(SEES_P)),
        post(format!("/tasks/{to_return}/return-to-draft"), reason()).allow(PM).deny(Visible(SEES_P)),
        post(format!("/tasks/{to_cancel}/cancel"), reason()).allow(PM).deny(Visible(SEES_P)),
        post(format!("/tasks/{ready}/claim"), json!({})).allow(&[Submitter]).deny(Visible(SEES_P)),
        post(format!("/tasks/{to_assign}/assign"), json!({"assignee_actor_id": second_submitter.id, "reason": "matrix"})).allow(PM).deny(Visible(SEES_P)),
        post(format!("/tasks/{mine}/start"), json!({})).allow(&[Submitter]).deny(Visible(SEES_P)),
        post(format!("/operations/tasks/{stuck}/start"), reason()).allow(&[Operator]).deny(Visible(SEES_P)),
        // Packets and checker runs: the assignee uploads and submits (another contributor
        // cannot see a task claimed by someone else: the concealed 404); the assignee
        // (contributor-safe) and P's oversight (full) read the runs; an Operator retries
        // a held evaluation and the covering PM repairs a task blocked on its setup.
        Row::new(Method::POST, format!("/tasks/{}/packets", w.upload_task)).packet(good_packet("matrix upload")).held_by("the assignee", &w.upload_assignee).deny(Visible(SEES_P)).except(Submitter, NOT_FOUND, "not_found").answers(s201),
        post(format!("/tasks/{}/submissions", w.submit_task), w.admission.clone()).held_by("the assignee", &w.submit_assignee).deny(Visible(SEES_P)).except(Submitter, NOT_FOUND, "not_found").answers(s201),
        get(format!("/tasks/{}/checker-runs", w.view_task)).allow(OVERSIGHT).held_by("the assignee", &w.view_assignee).deny(Concealed),
        get(format!("/tasks/{}/submissions", w.view_task)).allow(OVERSIGHT).held_by("the contributor", &w.view_assignee).deny(Concealed),
        get(format!("/submissions/{view_submission}")).allow(OVERSIGHT).held_by("the contributor", &w.view_assignee).deny(Concealed),
        get(format!("/tasks/{}/work-context", w.view_task)).allow(OVERSIGHT).held_by("the assignee", &w.view_assignee).deny(Concealed),
        post(format!("/operations/tasks/{}/re-evaluate", w.reevaluate_task), reason()).allow(&[Operator]).deny(Visible(SEES_P)).answers(s202),
        post(format!("/tasks/{}/setup-repair", w.repair_task), json!({"acceptance_criteria": CRITERIA, "reason": "criteria were too thin"})).allow(PM).deny(Visible(SEES_P)).answers(s202),
        // Review: the queue is per caller; a lease is its reviewer's alone (anyone else
        // meets the concealed 404), except that an Operator force-releases it.
        get("/reviews/current").allow(&CALLERS),
        post("/reviews/claim", json!({"queue_entry_id": w.claim_entry})).allow(&[Reviewer]).deny(Visible(SEES_P)).answers(s201),
        get(format!("/reviews/leases/{}", w.view_lease)).held_by("the lease holder", &w.view_holder).deny(Concealed),
        get(format!("/reviews/leases/{}/files/outputs/final-answer.md", w.view_lease)).held_by("the lease holder", &w.view_holder).deny(Concealed),
        get(format!("/reviews/leases/{}/previous-files/outputs/final-answer.md", w.diff_lease)).held_by("the lease holder", &w.diff_holder).deny(Concealed),
        post(format!("/reviews/leases/{}/release", w.view_lease), json!({})).held_by("the lease holder", &w.view_holder).deny(Concealed),
        post(format!("/reviews/leases/{}/decline", w.decline_lease), reason()).held_by("the lease holder", &w.decline_holder).deny(Concealed),
        post(decide.clone(), accept_body(json!([]))).held_by("the lease holder", &w.decide_holder).deny(Concealed).answers(s201),
        post(format!("/operations/reviews/leases/{}/force-release", w.force_lease), reason()).allow(&[Operator]).deny(Visible(SEES_P)),
        get(format!("/tasks/{}/audit-trail", w.view_task)).allow(OVERSIGHT).deny(Concealed),
        get(format!("/projects/{p}/audit-events")).allow(OVERSIGHT).deny(Concealed),
        get(format!("/projects/{p}/audit-events/export")).allow(OVERSIGHT).deny(Concealed),
        get(format!("/tasks/{}/reviews", w.revise_task)).allow(OVERSIGHT).held_by("the assignee", &w.revise_assignee).deny(Concealed),
        get(format!("/tasks/{}/revision-context", w.revise_task)).allow(OVERSIGHT).held_by("the assignee", &w.revise_assignee).deny(Concealed),
        post(format!("/tasks/{}/revision-context/repair", w.revise_task), json!({"head_id": w.revise_head.0, "head_digest": w.revise_head.1, "reason": "matrix"})).allow(PM).deny(Visible(SEES_P)).answers(s201),
        post(format!("/tasks/{}/revision-obligation/close", w.close_task), json!({"reason": "revision_limit_reached"})).allow(PM).deny(Visible(SEES_P)),
        // Reviewer calibration: every caller asks what waits for them; a reviewer of P
        // claims a sampled review; its blind packet, files and decision are the holder's
        // alone (anyone else meets the concealed 404); P's oversight reads the figures.
        get("/reviews/calibration/current").allow(&CALLERS),
        post("/reviews/calibration/claim", json!({"offer_id": w.calibration_offer})).allow(&[Reviewer]).deny(Visible(SEES_P)).answers(s201),
        get(calibrated.clone()).held_by("the calibration holder", &w.calibration_holder).deny(Concealed),
        get(format!("{calibrated}/files/outputs/final-answer.md")).held_by("the calibration holder", &w.calibration_holder).deny(Concealed),
        post(format!("{calibrated}/decision"), calibration_accept).held_by("the calibration holder", &w.calibration_holder).deny(Concealed).answers(s201),
        get(format!("/projects/{p}/calibration")).allow(OVERSIGHT).deny(Visible(SEES_P)),
        // Contribution terms (finance only, everything else concealed), after the tasks;
        // the first terms are retired once v2 is active (below).
        get(format!("{contribution}/current")).allow(&[Finance]).deny(Concealed),
        get(format!("{contribution}/{cp}?version_id={cv}")).allow(&[Finance]).deny(Concealed),
        Row::new(Method::PUT, format!("{contribution}/{cp}/versions/{cv}")).json(terms).allow(&[Finance]).deny(Concealed),
        post(format!("{contribution}/{cp}/versions/{cv}/publication"), json!({})).allow(&[Finance]).deny(Concealed),
        post(format!("{contribution}/drafts"), json!({"name": "Third terms"})).allow(&[Finance]).deny(Concealed).answers(s201),
        get(format!("/projects/{p}/compensation-units")).allow(&[Finance]).deny(Concealed),
        post(format!("/projects/{p}/compensation-units"), json!({"instrument_type": "project_points", "unit_code": "stars"})).allow(&[Finance]).deny(Concealed).answers(s201),
        post(format!("/projects/{p}/compensation-units/{euro}/retirement"), json!({})).allow(&[Finance]).deny(Concealed),
        get(format!("/projects/{p}/adapter-bindings")).allow(&[Finance]).deny(Concealed),
        post(format!("/projects/{p}/adapter-bindings/{points}/suspend"), json!({})).allow(&[Finance]).deny(Concealed),
        post(format!("/projects/{p}/adapter-bindings/{points}/reactivate"), json!({})).allow(&[Finance]).deny(Concealed),
        post(format!("/projects/{p}/adapter-bindings/{points}/retirement"), json!({})).allow(&[Finance]).deny(Concealed),
        post(format!("/projects/{p}/adapter-bindings"), json!({"instrument_type": "project_points", "adapter_actor_id": adapter.id, "route_key": "local:points"})).allow(&[Finance]).deny(Concealed).answers(s201),
        // Payments: finance and audit read, finance rebuilds, everyone reads their own
        // awards; only the bound adapter reports fulfilment (people get 403 before
        // anything is read).
        get(format!("/projects/{p}/compensation/awards")).allow(&[Finance, Auditor]).deny(Concealed),
        get(format!("/projects/{p}/compensation/awards/export")).allow(&[Finance, Auditor]).deny(Concealed),
        get(format!("/projects/{p}/compensation/reconciliation?pending_sla_seconds=0")).allow(&[Finance, Auditor]).deny(Concealed),
        post(format!("/projects/{p}/compensation/projections/rebuild"), json!({})).allow(&[Finance]).deny(Concealed),
        get("/me/awards").allow(&CALLERS),
        post("/compensation/fulfillment-reports", fulfilled).allow(&[Adapter]).answers(s201),
        // Reputation: anyone reads their own; a project's managers, operators and
        // auditors read a contributor's; only an operator recomputes.
        get("/me/reputation").allow(&CALLERS),
        get("/me/reputation/events").allow(&CALLERS),
        get(format!("/projects/{p}/contributors/{}/reputation", submitter.id)).allow(OVERSIGHT).deny(Visible(SEES_P)),
        post("/operations/reputation/recompute", reason()).allow(&[Operator]),
        // Lessons and sprints (covering PM writes; PM, operator and audit read).
        get(lessons.clone()).allow(OVERSIGHT).deny(Visible(SEES_P)),
        get(format!("{lessons}/{to_implement}")).allow(OVERSIGHT).deny(Visible(SEES_P)),
        post(lessons.clone(), lesson_body.clone()).allow(PM).deny(Visible(SEES_P)).answers(s201),
        post(format!("{lessons}/{to_implement}/accept"), json!({})).allow(PM).deny(Visible(SEES_P)),
        post(format!("{lessons}/{to_implement}/implement"), json!({"guide_id": world.guide_v1})).allow(PM).deny(Visible(SEES_P)),
        post(format!("{lessons}/{to_reject}/reject"), reason()).allow(PM).deny(Visible(SEES_P)),
        post(sprints.clone(), sprint_body("Matrix sprint 2")).allow(PM).deny(Visible(SEES_P)).answers(s201),
        get(sprints.clone()).allow(OVERSIGHT).deny(Visible(SEES_P)),
        get(format!("{sprints}/{sprint}")).allow(OVERSIGHT).deny(Visible(SEES_P)),
        post(format!("{sprints}/{sprint}/tasks"), json!({"task_ids": [ready]})).allow(PM).deny(Visible(SEES_P)),
        post(format!("{sprints}/{sprint}/report"), json!({})).allow(PM).deny(Visible(SEES_P)),
        // Activating v2 last: the tasks above were screened against v1. It binds the
        // second terms, which frees the first ones (bound to v1) to be retired.
        post(format!("/projects/{p}/guides/{v2}/activate"), json!({})).allow(PM).deny(Visible(SEES_P)),
        post(format!("{contribution}/{cp}/versions/{first_version}/retirement"), json!({})).allow(&[Finance]).deny(Concealed),
    ];
    rows
}
