//! The review decision: one transaction, in the fixed order docs/lifecycle.md gives.
//!
//! 1. Lock task -> assignment -> submission -> lease -> queue entry -> the latest
//!    earlier review; re-read the reviewer's authority under those locks (R47).
//! 2. Append the Review, its findings and its resolutions of prior findings.
//! 3. Lease `consumed`. 4. Queue entry `closed` (`review_recorded`).
//! 5. The reviewer's `completed_review` contribution and its awards, under the version
//!    the lease froze (every decision).
//! 6. accept: FinalAcceptance, task `accepted`, assignment `completed`, the submitter's
//!    `accepted_submission` contribution and its awards under the assignment's version.
//!    needs_revision: the revision context preparation (kept, rebased or blocked) and
//!    task `needs_revision`; the assignment stays active. reject: assignment `blocked`
//!    (naming the Review), task `rejected`.
//! 7. The audit event and the outbox: award deliveries and the `reputation.record` job
//!    (R53: reputation is computed after commit, never here).
//!
//! The request is validated before anything is locked, and every guard is judged by
//! `workstream_domain::decide` on facts read under the locks; the database re-checks
//! the structural rules (one decision per lease, accept with no open blocker,
//! needs_revision with one, resolutions closing a finding once) at commit. The caller
//! commits; any error rolls everything back (AS32).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::contribution::ContributionType;
use workstream_domain::decide;
use workstream_domain::gate::MemberStatus;
use workstream_domain::lifecycle::{
    Actor, Decision, FindingKind, FindingStatus, GuardFacts, ResolutionResult, ReviewDecision,
    TaskCommand, TaskState,
};
use workstream_domain::machines::assignment::AssignmentStatus;
use workstream_domain::machines::checker_run::{CheckerRunStatus, RoutingRecommendation};
use workstream_domain::machines::review_queue::{QueueEntryState, ReviewLeaseDisposition};
use workstream_domain::token::Token;
use workstream_store::jobs::{self, NewJob};
use workstream_store::tasks::{self, AssignmentRow, TaskRow};

use super::lease::{self, Lease};
use super::packet::{PriorFinding, prior_findings};
use super::policies::guide_policies;
use super::queue;
use super::revision::{self, Preparation};
use crate::CommandError;
use crate::compensation::awards::{self, CreatedAward};
use crate::jobs::{JobArgs, ReputationArgs};
use crate::requester::Requester;
use crate::tasks::access::Access;
use crate::tasks::{TaskEvent, audit_transition};

/// Most findings one review may raise, and most evidence references one decision cites.
pub const MAX_FINDINGS: usize = 100;

/// The schema of an evidence reference: a file of the packet, optionally a line.
pub fn evidence_ref_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "description": "Evidence in the packet: `{path, line?, note?}`; `path` must name a file of the packet.",
        "required": ["path"],
        "properties": {
            "path": { "type": "string", "minLength": 1 },
            "line": { "type": "integer", "minimum": 1 },
            "note": { "type": "string" },
        },
    })
}

/// The schema of a text field that holds one of `T`'s tokens (a request field kept as
/// text so that a bad value answers the field's own error code).
fn tokens_schema<T: Token>(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let tokens: Vec<&str> = T::ALL.iter().map(|t| t.token()).collect();
    schemars::json_schema!({ "type": "string", "enum": tokens })
}

fn evidence_refs_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "array", "items": evidence_ref_schema(generator) })
}

/// A finding the reviewer raises.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFinding {
    /// `blocking` or `advisory` (no severities). Text, not a [`FindingKind`], so that a
    /// bad value answers 422 `finding_kind_invalid`.
    #[schemars(schema_with = "tokens_schema::<FindingKind>")]
    pub kind: String,
    /// The area of the work (1-200 characters).
    pub area: String,
    /// What is wrong (1-4000 characters).
    pub issue: String,
    /// Why it blocks; required for a blocking finding.
    #[serde(default)]
    pub rationale: Option<String>,
    /// What must change; required for a blocking finding.
    #[serde(default)]
    pub required_fix: Option<String>,
    /// The evidence: `{path, line?, note?}` naming a packet file.
    #[serde(default)]
    #[schemars(schema_with = "evidence_ref_schema")]
    pub evidence_ref: Option<Value>,
}

/// The reviewer's verdict on one prior finding.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResolution {
    /// The prior finding.
    pub finding_id: Uuid,
    /// `resolved`, `unresolved` or `not_applicable`. Text, not a [`ResolutionResult`], so
    /// that a bad value answers 422 `finding_resolution_invalid`.
    #[schemars(schema_with = "tokens_schema::<ResolutionResult>")]
    pub result: String,
    /// Why (1-4000 characters).
    pub rationale: String,
    /// Optional evidence, as for a finding.
    #[serde(default)]
    #[schemars(schema_with = "evidence_ref_schema")]
    pub evidence_ref: Option<Value>,
}

impl NewFinding {
    /// The finding's kind (422 `finding_kind_invalid` when the text names none).
    pub(crate) fn finding_kind(&self) -> Result<FindingKind, CommandError> {
        self.kind.parse().map_err(|_| {
            invalid(
                ErrorCode::FindingKindInvalid,
                "a finding is blocking or advisory",
            )
        })
    }

    /// Whether the finding is blocking (a kind naming nothing is refused by `validate`).
    pub(crate) fn is_blocking(&self) -> bool {
        matches!(self.finding_kind(), Ok(FindingKind::Blocking))
    }
}

impl NewResolution {
    /// The verdict (422 `finding_resolution_invalid` when the text names none).
    fn resolution_result(&self) -> Result<ResolutionResult, CommandError> {
        self.result.parse().map_err(|_| {
            invalid(
                ErrorCode::FindingResolutionInvalid,
                "a resolution is resolved, unresolved or not_applicable",
            )
        })
    }
}

/// A decision as the reviewer sends it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// `accept`, `needs_revision` or `reject`.
    #[schemars(schema_with = "tokens_schema::<ReviewDecision>")]
    pub decision: String,
    /// What the reviewer found overall (at most 20,000 characters).
    #[serde(default)]
    pub summary: String,
    /// `low`, `medium` or `high`.
    #[serde(default)]
    #[schemars(extend("enum" = ["low", "medium", "high", null]))]
    pub confidence: Option<String>,
    /// Required for reject: bounded and grounded in the guide.
    #[serde(default)]
    pub reject_reason: Option<String>,
    /// Required for accept: what in the packet supports it (`{path, line?, note?}`).
    #[serde(default)]
    #[schemars(schema_with = "evidence_refs_schema")]
    pub acceptance_evidence_refs: Vec<Value>,
    /// New findings.
    #[serde(default)]
    pub findings: Vec<NewFinding>,
    /// One per open prior blocking finding (accept and needs_revision).
    #[serde(default)]
    pub resolutions: Vec<NewResolution>,
}

/// A contribution the decision recorded, with its awards.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordedContribution {
    /// The contribution record id.
    pub id: Uuid,
    /// `completed_review` or `accepted_submission`.
    pub contribution_type: String,
    /// Who contributed.
    pub contributor_id: Uuid,
    /// The frozen policy version it was valued under.
    pub contribution_policy_version_id: Uuid,
    /// The awards it earned (none under an unpaid rule).
    pub awards: Vec<CreatedAward>,
}

/// What a decision recorded.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Decided {
    /// The stored Review.
    pub review: ReviewView,
    /// The task after the decision.
    pub task: DecidedTask,
    /// The contributions, reviewer's first.
    pub contributions: Vec<RecordedContribution>,
    /// The FinalAcceptance (accept only).
    pub final_acceptance_id: Option<Uuid>,
    /// The revision context preparation (needs_revision only).
    pub preparation: Option<revision::Preparation>,
}

/// The task after a decision, with the guide its next attempt is held to.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DecidedTask {
    /// Id.
    pub id: Uuid,
    /// `accepted`, `needs_revision`, `rejected` or `cancelled`.
    pub status: TaskState,
    /// The locked guide (a rebase may have moved it).
    pub locked_guide_id: Option<Uuid>,
    /// Its version label.
    pub locked_guide_version: Option<String>,
}

/// A stored review with its findings and the resolutions it gave earlier findings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReviewView {
    /// Id.
    pub id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// The exact submission it judged.
    pub submission_id: Uuid,
    /// The lease it was made under.
    pub review_lease_id: Uuid,
    /// The task's previous review, if any.
    pub predecessor_review_id: Option<Uuid>,
    /// The reviewer.
    pub reviewer_id: Uuid,
    /// `accept`, `needs_revision` or `reject`.
    pub decision: ReviewDecision,
    /// The reviewer's summary.
    pub summary: String,
    /// Why it was rejected (reject only).
    pub reject_reason: Option<String>,
    /// `low`, `medium` or `high`.
    pub confidence: Option<String>,
    /// The evidence an acceptance cites (`[{path, line, note}]`).
    pub acceptance_evidence_refs: Value,
    /// The guide version it was judged under.
    pub locked_guide_version: String,
    /// When it was recorded.
    pub completed_at: DateTime<Utc>,
    /// The findings it raised, in order.
    pub findings: Vec<ReviewFinding>,
    /// What it said of earlier findings.
    pub resolutions: Vec<ReviewResolution>,
}

/// A finding a review raised.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReviewFinding {
    /// Id (what a response and a resolution name).
    pub id: Uuid,
    /// 1-based position in the review.
    pub position: i32,
    /// `blocking` or `advisory`.
    pub kind: FindingKind,
    /// The area of the work.
    pub area: String,
    /// What is wrong.
    pub issue: String,
    /// Why it matters.
    pub rationale: Option<String>,
    /// What must change (blocking findings).
    pub required_fix: Option<String>,
    /// Where (`{path, line}`).
    pub evidence_ref: Option<Value>,
}

/// What a review said of an earlier finding.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReviewResolution {
    /// The earlier finding.
    pub finding_id: Uuid,
    /// `resolved`, `unresolved` or `not_applicable`.
    pub result: ResolutionResult,
    /// Why.
    pub rationale: String,
    /// Where the fix is.
    pub evidence_ref: Option<Value>,
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> CommandError {
    CommandError::new(code, message)
}

/// Checks the request's shape (before any lock): tokens, lengths, the evidence
/// references' form. Whether a path exists in the packet is checked under the locks.
/// Reviewer calibration validates its second decision with it too (`crate::calibration`).
pub(crate) fn validate(input: &DecisionInput) -> Result<ReviewDecision, CommandError> {
    let decision: ReviewDecision = input.decision.parse().map_err(|_| {
        invalid(
            ErrorCode::DecisionInvalid,
            "decision must be accept, needs_revision or reject",
        )
    })?;
    if input.summary.chars().count() > 20_000 {
        return Err(invalid(
            ErrorCode::SummaryTooLong,
            "the summary has at most 20,000 characters",
        ));
    }
    if let Some(c) = &input.confidence
        && !matches!(c.as_str(), "low" | "medium" | "high")
    {
        return Err(invalid(
            ErrorCode::ConfidenceInvalid,
            "confidence is low, medium or high",
        ));
    }
    if decision != ReviewDecision::Reject && input.reject_reason.is_some() {
        return Err(invalid(
            ErrorCode::RejectReasonNotAllowed,
            "only a reject carries a reject reason",
        ));
    }
    if input.findings.len() > MAX_FINDINGS || input.acceptance_evidence_refs.len() > MAX_FINDINGS {
        return Err(invalid(
            ErrorCode::TooManyItems,
            "a decision has at most 100 findings and 100 evidence references",
        ));
    }
    for r in &input.acceptance_evidence_refs {
        evidence_shape(r)?;
    }
    for f in &input.findings {
        f.finding_kind()?;
        let area = f.area.trim().chars().count();
        let issue = f.issue.trim().chars().count();
        if !(1..=200).contains(&area) || !(1..=4000).contains(&issue) {
            return Err(invalid(
                ErrorCode::FindingInvalid,
                "a finding names an area (1-200 characters) and an issue (1-4000 characters)",
            ));
        }
        for text in [&f.rationale, &f.required_fix].into_iter().flatten() {
            if text.chars().count() > 4000 {
                return Err(invalid(
                    ErrorCode::FindingInvalid,
                    "a rationale or required fix has at most 4000 characters",
                ));
            }
        }
        if let Some(e) = &f.evidence_ref {
            evidence_shape(e)?;
        }
    }
    let mut seen = std::collections::HashSet::new();
    for r in &input.resolutions {
        r.resolution_result()?;
        if !(1..=4000).contains(&r.rationale.trim().chars().count()) {
            return Err(invalid(
                ErrorCode::FindingResolutionInvalid,
                "a resolution gives a rationale of 1 to 4000 characters",
            ));
        }
        if !seen.insert(r.finding_id) {
            return Err(invalid(
                ErrorCode::FindingResolutionDuplicate,
                "one resolution per prior finding",
            ));
        }
        if let Some(e) = &r.evidence_ref {
            evidence_shape(e)?;
        }
    }
    Ok(decision)
}

/// An evidence reference is `{path, line?, note?}`: a packet path, a 1-based line, a
/// note of at most 2000 characters.
fn evidence_shape(e: &Value) -> Result<(), CommandError> {
    let bad = || {
        invalid(
            ErrorCode::EvidenceRefInvalid,
            "an evidence reference is {\"path\": a packet file, \"line\"?: >= 1, \"note\"?: text}",
        )
    };
    let object = e.as_object().ok_or_else(bad)?;
    if object
        .keys()
        .any(|k| !matches!(k.as_str(), "path" | "line" | "note"))
    {
        return Err(bad());
    }
    let path = object.get("path").and_then(Value::as_str).ok_or_else(bad)?;
    if path.is_empty() || path.len() > 1024 {
        return Err(bad());
    }
    if let Some(line) = object.get("line")
        && line.as_u64().is_none_or(|n| n < 1)
    {
        return Err(bad());
    }
    if let Some(note) = object.get("note")
        && note.as_str().is_none_or(|n| n.chars().count() > 2000)
    {
        return Err(bad());
    }
    Ok(())
}

/// The submission under review, as the decision needs it.
#[derive(Debug)]
struct LeasedSubmission {
    id: Uuid,
    task_assignment_id: Uuid,
    contributor_id: Uuid,
    archive_sha256: String,
    locked_guide_id: Uuid,
    locked_guide_version: String,
    locked_review_policy_hash: String,
}

/// The lease row under lock.
#[derive(Debug)]
struct LockedLease {
    reviewer_id: Uuid,
    submission_id: Uuid,
    disposition: ReviewLeaseDisposition,
    live: bool,
    reviewer_contribution_policy_version_id: Uuid,
}

/// What step 1 locked, in the fixed order, and the caller's reviewer grant.
struct Locked {
    /// The lease as read before locking (its entry and task).
    held: Lease,
    task: TaskRow,
    assignment: Option<AssignmentRow>,
    submission: LeasedSubmission,
    lease: LockedLease,
    entry_state: QueueEntryState,
    admitting_run: Uuid,
    /// The latest earlier review of the task.
    predecessor: Option<Uuid>,
    access: Access,
    grant: Uuid,
}

/// What step 2 recorded.
struct Recorded {
    decision: ReviewDecision,
    review_id: Uuid,
    finding_ids: Vec<Uuid>,
}

/// What step 6 did to the task.
struct Outcome {
    /// The task as the next attempt sees it.
    task: TaskRow,
    final_acceptance_id: Option<Uuid>,
    preparation: Option<Preparation>,
}

/// Records the decision of the holder of `lease_id`, in the steps of the module docs
/// (step 5, the reviewer's contribution, is the one call made here).
pub async fn decide_review(
    conn: &mut PgConnection,
    requester: &Requester,
    lease_id: Uuid,
    input: &DecisionInput,
) -> Result<Decided, CommandError> {
    let decision = validate(input)?;
    let locked = lock(conn, requester, lease_id).await?;
    let transition = judge(conn, requester, &locked, decision, input).await?;
    let recorded = record_review(conn, requester, &locked, decision, input).await?;
    end_lease(conn, requester, &locked).await?;
    let mut contributions = vec![
        contribute(
            conn,
            &locked.task,
            &locked.submission,
            Contributor::Reviewer {
                reviewer_id: requester.actor_id,
                review_id: recorded.review_id,
                lease_id,
                version: locked.lease.reviewer_contribution_policy_version_id,
            },
            requester.correlation_id.as_deref(),
        )
        .await?,
    ];
    let outcome = apply(
        conn,
        requester,
        &locked,
        &transition,
        recorded.review_id,
        &mut contributions,
    )
    .await?;
    announce(
        conn,
        requester,
        &locked,
        &transition,
        input,
        &recorded,
        &contributions,
        &outcome,
    )
    .await?;

    let review = review_view(conn, recorded.review_id).await?;
    Ok(Decided {
        review,
        task: DecidedTask {
            id: outcome.task.id,
            status: outcome.task.status,
            locked_guide_id: outcome.task.locked_guide_id,
            locked_guide_version: outcome.task.locked_guide_version,
        },
        contributions,
        final_acceptance_id: outcome.final_acceptance_id,
        preparation: outcome.preparation,
    })
}

/// Step 1: locks task -> assignment -> submission -> lease -> queue entry -> the latest
/// earlier review, then re-reads the caller's authority under those locks (R47).
async fn lock(
    conn: &mut PgConnection,
    requester: &Requester,
    lease_id: Uuid,
) -> Result<Locked, CommandError> {
    queue::sweep(conn).await?;
    let held = lease::lease(conn, lease_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let task = tasks::lock(conn, held.task_id)
        .await?
        .ok_or_else(CommandError::not_found)?;
    let assignment = tasks::lock_active_assignment(conn, task.id).await?;
    let submission = sqlx::query_as!(
        LeasedSubmission,
        "SELECT id, task_assignment_id, contributor_id, archive_sha256, locked_guide_id, \
         locked_guide_version, locked_review_policy_hash FROM submissions WHERE id = $1 FOR SHARE",
        held.submission_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let lease = sqlx::query_as!(
        LockedLease,
        r#"SELECT reviewer_id, submission_id, disposition AS "disposition: _",
             expires_at > now() AS "live!", reviewer_contribution_policy_version_id
           FROM review_leases WHERE id = $1 FOR UPDATE"#,
        lease_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let entry = sqlx::query!(
        r#"SELECT state AS "state: QueueEntryState", admitting_checker_run_id
           FROM review_queue_entries WHERE id = $1 FOR UPDATE"#,
        held.queue_entry_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let (entry_state, admitting_run) = (entry.state, entry.admitting_checker_run_id);
    let predecessor = sqlx::query_scalar!(
        "SELECT id FROM reviews WHERE task_id = $1 ORDER BY completed_at DESC, id DESC LIMIT 1 FOR SHARE",
        task.id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let access = Access::read(conn, requester.actor_id, task.project_id, true).await?;
    // Someone with no reviewer grant learns nothing about the lease (AS26, AS49).
    let grant = access.require(Actor::Reviewer)?;
    Ok(Locked {
        held,
        task,
        assignment,
        submission,
        lease,
        entry_state,
        admitting_run,
        predecessor,
        access,
        grant,
    })
}

/// Step 1, continued: reads the facts under the locks and asks the domain: the locked
/// review policy allows the decision, every evidence reference cites a file of the
/// packet, every resolution names an open prior finding, and the guards of T11-T13.
async fn judge(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
    decision: ReviewDecision,
    input: &DecisionInput,
) -> Result<Decision, CommandError> {
    let Locked {
        task,
        submission,
        lease,
        ..
    } = locked;
    let policies = guide_policies(conn, submission.locked_guide_id).await?;
    if !policies
        .review
        .allowed_decisions
        .iter()
        .any(|d| d == decision.as_str())
    {
        return Err(invalid(
            ErrorCode::DecisionNotAllowed,
            format!(
                "the locked review policy does not allow {}",
                decision.as_str()
            ),
        ));
    }
    let own_chain = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM submissions WHERE task_id = $1 AND contributor_id = $2) AS "own!""#,
        task.id,
        requester.actor_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let run = sqlx::query!(
        r#"SELECT (c.is_current_for_submission AND c.status = $3
                   AND c.routing_recommendation = $4 AND c.submission_id = $2) AS "current!",
                  (SELECT count(*) FROM checker_results r WHERE r.checker_run_id = c.id
                   AND r.blocks_review AND r.status IN ($5, $6)) AS "blocking_failures!"
           FROM checker_runs c WHERE c.id = $1"#,
        locked.admitting_run,
        submission.id,
        CheckerRunStatus::Completed.as_str(),
        RoutingRecommendation::AllowReview.as_str(),
        MemberStatus::Failed.as_str(),
        MemberStatus::Errored.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    let (run_current, blocking_failures) = (run.current, run.blocking_failures);
    check_evidence_paths(conn, submission.id, input).await?;

    let prior = prior_findings(conn, task.id).await?;
    check_resolution_targets(&prior, &input.resolutions)?;
    let open_blockers: Vec<&PriorFinding> = prior
        .iter()
        .filter(|f| f.kind == FindingKind::Blocking && f.status == FindingStatus::Open)
        .collect();
    let resolution_of = |id: Uuid| -> Option<&NewResolution> {
        input.resolutions.iter().find(|r| r.finding_id == id)
    };
    let blocking = input.findings.iter().filter(|f| f.is_blocking());
    let evidence_required = match policies.review.finding_evidence_requirement.as_str() {
        "required_for_all" => input.findings.iter().collect::<Vec<_>>(),
        "required_for_blocking" => blocking.clone().collect(),
        _ => Vec::new(),
    };
    let facts = GuardFacts {
        lease_active: lease.disposition == ReviewLeaseDisposition::Active
            && lease.live
            && locked.entry_state == QueueEntryState::Pending,
        lease_held_by_actor: lease.reviewer_id == requester.actor_id
            && lease.submission_id == submission.id,
        actor_is_submitter_of_chain: own_chain,
        admitting_run_current: run_current,
        acceptance_evidence_cited: !input.acceptance_evidence_refs.is_empty(),
        // No dispute or copying hold exists in this system yet; nothing can set one.
        acceptance_hold: false,
        open_blocking_checker_failures: count(blocking_failures),
        prior_findings_without_resolution: count_of(
            open_blockers
                .iter()
                .filter(|f| resolution_of(f.id).is_none()),
        ),
        prior_blocking_findings_left_open: count_of(open_blockers.iter().filter(|f| {
            resolution_of(f.id)
                .is_some_and(|r| matches!(r.resolution_result(), Ok(ResolutionResult::Unresolved)))
        })),
        new_blocking_findings: count_of(blocking.clone()),
        incomplete_blocking_findings: count_of(blocking.clone().filter(|f| {
            blank(&f.rationale) || blank(&f.required_fix) || f.issue.trim().is_empty()
        })),
        findings_missing_evidence: count_of(
            evidence_required
                .iter()
                .filter(|f| f.evidence_ref.is_none()),
        ),
        ..GuardFacts::default()
    };
    Ok(decide(
        task.status,
        &TaskCommand::ReviewDecision {
            decision,
            reject_reason: reject_reason(input),
        },
        &locked.access.actor_context(),
        &facts,
    )?)
}

/// The rejection's reason as stored: trimmed.
fn reject_reason(input: &DecisionInput) -> Option<String> {
    input
        .reject_reason
        .as_deref()
        .map(str::trim)
        .map(str::to_owned)
}

/// Refuses an evidence reference (of the acceptance, a finding or a resolution) that
/// does not cite a file of the packet under review (422 `evidence_ref_unknown_path`).
pub(crate) async fn check_evidence_paths(
    conn: &mut PgConnection,
    submission_id: Uuid,
    input: &DecisionInput,
) -> Result<(), CommandError> {
    let packet_paths = sqlx::query_scalar!(
        "SELECT path FROM packet_files WHERE submission_id = $1",
        submission_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let cites_packet = |e: &Value| {
        e["path"]
            .as_str()
            .is_some_and(|p| packet_paths.iter().any(|q| q == p))
    };
    let all_refs = input
        .acceptance_evidence_refs
        .iter()
        .chain(
            input
                .findings
                .iter()
                .filter_map(|f| f.evidence_ref.as_ref()),
        )
        .chain(
            input
                .resolutions
                .iter()
                .filter_map(|r| r.evidence_ref.as_ref()),
        );
    for e in all_refs {
        if !cites_packet(e) {
            return Err(invalid(
                ErrorCode::EvidenceRefUnknownPath,
                format!("{} is not a file of the packet under review", e["path"]),
            )
            .with_details(json!({ "path": e["path"] })));
        }
    }
    Ok(())
}

/// Step 2: appends the Review, its findings and its resolutions of prior findings.
async fn record_review(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
    decision: ReviewDecision,
    input: &DecisionInput,
) -> Result<Recorded, CommandError> {
    let Locked {
        task, submission, ..
    } = locked;
    let review_id = Uuid::now_v7();
    let reason = reject_reason(input);
    sqlx::query!(
        "INSERT INTO reviews (id, task_id, submission_id, review_lease_id, predecessor_review_id, \
         reviewer_id, decision, summary, reject_reason, confidence, acceptance_evidence_refs, \
         locked_guide_version, locked_review_policy_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        review_id,
        task.id,
        submission.id,
        locked.held.id,
        locked.predecessor,
        requester.actor_id,
        decision.as_str(),
        input.summary.trim(),
        reason.as_deref(),
        input.confidence.as_deref(),
        json!(input.acceptance_evidence_refs),
        &submission.locked_guide_version,
        &submission.locked_review_policy_hash,
    )
    .execute(&mut *conn)
    .await?;
    let mut finding_ids = Vec::with_capacity(input.findings.len());
    for (i, f) in input.findings.iter().enumerate() {
        let id = Uuid::now_v7();
        sqlx::query!(
            "INSERT INTO review_findings (id, review_id, position, finding_kind, area, issue, \
             rationale, required_fix, evidence_ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            id,
            review_id,
            i32::try_from(i + 1).unwrap_or(i32::MAX),
            f.finding_kind()?.as_str(),
            f.area.trim(),
            f.issue.trim(),
            f.rationale.as_deref().map(str::trim),
            f.required_fix.as_deref().map(str::trim),
            f.evidence_ref.as_ref(),
        )
        .execute(&mut *conn)
        .await?;
        finding_ids.push(id);
    }
    for r in &input.resolutions {
        sqlx::query!(
            "INSERT INTO finding_resolutions (id, review_id, finding_id, revised_submission_id, \
             result, rationale, evidence_ref) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            Uuid::now_v7(),
            review_id,
            r.finding_id,
            submission.id,
            r.resolution_result()?.as_str(),
            r.rationale.trim(),
            r.evidence_ref.as_ref(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(Recorded {
        decision,
        review_id,
        finding_ids,
    })
}

/// Steps 3 and 4: the lease is consumed, the queue entry closed (`review_recorded`).
async fn end_lease(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
) -> Result<(), CommandError> {
    sqlx::query!(
        "UPDATE review_leases SET disposition = $3, ended_at = now(), ended_by = $2, \
         end_reason = 'decision recorded' WHERE id = $1",
        locked.held.id,
        requester.actor_id,
        ReviewLeaseDisposition::Consumed.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE review_queue_entries SET state = $2, closed_at = now(), \
         closed_reason = 'review_recorded' WHERE id = $1",
        locked.held.queue_entry_id,
        QueueEntryState::Closed.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Step 6, the branch of the decision: accept records the FinalAcceptance, completes the
/// assignment and adds the submitter's contribution; needs_revision prepares the next
/// attempt's context; reject blocks the assignment. The task moves as `transition` says.
async fn apply(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
    transition: &Decision,
    review_id: Uuid,
    contributions: &mut Vec<RecordedContribution>,
) -> Result<Outcome, CommandError> {
    let Locked {
        task, submission, ..
    } = locked;
    let decided = |task| Outcome {
        task,
        final_acceptance_id: None,
        preparation: None,
    };
    match transition.to {
        TaskState::Accepted => {
            let acceptance = Uuid::now_v7();
            sqlx::query!(
                "INSERT INTO final_acceptances (id, project_id, task_id, submission_id, source_review_id, \
                 accepted_submitter_id, recorded_by, review_policy_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                acceptance,
                task.project_id,
                task.id,
                submission.id,
                review_id,
                submission.contributor_id,
                requester.actor_id,
                &submission.locked_review_policy_hash,
            )
            .execute(&mut *conn)
            .await?;
            let updated = tasks::set_status(conn, task.id, transition, task.assigned_to).await?;
            let version = sqlx::query_scalar!(
                "UPDATE task_assignments SET status = $2, accepted_at = now() \
                 WHERE id = $1 RETURNING submitter_contribution_policy_version_id",
                submission.task_assignment_id,
                AssignmentStatus::Completed.as_str(),
            )
            .fetch_one(&mut *conn)
            .await?;
            contributions.push(
                contribute(
                    conn,
                    task,
                    submission,
                    Contributor::Submitter {
                        final_acceptance_id: acceptance,
                        assignment_id: submission.task_assignment_id,
                        version,
                    },
                    requester.correlation_id.as_deref(),
                )
                .await?,
            );
            Ok(Outcome {
                final_acceptance_id: Some(acceptance),
                ..decided(updated)
            })
        }
        TaskState::NeedsRevision => {
            let updated = tasks::set_status(conn, task.id, transition, task.assigned_to).await?;
            let target = locked
                .assignment
                .as_ref()
                .map_or(submission.task_assignment_id, |a| a.id);
            let prepared = revision::prepare(
                conn,
                revision::PrepareInput {
                    task_id: task.id,
                    project_id: task.project_id,
                    originating_review_id: review_id,
                    prior_submission_id: submission.id,
                    source_assignment_id: submission.task_assignment_id,
                    target_assignment_id: target,
                    predecessor: None,
                    prepared_by: requester.actor_id,
                    reason: None,
                },
            )
            .await?;
            // A rebase rewrote the task's locks; answer with what the next attempt uses.
            let task = tasks::find(conn, task.id).await?.unwrap_or(updated);
            Ok(Outcome {
                preparation: Some(prepared),
                ..decided(task)
            })
        }
        TaskState::Rejected => {
            sqlx::query!(
                "UPDATE task_assignments SET status = $3, blocking_review_id = $2, \
                 status_reason = 'rejected by review' WHERE id = $1",
                submission.task_assignment_id,
                review_id,
                AssignmentStatus::Blocked.as_str(),
            )
            .execute(&mut *conn)
            .await?;
            let updated = tasks::set_status(conn, task.id, transition, task.assigned_to).await?;
            Ok(decided(updated))
        }
        other => Err(CommandError::internal(format!(
            "a review decision cannot lead to {other}"
        ))),
    }
}

/// Step 7: the transition's audit event, and the outbox: the `reputation.record` job (R53:
/// reputation is computed after commit, never here; award deliveries were queued with
/// their awards).
#[allow(clippy::too_many_arguments)]
async fn announce(
    conn: &mut PgConnection,
    requester: &Requester,
    locked: &Locked,
    transition: &Decision,
    input: &DecisionInput,
    recorded: &Recorded,
    contributions: &[RecordedContribution],
    outcome: &Outcome,
) -> Result<(), CommandError> {
    let review_id = recorded.review_id;
    let reason = reject_reason(input);
    audit_transition(
        conn,
        &outcome.task,
        transition,
        TaskEvent {
            event_type: "review_decided",
            actor_id: Some(requester.actor_id),
            correlation_id: requester.correlation_id.clone(),
            reason: reason.as_deref(),
            payload: json!({
                "matched_grant_id": locked.grant,
                "permission": "review.decision",
                "review_id": review_id,
                "decision": recorded.decision.as_str(),
                "submission_id": locked.submission.id,
                "archive_sha256": locked.submission.archive_sha256,
                "review_lease_id": locked.held.id,
                "finding_ids": recorded.finding_ids,
                "resolved_finding_ids": input.resolutions.iter().map(|r| r.finding_id).collect::<Vec<_>>(),
                "final_acceptance_id": outcome.final_acceptance_id,
                "contribution_record_ids": contributions.iter().map(|c| c.id).collect::<Vec<_>>(),
                "award_ids": contributions.iter().flat_map(|c| c.awards.iter().map(|a| a.id)).collect::<Vec<_>>(),
                "revision_context_preparation_id": outcome.preparation.as_ref().map(|p| p.id),
            }),
        },
    )
    .await?;
    jobs::enqueue(
        conn,
        NewJob {
            idempotency_key: Some(format!("{}:{review_id}", ReputationArgs::KIND)),
            correlation_id: requester.correlation_id.clone(),
            ..NewJob::of(&ReputationArgs { review_id })
        },
    )
    .await?;
    Ok(())
}

/// Refuses resolutions of findings that are not prior findings of this task (422
/// `finding_resolution_unknown`) or that a previous review already closed (409
/// `finding_already_closed`, AS37: a closed finding is never resolved or reopened).
fn check_resolution_targets(
    prior: &[PriorFinding],
    resolutions: &[NewResolution],
) -> Result<(), CommandError> {
    for r in resolutions {
        match prior.iter().find(|f| f.id == r.finding_id) {
            None => {
                return Err(invalid(
                    ErrorCode::FindingResolutionUnknown,
                    "a resolution names a finding that no earlier review of this task raised",
                )
                .with_details(json!({ "finding_id": r.finding_id })));
            }
            Some(f) if f.status != FindingStatus::Open => {
                return Err(CommandError::new(
                    ErrorCode::FindingAlreadyClosed,
                    format!(
                        "the finding was already closed as {}; raise a new finding instead",
                        f.status
                    ),
                )
                .with_details(json!({ "finding_id": r.finding_id })));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Who a contribution record is for, and under which frozen version.
enum Contributor {
    Reviewer {
        reviewer_id: Uuid,
        review_id: Uuid,
        lease_id: Uuid,
        version: Uuid,
    },
    Submitter {
        final_acceptance_id: Uuid,
        assignment_id: Uuid,
        version: Uuid,
    },
}

async fn contribute(
    conn: &mut PgConnection,
    task: &TaskRow,
    submission: &LeasedSubmission,
    who: Contributor,
    correlation: Option<&str>,
) -> Result<RecordedContribution, CommandError> {
    let id = Uuid::now_v7();
    let (kind, contributor, version) = match &who {
        Contributor::Reviewer {
            reviewer_id,
            version,
            ..
        } => (ContributionType::CompletedReview, *reviewer_id, *version),
        Contributor::Submitter { version, .. } => (
            ContributionType::AcceptedSubmission,
            submission.contributor_id,
            *version,
        ),
    };
    let (review, lease, acceptance, assignment) = match who {
        Contributor::Reviewer {
            review_id,
            lease_id,
            ..
        } => (Some(review_id), Some(lease_id), None, None),
        Contributor::Submitter {
            final_acceptance_id,
            assignment_id,
            ..
        } => (None, None, Some(final_acceptance_id), Some(assignment_id)),
    };
    sqlx::query!(
        "INSERT INTO contribution_records (id, project_id, task_id, submission_id, contribution_type, \
         contributor_id, source_review_id, source_review_lease_id, source_final_acceptance_id, \
         source_task_assignment_id, artifact_hash, contribution_policy_version_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        id,
        task.project_id,
        task.id,
        submission.id,
        kind.as_str(),
        contributor,
        review,
        lease,
        acceptance,
        assignment,
        &submission.archive_sha256,
        version,
    )
    .execute(&mut *conn)
    .await?;
    let awards = awards::award(conn, id, correlation).await?;
    Ok(RecordedContribution {
        id,
        contribution_type: kind.to_string(),
        contributor_id: contributor,
        contribution_policy_version_id: version,
        awards,
    })
}

/// Every review of a task, in the order they were completed, each as [`review_view`].
pub async fn task_reviews(
    conn: &mut PgConnection,
    task_id: Uuid,
) -> Result<Vec<ReviewView>, CommandError> {
    let ids = sqlx::query_scalar!(
        "SELECT id FROM reviews WHERE task_id = $1 ORDER BY completed_at, id",
        task_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut reviews = Vec::with_capacity(ids.len());
    for id in ids {
        reviews.push(review_view(conn, id).await?);
    }
    Ok(reviews)
}

/// A stored review with its findings and resolutions.
pub async fn review_view(
    conn: &mut PgConnection,
    review_id: Uuid,
) -> Result<ReviewView, CommandError> {
    let review = sqlx::query!(
        r#"SELECT id, task_id, submission_id, review_lease_id, predecessor_review_id, reviewer_id,
             decision AS "decision: ReviewDecision", summary, reject_reason, confidence,
             acceptance_evidence_refs, locked_guide_version, completed_at
           FROM reviews WHERE id = $1"#,
        review_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let findings = sqlx::query_as!(
        ReviewFinding,
        "SELECT id, position, finding_kind AS \"kind: _\", area, issue, rationale, \
           required_fix, evidence_ref FROM review_findings WHERE review_id = $1 ORDER BY position",
        review_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let resolutions = sqlx::query_as!(
        ReviewResolution,
        "SELECT finding_id, result AS \"result: _\", rationale, evidence_ref \
         FROM finding_resolutions \
         WHERE review_id = $1 ORDER BY created_at, id",
        review_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(ReviewView {
        id: review.id,
        task_id: review.task_id,
        submission_id: review.submission_id,
        review_lease_id: review.review_lease_id,
        predecessor_review_id: review.predecessor_review_id,
        reviewer_id: review.reviewer_id,
        decision: review.decision,
        summary: review.summary,
        reject_reason: review.reject_reason,
        confidence: review.confidence,
        acceptance_evidence_refs: review.acceptance_evidence_refs,
        locked_guide_version: review.locked_guide_version,
        completed_at: review.completed_at,
        findings,
        resolutions,
    })
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|t| t.trim().is_empty())
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn count_of<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_token_fields_describe_the_enum_tokens() {
        let finding = serde_json::to_value(schemars::schema_for!(NewFinding)).unwrap();
        let kind = &finding["properties"]["kind"];
        assert_eq!(kind["type"], "string");
        assert_eq!(kind["enum"], json!(["blocking", "advisory"]));
        assert!(kind["description"].is_string());
        let resolution = serde_json::to_value(schemars::schema_for!(NewResolution)).unwrap();
        assert_eq!(
            resolution["properties"]["result"]["enum"],
            json!(["resolved", "unresolved", "not_applicable"])
        );
    }
}
