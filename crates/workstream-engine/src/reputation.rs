//! Reputation: an outcome ledger read from review lineage, never written by a decision
//! (docs/architecture.md; docs/rules.md; R53).
//!
//! The review decision transaction enqueues one `reputation.record` job per Review
//! ([`crate::after_review`]). Its first step is [`record_review`]: it reads the Review,
//! its findings, the task's difficulty and skill tags and the review chain, asks
//! [`plan`] which events the Review earns, appends them to `reputation_events` and folds
//! them into `reputation_scores`, in the job's transaction, which `jobs::complete`
//! fences, so a replay under a new lease changes nothing (`source_key` is unique); then
//! it runs lesson detection ([`crate::lessons::detect_after_review`]). Nothing here
//! touches a task, a review, an acceptance or an award: reputation never changes a
//! product decision.
//!
//! # Rules (docs/rules.md, made exact)
//!
//! Submitter, per Review of their submission:
//!
//! | decision | event | delta |
//! |---|---|---|
//! | accept | `accepted` | +3 x difficulty weight (easy 1, medium 1.5, hard 2, expert 2.5, unset 1) |
//! | accept after one or more `needs_revision` Reviews of the task | also `revision_closed` | +1 |
//! | needs_revision | `needs_revision` | -1 |
//! | reject | `rejected` | -3 |
//!
//! Reviewer, per Review they decided: `clear_review` (+2) when every finding states an
//! issue and either a required fix or a rationale (a blocking finding always has a fix,
//! the schema demands it), and `unclear_feedback` (-2) otherwise. A Review without
//! findings is clear: a reject carries its reason and an accept its evidence, both
//! required by the schema. `missed_prior_finding` is never earned: the schema refuses an
//! accept while a prior blocking finding is open.
//!
//! `late_submission` (-1, submitter): the first submission under an assignment came after
//! the assignment's `due_at` (the task's `deadline_at`, or the estimate times the locked
//! revision policy's `due_time_factor` after the claim: migrations/0014). Earned once per
//! assignment (`source_key` `late_submission:<assignment>`), with whichever of its
//! reviews is recorded first.
//!
//! `sampled_quality_concern` (-3, reviewer) is written by reviewer calibration
//! ([`crate::calibration`]) when a second review contradicts the reviewer's accept, and
//! folded into the scores with [`fold_into_scores`] like every event here.
//!
//! # Scores
//!
//! One row per (actor, role, skill tag), plus the overall tag `*`; a submitter's and a
//! reviewer's records are separate. Each row keeps the counts and the evidence masses
//! (the sums of positive deltas and of the magnitudes of negative ones); the score is
//! `workstream_reputation_score(positive, negative)` (migration 0007): 100 x the lower
//! bound of the 95% Wilson interval of the positive share, treating every point of
//! delta as one unit of evidence. A lower bound is fair to newcomers and to veterans
//! alike: a single accept cannot outrank a long, mostly positive record, and a score
//! grows with evidence instead of jumping to 100. [`recompute`] rebuilds every row from
//! the events with the same aggregate and the same function, so it must agree exactly
//! with the incremental updates; it reports how many rows it had to correct.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::lifecycle::ReviewDecision;
use workstream_store::audit::NewAuditEvent;

use crate::CommandError;
use crate::audit::record;
use crate::requester::Requester;

/// Whose record an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The contributor whose submission was reviewed.
    Submitter,
    /// The reviewer who decided.
    Reviewer,
}

impl Role {
    /// The stored token.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Submitter => "submitter",
            Role::Reviewer => "reviewer",
        }
    }
}

/// One finding of the Review, as far as clarity is concerned.
#[derive(Debug, Clone, Default)]
pub struct FindingFacts {
    /// What is wrong.
    pub issue: String,
    /// Why it matters.
    pub rationale: Option<String>,
    /// What to change.
    pub required_fix: Option<String>,
}

/// What [`plan`] needs to know about a Review.
#[derive(Debug, Clone)]
pub struct ReviewFacts {
    /// The Review's decision.
    pub decision: ReviewDecision,
    /// The task's difficulty, if set.
    pub difficulty: Option<String>,
    /// Whether an earlier Review of the task asked for a revision.
    pub earlier_needs_revision: bool,
    /// The Review's own findings.
    pub findings: Vec<FindingFacts>,
    /// The first submission under the reviewed submission's assignment came after the
    /// assignment's due time.
    pub late_submission: bool,
}

/// An event [`plan`] decided a Review earns.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEvent {
    /// Whose record.
    pub role: Role,
    /// The event type (docs/rules.md, R53).
    pub event_type: &'static str,
    /// The weight applied to the base delta.
    pub weight: f64,
    /// The signed delta (base x weight).
    pub delta: f64,
    /// Why, in words.
    pub reason: &'static str,
}

/// The weight of a task's difficulty in an accept's delta.
pub fn difficulty_weight(difficulty: Option<&str>) -> f64 {
    match difficulty {
        Some("medium") => 1.5,
        Some("hard") => 2.0,
        Some("expert") => 2.5,
        _ => 1.0,
    }
}

fn present(text: &Option<String>) -> bool {
    text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// The events a Review earns (see the module docs for the rules).
pub fn plan(facts: &ReviewFacts) -> Vec<PlannedEvent> {
    let mut events = Vec::new();
    let event = |role, event_type, weight: f64, base: f64, reason| PlannedEvent {
        role,
        event_type,
        weight,
        delta: base * weight,
        reason,
    };
    match facts.decision {
        ReviewDecision::Accept => {
            let weight = difficulty_weight(facts.difficulty.as_deref());
            events.push(event(
                Role::Submitter,
                "accepted",
                weight,
                3.0,
                "the submission was accepted",
            ));
            if facts.earlier_needs_revision {
                events.push(event(
                    Role::Submitter,
                    "revision_closed",
                    1.0,
                    1.0,
                    "an accept closed the revision episode",
                ));
            }
        }
        ReviewDecision::NeedsRevision => events.push(event(
            Role::Submitter,
            "needs_revision",
            1.0,
            -1.0,
            "the review asked for a revision",
        )),
        ReviewDecision::Reject => events.push(event(
            Role::Submitter,
            "rejected",
            1.0,
            -3.0,
            "the submission was rejected",
        )),
    }
    if facts.late_submission {
        events.push(event(
            Role::Submitter,
            "late_submission",
            1.0,
            -1.0,
            "the first submission came after its due time",
        ));
    }
    let clear = facts
        .findings
        .iter()
        .all(|f| !f.issue.trim().is_empty() && (present(&f.required_fix) || present(&f.rationale)));
    events.push(if clear {
        event(
            Role::Reviewer,
            "clear_review",
            1.0,
            2.0,
            "every finding states an issue and a fix or rationale",
        )
    } else {
        event(
            Role::Reviewer,
            "unclear_feedback",
            1.0,
            -2.0,
            "a finding lacks both a required fix and a rationale",
        )
    });
    events
}

/// What the job reads about a Review.
#[derive(Debug)]
struct ReviewRow {
    project_id: Uuid,
    task_id: Uuid,
    submission_id: Uuid,
    reviewer_id: Uuid,
    submitter_id: Uuid,
    decision: ReviewDecision,
    difficulty: Option<String>,
    skill_tags: Vec<String>,
    earlier_needs_revision: bool,
    accepted_contribution_id: Option<Uuid>,
    review_contribution_id: Option<Uuid>,
    task_assignment_id: Uuid,
    late_submission: bool,
}

/// What one run of [`record_review`] appended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// The ids of the events appended now (empty on a replay).
    pub event_ids: Vec<Uuid>,
    /// The lessons detection opened.
    pub lessons_opened: Vec<Uuid>,
}

/// Appends the events `review_id` earns and folds them into the scores, in `tx`; then
/// runs lesson detection. Safe to repeat: events already recorded are skipped.
pub async fn record_review(
    tx: &mut PgConnection,
    review_id: Uuid,
) -> Result<Recorded, CommandError> {
    let review = sqlx::query_as!(
        ReviewRow,
        r#"SELECT t.project_id, r.task_id, r.submission_id, r.reviewer_id, s.contributor_id AS submitter_id,
           r.decision AS "decision: _", t.difficulty, t.skill_tags,
           EXISTS (SELECT 1 FROM reviews e WHERE e.task_id = r.task_id AND e.id <> r.id
                   AND e.decision = $2 AND e.completed_at <= r.completed_at) AS "earlier_needs_revision!",
           (SELECT c.id FROM final_acceptances fa JOIN contribution_records c
              ON c.source_final_acceptance_id = fa.id AND c.contribution_type = 'accepted_submission'
            WHERE fa.source_review_id = r.id) AS "accepted_contribution_id?",
           (SELECT c.id FROM contribution_records c WHERE c.source_review_id = r.id
              AND c.contribution_type = 'completed_review') AS "review_contribution_id?",
           s.task_assignment_id,
           coalesce((SELECT a.due_at < (SELECT min(x.submitted_at) FROM submissions x
                                        WHERE x.task_assignment_id = a.id)
                     FROM task_assignments a WHERE a.id = s.task_assignment_id), false) AS "late_submission!"
           FROM reviews r JOIN submissions s ON s.id = r.submission_id JOIN tasks t ON t.id = r.task_id
           WHERE r.id = $1"#,
        review_id,
        ReviewDecision::NeedsRevision.as_str(),
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(CommandError::not_found)?;
    let findings = sqlx::query_as!(
        FindingFacts,
        "SELECT issue, rationale, required_fix FROM review_findings WHERE review_id = $1 ORDER BY position",
        review_id,
    )
    .fetch_all(&mut *tx)
    .await?;
    let facts = ReviewFacts {
        decision: review.decision,
        difficulty: review.difficulty.clone(),
        earlier_needs_revision: review.earlier_needs_revision,
        findings,
        late_submission: review.late_submission,
    };
    let mut event_ids = Vec::new();
    for planned in plan(&facts) {
        let (actor, contribution) = match planned.role {
            Role::Submitter => (
                review.submitter_id,
                if planned.event_type == "accepted" {
                    review.accepted_contribution_id
                } else {
                    None
                },
            ),
            Role::Reviewer => (review.reviewer_id, review.review_contribution_id),
        };
        // A late first submission counts once per assignment, whichever review of it
        // is recorded first.
        let source_key = if planned.event_type == "late_submission" {
            format!("late_submission:{}", review.task_assignment_id)
        } else {
            format!(
                "review:{review_id}:{}:{}",
                planned.role.as_str(),
                planned.event_type
            )
        };
        let inserted = sqlx::query_scalar!(
            "INSERT INTO reputation_events (id, actor_id, project_id, role, event_type, task_id, \
             submission_id, review_id, contribution_record_id, skill_tags, weight, score_delta, reason, source_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::float8::numeric, $12::float8::numeric, $13, $14) \
             ON CONFLICT (source_key) DO NOTHING RETURNING id",
            Uuid::now_v7(),
            actor,
            review.project_id,
            planned.role.as_str(),
            planned.event_type,
            review.task_id,
            review.submission_id,
            review_id,
            contribution,
            &review.skill_tags,
            planned.weight,
            planned.delta,
            planned.reason,
            &source_key,
        )
        .fetch_optional(&mut *tx)
        .await?;
        event_ids.extend(inserted);
    }
    fold_into_scores(tx, &event_ids).await?;
    let lessons_opened = crate::lessons::detect_after_review(
        tx,
        review.project_id,
        review.task_id,
        review_id,
        review.decision,
    )
    .await?;
    Ok(Recorded {
        event_ids,
        lessons_opened,
    })
}

/// `sqlx::$query!` of `$before` the score rows the events matching `$filter` (SQL over
/// `e`) add up to `$after`. Its columns are every column of `reputation_scores` a score
/// row is made of, in one order: the incremental fold, the recompute and its comparison
/// all read them from here.
macro_rules! score_rows {
    ($query:ident, $before:tt, $filter:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::$query!(
            $before + " SELECT actor_id, role, skill_tag, accepted_count, needs_revision_count, rejected_count, \
             revision_closed_count, review_count, clear_review_count, unclear_feedback_count, event_count, \
             positive_mass, negative_mass, delta_sum, last_event_id, \
             workstream_reputation_score(positive_mass, negative_mass) AS score \
             FROM (SELECT e.actor_id, e.role, t.tag AS skill_tag, \
               (count(*) FILTER (WHERE e.event_type = 'accepted'))::int AS accepted_count, \
               (count(*) FILTER (WHERE e.event_type = 'needs_revision'))::int AS needs_revision_count, \
               (count(*) FILTER (WHERE e.event_type = 'rejected'))::int AS rejected_count, \
               (count(*) FILTER (WHERE e.event_type = 'revision_closed'))::int AS revision_closed_count, \
               (count(*) FILTER (WHERE e.event_type IN ('clear_review', 'unclear_feedback')))::int AS review_count, \
               (count(*) FILTER (WHERE e.event_type = 'clear_review'))::int AS clear_review_count, \
               (count(*) FILTER (WHERE e.event_type = 'unclear_feedback'))::int AS unclear_feedback_count, \
               count(*) AS event_count, \
               coalesce(sum(e.score_delta) FILTER (WHERE e.score_delta > 0), 0) AS positive_mass, \
               coalesce(-sum(e.score_delta) FILTER (WHERE e.score_delta < 0), 0) AS negative_mass, \
               sum(e.score_delta) AS delta_sum, \
               (array_agg(e.id ORDER BY e.id DESC))[1] AS last_event_id \
               FROM reputation_events e \
               CROSS JOIN LATERAL (SELECT '*'::text AS tag UNION SELECT x FROM unnest(e.skill_tags) x WHERE x <> '*') t \
               WHERE " + $filter + " GROUP BY e.actor_id, e.role, t.tag) a " + $after
            $(, $arg)*
        )
    };
}

/// `sqlx::query!` inserting the score rows of the events matching `$filter` (see
/// `score_rows!`) in key order, then `$after`.
macro_rules! insert_score_rows {
    ($filter:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        score_rows!(
            query,
            "INSERT INTO reputation_scores (actor_id, role, skill_tag, accepted_count, needs_revision_count, \
             rejected_count, revision_closed_count, review_count, clear_review_count, \
             unclear_feedback_count, event_count, positive_mass, negative_mass, delta_sum, last_event_id, score)",
            $filter,
            $after
            $(, $arg)*
        )
    };
}

/// Adds the events `ids` to the score rows they touch (creating missing rows). Rows
/// are written in key order, so two jobs touching the same actors queue rather than
/// deadlock.
pub(crate) async fn fold_into_scores(
    tx: &mut PgConnection,
    ids: &[Uuid],
) -> Result<(), CommandError> {
    if ids.is_empty() {
        return Ok(());
    }
    insert_score_rows!(
        "e.id = ANY($1)",
        "ORDER BY actor_id, role, skill_tag \
         ON CONFLICT (actor_id, role, skill_tag) DO UPDATE SET \
         accepted_count = reputation_scores.accepted_count + EXCLUDED.accepted_count, \
         needs_revision_count = reputation_scores.needs_revision_count + EXCLUDED.needs_revision_count, \
         rejected_count = reputation_scores.rejected_count + EXCLUDED.rejected_count, \
         revision_closed_count = reputation_scores.revision_closed_count + EXCLUDED.revision_closed_count, \
         review_count = reputation_scores.review_count + EXCLUDED.review_count, \
         clear_review_count = reputation_scores.clear_review_count + EXCLUDED.clear_review_count, \
         unclear_feedback_count = reputation_scores.unclear_feedback_count + EXCLUDED.unclear_feedback_count, \
         event_count = reputation_scores.event_count + EXCLUDED.event_count, \
         positive_mass = reputation_scores.positive_mass + EXCLUDED.positive_mass, \
         negative_mass = reputation_scores.negative_mass + EXCLUDED.negative_mass, \
         delta_sum = reputation_scores.delta_sum + EXCLUDED.delta_sum, \
         last_event_id = greatest(reputation_scores.last_event_id, EXCLUDED.last_event_id), \
         score = workstream_reputation_score(reputation_scores.positive_mass + EXCLUDED.positive_mass, \
                                             reputation_scores.negative_mass + EXCLUDED.negative_mass)",
        ids,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What [`recompute`] did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct Recomputed {
    /// Score rows after the rebuild.
    pub rows: i64,
    /// Rows that differed from the incremental result (added, removed or changed);
    /// 0 when the incremental updates were exact.
    pub corrected: i64,
    /// Events the rows were built from.
    pub events: i64,
}

/// Rebuilds every score row from `reputation_events` (Operator recovery), in `tx`, and
/// records `reputation_recomputed`. Holding a SHARE lock on the events while it runs
/// means no job appends (and folds) an event half-way through the rebuild.
pub async fn recompute(
    tx: &mut PgConnection,
    acting: &Requester,
    reason: &str,
) -> Result<Recomputed, CommandError> {
    sqlx::query!("LOCK TABLE reputation_events IN SHARE MODE")
        .execute(&mut *tx)
        .await?;
    // Every column of a row but its key.
    let corrected = score_rows!(
        query_scalar,
        "WITH rebuilt AS (",
        "true",
        r#") SELECT count(*) AS "corrected!" FROM rebuilt r
         FULL JOIN reputation_scores s USING (actor_id, role, skill_tag)
         WHERE ROW(r.accepted_count, r.needs_revision_count, r.rejected_count, r.revision_closed_count,
                   r.review_count, r.clear_review_count, r.unclear_feedback_count, r.event_count,
                   r.positive_mass, r.negative_mass, r.delta_sum, r.last_event_id, r.score)
         IS DISTINCT FROM
               ROW(s.accepted_count, s.needs_revision_count, s.rejected_count, s.revision_closed_count,
                   s.review_count, s.clear_review_count, s.unclear_feedback_count, s.event_count,
                   s.positive_mass, s.negative_mass, s.delta_sum, s.last_event_id, s.score)"#,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM reputation_scores")
        .execute(&mut *tx)
        .await?;
    let rows = insert_score_rows!("true", "ORDER BY actor_id, role, skill_tag")
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let events = sqlx::query_scalar!(r#"SELECT count(*) AS "events!" FROM reputation_events"#)
        .fetch_one(&mut *tx)
        .await?;
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    record(
        tx,
        acting,
        NewAuditEvent {
            entity_type: "reputation_scores".into(),
            event_type: "reputation_recomputed".into(),
            reason: Some(reason.to_owned()),
            payload: json!({ "rows": rows, "corrected": corrected, "events": events }),
            ..Default::default()
        },
    )
    .await?;
    Ok(Recomputed {
        rows,
        corrected,
        events,
    })
}

/// An actor's score rows, overall first, then by role and tag. Decimals are strings
/// (exact, trailing zeros trimmed).
pub async fn scores_of(conn: &mut PgConnection, actor: Uuid) -> Result<Vec<Score>, CommandError> {
    Ok(sqlx::query_as!(
        Score,
        r#"SELECT role, skill_tag, trim_scale(score)::text AS "score!",
           accepted_count::bigint AS "accepted_count!", needs_revision_count::bigint AS "needs_revision_count!",
           rejected_count::bigint AS "rejected_count!", revision_closed_count::bigint AS "revision_closed_count!",
           review_count::bigint AS "review_count!", clear_review_count::bigint AS "clear_review_count!",
           unclear_feedback_count::bigint AS "unclear_feedback_count!", event_count,
           trim_scale(positive_mass)::text AS "positive_mass!", trim_scale(negative_mass)::text AS "negative_mass!",
           trim_scale(delta_sum)::text AS "delta_sum!", updated_at
           FROM reputation_scores WHERE actor_id = $1
           ORDER BY role DESC, skill_tag <> '*', skill_tag"#,
        actor,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// One score row: a role overall (`skill_tag` `*`) or for one skill tag.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Score {
    /// `submitter` or `reviewer`.
    pub role: String,
    /// `*` for the role overall, else the tag.
    pub skill_tag: String,
    /// 100 x the 95% Wilson lower bound of the positive share, a decimal string.
    pub score: String,
    /// Accepted submissions.
    pub accepted_count: i64,
    /// Submissions sent back for revision.
    pub needs_revision_count: i64,
    /// Rejected submissions.
    pub rejected_count: i64,
    /// Revision obligations closed unanswered.
    pub revision_closed_count: i64,
    /// Reviews made.
    pub review_count: i64,
    /// Reviews whose findings were clear.
    pub clear_review_count: i64,
    /// Reviews flagged as unclear.
    pub unclear_feedback_count: i64,
    /// Events folded in.
    pub event_count: i64,
    /// The positive weight, a decimal string.
    pub positive_mass: String,
    /// The negative weight, a decimal string.
    pub negative_mass: String,
    /// The sum of the events' deltas, a decimal string.
    pub delta_sum: String,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One reputation event.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReputationEvent {
    /// Id.
    pub id: Uuid,
    /// The project it happened in.
    pub project_id: Option<Uuid>,
    /// `submitter` or `reviewer`.
    pub role: String,
    /// What happened (`submission_accepted`, `late_submission`, ...).
    pub event_type: String,
    /// The task.
    pub task_id: Option<Uuid>,
    /// The submission.
    pub submission_id: Option<Uuid>,
    /// The review.
    pub review_id: Option<Uuid>,
    /// The contribution record.
    pub contribution_record_id: Option<Uuid>,
    /// The task's skill tags.
    pub skill_tags: Vec<String>,
    /// Its weight, a decimal string.
    pub weight: String,
    /// Its effect on the score, a decimal string.
    pub score_delta: String,
    /// Why, in words.
    pub reason: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A page of an actor's events (optionally only those of `project`), by id.
pub async fn events_of(
    conn: &mut PgConnection,
    actor: Uuid,
    project: Option<Uuid>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<ReputationEvent>, CommandError> {
    Ok(sqlx::query_as!(
        ReputationEvent,
        r#"SELECT id, project_id, role, event_type, task_id, submission_id, review_id,
           contribution_record_id, skill_tags, trim_scale(weight)::text AS "weight!",
           trim_scale(score_delta)::text AS "score_delta!", reason, created_at
           FROM reputation_events WHERE actor_id = $1 AND ($2::uuid IS NULL OR project_id = $2)
           AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4"#,
        actor,
        project,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Whether `actor` holds, or once held, a contributor role on `project`: a project's
/// managers may read the reputation of their contributors and of no one else.
pub async fn is_contributor_of(
    conn: &mut PgConnection,
    project: Uuid,
    actor: Uuid,
) -> Result<bool, CommandError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM project_role_grants WHERE project_id = $1 AND actor_id = $2) AS "held!""#,
        project,
        actor,
    )
    .fetch_one(&mut *conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(decision: ReviewDecision) -> ReviewFacts {
        ReviewFacts {
            decision,
            difficulty: Some("hard".into()),
            earlier_needs_revision: false,
            findings: vec![],
            late_submission: false,
        }
    }

    fn kinds(events: &[PlannedEvent]) -> Vec<(Role, &'static str, f64)> {
        events
            .iter()
            .map(|e| (e.role, e.event_type, e.delta))
            .collect()
    }

    #[test]
    fn an_accept_is_weighted_by_difficulty_and_closes_a_revision_episode() {
        assert_eq!(
            kinds(&plan(&facts(ReviewDecision::Accept))),
            vec![
                (Role::Submitter, "accepted", 6.0),
                (Role::Reviewer, "clear_review", 2.0)
            ]
        );
        let after_revision = ReviewFacts {
            earlier_needs_revision: true,
            difficulty: None,
            ..facts(ReviewDecision::Accept)
        };
        assert_eq!(
            kinds(&plan(&after_revision)),
            vec![
                (Role::Submitter, "accepted", 3.0),
                (Role::Submitter, "revision_closed", 1.0),
                (Role::Reviewer, "clear_review", 2.0)
            ]
        );
        assert_eq!(difficulty_weight(Some("medium")), 1.5);
        assert_eq!(difficulty_weight(Some("expert")), 2.5);
        assert_eq!(difficulty_weight(Some("easy")), 1.0);
    }

    #[test]
    fn revisions_and_rejects_cost_the_submitter_and_unclear_findings_cost_the_reviewer() {
        let clear = FindingFacts {
            issue: "The proof skips step 3.".into(),
            rationale: None,
            required_fix: Some("Prove step 3.".into()),
        };
        let explained = FindingFacts {
            issue: "Wording.".into(),
            rationale: Some("Ambiguous for readers.".into()),
            required_fix: None,
        };
        let bare = FindingFacts {
            issue: "Style.".into(),
            rationale: Some("  ".into()),
            required_fix: None,
        };
        let revision = ReviewFacts {
            findings: vec![clear.clone(), explained.clone()],
            ..facts(ReviewDecision::NeedsRevision)
        };
        assert_eq!(
            kinds(&plan(&revision)),
            vec![
                (Role::Submitter, "needs_revision", -1.0),
                (Role::Reviewer, "clear_review", 2.0)
            ]
        );
        let reject = ReviewFacts {
            findings: vec![clear, bare],
            ..facts(ReviewDecision::Reject)
        };
        assert_eq!(
            kinds(&plan(&reject)),
            vec![
                (Role::Submitter, "rejected", -3.0),
                (Role::Reviewer, "unclear_feedback", -2.0)
            ]
        );
    }

    #[test]
    fn a_late_first_submission_costs_the_submitter_one_point_whatever_the_decision() {
        for &decision in ReviewDecision::ALL {
            let late = ReviewFacts {
                late_submission: true,
                ..facts(decision)
            };
            let events = kinds(&plan(&late));
            assert!(
                events.contains(&(Role::Submitter, "late_submission", -1.0)),
                "{decision}: {events:?}"
            );
        }
        assert!(
            !kinds(&plan(&facts(ReviewDecision::Accept)))
                .iter()
                .any(|e| e.1 == "late_submission")
        );
    }
}
