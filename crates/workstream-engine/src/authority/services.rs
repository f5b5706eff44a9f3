//! Service principals: provisioned by an access administrator before they can call.
//!
//! A service token is never provisioned on first access (403
//! `service_actor_not_provisioned`): a service is a fixed role in the system (the local
//! payment adapter, the checker worker), chosen from a closed list, and linked to the
//! one (issuer, subject) its tokens carry.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;

use super::provisioning::insert_linked_profile;
use super::{RequestContext, reason};
use crate::CommandError;

/// The service identities Workstream knows. A new service is a code change, not a
/// request parameter.
pub const SERVICE_IDENTITIES: &[&str] = &[
    "workstream.artifact.verifier",
    "workstream.checker.worker",
    "workstream.outbox.worker",
    "workstream.payment.local_adapter",
    "workstream.setup.worker",
];

/// Creates the service principal `service_identity` linked to (`issuer`, `subject`).
/// Returns the new profile id.
pub async fn create_service_actor(
    conn: &mut PgConnection,
    by: Uuid,
    service_identity: &str,
    issuer: &str,
    subject: &str,
    reason_text: &str,
    ctx: &RequestContext,
) -> Result<Uuid, CommandError> {
    reason(reason_text)?;
    if !SERVICE_IDENTITIES.contains(&service_identity) {
        return Err(CommandError::new(
            ErrorCode::UnknownServiceIdentity,
            format!(
                "service_identity must be one of {}",
                SERVICE_IDENTITIES.join(", ")
            ),
        ));
    }
    if subject.is_empty() || subject.trim() != subject || subject.chars().count() > 200 {
        return Err(CommandError::new(
            ErrorCode::InvalidSubject,
            "the subject must be 1..200 characters without surrounding whitespace",
        ));
    }
    insert_linked_profile(
        conn,
        issuer,
        subject,
        Some(service_identity),
        Some(by),
        ctx,
        false,
    )
    .await?
    .ok_or_else(|| {
        CommandError::new(
            ErrorCode::IdentityAlreadyLinked,
            "that (issuer, subject) is already linked to an actor",
        )
    })
}

/// A service principal with the identities it signs in as.
#[derive(Debug, Serialize, JsonSchema, sqlx::FromRow)]
pub struct ServicePrincipal {
    /// Its actor profile.
    pub actor_profile_id: Uuid,
    /// Which service it is (one of [`SERVICE_IDENTITIES`]).
    pub service_identity: Option<String>,
    /// `active`, `suspended` or `deactivated`.
    pub status: String,
    /// When it was provisioned.
    pub created_at: DateTime<Utc>,
    /// The identities it signs in as, oldest first.
    #[sqlx(json)]
    pub links: Vec<ServiceLink>,
}

/// An identity a service principal signs in as.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ServiceLink {
    /// The link's id.
    pub id: Uuid,
    /// The token issuer.
    pub issuer: String,
    /// The token subject.
    pub subject: String,
    /// `active` or `revoked`.
    pub status: String,
}

/// Every service principal, oldest first: there are a handful (one per service
/// identity and deployment), so the list is not paged.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<ServicePrincipal>, CommandError> {
    Ok(sqlx::query_as(
        "SELECT p.id AS actor_profile_id, p.service_identity, p.status, p.created_at, \
                coalesce(jsonb_agg(jsonb_build_object('id', l.id, 'issuer', l.issuer, \
                    'subject', l.subject, 'status', l.status) ORDER BY l.linked_at) \
                  FILTER (WHERE l.id IS NOT NULL), '[]') AS links \
         FROM actor_profiles p LEFT JOIN actor_identity_links l ON l.actor_profile_id = p.id \
         WHERE p.kind = 'service' GROUP BY p.id ORDER BY p.created_at, p.id",
    )
    .fetch_all(conn)
    .await?)
}
