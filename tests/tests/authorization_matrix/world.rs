//! The matrix's world: one server with the real pipeline and worker, the callers, and
//! every resource a row needs, each brought to the state its route acts on over HTTP.
//!
//! Three projects: P, the project the rows act on (active, paid terms through the
//! adapter, a guide whose post-submit acceptance-criteria check wants 60 characters so
//! that a task with short criteria is blocked on its setup, and one revision round);
//! Q, the "foreign" project every foreign caller holds its role on; R, an untouched
//! draft to archive. Work on P is done by helpers outside the matrix (a setup manager
//! and finance, one assignee and one lease-holding reviewer per task), so that no
//! matrix caller's active-task cap or review lease is used up before its row.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::{TestActor, TestServer};

use super::Who;
use crate::projects_support::{self, Answer, get, post};
use crate::review_support::{
    ATTESTATION, SUMMARY, accept_body, blocking, finding_ids, good_packet, needs_revision_body,
};

/// Acceptance criteria long enough for P's post-submit setup check.
pub const CRITERIA: &str =
    "A complete, checked proof of the lemma, with every case of the induction covered.";
/// Acceptance criteria the setup check refuses (`task_setup_blocked`).
pub const THIN_CRITERIA: &str = "A complete proof.";

/// Everything the rows refer to.
pub struct World {
    pub server: TestServer,
    pub callers: Vec<(Who, TestActor)>,
    /// The setup manager (system project manager, not a matrix caller).
    pub setup_pm: TestActor,
    pub setup_finance: TestActor,
    pub p: Uuid,
    pub q: Uuid,
    pub r: Uuid,
    pub guide_v1: Uuid,
    /// Review and packet resources, each with the helper that holds it.
    pub work: Work,
}

/// The review, packet and payment resources of P.
pub struct Work {
    /// `review_pending`, nobody's lease: the matrix Reviewer claims it.
    pub claim_entry: Uuid,
    /// Leased by `view_holder`: read, read a file, then released.
    pub view_lease: Uuid,
    pub view_holder: TestActor,
    /// The task under `view_lease`, and its assignee (checker runs).
    pub view_task: Uuid,
    pub view_assignee: TestActor,
    pub decline_lease: Uuid,
    pub decline_holder: TestActor,
    pub decide_lease: Uuid,
    pub decide_holder: TestActor,
    /// Leased by a helper; only an Operator force-releases it.
    pub force_lease: Uuid,
    /// `needs_revision` after one review: history, revision context and its repair.
    pub revise_task: Uuid,
    pub revise_assignee: TestActor,
    /// The current preparation head of `revise_task`: (id, digest).
    pub revise_head: (Value, Value),
    /// `needs_revision` with its one revision round used: the PM closes it.
    pub close_task: Uuid,
    /// Leased by `diff_holder` on version 2 of its task (reads the previous version).
    pub diff_lease: Uuid,
    pub diff_holder: TestActor,
    /// Held by `task_setup_blocked`: an Operator re-evaluates one, the PM repairs the other.
    pub reevaluate_task: Uuid,
    pub repair_task: Uuid,
    /// `in_progress`: its assignee uploads a packet.
    pub upload_task: Uuid,
    pub upload_assignee: TestActor,
    /// `in_progress` with an admitted packet: its assignee submits it.
    pub submit_task: Uuid,
    pub submit_assignee: TestActor,
    pub admission: Value,
    /// A delivered award of an accepted task: the bound adapter reports it fulfilled.
    pub award: Uuid,
    /// Reviewer calibration (P samples every review): the accepted task's offer, which
    /// the matrix Reviewer claims, and the revised task's, leased by `calibration_holder`.
    pub calibration_offer: Uuid,
    pub calibration_held: Uuid,
    pub calibration_holder: TestActor,
}

impl World {
    pub fn actor(&self, who: Who) -> &TestActor {
        &self
            .callers
            .iter()
            .find(|(w, _)| *w == who)
            .unwrap_or_else(|| panic!("no caller {who:?}"))
            .1
    }
}

pub fn id(body: &Value, pointer: &str) -> Uuid {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {body}"))
        .parse()
        .unwrap()
}

pub async fn ok(server: &TestServer, path: &str, who: &TestActor, body: Value) -> Value {
    let answer = post(server, path, who, body).await;
    assert!(
        answer.status.is_success(),
        "setup POST {path}: {} {}",
        answer.status,
        answer.body
    );
    answer.body
}

/// P's bundle: the standard one, with the acceptance-criteria check moved after
/// submission (where a thin task blocks on its setup), one revision round, and every
/// decided review sampled for calibration.
fn bundle() -> Value {
    let mut bundle = projects_support::bundle();
    for checker in bundle["checker_policy"]["checkers"].as_array_mut().unwrap() {
        if checker["name"] == "acceptance-criteria-present" {
            checker["phase"] = json!("post_submit");
            checker["configuration"] = json!({"min_chars": 60});
        }
    }
    bundle["revision_policy"]["max_revision_rounds"] = json!(1);
    bundle["review_policy"]["calibration_sample_percent"] = json!(100);
    bundle
}

/// P's terms: 50 USD per accepted submission through a money binding of the adapter,
/// reviews unpaid. (The project_points instrument stays free for the binding rows.)
async fn publish_terms(server: &TestServer, finance: &TestActor, adapter: &TestActor, p: Uuid) {
    let units = format!("/projects/{p}/compensation-units");
    ok(
        server,
        &units,
        finance,
        json!({"instrument_type": "money", "unit_code": "USD"}),
    )
    .await;
    let binding = ok(
        server,
        &format!("/projects/{p}/adapter-bindings"),
        finance,
        json!({"instrument_type": "money", "adapter_actor_id": adapter.id, "route_key": "local.money"}),
    )
    .await;
    let draft = ok(
        server,
        &format!("/projects/{p}/contribution-policies/drafts"),
        finance,
        json!({"name": "Paid terms"}),
    )
    .await;
    let version = format!(
        "/projects/{p}/contribution-policies/{}/versions/{}",
        id(&draft, "/contribution_policy_id"),
        id(&draft, "/contribution_policy_version_id")
    );
    let terms = projects_support::put(
        server,
        &version,
        finance,
        json!({ "rules": [
            { "contribution_type": "accepted_submission", "compensation_mode": "compensated", "definitions": [
                { "instrument_type": "money", "unit_code": "USD", "quantity": "50", "adapter_binding_id": binding["id"] }
            ]},
            { "contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": [] }
        ]}),
    )
    .await;
    assert_eq!(terms.status, 200, "{}", terms.body);
    ok(
        server,
        &format!("{version}/publication"),
        finance,
        json!({}),
    )
    .await;
}

/// Builds the world (see the module docs).
pub async fn build() -> World {
    let server = TestServer::start_with_pipeline().await;
    let setup_pm = projects_support::manager(&server, "matrix-setup-pm").await;
    let p = projects_support::create_project(&server, &setup_pm, "matrix-p").await;
    let q = projects_support::create_project(&server, &setup_pm, "matrix-q").await;
    let r = projects_support::create_project(&server, &setup_pm, "matrix-r").await;
    let setup_finance = projects_support::finance(&server, "matrix-setup-finance", p).await;
    let adapter = server
        .service_actor("matrix-adapter", "workstream.payment.local_adapter")
        .await;
    publish_terms(&server, &setup_finance, &adapter, p).await;
    let guide_v1 =
        projects_support::create_guide(&server, &setup_pm, p, "v1", Some(bundle())).await;
    let answer = projects_support::activate(&server, &setup_pm, p, guide_v1).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let mut callers = Vec::new();
    for who in super::CALLERS {
        if who == Who::Adapter {
            callers.push((who, adapter.clone()));
            continue;
        }
        let actor = server
            .actor(&format!("matrix-{who:?}").to_lowercase())
            .await;
        let admin = |role, project| (Some((role, project)), None);
        let contributor = |role, project| (None, Some((role, project)));
        let (admin_grant, project_grant) = match who {
            Who::AccessAdmin => admin(AdminRole::AccessAdministrator, None),
            Who::Operator => admin(AdminRole::Operator, None),
            Who::SystemManager => admin(AdminRole::ProjectManager, None),
            Who::Manager => admin(AdminRole::ProjectManager, Some(p)),
            Who::OtherManager => admin(AdminRole::ProjectManager, Some(q)),
            Who::Finance => admin(AdminRole::FinanceAuthority, Some(p)),
            Who::ForeignFinance => admin(AdminRole::FinanceAuthority, Some(q)),
            Who::Auditor => admin(AdminRole::AuditAuthority, Some(p)),
            Who::ForeignAuditor => admin(AdminRole::AuditAuthority, Some(q)),
            Who::Submitter => contributor(ProjectRole::Submitter, p),
            Who::ForeignSubmitter => contributor(ProjectRole::Submitter, q),
            Who::Reviewer => contributor(ProjectRole::Reviewer, p),
            Who::ForeignReviewer => contributor(ProjectRole::Reviewer, q),
            Who::Stranger | Who::Adapter => (None, None),
        };
        if let Some((role, project)) = admin_grant {
            server.grant_admin(&actor, role, project).await;
        }
        if let Some((role, project)) = project_grant {
            server.grant_project_role(&actor, project, role).await;
        }
        callers.push((who, actor));
    }

    let work = work(&Setup {
        server: &server,
        pm: &setup_pm,
        p,
    })
    .await;
    World {
        server,
        callers,
        setup_pm,
        setup_finance,
        p,
        q,
        r,
        guide_v1,
        work,
    }
}

/// What the setup helpers below work with.
struct Setup<'a> {
    server: &'a TestServer,
    pm: &'a TestActor,
    p: Uuid,
}

impl Setup<'_> {
    /// A helper contributor on P with `role`.
    async fn helper(&self, subject: &str, role: ProjectRole) -> TestActor {
        let actor = self.server.actor(subject).await;
        self.server.grant_project_role(&actor, self.p, role).await;
        actor
    }

    /// A task of P, created, screened, released, claimed and started by `assignee`.
    async fn started_task(&self, assignee: &TestActor, criteria: &str) -> Uuid {
        let created = ok(
            self.server,
            &format!("/projects/{}/tasks", self.p),
            self.pm,
            json!({"title": "Prove the lemma", "description": "Write outputs/final-answer.md.",
                   "acceptance_criteria": criteria, "rejection_criteria": "Gaps.",
                   "difficulty": "medium", "estimated_time_minutes": 30}),
        )
        .await;
        let task = id(&created, "/task/id");
        for (who, action, body) in [
            (self.pm, "screen", json!({})),
            (self.pm, "release", json!({"reason": "ready"})),
            (assignee, "claim", json!({})),
            (assignee, "start", json!({})),
        ] {
            ok(self.server, &format!("/tasks/{task}/{action}"), who, body).await;
        }
        task
    }

    /// Uploads a good packet (`variant` changes its bytes) as the assignee.
    async fn upload(&self, assignee: &TestActor, task: Uuid, variant: &str) -> Answer {
        let response = self
            .server
            .client
            .post(self.server.url(&format!("/api/v1/tasks/{task}/packets")))
            .header("authorization", assignee.auth())
            .header("idempotency-key", Uuid::now_v7().to_string())
            .multipart(packet_form(good_packet(variant)))
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

    /// Uploads and submits a packet (with `extra` merged into the submission body), then
    /// waits for the worker to finish evaluating it; returns the evaluated run's route.
    async fn submit(
        &self,
        assignee: &TestActor,
        task: Uuid,
        variant: &str,
        extra: Value,
    ) -> String {
        let uploaded = self.upload(assignee, task, variant).await;
        assert_eq!(uploaded.status, 201, "{}", uploaded.body);
        let mut body = json!({"admission_id": uploaded.body["admission_id"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        ok(
            self.server,
            &format!("/tasks/{task}/submissions"),
            assignee,
            body,
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let route: Option<String> = sqlx::query_scalar(
                "SELECT routing_recommendation FROM checker_runs \
                 WHERE task_id = $1 AND is_current_for_submission AND status = 'completed' \
                 AND submission_id = (SELECT id FROM submissions WHERE task_id = $1 ORDER BY version DESC LIMIT 1)",
            )
            .bind(task)
            .fetch_optional(self.server.database.pool())
            .await
            .unwrap();
            if let Some(route) = route {
                // The routing commits with the run; wait for the task to leave evaluation
                // unless the run holds it there.
                let status = self.status(task).await;
                if route != "allow_review" || status == "review_pending" {
                    return route;
                }
            }
            assert!(Instant::now() < deadline, "task {task} was never evaluated");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn status(&self, task: Uuid) -> String {
        sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
            .bind(task)
            .fetch_one(self.server.database.pool())
            .await
            .unwrap()
    }

    /// A task of P in `review_pending`; returns (task, assignee).
    async fn in_review(&self, name: &str) -> (Uuid, TestActor) {
        let assignee = self
            .helper(&format!("matrix-{name}-assignee"), ProjectRole::Submitter)
            .await;
        let task = self.started_task(&assignee, CRITERIA).await;
        assert_eq!(
            self.submit(&assignee, task, name, json!({})).await,
            "allow_review"
        );
        (task, assignee)
    }

    async fn entry(&self, task: Uuid) -> Uuid {
        sqlx::query_scalar(
            "SELECT id FROM review_queue_entries WHERE task_id = $1 AND state = 'pending'",
        )
        .bind(task)
        .fetch_one(self.server.database.pool())
        .await
        .unwrap()
    }

    /// `reviewer` claims `task`'s pending entry; returns the lease.
    async fn lease(&self, reviewer: &TestActor, task: Uuid) -> Uuid {
        let entry = self.entry(task).await;
        let claimed = ok(
            self.server,
            "/reviews/claim",
            reviewer,
            json!({"queue_entry_id": entry}),
        )
        .await;
        id(&claimed, "/lease/id")
    }

    /// `reviewer` claims `task` and asks for a revision with one new blocking finding,
    /// resolving every open prior one; returns the decision.
    async fn ask_revision(&self, reviewer: &TestActor, task: Uuid, issue: &str) -> Value {
        let lease = self.lease(reviewer, task).await;
        let packet = get(self.server, &format!("/reviews/leases/{lease}"), reviewer).await;
        let resolutions: Vec<Value> = packet.body["required_resolutions"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", packet.body))
            .iter()
            .map(|f| json!({"finding_id": f, "result": "resolved", "rationale": "Fixed."}))
            .collect();
        let mut body = needs_revision_body(json!([blocking("proof", issue)]));
        body["resolutions"] = json!(resolutions);
        let decided = ok(
            self.server,
            &format!("/reviews/leases/{lease}/decision"),
            reviewer,
            body,
        )
        .await;
        assert_eq!(self.status(task).await, "needs_revision");
        decided
    }

    async fn revision_context(&self, assignee: &TestActor, task: Uuid) -> Value {
        let answer = get(
            self.server,
            &format!("/tasks/{task}/revision-context"),
            assignee,
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }

    /// A task of P held in `evaluation_pending` by `task_setup_blocked`.
    async fn setup_blocked(&self, name: &str) -> Uuid {
        let assignee = self
            .helper(&format!("matrix-{name}-assignee"), ProjectRole::Submitter)
            .await;
        let task = self.started_task(&assignee, THIN_CRITERIA).await;
        assert_eq!(
            self.submit(&assignee, task, name, json!({})).await,
            "task_setup_blocked"
        );
        assert_eq!(self.status(task).await, "evaluation_pending");
        task
    }
}

/// The multipart body of an upload of `packet`.
pub fn packet_form(packet: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("summary", SUMMARY)
        .text("attestation", ATTESTATION)
        .part(
            "packet",
            reqwest::multipart::Part::bytes(packet).file_name("packet.zip"),
        )
}

async fn work(w: &Setup<'_>) -> Work {
    let reviewer = async |name: &str| {
        w.helper(&format!("matrix-{name}-reviewer"), ProjectRole::Reviewer)
            .await
    };

    let (claim_task, _) = w.in_review("claim").await;
    let claim_entry = w.entry(claim_task).await;

    let (view_task, view_assignee) = w.in_review("view").await;
    let view_holder = reviewer("view").await;
    let view_lease = w.lease(&view_holder, view_task).await;

    let (decline_task, _) = w.in_review("decline").await;
    let decline_holder = reviewer("decline").await;
    let decline_lease = w.lease(&decline_holder, decline_task).await;

    let (decide_task, _) = w.in_review("decide").await;
    let decide_holder = reviewer("decide").await;
    let decide_lease = w.lease(&decide_holder, decide_task).await;

    let (force_task, _) = w.in_review("force").await;
    let force_holder = reviewer("force").await;
    let force_lease = w.lease(&force_holder, force_task).await;

    let (revise_task, revise_assignee) = w.in_review("revise").await;
    w.ask_revision(
        &reviewer("revise").await,
        revise_task,
        "The base case is missing.",
    )
    .await;
    let context = w.revision_context(&revise_assignee, revise_task).await;
    let revise_head = (
        context["preparation"]["id"].clone(),
        context["preparation"]["context_digest"].clone(),
    );

    // One revision round, used: version 2 answers the finding, and is sent back again.
    let (close_task, close_assignee) = w.in_review("close").await;
    let close_reviewer = reviewer("close").await;
    let decided = w
        .ask_revision(&close_reviewer, close_task, "The base case is missing.")
        .await;
    let finding = finding_ids(&decided)[0].clone();
    let context = w.revision_context(&close_assignee, close_task).await;
    let resubmission = json!({
        "preparation_id": context["preparation"]["id"],
        "preparation_digest": context["preparation"]["context_digest"],
        "responses": [{"finding_id": finding, "response_text": "Added the base case."}],
    });
    assert_eq!(
        w.submit(&close_assignee, close_task, "close v2", resubmission)
            .await,
        "allow_review"
    );
    w.ask_revision(
        &close_reviewer,
        close_task,
        "The induction step is circular.",
    )
    .await;

    // A second version under review: its holder may read the first version's files.
    let (diff_task, diff_assignee) = w.in_review("diff").await;
    // The revision returns to the reviewer who asked for it (their preference window).
    let diff_holder = reviewer("diff").await;
    let decided = w
        .ask_revision(&diff_holder, diff_task, "The base case is missing.")
        .await;
    let finding = finding_ids(&decided)[0].clone();
    let context = w.revision_context(&diff_assignee, diff_task).await;
    let resubmission = json!({
        "preparation_id": context["preparation"]["id"],
        "preparation_digest": context["preparation"]["context_digest"],
        "responses": [{"finding_id": finding, "response_text": "Added the base case."}],
    });
    assert_eq!(
        w.submit(&diff_assignee, diff_task, "diff v2", resubmission)
            .await,
        "allow_review"
    );
    let diff_lease = w.lease(&diff_holder, diff_task).await;

    let reevaluate_task = w.setup_blocked("reevaluate").await;
    let repair_task = w.setup_blocked("repair").await;

    let upload_assignee = w
        .helper("matrix-upload-assignee", ProjectRole::Submitter)
        .await;
    let upload_task = w.started_task(&upload_assignee, CRITERIA).await;
    let submit_assignee = w
        .helper("matrix-submit-assignee", ProjectRole::Submitter)
        .await;
    let submit_task = w.started_task(&submit_assignee, CRITERIA).await;
    let admitted = w.upload(&submit_assignee, submit_task, "submit").await;
    assert_eq!(admitted.status, 201, "{}", admitted.body);
    let admission = json!({"admission_id": admitted.body["admission_id"]});

    // An accepted task: its awards are delivered through the local adapter.
    let (paid_task, _) = w.in_review("paid").await;
    let paid_reviewer = reviewer("paid").await;
    let lease = w.lease(&paid_reviewer, paid_task).await;
    ok(
        w.server,
        &format!("/reviews/leases/{lease}/decision"),
        &paid_reviewer,
        accept_body(json!([])),
    )
    .await;
    let award: Uuid = sqlx::query_scalar(
        "SELECT a.id FROM compensation_awards a \
         JOIN contribution_records c ON c.id = a.contribution_record_id \
         WHERE c.task_id = $1 AND c.contribution_type = 'accepted_submission'",
    )
    .bind(paid_task)
    .fetch_one(w.server.database.pool())
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM award_delivery_outbox WHERE compensation_award_id = $1",
        )
        .bind(award)
        .fetch_optional(w.server.database.pool())
        .await
        .unwrap();
        if state.as_deref() == Some("acknowledged") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "award {award} never delivered: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Calibration: every review of P is sampled by the reputation job after it commits.
    let offer_of = async |task: Uuid| -> Uuid {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let offer: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM calibration_offers WHERE task_id = $1 ORDER BY created_at LIMIT 1",
            )
            .bind(task)
            .fetch_optional(w.server.database.pool())
            .await
            .unwrap();
            if let Some(offer) = offer {
                return offer;
            }
            assert!(Instant::now() < deadline, "task {task} was never sampled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let calibration_offer = offer_of(paid_task).await;
    let calibration_held = offer_of(revise_task).await;
    let calibration_holder = reviewer("calibrate").await;
    ok(
        w.server,
        "/reviews/calibration/claim",
        &calibration_holder,
        json!({"offer_id": calibration_held}),
    )
    .await;

    Work {
        claim_entry,
        view_lease,
        view_holder,
        view_task,
        view_assignee,
        decline_lease,
        decline_holder,
        decide_lease,
        decide_holder,
        force_lease,
        revise_task,
        revise_assignee,
        revise_head,
        close_task,
        diff_lease,
        diff_holder,
        reevaluate_task,
        repair_task,
        upload_task,
        upload_assignee,
        submit_task,
        submit_assignee,
        admission,
        award,
        calibration_offer,
        calibration_held,
        calibration_holder,
    }
}
