//! What a preview finds: the preview and its report as stored and shown, what one
//! checker's change is ([`compare_members`]: newly failing, newly passing), and the
//! totals ([`summarize`]). Pure: no database, no sandbox.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use workstream_domain::gate::MemberStatus;
use workstream_domain::machines::checker_run::RoutingRecommendation;
use workstream_domain::machines::preview::{PreviewRoute, PreviewStatus};

use crate::reviews::findings::CheckerFinding;

/// A policy preview, as stored and shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Preview {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The draft guide previewed.
    pub guide_id: Uuid,
    /// The draft's bundle (as submitted) when the preview started; the guide's own hash
    /// differs once the draft is edited.
    pub policy_bundle_hash: String,
    /// The draft's effective artifact policy (intake limits applied to each packet).
    pub artifact_policy_hash: String,
    /// The draft's effective checker policy, every checker pinned.
    pub checker_policy_hash: String,
    /// How many submissions were asked for.
    pub submission_limit: i32,
    /// How many were chosen (the project's most recent with a final run, at most the
    /// limit).
    pub submission_count: i32,
    /// Results recorded so far (equals `submission_count` once completed).
    pub results_recorded: i64,
    /// queued, running, completed, failed.
    pub status: PreviewStatus,
    /// The totals, once completed.
    pub summary: Option<PreviewSummary>,
    /// Why it failed.
    pub failure_detail: Option<String>,
    /// The manager who started it.
    pub requested_by: Uuid,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When its first job started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed or failed.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A preview with the policy it ran and every result, most recent submission first.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewReport {
    /// The preview.
    pub preview: Preview,
    /// The effective checker policy previewed (defaults merged, digests pinned).
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub checker_policy: Value,
    /// One per submission checked so far.
    pub results: Vec<PreviewResult>,
}

/// What one stored submission met, and would meet under the draft.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewResult {
    /// The submission.
    pub submission_id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// Its version.
    pub submission_version: i32,
    /// Its current checker run when it was previewed.
    pub recorded_run_id: Uuid,
    /// That run's route.
    pub recorded_route: RoutingRecommendation,
    /// The draft's pre-submit route (none when no checker ran).
    pub draft_pre_route: Option<RoutingRecommendation>,
    /// The draft's post-submit route (none when no checker ran).
    pub draft_post_route: Option<RoutingRecommendation>,
    /// What the packet would have met: the pre-submit route when it is not
    /// `allow_review`, else the post-submit route; or `intake_refused` /
    /// `material_unavailable` when no checker could run.
    pub draft_route: PreviewRoute,
    /// Whether `draft_route` differs from `recorded_route`.
    pub route_changed: bool,
    /// The intake code (`intake_refused`) or `material_unavailable`.
    pub draft_code: Option<String>,
    /// What went wrong reading or refusing the packet, for operators.
    pub draft_detail: Option<String>,
    /// Each checker of the draft (policy order), then each recorded one the draft drops.
    pub members: Vec<PreviewMember>,
    /// Post-submit findings of the draft the recorded run lacks (none when no draft
    /// checker ran).
    pub findings_appeared: Vec<CheckerFinding>,
    /// Findings of the recorded run the draft's post-submit phase lacks (none when no
    /// draft checker ran).
    pub findings_disappeared: Vec<CheckerFinding>,
    /// Draft members taken from identical recorded results.
    pub reused_results: i32,
    /// Draft members run in the sandbox.
    pub checked_results: i32,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// One checker's status in each phase, recorded and under the draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreviewMember {
    /// The checker's name.
    pub checker: String,
    /// Its status in the admission's pre-submit report (none: it did not run then).
    pub recorded_pre: Option<MemberStatus>,
    /// Its status in the recorded current run (none: it did not run then).
    pub recorded_post: Option<MemberStatus>,
    /// Its status in the draft's pre-submit phase (none: not in that phase, or no
    /// checker ran).
    pub draft_pre: Option<MemberStatus>,
    /// Its status in the draft's post-submit phase.
    pub draft_post: Option<MemberStatus>,
    /// Whether it newly fails or newly passes (see the module docs).
    pub change: Option<MemberChange>,
}

/// How a checker's verdict on a packet changes under the draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberChange {
    /// Fails under the draft (`failed` or `errored` in either phase), did not before.
    NewlyFailing,
    /// Failed before, does not under the draft.
    NewlyPassing,
}

/// A preview's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreviewSummary {
    /// Submissions previewed.
    pub submissions: u32,
    /// Of those, checked in both phases.
    pub checked: u32,
    /// Refused by the draft's artifact limits at intake.
    pub intake_refused: u32,
    /// Whose stored bytes could not be read.
    pub material_unavailable: u32,
    /// Whose route under the draft differs from the recorded one.
    pub route_changed: u32,
    /// Each pair of (recorded route, draft route) that differs, with its submissions.
    pub route_flips: Vec<RouteFlip>,
    /// Per checker (draft policy order, then the ones it drops), the submissions it
    /// newly fails and newly passes.
    pub checkers: Vec<CheckerChanges>,
    /// Findings that appear under the draft, over all submissions.
    pub findings_appeared: u32,
    /// Findings that disappear under the draft.
    pub findings_disappeared: u32,
    /// Draft members taken from identical recorded results.
    pub reused_results: u32,
    /// Draft members run in the sandbox.
    pub checked_results: u32,
}

/// Submissions whose route moves from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteFlip {
    /// The recorded route.
    pub from: RoutingRecommendation,
    /// The route under the draft.
    pub to: PreviewRoute,
    /// How many.
    pub count: u32,
    /// Which.
    pub submission_ids: Vec<Uuid>,
}

/// One checker's changes over the previewed submissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckerChanges {
    /// The checker.
    pub checker: String,
    /// How many submissions it newly fails.
    pub newly_failing: u32,
    /// How many it newly passes.
    pub newly_passing: u32,
    /// Which it newly fails.
    pub newly_failing_submissions: Vec<Uuid>,
    /// Which it newly passes.
    pub newly_passing_submissions: Vec<Uuid>,
}

/// Whether a member status counts as failing (see the module docs).
pub fn fails(status: Option<MemberStatus>) -> bool {
    matches!(status, Some(MemberStatus::Failed | MemberStatus::Errored))
}

impl PreviewMember {
    /// The member's change from its four statuses (none when no draft checker ran:
    /// `checked` is false for a refused or unreadable packet).
    pub fn judged(mut self, checked: bool) -> PreviewMember {
        let before = fails(self.recorded_pre) || fails(self.recorded_post);
        let after = fails(self.draft_pre) || fails(self.draft_post);
        self.change = match (checked, before, after) {
            (true, false, true) => Some(MemberChange::NewlyFailing),
            (true, true, false) => Some(MemberChange::NewlyPassing),
            _ => None,
        };
        self
    }
}

/// Each checker's four statuses and change: the draft's checkers in policy order
/// (`draft_checkers`), then the recorded ones the draft drops (post-submit run order,
/// then the pre-submit report's). A status is looked up by checker name (names are
/// unique in an effective policy); `checked` is false when no draft checker ran.
pub fn compare_members(
    draft_checkers: &[String],
    recorded_pre: &[(String, MemberStatus)],
    recorded_post: &[(String, MemberStatus)],
    draft_pre: &[(String, MemberStatus)],
    draft_post: &[(String, MemberStatus)],
    checked: bool,
) -> Vec<PreviewMember> {
    let status = |list: &[(String, MemberStatus)], name: &str| {
        list.iter()
            .find(|(checker, _)| checker == name)
            .map(|(_, status)| *status)
    };
    let mut order: Vec<&String> = draft_checkers.iter().collect();
    for (name, _) in recorded_post.iter().chain(recorded_pre) {
        if !order.contains(&name) {
            order.push(name);
        }
    }
    order
        .into_iter()
        .map(|checker| {
            PreviewMember {
                checker: checker.clone(),
                recorded_pre: status(recorded_pre, checker),
                recorded_post: status(recorded_post, checker),
                draft_pre: status(draft_pre, checker),
                draft_post: status(draft_post, checker),
                change: None,
            }
            .judged(checked)
        })
        .collect()
}

/// Folds results into their totals: counts, the route flips by pair (in token order),
/// and each checker's newly failing and newly passing submissions (in the order the
/// checkers first appear in the results).
pub fn summarize(results: &[PreviewResult]) -> PreviewSummary {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut summary = PreviewSummary {
        submissions: count(results.len()),
        ..PreviewSummary::default()
    };
    let mut flips: BTreeMap<(&str, &str), RouteFlip> = BTreeMap::new();
    let mut checkers: Vec<CheckerChanges> = Vec::new();
    for result in results {
        match result.draft_route {
            PreviewRoute::IntakeRefused => summary.intake_refused += 1,
            PreviewRoute::MaterialUnavailable => summary.material_unavailable += 1,
            _ => summary.checked += 1,
        }
        if result.route_changed {
            summary.route_changed += 1;
            let flip = flips
                .entry((result.recorded_route.as_str(), result.draft_route.as_str()))
                .or_insert_with(|| RouteFlip {
                    from: result.recorded_route,
                    to: result.draft_route,
                    count: 0,
                    submission_ids: Vec::new(),
                });
            flip.count += 1;
            flip.submission_ids.push(result.submission_id);
        }
        for member in &result.members {
            let at = match checkers.iter().position(|c| c.checker == member.checker) {
                Some(at) => at,
                None => {
                    checkers.push(CheckerChanges {
                        checker: member.checker.clone(),
                        newly_failing: 0,
                        newly_passing: 0,
                        newly_failing_submissions: Vec::new(),
                        newly_passing_submissions: Vec::new(),
                    });
                    checkers.len() - 1
                }
            };
            let changes = &mut checkers[at];
            match member.change {
                Some(MemberChange::NewlyFailing) => {
                    changes.newly_failing += 1;
                    changes.newly_failing_submissions.push(result.submission_id);
                }
                Some(MemberChange::NewlyPassing) => {
                    changes.newly_passing += 1;
                    changes.newly_passing_submissions.push(result.submission_id);
                }
                None => {}
            }
        }
        summary.findings_appeared += count(result.findings_appeared.len());
        summary.findings_disappeared += count(result.findings_disappeared.len());
        summary.reused_results += u32::try_from(result.reused_results).unwrap_or(0);
        summary.checked_results += u32::try_from(result.checked_results).unwrap_or(0);
    }
    summary.route_flips = flips.into_values().collect();
    summary.checkers = checkers;
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberStatus::*;

    fn named(list: &[(&str, MemberStatus)]) -> Vec<(String, MemberStatus)> {
        list.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
    }

    #[test]
    fn a_checker_newly_fails_or_passes_by_either_phase_and_an_absent_one_does_not_fail() {
        let draft = vec!["required-files".to_owned(), "size-limits".to_owned()];
        let members = compare_members(
            &draft,
            &named(&[("required-files", Passed), ("old-check", Passed)]),
            &named(&[("required-files", Failed), ("old-check", Errored)]),
            &named(&[("required-files", Passed), ("size-limits", Passed)]),
            &named(&[("required-files", Passed), ("size-limits", Failed)]),
            true,
        );
        let changes: Vec<_> = members
            .iter()
            .map(|m| (m.checker.as_str(), m.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("required-files", Some(MemberChange::NewlyPassing)),
                ("size-limits", Some(MemberChange::NewlyFailing)),
                ("old-check", Some(MemberChange::NewlyPassing)),
            ]
        );
        assert_eq!(members[1].recorded_post, None);
        assert_eq!(members[2].draft_post, None);

        // Nothing ran under the draft (a refused packet): no change is claimed.
        let unchecked = compare_members(
            &draft,
            &[],
            &named(&[("required-files", Failed)]),
            &[],
            &[],
            false,
        );
        assert!(unchecked.iter().all(|m| m.change.is_none()));
    }

    fn result(
        route: RoutingRecommendation,
        draft: PreviewRoute,
        change: Option<MemberChange>,
    ) -> PreviewResult {
        PreviewResult {
            submission_id: Uuid::now_v7(),
            task_id: Uuid::now_v7(),
            submission_version: 1,
            recorded_run_id: Uuid::now_v7(),
            recorded_route: route,
            draft_pre_route: None,
            draft_post_route: None,
            draft_route: draft,
            route_changed: PreviewRoute::from(route) != draft,
            draft_code: None,
            draft_detail: None,
            members: vec![PreviewMember {
                checker: "size-limits".into(),
                recorded_pre: None,
                recorded_post: None,
                draft_pre: None,
                draft_post: None,
                change,
            }],
            findings_appeared: Vec::new(),
            findings_disappeared: Vec::new(),
            reused_results: 2,
            checked_results: 3,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn the_summary_counts_flips_by_pair_and_each_checkers_submissions() {
        use PreviewRoute as P;
        use RoutingRecommendation as R;
        let results = [
            result(
                R::AllowReview,
                P::NeedsRevision,
                Some(MemberChange::NewlyFailing),
            ),
            result(R::AllowReview, P::AllowReview, None),
            result(
                R::AllowReview,
                P::NeedsRevision,
                Some(MemberChange::NewlyFailing),
            ),
            result(R::NeedsRevision, P::IntakeRefused, None),
        ];
        let summary = summarize(&results);
        assert_eq!(
            (
                summary.submissions,
                summary.checked,
                summary.intake_refused,
                summary.route_changed
            ),
            (4, 3, 1, 3)
        );
        assert_eq!(summary.route_flips.len(), 2);
        assert_eq!(
            (
                summary.route_flips[0].from,
                summary.route_flips[0].to,
                summary.route_flips[0].count
            ),
            (R::AllowReview, P::NeedsRevision, 2)
        );
        assert_eq!(
            summary.route_flips[0].submission_ids,
            [results[0].submission_id, results[2].submission_id]
        );
        assert_eq!(summary.checkers.len(), 1);
        assert_eq!(
            (
                summary.checkers[0].newly_failing,
                summary.checkers[0].newly_passing
            ),
            (2, 0)
        );
        assert_eq!((summary.reused_results, summary.checked_results), (8, 12));
        // What is stored reads back as it was.
        let stored = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            serde_json::from_value::<PreviewSummary>(stored).unwrap(),
            summary
        );
    }
}
