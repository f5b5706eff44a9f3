//! Contribution policies and their versions (docs/rules.md).
//!
//! A policy has numbered versions. A draft version holds its proposed terms in
//! `draft_terms` (validated on every write); publishing appends the immutable rules and
//! award definitions from those terms, marks the version published, and makes it the
//! policy's current version (the policy becomes active). A previously published version
//! stays published, so tasks locked to it keep their terms (AS15), but it is no longer
//! current. `draft_terms` is frozen with the version at publication, so it keeps the
//! exact spelling of each quantity (`50.00`) that the NUMERIC column would pad.
//! Retiring the current version retires the policy: nothing is current until a new
//! policy is published, and guide activation is refused meanwhile (R5).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::contribution::CompensationMode;
use workstream_domain::machines::compensation::{AdapterBindingStatus, UnitStatus};
use workstream_domain::machines::contribution_policy::{
    ContributionPolicyStatus, ContributionPolicyVersionStatus,
};
use workstream_domain::machines::project::GuideStatus;
use workstream_domain::policy::contribution::{ContributionTerms, parse_terms};
use workstream_domain::policy::{FieldError, schema};
use workstream_store::audit::NewAuditEvent;

use crate::audit::record;
use crate::error::CommandError;
use crate::requester::Requester;

fn rules_invalid(errors: &[FieldError]) -> CommandError {
    CommandError::new(
        ErrorCode::ContributionRulesInvalid,
        "the contribution rules are not valid",
    )
    .with_details(schema::details(errors))
}

struct PolicyRow {
    id: Uuid,
    status: ContributionPolicyStatus,
    current_published_version_id: Option<Uuid>,
}

struct VersionRow {
    id: Uuid,
    contribution_policy_id: Uuid,
    version_number: i32,
    status: ContributionPolicyVersionStatus,
    draft_terms: Option<Value>,
    created_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    retired_at: Option<DateTime<Utc>>,
}

/// `sqlx::query_as!` of [`PolicyRow`] rows: `$before` the policy's columns `$after`.
macro_rules! policy_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            PolicyRow,
            $before + r#" id, status AS "status: _", current_published_version_id "# + $after
            $(, $arg)*
        )
    };
}

/// `sqlx::query_as!` of [`VersionRow`] rows: `$before` the version's columns `$after`.
macro_rules! version_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            VersionRow,
            $before + r#" id, contribution_policy_id, version_number, status AS "status: _", draft_terms, 
             created_at, published_at, retired_at "# + $after
            $(, $arg)*
        )
    };
}

/// The receipt of [`create_draft`].
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DraftReceipt {
    /// The project.
    pub project_id: Uuid,
    /// The policy (new, or the project's draft/active one).
    pub contribution_policy_id: Uuid,
    /// The new draft version.
    pub contribution_policy_version_id: Uuid,
    /// Its number within the policy.
    pub version_number: i32,
    /// Always `draft`.
    pub version_status: ContributionPolicyVersionStatus,
}

/// Opens a draft version: in the project's draft or active policy if there is one,
/// otherwise in a new policy named `name`. One open draft at a time: 409
/// `contribution_policy_draft_exists`.
pub async fn create_draft(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    name: String,
) -> Result<DraftReceipt, CommandError> {
    if name.trim().is_empty() || name.contains('\0') {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "the policy name must not be blank or contain NUL",
        ));
    }
    crate::projects::lock(conn, project_id).await?;
    let existing = policy_query!(
        "SELECT",
        "FROM contribution_policies \
         WHERE project_id = $1 AND status <> $2 ORDER BY id DESC LIMIT 1 FOR UPDATE",
        project_id,
        ContributionPolicyStatus::Retired.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    let policy_id = match &existing {
        Some(policy) => {
            let open = sqlx::query_scalar!(
                "SELECT id FROM contribution_policy_versions WHERE contribution_policy_id = $1 AND status = $2",
                policy.id,
                ContributionPolicyVersionStatus::Draft.as_str(),
            )
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(open) = open {
                return Err(CommandError::new(ErrorCode::ContributionPolicyDraftExists,
                    "the project's contribution policy already has an open draft version",
                )
                .with_details(json!({ "contribution_policy_id": policy.id, "contribution_policy_version_id": open })));
            }
            policy.id
        }
        None => {
            let id = Uuid::now_v7();
            sqlx::query!(
                "INSERT INTO contribution_policies (id, project_id, name, status, created_by) VALUES ($1, $2, $3, $4, $5)",
                id,
                project_id,
                &name,
                ContributionPolicyStatus::Draft.as_str(),
                acting.actor_id,
            )
            .execute(&mut *conn)
            .await?;
            record(
                conn,
                acting,
                NewAuditEvent {
                    project_id: Some(project_id),
                    entity_type: "contribution_policy".into(),
                    entity_id: Some(id),
                    event_type: "contribution_policy_created".into(),
                    to_status: Some(ContributionPolicyStatus::Draft.to_string()),
                    payload: json!({ "name": name }),
                    ..Default::default()
                },
            )
            .await?;
            id
        }
    };
    let version_number = sqlx::query_scalar!(
        r#"SELECT COALESCE(max(version_number), 0) + 1 AS "version_number!" FROM contribution_policy_versions
           WHERE contribution_policy_id = $1"#,
        policy_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let version_id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO contribution_policy_versions (id, contribution_policy_id, project_id, version_number, status, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        version_id,
        policy_id,
        project_id,
        version_number,
        ContributionPolicyVersionStatus::Draft.as_str(),
        acting.actor_id,
    )
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "contribution_policy_version".into(),
            entity_id: Some(version_id),
            event_type: "contribution_policy_version_drafted".into(),
            to_status: Some(ContributionPolicyVersionStatus::Draft.to_string()),
            payload: json!({ "contribution_policy_id": policy_id, "version_number": version_number }),
            ..Default::default()
        },
    )
    .await?;
    Ok(DraftReceipt {
        project_id,
        contribution_policy_id: policy_id,
        contribution_policy_version_id: version_id,
        version_number,
        version_status: ContributionPolicyVersionStatus::Draft,
    })
}

async fn lock_policy(
    conn: &mut PgConnection,
    project_id: Uuid,
    policy_id: Uuid,
) -> Result<PolicyRow, CommandError> {
    policy_query!(
        "SELECT",
        "FROM contribution_policies WHERE id = $1 AND project_id = $2 FOR UPDATE",
        policy_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)
}

async fn lock_version(
    conn: &mut PgConnection,
    policy_id: Uuid,
    version_id: Uuid,
) -> Result<VersionRow, CommandError> {
    version_query!(
        "SELECT",
        "FROM contribution_policy_versions WHERE id = $1 AND contribution_policy_id = $2 FOR UPDATE",
        version_id,
        policy_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)
}

/// Checks that every unit is enabled for the project and every binding is the
/// project's, active, and of the definition's instrument.
async fn check_references(
    conn: &mut PgConnection,
    project_id: Uuid,
    terms: &ContributionTerms,
) -> Result<(), CommandError> {
    let mut errors = Vec::new();
    for (r, rule) in terms.rules.iter().enumerate() {
        for (d, definition) in rule.definitions.iter().enumerate() {
            let at = format!("/rules/{r}/definitions/{d}");
            let instrument = definition.instrument_type.as_str();
            let unit = sqlx::query_scalar!(
                r#"SELECT 1 AS "one!" FROM project_compensation_units WHERE project_id = $1 AND instrument_type = $2
                 AND unit_code = $3 AND status = $4"#,
                project_id,
                instrument,
                &definition.unit_code,
                UnitStatus::Active.as_str(),
            )
            .fetch_optional(&mut *conn)
            .await?;
            if unit.is_none() {
                errors.push(FieldError::coded(
                    format!("{at}/unit_code"),
                    "compensation_unit_not_enabled",
                    format!(
                        "`{}` is not an enabled {instrument} unit of this project",
                        definition.unit_code
                    ),
                ));
            }
            let binding = sqlx::query!(
                r#"SELECT instrument_type, status AS "status: AdapterBindingStatus"
                   FROM project_compensation_adapter_bindings WHERE id = $1 AND project_id = $2"#,
                definition.adapter_binding_id,
                project_id,
            )
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| (row.instrument_type, row.status));
            let problem = match binding {
                None => Some((
                    "adapter_binding_not_found",
                    "no adapter binding of this project has this id",
                )),
                Some((kind, _)) if kind != instrument => Some((
                    "adapter_binding_instrument_mismatch",
                    "the adapter binding delivers another instrument",
                )),
                Some((_, status)) if status != AdapterBindingStatus::Active => Some((
                    "adapter_binding_inactive",
                    "the adapter binding is not active",
                )),
                Some(_) => None,
            };
            if let Some((code, message)) = problem {
                errors.push(FieldError::coded(
                    format!("{at}/adapter_binding_id"),
                    code,
                    message,
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(rules_invalid(&errors))
    }
}

/// Replaces a draft version's terms (`contribution_policy_version_terms_set`).
pub async fn set_terms(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    policy_id: Uuid,
    version_id: Uuid,
    terms: &Value,
) -> Result<PolicyVersionView, CommandError> {
    lock_policy(conn, project_id, policy_id).await?;
    let version = lock_version(conn, policy_id, version_id).await?;
    if !version.status.is_editable() {
        return Err(CommandError::new(
            ErrorCode::ContributionPolicyVersionNotDraft,
            "only a draft version's terms can change; open a new draft",
        ));
    }
    let parsed = parse_terms(terms).map_err(|errors| rules_invalid(&errors))?;
    check_references(conn, project_id, &parsed).await?;
    sqlx::query!(
        "UPDATE contribution_policy_versions SET draft_terms = $2 WHERE id = $1",
        version_id,
        parsed.to_value(),
    )
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "contribution_policy_version".into(),
            entity_id: Some(version_id),
            event_type: "contribution_policy_version_terms_set".into(),
            payload: json!({ "terms": parsed.to_value() }),
            ..Default::default()
        },
    )
    .await?;
    view(conn, project_id, policy_id, Some(version_id)).await
}

/// Publishes a draft version and makes it current (`contribution_policy_version_published`,
/// plus `contribution_policy_activated` for a policy's first publication).
pub async fn publish(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    policy_id: Uuid,
    version_id: Uuid,
) -> Result<PolicyVersionView, CommandError> {
    let policy = lock_policy(conn, project_id, policy_id).await?;
    let version = lock_version(conn, policy_id, version_id).await?;
    if version.status != ContributionPolicyVersionStatus::Draft {
        return Err(CommandError::new(
            ErrorCode::ContributionPolicyVersionNotDraft,
            "only a draft version can be published",
        ));
    }
    let terms = match &version.draft_terms {
        None => None,
        Some(value) => Some(parse_terms(value).map_err(|errors| rules_invalid(&errors))?),
    };
    let Some(terms) = terms.filter(ContributionTerms::is_complete) else {
        return Err(CommandError::new(
            ErrorCode::ContributionPolicyIncomplete,
            "a published version needs one rule for accepted_submission and one for completed_review",
        ));
    };
    check_references(conn, project_id, &terms).await?;
    for rule in &terms.rules {
        let rule_id = Uuid::now_v7();
        sqlx::query!(
            "INSERT INTO contribution_rules (id, version_id, project_id, contribution_type, compensation_mode) \
             VALUES ($1, $2, $3, $4, $5)",
            rule_id,
            version_id,
            project_id,
            rule.contribution_type.as_str(),
            rule.compensation_mode.as_str(),
        )
        .execute(&mut *conn)
        .await?;
        debug_assert!(
            rule.compensation_mode == CompensationMode::Compensated || rule.definitions.is_empty()
        );
        for definition in &rule.definitions {
            sqlx::query!(
                "INSERT INTO contribution_award_definitions (id, rule_id, version_id, project_id, contribution_type, \
                 instrument_type, unit_code, quantity, adapter_binding_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                Uuid::now_v7(),
                rule_id,
                version_id,
                project_id,
                rule.contribution_type.as_str(),
                definition.instrument_type.as_str(),
                &definition.unit_code,
                definition.quantity.as_decimal(),
                definition.adapter_binding_id,
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    sqlx::query!(
        "UPDATE contribution_policy_versions SET status = $3, published_by = $2, published_at = now() WHERE id = $1",
        version_id,
        acting.actor_id,
        ContributionPolicyVersionStatus::Published.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "contribution_policy_version".into(),
            entity_id: Some(version_id),
            event_type: "contribution_policy_version_published".into(),
            from_status: Some(version.status.to_string()),
            to_status: Some(ContributionPolicyVersionStatus::Published.to_string()),
            payload: json!({
                "contribution_policy_id": policy_id,
                "version_number": version.version_number,
                "replaces_version_id": policy.current_published_version_id,
                "terms": terms.to_value(),
            }),
            ..Default::default()
        },
    )
    .await?;
    sqlx::query!(
        "UPDATE contribution_policies SET current_published_version_id = $2, status = $3 WHERE id = $1",
        policy_id,
        version_id,
        ContributionPolicyStatus::Active.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    if policy.status == ContributionPolicyStatus::Draft {
        record(
            conn,
            acting,
            NewAuditEvent {
                project_id: Some(project_id),
                entity_type: "contribution_policy".into(),
                entity_id: Some(policy_id),
                event_type: "contribution_policy_activated".into(),
                from_status: Some(policy.status.to_string()),
                to_status: Some(ContributionPolicyStatus::Active.to_string()),
                payload: json!({ "current_published_version_id": version_id }),
                ..Default::default()
            },
        )
        .await?;
    }
    view(conn, project_id, policy_id, Some(version_id)).await
}

/// Retires a published version (`contribution_policy_version_retired`). Retiring the
/// current version retires the policy too (`contribution_policy_retired`).
///
/// A version the project's active guide is bound to is refused (409
/// `contribution_policy_version_in_use`, naming the guide): every release locks the
/// active guide's terms, so retiring them would stop the project's releases until a
/// guide with other terms is activated. Activate that guide first, then retire.
pub async fn retire(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    policy_id: Uuid,
    version_id: Uuid,
) -> Result<PolicyVersionView, CommandError> {
    let policy = lock_policy(conn, project_id, policy_id).await?;
    let version = lock_version(conn, policy_id, version_id).await?;
    if version.status != ContributionPolicyVersionStatus::Published {
        return Err(CommandError::new(
            ErrorCode::ContributionPolicyVersionNotPublished,
            "only a published version can be retired",
        )
        .with_details(json!({ "version_status": version.status })));
    }
    // Share-locked: a guide activated concurrently waits for this retirement, or this
    // retirement sees it.
    let bound = sqlx::query!(
        "SELECT id, version FROM project_guides \
          WHERE project_id = $1 AND contribution_policy_version_id = $2 AND status = $3 \
          FOR SHARE",
        project_id,
        version_id,
        GuideStatus::Active.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(guide) = bound {
        let (guide_id, guide_version) = (guide.id, guide.version);
        return Err(CommandError::new(
            ErrorCode::ContributionPolicyVersionInUse,
            format!(
                "the active guide {guide_version} is bound to these terms; activate a guide \
                 bound to other terms before retiring them"
            ),
        )
        .with_details(json!({ "guide_id": guide_id, "guide_version": guide_version })));
    }
    let is_current = policy.current_published_version_id == Some(version_id);
    if is_current {
        // The policy must stop pointing at the version before the version changes.
        sqlx::query!(
            "UPDATE contribution_policies SET status = $3, current_published_version_id = NULL, \
             retired_by = $2, retired_at = now() WHERE id = $1",
            policy_id,
            acting.actor_id,
            ContributionPolicyStatus::Retired.as_str(),
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "UPDATE contribution_policy_versions SET status = $3, retired_by = $2, retired_at = now() WHERE id = $1",
        version_id,
        acting.actor_id,
        ContributionPolicyVersionStatus::Retired.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "contribution_policy_version".into(),
            entity_id: Some(version_id),
            event_type: "contribution_policy_version_retired".into(),
            from_status: Some(version.status.to_string()),
            to_status: Some(ContributionPolicyVersionStatus::Retired.to_string()),
            payload: json!({ "contribution_policy_id": policy_id, "was_current": is_current }),
            ..Default::default()
        },
    )
    .await?;
    if is_current {
        record(
            conn,
            acting,
            NewAuditEvent {
                project_id: Some(project_id),
                entity_type: "contribution_policy".into(),
                entity_id: Some(policy_id),
                event_type: "contribution_policy_retired".into(),
                from_status: Some(policy.status.to_string()),
                to_status: Some(ContributionPolicyStatus::Retired.to_string()),
                payload: json!({ "retired_version_id": version_id }),
                ..Default::default()
            },
        )
        .await?;
    }
    view(conn, project_id, policy_id, Some(version_id)).await
}

/// A version with its terms; `version_id = None` is the policy's current version, or
/// else its newest one.
pub async fn view(
    conn: &mut PgConnection,
    project_id: Uuid,
    policy_id: Uuid,
    version_id: Option<Uuid>,
) -> Result<PolicyVersionView, CommandError> {
    let policy = sqlx::query!(
        r#"SELECT name, status AS "status: ContributionPolicyStatus", current_published_version_id
           FROM contribution_policies WHERE id = $1 AND project_id = $2"#,
        policy_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    let (name, policy_status, current) = (
        policy.name,
        policy.status,
        policy.current_published_version_id,
    );
    let version = version_query!(
        "SELECT",
        "FROM contribution_policy_versions WHERE contribution_policy_id = $1 \
         AND ($2::uuid IS NULL OR id = $2) ORDER BY (id = $3) DESC, version_number DESC LIMIT 1",
        policy_id,
        version_id.or(current),
        current.unwrap_or(Uuid::nil()),
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    let rules = version
        .draft_terms
        .as_ref()
        .and_then(|t| t.get("rules").cloned())
        .unwrap_or_else(|| json!([]));
    Ok(PolicyVersionView {
        project_id,
        contribution_policy_id: version.contribution_policy_id,
        name,
        policy_status,
        current_published_version_id: current,
        contribution_policy_version_id: version.id,
        version_number: version.version_number,
        version_status: version.status,
        is_current: current == Some(version.id),
        rules,
        created_at: version.created_at,
        published_at: version.published_at,
        retired_at: version.retired_at,
    })
}

/// A version of a contribution policy with its terms.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyVersionView {
    /// The project.
    pub project_id: Uuid,
    /// The policy.
    pub contribution_policy_id: Uuid,
    /// The policy's name.
    pub name: String,
    /// draft, active or retired.
    pub policy_status: ContributionPolicyStatus,
    /// The version tasks released now lock, if any.
    pub current_published_version_id: Option<Uuid>,
    /// This version.
    pub contribution_policy_version_id: Uuid,
    /// Its number within the policy.
    pub version_number: i32,
    /// draft, published or retired.
    pub version_status: ContributionPolicyVersionStatus,
    /// Whether this is the current published version.
    pub is_current: bool,
    /// The rules, one per contribution type, as `policies/contribution-policy.schema.json`
    /// states them.
    pub rules: Value,
    /// When the version was opened.
    pub created_at: DateTime<Utc>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// When it was retired.
    pub retired_at: Option<DateTime<Utc>>,
}

/// The project's policy pointers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyPointers {
    /// The project.
    pub project_id: Uuid,
    /// Its draft or active policy.
    pub contribution_policy_id: Uuid,
    /// draft or active.
    pub policy_status: ContributionPolicyStatus,
    /// The version tasks released now lock, if any.
    pub current_published_version_id: Option<Uuid>,
    /// The version open for editing, if any.
    pub open_draft_version_id: Option<Uuid>,
}

/// The project's current policy pointers (404 when it has no draft or active policy).
pub async fn current(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<PolicyPointers, CommandError> {
    let row = sqlx::query!(
        r#"SELECT p.id, p.status AS "status: ContributionPolicyStatus", p.current_published_version_id,
           (SELECT v.id FROM contribution_policy_versions v WHERE v.contribution_policy_id = p.id AND v.status = $2)
             AS "open_draft_version_id?"
           FROM contribution_policies p WHERE p.project_id = $1 AND p.status <> $3 ORDER BY p.id DESC LIMIT 1"#,
        project_id,
        ContributionPolicyVersionStatus::Draft.as_str(),
        ContributionPolicyStatus::Retired.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)?;
    Ok(PolicyPointers {
        project_id,
        contribution_policy_id: row.id,
        policy_status: row.status,
        current_published_version_id: row.current_published_version_id,
        open_draft_version_id: row.open_draft_version_id,
    })
}
