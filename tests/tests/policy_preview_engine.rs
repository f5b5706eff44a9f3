//! The policy preview engine (`workstream_engine::previews`) against a real server's
//! pipeline and worker: stored packets, routed and decided over HTTP, are re-checked by
//! a draft guide whose policy adds a stricter checker (`size-limits`, one file at most
//! 120 bytes). The report's flips are exactly the packets that rule fails, the draft's
//! other checkers take the recorded results instead of running again, and nothing the
//! submissions, runs, results, tasks or queues hold changes. Activation then records
//! the preview and answers its summary, and a lesson links it as evidence.

mod projects_support;
mod review_support;

use std::time::Duration;

use projects_support::{activate, bundle, create_guide, get, post};
use review_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::gate::MemberStatus;
use workstream_domain::machines::checker_run::RoutingRecommendation;
use workstream_domain::machines::preview::{PreviewRoute, PreviewStatus};
use workstream_engine::Requester;
use workstream_engine::previews::{self, MemberChange, Preview, PreviewReport};

/// Starts a preview in a transaction of its own, as the API would.
async fn start(
    s: &Setup,
    guide: Uuid,
    limit: Option<u32>,
) -> Result<Preview, workstream_engine::CommandError> {
    let mut tx = s.server.database.pool().begin().await.unwrap();
    let requester = Requester {
        actor_id: s.pm.id,
        correlation_id: Some("preview-test".into()),
    };
    let started = previews::start(&mut tx, &requester, s.project, guide, limit, 200).await;
    if started.is_ok() {
        tx.commit().await.unwrap();
    }
    started
}

/// Waits for the preview to end; its report.
async fn ended(s: &Setup, guide: Uuid, preview: Uuid) -> PreviewReport {
    for _ in 0..1200 {
        let mut conn = s.server.database.pool().acquire().await.unwrap();
        let report = previews::find(&mut conn, s.project, guide, preview)
            .await
            .unwrap()
            .expect("the preview exists");
        if report.preview.status.is_final() {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the preview did not end");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_flips_exactly_the_packets_the_stricter_rule_fails_and_changes_nothing_live() {
    let s = setup_with("preview-engine", Terms::Unpaid, |_| {}).await;
    // The setup's own task stays in progress (no submission); twelve packets are routed
    // and decided (accepted) one after another (a contributor holds two tasks at most),
    // every third one with an answer over the draft's limit.
    let longs: Vec<bool> = (0..12).map(|n| n % 3 == 0).collect();
    let stored: Vec<(Uuid, Uuid, bool)> = decided_submissions(&s, &longs)
        .await
        .into_iter()
        .zip(longs)
        .map(|((task, submission), long)| (task, submission, long))
        .collect();

    // The draft: the active bundle plus size-limits at 120 bytes a file.
    let draft = create_guide(&s.server, &s.pm, s.project, "v2", Some(stricter_bundle())).await;

    // Refusals: an active guide, a limit out of range, a bundle activation would refuse
    // (with activation's own code and details).
    let refused = start(&s, s.guide, None).await.unwrap_err();
    assert_eq!(refused.code, "policy_preview_not_draft");
    for limit in [0, 201] {
        let refused = start(&s, draft, Some(limit)).await.unwrap_err();
        assert_eq!(refused.code, "policy_preview_limit_invalid", "{limit}");
    }
    let mut unknown = bundle();
    unknown["checker_policy"]["checkers"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"name": "no-such-checker", "phase": "both", "configuration": {},
                     "blocking": true, "severity": "high"}),
        );
    let broken = create_guide(&s.server, &s.pm, s.project, "v2-broken", Some(unknown)).await;
    let refused = start(&s, broken, None).await.unwrap_err();
    let activation = activate(&s.server, &s.pm, s.project, broken).await;
    assert_eq!(refused.code, "checker_not_registered");
    assert_eq!(activation.body["error"]["code"], "checker_not_registered");
    assert_eq!(activation.body["error"]["details"], refused.details);

    let before = live_records(&s).await;
    let preview = start(&s, draft, Some(50)).await.unwrap();
    assert_eq!(preview.status, PreviewStatus::Queued);
    assert_eq!(
        (preview.submission_limit, preview.submission_count),
        (50, 12)
    );
    let report = ended(&s, draft, preview.id).await;
    assert_eq!(
        report.preview.status,
        PreviewStatus::Completed,
        "{:?}",
        report.preview.failure_detail
    );
    assert_eq!(
        live_records(&s).await,
        before,
        "a preview changes no live record"
    );

    // Every stored submission, most recent first, each checked in both phases.
    let ids: Vec<Uuid> = stored.iter().rev().map(|(_, id, _)| *id).collect();
    assert_eq!(
        report
            .results
            .iter()
            .map(|r| r.submission_id)
            .collect::<Vec<_>>(),
        ids
    );
    let failing: Vec<Uuid> = stored
        .iter()
        .rev()
        .filter(|(_, _, long)| *long)
        .map(|(_, id, _)| *id)
        .collect();
    assert_eq!(failing.len(), 4);
    for result in &report.results {
        let long = failing.contains(&result.submission_id);
        assert_eq!(result.recorded_route, RoutingRecommendation::AllowReview);
        let expected = if long {
            RoutingRecommendation::NeedsRevision
        } else {
            RoutingRecommendation::AllowReview
        };
        assert_eq!(result.draft_pre_route, Some(expected));
        assert_eq!(result.draft_post_route, Some(expected));
        assert_eq!(result.draft_route, PreviewRoute::from(expected));
        assert_eq!(result.route_changed, long);
        let size = result
            .members
            .iter()
            .find(|m| m.checker == "size-limits")
            .unwrap();
        assert_eq!(size.recorded_post, None);
        let status = if long {
            MemberStatus::Failed
        } else {
            MemberStatus::Passed
        };
        assert_eq!(
            (size.draft_pre, size.draft_post),
            (Some(status), Some(status))
        );
        assert_eq!(size.change, long.then_some(MemberChange::NewlyFailing));
        // No other checker changes its verdict.
        assert!(
            result
                .members
                .iter()
                .filter(|m| m.checker != "size-limits")
                .all(|m| m.change.is_none() && m.recorded_post == m.draft_post),
            "{:?}",
            result.members
        );
        // The appearing finding is the stricter rule's, by its fingerprint.
        let appeared: Vec<_> = result
            .findings_appeared
            .iter()
            .map(|f| (f.checker.as_str(), f.code.as_str(), f.path.as_deref()))
            .collect();
        if long {
            assert_eq!(
                appeared,
                [(
                    "size-limits",
                    "file_too_large",
                    Some("outputs/final-answer.md")
                )]
            );
        } else {
            assert!(appeared.is_empty(), "{appeared:?}");
        }
        assert!(result.findings_disappeared.is_empty());
        // The seven post-submit checkers the recorded run had stand as recorded; only
        // the new one runs after submission (besides the nine pre-submit members).
        assert_eq!(
            (result.reused_results, result.checked_results),
            (7, 9 + 1),
            "{}",
            result.submission_id
        );
    }
    let summary = report.preview.summary.clone().unwrap();
    assert_eq!(
        (summary.submissions, summary.checked, summary.route_changed),
        (12, 12, 4)
    );
    assert_eq!(summary.route_flips.len(), 1);
    let flip = &summary.route_flips[0];
    assert_eq!(
        (flip.from, flip.to, flip.count),
        (
            RoutingRecommendation::AllowReview,
            PreviewRoute::NeedsRevision,
            4
        )
    );
    assert_eq!(flip.submission_ids, failing);
    let size = summary
        .checkers
        .iter()
        .find(|c| c.checker == "size-limits")
        .unwrap();
    assert_eq!((size.newly_failing, size.newly_passing), (4, 0));
    assert_eq!(size.newly_failing_submissions, failing);
    assert!(
        summary
            .checkers
            .iter()
            .filter(|c| c.checker != "size-limits")
            .all(|c| c.newly_failing == 0 && c.newly_passing == 0)
    );
    assert_eq!(
        (summary.findings_appeared, summary.findings_disappeared),
        (4, 0)
    );
    let events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT event_type, payload FROM audit_events WHERE entity_id = $1 ORDER BY occurred_at, id",
    )
    .bind(preview.id)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    let kinds: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["policy_preview_started", "policy_preview_completed"]
    );
    assert_eq!(events[0].1["submissions"], 12);
    assert_eq!(events[1].1["route_changed"], 4);

    // A smaller preview takes the most recent submissions; the latest completed one is
    // what activation shows and records.
    let small = start(&s, draft, Some(3)).await.unwrap();
    let small = ended(&s, draft, small.id).await;
    assert_eq!(
        small
            .results
            .iter()
            .map(|r| r.submission_id)
            .collect::<Vec<_>>(),
        ids[..3]
    );
    {
        let mut conn = s.server.database.pool().acquire().await.unwrap();
        let latest = previews::latest_completed(&mut conn, draft)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.id, small.preview.id);
        let listed = previews::list(&mut conn, s.project, draft, None, 10)
            .await
            .unwrap();
        assert_eq!(
            listed.iter().map(|p| p.id).collect::<Vec<_>>(),
            [preview.id, small.preview.id]
        );
    }
    let activated = activate(&s.server, &s.pm, s.project, draft).await;
    assert_eq!(activated.status, 200, "{}", activated.body);
    assert_eq!(activated.body["preview"]["id"], json!(small.preview.id));
    assert_eq!(activated.body["preview"]["current"], true);
    assert_eq!(activated.body["preview"]["summary"]["submissions"], 3);
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM audit_events WHERE entity_id = $1 AND event_type = 'guide_activated'",
    )
    .bind(draft)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(payload["policy_preview_id"], json!(small.preview.id));
    // Once active, the guide is no longer a draft to preview.
    assert_eq!(
        start(&s, draft, None).await.unwrap_err().code,
        "policy_preview_not_draft"
    );

    // A lesson implemented by the checker change links the preview as evidence.
    let lesson = accepted_checker_lesson(&s).await;
    let refused = post(
        &s.server,
        &format!("{lesson}/implement"),
        &s.pm,
        json!({"guide_id": draft, "preview_id": Uuid::now_v7()}),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.body["error"]["code"],
        "lesson_preview_not_completed"
    );
    let implemented = post(
        &s.server,
        &format!("{lesson}/implement"),
        &s.pm,
        json!({"guide_id": draft, "preview_id": preview.id}),
    )
    .await;
    assert_eq!(implemented.status, 200, "{}", implemented.body);
    assert_eq!(
        implemented.body["implemented_preview_id"],
        json!(preview.id)
    );
    let read = get(&s.server, &lesson, &s.pm).await;
    assert_eq!(read.body["implemented_preview_id"], json!(preview.id));
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_and_unreadable_packets_are_results_and_a_preview_that_cannot_run_fails() {
    let s = setup_with("preview-engine-edges", Terms::Unpaid, |_| {}).await;
    // Three packets, oldest first: short, long, short.
    let stored: Vec<Uuid> = decided_submissions(&s, &[false, true, false])
        .await
        .into_iter()
        .map(|(_, submission)| submission)
        .collect();
    // The newest packet's stored bytes are lost.
    let sha: String = sqlx::query_scalar("SELECT archive_sha256 FROM submissions WHERE id = $1")
        .bind(stored[2])
        .fetch_one(s.server.database.pool())
        .await
        .unwrap();
    let hex = sha.strip_prefix("sha256:").unwrap();
    std::fs::remove_file(
        s.server
            .objects_root()
            .join("sha256")
            .join(&hex[..2])
            .join(&hex[2..4])
            .join(hex),
    )
    .unwrap();

    // The draft lowers the largest file intake takes below the long answer.
    let mut tighter = bundle();
    tighter["artifact_policy"]["maximum_file_size_bytes"] = json!(100);
    let draft = create_guide(&s.server, &s.pm, s.project, "v2", Some(tighter)).await;
    let before = live_records(&s).await;
    let preview = start(&s, draft, None).await.unwrap();
    assert_eq!(preview.submission_count, 3);
    let report = ended(&s, draft, preview.id).await;
    assert_eq!(report.preview.status, PreviewStatus::Completed);
    let routes: Vec<_> = report
        .results
        .iter()
        .map(|r| (r.submission_id, r.draft_route, r.draft_code.as_deref()))
        .collect();
    assert_eq!(
        routes,
        [
            (
                stored[2],
                PreviewRoute::MaterialUnavailable,
                Some("material_unavailable")
            ),
            (
                stored[1],
                PreviewRoute::IntakeRefused,
                Some("submission_archive_limit_exceeded")
            ),
            (stored[0], PreviewRoute::AllowReview, None),
        ]
    );
    for refused in &report.results[..2] {
        assert_eq!(
            (refused.draft_pre_route, refused.draft_post_route),
            (None, None)
        );
        assert!(refused.route_changed);
        assert!(refused.members.iter().all(|m| m.change.is_none()));
        assert!(refused.findings_appeared.is_empty() && refused.findings_disappeared.is_empty());
    }
    let summary = report.preview.summary.unwrap();
    assert_eq!(
        (
            summary.checked,
            summary.intake_refused,
            summary.material_unavailable,
            summary.route_changed
        ),
        (1, 1, 1, 2)
    );
    assert_eq!(live_records(&s).await, before);

    // A preview whose stored policy cannot be run (altered under the guard, as only
    // someone with the database's superuser could) ends failed with the reason.
    let mut tx = s.server.database.pool().begin().await.unwrap();
    let requester = Requester {
        actor_id: s.pm.id,
        correlation_id: None,
    };
    let broken = previews::start(&mut tx, &requester, s.project, draft, None, 200)
        .await
        .unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE policy_previews SET checker_policy = '{\"checkers\": \"none\"}' WHERE id = $1",
    )
    .bind(broken.id)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let failed = ended(&s, draft, broken.id).await;
    assert_eq!(failed.preview.status, PreviewStatus::Failed);
    let detail = failed.preview.failure_detail.unwrap();
    assert!(detail.starts_with("locked_context_invalid: "), "{detail}");
    assert!(failed.results.is_empty() && failed.preview.summary.is_none());
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM audit_events WHERE entity_id = $1 ORDER BY occurred_at, id",
    )
    .bind(broken.id)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(events, ["policy_preview_started", "policy_preview_failed"]);
    // The latest completed preview is still the good one.
    let mut conn = s.server.database.pool().acquire().await.unwrap();
    let latest = previews::latest_completed(&mut conn, draft)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.id, preview.id);
}
