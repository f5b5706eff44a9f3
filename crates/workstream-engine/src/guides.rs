//! Guide versions and the activation gate.
//!
//! A guide is a draft while a manager writes it: its content and its policy bundle
//! (as submitted) may change freely, and the bundle may even be invalid. Activation
//! is the gate (docs/architecture.md, R4): it refuses with one code per cause, checked in
//! this order, and leaves the guide a draft:
//!
//! 1. `policy_bundle_invalid` (422): no bundle, a schema error outside the review and
//!    revision policies, or a self-contradiction (duplicate keys, a required file the
//!    bundle itself forbids); `details.errors` = `[{path, message, code?}]`.
//! 2. `review_policy_incomplete` / `revision_policy_incomplete` (422).
//! 3. `platform_default_weakened` (422): an R8 defect, each with its own code.
//! 4. `checker_not_registered` (422): a checker whose digest (or, for a built-in
//!    named without one, whose name) resolves to no row of `checker_components`.
//! 5. `checker_configuration_invalid` (422): a configuration the component's declared
//!    schema refuses.
//!
//!    For 4 and 5 (and `default_checker_replaced`, a platform checker pinned to a
//!    non-built-in component, reported under 3) the error paths point into the
//!    *effective* checker list: the platform defaults first, then the project's own.
//! 6. `contribution_policy_unpublished` (409): the project has no current published
//!    contribution policy version (R5: missing terms are never read as unpaid), or
//!    `contribution_policy_version_not_current` (409) when the caller selected another.
//!
//! Steps 1 to 5 are [`effective_bundle`], which a policy preview of a draft runs too
//! (`crate::previews`), so both refuse a bundle alike.
//!
//! On success, in one transaction under the project's row lock: the next
//! `activation_sequence` is allocated, the active guide (if any) is superseded, the
//! guide is stored with the *effective* bundle (defaults merged, every checker digest
//! pinned) and its hashes, the contribution policy version is bound, and a draft
//! project becomes active; each of those writes its own audit event. `guide_activated`
//! names the guide's latest completed policy preview (`policy_preview_id`, or null), and
//! the answer carries that preview's summary ([`ActivationPreview`]).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::contribution_policy::{
    ContributionPolicyStatus, ContributionPolicyVersionStatus,
};
use workstream_domain::machines::project::{GuideStatus, ProjectStatus};
use workstream_domain::policy::types::EffectiveBundle;
use workstream_domain::policy::{self, BundleHashes, CheckerRef, FieldError, schema};
use workstream_store::audit::NewAuditEvent;

use crate::audit::record;
use crate::error::CommandError;
use crate::projects;
use crate::requester::Requester;

/// A guide version row, and how the API shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Guide {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// The version label (unique per project, never ordered).
    pub version: String,
    /// draft, active, superseded.
    pub status: GuideStatus,
    /// Allocated at activation; per project increasing.
    pub activation_sequence: Option<i32>,
    /// The guide's prose.
    pub content_markdown: String,
    /// What changed from the previous version.
    pub change_summary: String,
    /// Draft: the bundle as submitted (checked only at activation). Active and
    /// superseded: the effective bundle, platform defaults merged in.
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub policy_bundle: Option<Value>,
    /// Digest of `policy_bundle`'s canonical JSON.
    pub policy_bundle_hash: Option<String>,
    /// Digest of the artifact policy.
    pub artifact_policy_hash: Option<String>,
    /// Digest of the checker policy.
    pub checker_policy_hash: Option<String>,
    /// Digest of the review policy.
    pub review_policy_hash: Option<String>,
    /// Digest of the revision policy.
    pub revision_policy_hash: Option<String>,
    /// Bound at activation.
    pub contribution_policy_version_id: Option<Uuid>,
    /// The manager who activated it.
    pub approved_by: Option<Uuid>,
    /// Activation time.
    pub effective_at: Option<DateTime<Utc>>,
    /// Supersession time.
    pub superseded_at: Option<DateTime<Utc>>,
    /// Author.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// `sqlx::query_as!` of [`Guide`] rows: `$before` the guide's columns `$after`.
macro_rules! guide_query {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Guide,
            $before + r#" id, project_id, version, status AS "status: _", activation_sequence,
              content_markdown, change_summary, policy_bundle, policy_bundle_hash,
              artifact_policy_hash, checker_policy_hash, review_policy_hash, revision_policy_hash,
              contribution_policy_version_id, approved_by, effective_at, superseded_at, created_by,
              created_at, updated_at "# + $after
            $(, $arg)*
        )
    };
}

/// The input of [`create`].
#[derive(Debug, Clone)]
pub struct NewGuide {
    /// Version label, 1..=64 characters.
    pub version: String,
    /// Prose.
    pub content_markdown: String,
    /// Change summary.
    pub change_summary: String,
    /// The bundle as the manager writes it (checked at activation).
    pub policy_bundle: Option<Value>,
}

/// The input of [`update`]: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GuideChanges {
    /// New prose.
    pub content_markdown: Option<String>,
    /// New change summary.
    pub change_summary: Option<String>,
    /// New bundle.
    pub policy_bundle: Option<Value>,
}

fn no_nul(text: &str) -> Result<(), CommandError> {
    if text.contains('\0') {
        return Err(CommandError::new(
            ErrorCode::InvalidRequest,
            "text must not contain NUL",
        ));
    }
    Ok(())
}

/// A draft's bundle must be a JSON object and hashable (integers only); anything
/// deeper is the gate's business, so a manager can save work in progress.
fn draft_hashes(bundle: Option<&Value>) -> Result<Option<BundleHashes>, CommandError> {
    let Some(bundle) = bundle else {
        return Ok(None);
    };
    if !bundle.is_object() {
        return Err(CommandError::new(
            ErrorCode::PolicyBundleInvalid,
            "the policy bundle must be a JSON object",
        )
        .with_details(schema::details(&[FieldError::new(
            "",
            "expected an object",
        )])));
    }
    policy::hash_bundle_value(bundle).map(Some).map_err(|err| {
        CommandError::new(
            ErrorCode::PolicyBundleInvalid,
            "numbers in a policy bundle are integers",
        )
        .with_details(schema::details(&[FieldError::new("", err.to_string())]))
    })
}

fn hash_text(
    hashes: &Option<BundleHashes>,
    pick: fn(&BundleHashes) -> workstream_domain::Digest,
) -> Option<String> {
    hashes.as_ref().map(|h| pick(h).to_string())
}

/// Creates a draft guide (`guide_created`). The project must not be archived.
pub async fn create(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    input: NewGuide,
) -> Result<Guide, CommandError> {
    no_nul(&input.version)?;
    no_nul(&input.content_markdown)?;
    no_nul(&input.change_summary)?;
    let project = projects::lock(conn, project_id).await?;
    if project.status == ProjectStatus::Archived {
        return Err(CommandError::new(
            ErrorCode::ProjectArchived,
            "the project is archived",
        ));
    }
    let hashes = draft_hashes(input.policy_bundle.as_ref())?;
    let guide = guide_query!(
        "INSERT INTO project_guides (id, project_id, version, content_markdown, change_summary, \
         policy_bundle, policy_bundle_hash, artifact_policy_hash, checker_policy_hash, \
         review_policy_hash, revision_policy_hash, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING",
        "",
        Uuid::now_v7(),
        project_id,
        &input.version,
        &input.content_markdown,
        &input.change_summary,
        input.policy_bundle.as_ref(),
        hash_text(&hashes, |h| h.bundle),
        hash_text(&hashes, |h| h.artifact),
        hash_text(&hashes, |h| h.checker),
        hash_text(&hashes, |h| h.review),
        hash_text(&hashes, |h| h.revision),
        acting.actor_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "guide".into(),
            entity_id: Some(guide.id),
            event_type: "guide_created".into(),
            to_status: Some(guide.status.to_string()),
            payload: json!({ "version": guide.version, "policy_bundle_hash": guide.policy_bundle_hash }),
            ..Default::default()
        },
    )
    .await?;
    Ok(guide)
}

/// Reads a guide of a project.
pub async fn find(
    conn: &mut PgConnection,
    project_id: Uuid,
    guide_id: Uuid,
) -> Result<Option<Guide>, CommandError> {
    Ok(guide_query!(
        "SELECT",
        "FROM project_guides WHERE id = $1 AND project_id = $2",
        guide_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The project's active guide.
pub async fn active(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Option<Guide>, CommandError> {
    Ok(guide_query!(
        "SELECT",
        "FROM project_guides WHERE project_id = $1 AND status = $2",
        project_id,
        GuideStatus::Active.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A page of a project's guides, ordered by id.
pub async fn list(
    conn: &mut PgConnection,
    project_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Guide>, CommandError> {
    Ok(guide_query!(
        "SELECT",
        "FROM project_guides WHERE project_id = $1 AND ($2::uuid IS NULL OR id > $2) \
         ORDER BY id LIMIT $3",
        project_id,
        after,
        i64::from(limit),
    )
    .fetch_all(&mut *conn)
    .await?)
}

async fn lock(
    conn: &mut PgConnection,
    project_id: Uuid,
    guide_id: Uuid,
) -> Result<Guide, CommandError> {
    guide_query!(
        "SELECT",
        "FROM project_guides WHERE id = $1 AND project_id = $2 FOR UPDATE",
        guide_id,
        project_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(CommandError::not_found)
}

fn not_editable(guide: &Guide) -> CommandError {
    CommandError::new(
        ErrorCode::GuideNotEditable,
        "only a draft guide can be changed; write a new version",
    )
    .with_details(json!({ "status": guide.status }))
}

/// Edits a draft guide (`guide_updated`); an active or superseded guide is 409
/// `guide_not_editable` (R6, AS07).
pub async fn update(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    guide_id: Uuid,
    changes: GuideChanges,
) -> Result<Guide, CommandError> {
    let guide = lock(conn, project_id, guide_id).await?;
    if !guide.status.is_editable() {
        return Err(not_editable(&guide));
    }
    for text in [&changes.content_markdown, &changes.change_summary]
        .into_iter()
        .flatten()
    {
        no_nul(text)?;
    }
    let bundle = changes
        .policy_bundle
        .clone()
        .or(guide.policy_bundle.clone());
    let hashes = draft_hashes(bundle.as_ref())?;
    let updated = guide_query!(
        "UPDATE project_guides SET content_markdown = $2, change_summary = $3, policy_bundle = $4, \
         policy_bundle_hash = $5, artifact_policy_hash = $6, checker_policy_hash = $7, \
         review_policy_hash = $8, revision_policy_hash = $9 WHERE id = $1 RETURNING",
        "",
        guide_id,
        changes
            .content_markdown
            .as_ref()
            .unwrap_or(&guide.content_markdown),
        changes
            .change_summary
            .as_ref()
            .unwrap_or(&guide.change_summary),
        bundle.as_ref(),
        hash_text(&hashes, |h| h.bundle),
        hash_text(&hashes, |h| h.artifact),
        hash_text(&hashes, |h| h.checker),
        hash_text(&hashes, |h| h.review),
        hash_text(&hashes, |h| h.revision),
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut fields = Vec::new();
    if changes.content_markdown.is_some() {
        fields.push("content_markdown");
    }
    if changes.change_summary.is_some() {
        fields.push("change_summary");
    }
    if changes.policy_bundle.is_some() {
        fields.push("policy_bundle");
    }
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "guide".into(),
            entity_id: Some(guide_id),
            event_type: "guide_updated".into(),
            payload: json!({ "fields": fields, "policy_bundle_hash": updated.policy_bundle_hash }),
            ..Default::default()
        },
    )
    .await?;
    Ok(updated)
}

fn gate(code: ErrorCode, message: &str, errors: &[FieldError]) -> CommandError {
    CommandError::new(code, message).with_details(schema::details(errors))
}

/// The component a checker reference resolved to: the gate's view of a row of
/// `checker_components`. `workstream policy validate` builds these from the built-ins
/// and a project directory's component files, and runs the same [`pin_checkers`].
#[derive(Debug, Clone)]
pub struct ResolvedComponent {
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// The name its `info()` reports.
    pub name: String,
    /// Whether it is a platform built-in.
    pub builtin: bool,
    /// The configuration schema it declares.
    pub config_schema: Value,
}

/// Resolves each checker to a registered component and pins its digest; then checks
/// each configuration against the component's declared schema.
async fn resolve_checkers(
    conn: &mut PgConnection,
    checkers: &mut [CheckerRef],
) -> Result<(), CommandError> {
    let mut found = Vec::with_capacity(checkers.len());
    for checker in checkers.iter() {
        let row: Option<ResolvedComponent> = match &checker.digest {
            Some(digest) => {
                sqlx::query_as!(
                    ResolvedComponent,
                    "SELECT digest, name, builtin, config_schema FROM checker_components \
                     WHERE digest = $1 AND name = $2",
                    digest.to_string(),
                    &checker.name,
                )
                .fetch_optional(&mut *conn)
                .await?
            }
            // A reference without a digest may only name a built-in; the newest
            // registered build of that name is pinned.
            None => {
                sqlx::query_as!(
                    ResolvedComponent,
                    "SELECT digest, name, builtin, config_schema FROM checker_components \
                     WHERE name = $1 AND builtin ORDER BY registered_at DESC, digest LIMIT 1",
                    &checker.name,
                )
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        found.push(row);
    }
    pin_checkers(checkers, found)
}

/// Steps 3 (`default_checker_replaced`), 4 and 5 of the gate on references already
/// looked up: `found[i]` is what `checkers[i]` resolved to (by digest and name, or, with
/// no digest, the newest built-in of that name). Pins every digest on success.
pub fn pin_checkers(
    checkers: &mut [CheckerRef],
    found: Vec<Option<ResolvedComponent>>,
) -> Result<(), CommandError> {
    let defaults = policy::platform_defaults();
    let mut components = Vec::new();
    let mut unresolved = Vec::new();
    let mut replaced = Vec::new();
    for (index, (checker, row)) in checkers.iter().zip(found).enumerate() {
        let path = format!("/checker_policy/checkers/{index}");
        match row {
            None => unresolved.push(FieldError::coded(
                path,
                "checker_not_registered",
                match &checker.digest {
                    Some(d) => format!("no registered component `{}` has digest {d}", checker.name),
                    None => format!(
                        "no built-in component named `{}` is registered; pin a digest",
                        checker.name
                    ),
                },
            )),
            Some(component) => {
                if !component.builtin
                    && defaults
                        .checker_policy
                        .checkers
                        .iter()
                        .any(|d| d.name == checker.name)
                {
                    replaced.push(FieldError::coded(
                        path,
                        "default_checker_replaced",
                        format!(
                            "the platform checker `{}` must run as its built-in component",
                            checker.name
                        ),
                    ));
                }
                components.push(component);
            }
        }
    }
    if !replaced.is_empty() {
        return Err(gate(
            ErrorCode::PlatformDefaultWeakened,
            "the policy bundle weakens the platform defaults",
            &replaced,
        ));
    }
    if !unresolved.is_empty() {
        return Err(gate(
            ErrorCode::CheckerNotRegistered,
            "a checker of the policy does not resolve to a registered component",
            &unresolved,
        ));
    }
    let mut invalid = Vec::new();
    for (index, (checker, component)) in checkers.iter_mut().zip(&components).enumerate() {
        let path = format!("/checker_policy/checkers/{index}/configuration");
        let configuration = Value::Object(checker.configuration.clone());
        match schema::validate_against(&component.config_schema, &configuration) {
            Ok(errors) => invalid.extend(errors.into_iter().map(|e| {
                FieldError::coded(
                    format!("{path}{}", e.path),
                    "checker_configuration_invalid",
                    format!("{}: {}", component.name, e.message),
                )
            })),
            Err(message) => invalid.push(FieldError::coded(
                path,
                "checker_configuration_schema_invalid",
                format!("the component's configuration schema does not compile: {message}"),
            )),
        }
        checker.digest = Some(
            component
                .digest
                .parse()
                .map_err(|_| CommandError::internal("a stored component digest is malformed"))?,
        );
    }
    if !invalid.is_empty() {
        return Err(gate(
            ErrorCode::CheckerConfigurationInvalid,
            "a checker's configuration does not match the schema its component declares",
            &invalid,
        ));
    }
    Ok(())
}

/// Steps 1 to 5 of the gate (see the module documentation) on a bundle as submitted:
/// the effective bundle, platform defaults merged and every checker pinned to a
/// registered component whose schema takes its configuration. Activation stores it; a
/// policy preview (`crate::previews::start`) runs it. One function, so the two refuse
/// a bundle with the same codes and details.
pub async fn effective_bundle(
    conn: &mut PgConnection,
    bundle: Option<&Value>,
) -> Result<EffectiveBundle, CommandError> {
    let mut effective = policy::evaluate(bundle).map_err(|refusal| {
        let message = match refusal.code {
            ErrorCode::ReviewPolicyIncomplete => "the review policy is missing or incomplete",
            ErrorCode::RevisionPolicyIncomplete => "the revision policy is missing or incomplete",
            ErrorCode::PlatformDefaultWeakened => "the policy bundle weakens the platform defaults",
            _ => "the policy bundle is not valid",
        };
        gate(refusal.code, message, &refusal.errors)
    })?;
    resolve_checkers(conn, &mut effective.checker_policy.checkers).await?;
    Ok(effective)
}

/// What [`activate`] did.
#[derive(Debug, Clone)]
pub struct Activation {
    /// The guide, now active.
    pub guide: Guide,
    /// The guide it superseded.
    pub superseded_guide_id: Option<Uuid>,
    /// The project's status afterwards.
    pub project_status: ProjectStatus,
    /// The guide's latest completed policy preview, if it had one (its id is in the
    /// `guide_activated` event).
    pub preview: Option<ActivationPreview>,
}

/// The latest completed preview of a guide being activated: what the manager knew of
/// its checker policy's effect on stored packets.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActivationPreview {
    /// The preview (`GET /projects/{pid}/guides/{gid}/previews/{id}`).
    pub id: Uuid,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether it previewed the bundle activated: false when the draft's bundle was
    /// edited after the preview started.
    pub current: bool,
    /// Its totals.
    pub summary: crate::previews::report::PreviewSummary,
}

/// What activation answers: the guide, the project's status, the guide superseded.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActivationView {
    /// The guide, now `active` with its `activation_sequence`.
    pub guide: Guide,
    /// The project afterwards (a first activation makes it `active`).
    pub project: projects::ProjectSummaryStatus,
    /// The guide this one replaced, if any.
    pub superseded_guide_id: Option<Uuid>,
    /// The guide's latest completed policy preview and its summary; none when it was
    /// never previewed.
    pub preview: Option<ActivationPreview>,
}

/// The activation gate (see the module documentation). `selected` is the contribution
/// policy version the manager chose; `None` takes the project's current one.
pub async fn activate(
    conn: &mut PgConnection,
    acting: &Requester,
    project_id: Uuid,
    guide_id: Uuid,
    selected: Option<Uuid>,
) -> Result<Activation, CommandError> {
    // The project row serializes activations of one project (sequence allocation).
    let project = projects::lock(conn, project_id).await?;
    let guide = lock(conn, project_id, guide_id).await?;
    if guide.status != GuideStatus::Draft {
        return Err(CommandError::new(
            ErrorCode::GuideNotDraft,
            "only a draft guide can be activated",
        )
        .with_details(json!({ "status": guide.status })));
    }
    if project.status == ProjectStatus::Archived {
        return Err(CommandError::new(
            ErrorCode::ProjectArchived,
            "the project is archived",
        ));
    }
    let effective = effective_bundle(conn, guide.policy_bundle.as_ref()).await?;

    let current = sqlx::query_scalar!(
        "SELECT v.id FROM contribution_policies p \
         JOIN contribution_policy_versions v ON v.id = p.current_published_version_id \
         WHERE p.project_id = $1 AND p.status = $2 AND v.status = $3 FOR SHARE OF p, v",
        project_id,
        ContributionPolicyStatus::Active.as_str(),
        ContributionPolicyVersionStatus::Published.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(current) = current else {
        return Err(CommandError::new(
            ErrorCode::ContributionPolicyUnpublished,
            "the project has no published contribution policy version; a finance authority must publish one (missing terms are never read as unpaid)",
        ));
    };
    if let Some(selected) = selected
        && selected != current
    {
        return Err(CommandError::new(ErrorCode::ContributionPolicyVersionNotCurrent,
            "the selected contribution policy version is not the project's current published version",
        )
        .with_details(json!({ "current_version_id": current })));
    }

    let hashes = effective.hashes().map_err(CommandError::internal)?;
    let sequence = sqlx::query_scalar!(
        r#"SELECT COALESCE(max(activation_sequence), 0) + 1 AS "sequence!"
           FROM project_guides WHERE project_id = $1"#,
        project_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let superseded = sqlx::query!(
        "UPDATE project_guides SET status = $2, superseded_at = now() \
         WHERE project_id = $1 AND status = $3 RETURNING id, version",
        project_id,
        GuideStatus::Superseded.as_str(),
        GuideStatus::Active.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|old| (old.id, old.version));
    if let Some((old_id, old_version)) = &superseded {
        record(
            conn,
            acting,
            NewAuditEvent {
                project_id: Some(project_id),
                entity_type: "guide".into(),
                entity_id: Some(*old_id),
                event_type: "guide_superseded".into(),
                from_status: Some(GuideStatus::Active.to_string()),
                to_status: Some(GuideStatus::Superseded.to_string()),
                payload: json!({ "version": old_version, "superseded_by": guide_id }),
                ..Default::default()
            },
        )
        .await?;
    }
    let submitted_hash = guide.policy_bundle_hash.clone();
    let preview = crate::previews::reads::latest_completed(conn, guide_id)
        .await?
        .and_then(|preview| {
            Some(ActivationPreview {
                current: submitted_hash.as_deref() == Some(preview.policy_bundle_hash.as_str()),
                id: preview.id,
                finished_at: preview.finished_at,
                summary: preview.summary?,
            })
        });
    let activated = guide_query!(
        "UPDATE project_guides SET activation_sequence = $2, policy_bundle = $3, \
         policy_bundle_hash = $4, artifact_policy_hash = $5, checker_policy_hash = $6, \
         review_policy_hash = $7, revision_policy_hash = $8, contribution_policy_version_id = $9, \
         approved_by = $10, effective_at = now(), status = $11 WHERE id = $1 RETURNING",
        "",
        guide_id,
        sequence,
        effective.to_value(),
        hashes.bundle.to_string(),
        hashes.artifact.to_string(),
        hashes.checker.to_string(),
        hashes.review.to_string(),
        hashes.revision.to_string(),
        current,
        acting.actor_id,
        GuideStatus::Active.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        acting,
        NewAuditEvent {
            project_id: Some(project_id),
            entity_type: "guide".into(),
            entity_id: Some(guide_id),
            event_type: "guide_activated".into(),
            from_status: Some(guide.status.to_string()),
            to_status: Some(activated.status.to_string()),
            payload: json!({
                "version": activated.version,
                "activation_sequence": sequence,
                "policy_bundle_hash": activated.policy_bundle_hash,
                "submitted_policy_bundle_hash": submitted_hash,
                "contribution_policy_version_id": current,
                "superseded_guide_id": superseded.as_ref().map(|(id, _)| *id),
                "policy_preview_id": preview.as_ref().map(|p| p.id),
                "policy_preview_current": preview.as_ref().map(|p| p.current),
            }),
            ..Default::default()
        },
    )
    .await?;
    let mut project_status = project.status;
    if project.status == ProjectStatus::Draft {
        sqlx::query!(
            "UPDATE projects SET status = $2, activated_at = now() WHERE id = $1",
            project_id,
            ProjectStatus::Active.as_str(),
        )
        .execute(&mut *conn)
        .await?;
        record(
            conn,
            acting,
            NewAuditEvent {
                project_id: Some(project_id),
                entity_type: "project".into(),
                entity_id: Some(project_id),
                event_type: "project_activated".into(),
                from_status: Some(ProjectStatus::Draft.to_string()),
                to_status: Some(ProjectStatus::Active.to_string()),
                payload: json!({ "guide_id": guide_id }),
                ..Default::default()
            },
        )
        .await?;
        project_status = ProjectStatus::Active;
    }
    Ok(Activation {
        guide: activated,
        superseded_guide_id: superseded.map(|(id, _)| id),
        project_status,
        preview,
    })
}
