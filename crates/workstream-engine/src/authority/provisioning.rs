//! Profiles made on first access, and the bootstrap of the first administrator.
//!
//! A human's first verified request creates their profile and the (issuer, subject)
//! link in one transaction (docs/security.md). Two first requests racing for one
//! subject are settled by the link's unique (issuer, subject) key: the second insert
//! waits for the first transaction, then inserts nothing, and its transaction (with its
//! own profile row) is rolled back by the caller, so one subject never gets two
//! profiles.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::{ActorStatus, LinkStatus};
use workstream_domain::roles::{AdminRole, Scope};
use workstream_store::actors;
use workstream_store::audit::NewAuditEvent;

use super::admin_grants::{self, AdminGrantRequest, Grantor};
use super::{RequestContext, audit, lock_access_administrators};
use crate::CommandError;

/// The system principal recorded on the bootstrap grant.
pub const BOOTSTRAP_PRINCIPAL: &str = "workstream:system:bootstrap";

/// Inserts a profile of `kind` and its link to (`issuer`, `subject`), with both audit
/// events; `by` is the acting actor (`None`: the new actor itself on first access, or
/// the system). Returns `None`, having written nothing that should be kept, when the
/// (issuer, subject) pair was linked concurrently: roll the transaction back and read
/// the winner's link.
pub(crate) async fn insert_linked_profile(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
    service_identity: Option<&str>,
    by: Option<Uuid>,
    ctx: &RequestContext,
    audit_as_self: bool,
) -> Result<Option<Uuid>, CommandError> {
    let profile_id = Uuid::now_v7();
    let kind = if service_identity.is_some() {
        "service"
    } else {
        "human"
    };
    // A person names themselves (`PATCH /actors/me`); until then every read shows their
    // subject through `workstream_actor_label` (migrations/0013). A service is named by
    // its identity.
    let display_name = service_identity.unwrap_or("");
    sqlx::query!(
        "INSERT INTO actor_profiles (id, kind, display_name, service_identity, created_by) \
         VALUES ($1, $2, $3, $4, $5)",
        profile_id,
        kind,
        display_name,
        service_identity,
        by,
    )
    .execute(&mut *conn)
    .await?;
    let link_id = sqlx::query_scalar!(
        "INSERT INTO actor_identity_links (id, actor_profile_id, issuer, subject, linked_by, \
         last_verified_at) VALUES ($1, $2, $3, $4, $5, now()) \
         ON CONFLICT ON CONSTRAINT actor_identity_links_issuer_subject_key DO NOTHING \
         RETURNING id",
        Uuid::now_v7(),
        profile_id,
        issuer,
        subject,
        by,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(link_id) = link_id else {
        return Ok(None);
    };
    let actor = if audit_as_self { Some(profile_id) } else { by };
    audit(
        conn,
        NewAuditEvent {
            entity_type: "actor_profile".into(),
            entity_id: Some(profile_id),
            event_type: "actor_profile_provisioned".into(),
            to_status: Some(ActorStatus::Active.to_string()),
            actor_id: actor,
            payload: json!({ "actor_kind": kind, "service_identity": service_identity }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    audit(
        conn,
        NewAuditEvent {
            entity_type: "actor_identity_link".into(),
            entity_id: Some(link_id),
            event_type: "actor_identity_linked".into(),
            to_status: Some(LinkStatus::Active.to_string()),
            actor_id: actor,
            payload: json!({
                "actor_profile_id": profile_id, "issuer": issuer, "subject": subject,
            }),
            correlation_id: ctx.correlation_id.clone(),
            ..Default::default()
        },
    )
    .await?;
    Ok(Some(profile_id))
}

/// First access of a verified human: creates the profile and link. `None` means the
/// subject was linked concurrently; the caller rolls back and reads the link.
pub async fn provision_human(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
    ctx: &RequestContext,
) -> Result<Option<Uuid>, CommandError> {
    insert_linked_profile(conn, issuer, subject, None, None, ctx, true).await
}

/// What the bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrapped {
    /// The administrator's profile.
    pub actor_id: Uuid,
    /// Whether the profile was created now.
    pub created_profile: bool,
    /// The system access administrator grant.
    pub grant_id: Uuid,
}

/// `workstream admin bootstrap`: makes (`issuer`, `subject`) the first access
/// administrator, creating their profile if needed. Refused (409
/// `access_administrator_exists`) once any active access administrator exists: after
/// that, administrators are made over the API, attributed to an administrator.
pub async fn bootstrap_access_administrator(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
    ctx: &RequestContext,
) -> Result<Bootstrapped, CommandError> {
    if subject.is_empty() || subject.trim() != subject || subject.chars().count() > 200 {
        return Err(CommandError::new(
            ErrorCode::InvalidSubject,
            "the subject must be 1..200 characters without surrounding whitespace",
        ));
    }
    if issuer.is_empty() || issuer.trim() != issuer || issuer.len() > 200 {
        return Err(CommandError::new(
            ErrorCode::InvalidIssuer,
            "the issuer must be 1..200 bytes without surrounding whitespace",
        ));
    }
    if !lock_access_administrators(conn).await?.is_empty() {
        return Err(CommandError::new(
            ErrorCode::AccessAdministratorExists,
            "an active access administrator already exists; grant further ones over the API",
        ));
    }
    let (actor_id, created_profile) = match actors::link_by_identity(conn, issuer, subject).await? {
        Some(link) => {
            let profile = actors::profile(conn, link.actor_profile_id, true)
                .await?
                .ok_or_else(|| CommandError::internal("identity link without a profile"))?;
            if link.status != LinkStatus::Active
                || profile.status != ActorStatus::Active
                || profile.kind != "human"
            {
                return Err(CommandError::new(
                    ErrorCode::BootstrapTargetUnusable,
                    "that identity is revoked, or its profile is not an active human",
                ));
            }
            (profile.id, false)
        }
        None => {
            let id = insert_linked_profile(conn, issuer, subject, None, None, ctx, false)
                .await?
                .ok_or_else(|| {
                    CommandError::new(ErrorCode::Conflict, "linked concurrently; retry")
                })?;
            (id, true)
        }
    };
    let grant = admin_grants::grant_admin(
        conn,
        &Grantor::System {
            principal: BOOTSTRAP_PRINCIPAL.into(),
        },
        &AdminGrantRequest {
            target: actor_id,
            role: AdminRole::AccessAdministrator,
            scope: Scope::System,
            reason: "bootstrap of the first access administrator".into(),
        },
        ctx,
    )
    .await?;
    Ok(Bootstrapped {
        actor_id,
        created_profile,
        grant_id: grant.id,
    })
}
