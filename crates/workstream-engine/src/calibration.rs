//! Reviewer calibration: a sampled share of decided submissions is reviewed a second
//! time, blind to the first decision, and how far the two reviews agree is stored
//! (docs/rules.md R52; `migrations/0018_review_calibration.sql`).
//!
//! ```text
//!  Review recorded ──> reputation.record job ──> sample_after_review (the draw)
//!        sampled ──> CalibrationOffer offered (every qualified reviewer of the project)
//!        current / claim ──> leased (one holder, database-time expiry; lapses to offered)
//!        view / file_identity ──> the blind packet: what the first reviewer saw
//!        decide ──> CalibrationReview (agreement, finding overlap), offer recorded
//!             contradicted accept ──> lesson (calibration_disagreement)
//!                                     + sampled_quality_concern (-3) to the first reviewer
//!  agreement ──> per project and per first reviewer; the sprint report's `calibration`
//! ```
//!
//! * **The draw** ([`sample_after_review`], [`is_sampled`]). It runs in the reputation
//!   job after every Review (`crate::after_review`), never in the decision
//!   transaction, which stays exactly as it was (R53). The rate is the
//!   `calibration_sample_percent` of the review policy the submission locked with its
//!   guide (absent = 0). The draw is deterministic: a Review is sampled when the first
//!   8 bytes of sha256(`"calibration:" + review id`), read as a big-endian u64, modulo 100
//!   are below the rate; a replayed job draws the same and opens nothing new (the
//!   sampled review is unique).
//! * **Offers and leases** ([`current`], [`claim`], [`sweep`]). An offer is offered to a
//!   qualified reviewer: an active reviewer grant on the project, an active human with an
//!   active identity link (the review queue's own predicate, `reviewer_holds_query!`),
//!   never the first reviewer, never a submitter of any version of the task (the database
//!   refuses both as holders too). A claim leases it for the locked review policy's lease
//!   duration; database time ends the lease (the offer is offered again) and the offer's
//!   window of [`OFFER_WINDOW_DAYS`] (then it expires). One calibration lease per reviewer.
//! * **The blind packet** ([`view`], [`file_identity`]): the task's terms (without its
//!   state, which would tell the decision), the submission, its files with the checker
//!   findings, the admitting run, the checker-finding changes, the locked guide, and the
//!   findings earlier reviews raised, with only the resolutions given and responses
//!   written before the sampled Review: never the sampled Review's decision, findings or
//!   resolutions, nor anything after it.
//! * **The second decision** ([`decide`]) is validated like a review's: the same request
//!   checks (`reviews::decision::validate`), evidence citing packet files, the locked
//!   policy's allowed decisions and evidence requirement, complete blocking findings,
//!   evidence for an accept, a blocking finding for needs_revision, a bounded reason for a
//!   reject. It records whether the decisions agree and the overlap of the two reviews'
//!   findings by [`review_fingerprint`] ([`finding_overlap_bp`]). A second review that
//!   contradicts an accept opens a `calibration_disagreement` lesson (through
//!   `lessons::open_detected`) and writes the first reviewer's `sampled_quality_concern`
//!   reputation event, folded into their scores as the reputation job folds its own.
//!   Nothing else changes: the first Review, its outcome, the task, the contributions and
//!   the awards stay as they are, and the second reviewer earns no contribution.
//! * **Agreement** ([`agreement`], [`figures`]): per project and per first reviewer, the
//!   sampled, recorded, waiting and expired offers, the decision agreement rate, the mean
//!   finding overlap and the contradicted accepts.
//!
//! Audit events: `calibration_offer_created` (system), `calibration_offer_claimed` and
//! `calibration_review_recorded` (the second reviewer).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::contribution::ContributionType;
use workstream_domain::lifecycle::Refusal;
use workstream_domain::lifecycle::{
    Actor, FindingKind, FindingStatus, ReviewDecision, check_reason,
};
use workstream_domain::machines::authority::ActorStatus;
use workstream_domain::machines::calibration::CalibrationOfferState;
use workstream_domain::{Digest, ErrorCode};
use workstream_store::audit::{self, NewAuditEvent};

use crate::CommandError;
use crate::requester::Requester;
use crate::reviews::decision::{self, DecisionInput, NewFinding};
use crate::reviews::findings::{self, CheckerFinding, FindingChanges};
use crate::reviews::guide_policies;
use crate::reviews::lease::reviewer_holds_query;
use crate::reviews::packet::{
    self, AdmittingRun, FileIdentity, PacketFile, PacketGuide, PacketSubmission, PriorFinding,
};
use crate::tasks::access::Access;

/// How long an offer waits for a second reviewer's decision before it expires.
pub const OFFER_WINDOW_DAYS: i32 = 14;

/// The reputation event a contradicted accept writes to the first reviewer.
pub const SAMPLED_QUALITY_CONCERN: &str = "sampled_quality_concern";

/// Its delta, on the first reviewer's reviewer record.
pub const SAMPLED_QUALITY_CONCERN_DELTA: f64 = -3.0;

// ---------------------------------------------------------------------------------------
// The draw and the measures
// ---------------------------------------------------------------------------------------

/// Whether Review `review_id` is sampled at `percent` (see the module docs): the first 8
/// bytes of sha256(`"calibration:" + review id`), big-endian, modulo 100, below the rate.
pub fn is_sampled(review_id: Uuid, percent: u32) -> bool {
    let digest = Sha256::digest(format!("calibration:{review_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % 100 < u64::from(percent.min(100))
}

/// The fingerprint of a review finding, for the overlap of two reviews: `rf:` and the
/// first 24 hex digits of the sha256 of the canonical JSON `{kind, area, path}` (path:
/// the evidence reference's, or null). The issue's wording is left out: two reviewers
/// who flag the same kind of problem in the same area of the same file agree.
pub fn review_fingerprint(kind: FindingKind, area: &str, path: Option<&str>) -> String {
    let digest = Digest::of_canonical_json(&json!({
        "kind": kind.as_str(), "area": area.trim(), "path": path,
    }))
    .expect("a JSON object of strings is canonical");
    format!("rf:{}", &digest.to_hex()[..24])
}

/// The overlap of two fingerprint sets in basis points: |A ∩ B| / |A ∪ B| x 10000,
/// rounded down; 10000 when both are empty (two reviews that raise nothing agree).
pub fn finding_overlap_bp(a: &BTreeSet<String>, b: &BTreeSet<String>) -> i32 {
    let union = a.union(b).count();
    if union == 0 {
        return 10_000;
    }
    let common = a.intersection(b).count();
    i32::try_from(common * 10_000 / union).unwrap_or(10_000)
}

/// `part / total` to 4 decimal places (integer arithmetic, half up), none without a total.
fn rate(part: i64, total: i64) -> Option<f64> {
    (total > 0).then(|| ((part * 100_000 / total + 5) / 10) as f64 / 10_000.0)
}

// ---------------------------------------------------------------------------------------
// Sampling
// ---------------------------------------------------------------------------------------

/// Draws whether Review `review_id` is sampled under the review policy its submission
/// locked, and opens its offer if so (`calibration_offer_created`). Runs in the
/// `reputation.record` job's transaction (`crate::after_review`); a replay opens nothing new. Returns the new offer.
pub async fn sample_after_review(
    tx: &mut PgConnection,
    review_id: Uuid,
) -> Result<Option<Uuid>, CommandError> {
    let review = sqlx::query!(
        "SELECT t.project_id, r.task_id, r.submission_id, r.reviewer_id, s.locked_guide_id, \
           s.locked_review_policy_hash \
         FROM reviews r JOIN submissions s ON s.id = r.submission_id JOIN tasks t ON t.id = r.task_id \
         WHERE r.id = $1",
        review_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(CommandError::not_found)?;
    let percent = guide_policies(tx, review.locked_guide_id)
        .await?
        .review
        .calibration_sample_percent
        .unwrap_or(0)
        .min(100);
    if !is_sampled(review_id, percent) {
        return Ok(None);
    }
    let offer = sqlx::query!(
        "INSERT INTO calibration_offers (id, project_id, task_id, submission_id, sampled_review_id, \
           first_reviewer_id, review_policy_hash, sample_percent, offer_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(days => $9)) \
         ON CONFLICT (sampled_review_id) DO NOTHING RETURNING id, offer_expires_at",
        Uuid::now_v7(),
        review.project_id,
        review.task_id,
        review.submission_id,
        review_id,
        review.reviewer_id,
        &review.locked_review_policy_hash,
        i32::try_from(percent).unwrap_or(100),
        OFFER_WINDOW_DAYS,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(offer) = offer else {
        return Ok(None);
    };
    audit::append(
        tx,
        NewAuditEvent {
            project_id: Some(review.project_id),
            entity_type: "calibration_offer".into(),
            entity_id: Some(offer.id),
            event_type: "calibration_offer_created".into(),
            to_status: Some(CalibrationOfferState::Offered.to_string()),
            payload: json!({
                "sampled_review_id": review_id,
                "task_id": review.task_id,
                "submission_id": review.submission_id,
                "sample_percent": percent,
                "review_policy_hash": review.locked_review_policy_hash,
                "offer_expires_at": offer.offer_expires_at,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(Some(offer.id))
}

// ---------------------------------------------------------------------------------------
// Offers and leases
// ---------------------------------------------------------------------------------------

/// A calibration offer as a second reviewer sees it: which packet, never the first
/// decision nor who made it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(rename = "CalibrationOffer")]
pub struct Offer {
    /// The offer.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The task.
    pub task_id: Uuid,
    /// The task's title.
    pub task_title: String,
    /// The submission the sampled Review judged.
    pub submission_id: Uuid,
    /// Its version.
    pub submission_version: i32,
    /// `offered`, `leased`, `recorded` or `expired`.
    pub state: CalibrationOfferState,
    /// The second reviewer holding it (leased or recorded).
    pub holder_id: Option<Uuid>,
    /// When the lease ends (database time), while leased.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// When the offer expires unless recorded.
    pub offer_expires_at: DateTime<Utc>,
    /// When the Review was sampled.
    pub created_at: DateTime<Utc>,
}

/// What [`current`] answers: the calibration the caller holds, or one offer, or neither.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(rename = "CalibrationCurrent")]
pub struct Current {
    /// The offer the caller holds (leased to them).
    pub held: Option<Offer>,
    /// One offer the caller may claim, when they hold none.
    pub offer: Option<Offer>,
}

/// `sqlx::query_as!` of [`Offer`] rows: the offer `o` with its task and submission,
/// then `$after`.
macro_rules! offer_query {
    ($after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Offer,
            r#"SELECT o.id, o.project_id, o.task_id, t.title AS task_title, o.submission_id,
                 s.version AS submission_version, o.state AS "state: _", o.holder_id,
                 o.lease_expires_at, o.offer_expires_at, o.created_at
               FROM calibration_offers o JOIN tasks t ON t.id = o.task_id
               JOIN submissions s ON s.id = o.submission_id "# + $after
            $(, $arg)*
        )
    };
}

/// Ends what database time has ended: leases past their expiry are offered again,
/// leases whose holder lost the reviewer's authority likewise, and offers past their
/// window expire (a lease on one ends with it).
pub async fn sweep(conn: &mut PgConnection) -> Result<(), CommandError> {
    let (offered, leased, expired) = (
        CalibrationOfferState::Offered.as_str(),
        CalibrationOfferState::Leased.as_str(),
        CalibrationOfferState::Expired.as_str(),
    );
    sqlx::query!(
        "UPDATE calibration_offers SET state = $1, holder_id = NULL, leased_at = NULL, \
           lease_expires_at = NULL \
         WHERE state = $2 AND lease_expires_at <= now() AND offer_expires_at > now()",
        offered,
        leased,
    )
    .execute(&mut *conn)
    .await?;
    reviewer_holds_query!(
        "UPDATE calibration_offers o SET state = $1, holder_id = NULL, leased_at = NULL, \
           lease_expires_at = NULL \
         WHERE o.state = $2 AND NOT",
        "o.holder_id",
        "o.project_id",
        "$3",
        "",
        offered,
        leased,
        ActorStatus::Active.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE calibration_offers SET state = $1, holder_id = NULL, leased_at = NULL, \
           lease_expires_at = NULL \
         WHERE state IN ($2, $3) AND offer_expires_at <= now()",
        expired,
        offered,
        leased,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The offer reviewer `reviewer` holds, if any.
async fn held_by(conn: &mut PgConnection, reviewer: Uuid) -> Result<Option<Offer>, CommandError> {
    Ok(offer_query!(
        "WHERE o.holder_id = $1 AND o.state = $2",
        reviewer,
        CalibrationOfferState::Leased.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// An offer by id, whoever holds it.
pub async fn offer(conn: &mut PgConnection, offer_id: Uuid) -> Result<Option<Offer>, CommandError> {
    Ok(offer_query!("WHERE o.id = $1", offer_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The offers reviewer `$1` may claim (`$2`, when not null, narrows to one), ordered
/// by `$order` (oldest first, and a lock or not): offered, of a project where they hold
/// the reviewer's authority (`reviewer_holds_query!`, `$4` an active actor), not their
/// own Review, not a task they submitted to.
macro_rules! claimable_query {
    ($order:tt $(, $arg:expr)* $(,)?) => {
        reviewer_holds_query!(
            "SELECT o.id FROM calibration_offers o \
             WHERE o.state = $3 AND ($2::uuid IS NULL OR o.id = $2) AND o.first_reviewer_id <> $1 \
               AND NOT EXISTS (SELECT 1 FROM submissions x \
                               WHERE x.task_id = o.task_id AND x.contributor_id = $1) \
               AND",
            "$1",
            "o.project_id",
            "$4",
            $order
            $(, $arg)*
        )
    };
}

/// The offer `reviewer` may claim, oldest first; `only` narrows to one offer.
async fn claimable(
    conn: &mut PgConnection,
    reviewer: Uuid,
    only: Option<Uuid>,
    lock: bool,
) -> Result<Option<Offer>, CommandError> {
    let (offered, active) = (
        CalibrationOfferState::Offered.as_str(),
        ActorStatus::Active.as_str(),
    );
    let id = if lock {
        claimable_query!(
            "ORDER BY o.created_at, o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED",
            reviewer,
            only,
            offered,
            active
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.id)
    } else {
        claimable_query!(
            "ORDER BY o.created_at, o.id LIMIT 1",
            reviewer,
            only,
            offered,
            active
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.id)
    };
    match id {
        Some(id) => offer(conn, id).await,
        None => Ok(None),
    }
}

/// The calibration the caller holds, or one offer, or nothing.
pub async fn current(conn: &mut PgConnection, reviewer: Uuid) -> Result<Current, CommandError> {
    sweep(conn).await?;
    if let Some(held) = held_by(conn, reviewer).await? {
        return Ok(Current {
            held: Some(held),
            offer: None,
        });
    }
    Ok(Current {
        held: None,
        offer: claimable(conn, reviewer, None, false).await?,
    })
}

/// Leases `offer_id` (or, without one, the offer [`current`] would show) to the caller
/// for the locked review policy's lease duration (`calibration_offer_claimed`).
///
/// Refusals: 409 `calibration_lease_active` when the caller already holds one; for a
/// named offer of a project the caller reviews, 403 `calibration_own_review` to its
/// first reviewer and 403 `self_review_forbidden` to a submitter of the task; the
/// concealed 404 for any other offer they may not claim (foreign, taken, recorded,
/// expired); 404 `no_calibration_offer` when nothing waits for them.
pub async fn claim(
    conn: &mut PgConnection,
    requester: &Requester,
    offer_id: Option<Uuid>,
) -> Result<Offer, CommandError> {
    sweep(conn).await?;
    // The reviewer's profile row serializes their claims: one calibration lease each.
    workstream_store::tasks::lock_contributor(conn, requester.actor_id).await?;
    if let Some(held) = held_by(conn, requester.actor_id).await? {
        return Err(CommandError::new(
            ErrorCode::CalibrationLeaseActive,
            "you already hold a calibration; record its decision first",
        )
        .with_details(json!({ "offer_id": held.id })));
    }
    let Some(offer) = claimable(conn, requester.actor_id, offer_id, true).await? else {
        return Err(match offer_id {
            Some(id) => refusal_for_offer(conn, requester.actor_id, id).await?,
            None => CommandError::from(ErrorCode::NoCalibrationOffer),
        });
    };
    let guide = sqlx::query_scalar!(
        "SELECT locked_guide_id FROM submissions WHERE id = $1",
        offer.submission_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let policies = guide_policies(conn, guide).await?;
    let access = Access::read(conn, requester.actor_id, offer.project_id, true).await?;
    let grant = access.require(Actor::Reviewer)?;
    sqlx::query!(
        "UPDATE calibration_offers SET state = $2, holder_id = $3, leased_at = now(), \
           lease_expires_at = now() + make_interval(secs => $4) \
         WHERE id = $1 AND state = $5",
        offer.id,
        CalibrationOfferState::Leased.as_str(),
        requester.actor_id,
        policies.review.review_lease_duration_seconds as f64,
        CalibrationOfferState::Offered.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    let leased = self::offer(conn, offer.id)
        .await?
        .ok_or_else(|| CommandError::internal("a calibration offer vanished"))?;
    audit::append(
        conn,
        NewAuditEvent {
            project_id: Some(leased.project_id),
            entity_type: "calibration_offer".into(),
            entity_id: Some(leased.id),
            event_type: "calibration_offer_claimed".into(),
            from_status: Some(CalibrationOfferState::Offered.to_string()),
            to_status: Some(CalibrationOfferState::Leased.to_string()),
            actor_id: Some(requester.actor_id),
            payload: json!({
                "matched_grant_id": grant,
                "permission": "review.calibration.claim",
                "task_id": leased.task_id,
                "submission_id": leased.submission_id,
                "lease_expires_at": leased.lease_expires_at,
            }),
            correlation_id: requester.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(leased)
}

/// Why `offer_id` may not be claimed by `reviewer`: its first reviewer and a submitter
/// of the task are told (they review the project and should know why), anything else
/// is the concealed 404.
async fn refusal_for_offer(
    conn: &mut PgConnection,
    reviewer: Uuid,
    offer_id: Uuid,
) -> Result<CommandError, CommandError> {
    let Some(found) = sqlx::query!(
        r#"SELECT project_id, first_reviewer_id,
             EXISTS (SELECT 1 FROM submissions s WHERE s.task_id = o.task_id
                     AND s.contributor_id = $2) AS "submitted!"
           FROM calibration_offers o WHERE id = $1"#,
        offer_id,
        reviewer,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(CommandError::not_found());
    };
    let access = Access::read(conn, reviewer, found.project_id, false).await?;
    if access.grant_for(Actor::Reviewer).is_none() {
        return Ok(access.denied());
    }
    Ok(if found.first_reviewer_id == reviewer {
        ErrorCode::CalibrationOwnReview.into()
    } else if found.submitted {
        CommandError::new(
            ErrorCode::SelfReviewForbidden,
            "you submitted work on this task and cannot review it",
        )
    } else {
        CommandError::not_found()
    })
}

/// The offer `offer_id` if the caller holds its lease now; otherwise the concealed 404.
async fn held_offer(
    conn: &mut PgConnection,
    requester: &Requester,
    offer_id: Uuid,
) -> Result<Offer, CommandError> {
    sweep(conn).await?;
    match offer(conn, offer_id).await? {
        Some(o)
            if o.holder_id == Some(requester.actor_id)
                && o.state == CalibrationOfferState::Leased =>
        {
            Ok(o)
        }
        _ => Err(CommandError::not_found()),
    }
}

// ---------------------------------------------------------------------------------------
// The blind packet
// ---------------------------------------------------------------------------------------

/// The task's terms, as the second reviewer reads them: without its state.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BlindTask {
    /// Id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// Title.
    pub title: String,
    /// What to do.
    pub description: String,
    /// A free label.
    pub task_type: Option<String>,
    /// `easy|medium|hard|expert`.
    pub difficulty: Option<String>,
    /// Skill labels.
    pub skill_tags: Vec<String>,
    /// What an accepted answer must do.
    pub acceptance_criteria: String,
    /// What gets an answer rejected.
    pub rejection_criteria: String,
}

/// What the holder of a calibration reads: the packet the first reviewer was shown,
/// without the sampled Review's decision, findings or resolutions (see the module docs).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BlindPacket {
    /// The caller's calibration.
    pub offer: Offer,
    /// The task's terms.
    pub task: BlindTask,
    /// The submission the sampled Review judged.
    pub submission: PacketSubmission,
    /// Its files, each with the checker findings about it.
    pub files: Vec<PacketFile>,
    /// Checker findings about the packet as a whole.
    pub packet_findings: Vec<CheckerFinding>,
    /// The run that admitted the packet to review.
    pub checker_run: AdmittingRun,
    /// Checker findings new, persisting and fixed since the previous version.
    pub checker_finding_changes: FindingChanges,
    /// The guide the submission was held to.
    pub guide: PacketGuide,
    /// The findings earlier reviews raised, as they stood when the sampled Review began.
    pub prior_findings: Vec<PriorFinding>,
}

/// The sampled Review of an offer, as far as the blind packet needs it.
struct Sampled {
    review_id: Uuid,
    completed_at: DateTime<Utc>,
    queue_entry_id: Uuid,
}

async fn sampled(conn: &mut PgConnection, offer_id: Uuid) -> Result<Sampled, CommandError> {
    Ok(sqlx::query_as!(
        Sampled,
        "SELECT r.id AS review_id, r.completed_at, l.queue_entry_id \
         FROM calibration_offers o JOIN reviews r ON r.id = o.sampled_review_id \
         JOIN review_leases l ON l.id = r.review_lease_id WHERE o.id = $1",
        offer_id,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The findings of earlier reviews of `task_id` as they stood before the sampled Review:
/// raised by a review completed before it, with the resolutions those reviews gave and
/// the responses of versions up to the judged one, the status recomputed from them.
async fn findings_before(
    conn: &mut PgConnection,
    task_id: Uuid,
    sampled: &Sampled,
    version: i32,
) -> Result<Vec<PriorFinding>, CommandError> {
    let earlier: BTreeSet<Uuid> = sqlx::query_scalar!(
        "SELECT id FROM reviews WHERE task_id = $1 AND (completed_at, id) < ($2, $3)",
        task_id,
        sampled.completed_at,
        sampled.review_id,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    Ok(packet::prior_findings(conn, task_id)
        .await?
        .into_iter()
        .filter(|f| earlier.contains(&f.review_id))
        .map(|mut f| {
            f.resolutions.retain(|r| earlier.contains(&r.review_id));
            f.responses.retain(|p| p.version <= version);
            f.status =
                FindingStatus::after(f.resolutions.iter().map(|r| r.result).find(|r| r.closes()));
            f
        })
        .collect())
}

/// The blind packet of the calibration the caller holds (see the module docs).
pub async fn view(
    conn: &mut PgConnection,
    requester: &Requester,
    offer_id: Uuid,
) -> Result<BlindPacket, CommandError> {
    let offer = held_offer(conn, requester, offer_id).await?;
    let task = sqlx::query_as!(
        BlindTask,
        "SELECT id, project_id, title, description, task_type, difficulty, skill_tags, \
           acceptance_criteria, rejection_criteria FROM tasks WHERE id = $1",
        offer.task_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let submission = packet::packet_submission(conn, offer.submission_id).await?;
    let guide = packet::locked_guide(conn, offer.submission_id).await?;
    let (files, packet_findings) = packet::annotated_files(conn, offer.submission_id).await?;
    let sampled = sampled(conn, offer.id).await?;
    let prior_findings = findings_before(conn, offer.task_id, &sampled, submission.version).await?;
    let checker_run = packet::admitting_run_of_entry(conn, sampled.queue_entry_id).await?;
    Ok(BlindPacket {
        checker_finding_changes: findings::changes_since_predecessor(conn, offer.submission_id)
            .await?,
        offer,
        task,
        submission,
        files,
        packet_findings,
        checker_run,
        guide,
        prior_findings,
    })
}

/// The stored identity of file `path` of the packet the caller's calibration is about
/// (the concealed 404 for an offer they do not hold or a path the packet lacks).
pub async fn file_identity(
    conn: &mut PgConnection,
    requester: &Requester,
    offer_id: Uuid,
    path: &str,
) -> Result<FileIdentity, CommandError> {
    let offer = held_offer(conn, requester, offer_id).await?;
    packet::stored_file(conn, offer.submission_id, path).await
}

// ---------------------------------------------------------------------------------------
// The second decision
// ---------------------------------------------------------------------------------------

/// The second reviewer's decision, as they send it: a review's decision without
/// resolutions (a calibration closes no finding).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalibrationInput {
    /// `accept`, `needs_revision` or `reject`.
    pub decision: String,
    /// What the reviewer found overall (at most 20,000 characters).
    #[serde(default)]
    pub summary: String,
    /// `low`, `medium` or `high`.
    #[serde(default)]
    pub confidence: Option<String>,
    /// Required for reject: bounded.
    #[serde(default)]
    pub reject_reason: Option<String>,
    /// Required for accept: what in the packet supports it (`{path, line?, note?}`).
    #[serde(default)]
    pub acceptance_evidence_refs: Vec<Value>,
    /// The findings the reviewer raises.
    #[serde(default)]
    pub findings: Vec<NewFinding>,
}

impl CalibrationInput {
    /// The same request as a review decision, for the review's own checks.
    fn as_decision(&self) -> DecisionInput {
        DecisionInput {
            decision: self.decision.clone(),
            summary: self.summary.clone(),
            confidence: self.confidence.clone(),
            reject_reason: self.reject_reason.clone(),
            acceptance_evidence_refs: self.acceptance_evidence_refs.clone(),
            findings: self.findings.clone(),
            resolutions: Vec::new(),
        }
    }
}

/// A recorded calibration review.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CalibrationReview {
    /// Id.
    pub id: Uuid,
    /// The offer it recorded.
    pub offer_id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The Review it calibrates.
    pub sampled_review_id: Uuid,
    /// Who made that Review.
    pub first_reviewer_id: Uuid,
    /// The second reviewer.
    pub reviewer_id: Uuid,
    /// The second decision.
    pub decision: ReviewDecision,
    /// The sampled Review's decision.
    pub first_decision: ReviewDecision,
    /// The second reviewer's summary.
    pub summary: String,
    /// `low`, `medium` or `high`.
    pub confidence: Option<String>,
    /// Why the second reviewer would reject (reject only).
    pub reject_reason: Option<String>,
    /// The evidence a second accept cites.
    pub acceptance_evidence_refs: Value,
    /// The second reviewer's findings, each with its `fingerprint`.
    pub findings: Value,
    /// The sampled Review's findings as fingerprints.
    pub first_finding_fingerprints: Vec<String>,
    /// Whether the two decisions are the same.
    pub decision_agrees: bool,
    /// The overlap of the two reviews' findings, in basis points (10000: identical).
    pub finding_overlap_bp: i32,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// What [`decide`] recorded.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "CalibrationRecorded")]
pub struct Recorded {
    /// The calibration review.
    pub calibration_review: CalibrationReview,
    /// The `calibration_disagreement` lesson a contradicted accept opened.
    pub lesson_id: Option<Uuid>,
    /// The first reviewer's `sampled_quality_concern` event (a contradicted accept).
    pub reputation_event_id: Option<Uuid>,
}

/// The offer row under lock, with what the decision needs.
struct LockedOffer {
    project_id: Uuid,
    task_id: Uuid,
    submission_id: Uuid,
    sampled_review_id: Uuid,
    first_reviewer_id: Uuid,
    holder_id: Option<Uuid>,
    state: CalibrationOfferState,
    live: bool,
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// Checks the second decision against the locked review policy and the rules a
/// review's decision meets (see the module docs).
async fn judge(
    conn: &mut PgConnection,
    submission_id: Uuid,
    decision: ReviewDecision,
    input: &CalibrationInput,
    as_decision: &DecisionInput,
) -> Result<(), CommandError> {
    let guide = sqlx::query_scalar!(
        "SELECT locked_guide_id FROM submissions WHERE id = $1",
        submission_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let policy = guide_policies(conn, guide).await?.review;
    if !policy
        .allowed_decisions
        .iter()
        .any(|d| d == decision.as_str())
    {
        return Err(CommandError::new(
            ErrorCode::DecisionNotAllowed,
            format!(
                "the locked review policy does not allow {}",
                decision.as_str()
            ),
        ));
    }
    decision::check_evidence_paths(conn, submission_id, as_decision).await?;
    let blocking: Vec<&NewFinding> = input.findings.iter().filter(|f| f.is_blocking()).collect();
    let incomplete = blocking
        .iter()
        .filter(|f| blank(&f.rationale) || blank(&f.required_fix))
        .count();
    if incomplete > 0 {
        return Err(Refusal::FindingIncomplete {
            count: u32::try_from(incomplete).unwrap_or(u32::MAX),
        }
        .into());
    }
    let missing_evidence = match policy.finding_evidence_requirement.as_str() {
        "required_for_all" => input
            .findings
            .iter()
            .filter(|f| f.evidence_ref.is_none())
            .count(),
        "required_for_blocking" => blocking.iter().filter(|f| f.evidence_ref.is_none()).count(),
        _ => 0,
    };
    if missing_evidence > 0 {
        return Err(Refusal::FindingEvidenceRequired {
            count: u32::try_from(missing_evidence).unwrap_or(u32::MAX),
        }
        .into());
    }
    match decision {
        ReviewDecision::Accept if input.acceptance_evidence_refs.is_empty() => {
            Err(Refusal::EvidenceRequired.into())
        }
        ReviewDecision::NeedsRevision if blocking.is_empty() => {
            Err(Refusal::BlockingFindingRequired.into())
        }
        ReviewDecision::Reject => {
            check_reason(input.reject_reason.as_deref().unwrap_or(""))?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Records the second decision of the holder of `offer_id` (see the module docs), in
/// the caller's transaction: the calibration review, the offer `recorded`, and for a
/// contradicted accept the lesson and the first reviewer's reputation event.
///
/// Refusals: the concealed 404 for an offer the caller does not hold (a lease that
/// lapsed has been offered again); 409 `lease_not_active` once the caller has recorded
/// it; the review decision's own 422s.
pub async fn decide(
    conn: &mut PgConnection,
    requester: &Requester,
    offer_id: Uuid,
    input: &CalibrationInput,
) -> Result<Recorded, CommandError> {
    let as_decision = input.as_decision();
    let decision = decision::validate(&as_decision)?;
    sweep(conn).await?;
    let locked = sqlx::query_as!(
        LockedOffer,
        r#"SELECT project_id, task_id, submission_id, sampled_review_id, first_reviewer_id,
             holder_id, state AS "state: _",
             coalesce(lease_expires_at > now(), false) AS "live!"
           FROM calibration_offers WHERE id = $1 FOR UPDATE"#,
        offer_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .filter(|o| o.holder_id == Some(requester.actor_id))
    .ok_or_else(CommandError::not_found)?;
    if locked.state != CalibrationOfferState::Leased || !locked.live {
        return Err(CommandError::new(
            ErrorCode::LeaseNotActive,
            format!("the calibration is {}", locked.state),
        ));
    }
    let access = Access::read(conn, requester.actor_id, locked.project_id, true).await?;
    let grant = access.require(Actor::Reviewer)?;
    judge(conn, locked.submission_id, decision, input, &as_decision).await?;

    // The sampled Review, as it was recorded.
    let first = sqlx::query!(
        r#"SELECT r.decision AS "decision: ReviewDecision", t.title, t.skill_tags,
             (SELECT c.id FROM contribution_records c WHERE c.source_review_id = r.id
                AND c.contribution_type = $2) AS "review_contribution_id?"
           FROM reviews r JOIN tasks t ON t.id = r.task_id WHERE r.id = $1"#,
        locked.sampled_review_id,
        ContributionType::CompletedReview.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    let first_fingerprints: BTreeSet<String> = sqlx::query!(
        r#"SELECT finding_kind AS "kind: FindingKind", area, evidence_ref ->> 'path' AS path
           FROM review_findings WHERE review_id = $1 ORDER BY position"#,
        locked.sampled_review_id,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|f| review_fingerprint(f.kind, &f.area, f.path.as_deref()))
    .collect();
    let mut second_fingerprints = BTreeSet::new();
    let mut findings = Vec::with_capacity(input.findings.len());
    for f in &input.findings {
        let kind = f.finding_kind()?;
        let path = f
            .evidence_ref
            .as_ref()
            .and_then(|e| e["path"].as_str())
            .map(str::to_owned);
        let fingerprint = review_fingerprint(kind, &f.area, path.as_deref());
        second_fingerprints.insert(fingerprint.clone());
        findings.push(json!({
            "kind": kind.as_str(),
            "area": f.area.trim(),
            "issue": f.issue.trim(),
            "rationale": f.rationale.as_deref().map(str::trim),
            "required_fix": f.required_fix.as_deref().map(str::trim),
            "evidence_ref": f.evidence_ref,
            "fingerprint": fingerprint,
        }));
    }
    let overlap = finding_overlap_bp(&first_fingerprints, &second_fingerprints);
    let agrees = decision == first.decision;
    let reject_reason = input
        .reject_reason
        .as_deref()
        .map(str::trim)
        .map(str::to_owned);
    let review_id = Uuid::now_v7();
    let first_list: Vec<String> = first_fingerprints.into_iter().collect();
    sqlx::query!(
        "INSERT INTO calibration_reviews (id, offer_id, project_id, sampled_review_id, \
           first_reviewer_id, reviewer_id, decision, first_decision, summary, confidence, \
           reject_reason, acceptance_evidence_refs, findings, first_finding_fingerprints, \
           decision_agrees, finding_overlap_bp) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        review_id,
        offer_id,
        locked.project_id,
        locked.sampled_review_id,
        locked.first_reviewer_id,
        requester.actor_id,
        decision.as_str(),
        first.decision.as_str(),
        input.summary.trim(),
        input.confidence.as_deref(),
        reject_reason.as_deref(),
        json!(input.acceptance_evidence_refs),
        json!(findings),
        &first_list,
        agrees,
        overlap,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE calibration_offers SET state = $2, leased_at = NULL, lease_expires_at = NULL \
         WHERE id = $1",
        offer_id,
        CalibrationOfferState::Recorded.as_str(),
    )
    .execute(&mut *conn)
    .await?;

    // A contradicted accept: a lesson for the project, a concern on the first reviewer's
    // record. Neither touches the Review, the task, its contributions or its awards.
    let (mut lesson_id, mut reputation_event_id) = (None, None);
    if first.decision == ReviewDecision::Accept && decision != ReviewDecision::Accept {
        lesson_id = crate::lessons::open_detected(
            conn,
            locked.project_id,
            Some(locked.task_id),
            &format!("calibration:{offer_id}"),
            "calibration_disagreement",
            "calibration_review",
            review_id,
            "reviewer_policy_update",
            &format!(
                "A calibration review found \"{}\" {} where its review accepted it.",
                first.title,
                decision.as_str()
            ),
            "Compare the two reviews with the guide and the acceptance criteria; state in \
             the guide or the review policy what the reviewers read differently.",
            json!({
                "offer_id": offer_id,
                "calibration_review_id": review_id,
                "sampled_review_id": locked.sampled_review_id,
                "first_decision": first.decision.as_str(),
                "second_decision": decision.as_str(),
                "finding_overlap_bp": overlap,
            }),
        )
        .await?;
        reputation_event_id = sqlx::query_scalar!(
            "INSERT INTO reputation_events (id, actor_id, project_id, role, event_type, task_id, \
             submission_id, review_id, contribution_record_id, skill_tags, weight, score_delta, reason, source_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11::float8::numeric, $12, $13) \
             ON CONFLICT (source_key) DO NOTHING RETURNING id",
            Uuid::now_v7(),
            locked.first_reviewer_id,
            locked.project_id,
            crate::reputation::Role::Reviewer.as_str(),
            SAMPLED_QUALITY_CONCERN,
            locked.task_id,
            locked.submission_id,
            locked.sampled_review_id,
            first.review_contribution_id,
            &first.skill_tags,
            SAMPLED_QUALITY_CONCERN_DELTA,
            "a blind second review contradicted this reviewer's accept",
            &format!("calibration:{offer_id}:{SAMPLED_QUALITY_CONCERN}"),
        )
        .fetch_optional(&mut *conn)
        .await?;
        let events: Vec<Uuid> = reputation_event_id.into_iter().collect();
        crate::reputation::fold_into_scores(conn, &events).await?;
    }
    audit::append(
        conn,
        NewAuditEvent {
            project_id: Some(locked.project_id),
            entity_type: "calibration_offer".into(),
            entity_id: Some(offer_id),
            event_type: "calibration_review_recorded".into(),
            from_status: Some(CalibrationOfferState::Leased.to_string()),
            to_status: Some(CalibrationOfferState::Recorded.to_string()),
            actor_id: Some(requester.actor_id),
            payload: json!({
                "matched_grant_id": grant,
                "permission": "review.calibration.decision",
                "calibration_review_id": review_id,
                "sampled_review_id": locked.sampled_review_id,
                "task_id": locked.task_id,
                "decision": decision.as_str(),
                "first_decision": first.decision.as_str(),
                "decision_agrees": agrees,
                "finding_overlap_bp": overlap,
                "lesson_id": lesson_id,
                "reputation_event_id": reputation_event_id,
            }),
            correlation_id: requester.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(Recorded {
        calibration_review: calibration_review(conn, review_id).await?,
        lesson_id,
        reputation_event_id,
    })
}

/// A calibration review by id.
pub async fn calibration_review(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<CalibrationReview, CommandError> {
    Ok(sqlx::query_as!(
        CalibrationReview,
        r#"SELECT id, offer_id, project_id, sampled_review_id, first_reviewer_id, reviewer_id,
             decision AS "decision: _", first_decision AS "first_decision: _", summary,
             confidence, reject_reason, acceptance_evidence_refs, findings,
             first_finding_fingerprints, decision_agrees, finding_overlap_bp, created_at
           FROM calibration_reviews WHERE id = $1"#,
        id,
    )
    .fetch_one(&mut *conn)
    .await?)
}

// ---------------------------------------------------------------------------------------
// Agreement
// ---------------------------------------------------------------------------------------

/// The agreement figures of a set of sampled Reviews.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Figures {
    /// Reviews sampled (offers opened).
    pub sampled: i64,
    /// Calibration reviews recorded.
    pub recorded: i64,
    /// Offers still waiting for a second reviewer (offered or leased).
    pub waiting: i64,
    /// Offers that expired unrecorded.
    pub expired: i64,
    /// Recorded calibrations whose decision agreed with the first.
    pub decisions_agreeing: i64,
    /// `decisions_agreeing / recorded`, 4 decimal places; null before any is recorded.
    pub decision_agreement_rate: Option<f64>,
    /// The mean finding overlap of the recorded calibrations, as a share (0 to 1, 4
    /// decimal places); null before any is recorded.
    pub mean_finding_overlap: Option<f64>,
    /// Accepts a calibration review contradicted.
    pub contradicted_accepts: i64,
}

/// The figures of one first reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReviewerFigures {
    /// The reviewer whose Reviews were sampled.
    pub reviewer_id: Uuid,
    /// Their name as people read it (`workstream_actor_label`: the display name, else
    /// the subject they sign in with).
    pub display_name: String,
    /// Their figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// Agreement figures: in total and per first reviewer (by name).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Agreement {
    /// Every sampled Review counted.
    pub totals: Figures,
    /// Per reviewer whose Reviews were sampled.
    pub by_reviewer: Vec<ReviewerFigures>,
}

/// Which sampled Reviews [`figures`] counts: a project's, or a sprint's member tasks'
/// with the Review completed in `[starts_at, ends_at)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    /// Only this project's.
    pub project_id: Option<Uuid>,
    /// Only Reviews of this sprint's member tasks.
    pub sprint_id: Option<Uuid>,
    /// Only Reviews completed at or after.
    pub starts_at: Option<DateTime<Utc>>,
    /// Only Reviews completed before.
    pub ends_at: Option<DateTime<Utc>>,
}

/// The agreement figures of the sampled Reviews in `scope`.
pub async fn figures(conn: &mut PgConnection, scope: Scope) -> Result<Agreement, CommandError> {
    let rows = sqlx::query!(
        r#"SELECT o.first_reviewer_id AS reviewer_id,
             workstream_actor_label(o.first_reviewer_id) AS "display_name!",
             count(*) AS "sampled!",
             count(c.id) AS "recorded!",
             count(*) FILTER (WHERE o.state IN ($5, $6)) AS "waiting!",
             count(*) FILTER (WHERE o.state = $7) AS "expired!",
             count(*) FILTER (WHERE c.decision_agrees) AS "agreeing!",
             coalesce(sum(c.finding_overlap_bp), 0)::bigint AS "overlap_bp!",
             count(*) FILTER (WHERE c.first_decision = $8 AND c.decision <> $8) AS "contradicted!"
           FROM calibration_offers o
           JOIN reviews r ON r.id = o.sampled_review_id
           LEFT JOIN calibration_reviews c ON c.offer_id = o.id
           WHERE ($1::uuid IS NULL OR o.project_id = $1)
             AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM evaluation_sprint_tasks m
                                              WHERE m.sprint_id = $2 AND m.task_id = o.task_id))
             AND ($3::timestamptz IS NULL OR r.completed_at >= $3)
             AND ($4::timestamptz IS NULL OR r.completed_at < $4)
           GROUP BY o.first_reviewer_id
           ORDER BY 2, o.first_reviewer_id"#,
        scope.project_id,
        scope.sprint_id,
        scope.starts_at,
        scope.ends_at,
        CalibrationOfferState::Offered.as_str(),
        CalibrationOfferState::Leased.as_str(),
        CalibrationOfferState::Expired.as_str(),
        ReviewDecision::Accept.as_str(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let figure =
        |sampled, recorded, waiting, expired, agreeing, overlap_bp, contradicted| Figures {
            sampled,
            recorded,
            waiting,
            expired,
            decisions_agreeing: agreeing,
            decision_agreement_rate: rate(agreeing, recorded),
            mean_finding_overlap: rate(overlap_bp, recorded * 10_000),
            contradicted_accepts: contradicted,
        };
    let mut sums = [0i64; 7];
    let by_reviewer = rows
        .into_iter()
        .map(|r| {
            for (sum, n) in sums.iter_mut().zip([
                r.sampled,
                r.recorded,
                r.waiting,
                r.expired,
                r.agreeing,
                r.overlap_bp,
                r.contradicted,
            ]) {
                *sum += n;
            }
            ReviewerFigures {
                reviewer_id: r.reviewer_id,
                display_name: r.display_name,
                figures: figure(
                    r.sampled,
                    r.recorded,
                    r.waiting,
                    r.expired,
                    r.agreeing,
                    r.overlap_bp,
                    r.contradicted,
                ),
            }
        })
        .collect();
    let [
        sampled,
        recorded,
        waiting,
        expired,
        agreeing,
        overlap_bp,
        contradicted,
    ] = sums;
    Ok(Agreement {
        totals: figure(
            sampled,
            recorded,
            waiting,
            expired,
            agreeing,
            overlap_bp,
            contradicted,
        ),
        by_reviewer,
    })
}

/// The agreement figures of `project_id` (its managers, operators and auditors read them).
pub async fn agreement(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Agreement, CommandError> {
    sweep(conn).await?;
    figures(
        conn,
        Scope {
            project_id: Some(project_id),
            ..Scope::default()
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_is_deterministic_and_follows_the_rate() {
        let ids: Vec<Uuid> = (0..2000u128).map(Uuid::from_u128).collect();
        assert!(ids.iter().all(|&id| !is_sampled(id, 0)));
        assert!(ids.iter().all(|&id| is_sampled(id, 100)));
        let at_25 = ids.iter().filter(|&&id| is_sampled(id, 25)).count();
        assert!((400..600).contains(&at_25), "{at_25} of 2000 at 25%");
        // A higher rate samples a superset.
        assert!(
            ids.iter()
                .all(|&id| !is_sampled(id, 25) || is_sampled(id, 60))
        );
        // The rule, spelt out for one id.
        let id = Uuid::from_u128(7);
        let digest = Sha256::digest(format!("calibration:{id}").as_bytes());
        let draw = u64::from_be_bytes(digest[..8].try_into().unwrap()) % 100;
        assert!(is_sampled(id, u32::try_from(draw).unwrap() + 1));
        assert!(!is_sampled(id, u32::try_from(draw).unwrap()));
    }

    #[test]
    fn fingerprints_name_kind_area_and_path_and_the_overlap_is_jaccard() {
        let a = review_fingerprint(FindingKind::Blocking, "proof", Some("outputs/a.md"));
        assert!(a.starts_with("rf:") && a.len() == 27, "{a}");
        assert_eq!(
            a,
            review_fingerprint(FindingKind::Blocking, " proof ", Some("outputs/a.md"))
        );
        assert_ne!(
            a,
            review_fingerprint(FindingKind::Advisory, "proof", Some("outputs/a.md"))
        );
        assert_ne!(a, review_fingerprint(FindingKind::Blocking, "proof", None));
        let set = |items: &[&str]| -> BTreeSet<String> {
            items.iter().map(|s| (*s).to_owned()).collect()
        };
        assert_eq!(finding_overlap_bp(&set(&[]), &set(&[])), 10_000);
        assert_eq!(finding_overlap_bp(&set(&["a"]), &set(&[])), 0);
        assert_eq!(
            finding_overlap_bp(&set(&["a", "b"]), &set(&["b", "c"])),
            3_333
        );
        assert_eq!(
            finding_overlap_bp(&set(&["a", "b"]), &set(&["b", "a"])),
            10_000
        );
    }

    #[test]
    fn rates_are_four_places_and_none_without_a_total() {
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(15_000, 20_000), Some(0.75));
    }
}
