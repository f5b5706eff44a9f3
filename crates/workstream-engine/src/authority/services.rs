//! Service principals: provisioned by an access administrator before they can call.
//!
//! A service token is never provisioned on first access (403
//! `service_actor_not_provisioned`): a service is a fixed role in the system (the local
//! payment adapter, the checker worker), chosen from a closed list, and linked to the
//! one (issuer, subject) its tokens carry.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::{ActorStatus, LinkStatus};

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
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServicePrincipal {
    /// Its actor profile.
    pub actor_profile_id: Uuid,
    /// Which service it is (one of [`SERVICE_IDENTITIES`]).
    pub service_identity: Option<String>,
    /// `active`, `suspended` or `deactivated`.
    pub status: ActorStatus,
    /// When it was provisioned.
    pub created_at: DateTime<Utc>,
    /// The identities it signs in as, oldest first.
    pub links: Vec<ServiceLink>,
}

/// An identity a service principal signs in as.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServiceLink {
    /// The link's id.
    pub id: Uuid,
    /// The token issuer.
    pub issuer: String,
    /// The token subject.
    pub subject: String,
    /// `active` or `revoked`.
    pub status: LinkStatus,
}

/// Every service principal, oldest first: there are a handful (one per service
/// identity and deployment), so the list is not paged.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<ServicePrincipal>, CommandError> {
    // One row per (principal, link), a principal without links once with no link; the
    // rows of one principal are consecutive, its links oldest first.
    let rows = sqlx::query!(
        r#"SELECT p.id, p.service_identity, p.status AS "status: ActorStatus", p.created_at,
                  l.id AS "link_id?", l.issuer AS "issuer?", l.subject AS "subject?",
                  l.status AS "link_status?: LinkStatus"
           FROM actor_profiles p LEFT JOIN actor_identity_links l ON l.actor_profile_id = p.id
           WHERE p.kind = 'service' ORDER BY p.created_at, p.id, l.linked_at, l.id"#
    )
    .fetch_all(conn)
    .await?;
    let mut principals: Vec<ServicePrincipal> = Vec::new();
    for row in rows {
        let link = match (row.link_id, row.issuer, row.subject, row.link_status) {
            (Some(id), Some(issuer), Some(subject), Some(status)) => Some(ServiceLink {
                id,
                issuer,
                subject,
                status,
            }),
            _ => None,
        };
        match principals.last_mut() {
            Some(principal) if principal.actor_profile_id == row.id => principal.links.extend(link),
            _ => principals.push(ServicePrincipal {
                actor_profile_id: row.id,
                service_identity: row.service_identity,
                status: row.status,
                created_at: row.created_at,
                links: link.into_iter().collect(),
            }),
        }
    }
    Ok(principals)
}
