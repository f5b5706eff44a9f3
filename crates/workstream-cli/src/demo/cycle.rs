//! The steps of the demo's day-30 cycle (see the parent module), each one HTTP call or
//! a few, printed with the state it leaves.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;
use workstream_api::auth::SubjectKind;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::{FindingKind, ResolutionResult, ReviewDecision, TaskState};
use workstream_domain::machines::compensation::{DeliveryStatus, FulfilmentStatus};

use super::subject;
use super::summary::{self, Summary};
use crate::client::{Client, Keys, Upload};
use crate::fixes::CliError;
use crate::packet;
use crate::people::{self, Minter, Person};
use crate::progress::{self, Output};
use crate::project::Project;
use crate::project::import;

/// What a run is called and who it signs in as.
pub struct Settings {
    /// The run id.
    pub run: String,
    /// The local administrator's subject.
    pub admin_subject: String,
    /// The local payment adapter's subject.
    pub adapter_subject: String,
}

/// The steps, in order (the progress bar counts them).
const STEPS: [&str; 15] = [
    "sign in: administrator, manager, finance, payment adapter, submitter, reviewer",
    "setup: project, finance terms, guide activated with the example's policies, tasks screened and released",
    "claim: the submitter takes two ready tasks",
    "pre-submit: a packet without outputs/final-answer.md is refused",
    "submit: version 1 of the retry-policy page",
    "post-submit checkers on version 1",
    "review 1: needs_revision with findings",
    "revision: version 2 answers the blocking finding",
    "review 2: accept",
    "second task: submitted, checked, rejected",
    "awards delivered through the local payment adapter",
    "awards fulfilled: the adapter reports them paid; finance reconciles",
    "reputation updated from the three reviews",
    "lesson recorded and implemented in the guide",
    "evaluation sprint report",
];

/// How long a step waits for the server's job worker.
const JOB_WAIT: Duration = Duration::from_secs(180);

/// The summary and attestation every packet of the demo carries. The attestation
/// covers what the platform's confidentiality checker looks for.
const ATTESTATION: &str = "The packet holds no client data, nothing confidential or private, \
    no credentials or secret tokens, and no copied source material.";

struct Cycle<'a> {
    client: &'a Client,
    out: Output,
    keys: Keys,
    run: String,
    step: usize,
    scratch: tempfile::TempDir,
    project_dir: &'a Path,
}

/// Runs every step and reads back the summary.
pub async fn run(
    client: &Client,
    minter: &Minter,
    project: &Project,
    settings: &Settings,
    mut out: Output,
) -> Result<Summary, CliError> {
    out.set_bar(progress::steps(STEPS.len() as u64, "demo"));
    let mut client = client.clone();
    client.set_progress(out.bar().clone());
    let mut cycle = Cycle {
        client: &client,
        out,
        keys: Keys::new(format!("demo {}", settings.run)),
        run: settings.run.clone(),
        step: 0,
        scratch: tempfile::Builder::new()
            .prefix("workstream-demo-packets")
            .tempdir()
            .map_err(|e| CliError::new("io_error", e.to_string()))?,
        project_dir: &project.root,
    };
    let result = cycle.all(minter, project, settings).await;
    cycle.out.finish();
    result
}

/// The people of one run.
struct People {
    manager: Person,
    finance: Person,
    adapter: Person,
    submitter: Person,
    reviewer: Person,
}

/// What the setup step made: the imported project (with at least two tasks) and its
/// API path.
struct Setup {
    imported: import::Imported,
    /// `/projects/{id}`.
    base: String,
}

impl Setup {
    /// The two tasks the cycle works on.
    fn pair(&self) -> (&import::ImportedTask, &import::ImportedTask) {
        (&self.imported.tasks[0], &self.imported.tasks[1])
    }
}

impl Cycle<'_> {
    /// Starts the next step: prints its title, moves the bar.
    fn begin(&mut self) {
        let title = STEPS[self.step];
        self.step += 1;
        self.out.bar().set_position(self.step as u64 - 1);
        self.out.bar().set_message(title);
        self.out
            .line(format!("[{:>2}/{}] {title}", self.step, STEPS.len()));
    }

    /// A line of the current step's resulting state.
    fn state(&self, line: impl AsRef<str>) {
        self.out.line(format!("        {}", line.as_ref()));
    }

    fn key(&self, item: &str) -> Uuid {
        self.keys.key(item)
    }

    async fn post(
        &self,
        who: &Person,
        path: &str,
        body: Value,
        item: &str,
    ) -> Result<Value, CliError> {
        self.client
            .post(&who.token, path, &body, self.key(item))
            .await
    }

    async fn get(&self, who: &Person, path: &str) -> Result<Value, CliError> {
        self.client.get(&who.token, path).await
    }

    /// Polls `probe` until it answers `Some`, or fails with `demo_timeout`.
    async fn until<T, F, Fut>(&self, what: &str, mut probe: F) -> Result<T, CliError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, CliError>>,
    {
        let started = Instant::now();
        loop {
            if let Some(value) = probe().await? {
                return Ok(value);
            }
            if started.elapsed() > JOB_WAIT {
                return Err(CliError::new(
                    "demo_timeout",
                    format!("waited {}s for {what}", JOB_WAIT.as_secs()),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the worker has routed `task` out of `evaluation_pending`.
    async fn evaluated(
        &self,
        manager: &Person,
        project: Uuid,
        task: Uuid,
    ) -> Result<String, CliError> {
        let path = format!("/projects/{project}/tasks/{task}");
        self.until("the post-submit checkers", || async {
            let view = self.get(manager, &path).await?;
            let status = view["task"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let checking = [TaskState::Submitted, TaskState::EvaluationPending];
            Ok((!checking.iter().any(|state| status == state.as_str())).then_some(status))
        })
        .await
    }

    /// Writes a packet directory from the example's `packet/`, changed by `edit`, and
    /// zips it.
    fn packet(&self, name: &str, edit: impl FnOnce(&Path)) -> Result<std::path::PathBuf, CliError> {
        let io = |e: std::io::Error| CliError::new("io_error", e.to_string());
        let dir = self.scratch.path().join(name);
        copy_dir(&self.project_dir.join(crate::project::PACKET_DIR), &dir).map_err(io)?;
        edit(&dir);
        let zip = self.scratch.path().join(format!("{name}.zip"));
        packet::build(&dir, &zip).map_err(|e| match e.downcast::<CliError>() {
            Ok(cli) => cli,
            Err(other) => CliError::new("io_error", format!("{other:#}")),
        })?;
        Ok(zip)
    }

    async fn upload(
        &mut self,
        who: &Person,
        task: Uuid,
        zip: &Path,
        summary: &str,
        item: &str,
    ) -> Result<Value, CliError> {
        let upload = Upload {
            task,
            summary,
            attestation: ATTESTATION,
            zip,
        };
        // The step bar stays; the upload shows as the bar's message.
        self.out.bar().set_message(format!(
            "{} (uploading {})",
            STEPS[self.step - 1],
            file_name(zip)
        ));
        let hidden = indicatif::ProgressBar::hidden();
        let answer = self
            .client
            .upload(&who.token, &upload, self.key(item), &hidden)
            .await;
        self.out.bar().set_message(STEPS[self.step - 1]);
        answer
    }

    /// The steps of the cycle, in the order of [`STEPS`], then the summary.
    async fn all(
        &mut self,
        minter: &Minter,
        project: &Project,
        settings: &Settings,
    ) -> Result<Summary, CliError> {
        let p = self.sign_in(minter, settings).await?;
        let setup = self.set_up(&p, project).await?;
        self.claim(&p, &setup).await?;
        self.refused_packet(&p, &setup).await?;
        self.first_version(&p, &setup).await?;
        self.post_submit_checks(&p, &setup).await?;
        let finding = self.first_review(&p).await?;
        self.revision(&p, &setup, finding).await?;
        self.acceptance(&p, finding).await?;
        self.rejection(&p, &setup).await?;
        let awards = self.delivery(&p, &setup).await?;
        self.fulfilment(&p, &setup, &awards).await?;
        self.reputation(&p, &setup).await?;
        self.lesson(&p, &setup, finding).await?;
        let report = self.sprint_report(&p, &setup).await?;
        self.out.bar().set_position(STEPS.len() as u64);
        self.out.bar().set_message("reading the summary");

        summary::read(
            self.client,
            &summary::Readers {
                manager: &p.manager,
                finance: &p.finance,
            },
            &self.run,
            &setup.imported,
            &[("submitter", &p.submitter), ("reviewer", &p.reviewer)],
            report,
        )
        .await
    }

    /// Step 1: signs in every person of the run.
    async fn sign_in(&mut self, minter: &Minter, settings: &Settings) -> Result<People, CliError> {
        self.begin();
        let admin = people::administrator(self.client, minter, &settings.admin_subject).await?;
        let crew = people::crew(
            self.client,
            minter,
            &admin,
            [
                &subject(&self.run, "manager"),
                &subject(&self.run, "finance"),
                &settings.adapter_subject,
            ],
            &self.keys,
        )
        .await?;
        let submitter = people::person(
            self.client,
            minter,
            &subject(&self.run, "submitter"),
            SubjectKind::Human,
        )
        .await?;
        let reviewer = people::person(
            self.client,
            minter,
            &subject(&self.run, "reviewer"),
            SubjectKind::Human,
        )
        .await?;
        let p = People {
            manager: crew.manager,
            finance: crew.finance,
            adapter: crew.adapter,
            submitter,
            reviewer,
        };
        self.state(format!(
            "{} access administrator; {} project_manager; {} finance_authority; {} payment adapter (service)",
            admin.subject, p.manager.subject, p.finance.subject, p.adapter.subject
        ));
        self.state(format!(
            "{} and {} signed in (profiles made by their first request)",
            p.submitter.subject, p.reviewer.subject
        ));
        Ok(p)
    }

    /// Step 2: imports the example project and grants the contributor roles.
    async fn set_up(&mut self, p: &People, project: &Project) -> Result<Setup, CliError> {
        self.begin();
        let actors = import::Actors {
            manager: &p.manager.token,
            finance: &p.finance.token,
            adapter: p.adapter.id,
        };
        let options = import::Options {
            slug: Some(format!("{}-{}", project.project.slug, self.run)),
            name_suffix: format!(" ({})", self.run),
            release: true,
            keys: self.keys.clone(),
        };
        // The importer's own lines and bar stay quiet: this step reports its outcome.
        let imported = import::import(
            self.client,
            &actors,
            project,
            &options,
            &mut Output::quiet(),
        )
        .await?;
        let base = format!("/projects/{}", imported.project);
        for (who, role) in [(&p.submitter, "submitter"), (&p.reviewer, "reviewer")] {
            self.post(
                &p.manager,
                &format!("{base}/role-grants"),
                json!({ "target_actor_profile_id": who.id, "role": role, "qualification": {},
                        "reason": "demo contributor" }),
                &format!("grant {role}"),
            )
            .await?;
        }
        self.state(format!(
            "project {} active, guide {} active ({}), terms published ({} rules)",
            imported.slug,
            project.project.guide.version,
            imported.guide,
            project.contribution.rules.len()
        ));
        for task in &imported.tasks {
            self.state(format!(
                "task {:?} ({}) {}",
                task.title, task.origin, task.status
            ));
        }
        self.state(format!(
            "{} is submitter and {} reviewer on the project",
            p.submitter.subject, p.reviewer.subject
        ));
        if imported.tasks.len() < 2 {
            return Err(CliError::new(
                "demo_project_unusable",
                "the demo needs a project with at least two tasks",
            ));
        }
        Ok(Setup { imported, base })
    }

    /// Step 3: reads the ready queue and the submission requirements, then claims and
    /// starts both tasks.
    async fn claim(&mut self, p: &People, setup: &Setup) -> Result<(), CliError> {
        let (a, b) = setup.pair();
        let (task_a, task_b) = (a.id, b.id);
        let base = &setup.base;
        self.begin();
        let ready = self
            .get(&p.submitter, &format!("{base}/tasks/ready"))
            .await?;
        let items = ready["items"].as_array().cloned().unwrap_or_default();
        let terms = items
            .first()
            .map(|t| compensation_text(&t["compensation"]["accepted_submission"]))
            .unwrap_or_default();
        self.state(format!(
            "ready queue: {} tasks, each paying {terms} on acceptance",
            items.len()
        ));
        let requirements = self
            .get(
                &p.submitter,
                &format!("/tasks/{task_a}/submission-requirements"),
            )
            .await?;
        let required: Vec<String> = requirements
            .pointer("/artifact_policy/required_artifacts")
            .or_else(|| requirements.get("required_artifacts"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|a| a["path"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !required.is_empty() {
            self.state(format!("a packet must hold: {}", required.join(", ")));
        }
        for (task, title) in [(task_a, &a.title), (task_b, &b.title)] {
            self.post(
                &p.submitter,
                &format!("/tasks/{task}/claim"),
                json!({}),
                &format!("claim {task}"),
            )
            .await?;
            let started = self
                .post(
                    &p.submitter,
                    &format!("/tasks/{task}/start"),
                    json!({}),
                    &format!("start {task}"),
                )
                .await?;
            self.state(format!(
                "{title:?}: {}",
                started["task"]["status"]
                    .as_str()
                    .or(started["status"].as_str())
                    .unwrap_or("?")
            ));
        }
        Ok(())
    }

    /// Step 4: uploads a packet the pre-submit checkers refuse.
    async fn refused_packet(&mut self, p: &People, setup: &Setup) -> Result<(), CliError> {
        let task_a = setup.pair().0.id;
        self.begin();
        let bad = self.packet("v1-misnamed", |dir| {
            let _ = std::fs::rename(
                dir.join("outputs/final-answer.md"),
                dir.join("outputs/answer.md"),
            );
        })?;
        match self
            .upload(
                &p.submitter,
                task_a,
                &bad,
                "First draft of the retry policy page.",
                "upload bad",
            )
            .await
        {
            Err(err) if err.is(ErrorCode::PreSubmissionCheckerFailed) => {
                self.state(format!("refused: {}", err.code));
                for line in packet::report_lines(&err.details)
                    .into_iter()
                    .filter(|l| !l.trim_end().ends_with("passed"))
                {
                    self.state(line.trim_start());
                }
                self.state("nothing was stored; the task stays in_progress");
            }
            Err(err) => return Err(err),
            Ok(answer) => {
                return Err(CliError::new(
                    "demo_unexpected",
                    format!("the misnamed packet was admitted: {answer}"),
                ));
            }
        }
        Ok(())
    }

    /// Step 5: uploads and submits version 1.
    async fn first_version(&mut self, p: &People, setup: &Setup) -> Result<(), CliError> {
        let task_a = setup.pair().0.id;
        self.begin();
        let v1 = self.packet("v1", |_| {})?;
        let admitted = self
            .upload(
                &p.submitter,
                task_a,
                &v1,
                "Documented the retry settings with defaults and examples.",
                "upload v1",
            )
            .await?;
        self.state(format!(
            "admitted: {} files, pre-submit {}",
            admitted["file_count"],
            admitted["pre_submit"]["route"].as_str().unwrap_or("?")
        ));
        let submitted = self
            .post(
                &p.submitter,
                &format!("/tasks/{task_a}/submissions"),
                json!({ "admission_id": admitted["admission_id"] }),
                "submit v1",
            )
            .await?;
        self.state(format!(
            "submission version {}, task {}",
            submitted["submission"]["version"],
            submitted["task"]["status"].as_str().unwrap_or("?")
        ));
        Ok(())
    }

    /// Step 6: waits for the post-submit checkers of version 1.
    async fn post_submit_checks(&mut self, p: &People, setup: &Setup) -> Result<(), CliError> {
        let task_a = setup.pair().0.id;
        let imported = &setup.imported;
        self.begin();
        let status = self.evaluated(&p.manager, imported.project, task_a).await?;
        self.checker_state(&p.manager, task_a).await?;
        self.state(format!("task {status}"));
        Ok(())
    }

    /// Step 7: the first review asks for a revision with a blocking finding.
    async fn first_review(&mut self, p: &People) -> Result<Uuid, CliError> {
        self.begin();
        let offer = self.get(&p.reviewer, "/reviews/current").await?;
        let lease = self
            .post(
                &p.reviewer,
                "/reviews/claim",
                json!({ "queue_entry_id": offer["offer"]["queue_entry_id"] }),
                "claim review 1",
            )
            .await?;
        let lease_id = people::id(&lease, "/lease/id")?;
        let packet_view = self
            .get(&p.reviewer, &format!("/reviews/leases/{lease_id}"))
            .await?;
        self.state(format!(
            "lease {lease_id}: {} files in the review packet",
            packet_view["files"].as_array().map_or(0, Vec::len)
        ));
        let decided = self
            .post(
                &p.reviewer,
                &format!("/reviews/leases/{lease_id}/decision"),
                json!({
                    "decision": ReviewDecision::NeedsRevision,
                    "summary": "max_backoff is missing.",
                    "findings": [
                        { "kind": FindingKind::Blocking, "area": "coverage", "issue": "max_backoff has no entry.",
                          "rationale": "The acceptance criteria ask for every retry setting with its default and an example.",
                          "required_fix": "Add max_backoff with its default and an example.",
                          "evidence_ref": { "path": "outputs/final-answer.md", "line": 3 } },
                        { "kind": FindingKind::Advisory, "area": "style", "issue": "Link each default to its source line." }
                    ]
                }),
                "decide review 1",
            )
            .await?;
        let finding = people::id(&decided, "/review/findings/0/id")?;
        self.state(format!(
            "review {}: needs_revision, findings: 1 blocking (coverage), 1 advisory (style)",
            decided["review"]["id"].as_str().unwrap_or("?")
        ));
        self.state(format!(
            "task {}; the reviewer's completed_review is recorded",
            decided["task"]["status"].as_str().unwrap_or("?")
        ));
        Ok(finding)
    }

    /// Step 8: version 2 answers the blocking finding.
    async fn revision(&mut self, p: &People, setup: &Setup, finding: Uuid) -> Result<(), CliError> {
        let task_a = setup.pair().0.id;
        let imported = &setup.imported;
        self.begin();
        let context = self
            .get(&p.submitter, &format!("/tasks/{task_a}/revision-context"))
            .await?;
        self.state(format!(
            "revision context: {} open finding(s) to answer",
            context["responses_required_for"]
                .as_array()
                .map_or(0, Vec::len)
        ));
        let v2 = self.packet("v2", |dir| {
            let path = dir.join("outputs/final-answer.md");
            if let Ok(mut text) = std::fs::read_to_string(&path) {
                text.push_str("- `max_backoff` (default 30s): the longest wait between attempts. Example: `max_backoff = 10s`.\n");
                let _ = std::fs::write(&path, text);
            }
        })?;
        let admitted = self
            .upload(
                &p.submitter,
                task_a,
                &v2,
                "Added max_backoff with its default and an example.",
                "upload v2",
            )
            .await?;
        let submitted = self
            .post(
                &p.submitter,
                &format!("/tasks/{task_a}/submissions"),
                json!({
                    "admission_id": admitted["admission_id"],
                    "preparation_id": context["preparation"]["id"],
                    "preparation_digest": context["preparation"]["context_digest"],
                    "responses": [{ "finding_id": finding,
                                    "response_text": "Added max_backoff with its default and an example (last line)." }]
                }),
                "submit v2",
            )
            .await?;
        self.state(format!(
            "submission version {} answers the blocking finding",
            submitted["submission"]["version"]
        ));
        let status = self.evaluated(&p.manager, imported.project, task_a).await?;
        self.checker_state(&p.manager, task_a).await?;
        self.state(format!("task {status}"));
        Ok(())
    }

    /// Step 9: the second review accepts and resolves the finding.
    async fn acceptance(&mut self, p: &People, finding: Uuid) -> Result<(), CliError> {
        self.begin();
        let lease = self
            .post(&p.reviewer, "/reviews/claim", json!({}), "claim review 2")
            .await?;
        let lease_id = people::id(&lease, "/lease/id")?;
        let decided = self
            .post(
                &p.reviewer,
                &format!("/reviews/leases/{lease_id}/decision"),
                json!({
                    "decision": ReviewDecision::Accept,
                    "summary": "Every retry setting has its default and an example.",
                    "acceptance_evidence_refs": [{ "path": "outputs/final-answer.md", "line": 7,
                                                   "note": "max_backoff" }],
                    "resolutions": [{ "finding_id": finding, "result": ResolutionResult::Resolved,
                                      "rationale": "max_backoff is documented with an example." }]
                }),
                "decide review 2",
            )
            .await?;
        self.state(format!(
            "review {}: accept, the finding resolved; task {}",
            decided["review"]["id"].as_str().unwrap_or("?"),
            decided["task"]["status"].as_str().unwrap_or("?")
        ));
        for contribution in decided["contributions"].as_array().into_iter().flatten() {
            self.state(format!(
                "contribution {}: {}",
                contribution["contribution_type"].as_str().unwrap_or("?"),
                contribution_awards(&contribution["awards"])
            ));
        }
        Ok(())
    }

    /// Step 10: the second task is submitted, checked and rejected.
    async fn rejection(&mut self, p: &People, setup: &Setup) -> Result<(), CliError> {
        let (_, b) = setup.pair();
        let task_b = b.id;
        let imported = &setup.imported;
        self.begin();
        let copied = self.packet("timeouts", |dir| {
            let _ = std::fs::write(
                dir.join("outputs/final-answer.md"),
                "# Timeouts\n\nConnect and read timeouts, as the vendor manual puts it:\n\n\
                 - connect_timeout: see the vendor manual, section 4.2.\n\
                 - read_timeout: see the vendor manual, section 4.3.\n",
            );
        })?;
        let admitted = self
            .upload(
                &p.submitter,
                task_b,
                &copied,
                "Documented the timeouts.",
                "upload b",
            )
            .await?;
        self.post(
            &p.submitter,
            &format!("/tasks/{task_b}/submissions"),
            json!({ "admission_id": admitted["admission_id"] }),
            "submit b",
        )
        .await?;
        let status = self.evaluated(&p.manager, imported.project, task_b).await?;
        self.state(format!("{:?}: checked, {status}", b.title));
        let lease = self
            .post(&p.reviewer, "/reviews/claim", json!({}), "claim review 3")
            .await?;
        let lease_id = people::id(&lease, "/lease/id")?;
        let decided = self
            .post(
                &p.reviewer,
                &format!("/reviews/leases/{lease_id}/decision"),
                json!({
                    "decision": ReviewDecision::Reject,
                    "summary": "The page points to the vendor manual instead of documenting the settings.",
                    "reject_reason": "No default or example is given; the text defers to copied vendor documentation, which the guide rejects."
                }),
                "decide review 3",
            )
            .await?;
        self.state(format!(
            "review {}: reject; task {} (terminal, no submitter award)",
            decided["review"]["id"].as_str().unwrap_or("?"),
            decided["task"]["status"].as_str().unwrap_or("?")
        ));
        Ok(())
    }

    /// Step 11: waits until the adapter has every award.
    async fn delivery(&mut self, p: &People, setup: &Setup) -> Result<Vec<Value>, CliError> {
        let base = &setup.base;
        self.begin();
        let awards_path = format!("{base}/compensation/awards");
        let awards = self
            .until("the award deliveries", || async {
                let awards = self.get(&p.finance, &awards_path).await?;
                let items = awards["items"].as_array().cloned().unwrap_or_default();
                let delivered = !items.is_empty()
                    && items.iter().all(|a| {
                        a["projection"]["delivery_status"]
                            == DeliveryStatus::AcknowledgedByAdapter.as_str()
                    });
                Ok(delivered.then_some(items))
            })
            .await?;
        for award in &awards {
            self.state(award_line(award));
        }
        Ok(awards)
    }

    /// Step 12: the adapter reports the awards paid; finance reconciles.
    async fn fulfilment(
        &mut self,
        p: &People,
        setup: &Setup,
        awards: &[Value],
    ) -> Result<(), CliError> {
        let base = &setup.base;
        self.begin();
        let awards_path = format!("{base}/compensation/awards");
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for (i, award) in awards.iter().enumerate() {
            let award_id = award["id"].as_str().unwrap_or_default();
            self.post(
                &p.adapter,
                "/compensation/fulfillment-reports",
                json!({ "external_event_id": format!("demo-{}-payment-{i}", self.run),
                        "award_id": award_id, "status": FulfilmentStatus::Fulfilled,
                        "fulfilled_quantity": award["quantity"],
                        "external_reference": format!("demo-transfer-{}-{i}", self.run),
                        "fulfilled_at": now, "reported_at": now }),
                &format!("fulfil {award_id}"),
            )
            .await?;
        }
        let awards = self.get(&p.finance, &awards_path).await?;
        for award in awards["items"].as_array().into_iter().flatten() {
            self.state(award_line(award));
        }
        let report = self
            .get(&p.finance, &format!("{base}/compensation/reconciliation"))
            .await?;
        self.state(format!(
            "reconciliation: {} finding(s)",
            report["findings"].as_array().map_or(0, Vec::len)
        ));
        Ok(())
    }

    /// Step 13: waits for the reputation events of the three reviews.
    async fn reputation(&mut self, p: &People, setup: &Setup) -> Result<(), CliError> {
        let (task_a, task_b) = (setup.pair().0.id, setup.pair().1.id);
        let base = &setup.base;
        self.begin();
        let reviews: Vec<String> = {
            let mut ids = Vec::new();
            for task in [task_a, task_b] {
                let list = self
                    .get(&p.manager, &format!("/tasks/{task}/reviews"))
                    .await?;
                ids.extend(
                    list["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r["id"].as_str().map(str::to_owned)),
                );
            }
            ids
        };
        for who in [&p.submitter, &p.reviewer] {
            let path = format!("{base}/contributors/{}/reputation", who.id);
            let scores = self
                .until("the reputation updates", || async {
                    let view = self.get(&p.manager, &path).await?;
                    let seen: Vec<&str> = view["events"]["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e["review_id"].as_str())
                        .collect();
                    let done = reviews.iter().all(|r| seen.contains(&r.as_str()));
                    Ok(done.then(|| view["scores"].clone()))
                })
                .await?;
            for score in scores.as_array().into_iter().flatten() {
                self.state(format!(
                    "{} as {} [{}]: score {}",
                    who.subject,
                    score["role"].as_str().unwrap_or("?"),
                    score["skill_tag"].as_str().unwrap_or("?"),
                    score["score"].as_str().unwrap_or("?")
                ));
            }
        }
        Ok(())
    }

    /// Step 14: records a lesson from the finding and implements it in the guide.
    async fn lesson(&mut self, p: &People, setup: &Setup, finding: Uuid) -> Result<(), CliError> {
        let imported = &setup.imported;
        let base = &setup.base;
        self.begin();
        let lesson = self
            .post(
                &p.manager,
                &format!("{base}/lessons"),
                json!({ "source": "reviewer_finding", "source_entity_id": finding,
                        "lesson_type": "guide_update",
                        "summary": "Pages miss settings that have no default in the task description.",
                        "recommended_change": "The guide lists every setting a page must cover." }),
                "lesson",
            )
            .await?;
        let lesson_id = people::id(&lesson, "/id")?;
        self.post(
            &p.manager,
            &format!("{base}/lessons/{lesson_id}/accept"),
            json!({}),
            "lesson accept",
        )
        .await?;
        let implemented = self
            .post(
                &p.manager,
                &format!("{base}/lessons/{lesson_id}/implement"),
                json!({ "guide_id": imported.guide, "note": "The guide's acceptance standard names every setting." }),
                "lesson implement",
            )
            .await?;
        self.state(format!(
            "lesson {lesson_id} ({}): {}",
            implemented["lesson_type"]
                .as_str()
                .unwrap_or("guide_update"),
            implemented["status"].as_str().unwrap_or("?")
        ));
        Ok(())
    }

    /// Step 15: reports the evaluation sprint.
    async fn sprint_report(&mut self, p: &People, setup: &Setup) -> Result<Value, CliError> {
        let imported = &setup.imported;
        let base = &setup.base;
        self.begin();
        let now = chrono::Utc::now();
        let sprint = self
            .post(
                &p.manager,
                &format!("{base}/sprints"),
                json!({ "name": format!("demo {}", self.run),
                        "description": "The demo's day-30 cycle.",
                        "starts_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                        "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
                        "task_ids": imported.tasks.iter().map(|t| t.id).collect::<Vec<_>>() }),
                "sprint",
            )
            .await?;
        let sprint_id = people::id(&sprint, "/id")?;
        let reported = self
            .post(
                &p.manager,
                &format!("{base}/sprints/{sprint_id}/report"),
                json!({}),
                "sprint report",
            )
            .await?;
        let report = &reported["report"];
        self.state(format!(
            "{} tasks {}; {} reviews (acceptance {}, revision {}, rejection {})",
            report["tasks"]["total"],
            report["tasks"]["by_status"],
            report["reviews"]["total"],
            report["reviews"]["acceptance_rate"],
            report["reviews"]["revision_rate"],
            report["reviews"]["rejection_rate"]
        ));
        Ok(report.clone())
    }

    /// Prints the latest checker run of `task` (route and the checkers that did not pass).
    async fn checker_state(&self, manager: &Person, task: Uuid) -> Result<(), CliError> {
        let runs = self
            .get(manager, &format!("/tasks/{task}/checker-runs"))
            .await?;
        if let Some(run) = runs["items"].as_array().and_then(|r| r.last()) {
            let results = run["results"].as_array().cloned().unwrap_or_default();
            let passed = results.iter().filter(|r| r["status"] == "passed").count();
            self.state(format!(
                "checker run (version {}): {}, route {}; {passed}/{} checkers passed",
                run["submission_version"],
                run["status"].as_str().unwrap_or("?"),
                run["route"].as_str().unwrap_or("?"),
                results.len()
            ));
            for r in results.iter().filter(|r| r["status"] != "passed") {
                self.state(format!(
                    "  {} {} ({} findings)",
                    r["checker"].as_str().unwrap_or("?"),
                    r["status"].as_str().unwrap_or("?"),
                    r["findings"].as_array().map_or(0, Vec::len)
                ));
            }
        }
        Ok(())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `12.5 USD + 10 pts` from `[{instrument, unit, quantity}]`.
fn compensation_text(terms: &Value) -> String {
    let parts: Vec<String> = terms
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            format!(
                "{} {}",
                t["quantity"].as_str().unwrap_or("?"),
                t["unit"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(" + ")
    }
}

fn contribution_awards(awards: &Value) -> String {
    let parts: Vec<String> = awards
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            format!(
                "{} {}",
                a["quantity"].as_str().unwrap_or("?"),
                a["unit_code"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if parts.is_empty() {
        "unpaid".into()
    } else {
        format!("award {}", parts.join(" + "))
    }
}

fn award_line(award: &Value) -> String {
    format!(
        "award {} {} for {}: {}, {}",
        award["quantity"].as_str().unwrap_or("?"),
        award["unit_code"].as_str().unwrap_or("?"),
        award["contribution_type"].as_str().unwrap_or("?"),
        award["projection"]["delivery_status"]
            .as_str()
            .unwrap_or("?"),
        award["projection"]["fulfillment_status"]
            .as_str()
            .unwrap_or("?")
    )
}
