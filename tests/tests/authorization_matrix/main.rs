//! Every route the API mounts x every role x own and foreign project: one table, one
//! row per route, each caller expecting the documented status and code.
//!
//! Fifteen callers, each holding exactly one thing (see [`Who`]): a system access
//! administrator, a system operator, a system project manager, a project manager of P
//! and one of another project Q, a finance and an audit authority of P and of Q, a
//! submitter and a reviewer of P and of Q, a verified human with no grant, and the
//! payment adapter's service actor. Every project-scoped role is thus tried on its own
//! project (P, where the rows act) and on a foreign one (Q): the foreign holder must be
//! answered exactly like a stranger.
//!
//! For every row, every caller outside the row's allowed set is refused first, with the
//! exact status and code the route promises (403 `permission_not_granted` to a caller
//! who may know the resource exists, the concealed 404 `not_found` to anyone else, or a
//! route's own code where it documents one), and the refusals leave no audit event, no
//! job and no stored packet behind. Then the allowed callers succeed: every one of them for a read, the
//! first (or the resource's own holder: a lease's reviewer, a task's assignee) for a
//! mutation. Rows run in order, so a row may rely on an earlier one (suspend before
//! reactivate). Before each row the job queue is drained, so the worker's own audit
//! events (evaluations, deliveries, reputation) are never counted as a refusal's.
//!
//! Before anything runs, the table is compared with the routes the router mounts
//! ([`routes`]): a mounted route without a row, or a row that reaches no mounted route,
//! fails the test.

#[path = "../projects_support/mod.rs"]
mod projects_support;
#[path = "../review_support/mod.rs"]
mod review_support;
mod routes;
mod rows;
mod world;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use projects_support::Answer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_e2e::{TestActor, TestServer};

/// The callers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    AccessAdmin,
    Operator,
    /// A project manager with a system-wide grant (the only one who creates projects).
    SystemManager,
    /// A project manager of P.
    Manager,
    /// A project manager of Q.
    OtherManager,
    Finance,
    ForeignFinance,
    Auditor,
    ForeignAuditor,
    Submitter,
    ForeignSubmitter,
    Reviewer,
    ForeignReviewer,
    Stranger,
    /// The compensation adapter's service actor, bound to P's adapter bindings.
    Adapter,
}

/// Every caller, in the order they are tried.
pub const CALLERS: [Who; 15] = [
    Who::AccessAdmin,
    Who::Operator,
    Who::SystemManager,
    Who::Manager,
    Who::OtherManager,
    Who::Finance,
    Who::ForeignFinance,
    Who::Auditor,
    Who::ForeignAuditor,
    Who::Submitter,
    Who::ForeignSubmitter,
    Who::Reviewer,
    Who::ForeignReviewer,
    Who::Stranger,
    Who::Adapter,
];

/// How a refused caller is answered.
#[derive(Debug, Clone, Copy)]
pub enum Denial {
    /// 403 `permission_not_granted` for everyone (authority administration and system
    /// operations: an outsider learns nothing from it, not even whether an id exists).
    Forbidden,
    /// 403 to a caller who may know the project exists, the concealed 404 to others.
    Visible(&'static [Who]),
    /// The concealed 404 for everyone (finance's routes, another reviewer's lease).
    Concealed,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(Value),
    /// A multipart packet upload: summary, attestation and this ZIP.
    Packet(Vec<u8>),
    /// A multipart checker publication: this component.
    Component(Vec<u8>),
}

/// One route of the table.
pub struct Row {
    pub method: Method,
    pub path: String,
    pub body: Body,
    /// The callers the route serves.
    pub allowed: &'static [Who],
    /// The holder of the row's resource (a lease's reviewer, a task's assignee), not a
    /// matrix caller: when set, they make the successful request.
    pub holder: Option<(&'static str, TestActor)>,
    pub denial: Denial,
    /// Callers answered with a route-specific refusal instead of `denial`'s.
    pub except: Vec<(Who, StatusCode, &'static str)>,
    /// The successful status.
    pub success: StatusCode,
}

impl Row {
    pub fn new(method: Method, path: impl Into<String>) -> Row {
        Row {
            method,
            path: path.into(),
            body: Body::None,
            allowed: &[],
            holder: None,
            denial: Denial::Forbidden,
            except: Vec::new(),
            success: StatusCode::OK,
        }
    }

    pub fn json(mut self, body: Value) -> Row {
        self.body = Body::Json(body);
        self
    }

    pub fn packet(mut self, zip: Vec<u8>) -> Row {
        self.body = Body::Packet(zip);
        self
    }

    pub fn component(mut self, bytes: Vec<u8>) -> Row {
        self.body = Body::Component(bytes);
        self
    }

    pub fn allow(mut self, allowed: &'static [Who]) -> Row {
        self.allowed = allowed;
        self
    }

    pub fn held_by(mut self, label: &'static str, holder: &TestActor) -> Row {
        self.holder = Some((label, holder.clone()));
        self
    }

    pub fn deny(mut self, denial: Denial) -> Row {
        self.denial = denial;
        self
    }

    pub fn except(mut self, who: Who, status: StatusCode, code: &'static str) -> Row {
        self.except.push((who, status, code));
        self
    }

    pub fn answers(mut self, status: StatusCode) -> Row {
        self.success = status;
        self
    }

    /// What `who` must get when refused.
    fn refusal(&self, who: Who) -> (StatusCode, &'static str) {
        if let Some((_, status, code)) = self.except.iter().find(|(w, _, _)| *w == who) {
            return (*status, code);
        }
        match self.denial {
            Denial::Forbidden => (StatusCode::FORBIDDEN, "permission_not_granted"),
            Denial::Visible(sees) if sees.contains(&who) => {
                (StatusCode::FORBIDDEN, "permission_not_granted")
            }
            Denial::Visible(_) | Denial::Concealed => (StatusCode::NOT_FOUND, "not_found"),
        }
    }
}

/// Sends `row`'s request as `who` (a fresh `Idempotency-Key` on every mutation).
async fn send(server: &TestServer, row: &Row, who: &TestActor) -> Answer {
    match &row.body {
        Body::Packet(_) | Body::Component(_) => {
            let form = match &row.body {
                Body::Packet(zip) => world::packet_form(zip.clone()),
                Body::Component(bytes) => reqwest::multipart::Form::new().part(
                    "component",
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name("checker.wasm"),
                ),
                _ => unreachable!(),
            };
            let response = server
                .client
                .request(
                    row.method.clone(),
                    server.url(&format!("/api/v1{}", row.path)),
                )
                .header("authorization", who.auth())
                .header("idempotency-key", Uuid::now_v7().to_string())
                .multipart(form)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let body = response.json().await.unwrap_or(Value::Null);
            Answer {
                status,
                body,
                replayed: false,
            }
        }
        Body::Json(body) => {
            projects_support::send(
                server,
                row.method.clone(),
                &row.path,
                who,
                Some(body.clone()),
                None,
            )
            .await
        }
        Body::None => {
            projects_support::send(server, row.method.clone(), &row.path, who, None, None).await
        }
    }
}

/// What a refusal must not add to: (audit events, jobs, stored packet objects).
async fn counts(server: &TestServer) -> (i64, i64, usize) {
    let (audit, jobs) =
        sqlx::query_as("SELECT (SELECT count(*) FROM audit_events), (SELECT count(*) FROM jobs)")
            .fetch_one(server.database.pool())
            .await
            .unwrap();
    (audit, jobs, files(&server.pipeline_root().join("objects")))
}

fn files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|e| e.unwrap().path())
            .map(|path| if path.is_dir() { files(&path) } else { 1 })
            .sum()
    })
}

/// Waits until the worker has no job left to run (retries included).
async fn drain(server: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE state IN ('available', 'running', 'retryable')",
        )
        .fetch_one(server.database.pool())
        .await
        .unwrap();
        if open == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the job queue never drained");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_every_role_own_and_foreign_project() {
    let world = world::build().await;
    let server = &world.server;
    let rows = rows::table(&world).await;

    // The table covers the router exactly.
    let mounted = routes::mounted();
    let mut covered = BTreeSet::new();
    let mut stray = Vec::new();
    for row in &rows {
        match routes::resolve(&mounted, row.method.as_str(), &row.path) {
            Some(route) => {
                covered.insert(route.clone());
            }
            None => stray.push(format!("{} {}", row.method, row.path)),
        }
    }
    let missing: Vec<String> = mounted
        .difference(&covered)
        .map(|r| r.to_string())
        .collect();
    assert!(
        missing.is_empty() && stray.is_empty(),
        "mounted routes without a row: {missing:#?}\nrows reaching no mounted route: {stray:#?}"
    );
    println!(
        "authorization matrix: {} rows cover {} mounted routes",
        rows.len(),
        mounted.len()
    );

    let mut failures = Vec::new();
    let mut checks = 0;
    for row in &rows {
        drain(server).await;
        let before = counts(server).await;
        for who in CALLERS {
            if row.allowed.contains(&who) {
                continue;
            }
            let (status, code) = row.refusal(who);
            let answer = send(server, row, world.actor(who)).await;
            checks += 1;
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
        let after = counts(server).await;
        if after != before {
            failures.push(format!(
                "{} {}: refusals wrote {} audit events, {} jobs and {} stored objects",
                row.method,
                row.path,
                after.0 - before.0,
                after.1 - before.1,
                after.2 as i64 - before.2 as i64
            ));
        }
        // The successes: every allowed caller of a read, one caller of a mutation.
        let mut performers: Vec<(String, &TestActor)> = match &row.holder {
            Some((label, holder)) => vec![(label.to_string(), holder)],
            None => Vec::new(),
        };
        let reads = row.method == Method::GET;
        for who in row.allowed {
            if reads || performers.is_empty() {
                performers.push((format!("{who:?}"), world.actor(*who)));
            }
        }
        assert!(
            !performers.is_empty(),
            "{} {} has nobody allowed",
            row.method,
            row.path
        );
        for (label, actor) in performers {
            let answer = send(server, row, actor).await;
            checks += 1;
            if answer.status != row.success {
                failures.push(format!(
                    "{label} {} {}: expected {}, got {} {}",
                    row.method,
                    row.path,
                    row.success.as_u16(),
                    answer.status.as_u16(),
                    answer.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checks} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("authorization matrix: {checks} checks passed");

    // `GET /projects` lists exactly what each caller may see.
    let listed = |body: &Value| -> BTreeSet<String> {
        body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (p, q) = (world.p.to_string(), world.q.to_string());
    use Who::*;
    for (who, expected) in [
        (Stranger, BTreeSet::new()),
        (AccessAdmin, BTreeSet::new()),
        (Adapter, BTreeSet::new()),
        (Submitter, [p.clone()].into()),
        (Reviewer, [p.clone()].into()),
        (Finance, [p.clone()].into()),
        (Auditor, [p.clone()].into()),
        (Manager, [p.clone()].into()),
        (OtherManager, [q.clone()].into()),
        (ForeignSubmitter, [q.clone()].into()),
        (ForeignFinance, [q.clone()].into()),
    ] {
        let answer = projects_support::get(server, "/projects", world.actor(who)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(listed(&answer.body), expected, "{who:?}: {}", answer.body);
    }
    let contributor = projects_support::get(server, "/projects", world.actor(Submitter)).await;
    assert_eq!(
        contributor.body["items"][0],
        json!({"id": world.p, "name": "Project matrix-p", "status": "active"}),
        "a contributor sees the minimal view"
    );
    let system = world.actor(SystemManager);
    let everything = projects_support::get(server, "/projects?limit=2", system).await;
    assert_eq!(everything.body["items"].as_array().unwrap().len(), 2);
    let cursor = everything.body["next_cursor"].as_str().unwrap();
    let rest = projects_support::get(
        server,
        &format!("/projects?limit=100&cursor={cursor}"),
        system,
    )
    .await;
    // P, Q, R and the matrix's own S: four projects in two pages.
    assert_eq!(
        rest.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        rest.body
    );
}
