//! Running a task's locked checker policy over one packet.
//!
//! The same code serves both phases (docs/architecture.md): the pre-submit checks in the
//! upload request and the post-submit run in a worker. Given the policy the task locked
//! at screening (every checker pinned to a component digest at guide activation),
//! [`plan`] lists the checkers of a phase in policy order with their rules;
//! [`Checkers::evaluate`] runs each in the sandbox over the packet's verified tree and
//! judges the outcomes with [`workstream_domain::gate`], giving the members (one per
//! checker, in order) and the route.
//!
//! Components are read from the registry (`checker_components`) by digest and kept
//! loaded in memory: loading compiles or fetches native code, and the digest names the
//! bytes exactly, so a loaded component never goes stale. A digest missing from the
//! registry, a component that no longer loads, and a request that cannot be made are
//! each an `implementation_unavailable` member with the reason in its operator detail,
//! never a skipped check and never an error of the whole evaluation: the failure is
//! deterministic, so it is recorded on the first attempt, where a person can see it,
//! instead of being retried. Only the database failing is an error here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use sqlx::PgConnection;
use tokio::sync::Mutex;
use workstream_domain::Digest;
use workstream_domain::ErrorCode;
use workstream_domain::gate::{self, Category, Counts, Member, Outcome, Rule};
use workstream_domain::lifecycle::TaskState;
use workstream_domain::machines::checker_run::RoutingRecommendation;
use workstream_domain::machines::project::GuideStatus;
use workstream_domain::policy::types::{CheckerPhase, CheckerPolicy, Severity};
use workstream_sandbox::{
    CheckOutcome, CheckRequest, FailureCode, FileEntry, LoadedChecker, Phase, PriorFinding,
    RunResult, Sandbox,
};

use crate::CommandError;

/// One checker of a phase, as the locked policy declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCheck {
    /// Position in the policy (0-based), kept in the stored results.
    pub ordinal: u32,
    /// The checker's name.
    pub name: String,
    /// The pinned component.
    pub digest: Digest,
    /// Its configuration (validated against the component's schema at activation).
    pub configuration: Value,
    /// Digest of the canonical configuration, stored with each result.
    pub config_hash: Digest,
    /// Required, severity, category.
    pub rule: Rule,
}

/// The checks of `phase` in `locked` (a task's `locked_checker_policy`), in policy
/// order, and the policy's blocking severities.
pub fn plan(
    locked: &Value,
    phase: Phase,
) -> Result<(Vec<PlannedCheck>, Vec<Severity>), CommandError> {
    let invalid = |why: String| {
        CommandError::new(
            ErrorCode::LockedContextInvalid,
            format!("the task's locked checker policy cannot be run: {why}"),
        )
    };
    let policy: CheckerPolicy =
        serde_json::from_value(locked.clone()).map_err(|e| invalid(e.to_string()))?;
    let mut checks = Vec::new();
    for (ordinal, checker) in policy.checkers.iter().enumerate() {
        let runs_now = matches!(
            (checker.phase, phase),
            (CheckerPhase::Both, _)
                | (CheckerPhase::PreSubmit, Phase::PreSubmit)
                | (CheckerPhase::PostSubmit, Phase::PostSubmit)
        );
        if !runs_now {
            continue;
        }
        let digest = checker
            .digest
            .ok_or_else(|| invalid(format!("`{}` is not pinned to a component", checker.name)))?;
        let configuration = Value::Object(checker.configuration.clone());
        let config_hash = Digest::of_canonical_json(&configuration)
            .map_err(|e| invalid(format!("`{}` configuration: {e}", checker.name)))?;
        checks.push(PlannedCheck {
            ordinal: u32::try_from(ordinal).unwrap_or(u32::MAX),
            name: checker.name.clone(),
            digest,
            configuration,
            config_hash,
            rule: Rule {
                required: checker.blocking,
                severity: checker.severity,
                category: Category::of_checker(&checker.name),
            },
        });
    }
    Ok((checks, policy.blocking_severities))
}

/// The packet as the checkers see it.
#[derive(Debug, Clone)]
pub struct PacketView<'a> {
    /// The verified, extracted tree (mounted read-only at `/packet`).
    pub tree: &'a Path,
    /// The manifest's files, sorted by path.
    pub files: Vec<FileEntry>,
    /// The contributor's summary.
    pub summary: String,
    /// The contributor's attestation.
    pub attestation: String,
    /// The task's acceptance criteria.
    pub acceptance_criteria: String,
    /// The previous version's blocking findings, with the contributor's answers.
    pub prior_findings: Vec<PriorFinding>,
}

/// One checker's run and its judgement.
#[derive(Debug, Clone)]
pub struct MemberResult {
    /// What was planned.
    pub check: PlannedCheck,
    /// The component's version from the registry (`unknown` when it is not registered).
    pub checker_version: String,
    /// What the sandbox recorded.
    pub outcome: CheckOutcome,
    /// The gate's judgement.
    pub member: Member,
}

/// The members of one evaluation, in policy order, and where they send the task.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// One per planned check.
    pub members: Vec<MemberResult>,
    /// The route by the gate's precedence.
    pub route: RoutingRecommendation,
    /// Counts by status.
    pub counts: Counts,
}

/// A pinned component, ready or not.
#[derive(Debug, Clone)]
pub enum Component {
    /// Loaded (compiled, linked), with its registered version.
    Ready(LoadedChecker, String),
    /// Not runnable: its registered version (`unknown` when it is not registered) and
    /// why, for operators.
    Unavailable(String, String),
}

/// The sandbox and the components it has loaded.
pub struct Checkers {
    sandbox: Arc<Sandbox>,
    loaded: Mutex<HashMap<Digest, (LoadedChecker, String)>>,
}

impl Checkers {
    /// Checkers run in `sandbox`.
    pub fn new(sandbox: Arc<Sandbox>) -> Checkers {
        Checkers {
            sandbox,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// The sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Loads every component a job may soon need, so that none is compiled on a job's
    /// path: the components pinned by active guides and by tasks whose work is not
    /// finished. Components that do not load are skipped (their runs will record why).
    /// Returns how many are loaded.
    pub async fn warm(&self, pool: &sqlx::PgPool) -> Result<usize, CommandError> {
        let finished: Vec<&str> = TaskState::ALL
            .iter()
            .filter(|state| state.is_terminal())
            .map(|state| state.as_str())
            .collect();
        let digests = sqlx::query_scalar!(
            r#"SELECT DISTINCT c ->> 'digest' AS "digest!" FROM (
                 SELECT policy_bundle -> 'checker_policy' -> 'checkers' AS checkers
                   FROM project_guides WHERE status = $1
                 UNION ALL
                 SELECT locked_checker_policy -> 'checkers' FROM tasks
                   WHERE locked_checker_policy IS NOT NULL AND status <> ALL($2)
               ) pinned, jsonb_array_elements(pinned.checkers) c
               WHERE c ->> 'digest' IS NOT NULL"#,
            GuideStatus::Active.as_str(),
            &finished as &[&str],
        )
        .fetch_all(pool)
        .await?;
        let mut loaded = 0;
        let mut conn = pool.acquire().await?;
        for digest in digests {
            let Ok(digest) = digest.parse::<Digest>() else {
                continue;
            };
            if let Component::Ready(..) = self.component(&mut conn, &digest).await? {
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    /// The component of `digest` ready to run, or why it is not. `Err` only when the
    /// registry cannot be read. A component that fails to load is not remembered: the
    /// next evaluation tries again (the cause may have been this host's resources).
    pub async fn component(
        &self,
        conn: &mut PgConnection,
        digest: &Digest,
    ) -> Result<Component, CommandError> {
        if let Some((loaded, version)) = self.loaded.lock().await.get(digest) {
            return Ok(Component::Ready(loaded.clone(), version.clone()));
        }
        let row = sqlx::query!(
            "SELECT wasm_bytes, version FROM checker_components WHERE digest = $1",
            digest.to_string(),
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some((bytes, version)) = row.map(|row| (row.wasm_bytes, row.version)) else {
            return Ok(Component::Unavailable(
                "unknown".to_owned(),
                format!("no registered component has digest {digest}"),
            ));
        };
        let Some(bytes) = bytes else {
            return Ok(Component::Unavailable(
                version,
                format!("the bytes of component {digest} are not stored in the registry"),
            ));
        };
        let sandbox = Arc::clone(&self.sandbox);
        let loaded = match tokio::task::spawn_blocking(move || sandbox.load(&bytes)).await {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(error)) => {
                return Ok(Component::Unavailable(
                    version,
                    format!("the component does not load ({}): {error}", error.code()),
                ));
            }
            Err(panicked) => {
                return Ok(Component::Unavailable(
                    version,
                    format!("loading the component failed: {panicked}"),
                ));
            }
        };
        self.loaded
            .lock()
            .await
            .insert(*digest, (loaded.clone(), version.clone()));
        Ok(Component::Ready(loaded, version))
    }

    /// Runs `checks` in order over `packet` and judges them.
    pub async fn evaluate(
        &self,
        conn: &mut PgConnection,
        checks: &[PlannedCheck],
        blocking_severities: &[Severity],
        phase: Phase,
        packet: &PacketView<'_>,
    ) -> Result<Evaluation, CommandError> {
        let mut members = Vec::with_capacity(checks.len());
        for check in checks {
            let request = CheckRequest {
                phase,
                manifest: packet.files.clone(),
                summary: packet.summary.clone(),
                attestation: packet.attestation.clone(),
                acceptance_criteria: packet.acceptance_criteria.clone(),
                configuration: check.configuration.clone(),
                prior_findings: packet.prior_findings.clone(),
            };
            let (outcome, checker_version) = match self.component(conn, &check.digest).await? {
                Component::Ready(loaded, version) => {
                    match self
                        .sandbox
                        .run(&loaded, request.clone(), packet.tree)
                        .await
                    {
                        Ok(outcome) => (outcome, version),
                        Err(unrepresentable) => (
                            self.unavailable(&request, check, unrepresentable.to_string()),
                            version,
                        ),
                    }
                }
                Component::Unavailable(version, detail) => {
                    (self.unavailable(&request, check, detail), version)
                }
            };
            let judged = match &outcome.result {
                RunResult::Completed { verdict, .. } => Outcome::Completed(*verdict),
                RunResult::InfrastructureFailed { .. } => Outcome::Errored,
            };
            members.push(MemberResult {
                check: check.clone(),
                checker_version,
                member: gate::judge(judged, check.rule, blocking_severities),
                outcome,
            });
        }
        let judged: Vec<Member> = members.iter().map(|m| m.member).collect();
        Ok(Evaluation {
            route: gate::route(&judged),
            counts: gate::counts(&judged),
            members,
        })
    }

    /// The outcome of a check that could not run: `implementation_unavailable` with
    /// `detail`. A request that has no digest (a configuration that is not canonical
    /// JSON) is named by a fixed marker instead, so the failure is still recorded.
    fn unavailable(
        &self,
        request: &CheckRequest,
        check: &PlannedCheck,
        detail: String,
    ) -> CheckOutcome {
        let request_digest = request
            .digest(&check.digest)
            .unwrap_or_else(|_| Digest::of_bytes(b"workstream.check_request.unrepresentable"));
        CheckOutcome::unavailable(
            request_digest,
            check.digest,
            FailureCode::ImplementationUnavailable,
            detail,
            self.sandbox.config().limits.clone(),
        )
    }
}
