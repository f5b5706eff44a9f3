//! Fulfilment callbacks: the bound adapter reports what became of an award
//! (docs/rules.md, docs/lifecycle.md; R42, R43, R45; AS44-AS47, AS50).
//!
//! [`record`] runs in the caller's transaction, in this order:
//!
//! 1. **Shape** (nothing read): the event id's format; a `fulfilled` report carries a
//!    canonical decimal quantity, an external reference and a time, and no failure
//!    code; a `failed` report carries a failure code and none of the others. A provider
//!    failure code outside the closed set is recorded as `UNKNOWN_PROVIDER_FAILURE`
//!    (the raw code is kept in the audit event).
//! 2. **Whose award** (the award row locked): only the service actor bound to the
//!    award's binding may report on it; for anyone else the award does not exist (the
//!    concealed 404). The binding's status does not matter: a suspended binding still
//!    reports on awards it was given (R45).
//! 3. **Replay**: the same `(binding, external_event_id)` with the same normalized
//!    report (its `request_hash`) is answered with the stored receipt and writes
//!    nothing (AS45); with anything else it is 409 `external_event_conflict`.
//! 4. **Terminal**: an award with a fulfilled receipt takes no further report, 409
//!    `award_already_fulfilled` (R42, AS44). A failed award may still be fulfilled once
//!    (AS47).
//! 5. **Exact quantity**: a fulfilled quantity must equal the award's, numerically and
//!    without rounding, 422 `fulfilled_quantity_mismatch` (AS46).
//! 6. **Write**: the receipt, the projection refreshed from the facts, one audit event.
//!
//! Concurrent reports for one award serialize on the award's row lock taken in step 2,
//! so of any number of racing `fulfilled` reports one writes its receipt and the others
//! see it in step 3 or 4; the database's unique keys (one fulfilled receipt per award,
//! one event id per binding) back this up and map to the same codes.

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::compensation::{FulfilmentFailureCode, FulfilmentStatus};
use workstream_domain::quantity::Quantity;
use workstream_domain::{Digest, to_canonical_bytes};
use workstream_store::audit::NewAuditEvent;

use super::projection::{self, ProjectionState};
use crate::CommandError;
use crate::audit::record as audit;
use crate::requester::Requester;

/// What an adapter reported: the domain's token, stored as text.
pub use workstream_domain::machines::compensation::ReportedStatus;

/// The body of `POST /compensation/fulfillment-reports`.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfillmentReport {
    /// The adapter's id of this report: 1 to 128 of `[A-Za-z0-9._:-]`, unique per
    /// binding.
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[A-Za-z0-9._:-]+$"))]
    pub external_event_id: String,
    /// The award reported on.
    pub award_id: Uuid,
    /// `fulfilled` or `failed`.
    pub status: ReportedStatus,
    /// Fulfilled: the exact award quantity, a decimal string.
    #[serde(default)]
    pub fulfilled_quantity: Option<String>,
    /// Fulfilled: the provider's reference (1 to 500 characters).
    #[serde(default)]
    pub external_reference: Option<String>,
    /// Fulfilled: when the provider paid.
    #[serde(default)]
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// Failed: the provider's failure code.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// When the adapter sent the report.
    pub reported_at: DateTime<Utc>,
}

/// A stored receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Receipt {
    /// The receipt id.
    pub id: Uuid,
    /// The award.
    pub compensation_award_id: Uuid,
    /// Its project.
    pub project_id: Uuid,
    /// The binding that reported.
    pub adapter_binding_id: Uuid,
    /// The adapter's event id.
    pub external_event_id: String,
    /// `fulfilled` or `failed`.
    pub reported_status: ReportedStatus,
    /// The provider's reference (fulfilled).
    pub external_reference: Option<String>,
    /// The quantity paid (fulfilled), a decimal string.
    pub fulfilled_quantity: Option<String>,
    /// When it was paid (fulfilled).
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// The closed failure code (failed).
    pub failure_code: Option<String>,
    /// When the adapter sent it.
    pub reported_at: DateTime<Utc>,
    /// When Workstream stored it.
    pub received_at: DateTime<Utc>,
}

/// `sqlx::query_as!` of [`Receipt`] rows: `$before` the receipt's columns `$after`.
macro_rules! receipt_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Receipt,
            $before + r#" id, compensation_award_id, project_id, adapter_binding_id, external_event_id,
             reported_status AS "reported_status: _", external_reference,
             trim_scale(fulfilled_quantity)::text AS fulfilled_quantity, fulfilled_at, failure_code,
             reported_at, received_at "# + $after
            $(, $arg)*
        )
    };
}

/// What [`record`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RecordedReport {
    /// The receipt: new, or the one an exact replay matches.
    pub receipt: Receipt,
    /// The award's projection after the report.
    pub projection: ProjectionState,
    /// Whether this was an exact replay (nothing written).
    pub replayed: bool,
}

/// The award facts step 2 reads.
struct AwardFacts {
    project_id: Uuid,
    adapter_binding_id: Uuid,
    adapter_actor_id: Uuid,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
}

/// How far a reported time may stray outside the window it must fall in (clocks of
/// the provider and of the database disagree a little).
const TIME_SKEW_SECONDS: i64 = 300;

/// The report's times against the award and the database's clock: nothing happened
/// before the award was made or after now, and a report follows what it reports.
fn check_times(report: &FulfillmentReport, award: &AwardFacts) -> Result<(), CommandError> {
    let skew = chrono::Duration::seconds(TIME_SKEW_SECONDS);
    let (earliest, latest) = (award.created_at - skew, award.now + skew);
    let window = |field: &'static str, at: DateTime<Utc>| {
        if at < earliest || at > latest {
            return Err(invalid(
                ErrorCode::FulfillmentReportTimeInvalid,
                &format!("{field} must lie between the award's creation and now"),
                json!({ "field": field, "earliest": time(earliest), "latest": time(latest) }),
            ));
        }
        Ok(())
    };
    window("reported_at", report.reported_at)?;
    if let Some(fulfilled_at) = report.fulfilled_at {
        window("fulfilled_at", fulfilled_at)?;
        if report.reported_at < fulfilled_at {
            return Err(invalid(
                ErrorCode::FulfillmentReportTimeInvalid,
                "reported_at cannot be before fulfilled_at",
                json!({ "field": "reported_at", "earliest": time(fulfilled_at) }),
            ));
        }
    }
    Ok(())
}

fn invalid(code: ErrorCode, message: &str, details: serde_json::Value) -> CommandError {
    CommandError::new(code, message).with_details(details)
}

fn is_event_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Step 1: the report's shape; returns the failure code to store.
fn check_shape(report: &FulfillmentReport) -> Result<Option<&'static str>, CommandError> {
    if !is_event_id(&report.external_event_id) {
        return Err(invalid(
            ErrorCode::ExternalEventIdInvalid,
            "external_event_id is 1 to 128 characters of A-Z a-z 0-9 . _ : -",
            json!({ "field": "external_event_id" }),
        ));
    }
    let present = |name: &'static str, set: bool| set.then_some(name);
    match report.status {
        ReportedStatus::Fulfilled => {
            let missing: Vec<&str> = [
                present("fulfilled_quantity", report.fulfilled_quantity.is_none()),
                present("external_reference", report.external_reference.is_none()),
                present("fulfilled_at", report.fulfilled_at.is_none()),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !missing.is_empty() {
                return Err(invalid(
                    ErrorCode::FulfillmentReportIncomplete,
                    "a fulfilled report needs fulfilled_quantity, external_reference and fulfilled_at",
                    json!({ "missing": missing }),
                ));
            }
            if report.failure_code.is_some() {
                return Err(invalid(
                    ErrorCode::FulfillmentReportInconsistent,
                    "a fulfilled report carries no failure_code",
                    json!({ "unexpected": ["failure_code"] }),
                ));
            }
            let quantity = report.fulfilled_quantity.as_deref().unwrap_or_default();
            if let Err(err) = Quantity::from_str(quantity) {
                return Err(invalid(
                    ErrorCode::FulfilledQuantityInvalid,
                    &format!("fulfilled_quantity: {err}"),
                    json!({ "field": "fulfilled_quantity", "reason": err.code() }),
                ));
            }
            let reference = report.external_reference.as_deref().unwrap_or_default();
            if reference.trim().is_empty() || reference.chars().count() > 500 {
                return Err(invalid(
                    ErrorCode::ExternalReferenceInvalid,
                    "external_reference is 1 to 500 characters, not blank",
                    json!({ "field": "external_reference" }),
                ));
            }
            Ok(None)
        }
        ReportedStatus::Failed => {
            let unexpected: Vec<&str> = [
                present("fulfilled_quantity", report.fulfilled_quantity.is_some()),
                present("external_reference", report.external_reference.is_some()),
                present("fulfilled_at", report.fulfilled_at.is_some()),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !unexpected.is_empty() {
                return Err(invalid(
                    ErrorCode::FulfillmentReportInconsistent,
                    "a failed report carries no fulfilled_quantity, external_reference or fulfilled_at",
                    json!({ "unexpected": unexpected }),
                ));
            }
            let Some(code) = report.failure_code.as_deref() else {
                return Err(invalid(
                    ErrorCode::FulfillmentReportIncomplete,
                    "a failed report needs a failure_code",
                    json!({ "missing": ["failure_code"] }),
                ));
            };
            Ok(Some(FulfilmentFailureCode::from_provider(code).as_str()))
        }
    }
}

/// The digest a replay is recognised by: the report normalized (times in UTC with
/// microseconds, absent and null optional fields alike) as canonical JSON.
pub fn request_hash(report: &FulfillmentReport) -> String {
    let document = json!({
        "external_event_id": report.external_event_id,
        "award_id": report.award_id,
        "status": report.status.as_str(),
        "fulfilled_quantity": report.fulfilled_quantity,
        "external_reference": report.external_reference,
        "fulfilled_at": report.fulfilled_at.map(time),
        "failure_code": report.failure_code,
        "reported_at": time(report.reported_at),
    });
    let bytes = to_canonical_bytes(&document).expect("the report has no floats");
    Digest::of_bytes(&bytes).to_string()
}

/// Records `report` from the service actor `adapter` (see the module docs).
pub async fn record(
    conn: &mut PgConnection,
    adapter: &Requester,
    report: &FulfillmentReport,
) -> Result<RecordedReport, CommandError> {
    // 1. Shape.
    let failure_code = check_shape(report)?;
    let hash = request_hash(report);

    // 2. Whose award: lock it, and conceal it from anyone but its bound adapter.
    let award = sqlx::query_as!(
        AwardFacts,
        r#"SELECT a.project_id, a.adapter_binding_id, b.adapter_actor_id, a.created_at, now() AS "now!"
           FROM compensation_awards a
           JOIN project_compensation_adapter_bindings b ON b.id = a.adapter_binding_id
           WHERE a.id = $1 FOR UPDATE OF a"#,
        report.award_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let award = match award {
        Some(award) if award.adapter_actor_id == adapter.actor_id => award,
        _ => return Err(CommandError::not_found()),
    };
    check_times(report, &award)?;

    // 3. Replay.
    let earlier = sqlx::query!(
        "SELECT id, compensation_award_id, request_hash FROM compensation_fulfillment_receipts \
         WHERE adapter_binding_id = $1 AND external_event_id = $2",
        award.adapter_binding_id,
        &report.external_event_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(earlier) = earlier {
        let (receipt_id, award_id, earlier_hash) = (
            earlier.id,
            earlier.compensation_award_id,
            earlier.request_hash,
        );
        if award_id != report.award_id || earlier_hash.as_deref() != Some(hash.as_str()) {
            return Err(event_conflict(receipt_id));
        }
        // A replay writes nothing, not even a drifted projection (rebuild does that).
        let receipt = receipt(conn, receipt_id).await?;
        let projection = projection::derive(conn, projection::Scope::Award(report.award_id))
            .await?
            .pop()
            .ok_or_else(CommandError::not_found)?;
        return Ok(RecordedReport {
            receipt,
            projection,
            replayed: true,
        });
    }

    // 4. Terminal.
    let fulfilled = sqlx::query_scalar!(
        "SELECT id FROM compensation_fulfillment_receipts \
         WHERE compensation_award_id = $1 AND reported_status = $2",
        report.award_id,
        ReportedStatus::Fulfilled.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(receipt_id) = fulfilled {
        return Err(CommandError::new(
            ErrorCode::AwardAlreadyFulfilled,
            "the award is already fulfilled; it takes no further report",
        )
        .with_details(json!({ "receipt_id": receipt_id })));
    }

    // 5. Exact quantity.
    // The shape check parsed it already: an exact decimal.
    let fulfilled_quantity = report
        .fulfilled_quantity
        .as_deref()
        .map(Quantity::from_str)
        .transpose()
        .map_err(CommandError::internal)?
        .map(|quantity| quantity.as_decimal());
    if let (Some(quantity), Some(exact)) = (&report.fulfilled_quantity, fulfilled_quantity) {
        let row = sqlx::query!(
            r#"SELECT quantity = $2 AS "equal!", trim_scale(quantity)::text AS "award_quantity!"
               FROM compensation_awards WHERE id = $1"#,
            report.award_id,
            exact,
        )
        .fetch_one(&mut *conn)
        .await?;
        let (equal, award_quantity) = (row.equal, row.award_quantity);
        if !equal {
            return Err(invalid(
                ErrorCode::FulfilledQuantityMismatch,
                "fulfilled_quantity must be exactly the award's quantity",
                json!({ "award_quantity": award_quantity, "fulfilled_quantity": quantity }),
            ));
        }
    }

    // 6. Write.
    let before = sqlx::query_scalar!(
        r#"SELECT fulfillment_status AS "fulfillment_status: FulfilmentStatus"
           FROM compensation_status_projections WHERE compensation_award_id = $1"#,
        report.award_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let receipt_id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO compensation_fulfillment_receipts (id, compensation_award_id, project_id, \
           adapter_binding_id, external_event_id, reported_status, external_reference, \
           fulfilled_quantity, fulfilled_at, failure_code, request_hash, reported_at, correlation_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        receipt_id,
        report.award_id,
        award.project_id,
        award.adapter_binding_id,
        &report.external_event_id,
        report.status.as_str(),
        report.external_reference.as_deref(),
        fulfilled_quantity,
        report.fulfilled_at,
        failure_code,
        &hash,
        report.reported_at,
        adapter.correlation_id.as_deref(),
    )
    .execute(&mut *conn)
    .await
    .map_err(|err| {
        if crate::error::violated_constraint(&err)
            == Some("compensation_fulfillment_receipts_binding_event_key")
        {
            event_conflict(receipt_id)
        } else {
            CommandError::from(err)
        }
    })?;
    let projection = projection::refresh(conn, report.award_id).await?;
    audit(
        conn,
        adapter,
        NewAuditEvent {
            project_id: Some(award.project_id),
            entity_type: "compensation_award".into(),
            entity_id: Some(report.award_id),
            event_type: "compensation_fulfillment_recorded".into(),
            from_status: before.map(|status| status.to_string()),
            to_status: Some(projection.fulfillment_status.to_string()),
            payload: json!({
                "receipt_id": receipt_id,
                "adapter_binding_id": award.adapter_binding_id,
                "external_event_id": report.external_event_id,
                "reported_status": report.status.as_str(),
                "failure_code": failure_code,
                "provider_failure_code": report.failure_code,
                "external_reference": report.external_reference,
            }),
            ..Default::default()
        },
    )
    .await?;
    Ok(RecordedReport {
        receipt: receipt(conn, receipt_id).await?,
        projection,
        replayed: false,
    })
}

fn event_conflict(receipt_id: Uuid) -> CommandError {
    CommandError::new(
        ErrorCode::ExternalEventConflict,
        "this external_event_id was already reported by the binding with a different body",
    )
    .with_details(json!({ "receipt_id": receipt_id }))
}

async fn receipt(conn: &mut PgConnection, id: Uuid) -> Result<Receipt, CommandError> {
    Ok(receipt_query!(
        "SELECT",
        "FROM compensation_fulfillment_receipts WHERE id = $1",
        id
    )
    .fetch_one(&mut *conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fulfilled() -> FulfillmentReport {
        FulfillmentReport {
            external_event_id: "evt-1".into(),
            award_id: Uuid::from_u128(7),
            status: ReportedStatus::Fulfilled,
            fulfilled_quantity: Some("50".into()),
            external_reference: Some("pay_123".into()),
            fulfilled_at: Some("2026-01-02T03:04:05Z".parse().unwrap()),
            failure_code: None,
            reported_at: "2026-01-02T03:04:06Z".parse().unwrap(),
        }
    }

    fn failed(code: &str) -> FulfillmentReport {
        FulfillmentReport {
            status: ReportedStatus::Failed,
            fulfilled_quantity: None,
            external_reference: None,
            fulfilled_at: None,
            failure_code: Some(code.into()),
            ..fulfilled()
        }
    }

    #[test]
    fn a_fulfilled_report_needs_quantity_reference_and_time() {
        assert_eq!(check_shape(&fulfilled()).unwrap(), None);
        let err = check_shape(&FulfillmentReport {
            external_reference: None,
            ..fulfilled()
        })
        .unwrap_err();
        assert_eq!(err.code, "fulfillment_report_incomplete");
        assert_eq!(err.details["missing"], json!(["external_reference"]));
        for bad in ["+50", "5e1", "050", "0", "-1", "50.", "NaN"] {
            let err = check_shape(&FulfillmentReport {
                fulfilled_quantity: Some(bad.into()),
                ..fulfilled()
            })
            .unwrap_err();
            assert_eq!(err.code, "fulfilled_quantity_invalid", "{bad}");
        }
        let err = check_shape(&FulfillmentReport {
            failure_code: Some("PROVIDER_TIMEOUT".into()),
            ..fulfilled()
        })
        .unwrap_err();
        assert_eq!(err.code, "fulfillment_report_inconsistent");
        let err = check_shape(&FulfillmentReport {
            external_reference: Some("  ".into()),
            ..fulfilled()
        })
        .unwrap_err();
        assert_eq!(err.code, "external_reference_invalid");
    }

    #[test]
    fn a_failed_report_carries_a_closed_code_and_nothing_else() {
        assert_eq!(
            check_shape(&failed("PROVIDER_TIMEOUT")).unwrap(),
            Some("PROVIDER_TIMEOUT")
        );
        assert_eq!(
            check_shape(&failed("card_declined")).unwrap(),
            Some("UNKNOWN_PROVIDER_FAILURE")
        );
        let err = check_shape(&FulfillmentReport {
            fulfilled_quantity: Some("50".into()),
            ..failed("ADAPTER_REJECTED")
        })
        .unwrap_err();
        assert_eq!(err.code, "fulfillment_report_inconsistent");
        let err = check_shape(&FulfillmentReport {
            failure_code: None,
            ..failed("x")
        })
        .unwrap_err();
        assert_eq!(err.code, "fulfillment_report_incomplete");
    }

    #[test]
    fn event_ids_are_bounded_and_plain() {
        for bad in ["", "with space", "ümlaut", &"a".repeat(129), "a/b"] {
            let err = check_shape(&FulfillmentReport {
                external_event_id: bad.into(),
                ..fulfilled()
            })
            .unwrap_err();
            assert_eq!(err.code, "external_event_id_invalid", "{bad}");
        }
        assert!(is_event_id(&"a".repeat(128)));
        assert!(is_event_id("evt:2026.01_x-1"));
    }

    #[test]
    fn the_request_hash_ignores_spelling_but_not_meaning() {
        let a = fulfilled();
        let b = FulfillmentReport {
            reported_at: "2026-01-02T04:04:06+01:00".parse().unwrap(),
            ..fulfilled()
        };
        assert_eq!(request_hash(&a), request_hash(&b));
        let c = FulfillmentReport {
            external_reference: Some("pay_124".into()),
            ..fulfilled()
        };
        assert_ne!(request_hash(&a), request_hash(&c));
    }
}
