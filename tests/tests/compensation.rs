//! Payments over HTTP, end to end (docs/rules.md; R39-R45; AS42-AS50): accepted
//! work earns exact awards, the worker delivers them through the local adapter, the
//! bound adapter reports fulfilment through the callback (and nobody else can), no
//! award is ever paid twice, a failed delivery leaves acceptance alone, projections
//! rebuild from the facts and reconciliation reports every mismatch.
//!
//! Each test builds a world with `compensation_support::world`: the submitter's terms
//! are money 50 USD plus 10 points (two bindings on one local adapter service actor);
//! reviews are unpaid.

mod compensation_support;
mod projects_support;

use std::collections::BTreeMap;
use std::time::Duration;

use compensation_support::{Routes, World, failed, fulfilled, get, post, world};
use serde_json::{Value, json};
use uuid::Uuid;
use workstream_domain::roles::AdminRole;
use workstream_engine::jobs::DeliveryArgs;
use workstream_store::jobs::{self, NewJob};

fn uuid(value: &Value) -> Uuid {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a uuid: {value}"))
        .parse()
        .unwrap()
}

async fn receipts(w: &World, award: Uuid) -> i64 {
    w.count(
        "SELECT count(*) FROM compensation_fulfillment_receipts WHERE compensation_award_id = $1",
        award,
    )
    .await
}

async fn projection(w: &World, award: Uuid) -> (String, String, Option<Uuid>, Option<String>) {
    sqlx::query_as(
        "SELECT delivery_status, fulfillment_status, latest_receipt_id, last_failure_code \
         FROM compensation_status_projections WHERE compensation_award_id = $1",
    )
    .bind(award)
    .fetch_one(w.server.database.pool())
    .await
    .unwrap()
}

/// AS42, AS43 and delivery: an accepted task earns exactly the two submitter awards,
/// the unpaid review earns nothing, and the worker delivers both awards through the
/// local adapter, once in effect even when the delivery job runs again.
#[tokio::test(flavor = "multi_thread")]
async fn accepted_work_earns_exact_awards_that_the_local_adapter_acknowledges() {
    let w = world("pay-awards", Routes::default()).await;
    let (task, decision) = w.accepted_task("Awarded work").await;
    assert_eq!(decision["task"]["status"], "accepted", "{decision}");

    // AS43: exactly two awards, with exactly the definitions' quantities.
    let awards = w.awards(task).await;
    assert_eq!(
        awards
            .iter()
            .map(|(_, i, q)| (i.as_str(), q.as_str()))
            .collect::<Vec<_>>(),
        [("money", "50"), ("project_points", "10")]
    );
    let contributions = decision["contributions"].as_array().unwrap();
    assert_eq!(contributions.len(), 2, "{decision}");
    for contribution in contributions {
        let expected = match contribution["contribution_type"].as_str().unwrap() {
            "accepted_submission" => 2,
            "completed_review" => 0,
            other => panic!("unexpected contribution {other}"),
        };
        assert_eq!(
            contribution["awards"].as_array().unwrap().len(),
            expected,
            "{contribution}"
        );
    }
    // AS42: the unpaid review's contribution exists, with no award and no projection.
    let review_contribution: Uuid = sqlx::query_scalar(
        "SELECT id FROM contribution_records WHERE task_id = $1 AND contribution_type = 'completed_review'",
    )
    .bind(task)
    .fetch_one(w.server.database.pool())
    .await
    .unwrap();
    assert_eq!(
        w.count(
            "SELECT count(*) FROM compensation_awards WHERE contribution_record_id = $1",
            review_contribution
        )
        .await,
        0
    );
    assert_eq!(
        w.count(
            "SELECT count(*) FROM compensation_status_projections p JOIN compensation_awards a \
             ON a.id = p.compensation_award_id WHERE a.contribution_record_id = $1",
            review_contribution
        )
        .await,
        0
    );

    // Delivery: both acknowledged by the local adapter, recorded once each.
    for (award, _, _) in &awards {
        w.wait_outbox(*award, "acknowledged").await;
        let (delivery, fulfillment, receipt, _) = projection(&w, *award).await;
        assert_eq!(
            (delivery.as_str(), fulfillment.as_str(), receipt),
            ("acknowledged_by_adapter", "pending", None)
        );
        assert_eq!(
            w.count(
                "SELECT count(*) FROM local_adapter_deliveries WHERE compensation_award_id = $1",
                *award
            )
            .await,
            1
        );
        assert_eq!(
            w.count(
                "SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = 'compensation_award_delivered'",
                *award
            )
            .await,
            1
        );
    }

    // A crash after the adapter answered but before the commit: the outbox row is
    // still `dispatched` and the projection pending. The job runs again; the adapter
    // sees the same delivery id, records nothing new and answers the same reference.
    let (money, _, _) = awards[0];
    let pool = w.server.database.pool();
    let (outbox, reference): (Uuid, String) = sqlx::query_as(
        "SELECT id, adapter_reference FROM award_delivery_outbox WHERE compensation_award_id = $1",
    )
    .bind(money)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(reference, format!("local:{outbox}"));
    sqlx::query(
        "UPDATE award_delivery_outbox SET state = 'dispatched', acknowledged_at = NULL, \
         adapter_reference = NULL WHERE id = $1",
    )
    .bind(outbox)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE compensation_status_projections SET delivery_status = 'pending_delivery', \
         acknowledged_at = NULL WHERE compensation_award_id = $1",
    )
    .bind(money)
    .execute(pool)
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    jobs::enqueue(
        &mut tx,
        NewJob {
            idempotency_key: Some(format!("test-redeliver:{outbox}")),
            ..NewJob::of(&DeliveryArgs { outbox_id: outbox })
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    w.wait_outbox(money, "acknowledged").await;
    let again: String =
        sqlx::query_scalar("SELECT adapter_reference FROM award_delivery_outbox WHERE id = $1")
            .bind(outbox)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(again, reference);
    assert_eq!(
        w.count(
            "SELECT count(*) FROM local_adapter_deliveries WHERE compensation_award_id = $1",
            money
        )
        .await,
        1,
        "the redelivery recorded nothing new"
    );
    assert_eq!(projection(&w, money).await.0, "acknowledged_by_adapter");

    // Reads: finance and audit list the project's awards with their projection; the
    // submitter reads their own, the reviewer has none; others meet the 404.
    let path = format!("/projects/{}/compensation/awards", w.project);
    for who in [&w.finance, &w.auditor] {
        let list = get(&w.server, &path, who).await;
        assert_eq!(list.status, 200, "{}", list.body);
        let items = list.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0]["projection"]["delivery_status"],
            "acknowledged_by_adapter"
        );
        assert_eq!(items[0]["task_id"], json!(task));
    }
    let page = get(&w.server, &format!("{path}?limit=1"), &w.finance).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = get(
        &w.server,
        &format!("{path}?limit=1&cursor={cursor}"),
        &w.finance,
    )
    .await;
    assert_eq!(rest.body["items"][0]["id"], json!(awards[1].0));
    for who in [&w.pm, &w.submitter, &w.reviewer] {
        let denied = get(&w.server, &path, who).await;
        assert_eq!(
            (denied.status.as_u16(), denied.code()),
            (404, "not_found"),
            "{}",
            denied.body
        );
    }
    let mine = get(&w.server, "/me/awards", &w.submitter).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["quantity"], "50");
    assert!(
        items[0].get("adapter_binding_id").is_none(),
        "no binding ids for contributors"
    );
    let theirs = get(&w.server, "/me/awards", &w.reviewer).await;
    assert_eq!(theirs.body["items"], json!([]));
}

/// AS44-AS47, AS50 and R45: the callback's rules, one by one, with the exact rows each
/// request leaves behind.
#[tokio::test(flavor = "multi_thread")]
async fn fulfilment_callbacks_follow_the_rules() {
    let w = world("pay-callbacks", Routes::default()).await;
    let (task, _) = w.accepted_task("Paid work").await;
    let awards = w.awards(task).await;
    let (money, points) = (awards[0].0, awards[1].0);

    // AS50: people (finance and an access administrator included) are refused before
    // anything is read; another adapter meets the concealed 404.
    let admin = w.server.actor("pay-callbacks-admin").await;
    w.server
        .grant_admin(&admin, AdminRole::AccessAdministrator, None)
        .await;
    for who in [&w.finance, &w.auditor, &admin, &w.submitter, &w.pm] {
        let answer = w.report(who, fulfilled("evt-human", money, "50")).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (403, "permission_not_granted"),
            "{}",
            answer.body
        );
    }
    let other = w
        .server
        .service_actor("pay-callbacks-other", "workstream.checker.worker")
        .await;
    let answer = w.report(&other, fulfilled("evt-other", money, "50")).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (404, "not_found"),
        "{}",
        answer.body
    );
    let answer = w
        .report(&w.adapter, fulfilled("evt-missing", Uuid::now_v7(), "50"))
        .await;
    assert_eq!((answer.status.as_u16(), answer.code()), (404, "not_found"));
    assert_eq!(receipts(&w, money).await, 0);

    // AS46 and R42: a wrong quantity, a missing reference, a failed report with a
    // quantity, a quantity that is not a canonical decimal, an unknown field.
    let refusals = [
        (
            fulfilled("evt-a", money, "49"),
            "fulfilled_quantity_mismatch",
        ),
        (
            fulfilled("evt-b", money, "50.5"),
            "fulfilled_quantity_mismatch",
        ),
        (
            fulfilled("evt-c", money, "5e1"),
            "fulfilled_quantity_invalid",
        ),
        (
            {
                let mut body = fulfilled("evt-d", money, "50");
                body.as_object_mut().unwrap().remove("external_reference");
                body
            },
            "fulfillment_report_incomplete",
        ),
        (
            {
                let mut body = failed("evt-e", money, "PROVIDER_TIMEOUT");
                body["fulfilled_quantity"] = json!("50");
                body
            },
            "fulfillment_report_inconsistent",
        ),
        (
            {
                let mut body = fulfilled("evt-f", money, "50");
                body["tip"] = json!("1");
                body
            },
            "invalid_request",
        ),
        (
            fulfilled("bad id", money, "50"),
            "external_event_id_invalid",
        ),
        // Times: in year 0, far in the future, or a report before what it reports.
        (
            {
                let mut body = fulfilled("evt-g", money, "50");
                body["fulfilled_at"] = json!("0000-01-01T00:00:00Z");
                body
            },
            "fulfillment_report_time_invalid",
        ),
        (
            {
                let mut body = fulfilled("evt-h", money, "50");
                body["fulfilled_at"] = json!("2999-01-01T00:00:00Z");
                body["reported_at"] = json!("2999-01-01T00:00:01Z");
                body
            },
            "fulfillment_report_time_invalid",
        ),
        (
            {
                let mut body = fulfilled("evt-i", money, "50");
                let fulfilled_at = chrono::Utc::now();
                body["fulfilled_at"] = json!(fulfilled_at);
                body["reported_at"] = json!(fulfilled_at - chrono::Duration::seconds(10));
                body
            },
            "fulfillment_report_time_invalid",
        ),
    ];
    for (body, code) in refusals {
        let answer = w.report(&w.adapter, body.clone()).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (422, code),
            "{body}: {}",
            answer.body
        );
    }
    assert_eq!(receipts(&w, money).await, 0);

    // A failure first: an unknown provider code is recorded as UNKNOWN_PROVIDER_FAILURE.
    let answer = w
        .report(&w.adapter, failed("evt-1", money, "CARD_DECLINED"))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(
        answer.body["receipt"]["failure_code"],
        "UNKNOWN_PROVIDER_FAILURE"
    );
    assert_eq!(answer.body["projection"]["fulfillment_status"], "failed");
    let (_, status, _, code) = projection(&w, money).await;
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("failed", Some("UNKNOWN_PROVIDER_FAILURE"))
    );

    // AS47: a later valid fulfilled receipt fulfils the failed award.
    let report = fulfilled("evt-2", money, "50");
    let answer = w.report(&w.adapter, report.clone()).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let receipt = uuid(&answer.body["receipt"]["id"]);
    assert_eq!(answer.body["receipt"]["fulfilled_quantity"], "50");
    let (_, status, latest, _) = projection(&w, money).await;
    assert_eq!((status.as_str(), latest), ("fulfilled", Some(receipt)));
    assert_eq!(receipts(&w, money).await, 2);

    // AS45: the identical report again (a new request, a new Idempotency-Key) is the
    // same receipt and writes nothing; the same event with a changed body is refused.
    let audit_before = w
        .count(
            "SELECT count(*) FROM audit_events WHERE entity_id = $1",
            money,
        )
        .await;
    let replay = w.report(&w.adapter, report.clone()).await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.body["replayed"], true);
    assert_eq!(uuid(&replay.body["receipt"]["id"]), receipt);
    let mut changed = report.clone();
    changed["external_reference"] = json!("pay-somewhere-else");
    let answer = w.report(&w.adapter, changed).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "external_event_conflict"),
        "{}",
        answer.body
    );
    // AS44: a second fulfilment under a new event id, and a failure after fulfilment,
    // are refused; there is still exactly one fulfilled receipt.
    let answer = w.report(&w.adapter, fulfilled("evt-3", money, "50")).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "award_already_fulfilled"),
        "{}",
        answer.body
    );
    let answer = w
        .report(&w.adapter, failed("evt-4", money, "ADAPTER_REJECTED"))
        .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (409, "award_already_fulfilled")
    );
    assert_eq!(receipts(&w, money).await, 2);
    assert_eq!(
        w.count(
            "SELECT count(*) FROM compensation_fulfillment_receipts WHERE compensation_award_id = $1 \
             AND reported_status = 'fulfilled'",
            money
        )
        .await,
        1
    );
    assert_eq!(
        w.count(
            "SELECT count(*) FROM audit_events WHERE entity_id = $1",
            money
        )
        .await,
        audit_before,
        "replays and refusals write no audit event"
    );
    assert_eq!(
        w.count(
            "SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = 'compensation_fulfillment_recorded'",
            money
        )
        .await,
        2
    );

    // R45: a suspended binding still takes callbacks for awards it was given.
    let suspended = post(
        &w.server,
        &format!(
            "/projects/{}/adapter-bindings/{}/suspend",
            w.project, w.points_binding
        ),
        &w.finance,
        json!({}),
    )
    .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let answer = w
        .report(&w.adapter, fulfilled("evt-points", points, "10"))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(projection(&w, points).await.1, "fulfilled");
    // Receipts are immutable in the database.
    let update = sqlx::query(
        "UPDATE compensation_fulfillment_receipts SET external_reference = 'x' WHERE compensation_award_id = $1",
    )
    .bind(points)
    .execute(w.server.database.pool())
    .await;
    assert!(update.is_err(), "receipts are append-only");
}

/// R42: a hundred concurrent fulfilled callbacks for one award (each with its own event
/// id) record exactly one fulfilment; every other one is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_concurrent_fulfilment_callbacks_record_exactly_one_fulfilment() {
    let w = world("pay-race", Routes::default()).await;
    let (task, _) = w.accepted_task("Raced work").await;
    let money = w.awards(task).await[0].0;

    let mut calls = tokio::task::JoinSet::new();
    for n in 0..100 {
        let client = w.server.client.clone();
        let url = w.server.url("/api/v1/compensation/fulfillment-reports");
        let auth = w.adapter.auth();
        let body = fulfilled(&format!("race-{n}"), money, "50");
        calls.spawn(async move {
            let response = client
                .post(url)
                .header("authorization", auth)
                .header("idempotency-key", Uuid::now_v7().to_string())
                .json(&body)
                .timeout(Duration::from_secs(120))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (
                status,
                body["error"]["code"].as_str().unwrap_or("").to_owned(),
            )
        });
    }
    let mut outcomes: BTreeMap<(u16, String), usize> = BTreeMap::new();
    while let Some(done) = calls.join_next().await {
        *outcomes.entry(done.unwrap()).or_default() += 1;
    }
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ((201, String::new()), 1),
            ((409, "award_already_fulfilled".to_owned()), 99)
        ])
    );
    assert_eq!(receipts(&w, money).await, 1);
    assert_eq!(projection(&w, money).await.1, "fulfilled");
    assert_eq!(
        w.count(
            "SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = 'compensation_fulfillment_recorded'",
            money
        )
        .await,
        1
    );
}

/// AS48, R39, R45: a delivery that fails (no adapter serves the money route) and one
/// blocked by a suspended binding leave the task accepted and every acceptance record
/// as it was; the awards stay pending and reconciliation reports them.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_delivery_leaves_acceptance_alone() {
    let w = world(
        "pay-failing",
        Routes {
            money: "acme.bank",
            points: "local.points",
        },
    )
    .await;
    let task = w.task_in_review("Unlucky work").await;
    let lease = w.claim(task).await;
    // New deliveries through the points binding are blocked from here on.
    let suspended = post(
        &w.server,
        &format!(
            "/projects/{}/adapter-bindings/{}/suspend",
            w.project, w.points_binding
        ),
        &w.finance,
        json!({}),
    )
    .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let decision = w.accept(lease).await;
    assert_eq!(decision["task"]["status"], "accepted");
    let awards = w.awards(task).await;
    let (money, points) = (awards[0].0, awards[1].0);

    // The money delivery fails (no adapter for `acme.bank`) and is retried.
    w.wait_outbox(money, "failed").await;
    let (attempts, error): (i32, String) = sqlx::query_as(
        "SELECT attempts, last_error FROM award_delivery_outbox WHERE compensation_award_id = $1",
    )
    .bind(money)
    .fetch_one(w.server.database.pool())
    .await
    .unwrap();
    assert!(attempts >= 1);
    assert!(error.starts_with("no_adapter_for_route"), "{error}");
    let job_state: String = sqlx::query_scalar(
        "SELECT j.state FROM jobs j JOIN award_delivery_outbox o ON o.job_id = j.id \
         WHERE o.compensation_award_id = $1",
    )
    .bind(money)
    .fetch_one(w.server.database.pool())
    .await
    .unwrap();
    assert!(
        ["retryable", "running", "available"].contains(&job_state.as_str()),
        "{job_state}"
    );
    // The points delivery waits for the binding: still pending, with the reason.
    for _ in 0..100 {
        let error: Option<String> = sqlx::query_scalar(
            "SELECT last_error FROM award_delivery_outbox WHERE compensation_award_id = $1",
        )
        .bind(points)
        .fetch_one(w.server.database.pool())
        .await
        .unwrap();
        if error.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (state, error, attempts): (String, Option<String>, i32) = sqlx::query_as(
        "SELECT state, last_error, attempts FROM award_delivery_outbox WHERE compensation_award_id = $1",
    )
    .bind(points)
    .fetch_one(w.server.database.pool())
    .await
    .unwrap();
    assert_eq!(state, "pending");
    assert_eq!(attempts, 0, "no delivery was attempted");
    assert!(
        error
            .as_deref()
            .unwrap_or("")
            .starts_with("adapter_binding_suspended"),
        "{error:?}"
    );
    assert_eq!(
        w.count(
            "SELECT count(*) FROM local_adapter_deliveries WHERE compensation_award_id = $1",
            points
        )
        .await,
        0
    );

    // AS48: the task is still accepted; acceptance, contributions and awards unchanged.
    assert_eq!(w.task_status(task).await, "accepted");
    assert_eq!(
        w.count(
            "SELECT count(*) FROM final_acceptances WHERE task_id = $1",
            task
        )
        .await,
        1
    );
    assert_eq!(
        w.count(
            "SELECT count(*) FROM contribution_records WHERE task_id = $1",
            task
        )
        .await,
        2
    );
    assert_eq!(w.awards(task).await.len(), 2);
    for award in [money, points] {
        assert_eq!(projection(&w, award).await.0, "pending_delivery", "{award}");
    }
    let status: String =
        sqlx::query_scalar("SELECT status FROM task_assignments WHERE task_id = $1")
            .bind(task)
            .fetch_one(w.server.database.pool())
            .await
            .unwrap();
    assert_eq!(status, "completed");

    // Reconciliation reports both deliveries as pending past a zero SLA.
    let report = get(
        &w.server,
        &format!(
            "/projects/{}/compensation/reconciliation?pending_sla_seconds=0",
            w.project
        ),
        &w.finance,
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    let pending: Vec<Uuid> = report.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "delivery_pending_past_sla")
        .map(|f| uuid(&f["ids"]["award_id"]))
        .collect();
    assert_eq!(pending, {
        let mut both = vec![money, points];
        both.sort();
        both
    });
    assert_eq!(report.body["dashboard"]["pending_delivery"], 2);
    // Reactivating the binding delivers the waiting award at once (a job per waiting
    // row); the money award keeps failing, and the task stays accepted.
    let reactivated = post(
        &w.server,
        &format!(
            "/projects/{}/adapter-bindings/{}/reactivate",
            w.project, w.points_binding
        ),
        &w.finance,
        json!({}),
    )
    .await;
    assert_eq!(reactivated.status, 200, "{}", reactivated.body);
    w.wait_outbox(points, "acknowledged").await;
    assert_eq!(projection(&w, points).await.0, "acknowledged_by_adapter");
    assert_eq!(projection(&w, money).await.0, "pending_delivery");
    assert_eq!(w.task_status(task).await, "accepted");

    // With the default (one day) SLA nothing is overdue yet.
    let report = get(
        &w.server,
        &format!("/projects/{}/compensation/reconciliation", w.project),
        &w.auditor,
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.body["findings"], json!([]), "{}", report.body);
}

/// R44, docs/rules.md and AS49: projections are rebuilt from the facts after being corrupted,
/// reconciliation reports every drift first, and neither finance nor audit can change a
/// review, a contribution record or an award.
#[tokio::test(flavor = "multi_thread")]
async fn projections_rebuild_from_facts_and_reconciliation_reports_the_drift() {
    let w = world("pay-rebuild", Routes::default()).await;
    let (task, _) = w.accepted_task("Rebuilt work").await;
    let awards = w.awards(task).await;
    let (money, points) = (awards[0].0, awards[1].0);
    for award in [money, points] {
        w.wait_outbox(award, "acknowledged").await;
    }
    let answer = w
        .report(&w.adapter, fulfilled("evt-paid", money, "50"))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);

    let reconciliation = format!(
        "/projects/{}/compensation/reconciliation?pending_sla_seconds=0",
        w.project
    );
    let clean = get(&w.server, &reconciliation, &w.finance).await;
    assert_eq!(clean.status, 200, "{}", clean.body);
    let kinds = |body: &Value| -> Vec<(String, Uuid)> {
        body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["kind"].as_str().unwrap().to_owned(),
                    uuid(&f["ids"]["award_id"]),
                )
            })
            .collect()
    };
    // The points award was acknowledged and has no receipt yet (zero SLA).
    assert_eq!(
        kinds(&clean.body),
        [("acknowledged_without_receipt".to_owned(), points)]
    );
    assert_eq!(
        clean.body["dashboard"]["fulfilled"],
        json!([{"instrument_type": "money", "unit_code": "USD", "award_count": 1, "quantity": "50"}])
    );
    assert_eq!(clean.body["dashboard"]["acknowledged_not_fulfilled"], 1);

    // Corrupt: the money projection forgets its fulfilment, the points one disappears.
    let pool = w.server.database.pool();
    let snapshot = async || -> Vec<Value> {
        sqlx::query_scalar(
            "SELECT to_jsonb(p) - 'updated_at' - 'created_at' FROM compensation_status_projections p \
             WHERE project_id = $1 ORDER BY compensation_award_id",
        )
        .bind(w.project)
        .fetch_all(pool)
        .await
        .unwrap()
    };
    let before = snapshot().await;
    sqlx::query(
        "UPDATE compensation_status_projections SET fulfillment_status = 'pending', \
         latest_receipt_id = NULL, external_reference = NULL, fulfilled_at = NULL \
         WHERE compensation_award_id = $1",
    )
    .bind(money)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM compensation_status_projections WHERE compensation_award_id = $1")
        .bind(points)
        .execute(pool)
        .await
        .unwrap();

    let drifted = get(&w.server, &reconciliation, &w.auditor).await;
    assert_eq!(drifted.status, 200, "{}", drifted.body);
    let mut found = kinds(&drifted.body);
    found.sort();
    assert_eq!(
        found,
        [
            ("acknowledged_without_receipt".to_owned(), points),
            ("award_missing_projection".to_owned(), points),
            ("projection_drift".to_owned(), money),
        ]
    );
    let drift = drifted.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "projection_drift")
        .unwrap();
    assert_eq!(
        drift["details"]["expected"]["fulfillment_status"],
        "fulfilled"
    );
    assert_eq!(drift["details"]["stored"]["fulfillment_status"], "pending");
    assert_eq!(snapshot().await.len(), 1, "reconciliation corrects nothing");

    // Audit reads but may not rebuild; finance rebuilds and gets the changes back.
    let rebuild = format!("/projects/{}/compensation/projections/rebuild", w.project);
    let denied = post(&w.server, &rebuild, &w.auditor, json!({})).await;
    assert_eq!((denied.status.as_u16(), denied.code()), (404, "not_found"));
    let rebuilt = post(&w.server, &rebuild, &w.finance, json!({})).await;
    assert_eq!(rebuilt.status, 200, "{}", rebuilt.body);
    assert_eq!(rebuilt.body["awards_checked"], 2);
    let changed: BTreeMap<Uuid, Value> = rebuilt.body["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                uuid(&c["compensation_award_id"]),
                c["changed_fields"].clone(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        BTreeMap::from([
            (
                money,
                json!([
                    "fulfillment_status",
                    "latest_receipt_id",
                    "external_reference",
                    "fulfilled_at"
                ])
            ),
            (points, json!(["row_missing"])),
        ])
    );
    assert_eq!(snapshot().await, before, "the rebuild restores every field");
    let again = post(&w.server, &rebuild, &w.finance, json!({})).await;
    assert_eq!(again.body["changed"], json!([]));
    let settled = get(&w.server, &reconciliation, &w.finance).await;
    assert_eq!(
        kinds(&settled.body),
        [("acknowledged_without_receipt".to_owned(), points)]
    );
    assert_eq!(
        w.count(
            "SELECT count(*) FROM audit_events WHERE entity_id = $1 AND event_type = 'compensation_projections_rebuilt'",
            w.project
        )
        .await,
        2
    );

    // Facts are immutable: awards, contribution records and receipts refuse changes.
    for sql in [
        "UPDATE compensation_awards SET quantity = 51 WHERE id = $1",
        "DELETE FROM compensation_awards WHERE id = $1",
    ] {
        let refused = sqlx::query(sql).bind(money).execute(pool).await;
        assert!(refused.is_err(), "{sql}");
    }
    let refused = sqlx::query(
        "UPDATE contribution_records SET artifact_hash = artifact_hash WHERE task_id = $1",
    )
    .bind(task)
    .execute(pool)
    .await;
    assert!(refused.is_err(), "contribution records are append-only");

    // AS49: finance and audit cannot review (no claim, no decision): nothing is written.
    let (reviews, leases): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM reviews), (SELECT count(*) FROM review_leases)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let second = w.task_in_review("Second work").await;
    let entry = w.queue_entry(second).await;
    for who in [&w.finance, &w.auditor] {
        let answer = post(
            &w.server,
            "/reviews/claim",
            who,
            json!({"queue_entry_id": entry}),
        )
        .await;
        assert!(
            [403, 404].contains(&answer.status.as_u16()),
            "{}",
            answer.body
        );
    }
    let lease = w.claim(second).await;
    for who in [&w.finance, &w.auditor] {
        let answer = post(
            &w.server,
            &format!("/reviews/leases/{lease}/decision"),
            who,
            json!({"decision": "accept", "summary": "Finance accepts.",
                   "acceptance_evidence_refs": [{"path": "outputs/final-answer.md"}],
                   "findings": [], "resolutions": []}),
        )
        .await;
        assert!(
            [403, 404].contains(&answer.status.as_u16()),
            "{}",
            answer.body
        );
    }
    let (reviews_after, leases_after): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM reviews), (SELECT count(*) FROM review_leases)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        (reviews_after, leases_after),
        (reviews, leases + 1),
        "only the reviewer's claim wrote anything"
    );
    // Audit can mutate nothing here either: the callback refuses people.
    let answer = w
        .report(&w.auditor, fulfilled("evt-audit", points, "10"))
        .await;
    assert_eq!(answer.status, 403);
}
