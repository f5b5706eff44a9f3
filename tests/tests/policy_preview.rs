//! Policy preview over HTTP, the way a manager uses it (issue 20's "done when"): a
//! project with 50 decided submissions (accepted, sent back for revision and rejected
//! through real reviews), a draft guide whose checker policy adds a stricter checker
//! (`size-limits`: no file over 120 bytes), a preview started with
//! `POST /projects/{pid}/guides/{gid}/previews` and polled with `GET .../{id}` to its
//! end. The report's flips are exactly the packets the stricter rule fails, by
//! submission id, and nothing else changes: no other checker's verdict, no finding but
//! the new rule's, no live record. Activation then shows the preview's summary and its
//! audit event records the preview's id, and a lesson is implemented with the preview
//! as its evidence.

mod projects_support;
mod review_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use projects_support::{activate, bundle, create_guide, get, post, send};
use reqwest::Method;
use review_support::*;
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::ProjectRole;
use workstream_e2e::TestActor;

/// Submissions the project holds when the preview starts.
const SUBMISSIONS: usize = 50;
/// Contributors (a contributor holds two tasks at most).
const SUBMITTERS: usize = SUBMISSIONS / 2;
/// Packets routed at once.
const IN_FLIGHT: usize = 5;
/// The stricter rule: no file of the packet over this many bytes.
const MAX_FILE_BYTES: usize = 120;

/// Whether packet `n` breaks the stricter rule (every third one).
fn long(n: usize) -> bool {
    n.is_multiple_of(3)
}

/// How packet `n` is decided.
fn decision(n: usize) -> &'static str {
    match n % 5 {
        3 => "needs_revision",
        4 => "reject",
        _ => "accept",
    }
}

/// The answer file of packet `n`: over [`MAX_FILE_BYTES`] when [`long`].
fn packet(n: usize) -> Vec<u8> {
    let answer = if long(n) {
        format!(
            "# Proof {n}\n\nBy induction on n, the lemma holds; the base case and the step are \
             written out in full below, with every inequality justified.\n"
        )
    } else {
        format!("# Proof {n}\n\nBy induction, it holds.\n")
    };
    assert_eq!(answer.len() > MAX_FILE_BYTES, long(n), "{n}");
    zip(&[
        ("outputs/final-answer.md", &answer),
        ("evidence/tests.log", "test lemma ... ok\n"),
    ])
}

fn uuid(value: &Value) -> Uuid {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not an id: {value}"))
        .parse()
        .unwrap()
}

/// Creates, releases, claims and starts a task as `who`, uploads and submits packet
/// `n`, and waits for its evaluation; returns the task and the submission.
async fn routed(s: &Setup, who: &TestActor, n: usize) -> (Uuid, Uuid) {
    let created = post(
        &s.server,
        &format!("/projects/{}/tasks", s.project),
        &s.pm,
        json!({"title": format!("Prove lemma {n}"), "description": "Write outputs/final-answer.md.",
               "acceptance_criteria": "A complete, checked proof of the lemma.",
               "rejection_criteria": "Gaps.", "difficulty": "medium",
               "skill_tags": ["research"], "estimated_time_minutes": 30}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let task = uuid(&created.body["task"]["id"]);
    for (actor, action, body) in [
        (&s.pm, "screen", json!({})),
        (&s.pm, "release", json!({"reason": "ready"})),
        (who, "claim", json!({})),
        (who, "start", json!({})),
    ] {
        let answer = post(&s.server, &format!("/tasks/{task}/{action}"), actor, body).await;
        assert_eq!(answer.status, 200, "{n} {action}: {}", answer.body);
    }
    let form = reqwest::multipart::Form::new()
        .text("summary", SUMMARY)
        .text("attestation", ATTESTATION)
        .part(
            "packet",
            reqwest::multipart::Part::bytes(packet(n)).file_name("packet.zip"),
        );
    let uploaded = s
        .server
        .client
        .post(s.server.url(&format!("/api/v1/tasks/{task}/packets")))
        .header("authorization", who.auth())
        .header("idempotency-key", Uuid::now_v7().to_string())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201, "{n}");
    let uploaded: Value = uploaded.json().await.unwrap();
    let submitted = post(
        &s.server,
        &format!("/tasks/{task}/submissions"),
        who,
        json!({ "admission_id": uploaded["admission_id"] }),
    )
    .await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    let submission = uuid(&submitted.body["submission"]["id"]);
    for _ in 0..1200 {
        let status: String = sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
            .bind(task)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
        if status == "review_pending" {
            return (task, submission);
        }
        assert_eq!(status, "evaluation_pending", "task {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {n} was not routed");
}

/// Claims the review of `submission` and decides it as packet `n` is decided.
async fn decided(s: &Setup, n: usize, submission: Uuid) {
    let entry: Uuid =
        sqlx::query_scalar("SELECT id FROM review_queue_entries WHERE submission_id = $1")
            .bind(submission)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    let claimed = s.try_claim(&s.reviewer, Some(entry)).await;
    assert_eq!(claimed.status, 201, "{n}: {}", claimed.body);
    let lease = uuid(&claimed.body["lease"]["id"]);
    let body = match decision(n) {
        "needs_revision" => needs_revision_body(json!([blocking(
            "proof",
            "The induction step is not written out."
        )])),
        "reject" => json!({ "decision": "reject", "summary": "Not a proof.",
                            "reject_reason": "The argument is circular." }),
        _ => accept_body(json!([])),
    };
    let answer = s.decide(&s.reviewer, lease, body).await;
    assert_eq!(answer.status, 201, "{n}: {}", answer.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_over_http_flips_exactly_the_packets_the_stricter_rule_fails() {
    let s = Arc::new(setup_with("policy-preview", Terms::Unpaid, |_| {}).await);
    let mut submitters = Vec::new();
    for k in 0..SUBMITTERS {
        let who = s
            .server
            .actor(&format!("policy-preview-submitter-{k}"))
            .await;
        s.server
            .grant_project_role(&who, s.project, ProjectRole::Submitter)
            .await;
        submitters.push(who);
    }

    // 50 packets routed, a few at a time, each contributor submitting two; then each
    // decided by a real review.
    let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut routing = tokio::task::JoinSet::new();
    for (k, who) in submitters.into_iter().enumerate() {
        let (s, gate) = (s.clone(), gate.clone());
        routing.spawn(async move {
            let mut made = Vec::new();
            for n in [2 * k, 2 * k + 1] {
                let _turn = gate.acquire().await.unwrap();
                let (_, submission) = routed(&s, &who, n).await;
                made.push((n, submission));
            }
            made
        });
    }
    let mut stored: Vec<(usize, Uuid)> = routing.join_all().await.into_iter().flatten().collect();
    stored.sort();
    assert_eq!(stored.len(), SUBMISSIONS);
    for (n, submission) in &stored {
        decided(&s, *n, *submission).await;
    }
    s.jobs_drained().await;
    let by_decision = |d: &str| {
        stored
            .iter()
            .filter(|(n, _)| decision(*n) == d && long(*n))
            .count()
    };
    // The rule catches packets of every outcome.
    assert_eq!(
        (
            by_decision("accept"),
            by_decision("needs_revision"),
            by_decision("reject")
        ),
        (10, 4, 3)
    );
    let failing: BTreeSet<Uuid> = stored
        .iter()
        .filter(|(n, _)| long(*n))
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(failing.len(), 17);

    // The draft: the active bundle plus the stricter checker.
    let mut stricter = bundle();
    stricter["checker_policy"]["checkers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "size-limits", "phase": "both",
                     "configuration": {"max_file_bytes": MAX_FILE_BYTES},
                     "blocking": true, "severity": "high"}));
    let draft = create_guide(&s.server, &s.pm, s.project, "v2", Some(stricter)).await;
    let previews = format!("/projects/{}/guides/{draft}/previews", s.project);

    // Refusals, each with the catalogue's code and nothing started.
    let refused = post(&s.server, &previews, &s.reviewer, json!({})).await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (403, "permission_not_granted")
    );
    let active = post(
        &s.server,
        &format!("/projects/{}/guides/{}/previews", s.project, s.guide),
        &s.pm,
        json!({}),
    )
    .await;
    assert_eq!(
        (active.status.as_u16(), active.code()),
        (409, "policy_preview_not_draft")
    );
    for (body, code) in [
        (json!({"submissions": 0}), "policy_preview_limit_invalid"),
        (json!({"submissions": 201}), "policy_preview_limit_invalid"),
        (json!({"submissions": "all"}), "invalid_request"),
        (json!({"limit": 5}), "invalid_request"),
    ] {
        let answer = post(&s.server, &previews, &s.pm, body.clone()).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (422, code),
            "{body}: {}",
            answer.body
        );
    }
    let started: i64 =
        sqlx::query_scalar("SELECT count(*) FROM policy_previews WHERE project_id = $1")
            .bind(s.project)
            .fetch_one(s.server.database.pool())
            .await
            .unwrap();
    assert_eq!(started, 0);

    // The preview, started once (a retry with the same key replays the answer).
    let before = live_records(&s).await;
    let key = Uuid::now_v7();
    let body = json!({"submissions": SUBMISSIONS});
    let answer = send(
        &s.server,
        Method::POST,
        &previews,
        &s.pm,
        Some(body.clone()),
        Some(key),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let preview = uuid(&answer.body["id"]);
    assert_eq!(answer.body["status"], "queued");
    assert_eq!(answer.body["guide_id"], json!(draft));
    assert_eq!(
        (
            &answer.body["submission_limit"],
            &answer.body["submission_count"]
        ),
        (&json!(SUBMISSIONS), &json!(SUBMISSIONS))
    );
    let replay = send(
        &s.server,
        Method::POST,
        &previews,
        &s.pm,
        Some(body),
        Some(key),
    )
    .await;
    assert_eq!(replay.status, 202);
    assert!(replay.replayed);
    assert_eq!(replay.body["id"], json!(preview));

    // Polled to its end.
    let path = format!("{previews}/{preview}");
    let report = {
        let mut report = Value::Null;
        for _ in 0..1200 {
            let answer = get(&s.server, &path, &s.pm).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            let status = answer.body["preview"]["status"]
                .as_str()
                .unwrap()
                .to_owned();
            report = answer.body;
            if status == "completed" || status == "failed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        report
    };
    assert_eq!(
        report["preview"]["status"], "completed",
        "{}",
        report["preview"]
    );
    assert_eq!(report["preview"]["results_recorded"], SUBMISSIONS);
    assert_eq!(
        live_records(&s).await,
        before,
        "a preview changes no live record"
    );

    // Every stored submission, most recent first.
    let newest_first: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM submissions WHERE project_id = $1 ORDER BY submitted_at DESC, id DESC",
    )
    .bind(s.project)
    .fetch_all(s.server.database.pool())
    .await
    .unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(
        results
            .iter()
            .map(|r| uuid(&r["submission_id"]))
            .collect::<Vec<_>>(),
        newest_first
    );
    // Per submission: the route flips exactly when the stricter rule fails it, and
    // nothing else changes.
    let mut flipped = Vec::new();
    for result in results {
        let submission = uuid(&result["submission_id"]);
        let fails = failing.contains(&submission);
        assert_eq!(result["recorded_route"], "allow_review");
        let route = if fails {
            "needs_revision"
        } else {
            "allow_review"
        };
        assert_eq!(
            (
                &result["draft_pre_route"],
                &result["draft_post_route"],
                &result["draft_route"]
            ),
            (&json!(route), &json!(route), &json!(route)),
            "{submission}"
        );
        assert_eq!(result["route_changed"], fails);
        if fails {
            flipped.push(submission);
        }
        for member in result["members"].as_array().unwrap() {
            if member["checker"] == "size-limits" {
                let status = if fails { "failed" } else { "passed" };
                assert_eq!(
                    (
                        &member["recorded_post"],
                        &member["draft_pre"],
                        &member["draft_post"]
                    ),
                    (&Value::Null, &json!(status), &json!(status))
                );
                let change = if fails {
                    json!("newly_failing")
                } else {
                    Value::Null
                };
                assert_eq!(member["change"], change, "{submission}");
            } else {
                assert_eq!(member["change"], Value::Null, "{member}");
                assert_eq!(member["recorded_post"], member["draft_post"], "{member}");
            }
        }
        let appeared: Vec<(&str, &str, &str)> = result["findings_appeared"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["checker"].as_str().unwrap(),
                    f["code"].as_str().unwrap(),
                    f["path"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        if fails {
            assert_eq!(
                appeared,
                [("size-limits", "file_too_large", "outputs/final-answer.md")]
            );
        } else {
            assert!(appeared.is_empty(), "{appeared:?}");
        }
        assert_eq!(result["findings_disappeared"], json!([]));
    }
    assert_eq!(flipped.iter().copied().collect::<BTreeSet<_>>(), failing);

    // The totals say the same.
    let summary = &report["preview"]["summary"];
    assert_eq!(
        (
            &summary["submissions"],
            &summary["checked"],
            &summary["intake_refused"],
            &summary["material_unavailable"],
            &summary["route_changed"]
        ),
        (&json!(50), &json!(50), &json!(0), &json!(0), &json!(17))
    );
    assert_eq!(
        summary["route_flips"],
        json!([{"from": "allow_review", "to": "needs_revision", "count": 17,
                "submission_ids": flipped}])
    );
    for checker in summary["checkers"].as_array().unwrap() {
        if checker["checker"] == "size-limits" {
            assert_eq!(
                (&checker["newly_failing"], &checker["newly_passing"]),
                (&json!(17), &json!(0))
            );
            assert_eq!(checker["newly_failing_submissions"], json!(flipped));
        } else {
            assert_eq!(
                (&checker["newly_failing"], &checker["newly_passing"]),
                (&json!(0), &json!(0)),
                "{checker}"
            );
        }
    }
    assert_eq!(
        (
            &summary["findings_appeared"],
            &summary["findings_disappeared"]
        ),
        (&json!(17), &json!(0))
    );
    assert_eq!(
        report["checker_policy"]["checkers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"] == "size-limits" && c["digest"].is_string())
            .count(),
        1,
        "the previewed policy pins the new checker"
    );

    // The guide's previews, paged; a preview is read only under its own guide.
    let page = get(&s.server, &format!("{previews}?limit=1"), &s.pm).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["items"][0]["id"], json!(preview));
    assert_eq!(page.body["items"][0]["summary"], *summary);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = get(
        &s.server,
        &format!("{previews}?limit=1&cursor={cursor}"),
        &s.pm,
    )
    .await;
    assert_eq!(
        (rest.body["items"].clone(), rest.body["next_cursor"].clone()),
        (json!([]), Value::Null)
    );
    let elsewhere = format!(
        "/projects/{}/guides/{}/previews/{preview}",
        s.project, s.guide
    );
    for (path, who) in [
        (elsewhere, &s.pm),
        (format!("{previews}/{}", Uuid::now_v7()), &s.pm),
        (path.clone(), &s.submitter),
    ] {
        let answer = get(&s.server, &path, who).await;
        let expected = if who.id == s.pm.id {
            (404, "not_found")
        } else {
            (403, "permission_not_granted")
        };
        assert_eq!((answer.status.as_u16(), answer.code()), expected, "{path}");
    }

    // Activation shows the preview's summary and records its id.
    let activated = activate(&s.server, &s.pm, s.project, draft).await;
    assert_eq!(activated.status, 200, "{}", activated.body);
    assert_eq!(activated.body["preview"]["id"], json!(preview));
    assert_eq!(activated.body["preview"]["current"], true);
    assert_eq!(activated.body["preview"]["summary"], *summary);
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM audit_events WHERE entity_id = $1 AND event_type = 'guide_activated'",
    )
    .bind(draft)
    .fetch_one(s.server.database.pool())
    .await
    .unwrap();
    assert_eq!(payload["policy_preview_id"], json!(preview));
    let again = post(&s.server, &previews, &s.pm, json!({})).await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (409, "policy_preview_not_draft")
    );

    // A lesson implemented by the checker change, the preview as its evidence.
    let lesson = accepted_checker_lesson(&s).await;
    let implemented = post(
        &s.server,
        &format!("{lesson}/implement"),
        &s.pm,
        json!({"guide_id": draft, "preview_id": preview,
               "note": "size-limits at 120 bytes, previewed on 50 packets"}),
    )
    .await;
    assert_eq!(implemented.status, 200, "{}", implemented.body);
    assert_eq!(implemented.body["status"], "implemented");
    assert_eq!(implemented.body["implemented_preview_id"], json!(preview));
    assert_eq!(implemented.body["implemented_guide_id"], json!(draft));
}
