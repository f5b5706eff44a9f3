//! Shared setup for the web UI tests: a real server with the pipeline and worker, a
//! project set up over the API (paid terms, guide v1 active, one task released to the
//! ready queue), and the people who use the UI, provisioned under fixed subjects so a
//! test can sign in as them on the UI's local sign-in page. The policy preview pages'
//! material (a stricter draft, decided submissions) is review_support's.
#![allow(dead_code)]

use serde_json::json;
use uuid::Uuid;
use workstream_domain::roles::{AdminRole, ProjectRole};
use workstream_e2e::{TestActor, TestServer};

use crate::projects_support::*;
use crate::review_support::publish_paid_policy;

/// The subjects the UI tests sign in as.
pub const SUBMITTER: &str = "ui-submitter";
pub const REVIEWER: &str = "ui-reviewer";
pub const MANAGER: &str = "ui-manager";
pub const FINANCE: &str = "ui-finance";
pub const AUDITOR: &str = "ui-auditor";

/// The task the UI tests work on.
pub const TASK_TITLE: &str = "Prove the lemma";

/// A project ready for the UI: everyone provisioned, one task `ready`.
pub struct UiSetup {
    pub server: TestServer,
    pub pm: TestActor,
    pub fin: TestActor,
    pub submitter: TestActor,
    pub reviewer: TestActor,
    pub auditor: TestActor,
    pub project: Uuid,
    pub guide: Uuid,
    pub task: Uuid,
}

/// Sets up [`UiSetup`] over the API on a server with the pipeline and worker.
pub async fn ready_project(slug: &str) -> UiSetup {
    let server = TestServer::start_with_pipeline().await;
    let pm = manager(&server, MANAGER).await;
    let project = create_project(&server, &pm, slug).await;
    let fin = finance(&server, FINANCE, project).await;
    let adapter = server
        .service_actor(
            &format!("{slug}-adapter"),
            "workstream.payment.local_adapter",
        )
        .await;
    publish_paid_policy(&server, &fin, &adapter, project).await;
    let guide = create_guide(&server, &pm, project, "v1", Some(bundle())).await;
    let answer = activate(&server, &pm, project, guide).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let submitter = server.actor(SUBMITTER).await;
    server
        .grant_project_role(&submitter, project, ProjectRole::Submitter)
        .await;
    let reviewer = server.actor(REVIEWER).await;
    server
        .grant_project_role(&reviewer, project, ProjectRole::Reviewer)
        .await;
    let auditor = server.actor(AUDITOR).await;
    server
        .grant_admin(&auditor, AdminRole::AuditAuthority, Some(project))
        .await;
    let created = post(
        &server,
        &format!("/projects/{project}/tasks"),
        &pm,
        json!({"title": TASK_TITLE, "description": "Write the proof in outputs/final-answer.md and attach the test log.",
               "acceptance_criteria": "A complete, checked proof of the lemma, base case included.",
               "rejection_criteria": "Gaps in the argument.", "difficulty": "medium",
               "skill_tags": ["research", "technical-writing"], "estimated_time_minutes": 30}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let task: Uuid = created.body["task"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    for (action, body) in [
        ("screen", json!({})),
        ("release", json!({"reason": "ready"})),
    ] {
        let answer = post(&server, &format!("/tasks/{task}/{action}"), &pm, body).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
    }
    UiSetup {
        server,
        pm,
        fin,
        submitter,
        reviewer,
        auditor,
        project,
        guide,
        task,
    }
}
