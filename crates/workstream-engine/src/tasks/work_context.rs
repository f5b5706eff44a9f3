//! "What can I do next on this task?": the caller's work context.
//!
//! One read answers it for every role: the task's state, the caller's roles on its
//! project and relation to the task (assignee, holder of its review lease), the latest
//! submitted version with its evaluation route, and `next_actions`, each the exact
//! request to send. The actions come from the lifecycle itself: the domain's
//! [`allowed_commands`] for the task's state, kept where the caller qualifies as one
//! of the command's actors and holds the relation the command needs; the guards that
//! need no lock (a claim's active-task cap and locks, screening's fields and active
//! guide) are judged by the same [`decide`] the command calls, and a refusal is shown
//! as `blocked` with the code the command would answer. The command still decides
//! under its locks: an action listed here can lose a race.
//!
//! Steps that are not task transitions sit beside them: uploading a packet before a
//! submit, claiming this task's review entry, the lease holder's decision, and the
//! retries of an evaluation the sandbox or the task's setup held.
//!
//! Visibility is the task reads': managers, operators and auditors covering the
//! project; a submitter or reviewer while the task is `ready`; the assignee; a reviewer
//! holding a lease on its submission. Anyone else gets the concealed 404.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::lifecycle::{
    Actor, CommandKind, Refusal, TaskCommand, TaskState, allowed_commands, decide,
};
use workstream_domain::machines::checker_run::RoutingRecommendation;
use workstream_domain::machines::review_queue::{QueueEntryState, ReviewLeaseDisposition};
use workstream_store::tasks::{self, TaskRow};

use super::access::Access;
use crate::CommandError;

/// The caller's work context on one task.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WorkContext {
    /// The task, in brief.
    pub task: TaskBrief,
    /// The roles the caller holds on the task's project (`project_manager`, `operator`,
    /// `audit_authority`, `submitter`, `reviewer`).
    pub roles: Vec<&'static str>,
    /// The caller holds the task's active assignment.
    pub is_assignee: bool,
    /// The caller's active review lease on the task's submission, if any.
    pub review_lease: Option<LeaseBrief>,
    /// The latest submitted version, with the route of its current checker run.
    pub latest_submission: Option<SubmissionBrief>,
    /// What the caller may ask for now, in the lifecycle's order.
    pub next_actions: Vec<NextAction>,
    /// Whose move it is when it is not the caller's: `project_manager`, `submitter`
    /// (the assignee), `reviewer`, `checkers` (an evaluation running), `operator` (an
    /// evaluation held), or nobody once the task is closed.
    pub waiting_for: Option<&'static str>,
}

/// The task fields a work context repeats.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TaskBrief {
    /// The task id.
    pub id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// Its title.
    pub title: String,
    /// One of the twelve task states.
    pub status: TaskState,
    /// The task's own deadline, if set.
    pub deadline_at: Option<DateTime<Utc>>,
    /// When the active assignment's first submission is due (the deadline, or the
    /// estimate times the policy's factor after the claim), if anything makes it due.
    pub due_at: Option<DateTime<Utc>>,
}

/// A review lease, in brief.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LeaseBrief {
    /// The lease id (the review routes' `{lid}`).
    pub id: Uuid,
    /// When it ends unless decided.
    pub expires_at: DateTime<Utc>,
}

/// A submitted version, in brief.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubmissionBrief {
    /// The submission id.
    pub id: Uuid,
    /// Its version, from 1.
    pub version: i32,
    /// The submission's status.
    pub status: String,
    /// Its current checker run's route (`not_evaluated` while running).
    pub route: Option<RoutingRecommendation>,
}

/// One request the caller may send.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NextAction {
    /// A stable name: a lifecycle command (`screen`, `claim`, `submit`, ...) or a step
    /// beside one (`upload_packet`, `claim_review`, `decide_review`, ...).
    pub action: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path, under `/api/v1`, with the ids filled in.
    pub path: String,
    /// What the body must carry, in words; none when the request has no body.
    pub body: Option<String>,
    /// Why the request would be refused now, judged by the lifecycle's own guards
    /// without taking locks; none when nothing known stands in the way.
    pub blocked: Option<Blocked>,
}

/// A refusal the caller would meet.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Blocked {
    /// The code the request would answer.
    pub code: ErrorCode,
    /// The sentence it would carry.
    pub message: String,
}

impl From<Refusal> for Blocked {
    fn from(refusal: Refusal) -> Self {
        Blocked {
            code: refusal.code(),
            message: refusal.to_string(),
        }
    }
}

/// The roles `access` holds, in a fixed order.
fn roles(access: &Access) -> Vec<&'static str> {
    let mut roles = Vec::new();
    for (name, actor) in [
        ("project_manager", Actor::ProjectManager),
        ("operator", Actor::Operator),
    ] {
        if access.grant_for(actor).is_some() {
            roles.push(name);
        }
    }
    if access.audit_grant().is_some() {
        roles.push("audit_authority");
    }
    for (name, actor) in [
        ("submitter", Actor::Submitter),
        ("reviewer", Actor::Reviewer),
    ] {
        if access.grant_for(actor).is_some() {
            roles.push(name);
        }
    }
    roles
}

/// The latest version and its current run's route.
async fn latest_submission(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Option<SubmissionBrief>, CommandError> {
    Ok(sqlx::query_as!(
        SubmissionBrief,
        r#"SELECT s.id, s.version, s.status, r.routing_recommendation AS "route?: _"
           FROM submissions s
           LEFT JOIN checker_runs r ON r.submission_id = s.id AND r.is_current_for_submission
           WHERE s.task_id = $1 ORDER BY s.version DESC LIMIT 1"#,
        task_id,
    )
    .fetch_optional(conn)
    .await?)
}

/// The caller's active lease on `submission_id`, if any.
async fn own_lease(
    conn: &mut PgConnection,
    actor_id: Uuid,
    submission_id: Uuid,
) -> Result<Option<LeaseBrief>, CommandError> {
    Ok(sqlx::query_as!(
        LeaseBrief,
        "SELECT id, expires_at FROM review_leases \
         WHERE submission_id = $1 AND reviewer_id = $2 AND disposition = $3",
        submission_id,
        actor_id,
        ReviewLeaseDisposition::Active.as_str(),
    )
    .fetch_optional(conn)
    .await?)
}

/// The pending review entry of `submission_id` that no lease holds, if any.
async fn open_review_entry(
    conn: &mut PgConnection,
    submission_id: Uuid,
) -> Result<Option<Uuid>, CommandError> {
    Ok(sqlx::query_scalar!(
        "SELECT e.id FROM review_queue_entries e \
         WHERE e.submission_id = $1 AND e.state = $2 \
         AND NOT EXISTS (SELECT 1 FROM review_leases l \
                         WHERE l.queue_entry_id = e.id AND l.disposition = $3)",
        submission_id,
        QueueEntryState::Pending.as_str(),
        ReviewLeaseDisposition::Active.as_str(),
    )
    .fetch_optional(conn)
    .await?)
}

/// `GET /tasks/{tid}/work-context`: the caller's next steps on the task, or the
/// concealed 404.
pub async fn read(
    conn: &mut PgConnection,
    actor_id: Uuid,
    task_id: Uuid,
) -> Result<WorkContext, CommandError> {
    let task = tasks::find(conn, task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let access = Access::read(conn, actor_id, task.project_id, false).await?;
    let latest = latest_submission(conn, task.id).await?;
    let due_at = tasks::active_assignment(conn, task.id)
        .await?
        .and_then(|a| a.due_at);
    let lease = match &latest {
        Some(s) if access.grant_for(Actor::Reviewer).is_some() => {
            own_lease(conn, actor_id, s.id).await?
        }
        _ => None,
    };
    let state = task.status;
    let is_assignee = task.assigned_to == Some(actor_id);
    let oversight = access.grant_for(Actor::ProjectManager).is_some()
        || access.grant_for(Actor::Operator).is_some()
        || access.audit_grant().is_some();
    let contributor =
        access.grant_for(Actor::Submitter).is_some() || access.grant_for(Actor::Reviewer).is_some();
    // Only an active human sees anything (R47); grants already say so, the assignee
    // relation does not.
    let sees = access.authority.active_human
        && (oversight
            || (contributor && state == TaskState::Ready)
            || is_assignee
            || lease.is_some());
    if !sees {
        return Err(CommandError::not_found());
    }
    let mut plan = Plan {
        actor_id,
        task: &task,
        access: &access,
        is_assignee,
        actions: Vec::new(),
    };
    for kind in allowed_commands(state) {
        plan.command(conn, state, kind).await?;
    }
    plan.beside_commands(conn, state, latest.as_ref(), lease.as_ref())
        .await?;
    let actions = plan.actions;
    Ok(WorkContext {
        waiting_for: waiting_for(state, latest.as_ref(), actions.is_empty()),
        task: TaskBrief {
            id: task.id,
            project_id: task.project_id,
            title: task.title.clone(),
            status: task.status,
            deadline_at: task.deadline_at,
            due_at,
        },
        roles: roles(&access),
        is_assignee,
        review_lease: lease,
        latest_submission: latest,
        next_actions: actions,
    })
}

/// Whose move it is, when the caller has none.
fn waiting_for(
    state: TaskState,
    latest: Option<&SubmissionBrief>,
    caller_idle: bool,
) -> Option<&'static str> {
    if !caller_idle {
        return None;
    }
    Some(match state {
        TaskState::Draft | TaskState::Screening => "project_manager",
        TaskState::Ready | TaskState::Claimed | TaskState::InProgress => "submitter",
        TaskState::NeedsRevision => "submitter",
        TaskState::Submitted | TaskState::EvaluationPending => match latest.and_then(|s| s.route) {
            Some(RoutingRecommendation::CheckerRetry | RoutingRecommendation::TaskSetupBlocked) => {
                "operator"
            }
            _ => "checkers",
        },
        TaskState::ReviewPending => "reviewer",
        TaskState::Accepted | TaskState::Rejected | TaskState::Cancelled => return None,
    })
}

/// The actions being gathered for one caller on one task.
struct Plan<'a> {
    actor_id: Uuid,
    task: &'a TaskRow,
    access: &'a Access,
    is_assignee: bool,
    actions: Vec<NextAction>,
}

impl Plan<'_> {
    fn push(
        &mut self,
        action: &'static str,
        method: &'static str,
        path: String,
        body: Option<&str>,
        blocked: Option<Blocked>,
    ) {
        self.actions.push(NextAction {
            action,
            method,
            path,
            body: body.map(str::to_owned),
            blocked,
        });
    }

    fn task_path(&self, tail: &str) -> String {
        format!("/tasks/{}/{tail}", self.task.id)
    }

    /// The lifecycle command `kind`, if the caller may issue it. Commands the engine
    /// issues itself, and those answered beside the commands (a review's decision, a
    /// submission), are left to [`Plan::beside_commands`].
    async fn command(
        &mut self,
        conn: &mut PgConnection,
        state: TaskState,
        kind: CommandKind,
    ) -> Result<(), CommandError> {
        let context = self.access.actor_context();
        let pm = context.qualifies_as(Actor::ProjectManager);
        const REASON: Option<&str> = Some("`{reason}`, required");
        const OPTIONAL_REASON: Option<&str> = Some("`{reason}`, optional");
        match kind {
            CommandKind::Screen if pm => {
                let (facts, _) = super::screening::screen_facts(conn, self.task).await?;
                let blocked = decide(state, &TaskCommand::Screen, &context, &facts)
                    .err()
                    .map(Blocked::from);
                self.push(
                    "screen",
                    "POST",
                    self.task_path("screen"),
                    OPTIONAL_REASON,
                    blocked,
                );
            }
            CommandKind::Release if pm => {
                self.push("release", "POST", self.task_path("release"), REASON, None)
            }
            CommandKind::ReturnToDraft if pm => self.push(
                "return_to_draft",
                "POST",
                self.task_path("return-to-draft"),
                REASON,
                None,
            ),
            CommandKind::Cancel if pm => {
                self.push("cancel", "POST", self.task_path("cancel"), REASON, None)
            }
            CommandKind::Assign if pm => self.push(
                "assign",
                "POST",
                self.task_path("assign"),
                Some("`{assignee_actor_id, reason}`: a submitter of the project"),
                None,
            ),
            CommandKind::Claim if context.qualifies_as(Actor::Submitter) => {
                let active = tasks::active_assignment(conn, self.task.id).await?;
                let facts = super::assignment::claim_facts(
                    conn,
                    self.task,
                    active.as_ref(),
                    self.actor_id,
                )
                .await?;
                let blocked = decide(state, &TaskCommand::Claim, &context, &facts)
                    .err()
                    .map(Blocked::from);
                self.push(
                    "claim",
                    "POST",
                    self.task_path("claim"),
                    OPTIONAL_REASON,
                    blocked,
                );
            }
            CommandKind::Start if self.is_assignee => {
                self.push("start", "POST", self.task_path("start"), OPTIONAL_REASON, None)
            }
            CommandKind::StartOverride if context.qualifies_as(Actor::Operator) => self.push(
                "start_override",
                "POST",
                format!("/operations/tasks/{}/start", self.task.id),
                REASON,
                None,
            ),
            CommandKind::CloseRevision if pm => self.push(
                    "close_revision",
                    "POST",
                    self.task_path("revision-obligation/close"),
                    Some(
                        "`{reason}`: `revision_limit_reached` or `revision_deadline_expired`, once that is so",
                    ),
                    None,
                ),
            _ => {}
        }
        Ok(())
    }

    /// The steps around the lifecycle commands: a packet's upload and submit, a
    /// review's claim and decision, and the retries of a held evaluation.
    async fn beside_commands(
        &mut self,
        conn: &mut PgConnection,
        state: TaskState,
        latest: Option<&SubmissionBrief>,
        lease: Option<&LeaseBrief>,
    ) -> Result<(), CommandError> {
        let context = self.access.actor_context();
        match state {
            TaskState::InProgress | TaskState::NeedsRevision if self.is_assignee => {
                self.push(
                    "upload_packet",
                    "POST",
                    self.task_path("packets"),
                    Some("multipart: `summary`, `attestation`, `packet` (the ZIP)"),
                    None,
                );
                let revision = state == TaskState::NeedsRevision;
                self.push(
                    "submit",
                    "POST",
                    self.task_path("submissions"),
                    Some(if revision {
                        "`{admission_id, preparation_id, preparation_digest, responses}`: the upload's admission, the revision context head and a response to every open blocking finding (`GET /tasks/{tid}/revision-context`)"
                    } else {
                        "`{admission_id}` from the upload"
                    }),
                    None,
                );
            }
            TaskState::ReviewPending => {
                if let Some(lease) = lease {
                    let lease_path = |tail: &str| format!("/reviews/leases/{}{tail}", lease.id);
                    self.push("read_review_packet", "GET", lease_path(""), None, None);
                    self.push(
                        "decide_review",
                        "POST",
                        lease_path("/decision"),
                        Some(
                            "`{decision, findings, ...}`: accept, needs_revision or reject, citing evidence",
                        ),
                        None,
                    );
                    self.push(
                        "release_review",
                        "POST",
                        lease_path("/release"),
                        Some("`{reason}`, optional"),
                        None,
                    );
                } else if context.qualifies_as(Actor::Reviewer)
                    && !self.is_assignee
                    && let Some(submission) = latest
                    && let Some(entry) = open_review_entry(conn, submission.id).await?
                {
                    self.push(
                        "claim_review",
                        "POST",
                        "/reviews/claim".to_owned(),
                        Some(&format!(
                            "`{{\"queue_entry_id\": \"{entry}\"}}`: this task's entry"
                        )),
                        None,
                    );
                }
            }
            TaskState::EvaluationPending => {
                let held = latest.and_then(|s| s.route);
                if matches!(
                    held,
                    Some(
                        RoutingRecommendation::CheckerRetry
                            | RoutingRecommendation::TaskSetupBlocked
                    )
                ) && context.qualifies_as(Actor::Operator)
                {
                    self.push(
                        "re_evaluate",
                        "POST",
                        format!("/operations/tasks/{}/re-evaluate", self.task.id),
                        Some("`{reason}`, required"),
                        None,
                    );
                }
                if held == Some(RoutingRecommendation::TaskSetupBlocked)
                    && context.qualifies_as(Actor::ProjectManager)
                {
                    self.push(
                        "setup_repair",
                        "POST",
                        self.task_path("setup-repair"),
                        Some("the corrected task texts and `{reason}`"),
                        None,
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }
}
