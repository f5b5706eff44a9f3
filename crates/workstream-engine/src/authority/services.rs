//! Service principals: provisioned by an access administrator before they can call.
//!
//! A service token is never provisioned on first access (403
//! `service_actor_not_provisioned`): a service is a fixed role in the system (the local
//! payment adapter, the checker worker), chosen from a closed list, and linked to the
//! one (issuer, subject) its tokens carry.

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
